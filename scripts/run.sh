#!/usr/bin/env bash
# Build memtls and start the server on its embedded default: TLS echo on
# 127.0.0.1:8443 with an ephemeral self-signed certificate (its SHA-256
# fingerprint is printed). Extra arguments go to `memtls serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --runtime-only
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target memtls >/dev/null
exec ./build/memtls serve "$@"
