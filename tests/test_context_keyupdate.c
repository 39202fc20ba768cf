/*
 * Test: TLS 1.3 KeyUpdate. memtls_ctx_key_update(ctx, 1) queues a KeyUpdate
 * that asks the peer to update too; the peer's reply is written during the
 * peer's memtls_ctx_read() — ciphertext produced by a read, which a caller
 * must drain. Traffic keeps flowing both ways afterwards.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/* A TLS 1.3 pair with tickets consumed and message logs on both ends. */
typedef struct fixture {
    tlspair p;
    msglog cl;
    msglog sl;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    uint8_t buf[16];
    size_t n = 0;
    tlspair_connect(&f->p, &(tlspair_opts){.version = MEMTLS_TLS1_3}, "localhost");
    assert_int_equal(memtls_ctx_read(f->p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_pending_out(f->p.c), 0);
    assert_int_equal(memtls_ctx_pending_out(f->p.s), 0);
    msglog_attach(f->p.c, &f->cl);
    msglog_attach(f->p.s, &f->sl);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f != NULL) {
        tlspair_free(&f->p);
        free(f);
    }
    return 0;
}

static void test_update_requested_reply_written_by_read(void **state)
{
    fixture *f = *state;
    uint8_t buf[64];
    size_t n = 0;

    assert_int_equal(memtls_ctx_key_update(f->p.c, 1), 0);
    /* Queued, not yet written: it goes out with the next write. */
    assert_int_equal(memtls_ctx_pending_out(f->p.c), 0);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_int_equal(memtls_ctx_write(f->p.c, "after update", 12, &n), 0);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(f->p.c, f->p.s, 0);

    /* The server's read returns the data (sent under the new key) and
     * leaves its own KeyUpdate reply in the write BIO. */
    assert_int_equal(f->sl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_got(memtls_ctx_read(f->p.s, buf, sizeof buf, &n), buf, n, "after update");
    assert_int_equal(f->sl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(f->sl.sent[SSL3_MT_KEY_UPDATE], 1);
    assert_true(memtls_ctx_pending_out(f->p.s) > 0);

    /* Drained to the client, the reply is consumed by the client's read
     * (no application data: want read), and does not echo back. */
    pump_one_way(f->p.s, f->p.c, 0);
    assert_int_equal(memtls_ctx_read(f->p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(f->cl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(memtls_ctx_pending_out(f->p.c), 0);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 1);

    /* Both directions run on the new keys. */
    tlspair_transfer(f->p.s, f->p.c, "server, new key", 15);
    tlspair_transfer(f->p.c, f->p.s, "client, new key", 15);
    assert_string_equal(memtls_ctx_error(f->p.c), "");
    assert_string_equal(memtls_ctx_error(f->p.s), "");
}

/* Test: a KeyUpdate that does not ask for a reply gets none. */
static void test_update_not_requested(void **state)
{
    fixture *f = *state;
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(memtls_ctx_key_update(f->p.s, 0), 0);
    assert_int_equal(memtls_ctx_write(f->p.s, "x", 1, &n), 0);
    assert_int_equal(f->sl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(f->p.s, f->p.c, 0);
    assert_int_equal(memtls_ctx_read(f->p.c, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(f->cl.received[SSL3_MT_KEY_UPDATE], 1);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 0);
    assert_int_equal(memtls_ctx_pending_out(f->p.c), 0);
    tlspair_transfer(f->p.c, f->p.s, "fine", 4);
}

/* Test: memtls_ctx_handshake() sends a queued KeyUpdate without data, and so
 * does memtls_ctx_close() (before its close_notify). */
static void test_update_sent_by_handshake_and_close(void **state)
{
    fixture *f = *state;
    uint8_t buf[64];
    size_t n = 0;
    assert_int_equal(memtls_ctx_key_update(f->p.c, 1), 0);
    assert_int_equal(memtls_ctx_handshake(f->p.c), 0);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 1);
    assert_true(memtls_ctx_pending_out(f->p.c) > 0);
    pump_one_way(f->p.c, f->p.s, 0);
    assert_int_equal(memtls_ctx_read(f->p.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(f->sl.sent[SSL3_MT_KEY_UPDATE], 1);
    pump_one_way(f->p.s, f->p.c, 0);
    assert_int_equal(memtls_ctx_read(f->p.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);

    /* Requested, then closed at once: both go out, in order. */
    assert_int_equal(memtls_ctx_key_update(f->p.c, 0), 0);
    assert_int_equal(memtls_ctx_close(f->p.c), 0);
    assert_int_equal(f->cl.sent[SSL3_MT_KEY_UPDATE], 2);
    pump_one_way(f->p.c, f->p.s, 0);
    assert_int_equal(memtls_ctx_read(f->p.s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(f->sl.received[SSL3_MT_KEY_UPDATE], 2);
    assert_string_equal(memtls_ctx_error(f->p.s), "");
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
    tlspair_handshake(&p);
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
        cmocka_unit_test_setup_teardown(test_update_requested_reply_written_by_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_update_not_requested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_sent_by_handshake_and_close, setup, teardown),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
