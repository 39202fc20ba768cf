/*
 * Test: the drain after the handshake call. A TLS 1.3 server's successful
 * SSL_do_handshake leaves NewSessionTicket messages in its write BIO; the
 * session must hand them to the transport at once, so the client receives
 * its tickets although neither side ever writes application data.
 *
 * Fails if session.c stops draining after memtls_ctx_handshake() (nothing gets
 * out at all) or drains there only while the handshake is still running
 * (the tickets are left behind when READY is reported).
 */
#include "test.h"

#include <memtls/session.h>

#include "sessionpair.h"

static void check_ready_drained(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    assert_true(e->nevents >= 1);
    assert_int_equal(e->events[0].from, MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(e->events[0].to, MEMTLS_STATE_READY);
    /* When READY is reported, the handshake's last output (client:
     * Finished; server: the tickets) has already gone to the transport. */
    assert_int_equal(e->events[0].pending_write, 0);
}

/* Test: tickets reach the client with no application data. */
static void test_tickets_without_app_data(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    assert_true(sp_handshake(p));
    check_ready_drained(p, SP_SERVER);
    check_ready_drained(p, SP_CLIENT);
    /* The server's transport got the tickets in the call that completed the
     * handshake: more than its first flight was taken before READY. */
    assert_true(s->events[0].accepted_before > 0);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);
    assert_int_equal(memtls_session_pending_out(s->s), 0);

    /* Let the transport deliver; nobody writes. */
    sp_run(p, 100);
    assert_true(c->tickets >= 1);
    /* OpenSSL 3 servers send two tickets by default. */
    assert_int_equal(c->tickets, 2);

    memtls_session_stats cs, ss;
    memtls_session_get_stats(c->s, &cs);
    memtls_session_get_stats(s->s, &ss);
    assert_int_equal(cs.plaintext_out, 0);
    assert_int_equal(ss.plaintext_out, 0);
    assert_int_equal(cs.plaintext_in, 0);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: the same with every flight delivered one byte at a time, the
 * server in push mode, and the transport refusing the first offer of
 * every chunk (the tickets wait in pending_out, then a flush sends them). */
static void test_tickets_byte_by_byte_with_refusals(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .push[SP_SERVER] = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    for (int i = 0; i < 200000; i++) {
        size_t moved = sp_deliver(p, SP_CLIENT, 1) + sp_deliver(p, SP_SERVER, 1);
        if (moved == 0 && memtls_session_state(c->s) == MEMTLS_STATE_READY &&
            memtls_session_state(s->s) == MEMTLS_STATE_READY) {
            break;
        }
        if (i == 0) {
            s->refuse_all = 1; /* the server's first offers are refused */
        }
        if (s->refuse_all && memtls_session_pending_out(s->s) > 0) {
            assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);
            s->refuse_all = 0; /* room again: sp_deliver flushes */
        }
    }
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    check_ready_drained(p, SP_SERVER);
    check_ready_drained(p, SP_CLIENT);
    sp_run(p, 100);
    assert_int_equal(c->tickets, 2);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tickets_without_app_data),
        cmocka_unit_test(test_tickets_byte_by_byte_with_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
