/*
 * test_config_tickets.c - session resumption with stateless tickets, in
 * memory: a second connection resumes (TLS 1.3 and 1.2) and sends no
 * certificate; servers that load one key file resume each other's
 * tickets (a fleet) and a server with other keys falls back to a full
 * handshake; the first key of a file encrypts and a key moved to a later
 * line still decrypts (how a new key is rolled through a fleet); a
 * reloaded configuration sharing the old one's keys resumes its tickets;
 * generated keys rotate on schedule (a clock the test moves), an old
 * ticket resumes inside its window and not after, and the retired key is
 * gone; damaged tickets fall back cleanly; no tickets means no
 * resumption; a ticket resumes only under the SNI it was issued for; the
 * lifetime and rotation settings are checked.
 */
#include "test.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <memtls/config.h>
#include <memtls/openssl.h>
#include <memtls/pki.h>

#include "config_internal.h"
#include "resume.h"
#include "testpki.h"
#include "tickets.h"

static memtls_pem g_ca;
static memtls_pem g_leaf; /* a.test and b.test */

static int setup(void **state)
{
    (void)state;
    g_ca = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_cert_spec spec = {0};
    static const char *const sans[] = {"a.test", "b.test"};
    spec.usage = MEMTLS_CERT_SERVER;
    spec.common_name = "a.test";
    spec.sans = sans;
    spec.san_count = 2;
    char err[256];
    assert_int_equal(memtls_pki_make(&spec, &g_ca, &g_leaf, err, sizeof err), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    memtls_pem_free(&g_ca);
    memtls_pem_free(&g_leaf);
    return 0;
}

/* A server configuration (version: 0 for both, or one pinned). */
static memtls_config *server(int version)
{
    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    assert_non_null(s);
    testpki_load(s, &g_leaf);
    if (version != 0) {
        assert_int_equal(memtls_config_set_max_version(s, (memtls_version_floor)version), 0);
    }
    return s;
}

static memtls_config *client(int version)
{
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_non_null(c);
    assert_int_equal(memtls_config_load_ca_pem(c, g_ca.cert, g_ca.cert_len), 0);
    if (version != 0) {
        assert_int_equal(memtls_config_set_max_version(c, (memtls_version_floor)version), 0);
    }
    return c;
}

/* A key file of `n` keys whose bytes derive from `seed` (line i is key
 * seed + i); the 80 raw bytes of line 0 in first[] when not NULL. */
static void key_file(char *out, size_t len, unsigned seed, size_t n, unsigned char *first)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        unsigned char raw[80];
        unsigned char b64[120];
        for (size_t k = 0; k < sizeof raw; k++) {
            raw[k] = (unsigned char)((seed + i) * 131u + k * 7u + (k >> 3));
        }
        if (i == 0 && first != NULL) {
            memcpy(first, raw, sizeof raw);
        }
        int m = EVP_EncodeBlock(b64, raw, sizeof raw);
        assert_int_equal(m, 108);
        strncat(out, (const char *)b64, len - strlen(out) - 2);
        strcat(out, "\n");
    }
}

static void set_keys(memtls_config *cfg, const char *text)
{
    int rc = memtls_config_set_ticket_keys(cfg, text, strlen(text));
    if (rc != 0) {
        print_error("set_ticket_keys: %s\n", memtls_config_error(cfg));
    }
    assert_int_equal(rc, 0);
}

static void connect_ok(memtls_config *s, memtls_config *c, const char *sni, SSL_SESSION *sess,
                       rs_result *r)
{
    rs_connect(s, c, sni, sess, r);
    assert_true(r->ok);
}

/* Test: a second connection resumes with the first one's ticket, for TLS
 * 1.3 and TLS 1.2; a resumed handshake sends no certificate; the ticket
 * lifetime hint is the default 7200 s. */
static void test_resume(void **state)
{
    (void)state;
    const int versions[2] = {MEMTLS_TLS1_3, MEMTLS_TLS1_2};
    for (int v = 0; v < 2; v++) {
        memtls_config *s = server(versions[v]);
        memtls_config *c = client(versions[v]);
        assert_int_equal(memtls_config_tickets_enabled(s), 1);
        rs_result first, second;
        connect_ok(s, c, "a.test", NULL, &first);
        assert_false(first.resumed);
        assert_int_equal(first.cert_index, 0);
        assert_true(first.tickets >= 1);
        assert_true(first.has_ticket);
        assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(first.session), 7200);
        connect_ok(s, c, "a.test", first.session, &second);
        assert_true(second.resumed);
        assert_true(second.client_reused);
        assert_int_equal(second.cert_index, -1);
        assert_string_equal(second.cert_subject, "");
        rs_free(&first);
        rs_free(&second);
        memtls_config_free(s);
        memtls_config_free(c);
    }
}

/* Test: the fleet. Two servers loading the same key file resume each
 * other's tickets, both ways; a server with a different key file gives
 * a full handshake and a ticket of its own. */
static void test_fleet_key_file(void **state)
{
    (void)state;
    char keys[1024];
    char other[1024];
    unsigned char raw[80];
    key_file(keys, sizeof keys, 1, 2, raw);
    key_file(other, sizeof other, 50, 1, NULL);
    memtls_config *a = server(0);
    memtls_config *b = server(0);
    memtls_config *x = server(0);
    set_keys(a, keys);
    set_keys(b, keys);
    set_keys(x, other);
    memtls_config *c = client(0);

    rs_result ra, rb, rx, rback;
    connect_ok(a, c, "a.test", NULL, &ra);
    /* The ticket is made with the first line's key: its name leads. */
    assert_memory_equal(ra.ticket_name, raw, 16);
    connect_ok(b, c, "a.test", ra.session, &rb);
    assert_true(rb.resumed);
    connect_ok(a, c, "a.test", rb.session, &rback);
    assert_true(rback.resumed);
    connect_ok(x, c, "a.test", ra.session, &rx);
    assert_false(rx.resumed);
    assert_true(rx.tickets >= 1);
    assert_memory_not_equal(rx.ticket_name, raw, 16);
    rs_free(&ra);
    rs_free(&rb);
    rs_free(&rx);
    rs_free(&rback);
    memtls_config_free(a);
    memtls_config_free(b);
    memtls_config_free(x);
    memtls_config_free(c);
}

/* Test: rolling a new key through a fleet. Step 1, every server gets the
 * new key as a second (decrypt-only) line: tickets are still made with
 * the old key, and a ticket made with the new key by a server that
 * already switched resumes too. Step 2, the new key moves first: its
 * tickets resume on servers still at step 1, and old tickets still
 * resume (and are renewed under the new key). */
static void test_key_roll(void **state)
{
    (void)state;
    char old_only[256], step1[1024], step2[1024];
    unsigned char old_raw[80], new_raw[80];
    key_file(old_only, sizeof old_only, 10, 1, old_raw);
    char new_only[256];
    key_file(new_only, sizeof new_only, 20, 1, new_raw);
    snprintf(step1, sizeof step1, "# old key encrypts\n%s# new key, decrypt only\n%s", old_only,
             new_only);
    snprintf(step2, sizeof step2, "%s%s", new_only, old_only);

    memtls_config *s0 = server(0);
    memtls_config *s1 = server(0);
    memtls_config *s2 = server(0);
    set_keys(s0, old_only);
    set_keys(s1, step1);
    set_keys(s2, step2);
    memtls_config *c = client(0);

    rs_result t0, t1, t2, r;
    connect_ok(s0, c, "a.test", NULL, &t0);
    assert_memory_equal(t0.ticket_name, old_raw, 16);
    connect_ok(s1, c, "a.test", NULL, &t1);
    assert_memory_equal(t1.ticket_name, old_raw, 16); /* step 1 still encrypts with the old */
    connect_ok(s2, c, "a.test", NULL, &t2);
    assert_memory_equal(t2.ticket_name, new_raw, 16);

    connect_ok(s1, c, "a.test", t2.session, &r); /* new-key ticket on a step-1 server */
    assert_true(r.resumed);
    rs_free(&r);
    connect_ok(s2, c, "a.test", t0.session, &r); /* old ticket on a step-2 server */
    assert_true(r.resumed);
    assert_memory_equal(r.ticket_name, new_raw, 16); /* renewed under the new key */
    rs_free(&r);
    connect_ok(s0, c, "a.test", t2.session, &r); /* a server never told: full handshake */
    assert_false(r.resumed);
    rs_free(&r);
    rs_free(&t0);
    rs_free(&t1);
    rs_free(&t2);
    memtls_config_free(s0);
    memtls_config_free(s1);
    memtls_config_free(s2);
    memtls_config_free(c);
}

/* Test: a reload. The new configuration shares the old one's generated
 * keys, so tickets of either resume on the other; a configuration that
 * does not share them gives full handshakes. */
static void test_share_on_reload(void **state)
{
    (void)state;
    memtls_config *old = server(0);
    memtls_config *c = client(0);
    rs_result t, r;
    connect_ok(old, c, "a.test", NULL, &t);

    memtls_config *reloaded = server(0);
    assert_int_equal(memtls_config_share_ticket_keys(reloaded, old), 0);
    connect_ok(reloaded, c, "a.test", t.session, &r);
    assert_true(r.resumed);
    assert_memory_equal(r.ticket_name, t.ticket_name, 16);
    rs_free(&r);

    memtls_config *unrelated = server(0);
    connect_ok(unrelated, c, "a.test", t.session, &r);
    assert_false(r.resumed);
    rs_free(&r);

    /* Shared keys do not rotate here; sharing needs two servers. */
    assert_int_equal(memtls_config_set_ticket_rotation(reloaded, 60), MEMTLS_ERR_INVALID);
    memtls_config *fresh = server(0);
    assert_int_equal(memtls_config_share_ticket_keys(fresh, fresh), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_share_ticket_keys(fresh, c), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_share_ticket_keys(c, old), MEMTLS_ERR_INVALID);
    /* A configuration that never made a context still gives its keys. */
    memtls_config *unused = server(0);
    assert_int_equal(memtls_config_share_ticket_keys(fresh, unused), 0);
    rs_free(&t);
    memtls_config_free(unused);
    memtls_config_free(fresh);
    memtls_config_free(unrelated);
    memtls_config_free(reloaded);
    memtls_config_free(old);
    memtls_config_free(c);
}

static uint64_t g_now;

static uint64_t test_clock(void *arg)
{
    (void)arg;
    return g_now;
}

/* A server whose generated keys rotate every 100 s and live 250 s, on
 * the test's clock, which starts at 1000. */
static memtls_config *rotating_server(memtls__ticket_ring **ring)
{
    memtls_config *s = server(0);
    assert_int_equal(memtls_config_set_ticket_rotation(s, 100), 0);
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 250), 0);
    memtls__ticket_ring *r = memtls__config_ticket_ring(s);
    assert_non_null(r);
    g_now = 1000;
    memtls__ticket_ring_set_clock(r, test_clock, NULL);
    *ring = r;
    return s;
}

/* Test: processes that inherit one generated set (worker processes forked
 * after the load) rotate to the same keys: a ticket a forked copy issues
 * two rotations later resumes here, though this process made none of
 * those rotations itself. */
static void test_rotation_shared_by_fork(void **state)
{
    (void)state;
    memtls__ticket_ring *ring = NULL;
    memtls_config *s = rotating_server(&ring);
    memtls_config *c = client(0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        g_now = 1250; /* epoch 2 */
        rs_result t;
        rs_connect(s, c, "a.test", NULL, &t);
        unsigned char der[4096];
        unsigned char *p = der;
        int n = t.ok && t.session != NULL ? i2d_SSL_SESSION(t.session, &p) : 0;
        int ok = n > 0 && n <= (int)sizeof der && write(fds[1], der, (size_t)n) == n;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    unsigned char der[4096];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], der + len, sizeof der - len)) > 0) {
        len += (size_t)got;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const unsigned char *p = der;
    SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, (long)len);
    assert_non_null(sess);
    g_now = 1260;
    rs_result r;
    connect_ok(s, c, "a.test", sess, &r);
    assert_true(r.resumed);
    rs_free(&r);
    SSL_SESSION_free(sess);
    memtls_config_free(c);
    memtls_config_free(s);
}

/* Test: generated keys rotate every `rotation` seconds (a clock the test
 * moves; OpenSSL's own ticket age stays within the 7200 s lifetime in
 * real time). A ticket made before a rotation resumes after it (and is
 * renewed under the new key), until its key has been retired for the
 * lifetime: then it is wiped and the ticket gets a full handshake. */
static void test_rotation(void **state)
{
    (void)state;
    memtls__ticket_ring *ring = NULL;
    memtls_config *s = rotating_server(&ring);
    memtls_config *c = client(0);

    rs_result t1, t2, r;
    connect_ok(s, c, "a.test", NULL, &t1);
    assert_int_equal(memtls__ticket_ring_count(ring), 1);
    g_now = 1099;
    connect_ok(s, c, "a.test", NULL, &r);
    assert_memory_equal(r.ticket_name, t1.ticket_name, 16); /* not yet */
    rs_free(&r);
    g_now = 1100; /* due: the next ticket is made with a new key */
    connect_ok(s, c, "a.test", NULL, &t2);
    assert_memory_not_equal(t2.ticket_name, t1.ticket_name, 16);
    assert_int_equal(memtls__ticket_ring_count(ring), 2);

    g_now = 1349; /* the first key retired at 1100: it decrypts until 1350 */
    connect_ok(s, c, "a.test", t1.session, &r);
    assert_true(r.resumed);
    assert_memory_not_equal(r.ticket_name, t1.ticket_name, 16);
    rs_free(&r);
    /* The epochs follow the schedule (1000 + 100 e), not the handshakes:
     * the keys of 1200 and 1300 were made too (another process sharing
     * the set may have used them). */
    assert_int_equal(memtls__ticket_ring_count(ring), 4);

    g_now = 1350; /* wiped */
    assert_int_equal(memtls__ticket_ring_count(ring), 3);
    connect_ok(s, c, "a.test", t1.session, &r);
    assert_false(r.resumed);
    assert_true(r.tickets >= 1);
    rs_free(&r);
    connect_ok(s, c, "a.test", t2.session, &r); /* the second key: retired 1200, kept */
    assert_true(r.resumed);
    rs_free(&r);

    /* A long idle time: the chain steps to the current epoch; every key
     * past its window goes, those retired less than a lifetime ago
     * (99800, 99900, 100000) stay beside the new one. */
    g_now = 100000;
    connect_ok(s, c, "a.test", t2.session, &r);
    assert_false(r.resumed);
    rs_free(&r);
    assert_int_equal(memtls__ticket_ring_count(ring), 4);
    rs_free(&t1);
    rs_free(&t2);
    memtls_config_free(s);
    memtls_config_free(c);
}

/* The same session with byte `at` of its ticket flipped (the ticket is
 * found in the session's DER encoding). */
static SSL_SESSION *damaged(SSL_SESSION *sess, size_t at)
{
    const unsigned char *t = NULL;
    size_t tlen = 0;
    SSL_SESSION_get0_ticket(sess, &t, &tlen);
    assert_true(at < tlen);
    int n = i2d_SSL_SESSION(sess, NULL);
    assert_true(n > 0);
    unsigned char *der = malloc((size_t)n);
    assert_non_null(der);
    unsigned char *p = der;
    i2d_SSL_SESSION(sess, &p);
    unsigned char *found = NULL;
    for (size_t i = 0; i + tlen <= (size_t)n; i++) {
        if (memcmp(der + i, t, tlen) == 0) {
            found = der + i;
            break;
        }
    }
    assert_non_null(found);
    found[at] ^= 0x5A;
    const unsigned char *q = der;
    SSL_SESSION *out = d2i_SSL_SESSION(NULL, &q, n);
    free(der);
    assert_non_null(out);
    return out;
}

/* Test: a damaged ticket (its key name, IV, encrypted state or MAC) is
 * refused without harm: a full handshake, a fresh ticket, for TLS 1.3
 * and 1.2. */
static void test_damaged_ticket(void **state)
{
    (void)state;
    const int versions[2] = {MEMTLS_TLS1_3, MEMTLS_TLS1_2};
    for (int v = 0; v < 2; v++) {
        memtls_config *s = server(versions[v]);
        memtls_config *c = client(versions[v]);
        rs_result t, r;
        connect_ok(s, c, "a.test", NULL, &t);
        const unsigned char *tk = NULL;
        size_t tlen = 0;
        SSL_SESSION_get0_ticket(t.session, &tk, &tlen);
        assert_true(tlen > 64);
        const size_t at[] = {0, 15, 16, 31, 32, tlen / 2, tlen - 33, tlen - 1};
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            SSL_SESSION *bad = damaged(t.session, at[i]);
            connect_ok(s, c, "a.test", bad, &r);
            if (r.resumed) {
                print_error("TLS %s: ticket with byte %zu flipped resumed\n", v ? "1.2" : "1.3",
                            at[i]);
            }
            assert_false(r.resumed);
            assert_true(r.has_ticket);
            rs_free(&r);
            SSL_SESSION_free(bad);
        }
        /* The undamaged ticket still works. */
        connect_ok(s, c, "a.test", t.session, &r);
        assert_true(r.resumed);
        rs_free(&r);
        rs_free(&t);
        memtls_config_free(s);
        memtls_config_free(c);
    }
}

/* Test: tickets off: no ticket is issued (TLS 1.3: no NewSessionTicket;
 * TLS 1.2: none in the handshake), and a ticket from a server with them
 * on is not accepted either. */
static void test_no_tickets(void **state)
{
    (void)state;
    const int versions[2] = {MEMTLS_TLS1_3, MEMTLS_TLS1_2};
    for (int v = 0; v < 2; v++) {
        memtls_config *on = server(versions[v]);
        memtls_config *off = server(versions[v]);
        assert_int_equal(memtls_config_set_tickets(off, 0), 0);
        assert_int_equal(memtls_config_tickets_enabled(off), 0);
        assert_int_equal(memtls_config_share_ticket_keys(off, on), 0);
        memtls_config *c = client(versions[v]);
        rs_result t, r;
        connect_ok(off, c, "a.test", NULL, &r);
        assert_int_equal(r.tickets, 0);
        assert_false(r.has_ticket);
        /* Not even by session id: a server keeps no cache. */
        rs_result again;
        connect_ok(off, c, "a.test", r.session, &again);
        assert_false(again.resumed);
        rs_free(&again);
        rs_free(&r);
        connect_ok(on, c, "a.test", NULL, &t);
        connect_ok(off, c, "a.test", t.session, &r);
        assert_false(r.resumed);
        rs_free(&r);
        rs_free(&t);
        memtls_config_free(on);
        memtls_config_free(off);
        memtls_config_free(c);
    }
}

/* Test: a ticket resumes only under the server name it was issued for:
 * the same name (in any case) resumes, another name of the same
 * certificate, or none, gets a full handshake. TLS 1.3 and 1.2. */
static void test_ticket_bound_to_sni(void **state)
{
    (void)state;
    const int versions[2] = {MEMTLS_TLS1_3, MEMTLS_TLS1_2};
    for (int v = 0; v < 2; v++) {
        memtls_config *s = server(versions[v]);
        memtls_config *c = client(versions[v]);
        memtls_config *lax = client(versions[v]);
        assert_int_equal(memtls_config_set_verify(lax, MEMTLS_VERIFY_NONE), 0);
        rs_result t, r;
        connect_ok(s, c, "a.test", NULL, &t);
        connect_ok(s, c, "A.TEST", t.session, &r);
        assert_true(r.resumed);
        rs_free(&r);
        connect_ok(s, c, "b.test", t.session, &r);
        if (r.resumed) {
            print_error("TLS %s: a ticket for a.test resumed under b.test\n", v ? "1.2" : "1.3");
        }
        assert_false(r.resumed);
        rs_free(&r);
        connect_ok(s, lax, NULL, t.session, &r);
        assert_false(r.resumed);
        rs_free(&r);
        rs_free(&t);
        memtls_config_free(s);
        memtls_config_free(c);
        memtls_config_free(lax);
    }
}

/* Test: the settings: lifetime 1..604800 and its hint on the ticket, the
 * rotation range, the number of keys they need at once, server only. */
static void test_settings(void **state)
{
    (void)state;
    memtls_config *s = server(0);
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 604801), MEMTLS_ERR_INVALID);
    assert_non_null(strstr(memtls_config_error(s), "604801"));
    assert_int_equal(memtls_config_set_ticket_rotation(s, 0), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_ticket_rotation(s, 60), 0);
    /* 7 days with a key a minute: 10081 keys at once. */
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 604800), MEMTLS_ERR_INVALID);
    assert_non_null(strstr(memtls_config_error(s), "needs 10081 keys"));
    assert_int_equal(memtls_config_set_ticket_rotation(s, 3600), 0);
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 604800), 0);
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 300), 0);

    memtls_config *c = client(0);
    rs_result r;
    connect_ok(s, c, "a.test", NULL, &r);
    assert_int_equal(SSL_SESSION_get_ticket_lifetime_hint(r.session), 300);
    rs_free(&r);
    /* In use: frozen. */
    assert_int_equal(memtls_config_set_ticket_lifetime(s, 400), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_tickets(s, 0), MEMTLS_ERR_INVALID);

    memtls_config *cc = client(0);
    assert_int_equal(memtls_config_set_tickets(cc, 1), MEMTLS_ERR_INVALID);
    assert_non_null(strstr(memtls_config_error(cc), "server setting"));
    assert_int_equal(memtls_config_set_ticket_lifetime(cc, 10), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_set_ticket_keys(cc, "x", 1), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_config_tickets_enabled(cc), 0);
    assert_int_equal(memtls_config_tickets_enabled(NULL), 0);
    memtls_config_free(cc);
    memtls_config_free(c);
    memtls_config_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_fleet_key_file),
        cmocka_unit_test(test_key_roll),
        cmocka_unit_test(test_share_on_reload),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rotation_shared_by_fork),
        cmocka_unit_test(test_damaged_ticket),
        cmocka_unit_test(test_no_tickets),
        cmocka_unit_test(test_ticket_bound_to_sni),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
