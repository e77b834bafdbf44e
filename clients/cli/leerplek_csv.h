/* leerplek_csv: reading CSV files into bounded rows with the line each row starts on (libcsv
 * does the parsing), writing CSV cells (libcsv does the quoting), and the list of
 * "file:line:column: what is wrong" diagnostics that import reports. */
#ifndef LEERPLEK_CSV_H
#define LEERPLEK_CSV_H

#include <stddef.h>
#include <stdio.h>

/* Bounds on input, so a wrong or hostile file cannot make the tool use unbounded memory. */
#define LP_CSV_MAX_FIELD_BYTES 4096
#define LP_CSV_MAX_FIELDS 64
#define LP_CSV_MAX_ROWS 1000000u

/* Diagnostics: every message is counted, the first LP_DIAGS_KEPT are kept for printing. */
#define LP_DIAGS_KEPT 100
typedef struct lp_diags {
  size_t count;
  size_t kept;
  char *messages[LP_DIAGS_KEPT];
} lp_diags;

void lp_diag_add(lp_diags *diags, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Prints the kept messages, one per line, and "... and N more" when some were dropped. */
void lp_diags_print(const lp_diags *diags, FILE *out);
void lp_diags_free(lp_diags *diags);

/* One record: the physical line (1-based) it starts on and its NUL-terminated fields. */
typedef struct lp_csv_row {
  size_t line;
  size_t n_fields;
  char **fields;
} lp_csv_row;

/* A whole file: the header row and the data rows (rows whose fields are all empty, as
 * spreadsheets write at the end, are skipped). */
typedef struct lp_csv_table {
  char *name; /* the file name used in diagnostics */
  lp_csv_row header;
  size_t n_rows;
  lp_csv_row *rows;
} lp_csv_table;

/* Reads all of `in`. `name` is what diagnostics call the file. A leading UTF-8 byte order mark
 * is skipped. Returns 0, or -1 after adding a diagnostic (malformed quoting, a field or row over
 * the bounds, NUL bytes, no header). The table is valid (maybe partly filled) either way and
 * must be freed with lp_csv_table_free. */
int lp_csv_read(const char *name, FILE *in, lp_csv_table *table, lp_diags *diags);
/* The same with another field delimiter (';' as spreadsheets in Belgium write, or '\t'). */
int lp_csv_read_with(const char *name, FILE *in, unsigned char delimiter, lp_csv_table *table, lp_diags *diags);
void lp_csv_table_free(lp_csv_table *table);

/* Writes one cell: plain when it needs no quoting, else quoted by libcsv. The delimiter
 * (default ',') is what cells are separated with, so cells containing it get quoted. */
void lp_csv_write_cell(FILE *out, const char *text);
void lp_csv_set_output_delimiter(char delimiter);
char lp_csv_output_delimiter(void);

#endif
