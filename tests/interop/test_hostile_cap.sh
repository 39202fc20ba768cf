#!/usr/bin/env bash
# --max-conns reached: 30 connections over the cap are each refused
# promptly (closed, not left hanging), each gets exactly one record line
# "refused: connection limit", the WARN line about the cap is rate-limited
# (at most one per second, not one per connection), the held connections
# keep working, and service resumes when connections go away.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
CAP=20
EXTRA=30

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --max-conns "$CAP"
hostile cap cap "$SERVE_PORT" --ca "$PKI/ca.pem" --hold "$CAP" --extra "$EXTRA"
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died"

# One record line per refused connection, for each of their ports.
bad=""
for port in $(sed -n 's/^refused_ports //p' "$WORK/cap.log" | tr ' ' '\n'); do
  n="$(count_lines "$WORK/srv.err" " peer=127\.0\.0\.1:$port .*close=\"refused: connection limit\"")"
  [ "$n" = 1 ] || bad+=" $port:$n"
done
if [ -z "$bad" ]; then
  ok "$EXTRA refused connections, one 'refused: connection limit' record line each"
else
  hostile_fail "expected one 'refused: connection limit' record line per refused connection, saw (port:lines)$bad"
fi

# The WARN line about the cap (not the per-connection records): at most
# one per started second of the refusal burst, plus one.
burst="$(sed -n 's/^burst_seconds //p' "$WORK/cap.log")"
allowed="$(python3 -c "import math,sys; print(math.ceil(float(sys.argv[1])) + 1)" "$burst")"
cap_warns() { grep ' warn ' "$WORK/srv.err" | grep -v ' conn=[0-9]* ' | grep -Ei 'connection limit|max-conns'; }
warns="$(cap_warns | wc -l)"
if [ "$warns" -le "$allowed" ]; then
  ok "WARN lines about the cap: $warns for $EXTRA refusals in ${burst} s (at most $allowed)"
else
  hostile_fail "expected the WARN line about the cap at most once per second ($allowed for a ${burst} s burst of $EXTRA refusals), saw $warns: $(cap_warns | head -n 2)"
fi
stop_serve "$SERVE_PID"
hostile_pass
