#!/usr/bin/env bash
# Cross-check QKForge against spikingjelly 2.0.0 (tools/crosscheck/crosscheck.py; docs/crosscheck.md):
# exact-mode QKAttention (token and channel) bit for bit through `qkforge golden` and
# `qkforge simulate`, float-weight agreement figures, malformed-bundle errors, SSA, and whole
# networks (spikingjelly's QKFormer and NumPy cifar/dvs embeddings through `qkforge golden`).
#
#   bash scripts/crosscheck.sh [--seed S] [--simulate all|exact|some|none] [--samples B] [...]
#
# Makes the venv .cache/crosscheck-venv (or $CROSSCHECK_VENV; spikingjelly==2.0.0, torch, numpy) when it is
# missing or lacks spikingjelly 2.0.0, builds qkforge (swift build --scratch-path .build-main -c
# debug) unless QKFORGE_BIN names a binary, then runs the check. Exits non-zero on any exact-mode
# mismatch or failed assertion. Extra arguments go to crosscheck.py (--help lists them).
# First, tools/crosscheck/blocks.py --check regenerates the QKFormer block fixtures (spikingjelly
# 2.0.0's _Block in exact mode; Tests/GoldenTests/Fixtures/blocks, compared with the golden
# model by QKFormerBlockFixtureTests) and fails when they differ from the committed bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${CROSSCHECK_VENV:-.cache/crosscheck-venv}"   # CROSSCHECK_VENV: keep it outside the clone
PY="$VENV/bin/python"
if ! { [ -x "$PY" ] && "$PY" -c 'import importlib.metadata as m, torch, numpy; assert m.version("spikingjelly") == "2.0.0"' >/dev/null 2>&1; }; then
  echo "crosscheck: creating $VENV (spikingjelly==2.0.0, torch, numpy; takes a few minutes)"
  if ! { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    else
      echo "crosscheck: python3 with venv is required (apt-get install python3 python3-venv)" >&2; exit 2
    fi
  fi
  mkdir -p .cache
  [ -x "$PY" ] || python3 -m venv "$VENV" || { echo "crosscheck: python3 -m venv $VENV failed" >&2; exit 2; }
  "$VENV/bin/pip" install -q spikingjelly==2.0.0 torch numpy
fi

if [ -n "${QKFORGE_BIN:-}" ]; then
  [ -x "$QKFORGE_BIN" ] || { echo "crosscheck: QKFORGE_BIN=$QKFORGE_BIN is not an executable" >&2; exit 2; }
  BIN="$QKFORGE_BIN"
else
  swift build --scratch-path .build-main -c debug --product qkforge
  BIN="$(swift build --scratch-path .build-main -c debug --show-bin-path)/qkforge"
fi

# Single-threaded torch: the machine's cores are shared.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
blocks=0
"$PY" tools/crosscheck/blocks.py --check || blocks=1
"$PY" tools/crosscheck/crosscheck.py --qkforge "$BIN" "$@" || exit $?
[ "$blocks" = 0 ] || { echo "crosscheck: the block fixtures differ from a fresh generation (tools/crosscheck/blocks.py --check)" >&2; exit 1; }
