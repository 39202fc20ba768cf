/* see args.h */
#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int strvec_push(strvec *sv, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL) {
        return -1;
    }
    char **grown = realloc(sv->v, (sv->n + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        return -1;
    }
    sv->v = grown;
    sv->v[sv->n++] = copy;
    return 0;
}

void strvec_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) {
        free(sv->v[i]);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

int args_split_list(const char *flag, const char *text, strvec *out)
{
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            tool_error("%s '%s': empty item in the list", flag, text);
            return TOOL_EXIT_USAGE;
        }
        char *item = strndup(p, len);
        if (item == NULL || strvec_push(out, item) != 0) {
            free(item);
            tool_error("%s: out of memory", flag);
            return TOOL_EXIT_USAGE;
        }
        free(item);
        if (comma == NULL) {
            return 0;
        }
        p = comma + 1;
    }
}

void args_scan_init(args_scan *sc, const args_option *opts, size_t count, int argc, char *argv[])
{
    size_t n = 0;

    memset(sc, 0, sizeof *sc);
    sc->opts = opts;
    sc->count = count < ARGS_MAX_OPTIONS ? count : ARGS_MAX_OPTIONS;
    sc->argc = argc;
    sc->argv = argv;
    /* ':' first: a missing argument is reported as ':', not '?'. */
    sc->shortopts[n++] = ':';
    for (size_t i = 0; i < sc->count; i++) {
        sc->longopts[i].name = opts[i].name;
        sc->longopts[i].has_arg = opts[i].has_arg;
        sc->longopts[i].flag = NULL;
        /* Long options come back as 256 + their index in the table. */
        sc->longopts[i].val = 256 + (int)i;
        if (opts[i].short_name != 0) {
            sc->shortopts[n++] = opts[i].short_name;
            if (opts[i].has_arg == required_argument) {
                sc->shortopts[n++] = ':';
            }
        }
    }
    sc->shortopts[n] = '\0';
    /* 0, not 1: glibc then forgets everything from an earlier scan,
     * including its position inside a group of short options. */
    optind = 0;
    opterr = 0;
}

/* getopt_long failed: `c` is ':' (missing argument) or '?' (unknown). */
static int scan_error(const args_scan *sc, int c)
{
    /* getopt_long leaves optind past the offending word. */
    const char *word = optind > 0 && optind <= sc->argc ? sc->argv[optind - 1] : "?";
    if (c == ':') {
        tool_error("option '%s' needs an argument (see '%s --help')", word, tool_name());
    } else if (optopt != 0 && strncmp(word, "--", 2) != 0) {
        tool_error("unknown option '-%c' (see '%s --help')", optopt, tool_name());
    } else {
        tool_error("unknown option '%s' (see '%s --help')", word, tool_name());
    }
    return ARGS_FAIL;
}

int args_next(args_scan *sc, const char **value)
{
    int c = getopt_long(sc->argc, sc->argv, sc->shortopts, sc->longopts, NULL);
    size_t i = 0;

    *value = NULL;
    if (c == -1) {
        return ARGS_DONE;
    }
    if (c == '?' || c == ':') {
        return scan_error(sc, c);
    }
    /* Anything else is what we declared: 256 + index, or a short name. */
    if (c >= 256) {
        i = (size_t)(c - 256);
    } else {
        while (i + 1 < sc->count && sc->opts[i].short_name != c) {
            i++;
        }
    }
    const args_option *o = &sc->opts[i];
    const char *arg = o->has_arg == required_argument ? optarg : NULL;
    if (arg != NULL && sc->seen[i] != NULL && !(o->flags & ARGS_REPEATABLE)) {
        tool_error("--%s given twice ('%s', then '%s'); give it once", o->name, sc->seen[i], arg);
        return ARGS_FAIL;
    }
    sc->seen[i] = arg != NULL ? arg : "";
    *value = arg;
    return o->id;
}

int args_parse_uint(const char *flag, const char *text, unsigned long min, unsigned long max,
                    unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
        tool_error("%s '%s': expected a number from %lu to %lu", flag, text, min, max);
        return TOOL_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int args_parse_hostport(const char *flag, const char *text, int numeric, int allow_port0,
                        args_hostport *out)
{
    const char *host = text;
    size_t host_len = 0;
    const char *port_text = NULL;

    memset(out, 0, sizeof *out);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            tool_error("%s '%s': expected [IPv6]:PORT", flag, text);
            return TOOL_EXIT_USAGE;
        }
        host = text + 1;
        host_len = (size_t)(close - host);
        port_text = close + 2;
        out->is_v6 = 1;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL) {
            tool_error("%s '%s': expected HOST:PORT", flag, text);
            return TOOL_EXIT_USAGE;
        }
        if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
            tool_error("%s '%s': put an IPv6 address in brackets: [ADDR]:PORT", flag, text);
            return TOOL_EXIT_USAGE;
        }
        host_len = (size_t)(colon - text);
        port_text = colon + 1;
    }
    if (host_len == 0 || host_len >= sizeof out->host) {
        tool_error("%s '%s': missing or too long host", flag, text);
        return TOOL_EXIT_USAGE;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';

    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(port_text, &end, 10);
    if (port_text[0] < '0' || port_text[0] > '9' || *end != '\0' || errno != 0 || port > 65535 ||
        (port == 0 && !allow_port0)) {
        tool_error("%s '%s': invalid port '%s' (expected %s to 65535)", flag, text, port_text,
                   allow_port0 ? "0" : "1");
        return TOOL_EXIT_USAGE;
    }
    out->port = (uint16_t)port;

    if (numeric) {
        unsigned char addr[16];
        if (!out->is_v6 && strcmp(out->host, "localhost") == 0) {
            strcpy(out->host, "127.0.0.1");
        }
        int family = out->is_v6 ? AF_INET6 : AF_INET;
        if (inet_pton(family, out->host, addr) != 1) {
            tool_error("%s '%s': invalid address '%s' (expected numeric IPv4, [IPv6] or "
                       "localhost)",
                       flag, text, out->host);
            return TOOL_EXIT_USAGE;
        }
    }
    return 0;
}

int args_parse_tls_version(const char *flag, const char *text, int *out)
{
    if (strcmp(text, "1.2") == 0) {
        *out = 0x0303;
        return 0;
    }
    if (strcmp(text, "1.3") == 0) {
        *out = 0x0304;
        return 0;
    }
    tool_error("%s '%s': expected 1.2 or 1.3", flag, text);
    return TOOL_EXIT_USAGE;
}
