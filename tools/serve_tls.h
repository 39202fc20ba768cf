/*
 * serve_tls.h - the TLS configuration of `memtls serve`: every
 * --cert/--key pair (or the ephemeral certificate), --ca, client
 * verification, ALPN, versions, ciphers and session tickets
 * (--ticket-keys, --ticket-rotate, --ticket-lifetime, --no-tickets).
 * Built at start and again on SIGHUP; files are read here, once, and key
 * bytes wiped.
 */
#ifndef MEMTLS_TOOL_SERVE_TLS_H
#define MEMTLS_TOOL_SERVE_TLS_H

#include <stddef.h>

#include <memtls/config.h>

#include "args.h"
#include "serve_args.h"

/*
 * At start (prev NULL): a configuration from the options, or
 * TOOL_EXIT_FAIL with one line in err naming the option, the file and the
 * problem; prints each certificate's SHA-256 fingerprint on stdout.
 *
 * On reload (prev: the configuration in use): every pair is read again;
 * a pair whose files fail keeps its certificate from prev, a
 * --ticket-keys file that fails keeps prev's ticket keys (each logged
 * with the file and the problem); without --ticket-keys the new
 * configuration shares prev's generated keys, so tickets keep resuming.
 * A --ca that fails fails the reload (err). Returns 0 with *out set, or
 * TOOL_EXIT_FAIL.
 */
int serve_tls_build(const serve_opts *o, memtls_config *prev, memtls_config **out, char *err,
                    size_t errlen) TOOL_WUR;

#endif
