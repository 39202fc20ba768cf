/* version.c - the library's own version (memtls/version.h, generated). */
#include <memtls/version.h>

const char *memtls_version_string(void)
{
    return MEMTLS_VERSION_STRING;
}
