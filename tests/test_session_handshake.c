/*
 * Test: HANDSHAKE -> READY, reported once with MEMTLS_REASON_HANDSHAKE_DONE,
 * for TLS 1.3, TLS 1.2 and the plaintext twin; what start does for a
 * client and a server; a handshake fed one byte at a time.
 */
#include "test.h"

#include <memtls/session.h>

#include "sessionpair.h"

static void check_ready(const sessionpair *p, int idx)
{
    const sp_end *e = &p->end[idx];
    assert_int_equal(memtls_session_state(e->s), MEMTLS_STATE_READY);
    assert_int_equal(memtls_session_reason(e->s), MEMTLS_REASON_HANDSHAKE_DONE);
    assert_string_equal(memtls_session_error(e->s), "");
    assert_int_equal(e->nevents, 1);
    assert_int_equal(e->events[0].from, MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(e->events[0].to, MEMTLS_STATE_READY);
    assert_int_equal(e->events[0].why, MEMTLS_REASON_HANDSHAKE_DONE);
    assert_string_equal(e->events[0].detail, "handshake complete");
    assert_int_equal(e->hs_error_calls, 0);
}

static void tls_handshake(sp_mode mode, const char *version)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = mode});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* Started: the client's ClientHello went to its transport; the server
     * waits for it. Nothing was reported yet. */
    assert_true(c->out.len > 0);
    assert_int_equal(s->out.len, 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_NONE);
    assert_int_equal(c->nevents + s->nevents, 0);

    assert_true(sp_handshake(p));
    check_ready(p, SP_CLIENT);
    check_ready(p, SP_SERVER);
    assert_string_equal(memtls_ctx_protocol(memtls_session_ctx(c->s)), version);
    assert_string_equal(memtls_ctx_protocol(memtls_session_ctx(s->s)), version);
    assert_true(memtls_ctx_peer_verified(memtls_session_ctx(c->s)));

    /* Starting twice is a caller error. */
    assert_int_equal(memtls_session_start(c->s), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_session_start(s->s), MEMTLS_ERR_INVALID);
    sp_run(p, 100);
    assert_int_equal(c->nevents, 1);
    assert_int_equal(s->nevents, 1);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_tls13(void **state)
{
    tls_handshake(SP_TLS13, "TLSv1.3");
}

/* Test: TLS 1.2. */
static void test_tls12(void **state)
{
    tls_handshake(SP_TLS12, "TLSv1.2");
}

/* Test: the plaintext twin is READY as soon as it starts. */
static void test_plaintext(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT});
    check_ready(p, SP_CLIENT);
    check_ready(p, SP_SERVER);
    assert_int_equal(p->end[SP_CLIENT].out.len, 0);
    sp_free(p);
}

/* Test: a server that was never started starts with its first bytes. */
static void test_server_starts_on_first_bytes(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_start = 1});
    assert_int_equal(memtls_session_start(p->end[SP_CLIENT].s), 0);
    assert_true(sp_handshake(p));
    check_ready(p, SP_CLIENT);
    check_ready(p, SP_SERVER);
    /* It did start: starting now is too late. */
    assert_int_equal(memtls_session_start(p->end[SP_SERVER].s), MEMTLS_ERR_INVALID);
    sp_free(p);
}

/* Test: every flight delivered one byte per recv call. */
static void test_byte_by_byte(void **state)
{
    for (int m = SP_TLS12; m <= SP_TLS13; m++) {
        sessionpair *p = sp_new(&(sp_opts){.mode = (sp_mode)m});
        for (int i = 0; i < 100000; i++) {
            if (sp_deliver(p, SP_CLIENT, 1) + sp_deliver(p, SP_SERVER, 1) == 0) {
                break;
            }
        }
        check_ready(p, SP_CLIENT);
        check_ready(p, SP_SERVER);
        assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
        assert_int_equal(sp_leftover(p, SP_SERVER), 0);
        sp_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls13),        cmocka_unit_test(test_tls12),
        cmocka_unit_test(test_plaintext),    cmocka_unit_test(test_server_starts_on_first_bytes),
        cmocka_unit_test(test_byte_by_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
