/*
 * test_pki_make.c - memtls_pki_make and friends (memtls/pki.h): the
 * certificates verify with OpenSSL's own chain builder and carry the SANs,
 * usages and validity asked for; bad arguments are refused; PEM files are
 * written with the right modes.
 */
#define _POSIX_C_SOURCE 200809L

#include "test.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memtls/pki.h>

#include "testpki.h"

static const memtls_key_type key_types[] = {MEMTLS_KEY_EC_P256, MEMTLS_KEY_RSA_2048};

static const char *key_name(memtls_key_type t)
{
    return t == MEMTLS_KEY_RSA_2048 ? "RSA-2048" : "EC P-256";
}

static X509 *parse_cert(const memtls_pem *pem)
{
    BIO *bio = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
    X509 *x;

    assert_non_null(bio);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *parse_key(const memtls_pem *pem)
{
    BIO *bio = BIO_new_mem_buf(pem->key, (int)pem->key_len);
    EVP_PKEY *k;

    assert_non_null(bio);
    k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(k);
    return k;
}

/* Run X509_verify_cert on leaf against ca (and an optional intermediate)
 * for purpose; returns the verify error (X509_V_OK on success). */
static int verify(X509 *leaf, X509 *ca, X509 *intermediate, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    int rc;

    assert_non_null(store);
    assert_non_null(ctx);
    assert_non_null(chain);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    if (intermediate != NULL) {
        assert_true(sk_X509_push(chain, intermediate) > 0);
    }
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, chain), 1);
    if (purpose != 0) {
        assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
    }
    rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    assert_true(rc != X509_V_OK || X509_STORE_CTX_get_error(ctx) == X509_V_OK);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(chain);
    return rc;
}

static void check_key_type(EVP_PKEY *k, memtls_key_type t)
{
    if (t == MEMTLS_KEY_RSA_2048) {
        assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_RSA);
        assert_int_equal(EVP_PKEY_get_bits(k), 2048);
    } else {
        char group[64] = "";
        size_t len = 0;

        assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
        assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof group, &len), 1);
        assert_string_equal(group, "prime256v1");
    }
}

/* Seconds from now to t (negative: in the past). */
static long seconds_from_now(const ASN1_TIME *t)
{
    int days = 0;
    int secs = 0;

    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
    return (long)days * 86400 + secs;
}

static int has_critical_ext(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);

    return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == 1;
}

/* Test: a self-signed CA is a well-formed v3 CA certificate. */
static void test_ca_self_signed(void **state)
{
    size_t i;

    for (i = 0; i < sizeof key_types / sizeof key_types[0]; i++) {
        memtls_pem ca = testpki_ca(key_types[i]);
        X509 *x = parse_cert(&ca);
        EVP_PKEY *k = parse_key(&ca);
        const ASN1_OCTET_STRING *skid;
        const ASN1_OCTET_STRING *akid;
        BIGNUM *serial;

        print_message("CA key %s\n", key_name(key_types[i]));
        assert_int_equal(ca.cert_len, strlen(ca.cert));
        assert_int_equal(ca.key_len, strlen(ca.key));
        assert_non_null(strstr(ca.key, "-----BEGIN PRIVATE KEY-----"));
        assert_non_null(strstr(ca.cert, "-----BEGIN CERTIFICATE-----"));
        check_key_type(k, key_types[i]);
        assert_int_equal(X509_check_private_key(x, k), 1);

        assert_int_equal(X509_get_version(x), X509_VERSION_3);
        assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
        assert_int_equal(X509_verify(x, k), 1);
        assert_int_equal(X509_check_ca(x), 1);
        assert_true(has_critical_ext(x, NID_basic_constraints));
        assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
        assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
        assert_int_equal(X509_get_signature_nid(x), key_types[i] == MEMTLS_KEY_RSA_2048
                                                        ? NID_sha256WithRSAEncryption
                                                        : NID_ecdsa_with_SHA256);
        skid = X509_get0_subject_key_id(x);
        akid = X509_get0_authority_key_id(x);
        assert_non_null(skid);
        assert_non_null(akid);
        assert_int_equal(ASN1_OCTET_STRING_cmp(skid, akid), 0);

        serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        assert_non_null(serial);
        assert_false(BN_is_negative(serial));
        assert_false(BN_is_zero(serial));
        assert_true(BN_num_bits(serial) <= 127);
        BN_free(serial);

        /* A trusted self-signed CA verifies as its own chain. */
        assert_int_equal(verify(x, x, NULL, 0), X509_V_OK);

        EVP_PKEY_free(k);
        X509_free(x);
        memtls_pem_free(&ca);
    }
}

/* Test: default validity is one hour back to thirty days ahead. */
static void test_default_validity(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    X509 *x = parse_cert(&ca);
    long nb = seconds_from_now(X509_get0_notBefore(x));
    long na = seconds_from_now(X509_get0_notAfter(x));

    assert_true(nb <= -3600 + 5 && nb >= -3600 - 60);
    assert_true(na <= 30L * 86400 + 5 && na >= 30L * 86400 - 60);
    X509_free(x);
    memtls_pem_free(&ca);
}

/* Test: serials differ between certificates. */
static void test_serials_differ(void **state)
{
    memtls_pem a = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem b = testpki_ca(MEMTLS_KEY_EC_P256);
    X509 *xa = parse_cert(&a);
    X509 *xb = parse_cert(&b);

    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(xa), X509_get0_serialNumber(xb)),
                         0);
    X509_free(xa);
    X509_free(xb);
    memtls_pem_free(&a);
    memtls_pem_free(&b);
}

/* Test: a server certificate signed by the CA verifies against it, for
 * every pairing of key types, and matches exactly its SANs. */
static void test_server_signed_by_ca(void **state)
{
    static const char *const sans[] = {"DNS:localhost", "127.0.0.1",   "IP:::1",  "example.test",
                                       "*.wild.test",   "IP:10.0.0.1", "fe80::1", "DNS:192.0.2.7"};
    size_t i;
    size_t j;

    for (i = 0; i < 2; i++) {
        memtls_pem ca = testpki_ca(key_types[i]);
        X509 *cax = parse_cert(&ca);

        for (j = 0; j < 2; j++) {
            memtls_cert_spec spec = {0};
            memtls_pem leaf = {NULL, 0, NULL, 0};
            char err[256] = "";
            X509 *x;
            EVP_PKEY *k;

            print_message("CA %s, server %s\n", key_name(key_types[i]), key_name(key_types[j]));
            spec.key_type = key_types[j];
            spec.usage = MEMTLS_CERT_SERVER;
            spec.common_name = "server.test";
            spec.sans = sans;
            spec.san_count = sizeof sans / sizeof sans[0];
            assert_int_equal(memtls_pki_make(&spec, &ca, &leaf, err, sizeof err), 0);
            assert_string_equal(err, "");
            x = parse_cert(&leaf);
            k = parse_key(&leaf);
            check_key_type(k, key_types[j]);
            assert_int_equal(X509_check_private_key(x, k), 1);

            assert_int_equal(verify(x, cax, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
            assert_int_equal(X509_check_issued(cax, x), X509_V_OK);
            assert_int_equal(X509_check_ca(x), 0);
            assert_true(has_critical_ext(x, NID_basic_constraints));
            assert_true(has_critical_ext(x, NID_key_usage));
            assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
            assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
            assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
            assert_int_equal(
                ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(cax)),
                0);

            assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
            assert_int_equal(X509_check_host(x, "example.test", 0, 0, NULL), 1);
            assert_int_equal(X509_check_host(x, "a.wild.test", 0, 0, NULL), 1);
            assert_int_equal(X509_check_host(x, "192.0.2.7", 0, 0, NULL), 1);
            assert_int_equal(X509_check_host(x, "other.test", 0, 0, NULL), 0);
            /* With DNS SANs present the CN is not a host name. */
            assert_int_equal(X509_check_host(x, "server.test", 0, 0, NULL), 0);
            assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
            assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
            assert_int_equal(X509_check_ip_asc(x, "10.0.0.1", 0), 1);
            assert_int_equal(X509_check_ip_asc(x, "fe80::1", 0), 1);
            assert_int_equal(X509_check_ip_asc(x, "10.0.0.2", 0), 0);
            /* "DNS:192.0.2.7" was asked for as a name, not an address. */
            assert_int_equal(X509_check_ip_asc(x, "192.0.2.7", 0), 0);

            EVP_PKEY_free(k);
            X509_free(x);
            memtls_pem_free(&leaf);
        }
        X509_free(cax);
        memtls_pem_free(&ca);
    }
}

/* Test: a leaf does not verify against an unrelated CA. */
static void test_wrong_ca_fails(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem other = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem leaf =
        testpki_leaf(&ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "s", "localhost", 0, 0);
    X509 *x = parse_cert(&leaf);
    X509 *ox = parse_cert(&other);

    assert_int_not_equal(verify(x, ox, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    X509_free(x);
    X509_free(ox);
    memtls_pem_free(&leaf);
    memtls_pem_free(&other);
    memtls_pem_free(&ca);
}

/* Test: a CA can issue an intermediate CA whose leaves verify through it. */
static void test_intermediate_chain(void **state)
{
    memtls_pem root = testpki_ca(MEMTLS_KEY_RSA_2048);
    memtls_pem mid = testpki_leaf(&root, MEMTLS_CERT_CA, MEMTLS_KEY_EC_P256, "mid", NULL, 0, 0);
    memtls_pem leaf =
        testpki_leaf(&mid, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "s", "DNS:chain.test", 0, 0);
    X509 *rx = parse_cert(&root);
    X509 *mx = parse_cert(&mid);
    X509 *lx = parse_cert(&leaf);

    assert_int_equal(verify(lx, rx, mx, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_not_equal(verify(lx, rx, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    X509_free(rx);
    X509_free(mx);
    X509_free(lx);
    memtls_pem_free(&leaf);
    memtls_pem_free(&mid);
    memtls_pem_free(&root);
}

/* Test: client, server and both usages carry the matching EKU and verify
 * only for the matching purpose. */
static void test_usages(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    X509 *cax = parse_cert(&ca);
    memtls_pem client =
        testpki_leaf(&ca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_RSA_2048, "client", NULL, 0, 0);
    memtls_pem both =
        testpki_leaf(&ca, MEMTLS_CERT_BOTH, MEMTLS_KEY_EC_P256, "both", "both.test", 0, 0);
    X509 *cx = parse_cert(&client);
    X509 *bx = parse_cert(&both);

    assert_int_equal(X509_get_extended_key_usage(cx), XKU_SSL_CLIENT);
    assert_int_equal(verify(cx, cax, NULL, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(verify(cx, cax, NULL, X509_PURPOSE_SSL_SERVER), X509_V_ERR_INVALID_PURPOSE);
    assert_true(X509_get_key_usage(cx) & KU_KEY_ENCIPHERMENT);

    assert_int_equal(X509_get_extended_key_usage(bx), XKU_SSL_CLIENT | XKU_SSL_SERVER);
    assert_int_equal(verify(bx, cax, NULL, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    assert_int_equal(verify(bx, cax, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_false(X509_get_key_usage(bx) & KU_KEY_ENCIPHERMENT);

    X509_free(cx);
    X509_free(bx);
    X509_free(cax);
    memtls_pem_free(&client);
    memtls_pem_free(&both);
    memtls_pem_free(&ca);
}

/* Test: an expired certificate has notAfter in the past and fails
 * verification as expired. */
static void test_expired(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem leaf =
        testpki_leaf(&ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "old", "old.test", -7200, -3600);
    X509 *cax = parse_cert(&ca);
    X509 *x = parse_cert(&leaf);
    long na = seconds_from_now(X509_get0_notAfter(x));
    long nb = seconds_from_now(X509_get0_notBefore(x));

    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) < 0);
    assert_true(na <= -3600 + 5 && na >= -3600 - 60);
    assert_true(nb <= -7200 + 5 && nb >= -7200 - 60);
    assert_int_equal(verify(x, cax, NULL, X509_PURPOSE_SSL_SERVER), X509_V_ERR_CERT_HAS_EXPIRED);
    X509_free(x);
    X509_free(cax);
    memtls_pem_free(&leaf);
    memtls_pem_free(&ca);
}

/* Expect memtls_pki_make(spec, issuer) to fail with INVALID and a
 * message containing `needle` (if not NULL), leaving out untouched. */
static void expect_invalid(const memtls_cert_spec *spec, const memtls_pem *issuer,
                           const char *needle, const char *what)
{
    char marker = 'm';
    memtls_pem out = {&marker, 1, &marker, 1};
    char err[256] = "";
    int rc = memtls_pki_make(spec, issuer, &out, err, sizeof err);

    print_message("%s -> %s\n", what, err);
    assert_int_equal(rc, MEMTLS_ERR_INVALID);
    assert_true(err[0] != '\0');
    if (needle != NULL) {
        assert_non_null(strstr(err, needle));
    }
    assert_ptr_equal(out.cert, &marker);
    assert_ptr_equal(out.key, &marker);
    /* Errors never leak into the thread's OpenSSL error queue. */
    assert_int_equal(ERR_peek_error(), 0);
}

/* Test: bad arguments give MEMTLS_ERR_INVALID with a message. */
static void test_bad_args(void **state)
{
    static const char *const bad_sans[] = {
        "",         "DNS:",     "IP:",        "IP:1.2.3",    "IP:999.1.1.1",    "IP:host.test",
        "bad name", "a..b",     ".lead.test", "trail.test.", "email:a@b",       "x*.test",
        "*",        "a.*.test", "[::1]",      "1.2.3.4 ",    "caf\xc3\xa9.test"};
    const char *one[1];
    memtls_cert_spec spec = {0};
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem leaf = testpki_leaf(&ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "leaf", NULL, 0, 0);
    memtls_pem other = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem bad = {NULL, 0, NULL, 0};
    char long_cn[66];
    char garbage[] = "not a certificate";
    memtls_pem out = {NULL, 0, NULL, 0};
    size_t i;

    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = MEMTLS_CERT_SERVER;
    spec.common_name = "ok";

    assert_int_equal(memtls_pki_make(NULL, NULL, &out, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_pki_make(&spec, NULL, NULL, NULL, 0), MEMTLS_ERR_INVALID);
    assert_null(out.cert);

    spec.common_name = NULL;
    expect_invalid(&spec, NULL, "common_name", "NULL CN");
    spec.common_name = "";
    expect_invalid(&spec, NULL, "common_name", "empty CN");
    memset(long_cn, 'a', sizeof long_cn - 1);
    long_cn[sizeof long_cn - 1] = '\0';
    spec.common_name = long_cn;
    expect_invalid(&spec, NULL, "common_name", "65-byte CN");
    spec.common_name = "ok";

    spec.key_type = (memtls_key_type)7;
    expect_invalid(&spec, NULL, "key type", "bad key type");
    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = (memtls_cert_usage)-1;
    expect_invalid(&spec, NULL, "usage", "bad usage");
    spec.usage = MEMTLS_CERT_SERVER;

    spec.not_before = 0;
    spec.not_after = -3600;
    expect_invalid(&spec, NULL, "validity", "notAfter before notBefore");
    spec.not_before = -LONG_MAX;
    spec.not_after = LONG_MAX;
    expect_invalid(&spec, NULL, "validity", "absurd validity");
    spec.not_before = 0;
    spec.not_after = 0;

    spec.san_count = 1;
    spec.sans = NULL;
    expect_invalid(&spec, NULL, "sans", "san_count without sans");
    one[0] = NULL;
    spec.sans = one;
    expect_invalid(&spec, NULL, "SAN 0", "NULL SAN");
    for (i = 0; i < sizeof bad_sans / sizeof bad_sans[0]; i++) {
        one[0] = bad_sans[i];
        expect_invalid(&spec, NULL, "malformed SAN", bad_sans[i]);
    }
    spec.san_count = 0;
    spec.sans = NULL;

    /* Issuers that cannot sign. */
    expect_invalid(&spec, &bad, "issuer", "empty issuer");
    bad.cert = garbage;
    bad.cert_len = strlen(garbage);
    bad.key = ca.key;
    bad.key_len = ca.key_len;
    expect_invalid(&spec, &bad, "does not parse", "garbage issuer cert");
    bad.cert = ca.cert;
    bad.cert_len = ca.cert_len;
    bad.key = garbage;
    bad.key_len = strlen(garbage);
    expect_invalid(&spec, &bad, "does not parse", "garbage issuer key");
    bad.cert_len = ca.cert_len + 1;
    bad.key = ca.key;
    expect_invalid(&spec, &bad, "missing", "cert_len != strlen");
    bad.cert_len = ca.cert_len;
    bad.key = other.key;
    bad.key_len = other.key_len;
    expect_invalid(&spec, &bad, "does not match", "issuer key of another CA");
    expect_invalid(&spec, &leaf, "not a CA", "leaf as issuer");

    /* A NULL err buffer is allowed. */
    assert_int_equal(memtls_pki_make(&spec, &leaf, &out, NULL, 0), MEMTLS_ERR_INVALID);
    assert_null(out.cert);

    memtls_pem_free(&other);
    memtls_pem_free(&leaf);
    memtls_pem_free(&ca);
}

/* Test: the fingerprint is SHA-256 of the DER as XX:XX:... upper-case. */
static void test_fingerprint(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    X509 *x = parse_cert(&ca);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char fp[96];
    char again[96];
    char expect[96];
    char garbage[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    memtls_pem bad = {garbage, sizeof garbage - 1, NULL, 0};
    size_t i;

    memset(fp, 'x', sizeof fp);
    assert_int_equal(memtls_pem_fingerprint(&ca, fp), 0);
    assert_int_equal(strlen(fp), 95);
    for (i = 0; i < 95; i++) {
        if (i % 3 == 2) {
            assert_int_equal(fp[i], ':');
        } else {
            assert_true((fp[i] >= '0' && fp[i] <= '9') || (fp[i] >= 'A' && fp[i] <= 'F'));
        }
    }
    assert_int_equal(X509_digest(x, EVP_sha256(), md, &md_len), 1);
    assert_int_equal(md_len, 32);
    for (i = 0; i < 32; i++) {
        snprintf(expect + 3 * i, sizeof expect - 3 * i, i < 31 ? "%02X:" : "%02X", md[i]);
    }
    assert_string_equal(fp, expect);
    assert_int_equal(memtls_pem_fingerprint(&ca, again), 0);
    assert_string_equal(fp, again);

    assert_int_equal(memtls_pem_fingerprint(NULL, fp), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_pem_fingerprint(&ca, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_pem_fingerprint(&bad, fp), MEMTLS_ERR_INVALID);
    bad.cert = NULL;
    assert_int_equal(memtls_pem_fingerprint(&bad, fp), MEMTLS_ERR_INVALID);
    assert_string_equal(fp, expect);
    assert_int_equal(ERR_peek_error(), 0);

    X509_free(x);
    memtls_pem_free(&ca);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 16384);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, 16383, f);
    assert_true(n > 0);
    fclose(f);
    return buf;
}

static mode_t file_mode(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Test: memtls_pem_write writes both files, the key 0600 even when it
 * replaces a world-readable file. */
static void test_pem_write(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    char cert_path[PATH_MAX + 16];
    char key_path[PATH_MAX + 16];
    char err[PATH_MAX + 128] = "";
    char *text;
    FILE *f;

    snprintf(dir, sizeof dir, "%s/memtls-pki-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);

    /* A pre-existing, world-readable key file must end up 0600. */
    f = fopen(key_path, "w");
    assert_non_null(f);
    fputs("old contents that are longer than nothing\n", f);
    fclose(f);
    assert_int_equal(chmod(key_path, 0644), 0);

    assert_int_equal(memtls_pem_write(&ca, cert_path, key_path, err, sizeof err), 0);
    assert_string_equal(err, "");
    assert_int_equal(file_mode(key_path), 0600);
    text = read_file(cert_path);
    assert_string_equal(text, ca.cert);
    free(text);
    text = read_file(key_path);
    assert_string_equal(text, ca.key);
    free(text);

    /* A fresh key file is also created 0600; NULL cert path skips it. */
    assert_int_equal(unlink(key_path), 0);
    assert_int_equal(unlink(cert_path), 0);
    assert_int_equal(memtls_pem_write(&ca, NULL, key_path, err, sizeof err), 0);
    assert_int_equal(file_mode(key_path), 0600);
    assert_int_equal(access(cert_path, F_OK), -1);
    assert_int_equal(memtls_pem_write(&ca, NULL, NULL, err, sizeof err), 0);

    assert_int_equal(memtls_pem_write(NULL, cert_path, key_path, err, sizeof err),
                     MEMTLS_ERR_INVALID);

    assert_int_equal(unlink(key_path), 0);
    assert_int_equal(rmdir(dir), 0);
    memtls_pem_free(&ca);
}

/* Test: writing into a directory that does not exist fails and names the
 * file. */
static void test_pem_write_bad_dir(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);
    const char *cert_path = "/nonexistent-memtls-dir/sub/cert.pem";
    const char *key_path = "/nonexistent-memtls-dir/sub/key.pem";
    char err[512] = "";

    assert_int_equal(memtls_pem_write(&ca, cert_path, NULL, err, sizeof err), MEMTLS_ERR_CONFIG);
    print_message("%s\n", err);
    assert_non_null(strstr(err, cert_path));
    assert_int_equal(memtls_pem_write(&ca, NULL, key_path, err, sizeof err), MEMTLS_ERR_CONFIG);
    assert_non_null(strstr(err, key_path));
    assert_int_equal(memtls_pem_write(&ca, NULL, key_path, NULL, 0), MEMTLS_ERR_CONFIG);
    memtls_pem_free(&ca);
}

/* Test: memtls_pem_free is NULL-safe, zeroes, and may run twice. */
static void test_pem_free(void **state)
{
    memtls_pem ca = testpki_ca(MEMTLS_KEY_EC_P256);

    memtls_pem_free(NULL);
    memtls_pem_free(&ca);
    assert_null(ca.cert);
    assert_null(ca.key);
    assert_int_equal(ca.cert_len, 0);
    assert_int_equal(ca.key_len, 0);
    memtls_pem_free(&ca);
}

/*
 * Allocation-failure injection. OpenSSL's allocator is replaced in main()
 * before anything is allocated; while alloc_countdown is >= 0, the
 * allocation it counts down to fails (once). ASan/LSan then prove that
 * every error path frees what it took.
 */
static long alloc_countdown = -1;
static long alloc_failures;
static int alloc_hooked;

static int should_fail(void)
{
    if (alloc_countdown < 0) {
        return 0;
    }
    if (alloc_countdown-- == 0) {
        alloc_failures++;
        return 1;
    }
    return 0;
}

static void *failing_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return should_fail() ? NULL : malloc(n);
}

static void *failing_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return should_fail() ? NULL : realloc(p, n);
}

static void plain_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* Make a certificate with allocation n failing, for every n until a run
 * in which no allocation was left to fail. */
static void make_with_failures(const memtls_cert_spec *spec, const memtls_pem *issuer,
                               const char *what)
{
    long n;

    for (n = 0;; n++) {
        char marker = 'm';
        memtls_pem out = {&marker, 1, &marker, 1};
        char err[256] = "";
        long before = alloc_failures;
        int rc;

        alloc_countdown = n;
        rc = memtls_pki_make(spec, issuer, &out, err, sizeof err);
        alloc_countdown = -1;
        if (rc != 0) {
            assert_true(alloc_failures > before);
            assert_true(rc == MEMTLS_ERR_NOMEM || rc == MEMTLS_ERR_CONFIG ||
                        rc == MEMTLS_ERR_INVALID);
            assert_true(err[0] != '\0');
            assert_ptr_equal(out.cert, &marker);
            continue;
        }
        /* OpenSSL may shrug off a failed allocation; the result must
         * still be whole. */
        assert_int_equal(out.cert_len, strlen(out.cert));
        assert_int_equal(out.key_len, strlen(out.key));
        memtls_pem_free(&out);
        if (alloc_failures == before) {
            print_message("%s: %ld allocations, each failed once\n", what, n);
            return;
        }
    }
}

/* Test: with any single allocation failing, memtls_pki_make fails cleanly
 * (no leak, no crash, *out untouched) or succeeds whole. */
static void test_alloc_failures(void **state)
{
    static const char *const sans[] = {"DNS:localhost", "::1"};
    memtls_cert_spec spec = {0};
    memtls_pem ca;

    if (!alloc_hooked) {
        skip();
    }
    ca = testpki_ca(MEMTLS_KEY_EC_P256);
    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = MEMTLS_CERT_CA;
    spec.common_name = "ca";
    make_with_failures(&spec, NULL, "self-signed CA");
    spec.usage = MEMTLS_CERT_SERVER;
    spec.common_name = "server";
    spec.sans = sans;
    spec.san_count = 2;
    make_with_failures(&spec, &ca, "CA-signed server");
    memtls_pem_free(&ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_self_signed), cmocka_unit_test(test_default_validity),
        cmocka_unit_test(test_serials_differ), cmocka_unit_test(test_server_signed_by_ca),
        cmocka_unit_test(test_wrong_ca_fails), cmocka_unit_test(test_intermediate_chain),
        cmocka_unit_test(test_usages),         cmocka_unit_test(test_expired),
        cmocka_unit_test(test_bad_args),       cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_pem_write),      cmocka_unit_test(test_pem_write_bad_dir),
        cmocka_unit_test(test_pem_free),       cmocka_unit_test(test_alloc_failures),
    };

    /* Must precede every OpenSSL allocation; it fails harmlessly (and the
     * injection test is skipped) if something allocated first. */
    alloc_hooked = CRYPTO_set_mem_functions(failing_malloc, failing_realloc, plain_free);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
