/*
 * test.h - included first by every memtls test program and test helper:
 * cmocka (after the headers it needs) and the names the tests share.
 */
#ifndef MEMTLS_TEST_H
#define MEMTLS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

/*
 * How long a test waits for something that should happen at once (a
 * handshake, an echo, a close, a record in the log) before it fails:
 * generous, because the suites also run under sanitizers and valgrind on
 * a loaded machine. Longer transfers name their own bound.
 */
#define TEST_TIMEOUT_MS 10000u

/* One step of xorshift64: a small PRNG that gives the same stream on every
 * platform. The state must not be 0. */
static inline uint64_t test_xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* The number in environment variable `name` (decimal, or hex with 0x), or
 * `dflt` when it is unset or not a number (which is said). For the seeds
 * and sizes a run can be replayed with (MEMTLS_SEED=...). */
static inline uint64_t test_env_u64(const char *name, uint64_t dflt)
{
    const char *e = getenv(name);
    char *end = NULL;
    if (e == NULL || *e == '\0') {
        return dflt;
    }
    unsigned long long v = strtoull(e, &end, 0);
    if (end == NULL || *end != '\0') {
        print_error("ignoring %s=%s: not a number\n", name, e);
        return dflt;
    }
    return v;
}

/*
 * The byte-count contract: `call` returns `status` and leaves its
 * out-parameter `n` at 0. `n` is set to a non-zero value first, so a call
 * that does not touch it fails too.
 */
#define assert_status_no_bytes(status, call, n)                                                    \
    do {                                                                                           \
        (n) = 99;                                                                                  \
        assert_int_equal((call), (status));                                                        \
        assert_int_equal((n), 0);                                                                  \
    } while (0)

/* `call` succeeds (MEMTLS_OK) with exactly the bytes of the string literal
 * `want` in `buf`, their count in `n`. */
#define assert_got(call, buf, n, want)                                                             \
    do {                                                                                           \
        assert_int_equal((call), MEMTLS_OK);                                                       \
        assert_int_equal((n), sizeof(want) - 1);                                                   \
        assert_memory_equal((buf), (want), sizeof(want) - 1);                                      \
    } while (0)

#endif
