/* handlers_proposals: what happens to a proposal once a rematch has made it: the company's
 * restricted view (list_proposals), accept and decline on either side, the signed agreement.
 * Each change rewrites the placement, the vacancy's seat counters and (for declines) the
 * pupil's declined companies in one MULTI/EXEC. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_deadlines.h"
#include "lp_handlers.h"
#include "lp_rematch.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define SIDE(name) LEERPLEK__V1__SIDE__SIDE_##name

static bool has_proposal(const Leerplek__V1__Placement *placement) {
  return placement->proposal_id != 0 && placement->offer &&
         (placement->state == STATE(PROPOSED) || placement->state == STATE(ACCEPTED) ||
          placement->state == STATE(AGREEMENT));
}

static bool may_see(const lp_ctx *ctx, const Leerplek__V1__Placement *placement) {
  if (lp_is_school(ctx)) return strcmp(placement->school_id, ctx->who.scope_id) == 0;
  if (lp_is_company(ctx)) return strcmp(placement->offer->company_id, ctx->who.scope_id) == 0;
  return lp_is_coordinator(ctx);
}

/* The placement holding proposal id, if the token may act on it; fills key.
 *
 * A rematch of epoch E numbers its proposals (E << 24) | n, n from 1 (place_pupil's have their
 * own range: lp_rematch_issued), and a proposal that moved,
 * was declined, released or withdrawn leaves no trace of its id. So an id that no placement
 * holds is FAILED_PRECONDITION ("no longer current", as the proto promises) when a rematch so
 * far could have issued it, NOT_FOUND otherwise. A current proposal outside the token's scope
 * gets the same FAILED_PRECONDITION as a stale one: the answer depends only on the id and the
 * epoch, which every placement shows, so it tells nothing about other schools or companies. */
Leerplek__V1__Placement *lp_find_proposal(lp_ctx *ctx, uint64_t id, const char *field, char key[LP_MAX_KEY]) {
  if (id == 0) {
    lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s is required", field);
    return NULL;
  }
  const lp_rematch *rematch = lp_rematch_of(ctx->daemon);
  const Leerplek__V1__RematchResult *last = rematch ? lp_rematch_last(rematch) : NULL;
  uint64_t epoch = last ? last->epoch : 0;
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  for (size_t i = 0; i < placements->count; i++) {
    Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (placement->epoch > epoch) epoch = placement->epoch; /* a rematch applied by another daemon */
    if (placement->proposal_id == id && has_proposal(placement) && may_see(ctx, placement)) {
      snprintf(key, LP_MAX_KEY, "%s", placements->entries[i].key);
      return placement;
    }
  }
  if (lp_rematch_issued(rematch, id, epoch))
    lp_fail(ctx, CODE(FAILED_PRECONDITION), field,
            "proposal %llu is not current (moved, declined, released or withdrawn): re-read the placement and act "
            "on its current proposal",
            (unsigned long long)id);
  else
    lp_fail(ctx, CODE(NOT_FOUND), field, "no proposal %llu", (unsigned long long)id);
  return NULL;
}

/* The side the token acts for: its own, or for coordinators the one named. */
static int resolve_side(lp_ctx *ctx, int requested, const char *field) {
  int own = lp_is_school(ctx) ? SIDE(SCHOOL) : lp_is_company(ctx) ? SIDE(COMPANY) : 0;
  if (requested != 0 && requested != SIDE(SCHOOL) && requested != SIDE(COMPANY))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s must be SCHOOL or COMPANY", field), -1;
  if (own == 0) {
    if (requested == 0) return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "a coordinator must name the side"), -1;
    return requested;
  }
  if (requested != 0 && requested != own)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), field, "this token may act only for its own side"), -1;
  return own;
}

/* A copy of the vacancy with its seat counters moved. */
static Leerplek__V1__Vacancy *vacancy_with_seats(lp_ctx *ctx, const Leerplek__V1__Vacancy *stored, int proposed_delta,
                                                 int filled_delta) {
  Leerplek__V1__Vacancy *vacancy = lp_clone(stored);
  long proposed = (long)vacancy->seats_proposed + proposed_delta, filled = (long)vacancy->seats_filled + filled_delta;
  vacancy->seats_proposed = proposed < 0 ? 0 : (uint32_t)proposed;
  vacancy->seats_filled = filled < 0 ? 0 : (uint32_t)filled;
  vacancy->revision++;
  vacancy->updated_unix_s = ctx->now;
  return vacancy;
}

Leerplek__V1__Vacancy *lp_vacancy_releasing(lp_ctx *ctx, const Leerplek__V1__Placement *placement, bool *holds) {
  *holds = false;
  if (!has_proposal(placement)) return NULL;
  const Leerplek__V1__Vacancy *stored =
      lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, placement->offer->vacancy_id);
  if (!stored) return NULL;
  *holds = true;
  bool proposed = placement->state == STATE(PROPOSED);
  return vacancy_with_seats(ctx, stored, proposed ? -1 : 0, proposed ? 0 : -1);
}

int lp_commit_placement(lp_ctx *ctx, const char *op, const char *key, Leerplek__V1__Placement *placement,
                        Leerplek__V1__Vacancy *vacancy, Leerplek__V1__Pupil *pupil, const lp_event_detail *detail) {
  lp_change *change = lp_begin(ctx, op, LP_KIND_PLACEMENT, key);
  lp_change_detail(change, detail);
  lp_change_put(change, LP_KIND_PLACEMENT, key, placement);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  if (pupil) lp_change_put(change, LP_KIND_PUPIL, key, pupil);
  return lp_commit(ctx, change);
}

int lp_handle_accept_proposal(lp_ctx *ctx) {
  const Leerplek__V1__AcceptProposalRequest *request = ctx->request->accept_proposal;
  char key[LP_MAX_KEY];
  int side = resolve_side(ctx, request->side, "accept_proposal.side");
  if (side < 0) return -1;
  const Leerplek__V1__Placement *stored =
      lp_find_proposal(ctx, request->proposal_id, "accept_proposal.proposal_id", key);
  if (!stored) return -1;
  Leerplek__V1__AcceptProposalResponse *reply = lp_reply_body(ctx, &leerplek__v1__accept_proposal_response__descriptor);
  bool already = side == SIDE(SCHOOL) ? stored->school_accepted : stored->company_accepted;
  if (already || stored->state != STATE(PROPOSED)) {
    /* Accepting twice is a no-op (also once ACCEPTED or AGREEMENT). */
    reply->state = stored->state;
    reply->school_accepted = stored->school_accepted;
    reply->company_accepted = stored->company_accepted;
    return 0;
  }
  Leerplek__V1__Placement *placement = lp_clone(stored);
  Leerplek__V1__Vacancy *vacancy = NULL;
  if (side == SIDE(SCHOOL))
    placement->school_accepted = true;
  else
    placement->company_accepted = true;
  placement->updated_unix_s = ctx->now;
  if (placement->school_accepted && placement->company_accepted) {
    placement->state = STATE(ACCEPTED);
    placement->answer_by_unix_s = 0; /* both said yes: the deadline no longer applies */
    placement->pinned = false;       /* fixed now anyway */
    const Leerplek__V1__Vacancy *stored_vacancy =
        lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, placement->offer->vacancy_id);
    if (stored_vacancy) vacancy = vacancy_with_seats(ctx, stored_vacancy, -1, +1);
  }
  reply->state = placement->state;
  reply->school_accepted = placement->school_accepted;
  reply->company_accepted = placement->company_accepted;
  lp_event_detail detail = {.side = side, .proposal_id = request->proposal_id};
  return lp_commit_placement(ctx, "accept", key, placement, vacancy, NULL, &detail);
}

int lp_handle_decline_proposal(lp_ctx *ctx) {
  const Leerplek__V1__DeclineProposalRequest *request = ctx->request->decline_proposal;
  char key[LP_MAX_KEY];
  int side = resolve_side(ctx, request->side, "decline_proposal.side");
  if (side < 0) return -1;
  if (!lp_check_text(ctx, request->reason, "decline_proposal.reason", 0, ctx->daemon->config.max_text_bytes, true))
    return -1;
  const Leerplek__V1__Placement *stored =
      lp_find_proposal(ctx, request->proposal_id, "decline_proposal.proposal_id", key);
  if (!stored) return -1;
  if (stored->state == STATE(AGREEMENT))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "decline_proposal.proposal_id",
                   "the agreement is signed; withdraw the placement to end it");
  char company[LP_SCOPE_SIZE], vacancy_id[LP_MAX_KEY];
  snprintf(company, sizeof company, "%s", stored->offer->company_id);
  snprintf(vacancy_id, sizeof vacancy_id, "%s", stored->offer->vacancy_id);
  bool was_accepted = stored->state == STATE(ACCEPTED);
  const Leerplek__V1__Pupil *stored_pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, key);
  const Leerplek__V1__Vacancy *stored_vacancy = lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, vacancy_id);

  Leerplek__V1__Placement *placement = lp_clone(stored);
  Leerplek__V1__DeclineInfo *decline = lp_calloc(1, sizeof *decline);
  Leerplek__V1__Pupil *pupil = stored_pupil ? lp_clone(stored_pupil) : NULL;
  Leerplek__V1__Vacancy *vacancy =
      stored_vacancy ? vacancy_with_seats(ctx, stored_vacancy, was_accepted ? 0 : -1, was_accepted ? -1 : 0) : NULL;
  leerplek__v1__decline_info__init(decline);
  decline->company_id = lp_strdup(company);
  decline->vacancy_id = lp_strdup(vacancy_id);
  decline->reason = lp_strdup(request->reason);
  decline->side = (Leerplek__V1__Side)side;
  decline->declined_unix_s = ctx->now;
  if (placement->last_decline) protobuf_c_message_free_unpacked(&placement->last_decline->base, NULL);
  placement->last_decline = decline;
  protobuf_c_message_free_unpacked(&placement->offer->base, NULL);
  placement->offer = NULL;
  placement->state = STATE(DECLINED);
  placement->proposal_id = 0;
  placement->answer_by_unix_s = placement->reminded_unix_s = 0;
  lp_placement_end_manual(placement);
  placement->school_accepted = placement->company_accepted = false;
  placement->epoch = 0;
  placement->proposed_unix_s = 0;
  placement->updated_unix_s = ctx->now;
  if (pupil) {
    bool listed = false;
    for (size_t i = 0; i < pupil->n_declined_company_ids; i++)
      listed |= strcmp(pupil->declined_company_ids[i], company) == 0;
    if (!listed) {
      pupil->declined_company_ids = lp_realloc(pupil->declined_company_ids, (pupil->n_declined_company_ids + 1) *
                                                                                sizeof *pupil->declined_company_ids);
      pupil->declined_company_ids[pupil->n_declined_company_ids++] = lp_strdup(company);
    }
    pupil->revision++;
    pupil->updated_unix_s = ctx->now;
  }
  /* The side, reason and declined vacancy come from last_decline (lp_store.h). */
  lp_event_detail detail = {.proposal_id = request->proposal_id};
  if (lp_commit_placement(ctx, "decline", key, placement, vacancy, pupil, &detail) != 0) return -1;
  Leerplek__V1__DeclineProposalResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__decline_proposal_response__descriptor);
  reply->state = STATE(DECLINED);
  reply->excluded_company_id = lp_scratch_strdup(ctx, company);
  return 0;
}

int lp_handle_record_agreement(lp_ctx *ctx) {
  const Leerplek__V1__RecordAgreementRequest *request = ctx->request->record_agreement;
  const Leerplek__V1__AgreementInfo *agreement = request->agreement;
  if (!agreement)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "record_agreement.agreement", "record_agreement.agreement is required");
  if (!lp_check_text(ctx, agreement->agreement_ref, "record_agreement.agreement.agreement_ref", 1,
                     ctx->daemon->config.max_short_text_bytes, false) ||
      !lp_check_date(ctx, agreement->signed_on, "record_agreement.agreement.signed_on") ||
      !lp_check_date(ctx, agreement->starts_on, "record_agreement.agreement.starts_on") ||
      (agreement->ends_on && !lp_check_date(ctx, agreement->ends_on, "record_agreement.agreement.ends_on")))
    return -1;
  if (agreement->ends_on && lp_date_number(agreement->ends_on) <= lp_date_number(agreement->starts_on))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "record_agreement.agreement.ends_on",
                   "record_agreement.agreement.ends_on must be after starts_on");
  char key[LP_MAX_KEY];
  const Leerplek__V1__Placement *stored =
      lp_find_proposal(ctx, request->proposal_id, "record_agreement.proposal_id", key);
  if (!stored) return -1;
  if (stored->state != STATE(ACCEPTED))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "record_agreement.proposal_id",
                   "an agreement can be recorded only once both sides accepted (the placement is not ACCEPTED)");
  Leerplek__V1__Placement *placement = lp_clone(stored);
  Leerplek__V1__AgreementInfo *stored_agreement = lp_clone(agreement);
  stored_agreement->recorded_unix_s = ctx->now;
  /* The end is the daemon's to record (end_agreement or the sweep), not the caller's. */
  if (stored_agreement->ended_on) protobuf_c_message_free_unpacked(&stored_agreement->ended_on->base, NULL);
  stored_agreement->ended_on = NULL;
  lp_set_string(&stored_agreement->end_reason, "");
  stored_agreement->ended_unix_s = 0;
  stored_agreement->end_cause = 0;
  if (placement->agreement) protobuf_c_message_free_unpacked(&placement->agreement->base, NULL);
  placement->agreement = stored_agreement;
  placement->state = STATE(AGREEMENT);
  placement->updated_unix_s = ctx->now;
  if (lp_commit_placement(ctx, "agreement", key, placement, NULL, NULL, NULL) != 0) return -1;
  lp_deadlines_agreement(ctx->daemon, placement->agreement->ends_on);
  Leerplek__V1__RecordAgreementResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__record_agreement_response__descriptor);
  reply->state = STATE(AGREEMENT);
  reply->agreement = placement->agreement;
  return 0;
}

int lp_distance_band(uint32_t metres) {
  if (metres <= 5000) return LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_5_KM;
  if (metres <= 10000) return LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_10_KM;
  if (metres <= 20000) return LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_20_KM;
  if (metres <= 40000) return LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_UP_TO_40_KM;
  return LEERPLEK__V1__DISTANCE_BAND__DISTANCE_BAND_OVER_40_KM;
}

static int by_proposal_id(const void *a, const void *b) {
  uint64_t x = (*(Leerplek__V1__Placement *const *)a)->proposal_id,
           y = (*(Leerplek__V1__Placement *const *)b)->proposal_id;
  return x < y ? -1 : x > y;
}

int lp_handle_list_proposals(lp_ctx *ctx) {
  const Leerplek__V1__ListProposalsRequest *request = ctx->request->list_proposals;
  const char *company = request->company_id;
  if (company[0] && !lp_check_company_id(ctx, company, "list_proposals.company_id")) return -1;
  if (lp_is_company(ctx)) {
    if (company[0] && strcmp(company, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_proposals.company_id",
                     "a company token may list only its own proposals");
    company = ctx->who.scope_id;
  }
  if (request->vacancy_id[0] && !lp_check_id(ctx, request->vacancy_id, "list_proposals.vacancy_id")) return -1;
  int state = request->state;
  if (state != 0 && state != STATE(PROPOSED) && state != STATE(ACCEPTED) && state != STATE(AGREEMENT))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "list_proposals.state",
                   "list_proposals.state must be PROPOSED, ACCEPTED or AGREEMENT");
  /* Ordered by proposal id: the token's key is the last id returned, in decimal. */
  char after_key[LP_MAX_KEY];
  if (!lp_page_token_read(ctx, "list_proposals", &request->base, request->page_token, after_key)) return -1;
  uint64_t after = after_key[0] ? strtoull(after_key, NULL, 10) : 0;
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  Leerplek__V1__Placement **matching = lp_scratch(ctx, placements->count * sizeof *matching);
  size_t count = 0;
  for (size_t i = 0; i < placements->count; i++) {
    Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (!has_proposal(placement)) continue;
    if (company[0] && strcmp(placement->offer->company_id, company) != 0) continue;
    if (request->vacancy_id[0] && strcmp(placement->offer->vacancy_id, request->vacancy_id) != 0) continue;
    if (state != 0 && (int)placement->state != state) continue;
    matching[count++] = placement;
  }
  if (count > 1) qsort(matching, count, sizeof *matching, by_proposal_id);
  uint32_t limit = lp_page_size(ctx, request->page_size);
  Leerplek__V1__ListProposalsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_proposals_response__descriptor);
  Leerplek__V1__CompanyProposal **items = lp_scratch(ctx, (size_t)limit * sizeof *items);
  reply->proposals = items;
  reply->total_size = (uint32_t)count;
  reply->next_page_token = (char *)"";
  for (size_t i = 0; i < count; i++) {
    const Leerplek__V1__Placement *placement = matching[i];
    if (placement->proposal_id <= after) continue;
    if (reply->n_proposals == limit) {
      char last[32];
      snprintf(last, sizeof last, "%llu", (unsigned long long)items[limit - 1]->proposal_id);
      reply->next_page_token = lp_page_token_make(ctx, "list_proposals", &request->base, last);
      break;
    }
    char key[LP_MAX_KEY];
    lp_pupil_key(placement->school_id, placement->pupil_ref, key);
    const Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, key);
    Leerplek__V1__CompanyProposal *item = lp_scratch(ctx, sizeof *item);
    /* Only what the company needs: never the home point, the school, priorities or notes. */
    leerplek__v1__company_proposal__init(item);
    item->proposal_id = placement->proposal_id;
    item->vacancy_id = placement->offer->vacancy_id;
    item->location_id = placement->offer->location_id;
    item->pupil_ref = placement->pupil_ref;
    item->training_code = placement->training_code;
    item->readiness = pupil ? pupil->readiness : 0;
    item->day_mask = pupil ? pupil->day_mask : 0;
    item->distance_band = (Leerplek__V1__DistanceBand)lp_distance_band(placement->offer->distance_m);
    item->state = placement->state;
    item->company_accepted = placement->company_accepted;
    item->school_accepted = placement->school_accepted;
    item->epoch = placement->epoch;
    item->proposed_unix_s = placement->proposed_unix_s;
    item->agreement = placement->agreement;
    item->answer_by_unix_s = placement->answer_by_unix_s;
    items[reply->n_proposals++] = item;
  }
  return 0;
}

/* ---- releasing proposals that no longer fit -------------------------------------------- */

void lp_release_add(lp_ctx *ctx, lp_releases *releases, const char *key, const Leerplek__V1__Placement *stored) {
  releases->items = lp_realloc(releases->items, (releases->count + 1) * sizeof *releases->items);
  Leerplek__V1__Placement *placement = lp_clone(stored);
  /* Back on the waiting list, as if the rematch had not proposed it. */
  placement->state = STATE(WAITING);
  placement->proposal_id = 0;
  lp_placement_end_manual(placement);
  if (placement->offer) protobuf_c_message_free_unpacked(&placement->offer->base, NULL);
  placement->offer = NULL;
  placement->school_accepted = placement->company_accepted = false;
  placement->epoch = 0;
  placement->proposed_unix_s = 0;
  placement->answer_by_unix_s = placement->reminded_unix_s = 0;
  placement->updated_unix_s = ctx->now;
  lp_release *release = &releases->items[releases->count++];
  memset(release, 0, sizeof *release);
  snprintf(release->key, sizeof release->key, "%s", key);
  release->placement = placement;
  if (stored->offer) {
    snprintf(release->vacancy_id, sizeof release->vacancy_id, "%s", stored->offer->vacancy_id);
    snprintf(release->company_id, sizeof release->company_id, "%s", stored->offer->company_id);
  }
  release->proposal_id = stored->proposal_id;
  release->old_state = (int)stored->state;
}

void lp_releases_move(lp_releases *releases, lp_change *change) {
  for (size_t i = 0; i < releases->count; i++) {
    const lp_release *release = &releases->items[i];
    /* Its own event: the pupil's history shows the release, and other daemons re-read it. */
    lp_change_event(change, "release", LP_KIND_PLACEMENT, release->key);
    lp_event_detail detail = {.vacancy_id = release->vacancy_id,
                              .company_id = release->company_id,
                              .proposal_id = release->proposal_id,
                              .old_state = release->old_state};
    lp_change_detail(change, &detail);
    lp_change_put(change, LP_KIND_PLACEMENT, release->key, release->placement);
  }
  free(releases->items);
  releases->items = NULL;
  releases->count = 0;
}

void lp_releases_free(lp_releases *releases) {
  for (size_t i = 0; i < releases->count; i++)
    protobuf_c_message_free_unpacked(&releases->items[i].placement->base, NULL);
  free(releases->items);
  releases->items = NULL;
  releases->count = 0;
}
