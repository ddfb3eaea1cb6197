#!/usr/bin/env bash
# Rebuilds qkforge and regenerates docs/estimate-accuracy.md: the resource estimate
# (ResourceModel) against Yosys synth_xilinx -family xc7 -flatten on the full design list.
# Usage: bash scripts/calibrate-estimate.sh [--jobs N]   (needs yosys on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=1
if [[ "${1:-}" == "--jobs" ]]; then JOBS="$2"; fi
SCRATCH="${QKFORGE_SCRATCH:-.build-resources}"
swift build -c release --scratch-path "$SCRATCH" --product qkforge
# calibrate exits 1 when a row misses the target; the table is written either way.
"$SCRATCH/release/qkforge" calibrate --subset full --jobs "$JOBS" --out docs/estimate-accuracy.md || status=$?
exit "${status:-0}"
