/* test_determinism.c: the same problem gives the same assignment and the same prices, whatever
 * the order of its pairs and fixed pairs, and however often it is solved (matcher.h: "ties go
 * to the lower vacancy id"). Problems with many equal costs make ties the rule, not the
 * exception. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "check_util.h"
#include "test_problem.h"

static void expect_identical(const matcher_problem *problem, const matcher_solution *a, const matcher_solution *b,
                             const char *context) {
  cr_assert_eq(a->objective, b->objective, "%s", context);
  cr_assert_eq(a->placed, b->placed, "%s", context);
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    cr_assert_eq(a->vacancy_of_pupil[i], b->vacancy_of_pupil[i], "%s: pupil %d at %d vs %d", context, i,
                 a->vacancy_of_pupil[i], b->vacancy_of_pupil[i]);
    cr_assert_eq(a->pupil_price[i], b->pupil_price[i], "%s: pupil %d price %lld vs %lld", context, i,
                 (long long)a->pupil_price[i], (long long)b->pupil_price[i]);
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    cr_assert_eq(a->vacancy_price[j], b->vacancy_price[j], "%s: vacancy %d price %lld vs %lld", context, j,
                 (long long)a->vacancy_price[j], (long long)b->vacancy_price[j]);
}

static void shuffles_do_not_matter(const test_problem_params *params, uint64_t seed) {
  char context[96];
  test_problem original;
  test_problem_generate(params, seed, &original);
  matcher_solution reference;
  snprintf(context, sizeof context, "%d pupils seed %llu", params->pupils, (unsigned long long)seed);
  solve_and_verify(&original.problem, NULL, &reference, context);
  for (uint64_t shuffle = 1; shuffle <= 4; shuffle++) {
    snprintf(context, sizeof context, "%d pupils seed %llu shuffle %llu", params->pupils, (unsigned long long)seed,
             (unsigned long long)shuffle);
    test_problem shuffled;
    test_problem_copy(&original.problem, &shuffled);
    test_rng rng;
    test_rng_seed(&rng, seed * 1000 + shuffle);
    test_problem_shuffle(&shuffled, &rng);
    matcher_solution other;
    solve_and_verify(&shuffled.problem, NULL, &other, context);
    expect_identical(&original.problem, &reference, &other, context);
    matcher_solution_free(&other);
    test_problem_free(&shuffled);
  }
  /* And simply solving again. */
  matcher_solution again;
  solve_and_verify(&original.problem, NULL, &again, context);
  expect_identical(&original.problem, &reference, &again, "solved twice");
  matcher_solution_free(&again);
  matcher_solution_free(&reference);
  test_problem_free(&original);
}

Test(determinism, shuffled_pairs_give_identical_results_with_many_ties) {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    test_problem_params params = {
        .pupils = 300,
        .vacancies = 100,
        .degree_min = 1,
        .degree_max = 10,
        .seats_max = 3,
        .cost_max = 3,
        .penalty_min = 2,
        .penalty_max = 5,
        .fixed_share = 0.1,
    };
    shuffles_do_not_matter(&params, seed);
  }
}

Test(determinism, shuffled_pairs_give_identical_results_on_production_shapes) {
  for (uint64_t seed = 1; seed <= 5; seed++) {
    test_problem_params params = {
        .pupils = 1500,
        .vacancies = 800,
        .degree_min = 1,
        .degree_max = 20,
        .seats_max = 3,
        .cost_max = 5000,
        .penalty_min = 100000,
        .penalty_max = 200000,
        .fixed_share = 0.03,
    };
    shuffles_do_not_matter(&params, seed);
  }
}

Test(determinism, shuffled_pairs_give_identical_results_on_tiny_problems) {
  for (uint64_t seed = 1; seed <= 200; seed++) {
    test_rng rng;
    test_rng_seed(&rng, seed);
    test_problem_params params;
    test_problem_params_small(&rng, 8, 6, &params);
    shuffles_do_not_matter(&params, seed);
  }
}

/* One pupil, two equally good vacancies given in descending order: the lower id wins. */
Test(determinism, equal_costs_go_to_the_lower_vacancy) {
  static const int64_t penalty[] = {100};
  static const int32_t seats[] = {1, 1, 1};
  static const matcher_pair pairs[] = {{0, 2, 7}, {0, 1, 7}};
  matcher_problem problem = {1, 3, penalty, seats, 2, pairs, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "tie");
  cr_expect_eq(solution.vacancy_of_pupil[0], 1);
  matcher_solution_free(&solution);
}
