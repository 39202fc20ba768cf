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

#endif
