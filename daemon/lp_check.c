/* lp_check: the helpers every handler shares: failing with a status, scratch memory, the
 * reply's body, beginning and committing a change set, and the input checks of the proto's
 * CONVENTIONS (ids, UTF-8 text, day masks, points, dates, revisions, paging, a school's scope). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_reply.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

#define INVALID LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT

int lp_fail(lp_ctx *ctx, int code, const char *field, const char *format, ...) {
  ctx->code = code;
  snprintf(ctx->field, sizeof ctx->field, "%s", field ? field : "");
  va_list args;
  va_start(args, format);
  vsnprintf(ctx->message, sizeof ctx->message, format, args);
  va_end(args);
  return -1;
}

void *lp_scratch(lp_ctx *ctx, size_t size) { return lp_pool_alloc(&ctx->scratch, size); }

char *lp_scratch_strdup(lp_ctx *ctx, const char *text) { return lp_pool_strdup(&ctx->scratch, text); }

void lp_scratch_free(lp_ctx *ctx) { lp_pool_free(&ctx->scratch); }

/* The Response field that carries a body of type body: the one numbered as the request's call
 * (Request and Response number their calls alike), else the one of that type. */
static const ProtobufCFieldDescriptor *body_field(const lp_ctx *ctx, const ProtobufCMessageDescriptor *body) {
  const ProtobufCMessageDescriptor *response = &leerplek__v1__response__descriptor;
  const ProtobufCFieldDescriptor *field =
      ctx->request ? protobuf_c_message_descriptor_get_field(response, (unsigned)ctx->request->body_case) : NULL;
  if (field && field->descriptor == body) return field;
  for (unsigned i = 0; i < response->n_fields; i++)
    if (response->fields[i].descriptor == body) return &response->fields[i];
  return NULL;
}

void *lp_reply_body(lp_ctx *ctx, const ProtobufCMessageDescriptor *body) {
  const ProtobufCFieldDescriptor *field = body_field(ctx, body);
  /* Every body type is one field of the Response oneof: anything else is a caller's bug. */
  assert(field && (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF));
  if (!field) abort();
  ProtobufCMessage *message = lp_scratch(ctx, body->sizeof_message);
  protobuf_c_message_init(body, message);
  ctx->response->body_case = (Leerplek__V1__Response__BodyCase)field->id;
  *(ProtobufCMessage **)((char *)ctx->response + field->offset) = message;
  return message;
}

lp_change *lp_begin(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key) {
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  return lp_change_begin(ctx->daemon, op, kind, key, ctx->actor, ctx->call_name);
}

int lp_commit(lp_ctx *ctx, lp_change *change) {
  assert(ctx->reply && !ctx->pending); /* a call from dispatch, one write per call */
  if (lp_change_commit(change, lp_reply_on_commit, ctx->reply) != 0)
    return lp_fail(ctx, CODE(UNAVAILABLE), "",
                   lp_store_reloading(ctx->daemon->store)
                       ? "the store is reloading the state after a lost link (reads are answered meanwhile); "
                         "nothing was changed, retry"
                       : "the store is unavailable (reconnecting); nothing was changed, retry");
  ctx->pending = true;
  return 0;
}

int lp_store_record(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key, void *record) {
  return lp_store_record_detail(ctx, op, kind, key, record, NULL);
}

int lp_store_record_detail(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key, void *record,
                           const lp_event_detail *detail) {
  lp_change *change = lp_begin(ctx, op, kind, key);
  lp_change_detail(change, detail);
  lp_change_put(change, kind, key, record);
  return lp_commit(ctx, change);
}

static bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* The bytes an id may hold (A-Z a-z 0-9 . _ -) as a bitmap of the 128 ASCII codes: every get
 * checks one or two ids, and four comparisons per byte were a visible part of its cost. */
static bool id_byte(unsigned char c) {
  static const uint64_t allowed[2] = {0x03FF600000000000u, 0x07FFFFFE87FFFFFEu};
  return c < 128 && (allowed[c >> 6] >> (c & 63)) & 1;
}

bool lp_check_id(lp_ctx *ctx, const char *value, const char *field) {
  size_t length = strlen(value);
  uint32_t max = ctx->daemon->config.max_id_bytes;
  if (length == 0) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > max) return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most %u", field, length, max), false;
  if (!is_alnum(value[0])) return lp_fail(ctx, INVALID, field, "%s must start with a letter or digit", field), false;
  for (size_t i = 0; i < length; i++)
    if (!id_byte((unsigned char)value[i]))
      return lp_fail(ctx, INVALID, field, "%s may hold only A-Z a-z 0-9 . _ - (byte %zu is not)", field, i), false;
  return true;
}

bool lp_check_training_code(lp_ctx *ctx, const char *value, const char *field) {
  size_t length = strlen(value);
  if (length == 0) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > LP_MAX_TRAINING_CODE_BYTES)
    return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most %d", field, length, LP_MAX_TRAINING_CODE_BYTES),
           false;
  for (size_t i = 0; i < length; i++) {
    char c = value[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return lp_fail(ctx, INVALID, field, "%s may hold only upper-case A-Z, 0-9 and - (byte %zu is not)", field, i),
             false;
  }
  return true;
}

bool lp_check_company_id(lp_ctx *ctx, const char *value, const char *field) {
  size_t length = strlen(value);
  bool digits = length == 10;
  for (size_t i = 0; digits && i < length; i++) digits = value[i] >= '0' && value[i] <= '9';
  if (!digits)
    return lp_fail(ctx, INVALID, field, "%s must be an enterprise number of exactly 10 digits", field), false;
  return true;
}

bool lp_check_postcode(lp_ctx *ctx, const char *value, const char *field) {
  bool ok = strlen(value) == 4;
  for (size_t i = 0; ok && i < 4; i++) ok = value[i] >= '0' && value[i] <= '9';
  if (!ok) return lp_fail(ctx, INVALID, field, "%s must be exactly 4 digits", field), false;
  return true;
}

/* Length of the UTF-8 sequence at text (0 if invalid): shortest forms only, no surrogates,
 * nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *text, size_t remaining, uint32_t *code_point) {
  unsigned char lead = text[0];
  size_t length;
  uint32_t value, minimum;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (remaining < length) return 0;
  for (size_t i = 1; i < length; i++) {
    if ((text[i] & 0xC0) != 0x80) return 0;
    value = (value << 6) | (text[i] & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *code_point = value;
  return length;
}

/* The proto's rule for text: UTF-8, no control characters (U+0000..U+001F, U+007F), newlines
 * only where allowed. Bytes, not a C string, so an embedded NUL is seen too. */
static bool check_text_bytes(lp_ctx *ctx, const unsigned char *bytes, size_t length, const char *field,
                             bool allow_newlines) {
  for (size_t i = 0; i < length;) {
    if (bytes[i] >= 0x20 && bytes[i] < 0x7F) { /* printable ASCII: nearly every byte of every request */
      i++;
      continue;
    }
    uint32_t code_point = 0;
    size_t step = utf8_sequence(bytes + i, length - i, &code_point);
    if (step == 0) return lp_fail(ctx, INVALID, field, "%s is not valid UTF-8 (at byte %zu)", field, i), false;
    if ((code_point < 0x20 && !(allow_newlines && code_point == '\n')) || code_point == 0x7F)
      return lp_fail(ctx, INVALID, field, "%s contains a control character (U+%04X) at byte %zu", field,
                     (unsigned)code_point, i),
             false;
    i += step;
  }
  return true;
}

bool lp_check_text(lp_ctx *ctx, const char *value, const char *field, size_t min, size_t max, bool allow_newlines) {
  size_t length = strlen(value);
  if (length < min) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > max) return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most %zu", field, length, max), false;
  return check_text_bytes(ctx, (const unsigned char *)value, length, field, allow_newlines);
}

/* The string fields whose proto comment allows newlines (free-text notes and reasons). */
static bool allows_newlines(const ProtobufCMessageDescriptor *message, const ProtobufCFieldDescriptor *field) {
  static const struct {
    const ProtobufCMessageDescriptor *message;
    const char *field;
  } multiline[] = {
      {&leerplek__v1__pupil__descriptor, "school_notes"},
      {&leerplek__v1__decline_proposal_request__descriptor, "reason"},
      {&leerplek__v1__withdraw_placement_request__descriptor, "reason"},
  };
  for (size_t i = 0; i < sizeof multiline / sizeof multiline[0]; i++)
    if (multiline[i].message == message && strcmp(multiline[i].field, field->name) == 0) return true;
  return false;
}

/* Reads a base-128 varint at *at; false when the bytes end first or it runs past 10 bytes. */
static bool read_varint(const uint8_t *data, size_t size, size_t *at, uint64_t *value) {
  *value = 0;
  for (unsigned shift = 0; shift < 70 && *at < size; shift += 7) {
    uint8_t byte = data[(*at)++];
    *value |= (uint64_t)(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

/* Appends ".name" (no dot at the start) and "[index]" when index >= 0 to the field path at
 * length, NUL-terminated; the bytes added, 0 (and nothing added) when they do not fit. Every
 * string of every request passes here, so no snprintf. */
static size_t append_path(char *path, size_t length, size_t size, const char *name, int index) {
  char digits[12];
  size_t digit_count = 0;
  if (index >= 0) {
    unsigned value = (unsigned)index;
    do digits[digit_count++] = (char)('0' + value % 10), value /= 10;
    while (value);
  }
  size_t name_length = strlen(name), dot = length ? 1 : 0;
  size_t added = dot + name_length + (index >= 0 ? digit_count + 2 : 0);
  if (added >= size - length) {
    path[length] = '\0';
    return 0;
  }
  char *out = path + length;
  if (dot) *out++ = '.';
  memcpy(out, name, name_length);
  out += name_length;
  if (index >= 0) {
    *out++ = '[';
    while (digit_count) *out++ = digits[--digit_count];
    *out++ = ']';
  }
  *out = '\0';
  return added;
}

/* Walks one message's wire bytes with its descriptor, checking every string field (nested ones
 * too) as it was sent: protobuf-c hands strings over NUL-terminated, so a field holding
 * "abc\0def" would otherwise be seen, checked and stored as "abc". path is the field path so
 * far ("" for the Request), extended in place as the walk goes down. */
static bool check_wire(lp_ctx *ctx, const ProtobufCMessageDescriptor *message, const uint8_t *data, size_t size,
                       char *path, size_t path_length, size_t path_size) {
  unsigned occurrences[64] = {0}; /* per field, to name repeated strings "[i]" */
  for (size_t at = 0; at < size;) {
    uint64_t key = 0, length = 0, skipped = 0;
    if (!read_varint(data, size, &at, &key)) return true; /* protobuf-c parsed it; nothing to add */
    unsigned wire_type = (unsigned)(key & 7);
    switch (wire_type) {
    case 0:
      if (!read_varint(data, size, &at, &skipped)) return true;
      continue;
    case 1: at += 8; continue;
    case 5: at += 4; continue;
    case 2:
      if (!read_varint(data, size, &at, &length) || length > size - at) return true;
      break;
    default: return true;
    }
    const uint8_t *value = data + at;
    at += (size_t)length;
    const ProtobufCFieldDescriptor *field = protobuf_c_message_descriptor_get_field(message, (unsigned)(key >> 3));
    if (!field || (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)) continue;
    size_t index = (size_t)(field - message->fields);
    unsigned occurrence = index < 64 ? occurrences[index]++ : 0;
    size_t written = append_path(path, path_length, path_size, field->name,
                                 field->label == PROTOBUF_C_LABEL_REPEATED ? (int)occurrence : -1);
    bool ok = field->type == PROTOBUF_C_TYPE_STRING
                  ? check_text_bytes(ctx, value, (size_t)length, path, allows_newlines(message, field))
                  : check_wire(ctx, field->descriptor, value, (size_t)length, path, path_length + written, path_size);
    path[path_length] = '\0';
    if (!ok) return false;
  }
  return true;
}

bool lp_check_request_text(lp_ctx *ctx, const uint8_t *frame, size_t size) {
  char path[160] = "";
  return check_wire(ctx, &leerplek__v1__request__descriptor, frame, size, path, 0, sizeof path);
}

bool lp_check_day_mask(lp_ctx *ctx, uint32_t mask, const char *field) {
  if (mask == 0) return lp_fail(ctx, INVALID, field, "%s must name at least one day", field), false;
  if (mask >> 14)
    return lp_fail(ctx, INVALID, field, "%s uses bits above 13 (0x%x); days are bits 0..13", field, mask), false;
  return true;
}

bool lp_check_training_list(lp_ctx *ctx, char *const *codes, size_t count, size_t max, const char *field) {
  if (count > max)
    return lp_fail(ctx, INVALID, field, "%s may list at most %zu trainings, not %zu", field, max, count), false;
  for (size_t i = 0; i < count; i++) {
    char item[192];
    snprintf(item, sizeof item, "%s[%zu]", field, i);
    if (!lp_check_training_code(ctx, codes[i], item)) return false;
    if (!lp_state_get(&ctx->daemon->state, LP_KIND_TRAINING, codes[i]))
      return lp_fail(ctx, INVALID, item, "no training %s", codes[i]), false;
    for (size_t j = 0; j < i; j++)
      if (strcmp(codes[j], codes[i]) == 0) return lp_fail(ctx, INVALID, item, "%s is listed twice", codes[i]), false;
  }
  return true;
}

bool lp_check_point(lp_ctx *ctx, const Leerplek__V1__GeoPoint *point, const char *field) {
  if (!point) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  char part[192];
  if (point->lat_e6 < -90000000 || point->lat_e6 > 90000000) {
    snprintf(part, sizeof part, "%s.lat_e6", field);
    return lp_fail(ctx, INVALID, part, "%s must be between -90000000 and 90000000", part), false;
  }
  if (point->lon_e6 < -180000000 || point->lon_e6 > 180000000) {
    snprintf(part, sizeof part, "%s.lon_e6", field);
    return lp_fail(ctx, INVALID, part, "%s must be between -180000000 and 180000000", part), false;
  }
  return true;
}

bool lp_check_date(lp_ctx *ctx, const Leerplek__V1__Date *date, const char *field) {
  static const int month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!date) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (date->year < 2000 || date->year > 2100)
    return lp_fail(ctx, INVALID, field, "%s.year must be between 2000 and 2100", field), false;
  if (date->month < 1 || date->month > 12)
    return lp_fail(ctx, INVALID, field, "%s.month must be between 1 and 12", field), false;
  bool leap = (date->year % 4 == 0 && date->year % 100 != 0) || date->year % 400 == 0;
  int days = date->month == 2 && !leap ? 28 : month_days[date->month - 1];
  if (date->day < 1 || date->day > days)
    return lp_fail(ctx, INVALID, field, "%s.day must be between 1 and %d for that month", field, days), false;
  return true;
}

bool lp_check_revision(lp_ctx *ctx, uint64_t expected, uint64_t stored, const char *field) {
  if (expected != 0 && expected != stored)
    return lp_fail(ctx, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_ABORTED, field,
                   "%s is %llu but the stored revision is %llu; re-read and retry", field, (unsigned long long)expected,
                   (unsigned long long)stored),
           false;
  return true;
}

uint32_t lp_page_size(const lp_ctx *ctx, uint32_t requested) {
  const lp_config *config = &ctx->daemon->config;
  if (requested == 0) return config->default_page_size;
  return requested > config->max_page_size ? config->max_page_size : requested;
}

/* Feeds the request's wire bytes into the digest, leaving out page_size and page_token: what is
 * left are the filters a page token is bound to (any filter field, present or future). */
static void digest_filters(EVP_MD_CTX *digest, const ProtobufCMessage *request) {
  size_t size = protobuf_c_message_get_packed_size(request);
  uint8_t *bytes = lp_malloc(size);
  protobuf_c_message_pack(request, bytes);
  for (size_t at = 0; at < size;) {
    size_t field_start = at;
    uint64_t key = 0, value = 0;
    if (!read_varint(bytes, size, &at, &key)) break;
    switch (key & 7) {
    case 0: read_varint(bytes, size, &at, &value); break;
    case 1: at += 8; break;
    case 5: at += 4; break;
    case 2:
      if (read_varint(bytes, size, &at, &value) && value <= size - at)
        at += (size_t)value;
      else
        at = size;
      break;
    default: at = size;
    }
    if (at > size) at = size;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(request->descriptor, (unsigned)(key >> 3));
    if (field && (strcmp(field->name, "page_size") == 0 || strcmp(field->name, "page_token") == 0)) continue;
    EVP_DigestUpdate(digest, bytes + field_start, at - field_start);
  }
  free(bytes);
}

/* The 8-byte tag that binds a page token to its call, the caller's role and scope, the filters
 * and the last key, as 16 hex digits. */
static void page_tag(const lp_ctx *ctx, const char *call, const ProtobufCMessage *request, const char *last_key,
                     char tag[17]) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  char role[16];
  snprintf(role, sizeof role, "%d", ctx->who.role);
  EVP_MD_CTX *digest = EVP_MD_CTX_new();
  if (!digest) abort(); /* only when out of memory: the policy of lp_alloc.h */
  EVP_DigestInit_ex(digest, EVP_sha256(), NULL);
  const char *parts[] = {"leerplek page token 1", call, role, ctx->who.scope_id};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) EVP_DigestUpdate(digest, parts[i], strlen(parts[i]) + 1);
  digest_filters(digest, request);
  EVP_DigestUpdate(digest, "", 1);
  EVP_DigestUpdate(digest, last_key, strlen(last_key));
  EVP_DigestFinal_ex(digest, hash, &hash_size);
  EVP_MD_CTX_free(digest);
  for (int i = 0; i < 8; i++) snprintf(tag + 2 * i, 3, "%02x", hash[i]);
}

char *lp_page_token_make(lp_ctx *ctx, const char *call, const ProtobufCMessage *request, const char *last_key) {
  size_t length = strlen(last_key);
  char *token = lp_scratch(ctx, 16 + 2 * length + 1);
  page_tag(ctx, call, request, last_key, token);
  for (size_t i = 0; i < length; i++) snprintf(token + 16 + 2 * i, 3, "%02x", (unsigned char)last_key[i]);
  return token;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool lp_page_token_read(lp_ctx *ctx, const char *call, const ProtobufCMessage *request, const char *page_token,
                        char last_key[LP_MAX_KEY]) {
  last_key[0] = '\0';
  if (page_token[0] == '\0') return true;
  char field[96];
  snprintf(field, sizeof field, "%s.page_token", call);
  size_t length = strlen(page_token);
  bool ok = length > 16 && length % 2 == 0 && (length - 16) / 2 < LP_MAX_KEY;
  for (size_t i = 0; ok && i < (length - 16) / 2; i++) {
    int high = hex_digit(page_token[16 + 2 * i]), low = hex_digit(page_token[17 + 2 * i]);
    ok = high >= 0 && low >= 0 && (high || low);
    last_key[i] = (char)(high * 16 + low);
    last_key[i + 1] = '\0';
  }
  char tag[17];
  if (ok) page_tag(ctx, call, request, last_key, tag);
  if (!ok || memcmp(tag, page_token, 16) != 0) {
    last_key[0] = '\0';
    return lp_fail(ctx, INVALID, field,
                   "%s is not a page token of this list with these filters (pass next_page_token back unchanged, "
                   "with the same filters; empty for the first page)",
                   field),
           false;
  }
  return true;
}

void lp_concat(char *out, size_t size, const char *first, const char *second, const char *third) {
  if (size == 0) return;
  size_t used = 0;
  const char *parts[3] = {first, second, third};
  for (int i = 0; i < 3; i++) {
    size_t length = strlen(parts[i]);
    if (length > size - 1 - used) length = size - 1 - used;
    memcpy(out + used, parts[i], length);
    used += length;
  }
  out[used] = '\0';
}

void lp_pupil_key(const char *school_id, const char *ref, char key[LP_MAX_KEY]) {
  lp_concat(key, LP_MAX_KEY, school_id, "/", ref);
}

bool lp_is_school(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_SCHOOL; }
bool lp_is_company(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_COMPANY; }
bool lp_is_coordinator(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_COORDINATOR; }
bool lp_is_support(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_SUPPORT; }

bool lp_resolve_school(lp_ctx *ctx, const char *school_id, const char *field, const char **school) {
  if (lp_is_school(ctx)) {
    if (school_id[0] != '\0' && strcmp(school_id, ctx->who.scope_id) != 0)
      return lp_fail(ctx, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_NOT_FOUND, field, "no such pupil for this school"),
             false;
    *school = ctx->who.scope_id;
    return true;
  }
  if (!lp_check_id(ctx, school_id, field)) return false;
  *school = school_id;
  return true;
}

int lp_list_page(lp_ctx *ctx, enum lp_kind kind, const ProtobufCMessage *request, uint32_t page_size,
                 const char *page_token, const char *call, lp_list_filter *filter, const void *arg, void ***items,
                 size_t *item_count, char **next_page_token, uint32_t *total_size) {
  const lp_map *map = &ctx->daemon->state.maps[kind];
  char after[LP_MAX_KEY];
  if (!lp_page_token_read(ctx, call, request, page_token, after)) return -1;
  size_t start = lp_map_after(map, after);
  uint32_t limit = lp_page_size(ctx, page_size);
  void **page = lp_scratch(ctx, (size_t)limit * sizeof *page);
  size_t count = 0;
  uint32_t total = 0;
  const char *last_key = NULL;
  bool more = false;
  for (size_t i = 0; i < map->count; i++) {
    const void *value = map->entries[i].value;
    if (filter && !filter(ctx, value, arg)) continue;
    total++;
    if (i < start) continue;
    if (count < limit) {
      page[count++] = (void *)value;
      last_key = map->entries[i].key;
    } else {
      more = true;
    }
  }
  *items = page;
  *item_count = count;
  *total_size = total;
  *next_page_token = more && last_key ? lp_page_token_make(ctx, call, request, last_key) : lp_scratch_strdup(ctx, "");
  return 0;
}
