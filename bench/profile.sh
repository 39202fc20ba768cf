#!/usr/bin/env bash
# CPU profile of memtls serve (or a peer, for comparison) under the
# keep-alive and handshake loads of bench/peers.sh: the top symbols and the
# share of each library. Run with --help.
set -u -o pipefail
# shellcheck source=bench/peers-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"

PEERS="memtls"
MODES="1w"
TESTS="ka close"
DUR=10
TOP=25
TOOL=perf
OUT=""

usage() {
    cat <<EOF
usage: bench/profile.sh [options]

Starts the proxy in front of the plaintext nginx backend (same setup as
bench/peers.sh), loads it with wrk and records a CPU profile of all its
threads over --duration seconds in the middle of the load:

  perf       perf record -e cpu-clock (a software event: this VM has no
             hardware counters), flat profile: perf report --no-children
             --sort dso,sym
  callgrind  memtls only, when perf cannot record: the proxy runs under
             valgrind --tool=callgrind for the whole load (much slower, so
             the request rate is far lower; the shares still show where the
             instructions go), callgrind_annotate

Output: profile.md (also printed) with the top --top symbols and the share
per shared object for each case, the raw perf.data / callgrind files.

Options:
  --peers "LIST"   subset of "memtls nginx haproxy hitch" (default "$PEERS")
  --modes "LIST"   subset of "1w default" (default "$MODES")
  --tests "LIST"   subset of "ka close bulk" (default "$TESTS")
  --duration S     profiling window in seconds (default $DUR)
  --top N          symbols listed per case (default $TOP)
  --tool perf|callgrind  (default $TOOL)
  --memtls BIN     use this memtls binary instead of building one
  --memtls-args "A" extra arguments for memtls serve
  --out DIR        results directory (default build-bench/out/profile-TIMESTAMP)
  --quiet-wait S   wait up to S s for a quiet machine first (default $QUIET_WAIT)
  -h, --help
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --peers) PEERS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    --tool) TOOL=$2; shift 2 ;;
    --memtls) MEMTLS_BIN=$2; shift 2 ;;
    --memtls-args) MEMTLS_ARGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$DUR" =~ ^[1-9][0-9]*$ ]] || die "--duration needs a positive number of seconds"
case $TOOL in
perf) ensure_packages linux-perf ;;
callgrind)
    ensure_packages valgrind
    [ "$PEERS" = memtls ] || die "--tool callgrind profiles memtls only (--peers memtls)"
    ;;
*) die "--tool is perf or callgrind" ;;
esac
build_memtls
make_workdir "$OUT" profile
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_fixtures
{
    print_env
    echo "command: bench/profile.sh $ARGS"
    echo "started: $(date -u +%FT%TZ)"
} >"$W/env.txt"
cat "$W/env.txt" >&2
: >"$W/quiet-waits"
start_backend
: >"$W/cases"

profile_perf() { # peer mode test
    local peer=$1 mode=$2 test=$3 pin=() pids wp
    start_peer "$peer" "$mode"
    tls_check "$peer" "$mode" "$W/tlscheck.txt"
    pids=$(pg_pids "$PROXY_PG" | paste -sd,)
    wrk_args "$test"
    [ "$mode" = 1w ] && [ -n "$LOAD_CPUS" ] && pin=(taskset -c "$LOAD_CPUS")
    wait_quiet
    "${pin[@]}" wrk -d"$((DUR + 4))s" "${WRK_ARGS[@]}" >"$PEER_DIR/wrk-$test.txt" 2>&1 &
    wp=$!
    sleep 2
    # perf itself runs on the load CPUs in mode 1w, off the proxy's CPU
    "${pin[@]}" perf record -e cpu-clock -F 4999 -p "$pids" -o "$PEER_DIR/perf-$test.data" \
        -- sleep "$DUR" >"$PEER_DIR/perf-$test.log" 2>&1
    wait "$wp"
    stop_peer
    perf report -i "$PEER_DIR/perf-$test.data" --stdio --no-children --sort dso,sym \
        >"$PEER_DIR/report-sym-$test.txt" 2>/dev/null
    perf report -i "$PEER_DIR/perf-$test.data" --stdio --no-children --sort dso \
        >"$PEER_DIR/report-dso-$test.txt" 2>/dev/null
    printf '%s\t%s\t%s\tperf\t%s\n' "$peer" "$mode" "$test" "$PEER_DIR" >>"$W/cases"
}

profile_callgrind() { # memtls mode test
    local mode=$2 test=$3 d cpus="" wp
    d="$W/memtls-$mode-callgrind"
    mkdir -p "$d"
    peer_cmd memtls "$mode" "$d"
    [ "$mode" = 1w ] && cpus=$PROXY_CPUS
    start_pg "$d/stdout-$test.log" "$cpus" env "${ENVV[@]}" valgrind --tool=callgrind \
        --callgrind-out-file="$d/callgrind-$test.out" "${CMD[@]}"
    PROXY_PG=$LAST_PG
    PEER_DIR=$d
    wait_listen "$LPORT" "$PROXY_PG" || die "memtls under callgrind did not start listening"
    wrk_args "$test"
    wait_quiet
    wrk -d"${DUR}s" "${WRK_ARGS[@]}" >"$d/wrk-$test.txt" 2>&1
    stop_peer
    callgrind_annotate --inclusive=no "$d/callgrind-$test.out" >"$d/annotate-$test.txt" 2>/dev/null
    printf '%s\t%s\t%s\tcallgrind\t%s\n' memtls "$mode" "$test" "$d" >>"$W/cases"
}

for mode in $MODES; do
    pin_backend "$mode"
    for peer in $PEERS; do
        for test in $TESTS; do
            log "== $peer, mode $mode, test $test ($TOOL)"
            "profile_$TOOL" "$peer" "$mode" "$test"
        done
    done
done
echo "finished: $(date -u +%FT%TZ)" >>"$W/env.txt"

python3 - "$W" "$TOP" <<'EOF' || die "report failed"
import os, re, sys
w, top = sys.argv[1], int(sys.argv[2])
env = open(os.path.join(w, "env.txt")).read().splitlines()
envd = {l.split(":", 1)[0]: l.split(":", 1)[1].strip() for l in env if ":" in l}
names = {"ka": "keep-alive 128 B", "close": "one request per connection (handshake)", "bulk": "1 MiB"}
out = [f"Generated by `{envd.get('command')}` ({envd.get('started')}); {env[0]}; "
       f"{envd.get('versions')}; memtls at `{envd.get('memtls commit')}`.", ""]
for line in open(os.path.join(w, "cases")):
    peer, mode, test, tool, d = line.rstrip("\n").split("\t")
    title = f"{peer}, {mode}, {names.get(test, test)}"
    if tool == "perf":
        txt = open(os.path.join(d, f"report-sym-{test}.txt")).read()
        m = re.search(r"# Samples: (\S+)", txt)
        wrk = open(os.path.join(d, f"wrk-{test}.txt")).read()
        rps = re.search(r"Requests/sec:\s+(\S+)", wrk)
        out.append(f"**{title}** (perf cpu-clock, {m.group(1) if m else '?'} samples, "
                   f"{rps.group(1) if rps else '?'} requests/s under the profiler):")
        out.append("")
        out.append("| % | shared object | symbol |")
        out.append("|---|---|---|")
        n = 0
        for l in txt.splitlines():
            r = re.match(r"^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*?)\s*$", l)
            if r and n < top:
                out.append(f"| {r.group(1)} | {r.group(2)} | `{r.group(4)}` |")
                n += 1
        out.append("")
        dso = []
        for l in open(os.path.join(d, f"report-dso-{test}.txt")):
            r = re.match(r"^\s+([\d.]+)%\s+(.*?)\s*$", l)
            if r and float(r.group(1)) >= 0.5:
                dso.append(f"{r.group(2)} {r.group(1)} %")
        out.append("By shared object: " + ", ".join(dso) + ".")
        out.append("")
    else:
        txt = open(os.path.join(d, f"annotate-{test}.txt")).read().splitlines()
        out.append(f"**{title}** (callgrind, instructions, self cost):")
        out.append("")
        out.append("| Ir | % | function |")
        out.append("|---|---|---|")
        n = 0
        for l in txt:
            r = re.match(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S+)", l)
            if r and r.group(3) != "PROGRAM" and n < top:
                out.append(f"| {r.group(1)} | {r.group(2)} | `{r.group(3)}` |")
                n += 1
        out.append("")
text = "\n".join(out) + "\n"
open(os.path.join(w, "profile.md"), "w").write(text)
sys.stdout.write(text)
EOF
log "results in $W"
