#!/usr/bin/env bash
# ABI check: the symbols each shared library exports (nm -D --defined-only)
# must be exactly the lists committed in abi/, and all of them public
# (memtls_ prefix, never memtls__). An accidental export (a missing
# `static`, a helper without MEMTLS_API hidden visibility) or a removal
# fails with a diff. After an intended API change, regenerate the lists
# with --update, commit them, and say what changed in CHANGELOG.md.
#   scripts/abi-check.sh [--update] [BUILD_DIR]     (BUILD_DIR: build/)
set -euo pipefail
cd "$(dirname "$0")/.."

update=0
if [ "${1:-}" = "--update" ]; then
  update=1
  shift
fi
build="${1:-build}"
status=0
for lib in memtls memtls-server memtls-pki; do
  so="$build/lib$lib.so"
  list="abi/lib$lib.symbols"
  if [ ! -e "$so" ]; then
    echo "abi-check: $so not found: build first (cmake --build $build)" >&2
    exit 2
  fi
  now=$(nm -D --defined-only "$so" | awk '{print $NF}' | LC_ALL=C sort)
  bad=$(printf '%s\n' "$now" | grep -v '^memtls_[a-z0-9]' || true)
  if [ -n "$bad" ]; then
    echo "abi-check: lib$lib.so exports non-public symbols:" >&2
    printf '  %s\n' $bad >&2
    status=1
  fi
  if [ "$update" -eq 1 ]; then
    printf '%s\n' "$now" >"$list"
    echo "abi-check: wrote $list ($(wc -l <"$list") symbols)"
  elif ! diff -u "$list" <(printf '%s\n' "$now") >"$build/abi-$lib.diff"; then
    echo "abi-check: lib$lib.so does not export what $list lists" \
      "(+: exported now, -: missing):" >&2
    cat "$build/abi-$lib.diff" >&2
    status=1
  else
    echo "abi-check: lib$lib.so exports the $(wc -l <"$list") symbols of $list"
  fi
done
exit "$status"
