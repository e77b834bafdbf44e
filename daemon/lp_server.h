/* lp_server: the API listener and its connections: framing (4-byte big-endian length + one
 * message), replies in request order, limits and backpressure. Complete frames go to the frame
 * handler given to lp_server_new (lp_dispatch's): the server knows nothing of what they mean. */
#ifndef LP_SERVER_H
#define LP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp_auth.h"
#include "lp_daemon.h"

typedef struct lp_conn lp_conn;

/* One request's place in its connection's reply queue. Replies leave in queue order: a call
 * finished early waits until every call before it has finished. */
typedef struct lp_call {
  lp_conn *conn; /* NULL once the connection has gone (the call is then orphaned) */
  struct lp_call *next;
  bool done;
  bool close_after;     /* close the connection once this reply is written */
  unsigned char *frame; /* the reply frame, length prefix included */
  size_t frame_size;
} lp_call;

/* What the server does with what it reads; arg is the handler's own. Each of frame, oversized
 * and refuse queues exactly one reply on conn (lp_call_open + lp_call_finish). */
typedef struct lp_frame_handler {
  /* One complete frame (the length prefix stripped); data is valid during the call. */
  void (*frame)(void *arg, lp_conn *conn, const unsigned char *data, size_t size);
  /* A frame header above max_frame_bytes: the connection closes after the reply. */
  void (*oversized)(void *arg, lp_conn *conn, size_t size);
  /* Refuses a connection (too many, a Hello timeout...) with one reply; it then closes. */
  void (*refuse)(void *arg, lp_conn *conn, int code, const char *message);
  /* A reply frame (request_id 0) for answers outside any queue (out of file descriptors);
   * the server frees it. */
  unsigned char *(*error_frame)(int code, const char *message, size_t *frame_size);
  void *arg;
} lp_frame_handler;

/* handler is kept (not copied): it lives as long as the server. */
lp_server *lp_server_new(lp_daemon *daemon, const lp_frame_handler *handler);
/* Binds the configured address; 0 or -1 with the reason. */
int lp_server_listen(lp_server *server, char *error, size_t error_size);
/* Stops accepting and reading; connections close once their replies are written. */
void lp_server_drain(lp_server *server);
size_t lp_server_connection_count(const lp_server *server);
/* Reply bytes queued on all connections and not yet sent (against max_output_total_bytes). */
size_t lp_server_output_bytes(const lp_server *server);
void lp_server_free(lp_server *server);

/* For the frame handler: a new call at the end of conn's queue (NULL when out of memory). */
lp_call *lp_call_open(lp_conn *conn);
/* Sets the call's reply (frame ownership passes to the call) and writes every finished reply
 * at the head of the queue. For an orphaned call it just frees everything. */
void lp_call_finish(lp_call *call, unsigned char *frame, size_t frame_size, bool close_after);

/* Replies packed straight into the connection's output buffer, without a frame of their own
 * (a malloc, a copy and a free per reply were a visible part of a pipelined read's cost):
 * lp_call_reserve gives frame_size contiguous bytes at the end of the output when the call
 * is at the head of its queue (its reply can leave at once) and the connection still writes;
 * else NULL, and the reply goes through lp_call_finish. Nothing else may be added to the
 * connection's output between the two calls. lp_call_commit queues those bytes as the call's
 * reply and writes every finished reply behind it, as lp_call_finish does. */
unsigned char *lp_call_reserve(lp_call *call, size_t frame_size);
void lp_call_commit(lp_call *call, unsigned char *frame, size_t frame_size);

bool lp_conn_greeted(const lp_conn *conn);
struct timespec;
/* When the frame being handled was read (CLOCK_MONOTONIC): the start of the read callback
 * that cut it, so the frames of one batch share one clock read; outside it, now. */
void lp_conn_frame_time(const lp_conn *conn, struct timespec *out);
void lp_conn_set_greeted(lp_conn *conn);
const char *lp_conn_peer(const lp_conn *conn);
/* The connection's token memo (see lp_auth.h). */
lp_token_memo *lp_conn_token_memo(lp_conn *conn);
/* Makes conn a watching connection (see leerplek.proto, TRANSPORT): no idle read timeout;
 * on_close(arg) runs when it closes. Pushed frames go out with lp_call_open + lp_call_finish. */
void lp_conn_set_watching(lp_conn *conn, void (*on_close)(void *arg), void *arg);
bool lp_conn_watching(const lp_conn *conn);
/* Reply bytes queued on conn and not yet sent. */
size_t lp_conn_unsent_bytes(const lp_conn *conn);
/* No more requests are read from conn; it closes once the queued replies are written. */
void lp_conn_stop_reading(lp_conn *conn);

#endif
