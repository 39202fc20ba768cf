#!/usr/bin/env bash
# The cost of one option of memtls serve on the hot path: memtls as a TLS
# proxy in front of the plaintext nginx backend of bench/peers.sh, measured
# without and with the option in the same run, alternating (off/on, then
# on/off, ...) so drift on a shared machine hits both alike. The default
# option is --metrics, and "on" then also scrapes /metrics once a second
# during the load (Prometheus' default is every 15 s); --with "--isolate"
# measures worker processes against worker threads. Reports requests/s and
# proxy CPU per request (utime+stime of every memtls process / requests wrk
# completed; for bulk a request is 1 MiB), median and range per setting,
# and the ratio on/off. bench/metrics_cost.sh is this script's default.
# Run with --help.
set -u -o pipefail
# shellcheck source=bench/peers-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"

RUNS=5
DUR=8
TESTS="ka close"
MODE=1w
WITH=""
WITHOUT=""
NAME=""
OUT=""
MPORT=${MPORT:-19100}
QUIET_WAIT=${QUIET_WAIT:-30}

usage() {
    cat <<EOF
usage: bench/option_cost.sh [options]
  --with "ARGS"     the option(s) measured, added to memtls serve for "on"
                    (default "--metrics 127.0.0.1:\$MPORT", with scrapes)
  --without "ARGS"  what "off" runs with instead (default: nothing), e.g.
                    --without "--worker-threads yes" --with --isolate
  --name NAME       its label in the results (default: metrics)
  --runs N          rounds; each measures off and on once (default $RUNS)
  --duration S      seconds per wrk run (default $DUR)
  --tests LIST      ka (keep-alive, 128 B GETs), close (a handshake per
                    request) and/or bulk (1 MiB GETs), space separated
                    (default "$TESTS")
  --mode 1w|default memtls with one worker pinned to the last CPU, wrk and
                    the backend on the others (1w, default), or memtls' own
                    thread defaults, nothing pinned
  --memtls PATH     the memtls binary (default: build it in build-bench/)
  --out DIR         results directory (default build-bench/out/NAME-cost-TIME)
Environment: QUIET_WAIT (s, default $QUIET_WAIT) and QUIET_MAX (cores) as in
bench/peers.sh; MPORT the metrics port (default 19100).
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --tests) TESTS=$2; shift 2 ;;
    --with) WITH=$2; shift 2 ;;
    --without) WITHOUT=$2; shift 2 ;;
    --name) NAME=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    --memtls) MEMTLS_BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
    esac
done

[ -n "$WITH" ] || WITH="--metrics 127.0.0.1:$MPORT"
[ -n "$NAME" ] || NAME=$([ "$WITH" = "--metrics 127.0.0.1:$MPORT" ] && echo metrics || echo option)
SCRAPE=0
case " $WITH " in *" --metrics "*) SCRAPE=1 ;; esac
ensure_packages
build_memtls
make_workdir "$OUT" "$NAME-cost"
make_fixtures
RES=$W/$NAME-cost.tsv
printf 'setting\ttest\trun\trps\treqs\terrs\tproxy_us_per_req\tscrapes\tforeign_cores\n' >"$RES"
print_env | tee "$W/env.txt" >&2
start_backend
pin_backend "$MODE"

SCRAPER=""
start_scraper() {
    (while :; do
        curl -s --max-time 2 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$MPORT/metrics"
        sleep 1
    done) >"$W/scrapes.log" 2>&1 &
    SCRAPER=$!
}
stop_scraper() {
    [ -n "$SCRAPER" ] && kill "$SCRAPER" 2>/dev/null && wait "$SCRAPER" 2>/dev/null
    SCRAPER=""
}

measure() { # metrics(on|off) test run
    local m=$1 test=$2 run=$3 pin=() of p0 p1 t0 t1
    MEMTLS_ARGS=$WITHOUT
    [ "$m" = on ] && MEMTLS_ARGS=$WITH
    start_peer memtls "$MODE"
    wrk_args "$test"
    [ "$MODE" = 1w ] && [ -n "$LOAD_CPUS" ] && pin=(taskset -c "$LOAD_CPUS")
    of="$W/wrk-$m-$test-$run.txt"
    "${pin[@]}" wrk -t1 -c8 -d1s "https://127.0.0.1:$LPORT/small" >/dev/null 2>&1 # warm up
    wait_quiet
    : >"$W/scrapes.log"
    [ "$m" = on ] && [ "$SCRAPE" = 1 ] && start_scraper
    proc_snapshot >"$W/.f0"
    p0=$(pg_ticks "$PROXY_PG")
    t0=$(date +%s.%N)
    "${pin[@]}" wrk -d"${DUR}s" "${WRK_ARGS[@]}" >"$of" 2>&1
    t1=$(date +%s.%N)
    p1=$(pg_ticks "$PROXY_PG")
    proc_snapshot >"$W/.f1"
    stop_scraper
    local scrapes
    scrapes=$(grep -c '^200$' "$W/scrapes.log")
    if [ "$m" = on ] && [ "$SCRAPE" = 1 ] && [ "$scrapes" -lt 1 ]; then
        die "no successful scrape during the run: $(sort "$W/scrapes.log" | uniq -c)"
    fi
    stop_peer
    awk -v m="$m" -v test="$test" -v run="$run" -v hz="$CLK_TCK" -v pt=$((p1 - p0)) \
        -v sc="$scrapes" -v el="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
        -v ft="$(foreign_ticks "$W/.f0" "$W/.f1")" '
        /^Requests\/sec:/ { rps = $2 }
        /requests in/ { reqs = $1 }
        /Socket errors:/ { gsub(/,/, ""); errs += $4 + $6 + $8 + $10 }
        /Non-2xx/ { errs += $NF }
        END {
            us = reqs > 0 ? pt / hz / reqs * 1e6 : 0
            printf "%s\t%s\t%s\t%.0f\t%d\t%d\t%.2f\t%d\t%.2f\n", m, test, run, rps, reqs, errs, us,
                sc, ft / hz / el
        }' "$of" >>"$RES"
    tail -1 "$RES" | awk -F'\t' '{printf "  '"$NAME"' %-3s %-5s run %s: %s req/s, %s us CPU/request, errors %s, scrapes %s, foreign %s cores\n", $1, $2, $3, $4, $7, $6, $8, $9}' >&2
}

for run in $(seq 1 "$RUNS"); do
    order="off on"
    [ $((run % 2)) -eq 0 ] && order="on off"
    for test in $TESTS; do
        for m in $order; do
            log "run $run/$RUNS: $test, $NAME $m"
            measure "$m" "$test" "$run"
        done
    done
done

# Median and range per setting, and the ratio of the medians.
python3 - "$RES" "$NAME" <<'EOF' | tee "$W/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
name = sys.argv[2]
tests = sorted({r["test"] for r in rows}, key=["ka", "close", "bulk"].index)
print(f"| test | {name} | req/s median (range) | proxy CPU us/request median (range) | runs |")
print("| --- | --- | --- | --- | --- |")
med = {}
for t in tests:
    for m in ("off", "on"):
        sel = [r for r in rows if r["test"] == t and r["setting"] == m]
        rps = [float(r["rps"]) for r in sel]
        us = [float(r["proxy_us_per_req"]) for r in sel]
        med[t, m] = (statistics.median(rps), statistics.median(us))
        print(f"| {t} | {m} | {med[t, m][0]:.0f} ({min(rps):.0f}-{max(rps):.0f}) | "
              f"{med[t, m][1]:.1f} ({min(us):.1f}-{max(us):.1f}) | {len(sel)} |")
print()
# The same round's off and on ran back to back: their ratio cancels most
# of the drift between rounds.
for t in tests:
    by_run = {}
    for r in rows:
        if r["test"] == t:
            by_run.setdefault(r["run"], {})[r["setting"]] = float(r["proxy_us_per_req"])
    pairs = sorted(v["on"] / v["off"] for v in by_run.values() if "on" in v and "off" in v)
    print(f"{t}: on/off of the medians: req/s {med[t, 'on'][0] / med[t, 'off'][0]:.3f}, "
          f"CPU per request {med[t, 'on'][1] / med[t, 'off'][1]:.3f}; CPU per request, "
          f"round by round: median {statistics.median(pairs):.3f} "
          f"(range {pairs[0]:.3f}-{pairs[-1]:.3f}, {len(pairs)} rounds)")
EOF
log "results: $RES"
