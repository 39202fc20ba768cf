/*
 * Test: the peer closes. Its close_notify takes our session READY ->
 * CLOSING -> CLOSED with MEMTLS_REASON_PEER_CLOSED; we answer with our own
 * close_notify after what we had queued; data that arrived before the
 * close_notify is still read, then MEMTLS_CLOSED.
 */
#include "test.h"

#include <memtls/session.h>

#include "sessionpair.h"

static void peer_closes(sp_mode mode, int push)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .push[SP_SERVER] = push, .no_auto_eof = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    sp_write_all(p, SP_CLIENT, "bye", 3);
    assert_int_equal(memtls_session_close(c->s), 0);
    uint64_t before = s->accepted;
    sp_deliver(p, SP_CLIENT, 0);

    /* Server: CLOSING then CLOSED, both "closed by peer". */
    assert_int_equal(s->nevents, 3);
    assert_int_equal(s->events[1].from, MEMTLS_STATE_READY);
    assert_int_equal(s->events[1].to, MEMTLS_STATE_CLOSING);
    assert_int_equal(s->events[1].why, MEMTLS_REASON_PEER_CLOSED);
    assert_string_equal(s->events[1].detail, "peer sent close_notify");
    assert_int_equal(s->events[2].to, MEMTLS_STATE_CLOSED);
    assert_int_equal(s->events[2].why, MEMTLS_REASON_PEER_CLOSED);
    assert_string_equal(s->events[2].detail, "closed by peer");
    assert_string_equal(memtls_session_error(s->s), "");
    /* It answered with its own close_notify. */
    assert_true(s->accepted > before);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);

    /* The data before the close_notify is not lost. */
    if (!push) {
        char buf[16];
        size_t n = 0;
        assert_got(memtls_session_read(s->s, buf, sizeof buf, &n), buf, n, "bye");
        assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
        assert_int_equal(memtls_session_read_exact(s->s, buf, 1), MEMTLS_CLOSED);
    } else {
        assert_int_equal(s->got_len, 3);
        assert_memory_equal(s->got, "bye", 3);
    }

    /* The closed client drops the answer. */
    uint64_t answer = s->out.len;
    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(s->discarded, answer);
    memtls_session_stats cs;
    memtls_session_get_stats(c->s, &cs);
    assert_int_equal(cs.discarded_in, answer);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: TLS 1.3, pull mode. */
static void test_peer_close_tls13(void **state)
{
    peer_closes(SP_TLS13, 0);
}

/* Test: TLS 1.2, pull mode. */
static void test_peer_close_tls12(void **state)
{
    peer_closes(SP_TLS12, 0);
}

/* Test: TLS 1.3, push mode. */
static void test_peer_close_push(void **state)
{
    peer_closes(SP_TLS13, 1);
}

/* Test: what we had queued when the close_notify came still goes out,
 * before our own close_notify (a half-closed peer reads it). */
static void test_queued_data_sent_before_answer(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* The server's transport is full: its reply is refused and waits. */
    s->refuse_all = 1;
    sp_write_all(p, SP_SERVER, "reply", 5);
    assert_int_equal(memtls_session_shutdown_write(c->s), 0);
    sp_deliver(p, SP_CLIENT, 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSING);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    /* Writes are refused once the peer closed. */
    size_t n = 99;
    assert_int_equal(memtls_session_write(s->s, "more", 4, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);

    s->refuse_all = 0;
    assert_int_equal(memtls_session_flush(s->s), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    sp_run(p, 100);
    sp_read_all(p, SP_CLIENT);
    assert_int_equal(c->got_len, 5);
    assert_memory_equal(c->got, "reply", 5);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PEER_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_close_tls13),
        cmocka_unit_test(test_peer_close_tls12),
        cmocka_unit_test(test_peer_close_push),
        cmocka_unit_test(test_queued_data_sent_before_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
