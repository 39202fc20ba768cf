/*
 * memtls/openssl.h - opt-in access to the OpenSSL objects under memtls,
 * for settings and queries the memtls API does not cover. Including it
 * includes <openssl/ssl.h>; the other memtls headers do not.
 *
 * Calls made directly on these objects bypass memtls' discipline: the
 * error queue is not cleared around them and the drain rule
 * (context.h) is the caller's job.
 */
#ifndef MEMTLS_OPENSSL_H
#define MEMTLS_OPENSSL_H

#include <openssl/ssl.h>

#include <memtls/common.h>
#include <memtls/config.h>
#include <memtls/context.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The context's SSL object (NULL for the plaintext twin or NULL). It
 * lives as long as the context. Once it has been taken, the context no
 * longer trusts its own record of what its BIOs hold (it normally skips
 * looking when nothing can have changed) and asks them every time, so
 * bytes moved through the SSL object directly are seen. */
MEMTLS_API SSL *memtls_ctx_ssl(memtls_ctx *ctx);

/*
 * The configuration's SSL_CTX (NULL for NULL). Changing it after contexts
 * were created from the configuration is the caller's responsibility: the
 * configuration's freeze only covers the memtls_config_* setters.
 */
MEMTLS_API SSL_CTX *memtls_config_ssl_ctx(memtls_config *cfg);

/*
 * The raw X509_V_* result of the peer certificate's verification
 * (X509_V_OK when nothing failed, for the plaintext twin and for NULL).
 * memtls_ctx_verify_error() (context.h) is the same as text.
 */
MEMTLS_API long memtls_ctx_verify_result(const memtls_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
