/* test_oracles.c: the two oracles the other tests trust, checked against each other before
 * either is used to judge libmatcher: the brute-force search and the LEMON NetworkSimplex
 * reference must agree on hundreds of tiny random problems and on a hand-solved one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brute_force.h"
#include "lemon_reference.h"
#include "test_problem.h"

/* The hand-solved instance of test_verify.c: optimum 10 (worked out there). */
static const int64_t hand_penalty[] = {10, 10, 3, 7, 7};
static const int32_t hand_seats[] = {1, 2, 1, 1};
static const matcher_pair hand_pairs[] = {
    {0, 0, 2}, {0, 1, 5}, {1, 0, 1}, {1, 1, 3}, {2, 1, 4}, {2, 3, 1}, {3, 1, 1}, {4, 3, 1},
};
static const matcher_fixed_pair hand_fixed[] = {{3, 1}, {4, 3}};

static matcher_problem hand_problem(void) {
  return (matcher_problem){5, 4, hand_penalty, hand_seats, 8, hand_pairs, 2, hand_fixed};
}

Test(oracles, brute_force_solves_the_hand_instance) {
  matcher_problem problem = hand_problem();
  int64_t objective = -1;
  int32_t placed = -1, assignment[5];
  cr_assert(brute_force_solve(&problem, &objective, &placed, assignment));
  cr_expect_eq(objective, 10);
  cr_expect_eq(placed, 4);
  cr_expect_eq(assignment[0], 0);
  cr_expect_eq(assignment[1], 1);
  cr_expect_eq(assignment[2], MATCHER_UNPLACED);
  cr_expect_eq(assignment[3], 1);
  cr_expect_eq(assignment[4], 3);
}

Test(oracles, lemon_solves_the_hand_instance_with_every_pivot_rule) {
  matcher_problem problem = hand_problem();
  for (int rule = LEMON_PIVOT_FIRST_ELIGIBLE; rule <= LEMON_PIVOT_ALTERING_LIST; rule++) {
    lemon_reference_result result;
    int32_t assignment[5];
    int status = lemon_reference_solve_assignment(&problem, (lemon_pivot_rule)rule, &result, assignment);
    cr_assert_eq(status, LEMON_REFERENCE_OK, "%s: %s", lemon_pivot_rule_name(rule), result.message);
    cr_expect_eq(result.objective, 10, "%s", lemon_pivot_rule_name(rule));
    cr_expect_eq(result.placed, 4, "%s", lemon_pivot_rule_name(rule));
    cr_expect_eq(assignment[3], 1, "%s: fixed pair not kept", lemon_pivot_rule_name(rule));
    cr_expect_eq(assignment[4], 3, "%s: fixed pair not kept", lemon_pivot_rule_name(rule));
  }
}

Test(oracles, brute_force_and_lemon_agree_on_random_tiny_problems) {
  static const lemon_pivot_rule rules[] = {LEMON_PIVOT_CANDIDATE_LIST, LEMON_PIVOT_FIRST_ELIGIBLE,
                                           LEMON_PIVOT_BLOCK_SEARCH};
  int with_fixed = 0, with_unplaced = 0;
  for (uint64_t seed = 1; seed <= 400; seed++) {
    test_rng rng;
    test_rng_seed(&rng, seed);
    test_problem_params params;
    test_problem_params_small(&rng, 8, 6, &params);
    test_problem generated;
    test_problem_generate(&params, seed, &generated);
    const matcher_problem *problem = &generated.problem;

    int64_t brute_objective = 0;
    int32_t brute_placed = 0;
    cr_assert(brute_force_solve(problem, &brute_objective, &brute_placed, NULL),
              "seed %llu: generated fixed pairs should be feasible", (unsigned long long)seed);
    with_fixed += problem->fixed_count > 0;
    with_unplaced += brute_placed < problem->pupil_count;

    int32_t *assignment = calloc((size_t)problem->pupil_count + 1, sizeof *assignment);
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
      lemon_reference_result result;
      int status = lemon_reference_solve_assignment(problem, rules[r], &result, assignment);
      cr_assert_eq(status, LEMON_REFERENCE_OK, "seed %llu %s: %s", (unsigned long long)seed,
                   lemon_pivot_rule_name(rules[r]), result.message);
      cr_assert_eq(result.objective, brute_objective, "seed %llu %s: LEMON %lld, brute force %lld",
                   (unsigned long long)seed, lemon_pivot_rule_name(rules[r]), (long long)result.objective,
                   (long long)brute_objective);
      /* LEMON's assignment must itself be feasible and cost what it claims. */
      int32_t placed = 0;
      int64_t cost = brute_force_assignment_cost(problem, assignment, &placed);
      cr_assert_eq(cost, result.objective, "seed %llu %s: LEMON's assignment costs %lld", (unsigned long long)seed,
                   lemon_pivot_rule_name(rules[r]), (long long)cost);
      cr_assert_eq(placed, result.placed, "seed %llu %s", (unsigned long long)seed, lemon_pivot_rule_name(rules[r]));
    }
    free(assignment);
    test_problem_free(&generated);
  }
  /* The generator must actually produce the interesting cases. */
  cr_expect_gt(with_fixed, 80, "only %d problems with fixed pairs", with_fixed);
  cr_expect_gt(with_unplaced, 100, "only %d problems with unplaced pupils", with_unplaced);
}

Test(oracles, both_report_fixed_pairs_over_the_seats) {
  /* Two pupils fixed to a one-seat vacancy. */
  static const int64_t penalty[] = {5, 5};
  static const int32_t seats[] = {1};
  static const matcher_pair pairs[] = {{0, 0, 1}, {1, 0, 1}};
  static const matcher_fixed_pair fixed[] = {{0, 0}, {1, 0}};
  matcher_problem problem = {2, 1, penalty, seats, 2, pairs, 2, fixed};
  int64_t objective;
  int32_t placed;
  cr_expect_not(brute_force_solve(&problem, &objective, &placed, NULL));
  lemon_reference_result result;
  cr_expect_eq(lemon_reference_solve(&problem, LEMON_PIVOT_CANDIDATE_LIST, &result), LEMON_REFERENCE_INFEASIBLE, "%s",
               result.message);
}

Test(oracles, brute_force_cost_check_catches_infeasible_assignments) {
  matcher_problem problem = hand_problem();
  int32_t placed;
  const int32_t optimal[] = {0, 1, MATCHER_UNPLACED, 1, 3};
  cr_expect_eq(brute_force_assignment_cost(&problem, optimal, &placed), 10);
  cr_expect_eq(placed, 4);
  const int32_t over_full[] = {0, 1, 1, 1, 3}; /* vacancy 1 has 2 seats */
  cr_expect_eq(brute_force_assignment_cost(&problem, over_full, &placed), -1);
  const int32_t not_eligible[] = {0, 1, 0, 1, 3}; /* pupil 2 has no pair with vacancy 0 */
  cr_expect_eq(brute_force_assignment_cost(&problem, not_eligible, &placed), -1);
  const int32_t fixed_lost[] = {0, 1, MATCHER_UNPLACED, MATCHER_UNPLACED, 3};
  cr_expect_eq(brute_force_assignment_cost(&problem, fixed_lost, &placed), -1);
}

Test(oracles, lemon_refuses_malformed_problems) {
  static const int64_t penalty[] = {5};
  static const int32_t seats[] = {1};
  static const matcher_pair unknown_vacancy[] = {{0, 3, 1}};
  matcher_problem problem = {1, 1, penalty, seats, 1, unknown_vacancy, 0, NULL};
  lemon_reference_result result;
  cr_expect_eq(lemon_reference_solve(&problem, LEMON_PIVOT_CANDIDATE_LIST, &result), LEMON_REFERENCE_INVALID);
  cr_expect(strstr(result.message, "pair 0") != NULL, "%s", result.message);
  static const matcher_pair fine[] = {{0, 0, 1}};
  static const matcher_fixed_pair not_a_pair[] = {{0, 0}};
  static const int32_t two_seats[] = {1, 1};
  static const matcher_fixed_pair fixed_elsewhere[] = {{0, 1}};
  matcher_problem bad_fixed = {1, 2, penalty, two_seats, 1, fine, 1, fixed_elsewhere};
  cr_expect_eq(lemon_reference_solve(&bad_fixed, LEMON_PIVOT_CANDIDATE_LIST, &result), LEMON_REFERENCE_INVALID);
  matcher_problem good_fixed = {1, 1, penalty, seats, 1, fine, 1, not_a_pair};
  cr_expect_eq(lemon_reference_solve(&good_fixed, LEMON_PIVOT_CANDIDATE_LIST, &result), LEMON_REFERENCE_OK, "%s",
               result.message);
  cr_expect_eq(result.objective, 1);
}
