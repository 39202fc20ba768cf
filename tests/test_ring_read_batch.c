/*
 * test_ring_read_batch.c - memtls_ring_read_batch: the end callback runs
 * once per non-empty batch, after its last handler and before the batch's
 * space is released, so the data of every message of the batch is still
 * intact there (the server gathers a batch's writes into one system call
 * on that promise); never for an empty ring; a NULL callback reads like
 * memtls_ring_read.
 */
#include "test.h"

#include <string.h>

#include <memtls/ring.h>

#define CAP 4096u
#define MSG_LEN 200u

typedef struct batch {
    memtls_ring *r;
    const uint8_t *data[16]; /* each handled message's payload, as lent */
    uint8_t copy[16][MSG_LEN];
    size_t handled;
    size_t ends;
    size_t handled_at_end;
    size_t used_at_end;
    int intact_at_end;
} batch;

static void handle(void *arg, const memtls_ring_msg *msg)
{
    batch *b = arg;
    assert_true(b->handled < 16);
    assert_int_equal(msg->len, MSG_LEN);
    b->data[b->handled] = msg->data;
    memcpy(b->copy[b->handled], msg->data, MSG_LEN);
    b->handled++;
}

static void end(void *arg)
{
    batch *b = arg;
    b->ends++;
    b->handled_at_end = b->handled;
    b->used_at_end = memtls_ring_used(b->r);
    b->intact_at_end = 1;
    for (size_t i = 0; i < b->handled; i++) {
        if (memcmp(b->data[i], b->copy[i], MSG_LEN) != 0) {
            b->intact_at_end = 0;
        }
    }
}

static void put(memtls_ring *r, unsigned i)
{
    uint8_t m[MSG_LEN];
    memset(m, (int)('a' + i), sizeof m);
    assert_int_equal(memtls_ring_try_write(r, 1, i, m, sizeof m, NULL, 0), 0);
}

/* Test: end runs once, after every handler, with the batch's data intact
 * and its space not yet released; then the space is released. */
static void test_end_before_release(void **state)
{
    (void)state;
    batch b = {0};
    b.r = memtls_ring_new(CAP);
    assert_non_null(b.r);
    for (unsigned i = 0; i < 5; i++) {
        put(b.r, i);
    }
    size_t used = memtls_ring_used(b.r);
    assert_true(used >= 5 * MSG_LEN);
    assert_int_equal(memtls_ring_read_batch(b.r, handle, end, &b, 0), 5);
    assert_int_equal(b.ends, 1);
    assert_int_equal(b.handled_at_end, 5);
    assert_int_equal(b.used_at_end, used);
    assert_true(b.intact_at_end);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(b.copy[i][0], 'a' + i);
    }
    assert_int_equal(memtls_ring_used(b.r), 0);
    assert_true(memtls_ring_empty(b.r));
    memtls_ring_free(b.r);
}

/* Test: `max` bounds the batch, and each batch gets its own end. */
static void test_end_per_batch(void **state)
{
    (void)state;
    batch b = {0};
    b.r = memtls_ring_new(CAP);
    assert_non_null(b.r);
    for (unsigned i = 0; i < 5; i++) {
        put(b.r, i);
    }
    assert_int_equal(memtls_ring_read_batch(b.r, handle, end, &b, 2), 2);
    assert_int_equal(b.ends, 1);
    assert_int_equal(b.handled_at_end, 2);
    assert_int_equal(memtls_ring_read_batch(b.r, handle, end, &b, 2), 2);
    assert_int_equal(memtls_ring_read_batch(b.r, handle, end, &b, 2), 1);
    assert_int_equal(b.ends, 3);
    assert_int_equal(b.handled_at_end, 5);
    assert_true(b.intact_at_end);
    memtls_ring_free(b.r);
}

/* Test: an empty ring handles nothing and calls no end; a NULL end reads
 * like memtls_ring_read; NULL ring or handler reads nothing. */
static void test_empty_and_null(void **state)
{
    (void)state;
    batch b = {0};
    b.r = memtls_ring_new(CAP);
    assert_non_null(b.r);
    assert_int_equal(memtls_ring_read_batch(b.r, handle, end, &b, 0), 0);
    assert_int_equal(b.ends, 0);
    put(b.r, 0);
    put(b.r, 1);
    assert_int_equal(memtls_ring_read_batch(b.r, handle, NULL, &b, 0), 2);
    assert_int_equal(b.handled, 2);
    assert_true(memtls_ring_empty(b.r));
    put(b.r, 2);
    assert_int_equal(memtls_ring_read_batch(NULL, handle, end, &b, 0), 0);
    assert_int_equal(memtls_ring_read_batch(b.r, NULL, end, &b, 0), 0);
    assert_int_equal(b.ends, 0);
    assert_false(memtls_ring_empty(b.r));
    memtls_ring_free(b.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_end_before_release),
        cmocka_unit_test(test_end_per_batch),
        cmocka_unit_test(test_empty_and_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
