#!/usr/bin/env bash
# Measured Fmax of the committed reference designs: for each folder (default: every design
# under rtl/), `qkforge timing --dir` runs Yosys synth_ecp5 and nextpnr-ecp5 out of context on
# LFE5U-85F speed 8 at a 150 MHz target, and the table goes to docs/timing.md.
# Slow: about 1.5 min for the small bundle design, 5-15 min for each full-size block.
#   bash scripts/timing.sh                         # every rtl/ design
#   bash scripts/timing.sh rtl/hst-4-384/stage1-qkta   # some of them
#   bash scripts/timing.sh rtl/hst-4-384/stage1-qkta "--model hst-4-384 --stage 1 --lif pipelined"
# An argument that is not a folder is a list of `qkforge timing` flags (a block built on the fly).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-timing.sh
export PATH="$PWD/${QKFORGE_TIMING_VENV:-.cache/timing-venv}/bin:$PATH"
swift build -c release --product qkforge
BIN=.build/release/qkforge
if [ $# -gt 0 ]; then dirs=("$@"); else mapfile -t dirs < <(find rtl -name files.f -printf '%h\n' | sort); fi
OUT=docs/timing.md
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
i=0
for d in "${dirs[@]}"; do
  i=$((i + 1))
  echo "timing: $d" >&2
  if [ -d "$d" ]; then
    "$BIN" timing --dir "$d" --json > "$tmp/$(printf %03d $i).json"
  else
    # shellcheck disable=SC2086
    "$BIN" timing $d --json > "$tmp/$(printf %03d $i).json"
  fi
done
args=""
for d in "${dirs[@]}"; do if [ -d "$d" ]; then args+=" $d"; else args+=" \"$d\""; fi; done
[ $# -gt 0 ] || args=""
python3 tools/timing_table.py "$tmp" "$OUT" "$args"
