/* test_output.c: what the `leerplek` tool prints (leerplek_output, leerplek_entities): cell
 * text of JSON values, tables, CSV that import reads back to the same messages, JSON, and the
 * reflective proto-to-JSON view of placements (enum names, dates, times, day text). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leerplek_csv.h"
#include "leerplek_entities.h"
#include "leerplek_output.h"

/* Runs a printer into a string; the caller frees it. */
#define CAPTURE(buffer, statement)                                                                                     \
  do {                                                                                                                 \
    size_t capture_size = 0;                                                                                           \
    FILE *out = open_memstream(&(buffer), &capture_size);                                                              \
    cr_assert_not_null(out);                                                                                           \
    statement;                                                                                                         \
    fclose(out);                                                                                                       \
  } while (0)

Test(cells, text_of_each_json_type) {
  json_t *values = json_pack("[s,i,f,f,b,b,n,[s,s],[]]", "x,y", (json_int_t)42, 51.2172, -0.0, 1, 0, "A", "B");
  static const char *const expected[] = {"x,y", "42", "51.2172", "0", "true", "false", "", "A;B", ""};
  for (size_t i = 0; i < json_array_size(values); i++) {
    char *text = lp_cell_text(json_array_get(values, i));
    cr_assert_str_eq(text, expected[i], "value %zu", i);
    free(text);
  }
  json_decref(values);
}

static json_t *sample_items(void) {
  return json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:s}}]", "id", "V1", "note", "a, \"quoted\"\nnote", "offer",
                   "company", "Bouw NV", "id", "V22", "note", "", "offer", "company", "");
}

Test(lists, csv_quotes_and_follows_dotted_columns) {
  json_t *items = sample_items();
  const char *columns[] = {"id", "note", "offer.company"};
  char *text = NULL;
  CAPTURE(text, lp_print_list(out, LP_FORMAT_CSV, columns, 3, items));
  cr_assert_str_eq(text, "id,note,offer.company\nV1,\"a, \"\"quoted\"\"\nnote\",Bouw NV\nV22,,\n");
  free(text);
  json_decref(items);
}

Test(lists, table_aligns_and_keeps_one_line_per_row) {
  json_t *items = sample_items();
  const char *columns[] = {"id", "offer.company"};
  char *text = NULL;
  CAPTURE(text, lp_print_list(out, LP_FORMAT_TABLE, columns, 2, items));
  cr_assert_str_eq(text, "id   offer.company\nV1   Bouw NV\nV22  \n");
  free(text);
  const char *with_note[] = {"note"};
  CAPTURE(text, lp_print_list(out, LP_FORMAT_TABLE, with_note, 1, items));
  cr_assert_str_eq(text, "note\na, \"quoted\" note\n\n", "newlines in cells become spaces");
  free(text);
  json_decref(items);
}

Test(lists, json_is_the_array) {
  json_t *items = sample_items();
  const char *columns[] = {"id"};
  char *text = NULL;
  CAPTURE(text, lp_print_list(out, LP_FORMAT_JSON, columns, 1, items));
  json_error_t error;
  json_t *back = json_loads(text, 0, &error);
  cr_assert_not_null(back, "not JSON: %s", error.text);
  cr_assert(json_equal(back, items), "JSON output must carry every field");
  json_decref(back);
  free(text);
  json_decref(items);
}

/* Export then import: every kind's CSV output is read back into the same message. */
Test(entities, csv_output_reads_back_identically) {
  const char *inputs[CLI_ENTITY_COUNT] = {
      "code,name\nBOUW,\"Bouw, ruwbouw\"\n",
      "id,name,recognised_trainings\n0123456789,Bouw NV,BOUW;ELEKTRO-INST\n",
      "id,company_id,name,address,latitude,longitude,postcode,district\nL1,0123456789,Werf,\"Kaai 1, "
      "Antwerpen\",51.2172,-4.4211,2000,\n",
      "id,location_id,training_code,seats,min_readiness,days,kind,start_date,mentor,state\n"
      "V1,L1,BOUW,3,partly,A:mon;B:tue,regular,2026-09-01,Chef,closed\n",
      "school_id,ref,training_code,readiness,latitude,longitude,home_postcode,home_district,max_commute_km,days,"
      "preferred_companies,excluded_companies,newcomer_okan,special_needs_buso,waiting_since,school_notes\n"
      "S1,p.1,BOUW,not_ready,51.215,4.42,2000,Centrum,12.345,MTWTF..MTWTF..,0123456789,0999999999,true,true,"
      "2026-09-01T08:30:00Z,\"line 1\nline 2\"\n",
      "id,name,site_id,site_name,latitude,longitude,postcode,district\noal-1,\"Zuid, "
      "vzw\",s1,Atelier,51.18,4.35,2660,Hoboken\n",
      "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n"
      "OFF-1,oal-1,s1,foibal,BOUW;ZORG,4,A:mon;B:tue,2026-09-01\n",
      "school_id,pupil_ref,component,reason,urgency,share_priority_flags,share_school_notes\n"
      "S1,p.1,ALTDEL,\"work, with guidance\",high,true,false\n",
  };
  for (int k = 0; k < CLI_ENTITY_COUNT; k++) {
    const cli_entity *kind = &cli_entities[k];
    lp_csv_table table, again_table;
    lp_diags diags = {0};
    ProtobufCMessage **messages, **again;
    FILE *in = fmemopen((void *)inputs[k], strlen(inputs[k]), "r");
    cr_assert_eq(lp_csv_read("in.csv", in, &table, &diags), 0);
    fclose(in);
    cr_assert_eq(lp_rows_to_messages(kind, &table, &messages, &diags), 0, "%s: %s", kind->name,
                 diags.kept ? diags.messages[0] : "");
    json_t *items = json_array();
    json_array_append_new(items, lp_entity_to_json(kind, messages[0]));
    const char *columns[LP_CSV_MAX_FIELDS];
    cli_entity_column_names(kind, columns);
    char *text = NULL;
    CAPTURE(text, lp_print_list(out, LP_FORMAT_CSV, columns, kind->n_columns, items));
    in = fmemopen(text, strlen(text), "r");
    cr_assert_eq(lp_csv_read("out.csv", in, &again_table, &diags), 0);
    fclose(in);
    cr_assert_eq(lp_rows_to_messages(kind, &again_table, &again, &diags), 0, "%s: %s\n%s", kind->name,
                 diags.kept ? diags.messages[0] : "", text);
    size_t size_a = protobuf_c_message_get_packed_size(messages[0]);
    size_t size_b = protobuf_c_message_get_packed_size(again[0]);
    uint8_t *packed_a = malloc(size_a + 1), *packed_b = malloc(size_b + 1);
    protobuf_c_message_pack(messages[0], packed_a);
    protobuf_c_message_pack(again[0], packed_b);
    cr_assert(size_a == size_b && memcmp(packed_a, packed_b, size_a) == 0, "%s changed on the way:\n%s", kind->name,
              text);
    free(packed_a);
    free(packed_b);
    free(text);
    json_decref(items);
    lp_messages_free(messages, 1);
    lp_messages_free(again, 1);
    lp_csv_table_free(&table);
    lp_csv_table_free(&again_table);
  }
}

Test(reflection, placement_as_json) {
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__Offer offer = LEERPLEK__V1__OFFER__INIT;
  offer.vacancy_id = "V1";
  offer.day_mask = 0x183;
  offer.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  offer.start_date = &start;
  offer.distance_m = 4200;
  Leerplek__V1__Placement placement = LEERPLEK__V1__PLACEMENT__INIT;
  placement.school_id = "S1";
  placement.pupil_ref = "p-1";
  placement.state = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED;
  placement.proposal_id = 77;
  placement.offer = &offer;
  placement.requested_unix_s = 1795439109;
  json_t *object = lp_message_to_json(&placement.base);
  cr_assert_str_eq(json_string_value(json_object_get(object, "state")), "proposed");
  cr_assert_eq(json_integer_value(json_object_get(object, "proposal_id")), 77);
  cr_assert_str_eq(json_string_value(json_object_get(object, "requested")), "2026-11-23T13:05:09Z");
  cr_assert_str_eq(json_string_value(json_object_get(object, "proposed")), "", "0 times print as empty");
  cr_assert_null(json_object_get(object, "agreement"), "absent sub-messages are left out");
  cr_assert_str_eq(json_string_value(lp_json_path(object, "offer.days")), "mon,tue");
  cr_assert_str_eq(json_string_value(lp_json_path(object, "offer.kind")), "regular");
  cr_assert_str_eq(json_string_value(lp_json_path(object, "offer.start_date")), "2026-09-01");
  cr_assert_eq(json_integer_value(lp_json_path(object, "offer.distance_m")), 4200);
  cr_assert_null(lp_json_path(object, "offer.nothing.here"));

  char *text = NULL;
  CAPTURE(text, lp_print_object(out, LP_FORMAT_TABLE, object));
  cr_assert(strstr(text, "state: proposed\n"), "%s", text);
  cr_assert(strstr(text, "offer:\n  vacancy_id: V1\n"), "%s", text);
  free(text);
  /* One record as CSV: nested objects become dotted columns with their values. */
  CAPTURE(text, lp_print_object(out, LP_FORMAT_CSV, object));
  cr_assert(strncmp(text, "school_id,pupil_ref,", 20) == 0, "%s", text);
  cr_assert(strstr(text, ",offer.vacancy_id,"), "%s", text);
  cr_assert(strstr(text, "\nS1,p-1,"), "%s", text);
  cr_assert(strstr(text, ",V1,"), "nested values are filled in: %s", text);
  cr_assert(strstr(text, ",mon,tue,") == NULL && strstr(text, ",\"mon,tue\","), "%s", text);
  free(text);
  json_decref(object);
}

Test(reflection, repeated_fields_and_points) {
  Leerplek__V1__GeoPoint home = LEERPLEK__V1__GEO_POINT__INIT;
  home.lat_e6 = 51215000, home.lon_e6 = -4420000;
  char *preferred[] = {"0123456789", "0999999999"};
  Leerplek__V1__Pupil pupil = LEERPLEK__V1__PUPIL__INIT;
  pupil.home = &home;
  pupil.n_preferred_company_ids = 2;
  pupil.preferred_company_ids = preferred;
  pupil.newcomer_okan = 1;
  json_t *object = lp_message_to_json(&pupil.base);
  cr_assert_eq(json_array_size(json_object_get(object, "preferred_company_ids")), 2);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(object, "preferred_company_ids"), 1)),
                   "0999999999");
  cr_assert(json_is_true(json_object_get(object, "newcomer_okan")));
  char *latitude = lp_cell_text(lp_json_path(object, "home.latitude"));
  char *longitude = lp_cell_text(lp_json_path(object, "home.longitude"));
  cr_assert_str_eq(latitude, "51.215");
  cr_assert_str_eq(longitude, "-4.42");
  free(latitude);
  free(longitude);
  json_decref(object);
}

Test(lists, empty_lists_still_have_a_header) {
  json_t *items = json_array();
  const char *columns[] = {"id", "name"};
  char *text = NULL;
  CAPTURE(text, lp_print_list(out, LP_FORMAT_CSV, columns, 2, items));
  cr_assert_str_eq(text, "id,name\n", "an empty export is still a valid import file");
  free(text);
  CAPTURE(text, lp_print_list(out, LP_FORMAT_TABLE, columns, 2, items));
  cr_assert_str_eq(text, "id  name\n");
  free(text);
  CAPTURE(text, lp_print_list(out, LP_FORMAT_JSON, columns, 2, items));
  cr_assert_str_eq(text, "[]\n");
  free(text);
  json_decref(items);
}

Test(reflection, report_reads_as_sections_and_tables) {
  Leerplek__V1__Headline headline = LEERPLEK__V1__HEADLINE__INIT;
  headline.pupils_registered = 120;
  headline.pupils_waiting = 30;
  Leerplek__V1__ReasonCount seats = LEERPLEK__V1__REASON_COUNT__INIT, far = LEERPLEK__V1__REASON_COUNT__INIT;
  seats.reason = LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN;
  seats.pupils = 4;
  far.reason = LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_NONE_WITHIN_COMMUTE;
  far.pupils = 2;
  Leerplek__V1__ReasonCount *reasons[] = {&seats, &far};
  Leerplek__V1__ReportRow row = LEERPLEK__V1__REPORT_ROW__INIT;
  row.key = "BOUW-RUW";
  row.name = "Ruwbouw";
  row.pupils_waiting = 6;
  row.shortage = 6;
  row.n_unplaced_by_reason = 2;
  row.unplaced_by_reason = reasons;
  Leerplek__V1__ReportRow *rows[] = {&row};
  Leerplek__V1__Report report = LEERPLEK__V1__REPORT__INIT;
  report.generated_unix_s = 1795439109;
  report.headline = &headline;
  report.n_by_training = 1;
  report.by_training = rows;
  json_t *object = lp_message_to_json(&report.base);
  char *text = NULL;
  CAPTURE(text, lp_print_object(out, LP_FORMAT_TABLE, object));
  cr_assert(strstr(text, "generated: 2026-11-23T13:05:09Z\n"), "%s", text);
  cr_assert(strstr(text, "headline:\n  pupils_registered: 120\n"), "%s", text);
  cr_assert(strstr(text, "by_training:\nkey       name     pupils_waiting"), "%s", text);
  cr_assert(strstr(text, "seats_taken:4;none_within_commute:2"), "reason counts read as name:count: %s", text);
  free(text);
  json_decref(object);
}

/* A table with one column and one row holding text, its one data line returned (malloc'd). */
static char *table_cell(const char *text) {
  json_t *items = json_pack("[{s:s}]", "note", text);
  const char *columns[] = {"note"};
  char *printed = NULL;
  CAPTURE(printed, lp_print_list(out, LP_FORMAT_TABLE, columns, 1, items));
  json_decref(items);
  char *line = strchr(printed, '\n');
  cr_assert_not_null(line);
  char *cell = strdup(line + 1);
  free(printed);
  cell[strcspn(cell, "\n")] = '\0';
  return cell;
}

static size_t characters(const char *text) {
  size_t count = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) count += (*p & 0xc0) != 0x80;
  return count;
}

/* Cells around the 40-character limit (the 38-character cell used to write past its buffer,
 * which ASan reports in the sanitised build), in ASCII and in 2-, 3- and 4-byte UTF-8. */
Test(lists, long_cells_are_cut_at_forty_characters_on_character_boundaries) {
  static const char *const units[] = {"x", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
    for (size_t n = 1; n <= 120; n++) {
      size_t unit = strlen(units[u]);
      char *text = malloc(n * unit + 1);
      for (size_t i = 0; i < n; i++) memcpy(text + i * unit, units[u], unit);
      text[n * unit] = '\0';
      char *cell = table_cell(text);
      if (n <= 40) {
        cr_assert_str_eq(cell, text, "unit %zu, %zu characters: kept whole", u, n);
      } else {
        cr_assert_eq(characters(cell), 40, "unit %zu, %zu characters: cut to 40, got %zu", u, n, characters(cell));
        cr_assert_eq(strncmp(cell, text, 37 * unit), 0, "unit %zu, %zu: the first 37 characters kept", u, n);
        cr_assert_str_eq(cell + 37 * unit, "...", "unit %zu, %zu: ends in ...", u, n);
      }
      free(cell);
      free(text);
    }
}

/* A long cell pads its column: the next column starts after the cut width, not the full text. */
Test(lists, long_cell_sets_column_width_after_the_cut) {
  char long_text[101];
  memset(long_text, 'a', 100);
  long_text[100] = '\0';
  json_t *items = json_pack("[{s:s,s:s}]", "note", long_text, "id", "V1");
  const char *columns[] = {"note", "id"};
  char *printed = NULL;
  CAPTURE(printed, lp_print_list(out, LP_FORMAT_TABLE, columns, 2, items));
  json_decref(items);
  char *row = strchr(printed, '\n') + 1;
  cr_assert_eq(strncmp(row + 37, "...  V1\n", 8), 0, "row: %s", row);
  free(printed);
}
