/*
 * bench_tls.h - the TLS setup every benchmark shares: one self-signed
 * ECDSA P-256 certificate (CN localhost, one SAN) made at run time, a
 * server configuration serving it and a TLS 1.3 client configuration
 * trusting it. Header-only: each bench source file is its own program.
 */
#ifndef MEMTLS_BENCH_TLS_H
#define MEMTLS_BENCH_TLS_H

#include <stdio.h>
#include <stdlib.h>

#include <memtls/config.h>
#include <memtls/pki.h>

/* Fills *scfg and *ccfg (free both with memtls_config_free); on failure
 * prints "<prog>: <reason>" and exits 1. */
static inline void bench_tls_configs(const char *prog, const char *san, memtls_config **scfg,
                                     memtls_config **ccfg)
{
    const char *sans[] = {san};
    memtls_cert_spec spec = {.key_type = MEMTLS_KEY_EC_P256,
                             .usage = MEMTLS_CERT_SERVER,
                             .common_name = "localhost",
                             .sans = sans,
                             .san_count = 1};
    memtls_pem pem = {0};
    char err[256];
    if (memtls_pki_make(&spec, NULL, &pem, err, sizeof err) != 0) {
        fprintf(stderr, "%s: certificate: %s\n", prog, err);
        exit(1);
    }
    *scfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    *ccfg = memtls_config_new(MEMTLS_ROLE_CLIENT);
    int ok =
        *scfg != NULL && *ccfg != NULL &&
        memtls_config_load_cert_pem(*scfg, pem.cert, pem.cert_len, pem.key, pem.key_len) == 0 &&
        memtls_config_load_ca_pem(*ccfg, pem.cert, pem.cert_len) == 0 &&
        memtls_config_set_min_version(*ccfg, MEMTLS_TLS1_3) == 0;
    memtls_pem_free(&pem);
    if (!ok) {
        fprintf(stderr, "%s: configuration failed\n", prog);
        exit(1);
    }
}

#endif
