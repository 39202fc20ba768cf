/*
 * tlspair.h - a client and a server context wired for the context tests:
 * a run-time test PKI (one CA, a server leaf for "localhost", a client
 * leaf; the RSA one made once per process), one configuration per side, and helpers that move application
 * data and record which handshake messages a context sent or received.
 *
 * Every helper fails the running cmocka test when something that must not
 * fail does. Nothing here touches the network or starts a thread.
 */
#ifndef MEMTLS_TEST_TLSPAIR_H
#define MEMTLS_TEST_TLSPAIR_H

#include <stddef.h>
#include <stdint.h>

#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/pki.h>

typedef struct tlspair_opts {
    memtls_key_type key_type;    /* CA and both leaves (default EC P-256) */
    int version;                 /* 0: defaults; MEMTLS_TLS1_2 / _1_3: pin both ends */
    memtls_verify server_verify; /* default NONE; otherwise the server trusts the CA */
    int client_cert;             /* 1: the client loads its leaf */
} tlspair_opts;

typedef struct tlspair {
    memtls_pem ca;
    memtls_pem server_pem; /* CN=localhost, SAN DNS:localhost */
    memtls_pem client_pem; /* CN=client, SAN DNS:client, clientAuth */
    memtls_config *scfg;   /* server: cert + key (+ CA when verifying) */
    memtls_config *ccfg;   /* client: trusts the CA, verifies (REQUIRED) */
    memtls_ctx *s;
    memtls_ctx *c;
} tlspair;

/* Make the PKI and both configurations (not yet frozen: tests may still
 * change them). Zeroed `o` (or NULL) gives the defaults. */
void tlspair_init(tlspair *p, const tlspair_opts *o);

/* Create both contexts; `hostname` (may be NULL) is set on the client. */
void tlspair_contexts(tlspair *p, const char *hostname);

/* tlspair_init + tlspair_contexts + a handshake that must succeed. */
void tlspair_connect(tlspair *p, const tlspair_opts *o, const char *hostname);

/* Drive the handshake of both contexts to completion; fails the test
 * (with both ends' errors) if it does not complete. */
void tlspair_handshake(tlspair *p);

/* Free everything (NULL members are skipped). */
void tlspair_free(tlspair *p);

/* Pin `cfg` to exactly one version (MEMTLS_TLS1_2 or MEMTLS_TLS1_3). */
void tlspair_pin_version(memtls_config *cfg, int version);

/*
 * Write `len` bytes on `from`, pump them to `to` and read them back,
 * failing the test unless exactly the same bytes arrive.
 */
void tlspair_transfer(memtls_ctx *from, memtls_ctx *to, const void *data, size_t len);

/* Deterministic pseudo-random bytes (xorshift32 from `seed`). */
void fill_pattern(uint8_t *buf, size_t len, uint32_t seed);

/* 1 if `hay` contains `needle` (case-sensitive); prints both when not. */
int text_has(const char *hay, const char *needle);

/*
 * Handshake messages seen on one context through OpenSSL's message
 * callback: counts of each handshake type written and read.
 */
typedef struct msglog {
    unsigned sent[256];
    unsigned received[256];
} msglog;

/* Start recording into `log` (zeroed first). `ctx` must be a TLS context. */
void msglog_attach(memtls_ctx *ctx, msglog *log);

#endif
