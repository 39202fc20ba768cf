/*
 * Test: truncation. A transport EOF without the peer's close_notify ends a
 * TLS session in ERROR with MEMTLS_REASON_TRUNCATED: after the handshake
 * (whole or mid-record), during it, and before it. What arrived before the
 * EOF is still delivered. For the plaintext twin EOF is the clean close.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static void check_truncated(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    const sp_event *ev = sp_last_event(p, idx);
    assert_int_equal(memtls_session_state(e->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(e->s), MEMTLS_REASON_TRUNCATED);
    assert_non_null(ev);
    assert_int_equal(ev->to, MEMTLS_STATE_ERROR);
    assert_int_equal(ev->why, MEMTLS_REASON_TRUNCATED);
    assert_true(memtls_session_error(e->s)[0] != '\0');
}

static void eof_after_data(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .no_auto_eof = 1});
    sp_end *s = &p->end[SP_SERVER];

    sp_write_all(p, SP_CLIENT, "partial", 7);
    sp_run(p, 100);
    sp_eof(p, SP_SERVER);
    check_truncated(p, SP_SERVER);
    /* What came before the EOF is delivered; then the stream is over, and
     * not as a clean end. */
    char buf[16];
    size_t n = 0;
    assert_got(memtls_session_read(s->s, buf, sizeof buf, &n), buf, n, "partial");
    assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(memtls_session_write(s->s, "x", 1, &n), MEMTLS_CLOSED);
    sp_free(p);
}

/* Test: TLS 1.3, EOF between records. */
static void test_eof_after_data_tls13(void **state)
{
    eof_after_data(SP_TLS13);
}

/* Test: TLS 1.2, EOF between records. */
static void test_eof_after_data_tls12(void **state)
{
    eof_after_data(SP_TLS12);
}

/* Test: EOF in the middle of a record. */
static void test_eof_mid_record(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_write_all(p, SP_CLIENT, "0123456789", 10);
    sp_deliver(p, SP_CLIENT, 12); /* header and a few bytes */
    sp_drop(p, SP_CLIENT);
    sp_eof(p, SP_SERVER);
    check_truncated(p, SP_SERVER);
    assert_int_equal(memtls_session_readable(p->end[SP_SERVER].s), 0);
    /* Nothing is left in the context once reading stopped (the server's
     * decode_error alert went to its transport). */
    memtls_ctx *ctx = memtls_session_ctx(p->end[SP_SERVER].s);
    assert_int_equal(memtls_ctx_pending_in(ctx), 0);
    assert_int_equal(memtls_ctx_pending_out(ctx), 0);
    sp_free(p);
}

/* Test: a full input buffer delays the verdict until the application has
 * read everything before the EOF. */
static void test_eof_behind_unread_data(void **state)
{
    sessionpair *p = sp_ready(
        &(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1, .limits[SP_SERVER].plaintext_in = 100});
    sp_end *s = &p->end[SP_SERVER];
    static char data[5000];
    memset(data, 'd', sizeof data);
    sp_write_all(p, SP_CLIENT, data, sizeof data);
    sp_run(p, 100);
    sp_eof(p, SP_SERVER);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    assert_int_equal(sp_read_all(p, SP_SERVER), sizeof data);
    check_truncated(p, SP_SERVER);
    sp_free(p);
}

/* Test: EOF during the handshake (the server has the ClientHello). */
static void test_eof_during_handshake(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_deliver(p, SP_CLIENT, 0);
    assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_HANDSHAKE);
    sp_eof(p, SP_SERVER);
    check_truncated(p, SP_SERVER);
    /* The client, whose answer never comes. */
    sp_drop(p, SP_SERVER);
    sp_eof(p, SP_CLIENT);
    check_truncated(p, SP_CLIENT);
    /* A failed handshake: its text went to on_handshake_error first. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(p->end[i].hs_error_calls, 1);
        assert_int_equal(sp_last_event(p, i)->hs_errors_before, 1);
        assert_non_null(strstr(p->end[i].hs_error, "eof"));
    }
    sp_free(p);
}

/* Test: EOF before any byte, on a server that never started. */
static void test_eof_before_handshake(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1, .no_start = 1});
    sp_eof(p, SP_SERVER);
    check_truncated(p, SP_SERVER);
    sp_free(p);
}

/* Test: plaintext: EOF is the clean end of the stream. */
static void test_plaintext_eof_is_clean(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT, .no_auto_eof = 1});
    sp_end *s = &p->end[SP_SERVER];
    sp_write_all(p, SP_CLIENT, "abc", 3);
    sp_run(p, 100);
    sp_eof(p, SP_SERVER);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    assert_true(sp_saw(p, SP_SERVER, MEMTLS_STATE_CLOSING, MEMTLS_REASON_PEER_CLOSED));
    assert_string_equal(sp_last_event(p, SP_SERVER)->detail, "closed by peer");
    assert_int_equal(sp_read_all(p, SP_SERVER), 3);
    char buf[4];
    size_t n = 0;
    assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eof_after_data_tls13),
        cmocka_unit_test(test_eof_after_data_tls12),
        cmocka_unit_test(test_eof_mid_record),
        cmocka_unit_test(test_eof_behind_unread_data),
        cmocka_unit_test(test_eof_during_handshake),
        cmocka_unit_test(test_eof_before_handshake),
        cmocka_unit_test(test_plaintext_eof_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
