/*
 * pki.c - the test certificate factory; see memtls/pki.h.
 *
 * IMPLEMENTATION NOTES
 *
 * Arguments are checked before any key is generated: RSA key generation
 * takes tens of milliseconds, and a malformed SAN should fail fast and
 * without touching OpenSSL state. SANs are therefore parsed into a
 * GENERAL_NAMES stack first and only attached to the certificate later.
 *
 * SANs are built directly rather than through OpenSSL's "DNS:x,IP:y"
 * config syntax: that syntax splits on commas, and its IPv4 parser accepts
 * trailing garbage ("1.2.3.4.example" would become 1.2.3.4). inet_pton is
 * strict, so a bare name is an IP SAN only if it is exactly an address.
 *
 * The subject and authority key identifiers are computed here too (SHA-1
 * of the subjectPublicKey bits, RFC 5280 method 1), so the result does not
 * depend on how a given OpenSSL 3.x treats "keyid:always" on self-signed
 * certificates.
 *
 * Key material only ever lives in a secure-memory BIO (cleansed on free)
 * and in OPENSSL_malloc'd buffers that memtls_pem_free cleanses.
 *
 * The thread's OpenSSL error queue is cleared on entry and on exit: the
 * reason, if any, is copied into the caller's message, and nothing is left
 * behind to be mistaken for a TLS error by a later SSL_get_error.
 */
#define _POSIX_C_SOURCE 200809L

#include <memtls/pki.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "errbuf.h"

/* Default validity when both offsets are 0: one hour back (clock skew
 * between test machines), thirty days forward. */
#define DEFAULT_NOT_BEFORE (-3600L)
#define DEFAULT_NOT_AFTER (30L * 24 * 3600)

/* Offsets beyond a century are certainly mistakes and could overflow the
 * ASN.1 time arithmetic. */
#define MAX_OFFSET (100LL * 366 * 24 * 3600)

/* ub-common-name in RFC 5280. */
#define MAX_CN_LEN 64

/* Encrypted keys are not supported: refuse rather than let OpenSSL's
 * default callback prompt on the terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* A PEM string as memtls_pem holds it: present, NUL-terminated at len,
 * and small enough for a memory BIO. */
static int pem_field_ok(const char *s, size_t len)
{
    return s != NULL && len > 0 && len <= INT_MAX && strlen(s) == len;
}

static int offset_ok(long v)
{
    return (long long)v <= MAX_OFFSET && (long long)v >= -MAX_OFFSET;
}

/* A DNS name or wildcard: letters, digits, '-', '_'; labels of 1..63
 * characters; '*' only as the whole first label; no trailing dot. */
static int dns_name_ok(const char *s)
{
    size_t len = strlen(s);
    size_t label = 0;
    size_t i;

    if (len == 0 || len > 253) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0) {
                return 0;
            }
            label = 0;
            continue;
        }
        if (c == '*') {
            if (i != 0 || s[1] != '.') {
                return 0;
            }
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_')) {
            return 0;
        }
        if (++label > 63) {
            return 0;
        }
    }
    return label != 0;
}

/* Parse one SAN (see memtls_cert_spec) into a new GENERAL_NAME. */
static int parse_san(const char *s, size_t idx, GENERAL_NAME **out, char *err, size_t errlen)
{
    GENERAL_NAME *gn = NULL;
    ASN1_STRING *value = NULL;
    unsigned char ip[16];
    const char *v = s;
    int kind = 0; /* 0: decide from the text */
    int iplen = 0;
    int rc = MEMTLS_ERR_NOMEM;

    if (s == NULL) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen, "memtls_pki_make: SAN %zu is NULL",
                            idx);
    }
    if (strncmp(s, "DNS:", 4) == 0) {
        kind = GEN_DNS;
        v = s + 4;
    } else if (strncmp(s, "IP:", 3) == 0) {
        kind = GEN_IPADD;
        v = s + 3;
    }
    if (kind != GEN_DNS) {
        if (inet_pton(AF_INET, v, ip) == 1) {
            iplen = 4;
        } else if (inet_pton(AF_INET6, v, ip) == 1) {
            iplen = 16;
        }
    }
    if (kind == GEN_IPADD && iplen == 0) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: malformed SAN \"%s\": not an IPv4 or IPv6 address",
                            s);
    }
    if (iplen == 0 && !dns_name_ok(v)) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: malformed SAN \"%s\": not a DNS name or IP address",
                            s);
    }

    gn = GENERAL_NAME_new();
    value = iplen != 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    if (gn == NULL || value == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    if (iplen != 0) {
        if (ASN1_OCTET_STRING_set(value, ip, iplen) != 1) {
            rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
            goto out;
        }
    } else if (ASN1_STRING_set(value, v, (int)strlen(v)) != 1) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    /* The GENERAL_NAME owns value from here on. */
    GENERAL_NAME_set0_value(gn, iplen != 0 ? GEN_IPADD : GEN_DNS, value);
    value = NULL;
    *out = gn;
    gn = NULL;
    rc = 0;
out:
    ASN1_STRING_free(value);
    GENERAL_NAME_free(gn);
    return rc;
}

static int parse_sans(const memtls_cert_spec *spec, GENERAL_NAMES **out, char *err, size_t errlen)
{
    GENERAL_NAMES *names = NULL;
    GENERAL_NAME *gn = NULL;
    size_t i;
    int rc = 0;

    if (spec->san_count == 0) {
        return 0;
    }
    if (spec->sans == NULL) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: san_count is %zu but sans is NULL", spec->san_count);
    }
    names = sk_GENERAL_NAME_new_null();
    if (names == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    for (i = 0; i < spec->san_count; i++) {
        rc = parse_san(spec->sans[i], i, &gn, err, errlen);
        if (rc != 0) {
            goto out;
        }
        if (sk_GENERAL_NAME_push(names, gn) <= 0) {
            GENERAL_NAME_free(gn);
            rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
            goto out;
        }
        gn = NULL;
    }
    *out = names;
    names = NULL;
out:
    GENERAL_NAMES_free(names);
    return rc;
}

/* Check everything in spec that can be checked without OpenSSL; resolve
 * the validity window. */
static int check_spec(const memtls_cert_spec *spec, long *not_before, long *not_after, char *err,
                      size_t errlen)
{
    size_t cn_len;

    switch (spec->key_type) {
    case MEMTLS_KEY_EC_P256:
    case MEMTLS_KEY_RSA_2048:
        break;
    default:
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen, "memtls_pki_make: unknown key type %d",
                            (int)spec->key_type);
    }
    switch (spec->usage) {
    case MEMTLS_CERT_CA:
    case MEMTLS_CERT_SERVER:
    case MEMTLS_CERT_CLIENT:
    case MEMTLS_CERT_BOTH:
        break;
    default:
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen, "memtls_pki_make: unknown usage %d",
                            (int)spec->usage);
    }
    if (spec->common_name == NULL) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: common_name is required");
    }
    cn_len = strlen(spec->common_name);
    if (cn_len == 0 || cn_len > MAX_CN_LEN) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: common_name must be 1..%d bytes (got %zu)",
                            MAX_CN_LEN, cn_len);
    }
    *not_before = spec->not_before;
    *not_after = spec->not_after;
    if (*not_before == 0 && *not_after == 0) {
        *not_before = DEFAULT_NOT_BEFORE;
        *not_after = DEFAULT_NOT_AFTER;
    }
    if (!offset_ok(*not_before) || !offset_ok(*not_after) || *not_after <= *not_before) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: bad validity window (not_before %ld, not_after %ld)",
                            spec->not_before, spec->not_after);
    }
    return 0;
}

/* Parse the issuer's certificate and key; they must match and the
 * certificate must be a CA. */
static int load_issuer(const memtls_pem *issuer, X509 **cert, EVP_PKEY **key, char *err,
                       size_t errlen)
{
    BIO *bio = NULL;
    int rc = MEMTLS_ERR_INVALID;

    if (!pem_field_ok(issuer->cert, issuer->cert_len) ||
        !pem_field_ok(issuer->key, issuer->key_len)) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pki_make: issuer certificate or key is missing");
    }
    bio = BIO_new_mem_buf(issuer->cert, (int)issuer->cert_len);
    if (bio == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    *cert = PEM_read_bio_X509(bio, NULL, no_password, NULL);
    if (*cert == NULL) {
        rc = memtls__fail_ssl(MEMTLS_ERR_INVALID, err, errlen,
                              "memtls_pki_make: issuer certificate does not parse");
        goto out;
    }
    BIO_free(bio);
    bio = BIO_new_mem_buf(issuer->key, (int)issuer->key_len);
    if (bio == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (*key == NULL) {
        rc = memtls__fail_ssl(MEMTLS_ERR_INVALID, err, errlen,
                              "memtls_pki_make: issuer key does not parse");
        goto out;
    }
    if (X509_check_ca(*cert) != 1) {
        rc = memtls__fail(MEMTLS_ERR_INVALID, err, errlen, "memtls_pki_make: issuer is not a CA");
        goto out;
    }
    if (X509_check_private_key(*cert, *key) != 1) {
        rc = memtls__fail_ssl(MEMTLS_ERR_INVALID, err, errlen,
                              "memtls_pki_make: issuer key does not match its certificate");
        goto out;
    }
    rc = 0;
out:
    BIO_free(bio);
    return rc;
}

static EVP_PKEY *make_key(memtls_key_type type)
{
    switch (type) {
    case MEMTLS_KEY_EC_P256:
        return EVP_EC_gen("P-256");
    case MEMTLS_KEY_RSA_2048:
        return EVP_RSA_gen(2048);
    default:
        return NULL;
    }
}

/* A random positive serial of at most 127 bits (RFC 5280 allows 20
 * octets; the cleared top bit keeps the DER INTEGER positive). */
static int set_serial(X509 *x)
{
    unsigned char buf[16];
    BIGNUM *bn = NULL;
    int ok = 0;

    if (RAND_bytes(buf, sizeof buf) != 1) {
        goto out;
    }
    buf[0] &= 0x7f;
    bn = BN_bin2bn(buf, sizeof buf, NULL);
    if (bn == NULL) {
        goto out;
    }
    /* Zero is not a valid serial; 2^-127 odds, but cheap to rule out. */
    if (BN_is_zero(bn) && !BN_one(bn)) {
        goto out;
    }
    ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
out:
    BN_free(bn);
    return ok;
}

/* Add an extension from OpenSSL's config syntax (fixed strings only). */
static int add_conf_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, NULL, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL) {
        return 0;
    }
    ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* SHA-1 over the subjectPublicKey bits of x, as an octet string. */
static ASN1_OCTET_STRING *key_id(const X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASN1_OCTET_STRING *id;

    if (X509_pubkey_digest(x, EVP_sha1(), md, &len) != 1) {
        return NULL;
    }
    id = ASN1_OCTET_STRING_new();
    if (id != NULL && ASN1_OCTET_STRING_set(id, md, (int)len) != 1) {
        ASN1_OCTET_STRING_free(id);
        id = NULL;
    }
    return id;
}

/* subjectKeyIdentifier for x; authorityKeyIdentifier from the issuer's
 * subjectKeyIdentifier (or its key when it has none), or x's own when
 * self-signed. */
static int add_key_ids(X509 *x, X509 *issuer)
{
    ASN1_OCTET_STRING *skid = NULL;
    AUTHORITY_KEYID *akid = NULL;
    const ASN1_OCTET_STRING *iskid;
    int ok = 0;

    skid = key_id(x);
    if (skid == NULL ||
        X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) != 1) {
        goto out;
    }
    akid = AUTHORITY_KEYID_new();
    if (akid == NULL) {
        goto out;
    }
    if (issuer == NULL) {
        akid->keyid = skid;
        skid = NULL;
    } else {
        iskid = X509_get0_subject_key_id(issuer);
        akid->keyid = iskid != NULL ? ASN1_OCTET_STRING_dup(iskid) : key_id(issuer);
        if (akid->keyid == NULL) {
            goto out;
        }
    }
    ok = X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1;
out:
    AUTHORITY_KEYID_free(akid);
    ASN1_OCTET_STRING_free(skid);
    return ok;
}

static int add_usage_exts(X509 *x, memtls_cert_usage usage, memtls_key_type type)
{
    const char *eku = NULL;

    if (usage == MEMTLS_CERT_CA) {
        /* No EKU on the CA: OpenSSL applies a CA's EKU to the whole chain,
         * and this CA issues both server and client certificates. */
        return add_conf_ext(x, NID_basic_constraints, "critical,CA:TRUE") &&
               add_conf_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign");
    }
    switch (usage) {
    case MEMTLS_CERT_SERVER:
        eku = "serverAuth";
        break;
    case MEMTLS_CERT_CLIENT:
        eku = "clientAuth";
        break;
    case MEMTLS_CERT_BOTH:
        eku = "serverAuth,clientAuth";
        break;
    default:
        return 0;
    }
    /* keyEncipherment only matters for RSA key transport, which memtls
     * never negotiates, but RSA certificates conventionally carry it. */
    return add_conf_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
           add_conf_ext(x, NID_key_usage,
                        type == MEMTLS_KEY_RSA_2048 ? "critical,digitalSignature,keyEncipherment"
                                                    : "critical,digitalSignature") &&
           add_conf_ext(x, NID_ext_key_usage, eku);
}

/* Everything but the signature. */
static int fill_cert(X509 *x, const memtls_cert_spec *spec, EVP_PKEY *key, GENERAL_NAMES *sans,
                     X509 *issuer, long not_before, long not_after, char *err, size_t errlen)
{
    X509_NAME *subject = X509_get_subject_name(x);

    if (X509_set_version(x, X509_VERSION_3) != 1 || !set_serial(x)) {
        return memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen,
                                "memtls_pki_make: cannot set serial");
    }
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)spec->common_name, -1, -1, 0) != 1) {
        return memtls__fail_ssl(MEMTLS_ERR_INVALID, err, errlen,
                                "memtls_pki_make: common name \"%s\" rejected", spec->common_name);
    }
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subject) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), not_before) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), not_after) == NULL || X509_set_pubkey(x, key) != 1) {
        return memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen,
                                "memtls_pki_make: cannot set names, validity or key");
    }
    if (!add_usage_exts(x, spec->usage, spec->key_type) || !add_key_ids(x, issuer)) {
        return memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen,
                                "memtls_pki_make: cannot add extensions");
    }
    if (sans != NULL &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1) {
        return memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen, "memtls_pki_make: cannot add SANs");
    }
    return 0;
}

/* Copy a memory BIO's contents into a new NUL-terminated string. */
static int bio_to_string(BIO *bio, char **out, size_t *out_len)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *s;

    if (n <= 0 || data == NULL) {
        return MEMTLS_ERR_CONFIG;
    }
    s = OPENSSL_malloc((size_t)n + 1);
    if (s == NULL) {
        return MEMTLS_ERR_NOMEM;
    }
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    *out = s;
    *out_len = (size_t)n;
    return 0;
}

static int encode_pem(X509 *x, EVP_PKEY *key, memtls_pem *pem, char *err, size_t errlen)
{
    BIO *cert_bio = BIO_new(BIO_s_mem());
    BIO *key_bio = BIO_new(BIO_s_secmem());
    int rc;

    if (cert_bio == NULL || key_bio == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    /* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY"). */
    if (PEM_write_bio_X509(cert_bio, x) != 1 ||
        PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen, "memtls_pki_make: cannot encode PEM");
        goto out;
    }
    rc = bio_to_string(cert_bio, &pem->cert, &pem->cert_len);
    if (rc == 0) {
        rc = bio_to_string(key_bio, &pem->key, &pem->key_len);
    }
    if (rc != 0) {
        rc = memtls__fail(rc, err, errlen, "memtls_pki_make: cannot copy PEM");
    }
out:
    BIO_free(cert_bio);
    BIO_free(key_bio);
    return rc;
}

int memtls_pki_make(const memtls_cert_spec *spec, const memtls_pem *issuer, memtls_pem *out,
                    char *err, size_t errlen)
{
    GENERAL_NAMES *sans = NULL;
    X509 *issuer_cert = NULL;
    EVP_PKEY *issuer_key = NULL;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    memtls_pem pem = {NULL, 0, NULL, 0};
    long not_before = 0;
    long not_after = 0;
    int rc;

    ERR_clear_error();
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (spec == NULL || out == NULL) {
        rc = memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                          "memtls_pki_make: spec and out are required");
        goto out;
    }
    rc = check_spec(spec, &not_before, &not_after, err, errlen);
    if (rc != 0) {
        goto out;
    }
    rc = parse_sans(spec, &sans, err, errlen);
    if (rc != 0) {
        goto out;
    }
    if (issuer != NULL) {
        rc = load_issuer(issuer, &issuer_cert, &issuer_key, err, errlen);
        if (rc != 0) {
            goto out;
        }
    }
    key = make_key(spec->key_type);
    if (key == NULL) {
        rc = memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen,
                              "memtls_pki_make: key generation failed");
        goto out;
    }
    x = X509_new();
    if (x == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "memtls_pki_make: out of memory");
        goto out;
    }
    rc = fill_cert(x, spec, key, sans, issuer_cert, not_before, not_after, err, errlen);
    if (rc != 0) {
        goto out;
    }
    if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0) {
        rc = memtls__fail_ssl(MEMTLS_ERR_CONFIG, err, errlen, "memtls_pki_make: signing failed");
        goto out;
    }
    rc = encode_pem(x, key, &pem, err, errlen);
    if (rc != 0) {
        goto out;
    }
    /* Only now is *out written, so issuer may alias out. */
    *out = pem;
    memset(&pem, 0, sizeof pem);
out:
    memtls_pem_free(&pem);
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(issuer_key);
    X509_free(issuer_cert);
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    return rc;
}

void memtls_pem_free(memtls_pem *pem)
{
    if (pem == NULL) {
        return;
    }
    if (pem->key != NULL) {
        /* strlen, not key_len: always within the allocation even if the
         * caller changed key_len. */
        OPENSSL_clear_free(pem->key, strlen(pem->key));
    }
    OPENSSL_free(pem->cert);
    memset(pem, 0, sizeof *pem);
}

/*
 * Write len bytes to path. For keys (is_key != 0) the file is created
 * 0600 and then fchmod'ed, because O_CREAT's mode does not apply to a file
 * that already exists with a wider one. Nothing is written before that.
 */
static int write_file(const char *path, const char *data, size_t len, int is_key, char *err,
                      size_t errlen)
{
    const char *what = "open";
    mode_t mode = is_key ? 0600 : 0644;
    char reason[128];
    size_t off = 0;
    int saved = 0;
    int fd;
    int rc = MEMTLS_ERR_CONFIG;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        saved = errno;
        goto out;
    }
    if (is_key && fchmod(fd, 0600) != 0) {
        saved = errno;
        what = "chmod";
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            saved = errno;
            what = "write";
            goto out;
        }
        off += (size_t)n;
    }
    rc = 0;
out:
    if (fd >= 0 && close(fd) != 0 && rc == 0) {
        saved = errno;
        what = "close";
        rc = MEMTLS_ERR_CONFIG;
    }
    if (rc != 0) {
        if (strerror_r(saved, reason, sizeof reason) != 0) {
            snprintf(reason, sizeof reason, "error %d", saved);
        }
        memtls__fail(rc, err, errlen, "memtls_pem_write: cannot %s %s '%s': %s", what,
                     is_key ? "key file" : "certificate file", path, reason);
    }
    return rc;
}

int memtls_pem_write(const memtls_pem *pem, const char *cert_path, const char *key_path, char *err,
                     size_t errlen)
{
    int rc;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (pem == NULL || (cert_path != NULL && !pem_field_ok(pem->cert, pem->cert_len)) ||
        (key_path != NULL && !pem_field_ok(pem->key, pem->key_len))) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "memtls_pem_write: missing certificate or key to write");
    }
    if (cert_path != NULL) {
        rc = write_file(cert_path, pem->cert, pem->cert_len, 0, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (key_path != NULL) {
        rc = write_file(key_path, pem->key, pem->key_len, 1, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int memtls_pem_fingerprint(const memtls_pem *pem, char out[96])
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned int i;
    BIO *bio = NULL;
    X509 *x = NULL;
    int rc = MEMTLS_ERR_INVALID;

    if (pem == NULL || out == NULL || !pem_field_ok(pem->cert, pem->cert_len)) {
        return MEMTLS_ERR_INVALID;
    }
    ERR_clear_error();
    bio = BIO_new_mem_buf(pem->cert, (int)pem->cert_len);
    if (bio == NULL) {
        rc = MEMTLS_ERR_NOMEM;
        goto out;
    }
    x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &md_len) != 1 || md_len != 32) {
        goto out;
    }
    for (i = 0; i < md_len; i++) {
        out[3 * i] = hex[md[i] >> 4];
        out[3 * i + 1] = hex[md[i] & 0x0f];
        out[3 * i + 2] = i + 1 < md_len ? ':' : '\0';
    }
    rc = 0;
out:
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}
