/* test_support.c: the preparatory track through the `leerplek` binary against a real leerplekd
 * and redis-server: a support organisation publishes an offer, a school refers a pupil, the
 * coordinator reads the partners' waiting list and dispatches (dry, then applied), both sides
 * accept, the organisation starts and ends the trajectory, and the registration point shows
 * exactly that, as do the coordinators' report and the dashboard; bad flags are refused naming the flag and change
 * nothing. The setup creates two organisations through the API; the CSV tests import organisations, offers and
 * referrals over them, export them back unchanged and refuse bad files whole. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "run_cli.h"
#include "support_common.h"

#ifndef LEERPLEK_CLI_DATA
#error "LEERPLEK_CLI_DATA must name tests/cli/data"
#endif

static lp_harness harness;
static char address_env[400];
static char admin_env[200];
static char coordinator_env[200];
static char support_env[200];
static char school_env[200];
static int http_port;

static cli_result run_as(const char *token_env, const char *const *args) {
  const char *env[] = {address_env, token_env, NULL};
  return run_cli(args, env, NULL);
}

#define RUN_AS(result, token_env, ...)                                                                                 \
  do {                                                                                                                 \
    const char *const run_args[] = {__VA_ARGS__, NULL};                                                                \
    result = run_as(token_env, run_args);                                                                              \
  } while (0)

/* Runs and expects exit 0; returns stdout (the caller frees it). */
#define RUN_OK(stdout_text, token_env, ...)                                                                            \
  do {                                                                                                                 \
    cli_result ok_result;                                                                                              \
    RUN_AS(ok_result, token_env, __VA_ARGS__);                                                                         \
    cr_assert_eq(ok_result.status, 0, "exit %d: %s", ok_result.status, ok_result.err);                                 \
    stdout_text = ok_result.out;                                                                                       \
    free(ok_result.err);                                                                                               \
  } while (0)

static void create_cli_token(const char *role, const char *scope, char *env_out, size_t env_size) {
  cli_result r;
  if (scope)
    RUN_AS(r, admin_env, "admin", "create-token", "--role", role, "--scope", scope, "--json");
  else
    RUN_AS(r, admin_env, "admin", "create-token", "--role", role, "--json");
  cr_assert_eq(r.status, 0, "create-token %s: %s", role, r.err);
  json_t *reply = json_loads(r.out, 0, NULL);
  cr_assert_not_null(reply, "%s", r.out);
  snprintf(env_out, env_size, "LEERPLEK_TOKEN=%s", json_string_value(json_object_get(reply, "token")));
  json_decref(reply);
  cli_result_free(&r);
}

static void setup(void) {
  memset(&harness, 0, sizeof harness);
  cr_assert_eq(harness_start_redis(&harness), 0, "redis-server did not start");
  cr_assert_eq(harness_create_admin_token(&harness), 0, "leerplekd --create-admin-token failed");
  http_port = harness_free_port();
  char http_address[64];
  snprintf(http_address, sizeof http_address, "127.0.0.1:%d", http_port);
  const char *flags[] = {"--http_listen", http_address, NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0, "leerplekd did not start");
  snprintf(address_env, sizeof address_env, "LEERPLEK_ADDRESS=%s", harness.daemon_address);
  snprintf(admin_env, sizeof admin_env, "LEERPLEK_TOKEN=%s", harness.admin_token);
  create_cli_token("coordinator", NULL, coordinator_env, sizeof coordinator_env);
  static const char *const kinds[] = {"trainings", "companies", "locations", "vacancies", "pupils"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.csv", LEERPLEK_CLI_DATA, kinds[i]);
    char *out;
    RUN_OK(out, coordinator_env, "import", kinds[i], path);
    free(out);
  }
  /* The organisation's site is in Hoboken, a little over 5 km from SCH-2's pupil lln-001 (not ready,
   * free on Wednesdays, 7.5 km commute). */
  leerplek_client *coordinator = harness_connect(&harness, coordinator_env + strlen("LEERPLEK_TOKEN="));
  cr_assert_not_null(coordinator);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-a"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-b"), 0);
  leerplek_close(coordinator);
  create_cli_token("support", "oal-a", support_env, sizeof support_env);
  create_cli_token("school", "SCH-2", school_env, sizeof school_env);
}

static void teardown(void) { (void)harness_cleanup(&harness); }

TestSuite(cli_support, .init = setup, .fini = teardown, .timeout = 120);

static json_t *json_of(const char *text) {
  json_error_t error;
  json_t *value = json_loads(text, 0, &error);
  cr_assert_not_null(value, "not JSON (%s): %s", error.text, text);
  return value;
}

/* The English dashboard page as served (headers and body); the caller frees it. */
static char *get_dashboard(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0, "cannot connect to the dashboard");
  static const char request[] = "GET /dashboard?lang=en HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  cr_assert_eq(write(fd, request, sizeof request - 1), (ssize_t)(sizeof request - 1));
  size_t size = 0, capacity = 1 << 16;
  char *page = malloc(capacity);
  cr_assert_not_null(page);
  ssize_t got;
  while ((got = read(fd, page + size, capacity - size - 1)) > 0) {
    size += (size_t)got;
    if (capacity - size < 4096) {
      capacity *= 2;
      page = realloc(page, capacity);
      cr_assert_not_null(page);
    }
  }
  close(fd);
  page[size] = '\0';
  return page;
}

Test(cli_support, offer_refer_dispatch_start_end_and_the_registration_point) {
  char *out;
  cli_result r;
  RUN_OK(out, support_env, "support", "offer", "--id", "off-1", "--site", "s1", "--component", "fowerk", "--seats", "2",
         "--days", "mon,tue,wed,thu,fri", "--start", "2026-09-01", "--json");
  json_t *offer = json_of(out);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(offer, "offer"), "organisation_id")), "oal-a",
                   "a support token's offer is its organisation's: %s", out);
  json_decref(offer);
  free(out);

  RUN_OK(out, support_env, "support", "offers", "--csv");
  cr_assert_str_eq(out, "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n"
                        "off-1,oal-a,s1,fowerk,,2,\"mon,tue,wed,thu,fri\",2026-09-01\n");
  free(out);
  RUN_OK(out, support_env, "support", "organisation", "--csv");
  cr_assert(strncmp(out, "id,name,revision,updated\noal-a,", 31) == 0, "a support token sees only itself: %s", out);
  cr_assert(!strstr(out, "oal-b"), "%s", out);
  free(out);

  RUN_OK(out, school_env, "school", "refer", "lln-001", "--components", "fowerk", "--reason", "needs a safe start",
         "--urgency", "high", "--csv");
  cr_assert(strncmp(out,
                    "school_id,pupil_ref,component,training_code,urgency,state,requested\n"
                    "SCH-2,lln-001,fowerk,ZORG-KIND,high,waiting,20",
                    94) == 0,
            "%s", out);
  free(out);

  RUN_OK(out, coordinator_env, "coordinator", "referrals", "--csv");
  cr_assert(strncmp(out,
                    "position,school_id,pupil_ref,component,training_code,state,urgency,days_waiting,"
                    "priority_score,wait\n1,SCH-2,lln-001,fowerk,ZORG-KIND,waiting,high,0,",
                    126) == 0,
            "%s", out);
  cr_assert(strstr(out, ",next_dispatch\n"), "a free seat fits: %s", out);
  free(out);

  /* A dry run changes nothing; the applied dispatch offers the seat. */
  RUN_OK(out, coordinator_env, "coordinator", "dispatch", "--dry-run", "--json");
  json_t *dry = json_of(out);
  json_t *result = json_object_get(dry, "result");
  cr_assert(json_is_true(json_object_get(result, "dry_run")), "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(result, "dispatched")), 1, "%s", out);
  json_decref(dry);
  free(out);
  RUN_OK(out, school_env, "school", "referrals", "--csv");
  cr_assert(strstr(out, "SCH-2,lln-001,fowerk,ZORG-KIND,high,waiting,,,false,false,,"), "%s", out);
  free(out);
  RUN_OK(out, coordinator_env, "coordinator", "dispatch", "--json");
  json_t *applied = json_of(out);
  result = json_object_get(applied, "result");
  cr_assert(json_is_false(json_object_get(result, "dry_run")), "%s", out);
  cr_assert(json_is_true(json_object_get(result, "proven_optimal")), "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(result, "dispatched")), 1, "%s", out);
  json_decref(applied);
  free(out);

  RUN_OK(out, support_env, "support", "referrals", "--csv");
  cr_assert(strstr(out,
                   "SCH-2,lln-001,fowerk,ZORG-KIND,not_ready,wed,up_to_10_km,needs a safe start,high,offered,off-1,"
                   "false,false,"),
            "%s", out);
  free(out);

  /* Starting before both sides accepted is refused and changes nothing. */
  RUN_AS(r, support_env, "support", "start", "lln-001", "--component", "fowerk", "--school", "SCH-2");
  cr_assert_eq(r.status, 1, "%s", r.err);
  cr_assert(strstr(r.err, "FAILED_PRECONDITION"), "%s", r.err);
  cli_result_free(&r);

  RUN_OK(out, school_env, "school", "accept-offer", "lln-001", "--component", "fowerk");
  free(out);
  RUN_OK(out, support_env, "support", "accept", "lln-001", "--component", "fowerk", "--school", "SCH-2");
  free(out);
  RUN_OK(out, support_env, "support", "start", "lln-001", "--component", "fowerk", "--school", "SCH-2", "--json");
  json_t *started = json_of(out);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(started, "referral"), "state")), "started", "%s",
                   out);
  json_decref(started);
  free(out);

  /* The registration point: one request, started on the day it was made, none overdue. */
  RUN_OK(out, coordinator_env, "coordinator", "requests", "--csv");
  cr_assert_str_eq(out, "school_id,pupil_ref,component,state,holder,days_since_request,started,days_to_start,"
                        "over_deadline\nSCH-2,lln-001,fowerk,started,oal-a,0,true,0,false\n");
  free(out);
  RUN_OK(out, coordinator_env, "coordinator", "requests", "--by", "partner", "--csv");
  cr_assert_str_eq(out, "key,requests,started,median_days_to_start,p90_days_to_start,over_deadline\n"
                        "oal-a,1,1,0,0,0\n,1,1,0,0,0\n");
  free(out);
  RUN_OK(out, coordinator_env, "coordinator", "requests", "--by", "school", "--csv");
  cr_assert_str_eq(out, "key,requests,started,median_days_to_start,p90_days_to_start,over_deadline\n"
                        "SCH-2,1,1,0,0,0\n,1,1,0,0,0\n");
  free(out);
  /* The report and the dashboard show the same figures. */
  RUN_OK(out, coordinator_env, "coordinator", "report", "--json");
  json_t *report = json_of(out);
  json_t *point = json_object_get(json_object_get(report, "report"), "registration_point");
  json_t *total = json_object_get(point, "total");
  cr_assert_eq(json_integer_value(json_object_get(total, "requests")), 1, "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(total, "started")), 1, "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(point, "deadline_days")), 30, "%s", out);
  json_t *partner = json_array_get(json_object_get(point, "by_partner"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(partner, "key")), "oal-a", "%s", out);
  cr_assert_eq(json_integer_value(json_object_get(partner, "started")), 1, "%s", out);
  cr_assert_eq(json_array_size(json_object_get(point, "by_partner")), 1, "%s", out);
  json_decref(report);
  free(out);
  char *page = get_dashboard();
  cr_assert(strstr(page, "<table id=\"registration-point\">"), "%s", page);
  cr_assert(strstr(page, "<tr><td>oal-a</td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td></tr>"), "%s", page);
  cr_assert(strstr(page, "<tr><td>all requests</td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td></tr>"), "%s",
            page);
  cr_assert(!strstr(page, "SCH-2") && !strstr(page, "lln-001"), "no school or pupil on the dashboard");
  free(page);

  RUN_OK(out, coordinator_env, "coordinator", "requests", "--overdue", "--csv");
  cr_assert_str_eq(out, "school_id,pupil_ref,component,state,holder,days_since_request,started,days_to_start,"
                        "over_deadline\n");
  free(out);

  /* The way back: ended partly ready, the pupil joins the regular matching. */
  RUN_OK(out, support_env, "support", "end", "lln-001", "--component", "fowerk", "--school", "SCH-2", "--outcome",
         "partly", "--note", "works steadily", "--json");
  json_t *ended = json_of(out);
  cr_assert(json_is_true(json_object_get(ended, "readiness_changed")), "%s", out);
  json_decref(ended);
  free(out);
  RUN_OK(out, school_env, "school", "pupil", "lln-001", "--json");
  json_t *pupil = json_of(out);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(pupil, "pupil"), "readiness")), "partly", "%s",
                   out);
  json_decref(pupil);
  free(out);
  RUN_OK(out, coordinator_env, "coordinator", "requests", "--by", "partner", "--csv");
  cr_assert_str_eq(out, "key,requests,started,median_days_to_start,p90_days_to_start,over_deadline\n"
                        "oal-a,1,1,0,0,0\n,1,1,0,0,0\n");
  free(out);
}

Test(cli_support, bad_flags_and_other_scopes_change_nothing) {
  char *out, *before;
  cli_result r;
  RUN_OK(before, coordinator_env, "school", "referrals", "--csv");

  RUN_AS(r, school_env, "school", "refer", "lln-001", "--components", "fowerk", "--reason", "x", "--urgency", "soon");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--urgency: \"soon\" is not one of normal, high"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, school_env, "school", "refer", "lln-001", "--components", "fowerk,ibal", "--reason", "x", "--urgency",
         "normal");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--components: \"ibal\" is not one of fovorm, fowerk"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, school_env, "school", "refer", "lln-001", "--components", "fowerk", "--urgency", "normal");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--reason is required"), "%s", r.err);
  cli_result_free(&r);
  /* Another school's pupil: the daemon answers as if there were none. */
  RUN_AS(r, school_env, "school", "refer", "lln-001", "--school", "SCH-1", "--components", "fowerk", "--reason", "x",
         "--urgency", "normal");
  cr_assert_eq(r.status, 1, "%s", r.err);
  cr_assert(strstr(r.err, "refused: NOT_FOUND") && strstr(r.err, "(field refer_pupil.school_id)"), "%s", r.err);
  cli_result_free(&r);

  RUN_AS(r, support_env, "support", "offer", "--id", "off-9", "--site", "s1", "--component", "fowerk", "--seats", "0",
         "--days", "mon", "--start", "2026-09-01");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--seats:"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, support_env, "support", "offer", "--id", "off-9", "--site", "s1", "--component", "fowerk", "--seats", "1",
         "--days", "mon");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--start is required"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, support_env, "support", "offer", "--id", "off-9", "--organisation", "oal-b", "--site", "s1", "--component",
         "fowerk", "--seats", "1", "--days", "mon", "--start", "2026-09-01");
  cr_assert_eq(r.status, 1, "another organisation's offer: %s", r.err);
  cr_assert(strstr(r.err, "PERMISSION_DENIED"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "support", "offer", "--id", "off-9", "--site", "s1", "--component", "fowerk", "--seats",
         "1", "--days", "mon", "--start", "2026-09-01");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--organisation is required"), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, coordinator_env, "coordinator", "requests", "--by", "district");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--by: \"district\""), "%s", r.err);
  cli_result_free(&r);
  RUN_AS(r, support_env, "support", "end", "lln-001", "--component", "fowerk", "--school", "SCH-2");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "--outcome is required"), "%s", r.err);
  cli_result_free(&r);

  RUN_OK(out, coordinator_env, "school", "referrals", "--csv");
  cr_assert_str_eq(out, before, "the refusals changed nothing");
  free(out);
  free(before);
  RUN_OK(out, coordinator_env, "support", "offers", "--csv");
  cr_assert_str_eq(out, "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n");
  free(out);
}

Test(cli_support, the_tables_speak_dutch_and_the_machine_output_does_not) {
  const char *dutch_env[] = {address_env, coordinator_env, "LANG=nl_BE.UTF-8", NULL};
  const char *const table[] = {"coordinator", "requests", NULL};
  cli_result r = run_cli(table, dutch_env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "dagen_sinds_aanvraag"), "%s", r.out);
  cli_result_free(&r);
  char *out;
  RUN_OK(out, school_env, "school", "refer", "lln-001", "--components", "foibal", "--reason", "x", "--urgency", "high");
  free(out);
  const char *const waiting[] = {"coordinator", "referrals", NULL};
  r = run_cli(waiting, dutch_env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "wachtend  dringend") && strstr(r.out, "geen_aanbod_van_component"),
            "states, urgencies and reasons to wait are values people read: %s", r.out);
  cli_result_free(&r);
  const char *const csv[] = {"coordinator", "referrals", "--csv", NULL};
  r = run_cli(csv, dutch_env, NULL);
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strncmp(r.out, "position,school_id,pupil_ref,component,", 39) == 0, "%s", r.out);
  cr_assert(strstr(r.out, ",waiting,high,") && strstr(r.out, ",no_offer_of_component\n"), "%s", r.out);
  cli_result_free(&r);
}

static char *read_data_file(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", LEERPLEK_CLI_DATA, name);
  FILE *in = fopen(path, "rb");
  cr_assert_not_null(in, "cannot read %s", path);
  char *text = calloc(1, 1 << 16);
  cr_assert_not_null(text);
  size_t got = fread(text, 1, (1 << 16) - 1, in);
  text[got] = '\0';
  fclose(in);
  return text;
}

static void import_data_file(const char *kind, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", LEERPLEK_CLI_DATA, name);
  char *out;
  RUN_OK(out, coordinator_env, "import", kind, path);
  free(out);
}

static void expect_export_equals(const char *kind, const char *name) {
  char *out, *original = read_data_file(name);
  RUN_OK(out, coordinator_env, "export", kind);
  cr_expect_str_eq(out, original, "export %s differs from %s:\n%s", kind, name, out);
  free(out);
  free(original);
}

Test(cli_support, organisations_offers_and_referrals_import_then_export_gives_the_same_files) {
  /* The file replaces the two organisations of the setup, oal-a now with a second site. */
  import_data_file("organisations", "organisations.csv");
  expect_export_equals("organisations", "organisations.csv");
  import_data_file("offers", "offers.csv");
  expect_export_equals("offers", "offers.csv");
  import_data_file("referrals", "referrals.csv");
  expect_export_equals("referrals", "referrals.csv");

  /* Importing again asks nothing twice: offers are replaced, active referrals left as they are. */
  char path[512];
  snprintf(path, sizeof path, "%s/offers.csv", LEERPLEK_CLI_DATA);
  char *out;
  RUN_OK(out, coordinator_env, "import", "offers", path);
  cr_assert(strstr(out, "imported 2 of 2 offers") && strstr(out, "(0 created, 2 replaced)"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/referrals.csv", LEERPLEK_CLI_DATA);
  RUN_OK(out, coordinator_env, "import", "referrals", path);
  cr_assert(strstr(out, "imported 3 of 3 referrals"), "%s", out);
  free(out);
  expect_export_equals("referrals", "referrals.csv");

  /* The imported referrals are the school's own like any other: they wait for dispatch. */
  RUN_OK(out, school_env, "school", "referrals", "--csv");
  cr_assert(strstr(out, "lln-001") && !strstr(out, "lln-002"), "a school sees only its own: %s", out);
  free(out);
}

Test(cli_support, a_bad_offers_or_referrals_file_imports_nothing) {
  char path[512];
  cli_result r;
  snprintf(path, sizeof path, "%s/bad_offers.csv", LEERPLEK_CLI_DATA);
  RUN_AS(r, coordinator_env, "import", "offers", path);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "bad_offers.csv:3:4 (component): \"cooking\" is not one of fovorm"), "%s", r.err);
  cr_assert(strstr(r.err, "bad_offers.csv:3:6 (seats):"), "%s", r.err);
  cr_assert(strstr(r.err, "nothing was imported"), "%s", r.err);
  cli_result_free(&r);
  /* A reference to an unknown training stops the file before anything is sent, too. */
  static const char unknown_training[] = "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n"
                                         "OFF-X1,oal-a,s1,fowerk,,3,mon,2026-09-01\n"
                                         "OFF-X3,oal-b,s1,bgltra,ZORG-KIND;NO-SUCH,2,wed,2026-10-01\n";
  const char *env[] = {address_env, coordinator_env, NULL};
  const char *const offer_args[] = {"import", "offers", "-", NULL};
  r = run_cli(offer_args, env, unknown_training);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3 (training_codes): no training NO-SUCH"), "%s", r.err);
  cli_result_free(&r);
  char *out;
  RUN_OK(out, coordinator_env, "export", "offers");
  cr_assert_str_eq(out, "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n",
                   "the good first row was not sent either");
  free(out);

  static const char bad_referrals[] = "school_id,pupil_ref,component,reason,urgency\n"
                                      "SCH-2,lln-001,fowerk,a workshop first,normal\n"
                                      "SCH-2,lln-001,fowerk,,urgent\n";
  const char *const args[] = {"import", "referrals", "-", NULL};
  r = run_cli(args, env, bad_referrals);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3:4 (reason): is empty but required"), "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3:5 (urgency): \"urgent\" is not one of normal, high"), "%s", r.err);
  cli_result_free(&r);
  RUN_OK(out, coordinator_env, "export", "referrals");
  cr_assert_str_eq(out, "school_id,pupil_ref,component,reason,urgency,share_priority_flags,share_school_notes\n");
  free(out);

  RUN_AS(r, coordinator_env, "export", "organisation-sites");
  cr_assert_eq(r.status, 2);
  cr_assert(strstr(r.err, "organisations, offers, referrals"), "the kinds are listed: %s", r.err);
  cli_result_free(&r);
}

Test(cli_support, organisation_rows_must_agree_and_offers_name_a_known_site) {
  char *before;
  cli_result r;
  RUN_OK(before, coordinator_env, "export", "organisations");
  static const char scattered[] = "id,name,site_id,postcode\n"
                                  "oal-c,Nieuw vzw,s1,2000\n"
                                  "oal-c,Nieuw vzw,s1,2018\n"
                                  "oal-d,Ander vzw,s1,2100\n"
                                  "oal-c,Nieuw  vzw,s2,2060\n";
  const char *env[] = {address_env, coordinator_env, NULL};
  const char *const args[] = {"import", "organisations", "-", NULL};
  r = run_cli(args, env, scattered);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3:3 (site_id): site s1 appears twice for organisation oal-c"), "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:5:1 (id): organisation oal-c also has rows above line 4"), "%s", r.err);
  cli_result_free(&r);
  static const char renamed[] = "id,name,site_id,postcode\n"
                                "oal-c,Nieuw vzw,s1,2000\n"
                                "oal-c,Nieuw  vzw,s2,2060\n";
  r = run_cli(args, env, renamed);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3:2 (name): \"Nieuw  vzw\" differs from the name on line 2"), "%s", r.err);
  cli_result_free(&r);
  char *out;
  RUN_OK(out, coordinator_env, "export", "organisations");
  cr_assert_str_eq(out, before, "nothing was imported");
  free(out);
  free(before);

  static const char offers[] = "id,organisation_id,site_id,component,seats,days,start_date\n"
                               "OFF-Y1,oal-a,s1,fowerk,3,mon,2026-09-01\n"
                               "OFF-Y2,oal-a,s9,fowerk,3,mon,2026-09-01\n"
                               "OFF-Y3,oal-z,s1,fowerk,3,mon,2026-09-01\n";
  const char *const offer_args[] = {"import", "offers", "-", NULL};
  r = run_cli(offer_args, env, offers);
  cr_assert_eq(r.status, 2, "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:3 (site_id): organisation oal-a has no site s9"), "%s", r.err);
  cr_assert(strstr(r.err, "<stdin>:4 (organisation_id): no support organisation oal-z"), "%s", r.err);
  cli_result_free(&r);
  RUN_OK(out, coordinator_env, "export", "offers");
  cr_assert_str_eq(out, "id,organisation_id,site_id,component,training_codes,seats,days,start_date\n");
  free(out);
}
