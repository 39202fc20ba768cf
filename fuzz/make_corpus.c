/*
 * make_corpus.c - write the recorded seed corpora of the fuzz targets:
 *
 *   make_corpus DIR     (DIR is fuzz/corpus; files are overwritten)
 *
 * Real connections between a memtls client and server context in memory,
 * with the same fixed PKI and deterministic randomness as the targets
 * (support/), recorded in each target's input format:
 *   fuzz_client_context/rec-*   what a server sent to the client
 *                               (TLS 1.3 and 1.2, with and without a
 *                               client certificate and ALPN): handshake,
 *                               tickets, data, KeyUpdate, close_notify
 *   fuzz_server_session/rec-*   what a client sent to the server, cut in
 *                               that target's length-prefixed chunks
 * Because each side draws from its own stream seeded as in the targets,
 * the targets' contexts answer exactly as the recorded peer expected, so
 * these inputs run the whole connection, not only the first message.
 * The other targets' seeds (operation programs, PEM files, command lines,
 * PROXY headers, ticket key files) are written by the functions at the
 * end. Hand-made seeds in the corpus
 * directories are kept (their names do not start with "rec-" or "gen-").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/evp.h>

#include <memtls/context.h>
#include <memtls/proxy.h>

#include "fuzz_support.h"

static const char *g_dir;

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: mkdir %s: %s\n", path, strerror(errno));
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
    printf("%-60s %6zu bytes\n", path, len);
}

/* --- recording a connection ------------------------------------------------ */

typedef struct party {
    memtls_ctx *ctx;
    fz_buf out;       /* everything it sent */
    size_t delivered; /* how much of the peer's out it was given */
    uint64_t rand;    /* its randomness stream, while the other one runs */
    int closed;       /* read the peer's close_notify */
} party;

/* Give p what its peer sent since last time, advance it, collect output. */
static void advance(party *p, const party *peer)
{
    uint8_t buf[16384];
    size_t n = 0;

    fz_rand_swap(&p->rand);
    if (peer->out.len > p->delivered) {
        FZ_CHECK(memtls_ctx_feed(p->ctx, peer->out.data + p->delivered,
                                 peer->out.len - p->delivered) == 0,
                 "recv");
        p->delivered = peer->out.len;
    }
    if (!memtls_ctx_handshake_done(p->ctx)) {
        int rc = memtls_ctx_handshake(p->ctx);
        FZ_CHECK(rc == 0 || rc == MEMTLS_WANT_READ, "handshake: %d: %s", rc,
                 memtls_ctx_error(p->ctx));
    }
    while (memtls_ctx_handshake_done(p->ctx) && !p->closed) {
        int rc = memtls_ctx_read(p->ctx, buf, sizeof buf, &n);
        if (rc == MEMTLS_CLOSED) {
            p->closed = 1;
        } else if (rc != 0) {
            FZ_CHECK(rc == MEMTLS_WANT_READ, "read: %d: %s", rc, memtls_ctx_error(p->ctx));
            break;
        }
    }
    fz_drain(p->ctx, &p->out);
    fz_rand_swap(&p->rand);
}

static void exchange(party *c, party *s)
{
    for (int i = 0; i < 8; i++) {
        advance(s, c);
        advance(c, s);
    }
}

static void act_write(party *p, const char *text)
{
    size_t written = 0;
    fz_rand_swap(&p->rand);
    FZ_CHECK(memtls_ctx_write(p->ctx, text, strlen(text), &written) == 0, "write");
    fz_drain(p->ctx, &p->out);
    fz_rand_swap(&p->rand);
}

static void act_key_update(party *p)
{
    size_t written = 0;
    fz_rand_swap(&p->rand);
    FZ_CHECK(memtls_ctx_key_update(p->ctx, 1) == 0, "key update");
    /* The KeyUpdate goes out with the next record. */
    FZ_CHECK(memtls_ctx_write(p->ctx, "after the key update", 20, &written) == 0, "write");
    fz_drain(p->ctx, &p->out);
    fz_rand_swap(&p->rand);
}

static void act_close(party *p)
{
    fz_rand_swap(&p->rand);
    FZ_CHECK(memtls_ctx_close(p->ctx) == 0, "close");
    fz_drain(p->ctx, &p->out);
    fz_rand_swap(&p->rand);
}

/*
 * A whole connection: handshake, data both ways, a KeyUpdate from the
 * server (TLS 1.3), the server's close_notify answered by the client's.
 * The client draws from FZ_SEED_CLIENT and the server from FZ_SEED_SERVER,
 * each context made first thing on its stream, as in the targets.
 */
static void record(unsigned copts, unsigned sopts, fz_buf *c2s, fz_buf *s2c)
{
    memtls_config *ccfg = fz_config(MEMTLS_ROLE_CLIENT, copts);
    memtls_config *scfg = fz_config(MEMTLS_ROLE_SERVER, sopts);
    party c = {.rand = FZ_SEED_CLIENT};
    party s = {.rand = FZ_SEED_SERVER};

    fz_rand_swap(&c.rand);
    c.ctx = memtls_ctx_new(ccfg);
    FZ_CHECK(c.ctx != NULL && memtls_ctx_set_hostname(c.ctx, "localhost") == 0, "client");
    fz_rand_swap(&c.rand);
    fz_rand_swap(&s.rand);
    s.ctx = memtls_ctx_new(scfg);
    FZ_CHECK(s.ctx != NULL, "server");
    fz_rand_swap(&s.rand);

    exchange(&c, &s);
    FZ_CHECK(memtls_ctx_handshake_done(c.ctx) && memtls_ctx_handshake_done(s.ctx),
             "handshake did not finish: client %s, server %s", memtls_ctx_error(c.ctx),
             memtls_ctx_error(s.ctx));
    act_write(&s, "hello from the server\n");
    act_write(&c, "hello from the client\n");
    exchange(&c, &s);
    if (strcmp(memtls_ctx_protocol(s.ctx), "TLSv1.3") == 0) {
        act_key_update(&s);
        exchange(&c, &s);
    }
    act_close(&s);
    exchange(&c, &s);
    FZ_CHECK(c.closed, "the client did not see the close_notify");
    act_close(&c);
    exchange(&c, &s);
    FZ_CHECK(s.closed, "the server did not see the close_notify");

    fz_buf_append(c2s, c.out.data, c.out.len);
    fz_buf_append(s2c, s.out.data, s.out.len);
    memtls_ctx_free(c.ctx);
    memtls_ctx_free(s.ctx);
    fz_buf_free(&c.out);
    fz_buf_free(&s.out);
    memtls_config_free(ccfg);
    memtls_config_free(scfg);
}

/*
 * Check that a recording replays: a context made as the target makes it
 * (its stream reset to `seed` first), given the peer's recorded bytes at
 * once, completes the handshake and reads the close_notify. Otherwise the
 * seed would only exercise the first message.
 */
static void check_replay(memtls_role role, unsigned opts, uint64_t seed, const fz_buf *peer_bytes)
{
    memtls_config *cfg = fz_config(role, opts);
    uint8_t buf[16384];
    size_t n = 0;
    int rc;

    fz_rand_reset(seed);
    memtls_ctx *ctx = memtls_ctx_new(cfg);
    FZ_CHECK(ctx != NULL, "replay context");
    if (role == MEMTLS_ROLE_CLIENT) {
        FZ_CHECK(memtls_ctx_set_hostname(ctx, "localhost") == 0, "hostname");
        (void)memtls_ctx_handshake(ctx);
    }
    FZ_CHECK(memtls_ctx_feed(ctx, peer_bytes->data, peer_bytes->len) == 0, "replay recv");
    do {
        rc = memtls_ctx_read(ctx, buf, sizeof buf, &n);
        fz_drain(ctx, NULL);
    } while (rc == 0);
    FZ_CHECK(rc == MEMTLS_CLOSED && memtls_ctx_handshake_done(ctx),
             "a recorded %s flight does not replay: status %d, %s",
             role == MEMTLS_ROLE_CLIENT ? "server" : "client", rc, memtls_ctx_error(ctx));
    memtls_ctx_free(ctx);
    memtls_config_free(cfg);
}

/* fuzz_client_context: [flags][seed] + the server's bytes. */
static void client_context_seeds(void)
{
    static const struct {
        const char *name;
        unsigned copts, sopts, flags;
    } cases[] = {
        {"rec-tls13", 0, 0, 0x00},
        {"rec-tls13-bytewise", 0, 0, 0x02 | 0x10},
        {"rec-tls13-random-chunks", 0, 0, 0x0e | 0x20},
        {"rec-tls12", 0, FZ_TLS12_ONLY, 0x00},
        {"rec-tls12-chunks", 0, FZ_TLS12_ONLY, 0x08 | 0x10 | 0x40},
        {"rec-tls13-mutual-alpn", FZ_MUTUAL | FZ_ALPN, FZ_MUTUAL | FZ_ALPN, 0x01},
        {"rec-tls13-mutual-alpn-chunks", FZ_MUTUAL | FZ_ALPN, FZ_MUTUAL | FZ_ALPN, 0x01 | 0x06},
        {"rec-tls12-mutual-alpn", FZ_MUTUAL | FZ_ALPN, FZ_MUTUAL | FZ_ALPN | FZ_TLS12_ONLY,
         0x01 | 0x10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fz_buf c2s = {0}, s2c = {0}, seed = {0};
        uint8_t head[2] = {(uint8_t)cases[i].flags, (uint8_t)(i * 37 + 1)};
        record(cases[i].copts, cases[i].sopts, &c2s, &s2c);
        check_replay(MEMTLS_ROLE_CLIENT, cases[i].copts, FZ_SEED_CLIENT, &s2c);
        fz_buf_append(&seed, head, 2);
        fz_buf_append(&seed, s2c.data, s2c.len);
        write_seed("fuzz_client_context", cases[i].name, seed.data, seed.len);
        fz_buf_free(&c2s);
        fz_buf_free(&s2c);
        fz_buf_free(&seed);
    }
}

/* fuzz_server_session: the client's bytes, each chunk preceded by a byte
 * that says its length (1..64). */
static void server_session_seeds(void)
{
    static const struct {
        const char *name;
        unsigned copts;
        size_t chunk;
    } cases[] = {
        {"rec-tls13", 0, 64},
        {"rec-tls13-small-chunks", 0, 5},
        {"rec-tls12", FZ_TLS12_ONLY, 64},
        {"rec-tls13-alpn", FZ_ALPN, 64},
        {"rec-tls12-alpn", FZ_ALPN | FZ_TLS12_ONLY, 17},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fz_buf c2s = {0}, s2c = {0}, seed = {0};
        /* The target's server: fz_config(MEMTLS_ROLE_SERVER, FZ_ALPN). */
        record(cases[i].copts, FZ_ALPN, &c2s, &s2c);
        check_replay(MEMTLS_ROLE_SERVER, FZ_ALPN, FZ_SEED_SERVER, &c2s);
        for (size_t off = 0; off < c2s.len; off += cases[i].chunk) {
            size_t n = c2s.len - off < cases[i].chunk ? c2s.len - off : cases[i].chunk;
            uint8_t len_byte = (uint8_t)(n - 1);
            fz_buf_append(&seed, &len_byte, 1);
            fz_buf_append(&seed, c2s.data + off, n);
        }
        write_seed("fuzz_server_session", cases[i].name, seed.data, seed.len);
        fz_buf_free(&c2s);
        fz_buf_free(&s2c);
        fz_buf_free(&seed);
    }
}

/* --- operation programs and inputs of the other targets --------------------- */

/* fuzz_session_chunking: [setup] then [op][arg] pairs; op = kind << 1 | side. */
enum { SC_DELIVER, SC_WRITE, SC_POLICY, SC_KEYUPDATE, SC_READ, SC_CLOSE, SC_FLUSH, SC_BOTH };
#define OP(kind, side, arg) (uint8_t)((kind) << 1 | (side)), (uint8_t)(arg)

static void session_chunking_seeds(void)
{
    static const uint8_t basic[] = {
        0x00, /* TLS 1.3, pull mode, default limits */
        OP(SC_BOTH, 0, 0xff),
        OP(SC_BOTH, 0, 0xff),
        OP(SC_BOTH, 0, 0xff),
        OP(SC_WRITE, 0, 40),
        OP(SC_WRITE, 1, 200),
        OP(SC_BOTH, 0, 0xff),
        OP(SC_BOTH, 0, 0xff),
        OP(SC_READ, 0, 10),
        OP(SC_READ, 1, 10),
        OP(SC_CLOSE, 0, 0),
        OP(SC_BOTH, 0, 0xff),
        OP(SC_BOTH, 0, 0xff),
    };
    static const uint8_t refusals[] = {
        0x01 | 0x10, /* TLS 1.2, small limits */
        OP(SC_POLICY, 1, 2 | 8),
        OP(SC_POLICY, 0, 1),
        OP(SC_BOTH, 0, 7),
        OP(SC_BOTH, 0, 7),
        OP(SC_WRITE, 0, 255),
        OP(SC_WRITE, 1, 255),
        OP(SC_DELIVER, 0, 3),
        OP(SC_DELIVER, 1, 100),
        OP(SC_POLICY, 0, 0),
        OP(SC_FLUSH, 0, 0),
        OP(SC_BOTH, 0, 0x85),
        OP(SC_WRITE, 0, 255),
        OP(SC_POLICY, 1, 1),
        OP(SC_BOTH, 0, 0x85),
        OP(SC_POLICY, 1, 0),
        OP(SC_BOTH, 0, 0x85),
        OP(SC_CLOSE, 1, 1),
        OP(SC_BOTH, 0, 0x85),
    };
    static const uint8_t halfclose[] = {
        0x02 | 0x04 | 0x40, /* plaintext, client push mode, server closes first */
        OP(SC_WRITE, 0, 100), OP(SC_WRITE, 1, 100), OP(SC_CLOSE, 0, 1),      OP(SC_BOTH, 0, 10),
        OP(SC_BOTH, 0, 10),   OP(SC_WRITE, 1, 30),  OP(SC_DELIVER, 1, 0xff), OP(SC_BOTH, 0, 0xff),
    };
    static const uint8_t keyupdates[] = {
        0x03 | 0x08 | 0x20, /* TLS 1.3 mutual, server push mode, tiny limits */
        OP(SC_BOTH, 0, 0xff),    OP(SC_BOTH, 0, 0xff),   OP(SC_BOTH, 0, 0xff),
        OP(SC_KEYUPDATE, 0, 1),  OP(SC_KEYUPDATE, 1, 1), OP(SC_WRITE, 0, 20),
        OP(SC_POLICY, 1, 2 | 4), OP(SC_BOTH, 0, 0xff),   OP(SC_KEYUPDATE, 0, 0),
        OP(SC_WRITE, 1, 20),     OP(SC_BOTH, 0, 5),      OP(SC_READ, 0, 1),
        OP(SC_KEYUPDATE, 1, 1),  OP(SC_BOTH, 0, 0xff),   OP(SC_CLOSE, 1, 0),
    };
    static const uint8_t mixed[] = {
        0x00 | 0x30, /* TLS 1.3, mixed limits */
        OP(SC_WRITE, 0, 255),
        OP(SC_WRITE, 0, 255),
        OP(SC_DELIVER, 0, 1),
        OP(SC_DELIVER, 1, 1),
        OP(SC_DELIVER, 0, 1),
        OP(SC_DELIVER, 1, 0x90),
        OP(SC_DELIVER, 0, 0x90),
        OP(SC_DELIVER, 1, 0x90),
        OP(SC_READ, 1, 3),
        OP(SC_BOTH, 0, 0x90),
        OP(SC_CLOSE, 0, 1),
        OP(SC_BOTH, 0, 0x90),
    };
    write_seed("fuzz_session_chunking", "gen-tls13-basic", basic, sizeof basic);
    write_seed("fuzz_session_chunking", "gen-tls12-refusals", refusals, sizeof refusals);
    write_seed("fuzz_session_chunking", "gen-plaintext-halfclose", halfclose, sizeof halfclose);
    write_seed("fuzz_session_chunking", "gen-mutual-keyupdates", keyupdates, sizeof keyupdates);
    write_seed("fuzz_session_chunking", "gen-mixed-limits", mixed, sizeof mixed);
}

/* fuzz_ring_framing: [capacity] then ops (op % 7): 0 write(len16, type,
 * conn), 1 the same in two parts, 2 reserve(len16, final16, type),
 * 3 read(max), 4 peek+pop, 5 corrupt live(off16, n, bytes), 6 corrupt
 * anywhere(off16, n, bytes). */
static void ring_framing_seeds(void)
{
    fz_buf wrap = {0};
    uint8_t cap = 0;
    fz_buf_append(&wrap, &cap, 1);
    for (unsigned i = 0; i < 40; i++) {
        uint16_t len = (uint16_t)((i * 97u) % 1009u);
        uint8_t w[] = {(uint8_t)(i & 1), (uint8_t)(len >> 8), (uint8_t)len, (uint8_t)i, 9};
        uint8_t r[] = {3, (uint8_t)(i % 3)};
        uint8_t res[] = {2, 0x01, (uint8_t)i, 0x00, (uint8_t)(i * 3), 5};
        fz_buf_append(&wrap, w, sizeof w);
        fz_buf_append(&wrap, (i % 4 == 3) ? res : r, (i % 4 == 3) ? sizeof res : sizeof r);
    }
    write_seed("fuzz_ring_framing", "gen-wrap-padding", wrap.data, wrap.len);
    fz_buf_free(&wrap);

    static const uint8_t corrupt_len[] = {
        1,                                        /* 8 KiB */
        0, 0x00, 0x20, 1, 1,                      /* write 32 bytes */
        0, 0x00, 0x08, 2, 2,                      /* write 8 bytes */
        5, 0x00, 0x04, 4, 0xff, 0xff, 0x00, 0x00, /* length field of the first frame */
        3, 0,    4,    3, 0,
    };
    static const uint8_t corrupt_type[] = {
        0, 0,    0x03, 0xe0, 1, 1,                         /* write 992 bytes */
        0, 0x03, 0xe0, 1,    2, 0, 0x03, 0xe0, 1, 3, 3, 0, /* read all: the next frame wraps */
        0, 0x01, 0x00, 1,    4, 6, 0x0f, 0xc0, 8, 0, 0, 0,
        0, 0,    0,    0,    0, /* zero the end of the buffer */
        4, 4,    3,    0,
    };
    static const uint8_t reserve[] = {
        2,                            /* 16 KiB */
        2, 0x0f, 0xf0, 0x00, 0x10, 7, /* reserve 4080, commit 16 */
        2, 0x00, 0x00, 7,             /* reserve 0 */
        1, 0x00, 0x11, 3,    4,       /* two parts */
        4, 3,    0,    6,    0x00, 0x08, 16, 1,  2,  3,  4, 5, 6,
        7, 8,    9,    10,   11,   12,   13, 14, 15, 16, 3, 0,
    };
    write_seed("fuzz_ring_framing", "gen-corrupt-length", corrupt_len, sizeof corrupt_len);
    write_seed("fuzz_ring_framing", "gen-corrupt-padding", corrupt_type, sizeof corrupt_type);
    write_seed("fuzz_ring_framing", "gen-reserve-commit", reserve, sizeof reserve);
}

/* fuzz_config_pem: [flags] cert NUL key NUL ca NUL text. */
static void config_seed(const char *name, uint8_t flags, const char *cert, const char *key,
                        const char *ca, const char *text)
{
    fz_buf b = {0};
    const uint8_t nul = 0;
    fz_buf_append(&b, &flags, 1);
    fz_buf_append(&b, cert, strlen(cert));
    fz_buf_append(&b, &nul, 1);
    fz_buf_append(&b, key, strlen(key));
    fz_buf_append(&b, &nul, 1);
    fz_buf_append(&b, ca, strlen(ca));
    fz_buf_append(&b, &nul, 1);
    fz_buf_append(&b, text, strlen(text));
    write_seed("fuzz_config_pem", name, b.data, b.len);
    fz_buf_free(&b);
}

static void config_pem_seeds(void)
{
    char chain[4096];
    snprintf(chain, sizeof chain, "%s%s", fz_server_cert_pem, fz_ca_pem);
    config_seed("gen-server", 1, fz_server_cert_pem, fz_server_key_pem, fz_ca_pem,
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305");
    config_seed("gen-server-chain", 1 | 2, chain, fz_server_key_pem, fz_ca_pem,
                "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
    config_seed("gen-client-mutual", 4, fz_client_cert_pem, fz_client_key_pem, fz_ca_pem,
                "h2,http/1.1");
    config_seed("gen-key-mismatch", 1, fz_server_cert_pem, fz_client_key_pem, fz_ca_pem, "");
    config_seed("gen-ca-bundle", 0, "", "", chain, "HIGH:!aNULL");
}

/* fuzz_args: [which] then words separated by NUL bytes. */
static void args_seed(const char *name, uint8_t which, const char *const *words)
{
    fz_buf b = {0};
    fz_buf_append(&b, &which, 1);
    for (size_t i = 0; words[i] != NULL; i++) {
        if (i > 0) {
            const uint8_t nul = 0;
            fz_buf_append(&b, &nul, 1);
        }
        fz_buf_append(&b, words[i], strlen(words[i]));
    }
    write_seed("fuzz_args", name, b.data, b.len);
    fz_buf_free(&b);
}

static void args_seeds(void)
{
    static const char *const serve_mtls[] = {
        "--listen",       "127.0.0.1:8443", "--cert",     "pki/server.pem",  "--key",
        "pki/server.key", "--ca",           "pki/ca.pem", "--verify-client", "required",
        "--allow-san",    "client,other",   NULL};
    static const char *const serve_proxy[] = {"--listen=[::1]:0,plaintext",
                                              "--listen",
                                              "localhost:0",
                                              "--backend",
                                              "127.0.0.1:9000",
                                              "--alpn",
                                              "h2,http/1.1",
                                              "--min-tls",
                                              "1.3",
                                              "--workers",
                                              "2",
                                              "--max-conns",
                                              "100",
                                              "--handshake-timeout",
                                              "5000",
                                              "--idle-timeout",
                                              "60000",
                                              "--grace",
                                              "0",
                                              "--log-level",
                                              "debug",
                                              "--ciphers",
                                              "ECDHE-ECDSA-AES128-GCM-SHA256",
                                              "--ciphersuites",
                                              "TLS_AES_128_GCM_SHA256",
                                              NULL};
    static const char *const serve_bad[] = {"--cert", "a",         "--cert", "b",
                                            "--echo", "--backend", "x:1",    NULL};
    static const char *const connect_full[] = {"--ca",
                                               "pki/ca.pem",
                                               "--servername",
                                               "localhost",
                                               "--cert",
                                               "pki/client.pem",
                                               "--key",
                                               "pki/client.key",
                                               "--alpn",
                                               "h2",
                                               "--min-tls",
                                               "1.2",
                                               "--max-tls",
                                               "1.3",
                                               "--timeout",
                                               "100",
                                               "-v",
                                               "localhost:8443",
                                               NULL};
    static const char *const connect_v6[] = {"-kv", "--insecure", "[::1]:8443", NULL};
    static const char *const serve_fleet[] = {"--listen",
                                              "0.0.0.0:443,proxy",
                                              "--listen",
                                              "[::1]:0,plaintext,proxy",
                                              "--cert",
                                              "a.pem",
                                              "--key",
                                              "a.key",
                                              "--cert",
                                              "b.pem",
                                              "--key",
                                              "b.key",
                                              "--ticket-keys",
                                              "/run/memtls/tickets.keys",
                                              "--ticket-lifetime",
                                              "86400",
                                              "--backend",
                                              "127.0.0.1:8080",
                                              "--proxy-protocol",
                                              "v2",
                                              NULL};
    static const char *const serve_rotate[] = {"--ticket-rotate", "600", "--no-tickets", NULL};
    args_seed("gen-serve-mtls", 0, serve_mtls);
    args_seed("gen-serve-proxy", 0, serve_proxy);
    args_seed("gen-serve-bad", 0, serve_bad);
    args_seed("gen-connect-full", 1, connect_full);
    args_seed("gen-connect-v6", 1, connect_v6);
    args_seed("gen-serve-fleet", 0, serve_fleet);
    args_seed("gen-serve-rotate-bad", 0, serve_rotate);
}

/* fuzz_proxy_header: [bound] then the header (and what follows it). */
static void proxy_seed(const char *name, uint8_t bound, const void *hdr, size_t len,
                       const char *tail)
{
    fz_buf b = {0};
    fz_buf_append(&b, &bound, 1);
    fz_buf_append(&b, hdr, len);
    fz_buf_append(&b, tail, strlen(tail));
    write_seed("fuzz_proxy_header", name, b.data, b.len);
    fz_buf_free(&b);
}

static void proxy_header_seeds(void)
{
    struct sockaddr_in s4 = {0}, d4 = {0};
    struct sockaddr_in6 s6 = {0}, d6 = {0};
    s4.sin_family = d4.sin_family = AF_INET;
    s6.sin6_family = d6.sin6_family = AF_INET6;
    s4.sin_port = htons(51000);
    d4.sin_port = htons(443);
    s6.sin6_port = htons(40000);
    d6.sin6_port = htons(8443);
    inet_pton(AF_INET, "192.0.2.10", &s4.sin_addr);
    inet_pton(AF_INET, "198.51.100.1", &d4.sin_addr);
    inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
    inet_pton(AF_INET6, "2001:db8::1", &d6.sin6_addr);
    static uint8_t buf[1024];
    size_t len = 0;
    memtls_proxy_info info;

    memset(&info, 0, sizeof info);
    info.src = (struct sockaddr *)&s4;
    info.dst = (struct sockaddr *)&d4;
    FZ_CHECK(memtls_proxy_build(1, &info, buf, sizeof buf, &len) == 0, "v1");
    proxy_seed("gen-v1-tcp4", 0, buf, len, "\x16\x03\x01");
    FZ_CHECK(memtls_proxy_build(2, &info, buf, sizeof buf, &len) == 0, "v2");
    proxy_seed("gen-v2-inet", 3, buf, len, "");
    info.src = (struct sockaddr *)&s6;
    info.dst = (struct sockaddr *)&d6;
    FZ_CHECK(memtls_proxy_build(1, &info, buf, sizeof buf, &len) == 0, "v1 tcp6");
    proxy_seed("gen-v1-tcp6", 2, buf, len, "GET / HTTP/1.0\r\n");
    /* What memtls sends in front of a TLS connection with a client
     * certificate, and a checksum. */
    info.alpn = "h2";
    info.authority = "www.example.test";
    info.ssl = 1;
    info.ssl_client =
        MEMTLS_PP2_CLIENT_SSL | MEMTLS_PP2_CLIENT_CERT_CONN | MEMTLS_PP2_CLIENT_CERT_SESS;
    info.ssl_version = "TLSv1.3";
    info.ssl_cipher = "TLS_AES_256_GCM_SHA384";
    info.ssl_cn = "client";
    info.crc32c = 1;
    FZ_CHECK(memtls_proxy_build(2, &info, buf, sizeof buf, &len) == 0, "v2 tls");
    proxy_seed("gen-v2-inet6-tls-crc", 0, buf, len, "payload");
    info.src = NULL;
    FZ_CHECK(memtls_proxy_build(2, &info, buf, sizeof buf, &len) == 0, "v2 local");
    proxy_seed("gen-v2-local", 4, buf, len, "");
    FZ_CHECK(memtls_proxy_build(1, &info, buf, sizeof buf, &len) == 0, "v1 unknown");
    proxy_seed("gen-v1-unknown", 0, buf, len, "");
}

/* fuzz_ticket_keys: a key file. */
static void ticket_keys_seeds(void)
{
    unsigned char raw[80];
    char b64[3][120];
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < sizeof raw; i++) {
            raw[i] = (unsigned char)(k * 97 + i * 13);
        }
        EVP_EncodeBlock((unsigned char *)b64[k], raw, sizeof raw);
    }
    char text[1024];
    int n = snprintf(text, sizeof text, "%s\n%s\n%s\n", b64[0], b64[1], b64[2]);
    write_seed("fuzz_ticket_keys", "gen-three-keys", text, (size_t)n);
    n = snprintf(text, sizeof text,
                 "# rotated by cron\r\n\r\n  %s  \r\n# next key, decrypt only\r\n%.107s\r\n",
                 b64[1], b64[2]);
    write_seed("fuzz_ticket_keys", "gen-comments-crlf-unpadded", text, (size_t)n);
    EVP_EncodeBlock((unsigned char *)b64[2], raw, 48);
    n = snprintf(text, sizeof text, "%s\n%s\n", b64[0], b64[2]);
    write_seed("fuzz_ticket_keys", "gen-48-byte-key", text, (size_t)n);
    n = snprintf(text, sizeof text, "%s\n%s\n", b64[0], b64[0]);
    write_seed("fuzz_ticket_keys", "gen-same-name", text, (size_t)n);
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR (fuzz/corpus)\n");
        return 2;
    }
    g_dir = argv[1];
    fz_rand_install();
    client_context_seeds();
    server_session_seeds();
    session_chunking_seeds();
    ring_framing_seeds();
    config_pem_seeds();
    args_seeds();
    proxy_header_seeds();
    ticket_keys_seeds();
    return 0;
}
