/* test_demo_agreements.c: the demo's start state through the real tool and a real leerplekd and
 * redis-server. `leerplek import agreements` of leerplek-gen's agreements.csv leaves the report
 * with the seed's counts (367 agreements in all, 321 running, 46 ended) and every row's
 * placement as the row says; the rematch after it leaves those pupils and their seats as they
 * were while it still proposes and leaves pupils unplaced with checked hints. A file with one
 * bad row, more rows on a vacancy than it has free seats, or a token that is not a
 * coordinator's imports nothing; --check with a token sends nothing that writes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "run_cli.h"

#ifndef LEERPLEK_GEN_PATH
#error "LEERPLEK_GEN_PATH must name leerplek-gen"
#endif

#define ROWS_MAX 400

static lp_harness harness;
static leerplek_client *coordinator;
static char address_env[400], token_env[200], directory[400];

typedef struct agreement_row {
  char school[32], ref[32], vacancy[32], agreement[32], ended_on[16];
} agreement_row;

static agreement_row rows[ROWS_MAX];
static int n_rows;

static void setup(void) {
  start_all(&harness, NULL);
  char token[128];
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  cr_assert_not_null(coordinator = harness_connect(&harness, token));
  snprintf(address_env, sizeof address_env, "LEERPLEK_ADDRESS=%s", harness.daemon_address);
  snprintf(token_env, sizeof token_env, "LEERPLEK_TOKEN=%s", token);
  snprintf(directory, sizeof directory, "%s/demo", harness.dir);
  char command[1000];
  snprintf(command, sizeof command, "'%s' --demo '%s' --seed 1 >/dev/null", LEERPLEK_GEN_PATH, directory);
  cr_assert_eq(system(command), 0, "leerplek-gen --demo failed");
}

static void teardown(void) {
  leerplek_close(coordinator);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(demo_agreements, .init = setup, .fini = teardown, .timeout = 300);

/* `leerplek import KIND FILE [flag]` as the coordinator; the result (the caller frees it). */
static cli_result import(const char *kind, const char *file, const char *flag) {
  const char *args[] = {"import", kind, file, flag, NULL};
  const char *env[] = {address_env, token_env, NULL};
  return run_cli(args, env, NULL);
}

static void path_of(const char *name, char *path, size_t size) { snprintf(path, size, "%s/%s", directory, name); }

/* Everything the agreements refer to: the catalogue, the vacancies, the waiting pupils (with
 * their requests) and the pupils of the agreements (registered only). */
static void import_all_but_agreements(void) {
  static const char *const files[] = {"trainings", "companies", "locations", "vacancies", "pupils", "agreement-pupils"};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char path[500], name[64];
    snprintf(name, sizeof name, "%s.csv", files[k]);
    path_of(name, path, sizeof path);
    cli_result result = import(k == 5 ? "pupils" : files[k], path, k == 4 ? "--request" : NULL);
    cr_assert_eq(result.status, 0, "import %s: %s", files[k], result.err);
    cli_result_free(&result);
  }
}

/* The first columns of agreements.csv: school, pupil, vacancy, reference, ..., ended_on. */
static void read_agreements(void) {
  char path[500], line[2000];
  path_of("agreements.csv", path, sizeof path);
  FILE *in = fopen(path, "r");
  cr_assert_not_null(in, "no %s", path);
  cr_assert_not_null(fgets(line, sizeof line, in));
  n_rows = 0;
  while (fgets(line, sizeof line, in)) {
    cr_assert_lt(n_rows, ROWS_MAX);
    agreement_row *row = &rows[n_rows++];
    char *cells[8] = {0}, *at = line;
    for (int k = 0; k < 8; k++) {
      cells[k] = at;
      at = strchr(at, ',');
      cr_assert_not_null(at, "a short row: %s", line);
      *at++ = '\0';
    }
    snprintf(row->school, sizeof row->school, "%s", cells[0]);
    snprintf(row->ref, sizeof row->ref, "%s", cells[1]);
    snprintf(row->vacancy, sizeof row->vacancy, "%s", cells[2]);
    snprintf(row->agreement, sizeof row->agreement, "%s", cells[3]);
    snprintf(row->ended_on, sizeof row->ended_on, "%s", cells[7]);
  }
  fclose(in);
}

static Leerplek__V1__Headline *headline_now(Leerplek__V1__Response **response) {
  cr_assert_eq(get_report(coordinator, response), 0);
  return (*response)->get_report->report->headline;
}

typedef struct seen {
  int state;
  uint64_t proposal_id;
  char vacancy[32];
} seen;

/* Every row's placement is as the row says: AGREEMENT (running) or ENDED, at its vacancy, with
 * its reference; what was seen goes to `out`. */
static void expect_rows_in_store(seen *out, const char *when) {
  for (int k = 0; k < n_rows; k++) {
    Leerplek__V1__Response *response = NULL;
    const Leerplek__V1__Placement *placement = placement_at(coordinator, rows[k].school, rows[k].ref, &response);
    int wanted = rows[k].ended_on[0] ? LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ENDED
                                     : LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT;
    cr_expect_eq(placement->state, wanted, "%s: %s is in state %d, not %d", when, rows[k].ref, placement->state,
                 wanted);
    cr_assert_not_null(placement->offer, "%s: %s has no offer", when, rows[k].ref);
    cr_expect_str_eq(placement->offer->vacancy_id, rows[k].vacancy, "%s: %s", when, rows[k].ref);
    cr_assert_not_null(placement->agreement, "%s: %s has no agreement", when, rows[k].ref);
    cr_expect_str_eq(placement->agreement->agreement_ref, rows[k].agreement, "%s: %s", when, rows[k].ref);
    out[k].state = placement->state;
    out[k].proposal_id = placement->proposal_id;
    snprintf(out[k].vacancy, sizeof out[k].vacancy, "%s", placement->offer->vacancy_id);
    leerplek_response_free(response);
  }
}

Test(demo_agreements, import_gives_the_seed_counts_and_the_rematch_keeps_them) {
  import_all_but_agreements();
  read_agreements();
  int running = 0, ended = 0;
  for (int k = 0; k < n_rows; k++) {
    running += !rows[k].ended_on[0];
    ended += rows[k].ended_on[0] != '\0';
  }
  cr_expect_eq(n_rows, 367, "agreements.csv: %d rows, not the seed's 367", n_rows);
  cr_expect_eq(running, 321, "agreements.csv: %d running, not the seed's 321", running);
  cr_expect_eq(ended, 46);

  char path[500];
  path_of("agreements.csv", path, sizeof path);
  cli_result result = import("agreements", path, NULL);
  cr_assert_eq(result.status, 0, "import agreements: %s", result.err);
  cr_expect_not_null(strstr(result.out, "imported 367 of 367 agreements"), "%s", result.out);
  cli_result_free(&result);

  Leerplek__V1__Response *report = NULL;
  const Leerplek__V1__Headline *headline = headline_now(&report);
  cr_expect_eq(headline->agreements_all, (uint32_t)n_rows, "the report's agreements_all");
  cr_expect_eq(headline->agreements_running, (uint32_t)running, "the report's agreements_running");
  cr_expect_eq(headline->agreements, (uint32_t)running, "the report's agreements (not ended)");
  cr_expect_eq(headline->pupils_in_dual_learning, (uint32_t)running);
  cr_expect_eq(headline->pupils_registered, 307u + 367u);
  uint32_t agreement_pupils = 0;
  for (size_t r = 0; r < report->get_report->report->n_by_training; r++)
    agreement_pupils += report->get_report->report->by_training[r]->pupils_agreement;
  cr_expect_eq(agreement_pupils, (uint32_t)running, "the per-training rows count %u pupils with an agreement",
               agreement_pupils);
  leerplek_response_free(report);

  static seen before[ROWS_MAX], after[ROWS_MAX];
  expect_rows_in_store(before, "after the import");
  /* The seats the running agreements hold, per vacancy: they are the vacancy's filled seats. */
  static uint32_t filled_before[ROWS_MAX];
  for (int k = 0; k < n_rows; k++) {
    uint32_t proposed, filled, holding = 0;
    vacancy_seats_of(coordinator, rows[k].vacancy, &proposed, &filled);
    for (int j = 0; j < n_rows; j++) holding += !rows[j].ended_on[0] && strcmp(rows[j].vacancy, rows[k].vacancy) == 0;
    cr_expect_eq(filled, holding, "%s: %u seats filled, %u running agreements there", rows[k].vacancy, filled, holding);
    cr_expect_eq(proposed, 0u, "%s: a proposal before any rematch", rows[k].vacancy);
    filled_before[k] = filled;
  }

  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *rematch = response->run_rematch->result;
  cr_expect(rematch->proven_optimal);
  cr_expect_eq(rematch->pupils, 307u, "the rematch saw %u waiting pupils", rematch->pupils);
  cr_expect_eq(rematch->fixed, (uint32_t)running, "the rematch kept %u", rematch->fixed);
  cr_expect_gt(rematch->placed, 100u, "a meaningful rematch proposes");
  cr_expect_gt(rematch->unplaced, 10u, "and leaves some unplaced");
  cr_expect_eq(rematch->hints_checked, rematch->unplaced, "every unplaced pupil has a checked hint");
  leerplek_response_free(response);

  expect_rows_in_store(after, "after the rematch");
  for (int k = 0; k < n_rows; k++) {
    cr_expect_eq(after[k].proposal_id, before[k].proposal_id, "%s: the rematch changed the proposal", rows[k].ref);
    uint32_t proposed, filled;
    vacancy_seats_of(coordinator, rows[k].vacancy, &proposed, &filled);
    cr_expect_eq(filled, filled_before[k], "%s: the rematch changed the filled seats", rows[k].vacancy);
  }
  headline = headline_now(&report);
  cr_expect_eq(headline->agreements_all, (uint32_t)n_rows);
  cr_expect_eq(headline->agreements_running, (uint32_t)running);
  leerplek_response_free(report);

  /* Again: everything is there already, nothing changes. */
  result = import("agreements", path, NULL);
  cr_expect_eq(result.status, 0, "a second import: %s", result.err);
  cr_expect_not_null(strstr(result.out, "0 recorded now, 367 there already"), "%s", result.out);
  cli_result_free(&result);
}

/* Writes agreements.csv's header and its first `keep` rows to `name`, then `extra` (may be ""). */
static void write_variant(const char *name, int keep, const char *vacancy_for_all, const char *extra, char *path,
                          size_t size) {
  char source[500], line[2000];
  path_of("agreements.csv", source, sizeof source);
  path_of(name, path, size);
  FILE *in = fopen(source, "r"), *out = fopen(path, "w");
  cr_assert(in && out);
  for (int k = 0; k <= keep && fgets(line, sizeof line, in); k++) {
    if (k > 0 && vacancy_for_all) {
      char *first = strchr(line, ','), *second = first ? strchr(first + 1, ',') : NULL;
      char *third = second ? strchr(second + 1, ',') : NULL;
      cr_assert_not_null(third);
      fprintf(out, "%.*s,%s%s", (int)(second - line), line, vacancy_for_all, third);
    } else {
      fputs(line, out);
    }
  }
  fputs(extra, out);
  fclose(in);
  fclose(out);
}

static void expect_nothing_imported(const char *what) {
  Leerplek__V1__Response *report = NULL;
  const Leerplek__V1__Headline *headline = headline_now(&report);
  cr_expect_eq(headline->agreements_all, 0u, "%s: %u agreements stored", what, headline->agreements_all);
  leerplek_response_free(report);
  /* Not even the first row's pupil was placed or given a request. */
  Leerplek__V1__Response *response = NULL;
  cr_expect_neq(get_placement_of(coordinator, rows[0].school, rows[0].ref, &response), 0,
                "%s: the first row's pupil has a placement", what);
  leerplek_response_free(response);
}

Test(demo_agreements, a_bad_row_or_too_few_seats_imports_nothing) {
  import_all_but_agreements();
  read_agreements();
  char path[500];

  /* A row naming a vacancy the store lacks, after 20 good ones. */
  char extra[300];
  snprintf(extra, sizeof extra, "%s,%s,V-999999,OAO-X-1,2026-08-20,2026-09-01,2028-06-30,,,by phone\n",
           rows[299].school, rows[299].ref);
  write_variant("unknown-vacancy.csv", 20, NULL, extra, path, sizeof path);
  cli_result result = import("agreements", path, NULL);
  cr_expect_eq(result.status, 2, "unknown vacancy: status %d", result.status);
  cr_expect_not_null(strstr(result.err, "nothing was imported"), "%s", result.err);
  cr_expect_not_null(strstr(result.err, "V-999999"), "%s", result.err);
  cli_result_free(&result);
  expect_nothing_imported("unknown vacancy");

  /* The same 20 rows all on the first row's vacancy: more than its free seats. */
  write_variant("one-vacancy.csv", 20, rows[0].vacancy, "", path, sizeof path);
  result = import("agreements", path, NULL);
  cr_expect_eq(result.status, 2, "too few seats: status %d", result.status);
  cr_expect_not_null(strstr(result.err, "free"), "%s", result.err);
  cli_result_free(&result);
  expect_nothing_imported("too few seats");

  /* A bad date and an end without a reason, found by the file's own check (no token). */
  write_variant("bad-dates.csv", 2, NULL,
                "VT001,A-000300,V-000001,OAO-X-2,2026-02-30,2026-09-01,2028-06-30,,,by phone\n"
                "VT001,A-000301,V-000001,OAO-X-3,2026-08-20,2026-09-01,2028-06-30,2026-10-01,,by phone\n",
                path, sizeof path);
  const char *args[] = {"import", "agreements", path, "--check", NULL};
  result = run_cli(args, NULL, NULL);
  cr_expect_eq(result.status, 2, "bad dates: status %d", result.status);
  cr_expect_not_null(strstr(result.err, "bad-dates.csv:4 (signed_on)"), "%s", result.err);
  cr_expect_not_null(strstr(result.err, "bad-dates.csv:5 (end_reason)"), "%s", result.err);
  cli_result_free(&result);

  /* A school's token may not place pupils by hand: refused before anything is stored. */
  char school_token[128], school_env[200];
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, rows[0].school, school_token, sizeof school_token);
  leerplek_close(admin);
  snprintf(school_env, sizeof school_env, "LEERPLEK_TOKEN=%s", school_token);
  write_variant("own-school.csv", 1, NULL, "", path, sizeof path);
  const char *school_args[] = {"import", "agreements", path, NULL};
  const char *school_envs[] = {address_env, school_env, NULL};
  result = run_cli(school_args, school_envs, NULL);
  cr_expect_eq(result.status, 2, "a school token: status %d (%s)", result.status, result.err);
  cr_expect_not_null(strstr(result.err, "coordinator token"), "%s", result.err);
  cli_result_free(&result);
  expect_nothing_imported("a school token");

  /* --check with a token asks the store and writes nothing. */
  path_of("agreements.csv", path, sizeof path);
  result = import("agreements", path, "--check");
  cr_expect_eq(result.status, 0, "--check of the good file: %s", result.err);
  cr_expect_not_null(strstr(result.out, "367 agreements rows are fine"), "%s", result.out);
  cli_result_free(&result);
  expect_nothing_imported("--check");
}
