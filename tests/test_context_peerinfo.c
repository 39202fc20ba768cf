/*
 * Test: what a context reports about its peer and the connection: subject,
 * SANs, DER certificate, memtls_ctx_peer_has_name, SNI, version, cipher, ALPN;
 * "" (or 0) before the handshake and where there is nothing to report.
 */
#include "test.h"
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

/* DER of the first certificate in a PEM string. */
static size_t pem_to_der(const memtls_pem *pem, uint8_t *out, size_t cap)
{
    BIO *b = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
    assert_non_null(b);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    assert_non_null(x);
    int n = i2d_X509(x, NULL);
    assert_true(n > 0 && (size_t)n <= cap);
    unsigned char *p = out;
    assert_int_equal(i2d_X509(x, &p), n);
    X509_free(x);
    BIO_free(b);
    return (size_t)n;
}

static memtls_pem make_leaf(const memtls_pem *ca, memtls_cert_usage usage, const char *cn,
                            const char *const *sans, size_t count)
{
    memtls_cert_spec spec = {0};
    memtls_pem pem = {0};
    char err[256] = "";
    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = usage;
    spec.common_name = cn;
    spec.sans = sans;
    spec.san_count = count;
    int rc = memtls_pki_make(&spec, ca, &pem, err, sizeof err);
    if (rc != 0) {
        print_error("pki: %s\n", err);
    }
    assert_int_equal(rc, 0);
    return pem;
}

/* What a context reports about its connection and its peer. */
typedef struct seen {
    const char *protocol;
    const char *cipher;
    const char *alpn;
    const char *sni;
    const char *subject;
    const char *sans;
} seen;

static void assert_seen(const memtls_ctx *c, seen want)
{
    assert_string_equal(memtls_ctx_protocol(c), want.protocol);
    assert_string_equal(memtls_ctx_cipher(c), want.cipher);
    assert_string_equal(memtls_ctx_alpn(c), want.alpn);
    assert_string_equal(memtls_ctx_sni(c), want.sni);
    assert_string_equal(memtls_ctx_peer_subject(c), want.subject);
    assert_string_equal(memtls_ctx_peer_sans(c), want.sans);
}

/* The peer's certificate, as DER, is `pem`'s. */
static void assert_peer_der(const memtls_ctx *c, const memtls_pem *pem)
{
    uint8_t want[4096];
    uint8_t der[4096];
    size_t want_len = pem_to_der(pem, want, sizeof want);
    size_t len = 0;
    assert_int_equal(memtls_ctx_peer_cert_der(c, der, sizeof der, &len), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(der, want, want_len);
}

static void test_peer_info(void **state)
{
    static const char *const server_sans[] = {"DNS:localhost", "DNS:*.example.com", "IP:127.0.0.1",
                                              "IP:::1"};
    static const char *const client_sans[] = {"DNS:client.test"};
    tlspair p;
    tlspair_opts o = {0};
    o.server_verify = MEMTLS_VERIFY_REQUIRED;
    tlspair_init(&p, &o);
    memtls_pem srv = make_leaf(&p.ca, MEMTLS_CERT_SERVER, "memtls server", server_sans, 4);
    memtls_pem cli = make_leaf(&p.ca, MEMTLS_CERT_CLIENT, "memtls client", client_sans, 1);
    testpki_load(p.scfg, &srv);
    testpki_load(p.ccfg, &cli);
    static const char *const alpn[] = {"memtls/1"};
    assert_int_equal(memtls_config_set_alpn(p.scfg, alpn, 1), 0);
    assert_int_equal(memtls_config_set_alpn(p.ccfg, alpn, 1), 0);
    assert_int_equal(memtls_config_set_ciphersuites(p.scfg, "TLS_CHACHA20_POLY1305_SHA256"), 0);
    tlspair_contexts(&p, "api.example.com");

    /* Before the handshake: nothing. */
    assert_seen(p.c, (seen){"", "", "", "", "", ""});
    assert_seen(p.s, (seen){"", "", "", "", "", ""});
    assert_false(memtls_ctx_peer_has_name(p.c, "localhost"));

    tlspair_handshake(&p);

    /* Both ends agree on the connection; the client sees the server
     * certificate (clients report no SNI), the server sees the client
     * certificate and the SNI. */
    assert_seen(p.c, (seen){"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "memtls/1", "",
                            "CN=memtls server",
                            "DNS:localhost, DNS:*.example.com, IP:127.0.0.1, IP:::1"});
    assert_seen(p.s, (seen){"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "memtls/1",
                            "api.example.com", "CN=memtls client", "DNS:client.test"});
    assert_peer_der(p.c, &srv);
    assert_peer_der(p.s, &cli);
    assert_true(memtls_ctx_peer_has_name(p.c, "localhost"));
    assert_true(memtls_ctx_peer_has_name(p.c, "api.example.com"));
    assert_true(memtls_ctx_peer_has_name(p.c, "127.0.0.1"));
    assert_true(memtls_ctx_peer_has_name(p.c, "::1"));
    assert_true(memtls_ctx_peer_has_name(p.c, "0:0:0:0:0:0:0:1"));
    assert_false(memtls_ctx_peer_has_name(p.c, "a.b.example.com"));
    assert_false(memtls_ctx_peer_has_name(p.c, "example.com"));
    assert_false(memtls_ctx_peer_has_name(p.c, "127.0.0.2"));
    /* With DNS SANs present the CN is not a name. */
    assert_false(memtls_ctx_peer_has_name(p.c, "memtls server"));
    assert_false(memtls_ctx_peer_has_name(p.c, ""));
    assert_false(memtls_ctx_peer_has_name(p.c, NULL));
    assert_true(memtls_ctx_peer_has_name(p.s, "client.test"));
    assert_int_equal(memtls_ctx_role(p.c), MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_ctx_role(p.s), MEMTLS_ROLE_SERVER);
    assert_true(memtls_ctx_is_tls(p.c));
    assert_non_null(memtls_ctx_ssl(p.c));

    tlspair_free(&p);
    memtls_pem_free(&srv);
    memtls_pem_free(&cli);
}

/* Test: TLS 1.2 version and cipher names; no SNI without a host name;
 * a certificate without SANs answers to its CN. */
static void test_tls12_and_cn_only(void **state)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = MEMTLS_TLS1_2;
    tlspair_init(&p, &o);
    memtls_pem srv = make_leaf(&p.ca, MEMTLS_CERT_SERVER, "cn-only.test", NULL, 0);
    testpki_load(p.scfg, &srv);
    assert_int_equal(memtls_config_set_ciphers(p.scfg, "ECDHE-ECDSA-AES128-GCM-SHA256"), 0);
    tlspair_contexts(&p, NULL);
    tlspair_handshake(&p);
    assert_seen(p.c,
                (seen){"TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "", "", "CN=cn-only.test", ""});
    /* The server has no client certificate to describe. */
    assert_seen(p.s, (seen){"TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "", "", "", ""});
    assert_true(memtls_ctx_peer_has_name(p.c, "cn-only.test"));
    assert_false(memtls_ctx_peer_has_name(p.c, "other.test"));
    assert_false(memtls_ctx_peer_has_name(p.s, "client"));
    tlspair_free(&p);
    memtls_pem_free(&srv);
}

/* Test: an IP literal host name is verified against IP SANs and is not
 * sent as SNI (RFC 6066). */
static void test_ip_hostname(void **state)
{
    static const char *const sans[] = {"IP:192.0.2.10"};
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem srv = make_leaf(&p.ca, MEMTLS_CERT_SERVER, "by-address", sans, 1);
    testpki_load(p.scfg, &srv);
    tlspair_contexts(&p, "192.0.2.10");
    tlspair_handshake(&p);
    assert_true(memtls_ctx_peer_verified(p.c));
    assert_string_equal(memtls_ctx_sni(p.s), "");
    assert_string_equal(memtls_ctx_peer_sans(p.c), "IP:192.0.2.10");
    assert_true(memtls_ctx_peer_has_name(p.c, "192.0.2.10"));
    tlspair_free(&p);
    memtls_pem_free(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_info),
        cmocka_unit_test(test_tls12_and_cn_only),
        cmocka_unit_test(test_ip_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
