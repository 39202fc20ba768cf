/*
 * server.c - the public server API: options, lifecycle, reload, stats.
 * See include/memtls/server.h. The threads are in host.c and worker.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

#define DEFAULT_MAX_CONNS 10000u
#define DEFAULT_HS_TIMEOUT_MS 10000u
#define DEFAULT_IDLE_TIMEOUT_MS 300000u
#define DEFAULT_LINGER_MS 2000u
#define DEFAULT_RING_CAPACITY (1u << 20)
#define DEFAULT_WRITE_WINDOW (256u * 1024)

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

memtls_config *memtls__server_cfg(memtls_server *srv)
{
    pthread_mutex_lock(&srv->cfg_lock);
    memtls_config *cfg = srv->cfg != NULL ? memtls_config_ref(srv->cfg) : NULL;
    pthread_mutex_unlock(&srv->cfg_lock);
    return cfg;
}

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
    if (need_tls && !usable_server_cfg(o->tls)) {
        snprintf(err, errlen,
                 "tls: a TLS listener needs a server configuration with a "
                 "certificate and key");
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
    if (o->workers > RT_MAX_WORKERS) {
        snprintf(err, errlen, "workers: at most %u", RT_MAX_WORKERS);
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

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 2) {
        return 1;
    }
    return n - 1 > (long)RT_MAX_WORKERS ? RT_MAX_WORKERS : (unsigned)(n - 1);
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
        srv->listener_hosts[i] = dup_str(host);
        if (srv->listener_hosts[i] == NULL) {
            goto nomem;
        }
        srv->listeners[i].host = srv->listener_hosts[i];
    }
    srv->app = o->app;
    if (o->app == MEMTLS_APP_PROXY) {
        memset(&srv->backend, 0, sizeof srv->backend);
        if (uv_ip4_addr(o->backend_host, o->backend_port, (struct sockaddr_in *)&srv->backend) !=
                0 &&
            uv_ip6_addr(o->backend_host, o->backend_port, (struct sockaddr_in6 *)&srv->backend) !=
                0) {
            snprintf(err, errlen, "backend %s: invalid address (numeric IPv4 or IPv6 expected)",
                     o->backend_host);
            return MEMTLS_ERR_INVALID;
        }
    }
    srv->custom = o->custom;
    srv->nworkers = o->workers ? o->workers : default_workers();
    srv->max_conns = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNS;
    srv->hs_timeout_ms = o->handshake_timeout_ms ? o->handshake_timeout_ms : DEFAULT_HS_TIMEOUT_MS;
    srv->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
    srv->linger_ms = o->linger_ms ? o->linger_ms : DEFAULT_LINGER_MS;
    srv->ring_capacity = o->ring_capacity ? o->ring_capacity : DEFAULT_RING_CAPACITY;
    srv->write_window = o->write_window ? o->write_window : DEFAULT_WRITE_WINDOW;
    srv->limits = o->session_limits;
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
    srv->on_conn_log = o->on_conn_log;
    srv->on_log = o->on_log;
    srv->log_level = o->log_level;
    srv->log_arg = o->log_arg;
    if (o->tls != NULL) {
        srv->cfg = memtls_config_ref(o->tls);
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return MEMTLS_ERR_NOMEM;
}

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
    if (copy_opts(srv, opts, err, errlen) != 0) {
        goto fail;
    }
    srv->workers = calloc(srv->nworkers, sizeof *srv->workers);
    if (srv->workers == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        if (memtls__worker_init(&srv->workers[i], srv, i) != 0) {
            snprintf(err, errlen, "out of memory (worker %u)", i);
            goto fail;
        }
    }
    if (memtls__host_new(srv, err, errlen) != 0) {
        goto fail;
    }
    return srv;
fail:
    memtls_server_free(srv);
    return NULL;
}

static void join_workers(memtls_server *srv)
{
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_worker *w = &srv->workers[i];
        if (w->thread_started) {
            pthread_join(w->thread, NULL);
            w->thread_started = 0;
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
    for (unsigned i = 0; i < srv->nworkers; i++) {
        rt_worker *w = &srv->workers[i];
        if (pthread_create(&w->thread, NULL, memtls__worker_main, w) != 0) {
            goto fail;
        }
        w->thread_started = 1;
    }
    if (pthread_create(&srv->host_thread, NULL, memtls__host_main, srv) != 0) {
        goto fail;
    }
    srv->started = 1;
    pthread_mutex_unlock(&srv->life_lock);
    return 0;
fail:
    for (unsigned i = 0; i < srv->nworkers; i++) {
        atomic_store_explicit(&srv->workers[i].exit, 1, memory_order_release);
        if (srv->workers[i].thread_started) {
            memtls__worker_wake(&srv->workers[i]);
        }
    }
    join_workers(srv);
    pthread_mutex_unlock(&srv->life_lock);
    return MEMTLS_ERR_NOMEM;
}

uint16_t memtls_server_bound_port(const memtls_server *srv, size_t index)
{
    return memtls__host_port(srv, index);
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
        memtls__host_request_stop(srv);
        pthread_join(srv->host_thread, NULL);
        join_workers(srv);
        srv->stopped = 1;
    }
    pthread_mutex_unlock(&srv->life_lock);
    return 0;
}

int memtls_server_reload(memtls_server *srv, memtls_config *cfg)
{
    if (srv == NULL || !usable_server_cfg(cfg)) {
        return MEMTLS_ERR_INVALID;
    }
    memtls_config_ref(cfg);
    pthread_mutex_lock(&srv->cfg_lock);
    memtls_config *old = srv->cfg;
    srv->cfg = cfg;
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
    memtls__host_free(srv);
    if (srv->workers != NULL) {
        for (unsigned i = 0; i < srv->nworkers; i++) {
            memtls__worker_free(&srv->workers[i]);
        }
        free(srv->workers);
    }
    for (size_t i = 0; i < srv->nlisteners && srv->listener_hosts != NULL; i++) {
        free(srv->listener_hosts[i]);
    }
    free(srv->listener_hosts);
    free(srv->listeners);
    for (size_t i = 0; i < srv->nallowed; i++) {
        free(srv->allowed[i]);
    }
    free(srv->allowed);
    memtls_config_free(srv->cfg);
    pthread_mutex_destroy(&srv->cfg_lock);
    pthread_mutex_destroy(&srv->life_lock);
    free(srv);
}

int memtls_server_get_stats(const memtls_server *srv, memtls_server_stats *out)
{
    if (srv == NULL || out == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    memtls_server *m = (memtls_server *)srv; /* atomic loads only */
    memset(out, 0, sizeof *out);
    out->conns_open = atomic_load_explicit(&m->conns_open, memory_order_relaxed);
    out->conns_total = atomic_load_explicit(&m->conns_total, memory_order_relaxed);
    out->conns_refused = atomic_load_explicit(&m->conns_refused, memory_order_relaxed);
    out->conns_failed = atomic_load_explicit(&m->conns_failed, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&m->bytes_in, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&m->bytes_out, memory_order_relaxed);
    out->backend_in = atomic_load_explicit(&m->backend_in, memory_order_relaxed);
    out->backend_out = atomic_load_explicit(&m->backend_out, memory_order_relaxed);
    out->workers = srv->nworkers;
    out->ring_capacity = srv->ring_capacity;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        memtls_ring_stats a, b;
        memtls_ring_get_stats(srv->workers[i].to_worker, &a);
        memtls_ring_get_stats(srv->workers[i].to_host, &b);
        if (a.high_water > out->to_worker_high_water) {
            out->to_worker_high_water = a.high_water;
        }
        if (b.high_water > out->to_host_high_water) {
            out->to_host_high_water = b.high_water;
        }
        out->to_worker_refusals += a.refusals;
        out->to_host_refusals += b.refusals;
    }
    return 0;
}

int memtls_server_get_ring_stats(const memtls_server *srv, unsigned worker,
                                 memtls_ring_stats *to_worker, memtls_ring_stats *to_host)
{
    if (srv == NULL || worker >= srv->nworkers) {
        return MEMTLS_ERR_INVALID;
    }
    if (to_worker != NULL) {
        memtls_ring_get_stats(srv->workers[worker].to_worker, to_worker);
    }
    if (to_host != NULL) {
        memtls_ring_get_stats(srv->workers[worker].to_host, to_host);
    }
    return 0;
}
