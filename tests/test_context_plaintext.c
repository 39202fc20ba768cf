/*
 * Test: the plaintext twin. Same calls as a TLS context: bytes given to
 * memtls_ctx_feed() come out of memtls_ctx_read(), bytes given to memtls_ctx_write()
 * come out of memtls_ctx_drain(); EOF after the buffered bytes is its clean
 * close (MEMTLS_CLOSED). Code written against the context API
 * runs unchanged over the twin and over TLS.
 */
#include "test.h"
#include <stdlib.h>
#include <string.h>

#include <memtls/context.h>
#include <memtls/openssl.h>

#include "pump.h"
#include "tlspair.h"

static void test_identity(void **state)
{
    memtls_ctx *s = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    memtls_ctx *c = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    assert_non_null(s);
    assert_non_null(c);
    assert_false(memtls_ctx_is_tls(s));
    assert_int_equal(memtls_ctx_role(s), MEMTLS_ROLE_SERVER);
    assert_int_equal(memtls_ctx_role(c), MEMTLS_ROLE_CLIENT);
    assert_null(memtls_ctx_ssl(s));
    /* The handshake is done from the start and produces nothing. */
    assert_true(memtls_ctx_handshake_done(s));
    assert_int_equal(memtls_ctx_handshake(s), 0);
    assert_int_equal(memtls_ctx_pending_out(s), 0);
    /* No TLS: no peer, no version, no keys. */
    assert_string_equal(memtls_ctx_protocol(s), "");
    assert_string_equal(memtls_ctx_cipher(s), "");
    assert_string_equal(memtls_ctx_alpn(s), "");
    assert_string_equal(memtls_ctx_sni(s), "");
    assert_string_equal(memtls_ctx_peer_subject(s), "");
    assert_string_equal(memtls_ctx_peer_sans(s), "");
    assert_false(memtls_ctx_peer_verified(s));
    assert_false(memtls_ctx_peer_has_name(s, "localhost"));
    size_t len = 99;
    assert_int_equal(memtls_ctx_peer_cert_der(s, NULL, 0, &len), MEMTLS_ERR_NO_PEER_CERT);
    assert_int_equal(len, 0);
    assert_int_equal(memtls_ctx_key_update(s, 1), MEMTLS_ERR_SSL);
    assert_int_equal(memtls_ctx_set_hostname(c, "localhost"), MEMTLS_ERR_INVALID);
    assert_string_equal(memtls_ctx_error(s), "");
    memtls_ctx_free(s);
    memtls_ctx_free(c);
    assert_null(memtls_ctx_new_plaintext((memtls_role)7));
}

static void test_round_trip(void **state)
{
    memtls_ctx *s = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    memtls_ctx *c = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    size_t n = 0;
    uint8_t buf[64];

    /* What is written is exactly what goes on the wire: no framing. */
    assert_int_equal(memtls_ctx_write(c, "hello", 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(memtls_ctx_pending_out(c), 5);
    assert_got(memtls_ctx_drain(c, buf, 3, &n), buf, n, "hel");
    assert_int_equal(memtls_ctx_feed(s, buf, 3), 0);
    pump_one_way(c, s, 0);
    assert_int_equal(memtls_ctx_pending_in(s), 5);
    /* Reads honour the buffer size and preserve order. */
    assert_got(memtls_ctx_read(s, buf, 2, &n), buf, n, "he");
    assert_got(memtls_ctx_read(s, buf, sizeof buf, &n), buf, n, "llo");
    assert_status_no_bytes(MEMTLS_WANT_READ, memtls_ctx_read(s, buf, sizeof buf, &n), n);

    /* A large message both ways, every byte checked. */
    size_t big = 300000;
    uint8_t *msg = malloc(big);
    assert_non_null(msg);
    fill_pattern(msg, big, 9);
    tlspair_transfer(s, c, msg, big);
    tlspair_transfer(c, s, msg, big);
    free(msg);
    memtls_ctx_free(s);
    memtls_ctx_free(c);
}

/* Test: EOF. Bytes buffered before EOF are still read; then
 * MEMTLS_CLOSED, which is a clean close, not a truncation. */
static void test_eof(void **state)
{
    memtls_ctx *s = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(memtls_ctx_feed(s, "tail", 4), 0);
    assert_int_equal(memtls_ctx_feed_eof(s), 0);
    assert_int_equal(memtls_ctx_feed_eof(s), 0); /* idempotent */
    /* Nothing may be appended after EOF. */
    assert_int_equal(memtls_ctx_feed(s, "x", 1), MEMTLS_ERR_INVALID);
    assert_false(memtls_ctx_peer_closed(s));
    assert_got(memtls_ctx_read(s, buf, sizeof buf, &n), buf, n, "tail");
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_read(s, buf, sizeof buf, &n), n);
    assert_true(memtls_ctx_peer_closed(s));
    assert_false(memtls_ctx_truncated(s));
    assert_int_equal(memtls_ctx_read(s, buf, sizeof buf, &n), MEMTLS_CLOSED);
    /* The other direction still works after the peer's EOF. */
    assert_int_equal(memtls_ctx_write(s, "bye", 3, &n), 0);
    assert_int_equal(memtls_ctx_pending_out(s), 3);
    memtls_ctx_free(s);
}

/* Test: memtls_ctx_close() stops writes and sends nothing (the transport's
 * EOF is the plaintext close); reading is unaffected. */
static void test_close(void **state)
{
    memtls_ctx *c = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    uint8_t buf[16];
    size_t n = 0;
    assert_int_equal(memtls_ctx_write(c, "ab", 2, &n), 0);
    assert_int_equal(memtls_ctx_close(c), 0);
    assert_int_equal(memtls_ctx_close(c), 0);
    assert_int_equal(memtls_ctx_pending_out(c), 2);
    assert_status_no_bytes(MEMTLS_CLOSED, memtls_ctx_write(c, "cd", 2, &n), n);
    assert_int_equal(memtls_ctx_pending_out(c), 2);
    assert_int_equal(memtls_ctx_feed(c, "in", 2), 0);
    assert_int_equal(memtls_ctx_read(c, buf, sizeof buf, &n), 0);
    assert_int_equal(n, 2);
    memtls_ctx_free(c);
}

/*
 * An "application" that only knows the context API: handshake until done,
 * send a request, read the echo, close. Runs unchanged over both kinds.
 */
static void generic_exchange(memtls_ctx *c, memtls_ctx *s)
{
    int crc = -1;
    int src = -1;
    assert_true(pump_handshake(c, s, 0, &crc, &src));
    static const char req[] = "request: same code, any transport";
    uint8_t buf[128];
    size_t n = 0;
    size_t got = 0;
    assert_int_equal(memtls_ctx_write(c, req, sizeof req, &n), 0);
    assert_int_equal(n, sizeof req);
    pump_both(c, s);
    while (got < sizeof req) {
        assert_int_equal(memtls_ctx_read(s, buf + got, sizeof buf - got, &n), 0);
        got += n;
    }
    assert_int_equal(memtls_ctx_write(s, buf, got, &n), 0);
    pump_both(c, s);
    got = 0;
    while (got < sizeof req) {
        int rc = memtls_ctx_read(c, buf + got, sizeof buf - got, &n);
        assert_int_equal(rc, 0);
        got += n;
    }
    assert_memory_equal(buf, req, sizeof req);
    assert_int_equal(memtls_ctx_close(c), 0);
}

static void test_same_interface(void **state)
{
    memtls_ctx *s = memtls_ctx_new_plaintext(MEMTLS_ROLE_SERVER);
    memtls_ctx *c = memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT);
    generic_exchange(c, s);
    memtls_ctx_free(s);
    memtls_ctx_free(c);

    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    generic_exchange(p.c, p.s);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_same_interface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
