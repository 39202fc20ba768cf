/*
 * test_runtime_close_order.c - every order in which a connection can end
 * releases its id exactly once: the peer closes first; the worker closes
 * first (the application asks for it); both close at once; the client
 * asks for the close and vanishes without reading. For TLS and plaintext,
 * many rounds on a server capped at 2 connections (a leaked id would make
 * later connections be refused): afterwards conns_open is 0, nothing was
 * refused, and there is exactly one record per connection.
 */
#include "test.h"

#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_fixture.h"

#define ROUNDS 8u

/* Echo, except that a message of exactly one 'Q' (sent alone, after the
 * echo came back) makes the application close the connection. */
static size_t app_data(void *arg, memtls_server_conn *c, const uint8_t *data, size_t len)
{
    if (len == 1 && data[0] == 'Q') {
        if (memtls_server_conn_close(c) != 0) {
            atomic_fetch_add((atomic_int *)arg, 1); /* checked by the test */
        }
        return len;
    }
    size_t acc = 0;
    int rc = memtls_server_conn_write(c, data, len, &acc);
    return rc == 0 ? acc : 0;
}

enum order { PEER_FIRST, WORKER_FIRST, BOTH_AT_ONCE, VANISH };

static void one_round(rt_fixture *f, enum order order)
{
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(c, 5, 100, TEST_TIMEOUT_MS), 0);
    switch (order) {
    case PEER_FIRST:
        assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
        break;
    case WORKER_FIRST:
        assert_true(rc_io_write(c, "Q", 1) == 1);
        assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);
        assert_int_equal(rc_shutdown_write(c, TEST_TIMEOUT_MS), 0);
        shutdown(c->fd, SHUT_WR);
        break;
    case BOTH_AT_ONCE:
        /* The request to close and our own close in one flight. */
        assert_true(rc_io_write(c, "Q", 1) == 1);
        assert_int_equal(rc_shutdown_write(c, TEST_TIMEOUT_MS), 0);
        assert_int_equal(rc_expect_close(c, TEST_TIMEOUT_MS), 0);
        break;
    case VANISH:
    default:
        assert_true(rc_io_write(c, "Q", 1) == 1);
        break; /* rc_free closes the socket at once */
    }
    rc_free(c);
}

/* Test: all close orders, over TLS or plaintext (the setup decides). */
static void test_close_orders(void **state)
{
    rt_fixture *f = *state;
    atomic_int bad;
    atomic_init(&bad, 0);
    f->opts.app = MEMTLS_APP_CUSTOM;
    f->opts.custom.arg = &bad;
    f->opts.custom.on_data = app_data;
    f->opts.max_connections = 2;
    rt_start(f);

    static const char *const want[] = {"peer closed", "closed by the application", NULL, NULL};
    size_t records = 0;
    for (unsigned order = PEER_FIRST; order <= VANISH; order++) {
        for (unsigned r = 0; r < ROUNDS; r++) {
            one_round(f, (enum order)order);
            records++;
            /* The id is released on both sides before the next round. */
            if (rc_log_wait(&f->log, records, TEST_TIMEOUT_MS) != 0 ||
                rc_wait_open(f->srv, 0, TEST_TIMEOUT_MS) != 0) {
                print_error("order %u round %u (plaintext %d)\n", order, r, rt_plaintext(f));
                rc_log_dump(&f->log);
                fail();
            }
        }
        if (want[order] != NULL) {
            assert_true(rc_log_has(&f->log, want[order]));
        }
    }
    rt_finish(f, records);
    assert_int_equal(f->stats.conns_open, 0);
    assert_int_equal(f->stats.conns_refused, 0);
    assert_int_equal(f->stats.conns_total, records);
    assert_int_equal(atomic_load(&bad), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_close_orders, rt_setup),
        RT_TEST(test_close_orders, rt_setup_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
