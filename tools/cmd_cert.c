/*
 * cmd_cert.c - `memtls cert`: write a test PKI (a CA, a server certificate
 * and a client certificate, with their keys) made by memtls_pki_make.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memtls/pki.h>

#include "args.h"
#include "cmds.h"
#include "log.h"

typedef struct cert_opts {
    const char *dir;
    strvec sans;
    const char *cn;
    const char *client_cn;
    unsigned long days;
    int rsa;
    int force;
} cert_opts;

/* One file to write: where the PEM comes from and what to call it. */
typedef struct cert_file {
    const char *name;
    const memtls_pem *pem;
    int is_key;
    const char *what;
} cert_file;

static void cert_usage(FILE *out)
{
    fprintf(out, "usage: memtls cert --dir DIR [options]\n"
                 "\n"
                 "Write a test PKI into DIR: ca.pem and ca.key (the CA; keep the key to sign\n"
                 "more), server.pem/server.key and client.pem/client.key, signed by the CA.\n"
                 "Keys are written with mode 0600. Not for production use.\n"
                 "\n"
                 "options:\n"
                 "  --dir DIR          directory to write to (created if missing)\n"
                 "  --san NAME         server subject alternative name, repeatable or comma\n"
                 "                     separated; DNS name or IP address\n"
                 "                     (default: localhost,127.0.0.1,::1)\n"
                 "  --cn NAME          server common name (default: the first SAN)\n"
                 "  --client-cn NAME   client common name and DNS SAN (default: client)\n"
                 "  --days N           validity in days, 1..3650 (default: 30)\n"
                 "  --rsa              RSA 2048 keys instead of ECDSA P-256\n"
                 "  --force            overwrite existing files\n"
                 "  -h, --help         this help\n");
}

enum { O_DIR = 256, O_SAN, O_CN, O_CLIENT_CN, O_DAYS, O_RSA, O_FORCE, O_HELP };

static const args_option cert_options[] = {
    {"dir", 0, required_argument, O_DIR, 0},
    {"san", 0, required_argument, O_SAN, ARGS_REPEATABLE},
    {"cn", 0, required_argument, O_CN, 0},
    {"client-cn", 0, required_argument, O_CLIENT_CN, 0},
    {"days", 0, required_argument, O_DAYS, 0},
    {"rsa", 0, no_argument, O_RSA, 0},
    {"force", 0, no_argument, O_FORCE, 0},
    {"help", 'h', no_argument, O_HELP, 0},
};
ARGS_TABLE_FITS(cert_options);

static int parse_cert_args(int argc, char *argv[], cert_opts *o)
{
    args_scan sc;
    const char *arg = NULL;
    int c;

    args_scan_init(&sc, cert_options, sizeof cert_options / sizeof cert_options[0], argc, argv);
    while ((c = args_next(&sc, &arg)) != ARGS_DONE) {
        switch (c) {
        case O_DIR:
            o->dir = arg;
            break;
        case O_SAN:
            if (args_split_list("--san", arg, &o->sans) != 0) {
                return TOOL_EXIT_USAGE;
            }
            break;
        case O_CN:
            o->cn = arg;
            break;
        case O_CLIENT_CN:
            o->client_cn = arg;
            break;
        case O_DAYS:
            if (args_parse_uint("--days", arg, 1, 3650, &o->days) != 0) {
                return TOOL_EXIT_USAGE;
            }
            break;
        case O_RSA:
            o->rsa = 1;
            break;
        case O_FORCE:
            o->force = 1;
            break;
        case O_HELP:
            cert_usage(stdout);
            return ARGS_HELP;
        default: /* ARGS_FAIL: reported */
            return TOOL_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        tool_error("unexpected argument '%s' (see 'memtls cert --help')", argv[optind]);
        return TOOL_EXIT_USAGE;
    }
    if (o->dir == NULL) {
        tool_error("--dir DIR is required (see 'memtls cert --help')");
        return TOOL_EXIT_USAGE;
    }
    return 0;
}

static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            tool_error("--dir %s: not a directory", dir);
            return TOOL_EXIT_FAIL;
        }
        return 0;
    }
    if (mkdir(dir, 0755) != 0) {
        tool_error("--dir %s: cannot create: %s", dir, strerror(errno));
        return TOOL_EXIT_FAIL;
    }
    return 0;
}

static int make_one(const char *what, const memtls_cert_spec *spec, const memtls_pem *issuer,
                    memtls_pem *out)
{
    char err[512] = "";
    if (memtls_pki_make(spec, issuer, out, err, sizeof err) != 0) {
        tool_error("cannot make the %s certificate: %s", what, err[0] ? err : "failed");
        return TOOL_EXIT_FAIL;
    }
    return 0;
}

static int write_files(const cert_opts *o, const cert_file *files, size_t count)
{
    char path[4096];
    char err[512];

    if (!o->force) {
        for (size_t i = 0; i < count; i++) {
            snprintf(path, sizeof path, "%s/%s", o->dir, files[i].name);
            if (access(path, F_OK) == 0) {
                tool_error("%s: already exists (use --force to overwrite)", path);
                return TOOL_EXIT_FAIL;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", o->dir, files[i].name);
        err[0] = '\0';
        int rc = files[i].is_key ? memtls_pem_write(files[i].pem, NULL, path, err, sizeof err)
                                 : memtls_pem_write(files[i].pem, path, NULL, err, sizeof err);
        if (rc != 0) {
            tool_error("%s", err[0] ? err : path);
            return TOOL_EXIT_FAIL;
        }
        printf("wrote %-28s %s\n", path, files[i].what);
    }
    return 0;
}

int cmd_cert(int argc, char *argv[])
{
    static const char *const default_sans[] = {"localhost", "127.0.0.1", "::1"};
    cert_opts o;
    memtls_pem ca, server, client;
    char server_what[512];
    char fp[96];
    int rc = TOOL_EXIT_FAIL;

    memset(&o, 0, sizeof o);
    memset(&ca, 0, sizeof ca);
    memset(&server, 0, sizeof server);
    memset(&client, 0, sizeof client);
    o.days = 30;
    o.client_cn = "client";

    rc = parse_cert_args(argc, argv, &o);
    if (rc != 0) {
        rc = rc == ARGS_HELP ? TOOL_EXIT_OK : rc;
        goto out;
    }
    rc = TOOL_EXIT_FAIL;
    const char *const *sans = o.sans.n > 0 ? (const char *const *)o.sans.v : default_sans;
    size_t san_count = o.sans.n > 0 ? o.sans.n : 3;
    memtls_key_type kt = o.rsa ? MEMTLS_KEY_RSA_2048 : MEMTLS_KEY_EC_P256;
    long not_after = (long)o.days * 86400L;

    memtls_cert_spec ca_spec = {kt, MEMTLS_CERT_CA, "memtls test CA", NULL, 0, -3600, not_after};
    memtls_cert_spec server_spec = {
        kt, MEMTLS_CERT_SERVER, o.cn != NULL ? o.cn : sans[0], sans, san_count, -3600, not_after};
    const char *client_sans[] = {o.client_cn};
    memtls_cert_spec client_spec = {kt,    MEMTLS_CERT_CLIENT, o.client_cn, client_sans, 1,
                                    -3600, not_after};
    if (make_one("CA", &ca_spec, NULL, &ca) != 0 ||
        make_one("server", &server_spec, &ca, &server) != 0 ||
        make_one("client", &client_spec, &ca, &client) != 0 || make_dir(o.dir) != 0) {
        goto out;
    }

    size_t used = (size_t)snprintf(server_what, sizeof server_what, "server certificate for");
    for (size_t i = 0; i < san_count && used < sizeof server_what; i++) {
        used += (size_t)snprintf(server_what + used, sizeof server_what - used, "%s%s",
                                 i ? ", " : " ", sans[i]);
    }
    if (memtls_pem_fingerprint(&server, fp) == 0 && used < sizeof server_what) {
        snprintf(server_what + used, sizeof server_what - used, "\n%34sSHA-256 %s", "", fp);
    }
    const cert_file files[] = {
        {"ca.pem", &ca, 0, "CA certificate (CN=memtls test CA)"},
        {"ca.key", &ca, 1, "CA private key (mode 0600; keep it to sign more)"},
        {"server.pem", &server, 0, server_what},
        {"server.key", &server, 1, "server private key (mode 0600)"},
        {"client.pem", &client, 0, "client certificate (for --cert of connect)"},
        {"client.key", &client, 1, "client private key (mode 0600)"},
    };
    if (write_files(&o, files, sizeof files / sizeof files[0]) != 0) {
        goto out;
    }
    /* The host name to put in the connect example: the first SAN, without
     * its type prefix, an IPv6 address in brackets. */
    const char *host = sans[0];
    if (strncmp(host, "DNS:", 4) == 0) {
        host += 4;
    } else if (strncmp(host, "IP:", 3) == 0) {
        host += 3;
    }
    char host_buf[300];
    snprintf(host_buf, sizeof host_buf, strchr(host, ':') != NULL ? "[%s]" : "%s", host);
    const char *d = o.dir;
    printf("\nstart a server that requires client certificates from this CA:\n"
           "  memtls serve --cert %s/server.pem --key %s/server.key --ca %s/ca.pem "
           "--verify-client required\n"
           "connect with the client certificate:\n"
           "  memtls connect --ca %s/ca.pem --cert %s/client.pem --key %s/client.key %s:8443\n",
           d, d, d, d, d, d, host_buf);
    rc = TOOL_EXIT_OK;
out:
    memtls_pem_free(&ca);
    memtls_pem_free(&server);
    memtls_pem_free(&client);
    strvec_free(&o.sans);
    return rc;
}
