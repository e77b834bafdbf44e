/* leerplek_output: prints what the `leerplek` tool shows (lists and single records held as
 * jansson objects) as a human table, as CSV (quoting by libcsv) or as JSON (jansson). */
#ifndef LEERPLEK_OUTPUT_H
#define LEERPLEK_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

typedef enum lp_format { LP_FORMAT_TABLE, LP_FORMAT_CSV, LP_FORMAT_JSON } lp_format;

/* The text of one value as a CSV or table cell: strings as they are, integers in decimal,
 * reals with at most 6 decimals and no trailing zeros, true/false, arrays joined with ';',
 * null as "". Returns a malloc'd string (NULL only when out of memory). */
char *lp_cell_text(const json_t *value);

/* Any proto message as JSON, by reflection: keys are the proto field names, enums their short
 * lower-case names ("proposed"), GeoPoint {latitude, longitude} in degrees, Date "YYYY-MM-DD",
 * `*_unix_s` times as "YYYY-MM-DDTHH:MM:SSZ" under the name without the suffix ("" for 0), day
 * masks as day text under "days" (`x_day_mask` -> "x_days"), repeated fields as arrays. */
json_t *lp_message_to_json(const ProtobufCMessage *message);

/* The key lp_message_to_json gives a field called `name`: "_unix_s" dropped, "day_mask" ->
 * "days". */
void lp_json_key(const char *name, char *key, size_t key_size);

/* The value at a dotted path ("offer.vacancy_id") in nested objects, or NULL. */
const json_t *lp_json_path(const json_t *object, const char *path);

/* Prints `items` (an array of objects) with the given columns (dotted paths allowed): a table with a header line and
 * aligned columns, CSV with a header row, or a JSON array of the objects. */
void lp_print_list(FILE *out, lp_format format, const char *const *columns, size_t n_columns, const json_t *items);

/* Prints one object: "key: value" lines (nested objects indented, arrays of objects as
 * tables), one CSV header + row (nested values as their JSON text), or JSON. */
void lp_print_object(FILE *out, lp_format format, const json_t *object);

#endif
