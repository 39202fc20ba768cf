/*
 * test_runtime_ticket_rotation.c - session tickets under concurrency:
 * four clients resume over and over through a server with two worker
 * threads while the configuration's generated keys rotate every "second"
 * of a clock that runs much faster than real time (it advances with
 * every reading), so keys are made, retired and wiped while other
 * handshakes encrypt and decrypt with them. Every connection must
 * complete and echo; many must resume; the tickets must have been made
 * with many different keys; and the records must agree with what the
 * clients saw. Run under TSan (label "threads") and ASan.
 */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config_internal.h"
#include "rt_fixture.h"
#include "tickets.h"

#define CLIENTS 4
#define CONNS 30

static atomic_uint_fast64_t g_ticks;

/* One "second" every 16 readings: the ticket callback reads the clock
 * once or twice per handshake. */
static uint64_t fast_clock(void *arg)
{
    (void)arg;
    return 1000 + atomic_fetch_add(&g_ticks, 1) / 16;
}

typedef struct job {
    uint16_t port;
    const memtls_pem *ca;
    pthread_t thread;
    int failed;
    unsigned resumed;
    unsigned char names[CONNS][16];
} job;

static int one(SSL_CTX *ctx, uint16_t port, SSL_SESSION **sess, int *resumed,
               unsigned char name[16])
{
    int fd = rc_tcp_connect(port);
    if (fd < 0) {
        return -1;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    if (*sess != NULL) {
        SSL_set_session(ssl, *sess);
    }
    char c = 'r';
    size_t n = 0;
    int ok = SSL_connect(ssl) == 1 && SSL_write_ex(ssl, &c, 1, &n) == 1 &&
             SSL_read_ex(ssl, &c, 1, &n) == 1 && c == 'r';
    if (ok) {
        *resumed = SSL_session_reused(ssl);
        if (SSL_shutdown(ssl) == 0) {
            while (SSL_read_ex(ssl, &c, 1, &n) == 1) {
            }
        }
        SSL_SESSION_free(*sess);
        *sess = SSL_get1_session(ssl);
        const unsigned char *t = NULL;
        size_t tlen = 0;
        SSL_SESSION_get0_ticket(*sess, &t, &tlen);
        if (tlen >= 16) {
            memcpy(name, t, 16);
        }
    } else {
        ERR_print_errors_fp(stderr);
    }
    SSL_free(ssl);
    close(fd);
    ERR_clear_error();
    return ok ? 0 : -1;
}

static void *client(void *arg)
{
    job *j = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *b = BIO_new_mem_buf(j->ca->cert, (int)j->ca->cert_len);
    X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_SESSION *sess = NULL;
    for (int i = 0; i < CONNS; i++) {
        int resumed = 0;
        if (one(ctx, j->port, &sess, &resumed, j->names[i]) != 0) {
            print_error("client: connection %d failed\n", i);
            j->failed++;
            continue;
        }
        j->resumed += (unsigned)resumed;
    }
    SSL_SESSION_free(sess);
    SSL_CTX_free(ctx);
    return NULL;
}

/* Test: the concurrent resumptions described above. */
static void test_rotation_under_load(void **state)
{
    rt_fixture *f = *state;
    memtls_config *cfg = f->opts.tls;
    assert_int_equal(memtls_config_set_ticket_lifetime(cfg, 3), 0);
    assert_int_equal(memtls_config_set_ticket_rotation(cfg, 1), 0);
    memtls__ticket_ring *ring = memtls__config_ticket_ring(cfg);
    assert_non_null(ring);
    memtls__ticket_ring_set_clock(ring, fast_clock, NULL);
    f->opts.workers = 2;
    f->opts.io_threads = 1;
    f->opts.worker_mode = MEMTLS_WORKERS_THREADS;
    rt_start(f);

    job jobs[CLIENTS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < CLIENTS; i++) {
        jobs[i].port = f->port;
        jobs[i].ca = &f->pki.ca;
        assert_int_equal(pthread_create(&jobs[i].thread, NULL, client, &jobs[i]), 0);
    }
    unsigned resumed = 0;
    int failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(jobs[i].thread, NULL);
        resumed += jobs[i].resumed;
        failed += jobs[i].failed;
    }
    rt_finish(f, CLIENTS * CONNS);
    assert_int_equal(failed, 0);
    /* Keys changed many times, and tickets made with a key that then
     * retired still resumed (a resumption needs the key of the previous
     * connection's ticket, which was often not the newest). */
    unsigned distinct = 0;
    for (int i = 0; i < CLIENTS; i++) {
        for (int k = 0; k < CONNS; k++) {
            int seen = 0;
            for (int a = 0; a <= i && !seen; a++) {
                for (int b = 0; b < (a == i ? k : CONNS) && !seen; b++) {
                    seen = memcmp(jobs[a].names[b], jobs[i].names[k], 16) == 0;
                }
            }
            distinct += !seen;
        }
    }
    print_message("%u of %u connections resumed; tickets made with %u keys\n", resumed,
                  CLIENTS * CONNS, distinct);
    assert_true(distinct >= 5);
    assert_true(resumed >= CLIENTS * CONNS / 4);
    size_t records_resumed = 0;
    for (size_t i = 0; i < CLIENTS * CONNS && i < 64; i++) {
        records_resumed += (size_t)f->log.resumed[i];
    }
    assert_true(records_resumed > 0);
    assert_int_equal(f->log.clean, CLIENTS * CONNS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_rotation_under_load, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
