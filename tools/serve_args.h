/*
 * serve_args.h - the command line of `memtls serve`, parsed into options
 * without starting anything (cmd_serve.c runs them; the argument fuzzer
 * calls the parser alone).
 */
#ifndef MEMTLS_TOOL_SERVE_ARGS_H
#define MEMTLS_TOOL_SERVE_ARGS_H

#include <stdio.h>

#include <memtls/pki.h>
#include <memtls/server.h>

#include "args.h"
#include "log.h"

#define SERVE_MAX_LISTENERS 16
#define SERVE_DEFAULT_GRACE_MS 5000

typedef struct serve_opts {
    args_hostport addrs[SERVE_MAX_LISTENERS];
    memtls_listener_opts listeners[SERVE_MAX_LISTENERS]; /* hosts point into addrs */
    size_t listener_count;
    int proxy;
    args_hostport backend;
    strvec certs; /* --cert/--key pairs, in order (the first is the default) */
    strvec keys;
    const char *ca; /* strings point into argv */
    int verify;     /* memtls_verify */
    strvec allow;
    strvec alpn;
    int min_version;
    const char *ciphers;
    const char *ciphersuites;
    const char *groups;
    unsigned long io_threads;        /* 0: the runtime's default */
    unsigned long workers;           /* 0: the runtime's default */
    int worker_mode;                 /* memtls_worker_mode */
    unsigned long max_conns;         /* 0: the runtime's default */
    unsigned long handshake_timeout; /* 0: the runtime's default */
    unsigned long idle_timeout;      /* 0: the runtime's default */
    unsigned long close_timeout;     /* 0: the runtime's default */
    unsigned long connect_timeout;   /* 0: the runtime's default */
    unsigned long key_updates;       /* 0: the library's default */
    unsigned long grace_ms;
    tool_level level;
    /* Observability and service management. */
    args_hostport metrics; /* --metrics ADDR:PORT */
    int have_metrics;
    tool_log_format log_format; /* --log-format */
    int listen_default;         /* no --listen: 127.0.0.1:8443 was added */
    /* Resumption and the PROXY protocol. */
    const char *ticket_keys;       /* --ticket-keys FILE, or NULL */
    unsigned long ticket_rotate;   /* 0: the library's default */
    unsigned long ticket_lifetime; /* 0: the library's default */
    int no_tickets;
    int proxy_protocol; /* memtls_proxy_version sent to the backend */
    /* Process isolation and privileges. */
    int isolate;      /* --isolate */
    const char *user; /* --user NAME, or NULL */
    /* The ephemeral certificate when no --cert/--key is given (made by
     * cmd_serve.c, freed by serve_opts_free). */
    memtls_pem ephemeral;
} serve_opts;

/* The defaults, before parsing. */
void serve_opts_init(serve_opts *o);

/*
 * Parse argv (argv[0] is "serve") into `o`, checking every value and the
 * combinations (--echo with --backend, --cert without --key, ...), and
 * fill in the defaults that depend on other options (one listener on
 * 127.0.0.1:8443, --verify-client). Returns 0; ARGS_HELP for --help
 * (nothing printed); TOOL_EXIT_USAGE after one error line.
 */
int serve_parse_args(int argc, char *argv[], serve_opts *o) TOOL_WUR;

/* The --help text. */
void serve_usage(FILE *out);

/* Free what parsing and running allocated. */
void serve_opts_free(serve_opts *o);

#endif
