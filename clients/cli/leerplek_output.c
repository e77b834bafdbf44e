/* leerplek_output: table, CSV and JSON printing for the `leerplek` tool. Everything shown is
 * first built as a jansson value, so the three formats always carry the same data. */
#include "leerplek_output.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "leerplek.pb-c.h"
#include "leerplek_csv.h"
#include "leerplek_i18n.h"
#include "leerplek_text.h"

/* Table cells wider than this are cut (with "...") so one long note cannot wreck the layout. */
#define TABLE_CELL_MAX 40

static char *copy_text(const char *text) { return strdup(text); }

char *lp_cell_text(const json_t *value) {
  char buffer[64];
  switch (value ? json_typeof(value) : JSON_NULL) {
  case JSON_STRING: return copy_text(json_string_value(value));
  case JSON_INTEGER:
    snprintf(buffer, sizeof buffer, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    return copy_text(buffer);
  case JSON_REAL: {
    snprintf(buffer, sizeof buffer, "%.6f", json_real_value(value));
    size_t len = strlen(buffer);
    while (len > 0 && buffer[len - 1] == '0') buffer[--len] = '\0';
    if (len > 0 && buffer[len - 1] == '.') buffer[--len] = '\0';
    if (strcmp(buffer, "-0") == 0) strcpy(buffer, "0");
    char *mark = strchr(buffer, '.');
    if (mark) *mark = lp_decimal_mark();
    return copy_text(buffer);
  }
  case JSON_TRUE: return copy_text("true");
  case JSON_FALSE: return copy_text("false");
  case JSON_NULL: return copy_text("");
  case JSON_ARRAY: {
    size_t total = 1, index;
    json_t *item;
    char **parts = calloc(json_array_size(value) + 1, sizeof *parts);
    if (!parts) return NULL;
    json_array_foreach(value, index, item) {
      parts[index] = lp_cell_text(item);
      total += (parts[index] ? strlen(parts[index]) : 0) + 1;
    }
    char *joined = malloc(total);
    if (joined) {
      joined[0] = '\0';
      for (size_t i = 0; i < json_array_size(value); i++) {
        if (i) strcat(joined, ";");
        if (parts[i]) strcat(joined, parts[i]);
      }
    }
    for (size_t i = 0; i < json_array_size(value); i++) free(parts[i]);
    free(parts);
    return joined;
  }
  case JSON_OBJECT: {
    /* A small record inside a cell (e.g. a reason count): its values joined by ':'
     * ("seats_taken:4"), which reads better in a table than JSON. */
    json_t *values = json_array();
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)value, key, item) {
      (void)key;
      json_array_append(values, item);
    }
    char *joined = lp_cell_text(values);
    json_decref(values);
    for (char *p = joined; p && *p; p++)
      if (*p == ';') *p = ':';
    return joined;
  }
  }
  return copy_text("");
}

static json_t *scalar_to_json(const ProtobufCFieldDescriptor *field, const void *member) {
  switch (field->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)member);
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if (strcmp(field->name, "day_mask") == 0 || strstr(field->name, "_day_mask")) {
      char text[LP_TEXT_MAX];
      lp_days_format(*(const uint32_t *)member, text, sizeof text);
      return json_string(text);
    }
    return json_integer(*(const uint32_t *)member);
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64: {
    int64_t value = *(const int64_t *)member;
    size_t len = strlen(field->name);
    if (len > 7 && strcmp(field->name + len - 7, "_unix_s") == 0) {
      char text[LP_TEXT_MAX];
      lp_time_format(value, text, sizeof text);
      return json_string(text);
    }
    return json_integer(value);
  }
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64: return json_integer((json_int_t) * (const uint64_t *)member);
  case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)member);
  case PROTOBUF_C_TYPE_ENUM: {
    char text[64];
    lp_enum_format(field->descriptor, *(const int *)member, text, sizeof text);
    return json_string(text);
  }
  case PROTOBUF_C_TYPE_STRING: {
    const char *text = *(char *const *)member;
    return json_string(text ? text : "");
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *message = *(ProtobufCMessage *const *)member;
    return message ? lp_message_to_json(message) : json_null();
  }
  case PROTOBUF_C_TYPE_FLOAT: return json_real(*(const float *)member);
  case PROTOBUF_C_TYPE_DOUBLE: return json_real(*(const double *)member);
  case PROTOBUF_C_TYPE_BYTES: break;
  }
  return json_null();
}

void lp_json_key(const char *name, char *key, size_t key_size) {
  size_t len = strlen(name);
  if (len > 7 && strcmp(name + len - 7, "_unix_s") == 0)
    snprintf(key, key_size, "%.*s", (int)(len - 7), name);
  else if (len >= 8 && strcmp(name + len - 8, "day_mask") == 0)
    snprintf(key, key_size, "%.*sdays", (int)(len - 8), name);
  else
    snprintf(key, key_size, "%s", name);
}

json_t *lp_message_to_json(const ProtobufCMessage *message) {
  const ProtobufCMessageDescriptor *descriptor = message->descriptor;
  if (descriptor == &leerplek__v1__geo_point__descriptor) {
    const Leerplek__V1__GeoPoint *point = (const Leerplek__V1__GeoPoint *)message;
    return json_pack("{s:f,s:f}", "latitude", point->lat_e6 / 1e6, "longitude", point->lon_e6 / 1e6);
  }
  if (descriptor == &leerplek__v1__date__descriptor) {
    const Leerplek__V1__Date *date = (const Leerplek__V1__Date *)message;
    char text[LP_TEXT_MAX];
    lp_date_format(date->year, date->month, date->day, text, sizeof text);
    return json_string(text);
  }
  json_t *object = json_object();
  for (unsigned i = 0; object && i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    const char *base = (const char *)message;
    char key[128];
    lp_json_key(field->name, key, sizeof key);
    if (field->type == PROTOBUF_C_TYPE_BYTES) continue;
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      /* Only the member that is set (the envelopes are not printed, but be general). */
      if (*(const uint32_t *)(base + field->quantifier_offset) != field->id) continue;
    }
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t count = *(const size_t *)(base + field->quantifier_offset);
      const char *array = *(char *const *)(base + field->offset);
      size_t stride = field->type == PROTOBUF_C_TYPE_MESSAGE || field->type == PROTOBUF_C_TYPE_STRING ? sizeof(void *)
                      : field->type == PROTOBUF_C_TYPE_INT64 || field->type == PROTOBUF_C_TYPE_SINT64 ||
                              field->type == PROTOBUF_C_TYPE_SFIXED64 || field->type == PROTOBUF_C_TYPE_UINT64 ||
                              field->type == PROTOBUF_C_TYPE_FIXED64
                          ? 8
                      : field->type == PROTOBUF_C_TYPE_DOUBLE ? sizeof(double)
                      : field->type == PROTOBUF_C_TYPE_BOOL   ? sizeof(protobuf_c_boolean)
                                                              : 4;
      json_t *items = json_array();
      for (size_t k = 0; k < count; k++) json_array_append_new(items, scalar_to_json(field, array + k * stride));
      json_object_set_new(object, key, items);
      continue;
    }
    json_t *value = scalar_to_json(field, base + field->offset);
    if (field->type == PROTOBUF_C_TYPE_MESSAGE && json_is_null(value)) {
      json_decref(value);
      continue; /* absent sub-message: leave the key out */
    }
    json_object_set_new(object, key, value);
  }
  return object;
}

const json_t *lp_json_path(const json_t *object, const char *path) {
  /* A key that itself contains dots (flattened records) wins over the nested reading. */
  const json_t *exact = json_is_object(object) ? json_object_get(object, path) : NULL;
  if (exact) return exact;
  char part[128];
  const json_t *value = object;
  while (value && *path) {
    const char *dot = strchr(path, '.');
    size_t len = dot ? (size_t)(dot - path) : strlen(path);
    if (len >= sizeof part) return NULL;
    memcpy(part, path, len);
    part[len] = '\0';
    value = json_is_object(value) ? json_object_get(value, part) : NULL;
    path += len + (dot != NULL);
  }
  return value;
}

/* Values people read in tables: the short enum names of the columns below, and booleans.
 * Translated with the context "value" (a msgctxt) and only in those columns, so a reference or
 * a name that happens to be such a word is left alone. --csv and --json keep them as they are. */
#define VALUE_CONTEXT "value\004"
#define NC_(context, text) context "\004" text
/* The list is there for xgettext; nothing reads it. */
#define TRANSLATED_ONLY __attribute__((unused))
static const char *const value_labels[] = {
    NC_("value", "waiting"),
    NC_("value", "proposed"),
    NC_("value", "accepted"),
    NC_("value", "agreement"),
    NC_("value", "declined"),
    NC_("value", "withdrawn"),
    NC_("value", "not_ready"),
    NC_("value", "partly"),
    NC_("value", "ready"),
    NC_("value", "regular"),
    NC_("value", "preparatory"),
    NC_("value", "open"),
    NC_("value", "closed"),
    NC_("value", "no_recognised_vacancy"),
    NC_("value", "readiness_too_low"),
    NC_("value", "none_within_commute"),
    NC_("value", "no_compatible_days"),
    NC_("value", "all_excluded"),
    NC_("value", "seats_taken"),
    NC_("value", "up_to_5_km"),
    NC_("value", "up_to_10_km"),
    NC_("value", "up_to_20_km"),
    NC_("value", "up_to_40_km"),
    NC_("value", "over_40_km"),
    NC_("value", "school"),
    NC_("value", "company"),
    NC_("value", "coordinator"),
    NC_("value", "admin"),
    NC_("value", "moved"),
    NC_("value", "released"),
    NC_("value", "true"),
    NC_("value", "false"),
    NC_("value", "full_time"),
    NC_("value", "buso"),
    NC_("value", "learning_working"),
    NC_("value", "syntra"),
    NC_("value", "more_seats"),
    NC_("value", "new_place"),
    NC_("value", "offered"),
    NC_("value", "started"),
    NC_("value", "ended"),
    NC_("value", "normal"),
    NC_("value", "high"),
    NC_("value", "support"),
    NC_("value", "no_offer_of_component"),
    NC_("value", "none_within_reach"),
    NC_("value", "not_for_this_pupil"),
    NC_("value", "capacity_taken"),
    NC_("value", "next_dispatch"),
};
static const char *const value_columns[] = {"state",         "readiness", "min_readiness", "kind",        "reason",
                                            "distance_band", "role",      "side",          "school_type", "hint_kind",
                                            "urgency",       "wait",      "outcome"};

/* The keys of the records people read most, the report and a rematch's result (the proto's
 * field names), marked for translation; table_key translates them, and any other key too
 * when the catalogue has it. */
static const char *const record_labels[] TRANSLATED_ONLY = {
    N_("agreements"),
    N_("agreements_all"),
    N_("agreements_running"),
    N_("base_epoch"),
    N_("by_district"),
    N_("by_training"),
    N_("candidates_us"),
    N_("changes"),
    N_("changes_truncated"),
    N_("count"),
    N_("day"),
    N_("dry_run"),
    N_("eligible_pairs"),
    N_("epoch"),
    N_("free_seats"),
    N_("generated_unix_s"),
    N_("headline"),
    N_("key"),
    N_("last_rematch"),
    N_("moved"),
    N_("needs_preparatory"),
    N_("newly_proposed"),
    N_("objective"),
    N_("open_seats"),
    N_("open_vacancies"),
    N_("pupils"),
    N_("pupils_accepted"),
    N_("pupils_agreement"),
    N_("pupils_by_school_type"),
    N_("pupils_in_dual_learning"),
    N_("pupils_placed"),
    N_("pupils_proposed"),
    N_("pupils_registered"),
    N_("pupils_waiting"),
    N_("reason"),
    N_("recognised_companies"),
    N_("recognised_locations"),
    N_("released"),
    N_("schools"),
    N_("schools_by_school_type"),
    N_("shortage"),
    N_("shortages"),
    N_("snapshot_us"),
    N_("solve_us"),
    N_("started_unix_s"),
    N_("trainings"),
    N_("trainings_by_provider_type"),
    N_("trainings_with_pupils"),
    N_("trend"),
    N_("unplaced"),
    N_("unplaced_by_reason"),
    N_("vacancies"),
    N_("write_us"),
    N_("report"),
    N_("generated"),
    N_("started"),
    N_("result"),
    N_("proven_optimal"),
    N_("dual_bound"),
    N_("hints_checked"),
    N_("hints_unchecked"),
    N_("explain_us"),
    N_("pupils_with_hint"),
    N_("hint_seats"),
    N_("registration_point"),
    N_("by_partner"),
    N_("by_school"),
    N_("deadline_days"),
    N_("total"),
    N_("dispatched"),
    N_("offers"),
    N_("referrals"),
    /* the report's tables (leerplek_report.c): waiting pupils per reason, the grouping */
    N_("unplaced_no_recognised_vacancy"),
    N_("unplaced_readiness_too_low"),
    N_("unplaced_none_within_commute"),
    N_("unplaced_no_compatible_days"),
    N_("unplaced_all_excluded"),
    N_("unplaced_seats_taken"),
    N_("by"),
};

/* Keys whose proto name says less than a table should: a rematch's `placed` counts proposals
 * (both sides still to answer), its `fixed` the accepted and agreement placements it kept. The
 * words proposed, accepted and agreement each mean one state wherever the tool prints them. */
static const char *table_label(const char *key) {
  static const char *const labels[][2] = {{"placed", N_("proposed")}, {"fixed", N_("accepted_or_agreement")}};
  for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
    if (strcmp(key, labels[i][0]) == 0) return _(labels[i][1]);
  return _(key);
}

static int is_value_column(const char *column) {
  const char *last = strrchr(column, '.');
  last = last ? last + 1 : column;
  for (size_t i = 0; i < sizeof value_columns / sizeof value_columns[0]; i++)
    if (strcmp(last, value_columns[i]) == 0) return 1;
  return 0;
}

/* The cell as people read it: a translated value where the column holds one, else the text. */
static char *table_cell_text(const char *column, const json_t *value) {
  char *text = lp_cell_text(value);
  if (!text || !(json_is_boolean(value) || (json_is_string(value) && is_value_column(column)))) return text;
  for (size_t i = 0; i < sizeof value_labels / sizeof value_labels[0]; i++) {
    const char *word = value_labels[i] + strlen(VALUE_CONTEXT);
    if (strcmp(word, text) != 0) continue;
    const char *translated = _(value_labels[i]);
    if (translated != value_labels[i]) {
      free(text);
      return strdup(translated);
    }
  }
  return text;
}

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t display_width(const char *text) {
  size_t width = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if ((*p & 0xc0) != 0x80) width++;
  return width;
}

/* Makes a cell fit a table: newlines and tabs become spaces, text wider than TABLE_CELL_MAX
 * characters keeps its first TABLE_CELL_MAX - 3 and ends in "...". The cut is made only when
 * the text is wider than TABLE_CELL_MAX, so at least four characters (four bytes or more)
 * follow the cut and "..." with its NUL fits in place; cuts fall on character boundaries. */
static void fit_cell(char *text) {
  for (char *p = text; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
  if (display_width(text) <= TABLE_CELL_MAX) return;
  size_t width = 0;
  for (unsigned char *p = (unsigned char *)text; *p; p++) {
    if ((*p & 0xc0) == 0x80) continue;
    if (++width > TABLE_CELL_MAX - 3) {
      memcpy(p, "...", 4);
      return;
    }
  }
}

static void print_padded(FILE *out, const char *text, size_t width, int last) {
  fputs(text, out);
  if (last) return;
  for (size_t w = display_width(text); w < width + 2; w++) fputc(' ', out);
}

static void print_table(FILE *out, const char *const *columns, size_t n_columns, const json_t *items) {
  size_t n_rows = json_array_size(items);
  char **cells = calloc(n_rows * n_columns + 1, sizeof *cells);
  size_t *widths = calloc(n_columns + 1, sizeof *widths);
  if (!cells || !widths) {
    free(cells);
    free(widths);
    return;
  }
  /* Headers are for people: translated (the columns are marked where they are listed). CSV
   * and JSON keep the column names. */
  const char **headers = calloc(n_columns + 1, sizeof *headers);
  if (!headers) {
    free(cells);
    free(widths);
    return;
  }
  for (size_t c = 0; c < n_columns; c++) headers[c] = _(columns[c]);
  for (size_t c = 0; c < n_columns; c++) widths[c] = display_width(headers[c]);
  for (size_t r = 0; r < n_rows; r++)
    for (size_t c = 0; c < n_columns; c++) {
      char *text = table_cell_text(columns[c], lp_json_path(json_array_get(items, r), columns[c]));
      if (text) fit_cell(text);
      cells[r * n_columns + c] = text;
      size_t width = text ? display_width(text) : 0;
      if (width > widths[c]) widths[c] = width;
    }
  for (size_t c = 0; c < n_columns; c++) print_padded(out, headers[c], widths[c], c + 1 == n_columns);
  fputc('\n', out);
  for (size_t r = 0; r < n_rows; r++) {
    for (size_t c = 0; c < n_columns; c++) {
      const char *text = cells[r * n_columns + c];
      print_padded(out, text ? text : "", widths[c], c + 1 == n_columns);
    }
    fputc('\n', out);
  }
  for (size_t i = 0; i < n_rows * n_columns; i++) free(cells[i]);
  free(cells);
  free(widths);
  free(headers);
}

static void print_csv(FILE *out, const char *const *columns, size_t n_columns, const json_t *items) {
  for (size_t c = 0; c < n_columns; c++) {
    if (c) fputc(lp_csv_output_delimiter(), out);
    lp_csv_write_cell(out, columns[c]);
  }
  fputc('\n', out);
  size_t index;
  const json_t *item;
  json_array_foreach(items, index, item) {
    for (size_t c = 0; c < n_columns; c++) {
      if (c) fputc(lp_csv_output_delimiter(), out);
      char *text = lp_cell_text(lp_json_path(item, columns[c]));
      lp_csv_write_cell(out, text ? text : "");
      free(text);
    }
    fputc('\n', out);
  }
}

static void print_json(FILE *out, const json_t *value) {
  json_dumpf(value, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  fputc('\n', out);
}

void lp_print_list(FILE *out, lp_format format, const char *const *columns, size_t n_columns, const json_t *items) {
  switch (format) {
  case LP_FORMAT_TABLE: print_table(out, columns, n_columns, items); break;
  case LP_FORMAT_CSV: print_csv(out, columns, n_columns, items); break;
  case LP_FORMAT_JSON: print_json(out, items); break;
  }
}

/* The keys of an object, for a header (pointers into the object). */
static size_t object_keys(const json_t *object, const char **keys, size_t max_keys) {
  size_t n = 0;
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)object, key, value) {
    (void)value;
    if (n < max_keys) keys[n++] = key;
  }
  return n;
}

static int is_list_of_objects(const json_t *value) {
  return json_is_array(value) && json_array_size(value) > 0 && json_is_object(json_array_get(value, 0));
}

static void print_key_values(FILE *out, const json_t *object, int indent) {
  const char *json_key;
  const json_t *value;
  json_object_foreach((json_t *)object, json_key, value) {
    const char *key = table_label(json_key);
    if (json_is_object(value)) {
      fprintf(out, "%*s%s:\n", indent, "", key);
      print_key_values(out, value, indent + 2);
    } else if (is_list_of_objects(value)) {
      fprintf(out, "%*s%s:\n", indent, "", key);
      const char *columns[64];
      size_t n = object_keys(json_array_get(value, 0), columns, 64);
      print_table(out, columns, n, value);
    } else {
      char *text = table_cell_text(json_key, value);
      fprintf(out, "%*s%s: %s\n", indent, "", key, text ? text : "");
      free(text);
    }
  }
}

/* Copies object's leaves into flat under "prefix.key" paths. */
static void flatten_into(json_t *flat, const char *prefix, const json_t *object) {
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)object, key, value) {
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
    if (json_is_object(value))
      flatten_into(flat, path, value);
    else
      json_object_set(flat, path, (json_t *)value);
  }
}

void lp_print_object(FILE *out, lp_format format, const json_t *object) {
  if (format == LP_FORMAT_JSON) {
    print_json(out, object);
    return;
  }
  if (format == LP_FORMAT_TABLE) {
    print_key_values(out, object, 0);
    return;
  }
  /* CSV of one record: nested objects flattened into dotted columns ("vacancy.id"). */
  json_t *flat = json_object();
  flatten_into(flat, "", object);
  const char *columns[256];
  size_t n = object_keys(flat, columns, 256);
  json_t *items = json_array();
  json_array_append(items, flat);
  print_csv(out, columns, n, items);
  json_decref(items);
  json_decref(flat);
}
