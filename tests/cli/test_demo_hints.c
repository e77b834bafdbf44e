/* test_demo_hints.c: on the Antwerp demo data (leerplek-gen --demo, imported with the real
 * `leerplek import` into a real leerplekd and redis-server, its agreements included), every unplaced pupil's hint is
 * acted on as a coordinator would, through the API: the seats added to the vacancy it names,
 * or the new place published where it says (at that location, at another company there, or
 * near the pupil's home), with the pupil's days, kind and readiness. A dry-run rematch then
 * proposes that pupil, every time; the change is undone before the next pupil. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "run_cli.h"

#ifndef LEERPLEK_GEN_PATH
#error "LEERPLEK_GEN_PATH must name leerplek-gen"
#endif

static lp_harness harness;
static leerplek_client *coordinator;
static char address_env[400], token_env[200];

static void setup(void) {
  start_all(&harness, NULL);
  char token[128];
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  cr_assert_not_null(coordinator = harness_connect(&harness, token));
  snprintf(address_env, sizeof address_env, "LEERPLEK_ADDRESS=%s", harness.daemon_address);
  snprintf(token_env, sizeof token_env, "LEERPLEK_TOKEN=%s", token);
}

static void teardown(void) {
  leerplek_close(coordinator);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(demo_hints, .init = setup, .fini = teardown, .timeout = 300);

static void import_demo(void) {
  char directory[400], command[1000];
  snprintf(directory, sizeof directory, "%s/demo", harness.dir);
  snprintf(command, sizeof command, "'%s' --demo '%s' --seed 1 >/dev/null", LEERPLEK_GEN_PATH, directory);
  cr_assert_eq(system(command), 0, "leerplek-gen --demo failed");
  /* The start state the demo describes: the seed's agreements hold their seats. */
  static const char *const files[] = {"trainings", "companies",        "locations", "vacancies",
                                      "pupils",    "agreement-pupils", "agreements"};
  static const char *const kinds[] = {"trainings", "companies", "locations", "vacancies",
                                      "pupils",    "pupils",    "agreements"};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char path[500];
    snprintf(path, sizeof path, "%s/%s.csv", directory, files[k]);
    const char *args[] = {"import", kinds[k], path, k == 4 ? "--request" : NULL, NULL};
    const char *env[] = {address_env, token_env, NULL};
    cli_result result = run_cli(args, env, NULL);
    cr_assert_eq(result.status, 0, "import %s: %s", files[k], result.err);
    cli_result_free(&result);
  }
}

static Leerplek__V1__Response *call_ok(Leerplek__V1__Request *request, const char *what) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, request, &response), 0, "%s: %s", what, response->status->message);
  return response;
}

static Leerplek__V1__Response *get_vacancy(const char *id) {
  Leerplek__V1__GetVacancyRequest body = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  body.vacancy_id = (char *)id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request.get_vacancy = &body;
  return call_ok(&request, "get_vacancy");
}

static void set_seats(Leerplek__V1__Vacancy *vacancy, uint32_t seats) {
  vacancy->seats = seats;
  vacancy->revision = 0;
  Leerplek__V1__UpdateVacancyRequest body = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  body.vacancy = vacancy;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
  request.update_vacancy = &body;
  leerplek_response_free(call_ok(&request, "update_vacancy"));
}

/* Publishes the new place a NEW_PLACE hint asks for; its id in id. */
static void publish_hint(const Leerplek__V1__Pupil *pupil, const Leerplek__V1__UnplacedInfo *hint, int n, char *id,
                         size_t id_size) {
  char location_id[32], company_id[16];
  snprintf(id, id_size, "HINT-%03d", n);
  if (hint->hint_vacancy_id[0] && !hint->hint_new_company) {
    Leerplek__V1__Response *model = get_vacancy(hint->hint_vacancy_id);
    snprintf(location_id, sizeof location_id, "%s", model->get_vacancy->vacancy->location_id);
    leerplek_response_free(model);
  } else {
    /* Another company, recognised for the training, at the model's location or the home. */
    snprintf(company_id, sizeof company_id, "98765%05d", n);
    snprintf(location_id, sizeof location_id, "HLOC-%03d", n);
    cr_assert_eq(upsert_company(coordinator, company_id, pupil->training_code), 0);
    if (hint->hint_vacancy_id[0]) {
      Leerplek__V1__Response *model = get_vacancy(hint->hint_vacancy_id);
      Leerplek__V1__GetLocationRequest body = LEERPLEK__V1__GET_LOCATION_REQUEST__INIT;
      body.location_id = model->get_vacancy->vacancy->location_id;
      Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
      request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_LOCATION;
      request.get_location = &body;
      Leerplek__V1__Response *location = call_ok(&request, "get_location");
      const Leerplek__V1__GeoPoint *point = location->get_location->location->point;
      cr_assert_eq(upsert_location_at(coordinator, location_id, company_id, point->lat_e6, point->lon_e6), 0);
      leerplek_response_free(location);
      leerplek_response_free(model);
    } else {
      cr_assert_eq(upsert_location_at(coordinator, location_id, company_id, pupil->home->lat_e6, pupil->home->lon_e6),
                   0);
    }
  }
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = id;
  vacancy.location_id = location_id;
  vacancy.training_code = pupil->training_code;
  vacancy.seats = hint->hint_seats;
  vacancy.min_readiness = pupil->readiness;
  vacancy.day_mask = hint->wanted_day_mask;
  vacancy.kind = hint->wanted_kind;
  vacancy.start_date = &start;
  Leerplek__V1__PublishVacancyRequest body = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  body.vacancy = &vacancy;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY;
  request.publish_vacancy = &body;
  leerplek_response_free(call_ok(&request, "publish_vacancy"));
}

static void close_vacancy(const char *id) {
  Leerplek__V1__CloseVacancyRequest body = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  body.vacancy_id = (char *)id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY;
  request.close_vacancy = &body;
  leerplek_response_free(call_ok(&request, "close_vacancy"));
}

/* Whether a dry-run rematch proposes the pupil. */
static bool dry_run_proposes(const char *school, const char *ref) {
  Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  body.dry_run = true;
  body.max_changes = 1000;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH;
  request.run_rematch = &body;
  Leerplek__V1__Response *response = call_ok(&request, "dry run");
  const Leerplek__V1__RematchResult *result = response->run_rematch->result;
  cr_assert(result->proven_optimal);
  cr_assert_not(result->changes_truncated);
  bool proposed = false;
  for (size_t c = 0; c < result->n_changes; c++)
    proposed |= strcmp(result->changes[c]->school_id, school) == 0 && strcmp(result->changes[c]->pupil_ref, ref) == 0 &&
                result->changes[c]->kind == LEERPLEK__V1__CHANGE_KIND__CHANGE_KIND_PROPOSED;
  leerplek_response_free(response);
  return proposed;
}

Test(demo_hints, acting_on_every_hint_places_its_pupil) {
  import_demo();
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  uint32_t unplaced = response->run_rematch->result->unplaced;
  cr_assert(response->run_rematch->result->proven_optimal);
  leerplek_response_free(response);

  Leerplek__V1__GetWaitingListRequest body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  body.page_size = 1000;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  request.get_waiting_list = &body;
  Leerplek__V1__Response *waiting = call_ok(&request, "waiting list");
  cr_assert_eq(waiting->get_waiting_list->n_entries, unplaced);
  int acted = 0, more_seats = 0;
  for (size_t e = 0; e < waiting->get_waiting_list->n_entries; e++) {
    const Leerplek__V1__WaitingListEntry *entry = waiting->get_waiting_list->entries[e];
    const Leerplek__V1__UnplacedInfo *hint = entry->unplaced;
    cr_assert_not_null(hint, "%s has no reason", entry->pupil_ref);
    cr_assert_neq(hint->reason, LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_UNSPECIFIED);
    cr_assert(!hint->hint_unchecked, "%s: the default budget covers the demo", entry->pupil_ref);
    if (hint->hint_kind == LEERPLEK__V1__HINT_KIND__HINT_KIND_UNSPECIFIED) continue;
    Leerplek__V1__Response *pupil = NULL;
    cr_assert_eq(get_pupil(coordinator, entry->school_id, entry->pupil_ref, &pupil), 0);
    if (hint->hint_kind == LEERPLEK__V1__HINT_KIND__HINT_KIND_MORE_SEATS) {
      Leerplek__V1__Response *vacancy = get_vacancy(hint->hint_vacancy_id);
      uint32_t seats = vacancy->get_vacancy->vacancy->seats;
      set_seats(vacancy->get_vacancy->vacancy, seats + hint->hint_seats);
      cr_assert(dry_run_proposes(entry->school_id, entry->pupil_ref), "%s: %s", entry->pupil_ref, hint->help);
      set_seats(vacancy->get_vacancy->vacancy, seats);
      leerplek_response_free(vacancy);
      more_seats++;
    } else {
      char id[32];
      publish_hint(pupil->get_pupil->pupil, hint, acted, id, sizeof id);
      cr_assert(dry_run_proposes(entry->school_id, entry->pupil_ref), "%s: %s", entry->pupil_ref, hint->help);
      close_vacancy(id);
    }
    leerplek_response_free(pupil);
    acted++;
  }
  leerplek_response_free(waiting);
  cr_expect_eq(acted, (int)unplaced, "only %d of %u unplaced pupils have a hint", acted, unplaced);
  cr_expect_gt(more_seats, 10);
}
