/*
 * consumer.c - a program built against an installed memtls through
 * pkg-config (see .ci/run): the headers compile on their own, both
 * libraries link, and a plaintext session round trip runs.
 */
#include <stdio.h>
#include <string.h>

#include <memtls/server.h>
#include <memtls/session.h>

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
    if (s == NULL || memtls_session_start(s) != 0 || memtls_session_write(s, "hello", 5, &n) != 0 ||
        n != 5) {
        fprintf(stderr, "consumer: session failed\n");
        return 1;
    }
    memtls_session_free(s);
    memtls_server_free(NULL);
    printf("consumer ok: %s\n", memtls_status_name(MEMTLS_WANT_READ));
    return 0;
}
