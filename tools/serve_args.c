/* see serve_args.h */
#include "serve_args.h"

#include <string.h>

void serve_usage(FILE *out)
{
    fprintf(out, "usage: memtls serve [options]\n"
                 "\n"
                 "Terminate TLS: sockets live in I/O threads that only move ciphertext, TLS\n"
                 "runs in workers joined to them by ring buffers. The plaintext is echoed back\n"
                 "(--echo, default) or proxied to a plaintext TCP backend (--backend). Without\n"
                 "--cert/--key an\n"
                 "ephemeral self-signed ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1\n"
                 "is made and its SHA-256 fingerprint printed.\n"
                 "\n"
                 "listeners and application:\n"
                 "  --listen ADDR:PORT[,plaintext][,proxy]  listen here (repeatable; default\n"
                 "                       127.0.0.1:8443; IPv6 as [::1]:8443; port 0 picks one;\n"
                 "                       ',plaintext' for a listener without TLS; ',proxy' to\n"
                 "                       read a PROXY protocol v1/v2 header from a load\n"
                 "                       balancer first: its source address is the client's)\n"
                 "  --echo               echo the plaintext back (default)\n"
                 "  --backend HOST:PORT  proxy each connection to this plaintext TCP backend (a\n"
                 "                       name is resolved per connection, every address\n"
                 "                       tried in turn; results kept 10 s)\n"
                 "  --proxy-protocol v1|v2\n"
                 "                       start each backend connection with a PROXY header\n"
                 "                       (v2 adds the TLS version, cipher, SNI, ALPN and a\n"
                 "                       verified client certificate's CN)\n"
                 "TLS:\n"
                 "  --cert FILE          certificate chain (PEM), leaf first; repeatable\n"
                 "  --key FILE           its private key (PEM); one --key per --cert, in order.\n"
                 "                       A handshake gets the certificate that names its SNI\n"
                 "                       (exact, then wildcard; RSA and ECDSA for one name may\n"
                 "                       both be given), else the first\n"
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
                 "  --groups LIST        key exchange groups, most preferred first, ':'\n"
                 "                       separated (default X25519:P-256:X448:P-521:P-384;\n"
                 "                       ffdhe2048..ffdhe8192 only if named)\n"
                 "resumption (session tickets, TLS 1.2 and 1.3, on by default):\n"
                 "  --ticket-keys FILE   keys shared by a fleet: one base64 key of 80 bytes\n"
                 "                       per line (openssl rand 80 | base64 -w0); the first\n"
                 "                       encrypts, all decrypt; re-read on SIGHUP\n"
                 "  --ticket-rotate SECONDS\n"
                 "                       without --ticket-keys: a new key every SECONDS\n"
                 "                       (default 3600); old keys decrypt for the lifetime\n"
                 "  --ticket-lifetime SECONDS\n"
                 "                       how long a ticket resumes, up to 604800 (default 7200)\n"
                 "  --no-tickets         no resumption\n"
                 "runtime:\n"
                 "  --io-threads N       I/O threads, 1..64, each with its own listening socket\n"
                 "                       (default: the CPUs this process may use)\n"
                 "  --workers N          TLS workers, 1..64 (default: one per I/O thread, or\n"
                 "                       the CPUs the I/O threads leave over)\n"
                 "  --worker-threads auto|yes|no\n"
                 "                       workers on threads of their own, or run by their I/O\n"
                 "                       thread between socket events (default auto: threads\n"
                 "                       when every thread can have a CPU)\n"
                 "  --isolate            workers as sandboxed processes: this process (sockets,\n"
                 "                       I/O threads) never holds a key or a session secret;\n"
                 "                       a worker that dies is restarted, its connections closed\n"
                 "                       (default: one I/O thread per 4 CPUs, a worker per CPU)\n"
                 "  --user NAME          when started as root: after binding, run as NAME (with\n"
                 "                       --isolate the workers switch after loading the keys)\n"
                 "  --max-conns N        open connections at most (default 10000)\n"
                 "  --handshake-timeout MS  (default 10000)\n"
                 "  --idle-timeout MS    close connections idle this long (default 300000)\n"
                 "  --close-timeout MS   cut a closing connection whose peer takes none of our\n"
                 "                       last bytes for this long (default 5000)\n"
                 "  --backend-connect-timeout MS\n"
                 "                       give up a backend connect after this long (default 5000)\n"
                 "  --max-key-updates N  TLS 1.3 KeyUpdates a client may send, plus one per MiB\n"
                 "                       it sends (default 32); past it the connection ends\n"
                 "  --grace MS           on SIGINT/SIGTERM, wait this long for connections to\n"
                 "                       finish (default 5000)\n"
                 "  --log-level error|warn|info|debug   (default info)\n"
                 "observability:\n"
                 "  --metrics ADDR:PORT  serve Prometheus metrics over plain HTTP at\n"
                 "                       http://ADDR:PORT/metrics (default: off)\n"
                 "  --log-format text|json\n"
                 "                       log lines as text (default) or as one JSON object each\n"
                 "  -h, --help           this help\n"
                 "\n"
                 "Signals: SIGINT/SIGTERM stop gracefully and exit 0; SIGHUP reloads every\n"
                 "--cert/--key pair (one whose files fail keeps its previous certificate),\n"
                 "--ca and --ticket-keys for new handshakes (live connections are kept);\n"
                 "SIGUSR1 logs a status line (connections, bytes, ring high-water marks,\n"
                 "refusals, ring messages and wake-ups) whatever --log-level says. Under\n"
                 "systemd, readiness, reloads and stopping go to $NOTIFY_SOCKET\n"
                 "(Type=notify), and sockets passed by socket activation (LISTEN_FDS)\n"
                 "replace --listen; one named 'plaintext' (FileDescriptorName=) is\n"
                 "plaintext.\n");
}

/* "ADDR:PORT[,plaintext][,proxy]" into listener number
 * opts->listener_count. */
static int add_listener(serve_opts *o, const char *text)
{
    char addr[300];
    int plaintext = 0;
    int proxy = 0;
    const char *comma = strchr(text, ',');
    size_t len = comma != NULL ? (size_t)(comma - text) : strlen(text);

    if (o->listener_count == SERVE_MAX_LISTENERS) {
        tool_error("--listen: at most %d listeners", SERVE_MAX_LISTENERS);
        return TOOL_EXIT_USAGE;
    }
    for (const char *flag = comma; flag != NULL;) {
        flag++;
        const char *next = strchr(flag, ',');
        size_t n = next != NULL ? (size_t)(next - flag) : strlen(flag);
        if (n == 9 && strncmp(flag, "plaintext", n) == 0) {
            plaintext = 1;
        } else if (n == 5 && strncmp(flag, "proxy", n) == 0) {
            proxy = 1;
        } else if (!(n == 3 && strncmp(flag, "tls", n) == 0)) {
            tool_error("--listen '%s': unknown flag '%.*s' (expected 'plaintext' or 'proxy')", text,
                       (int)n, flag);
            return TOOL_EXIT_USAGE;
        }
        flag = next;
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
    l->proxy_protocol = proxy;
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

void serve_opts_init(serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->verify = -1; /* decided after parsing: required with --ca, none without */
    o->grace_ms = SERVE_DEFAULT_GRACE_MS;
    o->level = TOOL_LOG_INFO;
}

void serve_opts_free(serve_opts *o)
{
    strvec_free(&o->certs);
    strvec_free(&o->keys);
    strvec_free(&o->allow);
    strvec_free(&o->alpn);
    memtls_pem_free(&o->ephemeral);
}

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
    O_GROUPS,
    O_IOTHREADS,
    O_WORKERS,
    O_WTHREADS,
    O_MAXCONNS,
    O_HSTIMEOUT,
    O_IDLE,
    O_CLOSETIMEOUT,
    O_CONNTIMEOUT,
    O_KEYUPDATES,
    O_GRACE,
    O_LEVEL,
    O_METRICS,
    O_LOGFORMAT,
    O_HELP,
    /* Resumption and the PROXY protocol. */
    O_TICKETKEYS,
    O_TICKETROTATE,
    O_TICKETLIFETIME,
    O_NOTICKETS,
    O_PROXYPROTO,
    O_ISOLATE,
    O_USER
};

/* --cert and --key are repeatable: the Nth --key goes with the Nth
 * --cert (one pair per certificate; SNI picks among them). */
static const args_option serve_options[] = {
    {"listen", 0, required_argument, O_LISTEN, ARGS_REPEATABLE},
    {"echo", 0, no_argument, O_ECHO, 0},
    {"backend", 0, required_argument, O_BACKEND, 0},
    {"cert", 0, required_argument, O_CERT, ARGS_REPEATABLE},
    {"key", 0, required_argument, O_KEY, ARGS_REPEATABLE},
    {"ca", 0, required_argument, O_CA, 0},
    {"verify-client", 0, required_argument, O_VERIFY, 0},
    {"allow-san", 0, required_argument, O_ALLOW, ARGS_REPEATABLE},
    {"alpn", 0, required_argument, O_ALPN, 0},
    {"min-tls", 0, required_argument, O_MIN, 0},
    {"ciphers", 0, required_argument, O_CIPHERS, 0},
    {"ciphersuites", 0, required_argument, O_SUITES, 0},
    {"groups", 0, required_argument, O_GROUPS, 0},
    {"io-threads", 0, required_argument, O_IOTHREADS, 0},
    {"workers", 0, required_argument, O_WORKERS, 0},
    {"worker-threads", 0, required_argument, O_WTHREADS, 0},
    {"max-conns", 0, required_argument, O_MAXCONNS, 0},
    {"handshake-timeout", 0, required_argument, O_HSTIMEOUT, 0},
    {"idle-timeout", 0, required_argument, O_IDLE, 0},
    {"close-timeout", 0, required_argument, O_CLOSETIMEOUT, 0},
    {"backend-connect-timeout", 0, required_argument, O_CONNTIMEOUT, 0},
    {"max-key-updates", 0, required_argument, O_KEYUPDATES, 0},
    {"grace", 0, required_argument, O_GRACE, 0},
    {"log-level", 0, required_argument, O_LEVEL, 0},
    {"metrics", 0, required_argument, O_METRICS, 0},
    {"log-format", 0, required_argument, O_LOGFORMAT, 0},
    {"help", 'h', no_argument, O_HELP, 0},
    {"ticket-keys", 0, required_argument, O_TICKETKEYS, 0},
    {"ticket-rotate", 0, required_argument, O_TICKETROTATE, 0},
    {"ticket-lifetime", 0, required_argument, O_TICKETLIFETIME, 0},
    {"no-tickets", 0, no_argument, O_NOTICKETS, 0},
    {"proxy-protocol", 0, required_argument, O_PROXYPROTO, 0},
    {"isolate", 0, no_argument, O_ISOLATE, 0},
    {"user", 0, required_argument, O_USER, 0},
};
ARGS_TABLE_FITS(serve_options);

/* A DNS name (letters, digits, '-', '_', '.') or an IPv4 address. */
static int valid_host_name(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

static int parse_proxy_protocol(const char *arg, int *out)
{
    if (strcmp(arg, "v1") == 0) {
        *out = MEMTLS_PROXY_V1;
    } else if (strcmp(arg, "v2") == 0) {
        *out = MEMTLS_PROXY_V2;
    } else {
        tool_error("--proxy-protocol '%s': expected v1 or v2", arg);
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

/* The options of resumption and the PROXY protocol, checked together. */
static int check_fleet_options(const serve_opts *o)
{
    if (o->no_tickets &&
        (o->ticket_keys != NULL || o->ticket_rotate != 0 || o->ticket_lifetime != 0)) {
        tool_error("--no-tickets excludes %s", o->ticket_keys != NULL  ? "--ticket-keys"
                                               : o->ticket_rotate != 0 ? "--ticket-rotate"
                                                                       : "--ticket-lifetime");
        return TOOL_EXIT_USAGE;
    }
    if (o->ticket_keys != NULL && o->ticket_rotate != 0) {
        tool_error("--ticket-rotate does not apply to --ticket-keys (keys from a file rotate when "
                   "the file is rewritten and SIGHUP is sent)");
        return TOOL_EXIT_USAGE;
    }
    if (o->proxy_protocol != MEMTLS_PROXY_NONE && !o->proxy) {
        tool_error("--proxy-protocol needs --backend (it is what the backend receives)");
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

static int parse_worker_threads(const char *arg, int *mode)
{
    if (strcmp(arg, "auto") == 0) {
        *mode = MEMTLS_WORKERS_AUTO;
    } else if (strcmp(arg, "yes") == 0) {
        *mode = MEMTLS_WORKERS_THREADS;
    } else if (strcmp(arg, "no") == 0) {
        *mode = MEMTLS_WORKERS_INLINE;
    } else {
        tool_error("--worker-threads '%s': expected auto, yes or no", arg);
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

int serve_parse_args(int argc, char *argv[], serve_opts *o)
{
    args_scan sc;
    const char *arg = NULL;
    int c;
    int echo = 0;

    args_scan_init(&sc, serve_options, sizeof serve_options / sizeof serve_options[0], argc, argv);
    while ((c = args_next(&sc, &arg)) != ARGS_DONE) {
        int rc = 0;
        switch (c) {
        case O_LISTEN:
            rc = add_listener(o, arg);
            break;
        case O_ECHO:
            echo = 1;
            break;
        case O_BACKEND:
            o->proxy = 1;
            rc = args_parse_hostport("--backend", arg, 0, 0, &o->backend);
            if (rc == 0 && !o->backend.is_v6 && !valid_host_name(o->backend.host)) {
                tool_error("--backend '%s': invalid host name '%s' (expected an IP address or a "
                           "DNS name)",
                           arg, o->backend.host);
                rc = TOOL_EXIT_USAGE;
            }
            break;
        case O_CERT:
        case O_KEY:
            if (strvec_push(c == O_CERT ? &o->certs : &o->keys, arg) != 0) {
                tool_error("out of memory");
                rc = TOOL_EXIT_USAGE;
            }
            break;
        case O_CA:
            o->ca = arg;
            break;
        case O_VERIFY:
            rc = parse_verify(arg, &o->verify);
            break;
        case O_ALLOW:
            rc = args_split_list("--allow-san", arg, &o->allow);
            break;
        case O_ALPN:
            rc = args_split_list("--alpn", arg, &o->alpn);
            break;
        case O_MIN:
            rc = args_parse_tls_version("--min-tls", arg, &o->min_version);
            break;
        case O_CIPHERS:
            o->ciphers = arg;
            break;
        case O_SUITES:
            o->ciphersuites = arg;
            break;
        case O_GROUPS:
            o->groups = arg;
            break;
        case O_IOTHREADS:
            rc = args_parse_uint("--io-threads", arg, 1, 64, &o->io_threads);
            break;
        case O_WORKERS:
            rc = args_parse_uint("--workers", arg, 1, 64, &o->workers);
            break;
        case O_WTHREADS:
            rc = parse_worker_threads(arg, &o->worker_mode);
            break;
        case O_CLOSETIMEOUT:
            rc = args_parse_uint("--close-timeout", arg, 1, 3600000, &o->close_timeout);
            break;
        case O_CONNTIMEOUT:
            rc = args_parse_uint("--backend-connect-timeout", arg, 1, 3600000, &o->connect_timeout);
            break;
        case O_KEYUPDATES:
            rc = args_parse_uint("--max-key-updates", arg, 1, 1000000, &o->key_updates);
            break;
        case O_MAXCONNS:
            rc = args_parse_uint("--max-conns", arg, 1, 1000000, &o->max_conns);
            break;
        case O_HSTIMEOUT:
            rc = args_parse_uint("--handshake-timeout", arg, 1, 3600000, &o->handshake_timeout);
            break;
        case O_IDLE:
            rc = args_parse_uint("--idle-timeout", arg, 1, 86400000, &o->idle_timeout);
            break;
        case O_GRACE:
            rc = args_parse_uint("--grace", arg, 0, 3600000, &o->grace_ms);
            break;
        case O_LEVEL:
            if (tool_log_parse_level(arg, &o->level) != 0) {
                tool_error("--log-level '%s': expected error, warn, info or debug", arg);
                rc = TOOL_EXIT_USAGE;
            }
            break;
        case O_METRICS:
            o->have_metrics = 1;
            rc = args_parse_hostport("--metrics", arg, 1, 1, &o->metrics);
            break;
        case O_LOGFORMAT:
            if (tool_log_parse_format(arg, &o->log_format) != 0) {
                tool_error("--log-format '%s': expected text or json", arg);
                rc = TOOL_EXIT_USAGE;
            }
            break;
        case O_HELP:
            return ARGS_HELP;
        case O_TICKETKEYS:
            o->ticket_keys = arg;
            break;
        case O_TICKETROTATE:
            rc = args_parse_uint("--ticket-rotate", arg, 1, 604800, &o->ticket_rotate);
            break;
        case O_TICKETLIFETIME:
            rc = args_parse_uint("--ticket-lifetime", arg, 1, 604800, &o->ticket_lifetime);
            break;
        case O_NOTICKETS:
            o->no_tickets = 1;
            break;
        case O_PROXYPROTO:
            rc = parse_proxy_protocol(arg, &o->proxy_protocol);
            break;
        case O_ISOLATE:
            o->isolate = 1;
            break;
        case O_USER:
            if (arg[0] == '\0') {
                tool_error("--user: empty name");
                rc = TOOL_EXIT_USAGE;
            }
            o->user = arg;
            break;
        default: /* ARGS_FAIL: reported */
            return TOOL_EXIT_USAGE;
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (optind < argc) {
        tool_error("unexpected argument '%s' (see 'memtls serve --help')", argv[optind]);
        return TOOL_EXIT_USAGE;
    }
    if (o->io_threads != 0 && o->workers != 0 && o->workers < o->io_threads) {
        tool_error("--workers %lu is fewer than --io-threads %lu: every I/O thread needs a worker",
                   o->workers, o->io_threads);
        return TOOL_EXIT_USAGE;
    }
    if (o->isolate && o->worker_mode != MEMTLS_WORKERS_AUTO) {
        tool_error("--worker-threads does not apply to --isolate (workers are processes)");
        return TOOL_EXIT_USAGE;
    }
    if (o->connect_timeout != 0 && !o->proxy) {
        tool_error("--backend-connect-timeout needs --backend");
        return TOOL_EXIT_USAGE;
    }
    if (echo && o->proxy) {
        tool_error("--echo and --backend exclude each other");
        return TOOL_EXIT_USAGE;
    }
    if (o->certs.n != o->keys.n) {
        if (o->certs.n == 0 || o->keys.n == 0) {
            tool_error("%s given without %s", o->certs.n > 0 ? "--cert" : "--key",
                       o->certs.n > 0 ? "--key" : "--cert");
        } else {
            tool_error("%zu --cert but %zu --key: give them in pairs (the Nth --key is the Nth "
                       "--cert's)",
                       o->certs.n, o->keys.n);
        }
        return TOOL_EXIT_USAGE;
    }
    if (check_fleet_options(o) != 0) {
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
    if (o->listener_count == 0) {
        if (add_listener(o, "127.0.0.1:8443") != 0) {
            return TOOL_EXIT_USAGE;
        }
        o->listen_default = 1; /* socket activation may replace it */
    }
    return 0;
}
