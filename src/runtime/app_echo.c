/*
 * app_echo.c - the echo application: every byte the client sends comes
 * back. Bytes that arrive together with the client's close are still
 * echoed before our close_notify (the session runs half-close aware).
 */
#include "worker.h"

static size_t echo_input(rt_wconn *c, const uint8_t *data, size_t len)
{
    size_t n = 0;
    int rc = memtls_session_write(c->s, data, len, &n);
    if (rc == MEMTLS_WANT_WRITE) {
        return 0;
    }
    if (rc != 0) {
        return len; /* closing: what the client sent after close is dropped */
    }
    return n;
}

static int echo_client_done(rt_wconn *c)
{
    /* Every byte the client sent before its close has been echoed
     * (queued in the session): now flush and send close_notify. */
    memtls__wconn_close(c);
    return 0;
}

const rt_app_ops memtls__app_echo = {
    .input = echo_input,
    .client_done = echo_client_done,
    .stop = memtls__wconn_stop_reading,
    .half_close = 1,
};
