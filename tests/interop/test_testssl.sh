#!/usr/bin/env bash
# An outside scanner's view of `memtls serve` on its defaults: testssl.sh
# (Debian's testssl) probes protocols, cipher categories, forward secrecy,
# server preferences and the known vulnerabilities with a few hundred odd
# handshakes. Only TLS 1.2 and 1.3 with AEAD suites may be offered, no
# vulnerability may be reported, and the server keeps serving afterwards.
source "$(dirname "$0")/lib.sh" "$@"
need testssl

start_serve srv
# testssl's exit status counts its findings (a self-signed certificate is
# one); the verdicts are read from its report below.
timeout 400 testssl --quiet --color 0 --warnings off --ip one -p -s -f -U \
  "127.0.0.1:$SERVE_PORT" >"$WORK/testssl.txt" 2>&1
grep -q '^ Done ' "$WORK/testssl.txt" || fail "testssl did not finish: $(tail -20 "$WORK/testssl.txt")"

expect_line() {
  grep -Eq "$1" "$WORK/testssl.txt" || fail "testssl: expected /$1/: $(grep -E "$2" "$WORK/testssl.txt")"
}
expect_line '^ SSLv2 +not offered' 'SSLv2'
expect_line '^ SSLv3 +not offered' 'SSLv3'
expect_line '^ TLS 1 +not offered' 'TLS 1 '
expect_line '^ TLS 1\.1 +not offered' 'TLS 1.1'
expect_line '^ TLS 1\.2 +offered' 'TLS 1.2'
expect_line '^ TLS 1\.3 +offered' 'TLS 1.3'
expect_line 'NULL ciphers.*not offered' 'NULL'
expect_line 'Obsolete CBC ciphers.*not offered' 'CBC'
expect_line 'Triple DES Ciphers.*not offered' '3DES'
expect_line 'Strong encryption \(AEAD ciphers\) +offered' 'AEAD'
expect_line '(P)?FS is offered' 'FS'
expect_line 'Secure Client-Initiated Renegotiation +not vulnerable' 'Renegotiation'
if grep -E 'VULNERABLE|potentially VULNERABLE' "$WORK/testssl.txt" >"$WORK/vuln.txt"; then
  fail "testssl reports: $(cat "$WORK/vuln.txt")"
fi
ok "testssl: TLS 1.2/1.3 only, AEAD only, forward secrecy, no vulnerability reported"

# Still serving, and every probe ended with a log line (no connection left).
feed_until "$WORK/after.txt" '^after the scan$' 10 -- 'after the scan' |
  timeout 10 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -quiet -no_ign_eof \
    >"$WORK/after.txt" 2>/dev/null
grep -qx 'after the scan' "$WORK/after.txt" || fail "the server stopped echoing after the scan"
ok "still echoing after the scan"
stop_serve "$SERVE_PID"
grep -q 'stopped: connections open=0 ' "$WORK/srv.err" || fail "connections left open after the scan"
pass
