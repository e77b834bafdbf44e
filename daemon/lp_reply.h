/* lp_reply: one call's answer: a Response (or a refusal) packed into a frame, counted in the
 * metrics, queued on its connection in request order (lp_server). Dispatch opens one per
 * frame; a handler whose answer waits (for the store, a rematch, a history read) keeps its
 * ctx->reply and answers through it exactly once. */
#ifndef LP_REPLY_H
#define LP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leerplek.pb-c.h"
#include "lp_daemon.h"
#include "lp_server.h"

typedef struct lp_reply lp_reply;

/* A reply at the end of conn's queue, counted in metrics->calls[0] until lp_reply_set_row. */
lp_reply *lp_reply_open(lp_conn *conn, lp_metrics *metrics);
void lp_reply_set_request_id(lp_reply *reply, uint64_t request_id);
/* The row of metrics->calls the reply is counted in (the call, once known). */
void lp_reply_set_row(lp_reply *reply, unsigned row);
/* The connection, NULL once it has gone (the reply is then dropped when finished). */
lp_conn *lp_reply_conn(const lp_reply *reply);

/* Each of these answers the reply and frees it (the reply pointer is gone afterwards). */
/* Room for a success frame of a message of size bytes, its length prefix written: in the
 * connection's output when the reply can leave at once (lp_call_reserve), else a frame of its
 * own. Fill it and send it with lp_reply_send_space (nothing else may be sent in between). */
unsigned char *lp_reply_frame_space(lp_reply *reply, size_t size);
void lp_reply_send_space(lp_reply *reply, unsigned char *frame, size_t frame_size);
/* response as it is (request_id and status set by the caller), packed with lp_reply_frame_space. */
void lp_reply_send_response(lp_reply *reply, const Leerplek__V1__Response *response);
/* Code 0: response (its request_id and status are filled in here); else the error, no field. */
void lp_reply_send(lp_reply *reply, int code, const char *message, Leerplek__V1__Response *response);
/* A refusal naming field; close_after closes the connection once it is written. */
void lp_reply_fail(lp_reply *reply, int code, const char *field, const char *message, bool close_after);

/* A reply that waits for the store: frame is sent when the MULTI/EXEC is confirmed, an error
 * otherwise (lp_reply_on_commit, the store's callback with the reply as arg). A later
 * lp_reply_send or lp_reply_fail replaces the kept frame. */
void lp_reply_hold(lp_reply *reply, unsigned char *frame, size_t frame_size);
void lp_reply_on_commit(void *reply, int code, const char *message);

/* A Response packed into a frame with its 4-byte big-endian length; never NULL (lp_alloc.h). */
unsigned char *lp_reply_pack(const Leerplek__V1__Response *response, size_t *frame_size);
/* A refusal frame; retry_after_ms is set for the codes that invite a retry. */
unsigned char *lp_reply_error_frame(uint64_t request_id, int code, const char *field, const char *message,
                                    size_t *frame_size);
/* One pushed frame of a watch feed (see leerplek.proto, TRANSPORT), after every reply queued. */
void lp_reply_push(lp_conn *conn, uint64_t request_id, Leerplek__V1__WatchResponse *watch);

#endif
