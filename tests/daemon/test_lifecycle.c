/* test_lifecycle: the dates of a placement, end to end through leerplekd and Redis. The clock
 * is controlled by the daemon's proposal_answer_seconds (a few seconds here): proposals made by
 * a real rematch expire (both sides saw the deadline; the pupil waits again without excluding
 * the company, its waiting time kept), the reminder event comes first, half-accepted ones
 * expire, accepted ones never; a restart keeps the deadline; agreements end (end_agreement, or
 * by themselves after ends_on) and free their seat; close_school_year archives what ended. */
#include "common.h"

#include <hiredis/hiredis.h>

#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define COMPANY_ID "1111111111"

static lp_harness harness;
enum { COORDINATOR, SCHOOL_A, COMPANY_X, ROLES };
static char tokens[ROLES][128];
static leerplek_client *clients[ROLES];
static const char *const *daemon_flags;

/* Redis, the daemon with flags, the tokens, a company with one vacancy of `seats` seats and
 * `pupils` waiting pupils p1.. of school-a. */
static void start_with(const char *const *flags, uint32_t seats, int pupils) {
  daemon_flags = flags;
  start_all(&harness, flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", tokens[COORDINATOR], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", tokens[SCHOOL_A], sizeof tokens[0]);
  leerplek_client *coordinator = harness_connect(&harness, tokens[COORDINATOR]);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY_ID, "KAPPER"), 0);
  leerplek_close(coordinator);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, COMPANY_ID, tokens[COMPANY_X], sizeof tokens[0]);
  leerplek_close(admin);
  for (int i = 0; i < ROLES; i++) cr_assert_not_null(clients[i] = harness_connect(&harness, tokens[i]));
  coordinator = clients[COORDINATOR];
  cr_assert_eq(upsert_location(coordinator, "loc-x", COMPANY_ID), 0);
  cr_assert_eq(publish_vacancy_seats(coordinator, "vac-x", "loc-x", "KAPPER", seats), 0);
  for (int i = 1; i <= pupils; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%d", i);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
    cr_assert_eq(request_placement(coordinator, "school-a", ref), 0);
  }
}

static const char *const short_deadline[] = {"--proposal_answer_seconds", "3", "--proposal_reminder_seconds", "2",
                                             NULL};
static const char *const longer_deadline[] = {"--proposal_answer_seconds", "8", "--proposal_reminder_seconds", "1",
                                              NULL};
static void short_one_seat(void) { start_with(short_deadline, 1, 1); }
static void longer_one_seat(void) { start_with(longer_deadline, 1, 1); }
static void long_one_seat_two_pupils(void) { start_with(NULL, 1, 2); }
static void long_three_seats(void) { start_with(NULL, 3, 3); }

static void teardown(void) {
  for (int i = 0; i < ROLES; i++) leerplek_close(clients[i]);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(lifecycle, .fini = teardown, .timeout = 90);

static void rematch(void) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(clients[COORDINATOR], false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
}

/* get_placement of school A's ref; the status code (the response in *out, if wanted). */
static int placement_code(const char *ref, Leerplek__V1__Response **out) {
  Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &body;
  return call_code(clients[SCHOOL_A], &request, out);
}

static Leerplek__V1__Response *placement_of(const char *ref) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(placement_code(ref, &response), 0, "get_placement %s: %s", ref, response->status->message);
  return response;
}

/* Waits (at most timeout_ms) until the placement leaves state; returns the response. */
static Leerplek__V1__Response *placement_after(const char *ref, int state, long timeout_ms) {
  long long until = harness_now_ms() + timeout_ms;
  for (;;) {
    Leerplek__V1__Response *response = placement_of(ref);
    if ((int)response->get_placement->placement->state != state || harness_now_ms() > until) return response;
    leerplek_response_free(response);
    sleep_ms(100);
  }
}

static void vacancy_seats(uint32_t *proposed, uint32_t *filled) {
  vacancy_seats_of(clients[COORDINATOR], "vac-x", proposed, filled);
}

/* Stops the daemon cleanly and starts it again on the same Redis, with the same flags. */
static void restart_daemon(void) {
  for (int i = 0; i < ROLES; i++) leerplek_close(clients[i]);
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, daemon_flags), 0);
  for (int i = 0; i < ROLES; i++) cr_assert_not_null(clients[i] = harness_connect(&harness, tokens[i]));
}

static int accept_as(int who, uint64_t proposal_id) {
  Leerplek__V1__AcceptProposalRequest body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  body.proposal_id = proposal_id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
  request.accept_proposal = &body;
  return call_code(clients[who], &request, NULL);
}

/* The lp:events entry (op, key "school-a/<ref>") first written, its stream time in ms; 0 when
 * there is none. */
static long long event_ms(const char *op, const char *ref) {
  char key[64];
  snprintf(key, sizeof key, "school-a/%s", ref);
  redisContext *redis = harness_redis(&harness);
  redisReply *reply = redisCommand(redis, "XRANGE lp:events - +");
  cr_assert_eq(reply->type, REDIS_REPLY_ARRAY);
  long long found = 0;
  for (size_t i = 0; i < reply->elements && !found; i++) {
    redisReply *entry = reply->element[i], *fields = entry->element[1];
    bool op_matches = false, key_matches = false;
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (strcmp(fields->element[f]->str, "op") == 0) op_matches = strcmp(fields->element[f + 1]->str, op) == 0;
      if (strcmp(fields->element[f]->str, "key") == 0) key_matches = strcmp(fields->element[f + 1]->str, key) == 0;
    }
    if (op_matches && key_matches) found = strtoll(entry->element[0]->str, NULL, 10);
  }
  freeReplyObject(reply);
  redisFree(redis);
  return found;
}

Test(lifecycle, an_unanswered_proposal_expires_and_the_pupil_waits_again, .init = short_one_seat) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_pupil(clients[SCHOOL_A], "", "p1", &response), 0);
  int64_t waiting_since = response->get_pupil->pupil->waiting_since_unix_s;
  cr_assert_gt(waiting_since, 0);
  leerplek_response_free(response);
  rematch();

  /* Both sides see the deadline: the school in the placement, the company in its proposal. */
  response = placement_of("p1");
  const Leerplek__V1__Placement *placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(PROPOSED));
  int64_t answer_by = placement->answer_by_unix_s;
  cr_assert_eq(answer_by, placement->proposed_unix_s + 3, "the deadline is proposal_answer_seconds after the proposal");
  cr_assert_null(placement->last_release);
  leerplek_response_free(response);
  Leerplek__V1__ListProposalsRequest list = LEERPLEK__V1__LIST_PROPOSALS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS;
  request.list_proposals = &list;
  cr_assert_eq(call_code(clients[COMPANY_X], &request, &response), 0);
  cr_assert_eq(response->list_proposals->n_proposals, 1);
  cr_assert_eq(response->list_proposals->proposals[0]->answer_by_unix_s, answer_by);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 1);

  response = placement_after("p1", PSTATE(PROPOSED), 8000);
  placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(WAITING), "the proposal expired back to the waiting list (not DECLINED)");
  cr_assert_geq((int64_t)time(NULL), answer_by, "not before its deadline");
  cr_assert_eq(placement->proposal_id, 0);
  cr_assert_null(placement->offer);
  cr_assert_eq(placement->answer_by_unix_s, 0);
  cr_assert_null(placement->last_decline);
  cr_assert_not_null(placement->last_release);
  cr_assert_eq(placement->last_release->reason, LEERPLEK__V1__RELEASE_REASON__RELEASE_REASON_EXPIRED);
  cr_assert_str_eq(placement->last_release->vacancy_id, "vac-x");
  cr_assert_str_eq(placement->last_release->company_id, COMPANY_ID);
  cr_assert_eq(placement->last_release->answer_by_unix_s, answer_by);
  cr_assert_not(placement->last_release->school_accepted);
  leerplek_response_free(response);
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(proposed, 0, "the seat is free again");
  cr_assert_eq(filled, 0);
  cr_assert_eq(get_pupil(clients[SCHOOL_A], "", "p1", &response), 0);
  cr_assert_eq(response->get_pupil->pupil->n_declined_company_ids, 0, "an expiry excludes no company");
  cr_assert_eq(response->get_pupil->pupil->waiting_since_unix_s, waiting_since, "the waiting time is kept");
  leerplek_response_free(response);

  /* The reminder went out before the deadline, the expiry at it. */
  long long remind_ms = event_ms("remind", "p1"), expire_ms = event_ms("expire", "p1");
  cr_assert_gt(remind_ms, 0, "a remind event was written");
  cr_assert_lt(remind_ms, answer_by * 1000, "the reminder comes before the deadline");
  cr_assert_geq(remind_ms, (answer_by - 2) * 1000, "and not before proposal_reminder_seconds ahead of it");
  cr_assert_geq(expire_ms, answer_by * 1000, "the expire event comes at the deadline");

  /* The company is not excluded: the next rematch proposes it again, with a new deadline. */
  rematch();
  response = placement_of("p1");
  placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(PROPOSED));
  cr_assert_str_eq(placement->offer->vacancy_id, "vac-x");
  cr_assert_gt(placement->answer_by_unix_s, answer_by);
  cr_assert_eq(placement->reminded_unix_s, 0, "a new proposal gets a new reminder");
  leerplek_response_free(response);
}

Test(lifecycle, a_half_accepted_proposal_expires_an_accepted_one_never, .init = short_one_seat) {
  rematch();
  Leerplek__V1__Response *response = placement_of("p1");
  uint64_t proposal_id = response->get_placement->placement->proposal_id;
  leerplek_response_free(response);
  cr_assert_eq(accept_as(SCHOOL_A, proposal_id), 0);
  response = placement_after("p1", PSTATE(PROPOSED), 8000);
  const Leerplek__V1__Placement *placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(WAITING), "one side's yes does not stop the deadline");
  cr_assert(placement->last_release && placement->last_release->school_accepted);
  cr_assert_not(placement->last_release->company_accepted);
  cr_assert_not(placement->school_accepted, "the acceptance went with the proposal");
  leerplek_response_free(response);

  rematch();
  response = placement_of("p1");
  proposal_id = response->get_placement->placement->proposal_id;
  int64_t answer_by = response->get_placement->placement->answer_by_unix_s;
  leerplek_response_free(response);
  cr_assert_eq(accept_as(SCHOOL_A, proposal_id), 0);
  cr_assert_eq(accept_as(COMPANY_X, proposal_id), 0);
  while ((int64_t)time(NULL) < answer_by + 2) sleep_ms(200);
  response = placement_of("p1");
  placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(ACCEPTED), "an accepted proposal never expires");
  cr_assert_eq(placement->answer_by_unix_s, 0);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 1);
}

Test(lifecycle, a_restart_keeps_the_deadline, .init = longer_one_seat) {
  rematch();
  Leerplek__V1__Response *response = placement_of("p1");
  int64_t answer_by = response->get_placement->placement->answer_by_unix_s;
  leerplek_response_free(response);
  cr_assert_gt(answer_by, 0);
  restart_daemon();
  response = placement_of("p1");
  cr_assert_eq(response->get_placement->placement->state, PSTATE(PROPOSED), "%lld", (long long)time(NULL) - answer_by);
  cr_assert_eq(response->get_placement->placement->answer_by_unix_s, answer_by,
               "the deadline is stored in the placement");
  leerplek_response_free(response);
  response = placement_after("p1", PSTATE(PROPOSED), 12000);
  cr_assert_eq(response->get_placement->placement->state, PSTATE(WAITING), "the restarted daemon expires it");
  cr_assert_geq((int64_t)time(NULL), answer_by);
  leerplek_response_free(response);
}

static Leerplek__V1__Date date_of(int year, int month, int day) {
  Leerplek__V1__Date date = LEERPLEK__V1__DATE__INIT;
  date.year = year, date.month = month, date.day = day;
  return date;
}

static Leerplek__V1__Date today(int days_ahead) {
  time_t now = time(NULL) + (time_t)days_ahead * 86400;
  struct tm local;
  localtime_r(&now, &local);
  return date_of(local.tm_year + 1900, local.tm_mon + 1, local.tm_mday);
}

/* Proposes, accepts on both sides and records an agreement for ref; returns the proposal id. */
static uint64_t agreement_for(const char *ref, Leerplek__V1__Date starts_on, Leerplek__V1__Date *ends_on) {
  Leerplek__V1__Response *response = placement_of(ref);
  uint64_t proposal_id = response->get_placement->placement->proposal_id;
  cr_assert_eq(response->get_placement->placement->state, PSTATE(PROPOSED));
  leerplek_response_free(response);
  cr_assert_eq(accept_as(SCHOOL_A, proposal_id), 0);
  cr_assert_eq(accept_as(COMPANY_X, proposal_id), 0);
  Leerplek__V1__Date signed_on = date_of(2026, 1, 2);
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)"OAO-2026-0042";
  agreement.signed_on = &signed_on;
  agreement.starts_on = &starts_on;
  agreement.ends_on = ends_on;
  Leerplek__V1__RecordAgreementRequest record = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  record.proposal_id = proposal_id;
  record.agreement = &agreement;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT;
  request.record_agreement = &record;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  return proposal_id;
}

static int end_agreement(int who, uint64_t proposal_id, const char *reason, Leerplek__V1__Date *ended_on,
                         Leerplek__V1__Response **out) {
  Leerplek__V1__EndAgreementRequest body = LEERPLEK__V1__END_AGREEMENT_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.reason = (char *)reason;
  body.ended_on = ended_on;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_END_AGREEMENT;
  request.end_agreement = &body;
  return call_code(clients[who], &request, out);
}

Test(lifecycle, ending_an_agreement_frees_its_seat_for_a_rematch, .init = long_one_seat_two_pupils) {
  rematch();
  /* One seat, two pupils: p1 gets it (the same claim, key order), p2 waits. */
  Leerplek__V1__Response *response = placement_of("p1");
  uint64_t proposal_id = response->get_placement->placement->proposal_id;
  cr_assert_eq(response->get_placement->placement->state, PSTATE(PROPOSED));
  leerplek_response_free(response);

  /* An end date must come after the start. */
  cr_assert_eq(accept_as(SCHOOL_A, proposal_id), 0);
  cr_assert_eq(accept_as(COMPANY_X, proposal_id), 0);
  Leerplek__V1__Date signed_on = date_of(2026, 1, 2), starts_on = date_of(2026, 9, 1), bad_end = date_of(2026, 9, 1);
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)"OAO-2026-0042";
  agreement.signed_on = &signed_on;
  agreement.starts_on = &starts_on;
  agreement.ends_on = &bad_end;
  Leerplek__V1__RecordAgreementRequest record = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  record.proposal_id = proposal_id;
  record.agreement = &agreement;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT;
  request.record_agreement = &record;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "record_agreement.agreement.ends_on");
  leerplek_response_free(response);
  cr_assert_eq(end_agreement(COMPANY_X, proposal_id, "te vroeg", NULL, &response), CODE(FAILED_PRECONDITION),
               "an ACCEPTED proposal without agreement is not ended (it is declined)");
  leerplek_response_free(response);
  Leerplek__V1__Date good_end = date_of(2027, 6, 30);
  agreement.ends_on = &good_end;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->record_agreement->agreement->ends_on->year, 2027);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 1);
  rematch();
  response = placement_of("p2");
  cr_assert_neq(response->get_placement->placement->state, PSTATE(PROPOSED), "the only seat is taken");
  leerplek_response_free(response);

  /* Bad input changes nothing. */
  Leerplek__V1__Date tomorrow = today(1), before_signing = date_of(2025, 12, 31);
  cr_assert_eq(end_agreement(COMPANY_X, proposal_id, "", NULL, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "end_agreement.reason");
  leerplek_response_free(response);
  cr_assert_eq(end_agreement(COMPANY_X, proposal_id, "stopt", &tomorrow, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "end_agreement.ended_on");
  leerplek_response_free(response);
  cr_assert_eq(end_agreement(COMPANY_X, proposal_id, "stopt", &before_signing, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "end_agreement.ended_on");
  leerplek_response_free(response);
  cr_assert_eq(end_agreement(COMPANY_X, 0, "stopt", NULL, &response), CODE(INVALID_ARGUMENT));
  leerplek_response_free(response);
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 1);

  cr_assert_eq(end_agreement(COMPANY_X, proposal_id, "de leerling stopt met de opleiding", NULL, &response), 0, "%s",
               response->status->message);
  cr_assert_eq(response->end_agreement->state, PSTATE(ENDED));
  const Leerplek__V1__AgreementInfo *ended = response->end_agreement->agreement;
  Leerplek__V1__Date now = today(0);
  cr_assert(ended->ended_on && ended->ended_on->year == now.year && ended->ended_on->month == now.month &&
                ended->ended_on->day == now.day,
            "ended today when no date is given");
  cr_assert_eq(ended->end_cause, LEERPLEK__V1__AGREEMENT_END_CAUSE__AGREEMENT_END_CAUSE_COMPANY);
  cr_assert_str_eq(ended->end_reason, "de leerling stopt met de opleiding");
  cr_assert_gt(ended->ended_unix_s, 0);
  leerplek_response_free(response);
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 0, "ending frees the seat");
  cr_assert_eq(end_agreement(SCHOOL_A, proposal_id, "nogmaals", NULL, NULL), CODE(FAILED_PRECONDITION), "only once");
  response = placement_of("p1");
  cr_assert_eq(response->get_placement->placement->state, PSTATE(ENDED));
  cr_assert_str_eq(response->get_placement->placement->offer->vacancy_id, "vac-x", "it still says where it was");
  leerplek_response_free(response);
  cr_assert_gt(event_ms("end_agreement", "p1"), 0);

  rematch();
  response = placement_of("p2");
  cr_assert_eq(response->get_placement->placement->state, PSTATE(PROPOSED), "the freed seat goes to the waiting pupil");
  cr_assert_str_eq(response->get_placement->placement->offer->vacancy_id, "vac-x");
  leerplek_response_free(response);
  cr_assert_eq(request_placement(clients[SCHOOL_A], "", "p1"), 0, "after an ended agreement a new request may start");
}

Test(lifecycle, an_agreement_ends_by_itself_after_its_end_date, .init = long_one_seat_two_pupils) {
  rematch();
  Leerplek__V1__Date ends_on = today(-1);
  agreement_for("p1", date_of(2026, 1, 5), &ends_on);
  Leerplek__V1__Response *response = placement_after("p1", PSTATE(AGREEMENT), 5000);
  const Leerplek__V1__Placement *placement = response->get_placement->placement;
  cr_assert_eq(placement->state, PSTATE(ENDED), "an agreement whose ends_on has passed ends by itself");
  cr_assert_eq(placement->agreement->end_cause, LEERPLEK__V1__AGREEMENT_END_CAUSE__AGREEMENT_END_CAUSE_END_DATE);
  cr_assert_eq(placement->agreement->ended_on->day, ends_on.day);
  cr_assert_eq(placement->agreement->ended_on->month, ends_on.month);
  leerplek_response_free(response);
  uint32_t proposed, filled;
  vacancy_seats(&proposed, &filled);
  cr_assert_eq(filled, 0, "and frees its seat");
  cr_assert_gt(event_ms("end_agreement", "p1"), 0);
}

static int close_year(Leerplek__V1__Date *boundary, bool dry_run, Leerplek__V1__Response **out) {
  Leerplek__V1__CloseSchoolYearRequest body = LEERPLEK__V1__CLOSE_SCHOOL_YEAR_REQUEST__INIT;
  body.boundary = boundary;
  body.dry_run = dry_run;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_SCHOOL_YEAR;
  request.close_school_year = &body;
  return call_code(clients[COORDINATOR], &request, out);
}

Test(lifecycle, closing_the_school_year_archives_what_ended_and_keeps_what_runs, .init = long_three_seats) {
  rematch();
  uint64_t ended_id = agreement_for("p1", date_of(2026, 9, 1), NULL);
  Leerplek__V1__Date ended_on = date_of(2026, 10, 15);
  cr_assert_eq(end_agreement(COORDINATOR, ended_id, "verhuisd", &ended_on, NULL), 0);
  agreement_for("p3", date_of(2026, 9, 1), NULL);
  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  withdraw.pupil_ref = (char *)"p2";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT;
  request.withdraw_placement = &withdraw;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, NULL), 0);

  Leerplek__V1__Response *response = NULL;
  Leerplek__V1__Date tomorrow = today(1), now = today(0), before = date_of(2026, 10, 14);
  cr_assert_eq(close_year(&tomorrow, true, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "close_school_year.boundary");
  leerplek_response_free(response);
  cr_assert_eq(close_year(NULL, true, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "close_school_year.boundary");
  leerplek_response_free(response);

  char *before_snapshot = harness_snapshot(&harness);
  cr_assert_eq(close_year(&before, true, &response), 0);
  cr_assert_eq(response->close_school_year->agreements_archived, 0, "it ended after that boundary");
  cr_assert_eq(response->close_school_year->kept_after_boundary, 2, "both ended after that boundary");
  leerplek_response_free(response);
  cr_assert_eq(close_year(&now, true, &response), 0);
  const Leerplek__V1__CloseSchoolYearResponse *dry = response->close_school_year;
  cr_assert(dry->dry_run);
  cr_assert_eq(dry->agreements_archived, 1);
  cr_assert_eq(dry->withdrawn_archived, 1);
  cr_assert_eq(dry->agreements_running, 1);
  cr_assert_str_eq(dry->archive_key, "");
  cr_assert_eq(dry->archive->n_placements, 2);
  leerplek_response_free(response);
  char *after_snapshot = harness_snapshot(&harness);
  cr_assert_str_eq(before_snapshot, after_snapshot, "a dry run changes nothing");
  free(before_snapshot);
  free(after_snapshot);

  cr_assert_eq(close_year(&now, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__CloseSchoolYearResponse *closed = response->close_school_year;
  cr_assert_eq(closed->agreements_archived, 1);
  cr_assert_eq(closed->withdrawn_archived, 1);
  cr_assert_eq(closed->agreements_running, 1);
  cr_assert_neq(closed->archive_key[0], '\0');
  redisContext *redis = harness_redis(&harness);
  redisReply *raw = redisCommand(redis, "GET %s", closed->archive_key);
  cr_assert_eq(raw->type, REDIS_REPLY_STRING);
  Leerplek__V1__SchoolYearArchive *archive =
      leerplek__v1__school_year_archive__unpack(NULL, raw->len, (const uint8_t *)raw->str);
  freeReplyObject(raw);
  redisFree(redis);
  cr_assert_not_null(archive);
  cr_assert_eq(archive->n_placements, 2);
  int ended_rows = 0;
  for (size_t i = 0; i < archive->n_placements; i++) {
    const Leerplek__V1__ArchivedPlacement *row = archive->placements[i];
    cr_assert_str_eq(row->school_id, "school-a");
    cr_assert_str_eq(row->training_code, "KAPPER");
    if (row->state == PSTATE(ENDED)) {
      ended_rows++;
      cr_assert_str_eq(row->agreement_ref, "OAO-2026-0042");
      cr_assert_eq(row->ended_on->month, 10);
      cr_assert_eq(row->end_cause, LEERPLEK__V1__AGREEMENT_END_CAUSE__AGREEMENT_END_CAUSE_COORDINATOR);
      cr_assert_str_eq(row->company_id, COMPANY_ID);
    } else {
      cr_assert_eq(row->state, PSTATE(WITHDRAWN));
    }
  }
  cr_assert_eq(ended_rows, 1);
  leerplek__v1__school_year_archive__free_unpacked(archive, NULL);
  leerplek_response_free(response);

  cr_assert_eq(placement_code("p1", NULL), CODE(NOT_FOUND), "the ended agreement left the live state");
  cr_assert_eq(placement_code("p2", NULL), CODE(NOT_FOUND), "the withdrawn request left the live state");
  response = placement_of("p3");
  cr_assert_eq(response->get_placement->placement->state, PSTATE(AGREEMENT), "the running agreement stays");
  leerplek_response_free(response);
  cr_assert_eq(get_pupil(clients[SCHOOL_A], "", "p1", NULL), 0, "pupil records stay (erase_pupil erases them)");
  cr_assert_gt(event_ms("close_school_year", "p1"), 0);
  cr_assert_gt(event_ms("close_school_year", "p2"), 0);

  /* After a restart the archived placements stay gone, and closing again finds nothing new. */
  restart_daemon();
  cr_assert_eq(placement_code("p1", NULL), CODE(NOT_FOUND));
  cr_assert_eq(close_year(&now, false, &response), 0);
  cr_assert_eq(response->close_school_year->agreements_archived + response->close_school_year->withdrawn_archived, 0);
  cr_assert_eq(response->close_school_year->agreements_running, 1);
  leerplek_response_free(response);
}
