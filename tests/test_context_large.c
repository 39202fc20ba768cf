/*
 * Test: a 1 MiB message each way. The sender's single memtls_ctx_write must
 * accept all of it and split it into TLS records of at most 16 KiB of
 * plaintext; the receiver must reassemble it exactly, whether the
 * ciphertext arrives at once or in odd-sized pieces that cut records.
 */
#include "test.h"
#include <stdlib.h>
#include <string.h>

#include <memtls/context.h>

#include "pump.h"
#include "tlspair.h"

#define MIB (1024u * 1024u)
#define MAX_PLAIN_RECORD 16384u
/* RFC 8446 5.2: a TLSCiphertext fragment is at most 2^14 + 256 bytes. */
#define MAX_CIPHER_RECORD (16384u + 256u)

/* Walk the TLS record headers of `wire`: every record is application data
 * of legal size, and the records tile the buffer exactly. */
static size_t count_records(const uint8_t *wire, size_t len)
{
    size_t off = 0;
    size_t records = 0;
    while (off < len) {
        assert_true(off + 5 <= len);
        assert_int_equal(wire[off], 0x17); /* application_data */
        assert_int_equal(wire[off + 1], 0x03);
        assert_int_equal(wire[off + 2], 0x03);
        size_t rlen = ((size_t)wire[off + 3] << 8) | wire[off + 4];
        assert_true(rlen > 0 && rlen <= MAX_CIPHER_RECORD);
        off += 5 + rlen;
        records++;
    }
    assert_int_equal(off, len);
    return records;
}

/*
 * Send 1 MiB from `from` to `to`. `piece`: 0 delivers all ciphertext at
 * once, otherwise in pieces of that size with reads of `readlen` in
 * between (so records are cut across memtls_ctx_feed calls).
 */
static void transfer_mib(memtls_ctx *from, memtls_ctx *to, uint32_t seed, size_t piece,
                         size_t readlen)
{
    uint8_t *msg = malloc(MIB);
    uint8_t *got = malloc(MIB);
    assert_non_null(msg);
    assert_non_null(got);
    fill_pattern(msg, MIB, seed);

    /* Nothing may be waiting from earlier exchanges. */
    assert_int_equal(memtls_ctx_pending_out(from), 0);
    size_t n = 12345;
    assert_int_equal(memtls_ctx_write(from, msg, MIB, &n), 0);
    assert_int_equal(n, MIB);

    size_t wire_len = memtls_ctx_pending_out(from);
    assert_true(wire_len > MIB);
    uint8_t *wire = malloc(wire_len);
    assert_non_null(wire);
    assert_int_equal(memtls_ctx_drain(from, wire, wire_len, &n), 0);
    assert_int_equal(n, wire_len);
    assert_int_equal(memtls_ctx_pending_out(from), 0);
    size_t records = count_records(wire, wire_len);
    /* 1 MiB in records of at most 16 KiB: at least 64 of them. */
    assert_true(records >= MIB / MAX_PLAIN_RECORD);

    size_t total = 0;
    size_t reads = 0;
    size_t fed = 0;
    while (total < MIB) {
        if (fed < wire_len) {
            size_t take = piece == 0 ? wire_len - fed : piece;
            if (take > wire_len - fed) {
                take = wire_len - fed;
            }
            assert_int_equal(memtls_ctx_feed(to, wire + fed, take), 0);
            fed += take;
        }
        for (;;) {
            size_t want = MIB - total < readlen ? MIB - total : readlen;
            if (want == 0) {
                break;
            }
            int rc = memtls_ctx_read(to, got + total, want, &n);
            if (rc == MEMTLS_WANT_READ) {
                assert_int_equal(n, 0);
                /* Only legitimate while ciphertext is still to come. */
                assert_true(fed < wire_len);
                break;
            }
            if (rc != 0) {
                print_error("read at %zu: %s (%s)\n", total, memtls_status_name(rc),
                            memtls_ctx_error(to));
            }
            assert_int_equal(rc, 0);
            assert_true(n >= 1 && n <= MAX_PLAIN_RECORD);
            total += n;
            reads++;
        }
    }
    assert_int_equal(total, MIB);
    assert_true(reads >= MIB / MAX_PLAIN_RECORD);
    for (size_t i = 0; i < MIB; i++) {
        if (got[i] != msg[i]) {
            print_error("first mismatch at byte %zu (seed %u)\n", i, seed);
            fail();
        }
    }
    /* Everything consumed: the next read wants more input. */
    assert_int_equal(memtls_ctx_pending_in(to), 0);
    assert_int_equal(memtls_ctx_read(to, got, MIB, &n), MEMTLS_WANT_READ);
    assert_int_equal(n, 0);
    free(wire);
    free(msg);
    free(got);
}

static void run_large(int version)
{
    tlspair p;
    tlspair_opts o = {0};
    o.version = version;
    tlspair_connect(&p, &o, "localhost");
    /* TLS 1.3 session tickets are already in the client's read BIO; a
     * read consumes them so the client side starts clean. */
    uint8_t scratch[64];
    size_t n = 0;
    assert_int_equal(memtls_ctx_read(p.c, scratch, sizeof scratch, &n), MEMTLS_WANT_READ);

    /* Client to server, all ciphertext at once, one big read buffer. */
    transfer_mib(p.c, p.s, 1, 0, MIB);
    /* Server to client, one big read buffer. */
    transfer_mib(p.s, p.c, 2, 0, MIB);
    /* Both ways again, ciphertext in 7777-byte pieces (records cut in the
     * middle and headers split) and reads smaller than a record. */
    transfer_mib(p.c, p.s, 3, 7777, 5000);
    transfer_mib(p.s, p.c, 4, 7777, 5000);
    /* And one byte more than a record per read with 1-record pieces. */
    transfer_mib(p.c, p.s, 5, MAX_CIPHER_RECORD, MAX_PLAIN_RECORD + 1);
    tlspair_free(&p);
}

static void test_1mib_tls12(void **state)
{
    run_large(MEMTLS_TLS1_2);
}

static void test_1mib_tls13(void **state)
{
    run_large(MEMTLS_TLS1_3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_1mib_tls12),
        cmocka_unit_test(test_1mib_tls13),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
