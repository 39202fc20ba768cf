/*
 * testpki.h - certificates for tests, made at run time with memtls_pki_make
 * (see memtls/pki.h). Each call fails the running cmocka test if the
 * certificate cannot be made. Free the result with memtls_pem_free.
 */
#ifndef MEMTLS_TESTPKI_H
#define MEMTLS_TESTPKI_H

#include <memtls/config.h>
#include <memtls/pki.h>

/* A self-signed CA ("memtls test CA") with default validity. */
memtls_pem testpki_ca(memtls_key_type key_type);

/*
 * A certificate for `cn` signed by `ca` (self-signed when ca is NULL),
 * with one SAN (any form memtls_cert_spec accepts) or none when san is
 * NULL. not_before/not_after are offsets from now in seconds; both 0 gives
 * the default window.
 */
memtls_pem testpki_leaf(const memtls_pem *ca, memtls_cert_usage usage, memtls_key_type key_type,
                        const char *cn, const char *san, long not_before, long not_after);

/* Load `pem` (certificate and key) into `cfg`; fails the test, with the
 * configuration's message, if it is refused. */
void testpki_load(memtls_config *cfg, const memtls_pem *pem);

#endif
