/*
 * Test: the drain after the close call. close_notify is handed to the
 * transport within memtls_session_close (and shutdown_write), the session
 * reports CLOSED once it was taken, and the peer sees it as a clean close.
 *
 * Fails if session.c stops draining after memtls_ctx_close().
 */
#include "test.h"

#include <memtls/session.h>

#include "sessionpair.h"

static void close_notify_reaches_transport(sp_mode mode, int half)
{
    sp_opts o = {0};
    o.mode = mode;
    o.no_auto_eof = 1; /* the peer must learn it from close_notify alone */
    sessionpair *p = sp_new(&o);
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    assert_true(sp_handshake(p));
    sp_run(p, 100);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);

    uint64_t before = c->accepted;
    if (half) {
        assert_int_equal(memtls_session_shutdown_write(c->s), 0);
        assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_READY);
    } else {
        assert_int_equal(memtls_session_close(c->s), 0);
        assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
        assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_LOCAL_CLOSE);
    }
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(c->s)), 0);
    assert_int_equal(memtls_session_pending_out(c->s), 0);
    /* A close_notify record: TLS 1.3 24 bytes, TLS 1.2 (AES-GCM) 31. */
    assert_true(c->accepted > before);
    assert_true(c->accepted - before <= 64);

    /* The peer reads it as MEMTLS_CLOSED: a clean close. */
    sp_deliver(p, SP_CLIENT, 0);
    assert_true(memtls_ctx_peer_closed(memtls_session_ctx(s->s)));
    assert_true(sp_saw(p, SP_SERVER, MEMTLS_STATE_CLOSING, MEMTLS_REASON_PEER_CLOSED));
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PEER_CLOSED);
    char buf[16];
    size_t n = 99;
    assert_int_equal(memtls_session_read(s->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);

    /* The server's answer closes a half-closed client. */
    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c->s),
                     half ? MEMTLS_REASON_PEER_CLOSED : MEMTLS_REASON_LOCAL_CLOSE);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: memtls_session_close, TLS 1.3. */
static void test_close_tls13(void **state)
{
    close_notify_reaches_transport(SP_TLS13, 0);
}

/* Test: memtls_session_close, TLS 1.2. */
static void test_close_tls12(void **state)
{
    close_notify_reaches_transport(SP_TLS12, 0);
}

/* Test: memtls_session_shutdown_write, TLS 1.3. */
static void test_shutdown_write_tls13(void **state)
{
    close_notify_reaches_transport(SP_TLS13, 1);
}

/* Test: the server closes; the client gets close_notify. */
static void test_server_close(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_end *s = &p->end[SP_SERVER];
    uint64_t before = s->accepted;
    assert_int_equal(memtls_session_close(s->s), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);
    assert_true(s->accepted > before);
    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(p->end[SP_CLIENT].s), MEMTLS_REASON_PEER_CLOSED);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_tls13),
        cmocka_unit_test(test_close_tls12),
        cmocka_unit_test(test_shutdown_write_tls13),
        cmocka_unit_test(test_server_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
