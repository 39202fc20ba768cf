/*
 * test_isolate_sandbox.c - worker processes (opts.isolate) run under a
 * seccomp filter: an application callback that makes a forbidden system
 * call (here socket(2), which a worker never needs: the host owns every
 * socket) kills its worker process with SIGSYS. The host survives: it logs
 * the death, closes that worker's connections, keeps serving the other
 * worker's clients, and starts the worker again.
 */
#include "test.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_fixture.h"

/* The server's log lines (on_log runs on the host's threads). */
typedef struct lines {
    pthread_mutex_t lock;
    char text[16384];
    size_t len;
} lines;

static lines g_lines = {PTHREAD_MUTEX_INITIALIZER, "", 0};

static void on_log(void *arg, memtls_log_level level, const char *line)
{
    (void)arg;
    (void)level;
    pthread_mutex_lock(&g_lines.lock);
    size_t n = strlen(line);
    if (g_lines.len + n + 2 < sizeof g_lines.text) {
        memcpy(g_lines.text + g_lines.len, line, n);
        g_lines.len += n;
        g_lines.text[g_lines.len++] = '\n';
        g_lines.text[g_lines.len] = '\0';
    }
    pthread_mutex_unlock(&g_lines.lock);
}

static int logged(const char *needle)
{
    pthread_mutex_lock(&g_lines.lock);
    int found = strstr(g_lines.text, needle) != NULL;
    pthread_mutex_unlock(&g_lines.lock);
    return found;
}

/* Echo, except "socket" as the first bytes of a read: then the forbidden
 * call (the test-only misbehaviour). */
static size_t on_data(void *arg, memtls_server_conn *c, const uint8_t *data, size_t len)
{
    (void)arg;
    if (len >= 6 && memcmp(data, "socket", 6) == 0) {
        int fd = socket(AF_INET, SOCK_STREAM, 0); /* the filter kills us here */
        if (fd >= 0) {
            close(fd);
        }
    }
    size_t done = 0;
    if (memtls_server_conn_write(c, data, len, &done) != 0 && done == 0) {
        return 0; /* offered again after on_writable */
    }
    return done;
}

/* Read until the connection ends, cleanly or not (a dead worker's
 * connections are closed by the host: no close_notify). 0 if it ended. */
static int wait_end(rc_conn *c, unsigned timeout_ms)
{
    uint64_t deadline = rc_now_ms() + timeout_ms;
    while (rc_now_ms() < deadline) {
        char buf[4096];
        long n = rc_io_read(c, buf, sizeof buf);
        if (n < 0) {
            return 0;
        }
        if (n == 0) {
            struct pollfd p = {c->fd, POLLIN, 0};
            (void)poll(&p, 1, 10);
        }
    }
    return -1;
}

/* Poll (bounded) until worker `w` runs a process other than `old`. */
static pid_t wait_new_pid(memtls_server *srv, unsigned w, pid_t old)
{
    uint64_t deadline = rc_now_ms() + TEST_TIMEOUT_MS;
    while (rc_now_ms() < deadline) {
        pid_t pid = memtls_server_worker_pid(srv, w);
        if (pid > 0 && pid != old) {
            return pid;
        }
        usleep(10 * 1000);
    }
    return 0;
}

static void test_forbidden_syscall(void **state)
{
    rt_fixture *f = *state;
    f->opts.app = MEMTLS_APP_CUSTOM;
    f->opts.custom.on_data = on_data;
    f->opts.on_log = on_log;
    f->opts.log_level = MEMTLS_LOG_INFO;
    f->opts.io_threads = 1;
    f->opts.workers = 2;
    f->opts.isolate = 1;
    rt_start(f);
    pid_t before[2] = {memtls_server_worker_pid(f->srv, 0), memtls_server_worker_pid(f->srv, 1)};
    assert_true(before[0] > 0 && before[1] > 0 && before[0] != before[1]);

    /* Two clients: one connection per worker (the host alternates). */
    rc_conn *a = rt_connect(f, (rc_how){0});
    rc_conn *b = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(a, 1, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_echo(b, 2, 1000, TEST_TIMEOUT_MS), 0);

    assert_int_equal(rc_io_write(a, "socket", 6), 6);
    assert_int_equal(wait_end(a, TEST_TIMEOUT_MS), 0);
    /* Which worker died: the one whose process changes. */
    unsigned dead = 2;
    uint64_t deadline = rc_now_ms() + TEST_TIMEOUT_MS;
    while (dead == 2 && rc_now_ms() < deadline) {
        for (unsigned w = 0; w < 2; w++) {
            if (memtls_server_worker_pid(f->srv, w) != before[w]) {
                dead = w;
            }
        }
        usleep(10 * 1000);
    }
    assert_true(dead < 2);
    char want[96];
    snprintf(want, sizeof want, "worker %u (pid %d) killed by signal %d", dead, (int)before[dead],
             SIGSYS);
    deadline = rc_now_ms() + TEST_TIMEOUT_MS;
    while (!logged(want) && rc_now_ms() < deadline) {
        usleep(10 * 1000);
    }
    if (!logged(want)) {
        print_error("expected \"%s\" in the log:\n%s", want, g_lines.text);
    }
    assert_true(logged(want));

    /* The other worker's client goes on. */
    assert_int_equal(rc_echo(b, 3, 100000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(memtls_server_worker_pid(f->srv, 1 - dead), before[1 - dead]);

    /* The dead worker is started again, and new clients are served. */
    assert_true(wait_new_pid(f->srv, dead, before[dead]) > 0);
    for (int i = 0; i < 2; i++) {
        rc_conn *c = rt_connect(f, (rc_how){0});
        assert_int_equal(rc_echo(c, 10 + (uint64_t)i, 1000, TEST_TIMEOUT_MS), 0);
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        rc_free(c);
    }
    assert_int_equal(rc_close(b, TEST_TIMEOUT_MS), 0);
    rc_free(b);
    rc_free(a);
    rt_finish(f, 4); /* a's record comes from the host */
    assert_true(rc_log_has(&f->log, "killed by signal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_forbidden_syscall, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
