#!/usr/bin/env bash
# Client side: `memtls connect` against `openssl s_server` and
# `gnutls-serv` (TLS 1.3 and 1.2, ALPN, client certificates, a slow stdout),
# and its refusals: wrong host name, unknown CA (given and system store),
# each a clear message and a non-zero exit; --insecure warns.
source "$(dirname "$0")/lib.sh" "$@"
need openssl gnutls-serv

make_pki "$WORK/pki"
make_pki "$WORK/other"
make_pki "$WORK/named" --san only.example
PKI="$WORK/pki"

# Servers read their stdin; give them one that never ends (a FIFO we hold).
mkfifo "$WORK/stdin.fifo"
exec 3<>"$WORK/stdin.fifo"

# start_s_server NAME ARGS...: openssl s_server on 127.0.0.1; sets SPORT.
start_s_server() {
  local name="$1"
  shift
  SPORT="$(free_port)"
  openssl s_server -accept "127.0.0.1:$SPORT" "$@" <"$WORK/stdin.fifo" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  track $!
  wait_for "$WORK/$name.out" '^ACCEPT' 15 || fail "s_server $* did not start: $(cat "$WORK/$name.err")"
}

# start_gnutls_serv NAME ARGS...: gnutls-serv --echo (it binds every
# address; the test only connects to 127.0.0.1); sets GPORT.
start_gnutls_serv() {
  local name="$1"
  shift
  GPORT="$(free_port)"
  gnutls-serv --echo -p "$GPORT" "$@" <"$WORK/stdin.fifo" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  track $!
  wait_for "$WORK/$name.out $WORK/$name.err" 'listening on IPv4' 15 ||
    fail "gnutls-serv $* did not start: $(cat "$WORK/$name.err")"
}

# connect_ok NAME INPUT EXPECTED ARGS...: memtls connect must exit 0 and
# print EXPECTED.
connect_ok() {
  local name="$1" input="$2" expected="$3"
  shift 3
  printf '%s\n' "$input" | timeout 30 "$MEMTLS" connect -v "$@" >"$WORK/$name.log" \
    2>"$WORK/$name.stderr" || fail "memtls connect $* ($name): exit $?: $(cat "$WORK/$name.stderr")"
  grep -qx -- "$expected" "$WORK/$name.log" ||
    fail "memtls connect $* ($name): got '$(cat "$WORK/$name.log")', expected '$expected'"
}

# connect_fails NAME PATTERN ARGS...: memtls connect must exit non-zero with
# one error line matching PATTERN and print no data.
connect_fails() {
  local name="$1" pattern="$2"
  shift 2
  local rc=0
  echo "secret" | timeout 30 "$MEMTLS" connect "$@" >"$WORK/$name.log" 2>"$WORK/$name.stderr" ||
    rc=$?
  [ "$rc" != 0 ] || fail "memtls connect $* ($name) succeeded"
  [ "$rc" != 124 ] || fail "memtls connect $* ($name) hung"
  grep -Eq -- "$pattern" "$WORK/$name.stderr" ||
    fail "memtls connect $* ($name): '$(cat "$WORK/$name.stderr")' does not match /$pattern/"
  [ ! -s "$WORK/$name.log" ] || fail "memtls connect $* ($name) printed data"
  ok "refused ($name): $(cat "$WORK/$name.stderr")"
}

# --- openssl s_server --------------------------------------------------------
start_s_server s13 -cert "$PKI/server.pem" -key "$PKI/server.key" -rev -alpn h2,http/1.1
connect_ok s13 "hello s_server" "revres_s olleh" --ca "$PKI/ca.pem" "localhost:$SPORT"
grep -q 'TLSv1.3' "$WORK/s13.stderr" || fail "not TLS 1.3: $(cat "$WORK/s13.stderr")"
connect_ok s13alpn "alpn" "npla" --ca "$PKI/ca.pem" --alpn http/1.1 "localhost:$SPORT"
grep -q 'ALPN http/1.1' "$WORK/s13alpn.stderr" || fail "ALPN: $(cat "$WORK/s13alpn.stderr")"
connect_ok s13ip "by address" "sserdda yb" --ca "$PKI/ca.pem" "127.0.0.1:$SPORT"
ok "memtls connect -> openssl s_server (TLS 1.3, ALPN http/1.1, IP SAN)"

connect_fails wronghost 'certificate verify failed: .*(hostname|Hostname) mismatch.*wrong.example' \
  --ca "$PKI/ca.pem" --servername wrong.example "127.0.0.1:$SPORT"
connect_fails unknownca '^memtls connect: certificate verify failed: unable to get local issuer certificate$' \
  --ca "$WORK/other/ca.pem" "localhost:$SPORT"
connect_fails systemstore 'certificate verify failed: unable to get local issuer certificate' \
  "localhost:$SPORT"
printf 'insecure\n' | timeout 30 "$MEMTLS" connect --insecure "localhost:$SPORT" \
  >"$WORK/insecure.log" 2>"$WORK/insecure.stderr" || fail "--insecure: $(cat "$WORK/insecure.stderr")"
grep -qx 'erucesni' "$WORK/insecure.log" || fail "--insecure: no data"
grep -q 'warning: --insecure' "$WORK/insecure.stderr" || fail "--insecure printed no warning"
ok "--insecure connects with a warning"

start_s_server named -cert "$WORK/named/server.pem" -key "$WORK/named/server.key" -rev
connect_fails ipmismatch 'certificate verify failed: .*mismatch' \
  --ca "$WORK/named/ca.pem" "127.0.0.1:$SPORT"
connect_ok namedsni "sni" "ins" --ca "$WORK/named/ca.pem" --servername only.example "127.0.0.1:$SPORT"

start_s_server s12 -cert "$PKI/server.pem" -key "$PKI/server.key" -rev -tls1_2
connect_ok s12 "tls twelve" "evlewt slt" --ca "$PKI/ca.pem" "localhost:$SPORT"
grep -q 'TLSv1.2 ECDHE-ECDSA-' "$WORK/s12.stderr" || fail "not TLS 1.2: $(cat "$WORK/s12.stderr")"
connect_fails min13 'handshake failed|alert|protocol version' --ca "$PKI/ca.pem" --min-tls 1.3 \
  "localhost:$SPORT"
ok "memtls connect -> openssl s_server -tls1_2; --min-tls 1.3 refuses it"

start_s_server smtls -cert "$PKI/server.pem" -key "$PKI/server.key" -rev -Verify 1 \
  -CAfile "$PKI/ca.pem" -verify_return_error
connect_ok smtls "with cert" "trec htiw" --ca "$PKI/ca.pem" --cert "$PKI/client.pem" \
  --key "$PKI/client.key" "localhost:$SPORT"
wait_for "$WORK/smtls.out $WORK/smtls.err" 'CN = client' 5 ||
  fail "s_server did not see the client certificate"
connect_fails smtls-nocert 'handshake failed: .*alert certificate required' --ca "$PKI/ca.pem" "localhost:$SPORT"
ok "memtls connect --cert/--key -> openssl s_server -Verify"

# --- gnutls-serv -------------------------------------------------------------
start_gnutls_serv g13 --x509certfile "$PKI/server.pem" --x509keyfile "$PKI/server.key" -a
connect_ok g13 "hello gnutls" "hello gnutls" --ca "$PKI/ca.pem" "localhost:$GPORT"
grep -q 'TLSv1.3' "$WORK/g13.stderr" || fail "gnutls: not TLS 1.3"
# 20000 lines (~110 KB) through a consumer that starts reading late: stdout
# blocks, the client stops reading the socket, nothing is lost.
seq 1 20000 >"$WORK/lines.txt"
timeout 60 "$MEMTLS" connect --ca "$PKI/ca.pem" "localhost:$GPORT" <"$WORK/lines.txt" 2>"$WORK/gbig.stderr" |
  python3 -c 'import sys, time; time.sleep(1); sys.stdout.buffer.write(sys.stdin.buffer.read())' \
    >"$WORK/gbig.log" || fail "gnutls bulk: $(cat "$WORK/gbig.stderr")"
cmp -s "$WORK/lines.txt" "$WORK/gbig.log" ||
  fail "gnutls bulk: output differs ($(wc -c <"$WORK/gbig.log") of $(wc -c <"$WORK/lines.txt") bytes)"
connect_fails gunknownca 'certificate verify failed: unable to get local issuer certificate' \
  --ca "$WORK/other/ca.pem" "localhost:$GPORT"
connect_fails gwronghost 'certificate verify failed: .*mismatch' \
  --ca "$PKI/ca.pem" --servername not-localhost "localhost:$GPORT"
ok "memtls connect -> gnutls-serv (TLS 1.3, 20000 lines with a slow stdout, refusals)"

start_gnutls_serv g12 --x509certfile "$PKI/server.pem" --x509keyfile "$PKI/server.key" \
  --priority 'NORMAL:-VERS-TLS1.3' -r --x509cafile "$PKI/ca.pem"
connect_ok g12 "gnutls twelve" "gnutls twelve" --ca "$PKI/ca.pem" --cert "$PKI/client.pem" \
  --key "$PKI/client.key" "localhost:$GPORT"
grep -q 'TLSv1.2' "$WORK/g12.stderr" || fail "gnutls: not TLS 1.2: $(cat "$WORK/g12.stderr")"
ok "memtls connect -> gnutls-serv TLS 1.2 with a client certificate"

pass
