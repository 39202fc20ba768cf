# shellcheck shell=bash
# Common parts of bench/peers.sh, counts.sh, profile.sh and scaling.sh:
# packages, the memtls build, a plaintext nginx backend, the TLS proxies
# (memtls, nginx stream, HAProxy, hitch) with identical TLS settings, CPU
# accounting from /proc, and the "foreign load" watch that tells whether
# other work on the machine disturbed a run. Sourced, not run.
#
# Everything listens on 127.0.0.1. Only processes started here are stopped,
# each by its own process-group id.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
NCPU=$(nproc)
CLK_TCK=$(getconf CLK_TCK)

BPORT=${BPORT:-18080}
LPORT=${LPORT:-18443}
QUIET_WAIT=${QUIET_WAIT:-180}
QUIET_MAX=${QUIET_MAX:-0.10}
MEMTLS_BIN=${MEMTLS_BIN:-}
MEMTLS_ARGS=${MEMTLS_ARGS:-}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- packages
# Debian packages the benchmarks need, installed when missing (as root).
ensure_packages() { # extra package names...
    local p missing=()
    local pkgs=(build-essential cmake ninja-build pkg-config libssl-dev libuv1-dev
        openssl nginx libnginx-mod-stream haproxy hitch wrk curl python3 iproute2 procps
        util-linux "$@")
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (run as root to install them)"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
}

# Build the memtls command (RelWithDebInfo, so profiles have symbols) in
# $BUILD_DIR unless MEMTLS_BIN names one already.
build_memtls() {
    if [ -n "$MEMTLS_BIN" ]; then
        [ -x "$MEMTLS_BIN" ] || die "--memtls $MEMTLS_BIN is not an executable"
        MEMTLS_BIN=$(cd "$(dirname "$MEMTLS_BIN")" && pwd)/$(basename "$MEMTLS_BIN")
        return 0
    fi
    log "building memtls (RelWithDebInfo) in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD_DIR.cmake.log" 2>&1 ||
        { cat "$BUILD_DIR.cmake.log" >&2; die "cmake configure failed"; }
    cmake --build "$BUILD_DIR" -j2 --target memtls >"$BUILD_DIR.build.log" 2>&1 ||
        { tail -30 "$BUILD_DIR.build.log" >&2; die "building memtls failed"; }
    rm -f "$BUILD_DIR.cmake.log" "$BUILD_DIR.build.log"
    MEMTLS_BIN=$BUILD_DIR/memtls
    [ -x "$MEMTLS_BIN" ] || die "no memtls binary in $BUILD_DIR"
}

# Output directory: results, generated configs, logs. Default:
# build-bench/out/NAME-TIMESTAMP (git-ignored like every build*/).
make_workdir() { # dir-or-empty name -> W
    local out=$1
    [ -n "$out" ] || out="$ROOT/build-bench/out/$2-$(date +%Y%m%d-%H%M%S)"
    mkdir -p "$out" || die "cannot create $out"
    W=$(cd "$out" && pwd)
    # The backend's nginx workers run as nobody and serve files from here.
    chmod a+rx "$W" "$(dirname "$W")" "$(dirname "$(dirname "$W")")" 2>/dev/null || true
}

# ---------------------------------------------------------------- processes
STARTED=()
LAST_PG=""
start_pg() { # logfile cpus cmd... ; sets LAST_PG to the new process group id
    local logf=$1 cpus=$2
    shift 2
    # Without job control a background child is no group leader, so setsid
    # does not fork: $! is the new session/group id (checked below).
    if [ -n "$cpus" ]; then
        setsid taskset -c "$cpus" "$@" >"$logf" 2>&1 </dev/null &
    else
        setsid "$@" >"$logf" 2>&1 </dev/null &
    fi
    LAST_PG=$!
    STARTED+=("$LAST_PG")
    local i pg=""
    for i in $(seq 20); do
        pg=$(ps -o pgid= -p "$LAST_PG" 2>/dev/null | tr -d ' ')
        [ "$pg" = "$LAST_PG" ] && return 0
        [ -z "$pg" ] && return 0 # already exited; wait_listen reports it
        sleep 0.05
    done
    die "process $LAST_PG did not become a process group leader"
}
stop_pg() {
    local pg=$1 i
    kill -0 -- "-$pg" 2>/dev/null || return 0
    kill -TERM -- "-$pg" 2>/dev/null
    for i in $(seq 100); do
        kill -0 -- "-$pg" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pg" 2>/dev/null
    sleep 0.2
}
cleanup() {
    local pg
    for pg in "${STARTED[@]}"; do stop_pg "$pg"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
wait_listen() { # port pgid
    local i
    for i in $(seq 100); do
        port_busy "$1" && return 0
        kill -0 -- "-$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
pg_pids() { pgrep -g "$1" 2>/dev/null; }
pg_ticks() { # utime+stime of all processes in a group, in clock ticks
    local t=0 p line rest
    for p in $(pg_pids "$1"); do
        read -r line <"/proc/$p/stat" 2>/dev/null || continue
        rest=${line##*) }
        # shellcheck disable=SC2086
        set -- $rest
        t=$((t + ${12} + ${13}))
    done
    echo "$t"
}
# One line per thread of the group: "pid tid name cpu_ns voluntary nonvoluntary".
# Threads that set no name of their own are named after their place: the
# main thread "main", the others "t1", "t2", ... in creation (tid) order;
# in a group of several processes (nginx, hitch: master and workers) the
# process's place comes first: "nginx#2:main" is the second process.
pg_threads() {
    local p t comm pcomm pname i k=0 n ns vol nvol
    n=$(pg_pids "$1" | wc -l)
    for p in $(pg_pids "$1" | sort -n); do
        pcomm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
        k=$((k + 1))
        pname=$pcomm
        [ "$n" -gt 1 ] && pname="$pcomm#$k"
        i=0
        for t in $(ls "/proc/$p/task" 2>/dev/null | sort -n); do
            comm=$(cat "/proc/$p/task/$t/comm" 2>/dev/null) || continue
            read -r ns _ <"/proc/$p/task/$t/schedstat" 2>/dev/null || ns=0
            vol=$(awk '/^voluntary_ctxt_switches/{print $2}' "/proc/$p/task/$t/status" 2>/dev/null)
            nvol=$(awk '/^nonvoluntary_ctxt_switches/{print $2}' "/proc/$p/task/$t/status" 2>/dev/null)
            if [ "$t" = "$p" ]; then
                comm="$pname:main"
            elif [ "$comm" = "$pcomm" ]; then
                i=$((i + 1))
                comm="$pname:t$i"
            else
                comm="$pname:$comm"
            fi
            echo "$p $t ${comm// /_} ${ns:-0} ${vol:-0} ${nvol:-0}"
        done
    done
}
sys_ticks() { # busy total (all CPUs)
    local u n s i w irq sirq st
    read -r _ u n s i w irq sirq st _ </proc/stat
    echo "$((u + n + s + irq + sirq + st)) $((u + n + s + i + w + irq + sirq + st))"
}
pg_mem_kb() { # rss pss, summed over the group
    local p r=0 q=0 v
    for p in $(pg_pids "$1"); do
        v=$(awk '/^Rss:/{r=$2} /^Pss:/{q=$2} END{print r+0, q+0}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
        r=$((r + ${v% *}))
        q=$((q + ${v#* }))
    done
    echo "$r $q"
}

# Foreign load: CPU ticks of user processes outside the benchmark (its own
# process group, the backend's and the proxy's). Kernel threads (pgrp 0) are
# left out: loopback softirq work lands there and is caused by the load.
proc_snapshot() { # "pid pgrp ticks" for every process
    cat /proc/[0-9]*/stat 2>/dev/null |
        awk '{ n = split($0, a, ") "); split(a[n], f, " "); print $1, f[3], f[12] + f[13] }'
}
SELF_PG=$(ps -o pgid= -p $$ | tr -d ' ')
BACK_PG=""
PROXY_PG=""
foreign_ticks() { # before after
    awk -v ex=" 0 $SELF_PG ${BACK_PG:-x} ${PROXY_PG:-x} " \
        'NR == FNR { b[$1] = $3; next }
         index(ex, " " $2 " ") == 0 { d = $3 - (($1 in b) ? b[$1] : 0); if (d > 0) s += d }
         END { print s + 0 }' "$1" "$2"
}
# Wait (up to QUIET_WAIT s) until processes outside the benchmark use less
# than QUIET_MAX cores. Appends the seconds waited to $W/quiet-waits.
wait_quiet() {
    local t0 waited=0 f
    t0=$(date +%s)
    while :; do
        proc_snapshot >"$W/.q0"
        sleep 1
        proc_snapshot >"$W/.q1"
        f=$(awk -v t="$(foreign_ticks "$W/.q0" "$W/.q1")" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t / hz}')
        waited=$(($(date +%s) - t0))
        if awk -v f="$f" -v m="$QUIET_MAX" 'BEGIN{exit !(f < m)}'; then
            echo "$waited" >>"$W/quiet-waits"
            return 0
        fi
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            log "WARNING: foreign load still $f cores after ${waited}s; measuring anyway"
            echo "$waited" >>"$W/quiet-waits"
            return 0
        fi
        [ $((waited % 15)) -lt 2 ] && log "waiting for foreign load ($f cores) to drop below $QUIET_MAX"
    done
}

# ---------------------------------------------------------------- fixtures
# CPU sets for mode 1w: the proxy on the last CPU, wrk and backend on the rest.
if [ "$NCPU" -ge 2 ]; then
    PROXY_CPUS=$((NCPU - 1))
    LOAD_CPUS=$([ "$NCPU" -eq 2 ] && echo 0 || echo "0-$((NCPU - 2))")
else
    PROXY_CPUS=""
    LOAD_CPUS=""
fi
ALL_CPUS="0-$((NCPU - 1))"

# Certificate, the OPENSSL_CONF that turns tickets off, the backend's files.
make_fixtures() {
    if [ ! -s "$W/cert.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$W/key.pem" -out "$W/cert.pem" -days 30 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null ||
            die "certificate generation failed"
    fi
    cat "$W/cert.pem" "$W/key.pem" >"$W/combined.pem"
    cat >"$W/openssl-bench.cnf" <<EOF
# Given to every proxy as OPENSSL_CONF: no TLS 1.3 session tickets (applied
# by OpenSSL to every SSL_CTX the process creates, so it covers proxies that
# have no switch of their own).
openssl_conf = bench_init
[bench_init]
ssl_conf = bench_ssl
[bench_ssl]
system_default = bench_sys
[bench_sys]
NumTickets = 0
EOF
    NGINX_MODDIR=$(nginx -V 2>&1 | tr ' ' '\n' | sed -n 's/^--modules-path=//p')
    [ -n "$NGINX_MODDIR" ] || NGINX_MODDIR=/usr/lib/nginx/modules
    mkdir -p "$W/backend/www" "$W/backend/tmp"
    head -c 128 /dev/zero | tr '\0' 'a' >"$W/backend/www/small"
    head -c 1048576 /dev/zero | tr '\0' 'b' >"$W/backend/www/big"
    cat >"$W/backend/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $W/backend/nginx.pid;
error_log $W/backend/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    default_type application/octet-stream;
    client_body_temp_path $W/backend/tmp/cb;
    proxy_temp_path $W/backend/tmp/px;
    fastcgi_temp_path $W/backend/tmp/fc;
    uwsgi_temp_path $W/backend/tmp/uw;
    scgi_temp_path $W/backend/tmp/sc;
    server {
        listen 127.0.0.1:$BPORT backlog=4096;
        root $W/backend/www;
        location / { }
        # request counter for counts.sh: requests that went through the proxy
        location = /status { stub_status; }
    }
}
EOF
}

# Requests the backend has served so far (stub_status; this query included).
backend_requests() {
    curl -s --max-time 5 "http://127.0.0.1:$BPORT/status" | awk 'NR == 3 {print $3}'
}

start_backend() {
    port_busy "$BPORT" && die "backend port $BPORT already in use"
    start_pg "$W/backend/stdout.log" "" nginx -p "$W/backend" -e "$W/backend/error.log" -c "$W/backend/nginx.conf"
    BACK_PG=$LAST_PG
    wait_listen "$BPORT" "$BACK_PG" || {
        cat "$W/backend/error.log" >&2
        die "backend did not start"
    }
    log "backend nginx on 127.0.0.1:$BPORT (pgid $BACK_PG)"
}
# The backend shares the load CPUs in mode 1w and floats otherwise.
pin_backend() { # mode
    local p cpus=$ALL_CPUS
    [ "$1" = 1w ] && [ -n "$LOAD_CPUS" ] && cpus=$LOAD_CPUS
    for p in $(pg_pids "$BACK_PG"); do taskset -a -p -c "$cpus" "$p" >/dev/null; done
}

# memtls serve's options, the ticket switch included once serve has one.
memtls_has_no_tickets() { "$MEMTLS_BIN" serve --help 2>&1 | grep -q -- '--no-tickets'; }
memtls_has_groups() { "$MEMTLS_BIN" serve --help 2>&1 | grep -q -- '--groups'; }

# peer_cmd PEER MODE DIR [WORKERS] -> CMD (array), ENVV (array of NAME=VAL).
# Mode 1w: one worker/thread. Mode default: the peer's own multi-core
# default (memtls: no --workers at all). WORKERS, when given, overrides
# both (scaling.sh).
peer_cmd() {
    local peer=$1 mode=$2 d=$3 workers=${4:-}
    CMD=()
    ENVV=("OPENSSL_CONF=$W/openssl-bench.cnf")
    case $peer in
    memtls)
        CMD=("$MEMTLS_BIN" serve --listen "127.0.0.1:$LPORT" --backend "127.0.0.1:$BPORT"
            --cert "$W/cert.pem" --key "$W/key.pem" --min-tls 1.3
            --ciphersuites TLS_AES_128_GCM_SHA256 --max-conns 20000
            --log-level warn) # the peers log nothing per connection either
        memtls_has_no_tickets && CMD+=(--no-tickets)
        # X25519 only, as the peers are configured (older binaries: their default)
        memtls_has_groups && CMD+=(--groups X25519)
        if [ -n "$workers" ]; then
            CMD+=(--workers "$workers")
        elif [ "$mode" = 1w ]; then
            CMD+=(--workers 1)
        fi
        # shellcheck disable=SC2206
        [ -n "$MEMTLS_ARGS" ] && CMD+=($MEMTLS_ARGS)
        ;;
    nginx)
        local wp=auto
        [ "$mode" = 1w ] && wp=1
        [ -n "$workers" ] && wp=$workers
        mkdir -p "$d/tmp"
        cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes $wp;
worker_rlimit_nofile 65536;
pid $d/nginx.pid;
error_log $d/error.log warn;
load_module $NGINX_MODDIR/ngx_stream_module.so;
events { worker_connections 16384; }
stream {
    server {
        listen 127.0.0.1:$LPORT ssl backlog=4096;
        ssl_certificate $W/cert.pem;
        ssl_certificate_key $W/key.pem;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        ssl_ecdh_curve X25519;
        ssl_session_cache off;
        ssl_session_tickets off;
        ssl_conf_command NumTickets 0;
        proxy_pass 127.0.0.1:$BPORT;
    }
}
EOF
        CMD=(nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf")
        ;;
    haproxy)
        local nb="# nbthread: default (all CPUs)"
        [ "$mode" = 1w ] && nb="nbthread 1"
        [ -n "$workers" ] && nb="nbthread $workers"
        cat >"$d/haproxy.cfg" <<EOF
global
    $nb
    maxconn 8000
    tune.ssl.cachesize 0
    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256
    ssl-default-bind-curves X25519
    ssl-default-bind-options ssl-min-ver TLSv1.3 no-tls-tickets
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
frontend tls
    bind 127.0.0.1:$LPORT ssl crt $W/combined.pem
    default_backend be
backend be
    server s1 127.0.0.1:$BPORT
EOF
        CMD=(haproxy -db -f "$d/haproxy.cfg")
        ;;
    hitch)
        local hw=$NCPU
        [ "$mode" = 1w ] && hw=1
        [ -n "$workers" ] && hw=$workers
        cat >"$d/hitch.conf" <<EOF
frontend = "[127.0.0.1]:$LPORT"
backend = "[127.0.0.1]:$BPORT"
pem-file = "$W/combined.pem"
tls-protos = TLSv1.3
ciphersuites = "TLS_AES_128_GCM_SHA256"
ecdh-curve = "X25519"
workers = $hw
backlog = 4096
daemon = off
syslog = off
quiet = on
ocsp-dir = "$d/ocsp"
EOF
        # hitch refuses to run its workers as root
        if [ "$(id -u)" = 0 ]; then
            printf 'user = "nobody"\ngroup = "%s"\n' "$(id -gn nobody)" >>"$d/hitch.conf"
        fi
        mkdir -p "$d/ocsp"
        CMD=(hitch --config="$d/hitch.conf")
        ;;
    *) die "unknown peer $peer" ;;
    esac
}

AFFINITY=""
start_peer() { # peer mode [workers] -> PROXY_PG; config/logs in $W/PEER-MODE[-wN]
    local peer=$1 mode=$2 workers=${3:-} d cpus="" p
    d="$W/$peer-$mode${workers:+-w$workers}"
    mkdir -p "$d"
    port_busy "$LPORT" && die "port $LPORT already in use"
    peer_cmd "$peer" "$mode" "$d" "$workers"
    [ "$mode" = 1w ] && cpus=$PROXY_CPUS
    printf '%s\n' "${ENVV[@]}" "${CMD[@]}" >"$d/cmdline.txt"
    start_pg "$d/stdout.log" "$cpus" env "${ENVV[@]}" "${CMD[@]}"
    PROXY_PG=$LAST_PG
    PEER_DIR=$d
    wait_listen "$LPORT" "$PROXY_PG" || {
        tail -20 "$d/stdout.log" "$d"/*.log >&2 2>/dev/null
        die "$peer ($mode) did not start listening on $LPORT"
    }
    sleep 0.5
    # Some proxies set their own CPU affinity (hitch binds worker N to CPU N);
    # in mode 1w force every thread of every process back onto the proxy CPU.
    if [ -n "$cpus" ]; then
        for p in $(pg_pids "$PROXY_PG"); do taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1; done
    fi
    AFFINITY=$(for p in $(pg_pids "$PROXY_PG"); do
        cat "/proc/$p/task/"*/status 2>/dev/null | awk '/^Cpus_allowed_list/{print $2}' | sort -u | paste -sd/
    done | sort | uniq -c | awk '{printf "%s%sx cpus %s", (NR > 1 ? ", " : ""), $1, $2}')
    AFFINITY="$AFFINITY; threads $(for p in $(pg_pids "$PROXY_PG"); do ls "/proc/$p/task"; done 2>/dev/null | wc -l)"
}
stop_peer() {
    [ -n "$PROXY_PG" ] && stop_pg "$PROXY_PG"
    PROXY_PG=""
    local i
    for i in $(seq 50); do
        port_busy "$LPORT" || return 0
        sleep 0.1
    done
}

# The proxy's main process (memtls: the process itself; nginx, hitch: the
# master; HAProxy: the one process).
proxy_main_pid() { pg_pids "$PROXY_PG" | sort -n | head -1; }

# Check protocol, cipher, key exchange and tickets; a peer that sends a
# session ticket makes the comparison unfair, so that is an error.
TLS_TICKETS=""
tls_check() { # peer mode [file to append to]
    local peer=$1 mode=$2 outf=${3:-/dev/null} out proto cipher kx size
    size=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}/%{size_download}' "https://127.0.0.1:$LPORT/big")
    [ "$size" = "200/1048576" ] || die "$peer ($mode): GET /big through the proxy returned $size"
    out=$(printf 'GET /small HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
        timeout 5 openssl s_client -connect "127.0.0.1:$LPORT" -servername localhost -msg -ign_eof 2>&1)
    proto=$(sed -n 's/^New, \(TLSv[0-9.]*\), Cipher is \(.*\)$/\1/p' <<<"$out" | head -1)
    cipher=$(sed -n 's/^New, TLSv[0-9.]*, Cipher is \(.*\)$/\1/p' <<<"$out" | head -1)
    kx=$(sed -n 's/^Server Temp Key: \([^,]*\).*/\1/p' <<<"$out" | head -1)
    TLS_TICKETS=$(grep -c '^<<< .*NewSessionTicket' <<<"$out")
    printf '%-8s %-8s protocol=%s cipher=%s kx=%s tickets_per_handshake=%s processes: %s\n' \
        "$peer" "$mode" "$proto" "$cipher" "$kx" "$TLS_TICKETS" "$AFFINITY" | tee -a "$outf" >&2
    [ "$proto" = TLSv1.3 ] && [ "$cipher" = TLS_AES_128_GCM_SHA256 ] && [ "$kx" = X25519 ] ||
        die "$peer ($mode) did not negotiate TLSv1.3 / TLS_AES_128_GCM_SHA256 / X25519"
    [ "$TLS_TICKETS" = 0 ] || die "$peer ($mode) sent $TLS_TICKETS session ticket(s) per handshake; tickets must be off for every proxy"
}

# wrk's arguments for a test: ka (keep-alive 128 B), close (one request per
# connection: a full handshake each), bulk (1 MiB responses).
WRK_CONNS=${WRK_CONNS:-32}
WRK_BULK_CONNS=${WRK_BULK_CONNS:-8}
wrk_args() { # test -> WRK_ARGS (array), TEST_BODY
    case $1 in
    ka) WRK_ARGS=(-t1 -c"$WRK_CONNS" --latency "https://127.0.0.1:$LPORT/small") TEST_BODY=128 ;;
    close) WRK_ARGS=(-t1 -c"$WRK_CONNS" --latency -H "Connection: close" "https://127.0.0.1:$LPORT/small") TEST_BODY=128 ;;
    bulk) WRK_ARGS=(-t1 -c"$WRK_BULK_CONNS" --latency "https://127.0.0.1:$LPORT/big") TEST_BODY=1048576 ;;
    *) die "unknown test $1" ;;
    esac
}

# The machine and the versions of everything measured.
print_env() {
    echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "versions: $("$MEMTLS_BIN" --version 2>&1 | head -1); $(openssl version); $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(haproxy -v 2>&1 | head -1 | awk '{print "HAProxy", $3}'); $(hitch --version 2>&1 | head -1); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'); libuv $(dpkg-query -W -f='${Version}' libuv1 2>/dev/null)"
    echo "memtls commit: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
}
