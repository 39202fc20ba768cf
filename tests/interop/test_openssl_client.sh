#!/usr/bin/env bash
# Server side against `openssl s_client`: TLS 1.3 and TLS 1.2 with
# -verify_return_error against the PKI from `memtls cert`, the ephemeral
# certificate's printed fingerprint, ALPN, --min-tls 1.3 refusing TLS 1.2,
# an IPv6 listener and a plaintext listener; each connection leaves one
# log line with its version and cipher.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"

# s_client_echo NAME PORT TEXT ARGS...: send TEXT through s_client (with
# verification), wait for the echo, close. Output in $WORK/NAME.log.
s_client_echo() {
  local name="$1" port="$2" text="$3"
  shift 3
  feed_until "$WORK/$name.log" "^$text\$" 15 -- "$text" |
    timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$PKI/ca.pem" -verify_return_error -verify_hostname localhost -quiet -no_ign_eof \
      "$@" >"$WORK/$name.log" 2>"$WORK/$name.stderr"
  local rc=$?
  grep -qx "$text" "$WORK/$name.log" ||
    fail "s_client $*: no echo (exit $rc): $(cat "$WORK/$name.stderr")"
}

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --alpn h2,http/1.1
grep -q "SHA-256 fingerprint $(cert_fp "$PKI/server.pem")" "$WORK/srv.out" ||
  fail "the printed fingerprint is not server.pem's: $(cat "$WORK/srv.out")"

s_client_echo tls13 "$SERVE_PORT" "hello over tls 1.3" -tls1_3
wait_for "$WORK/srv.err" 'sni=localhost version=TLSv1.3 cipher=TLS_' ||
  fail "no TLS 1.3 log line"
ok "openssl s_client -tls1_3 -verify_return_error: echo, log line"

s_client_echo tls12 "$SERVE_PORT" "hello over tls 1.2" -tls1_2
wait_for "$WORK/srv.err" 'version=TLSv1.2 cipher=ECDHE-ECDSA-(AES|CHACHA)' ||
  fail "no TLS 1.2 log line"
ok "openssl s_client -tls1_2 -verify_return_error: echo, log line"

s_client_echo tls12_chacha "$SERVE_PORT" "chacha" -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305
wait_for "$WORK/srv.err" 'version=TLSv1.2 cipher=ECDHE-ECDSA-CHACHA20-POLY1305' ||
  fail "no ChaCha20 log line"
ok "openssl s_client TLS 1.2 ChaCha20-Poly1305"

# ALPN: the server picks its first protocol the client offers.
timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -servername localhost \
  -CAfile "$PKI/ca.pem" -verify_return_error -alpn 'spdy/1,http/1.1' </dev/null \
  >"$WORK/alpn.log" 2>&1 || fail "s_client -alpn failed: $(tail -5 "$WORK/alpn.log")"
grep -q 'ALPN protocol: http/1.1' "$WORK/alpn.log" || fail "ALPN http/1.1 not negotiated"
wait_for "$WORK/srv.err" 'alpn=http/1.1' || fail "no alpn=http/1.1 in the log"
ok "ALPN http/1.1 negotiated and logged"

# A weak cipher the server does not allow: the handshake fails.
if timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_2 -cipher AES128-SHA \
  </dev/null >"$WORK/weak.log" 2>&1; then
  fail "a non-AEAD TLS 1.2 cipher was accepted"
fi
ok "non-AEAD cipher refused"
stop_serve "$SERVE_PID"

# --min-tls 1.3 refuses TLS 1.2.
start_serve min13 --cert "$PKI/server.pem" --key "$PKI/server.key" --min-tls 1.3
if timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_2 </dev/null \
  >"$WORK/min13.log" 2>&1; then
  fail "--min-tls 1.3 accepted a TLS 1.2 handshake"
fi
wait_for "$WORK/min13.err" 'conn=1 .*close=' || fail "no log line for the refused TLS 1.2 client"
s_client_echo min13ok "$SERVE_PORT" "thirteen" -tls1_3
stop_serve "$SERVE_PID"
ok "--min-tls 1.3: TLS 1.2 refused (logged), TLS 1.3 fine"

# Key exchange groups. The default refuses a client that offers only
# finite-field groups (each would cost the server a large modular
# exponentiation); --groups decides, a retry request brings a client whose
# key share is for another group over, and a bad name stops the start.
start_serve groups --cert "$PKI/server.pem" --key "$PKI/server.key"
if timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_3 -groups ffdhe2048:ffdhe8192 \
  </dev/null >"$WORK/ffdhe.log" 2>&1; then
  fail "a client offering only ffdhe2048/ffdhe8192 was served by default"
fi
wait_for "$WORK/groups.err" 'conn=1 .*close=.*no suitable key share' ||
  fail "no log line naming the missing key share: $(cat "$WORK/groups.err")"
timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_3 </dev/null \
  >"$WORK/x25519.log" 2>&1 || fail "default groups: $(tail -5 "$WORK/x25519.log")"
grep -q 'Server Temp Key: X25519' "$WORK/x25519.log" ||
  fail "the default did not agree on X25519: $(grep 'Temp Key' "$WORK/x25519.log")"
stop_serve "$SERVE_PID"
start_serve p384 --cert "$PKI/server.pem" --key "$PKI/server.key" --groups P-384
if timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -groups X25519 </dev/null \
  >"$WORK/x25519only.log" 2>&1; then
  fail "--groups P-384 served a client offering only X25519"
fi
timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -groups X25519:P-384 </dev/null \
  >"$WORK/hrr.log" 2>&1 || fail "X25519:P-384 against --groups P-384: $(tail -5 "$WORK/hrr.log")"
grep -q 'Server Temp Key: ECDH, secp384r1' "$WORK/hrr.log" ||
  fail "not P-384: $(grep 'Temp Key' "$WORK/hrr.log")"
stop_serve "$SERVE_PID"
if "$MEMTLS" serve --listen 127.0.0.1:0 --groups X25519:no-such-group >"$WORK/badgroups.out" \
  2>"$WORK/badgroups.err"; then
  fail "--groups with an unknown name started"
fi
grep -q -- "--groups: unknown key exchange group 'no-such-group'" "$WORK/badgroups.err" ||
  fail "no clear error for a bad --groups: $(cat "$WORK/badgroups.err")"
ok "groups: ffdhe-only client refused by default (logged), X25519 by default, --groups P-384 retried to P-384, bad name refused"

# The ephemeral certificate: what is served is what was printed.
start_serve eph
fp="$(sed -n 's/^certificate SHA-256 fingerprint //p' "$WORK/eph.out")"
[ -n "$fp" ] || fail "no fingerprint printed: $(cat "$WORK/eph.out")"
[ "$(served_fp "$SERVE_PORT")" = "$fp" ] || fail "served certificate is not the printed one"
openssl s_client -connect "127.0.0.1:$SERVE_PORT" </dev/null 2>/dev/null |
  openssl x509 -noout -text >"$WORK/eph.txt" || fail "cannot read the ephemeral certificate"
grep -q 'ASN1 OID: prime256v1' "$WORK/eph.txt" || fail "ephemeral key is not P-256"
grep -q 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1' "$WORK/eph.txt" ||
  fail "ephemeral certificate SANs: $(grep -A1 'Alternative' "$WORK/eph.txt")"
stop_serve "$SERVE_PID"
ok "ephemeral ECDSA P-256 certificate for localhost/127.0.0.1/::1, fingerprint $fp"

# IPv6 and plaintext listeners side by side.
start_serve dual --listen '[::1]:0' --listen 127.0.0.1:0,plaintext \
  --cert "$PKI/server.pem" --key "$PKI/server.key"
v6port="$(sed -n 's/^listening on \[::1\]:\([0-9]*\) (tls)/\1/p' "$WORK/dual.out")"
ptport="$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\) (plaintext)/\1/p' "$WORK/dual.out")"
[ -n "$v6port" ] && [ -n "$ptport" ] || fail "listening lines: $(cat "$WORK/dual.out")"
feed_until "$WORK/v6.log" '^over ipv6$' 15 -- "over ipv6" |
  timeout 30 openssl s_client -connect "[::1]:$v6port" -CAfile "$PKI/ca.pem" \
    -verify_return_error -verify_ip ::1 -quiet -no_ign_eof >"$WORK/v6.log" 2>"$WORK/v6.stderr"
grep -qx "over ipv6" "$WORK/v6.log" || fail "no echo over IPv6: $(cat "$WORK/v6.stderr")"
python3 - "$ptport" <<'PY' || fail "plaintext listener did not echo"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"plain bytes\n")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    got += d
sys.exit(0 if got == b"plain bytes\n" else 1)
PY
wait_for "$WORK/dual.err" 'peer=\[::1\]:[0-9]+ ' || fail "no log line with an IPv6 peer"
wait_for "$WORK/dual.err" 'listener=1\(plaintext\)' || fail "no log line for the plaintext listener"
stop_serve "$SERVE_PID"
ok "IPv6 TLS listener and plaintext listener"

pass
