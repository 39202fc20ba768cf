#!/usr/bin/env bash
# SIGTERM while connections are streaming loses no data: every plaintext
# byte the server read was echoed and reached the client before a clean
# close_notify, and the server exits 0 within the grace period. SIGINT
# stops the same way.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/a"

start_serve int --cert "$WORK/a/server.pem" --key "$WORK/a/server.key"
stop_serve "$SERVE_PID" INT
ok "SIGINT: exit 0"

# --- SIGTERM with connections in flight -----------------------------------------
start_serve term --cert "$WORK/a/server.pem" --key "$WORK/a/server.key" --grace 10000
python3 "$HERE/peers.py" inflight "$SERVE_PORT" --ca "$WORK/a/ca.pem" 8 "$WORK/streaming" \
  >"$WORK/inflight.log" 2>&1 &
client=$!
track "$client"
wait_for "$WORK/streaming" streaming 60 || fail "clients did not start streaming: $(cat "$WORK/inflight.log")"
kill -TERM "$SERVE_PID"
wait_exit "$client" 60 || fail "the streaming clients did not finish after SIGTERM"
[ "$EXIT_CODE" = 0 ] || fail "data lost or unclean close on SIGTERM: $(cat "$WORK/inflight.log")"
wait_exit "$SERVE_PID" 20 || fail "server did not exit after SIGTERM"
[ "$EXIT_CODE" = 0 ] || fail "server exited with $EXIT_CODE after SIGTERM"
# Cross-check each connection with the server's log line: what the server
# read from the application side was all written back, and all of it arrived.
while read -r _ port sent received close match; do
  port="${port#port=}"
  received="${received#received=}"
  line="$(grep "peer=127.0.0.1:$port " "$WORK/term.err")" || fail "no log line for client port $port"
  app_in="$(sed -n 's/.* app_in=\([0-9]*\) .*/\1/p' <<<"$line")"
  app_out="$(sed -n 's/.* app_out=\([0-9]*\) .*/\1/p' <<<"$line")"
  [ "$app_in" = "$app_out" ] ||
    fail "port $port: the server read $app_in plaintext bytes but echoed only $app_out: $((app_in - app_out)) bytes read before the stop were dropped"
  [ "$app_out" = "$received" ] ||
    fail "port $port: the server echoed $app_out bytes, the client received $received"
done < <(grep '^conn ' "$WORK/inflight.log")
[ "$(grep -c '^conn .*close=clean match=1' "$WORK/inflight.log")" = 8 ] ||
  fail "not 8 clean connections: $(cat "$WORK/inflight.log")"
grep -q 'SIGTERM: stopping' "$WORK/term.err" || fail "no stopping line"
ok "SIGTERM with 8 streaming connections: every byte read was echoed and received, clean closes, exit 0"

pass
