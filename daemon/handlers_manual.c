/* handlers_manual: a coordinator's hand on the rematch. place_pupil proposes a pupil to a
 * vacancy by hand (judged by the rulebook, a rule set aside only with a written reason) and
 * pin_placement pins or unpins a PROPOSED placement so that the rematch keeps it as a fixed
 * pair. Each change is one MULTI/EXEC of the placement and the seat counters it moves. */
#include <stdio.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_rematch.h"
#include "lp_rules.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name

/* "rule 3 NONE_WITHIN_COMMUTE": the words the refusal and the CLI use for a failed rule. */
static const char *rule_name(eligibility_reason reason) {
  switch (reason) {
  case ELIGIBILITY_NO_RECOGNISED_VACANCY: return "rule 1 NO_RECOGNISED_VACANCY (training, recognition)";
  case ELIGIBILITY_READINESS_TOO_LOW: return "rule 2 READINESS_TOO_LOW";
  case ELIGIBILITY_NONE_WITHIN_COMMUTE: return "rule 3 NONE_WITHIN_COMMUTE";
  case ELIGIBILITY_NO_COMPATIBLE_DAYS: return "rule 4 NO_COMPATIBLE_DAYS";
  case ELIGIBILITY_ALL_EXCLUDED: return "rule 5 ALL_EXCLUDED (the company is excluded for the pupil)";
  case ELIGIBILITY_STARTS_TOO_LATE: return "rule 6 STARTS_TOO_LATE";
  case ELIGIBILITY_SEATS_TAKEN:
  case ELIGIBILITY_PLACED: break;
  }
  return "no rule";
}

/* A new manual proposal id, after the newest epoch and manual id any placement shows (a
 * rematch applied, or a pupil placed, by another daemon counts too). */
static uint64_t new_manual_id(const lp_ctx *ctx) {
  lp_rematch *rematch = lp_rematch_of(ctx->daemon);
  const Leerplek__V1__RematchResult *last = lp_rematch_last(rematch);
  uint64_t epoch = last ? last->epoch : 0, manual = 0;
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (placement->epoch > epoch) epoch = placement->epoch;
    if ((placement->proposal_id & LP_MANUAL_ID_BIT) && placement->proposal_id > manual) manual = placement->proposal_id;
  }
  return lp_rematch_manual_id(rematch, epoch, manual);
}

static Leerplek__V1__Vacancy *with_proposed_seats(lp_ctx *ctx, const Leerplek__V1__Vacancy *stored, int delta) {
  Leerplek__V1__Vacancy *vacancy = lp_clone(stored);
  long proposed = (long)vacancy->seats_proposed + delta;
  vacancy->seats_proposed = proposed < 0 ? 0 : (uint32_t)proposed;
  vacancy->revision++;
  vacancy->updated_unix_s = ctx->now;
  return vacancy;
}

int lp_handle_place_pupil(lp_ctx *ctx) {
  const Leerplek__V1__PlacePupilRequest *request = ctx->request->place_pupil;
  lp_daemon *daemon = ctx->daemon;
  char key[LP_MAX_KEY];
  if (!lp_check_id(ctx, request->vacancy_id, "place_pupil.vacancy_id") ||
      !lp_check_text(ctx, request->override_reason, "place_pupil.override_reason", 0, daemon->config.max_text_bytes,
                     true))
    return -1;
  const Leerplek__V1__Pupil *pupil = lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "place_pupil", key);
  if (!pupil) return -1;
  /* The rematch module keeps the proposal ids (there is one from the daemon's start). */
  if (!lp_rematch_of(daemon)) return lp_fail(ctx, CODE(UNAVAILABLE), "", "the rematch module is not running; retry");
  const Leerplek__V1__Vacancy *vacancy = lp_state_get(&daemon->state, LP_KIND_VACANCY, request->vacancy_id);
  if (!vacancy) return lp_fail(ctx, CODE(NOT_FOUND), "place_pupil.vacancy_id", "no vacancy %s", request->vacancy_id);
  const Leerplek__V1__Placement *stored = lp_state_get(&daemon->state, LP_KIND_PLACEMENT, key);
  if (!stored ||
      (stored->state != STATE(WAITING) && stored->state != STATE(DECLINED) && stored->state != STATE(PROPOSED)))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.pupil_ref",
                   "only a pupil whose placement request is WAITING, DECLINED or PROPOSED can be placed by hand%s",
                   stored ? "" : " (this one has no placement request: request_placement first)");
  bool moving = stored->state == STATE(PROPOSED) && stored->offer;
  if (moving && strcmp(stored->offer->vacancy_id, vacancy->id) == 0)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.vacancy_id",
                   "the pupil is already proposed to %s (pin_placement keeps it there)", vacancy->id);
  /* Neither is a rule of the rulebook one may set aside: a closed place takes nobody, and a
   * full one's seats belong to the pupils proposed or signed there. */
  if (vacancy->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.vacancy_id",
                   "vacancy %s is closed; an override does not open it", vacancy->id);
  if ((long)vacancy->seats - (long)vacancy->seats_filled - (long)vacancy->seats_proposed <= 0)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.vacancy_id",
                   "vacancy %s has no free seat (%u seats, %u proposed, %u accepted or signed); seats are not a rule "
                   "an override sets aside",
                   vacancy->id, vacancy->seats, vacancy->seats_proposed, vacancy->seats_filled);
  if (!pupil->home)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.pupil_ref", "the pupil has no home point");
  eligibility_reason failed = lp_rules_judge(&daemon->state, &daemon->config, pupil, vacancy);
  if (failed != ELIGIBILITY_PLACED && !request->override_reason[0])
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "place_pupil.vacancy_id",
                   "the rulebook refuses %s for vacancy %s: %s fails; give place_pupil.override_reason to place the "
                   "pupil all the same",
                   key, vacancy->id, rule_name(failed));

  Leerplek__V1__Placement *placement = lp_clone(stored);
  Leerplek__V1__Vacancy *target = with_proposed_seats(ctx, vacancy, +1), *left = NULL;
  if (moving) {
    const Leerplek__V1__Vacancy *old = lp_state_get(&daemon->state, LP_KIND_VACANCY, stored->offer->vacancy_id);
    if (old) left = with_proposed_seats(ctx, old, -1);
  }
  if (placement->offer) protobuf_c_message_free_unpacked(&placement->offer->base, NULL);
  if (placement->unplaced) protobuf_c_message_free_unpacked(&placement->unplaced->base, NULL);
  if (placement->manual) protobuf_c_message_free_unpacked(&placement->manual->base, NULL);
  placement->unplaced = NULL;
  const lp_state *state = &daemon->state;
  const Leerplek__V1__Location *location = lp_state_get(state, LP_KIND_LOCATION, vacancy->location_id);
  uint32_t distance = location && location->point
                          ? (uint32_t)eligibility_distance_m(pupil->home->lat_e6, pupil->home->lon_e6,
                                                             location->point->lat_e6, location->point->lon_e6)
                          : 0;
  placement->offer = lp_rematch_offer(state, vacancy, distance);
  placement->state = STATE(PROPOSED);
  placement->proposal_id = new_manual_id(ctx);
  placement->epoch = 0; /* no rematch made it */
  placement->school_accepted = placement->company_accepted = false;
  placement->proposed_unix_s = placement->updated_unix_s = ctx->now;
  placement->pinned = !request->unpinned;
  Leerplek__V1__ManualPlacementInfo *manual = lp_calloc(1, sizeof *manual);
  leerplek__v1__manual_placement_info__init(manual);
  char placed_by[LP_TOKEN_ID_SIZE + 16];
  snprintf(placed_by, sizeof placed_by, "coordinator:%s", ctx->who.token_id);
  manual->placed_by = lp_strdup(placed_by);
  manual->placed_unix_s = ctx->now;
  manual->overridden_rule = (Leerplek__V1__UnplacedReason)lp_rules_reason_proto(failed);
  manual->override_reason = lp_strdup(request->override_reason);
  placement->manual = manual;

  lp_change *change = lp_begin(ctx, "place_manual", LP_KIND_PLACEMENT, key);
  /* The history says which rule was set aside and why (the placement's `manual` keeps it too). */
  char event_reason[1200] = "";
  if (failed != ELIGIBILITY_PLACED)
    snprintf(event_reason, sizeof event_reason, "override of %s: %s", rule_name(failed), request->override_reason);
  lp_event_detail detail = {.reason = event_reason[0] ? event_reason : NULL};
  lp_change_detail(change, &detail);
  lp_change_put(change, LP_KIND_PLACEMENT, key, placement);
  lp_change_put(change, LP_KIND_VACANCY, target->id, target);
  if (left) lp_change_put(change, LP_KIND_VACANCY, left->id, left);
  char last_text[32];
  int last_length = snprintf(last_text, sizeof last_text, "%llu", (unsigned long long)placement->proposal_id);
  lp_txn_set_raw(lp_change_txn(change), LP_MANUAL_LAST_KEY, last_text, (size_t)last_length);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__PlacePupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__place_pupil_response__descriptor);
  reply->placement = placement;
  return 0;
}

int lp_handle_pin_placement(lp_ctx *ctx) {
  const Leerplek__V1__PinPlacementRequest *request = ctx->request->pin_placement;
  char key[LP_MAX_KEY];
  if (!lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "pin_placement", key)) return -1;
  const Leerplek__V1__Placement *stored = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  if (!stored)
    return lp_fail(ctx, CODE(NOT_FOUND), "pin_placement.pupil_ref", "pupil %s has no placement request", key);
  if (stored->state != STATE(PROPOSED))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "pin_placement.pupil_ref",
                   "only a PROPOSED placement can be pinned or unpinned (ACCEPTED and AGREEMENT are fixed anyway)");
  Leerplek__V1__PinPlacementResponse *reply = lp_reply_body(ctx, &leerplek__v1__pin_placement_response__descriptor);
  if (stored->pinned == request->pin) {
    reply->placement = (Leerplek__V1__Placement *)stored;
    return 0;
  }
  Leerplek__V1__Placement *placement = lp_clone(stored);
  placement->pinned = request->pin;
  placement->updated_unix_s = ctx->now;
  reply->placement = placement;
  return lp_store_record(ctx, request->pin ? "pin" : "unpin", LP_KIND_PLACEMENT, key, placement);
}
