/*
 * Test: memtls_ctx_status_text() and memtls_status_name(). The text names the
 * status and says what it means, and — given the context that failed —
 * carries the OpenSSL reason (or the verify reason). Bounded buffers are
 * respected.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include <openssl/ssl.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

static void test_names(void **state)
{
    static const struct {
        int status;
        const char *name;
    } names[] = {
        {MEMTLS_OK, "MEMTLS_OK"},
        {MEMTLS_ERR_SSL, "MEMTLS_ERR_SSL"},
        {MEMTLS_WANT_READ, "MEMTLS_WANT_READ"},
        {MEMTLS_WANT_WRITE, "MEMTLS_WANT_WRITE"},
        {MEMTLS_ERR_SYSCALL, "MEMTLS_ERR_SYSCALL"},
        {MEMTLS_CLOSED, "MEMTLS_CLOSED"},
        {MEMTLS_ERR_X509_VERIFY, "MEMTLS_ERR_X509_VERIFY"},
        {MEMTLS_ERR_INVALID, "MEMTLS_ERR_INVALID"},
        {MEMTLS_ERR_NOMEM, "MEMTLS_ERR_NOMEM"},
        {MEMTLS_ERR_CONFIG, "MEMTLS_ERR_CONFIG"},
        {MEMTLS_ERR_NO_PEER_CERT, "MEMTLS_ERR_NO_PEER_CERT"},
        {MEMTLS_ERR_TOO_SMALL, "MEMTLS_ERR_TOO_SMALL"},
        {MEMTLS_ERR_TOO_BIG, "MEMTLS_ERR_TOO_BIG"},
        {MEMTLS_ERR_PROXY, "MEMTLS_ERR_PROXY"},
        {-1, "UNKNOWN_STATUS"},
        {0x7777, "UNKNOWN_STATUS"},
        /* OpenSSL's values memtls never produces keep OpenSSL's names. */
        {SSL_ERROR_WANT_X509_LOOKUP, "SSL_ERROR_WANT_X509_LOOKUP"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_string_equal(memtls_status_name(names[i].status), names[i].name);
        /* Without a context the text still starts with the name. */
        memtls_ctx_status_text(NULL, names[i].status, buf, sizeof buf);
        assert_true(strncmp(buf, names[i].name, strlen(names[i].name)) == 0);
        assert_true(strlen(buf) > strlen(names[i].name));
    }
    /* The outcomes are OpenSSL's numbers; MEMTLS_ERR_* never collide. */
    assert_int_equal(MEMTLS_OK, SSL_ERROR_NONE);
    assert_int_equal(MEMTLS_ERR_SSL, SSL_ERROR_SSL);
    assert_int_equal(MEMTLS_WANT_READ, SSL_ERROR_WANT_READ);
    assert_int_equal(MEMTLS_WANT_WRITE, SSL_ERROR_WANT_WRITE);
    assert_int_equal(MEMTLS_ERR_SYSCALL, SSL_ERROR_SYSCALL);
    assert_int_equal(MEMTLS_CLOSED, SSL_ERROR_ZERO_RETURN);
    assert_true(MEMTLS_ERR_X509_VERIFY > SSL_ERROR_WANT_RETRY_VERIFY);
}

/* Test: after a protocol failure, the text includes OpenSSL's reason. */
static void test_openssl_reason(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    uint8_t rec[5 + 40] = {0x17, 0x03, 0x03, 0x00, 40};
    fill_pattern(rec + 5, 40, 3);
    assert_int_equal(memtls_ctx_feed(p.s, rec, sizeof rec), 0);
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(memtls_ctx_read(p.s, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    char text[512];
    assert_ptr_equal(memtls_ctx_status_text(p.s, MEMTLS_ERR_SSL, text, sizeof text), text);
    assert_true(text_has(text, "MEMTLS_ERR_SSL"));
    assert_true(text_has(text, "bad record mac"));
    assert_true(text_has(text, "error:"));
    /* The context's own error says the same. */
    assert_true(text_has(memtls_ctx_error(p.s), "bad record mac"));
    /* The peer that receives the alert gets the alert's reason. */
    pump_one_way(p.s, p.c, 0);
    assert_int_equal(memtls_ctx_read(p.c, buf, sizeof buf, &n), MEMTLS_ERR_SSL);
    memtls_ctx_status_text(p.c, MEMTLS_ERR_SSL, text, sizeof text);
    assert_true(text_has(text, "alert bad record mac"));
    /* A context that did not fail adds nothing to a status. */
    tlspair q;
    tlspair_connect(&q, NULL, "localhost");
    memtls_ctx_status_text(q.s, MEMTLS_ERR_SSL, text, sizeof text);
    assert_null(strstr(text, "bad record mac"));
    tlspair_free(&q);
    tlspair_free(&p);
}

/* Test: after a verification failure, the text says why. */
static void test_verify_reason(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem leaf = testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                   "localhost", -7200, -3600);
    testpki_load(p.scfg, &leaf);
    tlspair_contexts(&p, "localhost");
    int crc;
    int src;
    assert_false(pump_handshake(p.c, p.s, 0, &crc, &src));
    assert_int_equal(crc, MEMTLS_ERR_X509_VERIFY);
    char text[512];
    memtls_ctx_status_text(p.c, crc, text, sizeof text);
    assert_true(text_has(text, "MEMTLS_ERR_X509_VERIFY"));
    assert_true(text_has(text, "certificate has expired"));
    memtls_ctx_status_text(p.c, MEMTLS_ERR_SSL, text, sizeof text);
    assert_true(text_has(text, "certificate verify failed"));
    tlspair_free(&p);
    memtls_pem_free(&leaf);
}

/* Test: truncation's text explains it. */
static void test_truncation_reason(void **state)
{
    tlspair p;
    tlspair_connect(&p, NULL, "localhost");
    assert_int_equal(memtls_ctx_feed_eof(p.s), 0);
    uint8_t buf[16];
    size_t n = 0;
    int rc = memtls_ctx_read(p.s, buf, sizeof buf, &n);
    char text[512];
    memtls_ctx_status_text(p.s, rc, text, sizeof text);
    assert_true(strstr(text, "unexpected eof") != NULL ||
                strstr(text, "without close_notify") != NULL);
    tlspair_free(&p);
}

/* Test: bounded output. */
static void test_buffer_bounds(void **state)
{
    char small[12];
    memset(small, 'Z', sizeof small);
    assert_ptr_equal(memtls_ctx_status_text(NULL, MEMTLS_WANT_READ, small, sizeof small), small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_true(strncmp(small, "MEMTLS_WANT", 11) == 0);
    char one[1] = {'Z'};
    memtls_ctx_status_text(NULL, MEMTLS_ERR_SSL, one, 1);
    assert_int_equal(one[0], '\0');
    assert_string_equal(memtls_ctx_status_text(NULL, 0, NULL, 10), "");
    char buf[4] = "abc";
    assert_string_equal(memtls_ctx_status_text(NULL, 0, buf, 0), "");
    assert_string_equal(buf, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),         cmocka_unit_test(test_openssl_reason),
        cmocka_unit_test(test_verify_reason), cmocka_unit_test(test_truncation_reason),
        cmocka_unit_test(test_buffer_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
