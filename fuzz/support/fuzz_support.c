/* see fuzz_support.h */

/* RAND_set_rand_method is deprecated in OpenSSL 3.0 but still honoured by
 * RAND_bytes_ex and RAND_priv_bytes_ex, which is everything libssl and the
 * default provider's key generation draw from. Defined before any OpenSSL
 * header is included. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "fuzz_support.h"

#include <string.h>

#include <openssl/rand.h>

static uint64_t g_rand;

/* splitmix64: every seed gives a full-period stream. */
static uint64_t splitmix(void)
{
    uint64_t z = (g_rand += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int fz_rand_bytes(unsigned char *buf, int num)
{
    for (int i = 0; i < num; i += 8) {
        uint64_t v = splitmix();
        int n = num - i < 8 ? num - i : 8;
        memcpy(buf + i, &v, (size_t)n);
    }
    return 1;
}

static int fz_rand_seed(const void *buf, int num)
{
    (void)buf;
    (void)num;
    return 1;
}

static int fz_rand_add(const void *buf, int num, double entropy)
{
    (void)buf;
    (void)num;
    (void)entropy;
    return 1;
}

static int fz_rand_status(void)
{
    return 1;
}

static RAND_METHOD fz_rand_method = {fz_rand_seed, fz_rand_bytes, NULL,
                                     fz_rand_add,  fz_rand_bytes, fz_rand_status};

void fz_rand_install(void)
{
    if (RAND_get_rand_method() != &fz_rand_method && RAND_set_rand_method(&fz_rand_method) != 1) {
        fprintf(stderr, "fuzz: cannot install the deterministic RAND method\n");
        abort();
    }
}

void fz_rand_reset(uint64_t seed)
{
    g_rand = seed;
}

void fz_rand_swap(uint64_t *state)
{
    uint64_t mine = g_rand;
    g_rand = *state;
    *state = mine;
}

memtls_config *fz_config(memtls_role role, unsigned opts)
{
    static const char *const alpn[] = {"h2", "http/1.1"};
    memtls_config *cfg = memtls_config_new(role);
    int rc = cfg == NULL ? MEMTLS_ERR_NOMEM : 0;

    if (rc == 0 && role == MEMTLS_ROLE_SERVER) {
        rc = memtls_config_load_cert_pem(cfg, fz_server_cert_pem, strlen(fz_server_cert_pem),
                                         fz_server_key_pem, strlen(fz_server_key_pem));
        if (rc == 0 && (opts & FZ_MUTUAL)) {
            rc = memtls_config_load_ca_pem(cfg, fz_ca_pem, strlen(fz_ca_pem));
            if (rc == 0) {
                rc = memtls_config_set_verify(cfg, MEMTLS_VERIFY_REQUIRED);
            }
        }
    } else if (rc == 0) {
        rc = memtls_config_load_ca_pem(cfg, fz_ca_pem, strlen(fz_ca_pem));
        if (rc == 0) {
            rc = memtls_config_set_verify(cfg, MEMTLS_VERIFY_REQUIRED);
        }
        if (rc == 0 && (opts & FZ_MUTUAL)) {
            rc = memtls_config_load_cert_pem(cfg, fz_client_cert_pem, strlen(fz_client_cert_pem),
                                             fz_client_key_pem, strlen(fz_client_key_pem));
        }
    }
    if (rc == 0 && (opts & FZ_ALPN)) {
        rc = memtls_config_set_alpn(cfg, alpn, 2);
    }
    if (rc == 0 && (opts & FZ_TLS12_ONLY)) {
        rc = memtls_config_set_max_version(cfg, MEMTLS_TLS1_2);
    }
    if (rc == 0 && (opts & FZ_TLS13_ONLY)) {
        rc = memtls_config_set_min_version(cfg, MEMTLS_TLS1_3);
    }
    if (rc != 0) {
        fprintf(stderr, "fuzz: configuration failed: %s\n",
                cfg != NULL ? memtls_config_error(cfg) : "out of memory");
        abort();
    }
    return cfg;
}

void fz_buf_append(fz_buf *b, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        while (cap < b->len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL) {
            abort();
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void fz_buf_free(fz_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void fz_drain(memtls_ctx *ctx, fz_buf *out)
{
    uint8_t tmp[4096];
    while (memtls_ctx_pending_out(ctx) > 0) {
        size_t n = 0;
        int rc = memtls_ctx_drain(ctx, tmp, sizeof tmp, &n);
        FZ_CHECK(rc == 0 && n > 0, "memtls_ctx_drain: status %d, %zu bytes with %zu pending", rc, n,
                 memtls_ctx_pending_out(ctx));
        if (out != NULL) {
            fz_buf_append(out, tmp, n);
        }
    }
}

uint8_t fz_u8(fz_in *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)(hi << 8 | fz_u8(in));
}

uint64_t fz_next(uint64_t *state)
{
    uint64_t x = *state != 0 ? *state : 0x2545f4914f6cdd1dULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* The fixed test PKI, made once with the openssl command (openssl ca
 * -startdate 20000101000000Z -enddate 21000101000000Z), never regenerated:
 * recorded corpus flights contain the server certificate. */
const char fz_ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                         "MIIBZDCCAQugAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5tZW10bHMg\n"
                         "ZnV6eiBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowGTEXMBUG\n"
                         "A1UEAwwObWVtdGxzIGZ1enogQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAR2\n"
                         "9UvPCfGIxmj/GGV659Pb0fiLCmFSvOe1Loo77dy7QCnqIOAYW5ncfIByw0WaGA49\n"
                         "2ebJwqb3VPlNuMhSo3A2o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE\n"
                         "AwIBBjAdBgNVHQ4EFgQUBYs1jluX4ZZaHjUpyOE9Ypo8gj8wCgYIKoZIzj0EAwID\n"
                         "RwAwRAIgbhG2cxUWte7fjP0sPVKWH6tihtFQZQN70b9aYI3sTQcCIFuC6nIo3iZT\n"
                         "Yk4gZdChIN/pa/78+N/8PjT8Ow61TRj+\n"
                         "-----END CERTIFICATE-----\n";

const char fz_server_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBrTCCAVSgAwIBAgIBAjAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5tZW10bHMg\n"
    "ZnV6eiBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowFDESMBAG\n"
    "A1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEga7od0qv\n"
    "zx+HpQBQ7MznikweucoV+q5fQtSMfO4Ra63sa6BwCnOUYA0aS6iYxxou9Pv54sKN\n"
    "LV/t17g2v6MCQ6OBjzCBjDAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCQYD\n"
    "VR0TBAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwHwYD\n"
    "VR0jBBgwFoAUBYs1jluX4ZZaHjUpyOE9Ypo8gj8wHQYDVR0OBBYEFJzYFcfwkd7p\n"
    "5SHEtGZvuO63/4pqMAoGCCqGSM49BAMCA0cAMEQCIHJtany15q+CeF4BnBteEZJf\n"
    "yNa1WtoNxYJF26zZBCdHAiBmYNGPkFjSa7DgEdZc2X/Ca2xEkPSvgtylE0wJeGHR\n"
    "rw==\n"
    "-----END CERTIFICATE-----\n";

const char fz_server_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCMLU/yOeoo99tdLz\n"
    "8zGqY76jp6SyiTuqQjsM9x+7zEmhRANCAASBruh3Sq/PH4elAFDszOeKTB65yhX6\n"
    "rl9C1Ix87hFrrexroHAKc5RgDRpLqJjHGi70+/niwo0tX+3XuDa/owJD\n"
    "-----END PRIVATE KEY-----\n";

const char fz_client_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBoTCCAUigAwIBAgIBAzAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5tZW10bHMg\n"
    "ZnV6eiBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowETEPMA0G\n"
    "A1UEAwwGY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAED4Z+ww1Z1TY3\n"
    "LgSbkZdfpJ13nRioVoTRsGsgg0xXTAXv85hVZgKCOFnOPHNR8adkBc7M/4XPG5mA\n"
    "8nWOfkAkfqOBhjCBgzARBgNVHREECjAIggZjbGllbnQwCQYDVR0TBAIwADAOBgNV\n"
    "HQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHwYDVR0jBBgwFoAUBYs1\n"
    "jluX4ZZaHjUpyOE9Ypo8gj8wHQYDVR0OBBYEFMeL872Tt2Cl6h3PUMLVDcuoiOv6\n"
    "MAoGCCqGSM49BAMCA0cAMEQCIHyVP/rvS0jsGkSS0Ei2hL8V4VYkxLTKEPu5uCah\n"
    "J/aWAiBrnQM8UZdO1aSFg7p7XoAagU6/wmEciy8nP0OwABBYGQ==\n"
    "-----END CERTIFICATE-----\n";

const char fz_client_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgL4lTVotn9kYVn+Im\n"
    "qAVSg7JnjjkSiN2pYoflYNfieqahRANCAAQPhn7DDVnVNjcuBJuRl1+knXedGKhW\n"
    "hNGwayCDTFdMBe/zmFVmAoI4Wc48c1Hxp2QFzsz/hc8bmYDydY5+QCR+\n"
    "-----END PRIVATE KEY-----\n";
