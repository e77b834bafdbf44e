/* test_proposals: what schools and companies do with a proposal: the company's restricted view,
 * accept on both sides, the signed agreement, decline (company excluded, seat freed), withdraw.
 * The rematch that makes proposals comes with the matcher; here a proposal is written into
 * Redis the way a rematch stores it, and the daemon is restarted to load it. */
#include "common.h"

static lp_harness harness;
static char tokens[5][128];
enum { COORDINATOR, SCHOOL_A, SCHOOL_B, COMPANY_X, COMPANY_Y };
static leerplek_client *clients[5];
/* Numbered as a rematch numbers them: epoch 1, first proposal. */
#define PROPOSAL_ID ((UINT64_C(1) << 24) | 1)

static void seed_proposal(void) {
  redisContext *redis = harness_redis(&harness);
  redisReply *raw = redisCommand(redis, "GET lp:placement:school-a/p1");
  cr_assert_eq(raw->type, REDIS_REPLY_STRING);
  Leerplek__V1__Placement *placement = leerplek__v1__placement__unpack(NULL, raw->len, (const uint8_t *)raw->str);
  freeReplyObject(raw);
  cr_assert_not_null(placement);
  Leerplek__V1__Offer offer = LEERPLEK__V1__OFFER__INIT;
  offer.vacancy_id = (char *)"vac-x";
  offer.company_id = (char *)"1111111111";
  offer.location_id = (char *)"loc-x";
  offer.distance_m = 3200;
  placement->state = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED;
  placement->proposal_id = PROPOSAL_ID;
  placement->offer = &offer;
  placement->epoch = 1;
  unsigned char buffer[4096];
  size_t size = leerplek__v1__placement__pack(placement, buffer);
  placement->offer = NULL;
  leerplek__v1__placement__free_unpacked(placement, NULL);
  redisReply *set = redisCommand(redis, "SET lp:placement:school-a/p1 %b", buffer, size);
  freeReplyObject(set);

  raw = redisCommand(redis, "GET lp:vacancy:vac-x");
  Leerplek__V1__Vacancy *vacancy = leerplek__v1__vacancy__unpack(NULL, raw->len, (const uint8_t *)raw->str);
  freeReplyObject(raw);
  vacancy->seats_proposed = 1;
  size = leerplek__v1__vacancy__pack(vacancy, buffer);
  leerplek__v1__vacancy__free_unpacked(vacancy, NULL);
  set = redisCommand(redis, "SET lp:vacancy:vac-x %b", buffer, size);
  freeReplyObject(set);
  /* The epoch and summary the rematch of epoch 1 leaves. */
  Leerplek__V1__RematchResult last = LEERPLEK__V1__REMATCH_RESULT__INIT;
  last.epoch = 1;
  size = leerplek__v1__rematch_result__pack(&last, buffer);
  set = redisCommand(redis, "MSET lp:epoch 1 lp:rematch:last %b", buffer, size);
  freeReplyObject(set);
  redisFree(redis);
}

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", tokens[COORDINATOR], sizeof tokens[0]);
  leerplek_client *coordinator = harness_connect(&harness, tokens[COORDINATOR]);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, "1111111111", "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, "2222222222", "KAPPER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-x", "1111111111"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-x", "loc-x", "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-a", "p1", "KAPPER"), 0);
  Leerplek__V1__RequestPlacementRequest body = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)"school-a";
  body.pupil_ref = (char *)"p1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT;
  request.request_placement = &body;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);
  leerplek_close(coordinator);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", tokens[SCHOOL_A], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", tokens[SCHOOL_B], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "1111111111", tokens[COMPANY_X], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "2222222222", tokens[COMPANY_Y], sizeof tokens[0]);
  leerplek_close(admin);
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  seed_proposal();
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  for (int i = 0; i < 5; i++) cr_assert_not_null(clients[i] = harness_connect(&harness, tokens[i]));
}

static void teardown(void) {
  for (int i = 0; i < 5; i++) leerplek_close(clients[i]);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(proposals, .init = setup, .fini = teardown, .timeout = 60);

static int accept_as(int who, int side, Leerplek__V1__Response **out) {
  Leerplek__V1__AcceptProposalRequest body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  body.proposal_id = PROPOSAL_ID;
  body.side = (Leerplek__V1__Side)side;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
  request.accept_proposal = &body;
  return call_code(clients[who], &request, out);
}

static int decline(int who, Leerplek__V1__Response **out) {
  Leerplek__V1__DeclineProposalRequest body = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
  body.proposal_id = PROPOSAL_ID;
  body.reason = (char *)"days do not fit after all";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL;
  request.decline_proposal = &body;
  return call_code(clients[who], &request, out);
}

static void vacancy_seats(uint32_t *proposed, uint32_t *filled) {
  vacancy_seats_of(clients[COORDINATOR], "vac-x", proposed, filled);
}

Test(proposals, company_sees_only_its_proposals_in_the_restricted_view) {
  Leerplek__V1__ListProposalsRequest body = LEERPLEK__V1__LIST_PROPOSALS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS;
  request.list_proposals = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->list_proposals->n_proposals, 1);
  Leerplek__V1__CompanyProposal *proposal = response->list_proposals->proposals[0];
  cr_assert_eq(proposal->proposal_id, PROPOSAL_ID);
  cr_assert_str_eq(proposal->pupil_ref, "p1");
  cr_assert_eq(proposal->distance_band, LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_5_KM);
  cr_assert_eq(proposal->readiness, LEERPLEK__V1__READINESS__READINESS_READY);
  leerplek_response_free(response);
  request.request_id = 0;
  cr_assert_eq(call_code(clients[COMPANY_Y], &request, &response), 0);
  cr_assert_eq(response->list_proposals->n_proposals, 0);
  leerplek_response_free(response);
}

Test(proposals, both_sides_accept_then_agreement_then_withdraw_frees_the_seat) {
  Leerplek__V1__Response *response = NULL;
  /* Another scope's current proposal is answered as a stale one: nothing tells it is current. */
  cr_assert_eq(accept_as(SCHOOL_B, 0, NULL), CODE(FAILED_PRECONDITION), "another school's proposal is not theirs");
  cr_assert_eq(accept_as(COMPANY_Y, 0, NULL), CODE(FAILED_PRECONDITION), "another company's proposal is not theirs");
  cr_assert_eq(accept_as(SCHOOL_A, LEERPLEK__V1__SIDE__SIDE_COMPANY, NULL), CODE(PERMISSION_DENIED));
  cr_assert_eq(accept_as(COORDINATOR, 0, NULL), CODE(INVALID_ARGUMENT), "a coordinator must name the side");
  cr_assert_eq(accept_as(SCHOOL_A, 0, &response), 0);
  cr_assert_eq(response->accept_proposal->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED);
  cr_assert(response->accept_proposal->school_accepted);
  cr_assert_not(response->accept_proposal->company_accepted);
  leerplek_response_free(response);
  cr_assert_eq(accept_as(COMPANY_X, 0, &response), 0);
  cr_assert_eq(response->accept_proposal->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ACCEPTED);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 0);
  cr_assert_eq(filled, 1);

  Leerplek__V1__Date signed_on = LEERPLEK__V1__DATE__INIT, starts_on = LEERPLEK__V1__DATE__INIT;
  signed_on.year = 2026, signed_on.month = 6, signed_on.day = 30;
  starts_on.year = 2026, starts_on.month = 9, starts_on.day = 1;
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)"OAO-2026-0001";
  agreement.signed_on = &signed_on;
  agreement.starts_on = &starts_on;
  Leerplek__V1__RecordAgreementRequest record = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  record.proposal_id = PROPOSAL_ID;
  record.agreement = &agreement;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT;
  request.record_agreement = &record;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->record_agreement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT);
  cr_assert_gt(response->record_agreement->agreement->recorded_unix_s, 0);
  leerplek_response_free(response);
  cr_assert_eq(decline(SCHOOL_A, NULL), CODE(FAILED_PRECONDITION), "a signed agreement cannot be declined");

  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  withdraw.pupil_ref = (char *)"p1";
  Leerplek__V1__Request withdraw_request = LEERPLEK__V1__REQUEST__INIT;
  withdraw_request.body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT;
  withdraw_request.withdraw_placement = &withdraw;
  cr_assert_eq(call_code(clients[SCHOOL_A], &withdraw_request, NULL), 0);
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 0, "withdrawing frees the seat");
}

Test(proposals, decline_excludes_the_company_and_frees_the_seat) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(decline(COMPANY_Y, NULL), CODE(FAILED_PRECONDITION));
  cr_assert_eq(decline(COMPANY_X, &response), 0);
  cr_assert_eq(response->decline_proposal->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_DECLINED);
  cr_assert_str_eq(response->decline_proposal->excluded_company_id, "1111111111");
  leerplek_response_free(response);
  cr_assert_eq(get_pupil(clients[SCHOOL_A], "", "p1", &response), 0);
  cr_assert_eq(response->get_pupil->pupil->n_declined_company_ids, 1);
  cr_assert_str_eq(response->get_pupil->pupil->declined_company_ids[0], "1111111111");
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 0);
  cr_assert_eq(accept_as(SCHOOL_A, 0, NULL), CODE(FAILED_PRECONDITION), "a declined proposal is no longer current");
  cr_assert_eq(decline(SCHOOL_A, NULL), CODE(FAILED_PRECONDITION), "declining it again: no longer current");

  Leerplek__V1__GetPlacementRequest get = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  get.pupil_ref = (char *)"p1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &get;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, &response), 0);
  cr_assert_not_null(response->get_placement->placement->last_decline);
  cr_assert_eq(response->get_placement->placement->last_decline->side, LEERPLEK__V1__SIDE__SIDE_COMPANY);
  cr_assert_eq(response->get_placement->placement->proposal_id, 0);
  leerplek_response_free(response);
}

static Leerplek__V1__Placement *placement_of_p1(Leerplek__V1__Response **response) {
  Leerplek__V1__GetPlacementRequest get = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  get.school_id = (char *)"school-a";
  get.pupil_ref = (char *)"p1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &get;
  cr_assert_eq(call_code(clients[COORDINATOR], &request, response), 0);
  return (*response)->get_placement->placement;
}

Test(proposals, closing_the_vacancy_releases_the_proposal) {
  Leerplek__V1__CloseVacancyRequest body = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  body.vacancy_id = (char *)"vac-x";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY;
  request.close_vacancy = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->close_vacancy->released_proposals, 1);
  cr_assert_eq(response->close_vacancy->vacancy->seats_proposed, 0);
  leerplek_response_free(response);
  Leerplek__V1__Placement *placement = placement_of_p1(&response);
  cr_assert_eq(placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING);
  cr_assert_eq(placement->proposal_id, 0);
  cr_assert_null(placement->offer);
  leerplek_response_free(response);
}

Test(proposals, a_pupil_change_that_no_longer_fits_releases_the_proposal) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-a", "p1", "KAPPER");
  pupil.day_mask = 0x7; /* Wednesday A is not a day of vac-x (0x183) */
  Leerplek__V1__UpdatePupilRequest body = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL;
  request.update_pupil = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, &response), 0);
  cr_assert(response->update_pupil->released_proposal);
  leerplek_response_free(response);
  cr_assert_eq(placement_of_p1(&response)->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 0);
}

Test(proposals, a_vacancy_change_that_still_fits_keeps_the_proposal_and_one_that_does_not_releases_it) {
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = (char *)"vac-x";
  vacancy.location_id = (char *)"loc-x";
  vacancy.training_code = (char *)"KAPPER";
  vacancy.seats = 3;
  vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  vacancy.day_mask = 0x3FFF; /* every day: the pupil still fits */
  vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy.start_date = &start;
  Leerplek__V1__UpdateVacancyRequest body = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  body.vacancy = &vacancy;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
  request.update_vacancy = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->update_vacancy->released_proposals, 0);
  cr_assert_eq(response->update_vacancy->vacancy->seats_proposed, 1);
  leerplek_response_free(response);

  vacancy.day_mask = 0x1; /* Monday A only: the pupil's Tuesday no longer fits */
  request.request_id = 0;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->update_vacancy->released_proposals, 1);
  cr_assert_eq(response->update_vacancy->vacancy->seats_proposed, 0);
  leerplek_response_free(response);
  cr_assert_eq(placement_of_p1(&response)->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING);
  leerplek_response_free(response);
}

Test(proposals, removing_a_recognition_releases_proposals_but_not_accepted_placements) {
  cr_assert_eq(accept_as(SCHOOL_A, 0, NULL), 0);
  cr_assert_eq(accept_as(COMPANY_X, 0, NULL), 0);
  char *before = harness_snapshot(&harness);
  cr_assert_eq(upsert_company(clients[COORDINATOR], "1111111111", NULL), CODE(FAILED_PRECONDITION),
               "an accepted placement depends on the recognition");
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after);
  free(before);
  free(after);
}

Test(proposals, removing_a_recognition_releases_a_proposal) {
  cr_assert_eq(upsert_company(clients[COORDINATOR], "1111111111", NULL), 0);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(placement_of_p1(&response)->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 0);
}
