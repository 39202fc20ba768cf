/*
 * Test: memtls_session_release_buffers gives an idle session's memory
 * back and loses nothing. OpenSSL's allocations are counted through
 * CRYPTO_set_mem_functions (installed before OpenSSL allocates anything),
 * so the test sees exactly what the context frees: its record buffers
 * (about 34 KiB in all). Afterwards the session works as before, in both
 * directions and again after a second release; bytes that wait (unread
 * plaintext, ciphertext the transport refused) keep their buffers and
 * arrive intact; NULL is refused.
 */
#include "test.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <memtls/context.h>
#include <memtls/openssl.h>
#include <memtls/session.h>

#include "sessionpair.h"

/* --- OpenSSL's live bytes ------------------------------------------------- */

#define HDR 16 /* keeps the caller's pointer aligned like malloc's */
static size_t live;

static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    uint8_t *p = malloc(n + HDR);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    live += n;
    return p + HDR;
}

static void *count_realloc(void *q, size_t n, const char *file, int line)
{
    if (q == NULL) {
        return count_malloc(n, file, line);
    }
    uint8_t *p = (uint8_t *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    uint8_t *np = realloc(p, n + HDR);
    if (np == NULL) {
        return NULL;
    }
    memcpy(np, &n, sizeof n);
    live = live - old + n;
    return np + HDR;
}

static void count_free(void *q, const char *file, int line)
{
    (void)file;
    (void)line;
    if (q == NULL) {
        return;
    }
    uint8_t *p = (uint8_t *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    live -= old;
    free(p);
}

/* --- helpers ---------------------------------------------------------------- */

static uint8_t pattern(size_t i, unsigned seed)
{
    return (uint8_t)(i * 31u + seed);
}

/* `len` bytes from end `from` to the other end, read back and compared. */
static void exchange(sessionpair *p, int from, size_t len, unsigned seed)
{
    int to = sp_peer(from);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++) {
        buf[i] = pattern(i, seed);
    }
    size_t before = p->end[to].got_len;
    sp_write_all(p, from, buf, len);
    sp_run(p, 1000);
    sp_read_all(p, to);
    assert_int_equal(p->end[to].got_len - before, len);
    assert_memory_equal(p->end[to].got + before, buf, len);
    free(buf);
}

/* --- tests ------------------------------------------------------------------ */

static void idle_release(sp_mode mode)
{
    sessionpair *p = sp_ready(&(sp_opts){.mode = mode, .no_ssl = 1});
    memtls_session *s = p->end[SP_SERVER].s;
    /* Traffic in both directions: both record buffers are in use. */
    exchange(p, SP_CLIENT, 40000, 1);
    exchange(p, SP_SERVER, 40000, 2);

    size_t held = live;
    assert_int_equal(memtls_session_release_buffers(s), 0);
    if (mode != SP_PLAINTEXT) {
        /* Both of OpenSSL's record buffers went back. */
        assert_true(live + 2 * 16384 <= held);
    } else {
        assert_true(live <= held);
    }
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_READY);

    /* The session works on: large transfers both ways, then another
     * release frees the buffers the traffic allocated again. */
    exchange(p, SP_CLIENT, 100000, 3);
    exchange(p, SP_SERVER, 100000, 4);
    held = live;
    assert_int_equal(memtls_session_release_buffers(s), 0);
    assert_true(live <= held);
    assert_int_equal(memtls_session_release_buffers(s), 0); /* twice: harmless */
    exchange(p, SP_SERVER, 5000, 5);
    exchange(p, SP_CLIENT, 5000, 6);
    assert_int_equal(memtls_session_close(s), 0);
    sp_run(p, 100);
    assert_int_equal(memtls_session_state(s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_state(p->end[SP_CLIENT].s), MEMTLS_STATE_CLOSED);
    sp_free(p);
}

/* Test: TLS 1.3. */
static void test_idle_release_tls13(void **state)
{
    (void)state;
    idle_release(SP_TLS13);
}

/* Test: TLS 1.2. */
static void test_idle_release_tls12(void **state)
{
    (void)state;
    idle_release(SP_TLS12);
}

/* Test: the plaintext twin (nothing of OpenSSL's to give back). */
static void test_idle_release_plaintext(void **state)
{
    (void)state;
    idle_release(SP_PLAINTEXT);
}

/* Test: what waits survives a release: plaintext the application has not
 * read yet, and ciphertext the transport refused. */
static void test_release_keeps_waiting_bytes(void **state)
{
    (void)state;
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13, .no_ssl = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *sv = &p->end[SP_SERVER];
    uint8_t in[5000], out[3000];
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = pattern(i, 7);
    }
    for (size_t i = 0; i < sizeof out; i++) {
        out[i] = pattern(i, 8);
    }

    /* Unread plaintext in the server's input buffer. */
    sp_write_all(p, SP_CLIENT, in, sizeof in);
    sp_run(p, 100);
    assert_int_equal(memtls_session_readable(sv->s), sizeof in);
    /* Output the transport refuses: held by the session. */
    sv->refuse_all = 1;
    sp_write_all(p, SP_SERVER, out, sizeof out);
    assert_int_equal(memtls_session_release_buffers(sv->s), 0);

    assert_int_equal(sp_read_all(p, SP_SERVER), sizeof in);
    assert_memory_equal(sv->got, in, sizeof in);
    sv->refuse_all = 0;
    assert_int_equal(memtls_session_flush(sv->s), 0);
    sp_run(p, 100);
    assert_int_equal(sp_read_all(p, SP_CLIENT), sizeof out);
    assert_memory_equal(c->got, out, sizeof out);
    assert_int_equal(memtls_session_state(sv->s), MEMTLS_STATE_READY);
    sp_free(p);
}

/* Test: once the caller took the SSL object (memtls_ctx_ssl) it may hold
 * the BIOs, so nothing is swapped or freed; the session works on. */
static void test_release_after_ssl_taken(void **state)
{
    (void)state;
    sessionpair *p = sp_ready(&(sp_opts){.mode = SP_TLS13});
    exchange(p, SP_CLIENT, 40000, 9);
    SSL *ssl = memtls_ctx_ssl(memtls_session_ctx(p->end[SP_SERVER].s));
    BIO *rbio = SSL_get_rbio(ssl);
    size_t held = live;
    assert_int_equal(memtls_session_release_buffers(p->end[SP_SERVER].s), 0);
    assert_true(SSL_get_rbio(ssl) == rbio);
    assert_true(live <= held);
    exchange(p, SP_SERVER, 40000, 10);
    sp_free(p);
}

/* Test: NULL is refused. */
static void test_release_null(void **state)
{
    (void)state;
    assert_int_equal(memtls_session_release_buffers(NULL), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_ctx_release_buffers(NULL), MEMTLS_ERR_INVALID);
}

int main(void)
{
    /* Before anything allocates through OpenSSL. */
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) {
        fprintf(stderr, "cannot count OpenSSL's allocations (already in use)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_release_tls13),
        cmocka_unit_test(test_idle_release_tls12),
        cmocka_unit_test(test_idle_release_plaintext),
        cmocka_unit_test(test_release_keeps_waiting_bytes),
        cmocka_unit_test(test_release_after_ssl_taken),
        cmocka_unit_test(test_release_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
