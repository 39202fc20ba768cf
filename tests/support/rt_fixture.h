/*
 * rt_fixture.h - the server fixture of the runtime tests, as cmocka setup
 * and teardown functions:
 *
 *     static void test_x(void **state)
 *     {
 *         rt_fixture *f = *state;
 *         f->opts.max_connections = 2;         // adjust the defaults
 *         rt_start(f);                          // server listening
 *         rc_conn *c = rt_connect(f, (rc_how){0});
 *         assert_int_equal(rc_echo(c, 1, 1000, TEST_TIMEOUT_MS), 0);
 *         ...
 *         rt_finish(f, 1);                      // 1 record, nothing open
 *     }
 *     ... RT_TEST(test_x, rt_setup)
 *
 * The setup makes a test PKI, a server configuration and a record
 * collector, and fills f->opts with the defaults of rc_opts_default (one
 * listener on 127.0.0.1:0, the echo application, 2 workers). The teardown
 * frees the server, every client made with rt_connect, every PEM and
 * configuration handed to the fixture, also when an assertion failed.
 */
#ifndef MEMTLS_TEST_RT_FIXTURE_H
#define MEMTLS_TEST_RT_FIXTURE_H

#include <stddef.h>

#include <memtls/server.h>

#include "runtime_client.h"

#define RT_MAX_LISTENERS 4
#define RT_MAX_CONNS 8
#define RT_MAX_KEPT 4

/* One entry of a runtime test program's table: `fn` run with the fixture
 * that `setup` (rt_setup, rt_setup_plaintext, ...) makes, reported as
 * "fn (setup)" so one scenario can run on several kinds of listener. */
#define RT_TEST(fn, setup)                                                                         \
    {                                                                                              \
#fn " (" #setup ")", fn, setup, rt_teardown, NULL                                          \
    }

/* rt_finish: do not check the number of records. */
#define RT_ANY_RECORDS ((size_t)-1)

typedef struct rt_fixture {
    rc_pki pki;         /* CA, server and client certificates */
    memtls_config *cfg; /* the server's configuration (f->opts.tls) */
    rc_log log;         /* every connection record (f->opts.log_arg) */
    memtls_listener_opts listeners[RT_MAX_LISTENERS];
    memtls_server_opts opts;   /* used by rt_start */
    memtls_server *srv;        /* after rt_start */
    uint16_t port;             /* listener 0's port, after rt_start */
    memtls_server_stats stats; /* after rt_finish: the counters before the stop */

    /* Owned by the fixture, freed by the teardown. A client slot is free
     * again once rc_free closed it. */
    rc_conn conns[RT_MAX_CONNS];
    memtls_pem pems[RT_MAX_KEPT];
    size_t npems;
    memtls_config *configs[RT_MAX_KEPT];
    size_t nconfigs;
    rc_stream streams[2]; /* rt_stream */
    size_t nstreams;
    rc_pki other; /* rt_other_pki */
    int have_other;
} rt_fixture;

/* Setups: one TLS listener; one plaintext listener; one TLS listener whose
 * server requires client certificates from the fixture's CA. */
int rt_setup(void **state);
int rt_setup_plaintext(void **state);
int rt_setup_client_certs(void **state);
int rt_teardown(void **state);

/* 1 when listener 0 is plaintext (the test runs for both kinds). */
int rt_plaintext(const rt_fixture *f);

/* Add a listener (before rt_start): `host` numeric, port 0. */
void rt_add_listener(rt_fixture *f, const char *host, int plaintext);

/* 1 when the scenarios run with worker processes (MEMTLS_TEST_ISOLATE=1):
 * rt_start then sets opts.isolate and hands opts.tls over as load_tls. */
int rt_isolated(void);

/* Worker processes for this scenario (rt_start does it when
 * f->opts.isolate is set or under MEMTLS_TEST_ISOLATE=1). */
void rt_use_processes(rt_fixture *f);

/* With worker processes the server forks in rt_start: a test starts its
 * own threads (backends...) after it, never just before (a thread being
 * born at the fork can leave a lock of the allocator held in the copy).
 *
 * Create and start the server from f->opts; fails the test with the
 * server's message. Sets f->srv and f->port. */
void rt_start(rt_fixture *f);

/* Listener `index`'s port (after rt_start). */
uint16_t rt_port(const rt_fixture *f, size_t index);

/*
 * A client of the fixture's server (see rc_how: zero fields follow the
 * listener and trust the fixture's CA). rt_connect fails the test unless
 * it connects; rt_try_connect returns the client and sets *ok instead.
 * The fixture frees the client; rc_free may also be called earlier, which
 * makes its slot free for the next client.
 */
rc_conn *rt_connect(rt_fixture *f, rc_how how);
rc_conn *rt_try_connect(rt_fixture *f, rc_how how, int *ok);

/* Keep `pem` until the teardown and return it. */
const memtls_pem *rt_keep_pem(rt_fixture *f, memtls_pem pem);

/* A server configuration for `pki` (verification as given), freed by the
 * teardown. */
memtls_config *rt_config(rt_fixture *f, const rc_pki *pki, memtls_verify verify);

/* A stream (rc_stream_init) freed by the teardown. */
rc_stream *rt_stream(rt_fixture *f, uint64_t seed, size_t total);

/* A second, unrelated PKI (another CA), made once. */
const rc_pki *rt_other_pki(rt_fixture *f);

/*
 * The end of a scenario: wait until `records` connection records arrived
 * (RT_ANY_RECORDS: do not wait) and no connection is open, keep the
 * counters in f->stats, stop the server (1 s grace), print the records,
 * and check that there are exactly `records`.
 */
void rt_finish(rt_fixture *f, size_t records);

#endif
