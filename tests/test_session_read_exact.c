/*
 * Test: memtls_session_read_exact: exactly len bytes or nothing. Fewer
 * buffered: MEMTLS_WANT_READ and nothing consumed; len 0 or above the
 * input limit: MEMTLS_ERR_INVALID; across record boundaries; at the end of
 * the stream: MEMTLS_CLOSED, whether nothing is left or a partial
 * message can never complete. Also memtls_session_read's
 * out-parameter on every status.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static sessionpair *ready_pair(sp_mode mode, size_t plaintext_in)
{
    sessionpair *p =
        sp_ready(&(sp_opts){.mode = mode, .limits[SP_SERVER].plaintext_in = plaintext_in});
    return p;
}

/* Test: all or nothing. */
static void test_exact_all_or_nothing(void **state)
{
    sessionpair *p = ready_pair(SP_TLS13, 0);
    memtls_session *s = p->end[SP_SERVER].s;
    char buf[64];

    /* Nothing yet. */
    assert_int_equal(memtls_session_read_exact(s, buf, 10), MEMTLS_WANT_READ);

    /* A 10-byte message arrives in two records of 4 and 6. */
    sp_write_all(p, SP_CLIENT, "0123", 4);
    sp_run(p, 100);
    assert_int_equal(memtls_session_readable(s), 4);
    memset(buf, 'x', sizeof buf);
    assert_int_equal(memtls_session_read_exact(s, buf, 10), MEMTLS_WANT_READ);
    assert_int_equal(memtls_session_readable(s), 4); /* nothing consumed */
    assert_int_equal(buf[0], 'x');                   /* nothing copied */
    sp_write_all(p, SP_CLIENT, "456789", 6);
    sp_run(p, 100);
    assert_int_equal(memtls_session_read_exact(s, buf, 10), 0);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(memtls_session_readable(s), 0);

    /* Exactly what is there, and a prefix of it. */
    sp_write_all(p, SP_CLIENT, "abcdef", 6);
    sp_run(p, 100);
    assert_int_equal(memtls_session_read_exact(s, buf, 2), 0);
    assert_memory_equal(buf, "ab", 2);
    assert_int_equal(memtls_session_read_exact(s, buf, 4), 0);
    assert_memory_equal(buf, "cdef", 4);
    sp_free(p);
}

/* Test: bad lengths. */
static void test_exact_invalid(void **state)
{
    sessionpair *p = ready_pair(SP_TLS13, 100);
    memtls_session *s = p->end[SP_SERVER].s;
    char buf[200];
    assert_int_equal(memtls_session_read_exact(s, buf, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_read_exact(s, buf, 101), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_read_exact(s, NULL, 10), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_read_exact(NULL, buf, 10), MEMTLS_ERR_INVALID);
    /* Up to the limit is fine, and refills as it is consumed. */
    static char data[1000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (char)('A' + i % 26);
    }
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    sp_run(p, 100);
    for (size_t off = 0; off < sizeof data; off += 100) {
        assert_int_equal(memtls_session_read_exact(s, buf, 100), 0);
        assert_memory_equal(buf, data + off, 100);
    }
    sp_free(p);
}

/* Test: at the end of the stream. */
static void test_exact_at_end(void **state)
{
    sessionpair *p = ready_pair(SP_TLS13, 0);
    memtls_session *s = p->end[SP_SERVER].s;
    char buf[16];
    sp_write_all(p, SP_CLIENT, "12345", 5);
    assert_int_equal(memtls_session_close(p->end[SP_CLIENT].s), 0);
    sp_run(p, 100);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_CLOSED);
    /* 8 can never come: the 5 that are there stay readable. */
    assert_int_equal(memtls_session_read_exact(s, buf, 8), MEMTLS_CLOSED);
    assert_int_equal(memtls_session_readable(s), 5);
    assert_int_equal(memtls_session_read_exact(s, buf, 5), 0);
    assert_memory_equal(buf, "12345", 5);
    assert_int_equal(memtls_session_read_exact(s, buf, 1), MEMTLS_CLOSED);
    sp_free(p);
}

/* Test: memtls_session_read statuses and its out-parameter. */
static void test_read_statuses(void **state)
{
    sessionpair *p = ready_pair(SP_TLS12, 0);
    memtls_session *s = p->end[SP_SERVER].s;
    char buf[16];
    size_t n = 99;
    assert_int_equal(memtls_session_read(s, buf, sizeof buf, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_session_read(s, buf, 0, &n), n);
    assert_int_equal(memtls_session_read(s, NULL, 1, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_read(s, buf, 1, NULL), MEMTLS_ERR_INVALID);
    sp_write_all(p, SP_CLIENT, "xyz", 3);
    sp_run(p, 100);
    assert_got(memtls_session_read(s, buf, 2, &n), buf, n, "xy");
    assert_got(memtls_session_read(s, buf, sizeof buf, &n), buf, n, "z");
    /* Truncated: not a clean end. */
    sp_eof(p, SP_SERVER);
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_session_read(s, buf, sizeof buf, &n), n);
    assert_int_equal(memtls_session_read_exact(s, buf, 1), MEMTLS_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_all_or_nothing),
        cmocka_unit_test(test_exact_invalid),
        cmocka_unit_test(test_exact_at_end),
        cmocka_unit_test(test_read_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
