#!/usr/bin/env bash
# Regenerates the estimator's committed tables and plots:
#   docs/table8.md, docs/table8.svg                 (QKFormer's Table 8 in hardware: QKTA, QKCA, SSA across N)
#   docs/sweep-hst-4-384-s1.md, docs/sweep-hst-4-384-s1.svg   (lanes sweep of hst-4-384 stage 1 QKTA)
# docs/estimate-cycles.md (the cycle model against Verilator) is scripts/estimate-cycles.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product qkforge
q="$(swift build -c release --show-bin-path)/qkforge"
"$q" estimate --table8 --out docs
"$q" estimate --model hst-4-384 --stage 1 --sweep lanes=1,2,3,4,6,8,12,16,24,32,48,96 \
    --svg docs/sweep-hst-4-384-s1.svg --out docs/sweep-hst-4-384-s1.md
