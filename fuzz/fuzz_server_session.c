/*
 * fuzz_server_session.c - arbitrary bytes from a hostile client, fed in
 * fuzzer-chosen chunks to a TLS server session (and its plaintext twin).
 * Whatever arrives, the session must not crash, leak, or strand output:
 * after every call the context's write BIO is empty (the drain rule), and a
 * terminal state stays terminal.
 *
 * The server uses the fixed PKI and deterministic randomness (support/),
 * so the recorded client flights in the corpus (ClientHello, then the
 * client's Finished, application data, KeyUpdate and close_notify, written
 * by make_corpus.c) match the server's answers and drive it through the
 * whole connection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memtls/config.h>
#include <memtls/session.h>

#include "fuzz_support.h"

static memtls_config *server_cfg;

static size_t sink(void *arg, const uint8_t *data, size_t len)
{
    (void)data;
    /* Refuse every third offer to exercise pending_out. */
    size_t *calls = arg;
    return (++*calls % 3 == 0) ? 0 : len;
}

static void echo(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    (void)len;
}

static void run(memtls_ctx *ctx, const uint8_t *data, size_t size)
{
    size_t calls = 0;
    memtls_session_cbs cbs = {.arg = &calls, .send = sink, .on_data = echo};
    memtls_session *s = memtls_session_new(ctx, &cbs, NULL);
    if (s == NULL) {
        abort();
    }
    size_t off = 0;
    while (off < size) {
        /* First byte of each chunk chooses its length (1..64). */
        size_t n = (size_t)(data[off] % 64) + 1;
        off++;
        if (n > size - off) {
            n = size - off;
        }
        (void)memtls_session_feed(s, data + off, n);
        if (memtls_ctx_pending_out(memtls_session_ctx(s)) != 0) {
            abort(); /* ciphertext stranded in the write BIO */
        }
        off += n;
    }
    (void)memtls_session_feed_eof(s);
    (void)memtls_session_flush(s);
    memtls_state st = memtls_session_state(s);
    if (st == MEMTLS_STATE_HANDSHAKE || st == MEMTLS_STATE_READY) {
        abort(); /* after EOF the session must have ended */
    }
    memtls_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (server_cfg == NULL) {
        fz_rand_install();
        server_cfg = fz_config(MEMTLS_ROLE_SERVER, FZ_ALPN);
    }
    fz_rand_reset(FZ_SEED_SERVER);
    run(memtls_ctx_new(server_cfg), data, size);
    run(memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER), data, size);
    return 0;
}
