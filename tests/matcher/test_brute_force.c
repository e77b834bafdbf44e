/* test_brute_force.c: libmatcher's optimum equals the exhaustive optimum on hundreds of tiny
 * random problems (up to 8 pupils, 6 vacancies, seats 0..3, fixed pairs, penalties below and
 * far above the costs), and every solution passes matcher_verify. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "brute_force.h"
#include "check_util.h"
#include "test_problem.h"

/* Solves one generated problem both ways and compares. */
static void compare_with_brute_force(const test_problem_params *params, uint64_t seed, const char *family) {
  char context[96];
  snprintf(context, sizeof context, "%s seed %llu", family, (unsigned long long)seed);
  test_problem generated;
  test_problem_generate(params, seed, &generated);
  int64_t expected = 0;
  int32_t expected_placed = 0;
  cr_assert(brute_force_solve(&generated.problem, &expected, &expected_placed, NULL),
            "%s: generated fixed pairs must be feasible", context);
  matcher_solution solution;
  solve_and_verify(&generated.problem, NULL, &solution, context);
  cr_assert_eq(solution.objective, expected,
               "%s: matcher %lld, brute force %lld (%d pupils, "
               "%d vacancies, %lld pairs, %lld fixed)",
               context, (long long)solution.objective, (long long)expected, generated.problem.pupil_count,
               generated.problem.vacancy_count, (long long)generated.problem.pair_count,
               (long long)generated.problem.fixed_count);
  matcher_solution_free(&solution);
  test_problem_free(&generated);
}

Test(brute_force, random_tiny_problems) {
  for (uint64_t seed = 1; seed <= 600; seed++) {
    test_rng rng;
    test_rng_seed(&rng, seed * 7919);
    test_problem_params params;
    test_problem_params_small(&rng, 8, 6, &params);
    compare_with_brute_force(&params, seed, "random");
  }
}

/* Every pupil eligible nearly everywhere and few seats: long augmenting paths, many ties. */
Test(brute_force, crowded_tiny_problems) {
  for (uint64_t seed = 1; seed <= 300; seed++) {
    test_rng rng;
    test_rng_seed(&rng, seed * 104729);
    test_problem_params params = {
        .pupils = 8,
        .vacancies = (int32_t)test_rng_range(&rng, 1, 6),
        .seats_max = (int32_t)test_rng_range(&rng, 1, 2),
        .cost_max = test_rng_chance(&rng, 0.5) ? 2 : 50,
        .penalty_min = 0,
        .fixed_share = test_rng_chance(&rng, 0.5) ? 0.2 : 0.0,
    };
    params.degree_min = params.vacancies - 1;
    params.degree_max = params.vacancies;
    params.penalty_max = test_rng_chance(&rng, 0.5) ? params.cost_max : 1000;
    compare_with_brute_force(&params, seed, "crowded");
  }
}

/* Equal costs and equal penalties everywhere: the optimum is unique in value only, and the
 * solver must still prove it. */
Test(brute_force, all_ties) {
  for (uint64_t seed = 1; seed <= 100; seed++) {
    test_problem_params params = {
        .pupils = 8,
        .vacancies = 5,
        .degree_min = 1,
        .degree_max = 5,
        .seats_max = 2,
        .cost_max = 0,
        .penalty_min = 0,
        .penalty_max = (int64_t)(seed % 3),
        .fixed_share = seed % 2 ? 0.3 : 0.0,
    };
    compare_with_brute_force(&params, seed, "ties");
  }
}
