/*
 * metrics.h - private: what the runtime counts for memtls_server_metrics()
 * and the GET /metrics endpoint (metrics_http.c), and the hooks the
 * worker and the host call. See docs/runtime.md, "Metrics".
 *
 * Cheap on the hot path, and no locks between threads. Every value has one
 * writer: a worker's block (rt_wmetrics) is written only by the thread
 * that runs that worker, a host's block for a worker (rt_hmetrics) only
 * by the I/O thread that serves it. A writer adds with a relaxed load and
 * a relaxed store (a plain add on x86: no locked instruction), readers
 * load relaxed; the scrape sums the blocks. Blocks are cache-line aligned
 * so that two writers never share a line. The server-wide counters that
 * existed before (bytes, accepted, refused: runtime.h) are reused as
 * they are.
 *
 * When metrics are off (srv->metrics NULL, worker->m NULL) every hook is
 * skipped by one test of that pointer: no clock is read, no probe sent.
 *
 * Ring delay. The ring frame has no room for a timestamp, and reading the
 * clock for every message would cost more than the message. So a
 * producer about to write a message writes a probe first (MSG_H_PROBE /
 * MSG_W_PROBE, carrying the time), at most once per RT_PROBE_INTERVAL_MS
 * per ring; the consumer reads the clock when it reaches the probe and
 * records the difference. The probe travels with the message behind it,
 * so it measures what that message waited: the consumer's wake-up, and
 * whatever was queued ahead of it. The host probes ahead of socket data
 * (H_DATA, H_BK_DATA), the worker ahead of any message. An idle ring gets
 * no probe (the probe never wakes a consumer that has nothing to do).
 */
#ifndef MEMTLS_RUNTIME_METRICS_H
#define MEMTLS_RUNTIME_METRICS_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "runtime.h"

/* Probes per ring and direction at most this often. */
#define RT_PROBE_INTERVAL_MS 10u

/* The reasons a connection ends, as the value of the "reason" label (a
 * fixed set: the log line's text, with its details, maps onto it). */
enum {
    RT_CLOSE_CLEAN = 0,
    RT_CLOSE_PEER,
    RT_CLOSE_BACKEND,
    RT_CLOSE_APPLICATION,
    RT_CLOSE_TRUNCATED,
    RT_CLOSE_PROTOCOL,
    RT_CLOSE_AUTH,
    RT_CLOSE_NOT_ALLOWED,
    RT_CLOSE_HS_TIMEOUT,
    RT_CLOSE_IDLE_TIMEOUT,
    RT_CLOSE_CLOSE_TIMEOUT,
    RT_CLOSE_RESET,
    RT_CLOSE_BK_CONNECT,
    RT_CLOSE_BK_RESET,
    RT_CLOSE_OVERFLOW,
    RT_CLOSE_STOPPING,
    RT_CLOSE_GRACE_OVER,
    RT_CLOSE_ERROR,
    RT_CLOSE_REASONS
};

/* Handshakes: by version (TLSv1.2, TLSv1.3, other) and resumed (no, yes). */
#define RT_HS_VERSIONS 3

/* The histograms, each with its own fixed log-spaced buckets. */
typedef enum rt_hist_kind {
    RT_HIST_RING = 0, /* ring delay: 1 us .. 1 s */
    RT_HIST_SHORT,    /* handshake, backend connect: 100 us .. 10 s */
    RT_HIST_LIFE,     /* connection lifetime: 1 ms .. 1 h */
    RT_HIST_KINDS
} rt_hist_kind;

#define RT_HIST_MAX_BUCKETS 20

/* Per-bucket counts (not cumulative; the last is +Inf) and the sum. */
typedef struct rt_hist {
    atomic_uint_fast64_t bucket[RT_HIST_MAX_BUCKETS + 1];
    atomic_uint_fast64_t sum_ns;
} rt_hist;

/* A producer's probe state for one ring (its own thread only). */
typedef struct rt_probe {
    uint64_t last_ms; /* loop time of the last probe (0: none yet) */
} rt_probe;

/* The payload of MSG_H_PROBE / MSG_W_PROBE. */
typedef struct rt_msg_probe {
    uint64_t stamp_ns; /* CLOCK_MONOTONIC when written */
    uint32_t worker;   /* the channel's worker index */
    uint32_t pad;
} rt_msg_probe;

/* Written by one worker's thread. */
typedef struct rt_wmetrics {
    alignas(64) atomic_uint_fast64_t open; /* gauge: its live connections */
    atomic_uint_fast64_t closed[RT_CLOSE_REASONS];
    atomic_uint_fast64_t handshakes[RT_HS_VERSIONS][2];
    rt_hist handshake;       /* start to handshake done (TLS only) */
    rt_hist backend_connect; /* W_BK_CONNECT sent to H_BK_RESULT read */
    rt_hist lifetime;        /* start to release */
    rt_hist to_worker;       /* ring delay host -> worker (probes read here) */
    rt_probe probe;          /* worker -> host probes */
} rt_wmetrics;

/* Written by the I/O thread that serves worker i. */
typedef struct rt_hmetrics {
    alignas(64) rt_hist to_host; /* ring delay worker -> host */
    rt_probe probe;              /* host -> worker probes */
} rt_hmetrics;

struct rt_mhttp;

/*
 * Blocks are per link (host.h: a worker as its host serves it), indexed
 * by the link's gid: with threads one per worker, gid = worker index; with
 * worker processes RT_LINK_SLOTS per worker, and `w` lies in memory
 * shared with the worker processes (an anonymous shared mapping made
 * before the spawner forks), so a process that replaces another in a
 * slot counts on from where it left. A worker process can write any
 * block; the host only sums them.
 */
typedef struct rt_metrics {
    unsigned nworkers;
    unsigned nblocks;
    int shared;                /* w is a shared mapping */
    rt_wmetrics *w;            /* by gid */
    rt_hmetrics *h;            /* by gid */
    atomic_uint *block_worker; /* by gid: the worker it serves now */
    /* The serving certificate (the controlling thread sets it at start
     * and on reload; the scrape reads it). */
    pthread_mutex_t cert_lock;
    char cert_subject[256];
    int64_t cert_not_after;
    int have_cert;
    struct rt_mhttp *http; /* the endpoint, or NULL */
} rt_metrics;

/* --- single-writer counters ------------------------------------------------ */

static inline void rt_count(atomic_uint_fast64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void rt_gauge(atomic_uint_fast64_t *g, uint64_t v)
{
    atomic_store_explicit(g, v, memory_order_relaxed);
}

static inline uint64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- lifecycle (server.c) --------------------------------------------------- */

/* Blocks for `nblocks` links of `nworkers` workers (in shared memory
 * when `shared`); NULL when out of memory. */
rt_metrics *memtls__metrics_new(unsigned nworkers, unsigned nblocks, int shared);
/* After the endpoint was closed and its handles are gone. */
void memtls__metrics_free(rt_metrics *m);
/* Remember the subject and not-after of cfg's certificate (any thread). */
/* The first certificate of cfg: its subject (RFC 2253) and not-after
 * (seconds since the epoch); returns 1 when there is one. */
int memtls__cert_info(memtls_config *cfg, char *subject, size_t len, int64_t *not_after);
/* The certificate the gauges describe (worker processes: what the
 * spawner loaded). */
void memtls__metrics_put_cert(rt_metrics *m, const char *subject, int64_t not_after, int have);
void memtls__metrics_set_cert(rt_metrics *m, memtls_config *cfg);

/* --- hooks ------------------------------------------------------------------ */

/* Worker: a TLS handshake finished `ns` after the connection started. */
void memtls__metrics_handshake(rt_wmetrics *m, const char *version, int resumed, uint64_t ns);
/* Worker: a connection released with reason text `reason`, `ns` after it
 * started. */
void memtls__metrics_closed(rt_wmetrics *m, const char *reason, uint64_t ns);
/* Worker: the backend connect took `ns`. */
void memtls__metrics_backend_connect(rt_wmetrics *m, uint64_t ns);
/* Worker: read a MSG_H_PROBE. */
void memtls__metrics_probe_to_worker(rt_wmetrics *m, const memtls_ring_msg *msg);
/* Host: read a MSG_W_PROBE on link `gid`. */
void memtls__metrics_probe_to_host(memtls_server *srv, unsigned gid, const memtls_ring_msg *msg);
/* Producer of ring d of `ch` (worker `worker`'s channel), about to write
 * a message: write a probe first if the interval passed since the last
 * one (`now_ms`: the loop's time). */
void memtls__metrics_probe_send(rt_channel *ch, rt_dir d, rt_probe *p, unsigned worker,
                                uint64_t now_ms);
/* The same for the host, about to write data on link `gid`. */
void memtls__metrics_probe_host(memtls_server *srv, rt_channel *ch, unsigned gid, uint64_t now_ms);

/* Which close-reason index a reason text belongs to. */
unsigned memtls__metrics_reason(const char *reason);

/* --- rendering -------------------------------------------------------------- */

/* A growable text buffer. */
typedef struct rt_text {
    char *p;
    size_t len;
    size_t cap;
    int oom;
} rt_text;

void memtls__text_add(rt_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void memtls__text_free(rt_text *t);

/* The exposition text of every metric. 0 or MEMTLS_ERR_NOMEM. */
int memtls__metrics_render(const memtls_server *srv, rt_text *out);

/* --- the HTTP endpoint (metrics_http.c) -------------------------------------- */

/* Bind host:port on `loop` (host 0's, before its thread runs) and listen.
 * 0, or MEMTLS_ERR_INVALID with a message naming the address. */
int memtls__metrics_http_open(memtls_server *srv, uv_loop_t *loop, const char *host, uint16_t port,
                              char *err, size_t errlen);
uint16_t memtls__metrics_http_port(const struct rt_mhttp *http);
/* Close the listener and every client (their close callbacks run when the
 * loop runs next: memtls__loop_free). After the host thread ended. */
void memtls__metrics_http_close(struct rt_mhttp *http);
/* After the loop ran the close callbacks. */
void memtls__metrics_http_free(struct rt_mhttp *http);

#endif
