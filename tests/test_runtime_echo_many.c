/*
 * test_runtime_echo_many.c - many concurrent TLS clients stream
 * checksummed data through host, rings and workers to the echo
 * application. The rings are 4 KiB, so most messages meet a full ring and
 * every backpressure path (host hold + uv_read_stop, worker pending_out,
 * credits) runs. Afterwards every connection is released.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "runtime_client.h"

#define CLIENTS 16
#define BYTES (512u * 1024)

typedef struct job {
    uint16_t port;
    const rc_pki *pki;
    unsigned index;
    int result;
} job;

static void *client_main(void *arg)
{
    job *j = arg;
    rc_conn c;
    j->result = -1;
    if (rc_connect(&c, j->port, 1, j->pki, 0, 20000) == 0 &&
        rc_echo(&c, 1000 + j->index, BYTES + j->index * 977u, 60000) == 0 &&
        rc_close(&c, 20000) == 0) {
        j->result = 0;
    }
    rc_free(&c);
    return NULL;
}

/* Test: 16 clients, 4 KiB rings, all data intact, all ids released. */
static void test_many_clients_small_rings(void **state)
{
    (void)state;
    rc_pki pki;
    rc_pki_make(&pki);
    memtls_config *cfg = rc_server_config(&pki, MEMTLS_VERIFY_NONE);
    rc_log log;
    rc_log_init(&log);
    memtls_server_opts o;
    memtls_listener_opts l;
    rc_opts_default(&o, &l, 0, cfg, &log);
    o.ring_capacity = 4096;
    o.write_window = 16 * 1024;
    char err[256];
    memtls_server *srv = memtls_server_new(&o, err, sizeof err);
    if (srv == NULL) {
        print_error("server: %s\n", err);
    }
    assert_non_null(srv);
    assert_int_equal(memtls_server_start(srv), 0);
    uint16_t port = memtls_server_bound_port(srv, 0);
    assert_true(port != 0);

    pthread_t th[CLIENTS];
    job jobs[CLIENTS];
    for (unsigned i = 0; i < CLIENTS; i++) {
        jobs[i] = (job){port, &pki, i, -1};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &jobs[i]), 0);
    }
    for (unsigned i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
    }
    for (unsigned i = 0; i < CLIENTS; i++) {
        if (jobs[i].result != 0) {
            print_error("client %u failed\n", i);
        }
        assert_int_equal(jobs[i].result, 0);
    }
    assert_int_equal(rc_wait_open(srv, 0, 10000), 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(srv, &st), 0);
    assert_int_equal(st.conns_total, CLIENTS);
    assert_int_equal(st.conns_refused, 0);
    assert_true(st.to_worker_high_water <= 4096);
    assert_true(st.to_host_high_water <= 4096);
    /* The small rings were full at some point: backpressure ran. */
    assert_true(st.to_worker_refusals + st.to_host_refusals > 0);
    assert_int_equal(memtls_server_stop(srv, 1000), 0);
    assert_int_equal(rc_log_count(&log), CLIENTS);
    memtls_server_free(srv);
    memtls_config_free(cfg);
    rc_log_destroy(&log);
    rc_pki_free(&pki);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_clients_small_rings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
