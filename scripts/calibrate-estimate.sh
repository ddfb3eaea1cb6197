#!/usr/bin/env bash
# Rebuilds qkforge and regenerates docs/estimate-accuracy.md: the resource estimate
# (ResourceModel, computed from the IR) against Yosys synth_xilinx -family xc7 -flatten on the
# full design list of `qkforge calibrate`. Needs yosys on PATH. Synthesis of the whole list
# takes about half an hour on one core; extra arguments go to `qkforge calibrate`, e.g.
#   bash scripts/calibrate-estimate.sh --jobs 2
#   bash scripts/calibrate-estimate.sh --work /tmp/cal --reuse   # reuse synthesis of identical Verilog
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${QKFORGE_SCRATCH:-.build-resources}"
swift build -c release --scratch-path "$SCRATCH" --product qkforge
# calibrate exits 1 when a row misses its target; the table is written either way.
status=0
"$SCRATCH/release/qkforge" calibrate --subset full --out docs/estimate-accuracy.md "$@" || status=$?
exit "$status"
