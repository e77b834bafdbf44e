/* test_bad_input.c: malformed problems are refused by matcher_check and matcher_solve alike,
 * with the right status and a message naming the offending item; nothing is allocated then
 * (the sanitizer build would report a leak). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "check_util.h"

/* A small valid base that each test breaks in one place. */
static int64_t penalty[3];
static int32_t seats[2];
static matcher_pair pairs[4];
static matcher_fixed_pair fixed[2];
static matcher_problem problem;

static void reset(void) {
  const int64_t base_penalty[] = {10, 10, 10};
  const int32_t base_seats[] = {1, 2};
  const matcher_pair base_pairs[] = {{0, 0, 1}, {1, 0, 2}, {1, 1, 3}, {2, 1, 4}};
  memcpy(penalty, base_penalty, sizeof penalty);
  memcpy(seats, base_seats, sizeof seats);
  memcpy(pairs, base_pairs, sizeof pairs);
  fixed[0] = (matcher_fixed_pair){2, 1};
  fixed[1] = (matcher_fixed_pair){1, 1};
  problem = (matcher_problem){3, 2, penalty, seats, 4, pairs, 1, fixed};
}

Test(bad_input, the_base_problem_is_valid) {
  reset();
  matcher_error error = {{0}};
  cr_assert_eq(matcher_check(&problem, &error), MATCHER_OK, "%s", error.message);
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "base");
  cr_expect_eq(solution.objective, 1 + 3 + 4);
  matcher_solution_free(&solution);
}

Test(bad_input, unknown_pupil) {
  reset();
  pairs[2].pupil = 3;
  expect_refused(&problem, MATCHER_INVALID, "pupil 3", "pair 2", "pupil 3", NULL);
  pairs[2].pupil = -1;
  expect_refused(&problem, MATCHER_INVALID, "pupil -1", "pair 2", "pupil -1", NULL);
}

Test(bad_input, unknown_vacancy) {
  reset();
  pairs[3].vacancy = 2;
  expect_refused(&problem, MATCHER_INVALID, "vacancy 2", "pair 3", "vacancy 2", NULL);
  pairs[3].vacancy = -4;
  expect_refused(&problem, MATCHER_INVALID, "vacancy -4", "pair 3", "vacancy -4", NULL);
}

Test(bad_input, duplicate_pair) {
  reset();
  pairs[3] = (matcher_pair){1, 0, 9}; /* (1, 0) again, with another cost */
  expect_refused(&problem, MATCHER_INVALID, "duplicate", "duplicate", "pupil 1", "vacancy 0");
}

Test(bad_input, negative_cost) {
  reset();
  pairs[1].cost = -1;
  expect_refused(&problem, MATCHER_INVALID, "negative cost", "pair 1", "cost", NULL);
}

Test(bad_input, cost_above_the_maximum) {
  reset();
  pairs[1].cost = MATCHER_VALUE_MAX + 1;
  expect_refused(&problem, MATCHER_INVALID, "cost too big", "pair 1", "cost", NULL);
  pairs[1].cost = MATCHER_VALUE_MAX; /* the maximum itself is allowed */
  matcher_error error = {{0}};
  cr_expect_eq(matcher_check(&problem, &error), MATCHER_OK, "%s", error.message);
}

Test(bad_input, penalty_out_of_range) {
  reset();
  penalty[2] = -5;
  expect_refused(&problem, MATCHER_INVALID, "negative penalty", "pupil 2", "penalty", NULL);
  penalty[2] = MATCHER_VALUE_MAX + 1;
  expect_refused(&problem, MATCHER_INVALID, "penalty too big", "pupil 2", "penalty", NULL);
}

Test(bad_input, negative_seats) {
  reset();
  seats[1] = -1;
  expect_refused(&problem, MATCHER_INVALID, "negative seats", "vacancy 1", "seats", NULL);
}

Test(bad_input, negative_counts) {
  reset();
  problem.pupil_count = -1;
  expect_refused(&problem, MATCHER_INVALID, "pupil_count", "pupil_count", NULL, NULL);
  reset();
  problem.vacancy_count = -2;
  expect_refused(&problem, MATCHER_INVALID, "vacancy_count", "vacancy_count", NULL, NULL);
  reset();
  problem.pair_count = -3;
  expect_refused(&problem, MATCHER_INVALID, "pair_count", "pair_count", NULL, NULL);
  reset();
  problem.fixed_count = -1;
  expect_refused(&problem, MATCHER_INVALID, "fixed_count", "fixed_count", NULL, NULL);
  reset();
  problem.pupil_count = MATCHER_COUNT_MAX + 1;
  expect_refused(&problem, MATCHER_INVALID, "pupil_count too big", "pupil_count", NULL, NULL);
}

/* 1024 pupils at the maximum penalty sum to exactly 2^63: one more than int64 holds. */
Test(bad_input, objective_bound_overflow) {
  enum { pupils = 1025 };
  static int64_t huge[pupils];
  for (int i = 0; i < pupils; i++) huge[i] = MATCHER_VALUE_MAX;
  matcher_problem overflowing = {pupils, 0, huge, NULL, 0, NULL, 0, NULL};
  expect_refused(&overflowing, MATCHER_INVALID, "overflow", "pupil", "overflow", NULL);
  /* One pupil fewer still sums to 2^63 (overflow); 1023 sum to 2^63 - 2^53, which fits. */
  overflowing.pupil_count = 1023;
  matcher_error error = {{0}};
  cr_expect_eq(matcher_check(&overflowing, &error), MATCHER_OK, "%s", error.message);
  matcher_solution solution;
  solve_and_verify(&overflowing, NULL, &solution, "1023 maximal penalties");
  cr_expect_eq(solution.objective, 1023 * MATCHER_VALUE_MAX);
  matcher_solution_free(&solution);
}

/* The bound counts a pupil's dearest pair when it is above its penalty. */
Test(bad_input, objective_bound_counts_costs_too) {
  enum { pupils = 1100 };
  static int64_t small_penalty[pupils];
  static matcher_pair dear[pupils];
  static const int32_t one_seat[] = {1};
  for (int i = 0; i < pupils; i++) dear[i] = (matcher_pair){i, 0, MATCHER_VALUE_MAX};
  matcher_problem overflowing = {pupils, 1, small_penalty, one_seat, pupils, dear, 0, NULL};
  expect_refused(&overflowing, MATCHER_INVALID, "cost overflow", "overflow", NULL, NULL);
}

Test(bad_input, fixed_pair_not_eligible) {
  reset();
  fixed[0] = (matcher_fixed_pair){0, 1}; /* pupil 0 has no pair with vacancy 1 */
  expect_refused(&problem, MATCHER_INVALID, "fixed not eligible", "fixed", "pupil 0", "vacancy 1");
}

Test(bad_input, fixed_pair_unknown_ids) {
  reset();
  fixed[0] = (matcher_fixed_pair){7, 1};
  expect_refused(&problem, MATCHER_INVALID, "fixed unknown pupil", "fixed", "pupil 7", NULL);
  fixed[0] = (matcher_fixed_pair){2, 5};
  expect_refused(&problem, MATCHER_INVALID, "fixed unknown vacancy", "fixed", "vacancy 5", NULL);
}

Test(bad_input, pupil_fixed_twice) {
  reset();
  fixed[1] = (matcher_fixed_pair){2, 1};
  problem.fixed_count = 2;
  expect_refused(&problem, MATCHER_INVALID, "fixed twice", "fixed", "pupil 2", NULL);
  /* Fixed twice to two different vacancies, both eligible. */
  reset();
  fixed[0] = (matcher_fixed_pair){1, 0};
  fixed[1] = (matcher_fixed_pair){1, 1};
  problem.fixed_count = 2;
  expect_refused(&problem, MATCHER_INVALID, "fixed to two", "fixed", "pupil 1", NULL);
}

Test(bad_input, fixed_pairs_over_the_seats_are_infeasible) {
  reset();
  seats[1] = 1;
  fixed[0] = (matcher_fixed_pair){2, 1};
  fixed[1] = (matcher_fixed_pair){1, 1};
  problem.fixed_count = 2;
  expect_refused(&problem, MATCHER_INFEASIBLE, "over seats", "vacancy 1", "seats", NULL);
  seats[1] = 0;
  problem.fixed_count = 1;
  expect_refused(&problem, MATCHER_INFEASIBLE, "zero seats", "vacancy 1", NULL, NULL);
}

Test(bad_input, null_arrays_with_nonzero_counts) {
  reset();
  problem.unplaced_penalty = NULL;
  expect_refused(&problem, MATCHER_INVALID, "NULL penalties", "unplaced_penalty", NULL, NULL);
  reset();
  problem.seats = NULL;
  expect_refused(&problem, MATCHER_INVALID, "NULL seats", "seats", NULL, NULL);
  reset();
  problem.pairs = NULL;
  expect_refused(&problem, MATCHER_INVALID, "NULL pairs", "pairs", NULL, NULL);
  reset();
  problem.fixed = NULL;
  expect_refused(&problem, MATCHER_INVALID, "NULL fixed", "fixed", NULL, NULL);
  matcher_error error = {{0}};
  cr_expect_eq(matcher_check(NULL, &error), MATCHER_INVALID);
  matcher_solution solution;
  cr_expect_eq(matcher_solve(NULL, NULL, &solution, &error), MATCHER_INVALID);
}

/* A bad problem stays refused whatever warm start comes with it. */
Test(bad_input, warm_start_does_not_bypass_the_checks) {
  reset();
  pairs[0].cost = -1;
  static const int32_t hint_places[] = {0, 1, 1};
  static const int64_t hint_prices[] = {0, 0};
  matcher_warm_start warm = {hint_places, hint_prices, NULL};
  matcher_solution solution;
  matcher_error error = {{0}};
  cr_expect_eq(matcher_solve(&problem, &warm, &solution, &error), MATCHER_INVALID);
  cr_expect(strstr(error.message, "pair 0") != NULL, "%s", error.message);
}
