#!/usr/bin/env bash
# --isolate: TLS workers are processes of their own.
#  - the boundary: with clients connected, the host process's whole memory
#    holds neither the private key nor any session secret (the workers'
#    memory does: the control);
#  - the sandbox: workers run with NoNewPrivs and a seccomp filter, as
#    children of the spawner (not of the host);
#  - a worker killed with SIGKILL mid-transfer: its clients see a close
#    within a bound, the other worker's clients finish byte-exact, the host
#    logs the death and each cut connection, the worker is started again;
#  - SIGHUP starts new workers with the reloaded certificate while the
#    live connection stays on its old worker; SIGTERM stops everything.
source "$(dirname "$0")/lib.sh" "$@"
need openssl
need python3

make_pki "$WORK/a"
make_pki "$WORK/b"
mkdir -p "$WORK/live"
cp "$WORK/a/server.pem" "$WORK/a/server.key" "$WORK/live/"

start_serve iso --isolate --workers 2 --cert "$WORK/live/server.pem" --key "$WORK/live/server.key"
wait_for "$WORK/iso.out" '^worker 1: pid [0-9]+' 10 || fail "no worker pid lines: $(cat "$WORK/iso.out")"
w0="$(sed -n 's/^worker 0: pid \([0-9]*\)$/\1/p' "$WORK/iso.out")"
w1="$(sed -n 's/^worker 1: pid \([0-9]*\)$/\1/p' "$WORK/iso.out")"
[ -n "$w0" ] && [ -n "$w1" ] || fail "worker pids: '$w0' '$w1'"

# The host never opened the key file.
for fd in /proc/"$SERVE_PID"/fd/*; do
  [ "$(readlink "$fd")" != "$WORK/live/server.key" ] || fail "the host holds the key file open"
done

# --- the sandbox --------------------------------------------------------------------
for pid in "$w0" "$w1"; do
  st="/proc/$pid/status"
  grep -Eq '^NoNewPrivs:[[:space:]]+1' "$st" || fail "worker $pid: NoNewPrivs is not set"
  grep -Eq '^Seccomp:[[:space:]]+2' "$st" || fail "worker $pid: no seccomp filter (Seccomp: $(sed -n 's/^Seccomp:\s*//p' "$st"))"
  ppid="$(sed -n 's/^PPid:\s*//p' "$st")"
  [ "$ppid" != "$SERVE_PID" ] || fail "worker $pid is a child of the host (expected: of the spawner)"
done
ok "sandbox: both workers have NoNewPrivs 1, Seccomp 2 (filter), and are children of the spawner"

# --- the boundary -------------------------------------------------------------------
# A sanitizer build reserves terabytes of shadow memory and keeps its heap
# in its own mappings: the scan is for the product's memory layout.
rc=0
if grep -Eq '__(asan|tsan)_init' <<<"$(nm "$MEMTLS" 2>/dev/null)"; then
  rc=77
  echo "skip: boundary scan in a sanitizer build" >"$WORK/boundary.out"
else
  python3 "$HERE/isolate.py" boundary "$SERVE_PORT" --ca "$WORK/a/ca.pem" --key "$WORK/live/server.key" \
    --host-pid "$SERVE_PID" --worker-pids "$w0,$w1" >"$WORK/boundary.out" 2>&1 || rc=$?
fi
cat "$WORK/boundary.out"
if [ "$rc" = 77 ]; then
  echo "skip: the boundary scan (sanitizer build, or not root)"
elif [ "$rc" != 0 ]; then
  fail "boundary: $(grep FAIL "$WORK/boundary.out")"
fi

# --- a worker killed mid-transfer ---------------------------------------------------
python3 "$HERE/isolate.py" kill "$SERVE_PORT" --ca "$WORK/a/ca.pem" --kill-pid "$w0" \
  --clients 8 --bytes $((2 << 20)) --bound 3 || fail "kill: see above"
wait_for "$WORK/iso.err" "worker 0 \(pid $w0\) killed by signal 9" 10 ||
  fail "no log line for the killed worker"
wait_for "$WORK/iso.err" "close=\"worker 0 \(pid $w0\) killed by signal 9" 10 ||
  fail "no record for a connection of the killed worker"
wait_for "$WORK/iso.err" 'worker 0: pid [0-9]+ serves' 10 || fail "worker 0 was not started again"
new0="$(sed -n 's/.*worker 0: pid \([0-9]*\) serves.*/\1/p' "$WORK/iso.err" | tail -n 1)"
[ "$new0" != "$w0" ] && kill -0 "$new0" || fail "worker 0's new process ($new0) is not running"
ok "kill: the host logged the death and the cut connections; worker 0 serves again as pid $new0"

# --- SIGHUP: new workers with the new certificate -----------------------------------
mkfifo "$WORK/live.fifo"
exec 4<>"$WORK/live.fifo"
"$MEMTLS" connect --ca "$WORK/a/ca.pem" "localhost:$SERVE_PORT" <"$WORK/live.fifo" \
  >"$WORK/live.out" 2>"$WORK/live.stderr" &
track $!
echo "before reload" >&4
wait_for "$WORK/live.out" '^before reload$' 10 || fail "live connection: no echo: $(cat "$WORK/live.stderr")"
fp_b="$(cert_fp "$WORK/b/server.pem")"
cp "$WORK/b/server.pem" "$WORK/b/server.key" "$WORK/live/"
kill -HUP "$SERVE_PID"
wait_for "$WORK/iso.err" 'configuration reloaded' 10 || fail "no reload log line"
deadline=$((SECONDS + 10))
until [ "$(served_fp "$SERVE_PORT")" = "$fp_b" ]; do
  [ "$SECONDS" -le "$deadline" ] || fail "new handshakes do not present certificate B after SIGHUP"
  sleep 0.1
done
echo "after reload" >&4
wait_for "$WORK/live.out" '^after reload$' 10 || fail "the live connection broke on reload"
ok "SIGHUP: new handshakes present B, the live connection keeps its worker"
exec 4>&-

stop_serve "$SERVE_PID"
for pid in "$w1" "$new0"; do
  ! kill -0 "$pid" 2>/dev/null || fail "worker $pid outlived the server"
done
ok "SIGTERM: the server and its workers are gone"
pass
