#!/usr/bin/env bash
# Several certificates chosen by SNI (--cert/--key pairs), against real
# clients: three names with three certificates (openssl s_client,
# gnutls-cli, Python ssl, curl through the proxy), an unknown name and no
# SNI get the first; an RSA and an ECDSA certificate for one name: an
# RSA-only client gets RSA, an ECDSA-only client ECDSA, in TLS 1.3 and
# 1.2; each connection's log line says which certificate answered. SIGHUP
# swaps one pair's certificate while a connection on another pair stays
# up, and a pair whose files broke keeps its certificate (logged).
source "$(dirname "$0")/lib.sh" "$@"
need openssl gnutls-cli curl

for n in a b c; do
  make_pki "$WORK/$n" --san "$n.test" --cn "$n.test"
done
make_pki "$WORK/rsa" --san both.test --rsa
make_pki "$WORK/ec" --san both.test
make_pki "$WORK/b2" --san b.test --cn b.test
mkdir -p "$WORK/live"
cp "$WORK/b/server.pem" "$WORK/live/b.pem"
cp "$WORK/b/server.key" "$WORK/live/b.key"
cp "$WORK/c/server.pem" "$WORK/live/c.pem"
cp "$WORK/c/server.key" "$WORK/live/c.key"

# subject PORT SNI|- [s_client args]: the subject the server presents.
subject() {
  local port="$1" sni="$2"
  shift 2
  local name=(-servername "$sni")
  [ "$sni" = - ] && name=(-noservername)
  timeout 10 openssl s_client -connect "127.0.0.1:$port" "${name[@]}" "$@" </dev/null 2>/dev/null |
    openssl x509 -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//'
}

# key_alg PORT SNI [s_client args]: the server key's algorithm.
key_alg() {
  local port="$1" sni="$2"
  shift 2
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$sni" "$@" </dev/null \
    2>/dev/null | openssl x509 -noout -text 2>/dev/null | sed -n 's/^ *Public Key Algorithm: //p'
}

start_serve srv --cert "$WORK/a/server.pem" --key "$WORK/a/server.key" \
  --cert "$WORK/live/b.pem" --key "$WORK/live/b.key" \
  --cert "$WORK/live/c.pem" --key "$WORK/live/c.key" \
  --cert "$WORK/rsa/server.pem" --key "$WORK/rsa/server.key" \
  --cert "$WORK/ec/server.pem" --key "$WORK/ec/server.key"
SRV_PID="$SERVE_PID"
SRV_PORT="$SERVE_PORT"
[ "$(grep -c '^certificate .* SHA-256 fingerprint' "$WORK/srv.out")" = 5 ] ||
  fail "five fingerprints expected: $(cat "$WORK/srv.out")"

# --- three names, three certificates ----------------------------------------------
for n in a b c; do
  got="$(subject "$SERVE_PORT" "$n.test" -CAfile "$WORK/$n/ca.pem" -verify_return_error)"
  [ "$got" = "CN=$n.test" ] || fail "openssl s_client -servername $n.test got '$got'"
done
wait_for "$WORK/srv.err" 'sni=a.test .* cert=0 cert_dn="CN=a.test"' || fail "no log line for a.test"
wait_for "$WORK/srv.err" 'sni=b.test .* cert=1 cert_dn="CN=b.test"' || fail "no log line for b.test"
wait_for "$WORK/srv.err" 'sni=c.test .* cert=2 cert_dn="CN=c.test"' || fail "no log line for c.test"
ok "openssl s_client: a.test, b.test, c.test each get their own certificate (verified), logged"

[ "$(subject "$SERVE_PORT" unknown.test)" = "CN=a.test" ] || fail "an unknown name did not get the first"
[ "$(subject "$SERVE_PORT" -)" = "CN=a.test" ] || fail "no SNI did not get the first"
wait_for "$WORK/srv.err" 'sni=unknown.test .* cert=0 ' || fail "no log line for unknown.test"
wait_for "$WORK/srv.err" 'sni=- .* cert=0 ' || fail "no log line without SNI"
ok "an unknown name and no SNI get the first certificate"

# gnutls-cli: the SNI is the host name given; verification against b's CA.
timeout 20 gnutls-cli --x509cafile "$WORK/b/ca.pem" --sni-hostname b.test --verify-hostname b.test \
  -p "$SERVE_PORT" 127.0.0.1 </dev/null >"$WORK/gnutls.log" 2>&1 ||
  fail "gnutls-cli b.test: $(tail -5 "$WORK/gnutls.log")"
grep -q "subject \`CN=b.test'" "$WORK/gnutls.log" || fail "gnutls-cli did not see CN=b.test"
grep -q 'The certificate is trusted' "$WORK/gnutls.log" || fail "gnutls-cli did not trust b.test"
ok "gnutls-cli --sni-hostname b.test: verified b.test"

# Python ssl with server_hostname (verification on).
python3 - "$SERVE_PORT" "$WORK/c/ca.pem" <<'PY' || fail "python ssl c.test"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="c.test") as s:
        cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
        s.sendall(b"ping\n")
        assert s.recv(16) == b"ping\n"
        print("python ssl", cn)
        sys.exit(0 if cn == "c.test" else 1)
PY
ok "python ssl server_hostname=c.test: verified c.test, echo"

# --- RSA and ECDSA for one name -----------------------------------------------------
RSA_ONLY="rsa_pss_rsae_sha256:rsa_pkcs1_sha256"
for v in -tls1_3 -tls1_2; do
  alg="$(key_alg "$SERVE_PORT" both.test "$v" -sigalgs "$RSA_ONLY")"
  [ "$alg" = rsaEncryption ] || fail "RSA-only client ($v) got '$alg'"
  alg="$(key_alg "$SERVE_PORT" both.test "$v" -sigalgs ecdsa_secp256r1_sha256)"
  [ "$alg" = id-ecPublicKey ] || fail "ECDSA-only client ($v) got '$alg'"
done
wait_for "$WORK/srv.err" 'sni=both.test version=TLSv1.2 .* cert=3 ' || fail "no RSA log line"
wait_for "$WORK/srv.err" 'sni=both.test version=TLSv1.2 .* cert=4 ' || fail "no ECDSA log line"
alg="$(key_alg "$SERVE_PORT" both.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)"
[ "$alg" = rsaEncryption ] || fail "an ECDHE-RSA-only TLS 1.2 client got '$alg'"
ok "both.test: RSA-only clients get the RSA certificate, ECDSA-only the ECDSA one (TLS 1.3, 1.2)"

# --- curl through the proxy -----------------------------------------------------------
start_py http http-backend
HTTP_PORT="$PY_PORT"
start_serve web --cert "$WORK/a/server.pem" --key "$WORK/a/server.key" \
  --cert "$WORK/b/server.pem" --key "$WORK/b/server.key" --backend "127.0.0.1:$HTTP_PORT"
WEB_PID="$SERVE_PID"
timeout 20 curl -sS --cacert "$WORK/b/ca.pem" --resolve "b.test:$SERVE_PORT:127.0.0.1" \
  "https://b.test:$SERVE_PORT/" -o "$WORK/curl.body" >"$WORK/curl.log" 2>&1 ||
  fail "curl https://b.test: $(cat "$WORK/curl.log")"
grep -q . "$WORK/curl.body" || fail "curl: empty body"
wait_for "$WORK/web.err" 'sni=b.test .* cert=1 ' || fail "no log line for curl's b.test"
stop_serve "$WEB_PID"
ok "curl https://b.test through the proxy: verified, answered"

# --- reload: b.test swapped, a.test's live connection stays up; c.test broken ----------
mkfifo "$WORK/live.fifo"
exec 4<>"$WORK/live.fifo"
"$MEMTLS" connect --ca "$WORK/a/ca.pem" --servername a.test "127.0.0.1:$SRV_PORT" \
  <"$WORK/live.fifo" >"$WORK/live.out" 2>"$WORK/live.stderr" &
live=$!
track "$live"
echo "before reload" >&4
wait_for "$WORK/live.out" '^before reload$' 10 || fail "live a.test connection: no echo"

fp_b2="$(cert_fp "$WORK/b2/server.pem")"
fp_c="$(cert_fp "$WORK/c/server.pem")"
cp "$WORK/b2/server.pem" "$WORK/live/b.pem"
cp "$WORK/b2/server.key" "$WORK/live/b.key"
echo "garbage" >"$WORK/live/c.key"
kill -HUP "$SRV_PID"
wait_for "$WORK/srv.err" "SIGHUP: reloaded $WORK/live/b.pem \\(SHA-256 $fp_b2\\)" 10 ||
  fail "no reload line for b.test"
wait_for "$WORK/srv.err" \
  "SIGHUP: reload failed, keeping the previous certificate: --cert $WORK/live/c.pem, --key $WORK/live/c.key: .*no PEM private key" 10 ||
  fail "no 'keeping the previous certificate' line naming c's files"
wait_for "$WORK/srv.err" 'configuration reloaded' 10 || fail "the server did not take the new configuration"

got_b="$(timeout 10 openssl s_client -connect "127.0.0.1:$SRV_PORT" -servername b.test </dev/null 2>/dev/null |
  openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//')"
[ "$got_b" = "$fp_b2" ] || fail "b.test after reload: $got_b, expected $fp_b2"
got_c="$(timeout 10 openssl s_client -connect "127.0.0.1:$SRV_PORT" -servername c.test </dev/null 2>/dev/null |
  openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//')"
[ "$got_c" = "$fp_c" ] || fail "c.test after a failed reload of its key: $got_c, expected $fp_c"
[ "$(subject "$SRV_PORT" a.test)" = "CN=a.test" ] || fail "a.test after reload"
echo "after reload" >&4
wait_for "$WORK/live.out" '^after reload$' 10 || fail "the live a.test connection broke on reload"
ok "SIGHUP: b.test now presents its new certificate, c.test (broken key) keeps its old one, a.test's live connection echoes on"

stop_serve "$SRV_PID"
wait_exit "$live" 10 || fail "memtls connect did not exit when the server stopped"
pass
