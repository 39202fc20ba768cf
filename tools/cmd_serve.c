/*
 * cmd_serve.c - `memtls serve`: the TLS terminator. Parses the options
 * into memtls_server_opts (server.h), starts the runtime, and then waits
 * for signals in the main thread with sigwait(): SIGINT/SIGTERM stop the
 * server gracefully, SIGHUP reloads the certificate, SIGUSR1 logs a
 * status line. The signals are
 * blocked before any runtime thread exists, so they inherit the mask and
 * only the main thread ever sees them.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <memtls/pki.h>
#include <memtls/server.h>

#include "args.h"
#include "cmds.h"
#include "log.h"
#include "tlsconf.h"

#define SERVE_MAX_LISTENERS 16
#define SERVE_DEFAULT_GRACE_MS 5000

typedef struct serve_opts {
    args_hostport addrs[SERVE_MAX_LISTENERS];
    memtls_listener_opts listeners[SERVE_MAX_LISTENERS];
    size_t listener_count;
    int proxy;
    args_hostport backend;
    const char *cert;
    const char *key;
    const char *ca;
    int verify; /* -1: not given */
    strvec allow;
    strvec alpn;
    int min_version;
    const char *ciphers;
    const char *ciphersuites;
    unsigned long workers;
    unsigned long max_conns;
    unsigned long handshake_timeout;
    unsigned long idle_timeout;
    unsigned long grace_ms;
    tool_level level;
    /* The ephemeral certificate when no --cert/--key is given. */
    memtls_pem ephemeral;
} serve_opts;

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: memtls serve [options]\n"
            "\n"
            "Terminate TLS: sockets live in one host I/O thread that only moves ciphertext,\n"
            "TLS runs in worker threads. The plaintext is echoed back (--echo, default) or\n"
            "proxied to a plaintext TCP backend (--backend). Without --cert/--key an\n"
            "ephemeral self-signed ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1\n"
            "is made and its SHA-256 fingerprint printed.\n"
            "\n"
            "listeners and application:\n"
            "  --listen ADDR:PORT[,plaintext]  listen here (repeatable; default\n"
            "                       127.0.0.1:8443; IPv6 as [::1]:8443; port 0 picks one;\n"
            "                       ',plaintext' for a listener without TLS)\n"
            "  --echo               echo the plaintext back (default)\n"
            "  --backend HOST:PORT  proxy each connection to this plaintext TCP backend\n"
            "TLS:\n"
            "  --cert FILE          certificate chain (PEM), leaf first\n"
            "  --key FILE           its private key (PEM)\n"
            "  --ca FILE            CA bundle (PEM) for client certificates\n"
            "  --verify-client none|optional|required\n"
            "                       ask for client certificates (default: required with\n"
            "                       --ca, none without)\n"
            "  --allow-san NAME     accept only clients whose certificate names NAME (DNS\n"
            "                       or IP SAN, or CN); repeatable or comma separated\n"
            "  --alpn LIST          ALPN protocols, most preferred first (h2,http/1.1)\n"
            "  --min-tls 1.2|1.3    lowest protocol version (default 1.2)\n"
            "  --ciphers LIST       TLS 1.2 ciphers, OpenSSL syntax (AEAD only)\n"
            "  --ciphersuites LIST  TLS 1.3 cipher suites, OpenSSL syntax\n"
            "runtime:\n"
            "  --workers N          TLS worker threads, 1..64 (default: CPUs - 1, at least 1)\n"
            "  --max-conns N        open connections at most (default 10000)\n"
            "  --handshake-timeout MS  (default 10000)\n"
            "  --idle-timeout MS    close connections idle this long (default 300000)\n"
            "  --grace MS           on SIGINT/SIGTERM, wait this long for connections to\n"
            "                       finish (default 5000)\n"
            "  --log-level error|warn|info|debug   (default info)\n"
            "  -h, --help           this help\n"
            "\n"
            "Signals: SIGINT/SIGTERM stop gracefully and exit 0; SIGHUP reloads --cert,\n"
            "--key and --ca for new handshakes (live connections are kept); SIGUSR1\n"
            "logs a status line (connections, bytes, ring high-water marks and refusals).\n");
}

/* "ADDR:PORT[,plaintext]" into listener number opts->listener_count. */
static int add_listener(serve_opts *o, const char *text)
{
    char addr[300];
    int plaintext = 0;
    const char *comma = strchr(text, ',');
    size_t len = comma != NULL ? (size_t)(comma - text) : strlen(text);

    if (o->listener_count == SERVE_MAX_LISTENERS) {
        tool_error("--listen: at most %d listeners", SERVE_MAX_LISTENERS);
        return TOOL_EXIT_USAGE;
    }
    if (comma != NULL) {
        if (strcmp(comma + 1, "plaintext") == 0) {
            plaintext = 1;
        } else if (strcmp(comma + 1, "tls") != 0) {
            tool_error("--listen '%s': unknown flag '%s' (expected 'plaintext')", text, comma + 1);
            return TOOL_EXIT_USAGE;
        }
    }
    if (len >= sizeof addr) {
        tool_error("--listen '%s': too long", text);
        return TOOL_EXIT_USAGE;
    }
    memcpy(addr, text, len);
    addr[len] = '\0';
    args_hostport *hp = &o->addrs[o->listener_count];
    if (args_parse_hostport("--listen", addr, 1, 1, hp) != 0) {
        return TOOL_EXIT_USAGE;
    }
    memtls_listener_opts *l = &o->listeners[o->listener_count++];
    l->host = hp->host;
    l->port = hp->port;
    l->plaintext = plaintext;
    return 0;
}

static int parse_verify(const char *text, int *out)
{
    static const char *const names[] = {"none", "optional", "required"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    tool_error("--verify-client '%s': expected none, optional or required", text);
    return TOOL_EXIT_USAGE;
}

static int parse_serve_args(int argc, char *argv[], serve_opts *o)
{
    enum {
        O_LISTEN = 256,
        O_ECHO,
        O_BACKEND,
        O_CERT,
        O_KEY,
        O_CA,
        O_VERIFY,
        O_ALLOW,
        O_ALPN,
        O_MIN,
        O_CIPHERS,
        O_SUITES,
        O_WORKERS,
        O_MAXCONNS,
        O_HSTIMEOUT,
        O_IDLE,
        O_GRACE,
        O_LEVEL
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"echo", no_argument, NULL, O_ECHO},
        {"backend", required_argument, NULL, O_BACKEND},
        {"cert", required_argument, NULL, O_CERT},
        {"key", required_argument, NULL, O_KEY},
        {"ca", required_argument, NULL, O_CA},
        {"verify-client", required_argument, NULL, O_VERIFY},
        {"allow-san", required_argument, NULL, O_ALLOW},
        {"alpn", required_argument, NULL, O_ALPN},
        {"min-tls", required_argument, NULL, O_MIN},
        {"ciphers", required_argument, NULL, O_CIPHERS},
        {"ciphersuites", required_argument, NULL, O_SUITES},
        {"workers", required_argument, NULL, O_WORKERS},
        {"max-conns", required_argument, NULL, O_MAXCONNS},
        {"handshake-timeout", required_argument, NULL, O_HSTIMEOUT},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"grace", required_argument, NULL, O_GRACE},
        {"log-level", required_argument, NULL, O_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    int echo = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case O_LISTEN:
            rc = add_listener(o, optarg);
            break;
        case O_ECHO:
            echo = 1;
            break;
        case O_BACKEND:
            o->proxy = 1;
            rc = args_parse_hostport("--backend", optarg, 1, 0, &o->backend);
            break;
        case O_CERT:
            o->cert = optarg;
            break;
        case O_KEY:
            o->key = optarg;
            break;
        case O_CA:
            o->ca = optarg;
            break;
        case O_VERIFY:
            rc = parse_verify(optarg, &o->verify);
            break;
        case O_ALLOW:
            rc = args_split_list("--allow-san", optarg, &o->allow);
            break;
        case O_ALPN:
            rc = args_split_list("--alpn", optarg, &o->alpn);
            break;
        case O_MIN:
            rc = args_parse_tls_version("--min-tls", optarg, &o->min_version);
            break;
        case O_CIPHERS:
            o->ciphers = optarg;
            break;
        case O_SUITES:
            o->ciphersuites = optarg;
            break;
        case O_WORKERS:
            rc = args_parse_uint("--workers", optarg, 1, 64, &o->workers);
            break;
        case O_MAXCONNS:
            rc = args_parse_uint("--max-conns", optarg, 1, 1000000, &o->max_conns);
            break;
        case O_HSTIMEOUT:
            rc = args_parse_uint("--handshake-timeout", optarg, 1, 3600000, &o->handshake_timeout);
            break;
        case O_IDLE:
            rc = args_parse_uint("--idle-timeout", optarg, 1, 86400000, &o->idle_timeout);
            break;
        case O_GRACE:
            rc = args_parse_uint("--grace", optarg, 0, 3600000, &o->grace_ms);
            break;
        case O_LEVEL:
            if (tool_log_parse_level(optarg, &o->level) != 0) {
                tool_error("--log-level '%s': expected error, warn, info or debug", optarg);
                rc = TOOL_EXIT_USAGE;
            }
            break;
        case 'h':
            serve_usage(stdout);
            return -1;
        default:
            return args_getopt_error(c, argv);
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        tool_error("unexpected argument '%s' (see 'memtls serve --help')", argv[optind]);
        return TOOL_EXIT_USAGE;
    }
    if (echo && o->proxy) {
        tool_error("--echo and --backend exclude each other");
        return TOOL_EXIT_USAGE;
    }
    if ((o->cert == NULL) != (o->key == NULL)) {
        tool_error("%s given without %s", o->cert != NULL ? "--cert" : "--key",
                   o->cert != NULL ? "--key" : "--cert");
        return TOOL_EXIT_USAGE;
    }
    if (o->verify < 0) {
        o->verify = o->ca != NULL ? MEMTLS_VERIFY_REQUIRED : MEMTLS_VERIFY_NONE;
    }
    if (o->verify != MEMTLS_VERIFY_NONE && o->ca == NULL) {
        tool_error("--verify-client %s needs --ca FILE",
                   o->verify == MEMTLS_VERIFY_REQUIRED ? "required" : "optional");
        return TOOL_EXIT_USAGE;
    }
    if (o->allow.n > 0 && o->verify == MEMTLS_VERIFY_NONE) {
        tool_error("--allow-san needs client certificates (--ca FILE, --verify-client "
                   "optional|required)");
        return TOOL_EXIT_USAGE;
    }
    if (o->listener_count == 0 && add_listener(o, "127.0.0.1:8443") != 0) {
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

static int needs_tls(const serve_opts *o)
{
    for (size_t i = 0; i < o->listener_count; i++) {
        if (!o->listeners[i].plaintext) {
            return 1;
        }
    }
    return 0;
}

/* Make the ephemeral self-signed certificate and print its fingerprint. */
static int make_ephemeral(serve_opts *o)
{
    static const char *const sans[] = {"localhost", "127.0.0.1", "::1"};
    const memtls_cert_spec spec = {
        MEMTLS_KEY_EC_P256, MEMTLS_CERT_SERVER, "localhost", sans, 3, 0, 0};
    char err[512] = "";
    char fp[96];
    if (memtls_pki_make(&spec, NULL, &o->ephemeral, err, sizeof err) != 0 ||
        memtls_pem_fingerprint(&o->ephemeral, fp) != 0) {
        tool_error("cannot make the ephemeral certificate: %s", err[0] ? err : "failed");
        return TOOL_EXIT_FAIL;
    }
    printf("no --cert/--key: using an ephemeral self-signed certificate for localhost, "
           "127.0.0.1, ::1\n"
           "certificate SHA-256 fingerprint %s\n",
           fp);
    fflush(stdout);
    return 0;
}

/* A configuration from the options, and the fingerprint of --cert in fp;
 * the files are read again on each call (SIGHUP). Returns 0 or
 * TOOL_EXIT_FAIL with the reason in err. */
static int build_config(const serve_opts *o, memtls_config **out, char *fp, char *err,
                        size_t errlen)
{
    tlsconf_opts t;
    memset(&t, 0, sizeof t);
    t.cert = o->cert;
    t.key = o->key;
    t.ca = o->ca;
    t.cert_pem = o->ephemeral.cert;
    t.key_pem = o->ephemeral.key;
    t.verify = (memtls_verify)o->verify;
    t.alpn = &o->alpn;
    t.min_version = o->min_version;
    t.ciphers = o->ciphers;
    t.ciphersuites = o->ciphersuites;
    return tlsconf_build(MEMTLS_ROLE_SERVER, &t, out, fp, err, errlen);
}

/* --- logging callbacks (any thread) --------------------------------------- */

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static void on_conn_log(void *arg, const memtls_conn_record *r)
{
    tool_log(r->clean ? TOOL_LOG_INFO : TOOL_LOG_WARN,
             "conn=%llu peer=%s listener=%zu%s sni=%s version=%s cipher=%s alpn=%s "
             "subject=\"%s\" bytes_in=%llu bytes_out=%llu app_in=%llu app_out=%llu "
             "duration_ms=%llu close=\"%s\"",
             (unsigned long long)r->id, or_dash(r->peer), r->listener,
             r->plaintext ? "(plaintext)" : "", or_dash(r->sni), or_dash(r->version),
             or_dash(r->cipher), or_dash(r->alpn), r->subject != NULL ? r->subject : "",
             (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
             (unsigned long long)r->app_in, (unsigned long long)r->app_out,
             (unsigned long long)r->duration_ms, or_dash(r->reason));
}

static void on_log(void *arg, memtls_log_level level, const char *line)
{
    /* The command prints its own "listening on" lines on stdout (scripts
     * wait for them); the runtime's copies would only repeat them. */
    if (strncmp(line, "listening on ", 13) == 0) {
        return;
    }
    tool_log((tool_level)level, "%s", line);
}

/* --- running -------------------------------------------------------------- */

static void print_listening(const serve_opts *o, const memtls_server *srv)
{
    for (size_t i = 0; i < o->listener_count; i++) {
        const args_hostport *hp = &o->addrs[i];
        printf(hp->is_v6 ? "listening on [%s]:%u (%s)\n" : "listening on %s:%u (%s)\n", hp->host,
               (unsigned)memtls_server_bound_port(srv, i),
               o->listeners[i].plaintext ? "plaintext" : "tls");
    }
    if (o->proxy) {
        printf(o->backend.is_v6 ? "proxying to [%s]:%u\n" : "proxying to %s:%u\n", o->backend.host,
               (unsigned)o->backend.port);
    } else {
        printf("echoing\n");
    }
    fflush(stdout);
}

static void reload(const serve_opts *o, memtls_server *srv)
{
    memtls_config *cfg = NULL;
    char err[700];
    char fp[96];

    if (o->cert == NULL && o->ca == NULL) {
        tool_log(TOOL_LOG_WARN, "SIGHUP: no --cert/--key/--ca files to reload; nothing changed");
        return;
    }
    if (build_config(o, &cfg, fp, err, sizeof err) != 0) {
        tool_log(TOOL_LOG_ERROR, "SIGHUP: reload failed, keeping the previous certificate: %s",
                 err);
        return;
    }
    int rc = memtls_server_reload(srv, cfg);
    memtls_config_free(cfg);
    if (rc != 0) {
        tool_log(TOOL_LOG_ERROR, "SIGHUP: reload refused (%s), keeping the previous certificate",
                 memtls_status_name(rc));
        return;
    }
    tool_log(TOOL_LOG_INFO, "SIGHUP: reloaded %s (SHA-256 %s); new handshakes use it",
             o->cert != NULL ? o->cert : "--ca", fp[0] ? fp : "-");
}

/* One status line: connections, bytes, and the rings' occupancy
 * high-water marks and refusals (writes that found a ring full). */
static void log_stats(const memtls_server *srv, const char *what)
{
    memtls_server_stats st;
    if (memtls_server_get_stats(srv, &st) != 0) {
        return;
    }
    tool_log(TOOL_LOG_INFO,
             "%s: connections open=%llu total=%llu refused=%llu failed=%llu bytes_in=%llu "
             "bytes_out=%llu backend_in=%llu backend_out=%llu workers=%u ring=%zu "
             "to_worker_high_water=%zu to_worker_refusals=%llu to_host_high_water=%zu "
             "to_host_refusals=%llu",
             what, (unsigned long long)st.conns_open, (unsigned long long)st.conns_total,
             (unsigned long long)st.conns_refused, (unsigned long long)st.conns_failed,
             (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
             (unsigned long long)st.backend_in, (unsigned long long)st.backend_out, st.workers,
             st.ring_capacity, st.to_worker_high_water, (unsigned long long)st.to_worker_refusals,
             st.to_host_high_water, (unsigned long long)st.to_host_refusals);
}

/* Wait for signals until SIGINT or SIGTERM. Returns the stopping signal. */
static int wait_signals(const serve_opts *o, memtls_server *srv, const sigset_t *set)
{
    for (;;) {
        int sig = 0;
        int rc = sigwait(set, &sig);
        if (rc != 0) {
            tool_log(TOOL_LOG_ERROR, "sigwait: %s", strerror(rc));
            return SIGTERM;
        }
        if (sig == SIGHUP) {
            reload(o, srv);
            continue;
        }
        if (sig == SIGUSR1) {
            log_stats(srv, "status");
            continue;
        }
        return sig;
    }
}

/*
 * Each connection needs one descriptor (two in proxy mode). Raise the soft
 * limit towards the hard one so --max-conns is reachable, and say so when
 * it is not: running out of descriptors makes accept() fail instead of
 * refusing cleanly at the cap.
 */
static void fit_fd_limit(const serve_opts *o)
{
    struct rlimit rl;
    unsigned long conns = o->max_conns ? o->max_conns : 10000;
    rlim_t need = (rlim_t)conns * (o->proxy ? 2 : 1) + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need) {
        return;
    }
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
    if (want > rl.rlim_cur) {
        rl.rlim_cur = want;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        tool_log(TOOL_LOG_WARN,
                 "file descriptor limit %llu is below what --max-conns %lu needs (%llu); "
                 "raise it (ulimit -n) or lower --max-conns",
                 (unsigned long long)rl.rlim_cur, conns, (unsigned long long)need);
    }
}

static int serve(serve_opts *o)
{
    memtls_config *cfg = NULL;
    memtls_server *srv = NULL;
    memtls_server_opts so;
    sigset_t set;
    char err[700];
    char fp[96] = "";
    int rc = TOOL_EXIT_FAIL;

    /* Before any thread exists: every runtime thread inherits the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        tool_error("cannot block signals");
        return TOOL_EXIT_FAIL;
    }
    signal(SIGPIPE, SIG_IGN);
    fit_fd_limit(o);

    if (needs_tls(o)) {
        if (o->cert == NULL && make_ephemeral(o) != 0) {
            goto out;
        }
        if (build_config(o, &cfg, fp, err, sizeof err) != 0) {
            tool_error("%s", err);
            goto out;
        }
        if (fp[0] != '\0') {
            printf("certificate %s SHA-256 fingerprint %s\n", o->cert, fp);
        }
    }

    memset(&so, 0, sizeof so);
    so.listeners = o->listeners;
    so.listener_count = o->listener_count;
    so.tls = cfg;
    so.app = o->proxy ? MEMTLS_APP_PROXY : MEMTLS_APP_ECHO;
    so.backend_host = o->proxy ? o->backend.host : NULL;
    so.backend_port = o->backend.port;
    so.workers = (unsigned)o->workers;
    so.max_connections = (unsigned)o->max_conns;
    so.handshake_timeout_ms = (unsigned)o->handshake_timeout;
    so.idle_timeout_ms = (unsigned)o->idle_timeout;
    so.allowed_peers = (const char *const *)o->allow.v;
    so.allowed_peer_count = o->allow.n;
    so.on_conn_log = on_conn_log;
    so.on_log = on_log;
    so.log_level = (memtls_log_level)o->level;

    err[0] = '\0';
    srv = memtls_server_new(&so, err, sizeof err);
    if (srv == NULL) {
        tool_error("%s", err[0] ? err : "cannot create the server");
        goto out;
    }
    int st = memtls_server_start(srv);
    if (st != 0) {
        tool_error("cannot start the server: %s", memtls_status_name(st));
        goto out;
    }
    print_listening(o, srv);

    int sig = wait_signals(o, srv, &set);
    tool_log(TOOL_LOG_INFO, "%s: stopping (grace %lu ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
             o->grace_ms);
    (void)memtls_server_stop(srv, (unsigned)o->grace_ms);
    log_stats(srv, "stopped");
    rc = TOOL_EXIT_OK;
out:
    memtls_server_free(srv);
    memtls_config_free(cfg);
    return rc;
}

int cmd_serve(int argc, char *argv[])
{
    serve_opts o;
    memset(&o, 0, sizeof o);
    o.verify = -1;
    o.grace_ms = SERVE_DEFAULT_GRACE_MS;
    o.level = TOOL_LOG_INFO;

    int rc = parse_serve_args(argc, argv, &o);
    if (rc == 0) {
        tool_log_set_level(o.level);
        rc = serve(&o);
    } else if (rc < 0) {
        rc = TOOL_EXIT_OK;
    }
    strvec_free(&o.allow);
    strvec_free(&o.alpn);
    memtls_pem_free(&o.ephemeral);
    return rc;
}
