/* handlers_dispatch: RunDispatch and the nightly dispatch. Waiting referrals get seats of the
 * support offers through the rulebook (DISPATCH in matcher/eligibility.h; lp_rules copies the
 * records), solved by the matcher, proven by matcher_verify and checked by eligibility_explain;
 * an unproven result is never applied. The preparatory track is city-sized (hundreds of
 * referrals, tens of offers), so it runs on the event loop in one go, unlike the rematch. */
#include <stdlib.h>
#include <string.h>

#include "eligibility.h"
#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_log.h"
#include "lp_rules.h"
#include "lp_support.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

/* What a dispatch would change: the referrals it offers a seat, as new records. */
typedef struct plan {
  uint32_t referrals, fixed, offers;
  uint64_t pairs;
  int64_t objective, dual_bound;
  size_t count;
  char (*keys)[LP_REFERRAL_KEY_SIZE];
  Leerplek__V1__Referral **records;
  uint32_t *distance_m;
} plan;

static void plan_free(plan *p) {
  for (size_t i = 0; i < p->count; i++)
    if (p->records[i]) protobuf_c_message_free_unpacked(&p->records[i]->base, NULL);
  free(p->keys);
  free(p->records);
  free(p->distance_m);
  memset(p, 0, sizeof *p);
}

/* The inputs copied from the state: offers in map order, referrals that wait or hold a seat. */
typedef struct snapshot {
  eligibility_dispatch_offer *offers;
  int32_t *offer_trainings;
  eligibility_dispatch_referral *referrals;
  int32_t *declined;
  size_t *referral_at; /* [referrals]: index in the referrals map */
  int32_t referral_count;
} snapshot;

static void snapshot_free(snapshot *s) {
  free(s->offers);
  free(s->offer_trainings);
  free(s->referrals);
  free(s->declined);
  free(s->referral_at);
}

static void take_snapshot(const lp_state *state, long long now, snapshot *s) {
  const lp_map *offers = &state->maps[LP_KIND_SUPPORT_OFFER], *referrals = &state->maps[LP_KIND_REFERRAL];
  memset(s, 0, sizeof *s);
  size_t trainings = 0, declined = 0;
  for (size_t j = 0; j < offers->count; j++)
    trainings += ((Leerplek__V1__SupportOffer *)offers->entries[j].value)->n_training_codes;
  for (size_t i = 0; i < referrals->count; i++)
    declined += ((Leerplek__V1__Referral *)referrals->entries[i].value)->n_declined_offer_ids;
  s->offers = lp_calloc(offers->count + 1, sizeof *s->offers);
  s->offer_trainings = lp_calloc(trainings + 1, sizeof *s->offer_trainings);
  s->referrals = lp_calloc(referrals->count + 1, sizeof *s->referrals);
  s->declined = lp_calloc(declined + 1, sizeof *s->declined);
  s->referral_at = lp_calloc(referrals->count + 1, sizeof *s->referral_at);
  int32_t *next_training = s->offer_trainings, *next_declined = s->declined;
  for (size_t j = 0; j < offers->count; j++) {
    const Leerplek__V1__SupportOffer *offer = offers->entries[j].value;
    lp_rules_dispatch_offer(state, offer, next_training, &s->offers[j]);
    next_training += offer->n_training_codes;
  }
  for (size_t i = 0; i < referrals->count; i++) {
    const Leerplek__V1__Referral *referral = referrals->entries[i].value;
    if (!lp_referral_waiting(referral->state) && !lp_referral_holds_seat(referral->state)) continue;
    char pupil_key[LP_MAX_KEY];
    lp_pupil_key(referral->school_id, referral->pupil_ref, pupil_key);
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, pupil_key);
    if (!pupil || !pupil->home) continue;
    eligibility_dispatch_referral *out = &s->referrals[s->referral_count];
    lp_rules_dispatch_referral(state, referral, pupil, now, next_declined, out);
    /* A seat held in an offer that is gone holds nothing any more. */
    if (lp_referral_holds_seat(referral->state) && out->fixed_offer < 0) continue;
    next_declined += out->declined_count;
    s->referral_at[s->referral_count++] = i;
  }
}

/* One solved dispatch of the current state: the snapshot, the problem, the proven solution and
 * the explanations. */
typedef struct solved {
  snapshot s;
  eligibility_dispatch dispatch;
  matcher_solution solution;
  eligibility_explanation *explanations;
  int32_t offer_count;
  int64_t dual_bound;
} solved;

static void solved_free(solved *x) {
  free(x->explanations);
  if (x->solution.vacancy_of_pupil) matcher_solution_free(&x->solution);
  eligibility_dispatch_free(&x->dispatch);
  snapshot_free(&x->s);
}

/* Builds, solves, proves and explains; 0, or -1 with the reason in error (x freed). */
static int solve_dispatch(lp_daemon *daemon, long long now, solved *x, char *error, size_t error_size) {
  const lp_state *state = &daemon->state;
  memset(x, 0, sizeof *x);
  eligibility_weights weights;
  lp_config_rule_weights(&daemon->config, &weights);
  matcher_error failure = {""};
  x->offer_count = (int32_t)state->maps[LP_KIND_SUPPORT_OFFER].count;
  take_snapshot(state, now, &x->s);
  matcher_status status = eligibility_dispatch_build(x->s.referrals, x->s.referral_count, x->s.offers, x->offer_count,
                                                     &weights, &x->dispatch, &failure);
  if (status == MATCHER_OK) status = matcher_solve(&x->dispatch.built.problem, NULL, &x->solution, &failure);
  if (status == MATCHER_OK) {
    status = matcher_verify_bound(&x->dispatch.built.problem, &x->solution, &x->dual_bound, &failure);
    if (status == MATCHER_OK && x->dual_bound != x->solution.objective) status = MATCHER_NOT_OPTIMAL;
  }
  x->explanations = status == MATCHER_OK ? lp_calloc((size_t)x->s.referral_count + 1, sizeof *x->explanations) : NULL;
  if (status == MATCHER_OK && !x->explanations) status = MATCHER_NO_MEMORY;
  if (status == MATCHER_OK)
    status =
        eligibility_explain(x->dispatch.pupils, x->s.referral_count, x->dispatch.vacancies, x->offer_count,
                            &x->dispatch.weights, &x->dispatch.built, &x->solution, NULL, x->explanations, &failure);
  if (status != MATCHER_OK) {
    snprintf(error, error_size, "the dispatch was not proven optimal (%s: %s); nothing was applied",
             matcher_status_name(status), failure.message);
    solved_free(x);
    return -1;
  }
  return 0;
}

/* Solves; fills p with the referrals newly offered a seat. 0, or -1 with the reason in error. */
static int make_plan(lp_daemon *daemon, long long now, const char *actor, plan *p, char *error, size_t error_size) {
  const lp_state *state = &daemon->state;
  memset(p, 0, sizeof *p);
  solved x;
  if (solve_dispatch(daemon, now, &x, error, error_size) != 0) return -1;
  const snapshot *sn = &x.s;
  const eligibility_dispatch *d = &x.dispatch;
  const matcher_solution *solution = &x.solution;
  int32_t offer_count = x.offer_count;
  p->dual_bound = x.dual_bound;
  p->objective = solution->objective;
  p->offers = (uint32_t)offer_count;
  p->pairs = (uint64_t)d->built.problem.pair_count;
  p->keys = lp_calloc((size_t)sn->referral_count + 1, sizeof *p->keys);
  p->records = lp_calloc((size_t)sn->referral_count + 1, sizeof *p->records);
  p->distance_m = lp_calloc((size_t)sn->referral_count + 1, sizeof *p->distance_m);
  const lp_map *referrals = &state->maps[LP_KIND_REFERRAL], *offers = &state->maps[LP_KIND_SUPPORT_OFFER];
  for (int32_t i = 0; i < sn->referral_count; i++) {
    if (sn->referrals[i].fixed_offer >= 0) {
      p->fixed++;
      continue;
    }
    p->referrals++;
    int32_t j = solution->vacancy_of_pupil[i];
    if (j < 0) continue;
    const lp_map_entry *entry = &referrals->entries[sn->referral_at[i]];
    const Leerplek__V1__SupportOffer *offer = offers->entries[j].value;
    Leerplek__V1__Referral *record = lp_clone(entry->value);
    char note[64];
    snprintf(note, sizeof note, "dispatched to %s", offer->id);
    record->state = LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_OFFERED;
    lp_set_string(&record->offer_id, offer->id);
    lp_set_string(&record->organisation_id, offer->organisation_id);
    lp_referral_add_history(record, actor, now, note);
    record->school_accepted = record->support_accepted = false;
    record->offered_unix_s = now;
    for (int64_t q = 0; q < d->built.problem.pair_count; q++)
      if (d->built.pairs[q].pupil == i && d->built.pairs[q].vacancy == j)
        p->distance_m[p->count] = (uint32_t)d->built.pair_distance_m[q];
    snprintf(p->keys[p->count], sizeof p->keys[p->count], "%s", entry->key);
    p->records[p->count++] = record;
  }
  solved_free(&x);
  return 0;
}

/* A change with the plan's records, each with its own event by actor (the plan keeps only its
 * counts). The plan has at least one record. */
static lp_change *plan_change(lp_daemon *daemon, plan *p, const char *actor) {
  lp_change *change = lp_change_begin(daemon, "dispatch", LP_KIND_REFERRAL, p->keys[0], actor, "dispatch");
  for (size_t i = 0; i < p->count; i++) {
    if (i > 0) {
      lp_txn_event(lp_change_txn(change), daemon->config.instance_id, "dispatch", LP_KIND_REFERRAL, p->keys[i], actor,
                   daemon->config.events_max_length);
      const Leerplek__V1__Referral *before = lp_state_get(&daemon->state, LP_KIND_REFERRAL, p->keys[i]);
      lp_event_detail detail = {.call = "dispatch", .old_referral_state = before ? (int)before->state : 0};
      lp_change_detail(change, &detail);
    }
    lp_change_put(change, LP_KIND_REFERRAL, p->keys[i], p->records[i]);
    p->records[i] = NULL;
  }
  return change;
}

int lp_handle_run_dispatch(lp_ctx *ctx) {
  const Leerplek__V1__RunDispatchRequest *request = ctx->request->run_dispatch;
  if (request->max_changes > 1000)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "run_dispatch.max_changes",
                   "max_changes must be 0..1000 (0 = 100), not %u", request->max_changes);
  uint32_t max_changes = request->max_changes ? request->max_changes : 100;
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  plan p;
  char error[400];
  if (make_plan(ctx->daemon, ctx->now, ctx->actor, &p, error, sizeof error) != 0)
    return lp_fail(ctx, CODE(INTERNAL), "", "%s", error);
  Leerplek__V1__RunDispatchResponse *reply = lp_reply_body(ctx, &leerplek__v1__run_dispatch_response__descriptor);
  Leerplek__V1__DispatchResult *result = lp_scratch(ctx, sizeof *result);
  size_t shown = p.count < max_changes ? p.count : max_changes;
  Leerplek__V1__DispatchChange *changes = lp_scratch(ctx, (shown + 1) * sizeof *changes);
  Leerplek__V1__DispatchChange **change_list = lp_scratch(ctx, (shown + 1) * sizeof *change_list);
  char **strings = lp_scratch(ctx, (shown + 1) * 3 * sizeof *strings);
  /* The reply outlives the records (applied to memory, or freed on a dry run): copy. */
  for (size_t i = 0; i < shown; i++) {
    const Leerplek__V1__Referral *record = p.records[i];
    leerplek__v1__dispatch_change__init(&changes[i]);
    changes[i].school_id = lp_scratch_strdup(ctx, record->school_id);
    changes[i].pupil_ref = lp_scratch_strdup(ctx, record->pupil_ref);
    changes[i].offer_id = lp_scratch_strdup(ctx, record->offer_id);
    changes[i].component = record->component;
    changes[i].distance_m = p.distance_m[i];
    change_list[i] = &changes[i];
  }
  leerplek__v1__dispatch_result__init(result);
  result->dry_run = request->dry_run;
  result->started_unix_s = ctx->now;
  result->referrals = p.referrals;
  result->fixed = p.fixed;
  result->offers = p.offers;
  result->eligible_pairs = p.pairs;
  result->dispatched = (uint32_t)p.count;
  result->waiting = p.referrals - (uint32_t)p.count;
  result->objective = p.objective;
  result->dual_bound = p.dual_bound;
  result->proven_optimal = true;
  result->changes = change_list;
  result->n_changes = shown;
  result->changes_truncated = shown < p.count;
  reply->result = result;
  if (request->dry_run || p.count == 0) {
    plan_free(&p);
    return 0;
  }
  int rc = lp_commit(ctx, plan_change(ctx->daemon, &p, ctx->actor));
  plan_free(&p);
  return rc;
}

static void on_nightly_committed(void *arg, int code, const char *message) {
  (void)arg;
  if (code != 0) LP_WARN("nightly dispatch was not written: %s", message);
}

void lp_referrals_dispatch_nightly(lp_daemon *daemon, long long now) {
  plan p;
  char error[400];
  if (make_plan(daemon, now, "nightly", &p, error, sizeof error) != 0) {
    LP_WARN("nightly dispatch: %s", error);
    return;
  }
  size_t count = p.count;
  if (count && lp_change_commit(plan_change(daemon, &p, "nightly"), on_nightly_committed, NULL) != 0) {
    LP_WARN("nightly dispatch: the store takes no writes now; nothing was applied");
    plan_free(&p);
    return;
  }
  plan_free(&p);
  LP_INFO("nightly dispatch: %zu referrals offered a seat", count);
}

/* ---- the partners' shared waiting list ------------------------------------------------- */

static int wait_of(const eligibility_explanation *explanation) {
  switch (explanation->reason) {
  case ELIGIBILITY_PLACED: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NEXT_DISPATCH;
  case ELIGIBILITY_NO_RECOGNISED_VACANCY: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NO_OFFER_OF_COMPONENT;
  case ELIGIBILITY_NONE_WITHIN_COMMUTE: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NONE_WITHIN_REACH;
  case ELIGIBILITY_NO_COMPATIBLE_DAYS: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NO_COMPATIBLE_DAYS;
  case ELIGIBILITY_ALL_EXCLUDED: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_NOT_FOR_THIS_PUPIL;
  case ELIGIBILITY_SEATS_TAKEN: return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_CAPACITY_TAKEN;
  /* Dispatch takes every readiness (rule 2 never fails) and has no start dates (nor rule 6). */
  case ELIGIBILITY_READINESS_TOO_LOW:
  case ELIGIBILITY_STARTS_TOO_LATE: break;
  }
  return LEERPLEK__V1__DISPATCH_WAIT__DISPATCH_WAIT_UNSPECIFIED;
}

static int by_priority(const void *a, const void *b) {
  const Leerplek__V1__ReferralWaitingEntry *x = *(Leerplek__V1__ReferralWaitingEntry *const *)a,
                                           *y = *(Leerplek__V1__ReferralWaitingEntry *const *)b;
  if (x->priority_score != y->priority_score) return x->priority_score > y->priority_score ? -1 : 1;
  if (x->days_waiting != y->days_waiting) return x->days_waiting > y->days_waiting ? -1 : 1;
  int order = strcmp(x->school_id, y->school_id);
  if (order == 0) order = strcmp(x->pupil_ref, y->pupil_ref);
  return order ? order : strcmp(lp_support_component_code(x->component), lp_support_component_code(y->component));
}

int lp_handle_get_referral_waiting_list(lp_ctx *ctx) {
  const Leerplek__V1__GetReferralWaitingListRequest *request = ctx->request->get_referral_waiting_list;
  if (request->component != 0 && !lp_support_component_valid(request->component))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_referral_waiting_list.component",
                   "get_referral_waiting_list.component is not a SupportComponent");
  solved x;
  char error[400];
  if (solve_dispatch(ctx->daemon, ctx->now, &x, error, sizeof error) != 0)
    return lp_fail(ctx, CODE(INTERNAL), "", "%s", error);
  const lp_map *referrals = &ctx->daemon->state.maps[LP_KIND_REFERRAL];
  size_t count = 0;
  Leerplek__V1__ReferralWaitingEntry *entries = lp_scratch(ctx, ((size_t)x.s.referral_count + 1) * sizeof *entries);
  Leerplek__V1__ReferralWaitingEntry **list = lp_scratch(ctx, ((size_t)x.s.referral_count + 1) * sizeof *list);
  Leerplek__V1__GetReferralWaitingListResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__get_referral_waiting_list_response__descriptor);
  for (int32_t i = 0; i < x.s.referral_count; i++) {
    const Leerplek__V1__Referral *referral = referrals->entries[x.s.referral_at[i]].value;
    if (!lp_referral_waiting(referral->state)) continue;
    if (request->component != 0 && referral->component != request->component) continue;
    Leerplek__V1__ReferralWaitingEntry *entry = &entries[count];
    leerplek__v1__referral_waiting_entry__init(entry);
    /* The records stay in memory until the reply is packed: the loop runs nothing else. */
    entry->school_id = referral->school_id;
    entry->pupil_ref = referral->pupil_ref;
    entry->component = referral->component;
    entry->training_code = referral->training_code;
    entry->state = referral->state;
    entry->urgency = referral->urgency;
    entry->days_waiting = (uint32_t)x.s.referrals[i].waiting_days;
    entry->priority_score = x.dispatch.built.unplaced_penalty[i];
    entry->wait = (Leerplek__V1__DispatchWait)wait_of(&x.explanations[i]);
    list[count++] = entry;
  }
  solved_free(&x);
  qsort(list, count, sizeof *list, by_priority);
  for (size_t i = 0; i < count; i++) list[i]->position = (uint32_t)(i + 1);
  reply->entries = list;
  reply->n_entries = count;
  return 0;
}
