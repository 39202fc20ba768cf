/*
 * test_ring_shared.c - a ring in shared memory (memtls_ring_attach), the
 * way worker processes use it: a forked producer writes a deterministic
 * sequence of messages, the parent reads every one intact and in order
 * through its own handle on the same mapping. Each side treats the
 * other's positions as untrusted: a head the producer cannot have
 * written (more than the capacity ahead, or unaligned) makes the consumer
 * report the ring corrupt without reading; a tail past the head makes the
 * producer report it. Bad arguments are refused.
 *
 * The tests write the shared positions through the layout ring.c
 * documents: the producer's head at offset 0, the consumer's tail one
 * cache line (64 bytes) further.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <memtls/ring.h>

#define CAP 65536u
#define MESSAGES 20000u

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *shared_map(size_t len)
{
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    return m;
}

/* Message i: conn i, (i % 200) + 1 bytes of a pattern of i. */
static size_t msg_len(uint32_t i)
{
    return i % 200u + 1u;
}

static uint8_t msg_byte(uint32_t i, size_t k)
{
    return (uint8_t)(i * 31u + k * 7u);
}

typedef struct reader {
    uint32_t next;
    int bad;
} reader;

static void check_msg(void *arg, const memtls_ring_msg *m)
{
    reader *rd = arg;
    uint32_t i = rd->next++;
    if (m->type != 1 || m->conn != i || m->len != msg_len(i)) {
        rd->bad = 1;
        return;
    }
    for (size_t k = 0; k < m->len; k++) {
        if (m->data[k] != msg_byte(i, k)) {
            rd->bad = 1;
            return;
        }
    }
}

static void test_across_fork(void **state)
{
    (void)state;
    size_t len = memtls_ring_shared_size(CAP);
    assert_true(len >= CAP);
    void *mem = shared_map(len);
    memtls_ring *cons = memtls_ring_attach(mem, len, CAP, 1);
    assert_non_null(cons);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        memtls_ring_free(cons); /* the parent's handle, copied by fork */
        memtls_ring *prod = memtls_ring_attach(mem, len, CAP, 0);
        uint8_t buf[256];
        uint64_t deadline = now_ms() + 20000;
        for (uint32_t i = 0; prod != NULL && i < MESSAGES && now_ms() < deadline;) {
            for (size_t k = 0; k < msg_len(i); k++) {
                buf[k] = msg_byte(i, k);
            }
            int rc = memtls_ring_try_write(prod, 1, i, buf, msg_len(i), NULL, 0);
            if (rc == 0) {
                i++;
            } else if (rc != MEMTLS_WANT_WRITE) {
                _exit(2);
            }
        }
        int ok = prod != NULL && !memtls_ring_corrupt(prod);
        memtls_ring_free(prod); /* _exit frees nothing: no leak for valgrind */
        _exit(ok ? 0 : 1);
    }
    reader rd = {0, 0};
    uint64_t deadline = now_ms() + 20000;
    while (rd.next < MESSAGES && !rd.bad && !memtls_ring_corrupt(cons) && now_ms() < deadline) {
        (void)memtls_ring_read(cons, check_msg, &rd, 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(rd.bad, 0);
    assert_int_equal(rd.next, MESSAGES);
    assert_false(memtls_ring_corrupt(cons));
    memtls_ring_free(cons);
    munmap(mem, len);
}

static void set_pos(void *mem, size_t offset, uint64_t v)
{
    memcpy((uint8_t *)mem + offset, &v, sizeof v);
}

/* A head the producer cannot have written stops the consumer. */
static void test_bad_head(void **state)
{
    (void)state;
    size_t len = memtls_ring_shared_size(CAP);
    void *mem = shared_map(len);
    memtls_ring *prod = memtls_ring_attach(mem, len, CAP, 1);
    memtls_ring *cons = memtls_ring_attach(mem, len, CAP, 0);
    assert_non_null(prod);
    assert_non_null(cons);
    assert_int_equal(memtls_ring_try_write(prod, 1, 7, "abc", 3, NULL, 0), 0);
    reader rd = {7, 0};
    set_pos(mem, 0, (uint64_t)CAP * 3); /* far past the capacity */
    size_t n = memtls_ring_read(cons, check_msg, &rd, 0);
    assert_int_equal(n, 0);
    assert_true(memtls_ring_corrupt(cons));
    memtls_ring_free(prod);
    memtls_ring_free(cons);

    /* Unaligned, seen at attach time. */
    set_pos(mem, 0, 5);
    set_pos(mem, 64, 0);
    cons = memtls_ring_attach(mem, len, CAP, 0);
    assert_non_null(cons);
    assert_true(memtls_ring_corrupt(cons));
    memtls_ring_free(cons);
    munmap(mem, len);
}

/* A tail past the head (the consumer lying about what it read) stops
 * the producer instead of letting it overwrite unread frames. */
static void test_bad_tail(void **state)
{
    (void)state;
    size_t len = memtls_ring_shared_size(CAP);
    void *mem = shared_map(len);
    memtls_ring *prod = memtls_ring_attach(mem, len, CAP, 1);
    assert_non_null(prod);
    assert_int_equal(memtls_ring_try_write(prod, 1, 1, "x", 1, NULL, 0), 0);
    set_pos(mem, 64, (uint64_t)CAP * 8);
    static uint8_t big[CAP];
    size_t bigs = memtls_ring_max_message(prod);
    assert_true(bigs <= sizeof big);
    memset(big, 0xab, bigs);
    for (unsigned i = 0; i < CAP / bigs + 2 && !memtls_ring_corrupt(prod); i++) {
        if (memtls_ring_try_write(prod, 1, 2, big, bigs, NULL, 0) != 0) {
            break; /* refused: the corrupt flag says why */
        }
    }
    assert_true(memtls_ring_corrupt(prod));
    memtls_ring_free(prod);
    munmap(mem, len);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(memtls_ring_shared_size(1000), 0);
    size_t len = memtls_ring_shared_size(CAP);
    uint8_t *mem = shared_map(len);
    assert_null(memtls_ring_attach(NULL, len, CAP, 1));
    assert_null(memtls_ring_attach(mem, len - 1, CAP, 1));
    assert_null(memtls_ring_attach(mem, len, CAP + 1, 1));
    assert_null(memtls_ring_attach(mem + 8, len - 8, CAP, 1));
    munmap(mem, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_across_fork),
        cmocka_unit_test(test_bad_head),
        cmocka_unit_test(test_bad_tail),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
