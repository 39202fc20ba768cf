#!/usr/bin/env bash
# Per-request counts for memtls serve (and nginx for comparison) under the
# keep-alive and handshake loads of bench/peers.sh: syscalls by name,
# epoll_ctl, context switches, CPU per thread, and memtls's own ring-message
# and wake-up counters when its status line has them. Run with --help.
set -u -o pipefail
# shellcheck source=bench/peers-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"

PEERS="memtls nginx"
MODES="1w"
TESTS="ka close"
DUR=10
OUT=""

usage() {
    cat <<EOF
usage: bench/counts.sh [options]

For each peer, mode and test: starts the proxy in front of the plaintext
nginx backend (same setup as bench/peers.sh), runs wrk, and over a window of
--duration seconds in the middle of the load counts

  requests     requests the backend served in the window (nginx stub_status):
               every one went through the proxy (close: one per connection)
  syscalls     per syscall name, per thread: perf stat counting the
               syscalls:sys_enter_* tracepoints in the kernel (no ptrace stop,
               so the proxy runs at nearly full speed), enabled and disabled
               through perf's control fifo exactly around the window
  switches     voluntary and involuntary context switches per thread
               (/proc/PID/task/TID/status)
  CPU          per thread (/proc/PID/task/TID/schedstat)
  ring msgs,   memtls only: the counters of its SIGUSR1 status line whose
  wake-ups     names contain "msg"/"message" (ring messages) or "wake"
               (wake-ups), read before and after the window; "n/a" while
               memtls has no such counter

and divides everything by the requests. Output: counts.md (also printed),
counts.tsv and syscalls.tsv in the results directory.

Options:
  --peers "LIST"   subset of "memtls nginx haproxy hitch" (default "$PEERS")
  --modes "LIST"   subset of "1w default" (default "$MODES")
  --tests "LIST"   subset of "ka close bulk" (default "$TESTS")
  --duration S     counting window in seconds (default $DUR)
  --memtls BIN     use this memtls binary instead of building one
  --memtls-args "A" extra arguments for memtls serve
  --out DIR        results directory (default build-bench/out/counts-TIMESTAMP)
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
    --memtls) MEMTLS_BIN=$2; shift 2 ;;
    --memtls-args) MEMTLS_ARGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$DUR" =~ ^[1-9][0-9]*$ ]] || die "--duration needs a positive number of seconds"

ensure_packages linux-perf
build_memtls
# The syscall tracepoints live in tracefs.
if [ ! -d /sys/kernel/tracing/events/syscalls ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
[ -d /sys/kernel/tracing/events/syscalls ] ||
    die "no syscall tracepoints (/sys/kernel/tracing/events/syscalls): mount tracefs or run as root"
make_workdir "$OUT" counts
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_fixtures
{
    print_env
    echo "command: bench/counts.sh $ARGS"
    echo "started: $(date -u +%FT%TZ)"
} >"$W/env.txt"
cat "$W/env.txt" >&2
: >"$W/quiet-waits"
start_backend
printf 'peer\tmode\ttest\trequests\tseconds\tthread\tcpu_us\tvoluntary\tnonvoluntary\tsyscalls\n' >"$W/counts.tsv"
printf 'peer\tmode\ttest\trequests\tthread\tsyscall\tcalls\n' >"$W/syscalls.tsv"
printf 'peer\tmode\ttest\trequests\tcounter\tdelta\n' >"$W/counters.tsv"

# memtls's counters: ask for a status line (SIGUSR1) and print its
# numeric key=value fields, one "key value" a line.
memtls_counters() { # main-pid logfile
    local n0 i
    n0=$(grep -c 'status:' "$2")
    kill -USR1 "$1" 2>/dev/null || return 0
    for i in $(seq 50); do
        [ "$(grep -c 'status:' "$2")" -gt "$n0" ] && break
        sleep 0.02
    done
    grep 'status:' "$2" | tail -1 | tr ' ' '\n' | sed -n 's/^\([a-z_0-9]*\)=\([0-9][0-9]*\)$/\1 \2/p'
}

count_one() { # peer mode test
    local peer=$1 mode=$2 test=$3 pin=() pids main ctl ack pp wp r0 r1 t0 t1
    start_peer "$peer" "$mode"
    tls_check "$peer" "$mode" "$W/tlscheck.txt"
    pids=$(pg_pids "$PROXY_PG" | paste -sd,)
    main=$(proxy_main_pid)
    wrk_args "$test"
    [ "$mode" = 1w ] && [ -n "$LOAD_CPUS" ] && pin=(taskset -c "$LOAD_CPUS")
    ctl="$PEER_DIR/perf-ctl.fifo"
    ack="$PEER_DIR/perf-ack.fifo"
    rm -f "$ctl" "$ack"
    mkfifo "$ctl" "$ack"
    # Counting starts disabled (-D -1); opening ~700 tracepoints per thread
    # takes a while, so wait for perf to answer a ping before loading.
    perf stat -x, --per-thread -D -1 --control "fifo:$ctl,$ack" -e 'syscalls:sys_enter_*' \
        -p "$pids" -o "$PEER_DIR/perf-$test.csv" >"$PEER_DIR/perf-$test.log" 2>&1 &
    pp=$!
    exec {cfd}<>"$ctl" {afd}<>"$ack"
    echo ping >&"$cfd"
    read -r -t 300 -u "$afd" _ || die "perf stat did not start (see $PEER_DIR/perf-$test.log)"
    wait_quiet
    "${pin[@]}" wrk -d"$((DUR + 4))s" "${WRK_ARGS[@]}" >"$PEER_DIR/wrk-$test.txt" 2>&1 &
    wp=$!
    sleep 2
    [ "$peer" = memtls ] && memtls_counters "$main" "$PEER_DIR/stdout.log" >"$PEER_DIR/counters0-$test"
    pg_threads "$PROXY_PG" >"$PEER_DIR/threads0-$test"
    r0=$(backend_requests)
    t0=$(date +%s.%N)
    echo enable >&"$cfd"
    read -r -t 10 -u "$afd" _
    sleep "$DUR"
    echo disable >&"$cfd"
    read -r -t 10 -u "$afd" _
    r1=$(backend_requests)
    t1=$(date +%s.%N)
    pg_threads "$PROXY_PG" >"$PEER_DIR/threads1-$test"
    [ "$peer" = memtls ] && memtls_counters "$main" "$PEER_DIR/stdout.log" >"$PEER_DIR/counters1-$test"
    wait "$wp"
    kill -INT "$pp" 2>/dev/null
    wait "$pp"
    exec {cfd}>&- {afd}>&-
    stop_peer
    # one status query per reading
    local reqs=$((r1 - r0 - 1)) secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
    log "$peer $mode $test: $reqs requests in ${secs}s"
    # per thread: CPU, switches, syscalls (perf names threads comm-tid)
    awk -v peer="$peer" -v mode="$mode" -v test="$test" -v reqs="$reqs" -v secs="$secs" '
        FILENAME ~ /\/perf-[a-z]+\.csv$/ { split($0, f, ","); n = split(f[1], c, "-"); tid = c[n]
                             if (f[2] ~ /^[0-9]+$/) { sc[tid] += f[2]; ev = f[4]; sub(/^syscalls:sys_enter_/, "", ev)
                                 if (f[2] > 0) print peer "\t" mode "\t" test "\t" reqs "\t" tid "\t" ev "\t" f[2] > "/dev/stderr" }
                             next }
        FILENAME ~ /\/threads0-[a-z]+$/ { split($0, a, " "); ns0[a[2]] = a[4]; v0[a[2]] = a[5]; n0[a[2]] = a[6]; next }
        { split($0, a, " "); name[a[2]] = a[3]; ns1[a[2]] = a[4]; v1[a[2]] = a[5]; n1[a[2]] = a[6] }
        END { for (t in name) printf "%s\t%s\t%s\t%d\t%s\t%s\t%.0f\t%d\t%d\t%d\n", peer, mode, test, reqs, secs,
                  name[t], (ns1[t] - ns0[t]) / 1000, v1[t] - v0[t], n1[t] - n0[t], sc[t] + 0 }' \
        "$PEER_DIR/perf-$test.csv" "$PEER_DIR/threads0-$test" "$PEER_DIR/threads1-$test" \
        >>"$W/counts.tsv" 2>"$PEER_DIR/syscalls-$test.tsv"
    # thread ids -> names for the syscall table
    awk -F'\t' 'NR == FNR { split($0, a, " "); name[a[2]] = a[3]; next }
        { $5 = ($5 in name) ? name[$5] : $5; print }' OFS='\t' \
        "$PEER_DIR/threads1-$test" "$PEER_DIR/syscalls-$test.tsv" >>"$W/syscalls.tsv"
    if [ "$peer" = memtls ]; then
        awk -v peer="$peer" -v mode="$mode" -v test="$test" -v reqs="$reqs" \
            'NR == FNR { c0[$1] = $2; next } { printf "%s\t%s\t%s\t%d\t%s\t%d\n", peer, mode, test, reqs, $1, $2 - c0[$1] }' \
            "$PEER_DIR/counters0-$test" "$PEER_DIR/counters1-$test" >>"$W/counters.tsv"
    fi
}

for mode in $MODES; do
    pin_backend "$mode"
    for peer in $PEERS; do
        for test in $TESTS; do
            log "== $peer, mode $mode, test $test"
            count_one "$peer" "$mode" "$test"
        done
    done
done
echo "finished: $(date -u +%FT%TZ)" >>"$W/env.txt"
python3 "$BENCH_DIR/counts_report.py" "$W" || die "report failed"
log "results in $W"
