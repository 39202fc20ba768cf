/*
 * test_context_close_in_handshake.c - a peer that sends close_notify
 * before the handshake completed. A client gets MEMTLS_CLOSED
 * from the handshake (a server, which has not seen a ClientHello yet,
 * MEMTLS_ERR_SSL); the context keeps it as its failure (the handshake can
 * never complete), names it in memtls_ctx_error(), and answers every later
 * call the same way. A session over such a context ends in ERROR with that
 * reason.
 *
 * Found by fuzz/fuzz_client_context: memtls_ctx_handshake() returned a status
 * its contract did not list, with no reason recorded; the input
 * ("\0\0" flags, then a server that answers the ClientHello with a warning
 * close_notify alert and a stray record) is embedded below.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <memtls/context.h>
#include <memtls/session.h>

#include "tlspair.h"

/* The server bytes of the fuzz input: alert(warning, close_notify), then
 * the start of a record that never completes. */
static const uint8_t close_notify_then_junk[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00, 0x00,
                                                 0x0b, 0x63, 0x6f, 0x64, 0x65, 0x64, 0x2d};

static void drain(memtls_ctx *ctx)
{
    uint8_t buf[4096];
    size_t n = 0;
    while (memtls_ctx_pending_out(ctx) > 0) {
        assert_int_equal(memtls_ctx_drain(ctx, buf, sizeof buf, &n), 0);
    }
}

/* The handshake fails with `want` and a reason containing `why`; the
 * failure sticks. */
static void check_failed_handshake(memtls_ctx *ctx, int want, const char *why)
{
    int rc = memtls_ctx_handshake(ctx);
    drain(ctx);
    assert_int_equal(rc, want);
    assert_false(memtls_ctx_handshake_done(ctx));
    assert_true(text_has(memtls_ctx_error(ctx), why));
    /* It sticks: the handshake can never complete. */
    assert_int_equal(memtls_ctx_handshake(ctx), want);
    uint8_t buf[16];
    size_t n = 99;
    assert_int_equal(memtls_ctx_read(ctx, buf, sizeof buf, &n), want);
    assert_int_equal(n, 0);
    /* Nothing to close: the failure again, nothing sent. */
    assert_int_equal(memtls_ctx_close(ctx), want);
    assert_int_equal(memtls_ctx_pending_out(ctx), 0);
    assert_true(text_has(memtls_ctx_error(ctx), why));
}

/* The client sent its ClientHello; the server answers with close_notify. */
static void test_client_gets_close_notify(void **state)
{
    (void)state;
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
    drain(p.c);
    assert_int_equal(memtls_ctx_feed(p.c, close_notify_then_junk, sizeof close_notify_then_junk),
                     0);
    check_failed_handshake(p.c, MEMTLS_CLOSED,
                           "the peer sent close_notify before the handshake completed");
    tlspair_free(&p);
}

/* A server whose client sends close_notify instead of a ClientHello:
 * OpenSSL calls that an unexpected message (a protocol error). */
static void test_server_gets_close_notify(void **state)
{
    (void)state;
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_feed(p.s, close_notify_then_junk, 7), 0);
    check_failed_handshake(p.s, MEMTLS_ERR_SSL, "handshake: MEMTLS_ERR_SSL");
    tlspair_free(&p);
}

static size_t take_all(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    return len;
}

/* The session over it ends in ERROR, with the reason in its detail. */
static void test_session_reports_it(void **state)
{
    (void)state;
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    memtls_session_cbs cbs = {.send = take_all};
    memtls_session *s = memtls_session_new(p.c, &cbs, NULL);
    p.c = NULL; /* the session owns it */
    assert_non_null(s);
    assert_int_equal(memtls_session_start(s), 0);
    assert_int_equal(memtls_session_feed(s, close_notify_then_junk, sizeof close_notify_then_junk),
                     0);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_true(text_has(memtls_session_error(s), "close_notify before the handshake completed"));
    memtls_session_free(s);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_gets_close_notify),
        cmocka_unit_test(test_server_gets_close_notify),
        cmocka_unit_test(test_session_reports_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
