/* see connect_args.h */
#include "connect_args.h"

#include <string.h>

#include "log.h"

void connect_usage(FILE *out)
{
    fprintf(out, "usage: memtls connect [options] HOST:PORT\n"
                 "\n"
                 "Open a TLS connection and copy stdin to it and its data to stdout (like\n"
                 "openssl s_client -quiet). The server certificate is verified against the\n"
                 "system CA store (or --ca) and must name HOST (or --servername). On stdin EOF\n"
                 "the client sends close_notify and keeps reading; it exits 0 when the server\n"
                 "closes, non-zero on a verify failure or any other error.\n"
                 "\n"
                 "options:\n"
                 "  --ca FILE            trust the CA certificates in FILE instead of the system\n"
                 "                       store\n"
                 "  --servername NAME    name to send as SNI and to check in the certificate\n"
                 "                       (default: HOST)\n"
                 "  --insecure           do not verify the server certificate (a warning is\n"
                 "                       printed)\n"
                 "  --cert FILE          client certificate chain (PEM), for mutual TLS\n"
                 "  --key FILE           its private key (PEM)\n"
                 "  --alpn LIST          ALPN protocols to offer, comma separated (h2,http/1.1)\n"
                 "  --min-tls 1.2|1.3    lowest protocol version (default 1.2)\n"
                 "  --max-tls 1.2|1.3    highest protocol version (default 1.3)\n"
                 "  --timeout MS         connect and handshake deadline (default 10000)\n"
                 "  -v, --verbose        print the negotiated parameters on stderr\n"
                 "  -h, --help           this help\n"
                 "\n"
                 "HOST:PORT: host name or address; IPv6 in brackets: [::1]:8443\n");
}

void connect_opts_init(connect_opts *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_ms = CONNECT_DEFAULT_TIMEOUT_MS;
}

void connect_opts_free(connect_opts *o)
{
    strvec_free(&o->alpn);
}

enum {
    O_CA = 256,
    O_SNI,
    O_INSECURE,
    O_CERT,
    O_KEY,
    O_ALPN,
    O_MIN,
    O_MAX,
    O_TIMEOUT,
    O_VERBOSE,
    O_HELP
};

static const args_option connect_options[] = {
    {"ca", 0, required_argument, O_CA, 0},           {"servername", 0, required_argument, O_SNI, 0},
    {"insecure", 'k', no_argument, O_INSECURE, 0},   {"cert", 0, required_argument, O_CERT, 0},
    {"key", 0, required_argument, O_KEY, 0},         {"alpn", 0, required_argument, O_ALPN, 0},
    {"min-tls", 0, required_argument, O_MIN, 0},     {"max-tls", 0, required_argument, O_MAX, 0},
    {"timeout", 0, required_argument, O_TIMEOUT, 0}, {"verbose", 'v', no_argument, O_VERBOSE, 0},
    {"help", 'h', no_argument, O_HELP, 0},
};
ARGS_TABLE_FITS(connect_options);

int connect_parse_args(int argc, char *argv[], connect_opts *o)
{
    args_scan sc;
    const char *arg = NULL;
    int c;

    args_scan_init(&sc, connect_options, sizeof connect_options / sizeof connect_options[0], argc,
                   argv);
    while ((c = args_next(&sc, &arg)) != ARGS_DONE) {
        int rc = 0;
        switch (c) {
        case O_CA:
            o->ca = arg;
            break;
        case O_SNI:
            o->servername = arg;
            break;
        case O_INSECURE:
            o->insecure = 1;
            break;
        case O_CERT:
            o->cert = arg;
            break;
        case O_KEY:
            o->key = arg;
            break;
        case O_ALPN:
            rc = args_split_list("--alpn", arg, &o->alpn);
            break;
        case O_MIN:
            rc = args_parse_tls_version("--min-tls", arg, &o->min_version);
            break;
        case O_MAX:
            rc = args_parse_tls_version("--max-tls", arg, &o->max_version);
            break;
        case O_TIMEOUT:
            rc = args_parse_uint("--timeout", arg, 1, 3600000, &o->timeout_ms);
            break;
        case O_VERBOSE:
            o->verbose = 1;
            break;
        case O_HELP:
            return ARGS_HELP;
        default: /* ARGS_FAIL: reported */
            return TOOL_EXIT_USAGE;
        }
        if (rc != 0) {
            return rc;
        }
    }
    if (optind >= argc) {
        tool_error("HOST:PORT is required (see 'memtls connect --help')");
        return TOOL_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        tool_error("unexpected argument '%s' (see 'memtls connect --help')", argv[optind + 1]);
        return TOOL_EXIT_USAGE;
    }
    o->target_text = argv[optind];
    return args_parse_hostport("HOST:PORT", argv[optind], 0, 0, &o->target);
}
