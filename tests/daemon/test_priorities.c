/* test_priorities: the priority order through the real daemon and Redis. A long waiter keeps
 * its proposal against a newcomer who lives next to the place; a not-ready pupil gets the
 * preparatory seat a ready pupil held, and the ready one is told truly why it waits; with
 * rematch_ready_on_preparatory 0 the ready pupil never gets it. Days waited are the same in
 * the waiting list and in the rematch's reasons; every rematch says it is proven optimal, and
 * the report carries the proof. Waiting-list pages resume after the last entry returned. */
#include <time.h>

#include "common.h"

#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define READINESS(name) LEERPLEK__V1__READINESS__READINESS_##name
#define KIND(name) LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_##name
#define REASON(name) LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_##name

#define COMPANY "3333333333"
#define PLACE_LAT 51230800 /* the location, 1.5 km north of HOME_LAT */
#define HOME_LAT 51217234
#define DAY 86400

static lp_harness harness;
static leerplek_client *coordinator;

static void start(const char *const *flags) {
  start_all(&harness, flags);
  char token[128];
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  cr_assert_not_null(coordinator = harness_connect(&harness, token));
  cr_assert_eq(upsert_training(coordinator, "LASSEN", "Lassen-constructie"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY, "LASSEN"), 0);
  cr_assert_eq(upsert_location_at(coordinator, "loc", COMPANY, PLACE_LAT, 4421100), 0);
}

static void stop(void) {
  leerplek_close(coordinator);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

static void publish(const char *id, uint32_t seats, int kind, int min_readiness) {
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.start_date = &start;
  vacancy.id = (char *)id;
  vacancy.location_id = (char *)"loc";
  vacancy.training_code = (char *)"LASSEN";
  vacancy.seats = seats;
  vacancy.min_readiness = (Leerplek__V1__Readiness)min_readiness;
  vacancy.day_mask = 0x183;
  vacancy.kind = (Leerplek__V1__VacancyKind)kind;
  Leerplek__V1__PublishVacancyRequest body = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  body.vacancy = &vacancy;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY;
  request.publish_vacancy = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0, "publish %s: %s", id, response->status->message);
  leerplek_response_free(response);
}

/* Registers a pupil waiting for days_ago days (a coordinator may set waiting_since), lat_e6
 * its home, and puts it on the waiting list. */
static void pupil(const char *ref, int readiness, int32_t lat_e6, int days_ago, bool special_needs) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil record;
  fill_pupil(&record, &home, "school", ref, "LASSEN");
  home.lat_e6 = lat_e6;
  record.readiness = (Leerplek__V1__Readiness)readiness;
  record.max_commute_m = 20000;
  record.special_needs_buso = special_needs;
  record.waiting_since_unix_s = days_ago ? (int64_t)time(NULL) - (int64_t)days_ago * DAY - 600 : 0;
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &record;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0, "register %s: %s", ref, response->status->message);
  leerplek_response_free(response);
  cr_assert_eq(request_placement(coordinator, "school", ref), 0);
}

static Leerplek__V1__Placement *placement_of(const char *ref, Leerplek__V1__Response **response) {
  return placement_at(coordinator, "school", ref, response);
}

/* Runs a rematch and asserts it applied and says it is proven optimal. */
static void rematch_proven(void) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *result = response->run_rematch->result;
  cr_assert(result->proven_optimal, "the rematch does not say it is proven optimal");
  cr_assert_eq(result->dual_bound, result->objective, "dual bound %lld, objective %lld", (long long)result->dual_bound,
               (long long)result->objective);
  leerplek_response_free(response);
}

Test(priorities, a_long_waiter_keeps_its_proposal_against_a_closer_newcomer) {
  start(NULL);
  publish("vac", 1, KIND(REGULAR), READINESS(PARTLY));
  /* Waiting since August, 6 km from the place. */
  pupil("long", READINESS(READY), PLACE_LAT - 54000, 100, false);
  rematch_proven();
  Leerplek__V1__Response *response = NULL;
  Leerplek__V1__Placement *placement = placement_of("long", &response);
  cr_assert_eq(placement->state, STATE(PROPOSED));
  uint64_t proposal = placement->proposal_id;
  leerplek_response_free(response);

  /* Registered today, living next to the place. */
  pupil("new", READINESS(READY), PLACE_LAT, 0, false);
  rematch_proven();
  placement = placement_of("long", &response);
  cr_assert_eq(placement->state, STATE(PROPOSED));
  cr_assert_eq(placement->proposal_id, proposal, "the long waiter lost its proposal to a closer newcomer");
  leerplek_response_free(response);
  placement = placement_of("new", &response);
  cr_assert_eq(placement->state, STATE(WAITING));
  cr_assert_not_null(placement->unplaced);
  const Leerplek__V1__UnplacedInfo *why = placement->unplaced;
  cr_assert_eq(why->reason, REASON(SEATS_TAKEN));
  cr_assert_eq(why->eligible_seats, 1);
  cr_assert_eq(why->stronger_claims, 1, "the holder waited longer: a stronger claim");
  cr_assert_eq(why->equal_claims, 0);
  cr_assert_eq(why->days_waited, 0);
  cr_assert_eq(why->hint_kind, LEERPLEK__V1__HINT_KIND__HINT_KIND_MORE_SEATS);
  cr_assert_str_eq(why->hint_vacancy_id, "vac");
  cr_assert_eq(why->hint_seats, 1);
  cr_assert(strstr(why->help, "1 more seat at vac") != NULL, "%s", why->help);
  leerplek_response_free(response);

  /* The report carries the proof of the last rematch. */
  cr_assert_eq(get_report(coordinator, &response), 0);
  cr_assert_not_null(response->get_report->report->last_rematch);
  cr_assert(response->get_report->report->last_rematch->proven_optimal);
  leerplek_response_free(response);

  /* Acting on the hint places the newcomer too. */
  Leerplek__V1__GetVacancyRequest get = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  get.vacancy_id = (char *)"vac";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request.get_vacancy = &get;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  Leerplek__V1__Vacancy *vacancy = response->get_vacancy->vacancy;
  vacancy->seats = 2;
  Leerplek__V1__UpdateVacancyRequest update = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  update.vacancy = vacancy;
  Leerplek__V1__Request update_request = LEERPLEK__V1__REQUEST__INIT;
  update_request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
  update_request.update_vacancy = &update;
  Leerplek__V1__Response *updated = NULL;
  cr_assert_eq(call_code(coordinator, &update_request, &updated), 0, "%s", updated->status->message);
  leerplek_response_free(updated);
  leerplek_response_free(response);
  rematch_proven();
  placement = placement_of("new", &response);
  cr_assert_eq(placement->state, STATE(PROPOSED));
  leerplek_response_free(response);
  stop();
}

Test(priorities, a_not_ready_pupil_gets_the_preparatory_seat_against_a_ready_one) {
  start(NULL);
  publish("prep", 1, KIND(PREPARATORY), READINESS(NOT_READY));
  /* A ready BuSO pupil who waited a year takes the leftover preparatory seat... */
  pupil("ready", READINESS(READY), HOME_LAT, 365, true);
  rematch_proven();
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(placement_of("ready", &response)->state, STATE(PROPOSED), "a leftover preparatory seat is used");
  leerplek_response_free(response);
  /* ...until a not-ready pupil, registered today and farther away, needs it. */
  pupil("notready", READINESS(NOT_READY), HOME_LAT - 50000, 0, false);
  rematch_proven();
  Leerplek__V1__Placement *placement = placement_of("notready", &response);
  cr_assert_eq(placement->state, STATE(PROPOSED));
  cr_assert_str_eq(placement->offer->vacancy_id, "prep");
  leerplek_response_free(response);
  placement = placement_of("ready", &response);
  cr_assert_eq(placement->state, STATE(WAITING));
  cr_assert_eq(placement->unplaced->reason, REASON(SEATS_TAKEN));
  cr_assert_eq(placement->unplaced->stronger_claims, 1, "a not-ready pupil on a preparatory seat is a stronger claim");
  cr_assert_eq(placement->unplaced->wanted_kind, KIND(REGULAR));
  cr_assert_eq(placement->unplaced->days_waited, 365);
  leerplek_response_free(response);

  /* The waiting list counts the same days as the rematch. */
  Leerplek__V1__GetWaitingListRequest body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  request.get_waiting_list = &body;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->get_waiting_list->n_entries, 1);
  const Leerplek__V1__WaitingListEntry *entry = response->get_waiting_list->entries[0];
  cr_assert_str_eq(entry->pupil_ref, "ready");
  cr_assert_eq(entry->days_waiting, 365);
  cr_assert_eq(entry->days_waiting, entry->unplaced->days_waited);
  leerplek_response_free(response);
  stop();
}

Test(priorities, preparatory_seats_can_be_kept_for_not_ready_pupils) {
  const char *const flags[] = {"--rematch_ready_on_preparatory", "0", NULL};
  start(flags);
  publish("prep", 1, KIND(PREPARATORY), READINESS(NOT_READY));
  pupil("ready", READINESS(READY), HOME_LAT, 30, false);
  rematch_proven();
  Leerplek__V1__Response *response = NULL;
  Leerplek__V1__Placement *placement = placement_of("ready", &response);
  cr_assert_eq(placement->state, STATE(WAITING));
  cr_assert_eq(placement->unplaced->reason, REASON(READINESS_TOO_LOW));
  cr_assert(strstr(placement->unplaced->help, "PREPARATORY places kept for pupils not yet ready") != NULL, "%s",
            placement->unplaced->help);
  cr_assert_eq(placement->unplaced->hint_kind, LEERPLEK__V1__HINT_KIND__HINT_KIND_NEW_PLACE);
  cr_assert(strstr(placement->unplaced->help, "1 more REGULAR seat in LASSEN") != NULL, "%s",
            placement->unplaced->help);
  leerplek_response_free(response);
  stop();
}

/* One page of the waiting list (the caller frees the response). */
static Leerplek__V1__GetWaitingListResponse *waiting_page(const char *token, uint32_t size, const char *training,
                                                          Leerplek__V1__Response **response) {
  Leerplek__V1__GetWaitingListRequest body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  body.page_size = size;
  body.page_token = (char *)token;
  body.training_code = (char *)training;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  request.get_waiting_list = &body;
  int code = call_code(coordinator, &request, response);
  return code == 0 ? (*response)->get_waiting_list : NULL;
}

Test(priorities, waiting_list_pages_resume_after_the_last_entry) {
  start(NULL);
  /* Five pupils waiting 50, 40, 30, 20 and 10 days, no place for anyone. */
  static const char *const refs[] = {"w50", "w40", "w30", "w20", "w10"};
  for (int i = 0; i < 5; i++) pupil(refs[i], READINESS(READY), HOME_LAT, 50 - 10 * i, false);
  Leerplek__V1__Response *first = NULL;
  Leerplek__V1__GetWaitingListResponse *page = waiting_page("", 2, "", &first);
  cr_assert_not_null(page);
  cr_assert_eq(page->n_entries, 2);
  cr_assert_str_eq(page->entries[0]->pupil_ref, "w50");
  cr_assert_str_eq(page->entries[1]->pupil_ref, "w40");
  cr_assert_eq(page->entries[1]->position, 2);
  cr_assert_neq(page->next_page_token[0], '\0');
  /* Between the pages, a pupil who waited longer than everyone joins the list. */
  pupil("w99", READINESS(READY), HOME_LAT, 99, false);
  Leerplek__V1__Response *second = NULL;
  page = waiting_page(first->get_waiting_list->next_page_token, 2, "", &second);
  cr_assert_not_null(page);
  cr_assert_eq(page->n_entries, 2);
  cr_assert_str_eq(page->entries[0]->pupil_ref, "w30", "the page resumes after w40, not at a shifted offset");
  cr_assert_str_eq(page->entries[1]->pupil_ref, "w20");
  cr_assert_eq(page->entries[0]->position, 4, "positions are on the whole list, w99 included");
  cr_assert_eq(page->total_size, 6);
  /* The token is bound to its filters. */
  Leerplek__V1__Response *refused = NULL;
  cr_assert_null(waiting_page(first->get_waiting_list->next_page_token, 2, "LASSEN", &refused));
  cr_assert_eq(refused->status->code, CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(refused->status->field, "get_waiting_list.page_token");
  leerplek_response_free(refused);
  cr_assert_null(waiting_page("not-a-token", 2, "", &refused));
  cr_assert_eq(refused->status->code, CODE(INVALID_ARGUMENT));
  leerplek_response_free(refused);
  leerplek_response_free(first);
  leerplek_response_free(second);
  stop();
}
