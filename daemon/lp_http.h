/* lp_http: the operations endpoint (evhttp on http_listen): GET /healthz, GET /metrics
 * (Prometheus text format) and GET /dashboard (HTML, aggregates only). Off unless http_listen
 * is set. None of them asks for a token: keep http_listen on loopback or behind a proxy. */
#ifndef LP_HTTP_H
#define LP_HTTP_H

#include <stddef.h>

#include "lp_daemon.h"

/* Binds http_listen; NULL with the reason in error on failure. */
lp_http *lp_http_start(lp_daemon *daemon, char *error, size_t error_size);
void lp_http_free(lp_http *http);

#endif
