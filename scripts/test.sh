#!/usr/bin/env bash
# Build memtls and run every test: cmocka unit tests and the interop tests
# against real peers (openssl, gnutls, curl, Python ssl), all under ctest.
# Installs what it needs from Debian first (as root).
#   scripts/test.sh             plain build (build/)
#   scripts/test.sh address     ASan+UBSan build (build-asan/)
#   scripts/test.sh thread      TSan build of the threaded tests (build-tsan/)
#   scripts/test.sh valgrind    unit tests of build/ under valgrind memcheck
#   scripts/test.sh soak        the randomized session test over many seeds:
#                               MEMTLS_SEEDS (default 5000) in the plain build,
#                               then MEMTLS_SOAK_ASAN_SEEDS more under ASan+UBSan
#                               when that is set (default: none)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
source scripts/sanitizers.sh

mode="${1:-plain}"
jobs="$(nproc)"
# ctest runs one test more than there are CPUs: the interop tests spend part
# of their time waiting for their peers (a plain run at -j2 kept 1.4 of 2
# CPUs busy; -j3 took 112 s instead of 147).
ctest_jobs=$((jobs + 1))
case "$mode" in
plain)
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs"
  (cd build && ctest --output-on-failure -j "$ctest_jobs")
  ;;
address)
  # The benchmarks are built too: this is also the clang -Werror build of
  # every source (CI has no other).
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DMEMTLS_SANITIZE=address -DMEMTLS_BUILD_BENCH=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$MEMTLS_SYMBOLIZER_OPT \
    ctest --output-on-failure -j "$ctest_jobs")
  ;;
thread)
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
    -DMEMTLS_SANITIZE=thread -DMEMTLS_BUILD_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$jobs"
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:$MEMTLS_SYMBOLIZER_OPT \
    ctest --output-on-failure -L threads -j "$jobs")
  ;;
valgrind)
  # Memcheck over the unit tests of the plain build (build/, optimized as
  # users build it; nothing to build after the plain run). The
  # allocation-failure sweep in test_pki_make and the ring stress test are
  # left to ASan/TSan: under valgrind they take minutes and add nothing.
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs"
  mkdir -p build/valgrind
  tests=$(cd build && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: \(test_[a-z0-9_]*\)$/\1/p' |
    grep -vx -e test_pki_make -e test_ring_stress)
  # The slowest under valgrind first (RSA key generation), so that they do
  # not start last and run alone.
  slow="test_config_sni test_context_handshake test_runtime_slow_reader test_config_files"
  first=$(printf '%s\n' $tests | grep -x $(printf -- '-e %s ' $slow) || true)
  tests="$first $(printf '%s\n' $tests | grep -vx $(printf -- '-e %s ' $slow))"
  # One valgrind per test, $jobs at a time; each writes its own log.
  printf '%s\n' $tests | xargs -P "$jobs" -I{} sh -c \
    'MEMTLS_SEEDS=20 valgrind -q --error-exitcode=99 --leak-check=full \
       --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
       build/tests/{} >build/valgrind/{}.log 2>&1 && echo ok >build/valgrind/{}.rc ||
       echo failed >build/valgrind/{}.rc'
  failed=0
  for t in $tests; do
    if [ "$(cat "build/valgrind/$t.rc")" = ok ]; then
      echo "valgrind: $t ok"
    else
      echo "valgrind: $t FAILED"; tail -40 "build/valgrind/$t.log"; failed=1
    fi
  done
  [ "$failed" -eq 0 ]
  ;;
soak)
  # Seeds 1..N: the first 200 are the ones CI runs, the rest are new.
  seeds="${MEMTLS_SEEDS:-5000}"
  asan_seeds="${MEMTLS_SOAK_ASAN_SEEDS:-0}"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs" --target test_session_property
  start=$(date +%s)
  MEMTLS_SEEDS="$seeds" build/tests/test_session_property
  echo "soak: $seeds seeds (plain build) passed in $(($(date +%s) - start)) s"
  if [ "$asan_seeds" -gt 0 ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DMEMTLS_SANITIZE=address -DMEMTLS_BUILD_BENCH=OFF >/dev/null
    cmake --build build-asan -j "$jobs" --target test_session_property
    start=$(date +%s)
    MEMTLS_SEEDS="$asan_seeds" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$MEMTLS_SYMBOLIZER_OPT \
      build-asan/tests/test_session_property
    echo "soak: $asan_seeds seeds (ASan+UBSan) passed in $(($(date +%s) - start)) s"
  fi
  ;;
*)
  echo "usage: scripts/test.sh [plain|address|thread|valgrind|soak]" >&2
  exit 2
  ;;
esac
