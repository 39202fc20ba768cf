/*
 * headers.c - every public header but the opt-in memtls/openssl.h compiles
 * on its own, without OpenSSL's headers: tests/CMakeLists.txt compiles this
 * file with only the memtls include directories, and the check below fails
 * the compile if any OpenSSL header came in.
 */
#include <memtls/common.h>
#include <memtls/config.h>
#include <memtls/context.h>
#include <memtls/pki.h>
#include <memtls/proxy.h>
#include <memtls/ring.h>
#include <memtls/server.h>
#include <memtls/session.h>
#include <memtls/version.h>

#if defined(OPENSSL_VERSION_MAJOR) || defined(OPENSSL_SSL_H) || defined(HEADER_SSL_H) ||           \
    defined(OPENSSL_E_OS2_H)
#error "a public memtls header included an OpenSSL header"
#endif

int headers_compile(memtls_session *s);

int headers_compile(memtls_session *s)
{
    size_t n = 0;
    int rc = memtls_session_write(s, "x", 1, &n);
    return rc == MEMTLS_WANT_WRITE || rc == MEMTLS_CLOSED ? 0 : MEMTLS_VERSION_MAJOR;
}
