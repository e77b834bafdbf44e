/* test_history: the event log through the real daemon and Redis: a pupil's history equals what
 * the test did (proposal, decline, accept on both sides, referral offered and declined,
 * withdrawal), each role sees its own scope (out-of-scope subjects answer like absent ones),
 * the watch feed resumes after a reconnect with nothing missed and nothing twice, and after
 * erase_pupil no key, member or stream entry in Redis names the pupil; a capped stream that
 * trims leaves every history index holding exactly the ids still in it. */
#include <poll.h>

#include "support_common.h"

static lp_harness harness;
enum { COORDINATOR, SCHOOL_A, SCHOOL_B, COMPANY_X, COMPANY_Y, ROLES };
static char tokens[ROLES][128];
static leerplek_client *clients[ROLES];
#define REF "zq7ref" /* distinctive: the erasure scan looks for it byte by byte */
#define COMPANY_X_ID "1111111111"
#define COMPANY_Y_ID "2222222222"

/* <0, 0, >0 as event id a ("<ms>-<seq>") is before, equal to or after b. */
static int id_compare(const char *a, const char *b) {
  unsigned long long a_ms = 0, a_seq = 0, b_ms = 0, b_seq = 0;
  cr_assert_eq(sscanf(a, "%llu-%llu", &a_ms, &a_seq), 2, "event id %s", a);
  cr_assert_eq(sscanf(b, "%llu-%llu", &b_ms, &b_seq), 2, "event id %s", b);
  if (a_ms != b_ms) return a_ms < b_ms ? -1 : 1;
  return a_seq < b_seq ? -1 : a_seq > b_seq;
}

static leerplek_client *lingering; /* a watcher left open when the daemon stops */

static void setup_with(const char *const *flags) {
  start_all(&harness, flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", tokens[COORDINATOR], sizeof tokens[0]);
  leerplek_client *coordinator = clients[COORDINATOR] = harness_connect(&harness, tokens[COORDINATOR]);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY_X_ID, "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, COMPANY_Y_ID, "KAPPER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-x", COMPANY_X_ID), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-y", COMPANY_Y_ID), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-x", "loc-x", "KAPPER"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-y", "loc-y", "KAPPER"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "org-1"), 0);
  cr_assert_eq(upsert_support_offer(coordinator, "off-1", "org-1"), 0);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", tokens[SCHOOL_A], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", tokens[SCHOOL_B], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, COMPANY_X_ID, tokens[COMPANY_X], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, COMPANY_Y_ID, tokens[COMPANY_Y], sizeof tokens[0]);
  leerplek_close(admin);
  for (int r = SCHOOL_A; r < ROLES; r++) clients[r] = harness_connect(&harness, tokens[r]);
}

static void setup(void) { setup_with(NULL); }

static void teardown(void) {
  for (int r = 0; r < ROLES; r++) leerplek_close(clients[r]);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
  leerplek_close(lingering);
  lingering = NULL;
}

/* get_history with the subject filled in by the caller; the status (response in *out). */
static int history(leerplek_client *client, Leerplek__V1__GetHistoryRequest *body, Leerplek__V1__Response **out) {
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_HISTORY;
  request.get_history = body;
  return call_code(client, &request, out);
}

static int pupil_history(leerplek_client *client, const char *school, const char *ref, Leerplek__V1__Response **out) {
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  return history(client, &body, out);
}

static Leerplek__V1__Placement *placement_of(const char *school, const char *ref) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_placement_of(clients[COORDINATOR], school, ref, &response), 0);
  Leerplek__V1__Placement *placement = response->get_placement->placement;
  response->get_placement->placement = NULL;
  leerplek_response_free(response);
  return placement;
}

static int answer_proposal(leerplek_client *client, bool accept, uint64_t proposal_id, const char *reason) {
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  Leerplek__V1__AcceptProposalRequest accept_body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  Leerplek__V1__DeclineProposalRequest decline_body = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
  if (accept) {
    accept_body.proposal_id = proposal_id;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
    request.accept_proposal = &accept_body;
  } else {
    decline_body.proposal_id = proposal_id;
    decline_body.reason = (char *)reason;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL;
    request.decline_proposal = &decline_body;
  }
  return call_code(client, &request, NULL);
}

static leerplek_client *company_client(const char *company_id) {
  return strcmp(company_id, COMPANY_X_ID) == 0 ? clients[COMPANY_X] : clients[COMPANY_Y];
}

typedef struct story {
  char first_vacancy[32], second_vacancy[32], second_company[16];
  uint64_t first_proposal, second_proposal;
} story;

/* What the test does to school-a/REF, every kind of event once (school-b/p2 waits beside it). */
static void live_story(story *s) {
  leerplek_client *coordinator = clients[COORDINATOR], *school = clients[SCHOOL_A];
  cr_assert_eq(register_pupil(school, "school-a", REF, "KAPPER"), 0);
  cr_assert_eq(register_pupil(clients[SCHOOL_B], "school-b", "p2", "KAPPER"), 0);
  cr_assert_eq(request_placement(school, "school-a", REF), 0);
  cr_assert_eq(run_rematch(coordinator, false, NULL), 0);
  Leerplek__V1__Placement *placement = placement_of("school-a", REF);
  cr_assert_eq(placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED);
  snprintf(s->first_vacancy, sizeof s->first_vacancy, "%s", placement->offer->vacancy_id);
  s->first_proposal = placement->proposal_id;
  leerplek__v1__placement__free_unpacked(placement, NULL);
  cr_assert_eq(answer_proposal(school, false, s->first_proposal, "te ver met de bus"), 0);
  cr_assert_eq(run_rematch(coordinator, false, NULL), 0);
  placement = placement_of("school-a", REF);
  cr_assert_eq(placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED);
  snprintf(s->second_vacancy, sizeof s->second_vacancy, "%s", placement->offer->vacancy_id);
  snprintf(s->second_company, sizeof s->second_company, "%s", placement->offer->company_id);
  s->second_proposal = placement->proposal_id;
  leerplek__v1__placement__free_unpacked(placement, NULL);
  cr_assert_str_neq(s->first_vacancy, s->second_vacancy, "the declined company is excluded");
  cr_assert_eq(answer_proposal(school, true, s->second_proposal, NULL), 0);
  cr_assert_eq(answer_proposal(company_client(s->second_company), true, s->second_proposal, NULL), 0);
  cr_assert_eq(refer_pupil(school, "school-a", REF, LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK, NULL),
               0);
  Leerplek__V1__ReferralKey key = LEERPLEK__V1__REFERRAL_KEY__INIT;
  key.school_id = (char *)"school-a";
  key.pupil_ref = (char *)REF;
  key.component = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK;
  Leerplek__V1__OfferReferralRequest offer = LEERPLEK__V1__OFFER_REFERRAL_REQUEST__INIT;
  offer.referral = &key;
  offer.offer_id = (char *)"off-1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_OFFER_REFERRAL;
  request.offer_referral = &offer;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);
  Leerplek__V1__DeclineReferralRequest decline = LEERPLEK__V1__DECLINE_REFERRAL_REQUEST__INIT;
  decline.referral = &key;
  decline.reason = (char *)"andere dagen nodig";
  request.body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL;
  request.decline_referral = &decline;
  cr_assert_eq(call_code(school, &request, NULL), 0);
  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  withdraw.pupil_ref = (char *)REF;
  withdraw.reason = (char *)"verhuisd";
  request.body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT;
  request.withdraw_placement = &withdraw;
  cr_assert_eq(call_code(school, &request, NULL), 0);
}

#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define RSTATE(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name
#define SIDE(name) LEERPLEK__V1__SIDE__SIDE_##name
#define ROLE(name) LEERPLEK__V1__ROLE__ROLE_##name

Test(history, a_pupils_history_is_what_happened_to_it, .init = setup, .fini = teardown, .timeout = 60) {
  story s;
  live_story(&s);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(pupil_history(clients[COORDINATOR], "school-a", REF, &response), 0);
  const Leerplek__V1__GetHistoryResponse *got = response->get_history;
  static const char *const calls[] = {"register_pupil",  "request_placement", "rematch_propose",   "decline_proposal",
                                      "rematch_propose", "accept_proposal",   "accept_proposal",   "refer_pupil",
                                      "offer_referral",  "decline_referral",  "withdraw_placement"};
  enum { CALLS = sizeof calls / sizeof calls[0] };
  cr_assert_eq(got->n_events, CALLS, "%zu events", got->n_events);
  for (size_t i = 0; i < CALLS; i++) {
    const Leerplek__V1__Event *e = got->events[i];
    cr_assert_str_eq(e->call, calls[i], "event %zu is %s", i, e->call);
    cr_assert_str_eq(e->school_id, "school-a");
    cr_assert_str_eq(e->pupil_ref, REF);
    cr_assert_gt(e->time_unix_s, 1700000000);
    cr_assert_neq(e->id[0], '\0');
  }
  Leerplek__V1__Event *const *e = got->events;
  cr_assert_eq(e[0]->actor_role, ROLE(SCHOOL));
  cr_assert_str_eq(e[0]->actor_scope_id, "school-a");
  cr_assert_eq(e[1]->new_state, STATE(WAITING));
  cr_assert_eq(e[2]->actor_role, ROLE(COORDINATOR));
  cr_assert_eq(e[2]->old_state, STATE(WAITING));
  cr_assert_eq(e[2]->new_state, STATE(PROPOSED));
  cr_assert_str_eq(e[2]->vacancy_id, s.first_vacancy);
  cr_assert_eq(e[2]->proposal_id, s.first_proposal);
  cr_assert_gt(e[2]->epoch, 0);
  cr_assert_eq(e[3]->old_state, STATE(PROPOSED));
  cr_assert_eq(e[3]->new_state, STATE(DECLINED));
  cr_assert_eq(e[3]->side, SIDE(SCHOOL));
  cr_assert_str_eq(e[3]->reason, "te ver met de bus");
  cr_assert_str_eq(e[3]->vacancy_id, s.first_vacancy);
  cr_assert_eq(e[3]->proposal_id, s.first_proposal);
  cr_assert_eq(e[4]->old_state, STATE(DECLINED));
  cr_assert_str_eq(e[4]->vacancy_id, s.second_vacancy);
  cr_assert_eq(e[5]->side, SIDE(SCHOOL));
  cr_assert_eq(e[5]->new_state, STATE(PROPOSED));
  cr_assert_eq(e[6]->side, SIDE(COMPANY));
  cr_assert_eq(e[6]->actor_role, ROLE(COMPANY));
  cr_assert_str_eq(e[6]->actor_scope_id, s.second_company);
  cr_assert_eq(e[6]->old_state, STATE(PROPOSED));
  cr_assert_eq(e[6]->new_state, STATE(ACCEPTED));
  cr_assert_str_eq(e[6]->company_id, s.second_company);
  cr_assert_eq(e[7]->new_referral_state, RSTATE(WAITING));
  cr_assert_eq(e[8]->old_referral_state, RSTATE(WAITING));
  cr_assert_eq(e[8]->new_referral_state, RSTATE(OFFERED));
  cr_assert_str_eq(e[8]->offer_id, "off-1");
  cr_assert_eq(e[9]->new_referral_state, RSTATE(DECLINED));
  cr_assert_str_eq(e[9]->reason, "andere dagen nodig");
  cr_assert_str_eq(e[9]->offer_id, "off-1");
  cr_assert_eq(e[10]->old_state, STATE(ACCEPTED));
  cr_assert_eq(e[10]->new_state, STATE(WITHDRAWN));
  cr_assert_str_eq(e[10]->reason, "verhuisd");
  cr_assert_str_eq(e[10]->vacancy_id, s.second_vacancy);
  for (size_t i = 1; i < CALLS; i++) cr_assert_gt(id_compare(e[i]->id, e[i - 1]->id), 0, "oldest first");

  /* Paging: two at a time gives the same events in the same order. */
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  body.school_id = (char *)"school-a";
  body.pupil_ref = (char *)REF;
  body.page_size = 2;
  size_t seen = 0;
  char token[256] = "";
  do {
    body.page_token = token;
    Leerplek__V1__Response *page = NULL;
    cr_assert_eq(history(clients[COORDINATOR], &body, &page), 0);
    cr_assert_leq(page->get_history->n_events, 2);
    for (size_t i = 0; i < page->get_history->n_events; i++, seen++)
      cr_assert_str_eq(page->get_history->events[i]->id, e[seen]->id);
    snprintf(token, sizeof token, "%s", page->get_history->next_page_token);
    leerplek_response_free(page);
  } while (token[0]);
  cr_assert_eq(seen, CALLS);

  /* The school sees the same; another school and a company do not. */
  Leerplek__V1__Response *school_view = NULL;
  cr_assert_eq(pupil_history(clients[SCHOOL_A], "", REF, &school_view), 0);
  cr_assert_eq(school_view->get_history->n_events, CALLS);
  leerplek_response_free(school_view);
  Leerplek__V1__Response *refused = NULL, *absent = NULL;
  cr_assert_eq(pupil_history(clients[SCHOOL_B], "school-a", REF, &refused), CODE(NOT_FOUND));
  cr_assert_eq(pupil_history(clients[SCHOOL_B], "school-a", "nobody", &absent), CODE(NOT_FOUND));
  cr_assert_str_eq(refused->status->field, absent->status->field);
  leerplek_response_free(refused);
  leerplek_response_free(absent);
  cr_assert_eq(pupil_history(clients[COMPANY_X], "school-a", REF, NULL), CODE(PERMISSION_DENIED));
  leerplek_response_free(response);
}

Test(history, each_role_sees_its_own_scope, .init = setup, .fini = teardown, .timeout = 60) {
  story s;
  live_story(&s);
  const char *company = s.second_company;
  leerplek_client *own = company_client(company),
                  *other = own == clients[COMPANY_X] ? clients[COMPANY_Y] : clients[COMPANY_X];
  /* The company's vacancy: the proposal and acceptance, without the school or its reasons. */
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  body.vacancy_id = s.second_vacancy;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(history(own, &body, &response), 0);
  bool accepted_by_school = false, withdrawn = false;
  for (size_t i = 0; i < response->get_history->n_events; i++) {
    const Leerplek__V1__Event *e = response->get_history->events[i];
    cr_assert_str_eq(e->school_id, "", "a company never sees the school");
    if (e->actor_role == ROLE(SCHOOL)) cr_assert_str_eq(e->actor_scope_id, "");
    if (e->pupil_ref[0]) cr_assert_str_eq(e->pupil_ref, REF);
    if (strcmp(e->call, "accept_proposal") == 0 && e->side == SIDE(SCHOOL)) accepted_by_school = true;
    if (strcmp(e->call, "withdraw_placement") == 0) {
      withdrawn = true;
      cr_assert_str_eq(e->reason, "", "the school's reason is not the company's");
    }
  }
  cr_assert(accepted_by_school && withdrawn);
  leerplek_response_free(response);
  /* The other company: the vacancy is answered as an absent one. */
  Leerplek__V1__Response *refused = NULL, *absent = NULL;
  cr_assert_eq(history(other, &body, &refused), CODE(NOT_FOUND));
  body.vacancy_id = (char *)"vac-none";
  cr_assert_eq(history(clients[COORDINATOR], &body, &absent), CODE(NOT_FOUND));
  cr_assert_str_eq(refused->status->field, "get_history.vacancy_id");
  cr_assert_str_eq(absent->status->field, "get_history.vacancy_id");
  leerplek_response_free(refused);
  leerplek_response_free(absent);
  Leerplek__V1__GetHistoryRequest company_body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  company_body.company_id = (char *)company;
  cr_assert_eq(history(other, &company_body, NULL), CODE(NOT_FOUND));
  cr_assert_eq(history(own, &company_body, &response), 0);
  cr_assert_gt(response->get_history->n_events, 2); /* upsert_company, the vacancy, the proposal... */
  leerplek_response_free(response);

  /* A school's history: its pupils only; the coordinator's the same for that school. */
  Leerplek__V1__GetHistoryRequest school_body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  cr_assert_eq(history(clients[SCHOOL_B], &school_body, &response), 0);
  cr_assert_gt(response->get_history->n_events, 0);
  for (size_t i = 0; i < response->get_history->n_events; i++) {
    cr_assert_str_eq(response->get_history->events[i]->school_id, "school-b");
    cr_assert_str_eq(response->get_history->events[i]->pupil_ref, "p2");
  }
  size_t school_b_events = response->get_history->n_events;
  leerplek_response_free(response);
  school_body.school_id = (char *)"school-a";
  cr_assert_eq(history(clients[SCHOOL_B], &school_body, NULL), CODE(PERMISSION_DENIED));
  school_body.school_id = (char *)"school-b";
  cr_assert_eq(history(clients[COORDINATOR], &school_body, &response), 0);
  cr_assert_eq(response->get_history->n_events, school_b_events);
  leerplek_response_free(response);
  /* One subject exactly. */
  Leerplek__V1__GetHistoryRequest two = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  two.vacancy_id = (char *)"vac-x";
  two.company_id = (char *)COMPANY_X_ID;
  cr_assert_eq(history(clients[COORDINATOR], &two, &response), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "get_history");
  leerplek_response_free(response);
}

/* ---- watch ------------------------------------------------------------------------------ */

static leerplek_client *start_watch(const char *token, const char *after, char *resume, size_t resume_size) {
  leerplek_client *client = harness_connect(&harness, token);
  Leerplek__V1__WatchRequest body = LEERPLEK__V1__WATCH_REQUEST__INIT;
  body.after_event_id = (char *)after;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_WATCH;
  request.watch = &body;
  Leerplek__V1__Response *ack = NULL;
  cr_assert_eq(call_code(client, &request, &ack), 0, "watch: %s", ack->status->message);
  cr_assert_eq(ack->body_case, LEERPLEK__V1__RESPONSE__BODY_WATCH);
  cr_assert_null(ack->watch->event);
  if (resume) snprintf(resume, resume_size, "%s", ack->watch->resume_after_event_id);
  leerplek_response_free(ack);
  return client;
}

/* The next pushed event within ms, or NULL. */
static Leerplek__V1__Response *next_push(leerplek_client *client, int ms) {
  struct pollfd fd = {.fd = leerplek_fd(client), .events = POLLIN};
  if (poll(&fd, 1, ms) <= 0) return NULL;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(leerplek_receive(client, &response), 0, "receive: %s", leerplek_error(client));
  cr_assert_eq(response->status->code, 0);
  cr_assert_eq(response->body_case, LEERPLEK__V1__RESPONSE__BODY_WATCH);
  cr_assert_not_null(response->watch->event);
  return response;
}

/* Pushed events until quiet_ms pass without one: their ids in ids, calls in calls. */
static size_t drain(leerplek_client *client, int quiet_ms, char ids[][48], char calls[][48], size_t max) {
  size_t count = 0;
  Leerplek__V1__Response *push;
  while ((push = next_push(client, quiet_ms)) != NULL) {
    cr_assert_lt(count, max);
    snprintf(ids[count], 48, "%s", push->watch->event->id);
    snprintf(calls[count], 48, "%s", push->watch->event->call);
    count++;
    leerplek_response_free(push);
  }
  return count;
}

Test(watch, resumes_after_a_reconnect_with_nothing_missed_or_twice, .init = setup, .fini = teardown, .timeout = 60) {
  char resume[48];
  leerplek_client *watcher = start_watch(tokens[SCHOOL_A], "", resume, sizeof resume);
  cr_assert_neq(resume[0], '\0');
  cr_assert_eq(register_pupil(clients[SCHOOL_A], "school-a", "w1", "KAPPER"), 0);
  cr_assert_eq(register_pupil(clients[SCHOOL_B], "school-b", "w9", "KAPPER"), 0); /* not school A's */
  char ids[64][48], calls[64][48];
  size_t got = drain(watcher, 500, ids, calls, 64);
  cr_assert_eq(got, 1, "school A sees its own pupil only (%zu events)", got);
  cr_assert_str_eq(calls[0], "register_pupil");
  char last[48];
  snprintf(last, sizeof last, "%s", ids[0]);
  /* Another call on a watching connection: refused, and the connection closes. */
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_HISTORY;
  request.get_history = &body;
  Leerplek__V1__Response *refused = NULL;
  cr_assert_eq(call_code(watcher, &request, &refused), CODE(FAILED_PRECONDITION));
  cr_assert_str_eq(refused->status->field, "body");
  leerplek_response_free(refused);
  leerplek_close(watcher);

  /* While nobody watches. */
  cr_assert_eq(request_placement(clients[SCHOOL_A], "school-a", "w1"), 0);
  cr_assert_eq(register_pupil(clients[SCHOOL_A], "school-a", "w2", "KAPPER"), 0);
  watcher = start_watch(tokens[SCHOOL_A], last, resume, sizeof resume);
  cr_assert_str_eq(resume, last);
  cr_assert_eq(request_placement(clients[SCHOOL_A], "school-a", "w2"), 0); /* while catching up or live */
  got = drain(watcher, 500, ids, calls, 64);
  cr_assert_eq(got, 3, "%zu events after the reconnect", got);
  cr_assert_str_eq(calls[0], "request_placement");
  cr_assert_str_eq(calls[1], "register_pupil");
  cr_assert_str_eq(calls[2], "request_placement");
  cr_assert_gt(id_compare(ids[0], last), 0);
  for (size_t i = 1; i < got; i++) cr_assert_gt(id_compare(ids[i], ids[i - 1]), 0, "in order, once each");
  leerplek_close(watcher);

  /* From the start: everything school A's, the same ids again in the same order. */
  watcher = start_watch(tokens[SCHOOL_A], "0-0", NULL, 0);
  char all[64][48], all_calls[64][48];
  size_t total = drain(watcher, 500, all, all_calls, 64);
  cr_assert_eq(total, 4, "%zu events from the start", total);
  cr_assert_str_eq(all[0], last);
  for (size_t i = 0; i < 3; i++) cr_assert_str_eq(all[i + 1], ids[i]);
  leerplek_close(watcher);

  /* An id older than the oldest kept: events may have been missed. */
  leerplek_client *client = harness_connect(&harness, tokens[COORDINATOR]);
  Leerplek__V1__WatchRequest watch = LEERPLEK__V1__WATCH_REQUEST__INIT;
  watch.after_event_id = (char *)"1-0";
  request.body_case = LEERPLEK__V1__REQUEST__BODY_WATCH;
  request.watch = &watch;
  Leerplek__V1__Response *old = NULL;
  cr_assert_eq(call_code(client, &request, &old), CODE(OUT_OF_RANGE));
  cr_assert_str_eq(old->status->field, "watch.after_event_id");
  leerplek_response_free(old);
  leerplek_close(client);
  client = harness_connect(&harness, tokens[COORDINATOR]);
  watch.after_event_id = (char *)"yesterday";
  cr_assert_eq(call_code(client, &request, &old), CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(old->status->field, "watch.after_event_id");
  leerplek_response_free(old);
  leerplek_close(client);
}

static void setup_one_watcher(void) {
  static const char *const flags[] = {"--max_watchers", "1", "--idle_timeout_s", "1", NULL};
  setup_with(flags);
}

/* max_watchers: one more is refused; a silent feed outlives the idle timeout; a watcher still
 * connected when the daemon stops does not keep it from exiting cleanly (teardown). */
Test(watch, is_limited_outlives_idleness_and_ends_with_the_daemon, .init = setup_one_watcher, .fini = teardown,
     .timeout = 60) {
  lingering = start_watch(tokens[COORDINATOR], "", NULL, 0);
  leerplek_client *second = harness_connect(&harness, tokens[SCHOOL_A]);
  Leerplek__V1__WatchRequest body = LEERPLEK__V1__WATCH_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_WATCH;
  request.watch = &body;
  cr_assert_eq(call_code(second, &request, NULL), CODE(RESOURCE_EXHAUSTED));
  leerplek_close(second);
  sleep_ms(2500); /* past idle_timeout_s: an ordinary connection would be closed by now */
  leerplek_client *fresh = harness_connect(&harness, tokens[COORDINATOR]); /* the others were idle too long */
  cr_assert_eq(register_pupil(fresh, "school-a", "late", "KAPPER"), 0);
  leerplek_close(fresh);
  Leerplek__V1__Response *push = next_push(lingering, 2000);
  cr_assert_not_null(push, "the watcher is still connected and gets the event");
  cr_assert_str_eq(push->watch->event->pupil_ref, "late");
  leerplek_response_free(push);
}

/* ---- erasure ----------------------------------------------------------------------------- */

static bool names_pupil(const char *bytes, size_t size) {
  size_t length = strlen(REF);
  for (size_t at = 0; at + length <= size; at++)
    if (memcmp(bytes + at, REF, length) == 0) return true;
  return false;
}

/* Every key of Redis and every value in it (strings, sets, hashes, sorted sets, lists,
 * streams): how many name the pupil; each one found is printed. */
static int scan_for_pupil(void) {
  redisContext *redis = harness_redis(&harness);
  int found = 0, keys = 0;
  char cursor[32] = "0";
  do {
    redisReply *page = redisCommand(redis, "SCAN %s COUNT 1000", cursor);
    cr_assert_eq(page->type, REDIS_REPLY_ARRAY);
    snprintf(cursor, sizeof cursor, "%s", page->element[0]->str);
    redisReply *names = page->element[1];
    for (size_t k = 0; k < names->elements; k++) {
      const redisReply *name = names->element[k];
      keys++;
      if (names_pupil(name->str, name->len)) {
        fprintf(stderr, "key %s names the pupil\n", name->str);
        found++;
      }
      redisReply *type = redisCommand(redis, "TYPE %b", name->str, name->len);
      redisReply *value = NULL;
      if (strcmp(type->str, "string") == 0)
        value = redisCommand(redis, "GET %b", name->str, name->len);
      else if (strcmp(type->str, "set") == 0)
        value = redisCommand(redis, "SMEMBERS %b", name->str, name->len);
      else if (strcmp(type->str, "hash") == 0)
        value = redisCommand(redis, "HGETALL %b", name->str, name->len);
      else if (strcmp(type->str, "zset") == 0)
        value = redisCommand(redis, "ZRANGE %b 0 -1", name->str, name->len);
      else if (strcmp(type->str, "list") == 0)
        value = redisCommand(redis, "LRANGE %b 0 -1", name->str, name->len);
      else if (strcmp(type->str, "stream") == 0)
        value = redisCommand(redis, "XRANGE %b - +", name->str, name->len);
      cr_assert_not_null(value, "key %s of type %s not read", name->str, type->str);
      /* Walk the reply tree: every string in it. */
      const redisReply *stack[4096];
      size_t depth = 0;
      stack[depth++] = value;
      while (depth > 0) {
        const redisReply *r = stack[--depth];
        if (r->type == REDIS_REPLY_STRING && names_pupil(r->str, r->len)) {
          fprintf(stderr, "a value of %s (%s) names the pupil\n", name->str, type->str);
          found++;
        }
        if (r->type == REDIS_REPLY_ARRAY)
          for (size_t i = 0; i < r->elements; i++) {
            cr_assert_lt(depth, 4096);
            stack[depth++] = r->element[i];
          }
      }
      freeReplyObject(value);
      freeReplyObject(type);
    }
    freeReplyObject(page);
  } while (strcmp(cursor, "0") != 0);
  redisFree(redis);
  cr_assert_gt(keys, 10, "the scan read the store (%d keys)", keys);
  return found;
}

Test(erasure, leaves_no_key_member_or_entry_naming_the_pupil, .init = setup, .fini = teardown, .timeout = 60) {
  story s;
  live_story(&s);
  cr_assert_gt(scan_for_pupil(), 0, "before the erasure the store names the pupil (the scan can see it)");
  Leerplek__V1__Response *before = NULL;
  cr_assert_eq(pupil_history(clients[COORDINATOR], "school-b", "p2", &before), 0);
  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase.pupil_ref = (char *)REF;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
  request.erase_pupil = &erase;
  cr_assert_eq(call_code(clients[SCHOOL_A], &request, NULL), 0);
  cr_assert_eq(scan_for_pupil(), 0, "after the erasure nothing names the pupil");
  /* The trail keeps that school A erased a pupil, and when. */
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(history(clients[SCHOOL_A], &body, &response), 0);
  cr_assert_eq(response->get_history->n_events, 1, "only the erasure is left of school A's history");
  const Leerplek__V1__Event *e = response->get_history->events[0];
  cr_assert_str_eq(e->call, "erase_pupil");
  cr_assert_str_eq(e->school_id, "school-a");
  cr_assert_str_eq(e->pupil_ref, "");
  cr_assert_gt(e->time_unix_s, 1700000000);
  leerplek_response_free(response);
  cr_assert_eq(pupil_history(clients[COORDINATOR], "school-a", REF, NULL), CODE(NOT_FOUND));
  /* The vacancies' histories lost the pupil's events; the other pupil's history is whole. */
  body.vacancy_id = s.second_vacancy;
  cr_assert_eq(history(clients[COORDINATOR], &body, &response), 0);
  for (size_t i = 0; i < response->get_history->n_events; i++)
    cr_assert_str_neq(response->get_history->events[i]->pupil_ref, REF);
  leerplek_response_free(response);
  Leerplek__V1__Response *after = NULL;
  cr_assert_eq(pupil_history(clients[COORDINATOR], "school-b", "p2", &after), 0);
  cr_assert_eq(after->get_history->n_events, before->get_history->n_events);
  leerplek_response_free(before);
  leerplek_response_free(after);
  /* A feed from the start shows the erasure, not the pupil. */
  leerplek_client *watcher = start_watch(tokens[COORDINATOR], "0-0", NULL, 0);
  Leerplek__V1__Response *push;
  bool erased = false;
  while ((push = next_push(watcher, 500)) != NULL) {
    cr_assert_str_neq(push->watch->event->pupil_ref, REF);
    erased |= strcmp(push->watch->event->call, "erase_pupil") == 0;
    leerplek_response_free(push);
  }
  cr_assert(erased);
  leerplek_close(watcher);
}

static void setup_short_stream(void) {
  static const char *const capped[] = {"--events_max_length", "1000", NULL};
  setup_with(capped);
}

/* EVENTS_SCRIPT cuts the indexes only once the stream is at its MAXLEN (below it nothing was
 * trimmed): with a stream capped at 1,000 entries and 1,500 writes to one company, one event
 * each, the company's index holds exactly the ids of the entries still in the stream that name
 * it, none of those trimmed. */
Test(history, writes_past_the_streams_length_leave_the_index_exact, .init = setup_short_stream, .fini = teardown,
     .timeout = 120) {
  for (int w = 0; w < 1500; w++) cr_assert_eq(upsert_company(clients[COORDINATOR], COMPANY_X_ID, "KAPPER"), 0);
  redisContext *redis = harness_redis(&harness);
  redisReply *entries = redisCommand(redis, "XRANGE lp:events - +");
  cr_assert(entries && entries->type == REDIS_REPLY_ARRAY);
  cr_assert_lt(entries->elements, 1500, "the stream was trimmed (%zu entries)", entries->elements);
  size_t named = 0;
  char(*naming)[32] = calloc(entries->elements, sizeof *naming);
  for (size_t e = 0; e < entries->elements; e++) {
    const redisReply *fields = entries->element[e]->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (strcmp(fields->element[f]->str, "event") != 0) continue;
      Leerplek__V1__Event *event =
          leerplek__v1__event__unpack(NULL, fields->element[f + 1]->len, (const uint8_t *)fields->element[f + 1]->str);
      cr_assert_not_null(event);
      if (strcmp(event->company_id, COMPANY_X_ID) == 0) {
        unsigned long long ms = 0, seq = 0;
        sscanf(entries->element[e]->element[0]->str, "%llu-%llu", &ms, &seq);
        snprintf(naming[named++], sizeof naming[0], "%013llu-%010llu", ms, seq);
      }
      protobuf_c_message_free_unpacked(&event->base, NULL);
    }
  }
  freeReplyObject(entries);
  redisReply *index = redisCommand(redis, "ZRANGE lp:history:company:" COMPANY_X_ID " 0 -1");
  cr_assert(index && index->type == REDIS_REPLY_ARRAY);
  cr_assert_gt(named, 900, "the stream's entries name the company (%zu do)", named);
  cr_assert_eq(index->elements, named, "the index holds %zu ids, the stream %zu entries naming the company",
               index->elements, named);
  for (size_t m = 0; m < named; m++) cr_assert_str_eq(index->element[m]->str, naming[m], "index member %zu", m);
  free(naming);
  freeReplyObject(index);
  redisFree(redis);
}
