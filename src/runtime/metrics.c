/*
 * metrics.c - the counters and histograms of metrics.h, the hooks that
 * fill them, and their rendering in the Prometheus text exposition format
 * (version 0.0.4) for memtls_server_metrics() and GET /metrics.
 *
 * IMPLEMENTATION NOTES
 *
 * Names follow Prometheus' conventions: a memtls_ prefix, base units
 * (seconds, bytes) in the name, _total on counters. Every series of a
 * fixed label set is written even while it is 0, so a dashboard sees it
 * from the first scrape. Labels: worker="0".."63", direction="to_worker"
 * or "to_host", peer="client" or "backend", reason (RT_CLOSE_*), version
 * and resumed for handshakes, subject for the certificate: all bounded by
 * the configuration, none per client.
 *
 * The scrape sums the workers' blocks into the histograms; it reads each
 * value atomically, so a histogram may be a few observations behind its
 * own _count while the workers run (the _count is the sum of the buckets
 * read, so the two always agree with each other).
 *
 * The certificate's subject and not-after are taken from the configuration
 * by the thread that sets it (start, reload), never by the I/O thread that
 * renders: the I/O threads do not touch TLS objects.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#include <memtls/openssl.h>
#include <memtls/version.h>

#include "metrics.h"

/* --- buckets ------------------------------------------------------------------ */

#define US 1000ull
#define MS 1000000ull
#define S 1000000000ull

static const uint64_t ring_bounds[] = {
    1 * US, 2 * US, 5 * US,  10 * US, 20 * US, 50 * US,  100 * US, 200 * US, 500 * US, 1 * MS,
    2 * MS, 5 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS, 1 * S};
static const uint64_t short_bounds[] = {100 * US, 200 * US, 500 * US, 1 * MS,   2 * MS,   5 * MS,
                                        10 * MS,  20 * MS,  50 * MS,  100 * MS, 200 * MS, 500 * MS,
                                        1 * S,    2 * S,    5 * S,    10 * S};
static const uint64_t life_bounds[] = {
    1 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS, 1 * S,
    2 * S,  5 * S,  10 * S, 30 * S,  60 * S,  120 * S, 300 * S,  600 * S,  1800 * S, 3600 * S};

static const struct {
    const uint64_t *bounds;
    size_t n;
} kinds[RT_HIST_KINDS] = {
    {ring_bounds, sizeof ring_bounds / sizeof ring_bounds[0]},
    {short_bounds, sizeof short_bounds / sizeof short_bounds[0]},
    {life_bounds, sizeof life_bounds / sizeof life_bounds[0]},
};

_Static_assert(sizeof life_bounds / sizeof life_bounds[0] <= RT_HIST_MAX_BUCKETS, "buckets");
_Static_assert(sizeof ring_bounds / sizeof ring_bounds[0] <= RT_HIST_MAX_BUCKETS, "buckets");

static void observe(rt_hist *h, rt_hist_kind kind, uint64_t ns)
{
    size_t i = 0;
    while (i < kinds[kind].n && ns > kinds[kind].bounds[i]) {
        i++;
    }
    rt_count(&h->bucket[i], 1);
    rt_count(&h->sum_ns, ns);
}

/* --- close reasons -------------------------------------------------------------- */

static const char *const reason_labels[RT_CLOSE_REASONS] = {
    [RT_CLOSE_CLEAN] = "closed_cleanly",
    [RT_CLOSE_PEER] = "peer_closed",
    [RT_CLOSE_BACKEND] = "backend_closed",
    [RT_CLOSE_APPLICATION] = "application_closed",
    [RT_CLOSE_TRUNCATED] = "truncated",
    [RT_CLOSE_PROTOCOL] = "protocol_error",
    [RT_CLOSE_AUTH] = "auth_failed",
    [RT_CLOSE_NOT_ALLOWED] = "peer_not_allowed",
    [RT_CLOSE_HS_TIMEOUT] = "handshake_timeout",
    [RT_CLOSE_IDLE_TIMEOUT] = "idle_timeout",
    [RT_CLOSE_CLOSE_TIMEOUT] = "close_timeout",
    [RT_CLOSE_RESET] = "reset",
    [RT_CLOSE_BK_CONNECT] = "backend_connect_failed",
    [RT_CLOSE_BK_RESET] = "backend_reset",
    [RT_CLOSE_OVERFLOW] = "input_overflow",
    [RT_CLOSE_STOPPING] = "server_stopping",
    [RT_CLOSE_GRACE_OVER] = "grace_period_over",
    [RT_CLOSE_ERROR] = "error",
};

/* The beginnings of the reason texts the worker writes (wconn.c,
 * app_*.c); anything else is "error". */
static const struct {
    const char *prefix;
    unsigned reason;
} reason_texts[] = {
    {"closed cleanly", RT_CLOSE_CLEAN},
    {"peer closed", RT_CLOSE_PEER},
    {"backend closed", RT_CLOSE_BACKEND},
    {"closed by the application", RT_CLOSE_APPLICATION},
    {"truncated", RT_CLOSE_TRUNCATED},
    {"protocol error", RT_CLOSE_PROTOCOL},
    {"auth failed", RT_CLOSE_AUTH},
    {"peer not allowed", RT_CLOSE_NOT_ALLOWED},
    {"handshake timeout", RT_CLOSE_HS_TIMEOUT},
    {"idle timeout", RT_CLOSE_IDLE_TIMEOUT},
    {"close timeout", RT_CLOSE_CLOSE_TIMEOUT},
    {"connection reset", RT_CLOSE_RESET},
    {"backend connect failed", RT_CLOSE_BK_CONNECT},
    {"backend reset", RT_CLOSE_BK_RESET},
    {"input overflow", RT_CLOSE_OVERFLOW},
    {"server stopping", RT_CLOSE_STOPPING},
    {"refused: server stopping", RT_CLOSE_STOPPING},
    {"server stopped (grace period over)", RT_CLOSE_GRACE_OVER},
};

unsigned memtls__metrics_reason(const char *reason)
{
    for (size_t i = 0; i < sizeof reason_texts / sizeof reason_texts[0]; i++) {
        size_t n = strlen(reason_texts[i].prefix);
        if (strncmp(reason, reason_texts[i].prefix, n) == 0) {
            return reason_texts[i].reason;
        }
    }
    return RT_CLOSE_ERROR;
}

/* --- lifecycle ------------------------------------------------------------------ */

static void *aligned_blocks(size_t n, size_t size)
{
    size_t bytes = n * size;
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (p != NULL) {
        memset(p, 0, bytes); /* all-zero atomics are valid zeroes */
    }
    return p;
}

static size_t shared_len(const rt_metrics *m)
{
    return (m->nblocks * sizeof *m->w + 4095u) & ~(size_t)4095u;
}

rt_metrics *memtls__metrics_new(unsigned nworkers, unsigned nblocks, int shared)
{
    rt_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    m->nworkers = nworkers;
    m->nblocks = nblocks;
    if (shared) {
        void *p =
            mmap(NULL, shared_len(m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        m->w = p == MAP_FAILED ? NULL : p; /* zero-filled */
        m->shared = m->w != NULL;
    } else {
        m->w = aligned_blocks(nblocks, sizeof *m->w);
    }
    m->h = aligned_blocks(nblocks, sizeof *m->h);
    m->block_worker = calloc(nblocks, sizeof *m->block_worker);
    pthread_mutex_init(&m->cert_lock, NULL);
    if (m->w == NULL || m->h == NULL || m->block_worker == NULL) {
        memtls__metrics_free(m);
        return NULL;
    }
    for (unsigned i = 0; i < nblocks; i++) {
        atomic_init(&m->block_worker[i], i % nworkers);
    }
    return m;
}

void memtls__metrics_free(rt_metrics *m)
{
    if (m == NULL) {
        return;
    }
    memtls__metrics_http_free(m->http);
    pthread_mutex_destroy(&m->cert_lock);
    if (m->shared) {
        munmap(m->w, shared_len(m));
    } else {
        free(m->w);
    }
    free(m->h);
    free(m->block_worker);
    free(m);
}

int memtls__cert_info(memtls_config *cfg, char *subject, size_t len, int64_t *not_after)
{
    subject[0] = '\0';
    *not_after = 0;
    int have = 0;
    SSL_CTX *ctx = cfg != NULL ? memtls_config_ssl_ctx(cfg) : NULL;
    X509 *x = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;
    if (x != NULL) {
        struct tm tm;
        const ASN1_TIME *t = X509_get0_notAfter(x);
        if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1) {
            *not_after = (int64_t)timegm(&tm);
            have = 1;
        }
        BIO *b = BIO_new(BIO_s_mem());
        if (b != NULL) {
            if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
                int n = BIO_read(b, subject, (int)len - 1);
                subject[n > 0 ? n : 0] = '\0';
            }
            BIO_free(b);
        }
    }
    return have;
}

void memtls__metrics_put_cert(rt_metrics *m, const char *subject, int64_t not_after, int have)
{
    pthread_mutex_lock(&m->cert_lock);
    snprintf(m->cert_subject, sizeof m->cert_subject, "%s", subject);
    m->cert_not_after = not_after;
    m->have_cert = have;
    pthread_mutex_unlock(&m->cert_lock);
}

void memtls__metrics_set_cert(rt_metrics *m, memtls_config *cfg)
{
    char subject[256];
    int64_t not_after;
    int have = memtls__cert_info(cfg, subject, sizeof subject, &not_after);
    memtls__metrics_put_cert(m, subject, not_after, have);
}

/* --- hooks ------------------------------------------------------------------------ */

void memtls__metrics_handshake(rt_wmetrics *m, const char *version, int resumed, uint64_t ns)
{
    unsigned v = strcmp(version, "TLSv1.2") == 0 ? 0 : strcmp(version, "TLSv1.3") == 0 ? 1 : 2;
    rt_count(&m->handshakes[v][resumed ? 1 : 0], 1);
    observe(&m->handshake, RT_HIST_SHORT, ns);
}

void memtls__metrics_closed(rt_wmetrics *m, const char *reason, uint64_t ns)
{
    rt_count(&m->closed[memtls__metrics_reason(reason)], 1);
    observe(&m->lifetime, RT_HIST_LIFE, ns);
}

void memtls__metrics_backend_connect(rt_wmetrics *m, uint64_t ns)
{
    observe(&m->backend_connect, RT_HIST_SHORT, ns);
}

static int probe_delay(const memtls_ring_msg *msg, rt_msg_probe *p, uint64_t *ns)
{
    if (msg->len < sizeof *p) {
        return -1;
    }
    memcpy(p, msg->data, sizeof *p);
    uint64_t now = rt_now_ns();
    *ns = now > p->stamp_ns ? now - p->stamp_ns : 0;
    return 0;
}

void memtls__metrics_probe_to_worker(rt_wmetrics *m, const memtls_ring_msg *msg)
{
    rt_msg_probe p;
    uint64_t ns;
    if (probe_delay(msg, &p, &ns) == 0) {
        observe(&m->to_worker, RT_HIST_RING, ns);
    }
}

void memtls__metrics_probe_to_host(memtls_server *srv, unsigned gid, const memtls_ring_msg *msg)
{
    rt_msg_probe p;
    uint64_t ns;
    rt_metrics *m = srv->metrics;
    if (m != NULL && probe_delay(msg, &p, &ns) == 0 && gid < m->nblocks) {
        observe(&m->h[gid].to_host, RT_HIST_RING, ns);
    }
}

void memtls__metrics_probe_send(rt_channel *ch, rt_dir d, rt_probe *p, unsigned worker,
                                uint64_t now_ms)
{
    if (now_ms - p->last_ms < RT_PROBE_INTERVAL_MS && p->last_ms != 0) {
        return;
    }
    /* Tried once per interval, whether or not the ring takes it: a full
     * ring is retried by the caller, and the probe must not add to that. */
    p->last_ms = now_ms;
    rt_msg_probe m = {rt_now_ns(), worker, 0};
    (void)memtls__chan_put(ch, d, d == RT_TO_WORKER ? MSG_H_PROBE : MSG_W_PROBE, 0, &m, sizeof m,
                           NULL, 0);
}

void memtls__metrics_probe_host(memtls_server *srv, rt_channel *ch, unsigned gid, uint64_t now_ms)
{
    memtls__metrics_probe_send(ch, RT_TO_WORKER, &srv->metrics->h[gid].probe, gid, now_ms);
}

/* --- text ---------------------------------------------------------------------------- */

void memtls__text_add(rt_text *t, const char *fmt, ...)
{
    if (t->oom) {
        return;
    }
    for (;;) {
        size_t room = t->cap - t->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p != NULL ? t->p + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 16384;
        while (cap - t->len <= (size_t)n) {
            cap *= 2;
        }
        char *p = realloc(t->p, cap);
        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

void memtls__text_free(rt_text *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

/* Nanoseconds as decimal seconds, exactly ("0.000001", "2.5", "3600"). */
static void secs(char *out, size_t len, uint64_t ns)
{
    uint64_t whole = ns / S;
    uint64_t frac = ns % S;
    if (frac == 0) {
        snprintf(out, len, "%llu", (unsigned long long)whole);
        return;
    }
    char digits[16];
    snprintf(digits, sizeof digits, "%09llu", (unsigned long long)frac);
    size_t n = strlen(digits);
    while (n > 0 && digits[n - 1] == '0') {
        digits[--n] = '\0';
    }
    snprintf(out, len, "%llu.%s", (unsigned long long)whole, digits);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(char *out, size_t len, const char *v)
{
    size_t o = 0;
    for (; *v != '\0' && o + 3 < len; v++) {
        if (*v == '\\' || *v == '"') {
            out[o++] = '\\';
            out[o++] = *v;
        } else if (*v == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *v;
        }
    }
    out[o] = '\0';
}

static void head(rt_text *t, const char *name, const char *type, const char *help)
{
    memtls__text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t ld(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit((atomic_uint_fast64_t *)v, memory_order_relaxed);
}

static void counter(rt_text *t, const char *name, const char *help, uint64_t v)
{
    head(t, name, "counter", help);
    memtls__text_add(t, "%s %llu\n", name, (unsigned long long)v);
}

/* Sum of one histogram over the blocks of all workers: `at` returns the
 * histogram of block i. */
typedef const rt_hist *(*hist_at)(const rt_metrics *m, unsigned i);

static void histogram(rt_text *t, const rt_metrics *m, const char *name, const char *labels,
                      rt_hist_kind kind, hist_at at)
{
    uint64_t b[RT_HIST_MAX_BUCKETS + 1] = {0};
    uint64_t sum = 0;
    size_t n = kinds[kind].n;
    for (unsigned w = 0; w < m->nblocks; w++) {
        const rt_hist *h = at(m, w);
        for (size_t i = 0; i <= n; i++) {
            b[i] += ld(&h->bucket[i]);
        }
        sum += ld(&h->sum_ns);
    }
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i < n; i++) {
        cum += b[i];
        secs(le, sizeof le, kinds[kind].bounds[i]);
        memtls__text_add(t, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, le,
                         (unsigned long long)cum);
    }
    cum += b[n];
    memtls__text_add(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                     (unsigned long long)cum);
    secs(le, sizeof le, sum);
    if (labels[0] != '\0') {
        memtls__text_add(t, "%s_sum{%s} %s\n%s_count{%s} %llu\n", name, labels, le, name, labels,
                         (unsigned long long)cum);
    } else {
        memtls__text_add(t, "%s_sum %s\n%s_count %llu\n", name, le, name, (unsigned long long)cum);
    }
}

static const rt_hist *at_handshake(const rt_metrics *m, unsigned i)
{
    return &m->w[i].handshake;
}

static const rt_hist *at_backend(const rt_metrics *m, unsigned i)
{
    return &m->w[i].backend_connect;
}

static const rt_hist *at_life(const rt_metrics *m, unsigned i)
{
    return &m->w[i].lifetime;
}

static const rt_hist *at_to_worker(const rt_metrics *m, unsigned i)
{
    return &m->w[i].to_worker;
}

static const rt_hist *at_to_host(const rt_metrics *m, unsigned i)
{
    return &m->h[i].to_host;
}

static void render_connections(rt_text *t, const memtls_server *srv, const rt_metrics *m)
{
    counter(t, "memtls_connections_accepted_total",
            "Client connections accepted, the refused ones included.", ld(&srv->conns_total));
    counter(t, "memtls_connections_refused_total",
            "Connections closed at once without a worker: over the connection cap, or while "
            "stopping.",
            ld(&srv->conns_refused));
    counter(t, "memtls_connections_failed_total",
            "Connections that ended with an error (handshake, authentication, protocol, "
            "timeouts, resets).",
            memtls__server_conns_failed(srv));
    counter(t, "memtls_accept_errors_total", "accept() failures for want of descriptors or memory.",
            ld(&srv->accept_errors));

    head(t, "memtls_connections_closed_total", "counter",
         "Connections that ended, by reason (the log line's close reason); refused ones under "
         "reason=\"refused\".");
    for (unsigned r = 0; r < RT_CLOSE_REASONS; r++) {
        uint64_t v = 0;
        for (unsigned w = 0; w < m->nblocks; w++) {
            v += ld(&m->w[w].closed[r]);
        }
        memtls__text_add(t, "memtls_connections_closed_total{reason=\"%s\"} %llu\n",
                         reason_labels[r], (unsigned long long)v);
    }
    memtls__text_add(t, "memtls_connections_closed_total{reason=\"refused\"} %llu\n",
                     (unsigned long long)ld(&srv->conns_refused));

    head(t, "memtls_connections_open", "gauge", "Connections accepted and not yet released.");
    memtls__text_add(t, "memtls_connections_open %llu\n", (unsigned long long)ld(&srv->conns_open));
    head(t, "memtls_worker_connections_open", "gauge", "Live connections of each worker.");
    for (unsigned w = 0; w < m->nworkers; w++) {
        uint64_t open = 0;
        for (unsigned b = 0; b < m->nblocks; b++) {
            if (atomic_load_explicit(&m->block_worker[b], memory_order_relaxed) == w) {
                open += ld(&m->w[b].open);
            }
        }
        memtls__text_add(t, "memtls_worker_connections_open{worker=\"%u\"} %llu\n", w,
                         (unsigned long long)open);
    }

    static const char *const versions[RT_HS_VERSIONS] = {"TLSv1.2", "TLSv1.3", "other"};
    head(t, "memtls_handshakes_total", "counter",
         "TLS handshakes completed, by protocol version and whether a session was resumed.");
    for (unsigned v = 0; v < RT_HS_VERSIONS; v++) {
        for (unsigned r = 0; r < 2; r++) {
            uint64_t n = 0;
            for (unsigned w = 0; w < m->nblocks; w++) {
                n += ld(&m->w[w].handshakes[v][r]);
            }
            memtls__text_add(t, "memtls_handshakes_total{version=\"%s\",resumed=\"%s\"} %llu\n",
                             versions[v], r ? "yes" : "no", (unsigned long long)n);
        }
    }
}

static void render_bytes(rt_text *t, const memtls_server *srv)
{
    head(t, "memtls_received_bytes_total", "counter",
         "Bytes read from client sockets (ciphertext) and backend sockets (plaintext).");
    memtls__text_add(t,
                     "memtls_received_bytes_total{peer=\"client\"} %llu\n"
                     "memtls_received_bytes_total{peer=\"backend\"} %llu\n",
                     (unsigned long long)ld(&srv->bytes_in),
                     (unsigned long long)ld(&srv->backend_in));
    head(t, "memtls_sent_bytes_total", "counter",
         "Bytes written to client sockets (ciphertext) and backend sockets (plaintext).");
    memtls__text_add(t,
                     "memtls_sent_bytes_total{peer=\"client\"} %llu\n"
                     "memtls_sent_bytes_total{peer=\"backend\"} %llu\n",
                     (unsigned long long)ld(&srv->bytes_out),
                     (unsigned long long)ld(&srv->backend_out));
}

static void render_rings(rt_text *t, const memtls_server *srv)
{
    static const char *const dirs[2] = {"to_worker", "to_host"};
    memtls_ring_stats st[RT_MAX_THREADS][2];
    size_t used[RT_MAX_THREADS][2];
    /* A worker process's channel may be replaced meanwhile: look under
     * the lock (a worker being started has none: zeros). */
    pthread_rwlock_rdlock((pthread_rwlock_t *)&srv->chans_lock);
    for (unsigned w = 0; w < srv->nworkers; w++) {
        for (int d = 0; d < 2; d++) {
            rt_channel *ch = srv->chans[w];
            memtls_ring_get_stats(ch != NULL ? ch->ring[d] : NULL, &st[w][d]);
            used[w][d] = memtls_ring_used(ch != NULL ? ch->ring[d] : NULL);
        }
    }
    pthread_rwlock_unlock((pthread_rwlock_t *)&srv->chans_lock);
    head(t, "memtls_ring_capacity_bytes", "gauge", "Capacity of each ring.");
    memtls__text_add(t, "memtls_ring_capacity_bytes %zu\n", srv->ring_capacity);
    head(t, "memtls_ring_used_bytes", "gauge",
         "Bytes in use in each ring now, by worker and direction.");
    for (unsigned w = 0; w < srv->nworkers; w++) {
        for (int d = 0; d < 2; d++) {
            memtls__text_add(t, "memtls_ring_used_bytes{worker=\"%u\",direction=\"%s\"} %zu\n", w,
                             dirs[d], used[w][d]);
        }
    }
    head(t, "memtls_ring_high_water_bytes", "gauge",
         "The most bytes ever in use in each ring, by worker and direction.");
    for (unsigned w = 0; w < srv->nworkers; w++) {
        for (int d = 0; d < 2; d++) {
            memtls__text_add(t,
                             "memtls_ring_high_water_bytes{worker=\"%u\",direction=\"%s\"} %zu\n",
                             w, dirs[d], st[w][d].high_water);
        }
    }
    head(t, "memtls_ring_refusals_total", "counter",
         "Writes that found a ring full (the producer waits for room), by worker and direction.");
    for (unsigned w = 0; w < srv->nworkers; w++) {
        for (int d = 0; d < 2; d++) {
            memtls__text_add(t, "memtls_ring_refusals_total{worker=\"%u\",direction=\"%s\"} %llu\n",
                             w, dirs[d], (unsigned long long)st[w][d].refusals);
        }
    }
    head(t, "memtls_ring_messages_total", "counter",
         "Messages written to each ring, by worker and direction.");
    for (unsigned w = 0; w < srv->nworkers; w++) {
        for (int d = 0; d < 2; d++) {
            memtls__text_add(t, "memtls_ring_messages_total{worker=\"%u\",direction=\"%s\"} %llu\n",
                             w, dirs[d], (unsigned long long)st[w][d].messages_written);
        }
    }
}

static void render_histograms(rt_text *t, const rt_metrics *m)
{
    head(t, "memtls_handshake_duration_seconds", "histogram",
         "From the worker taking a TLS connection to the end of its handshake.");
    histogram(t, m, "memtls_handshake_duration_seconds", "", RT_HIST_SHORT, at_handshake);
    head(t, "memtls_backend_connect_duration_seconds", "histogram",
         "From the worker asking for the backend connection to the worker learning the result.");
    histogram(t, m, "memtls_backend_connect_duration_seconds", "", RT_HIST_SHORT, at_backend);
    head(t, "memtls_connection_duration_seconds", "histogram",
         "Lifetime of the connections the workers released.");
    histogram(t, m, "memtls_connection_duration_seconds", "", RT_HIST_LIFE, at_life);
    head(t, "memtls_ring_delay_seconds", "histogram",
         "Time a message waits in a ring until its consumer reads it, sampled with timestamped "
         "probes (at most one per ring every 10 ms, only while the ring carries traffic).");
    histogram(t, m, "memtls_ring_delay_seconds", "direction=\"to_worker\"", RT_HIST_RING,
              at_to_worker);
    histogram(t, m, "memtls_ring_delay_seconds", "direction=\"to_host\"", RT_HIST_RING, at_to_host);
}

static void render_cert(rt_text *t, rt_metrics *m)
{
    char subject[256];
    int64_t not_after;
    int have;
    pthread_mutex_lock(&m->cert_lock);
    memcpy(subject, m->cert_subject, sizeof subject);
    not_after = m->cert_not_after;
    have = m->have_cert;
    pthread_mutex_unlock(&m->cert_lock);
    if (!have) {
        return;
    }
    char esc[3 * sizeof subject];
    label_value(esc, sizeof esc, subject);
    head(t, "memtls_certificate_not_after_seconds", "gauge",
         "Expiry (notAfter) of the certificate new handshakes use, in seconds since the epoch.");
    memtls__text_add(t, "memtls_certificate_not_after_seconds{subject=\"%s\"} %lld\n", esc,
                     (long long)not_after);
}

int memtls__metrics_render(const memtls_server *srv, rt_text *out)
{
    rt_metrics *m = srv->metrics;
    head(out, "memtls_info", "gauge", "The memtls version, as a label; always 1.");
    memtls__text_add(out, "memtls_info{version=\"%s\"} 1\n", MEMTLS_VERSION_STRING);
    render_connections(out, srv, m);
    render_bytes(out, srv);
    render_rings(out, srv);
    render_histograms(out, m);
    render_cert(out, m);
    return out->oom ? MEMTLS_ERR_NOMEM : 0;
}

/* --- public ------------------------------------------------------------------------ */

int memtls_server_metrics(const memtls_server *srv, char *buf, size_t len, size_t *outlen)
{
    if (outlen != NULL) {
        *outlen = 0;
    }
    if (srv == NULL || outlen == NULL || srv->metrics == NULL || (buf == NULL && len > 0)) {
        return MEMTLS_ERR_INVALID;
    }
    rt_text t = {0};
    int rc = memtls__metrics_render(srv, &t);
    if (rc == 0) {
        *outlen = t.len;
        if (t.len + 1 > len) {
            rc = MEMTLS_ERR_TOO_SMALL;
        } else {
            memcpy(buf, t.p, t.len);
            buf[t.len] = '\0';
        }
    }
    memtls__text_free(&t);
    return rc;
}

uint16_t memtls_server_metrics_port(const memtls_server *srv)
{
    if (srv == NULL || srv->metrics == NULL || srv->metrics->http == NULL) {
        return 0;
    }
    return memtls__metrics_http_port(srv->metrics->http);
}
