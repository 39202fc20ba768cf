#!/usr/bin/env bash
# memtls serve --metrics: GET /metrics while TLS traffic runs; the counts
# match what the test did (handshakes, connections, bytes, close reasons,
# histogram counts); every scrape parses (a strict parser of the 0.0.4
# format, `promtool check metrics` where the prometheus package is
# installed, and the prometheus_client parser where a python3 has it);
# a resumed session is counted as resumed; other paths get 404; scrapers that never read are cut off and do not
# slow the data path (round trips measured with and without them).
source "$(dirname "$0")/lib.sh" "$@"
need curl

make_pki "$WORK/pki"
PKI="$WORK/pki"
N=20
BYTES=30000

start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --workers 2 \
  --metrics 127.0.0.1:0
wait_for "$WORK/srv.out" '^metrics on http://127\.0\.0\.1:[0-9]+/metrics$' 10 ||
  fail "no 'metrics on' line: $(cat "$WORK/srv.out")"
MPORT="$(sed -n 's|^metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' "$WORK/srv.out")"
ok "metrics on port $MPORT"

# The README's command.
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$WORK/first.txt" || fail "curl /metrics failed"
grep -q '^memtls_connections_open 0$' "$WORK/first.txt" || fail "no open gauge: $(head "$WORK/first.txt")"
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")"
[ "$code" = 404 ] || fail "GET / answered $code, not 404"
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")"
[ "$code" = 405 ] || fail "POST /metrics answered $code, not 405"
ok "GET / -> 404, POST /metrics -> 405"

# Traffic, scraped every 20 ms while it runs.
mkdir -p "$WORK/scrapes"
timeout 120 python3 "$HERE/metrics.py" traffic "$SERVE_PORT" --ca "$PKI/ca.pem" --n "$N" \
  --bytes "$BYTES" --scrape "$MPORT" --out "$WORK/scrapes" >"$WORK/traffic.log" 2>&1 ||
  fail "traffic: $(cat "$WORK/traffic.log")"
ok "$(cat "$WORK/traffic.log")"
wait_for "$WORK/srv.err" "conn=$N " 10 || fail "fewer than $N connection records"
nscrapes=0
for f in "$WORK"/scrapes/scrape-*.txt; do
  python3 "$HERE/metrics.py" check "$f" >/dev/null 2>"$WORK/check.err" ||
    fail "scrape during traffic does not parse: $(cat "$WORK/check.err")"
  nscrapes=$((nscrapes + 1))
done
[ "$nscrapes" -ge 2 ] || fail "only $nscrapes scrapes during the traffic"
ok "$nscrapes scrapes taken during the traffic parse strictly"

# Quiet now: the final figures.
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$WORK/final.txt" || fail "final scrape failed"
python3 "$HERE/metrics.py" check "$WORK/final.txt" \
  --eq "memtls_connections_accepted_total=$N" \
  --eq 'memtls_connections_open=0' \
  --eq "memtls_handshakes_total{version=\"TLSv1.3\",resumed=\"no\"}=$N" \
  --eq 'memtls_handshakes_total{version="TLSv1.2",resumed="no"}=0' \
  --eq "memtls_connections_closed_total{reason=\"peer_closed\"}=$N" \
  --eq 'memtls_connections_failed_total=0' \
  --eq "memtls_handshake_duration_seconds_count=$N" \
  --eq "memtls_connection_duration_seconds_count=$N" \
  --eq 'memtls_worker_connections_open{worker="0"}=0' \
  --eq 'memtls_worker_connections_open{worker="1"}=0' \
  --ge "memtls_received_bytes_total{peer=\"client\"}=$((N * BYTES))" \
  --ge "memtls_sent_bytes_total{peer=\"client\"}=$((N * BYTES))" \
  --ge 'memtls_ring_delay_seconds_count{direction="to_worker"}=1' \
  --ge 'memtls_ring_delay_seconds_count{direction="to_host"}=1' \
  --ge 'memtls_certificate_not_after_seconds{subject="CN=localhost"}=1700000000' \
  >"$WORK/final.log" 2>&1 || fail "final scrape: $(cat "$WORK/final.log")"
ok "$(cat "$WORK/final.log")"

# A resumed handshake is counted as such.
timeout 30 python3 "$HERE/metrics.py" resume "$SERVE_PORT" --ca "$PKI/ca.pem" >"$WORK/resume.log" 2>&1 ||
  fail "resumption: $(cat "$WORK/resume.log")"
curl -sf "http://127.0.0.1:$MPORT/metrics" >"$WORK/resumed.txt" || fail "scrape after resumption failed"
python3 "$HERE/metrics.py" check "$WORK/resumed.txt" \
  --eq "memtls_handshakes_total{version=\"TLSv1.3\",resumed=\"no\"}=$((N + 1))" \
  --eq 'memtls_handshakes_total{version="TLSv1.3",resumed="yes"}=1' >"$WORK/resumed.log" 2>&1 ||
  fail "resumed handshakes: $(cat "$WORK/resumed.log")"
ok "$(cat "$WORK/resume.log"); counted as resumed=\"yes\""

# The real parsers.
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics <"$WORK/final.txt" >"$WORK/promtool.log" 2>&1 ||
    fail "promtool check metrics: $(cat "$WORK/promtool.log")"
  ok "promtool check metrics: no problems"
else
  echo "skip: promtool not installed (Debian package prometheus)"
fi
PYPC=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import prometheus_client' 2>/dev/null; then
    PYPC="$py"
    break
  fi
done
if [ -n "$PYPC" ]; then
  "$PYPC" "$HERE/metrics.py" client-parse "$WORK/final.txt" >"$WORK/pc.log" 2>&1 ||
    fail "prometheus_client: $(cat "$WORK/pc.log")"
  ok "$(cat "$WORK/pc.log")"
else
  echo "skip: no python3 with prometheus_client (Debian package python3-prometheus-client)"
fi

# Scrapers that never read: the data path does not notice them, and the
# endpoint cuts each one (5 s at most).
python3 "$HERE/metrics.py" rtt "$SERVE_PORT" --ca "$PKI/ca.pem" --n 400 >"$WORK/rtt0" 2>&1 ||
  fail "round trips: $(cat "$WORK/rtt0")"
timeout 60 python3 "$HERE/metrics.py" idle-scrapers "$MPORT" --n 40 --readyfile "$WORK/idle.ready" \
  --out "$WORK/idle.cut" >"$WORK/idle.log" 2>&1 &
IDLE_PID=$!
track "$IDLE_PID"
wait_for "$WORK/idle.ready" ready 10 || fail "idle scrapers did not connect: $(cat "$WORK/idle.log")"
python3 "$HERE/metrics.py" rtt "$SERVE_PORT" --ca "$PKI/ca.pem" --n 400 >"$WORK/rtt1" 2>&1 ||
  fail "round trips with idle scrapers: $(cat "$WORK/rtt1")"
wait_exit "$IDLE_PID" 40 || fail "idle scrapers still open after 40 s"
[ "$EXIT_CODE" = 0 ] || fail "idle scrapers: $(cat "$WORK/idle.log")"
read -r med0 p90_0 <"$WORK/rtt0"
read -r med1 p90_1 <"$WORK/rtt1"
ok "round trip without idle scrapers: median ${med0} us, p90 ${p90_0} us; with 40: median ${med1} us, p90 ${p90_1} us; all cut within $(cat "$WORK/idle.cut") s"
# Generous (a shared, loaded machine): the median may not triple.
[ "$med1" -le $((3 * med0 + 2000)) ] ||
  fail "idle scrapers slowed the round trips: median ${med0} -> ${med1} us"
awk -v t="$(cat "$WORK/idle.cut")" 'BEGIN { exit !(t <= 10) }' ||
  fail "idle scrapers were cut only after $(cat "$WORK/idle.cut") s"
curl -sf "http://127.0.0.1:$MPORT/metrics" >/dev/null || fail "no scrape after the idle scrapers"
stop_serve "$SERVE_PID"

# A busy metrics port is an error that names it.
start_serve busy --listen 127.0.0.1:0 --metrics "127.0.0.1:$MPORT"
"$MEMTLS" serve --listen 127.0.0.1:0 --metrics "127.0.0.1:$MPORT" >/dev/null 2>"$WORK/busy2.err"
rc=$?
[ "$rc" = 1 ] || fail "a second server on the same metrics port exited $rc, not 1"
grep -q "metrics 127.0.0.1:$MPORT: address already in use" "$WORK/busy2.err" ||
  fail "no clear error for a busy metrics port: $(cat "$WORK/busy2.err")"
ok "busy metrics port: $(cat "$WORK/busy2.err")"
stop_serve "$SERVE_PID"

pass
