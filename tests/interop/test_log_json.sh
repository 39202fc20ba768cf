#!/usr/bin/env bash
# memtls serve --log-format json: every line on stderr is one JSON object
# (parsed with Python's json) with an RFC 3339 time and a level; the
# connection records carry the fields of the text line, typed, with an SNI
# full of quotes, backslashes, a newline and a byte that is not UTF-8
# coming back exactly (the byte as U+FFFD); status, reload and stop are
# there too; errors are JSON as well.
source "$(dirname "$0")/lib.sh" "$@"
need openssl

make_pki "$WORK/pki"
PKI="$WORK/pki"
start_serve srv --cert "$PKI/server.pem" --key "$PKI/server.key" --log-format json

# A clean connection, one with a hostile SNI, and one that is not TLS.
timeout 20 python3 "$HERE/metrics.py" traffic "$SERVE_PORT" --ca "$PKI/ca.pem" --n 1 --bytes 100 \
  >"$WORK/echo.log" 2>&1 || fail "python ssl echo: $(cat "$WORK/echo.log")"
SNI=$'we"ird\\na\nme\xff!'
timeout 10 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -servername "$SNI" </dev/null \
  >/dev/null 2>&1
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.settimeout(10)
while s.recv(4096):
    pass
' "$SERVE_PORT" 2>/dev/null
wait_for "$WORK/srv.err" '"conn":3,' 10 || fail "fewer than 3 connection records: $(cat "$WORK/srv.err")"
kill -USR1 "$SERVE_PID"
wait_for "$WORK/srv.err" '"event":"status"' 10 || fail "no status event"
kill -HUP "$SERVE_PID"
wait_for "$WORK/srv.err" 'SIGHUP: reloaded' 10 || fail "no reload line"
stop_serve "$SERVE_PID"

python3 - "$WORK/srv.err" <<'EOF' || fail "the JSON log does not hold: $(cat "$WORK/srv.err")"
import datetime, json, sys
lines = open(sys.argv[1], "rb").read().decode("utf-8").splitlines()
objs = []
for no, line in enumerate(lines, 1):
    o = json.loads(line)  # raises on anything that is not one JSON object
    assert isinstance(o, dict), f"line {no} is not an object"
    t = datetime.datetime.fromisoformat(o["time"].replace("Z", "+00:00"))
    assert t.tzinfo is not None and o["time"].endswith("Z"), o["time"]
    assert o["level"] in ("error", "warn", "info", "debug"), o["level"]
    assert ("msg" in o) != ("event" in o), f"line {no}: msg or event, exactly one"
    objs.append(o)
conns = [o for o in objs if o.get("event") == "conn"]
assert [c["conn"] for c in conns] == [1, 2, 3], [c["conn"] for c in conns]
fields = ["conn", "peer", "listener", "plaintext", "sni", "version", "cipher", "alpn", "resumed", "cert", "cert_dn", "subject",
          "bytes_in", "bytes_out", "app_in", "app_out", "duration_ms", "close"]
for c in conns:
    assert list(c)[:4] == ["time", "level", "event", "conn"] and list(c)[3:] == fields, list(c)
    for k in ("conn", "listener", "bytes_in", "bytes_out", "app_in", "app_out", "duration_ms"):
        assert isinstance(c[k], int) and c[k] >= 0, (k, c[k])
    assert c["plaintext"] is False
good, weird, bad = conns
assert good["level"] == "info" and good["close"] == "peer closed", good
assert good["version"] in ("TLSv1.2", "TLSv1.3") and good["app_in"] == good["app_out"] == 100, good
assert weird["sni"] == 'we"ird\\na\nme\ufffd!', repr(weird["sni"])
assert bad["level"] == "warn" and bad["close"].startswith("protocol error"), bad
assert bad["version"] == "" and bad["cipher"] == "", bad
status = [o for o in objs if o.get("event") == "status"]
assert len(status) == 1 and status[0]["total"] == 3 and status[0]["open"] == 0, status
assert any(o.get("msg", "").startswith("SIGHUP: reloaded") for o in objs)
assert any(o.get("msg", "").startswith("SIGTERM: stopping") for o in objs)
stopped = [o for o in objs if o.get("event") == "stopped"]
assert len(stopped) == 1 and stopped[0]["total"] == 3 and stopped[0]["failed"] >= 1, stopped
print(f"{len(objs)} lines, all JSON; {len(conns)} connection records")
EOF
ok "every log line is JSON with the text line's fields"

# Errors after the options are read are JSON too.
"$MEMTLS" serve --log-format json --listen 127.0.0.1:0 --cert "$WORK/missing.pem" \
  --key "$WORK/missing.key" >/dev/null 2>"$WORK/err.json"
[ $? = 1 ] || fail "a missing certificate did not fail"
python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["level"] == "error" and "missing.pem" in o["msg"], o
' "$WORK/err.json" || fail "the error is not JSON: $(cat "$WORK/err.json")"
ok "error line: $(cat "$WORK/err.json")"
pass
