/*
 * Test: memtls_ctx_discard_input() drops the inbound ciphertext not yet
 * consumed, says how much it was, and keeps an EOF already given: a
 * plaintext twin then reads its clean end, a TLS context its truncation.
 */
#include "test.h"

#include <memtls/context.h>

#include "tlspair.h"

static void test_discard_plaintext(void **state)
{
    memtls_ctx *c = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    assert_non_null(c);
    assert_int_equal(memtls_ctx_feed(c, "hello world", 11), MEMTLS_OK);
    char buf[4];
    size_t n = 0;
    assert_int_equal(memtls_ctx_read(c, buf, sizeof buf, &n), MEMTLS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(memtls_ctx_discard_input(c), 7);
    assert_int_equal(memtls_ctx_pending_in(c), 0);
    assert_int_equal(memtls_ctx_read(c, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_discard_input(c), 0);

    assert_int_equal(memtls_ctx_feed(c, "more", 4), MEMTLS_OK);
    assert_int_equal(memtls_ctx_feed_eof(c), MEMTLS_OK);
    assert_int_equal(memtls_ctx_discard_input(c), 4);
    assert_int_equal(memtls_ctx_read(c, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    memtls_ctx_free(c);
    assert_int_equal(memtls_ctx_discard_input(NULL), 0);
}

static void test_discard_tls_keeps_eof(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    uint8_t data[100];
    fill_pattern(data, sizeof data, 7);
    size_t n = 0;
    assert_int_equal(memtls_ctx_write(p.c, data, sizeof data, &n), MEMTLS_OK);
    uint8_t wire[1024];
    size_t len = 0;
    assert_int_equal(memtls_ctx_drain(p.c, wire, sizeof wire, &len), MEMTLS_OK);
    assert_int_equal(memtls_ctx_feed(p.s, wire, len), MEMTLS_OK);
    assert_int_equal(memtls_ctx_feed_eof(p.s), MEMTLS_OK);
    /* The record is never decrypted; the stream ends without close_notify. */
    assert_int_equal(memtls_ctx_discard_input(p.s), len);
    uint8_t buf[128];
    int rc = memtls_ctx_read(p.s, buf, sizeof buf, &n);
    assert_true(rc == MEMTLS_ERR_SSL || rc == MEMTLS_ERR_SYSCALL);
    assert_true(memtls_ctx_truncated(p.s));
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discard_plaintext),
        cmocka_unit_test(test_discard_tls_keeps_eof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
