/*
 * Test: close during the handshake. There is nothing to flush and TLS
 * cannot send close_notify yet: the session goes straight to CLOSED with
 * MEMTLS_REASON_ABORTED and sends nothing more. The peer, whose transport
 * then ends, sees a truncated handshake.
 */
#include "test.h"

#include <memtls/session.h>

#include "sessionpair.h"

static void check_aborted(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    assert_int_equal(memtls_session_state(e->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(e->s), MEMTLS_REASON_ABORTED);
    assert_int_equal(e->nevents, 1);
    assert_int_equal(e->events[0].from, MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(e->events[0].to, MEMTLS_STATE_CLOSED);
    assert_int_equal(e->events[0].why, MEMTLS_REASON_ABORTED);
    assert_string_equal(e->events[0].detail, "closed during the handshake");
    assert_string_equal(memtls_session_error(e->s), "");
    assert_int_equal(e->hs_error_calls, 0);
}

/* Test: the client closes after sending its ClientHello. */
static void test_client_aborts(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    sp_deliver(p, SP_CLIENT, 0); /* ClientHello */

    /* A write queued during the handshake is dropped with it. */
    sp_write_all(p, SP_CLIENT, "never", 5);
    uint64_t sent = c->accepted;
    assert_int_equal(memtls_session_close(c->s), 0);
    check_aborted(p, SP_CLIENT);
    assert_int_equal(c->accepted, sent);

    /* Everything after is refused or discarded; nothing is sent. */
    size_t n = 99;
    assert_int_equal(memtls_session_write(c->s, "x", 1, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_close(c->s), 0);
    assert_int_equal(memtls_session_shutdown_write(c->s), 0);
    assert_int_equal(memtls_session_key_update(c->s, 1), MEMTLS_ERR_SSL);
    sp_run(p, 100); /* the server's flight arrives and is discarded */
    assert_int_equal(c->accepted, sent);
    check_aborted(p, SP_CLIENT);
    memtls_session_stats st;
    memtls_session_get_stats(c->s, &st);
    assert_true(st.discarded_in > 0);
    assert_int_equal(st.plaintext_out, 0);

    /* The server's transport ended (sessionpair closes a finished
     * session's side): a truncated handshake. */
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_TRUNCATED);
    sp_free(p);
}

/* Test: the server closes mid-handshake (after its first flight). */
static void test_server_aborts(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS12});
    sp_end *s = &p->end[SP_SERVER];
    sp_deliver(p, SP_CLIENT, 0);
    assert_true(s->out.len > 0); /* ServerHello .. ServerHelloDone */
    assert_int_equal(memtls_session_close(s->s), 0);
    check_aborted(p, SP_SERVER);
    sp_run(p, 100);
    check_aborted(p, SP_SERVER);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(p->end[SP_CLIENT].s), MEMTLS_REASON_TRUNCATED);
    sp_free(p);
}

/* Test: a server closed before anything arrived. */
static void test_close_before_start(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_start = 1, .no_auto_eof = 1});
    assert_int_equal(memtls_session_close(p->end[SP_SERVER].s), 0);
    check_aborted(p, SP_SERVER);
    assert_int_equal(memtls_session_feed(p->end[SP_SERVER].s, "x", 1), MEMTLS_CLOSED);
    assert_int_equal(p->end[SP_SERVER].accepted, 0);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_aborts),
        cmocka_unit_test(test_server_aborts),
        cmocka_unit_test(test_close_before_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
