/*
 * runtime_client.h - helpers for the runtime tests: a test PKI and server
 * configuration, a server started on 127.0.0.1:0, a record collector, and
 * a client (OpenSSL over a non-blocking socket, or plain TCP) that streams
 * a deterministic byte sequence and checks what comes back.
 *
 * Failures are reported with print_error and a non-zero status, never by
 * aborting a thread, so client threads can run them; the test thread
 * asserts on the result.
 */
#ifndef MEMTLS_TEST_RUNTIME_CLIENT_H
#define MEMTLS_TEST_RUNTIME_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <memtls/pki.h>
#include <memtls/server.h>

#include "test.h"

/* A CA, a server certificate (CN localhost, SAN IP:127.0.0.1) and a client
 * certificate (CN client.test, SAN DNS:client.test), made once. */
typedef struct rc_pki {
    memtls_pem ca;
    memtls_pem server;
    memtls_pem client;
} rc_pki;

void rc_pki_make(rc_pki *p);
void rc_pki_free(rc_pki *p);

/* A server configuration with the server certificate; verify mode as
 * given (MEMTLS_VERIFY_NONE normally). */
memtls_config *rc_server_config(const rc_pki *p, memtls_verify verify);

/* Collects memtls_conn_record reasons and peers (thread-safe). */
typedef struct rc_log {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* signalled on every record */
    size_t count;
    size_t clean;
    char reasons[64][128];
    char peers[64][64];
    int resumed[64];
    int cert_index[64];
    char cert_subjects[64][128];
} rc_log;

void rc_log_init(rc_log *l);
void rc_log_destroy(rc_log *l);
/* on_conn_log callback; log_arg must be an rc_log. */
void rc_log_record(void *arg, const memtls_conn_record *rec);
/* 1 if some recorded reason contains `text`. */
int rc_log_has(rc_log *l, const char *text);
size_t rc_log_count(rc_log *l);
/* 1 if some recorded peer address contains `text`. */
int rc_log_has_peer(rc_log *l, const char *text);
/* Wait (on the condition variable, up to timeout_ms) until at least
 * `count` records arrived. Returns 0 when they did. Records are emitted by
 * the worker when it releases an id, which may be after the host freed the
 * connection (and conns_open dropped): wait for both. */
int rc_log_wait(rc_log *l, size_t count, unsigned timeout_ms);
/* Print every record reason (for failure messages). */
void rc_log_dump(rc_log *l);

/* Fill opts with one listener on 127.0.0.1:0 (plaintext as given), the
 * echo application, 2 workers, and the collector (may be NULL). */
void rc_opts_default(memtls_server_opts *o, memtls_listener_opts *l, int plaintext,
                     memtls_config *cfg, rc_log *log);

/* Wait (polling the stats every 5 ms, up to timeout_ms) until
 * conns_open == want. Returns 0 when reached. */
int rc_wait_open(memtls_server *srv, uint64_t want, unsigned timeout_ms);

/* A client connection. */
typedef struct rc_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl; /* NULL for plaintext */
} rc_conn;

/* How a client connects. Zero fields are the defaults, so a call names
 * only what it cares about: rc_connect(&c, &(rc_how){.port = p, .ca = ca}). */
typedef struct rc_how {
    uint16_t port;          /* the server's port (rt_connect: the listener's) */
    const char *host;       /* numeric address; NULL: 127.0.0.1 (rt_connect: the listener's) */
    int plaintext;          /* plain TCP, no handshake (rt_connect: as the listener) */
    const memtls_pem *ca;   /* trust this CA; NULL: no server verification
                            * (rt_connect: the fixture's CA) */
    const memtls_pem *cert; /* present this client certificate; NULL: none */
    size_t listener;        /* rt_connect only: which listener of the fixture */
    unsigned timeout_ms;    /* for the connect and handshake; 0: TEST_TIMEOUT_MS */
    const char *sni;        /* TLS: the server name to send; NULL: none */
    const void *preamble;   /* bytes sent on the socket before the handshake
                             * (a PROXY protocol header); NULL: none */
    size_t preamble_len;
} rc_how;

/*
 * Connect (blocking), make the socket non-blocking and, for TLS, run the
 * handshake; the handshake as the client sees it must succeed (with TLS
 * 1.3 the server may still reject the client's certificate afterwards).
 * Returns 0; otherwise prints why and returns -1 (free `c` either way).
 */
int rc_connect(rc_conn *c, const rc_how *how);

/*
 * `count` clients in parallel threads, each connecting with `how`,
 * streaming `bytes + i * step` bytes of the sequence `seed + i` through an
 * echo and closing cleanly. Returns how many failed (each says why).
 */
unsigned rc_echo_clients(const rc_how *how, unsigned count, uint64_t seed, size_t bytes,
                         size_t step, unsigned timeout_ms);

/* A listening TCP socket on 127.0.0.1 with an ephemeral port (*port),
 * for test backends. Fails the test if it cannot be made. */
int rc_listen(uint16_t *port);

/* A 127.0.0.1 port nothing listens on (it was free a moment ago). */
uint16_t rc_unused_port(void);

/* Socket buffer size (SO_RCVBUF/SO_SNDBUF) for later connections; 0
 * (default) leaves the kernel's autotuning. Not thread-safe: set it
 * before starting client threads. */
void rc_set_sockbuf(int bytes);

/* Plain TCP connect only (no handshake). Returns the fd or -1. */
int rc_tcp_connect(uint16_t port);
/* Same to a numeric IPv4 or IPv6 address. Returns the fd or -1. */
int rc_tcp_connect_host(const char *host, uint16_t port);

/* One non-blocking I/O attempt on the connection: > 0 bytes moved, 0 would
 * block, -1 closed (EOF or close_notify, reads only), -2 error. */
long rc_io_write(rc_conn *c, const void *p, size_t n);
long rc_io_read(rc_conn *c, void *p, size_t n);

/* Write all `n` bytes within timeout_ms (not reading). Returns 0. */
int rc_write_all(rc_conn *c, const void *p, size_t n, unsigned timeout_ms);

/* Write bytes [from, to) of the sequence of `seed` (not reading). Returns 0. */
int rc_write_seq(rc_conn *c, uint64_t seed, size_t from, size_t to, unsigned timeout_ms);

/* Read exactly `n` bytes and compare them with `want`. Returns 0. */
int rc_read_bytes(rc_conn *c, const void *want, size_t n, unsigned timeout_ms);

/* On a raw socket: read until EOF, counting what came before it in
 * *discarded (may be NULL). Returns 0 on a clean EOF, -1 on a reset or
 * timeout. */
int rc_fd_wait_eof(int fd, size_t *discarded, unsigned timeout_ms);

/* Half close: send close_notify (TLS) or FIN (plaintext), keep the read
 * side open. Returns 0. */
int rc_shutdown_write(rc_conn *c, unsigned timeout_ms);

/* Read until the peer's clean close (close_notify for TLS, EOF for
 * plaintext), expecting no more data. Returns 0 on a clean close, -1 on
 * data, an error or timeout. */
int rc_expect_close(rc_conn *c, unsigned timeout_ms);

/*
 * A full-duplex stream of `total` bytes of the sequence seeded by `seed`:
 * sent in chunks, read back and compared. Keeps the state of a TLS write
 * that would block, so a stalled stream can be resumed.
 */
typedef struct rc_stream {
    uint64_t seed;
    size_t total;
    size_t sent;
    size_t got;
    size_t pending; /* bytes of the current write call (0: none) */
    uint8_t *out;
    uint8_t *in;
} rc_stream;

void rc_stream_init(rc_stream *s, uint64_t seed, size_t total);
void rc_stream_free(rc_stream *s);

/* Send without reading until the socket takes nothing for stall_ms (or all
 * was sent). Returns 0, or -1 when the connection failed. */
int rc_stream_send_until_stalled(rc_conn *c, rc_stream *s, unsigned stall_ms);

/* Send the rest and read everything back, within timeout_ms. Returns 0
 * when every byte came back intact. */
int rc_stream_run(rc_conn *c, rc_stream *s, unsigned timeout_ms);

/* rc_stream_init + rc_stream_run + rc_stream_free. */
int rc_echo(rc_conn *c, uint64_t seed, size_t total, unsigned timeout_ms);

/* Read exactly `total` bytes and compare with the sequence. Returns 0. */
int rc_read_expect(rc_conn *c, uint64_t seed, size_t total, unsigned timeout_ms);

/* Send close_notify (TLS) / FIN, wait for the peer's close (EOF) up to
 * timeout_ms. Returns 0 when the peer closed cleanly (close_notify for
 * TLS, EOF for plaintext). */
int rc_close(rc_conn *c, unsigned timeout_ms);

/* Read (discarding data) until the connection fails: a TLS alert, a
 * reset. Returns 0 then; -1 on a clean close or timeout. */
int rc_wait_failure(rc_conn *c, unsigned timeout_ms);

/* Free the connection (closes the socket). */
void rc_free(rc_conn *c);

/* Milliseconds of CLOCK_MONOTONIC (for bounds on how long things took). */
uint64_t rc_now_ms(void);

/* Byte `i` of the sequence for `seed`. */
uint8_t rc_byte(uint64_t seed, uint64_t i);

#endif
