/*
 * status.c - the names and meanings of statuses (common.h), and the
 * build-time check that memtls' outcomes are OpenSSL's numbers. The text
 * for a context's failure, which adds the context's reasons, is
 * memtls_ctx_status_text() in tls.c.
 */
#include <openssl/ssl.h>

#include <memtls/common.h>

#include "status.h"

/* The contract (common.h): memtls' outcomes are OpenSSL's numbers, so a
 * context operation can return SSL_get_error()'s value as it is. */
_Static_assert(MEMTLS_OK == SSL_ERROR_NONE, "MEMTLS_OK must equal SSL_ERROR_NONE");
_Static_assert(MEMTLS_ERR_SSL == SSL_ERROR_SSL, "MEMTLS_ERR_SSL must equal SSL_ERROR_SSL");
_Static_assert(MEMTLS_WANT_READ == SSL_ERROR_WANT_READ,
               "MEMTLS_WANT_READ must equal SSL_ERROR_WANT_READ");
_Static_assert(MEMTLS_WANT_WRITE == SSL_ERROR_WANT_WRITE,
               "MEMTLS_WANT_WRITE must equal SSL_ERROR_WANT_WRITE");
_Static_assert(MEMTLS_ERR_SYSCALL == SSL_ERROR_SYSCALL,
               "MEMTLS_ERR_SYSCALL must equal SSL_ERROR_SYSCALL");
_Static_assert(MEMTLS_CLOSED == SSL_ERROR_ZERO_RETURN,
               "MEMTLS_CLOSED must equal SSL_ERROR_ZERO_RETURN");
/* memtls' own codes stay clear of every SSL_ERROR_* value. */
_Static_assert(SSL_ERROR_WANT_RETRY_VERIFY < MEMTLS_ERR_X509_VERIFY,
               "MEMTLS_ERR_* must lie above OpenSSL's SSL_ERROR_* range");

const char *memtls_status_name(int status)
{
    switch (status) {
    case MEMTLS_OK:
        return "MEMTLS_OK";
    case MEMTLS_ERR_SSL:
        return "MEMTLS_ERR_SSL";
    case MEMTLS_WANT_READ:
        return "MEMTLS_WANT_READ";
    case MEMTLS_WANT_WRITE:
        return "MEMTLS_WANT_WRITE";
    case MEMTLS_ERR_SYSCALL:
        return "MEMTLS_ERR_SYSCALL";
    case MEMTLS_CLOSED:
        return "MEMTLS_CLOSED";
    case SSL_ERROR_WANT_X509_LOOKUP:
        return "SSL_ERROR_WANT_X509_LOOKUP";
    case SSL_ERROR_WANT_CONNECT:
        return "SSL_ERROR_WANT_CONNECT";
    case SSL_ERROR_WANT_ACCEPT:
        return "SSL_ERROR_WANT_ACCEPT";
    case SSL_ERROR_WANT_ASYNC:
        return "SSL_ERROR_WANT_ASYNC";
    case SSL_ERROR_WANT_ASYNC_JOB:
        return "SSL_ERROR_WANT_ASYNC_JOB";
    case SSL_ERROR_WANT_CLIENT_HELLO_CB:
        return "SSL_ERROR_WANT_CLIENT_HELLO_CB";
    case SSL_ERROR_WANT_RETRY_VERIFY:
        return "SSL_ERROR_WANT_RETRY_VERIFY";
    case MEMTLS_ERR_X509_VERIFY:
        return "MEMTLS_ERR_X509_VERIFY";
    case MEMTLS_ERR_INVALID:
        return "MEMTLS_ERR_INVALID";
    case MEMTLS_ERR_NOMEM:
        return "MEMTLS_ERR_NOMEM";
    case MEMTLS_ERR_CONFIG:
        return "MEMTLS_ERR_CONFIG";
    case MEMTLS_ERR_NO_PEER_CERT:
        return "MEMTLS_ERR_NO_PEER_CERT";
    case MEMTLS_ERR_TOO_SMALL:
        return "MEMTLS_ERR_TOO_SMALL";
    case MEMTLS_ERR_TOO_BIG:
        return "MEMTLS_ERR_TOO_BIG";
    case MEMTLS_ERR_PROXY:
        return "MEMTLS_ERR_PROXY";
    default:
        return "UNKNOWN_STATUS";
    }
}

const char *memtls__status_meaning(int status)
{
    switch (status) {
    case MEMTLS_OK:
        return "success";
    case MEMTLS_ERR_SSL:
        return "TLS protocol or library failure";
    case MEMTLS_WANT_READ:
        return "needs more input first (nothing to read yet)";
    case MEMTLS_WANT_WRITE:
        return "the destination is full: retry after it drains";
    case MEMTLS_ERR_SYSCALL:
        return "transport failure or end of stream without close_notify";
    case MEMTLS_CLOSED:
        return "the stream is finished (peer closed cleanly, or this side is closed)";
    case MEMTLS_ERR_X509_VERIFY:
        return "peer certificate verification failed";
    case MEMTLS_ERR_INVALID:
        return "invalid argument or call in the wrong state";
    case MEMTLS_ERR_NOMEM:
        return "out of memory";
    case MEMTLS_ERR_CONFIG:
        return "configuration could not be loaded";
    case MEMTLS_ERR_NO_PEER_CERT:
        return "peer presented no certificate";
    case MEMTLS_ERR_TOO_SMALL:
        return "buffer too small";
    case MEMTLS_ERR_TOO_BIG:
        return "message larger than the limit";
    case MEMTLS_ERR_PROXY:
        return "not a PROXY protocol header, or a malformed one";
    default:
        return "unknown status";
    }
}
