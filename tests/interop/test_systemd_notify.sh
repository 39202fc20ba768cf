#!/usr/bin/env bash
# Type=notify: a fake $NOTIFY_SOCKET (a datagram socket of our own, path
# and abstract name) receives READY=1 once memtls listens, RELOADING=1
# with MONOTONIC_USEC then READY=1 around SIGHUP, and STOPPING=1 on
# SIGTERM, in that order, each with a STATUS= line where it is due.
source "$(dirname "$0")/lib.sh" "$@"

make_pki "$WORK/pki"
PKI="$WORK/pki"

# receiver NAME FILE: record every datagram sent to NAME as one line of
# FILE ('|' for the newlines inside it). Sets RECV_PID.
receiver() {
  python3 -c '
import socket, sys
name, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
open(out + ".ready", "w").close()
with open(out, "a") as f:
    while True:
        data = s.recv(4096)
        f.write(data.decode().replace("\n", "|") + "\n")
        f.flush()
' "$1" "$2" &
  RECV_PID=$!
  track "$RECV_PID"
  local i
  for i in $(seq 1 100); do
    [ -f "$2.ready" ] && return 0
    sleep 0.05
  done
  fail "the notification receiver did not start"
}

run_case() { # NOTIFY_SOCKET value
  local sock="$1" log="$WORK/notify-$2.log"
  receiver "$sock" "$log"
  NOTIFY_SOCKET="$sock" start_serve "srv-$2" --cert "$PKI/server.pem" --key "$PKI/server.key"
  wait_for "$log" '^READY=1\|STATUS=0 connection\(s\) open' 10 ||
    fail "no READY=1 with STATUS: $(cat "$log")"
  # A connection shows in STATUS= after the reload.
  timeout 20 python3 "$HERE/metrics.py" traffic "$SERVE_PORT" --ca "$PKI/ca.pem" --n 1 --bytes 10 \
    >/dev/null 2>&1 || fail "echo through the server failed"
  local before now
  before="$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')"
  kill -HUP "$SERVE_PID"
  wait_for "$log" '^READY=1\|STATUS=0 connection\(s\) open, 1 accepted' 10 ||
    fail "no READY=1 after the reload: $(cat "$log")"
  now="$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')"
  stop_serve "$SERVE_PID"
  wait_for "$log" '^STOPPING=1' 10 || fail "no STOPPING=1: $(cat "$log")"
  kill "$RECV_PID" 2>/dev/null
  # The order, and MONOTONIC_USEC taken between our two clock readings.
  python3 - "$log" "$before" "$now" <<'PY' || fail "notifications out of order: $(cat "$log")"
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1])]
before, now = int(sys.argv[2]), int(sys.argv[3])
kinds = [l.split("|")[0].split("=")[0] for l in lines if not l.startswith("STATUS=")]
assert kinds == ["READY", "RELOADING", "READY", "STOPPING"], kinds
reloading = next(l for l in lines if l.startswith("RELOADING=1"))
fields = dict(f.split("=", 1) for f in reloading.split("|"))
assert before <= int(fields["MONOTONIC_USEC"]) <= now, (before, fields, now)
stopping = next(l for l in lines if l.startswith("STOPPING=1"))
assert "STATUS=stopping" in stopping, stopping
print(" -> ".join(lines))
PY
  ok "$2: $(python3 -c 'import sys; print(" -> ".join(l.strip() for l in open(sys.argv[1])))' "$log")"
}

run_case "$WORK/notify.sock" path
run_case "@memtls-test-notify-$$" abstract

# A NOTIFY_SOCKET that cannot work: a warning, and the server runs.
NOTIFY_SOCKET="relative" start_serve bad --listen 127.0.0.1:0
grep -q "NOTIFY_SOCKET 'relative': not a socket path" "$WORK/bad.err" ||
  fail "no warning for a bad NOTIFY_SOCKET: $(cat "$WORK/bad.err")"
stop_serve "$SERVE_PID"
ok "a bad NOTIFY_SOCKET is warned about"
pass
