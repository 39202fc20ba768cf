/*
 * ring_bench.c - raw throughput of one ring between two threads: the
 * producer writes fixed-size messages as fast as the ring takes them, the
 * consumer drains them in batches, both yield when full / empty. Payloads
 * are neither generated nor checked (tests/test_ring_stress.c does that),
 * so this measures the ring itself: framing, copies and the two threads'
 * synchronisation.
 *
 * Usage: ring_bench [capacity [messages]]   (defaults: 65536, 10 million)
 * Prints one line per payload size: messages/s and MB/s of payload.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memtls/ring.h>

typedef struct bench {
    memtls_ring *ring;
    uint64_t count;
    size_t len;
    const uint8_t *payload;
    uint64_t received;
    uint64_t checksum; /* keeps the consumer from being optimised away */
} bench;

static void *produce(void *arg)
{
    bench *b = arg;

    for (uint64_t i = 0; i < b->count; i++) {
        while (memtls_ring_try_write(b->ring, 1, i, b->payload, b->len, NULL, 0) != MEMTLS_OK) {
            sched_yield();
        }
    }
    return NULL;
}

static void consume_one(void *arg, const memtls_ring_msg *msg)
{
    bench *b = arg;

    b->checksum += msg->conn + msg->len + (msg->len != 0 ? msg->data[msg->len - 1] : 0);
    b->received++;
}

static void *consume(void *arg)
{
    bench *b = arg;

    while (b->received < b->count) {
        if (memtls_ring_read(b->ring, consume_one, b, 0) == 0) {
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

/* One run; returns 0 or 1 on failure. */
static int run(size_t capacity, uint64_t count, size_t len, const uint8_t *payload)
{
    bench b = {0};
    pthread_t prod;
    pthread_t cons;
    memtls_ring_stats st;
    double start;
    double secs;
    int rc = 1;

    b.ring = memtls_ring_new(capacity);
    if (b.ring == NULL) {
        fprintf(stderr, "ring_bench: bad capacity %zu\n", capacity);
        return 1;
    }
    b.count = count;
    b.len = len;
    b.payload = payload;
    start = now();
    if (pthread_create(&cons, NULL, consume, &b) != 0) {
        goto out;
    }
    if (pthread_create(&prod, NULL, produce, &b) != 0) {
        /* The consumer waits for messages that will never come. */
        fprintf(stderr, "ring_bench: cannot start the producer\n");
        exit(1);
    }
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    secs = now() - start;
    memtls_ring_get_stats(b.ring, &st);
    printf("capacity %8zu  payload %6zu B: %10.0f msg/s %9.1f MB/s  refusals %llu "
           "(check %llx)\n",
           capacity, len, (double)count / secs, (double)count * (double)len / 1e6 / secs,
           (unsigned long long)st.refusals, (unsigned long long)b.checksum);
    rc = 0;
out:
    memtls_ring_free(b.ring);
    return rc;
}

int main(int argc, char **argv)
{
    size_t capacity = argc > 1 ? (size_t)strtoull(argv[1], NULL, 0) : 65536;
    uint64_t count = argc > 2 ? strtoull(argv[2], NULL, 0) : 10000000ull;
    static const size_t sizes[] = {0, 64, 256, 1024, 4096, 16368};
    uint8_t *payload;
    int rc = 0;

    payload = calloc(1, capacity);
    if (payload == NULL) {
        return 1;
    }
    memset(payload, 0x5A, capacity);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        if (sizes[i] > capacity / 4 - MEMTLS_RING_HEADER) {
            continue;
        }
        rc |= run(capacity, count, sizes[i], payload);
    }
    free(payload);
    return rc;
}
