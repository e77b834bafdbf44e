/* fuzz_csv: libFuzzer target for the CSV import of the `leerplek` tool: the first byte picks
 * the delimiter and the kind, the rest is the file. It is read into rows (leerplek_csv.c),
 * converted to messages of the kind (leerplek_entities.c) and, when accepted, printed as a
 * table, CSV and JSON (leerplek_output.c) the way `leerplek import --check` and the list
 * commands do. Refusals must come with at least one diagnostic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "leerplek_csv.h"
#include "leerplek_entities.h"
#include "leerplek_output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const unsigned char delimiters[] = {',', ';', '\t'};
  unsigned char delimiter = delimiters[data[0] % 3];
  const cli_entity *kind = &cli_entities[(data[0] / 3) % CLI_ENTITY_COUNT];
  FILE *in = fmemopen((void *)(data + 1), size - 1, "r");
  if (!in) return 0;
  lp_diags diags = {0};
  lp_csv_table table;
  int rc = lp_csv_read_with("fuzz.csv", in, delimiter, &table, &diags);
  fclose(in);
  if (rc != 0 && diags.count == 0) abort();
  if (rc == 0) {
    ProtobufCMessage **messages = NULL;
    size_t problems = lp_rows_to_messages(kind, &table, &messages, &diags);
    if (problems != 0 && diags.count == 0) abort();
    if (problems == 0) {
      json_t *items = json_array();
      for (size_t i = 0; i < table.n_rows; i++) json_array_append_new(items, lp_entity_to_json(kind, messages[i]));
      const char *columns[LP_CSV_MAX_FIELDS];
      cli_entity_column_names(kind, columns);
      FILE *out = fopen("/dev/null", "w");
      if (out) {
        lp_print_list(out, LP_FORMAT_TABLE, columns, kind->n_columns, items);
        lp_print_list(out, LP_FORMAT_CSV, columns, kind->n_columns, items);
        lp_print_list(out, LP_FORMAT_JSON, columns, kind->n_columns, items);
        fclose(out);
      }
      json_decref(items);
      lp_messages_free(messages, table.n_rows);
    }
  }
  lp_csv_table_free(&table);
  lp_diags_free(&diags);
  return 0;
}
