/*
 * test.h - included first by every memtls test program and test helper:
 * cmocka (after the headers it needs) and the names the tests share.
 */
#ifndef MEMTLS_TEST_H
#define MEMTLS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/*
 * How long a test waits for something that should happen at once (a
 * handshake, an echo, a close, a record in the log) before it fails:
 * generous, because the suites also run under sanitizers and valgrind on
 * a loaded machine. Longer transfers name their own bound.
 */
#define TEST_TIMEOUT_MS 10000u

#endif
