#!/usr/bin/env bash
# Peers that never read: an echo client that sends and never reads; a
# backend that never reads (proxy); a backend that sends forever to a
# client that never reads (proxy). Each connection stalls at its window:
# the server's memory per stuck connection is bounded (asserted), nothing
# grows per byte, CPU stays low once everything is blocked, descriptors are
# released when they leave (a backend that never reads holds its socket
# only until --close-timeout), and normal clients are served during and
# after.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"
# Memory one stuck connection may cost the server: its windows and queues
# (a few hundred KiB, see docs/runtime.md "Limits and memory") plus slack
# for allocator granularity. Measured with 6 stuck connections after a
# first one took the shared pools.
MAX_KIB=512
CLIENTS=6
CLOSE_MS=1000
# Once the clients left: the close timeout, and a second of slack.
RELEASE_S=2
close_timeout_args "$CLOSE_MS"

start_serve echo --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
  --idle-timeout 60000
hostile stuck-echo stuck "$SERVE_PORT" echo --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
  --clients "$CLIENTS" --max-kib "$MAX_KIB" --release "$RELEASE_S"
stop_serve "$SERVE_PID"

start_backend backend roles
for mode in sink flood; do
  start_serve "$mode" --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
    --idle-timeout 60000 "${CLOSE_TIMEOUT[@]}" --backend "127.0.0.1:$BK_PORT"
  hostile "stuck-$mode" stuck "$SERVE_PORT" "$mode" --ca "$PKI/ca.pem" --pid "$SERVE_PID" \
    --clients "$CLIENTS" --max-kib "$MAX_KIB" --release "$RELEASE_S"
  stop_serve "$SERVE_PID"
done
hostile_pass
