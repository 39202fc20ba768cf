/*
 * Test: truncation. An empty read BIO means "retry" until the transport
 * reports EOF with memtls_ctx_feed_eof(); a read that then finds the stream
 * ended without close_notify fails (MEMTLS_ERR_SSL, or MEMTLS_ERR_SYSCALL on
 * some paths) and memtls_ctx_truncated() says so. A close_notify followed
 * by EOF is a clean close instead.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

static const int versions[] = {MEMTLS_TLS1_2, MEMTLS_TLS1_3};

static void assert_truncated(memtls_ctx *ctx, int rc)
{
    assert_true(rc == MEMTLS_ERR_SSL || rc == MEMTLS_ERR_SYSCALL);
    assert_true(memtls_ctx_truncated(ctx));
    assert_false(memtls_ctx_peer_closed(ctx));
    assert_true(memtls_ctx_error(ctx)[0] != '\0');
    char text[512];
    memtls_ctx_status_text(ctx, rc, text, sizeof text);
    assert_true(strstr(text, "unexpected eof") != NULL ||
                strstr(text, "without close_notify") != NULL);
}

static void test_empty_is_retry_not_eof(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    uint8_t buf[16];
    size_t n = 99;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
        assert_int_equal(n, 0);
    }
    assert_false(memtls_ctx_truncated(p.s));
    tlspair_free(&p);
}

/* Test: data, then EOF with no close_notify: the data is read, then the
 * truncation is reported, distinct from a clean close. */
static void test_eof_without_close_notify(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_connect(&p, &o, "localhost");
        size_t n = 0;
        uint8_t buf[64];
        assert_int_equal(memtls_ctx_write(p.c, "partial", 7, &n), 0);
        pump_one_way(p.c, p.s, 0);
        assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
        assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), 0);
        assert_int_equal(n, 7);
        assert_false(memtls_ctx_truncated(p.s));
        n = 99;
        int rc = memtls_ctx_read(p.s, buf, sizeof buf, &n);
        assert_int_equal(n, 0);
        assert_truncated(p.s, rc);
        /* Sticky. */
        assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), rc);
        assert_true(memtls_ctx_truncated(p.s));
        tlspair_free(&p);

        /* Same on the client side (server never sent close_notify). */
        tlspair_connect(&p, &o, "localhost");
        assert_int_equal(memtls_ctx_feed_eof(p.c), 0);
        n = 99;
        rc = memtls_ctx_read(p.c, buf, sizeof buf, &n);
        assert_int_equal(n, 0);
        assert_truncated(p.c, rc);
        tlspair_free(&p);
    }
}

/* Test: EOF in the middle of a record. */
static void test_eof_mid_record(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    size_t n = 0;
    uint8_t buf[256];
    uint8_t wire[256];
    assert_int_equal(memtls_ctx_write(p.c, "a record cut short", 18, &n), 0);
    assert_int_equal(memtls_ctx_drain(p.c, wire, sizeof wire, &n), 0);
    assert_true(n > 10);
    assert_int_equal(memtls_ctx_feed(p.s, wire, n / 2), 0);
    assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
    n = 99;
    int rc = memtls_ctx_read(p.s, buf, sizeof buf, &n);
    assert_int_equal(n, 0);
    assert_truncated(p.s, rc);
    tlspair_free(&p);
}

/* Test: close_notify then EOF is a clean close, not a truncation. */
static void test_clean_close_then_eof(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_connect(&p, &o, "localhost");
        assert_int_equal(memtls_ctx_close(p.c), 0);
        pump_one_way(p.c, p.s, 0);
        assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
        uint8_t buf[16];
        size_t n = 99;
        assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_CLOSED);
        assert_int_equal(n, 0);
        assert_true(memtls_ctx_peer_closed(p.s));
        assert_false(memtls_ctx_truncated(p.s));
        assert_string_equal(memtls_ctx_error(p.s), "");
        assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_CLOSED);
        tlspair_free(&p);
    }
}

/* Test: EOF during the handshake ends it with a failure, not a wait. */
static void test_eof_during_handshake(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_feed_eof(p.c), 0);
    int rc = memtls_ctx_handshake(p.c);
    assert_true(rc == MEMTLS_ERR_SSL || rc == MEMTLS_ERR_SYSCALL);
    assert_false(memtls_ctx_handshake_done(p.c));
    assert_true(memtls_ctx_error(p.c)[0] != '\0');
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_is_retry_not_eof),
        cmocka_unit_test(test_eof_without_close_notify),
        cmocka_unit_test(test_eof_mid_record),
        cmocka_unit_test(test_clean_close_then_eof),
        cmocka_unit_test(test_eof_during_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
