#!/usr/bin/env bash
# Build memtls and run every test: cmocka unit tests and the interop tests
# against real peers (openssl, gnutls, curl, Python ssl), all under ctest.
# Installs what it needs from Debian first (as root).
#   scripts/test.sh             plain build (build/)
#   scripts/test.sh address     ASan+UBSan build (build-asan/)
#   scripts/test.sh thread      TSan build of the threaded tests (build-tsan/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh

mode="${1:-plain}"
jobs="$(nproc)"
case "$mode" in
plain)
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs"
  (cd build && ctest --output-on-failure -j "$jobs")
  ;;
address)
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DMEMTLS_SANITIZE=address -DMEMTLS_BUILD_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs")
  ;;
thread)
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DMEMTLS_SANITIZE=thread -DMEMTLS_BUILD_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$jobs"
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --output-on-failure -L threads -j "$jobs")
  ;;
*)
  echo "usage: scripts/test.sh [plain|address|thread]" >&2
  exit 2
  ;;
esac
