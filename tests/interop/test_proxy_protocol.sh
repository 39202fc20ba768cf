#!/usr/bin/env bash
# The PROXY protocol against real peers.
#
# Sending (--proxy-protocol): a backend written here (fleet.py, its own
# parser) sees v1 and v2 headers with the client's address and port, the
# listener's, and for v2 the SNI as authority, ALPN, the TLS version and
# cipher, and a verified client certificate's CN (openssl s_client);
# HAProxy (bind ... accept-proxy) and nginx (listen ... proxy_protocol)
# take memtls' v2 and v1 headers and log the client's address.
#
# Accepting (',proxy' listeners): HAProxy (send-proxy-v2, send-proxy) and
# nginx (proxy_protocol on) in front; memtls logs the client's address
# behind them, and TLS runs end to end. (HAProxy and nginx are not among
# the packages scripts/deps.sh installs: their parts run where they are
# installed and print "skipped" otherwise.) Direct clients send v1, v2 (IPv4
# and IPv6 sources) and LOCAL headers; missing, garbage, truncated,
# oversized and overlong headers, and half a header then silence (the
# handshake timeout), are cut with a log line each.
source "$(dirname "$0")/lib.sh" "$@"
need openssl
have() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "skipped: $1 is not installed (its part of this test did not run)"
    return 1
  }
}

make_pki "$WORK/pki"
PKI="$WORK/pki"

start_fleet() {
  local name="$1"
  shift
  python3 "$HERE/fleet.py" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  FLEET_PID=$!
  track "$FLEET_PID"
  wait_for "$WORK/$name.out" '^ready [0-9]+' 15 || fail "fleet.py $* did not start: $(cat "$WORK/$name.err")"
  FLEET_PORT="$(sed -n 's/^ready \([0-9][0-9]*\).*/\1/p' "$WORK/$name.out" | head -n 1)"
}

# wait_port PORT: poll until something accepts on 127.0.0.1:PORT (15 s).
wait_port() {
  python3 - "$1" <<'PY' || fail "nothing listens on port $1"
import socket, sys, time
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# client NAME PORT [fleet.py proxy-client args]: a TLS echo through
# memtls (verified against the test CA); sets CLIENT_PORT to the
# client's own port.
client() {
  local name="$1" port="$2"
  shift 2
  python3 "$HERE/fleet.py" proxy-client "$port" --ca "$PKI/ca.pem" "$@" >"$WORK/$name.log" 2>&1 ||
    fail "client $name: $(cat "$WORK/$name.log")"
  CLIENT_PORT="$(sed -n 's/^echo ok \([0-9]*\)$/\1/p' "$WORK/$name.log")"
  [ -n "$CLIENT_PORT" ] || fail "client $name: $(cat "$WORK/$name.log")"
}

start_py echo echo-backend
ECHO_PORT="$PY_PORT"
mkdir -p "$WORK/nginx"

# --- sending: the test's own parser ---------------------------------------------------
start_fleet pb proxy-backend
PB_PORT="$FLEET_PORT"
start_serve v2 --cert "$PKI/server.pem" --key "$PKI/server.key" --ca "$PKI/ca.pem" \
  --verify-client optional --alpn h2,http/1.1 --backend "127.0.0.1:$PB_PORT" --proxy-protocol v2
grep -q "proxying to 127.0.0.1:$PB_PORT with a PROXY v2 header" "$WORK/v2.out" ||
  fail "no 'with a PROXY v2 header' line: $(cat "$WORK/v2.out")"
feed_until "$WORK/s2.log" '^ping$' 15 -- ping |
  timeout 30 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -servername localhost -alpn h2 \
    -CAfile "$PKI/ca.pem" -cert "$PKI/client.pem" -key "$PKI/client.key" -quiet -no_ign_eof \
    >"$WORK/s2.log" 2>"$WORK/s2.stderr"
grep -qx ping "$WORK/s2.log" || fail "no echo through the v2 proxy: $(cat "$WORK/s2.stderr")"
wait_for "$WORK/pb.out" '^header ' 10 || fail "the backend saw no header"
h="$(grep '^header ' "$WORK/pb.out" | tail -1)"
for want in v=2 cmd=PROXY "src=127.0.0.1:[0-9]+" "dst=127.0.0.1:$SERVE_PORT" alpn=h2 \
  authority=localhost ssl_client=0x07 ssl_verify=0 ssl_version=TLSv1.3 ssl_cn=client \
  "ssl_cipher=TLS_[A-Z0-9_]+"; do
  grep -Eq "(^| )$want( |$)" <<<"$h" || fail "v2 header lacks $want: $h"
done
stop_serve "$SERVE_PID"
ok "--proxy-protocol v2: $h"

# A client without a certificate: verify is not 0, no CN; and v1.
start_serve v1 --cert "$PKI/server.pem" --key "$PKI/server.key" --backend "127.0.0.1:$PB_PORT" \
  --proxy-protocol v1
client v1c "$SERVE_PORT"
wait_for "$WORK/pb.out" "^header v=1 cmd=PROXY src=127.0.0.1:$CLIENT_PORT dst=127.0.0.1:$SERVE_PORT\$" 10 ||
  fail "no v1 header with the client's port $CLIENT_PORT: $(tail -2 "$WORK/pb.out")"
stop_serve "$SERVE_PID"
ok "--proxy-protocol v1: the client's address and port, the listener's"

# --- sending: HAProxy and nginx as the backend ------------------------------------------
if have haproxy; then
HP_PORT="$(free_port)"
cat >"$WORK/haproxy-in.cfg" <<EOF
global
  log stdout format raw local0
defaults
  mode tcp
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:$HP_PORT accept-proxy
  log-format "pp src=%ci:%cp dst=%fi:%fp authority=%[fc_pp_authority]"
  default_backend be
backend be
  server echo 127.0.0.1:$ECHO_PORT
EOF
haproxy -db -f "$WORK/haproxy-in.cfg" >"$WORK/haproxy-in.log" 2>&1 &
track $!
wait_port "$HP_PORT"
for v in v2 v1; do
  start_serve "hp$v" --cert "$PKI/server.pem" --key "$PKI/server.key" \
    --backend "127.0.0.1:$HP_PORT" --proxy-protocol "$v"
  client "hp$v" "$SERVE_PORT"
  want="pp src=127.0.0.1:$CLIENT_PORT dst=127.0.0.1:$SERVE_PORT"
  [ "$v" = v2 ] && want="$want authority=localhost"
  wait_for "$WORK/haproxy-in.log" "^$want" 10 ||
    fail "HAProxy did not log '$want' ($v): $(cat "$WORK/haproxy-in.log")"
  stop_serve "$SERVE_PID"
done
ok "HAProxy accept-proxy takes memtls' v2 (with the SNI as authority) and v1 headers"
fi

if have nginx; then
NP_PORT="$(free_port)"
cat >"$WORK/nginx/in.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
pid $WORK/nginx/in.pid;
error_log $WORK/nginx-in.err info;
events {}
stream {
  log_format pp 'pp src=\$proxy_protocol_addr:\$proxy_protocol_port dst=\$proxy_protocol_server_addr:\$proxy_protocol_server_port';
  access_log $WORK/nginx/in.access pp;
  server {
    listen 127.0.0.1:$NP_PORT proxy_protocol;
    proxy_pass 127.0.0.1:$ECHO_PORT;
  }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/in.conf" -e "$WORK/nginx-in.err" >/dev/null 2>&1 &
track $!
wait_port "$NP_PORT"
for v in v2 v1; do
  start_serve "np$v" --cert "$PKI/server.pem" --key "$PKI/server.key" \
    --backend "127.0.0.1:$NP_PORT" --proxy-protocol "$v"
  client "np$v" "$SERVE_PORT"
  wait_for "$WORK/nginx/in.access" "^pp src=127.0.0.1:$CLIENT_PORT dst=127.0.0.1:$SERVE_PORT\$" 10 ||
    fail "nginx did not log the client's port $CLIENT_PORT ($v): $(cat "$WORK/nginx/in.access" "$WORK/nginx-in.err")"
  stop_serve "$SERVE_PID"
done
ok "nginx proxy_protocol takes memtls' v2 and v1 headers"
fi

# --- accepting: HAProxy and nginx in front of a ',proxy' listener ----------------------------
start_serve acc --listen "127.0.0.1:0,proxy" --cert "$PKI/server.pem" --key "$PKI/server.key"
ACC_PORT="$SERVE_PORT"
ACC_PID="$SERVE_PID"
grep -q "listening on 127.0.0.1:$ACC_PORT (tls, PROXY header first)" "$WORK/acc.out" ||
  fail "listening line: $(cat "$WORK/acc.out")"
FRONTS=()
if have haproxy; then
  HF2="$(free_port)"
  HF1="$(free_port)"
  cat >"$WORK/haproxy-out.cfg" <<EOF
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
listen v2
  bind 127.0.0.1:$HF2
  server memtls 127.0.0.1:$ACC_PORT send-proxy-v2
listen v1
  bind 127.0.0.1:$HF1
  server memtls 127.0.0.1:$ACC_PORT send-proxy
EOF
  haproxy -db -f "$WORK/haproxy-out.cfg" >"$WORK/haproxy-out.log" 2>&1 &
  track $!
  wait_port "$HF2"
  wait_port "$HF1"
  FRONTS+=("$HF2" "$HF1")
fi
if have nginx; then
  NF="$(free_port)"
  cat >"$WORK/nginx/out.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
pid $WORK/nginx/out.pid;
error_log $WORK/nginx-out.err info;
events {}
stream {
  server {
    listen 127.0.0.1:$NF;
    proxy_pass 127.0.0.1:$ACC_PORT;
    proxy_protocol on;
  }
}
EOF
  nginx -p "$WORK/nginx" -c "$WORK/nginx/out.conf" -e "$WORK/nginx-out.err" >/dev/null 2>&1 &
  track $!
  wait_port "$NF"
  FRONTS+=("$NF")
fi
# wait_port's probes reach memtls through the balancer and end before any
# TLS (logged as failures); the clients' lines are the ones checked.
for front in "${FRONTS[@]}"; do
  client "front$front" "$front"
  wait_for "$WORK/acc.err" "peer=127.0.0.1:$CLIENT_PORT listener=0 sni=localhost .*close=\"peer closed\"" 10 ||
    fail "memtls did not log the client's port $CLIENT_PORT behind port $front"
done
[ "${#FRONTS[@]}" -eq 0 ] ||
  ok "behind ${#FRONTS[@]} balancer port(s) (HAProxy send-proxy-v2 and send-proxy, nginx proxy_protocol on): the client's address is logged, TLS end to end"

# --- accepting: direct clients --------------------------------------------------------------
client dv1 "$ACC_PORT" --header v1 --src-ip 203.0.113.7 --src-port 40000
client dv2 "$ACC_PORT" --header v2 --src-ip 198.51.100.8 --src-port 40001
client dv6 "$ACC_PORT" --header v2-6 --src-ip 2001:db8::7 --src-port 40002
client dlocal "$ACC_PORT" --header local
wait_for "$WORK/acc.err" 'peer=203.0.113.7:40000 .*close="peer closed"' || fail "v1 source not logged"
wait_for "$WORK/acc.err" 'peer=198.51.100.8:40001 .*close="peer closed"' || fail "v2 source not logged"
wait_for "$WORK/acc.err" 'peer=\[2001:db8::7\]:40002 .*close="peer closed"' || fail "v2 IPv6 source not logged"
wait_for "$WORK/acc.err" "peer=127.0.0.1:$CLIENT_PORT .*close=\"peer closed\"" ||
  fail "a LOCAL header did not keep the socket's address"
ok "v1, v2 (IPv4 and IPv6) sources stand for the client; LOCAL keeps the socket's address"

# cut KIND [args]: a header of KIND; the server must cut the connection.
cut() {
  local kind="$1"
  shift
  python3 "$HERE/fleet.py" proxy-client "$ACC_PORT" --header "$kind" --expect-cut "$@" \
    >"$WORK/cut-$kind.log" 2>&1 || fail "header $kind: not cut: $(cat "$WORK/cut-$kind.log")"
}
cut garbage
cut truncated --eof
cut oversized
cut longline
python3 "$HERE/fleet.py" proxy-client "$ACC_PORT" --header none --ca "$PKI/ca.pem" \
  >"$WORK/nohdr.log" 2>&1 && fail "a TLS client without a header got through"
for why in "not a PROXY protocol header \(first bytes 47 45\)" \
  "not a PROXY protocol header \(first bytes 16 03\)" \
  "end of stream after 35 bytes, before the header was whole" \
  "v2: header of 65551 bytes exceeds the limit of 4096" \
  "v1: no CRLF in the first 107 bytes"; do
  wait_for "$WORK/acc.err" "warn .*close=\"PROXY header refused: $why\"" 10 ||
    fail "no log line 'PROXY header refused: $why'"
done
stop_serve "$ACC_PID"
ok "garbage, no header (TLS first), truncated, oversized and overlong headers: cut, each logged"

start_serve slow --listen "127.0.0.1:0,proxy" --cert "$PKI/server.pem" --key "$PKI/server.key" \
  --handshake-timeout 500
ACC_PORT="$SERVE_PORT"
cut truncated
took="$(sed -n 's/^cut after \([0-9.]*\) s$/\1/p' "$WORK/cut-truncated.log")"
python3 -c "import sys; sys.exit(0 if 0.4 <= $took < 5 else 1)" ||
  fail "half a header was cut after $took s (handshake timeout 0.5 s)"
wait_for "$WORK/slow.err" 'close="PROXY header refused: not complete within the handshake timeout"' 10 ||
  fail "no handshake-timeout line"
stop_serve "$SERVE_PID"
ok "half a header then silence: cut after $took s by the handshake timeout (0.5 s), logged"

pass
