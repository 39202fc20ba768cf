/*
 * cmd_serve.c - `memtls serve`: the TLS terminator. Turns the options
 * (serve_args.h) into memtls_server_opts (server.h), starts the runtime, and then waits
 * for signals in the main thread with sigwait(): SIGINT/SIGTERM stop the
 * server gracefully, SIGHUP reloads the certificates, the CA and the
 * ticket keys (serve_tls.c), SIGUSR1 logs a status line. The signals are
 * blocked before any runtime thread exists, so they inherit the mask and
 * only the main thread ever sees them.
 *
 * Under systemd (service.h) the same places tell the service manager what
 * happens: READY=1 once listening, RELOADING=1 and READY=1 around a
 * reload, STOPPING=1, and a STATUS= line with the connection count every
 * STATUS_EVERY_S seconds; sockets passed by socket activation replace the
 * default listener.
 */
#define _GNU_SOURCE /* setresuid, getpwnam_r */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <memtls/pki.h>
#include <memtls/server.h>

#include "args.h"
#include "cmds.h"
#include "log.h"
#include "serve_args.h"
#include "serve_tls.h"
#include "service.h"

/* Under systemd: a STATUS= notification this often. */
#define STATUS_EVERY_S 10

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

/*
 * --isolate: the configuration is made in the spawner process (and again
 * there on SIGHUP), never in this one: the ephemeral certificate too.
 */
static memtls_config *load_tls(void *arg, memtls_config *previous, char *err, size_t errlen)
{
    serve_opts *o = arg;
    memtls_config *cfg = NULL;
    if (previous == NULL && o->certs.n == 0 && make_ephemeral(o) != 0) {
        snprintf(err, errlen, "cannot make the ephemeral certificate");
        return NULL;
    }
    int rc = serve_tls_build(o, previous, &cfg, err, errlen);
    fflush(stdout);
    return rc == 0 ? cfg : NULL;
}

/* --user: give up root in this process once the sockets are bound. */
static int drop_privileges(const char *user)
{
    if (user == NULL || geteuid() != 0) {
        if (user != NULL) {
            tool_log(TOOL_LOG_INFO, "--user %s: not running as root, nothing to drop", user);
        }
        return 0;
    }
    struct passwd pw;
    struct passwd *res = NULL;
    char buf[4096];
    int rc = getpwnam_r(user, &pw, buf, sizeof buf, &res);
    if (rc != 0 || res == NULL) {
        tool_error("--user %s: %s", user, rc != 0 ? strerror(rc) : "no such user");
        return TOOL_EXIT_FAIL;
    }
    if (setgroups(0, NULL) != 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0 ||
        setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
        tool_error("--user %s: cannot switch to it: %s", user, strerror(errno));
        return TOOL_EXIT_FAIL;
    }
    return 0;
}

/* --- logging callbacks (any thread) --------------------------------------- */

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

/* The record as one JSON object: the fields of the text line. */
static void conn_log_json(const memtls_conn_record *r, const char *cert)
{
    const tool_field f[] = {
        {"conn", TOOL_FIELD_UINT, NULL, r->id},
        {"peer", TOOL_FIELD_STR, r->peer, 0},
        {"listener", TOOL_FIELD_UINT, NULL, r->listener},
        {"plaintext", TOOL_FIELD_BOOL, NULL, (unsigned long long)(r->plaintext != 0)},
        {"sni", TOOL_FIELD_STR, r->sni, 0},
        {"version", TOOL_FIELD_STR, r->version, 0},
        {"cipher", TOOL_FIELD_STR, r->cipher, 0},
        {"alpn", TOOL_FIELD_STR, r->alpn, 0},
        {"resumed", TOOL_FIELD_BOOL, NULL, (unsigned long long)(r->resumed != 0)},
        {"cert", TOOL_FIELD_STR, cert, 0},
        {"cert_dn", TOOL_FIELD_STR, r->cert_subject != NULL ? r->cert_subject : "", 0},
        {"subject", TOOL_FIELD_STR, r->subject, 0},
        {"bytes_in", TOOL_FIELD_UINT, NULL, r->bytes_in},
        {"bytes_out", TOOL_FIELD_UINT, NULL, r->bytes_out},
        {"app_in", TOOL_FIELD_UINT, NULL, r->app_in},
        {"app_out", TOOL_FIELD_UINT, NULL, r->app_out},
        {"duration_ms", TOOL_FIELD_UINT, NULL, r->duration_ms},
        {"close", TOOL_FIELD_STR, r->reason, 0},
    };
    tool_log_fields(r->clean ? TOOL_LOG_INFO : TOOL_LOG_WARN, "conn", f, sizeof f / sizeof f[0]);
}

static void on_conn_log(void *arg, const memtls_conn_record *r)
{
    char cert[16] = "-";
    if (r->cert_index >= 0) {
        snprintf(cert, sizeof cert, "%d", r->cert_index);
    }
    if (tool_log_get_format() == TOOL_LOG_JSON) {
        conn_log_json(r, cert);
        return;
    }
    tool_log(r->clean ? TOOL_LOG_INFO : TOOL_LOG_WARN,
             "conn=%llu peer=%s listener=%zu%s sni=%s version=%s cipher=%s alpn=%s resumed=%s "
             "cert=%s cert_dn=\"%s\" subject=\"%s\" bytes_in=%llu bytes_out=%llu app_in=%llu "
             "app_out=%llu duration_ms=%llu close=\"%s\"",
             (unsigned long long)r->id, or_dash(r->peer), r->listener,
             r->plaintext ? "(plaintext)" : "", or_dash(r->sni), or_dash(r->version),
             or_dash(r->cipher), or_dash(r->alpn), r->resumed ? "yes" : "no", cert,
             r->cert_subject != NULL ? r->cert_subject : "", r->subject != NULL ? r->subject : "",
             (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
             (unsigned long long)r->app_in, (unsigned long long)r->app_out,
             (unsigned long long)r->duration_ms, or_dash(r->reason));
}

static void on_log(void *arg, memtls_log_level level, const char *line)
{
    /* The command prints its own "listening on" and "metrics on" lines on
     * stdout (scripts wait for them); the runtime's copies would only
     * repeat them. */
    if (strncmp(line, "listening on ", 13) == 0 || strncmp(line, "metrics on ", 11) == 0) {
        return;
    }
    tool_log((tool_level)level, "%s", line);
}

/* --- running -------------------------------------------------------------- */

static void print_listening(const serve_opts *o, const memtls_server *srv)
{
    for (size_t i = 0; i < o->listener_count; i++) {
        const args_hostport *hp = &o->addrs[i];
        printf(hp->is_v6 ? "listening on [%s]:%u (%s%s)\n" : "listening on %s:%u (%s%s)\n",
               hp->host, (unsigned)memtls_server_bound_port(srv, i),
               o->listeners[i].plaintext ? "plaintext" : "tls",
               o->listeners[i].proxy_protocol ? ", PROXY header first" : "");
    }
    if (o->proxy) {
        printf(o->backend.is_v6 ? "proxying to [%s]:%u%s\n" : "proxying to %s:%u%s\n",
               o->backend.host, (unsigned)o->backend.port,
               o->proxy_protocol == MEMTLS_PROXY_V1   ? " with a PROXY v1 header"
               : o->proxy_protocol == MEMTLS_PROXY_V2 ? " with a PROXY v2 header"
                                                      : "");
    } else {
        printf("echoing\n");
    }
    if (o->have_metrics) {
        printf(o->metrics.is_v6 ? "metrics on http://[%s]:%u/metrics\n"
                                : "metrics on http://%s:%u/metrics\n",
               o->metrics.host, (unsigned)memtls_server_metrics_port(srv));
    }
    fflush(stdout);
}

/* SIGHUP: every certificate pair, --ca and --ticket-keys again (see
 * serve_tls.h for what a failing file keeps). *current is the
 * configuration in use; it is replaced when the server took the new one. */
static void reload_config(const serve_opts *o, memtls_server *srv, memtls_config **current)
{
    memtls_config *cfg = NULL;
    char err[700];

    if (o->isolate) {
        /* The spawner reads the files; new worker processes take over. */
        if (needs_tls(o)) {
            if (memtls_server_reload(srv, NULL) != 0) {
                /* The library logged why; the workers keep their configuration. */
            }
        } else {
            tool_log(TOOL_LOG_WARN, "SIGHUP: no TLS listener; nothing to reload");
        }
        return;
    }
    if (*current == NULL) {
        tool_log(TOOL_LOG_WARN, "SIGHUP: no TLS listener; nothing to reload");
        return;
    }
    if (o->certs.n == 0 && o->ca == NULL && o->ticket_keys == NULL) {
        tool_log(TOOL_LOG_WARN,
                 "SIGHUP: no --cert/--key/--ca/--ticket-keys files to reload; nothing changed");
        return;
    }
    if (serve_tls_build(o, *current, &cfg, err, sizeof err) != 0) {
        tool_log(TOOL_LOG_ERROR, "SIGHUP: reload failed, keeping the previous configuration: %s",
                 err);
        return;
    }
    int rc = memtls_server_reload(srv, cfg);
    if (rc != 0) {
        tool_log(TOOL_LOG_ERROR, "SIGHUP: reload refused (%s), keeping the previous configuration",
                 memtls_status_name(rc));
        memtls_config_free(cfg);
        return;
    }
    memtls_config_free(*current);
    *current = cfg;
}

/* STATUS= for the service manager: the connection count. */
static void notify_status(const memtls_server *srv, const char *state)
{
    memtls_server_stats st;
    if (!svc_notify_enabled() || memtls_server_get_stats(srv, &st) != 0) {
        return;
    }
    svc_notify("%sSTATUS=%llu connection(s) open, %llu accepted, %llu failed", state,
               (unsigned long long)st.conns_open, (unsigned long long)st.conns_total,
               (unsigned long long)st.conns_failed);
}

/* SIGHUP: reload, with RELOADING=1 and READY=1 around it. */
static void reload(const serve_opts *o, memtls_server *srv, memtls_config **current)
{
    svc_notify("RELOADING=1\nMONOTONIC_USEC=%llu", svc_monotonic_usec());
    reload_config(o, srv, current);
    notify_status(srv, "READY=1\n");
}

/* One status line: connections, bytes, and the rings' occupancy
 * high-water marks and refusals (writes that found a ring full), at
 * `level` (TOOL_LOG_FORCE: whatever --log-level says). One table of
 * fields serves both formats: "<what>: connections key=value ..." in
 * text (booleans as 0/1), an event with typed fields in JSON. */
static void log_stats(const memtls_server *srv, const char *what, tool_level level)
{
    memtls_server_stats st;
    if (memtls_server_get_stats(srv, &st) != 0) {
        return;
    }
    const tool_field f[] = {
        {"open", TOOL_FIELD_UINT, NULL, st.conns_open},
        {"total", TOOL_FIELD_UINT, NULL, st.conns_total},
        {"refused", TOOL_FIELD_UINT, NULL, st.conns_refused},
        {"failed", TOOL_FIELD_UINT, NULL, st.conns_failed},
        {"accept_errors", TOOL_FIELD_UINT, NULL, st.accept_errors},
        {"bytes_in", TOOL_FIELD_UINT, NULL, st.bytes_in},
        {"bytes_out", TOOL_FIELD_UINT, NULL, st.bytes_out},
        {"backend_in", TOOL_FIELD_UINT, NULL, st.backend_in},
        {"backend_out", TOOL_FIELD_UINT, NULL, st.backend_out},
        {"io_threads", TOOL_FIELD_UINT, NULL, st.io_threads},
        {"workers", TOOL_FIELD_UINT, NULL, st.workers},
        {"workers_inline", TOOL_FIELD_BOOL, NULL, st.workers_inline != 0},
        {"ring", TOOL_FIELD_UINT, NULL, st.ring_capacity},
        {"to_worker_high_water", TOOL_FIELD_UINT, NULL, st.to_worker_high_water},
        {"to_worker_refusals", TOOL_FIELD_UINT, NULL, st.to_worker_refusals},
        {"to_host_high_water", TOOL_FIELD_UINT, NULL, st.to_host_high_water},
        {"to_host_refusals", TOOL_FIELD_UINT, NULL, st.to_host_refusals},
        {"ring_messages", TOOL_FIELD_UINT, NULL, st.ring_messages},
        {"wakeups", TOOL_FIELD_UINT, NULL, st.wakeups},
    };
    size_t n = sizeof f / sizeof f[0];
    if (tool_log_get_format() == TOOL_LOG_JSON) {
        tool_log_fields(level, what, f, n);
        return;
    }
    char line[1024];
    size_t off = 0;
    for (size_t i = 0; i < n && off < sizeof line; i++) {
        int w = snprintf(line + off, sizeof line - off, "%s%s=%llu", i > 0 ? " " : "", f[i].key,
                         f[i].u);
        off += w > 0 ? (size_t)w : 0;
    }
    tool_log(level, "%s: connections %s", what, line);
}

/* Wait for signals until SIGINT or SIGTERM. Returns the stopping signal.
 * Under systemd, wake up every STATUS_EVERY_S seconds for STATUS=. */
static int wait_signals(const serve_opts *o, memtls_server *srv, const sigset_t *set,
                        memtls_config **current)
{
    for (;;) {
        int sig = 0;
        int rc = 0;
        if (svc_notify_enabled()) {
            struct timespec every = {STATUS_EVERY_S, 0};
            sig = sigtimedwait(set, NULL, &every);
            if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
                notify_status(srv, "");
                continue;
            }
            rc = sig < 0 ? errno : 0;
        } else {
            rc = sigwait(set, &sig);
        }
        if (rc != 0) {
            tool_log(TOOL_LOG_ERROR, "sigwait: %s", strerror(rc));
            return SIGTERM;
        }
        if (sig == SIGHUP) {
            reload(o, srv, current);
            continue;
        }
        if (sig == SIGUSR1) {
            /* Asked for: written whatever --log-level says. */
            log_stats(srv, "status", (tool_level)(TOOL_LOG_INFO | TOOL_LOG_FORCE));
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

/* "ADDR" and is_v6 of a socket's local address, for the listening line. */
static void socket_addr(int fd, args_hostport *hp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->host, sizeof hp->host, "?");
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return;
    }
    if (ss.ss_family == AF_INET6) {
        hp->is_v6 = 1;
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, hp->host, sizeof hp->host);
    } else if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, hp->host, sizeof hp->host);
    }
}

/*
 * Socket activation: sockets passed by the service manager replace the
 * default listener (--listen too would leave it ambiguous which the
 * operator meant, so that is an error). A socket named "plaintext"
 * (FileDescriptorName=plaintext) carries plaintext, any other TLS.
 * Returns 0 or TOOL_EXIT_FAIL after an error line.
 */
static int use_passed_sockets(serve_opts *o)
{
    svc_socket socks[SERVE_MAX_LISTENERS];
    int n = svc_listen_fds(socks, SERVE_MAX_LISTENERS);
    if (n <= 0) {
        return n < 0 ? TOOL_EXIT_FAIL : 0;
    }
    if (!o->listen_default) {
        tool_error("--listen and socket activation (LISTEN_FDS=%d) exclude each other", n);
        return TOOL_EXIT_FAIL;
    }
    o->listener_count = 0;
    for (int i = 0; i < n; i++) {
        memtls_listener_opts *l = &o->listeners[o->listener_count];
        args_hostport *hp = &o->addrs[o->listener_count];
        memset(l, 0, sizeof *l);
        socket_addr(socks[i].fd, hp);
        l->host = hp->host;
        l->fd = socks[i].fd;
        l->plaintext = strcmp(socks[i].name, "plaintext") == 0;
        o->listener_count++;
    }
    return 0;
}

static int serve(serve_opts *o)
{
    memtls_config *cfg = NULL;
    memtls_server *srv = NULL;
    memtls_server_opts so;
    sigset_t set;
    char err[700];
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
    (void)svc_notify_open(); /* unusable: warned, runs without */
    if (use_passed_sockets(o) != 0) {
        goto out;
    }

    if (needs_tls(o) && !o->isolate) {
        if (o->certs.n == 0 && make_ephemeral(o) != 0) {
            goto out;
        }
        if (serve_tls_build(o, NULL, &cfg, err, sizeof err) != 0) {
            tool_error("%s", err);
            goto out;
        }
    }

    memset(&so, 0, sizeof so);
    so.listeners = o->listeners;
    so.listener_count = o->listener_count;
    so.tls = cfg;
    so.app = o->proxy ? MEMTLS_APP_PROXY : MEMTLS_APP_ECHO;
    so.backend_host = o->proxy ? o->backend.host : NULL;
    so.backend_port = o->backend.port;
    so.io_threads = (unsigned)o->io_threads;
    so.workers = (unsigned)o->workers;
    so.worker_mode = (memtls_worker_mode)o->worker_mode;
    so.close_timeout_ms = (unsigned)o->close_timeout;
    so.backend_connect_timeout_ms = (unsigned)o->connect_timeout;
    so.session_limits.key_updates = (uint32_t)o->key_updates;
    so.max_connections = (unsigned)o->max_conns;
    so.handshake_timeout_ms = (unsigned)o->handshake_timeout;
    so.idle_timeout_ms = (unsigned)o->idle_timeout;
    so.backend_proxy_protocol = (memtls_proxy_version)o->proxy_protocol;
    so.allowed_peers = (const char *const *)o->allow.v;
    so.allowed_peer_count = o->allow.n;
    so.on_conn_log = on_conn_log;
    so.on_log = on_log;
    so.log_level = (memtls_log_level)o->level;
    so.metrics_host = o->have_metrics ? o->metrics.host : NULL;
    so.metrics_port = o->metrics.port;
    so.isolate = o->isolate;
    so.user = o->isolate ? o->user : NULL;
    if (o->isolate && needs_tls(o)) {
        so.load_tls = load_tls;
        so.load_tls_arg = o;
    }

    err[0] = '\0';
    srv = memtls_server_new(&so, err, sizeof err);
    if (srv == NULL) {
        tool_error("%s", err[0] ? err : "cannot create the server");
        goto out;
    }
    if (drop_privileges(o->user) != 0) {
        goto out;
    }
    int st = memtls_server_start(srv);
    if (st != 0) {
        tool_error("cannot start the server: %s", memtls_status_name(st));
        goto out;
    }
    print_listening(o, srv);
    memtls_server_stats sst;
    for (unsigned i = 0; o->isolate && memtls_server_get_stats(srv, &sst) == 0 && i < sst.workers;
         i++) {
        printf("worker %u: pid %d\n", i, memtls_server_worker_pid(srv, i));
    }
    fflush(stdout);
    notify_status(srv, "READY=1\n");

    int sig = wait_signals(o, srv, &set, &cfg);
    tool_log(TOOL_LOG_INFO, "%s: stopping (grace %lu ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
             o->grace_ms);
    svc_notify("STOPPING=1\nSTATUS=stopping (grace %lu ms)", o->grace_ms);
    (void)memtls_server_stop(srv, (unsigned)o->grace_ms);
    log_stats(srv, "stopped", TOOL_LOG_INFO);
    rc = TOOL_EXIT_OK;
out:
    memtls_server_free(srv);
    memtls_config_free(cfg);
    return rc;
}

int cmd_serve(int argc, char *argv[])
{
    serve_opts o;
    serve_opts_init(&o);

    int rc = serve_parse_args(argc, argv, &o);
    if (rc == 0) {
        tool_log_set_level(o.level);
        tool_log_set_format(o.log_format);
        rc = serve(&o);
    } else if (rc == ARGS_HELP) {
        serve_usage(stdout);
        rc = TOOL_EXIT_OK;
    }
    serve_opts_free(&o);
    return rc;
}
