/* lp_ctx: the call context a handler gets from dispatch: the request, the caller, the reply
 * being built, how it failed, and the call's scratch memory. It holds no connection: a handler
 * that answers later keeps ctx->reply (lp_reply.h). */
#ifndef LP_CTX_H
#define LP_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leerplek.pb-c.h"
#include "lp_auth.h"
#include "lp_daemon.h"
#include "lp_pool.h"

typedef struct lp_reply lp_reply;

typedef struct lp_ctx {
  lp_daemon *daemon;
  const Leerplek__V1__Request *request;
  const uint8_t *frame; /* the request's wire bytes (for lp_check_request_text) */
  size_t frame_size;
  Leerplek__V1__Response *response; /* the handler sets body_case and the body */
  lp_principal who;
  char actor[96];        /* "school:<id>", ... for events (set by lp_begin) */
  const char *call_name; /* the route's name ("accept_proposal"): Event.call */
  long long now;         /* unix seconds at dispatch */
  /* Failure: a StatusCode, the field path and a message. */
  int code;
  char field[160];
  char message[512];
  /* Set by lp_commit (or a handler answering later through reply): the reply waits. */
  bool pending;
  lp_reply *reply;
  /* Scratch allocations freed after the reply is packed. */
  lp_pool scratch;
} lp_ctx;

/* Records a failure and returns -1 (for "return lp_fail(...)"). */
int lp_fail(lp_ctx *ctx, int code, const char *field, const char *format, ...) __attribute__((format(printf, 4, 5)));
/* The reply's body: a new message of type body (the call's Get*Response, ...), initialised,
 * in scratch memory and set as ctx->response's body (body_case and field, found through the
 * descriptors: the response's field named as the request's). Never NULL. */
void *lp_reply_body(lp_ctx *ctx, const ProtobufCMessageDescriptor *body);
/* Scratch memory owned by the call (zeroed); never NULL (see lp_alloc.h). */
void *lp_scratch(lp_ctx *ctx, size_t size);
char *lp_scratch_strdup(lp_ctx *ctx, const char *text);
void lp_scratch_free(lp_ctx *ctx);

#endif
