# sanitizers.sh - sourced by the scripts that run sanitizer or libFuzzer
# builds: point ASan, UBSan, LSan and TSan at llvm-symbolizer so reports
# carry function names and lines. Debian's llvm-14 installs it only as
# llvm-symbolizer-14 (the unversioned name comes from the `llvm` package,
# which scripts/deps.sh does not install), and the runtimes look for the
# unversioned name on PATH.
memtls_symbolizer=""
for _s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
  if command -v "$_s" >/dev/null 2>&1; then
    memtls_symbolizer="$(command -v "$_s")"
    break
  fi
done
unset _s
if [ -n "$memtls_symbolizer" ]; then
  # ASan (with LSan and UBSan inside it) reads ASAN_SYMBOLIZER_PATH; the
  # others take it as a common flag in their options.
  export ASAN_SYMBOLIZER_PATH="$memtls_symbolizer"
  export MEMTLS_SYMBOLIZER_OPT="external_symbolizer_path=$memtls_symbolizer"
else
  echo "warning: llvm-symbolizer not found (install llvm-14): sanitizer reports will lack names" >&2
  export MEMTLS_SYMBOLIZER_OPT=""
fi
