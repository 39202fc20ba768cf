/*
 * cmd_connect.c - `memtls connect HOST:PORT`: a TLS client on stdin and
 * stdout, like `openssl s_client -quiet`, built on memtls_session over a
 * non-blocking socket and one poll() loop (no threads).
 *
 * Data paths and their backpressure:
 *   stdin  -> in[]      -> memtls_session_write (stdin is not read while
 *                          in[] still holds bytes the session refused)
 *   socket -> memtls_session_feed -> on_data -> out[] -> stdout (the
 *                          socket is not read while out[] is not empty)
 *   ciphertext -> send() on the socket; what the kernel refuses stays in
 *                          the session (pending_out) until POLLOUT.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509_vfy.h>

#include <memtls/openssl.h>
#include <memtls/session.h>

#include "args.h"
#include "cmds.h"
#include "connect_args.h"
#include "log.h"
#include "netutil.h"
#include "tlsconf.h"

#define CONNECT_CHUNK (16u * 1024)

typedef struct client {
    int fd;
    memtls_session *s;
    /* Plaintext received, waiting for stdout. */
    uint8_t *out;
    size_t out_len;
    size_t out_off;
    size_t out_cap;
    int out_nomem;
    /* stdin bytes not yet taken by the session. */
    uint8_t in[CONNECT_CHUNK];
    size_t in_len;
    size_t in_off;
    /* Socket bytes the session refused (input paused). */
    uint8_t held[CONNECT_CHUNK];
    size_t held_len;
    int write_blocked;
    int input_paused;
    int stdin_eof;
    int shut_sent;
    int sock_eof;
    int sock_err; /* errno of a failed send() */
} client;

/* --- session callbacks --------------------------------------------------- */

static size_t client_send(void *arg, const uint8_t *data, size_t len)
{
    client *c = arg;
    if (c->sock_err != 0) {
        return len; /* the connection is gone; the loop reports it */
    }
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
        return (size_t)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return 0;
    }
    c->sock_err = errno;
    return len;
}

static void client_on_data(void *arg, const uint8_t *data, size_t len)
{
    client *c = arg;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : CONNECT_CHUNK;
        while (cap < c->out_len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(c->out, cap);
        if (grown == NULL) {
            c->out_nomem = 1;
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void client_on_writable(void *arg)
{
    client *c = arg;
    c->write_blocked = 0;
}

static void client_on_input_paused(void *arg, int paused)
{
    client *c = arg;
    c->input_paused = paused;
}

/* --- setup --------------------------------------------------------------- */

static memtls_session *make_session(const connect_opts *o, client *c)
{
    tlsconf_opts t;
    memtls_config *cfg = NULL;
    memtls_ctx *ctx = NULL;
    char err[600];

    memset(&t, 0, sizeof t);
    t.cert = o->cert;
    t.key = o->key;
    t.ca = o->ca;
    t.system_ca = !o->insecure && o->ca == NULL;
    t.verify = o->insecure ? MEMTLS_VERIFY_NONE : MEMTLS_VERIFY_REQUIRED;
    t.alpn = &o->alpn;
    t.min_version = o->min_version;
    t.max_version = o->max_version;
    if (tlsconf_build(MEMTLS_ROLE_CLIENT, &t, &cfg, NULL, err, sizeof err) != 0) {
        tool_error("%s", err);
        return NULL;
    }
    ctx = memtls_ctx_new(cfg);
    memtls_config_free(cfg);
    if (ctx == NULL) {
        tool_error("cannot create a TLS context");
        return NULL;
    }
    const char *name = o->servername != NULL ? o->servername : o->target.host;
    if (memtls_ctx_set_hostname(ctx, name) != 0) {
        tool_error("cannot use '%s' as the server name", name);
        memtls_ctx_free(ctx);
        return NULL;
    }
    memtls_session_cbs cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.arg = c;
    cbs.send = client_send;
    cbs.on_data = client_on_data;
    cbs.on_writable = client_on_writable;
    cbs.on_input_paused = client_on_input_paused;
    memtls_session *s = memtls_session_new(ctx, &cbs, NULL);
    if (s == NULL) {
        tool_error("cannot create a TLS session");
    }
    return s;
}

/* stdin/stdout are made non-blocking only when they are pipes or sockets
 * (a terminal or a file is left alone), and restored at exit. */
static int stdio_flags[2] = {-1, -1};

static void stdio_nonblock(void)
{
    for (int fd = 0; fd < 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
            stdio_flags[fd] = net_set_nonblock(fd, 1);
        }
    }
}

static void stdio_restore(void)
{
    for (int fd = 0; fd < 2; fd++) {
        if (stdio_flags[fd] >= 0) {
            (void)net_set_nonblock(fd, (stdio_flags[fd] & O_NONBLOCK) != 0);
        }
    }
}

/* --- the loop ------------------------------------------------------------- */

/* Write what stdout takes now. Returns 0, or -1 on a write error. */
static int drain_stdout(client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(STDOUT_FILENO, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            tool_error("stdout: %s", strerror(n < 0 ? errno : EIO));
            return -1;
        }
    }
    return 0;
}

/* Offer pending stdin bytes, and half-close once they are all taken. */
static void push_stdin(client *c)
{
    memtls_state st = memtls_session_state(c->s);
    while (c->in_off < c->in_len && !c->write_blocked) {
        size_t accepted = 0;
        int rc = memtls_session_write(c->s, c->in + c->in_off, c->in_len - c->in_off, &accepted);
        if (rc == MEMTLS_WANT_WRITE) {
            c->write_blocked = 1;
        } else if (rc != 0) {
            c->in_off = c->in_len; /* closing: the input has nowhere to go */
        } else {
            c->in_off += accepted;
        }
    }
    if (c->stdin_eof && c->in_off == c->in_len && !c->shut_sent && st == MEMTLS_STATE_READY) {
        c->shut_sent = 1;
        /* Only refused during the handshake, which is over here; if it
         * still fails, a full close is the next best way to say "done". */
        if (memtls_session_shutdown_write(c->s) != 0 && memtls_session_close(c->s) != 0) {
            c->sock_err = EIO;
        }
    }
}

/* Feed held or fresh socket bytes to the session. */
static int read_socket(client *c)
{
    if (c->held_len == 0) {
        ssize_t n = recv(c->fd, c->held, sizeof c->held, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                return 0;
            }
            c->sock_err = errno;
            return -1;
        }
        if (n == 0) {
            c->sock_eof = 1;
            return memtls_session_feed_eof(c->s) == 0 ? 0 : -1;
        }
        c->held_len = (size_t)n;
    }
    int rc = memtls_session_feed(c->s, c->held, c->held_len);
    if (rc != MEMTLS_WANT_WRITE) {
        c->held_len = 0; /* taken (or discarded after close) */
    }
    return 0;
}

static void read_stdin(client *c)
{
    ssize_t n = read(STDIN_FILENO, c->in, sizeof c->in);
    if (n > 0) {
        c->in_len = (size_t)n;
        c->in_off = 0;
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        c->stdin_eof = 1;
    }
}

static int terminal(memtls_state st)
{
    return st == MEMTLS_STATE_CLOSED || st == MEMTLS_STATE_AUTHFAIL || st == MEMTLS_STATE_ERROR;
}

static void report_ready(const connect_opts *o, client *c)
{
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    if (!o->verbose) {
        return;
    }
    const char *alpn = memtls_ctx_alpn(ctx);
    fprintf(stderr, "%s: connected to %s: %s %s%s%s, server %s (%s)\n", tool_name(), o->target_text,
            memtls_ctx_protocol(ctx), memtls_ctx_cipher(ctx), alpn[0] ? ", ALPN " : "", alpn,
            memtls_ctx_peer_subject(ctx),
            o->insecure ? "not verified" : memtls_ctx_verify_error(ctx));
}

/* The final status from the session's end state. */
static int report_end(const connect_opts *o, client *c, int was_ready)
{
    memtls_state st = memtls_session_state(c->s);
    memtls_ctx *ctx = memtls_session_ctx(c->s);
    const char *detail = memtls_session_error(c->s);

    if (st == MEMTLS_STATE_CLOSED) {
        return TOOL_EXIT_OK;
    }
    if (st == MEMTLS_STATE_AUTHFAIL) {
        long vr = memtls_ctx_verify_result(ctx);
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
            tool_error("certificate verify failed: %s (certificate does not name '%s')", detail,
                       o->servername != NULL ? o->servername : o->target.host);
        } else {
            tool_error("certificate verify failed: %s", detail);
        }
        return TOOL_EXIT_FAIL;
    }
    if (c->sock_err != 0) {
        tool_error("%s: %s", o->target_text, strerror(c->sock_err));
    } else if (memtls_session_reason(c->s) == MEMTLS_REASON_TRUNCATED) {
        tool_error("%s: connection closed by the server %s", o->target_text,
                   was_ready ? "without close_notify (data may be truncated)"
                             : "during the handshake");
    } else {
        /* In TLS 1.3 the server judges the client's certificate after the
         * client finished its side of the handshake, so a rejection
         * arrives as the first thing read: still a handshake failure. */
        memtls_session_stats stats;
        memtls_session_get_stats(c->s, &stats);
        int in_handshake = !was_ready || stats.plaintext_in == 0;
        tool_error("%s: %s: %s", o->target_text,
                   in_handshake ? "handshake failed" : "connection failed",
                   detail[0] ? detail : memtls_reason_name(memtls_session_reason(c->s)));
    }
    return TOOL_EXIT_FAIL;
}

static int run(const connect_opts *o, client *c)
{
    uint64_t deadline = net_now_ms() + o->timeout_ms;
    int was_ready = 0;

    if (memtls_session_start(c->s) != 0) {
        return report_end(o, c, 0);
    }
    for (;;) {
        memtls_state st = memtls_session_state(c->s);
        if (st == MEMTLS_STATE_READY && !was_ready) {
            was_ready = 1;
            report_ready(o, c);
        }
        if (c->out_nomem) {
            tool_error("out of memory");
            return TOOL_EXIT_FAIL;
        }
        if (terminal(st) || c->sock_err != 0) {
            break;
        }
        if (c->held_len > 0 && !c->input_paused && read_socket(c) != 0) {
            break;
        }
        push_stdin(c);
        st = memtls_session_state(c->s);
        if (terminal(st)) {
            break;
        }
        if (c->sock_eof) {
            /* recv_eof ends every session; this is a safety net. */
            break;
        }

        struct pollfd p[3];
        memset(p, 0, sizeof p);
        p[0].fd = c->fd;
        if (c->out_off == c->out_len && !c->input_paused && c->held_len == 0) {
            p[0].events |= POLLIN;
        }
        if (memtls_session_pending_out(c->s) > 0) {
            p[0].events |= POLLOUT;
        }
        p[1].fd = (!c->stdin_eof && c->in_off == c->in_len) ? STDIN_FILENO : -1;
        p[1].events = POLLIN;
        p[2].fd = c->out_off < c->out_len ? STDOUT_FILENO : -1;
        p[2].events = POLLOUT;

        int timeout = -1;
        if (!was_ready) {
            uint64_t now = net_now_ms();
            if (now >= deadline) {
                tool_error("%s: handshake timed out after %lu ms", o->target_text, o->timeout_ms);
                return TOOL_EXIT_FAIL;
            }
            timeout = (int)(deadline - now);
        }
        int n = poll(p, 3, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            tool_error("poll: %s", strerror(errno));
            return TOOL_EXIT_FAIL;
        }
        if (p[2].revents != 0 && drain_stdout(c) != 0) {
            return TOOL_EXIT_FAIL;
        }
        if ((p[0].revents & POLLOUT) && memtls_session_flush(c->s) != 0) {
            break;
        }
        if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && (p[0].events & POLLIN) &&
            read_socket(c) != 0) {
            break;
        }
        if (p[1].revents != 0) {
            read_stdin(c);
        }
    }
    /* Whatever arrived before the end still goes to stdout. */
    if (stdio_flags[1] >= 0) {
        (void)net_set_nonblock(STDOUT_FILENO, 0);
    }
    if (drain_stdout(c) != 0) {
        return TOOL_EXIT_FAIL;
    }
    return report_end(o, c, was_ready);
}

int cmd_connect(int argc, char *argv[])
{
    connect_opts o;
    client c;
    int rc;

    connect_opts_init(&o);
    memset(&c, 0, sizeof c);
    c.fd = -1;
    rc = connect_parse_args(argc, argv, &o);
    if (rc == ARGS_HELP) {
        connect_usage(stdout);
        rc = TOOL_EXIT_OK;
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    rc = TOOL_EXIT_FAIL;
    signal(SIGPIPE, SIG_IGN);
    if (o.insecure) {
        tool_warn("--insecure: the server's certificate is not verified");
    }
    c.s = make_session(&o, &c);
    if (c.s == NULL) {
        goto out;
    }
    c.fd = net_connect(&o.target, o.timeout_ms);
    if (c.fd < 0) {
        goto out;
    }
    stdio_nonblock();
    rc = run(&o, &c);
    stdio_restore();
out:
    memtls_session_free(c.s);
    if (c.fd >= 0) {
        close(c.fd);
    }
    free(c.out);
    connect_opts_free(&o);
    return rc;
}
