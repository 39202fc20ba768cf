/*
 * Test: every public configuration function given bad arguments (NULL,
 * empty or zero-length input, lengths over INT_MAX, out-of-range enums)
 * returns its documented status, says why in memtls_config_error(), and
 * leaves the configuration usable.
 */
#include "test.h"
#include <limits.h>
#include <string.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

#define HUGE_LEN ((size_t)INT_MAX + 1)

static void test_null_config(void **state)
{
    const char *const alpn[] = {"h2"};
    assert_null(memtls_config_new((memtls_role)2));
    assert_null(memtls_config_new((memtls_role)-1));
    memtls_config_free(NULL);
    assert_null(memtls_config_ref(NULL));
    assert_int_equal(memtls_config_role(NULL), MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_load_cert_file(NULL, "c.pem", "k.pem"), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_load_cert_pem(NULL, "x", 1, "y", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_load_ca_file(NULL, "ca.pem"), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_load_ca_pem(NULL, "x", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_use_system_ca(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_verify(NULL, MEMTLS_VERIFY_NONE), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_alpn(NULL, alpn, 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_alpn_strict(NULL, 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_min_version(NULL, MEMTLS_TLS1_2), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_max_version(NULL, MEMTLS_TLS1_3), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_ciphers(NULL, "ECDHE+AESGCM"), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_ciphersuites(NULL, "TLS_AES_128_GCM_SHA256"),
                     MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_groups(NULL, "X25519"), MEMTLS_ERR_INVALID);
    assert_false(memtls_config_has_cert(NULL));
    assert_non_null(memtls_config_error(NULL));
    assert_null(memtls_config_ssl_ctx(NULL));
}

/* Each call fails with `want` and an error text containing `why`. */
static void expect(memtls_config *cfg, int rc, int want, const char *why)
{
    assert_int_equal(rc, want);
    assert_true(text_has(memtls_config_error(cfg), why));
}

static void test_bad_arguments(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_config *s = p.scfg;
    const memtls_pem *pem = &p.server_pem;

    /* Certificates and keys from memory. */
    expect(s, memtls_config_load_cert_pem(s, NULL, 10, pem->key, pem->key_len), MEMTLS_ERR_INVALID,
           "empty");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, pem->cert_len, NULL, 10),
           MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, 0, pem->key, pem->key_len),
           MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, pem->cert_len, pem->key, 0),
           MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, HUGE_LEN, pem->key, pem->key_len),
           MEMTLS_ERR_INVALID, "INT_MAX");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, pem->cert_len, pem->key, HUGE_LEN),
           MEMTLS_ERR_INVALID, "INT_MAX");
    /* Not PEM at all, from memory. */
    expect(s, memtls_config_load_cert_pem(s, "garbage", 7, pem->key, pem->key_len),
           MEMTLS_ERR_CONFIG, "no PEM certificate");
    expect(s, memtls_config_load_cert_pem(s, pem->cert, pem->cert_len, "garbage", 7),
           MEMTLS_ERR_CONFIG, "no PEM private key");

    /* CA bundles from memory. */
    expect(s, memtls_config_load_ca_pem(s, NULL, 5), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_load_ca_pem(s, p.ca.cert, 0), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_load_ca_pem(s, p.ca.cert, HUGE_LEN), MEMTLS_ERR_INVALID, "INT_MAX");
    expect(s, memtls_config_load_ca_pem(s, "no certificates here\n", 21), MEMTLS_ERR_CONFIG,
           "no PEM certificate");

    /* File names. */
    expect(s, memtls_config_load_cert_file(s, NULL, "k.pem"), MEMTLS_ERR_INVALID, "no file name");
    expect(s, memtls_config_load_cert_file(s, "", "k.pem"), MEMTLS_ERR_INVALID, "no file name");
    expect(s, memtls_config_load_ca_file(s, NULL), MEMTLS_ERR_INVALID, "no file name");
    expect(s, memtls_config_load_ca_file(s, ""), MEMTLS_ERR_INVALID, "no file name");

    /* Enumerations out of range. */
    expect(s, memtls_config_set_verify(s, (memtls_verify)3), MEMTLS_ERR_INVALID, "verify mode");
    expect(s, memtls_config_set_verify(s, (memtls_verify)-1), MEMTLS_ERR_INVALID, "verify mode");
    expect(s, memtls_config_set_min_version(s, (memtls_version_floor)0x0302), MEMTLS_ERR_INVALID,
           "TLS 1.2 or TLS 1.3");
    expect(s, memtls_config_set_max_version(s, (memtls_version_floor)0), MEMTLS_ERR_INVALID,
           "TLS 1.2 or TLS 1.3");

    /* ALPN lists. */
    const char *const ok[] = {"h2"};
    const char *const empty_name[] = {"h2", ""};
    const char *const null_name[] = {NULL};
    char longname[257];
    memset(longname, 'a', 256);
    longname[256] = '\0';
    const char *const long_name[] = {longname};
    const char *many[17];
    for (size_t i = 0; i < 17; i++) {
        many[i] = "p";
    }
    expect(s, memtls_config_set_alpn(s, NULL, 1), MEMTLS_ERR_INVALID, "ALPN");
    expect(s, memtls_config_set_alpn(s, empty_name, 2), MEMTLS_ERR_INVALID, "1..255");
    expect(s, memtls_config_set_alpn(s, null_name, 1), MEMTLS_ERR_INVALID, "1..255");
    expect(s, memtls_config_set_alpn(s, long_name, 1), MEMTLS_ERR_INVALID, "1..255");
    expect(s, memtls_config_set_alpn(s, many, 17), MEMTLS_ERR_INVALID, "ALPN");
    assert_int_equal(memtls_config_set_alpn(s, many, 16), 0);
    assert_int_equal(memtls_config_set_alpn(s, ok, 1), 0);
    assert_int_equal(memtls_config_set_alpn(s, NULL, 0), 0); /* clears */
    assert_int_equal(memtls_config_set_alpn(p.ccfg, empty_name, 2), MEMTLS_ERR_INVALID);

    /* Cipher lists: empty or NULL. */
    expect(s, memtls_config_set_ciphers(s, NULL), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_set_ciphers(s, ""), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_set_ciphersuites(s, NULL), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_set_ciphersuites(s, ""), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_set_groups(s, NULL), MEMTLS_ERR_INVALID, "empty");
    expect(s, memtls_config_set_groups(s, ""), MEMTLS_ERR_INVALID, "empty");

    /* A successful call clears the previous error text. */
    assert_int_equal(memtls_config_set_alpn_strict(s, 0), 0);
    assert_string_equal(memtls_config_error(s), "");

    /* After all that, the configurations still make a working pair. */
    assert_true(memtls_config_has_cert(s));
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    tlspair_free(&p);
}

/* Test: roles, references and the SSL_CTX accessor. */
static void test_lifecycle(void **state)
{
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_int_equal(memtls_config_role(c), MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_role(s), MEMTLS_ROLE_SERVER);
    assert_false(memtls_config_has_cert(s));
    assert_non_null(memtls_config_ssl_ctx(s));
    assert_string_equal(memtls_config_error(s), "");
    /* Two owners: the first free leaves it alive (ASan checks the rest). */
    assert_ptr_equal(memtls_config_ref(c), c);
    memtls_config_free(c);
    assert_int_equal(memtls_config_role(c), MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_set_verify(c, MEMTLS_VERIFY_NONE), 0);
    memtls_config_free(c);
    memtls_config_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_config),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
