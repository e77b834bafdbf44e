/* test_args.c: the `leerplek` binary without a daemon: --help on every level, argument and
 * input errors (exit 2, a message naming the problem on stderr, nothing on stdout), import
 * --check of CSV files with file:line:column errors, and exit 3 when no daemon answers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_cli.h"

#ifndef LEERPLEK_CLI_DATA
#error "LEERPLEK_CLI_DATA must name tests/cli/data"
#endif

/* An address where nothing listens: a unix socket path that does not exist. */
static const char *const no_daemon_env[] = {"LEERPLEK_ADDRESS=unix:/nonexistent/leerplek-test.sock", NULL};

#define RUN(result, env, input, ...)                                                                                   \
  do {                                                                                                                 \
    const char *const run_args[] = {__VA_ARGS__, NULL};                                                                \
    result = run_cli(run_args, env, input);                                                                            \
  } while (0)

static void expect_usage_error(cli_result *r, const char *message_part) {
  cr_expect_eq(r->status, 2, "exit %d, stderr: %s", r->status, r->err);
  cr_expect(strstr(r->err, message_part), "stderr lacks \"%s\": %s", message_part, r->err);
  cr_expect_str_eq(r->out, "", "nothing on stdout for usage errors");
}

Test(help, every_level_answers_with_exit_0) {
  static const char *const levels[][4] = {{"--help"},
                                          {"school", "--help"},
                                          {"company", "--help"},
                                          {"coordinator", "--help"},
                                          {"admin", "--help"},
                                          {"school", "register", "--help"},
                                          {"school", "status", "--help"},
                                          {"company", "publish", "--help"},
                                          {"coordinator", "rematch", "--help"},
                                          {"admin", "create-token", "--help"},
                                          {"import", "--help"},
                                          {"export", "--help"},
                                          {"export", "pupils", "--help"}};
  for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
    const char *args[5] = {levels[i][0], levels[i][1], levels[i][2], levels[i][3], NULL};
    cli_result r = run_cli(args, no_daemon_env, NULL);
    cr_expect_eq(r.status, 0, "%s %s: exit %d", args[0], args[1] ? args[1] : "", r.status);
    cr_expect(strstr(r.out, "Usage: leerplek"), "%s %s: no usage text: %s", args[0], args[1] ? args[1] : "", r.out);
    cli_result_free(&r);
  }
}

Test(help, import_help_documents_every_column) {
  cli_result r;
  RUN(r, no_daemon_env, NULL, "import", "--help");
  cr_assert_eq(r.status, 0);
  static const char *const columns[] = {"recognised_trainings", "latitude",       "min_readiness",
                                        "start_date",           "max_commute_km", "preferred_companies",
                                        "waiting_since",        "school_notes"};
  for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
    cr_expect(strstr(r.out, columns[i]), "import --help lacks column %s", columns[i]);
  cr_expect(strstr(r.out, "MT.....MT....."), "the day mask forms are documented");
  cli_result_free(&r);
}

Test(usage, unknown_group_command_and_option) {
  cli_result r;
  RUN(r, no_daemon_env, NULL, "teacher", "list");
  expect_usage_error(&r, "unknown group \"teacher\"");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "enrol");
  expect_usage_error(&r, "unknown command \"enrol\"");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "status", "p1", "--colour");
  expect_usage_error(&r, "unknown option or missing value: --colour");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "status");
  expect_usage_error(&r, "expected the pupil's reference");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "status", "p1", "--reason", "x");
  expect_usage_error(&r, "--reason does not apply here");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "--token");
  expect_usage_error(&r, "--token needs a value");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "--json", "--csv", "coordinator", "report");
  expect_usage_error(&r, "choose one of --json, --csv and --table");
  cli_result_free(&r);
  const char *const none[] = {NULL};
  r = run_cli(none, no_daemon_env, NULL);
  cr_expect_eq(r.status, 2, "no arguments: usage, exit 2");
  cli_result_free(&r);
}

Test(usage, bad_values_are_refused_before_connecting) {
  cli_result r;
  RUN(r, no_daemon_env, NULL, "school", "accept", "12x");
  expect_usage_error(&r, "proposal id \"12x\" is not a positive whole number");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "coordinator", "accept", "12");
  expect_usage_error(&r, "must say --side school or --side company");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "coordinator", "decline", "12", "--side", "pupil");
  expect_usage_error(&r, "--side: \"pupil\" is not one of school, company");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "coordinator", "rematch", "--max-changes", "5000");
  expect_usage_error(&r, "--max-changes: 5000 is outside 1..1000");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "admin", "create-token", "--role", "school");
  expect_usage_error(&r, "--scope is required");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "admin", "create-token", "--role", "support");
  expect_usage_error(&r, "--scope is required");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "admin", "create-token", "--role", "coordinator", "--expires", "tomorrow");
  expect_usage_error(&r, "--expires:");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "agreement", "5", "--ref", "OAO-1", "--signed", "2026-02-30", "--starts",
      "2026-03-01");
  expect_usage_error(&r, "--signed: 2026-02-30: day 30 does not exist");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "export", "teachers");
  expect_usage_error(&r, "unknown kind \"teachers\"");
  cli_result_free(&r);
}

Test(usage, register_checks_flags_like_csv_cells) {
  cli_result r;
  RUN(r, no_daemon_env, NULL, "school", "register", "--ref", "p1", "--training", "BOUW-RUW", "--readiness", "ready",
      "--lat", "51.2", "--lon", "4.4", "--postcode", "2000", "--max-commute-km", "10");
  expect_usage_error(&r, "--days is required");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "school", "register", "--ref", "p1", "--training", "BOUW-RUW", "--readiness", "ready",
      "--lat", "51.2", "--lon", "184", "--postcode", "2000", "--max-commute-km", "10", "--days", "mon,funday");
  expect_usage_error(&r, "--lon: 184 is outside -180..180");
  cr_expect(strstr(r.err, "--days: unknown day \"funday\""), "every bad flag is reported: %s", r.err);
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "company", "publish", "--id", "V1", "--location", "L1", "--training", "BOUW-RUW",
      "--seats", "101", "--min-readiness", "ready", "--days", "mon", "--kind", "regular", "--start", "2026-09-01");
  expect_usage_error(&r, "--seats: 101 is outside 1..100");
  cli_result_free(&r);
}

Test(import, check_accepts_the_sample_files) {
  static const char *const kinds[] = {"trainings", "companies", "locations", "vacancies", "pupils"};
  static const size_t rows[] = {3, 3, 3, 4, 3};
  for (size_t i = 0; i < 5; i++) {
    char path[512], expected[64];
    snprintf(path, sizeof path, "%s/%s.csv", LEERPLEK_CLI_DATA, kinds[i]);
    const char *args[] = {"import", kinds[i], path, "--check", NULL};
    cli_result r = run_cli(args, no_daemon_env, NULL);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", kinds[i], r.status, r.err);
    snprintf(expected, sizeof expected, "%zu %s rows are fine", rows[i], kinds[i]);
    cr_expect(strstr(r.out, expected), "%s: %s", kinds[i], r.out);
    cli_result_free(&r);
  }
}

Test(import, bad_file_names_every_row_and_sends_nothing) {
  char path[512];
  snprintf(path, sizeof path, "%s/bad_vacancies.csv", LEERPLEK_CLI_DATA);
  cli_result r;
  /* Without --check: the file is refused before any connection (no daemon runs here, and the
   * exit is 2, not 3). */
  RUN(r, no_daemon_env, NULL, "import", "vacancies", path);
  cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
  cr_expect(strstr(r.err, "bad_vacancies.csv:3:4 (seats): 0 is outside 1..100"), "%s", r.err);
  cr_expect(strstr(r.err, "bad_vacancies.csv:4:6 (days): unknown day \"funday\""), "%s", r.err);
  cr_expect(strstr(r.err, "2 problems"), "%s", r.err);
  cr_expect(strstr(r.err, "nothing was imported"), "%s", r.err);
  cli_result_free(&r);
}

Test(import, standard_input_and_missing_files) {
  cli_result r;
  RUN(r, no_daemon_env, "code,name\nBOUW,Bouw\nbouw,Bouw\n", "import", "trainings", "-", "--check");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "<stdin>:3:1 (code): \"bouw\" is not a training code"), "%s", r.err);
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "import", "trainings", "/nonexistent/trainings.csv");
  expect_usage_error(&r, "cannot read /nonexistent/trainings.csv");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "import", "pupils");
  expect_usage_error(&r, "expected <kind> FILE.csv");
  cli_result_free(&r);
  RUN(r, no_daemon_env, NULL, "import", "trainings", "-", "--request");
  expect_usage_error(&r, "--request applies to pupils only");
  cli_result_free(&r);
}

Test(connection, no_daemon_is_exit_3) {
  cli_result r;
  RUN(r, no_daemon_env, NULL, "school", "status", "p1");
  cr_expect_eq(r.status, 3, "exit %d: %s", r.status, r.err);
  cr_expect(strstr(r.err, "cannot connect to unix:/nonexistent/leerplek-test.sock"), "%s", r.err);
  cli_result_free(&r);
  /* --address on the command line wins over the environment. */
  RUN(r, no_daemon_env, NULL, "--address", "unix:/nonexistent/other.sock", "coordinator", "report");
  cr_expect_eq(r.status, 3);
  cr_expect(strstr(r.err, "unix:/nonexistent/other.sock"), "%s", r.err);
  cli_result_free(&r);
}

Test(import, semicolon_files_with_delimiter_option) {
  const char semicolon_csv[] = "code;name\nBOUW;Bouw, ruwbouw\nZORG;\"Zorg; kinderen\"\n";
  cli_result r;
  RUN(r, no_daemon_env, semicolon_csv, "import", "trainings", "-", "--check", "--delimiter", ";");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "2 trainings rows are fine"), "%s", r.out);
  cli_result_free(&r);
  /* Read as commas, the header is one unknown column: the tool suggests the option. */
  RUN(r, no_daemon_env, semicolon_csv, "import", "trainings", "-", "--check");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "try --delimiter ';'"), "%s", r.err);
  cli_result_free(&r);
  RUN(r, no_daemon_env, semicolon_csv, "import", "trainings", "-", "--delimiter", "|");
  expect_usage_error(&r, "--delimiter: \"|\" is not ',', ';' or tab");
  cli_result_free(&r);
}

/* --check of one file of a set: its references are checked against the files beside it that
 * are imported before it (no daemon needed), and every unknown one is named. */
Test(import, check_resolves_references_against_the_files_of_the_set) {
  char dir[] = "/tmp/leerplek-set-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[4][300];
  static const char *const names[] = {"trainings.csv", "companies.csv", "locations.csv", "vacancies.csv"};
  static const char *const contents[] = {
      "code,name\nBOUW,Bouw\nHOTEL,Hotel\n",
      "id,name,recognised_trainings\n0200000001,Bouwbedrijf,BOUW\n0200000002,Hotel Zuid,HOTL\n",
      "id,company_id,postcode\nL-1,0200000001,2000\nL-2,0200000009,2100\n",
      "id,location_id,training_code,seats,min_readiness,days,kind,start_date\n"
      "V-1,L-1,BOUW,1,partly,ma,regular,2026-09-01\n"
      "V-2,L-1,HOTEL,1,partly,ma,regular,2026-09-01\n"
      "V-3,L-9,BOUW,1,partly,ma,regular,2026-09-01\n"};
  for (int i = 0; i < 4; i++) {
    snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
    FILE *out = fopen(path[i], "w");
    cr_assert_not_null(out);
    fputs(contents[i], out);
    fclose(out);
  }
  cli_result r;
  RUN(r, no_daemon_env, NULL, "import", "companies", path[1], "--check");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(
      strstr(
          r.err,
          "companies.csv:3 (recognised_trainings): no training HOTL (neither in the store nor in the trainings file)"),
      "%s", r.err);
  cr_expect(strstr(r.err, "nothing was imported"), "%s", r.err);
  cli_result_free(&r);
  /* Locations against companies.csv: the unknown company of L-2 is named. */
  RUN(r, no_daemon_env, NULL, "import", "locations", path[2], "--check");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "locations.csv:3 (company_id): no company 0200000009"), "%s", r.err);
  cli_result_free(&r);
  /* A file beside it that has bad rows is not taken as known, and that is said. */
  FILE *out = fopen(path[1], "w");
  fputs("id,name,recognised_trainings\n02-000001,Bouwbedrijf,BOUW\n", out);
  fclose(out);
  RUN(r, no_daemon_env, NULL, "import", "locations", path[2], "--check");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(
      strstr(r.err, "companies.csv: has 1 problem, so references to its companies are not checked: check it first"),
      "%s", r.err);
  cli_result_free(&r);
  /* The vacancies: the training company 0200000001 is not recognised for, and an unknown
   * location. */
  out = fopen(path[1], "w");
  fputs(contents[1], out);
  fclose(out);
  RUN(r, no_daemon_env, NULL, "import", "vacancies", path[3], "--check");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err,
                   "vacancies.csv:3 (training_code): company 0200000001 (of location L-1) is not recognised for HOTEL"),
            "%s", r.err);
  cr_expect(strstr(r.err, "vacancies.csv:4 (location_id): no location L-9"), "%s", r.err);
  cr_expect(!strstr(r.err, "vacancies.csv:2 "), "V-1 is fine: %s", r.err);
  cli_result_free(&r);
  /* Alone (no files beside it, no token), a file's references cannot be checked: it says so. */
  RUN(r, no_daemon_env, contents[1], "import", "companies", "-", "--check");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cr_expect(
      strstr(r.out, "references to trainings not checked (no token for the store, no trainings.csv beside the file)"),
      "%s", r.out);
  cli_result_free(&r);
  for (int i = 0; i < 4; i++) unlink(path[i]);
  rmdir(dir);
}
