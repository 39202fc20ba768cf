/*
 * args.h - option parsing shared by the subcommands: a scanner over
 * getopt_long that knows which options may be repeated, and helpers that
 * check values. Every parser that rejects its input prints one error line
 * naming the option and the value (log.h) and returns TOOL_EXIT_USAGE;
 * success is 0.
 */
#ifndef MEMTLS_TOOL_ARGS_H
#define MEMTLS_TOOL_ARGS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes of every subcommand (documented in memtls(1)). */
#define TOOL_EXIT_OK 0
#define TOOL_EXIT_FAIL 1  /* a run-time failure: TLS, network, files */
#define TOOL_EXIT_USAGE 2 /* bad command line */

#define TOOL_WUR __attribute__((warn_unused_result))

/* A growable list of owned strings. Zero-initialise; free with strvec_free. */
typedef struct strvec {
    char **v;
    size_t n;
} strvec;

/*
 * The options of a subcommand, declared in a table. An option that takes
 * one value (--cert FILE) may be given once: a second one is an error
 * naming it ("--cert given twice"), so no value is ever dropped silently.
 * Options that collect values (--listen, --san) are declared
 * ARGS_REPEATABLE. Switches without a value (--echo, --insecure) may be
 * repeated: they drop nothing.
 */
#define ARGS_REPEATABLE 1u
#define ARGS_MAX_OPTIONS 48

typedef struct args_option {
    const char *name; /* long name, without "--" */
    char short_name;  /* '-x' alias, or 0 */
    int has_arg;      /* no_argument or required_argument */
    int id;           /* what args_next returns for it (not 0 or negative) */
    unsigned flags;   /* ARGS_REPEATABLE */
} args_option;

/* A scan of argv; fill with args_scan_init. */
typedef struct args_scan {
    const args_option *opts;
    size_t count;
    int argc;
    char **argv;
    char shortopts[2 * ARGS_MAX_OPTIONS + 2];
    struct option longopts[ARGS_MAX_OPTIONS + 1];
    const char *seen[ARGS_MAX_OPTIONS]; /* the value each option was given */
} args_scan;

#define ARGS_DONE (-1) /* no more options: the operands start at optind */
#define ARGS_FAIL (-2) /* an error line was printed */
#define ARGS_HELP (-3) /* a subcommand's parser saw --help: print the usage, exit 0 */

/*
 * Start scanning argv (argv[0] is the subcommand's name) for `opts`
 * (at most ARGS_MAX_OPTIONS). Resets getopt_long's state completely, so
 * a process may parse several argument vectors.
 */
void args_scan_init(args_scan *sc, const args_option *opts, size_t count, int argc, char *argv[]);

/*
 * The next option: returns its id with *value set to its argument (NULL
 * for a switch), ARGS_DONE after the last option, or ARGS_FAIL after
 * printing one error line (unknown option, missing argument, or a
 * single-value option given twice).
 */
int args_next(args_scan *sc, const char **value);

/* Append a copy of `s`. Returns 0 or -1 (out of memory). */
int strvec_push(strvec *sv, const char *s) TOOL_WUR;
void strvec_free(strvec *sv);

/*
 * Append each comma-separated item of `text` (empty items are an error:
 * "--alpn h2,,x: empty item"). Returns 0 or TOOL_EXIT_USAGE.
 */
int args_split_list(const char *flag, const char *text, strvec *out) TOOL_WUR;

/* A decimal number in min..max. */
int args_parse_uint(const char *flag, const char *text, unsigned long min, unsigned long max,
                    unsigned long *out) TOOL_WUR;

/* An address and port: "127.0.0.1:8443", "[::1]:8443", "localhost:8443". */
typedef struct args_hostport {
    char host[256]; /* without brackets */
    uint16_t port;
    int is_v6; /* the address was given in brackets */
} args_hostport;

/*
 * Parse "HOST:PORT" or "[V6]:PORT". With `numeric`, HOST must be a
 * numeric IPv4 address, a bracketed IPv6 address, or "localhost" (taken
 * as 127.0.0.1); otherwise any name is accepted. Port 0 is accepted only
 * with `allow_port0` (an ephemeral port).
 */
int args_parse_hostport(const char *flag, const char *text, int numeric, int allow_port0,
                        args_hostport *out) TOOL_WUR;

/* "1.2" or "1.3" into 0x0303 / 0x0304. */
int args_parse_tls_version(const char *flag, const char *text, int *out) TOOL_WUR;

#endif
