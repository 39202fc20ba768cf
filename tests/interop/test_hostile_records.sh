#!/usr/bin/env bash
# Record storms from one client (tools/tls_attack): 1-byte TLS records at
# full speed, and TLS 1.3 KeyUpdate(update_requested) records back to back
# (reading the replies or not). The server's CPU per record (or per storm
# connection) and its memory growth are bounded; past the KeyUpdate limit
# (--max-key-updates, default 32, plus one per MiB received) the server ends
# the connection with a log line naming KeyUpdate; and normal clients are
# served all along (one worker: the storm shares it with them).
source "$(dirname "$0")/lib.sh" "$@"
source "$HERE/hostile.sh"

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 1 --grace 1000 \
  --idle-timeout 60000
storm() {
  local name="$1"
  shift
  hostile "$name" storm "$SERVE_PORT" --ca "$PKI/ca.pem" --pid "$SERVE_PID" --tool "$TLS_ATTACK" \
    --log "$WORK/srv.err" "$@"
}
# 1-byte records: the echo comes back (reading) or backs up (not reading,
# 4 KiB receive buffer, so the server's output is refused early). Bound:
# 20 us of server CPU per record (measured 2-3 us: a decrypt and an echo
# record each; the slack covers a loaded machine).
storm tiny-read tiny --read --seconds 1 --max-us-per-record 20
storm tiny-noread tiny --rcvbuf 4096 --seconds 1 --max-us-per-record 20
# KeyUpdate storms, a new connection whenever the server ends one: pure
# KeyUpdate records, not reading; and, reading the replies, each KeyUpdate
# followed by a 1-byte record. Each
# connection may cost a handshake and the KeyUpdates up to the limit
# (about 2 ms of CPU): bound 50 ms per connection. Memory: a storm must not
# accumulate replies, so RSS may grow only by allocator churn (4 MiB).
KU=(--reconnect --max-ms-per-conn 50 --max-growth-kib 4096 --expect-cut)
storm ku-noread keyupdate --rcvbuf 4096 --seconds 2.5 "${KU[@]}"
storm ku-read keyupdate --read --with-data --seconds 1.5 "${KU[@]}"
kill -0 "$SERVE_PID" 2>/dev/null || fail "the server died"
stop_serve "$SERVE_PID"
hostile_pass
