# hostile.sh - helpers shared by the test_hostile_*.sh scripts (sourced
# after lib.sh). The attacks and their measurements are in hostile.py;
# the attacks Python's ssl cannot make are in tools/tls_attack.c.
#
# Sets:
#   TLS_ATTACK         the tls_attack binary (ctest passes MEMTLS_TLS_ATTACK;
#                      by hand it is found next to the memtls binary's build)
#   HOSTILE_SLOW       factor for every time and CPU bound (4 on sanitizer
#                      builds, whose memtls is several times slower)
#   HOSTILE_SANITIZED  1 on sanitizer builds: memory figures are reported,
#                      not asserted (shadow memory and quarantine dominate)

TLS_ATTACK="${MEMTLS_TLS_ATTACK:-$(dirname "$MEMTLS")/tests/tls_attack}"
[ -x "$TLS_ATTACK" ] || fail "tls_attack not found at $TLS_ATTACK (build the tests, or set MEMTLS_TLS_ATTACK)"

if grep -aq -e __asan_init -e __tsan_init "$MEMTLS"; then
  export HOSTILE_SLOW=4 HOSTILE_SANITIZED=1
else
  export HOSTILE_SLOW=1 HOSTILE_SANITIZED=0
fi

# Milliseconds since the epoch (for durations measured by the script).
now_ms() {
  date +%s%3N
}

# Scale a bound in milliseconds by HOSTILE_SLOW.
slow_ms() {
  echo $(($1 * HOSTILE_SLOW))
}

# hostile NAME ARGS...: run `python3 hostile.py ARGS` with its output in
# $WORK/NAME.log (bounded by 120 s) and print its ok/figure lines. A
# failure (each FAIL line says what was expected and what was seen) is
# recorded and the script goes on, so one run shows every figure;
# hostile_pass fails the test if any was recorded.
HOSTILE_FAILS=""
hostile() {
  local name="$1"
  shift
  timeout 120 python3 "$HERE/hostile.py" "$@" >"$WORK/$name.log" 2>&1
  local rc=$?
  sed -n 's/^\(ok\|figure\|FAIL\): /  \1: /p' "$WORK/$name.log"
  if [ "$rc" != 0 ]; then
    HOSTILE_FAILS+="
hostile.py $1 ($name) failed (exit $rc):
$(grep -v -e '^ok: ' -e '^figure: ' -e '^FAIL: ' "$WORK/$name.log")"
  fi
}

# hostile_fail MESSAGE: record a failed check of the script itself (what
# was expected, what was seen) and go on, like a failed hostile step.
hostile_fail() {
  echo "  FAIL: $*"
  HOSTILE_FAILS+="
$*"
}

# hostile_pass: pass, unless a hostile step failed or a connection record
# of any server in $WORK lacks a reason (every record must say why the
# connection ended).
hostile_pass() {
  local f bad
  for f in "$WORK"/*.err; do
    bad="$(grep -E ' conn=[0-9]+ .* close="-?"$' "$f" | head -n 1)"
    [ -z "$bad" ] || HOSTILE_FAILS+="
$(basename "$f"): expected every connection record to name a reason, saw: $bad"
  done
  [ -z "$HOSTILE_FAILS" ] || fail "$HOSTILE_FAILS"
  pass
}

# count_lines FILE REGEX: lines of FILE matching the extended regex.
count_lines() {
  grep -Ec -- "$2" "$1" 2>/dev/null || true
}

# start_serve_nofile N NAME ARGS...: start_serve with the open-file limit
# (soft and hard) set to N for the server only.
start_serve_nofile() {
  local n="$1" name="$2"
  shift 2
  (
    ulimit -n "$n" || exit 1
    exec "$MEMTLS" serve --listen 127.0.0.1:0 "$@"
  ) >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVE_PID=$!
  track "$SERVE_PID"
  local deadline=$((SECONDS + 15))
  while ! grep -q '^listening on' "$WORK/$name.out" 2>/dev/null; do
    kill -0 "$SERVE_PID" 2>/dev/null || fail "memtls serve $* (ulimit -n $n) exited before listening: $(cat "$WORK/$name.err")"
    [ "$SECONDS" -le "$deadline" ] || fail "memtls serve $* did not start listening within 15 s"
    sleep 0.05
  done
  SERVE_PORT="$(sed -n 's/^listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$WORK/$name.out" | head -n 1)"
  [ -n "$SERVE_PORT" ] || fail "no port in: $(cat "$WORK/$name.out")"
}

# start_probes NAME PORT CA: normal clients (a fresh TLS connection,
# handshake and echo round trip, each within HOSTILE_SLOW seconds) every
# 0.2 s in the background until check_probes (one prober at a time).
start_probes() {
  PROBES_NAME="$1"
  rm -f "$WORK/$PROBES_NAME.stop"
  python3 "$HERE/hostile.py" probes "$2" --ca "$3" --interval 0.2 --timeout "$HOSTILE_SLOW" \
    --until-file "$WORK/$PROBES_NAME.stop" --what "$PROBES_NAME" </dev/null \
    >"$WORK/$PROBES_NAME.log" 2>&1 &
  PROBES_PID=$!
  track "$PROBES_PID"
}

# check_probes: stop the prober of start_probes; a probe that was not
# served is recorded as a failure (see hostile).
check_probes() {
  touch "$WORK/$PROBES_NAME.stop"
  wait_exit "$PROBES_PID" 30 || fail "the $PROBES_NAME prober did not stop"
  sed -n 's/^\(ok\|FAIL\): /  \1: /p' "$WORK/$PROBES_NAME.log"
  [ "$EXIT_CODE" = 0 ] ||
    hostile_fail "normal clients were not served ($PROBES_NAME): $(grep -v -e '^ok: ' -e '^FAIL: ' "$WORK/$PROBES_NAME.log")"
}

# start_backend NAME MODE [ARGS...]: `hostile.py backend MODE ARGS` in the
# background (roles, close-at-once, slow-accept, blackhole); waits for its
# "ready PORT" line. Sets BK_PID and BK_PORT.
start_backend() {
  local name="$1"
  shift
  python3 "$HERE/hostile.py" backend "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  BK_PID=$!
  track "$BK_PID"
  wait_for "$WORK/$name.out" '^ready [0-9]+' 15 ||
    fail "backend '$*' did not start: $(cat "$WORK/$name.err")"
  # shellcheck disable=SC2034 # (for the test scripts)
  BK_PORT="$(sed -n 's/^ready \([0-9][0-9]*\).*/\1/p' "$WORK/$name.out" | head -n 1)"
}

# close_timeout_args MS: sets CLOSE_TIMEOUT to (--close-timeout MS) when
# this memtls has the option (it cuts a closing connection whose peer does
# not read, and a half-closed proxy direction, after MS), and to () for a
# binary without it, which bounds the closing phase only by
# --idle-timeout: the checks that rely on the bound then fail and say what
# they saw (rather than the server refusing to start, which would hide how
# it behaves).
close_timeout_args() {
  CLOSE_TIMEOUT=()
  # The help text whole first: grep -q leaving early would SIGPIPE the
  # writer, and with pipefail that reads as "no such option".
  if grep -q -- '--close-timeout' <<<"$("$MEMTLS" serve --help 2>/dev/null)"; then
    # shellcheck disable=SC2034 # (for the test scripts)
    CLOSE_TIMEOUT=(--close-timeout "$1")
  fi
}
