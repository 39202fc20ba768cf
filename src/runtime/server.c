/*
 * server.c - the public server API: options and their defaults, building
 * the hosts, workers and channels, the threads' lifecycle, reload, stats.
 * See include/memtls/server.h. The threads' work is in host.c (I/O) and
 * worker.c (TLS).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "host.h"
#include "metrics.h"
#include "procs.h"
#include "sandbox.h"
#include "worker.h"

#define DEFAULT_MAX_CONNS 10000u
#define DEFAULT_HS_TIMEOUT_MS 10000u
#define DEFAULT_IDLE_TIMEOUT_MS 300000u
#define DEFAULT_CLOSE_TIMEOUT_MS 5000u
#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_LINGER_MS 2000u
#define DEFAULT_RING_CAPACITY (256u * 1024)
#define DEFAULT_WRITE_WINDOW (64u * 1024)
/* Session bounds for the runtime's connections (smaller than a lone
 * session's defaults: a connection whose peer stops reading holds at most
 * about these plus the window, see docs/runtime.md). */
#define DEFAULT_PLAINTEXT_IN (16u * 1024)
#define DEFAULT_PLAINTEXT_OUT (16u * 1024)
#define DEFAULT_CIPHERTEXT_OUT (32u * 1024)
#define DEFAULT_CIPHERTEXT_IN (32u * 1024)

/* --- helpers every runtime file uses ---------------------------------------- */

void memtls__log(memtls_server *srv, memtls_log_level level, const char *fmt, ...)
{
    if (srv->on_log == NULL || level > srv->log_level) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    srv->on_log(srv->log_arg, level, line);
}

uint64_t memtls__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int memtls__log_limited(memtls_server *srv, uint64_t *last, memtls_log_level level, const char *fmt,
                        ...)
{
    if (srv->on_log == NULL || level > srv->log_level) {
        return 0;
    }
    uint64_t now = memtls__now_ms();
    if (*last != 0 && now - *last < 1000) {
        return 0;
    }
    *last = now;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    srv->on_log(srv->log_arg, level, line);
    return 1;
}

void memtls__format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else {
        snprintf(out, len, "unknown");
    }
}

memtls_config *memtls__server_cfg(memtls_server *srv)
{
    pthread_mutex_lock(&srv->cfg_lock);
    memtls_config *cfg = srv->cfg != NULL ? memtls_config_ref(srv->cfg) : NULL;
    pthread_mutex_unlock(&srv->cfg_lock);
    return cfg;
}

/* --- options ------------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static int usable_server_cfg(memtls_config *cfg)
{
    return cfg != NULL && memtls_config_role(cfg) == MEMTLS_ROLE_SERVER &&
           memtls_config_has_cert(cfg);
}

static int check_opts(const memtls_server_opts *o, char *err, size_t errlen)
{
    if (o->listeners == NULL || o->listener_count == 0) {
        snprintf(err, errlen, "listeners: at least one listener is required");
        return MEMTLS_ERR_INVALID;
    }
    int need_tls = 0;
    for (size_t i = 0; i < o->listener_count; i++) {
        need_tls |= !o->listeners[i].plaintext;
    }
    if (o->isolate && ((need_tls && o->load_tls == NULL) || o->tls != NULL)) {
        snprintf(err, errlen,
                 "isolate: worker processes load the configuration themselves: give load_tls, "
                 "not tls");
        return MEMTLS_ERR_INVALID;
    }
    if (o->tls != NULL && o->load_tls != NULL) {
        snprintf(err, errlen, "tls, load_tls: give one or the other");
        return MEMTLS_ERR_INVALID;
    }
    if (need_tls && o->load_tls == NULL && !usable_server_cfg(o->tls)) {
        snprintf(err, errlen,
                 "tls: a TLS listener needs a server configuration with a "
                 "certificate and key");
        return MEMTLS_ERR_INVALID;
    }
    if (o->user != NULL && !o->isolate) {
        snprintf(err, errlen, "user: only worker processes (isolate) switch users");
        return MEMTLS_ERR_INVALID;
    }
    if (o->app == MEMTLS_APP_PROXY && (o->backend_host == NULL || o->backend_port == 0)) {
        snprintf(err, errlen, "backend: proxy mode needs backend_host and backend_port");
        return MEMTLS_ERR_INVALID;
    }
    if (o->app == MEMTLS_APP_CUSTOM && o->custom.on_data == NULL) {
        snprintf(err, errlen, "custom: on_data is required");
        return MEMTLS_ERR_INVALID;
    }
    if (o->app != MEMTLS_APP_ECHO && o->app != MEMTLS_APP_PROXY && o->app != MEMTLS_APP_CUSTOM) {
        snprintf(err, errlen, "app: unknown application kind %d", (int)o->app);
        return MEMTLS_ERR_INVALID;
    }
    if (o->workers > RT_MAX_THREADS || o->io_threads > RT_MAX_THREADS) {
        snprintf(err, errlen, "%s: at most %u",
                 o->workers > RT_MAX_THREADS ? "workers" : "io_threads", RT_MAX_THREADS);
        return MEMTLS_ERR_INVALID;
    }
    if (o->workers != 0 && o->io_threads != 0 && o->workers < o->io_threads) {
        snprintf(err, errlen,
                 "workers: %u is fewer than io_threads (%u): every I/O thread needs "
                 "a worker",
                 o->workers, o->io_threads);
        return MEMTLS_ERR_INVALID;
    }
    if (o->worker_mode != MEMTLS_WORKERS_AUTO && o->worker_mode != MEMTLS_WORKERS_THREADS &&
        o->worker_mode != MEMTLS_WORKERS_INLINE) {
        snprintf(err, errlen, "worker_mode: unknown mode %d", (int)o->worker_mode);
        return MEMTLS_ERR_INVALID;
    }
    if (o->backend_proxy_protocol != MEMTLS_PROXY_NONE &&
        (o->app != MEMTLS_APP_PROXY || (o->backend_proxy_protocol != MEMTLS_PROXY_V1 &&
                                        o->backend_proxy_protocol != MEMTLS_PROXY_V2))) {
        snprintf(err, errlen,
                 "backend_proxy_protocol: %d is not MEMTLS_PROXY_V1 or _V2, or the application "
                 "is not MEMTLS_APP_PROXY",
                 (int)o->backend_proxy_protocol);
        return MEMTLS_ERR_INVALID;
    }
    if (o->max_connections > RT_SLOT_MASK) {
        snprintf(err, errlen, "max_connections: at most %u", RT_SLOT_MASK);
        return MEMTLS_ERR_INVALID;
    }
    size_t cap = o->ring_capacity;
    if (cap != 0 && (cap < MEMTLS_RING_MIN_CAPACITY || cap > MEMTLS_RING_MAX_CAPACITY ||
                     (cap & (cap - 1)) != 0)) {
        snprintf(err, errlen, "ring_capacity: %zu is not a power of two in %u..%u", cap,
                 MEMTLS_RING_MIN_CAPACITY, MEMTLS_RING_MAX_CAPACITY);
        return MEMTLS_ERR_INVALID;
    }
    return 0;
}

/* CPUs this process may run on (its affinity mask, e.g. under taskset). */
static unsigned usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) {
            return (unsigned)n;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static unsigned clamp_threads(unsigned n)
{
    return n < 1 ? 1 : n > RT_MAX_THREADS ? RT_MAX_THREADS : n;
}

/* The thread layout; see memtls_server_opts in server.h. */
static void resolve_threads(memtls_server *srv, const memtls_server_opts *o)
{
    unsigned cpus = usable_cpus();
    unsigned io = o->io_threads;
    if (io == 0) {
        io = o->workers != 0 && o->workers < cpus ? o->workers : cpus;
    }
    io = clamp_threads(io);
    unsigned workers = o->workers;
    if (o->isolate) {
        /* Processes: the I/O threads move bytes, the workers do the
         * cryptography; a worker per CPU, an I/O thread per four. */
        if (o->io_threads == 0) {
            io = clamp_threads(o->workers != 0 && o->workers < cpus / 4 ? o->workers : cpus / 4);
        }
        if (workers == 0) {
            workers = cpus > io ? cpus : io;
        }
    } else if (workers == 0) {
        workers = cpus > io && cpus - io > io ? cpus - io : io;
    }
    workers = clamp_threads(workers);
    srv->nio = io;
    srv->nworkers = workers;
    switch (o->isolate ? MEMTLS_WORKERS_THREADS : o->worker_mode) {
    case MEMTLS_WORKERS_THREADS:
        srv->worker_threads = 1;
        break;
    case MEMTLS_WORKERS_INLINE:
        srv->worker_threads = 0;
        break;
    case MEMTLS_WORKERS_AUTO:
    default:
        srv->worker_threads = io + workers <= cpus;
        break;
    }
}

/* A numeric backend address is kept as is; a name is resolved by the
 * hosts when connections need it (host_resolve.c). */
static int resolve_backend(memtls_server *srv, const memtls_server_opts *o, char *err,
                           size_t errlen)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)&srv->backend;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv->backend;
    memset(&srv->backend, 0, sizeof srv->backend);
    srv->backend_port = o->backend_port;
    const char *host = o->backend_host;
    size_t len = strlen(host);
    char bare[64];
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof bare) {
        memcpy(bare, host + 1, len - 2); /* "[::1]" as well as "::1" */
        bare[len - 2] = '\0';
        host = bare;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(o->backend_port);
        srv->backend_len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(o->backend_port);
        srv->backend_len = sizeof *a6;
        return 0;
    }
    int ok = len > 0 && len <= 253;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = host[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '-' || ch == '.' || ch == '_';
    }
    if (!ok) {
        snprintf(err, errlen, "backend %s: not an IP address or a host name", o->backend_host);
        return MEMTLS_ERR_INVALID;
    }
    srv->backend_name = dup_str(host);
    if (srv->backend_name == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    return 0;
}

static int copy_opts(memtls_server *srv, const memtls_server_opts *o, char *err, size_t errlen)
{
    srv->nlisteners = o->listener_count;
    srv->listeners = calloc(o->listener_count, sizeof *srv->listeners);
    srv->listener_hosts = calloc(o->listener_count, sizeof *srv->listener_hosts);
    if (srv->listeners == NULL || srv->listener_hosts == NULL) {
        goto nomem;
    }
    for (size_t i = 0; i < o->listener_count; i++) {
        srv->listeners[i] = o->listeners[i];
        const char *host = o->listeners[i].host != NULL ? o->listeners[i].host : "127.0.0.1";
        char given[64];
        if (o->listeners[i].fd > 0) {
            /* A given socket: its own address names it. */
            if (memtls__listen_fd_check(o->listeners[i].fd, given, sizeof given,
                                        &srv->listeners[i].port, err, errlen) != 0) {
                return MEMTLS_ERR_INVALID;
            }
            host = given;
        }
        srv->listener_hosts[i] = dup_str(host);
        if (srv->listener_hosts[i] == NULL) {
            goto nomem;
        }
        srv->listeners[i].host = srv->listener_hosts[i];
    }
    srv->app = o->app;
    if (o->app == MEMTLS_APP_PROXY && resolve_backend(srv, o, err, errlen) != 0) {
        return MEMTLS_ERR_INVALID;
    }
    srv->custom = o->custom;
    resolve_threads(srv, o);
    srv->max_conns = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNS;
    srv->hs_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : DEFAULT_HS_TIMEOUT_MS;
    srv->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
    srv->close_timeout_ms = o->close_timeout_ms ? o->close_timeout_ms : DEFAULT_CLOSE_TIMEOUT_MS;
    srv->connect_timeout_ms =
        o->backend_connect_timeout_ms ? o->backend_connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    srv->linger_ms = o->linger_ms ? o->linger_ms : DEFAULT_LINGER_MS;
    srv->ring_capacity = o->ring_capacity ? o->ring_capacity : DEFAULT_RING_CAPACITY;
    srv->write_window = o->write_window ? o->write_window : DEFAULT_WRITE_WINDOW;
    srv->limits = o->session_limits;
    if (srv->limits.plaintext_in == 0) {
        srv->limits.plaintext_in = DEFAULT_PLAINTEXT_IN;
    }
    if (srv->limits.plaintext_out == 0) {
        srv->limits.plaintext_out = DEFAULT_PLAINTEXT_OUT;
    }
    if (srv->limits.ciphertext_out == 0) {
        srv->limits.ciphertext_out = DEFAULT_CIPHERTEXT_OUT;
    }
    if (srv->limits.ciphertext_in == 0) {
        srv->limits.ciphertext_in = DEFAULT_CIPHERTEXT_IN;
    }
    if (o->allowed_peer_count > 0 && o->allowed_peers != NULL) {
        srv->allowed = calloc(o->allowed_peer_count, sizeof *srv->allowed);
        if (srv->allowed == NULL) {
            goto nomem;
        }
        for (size_t i = 0; i < o->allowed_peer_count; i++) {
            srv->allowed[i] = dup_str(o->allowed_peers[i] != NULL ? o->allowed_peers[i] : "");
            if (srv->allowed[i] == NULL) {
                goto nomem;
            }
            srv->nallowed = i + 1;
        }
    }
    srv->backend_proxy = o->backend_proxy_protocol;
    srv->on_conn_log = o->on_conn_log;
    srv->on_log = o->on_log;
    srv->log_level = o->log_level;
    srv->log_arg = o->log_arg;
    srv->isolate = o->isolate != 0;
    srv->load_tls = o->load_tls;
    srv->load_tls_arg = o->load_tls_arg;
    if (o->user != NULL && memtls__sandbox_user(o->user, &srv->uid, &srv->gid, err, errlen) != 0) {
        return MEMTLS_ERR_INVALID;
    }
    srv->drop_user = o->user != NULL;
    if (o->tls != NULL) {
        srv->cfg = memtls_config_ref(o->tls);
    } else if (o->load_tls != NULL && !srv->isolate) {
        srv->cfg = o->load_tls(o->load_tls_arg, NULL, err, errlen);
        if (srv->cfg == NULL || !usable_server_cfg(srv->cfg)) {
            if (srv->cfg != NULL || err[0] == '\0') {
                snprintf(err, errlen, "load_tls: no server configuration with a certificate");
            }
            return MEMTLS_ERR_CONFIG;
        }
    }
    if (o->metrics || o->metrics_host != NULL) {
        /* With processes, the workers' blocks are shared with them (made
         * now, before the spawner forks). */
        unsigned nblocks = srv->isolate ? srv->nworkers * RT_LINK_SLOTS : srv->nworkers;
        srv->metrics = memtls__metrics_new(srv->nworkers, nblocks, srv->isolate);
        if (srv->metrics == NULL) {
            goto nomem;
        }
        memtls__metrics_set_cert(srv->metrics, srv->cfg);
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return MEMTLS_ERR_NOMEM;
}

const rt_app_ops *memtls__server_app_ops(const memtls_server *srv)
{
    switch (srv->app) {
    case MEMTLS_APP_PROXY:
        return &memtls__app_proxy;
    case MEMTLS_APP_CUSTOM:
        return srv->custom.on_peer_close != NULL ? &memtls__app_custom_half : &memtls__app_custom;
    case MEMTLS_APP_ECHO:
    default:
        return &memtls__app_echo;
    }
}

/* Workers first (each host needs its workers' channels), then the hosts;
 * inline workers go on their host's loop before the host itself. */
static int build(memtls_server *srv, char *err, size_t errlen)
{
    srv->hosts = calloc(srv->nio, sizeof *srv->hosts);
    srv->workers = calloc(srv->nworkers, sizeof *srv->workers);
    srv->chans = calloc(srv->nworkers, sizeof *srv->chans);
    if (srv->hosts == NULL || srv->workers == NULL || srv->chans == NULL) {
        snprintf(err, errlen, "out of memory");
        return MEMTLS_ERR_NOMEM;
    }
    const rt_app_ops *app = memtls__server_app_ops(srv);
    for (unsigned h = 0; h < srv->nio; h++) {
        int rc = memtls__host_new(srv, h, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (srv->isolate) {
        /* The workers are processes: procs.c starts them into the hosts'
         * links. */
        for (unsigned h = 0; h < srv->nio; h++) {
            if (memtls__host_ready(srv->hosts[h]) != 0) {
                snprintf(err, errlen, "cannot start I/O thread %u", h);
                return MEMTLS_ERR_INVALID;
            }
        }
        return memtls__procs_start(srv, err, errlen);
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_host *h = srv->hosts[i % srv->nio];
        rt_worker *w = NULL;
        if (memtls__worker_new(srv, i, app, srv->worker_threads ? NULL : &h->loop.uv, -1, &w) !=
            0) {
            snprintf(err, errlen, "out of memory (worker %u)", i);
            return MEMTLS_ERR_NOMEM;
        }
        srv->workers[i] = w;
        srv->chans[i] = memtls__chan_new(srv->ring_capacity, &h->loop.bell, memtls__worker_bell(w));
        if (srv->chans[i] == NULL) {
            snprintf(err, errlen, "out of memory (worker %u)", i);
            return MEMTLS_ERR_NOMEM;
        }
        w->ch = srv->chans[i];
        memtls__host_attach(h, srv->chans[i]);
        if (!srv->worker_threads && memtls__loop_add(&h->loop, memtls__worker_pump,
                                                     memtls__worker_has_work, NULL, w) != 0) {
            snprintf(err, errlen, "too many workers for one I/O thread");
            return MEMTLS_ERR_INVALID;
        }
    }
    for (unsigned h = 0; h < srv->nio; h++) {
        if (memtls__host_ready(srv->hosts[h]) != 0) {
            snprintf(err, errlen, "cannot start I/O thread %u", h);
            return MEMTLS_ERR_INVALID;
        }
    }
    return 0;
}

/* The metrics endpoint lives on the first I/O thread's loop. */
static int open_metrics(memtls_server *srv, const memtls_server_opts *o, char *err, size_t errlen)
{
    if (o->metrics_host == NULL) {
        return 0;
    }
    return memtls__metrics_http_open(srv, &srv->hosts[0]->loop.uv, o->metrics_host, o->metrics_port,
                                     err, errlen);
}

/* --- lifecycle ------------------------------------------------------------------ */

memtls_server *memtls_server_new(const memtls_server_opts *opts, char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (opts == NULL) {
        snprintf(err, errlen, "opts: NULL");
        return NULL;
    }
    if (check_opts(opts, err, errlen) != 0) {
        return NULL;
    }
    memtls_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&srv->cfg_lock, NULL);
    pthread_mutex_init(&srv->life_lock, NULL);
    pthread_rwlock_init(&srv->chans_lock, NULL);
    /* With worker processes the spawner is forked right after the options
     * are copied: before any listener, thread or key exists here. */
    if (copy_opts(srv, opts, err, errlen) != 0 ||
        (srv->isolate && memtls__procs_new(srv, err, errlen) != 0) ||
        build(srv, err, errlen) != 0 || open_metrics(srv, opts, err, errlen) != 0) {
        memtls_server_free(srv);
        return NULL;
    }
    return srv;
}

static void join_all(memtls_server *srv)
{
    for (unsigned i = 0; i < srv->nio; i++) {
        rt_host *h = srv->hosts[i];
        if (h != NULL && h->thread_started) {
            pthread_join(h->thread, NULL);
            h->thread_started = 0;
        }
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_worker *w = srv->workers[i];
        if (w != NULL && w->thread_started) {
            pthread_join(w->thread, NULL);
            w->thread_started = 0;
        }
    }
}

static void request_stop_all(memtls_server *srv)
{
    for (unsigned i = 0; i < srv->nio; i++) {
        if (srv->hosts[i] != NULL) {
            memtls__host_request_stop(srv->hosts[i]);
        }
    }
}

int memtls_server_start(memtls_server *srv)
{
    if (srv == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    pthread_mutex_lock(&srv->life_lock);
    if (srv->started) {
        pthread_mutex_unlock(&srv->life_lock);
        return MEMTLS_ERR_INVALID;
    }
    for (unsigned i = 0; i < srv->nworkers && srv->worker_threads && !srv->isolate; i++) {
        rt_worker *w = srv->workers[i];
        if (pthread_create(&w->thread, NULL, memtls__worker_main, w) != 0) {
            goto fail;
        }
        w->thread_started = 1;
    }
    if (srv->isolate && memtls__procs_run(srv) != 0) {
        goto fail;
    }
    for (unsigned i = 0; i < srv->nio; i++) {
        rt_host *h = srv->hosts[i];
        if (pthread_create(&h->thread, NULL, memtls__host_main, h) != 0) {
            goto fail;
        }
        h->thread_started = 1;
    }
    srv->started = 1;
    pthread_mutex_unlock(&srv->life_lock);
    return 0;
fail:
    /* Stop what runs: hosts end their workers; workers without a running
     * host are told to exit directly. */
    atomic_store_explicit(&srv->grace_ms, 0, memory_order_relaxed);
    request_stop_all(srv);
    for (unsigned i = 0; i < srv->nworkers && !srv->isolate; i++) {
        rt_host *h = srv->hosts[i % srv->nio];
        if (!h->thread_started) {
            atomic_store_explicit(&srv->chans[i]->sh->exit, 1, memory_order_release);
            memtls__chan_force(srv->chans[i], RT_TO_WORKER);
        }
    }
    join_all(srv);
    pthread_mutex_unlock(&srv->life_lock);
    return MEMTLS_ERR_NOMEM;
}

uint16_t memtls_server_bound_port(const memtls_server *srv, size_t index)
{
    if (srv == NULL || srv->hosts == NULL || srv->hosts[0] == NULL) {
        return 0;
    }
    return memtls__host_port(srv->hosts[0], index);
}

int memtls_server_stop(memtls_server *srv, unsigned grace_ms)
{
    if (srv == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    /* Held for the whole stop: a second caller waits for the first. */
    pthread_mutex_lock(&srv->life_lock);
    if (srv->started && !srv->stopped) {
        atomic_store_explicit(&srv->grace_ms, grace_ms, memory_order_relaxed);
        request_stop_all(srv);
        join_all(srv);
        srv->stopped = 1;
    }
    pthread_mutex_unlock(&srv->life_lock);
    return 0;
}

int memtls_server_reload(memtls_server *srv, memtls_config *cfg)
{
    if (srv == NULL || (srv->isolate && cfg != NULL) || (cfg == NULL && srv->load_tls == NULL)) {
        return MEMTLS_ERR_INVALID;
    }
    if (srv->isolate) {
        return memtls__procs_reload(srv);
    }
    if (cfg == NULL) {
        char err[256] = "";
        memtls_config *prev = memtls__server_cfg(srv);
        cfg = srv->load_tls(srv->load_tls_arg, prev, err, sizeof err);
        memtls_config_free(prev);
        if (cfg == NULL || !usable_server_cfg(cfg)) {
            memtls_config_free(cfg);
            memtls__log(srv, MEMTLS_LOG_ERROR, "reload failed, keeping the configuration: %s",
                        err[0] ? err : "load_tls gave no server configuration with a certificate");
            return MEMTLS_ERR_CONFIG;
        }
        int rc = memtls_server_reload(srv, cfg);
        memtls_config_free(cfg);
        return rc;
    }
    if (!usable_server_cfg(cfg)) {
        return MEMTLS_ERR_INVALID;
    }
    memtls_config_ref(cfg);
    pthread_mutex_lock(&srv->cfg_lock);
    memtls_config *old = srv->cfg;
    srv->cfg = cfg;
    if (srv->metrics != NULL) { /* under the lock: the last reload wins */
        memtls__metrics_set_cert(srv->metrics, cfg);
    }
    pthread_mutex_unlock(&srv->cfg_lock);
    memtls_config_free(old);
    memtls__log(srv, MEMTLS_LOG_INFO, "configuration reloaded");
    return 0;
}

void memtls_server_free(memtls_server *srv)
{
    if (srv == NULL) {
        return;
    }
    (void)memtls_server_stop(srv, 0);
    if (srv->isolate) {
        memtls__procs_halt(srv); /* it posts to the hosts freed below */
    }
    /* Workers first: an inline worker's handles live on its host's loop,
     * which the host frees. */
    for (unsigned i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
        memtls__worker_free(srv->workers[i]);
    }
    /* The endpoint's handles close with host 0's loop, which runs their
     * callbacks when it is freed. */
    if (srv->metrics != NULL) {
        memtls__metrics_http_close(srv->metrics->http);
    }
    for (unsigned i = 0; srv->hosts != NULL && i < srv->nio; i++) {
        memtls__host_free(srv->hosts[i]);
    }
    if (srv->isolate) {
        memtls__procs_free(srv); /* the hosts freed the channels */
    }
    memtls__metrics_free(srv->metrics);
    for (unsigned i = 0; srv->chans != NULL && i < srv->nworkers && !srv->isolate; i++) {
        memtls__chan_free(srv->chans[i]);
    }
    free(srv->workers);
    free(srv->hosts);
    free(srv->chans);
    for (size_t i = 0; i < srv->nlisteners && srv->listener_hosts != NULL; i++) {
        free(srv->listener_hosts[i]);
    }
    free(srv->listener_hosts);
    free(srv->listeners);
    free(srv->backend_name);
    for (size_t i = 0; i < srv->nallowed; i++) {
        free(srv->allowed[i]);
    }
    free(srv->allowed);
    memtls_config_free(srv->cfg);
    pthread_mutex_destroy(&srv->cfg_lock);
    pthread_mutex_destroy(&srv->life_lock);
    pthread_rwlock_destroy(&srv->chans_lock);
    free(srv);
}

/* --- observation ---------------------------------------------------------------- */

static uint64_t load(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)v, memory_order_relaxed);
}

/* Every channel of every link, under the lock (worker processes come and
 * go; readers are on any thread). */
static void each_channel(const memtls_server *srv, void (*fn)(rt_channel *ch, void *arg), void *arg)
{
    pthread_rwlock_rdlock((pthread_rwlock_t *)&srv->chans_lock);
    for (unsigned h = 0; srv->hosts != NULL && h < srv->nio; h++) {
        const rt_host *host = srv->hosts[h];
        for (unsigned i = 0; host != NULL && i < host->nlinks; i++) {
            if (host->links[i].ch != NULL) {
                fn(host->links[i].ch, arg);
            }
        }
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&srv->chans_lock);
}

static void add_failed(rt_channel *ch, void *arg)
{
    *(uint64_t *)arg += load(&ch->sh->conns_failed);
}

uint64_t memtls__server_conns_failed(const memtls_server *srv)
{
    uint64_t n = load(&srv->conns_failed);
    each_channel(srv, add_failed, &n);
    return n;
}

static void add_rings(rt_channel *ch, void *arg)
{
    memtls_server_stats *out = arg;
    memtls_ring_stats a, b;
    memtls_ring_get_stats(ch->ring[RT_TO_WORKER], &a);
    memtls_ring_get_stats(ch->ring[RT_TO_HOST], &b);
    if (a.high_water > out->to_worker_high_water) {
        out->to_worker_high_water = a.high_water;
    }
    if (b.high_water > out->to_host_high_water) {
        out->to_host_high_water = b.high_water;
    }
    out->to_worker_refusals += a.refusals;
    out->to_host_refusals += b.refusals;
    out->ring_messages += load(&ch->sh->messages);
    out->wakeups += load(&ch->sh->signals[RT_TO_WORKER]) + load(&ch->sh->signals[RT_TO_HOST]);
}

int memtls_server_get_stats(const memtls_server *srv, memtls_server_stats *out)
{
    if (srv == NULL || out == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    out->conns_open = load(&srv->conns_open);
    out->conns_total = load(&srv->conns_total);
    out->conns_refused = load(&srv->conns_refused);
    out->conns_failed = memtls__server_conns_failed(srv);
    out->accept_errors = load(&srv->accept_errors);
    out->bytes_in = load(&srv->bytes_in);
    out->bytes_out = load(&srv->bytes_out);
    out->backend_in = load(&srv->backend_in);
    out->backend_out = load(&srv->backend_out);
    out->io_threads = srv->nio;
    out->workers = srv->nworkers;
    out->workers_inline = !srv->worker_threads;
    out->ring_capacity = srv->ring_capacity;
    each_channel(srv, add_rings, out);
    return 0;
}

int memtls_server_get_ring_stats(const memtls_server *srv, unsigned worker,
                                 memtls_ring_stats *to_worker, memtls_ring_stats *to_host)
{
    if (srv == NULL || worker >= srv->nworkers) {
        return MEMTLS_ERR_INVALID;
    }
    pthread_rwlock_rdlock((pthread_rwlock_t *)&srv->chans_lock);
    rt_channel *ch = srv->chans[worker];
    if (to_worker != NULL) {
        memtls_ring_get_stats(ch != NULL ? ch->ring[RT_TO_WORKER] : NULL, to_worker);
    }
    if (to_host != NULL) {
        memtls_ring_get_stats(ch != NULL ? ch->ring[RT_TO_HOST] : NULL, to_host);
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&srv->chans_lock);
    return 0;
}

int memtls_server_worker_pid(const memtls_server *srv, unsigned worker)
{
    if (srv == NULL || !srv->isolate || worker >= srv->nworkers) {
        return 0;
    }
    return memtls__procs_worker_pid(srv, worker);
}
