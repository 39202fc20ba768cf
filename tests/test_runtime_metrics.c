/*
 * test_runtime_metrics.c - the server's metrics (memtls_server_metrics and
 * GET /metrics): counts that match what the test did (connections,
 * handshakes, bytes, close reasons, histogram counts, probes of both ring
 * directions), the exposition text checked line by line by a strict
 * parser of the 0.0.4 format, the endpoint's answers to other paths,
 * methods and oversized requests, its cut-off of a scraper that never
 * sends a request, and the options' errors.
 */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rt_fixture.h"

/* --- a strict parser of the text format -------------------------------------- */

#define MAX_SAMPLES 2048

typedef struct sample {
    char key[512]; /* name{labels} exactly as written */
    double value;
} sample;

typedef struct exposition {
    sample s[MAX_SAMPLES];
    size_t n;
    char types[256][192]; /* "name type" of every # TYPE line */
    size_t ntypes;
} exposition;

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* The family a sample belongs to (histogram suffixes stripped when the
 * family is a histogram) and its declared type, or NULL. */
static const char *family_type(const exposition *e, const char *name)
{
    for (size_t i = 0; i < e->ntypes; i++) {
        size_t n = strcspn(e->types[i], " ");
        const char *type = e->types[i] + n + 1;
        if (strlen(name) == n && strncmp(name, e->types[i], n) == 0) {
            return type;
        }
        if (strcmp(type, "histogram") == 0 && strncmp(name, e->types[i], n) == 0 &&
            (strcmp(name + n, "_bucket") == 0 || strcmp(name + n, "_sum") == 0 ||
             strcmp(name + n, "_count") == 0)) {
            return type;
        }
    }
    return NULL;
}

/* Parse `text`; every line must be a HELP, a TYPE (before the family's
 * samples, once per family) or a sample "name{k="v",...} value". Prints
 * the offending line and returns -1 otherwise. */
static int parse_exposition(const char *text, exposition *e)
{
    memset(e, 0, sizeof *e);
    const char *p = text;
    int lineno = 0;
    while (*p != '\0') {
        char line[1024];
        size_t n = strcspn(p, "\n");
        lineno++;
        if (p[n] != '\n' || n >= sizeof line) {
            print_error("line %d: not terminated or too long\n", lineno);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128];
            char type[32];
            if (sscanf(line + 7, "%127s %31s", name, type) != 2 ||
                (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
                 strcmp(type, "histogram") != 0)) {
                print_error("line %d: bad TYPE: %s\n", lineno, line);
                return -1;
            }
            for (size_t i = 0; i < e->ntypes; i++) {
                if (strncmp(e->types[i], name, strlen(name)) == 0 &&
                    e->types[i][strlen(name)] == ' ') {
                    print_error("line %d: second TYPE for %s\n", lineno, name);
                    return -1;
                }
            }
            assert_true(e->ntypes < 256);
            snprintf(e->types[e->ntypes++], sizeof e->types[0], "%s %s", name, type);
            continue;
        }
        if (line[0] == '#' || line[0] == '\0') {
            print_error("line %d: unexpected: '%s'\n", lineno, line);
            return -1;
        }
        /* A sample. */
        const char *q = line;
        char name[256];
        size_t k = 0;
        while (name_char(*q, k == 0) && k + 1 < sizeof name) {
            name[k++] = *q++;
        }
        name[k] = '\0';
        if (k == 0) {
            print_error("line %d: no metric name: %s\n", lineno, line);
            return -1;
        }
        if (*q == '{') {
            q++;
            while (*q != '}') {
                if (!name_char(*q, 1)) {
                    print_error("line %d: bad label name: %s\n", lineno, line);
                    return -1;
                }
                while (name_char(*q, 0)) {
                    q++;
                }
                if (q[0] != '=' || q[1] != '"') {
                    print_error("line %d: label without =\"...\": %s\n", lineno, line);
                    return -1;
                }
                q += 2;
                while (*q != '"') {
                    if (*q == '\0' || *q == '\n') {
                        print_error("line %d: unterminated label value\n", lineno);
                        return -1;
                    }
                    if (*q == '\\') {
                        if (q[1] != '\\' && q[1] != '"' && q[1] != 'n') {
                            print_error("line %d: bad escape\n", lineno);
                            return -1;
                        }
                        q++;
                    }
                    q++;
                }
                q++;
                if (*q == ',') {
                    q++;
                } else if (*q != '}') {
                    print_error("line %d: expected , or }: %s\n", lineno, line);
                    return -1;
                }
            }
            q++;
        }
        if (*q != ' ') {
            print_error("line %d: expected a space before the value: %s\n", lineno, line);
            return -1;
        }
        size_t keylen = (size_t)(q - line);
        char *end = NULL;
        double v = strtod(q + 1, &end);
        if (end == q + 1 || *end != '\0') {
            print_error("line %d: bad value: %s\n", lineno, line);
            return -1;
        }
        if (family_type(e, name) == NULL) {
            print_error("line %d: sample of %s before its TYPE\n", lineno, name);
            return -1;
        }
        assert_true(e->n < MAX_SAMPLES);
        assert_true(keylen < sizeof e->s[0].key);
        memcpy(e->s[e->n].key, line, keylen);
        e->s[e->n].key[keylen] = '\0';
        for (size_t i = 0; i < e->n; i++) {
            if (strcmp(e->s[i].key, e->s[e->n].key) == 0) {
                print_error("line %d: duplicate series %s\n", lineno, e->s[e->n].key);
                return -1;
            }
        }
        e->s[e->n].value = v;
        e->n++;
    }
    return 0;
}

/* The value of series `key` (name{labels} as rendered); fails the test
 * when it is missing. */
static double val(const exposition *e, const char *key)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->s[i].key, key) == 0) {
            return e->s[i].value;
        }
    }
    print_error("no series %s\n", key);
    fail();
    return 0;
}

/* Buckets of histogram `name` with `labels` ("" or "direction=\"x\",")
 * never decrease and end at _count. */
static void check_histogram(const exposition *e, const char *name, const char *labels)
{
    double last = 0;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s_bucket{%sle=\"", name, labels);
    size_t buckets = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->s[i].key, prefix, strlen(prefix)) == 0) {
            assert_true(e->s[i].value >= last);
            last = e->s[i].value;
            buckets++;
        }
    }
    assert_true(buckets >= 10);
    char key[300];
    snprintf(key, sizeof key, "%s_bucket{%sle=\"+Inf\"}", name, labels);
    double inf = val(e, key);
    if (labels[0] != '\0') {
        char l[200];
        snprintf(l, sizeof l, "%.*s", (int)strlen(labels) - 1, labels); /* no trailing comma */
        snprintf(key, sizeof key, "%s_count{%s}", name, l);
    } else {
        snprintf(key, sizeof key, "%s_count", name);
    }
    assert_true(inf == val(e, key));
}

/* --- an HTTP client ----------------------------------------------------------- */

/* Send `request`, read the answer until EOF (at most `cap` - 1 bytes).
 * Returns the bytes read, or -1. */
static long http(uint16_t port, const char *request, char *buf, size_t cap)
{
    int fd = rc_tcp_connect(port);
    if (fd < 0) {
        return -1;
    }
    size_t len = strlen(request);
    if (write(fd, request, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)TEST_TIMEOUT_MS) != 1) {
            close(fd);
            return -1;
        }
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0 || got + (size_t)n == cap - 1) {
            got += (size_t)n;
            break;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return (long)got;
}

/* Wait until the server ends the connection: EOF (closed at once, over
 * the limit) or a reset (cut at the timeout). 0, or -1 at the deadline. */
static int wait_cut(int fd, unsigned timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    char b[256];
    for (;;) {
        if (poll(&pfd, 1, (int)timeout_ms) != 1) {
            return -1;
        }
        ssize_t n = read(fd, b, sizeof b);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return 0;
        }
        if (n < 0) {
            return -1;
        }
    }
}

static char g_buf[1 << 20];
static exposition g_exp;

/* GET /metrics through the endpoint, checked and parsed into g_exp. */
static void scrape(rt_fixture *f)
{
    uint16_t port = memtls_server_metrics_port(f->srv);
    assert_true(port != 0);
    long n = http(port, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n", g_buf, sizeof g_buf);
    assert_true(n > 0);
    assert_true(strncmp(g_buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(g_buf, "Content-Type: text/plain; version=0.0.4"));
    char *body = strstr(g_buf, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    const char *cl = strstr(g_buf, "Content-Length: ");
    assert_non_null(cl);
    assert_int_equal(strtoul(cl + 16, NULL, 10), strlen(body));
    assert_int_equal(parse_exposition(body, &g_exp), 0);
}

static void use_metrics(rt_fixture *f)
{
    f->opts.metrics_host = "127.0.0.1";
    f->opts.metrics_port = 0;
}

/* --- tests ------------------------------------------------------------------------ */

#define CLIENTS 6
#define BYTES 50000

/* Test: CLIENTS connections with an echo of BYTES each: the counters say
 * so, every histogram is consistent, probes crossed both rings, and the
 * library's text parses the same as the endpoint's. */
static void count_traffic(rt_fixture *f)
{
    use_metrics(f);
    rt_start(f);

    rc_how how = {.port = f->port, .ca = &f->pki.ca, .plaintext = rt_plaintext(f)};
    /* A scrape while the traffic runs parses too. */
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(c, 99, BYTES, TEST_TIMEOUT_MS), 0);
    scrape(f);
    assert_true(val(&g_exp, "memtls_connections_open") == 1);
    double open = 0;
    for (unsigned w = 0; w < f->opts.workers; w++) {
        char key[80];
        snprintf(key, sizeof key, "memtls_worker_connections_open{worker=\"%u\"}", w);
        open += val(&g_exp, key);
    }
    assert_true(open == 1);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    assert_int_equal(rc_echo_clients(&how, CLIENTS - 1, 1, BYTES, 0, 30000), 0);
    assert_int_equal(rc_log_wait(&f->log, CLIENTS, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_wait_open(f->srv, 0, TEST_TIMEOUT_MS), 0);

    scrape(f);
    const exposition *e = &g_exp;
    assert_true(val(e, "memtls_connections_accepted_total") == CLIENTS);
    assert_true(val(e, "memtls_connections_refused_total") == 0);
    assert_true(val(e, "memtls_connections_open") == 0);
    memtls_server_stats st;
    assert_int_equal(memtls_server_get_stats(f->srv, &st), 0);
    for (unsigned w = 0; w < st.workers; w++) {
        char key[80];
        snprintf(key, sizeof key, "memtls_worker_connections_open{worker=\"%u\"}", w);
        assert_true(val(e, key) == 0);
    }
    /* The clients closed first (close_notify / FIN): "peer closed". */
    assert_true(val(e, "memtls_connections_closed_total{reason=\"peer_closed\"}") == CLIENTS);
    assert_true(val(e, "memtls_connections_closed_total{reason=\"refused\"}") == 0);
    double tls13 = val(e, "memtls_handshakes_total{version=\"TLSv1.3\",resumed=\"no\"}");
    assert_true(tls13 == (rt_plaintext(f) ? 0 : CLIENTS));
    assert_true(val(e, "memtls_handshakes_total{version=\"TLSv1.2\",resumed=\"no\"}") == 0);
    assert_true(val(e, "memtls_handshake_duration_seconds_count") == tls13);
    assert_true(val(e, "memtls_connection_duration_seconds_count") == CLIENTS);
    assert_true(val(e, "memtls_backend_connect_duration_seconds_count") == 0);
    /* Every byte the clients sent arrived and came back (ciphertext is
     * more; plaintext exactly that). */
    double in = val(e, "memtls_received_bytes_total{peer=\"client\"}");
    double out = val(e, "memtls_sent_bytes_total{peer=\"client\"}");
    assert_true(in >= (double)CLIENTS * BYTES && out >= (double)CLIENTS * BYTES);
    if (rt_plaintext(f)) {
        assert_true(in == (double)CLIENTS * BYTES && out == (double)CLIENTS * BYTES);
    }
    assert_true(val(e, "memtls_received_bytes_total{peer=\"backend\"}") == 0);
    check_histogram(e, "memtls_handshake_duration_seconds", "");
    check_histogram(e, "memtls_connection_duration_seconds", "");
    check_histogram(e, "memtls_backend_connect_duration_seconds", "");
    check_histogram(e, "memtls_ring_delay_seconds", "direction=\"to_worker\",");
    check_histogram(e, "memtls_ring_delay_seconds", "direction=\"to_host\",");
    /* Traffic crossed both rings: each got at least one probe. */
    assert_true(val(e, "memtls_ring_delay_seconds_count{direction=\"to_worker\"}") >= 1);
    assert_true(val(e, "memtls_ring_delay_seconds_count{direction=\"to_host\"}") >= 1);
    /* Which workers the clients reached depends on SO_REUSEPORT's hash:
     * messages went through some worker's ring. */
    double msgs = 0;
    for (unsigned w = 0; w < f->opts.workers; w++) {
        char key[96];
        snprintf(key, sizeof key,
                 "memtls_ring_messages_total{worker=\"%u\",direction=\"to_worker\"}", w);
        msgs += val(e, key);
    }
    assert_true(msgs > 0);
    assert_true(val(e, "memtls_ring_used_bytes{worker=\"1\",direction=\"to_host\"}") == 0);
    assert_true(val(e, "memtls_ring_capacity_bytes") > 0);
    if (!rt_plaintext(f)) {
        /* The fixture's certificate is valid for a while yet. */
        double exp = val(e, "memtls_certificate_not_after_seconds{subject=\"CN=localhost\"}");
        assert_true(exp > (double)time(NULL));
    }

    /* The library's text parses the same way and agrees. */
    size_t need = 0;
    assert_int_equal(memtls_server_metrics(f->srv, NULL, 0, &need), MEMTLS_ERR_TOO_SMALL);
    assert_true(need > 1000);
    assert_int_equal(memtls_server_metrics(f->srv, g_buf, 10, &need), MEMTLS_ERR_TOO_SMALL);
    size_t len = 0;
    assert_int_equal(memtls_server_metrics(f->srv, g_buf, sizeof g_buf, &len), 0);
    assert_int_equal(strlen(g_buf), len);
    static exposition lib;
    assert_int_equal(parse_exposition(g_buf, &lib), 0);
    assert_true(val(&lib, "memtls_connections_accepted_total") == CLIENTS);
    assert_true(val(&lib, "memtls_connection_duration_seconds_count") == CLIENTS);
    rt_finish(f, CLIENTS);
}

/* Two workers run by the one I/O thread or on threads of their own. */
static void test_metrics_count_traffic(void **state)
{
    rt_fixture *f = *state;
    f->opts.io_threads = 1;
    f->opts.workers = 2;
    count_traffic(f);
}

/* Two I/O threads with two worker threads each: every probe comes back to
 * the histogram of its own worker's host. */
static void test_metrics_count_traffic_threads(void **state)
{
    rt_fixture *f = *state;
    f->opts.io_threads = 2;
    f->opts.workers = 4;
    f->opts.worker_mode = MEMTLS_WORKERS_THREADS;
    count_traffic(f);
}

/* Test: the proxy's backend connect is timed, and a refused one is the
 * close reason "backend_connect_failed". */
static void test_metrics_backend_connect(void **state)
{
    rt_fixture *f = *state;
    use_metrics(f);
    f->opts.app = MEMTLS_APP_PROXY;
    f->opts.backend_host = "127.0.0.1";
    f->opts.backend_port = rc_unused_port();
    rt_start(f);
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_not_equal(rc_echo(c, 1, 100, TEST_TIMEOUT_MS), 0);
    rc_free(c);
    assert_int_equal(rc_log_wait(&f->log, 1, TEST_TIMEOUT_MS), 0);
    scrape(f);
    assert_true(val(&g_exp, "memtls_backend_connect_duration_seconds_count") == 1);
    assert_true(val(&g_exp, "memtls_connections_closed_total{reason=\"backend_connect_failed\"}") ==
                1);
    assert_true(val(&g_exp, "memtls_connections_failed_total") == 1);
    rt_finish(f, 1);
}

/* Test: a connection over the cap is "refused". */
static void test_metrics_refused(void **state)
{
    rt_fixture *f = *state;
    use_metrics(f);
    f->opts.max_connections = 1;
    rt_start(f);
    rc_conn *a = rt_connect(f, (rc_how){0});
    int x = rc_tcp_connect(f->port);
    assert_true(x >= 0);
    assert_int_equal(rc_fd_wait_eof(x, NULL, TEST_TIMEOUT_MS), 0);
    close(x);
    scrape(f);
    assert_true(val(&g_exp, "memtls_connections_closed_total{reason=\"refused\"}") == 1);
    assert_true(val(&g_exp, "memtls_connections_refused_total") == 1);
    assert_true(val(&g_exp, "memtls_connections_accepted_total") == 2);
    assert_int_equal(rc_close(a, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 2);
}

/* Test: other paths, methods and malformed or oversized requests get their
 * HTTP errors; HEAD gets the head only. */
static void test_metrics_http_answers(void **state)
{
    rt_fixture *f = *state;
    use_metrics(f);
    rt_start(f);
    uint16_t port = memtls_server_metrics_port(f->srv);
    static const struct {
        const char *request;
        const char *status;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
        {"GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"},
        {"GET /metrics?x=1 HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
        {"GET /metrics HTTP/1.0\n\n", "HTTP/1.1 200 OK\r\n"},
        {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
         "HTTP/1.1 405 Method Not Allowed\r\n"},
        {"GET /metrics\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"GET /metrics SMTP/1.0\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
        {"HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long n = http(port, cases[i].request, g_buf, sizeof g_buf);
        if (n <= 0 || strncmp(g_buf, cases[i].status, strlen(cases[i].status)) != 0) {
            print_error("request %zu: got '%.60s'\n", i, n > 0 ? g_buf : "(nothing)");
            fail();
        }
    }
    /* HEAD: the length of the body, but no body. */
    char *end = strstr(g_buf, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(end[4], '\0');
    assert_true(strtoul(strstr(g_buf, "Content-Length: ") + 16, NULL, 10) > 1000);

    /* A request head over 4 KiB. */
    static char big[8192];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    long n = http(port, big, g_buf, sizeof g_buf);
    assert_true(n > 0);
    assert_true(strncmp(g_buf, "HTTP/1.1 431 ", 13) == 0);
    rt_finish(f, 0);
}

/* Test: scrapers that connect and never send a request are cut (reset)
 * after the endpoint's timeout (5 s), the ones over its limit closed at
 * once, while TLS traffic flows; the endpoint serves again afterwards. */
static void test_metrics_idle_scrapers_cut(void **state)
{
    rt_fixture *f = *state;
    use_metrics(f);
    rt_start(f);
    uint16_t port = memtls_server_metrics_port(f->srv);
    enum { IDLE = 20 }; /* more than the endpoint's 16 at once */
    int fds[IDLE];
    for (int i = 0; i < IDLE; i++) {
        fds[i] = rc_tcp_connect(port);
        assert_true(fds[i] >= 0);
    }
    /* Meanwhile TLS traffic flows. */
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(c, 5, 100000, TEST_TIMEOUT_MS), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < IDLE; i++) {
        assert_int_equal(wait_cut(fds[i], 5000 + TEST_TIMEOUT_MS), 0);
        close(fds[i]);
    }
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited < 5.0 + TEST_TIMEOUT_MS / 1000.0);
    scrape(f);
    assert_true(val(&g_exp, "memtls_connections_open") == 1);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    rt_finish(f, 1);
}

/* Test: without metrics there is nothing to render and no endpoint. */
static void test_metrics_off(void **state)
{
    rt_fixture *f = *state;
    rt_start(f);
    size_t len = 1;
    assert_int_equal(memtls_server_metrics(f->srv, g_buf, sizeof g_buf, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(len, 0);
    assert_int_equal(memtls_server_metrics_port(f->srv), 0);
    assert_int_equal(memtls_server_metrics(NULL, g_buf, sizeof g_buf, &len), MEMTLS_ERR_INVALID);
    assert_int_equal(memtls_server_metrics_port(NULL), 0);
    rt_finish(f, 0);
}

/* Test: metrics without an endpoint are rendered by the library. */
static void test_metrics_without_endpoint(void **state)
{
    rt_fixture *f = *state;
    f->opts.metrics = 1;
    rt_start(f);
    assert_int_equal(memtls_server_metrics_port(f->srv), 0);
    rc_conn *c = rt_connect(f, (rc_how){0});
    assert_int_equal(rc_echo(c, 7, 1000, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_close(c, TEST_TIMEOUT_MS), 0);
    assert_int_equal(rc_log_wait(&f->log, 1, TEST_TIMEOUT_MS), 0);
    size_t len = 0;
    assert_int_equal(memtls_server_metrics(f->srv, g_buf, sizeof g_buf, &len), 0);
    assert_int_equal(parse_exposition(g_buf, &g_exp), 0);
    assert_true(val(&g_exp, "memtls_connection_duration_seconds_count") == 1);
    rt_finish(f, 1);
}

/* Test: a bad or busy metrics address fails memtls_server_new, named. */
static void test_metrics_bad_address(void **state)
{
    rt_fixture *f = *state;
    char err[256];
    f->opts.metrics_host = "localhost";
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    assert_non_null(strstr(err, "metrics localhost:0: invalid address"));

    uint16_t port = 0;
    int busy = rc_listen(&port);
    f->opts.metrics_host = "127.0.0.1";
    f->opts.metrics_port = port;
    assert_null(memtls_server_new(&f->opts, err, sizeof err));
    close(busy);
    char want[64];
    snprintf(want, sizeof want, "metrics 127.0.0.1:%u: address already in use", (unsigned)port);
    if (strstr(err, want) == NULL) {
        print_error("got '%s'\n", err);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        RT_TEST(test_metrics_count_traffic, rt_setup),
        RT_TEST(test_metrics_count_traffic, rt_setup_plaintext),
        RT_TEST(test_metrics_count_traffic_threads, rt_setup),
        RT_TEST(test_metrics_backend_connect, rt_setup),
        RT_TEST(test_metrics_refused, rt_setup),
        RT_TEST(test_metrics_http_answers, rt_setup),
        RT_TEST(test_metrics_idle_scrapers_cut, rt_setup),
        RT_TEST(test_metrics_off, rt_setup),
        RT_TEST(test_metrics_without_endpoint, rt_setup),
        RT_TEST(test_metrics_bad_address, rt_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
