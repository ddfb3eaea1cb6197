#!/usr/bin/env bash
# Regenerates the committed reference designs in rtl/: the QKTA block of stages 1 and 2 of
# every named model, the QKCA block of hst-4-384 stage 1, the whole QKFormer block of stages 1
# and 3 (SSA) of hst-4-384 and hst-10-384, at default lanes and seed 1, and
# one block with a trained model's weights from a bundle, and a small whole network.
# --portable: files.f and the memory images relative to each folder, so rtl/ holds no path of this machine.
# CI runs this and fails on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${QKFORGE_BIN:-}
if [ -z "$bin" ]; then
  swift build --product qkforge >/dev/null
  bin="$(swift build --show-bin-path)/qkforge"
fi
rm -rf rtl
for model in hst-10-384 hst-10-512 hst-10-768 hst-4-384 hst-2-256; do
  for stage in 1 2; do
    "$bin" generate --model "$model" --stage "$stage" --block qkta --seed 1 --portable --out "rtl/$model/stage$stage-qkta" >/dev/null
  done
done
# One QKCA block: its K buffer holds a whole sample (N*T*C bits).
"$bin" generate --model hst-4-384 --stage 1 --block qkca --seed 1 --portable --out "rtl/hst-4-384/stage1-qkca" >/dev/null
# The whole QKFormer block of stage 1 (x1 = x + QKTA(x), x2 = x1 + MLP(x1)), input counts 0..2.
for model in hst-4-384 hst-10-384; do
  "$bin" generate --model "$model" --stage 1 --block qkformer-block --seed 1 --portable --out "rtl/$model/stage1-qkformer-block" >/dev/null
done
# The stage-3 QKFormer block (SSA + MLP): SSA's two passes, two S banks, the block input waiting in
# the attention residual's FIFO for the whole second pass.
for model in hst-4-384 hst-10-384; do
  "$bin" generate --model "$model" --stage 3 --block qkformer-block --seed 1 --portable --out "rtl/$model/stage3-qkformer-block" >/dev/null
done
# A trained block: spikingjelly's QKAttention (token), float weights quantized per channel, so
# its LIF banks carry per-neuron thresholds (examples/bundle-qkattention-token-c32).
"$bin" generate --bundle examples/bundle-qkattention-token-c32 --portable --out "rtl/bundles/qkattention-token-c32" >/dev/null
# A small complete network, image in and class scores out (examples/network-small: cifar embedding,
# dims 16/32/48, one block per stage, 16x16 images, T = 2, 10 classes), seeded weights.
"$bin" generate --model examples/network-small/config.json --block network --seed 1 --portable --out "rtl/networks/cifar-small" >/dev/null
echo "rtl/: $(find rtl -name '*.v' | wc -l) Verilog files in $(find rtl -name files.f | wc -l) designs"
