/*
 * main.c - `memtls`: dispatch to a subcommand, global --help/--version.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include <memtls/version.h>

#include "args.h"
#include "cmds.h"
#include "log.h"

typedef struct subcommand {
    const char *name;
    const char *label; /* prefix of error lines */
    int (*run)(int argc, char *argv[]);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"serve", "memtls serve", cmd_serve, "TLS terminator: echo, or proxy to a plaintext backend"},
    {"connect", "memtls connect", cmd_connect, "TLS client on stdin/stdout"},
    {"cert", "memtls cert", cmd_cert, "write a test PKI (CA, server and client certificates)"},
    {"demo", "memtls demo", cmd_demo, "in-process TLS 1.3 handshake and round trip (self-check)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: memtls <command> [options]\n"
                 "       memtls <command> --help\n"
                 "       memtls --version\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        fprintf(out, "  %-8s  %s\n", subcommands[i].name, subcommands[i].summary);
    }
    fprintf(out, "\nSee memtls(1) for every option, the signals and the exit codes.\n");
}

int main(int argc, char *argv[])
{
    if (argc < 2) {
        usage(stderr);
        return TOOL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return TOOL_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        /* The command's own version, the library it runs on, and the
         * OpenSSL it runs on (which may be newer than it was built with). */
        printf("memtls %s (libmemtls %s, %s)\n", MEMTLS_VERSION_STRING, memtls_version_string(),
               OpenSSL_version(OPENSSL_VERSION));
        return TOOL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(cmd, subcommands[i].name) == 0) {
            tool_set_name(subcommands[i].label);
            return subcommands[i].run(argc - 1, argv + 1);
        }
    }
    if (cmd[0] == '-') {
        tool_error("unknown option '%s' (see 'memtls --help')", cmd);
    } else {
        tool_error("unknown command '%s' (see 'memtls --help')", cmd);
    }
    return TOOL_EXIT_USAGE;
}
