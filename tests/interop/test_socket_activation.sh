#!/usr/bin/env bash
# Socket activation: listening sockets passed as descriptors 3 and 4 with
# LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES (as systemd passes them) are served
# instead of the default listener (TLS, and plaintext for the one named
# "plaintext"), reached with openssl s_client; --listen together with
# them is an error; variables meant for another process are ignored; and,
# where systemd-socket-activate is installed, memtls started by it on the
# first connection serves that connection.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"

# activate OUT ERR NAMES ARGS...: bind two listening sockets on 127.0.0.1
# (ports into $WORK/ports), put them on descriptors 3 and 4, and exec
# memtls serve ARGS with LISTEN_PID set to its own pid. Sets ACT_PID.
activate() {
  local out="$1" err="$2" names="$3"
  shift 3
  rm -f "$WORK/ports"
  python3 -c '
import fcntl, os, socket, sys
ports = []
high = []
for _ in (3, 4):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    ports.append(str(s.getsockname()[1]))
    high.append(fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100))
    s.close()
for fd, h in zip((3, 4), high):
    os.dup2(h, fd)  # inheritable
    os.close(h)
open(sys.argv[1] + ".tmp", "w").write(" ".join(ports) + "\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
env = dict(os.environ, LISTEN_FDS="2", LISTEN_FDNAMES=sys.argv[2])
# bash exports its own pid, then becomes memtls (exec keeps the pid).
os.execvpe("bash", ["bash", "-c", "export LISTEN_PID=$$; exec \"$@\"", "bash"] + sys.argv[3:], env)
' "$WORK/ports" "$names" "$MEMTLS" serve "$@" >"$out" 2>"$err" &
  ACT_PID=$!
  track "$ACT_PID"
  wait_for "$WORK/ports" '^[0-9]+ [0-9]+$' 10 || fail "the sockets were not made"
  read -r TLS_PORT PLAIN_PORT <"$WORK/ports"
}

activate "$WORK/act.out" "$WORK/act.err" "tls:plaintext" --cert "$PKI/server.pem" \
  --key "$PKI/server.key"
wait_for "$WORK/act.out" "^listening on 127\\.0\\.0\\.1:$PLAIN_PORT \\(plaintext\\)" 10 ||
  fail "not listening on the passed sockets: $(cat "$WORK/act.out" "$WORK/act.err")"
grep -q "^listening on 127\\.0\\.0\\.1:$TLS_PORT (tls)" "$WORK/act.out" ||
  fail "the TLS socket is not listed: $(cat "$WORK/act.out")"
grep -q "8443" "$WORK/act.out" && fail "the default listener was opened as well: $(cat "$WORK/act.out")"
ok "$(grep '^listening' "$WORK/act.out" | tr '\n' ' ')"

feed_until "$WORK/fd3.log" '^hello fd 3$' 10 -- "hello fd 3" |
  timeout 15 openssl s_client -connect "127.0.0.1:$TLS_PORT" -CAfile "$PKI/ca.pem" \
    -verify_return_error -quiet -no_ign_eof >"$WORK/fd3.log" 2>/dev/null
reply="$(head -n 1 "$WORK/fd3.log")"
[ "$reply" = "hello fd 3" ] || fail "no echo over TLS on the passed socket: '$reply'"
ok "TLS echo on descriptor 3 (port $TLS_PORT)"
reply="$(printf 'hello fd 4\n' | timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).decode(), end="")
' "$PLAIN_PORT")"
[ "$reply" = "hello fd 4" ] || fail "no plaintext echo on the passed socket: '$reply'"
ok "plaintext echo on descriptor 4 (port $PLAIN_PORT)"
stop_serve "$ACT_PID"

# --listen as well: an error naming both.
activate "$WORK/both.out" "$WORK/both.err" "a:b" --listen 127.0.0.1:0
wait_exit "$ACT_PID" 10 || fail "memtls with --listen and LISTEN_FDS did not exit"
[ "$EXIT_CODE" = 1 ] || fail "--listen with LISTEN_FDS exited $EXIT_CODE, not 1"
grep -q -- "--listen and socket activation (LISTEN_FDS=2) exclude each other" "$WORK/both.err" ||
  fail "no clear error: $(cat "$WORK/both.err")"
ok "$(cat "$WORK/both.err")"

# Variables for another process (LISTEN_PID not ours): the default listener.
LISTEN_PID=1 LISTEN_FDS=2 start_serve other --listen 127.0.0.1:0
grep -q '^listening on 127\.0\.0\.1:[0-9]* (tls)$' "$WORK/other.out" ||
  fail "LISTEN_PID of another process changed the listeners: $(cat "$WORK/other.out")"
stop_serve "$SERVE_PID"
ok "LISTEN_PID=1 is not ours: --listen used"

# With systemd's own tool, where installed: it binds, waits for the first
# connection, then starts memtls with the socket.
if command -v systemd-socket-activate >/dev/null 2>&1; then
  port="$(free_port)"
  systemd-socket-activate -l "127.0.0.1:$port" --fdname=tls "$MEMTLS" serve \
    --cert "$PKI/server.pem" --key "$PKI/server.key" >"$WORK/sd.out" 2>"$WORK/sd.err" &
  SD_PID=$!
  track "$SD_PID"
  wait_for "$WORK/sd.err" "Listening on 127.0.0.1:$port" 10 ||
    fail "systemd-socket-activate did not listen: $(cat "$WORK/sd.err")"
  feed_until "$WORK/sd.log" '^hello activated$' 15 -- "hello activated" |
    timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$PKI/ca.pem" \
      -verify_return_error -quiet -no_ign_eof >"$WORK/sd.log" 2>/dev/null
  reply="$(head -n 1 "$WORK/sd.log")"
  [ "$reply" = "hello activated" ] || fail "no echo through systemd-socket-activate: '$reply' $(cat "$WORK/sd.err")"
  grep -q "^listening on 127\\.0\\.0\\.1:$port (tls)" "$WORK/sd.out" ||
    fail "memtls did not take the socket: $(cat "$WORK/sd.out")"
  ok "systemd-socket-activate -l 127.0.0.1:$port: the first connection was served"
  kill -TERM "$SD_PID"
else
  echo "skip: systemd-socket-activate not installed"
fi
pass
