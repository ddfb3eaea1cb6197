#!/usr/bin/env bash
# Regenerates docs/estimate-cycles.md: the estimator's cycle model against Verilator on a fixed
# set of small QKTA and QKCA configs (about a minute). Needs Verilator (as scripts/run.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product qkforge
"$(swift build -c release --show-bin-path)/qkforge" estimate --check-sim --seed 5 --out docs/estimate-cycles.md
