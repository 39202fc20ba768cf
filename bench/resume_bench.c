/*
 * resume_bench.c - full vs resumed TLS handshakes through a running
 * `memtls serve` (echo), in the same run: connections per second as one
 * client sees them, and the server's CPU time per connection (from
 * /proc/PID/stat), which is what resumption saves a fleet.
 *
 *   resume_bench PORT SERVER_PID CA_FILE [SECONDS_PER_ROUND [ROUNDS]]
 *
 * Each connection: TCP connect, handshake (SNI "localhost", certificate
 * verified), a 1-byte echo (which also takes the TLS 1.3 tickets in),
 * close_notify both ways. "full" offers no session; "resumed" offers the
 * session of the previous connection (its newest ticket) and checks that
 * the server resumed it. Rounds alternate full / resumed for TLS 1.3 and
 * TLS 1.2, so a change in the machine's load hits both; the median of the
 * rounds is printed with the range. bench/resume.sh starts the server and
 * runs this.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process, in seconds. */
static double cpu_of(int pid)
{
    char path[64];
    char buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof buf, f) == NULL) {
        fprintf(stderr, "resume_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    /* Fields after the command name (which may hold spaces): state is
     * field 3, utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        fprintf(stderr, "resume_bench: cannot parse %s\n", path);
        exit(1);
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int tcp_connect(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("resume_bench: connect");
        exit(1);
    }
    return fd;
}

/* One connection; returns 1 if it was resumed. *sess is replaced by the
 * connection's newest session when keep is set. */
static int one(SSL_CTX *ctx, int port, SSL_SESSION **sess, int offer)
{
    int fd = tcp_connect(port);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (offer && *sess != NULL) {
        SSL_set_session(ssl, *sess);
    }
    char c = 'x';
    size_t n = 0;
    if (SSL_connect(ssl) != 1 || SSL_write_ex(ssl, &c, 1, &n) != 1 ||
        SSL_read_ex(ssl, &c, 1, &n) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "resume_bench: connection failed\n");
        exit(1);
    }
    int reused = SSL_session_reused(ssl);
    /* Clean close both ways: a session that ended without close_notify
     * cannot be resumed. */
    if (SSL_shutdown(ssl) == 0) {
        while (SSL_read_ex(ssl, &c, 1, &n) == 1) {
        }
    }
    if (offer) {
        SSL_SESSION_free(*sess);
        *sess = SSL_get1_session(ssl);
    }
    SSL_free(ssl);
    close(fd);
    return reused;
}

typedef struct result {
    double rate;      /* connections per second */
    double cpu_us;    /* server CPU per connection, microseconds */
    unsigned resumed; /* connections the server resumed */
    unsigned conns;
} result;

static result round_of(SSL_CTX *ctx, int port, int pid, int resume, double secs)
{
    SSL_SESSION *sess = NULL;
    result r = {0};
    if (resume) {
        one(ctx, port, &sess, 1); /* the first ticket */
    }
    double cpu0 = cpu_of(pid);
    double t0 = now_s();
    double t = t0;
    while (t - t0 < secs) {
        r.resumed += (unsigned)one(ctx, port, &sess, resume);
        r.conns++;
        t = now_s();
    }
    double cpu = cpu_of(pid) - cpu0;
    SSL_SESSION_free(sess);
    r.rate = r.conns / (t - t0);
    r.cpu_us = cpu * 1e6 / r.conns;
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *what, double *v, int n, const char *unit)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    printf("  %-30s %9.0f %s (range %.0f-%.0f)\n", what, v[n / 2], unit, v[0], v[n - 1]);
}

int main(int argc, char *argv[])
{
    if (argc < 4) {
        fprintf(stderr, "usage: resume_bench PORT SERVER_PID CA_FILE [SECONDS [ROUNDS]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int pid = atoi(argv[2]);
    double secs = argc > 4 ? atof(argv[4]) : 3.0;
    int rounds = argc > 5 ? atoi(argv[5]) : 5;
    if (rounds < 1 || rounds > 50 || secs <= 0) {
        fprintf(stderr, "resume_bench: 1..50 rounds of a positive number of seconds\n");
        return 2;
    }
    const int versions[2] = {TLS1_3_VERSION, TLS1_2_VERSION};
    printf("resume_bench: %d rounds x %.1f s per kind, %s\n", rounds, secs,
           OpenSSL_version(OPENSSL_VERSION));
    for (int v = 0; v < 2; v++) {
        SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
            fprintf(stderr, "resume_bench: cannot load %s\n", argv[3]);
            return 1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_min_proto_version(ctx, versions[v]);
        SSL_CTX_set_max_proto_version(ctx, versions[v]);
        double rate[2][50], cpu[2][50];
        for (int i = 0; i < rounds; i++) {
            for (int resume = 0; resume < 2; resume++) {
                result r = round_of(ctx, port, pid, resume, secs);
                if (resume && r.resumed != r.conns) {
                    fprintf(stderr, "resume_bench: only %u of %u connections resumed\n", r.resumed,
                            r.conns);
                    return 1;
                }
                if (!resume && r.resumed != 0) {
                    fprintf(stderr, "resume_bench: %u full connections resumed\n", r.resumed);
                    return 1;
                }
                rate[resume][i] = r.rate;
                cpu[resume][i] = r.cpu_us;
            }
        }
        printf("%s:\n", v == 0 ? "TLS 1.3" : "TLS 1.2");
        double ratio[50], cratio[50];
        for (int i = 0; i < rounds; i++) {
            ratio[i] = rate[1][i] / rate[0][i];
            cratio[i] = cpu[0][i] / cpu[1][i];
        }
        summary("full handshakes, conns/s", rate[0], rounds, "");
        summary("resumed, conns/s", rate[1], rounds, "");
        summary("full, server CPU per conn", cpu[0], rounds, "us");
        summary("resumed, server CPU per conn", cpu[1], rounds, "us");
        qsort(ratio, (size_t)rounds, sizeof ratio[0], cmp_double);
        qsort(cratio, (size_t)rounds, sizeof cratio[0], cmp_double);
        printf("  %-30s %9.2f (range %.2f-%.2f)\n", "conns/s resumed / full", ratio[rounds / 2],
               ratio[0], ratio[rounds - 1]);
        printf("  %-30s %9.2f (range %.2f-%.2f)\n", "server CPU full / resumed", cratio[rounds / 2],
               cratio[0], cratio[rounds - 1]);
        SSL_CTX_free(ctx);
    }
    return 0;
}
