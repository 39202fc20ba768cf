/*
 * Test: push mode and callbacks that call back into the session. An echo
 * server writes from inside on_data and closes from inside on_data; the
 * nested calls only ask the session's loop to run again, so nothing is
 * reordered. In pull mode on_readable announces data.
 */
#include "test.h"

#include <string.h>

#include <memtls/session.h>

#include "sessionpair.h"

static int g_echo_calls;

static void echo(sp_end *e, const uint8_t *data, size_t len)
{
    /* Echo what came, and close on "quit". */
    g_echo_calls++;
    size_t n = 0;
    assert_int_equal(memtls_session_write(e->s, data, len, &n), 0);
    assert_int_equal(n, len);
    if (len >= 4 && memcmp(data + len - 4, "quit", 4) == 0) {
        assert_int_equal(memtls_session_close(e->s), 0);
    }
}

static void echo_server(sp_mode mode)
{
    sessionpair *p = sp_new(&(sp_opts){.mode = mode, .push[SP_SERVER] = 1});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    s->data_hook = echo;
    g_echo_calls = 0;
    assert_true(sp_handshake(p));
    sp_run(p, 100);

    static uint8_t data[100000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 3);
    }
    for (size_t off = 0; off < sizeof data; off += 9999) {
        size_t len = sizeof data - off < 9999 ? sizeof data - off : 9999;
        sp_write_all(p, SP_CLIENT, data + off, len);
        sp_step(p);
        sp_read_all(p, SP_CLIENT);
    }
    sp_write_all(p, SP_CLIENT, "quit", 4);
    sp_run(p, 100);
    sp_read_all(p, SP_CLIENT);
    assert_int_equal(c->got_len, sizeof data + 4);
    assert_memory_equal(c->got, data, sizeof data);
    assert_memory_equal(c->got + sizeof data, "quit", 4);
    /* The server closed from inside on_data; the client saw it. */
    assert_int_equal(memtls_session_state(s->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(s->s), MEMTLS_REASON_LOCAL_CLOSE);
    assert_int_equal(memtls_session_state(c->s), MEMTLS_STATE_CLOSED);
    assert_int_equal(memtls_session_reason(c->s), MEMTLS_REASON_PEER_CLOSED);
    /* Push mode: no on_readable, nothing buffered for memtls_session_read. */
    assert_int_equal(s->readable_calls, 0);
    assert_true(g_echo_calls > 0);
    assert_int_equal(memtls_session_readable(s->s), 0);
    /* Pull mode: on_readable was called. */
    assert_true(c->readable_calls > 0);
    assert_int_equal(sp_leftover(p, SP_CLIENT), 0);
    assert_int_equal(sp_leftover(p, SP_SERVER), 0);
    sp_free(p);
}

/* Test: TLS 1.3 echo. */
static void test_echo_tls13(void **state)
{
    echo_server(SP_TLS13);
}

/* Test: TLS 1.2 echo. */
static void test_echo_tls12(void **state)
{
    echo_server(SP_TLS12);
}

/* Test: plaintext echo. */
static void test_echo_plaintext(void **state)
{
    echo_server(SP_PLAINTEXT);
}

/* A writable hook that writes the next piece from inside on_writable. */
static const uint8_t *g_src;
static size_t g_len;
static size_t g_off;

static void refill(sp_end *e)
{
    while (g_off < g_len) {
        size_t want = g_len - g_off;
        size_t n = 0;
        int rc = memtls_session_write(e->s, g_src + g_off, want, &n);
        if (rc == MEMTLS_WANT_WRITE) {
            return;
        }
        assert_int_equal(rc, 0);
        g_off += n;
        if (n < want) {
            return; /* partial: wait for the next on_writable */
        }
    }
}

/* Test: writing from inside on_writable keeps order. */
static void test_write_from_on_writable(void **state)
{
    static uint8_t data[2 * 1024 * 1024];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i ^ (i >> 11));
    }
    sessionpair *p = sp_new(&(sp_opts){.mode = SP_TLS13,
                                       .limits[SP_CLIENT].plaintext_out = 50000,
                                       .limits[SP_CLIENT].ciphertext_out = 30000});
    sp_end *c = &p->end[SP_CLIENT];
    sp_end *s = &p->end[SP_SERVER];
    c->writable_hook = refill;
    c->capacity = 20000;
    assert_true(sp_handshake(p));
    sp_run(p, 100);
    g_src = data;
    g_len = sizeof data;
    g_off = 0;
    refill(c);
    assert_true(g_off < g_len);
    for (int i = 0; i < 100000 && s->got_len < sizeof data; i++) {
        sp_step(p);
        sp_read_all(p, SP_SERVER);
    }
    assert_int_equal(g_off, g_len);
    assert_int_equal(s->got_len, sizeof data);
    assert_memory_equal(s->got, data, sizeof data);
    assert_true(c->writable_calls > 10);
    sp_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_tls13),
        cmocka_unit_test(test_echo_tls12),
        cmocka_unit_test(test_echo_plaintext),
        cmocka_unit_test(test_write_from_on_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
