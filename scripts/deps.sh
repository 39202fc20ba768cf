#!/usr/bin/env bash
# Install the Debian 12 packages memtls needs to build, test and run.
# Idempotent and quick when everything is already there. Run as root.
#
# Packages are installed with --no-install-recommends, so every runtime a
# stage needs is named here even when another package only recommends it
# (scripts/ci-fresh.sh checks the list on a minimal Debian 12 root):
#   build + unit tests   build-essential cmake ninja-build pkg-config git
#                        libssl-dev libuv1-dev libseccomp-dev libcmocka-dev
#   interop tests        openssl gnutls-bin curl python3 testssl.sh procps
#                        python3-prometheus-client (parses the metrics; the
#                        test also runs promtool when the large prometheus
#                        package happens to be installed, and checks the
#                        systemd units where systemd-analyze is)
#   ASan/UBSan, TSan,    clang and libclang-rt-14-dev (the sanitizer and
#   libFuzzer            libFuzzer runtimes; clang only recommends them)
#   readable reports     llvm-14 (llvm-symbolizer; scripts/sanitizers.sh
#                        points the sanitizers at it)
#   valgrind stage       valgrind
#   format check         clang-format git
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev libuv1-dev libseccomp-dev libcmocka-dev
  clang libclang-rt-14-dev llvm-14 clang-format
  openssl gnutls-bin curl python3 valgrind testssl.sh procps ca-certificates
  python3-prometheus-client
)
if [ "${1:-}" = "--runtime-only" ]; then
  packages=(build-essential cmake ninja-build pkg-config libssl-dev libuv1-dev libseccomp-dev libcmocka-dev openssl)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "deps.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
