/* test_lemon.c: libmatcher against LEMON's NetworkSimplex on random medium problems (50 to
 * 2000 pupils), with both fast pivot rules: the objectives must be identical, and both
 * assignments must be feasible and cost what they claim. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_util.h"
#include "lemon_reference.h"
#include "test_problem.h"

static void compare_with_lemon(const test_problem_params *params, uint64_t seed) {
  char context[96];
  snprintf(context, sizeof context, "%d pupils seed %llu", params->pupils, (unsigned long long)seed);
  test_problem generated;
  test_problem_generate(params, seed, &generated);
  const matcher_problem *problem = &generated.problem;
  matcher_solution solution;
  solve_and_verify(problem, NULL, &solution, context);

  static const lemon_pivot_rule rules[] = {LEMON_PIVOT_CANDIDATE_LIST, LEMON_PIVOT_FIRST_ELIGIBLE};
  int32_t *assignment = calloc((size_t)problem->pupil_count + 1, sizeof *assignment);
  for (int r = 0; r < 2; r++) {
    lemon_reference_result reference;
    int status = lemon_reference_solve_assignment(problem, rules[r], &reference, assignment);
    cr_assert_eq(status, LEMON_REFERENCE_OK, "%s %s: %s", context, lemon_pivot_rule_name(rules[r]), reference.message);
    cr_assert_eq(solution.objective, reference.objective, "%s: matcher %lld, LEMON (%s) %lld", context,
                 (long long)solution.objective, lemon_pivot_rule_name(rules[r]), (long long)reference.objective);
    int32_t placed = 0;
    cr_assert_eq(recompute_objective(problem, assignment, &placed, context), reference.objective,
                 "%s: LEMON's assignment does not cost its objective", context);
    cr_assert_eq(placed, reference.placed, "%s", context);
  }
  free(assignment);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

/* Shaped like leerplek: more vacancy seats than pupils overall, tens of pairs per pupil,
 * penalties that dwarf costs, a few fixed pairs. */
Test(lemon, production_shaped_problems) {
  static const int32_t sizes[] = {50, 200, 700, 2000};
  for (int s = 0; s < 4; s++)
    for (uint64_t seed = 1; seed <= 3; seed++) {
      test_problem_params params = {
          .pupils = sizes[s],
          .vacancies = sizes[s] / 2 + 1,
          .degree_min = 1,
          .degree_max = 20,
          .seats_max = 3,
          .cost_max = 5000,
          .penalty_min = 100000,
          .penalty_max = 1000000,
          .fixed_share = 0.05,
      };
      compare_with_lemon(&params, seed * 31 + (uint64_t)s);
    }
}

/* Scarce seats and penalties in the cost range: many pupils left out, long augmenting paths,
 * many ties (costs 0..20). */
Test(lemon, contested_problems_with_ties) {
  static const int32_t sizes[] = {50, 300, 1000};
  for (int s = 0; s < 3; s++)
    for (uint64_t seed = 1; seed <= 3; seed++) {
      test_problem_params params = {
          .pupils = sizes[s],
          .vacancies = sizes[s] / 4 + 1,
          .degree_min = 0,
          .degree_max = 12,
          .seats_max = 2,
          .cost_max = 20,
          .penalty_min = 0,
          .penalty_max = 30,
          .fixed_share = 0.1,
      };
      compare_with_lemon(&params, seed * 131 + (uint64_t)s);
    }
}

/* Many vacancies with one seat each and dense rows: a classic assignment problem. */
Test(lemon, dense_one_seat_problems) {
  for (uint64_t seed = 1; seed <= 3; seed++) {
    test_problem_params params = {
        .pupils = 150,
        .vacancies = 150,
        .degree_min = 40,
        .degree_max = 80,
        .seats_max = 1,
        .cost_max = 1000,
        .penalty_min = 500,
        .penalty_max = 2000,
        .fixed_share = 0.0,
    };
    compare_with_lemon(&params, seed);
  }
}
