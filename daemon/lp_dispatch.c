/* lp_dispatch: the path of one request: unpack (bounded by the server's frame limit) -> Hello
 * first -> store loaded? -> token -> role allowed for the call? -> handler -> pack the reply,
 * now or (for writes) when the store confirms the MULTI/EXEC. */
#include "lp_dispatch.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leerplek_wire.h"
#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_log.h"
#include "lp_reply.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define ROLE_BIT(role) (1u << (role))
#define SCHOOL ROLE_BIT(LEERPLEK__V1__ROLE__ROLE_SCHOOL)
#define COMPANY ROLE_BIT(LEERPLEK__V1__ROLE__ROLE_COMPANY)
#define COORDINATOR ROLE_BIT(LEERPLEK__V1__ROLE__ROLE_COORDINATOR)
#define ADMIN ROLE_BIT(LEERPLEK__V1__ROLE__ROLE_ADMIN)
#define SUPPORT ROLE_BIT(LEERPLEK__V1__ROLE__ROLE_SUPPORT)

typedef struct route {
  Leerplek__V1__Request__BodyCase body;
  const char *name;
  unsigned roles; /* roles that may make the call at all; handlers check scope */
  int (*handler)(lp_ctx *ctx);
} route;

/* Every call of leerplek.proto, with the roles its comment allows. */
static const route routes[] = {
    {LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING, "upsert_training", COORDINATOR, lp_handle_upsert_training},
    {LEERPLEK__V1__REQUEST__BODY_GET_TRAINING, "get_training", SCHOOL | COMPANY | SUPPORT | COORDINATOR,
     lp_handle_get_training},
    {LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS, "list_trainings", SCHOOL | COMPANY | SUPPORT | COORDINATOR,
     lp_handle_list_trainings},
    {LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY, "upsert_company", COORDINATOR, lp_handle_upsert_company},
    {LEERPLEK__V1__REQUEST__BODY_GET_COMPANY, "get_company", SCHOOL | COMPANY | COORDINATOR, lp_handle_get_company},
    {LEERPLEK__V1__REQUEST__BODY_LIST_COMPANIES, "list_companies", SCHOOL | COMPANY | COORDINATOR,
     lp_handle_list_companies},
    {LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION, "upsert_location", COMPANY | COORDINATOR, lp_handle_upsert_location},
    {LEERPLEK__V1__REQUEST__BODY_GET_LOCATION, "get_location", COMPANY | COORDINATOR, lp_handle_get_location},
    {LEERPLEK__V1__REQUEST__BODY_LIST_LOCATIONS, "list_locations", COMPANY | COORDINATOR, lp_handle_list_locations},
    {LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY, "publish_vacancy", COMPANY | COORDINATOR, lp_handle_publish_vacancy},
    {LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY, "update_vacancy", COMPANY | COORDINATOR, lp_handle_update_vacancy},
    {LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY, "close_vacancy", COMPANY | COORDINATOR, lp_handle_close_vacancy},
    {LEERPLEK__V1__REQUEST__BODY_GET_VACANCY, "get_vacancy", COMPANY | COORDINATOR, lp_handle_get_vacancy},
    {LEERPLEK__V1__REQUEST__BODY_LIST_VACANCIES, "list_vacancies", COMPANY | COORDINATOR, lp_handle_list_vacancies},
    {LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL, "register_pupil", SCHOOL | COORDINATOR, lp_handle_register_pupil},
    {LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL, "update_pupil", SCHOOL | COORDINATOR, lp_handle_update_pupil},
    {LEERPLEK__V1__REQUEST__BODY_GET_PUPIL, "get_pupil", SCHOOL | COORDINATOR, lp_handle_get_pupil},
    {LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS, "list_pupils", SCHOOL | COORDINATOR, lp_handle_list_pupils},
    {LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL, "erase_pupil", SCHOOL | COORDINATOR, lp_handle_erase_pupil},
    {LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, "request_placement", SCHOOL | COORDINATOR,
     lp_handle_request_placement},
    {LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT, "withdraw_placement", SCHOOL | COORDINATOR,
     lp_handle_withdraw_placement},
    {LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT, "get_placement", SCHOOL | COORDINATOR, lp_handle_get_placement},
    {LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS, "list_placements", SCHOOL | COORDINATOR, lp_handle_list_placements},
    {LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS, "list_proposals", COMPANY | COORDINATOR, lp_handle_list_proposals},
    {LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL, "accept_proposal", SCHOOL | COMPANY | COORDINATOR,
     lp_handle_accept_proposal},
    {LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL, "decline_proposal", SCHOOL | COMPANY | COORDINATOR,
     lp_handle_decline_proposal},
    {LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT, "record_agreement", SCHOOL | COMPANY | COORDINATOR,
     lp_handle_record_agreement},
    {LEERPLEK__V1__REQUEST__BODY_END_AGREEMENT, "end_agreement", SCHOOL | COMPANY | COORDINATOR,
     lp_handle_end_agreement},
    {LEERPLEK__V1__REQUEST__BODY_CLOSE_SCHOOL_YEAR, "close_school_year", COORDINATOR, lp_handle_close_school_year},
    {LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH, "run_rematch", COORDINATOR, lp_handle_run_rematch},
    {LEERPLEK__V1__REQUEST__BODY_GET_REPORT, "get_report", COORDINATOR, lp_handle_get_report},
    {LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST, "get_waiting_list", SCHOOL | COORDINATOR,
     lp_handle_get_waiting_list},
    {LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN, "create_token", ADMIN, lp_handle_create_token},
    {LEERPLEK__V1__REQUEST__BODY_REVOKE_TOKEN, "revoke_token", ADMIN, lp_handle_revoke_token},
    {LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS, "list_tokens", ADMIN, lp_handle_list_tokens},
    {LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_ORGANISATION, "upsert_support_organisation", SUPPORT | COORDINATOR,
     lp_handle_upsert_support_organisation},
    {LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_ORGANISATION, "get_support_organisation", SCHOOL | SUPPORT | COORDINATOR,
     lp_handle_get_support_organisation},
    {LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_ORGANISATIONS, "list_support_organisations",
     SCHOOL | SUPPORT | COORDINATOR, lp_handle_list_support_organisations},
    {LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER, "upsert_support_offer", SUPPORT | COORDINATOR,
     lp_handle_upsert_support_offer},
    {LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_OFFER, "get_support_offer", SCHOOL | SUPPORT | COORDINATOR,
     lp_handle_get_support_offer},
    {LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS, "list_support_offers", SCHOOL | SUPPORT | COORDINATOR,
     lp_handle_list_support_offers},
    {LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL, "refer_pupil", SCHOOL | COORDINATOR, lp_handle_refer_pupil},
    {LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL, "get_referral", SCHOOL | COORDINATOR, lp_handle_get_referral},
    {LEERPLEK__V1__REQUEST__BODY_LIST_REFERRALS, "list_referrals", SCHOOL | COORDINATOR, lp_handle_list_referrals},
    {LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS, "list_support_referrals", SUPPORT | COORDINATOR,
     lp_handle_list_support_referrals},
    {LEERPLEK__V1__REQUEST__BODY_OFFER_REFERRAL, "offer_referral", COORDINATOR, lp_handle_offer_referral},
    {LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL, "accept_referral", SCHOOL | SUPPORT | COORDINATOR,
     lp_handle_accept_referral},
    {LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL, "decline_referral", SCHOOL | SUPPORT | COORDINATOR,
     lp_handle_decline_referral},
    {LEERPLEK__V1__REQUEST__BODY_START_REFERRAL, "start_referral", SUPPORT | COORDINATOR, lp_handle_start_referral},
    {LEERPLEK__V1__REQUEST__BODY_END_REFERRAL, "end_referral", SUPPORT | COORDINATOR, lp_handle_end_referral},
    {LEERPLEK__V1__REQUEST__BODY_WITHDRAW_REFERRAL, "withdraw_referral", SCHOOL | COORDINATOR,
     lp_handle_withdraw_referral},
    {LEERPLEK__V1__REQUEST__BODY_RUN_DISPATCH, "run_dispatch", COORDINATOR, lp_handle_run_dispatch},
    {LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL_WAITING_LIST, "get_referral_waiting_list", SUPPORT | COORDINATOR,
     lp_handle_get_referral_waiting_list},
    {LEERPLEK__V1__REQUEST__BODY_GET_REGISTRATION_POINT, "get_registration_point", COORDINATOR,
     lp_handle_get_registration_point},
    {LEERPLEK__V1__REQUEST__BODY_GET_HISTORY, "get_history", SCHOOL | COMPANY | COORDINATOR, lp_handle_get_history},
    {LEERPLEK__V1__REQUEST__BODY_WATCH, "watch", SCHOOL | COMPANY | COORDINATOR, lp_handle_watch},
    {LEERPLEK__V1__REQUEST__BODY_PLACE_PUPIL, "place_pupil", COORDINATOR, lp_handle_place_pupil},
    {LEERPLEK__V1__REQUEST__BODY_PIN_PLACEMENT, "pin_placement", COORDINATOR, lp_handle_pin_placement},
};

#define ROUTE_COUNT (sizeof routes / sizeof routes[0])
/* Metric rows: 0 = no call known, 1 = hello, 2.. = routes. */
#define ROW_NONE 0u
#define ROW_HELLO 1u
_Static_assert(ROUTE_COUNT + 2 <= LP_METRIC_CALLS, "raise LP_METRIC_CALLS in lp_daemon.h");

const char *lp_dispatch_call_name(unsigned row) {
  if (row == ROW_NONE) return "none";
  if (row == ROW_HELLO) return "hello";
  return row - 2 < ROUTE_COUNT ? routes[row - 2].name : NULL;
}

/* The route of a call by its field number, from a table filled on first use (a walk of the
 * routes cost a get call more than its lookup of the record). Loop thread only. */
static const route *find_route(Leerplek__V1__Request__BodyCase body) {
  enum { TABLE_SIZE = 256 };
  static const route *by_body[TABLE_SIZE];
  static bool filled;
  if (!filled) {
    for (size_t i = 0; i < ROUTE_COUNT; i++)
      if ((unsigned)routes[i].body < TABLE_SIZE) by_body[routes[i].body] = &routes[i];
    filled = true;
  }
  if ((unsigned)body < TABLE_SIZE) return by_body[body];
  for (size_t i = 0; i < ROUTE_COUNT; i++)
    if (routes[i].body == body) return &routes[i];
  return NULL;
}

static size_t put_varint(unsigned char *out, uint64_t value) {
  size_t n = 0;
  do {
    out[n] = (unsigned char)(value & 0x7f);
    value >>= 7;
    if (value) out[n] |= 0x80;
    n++;
  } while (value);
  return n;
}

/* protobuf_c_message_descriptor_get_field for Request's and Response's fields (the calls and
 * their answers), by number from a table filled on first use: protobuf-c's binary search over a
 * hundred fields ran twice per get call. Other messages, and numbers past the table, go to
 * protobuf-c. Dispatch runs on the loop only. */
static const ProtobufCFieldDescriptor *envelope_field(const ProtobufCMessageDescriptor *message, uint64_t number) {
  enum { TABLE_SIZE = 256 };
  static const ProtobufCFieldDescriptor *request_fields[TABLE_SIZE], *response_fields[TABLE_SIZE];
  static bool filled;
  if (!filled) {
    for (unsigned i = 0; i < leerplek__v1__request__descriptor.n_fields; i++) {
      const ProtobufCFieldDescriptor *field = &leerplek__v1__request__descriptor.fields[i];
      if (field->id < TABLE_SIZE) request_fields[field->id] = field;
    }
    for (unsigned i = 0; i < leerplek__v1__response__descriptor.n_fields; i++) {
      const ProtobufCFieldDescriptor *field = &leerplek__v1__response__descriptor.fields[i];
      if (field->id < TABLE_SIZE) response_fields[field->id] = field;
    }
    filled = true;
  }
  if (number < TABLE_SIZE && message == &leerplek__v1__request__descriptor) return request_fields[number];
  if (number < TABLE_SIZE && message == &leerplek__v1__response__descriptor) return response_fields[number];
  return number <= 0xFFFF ? protobuf_c_message_descriptor_get_field(message, (unsigned)number) : NULL;
}

/* A get call's reply (in lp_reply_frame_space, for lp_reply_send_space) with the record's bytes kept by
 * lp_state_packed, so that a hot record is not packed again per read (packing was a quarter of the daemon's CPU at
 * pipelined reads). The bytes are the ones protobuf_c_message_pack gives (debug builds check it): fields in order of
 * number, request_id (1) and status (2) first, then the body (the call's field, a Get*Response whose only field 1 is
 * the record). NULL when this does not apply. */
static unsigned char *pack_get_reply(lp_ctx *ctx, Leerplek__V1__Response *response, size_t *frame_size) {
  const Leerplek__V1__Request *request = ctx->request;
  enum lp_kind kind;
  const void *record;
  const ProtobufCMessage *body; /* the Get*Response */
  char key[LP_MAX_KEY];
  const char *record_key = key;
  switch (response->body_case) {
  case LEERPLEK__V1__RESPONSE__BODY_GET_TRAINING:
    body = &response->get_training->base;
    kind = LP_KIND_TRAINING, record = response->get_training->training, record_key = request->get_training->code;
    break;
  case LEERPLEK__V1__RESPONSE__BODY_GET_COMPANY:
    body = &response->get_company->base;
    kind = LP_KIND_COMPANY, record = response->get_company->company, record_key = request->get_company->company_id;
    break;
  case LEERPLEK__V1__RESPONSE__BODY_GET_LOCATION:
    body = &response->get_location->base;
    kind = LP_KIND_LOCATION, record = response->get_location->location, record_key = request->get_location->location_id;
    break;
  case LEERPLEK__V1__RESPONSE__BODY_GET_VACANCY:
    body = &response->get_vacancy->base;
    kind = LP_KIND_VACANCY, record = response->get_vacancy->vacancy, record_key = request->get_vacancy->vacancy_id;
    break;
  case LEERPLEK__V1__RESPONSE__BODY_GET_PUPIL:
    body = &response->get_pupil->base;
    kind = LP_KIND_PUPIL, record = response->get_pupil->pupil;
    { /* "<school_id>/<ref>", without snprintf's cost on this hot path */
      size_t school = strlen(request->get_pupil->school_id), ref = strlen(request->get_pupil->pupil_ref);
      if (school + 1 + ref >= sizeof key) return NULL;
      memcpy(key, request->get_pupil->school_id, school);
      key[school] = '/';
      memcpy(key + school + 1, request->get_pupil->pupil_ref, ref + 1);
    }
    break;
  default: return NULL;
  }
  /* The body, a Get*Response, must hold nothing but its record for the bytes below to be it. */
  if (!body || body->descriptor->n_fields != 1 || body->n_unknown_fields != 0) return NULL;
  size_t record_size = 0;
  /* Where each recently read record sits in its map, by its pointer (checked before use). */
  static size_t hints[LP_KIND_COUNT][256];
  size_t *hint = &hints[kind][((uintptr_t)record >> 4) & 255];
  const uint8_t *bytes =
      record ? lp_state_packed_hinted(&ctx->daemon->state, kind, record_key, record, &record_size, hint) : NULL;
  if (!bytes) return NULL;
  const ProtobufCFieldDescriptor *field =
      envelope_field(&leerplek__v1__response__descriptor, (uint64_t)response->body_case);
  if (!field) return NULL;
  /* The envelope by hand too: protobuf-c walks all of Response's hundred fields to pack it. */
  if (!response->status || response->base.n_unknown_fields != 0) return NULL;
  const Leerplek__V1__Status *status = response->status;
  /* A success's Status (every field at its default) packs to nothing: no protobuf-c walk. */
  bool empty_status = leerplek__v1__status__descriptor.n_fields == 4 && status->code == 0 &&
                      status->retry_after_ms == 0 && status->base.n_unknown_fields == 0 &&
                      (!status->message || !status->message[0]) && (!status->field || !status->field[0]);
  size_t status_size = empty_status ? 0 : protobuf_c_message_get_packed_size(&status->base);
  unsigned char status_bytes[512];
  if (status_size > sizeof status_bytes) return NULL;
  if (!empty_status) protobuf_c_message_pack(&status->base, status_bytes);
  unsigned char envelope[2 * 10 + 2];
  size_t envelope_size = 0;
  if (response->request_id != 0) {            /* proto3: a zero is not written */
    envelope[envelope_size++] = (1 << 3) | 0; /* request_id = 1, varint */
    envelope_size += put_varint(envelope + envelope_size, response->request_id);
  }
  envelope[envelope_size++] = (2 << 3) | 2; /* status = 2 */
  envelope_size += put_varint(envelope + envelope_size, status_size);
  unsigned char head[3 * 10 + 1];
  size_t body_size = 1 + put_varint(head, record_size) + record_size;
  size_t head_size = put_varint(head, ((uint64_t)field->id << 3) | 2); /* length-delimited */
  head_size += put_varint(head + head_size, body_size);
  head[head_size++] = (1 << 3) | 2; /* Get*Response.<record> = 1 */
  head_size += put_varint(head + head_size, record_size);
  size_t size = envelope_size + status_size + head_size + record_size;
  unsigned char *frame = lp_reply_frame_space(ctx->reply, size); /* in the output, mostly */
  unsigned char *out = frame + LEERPLEK_FRAME_HEADER_SIZE;
  memcpy(out, envelope, envelope_size);
  memcpy(out += envelope_size, status_bytes, status_size);
  memcpy(out += status_size, head, head_size);
  memcpy(out + head_size, bytes, record_size);
  *frame_size = size + LEERPLEK_FRAME_HEADER_SIZE;
#ifndef NDEBUG
  /* Debug builds (the sanitised tests) check every such reply against protobuf-c's own. */
  size_t expected_size = 0;
  unsigned char *expected = lp_reply_pack(response, &expected_size);
  if (expected_size != *frame_size || memcmp(expected, frame, expected_size) != 0) {
    LP_ERROR("pack_get_reply: the reply differs from protobuf-c's (body %d)", (int)response->body_case);
    abort();
  }
  free(expected);
#endif
  return frame;
}

static unsigned char *error_frame(int code, const char *message, size_t *frame_size) {
  return lp_reply_error_frame(0, code, "", message, frame_size);
}

static void on_oversized(void *arg, lp_conn *conn, size_t size) {
  lp_daemon *daemon = arg;
  lp_reply *reply = lp_reply_open(conn, &daemon->metrics);
  char message[160];
  snprintf(message, sizeof message, "frame of %zu bytes exceeds the limit of %u bytes; closing", size,
           daemon->config.max_frame_bytes);
  lp_reply_fail(reply, CODE(RESOURCE_EXHAUSTED), "", message, true);
}

static void on_refuse(void *arg, lp_conn *conn, int code, const char *message) {
  lp_daemon *daemon = arg;
  lp_conn_stop_reading(conn);
  lp_reply_fail(lp_reply_open(conn, &daemon->metrics), code, "", message, true);
}

static void on_frame(void *arg, lp_conn *conn, const unsigned char *data, size_t size);

lp_frame_handler lp_dispatch_handler(lp_daemon *daemon) {
  return (lp_frame_handler){
      .frame = on_frame, .oversized = on_oversized, .refuse = on_refuse, .error_frame = error_frame, .arg = daemon};
}

static int handle_hello(lp_ctx *ctx, lp_conn *conn, bool *close_after) {
  const Leerplek__V1__HelloRequest *hello = ctx->request->hello;
  uint32_t version = hello->protocol_version;
  if (version < LP_PROTOCOL_MIN || version > LP_PROTOCOL_MAX) {
    *close_after = true;
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "hello.protocol_version",
                   "protocol version %u is not spoken here; this daemon speaks %u..%u", version, LP_PROTOCOL_MIN,
                   LP_PROTOCOL_MAX);
  }
  if (!lp_check_text(ctx, hello->client_name, "hello.client_name", 0, ctx->daemon->config.max_short_text_bytes, false))
    return -1;
  if (ctx->request->token[0] != '\0') {
    char why[160];
    int code = lp_auth_check(&ctx->daemon->state, ctx->request->token, ctx->now, lp_conn_token_memo(conn), &ctx->who,
                             why, sizeof why);
    if (code != 0) return lp_fail(ctx, code, "token", "%s", why);
  }
  const lp_config *config = &ctx->daemon->config;
  Leerplek__V1__Limits *limits = lp_scratch(ctx, sizeof *limits);
  Leerplek__V1__HelloResponse *reply = lp_scratch(ctx, sizeof *reply);
  leerplek__v1__limits__init(limits);
  limits->max_frame_bytes = config->max_frame_bytes;
  limits->max_pending_requests = config->max_pending_requests;
  limits->default_page_size = config->default_page_size;
  limits->max_page_size = config->max_page_size;
  limits->max_id_bytes = config->max_id_bytes;
  limits->max_name_bytes = config->max_name_bytes;
  limits->max_text_bytes = config->max_text_bytes;
  limits->max_recognitions = config->max_recognitions;
  limits->max_preferences = config->max_preferences;
  limits->max_exclusions = config->max_exclusions;
  limits->idle_timeout_s = config->idle_timeout_s;
  limits->max_short_text_bytes = config->max_short_text_bytes;
  limits->max_token_bytes = LP_MAX_TOKEN_BYTES;
  limits->max_training_code_bytes = LP_MAX_TRAINING_CODE_BYTES;
  limits->max_connections = config->max_connections;
  limits->output_high_water_bytes = config->output_high_water_bytes;
  limits->max_seats = LP_MAX_SEATS;
  limits->min_commute_m = LP_MIN_COMMUTE_M;
  limits->max_commute_m = LP_MAX_COMMUTE_M;
  limits->default_rematch_changes = LP_DEFAULT_REMATCH_CHANGES;
  limits->max_rematch_changes = LP_MAX_REMATCH_CHANGES;
  limits->default_report_shortages = LP_DEFAULT_REPORT_SHORTAGES;
  limits->max_report_shortages = LP_MAX_REPORT_SHORTAGES;
  limits->max_connections_per_address = config->max_connections_per_address;
  limits->hello_timeout_ms = config->hello_timeout_ms;
  limits->frame_timeout_ms = config->frame_timeout_ms;
  limits->max_output_total_bytes = config->max_output_total_bytes;
  limits->proposal_answer_seconds = config->proposal_answer_seconds;
  limits->proposal_reminder_seconds = config->proposal_reminder_seconds;
  limits->max_watchers = config->max_watchers;
  leerplek__v1__hello_response__init(reply);
  reply->server_version = (char *)LP_SERVER_VERSION;
  reply->protocol_version = version;
  reply->min_protocol_version = LP_PROTOCOL_MIN;
  reply->max_protocol_version = LP_PROTOCOL_MAX;
  reply->role = (Leerplek__V1__Role)ctx->who.role;
  reply->scope_id = ctx->who.scope_id;
  reply->limits = limits;
  ctx->response->body_case = LEERPLEK__V1__RESPONSE__BODY_HELLO;
  ctx->response->hello = reply;
  if (!lp_conn_greeted(conn)) LP_DEBUG("connection %s: hello from '%s'", lp_conn_peer(conn), hello->client_name);
  lp_conn_set_greeted(conn);
  return 0;
}

/* Whether the frame carried a body field this daemon does not know (a newer client's call):
 * protobuf-c keeps such fields as unknown fields and leaves body unset. */
static bool has_unknown_call(const Leerplek__V1__Request *request) {
  for (unsigned i = 0; i < request->base.n_unknown_fields; i++)
    if (request->base.unknown_fields[i].tag >= 10) return true;
  return false;
}

/* Routes the request; call_name and the reply's metrics row name the call once it is known. */
/* text_checked: every string of the frame is printable ASCII already (unpack_simple_request),
 * which lp_check_request_text would pass. */
static int route_request(lp_ctx *ctx, lp_conn *conn, bool *close_after, const char **call_name, bool text_checked) {
  const Leerplek__V1__Request *request = ctx->request;
  if (request->body_case == LEERPLEK__V1__REQUEST__BODY_HELLO) {
    *call_name = "hello";
    lp_reply_set_row(ctx->reply, ROW_HELLO);
    if (!lp_check_request_text(ctx, ctx->frame, ctx->frame_size)) return -1;
    return handle_hello(ctx, conn, close_after);
  }
  if (!lp_conn_greeted(conn)) {
    *close_after = true;
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "body", "the first call on a connection must be hello");
  }
  if (request->body_case == LEERPLEK__V1__REQUEST__BODY__NOT_SET) {
    if (has_unknown_call(request))
      return lp_fail(ctx, CODE(UNIMPLEMENTED), "body", "this daemon (%s) does not know the call in body",
                     LP_SERVER_VERSION);
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "body", "the request names no call (body is empty)");
  }
  const route *call = find_route(request->body_case);
  if (!call) return lp_fail(ctx, CODE(UNIMPLEMENTED), "body", "this daemon does not know that call");
  *call_name = call->name;
  ctx->call_name = call->name;
  lp_reply_set_row(ctx->reply, 2u + (unsigned)(call - routes));
  /* Text first: a request whose strings are not what its C strings say is judged as sent. */
  if (!text_checked && !lp_check_request_text(ctx, ctx->frame, ctx->frame_size)) return -1;
#ifndef NDEBUG
  if (text_checked && !lp_check_request_text(ctx, ctx->frame, ctx->frame_size)) {
    LP_ERROR("route_request: printable ASCII text failed lp_check_request_text: %s", ctx->message);
    abort();
  }
#endif
  if (ctx->daemon->stopping) return lp_fail(ctx, CODE(UNAVAILABLE), "", "the daemon is shutting down");
  if (!lp_store_loaded(ctx->daemon->store))
    return lp_fail(ctx, CODE(UNAVAILABLE), "", "the daemon is starting (state not loaded yet)");
  char why[160];
  int code = lp_auth_check(&ctx->daemon->state, request->token, ctx->now, lp_conn_token_memo(conn), &ctx->who, why,
                           sizeof why);
  if (code != 0) return lp_fail(ctx, code, "token", "%s", why);
  if (!(call->roles & ROLE_BIT(ctx->who.role))) {
    lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "body", "role %s may not call %s", ctx->actor, call->name);
  }
  if (!call->handler)
    return lp_fail(ctx, CODE(UNIMPLEMENTED), "body",
                   "%s is not implemented yet in %s (it comes with the matcher integration)", call->name,
                   LP_SERVER_VERSION);
  return call->handler(ctx);
}

/* ---- unpacking a simple request without protobuf-c ------------------------------------ */

/* Reads a base-128 varint at *at (at most 10 bytes); false when the bytes end first. */
static bool read_varint(const uint8_t *data, size_t size, size_t *at, uint64_t *value) {
  *value = 0;
  for (unsigned shift = 0; shift < 70 && *at < size; shift += 7) {
    uint8_t byte = data[(*at)++];
    *value |= (uint64_t)(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

/* A length-delimited value at *at: its bytes and length; false when it runs past the end. */
static bool read_bytes(const uint8_t *data, size_t size, size_t *at, const uint8_t **bytes, size_t *length) {
  uint64_t value = 0;
  if (!read_varint(data, size, at, &value) || value > size - *at) return false;
  *bytes = data + *at;
  *length = (size_t)value;
  *at += (size_t)value;
  return true;
}

/* As protobuf-c stores a string: the bytes, then a NUL (one sent inside cuts the C string short,
 * which lp_check_request_text refuses anyway). *printable stays true while every byte is
 * printable ASCII (text lp_check_request_text would pass). */
static char *pool_string(lp_pool *pool, const uint8_t *bytes, size_t length, bool *printable) {
  char *text = lp_pool_alloc_raw(pool, length + 1);
  memcpy(text, bytes, length);
  text[length] = '\0';
  /* Eight bytes at a time (byte by byte this check was a fifth of a pipelined get's
   * instructions): a byte below 0x20 or above 0x7E sets the high bit of its lane in one of
   * the two exact tests, the rest byte by byte. */
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  uint64_t outside = 0;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    memcpy(&word, bytes + i, 8);
    outside |= ((word - ones * 0x20) & ~word) | ((word + ones * (127 - 0x7E)) | word);
  }
  if (i < length && length >= 8) { /* the last (overlapping) eight bytes hold the rest */
    uint64_t word;
    memcpy(&word, bytes + length - 8, 8);
    outside |= ((word - ones * 0x20) & ~word) | ((word + ones * (127 - 0x7E)) | word);
    i = length;
  }
  outside &= highs;
  for (; i < length; i++) outside |= (uint64_t)(bytes[i] < 0x20) | (uint64_t)(bytes[i] > 0x7E);
  if (outside) *printable = false;
  return text;
}

/* Whether message is a call made of singular strings only (the get calls: get_pupil's school_id
 * and pupil_ref...), the shape unpack_simple_request knows. */
static bool only_strings(const ProtobufCMessageDescriptor *message) {
  if (message->n_fields > 8) return false;
  for (unsigned i = 0; i < message->n_fields; i++)
    if (message->fields[i].type != PROTOBUF_C_TYPE_STRING || message->fields[i].label != PROTOBUF_C_LABEL_NONE)
      return false;
  return true;
}

/* Unpacks a Request of request_id, token and one call made of strings only, each field at most
 * once, into pool; NULL for anything else (protobuf-c unpacks that), so the result is what
 * protobuf-c would give (debug builds check it); *printable as pool_string says. protobuf-c's unpack of a Request costs
 * more than the rest of a get call: it initialises and scans all of Request's hundred fields. */
static Leerplek__V1__Request *unpack_simple_request(lp_pool *pool, const uint8_t *data, size_t size, bool *printable) {
  const ProtobufCMessageDescriptor *descriptor = &leerplek__v1__request__descriptor;
  Leerplek__V1__Request *request = lp_pool_alloc_raw(pool, sizeof *request);
  leerplek__v1__request__init(request);
  bool seen_id = false, seen_token = false;
  for (size_t at = 0; at < size;) {
    uint64_t key = 0;
    if (!read_varint(data, size, &at, &key)) return NULL;
    uint64_t number = key >> 3;
    unsigned wire_type = (unsigned)(key & 7);
    if (number == 1 && wire_type == 0 && !seen_id) {
      if (!read_varint(data, size, &at, &request->request_id)) return NULL;
      seen_id = true;
      continue;
    }
    const uint8_t *bytes;
    size_t length;
    if (wire_type != 2 || !read_bytes(data, size, &at, &bytes, &length)) return NULL;
    if (number == 2 && !seen_token) {
      request->token = pool_string(pool, bytes, length, printable);
      seen_token = true;
      continue;
    }
    const ProtobufCFieldDescriptor *field = envelope_field(descriptor, number);
    if (!field || request->body_case != LEERPLEK__V1__REQUEST__BODY__NOT_SET ||
        field->type != PROTOBUF_C_TYPE_MESSAGE || !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
        !only_strings(field->descriptor))
      return NULL;
    const ProtobufCMessageDescriptor *call = field->descriptor;
    ProtobufCMessage *body = lp_pool_alloc_raw(pool, call->sizeof_message);
    protobuf_c_message_init(call, body);
    unsigned seen = 0;
    for (size_t inner = 0; inner < length;) {
      uint64_t inner_key = 0;
      const uint8_t *text;
      size_t text_length;
      if (!read_varint(bytes, length, &inner, &inner_key) || (inner_key & 7) != 2 || inner_key >> 3 > 0xFFFF)
        return NULL;
      const ProtobufCFieldDescriptor *string =
          protobuf_c_message_descriptor_get_field(call, (unsigned)(inner_key >> 3));
      if (!string || !read_bytes(bytes, length, &inner, &text, &text_length)) return NULL;
      unsigned bit = 1u << (unsigned)(string - call->fields);
      if (seen & bit) return NULL;
      seen |= bit;
      *(char **)((char *)body + string->offset) = pool_string(pool, text, text_length, printable);
    }
    *(uint32_t *)((char *)request + field->quantifier_offset) = field->id;
    *(ProtobufCMessage **)((char *)request + field->offset) = body;
  }
#ifndef NDEBUG
  /* Debug builds (the sanitised tests) check it against protobuf-c's own unpack. */
  Leerplek__V1__Request *expected = leerplek__v1__request__unpack(&lp_protobuf_allocator, size, data);
  size_t expected_size = expected ? protobuf_c_message_get_packed_size(&expected->base) : 0;
  size_t got_size = protobuf_c_message_get_packed_size(&request->base);
  unsigned char *expected_bytes = lp_malloc(expected_size + 1), *got_bytes = lp_malloc(got_size + 1);
  if (expected) protobuf_c_message_pack(&expected->base, expected_bytes);
  protobuf_c_message_pack(&request->base, got_bytes);
  if (!expected || expected_size != got_size || memcmp(expected_bytes, got_bytes, got_size) != 0) {
    LP_ERROR("unpack_simple_request: the request differs from protobuf-c's (body %d)", (int)request->body_case);
    abort();
  }
  free(expected_bytes);
  free(got_bytes);
  leerplek__v1__request__free_unpacked(expected, &lp_protobuf_allocator);
#endif
  return request;
}

/* The pool of the call being handled: its first chunk is kept from call to call, so a get
 * call unpacks its request and builds its reply without a malloc. Dispatch runs on the loop
 * only; call_pool_busy guards against a frame handled while another is. */
static lp_pool call_pool;
static bool call_pool_busy;

/* Ends a call's pool: the shared one (shared: it was taken from call_pool) is reset and kept,
 * any other freed. */
static void give_back_pool(lp_pool *pool, bool shared) {
  if (!shared) {
    lp_pool_free(pool);
    return;
  }
  lp_pool_reset(pool);
  call_pool = *pool;
  call_pool_busy = false;
}

/* A zeroed ctx but for its failure texts, field and message, which only need to be empty
 * strings until lp_fail writes them: zeroing all of a ctx (above a kilobyte) per call was the
 * largest single cost left in a get. */
static void clear_ctx(lp_ctx *ctx) {
  _Static_assert(offsetof(lp_ctx, message) == offsetof(lp_ctx, field) + sizeof ctx->field,
                 "field and message side by side");
  size_t texts = offsetof(lp_ctx, field), after = offsetof(lp_ctx, message) + sizeof ctx->message;
  memset(ctx, 0, texts);
  ctx->field[0] = '\0';
  ctx->message[0] = '\0';
  memset((char *)ctx + after, 0, sizeof *ctx - after);
}

static void on_frame(void *arg, lp_conn *conn, const unsigned char *data, size_t size) {
  lp_daemon *daemon = arg;
  lp_reply *reply = lp_reply_open(conn, &daemon->metrics);
  /* The request and the call's scratch memory share one pool, reused from call to call (see
   * call_pool); a frame handled inside another (never today) gets a pool of its own. */
  lp_ctx ctx;
  clear_ctx(&ctx);
  bool shared = !call_pool_busy;
  if (shared) {
    ctx.scratch = call_pool;
    call_pool_busy = true;
  }
  bool text_checked = true;
  Leerplek__V1__Request *request = unpack_simple_request(&ctx.scratch, data, size, &text_checked);
  if (!request) { /* what it left in the pool goes with the pool */
    text_checked = false;
    ProtobufCAllocator allocator = lp_pool_protobuf_allocator(&ctx.scratch);
    request = leerplek__v1__request__unpack(&allocator, size, data);
  }
  if (!request) {
    /* protobuf-c says only "NULL"; the frame's size is all we can add. */
    char message[160];
    snprintf(message, sizeof message, "frame of %zu bytes does not parse as a leerplek.v1.Request", size);
    lp_reply_fail(reply, CODE(INVALID_ARGUMENT), "", message, !lp_conn_greeted(conn));
    give_back_pool(&ctx.scratch, shared);
    return;
  }
  lp_reply_set_request_id(reply, request->request_id);
  if (lp_conn_watching(conn)) {
    lp_reply_fail(reply, CODE(FAILED_PRECONDITION), "body",
                  "this connection is watching (watch): it takes no other calls; open another connection", true);
    give_back_pool(&ctx.scratch, shared);
    return;
  }

  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  Leerplek__V1__Status ok_status = LEERPLEK__V1__STATUS__INIT;
  response.request_id = request->request_id;
  response.status = &ok_status;
  ctx.daemon = daemon;
  ctx.request = request;
  ctx.frame = data;
  ctx.frame_size = size;
  ctx.response = &response;
  ctx.now = (long long)time(NULL);
  ctx.reply = reply;

  bool close_after = false;
  const char *call_name = "?";
  int rc = route_request(&ctx, conn, &close_after, &call_name, text_checked);
  if (rc == 0) {
    size_t frame_size = 0;
    if (ctx.pending) { /* sent to Redis: the reply leaves when EXEC is confirmed (lp_reply_on_commit) */
      unsigned char *frame = lp_reply_pack(&response, &frame_size);
      lp_reply_hold(reply, frame, frame_size);
    } else {
      unsigned char *frame = pack_get_reply(&ctx, &response, &frame_size);
      if (frame)
        lp_reply_send_space(reply, frame, frame_size);
      else
        lp_reply_send_response(reply, &response);
    }
  } else {
    LP_DEBUG("connection %s: %s refused: %s (%s)", lp_conn_peer(conn), call_name, ctx.message, ctx.field);
    lp_reply_fail(reply, ctx.code, ctx.field, ctx.message, close_after);
  }
  /* The request lives in the pool too: one reset frees both, no free_unpacked walk. */
  give_back_pool(&ctx.scratch, shared);
}
