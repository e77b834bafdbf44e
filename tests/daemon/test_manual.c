/* test_manual: a coordinator's hand on the rematch, through the real daemon and Redis. A manual
 * placement the rules refuse is refused naming the rule (and changes nothing); with a written
 * override reason it is placed, pinned, and the reason stored and the event recorded; it then
 * goes through accept, accept, record_agreement like any proposal. A full vacancy is refused
 * even with an override. A pinned proposal stays through a rematch that gives its seat to a
 * stronger claim once unpinned. Start dates at the window's edge (the day before, on, after)
 * through the daemon's rematch. */
#include "common.h"

#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define SIDE(name) LEERPLEK__V1__SIDE__SIDE_##name
#define REASON(name) LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_##name

static lp_harness harness;
static leerplek_client *coordinator;
#define COMPANY_X "1111111111"
/* Pupils live at 51217234, 4421100 (fill_pupil); loc-near is 1.5 km away, loc-far 50 km. */
#define NEAR_LAT 51230000
#define FAR_LAT 51667000

static int publish(const char *id, const char *location, const char *training, uint32_t seats, int month, int day) {
  return publish_vacancy_with(coordinator, id, location, training, seats, month, day);
}

/* Registers a pupil (wanted_month 0: no wanted start; special: BuSO); the status code. */
static int register_with_start(const char *ref, const char *training, int wanted_month, int wanted_day, bool special,
                               Leerplek__V1__Response **out) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  Leerplek__V1__Date wanted = LEERPLEK__V1__DATE__INIT;
  fill_pupil(&pupil, &home, "school-a", ref, training);
  pupil.special_needs_buso = special;
  if (wanted_month) {
    wanted.year = 2026, wanted.month = wanted_month, wanted.day = wanted_day;
    pupil.wanted_start_date = &wanted;
  }
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  return call_code(coordinator, &request, out);
}

/* A registered pupil on the waiting list. */
static void waiting_pupil(const char *ref, const char *training, int wanted_month, int wanted_day, bool special) {
  cr_assert_eq(register_with_start(ref, training, wanted_month, wanted_day, special, NULL), 0, "register %s", ref);
  cr_assert_eq(request_placement(coordinator, "school-a", ref), 0);
}

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  coordinator = harness_connect(&harness, token);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_training(coordinator, "BAKKER", "Bakker"), 0);
  Leerplek__V1__Company company = LEERPLEK__V1__COMPANY__INIT;
  char *trainings[] = {(char *)"KAPPER", (char *)"BAKKER"};
  company.id = (char *)COMPANY_X;
  company.name = (char *)"Salon";
  company.recognised_training_codes = trainings;
  company.n_recognised_training_codes = 2;
  Leerplek__V1__UpsertCompanyRequest company_body = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
  company_body.company = &company;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY;
  request.upsert_company = &company_body;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);
  cr_assert_eq(upsert_location_at(coordinator, "loc-near", COMPANY_X, NEAR_LAT, 4420000), 0);
  cr_assert_eq(upsert_location_at(coordinator, "loc-far", COMPANY_X, FAR_LAT, 4420000), 0);
}

static void teardown(void) {
  if (coordinator) leerplek_close(coordinator);
  coordinator = NULL;
  harness_cleanup(&harness);
}

TestSuite(manual, .init = setup, .fini = teardown, .timeout = 120);

static Leerplek__V1__Placement *placement_of(const char *ref, Leerplek__V1__Response **response) {
  return placement_at(coordinator, "school-a", ref, response);
}

static int place(const char *ref, const char *vacancy, const char *reason, bool unpinned,
                 Leerplek__V1__Response **out) {
  Leerplek__V1__PlacePupilRequest body = LEERPLEK__V1__PLACE_PUPIL_REQUEST__INIT;
  body.school_id = (char *)"school-a";
  body.pupil_ref = (char *)ref;
  body.vacancy_id = (char *)vacancy;
  body.override_reason = (char *)reason;
  body.unpinned = unpinned;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_PLACE_PUPIL;
  request.place_pupil = &body;
  return call_code(coordinator, &request, out);
}

static int pin(const char *ref, bool on) {
  Leerplek__V1__PinPlacementRequest body = LEERPLEK__V1__PIN_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)"school-a";
  body.pupil_ref = (char *)ref;
  body.pin = on;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_PIN_PLACEMENT;
  request.pin_placement = &body;
  return call_code(coordinator, &request, NULL);
}

static int accept_side(uint64_t proposal_id, int side) {
  Leerplek__V1__AcceptProposalRequest body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.side = (Leerplek__V1__Side)side;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
  request.accept_proposal = &body;
  return call_code(coordinator, &request, NULL);
}

static void rematch(void) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
}

Test(manual, override_is_refused_without_reason_placed_with_it_and_signed_like_any_proposal) {
  cr_assert_eq(publish("vac-far", "loc-far", "KAPPER", 1, 9, 1), 0);
  waiting_pupil("p1", "KAPPER", 0, 0, false);
  waiting_pupil("p2", "KAPPER", 0, 0, false);

  /* 50 km, the commute is 15 km: the rulebook refuses, naming the rule; nothing changes. */
  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(place("p1", "vac-far", "", false, &response), CODE(FAILED_PRECONDITION));
  cr_expect_str_eq(response->status->field, "place_pupil.vacancy_id");
  cr_expect(strstr(response->status->message, "rule 3 NONE_WITHIN_COMMUTE") != NULL, "%s", response->status->message);
  leerplek_response_free(response);
  char *after = harness_snapshot(&harness);
  cr_expect_str_eq(after, before, "a refused placement changes nothing");
  free(before);
  free(after);

  /* With a written reason: placed, pinned, the rule and the reason kept. */
  const char *reason = "Ouders brengen haar elke dag met de auto; afgesproken met het bedrijf per telefoon.";
  cr_assert_eq(place("p1", "vac-far", reason, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__Placement *placed = response->place_pupil->placement;
  cr_assert_eq(placed->state, STATE(PROPOSED));
  cr_assert_not_null(placed->manual);
  cr_expect_eq(placed->manual->overridden_rule, REASON(NONE_WITHIN_COMMUTE));
  cr_expect_str_eq(placed->manual->override_reason, reason);
  cr_expect(strncmp(placed->manual->placed_by, "coordinator:", 12) == 0 && strlen(placed->manual->placed_by) > 12,
            "placed by a named coordinator token: %s", placed->manual->placed_by);
  cr_expect(placed->pinned, "manual placements are pinned by default");
  cr_expect_str_eq(placed->offer->vacancy_id, "vac-far");
  uint64_t proposal_id = placed->proposal_id;
  cr_expect_neq(proposal_id, 0);
  leerplek_response_free(response);

  /* In Redis too, and the event is recorded. */
  redisContext *redis = harness_redis(&harness);
  redisReply *raw = redisCommand(redis, "GET lp:placement:school-a/p1");
  cr_assert_eq(raw->type, REDIS_REPLY_STRING);
  Leerplek__V1__Placement *stored = leerplek__v1__placement__unpack(NULL, raw->len, (const uint8_t *)raw->str);
  freeReplyObject(raw);
  cr_assert_not_null(stored->manual);
  cr_expect_str_eq(stored->manual->override_reason, reason);
  cr_expect_eq(stored->proposal_id, proposal_id);
  leerplek__v1__placement__free_unpacked(stored, NULL);
  redisReply *events = redisCommand(redis, "XREVRANGE lp:events + - COUNT 1");
  cr_assert_eq(events->type, REDIS_REPLY_ARRAY);
  cr_assert_eq(events->elements, 1);
  redisReply *fields = events->element[0]->element[1];
  bool seen = false;
  for (size_t f = 0; f + 1 < fields->elements; f += 2)
    seen |= strcmp(fields->element[f]->str, "op") == 0 && strcmp(fields->element[f + 1]->str, "place_manual") == 0;
  cr_expect(seen, "the event names place_manual");
  freeReplyObject(events);

  /* The vacancy's one seat is taken now: even an override does not make a seat. */
  cr_assert_eq(place("p2", "vac-far", "Het bedrijf zegt dat er nog plaats is.", false, &response),
               CODE(FAILED_PRECONDITION));
  cr_expect_str_eq(response->status->field, "place_pupil.vacancy_id");
  cr_expect(strstr(response->status->message, "no free seat") != NULL, "%s", response->status->message);
  leerplek_response_free(response);

  /* A rematch keeps it (pinned, and fixed once accepted); then accept, accept, agreement. */
  rematch();
  Leerplek__V1__Placement *now = placement_of("p1", &response);
  cr_expect_eq(now->state, STATE(PROPOSED));
  cr_expect_eq(now->proposal_id, proposal_id, "the rematch kept the pinned manual placement");
  leerplek_response_free(response);
  cr_assert_eq(accept_side(proposal_id, SIDE(SCHOOL)), 0);
  cr_assert_eq(accept_side(proposal_id, SIDE(COMPANY)), 0);
  cr_assert_eq(record_agreement_as(coordinator, proposal_id, "OAO-1"), 0);
  now = placement_of("p1", &response);
  cr_expect_eq(now->state, STATE(AGREEMENT));
  cr_expect_str_eq(now->manual->override_reason, reason, "the reason stays with the signed placement");
  leerplek_response_free(response);
  redisFree(redis);
}

Test(manual, pin_keeps_a_proposal_through_a_rematch_and_unpin_lets_it_go) {
  cr_assert_eq(publish("vac-one", "loc-near", "KAPPER", 1, 9, 1), 0);
  waiting_pupil("q1", "KAPPER", 0, 0, false);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(place("q1", "vac-one", "", false, &response), 0, "%s", response->status->message);
  cr_expect_eq(response->place_pupil->placement->manual->overridden_rule, REASON(UNSPECIFIED), "no rule failed");
  uint64_t manual_id = response->place_pupil->placement->proposal_id;
  leerplek_response_free(response);
  /* A BuSO pupil with the stronger claim arrives: pinned, q1 keeps the seat. */
  waiting_pupil("q2", "KAPPER", 0, 0, true);
  rematch();
  Leerplek__V1__Placement *q1 = placement_of("q1", &response);
  cr_expect_eq(q1->state, STATE(PROPOSED));
  cr_expect_eq(q1->proposal_id, manual_id);
  cr_expect(q1->pinned);
  leerplek_response_free(response);
  Leerplek__V1__Placement *q2 = placement_of("q2", &response);
  cr_expect_eq(q2->state, STATE(WAITING));
  cr_assert_not_null(q2->unplaced);
  cr_expect_eq(q2->unplaced->reason, REASON(SEATS_TAKEN));
  cr_expect_eq(q2->unplaced->fixed_holders, 1, "the pinned seat counts as a fixed holder");
  leerplek_response_free(response);

  /* Unpinned, the next rematch gives the seat to the stronger claim. */
  cr_assert_eq(pin("q1", false), 0);
  q1 = placement_of("q1", &response);
  cr_expect(!q1->pinned);
  leerplek_response_free(response);
  rematch();
  q2 = placement_of("q2", &response);
  cr_expect_eq(q2->state, STATE(PROPOSED));
  cr_expect_str_eq(q2->offer->vacancy_id, "vac-one");
  leerplek_response_free(response);
  q1 = placement_of("q1", &response);
  cr_expect_eq(q1->state, STATE(WAITING), "released for the stronger claim");
  cr_expect_null(q1->manual, "the manual info ends with its proposal");
  leerplek_response_free(response);
  /* The old id is stale now, not unknown; pinning a WAITING placement is refused. */
  cr_expect_eq(accept_side(manual_id, SIDE(SCHOOL)), CODE(FAILED_PRECONDITION));
  cr_expect_eq(pin("q1", true), CODE(FAILED_PRECONDITION));
}

Test(manual, an_unpinned_override_is_released_by_the_rematch) {
  cr_assert_eq(publish("vac-far", "loc-far", "KAPPER", 1, 9, 1), 0);
  waiting_pupil("r1", "KAPPER", 0, 0, false);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(place("r1", "vac-far", "Tijdelijk, tot er iets dichterbij is.", true, &response), 0, "%s",
               response->status->message);
  cr_expect(!response->place_pupil->placement->pinned);
  leerplek_response_free(response);
  rematch();
  Leerplek__V1__Placement *r1 = placement_of("r1", &response);
  cr_expect_eq(r1->state, STATE(WAITING), "the rematch keeps the rules for unpinned placements");
  cr_assert_not_null(r1->unplaced);
  cr_expect_eq(r1->unplaced->reason, REASON(NONE_WITHIN_COMMUTE));
  leerplek_response_free(response);
}

Test(manual, start_dates_at_the_window_edge_through_the_rematch) {
  /* The vacancies start on 2026-09-01; the window is 30 days (the default). */
  cr_assert_eq(publish("vac-bak", "loc-near", "BAKKER", 3, 9, 1), 0);
  waiting_pupil("before-edge", "BAKKER", 8, 3, false); /* 29 days before: in time */
  waiting_pupil("on-edge", "BAKKER", 8, 2, false);     /* 30 days: in time */
  waiting_pupil("after-edge", "BAKKER", 8, 1, false);  /* 31 days: too late */
  rematch();
  Leerplek__V1__Response *response = NULL;
  Leerplek__V1__Placement *placement = placement_of("before-edge", &response);
  cr_expect_eq(placement->state, STATE(PROPOSED));
  leerplek_response_free(response);
  placement = placement_of("on-edge", &response);
  cr_expect_eq(placement->state, STATE(PROPOSED));
  leerplek_response_free(response);
  placement = placement_of("after-edge", &response);
  cr_expect_eq(placement->state, STATE(WAITING));
  cr_assert_not_null(placement->unplaced);
  cr_expect_eq(placement->unplaced->reason, REASON(STARTS_TOO_LATE));
  cr_expect(strstr(placement->unplaced->help, "all start after 2026-08-31") != NULL, "%s", placement->unplaced->help);
  cr_expect_eq(placement->unplaced->hint_kind, LEERPLEK__V1__HINT_KIND__HINT_KIND_NEW_PLACE);
  leerplek_response_free(response);
  /* A manual placement there names rule 6. */
  cr_assert_eq(place("after-edge", "vac-bak", "", false, &response), CODE(FAILED_PRECONDITION));
  cr_expect(strstr(response->status->message, "rule 6 STARTS_TOO_LATE") != NULL, "%s", response->status->message);
  leerplek_response_free(response);
  /* A bad wanted date names the field. */
  cr_assert_eq(register_with_start("bad-date", "BAKKER", 2, 30, false, &response), CODE(INVALID_ARGUMENT));
  cr_expect_str_eq(response->status->field, "register_pupil.pupil.wanted_start_date");
  leerplek_response_free(response);
}

/* Manual ids stay unique over all time: one declined (no placement holds it any more) is not
 * given again after a restart, and acting on it says it is stale, not unknown. */
Test(manual, manual_ids_are_never_given_twice_across_restarts) {
  cr_assert_eq(publish("vac-two", "loc-near", "KAPPER", 2, 9, 1), 0);
  waiting_pupil("m1", "KAPPER", 0, 0, false);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(place("m1", "vac-two", "", false, &response), 0, "%s", response->status->message);
  uint64_t first = response->place_pupil->placement->proposal_id;
  leerplek_response_free(response);
  Leerplek__V1__DeclineProposalRequest decline = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
  decline.proposal_id = first;
  decline.side = SIDE(SCHOOL);
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL;
  request.decline_proposal = &decline;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);
  Leerplek__V1__Placement *declined = placement_of("m1", &response);
  cr_expect_eq(declined->state, STATE(DECLINED));
  cr_expect(!declined->pinned && !declined->manual, "the pin and the manual info end with the proposal");
  leerplek_response_free(response);

  leerplek_close(coordinator);
  coordinator = NULL;
  char token[128];
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  coordinator = harness_connect(&harness, token);
  /* m1 declined company X; a second pupil takes the other seat by hand. */
  waiting_pupil("m2", "KAPPER", 0, 0, false);
  cr_assert_eq(place("m2", "vac-two", "", false, &response), 0, "%s", response->status->message);
  uint64_t second = response->place_pupil->placement->proposal_id;
  leerplek_response_free(response);
  cr_expect_gt(second, first, "a new id after the restart (%llu, then %llu)", (unsigned long long)first,
               (unsigned long long)second);
  cr_expect_eq(accept_side(first, SIDE(SCHOOL)), CODE(FAILED_PRECONDITION), "the declined id is stale");
  cr_expect_eq(accept_side(second + 1, SIDE(SCHOOL)), CODE(NOT_FOUND), "an id not issued yet is unknown");
}
