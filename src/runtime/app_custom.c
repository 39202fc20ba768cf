/*
 * app_custom.c - the embedding program's application (MEMTLS_APP_CUSTOM):
 * the connection layer's hooks call the callbacks of
 * memtls_server_opts.custom, and the memtls_server_conn_* calls of
 * server.h act on the connection. All of it runs on the worker's thread,
 * inside those callbacks.
 */
#include "worker.h"

static const memtls_server_app *app(const rt_wconn *c)
{
    return &c->w->srv->custom;
}

static int custom_open(rt_wconn *c)
{
    return app(c)->on_open != NULL ? app(c)->on_open(app(c)->arg, c) : 0;
}

static size_t custom_input(rt_wconn *c, const uint8_t *data, size_t len)
{
    return app(c)->on_data(app(c)->arg, c, data, len);
}

static int custom_client_done(rt_wconn *c)
{
    if (app(c)->on_peer_close != NULL) {
        app(c)->on_peer_close(app(c)->arg, c);
    }
    return 0;
}

static void custom_writable(rt_wconn *c)
{
    if (app(c)->on_writable != NULL) {
        app(c)->on_writable(app(c)->arg, c);
    }
}

static void custom_closed(rt_wconn *c)
{
    if (app(c)->on_close != NULL) {
        app(c)->on_close(app(c)->arg, c, c->reason);
    }
}

const rt_app_ops memtls__app_custom = {
    .open = custom_open,
    .input = custom_input,
    .client_done = custom_client_done,
    .writable = custom_writable,
    .stop = memtls__wconn_stop_reading,
    .closed = custom_closed,
};

/* With on_peer_close the application is half-close aware (server.h). */
const rt_app_ops memtls__app_custom_half = {
    .open = custom_open,
    .input = custom_input,
    .client_done = custom_client_done,
    .writable = custom_writable,
    .stop = memtls__wconn_stop_reading,
    .closed = custom_closed,
    .half_close = 1,
};

/* --- calls on a connection (server.h) ---------------------------------------- */

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
    memtls__wconn_touch(c);
    return 0;
}

int memtls_server_conn_close(memtls_server_conn *c)
{
    if (c == NULL) {
        return MEMTLS_ERR_INVALID;
    }
    memtls__wconn_reason(c, 0, "closed by the application", NULL);
    memtls__wconn_close(c);
    return 0;
}
