#!/usr/bin/env bash
# Idle CPU and per-connection memory of `memtls serve` (echo, ephemeral
# certificate, default options):
#   1. CPU time used by an idle server over 10 s (from /proc/PID/stat);
#   2. the same with N idle TLS 1.3 connections open;
#   3. server RSS growth per open connection (after one echo each).
# Usage: bench/idle_and_memory.sh path/to/memtls [connections]   (default 500)
set -euo pipefail
MEMTLS="${1:?usage: $0 path/to/memtls [connections]}"
N="${2:-500}"
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; kill $cpid 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 4096 2>/dev/null || true

"$MEMTLS" serve --listen 127.0.0.1:0 --max-conns $((N + 100)) >"$work/out" 2>"$work/err" &
pid=$!
cpid=""
for _ in $(seq 1 100); do grep -q '^listening on' "$work/out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/out")
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

t0=$(cpu); sleep 10; t1=$(cpu)
echo "idle, no connections: $(( (t1 - t0) * 1000 / tck )) ms CPU in 10 s"

rss0=$(rss)
python3 - "$port" "$N" >"$work/clients.log" 2>&1 <<'PY' &
import socket, ssl, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.sendall(b"x" * 64)
    got = b""
    while len(got) < 64:
        got += s.recv(64 - len(got))
    conns.append(s)
print("open", flush=True)
time.sleep(3600)
PY
cpid=$!
for _ in $(seq 1 600); do grep -q '^open' "$work/clients.log" && break; sleep 0.1; done
grep -q '^open' "$work/clients.log" || { cat "$work/clients.log"; exit 1; }
sleep 1
rss1=$(rss)
t0=$(cpu); sleep 10; t1=$(cpu)
echo "idle, $N open TLS 1.3 connections: $(( (t1 - t0) * 1000 / tck )) ms CPU in 10 s"
echo "server RSS: $rss0 KiB -> $rss1 KiB with $N connections: $(( (rss1 - rss0) * 10 / N )) / 10 KiB per connection"
