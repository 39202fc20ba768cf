/*
 * Test: every kind of peer-certificate failure makes memtls_ctx_handshake()
 * return MEMTLS_ERR_X509_VERIFY on the side that verifies, with the right
 * memtls_ctx_verify_result() / memtls_ctx_verify_error(); the other side sees a
 * plain MEMTLS_ERR_SSL (it received an alert, it did not fail to verify).
 * Each case runs with TLS 1.2 and TLS 1.3.
 */
#include "test.h"
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

static const int versions[] = {MEMTLS_TLS1_2, MEMTLS_TLS1_3};

static const char *vname(int v)
{
    return v == MEMTLS_TLS1_2 ? "TLS 1.2" : "TLS 1.3";
}

/* A CA with its own name, so nothing can confuse it with the pair's CA. */
static memtls_pem other_ca(void)
{
    memtls_cert_spec spec = {0};
    memtls_pem pem = {0};
    char err[256] = "";
    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = MEMTLS_CERT_CA;
    spec.common_name = "some other CA";
    assert_int_equal(memtls_pki_make(&spec, NULL, &pem, err, sizeof err), 0);
    return pem;
}

/* Replace the server's certificate (before contexts exist). */
static void server_uses(tlspair *p, const memtls_pem *leaf)
{
    assert_int_equal(
        memtls_config_load_cert_pem(p->scfg, leaf->cert, leaf->cert_len, leaf->key, leaf->key_len),
        0);
}

/*
 * The verifying side `v` failed with `want_vr` ("reason" its text); the
 * other side `o` got the alert. Checks the failure is sticky and that the
 * verifier queued its alert.
 */
static void assert_auth_failure(memtls_ctx *v, int vrc, memtls_ctx *o, int orc, long want_vr,
                                const char *reason)
{
    assert_int_equal(vrc, MEMTLS_ERR_X509_VERIFY);
    assert_int_equal(memtls_ctx_verify_result(v), want_vr);
    assert_string_equal(memtls_ctx_verify_error(v), reason);
    assert_false(memtls_ctx_peer_verified(v));
    assert_false(memtls_ctx_handshake_done(v));
    assert_true(text_has(memtls_ctx_error(v), "MEMTLS_ERR_SSL"));
    /* Sticky: asking again gives the same answer, reads and writes fail. */
    assert_int_equal(memtls_ctx_handshake(v), MEMTLS_ERR_X509_VERIFY);
    uint8_t buf[16];
    size_t n = 99;
    assert_int_equal(memtls_ctx_read(v, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(memtls_ctx_write(v, "x", 1, &n), MEMTLS_ERR_SSL);
    assert_int_equal(n, 0);
    /* The other side is told by an alert: a protocol failure for it. */
    if (orc == 0) {
        /* TLS 1.3 client: its handshake finished before the server
         * judged its certificate; the alert arrives on its next read. */
        n = 99;
        orc = memtls_ctx_read(o, buf, sizeof buf, &n);
        assert_int_equal(n, 0);
    }
    assert_int_equal(orc, MEMTLS_ERR_SSL);
    assert_true(text_has(memtls_ctx_error(o), "alert"));
}

/* Run the handshake; return the pair's statuses. */
static void handshake(tlspair *p, int *crc, int *src)
{
    *crc = -1;
    *src = -1;
    assert_false(pump_handshake(p->c, p->s, 0, crc, src));
}

/* Test: the server's certificate comes from a CA the client does not trust. */
static void test_unknown_ca(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %s\n", vname(versions[i]));
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_init(&p, &o);
        memtls_pem ca2 = other_ca();
        memtls_pem leaf = testpki_leaf(&ca2, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                       "localhost", 0, 0);
        server_uses(&p, &leaf);
        tlspair_contexts(&p, "localhost");
        int crc;
        int src;
        handshake(&p, &crc, &src);
        assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                            "unable to get local issuer certificate");
        assert_true(text_has(memtls_ctx_error(p.c), "certificate verify failed"));
        assert_true(text_has(memtls_ctx_error(p.s), "unknown ca"));
        tlspair_free(&p);
        memtls_pem_free(&ca2);
        memtls_pem_free(&leaf);
    }
}

/* Test: a self-signed server certificate is an unknown CA too. */
static void test_self_signed(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %s\n", vname(versions[i]));
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_init(&p, &o);
        memtls_pem leaf =
            testpki_leaf(NULL, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost", NULL, 0, 0);
        server_uses(&p, &leaf);
        tlspair_contexts(&p, "localhost");
        int crc;
        int src;
        handshake(&p, &crc, &src);
        assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                            X509_verify_cert_error_string(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
        tlspair_free(&p);
        memtls_pem_free(&leaf);
    }
}

/* Test: the server's certificate expired an hour ago. */
static void test_expired_server_cert(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %s\n", vname(versions[i]));
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_init(&p, &o);
        memtls_pem leaf = testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                       "localhost", -7200, -3600);
        server_uses(&p, &leaf);
        tlspair_contexts(&p, "localhost");
        int crc;
        int src;
        handshake(&p, &crc, &src);
        assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_CERT_HAS_EXPIRED,
                            "certificate has expired");
        assert_true(text_has(memtls_ctx_error(p.s), "certificate expired"));
        tlspair_free(&p);
        memtls_pem_free(&leaf);
    }
}

/* Test: a certificate that is not valid yet fails as well. */
static void test_not_yet_valid_server_cert(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem leaf = testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                   "localhost", 3600, 7200);
    server_uses(&p, &leaf);
    tlspair_contexts(&p, "localhost");
    int crc;
    int src;
    handshake(&p, &crc, &src);
    assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_CERT_NOT_YET_VALID,
                        "certificate is not yet valid");
    tlspair_free(&p);
    memtls_pem_free(&leaf);
}

/* Test: the certificate is for "localhost", the client asked for another
 * name (DNS) or another address (IP literal, matched against IP SANs). */
static void test_wrong_hostname(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %s, DNS name\n", vname(versions[i]));
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        tlspair_init(&p, &o);
        tlspair_contexts(&p, "www.example.com");
        int crc;
        int src;
        handshake(&p, &crc, &src);
        assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_HOSTNAME_MISMATCH,
                            X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH));
        assert_true(text_has(memtls_ctx_verify_error(p.c), "ostname mismatch"));
        tlspair_free(&p);

        print_message("case: %s, IP address\n", vname(versions[i]));
        tlspair_init(&p, &o);
        tlspair_contexts(&p, "192.0.2.7");
        handshake(&p, &crc, &src);
        assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_IP_ADDRESS_MISMATCH,
                            X509_verify_cert_error_string(X509_V_ERR_IP_ADDRESS_MISMATCH));
        tlspair_free(&p);
    }
}

/* Test: a wildcard may not match a name with more labels, and partial
 * wildcards are not honoured. */
static void test_wildcard_rules(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem leaf = testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "wild",
                                   "DNS:*.example.com", 0, 0);
    server_uses(&p, &leaf);
    tlspair_contexts(&p, "a.b.example.com");
    int crc;
    int src;
    handshake(&p, &crc, &src);
    assert_auth_failure(p.c, crc, p.s, src, X509_V_ERR_HOSTNAME_MISMATCH,
                        X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH));
    tlspair_free(&p);
    memtls_pem_free(&leaf);
}

/* Test: the server requires a client certificate and none comes. Nothing
 * was verified, so the verify result stays X509_V_OK: the reason tells. */
static void test_client_cert_missing(void **state)
{
    for (size_t i = 0; i < 2; i++) {
        print_message("case: %s\n", vname(versions[i]));
        tlspair p;
        tlspair_opts o = {0};
        o.version = versions[i];
        o.server_verify = MEMTLS_VERIFY_REQUIRED;
        o.client_cert = 0;
        tlspair_init(&p, &o);
        tlspair_contexts(&p, "localhost");
        int crc;
        int src;
        handshake(&p, &crc, &src);
        assert_auth_failure(p.s, src, p.c, crc, X509_V_OK, "peer did not return a certificate");
        assert_true(text_has(memtls_ctx_error(p.s), "peer did not return a certificate"));
        tlspair_free(&p);
    }
}

/* Test: the client's certificate comes from a CA the server does not
 * trust; with verification REQUIRED and with OPTIONAL (a certificate that
 * is sent must verify even when it was optional). */
static void test_client_cert_other_ca(void **state)
{
    static const memtls_verify modes[] = {MEMTLS_VERIFY_REQUIRED, MEMTLS_VERIFY_OPTIONAL};
    for (size_t i = 0; i < 2; i++) {
        for (size_t m = 0; m < 2; m++) {
            print_message("case: %s, %s\n", vname(versions[i]), m == 0 ? "required" : "optional");
            tlspair p;
            tlspair_opts o = {0};
            o.version = versions[i];
            o.server_verify = modes[m];
            tlspair_init(&p, &o);
            memtls_pem ca2 = other_ca();
            memtls_pem cli =
                testpki_leaf(&ca2, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "intruder", NULL, 0, 0);
            assert_int_equal(
                memtls_config_load_cert_pem(p.ccfg, cli.cert, cli.cert_len, cli.key, cli.key_len),
                0);
            tlspair_contexts(&p, "localhost");
            int crc;
            int src;
            handshake(&p, &crc, &src);
            assert_auth_failure(p.s, src, p.c, crc, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                                "unable to get local issuer certificate");
            assert_true(text_has(memtls_ctx_error(p.c), "unknown ca"));
            tlspair_free(&p);
            memtls_pem_free(&ca2);
            memtls_pem_free(&cli);
        }
    }
}

/* Test: an expired client certificate is refused by the server. */
static void test_client_cert_expired(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.server_verify = MEMTLS_VERIFY_REQUIRED;
    tlspair_init(&p, &o);
    memtls_pem cli =
        testpki_leaf(&p.ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "old", NULL, -7200, -3600);
    assert_int_equal(
        memtls_config_load_cert_pem(p.ccfg, cli.cert, cli.cert_len, cli.key, cli.key_len), 0);
    tlspair_contexts(&p, "localhost");
    int crc;
    int src;
    handshake(&p, &crc, &src);
    assert_auth_failure(p.s, src, p.c, crc, X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired");
    tlspair_free(&p);
    memtls_pem_free(&cli);
}

/* Test (controls): what must NOT fail. OPTIONAL without a client
 * certificate succeeds with no peer certificate; a client with
 * verification NONE accepts an unknown CA but does not call it ok. */
static void test_controls(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.server_verify = MEMTLS_VERIFY_OPTIONAL;
    tlspair_connect(&p, &o, "localhost");
    assert_false(memtls_ctx_peer_verified(p.s));
    assert_string_equal(memtls_ctx_verify_error(p.s), "no peer certificate");
    assert_true(memtls_ctx_peer_verified(p.c));
    assert_string_equal(memtls_ctx_verify_error(p.c), "ok");
    tlspair_free(&p);

    tlspair_init(&p, NULL);
    memtls_pem ca2 = other_ca();
    memtls_pem leaf =
        testpki_leaf(&ca2, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost", "localhost", 0, 0);
    server_uses(&p, &leaf);
    assert_int_equal(memtls_config_set_verify(p.ccfg, MEMTLS_VERIFY_NONE), 0);
    tlspair_contexts(&p, "localhost");
    int crc = -1;
    int src = -1;
    assert_true(pump_handshake(p.c, p.s, 0, &crc, &src));
    assert_false(memtls_ctx_peer_verified(p.c));
    tlspair_free(&p);
    memtls_pem_free(&ca2);
    memtls_pem_free(&leaf);
}

/*
 * Test: when the handshake is driven by memtls_ctx_write()/memtls_ctx_read()
 * instead of memtls_ctx_handshake() (both run it implicitly), those calls
 * answer MEMTLS_ERR_SSL, but the verify result and text still say why, and
 * a later memtls_ctx_handshake() reports MEMTLS_ERR_X509_VERIFY.
 */
static void test_failure_seen_by_read(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem leaf = testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                   "localhost", -7200, -3600);
    server_uses(&p, &leaf);
    tlspair_contexts(&p, "localhost");
    size_t n = 99;
    uint8_t buf[64];
    assert_int_equal(memtls_ctx_write(p.c, "early", 5, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    pump_one_way(p.c, p.s, 0);
    assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_WANT_READ);
    pump_one_way(p.s, p.c, 0);
    n = 99;
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_ctx_verify_result(p.c), X509_V_ERR_CERT_HAS_EXPIRED);
    assert_string_equal(memtls_ctx_verify_error(p.c), "certificate has expired");
    assert_false(memtls_ctx_peer_verified(p.c));
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_ERR_X509_VERIFY);
    assert_true(memtls_ctx_pending_out(p.c) > 0); /* the alert */
    tlspair_free(&p);
    memtls_pem_free(&leaf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_self_signed),
        cmocka_unit_test(test_expired_server_cert),
        cmocka_unit_test(test_not_yet_valid_server_cert),
        cmocka_unit_test(test_wrong_hostname),
        cmocka_unit_test(test_wildcard_rules),
        cmocka_unit_test(test_client_cert_missing),
        cmocka_unit_test(test_client_cert_other_ca),
        cmocka_unit_test(test_client_cert_expired),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_failure_seen_by_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
