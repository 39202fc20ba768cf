/*
 * test_runtime_close_order.c - every order in which a connection can end
 * releases its id exactly once: the peer closes first; the worker closes
 * first (the application asks for it); both close at once; the client
 * asks for the close and vanishes without reading. For TLS and plaintext,
 * many rounds on a server capped at 2 connections (a leaked id would make
 * later connections be refused): afterwards conns_open is 0, nothing was
 * refused, and there is exactly one record per connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime_client.h"

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

static void one_round(uint16_t port, int plaintext, const rc_pki *pki, enum order order)
{
    rc_conn c;
    assert_int_equal(rc_connect(&c, port, !plaintext, pki, 0, 10000), 0);
    assert_int_equal(rc_echo(&c, 5, 100, 10000), 0);
    switch (order) {
    case PEER_FIRST:
        assert_int_equal(rc_close(&c, 10000), 0);
        break;
    case WORKER_FIRST:
        assert_true(rc_io_write(&c, "Q", 1) == 1);
        assert_int_equal(rc_expect_close(&c, 10000), 0);
        assert_int_equal(rc_shutdown_write(&c, 10000), 0);
        shutdown(c.fd, SHUT_WR);
        break;
    case BOTH_AT_ONCE:
        /* The request to close and our own close in one flight. */
        assert_true(rc_io_write(&c, "Q", 1) == 1);
        assert_int_equal(rc_shutdown_write(&c, 10000), 0);
        assert_int_equal(rc_expect_close(&c, 10000), 0);
        break;
    case VANISH:
    default:
        assert_true(rc_io_write(&c, "Q", 1) == 1);
        break; /* rc_free closes the socket at once */
    }
    rc_free(&c);
}

static void run_orders(int plaintext)
{
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, plaintext, cfg, &log);
    o.app = MEMTLS_APP_CUSTOM;
    atomic_int bad;
    atomic_init(&bad, 0);
    o.custom.arg = &bad;
    o.custom.on_data = app_data;
    o.max_connections = 2;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);

    static const char *const want[] = {"peer closed", "closed by the application", NULL, NULL};
    size_t records = 0;
    for (unsigned order = PEER_FIRST; order <= VANISH; order++) {
        for (unsigned r = 0; r < ROUNDS; r++) {
            one_round(port, plaintext, &pki, (enum order)order);
            records++;
            /* The id is released on both sides before the next round. */
            if (rc_log_wait(&log, records, 10000) != 0 || rc_wait_open(srv, 0, 10000) != 0) {
                print_error("order %u round %u (plaintext %d)\n", order, r, plaintext);
                rc_log_dump(&log);
                fail();
            }
        }
        if (want[order] != NULL) {
            assert_true(rc_log_has(&log, want[order]));
        }
    }
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    memtls_server_stop(srv, 1000);
    assert_int_equal(rc_log_count(&log), records);
    assert_int_equal(st.conns_open, 0);
    assert_int_equal(st.conns_refused, 0);
    assert_int_equal(st.conns_total, records);
    assert_int_equal(atomic_load(&bad), 0);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

/* Test: all close orders over TLS. */
static void test_close_orders_tls(void **state)
{
    (void)state;
    run_orders(0);
}

/* Test: all close orders over plaintext. */
static void test_close_orders_plaintext(void **state)
{
    (void)state;
    run_orders(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_orders_tls),
        cmocka_unit_test(test_close_orders_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
