#!/usr/bin/env bash
# The test command: installs missing tools, runs every test suite, then checks that the
# committed reference designs in rtl/ are exactly what the generator writes today.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-timing.sh   # nextpnr-ecp5 for the measured-Fmax test
swift build
swift test 2>&1 | tee .test.log
# Trained-model import against spikingjelly 2.0.0 (torch in an ignored venv under .cache/).
QKFORGE_BIN="$(swift build --show-bin-path)/qkforge" bash scripts/crosscheck.sh
if [ -x scripts/regenerate-rtl.sh ] && [ -d rtl ]; then
  # A release build: generate runs the Fmax estimate (LogicDepth) on every design, minutes per
  # full-size design in a debug build, seconds in release.
  swift build -c release --product qkforge >.build/regenerate-release-build.log 2>&1 \
    || { cat .build/regenerate-release-build.log; exit 1; }
  QKFORGE_BIN="$(swift build -c release --show-bin-path)/qkforge" bash scripts/regenerate-rtl.sh
  git diff --exit-code -- rtl/ || { echo "rtl/ differs from the generator's output: run scripts/regenerate-rtl.sh and commit"; exit 1; }
  untracked=$(git ls-files --others --exclude-standard -- rtl/)
  [ -z "$untracked" ] || { echo "rtl/ has files the generator writes but git does not track: $untracked"; exit 1; }
fi
