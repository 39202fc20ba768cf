#!/usr/bin/env bash
# Bad input instead of a TLS client: random bytes, a record header that
# announces 2^16 bytes, an SSLv2 ClientHello, plain HTTP, a ClientHello
# carrying a 16 KiB extension, and a TLS 1.2 renegotiation request. Each
# ends cleanly (at most alerts, then FIN; or, for the big ClientHello, a
# normal session), with exactly one log line naming the reason; the server
# does not crash and serves normal clients during and after.
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1
start_probes probes "$SERVE_PORT" "$PKI/ca.pem"

for kind in garbage bigrecord sslv2 http; do
  hostile "raw-$kind" raw "$SERVE_PORT" "$kind" --log "$WORK/srv.err" --within 3
done

# attack NAME ARGS...: run tls_attack ARGS with its output in $WORK/NAME.log.
attack() {
  local name="$1"
  shift
  timeout 30 "$TLS_ATTACK" "$@" >"$WORK/$name.log" 2>&1 || fail "tls_attack $*: $(cat "$WORK/$name.log")"
}

# A ClientHello of ~16.5 KiB (two records): legal, so the session works.
attack bigext bigext "$SERVE_PORT" --ext-size 16384 --seconds "$((3 * HOSTILE_SLOW))"
grep -q '^conn=1 .* end=close_notify$' "$WORK/bigext.log" ||
  fail "a ClientHello with a 16 KiB extension: expected an echo round trip then close_notify, saw: $(cat "$WORK/bigext.log")"
wait_for "$WORK/srv.err" 'bytes_in=1[6-9][0-9][0-9][0-9] .*close="peer closed"' 5 ||
  fail "no 'peer closed' record line for the 16 KiB ClientHello (bytes_in >= 16000)"
ok "ClientHello with a 16 KiB extension: served, closed with close_notify, logged 'peer closed'"

# TLS 1.2 renegotiation: refused with an alert, the connection ends.
attack reneg renegotiate "$SERVE_PORT" --seconds "$((3 * HOSTILE_SLOW))"
grep -q '^conn=1 .* end=alert:no_renegotiation$' "$WORK/reneg.log" ||
  fail "TLS 1.2 renegotiation: expected the server's no_renegotiation alert, saw: $(cat "$WORK/reneg.log")"
wait_for "$WORK/srv.err" 'version=TLSv1.2 .*close="protocol error: [^"]+"' 5 ||
  fail "no 'protocol error' record line for the renegotiation attempt"
[ "$(count_lines "$WORK/srv.err" 'version=TLSv1.2 .*close=')" = 1 ] ||
  fail "expected exactly one record line for the TLS 1.2 connection, saw $(count_lines "$WORK/srv.err" 'version=TLSv1.2 .*close=')"
ok "renegotiation: no_renegotiation alert, one line: $(grep -o 'version=TLSv1.2 .*close=.*' "$WORK/srv.err" | sed 's/.*close=/close=/')"

check_probes
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died"
python3 "$HERE/hostile.py" probe "$SERVE_PORT" --ca "$PKI/ca.pem" >"$WORK/after.log" 2>&1 ||
  fail "after the bad input: $(cat "$WORK/after.log")"
stop_serve "$SERVE_PID"
hostile_pass
