/*
 * Test: every public context function given bad arguments (NULL, zero
 * length, sizes over INT_MAX, wrong role or state) returns its documented
 * answer, changes nothing, and does not crash. The "nothing changed" part
 * is checked by using the context normally afterwards.
 */
#include "test.h"
#include <limits.h>
#include <string.h>

#include <openssl/x509.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

#define HUGE_LEN ((size_t)INT_MAX + 1)

static void test_null_context(void **state)
{
    uint8_t buf[8];
    size_t n = 77;
    char text[64];

    assert_null(memtls_ctx_new(NULL));
    memtls_ctx_free(NULL);
    assert_false(memtls_ctx_is_tls(NULL));
    assert_int_equal(memtls_ctx_role(NULL), MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_ctx_set_hostname(NULL, "localhost"), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed(NULL, "x", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed_eof(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_pending_in(NULL), 0);
    assert_int_equal(memtls_ctx_pending_out(NULL), 0);
    assert_int_equal(memtls_ctx_drain(NULL, buf, sizeof buf, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);
    assert_int_equal(memtls_ctx_handshake(NULL), MEMTLS_ERR_INVALID);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_read(NULL, buf, sizeof buf, &n), n);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_write(NULL, "x", 1, &n), n);
    assert_int_equal(memtls_ctx_close(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_key_update(NULL, 1), MEMTLS_ERR_INVALID);
    assert_false(memtls_ctx_handshake_done(NULL));
    assert_false(memtls_ctx_peer_closed(NULL));
    assert_false(memtls_ctx_truncated(NULL));
    assert_false(memtls_ctx_peer_verified(NULL));
    assert_string_equal(memtls_ctx_verify_error(NULL), "no peer certificate");
    assert_int_equal(memtls_ctx_verify_result(NULL), X509_V_OK);
    assert_string_equal(memtls_ctx_error(NULL), "");
    assert_string_equal(memtls_ctx_protocol(NULL), "");
    assert_string_equal(memtls_ctx_cipher(NULL), "");
    assert_string_equal(memtls_ctx_alpn(NULL), "");
    assert_string_equal(memtls_ctx_sni(NULL), "");
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_peer_cert_der(NULL, buf, sizeof buf, &n),
                           n);
    assert_string_equal(memtls_ctx_peer_subject(NULL), "");
    assert_string_equal(memtls_ctx_peer_sans(NULL), "");
    assert_false(memtls_ctx_peer_has_name(NULL, "localhost"));
    assert_null(memtls_ctx_ssl(NULL));
    /* A NULL context is allowed in status text: name and meaning only. */
    assert_true(text_has(memtls_ctx_status_text(NULL, MEMTLS_ERR_SSL, text, sizeof text),
                         "MEMTLS_ERR_SSL"));
}

/* Test: bad arguments to a live TLS context; it keeps working after. */
static void test_bad_arguments_tls(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, NULL);
    uint8_t buf[8];
    size_t n = 77;

    /* set_hostname: NULL, empty, too long, on a server. */
    assert_int_equal(memtls_ctx_set_hostname(p.c, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_set_hostname(p.c, ""), MEMTLS_ERR_INVALID);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(memtls_ctx_set_hostname(p.c, longname), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_set_hostname(p.s, "localhost"), MEMTLS_ERR_INVALID);

    /* recv: NULL data with a length, huge length; NULL with 0 and 0 bytes
     * are successful no-ops. */
    assert_int_equal(memtls_ctx_feed(p.s, NULL, 5), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed(p.s, buf, HUGE_LEN), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed(p.s, buf, SIZE_MAX), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed(p.s, NULL, 0), 0);
    assert_int_equal(memtls_ctx_feed(p.s, buf, 0), 0);
    assert_int_equal(memtls_ctx_pending_in(p.s), 0);

    /* send: NULL out-count, NULL buffer with a length; 0 bytes is fine. */
    assert_int_equal(memtls_ctx_drain(p.c, buf, sizeof buf, NULL), MEMTLS_ERR_INVALID);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_drain(p.c, NULL, 4, &n), n);
    assert_status_no_bytes(0, memtls_ctx_drain(p.c, NULL, 0, &n), n);

    /* read: NULL buffer, NULL count, zero and huge lengths. */
    assert_int_equal(memtls_ctx_read(p.s, NULL, 8, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(p.s, buf, 8, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(p.s, buf, 0, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(p.s, buf, HUGE_LEN, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(n, 0);

    /* write: NULL buffer, NULL count, huge length; 0 bytes is fine. */
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_write(p.c, NULL, 3, &n), n);
    assert_int_equal(memtls_ctx_write(p.c, "abc", 3, NULL), MEMTLS_ERR_INVALID);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_write(p.c, buf, HUGE_LEN, &n), n);
    assert_status_no_bytes(0, memtls_ctx_write(p.c, NULL, 0, &n), n);

    /* peer_cert_der: NULL out-length, NULL buffer with a length. */
    assert_int_equal(memtls_ctx_peer_cert_der(p.c, buf, sizeof buf, NULL), MEMTLS_ERR_INVALID);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_peer_cert_der(p.c, NULL, 8, &n), n);

    /* None of that changed anything: nothing queued, no error, and the
     * connection works. */
    assert_int_equal(memtls_ctx_pending_out(p.c), 0);
    assert_int_equal(memtls_ctx_pending_out(p.s), 0);
    assert_string_equal(memtls_ctx_error(p.c), "");
    assert_int_equal(memtls_ctx_set_hostname(p.c, "localhost"), 0);
    tlspair_handshake(&p);
    assert_string_equal(memtls_ctx_sni(p.s), "localhost");
    tlspair_transfer(p.c, p.s, "works", 5);

    /* set_hostname after the handshake started (and finished). */
    assert_int_equal(memtls_ctx_set_hostname(p.c, "other"), MEMTLS_ERR_INVALID);

    /* recv after EOF. */
    assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
    assert_int_equal(memtls_ctx_feed(p.s, "x", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_pending_in(p.s), 0);
    tlspair_free(&p);
}

/* Test: set_hostname once the client has sent its hello. */
static void test_hostname_after_start(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, NULL);
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
    assert_int_equal(memtls_ctx_set_hostname(p.c, "localhost"), MEMTLS_ERR_INVALID);
    tlspair_free(&p);
}

/* Test: context creation refused: server configuration without a
 * certificate; invalid role for the twin. */
static void test_creation_refused(void **state)
{
    memtls_config *cfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(cfg);
    assert_null(memtls_ctx_new(cfg));
    /* A refused creation does not freeze the configuration. */
    assert_int_equal(memtls_config_set_verify(cfg, MEMTLS_VERIFY_OPTIONAL), 0);
    memtls_config_free(cfg);
    assert_null(memtls_ctx_new_plaintext((memtls_role)-1));
    assert_null(memtls_ctx_new_plaintext((memtls_role)2));
}

/* Test: the twin checks arguments the same way. */
static void test_bad_arguments_plaintext(void **state)
{
    memtls_ctx *t = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    uint8_t buf[8];
    size_t n = 77;
    assert_int_equal(memtls_ctx_feed(t, NULL, 5), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_feed(t, buf, HUGE_LEN), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(t, buf, 0, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(t, buf, HUGE_LEN, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_read(t, NULL, 8, &n), MEMTLS_ERR_INVALID);
    assert_status_no_bytes(MEMTLS_ERR_INVALID, memtls_ctx_write(t, buf, HUGE_LEN, &n), n);
    assert_int_equal(memtls_ctx_write(t, NULL, 2, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_drain(t, NULL, 2, &n), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_drain(t, buf, 2, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_set_hostname(t, "localhost"), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_peer_cert_der(t, buf, sizeof buf, NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_pending_in(t), 0);
    assert_int_equal(memtls_ctx_pending_out(t), 0);
    memtls_ctx_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_context),
        cmocka_unit_test(test_bad_arguments_tls),
        cmocka_unit_test(test_hostname_after_start),
        cmocka_unit_test(test_creation_refused),
        cmocka_unit_test(test_bad_arguments_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
