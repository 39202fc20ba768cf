/*
 * Test: half close. memtls_session_shutdown_write sends what is queued and
 * then close_notify, refuses further writes, and keeps reading: the
 * session stays READY until the peer's close_notify, then CLOSED with
 * MEMTLS_REASON_PEER_CLOSED. The peer, meanwhile, flushes what it had
 * queued before answering. Not allowed during the handshake.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static void half_close(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* The server has a large answer in flight, partly queued. */
    static uint8_t answer[300 * 1024];
    for (size_t i = 0; i < sizeof answer; i++) {
        answer[i] = (uint8_t)(i % 251);
    }
    s->refuse_all = 1;
    size_t took = 0;
    assert_int_equal(memtls_session_write(s->s, answer, sizeof answer, &took), 0);
    assert_true(took > 0);

    /* The client sends its last bytes and half-closes. */
    sp_write_all(p, SP_CLIENT, "request", 7);
    assert_int_equal(sp_shutdown_write(p, SP_CLIENT), 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    int events = c->nevents;
    size_t n = 99;
    assert_int_equal(memtls_session_write(c->s, "more", 4, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_shutdown_write(c->s), 0); /* again: no-op */
    assert_int_equal(memtls_session_key_update(c->s, 0), MEMTLS_ERR_SSL);

    /* The server reads the request and the close; its queued answer still
     * goes out, then its close_notify. */
    sp_deliver(p, SP_CLIENT, 0);
    assert_int_equal(sp_read_all(p, SP_SERVER), 7);
    assert_memory_equal(s->got, "request", 7);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSING);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    s->refuse_all = 0;
    for (int i = 0; i < 1000 && memtls_session_state(c->s) != MEMTLS_STATE_CLOSED; i++) {
        sp_step(p);
        sp_read_all(p, SP_CLIENT);
    }
    /* The client read every byte the server's session took, then closed. */
    assert_int_equal(c->got_len, took);
    assert_memory_equal(c->got, answer, took);
    assert_int_equal(c->nevents, events + 2);
    assert_int_equal(c->events[events].to, MEMTLS_STATE_CLOSING);
    assert_int_equal(c->events[events].why, MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(c->events[events + 1].to, MEMTLS_STATE_CLOSED);
    assert_int_equal(c->events[events + 1].why, MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    char buf[4];
    assert_int_equal(memtls_session_read(c->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    sp_run(p, 100);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_half_close_tls13(void **state)
{
    half_close(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_half_close_tls12(void **state)
{
    half_close(SP_TLS12);
}

/* Test: the plaintext twin (the half close travels as the transport's
 * end of stream, which sessionpair sends once the output is flushed). */
static void test_half_close_plaintext(void **state)
{
    half_close(SP_PLAINTEXT);
}

/* Both sides half-close: both end "closed by peer". */
static void both_half_close(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode});
    sp_write_all(p, SP_CLIENT, "c", 1);
    sp_write_all(p, SP_SERVER, "s", 1);
    assert_int_equal(sp_shutdown_write(p, SP_CLIENT), 0);
    assert_int_equal(sp_shutdown_write(p, SP_SERVER), 0);
    sp_run(p, 100);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sp_read_all(p, i), 1);
        assert_int_equal(memtls_session_state(p->end[i].s), MEMTLS_STATE_CLOSED);
        assert_int_equal(memtls_session_reason(p->end[i].s), MEMTLS_REASON_PEER_CLOSED);
        assert_int_equal(sp_leftover(p, i), 0);
    }
    assert_memory_equal(p->end[SP_CLIENT].got, "s", 1);
    assert_memory_equal(p->end[SP_SERVER].got, "c", 1);
    sp_free(p);
}

/* Test: both half-close, TLS 1.3. */
static void test_both_half_close_tls13(void **state)
{
    both_half_close(SP_TLS13);
}

/* Test: both half-close, plaintext (the transport carries the EOFs). */
static void test_both_half_close_plaintext(void **state)
{
    both_half_close(SP_PLAINTEXT);
}

/* Test: not during the handshake. */
static void test_not_during_handshake(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13});
    assert_int_equal(memtls_session_shutdown_write(p->end[SP_CLIENT].s), MEMTLS_ERR_INVALID);
    assert_true(sp_handshake(p));
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_close_tls13),
        cmocka_unit_test(test_half_close_tls12),
        cmocka_unit_test(test_half_close_plaintext),
        cmocka_unit_test(test_both_half_close_tls13),
        cmocka_unit_test(test_both_half_close_plaintext),
        cmocka_unit_test(test_not_during_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
