/* test_csv.c: CSV input of the `leerplek` tool: libcsv-read rows with the line each starts on
 * and the bounds on input (leerplek_csv), then every entity's columns (leerplek_entities):
 * good rows become the right proto values, and each kind of bad row is reported as
 * "file:line:column (name): what is wrong" with nothing returned. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leerplek_csv.h"
#include "leerplek_entities.h"

/* Reads text as a CSV file called name; returns lp_csv_read's result. */
static int read_text(const char *name, const char *text, size_t len, lp_csv_table *table, lp_diags *diags) {
  FILE *in = fmemopen((void *)text, len, "r");
  cr_assert_not_null(in);
  int rc = lp_csv_read(name, in, table, diags);
  fclose(in);
  return rc;
}

/* True when some diagnostic contains `part`. */
static int diag_contains(const lp_diags *diags, const char *part) {
  for (size_t i = 0; i < diags->kept; i++)
    if (strstr(diags->messages[i], part)) return 1;
  return 0;
}

static void print_diags(const lp_diags *diags) { lp_diags_print(diags, stderr); }

Test(csv_read, rows_know_their_lines) {
  const char text[] = "code,name\r\nA,\"two\nlines\"\r\n\r\n,\nB, spaced \n";
  lp_csv_table table;
  lp_diags diags = {0};
  cr_assert_eq(read_text("t.csv", text, sizeof text - 1, &table, &diags), 0);
  cr_assert_eq(table.header.n_fields, 2);
  cr_assert_str_eq(table.header.fields[1], "name");
  cr_assert_eq(table.n_rows, 2, "the blank line and the all-empty row are skipped");
  cr_assert_eq(table.rows[0].line, 2);
  cr_assert_str_eq(table.rows[0].fields[1], "two\nlines");
  cr_assert_eq(table.rows[1].line, 6, "a quoted newline moves the next row's line");
  cr_assert_str_eq(table.rows[1].fields[1], "spaced");
  cr_assert_eq(diags.count, 0);
  lp_csv_table_free(&table);
}

Test(csv_read, byte_order_mark_is_skipped) {
  const char text[] = "\xef\xbb\xbf"
                      "code,name\nA,B\n";
  lp_csv_table table;
  lp_diags diags = {0};
  cr_assert_eq(read_text("bom.csv", text, sizeof text - 1, &table, &diags), 0);
  cr_assert_str_eq(table.header.fields[0], "code");
  cr_assert_eq(table.n_rows, 1);
  lp_csv_table_free(&table);
}

Test(csv_read, malformed_quote_names_line_and_column) {
  const char text[] = "a,b,c\n1,2,3\n4,5\"x,6\n";
  lp_csv_table table;
  lp_diags diags = {0};
  cr_assert_eq(read_text("q.csv", text, sizeof text - 1, &table, &diags), -1);
  cr_assert(diag_contains(&diags, "q.csv:3:2: malformed CSV"), "got: %s", diags.kept ? diags.messages[0] : "");
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
}

Test(csv_read, unclosed_quote_at_end) {
  const char text[] = "a,b\n1,\"never closed\n";
  lp_csv_table table;
  lp_diags diags = {0};
  cr_assert_eq(read_text("u.csv", text, sizeof text - 1, &table, &diags), -1);
  cr_assert(diag_contains(&diags, "u.csv:2: malformed CSV: a quoted field is not closed"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
}

Test(csv_read, bounds) {
  lp_csv_table table;
  lp_diags diags = {0};
  /* A field over the limit. */
  size_t long_len = LP_CSV_MAX_FIELD_BYTES + 10;
  char *text = malloc(long_len + 20);
  strcpy(text, "a,b\n1,");
  memset(text + 6, 'x', long_len);
  strcpy(text + 6 + long_len, "\n");
  cr_assert_eq(read_text("long.csv", text, strlen(text), &table, &diags), -1);
  cr_assert(diag_contains(&diags, "long.csv:2:2: field longer than 4096 bytes"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
  /* Too many fields. */
  memset(text, ',', 100);
  strcpy(text + 100, "\n");
  cr_assert_eq(read_text("wide.csv", text, strlen(text), &table, &diags), -1);
  cr_assert(diag_contains(&diags, "wide.csv:1: more than 64 fields"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
  free(text);
  /* NUL bytes: not a text file. */
  const char binary[] = "a,b\n1,\0\n";
  cr_assert_eq(read_text("bin.csv", binary, sizeof binary - 1, &table, &diags), -1);
  cr_assert(diag_contains(&diags, "bin.csv:2:2: NUL byte"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
  /* No header at all. */
  cr_assert_eq(read_text("empty.csv", "\n\n", 2, &table, &diags), -1);
  cr_assert(diag_contains(&diags, "empty.csv:1: empty file"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
}

Test(csv_write, quotes_only_when_needed) {
  char *buffer = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buffer, &size);
  lp_csv_write_cell(out, "plain");
  fputc('|', out);
  lp_csv_write_cell(out, "a,b");
  fputc('|', out);
  lp_csv_write_cell(out, "say \"hi\"");
  fputc('|', out);
  lp_csv_write_cell(out, "two\nlines");
  fputc('|', out);
  lp_csv_write_cell(out, "");
  fclose(out);
  cr_assert_str_eq(buffer, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|");
  free(buffer);
}

/* Converts text with the kind's columns; returns the number of problems. */
static size_t convert(const char *kind_name, const char *text, lp_csv_table *table, ProtobufCMessage ***messages,
                      lp_diags *diags) {
  const cli_entity *kind = cli_entity_find(kind_name);
  cr_assert_not_null(kind);
  cr_assert_eq(read_text("in.csv", text, strlen(text), table, diags), 0);
  return lp_rows_to_messages(kind, table, messages, diags);
}

Test(entities, trainings_and_companies) {
  lp_csv_table table;
  lp_diags diags = {0};
  ProtobufCMessage **messages;
  cr_assert_eq(convert("trainings", "name,code\nElektrische installaties,ELEKTRO-INST\n", &table, &messages, &diags),
               0);
  Leerplek__V1__Training *training = (Leerplek__V1__Training *)messages[0];
  cr_assert_str_eq(training->code, "ELEKTRO-INST", "columns are found by name, in any order");
  cr_assert_str_eq(training->name, "Elektrische installaties");
  lp_messages_free(messages, table.n_rows);
  lp_csv_table_free(&table);

  cr_assert_eq(convert("companies",
                       "id,name,recognised_trainings\n0123456789,Bouw NV,BOUW;ELEKTRO-INST\n0999999999,Leeg BV,\n",
                       &table, &messages, &diags),
               0);
  Leerplek__V1__Company *company = (Leerplek__V1__Company *)messages[0];
  cr_assert_eq(company->n_recognised_training_codes, 2);
  cr_assert_str_eq(company->recognised_training_codes[1], "ELEKTRO-INST");
  cr_assert_eq(((Leerplek__V1__Company *)messages[1])->n_recognised_training_codes, 0);
  lp_messages_free(messages, table.n_rows);
  lp_csv_table_free(&table);
}

Test(entities, locations_convert_degrees) {
  lp_csv_table table;
  lp_diags diags = {0};
  ProtobufCMessage **messages;
  cr_assert_eq(
      convert("locations",
              "id,company_id,latitude,longitude,postcode,district\nL1,0123456789,51.2172,4.4211,2000,Antwerpen\n",
              &table, &messages, &diags),
      0);
  Leerplek__V1__Location *location = (Leerplek__V1__Location *)messages[0];
  cr_assert_eq(location->point->lat_e6, 51217200);
  cr_assert_eq(location->point->lon_e6, 4421100);
  cr_assert_str_eq(location->name, "", "optional columns may be left out");
  lp_messages_free(messages, table.n_rows);
  lp_csv_table_free(&table);
}

Test(entities, vacancies) {
  lp_csv_table table;
  lp_diags diags = {0};
  ProtobufCMessage **messages;
  const char text[] = "id,location_id,training_code,seats,min_readiness,days,kind,start_date,mentor,state\n"
                      "V1,L1,BOUW,2,partly,\"A:mon,tue;B:wed\",regular,2026-09-01,Chef werf,\n"
                      "V2,L1,BOUW,1,not_ready,MTWTF..MTWTF..,preparatory,2026-09-01,,closed\n";
  size_t problems = convert("vacancies", text, &table, &messages, &diags);
  print_diags(&diags);
  cr_assert_eq(problems, 0);
  Leerplek__V1__Vacancy *v1 = (Leerplek__V1__Vacancy *)messages[0], *v2 = (Leerplek__V1__Vacancy *)messages[1];
  cr_assert_eq(v1->seats, 2);
  cr_assert_eq(v1->min_readiness, LEERPLEK__V1__READINESS__READINESS_PARTLY);
  cr_assert_eq(v1->day_mask, 0x3u | (1u << 9));
  cr_assert_eq(v1->kind, LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR);
  cr_assert_eq(v1->start_date->year, 2026);
  cr_assert_eq(v1->start_date->month, 9);
  cr_assert_eq(v1->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN, "empty state = open");
  cr_assert_eq(v2->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED);
  cr_assert_eq(v2->day_mask, 0x1f | (0x1fu << 7));
  lp_messages_free(messages, table.n_rows);
  lp_csv_table_free(&table);
}

Test(entities, pupils) {
  lp_csv_table table;
  lp_diags diags = {0};
  ProtobufCMessage **messages;
  const char text[] =
      "school_id,ref,training_code,readiness,latitude,longitude,home_postcode,home_district,max_commute_km,"
      "days,preferred_companies,excluded_companies,newcomer_okan,special_needs_buso,waiting_since,school_notes\n"
      "S1,p-001,BOUW,ready,51.215,4.42,2000,Centrum,12.5,\"mon,tue\",0123456789;0999999999,,yes,,2026-09-01,"
      "\"needs\nramp\"\n";
  size_t problems = convert("pupils", text, &table, &messages, &diags);
  print_diags(&diags);
  cr_assert_eq(problems, 0);
  Leerplek__V1__Pupil *pupil = (Leerplek__V1__Pupil *)messages[0];
  cr_assert_str_eq(pupil->ref, "p-001");
  cr_assert_eq(pupil->readiness, LEERPLEK__V1__READINESS__READINESS_READY);
  cr_assert_eq(pupil->home->lat_e6, 51215000);
  cr_assert_eq(pupil->max_commute_m, 12500);
  cr_assert_eq(pupil->day_mask, 0x183u);
  cr_assert_eq(pupil->n_preferred_company_ids, 2);
  cr_assert_eq(pupil->n_excluded_company_ids, 0);
  cr_assert(pupil->newcomer_okan);
  cr_assert(!pupil->special_needs_buso);
  cr_assert_eq(pupil->waiting_since_unix_s, 1788220800); /* 2026-09-01T00:00:00Z */
  cr_assert_str_eq(pupil->school_notes, "needs\nramp");
  lp_messages_free(messages, table.n_rows);
  lp_csv_table_free(&table);
}

/* One bad cell per case: the message names file, line, column number and name, and the fault. */
typedef struct bad_row_case {
  char kind[16];
  char text[400];
  char expected[160];
} bad_row_case;

static const bad_row_case bad_rows[] = {
    {"trainings", "code,name\nelektro,X\n", "in.csv:2:1 (code): \"elektro\" is not a training code"},
    {"trainings", "code,name\nBOUW,\n", "in.csv:2:2 (name): is empty but required"},
    {"companies", "id,name\n0123.456.789,X\n", "in.csv:2:1 (id): \"0123.456.789\" is not an enterprise number"},
    {"companies", "id,name,recognised_trainings\n0123456789,X,BOUW;BOUW\n",
     "in.csv:2:3 (recognised_trainings): \"BOUW\" is listed twice"},
    {"companies", "id,name,recognised_trainings\n0123456789,X,BOUW;elektro\n",
     "in.csv:2:3 (recognised_trainings): item 2 \"elektro\" is not a training code"},
    {"locations", "id,company_id,latitude,longitude,postcode\nL1,0123456789,91,4.4,2000\n",
     "in.csv:2:3 (latitude): 91 is outside -90..90"},
    {"locations", "id,company_id,latitude,longitude,postcode\nL1,0123456789,51.2,4.4,B-2000\n",
     "in.csv:2:5 (postcode): \"B-2000\" is not a postcode"},
    {"locations", "id,company_id,latitude,longitude,postcode\nL 1,0123456789,51.2,4.4,2000\n",
     "in.csv:2:1 (id): \"L 1\" is not an id"},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date\nV1,L1,BOUW,0,ready,mon,regular,2026-09-"
     "01\n",
     "in.csv:2:4 (seats): 0 is outside 1..100"},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date\nV1,L1,BOUW,1,eager,mon,regular,2026-09-"
     "01\n",
     "in.csv:2:5 (min_readiness): \"eager\" is not one of not_ready, partly, ready"},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date\nV1,L1,BOUW,1,ready,maandag,regular,2026-"
     "09-01\n",
     "in.csv:2:6 (days): unknown day \"maandag\""},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date\nV1,L1,BOUW,1,ready,mon,regular,2026-02-"
     "30\n",
     "in.csv:2:8 (start_date): 2026-02-30: day 30 does not exist"},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date\nV1,L1,BOUW,1,not_ready,mon,regular,2026-"
     "09-01\n",
     "in.csv:2:5 (min_readiness): a regular place needs partly or ready"},
    {"vacancies",
     "id,location_id,training_code,seats,min_readiness,days,kind,start_date,state\nV1,L1,BOUW,1,ready,mon,regular,2026-"
     "09-01,gone\n",
     "in.csv:2:9 (state): \"gone\" is not one of open, closed"},
    {"pupils",
     "ref,training_code,readiness,latitude,longitude,home_postcode,max_commute_km,days\np1,BOUW,ready,51.2,4.4,2000,0."
     "05,mon\n",
     "in.csv:2:7 (max_commute_km): 0.05 is outside 0.1..200 (km)"},
    {"pupils",
     "ref,training_code,readiness,latitude,longitude,home_postcode,max_commute_km,days,newcomer_okan\np1,BOUW,ready,51."
     "2,4.4,2000,10,mon,ja\n",
     "in.csv:2:9 (newcomer_okan): \"ja\" is not true/false"},
    {"pupils",
     "ref,training_code,readiness,latitude,longitude,home_postcode,max_commute_km,days,waiting_since\np1,BOUW,ready,51."
     "2,4.4,2000,10,mon,23/11/2026\n",
     "in.csv:2:9 (waiting_since): \"23/11/2026\" is not a date YYYY-MM-DD"},
    {"pupils",
     "ref,training_code,readiness,latitude,longitude,home_postcode,max_commute_km,days,preferred_companies\np1,BOUW,"
     "ready,51.2,4.4,2000,10,mon,1;2;3;4;5;6;7;8;9;10;11\n",
     "in.csv:2:9 (preferred_companies): more than 10 items"},
    {"pupils",
     "ref,training_code,readiness,latitude,longitude,home_postcode,max_commute_km,days\n,BOUW,ready,51.2,4.4,2000,10,"
     "mon\n",
     "in.csv:2:1 (ref): is empty but required"},
    /* Structure of the file rather than a cell. */
    {"trainings", "code,name,colour\nBOUW,Bouw,red\n", "in.csv:1:3: unknown column \"colour\" for trainings"},
    {"trainings", "code\nBOUW\n", "in.csv:1: missing column \"name\""},
    {"trainings", "code,name,code\nBOUW,Bouw,BOUW\n", "in.csv:1:3: column \"code\" appears twice"},
    {"trainings", "code,name\nBOUW,Bouw,extra\n", "in.csv:2: row has 3 fields but the header has 2"},
};

Test(entities, each_bad_row_is_named) {
  for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
    lp_csv_table table;
    lp_diags diags = {0};
    ProtobufCMessage **messages = (ProtobufCMessage **)&table; /* must be reset to NULL */
    size_t problems = convert(bad_rows[i].kind, bad_rows[i].text, &table, &messages, &diags);
    cr_expect_geq(problems, 1, "case %zu accepted", i);
    cr_expect_null(messages, "case %zu returned messages", i);
    cr_expect(diag_contains(&diags, bad_rows[i].expected), "case %zu: expected \"%s\", got \"%s\"", i,
              bad_rows[i].expected, diags.kept ? diags.messages[0] : "(nothing)");
    lp_diags_free(&diags);
    lp_csv_table_free(&table);
  }
}

Test(entities, every_problem_of_a_file_is_reported) {
  lp_csv_table table;
  lp_diags diags = {0};
  ProtobufCMessage **messages;
  const char text[] = "code,name\nok,Fine\nBOUW,\nGOOD,Good\nbad code,\n";
  size_t problems = convert("trainings", text, &table, &messages, &diags);
  cr_assert_eq(problems, 4);
  cr_assert(diag_contains(&diags, "in.csv:2:1 (code)"));
  cr_assert(diag_contains(&diags, "in.csv:3:2 (name)"));
  cr_assert(diag_contains(&diags, "in.csv:5:1 (code)"));
  cr_assert(diag_contains(&diags, "in.csv:5:2 (name)"));
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
}

Test(diags, counts_beyond_what_is_kept) {
  lp_diags diags = {0};
  for (int i = 0; i < LP_DIAGS_KEPT + 5; i++) lp_diag_add(&diags, "problem %d", i);
  cr_assert_eq(diags.count, LP_DIAGS_KEPT + 5);
  cr_assert_eq(diags.kept, LP_DIAGS_KEPT);
  char *buffer = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buffer, &size);
  lp_diags_print(&diags, out);
  fclose(out);
  cr_assert(strstr(buffer, "... and 5 more"));
  free(buffer);
  lp_diags_free(&diags);
}

Test(csv_read, other_delimiters) {
  const char text[] = "code;name\nA;\"x;y\"\n";
  lp_csv_table table;
  lp_diags diags = {0};
  FILE *in = fmemopen((void *)text, sizeof text - 1, "r");
  cr_assert_eq(lp_csv_read_with("s.csv", in, ';', &table, &diags), 0);
  fclose(in);
  cr_assert_eq(table.header.n_fields, 2);
  cr_assert_str_eq(table.rows[0].fields[1], "x;y");
  lp_csv_table_free(&table);
  /* Output quotes cells holding the chosen delimiter, and only those. */
  char *buffer = NULL;
  size_t size = 0;
  lp_csv_set_output_delimiter(';');
  FILE *out = open_memstream(&buffer, &size);
  lp_csv_write_cell(out, "a,b");
  fputc('|', out);
  lp_csv_write_cell(out, "a;b");
  fclose(out);
  lp_csv_set_output_delimiter(',');
  cr_assert_str_eq(buffer, "a,b|\"a;b\"");
  free(buffer);
}

/* Memory follows the bytes read: rows of 64 fields, 63 of them empty (the costliest shape per
 * byte), may take at most 12 bytes of heap per byte of input, the field pointers included
 * (they used to take a separate allocation per field, about 40 bytes per byte). Measured with
 * glibc's mallinfo2, which does not see AddressSanitizer's allocator, so only in the plain
 * build; the content is checked in both. */
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_MEASURED 0
#else
#define HEAP_MEASURED 1
#endif

Test(csv_read, memory_follows_the_bytes_read) {
  const size_t rows = 20000;
  char line[80];
  memset(line, ',', 63);
  line[63] = 'x';
  line[64] = '\n';
  size_t line_size = 65, size = (rows + 1) * line_size;
  char *text = malloc(size);
  for (size_t i = 0; i <= rows; i++) memcpy(text + i * line_size, line, line_size);
  size_t before = mallinfo2().uordblks;
  lp_csv_table table;
  lp_diags diags = {0};
  cr_assert_eq(read_text("wide.csv", text, size, &table, &diags), 0);
  size_t used = mallinfo2().uordblks - before;
  cr_assert_eq(table.n_rows, rows);
  cr_assert_eq(table.rows[rows - 1].n_fields, 64);
  cr_assert_str_eq(table.rows[rows - 1].fields[63], "x");
  cr_assert_str_eq(table.rows[rows - 1].fields[0], "");
  cr_assert_eq(table.rows[rows - 1].line, rows + 1);
  if (HEAP_MEASURED) cr_assert_leq(used, 12 * size, "%zu bytes of heap for %zu bytes of CSV", used, size);
  lp_csv_table_free(&table);
  lp_diags_free(&diags);
  free(text);
}
