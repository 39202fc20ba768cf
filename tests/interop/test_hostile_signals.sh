#!/usr/bin/env bash
# Signals under load. SIGHUP with a broken certificate while 20 connections
# stream: the old identity is kept, the log names the file, the streams go
# on and new clients are served. SIGTERM with 300 open connections: they
# are closed cleanly (close_notify) and the server exits 0 within --grace.
# SIGTERM with proxy connections whose backend keeps them open: at the end
# of the grace period each gets a close_notify (not a bare FIN), exit 0.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"
need openssl

make_pki "$WORK/a"
CA="$WORK/a/ca.pem"
mkdir -p "$WORK/live"
cp "$WORK/a/server.pem" "$WORK/a/server.key" "$WORK/live/"

# hold NAME ARGS...: hostile.py hold in the background; waits until its
# connections are open. Sets HOLD_PID.
hold() {
  local name="$1"
  shift
  python3 "$HERE/hostile.py" hold "$SERVE_PORT" --ca "$CA" --readyfile "$WORK/$name.ready" "$@" \
    >"$WORK/$name.log" 2>&1 &
  HOLD_PID=$!
  track "$HOLD_PID"
  wait_for "$WORK/$name.ready" '^ready' 60 || fail "$name: connections not open: $(cat "$WORK/$name.log")"
}

# term_within PID MS: SIGTERM the server, require exit 0 within MS; sets TOOK_MS.
term_within() {
  local t0
  t0="$(now_ms)"
  kill -TERM "$1"
  wait_exit "$1" 30 || fail "the server did not exit within 30 s of SIGTERM"
  TOOK_MS=$(($(now_ms) - t0))
  [ "$EXIT_CODE" = 0 ] || fail "the server exited with $EXIT_CODE after SIGTERM"
  [ "$TOOK_MS" -le "$2" ] || fail "expected the server to exit within $2 ms of SIGTERM, saw $TOOK_MS ms"
}

# --- SIGHUP with a broken certificate while connections stream ---------------------
start_serve hup --cert "$WORK/live/server.pem" --key "$WORK/live/server.key" --workers 1
fp_a="$(cert_fp "$WORK/a/server.pem")"
hold stream --n 20 --stream --within 30
echo "this is not a certificate" >"$WORK/live/server.pem"
kill -HUP "$SERVE_PID"
wait_for "$WORK/hup.err" 'SIGHUP: reload failed, keeping the previous certificate: .*live/server\.pem' 10 ||
  fail "expected a 'reload failed' line naming live/server.pem, saw: $(grep SIGHUP "$WORK/hup.err")"
ok "$(grep -o 'SIGHUP: reload failed.*' "$WORK/hup.err" | head -n 1)"
[ "$(served_fp "$SERVE_PORT")" = "$fp_a" ] || fail "the broken certificate changed the served identity"
python3 "$HERE/hostile.py" probe "$SERVE_PORT" --ca "$CA" >"$WORK/hup-probe.log" 2>&1 ||
  fail "after the failed reload: $(cat "$WORK/hup-probe.log")"
ok "old identity kept ($fp_a), a new client is served: $(cat "$WORK/hup-probe.log")"
# The streams go on after the reload: 100 more lines echoed (5 per stream).
echoed() { sed -n 's/^echoed //p' "$WORK/stream.log" | tail -n 1; }
at_hup="$(echoed)"
deadline=$((SECONDS + 10))
until [ "$(echoed)" -ge $((at_hup + 100)) ]; do
  [ "$SECONDS" -le "$deadline" ] || fail "the streams stalled after the reload: $(echoed) lines echoed, $at_hup at the reload"
  kill -0 "$HOLD_PID" 2>/dev/null || fail "the streaming clients failed: $(cat "$WORK/stream.log")"
  sleep 0.05
done
ok "the streams go on after the reload ($at_hup -> $(echoed) lines echoed)"
term_within "$SERVE_PID" 5000
wait_exit "$HOLD_PID" 30 || fail "the streaming clients did not finish"
grep -q '^ends close_notify=20 echoed_lines=[0-9]' "$WORK/stream.log" ||
  fail "expected the 20 streams to run until the stop and end with close_notify, saw: $(grep -v '^echoed' "$WORK/stream.log")"
ok "the 20 streams ran until the stop: $(grep '^ends' "$WORK/stream.log")"

# --- SIGTERM with 300 open connections ----------------------------------------------------
GRACE_MS=3000
start_serve term --cert "$WORK/a/server.pem" --key "$WORK/a/server.key" --workers 1 --grace "$GRACE_MS"
hold many --n 300 --within 20
term_within "$SERVE_PID" "$GRACE_MS"
wait_exit "$HOLD_PID" 30 || fail "the 300 clients did not finish"
grep -q '^ends close_notify=300 ' "$WORK/many.log" ||
  fail "expected all 300 connections closed with close_notify, saw: $(cat "$WORK/many.log")"
ok "SIGTERM with 300 connections: exit 0 after $TOOK_MS ms (grace $GRACE_MS), $(cat "$WORK/many.log")"

# --- SIGTERM with proxy connections still open at the end of the grace period ---------
start_backend backend roles
start_serve proxy --cert "$WORK/a/server.pem" --key "$WORK/a/server.key" --workers 1 --grace 1000 \
  --backend "127.0.0.1:$BK_PORT"
hold proxied --n 20 --within 20
term_within "$SERVE_PID" $((1000 + $(slow_ms 2000)))
wait_exit "$HOLD_PID" 30 || fail "the proxied clients did not finish"
grep -q 'server stopped (grace period over)' "$WORK/proxy.err" ||
  fail "no 'server stopped (grace period over)' record line"
ok "SIGTERM with 20 proxy connections open: exit 0 after $TOOK_MS ms (grace 1000)"
if grep -q '^ends close_notify=20 ' "$WORK/proxied.log"; then
  ok "each proxy connection open at the end of the grace period got a close_notify: $(cat "$WORK/proxied.log")"
else
  hostile_fail "expected the 20 proxy connections still open at the end of the grace period to get a close_notify, saw: $(cat "$WORK/proxied.log")"
fi
hostile_pass
