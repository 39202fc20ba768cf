#!/usr/bin/env bash
# Install the Debian 12 packages memtls needs to build, test and run.
# Idempotent and quick when everything is already there. Run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang clang-format
  libssl-dev libuv1-dev libcmocka-dev
  openssl gnutls-bin curl python3 valgrind testssl.sh
)
if [ "${1:-}" = "--runtime-only" ]; then
  packages=(build-essential cmake ninja-build pkg-config libssl-dev libuv1-dev libcmocka-dev openssl)
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
