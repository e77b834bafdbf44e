/* leerplek_csv: CSV input and output for the `leerplek` tool on top of libcsv. libcsv reports
 * fields and record ends but not where they are, so the reader feeds it one byte at a time and
 * keeps the line count itself: that is what lets import errors say "file:line:column". */
#include "leerplek_csv.h"

#include "leerplek_i18n.h"

#include <csv.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void lp_diag_add(lp_diags *diags, const char *format, ...) {
  diags->count++;
  if (diags->kept == LP_DIAGS_KEPT) return;
  va_list args;
  va_start(args, format);
  int len = vsnprintf(NULL, 0, format, args);
  va_end(args);
  if (len < 0) return;
  char *message = malloc((size_t)len + 1);
  if (!message) return;
  va_start(args, format);
  vsnprintf(message, (size_t)len + 1, format, args);
  va_end(args);
  diags->messages[diags->kept++] = message;
}

void lp_diags_print(const lp_diags *diags, FILE *out) {
  for (size_t i = 0; i < diags->kept; i++) fprintf(out, "%s\n", diags->messages[i]);
  if (diags->count > diags->kept) fprintf(out, "... and %zu more\n", diags->count - diags->kept);
}

void lp_diags_free(lp_diags *diags) {
  for (size_t i = 0; i < diags->kept; i++) free(diags->messages[i]);
  diags->kept = 0;
  diags->count = 0;
}

/* What the libcsv callbacks build up. The fields of the record being read collect in `text`
 * (reused from row to row) and each finished row is stored as one block holding its field
 * pointers and texts, so a row costs what it holds plus a pointer per field: memory follows
 * the bytes read, even for rows of many empty fields. */
typedef struct reader {
  lp_csv_table *table;
  lp_diags *diags;
  lp_csv_row current;                /* the record being read: line and n_fields (fields stays NULL) */
  size_t offsets[LP_CSV_MAX_FIELDS]; /* where each field of the current record starts in text */
  char *text;
  size_t text_size;
  size_t text_capacity;
  size_t line;  /* physical line of the byte being fed */
  int row_open; /* a byte of the current record has been seen */
  int have_header;
  int failed; /* a bound was crossed: stop */
  size_t rows_capacity;
} reader;

/* A row's fields live in the block its fields array starts (see make_row). */
static void free_row(lp_csv_row *row) {
  free(row->fields);
  row->fields = NULL;
  row->n_fields = 0;
}

static void on_field(void *data, size_t len, void *context) {
  reader *r = context;
  if (r->failed) return;
  if (r->current.n_fields == LP_CSV_MAX_FIELDS) {
    lp_diag_add(r->diags, "%s:%zu: more than %d fields in a row", r->table->name, r->current.line, LP_CSV_MAX_FIELDS);
    r->failed = 1;
    return;
  }
  if (len > LP_CSV_MAX_FIELD_BYTES) {
    lp_diag_add(r->diags, "%s:%zu:%zu: field longer than %d bytes", r->table->name, r->current.line,
                r->current.n_fields + 1, LP_CSV_MAX_FIELD_BYTES);
    r->failed = 1;
    return;
  }
  if (r->text_size + len + 1 > r->text_capacity) {
    size_t capacity = r->text_capacity ? r->text_capacity : 256;
    while (capacity < r->text_size + len + 1) capacity *= 2;
    char *grown = realloc(r->text, capacity);
    if (!grown) {
      lp_diag_add(r->diags, "%s: out of memory", r->table->name);
      r->failed = 1;
      return;
    }
    r->text = grown;
    r->text_capacity = capacity;
  }
  r->offsets[r->current.n_fields++] = r->text_size;
  if (len) memcpy(r->text + r->text_size, data, len);
  r->text[r->text_size + len] = '\0';
  r->text_size += len + 1;
}

/* Whether every field of the current record is empty (its text is only the NULs). */
static int row_is_blank(const reader *r) { return r->text_size == r->current.n_fields; }

/* The current record as a row: one block, the field pointers followed by the texts. */
static int make_row(reader *r, lp_csv_row *row) {
  size_t n = r->current.n_fields, pointers = (n ? n : 1) * sizeof(char *);
  char **fields = malloc(pointers + r->text_size + 1);
  if (!fields) return -1;
  char *text = (char *)fields + pointers;
  if (r->text_size) memcpy(text, r->text, r->text_size);
  for (size_t i = 0; i < n; i++) fields[i] = text + r->offsets[i];
  row->line = r->current.line;
  row->n_fields = n;
  row->fields = fields;
  return 0;
}

/* Forgets the current record's fields. */
static void reset_record(reader *r) {
  r->current.n_fields = 0;
  r->text_size = 0;
}

static void on_row_end(int terminator, void *context) {
  (void)terminator;
  reader *r = context;
  r->row_open = 0;
  if (r->failed || row_is_blank(r)) {
    reset_record(r);
    return;
  }
  if (!r->have_header) {
    if (make_row(r, &r->table->header) != 0) {
      lp_diag_add(r->diags, "%s: out of memory", r->table->name);
      r->failed = 1;
    }
    r->have_header = 1;
  } else {
    if (r->table->n_rows == LP_CSV_MAX_ROWS) {
      lp_diag_add(r->diags, "%s:%zu: more than %u data rows", r->table->name, r->current.line, LP_CSV_MAX_ROWS);
      r->failed = 1;
      reset_record(r);
      return;
    }
    if (r->table->n_rows == r->rows_capacity) {
      size_t capacity = r->rows_capacity ? r->rows_capacity * 2 : 64;
      lp_csv_row *grown = realloc(r->table->rows, capacity * sizeof *grown);
      if (!grown) {
        lp_diag_add(r->diags, "%s: out of memory", r->table->name);
        r->failed = 1;
        reset_record(r);
        return;
      }
      r->table->rows = grown;
      r->rows_capacity = capacity;
    }
    if (make_row(r, &r->table->rows[r->table->n_rows]) != 0) {
      lp_diag_add(r->diags, "%s: out of memory", r->table->name);
      r->failed = 1;
    } else {
      r->table->n_rows++;
    }
  }
  reset_record(r);
}

int lp_csv_read(const char *name, FILE *in, lp_csv_table *table, lp_diags *diags) {
  return lp_csv_read_with(name, in, ',', table, diags);
}

int lp_csv_read_with(const char *name, FILE *in, unsigned char delimiter, lp_csv_table *table, lp_diags *diags) {
  memset(table, 0, sizeof *table);
  table->name = strdup(name);
  if (!table->name) {
    lp_diag_add(diags, _("%s: out of memory"), name);
    return -1;
  }
  struct csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
    lp_diag_add(diags, _("%s: cannot start the CSV parser"), name);
    return -1;
  }
  csv_set_delim(&parser, delimiter);
  reader r = {.table = table, .diags = diags, .line = 1};
  size_t bytes_in_field = 0; /* raw bytes since the last field boundary, bounded */
  int c, first = 1;
  while (!r.failed && (c = getc(in)) != EOF) {
    unsigned char byte = (unsigned char)c;
    if (first && byte == 0xef) {
      /* A UTF-8 byte order mark, as spreadsheet programs write: skip it. */
      int c2 = getc(in), c3 = c2 == 0xbb ? getc(in) : EOF;
      if (c2 != 0xbb || c3 != 0xbf) {
        lp_diag_add(diags, _("%s:1:1: not UTF-8 text (a broken byte order mark)"), name);
        r.failed = 1;
        break;
      }
      first = 0;
      continue;
    }
    first = 0;
    if (byte == '\0') {
      lp_diag_add(diags, _("%s:%zu:%zu: NUL byte in the file (not a text CSV file?)"), name, r.line,
                  r.current.n_fields + 1);
      r.failed = 1;
      break;
    }
    if (!r.row_open && byte != '\n' && byte != '\r') {
      r.row_open = 1;
      r.current.line = r.line;
    }
    size_t fields_before = r.current.n_fields;
    int row_before = r.row_open;
    if (csv_parse(&parser, &byte, 1, on_field, on_row_end, &r) != 1) {
      lp_diag_add(diags,
                  _("%s:%zu:%zu: malformed CSV (%s): a quote inside an unquoted field "
                    "or text after a closing quote"),
                  name, r.line, r.current.n_fields + 1, csv_strerror(csv_error(&parser)));
      r.failed = 1;
      break;
    }
    if (r.current.n_fields != fields_before || r.row_open != row_before)
      bytes_in_field = 0;
    else if (++bytes_in_field > 2 * LP_CSV_MAX_FIELD_BYTES + 2) {
      lp_diag_add(diags, _("%s:%zu:%zu: field longer than %d bytes"), name, r.current.line, r.current.n_fields + 1,
                  LP_CSV_MAX_FIELD_BYTES);
      r.failed = 1;
    }
    if (byte == '\n') r.line++;
  }
  if (!r.failed && ferror(in)) {
    lp_diag_add(diags, _("%s: read error"), name);
    r.failed = 1;
  }
  if (!r.failed && csv_fini(&parser, on_field, on_row_end, &r) != 0) {
    lp_diag_add(diags, _("%s:%zu: malformed CSV: a quoted field is not closed"), name,
                r.current.line ? r.current.line : r.line);
    r.failed = 1;
  }
  csv_free(&parser);
  free(r.text);
  if (!r.failed && !r.have_header) {
    lp_diag_add(diags, _("%s:1: empty file: expected a header row naming the columns"), name);
    r.failed = 1;
  }
  return r.failed ? -1 : 0;
}

void lp_csv_table_free(lp_csv_table *table) {
  free_row(&table->header);
  for (size_t i = 0; i < table->n_rows; i++) free_row(&table->rows[i]);
  free(table->rows);
  free(table->name);
  memset(table, 0, sizeof *table);
}

/* One process writes one kind of CSV, so a module setting is enough. */
static char output_delimiter = ',';

void lp_csv_set_output_delimiter(char delimiter) { output_delimiter = delimiter; }

char lp_csv_output_delimiter(void) { return output_delimiter; }

void lp_csv_write_cell(FILE *out, const char *text) {
  size_t len = strlen(text);
  int needs_quotes = len > 0 && (text[0] == ' ' || text[len - 1] == ' ' || text[0] == '\t' || text[len - 1] == '\t');
  for (size_t i = 0; i < len && !needs_quotes; i++)
    needs_quotes = text[i] == output_delimiter || text[i] == '"' || text[i] == '\n' || text[i] == '\r';
  if (needs_quotes)
    csv_fwrite(out, text, len);
  else
    fwrite(text, 1, len, out);
}
