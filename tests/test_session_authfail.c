/*
 * Test: authentication failures. A peer certificate that does not verify
 * (unknown CA, wrong host name) or a required client certificate that
 * never came ends the session in AUTHFAIL with MEMTLS_REASON_AUTH_FAILED;
 * the detail is the verify reason, on_handshake_error gets the text first,
 * and the other side learns it from the alert (ERROR, protocol error).
 */
#include "test.h"

#include <ctype.h>
#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"
#include "testpki.h"

/* Case-insensitive: OpenSSL's verify strings changed case over time. */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++) {
        size_t i = 0;
        while (i < n && hay[i] != '\0' &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) {
            i++;
        }
        if (i == n) {
            return 1;
        }
    }
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!contains(hay, needle)) {
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
    }
}

static void check_authfail(const sessionpair *p, int idx, const char *reason)
{
    const sp_end *e = &p->end[idx];
    memtls_ctx *ctx = memtls_session_ctx(e->s);
    const sp_event *ev = sp_last_event(p, idx);
    assert_int_equal(memtls_session_state(e->s), MEMTLS_STATE_AUTHFAIL);
    assert_int_equal(memtls_session_reason(e->s), MEMTLS_REASON_AUTH_FAILED);
    assert_non_null(ev);
    assert_int_equal(ev->from, MEMTLS_STATE_HANDSHAKE);
    assert_int_equal(ev->to, MEMTLS_STATE_AUTHFAIL);
    assert_int_equal(ev->why, MEMTLS_REASON_AUTH_FAILED);
    /* The detail is the verify reason, and it is the session's error. */
    assert_string_equal(ev->detail, memtls_ctx_verify_error(ctx));
    assert_contains(ev->detail, reason);
    assert_string_equal(memtls_session_error(e->s), ev->detail);
    /* on_handshake_error had the text before on_state. */
    assert_int_equal(e->hs_error_calls, 1);
    assert_int_equal(ev->hs_errors_before, 1);
    assert_true(e->hs_error[0] != '\0');
    /* The alert left with the failure. */
    assert_int_equal(memtls_ctx_pending_out(ctx), 0);
    /* The session is finished. */
    char buf[8];
    size_t n = 99;
    assert_int_equal(memtls_session_read(e->s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_session_write(e->s, "x", 1, &n), MEMTLS_CLOSED);
    assert_int_equal(memtls_session_feed(e->s, "x", 1), MEMTLS_CLOSED);
}

static void check_alerted(const sessionpair *p, int idx, const char *alert)
{
    const sp_end *e = &p->end[idx];
    assert_int_equal(memtls_session_state(e->s), MEMTLS_STATE_ERROR);
    assert_int_equal(memtls_session_reason(e->s), MEMTLS_REASON_PROTOCOL_ERROR);
    assert_contains(memtls_session_error(e->s), alert);
}

/* Test: the client does not trust the server's CA. */
static void test_unknown_ca(void **state)
{
    for (int m = SP_TLS12; m <= SP_TLS13; m++) {
        memtls_pem other = testpki_ca(MEMTLS_KEY_EC_P256);
        memtls_config *ccfg = memtls_config_new(MEMTLS_ROLE_CLIENT);
        assert_non_null(ccfg);
        assert_int_equal(memtls_config_load_ca_pem(ccfg, other.cert, other.cert_len), 0);
        sessionpair *p = sp_new(&(sp_opts){.mode = (sp_mode)m, .cfg[SP_CLIENT] = ccfg});
        assert_false(sp_handshake(p));
        sp_run(p, 100);
        check_authfail(p, SP_CLIENT, "local issuer");
        check_alerted(p, SP_SERVER, "alert unknown ca");
        assert_true(p->end[SP_SERVER].hs_error_calls == 1);
        sp_free(p);
        memtls_config_free(ccfg);
        memtls_pem_free(&other);
    }
}

/* Test: the server certificate is for another name. */
static void test_hostname_mismatch(void **state)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13, .hostname = "other.example"});
    assert_false(sp_handshake(p));
    sp_run(p, 100);
    check_authfail(p, SP_CLIENT, "hostname mismatch");
    check_alerted(p, SP_SERVER, "alert");
    sp_free(p);
}

/* A server configuration that requires client certificates. */
static memtls_config *server_requiring_client_cert(sp_mode mode)
{
    memtls_config *c = NULL;
    memtls_config *s = NULL;
    sp_default_configs(mode, &c, &s);
    memtls_config_free(c);
    const memtls_pem *ca = sp_test_ca();
    assert_int_equal(memtls_config_load_ca_pem(s, ca->cert, ca->cert_len), 0);
    assert_int_equal(memtls_config_set_verify(s, MEMTLS_VERIFY_REQUIRED), 0);
    return s;
}

/* Test: a required client certificate never comes. TLS 1.3: the client
 * finished first, so it learns from an alert while READY. */
static void test_missing_client_cert_tls13(void **state)
{
    sp_opts o = {0};
    o.mode = SP_TLS13;
    o.cfg[SP_SERVER] = server_requiring_client_cert(SP_TLS13);
    sessionpair *p = sp_new(&o);
    sp_handshake(p);
    sp_run(p, 100);
    check_authfail(p, SP_SERVER, "peer did not return a certificate");
    assert_true(sp_saw(p, SP_CLIENT, MEMTLS_STATE_READY, MEMTLS_REASON_HANDSHAKE_DONE));
    check_alerted(p, SP_CLIENT, "alert certificate required");
    sp_free(p);
    memtls_config_free(o.cfg[SP_SERVER]);
}

/* Test: the same in TLS 1.2, where the client fails in its handshake. */
static void test_missing_client_cert_tls12(void **state)
{
    sp_opts o = {0};
    o.mode = SP_TLS12;
    o.cfg[SP_SERVER] = server_requiring_client_cert(SP_TLS12);
    sessionpair *p = sp_new(&o);
    assert_false(sp_handshake(p));
    sp_run(p, 100);
    check_authfail(p, SP_SERVER, "peer did not return a certificate");
    check_alerted(p, SP_CLIENT, "alert handshake failure");
    assert_int_equal(p->end[SP_CLIENT].hs_error_calls, 1);
    sp_free(p);
    memtls_config_free(o.cfg[SP_SERVER]);
}

/* Test: a client certificate from a CA the server does not trust; and,
 * for contrast, one it does. */
static void test_client_cert_verification(void **state)
{
    memtls_pem other = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem stranger =
        testpki_leaf(&other, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "stranger", NULL, 0, 0);
    const memtls_pem *good = sp_test_client_cert();
    for (int k = 0; k < 2; k++) {
        const memtls_pem *cert = k == 0 ? &stranger : good;
        memtls_config *ccfg = NULL;
        memtls_config *unused = NULL;
        sp_default_configs(SP_TLS13, &ccfg, &unused);
        memtls_config_free(unused);
        testpki_load(ccfg, cert);
        sp_opts o = {0};
        o.mode = SP_TLS13;
        o.cfg[SP_CLIENT] = ccfg;
        o.cfg[SP_SERVER] = server_requiring_client_cert(SP_TLS13);
        sessionpair *p = sp_new(&o);
        sp_handshake(p);
        sp_run(p, 100);
        if (k == 0) {
            check_authfail(p, SP_SERVER, "local issuer");
            check_alerted(p, SP_CLIENT, "alert unknown ca");
        } else {
            assert_int_equal(memtls_session_state(p->end[SP_SERVER].s), MEMTLS_STATE_READY);
            assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_READY);
            assert_true(memtls_ctx_peer_verified(memtls_session_ctx(p->end[SP_SERVER].s)));
        }
        sp_free(p);
        memtls_config_free(o.cfg[SP_CLIENT]);
        memtls_config_free(o.cfg[SP_SERVER]);
    }
    memtls_pem_free(&stranger);
    memtls_pem_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_hostname_mismatch),
        cmocka_unit_test(test_missing_client_cert_tls13),
        cmocka_unit_test(test_missing_client_cert_tls12),
        cmocka_unit_test(test_client_cert_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
