#!/usr/bin/env bash
# How memtls serve's keep-alive and handshake throughput would scale from
# 1 worker on 1 core to 2 workers on 2 cores if the load generator ran on
# another machine, estimated on a machine where it cannot: from the CPU
# each proxy thread spends per request. Run with --help.
set -u -o pipefail
# shellcheck source=bench/peers-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"

PEERS="memtls nginx"
TESTS="ka close"
RUNS=3
DUR=10
OUT=""

usage() {
    cat <<EOF
usage: bench/scaling.sh [options]

The question: with the load generator elsewhere, is throughput with 2
workers on 2 cores >= 1.8 x throughput with 1 worker on 1 core? Here wrk
and the backend share the machine's 2 cores with the proxy, so the
throughput wrk sees says more about the CPUs it left to the proxy than
about the proxy. What can be measured exactly is the CPU time every proxy
thread spends per request. So, for each configuration

  1x1  --workers 1 (nginx: worker_processes 1), the proxy pinned to one CPU,
       wrk and the backend on the other (mode 1w of bench/peers.sh)
  2x2  --workers 2 (nginx: 2), nothing pinned

run the load, take per thread t its CPU seconds per request c_t
(/proc/PID/task/TID/schedstat over a window in the middle of the load,
requests counted by the backend in the same window), and compute the
capacity on P cores given to the proxy alone:

  X(P) = min( 1 / max_t c_t ,  P / sum_t c_t )

(no thread can use more than one core; all threads together no more than
P cores). Scaling = X_2x2(2) / X_1x1(1). The thread that sets the first
term is the serial bottleneck (memtls: its one host I/O thread).
Assumptions (see docs/performance.md): work-conserving scheduling; per
request CPU does not grow when the load generator moves away (it shrinks,
if anything: no cache sharing with wrk, more batching at full load, so the
estimate is conservative); wake-up latency between threads is hidden by
concurrency (32 connections); loopback network cost is charged as it is
here (partly to wrk's CPU, equally for every proxy). nginx is measured the
same way as a check of the model: its workers share nothing, so it should
come out near 2.0.

Options:
  --peers "LIST"   subset of "memtls nginx haproxy hitch" (default "$PEERS")
  --tests "LIST"   subset of "ka close bulk" (default "$TESTS")
  --runs N         runs per configuration, medians reported (default $RUNS)
  --duration S     measuring window in seconds (default $DUR)
  --memtls BIN     use this memtls binary instead of building one
  --memtls-args "A" extra arguments for memtls serve
  --out DIR        results directory (default build-bench/out/scaling-TIMESTAMP)
  --quiet-wait S   wait up to S s for a quiet machine first (default $QUIET_WAIT)
  -h, --help
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --peers) PEERS=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --memtls) MEMTLS_BIN=$2; shift 2 ;;
    --memtls-args) MEMTLS_ARGS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quiet-wait) QUIET_WAIT=$2; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$DUR" =~ ^[1-9][0-9]*$ ]] || die "--duration needs a positive number of seconds"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"
[ "$NCPU" -ge 2 ] || die "needs at least 2 CPUs"

ensure_packages
build_memtls
make_workdir "$OUT" scaling
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
make_fixtures
{
    print_env
    echo "command: bench/scaling.sh $ARGS"
    echo "started: $(date -u +%FT%TZ)"
} >"$W/env.txt"
cat "$W/env.txt" >&2
: >"$W/quiet-waits"
start_backend
printf 'peer\tconfig\ttest\trun\trequests\tseconds\trps\tthread\tcpu_us\tforeign_cores\n' >"$W/threads.tsv"

measure() { # peer config test run
    local peer=$1 config=$2 test=$3 run=$4 mode workers pin=() wp r0 r1 t0 t1
    if [ "$config" = 1x1 ]; then mode=1w workers=1; else mode=default workers=2; fi
    pin_backend "$mode"
    start_peer "$peer" "$mode" "$workers"
    [ "$run" = 1 ] && [ "$test" = "${TESTS%% *}" ] && tls_check "$peer" "$mode" "$W/tlscheck.txt"
    wrk_args "$test"
    [ "$mode" = 1w ] && pin=(taskset -c "$LOAD_CPUS")
    wait_quiet
    "${pin[@]}" wrk -d"$((DUR + 4))s" "${WRK_ARGS[@]}" >"$PEER_DIR/wrk-$test-$run.txt" 2>&1 &
    wp=$!
    sleep 2
    proc_snapshot >"$W/.f0"
    pg_threads "$PROXY_PG" >"$PEER_DIR/threads0-$test-$run"
    r0=$(backend_requests)
    t0=$(date +%s.%N)
    sleep "$DUR"
    r1=$(backend_requests)
    t1=$(date +%s.%N)
    pg_threads "$PROXY_PG" >"$PEER_DIR/threads1-$test-$run"
    proc_snapshot >"$W/.f1"
    wait "$wp"
    local reqs=$((r1 - r0 - 1)) secs ft
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
    ft=$(awk -v t="$(foreign_ticks "$W/.f0" "$W/.f1")" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN{printf "%.2f", t / hz / s}')
    stop_peer
    awk -v peer="$peer" -v config="$config" -v test="$test" -v run="$run" -v reqs="$reqs" \
        -v secs="$secs" -v ft="$ft" '
        NR == FNR { ns0[$2] = $4; next }
        { printf "%s\t%s\t%s\t%s\t%d\t%s\t%.0f\t%s\t%.0f\t%s\n", peer, config, test, run, reqs, secs,
              reqs / secs, $3, ($4 - ns0[$2]) / 1000, ft }' \
        "$PEER_DIR/threads0-$test-$run" "$PEER_DIR/threads1-$test-$run" >>"$W/threads.tsv"
    log "$peer $config $test run $run: $reqs requests in ${secs}s, foreign $ft cores"
}

for run in $(seq "$RUNS"); do
    for peer in $PEERS; do
        for test in $TESTS; do
            for config in 1x1 2x2; do
                log "== $peer $config $test, run $run/$RUNS"
                measure "$peer" "$config" "$test" "$run"
            done
        done
    done
done
echo "finished: $(date -u +%FT%TZ)" >>"$W/env.txt"

python3 - "$W" <<'EOF' || die "report failed"
import collections, os, statistics, sys
w = sys.argv[1]
env = open(os.path.join(w, "env.txt")).read().splitlines()
envd = {l.split(":", 1)[0]: l.split(":", 1)[1].strip() for l in env if ":" in l}
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(w, "threads.tsv"))][1:]
runs = collections.defaultdict(list)  # (peer, config, test, run) -> [(thread, c_us)]
meta = {}
for peer, config, test, run, reqs, secs, rps, thread, cpu_us, ft in rows:
    k = (peer, config, test, run)
    meta[k] = (int(reqs), float(rps), float(ft))
    if int(reqs) > 0:
        runs[k].append((thread, float(cpu_us) / int(reqs)))
def capacity(ths, p):
    busy = [c for _, c in ths if c > 0]
    return min(1e6 / max(busy), p * 1e6 / sum(busy)), max(ths, key=lambda x: x[1])
names = {"ka": "keep-alive 128 B", "close": "one request per connection (handshake)", "bulk": "1 MiB"}
out = [f"Generated by `{envd.get('command')}` ({envd.get('started')} – {envd.get('finished')}); "
       f"{env[0]}; {envd.get('versions')}; memtls at `{envd.get('memtls commit')}`.", ""]
out.append("| peer | test | config | measured req/s | proxy CPU µs/req (all threads) | "
           "busiest thread µs/req | modelled capacity req/s | modelled scaling 2x2 / 1x1 | "
           "measured req/s ratio (wrk on the same cores) | foreign cores (max) |")
out.append("|---|---|---|---|---|---|---|---|---|---|")
cases = []
for peer, config, test, run in sorted(runs, key=lambda k: (k[0], k[2], k[1], k[3])):
    if (peer, test) not in cases:
        cases.append((peer, test))
for peer, test in cases:
    per = {}
    for config, p in (("1x1", 1), ("2x2", 2)):
        ks = [k for k in runs if k[:3] == (peer, config, test)]
        caps = {k[3]: capacity(runs[k], p) for k in ks}
        per[config] = dict(
            caps=caps,
            rps=statistics.median(meta[k][1] for k in ks),
            tot=statistics.median(sum(c for _, c in runs[k]) for k in ks),
            top=statistics.median(max(c for _, c in runs[k]) for k in ks),
            topname=collections.Counter(capacity(runs[k], p)[1][0] for k in ks).most_common(1)[0][0],
            cap=statistics.median(c[0] for c in caps.values()),
            ft=max(meta[k][2] for k in ks))
    ratios = [per["2x2"]["caps"][r][0] / per["1x1"]["caps"][r][0]
              for r in per["1x1"]["caps"] if r in per["2x2"]["caps"]]
    rr = f"{statistics.median(ratios):.2f}" + (f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else "")
    mr = per["2x2"]["rps"] / per["1x1"]["rps"]
    for config in ("1x1", "2x2"):
        c = per[config]
        out.append(f"| {peer} | {names.get(test, test)} | {config} | {c['rps']:.0f} | {c['tot']:.1f} | "
                   f"{c['top']:.1f} ({c['topname']}) | {c['cap']:.0f} | "
                   f"{rr if config == '2x2' else ''} | {f'{mr:.2f}' if config == '2x2' else ''} | {c['ft']:.2f} |")
out.append("")
out.append("Per thread, CPU µs per request (median over runs):")
out.append("")
out.append("| peer | test | config | thread | µs/req |")
out.append("|---|---|---|---|---|")
for peer, test in cases:
    for config in ("1x1", "2x2"):
        acc = collections.defaultdict(list)
        for k, ths in runs.items():
            if k[:3] == (peer, config, test):
                for t, c in ths:
                    acc[t].append(c)
        for t in sorted(acc):
            m = statistics.median(acc[t])
            if m >= 0.05:
                out.append(f"| {peer} | {names.get(test, test)} | {config} | {t} | {m:.1f} |")
text = "\n".join(out) + "\n"
open(os.path.join(w, "scaling.md"), "w").write(text)
sys.stdout.write(text)
EOF
log "results in $W"
