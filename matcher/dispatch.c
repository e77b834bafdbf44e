/* dispatch.c: referrals and support offers as the rulebook's pupils and vacancies (see DISPATCH
 * in eligibility.h), so that dispatch is solved, proven and explained by eligibility_build,
 * matcher_solve, matcher_verify and eligibility_explain unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eligibility.h"

static int serves(const eligibility_dispatch_offer *offer, int32_t training) {
  if (offer->training_count == 0) return 1;
  for (int32_t t = 0; t < offer->training_count; t++)
    if (offer->trainings[t] == training) return 1;
  return 0;
}

/* MATCHER_INVALID with "<what> <index>: <why>" (index < 0: no item). */
static matcher_status refuse(matcher_error *error, const char *what, long index, const char *why) {
  if (error && index >= 0)
    snprintf(error->message, sizeof error->message, "%s %ld: %s", what, index, why);
  else if (error)
    snprintf(error->message, sizeof error->message, "%s: %s", what, why);
  return MATCHER_INVALID;
}

matcher_status eligibility_dispatch_build(const eligibility_dispatch_referral *referrals, int32_t referral_count,
                                          const eligibility_dispatch_offer *offers, int32_t offer_count,
                                          const eligibility_weights *weights, eligibility_dispatch *out,
                                          matcher_error *error) {
  memset(out, 0, sizeof *out);
  if (referral_count < 0 || offer_count < 0 || (referral_count > 0 && !referrals) || (offer_count > 0 && !offers))
    return refuse(error, "dispatch", -1, "negative counts or missing arrays");
  for (int32_t j = 0; j < offer_count; j++)
    if (offers[j].training_count < 0 || (offers[j].training_count > 0 && !offers[j].trainings))
      return refuse(error, "offer", (long)j, "training_count without a trainings array");
  /* Each referral excludes the offers of its component it may not take, so the exclusion
   * lists are at most offers per referral; count them first. */
  int64_t excluded_total = 0;
  for (int32_t i = 0; i < referral_count; i++) {
    const eligibility_dispatch_referral *referral = &referrals[i];
    if (referral->declined_count < 0 || (referral->declined_count > 0 && !referral->declined_offers))
      return refuse(error, "referral", (long)i, "declined_count without a declined_offers array");
    for (int32_t j = 0; j < offer_count; j++)
      if (offers[j].component == referral->component) excluded_total++;
  }
  out->weights = weights ? *weights : (eligibility_weights){0};
  if (!weights) eligibility_default_weights(&out->weights);
  out->weights.ready_on_preparatory = 1;
  out->pupils = calloc((size_t)(referral_count ? referral_count : 1), sizeof *out->pupils);
  out->vacancies = calloc((size_t)(offer_count ? offer_count : 1), sizeof *out->vacancies);
  out->excluded = calloc((size_t)(excluded_total ? excluded_total : 1), sizeof *out->excluded);
  if (!out->pupils || !out->vacancies || !out->excluded) {
    eligibility_dispatch_free(out);
    if (error) snprintf(error->message, sizeof error->message, "out of memory building the dispatch");
    return MATCHER_NO_MEMORY;
  }
  for (int32_t j = 0; j < offer_count; j++) {
    const eligibility_dispatch_offer *offer = &offers[j];
    eligibility_vacancy *vacancy = &out->vacancies[j];
    vacancy->training = offer->component;
    vacancy->company = j;
    vacancy->recognised = 1;
    vacancy->open = offer->open;
    vacancy->preparatory = 1;
    vacancy->min_readiness = READINESS_NOT_READY;
    vacancy->day_mask = offer->day_mask;
    vacancy->seats = offer->seats;
    vacancy->lat_e6 = offer->lat_e6;
    vacancy->lon_e6 = offer->lon_e6;
  }
  int32_t *next = out->excluded;
  for (int32_t i = 0; i < referral_count; i++) {
    const eligibility_dispatch_referral *referral = &referrals[i];
    eligibility_pupil *pupil = &out->pupils[i];
    pupil->training = referral->component;
    pupil->readiness = referral->readiness;
    pupil->newcomer = referral->newcomer;
    pupil->special_needs = referral->special_needs;
    pupil->day_mask = referral->day_mask;
    pupil->lat_e6 = referral->lat_e6;
    pupil->lon_e6 = referral->lon_e6;
    pupil->max_commute_m = referral->max_commute_m;
    pupil->waiting_days = referral->waiting_days;
    pupil->proposed_vacancy = -1;
    pupil->fixed_vacancy = referral->fixed_offer;
    pupil->excluded_companies = next;
    for (int32_t j = 0; j < offer_count; j++) {
      if (offers[j].component != referral->component) continue;
      int declined = 0;
      for (int32_t d = 0; d < referral->declined_count && !declined; d++) declined = referral->declined_offers[d] == j;
      if (declined || !serves(&offers[j], referral->training)) *next++ = j;
    }
    pupil->excluded_count = (int32_t)(next - pupil->excluded_companies);
  }
  matcher_status status =
      eligibility_build(out->pupils, referral_count, out->vacancies, offer_count, &out->weights, &out->built, error);
  if (status != MATCHER_OK) {
    /* eligibility_build names "pupil i" and "vacancy j": the same indices as referral and offer. */
    free(out->pupils);
    free(out->vacancies);
    free(out->excluded);
    memset(out, 0, sizeof *out);
  }
  return status;
}

void eligibility_dispatch_free(eligibility_dispatch *dispatch) {
  eligibility_problem_free(&dispatch->built);
  free(dispatch->pupils);
  free(dispatch->vacancies);
  free(dispatch->excluded);
  memset(dispatch, 0, sizeof *dispatch);
}
