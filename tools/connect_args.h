/*
 * connect_args.h - the command line of `memtls connect`, parsed into
 * options without connecting (cmd_connect.c runs them; the argument
 * fuzzer calls the parser alone).
 */
#ifndef MEMTLS_TOOL_CONNECT_ARGS_H
#define MEMTLS_TOOL_CONNECT_ARGS_H

#include <stdio.h>

#include "args.h"

#define CONNECT_DEFAULT_TIMEOUT_MS 10000

typedef struct connect_opts {
    args_hostport target;
    const char *target_text; /* strings point into argv */
    const char *servername;
    const char *cert;
    const char *key;
    const char *ca;
    strvec alpn;
    int min_version;
    int max_version;
    int insecure;
    int verbose;
    unsigned long timeout_ms;
} connect_opts;

/* The defaults, before parsing. */
void connect_opts_init(connect_opts *o);

/*
 * Parse argv (argv[0] is "connect") into `o`: the options, then exactly
 * one HOST:PORT. Returns 0; ARGS_HELP for --help (nothing printed);
 * TOOL_EXIT_USAGE after one error line.
 */
int connect_parse_args(int argc, char *argv[], connect_opts *o) TOOL_WUR;

/* The --help text. */
void connect_usage(FILE *out);

/* Free what parsing allocated. */
void connect_opts_free(connect_opts *o);

#endif
