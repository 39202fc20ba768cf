/*
 * Test: the drain on fatal errors. When garbage arrives, OpenSSL writes a
 * fatal alert into the write BIO and the call fails; the session must still
 * hand the alert to the transport in that same call, so the peer learns
 * why instead of waiting. Covered for the handshake call and for the read
 * call (pull and push mode), TLS 1.3 and 1.2, and for an alert the
 * transport first refuses.
 *
 * Fails if session.c stops draining after a failed memtls_ctx_handshake() or a
 * failed memtls_ctx_read() (for instance by draining only on success).
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

/* A handshake record holding a ClientHello of length 0: decode_error. */
static const uint8_t bad_client_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};

/* An application-data record whose body is not what the keys produce:
 * bad_record_mac. */
static const uint8_t bad_record[] = {0x17, 0x03, 0x03, 0x00, 0x20, 1,  2,  3,  4,  5,  6,  7,  8,
                                     9,    10,   11,   12,   13,   14, 15, 16, 17, 18, 19, 20, 21,
                                     22,   23,   24,   25,   26,   27, 28, 29, 30, 31, 32};

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
    }
}

/* Inject `garbage` into the server; the alert must leave in that call and
 * the client must fail with `client_reason` in its error text. */
static void alert_reaches_peer(sessionpair *p, const uint8_t *garbage, size_t len,
                               const char *client_reason)
{
    sp_end *s = &p->end[SP_SERVER];
    sp_end *c = &p->end[SP_CLIENT];
    uint64_t before = s->accepted;
    assert_int_equal(sp_inject(p, SP_SERVER, garbage, len), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PROTOCOL_ERROR);
    /* The alert left the write BIO and the transport has it. */
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);
    assert_int_equal(memtls_session_pending_out(s->s), 0);
    assert_true(s->accepted > before);
    assert_int_equal(s->out.len, s->accepted - before);

    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(memtls_session_error(c->s), client_reason);
}

/* Test: garbage instead of a ClientHello; the handshake call fails. */
static void test_alert_after_failed_handshake(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    /* Throw away the real ClientHello: the server sees only garbage. */
    assert_true(sp_drop(p, SP_CLIENT) > 0);
    alert_reaches_peer(p, bad_client_hello, sizeof bad_client_hello, "alert decode error");
    assert_int_equal(p->end[SP_SERVER].hs_error_calls, 1);
    sp_free(p);
}

static void alert_after_failed_read(sp_mode mode, int push)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .push[SP_SERVER] = push, .no_auto_eof = 1});
    alert_reaches_peer(p, bad_record, sizeof bad_record, "alert bad record mac");
    assert_int_equal(p->end[SP_SERVER].hs_error_calls, 0);
    sp_free(p);
}

/* Test: a forged record after the handshake; the read call fails. */
static void test_alert_after_failed_read_pull_tls13(void **state)
{
    alert_after_failed_read(SP_TLS13, 0);
}

static void test_alert_after_failed_read_push_tls13(void **state)
{
    alert_after_failed_read(SP_TLS13, 1);
}

static void test_alert_after_failed_read_pull_tls12(void **state)
{
    alert_after_failed_read(SP_TLS12, 0);
}

/* Test: the transport refuses the alert; it waits in pending_out, and a
 * flush of the failed session still sends it. */
static void test_refused_alert_is_flushed_later(void **state)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_end *s = &p->end[SP_SERVER];
    s->refuse_all = 1;
    assert_int_equal(sp_inject(p, SP_SERVER, bad_record, sizeof bad_record), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_ctx_pending_out(memtls_session_ctx(s->s)), 0);
    size_t held = memtls_session_pending_out(s->s);
    assert_true(held > 0);
    s->refuse_all = 0;
    assert_int_equal(memtls_session_flush(s->s), 0);
    assert_int_equal(memtls_session_pending_out(s->s), 0);
    assert_int_equal(s->out.len, held);
    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_ERROR);
    assert_contains(memtls_session_error(p->end[SP_CLIENT].s), "alert bad record mac");
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_after_failed_handshake),
        cmocka_unit_test(test_alert_after_failed_read_pull_tls13),
        cmocka_unit_test(test_alert_after_failed_read_push_tls13),
        cmocka_unit_test(test_alert_after_failed_read_pull_tls12),
        cmocka_unit_test(test_refused_alert_is_flushed_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
