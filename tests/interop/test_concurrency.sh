#!/usr/bin/env bash
# 200 concurrent TLS connections (all handshakes done before any data
# moves), each echoing its own bytes; and a client that sends without ever
# reading does not stall the others (echo and proxy).
source "$(dirname "$0")/lib.sh" "$@"

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 2
timeout 120 python3 "$HERE/peers.py" concurrent "$SERVE_PORT" --ca "$PKI/ca.pem" 200 \
  --bytes 65536 >"$WORK/conc.log" 2>&1 || fail "200 concurrent connections: $(cat "$WORK/conc.log")"
ok "$(cat "$WORK/conc.log")"
wait_for "$WORK/srv.err" 'conn=200 ' 20 || fail "fewer than 200 log lines"
[ "$(grep -c ' conn=[0-9]* .*close="peer closed"\| conn=[0-9]* .*close="closed cleanly"' "$WORK/srv.err")" -ge 200 ] ||
  fail "not every connection closed cleanly: $(grep -v 'close="peer closed"' "$WORK/srv.err" | head -3)"

timeout 120 python3 "$HERE/peers.py" slow-reader "$SERVE_PORT" --ca "$PKI/ca.pem" 30 \
  --max-seconds 20 >"$WORK/slow.log" 2>&1 || fail "slow reader (echo): $(cat "$WORK/slow.log")"
ok "echo: $(tr '\n' ' ' <"$WORK/slow.log")"
# The status line (SIGUSR1) shows the connections and the rings' counters.
kill -USR1 "$SERVE_PID"
wait_for "$WORK/srv.err" 'status: connections open=[0-9]* total=2[3-9][0-9] .*to_worker_high_water=[1-9][0-9]* to_worker_refusals=[0-9]* to_host_high_water=[1-9][0-9]* to_host_refusals=[0-9]*' 10 ||
  fail "no SIGUSR1 status line with ring counters: $(grep status: "$WORK/srv.err")"
ok "$(grep -o 'status: .*' "$WORK/srv.err" | head -1)"
stop_serve "$SERVE_PID"

# Through the proxy, with a backend that echoes.
start_py backend echo-backend
start_serve proxy --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 2 \
  --backend "127.0.0.1:$PY_PORT" --log-level warn
timeout 120 python3 "$HERE/peers.py" concurrent "$SERVE_PORT" --ca "$PKI/ca.pem" 200 \
  --bytes 16384 >"$WORK/pconc.log" 2>&1 || fail "200 concurrent proxied connections: $(cat "$WORK/pconc.log")"
ok "proxy: $(cat "$WORK/pconc.log")"
timeout 120 python3 "$HERE/peers.py" slow-reader "$SERVE_PORT" --ca "$PKI/ca.pem" 30 \
  --max-seconds 20 >"$WORK/pslow.log" 2>&1 || fail "slow reader (proxy): $(cat "$WORK/pslow.log")"
ok "proxy: $(tr '\n' ' ' <"$WORK/pslow.log")"
# Asked for, the status line is written even at --log-level warn (which
# keeps the per-connection info lines out), with the ring's counters.
kill -USR1 "$SERVE_PID"
wait_for "$WORK/proxy.err" ' info status: connections open=[0-9]* total=2[3-9][0-9] .* ring_messages=[1-9][0-9]* wakeups=[0-9]+' 10 ||
  fail "no SIGUSR1 status line at --log-level warn: $(grep status: "$WORK/proxy.err")"
! grep -q ' info conn=' "$WORK/proxy.err" || fail "--log-level warn still logs info lines"
ok "--log-level warn: $(grep -o 'status: .*' "$WORK/proxy.err" | head -1)"
stop_serve "$SERVE_PID"

pass
