/*
 * Test: full handshakes between two memory-BIO contexts for TLS 1.2 and
 * TLS 1.3 with ECDSA P-256 and RSA-2048 certificates, with and without a
 * client certificate, and a version mismatch that must fail.
 */
#include "test.h"
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

/* The key type and size of the certificate `ctx`'s peer presented. */
static void assert_peer_key(memtls_ctx *ctx, memtls_key_type kt)
{
    X509 *peer = SSL_get0_peer_certificate(memtls_ctx_ssl(ctx));
    assert_non_null(peer);
    EVP_PKEY *pk = X509_get0_pubkey(peer);
    assert_non_null(pk);
    if (kt == MEMTLS_KEY_EC_P256) {
        assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
        assert_int_equal(EVP_PKEY_get_bits(pk), 256);
    } else {
        assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_RSA);
        assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
    }
}

static void run_handshake(int version, memtls_key_type kt, int mtls)
{
    tlspair p;
    tlspair_opts o = {0};
    o.key_type = kt;
    o.version = version;
    o.client_cert = mtls;
    o.server_verify = mtls ? MEMTLS_VERIFY_REQUIRED : MEMTLS_VERIFY_NONE;
    print_message("case: %s, %s, %s\n", version == MEMTLS_TLS1_2 ? "TLS 1.2" : "TLS 1.3",
                  kt == MEMTLS_KEY_EC_P256 ? "ECDSA P-256" : "RSA-2048",
                  mtls ? "mutual" : "server-only");
    tlspair_init(&p, &o);
    tlspair_contexts(&p, "localhost");

    /* Before anything moved: not done, nothing negotiated, and the client
     * has its first flight ready only after its first handshake call. */
    assert_false(memtls_ctx_handshake_done(p.c));
    assert_false(memtls_ctx_handshake_done(p.s));
    assert_string_equal(memtls_ctx_protocol(p.c), "");
    assert_string_equal(memtls_ctx_cipher(p.c), "");
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_pending_out(p.s), 0);

    tlspair_handshake(&p);
    assert_true(memtls_ctx_handshake_done(p.c));
    assert_true(memtls_ctx_handshake_done(p.s));
    /* A finished handshake stays finished. */
    assert_int_equal(memtls_ctx_handshake(p.c), 0);
    assert_int_equal(memtls_ctx_handshake(p.s), 0);

    const char *want = version == MEMTLS_TLS1_2 ? "TLSv1.2" : "TLSv1.3";
    assert_string_equal(memtls_ctx_protocol(p.c), want);
    assert_string_equal(memtls_ctx_protocol(p.s), want);
    assert_string_equal(memtls_ctx_cipher(p.c), memtls_ctx_cipher(p.s));
    if (version == MEMTLS_TLS1_2) {
        /* ECDHE + AEAD only, authenticated by the certificate's key type. */
        assert_true(text_has(memtls_ctx_cipher(p.c),
                             kt == MEMTLS_KEY_EC_P256 ? "ECDHE-ECDSA-" : "ECDHE-RSA-"));
        assert_true(strstr(memtls_ctx_cipher(p.c), "GCM") != NULL ||
                    strstr(memtls_ctx_cipher(p.c), "CHACHA20") != NULL);
    } else {
        assert_true(text_has(memtls_ctx_cipher(p.c), "TLS_"));
    }

    assert_true(memtls_ctx_peer_verified(p.c));
    assert_string_equal(memtls_ctx_verify_error(p.c), "ok");
    assert_int_equal(memtls_ctx_verify_result(p.c), X509_V_OK);
    assert_peer_key(p.c, kt);
    if (mtls) {
        assert_true(memtls_ctx_peer_verified(p.s));
        assert_string_equal(memtls_ctx_peer_subject(p.s), "CN=client");
        assert_peer_key(p.s, kt);
    } else {
        assert_false(memtls_ctx_peer_verified(p.s));
        assert_string_equal(memtls_ctx_verify_error(p.s), "no peer certificate");
    }
    assert_string_equal(memtls_ctx_error(p.c), "");
    assert_string_equal(memtls_ctx_error(p.s), "");

    /* Application data both ways. */
    tlspair_transfer(p.c, p.s, "ping from client", 16);
    tlspair_transfer(p.s, p.c, "pong from server", 16);
    tlspair_free(&p);
}

static void test_tls12_ecdsa(void **state)
{
    run_handshake(MEMTLS_TLS1_2, MEMTLS_KEY_EC_P256, 0);
    run_handshake(MEMTLS_TLS1_2, MEMTLS_KEY_EC_P256, 1);
}

static void test_tls12_rsa(void **state)
{
    run_handshake(MEMTLS_TLS1_2, MEMTLS_KEY_RSA_2048, 0);
    run_handshake(MEMTLS_TLS1_2, MEMTLS_KEY_RSA_2048, 1);
}

static void test_tls13_ecdsa(void **state)
{
    run_handshake(MEMTLS_TLS1_3, MEMTLS_KEY_EC_P256, 0);
    run_handshake(MEMTLS_TLS1_3, MEMTLS_KEY_EC_P256, 1);
}

static void test_tls13_rsa(void **state)
{
    run_handshake(MEMTLS_TLS1_3, MEMTLS_KEY_RSA_2048, 0);
    run_handshake(MEMTLS_TLS1_3, MEMTLS_KEY_RSA_2048, 1);
}

/* Test: with no version pinned the two ends agree on TLS 1.3. */
static void test_default_is_tls13(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    assert_string_equal(memtls_ctx_protocol(p.c), "TLSv1.3");
    tlspair_free(&p);
}

/* Test: a TLS 1.2 client against a TLS 1.3-only server fails on both sides
 * with MEMTLS_ERR_SSL: a protocol failure, not an authentication one. */
static void test_version_mismatch(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    assert_int_equal(memtls_config_set_min_version(p.scfg, MEMTLS_TLS1_3), 0);
    assert_int_equal(memtls_config_set_max_version(p.ccfg, MEMTLS_TLS1_2), 0);
    tlspair_contexts(&p, "localhost");
    int crc = -1;
    int src = -1;
    assert_false(pump_handshake(p.c, p.s, 0, &crc, &src));
    assert_int_equal(src, MEMTLS_ERR_SSL);
    assert_int_equal(crc, MEMTLS_ERR_SSL);
    assert_true(text_has(memtls_ctx_error(p.s), "unsupported protocol"));
    assert_true(text_has(memtls_ctx_error(p.c), "alert"));
    assert_false(memtls_ctx_handshake_done(p.c));
    assert_false(memtls_ctx_handshake_done(p.s));
    tlspair_free(&p);
}

/* Test: the server's and the client's certificates may use different key
 * types (RSA server, ECDSA client). */
static void test_mixed_key_types(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.key_type = MEMTLS_KEY_RSA_2048;
    o.server_verify = MEMTLS_VERIFY_REQUIRED;
    tlspair_init(&p, &o);
    memtls_pem eca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_pem ecli =
        testpki_leaf(&eca, MEMTLS_CERT_CLIENT, MEMTLS_KEY_EC_P256, "ec-client", NULL, 0, 0);
    assert_int_equal(memtls_config_load_ca_pem(p.scfg, eca.cert, eca.cert_len), 0);
    testpki_load(p.ccfg, &ecli);
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    assert_peer_key(p.c, MEMTLS_KEY_RSA_2048);
    assert_peer_key(p.s, MEMTLS_KEY_EC_P256);
    assert_true(memtls_ctx_peer_verified(p.s));
    assert_string_equal(memtls_ctx_peer_subject(p.s), "CN=ec-client");
    memtls_pem_free(&eca);
    memtls_pem_free(&ecli);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls12_ecdsa),      cmocka_unit_test(test_tls12_rsa),
        cmocka_unit_test(test_tls13_ecdsa),      cmocka_unit_test(test_tls13_rsa),
        cmocka_unit_test(test_default_is_tls13), cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_mixed_key_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
