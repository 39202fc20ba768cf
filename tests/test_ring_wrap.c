/*
 * test_ring_wrap.c - frames that reach the end of the buffer: a frame that
 * would straddle the end is moved to the start behind a padding frame, at
 * every reachable offset, for try_write, reserve/commit, read and
 * peek/pop; and a long single-threaded run checked against a model of the
 * ring's accounting.
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

/* Padding the ring writes before a frame of `len` bytes whose header would
 * start at `offset`. */
static size_t padding(size_t cap, size_t offset, size_t len)
{
    return frame_size(len) > cap - offset ? cap - offset : 0;
}

static void fill(uint8_t *p, size_t len, unsigned i)
{
    for (size_t k = 0; k < len; k++) {
        p[k] = (uint8_t)(i * 131u + k * 7u + 1u);
    }
}

static void expect_bytes(const uint8_t *p, size_t len, unsigned i)
{
    for (size_t k = 0; k < len; k++) {
        if (p[k] != (uint8_t)(i * 131u + k * 7u + 1u)) {
            print_error("message %u: byte %zu of %zu differs\n", i, k, len);
            fail();
        }
    }
}

/* Counts and discards messages. */
static void drop(void *arg, const memtls_ring_msg *msg)
{
    size_t *n = arg;
    (*n)++;
}

/*
 * A fresh, empty ring whose next frame starts at `offset`, reached by
 * writing and reading filler frames. Frames are at least 16 bytes, so the
 * reachable offsets are 0 and 16 .. cap - 8 in steps of 8 (no frame can
 * end at offset 8).
 */
static memtls_ring *ring_at_empty(size_t cap, size_t offset)
{
    memtls_ring *r = memtls_ring_new(cap);
    size_t pos = 0;
    size_t written = 0;
    size_t n = 0;

    assert_non_null(r);
    if (offset % 16u == 8u) {
        assert_int_equal(memtls_ring_try_write(r, 1, 0, "12345678", 8, NULL, 0), MEMTLS_OK);
        pos += 24;
        written++;
    }
    while (pos < offset) {
        assert_int_equal(memtls_ring_try_write(r, 1, 0, NULL, 0, NULL, 0), MEMTLS_OK);
        pos += MEMTLS_RING_HEADER;
        written++;
    }
    assert_int_equal(pos, offset);
    assert_int_equal(memtls_ring_used(r), offset);
    assert_int_equal(memtls_ring_read(r, drop, &n, 0), written);
    assert_true(memtls_ring_empty(r));
    assert_int_equal(memtls_ring_used(r), 0);
    return r;
}

static size_t next_offset(size_t offset)
{
    return offset == 0 ? 16 : offset + 8;
}

typedef struct check {
    unsigned first; /* fill index of the first message expected */
    size_t lens[4];
    size_t n;
    size_t got;
    const uint8_t *data[4];
} check;

static void verify(void *arg, const memtls_ring_msg *msg)
{
    check *c = arg;
    unsigned i = c->first + (unsigned)c->got;

    assert_true(c->got < c->n);
    assert_int_equal(msg->type, i);
    assert_int_equal(msg->conn, (uint64_t)i * 1000003u);
    assert_int_equal(msg->len, c->lens[c->got]);
    assert_true(((uintptr_t)msg->data % 8u) == 0);
    expect_bytes(msg->data, msg->len, i);
    c->data[c->got] = msg->data;
    c->got++;
}

/* Test: at every offset, a frame of each interesting size goes in and
 * comes out intact, followed by a second frame; padding is accounted as in
 * use and never shows up as a message. */
static void test_every_offset_try_write(void **state)
{
    memtls_ring *probe = memtls_ring_new(CAP);
    size_t max;
    uint8_t *buf;

    assert_non_null(probe);
    max = memtls_ring_max_message(probe);
    memtls_ring_free(probe);
    buf = malloc(max);
    assert_non_null(buf);

    for (size_t off = 0; off < CAP; off = next_offset(off)) {
        const size_t lens[] = {0, 1, 7, 8, 9, 24, 100, max - 8, max - 1, max};
        for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
            memtls_ring *r = ring_at_empty(CAP, off);
            size_t len = lens[li];
            size_t pad = padding(CAP, off, len);
            size_t off2 = (off + pad + frame_size(len)) % CAP;
            size_t len2 = (li * 37u) % 200u;
            size_t pad2 = padding(CAP, off2, len2);
            check c = {.first = 10, .lens = {len, len2}, .n = 2};

            fill(buf, len, 10);
            assert_int_equal(memtls_ring_try_write(r, 10, 10u * 1000003u, buf, len / 2,
                                                   buf + len / 2, len - len / 2),
                             MEMTLS_OK);
            assert_int_equal(memtls_ring_used(r), pad + frame_size(len));
            fill(buf, len2, 11);
            assert_int_equal(memtls_ring_try_write(r, 11, 11u * 1000003u, buf, len2, NULL, 0),
                             MEMTLS_OK);
            assert_int_equal(memtls_ring_used(r), pad + frame_size(len) + pad2 + frame_size(len2));
            assert_int_equal(memtls_ring_free_space(r), CAP - memtls_ring_used(r));

            assert_int_equal(memtls_ring_read(r, verify, &c, 0), 2);
            assert_int_equal(c.got, 2);
            /* Without padding between them, and unless the first frame
             * ended exactly at the end of the buffer, the second frame
             * follows the first in place. */
            if (pad2 == 0 && off2 != 0) {
                assert_ptr_equal(c.data[1], c.data[0] + frame_size(len));
            }
            assert_true(memtls_ring_empty(r));
            assert_int_equal(memtls_ring_used(r), 0);
            memtls_ring_free(r);
        }
    }
    free(buf);
}

/* Test: a reservation made near the end is moved to the start when it
 * would straddle, and keeps that place when committed shorter. */
static void test_every_offset_reserve(void **state)
{
    for (size_t off = 0; off < CAP; off = next_offset(off)) {
        memtls_ring *r = ring_at_empty(CAP, off);
        size_t max = memtls_ring_max_message(r);
        size_t pad = padding(CAP, off, max);
        size_t commit_len = off % 64u; /* something shorter, often 0 */
        check c = {.first = 5, .lens = {commit_len}, .n = 1};
        uint8_t *p;

        p = memtls_ring_reserve(r, max);
        assert_non_null(p);
        fill(p, max, 5);
        assert_true(memtls_ring_empty(r));
        assert_int_equal(memtls_ring_commit(r, 5, 5u * 1000003u, commit_len), MEMTLS_OK);
        assert_int_equal(memtls_ring_used(r), pad + frame_size(commit_len));
        assert_int_equal(memtls_ring_read(r, verify, &c, 0), 1);
        assert_ptr_equal(c.data[0], p);
        assert_true(memtls_ring_empty(r));
        memtls_ring_free(r);
    }
}

/* Test: peek looks past padding, and pop releases the padding with the
 * message. */
static void test_peek_pop_across_padding(void **state)
{
    /* Offsets close enough to the end that some frame must be padded. */
    for (size_t off = CAP - CAP / 4 + 8; off < CAP; off = next_offset(off)) {
        memtls_ring *r = ring_at_empty(CAP, off);
        size_t max = memtls_ring_max_message(r);
        size_t len = CAP - off < max ? CAP - off : max; /* does not fit before the end */
        size_t pad = CAP - off;
        uint8_t buf[CAP];
        memtls_ring_msg msg;
        memtls_ring_stats before;
        memtls_ring_stats st;

        assert_int_equal(padding(CAP, off, len), pad);
        memtls_ring_get_stats(r, &before);
        fill(buf, len, 7);
        assert_int_equal(memtls_ring_try_write(r, 7, 7, buf, len, NULL, 0), MEMTLS_OK);
        assert_int_equal(memtls_ring_used(r), pad + frame_size(len));
        assert_int_equal(memtls_ring_peek(r, &msg), 1);
        assert_int_equal(msg.type, 7);
        assert_int_equal(msg.len, len);
        expect_bytes(msg.data, len, 7);
        memtls_ring_pop(r);
        assert_true(memtls_ring_empty(r));
        assert_int_equal(memtls_ring_used(r), 0);
        assert_int_equal(memtls_ring_peek(r, &msg), 0);
        memtls_ring_get_stats(r, &st);
        assert_int_equal(st.messages_read, before.messages_read + 1);
        memtls_ring_free(r);
    }
}

/* Test: the smallest padding, 8 bytes, is too short for a whole header and
 * is still skipped. */
static void test_eight_byte_padding(void **state)
{
    memtls_ring *r = ring_at_empty(CAP, CAP - 8);
    check c = {.first = 3, .lens = {0, 5}, .n = 2};
    uint8_t buf[8];

    assert_int_equal(memtls_ring_try_write(r, 3, 3u * 1000003u, NULL, 0, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_used(r), 8 + MEMTLS_RING_HEADER);
    fill(buf, 5, 4);
    assert_int_equal(memtls_ring_try_write(r, 4, 4u * 1000003u, buf, 5, NULL, 0), MEMTLS_OK);
    assert_int_equal(memtls_ring_used(r), 8 + MEMTLS_RING_HEADER + 24);
    assert_int_equal(memtls_ring_read(r, verify, &c, 0), 2);
    assert_ptr_equal(c.data[1], c.data[0] + MEMTLS_RING_HEADER);
    assert_true(memtls_ring_empty(r));
    memtls_ring_free(r);
}

/* MEMTLS_SEED replays a run (0 is not a valid xorshift state). */
static uint64_t seed_from_env(uint64_t dflt)
{
    uint64_t s = test_env_u64("MEMTLS_SEED", dflt);
    return s == 0 ? 1 : s;
}

/* Model of what the ring holds: at most one message per 16 bytes. */
#define MODEL_SLOTS (2u * CAP / MEMTLS_RING_HEADER)

typedef struct model {
    size_t cap;
    uint64_t head;
    uint64_t tail;
    unsigned next_write;
    unsigned next_read;
    size_t lens[MODEL_SLOTS];
    uint64_t ends[MODEL_SLOTS];
    size_t count; /* messages in the ring */
    size_t first; /* index of the oldest in lens/ends */
    uint64_t seed;
} model;

static void model_check_msg(void *arg, const memtls_ring_msg *msg)
{
    model *m = arg;
    size_t slot = m->first % MODEL_SLOTS;
    unsigned i = m->next_read;

    if (m->count == 0 || msg->type != (i % 1000u) + 1u || msg->conn != i ||
        msg->len != m->lens[slot]) {
        print_error("seed %llu: message %u wrong (type %u conn %llu len %zu)\n",
                    (unsigned long long)m->seed, i, msg->type, (unsigned long long)msg->conn,
                    msg->len);
        fail();
    }
    expect_bytes(msg->data, msg->len, i);
    m->tail = m->ends[slot];
    m->first++;
    m->count--;
    m->next_read++;
}

/* Test: a long random mix of writes (both kinds) and reads (batch and
 * peek/pop) against a model: every refusal is predicted by the model (no
 * refusal with enough room, no write without), in-use bytes match exactly
 * after every step, every message arrives intact and in order. */
static void run_model(size_t cap, uint64_t seed, unsigned steps)
{
    memtls_ring *r = memtls_ring_new(cap);
    model *m = calloc(1, sizeof(*m));
    uint8_t *buf;
    size_t max;
    uint64_t rng = seed;
    memtls_ring_stats st;
    uint64_t refusals = 0;
    uint64_t bytes = 0;
    uint64_t hw = 0;

    assert_non_null(r);
    assert_non_null(m);
    m->cap = cap;
    m->seed = seed;
    max = memtls_ring_max_message(r);
    buf = malloc(max);
    assert_non_null(buf);

    for (unsigned step = 0; step < steps; step++) {
        uint64_t x = test_xorshift64(&rng);
        unsigned op = (unsigned)(x % 8u);

        if (op < 4) {
            /* Write: small sizes often, so that many frames are queued. */
            size_t len = (x >> 8) % ((x >> 40) % 2u ? max + 1 : 64u);
            size_t pad = padding(cap, m->head % cap, len);
            size_t need = pad + frame_size(len);
            int fits = need <= cap - (m->head - m->tail);
            unsigned i = m->next_write;
            int rc;

            fill(buf, len, i);
            if (op < 2) {
                size_t split = len == 0 ? 0 : (x >> 20) % len;
                rc = memtls_ring_try_write(r, (i % 1000u) + 1u, i, buf, split, buf + split,
                                           len - split);
            } else {
                /* Reserve (sometimes more than is then committed): the
                 * reserved length decides padding and whether it fits. */
                size_t rlen = len + (op == 3 ? 8u : 0u);
                uint8_t *p;

                if (rlen > max) {
                    /* Too big, which is not a refusal for lack of room. */
                    assert_null(memtls_ring_reserve(r, rlen));
                    continue;
                }
                pad = padding(cap, m->head % cap, rlen);
                fits = pad + frame_size(rlen) <= cap - (m->head - m->tail);
                need = pad + frame_size(len);
                rc = MEMTLS_WANT_WRITE;
                p = memtls_ring_reserve(r, rlen);
                if (p != NULL) {
                    memcpy(p, buf, len);
                    rc = memtls_ring_commit(r, (i % 1000u) + 1u, i, len);
                }
            }
            if (fits) {
                if (rc != MEMTLS_OK) {
                    print_error("seed %llu step %u: write of %zu refused with room\n",
                                (unsigned long long)seed, step, len);
                    fail();
                }
                size_t slot = (m->first + m->count) % MODEL_SLOTS;
                m->head += need;
                m->lens[slot] = len;
                m->ends[slot] = m->head;
                m->count++;
                m->next_write++;
                bytes += len;
                if (m->head - m->tail > hw) {
                    hw = m->head - m->tail;
                }
            } else {
                if (rc != MEMTLS_WANT_WRITE) {
                    print_error("seed %llu step %u: write of %zu accepted without room\n",
                                (unsigned long long)seed, step, len);
                    fail();
                }
                refusals++;
            }
        } else if (op < 7) {
            size_t batch = (size_t)((x >> 8) % 6u); /* 0 = all */
            size_t expect = batch == 0 || batch > m->count ? m->count : batch;
            assert_int_equal(memtls_ring_read(r, model_check_msg, m, batch), expect);
        } else {
            memtls_ring_msg msg;
            int present = memtls_ring_peek(r, &msg);
            assert_int_equal(present, m->count != 0);
            if (present) {
                model_check_msg(m, &msg);
                memtls_ring_pop(r);
            }
        }
        if (memtls_ring_used(r) != m->head - m->tail) {
            print_error("seed %llu step %u: used %zu, model %llu\n", (unsigned long long)seed, step,
                        memtls_ring_used(r), (unsigned long long)(m->head - m->tail));
            fail();
        }
        assert_int_equal(memtls_ring_empty(r), m->count == 0);
    }
    memtls_ring_get_stats(r, &st);
    assert_int_equal(st.messages_written, m->next_write);
    assert_int_equal(st.messages_read, m->next_read);
    assert_int_equal(st.bytes_written, bytes);
    assert_int_equal(st.refusals, refusals);
    assert_int_equal(st.high_water, hw);
    free(buf);
    free(m);
    memtls_ring_free(r);
}

static void test_model_4k(void **state)
{
    run_model(CAP, seed_from_env(0x9E3779B97F4A7C15ull), 400000);
}

static void test_model_8k(void **state)
{
    run_model(2 * CAP, seed_from_env(0xD1B54A32D192ED03ull), 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_offset_try_write),
        cmocka_unit_test(test_every_offset_reserve),
        cmocka_unit_test(test_peek_pop_across_padding),
        cmocka_unit_test(test_eight_byte_padding),
        cmocka_unit_test(test_model_4k),
        cmocka_unit_test(test_model_8k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
