/*
 * Test: TLS 1.3 KeyUpdate. memtls_ctx_key_update(ctx, 1) queues a KeyUpdate
 * that asks the peer to update too; the peer's reply is written during the
 * peer's memtls_ctx_read() — ciphertext produced by a read, which a caller
 * must drain. Traffic keeps flowing both ways afterwards.
 */
#include "test.h"
#include <string.h>

#include <openssl/ssl.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/* A TLS 1.3 pair with tickets consumed and message logs on both ends. */
static void setup(tlspair *p, msglog *cl, msglog *sl)
{
    uint8_t buf[16];
    size_t n = 0;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_3;
    tlspair_connect(p, &o, "localhost");
    assert_int_equal(memtls_ctx_read(p->c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_pending_out(p->c), 0);
    assert_int_equal(memtls_ctx_pending_out(p->s), 0);
    msglog_attach(p->c, cl);
    msglog_attach(p->s, sl);
}

static void test_update_requested_reply_written_by_read(void **state)
{
    tlspair p;
    msglog cl;
    msglog sl;
    setup(&p, &cl, &sl);
    uint8_t buf[64];
    size_t n = 0;

    assert_int_equal(memtls_ctx_key_update(p.c, 1), 0);
    /* Queued, not yet written: it goes out with the next write. */
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_int_equal(memtls_ctx_write(p.c, "after update", 12, &n), 0);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(p.c, p.s, 0);

    /* The server's read returns the data (sent under the new key) and
     * leaves its own KeyUpdate reply in the write BIO. */
    assert_int_equal(sl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 12);
    assert_memory_equal(buf, "after update", 12);
    assert_int_equal(sl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(sl.sent[SSL3_MT_KEY_UPDATE], 1);
    assert_true(memtls_ctx_pending_out(p.s) > 0);

    /* Drained to the client, the reply is consumed by the client's read
     * (no application data: want read), and does not echo back. */
    pump_one_way(p.s, p.c, 0);
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(cl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 1);

    /* Both directions run on the new keys. */
    tlspair_transfer(p.s, p.c, "server, new key", 15);
    tlspair_transfer(p.c, p.s, "client, new key", 15);
    assert_string_equal(memtls_ctx_error(p.c), "");
    assert_string_equal(memtls_ctx_error(p.s), "");
    tlspair_free(&p);
}

/* Test: a KeyUpdate that does not ask for a reply gets none. */
static void test_update_not_requested(void **state)
{
    tlspair p;
    msglog cl;
    msglog sl;
    setup(&p, &cl, &sl);
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(memtls_ctx_key_update(p.s, 0), 0);
    assert_int_equal(memtls_ctx_write(p.s, "x", 1, &n), 0);
    assert_int_equal(sl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(p.s, p.c, 0);
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    tlspair_transfer(p.c, p.s, "fine", 4);
    tlspair_free(&p);
}

/* Test: memtls_ctx_handshake() sends a queued KeyUpdate without data, and so
 * does memtls_ctx_close() (before its close_notify). */
static void test_update_sent_by_handshake_and_close(void **state)
{
    tlspair p;
    msglog cl;
    msglog sl;
    setup(&p, &cl, &sl);
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(memtls_ctx_key_update(p.c, 1), 0);
    assert_int_equal(memtls_ctx_handshake(p.c), 0);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 1);
    assert_true(memtls_ctx_pending_out(p.c) > 0);
    pump_one_way(p.c, p.s, 0);
    assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(sl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(p.s, p.c, 0);
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);

    /* Requested, then closed at once: both go out, in order. */
    assert_int_equal(memtls_ctx_key_update(p.c, 0), 0);
    assert_int_equal(memtls_ctx_close(p.c), 0);
    assert_int_equal(cl.sent[SSL3_MT_KEY_UPDATE], 2);
    pump_one_way(p.c, p.s, 0);
    assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(sl.received[SSL3_MT_KEY_UPDATE], 2);
    assert_string_equal(memtls_ctx_error(p.s), "");
    tlspair_free(&p);
}

/* Test: KeyUpdate is refused before the handshake, on TLS 1.2, on the
 * plaintext twin, and for NULL. */
static void test_refused(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_key_update(p.c, 1), MEMTLS_ERR_SSL);
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    /* Refusal does not poison the context. */
    int crc;
    int src;
    assert_true(pump_handshake(p.c, p.s, 0, &crc, &src));
    assert_string_equal(memtls_ctx_error(p.c), "");
    tlspair_free(&p);

    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_2;
    tlspair_connect(&p, &o, "localhost");
    assert_int_equal(memtls_ctx_key_update(p.c, 1), MEMTLS_ERR_SSL);
    assert_int_equal(memtls_ctx_key_update(p.s, 0), MEMTLS_ERR_SSL);
    tlspair_transfer(p.c, p.s, "still works", 11);
    assert_string_equal(memtls_ctx_error(p.c), "");
    tlspair_free(&p);

    memtls_ctx *t = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_ctx_key_update(t, 1), MEMTLS_ERR_SSL);
    memtls_ctx_free(t);
    assert_int_equal(memtls_ctx_key_update(NULL, 1), MEMTLS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_requested_reply_written_by_read),
        cmocka_unit_test(test_update_not_requested),
        cmocka_unit_test(test_update_sent_by_handshake_and_close),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
