/*
 * consumer.c - a program built against an installed memtls (see .ci/run):
 * compiled with only memtls' include directory (no OpenSSL headers are
 * needed, and none may come in), linked through pkg-config, it runs a
 * plaintext session round trip and checks the header and library versions.
 */
#include <stdio.h>
#include <string.h>

#include <memtls/server.h>
#include <memtls/session.h>
#include <memtls/version.h>

#if defined(OPENSSL_VERSION_MAJOR) || defined(OPENSSL_SSL_H) || defined(HEADER_SSL_H)
#error "a public memtls header included an OpenSSL header"
#endif

static size_t sink(void *arg, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    return len;
}

int main(void)
{
    memtls_session_cbs cbs = {.send = sink};
    memtls_session *s =
        memtls_session_new(memtls_ctx_new_plaintext(MEMTLS_ROLE_CLIENT), &cbs, NULL);
    size_t n = 0;
    if (s == NULL || memtls_session_start(s) != MEMTLS_OK ||
        memtls_session_write(s, "hello", 5, &n) != MEMTLS_OK || n != 5) {
        fprintf(stderr, "consumer: session failed\n");
        return 1;
    }
    memtls_session_free(s);
    memtls_server_free(NULL);
    if (strcmp(memtls_version_string(), MEMTLS_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: headers %s, library %s\n", MEMTLS_VERSION_STRING,
                memtls_version_string());
        return 1;
    }
    printf("consumer ok: memtls %s, %s\n", memtls_version_string(),
           memtls_status_name(MEMTLS_WANT_READ));
    return 0;
}
