/*
 * Test: after close. Once a session is closing or finished, inbound bytes
 * are discarded (memtls_session_feed says MEMTLS_CLOSED and counts
 * them in stats.discarded_in) instead of buffered, including ciphertext
 * that had arrived but was not yet processed when the session stopped
 * reading; writes are refused with MEMTLS_CLOSED; repeated close calls
 * are harmless.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static void check_refuses(memtls_session *s)
{
    memtls_session_stats before, after;
    memtls_session_get_stats(s, &before);
    uint8_t junk[100];
    memset(junk, 0x17, sizeof junk);
    assert_int_equal(memtls_session_feed(s, junk, sizeof junk), MEMTLS_CLOSED);
    memtls_session_get_stats(s, &after);
    assert_int_equal(after.discarded_in, before.discarded_in + sizeof junk);
    assert_int_equal(after.ciphertext_in, before.ciphertext_in);
    assert_int_equal(memtls_ctx_pending_in(memtls_session_ctx(s)), 0);

    size_t n = 99;
    assert_int_equal(memtls_session_write(s, "x", 1, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_write(s, "", 0, &n), MEMTLS_CLOSED);
    assert_int_equal(memtls_session_key_update(s, 1), MEMTLS_ERR_SSL);
    memtls_state st = memtls_session_state(s);
    assert_int_equal(memtls_session_close(s), 0);
    assert_int_equal(memtls_session_shutdown_write(s), 0);
    assert_int_equal(memtls_session_flush(s), 0);
    assert_int_equal(memtls_session_feed_eof(s), 0);
    assert_int_equal(memtls_session_state(s), st);
}

/* Test: CLOSED after a local close. */
static void test_after_local_close(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    assert_int_equal(memtls_session_close(p->end[SP_CLIENT].s), 0);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_CLOSED);
    check_refuses(p->end[SP_CLIENT].s);
    sp_free(p);
}

/* Test: CLOSING (the transport has not taken close_notify yet). */
static void test_while_closing(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_end *c = &p->end[SP_CLIENT];
    c->refuse_all = 1;
    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSING);
    check_refuses(c->s);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSING);
    c->refuse_all = 0;
    assert_int_equal(memtls_session_flush(c->s), 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    sp_free(p);
}

/* Test: after the peer closed, and after an error. */
static void test_after_peer_close_and_error(void **state)
{
    sp_opts o = {0};
    o.mode = SP_TLS12;
    o.no_auto_eof = 1;
    sessionpair *p = sp_new(&o);
    assert_true(sp_handshake(p));
    sp_run(p, 100);
    assert_int_equal(memtls_session_close(p->end[SP_CLIENT].s), 0);
    sp_run(p, 100);
    assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_CLOSED);
    check_refuses(p->end[SP_SERVER].s);
    sp_free(p);

    o.mode = SP_TLS13;
    p = sp_new(&o);
    assert_true(sp_handshake(p));
    sp_run(p, 100);
    sp_eof(p, SP_SERVER);
    assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_ERROR);
    check_refuses(p->end[SP_SERVER].s);
    sp_free(p);
}

/* Test: ciphertext already received but not processed when the session
 * closes (the application had not read; the input buffer was full) is
 * dropped with the close, not kept until the session is freed. */
static void test_unprocessed_input_dropped_at_close(void **state)
{
    sessionpair *p = sp_ready(
        &(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1, .limits[SP_CLIENT].plaintext_in = 1024});
    sp_end *c = &p->end[SP_CLIENT];
    static char data[50000];
    memset(data, 'u', sizeof data);
    for (int i = 0; i < 5; i++) {
        sp_write_all(p, SP_SERVER, data, sizeof data);
    }
    sp_run(p, 100);
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    size_t unread = memtls_ctx_pending_in(ctx);
    assert_true(unread > 100000);
    memtls_session_stats before;
    memtls_session_get_stats(c->s, &before);

    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_ctx_pending_in(ctx), 0);
    memtls_session_stats after;
    memtls_session_get_stats(c->s, &after);
    assert_int_equal(after.discarded_in, before.discarded_in + unread);
    /* What was decrypted before the close can still be read. */
    assert_int_equal(sp_read_all(p, SP_CLIENT), 1024);
    char buf[4];
    size_t n = 0;
    assert_int_equal(memtls_session_read(c->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_after_local_close),
        cmocka_unit_test(test_while_closing),
        cmocka_unit_test(test_after_peer_close_and_error),
        cmocka_unit_test(test_unprocessed_input_dropped_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
