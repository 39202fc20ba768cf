#!/usr/bin/env bash
# Repeated flags: every option that takes one value is an error when given
# twice, naming the option (no value is silently dropped: `--ca a --ca b`
# would keep b); options that collect values (--listen, --allow-san, --san,
# serve's --cert/--key pairs) take every occurrence, and serve refuses
# --cert/--key counts that do not pair up; switches (--echo, --insecure,
# -v, --rsa, --force) may be repeated.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

# repeated SUBCOMMAND FLAG VALUE1 VALUE2 [OTHER ARGS...]: exit 2 and one
# error line "--FLAG given twice ('VALUE1', then 'VALUE2')".
repeated() {
  local cmd="$1" flag="$2" v1="$3" v2="$4"
  shift 4
  local rc=0
  timeout 20 "$MEMTLS" "$cmd" "$flag" "$v1" "$flag" "$v2" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" \
    </dev/null || rc=$?
  [ "$rc" = 2 ] || fail "memtls $cmd $flag twice: exit $rc, expected 2; stderr: $(cat "$WORK/err.txt")"
  [ "$(grep -c '' "$WORK/err.txt")" = 1 ] ||
    fail "memtls $cmd $flag twice: expected one error line, got: $(cat "$WORK/err.txt")"
  grep -Fqx -- "memtls $cmd: $flag given twice ('$v1', then '$v2'); give it once" "$WORK/err.txt" ||
    fail "memtls $cmd $flag twice: error '$(cat "$WORK/err.txt")' does not name the flag and values"
}

make_pki "$WORK/pki"
make_pki "$WORK/other"
P="$WORK/pki"
O="$WORK/other"

# --- serve: every single-value option ----------------------------------------
repeated serve --ca "$P/ca.pem" "$O/ca.pem"
repeated serve --ticket-keys "$P/a.keys" "$O/b.keys"
repeated serve --ticket-rotate 60 120
repeated serve --ticket-lifetime 60 120
repeated serve --proxy-protocol v1 v2 --backend 127.0.0.1:1
repeated serve --backend 127.0.0.1:1 127.0.0.1:2
repeated serve --verify-client none optional
repeated serve --alpn h2 http/1.1
repeated serve --min-tls 1.2 1.3
repeated serve --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-RSA-AES128-GCM-SHA256
repeated serve --ciphersuites TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384
repeated serve --groups X25519 P-256
repeated serve --workers 1 2
repeated serve --max-conns 10 20
repeated serve --handshake-timeout 1000 2000
repeated serve --idle-timeout 1000 2000
repeated serve --grace 0 100
repeated serve --log-level info debug
# An abbreviation is the same option.
timeout 20 "$MEMTLS" serve --ca "$P/ca.pem" --verify-c none --verify optional \
  >/dev/null 2>"$WORK/err.txt" && fail "--verify-c and --verify accepted"
grep -q -- "--verify-client given twice" "$WORK/err.txt" ||
  fail "--verify-c not taken as --verify-client: $(cat "$WORK/err.txt")"
ok "serve: every single-value option refused when repeated, naming it"

# --cert/--key: pairs in order; counts that differ are refused with both.
timeout 20 "$MEMTLS" serve --cert "$P/server.pem" --key "$P/server.key" --cert "$O/server.pem" \
  >/dev/null 2>"$WORK/err.txt" && fail "2 --cert with 1 --key accepted"
grep -Fqx -- "memtls serve: 2 --cert but 1 --key: give them in pairs (the Nth --key is the Nth --cert's)" \
  "$WORK/err.txt" || fail "unpaired --cert: $(cat "$WORK/err.txt")"
start_serve pairs --cert "$P/server.pem" --key "$P/server.key" --cert "$O/server.pem" \
  --key "$O/server.key"
grep -c '^certificate .* SHA-256 fingerprint' "$WORK/pairs.out" | grep -qx 2 ||
  fail "two pairs: $(cat "$WORK/pairs.out")"
stop_serve "$SERVE_PID"
ok "serve: --cert/--key repeat in pairs (both fingerprints printed); unpaired counts refused"

# --- connect --------------------------------------------------------------------
repeated connect --ca "$P/ca.pem" "$O/ca.pem" 127.0.0.1:1
repeated connect --servername a.test b.test 127.0.0.1:1
repeated connect --cert "$P/client.pem" "$O/client.pem" --key "$P/client.key" 127.0.0.1:1
repeated connect --key "$P/client.key" "$O/client.key" 127.0.0.1:1
repeated connect --alpn h2 http/1.1 127.0.0.1:1
repeated connect --min-tls 1.2 1.3 127.0.0.1:1
repeated connect --max-tls 1.2 1.3 127.0.0.1:1
repeated connect --timeout 1000 2000 127.0.0.1:1
ok "connect: every single-value option refused when repeated"

# --- cert -------------------------------------------------------------------------
repeated cert --dir "$WORK/a" "$WORK/b"
repeated cert --cn a.test b.test --dir "$WORK/a"
repeated cert --client-cn a b --dir "$WORK/a"
repeated cert --days 1 2 --dir "$WORK/a"
[ ! -e "$WORK/a" ] && [ ! -e "$WORK/b" ] || fail "memtls cert wrote files despite a usage error"
ok "cert: every single-value option refused when repeated, nothing written"

# --- demo: its only option is --help ------------------------------------------------
"$MEMTLS" demo --help -h >"$WORK/demo.out" 2>&1 || fail "memtls demo --help -h: $(cat "$WORK/demo.out")"
grep -q '^usage: memtls demo' "$WORK/demo.out" || fail "memtls demo --help -h: $(cat "$WORK/demo.out")"
ok "demo: no option takes a value; --help may repeat"

# --- what may be repeated ----------------------------------------------------------
"$MEMTLS" cert --dir "$WORK/multi" --san a.test --san b.test,127.0.0.2 --rsa --rsa --force --force \
  >"$WORK/multi.out" 2>&1 || fail "memtls cert with repeated --san/--rsa/--force: $(cat "$WORK/multi.out")"
sans="$(openssl x509 -in "$WORK/multi/server.pem" -noout -ext subjectAltName)"
for n in a.test b.test 127.0.0.2; do
  grep -q "$n" <<<"$sans" || fail "--san $n missing from the certificate: $sans"
done
ok "cert: --san collects every occurrence; --rsa/--force repeatable"

start_serve two --listen 127.0.0.1:0 --listen 127.0.0.1:0 --echo --echo \
  --ca "$P/ca.pem" --cert "$P/server.pem" --key "$P/server.key" \
  --allow-san client --allow-san other
[ "$(grep -c '^listening on' "$WORK/two.out")" = 2 ] ||
  fail "two --listen did not give two listeners: $(cat "$WORK/two.out")"
port2="$(sed -n 's/^listening on .*:\([0-9][0-9]*\) (.*/\1/p' "$WORK/two.out" | sed -n 2p)"
for p in "$SERVE_PORT" "$port2"; do
  feed_until "$WORK/echo-$p.log" '^hello$' 10 -- hello |
    timeout 20 "$MEMTLS" connect -k --insecure -v -v --cert "$P/client.pem" --key "$P/client.key" \
      "127.0.0.1:$p" >"$WORK/echo-$p.log" 2>"$WORK/echo-$p.err"
  grep -qx hello "$WORK/echo-$p.log" ||
    fail "no echo on port $p with repeated switches: $(cat "$WORK/echo-$p.err")"
done
stop_serve "$SERVE_PID"
ok "serve: --listen and --allow-san collect every occurrence; --echo, -k/--insecure, -v repeatable"

pass
