/* lp_reply: one call's answer, packed, counted and queued on its connection (see lp_reply.h). */
#include "lp_reply.h"

#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include "leerplek_wire.h"
#include "lp_alloc.h"
#include "lp_pool.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

const double lp_latency_bounds[LP_LATENCY_BOUNDS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

struct lp_reply {
  lp_call *call;             /* its place in the connection's queue */
  unsigned char *held_frame; /* the success frame while the store confirms (lp_reply_hold) */
  size_t held_size;
  uint64_t request_id;
  lp_metrics *metrics;     /* where the reply is counted */
  unsigned metric_row;     /* its row in metrics->calls */
  struct timespec started; /* when its frame was read (CLOCK_MONOTONIC) */
  bool in_place;           /* lp_reply_frame_space gave room in the connection's output */
};

/* Replies are recycled (see lp_recycler): one per request. */
static lp_recycler reply_recycler;

lp_reply *lp_reply_open(lp_conn *conn, lp_metrics *metrics) {
  lp_reply *reply = lp_recycler_get(&reply_recycler, sizeof *reply);
  reply->call = lp_call_open(conn);
  reply->metrics = metrics;
  lp_conn_frame_time(conn, &reply->started);
  return reply;
}

void lp_reply_set_request_id(lp_reply *reply, uint64_t request_id) { reply->request_id = request_id; }
void lp_reply_set_row(lp_reply *reply, unsigned row) { reply->metric_row = row; }
lp_conn *lp_reply_conn(const lp_reply *reply) { return reply->call->conn; }

/* Counts a reply by its status code and the time since its frame was read. */
static void count(const lp_reply *reply, int code) {
  if (!reply->metrics || code < 0 || code > 16) return;
  lp_call_metrics *row = &reply->metrics->calls[reply->metric_row < LP_METRIC_CALLS ? reply->metric_row : 0];
  row->replies_by_code[code]++;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double seconds = (double)(now.tv_sec - reply->started.tv_sec) + (double)(now.tv_nsec - reply->started.tv_nsec) * 1e-9;
  unsigned bucket = 0;
  while (bucket < LP_LATENCY_BOUNDS && seconds > lp_latency_bounds[bucket]) bucket++;
  row->latency_buckets[bucket]++;
  row->latency_sum_s += seconds;
}

/* Queues frame as the reply's answer and frees the reply. */
static void finish(lp_reply *reply, int code, unsigned char *frame, size_t frame_size, bool close_after) {
  lp_call *call = reply->call;
  if (close_after && call->conn) lp_conn_stop_reading(call->conn);
  count(reply, code);
  free(reply->held_frame);
  lp_recycler_put(&reply_recycler, reply);
  lp_call_finish(call, frame, frame_size, close_after);
}

unsigned char *lp_reply_frame_space(lp_reply *reply, size_t size) {
  unsigned char *frame = lp_call_reserve(reply->call, size + LEERPLEK_FRAME_HEADER_SIZE);
  reply->in_place = frame != NULL;
  if (!frame) frame = lp_malloc(size + LEERPLEK_FRAME_HEADER_SIZE);
  leerplek_frame_put_length(frame, (uint32_t)size);
  return frame;
}

void lp_reply_send_space(lp_reply *reply, unsigned char *frame, size_t frame_size) {
  if (!reply->in_place) {
    finish(reply, 0, frame, frame_size, false);
    return;
  }
  lp_call *call = reply->call;
  count(reply, 0);
  free(reply->held_frame); /* a frame kept for the store's answer is replaced, as in finish */
  lp_recycler_put(&reply_recycler, reply);
  lp_call_commit(call, frame, frame_size);
}

unsigned char *lp_reply_pack(const Leerplek__V1__Response *response, size_t *frame_size) {
  size_t size = protobuf_c_message_get_packed_size(&response->base);
  unsigned char *frame = lp_malloc(size + LEERPLEK_FRAME_HEADER_SIZE);
  leerplek_frame_put_length(frame, (uint32_t)size);
  protobuf_c_message_pack(&response->base, frame + LEERPLEK_FRAME_HEADER_SIZE);
  *frame_size = size + LEERPLEK_FRAME_HEADER_SIZE;
  return frame;
}

unsigned char *lp_reply_error_frame(uint64_t request_id, int code, const char *field, const char *message,
                                    size_t *frame_size) {
  Leerplek__V1__Status status = LEERPLEK__V1__STATUS__INIT;
  status.code = (Leerplek__V1__StatusCode)code;
  status.field = (char *)(field ? field : "");
  status.message = (char *)message;
  if (code == CODE(UNAVAILABLE) || code == CODE(RESOURCE_EXHAUSTED) || code == CODE(ABORTED))
    status.retry_after_ms = 100;
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  response.request_id = request_id;
  response.status = &status;
  return lp_reply_pack(&response, frame_size);
}

void lp_reply_fail(lp_reply *reply, int code, const char *field, const char *message, bool close_after) {
  assert(code != 0); /* a refusal always has a status code */
  size_t size = 0;
  unsigned char *frame = lp_reply_error_frame(reply->request_id, code, field, message, &size);
  finish(reply, code, frame, size, close_after);
}

void lp_reply_send(lp_reply *reply, int code, const char *message, Leerplek__V1__Response *response) {
  if (code != 0) {
    lp_reply_fail(reply, code, "", message, false);
    return;
  }
  Leerplek__V1__Status ok_status = LEERPLEK__V1__STATUS__INIT;
  response->request_id = reply->request_id;
  response->status = &ok_status;
  lp_reply_send_response(reply, response);
}

void lp_reply_send_response(lp_reply *reply, const Leerplek__V1__Response *response) {
  size_t size = protobuf_c_message_get_packed_size(&response->base);
  unsigned char *frame = lp_reply_frame_space(reply, size);
  protobuf_c_message_pack(&response->base, frame + LEERPLEK_FRAME_HEADER_SIZE);
  lp_reply_send_space(reply, frame, size + LEERPLEK_FRAME_HEADER_SIZE);
}

void lp_reply_hold(lp_reply *reply, unsigned char *frame, size_t frame_size) {
  free(reply->held_frame);
  reply->held_frame = frame;
  reply->held_size = frame_size;
}

void lp_reply_on_commit(void *arg, int code, const char *message) {
  lp_reply *reply = arg;
  if (code == 0) {
    reply->metrics->commits++;
    unsigned char *frame = reply->held_frame;
    reply->held_frame = NULL;
    finish(reply, 0, frame, reply->held_size, false);
    return;
  }
  reply->metrics->commit_failures++;
  lp_reply_fail(reply, code, "", message, false);
}

void lp_reply_push(lp_conn *conn, uint64_t request_id, Leerplek__V1__WatchResponse *watch) {
  Leerplek__V1__Status ok_status = LEERPLEK__V1__STATUS__INIT;
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  response.request_id = request_id;
  response.status = &ok_status;
  response.body_case = LEERPLEK__V1__RESPONSE__BODY_WATCH;
  response.watch = watch;
  size_t size = 0;
  unsigned char *frame = lp_reply_pack(&response, &size);
  lp_call_finish(lp_call_open(conn), frame, size, false);
}
