#!/usr/bin/env bash
# After the idle timeout, a connection whose peer stopped reading is closed
# within a bound and costs no CPU meanwhile: in echo mode a client that
# sends without reading, in proxy mode a client that stops reading while
# the backend keeps sending. Once idle, the session closes (close_notify
# queued); the peer does not read it, so the connection must be cut
# --close-timeout later. Data that arrives meanwhile is not activity, and
# a closing connection reads neither side, so the server must neither take
# more data nor burn CPU. Normal clients are served during and after.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
IDLE_MS=1000
CLOSE_MS=1000
# Without --close-timeout (an older binary) the closing phase is bounded,
# per docs/runtime.md, by one more idle period: the same bound here.
close_timeout_args "$CLOSE_MS"

start_serve echo --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
  --idle-timeout "$IDLE_MS" "${CLOSE_TIMEOUT[@]}"
hostile idle-echo idle "$SERVE_PORT" echo --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
  --log "$WORK/echo.err" --idle-ms "$IDLE_MS" --close-ms "$CLOSE_MS"
stop_serve "$SERVE_PID"

start_backend backend roles
start_serve proxy --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
  --idle-timeout "$IDLE_MS" "${CLOSE_TIMEOUT[@]}" --backend "127.0.0.1:$BK_PORT"
hostile idle-flood idle "$SERVE_PORT" flood --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
  --log "$WORK/proxy.err" --idle-ms "$IDLE_MS" --close-ms "$CLOSE_MS"
# What the server read from the backend (SIGUSR1 status line): once the
# client stopped reading, no more than the windows can hold.
kill -USR1 "$SERVE_PID"
wait_for "$WORK/proxy.err" 'status: .* backend_in=[0-9]+' 5 || fail "no SIGUSR1 status line"
backend_in="$(sed -n 's/.*status: .* backend_in=\([0-9]*\) .*/\1/p' "$WORK/proxy.err" | tail -n 1)"
if [ "$backend_in" -le $((64 << 20)) ]; then
  ok "proxy: read $((backend_in >> 10)) KiB from the flooding backend in all"
else
  hostile_fail "proxy: expected the server to stop reading the backend of a closing connection (at most 64 MiB read), saw backend_in=$backend_in bytes"
fi
stop_serve "$SERVE_PID"
hostile_pass
