/* rt_fixture.c - see rt_fixture.h. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "rt_fixture.h"

static int setup(void **state, int plaintext, memtls_verify verify)
{
    rt_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    for (size_t i = 0; i < RT_MAX_CONNS; i++) {
        f->conns[i].fd = -1;
    }
    rc_pki_make(&f->pki);
    f->cfg = rc_server_config(&f->pki, verify);
    rc_log_init(&f->log);
    rc_opts_default(&f->opts, &f->listeners[0], plaintext, f->cfg, &f->log);
    return 0;
}

int rt_setup(void **state)
{
    return setup(state, 0, MEMTLS_VERIFY_NONE);
}

int rt_setup_plaintext(void **state)
{
    return setup(state, 1, MEMTLS_VERIFY_NONE);
}

int rt_setup_client_certs(void **state)
{
    return setup(state, 0, MEMTLS_VERIFY_REQUIRED);
}

int rt_teardown(void **state)
{
    rt_fixture *f = *state;
    if (f == NULL) {
        return 0;
    }
    /* Clients first: the server's stop then has nobody to wait for. */
    for (size_t i = 0; i < RT_MAX_CONNS; i++) {
        rc_free(&f->conns[i]);
    }
    memtls_server_free(f->srv);
    for (size_t i = 0; i < f->nconfigs; i++) {
        memtls_config_free(f->configs[i]);
    }
    for (size_t i = 0; i < f->nstreams; i++) {
        rc_stream_free(&f->streams[i]);
    }
    for (size_t i = 0; i < f->npems; i++) {
        memtls_pem_free(&f->pems[i]);
    }
    if (f->have_other) {
        rc_pki_free(&f->other);
    }
    memtls_config_free(f->cfg);
    rc_log_destroy(&f->log);
    rc_pki_free(&f->pki);
    free(f);
    *state = NULL;
    return 0;
}

int rt_plaintext(const rt_fixture *f)
{
    return f->listeners[0].plaintext;
}

void rt_add_listener(rt_fixture *f, const char *host, int plaintext)
{
    assert_true(f->opts.listener_count < RT_MAX_LISTENERS);
    memtls_listener_opts *l = &f->listeners[f->opts.listener_count++];
    memset(l, 0, sizeof *l);
    l->host = host;
    l->plaintext = plaintext;
}

/* Under MEMTLS_TEST_ISOLATE=1 the scenario runs with worker processes:
 * the spawner (forked from this process, so it has the configuration
 * already) hands each worker a reference through load_tls. */
static memtls_config *isolate_load(void *arg, memtls_config *previous, char *err, size_t errlen)
{
    (void)previous;
    (void)err;
    (void)errlen;
    return memtls_config_ref(arg);
}

int rt_isolated(void)
{
    const char *e = getenv("MEMTLS_TEST_ISOLATE");
    return e != NULL && strcmp(e, "1") == 0;
}

void rt_use_processes(rt_fixture *f)
{
    f->opts.isolate = 1;
    f->opts.worker_mode = MEMTLS_WORKERS_AUTO;
    if (f->opts.tls != NULL) {
        f->opts.load_tls = isolate_load;
        f->opts.load_tls_arg = f->opts.tls;
        f->opts.tls = NULL;
    }
}

void rt_start(rt_fixture *f)
{
    char err[256] = "";
    assert_null(f->srv);
    if (rt_isolated() || f->opts.isolate) {
        rt_use_processes(f);
    }
    f->srv = memtls_server_new(&f->opts, err, sizeof err);
    if (f->srv == NULL) {
        print_error("memtls_server_new: %s\n", err);
    }
    assert_non_null(f->srv);
    assert_int_equal(memtls_server_start(f->srv), MEMTLS_OK);
    f->port = memtls_server_bound_port(f->srv, 0);
    assert_true(f->port != 0);
}

uint16_t rt_port(const rt_fixture *f, size_t index)
{
    uint16_t port = memtls_server_bound_port(f->srv, index);
    assert_true(port != 0);
    return port;
}

rc_conn *rt_try_connect(rt_fixture *f, rc_how how, int *ok)
{
    assert_true(how.listener < f->opts.listener_count);
    const memtls_listener_opts *l = &f->listeners[how.listener];
    /* A free slot: never used, or its client was freed with rc_free. */
    rc_conn *c = NULL;
    for (size_t i = 0; i < RT_MAX_CONNS && c == NULL; i++) {
        if (f->conns[i].fd < 0 && f->conns[i].ssl == NULL && f->conns[i].ctx == NULL) {
            c = &f->conns[i];
        }
    }
    assert_non_null(c);
    if (how.port == 0) {
        how.port = rt_port(f, how.listener);
    }
    if (how.host == NULL) {
        how.host = l->host;
    }
    how.plaintext = l->plaintext;
    if (how.ca == NULL) {
        how.ca = &f->pki.ca;
    }
    *ok = rc_connect(c, &how) == 0;
    return c;
}

rc_conn *rt_connect(rt_fixture *f, rc_how how)
{
    int ok = 0;
    rc_conn *c = rt_try_connect(f, how, &ok);
    assert_true(ok);
    return c;
}

const memtls_pem *rt_keep_pem(rt_fixture *f, memtls_pem pem)
{
    assert_true(f->npems < RT_MAX_KEPT);
    f->pems[f->npems] = pem;
    return &f->pems[f->npems++];
}

memtls_config *rt_config(rt_fixture *f, const rc_pki *pki, memtls_verify verify)
{
    assert_true(f->nconfigs < RT_MAX_KEPT);
    f->configs[f->nconfigs] = rc_server_config(pki, verify);
    return f->configs[f->nconfigs++];
}

rc_stream *rt_stream(rt_fixture *f, uint64_t seed, size_t total)
{
    assert_true(f->nstreams < sizeof f->streams / sizeof f->streams[0]);
    rc_stream *s = &f->streams[f->nstreams++];
    rc_stream_init(s, seed, total);
    return s;
}

const rc_pki *rt_other_pki(rt_fixture *f)
{
    if (!f->have_other) {
        rc_pki_make(&f->other);
        f->have_other = 1;
    }
    return &f->other;
}

void rt_finish(rt_fixture *f, size_t records)
{
    if (records != RT_ANY_RECORDS) {
        assert_int_equal(rc_log_wait(&f->log, records, TEST_TIMEOUT_MS), 0);
    }
    assert_int_equal(rc_wait_open(f->srv, 0, TEST_TIMEOUT_MS), 0);
    assert_int_equal(memtls_server_get_stats(f->srv, &f->stats), MEMTLS_OK);
    assert_int_equal(memtls_server_stop(f->srv, 1000), MEMTLS_OK);
    rc_log_dump(&f->log);
    if (records != RT_ANY_RECORDS) {
        assert_int_equal(rc_log_count(&f->log), records);
    }
}
