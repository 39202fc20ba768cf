/*
 * memtls/pki.h - a small certificate factory for tests, demos and the
 * `memtls cert` command: self-signed or CA-issued certificates with fresh
 * keys, made in memory at run time (nothing that expires is checked in).
 *
 * Certificates are X.509 v3, SHA-256 signed, with random 128-bit serials,
 * basicConstraints (critical), keyUsage, extendedKeyUsage, subjectKeyId and
 * authorityKeyId. Not for production PKI: no CRL/OCSP, no policy.
 *
 * These functions are in their own library, libmemtls-pki (pkg-config
 * memtls-pki; it needs libcrypto only), not in libmemtls: the TLS path does
 * not carry the certificate factory.
 */
#ifndef MEMTLS_PKI_H
#define MEMTLS_PKI_H

#include <stddef.h>

#include <memtls/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A certificate and its private key as NUL-terminated PEM text. */
typedef struct memtls_pem {
    char *cert;
    size_t cert_len; /* strlen(cert) */
    char *key;       /* PKCS#8, unencrypted */
    size_t key_len;
} memtls_pem;

typedef enum memtls_key_type { MEMTLS_KEY_EC_P256 = 0, MEMTLS_KEY_RSA_2048 = 1 } memtls_key_type;

/* What a certificate is for: sets basicConstraints, keyUsage and EKU. */
typedef enum memtls_cert_usage {
    MEMTLS_CERT_CA = 0,     /* CA:TRUE, keyCertSign + cRLSign */
    MEMTLS_CERT_SERVER = 1, /* CA:FALSE, EKU serverAuth */
    MEMTLS_CERT_CLIENT = 2, /* CA:FALSE, EKU clientAuth */
    MEMTLS_CERT_BOTH = 3    /* CA:FALSE, EKU serverAuth + clientAuth */
} memtls_cert_usage;

typedef struct memtls_cert_spec {
    memtls_key_type key_type;
    memtls_cert_usage usage;
    const char *common_name; /* subject CN; required */
    /* Subject alternative names. Each is "DNS:name", "IP:addr", or a bare
     * name: an IPv4/IPv6 literal becomes an IP SAN, anything else DNS. */
    const char *const *sans;
    size_t san_count;
    /* Validity window relative to now, in seconds: notBefore = now +
     * not_before, notAfter = now + not_after. Both 0 means -3600 and
     * +30 days. An expired certificate: e.g. -7200 and -3600. */
    long not_before;
    long not_after;
} memtls_cert_spec;

/*
 * Make a key and a certificate for `spec`, signed by `issuer` (a CA made
 * by this function) or self-signed when issuer is NULL. On success fills
 * *out (free with memtls_pem_free) and returns 0. Returns
 * MEMTLS_ERR_INVALID for bad arguments (no CN, malformed SAN, issuer that
 * does not parse), MEMTLS_ERR_NOMEM, or MEMTLS_ERR_CONFIG when OpenSSL
 * fails (err, if not NULL, receives a message of up to errlen bytes).
 */
MEMTLS_API int memtls_pki_make(const memtls_cert_spec *spec, const memtls_pem *issuer,
                               memtls_pem *out, char *err, size_t errlen) MEMTLS_WUR;

/* Free the strings of *pem and zero it (the key is cleansed). NULL-safe. */
MEMTLS_API void memtls_pem_free(memtls_pem *pem);

/*
 * Write the certificate and key to files (the key with mode 0600; either
 * path may be NULL to skip it). Returns 0, MEMTLS_ERR_INVALID (pem NULL,
 * or a path given for a missing string), or MEMTLS_ERR_CONFIG with a
 * message naming the file in err.
 */
MEMTLS_API int memtls_pem_write(const memtls_pem *pem, const char *cert_path, const char *key_path,
                                char *err, size_t errlen) MEMTLS_WUR;

/*
 * SHA-256 fingerprint of the certificate's DER, as upper-case hex pairs
 * separated by colons (95 characters + NUL; `out` must hold 96 bytes).
 * Returns 0, MEMTLS_ERR_INVALID (no or unparsable certificate) or
 * MEMTLS_ERR_NOMEM.
 */
MEMTLS_API int memtls_pem_fingerprint(const memtls_pem *pem, char out[96]) MEMTLS_WUR;

#ifdef __cplusplus
}
#endif
#endif
