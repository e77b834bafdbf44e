/* test_rulebook.c: the priority order of matcher/eligibility.h holds exactly.
 *
 * One test per level on hand-built cases, each on both sides of its boundary (the stronger
 * claim wins against the largest pair-cost difference the weights allow; one step less and the
 * cost decides). Then random instances (random flags, days waited, readiness, day masks,
 * preparatory places, proposals, agreements): after every solve, checked here independently
 * of eligibility_explain, no waiting pupil is eligible for a free seat or for a seat that a
 * non-fixed pupil with a weaker claim holds, and no NOT_READY pupil waits beside a
 * preparatory seat held by a PARTLY or READY pupil; on small ones brute force finds the same
 * optimum, and its optimum keeps the rules too. Last, every checked hint, made (its vacancy
 * added, the whole problem rebuilt and solved cold), places its pupil, and one seat fewer
 * does not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "brute_force.h"
#include "check_util.h"
#include "eligibility.h"

#define ANTWERP_LAT 51217200
#define ANTWERP_LON 4421000
#define ALL_DAYS ELIGIBILITY_DAY_MASK_ALL
#define MON_TUE 0x183

static eligibility_pupil pupil_at(int32_t lat_e6, int32_t lon_e6, int32_t commute_m, uint8_t readiness) {
  eligibility_pupil pupil;
  memset(&pupil, 0, sizeof pupil);
  pupil.training = 1;
  pupil.readiness = readiness;
  pupil.day_mask = MON_TUE;
  pupil.lat_e6 = lat_e6;
  pupil.lon_e6 = lon_e6;
  pupil.max_commute_m = commute_m;
  pupil.proposed_vacancy = -1;
  pupil.fixed_vacancy = -1;
  return pupil;
}

static eligibility_vacancy vacancy_at(int32_t lat_e6, int32_t lon_e6, int32_t seats, uint8_t preparatory) {
  eligibility_vacancy vacancy;
  memset(&vacancy, 0, sizeof vacancy);
  vacancy.training = 1;
  vacancy.company = 1;
  vacancy.recognised = 1;
  vacancy.open = 1;
  vacancy.preparatory = preparatory;
  vacancy.min_readiness = READINESS_NOT_READY;
  vacancy.day_mask = ALL_DAYS;
  vacancy.seats = seats;
  vacancy.lat_e6 = lat_e6;
  vacancy.lon_e6 = lon_e6;
  return vacancy;
}

/* Builds, solves, verifies; vacancy_of_pupil[i] afterwards. */
static void solve_rulebook(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                           int32_t vacancy_count, const eligibility_weights *weights, int32_t *vacancy_of_pupil,
                           const char *context) {
  eligibility_problem problem;
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_build(pupils, pupil_count, vacancies, vacancy_count, weights, &problem, &error), MATCHER_OK,
               "%s: %s", context, error.message);
  matcher_solution solution;
  solve_and_verify(&problem.problem, NULL, &solution, context);
  memcpy(vacancy_of_pupil, solution.vacancy_of_pupil, sizeof *vacancy_of_pupil * (size_t)pupil_count);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);
}

/* 199 km due north: the largest commute cost a pair can have below the 200 km cap. */
#define FAR_NORTH (ANTWERP_LAT + 1789000)

/* ------------------------------------------------------------------------------------------- */

Test(rulebook, level_1_not_ready_pupil_first_on_a_preparatory_seat) {
  eligibility_vacancy seat = vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 1);
  /* P: NOT_READY, no flag, waited 0 days, far. Q: READY, BuSO and OKAN, waited ten years, at
   * the seat: every lower level favours Q, and P still wins. */
  eligibility_pupil pupils[2] = {pupil_at(FAR_NORTH, ANTWERP_LON, 200000, READINESS_NOT_READY),
                                 pupil_at(ANTWERP_LAT, ANTWERP_LON, 200000, READINESS_READY)};
  pupils[1].special_needs = pupils[1].newcomer = 1;
  pupils[1].waiting_days = ELIGIBILITY_WAITING_DAYS_MAX;
  int32_t at[2];
  solve_rulebook(pupils, 2, &seat, 1, NULL, at, "level 1");
  cr_expect_eq(at[0], 0, "the not-ready pupil takes the preparatory seat");
  cr_expect_eq(at[1], MATCHER_UNPLACED);

  /* The other side: no not-ready pupil wants it, so the ready pupil uses the leftover seat... */
  solve_rulebook(&pupils[1], 1, &seat, 1, NULL, at, "leftover");
  cr_expect_eq(at[0], 0, "a leftover preparatory seat goes to a ready pupil by default");
  /* ...unless the settings keep preparatory seats for not-ready pupils only. */
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.ready_on_preparatory = 0;
  cr_expect_eq(eligibility_failed_rule(&pupils[1], &seat, &weights), ELIGIBILITY_READINESS_TOO_LOW);
  solve_rulebook(&pupils[1], 1, &seat, 1, &weights, at, "kept for not ready");
  cr_expect_eq(at[0], MATCHER_UNPLACED);

  /* Two not-ready pupils: level 1 is equal, level 2 decides. */
  eligibility_pupil both[2] = {pupil_at(ANTWERP_LAT, ANTWERP_LON, 5000, READINESS_NOT_READY),
                               pupil_at(FAR_NORTH, ANTWERP_LON, 200000, READINESS_NOT_READY)};
  both[1].newcomer = 1;
  solve_rulebook(both, 2, &seat, 1, NULL, at, "two not ready");
  cr_expect_eq(at[1], 0, "the OKAN pupil, though far");
  cr_expect_eq(at[0], MATCHER_UNPLACED);
}

Test(rulebook, level_2_priority_group_before_days_waited) {
  eligibility_vacancy seat = vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 0);
  eligibility_pupil pupils[2] = {pupil_at(FAR_NORTH, ANTWERP_LON, 200000, READINESS_READY),
                                 pupil_at(ANTWERP_LAT, ANTWERP_LON, 200000, READINESS_READY)};
  pupils[0].special_needs = 1; /* BuSO, waited 0 days, 199 km */
  pupils[1].waiting_days = ELIGIBILITY_WAITING_DAYS_MAX;
  int32_t at[2];
  solve_rulebook(pupils, 2, &seat, 1, NULL, at, "BuSO against ten years");
  cr_expect_eq(at[0], 0);
  pupils[0].special_needs = 0;
  pupils[0].newcomer = 1;
  solve_rulebook(pupils, 2, &seat, 1, NULL, at, "OKAN against ten years");
  cr_expect_eq(at[0], 0);
  /* The other side: both in the group (one flag or two count the same): days decide. */
  pupils[1].special_needs = pupils[1].newcomer = 1;
  solve_rulebook(pupils, 2, &seat, 1, NULL, at, "both in the group");
  cr_expect_eq(at[1], 0, "the one who waited longer");
  pupils[1].waiting_days = 0;
  solve_rulebook(pupils, 2, &seat, 1, NULL, at, "group and days equal");
  cr_expect_eq(at[1], 0, "equal claims: the nearer one");
}

Test(rulebook, level_3_one_day_more_beats_any_pair_cost) {
  /* P waited one day more and has the most expensive pair the weights allow: 199 km, a
   * company outside its preferences, leaving its current proposal. Q sits at the seat. */
  static const int32_t preferred[] = {7};
  eligibility_vacancy vacancies[2] = {vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 0),
                                      vacancy_at(FAR_NORTH, ANTWERP_LON, 0, 0)};
  eligibility_pupil pupils[2] = {pupil_at(FAR_NORTH, ANTWERP_LON, 200000, READINESS_READY),
                                 pupil_at(ANTWERP_LAT, ANTWERP_LON, 200000, READINESS_READY)};
  pupils[0].waiting_days = 31;
  pupils[0].preferred_companies = preferred;
  pupils[0].preferred_count = 1;
  pupils[0].proposed_vacancy = 1; /* proposed at a vacancy that lost its seat */
  pupils[1].waiting_days = 30;
  pupils[1].proposed_vacancy = 0; /* and Q holds the seat today */
  int32_t at[2];
  solve_rulebook(pupils, 2, vacancies, 2, NULL, at, "one day more");
  cr_expect_eq(at[0], 0, "the longer waiter, whatever its commute");
  cr_expect_eq(at[1], MATCHER_UNPLACED);
  /* The other side: the same days, and the pair cost (level 4) decides. */
  pupils[0].waiting_days = 30;
  solve_rulebook(pupils, 2, vacancies, 2, NULL, at, "equal days");
  cr_expect_eq(at[1], 0, "the nearer pupil keeps its seat");
}

Test(rulebook, level_4_commute_preference_and_stability) {
  eligibility_vacancy vacancies[2] = {vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 0),
                                      vacancy_at(ANTWERP_LAT + 45000, ANTWERP_LON, 1, 0)}; /* 5 km north */
  eligibility_pupil pupil = pupil_at(ANTWERP_LAT, ANTWERP_LON, 20000, READINESS_READY);
  int32_t at[1];
  solve_rulebook(&pupil, 1, vacancies, 2, NULL, at, "nearest");
  cr_expect_eq(at[0], 0);
  /* Proposed at the place 5 km away: moving saves 50 units, less than the 100 of stability. */
  pupil.proposed_vacancy = 1;
  solve_rulebook(&pupil, 1, vacancies, 2, NULL, at, "stays");
  cr_expect_eq(at[0], 1, "a proposal moves only when better by more than the threshold");
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.move_penalty = 49;
  solve_rulebook(&pupil, 1, vacancies, 2, &weights, at, "moves");
  cr_expect_eq(at[0], 0, "below the saving, it moves");
}

/* ------------------------------------------------------------------------------------------- */
/* Random instances. */

#define MAX_PUPILS 60
#define MAX_VACANCIES 30

typedef struct {
  eligibility_pupil pupils[MAX_PUPILS];
  eligibility_vacancy vacancies[MAX_VACANCIES + 1];
  int32_t preferred[MAX_PUPILS][2];
  int32_t excluded[MAX_PUPILS][1];
  int32_t pupil_count, vacancy_count;
} instance;

static uint64_t next(uint64_t *state) {
  *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
  return *state >> 33;
}

static int32_t between(uint64_t *state, int32_t low, int32_t high) {
  return low + (int32_t)(next(state) % (uint64_t)(high - low + 1));
}

/* Dense: one or two trainings, everyone within 30 km of everyone, scarce seats, many ties. */
static void make_instance(uint64_t seed, int32_t max_pupils, int32_t max_vacancies, instance *out) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
  out->pupil_count = between(&state, 1, max_pupils);
  out->vacancy_count = between(&state, 1, max_vacancies);
  for (int32_t j = 0; j < out->vacancy_count; j++) {
    eligibility_vacancy *v = &out->vacancies[j];
    *v = vacancy_at(ANTWERP_LAT + between(&state, -90000, 90000), ANTWERP_LON + between(&state, -120000, 120000),
                    between(&state, 0, 2), between(&state, 0, 3) == 0);
    v->training = between(&state, 1, 2);
    v->company = between(&state, 0, 5);
    v->min_readiness = (uint8_t)between(&state, 0, 2);
    v->day_mask = between(&state, 0, 2) ? ALL_DAYS : (uint16_t)(MON_TUE | between(&state, 0, ALL_DAYS));
    v->open = between(&state, 0, 9) != 0;
    /* Start dates around 1 September 2026, some unknown; windows of 0..60 days matter. */
    v->start_day = between(&state, 0, 3) == 0 ? 0 : eligibility_day_of(2026, 9, 1) + between(&state, -10, 70);
  }
  for (int32_t i = 0; i < out->pupil_count; i++) {
    eligibility_pupil *p = &out->pupils[i];
    *p = pupil_at(ANTWERP_LAT + between(&state, -90000, 90000), ANTWERP_LON + between(&state, -120000, 120000),
                  between(&state, 2000, 30000), (uint8_t)between(&state, 0, 2));
    p->training = between(&state, 1, 2);
    p->newcomer = between(&state, 0, 4) == 0;
    p->special_needs = between(&state, 0, 6) == 0;
    /* Few distinct values, so that equal claims (ties) are common. */
    p->waiting_days = between(&state, 0, 3) * between(&state, 0, 40);
    p->day_mask = between(&state, 0, 3) ? MON_TUE : (uint16_t)between(&state, 0, ALL_DAYS);
    int32_t preferred = between(&state, 0, 2);
    for (int32_t k = 0; k < preferred; k++) out->preferred[i][k] = between(&state, 0, 5);
    p->preferred_companies = preferred ? out->preferred[i] : NULL;
    p->preferred_count = preferred;
    if (between(&state, 0, 5) == 0) {
      out->excluded[i][0] = between(&state, 0, 5);
      p->excluded_companies = out->excluded[i];
      p->excluded_count = 1;
    }
    if (between(&state, 0, 5) == 0) p->proposed_vacancy = between(&state, 0, out->vacancy_count - 1);
    if (between(&state, 0, 12) == 0) p->fixed_vacancy = between(&state, 0, out->vacancy_count - 1);
    p->wanted_start_day = between(&state, 0, 2) == 0 ? 0 : eligibility_day_of(2026, 9, 1) + between(&state, 0, 40);
  }
}

/* The two invariants, checked from the rules alone on an assignment of a built problem. */
static void check_invariants(const instance *x, const eligibility_weights *weights, const int32_t *seats,
                             const int32_t *vacancy_of_pupil, const char *context) {
  for (int32_t p = 0; p < x->pupil_count; p++) {
    if (vacancy_of_pupil[p] != MATCHER_UNPLACED) continue;
    const eligibility_pupil *waiting = &x->pupils[p];
    for (int32_t j = 0; j < x->vacancy_count; j++) {
      const eligibility_vacancy *vacancy = &x->vacancies[j];
      if (waiting->fixed_vacancy >= 0 || !eligibility_is_eligible(waiting, vacancy, weights)) continue;
      int32_t holders = 0;
      for (int32_t q = 0; q < x->pupil_count; q++) {
        if (vacancy_of_pupil[q] != j) continue;
        holders++;
        const eligibility_pupil *holder = &x->pupils[q];
        if (holder->fixed_vacancy >= 0) continue;
        cr_assert_geq(
            eligibility_compare_claims(eligibility_claim_on(holder, vacancy), eligibility_claim_on(waiting, vacancy)),
            0, "%s: pupil %d waits while %d with a weaker claim holds vacancy %d", context, p, q, j);
        cr_assert(!(vacancy->preparatory && waiting->readiness == READINESS_NOT_READY &&
                    holder->readiness != READINESS_NOT_READY),
                  "%s: not-ready pupil %d waits while ready pupil %d holds preparatory vacancy %d", context, p, q, j);
      }
      cr_assert_geq(holders, seats[j], "%s: pupil %d waits beside a free seat of vacancy %d", context, p, j);
    }
  }
}

Test(rulebook, random_instances_keep_the_order_and_agree_with_brute_force) {
  static instance x;
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  int32_t contested = 0, brute_forced = 0, late_starts = 0;
  for (uint64_t seed = 1; seed <= 600; seed++) {
    int small = seed % 3 == 0;
    make_instance(seed, small ? 9 : MAX_PUPILS, small ? 5 : MAX_VACANCIES, &x);
    weights.ready_on_preparatory = seed % 4 != 0;
    weights.start_window_days = (int64_t)(seed % 5) * 10;
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    eligibility_problem problem;
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_build(x.pupils, x.pupil_count, x.vacancies, x.vacancy_count, &weights, &problem, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
    matcher_solution solution;
    solve_and_verify(&problem.problem, NULL, &solution, context);
    check_invariants(&x, &weights, problem.seats, solution.vacancy_of_pupil, context);
    for (int32_t i = 0; i < x.pupil_count; i++)
      for (int32_t j = 0; j < x.vacancy_count; j++)
        late_starts += eligibility_failed_rule(&x.pupils[i], &x.vacancies[j], &weights) == ELIGIBILITY_STARTS_TOO_LATE;
    for (int32_t i = 0; i < x.pupil_count; i++)
      contested += solution.vacancy_of_pupil[i] == MATCHER_UNPLACED && problem.problem.pair_count > 0;
    if (small) {
      int64_t objective = 0;
      int32_t placed = 0, brute_assignment[MAX_PUPILS];
      cr_assert(brute_force_solve(&problem.problem, &objective, &placed, brute_assignment), "%s", context);
      cr_assert_eq(objective, solution.objective, "%s: brute force optimum", context);
      check_invariants(&x, &weights, problem.seats, brute_assignment, context);
      brute_forced++;
    }
    matcher_solution_free(&solution);
    eligibility_problem_free(&problem);
  }
  cr_expect_gt(contested, 500, "the instances contest their seats");
  cr_expect_gt(late_starts, 100, "start dates decide some pairs");
  cr_expect_eq(brute_forced, 200);
}

/* Whether the pupil is placed when the hint's vacancy (with seats seats) is added. */
static int placed_with(const instance *x, int32_t pupil, const eligibility_explanation *hint, int32_t seats,
                       const char *context) {
  static eligibility_vacancy vacancies[MAX_VACANCIES + 1];
  memcpy(vacancies, x->vacancies, sizeof *vacancies * (size_t)x->vacancy_count);
  eligibility_explanation with_seats = *hint;
  with_seats.hint_seats = seats;
  vacancies[x->vacancy_count] = eligibility_hint_vacancy(&x->pupils[pupil], x->vacancies, &with_seats);
  int32_t at[MAX_PUPILS];
  solve_rulebook(x->pupils, x->pupil_count, vacancies, x->vacancy_count + 1, NULL, at, context);
  return at[pupil] != MATCHER_UNPLACED;
}

Test(rulebook, every_checked_hint_places_its_pupil_when_made) {
  static instance x;
  static eligibility_explanation explanations[MAX_PUPILS];
  int32_t checked = 0, more_seats = 0, new_places = 0, several = 0;
  for (uint64_t seed = 5000; seed < 5150; seed++) {
    make_instance(seed, MAX_PUPILS, 12, &x);
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    eligibility_problem problem;
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_build(x.pupils, x.pupil_count, x.vacancies, x.vacancy_count, NULL, &problem, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
    matcher_solution solution;
    solve_and_verify(&problem.problem, NULL, &solution, context);
    cr_assert_eq(eligibility_explain(x.pupils, x.pupil_count, x.vacancies, x.vacancy_count, NULL, &problem, &solution,
                                     NULL, explanations, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
    for (int32_t i = 0; i < x.pupil_count; i++) {
      const eligibility_explanation *hint = &explanations[i];
      if (hint->reason == ELIGIBILITY_PLACED) continue;
      cr_assert_eq(hint->hint_unchecked, 0, "%s: the default budget covers small instances", context);
      /* With this few pupils the seats a hint needs stay below its limit: there is always one. */
      cr_assert_neq(hint->hint, ELIGIBILITY_HINT_NONE, "%s: pupil %d has no hint: %s", context, i, hint->help);
      checked++;
      more_seats += hint->hint == ELIGIBILITY_HINT_MORE_SEATS;
      new_places += hint->hint == ELIGIBILITY_HINT_NEW_PLACE;
      cr_assert(strstr(hint->help, "would place this pupil") != NULL, "%s: %s", context, hint->help);
      /* A hint never names a place whose days, readiness or recognition do not fit. */
      eligibility_vacancy place = eligibility_hint_vacancy(&x.pupils[i], x.vacancies, hint);
      cr_assert(eligibility_is_eligible(&x.pupils[i], &place, NULL), "%s: pupil %d's hint place does not fit", context,
                i);
      cr_assert(placed_with(&x, i, hint, hint->hint_seats, context), "%s: pupil %d's hint (%s) does not place it",
                context, i, hint->help);
      if (hint->hint_seats > 1) {
        several++;
        cr_assert(!placed_with(&x, i, hint, hint->hint_seats - 1, context),
                  "%s: pupil %d: one seat fewer than the hint says places it too", context, i);
      }
    }
    matcher_solution_free(&solution);
    eligibility_problem_free(&problem);
  }
  cr_expect_gt(checked, 300);
  cr_expect_gt(more_seats, 50);
  cr_expect_gt(new_places, 50);
  cr_expect_gt(several, 5, "some hints need more than one seat");
}

/* Rule 6 at its edge: a place starting on the last day of the window is in time, one day later
 * is too late; one that started the day before the wanted start is in time; either date
 * missing, any start will do. The rematch's reason and hint say the same. */
Test(rulebook, start_date_window_at_its_boundaries) {
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  cr_assert_eq(weights.start_window_days, 30);
  eligibility_pupil pupil = pupil_at(ANTWERP_LAT, ANTWERP_LON, 5000, READINESS_READY);
  pupil.wanted_start_day = eligibility_day_of(2026, 9, 1);
  cr_assert_eq(pupil.wanted_start_day, 20697, "2026-09-01 is day 20697 since 1970-01-01");
  eligibility_vacancy vacancy = vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 0);
  const struct {
    int32_t start_day;
    eligibility_reason expected;
  } cases[] = {
      {eligibility_day_of(2026, 8, 31), ELIGIBILITY_PLACED},          /* started the day before */
      {eligibility_day_of(2026, 9, 1), ELIGIBILITY_PLACED},           /* on the wanted start */
      {eligibility_day_of(2026, 9, 30), ELIGIBILITY_PLACED},          /* the day before the edge */
      {eligibility_day_of(2026, 10, 1), ELIGIBILITY_PLACED},          /* on the edge: 30 days after */
      {eligibility_day_of(2026, 10, 2), ELIGIBILITY_STARTS_TOO_LATE}, /* the day after the edge */
      {0, ELIGIBILITY_PLACED},                                        /* the vacancy's start unknown */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    vacancy.start_day = cases[k].start_day;
    cr_expect_eq(eligibility_failed_rule(&pupil, &vacancy, &weights), cases[k].expected, "case %zu", k);
  }
  vacancy.start_day = eligibility_day_of(2026, 10, 2);
  pupil.wanted_start_day = 0;
  cr_expect_eq(eligibility_failed_rule(&pupil, &vacancy, &weights), ELIGIBILITY_PLACED, "any start will do");
  pupil.wanted_start_day = eligibility_day_of(2026, 9, 1);
  weights.start_window_days = 31;
  cr_expect_eq(eligibility_failed_rule(&pupil, &vacancy, &weights), ELIGIBILITY_PLACED, "a wider window");
  weights.start_window_days = 0;
  vacancy.start_day = eligibility_day_of(2026, 9, 2);
  cr_expect_eq(eligibility_failed_rule(&pupil, &vacancy, &weights), ELIGIBILITY_STARTS_TOO_LATE,
               "window 0: the next day is late");
  weights.start_window_days = ELIGIBILITY_START_WINDOW_MAX + 1;
  eligibility_levels levels;
  matcher_error error = {{0}};
  cr_expect_eq(eligibility_levels_of(&weights, &levels, &error), MATCHER_INVALID);
  cr_expect(strstr(error.message, "start_window_days") != NULL, "%s", error.message);
  weights.start_window_days = 30;

  /* Solved and explained: a late place is no candidate; the reason names the dates and the
   * hint, checked, is a place at the same location starting on the wanted date. */
  vacancy.start_day = eligibility_day_of(2026, 10, 2);
  eligibility_problem problem;
  cr_assert_eq(eligibility_build(&pupil, 1, &vacancy, 1, &weights, &problem, &error), MATCHER_OK, "%s", error.message);
  cr_expect_eq(problem.problem.pair_count, 0);
  matcher_solution solution;
  solve_and_verify(&problem.problem, NULL, &solution, "late");
  eligibility_explanation explanation;
  cr_assert_eq(eligibility_explain(&pupil, 1, &vacancy, 1, &weights, &problem, &solution, NULL, &explanation, &error),
               MATCHER_OK, "%s", error.message);
  cr_expect_eq(explanation.reason, ELIGIBILITY_STARTS_TOO_LATE);
  cr_expect_eq(explanation.candidates_after_rule, 1);
  cr_expect_eq(explanation.hint, ELIGIBILITY_HINT_NEW_PLACE);
  cr_expect_eq(explanation.hint_vacancy, 0);
  cr_expect(strstr(explanation.help, "all start after 2026-10-01, more than 30 days after the pupil's wanted start, "
                                     "2026-09-01.") != NULL,
            "%s", explanation.help);
  cr_expect(strstr(explanation.help, "starting on 2026-09-01") != NULL, "%s", explanation.help);
  eligibility_vacancy place = eligibility_hint_vacancy(&pupil, &vacancy, &explanation);
  cr_expect_eq(place.start_day, pupil.wanted_start_day);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);
}

/* A budget of zero checks nothing and says so; the reasons stay. */
Test(rulebook, hint_budget_spent_says_so) {
  eligibility_vacancy seat = vacancy_at(ANTWERP_LAT, ANTWERP_LON, 1, 0);
  eligibility_pupil pupils[2] = {pupil_at(ANTWERP_LAT, ANTWERP_LON, 5000, READINESS_READY),
                                 pupil_at(ANTWERP_LAT, ANTWERP_LON, 5000, READINESS_READY)};
  pupils[0].waiting_days = 3;
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.hint_pair_budget = 0;
  eligibility_problem problem;
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_build(pupils, 2, &seat, 1, &weights, &problem, &error), MATCHER_OK, "%s", error.message);
  matcher_solution solution;
  solve_and_verify(&problem.problem, NULL, &solution, "budget");
  eligibility_explanation explanations[2];
  cr_assert_eq(eligibility_explain(pupils, 2, &seat, 1, &weights, &problem, &solution, NULL, explanations, &error),
               MATCHER_OK, "%s", error.message);
  cr_expect_eq(solution.vacancy_of_pupil[0], 0);
  cr_expect_eq(explanations[1].reason, ELIGIBILITY_SEATS_TAKEN);
  cr_expect_eq(explanations[1].hint, ELIGIBILITY_HINT_NONE);
  cr_expect_eq(explanations[1].hint_unchecked, 1);
  cr_expect(strstr(explanations[1].help, "No hint was checked") != NULL, "%s", explanations[1].help);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);
}
