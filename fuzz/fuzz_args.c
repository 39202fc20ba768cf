/*
 * fuzz_args.c - the command line of `memtls serve` and `memtls connect`:
 * argument vectors built from the input, parsed without starting
 * anything (serve_parse_args, connect_parse_args).
 *
 * Input: [which] then the words, separated by NUL bytes (at most 64).
 *   which bit 0: 0 serve, 1 connect
 *
 * Checked: the parser returns 0, ARGS_HELP or TOOL_EXIT_USAGE; a usage
 * error prints exactly one line naming the problem and success prints
 * nothing (the lines go to a memory stream); a successful parse is
 * consistent (serve: 1..16 listeners with addresses, as many --cert as
 * --key, a verify mode, no ticket option beside --no-tickets,
 * --proxy-protocol only with a backend; connect: a host and a port); two
 * parses of the same words give the same answer (getopt's state is reset
 * between parses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect_args.h"
#include "fuzz_support.h"
#include "log.h"
#include "serve_args.h"

#define MAX_WORDS 64

/* Lines printed by one parse. */
static char *g_out;
static size_t g_out_len;

static int count_lines(const char *s, size_t n)
{
    int lines = 0;
    for (size_t i = 0; i < n; i++) {
        lines += s[i] == '\n';
    }
    return lines;
}

static int parse(int which, int argc, char **argv, int *lines)
{
    FILE *out = open_memstream(&g_out, &g_out_len);
    FZ_CHECK(out != NULL, "open_memstream");
    tool_set_output(out);
    int rc;
    if (which == 0) {
        serve_opts o;
        serve_opts_init(&o);
        rc = serve_parse_args(argc, argv, &o);
        if (rc == 0) {
            FZ_CHECK(o.listener_count >= 1 && o.listener_count <= SERVE_MAX_LISTENERS,
                     "%zu listeners", o.listener_count);
            for (size_t i = 0; i < o.listener_count; i++) {
                FZ_CHECK(o.listeners[i].host != NULL && o.listeners[i].host[0] != '\0',
                         "listener without an address");
            }
            FZ_CHECK(o.certs.n == o.keys.n, "%zu --cert, %zu --key", o.certs.n, o.keys.n);
            FZ_CHECK(!o.no_tickets ||
                         (o.ticket_keys == NULL && o.ticket_rotate == 0 && o.ticket_lifetime == 0),
                     "--no-tickets with ticket options");
            FZ_CHECK(o.proxy_protocol == 0 || o.proxy, "--proxy-protocol without --backend");
            FZ_CHECK(o.ticket_lifetime <= 604800, "lifetime %lu", o.ticket_lifetime);
            FZ_CHECK(o.verify >= 0 && o.verify <= 2, "verify %d", o.verify);
            FZ_CHECK(!o.proxy || o.backend.port != 0, "backend port 0");
        }
        serve_opts_free(&o);
    } else {
        connect_opts o;
        connect_opts_init(&o);
        rc = connect_parse_args(argc, argv, &o);
        if (rc == 0) {
            FZ_CHECK(o.target.host[0] != '\0' && o.target.port != 0, "no target");
            FZ_CHECK(o.timeout_ms >= 1, "timeout %lu", o.timeout_ms);
        }
        connect_opts_free(&o);
    }
    tool_set_output(NULL);
    FZ_CHECK(fclose(out) == 0, "fclose");
    *lines = count_lines(g_out, g_out_len);
    free(g_out);
    g_out = NULL;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *words[MAX_WORDS + 2];
    char *copy[2][MAX_WORDS + 2];
    int argc = 1;

    if (size == 0) {
        return 0;
    }
    int which = data[0] & 1;
    tool_set_name(which == 0 ? "memtls serve" : "memtls connect");
    words[0] = which == 0 ? "serve" : "connect";
    /* Split the rest on NUL bytes; each word its own allocation so ASan
     * sees any read past its end. */
    size_t off = 1;
    while (off < size && argc <= MAX_WORDS) {
        const uint8_t *nul = memchr(data + off, '\0', size - off);
        size_t n = nul != NULL ? (size_t)(nul - (data + off)) : size - off;
        words[argc] = malloc(n + 1);
        FZ_CHECK(words[argc] != NULL, "out of memory");
        memcpy(words[argc], data + off, n);
        words[argc][n] = '\0';
        argc++;
        off += n + 1;
    }
    words[argc] = NULL;

    /* getopt_long permutes argv: give each parse its own vector. */
    int rc[2];
    int lines[2];
    for (int k = 0; k < 2; k++) {
        memcpy(copy[k], words, sizeof(char *) * (size_t)(argc + 1));
        rc[k] = parse(which, argc, copy[k], &lines[k]);
        FZ_CHECK(rc[k] == 0 || rc[k] == ARGS_HELP || rc[k] == TOOL_EXIT_USAGE, "status %d", rc[k]);
        FZ_CHECK(rc[k] == TOOL_EXIT_USAGE ? lines[k] == 1 : lines[k] == 0,
                 "status %d printed %d lines", rc[k], lines[k]);
    }
    FZ_CHECK(rc[0] == rc[1], "two parses disagree: %d then %d", rc[0], rc[1]);

    for (int i = 1; i < argc; i++) {
        free(words[i]);
    }
    return 0;
}
