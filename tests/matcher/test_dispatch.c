/* test_dispatch: referrals to support offers through the rulebook (DISPATCH in eligibility.h).
 * The pairs built are exactly those a plain reading of the rules allows (checked here pair by
 * pair), the optimum equals brute force on small random cases and is proven by the verifier,
 * the explanations hold, and capacity, days and distance behave at their boundaries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brute_force.h"
#include "check_util.h"
#include "eligibility.h"

#define HOME_LAT 51217000
#define HOME_LON 4421000

static eligibility_dispatch_referral referral_at(int32_t component, int32_t lat, int32_t lon) {
  eligibility_dispatch_referral referral = {0};
  referral.component = component;
  referral.readiness = READINESS_NOT_READY;
  referral.day_mask = 0x183;
  referral.lat_e6 = lat;
  referral.lon_e6 = lon;
  referral.max_commute_m = 10000;
  referral.fixed_offer = -1;
  return referral;
}

static eligibility_dispatch_offer offer_at(int32_t component, int32_t seats, int32_t lat, int32_t lon) {
  eligibility_dispatch_offer offer = {0};
  offer.component = component;
  offer.open = 1;
  offer.day_mask = 0x3fff;
  offer.seats = seats;
  offer.lat_e6 = lat;
  offer.lon_e6 = lon;
  return offer;
}

/* Solves, proves, explains; explanations may be NULL. Returns the solution (caller frees). */
static matcher_solution solve(const eligibility_dispatch_referral *referrals, int32_t n,
                              const eligibility_dispatch_offer *offers, int32_t m, eligibility_dispatch *dispatch,
                              eligibility_explanation *explanations, const char *context) {
  matcher_error error;
  cr_assert_eq(eligibility_dispatch_build(referrals, n, offers, m, NULL, dispatch, &error), MATCHER_OK, "%s: %s",
               context, error.message);
  matcher_solution solution;
  solve_and_verify(&dispatch->built.problem, NULL, &solution, context);
  if (explanations)
    cr_assert_eq(eligibility_explain(dispatch->pupils, n, dispatch->vacancies, m, &dispatch->weights, &dispatch->built,
                                     &solution, NULL, explanations, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
  return solution;
}

/* The rules read plainly, for a referral that is not fixed. */
static int may_take(const eligibility_dispatch_referral *referral, int32_t index,
                    const eligibility_dispatch_offer *offer) {
  if (offer->component != referral->component || !offer->open || offer->seats <= 0) return 0;
  int serves = offer->training_count == 0;
  for (int32_t t = 0; t < offer->training_count; t++) serves |= offer->trainings[t] == referral->training;
  if (!serves) return 0;
  for (int32_t d = 0; d < referral->declined_count; d++)
    if (referral->declined_offers[d] == index) return 0;
  if ((referral->day_mask & ~offer->day_mask) != 0) return 0;
  return eligibility_distance_m(referral->lat_e6, referral->lon_e6, offer->lat_e6, offer->lon_e6) <=
         referral->max_commute_m;
}

Test(dispatch, random_cases_agree_with_the_plain_rules_and_brute_force) {
  for (unsigned seed = 1; seed <= 300; seed++) {
    srand(seed);
    char context[32];
    snprintf(context, sizeof context, "seed %u", seed);
    int32_t n = 1 + rand() % 8, m = 1 + rand() % 4;
    eligibility_dispatch_offer offers[4];
    int32_t trainings[4][2];
    for (int32_t j = 0; j < m; j++) {
      offers[j] = offer_at(rand() % 2, rand() % 3, HOME_LAT + (rand() % 200 - 100) * 1000,
                           HOME_LON + (rand() % 200 - 100) * 1000);
      offers[j].open = rand() % 6 != 0;
      offers[j].day_mask = (uint16_t)(rand() % 2 ? 0x3fff : 0x183);
      offers[j].training_count = rand() % 3;
      trainings[j][0] = rand() % 3;
      trainings[j][1] = rand() % 3;
      offers[j].trainings = offers[j].training_count ? trainings[j] : NULL;
    }
    eligibility_dispatch_referral referrals[8];
    int32_t declined[8];
    int32_t held[4] = {0};
    for (int32_t i = 0; i < n; i++) {
      referrals[i] =
          referral_at(rand() % 2, HOME_LAT + (rand() % 100 - 50) * 1000, HOME_LON + (rand() % 100 - 50) * 1000);
      referrals[i].training = rand() % 3;
      referrals[i].readiness = (uint8_t)(rand() % 3);
      referrals[i].newcomer = rand() % 4 == 0;
      referrals[i].waiting_days = rand() % 40;
      referrals[i].max_commute_m = 2000 + rand() % 60000;
      referrals[i].day_mask = (uint16_t)(rand() % 3 ? 0x183 : 0x1);
      if (rand() % 4 == 0) {
        declined[i] = rand() % m;
        referrals[i].declined_offers = &declined[i];
        referrals[i].declined_count = 1;
      }
      /* Now and then one already holds a seat: a fixed pair within the seats. */
      int32_t j = rand() % m;
      if (rand() % 5 == 0 && held[j] < offers[j].seats && may_take(&referrals[i], j, &offers[j])) {
        referrals[i].fixed_offer = j;
        held[j]++;
      }
    }
    eligibility_dispatch dispatch;
    eligibility_explanation explanations[8];
    matcher_solution solution = solve(referrals, n, offers, m, &dispatch, explanations, context);
    const matcher_problem *problem = &dispatch.built.problem;
    for (int32_t i = 0; i < n; i++) {
      if (referrals[i].fixed_offer >= 0) {
        cr_assert_eq(solution.vacancy_of_pupil[i], referrals[i].fixed_offer, "%s: a held seat stays", context);
        continue;
      }
      for (int32_t j = 0; j < m; j++) {
        int built = 0;
        for (int64_t p = 0; p < problem->pair_count; p++)
          built |= problem->pairs[p].pupil == i && problem->pairs[p].vacancy == j;
        cr_assert_eq(built, may_take(&referrals[i], j, &offers[j]), "%s: referral %d, offer %d", context, i, j);
      }
    }
    int64_t best = 0;
    int32_t placed = 0;
    cr_assert(brute_force_solve(problem, &best, &placed, NULL), "%s", context);
    cr_assert_eq(solution.objective, best, "%s: brute force finds %lld, dispatch %lld", context, (long long)best,
                 (long long)solution.objective);
    cr_assert_eq(solution.placed, placed, "%s", context);
    matcher_solution_free(&solution);
    eligibility_dispatch_free(&dispatch);
  }
}

Test(dispatch, capacity_goes_by_the_priority_order) {
  /* Two seats, four referrals: a NOT_READY pupil before a READY one that waited longer, then
   * the priority group, then days waited. */
  eligibility_dispatch_offer offer = offer_at(1, 2, HOME_LAT, HOME_LON);
  eligibility_dispatch_referral referrals[4];
  for (int i = 0; i < 4; i++) referrals[i] = referral_at(1, HOME_LAT, HOME_LON);
  referrals[0].readiness = READINESS_READY, referrals[0].waiting_days = 300;
  referrals[1].waiting_days = 5;
  referrals[2].waiting_days = 6;
  referrals[3].waiting_days = 1, referrals[3].special_needs = 1;
  eligibility_dispatch dispatch;
  eligibility_explanation explanations[4];
  matcher_solution solution = solve(referrals, 4, &offer, 1, &dispatch, explanations, "capacity");
  cr_assert_eq(solution.placed, 2);
  cr_assert_eq(solution.vacancy_of_pupil[3], 0, "the priority group first");
  cr_assert_eq(solution.vacancy_of_pupil[2], 0, "then the longest wait");
  cr_assert_eq(solution.vacancy_of_pupil[1], MATCHER_UNPLACED);
  cr_assert_eq(solution.vacancy_of_pupil[0], MATCHER_UNPLACED, "a READY pupil after every NOT_READY one");
  cr_assert_eq(explanations[1].reason, ELIGIBILITY_SEATS_TAKEN);
  cr_assert_eq(explanations[1].stronger_claims, 2);
  matcher_solution_free(&solution);
  eligibility_dispatch_free(&dispatch);

  /* A third seat takes the ready pupil too; held seats count. */
  offer.seats = 3;
  referrals[1].fixed_offer = 0;
  solution = solve(referrals, 4, &offer, 1, &dispatch, NULL, "capacity 3, one held");
  cr_assert_eq(solution.placed, 3);
  cr_assert_eq(solution.vacancy_of_pupil[1], 0);
  cr_assert_eq(solution.vacancy_of_pupil[0], MATCHER_UNPLACED, "the held seat is not free");
  matcher_solution_free(&solution);
  eligibility_dispatch_free(&dispatch);
}

Test(dispatch, days_distance_component_and_training_at_their_boundaries) {
  eligibility_dispatch_offer offer = offer_at(2, 1, HOME_LAT + 30000, HOME_LON);
  offer.day_mask = 0x183;
  int32_t kok = 7;
  offer.trainings = &kok;
  offer.training_count = 1;
  eligibility_dispatch_referral referral = referral_at(2, HOME_LAT, HOME_LON);
  referral.training = 7;
  int32_t distance = eligibility_distance_m(HOME_LAT, HOME_LON, offer.lat_e6, offer.lon_e6);
  referral.max_commute_m = distance;
  static const struct {
    const char *what;
    int32_t commute_less, extra_day, component, training, declined;
    eligibility_reason reason;
  } cases[] = {
      {"all fit, commute exactly the distance", 0, 0, 2, 7, 0, ELIGIBILITY_PLACED},
      {"one metre short", 1, 0, 2, 7, 0, ELIGIBILITY_NONE_WITHIN_COMMUTE},
      {"one day more than the offer's", 0, 1, 2, 7, 0, ELIGIBILITY_NO_COMPATIBLE_DAYS},
      {"another component", 0, 0, 3, 7, 0, ELIGIBILITY_NO_RECOGNISED_VACANCY},
      {"a training it does not serve", 0, 0, 2, 8, 0, ELIGIBILITY_ALL_EXCLUDED},
      {"declined before", 0, 0, 2, 7, 1, ELIGIBILITY_ALL_EXCLUDED},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    eligibility_dispatch_referral probe = referral;
    probe.max_commute_m -= cases[c].commute_less;
    if (cases[c].extra_day) probe.day_mask |= 0x4; /* Wednesday A */
    probe.component = cases[c].component;
    probe.training = cases[c].training;
    int32_t zero = 0;
    if (cases[c].declined) probe.declined_offers = &zero, probe.declined_count = 1;
    eligibility_dispatch dispatch;
    eligibility_explanation explanation;
    matcher_solution solution = solve(&probe, 1, &offer, 1, &dispatch, &explanation, cases[c].what);
    cr_assert_eq(explanation.reason, cases[c].reason, "%s: reason %d", cases[c].what, explanation.reason);
    cr_assert_eq(solution.placed, cases[c].reason == ELIGIBILITY_PLACED, "%s", cases[c].what);
    matcher_solution_free(&solution);
    eligibility_dispatch_free(&dispatch);
  }
  /* An offer open to all serves every training. */
  offer.training_count = 0;
  offer.trainings = NULL;
  referral.training = 8;
  eligibility_dispatch dispatch;
  matcher_solution solution = solve(&referral, 1, &offer, 1, &dispatch, NULL, "open to all");
  cr_assert_eq(solution.placed, 1);
  matcher_solution_free(&solution);
  eligibility_dispatch_free(&dispatch);
}

Test(dispatch, bad_input_is_refused_by_name) {
  eligibility_dispatch_offer offer = offer_at(1, 1, HOME_LAT, HOME_LON);
  offer.training_count = 2;
  eligibility_dispatch_referral referral = referral_at(1, HOME_LAT, HOME_LON);
  eligibility_dispatch dispatch;
  matcher_error error;
  cr_assert_eq(eligibility_dispatch_build(&referral, 1, &offer, 1, NULL, &dispatch, &error), MATCHER_INVALID);
  cr_assert_not_null(strstr(error.message, "offer 0"), "%s", error.message);
  offer.training_count = 0;
  referral.fixed_offer = 3;
  cr_assert_eq(eligibility_dispatch_build(&referral, 1, &offer, 1, NULL, &dispatch, &error), MATCHER_INVALID);
  cr_assert_not_null(strstr(error.message, "pupil 0"), "%s", error.message);
  referral.fixed_offer = -1;
  referral.max_commute_m = -1;
  cr_assert_eq(eligibility_dispatch_build(&referral, 1, &offer, 1, NULL, &dispatch, &error), MATCHER_INVALID);
}
