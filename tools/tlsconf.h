/*
 * tlsconf.h - build a memtls_config from the TLS options that `serve` and
 * `connect` share (--cert/--key/--ca/--alpn/--min-tls/--ciphers/
 * --ciphersuites/--groups), with error text that names the option and the file.
 */
#ifndef MEMTLS_TOOL_TLSCONF_H
#define MEMTLS_TOOL_TLSCONF_H

#include <stddef.h>

#include <memtls/config.h>

#include "args.h"

typedef struct tlsconf_opts {
    const char *cert; /* PEM chain file, or NULL */
    const char *key;  /* PEM key file, or NULL (required with cert) */
    const char *ca;   /* PEM CA bundle, or NULL */
    int system_ca;    /* client: trust the system store when ca is NULL */
    /* In-memory certificate and key, used when cert is NULL (the
     * ephemeral certificate of `serve`). */
    const char *cert_pem;
    const char *key_pem;
    memtls_verify verify;
    const strvec *alpn; /* may be NULL or empty */
    int min_version;    /* 0 (default), 0x0303 or 0x0304 */
    int max_version;    /* 0 (default), 0x0303 or 0x0304 */
    const char *ciphers;
    const char *ciphersuites;
    const char *groups; /* NULL: the library's default */
} tlsconf_opts;

/*
 * A new configuration for `role` from `o`, reading each file once. Returns
 * 0 with *out set (the caller frees it) and, when fp is not NULL, the
 * SHA-256 fingerprint (AA:BB:...) of the --cert file's certificate in fp
 * ("" without --cert); or TOOL_EXIT_FAIL with one line in err ("--cert
 * /x.pem: cannot open: No such file or directory").
 */
int tlsconf_build(memtls_role role, const tlsconf_opts *o, memtls_config **out, char fp[96],
                  char *err, size_t errlen) TOOL_WUR;

#endif
