/* testpki.c - see testpki.h. */
#include "test.h"

#include "testpki.h"

static memtls_pem make(const memtls_cert_spec *spec, const memtls_pem *issuer)
{
    memtls_pem pem = {NULL, 0, NULL, 0};
    char err[256] = "";
    int rc = memtls_pki_make(spec, issuer, &pem, err, sizeof err);

    if (rc != 0) {
        print_error("testpki: making \"%s\" failed: %s\n", spec->common_name, err);
    }
    assert_int_equal(rc, 0);
    return pem;
}

memtls_pem testpki_ca(memtls_key_type key_type)
{
    memtls_cert_spec spec = {0};

    spec.key_type = key_type;
    spec.usage = MEMTLS_CERT_CA;
    spec.common_name = "memtls test CA";
    return make(&spec, NULL);
}

memtls_pem testpki_leaf(const memtls_pem *ca, memtls_cert_usage usage, memtls_key_type key_type,
                        const char *cn, const char *san, long not_before, long not_after)
{
    memtls_cert_spec spec = {0};
    const char *sans[1];

    spec.key_type = key_type;
    spec.usage = usage;
    spec.common_name = cn;
    if (san != NULL) {
        sans[0] = san;
        spec.sans = sans;
        spec.san_count = 1;
    }
    spec.not_before = not_before;
    spec.not_after = not_after;
    return make(&spec, ca);
}

void testpki_load(memtls_config *cfg, const memtls_pem *pem)
{
    if (memtls_config_load_cert_pem(cfg, pem->cert, pem->cert_len, pem->key, pem->key_len) != 0) {
        print_error("testpki_load: %s\n", memtls_config_error(cfg));
        fail();
    }
}
