/* lp_rules: stored records -> the rulebook's structs (see lp_rules.h). Everything that makes a
 * decision about a pupil and a vacancy is in matcher/eligibility.c; this file only copies. */
#include "lp_rules.h"

#include "lp_alloc.h"
#include "lp_support.h"

#include <stdlib.h>
#include <string.h>

/* proto: UNSPECIFIED 0, NOT_READY 1, PARTLY 2, READY 3; unspecified asks nothing. */
static uint8_t readiness_of(int proto_readiness) {
  return proto_readiness <= 1 ? READINESS_NOT_READY : (uint8_t)(proto_readiness - 1);
}

void lp_rules_lookups_free(lp_rules_lookups *lookups) {
  lp_map_key_index_free(&lookups->companies);
  lp_map_key_index_free(&lookups->locations);
  lp_map_key_index_free(&lookups->trainings);
}

/* The rank of key in the kind's map, through index when there is one. */
static long rank_of(const lp_state *state, lp_map_key_index *index, enum lp_kind kind, const char *key) {
  return index ? lp_map_key_index_find(index, &state->maps[kind], key) : lp_map_index(&state->maps[kind], key);
}

/* Unknown trainings get distinct negative indices for pupils and vacancies, so they never match. */
static int32_t training_index(const lp_state *state, lp_map_key_index *index, const char *code, int32_t unknown) {
  long rank = rank_of(state, index, LP_KIND_TRAINING, code);
  return rank >= 0 ? (int32_t)rank : unknown;
}

void lp_rules_vacancy(const lp_state *state, lp_rules_lookups *lookups, const Leerplek__V1__Vacancy *vacancy,
                      eligibility_vacancy *out) {
  long location_index = rank_of(state, lookups ? &lookups->locations : NULL, LP_KIND_LOCATION, vacancy->location_id);
  const Leerplek__V1__Location *location =
      location_index >= 0 ? state->maps[LP_KIND_LOCATION].entries[location_index].value : NULL;
  /* One search gives both the company's rank (eligibility's index) and its record. */
  long company_index = rank_of(state, lookups ? &lookups->companies : NULL, LP_KIND_COMPANY, vacancy->company_id);
  const Leerplek__V1__Company *company =
      company_index >= 0 ? state->maps[LP_KIND_COMPANY].entries[company_index].value : NULL;
  memset(out, 0, sizeof *out);
  out->training = training_index(state, lookups ? &lookups->trainings : NULL, vacancy->training_code, -3);
  out->company = (int32_t)company_index;
  for (size_t t = 0; company && t < company->n_recognised_training_codes; t++)
    if (strcmp(company->recognised_training_codes[t], vacancy->training_code) == 0) out->recognised = 1;
  out->open = vacancy->state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN && location && location->point;
  out->preparatory = vacancy->kind == LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_PREPARATORY;
  out->min_readiness = readiness_of(vacancy->min_readiness);
  out->day_mask = (uint16_t)(vacancy->day_mask & ELIGIBILITY_DAY_MASK_ALL);
  out->seats = (int32_t)(vacancy->seats > 1000000 ? 1000000 : vacancy->seats);
  if (location && location->point) out->lat_e6 = location->point->lat_e6, out->lon_e6 = location->point->lon_e6;
  out->start_day = lp_rules_day(vacancy->start_date);
}

int32_t lp_rules_day(const Leerplek__V1__Date *date) {
  return date ? eligibility_day_of(date->year, date->month, date->day) : 0;
}

int lp_rules_reason_proto(eligibility_reason reason) {
  switch (reason) {
  case ELIGIBILITY_PLACED: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_UNSPECIFIED;
  case ELIGIBILITY_NO_RECOGNISED_VACANCY: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_NO_RECOGNISED_VACANCY;
  case ELIGIBILITY_READINESS_TOO_LOW: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_READINESS_TOO_LOW;
  case ELIGIBILITY_NONE_WITHIN_COMMUTE: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_NONE_WITHIN_COMMUTE;
  case ELIGIBILITY_NO_COMPATIBLE_DAYS: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_NO_COMPATIBLE_DAYS;
  case ELIGIBILITY_ALL_EXCLUDED: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_ALL_EXCLUDED;
  case ELIGIBILITY_STARTS_TOO_LATE: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_STARTS_TOO_LATE;
  case ELIGIBILITY_SEATS_TAKEN: return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_SEATS_TAKEN;
  }
  return LEERPLEK__V1__UNPLACED_REASON__UNPLACED_REASON_UNSPECIFIED;
}

bool lp_rules_still_fits(const lp_state *state, const lp_config *config, const Leerplek__V1__Pupil *pupil,
                         const Leerplek__V1__Vacancy *vacancy, const Leerplek__V1__Placement *placement) {
  eligibility_reason reason = lp_rules_judge(state, config, pupil, vacancy);
  if (reason == ELIGIBILITY_PLACED) return true;
  /* A coordinator set this rule aside for this pair in writing: a change that leaves the same
   * rule failing does not undo the deal (another failing rule does). */
  return placement && placement->manual && placement->manual->overridden_rule != 0 &&
         (int)placement->manual->overridden_rule == lp_rules_reason_proto(reason);
}

size_t lp_rules_company_slots(const Leerplek__V1__Pupil *pupil) {
  return pupil->n_preferred_company_ids + pupil->n_excluded_company_ids + pupil->n_declined_company_ids;
}

int64_t lp_rules_waiting_since(const Leerplek__V1__Pupil *pupil, const Leerplek__V1__Placement *placement) {
  if (pupil->waiting_since_unix_s) return pupil->waiting_since_unix_s;
  return placement ? placement->requested_unix_s : 0;
}

void lp_rules_pupil(const lp_state *state, const Leerplek__V1__Pupil *pupil, const Leerplek__V1__Placement *placement,
                    int64_t now_unix_s, int32_t *company_slots, eligibility_pupil *out) {
  const lp_map *companies = &state->maps[LP_KIND_COMPANY];
  memset(out, 0, sizeof *out);
  out->training = training_index(state, NULL, pupil->training_code, -2);
  out->readiness = readiness_of(pupil->readiness);
  out->newcomer = pupil->newcomer_okan;
  out->special_needs = pupil->special_needs_buso;
  out->day_mask = (uint16_t)(pupil->day_mask & ELIGIBILITY_DAY_MASK_ALL);
  out->lat_e6 = pupil->home->lat_e6;
  out->lon_e6 = pupil->home->lon_e6;
  out->max_commute_m = (int32_t)(pupil->max_commute_m > 1000000 ? 1000000 : pupil->max_commute_m);
  out->waiting_days = eligibility_waiting_days(lp_rules_waiting_since(pupil, placement), now_unix_s);
  out->wanted_start_day = lp_rules_day(pupil->wanted_start_date);
  size_t used = 0;
  for (size_t c = 0; c < pupil->n_preferred_company_ids; c++) {
    long index = lp_map_index(companies, pupil->preferred_company_ids[c]);
    if (index >= 0) company_slots[used + (size_t)out->preferred_count++] = (int32_t)index;
  }
  out->preferred_companies = out->preferred_count ? company_slots : NULL;
  used += (size_t)out->preferred_count;
  for (size_t c = 0; c < pupil->n_excluded_company_ids + pupil->n_declined_company_ids; c++) {
    const char *id = c < pupil->n_excluded_company_ids ? pupil->excluded_company_ids[c]
                                                       : pupil->declined_company_ids[c - pupil->n_excluded_company_ids];
    long index = lp_map_index(companies, id);
    if (index >= 0) company_slots[used + (size_t)out->excluded_count++] = (int32_t)index;
  }
  out->excluded_companies = out->excluded_count ? company_slots + used : NULL;
  out->proposed_vacancy = -1;
  out->fixed_vacancy = -1;
}

int64_t lp_rules_priority_score(const lp_config *config, const Leerplek__V1__Pupil *pupil,
                                const Leerplek__V1__Placement *placement, int64_t now_unix_s) {
  eligibility_weights weights;
  eligibility_levels levels;
  lp_config_rule_weights(config, &weights);
  /* The configuration's limits are the rulebook's (lp_config_validate checks it at start). */
  if (eligibility_levels_of(&weights, &levels, NULL) != MATCHER_OK) return 0;
  eligibility_pupil judged;
  memset(&judged, 0, sizeof judged);
  judged.newcomer = pupil->newcomer_okan;
  judged.special_needs = pupil->special_needs_buso;
  judged.waiting_days = eligibility_waiting_days(lp_rules_waiting_since(pupil, placement), now_unix_s);
  return eligibility_unplaced_penalty(&judged, &levels);
}

eligibility_reason lp_rules_judge(const lp_state *state, const lp_config *config, const Leerplek__V1__Pupil *pupil,
                                  const Leerplek__V1__Vacancy *vacancy) {
  /* Without a home point no distance can be judged: as good as out of reach. */
  if (!pupil->home) return ELIGIBILITY_NONE_WITHIN_COMMUTE;
  size_t slots = lp_rules_company_slots(pupil);
  int32_t stack_slots[128];
  int32_t *company_slots = slots <= 128 ? stack_slots : lp_malloc(slots * sizeof *company_slots);
  eligibility_pupil judged_pupil;
  eligibility_vacancy judged_vacancy;
  eligibility_weights weights;
  lp_rules_pupil(state, pupil, NULL, 0, company_slots, &judged_pupil);
  lp_rules_vacancy(state, NULL, vacancy, &judged_vacancy);
  lp_config_rule_weights(config, &weights);
  eligibility_reason reason = eligibility_failed_rule(&judged_pupil, &judged_vacancy, &weights);
  if (company_slots != stack_slots) free(company_slots);
  return reason;
}

void lp_rules_dispatch_offer(const lp_state *state, const Leerplek__V1__SupportOffer *offer, int32_t *trainings,
                             eligibility_dispatch_offer *out) {
  memset(out, 0, sizeof *out);
  const Leerplek__V1__SupportOrganisation *organisation =
      lp_state_get(state, LP_KIND_SUPPORT_ORGANISATION, offer->organisation_id);
  const Leerplek__V1__SupportSite *site = organisation ? lp_support_site(organisation, offer->site_id) : NULL;
  out->component = offer->component;
  for (size_t t = 0; t < offer->n_training_codes; t++)
    trainings[out->training_count++] = training_index(state, NULL, offer->training_codes[t], -3);
  out->trainings = out->training_count ? trainings : NULL;
  out->open = site && site->point;
  out->day_mask = (uint16_t)(offer->day_mask & ELIGIBILITY_DAY_MASK_ALL);
  out->seats = (int32_t)(offer->seats > 1000000 ? 1000000 : offer->seats);
  if (out->open) out->lat_e6 = site->point->lat_e6, out->lon_e6 = site->point->lon_e6;
}

void lp_rules_dispatch_referral(const lp_state *state, const Leerplek__V1__Referral *referral,
                                const Leerplek__V1__Pupil *pupil, int64_t now_unix_s, int32_t *declined,
                                eligibility_dispatch_referral *out) {
  const lp_map *offers = &state->maps[LP_KIND_SUPPORT_OFFER];
  memset(out, 0, sizeof *out);
  out->component = referral->component;
  out->training = training_index(state, NULL, pupil->training_code, -2);
  out->readiness = readiness_of(pupil->readiness);
  out->newcomer = pupil->newcomer_okan;
  out->special_needs = pupil->special_needs_buso;
  out->day_mask = (uint16_t)(pupil->day_mask & ELIGIBILITY_DAY_MASK_ALL);
  out->lat_e6 = pupil->home->lat_e6;
  out->lon_e6 = pupil->home->lon_e6;
  out->max_commute_m = (int32_t)(pupil->max_commute_m > 1000000 ? 1000000 : pupil->max_commute_m);
  out->waiting_days = eligibility_waiting_days(referral->requested_unix_s, now_unix_s);
  for (size_t d = 0; d < referral->n_declined_offer_ids; d++) {
    long index = lp_map_index(offers, referral->declined_offer_ids[d]);
    if (index >= 0) declined[out->declined_count++] = (int32_t)index;
  }
  out->declined_offers = out->declined_count ? declined : NULL;
  out->fixed_offer = lp_referral_holds_seat(referral->state) ? (int32_t)lp_map_index(offers, referral->offer_id) : -1;
}
