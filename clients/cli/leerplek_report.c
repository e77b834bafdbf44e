/* leerplek_report: cuts the coordinators' report into flat tables (see leerplek_report.h). The
 * columns come from the proto descriptors, so a field added to a row message appears as a new
 * last column without anyone listing it here. */
#include "leerplek_report.h"

#include <stdio.h>
#include <string.h>

#include "leerplek.pb-c.h"
#include "leerplek_output.h"
#include "leerplek_text.h"

const char *const lp_report_tables[] = {
    "headline",     "by_training", "by_district",     "shortages",          "reasons",
    "school_types", "trend",       "trend_trainings", "registration_point", "last_rematch",
};
const size_t lp_report_table_count = sizeof lp_report_tables / sizeof lp_report_tables[0];

/* RematchResult.placed counts proposals (both sides still to answer) and `fixed` the accepted
 * and agreement placements kept: their columns say so, as the tool's tables and the dashboard
 * do. The only columns not named as their proto fields. */
static const char *column_name(const ProtobufCMessageDescriptor *descriptor, const char *key) {
  if (descriptor != &leerplek__v1__rematch_result__descriptor) return key;
  if (strcmp(key, "placed") == 0) return "proposed";
  if (strcmp(key, "fixed") == 0) return "accepted_or_agreement";
  return key;
}

/* The scalar fields of a row message as columns (repeated and nested fields are tables of
 * their own); `skip` names one to leave out (NULL: none). */
static void add_scalar_columns(json_t *columns, const ProtobufCMessageDescriptor *descriptor, const char *skip) {
  for (unsigned i = 0; i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    if (field->label == PROTOBUF_C_LABEL_REPEATED || field->type == PROTOBUF_C_TYPE_MESSAGE ||
        field->type == PROTOBUF_C_TYPE_BYTES)
      continue;
    if (skip && strcmp(field->name, skip) == 0) continue;
    char key[128];
    lp_json_key(field->name, key, sizeof key);
    json_array_append_new(columns, json_string(column_name(descriptor, key)));
  }
}

/* A row: the object's values under the columns' names (a renamed column takes its field). */
static json_t *flat_row(const json_t *object, const ProtobufCMessageDescriptor *descriptor) {
  json_t *row = json_object();
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)object, key, value) if (!json_is_array(value) && !json_is_object(value))
      json_object_set(row, column_name(descriptor, key), value);
  return row;
}

static const char *text_of(const json_t *value) {
  const char *text = json_string_value(value);
  return text ? text : "";
}

/* "unplaced_none_within_commute": the column of the reason at `index` in the enum's values;
 * 0 for UNSPECIFIED, which has none. */
static int reason_column(unsigned index, char *column, size_t size) {
  const ProtobufCEnumDescriptor *reasons = &leerplek__v1__unplaced_reason__descriptor;
  char name[64];
  lp_enum_format(reasons, reasons->values[index].value, name, sizeof name);
  snprintf(column, size, "unplaced_%s", name);
  return name[0] != '\0';
}

/* A row's waiting pupils by reason, one column per UnplacedReason value, 0 where none. */
static void add_reason_columns(json_t *columns) {
  char column[80];
  for (unsigned i = 0; i < leerplek__v1__unplaced_reason__descriptor.n_values; i++)
    if (reason_column(i, column, sizeof column)) json_array_append_new(columns, json_string(column));
}

static void fill_reasons(json_t *row, const json_t *counts) {
  char column[80];
  for (unsigned i = 0; i < leerplek__v1__unplaced_reason__descriptor.n_values; i++) {
    if (!reason_column(i, column, sizeof column)) continue;
    json_int_t pupils = 0;
    size_t k;
    json_t *count;
    json_array_foreach(counts, k,
                       count) if (strcmp(text_of(json_object_get(count, "reason")), column + strlen("unplaced_")) == 0)
        pupils = json_integer_value(json_object_get(count, "pupils"));
    json_object_set_new(row, column, json_integer(pupils));
  }
}

/* Pupils, schools and trainings per school type, from the report's three TypeCount lists. */
static void school_types(const json_t *report, json_t *rows, json_t *columns) {
  static const char *const lists[] = {"pupils_by_school_type", "schools_by_school_type", "trainings_by_provider_type"};
  static const char *const counted[] = {"pupils", "schools", "trainings"};
  json_array_append_new(columns, json_string("school_type"));
  for (size_t l = 0; l < 3; l++) json_array_append_new(columns, json_string(counted[l]));
  const ProtobufCEnumDescriptor *types = &leerplek__v1__school_type__descriptor;
  for (unsigned t = 0; t < types->n_values; t++) {
    char name[64];
    lp_enum_format(types, types->values[t].value, name, sizeof name);
    json_t *row = json_pack("{s:s}", "school_type", name);
    int any = 0;
    for (size_t l = 0; l < 3; l++) {
      json_int_t count = 0;
      size_t k;
      json_t *item;
      json_array_foreach(json_object_get(report, lists[l]), k,
                         item) if (strcmp(text_of(json_object_get(item, "school_type")), name) == 0) {
        count = json_integer_value(json_object_get(item, "count"));
        any = 1;
      }
      json_object_set_new(row, counted[l], json_integer(count));
    }
    if (any)
      json_array_append_new(rows, row);
    else
      json_decref(row);
  }
}

static void registration_point(const json_t *report, json_t *rows, json_t *columns) {
  const ProtobufCMessageDescriptor *figures = &leerplek__v1__registration_figures__descriptor;
  json_array_append_new(columns, json_string("by"));
  add_scalar_columns(columns, figures, NULL);
  const json_t *point = json_object_get(report, "registration_point");
  static const char *const groups[] = {"by_partner", "by_school"};
  static const char *const by[] = {"partner", "school"};
  for (size_t g = 0; g < 2; g++) {
    size_t k;
    json_t *item;
    json_array_foreach(json_object_get(point, groups[g]), k, item) {
      json_t *row = flat_row(item, figures);
      json_object_set_new(row, "by", json_string(by[g]));
      json_array_append_new(rows, row);
    }
  }
  const json_t *total = json_object_get(point, "total");
  if (total) {
    json_t *row = flat_row(total, figures);
    json_object_set_new(row, "by", json_string("total"));
    json_array_append_new(rows, row);
  }
}

int lp_report_table(const json_t *report, const char *name, json_t **rows_out, json_t **columns_out) {
  json_t *rows = json_array(), *columns = json_array();
  size_t k;
  json_t *item;
  if (strcmp(name, "headline") == 0 || strcmp(name, "last_rematch") == 0) {
    int headline = name[0] == 'h';
    const ProtobufCMessageDescriptor *descriptor =
        headline ? &leerplek__v1__headline__descriptor : &leerplek__v1__rematch_result__descriptor;
    add_scalar_columns(columns, descriptor, NULL);
    const json_t *object = json_object_get(report, name);
    if (object) json_array_append_new(rows, flat_row(object, descriptor));
  } else if (strcmp(name, "by_training") == 0 || strcmp(name, "by_district") == 0) {
    /* pupils_placed is accepted + agreement, both columns of their own. */
    add_scalar_columns(columns, &leerplek__v1__report_row__descriptor, "pupils_placed");
    add_reason_columns(columns);
    json_array_foreach(json_object_get(report, name), k, item) {
      json_t *row = flat_row(item, &leerplek__v1__report_row__descriptor);
      json_object_del(row, "pupils_placed");
      fill_reasons(row, json_object_get(item, "unplaced_by_reason"));
      json_array_append_new(rows, row);
    }
  } else if (strcmp(name, "shortages") == 0 || strcmp(name, "reasons") == 0 || strcmp(name, "trend") == 0) {
    const char *list = name[0] == 's' ? "shortages" : name[0] == 'r' ? "unplaced_by_reason" : "trend";
    const ProtobufCMessageDescriptor *descriptor = name[0] == 's'   ? &leerplek__v1__shortage__descriptor
                                                   : name[0] == 'r' ? &leerplek__v1__reason_count__descriptor
                                                                    : &leerplek__v1__trend_point__descriptor;
    add_scalar_columns(columns, descriptor, NULL);
    json_array_foreach(json_object_get(report, list), k, item) json_array_append_new(rows, flat_row(item, descriptor));
  } else if (strcmp(name, "trend_trainings") == 0) {
    json_array_append_new(columns, json_string("day"));
    add_scalar_columns(columns, &leerplek__v1__trend_training__descriptor, NULL);
    json_array_foreach(json_object_get(report, "trend"), k, item) {
      size_t t;
      json_t *training;
      json_array_foreach(json_object_get(item, "trainings_pupils"), t, training) {
        json_t *row = flat_row(training, &leerplek__v1__trend_training__descriptor);
        json_object_set(row, "day", json_object_get(item, "day"));
        json_array_append_new(rows, row);
      }
    }
  } else if (strcmp(name, "school_types") == 0) {
    school_types(report, rows, columns);
  } else if (strcmp(name, "registration_point") == 0) {
    registration_point(report, rows, columns);
  } else {
    json_decref(rows);
    json_decref(columns);
    return -1;
  }
  *rows_out = rows;
  *columns_out = columns;
  return 0;
}
