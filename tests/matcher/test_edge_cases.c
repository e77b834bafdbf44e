/* test_edge_cases.c: the degenerate and extreme problems a city can produce on a bad night:
 * nobody waiting, no vacancies, no eligible pairs, no seats, zero penalties, and penalties of
 * 10^12 for thousands of pupils (sums near 10^16 must stay exact). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_util.h"
#include "lemon_reference.h"
#include "test_problem.h"

Test(edge_cases, zero_pupils) {
  static const int32_t seats[] = {1, 2};
  matcher_problem problem = {0, 2, NULL, seats, 0, NULL, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "zero pupils");
  cr_expect_eq(solution.objective, 0);
  cr_expect_eq(solution.placed, 0);
  cr_expect_eq(solution.vacancy_price[0], 0);
  cr_expect_eq(solution.vacancy_price[1], 0);
  matcher_solution_free(&solution);
}

Test(edge_cases, empty_problem) {
  matcher_problem problem = {0, 0, NULL, NULL, 0, NULL, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "empty");
  cr_expect_eq(solution.objective, 0);
  matcher_solution_free(&solution);
  /* A warm start for an empty problem is as empty. */
  matcher_warm_start warm = {NULL, NULL, NULL};
  solve_and_verify(&problem, &warm, &solution, "empty warm");
  matcher_solution_free(&solution);
}

Test(edge_cases, zero_vacancies) {
  static const int64_t penalty[] = {3, 4, 5};
  matcher_problem problem = {3, 0, penalty, NULL, 0, NULL, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "zero vacancies");
  cr_expect_eq(solution.objective, 12);
  cr_expect_eq(solution.placed, 0);
  for (int i = 0; i < 3; i++) {
    cr_expect_eq(solution.vacancy_of_pupil[i], MATCHER_UNPLACED);
    cr_expect_eq(solution.pupil_price[i], penalty[i]);
  }
  matcher_solution_free(&solution);
}

Test(edge_cases, zero_pairs) {
  static const int64_t penalty[] = {3, 4};
  static const int32_t seats[] = {5};
  matcher_problem problem = {2, 1, penalty, seats, 0, NULL, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "zero pairs");
  cr_expect_eq(solution.objective, 7);
  cr_expect_eq(solution.placed, 0);
  matcher_solution_free(&solution);
}

Test(edge_cases, all_seats_zero) {
  test_problem_params params = {
      .pupils = 200,
      .vacancies = 100,
      .degree_min = 1,
      .degree_max = 10,
      .seats_max = 0,
      .cost_max = 10,
      .penalty_min = 100,
      .penalty_max = 200,
  };
  test_problem generated;
  test_problem_generate(&params, 3, &generated);
  matcher_solution solution;
  solve_and_verify(&generated.problem, NULL, &solution, "no seats");
  int64_t total = 0;
  for (int32_t i = 0; i < generated.problem.pupil_count; i++) total += generated.unplaced_penalty[i];
  cr_expect_eq(solution.objective, total);
  cr_expect_eq(solution.placed, 0);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

/* With every penalty 0 nobody needs placing: the optimum is 0, and only pairs of cost 0 may be
 * used. */
Test(edge_cases, penalties_zero) {
  test_problem_params params = {
      .pupils = 300,
      .vacancies = 100,
      .degree_min = 1,
      .degree_max = 8,
      .seats_max = 3,
      .cost_max = 4,
      .penalty_min = 0,
      .penalty_max = 0,
      .fixed_share = 0.0,
  };
  test_problem generated;
  test_problem_generate(&params, 9, &generated);
  matcher_solution solution;
  solve_and_verify(&generated.problem, NULL, &solution, "zero penalties");
  cr_expect_eq(solution.objective, 0);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

/* Zero-cost pairs, zero penalties and seats 0 together: everything is a tie. */
Test(edge_cases, everything_zero) {
  test_problem_params params = {
      .pupils = 100,
      .vacancies = 50,
      .degree_min = 0,
      .degree_max = 6,
      .seats_max = 2,
      .cost_max = 0,
      .penalty_min = 0,
      .penalty_max = 0,
      .fixed_share = 0.2,
  };
  test_problem generated;
  test_problem_generate(&params, 2, &generated);
  matcher_solution solution;
  solve_and_verify(&generated.problem, NULL, &solution, "all zero");
  cr_expect_eq(solution.objective, 0);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

/* Penalties of 10^12 for 5000 pupils: objective around 10^15, far from overflow, but any int32
 * or double rounding on the way would show. Half of the pupils cannot be placed. */
Test(edge_cases, huge_penalties_for_many_pupils) {
  test_problem_params params = {
      .pupils = 5000,
      .vacancies = 800,
      .degree_min = 1,
      .degree_max = 12,
      .seats_max = 3,
      .cost_max = 1000000,
      .penalty_min = 1000000000000,
      .penalty_max = 1000000000007,
      .fixed_share = 0.02,
  };
  test_problem generated;
  test_problem_generate(&params, 4, &generated);
  matcher_solution solution;
  solve_and_verify(&generated.problem, NULL, &solution, "huge penalties");
  cr_expect_gt(solution.objective, (int64_t)1000000000000 * (5000 - solution.placed));
  lemon_reference_result reference;
  cr_assert_eq(lemon_reference_solve(&generated.problem, LEMON_PIVOT_CANDIDATE_LIST, &reference), LEMON_REFERENCE_OK,
               "%s", reference.message);
  cr_expect_eq(solution.objective, reference.objective, "matcher %lld, LEMON %lld", (long long)solution.objective,
               (long long)reference.objective);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

/* Costs and penalties at MATCHER_VALUE_MAX itself, on a few pupils. */
Test(edge_cases, values_at_the_maximum) {
  static const int64_t penalty[] = {MATCHER_VALUE_MAX, MATCHER_VALUE_MAX, 0, MATCHER_VALUE_MAX};
  static const int32_t seats[] = {1, 1};
  static const matcher_pair pairs[] = {
      {0, 0, MATCHER_VALUE_MAX}, {0, 1, MATCHER_VALUE_MAX - 1}, {1, 1, 0},
      {2, 0, MATCHER_VALUE_MAX}, {3, 0, MATCHER_VALUE_MAX - 2},
  };
  matcher_problem problem = {4, 2, penalty, seats, 5, pairs, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "maximum values");
  /* 1 -> 1 (0), 3 -> 0 (max - 2), 0 unplaced (max), 2 unplaced (0). */
  cr_expect_eq(solution.objective, 2 * MATCHER_VALUE_MAX - 2);
  matcher_solution_free(&solution);
}

/* One pupil eligible for a thousand vacancies, a thousand pupils for one vacancy. */
Test(edge_cases, extreme_degrees) {
  enum { many = 1000 };
  static int64_t penalty[many + 1];
  static int32_t seats[many];
  static matcher_pair pairs[2 * many];
  for (int k = 0; k < many; k++) {
    seats[k] = k % 2;
    penalty[k] = 1000 + k;
    pairs[k] = (matcher_pair){0, k, (many - k) % 97};   /* pupil 0 everywhere */
    pairs[many + k] = (matcher_pair){k + 1, 1, k % 13}; /* everyone at vacancy 1 */
  }
  penalty[many] = 5; /* the last pupil would rather stay out than pay more than 5 */
  matcher_problem problem = {many + 1, many, penalty, seats, 2 * many, pairs, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "extreme degrees");
  lemon_reference_result reference;
  cr_assert_eq(lemon_reference_solve(&problem, LEMON_PIVOT_FIRST_ELIGIBLE, &reference), LEMON_REFERENCE_OK, "%s",
               reference.message);
  cr_expect_eq(solution.objective, reference.objective);
  matcher_solution_free(&solution);
}
