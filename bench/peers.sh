#!/usr/bin/env bash
# memtls serve side by side with nginx (stream), HAProxy and hitch as TLS
# terminators in front of one plaintext nginx backend: proxy CPU per
# request, per handshake and per MiB, p99 latency, idle memory per
# connection; ratios memtls / peer; rewrites the tables in
# docs/performance.md. Run with --help.
set -u -o pipefail
# shellcheck source=bench/peers-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"

ALL_PEERS="memtls nginx haproxy hitch"
ALL_MODES="1w default"
ALL_TESTS="ka close bulk mem"
RUNS=3
DUR=10
PEERS=$ALL_PEERS
MODES=$ALL_MODES
TESTS=$ALL_TESTS
MEMCONNS=1000
RETRIES=2
DISTURBED=0.15
WARMUP=2
PAUSE=2
OUT=""
DOC=$ROOT/docs/performance.md
DOC_WRITE=auto

usage() {
    cat <<EOF
usage: bench/peers.sh [options]

Starts a plaintext nginx HTTP backend (127.0.0.1:$BPORT: /small = 128 bytes,
/big = 1 MiB) and, one at a time, each TLS terminator in front of it on
127.0.0.1:$LPORT, and loads it with wrk:

  memtls   memtls serve --backend (built here, RelWithDebInfo)
  nginx    nginx stream module: ssl + proxy_pass
  haproxy  HAProxy, mode tcp, bind ... ssl crt
  hitch    hitch

Identical TLS for all: TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, one ECDSA
P-256 certificate, no session cache, no session tickets (each peer's own
switch where it has one, and OPENSSL_CONF with NumTickets = 0 for all;
memtls gets --no-tickets once 'memtls serve --help' lists it). Every peer is
checked with openssl s_client before it is measured; a ticket is an error.

Tests (--tests):
  ka     keep-alive: wrk -c$WRK_CONNS GET /small -> proxy CPU us/request, p99
  close  one request per connection (full handshake) -> proxy CPU us/connection
  bulk   GET /big (1 MiB), wrk -c$WRK_BULK_CONNS -> proxy CPU us/MiB
  mem    RSS of the proxy holding --mem-conns idle TLS connections -> KB/conn
Modes (--modes):
  1w       every proxy one worker/thread, pinned to CPU ${PROXY_CPUS:-any}; wrk and
           the backend on the other CPU(s)
  default  each proxy's own multi-core default, unpinned (memtls: no --workers)
Proxy CPU = utime + stime of all the proxy's processes during the wrk run,
divided by the requests wrk completed.

Options:
  --runs N          runs per test and mode, medians reported (default $RUNS)
  --duration S      seconds per wrk run (default $DUR)
  --peers "LIST"    subset of "$ALL_PEERS"
  --modes "LIST"    subset of "$ALL_MODES"
  --tests "LIST"    subset of "$ALL_TESTS"
  --mem-conns N     idle connections for the mem test (default $MEMCONNS)
  --quiet-wait S    before each run wait up to S s (default $QUIET_WAIT) until
                    processes outside the benchmark use < $QUIET_MAX cores
  --retries N       repeat a run up to N times (default $RETRIES) when other
                    processes used > $DISTURBED cores during it
  --memtls BIN      measure this memtls binary instead of building one
  --memtls-args "A" extra arguments for memtls serve
  --out DIR         results directory (default build-bench/out/peers-TIMESTAMP)
  --doc FILE        the document whose tables are rewritten (default
                    docs/performance.md, between <!-- peers:begin --> and
                    <!-- peers:end -->)
  --write-doc       rewrite the document even for a partial run
  --no-doc          do not touch the document
  -h, --help

By default the document is rewritten only by a run that covers every peer,
mode and test, so a quick check of one figure leaves it alone.

Examples:
  bench/peers.sh                                   # the full table, ~30 min
  bench/peers.sh --runs 1 --duration 5 --tests ka --modes 1w --peers "memtls nginx"
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --mem-conns) MEMCONNS=$2; shift 2 ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    --retries) RETRIES=$2; shift 2 ;;
    --memtls) MEMTLS_BIN=$2; shift 2 ;;
    --memtls-args) MEMTLS_ARGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --doc) DOC=$2; shift 2 ;;
    --write-doc) DOC_WRITE=yes; shift ;;
    --no-doc) DOC_WRITE=no; shift ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for p in $PEERS; do [[ " $ALL_PEERS " == *" $p "* ]] || die "unknown peer $p (peers: $ALL_PEERS)"; done
for m in $MODES; do [[ " $ALL_MODES " == *" $m "* ]] || die "unknown mode $m (modes: $ALL_MODES)"; done
for t in $TESTS; do [[ " $ALL_TESTS " == *" $t "* ]] || die "unknown test $t (tests: $ALL_TESTS)"; done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
[[ "$DUR" =~ ^[1-9][0-9]*$ ]] || die "--duration needs a positive number of seconds"
if [ "$DOC_WRITE" = auto ]; then
    DOC_WRITE=no
    [ "$(echo "$PEERS" | wc -w)" = 4 ] && [ "$(echo "$MODES" | wc -w)" = 2 ] &&
        [ "$(echo "$TESTS" | wc -w)" = 4 ] && DOC_WRITE=yes
fi

ensure_packages
build_memtls
make_workdir "$OUT" peers
RES="$W/results.tsv"
MEMRES="$W/mem.tsv"
TLSCHK="$W/tlscheck.txt"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_fixtures
{
    print_env
    echo "command: bench/peers.sh $ARGS"
    echo "settings: runs=$RUNS duration=${DUR}s quiet_wait=${QUIET_WAIT}s retries=$RETRIES peers='$PEERS' modes='$MODES' tests='$TESTS' wrk: 1 thread, -c$WRK_CONNS (ka, close), -c$WRK_BULK_CONNS (bulk); mem_conns=$MEMCONNS; memtls args: ${MEMTLS_ARGS:-none}"
    echo "started: $(date -u +%FT%TZ)"
} >"$W/env.txt"
cat "$W/env.txt" >&2
log "results in $W"
: >"$TLSCHK"
: >"$W/quiet-waits"
printf 'peer\tmode\ttest\trun\trps\tp99_ms\tMBps\treqs\terrs\tproxy_cores\tproxy_us_per_req\tbackend_cores\twrk_cores\tmachine_cores\tforeign_cores\n' >"$RES"
head -1 "$RES" >"$W/disturbed.tsv"
printf 'peer\tmode\tconns\testablished\topen_s\trss_base_kb\trss_held_kb\tpss_base_kb\tpss_held_kb\tkb_per_conn_rss\tkb_per_conn_pss\n' >"$MEMRES"
start_backend

to_ms() { # wrk latency like 1.23ms 456.00us 1.02s
    awk -v v="$1" 'BEGIN{ if (v ~ /us$/) print v/1000; else if (v ~ /ms$/) print v+0;
        else if (v ~ /m$/) print v*60000; else if (v ~ /s$/) print v*1000; else print "nan" }'
}

measure() { # peer mode test run: one run, repeated while disturbed
    local attempt f
    for attempt in $(seq 0 "$RETRIES"); do
        measure_once "$@"
        f=$(tail -1 "$RES" | cut -f15)
        awk -v f="$f" -v m="$DISTURBED" 'BEGIN{exit !(f > m)}' || return 0
        [ "$attempt" -lt "$RETRIES" ] || {
            log "run kept although disturbed (foreign $f cores)"
            return 0
        }
        log "run disturbed (foreign $f cores); repeating"
        tail -1 "$RES" >>"$W/disturbed.tsv"
        sed -i '$d' "$RES"
    done
}
measure_once() { # peer mode test run
    local peer=$1 mode=$2 test=$3 run=$4 pin=()
    wrk_args "$test"
    [ "$mode" = 1w ] && [ -n "$LOAD_CPUS" ] && pin=(taskset -c "$LOAD_CPUS")
    local of="$PEER_DIR/wrk-$test-$run.txt" p0 p1 b0 b1 s0 s1 t0 t1
    wait_quiet
    proc_snapshot >"$W/.f0"
    p0=$(pg_ticks "$PROXY_PG")
    b0=$(pg_ticks "$BACK_PG")
    s0=$(sys_ticks)
    t0=$(date +%s.%N)
    local TIMEFORMAT='%U %S'
    { time "${pin[@]}" wrk -d"${DUR}s" "${WRK_ARGS[@]}" >"$of" 2>&1; } 2>"$of.cpu"
    t1=$(date +%s.%N)
    p1=$(pg_ticks "$PROXY_PG")
    b1=$(pg_ticks "$BACK_PG")
    s1=$(sys_ticks)
    proc_snapshot >"$W/.f1"
    local rps reqs p99 errs
    rps=$(awk '/^Requests\/sec:/{print $2}' "$of")
    reqs=$(awk '/requests in/{print $1}' "$of")
    p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$of")")
    errs=$(awk '/Socket errors:/{gsub(/,/,""); e+=$4+$6+$8+$10} /Non-2xx/{e+=$NF} END{print e+0}' "$of")
    [ -n "$rps" ] || {
        log "wrk failed: $(tail -3 "$of")"
        rps=0
        reqs=0
    }
    awk -v peer="$peer" -v mode="$mode" -v test="$test" -v run="$run" -v rps="$rps" \
        -v reqs="$reqs" -v p99="$p99" -v errs="$errs" -v body="$TEST_BODY" -v hz="$CLK_TCK" \
        -v el="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
        -v pt=$((p1 - p0)) -v bt=$((b1 - b0)) \
        -v wcpu="$(awk '{print $1+$2}' "$of.cpu")" \
        -v sb=$((${s1% *} - ${s0% *})) -v st=$((${s1#* } - ${s0#* })) -v ncpu="$NCPU" \
        -v ft="$(foreign_ticks "$W/.f0" "$W/.f1")" \
        'BEGIN{
            mbps = rps * body / 1e6
            pus = reqs > 0 ? sprintf("%.1f", pt / hz / reqs * 1e6) : "-"
            printf "%s\t%s\t%s\t%s\t%.0f\t%.2f\t%.1f\t%d\t%d\t%.2f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\n",
                peer, mode, test, run, rps, p99, mbps, reqs, errs, pt / hz / el, pus,
                bt / hz / el, wcpu / el, (st > 0 ? sb / st * ncpu : 0), ft / hz / el
        }' >>"$RES"
    tail -1 "$RES" | awk -F'\t' '{printf "    %-8s %-8s %-5s run %s: %s req/s, p99 %s ms, %s MB/s, errs %s, proxy %s cores (%s us/req), backend %s, wrk %s, machine %s, foreign %s\n",
        $1,$2,$3,$4,$5,$6,$7,$9,$10,$11,$12,$13,$14,$15}' >&2
}

mem_test() { # peer mode
    local peer=$1 mode=$2 pin=() base with hp fd line n opened est d
    start_peer "$peer" "$mode"
    d=$PEER_DIR
    curl -sk --max-time 5 -o /dev/null "https://127.0.0.1:$LPORT/small"
    sleep 1
    wait_quiet
    base=$(pg_mem_kb "$PROXY_PG")
    [ "$mode" = 1w ] && [ -n "$LOAD_CPUS" ] && pin=(taskset -c "$LOAD_CPUS")
    rm -f "$d/hold.fifo" "$d/hold.out"
    mkfifo "$d/hold.fifo"
    "${pin[@]}" python3 "$BENCH_DIR/holdconns.py" --port "$LPORT" -n "$MEMCONNS" --hold 60 \
        <"$d/hold.fifo" >"$d/hold.out" 2>"$d/hold.err" &
    hp=$!
    exec {fd}>"$d/hold.fifo"
    line=""
    for _ in $(seq 900); do
        line=$(grep -m1 '^ready' "$d/hold.out" 2>/dev/null) && break
        kill -0 "$hp" 2>/dev/null || break
        sleep 0.1
    done
    sleep 2
    with=$(pg_mem_kb "$PROXY_PG")
    est=$(ss -Htn state established "( sport = :$LPORT )" | wc -l)
    exec {fd}>&-
    wait "$hp" 2>/dev/null
    read -r _ n opened <<<"${line:-ready 0 0}"
    awk -v peer="$peer" -v mode="$mode" -v n="$n" -v est="$est" -v op="$opened" \
        -v b="$base" -v w="$with" 'BEGIN{
            split(b, B, " "); split(w, X, " ")
            kr = n > 0 ? (X[1] - B[1]) / n : 0; kp = n > 0 ? (X[2] - B[2]) / n : 0
            printf "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\n",
                peer, mode, n, est, op, B[1], X[1], B[2], X[2], kr, kp }' >>"$MEMRES"
    tail -1 "$MEMRES" | awk -F'\t' '{printf "    %-8s %-8s mem: %s conns (%s established, opened in %ss), RSS %s -> %s KB, %.1f KB/conn (PSS %.1f KB/conn)\n",
        $1,$2,$3,$4,$5,$6,$7,$10,$11}' >&2
    stop_peer
}

load_tests=()
for t in $TESTS; do [ "$t" = mem ] || load_tests+=("$t"); done

# Runs are interleaved (run 1 of every peer, then run 2, ...) so that a
# change in the machine's background load spreads over all peers instead of
# landing on one of them.
for mode in $MODES; do
    pin_backend "$mode"
    for peer in $PEERS; do
        log "== $peer, mode $mode: TLS check"
        start_peer "$peer" "$mode"
        tls_check "$peer" "$mode" "$TLSCHK"
        stop_peer
    done
    if [ ${#load_tests[@]} -gt 0 ]; then
        for run in $(seq "$RUNS"); do
            for peer in $PEERS; do
                log "== $peer, mode $mode, run $run/$RUNS"
                start_peer "$peer" "$mode"
                wrk -t1 -c8 -d"${WARMUP}s" "https://127.0.0.1:$LPORT/small" >/dev/null 2>&1
                for t in "${load_tests[@]}"; do
                    sleep "$PAUSE"
                    measure "$peer" "$mode" "$t" "$run"
                done
                stop_peer
            done
        done
    fi
    if [[ " $TESTS " == *" mem "* ]]; then
        for peer in $PEERS; do
            log "== $peer, mode $mode: idle memory"
            mem_test "$peer" "$mode"
        done
    fi
done
echo "finished: $(date -u +%FT%TZ)" >>"$W/env.txt"

python3 "$BENCH_DIR/peers_report.py" --dir "$W" --doc "$DOC" --write-doc "$DOC_WRITE" || die "report failed"
log "results in $W"
