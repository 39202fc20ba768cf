/*
 * test_config_sni.c - several certificates in one server configuration,
 * chosen by the client's SNI: three names get their three certificates,
 * an unknown name and no SNI get the first (the default); a wildcard
 * covers one label only and an exact name beats it; an RSA and an ECDSA
 * certificate for one name are both offered and a client that can only
 * verify one kind gets that kind; replacing the first pair leaves no
 * stale key type behind; a pair copied from another configuration
 * serves like the original; a pair that fails to load changes nothing;
 * the choice itself (certs.c) on names handled nowhere else: case, a
 * trailing dot, partial and too-short wildcards, CN only without a DNS
 * name.
 */
#include "test.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memtls/config.h>
#include <memtls/openssl.h>
#include <memtls/pki.h>

#include "certs.h"
#include "resume.h"
#include "testpki.h"

typedef struct pkis {
    memtls_pem ec_ca;
    memtls_pem rsa_ca;
    memtls_pem leaves[32];
    size_t nleaves;
} pkis;

static pkis g;

static int setup(void **state)
{
    (void)state;
    memset(&g, 0, sizeof g);
    g.ec_ca = testpki_ca(MEMTLS_KEY_EC_P256);
    g.rsa_ca = testpki_ca(MEMTLS_KEY_RSA_2048);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    memtls_pem_free(&g.ec_ca);
    memtls_pem_free(&g.rsa_ca);
    for (size_t i = 0; i < g.nleaves; i++) {
        memtls_pem_free(&g.leaves[i]);
    }
    return 0;
}

/* A server leaf for `cn` with one SAN (NULL: none), signed by the CA of
 * its own key type. */
static const memtls_pem *leaf(memtls_key_type kt, const char *cn, const char *san)
{
    assert_true(g.nleaves < 32);
    const memtls_pem *ca = kt == MEMTLS_KEY_RSA_2048 ? &g.rsa_ca : &g.ec_ca;
    g.leaves[g.nleaves] = testpki_leaf(ca, MEMTLS_CERT_SERVER, kt, cn, san, 0, 0);
    return &g.leaves[g.nleaves++];
}

static void add(memtls_config *cfg, const memtls_pem *pem)
{
    int rc = memtls_config_add_cert_pem(cfg, pem->cert, pem->cert_len, pem->key, pem->key_len);
    if (rc != 0) {
        print_error("add_cert_pem: %s\n", memtls_config_error(cfg));
    }
    assert_int_equal(rc, 0);
}

/* A client that trusts both CAs; `sigalgs` (NULL: OpenSSL's) limits the
 * signatures it accepts, so it can only take one kind of certificate. */
static memtls_config *client(const char *sigalgs)
{
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_non_null(c);
    assert_int_equal(memtls_config_load_ca_pem(c, g.ec_ca.cert, g.ec_ca.cert_len), 0);
    assert_int_equal(memtls_config_load_ca_pem(c, g.rsa_ca.cert, g.rsa_ca.cert_len), 0);
    if (sigalgs != NULL) {
        assert_int_equal(SSL_CTX_set1_sigalgs_list(memtls_config_ssl_ctx(c), sigalgs), 1);
    }
    return c;
}

#define RSA_ONLY "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"
#define ECDSA_ONLY "ecdsa_secp256r1_sha256"

/* Connect with `sni` and expect pair `index` (its CN seen by the client). */
static void expect(memtls_config *scfg, memtls_config *ccfg, const char *sni, int index,
                   const char *cn)
{
    rs_result r;
    rs_connect(scfg, ccfg, sni, NULL, &r);
    if (!r.ok || r.cert_index != index || strcmp(r.peer_cn, cn) != 0) {
        print_error("sni %s: ok %d, pair %d (%s), wanted pair %d (CN %s)\n", sni ? sni : "(none)",
                    r.ok, r.cert_index, r.peer_cn, index, cn);
    }
    assert_true(r.ok);
    assert_int_equal(r.cert_index, index);
    assert_string_equal(r.peer_cn, cn);
    char want[80];
    snprintf(want, sizeof want, "CN=%s", cn);
    assert_string_equal(r.cert_subject, want);
    rs_free(&r);
}

/* Test: three names, three certificates; an unknown name and no SNI get
 * the first; the server reports which pair answered. */
static void test_three_names(void **state)
{
    (void)state;
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(s);
    testpki_load(s, leaf(MEMTLS_KEY_EC_P256, "a.test", "DNS:a.test"));
    add(s, leaf(MEMTLS_KEY_EC_P256, "b.test", "DNS:b.test"));
    add(s, leaf(MEMTLS_KEY_EC_P256, "c.test", "DNS:c.test"));
    assert_int_equal(memtls_config_cert_count(s), 3);
    memtls_config *c = client(NULL);
    memtls_config *lax = client(NULL);
    assert_int_equal(memtls_config_set_verify(lax, MEMTLS_VERIFY_NONE), 0);

    expect(s, c, "a.test", 0, "a.test");
    expect(s, c, "b.test", 1, "b.test");
    expect(s, c, "c.test", 2, "c.test");
    expect(s, c, "B.Test", 1, "b.test");
    /* Unknown and absent names: the default (not verifiable for that
     * name, so the client does not check the host here). */
    expect(s, lax, "unknown.test", 0, "a.test");
    expect(s, lax, NULL, 0, "a.test");
    memtls_config_free(c);
    memtls_config_free(lax);
    memtls_config_free(s);
}

/* Test: a wildcard covers exactly one label; an exact name wins over it
 * whatever the order of loading. */
static void test_wildcards(void **state)
{
    (void)state;
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    testpki_load(s, leaf(MEMTLS_KEY_EC_P256, "default.test", "DNS:default.test"));
    add(s, leaf(MEMTLS_KEY_EC_P256, "wild", "DNS:*.w.test"));
    add(s, leaf(MEMTLS_KEY_EC_P256, "exact.w.test", "DNS:exact.w.test"));
    memtls_config *c = client(NULL);
    memtls_config *lax = client(NULL);
    assert_int_equal(memtls_config_set_verify(lax, MEMTLS_VERIFY_NONE), 0);

    expect(s, c, "x.w.test", 1, "wild");
    expect(s, c, "exact.w.test", 2, "exact.w.test");
    expect(s, lax, "a.b.w.test", 0, "default.test");
    expect(s, lax, "w.test", 0, "default.test");
    memtls_config_free(c);
    memtls_config_free(lax);
    memtls_config_free(s);
}

/* Test: an RSA and an ECDSA certificate for the same names: a client
 * that verifies only RSA signatures gets the RSA one, an ECDSA-only
 * client the ECDSA one, for a named site and for the default set
 * (without SNI), TLS 1.3 and TLS 1.2. */
static void test_rsa_and_ecdsa(void **state)
{
    (void)state;
    /* The same four pairs for both versions (RSA keys are slow to make). */
    const memtls_pem *pairs[4] = {
        leaf(MEMTLS_KEY_RSA_2048, "site.test", "DNS:site.test"),
        leaf(MEMTLS_KEY_EC_P256, "site.test", "DNS:site.test"),
        leaf(MEMTLS_KEY_RSA_2048, "other.test", "DNS:other.test"),
        leaf(MEMTLS_KEY_EC_P256, "other.test", "DNS:other.test"),
    };
    for (int v = 0; v < 2; v++) {
        memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
        testpki_load(s, pairs[0]);
        add(s, pairs[1]);
        add(s, pairs[2]);
        add(s, pairs[3]);
        memtls_config *rsa = client(RSA_ONLY);
        memtls_config *ec = client(ECDSA_ONLY);
        if (v == 1) {
            assert_int_equal(memtls_config_set_max_version(rsa, MEMTLS_TLS1_2), 0);
            assert_int_equal(memtls_config_set_max_version(ec, MEMTLS_TLS1_2), 0);
        }
        rs_result r;
        rs_connect(s, rsa, "other.test", NULL, &r);
        assert_true(r.ok);
        assert_int_equal(r.cert_index, 2);
        assert_int_equal(r.peer_key_type, EVP_PKEY_RSA);
        rs_free(&r);
        rs_connect(s, ec, "other.test", NULL, &r);
        assert_true(r.ok);
        assert_int_equal(r.cert_index, 3);
        assert_int_equal(r.peer_key_type, EVP_PKEY_EC);
        rs_free(&r);
        rs_connect(s, rsa, NULL, NULL, &r);
        assert_true(r.ok);
        assert_int_equal(r.cert_index, 0);
        assert_int_equal(r.peer_key_type, EVP_PKEY_RSA);
        rs_free(&r);
        rs_connect(s, ec, "site.test", NULL, &r);
        assert_true(r.ok);
        assert_int_equal(r.cert_index, 1);
        assert_int_equal(r.peer_key_type, EVP_PKEY_EC);
        rs_free(&r);
        memtls_config_free(rsa);
        memtls_config_free(ec);
        memtls_config_free(s);
    }
}

/* Test: loading the first pair again replaces it, key type included: an
 * RSA first pair replaced by an ECDSA one leaves nothing an RSA-only
 * client could use (the old key stays out of every handshake). */
static void test_replace_first(void **state)
{
    (void)state;
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    testpki_load(s, leaf(MEMTLS_KEY_RSA_2048, "old.test", "DNS:old.test"));
    testpki_load(s, leaf(MEMTLS_KEY_EC_P256, "new.test", "DNS:new.test"));
    assert_int_equal(memtls_config_cert_count(s), 1);
    memtls_config *rsa = client(RSA_ONLY);
    memtls_config *ec = client(ECDSA_ONLY);
    rs_result r;
    rs_connect(s, rsa, NULL, NULL, &r);
    assert_false(r.ok);
    rs_free(&r);
    expect(s, ec, "new.test", 0, "new.test");
    memtls_config_free(rsa);
    memtls_config_free(ec);
    memtls_config_free(s);
}

/* Test: a pair copied from another configuration (what a reload keeps
 * when a pair's files fail) serves like the original; bad arguments are
 * refused. */
static void test_add_from(void **state)
{
    (void)state;
    memtls_config *old = memtls_config_new(MEMTLS_ROLE_SERVER);
    testpki_load(old, leaf(MEMTLS_KEY_EC_P256, "a.test", "DNS:a.test"));
    add(old, leaf(MEMTLS_KEY_EC_P256, "b.test", "DNS:b.test"));
    memtls_config *c = client(NULL);
    rs_result r;
    rs_connect(old, c, "b.test", NULL, &r); /* old is now in use (frozen) */
    assert_true(r.ok);
    rs_free(&r);

    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    testpki_load(s, leaf(MEMTLS_KEY_EC_P256, "a2.test", "DNS:a.test"));
    assert_int_equal(memtls_config_add_cert_from(s, old, 1), 0);
    expect(s, c, "b.test", 1, "b.test");
    expect(s, c, "a.test", 0, "a2.test");

    memtls_config *fresh = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_int_equal(memtls_config_add_cert_from(fresh, old, 2), MEMTLS_ERR_INVALID);
    assert_non_null(strstr(memtls_config_error(fresh), "no certificate 2"));
    assert_int_equal(memtls_config_add_cert_from(fresh, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_cert_count(fresh), 0);
    /* The first pair may come this way too. */
    assert_int_equal(memtls_config_add_cert_from(fresh, old, 0), 0);
    assert_int_equal(memtls_config_has_cert(fresh), 1);
    /* A frozen configuration takes nothing more. */
    assert_int_equal(memtls_config_add_cert_from(old, fresh, 0), MEMTLS_ERR_INVALID);
    memtls_config_free(fresh);
    memtls_config_free(s);
    memtls_config_free(old);
    memtls_config_free(c);
}

/* Test: a pair that fails to load (a key that does not match, not PEM)
 * leaves the others as they were, with a message naming the problem;
 * several certificates are a server setting. */
static void test_failed_add(void **state)
{
    (void)state;
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    const memtls_pem *a = leaf(MEMTLS_KEY_EC_P256, "a.test", "DNS:a.test");
    const memtls_pem *b = leaf(MEMTLS_KEY_EC_P256, "b.test", "DNS:b.test");
    testpki_load(s, a);
    assert_int_equal(memtls_config_add_cert_pem(s, b->cert, b->cert_len, a->key, a->key_len),
                     MEMTLS_ERR_CONFIG);
    assert_non_null(strstr(memtls_config_error(s), "does not match"));
    assert_int_equal(memtls_config_add_cert_pem(s, "junk", 4, a->key, a->key_len),
                     MEMTLS_ERR_CONFIG);
    assert_non_null(strstr(memtls_config_error(s), "no PEM certificate"));
    assert_int_equal(memtls_config_add_cert_file(s, "/nonexistent.pem", "/nonexistent.key"),
                     MEMTLS_ERR_CONFIG);
    assert_non_null(strstr(memtls_config_error(s), "/nonexistent.pem"));
    assert_int_equal(memtls_config_cert_count(s), 1);
    memtls_config *c = client(NULL);
    expect(s, c, "a.test", 0, "a.test");

    memtls_config_free(c);
    c = client(NULL);
    assert_int_equal(memtls_config_add_cert_pem(c, a->cert, a->cert_len, a->key, a->key_len),
                     MEMTLS_ERR_INVALID);
    assert_non_null(strstr(memtls_config_error(c), "server setting"));
    memtls_config_free(c);
    memtls_config_free(s);
}

/* Pairs made by hand for the chooser: only kind and names matter. */
static memtls__cert_pair hand(int kind, const char *n1, int w1, const char *n2, int w2)
{
    static memtls__cert_name names[16][2];
    static size_t used;
    memtls__cert_pair p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.names = names[used++ % 16];
    p.names[0].text = (char *)n1;
    p.names[0].wildcard = w1;
    p.nnames = 1;
    if (n2 != NULL) {
        p.names[1].text = (char *)n2;
        p.names[1].wildcard = w2;
        p.nnames = 2;
    }
    return p;
}

/* Test: the chooser on names and kinds directly: case and a trailing
 * dot in the SNI, a wildcard filling a kind the exact names left empty,
 * two pairs of one kind (the first wins), names longer than a host name. */
static void test_select(void **state)
{
    (void)state;
    memtls__cert_pair p[5];
    p[0] = hand(EVP_PKEY_EC, "www.site.test", 0, "site.test", 0);
    p[1] = hand(EVP_PKEY_RSA, "*.site.test", 1, NULL, 0);
    p[2] = hand(EVP_PKEY_EC, "api.site.test", 0, NULL, 0);
    p[3] = hand(EVP_PKEY_EC, "api.site.test", 0, NULL, 0);
    p[4] = hand(EVP_PKEY_RSA, "site.test", 0, NULL, 0);
    size_t out[MEMTLS__CERT_KINDS];

    /* api: the first EC exact match, and the RSA wildcard for RSA. */
    assert_int_equal(memtls__certs_select(p, 5, "API.Site.Test.", out), 2);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 1);
    /* site.test: exact EC (0) and exact RSA (4); the wildcard does not
     * cover its own base name. */
    assert_int_equal(memtls__certs_select(p, 5, "site.test", out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 4);
    /* Nothing matches: the default set, pair 0 and the RSA pair that
     * shares its name. */
    assert_int_equal(memtls__certs_select(p, 5, "elsewhere.test", out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 4);
    assert_int_equal(memtls__certs_select(p, 5, NULL, out), 2);
    assert_int_equal(memtls__certs_select(p, 5, "", out), 2);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(memtls__certs_select(p, 5, longname, out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(memtls__certs_select(p, 0, "x", out), 0);
}

/* A self-signed EC certificate with subject CN `cn` and the
 * subjectAltName `san` (OpenSSL's syntax, NULL: none), whatever the names
 * hold (the test PKI refuses names no certificate should have). PEM in
 * *cert and *key (free both). */
static void odd_cert(const char *cn, const char *san, char **cert, char **key)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(pk);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, pk);
    if (san != NULL) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    *cert = strndup(p, (size_t)len);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &p);
    *key = strndup(p, (size_t)len);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(pk);
}

/* Test: which names a certificate has: DNS SANs in lower case, marked
 * wildcards only when RFC 6125 allows them; the CNs only when there is
 * no DNS SAN. */
static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *san;
        const char *name;
        int wildcard;
    } cases[] = {
        {"DNS:*.example.test", "*.example.test", 1},
        {"DNS:*.test", "*.test", 0},
        {"DNS:f*.example.test", "f*.example.test", 0},
        {"DNS:www.*.test", "www.*.test", 0},
        {"DNS:*.*.example.test", "*.*.example.test", 0},
        {"DNS:*..test", "*..test", 0},
        {"DNS:MiXeD.Example.Test", "mixed.example.test", 0},
        {"IP:127.0.0.1", "cn.only.test", 0}, /* no DNS SAN: the CN counts */
        {NULL, "cn.only.test", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *cert = NULL;
        char *key = NULL;
        odd_cert("cn.only.test", cases[i].san, &cert, &key);
        memtls__cert_pair p;
        char err[256];
        assert_int_equal(memtls__cert_pair_parse(&p, 1, "c", cert, strlen(cert), "k", key,
                                                 strlen(key), err, sizeof err),
                         0);
        assert_int_equal(p.nnames, 1);
        assert_string_equal(p.names[0].text, cases[i].name);
        assert_int_equal(p.names[0].wildcard, cases[i].wildcard);
        memtls__cert_pair_clear(&p);
        free(cert);
        free(key);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_names),   cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_rsa_and_ecdsa), cmocka_unit_test(test_replace_first),
        cmocka_unit_test(test_add_from),      cmocka_unit_test(test_failed_add),
        cmocka_unit_test(test_select),        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
