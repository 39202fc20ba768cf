/*
 * Test: protocol errors. Garbage from the transport ends the session in
 * ERROR with MEMTLS_REASON_PROTOCOL_ERROR and OpenSSL's reason as detail;
 * the fatal alert reaches the peer's transport, and the peer fails on it.
 * The first error sticks. Also the plaintext twin, which has no protocol
 * to violate.
 */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static const uint8_t bad_client_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00};

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
    }
}

/* Test: garbage during the handshake. */
static void test_garbage_in_handshake(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .no_auto_eof = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    sp_drop(p, SP_CLIENT);
    assert_int_equal(sp_inject(p, SP_SERVER, bad_client_hello, sizeof bad_client_hello), 0);

    const sp_event *ev = sp_last_event(p, SP_SERVER);
    assert_non_null(ev);
    assert_int_equal(ev->from, MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(ev->to, MEMTLS_STATE_ERROR);
    assert_int_equal(ev->why, MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(ev->detail, "length too short");
    assert_string_equal(memtls_session_error(s->s), ev->detail);
    assert_int_equal(s->hs_error_calls, 1);
    assert_int_equal(ev->hs_errors_before, 1);
    assert_contains(s->hs_error, "length too short");

    /* The alert is in the peer's direction of the transport. */
    assert_true(s->out.len > 0);
    sp_deliver(p, SP_SERVER, 0);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(memtls_session_error(c->s), "alert decode error");
    assert_int_equal(c->hs_error_calls, 1);
    sp_free(p);
}

static void garbage_after_handshake(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .no_auto_eof = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];

    /* Real data, then a record that does not decrypt. */
    sp_write_all(p, SP_CLIENT, "good", 4);
    sp_run(p, 100);
    uint8_t forged[5 + 40];
    memset(forged, 0xA5, sizeof forged);
    forged[0] = 0x17;
    forged[1] = 0x03;
    forged[2] = 0x03;
    forged[3] = 0x00;
    forged[4] = 40;
    assert_int_equal(sp_inject(p, SP_SERVER, forged, sizeof forged), 0);
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(memtls_session_error(s->s), "bad record mac");
    assert_int_equal(s->hs_error_calls, 0); /* not a handshake error */
    /* What came before is still there. */
    assert_int_equal(sp_read_all(p, SP_SERVER), 4);

    /* The first error sticks: more garbage is refused, the text stays. */
    char first[512];
    snprintf(first, sizeof first, "%s", memtls_session_error(s->s));
    assert_int_equal(sp_inject(p, SP_SERVER, bad_client_hello, sizeof bad_client_hello),
                     MEMTLS_CLOSED);
    assert_string_equal(memtls_session_error(s->s), first);
    int nevents = s->nevents;
    sp_run(p, 100);
    assert_int_equal(s->nevents, nevents);

    /* The peer got the alert. */
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(memtls_session_error(c->s), "alert bad record mac");
    assert_int_equal(c->hs_error_calls, 0);
    sp_free(p);
}

/* Test: a forged record after the handshake, TLS 1.3. */
static void test_garbage_after_handshake_tls13(void **state)
{
    garbage_after_handshake(SP_TLS13);
}

/* Test: the same, TLS 1.2. */
static void test_garbage_after_handshake_tls12(void **state)
{
    garbage_after_handshake(SP_TLS12);
}

/* Test: the plaintext twin passes any bytes through: no error. */
static void test_plaintext_has_no_protocol_error(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_PLAINTEXT});
    assert_int_equal(sp_inject(p, SP_SERVER, bad_client_hello, sizeof bad_client_hello), 0);
    assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_READY);
    assert_int_equal(sp_read_all(p, SP_SERVER), sizeof bad_client_hello);
    assert_memory_equal(p->end[SP_SERVER].got, bad_client_hello, sizeof bad_client_hello);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_in_handshake),
        cmocka_unit_test(test_garbage_after_handshake_tls13),
        cmocka_unit_test(test_garbage_after_handshake_tls12),
        cmocka_unit_test(test_plaintext_has_no_protocol_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
