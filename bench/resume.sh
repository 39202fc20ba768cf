#!/usr/bin/env bash
# Resumed vs full handshakes through `memtls serve`, in one run:
#
#   bench/resume.sh [BUILD_DIR [SECONDS_PER_ROUND [ROUNDS]]]
#
# Starts `memtls serve` (echo, ECDSA P-256 test certificate from `memtls
# cert`, one I/O thread with its worker inline, session tickets on with
# generated keys), then bench/resume_bench alternates rounds of full and
# resumed connections for TLS 1.3 and TLS 1.2 and prints connections per
# second (one client, so these include the client's own handshake work on
# the same machine) and the server's CPU per connection (what resumption
# saves the server). BUILD_DIR defaults to build/ (RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
secs="${2:-3}"
rounds="${3:-5}"
[ -x "$build/memtls" ] && [ -x "$build/bench/resume_bench" ] ||
  { echo "resume.sh: build first: cmake --build $build" >&2; exit 2; }

work="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$build/memtls" cert --dir "$work/pki" >/dev/null
"$build/memtls" serve --listen 127.0.0.1:0 --cert "$work/pki/server.pem" \
  --key "$work/pki/server.key" --io-threads 1 --workers 1 --worker-threads no \
  --log-level warn >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/serve.out")"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "resume.sh: memtls serve did not start" >&2; exit 1; }
echo "memtls serve pid $pid port $port (1 I/O thread, worker inline); load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/resume_bench" "$port" "$pid" "$work/pki/ca.pem" "$secs" "$rounds"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
