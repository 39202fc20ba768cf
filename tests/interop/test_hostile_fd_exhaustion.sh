#!/usr/bin/env bash
# Out of file descriptors: the server runs under `ulimit -n 64`, silent
# clients take every descriptor and more keep arriving. The server must not
# spin on accept (its CPU stays low while clients beyond the limit wait),
# an established connection keeps working, the problem is logged (a WARN
# line naming file descriptors, at most once per second), and once the
# silent clients leave a new client is served.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
NOFILE=64

start_serve_nofile "$NOFILE" srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 \
  --handshake-timeout 30000 --max-conns 1000
start_lines="$(wc -l <"$WORK/srv.err")"
hostile fd fd-exhaust "$SERVE_PORT" --ca "$PKI/ca.pem" --pid "$SERVE_PID" --hold 1.5 --max-cpu 10
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died"

# The log names the problem, rate-limited (the startup warning about the
# limit, before start_lines, does not count).
tail -n +"$((start_lines + 1))" "$WORK/srv.err" >"$WORK/after-start.err"
read -r w0 w1 < <(sed -n 's/^window //p' "$WORK/fd.log")
warns="$(grep ' warn ' "$WORK/after-start.err" | grep -c 'file descriptors')"
secs="$(python3 -c "import math,sys; print(math.ceil(float(sys.argv[2]) - float(sys.argv[1])) + 1)" "$w0" "$w1")"
if [ "$warns" -lt 1 ] || [ "$warns" -gt $((secs + 2)) ]; then
  hostile_fail "expected a WARN line naming 'file descriptors' while out of them, at most once per second (1 to $((secs + 2)) over the ~$secs s at the limit), saw $warns; WARN lines: $(grep ' warn ' "$WORK/after-start.err" | grep -v ' conn=' | head -n 3)"
else
  ok "out of descriptors logged $warns time(s): $(grep ' warn ' "$WORK/after-start.err" | grep -m 1 'file descriptors')"
fi
stop_serve "$SERVE_PID"
hostile_pass
