/*
 * test_ring_limits.c - what the ring refuses and what that costs: a full
 * ring refuses with no side effect but the refusal counter, oversized
 * messages are TOO_BIG, invalid arguments are INVALID and change nothing,
 * every call tolerates NULL, and the counters add up.
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memtls/ring.h>

#define CAP 4096u

static size_t frame_size(size_t len)
{
    return MEMTLS_RING_HEADER + ((len + 7u) & ~(size_t)7u);
}

static void fill(uint8_t *p, size_t len, unsigned i)
{
    for (size_t k = 0; k < len; k++) {
        p[k] = (uint8_t)(i * 131u + k * 7u + 1u);
    }
}

/* Checks that messages arrive numbered from `next` with fill(len, conn). */
typedef struct checker {
    unsigned next;
    size_t len;
} checker;

static void check_msg(void *arg, const memtls_ring_msg *msg)
{
    checker *c = arg;
    uint8_t expect[CAP];

    assert_int_equal(msg->type, 1);
    assert_int_equal(msg->conn, c->next);
    assert_int_equal(msg->len, c->len);
    fill(expect, c->len, c->next);
    assert_memory_equal(msg->data, expect, c->len);
    c->next++;
}

static void count_msg(void *arg, const memtls_ring_msg *msg)
{
    size_t *n = arg;
    (*n)++;
}

static memtls_ring *ring_new_checked(size_t cap)
{
    memtls_ring *r = memtls_ring_new(cap);
    assert_non_null(r);
    return r;
}

static void assert_stats_equal(const memtls_ring_stats *a, const memtls_ring_stats *b)
{
    assert_int_equal(a->messages_written, b->messages_written);
    assert_int_equal(a->bytes_written, b->bytes_written);
    assert_int_equal(a->messages_read, b->messages_read);
    assert_int_equal(a->refusals, b->refusals);
    assert_int_equal(a->high_water, b->high_water);
}

/* Test: a full ring refuses try_write and reserve with MEMTLS_WANT_WRITE / NULL;
 * nothing changes except the refusal counter; after the reader frees a
 * frame the same write succeeds, and every accepted message is intact. */
static void test_full_refuses_without_side_effect(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    const size_t len = 112; /* 128-byte frames tile the buffer exactly */
    const size_t per_ring = CAP / frame_size(len);
    uint8_t buf[CAP];
    memtls_ring_stats before;
    memtls_ring_stats after;
    checker c = {0, len};
    unsigned next = 0;

    for (size_t i = 0; i < per_ring; i++, next++) {
        fill(buf, len, next);
        assert_int_equal(memtls_ring_try_write(r, 1, next, buf, len, NULL, 0), MEMTLS_OK);
    }
    assert_int_equal(memtls_ring_used(r), CAP);
    assert_int_equal(memtls_ring_free_space(r), 0);
    memtls_ring_get_stats(r, &before);
    assert_int_equal(before.refusals, 0);
    assert_int_equal(before.high_water, CAP);

    /* Refused repeatedly, with any size, in one part or two. */
    for (unsigned k = 0; k < 1000; k++) {
        size_t n = k % (len + 1);
        fill(buf, n, 0xDEAD);
        assert_int_equal(memtls_ring_try_write(r, 1, 0xDEAD, buf, n / 3, buf + n / 3, n - n / 3),
                         MEMTLS_WANT_WRITE);
    }
    assert_null(memtls_ring_reserve(r, 0));
    assert_null(memtls_ring_reserve(r, len));
    memtls_ring_get_stats(r, &after);
    assert_int_equal(after.refusals, 1002);
    after.refusals = before.refusals;
    assert_stats_equal(&after, &before);
    assert_int_equal(memtls_ring_used(r), CAP);
    assert_false(memtls_ring_empty(r));

    /* Free exactly one frame: the next write fits exactly. */
    assert_int_equal(memtls_ring_read(r, check_msg, &c, 1), 1);
    assert_int_equal(memtls_ring_free_space(r), frame_size(len));
    fill(buf, len, next);
    assert_int_equal(memtls_ring_try_write(r, 1, next, buf, len, NULL, 0), MEMTLS_OK);
    next++;
    assert_int_equal(memtls_ring_try_write(r, 1, next, NULL, 0, NULL, 0), MEMTLS_WANT_WRITE);

    /* Everything accepted comes out, in order, and nothing refused. */
    assert_int_equal(memtls_ring_read(r, check_msg, &c, 0), per_ring);
    assert_int_equal(c.next, next);
    assert_true(memtls_ring_empty(r));
    memtls_ring_get_stats(r, &after);
    assert_int_equal(after.messages_written, next);
    assert_int_equal(after.messages_read, next);
    assert_int_equal(after.bytes_written, (uint64_t)next * len);
    assert_int_equal(after.refusals, 1003);
    memtls_ring_free(r);
}

/* Test: a frame that needs padding is refused when the padding plus the
 * frame do not fit, even though free_space() alone would hold the frame;
 * the refusal writes no padding. */
static void test_refusal_counts_padding(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    const size_t len = 112;
    uint8_t buf[CAP];
    checker c = {0, len};
    unsigned next = 0;
    size_t n = 0;

    /* 31 frames of 128 bytes: head at CAP - 128; free the first one. */
    for (; next < 31; next++) {
        fill(buf, len, next);
        assert_int_equal(memtls_ring_try_write(r, 1, next, buf, len, NULL, 0), MEMTLS_OK);
    }
    assert_int_equal(memtls_ring_read(r, check_msg, &c, 1), 1);
    assert_int_equal(memtls_ring_free_space(r), 256);

    /* 256-byte frame: 128 bytes of padding + 256 > 256 free. */
    fill(buf, 240, 99);
    assert_int_equal(memtls_ring_try_write(r, 1, 99, buf, 240, NULL, 0), MEMTLS_WANT_WRITE);
    assert_null(memtls_ring_reserve(r, 240));
    assert_int_equal(memtls_ring_used(r), CAP - 256);

    /* A frame that fits before the end goes there, with no padding ahead
     * of it, and one more fills the start of the buffer. */
    fill(buf, len, next);
    assert_int_equal(memtls_ring_try_write(r, 1, next, buf, len, NULL, 0), MEMTLS_OK);
    next++;
    fill(buf, len, next);
    assert_int_equal(memtls_ring_try_write(r, 1, next, buf, len, NULL, 0), MEMTLS_OK);
    next++;
    assert_int_equal(memtls_ring_used(r), CAP);
    assert_int_equal(memtls_ring_read(r, check_msg, &c, 0), 32);
    assert_int_equal(c.next, next);
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 0), 0);
    memtls_ring_free(r);
}

/* Test: payloads over max_message() are TOO_BIG however they are split,
 * including lengths whose sum overflows; nothing is counted. */
static void test_too_big(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    size_t max = memtls_ring_max_message(r);
    uint8_t *buf = calloc(1, max + 1);
    memtls_ring_stats st;
    memtls_ring_stats zero = {0};
    size_t n = 0;

    assert_non_null(buf);
    assert_int_equal(max, CAP / 4 - MEMTLS_RING_HEADER);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max + 1, NULL, 0), MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, NULL, 0, buf, max + 1), MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max, buf, 1), MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, 1, buf, max), MEMTLS_ERR_TOO_BIG);
    /* The lengths are never used to touch memory once refused, so huge
     * values with a real pointer are safe to pass. */
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, SIZE_MAX, NULL, 0), MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max, buf, SIZE_MAX - max + 1),
                     MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, SIZE_MAX, buf, 2), MEMTLS_ERR_TOO_BIG);
    assert_null(memtls_ring_reserve(r, max + 1));
    assert_null(memtls_ring_reserve(r, SIZE_MAX));
    assert_true(memtls_ring_empty(r));
    memtls_ring_get_stats(r, &st);
    assert_stats_equal(&st, &zero);

    /* TOO_BIG even when the ring is full: the size is checked first. */
    while (memtls_ring_try_write(r, 1, 1, NULL, 0, NULL, 0) == MEMTLS_OK) {
    }
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max + 1, NULL, 0), MEMTLS_ERR_TOO_BIG);
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 0), CAP / MEMTLS_RING_HEADER);

    /* Exactly max fits. */
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max - 10, buf, 10), MEMTLS_OK);
    assert_int_equal(memtls_ring_used(r), frame_size(max));
    assert_int_equal(frame_size(max), CAP / 4);
    free(buf);
    memtls_ring_free(r);
}

/* Test: a maximal message fits an empty ring wherever the next frame
 * starts ("a frame always fits once the reader catches up"). Frames are
 * at least 16 bytes, so the reachable offsets are 0 and 16 .. CAP - 8. */
static void test_max_fits_when_empty(void **state)
{
    for (size_t off = 0; off < CAP; off = off == 0 ? 16 : off + 8) {
        memtls_ring *r = ring_new_checked(CAP);
        size_t max = memtls_ring_max_message(r);
        uint8_t buf[CAP] = {0};
        size_t pos = 0;
        size_t n = 0;

        if (off % 16u == 8u) {
            assert_int_equal(memtls_ring_try_write(r, 1, 0, buf, 8, NULL, 0), MEMTLS_OK);
            pos += 24;
        }
        for (; pos < off; pos += MEMTLS_RING_HEADER) {
            assert_int_equal(memtls_ring_try_write(r, 1, 0, NULL, 0, NULL, 0), MEMTLS_OK);
        }
        assert_int_equal(memtls_ring_used(r), off);
        (void)memtls_ring_read(r, count_msg, &n, 0);
        assert_true(memtls_ring_empty(r));
        assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, max, NULL, 0), MEMTLS_OK);
        /* And again, right behind it. */
        assert_int_equal(memtls_ring_try_write(r, 1, 2, buf, max, NULL, 0), MEMTLS_OK);
        memtls_ring_free(r);
    }
}

/* Test: invalid arguments are INVALID and change nothing. */
static void test_invalid_arguments(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    memtls_ring_stats st;
    memtls_ring_stats zero = {0};
    uint8_t buf[16] = {0};

    assert_int_equal(memtls_ring_try_write(NULL, 1, 1, buf, 1, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_try_write(r, 0, 1, buf, 1, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_try_write(r, 0, 1, NULL, 0, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, NULL, 1, NULL, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, 1, NULL, 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_try_write(r, 1, 1, NULL, 5, buf, 5), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ring_commit(r, 1, 1, 0), MEMTLS_ERR_INVALID);
    assert_null(memtls_ring_reserve(NULL, 0));
    assert_true(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_used(r), 0);
    memtls_ring_get_stats(r, &st);
    assert_stats_equal(&st, &zero);
    memtls_ring_free(r);
}

/* Test: every call tolerates NULL where the header says so, and a NULL
 * handler or out-param consumes nothing. */
static void test_null_tolerance(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    memtls_ring_stats st;
    memtls_ring_msg msg;
    size_t n = 0;

    assert_int_equal(memtls_ring_capacity(NULL), 0);
    assert_int_equal(memtls_ring_max_message(NULL), 0);
    assert_int_equal(memtls_ring_used(NULL), 0);
    assert_int_equal(memtls_ring_free_space(NULL), 0);
    assert_int_equal(memtls_ring_read(NULL, count_msg, &n, 0), 0);
    assert_int_equal(memtls_ring_peek(NULL, &msg), 0);
    memtls_ring_pop(NULL);
    memtls_ring_free(NULL);
    memset(&st, 0xFF, sizeof(st));
    memtls_ring_get_stats(NULL, &st);
    assert_int_equal(st.messages_written, 0);
    assert_int_equal(st.high_water, 0);
    memtls_ring_get_stats(r, NULL);

    assert_int_equal(memtls_ring_try_write(r, 1, 1, "abc", 3, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_read(r, NULL, NULL, 0), 0);
    assert_int_equal(memtls_ring_peek(r, NULL), 0);
    assert_false(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 0), 1);
    assert_int_equal(n, 1);
    memtls_ring_free(r);
}

/* Test: the counters follow a scripted sequence exactly, and high_water is
 * the most ever in use, not the producer's possibly stale estimate. */
static void test_stats(void **state)
{
    memtls_ring *r = ring_new_checked(CAP);
    memtls_ring_stats st;
    uint8_t buf[CAP] = {0};
    size_t n = 0;
    size_t used;

    assert_int_equal(memtls_ring_try_write(r, 1, 1, buf, 100, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 2, 2, NULL, 0, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 3, 3, buf, 500, buf, 500), MEMTLS_OK);
    used = frame_size(100) + frame_size(0) + frame_size(1000);
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_written, 3);
    assert_int_equal(st.bytes_written, 1100);
    assert_int_equal(st.messages_read, 0);
    assert_int_equal(st.refusals, 0);
    assert_int_equal(st.high_water, used);
    assert_int_equal(memtls_ring_used(r), used);

    /* Read everything, then write less than the old peak: the peak stays,
     * although the producer has not seen the reader's progress yet. */
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 2), 2);
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 0), 1);
    assert_int_equal(memtls_ring_try_write(r, 4, 4, buf, 800, NULL, 0), MEMTLS_OK);
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_read, 3);
    assert_int_equal(st.high_water, used);

    /* A new, higher peak while messages are outstanding. */
    assert_int_equal(memtls_ring_try_write(r, 5, 5, buf, 1000, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_try_write(r, 5, 6, buf, 1000, NULL, 0), MEMTLS_OK);
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.high_water, memtls_ring_used(r));
    assert_true(st.high_water > used);
    used = st.high_water;
    assert_int_equal(st.messages_written, 6);
    assert_int_equal(st.bytes_written, 1100 + 800 + 2000);

    /* Drain and refill below the peak: unchanged. */
    assert_int_equal(memtls_ring_read(r, count_msg, &n, 0), 3);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(memtls_ring_try_write(r, 6, 7, buf, 8, NULL, 0), MEMTLS_OK);
    }
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.high_water, used);
    assert_int_equal(st.messages_read, 6);

    /* Fill up: the peak is the capacity; refusals counted one by one. */
    while (memtls_ring_try_write(r, 7, 8, NULL, 0, NULL, 0) == MEMTLS_OK) {
    }
    assert_int_equal(memtls_ring_try_write(r, 7, 8, NULL, 0, NULL, 0), MEMTLS_WANT_WRITE);
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.high_water, CAP);
    assert_int_equal(st.refusals, 2);
    assert_int_equal(st.messages_written - st.messages_read, memtls_ring_read(r, count_msg, &n, 0));
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_written, st.messages_read);
    memtls_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_refuses_without_side_effect),
        cmocka_unit_test(test_refusal_counts_padding),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_max_fits_when_empty),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_null_tolerance),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
