/* tlspair.c - see tlspair.h. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <memtls/openssl.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

void tlspair_pin_version(memtls_config *cfg, int version)
{
    assert_int_equal(memtls_config_set_min_version(cfg, (memtls_version_floor)version), 0);
    assert_int_equal(memtls_config_set_max_version(cfg, (memtls_version_floor)version), 0);
}

static memtls_pem pem_dup(const memtls_pem *in)
{
    memtls_pem out = {NULL, in->cert_len, NULL, in->key_len};
    out.cert = OPENSSL_strndup(in->cert, in->cert_len);
    out.key = OPENSSL_strndup(in->key, in->key_len);
    assert_non_null(out.cert);
    assert_non_null(out.key);
    return out;
}

/* A fresh CA, server leaf and client leaf of key type `kt` in `p`. */
static void make_pki(tlspair *p, memtls_key_type kt)
{
    p->ca = testpki_ca(kt);
    p->server_pem =
        testpki_leaf(&p->ca, MEMTLS_CERT_SERVER, kt, "localhost", "DNS:localhost", 0, 0);
    p->client_pem = testpki_leaf(&p->ca, MEMTLS_CERT_CLIENT, kt, "client", "DNS:client", 0, 0);
}

/*
 * Generating an RSA-2048 key takes a second here and ten or more under
 * valgrind, and every RSA pair of a test program needs the same three
 * (CA, server, client): they are made once per process (only the
 * certificates of this tlspair are used) and each pair gets copies. EC
 * pairs are made fresh (a P-256 key costs almost nothing).
 */
static tlspair rsa_pki;

static void free_rsa_pki(void)
{
    memtls_pem_free(&rsa_pki.ca);
    memtls_pem_free(&rsa_pki.server_pem);
    memtls_pem_free(&rsa_pki.client_pem);
}

static void give_pki(tlspair *p, memtls_key_type kt)
{
    if (kt != MEMTLS_KEY_RSA_2048) {
        make_pki(p, kt);
        return;
    }
    if (rsa_pki.ca.cert == NULL) {
        make_pki(&rsa_pki, kt);
        atexit(free_rsa_pki);
    }
    p->ca = pem_dup(&rsa_pki.ca);
    p->server_pem = pem_dup(&rsa_pki.server_pem);
    p->client_pem = pem_dup(&rsa_pki.client_pem);
}

void tlspair_init(tlspair *p, const tlspair_opts *o)
{
    static const tlspair_opts defaults = {0};
    if (o == NULL) {
        o = &defaults;
    }
    memset(p, 0, sizeof *p);
    give_pki(p, o->key_type);

    p->scfg = memtls_config_new(MEMTLS_ROLE_SERVER);
    p->ccfg = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_non_null(p->scfg);
    assert_non_null(p->ccfg);
    assert_int_equal(memtls_config_load_cert_pem(p->scfg, p->server_pem.cert,
                                                 p->server_pem.cert_len, p->server_pem.key,
                                                 p->server_pem.key_len),
                     0);
    assert_int_equal(memtls_config_load_ca_pem(p->ccfg, p->ca.cert, p->ca.cert_len), 0);
    if (o->server_verify != MEMTLS_VERIFY_NONE) {
        assert_int_equal(memtls_config_load_ca_pem(p->scfg, p->ca.cert, p->ca.cert_len), 0);
        assert_int_equal(memtls_config_set_verify(p->scfg, o->server_verify), 0);
    }
    if (o->client_cert) {
        assert_int_equal(memtls_config_load_cert_pem(p->ccfg, p->client_pem.cert,
                                                     p->client_pem.cert_len, p->client_pem.key,
                                                     p->client_pem.key_len),
                         0);
    }
    if (o->version != 0) {
        tlspair_pin_version(p->scfg, o->version);
        tlspair_pin_version(p->ccfg, o->version);
    }
}

void tlspair_contexts(tlspair *p, const char *hostname)
{
    p->s = memtls_ctx_new(p->scfg);
    p->c = memtls_ctx_new(p->ccfg);
    assert_non_null(p->s);
    assert_non_null(p->c);
    if (hostname != NULL) {
        assert_int_equal(memtls_ctx_set_hostname(p->c, hostname), 0);
    }
}

void tlspair_connect(tlspair *p, const tlspair_opts *o, const char *hostname)
{
    int crc = -1;
    int src = -1;
    tlspair_init(p, o);
    tlspair_contexts(p, hostname);
    if (!pump_handshake(p->c, p->s, 0, &crc, &src)) {
        print_error("handshake failed: client %s (%s), server %s (%s)\n", memtls_status_name(crc),
                    memtls_ctx_error(p->c), memtls_status_name(src), memtls_ctx_error(p->s));
        fail();
    }
}

void tlspair_handshake(tlspair *p)
{
    int crc = -1;
    int src = -1;
    if (!pump_handshake(p->c, p->s, 0, &crc, &src)) {
        print_error("handshake: client %s (%s), server %s (%s)\n", memtls_status_name(crc),
                    memtls_ctx_error(p->c), memtls_status_name(src), memtls_ctx_error(p->s));
        fail();
    }
}

void tlspair_free(tlspair *p)
{
    memtls_ctx_free(p->c);
    memtls_ctx_free(p->s);
    memtls_config_free(p->ccfg);
    memtls_config_free(p->scfg);
    memtls_pem_free(&p->ca);
    memtls_pem_free(&p->server_pem);
    memtls_pem_free(&p->client_pem);
    memset(p, 0, sizeof *p);
}

void tlspair_transfer(memtls_ctx *from, memtls_ctx *to, const void *data, size_t len)
{
    size_t n = 0;
    size_t got = 0;
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(memtls_ctx_write(from, data, len, &n), 0);
    assert_int_equal(n, len);
    pump_one_way(from, to, 0);
    while (got < len) {
        int rc = memtls_ctx_read(to, buf + got, len - got + 1, &n);
        if (rc != 0) {
            print_error("read after %zu of %zu bytes: %s (%s)\n", got, len, memtls_status_name(rc),
                        memtls_ctx_error(to));
        }
        assert_int_equal(rc, 0);
        assert_true(n >= 1);
        got += n;
    }
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
    free(buf);
}

void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed != 0 ? seed : 0x9e3779b9u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)(x >> 24);
    }
}

int text_has(const char *hay, const char *needle)
{
    if (hay != NULL && needle != NULL && strstr(hay, needle) != NULL) {
        return 1;
    }
    print_error("expected \"%s\" in \"%s\"\n", needle == NULL ? "(null)" : needle,
                hay == NULL ? "(null)" : hay);
    return 0;
}

static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len,
                   SSL *ssl, void *arg)
{
    msglog *log = arg;
    (void)version;
    (void)ssl;
    if (content_type != SSL3_RT_HANDSHAKE || len < 1) {
        return;
    }
    unsigned type = ((const unsigned char *)buf)[0];
    if (write_p) {
        log->sent[type]++;
    } else {
        log->received[type]++;
    }
}

void msglog_attach(memtls_ctx *ctx, msglog *log)
{
    SSL *ssl = memtls_ctx_ssl(ctx);
    assert_non_null(ssl);
    memset(log, 0, sizeof *log);
    SSL_set_msg_callback(ssl, on_msg);
    SSL_set_msg_callback_arg(ssl, log);
}
