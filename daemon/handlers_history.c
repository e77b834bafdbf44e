/* handlers_history: get_history (one subject's events, through its index key) and watch (the
 * notification feed; lp_events.c runs it). The scope rules are leerplek.proto's "History and
 * the notification feed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_events.h"
#include "lp_handlers.h"
#include "lp_reply.h"
#include "lp_rematch.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

/* One page of a subject's index: its members after ARGV[1] ('-' or '(<member>'), at most
 * ARGV[2], each with its stream entry; members whose entry is gone (trimmed, or erased from
 * another subject's index) are dropped as met. Returns {scanned, last member, id, fields, ...}. */
static const char HISTORY_SCRIPT[] =
    "local members = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {#members, members[#members] or ''}\n"
    "for _, member in ipairs(members) do\n"
    "  local ms, seq = string.match(member, '^0*(%d+)-0*(%d+)$')\n"
    "  local id = ms .. '-' .. seq\n"
    "  local found = redis.call('XRANGE', KEYS[1], id, id)\n"
    "  if found[1] then\n"
    "    table.insert(out, id)\n"
    "    table.insert(out, found[1][2])\n"
    "  else\n"
    "    redis.call('ZREM', KEYS[2], member)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* A history read in flight: what its reply needs once the handler's ctx is gone. */
typedef struct history_read {
  lp_daemon *daemon;
  lp_reply *reply;
  lp_principal who;
  Leerplek__V1__GetHistoryRequest *request; /* a copy, for the next page token */
  uint32_t limit;
} history_read;

static void on_history(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  history_read *read = privdata;
  redisReply *reply = reply_pointer;
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
      reply->element[0]->type != REDIS_REPLY_INTEGER) {
    lp_reply_fail(read->reply, CODE(UNAVAILABLE), "",
                  reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "the store did not answer; retry", false);
    protobuf_c_message_free_unpacked(&read->request->base, NULL);
    free(read);
    return;
  }
  /* A ctx of its own for the reply's scratch and the page token (bound to role and scope). */
  lp_ctx later;
  memset(&later, 0, sizeof later);
  later.daemon = read->daemon;
  later.who = read->who;
  size_t capacity = (reply->elements - 2) / 2;
  Leerplek__V1__Event **events = lp_scratch(&later, (capacity ? capacity : 1) * sizeof *events);
  size_t count = 0;
  for (size_t i = 2; i + 1 < reply->elements; i += 2) {
    const redisReply *id = reply->element[i], *fields = reply->element[i + 1];
    if (id->type != REDIS_REPLY_STRING || fields->type != REDIS_REPLY_ARRAY) continue;
    Leerplek__V1__Event *event = lp_event_from_entry(id->str, fields);
    if (!event) continue;
    if (!lp_event_in_scope(&read->who, event)) {
      protobuf_c_message_free_unpacked(&event->base, &lp_protobuf_allocator);
      continue;
    }
    lp_event_redact(&read->who, event);
    events[count++] = event;
  }
  Leerplek__V1__GetHistoryResponse body = LEERPLEK__V1__GET_HISTORY_RESPONSE__INIT;
  body.events = events;
  body.n_events = count;
  bool more = (uint64_t)reply->element[0]->integer >= read->limit && reply->element[1]->type == REDIS_REPLY_STRING;
  body.next_page_token =
      more ? lp_page_token_make(&later, "get_history", &read->request->base, reply->element[1]->str) : "";
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  response.body_case = LEERPLEK__V1__RESPONSE__BODY_GET_HISTORY;
  response.get_history = &body;
  lp_reply_send(read->reply, 0, NULL, &response);
  for (size_t i = 0; i < count; i++) protobuf_c_message_free_unpacked(&events[i]->base, &lp_protobuf_allocator);
  lp_scratch_free(&later);
  protobuf_c_message_free_unpacked(&read->request->base, NULL);
  free(read);
}

/* The index key of the one subject the request names, if the token may read it. */
static bool history_subject(lp_ctx *ctx, const Leerplek__V1__GetHistoryRequest *request, char *index_key, size_t size) {
  bool pupil = request->pupil_ref[0] != '\0', vacancy = request->vacancy_id[0] != '\0',
       company = request->company_id[0] != '\0', school = request->school_id[0] != '\0' && !pupil;
  int named = pupil + vacancy + company + school;
  if (named == 0 && lp_is_school(ctx)) school = true, named = 1; /* a school's own history */
  if (named != 1)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_history",
                   "get_history names exactly one subject: a pupil (school_id and pupil_ref), a school (school_id), "
                   "a vacancy_id or a company_id"),
           false;
  if ((pupil || school) && lp_is_company(ctx))
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_history",
                   "a company reads the history of its vacancies and of its company, not of pupils or schools"),
           false;
  if (vacancy && lp_is_school(ctx))
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_history",
                   "a school reads the history of its pupils and of itself, not of vacancies"),
           false;
  if (company && lp_is_school(ctx))
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_history",
                   "a school reads the history of its pupils and of itself, not of companies"),
           false;
  if (pupil) {
    char key[LP_MAX_KEY];
    if (!lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "get_history", key)) return false;
    snprintf(index_key, size, "lp:history:pupil:%s", key);
  } else if (school) {
    const char *id = request->school_id[0] ? request->school_id : ctx->who.scope_id;
    if (!lp_check_id(ctx, id, "get_history.school_id")) return false;
    if (lp_is_school(ctx) && strcmp(id, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_history.school_id", "a school reads only its own history"),
             false;
    snprintf(index_key, size, "lp:history:school:%s", id);
  } else if (vacancy) {
    if (!lp_check_id(ctx, request->vacancy_id, "get_history.vacancy_id")) return false;
    const Leerplek__V1__Vacancy *stored = lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, request->vacancy_id);
    if (!stored || (lp_is_company(ctx) && strcmp(stored->company_id, ctx->who.scope_id) != 0))
      return lp_fail(ctx, CODE(NOT_FOUND), "get_history.vacancy_id", "no vacancy %s", request->vacancy_id), false;
    snprintf(index_key, size, "lp:history:vacancy:%s", request->vacancy_id);
  } else {
    if (!lp_check_id(ctx, request->company_id, "get_history.company_id")) return false;
    if (!lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, request->company_id) ||
        (lp_is_company(ctx) && strcmp(request->company_id, ctx->who.scope_id) != 0))
      return lp_fail(ctx, CODE(NOT_FOUND), "get_history.company_id", "no company %s", request->company_id), false;
    snprintf(index_key, size, "lp:history:company:%s", request->company_id);
  }
  return true;
}

int lp_handle_get_history(lp_ctx *ctx) {
  const Leerplek__V1__GetHistoryRequest *request = ctx->request->get_history;
  char index_key[160];
  if (!history_subject(ctx, request, index_key, sizeof index_key)) return -1;
  char after[LP_MAX_KEY];
  if (!lp_page_token_read(ctx, "get_history", &request->base, request->page_token, after)) return -1;
  char start[LP_MAX_KEY + 2];
  snprintf(start, sizeof start, after[0] ? "(%s" : "-", after);
  history_read *read = lp_calloc(1, sizeof *read);
  read->daemon = ctx->daemon;
  read->reply = ctx->reply;
  read->who = ctx->who;
  read->request = lp_clone(request);
  read->limit = lp_page_size(ctx, request->page_size);
  uint64_t seq = 0;
  /* On the write link, behind every write sent so far: the history shows the caller's own. */
  if (lp_store_read(ctx->daemon->store, on_history, read, &seq, "EVAL %s 2 %s %s %s %u", HISTORY_SCRIPT,
                    LP_EVENTS_STREAM, index_key, start, read->limit) != 0) {
    protobuf_c_message_free_unpacked(&read->request->base, NULL);
    free(read);
    return lp_fail(ctx, CODE(UNAVAILABLE), "", "the store is unavailable (reconnecting); retry");
  }
  ctx->pending = true; /* answered by on_history */
  return 0;
}

int lp_handle_watch(lp_ctx *ctx) {
  const Leerplek__V1__WatchRequest *request = ctx->request->watch;
  uint64_t ms = 0, seq = 0;
  if (request->after_event_id[0] && !lp_event_id_parse(request->after_event_id, &ms, &seq))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "watch.after_event_id",
                   "watch.after_event_id must be an event id \"<digits>-<digits>\" (or empty for events from now)");
  lp_watchers *watchers = ctx->daemon->watchers;
  if (!watchers)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "body", "this daemon runs with follow_events = 0 and cannot watch");
  if (lp_watchers_count(watchers) >= ctx->daemon->config.max_watchers)
    return lp_fail(ctx, CODE(RESOURCE_EXHAUSTED), "body", "%u connections are watching already (max_watchers)",
                   ctx->daemon->config.max_watchers);
  char start[48];
  if (lp_watchers_start(watchers, lp_reply_conn(ctx->reply), ctx->reply, ctx->request->request_id, &ctx->who,
                        request->after_event_id, start, sizeof start) != 0)
    return lp_fail(ctx, CODE(UNAVAILABLE), "", "the store is unavailable (reconnecting); watch again");
  if (request->after_event_id[0]) {
    ctx->pending = true; /* answered once after_event_id is checked against the log */
    return 0;
  }
  Leerplek__V1__WatchResponse *reply = lp_reply_body(ctx, &leerplek__v1__watch_response__descriptor);
  reply->resume_after_event_id = lp_scratch_strdup(ctx, start);
  return 0;
}
