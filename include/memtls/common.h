/*
 * memtls/common.h - status codes, roles and attributes shared by every
 * memtls header.
 *
 * Status values. Every memtls call that can fail returns an int that is
 * either 0 (success), one of OpenSSL's SSL_ERROR_* codes (1..12 in OpenSSL
 * 3.0: only from the context's TLS operations, see context.h), or one of
 * the MEMTLS_ERR_* codes below, which all lie above 0x1000 so they can never
 * collide with SSL_ERROR_*. No call returns a negative number.
 */
#ifndef MEMTLS_COMMON_H
#define MEMTLS_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MEMTLS_WUR __attribute__((warn_unused_result))
#define MEMTLS_API __attribute__((visibility("default")))
#else
#define MEMTLS_WUR
#define MEMTLS_API
#endif

/* Success. */
#define MEMTLS_OK 0

/*
 * Handshake failed because the peer's certificate did not verify (unknown
 * CA, expired, wrong host name, ...) or a required client certificate
 * never came. OpenSSL reports these as SSL_ERROR_SSL; memtls_ctx_handshake()
 * reports them as this value so callers can treat them as authentication
 * failures. Only memtls_ctx_handshake() (and session reasons) use it.
 */
#define MEMTLS_ERR_X509_VERIFY 0x1001

/* An argument was invalid (NULL, zero or oversized length, wrong role or
 * state for the call). Nothing was changed. */
#define MEMTLS_ERR_INVALID 0x1002

/* Memory allocation failed. Nothing was changed. */
#define MEMTLS_ERR_NOMEM 0x1003

/* Loading configuration failed (file missing, not PEM, key mismatch, ...);
 * memtls_config_error() names the file and the problem. */
#define MEMTLS_ERR_CONFIG 0x1004

/* The peer presented no certificate. */
#define MEMTLS_ERR_NO_PEER_CERT 0x1005

/* The caller's buffer is too small; the needed size was reported. */
#define MEMTLS_ERR_TOO_SMALL 0x1006

/* Would block: a bounded queue is full (write later, after the writable
 * notification), or there is nothing to read yet. Nothing was consumed. */
#define MEMTLS_ERR_WOULD_BLOCK 0x1007

/* The object is closing or closed (or failed); the call has no effect. */
#define MEMTLS_ERR_CLOSED 0x1008

/* A message does not fit a ring buffer's limit, even when empty. */
#define MEMTLS_ERR_TOO_BIG 0x1009

typedef enum memtls_role { MEMTLS_ROLE_CLIENT = 0, MEMTLS_ROLE_SERVER = 1 } memtls_role;

/*
 * The symbolic name of a status ("SSL_ERROR_WANT_READ",
 * "MEMTLS_ERR_INVALID", "OK"); "UNKNOWN_STATUS" for anything else. Static
 * string. For text with the OpenSSL reason see memtls_ctx_status_text().
 */
MEMTLS_API const char *memtls_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
