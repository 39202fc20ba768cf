/*
 * Test: the status / out-parameter contract. Every status is MEMTLS_OK, a
 * MEMTLS_* outcome or a MEMTLS_ERR_* code (never negative); whenever the
 * status is not 0 the byte count out-parameter is 0 (the caller's old
 * value is overwritten); on 0, read gives >= 1 byte and write gives all.
 */
#include "test.h"
#include <limits.h>
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

#define POISON ((size_t)0xDEADBEEF)

static int do_read(memtls_ctx *ctx, int expect)
{
    uint8_t buf[64];
    size_t n = POISON;
    int rc = memtls_ctx_read(ctx, buf, sizeof buf, &n);
    assert_true(rc >= 0);
    assert_int_equal(rc, expect);
    if (rc != 0) {
        assert_int_equal(n, 0);
    } else {
        assert_true(n >= 1 && n <= sizeof buf);
    }
    return rc;
}

static void do_write(memtls_ctx *ctx, const char *s, int expect)
{
    size_t n = POISON;
    int rc = memtls_ctx_write(ctx, s, strlen(s), &n);
    assert_true(rc >= 0);
    assert_int_equal(rc, expect);
    assert_int_equal(n, rc == 0 ? strlen(s) : 0);
}

static void test_tls_statuses(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");

    /* Before the handshake: want read, count 0. */
    do_read(p.s, MEMTLS_WANT_READ);
    do_write(p.c, "early", MEMTLS_WANT_READ);
    tlspair_handshake(&p);

    /* Success: full write, partial-size read. */
    do_write(p.c, "hello", 0);
    pump_one_way(p.c, p.s, 0);
    do_read(p.s, 0);
    do_read(p.s, MEMTLS_WANT_READ);

    /* Invalid arguments: count 0 too. */
    uint8_t buf[8];
    size_t n = POISON;
    assert_int_equal(memtls_ctx_read(p.s, buf, 0, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_read(p.s, NULL, 8, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_read(NULL, buf, 8, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_read(p.s, buf, (size_t)INT_MAX + 1, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_write(NULL, "x", 1, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_write(p.c, NULL, 1, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_drain(NULL, buf, sizeof buf, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    n = POISON;
    assert_int_equal(memtls_ctx_drain(p.c, NULL, 8, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    /* Zero-length write: success, 0 written. */
    n = POISON;
    assert_int_equal(memtls_ctx_write(p.c, "x", 0, &n), 0);
    assert_int_equal(n, 0);
    /* Nothing to send: success, 0 sent. */
    n = POISON;
    assert_int_equal(memtls_ctx_drain(p.c, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 0);

    /* Clean close: the reader and the closed writer both see MEMTLS_CLOSED,
     * count 0. */
    assert_int_equal(memtls_ctx_close(p.c), 0);
    do_write(p.c, "late", MEMTLS_CLOSED);
    pump_one_way(p.c, p.s, 0);
    do_read(p.s, MEMTLS_CLOSED);
    tlspair_free(&p);

    /* Fatal error: MEMTLS_ERR_SSL, count 0, for reads and writes. */
    tlspair_connect(&p, NULL, "localhost");
    uint8_t junk[32];
    memset(junk, 0xAA, sizeof junk);
    assert_int_equal(memtls_ctx_feed(p.s, junk, sizeof junk), 0);
    do_read(p.s, MEMTLS_ERR_SSL);
    do_write(p.s, "after failure", MEMTLS_ERR_SSL);
    tlspair_free(&p);

    /* Truncation: count 0. */
    tlspair_connect(&p, NULL, "localhost");
    assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
    n = POISON;
    int rc = memtls_ctx_read(p.s, buf, sizeof buf, &n);
    assert_true(rc == MEMTLS_ERR_SSL || rc == MEMTLS_ERR_SYSCALL);
    assert_int_equal(n, 0);
    tlspair_free(&p);
}

/* Test: the DER accessor's out-length: 0 on every failure except
 * TOO_SMALL, where it is the size needed. */
static void test_peer_der_outlen(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    uint8_t der[4096];
    size_t len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, der, sizeof der, &len), MEMTLS_ERR_NO_PEER_CERT);
    assert_int_equal(len, 0);
    tlspair_handshake(&p);
    len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, NULL, 0, &len), MEMTLS_ERR_TOO_SMALL);
    assert_true(len > 100 && len < sizeof der);
    size_t need = len;
    len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, der, need - 1, &len), MEMTLS_ERR_TOO_SMALL);
    assert_int_equal(len, need);
    len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, NULL, 5, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(len, 0);
    len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, der, need, &len), 0);
    assert_int_equal(len, need);
    /* The server has no client certificate. */
    len = POISON;
    assert_int_equal(memtls_ctx_peer_cert_der(p.s, der, sizeof der, &len), MEMTLS_ERR_NO_PEER_CERT);
    assert_int_equal(len, 0);
    tlspair_free(&p);
}

/* Test: the plaintext twin keeps the same contract. */
static void test_plaintext_statuses(void **state)
{
    memtls_ctx *t = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    do_read(t, MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_feed(t, "abc", 3), 0);
    do_read(t, 0);
    assert_int_equal(memtls_ctx_feed_eof(t), 0);
    do_read(t, MEMTLS_CLOSED);
    do_write(t, "ok", 0);
    assert_int_equal(memtls_ctx_close(t), 0);
    do_write(t, "no", MEMTLS_CLOSED);
    memtls_ctx_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_statuses),
        cmocka_unit_test(test_peer_der_outlen),
        cmocka_unit_test(test_plaintext_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
