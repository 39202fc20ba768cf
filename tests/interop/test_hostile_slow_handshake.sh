#!/usr/bin/env bash
# Slow handshakes (slowloris): 100 connections that send nothing and 100
# that send a real ClientHello one byte per second are each cut by
# --handshake-timeout (trickled bytes do not extend it), cost little memory
# (figure reported, bound asserted), leave no descriptor behind, get one
# "handshake timeout" log line each; normal clients are served during and
# after.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
HS_MS=1500
# Bound on the memory one pending handshake costs the server: the host's
# socket state and the worker's session before any TLS buffer grows
# (measured 50 KiB on the 2-core CI machine), with slack for allocator
# granularity and OpenSSL versions.
MAX_KIB=100

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 \
  --handshake-timeout "$HS_MS" --idle-timeout 60000
hostile slow slow-handshake "$SERVE_PORT" --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
  --silent 100 --trickle 100 --byte-interval 1 --timeout-ms "$HS_MS" --max-kib "$MAX_KIB"

n="$(count_lines "$WORK/srv.err" 'close="handshake timeout"')"
if [ "$n" = 200 ]; then
  ok "200 record lines with close=\"handshake timeout\""
else
  hostile_fail "expected 200 'handshake timeout' record lines, saw $n"
fi
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died"
stop_serve "$SERVE_PID"
hostile_pass
