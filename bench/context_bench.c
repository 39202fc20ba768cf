/*
 * context_bench.c - TLS 1.3 handshakes/s and bulk MB/s through memtls
 * (context and session) against a raw OpenSSL memory-BIO loop, in the same
 * process, with the same SSL_CTX and certificate. Prints each figure and the
 * ratio memtls / raw. The session runs twice: with the zero-copy
 * transport callbacks (send_reserve/send_commit, what the runtime uses)
 * and with send() alone (one more copy of the ciphertext).
 *
 * Usage: context_bench [handshakes [megabytes [rounds]]]   (defaults: 2000,
 * 512, 5): the handshakes are split over the rounds, each round measures
 * every path once, in turn (in the reverse order every other round, so no
 * path always runs first), and the medians are reported.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/openssl.h>
#include <memtls/pki.h>

#include "bench_tls.h"
#include <memtls/session.h>

#define CHUNK 16384

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "context_bench: %s\n", what);
    exit(1);
}

/* --- raw OpenSSL baseline ------------------------------------------------ */

typedef struct raw_end {
    SSL *ssl;
    BIO *rbio;
    BIO *wbio;
} raw_end;

static void raw_new(raw_end *e, SSL_CTX *ctx, int server)
{
    e->ssl = SSL_new(ctx);
    e->rbio = BIO_new(BIO_s_mem());
    e->wbio = BIO_new(BIO_s_mem());
    if (e->ssl == NULL || e->rbio == NULL || e->wbio == NULL) {
        die("raw: out of memory");
    }
    SSL_set_bio(e->ssl, e->rbio, e->wbio);
    if (server) {
        SSL_set_accept_state(e->ssl);
    } else {
        SSL_set_connect_state(e->ssl);
    }
}

static void raw_move(raw_end *from, raw_end *to)
{
    static unsigned char buf[65536];
    int n;
    while ((n = BIO_read(from->wbio, buf, sizeof buf)) > 0) {
        BIO_write(to->rbio, buf, n);
    }
}

static void raw_handshake(SSL_CTX *sctx, SSL_CTX *cctx)
{
    raw_end c, s;
    raw_new(&c, cctx, 0);
    raw_new(&s, sctx, 1);
    int cdone = 0, sdone = 0;
    for (int i = 0; i < 100 && !(cdone && sdone); i++) {
        cdone = SSL_do_handshake(c.ssl) == 1;
        raw_move(&c, &s);
        sdone = SSL_do_handshake(s.ssl) == 1;
        raw_move(&s, &c);
    }
    if (!cdone || !sdone) {
        die("raw handshake failed");
    }
    SSL_free(c.ssl);
    SSL_free(s.ssl);
}

static double raw_bulk(SSL_CTX *sctx, SSL_CTX *cctx, size_t total)
{
    static unsigned char data[CHUNK], out[CHUNK];
    raw_end c, s;
    raw_new(&c, cctx, 0);
    raw_new(&s, sctx, 1);
    for (int i = 0; i < 100; i++) {
        SSL_do_handshake(c.ssl);
        raw_move(&c, &s);
        SSL_do_handshake(s.ssl);
        raw_move(&s, &c);
    }
    memset(data, 'x', sizeof data);
    double t0 = now();
    size_t got = 0;
    for (size_t sent = 0; sent < total; sent += CHUNK) {
        size_t n = 0;
        if (SSL_write_ex(c.ssl, data, CHUNK, &n) != 1) {
            die("raw write failed");
        }
        raw_move(&c, &s);
        while (SSL_read_ex(s.ssl, out, sizeof out, &n) == 1) {
            got += n;
        }
    }
    double dt = now() - t0;
    if (got != total) {
        die("raw bulk lost bytes");
    }
    SSL_free(c.ssl);
    SSL_free(s.ssl);
    return (double)total / dt / 1e6;
}

/* --- memtls context ----------------------------------------------------- */

static void ctx_move(memtls_ctx *from, memtls_ctx *to)
{
    static unsigned char buf[65536];
    size_t n = 0;
    while (memtls_ctx_drain(from, buf, sizeof buf, &n) == 0 && n > 0) {
        if (memtls_ctx_feed(to, buf, n) != 0) {
            die("memtls_ctx_feed failed");
        }
    }
}

static void ctx_pair(memtls_config *scfg, memtls_config *ccfg, memtls_ctx **c, memtls_ctx **s)
{
    *c = memtls_ctx_new(ccfg);
    *s = memtls_ctx_new(scfg);
    if (*c == NULL || *s == NULL) {
        die("memtls_ctx_new failed");
    }
    int crc = -1, src = -1;
    for (int i = 0; i < 100 && !(crc == 0 && src == 0); i++) {
        crc = memtls_ctx_handshake(*c);
        ctx_move(*c, *s);
        src = memtls_ctx_handshake(*s);
        ctx_move(*s, *c);
    }
    if (crc != 0 || src != 0) {
        die("memtls handshake failed");
    }
}

static double ctx_bulk(memtls_config *scfg, memtls_config *ccfg, size_t total)
{
    static unsigned char data[CHUNK], out[CHUNK];
    memtls_ctx *c, *s;
    ctx_pair(scfg, ccfg, &c, &s);
    memset(data, 'x', sizeof data);
    double t0 = now();
    size_t got = 0;
    for (size_t sent = 0; sent < total; sent += CHUNK) {
        size_t n = 0;
        if (memtls_ctx_write(c, data, CHUNK, &n) != 0) {
            die("memtls write failed");
        }
        ctx_move(c, s);
        while (memtls_ctx_read(s, out, sizeof out, &n) == 0) {
            got += n;
        }
    }
    double dt = now() - t0;
    if (got != total) {
        die("memtls bulk lost bytes");
    }
    memtls_ctx_free(c);
    memtls_ctx_free(s);
    return (double)total / dt / 1e6;
}

/* --- memtls session: transport = a buffer the loop hands to the peer ---- */

typedef struct wire {
    unsigned char *buf;
    size_t len, cap;
    size_t delivered;
} wire;

static void wire_room(wire *w, size_t len)
{
    if (w->len + len > w->cap) {
        w->cap = (w->len + len) * 2;
        w->buf = realloc(w->buf, w->cap);
        if (w->buf == NULL) {
            die("out of memory");
        }
    }
}

/* A copying transport: the session hands bytes over from its own memory. */
static size_t wire_send(void *arg, const uint8_t *data, size_t len)
{
    wire *w = arg;
    wire_room(w, len);
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    return len;
}

/* The zero-copy transport (as the runtime's): the session writes the
 * ciphertext straight into the wire's memory. */
static uint8_t *wire_reserve(void *arg, size_t *len)
{
    wire *w = arg;
    wire_room(w, *len);
    return w->buf + w->len;
}

static void wire_commit(void *arg, size_t len)
{
    ((wire *)arg)->len += len;
}

static void count_data(void *arg, const uint8_t *data, size_t len)
{
    (void)data;
    ((wire *)arg)->delivered += len;
}

static void wire_flush(wire *w, memtls_session *to)
{
    if (w->len > 0) {
        if (memtls_session_feed(to, w->buf, w->len) != 0) {
            die("session recv refused");
        }
        w->len = 0;
    }
}

static double session_bulk(memtls_config *scfg, memtls_config *ccfg, size_t total, int zero_copy)
{
    static unsigned char data[CHUNK];
    wire cw = {0}, sw = {0};
    memtls_session_cbs ccb = {.arg = &cw, .send = wire_send, .on_data = count_data};
    memtls_session_cbs scb = {.arg = &sw, .send = wire_send, .on_data = count_data};
    if (zero_copy) {
        ccb.send_reserve = scb.send_reserve = wire_reserve;
        ccb.send_commit = scb.send_commit = wire_commit;
    }
    memtls_session *c = memtls_session_new(memtls_ctx_new(ccfg), &ccb, NULL);
    memtls_session *s = memtls_session_new(memtls_ctx_new(scfg), &scb, NULL);
    if (c == NULL || s == NULL || memtls_session_start(c) != 0) {
        die("session setup failed");
    }
    for (int i = 0; i < 10; i++) {
        wire_flush(&cw, s);
        wire_flush(&sw, c);
    }
    if (memtls_session_state(c) != MEMTLS_STATE_READY) {
        die("session handshake failed");
    }
    memset(data, 'x', sizeof data);
    double t0 = now();
    for (size_t sent = 0; sent < total; sent += CHUNK) {
        size_t n = 0;
        if (memtls_session_write(c, data, CHUNK, &n) != 0 || n != CHUNK) {
            die("session write refused");
        }
        wire_flush(&cw, s);
        wire_flush(&sw, c);
    }
    double dt = now() - t0;
    if (sw.delivered != total) {
        die("session bulk lost bytes");
    }
    memtls_session_free(c);
    memtls_session_free(s);
    free(cw.buf);
    free(sw.buf);
    return (double)total / dt / 1e6;
}

/* Handshakes per second through raw OpenSSL and through the context. */
static double raw_handshakes(SSL_CTX *sctx, SSL_CTX *cctx, int n)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        raw_handshake(sctx, cctx);
    }
    return n / (now() - t0);
}

static double ctx_handshakes(memtls_config *scfg, memtls_config *ccfg, int n)
{
    double t0 = now();
    for (int i = 0; i < n; i++) {
        memtls_ctx *c, *s;
        ctx_pair(scfg, ccfg, &c, &s);
        memtls_ctx_free(c);
        memtls_ctx_free(s);
    }
    return n / (now() - t0);
}

/* Median of n figures (sorts them). */
static double median(double *v, int n)
{
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 99

int main(int argc, char **argv)
{
    int handshakes = argc > 1 ? atoi(argv[1]) : 2000;
    size_t total = (size_t)(argc > 2 ? atoi(argv[2]) : 512) * 1024 * 1024;
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (handshakes <= 0 || total == 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
        die("usage: context_bench [handshakes [megabytes [rounds 1..99]]]");
    }
    memtls_config *scfg = NULL;
    memtls_config *ccfg = NULL;
    bench_tls_configs("context_bench", "localhost", &scfg, &ccfg);
    /* Raw OpenSSL uses the very same SSL_CTXs. Tickets off on both paths so
     * each handshake is a full one. */
    SSL_CTX *sctx = memtls_config_ssl_ctx(scfg);
    SSL_CTX *cctx = memtls_config_ssl_ctx(ccfg);
    SSL_CTX_set_num_tickets(sctx, 0);

    printf("memtls context_bench: TLS 1.3, ECDSA P-256, %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("%d rounds, raw and memtls alternating (order reversed every other round); "
           "figures are medians over the rounds "
           "(CPU time of this thread)\n",
           rounds);
    double raw_hs[MAX_ROUNDS], mt_hs[MAX_ROUNDS], hs_ratio[MAX_ROUNDS];
    double raw_mb[MAX_ROUNDS], ctx_mb[MAX_ROUNDS], ses_mb[MAX_ROUNDS], sesc_mb[MAX_ROUNDS];
    double r_ctx[MAX_ROUNDS], r_ses[MAX_ROUNDS], r_sesc[MAX_ROUNDS];
    int per = handshakes / rounds > 0 ? handshakes / rounds : 1;
    for (int r = 0; r < rounds; r++) {
        /* Even rounds: raw first; odd rounds: memtls first. */
        if (r % 2 == 0) {
            raw_hs[r] = raw_handshakes(sctx, cctx, per);
            mt_hs[r] = ctx_handshakes(scfg, ccfg, per);
        } else {
            mt_hs[r] = ctx_handshakes(scfg, ccfg, per);
            raw_hs[r] = raw_handshakes(sctx, cctx, per);
        }
        hs_ratio[r] = mt_hs[r] / raw_hs[r];

        /* Odd rounds run the bulk paths in the reverse order, so that
         * no path always runs first (after the handshakes) or last. */
        if (r % 2 == 0) {
            raw_mb[r] = raw_bulk(sctx, cctx, total);
            ctx_mb[r] = ctx_bulk(scfg, ccfg, total);
            ses_mb[r] = session_bulk(scfg, ccfg, total, 1);
            sesc_mb[r] = session_bulk(scfg, ccfg, total, 0);
        } else {
            sesc_mb[r] = session_bulk(scfg, ccfg, total, 0);
            ses_mb[r] = session_bulk(scfg, ccfg, total, 1);
            ctx_mb[r] = ctx_bulk(scfg, ccfg, total);
            raw_mb[r] = raw_bulk(sctx, cctx, total);
        }
        r_ctx[r] = ctx_mb[r] / raw_mb[r];
        r_ses[r] = ses_mb[r] / raw_mb[r];
        r_sesc[r] = sesc_mb[r] / raw_mb[r];
    }
    /* Ratios are the medians of each round's ratio (a round's figures
     * share the machine's state of that moment). */
    double raw_hs_m = median(raw_hs, rounds), raw_mb_m = median(raw_mb, rounds);
    printf("handshakes/s  raw OpenSSL %9.0f   memtls context %9.0f   ratio %.3f\n", raw_hs_m,
           median(mt_hs, rounds), median(hs_ratio, rounds));
    printf("bulk MB/s     raw OpenSSL %9.1f   memtls context %9.1f   ratio %.3f\n", raw_mb_m,
           median(ctx_mb, rounds), median(r_ctx, rounds));
    printf("bulk MB/s     raw OpenSSL %9.1f   memtls session %9.1f   ratio %.3f"
           "   (zero-copy transport, as the runtime's)\n",
           raw_mb_m, median(ses_mb, rounds), median(r_ses, rounds));
    printf("bulk MB/s     raw OpenSSL %9.1f   memtls session %9.1f   ratio %.3f"
           "   (copying transport: send() only)\n",
           raw_mb_m, median(sesc_mb, rounds), median(r_sesc, rounds));

    memtls_config_free(scfg);
    memtls_config_free(ccfg);
    return 0;
}
