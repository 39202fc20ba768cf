/* certs.c - certificate/key pairs and the choice by SNI; see certs.h. */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memtls/common.h>

#include "certs.h"
#include "errbuf.h"

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

static char *subject_text(X509 *cert)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b == NULL) {
        return NULL;
    }
    if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        size_t n = BIO_ctrl_pending(b);
        out = malloc(n + 1);
        if (out != NULL) {
            int got = n > 0 ? BIO_read(b, out, (int)n) : 0;
            out[got > 0 ? got : 0] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

/* "*.rest" with at least two labels in rest, no other star, no empty
 * label. */
static int valid_wildcard(const char *s)
{
    if (s[0] != '*' || s[1] != '.' || strchr(s + 1, '*') != NULL) {
        return 0;
    }
    const char *rest = s + 2;
    size_t n = strlen(rest);
    if (n == 0 || rest[0] == '.' || rest[n - 1] == '.' || strstr(rest, "..") != NULL) {
        return 0;
    }
    return strchr(rest, '.') != NULL;
}

/* Add a name (ASN.1 string bytes) to p; names with a NUL inside are
 * ignored (they cannot be a host name). Returns 0 or -1 (memory). */
static int add_name(memtls__cert_pair *p, const unsigned char *d, int len)
{
    if (len <= 0 || memchr(d, '\0', (size_t)len) != NULL) {
        return 0;
    }
    memtls__cert_name *grown = realloc(p->names, (p->nnames + 1) * sizeof *grown);
    if (grown == NULL) {
        return -1;
    }
    p->names = grown;
    char *t = malloc((size_t)len + 1);
    if (t == NULL) {
        return -1;
    }
    for (int i = 0; i < len; i++) {
        t[i] = (char)tolower(d[i]);
    }
    t[len] = '\0';
    p->names[p->nnames].text = t;
    p->names[p->nnames].wildcard = valid_wildcard(t);
    p->nnames++;
    return 0;
}

/* DNS SANs, or the subject's CNs when there is no DNS SAN. */
static int collect_names(memtls__cert_pair *p)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(p->leaf, NID_subject_alt_name, NULL, NULL);
    int dns = 0;
    int rc = 0;
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans) && rc == 0; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type == GEN_DNS) {
            dns = 1;
            rc = add_name(p, ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
        }
    }
    GENERAL_NAMES_free(sans);
    if (dns || rc != 0) {
        return rc;
    }
    X509_NAME *subj = X509_get_subject_name(p->leaf);
    for (int j = -1; rc == 0;) {
        j = X509_NAME_get_index_by_NID(subj, NID_commonName, j);
        if (j < 0) {
            break;
        }
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, j));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, s);
        if (n >= 0) {
            rc = add_name(p, utf8, n);
            OPENSSL_free(utf8);
        }
    }
    return rc;
}

void memtls__cert_pair_clear(memtls__cert_pair *p)
{
    X509_free(p->leaf);
    sk_X509_pop_free(p->chain, X509_free);
    EVP_PKEY_free(p->key);
    free(p->subject);
    for (size_t i = 0; i < p->nnames; i++) {
        free(p->names[i].text);
    }
    free(p->names);
    memset(p, 0, sizeof *p);
}

int memtls__cert_pair_install(const memtls__cert_pair *p, SSL_CTX *ctx, SSL *ssl)
{
    if (ctx != NULL) {
        return SSL_CTX_use_cert_and_key(ctx, p->leaf, p->key, p->chain, 1) == 1;
    }
    return SSL_use_cert_and_key(ssl, p->leaf, p->key, p->chain, 1) == 1;
}

/* Would OpenSSL take the pair (key type, security level)? Tried on a
 * throwaway SSL_CTX, so nothing in use changes. */
static int acceptable(const memtls__cert_pair *p, int level)
{
    SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
    if (probe == NULL) {
        return 0;
    }
    SSL_CTX_set_security_level(probe, level);
    int ok = memtls__cert_pair_install(p, probe, NULL);
    SSL_CTX_free(probe);
    return ok;
}

int memtls__cert_pair_parse(memtls__cert_pair *out, int level, const char *cert_name,
                            const char *cert_pem, size_t cert_len, const char *key_name,
                            const char *key_pem, size_t key_len, char *err, size_t errlen)
{
    memtls__cert_pair p;
    BIO *b = NULL;
    X509 *extra = NULL;
    int rc = MEMTLS_ERR_CONFIG;
    int asked = 0;

    memset(&p, 0, sizeof p);
    if (cert_len > INT_MAX || key_len > INT_MAX) {
        return memtls__fail(MEMTLS_ERR_INVALID, err, errlen,
                            "certificate or key larger than INT_MAX bytes");
    }
    b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    if (b == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    p.leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (p.leaf == NULL) {
        memtls__fail_ssl(rc, err, errlen, "%s: no PEM certificate found", cert_name);
        goto out;
    }
    while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if ((p.chain == NULL && (p.chain = sk_X509_new_null()) == NULL) ||
            sk_X509_push(p.chain, extra) <= 0) {
            X509_free(extra);
            rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "out of memory");
            goto out;
        }
    }
    ERR_clear_error(); /* the loop ends on "no start line": expected */
    BIO_free(b);

    b = BIO_new_mem_buf(key_pem, (int)key_len);
    if (b == NULL) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "out of memory");
        goto out;
    }
    p.key = PEM_read_bio_PrivateKey(b, NULL, no_password, &asked);
    if (p.key == NULL) {
        if (asked) {
            memtls__fail(rc, err, errlen, "%s: key is encrypted; give an unencrypted key",
                         key_name);
            ERR_clear_error();
        } else {
            memtls__fail_ssl(rc, err, errlen, "%s: no PEM private key found", key_name);
        }
        goto out;
    }
    if (X509_check_private_key(p.leaf, p.key) != 1) {
        memtls__fail_ssl(rc, err, errlen, "%s: private key does not match %s", key_name, cert_name);
        goto out;
    }
    if (!acceptable(&p, level)) {
        memtls__fail_ssl(rc, err, errlen, "%s: certificate rejected", cert_name);
        goto out;
    }
    p.kind = EVP_PKEY_get_base_id(p.key);
    p.subject = subject_text(p.leaf);
    if (p.subject == NULL || collect_names(&p) != 0) {
        rc = memtls__fail(MEMTLS_ERR_NOMEM, err, errlen, "out of memory");
        ERR_clear_error();
        goto out;
    }
    *out = p;
    memset(&p, 0, sizeof p);
    rc = 0;
out:
    BIO_free(b);
    memtls__cert_pair_clear(&p);
    return rc;
}

int memtls__cert_pair_copy(memtls__cert_pair *dst, const memtls__cert_pair *src)
{
    memtls__cert_pair p;
    memset(&p, 0, sizeof p);
    p.kind = src->kind;
    if (X509_up_ref(src->leaf) != 1) {
        return MEMTLS_ERR_NOMEM;
    }
    p.leaf = src->leaf;
    if (EVP_PKEY_up_ref(src->key) != 1) {
        memtls__cert_pair_clear(&p);
        return MEMTLS_ERR_NOMEM;
    }
    p.key = src->key;
    p.subject = malloc(strlen(src->subject) + 1);
    p.names = src->nnames > 0 ? calloc(src->nnames, sizeof *p.names) : NULL;
    if ((src->chain != NULL && (p.chain = X509_chain_up_ref(src->chain)) == NULL) ||
        p.subject == NULL || (src->nnames > 0 && p.names == NULL)) {
        memtls__cert_pair_clear(&p);
        return MEMTLS_ERR_NOMEM;
    }
    strcpy(p.subject, src->subject);
    for (size_t i = 0; i < src->nnames; i++) {
        p.names[i].wildcard = src->names[i].wildcard;
        p.names[i].text = malloc(strlen(src->names[i].text) + 1);
        if (p.names[i].text == NULL) {
            p.nnames = i;
            memtls__cert_pair_clear(&p);
            return MEMTLS_ERR_NOMEM;
        }
        strcpy(p.names[i].text, src->names[i].text);
    }
    p.nnames = src->nnames;
    *dst = p;
    return 0;
}

/* How pair p names host `h` (lower case): 2 exactly, 1 by a wildcard,
 * 0 not at all. */
static int names_host(const memtls__cert_pair *p, const char *h, size_t hlen)
{
    int best = 0;
    for (size_t i = 0; i < p->nnames && best < 2; i++) {
        const memtls__cert_name *n = &p->names[i];
        if (!n->wildcard) {
            if (strcmp(n->text, h) == 0) {
                best = 2;
            }
            continue;
        }
        const char *suffix = n->text + 1; /* ".example.com" */
        size_t slen = strlen(suffix);
        if (hlen > slen && strcmp(h + hlen - slen, suffix) == 0 &&
            memchr(h, '.', hlen - slen) == NULL) {
            best = 1;
        }
    }
    return best;
}

static int shares_name(const memtls__cert_pair *a, const memtls__cert_pair *b)
{
    for (size_t i = 0; i < a->nnames; i++) {
        for (size_t j = 0; j < b->nnames; j++) {
            if (strcmp(a->names[i].text, b->names[j].text) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* Add pair i unless its kind is taken already. */
static void claim(const memtls__cert_pair *pairs, size_t i, size_t *out, size_t *count)
{
    for (size_t k = 0; k < *count; k++) {
        if (pairs[out[k]].kind == pairs[i].kind) {
            return;
        }
    }
    if (*count < MEMTLS__CERT_KINDS) {
        out[(*count)++] = i;
    }
}

size_t memtls__certs_select(const memtls__cert_pair *pairs, size_t n, const char *sni,
                            size_t out[MEMTLS__CERT_KINDS])
{
    size_t count = 0;
    char host[256];
    size_t hlen = sni != NULL ? strlen(sni) : 0;
    if (hlen > 0 && sni[hlen - 1] == '.') {
        hlen--; /* a fully qualified "example.com." names example.com */
    }
    if (n > 1 && hlen > 0 && hlen < sizeof host) {
        for (size_t i = 0; i < hlen; i++) {
            host[i] = (char)tolower((unsigned char)sni[i]);
        }
        host[hlen] = '\0';
        /* Exact names first, then wildcards, each kind taken once. */
        for (int want = 2; want >= 1; want--) {
            for (size_t i = 0; i < n; i++) {
                if (names_host(&pairs[i], host, hlen) == want) {
                    claim(pairs, i, out, &count);
                }
            }
        }
        if (count > 0) {
            return count;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || shares_name(&pairs[0], &pairs[i])) {
            claim(pairs, i, out, &count);
        }
    }
    return count;
}
