#!/usr/bin/env bash
# Session resumption with stateless tickets, against real clients:
# openssl s_client -sess_out/-sess_in (TLS 1.3 and 1.2), gnutls-cli
# --resume, Python ssl and curl resume a second connection, logged
# resumed=yes; two `memtls serve` sharing one --ticket-keys file resume
# each other's tickets (the fleet), a server with other keys falls back
# to a full handshake; generated keys rotate (--ticket-rotate): an old
# ticket still resumes inside its lifetime and not after; damaged tickets
# fall back without harm; --no-tickets resumes nothing; a malformed key
# file is a startup error naming the line, and on SIGHUP it keeps the
# keys in use; rolling a new key in through a decrypt-only line works as
# the man page says.
source "$(dirname "$0")/lib.sh" "$@"
need openssl gnutls-cli curl

make_pki "$WORK/pki"
PKI="$WORK/pki"

# sess NAME PORT [s_client args]: one verified connection with an echo
# round trip (so TLS 1.3 tickets arrive); the session is saved in
# $WORK/NAME.sess unless -sess_in is given; the output in $WORK/NAME.log.
sess() {
  local name="$1" port="$2"
  shift 2
  local out=(-sess_out "$WORK/$name.sess")
  local a
  for a in "$@"; do
    [ "$a" = -sess_in ] && out=()
  done
  # A name used again: the old log must not answer feed_until's wait
  # before s_client has truncated it.
  rm -f "$WORK/$name.log"
  feed_until "$WORK/$name.log" '^ping$' 15 -- ping |
    timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$PKI/ca.pem" -verify_return_error -no_ign_eof "${out[@]}" "$@" \
      >"$WORK/$name.log" 2>&1
  grep -qx ping "$WORK/$name.log" || fail "s_client $name: no echo: $(tail -5 "$WORK/$name.log")"
}

# reused NAME: 0 when s_client NAME resumed.
reused() {
  grep -q '^Reused, TLSv1' "$WORK/$1.log"
}

# A key file line: base64 of 80 random bytes.
new_key() {
  openssl rand 80 | base64 -w0
  echo
}

# The key name (first 16 bytes, hex) of a key file line.
key_name() {
  base64 -d <<<"$1" | head -c 16 | od -An -tx1 | tr -d ' \n'
}

ticket_name() {
  python3 "$HERE/fleet.py" ticket-name "$WORK/$1.sess"
}

# --- one server: openssl (1.3, 1.2), gnutls, Python, curl -------------------------
start_serve one --cert "$PKI/server.pem" --key "$PKI/server.key"
for v in 1_3 1_2; do
  sess "full$v" "$SERVE_PORT" "-tls$v"
  ! reused "full$v" || fail "TLS $v: the first connection claims to be resumed"
  sess "again$v" "$SERVE_PORT" "-tls$v" -sess_in "$WORK/full$v.sess"
  reused "again$v" || fail "TLS $v: s_client did not resume: $(grep -E '^(New|Reused)' "$WORK/again$v.log")"
done
wait_for "$WORK/one.err" 'version=TLSv1.3 .* resumed=yes cert=- ' ||
  fail "no resumed=yes (TLS 1.3) log line"
wait_for "$WORK/one.err" 'version=TLSv1.2 .* resumed=yes cert=- ' ||
  fail "no resumed=yes (TLS 1.2) log line"
ok "openssl s_client -sess_out/-sess_in resumes (TLS 1.3 and 1.2), logged resumed=yes, no certificate sent"

for prio in NORMAL NORMAL:-VERS-TLS1.3; do
  timeout 30 gnutls-cli --x509cafile "$PKI/ca.pem" -p "$SERVE_PORT" localhost --resume \
    --waitresumption --priority "$prio" </dev/null >"$WORK/gnutls.log" 2>&1
  grep -q 'This is a resumed session' "$WORK/gnutls.log" ||
    fail "gnutls-cli --resume ($prio): $(grep -iE 'resum|error' "$WORK/gnutls.log")"
done
ok "gnutls-cli --resume: resumed (TLS 1.3 and 1.2)"

for v in "" --tls12; do
  python3 "$HERE/fleet.py" resume "$SERVE_PORT" --ca "$PKI/ca.pem" $v >"$WORK/py.log" 2>&1 ||
    fail "python resume: $(cat "$WORK/py.log")"
  grep -q '^second reused=True' "$WORK/py.log" || fail "python ssl did not resume: $(cat "$WORK/py.log")"
done
ok "Python ssl: the second connection resumes (TLS 1.3 and 1.2)"

stop_serve "$SERVE_PID"

# curl, through the proxy to an HTTP backend: two requests, two
# connections (Connection: close), the second resumes.
start_py http http-backend
start_serve web --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "127.0.0.1:$PY_PORT"
timeout 30 curl -sS --cacert "$PKI/ca.pem" -H 'Connection: close' "https://localhost:$SERVE_PORT/a" \
  "https://localhost:$SERVE_PORT/b" -o /dev/null -o /dev/null >"$WORK/curl.log" 2>&1 ||
  fail "curl: $(cat "$WORK/curl.log")"
wait_for "$WORK/web.err" 'conn=2 .* resumed=yes ' 10 ||
  fail "curl's second connection did not resume: $(grep -o 'conn=[0-9]* .*resumed=[a-z]*' "$WORK/web.err")"
stop_serve "$SERVE_PID"
ok "curl: the second request's connection resumes"

# --- the fleet: one key file, two processes -------------------------------------------
# A and B read copies of one file (a.keys, b.keys), so the roll-out below
# can move them one after the other, as a fleet is changed.
{
  new_key
  new_key
} >"$WORK/a.keys"
cp "$WORK/a.keys" "$WORK/b.keys"
new_key >"$WORK/other.keys"
start_serve fa --cert "$PKI/server.pem" --key "$PKI/server.key" --ticket-keys "$WORK/a.keys"
A_PORT="$SERVE_PORT"
A_PID="$SERVE_PID"
start_serve fb --cert "$PKI/server.pem" --key "$PKI/server.key" --ticket-keys "$WORK/b.keys"
B_PORT="$SERVE_PORT"
B_PID="$SERVE_PID"
start_serve fc --cert "$PKI/server.pem" --key "$PKI/server.key" --ticket-keys "$WORK/other.keys"
C_PID="$SERVE_PID"
C_PORT="$SERVE_PORT"
for v in 1_3 1_2; do
  sess "fa$v" "$A_PORT" "-tls$v"
  [ "$(ticket_name "fa$v")" = "$(key_name "$(head -1 "$WORK/a.keys")")" ] ||
    fail "TLS $v: the ticket is not made with the file's first key"
  sess "fab$v" "$B_PORT" "-tls$v" -sess_in "$WORK/fa$v.sess"
  reused "fab$v" || fail "TLS $v: B did not resume A's ticket"
  sess "fb$v" "$B_PORT" "-tls$v"
  sess "fba$v" "$A_PORT" "-tls$v" -sess_in "$WORK/fb$v.sess"
  reused "fba$v" || fail "TLS $v: A did not resume B's ticket"
  sess "fac$v" "$C_PORT" "-tls$v" -sess_in "$WORK/fa$v.sess"
  ! reused "fac$v" || fail "TLS $v: C (other keys) resumed A's ticket"
done
wait_for "$WORK/fb.err" 'resumed=yes' || fail "B logged no resumption"
wait_for "$WORK/fc.err" 'resumed=no' || fail "C logged no full handshake"
stop_serve "$C_PID"
ok "fleet: two processes with one key file resume each other's tickets; other keys: full handshake"

# --- damaged tickets ----------------------------------------------------------------------
for at in 0 20 60 150; do
  python3 "$HERE/fleet.py" corrupt-session "$WORK/fa1_3.sess" "$WORK/bad$at.sess" --at "$at" ||
    fail "cannot damage the ticket at $at"
  sess "bad$at" "$A_PORT" -sess_in "$WORK/bad$at.sess"
  ! reused "bad$at" || fail "a ticket damaged at byte $at resumed"
done
sess good "$A_PORT" -sess_in "$WORK/fa1_3.sess"
reused good || fail "the undamaged ticket no longer resumes"
ok "tickets damaged in the key name, IV, state or MAC: full handshakes, the server carries on"

# --- rolling a new key through the fleet (the man page's procedure) -------------------------
k1="$(head -1 "$WORK/a.keys")"
k2="$(new_key)"
# Step 1, everywhere: the new key as a decrypt-only line.
for x in a b; do
  printf '%s\n# new key, decrypt only for now\n%s\n' "$k1" "$k2" >"$WORK/$x.keys"
done
kill -HUP "$A_PID" "$B_PID"
wait_for "$WORK/fa.err" 'SIGHUP: reloaded --ticket-keys' 10 || fail "A: no reload line"
wait_for "$WORK/fb.err" 'SIGHUP: reloaded --ticket-keys' 10 || fail "B: no reload line"
sess step1 "$A_PORT"
[ "$(ticket_name step1)" = "$(key_name "$k1")" ] || fail "step 1: tickets no longer made with the old key"
# Step 2, on A only (B is still at step 1): the new key first.
printf '%s\n%s\n' "$k2" "$k1" >"$WORK/a.keys"
kill -HUP "$A_PID"
wait_for "$WORK/fa.err" 'SIGHUP: reloaded --ticket-keys.*' 10 || fail "A: no second reload line"
for i in $(seq 1 50); do
  sess step2 "$A_PORT"
  [ "$(ticket_name step2)" = "$(key_name "$k2")" ] && break
  [ "$i" -lt 50 ] || fail "step 2: A does not make tickets with the new key"
done
sess roll_ab "$B_PORT" -sess_in "$WORK/step2.sess"
reused roll_ab || fail "a new-key ticket from A did not resume on B (still at step 1)"
sess roll_ba "$A_PORT" -sess_in "$WORK/step1.sess"
reused roll_ba || fail "an old-key ticket did not resume on A (at step 2)"
ok "key roll: decrypt-only line first, then first line; no ticket fails on either side meanwhile"

# A bad file on SIGHUP keeps the keys in use.
printf 'notbase64!\n' >"$WORK/b.keys"
kill -HUP "$B_PID"
wait_for "$WORK/fb.err" \
  "SIGHUP: --ticket-keys $WORK/b.keys: line 1: '!' at column 10 is not base64; keeping the previous ticket keys" 10 ||
  fail "B: no 'keeping the previous ticket keys' line"
sess kept "$B_PORT" -sess_in "$WORK/step2.sess"
reused kept || fail "B lost its keys on a bad reload"
stop_serve "$A_PID"
stop_serve "$B_PID"
ok "a malformed key file on SIGHUP is logged with its line; the keys in use stay"

# A malformed key file at start is an error naming the line.
printf '%s\n%s\n' "$(new_key)" "$(openssl rand 48 | base64 -w0)" >"$WORK/short.keys"
rc=0
timeout 20 "$MEMTLS" serve --listen 127.0.0.1:0 --cert "$PKI/server.pem" --key "$PKI/server.key" \
  --ticket-keys "$WORK/short.keys" >/dev/null 2>"$WORK/short.err" || rc=$?
[ "$rc" = 1 ] || fail "a malformed key file: exit $rc, expected 1"
grep -q -- "--ticket-keys $WORK/short.keys: line 2: decodes to 48 bytes; a key is 80 bytes" \
  "$WORK/short.err" || fail "startup error: $(cat "$WORK/short.err")"
ok "a malformed key file at start: exit 1, the line and the problem named"

# --- generated keys rotate; an old ticket lives out its lifetime ------------------------------
LIFETIME=5
start_serve rot --cert "$PKI/server.pem" --key "$PKI/server.key" --ticket-rotate 1 \
  --ticket-lifetime "$LIFETIME"
ROT_PORT="$SERVE_PORT"
sess old "$ROT_PORT"
issued=$(date +%s.%N)
first="$(ticket_name old)"
rotated=0
for i in $(seq 1 100); do
  sess "later" "$ROT_PORT"
  if [ "$(ticket_name later)" != "$first" ]; then
    rotated=1
    break
  fi
  sleep 0.1 # waits for the clock to pass the rotation, nothing else
done
[ "$rotated" = 1 ] || fail "no new ticket key after 100 handshakes over the rotation period"
sess inside "$ROT_PORT" -sess_in "$WORK/old.sess"
reused inside || fail "an old-key ticket inside its lifetime did not resume after the rotation"
fell=0
for i in $(seq 1 200); do
  sess after "$ROT_PORT" -sess_in "$WORK/old.sess"
  if ! reused after; then
    fell=1
    break
  fi
  sleep 0.1
done
[ "$fell" = 1 ] || fail "the old ticket still resumes long after its lifetime"
age=$(python3 -c "import time; print(f'{time.time() - $issued:.1f}')")
python3 -c "import sys; sys.exit(0 if $age >= $LIFETIME - 1 else 1)" ||
  fail "the old ticket stopped resuming after $age s, before its ${LIFETIME} s lifetime"
stop_serve "$SERVE_PID"
ok "--ticket-rotate 1: a new key, the old ticket resumes after the rotation and falls back after ${age} s (lifetime ${LIFETIME} s)"

# --- --no-tickets -------------------------------------------------------------------------------
start_serve none --cert "$PKI/server.pem" --key "$PKI/server.key" --no-tickets
sess nt "$SERVE_PORT" -tls1_2
# s_client keeps no session file for a session that cannot be resumed.
if [ -s "$WORK/nt.sess" ]; then
  sess nt2 "$SERVE_PORT" -tls1_2 -sess_in "$WORK/nt.sess"
  ! reused nt2 || fail "--no-tickets: a TLS 1.2 session resumed"
fi
sess nt3 "$SERVE_PORT" -sess_in "$WORK/fa1_3.sess"
! reused nt3 || fail "--no-tickets: a ticket from another server resumed"
grep -q 'TLS session ticket:' "$WORK/nt.log" && fail "--no-tickets: a ticket was issued"
stop_serve "$SERVE_PID"
ok "--no-tickets: no ticket issued, nothing resumes"

pass
