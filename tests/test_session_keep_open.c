/*
 * Test: half-close aware sessions (on_peer_close). The peer's close_notify
 * (plaintext: EOF) does not close such a session: it stops reading (reads
 * end with MEMTLS_CLOSED, later inbound bytes are discarded),
 * on_peer_close fires once, and the session stays READY for writes until
 * the application closes; then CLOSED with MEMTLS_REASON_PEER_CLOSED. A
 * session that half-closed itself first is closed by the peer's
 * close_notify as usual.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static uint8_t answer[150 * 1024];

static void keep_open(sp_mode mode)
{
    for (size_t i = 0; i < sizeof answer; i++) {
        answer[i] = (uint8_t)(i * 5 + 1);
    }
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .keep_open[SP_SERVER] = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* The client sends its request and half-closes. */
    sp_write_all(p, SP_CLIENT, "request", 7);
    assert_int_equal(sp_shutdown_write(p, SP_CLIENT), 0);
    sp_run(p, 100);
    assert_int_equal(s->peer_close_calls, 1);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    int events = s->nevents;
    assert_int_equal(sp_read_all(p, SP_SERVER), 7);
    assert_memory_equal(s->got, "request", 7);
    char buf[8];
    size_t n = 99;
    assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    /* Reading has stopped: inbound bytes are discarded. */
    assert_int_equal(memtls_session_feed(s->s, "junk", 4), MEMTLS_CLOSED);

    /* The server answers at length after the client's close, then closes. */
    for (size_t off = 0; off < sizeof answer; off += 50 * 1024) {
        sp_write_all(p, SP_SERVER, answer + off, 50 * 1024);
        sp_step(p);
        sp_read_all(p, SP_CLIENT);
    }
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_close(s->s), 0);
    sp_run(p, 100);
    sp_read_all(p, SP_CLIENT);
    assert_int_equal(c->got_len, sizeof answer);
    assert_memory_equal(c->got, answer, sizeof answer);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(s->nevents, events + 2);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PEER_CLOSED);
    assert_int_equal(s->peer_close_calls, 1);
    assert_int_equal(c->peer_close_calls, 0);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_keep_open_tls13(void **state)
{
    keep_open(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_keep_open_tls12(void **state)
{
    keep_open(SP_TLS12);
}

/* Test: plaintext (the half close arrives as EOF). */
static void test_keep_open_plaintext(void **state)
{
    keep_open(SP_PLAINTEXT);
}

/* Test: after our own shutdown_write, the peer's close_notify completes
 * the close even with on_peer_close set; and shutdown_write after the
 * peer closed ends the session. */
static void test_own_half_close_first(void **state)
{
    sessionpair *p = sp_ready(
        &(sp_opts){.mode = SP_TLS13, .keep_open[SP_CLIENT] = 1, .keep_open[SP_SERVER] = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    assert_int_equal(sp_shutdown_write(p, SP_CLIENT), 0);
    sp_run(p, 100);
    assert_int_equal(s->peer_close_calls, 1);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_READY);
    /* The server half-closes too: that is its close. */
    assert_int_equal(sp_shutdown_write(p, SP_SERVER), 0);
    sp_run(p, 100);
    assert_int_equal(c->peer_close_calls, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(memtls_session_state(p->end[i].s), MEMTLS_STATE_CLOSED);
        assert_int_equal(memtls_session_reason(p->end[i].s), MEMTLS_REASON_PEER_CLOSED);
        assert_int_equal(sp_leftover(p, i), 0);
    }
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_open_tls13),
        cmocka_unit_test(test_keep_open_tls12),
        cmocka_unit_test(test_keep_open_plaintext),
        cmocka_unit_test(test_own_half_close_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
