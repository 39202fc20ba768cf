/*
 * certs.h - the certificate/key pairs of a server configuration and the
 * choice among them by SNI (config.c keeps the pairs and installs the
 * chosen ones; this file knows certificates and names, not
 * configurations).
 *
 * The names of a pair are its certificate's DNS subject alternative
 * names, or, only when it has none, the CNs of its subject; lower case.
 * A name "*.example.com" is a wildcard in the sense of RFC 6125 section
 * 6.4.3 as OpenSSL applies it with X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS:
 * the star is the whole leftmost label and stands for exactly one label,
 * at least two labels follow it; any other star never matches.
 *
 * The choice (memtls__certs_select): for each key type (RSA, ECDSA, ...),
 * the first pair in load order that names the SNI exactly, else the
 * first whose wildcard covers it. When nothing matches, or without SNI,
 * the default set: the first pair, and for each other key type the first
 * later pair that shares a name with it (an RSA and an ECDSA certificate
 * for one site). OpenSSL then picks, among the chosen pairs, the one the
 * client's signature algorithms allow.
 */
#ifndef MEMTLS_CERTS_H
#define MEMTLS_CERTS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* Key types one handshake can be offered at once (OpenSSL's slots). */
#define MEMTLS__CERT_KINDS 8

typedef struct memtls__cert_name {
    char *text;   /* lower case; a wildcard keeps its "*." */
    int wildcard; /* a valid "*.rest": text + 1 is the suffix ".rest" */
} memtls__cert_name;

typedef struct memtls__cert_pair {
    X509 *leaf;
    STACK_OF(X509) * chain; /* NULL when the file had no intermediates */
    EVP_PKEY *key;
    int kind;      /* EVP_PKEY_get_base_id(key): pairs of one kind compete */
    char *subject; /* RFC 2253 */
    memtls__cert_name *names;
    size_t nnames;
} memtls__cert_pair;

/*
 * Parse and check a pair from PEM (the certificate chain, leaf first,
 * and its private key), naming the sources `cert_name` / `key_name` in
 * messages. `level` is the security level the certificate must pass
 * (the configuration's). Returns 0, or MEMTLS_ERR_CONFIG /
 * MEMTLS_ERR_NOMEM / MEMTLS_ERR_INVALID with the message in err; `out`
 * is untouched on failure.
 */
int memtls__cert_pair_parse(memtls__cert_pair *out, int level, const char *cert_name,
                            const char *cert_pem, size_t cert_len, const char *key_name,
                            const char *key_pem, size_t key_len, char *err, size_t errlen);

/* A copy of `src` sharing its certificates and key (by reference). 0 or
 * MEMTLS_ERR_NOMEM. */
int memtls__cert_pair_copy(memtls__cert_pair *dst, const memtls__cert_pair *src);

void memtls__cert_pair_clear(memtls__cert_pair *p);

/* Install pair `p` in an SSL_CTX (ctx) or an SSL (ssl): one of them is
 * NULL. Returns 1 or 0 (OpenSSL's error queue says why). */
int memtls__cert_pair_install(const memtls__cert_pair *p, SSL_CTX *ctx, SSL *ssl);

/*
 * The pairs to offer for `sni` (NULL or "": none sent), as indices into
 * pairs[0..n), at most one per key type, in load order: see above.
 * Returns how many (0 only when n is 0).
 */
size_t memtls__certs_select(const memtls__cert_pair *pairs, size_t n, const char *sni,
                            size_t out[MEMTLS__CERT_KINDS]);

#endif
