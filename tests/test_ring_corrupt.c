/*
 * test_ring_corrupt.c - the consumer checks every frame header: a frame
 * the producer cannot have written (length past the published data or
 * over the limit, a header across the end of the buffer, padding with no
 * message after it) stops the consumer, is reported by
 * memtls_ring_corrupt(), and never makes it read outside the buffer (ASan
 * runs these) or run past the data. Messages before the bad frame are
 * delivered intact. An intact ring is never reported corrupt.
 *
 * The tests overwrite the ring's memory through the frame layout that
 * ring.h documents: the first message of a new ring starts at the start of
 * the buffer, its payload MEMTLS_RING_HEADER bytes in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <memtls/ring.h>

#define CAP 4096u

typedef struct hdr {
    uint32_t type;
    uint32_t len;
    uint64_t conn;
} hdr;

typedef struct counter {
    size_t n;
    uint64_t conns[64];
} counter;

static void count(void *arg, const memtls_ring_msg *msg)
{
    counter *c = arg;
    /* Touch every payload byte: ASan catches a read outside the buffer. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < msg->len; i++) {
        sum = (uint8_t)(sum + msg->data[i]);
    }
    (void)sum;
    if (c->n < 64) {
        c->conns[c->n] = msg->conn;
    }
    c->n++;
}

/* A new ring with one 8-byte message (conn 1) at offset 0; returns the
 * buffer's start, found through that message's payload. */
static uint8_t *ring_with_first(memtls_ring **out)
{
    memtls_ring *r = memtls_ring_new(CAP);
    memtls_ring_msg m;
    assert_non_null(r);
    assert_int_equal(memtls_ring_try_write(r, 7, 1, "first...", 8, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_peek(r, &m), 1);
    *out = r;
    return (uint8_t *)(uintptr_t)(m.data - MEMTLS_RING_HEADER);
}

static void write_n(memtls_ring *r, uint64_t first_conn, size_t n, size_t len)
{
    static const uint8_t zeros[256];
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(memtls_ring_try_write(r, 7, first_conn + i, zeros, len, NULL, 0),
                         MEMTLS_OK);
    }
}

/* The frame header at byte `off` of the buffer. */
static void put_header(uint8_t *buf, size_t off, uint32_t type, uint32_t len, uint64_t conn)
{
    hdr h = {type, len, conn};
    memcpy(buf + off, &h, sizeof h);
}

/* After corruption: nothing more comes out, by any call. */
static void assert_stopped(memtls_ring *r)
{
    counter c = {0};
    memtls_ring_msg m;
    assert_int_equal(memtls_ring_corrupt(r), 1);
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 0);
    assert_int_equal(memtls_ring_peek(r, &m), 0);
    memtls_ring_pop(r);
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 0);
    assert_int_equal(c.n, 0);
}

/* A length past the published data: the messages before it come out. */
static void test_length_past_head(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    write_n(r, 2, 2, 8); /* frames at 24 (conn 2) and 48 (conn 3), head 72 */
    put_header(buf, 48, 7, 64, 3);
    counter c = {0};
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 2);
    assert_int_equal(c.conns[0], 1);
    assert_int_equal(c.conns[1], 2);
    assert_stopped(r);
    /* The good messages' space was released; the bad frame's was not. */
    assert_int_equal(memtls_ring_used(r), 24);
    memtls_ring_free(r);
}

/* A length over the ring's limit, even though the data would be there. */
static void test_length_over_limit(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    put_header(buf, 0, 7, (uint32_t)memtls_ring_max_message(r) + 8, 1);
    counter c = {0};
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 0);
    assert_stopped(r);
    memtls_ring_free(r);
}

/* The largest u32 length: no overflow in the frame size arithmetic. */
static void test_length_huge(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    put_header(buf, 0, 7, UINT32_MAX, 1);
    memtls_ring_msg m;
    assert_int_equal(memtls_ring_peek(r, &m), 0);
    assert_stopped(r);
    memtls_ring_free(r);
}

/* A message turned into padding: padding runs to the end of the buffer,
 * past everything published. */
static void test_padding_without_message(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    put_header(buf, 0, 0, 0, 0);
    counter c = {0};
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 0);
    assert_stopped(r);
    memtls_ring_free(r);
}

/*
 * Fill the ring so that the next frame would start 8 bytes before the end
 * of the buffer, where the producer writes 8 bytes of padding (type only)
 * and puts the frame at offset 0. Then turn that padding into a message
 * type: its 16-byte header would cross the end of the buffer.
 */
static void test_header_across_end(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    counter c = {0};
    write_n(r, 2, 168, 8);  /* 24-byte frames: 24 .. 4056 */
    write_n(r, 170, 1, 16); /* a 32-byte frame: 4056 .. 4088 */
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 170);
    write_n(r, 171, 1, 8); /* padding at 4088, the frame at 0 */
    uint32_t type = 0;
    memcpy(&type, buf + CAP - 8, sizeof type);
    assert_int_equal(type, 0);
    type = 7;
    memcpy(buf + CAP - 8, &type, sizeof type);
    c.n = 0;
    assert_int_equal(memtls_ring_read(r, count, &c, 0), 0);
    assert_stopped(r);
    memtls_ring_free(r);
}

/* Overwritten payload bytes are delivered as they are: the checks are
 * on the structure only (documented). */
static void test_payload_not_checked(void **state)
{
    (void)state;
    memtls_ring *r = NULL;
    uint8_t *buf = ring_with_first(&r);
    memset(buf + MEMTLS_RING_HEADER, 0xff, 8);
    memtls_ring_msg m;
    assert_int_equal(memtls_ring_peek(r, &m), 1);
    assert_int_equal(m.len, 8);
    assert_int_equal(m.data[0], 0xff);
    memtls_ring_pop(r);
    assert_int_equal(memtls_ring_corrupt(r), 0);
    assert_true(memtls_ring_empty(r));
    memtls_ring_free(r);
}

/* An intact ring, wrapped many times with every size and padding, is
 * never reported corrupt; NULL is not corrupt either. */
static void test_intact_never_corrupt(void **state)
{
    (void)state;
    memtls_ring *r = memtls_ring_new(CAP);
    assert_non_null(r);
    static uint8_t payload[CAP];
    size_t max = memtls_ring_max_message(r);
    size_t total = 0;
    for (size_t i = 0; i < 20000; i++) {
        size_t len = (i * 37u) % (max + 1);
        int rc = memtls_ring_try_write(r, 1, i, payload, len, NULL, 0);
        if (rc == MEMTLS_WANT_WRITE) {
            counter c = {0};
            total += memtls_ring_read(r, count, &c, 0);
            assert_int_equal(memtls_ring_try_write(r, 1, i, payload, len, NULL, 0), MEMTLS_OK);
        } else {
            assert_int_equal(rc, MEMTLS_OK);
        }
    }
    counter c = {0};
    total += memtls_ring_read(r, count, &c, 0);
    assert_int_equal(total, 20000);
    assert_int_equal(memtls_ring_corrupt(r), 0);
    assert_int_equal(memtls_ring_corrupt(NULL), 0);
    memtls_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_past_head),     cmocka_unit_test(test_length_over_limit),
        cmocka_unit_test(test_length_huge),          cmocka_unit_test(test_padding_without_message),
        cmocka_unit_test(test_header_across_end),    cmocka_unit_test(test_payload_not_checked),
        cmocka_unit_test(test_intact_never_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
