/* status.h - internal: the meaning of a status as a phrase (status.c). */
#ifndef MEMTLS_STATUS_H
#define MEMTLS_STATUS_H

/* "needs more input first (nothing to read yet)", ...; "unknown status"
 * for anything memtls does not produce. Static string. */
const char *memtls__status_meaning(int status);

#endif
