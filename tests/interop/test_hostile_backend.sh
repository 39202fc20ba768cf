#!/usr/bin/env bash
# Failing backends behind `memtls serve --backend`: one that refuses, one
# that closes each connection at once, one that resets mid-stream, one
# that accepts slowly, and an address that never answers the connect (a
# listener whose accept queue is full: the kernel drops the SYNs). Each
# client gets a clean close (close_notify or an alert, never a hang), the
# record line names the backend problem, descriptors and memory come back,
# and clients are served during (where the backend serves them) and after.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
BK="$(free_port)" # every backend below listens here in turn
CONNECT_MS=1000

close_timeout_args 1000
serve_proxy() {
  SERVE_NAME="$1"
  start_serve "$1" --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
    "${CLOSE_TIMEOUT[@]}" --backend "127.0.0.1:$BK" "${@:2}"
}
bkfail() {
  local name="$1"
  shift
  hostile "$name" backend-fail "$SERVE_PORT" --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
    --log "$WORK/$SERVE_NAME.err" "$@"
}
stop_backend() {
  kill "$BK_PID" 2>/dev/null
  wait_exit "$BK_PID" 10 || fail "the backend did not exit"
}
served() {
  python3 "$HERE/hostile.py" probe "$SERVE_PORT" --ca "$PKI/ca.pem" --timeout "${2:-2}" \
    >"$WORK/served.log" 2>&1 || fail "$1: $(cat "$WORK/served.log")"
  ok "$1: $(cat "$WORK/served.log")"
}

serve_proxy srv
bkfail refused "refused backend" --n 5
start_backend closer close-at-once --port "$BK"
bkfail closes "backend closing at once" --n 5
stop_backend
start_backend roles roles --port "$BK"
served "a working backend on the same port"
bkfail reset "backend reset mid-stream" --first 'reset 5000\n' --more 1000 --n 10 --probe
stop_backend
start_backend slow slow-accept --port "$BK" --delay 1
served "a backend accepting after 1 s: the client is served" 3
stop_backend
stop_serve "$SERVE_PID"

# A backend that never answers the connect: cut by --backend-connect-timeout.
start_backend hole blackhole --port "$BK"
ok "blackhole backend: $(head -n 1 "$WORK/hole.out")"
serve_proxy srv2 --backend-connect-timeout "$CONNECT_MS"
bkfail blackhole "backend never answering the connect" --n 3 --parallel --within 3 \
  --reason "backend connect" --clean close_notify
stop_backend
start_backend roles2 roles --port "$BK"
served "after the blackhole, a working backend"
stop_serve "$SERVE_PID"
hostile_pass
