/*
 * test_ring_stress.c - one producer thread and one consumer thread push
 * millions of messages of pseudo-random sizes (0 .. max_message) through a
 * ring; every message carries its sequence number (as the connection id)
 * and a checksum of its payload (as the type), and the consumer checks
 * order, length and checksum of each.
 *
 * Both sides mix the ways of using the ring: try_write in one or two parts
 * and reserve/commit (sometimes committing less than reserved) on the
 * producer side; batch reads of random size and peek/pop on the consumer
 * side. Neither sleeps: a side that finds the ring full or empty yields.
 *
 * Environment: MEMTLS_SEED (the PRNG seed, printed on failure) and
 * MEMTLS_RING_MESSAGES (messages per run; default 2 million, or 300
 * thousand in sanitizer builds).
 */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <memtls/ring.h>

#ifdef MEMTLS_SANITIZED
#define DEFAULT_MESSAGES 300000ull
#else
#define DEFAULT_MESSAGES 2000000ull
#endif

#define DEFAULT_SEED 0x5EEDF00DCAFEBABEull

/* Turns any value (seed, seed ^ sequence number) into a nonzero xorshift
 * state. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x == 0 ? 1 : x;
}

/* The payload of message `seq`: a PRNG stream of its own. */
static void make_payload(uint8_t *p, size_t len, uint64_t seed, uint64_t seq)
{
    uint64_t s = splitmix64(seed ^ (seq * 0xD6E8FEB86659FD93ull));
    size_t k = 0;

    for (; k + 8 <= len; k += 8) {
        uint64_t w = test_xorshift64(&s);
        memcpy(p + k, &w, 8);
    }
    if (k < len) {
        uint64_t w = test_xorshift64(&s);
        memcpy(p + k, &w, len - k);
    }
}

/* Checksum of a payload, as carried in the type field (never 0). */
static uint32_t checksum(const uint8_t *p, size_t len)
{
    uint64_t h = 0xCBF29CE484222325ull ^ len;
    size_t k = 0;

    for (; k + 8 <= len; k += 8) {
        uint64_t w;
        memcpy(&w, p + k, 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    if (k < len) {
        uint64_t w = 0;
        memcpy(&w, p + k, len - k);
        h = (h ^ w) * 0x100000001B3ull;
    }
    h ^= h >> 32;
    return (uint32_t)h | 0x80000000u;
}

typedef struct run {
    memtls_ring *ring;
    uint64_t seed;
    uint64_t count;
    size_t max;
    atomic_bool abort;
    /* Results, each written by one thread and read after the join. */
    uint64_t bytes_produced;
    uint64_t received;
    uint64_t bytes_received;
    char producer_error[256];
    char consumer_error[256];
} run;

/* The length of each message, drawn from a stream both sides replay. */
static size_t next_len(uint64_t *s, size_t max)
{
    return (size_t)(test_xorshift64(s) % (max + 1));
}

static void *producer(void *arg)
{
    run *t = arg;
    uint64_t len_rng = splitmix64(t->seed);
    uint64_t mode_rng = splitmix64(t->seed + 1);
    uint8_t *buf = malloc(t->max);

    if (buf == NULL) {
        snprintf(t->producer_error, sizeof(t->producer_error), "out of memory");
        atomic_store(&t->abort, true);
        return NULL;
    }
    for (uint64_t seq = 0; seq < t->count; seq++) {
        size_t len = next_len(&len_rng, t->max);
        uint64_t mode = test_xorshift64(&mode_rng);
        int rc;

        if (mode % 4u != 0) {
            /* try_write, with the payload split at a random point. */
            size_t split = len == 0 ? 0 : (size_t)((mode >> 8) % (len + 1));
            make_payload(buf, len, t->seed, seq);
            uint32_t sum = checksum(buf, len);
            while ((rc = memtls_ring_try_write(t->ring, sum, seq, buf, split, buf + split,
                                               len - split)) == MEMTLS_WANT_WRITE) {
                if (atomic_load_explicit(&t->abort, memory_order_relaxed)) {
                    goto out;
                }
                sched_yield();
            }
        } else {
            /* reserve, sometimes more than is then committed. */
            size_t extra = (mode >> 8) % 2u ? (size_t)((mode >> 16) % (t->max - len + 1)) : 0;
            uint8_t *p;
            while ((p = memtls_ring_reserve(t->ring, len + extra)) == NULL) {
                if (atomic_load_explicit(&t->abort, memory_order_relaxed)) {
                    goto out;
                }
                sched_yield();
            }
            make_payload(p, len, t->seed, seq);
            rc = memtls_ring_commit(t->ring, checksum(p, len), seq, len);
        }
        if (rc != MEMTLS_OK) {
            snprintf(t->producer_error, sizeof(t->producer_error),
                     "message %llu (len %zu): write returned %d", (unsigned long long)seq, len, rc);
            atomic_store(&t->abort, true);
            goto out;
        }
        t->bytes_produced += len;
    }
out:
    free(buf);
    return NULL;
}

typedef struct consumer_state {
    run *t;
    uint64_t len_rng;
    bool failed;
} consumer_state;

static void consume(void *arg, const memtls_ring_msg *msg)
{
    consumer_state *c = arg;
    run *t = c->t;
    uint64_t seq = t->received;
    size_t len;

    if (c->failed) {
        return; /* the rest of the batch is no longer checked */
    }
    len = next_len(&c->len_rng, t->max);
    if (msg->conn != seq || msg->len != len || msg->type != checksum(msg->data, msg->len)) {
        snprintf(t->consumer_error, sizeof(t->consumer_error),
                 "message %llu: got seq %llu len %zu type %08x (payload checksum %08x), "
                 "expected len %zu",
                 (unsigned long long)seq, (unsigned long long)msg->conn, msg->len,
                 (unsigned)msg->type, (unsigned)checksum(msg->data, msg->len), len);
        c->failed = true;
        atomic_store(&t->abort, true);
        return;
    }
    t->received++;
    t->bytes_received += len;
}

static void *consumer(void *arg)
{
    run *t = arg;
    consumer_state c = {t, splitmix64(t->seed), false};
    uint64_t mode_rng = splitmix64(t->seed + 2);

    while (t->received < t->count && !c.failed) {
        uint64_t mode = test_xorshift64(&mode_rng);
        size_t n;

        if (mode % 8u != 0) {
            n = memtls_ring_read(t->ring, consume, &c, (size_t)((mode >> 8) % 17u));
        } else {
            memtls_ring_msg msg;
            n = (size_t)memtls_ring_peek(t->ring, &msg);
            if (n != 0) {
                consume(&c, &msg);
                memtls_ring_pop(t->ring);
            }
        }
        if (n == 0) {
            if (atomic_load_explicit(&t->abort, memory_order_relaxed)) {
                break;
            }
            sched_yield();
        }
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stress(size_t capacity, uint64_t count)
{
    run *t = calloc(1, sizeof(*t));
    pthread_t prod;
    pthread_t cons;
    memtls_ring_stats st;
    double start;
    double secs;

    assert_non_null(t);
    t->ring = memtls_ring_new(capacity);
    assert_non_null(t->ring);
    t->seed = test_env_u64("MEMTLS_SEED", DEFAULT_SEED);
    t->count = count;
    t->max = memtls_ring_max_message(t->ring);
    atomic_init(&t->abort, false);

    start = now();
    assert_int_equal(pthread_create(&cons, NULL, consumer, t), 0);
    assert_int_equal(pthread_create(&prod, NULL, producer, t), 0);
    assert_int_equal(pthread_join(prod, NULL), 0);
    assert_int_equal(pthread_join(cons, NULL), 0);
    secs = now() - start;

    if (t->producer_error[0] != '\0' || t->consumer_error[0] != '\0' || t->received != count) {
        print_error("ring stress FAILED: capacity %zu, MEMTLS_SEED=0x%llx, %llu of %llu "
                    "messages received\n  producer: %s\n  consumer: %s\n",
                    capacity, (unsigned long long)t->seed, (unsigned long long)t->received,
                    (unsigned long long)count, t->producer_error, t->consumer_error);
        fail();
    }
    memtls_ring_get_stats(t->ring, &st);
    if (st.messages_written != count || st.messages_read != count ||
        st.bytes_written != t->bytes_produced || t->bytes_received != t->bytes_produced ||
        st.high_water > capacity || !memtls_ring_empty(t->ring)) {
        print_error("ring stress FAILED: capacity %zu, MEMTLS_SEED=0x%llx: counters "
                    "written %llu read %llu bytes %llu/%llu/%llu high water %zu\n",
                    capacity, (unsigned long long)t->seed, (unsigned long long)st.messages_written,
                    (unsigned long long)st.messages_read, (unsigned long long)st.bytes_written,
                    (unsigned long long)t->bytes_produced, (unsigned long long)t->bytes_received,
                    st.high_water);
        fail();
    }
    printf("# ring %zu B: %llu messages, %.1f MB in %.2f s: %.0f msg/s, %.1f MB/s; "
           "%llu refusals, high water %zu (MEMTLS_SEED=0x%llx)\n",
           capacity, (unsigned long long)count, (double)t->bytes_produced / 1e6, secs,
           (double)count / secs, (double)t->bytes_produced / 1e6 / secs,
           (unsigned long long)st.refusals, st.high_water, (unsigned long long)t->seed);
    memtls_ring_free(t->ring);
    free(t);
}

/* Test: the smallest ring, so frames wrap (with padding) all the time. */
static void test_stress_4k(void **state)
{
    stress(4096, test_env_u64("MEMTLS_RING_MESSAGES", DEFAULT_MESSAGES));
}

/* Test: a larger ring, deeper batches and 16 KiB payloads, fewer messages
 * for about the same volume of bytes. */
static void test_stress_64k(void **state)
{
    uint64_t n = test_env_u64("MEMTLS_RING_MESSAGES", DEFAULT_MESSAGES) / 16u;
    stress(65536, n == 0 ? 1 : n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_4k),
        cmocka_unit_test(test_stress_64k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
