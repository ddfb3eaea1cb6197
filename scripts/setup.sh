#!/usr/bin/env bash
# Installs what QKForge needs and is missing: Verilator, Yosys, Icarus Verilog, GMP, zlib
# (for FST traces), pkg-config, Chromium (headless, for the report.html test), and numpy for the float cross-checks. Safe to run again.
set -euo pipefail

need=()
command -v verilator >/dev/null || need+=(verilator)
command -v yosys >/dev/null || need+=(yosys)
command -v iverilog >/dev/null || need+=(iverilog)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v make >/dev/null || need+=(make)
command -v g++ >/dev/null || need+=(g++)
pkg-config --exists gmp 2>/dev/null || need+=(libgmp-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v python3 >/dev/null || need+=(python3 python3-pip)
# Headless Chromium renders estimate's report.html in NetworkReportHTMLTests.
command -v chromium >/dev/null || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "setup: installing numpy"
  python3 -m pip install -q numpy || python3 -m pip install -q --break-system-packages numpy
fi
