/* test_lifecycle.c: the everyday commands and the exports of the `leerplek` binary against a
 * real leerplekd and redis-server (tests/daemon's harness). The daemon serves pages of two
 * items, so every export has to follow page tokens to be complete.
 * - update-vacancy, reopen, school update, company locations/location/update-location and
 *   coordinator agreement change exactly what their flags say, checked through the API;
 *   bad input changes nothing and names the flag; out-of-scope records answer as absent.
 * - placements, agreements, the waiting list and every table of the report are parsed back
 *   (CSV by the tool's own reader, clients/cli/leerplek_csv.c, also ';'-separated; JSON by
 *   jansson) and each row's values compared with what the daemon holds.
 * - proposed, accepted and agreement are counted and named apart in the rematch summary and
 *   the report. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "leerplek_csv.h"
#include "leerplek_text.h"
#include "run_cli.h"

#ifndef LEERPLEK_CLI_DATA
#error "LEERPLEK_CLI_DATA must name tests/cli/data"
#endif

static lp_harness harness;
static leerplek_client *api; /* a coordinator's connection, to check what the daemon holds */
static char address_env[400];
static char coordinator_env[260];

static void start(void) {
  static const char *const flags[] = {"--max_page_size", "2", "--default_page_size", "2", NULL};
  start_all(&harness, flags);
  snprintf(address_env, sizeof address_env, "LEERPLEK_ADDRESS=%s", harness.daemon_address);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  char token[160];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  snprintf(coordinator_env, sizeof coordinator_env, "LEERPLEK_TOKEN=%s", token);
  api = harness_connect(&harness, token);
  cr_assert_not_null(api);
}

static void stop(void) {
  leerplek_close(api);
  (void)harness_cleanup(&harness);
}

TestSuite(cli_lifecycle, .init = start, .fini = stop, .timeout = 120);

static cli_result run_as(const char *token_env, const char *const *args) {
  const char *env[] = {address_env, token_env, NULL};
  return run_cli(args, env, NULL);
}

#define RUN_AS(result, token_env, ...)                                                                                 \
  do {                                                                                                                 \
    const char *const run_args[] = {__VA_ARGS__, NULL};                                                                \
    result = run_as(token_env, run_args);                                                                              \
  } while (0)

/* A token of a scoped role as "LEERPLEK_TOKEN=..." */
static void scoped_token(int role, const char *scope, char *env, size_t env_size) {
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char token[160];
  create_token(admin, role, scope, token, sizeof token);
  leerplek_close(admin);
  snprintf(env, env_size, "LEERPLEK_TOKEN=%s", token);
}

/* The sample files imported, every pupil waiting, a rematch run: SCH-1/lln-001 proposed VAC-1,
 * SCH-2/lln-001 proposed VAC-3, SCH-1/lln-002 waits (its readiness is below VAC-2's) with a
 * hint. */
static void load_samples_and_rematch(void) {
  static const char *const kinds[] = {"trainings", "companies", "locations", "vacancies", "pupils"};
  for (size_t i = 0; i < 5; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.csv", LEERPLEK_CLI_DATA, kinds[i]);
    cli_result r;
    if (i == 4)
      RUN_AS(r, coordinator_env, "import", kinds[i], path, "--request");
    else
      RUN_AS(r, coordinator_env, "import", kinds[i], path);
    cr_assert_eq(r.status, 0, "import %s: %s", kinds[i], r.err);
    cli_result_free(&r);
  }
  cli_result r;
  RUN_AS(r, coordinator_env, "coordinator", "rematch");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
}

/* ---- the daemon's side, through the API ------------------------------------------------ */

static Leerplek__V1__Response *get_vacancy(const char *id) {
  Leerplek__V1__GetVacancyRequest body = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  body.vacancy_id = (char *)id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request.get_vacancy = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(api, &request, &response), 0, "get_vacancy %s", id);
  return response;
}

static Leerplek__V1__Response *get_location(const char *id) {
  Leerplek__V1__GetLocationRequest body = LEERPLEK__V1__GET_LOCATION_REQUEST__INIT;
  body.location_id = (char *)id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_LOCATION;
  request.get_location = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(api, &request, &response), 0, "get_location %s", id);
  return response;
}

static Leerplek__V1__Response *get_placement(const char *school, const char *ref) {
  Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(api, &request, &response), 0, "get_placement %s/%s", school, ref);
  return response;
}

static Leerplek__V1__Response *report_now(void) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_report(api, &response), 0);
  return response;
}

/* Every waiting-list entry, page by page (the API's own pages of two), in order. */
static size_t waiting_list(Leerplek__V1__WaitingListEntry ***entries, Leerplek__V1__Response ***pages,
                           size_t *n_pages) {
  size_t count = 0;
  *entries = NULL;
  *pages = NULL;
  *n_pages = 0;
  char token[512] = "";
  do {
    Leerplek__V1__GetWaitingListRequest body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
    body.page_token = token;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
    request.get_waiting_list = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(api, &request, &response), 0);
    *pages = realloc(*pages, (*n_pages + 1) * sizeof **pages);
    (*pages)[(*n_pages)++] = response;
    const Leerplek__V1__GetWaitingListResponse *page = response->get_waiting_list;
    *entries = realloc(*entries, (count + page->n_entries + 1) * sizeof **entries);
    for (size_t i = 0; i < page->n_entries; i++) (*entries)[count++] = page->entries[i];
    snprintf(token, sizeof token, "%s", page->next_page_token);
  } while (token[0]);
  return count;
}

/* ---- the tool's side, parsed back -------------------------------------------------------- */

static void parse_csv(const char *text, unsigned char delimiter, lp_csv_table *table) {
  FILE *in = fmemopen((void *)text, strlen(text), "rb");
  cr_assert_not_null(in);
  lp_diags diags = {0};
  int rc = lp_csv_read_with("export", in, delimiter, table, &diags);
  fclose(in);
  cr_assert_eq(rc, 0, "the export is not valid CSV: %s", diags.count ? diags.messages[0] : "?");
  lp_diags_free(&diags);
}

static const char *cell(const lp_csv_table *table, size_t row, const char *column) {
  for (size_t c = 0; c < table->header.n_fields; c++)
    if (strcmp(table->header.fields[c], column) == 0) return table->rows[row].fields[c];
  cr_assert_fail("no column %s", column);
  return NULL;
}

static long number(const lp_csv_table *table, size_t row, const char *column) {
  return strtol(cell(table, row, column), NULL, 10);
}

static size_t row_of(const lp_csv_table *table, const char *column, const char *value) {
  for (size_t r = 0; r < table->n_rows; r++)
    if (strcmp(cell(table, r, column), value) == 0) return r;
  cr_assert_fail("no row with %s = %s", column, value);
  return 0;
}

static json_t *parse_json(const char *text) {
  json_error_t error;
  json_t *value = json_loads(text, 0, &error);
  cr_assert_not_null(value, "not JSON (%s at line %d): %.300s", error.text, error.line, text);
  return value;
}

/* The tool's short lower-case enum names ("agreement"; "" for UNSPECIFIED). */
static const char *enum_name(const ProtobufCEnumDescriptor *descriptor, int value, char *out, size_t size) {
  lp_enum_format(descriptor, value, out, size);
  return out;
}

static uint64_t proposal_of(const char *school, const char *ref) {
  Leerplek__V1__Response *response = get_placement(school, ref);
  uint64_t id = response->get_placement->placement->proposal_id;
  leerplek_response_free(response);
  cr_assert_neq(id, 0, "%s/%s has no proposal", school, ref);
  return id;
}

/* SCH-1/lln-001 ends with an agreement, SCH-2/lln-001 accepted by both sides, both through
 * the coordinator's commands. */
static void accept_and_sign(void) {
  char id1[32], id2[32];
  snprintf(id1, sizeof id1, "%llu", (unsigned long long)proposal_of("SCH-1", "lln-001"));
  snprintf(id2, sizeof id2, "%llu", (unsigned long long)proposal_of("SCH-2", "lln-001"));
  const char *ids[] = {id1, id2};
  for (size_t i = 0; i < 2; i++) {
    cli_result r;
    RUN_AS(r, coordinator_env, "coordinator", "accept", ids[i], "--side", "school");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
    RUN_AS(r, coordinator_env, "coordinator", "accept", ids[i], "--side", "company");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "state: accepted\n"), "%s", r.out);
    cli_result_free(&r);
  }
  cli_result r;
  RUN_AS(r, coordinator_env, "coordinator", "agreement", id1, "--ref", "OAO-2026-17", "--signed", "2026-08-20",
         "--starts", "2026-09-01");
  cr_assert_eq(r.status, 0, "the coordinator records an agreement: %s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *response = get_placement("SCH-1", "lln-001");
  const Leerplek__V1__Placement *placement = response->get_placement->placement;
  cr_assert_eq(placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT);
  cr_assert_str_eq(placement->agreement->agreement_ref, "OAO-2026-17");
  cr_assert_eq(placement->agreement->starts_on->day, 1);
  leerplek_response_free(response);
}

/* ---- the commands ------------------------------------------------------------------------ */

Test(cli_lifecycle, update_vacancy_changes_the_flags_given_and_keeps_the_rest) {
  load_samples_and_rematch();
  Leerplek__V1__Response *before = get_vacancy("VAC-2");
  cli_result r;
  RUN_AS(r, coordinator_env, "company", "update-vacancy", "VAC-2", "--seats", "4", "--mentor", "Ploegbaas");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *after = get_vacancy("VAC-2");
  const Leerplek__V1__Vacancy *a = before->get_vacancy->vacancy, *b = after->get_vacancy->vacancy;
  cr_expect_eq(b->seats, 4);
  cr_expect_str_eq(b->mentor, "Ploegbaas");
  cr_expect_str_eq(b->training_code, a->training_code);
  cr_expect_str_eq(b->location_id, a->location_id);
  cr_expect_eq(b->day_mask, a->day_mask);
  cr_expect_eq(b->kind, a->kind);
  cr_expect_eq(b->min_readiness, a->min_readiness);
  cr_expect_eq(b->state, a->state);
  cr_expect_eq(b->start_date->day, a->start_date->day);
  cr_expect_eq(b->revision, a->revision + 1);
  leerplek_response_free(before);

  /* Bad input: named, exit 2, nothing sent. */
  RUN_AS(r, coordinator_env, "company", "update-vacancy", "VAC-2", "--seats", "0");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--seats"), "%s", r.err);
  cli_result_free(&r);
  /* Another company's vacancy answers as absent, and stays as it was. */
  char company_env[260];
  scoped_token(LEERPLEK__V1__ROLE__ROLE_COMPANY, "0200000001", company_env, sizeof company_env);
  RUN_AS(r, company_env, "company", "update-vacancy", "VAC-2", "--seats", "1");
  cr_expect_eq(r.status, 1, "%s", r.out);
  cr_expect(strstr(r.err, "NOT_FOUND"), "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *unchanged = get_vacancy("VAC-2");
  cr_expect_eq(unchanged->get_vacancy->vacancy->seats, 4);
  cr_expect_eq(unchanged->get_vacancy->vacancy->revision, b->revision);
  leerplek_response_free(unchanged);
  leerplek_response_free(after);

  /* The company's own: its token works without naming the company. */
  RUN_AS(r, company_env, "company", "update-vacancy", "VAC-1", "--start", "2026-09-08");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *own = get_vacancy("VAC-1");
  cr_expect_eq(own->get_vacancy->vacancy->start_date->day, 8);
  cr_expect_eq(own->get_vacancy->vacancy->seats, 2);
  leerplek_response_free(own);
}

typedef struct concurrent_run {
  const char *const *args;
  cli_result result;
} concurrent_run;

static void *run_concurrently(void *arg) {
  concurrent_run *run = arg;
  run->result = run_as(coordinator_env, run->args);
  return NULL;
}

/* Two people change one vacancy at once, each one field: whichever writes second either read
 * the first one's change (and keeps it) or is refused with ABORTED. A write that succeeds never
 * undoes the other's: the read-modify-write is conditional on the revision read. */
Test(cli_lifecycle, concurrent_updates_are_aborted_not_lost) {
  load_samples_and_rematch();
  int aborted = 0;
  for (int round = 0; round < 12; round++) {
    char seats[8], mentor[32];
    snprintf(seats, sizeof seats, "%d", 3 + round % 5);
    snprintf(mentor, sizeof mentor, "mentor-%d", round);
    const char *const seat_args[] = {"company", "update-vacancy", "VAC-1", "--seats", seats, NULL};
    const char *const mentor_args[] = {"company", "update-vacancy", "VAC-1", "--mentor", mentor, NULL};
    concurrent_run runs[2] = {{seat_args, {0}}, {mentor_args, {0}}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) cr_assert_eq(pthread_create(&threads[t], NULL, run_concurrently, &runs[t]), 0);
    for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
    for (int t = 0; t < 2; t++) {
      cr_assert(runs[t].result.status == 0 || (runs[t].result.status == 1 && strstr(runs[t].result.err, "ABORTED")),
                "round %d: exit %d: %s", round, runs[t].result.status, runs[t].result.err);
      aborted += runs[t].result.status == 1;
    }
    Leerplek__V1__Response *stored = get_vacancy("VAC-1");
    const Leerplek__V1__Vacancy *vacancy = stored->get_vacancy->vacancy;
    if (runs[0].result.status == 0)
      cr_expect_eq(vacancy->seats, (uint32_t)atoi(seats), "round %d: the seats were lost", round);
    if (runs[1].result.status == 0) cr_expect_str_eq(vacancy->mentor, mentor, "round %d: the mentor was lost", round);
    leerplek_response_free(stored);
    for (int t = 0; t < 2; t++) cli_result_free(&runs[t].result);
  }
  cr_log_info("%d of 24 updates were refused with ABORTED", aborted);
}

Test(cli_lifecycle, a_closed_vacancy_reopens) {
  load_samples_and_rematch();
  cli_result r;
  RUN_AS(r, coordinator_env, "company", "close", "VAC-1");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *closed = get_vacancy("VAC-1");
  cr_assert_eq(closed->get_vacancy->vacancy->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED);
  leerplek_response_free(closed);
  RUN_AS(r, coordinator_env, "company", "reopen", "VAC-1");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, "state: open\n"), "%s", r.out);
  cli_result_free(&r);
  Leerplek__V1__Response *open = get_vacancy("VAC-1");
  cr_expect_eq(open->get_vacancy->vacancy->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN);
  cr_expect_eq(open->get_vacancy->vacancy->seats, 2, "reopening changes nothing else");
  leerplek_response_free(open);
  RUN_AS(r, coordinator_env, "company", "reopen", "VAC-1", "--seats", "3");
  cr_expect_eq(r.status, 2, "reopen takes no field flags: %s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "company", "reopen", "NO-SUCH");
  cr_expect_eq(r.status, 1);
  cr_expect(strstr(r.err, "NOT_FOUND"), "%s", r.err);
  cli_result_free(&r);
}

Test(cli_lifecycle, school_update_changes_a_pupil_and_keeps_the_rest) {
  load_samples_and_rematch();
  Leerplek__V1__Response *before = NULL;
  cr_assert_eq(get_pupil(api, "SCH-1", "lln-002", &before), 0);
  char school_env[260];
  scoped_token(LEERPLEK__V1__ROLE__ROLE_SCHOOL, "SCH-1", school_env, sizeof school_env);
  cli_result r;
  RUN_AS(r, school_env, "school", "update", "lln-002", "--max-commute-km", "12.5", "--okan=no", "--prefer",
         "0200000002");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *after = NULL;
  cr_assert_eq(get_pupil(api, "SCH-1", "lln-002", &after), 0);
  const Leerplek__V1__Pupil *a = before->get_pupil->pupil, *b = after->get_pupil->pupil;
  cr_expect_eq(a->newcomer_okan, 1, "the sample pupil starts as OKAN");
  cr_expect_eq(b->newcomer_okan, 0);
  cr_expect_eq(b->max_commute_m, 12500);
  cr_expect_eq(b->n_preferred_company_ids, 1);
  cr_expect_str_eq(b->preferred_company_ids[0], "0200000002");
  cr_expect_str_eq(b->training_code, a->training_code);
  cr_expect_eq(b->home->lat_e6, a->home->lat_e6);
  cr_expect_eq(b->day_mask, a->day_mask);
  cr_expect_str_eq(b->school_notes, a->school_notes);
  cr_expect_eq(b->n_excluded_company_ids, a->n_excluded_company_ids);
  cr_expect_eq(b->school_type, a->school_type);
  cr_expect_eq(b->waiting_since_unix_s, a->waiting_since_unix_s);

  /* Out of range: the flag is named and the record stays. */
  RUN_AS(r, school_env, "school", "update", "lln-002", "--max-commute-km", "999");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--max-commute-km"), "%s", r.err);
  cli_result_free(&r);
  /* Another school's pupil answers as absent. */
  RUN_AS(r, school_env, "school", "update", "lln-001", "--school", "SCH-2", "--buso=no");
  cr_expect_eq(r.status, 1, "%s", r.out);
  cli_result_free(&r);
  Leerplek__V1__Response *last = NULL;
  cr_assert_eq(get_pupil(api, "SCH-1", "lln-002", &last), 0);
  cr_expect_eq(last->get_pupil->pupil->revision, b->revision);
  leerplek_response_free(last);
  cr_assert_eq(get_pupil(api, "SCH-2", "lln-001", &last), 0);
  cr_expect_eq(last->get_pupil->pupil->special_needs_buso, 1);
  leerplek_response_free(last);
  /* A coordinator names the school. */
  RUN_AS(r, coordinator_env, "school", "update", "lln-001", "--school", "SCH-2", "--district", "Kiel");
  cr_expect_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  cr_assert_eq(get_pupil(api, "SCH-2", "lln-001", &last), 0);
  cr_expect_str_eq(last->get_pupil->pupil->home_district, "Kiel");
  leerplek_response_free(last);
  leerplek_response_free(before);
  leerplek_response_free(after);
}

Test(cli_lifecycle, a_company_keeps_its_locations) {
  load_samples_and_rematch();
  char company_env[260];
  scoped_token(LEERPLEK__V1__ROLE__ROLE_COMPANY, "0200000003", company_env, sizeof company_env);
  cli_result r;
  RUN_AS(r, company_env, "company", "location", "--id", "LOC-9", "--postcode", "2140", "--name", "Atelier Oost",
         "--lat", "51.2097", "--lon", "4.4627");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, company_env, "company", "update-location", "LOC-9", "--district", "Borgerhout");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *stored = get_location("LOC-9");
  const Leerplek__V1__Location *location = stored->get_location->location;
  cr_expect_str_eq(location->company_id, "0200000003", "the token's company owns it");
  cr_expect_str_eq(location->name, "Atelier Oost", "the update kept the name");
  cr_expect_str_eq(location->district, "Borgerhout");
  cr_expect_eq(location->point->lat_e6, 51209700);
  cr_expect_eq(location->revision, 2);

  /* The list, all pages (three locations of which the company sees two), parsed back. */
  RUN_AS(r, company_env, "company", "locations", "--csv");
  cr_assert_eq(r.status, 0, "%s", r.err);
  lp_csv_table table;
  parse_csv(r.out, ',', &table);
  cr_expect_eq(table.n_rows, 2, "LOC-3 and LOC-9: %s", r.out);
  size_t row = row_of(&table, "id", "LOC-9");
  cr_expect_str_eq(cell(&table, row, "company_id"), location->company_id);
  cr_expect_str_eq(cell(&table, row, "name"), location->name);
  cr_expect_str_eq(cell(&table, row, "district"), location->district);
  cr_expect_str_eq(cell(&table, row, "postcode"), location->postcode);
  cr_expect_str_eq(cell(&table, row, "latitude"), "51.2097");
  lp_csv_table_free(&table);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "company", "locations", "--csv");
  parse_csv(r.out, ',', &table);
  cr_expect_eq(table.n_rows, 4, "a coordinator sees every location, over two pages: %s", r.out);
  lp_csv_table_free(&table);
  cli_result_free(&r);
  leerplek_response_free(stored);

  /* Another company's location: absent. A coordinator must name the company of a new one. */
  RUN_AS(r, company_env, "company", "update-location", "LOC-1", "--name", "X");
  cr_expect_eq(r.status, 1);
  cr_expect(strstr(r.err, "NOT_FOUND"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "company", "location", "--id", "LOC-10", "--postcode", "2000");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--company"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, company_env, "company", "location", "--id", "LOC-10", "--postcode", "20x0");
  cr_expect_eq(r.status, 2, "%s", r.err);
  cr_expect(strstr(r.err, "--postcode"), "%s", r.err);
  cli_result_free(&r);
}

/* ---- the exports --------------------------------------------------------------------------- */

Test(cli_lifecycle, placements_and_agreements_export_every_page_as_the_daemon_holds_them) {
  load_samples_and_rematch();
  accept_and_sign();
  static const char *const keys[][2] = {{"SCH-1", "lln-001"}, {"SCH-1", "lln-002"}, {"SCH-2", "lln-001"}};
  cli_result r;
  RUN_AS(r, coordinator_env, "coordinator", "placements", "--csv");
  cr_assert_eq(r.status, 0, "%s", r.err);
  lp_csv_table table;
  parse_csv(r.out, ',', &table);
  cr_assert_eq(table.n_rows, 3, "three placements over two pages: %s", r.out);
  for (size_t k = 0; k < 3; k++) {
    Leerplek__V1__Response *response = get_placement(keys[k][0], keys[k][1]);
    const Leerplek__V1__Placement *p = response->get_placement->placement;
    size_t row = 0;
    while (row < table.n_rows && !(strcmp(cell(&table, row, "school_id"), keys[k][0]) == 0 &&
                                   strcmp(cell(&table, row, "pupil_ref"), keys[k][1]) == 0))
      row++;
    cr_assert_lt(row, table.n_rows, "%s/%s is exported", keys[k][0], keys[k][1]);
    char state[32];
    cr_expect_str_eq(cell(&table, row, "state"),
                     enum_name(&leerplek__v1__placement_state__descriptor, p->state, state, sizeof state));
    cr_expect_eq((uint64_t)number(&table, row, "proposal_id"), p->proposal_id);
    cr_expect_str_eq(cell(&table, row, "offer.vacancy_id"), p->offer ? p->offer->vacancy_id : "");
    cr_expect_str_eq(cell(&table, row, "offer.company_id"), p->offer ? p->offer->company_id : "");
    cr_expect_str_eq(cell(&table, row, "school_accepted"), p->school_accepted ? "true" : "false");
    cr_expect_str_eq(cell(&table, row, "company_accepted"), p->company_accepted ? "true" : "false");
    cr_expect_str_eq(cell(&table, row, "agreement.agreement_ref"), p->agreement ? p->agreement->agreement_ref : "");
    cr_expect_str_eq(cell(&table, row, "unplaced.help"), p->unplaced ? p->unplaced->help : "");
    cr_expect_eq(number(&table, row, "unplaced.hint_seats"), p->unplaced ? (long)p->unplaced->hint_seats : 0);
    char reason[48];
    cr_expect_str_eq(cell(&table, row, "unplaced.reason"), p->unplaced
                                                               ? enum_name(&leerplek__v1__unplaced_reason__descriptor,
                                                                           p->unplaced->reason, reason, sizeof reason)
                                                               : "");
    leerplek_response_free(response);
  }
  cr_expect_str_eq(cell(&table, row_of(&table, "state", "agreement"), "agreement.starts_on"), "2026-09-01");
  cr_expect_str_eq(cell(&table, row_of(&table, "state", "accepted"), "agreement.starts_on"), "");
  lp_csv_table_free(&table);
  cli_result_free(&r);

  /* JSON: the same placements, whole. */
  RUN_AS(r, coordinator_env, "coordinator", "placements", "--json", "--state", "accepted");
  json_t *items = parse_json(r.out);
  cr_assert_eq(json_array_size(items), 1, "%s", r.out);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "school_id")), "SCH-2");
  cr_expect(json_is_true(json_object_get(json_array_get(items, 0), "company_accepted")));
  json_decref(items);
  cli_result_free(&r);

  /* The agreements, with their fields; ';'-separated for a Flemish spreadsheet. */
  RUN_AS(r, coordinator_env, "coordinator", "agreements", "--csv", "--delimiter", ";");
  cr_assert_eq(r.status, 0, "%s", r.err);
  parse_csv(r.out, ';', &table);
  cr_assert_eq(table.n_rows, 1, "%s", r.out);
  Leerplek__V1__Response *signed_one = get_placement("SCH-1", "lln-001");
  const Leerplek__V1__Placement *p = signed_one->get_placement->placement;
  cr_expect_str_eq(cell(&table, 0, "agreement.agreement_ref"), p->agreement->agreement_ref);
  cr_expect_str_eq(cell(&table, 0, "agreement.signed_on"), "2026-08-20");
  cr_expect_str_eq(cell(&table, 0, "agreement.starts_on"), "2026-09-01");
  cr_expect_str_eq(cell(&table, 0, "offer.vacancy_id"), p->offer->vacancy_id);
  cr_expect_eq((uint64_t)number(&table, 0, "proposal_id"), p->proposal_id);
  cr_expect_neq(cell(&table, 0, "agreement.recorded")[0], '\0');
  leerplek_response_free(signed_one);
  lp_csv_table_free(&table);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "agreements", "--state", "accepted");
  cr_expect_eq(r.status, 2, "agreements are one state: %s", r.err);
  cli_result_free(&r);
}

Test(cli_lifecycle, the_waiting_list_exports_reasons_help_and_hints) {
  load_samples_and_rematch();
  /* Two more waiting pupils, so that the list spans pages. */
  cli_result r;
  for (int i = 0; i < 2; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "extra-%d", i);
    RUN_AS(r, coordinator_env, "school", "register", "--school", "SCH-3", "--ref", ref, "--training", "ZORG-KIND",
           "--readiness", "ready", "--postcode", "2018", "--max-commute-km", "5", "--days", "wed", "--request");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cli_result_free(&r);
  }
  RUN_AS(r, coordinator_env, "coordinator", "rematch");
  cli_result_free(&r);
  Leerplek__V1__WaitingListEntry **entries;
  Leerplek__V1__Response **pages;
  size_t n_pages, n = waiting_list(&entries, &pages, &n_pages);
  cr_assert_geq(n, 3, "waiting pupils: %zu", n);
  int hinted = 0;
  for (unsigned char delimiter = ','; delimiter; delimiter = delimiter == ',' ? ';' : 0) {
    char delimiter_text[2] = {(char)delimiter, 0};
    RUN_AS(r, coordinator_env, "coordinator", "waiting", "--csv", "--delimiter", delimiter_text);
    cr_assert_eq(r.status, 0, "%s", r.err);
    lp_csv_table table;
    parse_csv(r.out, delimiter, &table);
    cr_assert_eq(table.n_rows, n, "every page: %s", r.out);
    for (size_t i = 0; i < n; i++) {
      const Leerplek__V1__WaitingListEntry *e = entries[i];
      const Leerplek__V1__UnplacedInfo *u = e->unplaced;
      cr_expect_eq(number(&table, i, "position"), (long)e->position);
      cr_expect_str_eq(cell(&table, i, "pupil_ref"), e->pupil_ref);
      char name[48];
      cr_expect_str_eq(cell(&table, i, "unplaced.reason"),
                       u ? enum_name(&leerplek__v1__unplaced_reason__descriptor, u->reason, name, sizeof name) : "");
      cr_expect_str_eq(cell(&table, i, "unplaced.hint_kind"),
                       u ? enum_name(&leerplek__v1__hint_kind__descriptor, u->hint_kind, name, sizeof name) : "");
      cr_expect_str_eq(cell(&table, i, "unplaced.hint_vacancy_id"), u ? u->hint_vacancy_id : "");
      cr_expect_eq(number(&table, i, "unplaced.hint_seats"), u ? (long)u->hint_seats : 0);
      cr_expect_eq(number(&table, i, "unplaced.hint_distance_m"), u ? (long)u->hint_distance_m : 0);
      cr_expect_str_eq(cell(&table, i, "unplaced.hint_new_company"), u && u->hint_new_company ? "true"
                                                                     : u                      ? "false"
                                                                                              : "");
      cr_expect_str_eq(cell(&table, i, "unplaced.help"), u ? u->help : "");
      cr_expect_eq(strtoll(cell(&table, i, "priority_score"), NULL, 10), e->priority_score);
      if (u && u->hint_kind) hinted++;
    }
    lp_csv_table_free(&table);
    cli_result_free(&r);
  }
  cr_expect_gt(hinted, 0, "the samples' waiting pupil has a hint");
  RUN_AS(r, coordinator_env, "coordinator", "waiting", "--json");
  json_t *items = parse_json(r.out);
  cr_assert_eq(json_array_size(items), n);
  for (size_t i = 0; i < n; i++) {
    const json_t *u = json_object_get(json_array_get(items, i), "unplaced");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(items, i), "pupil_ref")), entries[i]->pupil_ref);
    if (entries[i]->unplaced)
      cr_expect_str_eq(json_string_value(json_object_get(u, "help")), entries[i]->unplaced->help);
  }
  json_decref(items);
  cli_result_free(&r);
  for (size_t i = 0; i < n_pages; i++) leerplek_response_free(pages[i]);
  free(pages);
  free(entries);
}

/* The row of `table` whose column `key` is value, in a parsed report table. */
static void expect_report_row(const lp_csv_table *table, const Leerplek__V1__ReportRow *row) {
  size_t r = row_of(table, "key", row->key);
  cr_expect_eq(number(table, r, "pupils_waiting"), (long)row->pupils_waiting, "%s", row->key);
  cr_expect_eq(number(table, r, "pupils_proposed"), (long)row->pupils_proposed, "%s", row->key);
  cr_expect_eq(number(table, r, "pupils_accepted"), (long)row->pupils_accepted, "%s", row->key);
  cr_expect_eq(number(table, r, "pupils_agreement"), (long)row->pupils_agreement, "%s", row->key);
  cr_expect_eq(number(table, r, "free_seats"), (long)row->free_seats, "%s", row->key);
  cr_expect_eq(number(table, r, "shortage"), (long)row->shortage, "%s", row->key);
  cr_expect_eq(number(table, r, "hint_seats"), (long)row->hint_seats, "%s", row->key);
  long by_reason = 0;
  for (size_t i = 0; i < row->n_unplaced_by_reason; i++) {
    char name[48], column[64];
    snprintf(
        column, sizeof column, "unplaced_%s",
        enum_name(&leerplek__v1__unplaced_reason__descriptor, row->unplaced_by_reason[i]->reason, name, sizeof name));
    cr_expect_eq(number(table, r, column), (long)row->unplaced_by_reason[i]->pupils, "%s %s", row->key, column);
    by_reason += row->unplaced_by_reason[i]->pupils;
  }
  long in_columns = 0;
  for (size_t c = 0; c < table->header.n_fields; c++)
    if (strncmp(table->header.fields[c], "unplaced_", 9) == 0) in_columns += strtol(table->rows[r].fields[c], NULL, 10);
  cr_expect_eq(in_columns, by_reason, "%s: reasons only where the report has them", row->key);
}

Test(cli_lifecycle, every_report_table_is_a_csv_file_matching_the_report) {
  load_samples_and_rematch();
  accept_and_sign();
  char dir[400];
  snprintf(dir, sizeof dir, "%s/report", harness.dir);
  cr_assert_eq(mkdir(dir, 0700), 0);
  cli_result r;
  RUN_AS(r, coordinator_env, "coordinator", "report", "--csv-dir", dir);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cli_result_free(&r);
  Leerplek__V1__Response *response = report_now();
  const Leerplek__V1__Report *report = response->get_report->report;
  static const char *const names[] = {
      "headline",     "by_training", "by_district",     "shortages",          "reasons",
      "school_types", "trend",       "trend_trainings", "registration_point", "last_rematch"};
  lp_csv_table tables[10];
  for (size_t t = 0; t < 10; t++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.csv", dir, names[t]);
    FILE *in = fopen(path, "rb");
    cr_assert_not_null(in, "%s.csv was written", names[t]);
    lp_diags diags = {0};
    cr_assert_eq(lp_csv_read(path, in, &tables[t], &diags), 0, "%s: %s", path, diags.count ? diags.messages[0] : "");
    fclose(in);
    lp_diags_free(&diags);
    for (size_t c = 0; c < tables[t].header.n_fields; c++)
      cr_expect_neq(strcmp(tables[t].header.fields[c], "placed"), 0, "%s: no column means two states", names[t]);
  }
  const Leerplek__V1__Headline *h = report->headline;
  cr_assert_eq(tables[0].n_rows, 1);
  cr_expect_eq(number(&tables[0], 0, "pupils_registered"), (long)h->pupils_registered);
  cr_expect_eq(number(&tables[0], 0, "pupils_proposed"), (long)h->pupils_proposed);
  cr_expect_eq(number(&tables[0], 0, "pupils_accepted"), (long)h->pupils_accepted);
  cr_expect_eq(number(&tables[0], 0, "agreements"), (long)h->agreements);
  cr_expect_eq(number(&tables[0], 0, "free_seats"), (long)h->free_seats);
  cr_expect_eq(h->pupils_accepted, 1);
  cr_expect_eq(h->agreements, 1);
  cr_assert_eq(tables[1].n_rows, report->n_by_training);
  for (size_t i = 0; i < report->n_by_training; i++) expect_report_row(&tables[1], report->by_training[i]);
  cr_assert_eq(tables[2].n_rows, report->n_by_district);
  for (size_t i = 0; i < report->n_by_district; i++) expect_report_row(&tables[2], report->by_district[i]);
  /* The report counts the two apart: the agreement in BOUW-RUW, the accepted one in ZORG-KIND. */
  cr_expect_eq(number(&tables[1], row_of(&tables[1], "key", "BOUW-RUW"), "pupils_agreement"), 1);
  cr_expect_eq(number(&tables[1], row_of(&tables[1], "key", "BOUW-RUW"), "pupils_accepted"), 0);
  cr_expect_eq(number(&tables[1], row_of(&tables[1], "key", "ZORG-KIND"), "pupils_accepted"), 1);
  cr_expect_eq(tables[3].n_rows, report->n_shortages);
  cr_assert_eq(tables[4].n_rows, report->n_unplaced_by_reason);
  for (size_t i = 0; i < report->n_unplaced_by_reason; i++)
    cr_expect_eq(number(&tables[4], i, "pupils"), (long)report->unplaced_by_reason[i]->pupils);
  long pupils_by_type = 0;
  for (size_t i = 0; i < tables[5].n_rows; i++) pupils_by_type += number(&tables[5], i, "pupils");
  cr_expect_eq(pupils_by_type, (long)h->pupils_registered, "every pupil has a school type in the samples");
  cr_assert_eq(tables[6].n_rows, report->n_trend);
  cr_expect_str_eq(cell(&tables[6], tables[6].n_rows - 1, "day"), report->trend[report->n_trend - 1]->day);
  size_t training_rows = 0;
  for (size_t i = 0; i < report->n_trend; i++) training_rows += report->trend[i]->n_trainings_pupils;
  cr_expect_eq(tables[7].n_rows, training_rows);
  cr_expect_str_eq(cell(&tables[8], tables[8].n_rows - 1, "by"), "total");
  cr_assert_eq(tables[9].n_rows, 1);
  cr_expect_eq(number(&tables[9], 0, "proposed"), (long)report->last_rematch->placed);
  cr_expect_eq(number(&tables[9], 0, "epoch"), (long)report->last_rematch->epoch);
  for (size_t t = 0; t < 10; t++) lp_csv_table_free(&tables[t]);

  /* One table: as CSV (decimal commas and ';' kept working), as JSON. */
  RUN_AS(r, coordinator_env, "coordinator", "report", "--table=by_training", "--json");
  cr_assert_eq(r.status, 0, "%s", r.err);
  json_t *rows = parse_json(r.out);
  cr_assert_eq(json_array_size(rows), report->n_by_training);
  for (size_t i = 0; i < report->n_by_training; i++) {
    const json_t *row = json_array_get(rows, i);
    cr_expect_str_eq(json_string_value(json_object_get(row, "key")), report->by_training[i]->key);
    cr_expect_eq(json_integer_value(json_object_get(row, "pupils_agreement")),
                 report->by_training[i]->pupils_agreement);
    cr_expect_null(json_object_get(row, "pupils_placed"));
  }
  json_decref(rows);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "report", "--table=headline", "--csv", "--delimiter", ";");
  lp_csv_table table;
  parse_csv(r.out, ';', &table);
  cr_expect_eq(number(&table, 0, "pupils_waiting"), (long)h->pupils_waiting);
  lp_csv_table_free(&table);
  cli_result_free(&r);
  /* A whole report does not fit one CSV row; an unknown table is named. */
  RUN_AS(r, coordinator_env, "coordinator", "report", "--csv");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "--table=NAME"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "report", "--table=nonsense");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "nonsense"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "report", "--table", "by_training");
  cr_expect_eq(r.status, 2);
  cr_expect(strstr(r.err, "--table=by_training"), "the '=' is pointed out: %s", r.err);
  cli_result_free(&r);
  leerplek_response_free(response);
}

/* ---- the words ------------------------------------------------------------------------------ */

Test(cli_lifecycle, proposed_accepted_and_agreement_are_named_apart) {
  load_samples_and_rematch();
  accept_and_sign();
  cli_result r;
  RUN_AS(r, coordinator_env, "coordinator", "rematch");
  cr_assert_eq(r.status, 0, "%s", r.err);
  /* Two placements are fixed now (one accepted, one agreement); the waiting one gets none. */
  cr_expect(strstr(r.out, "\n  proposed: 0\n"), "the rematch's proposals are 'proposed': %s", r.out);
  cr_expect(strstr(r.out, "\n  accepted_or_agreement: 2\n"), "%s", r.out);
  cr_expect(!strstr(r.out, " placed:"), "no bare 'placed' (unplaced is the waiting pupils): %s", r.out);
  cli_result_free(&r);
  const char *dutch[] = {address_env, coordinator_env, "LANG=nl_BE.UTF-8", NULL};
  const char *const rematch[] = {"coordinator", "rematch", "--dry-run", NULL};
  r = run_cli(rematch, dutch, NULL);
  cr_expect(strstr(r.out, "\n  voorgesteld: 0\n") && strstr(r.out, "\n  aanvaard_of_overeenkomst: 2\n"), "%s", r.out);
  cr_expect(!strstr(r.out, " geplaatst:"), "%s", r.out);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "report");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_expect(strstr(r.out, " pupils_accepted ") && strstr(r.out, " pupils_agreement"), "%s", r.out);
  cr_expect(!strstr(r.out, "pupils_placed"), "the report's tables hold no sum of two states: %s", r.out);
  cr_expect(!strstr(r.out, " placed:"), "%s", r.out);
  cli_result_free(&r);
  /* --json keeps the message as the proto has it (the sum included, for older clients). */
  RUN_AS(r, coordinator_env, "coordinator", "report", "--json");
  json_t *reply = parse_json(r.out);
  const json_t *row = json_array_get(json_object_get(json_object_get(reply, "report"), "by_training"), 0);
  cr_expect_eq(json_integer_value(json_object_get(row, "pupils_placed")),
               json_integer_value(json_object_get(row, "pupils_accepted")) +
                   json_integer_value(json_object_get(row, "pupils_agreement")));
  json_decref(reply);
  cli_result_free(&r);
}
