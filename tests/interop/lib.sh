# lib.sh - shared helpers for the interop tests (sourced, not run).
#
# Each test_<name>.sh is run by ctest as `bash test_<name>.sh /path/to/memtls`.
# It sources this file, which sets:
#   MEMTLS   the memtls binary under test
#   WORK     a private temporary directory, removed at exit (kept on failure
#            when MEMTLS_KEEP=1)
#   HERE     the directory of the scripts (for the Python helpers)
# and installs a trap that kills every background process the test started.
# No fixed sleeps: waits poll for a condition with a bounded deadline.

set -u
set -o pipefail

# Debian's own tools first (what scripts/deps.sh installs): a python3 or an
# openssl found earlier in PATH (a version manager's shim, a local build)
# would test another peer than the one named, and such a shim costs half a
# second per call.
PATH="/usr/bin:/bin:$PATH"

TEST_NAME="$(basename "$0" .sh)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MEMTLS="${1:-}"
BG_PIDS=()
_FAILED=0

# Print a failure with its reason and the logs of the servers, then exit 1.
fail() {
  _FAILED=1
  echo "FAIL: $TEST_NAME: $*" >&2
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    # Server logs (NAME.err from start_serve and the other servers).
    for f in "$WORK"/*.err; do
      [ -s "$f" ] || continue
      echo "---- $(basename "$f") (last 30 lines) ----" >&2
      tail -n 30 "$f" >&2
    done
  fi
  exit 1
}

# One passed step.
ok() {
  echo "ok: $*"
}

# The whole script passed.
pass() {
  echo "PASS: $TEST_NAME${1:+: $1}"
  exit 0
}

_cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${BG_PIDS[@]}"; do
    # Bounded: a process that ignores SIGTERM gets SIGKILL after ~2 s.
    local i
    for i in $(seq 1 40); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    if [ "$_FAILED" = 1 ] && [ "${MEMTLS_KEEP:-0}" = 1 ]; then
      echo "kept $WORK" >&2
    else
      rm -rf "$WORK"
    fi
  fi
}
trap _cleanup EXIT
trap 'fail "interrupted"' INT TERM

[ -n "$MEMTLS" ] || fail "usage: bash $0 /path/to/memtls"
[ -x "$MEMTLS" ] || fail "$MEMTLS: not an executable"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/memtls-$TEST_NAME.XXXXXX")" || fail "mktemp failed"

# need PROG...: each peer must be installed; a missing one is a failure
# (the project's setup installs them: scripts/deps.sh).
need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 ||
      fail "required peer '$p' is not installed (run scripts/deps.sh: openssl, gnutls-bin, curl, python3, testssl.sh)"
  done
}
need python3 timeout

# Register a background process for cleanup: track PID.
track() {
  BG_PIDS+=("$1")
}

# A free TCP port on 127.0.0.1 (bound and released by the kernel's choice).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for FILES PATTERN [SECONDS]: poll until one of FILES (separated by
# spaces) has a line matching the extended regex PATTERN. Returns 1 at the
# deadline (default 10 s).
wait_for() {
  local files="$1" pattern="$2" secs="${3:-10}"
  local deadline=$((SECONDS + secs))
  local f
  while [ "$SECONDS" -le "$deadline" ]; do
    for f in $files; do
      if [ -f "$f" ] && grep -Eq -- "$pattern" "$f"; then
        return 0
      fi
    done
    sleep 0.05
  done
  return 1
}

# wait_exit PID [SECONDS]: wait for a background process to exit; sets
# EXIT_CODE. Returns 1 (process still running) at the deadline.
wait_exit() {
  local pid="$1" secs="${2:-10}"
  local deadline=$((SECONDS + secs))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -gt "$deadline" ]; then
      return 1
    fi
    sleep 0.05
  done
  wait "$pid"
  EXIT_CODE=$?
  return 0
}

# start_serve NAME ARGS...: start `memtls serve --listen 127.0.0.1:0 ARGS`
# (add your own --listen to override) with stdout in $WORK/NAME.out and
# stderr in $WORK/NAME.err; wait for its "listening on" line. Sets
# SERVE_PID and SERVE_PORT (the port of the first listener).
start_serve() {
  local name="$1"
  shift
  local listen=(--listen 127.0.0.1:0)
  local a
  for a in "$@"; do
    [ "$a" = "--listen" ] && listen=()
  done
  # MEMTLS_SERVE_EXTRA: options added to every server a test starts (ctest
  # runs some tests again with --isolate this way).
  local extra=()
  read -r -a extra <<<"${MEMTLS_SERVE_EXTRA:-}"
  "$MEMTLS" serve "${listen[@]}" "$@" "${extra[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVE_PID=$!
  track "$SERVE_PID"
  local deadline=$((SECONDS + 15))
  while ! grep -q '^listening on' "$WORK/$name.out" 2>/dev/null; do
    if ! kill -0 "$SERVE_PID" 2>/dev/null; then
      fail "memtls serve $* exited before listening: $(cat "$WORK/$name.err")"
    fi
    [ "$SECONDS" -le "$deadline" ] || fail "memtls serve $* did not start listening within 15 s"
    sleep 0.05
  done
  SERVE_PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$WORK/$name.out" | head -n 1)"
  [ -n "$SERVE_PORT" ] || fail "no port in: $(cat "$WORK/$name.out")"
}

# stop_serve PID [SIGNAL]: signal the server (default TERM) and require a
# clean exit 0 within 15 s.
stop_serve() {
  local pid="$1" sig="${2:-TERM}"
  kill -"$sig" "$pid" 2>/dev/null || fail "server $pid is not running"
  wait_exit "$pid" 15 || fail "server did not exit within 15 s of SIG$sig"
  [ "$EXIT_CODE" = 0 ] || fail "server exited with $EXIT_CODE after SIG$sig"
}

# start_py NAME ARGS...: run `python3 $HERE/peers.py ARGS` in the background
# (stdout $WORK/NAME.out, stderr $WORK/NAME.err) and wait for its "ready
# PORT" line. Sets PY_PID and PY_PORT.
start_py() {
  local name="$1"
  shift
  python3 "$HERE/peers.py" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PY_PID=$!
  track "$PY_PID"
  wait_for "$WORK/$name.out" '^ready [0-9]+' 15 ||
    fail "python peer '$*' did not start: $(cat "$WORK/$name.err")"
  PY_PORT="$(sed -n 's/^ready \([0-9][0-9]*\).*/\1/p' "$WORK/$name.out" | head -n 1)"
}

# feed_until FILES PATTERN [SECONDS] -- TEXT: print TEXT, then keep the
# pipe open until one of FILES matches PATTERN (so a client reading this as
# stdin stays connected until the answer arrived, then sees EOF).
feed_until() {
  local file="$1" pattern="$2" secs="${3:-10}"
  shift 3
  [ "${1:-}" = "--" ] && shift
  printf '%s\n' "$@"
  wait_for "$file" "$pattern" "$secs" || true
}

# make_pki DIR [ARGS...]: `memtls cert --dir DIR ARGS`, quietly.
make_pki() {
  local dir="$1"
  shift
  "$MEMTLS" cert --dir "$dir" "$@" >"$WORK/cert-$(basename "$dir").out" 2>&1 ||
    fail "memtls cert --dir $dir $*: $(cat "$WORK/cert-$(basename "$dir").out")"
}

# sha256 fingerprint of a PEM certificate file, as memtls prints it.
cert_fp() {
  openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

# Fingerprint of the certificate a server presents on 127.0.0.1:PORT.
served_fp() {
  timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//'
}
