/*
 * Test: every kind of peer-certificate failure (the table `cases`) makes
 * memtls_ctx_handshake() return MEMTLS_ERR_X509_VERIFY on the side that
 * verifies, with the right memtls_ctx_verify_result() /
 * memtls_ctx_verify_error(); the other side sees a plain MEMTLS_ERR_SSL (it
 * received an alert, it did not fail to verify). Most cases run with TLS
 * 1.2 and TLS 1.3. Controls: what must not fail; a failure met by
 * memtls_ctx_read() instead of the handshake call.
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
    testpki_load(p->scfg, leaf);
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
    assert_status_no_bytes(MEMTLS_ERR_SSL, memtls_ctx_write(v, "x", 1, &n), n);
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

/* Who issued a case's certificate. */
enum issuer { PAIR_CA, OTHER_CA, SELF_SIGNED };

/* One failing verification, run once or with each protocol version. */
typedef struct verify_case {
    const char *name;
    int each_version;            /* run with TLS 1.2 and TLS 1.3 */
    memtls_verify server_verify; /* MEMTLS_VERIFY_NONE: no client certificates */
    const char *hostname;        /* the name the client asks for */
    /* The certificate that fails (none when cn is NULL): the server's, or
     * the one the client presents when the server verifies. */
    const char *cn;
    const char *san;
    enum issuer issuer;
    long not_before, not_after;
    /* Expected on the verifying side (the client, or the server when
     * server_verify is set): the verify result and its text (NULL:
     * OpenSSL's text for it), text in its error; text in the other side's
     * error (NULL: nothing more than the alert). */
    long verify_result;
    const char *reason;
    const char *verifier_error;
    const char *other_error;
} verify_case;

static const verify_case cases[] = {
    {"server certificate from an unknown CA", 1, MEMTLS_VERIFY_NONE, "localhost", "localhost",
     "localhost", OTHER_CA, 0, 0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     "unable to get local issuer certificate", "certificate verify failed", "unknown ca"},
    {"self-signed server certificate (an unknown CA too)", 1, MEMTLS_VERIFY_NONE, "localhost",
     "localhost", NULL, SELF_SIGNED, 0, 0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, NULL, NULL,
     NULL},
    {"server certificate expired an hour ago", 1, MEMTLS_VERIFY_NONE, "localhost", "localhost",
     "localhost", PAIR_CA, -7200, -3600, X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired",
     NULL, "certificate expired"},
    {"server certificate not valid yet", 0, MEMTLS_VERIFY_NONE, "localhost", "localhost",
     "localhost", PAIR_CA, 3600, 7200, X509_V_ERR_CERT_NOT_YET_VALID,
     "certificate is not yet valid", NULL, NULL},
    {"certificate for localhost, client asks for another DNS name", 1, MEMTLS_VERIFY_NONE,
     "www.example.com", NULL, NULL, PAIR_CA, 0, 0, X509_V_ERR_HOSTNAME_MISMATCH, NULL, NULL, NULL},
    {"certificate for localhost, client asks for an IP address (IP SANs only)", 1,
     MEMTLS_VERIFY_NONE, "192.0.2.7", NULL, NULL, PAIR_CA, 0, 0, X509_V_ERR_IP_ADDRESS_MISMATCH,
     NULL, NULL, NULL},
    {"a wildcard matches one label only", 0, MEMTLS_VERIFY_NONE, "a.b.example.com", "wild",
     "DNS:*.example.com", PAIR_CA, 0, 0, X509_V_ERR_HOSTNAME_MISMATCH, NULL, NULL, NULL},
    /* Nothing was verified, so the verify result stays X509_V_OK: the
     * reason tells. */
    {"required client certificate never comes", 1, MEMTLS_VERIFY_REQUIRED, "localhost", NULL, NULL,
     PAIR_CA, 0, 0, X509_V_OK, "peer did not return a certificate",
     "peer did not return a certificate", NULL},
    {"client certificate from an unknown CA (required)", 1, MEMTLS_VERIFY_REQUIRED, "localhost",
     "intruder", NULL, OTHER_CA, 0, 0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     "unable to get local issuer certificate", NULL, "unknown ca"},
    /* A certificate that is sent must verify even when it was optional. */
    {"client certificate from an unknown CA (optional)", 1, MEMTLS_VERIFY_OPTIONAL, "localhost",
     "intruder", NULL, OTHER_CA, 0, 0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
     "unable to get local issuer certificate", NULL, "unknown ca"},
    {"client certificate expired", 0, MEMTLS_VERIFY_REQUIRED, "localhost", "old", NULL, PAIR_CA,
     -7200, -3600, X509_V_ERR_CERT_HAS_EXPIRED, "certificate has expired", NULL, NULL},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* The case's certificate, signed as it says. */
static memtls_pem case_leaf(const verify_case *c, const tlspair *p, memtls_pem *other)
{
    const memtls_pem *issuer = &p->ca;
    if (c->issuer == OTHER_CA) {
        *other = other_ca();
        issuer = other;
    } else if (c->issuer == SELF_SIGNED) {
        issuer = NULL;
    }
    return testpki_leaf(
        issuer, c->server_verify != MEMTLS_VERIFY_NONE ? MEMTLS_CERT_CLIENT : MEMTLS_CERT_SERVER,
        MEMTLS_KEY_EC_P256, c->cn, c->san, c->not_before, c->not_after);
}

static void run_case(const verify_case *c, int version)
{
    print_message("case: %s (%s)\n", c->name, version == 0 ? "defaults" : vname(version));
    tlspair p;
    tlspair_opts o = {0};
    o.version = version;
    o.server_verify = c->server_verify;
    tlspair_init(&p, &o);
    memtls_pem other = {0};
    memtls_pem leaf = {0};
    if (c->cn != NULL) {
        leaf = case_leaf(c, &p, &other);
        memtls_config *cfg = c->server_verify != MEMTLS_VERIFY_NONE ? p.ccfg : p.scfg;
        testpki_load(cfg, &leaf);
    }
    tlspair_contexts(&p, c->hostname);
    int crc = -1;
    int src = -1;
    assert_false(pump_handshake(p.c, p.s, 0, &crc, &src));
    const char *reason =
        c->reason != NULL ? c->reason : X509_verify_cert_error_string(c->verify_result);
    memtls_ctx *verifier = c->server_verify != MEMTLS_VERIFY_NONE ? p.s : p.c;
    memtls_ctx *other_end = verifier == p.s ? p.c : p.s;
    assert_auth_failure(verifier, verifier == p.s ? src : crc, other_end,
                        verifier == p.s ? crc : src, c->verify_result, reason);
    if (c->verifier_error != NULL) {
        assert_true(text_has(memtls_ctx_error(verifier), c->verifier_error));
    }
    if (c->other_error != NULL) {
        assert_true(text_has(memtls_ctx_error(other_end), c->other_error));
    }
    tlspair_free(&p);
    memtls_pem_free(&leaf);
    memtls_pem_free(&other);
}

/* Test: one row of `cases` (the test's state). */
static void test_verify_case(void **state)
{
    const verify_case *c = *state;
    if (!c->each_version) {
        run_case(c, 0);
        return;
    }
    for (size_t i = 0; i < 2; i++) {
        run_case(c, versions[i]);
    }
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
    tlspair_handshake(&p);
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
    assert_status_no_bytes(MEMTLS_ERR_SSL, memtls_ctx_read(p.c, buf, sizeof buf, &n), n);
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
    struct CMUnitTest tests[NCASES + 2] = {
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_failure_seen_by_read),
    };
    for (size_t i = 0; i < NCASES; i++) {
        tests[2 + i] =
            (struct CMUnitTest){cases[i].name, test_verify_case, NULL, NULL, (void *)&cases[i]};
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
