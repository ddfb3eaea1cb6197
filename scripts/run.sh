#!/usr/bin/env bash
# The main job on the default design: installs missing tools, builds qkforge, then generates the
# design and co-simulates it in Verilator against the Swift reference, every output of every
# cycle. Extra arguments go to `qkforge cosim`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product qkforge
exec .build/release/qkforge cosim --model hst-4-384 --stage 1 --samples 2 "$@"
