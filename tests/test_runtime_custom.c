/*
 * test_runtime_custom.c - a custom application (MEMTLS_APP_CUSTOM): an
 * uppercase echo that greets each client with a greeting far larger than
 * its output queue (so memtls_server_conn_write says MEMTLS_WANT_WRITE and the
 * rest goes out from on_writable), holds input back while the greeting is
 * pending (on_data consuming 0, memtls_server_conn_resume), and, when the
 * client half-closes, still writes a trailer before it closes with
 * memtls_server_conn_close(). A client refused by on_open is closed; every
 * connection gets exactly one on_close.
 */
#include "test.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rt_fixture.h"

#define GREET_SEED 90u
#define GREET_BYTES (1024u * 1024)
#define ECHO_SEED 91u
#define ECHO_BYTES (2u * 1024 * 1024)
static const char TRAILER[] = "BYE.";

typedef struct app_counts {
    atomic_int opens;
    atomic_int closes;
    atomic_int writables;
    atomic_int would_block;
    atomic_int peer_closes;
    atomic_int held_back; /* on_data calls that consumed nothing */
    atomic_int bad;       /* something a callback saw was wrong */
    atomic_int reject_next;
    char last_reason[128]; /* written by on_close, read after the stop */
} app_counts;

/* Per connection (memtls_server_conn_set_data). */
typedef struct conn_state {
    size_t greet_off;
    int input_seen; /* the greeting pauses half-way until input arrived */
    size_t trailer_off;
    int peer_closed;
    int close_called;
} conn_state;

static uint8_t up(uint8_t b)
{
    return b >= 'a' && b <= 'z' ? (uint8_t)(b - 'a' + 'A') : b;
}

/* Write more of the greeting; 1 when all of it is queued. The second half
 * waits for the client's first bytes, so on_data always sees input while
 * the greeting is unfinished (the held-back path), whatever the timing. */
static int greet(app_counts *a, memtls_server_conn *c, conn_state *cs)
{
    uint8_t buf[8192];
    while (cs->greet_off < GREET_BYTES) {
        size_t end = cs->input_seen ? GREET_BYTES : GREET_BYTES / 2;
        if (cs->greet_off >= end) {
            return 0; /* on_data continues it */
        }
        size_t n = end - cs->greet_off < sizeof buf ? end - cs->greet_off : sizeof buf;
        for (size_t k = 0; k < n; k++) {
            buf[k] = rc_byte(GREET_SEED, cs->greet_off + k);
        }
        size_t acc = 0;
        int rc = memtls_server_conn_write(c, buf, n, &acc);
        if (rc == MEMTLS_WANT_WRITE) {
            atomic_fetch_add(&a->would_block, 1);
            return 0; /* on_writable follows */
        }
        if (rc != 0 || acc == 0 || acc > n) {
            atomic_fetch_add(&a->bad, 1);
            return 0;
        }
        cs->greet_off += acc;
    }
    return 1;
}

/* After the client's close: the trailer, then our close. */
static void finish(app_counts *a, memtls_server_conn *c, conn_state *cs)
{
    if (!cs->peer_closed || cs->close_called || cs->greet_off < GREET_BYTES) {
        return;
    }
    while (cs->trailer_off < sizeof TRAILER - 1) {
        size_t acc = 0;
        int rc = memtls_server_conn_write(c, TRAILER + cs->trailer_off,
                                          sizeof TRAILER - 1 - cs->trailer_off, &acc);
        if (rc == MEMTLS_WANT_WRITE) {
            return;
        }
        if (rc != 0) {
            atomic_fetch_add(&a->bad, 1);
            return;
        }
        cs->trailer_off += acc;
    }
    cs->close_called = 1;
    if (memtls_server_conn_close(c) != 0) {
        atomic_fetch_add(&a->bad, 1);
    }
}

static int app_open(void *arg, memtls_server_conn *c)
{
    app_counts *a = arg;
    atomic_fetch_add(&a->opens, 1);
    memtls_ctx *ctx = memtls_server_conn_ctx(c);
    if (memtls_server_conn_id(c) == 0 || ctx == NULL ||
        strcmp(memtls_ctx_protocol(ctx), "TLSv1.3") != 0 ||
        memtls_server_conn_get_data(c) != NULL) {
        atomic_fetch_add(&a->bad, 1);
    }
    if (atomic_exchange(&a->reject_next, 0)) {
        return 1;
    }
    conn_state *cs = calloc(1, sizeof *cs);
    if (cs == NULL) {
        return 1;
    }
    memtls_server_conn_set_data(c, cs);
    greet(a, c, cs);
    return 0;
}

static size_t app_data(void *arg, memtls_server_conn *c, const uint8_t *data, size_t len)
{
    app_counts *a = arg;
    conn_state *cs = memtls_server_conn_get_data(c);
    if (cs == NULL) {
        atomic_fetch_add(&a->bad, 1);
        return len;
    }
    if (cs->greet_off < GREET_BYTES) {
        /* The greeting goes first: keep the input for later (offered
         * again by memtls_server_conn_resume once the greeting is out). */
        atomic_fetch_add(&a->held_back, 1);
        cs->input_seen = 1;
        if (!greet(a, c, cs)) {
            return 0;
        }
    }
    uint8_t buf[16384];
    size_t n = len < sizeof buf ? len : sizeof buf;
    for (size_t k = 0; k < n; k++) {
        buf[k] = up(data[k]);
    }
    size_t acc = 0;
    int rc = memtls_server_conn_write(c, buf, n, &acc);
    if (rc == MEMTLS_WANT_WRITE) {
        atomic_fetch_add(&a->would_block, 1);
        return 0;
    }
    if (rc != 0) {
        atomic_fetch_add(&a->bad, 1);
        return len;
    }
    return acc;
}

static void app_writable(void *arg, memtls_server_conn *c)
{
    app_counts *a = arg;
    conn_state *cs = memtls_server_conn_get_data(c);
    atomic_fetch_add(&a->writables, 1);
    if (cs != NULL && greet(a, c, cs)) {
        finish(a, c, cs);
        if (memtls_server_conn_resume(c) != 0) {
            atomic_fetch_add(&a->bad, 1);
        }
    }
}

static void app_peer_close(void *arg, memtls_server_conn *c)
{
    app_counts *a = arg;
    conn_state *cs = memtls_server_conn_get_data(c);
    atomic_fetch_add(&a->peer_closes, 1);
    if (cs != NULL) {
        cs->peer_closed = 1;
        finish(a, c, cs);
    }
}

static void app_close(void *arg, memtls_server_conn *c, const char *reason)
{
    app_counts *a = arg;
    atomic_fetch_add(&a->closes, 1);
    snprintf(a->last_reason, sizeof a->last_reason, "%s", reason);
    free(memtls_server_conn_get_data(c));
    memtls_server_conn_set_data(c, NULL);
}

/* Stream ECHO_BYTES of the sequence and read them back uppercased. */
static int upper_echo(rc_conn *c)
{
    uint8_t out[16384], in[16384];
    size_t sent = 0, got = 0, pending = 0;
    while (got < ECHO_BYTES) {
        short ev = POLLIN;
        if (sent < ECHO_BYTES) {
            if (pending == 0) {
                pending = ECHO_BYTES - sent < sizeof out ? ECHO_BYTES - sent : sizeof out;
                for (size_t k = 0; k < pending; k++) {
                    out[k] = rc_byte(ECHO_SEED, sent + k);
                }
            }
            long w = rc_io_write(c, out, pending);
            if (w < 0) {
                return -1;
            }
            if (w > 0) {
                memmove(out, out + w, pending - (size_t)w);
                pending -= (size_t)w;
                sent += (size_t)w;
            } else {
                ev |= POLLOUT;
            }
        }
        long r = rc_io_read(c, in, sizeof in);
        if (r < 0) {
            print_error("upper_echo: closed after %zu bytes\n", got);
            return -1;
        }
        for (long k = 0; k < r; k++) {
            if (in[k] != up(rc_byte(ECHO_SEED, got + (size_t)k))) {
                print_error("upper_echo: byte %zu differs\n", got + (size_t)k);
                return -1;
            }
        }
        got += (size_t)r;
        if (r == 0) {
            struct pollfd p = {c->fd, ev, 0};
            if (poll(&p, 1, (int)TEST_TIMEOUT_MS) <= 0) {
                print_error("upper_echo: timeout, sent %zu got %zu\n", sent, got);
                return -1;
            }
        }
    }
    return 0;
}

/* Test: greeting under backpressure, uppercase echo, half-close trailer,
 * and a connection refused by on_open. */
static void test_custom_app(void **state)
{
    rt_fixture *f = *state;
    if (rt_isolated()) {
        /* The callbacks count in this process's memory; with worker
         * processes they run in the workers (test_isolate_* cover that). */
        skip();
    }
    app_counts a;
    memset(&a, 0, sizeof a);
    f->opts.app = MEMTLS_APP_CUSTOM;
    f->opts.custom.arg = &a;
    f->opts.custom.on_open = app_open;
    f->opts.custom.on_data = app_data;
    f->opts.custom.on_writable = app_writable;
    f->opts.custom.on_peer_close = app_peer_close;
    f->opts.custom.on_close = app_close;
    f->opts.ring_capacity = 4096;
    f->opts.write_window = 16 * 1024;
    f->opts.session_limits.plaintext_out = 32 * 1024;
    f->opts.session_limits.ciphertext_out = 32 * 1024;
    rt_start(f);

    rc_conn *c = rt_connect(f, (rc_how){0});
    /* Sent before the greeting was read: held back by on_data, then
     * uppercased once the greeting is out. */
    assert_true(rc_io_write(c, "early", 5) == 5);
    assert_int_equal(rc_read_expect(c, GREET_SEED, GREET_BYTES, 20000), 0);
    assert_int_equal(rc_read_bytes(c, "EARLY", 5, TEST_TIMEOUT_MS), 0);
    assert_int_equal(upper_echo(c), 0);
    /* Half close: the application still writes its trailer, then closes. */
    assert_int_equal(rc_shutdown_write(c, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_read_bytes(c, TRAILER, sizeof TRAILER - 1, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    assert_int_equal(rc_log_wait(&f->log, 1, TEST_TIMEOUT_MS), 0);

    /* Refused by on_open: closed at once, on_close still called. */
    atomic_store(&a.reject_next, 1);
    c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);

    rt_finish(f, 2);
    assert_int_equal(f->log.clean, 2);
    assert_true(rc_log_has(&f->log, "closed by the application"));
    assert_int_equal(atomic_load(&a.opens), 2);
    assert_int_equal(atomic_load(&a.closes), 2);
    assert_int_equal(atomic_load(&a.peer_closes), 1);
    assert_int_equal(atomic_load(&a.bad), 0);
    assert_true(atomic_load(&a.would_block) >= 1);
    assert_true(atomic_load(&a.writables) >= 1);
    assert_true(atomic_load(&a.held_back) >= 1);
    assert_string_equal(a.last_reason, "closed by the application");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_custom_app, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
