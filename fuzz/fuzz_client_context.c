/*
 * fuzz_client_context.c - a TLS client context that sent a real
 * ClientHello, fed arbitrary "server" bytes.
 *
 * Input: [flags] [seed] [server bytes ...]
 *   flags bit 0     client configuration: 0 plain (verifies the fixed CA),
 *                   1 mutual + ALPN (client certificate, "h2,http/1.1")
 *   flags bits 1-3  chunking of the server bytes: whole, then pieces of at
 *                   most 1, 3, 16, 64, 512, 4096 bytes or random sizes
 *                   (drawn from the seed byte)
 *   flags bit 4     write application data once the handshake is done
 *   flags bit 5     request a KeyUpdate once the handshake is done
 *   flags bit 6     close (close_notify) after the last byte
 * The ClientHello is the same for every input (fz_rand_reset before the
 * context is made), so the recorded server flights in the corpus
 * (fuzz/make_corpus.c) decrypt and take the client through the whole
 * handshake, tickets, application data and close: the fuzzer starts deep.
 *
 * Checked: the status contract (byte counts are 0 on every non-zero
 * status; only documented statuses), the drain rule (memtls_ctx_drain empties
 * the write BIO), a failed context stays failed and says why (a
 * close_notify during the handshake included), the ClientHello is
 * deterministic, and peer information is readable after the handshake.
 */
#include <string.h>

#include <memtls/context.h>

#include "fuzz_support.h"

#define NCONFIGS 2

static memtls_config *g_cfg[NCONFIGS];
static fz_buf g_hello[NCONFIGS]; /* the first ClientHello of each configuration */

static size_t chunk_size(unsigned mode, uint64_t *rng)
{
    static const size_t sizes[] = {SIZE_MAX, 1, 3, 16, 64, 512, 4096};
    if (mode < sizeof sizes / sizeof sizes[0]) {
        return sizes[mode];
    }
    return (size_t)(fz_next(rng) % 700) + 1;
}

static int is_fatal(int rc)
{
    return rc != 0 && rc != MEMTLS_WANT_READ && rc != MEMTLS_WANT_WRITE && rc != MEMTLS_CLOSED;
}

/* Everything a finished handshake offers to read. */
static void peer_info(memtls_ctx *ctx)
{
    uint8_t der[4096];
    size_t len = 0;
    FZ_CHECK(memtls_ctx_protocol(ctx) != NULL && memtls_ctx_cipher(ctx) != NULL,
             "no version or cipher");
    (void)memtls_ctx_alpn(ctx);
    (void)memtls_ctx_peer_verified(ctx);
    (void)memtls_ctx_verify_error(ctx);
    (void)memtls_ctx_peer_subject(ctx);
    (void)memtls_ctx_peer_sans(ctx);
    (void)memtls_ctx_peer_has_name(ctx, "localhost");
    (void)memtls_ctx_peer_has_name(ctx, "127.0.0.1");
    int rc = memtls_ctx_peer_cert_der(ctx, der, sizeof der, &len);
    FZ_CHECK(rc == 0 || rc == MEMTLS_ERR_NO_PEER_CERT || rc == MEMTLS_ERR_TOO_SMALL,
             "peer_cert_der: %d, %zu", rc, len);
}

/* Advance the context after new input; returns its last status. */
static int step(memtls_ctx *ctx, unsigned flags, int *wrote, int *updated)
{
    uint8_t buf[16384];
    int rc;

    if (!memtls_ctx_handshake_done(ctx)) {
        rc = memtls_ctx_handshake(ctx);
        fz_drain(ctx, NULL);
        if (rc != 0) {
            FZ_CHECK(rc == MEMTLS_WANT_READ || rc == MEMTLS_ERR_X509_VERIFY ||
                         rc == MEMTLS_CLOSED || rc == MEMTLS_ERR_SSL || rc == MEMTLS_ERR_SYSCALL,
                     "handshake status %d", rc);
            FZ_CHECK(rc == MEMTLS_WANT_READ || memtls_ctx_error(ctx)[0] != '\0',
                     "handshake failed (%d) without a reason", rc);
            return rc;
        }
        FZ_CHECK(memtls_ctx_handshake_done(ctx), "handshake returned 0 but is not done");
        peer_info(ctx);
    }
    if ((flags & 0x10) && !*wrote) {
        size_t written = 99;
        rc = memtls_ctx_write(ctx, "GET / HTTP/1.0\r\n\r\n", 18, &written);
        FZ_CHECK(rc == 0 ? written == 18 : written == 0, "write: %d, %zu", rc, written);
        fz_drain(ctx, NULL);
        *wrote = 1;
    }
    if ((flags & 0x20) && !*updated) {
        (void)memtls_ctx_key_update(ctx, 1);
        *updated = 1;
    }
    for (;;) {
        size_t n = 99;
        rc = memtls_ctx_read(ctx, buf, sizeof buf, &n);
        fz_drain(ctx, NULL);
        if (rc != 0) {
            FZ_CHECK(n == 0, "read status %d with %zu bytes", rc, n);
            return rc;
        }
        FZ_CHECK(n >= 1 && n <= sizeof buf, "read 0 with %zu bytes", n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_cfg[0] == NULL) {
        fz_rand_install();
        g_cfg[0] = fz_config(MEMTLS_ROLE_CLIENT, 0);
        g_cfg[1] = fz_config(MEMTLS_ROLE_CLIENT, FZ_MUTUAL | FZ_ALPN);
    }
    if (size < 2) {
        return 0;
    }
    unsigned flags = data[0];
    uint64_t rng = data[1];
    unsigned which = flags & 1u;

    fz_rand_reset(FZ_SEED_CLIENT);
    memtls_ctx *ctx = memtls_ctx_new(g_cfg[which]);
    FZ_CHECK(ctx != NULL, "memtls_ctx_new failed");
    FZ_CHECK(memtls_ctx_set_hostname(ctx, "localhost") == 0, "set_hostname failed");
    int rc = memtls_ctx_handshake(ctx);
    FZ_CHECK(rc == MEMTLS_WANT_READ, "first handshake step: %d", rc);
    fz_buf hello = {0};
    fz_drain(ctx, &hello);
    if (g_hello[which].len == 0) {
        fz_buf_append(&g_hello[which], hello.data, hello.len);
    }
    FZ_CHECK(hello.len == g_hello[which].len &&
                 memcmp(hello.data, g_hello[which].data, hello.len) == 0,
             "the ClientHello is not deterministic");
    fz_buf_free(&hello);

    const uint8_t *p = data + 2;
    size_t left = size - 2;
    int wrote = 0;
    int updated = 0;
    int failed = 0;
    while (left > 0 && !failed) {
        size_t n = chunk_size((flags >> 1) & 7u, &rng);
        if (n > left) {
            n = left;
        }
        FZ_CHECK(memtls_ctx_feed(ctx, p, n) == 0, "recv refused %zu bytes", n);
        p += n;
        left -= n;
        rc = step(ctx, flags, &wrote, &updated);
        failed = is_fatal(rc) || rc == MEMTLS_CLOSED;
    }
    if (failed && (is_fatal(rc) || !memtls_ctx_handshake_done(ctx))) {
        /* The first fatal error sticks. */
        char text[512];
        FZ_CHECK(memtls_ctx_error(ctx)[0] != '\0', "fatal status %d without a reason", rc);
        FZ_CHECK(memtls_ctx_status_text(ctx, rc, text, sizeof text)[0] != '\0', "no status text");
        int again = step(ctx, flags, &wrote, &updated);
        FZ_CHECK(again == rc || (is_fatal(rc) && is_fatal(again)),
                 "a failed context recovered: %d then %d", rc, again);
    }
    if (!failed && (flags & 0x40) && memtls_ctx_handshake_done(ctx)) {
        (void)memtls_ctx_close(ctx);
        fz_drain(ctx, NULL);
    }
    FZ_CHECK(memtls_ctx_feed_eof(ctx) == 0, "recv_eof failed");
    (void)step(ctx, flags, &wrote, &updated);
    FZ_CHECK(memtls_ctx_pending_out(ctx) == 0, "ciphertext left in the write BIO");
    memtls_ctx_free(ctx);
    return 0;
}
