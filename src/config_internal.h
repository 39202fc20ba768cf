/*
 * config_internal.h - what the TLS contexts (tls.c) need of a
 * configuration beyond include/memtls/config.h.
 */
#ifndef MEMTLS_CONFIG_INTERNAL_H
#define MEMTLS_CONFIG_INTERNAL_H

#include <openssl/ssl.h>

#include <memtls/config.h>

/* Freeze the configuration (its setters fail from now on) and return its
 * SSL_CTX for a new SSL. */
SSL_CTX *memtls__config_freeze(memtls_config *cfg);

/* The verification mode set with memtls_config_set_verify. */
memtls_verify memtls__config_verify(const memtls_config *cfg);

/* Which pair (load order) has `leaf` as its certificate, or -1. */
int memtls__config_cert_index(const memtls_config *cfg, const X509 *leaf);

/* The subject (RFC 2253) of pair `index`, "" when there is none. */
const char *memtls__config_cert_subject(const memtls_config *cfg, int index);

/* A server configuration's ticket keys (made now when they do not exist
 * yet), NULL for a client configuration or without memory. For tests,
 * which give it their own clock (tickets.h). */
struct memtls__ticket_ring *memtls__config_ticket_ring(memtls_config *cfg);

#endif
