#!/usr/bin/env bash
# The main job on the default design: installs missing tools, builds qkforge (release), writes
# the QKTA block of hst-4-384 stage 1 to out/hst-4-384-stage1/, lints it (Verilator -Wall,
# Icarus, Yosys), co-simulates it in Verilator against the Swift reference (every output of
# every cycle), and ends with a summary and commands to try next.
# Extra arguments go to `qkforge cosim` (for example --samples 1, --seed 7, --stall 0.3).
set -euo pipefail
start_dir="$PWD"
cd "$(dirname "$0")/.."
repo="$PWD"
bash scripts/setup.sh

model=hst-4-384
stage=1
out="out/$model-stage$stage"

# The release build: on a terminal SwiftPM shows its own [n/N] counter; otherwise it is quiet
# and its log is printed only if it fails.
if [ -t 1 ]; then
  echo "run: building qkforge (release; the first build takes several minutes, later ones seconds)"
  swift build -c release --product qkforge
else
  mkdir -p .build
  swift build -c release --product qkforge >.build/run-release-build.log 2>&1 \
    || { cat .build/run-release-build.log; exit 1; }
fi
bin="$(swift build -c release --show-bin-path)/qkforge"

# Commands are printed as they work from where run.sh was started.
if [ "$start_dir" = "$repo" ]; then
  show_bin=".build/release/qkforge"; show_out="$out"
else
  show_bin="$repo/.build/release/qkforge"; show_out="$repo/$out"
fi

echo
echo "run: generating the design into $show_out/"
"$bin" generate --model "$model" --stage "$stage" --out "$out"
top="$(basename "$(tail -n 1 "$out/files.f")" .v)"

echo
echo "run: linting $show_out/files.f (top $top)"
verilator --lint-only -Wall -f "$out/files.f" --top-module "$top"
iverilog -g2005 -o /dev/null -s "$top" -f "$out/files.f"
yosys -q -p "read_verilog $(tr '\n' ' ' < "$out/files.f"); hierarchy -check -top $top" >/dev/null
echo "  clean: Verilator --lint-only -Wall, Icarus -g2005 and Yosys read it without a warning"

echo
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
samples=(--samples 2)   # unless the extra arguments choose
for a in "$@"; do case "$a" in --samples|--samples=*) samples=() ;; esac; done
"$bin" cosim --model "$model" --stage "$stage" "${samples[@]}" "$@" | tee "$log" || status=$?
[ "$status" = 0 ] || exit "$status"

# The summary: numbers from report.json (the estimate) and from the co-simulation (measured).
read -r luts ffs bram36 bram18 dsps mhz < <(python3 - "$out/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["resources"]
print(e["luts"], e["flipFlops"], e["bram36"], e["bram18"], e["dsps"], r["performance"]["clockMHz"])
EOF
)
per_sample="$(sed -n 's/.* cycles (\([0-9]*\) per sample).*/\1/p' "$log" | head -n 1)"
stalls="$(sed -n 's/.*, stalls \([0-9.]*\),.*/\1/p' "$log" | head -n 1)"
result="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
ms="$(awk -v c="$per_sample" -v f="$mhz" 'BEGIN { printf "%.2f", c / (f * 1000) }')"

cat <<EOF

== summary ==
  design     $show_out/  top $top: $(wc -l < "$out/files.f") Verilog files, README.md, report.json
  lint       clean (Verilator -Wall, Icarus, Yosys)
  cosim      $result; $per_sample cycles per sample, measured in Verilator (stall probability $stalls on each stream)
  resources  $luts LUTs, $ffs FFs, $bram36 BRAM36 + $bram18 BRAM18, $dsps DSPs (xc7; estimated, not synthesized)
  time       $ms ms per sample at $mhz MHz, the ESTIMATED Fmax (ECP5, from the netlist's logic depth; \`qkforge timing\` measures it: docs/timing.md)

Next, try:
  $show_bin estimate --model $model --stage $stage --sweep lanes=4,8,12,24 --svg sweep.svg
  python3 -c "import numpy as np; np.save('x.npy', (np.random.rand(4, 64, 96) < 0.2).astype(np.uint8))" && $show_bin simulate --model $model --stage $stage --input x.npy --output y.npy
  verilator --lint-only -Wall -f $show_out/files.f --top-module $top && cat $show_out/README.md
EOF
