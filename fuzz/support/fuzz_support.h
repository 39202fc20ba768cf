/*
 * fuzz_support.h - what the libFuzzer targets and the corpus generator
 * (make_corpus.c) share: deterministic randomness for OpenSSL, a fixed
 * test PKI, configurations built from it, a byte buffer, an input reader
 * and the check macro.
 *
 * Determinism matters twice. A crash must replay from its input alone,
 * and the recorded server flights in fuzz/corpus/fuzz_client_context only
 * decrypt if the client's key share (and so its ClientHello) is the same
 * byte for byte every time: fz_rand_reset() before a handshake makes every
 * random byte OpenSSL draws (client random, session id, key shares,
 * signature nonces) a function of the seed.
 */
#ifndef MEMTLS_FUZZ_SUPPORT_H
#define MEMTLS_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <memtls/config.h>
#include <memtls/context.h>

/* A violated property: print it and abort (libFuzzer saves the input). */
#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Route OpenSSL's randomness through a seeded generator (process-wide;
 * idempotent). */
void fz_rand_install(void);
/* Restart the generator's stream from `seed`. */
void fz_rand_reset(uint64_t seed);
/* Exchange the generator's state with *state: two parties of one process
 * (the corpus generator's client and server) each keep their own stream,
 * as they would in two processes. */
void fz_rand_swap(uint64_t *state);

/* The seeds the targets start from: a client context at FZ_SEED_CLIENT,
 * a server context at FZ_SEED_SERVER. */
#define FZ_SEED_CLIENT 1u
#define FZ_SEED_SERVER 2u

/* The fixed test PKI (P-256, valid 2000..2100): a CA, a server
 * certificate for localhost and 127.0.0.1, a client certificate "client". */
extern const char fz_ca_pem[];
extern const char fz_server_cert_pem[];
extern const char fz_server_key_pem[];
extern const char fz_client_cert_pem[];
extern const char fz_client_key_pem[];

/* Configuration options for fz_config. */
#define FZ_TLS12_ONLY 1u /* highest version TLS 1.2 */
#define FZ_TLS13_ONLY 2u /* lowest version TLS 1.3 */
#define FZ_MUTUAL 4u     /* server: require a client certificate; client: present one */
#define FZ_ALPN 8u       /* offer / accept "h2", "http/1.1" */

/*
 * A configuration of the fixed PKI: a server with its certificate, a client
 * that trusts the CA and verifies the peer (the caller sets the host name
 * "localhost"). Aborts on failure (a harness bug).
 */
memtls_config *fz_config(memtls_role role, unsigned opts);

/* A growable byte buffer; aborts when memory runs out. */
typedef struct fz_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} fz_buf;
void fz_buf_append(fz_buf *b, const void *data, size_t len);
void fz_buf_free(fz_buf *b);

/* Move all of ctx's outbound ciphertext into `out` (NULL: discard). */
void fz_drain(memtls_ctx *ctx, fz_buf *out);

/* Reading the fuzz input: past its end every read yields 0. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;
uint8_t fz_u8(fz_in *in);
uint16_t fz_u16(fz_in *in);

/* xorshift64*: the harnesses' own deterministic choices. */
uint64_t fz_next(uint64_t *state);

#endif
