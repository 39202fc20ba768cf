/*
 * cmd_demo.c - `memtls demo`: a self-check with no sockets. A client and a
 * server session (mutual TLS 1.3, certificates made on the spot) are
 * pumped in memory: handshake, one message echoed back, clean close.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memtls/pki.h>
#include <memtls/session.h>

#include "args.h"
#include "cmds.h"
#include "log.h"

/* A growable byte buffer: ciphertext in flight, or received plaintext. */
typedef struct demo_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int nomem;
} demo_buf;

typedef struct demo_end {
    memtls_session *s;
    demo_buf wire;  /* ciphertext this end sent, not yet delivered */
    demo_buf plain; /* plaintext this end received */
    int echo;       /* the server writes back what it receives */
} demo_end;

static void buf_append(demo_buf *b, const uint8_t *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->nomem = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static size_t demo_send(void *arg, const uint8_t *data, size_t len)
{
    demo_end *e = arg;
    buf_append(&e->wire, data, len);
    return len;
}

static void demo_on_data(void *arg, const uint8_t *data, size_t len)
{
    demo_end *e = arg;
    buf_append(&e->plain, data, len);
    if (e->echo) {
        size_t accepted = 0;
        /* The output queue (256 KiB) holds the demo's one message. */
        if (memtls_session_write(e->s, data, len, &accepted) != 0 || accepted != len) {
            e->plain.nomem = 1;
        }
    }
}

/* Deliver the ciphertext in `from` to `to`. Returns 1 if bytes moved. */
static int deliver(demo_end *from, demo_end *to)
{
    if (from->wire.len == 0) {
        return 0;
    }
    /* Feeding may make `to` send, which only appends to to->wire. */
    uint8_t *data = from->wire.data;
    size_t len = from->wire.len;
    from->wire.data = NULL;
    from->wire.len = 0;
    from->wire.cap = 0;
    int rc = memtls_session_feed(to->s, data, len);
    free(data);
    return rc == 0 || rc == MEMTLS_CLOSED;
}

static void pump(demo_end *client, demo_end *server)
{
    for (int i = 0; i < 64; i++) {
        int moved = deliver(client, server);
        moved |= deliver(server, client);
        if (!moved) {
            return;
        }
    }
}

static int make_pki(memtls_pem *ca, memtls_pem *srv, memtls_pem *cli)
{
    static const char *const server_sans[] = {"localhost"};
    static const char *const client_sans[] = {"client"};
    const memtls_cert_spec ca_spec = {
        MEMTLS_KEY_EC_P256, MEMTLS_CERT_CA, "memtls demo CA", NULL, 0, 0, 0};
    const memtls_cert_spec srv_spec = {
        MEMTLS_KEY_EC_P256, MEMTLS_CERT_SERVER, "localhost", server_sans, 1, 0, 0};
    const memtls_cert_spec cli_spec = {
        MEMTLS_KEY_EC_P256, MEMTLS_CERT_CLIENT, "client", client_sans, 1, 0, 0};
    char err[512] = "";
    if (memtls_pki_make(&ca_spec, NULL, ca, err, sizeof err) != 0 ||
        memtls_pki_make(&srv_spec, ca, srv, err, sizeof err) != 0 ||
        memtls_pki_make(&cli_spec, ca, cli, err, sizeof err) != 0) {
        tool_error("cannot make certificates: %s", err);
        return TOOL_EXIT_FAIL;
    }
    return 0;
}

static memtls_session *make_session(memtls_role role, const memtls_pem *ca, const memtls_pem *own,
                                    demo_end *end)
{
    memtls_config *cfg = memtls_config_new(role);
    memtls_session *s = NULL;
    memtls_ctx *ctx = NULL;
    if (cfg == NULL) {
        tool_error("cannot create a configuration");
        return NULL;
    }
    if (memtls_config_load_cert_pem(cfg, own->cert, own->cert_len, own->key, own->key_len) != 0 ||
        memtls_config_load_ca_pem(cfg, ca->cert, ca->cert_len) != 0 ||
        memtls_config_set_verify(cfg, MEMTLS_VERIFY_REQUIRED) != 0 ||
        memtls_config_set_min_version(cfg, MEMTLS_TLS1_3) != 0) {
        tool_error("configuration: %s", memtls_config_error(cfg));
        goto out;
    }
    ctx = memtls_ctx_new(cfg);
    if (ctx == NULL) {
        tool_error("cannot create a context");
        goto out;
    }
    if (role == MEMTLS_ROLE_CLIENT && memtls_ctx_set_hostname(ctx, "localhost") != 0) {
        tool_error("cannot set the host name");
        memtls_ctx_free(ctx);
        goto out;
    }
    memtls_session_cbs cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.arg = end;
    cbs.send = demo_send;
    cbs.on_data = demo_on_data;
    s = memtls_session_new(ctx, &cbs, NULL);
    if (s == NULL) {
        tool_error("cannot create a session");
    }
out:
    memtls_config_free(cfg);
    return s;
}

static int demo_usage(FILE *out)
{
    fprintf(out, "usage: memtls demo\n"
                 "\n"
                 "An in-process self-check: a TLS 1.3 client and server (mutual\n"
                 "authentication, certificates made on the spot) talk through memory, no\n"
                 "sockets. Prints the protocol, cipher, both peers' subjects and the bytes\n"
                 "exchanged; exits 0 when everything arrived intact.\n");
    return 0;
}

static int report(demo_end *client, demo_end *server, const char *msg, size_t msg_len)
{
    memtls_ctx *cc = memtls_session_ctx(client->s);
    memtls_ctx *sc = memtls_session_ctx(server->s);
    memtls_session_stats cs, ss;
    memtls_session_get_stats(client->s, &cs);
    memtls_session_get_stats(server->s, &ss);

    printf("memtls demo: a client and a server session in one process, no sockets\n");
    printf("  protocol        %s\n", memtls_ctx_protocol(cc));
    printf("  cipher          %s\n", memtls_ctx_cipher(cc));
    printf("  server cert     %s (%s)\n", memtls_ctx_peer_subject(cc), memtls_ctx_verify_error(cc));
    printf("  client cert     %s (%s)\n", memtls_ctx_peer_subject(sc), memtls_ctx_verify_error(sc));
    printf("  round trip      %zu bytes \"%s\" echoed back %s\n", msg_len, msg,
           client->plain.len == msg_len && memcmp(client->plain.data, msg, msg_len) == 0
               ? "intact"
               : "CORRUPTED");
    printf("  ciphertext      client->server %llu bytes, server->client %llu bytes\n",
           (unsigned long long)ss.ciphertext_in, (unsigned long long)cs.ciphertext_in);
    printf("  close           client: %s, server: %s\n",
           memtls_reason_name(memtls_session_reason(client->s)),
           memtls_reason_name(memtls_session_reason(server->s)));
    return 0;
}

int cmd_demo(int argc, char *argv[])
{
    static const args_option options[] = {{"help", 'h', no_argument, 'h', 0}};
    static const char msg[] = "hello, memtls";
    memtls_pem ca, srv, cli;
    demo_end client, server;
    int rc = TOOL_EXIT_FAIL;
    int c;

    memset(&ca, 0, sizeof ca);
    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    memset(&client, 0, sizeof client);
    memset(&server, 0, sizeof server);
    args_scan sc;
    const char *arg = NULL;
    args_scan_init(&sc, options, 1, argc, argv);
    while ((c = args_next(&sc, &arg)) != ARGS_DONE) {
        if (c == 'h') {
            return demo_usage(stdout);
        }
        return TOOL_EXIT_USAGE; /* ARGS_FAIL: reported */
    }
    if (optind < argc) {
        tool_error("unexpected argument '%s' (see 'memtls demo --help')", argv[optind]);
        return TOOL_EXIT_USAGE;
    }

    server.echo = 1;
    if (make_pki(&ca, &srv, &cli) != 0) {
        goto out;
    }
    client.s = make_session(MEMTLS_ROLE_CLIENT, &ca, &cli, &client);
    server.s = make_session(MEMTLS_ROLE_SERVER, &ca, &srv, &server);
    if (client.s == NULL || server.s == NULL) {
        goto out;
    }
    size_t accepted = 0;
    if (memtls_session_start(server.s) != 0 || memtls_session_start(client.s) != 0 ||
        memtls_session_write(client.s, msg, sizeof msg - 1, &accepted) != 0 ||
        accepted != sizeof msg - 1) {
        tool_error("cannot start: %s", memtls_session_error(client.s));
        goto out;
    }
    pump(&client, &server);
    if (memtls_session_state(client.s) != MEMTLS_STATE_READY ||
        memtls_session_state(server.s) != MEMTLS_STATE_READY) {
        tool_error("handshake failed: client: %s; server: %s", memtls_session_error(client.s),
                   memtls_session_error(server.s));
        goto out;
    }
    if (memtls_session_close(client.s) != 0) {
        tool_error("close failed");
        goto out;
    }
    pump(&client, &server);
    if (server.plain.nomem || client.plain.nomem || client.wire.nomem || server.wire.nomem) {
        tool_error("out of memory");
        goto out;
    }
    report(&client, &server, msg, sizeof msg - 1);
    int intact =
        client.plain.len == sizeof msg - 1 && memcmp(client.plain.data, msg, sizeof msg - 1) == 0;
    int closed = memtls_session_state(client.s) == MEMTLS_STATE_CLOSED &&
                 memtls_session_state(server.s) == MEMTLS_STATE_CLOSED;
    if (!intact || !closed) {
        tool_error("self-check failed: %s", !intact ? "echo did not match" : "close incomplete");
        goto out;
    }
    printf("ok\n");
    rc = TOOL_EXIT_OK;
out:
    memtls_session_free(client.s);
    memtls_session_free(server.s);
    free(client.wire.data);
    free(client.plain.data);
    free(server.wire.data);
    free(server.plain.data);
    memtls_pem_free(&ca);
    memtls_pem_free(&srv);
    memtls_pem_free(&cli);
    return rc;
}
