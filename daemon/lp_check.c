/* lp_check: the helpers every handler shares: failing with a status, scratch memory, message
 * copies, and the input checks of the proto's CONVENTIONS (ids, UTF-8 text, day masks, points,
 * dates, revisions, paging, a school's scope). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_handlers.h"

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

void *lp_scratch(lp_ctx *ctx, size_t size) {
  if (ctx->scratch_count == ctx->scratch_capacity) {
    size_t capacity = ctx->scratch_capacity ? ctx->scratch_capacity * 2 : 16;
    void **grown = realloc(ctx->scratch, capacity * sizeof *grown);
    if (!grown) return NULL;
    ctx->scratch = grown;
    ctx->scratch_capacity = capacity;
  }
  void *block = calloc(1, size ? size : 1);
  if (block) ctx->scratch[ctx->scratch_count++] = block;
  return block;
}

char *lp_scratch_strdup(lp_ctx *ctx, const char *text) {
  size_t size = strlen(text) + 1;
  char *copy = lp_scratch(ctx, size);
  if (copy) memcpy(copy, text, size);
  return copy;
}

void lp_scratch_free(lp_ctx *ctx) {
  for (size_t i = 0; i < ctx->scratch_count; i++) free(ctx->scratch[i]);
  free(ctx->scratch);
  ctx->scratch = NULL;
  ctx->scratch_count = ctx->scratch_capacity = 0;
}

void *lp_clone(const void *message) {
  const ProtobufCMessage *original = message;
  size_t size = protobuf_c_message_get_packed_size(original);
  uint8_t *bytes = malloc(size ? size : 1);
  if (!bytes) return NULL;
  protobuf_c_message_pack(original, bytes);
  ProtobufCMessage *copy = protobuf_c_message_unpack(original->descriptor, NULL, size, bytes);
  free(bytes);
  return copy;
}

int lp_set_string(char **field, const char *value) {
  char *copy = strdup(value);
  if (!copy) return -1;
  /* protobuf-c's unpacked messages may point empty strings at its shared empty string. */
  if (*field && *field != protobuf_c_empty_string) free(*field);
  *field = copy;
  return 0;
}

static bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool lp_check_id(lp_ctx *ctx, const char *value, const char *field) {
  size_t length = strlen(value);
  uint32_t max = ctx->daemon->config.max_id_bytes;
  if (length == 0) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > max) return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most %u", field, length, max), false;
  if (!is_alnum(value[0]))
    return lp_fail(ctx, INVALID, field, "%s must start with a letter or digit", field), false;
  for (size_t i = 0; i < length; i++)
    if (!is_alnum(value[i]) && value[i] != '.' && value[i] != '_' && value[i] != '-')
      return lp_fail(ctx, INVALID, field, "%s may hold only A-Z a-z 0-9 . _ - (byte %zu is not)", field, i), false;
  return true;
}

bool lp_check_training_code(lp_ctx *ctx, const char *value, const char *field) {
  size_t length = strlen(value);
  if (length == 0) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > 32) return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most 32", field, length), false;
  for (size_t i = 0; i < length; i++) {
    char c = value[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return lp_fail(ctx, INVALID, field, "%s may hold only upper-case A-Z, 0-9 and - (byte %zu is not)", field, i), false;
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

bool lp_check_text(lp_ctx *ctx, const char *value, const char *field, size_t min, size_t max,
                   bool allow_newlines) {
  size_t length = strlen(value);
  if (length < min) return lp_fail(ctx, INVALID, field, "%s is required", field), false;
  if (length > max) return lp_fail(ctx, INVALID, field, "%s is %zu bytes; at most %zu", field, length, max), false;
  const unsigned char *bytes = (const unsigned char *)value;
  for (size_t i = 0; i < length;) {
    uint32_t code_point = 0;
    size_t step = utf8_sequence(bytes + i, length - i, &code_point);
    if (step == 0) return lp_fail(ctx, INVALID, field, "%s is not valid UTF-8 (at byte %zu)", field, i), false;
    if ((code_point < 0x20 && !(allow_newlines && code_point == '\n')) || code_point == 0x7F)
      return lp_fail(ctx, INVALID, field, "%s contains a control character at byte %zu", field, i), false;
    i += step;
  }
  return true;
}

bool lp_check_day_mask(lp_ctx *ctx, uint32_t mask, const char *field) {
  if (mask == 0) return lp_fail(ctx, INVALID, field, "%s must name at least one day", field), false;
  if (mask >> 14)
    return lp_fail(ctx, INVALID, field, "%s uses bits above 13 (0x%x); days are bits 0..13", field, mask), false;
  return true;
}

bool lp_check_training_list(lp_ctx *ctx, char *const *codes, size_t count, size_t max, const char *field) {
  if (count > max) return lp_fail(ctx, INVALID, field, "%s may list at most %zu trainings, not %zu", field, max, count), false;
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
                   "%s is %llu but the stored revision is %llu; re-read and retry", field,
                   (unsigned long long)expected, (unsigned long long)stored), false;
  return true;
}

uint32_t lp_page_size(const lp_ctx *ctx, uint32_t requested) {
  const lp_config *config = &ctx->daemon->config;
  if (requested == 0) return config->default_page_size;
  return requested > config->max_page_size ? config->max_page_size : requested;
}

bool lp_page_start(lp_ctx *ctx, const lp_map *map, const char *page_token, const char *call, size_t *start) {
  char field[96];
  snprintf(field, sizeof field, "%s.page_token", call);
  size_t length = strlen(page_token);
  bool ok = length < LP_MAX_KEY;
  for (size_t i = 0; ok && i < length; i++) {
    char c = page_token[i];
    ok = is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
  }
  if (!ok) return lp_fail(ctx, INVALID, field, "%s is not a page token of this list", field), false;
  *start = lp_map_after(map, page_token);
  return true;
}

void lp_pupil_key(const char *school_id, const char *ref, char key[LP_MAX_KEY]) {
  snprintf(key, LP_MAX_KEY, "%s/%s", school_id, ref);
}

bool lp_is_school(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_SCHOOL; }
bool lp_is_company(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_COMPANY; }
bool lp_is_coordinator(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_COORDINATOR; }
bool lp_is_support(const lp_ctx *ctx) { return ctx->who.role == LEERPLEK__V1__ROLE__ROLE_SUPPORT; }

bool lp_resolve_school(lp_ctx *ctx, const char *school_id, const char *field, const char **school) {
  if (lp_is_school(ctx)) {
    if (school_id[0] != '\0' && strcmp(school_id, ctx->who.scope_id) != 0)
      return lp_fail(ctx, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_NOT_FOUND, field,
                     "no such pupil for this school"), false;
    *school = ctx->who.scope_id;
    return true;
  }
  if (!lp_check_id(ctx, school_id, field)) return false;
  *school = school_id;
  return true;
}

int lp_list_page(lp_ctx *ctx, enum lp_kind kind, uint32_t page_size, const char *page_token,
                 const char *call, lp_list_filter *filter, const void *arg, void ***items,
                 size_t *item_count, char **next_page_token, uint32_t *total_size) {
  const lp_map *map = &ctx->daemon->state.maps[kind];
  size_t start = 0;
  if (!lp_page_start(ctx, map, page_token, call, &start)) return -1;
  uint32_t limit = lp_page_size(ctx, page_size);
  void **page = lp_scratch(ctx, (size_t)limit * sizeof *page);
  if (!page) return lp_fail(ctx, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL, "", "out of memory");
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
  *next_page_token = lp_scratch_strdup(ctx, more && last_key ? last_key : "");
  if (!*next_page_token) return lp_fail(ctx, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL, "", "out of memory");
  return 0;
}
