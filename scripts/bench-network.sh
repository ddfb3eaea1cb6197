#!/usr/bin/env bash
# One CIFAR-size image (float32 [3, 32, 32], uniform in [-2, 2), seed 1) through the whole
# hst-4-384 network, folded for 230,000 LUTs, in Verilator, against the golden model
# (docs/network.md, "Measured"). About half an hour on 2 cores, most of it the first Verilator
# build (cached afterwards by the Verilog's hash). Not part of CI.
#   bash scripts/bench-network.sh [MODEL] [BUDGET]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-hst-4-384}
budget=${2:-230000}
swift build -c release --product qkforge >/dev/null
q=.build/release/qkforge
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/image.npy" <<'PY'
import random, struct, sys
random.seed(1)
values = [random.uniform(-2, 2) for _ in range(3 * 32 * 32)]
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32, 32), }"
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % len(values), *values))
PY
"$q" golden --model "$model" --block network --input "$work/image.npy" --raw --output "$work/golden.npy"
start=$(date +%s)
"$q" simulate --model "$model" --block network --budget "$budget" --input "$work/image.npy" --raw --output "$work/rtl.npy"
echo "simulate: $(( $(date +%s) - start )) s wall"
if cmp -s "$work/golden.npy" "$work/rtl.npy"; then
    echo "z equal: the RTL's class scores are the golden model's"
else
    echo "z DIFFER between the RTL and the golden model" >&2
    exit 1
fi
