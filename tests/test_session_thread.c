/*
 * Test: the thread rule. A session belongs to the thread that created it;
 * debug builds (NDEBUG not defined) abort when another thread calls in.
 * Run in a child process; skipped in release builds, where the check is
 * compiled out.
 */
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memtls/session.h>

static size_t sink(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    return len;
}

#ifndef NDEBUG
static void *other_thread(void *arg)
{
    /* The status is irrelevant: the call must not get that far. */
    if (memtls_session_flush(arg) == 0) {
        return arg;
    }
    return NULL;
}
#endif

/* Test: a call from another thread aborts (debug builds). */
static void test_other_thread_aborts(void **state)
{
#ifdef NDEBUG
    skip();
#else
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The expected assertion message would only confuse the log. */
        if (freopen("/dev/null", "w", stderr) == NULL) {
            _exit(3);
        }
        memtls_session_cbs cbs = {0};
        cbs.send = sink;
        memtls_session *s =
            memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT), &cbs, NULL);
        pthread_t t;
        if (s == NULL || memtls_session_start(s) != 0 ||
            pthread_create(&t, NULL, other_thread, s) != 0) {
            _exit(2);
        }
        pthread_join(t, NULL);
        _exit(0); /* not reached when the check works */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

/* Test: the owning thread is fine. */
static void test_owner_thread_ok(void **state)
{
    memtls_session_cbs cbs = {0};
    cbs.send = sink;
    memtls_session *s =
        memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT), &cbs, NULL);
    assert_non_null(s);
    assert_int_equal(memtls_session_start(s), 0);
    assert_int_equal(memtls_session_flush(s), 0);
    memtls_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_thread_aborts),
        cmocka_unit_test(test_owner_thread_ok),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
