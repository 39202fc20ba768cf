/*
 * Test: error-queue isolation. OpenSSL keeps one error queue per thread
 * and SSL_get_error() reads it, so a failure left on the queue by one
 * context (or by anyone) would turn another context's harmless "want
 * read" into MEMTLS_ERR_SSL. memtls clears the queue before every SSL call
 * and after recording a failure: a failure on context A never surfaces on
 * context B of the same thread.
 */
#include "test.h"
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/* Put an unrelated SSL error on this thread's queue. */
static void stray_error(void)
{
    ERR_raise(ERR_LIB_SSL, SSL_R_BAD_PACKET_LENGTH);
    assert_true(ERR_peek_error() != 0);
}

/* Make A fail hard (garbage after the handshake), on this thread. */
static void break_context(memtls_ctx *a)
{
    uint8_t junk[64];
    uint8_t buf[16];
    size_t n = 0;
    memset(junk, 0xAA, sizeof junk);
    assert_int_equal(memtls_ctx_feed(a, junk, sizeof junk), 0);
    assert_int_equal(memtls_ctx_read(a, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    assert_true(memtls_ctx_error(a)[0] != '\0');
}

static void test_failure_on_a_not_seen_by_b(void **state)
{
    tlspair a;
    tlspair b;
    tlspair_connect(&a, NULL, "localhost");
    tlspair_connect(&b, NULL, "localhost");

    break_context(a.s);
    /* memtls leaves the queue empty after recording A's failure. */
    assert_int_equal(ERR_peek_error(), 0);

    /* B, same thread: no data yet is "want read", not an error. */
    uint8_t buf[64];
    size_t n = 99;
    assert_int_equal(memtls_ctx_read(b.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    tlspair_transfer(b.c, b.s, "still fine", 10);
    tlspair_transfer(b.s, b.c, "yes", 3);
    assert_string_equal(memtls_ctx_error(b.s), "");
    assert_string_equal(memtls_ctx_error(b.c), "");
    /* A's failure is still A's. */
    assert_true(memtls_ctx_error(a.s)[0] != '\0');
    tlspair_free(&a);
    tlspair_free(&b);
}

/* Test: an authentication failure on A during its handshake, then B's
 * whole handshake on the same thread. */
static void test_verify_failure_on_a_then_handshake_b(void **state)
{
    tlspair a;
    tlspair_init(&a, NULL);
    tlspair_contexts(&a, "wrong.example");
    int crc = -1;
    int src = -1;
    assert_false(pump_handshake(a.c, a.s, 0, &crc, &src));
    assert_int_equal(crc, MEMTLS_ERR_X509_VERIFY);
    assert_int_equal(ERR_peek_error(), 0);

    tlspair b;
    tlspair_connect(&b, NULL, "localhost");
    assert_true(memtls_ctx_peer_verified(b.c));
    assert_string_equal(memtls_ctx_error(b.c), "");
    assert_string_equal(memtls_ctx_error(b.s), "");
    tlspair_free(&a);
    tlspair_free(&b);
}

/*
 * Test: a stray error put on the queue right before each call on B (as if
 * the application or another library left one) must not change B's
 * answers: every operation clears the queue first.
 */
static void test_stray_error_before_each_call(void **state)
{
    tlspair b;
    tlspair_init(&b, NULL);
    tlspair_contexts(&b, "localhost");
    int crc = MEMTLS_WANT_READ;
    int src = MEMTLS_WANT_READ;
    /* Handshake by hand, a stray error before every step. */
    for (int round = 0; round < 10 && (crc != 0 || src != 0); round++) {
        stray_error();
        crc = memtls_ctx_handshake(b.c);
        assert_true(crc == 0 || crc == MEMTLS_WANT_READ);
        pump_one_way(b.c, b.s, 0);
        stray_error();
        src = memtls_ctx_handshake(b.s);
        assert_true(src == 0 || src == MEMTLS_WANT_READ);
        pump_one_way(b.s, b.c, 0);
    }
    assert_int_equal(crc, 0);
    assert_int_equal(src, 0);

    uint8_t buf[64];
    size_t n = 99;
    stray_error();
    assert_int_equal(memtls_ctx_read(b.s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    stray_error();
    assert_int_equal(memtls_ctx_write(b.c, "data", 4, &n), 0);
    assert_int_equal(n, 4);
    pump_one_way(b.c, b.s, 0);
    stray_error();
    assert_int_equal(memtls_ctx_read(b.s, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 4);
    stray_error();
    /* TLS 1.3 tickets are read here: still just "want read". */
    assert_int_equal(memtls_ctx_read(b.c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    stray_error();
    assert_int_equal(memtls_ctx_key_update(b.c, 1), 0);
    stray_error();
    assert_int_equal(memtls_ctx_close(b.c), 0);
    pump_one_way(b.c, b.s, 0);
    stray_error();
    assert_int_equal(memtls_ctx_read(b.s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_string_equal(memtls_ctx_error(b.c), "");
    assert_string_equal(memtls_ctx_error(b.s), "");
    assert_false(memtls_ctx_truncated(b.s));
    ERR_clear_error();
    tlspair_free(&b);
}

/* Test: the plaintext twin ignores the queue as well. */
static void test_stray_error_plaintext(void **state)
{
    memtls_ctx *t = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    uint8_t buf[8];
    size_t n = 99;
    stray_error();
    assert_int_equal(memtls_ctx_read(t, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    stray_error();
    assert_int_equal(memtls_ctx_handshake(t), 0);
    assert_string_equal(memtls_ctx_error(t), "");
    ERR_clear_error();
    memtls_ctx_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_on_a_not_seen_by_b),
        cmocka_unit_test(test_verify_failure_on_a_then_handshake_b),
        cmocka_unit_test(test_stray_error_before_each_call),
        cmocka_unit_test(test_stray_error_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
