/* test_referrals: a school's referrals through the real daemon and Redis: the whole lifecycle
 * with its history (who and when), seats, declines, what a support organisation may see, who may
 * act on which referral (every refusal leaves Redis as it was), erasure taking them along, and
 * RunDispatch (dry and applied, proven, the priority order on a contested seat, held seats
 * kept). */
#include "common.h"
#include "support_common.h"

#define COMPONENT(name) LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_##name
#define STATE(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name

static lp_harness harness;
static leerplek_client *admin, *coordinator, *support_a, *support_b, *school_a, *school_b;

static void setup(void) {
  start_all(&harness, NULL);
  char token[128];
  admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  coordinator = harness_connect(&harness, token);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-a"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-b"), 0);
  /* FOWERK, 3 seats each; off-a1 has one seat only. */
  cr_assert_eq(upsert_support_offer(coordinator, "off-a", "oal-a"), 0);
  cr_assert_eq(upsert_support_offer(coordinator, "off-b", "oal-b"), 0);
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  fill_support_offer(&offer, &start, "off-a1", "oal-a");
  offer.seats = 1;
  cr_assert_eq(send_support_offer(coordinator, &offer, NULL), 0);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-a", token, sizeof token);
  support_a = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-b", token, sizeof token);
  support_b = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", token, sizeof token);
  school_a = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", token, sizeof token);
  school_b = harness_connect(&harness, token);
  cr_assert(support_a && support_b && school_a && school_b);
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-a", "p1", "KAPPER");
  pupil.readiness = LEERPLEK__V1__READINESS__READINESS_NOT_READY;
  pupil.newcomer_okan = true;
  pupil.school_notes = (char *)"prefers mornings";
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  cr_assert_eq(call_code(school_a, &request, NULL), 0);
  cr_assert_eq(register_pupil(school_a, "school-a", "p2", "KAPPER"), 0);
}

static void teardown(void) {
  leerplek_close(school_b);
  leerplek_close(school_a);
  leerplek_close(support_b);
  leerplek_close(support_a);
  leerplek_close(coordinator);
  leerplek_close(admin);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(referrals, .init = setup, .fini = teardown, .timeout = 120);

/* One request on a referral of school A; the body is built per call. */
typedef struct referral_call {
  Leerplek__V1__Request request;
  Leerplek__V1__ReferralKey key;
  union {
    Leerplek__V1__GetReferralRequest get;
    Leerplek__V1__OfferReferralRequest offer;
    Leerplek__V1__AcceptReferralRequest accept;
    Leerplek__V1__DeclineReferralRequest decline;
    Leerplek__V1__StartReferralRequest start;
    Leerplek__V1__EndReferralRequest end;
    Leerplek__V1__WithdrawReferralRequest withdraw;
  } body;
} referral_call;

static Leerplek__V1__Request *build(referral_call *c, const char *call, const char *ref, int component) {
  memset(c, 0, sizeof *c);
  leerplek__v1__request__init(&c->request);
  leerplek__v1__referral_key__init(&c->key);
  c->key.school_id = (char *)"school-a";
  c->key.pupil_ref = (char *)ref;
  c->key.component = (Leerplek__V1__SupportComponent)component;
  Leerplek__V1__Request *r = &c->request;
  if (strcmp(call, "get") == 0) {
    leerplek__v1__get_referral_request__init(&c->body.get);
    c->body.get.referral = &c->key;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL, r->get_referral = &c->body.get;
  } else if (strcmp(call, "offer") == 0) {
    leerplek__v1__offer_referral_request__init(&c->body.offer);
    c->body.offer.referral = &c->key;
    c->body.offer.offer_id = (char *)"off-a";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_OFFER_REFERRAL, r->offer_referral = &c->body.offer;
  } else if (strcmp(call, "accept") == 0) {
    leerplek__v1__accept_referral_request__init(&c->body.accept);
    c->body.accept.referral = &c->key;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL, r->accept_referral = &c->body.accept;
  } else if (strcmp(call, "decline") == 0) {
    leerplek__v1__decline_referral_request__init(&c->body.decline);
    c->body.decline.referral = &c->key;
    c->body.decline.reason = (char *)"no mentor free";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL, r->decline_referral = &c->body.decline;
  } else if (strcmp(call, "start") == 0) {
    leerplek__v1__start_referral_request__init(&c->body.start);
    c->body.start.referral = &c->key;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_START_REFERRAL, r->start_referral = &c->body.start;
  } else if (strcmp(call, "end") == 0) {
    leerplek__v1__end_referral_request__init(&c->body.end);
    c->body.end.referral = &c->key;
    c->body.end.outcome = LEERPLEK__V1__READINESS__READINESS_READY;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_END_REFERRAL, r->end_referral = &c->body.end;
  } else if (strcmp(call, "withdraw") == 0) {
    leerplek__v1__withdraw_referral_request__init(&c->body.withdraw);
    c->body.withdraw.referral = &c->key;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_REFERRAL, r->withdraw_referral = &c->body.withdraw;
  } else {
    cr_assert_fail("no builder for %s", call);
  }
  return r;
}

/* The call succeeds; returns the referral's state after it (read back with get_referral). */
static int act(leerplek_client *client, const char *call, const char *ref, int component) {
  referral_call c;
  Leerplek__V1__Response *response = NULL;
  int code = call_code(client, build(&c, call, ref, component), &response);
  cr_assert_eq(code, 0, "%s %s: %s (%s)", call, ref, leerplek_status_name(code), response->status->message);
  leerplek_response_free(response);
  cr_assert_eq(call_code(coordinator, build(&c, "get", ref, component), &response), 0);
  int state = response->get_referral->referral->state;
  leerplek_response_free(response);
  return state;
}

/* The call is refused with code, names field (when given) and leaves Redis as it was. */
static void refused(leerplek_client *client, Leerplek__V1__Request *request, int code, const char *field,
                    const char *what) {
  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  int got = call_code(client, request, &response);
  cr_assert_eq(got, code, "%s: got %s (%s), expected %s", what, leerplek_status_name(got), response->status->message,
               leerplek_status_name(code));
  if (field) cr_assert_str_eq(response->status->field, field, "%s: %s", what, response->status->message);
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "%s was refused but changed Redis", what);
  free(before);
  free(after);
  leerplek_response_free(response);
}

static Leerplek__V1__Referral *get(const char *ref, int component, Leerplek__V1__Response **response) {
  referral_call c;
  cr_assert_eq(call_code(coordinator, build(&c, "get", ref, component), response), 0);
  return (*response)->get_referral->referral;
}

Test(referrals, the_lifecycle_with_who_and_when) {
  long long before = (long long)time(NULL);
  Leerplek__V1__SupportComponent components[2] = {COMPONENT(FOWERK), COMPONENT(BGLTRA)};
  Leerplek__V1__ReferPupilRequest body = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  body.pupil_ref = (char *)"p1";
  body.components = components;
  body.n_components = 2;
  body.reason = (char *)"not yet work-ready";
  body.urgency = LEERPLEK__V1__URGENCY__URGENCY_HIGH;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL;
  request.refer_pupil = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(school_a, &request, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->refer_pupil->n_referrals, 2);
  cr_assert_eq(response->refer_pupil->referrals[1]->component, COMPONENT(BGLTRA));
  cr_assert_eq(response->refer_pupil->referrals[0]->state, STATE(WAITING));
  cr_assert_str_eq(response->refer_pupil->referrals[0]->training_code, "KAPPER");
  leerplek_response_free(response);
  /* A placement request beside the referrals. */
  cr_assert_eq(request_placement(school_a, "", "p1"), 0);

  cr_assert_eq(act(coordinator, "offer", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(school_a, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  referral_call c;
  refused(support_a, build(&c, "start", "p1", COMPONENT(FOWERK)), CODE(FAILED_PRECONDITION), "start_referral.referral",
          "start before the organisation accepted");
  cr_assert_eq(act(support_a, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  refused(support_a, build(&c, "end", "p1", COMPONENT(FOWERK)), CODE(FAILED_PRECONDITION), "end_referral.referral",
          "end before start");
  cr_assert_eq(act(support_a, "start", "p1", COMPONENT(FOWERK)), STATE(STARTED));
  cr_assert_eq(act(support_a, "end", "p1", COMPONENT(FOWERK)), STATE(ENDED));
  refused(school_a, build(&c, "withdraw", "p1", COMPONENT(FOWERK)), CODE(FAILED_PRECONDITION),
          "withdraw_referral.referral", "withdraw an ended referral");

  const Leerplek__V1__Referral *referral = get("p1", COMPONENT(FOWERK), &response);
  cr_assert_eq(referral->outcome, LEERPLEK__V1__READINESS__READINESS_READY);
  cr_assert_str_eq(referral->offer_id, "off-a");
  cr_assert_str_eq(referral->organisation_id, "oal-a");
  cr_assert_eq(referral->urgency, LEERPLEK__V1__URGENCY__URGENCY_HIGH);
  cr_assert_geq(referral->started_unix_s, before);
  cr_assert_geq(referral->ended_unix_s, referral->started_unix_s);
  static const char *const actors[] = {"school:school-a", "coordinator",   "school:school-a",
                                       "support:oal-a",   "support:oal-a", "support:oal-a"};
  static const int states[] = {STATE(WAITING), STATE(OFFERED), STATE(OFFERED),
                               STATE(OFFERED), STATE(STARTED), STATE(ENDED)};
  cr_assert_eq(referral->n_history, 6);
  for (size_t i = 0; i < 6; i++) {
    cr_assert_str_eq(referral->history[i]->actor, actors[i], "history[%zu]", i);
    cr_assert_eq(referral->history[i]->state, states[i], "history[%zu]", i);
    cr_assert_geq(referral->history[i]->at_unix_s, before);
    cr_assert_leq(referral->history[i]->at_unix_s, (long long)time(NULL));
  }
  cr_assert_not_null(strstr(referral->history[1]->note, "off-a"));
  leerplek_response_free(response);
  cr_assert_eq(get("p1", COMPONENT(BGLTRA), &response)->state, STATE(WAITING), "the other component is untouched");
  leerplek_response_free(response);

  /* One event per transition on the stream, each naming the referral and its actor. */
  redisContext *redis = harness_redis(&harness);
  redisReply *events = redisCommand(redis, "XRANGE lp:events - +");
  static const char *const ops[] = {"refer", "offer", "accept", "accept", "start", "end"};
  size_t next = 0;
  for (size_t i = 0; i < events->elements; i++) {
    redisReply *fields = events->element[i]->element[1];
    const char *op = "", *key = "", *actor = "";
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (strcmp(fields->element[f]->str, "op") == 0) op = fields->element[f + 1]->str;
      if (strcmp(fields->element[f]->str, "key") == 0) key = fields->element[f + 1]->str;
      if (strcmp(fields->element[f]->str, "actor") == 0) actor = fields->element[f + 1]->str;
    }
    if (strcmp(key, "school-a/p1/FOWERK") != 0) continue;
    cr_assert_lt(next, 6);
    cr_assert_str_eq(op, ops[next]);
    cr_assert_str_eq(actor, actors[next]);
    next++;
  }
  cr_assert_eq(next, 6, "six events for school-a/p1/FOWERK");
  freeReplyObject(events);
  redisFree(redis);

  /* Ended, it may be asked again: a new referral replaces it. */
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(get("p1", COMPONENT(FOWERK), &response)->n_history, 1);
  leerplek_response_free(response);
}

Test(referrals, seats_declines_and_withdrawals) {
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(FOWERK), NULL), 0);
  referral_call c;
  build(&c, "offer", "p1", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
  build(&c, "offer", "p2", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  refused(coordinator, &c.request, CODE(FAILED_PRECONDITION), "offer_referral.offer_id", "the one seat is held");
  build(&c, "offer", "p2", COMPONENT(BGLTRA));
  refused(coordinator, &c.request, CODE(NOT_FOUND), "offer_referral.referral.pupil_ref", "no BGLTRA referral");
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(BGLTRA), NULL), 0);
  build(&c, "offer", "p2", COMPONENT(BGLTRA));
  refused(coordinator, &c.request, CODE(FAILED_PRECONDITION), "offer_referral.offer_id", "off-a is FOWERK");

  /* The organisation declines: the seat is free again, the offer is not offered again. */
  cr_assert_eq(act(support_a, "decline", "p1", COMPONENT(FOWERK)), STATE(DECLINED));
  Leerplek__V1__Response *response = NULL;
  const Leerplek__V1__Referral *referral = get("p1", COMPONENT(FOWERK), &response);
  cr_assert_eq(referral->n_declined_offer_ids, 1);
  cr_assert_str_eq(referral->declined_offer_ids[0], "off-a1");
  cr_assert_str_eq(referral->offer_id, "");
  cr_assert_not_null(strstr(referral->history[referral->n_history - 1]->note, "no mentor free"));
  leerplek_response_free(response);
  build(&c, "offer", "p1", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  refused(coordinator, &c.request, CODE(FAILED_PRECONDITION), "offer_referral.offer_id", "a declined offer");
  build(&c, "offer", "p2", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0, "the freed seat goes to p2");
  build(&c, "offer", "p1", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-b";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0, "another organisation's offer");

  /* An offer may shrink to the seats its referrals hold, not below: off-b holds p1's. */
  Leerplek__V1__SupportOffer shrunk;
  Leerplek__V1__Date start;
  fill_support_offer(&shrunk, &start, "off-b", "oal-b");
  shrunk.seats = 1;
  cr_assert_eq(send_support_offer(coordinator, &shrunk, NULL), 0, "one seat is all p1 holds");
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(ALTDEL), NULL), 0);
  Leerplek__V1__SupportOffer work;
  fill_support_offer(&work, &start, "off-work", "oal-b");
  work.component = COMPONENT(ALTDEL);
  work.seats = 2;
  cr_assert_eq(send_support_offer(coordinator, &work, NULL), 0);
  build(&c, "offer", "p2", COMPONENT(ALTDEL));
  c.body.offer.offer_id = (char *)"off-work";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(ALTDEL), NULL), 0);
  build(&c, "offer", "p1", COMPONENT(ALTDEL));
  c.body.offer.offer_id = (char *)"off-work";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
  work.seats = 1;
  Leerplek__V1__UpsertSupportOfferRequest shrink = LEERPLEK__V1__UPSERT_SUPPORT_OFFER_REQUEST__INIT;
  shrink.offer = &work;
  Leerplek__V1__Request shrink_request = LEERPLEK__V1__REQUEST__INIT;
  shrink_request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER;
  shrink_request.upsert_support_offer = &shrink;
  refused(support_b, &shrink_request, CODE(FAILED_PRECONDITION), "upsert_support_offer.offer.seats",
          "two seats are held in off-work");

  /* The school withdraws p2: its seat is free for the next. */
  cr_assert_eq(act(school_a, "withdraw", "p2", COMPONENT(FOWERK)), STATE(WITHDRAWN));
  cr_assert_eq(act(school_a, "withdraw", "p2", COMPONENT(FOWERK)), STATE(WITHDRAWN), "twice is a no-op");
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(FOWERK), NULL), 0, "withdrawn, it may be asked again");
  build(&c, "offer", "p2", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
}

Test(referrals, each_party_acts_only_on_its_own) {
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(register_pupil(school_b, "", "p1", "KAPPER"), 0);
  cr_assert_eq(refer_pupil(school_b, "", "p1", COMPONENT(FOWERK), NULL), 0, "same reference at another school");
  referral_call c;
  refused(support_a, build(&c, "get", "p1", COMPONENT(FOWERK)), CODE(PERMISSION_DENIED), "body",
          "support reads the school view");
  refused(support_a, build(&c, "accept", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), NULL,
          "support A on a waiting referral");
  cr_assert_eq(act(coordinator, "offer", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  refused(support_b, build(&c, "accept", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), NULL, "support B on A's referral");
  refused(support_b, build(&c, "decline", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), NULL, "support B declines");
  build(&c, "accept", "p1", COMPONENT(FOWERK));
  c.body.accept.side = LEERPLEK__V1__REFERRAL_SIDE__REFERRAL_SIDE_SCHOOL;
  refused(support_a, &c.request, CODE(PERMISSION_DENIED), "accept_referral.side", "support accepts for the school");
  refused(coordinator, build(&c, "accept", "p1", COMPONENT(FOWERK)), CODE(INVALID_ARGUMENT), "accept_referral.side",
          "a coordinator names no side");
  refused(school_b, build(&c, "accept", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), "accept_referral.referral.school_id",
          "school B accepts for school A's pupil");
  build(&c, "withdraw", "p1", COMPONENT(FOWERK));
  refused(school_b, &c.request, CODE(NOT_FOUND), "withdraw_referral.referral.school_id",
          "school B withdraws A's referral");
  refused(school_a, build(&c, "start", "p1", COMPONENT(FOWERK)), CODE(PERMISSION_DENIED), "body", "a school starts");
  refused(support_a, build(&c, "offer", "p1", COMPONENT(FOWERK)), CODE(PERMISSION_DENIED), "body",
          "support offers itself");
  refused(support_a, build(&c, "withdraw", "p1", COMPONENT(FOWERK)), CODE(PERMISSION_DENIED), "body",
          "support withdraws");

  Leerplek__V1__ListReferralsRequest list = LEERPLEK__V1__LIST_REFERRALS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_REFERRALS;
  request.list_referrals = &list;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(school_b, &request, &response), 0);
  cr_assert_eq(response->list_referrals->total_size, 1);
  cr_assert_str_eq(response->list_referrals->referrals[0]->school_id, "school-b");
  leerplek_response_free(response);
  list.school_id = (char *)"school-a";
  refused(school_b, &request, CODE(PERMISSION_DENIED), "list_referrals.school_id", "school B lists A's referrals");
  list.school_id = (char *)"";
  list.organisation_id = (char *)"oal-a";
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->list_referrals->total_size, 1);
  leerplek_response_free(response);

  Leerplek__V1__ListSupportReferralsRequest held = LEERPLEK__V1__LIST_SUPPORT_REFERRALS_REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS;
  request.list_support_referrals = &held;
  cr_assert_eq(call_code(support_b, &request, &response), 0);
  cr_assert_eq(response->list_support_referrals->total_size, 0, "B holds none");
  leerplek_response_free(response);
  held.organisation_id = (char *)"oal-a";
  refused(support_b, &request, CODE(PERMISSION_DENIED), "list_support_referrals.organisation_id", "B lists A's");
}

Test(referrals, the_support_view_shows_flags_and_notes_only_when_shared) {
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(act(coordinator, "offer", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  Leerplek__V1__ListSupportReferralsRequest held = LEERPLEK__V1__LIST_SUPPORT_REFERRALS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS;
  request.list_support_referrals = &held;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(support_a, &request, &response), 0);
  cr_assert_eq(response->list_support_referrals->n_referrals, 1);
  const Leerplek__V1__SupportReferral *view = response->list_support_referrals->referrals[0];
  cr_assert_str_eq(view->pupil_ref, "p1");
  cr_assert_eq(view->readiness, LEERPLEK__V1__READINESS__READINESS_NOT_READY);
  cr_assert_eq(view->day_mask, 0x183);
  cr_assert_eq(view->distance_band, LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_10_KM, "about 6 km to Hoboken");
  cr_assert_str_eq(view->reason, "needs a preparatory phase");
  cr_assert_not(view->newcomer_okan, "not shared");
  cr_assert_str_eq(view->school_notes, "", "not shared");
  leerplek_response_free(response);

  /* Shared: a new referral for another component, with both shared. */
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  fill_support_offer(&offer, &start, "off-a-guide", "oal-a");
  offer.component = COMPONENT(BGLTRA);
  cr_assert_eq(send_support_offer(coordinator, &offer, NULL), 0);
  Leerplek__V1__SupportComponent components[1] = {COMPONENT(BGLTRA)};
  Leerplek__V1__ReferPupilRequest body = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  body.pupil_ref = (char *)"p1";
  body.components = components;
  body.n_components = 1;
  body.reason = (char *)"guidance";
  body.urgency = LEERPLEK__V1__URGENCY__URGENCY_NORMAL;
  body.share_priority_flags = true;
  body.share_school_notes = true;
  Leerplek__V1__Request refer = LEERPLEK__V1__REQUEST__INIT;
  refer.body_case = LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL;
  refer.refer_pupil = &body;
  cr_assert_eq(call_code(school_a, &refer, NULL), 0);
  referral_call c;
  build(&c, "offer", "p1", COMPONENT(BGLTRA));
  c.body.offer.offer_id = (char *)"off-a-guide";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
  cr_assert_eq(call_code(support_a, &request, &response), 0);
  cr_assert_eq(response->list_support_referrals->n_referrals, 2);
  view = response->list_support_referrals->referrals[0]; /* BGLTRA sorts before FOWERK */
  cr_assert_eq(view->component, COMPONENT(BGLTRA));
  cr_assert(view->newcomer_okan, "shared");
  cr_assert_str_eq(view->school_notes, "prefers mornings", "shared");
  leerplek_response_free(response);
}

Test(referrals, bad_input_names_the_field_and_changes_nothing) {
  Leerplek__V1__SupportComponent components[2] = {COMPONENT(FOWERK), COMPONENT(FOWERK)};
  Leerplek__V1__ReferPupilRequest body = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL;
  request.refer_pupil = &body;
#define REFER_CASE(change, code, field)                                                                                \
  do {                                                                                                                 \
    leerplek__v1__refer_pupil_request__init(&body);                                                                    \
    components[0] = COMPONENT(FOWERK), components[1] = COMPONENT(BGLTRA);                                              \
    body.pupil_ref = (char *)"p1", body.components = components, body.n_components = 2;                                \
    body.reason = (char *)"why", body.urgency = LEERPLEK__V1__URGENCY__URGENCY_NORMAL;                                 \
    change;                                                                                                            \
    refused(school_a, &request, code, field, #change);                                                                 \
  } while (0)
  REFER_CASE(body.n_components = 0, CODE(INVALID_ARGUMENT), "refer_pupil.components");
  REFER_CASE(components[1] = COMPONENT(FOWERK), CODE(INVALID_ARGUMENT), "refer_pupil.components[1]");
  REFER_CASE(components[0] = 0, CODE(INVALID_ARGUMENT), "refer_pupil.components[0]");
  REFER_CASE(components[1] = 7, CODE(INVALID_ARGUMENT), "refer_pupil.components[1]");
  REFER_CASE(body.reason = (char *)"", CODE(INVALID_ARGUMENT), "refer_pupil.reason");
  REFER_CASE(body.urgency = 0, CODE(INVALID_ARGUMENT), "refer_pupil.urgency");
  REFER_CASE(body.pupil_ref = (char *)"nobody", CODE(NOT_FOUND), "refer_pupil.pupil_ref");
  REFER_CASE(body.school_id = (char *)"school-b", CODE(NOT_FOUND), "refer_pupil.school_id");
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(BGLTRA), NULL), 0);
  /* One of the two is open already: neither is created. */
  REFER_CASE((void)0, CODE(ALREADY_EXISTS), "refer_pupil.components");
#undef REFER_CASE
  referral_call c;
  refused(coordinator, build(&c, "get", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), "get_referral.referral.pupil_ref",
          "the refused FOWERK referral was not created");
  refused(coordinator, build(&c, "get", "p1", 9), CODE(INVALID_ARGUMENT), "get_referral.referral.component",
          "component 9");

  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(act(coordinator, "offer", "p2", COMPONENT(FOWERK)), STATE(OFFERED));
  build(&c, "accept", "p2", COMPONENT(FOWERK));
  c.body.accept.side = 3;
  refused(coordinator, &c.request, CODE(INVALID_ARGUMENT), "accept_referral.side", "side 3");
  cr_assert_eq(act(school_a, "accept", "p2", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support_a, "accept", "p2", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support_a, "start", "p2", COMPONENT(FOWERK)), STATE(STARTED));
  build(&c, "end", "p2", COMPONENT(FOWERK));
  c.body.end.outcome = 0;
  refused(support_a, &c.request, CODE(INVALID_ARGUMENT), "end_referral.outcome", "no outcome");
  c.body.end.outcome = 4;
  refused(support_a, &c.request, CODE(INVALID_ARGUMENT), "end_referral.outcome", "outcome 4");
  refused(support_a, build(&c, "decline", "p2", COMPONENT(FOWERK)), CODE(FAILED_PRECONDITION),
          "decline_referral.referral", "declining a started trajectory");
}

Test(referrals, erasing_a_pupil_erases_its_referrals) {
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(FOWERK), NULL), 0);
  referral_call c;
  build(&c, "offer", "p1", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0, "p1 holds off-a1's one seat");
  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase.pupil_ref = (char *)"p1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
  request.erase_pupil = &erase;
  cr_assert_eq(call_code(school_a, &request, NULL), 0);
  redisContext *redis = harness_redis(&harness);
  redisReply *keys = redisCommand(redis, "KEYS lp:referral:*");
  cr_assert_eq(keys->elements, 1, "only p2's referral is left in Redis");
  cr_assert_str_eq(keys->element[0]->str, "lp:referral:school-a/p2/FOWERK");
  freeReplyObject(keys);
  redisReply *members = redisCommand(redis, "SMEMBERS lp:index:referral");
  cr_assert_eq(members->elements, 1);
  freeReplyObject(members);
  redisFree(redis);
  refused(coordinator, build(&c, "get", "p1", COMPONENT(ALTDEL)), CODE(NOT_FOUND), NULL, "erased");
  Leerplek__V1__ListSupportReferralsRequest held = LEERPLEK__V1__LIST_SUPPORT_REFERRALS_REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS;
  request.list_support_referrals = &held;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(support_a, &request, &response), 0);
  cr_assert_eq(response->list_support_referrals->total_size, 0, "the organisation no longer sees p1");
  leerplek_response_free(response);
  /* Its seat is free: p2 gets it, also after a restart (nothing of p1 comes back). */
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  leerplek_close(admin);
  admin = harness_connect(&harness, harness.admin_token);
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(coordinator);
  coordinator = harness_connect(&harness, token);
  cr_assert_not_null(coordinator);
  refused(coordinator, build(&c, "get", "p1", COMPONENT(FOWERK)), CODE(NOT_FOUND), NULL,
          "erased, also after a restart");
  build(&c, "offer", "p2", COMPONENT(FOWERK));
  c.body.offer.offer_id = (char *)"off-a1";
  cr_assert_eq(call_code(coordinator, &c.request, NULL), 0, "the erased pupil's seat is free");
}

static int run_dispatch(bool dry_run, Leerplek__V1__Response **out) {
  Leerplek__V1__RunDispatchRequest body = LEERPLEK__V1__RUN_DISPATCH_REQUEST__INIT;
  body.dry_run = dry_run;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_DISPATCH;
  request.run_dispatch = &body;
  return call_code(coordinator, &request, out);
}

Test(referrals, dispatch_offers_seats_by_the_rules_and_keeps_held_ones) {
  /* One ALTDEL seat: p1 (NOT_READY) and p2 (READY); p2 also waits for BGLTRA, which no one
   * offers; p1 waits for FOWERK too (off-a, off-a1, off-b all take it). */
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  fill_support_offer(&offer, &start, "off-work", "oal-b");
  offer.component = COMPONENT(ALTDEL);
  offer.seats = 1;
  cr_assert_eq(send_support_offer(coordinator, &offer, NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(BGLTRA), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);

  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_dispatch(true, &response), 0, "%s", response->status->message);
  const Leerplek__V1__DispatchResult *result = response->run_dispatch->result;
  cr_assert(result->dry_run);
  cr_assert(result->proven_optimal);
  cr_assert_eq(result->dual_bound, result->objective);
  cr_assert_eq(result->referrals, 4);
  cr_assert_eq(result->fixed, 0);
  cr_assert_eq(result->offers, 4);
  cr_assert_eq(result->dispatched, 2);
  cr_assert_eq(result->waiting, 2);
  cr_assert_eq(result->n_changes, 2);
  cr_assert_str_eq(result->changes[0]->pupil_ref, "p1");
  cr_assert_eq(result->changes[0]->component, COMPONENT(ALTDEL), "the NOT_READY pupil takes the one ALTDEL seat");
  cr_assert_str_eq(result->changes[0]->offer_id, "off-work");
  cr_assert_gt(result->changes[0]->distance_m, 0);
  cr_assert_eq(result->changes[1]->component, COMPONENT(FOWERK));
  leerplek_response_free(response);
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "a dry run writes nothing");
  free(before);
  free(after);

  cr_assert_eq(run_dispatch(false, &response), 0, "%s", response->status->message);
  cr_assert_not(response->run_dispatch->result->dry_run);
  cr_assert_eq(response->run_dispatch->result->dispatched, 2);
  leerplek_response_free(response);
  const Leerplek__V1__Referral *referral = get("p1", COMPONENT(ALTDEL), &response);
  cr_assert_eq(referral->state, STATE(OFFERED));
  cr_assert_str_eq(referral->offer_id, "off-work");
  cr_assert_str_eq(referral->organisation_id, "oal-b");
  cr_assert_str_eq(referral->history[referral->n_history - 1]->actor, "coordinator");
  cr_assert_not_null(strstr(referral->history[referral->n_history - 1]->note, "off-work"));
  leerplek_response_free(response);
  cr_assert_eq(get("p2", COMPONENT(ALTDEL), &response)->state, STATE(WAITING), "the seat is taken");
  leerplek_response_free(response);
  cr_assert_eq(get("p2", COMPONENT(BGLTRA), &response)->state, STATE(WAITING), "no BGLTRA offer");
  leerplek_response_free(response);

  /* Accepted and started, the seat stays with p1 whoever waits; a second run changes nothing. */
  cr_assert_eq(act(school_a, "accept", "p1", COMPONENT(ALTDEL)), STATE(OFFERED));
  cr_assert_eq(act(support_b, "accept", "p1", COMPONENT(ALTDEL)), STATE(OFFERED));
  cr_assert_eq(act(support_b, "start", "p1", COMPONENT(ALTDEL)), STATE(STARTED));
  cr_assert_eq(run_dispatch(false, &response), 0);
  cr_assert_eq(response->run_dispatch->result->fixed, 2);
  cr_assert_eq(response->run_dispatch->result->dispatched, 0);
  leerplek_response_free(response);
  /* Ended, the seat is free again for p2. */
  cr_assert_eq(act(support_b, "end", "p1", COMPONENT(ALTDEL)), STATE(ENDED));
  cr_assert_eq(run_dispatch(false, &response), 0);
  cr_assert_eq(response->run_dispatch->result->dispatched, 1);
  leerplek_response_free(response);
  cr_assert_eq(get("p2", COMPONENT(ALTDEL), &response)->state, STATE(OFFERED));
  leerplek_response_free(response);
  /* Declined, it is not offered the same seat again. */
  cr_assert_eq(act(school_a, "decline", "p2", COMPONENT(ALTDEL)), STATE(DECLINED));
  cr_assert_eq(run_dispatch(false, &response), 0);
  cr_assert_eq(response->run_dispatch->result->dispatched, 0);
  leerplek_response_free(response);
}

/* Moves a stored referral's request back by days, as if it had waited that long (the daemon
 * reads it again on restart). */
static void age_referral(const char *key, int days) {
  redisContext *redis = harness_redis(&harness);
  redisReply *stored = redisCommand(redis, "GET lp:referral:%s", key);
  cr_assert_eq(stored->type, REDIS_REPLY_STRING);
  Leerplek__V1__Referral *referral = leerplek__v1__referral__unpack(NULL, stored->len, (const uint8_t *)stored->str);
  cr_assert_not_null(referral);
  referral->requested_unix_s -= (int64_t)days * 86400;
  size_t size = leerplek__v1__referral__get_packed_size(referral);
  uint8_t *bytes = malloc(size);
  leerplek__v1__referral__pack(referral, bytes);
  freeReplyObject(redisCommand(redis, "SET lp:referral:%s %b", key, bytes, size));
  free(bytes);
  leerplek__v1__referral__free_unpacked(referral, NULL);
  freeReplyObject(stored);
  redisFree(redis);
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  leerplek_client **clients[] = {&admin, &coordinator, &support_a, &support_b, &school_a, &school_b};
  for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++) leerplek_close(*clients[i]);
  /* Tokens live in Redis: reconnect each with a new token of the same role. */
  char token[128];
  admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  coordinator = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-a", token, sizeof token);
  support_a = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-b", token, sizeof token);
  support_b = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", token, sizeof token);
  school_a = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", token, sizeof token);
  school_b = harness_connect(&harness, token);
}

Test(referrals, ended_ready_the_pupil_is_matched_to_a_workplace_with_its_waiting_time) {
  /* Two regular seats near home; p2 and p3 (READY) ask today, p1 (NOT_READY) is in the
   * preparatory track since ten days. */
  cr_assert_eq(upsert_company(coordinator, "1111111111", "KAPPER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-1", "1111111111"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-1", "loc-1", "KAPPER"), 0);
  cr_assert_eq(register_pupil(school_a, "", "p3", "KAPPER"), 0);
  cr_assert_eq(request_placement(school_a, "", "p2"), 0);
  cr_assert_eq(request_placement(school_a, "", "p3"), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  age_referral("school-a/p1/FOWERK", 10);

  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_dispatch(false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_dispatch->result->dispatched, 1);
  leerplek_response_free(response);
  const Leerplek__V1__Referral *referral = get("p1", COMPONENT(FOWERK), &response);
  cr_assert_eq(referral->state, STATE(OFFERED));
  char offer_id[40];
  snprintf(offer_id, sizeof offer_id, "%s", referral->offer_id);
  leerplek_response_free(response);
  leerplek_client *support = strcmp(offer_id, "off-b") == 0 ? support_b : support_a;
  cr_assert_eq(act(school_a, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support, "start", "p1", COMPONENT(FOWERK)), STATE(STARTED));
  /* While NOT_READY, no regular seat is its: the rematch places p2 and p3. */
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->placed, 2);
  leerplek_response_free(response);

  referral_call c;
  cr_assert_eq(call_code(support, build(&c, "end", "p1", COMPONENT(FOWERK)), &response), 0, "%s",
               response->status->message);
  cr_assert(response->end_referral->readiness_changed);
  cr_assert(response->end_referral->placement_requested);
  leerplek_response_free(response);
  cr_assert_eq(get_pupil(coordinator, "school-a", "p1", &response), 0);
  const Leerplek__V1__Pupil *pupil = response->get_pupil->pupil;
  cr_assert_eq(pupil->readiness, LEERPLEK__V1__READINESS__READINESS_READY);
  long long ten_days_ago = (long long)time(NULL) - 10 * 86400;
  cr_assert(pupil->waiting_since_unix_s <= ten_days_ago && pupil->waiting_since_unix_s > ten_days_ago - 60,
            "waits since the referral, ten days ago (%lld)", (long long)pupil->waiting_since_unix_s);
  leerplek_response_free(response);

  /* On the waiting list with its ten days, ahead of those who asked today. */
  Leerplek__V1__GetWaitingListRequest list = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  request.get_waiting_list = &list;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->get_waiting_list->total_size, 1);
  cr_assert_str_eq(response->get_waiting_list->entries[0]->pupil_ref, "p1");
  cr_assert_eq(response->get_waiting_list->entries[0]->days_waiting, 10);
  leerplek_response_free(response);

  /* The next rematch gives p1 a regular seat: its ten days outweigh a proposed pupil's day 0
   * (a PROPOSED pupil is not fixed). */
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  Leerplek__V1__GetPlacementRequest placement = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  placement.school_id = (char *)"school-a";
  placement.pupil_ref = (char *)"p1";
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &placement;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->get_placement->placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED);
  cr_assert_str_eq(response->get_placement->placement->offer->vacancy_id, "vac-1");
  cr_assert_eq(response->get_placement->placement->offer->kind, LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR);
  leerplek_response_free(response);
}

Test(referrals, ended_not_ready_the_pupil_stays_as_it_was) {
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(act(coordinator, "offer", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(school_a, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support_a, "accept", "p1", COMPONENT(FOWERK)), STATE(OFFERED));
  cr_assert_eq(act(support_a, "start", "p1", COMPONENT(FOWERK)), STATE(STARTED));
  referral_call c;
  build(&c, "end", "p1", COMPONENT(FOWERK));
  c.body.end.outcome = LEERPLEK__V1__READINESS__READINESS_NOT_READY;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(support_a, &c.request, &response), 0);
  cr_assert_not(response->end_referral->readiness_changed);
  cr_assert_not(response->end_referral->placement_requested);
  leerplek_response_free(response);
  cr_assert_eq(get_pupil(coordinator, "school-a", "p1", &response), 0);
  cr_assert_eq(response->get_pupil->pupil->readiness, LEERPLEK__V1__READINESS__READINESS_NOT_READY);
  cr_assert_eq(response->get_pupil->pupil->revision, 1, "the pupil was not written");
  leerplek_response_free(response);
  Leerplek__V1__GetPlacementRequest placement = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  placement.pupil_ref = (char *)"p1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &placement;
  cr_assert_eq(call_code(school_a, &request, NULL), CODE(NOT_FOUND), "no placement request was made");
}

static Leerplek__V1__GetReferralWaitingListResponse *waiting_list(leerplek_client *client,
                                                                  Leerplek__V1__Response **response) {
  Leerplek__V1__GetReferralWaitingListRequest body = LEERPLEK__V1__GET_REFERRAL_WAITING_LIST_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL_WAITING_LIST;
  request.get_referral_waiting_list = &body;
  cr_assert_eq(call_code(client, &request, response), 0, "%s", (*response)->status->message);
  return (*response)->get_referral_waiting_list;
}

Test(referrals, the_shared_waiting_list_says_why_each_waits) {
  /* One ALTDEL seat for p1 (NOT_READY, OKAN: first) and p2; nobody offers BGLTRA; p4 lives
   * farther than its 1 km from every FOWERK site. */
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  fill_support_offer(&offer, &start, "off-work", "oal-b");
  offer.component = COMPONENT(ALTDEL);
  offer.seats = 1;
  cr_assert_eq(send_support_offer(coordinator, &offer, NULL), 0);
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-a", "p4", "KAPPER");
  pupil.max_commute_m = 1000;
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  cr_assert_eq(call_code(school_a, &request, NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(BGLTRA), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p4", COMPONENT(FOWERK), NULL), 0);
  age_referral("school-a/p4/FOWERK", 3);

  Leerplek__V1__Response *response = NULL;
  const Leerplek__V1__GetReferralWaitingListResponse *list = waiting_list(support_a, &response);
  cr_assert_eq(list->n_entries, 4);
  static const struct {
    const char *ref;
    int component;
    int wait;
    uint32_t days;
  } expected[] = {
      {"p1", COMPONENT(ALTDEL), LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NEXT_DISPATCH, 0},
      {"p4", COMPONENT(FOWERK), LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NONE_WITHIN_REACH, 3},
      {"p2", COMPONENT(ALTDEL), LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_CAPACITY_TAKEN, 0},
      {"p2", COMPONENT(BGLTRA), LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NO_OFFER_OF_COMPONENT, 0},
  };
  for (size_t i = 0; i < 4; i++) {
    const Leerplek__V1__ReferralWaitingEntry *entry = list->entries[i];
    cr_assert_eq(entry->position, i + 1);
    cr_assert_str_eq(entry->pupil_ref, expected[i].ref, "position %zu", i + 1);
    cr_assert_eq(entry->component, expected[i].component, "position %zu", i + 1);
    cr_assert_eq(entry->wait, expected[i].wait, "position %zu: wait %d", i + 1, entry->wait);
    cr_assert_eq(entry->days_waiting, expected[i].days, "position %zu", i + 1);
    if (i > 0) cr_assert_geq(list->entries[i - 1]->priority_score, entry->priority_score);
  }
  leerplek_response_free(response);
  /* Dispatched, p1 leaves the list and p2 still waits behind the held seat. */
  cr_assert_eq(run_dispatch(false, &response), 0);
  leerplek_response_free(response);
  list = waiting_list(coordinator, &response);
  cr_assert_eq(list->n_entries, 3);
  cr_assert_str_eq(list->entries[1]->pupil_ref, "p2");
  cr_assert_eq(list->entries[1]->wait, LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_CAPACITY_TAKEN);
  leerplek_response_free(response);
  Leerplek__V1__GetReferralWaitingListRequest none = LEERPLEK__V1__GET_REFERRAL_WAITING_LIST_REQUEST__INIT;
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL_WAITING_LIST;
  request.get_referral_waiting_list = &none;
  refused(school_a, &request, CODE(PERMISSION_DENIED), "body", "the partners' list is not the schools'");
}

Test(referrals, the_registration_point_counts_what_happened) {
  /* p1 (school A) waited 12 days for oal-a, p2 (school A) 4 days for oal-b, p3 (school B)
   * waits for BGLTRA since 40 days; p2's ALTDEL referral was withdrawn. */
  cr_assert_eq(register_pupil(school_b, "", "p3", "KAPPER"), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p1", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(FOWERK), NULL), 0);
  cr_assert_eq(refer_pupil(school_a, "", "p2", COMPONENT(ALTDEL), NULL), 0);
  cr_assert_eq(refer_pupil(school_b, "", "p3", COMPONENT(BGLTRA), NULL), 0);
  cr_assert_eq(act(school_a, "withdraw", "p2", COMPONENT(ALTDEL)), STATE(WITHDRAWN));
  age_referral("school-a/p1/FOWERK", 12);
  age_referral("school-a/p2/FOWERK", 4);
  age_referral("school-b/p3/BGLTRA", 40);
  static const char *const refs[2] = {"p1", "p2"};
  static const char *const offers[2] = {"off-a", "off-b"};
  for (int k = 0; k < 2; k++) {
    referral_call c;
    build(&c, "offer", refs[k], COMPONENT(FOWERK));
    c.body.offer.offer_id = (char *)offers[k];
    cr_assert_eq(call_code(coordinator, &c.request, NULL), 0);
    leerplek_client *support = k == 0 ? support_a : support_b;
    cr_assert_eq(act(school_a, "accept", refs[k], COMPONENT(FOWERK)), STATE(OFFERED));
    cr_assert_eq(act(support, "accept", refs[k], COMPONENT(FOWERK)), STATE(OFFERED));
    cr_assert_eq(act(support, "start", refs[k], COMPONENT(FOWERK)), STATE(STARTED));
  }

  Leerplek__V1__GetRegistrationPointRequest body = LEERPLEK__V1__GET_REGISTRATION_POINT_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REGISTRATION_POINT;
  request.get_registration_point = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0, "%s", response->status->message);
  const Leerplek__V1__GetRegistrationPointResponse *point = response->get_registration_point;
  cr_assert_eq(point->deadline_days, 30);
  cr_assert_eq(point->n_requests, 4, "the withdrawn one is listed too");
  /* By key: school-a/p1/FOWERK, school-a/p2/ALTDEL, school-a/p2/FOWERK, school-b/p3/BGLTRA. */
  const Leerplek__V1__RegistrationRequest *const *rows =
      (const Leerplek__V1__RegistrationRequest *const *)point->requests;
  cr_assert_str_eq(rows[0]->holder, "oal-a");
  cr_assert(rows[0]->started);
  cr_assert_eq(rows[0]->days_to_start, 12);
  cr_assert_eq(rows[0]->days_since_request, 12);
  cr_assert_eq(rows[1]->state, STATE(WITHDRAWN));
  cr_assert_str_eq(rows[2]->holder, "oal-b");
  cr_assert_eq(rows[2]->days_to_start, 4);
  cr_assert_str_eq(rows[3]->holder, "", "on the shared list");
  cr_assert_eq(rows[3]->days_since_request, 40);
  cr_assert_not(rows[3]->started);
  cr_assert(rows[3]->over_deadline);
  cr_assert_not(rows[0]->over_deadline, "started requests are not late");

  cr_assert_eq(point->total->requests, 3);
  cr_assert_eq(point->total->started, 2);
  cr_assert_eq(point->total->median_days_to_start, 4, "lower middle of 4 and 12");
  cr_assert_eq(point->total->p90_days_to_start, 12);
  cr_assert_eq(point->total->over_deadline, 1);
  cr_assert_eq(point->n_by_partner, 2);
  cr_assert_str_eq(point->by_partner[0]->key, "oal-a");
  cr_assert_eq(point->by_partner[0]->requests, 1);
  cr_assert_eq(point->by_partner[0]->median_days_to_start, 12);
  cr_assert_str_eq(point->by_partner[1]->key, "oal-b");
  cr_assert_eq(point->by_partner[1]->p90_days_to_start, 4);
  cr_assert_eq(point->n_by_school, 2);
  cr_assert_str_eq(point->by_school[0]->key, "school-a");
  cr_assert_eq(point->by_school[0]->requests, 2);
  cr_assert_eq(point->by_school[0]->started, 2);
  cr_assert_eq(point->by_school[0]->median_days_to_start, 4);
  cr_assert_eq(point->by_school[0]->p90_days_to_start, 12);
  cr_assert_str_eq(point->by_school[1]->key, "school-b");
  cr_assert_eq(point->by_school[1]->requests, 1);
  cr_assert_eq(point->by_school[1]->started, 0);
  cr_assert_eq(point->by_school[1]->over_deadline, 1);
  leerplek_response_free(response);

  /* A deadline of 50 days flags nothing; 3651 is refused. */
  body.deadline_days = 50;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->get_registration_point->total->over_deadline, 0);
  leerplek_response_free(response);
  body.deadline_days = 3651;
  refused(coordinator, &request, CODE(INVALID_ARGUMENT), "get_registration_point.deadline_days", "deadline 3651");
  body.deadline_days = 0;
  refused(support_a, &request, CODE(PERMISSION_DENIED), "body", "a partner reads the registration point");
}
