/*
 * Test: loading certificates, keys and CA bundles from files. Good files
 * load (chains included); bad ones — missing, not PEM, a key that does not
 * match, an empty CA bundle, an encrypted key, a directory — fail with
 * MEMTLS_ERR_CONFIG and a memtls_config_error() that names the file and
 * the problem. A failed load leaves the configuration as it was. Files
 * live in a mkdtemp() directory removed at the end.
 */
#include "test.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memtls/config.h>
#include <memtls/context.h>

#include "pump.h"
#include "testpki.h"
#include "tlspair.h"

static char tmpdir[64];

static int make_dir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/memtls-config-XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
    DIR *d = opendir(tmpdir);
    if (d == NULL) {
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        if (unlink(path) != 0) {
            rmdir(path); /* the subdirectory used as a "file" */
        }
    }
    closedir(d);
    return rmdir(tmpdir);
}

/* Path of `name` in the temporary directory (static: use before the
 * next call or copy). */
static const char *path_of(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0) {
        assert_int_equal(fwrite(data, 1, len, f), len);
    }
    assert_int_equal(fclose(f), 0);
}

/* The error must name `path` and say `problem`. */
static void assert_config_error(memtls_config *cfg, int rc, const char *path, const char *problem)
{
    assert_int_equal(rc, MEMTLS_ERR_CONFIG);
    assert_true(text_has(memtls_config_error(cfg), path));
    assert_true(text_has(memtls_config_error(cfg), problem));
    print_message("  error: %s\n", memtls_config_error(cfg));
}

/* The key of `pem`, re-encoded encrypted with a passphrase. */
static char *encrypted_key(const memtls_pem *pem, int traditional)
{
    BIO *in = BIO_new_mem_buf(pem->key, (int)pem->key_len);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    assert_non_null(key);
    BIO *out = BIO_new(BIO_s_mem());
    static char pass[] = "secret passphrase";
    int ok = traditional ? PEM_write_bio_PrivateKey_traditional(out, key, EVP_aes_128_cbc(),
                                                                (unsigned char *)pass,
                                                                (int)strlen(pass), NULL, NULL)
                         : PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), pass,
                                                         (int)strlen(pass), NULL, NULL);
    assert_int_equal(ok, 1);
    char *data = NULL;
    long n = BIO_get_mem_data(out, &data);
    assert_true(n > 0);
    char *copy = calloc(1, (size_t)n + 1);
    assert_non_null(copy);
    memcpy(copy, data, (size_t)n);
    BIO_free(out);
    BIO_free(in);
    EVP_PKEY_free(key);
    return copy;
}

static void test_good_files_with_chain(void **state)
{
    char cert_path[256];
    char key_path[256];
    char ca_path[256];
    memtls_pem root = testpki_ca(MEMTLS_KEY_EC_P256);
    memtls_cert_spec spec = {0};
    memtls_pem inter = {0};
    char err[256];
    spec.key_type = MEMTLS_KEY_EC_P256;
    spec.usage = MEMTLS_CERT_CA;
    spec.common_name = "memtls intermediate";
    assert_int_equal(memtls_pki_make(&spec, &root, &inter, err, sizeof err), 0);
    memtls_pem leaf = testpki_leaf(&inter, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "localhost",
                                   "localhost", 0, 0);

    /* Chain file: leaf then intermediate. The client trusts only the root. */
    path_of("chain.pem", cert_path, sizeof cert_path);
    size_t chain_len = leaf.cert_len + inter.cert_len;
    char *chain = malloc(chain_len);
    assert_non_null(chain);
    memcpy(chain, leaf.cert, leaf.cert_len);
    memcpy(chain + leaf.cert_len, inter.cert, inter.cert_len);
    write_file(cert_path, chain, chain_len);
    free(chain);
    write_file(path_of("leaf.key", key_path, sizeof key_path), leaf.key, leaf.key_len);
    write_file(path_of("root.pem", ca_path, sizeof ca_path), root.cert, root.cert_len);

    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);
    memtls_config *c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_load_cert_file(s, cert_path, key_path), 0);
    assert_true(memtls_config_has_cert(s));
    assert_string_equal(memtls_config_error(s), "");
    assert_int_equal(memtls_config_load_ca_file(c, ca_path), 0);
    /* Loading the same CA twice is harmless. */
    assert_int_equal(memtls_config_load_ca_file(c, ca_path), 0);

    memtls_ctx *sc = memtls_ctx_new(s);
    memtls_ctx *cc = memtls_ctx_new(c);
    assert_int_equal(memtls_ctx_set_hostname(cc, "localhost"), 0);
    int crc;
    int src;
    assert_true(pump_handshake(cc, sc, 0, &crc, &src));
    assert_true(memtls_ctx_peer_verified(cc));
    memtls_ctx_free(sc);
    memtls_ctx_free(cc);
    memtls_config_free(s);
    memtls_config_free(c);

    /* Without the intermediate in the file the same client cannot verify. */
    write_file(cert_path, leaf.cert, leaf.cert_len);
    s = memtls_config_new(MEMTLS_ROLE_SERVER);
    c = memtls_config_new(MEMTLS_ROLE_CLIENT);
    assert_int_equal(memtls_config_load_cert_file(s, cert_path, key_path), 0);
    assert_int_equal(memtls_config_load_ca_file(c, ca_path), 0);
    sc = memtls_ctx_new(s);
    cc = memtls_ctx_new(c);
    assert_false(pump_handshake(cc, sc, 0, &crc, &src));
    assert_int_equal(crc, MEMTLS_ERR_X509_VERIFY);
    memtls_ctx_free(sc);
    memtls_ctx_free(cc);
    memtls_config_free(s);
    memtls_config_free(c);

    memtls_pem_free(&root);
    memtls_pem_free(&inter);
    memtls_pem_free(&leaf);
}

static void test_bad_files(void **state)
{
    char cert_path[256];
    char key_path[256];
    char other_key[256];
    char junk_path[256];
    char empty_path[256];
    char missing[256];
    char dir_path[256];
    char enc_path[256];
    char trad_path[256];
    memtls_pem a = testpki_leaf(NULL, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "a", NULL, 0, 0);
    memtls_pem b = testpki_leaf(NULL, MEMTLS_CERT_SERVER, MEMTLS_KEY_RSA_2048, "b", NULL, 0, 0);
    write_file(path_of("a.pem", cert_path, sizeof cert_path), a.cert, a.cert_len);
    write_file(path_of("a.key", key_path, sizeof key_path), a.key, a.key_len);
    write_file(path_of("b.key", other_key, sizeof other_key), b.key, b.key_len);
    static const char junk[] = "this is not PEM\nat all\n";
    write_file(path_of("junk.txt", junk_path, sizeof junk_path), junk, sizeof junk - 1);
    write_file(path_of("empty.pem", empty_path, sizeof empty_path), "", 0);
    path_of("does-not-exist.pem", missing, sizeof missing);
    path_of("a-directory", dir_path, sizeof dir_path);
    assert_int_equal(mkdir(dir_path, 0700), 0);
    char *enc = encrypted_key(&a, 0);
    write_file(path_of("enc.key", enc_path, sizeof enc_path), enc, strlen(enc));
    free(enc);
    enc = encrypted_key(&a, 1);
    write_file(path_of("trad-enc.key", trad_path, sizeof trad_path), enc, strlen(enc));
    free(enc);

    memtls_config *s = memtls_config_new(MEMTLS_ROLE_SERVER);

    /* Each bad pair fails, naming the file and the problem. */
    const struct {
        const char *what;
        const char *cert;
        const char *key;
        const char *named; /* the file the message must name */
        const char *says;
    } bad_pairs[] = {
        {"missing certificate file", missing, key_path, missing, "No such file"},
        {"missing key file", cert_path, missing, missing, "cannot open"},
        {"certificate file is not PEM", junk_path, key_path, junk_path, "no PEM certificate"},
        {"key file is not PEM", cert_path, junk_path, junk_path, "no PEM private key"},
        {"key and certificate swapped", key_path, cert_path, key_path, "no PEM certificate"},
        {"empty certificate file", empty_path, key_path, empty_path, "empty"},
        {"key does not match certificate", cert_path, other_key, other_key, "does not match"},
        {"encrypted key (PKCS#8)", cert_path, enc_path, enc_path, "encrypted"},
        {"encrypted key (traditional)", cert_path, trad_path, trad_path, "encrypted"},
        {"directory instead of a file", dir_path, key_path, dir_path, "not a regular file"},
    };
    for (size_t i = 0; i < sizeof bad_pairs / sizeof bad_pairs[0]; i++) {
        print_message("%s\n", bad_pairs[i].what);
        assert_config_error(s, memtls_config_load_cert_file(s, bad_pairs[i].cert, bad_pairs[i].key),
                            bad_pairs[i].named, bad_pairs[i].says);
    }
    /* A mismatch names both files. */
    assert_int_equal(memtls_config_load_cert_file(s, cert_path, other_key), MEMTLS_ERR_CONFIG);
    assert_true(text_has(memtls_config_error(s), cert_path));
    /* Nothing loaded: a server context cannot be made from it. */
    assert_false(memtls_config_has_cert(s));
    assert_null(memtls_ctx_new(s));

    const struct {
        const char *path;
        const char *says;
    } bad_bundles[] = {
        {missing, "cannot open"},          {empty_path, "empty"},
        {junk_path, "no PEM certificate"}, {key_path, "no PEM certificate"},
        {dir_path, "not a regular file"},
    };
    for (size_t i = 0; i < sizeof bad_bundles / sizeof bad_bundles[0]; i++) {
        print_message("CA bundle %s\n", bad_bundles[i].path);
        assert_config_error(s, memtls_config_load_ca_file(s, bad_bundles[i].path),
                            bad_bundles[i].path, bad_bundles[i].says);
    }

    /* The good pair still loads into the same configuration afterwards. */
    assert_int_equal(memtls_config_load_cert_file(s, cert_path, key_path), 0);
    assert_true(memtls_config_has_cert(s));
    memtls_config_free(s);
    memtls_pem_free(&a);
    memtls_pem_free(&b);
}

/*
 * Test: a failed load after a good one (a bad reload attempt) keeps the
 * certificate and key that were loaded: contexts made afterwards still
 * complete handshakes with the original identity.
 */
static void test_failed_reload_keeps_identity(void **state)
{
    char key_path[256];
    char other_cert[256];
    tlspair p;
    tlspair_init(&p, NULL);
    memtls_pem other =
        testpki_leaf(&p.ca, MEMTLS_CERT_SERVER, MEMTLS_KEY_EC_P256, "impostor", NULL, 0, 0);
    /* A certificate with the wrong key: the original server key. */
    write_file(path_of("other.pem", other_cert, sizeof other_cert), other.cert, other.cert_len);
    write_file(path_of("server.key", key_path, sizeof key_path), p.server_pem.key,
               p.server_pem.key_len);
    assert_config_error(p.scfg, memtls_config_load_cert_file(p.scfg, other_cert, key_path),
                        key_path, "does not match");
    /* Same from memory. */
    assert_int_equal(memtls_config_load_cert_pem(p.scfg, other.cert, other.cert_len,
                                                 p.server_pem.key, p.server_pem.key_len),
                     MEMTLS_ERR_CONFIG);
    assert_true(memtls_config_has_cert(p.scfg));
    tlspair_contexts(&p, "localhost");
    tlspair_handshake(&p);
    assert_string_equal(memtls_ctx_peer_subject(p.c), "CN=localhost");
    tlspair_free(&p);
    memtls_pem_free(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_files_with_chain),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_failed_reload_keeps_identity),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
