#!/usr/bin/env bash
# The command line: --help and --version, `memtls demo`, `memtls cert`
# (files and modes), and bad input: each a one-line error naming the
# problem and a non-zero exit (unknown flag, unreadable certificate,
# mismatched key, address in use, bad address, bad values).
source "$(dirname "$0")/lib.sh" "$@"
need openssl

# expect_error STATUS PATTERN -- ARGS...: memtls ARGS must exit with STATUS
# and print exactly one line on stderr matching PATTERN.
expect_error() {
  local want="$1" pattern="$2"
  shift 3
  local rc=0
  timeout 20 "$MEMTLS" "$@" >"$WORK/err.out" 2>"$WORK/err.txt" </dev/null || rc=$?
  [ "$rc" = "$want" ] || fail "memtls $*: exit $rc, expected $want; stderr: $(cat "$WORK/err.txt")"
  local lines
  lines="$(grep -c '' "$WORK/err.txt")"
  [ "$lines" = 1 ] || fail "memtls $*: expected one error line, got $lines: $(cat "$WORK/err.txt")"
  grep -Eq -- "$pattern" "$WORK/err.txt" ||
    fail "memtls $*: error '$(cat "$WORK/err.txt")' does not match /$pattern/"
  ok "memtls $* -> exit $rc: $(cat "$WORK/err.txt")"
}

# --- help, version, demo --------------------------------------------------
grep -q 'serve' <<<"$("$MEMTLS" --help)" || fail "memtls --help does not list serve"
grep -q '^memtls ' <<<"$("$MEMTLS" --version)" || fail "memtls --version"
for cmd in serve connect cert demo; do
  "$MEMTLS" "$cmd" --help >"$WORK/help.txt" 2>&1 || fail "memtls $cmd --help: non-zero exit"
  grep -q "usage: memtls $cmd" "$WORK/help.txt" || fail "memtls $cmd --help: no usage line"
done
"$MEMTLS" serve --help >"$WORK/serve-help.txt" || fail "memtls serve --help: non-zero exit"
for opt in --listen ,proxy --echo --backend --proxy-protocol --cert --key --ca --verify-client \
  --allow-san --alpn --min-tls --ciphers --ciphersuites --groups --ticket-keys --ticket-rotate \
  --ticket-lifetime --no-tickets --workers --max-conns --handshake-timeout --idle-timeout \
  --log-level; do
  grep -q -- "$opt" "$WORK/serve-help.txt" || fail "memtls serve --help does not mention $opt"
done
ok "--help for every subcommand, --version"

"$MEMTLS" demo >"$WORK/demo.out" 2>&1 || fail "memtls demo failed: $(cat "$WORK/demo.out")"
grep -q 'TLSv1.3' "$WORK/demo.out" && grep -q '^ok$' "$WORK/demo.out" ||
  fail "memtls demo output: $(cat "$WORK/demo.out")"
ok "memtls demo"

# --- cert -------------------------------------------------------------------
"$MEMTLS" cert --dir "$WORK/pki" --san localhost --san 127.0.0.1 --san ::1 >"$WORK/cert.out" ||
  fail "memtls cert"
for f in ca.pem ca.key server.pem server.key client.pem client.key; do
  [ -s "$WORK/pki/$f" ] || fail "memtls cert did not write $f"
  grep -q "$f" "$WORK/cert.out" || fail "memtls cert did not report $f"
done
for f in ca.key server.key client.key; do
  mode="$(stat -c %a "$WORK/pki/$f")"
  [ "$mode" = 600 ] || fail "$f has mode $mode, expected 600"
done
openssl verify -CAfile "$WORK/pki/ca.pem" "$WORK/pki/server.pem" "$WORK/pki/client.pem" \
  >/dev/null || fail "the certificates do not verify against ca.pem"
grep -q 'IP Address:0:0:0:0:0:0:0:1' <<<"$(openssl x509 -in "$WORK/pki/server.pem" -noout -ext subjectAltName)" ||
  fail "server.pem lacks the ::1 SAN"
grep -q 'memtls serve --cert' "$WORK/cert.out" && grep -q 'memtls connect --ca' "$WORK/cert.out" ||
  fail "memtls cert does not print the serve/connect commands"
ok "memtls cert: files, modes 0600, chain verifies, commands printed"
expect_error 1 'already exists' -- cert --dir "$WORK/pki"
"$MEMTLS" cert --dir "$WORK/pki" --force --rsa >/dev/null || fail "memtls cert --force --rsa"
grep -q 'rsaEncryption' <<<"$(openssl x509 -in "$WORK/pki/server.pem" -noout -text)" ||
  fail "--rsa did not make an RSA key"
ok "memtls cert --force --rsa"

# --- bad input ----------------------------------------------------------------
echo "not a certificate" >"$WORK/garbage.pem"
make_pki "$WORK/other"
port="$(free_port)"

expect_error 2 "unknown option '--bogus'" -- serve --bogus
expect_error 2 "unknown option '--nope'" -- connect --nope 127.0.0.1:1
expect_error 2 "unknown option '--what'" -- cert --what
expect_error 2 "unknown command 'frobnicate'" -- frobnicate
expect_error 2 "option '--cert' needs an argument" -- serve --cert
expect_error 1 "^memtls serve: --cert $WORK/missing.pem: cannot open: No such file or directory$" \
  -- serve --listen "127.0.0.1:$port" --cert "$WORK/missing.pem" --key "$WORK/pki/server.key"
expect_error 1 "^memtls serve: --key $WORK/missing.key: cannot open" \
  -- serve --listen "127.0.0.1:$port" --cert "$WORK/pki/server.pem" --key "$WORK/missing.key"
expect_error 1 "no PEM certificate found" \
  -- serve --listen "127.0.0.1:$port" --cert "$WORK/garbage.pem" --key "$WORK/pki/server.key"
expect_error 1 "does not match" \
  -- serve --listen "127.0.0.1:$port" --cert "$WORK/pki/server.pem" --key "$WORK/other/server.key"
expect_error 1 "^memtls serve: --ca $WORK/missing.pem: cannot open" \
  -- serve --listen "127.0.0.1:$port" --ca "$WORK/missing.pem"
expect_error 2 "--cert given without --key" -- serve --cert "$WORK/pki/server.pem"
expect_error 2 "invalid address '999.1.2.3'" -- serve --listen 999.1.2.3:8443
expect_error 2 "invalid address 'example.com'" -- serve --listen example.com:8443
expect_error 2 "invalid port '99999'" -- serve --listen 127.0.0.1:99999
expect_error 2 "expected \[IPv6\]:PORT" -- serve --listen '[::1'
expect_error 2 "put an IPv6 address in brackets" -- serve --listen ::1:8443
expect_error 2 "--backend 'no where:80': invalid host name" -- serve --backend 'no where:80'
expect_error 2 "--verify-client 'maybe'" -- serve --verify-client maybe
expect_error 2 "--verify-client required needs --ca" -- serve --verify-client required
expect_error 2 "--allow-san needs client certificates" -- serve --allow-san client
expect_error 2 "--min-tls '1.1': expected 1.2 or 1.3" -- serve --min-tls 1.1
expect_error 2 "--workers '0': expected a number from 1 to 64" -- serve --workers 0
expect_error 2 "--log-level 'loud'" -- serve --log-level loud
expect_error 1 "--ciphers: .*selects no cipher|--ciphers: .*rejected" \
  -- serve --listen "127.0.0.1:$port" --ciphers NOPE-NOTHING
expect_error 1 "--ciphers: .*" -- serve --listen "127.0.0.1:$port" --ciphers AES128-SHA
expect_error 2 "HOST:PORT is required" -- connect
expect_error 2 "invalid port" -- connect localhost:notaport
expect_error 1 "^memtls connect: 127.0.0.1:$port: connect: Connection refused$" \
  -- connect --ca "$WORK/pki/ca.pem" "127.0.0.1:$port"
expect_error 1 "cannot resolve" -- connect --ca "$WORK/pki/ca.pem" no-such-host.invalid:443
expect_error 1 "^memtls connect: --ca $WORK/missing.pem: cannot open" \
  -- connect --ca "$WORK/missing.pem" "127.0.0.1:$port"

# Address in use: a second server on the first one's port.
start_serve used --listen "127.0.0.1:$port"
expect_error 1 "127.0.0.1:$port: address already in use" -- serve --listen "127.0.0.1:$port"
# ... and the first one is still serving.
feed_until "$WORK/still.log" '^still here$' 10 -- "still here" |
  timeout 20 "$MEMTLS" connect --insecure "127.0.0.1:$port" >"$WORK/still.log" 2>/dev/null
grep -qx 'still here' "$WORK/still.log" || fail "the first server stopped serving"
stop_serve "$SERVE_PID"
ok "address in use reported, first server unaffected"

pass
