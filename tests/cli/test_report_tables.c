/* test_report_tables.c: clients/cli/leerplek_report.c without a daemon: the report's tables have
 * stable, language-neutral headers (the proto's field names, accepted and agreement apart, a
 * column per unplaced reason), one row per item, and the values of the report. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "leerplek.pb-c.h"
#include "leerplek_output.h"
#include "leerplek_report.h"

/* The columns joined by ',' for comparing with one expected header. */
static void header_of(const json_t *columns, char *out, size_t size) {
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(columns); i++) {
    if (i) strncat(out, ",", size - strlen(out) - 1);
    strncat(out, json_string_value(json_array_get(columns, i)), size - strlen(out) - 1);
  }
}

static json_t *sample_report(void) {
  Leerplek__V1__Report report = LEERPLEK__V1__REPORT__INIT;
  Leerplek__V1__Headline headline = LEERPLEK__V1__HEADLINE__INIT;
  headline.pupils_registered = 9, headline.pupils_proposed = 3, headline.pupils_accepted = 2, headline.agreements = 1;
  report.headline = &headline;
  Leerplek__V1__ReasonCount far = LEERPLEK__V1__REASON_COUNT__INIT, taken = LEERPLEK__V1__REASON_COUNT__INIT;
  far.reason = LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_NONE_WITHIN_COMMUTE, far.pupils = 2;
  taken.reason = LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN, taken.pupils = 1;
  Leerplek__V1__ReasonCount *reasons[] = {&far, &taken};
  Leerplek__V1__ReportRow row = LEERPLEK__V1__REPORT_ROW__INIT;
  row.key = (char *)"BOUW-RUW", row.name = (char *)"Ruwbouw, \"zwaar\"";
  row.pupils_waiting = 3, row.pupils_proposed = 3, row.pupils_accepted = 2, row.pupils_agreement = 1,
  row.pupils_placed = 3;
  row.n_unplaced_by_reason = 2, row.unplaced_by_reason = reasons;
  Leerplek__V1__ReportRow *rows[] = {&row};
  report.n_by_training = 1, report.by_training = rows;
  report.n_unplaced_by_reason = 2, report.unplaced_by_reason = reasons;
  Leerplek__V1__TypeCount buso = LEERPLEK__V1__TYPE_COUNT__INIT, syntra = LEERPLEK__V1__TYPE_COUNT__INIT;
  buso.school_type = LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_BUSO, buso.count = 4;
  syntra.school_type = LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA, syntra.count = 2;
  Leerplek__V1__TypeCount *pupils[] = {&buso}, *trainings[] = {&syntra};
  report.n_pupils_by_school_type = 1, report.pupils_by_school_type = pupils;
  report.n_trainings_by_provider_type = 1, report.trainings_by_provider_type = trainings;
  Leerplek__V1__RematchResult last = LEERPLEK__V1__REMATCH_RESULT__INIT;
  last.epoch = 7, last.placed = 3, last.fixed = 3;
  report.last_rematch = &last;
  return lp_message_to_json(&report.base);
}

Test(report_tables, rows_per_training_have_a_stable_header_and_a_column_per_reason) {
  json_t *report = sample_report(), *rows, *columns;
  cr_assert_eq(lp_report_table(report, "by_training", &rows, &columns), 0);
  char header[2048];
  header_of(columns, header, sizeof header);
  cr_expect_str_eq(header,
                   "key,name,pupils_waiting,pupils_proposed,open_vacancies,open_seats,free_seats,shortage,"
                   "pupils_with_hint,hint_seats,pupils_accepted,pupils_agreement,unplaced_no_recognised_vacancy,"
                   "unplaced_readiness_too_low,unplaced_none_within_commute,unplaced_no_compatible_days,"
                   "unplaced_all_excluded,unplaced_seats_taken,unplaced_starts_too_late");
  cr_assert_eq(json_array_size(rows), 1);
  const json_t *row = json_array_get(rows, 0);
  cr_expect_str_eq(json_string_value(json_object_get(row, "name")), "Ruwbouw, \"zwaar\"");
  cr_expect_eq(json_integer_value(json_object_get(row, "pupils_accepted")), 2);
  cr_expect_eq(json_integer_value(json_object_get(row, "pupils_agreement")), 1);
  cr_expect_eq(json_integer_value(json_object_get(row, "unplaced_none_within_commute")), 2);
  cr_expect_eq(json_integer_value(json_object_get(row, "unplaced_seats_taken")), 1);
  cr_expect_eq(json_integer_value(json_object_get(row, "unplaced_all_excluded")), 0);
  cr_expect_null(json_object_get(row, "pupils_placed"), "the sum of two states is no column");
  cr_expect_null(json_object_get(row, "unplaced_by_reason"), "no table packed into a cell");
  json_decref(rows), json_decref(columns), json_decref(report);
}

Test(report_tables, school_types_merge_three_lists_and_the_rematch_says_proposed) {
  json_t *report = sample_report(), *rows, *columns;
  cr_assert_eq(lp_report_table(report, "school_types", &rows, &columns), 0);
  char header[2048];
  header_of(columns, header, sizeof header);
  cr_expect_str_eq(header, "school_type,pupils,schools,trainings");
  cr_assert_eq(json_array_size(rows), 2, "the types any list names");
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "school_type")), "buso");
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "pupils")), 4);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(rows, 1), "trainings")), 2);
  json_decref(rows), json_decref(columns);
  cr_assert_eq(lp_report_table(report, "last_rematch", &rows, &columns), 0);
  header_of(columns, header, sizeof header);
  cr_expect(strstr(header, ",proposed,") && strstr(header, ",accepted_or_agreement,") && !strstr(header, ",placed,"),
            "%s", header);
  cr_expect_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "proposed")), 3);
  json_decref(rows), json_decref(columns);
  /* Empty tables keep their header; an unknown name is refused. */
  cr_assert_eq(lp_report_table(report, "shortages", &rows, &columns), 0);
  cr_expect_eq(json_array_size(rows), 0);
  header_of(columns, header, sizeof header);
  cr_expect_str_eq(header, "training_code,district,pupils_waiting,free_seats,shortage,needs_preparatory");
  json_decref(rows), json_decref(columns);
  cr_expect_eq(lp_report_table(report, "placements", &rows, &columns), -1);
  for (size_t t = 0; t < lp_report_table_count; t++) {
    cr_expect_eq(lp_report_table(report, lp_report_tables[t], &rows, &columns), 0, "%s", lp_report_tables[t]);
    json_decref(rows), json_decref(columns);
  }
  json_decref(report);
}
