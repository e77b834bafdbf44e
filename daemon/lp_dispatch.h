/* lp_dispatch: one frame in, one reply queued: unpack the Request, Hello first, authenticate
 * the token, check the role for the call, run its handler, pack the Response. */
#ifndef LP_DISPATCH_H
#define LP_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp_daemon.h"
#include "lp_server.h"

void lp_dispatch_frame(lp_daemon *daemon, lp_conn *conn, const unsigned char *data, size_t size);
/* A frame header above max_frame_bytes: RESOURCE_EXHAUSTED, then the connection closes. */
void lp_dispatch_oversized(lp_daemon *daemon, lp_conn *conn, size_t size);
/* Refuses a new connection with one reply (request_id 0) and closes it. */
void lp_dispatch_refuse(lp_daemon *daemon, lp_conn *conn, int code, const char *message);

/* A reply frame (request_id 0) with code and message, for answers outside any connection's
 * queue (e.g. out of file descriptors); caller frees. NULL when out of memory. */
unsigned char *lp_dispatch_error_frame(int code, const char *message, size_t *frame_size);

/* A pending call's refusal (the handler set ctx->pending), naming field; close_after closes
 * the connection once it is written. */
void lp_dispatch_fail_later(lp_call *call, int code, const char *field, const char *message, bool close_after);
/* One pushed frame of a watch feed (see leerplek.proto, TRANSPORT), after every reply queued. */
void lp_dispatch_push(lp_conn *conn, uint64_t request_id, Leerplek__V1__WatchResponse *watch);

/* The name of a row of lp_metrics.calls ("none", "hello", "get_pupil", ...), NULL past the last. */
const char *lp_dispatch_call_name(unsigned row);

#endif
