/*
 * test_ring_framing.c - a message comes out of the ring exactly as it went
 * in: type, connection id, length and payload, for every length including
 * zero, written in one or two parts or through reserve/commit, read in
 * batches or with peek/pop.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memtls/ring.h>

#define CAP 4096u

/* A copy of every message a handler was given. */
typedef struct seen_msg {
    uint32_t type;
    uint64_t conn;
    size_t len;
    uint8_t data[CAP];
    int aligned; /* payload pointer was 8-byte aligned */
} seen_msg;

typedef struct collector {
    seen_msg *msgs;
    size_t n;
    size_t cap;
} collector;

static void collect(void *arg, const memtls_ring_msg *msg)
{
    collector *c = arg;
    seen_msg *s;

    assert_true(c->n < c->cap);
    s = &c->msgs[c->n++];
    s->type = msg->type;
    s->conn = msg->conn;
    s->len = msg->len;
    assert_true(msg->len <= sizeof(s->data));
    assert_non_null(msg->data);
    if (msg->len != 0) {
        memcpy(s->data, msg->data, msg->len);
    }
    s->aligned = ((uintptr_t)msg->data % 8u) == 0;
}

static collector *collector_new(size_t cap)
{
    collector *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->msgs = calloc(cap, sizeof(*c->msgs));
    assert_non_null(c->msgs);
    c->cap = cap;
    return c;
}

static void collector_free(collector *c)
{
    free(c->msgs);
    free(c);
}

/* Deterministic payload bytes for message `i`. */
static void fill(uint8_t *p, size_t len, unsigned i)
{
    for (size_t k = 0; k < len; k++) {
        p[k] = (uint8_t)(i * 131u + k * 7u + 1u);
    }
}

static memtls_ring *ring_new_checked(size_t cap)
{
    memtls_ring *r = memtls_ring_new(cap);
    assert_non_null(r);
    return r;
}

/* Test: creation accepts only powers of two within the bounds. */
static void test_new_capacity(void **state)
{
    static const size_t bad[] = {
        0, 1, 8, 2048, 4095, 4097, 6144, 12288, (1u << 30) + 4096u, (size_t)1 << 31, SIZE_MAX};
    static const size_t good[] = {4096, 8192, 65536, 1u << 20};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memtls_ring *r = memtls_ring_new(bad[i]);
        if (r != NULL) {
            print_error("capacity %zu was accepted\n", bad[i]);
        }
        assert_null(r);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memtls_ring *r = ring_new_checked(good[i]);
        assert_int_equal(memtls_ring_capacity(r), good[i]);
        assert_int_equal(memtls_ring_max_message(r), good[i] / 4 - MEMTLS_RING_HEADER);
        assert_true(memtls_ring_empty(r));
        assert_int_equal(memtls_ring_used(r), 0);
        assert_int_equal(memtls_ring_free_space(r), good[i]);
        memtls_ring_free(r);
    }
    memtls_ring_free(NULL);
}

/* Test: one message, all header fields at their extremes. */
static void test_single_message(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(4);
    uint8_t payload[100];

    fill(payload, sizeof(payload), 1);
    assert_int_equal(
        memtls_ring_try_write(r, UINT32_MAX, UINT64_MAX, payload, sizeof(payload), NULL, 0),
        MEMTLS_OK);
    assert_false(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_used(r), MEMTLS_RING_HEADER + 104);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 1);
    assert_int_equal(c->msgs[0].type, UINT32_MAX);
    assert_true(c->msgs[0].conn == UINT64_MAX);
    assert_int_equal(c->msgs[0].len, sizeof(payload));
    assert_memory_equal(c->msgs[0].data, payload, sizeof(payload));
    assert_true(c->msgs[0].aligned);
    assert_true(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_used(r), 0);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 0);

    collector_free(c);
    memtls_ring_free(r);
}

/* Test: payload is the concatenation of the two parts, whichever is empty. */
static void test_two_parts(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(8);
    uint8_t whole[300];

    fill(whole, sizeof(whole), 2);
    assert_int_equal(memtls_ring_try_write(r, 1, 10, whole, 120, whole + 120, 180), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 2, 11, NULL, 0, whole, 300), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 3, 12, whole, 300, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 4, 13, whole, 1, whole + 1, 1), MEMTLS_OK);
    /* Non-NULL pointers with zero lengths are fine too. */
    assert_int_equal(memtls_ring_try_write(r, 5, 14, whole, 0, whole, 0), MEMTLS_OK);

    assert_int_equal(memtls_ring_read(r, collect, c, 0), 5);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(c->msgs[i].type, i + 1);
        assert_int_equal(c->msgs[i].conn, 10 + i);
    }
    assert_int_equal(c->msgs[0].len, 300);
    assert_memory_equal(c->msgs[0].data, whole, 300);
    assert_int_equal(c->msgs[1].len, 300);
    assert_memory_equal(c->msgs[1].data, whole, 300);
    assert_int_equal(c->msgs[2].len, 300);
    assert_memory_equal(c->msgs[2].data, whole, 300);
    assert_int_equal(c->msgs[3].len, 2);
    assert_memory_equal(c->msgs[3].data, whole, 2);
    assert_int_equal(c->msgs[4].len, 0);

    collector_free(c);
    memtls_ring_free(r);
}

/* Test: zero-length payloads carry type and connection id and take a bare
 * header each. */
static void test_zero_length(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(CAP / MEMTLS_RING_HEADER);
    size_t n = CAP / MEMTLS_RING_HEADER;

    /* A ring of bare headers fills the buffer exactly. */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            memtls_ring_try_write(r, (uint32_t)(i + 1), (uint64_t)i << 32, NULL, 0, NULL, 0),
            MEMTLS_OK);
        assert_int_equal(memtls_ring_used(r), (i + 1) * MEMTLS_RING_HEADER);
    }
    assert_int_equal(memtls_ring_free_space(r), 0);
    assert_int_equal(memtls_ring_try_write(r, 1, 0, NULL, 0, NULL, 0), MEMTLS_WANT_WRITE);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c->msgs[i].type, i + 1);
        assert_true(c->msgs[i].conn == (uint64_t)i << 32);
        assert_int_equal(c->msgs[i].len, 0);
    }
    assert_true(memtls_ring_empty(r));

    collector_free(c);
    memtls_ring_free(r);
}

/* Test: every length 0..max, one after another; the rounding of each frame
 * to 8 bytes never leaks into the payload or the next header. */
static void test_every_length(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(1);
    size_t max = memtls_ring_max_message(r);
    uint8_t *payload = malloc(max);

    size_t offset = 0; /* where the next frame would start */

    assert_non_null(payload);
    for (size_t len = 0; len <= max; len++) {
        size_t frame = MEMTLS_RING_HEADER + ((len + 7) & ~(size_t)7);
        size_t pad = frame > CAP - offset ? CAP - offset : 0;

        fill(payload, len, (unsigned)len);
        assert_int_equal(
            memtls_ring_try_write(r, (uint32_t)len + 1, len * 3, payload, len, NULL, 0), MEMTLS_OK);
        /* The ring is empty before each write, so in use is exactly the
         * header plus the payload rounded up to 8, plus the padding to the
         * end of the buffer when the frame did not fit there. */
        assert_int_equal(memtls_ring_used(r), pad + frame);
        offset = (offset + pad + frame) % CAP;
        c->n = 0;
        assert_int_equal(memtls_ring_read(r, collect, c, 0), 1);
        assert_int_equal(c->msgs[0].type, len + 1);
        assert_int_equal(c->msgs[0].conn, len * 3);
        assert_int_equal(c->msgs[0].len, len);
        assert_true(c->msgs[0].aligned);
        if (len != 0) {
            assert_memory_equal(c->msgs[0].data, payload, len);
        }
    }
    free(payload);
    collector_free(c);
    memtls_ring_free(r);
}

/* Test: many messages queued, read back in order in batches of bounded
 * size; max 0 means all that are present. */
static void test_batches_in_order(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(64);
    uint8_t payload[40];
    unsigned written = 0;

    for (unsigned i = 0; i < 20; i++) {
        fill(payload, i, i);
        assert_int_equal(memtls_ring_try_write(r, 7, i, payload, i, NULL, 0), MEMTLS_OK);
        written++;
    }
    assert_int_equal(memtls_ring_read(r, collect, c, 3), 3);
    assert_int_equal(memtls_ring_read(r, collect, c, 1), 1);
    assert_int_equal(memtls_ring_read(r, collect, c, 6), 6);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 10);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 0);
    assert_int_equal(memtls_ring_read(r, collect, c, 5), 0);
    assert_int_equal(c->n, written);
    for (unsigned i = 0; i < written; i++) {
        assert_int_equal(c->msgs[i].type, 7);
        assert_int_equal(c->msgs[i].conn, i);
        assert_int_equal(c->msgs[i].len, i);
        fill(payload, i, i);
        if (i != 0) {
            assert_memory_equal(c->msgs[i].data, payload, i);
        }
    }
    collector_free(c);
    memtls_ring_free(r);
}

/* Test: a reserved frame is invisible until committed, then arrives with
 * the committed type, connection id and (possibly shorter) length. */
static void test_reserve_commit(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(8);
    memtls_ring_msg msg;
    memtls_ring_stats st;
    uint8_t *p;

    p = memtls_ring_reserve(r, 200);
    assert_non_null(p);
    assert_true(((uintptr_t)p % 8u) == 0);
    fill(p, 200, 9);
    assert_true(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_used(r), 0);
    assert_int_equal(memtls_ring_peek(r, &msg), 0);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 0);
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_written, 0);

    /* Commit a shorter length than reserved. */
    assert_int_equal(memtls_ring_commit(r, 42, 4242, 150), MEMTLS_OK);
    assert_int_equal(memtls_ring_used(r), MEMTLS_RING_HEADER + 152);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 1);
    assert_int_equal(c->msgs[0].type, 42);
    assert_int_equal(c->msgs[0].conn, 4242);
    assert_int_equal(c->msgs[0].len, 150);
    {
        uint8_t expect[200];
        fill(expect, 200, 9);
        assert_memory_equal(c->msgs[0].data, expect, 150);
    }

    /* Zero-length reservation, committed at zero. */
    p = memtls_ring_reserve(r, 0);
    assert_non_null(p);
    assert_int_equal(memtls_ring_commit(r, 3, 33, 0), MEMTLS_OK);
    /* The full reserved length. */
    p = memtls_ring_reserve(r, memtls_ring_max_message(r));
    assert_non_null(p);
    fill(p, memtls_ring_max_message(r), 5);
    assert_int_equal(memtls_ring_commit(r, 4, 44, memtls_ring_max_message(r)), MEMTLS_OK);
    assert_int_equal(memtls_ring_read(r, collect, c, 0), 2);
    assert_int_equal(c->msgs[1].type, 3);
    assert_int_equal(c->msgs[1].conn, 33);
    assert_int_equal(c->msgs[1].len, 0);
    assert_int_equal(c->msgs[2].type, 4);
    assert_int_equal(c->msgs[2].len, memtls_ring_max_message(r));
    {
        uint8_t *expect = malloc(memtls_ring_max_message(r));
        assert_non_null(expect);
        fill(expect, memtls_ring_max_message(r), 5);
        assert_memory_equal(c->msgs[2].data, expect, memtls_ring_max_message(r));
        free(expect);
    }
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_written, 3);
    assert_int_equal(st.bytes_written, 150 + memtls_ring_max_message(r));
    assert_int_equal(st.messages_read, 3);

    collector_free(c);
    memtls_ring_free(r);
}

/* Test: commit refuses without a reservation, with type 0 and with a
 * length beyond the reservation, and a refused commit keeps the
 * reservation. */
static void test_commit_invalid(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    memtls_ring_msg msg;
    uint8_t *p;

    assert_int_equal(memtls_ring_commit(NULL, 1, 1, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_commit(r, 1, 1, 0), MEMTLS_ERR_INVALID);
    p = memtls_ring_reserve(r, 16);
    assert_non_null(p);
    memcpy(p, "0123456789abcdef", 16);
    assert_int_equal(memtls_ring_commit(r, 0, 1, 16), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_commit(r, 1, 1, 17), MEMTLS_ERR_INVALID);
    assert_true(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_commit(r, 1, 1, 16), MEMTLS_OK);
    /* The reservation is used up. */
    assert_int_equal(memtls_ring_commit(r, 1, 1, 16), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(msg.len, 16);
    assert_memory_equal(msg.data, "0123456789abcdef", 16);
    memtls_ring_pop(r);
    assert_true(memtls_ring_empty(r));

    /* A new reservation replaces an uncommitted one. */
    p = memtls_ring_reserve(r, 8);
    assert_non_null(p);
    p = memtls_ring_reserve(r, 24);
    assert_non_null(p);
    memset(p, 0xAB, 24);
    assert_int_equal(memtls_ring_commit(r, 2, 2, 24), MEMTLS_OK);
    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(msg.type, 2);
    assert_int_equal(msg.len, 24);
    memtls_ring_pop(r);

    /* A successful try_write drops an uncommitted reservation (it may have
     * overwritten the reserved bytes). */
    p = memtls_ring_reserve(r, 8);
    assert_non_null(p);
    assert_int_equal(memtls_ring_try_write(r, 3, 3, "x", 1, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_commit(r, 4, 4, 8), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(msg.type, 3);
    memtls_ring_pop(r);
    assert_true(memtls_ring_empty(r));

    memtls_ring_free(r);
}

/* Test: peek shows the oldest message without removing it; pop removes it;
 * both interleave with batch reads. */
static void test_peek_pop(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    collector *c = collector_new(8);
    memtls_ring_msg msg;
    memtls_ring_msg again;
    memtls_ring_stats st;

    assert_int_equal(memtls_ring_peek(r, &msg), 0);
    memtls_ring_pop(r); /* empty: no effect */
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_read, 0);

    for (unsigned i = 1; i <= 4; i++) {
        uint8_t payload[8];
        fill(payload, i, i);
        assert_int_equal(memtls_ring_try_write(r, i, 100 + i, payload, i, NULL, 0), MEMTLS_OK);
    }
    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(memtls_ring_peek(r, &again), 1);
    assert_int_equal(msg.type, 1);
    assert_int_equal(msg.conn, 101);
    assert_int_equal(msg.len, 1);
    assert_ptr_equal(msg.data, again.data);
    assert_int_equal(again.type, 1);
    memtls_ring_pop(r);

    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(msg.type, 2);
    assert_int_equal(msg.len, 2);
    {
        uint8_t expect[2];
        fill(expect, 2, 2);
        assert_memory_equal(msg.data, expect, 2);
    }
    /* A batch read picks up where peek/pop left off. */
    assert_int_equal(memtls_ring_read(r, collect, c, 1), 1);
    assert_int_equal(c->msgs[0].type, 2);
    memtls_ring_pop(r);
    assert_int_equal(memtls_ring_peek(r, &msg), 1);
    assert_int_equal(msg.type, 4);
    memtls_ring_pop(r);
    assert_int_equal(memtls_ring_peek(r, &msg), 0);
    assert_true(memtls_ring_empty(r));
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_read, 4);
    assert_int_equal(st.messages_written, 4);

    collector_free(c);
    memtls_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_capacity),   cmocka_unit_test(test_single_message),
        cmocka_unit_test(test_two_parts),      cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_every_length),   cmocka_unit_test(test_batches_in_order),
        cmocka_unit_test(test_reserve_commit), cmocka_unit_test(test_commit_invalid),
        cmocka_unit_test(test_peek_pop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
