/*
 * server_conn.c - the calls a custom application makes on its connection
 * (memtls_server_conn_*, see include/memtls/server.h). They run on the
 * worker thread, inside the application's callbacks.
 */
#include "worker.h"

uint64_t memtls_server_conn_id(const memtls_server_conn *c)
{
    return c == NULL ? 0 : rt_seq(c->id);
}

memtls_ctx *memtls_server_conn_ctx(memtls_server_conn *c)
{
    return c == NULL || c->s == NULL ? NULL : memtls_session_ctx(c->s);
}

void memtls_server_conn_set_data(memtls_server_conn *c, void *data)
{
    if (c != NULL) {
        c->app_data = data;
    }
}

void *memtls_server_conn_get_data(const memtls_server_conn *c)
{
    return c == NULL ? NULL : c->app_data;
}

int memtls_server_conn_write(memtls_server_conn *c, const void *data, size_t len, size_t *accepted)
{
    if (accepted != NULL) {
        *accepted = 0;
    }
    if (c == NULL || c->s == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    return memtls_session_write(c->s, data, len, accepted);
}

int memtls_server_conn_resume(memtls_server_conn *c)
{
    if (c == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    c->dirty = 1;
    return 0;
}

int memtls_server_conn_close(memtls_server_conn *c)
{
    if (c == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    memtls__wconn_app_close(c);
    return 0;
}
