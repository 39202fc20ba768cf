/*
 * Test: every flight delivered one byte at a time. The handshake (with
 * client certificates, so every flight is large), TLS 1.3 session
 * tickets, application data both ways and close_notify each reach the
 * peer in 1-byte memtls_ctx_feed() calls with an operation after each byte:
 * every partial record must read as MEMTLS_WANT_READ, never as an
 * error or as data, and the last byte completes it.
 */
#include "test.h"
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

/*
 * Move everything `from` has queued to `to` one byte at a time, calling
 * memtls_ctx_read(to) after each byte. Plaintext read is appended to out
 * (capacity cap, *outlen in/out). Returns the status of the last read;
 * counts the WANT_READs seen in *waits.
 */
static int trickle(memtls_ctx *from, memtls_ctx *to, uint8_t *out, size_t cap, size_t *outlen,
                   size_t *waits)
{
    int rc = MEMTLS_WANT_READ;
    uint8_t b;
    size_t n = 0;
    while (memtls_ctx_drain(from, &b, 1, &n) == 0 && n == 1) {
        assert_int_equal(memtls_ctx_feed(to, &b, 1), 0);
        for (;;) {
            size_t got = 99;
            rc = memtls_ctx_read(to, out + *outlen, cap - *outlen, &got);
            if (rc == MEMTLS_WANT_READ) {
                assert_int_equal(got, 0);
                (*waits)++;
                break;
            }
            if (rc != 0) {
                assert_int_equal(got, 0);
                /* Only a close may end the trickle, and only at the end. */
                assert_int_equal(memtls_ctx_pending_out(from), 0);
                return rc;
            }
            assert_true(got >= 1);
            *outlen += got;
            assert_true(*outlen < cap);
        }
    }
    return rc;
}

static void run_bytewise(int version)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = version;
    o.client_cert = 1;
    o.server_verify = MEMTLS_VERIFY_REQUIRED;
    print_message("case: %s\n", version == MEMTLS_TLS1_2 ? "TLS 1.2" : "TLS 1.3");
    tlspair_init(&p, &o);
    tlspair_contexts(&p, "localhost");

    /* pump_handshake with chunk 1 moves one byte, then calls the receiving
     * side's handshake, for every byte of every flight. */
    int crc = -1;
    int src = -1;
    assert_true(pump_handshake(p.c, p.s, 1, &crc, &src));
    assert_int_equal(crc, 0);
    assert_int_equal(src, 0);
    assert_true(memtls_ctx_peer_verified(p.c));
    assert_true(memtls_ctx_peer_verified(p.s));

    uint8_t msg[3000];
    uint8_t got[4096];
    size_t got_len = 0;
    size_t waits = 0;
    size_t n = 0;
    fill_pattern(msg, sizeof msg, 42);

    /* Client to server: the ciphertext of 3000 bytes trickles in. */
    assert_int_equal(memtls_ctx_write(p.c, msg, sizeof msg, &n), 0);
    size_t wire = memtls_ctx_pending_out(p.c);
    assert_int_equal(trickle(p.c, p.s, got, sizeof got, &got_len, &waits), MEMTLS_WANT_READ);
    assert_int_equal(got_len, sizeof msg);
    assert_memory_equal(got, msg, sizeof msg);
    /* All but the last byte of the record read as "want more". */
    assert_int_equal(waits, wire);

    /* Server to client; in TLS 1.3 the tickets come first, same way. */
    got_len = 0;
    waits = 0;
    assert_int_equal(memtls_ctx_write(p.s, msg, sizeof msg, &n), 0);
    assert_int_equal(trickle(p.s, p.c, got, sizeof got, &got_len, &waits), MEMTLS_WANT_READ);
    assert_int_equal(got_len, sizeof msg);
    assert_memory_equal(got, msg, sizeof msg);
    assert_true(waits > sizeof msg);

    /* close_notify one byte at a time: the very last byte ends the stream. */
    got_len = 0;
    waits = 0;
    assert_int_equal(memtls_ctx_close(p.c), 0);
    wire = memtls_ctx_pending_out(p.c);
    assert_true(wire > 1);
    assert_int_equal(trickle(p.c, p.s, got, sizeof got, &got_len, &waits), MEMTLS_CLOSED);
    assert_int_equal(got_len, 0);
    assert_int_equal(waits, wire - 1);
    assert_true(memtls_ctx_peer_closed(p.s));

    got_len = 0;
    waits = 0;
    assert_int_equal(memtls_ctx_close(p.s), 0);
    assert_int_equal(trickle(p.s, p.c, got, sizeof got, &got_len, &waits), MEMTLS_CLOSED);
    assert_true(memtls_ctx_peer_closed(p.c));
    tlspair_free(&p);
}

static void test_bytewise_tls12(void **state)
{
    run_bytewise(MEMTLS_TLS1_2);
}

static void test_bytewise_tls13(void **state)
{
    run_bytewise(MEMTLS_TLS1_3);
}

/*
 * Test: the handshake driven by hand, byte by byte, checking that a
 * handshake call on an incomplete flight is always MEMTLS_WANT_READ and
 * produces no output (no half-made answer leaks out).
 */
static void test_partial_flight_is_want_read(void **state)
{
    tlspair p;
    tlspair_init(&p, NULL);
    tlspair_contexts(&p, "localhost");
    assert_int_equal(memtls_ctx_handshake(p.c), MEMTLS_WANT_READ);
    size_t hello = memtls_ctx_pending_out(p.c);
    assert_true(hello > 100);
    uint8_t b;
    size_t n = 0;
    for (size_t i = 0; i < hello; i++) {
        assert_int_equal(memtls_ctx_drain(p.c, &b, 1, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(memtls_ctx_feed(p.s, &b, 1), 0);
        assert_int_equal(memtls_ctx_handshake(p.s), MEMTLS_WANT_READ);
        if (i + 1 < hello) {
            assert_int_equal(memtls_ctx_pending_out(p.s), 0);
        }
    }
    /* The whole ClientHello is in: the server answers. */
    assert_true(memtls_ctx_pending_out(p.s) > 0);
    tlspair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytewise_tls12),
        cmocka_unit_test(test_bytewise_tls13),
        cmocka_unit_test(test_partial_flight_is_want_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
