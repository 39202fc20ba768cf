#!/usr/bin/env bash
# SIGHUP reloads --cert/--key for new handshakes (the fingerprint the next
# client sees changes) while a live connection keeps working; a failing
# reload (bad key, mismatched key, missing certificate) is logged and keeps
# the previous certificate.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/a"
make_pki "$WORK/b"
mkdir -p "$WORK/live"
cp "$WORK/a/server.pem" "$WORK/a/server.key" "$WORK/live/"

# --- SIGHUP reload ------------------------------------------------------------------
start_serve hup --cert "$WORK/live/server.pem" --key "$WORK/live/server.key"
fp_a="$(cert_fp "$WORK/a/server.pem")"
fp_b="$(cert_fp "$WORK/b/server.pem")"
[ "$(served_fp "$SERVE_PORT")" = "$fp_a" ] || fail "not serving certificate A before the reload"

# A connection that lives across the reloads.
mkfifo "$WORK/live.fifo"
exec 4<>"$WORK/live.fifo"
"$MEMTLS" connect --ca "$WORK/a/ca.pem" "localhost:$SERVE_PORT" <"$WORK/live.fifo" \
  >"$WORK/live.out" 2>"$WORK/live.stderr" &
live=$!
track "$live"
echo "before reload" >&4
wait_for "$WORK/live.out" '^before reload$' 10 || fail "live connection: no echo: $(cat "$WORK/live.stderr")"

cp "$WORK/b/server.pem" "$WORK/b/server.key" "$WORK/live/"
kill -HUP "$SERVE_PID"
wait_for "$WORK/hup.err" "SIGHUP: reloaded .*SHA-256 $fp_b" 10 || fail "no reload log line"
[ "$(served_fp "$SERVE_PORT")" = "$fp_b" ] || fail "the next handshake does not use certificate B"
echo "after reload" >&4
wait_for "$WORK/live.out" '^after reload$' 10 || fail "the live connection broke on reload"
ok "SIGHUP: next handshake presents B ($fp_b), the live connection keeps working"

# A failing reload (unreadable key, then a key that does not match) keeps B.
echo "garbage" >"$WORK/live/server.key"
kill -HUP "$SERVE_PID"
wait_for "$WORK/hup.err" 'SIGHUP: reload failed, keeping the previous certificate: .*server.key' 10 ||
  fail "no 'reload failed' line for a bad key"
cp "$WORK/a/server.key" "$WORK/live/server.key"
kill -HUP "$SERVE_PID"
wait_for "$WORK/hup.err" 'reload failed.*does not match' 10 || fail "no 'reload failed' line for a mismatched key"
rm -f "$WORK/live/server.pem"
kill -HUP "$SERVE_PID"
wait_for "$WORK/hup.err" 'reload failed.*--cert .*cannot open' 10 || fail "no 'reload failed' line for a missing cert"
[ "$(served_fp "$SERVE_PORT")" = "$fp_b" ] || fail "a failed reload changed the certificate"
echo "still alive" >&4
wait_for "$WORK/live.out" '^still alive$' 10 || fail "the live connection broke on a failed reload"
ok "failed reloads (bad key, mismatched key, missing cert) logged; B still served"

stop_serve "$SERVE_PID"
wait_exit "$live" 10 || fail "memtls connect did not exit when the server stopped"
[ "$EXIT_CODE" = 0 ] || fail "memtls connect exited $EXIT_CODE when the server closed: $(cat "$WORK/live.stderr")"
ok "the server's stop closed the live connection cleanly (memtls connect exit 0)"
pass
