/*
 * args.h - option parsing helpers shared by the subcommands (getopt_long
 * does the scanning; these check values). Every parser that rejects its
 * input prints one error line naming the option and the value (log.h) and
 * returns TOOL_EXIT_USAGE; success is 0.
 */
#ifndef MEMTLS_TOOL_ARGS_H
#define MEMTLS_TOOL_ARGS_H

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

/* Append a copy of `s`. Returns 0 or -1 (out of memory). */
int strvec_push(strvec *sv, const char *s) TOOL_WUR;
void strvec_free(strvec *sv);

/*
 * Append each comma-separated item of `text` (empty items are an error:
 * "--alpn h2,,x: empty item"). Returns 0 or TOOL_EXIT_USAGE.
 */
int args_split_list(const char *flag, const char *text, strvec *out) TOOL_WUR;

/*
 * Report a getopt_long failure: `c` is what it returned ('?' for an
 * unknown option, ':' for a missing argument; the option string must
 * start with ':'). Prints "unknown option '--x'" or "option '--cert'
 * needs an argument", with a pointer to --help. Returns TOOL_EXIT_USAGE.
 */
int args_getopt_error(int c, char *const argv[]);

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
