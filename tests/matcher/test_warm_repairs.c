/* test_warm_repairs.c: the two phases of a warm start (solve.c: placing, then settling the free
 * seats still priced). Over perturbations of many sizes, shapes, shares and styles the warm
 * result, with and without change flags, is proven optimal and has the cold objective; the
 * stats say which path ran and how the priced seats were repaired; the same problem and warm
 * start give the same assignment and prices whatever the order of the pairs; and after a small
 * local change the warm start scans a part of what a cold solve scans. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "perturb.h"
#include "test_problem.h"

typedef enum { SHAPE_PRODUCTION, SHAPE_CONTESTED, SHAPE_SATURATED, SHAPE_SPARSE, SHAPE_COUNT } shape;

static const char *const shape_names[SHAPE_COUNT] = {"production", "contested", "saturated", "sparse"};

static test_problem_params shape_params(shape kind, int32_t pupils) {
  switch (kind) {
  case SHAPE_PRODUCTION: /* as in test_warm_start.c: penalties far above costs, few pupils left out */
    return (test_problem_params){.pupils = pupils,
                                 .vacancies = pupils / 2 + 1,
                                 .degree_min = 1,
                                 .degree_max = 15,
                                 .seats_max = 3,
                                 .cost_max = 2000,
                                 .penalty_min = 50000,
                                 .penalty_max = 500000,
                                 .fixed_share = 0.05};
  case SHAPE_CONTESTED: /* seats scarce, penalties in the cost range: many pupils left out */
    return (test_problem_params){.pupils = pupils,
                                 .vacancies = pupils / 4 + 1,
                                 .degree_min = 0,
                                 .degree_max = 10,
                                 .seats_max = 2,
                                 .cost_max = 30,
                                 .penalty_min = 0,
                                 .penalty_max = 40,
                                 .fixed_share = 0.1};
  case SHAPE_SATURATED: /* one big region of high prices: every repair can walk all of it */
    return (test_problem_params){.pupils = pupils,
                                 .vacancies = pupils / 6 + 1,
                                 .degree_min = 8,
                                 .degree_max = 25,
                                 .seats_max = 2,
                                 .cost_max = 100,
                                 .penalty_min = 1000000,
                                 .penalty_max = 3000000,
                                 .fixed_share = 0};
  case SHAPE_SPARSE: /* short rows, plenty of seats: many tiny components */
  default:
    return (test_problem_params){.pupils = pupils,
                                 .vacancies = pupils + 1,
                                 .degree_min = 0,
                                 .degree_max = 3,
                                 .seats_max = 1,
                                 .cost_max = 10,
                                 .penalty_min = 5,
                                 .penalty_max = 20,
                                 .fixed_share = 0.02};
  }
}

/* Asserts what the stats promise about the path taken and the repairs. */
static void expect_consistent_stats(const matcher_solution *solution, int warm_given, const char *context) {
  const matcher_stats *stats = &solution->stats;
  if (!warm_given) {
    cr_assert_eq(stats->warm_started, 0, "%s: a cold solve says it was warm", context);
    cr_assert_eq(stats->warm_priced_vacancies, 0, "%s", context);
    cr_assert_eq(stats->reverse_searches, 0, "%s", context);
    cr_assert_eq(stats->reverse_phases, 0, "%s", context);
    return;
  }
  cr_assert_eq(stats->warm_started, !stats->warm_abandoned, "%s: warm_started %d, warm_abandoned %d", context,
               stats->warm_started, stats->warm_abandoned);
  if (!stats->warm_started) return; /* the stats are the cold solve's */
  cr_assert_geq(stats->warm_priced_filled, 0, "%s", context);
  cr_assert_leq(stats->warm_priced_filled, stats->warm_priced_vacancies, "%s: %lld filled of %lld", context,
                (long long)stats->warm_priced_filled, (long long)stats->warm_priced_vacancies);
  int64_t left = stats->warm_priced_vacancies - stats->warm_priced_filled;
  /* Each priced vacancy left after placing takes at least one reverse search, and nothing else does. */
  cr_assert_geq(stats->reverse_searches, left, "%s: %lld reverse searches for %lld priced vacancies", context,
                (long long)stats->reverse_searches, (long long)left);
  if (left == 0) cr_assert_eq(stats->reverse_searches, 0, "%s: reverse searches with no priced vacancy left", context);
  /* Each reverse search run sets out for at least one seat, and a seat is only set out for by one. */
  cr_assert_leq(stats->reverse_phases, stats->reverse_searches, "%s: %lld searches run for %lld seats", context,
                (long long)stats->reverse_phases, (long long)stats->reverse_searches);
  cr_assert_eq(stats->reverse_phases == 0, stats->reverse_searches == 0, "%s: %lld searches run for %lld seats",
               context, (long long)stats->reverse_phases, (long long)stats->reverse_searches);
}

static void solve_three_ways(const test_perturbation *next, const char *context) {
  const matcher_problem *problem = &next->changed.problem;
  matcher_solution cold, warm, unflagged;
  solve_and_verify(problem, NULL, &cold, context);
  expect_consistent_stats(&cold, 0, context);
  solve_and_verify(problem, &next->warm, &warm, context);
  expect_consistent_stats(&warm, 1, context);
  matcher_warm_start without_flags = next->warm;
  without_flags.pupil_changed = NULL;
  solve_and_verify(problem, &without_flags, &unflagged, context);
  expect_consistent_stats(&unflagged, 1, context);
  cr_assert_eq(warm.objective, cold.objective, "%s: warm %lld, cold %lld", context, (long long)warm.objective,
               (long long)cold.objective);
  cr_assert_eq(unflagged.objective, cold.objective, "%s: warm without flags %lld, cold %lld", context,
               (long long)unflagged.objective, (long long)cold.objective);
  matcher_solution_free(&cold);
  matcher_solution_free(&warm);
  matcher_solution_free(&unflagged);
}

Test(warm_repairs, every_size_shape_share_and_style, .timeout = 300) {
  static const int32_t sizes[] = {6, 40, 200, 900};
  static const double shares[] = {0.005, 0.01, 0.05, 0.3};
  uint64_t seed = 0;
  for (int round = 0; round < 3; round++)
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++)
      for (int kind = 0; kind < SHAPE_COUNT; kind++)
        for (size_t h = 0; h < sizeof shares / sizeof shares[0]; h++)
          for (int style = 0; style < 2; style++) {
            seed++;
            char context[128];
            snprintf(context, sizeof context, "%s %d pupils share %.3f %s seed %llu", shape_names[kind], sizes[z],
                     shares[h], style ? "scattered" : "local", (unsigned long long)seed);
            test_problem_params params = shape_params((shape)kind, sizes[z]);
            test_problem base;
            test_problem_generate(&params, seed, &base);
            matcher_solution previous;
            solve_and_verify(&base.problem, NULL, &previous, context);
            test_perturbation next;
            test_perturb(&base.problem, &previous, shares[h], style ? TEST_PERTURB_SCATTERED : TEST_PERTURB_LOCAL, seed,
                         &next);
            solve_three_ways(&next, context);
            test_perturbation_free(&next);
            matcher_solution_free(&previous);
            test_problem_free(&base);
          }
}

static void expect_identical(const matcher_problem *problem, const matcher_solution *a, const matcher_solution *b,
                             const char *context) {
  cr_assert_eq(a->objective, b->objective, "%s", context);
  cr_assert_arr_eq(a->vacancy_of_pupil, b->vacancy_of_pupil, (size_t)problem->pupil_count * sizeof(int32_t),
                   "%s: assignments differ", context);
  cr_assert_arr_eq(a->pupil_price, b->pupil_price, (size_t)problem->pupil_count * sizeof(int64_t),
                   "%s: pupil prices differ", context);
  cr_assert_arr_eq(a->vacancy_price, b->vacancy_price, (size_t)problem->vacancy_count * sizeof(int64_t),
                   "%s: vacancy prices differ", context);
}

/* matcher.h's determinism holds for warm solves too: same problem and same warm start, same
 * answer, however the pairs are ordered and however often it runs. Ties are frequent in the
 * contested shape (costs 0..30), so the order of the phases' searches matters here. */
Test(warm_repairs, warm_solves_are_deterministic) {
  for (uint64_t seed = 1; seed <= 12; seed++) {
    char context[96];
    shape kind = seed % 3 == 0 ? SHAPE_SATURATED : seed % 3 == 1 ? SHAPE_CONTESTED : SHAPE_PRODUCTION;
    snprintf(context, sizeof context, "%s seed %llu", shape_names[kind], (unsigned long long)seed);
    test_problem_params params = shape_params(kind, 400);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution previous;
    solve_and_verify(&base.problem, NULL, &previous, context);
    test_perturbation next;
    test_perturb(&base.problem, &previous, 0.03, seed % 2 ? TEST_PERTURB_LOCAL : TEST_PERTURB_SCATTERED, seed, &next);
    const matcher_problem *problem = &next.changed.problem;
    matcher_solution first, again, shuffled_solution;
    solve_and_verify(problem, &next.warm, &first, context);
    solve_and_verify(problem, &next.warm, &again, context);
    expect_identical(problem, &first, &again, context);

    test_problem shuffled;
    test_problem_copy(problem, &shuffled);
    test_rng rng;
    test_rng_seed(&rng, seed * 7919);
    test_problem_shuffle(&shuffled, &rng);
    solve_and_verify(&shuffled.problem, &next.warm, &shuffled_solution, context);
    expect_identical(problem, &first, &shuffled_solution, context);
    cr_assert_eq(first.stats.pairs_scanned, shuffled_solution.stats.pairs_scanned,
                 "%s: the same searches, whatever the pair order", context);

    matcher_solution_free(&first);
    matcher_solution_free(&again);
    matcher_solution_free(&shuffled_solution);
    test_problem_free(&shuffled);
    test_perturbation_free(&next);
    matcher_solution_free(&previous);
    test_problem_free(&base);
  }
}

/* The point of the phases: after a 1 % local change (new seats next to new pupils, as in a
 * night's registrations) placing first fills most priced seats on the way, and the warm start
 * costs a part of a cold solve. These random networks are one component each, tied together by
 * their prices, so repairs walk far (the benchmark's geographic instances do much better);
 * settling the priced seats first, as before, gave every one of these warm starts up (more than
 * a cold solve in all). The bounds are on the sums over the seeds, in pairs scanned. */
static void small_local_changes(shape kind, int64_t percent_of_cold) {
  int64_t warm_pairs = 0, unflagged_pairs = 0, cold_pairs = 0, priced = 0, filled = 0, kept = 0;
  for (uint64_t seed = 1; seed <= 6; seed++) {
    char context[64];
    snprintf(context, sizeof context, "%s seed %llu", shape_names[kind], (unsigned long long)seed);
    test_problem_params params = shape_params(kind, 3000);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution previous;
    solve_and_verify(&base.problem, NULL, &previous, context);
    test_perturbation next;
    test_perturb(&base.problem, &previous, 0.01, TEST_PERTURB_LOCAL, seed, &next);
    const matcher_problem *problem = &next.changed.problem;
    matcher_solution cold, warm, unflagged;
    solve_and_verify(problem, NULL, &cold, context);
    solve_and_verify(problem, &next.warm, &warm, context);
    matcher_warm_start without_flags = next.warm;
    without_flags.pupil_changed = NULL;
    solve_and_verify(problem, &without_flags, &unflagged, context);
    cr_assert_eq(warm.objective, cold.objective, "%s", context);
    cr_assert_eq(unflagged.objective, cold.objective, "%s", context);
    /* A given-up warm start costs what it wasted plus the cold solve it ran. */
    warm_pairs += warm.stats.pairs_scanned + warm.stats.warm_pairs_wasted;
    unflagged_pairs += unflagged.stats.pairs_scanned + unflagged.stats.warm_pairs_wasted;
    cold_pairs += cold.stats.pairs_scanned;
    priced += warm.stats.warm_priced_vacancies;
    filled += warm.stats.warm_priced_filled;
    kept += warm.stats.warm_started;
    matcher_solution_free(&cold);
    matcher_solution_free(&warm);
    matcher_solution_free(&unflagged);
    test_perturbation_free(&next);
    matcher_solution_free(&previous);
    test_problem_free(&base);
  }
  cr_log_info("%s, 1 %% local: warm %lld, without flags %lld, cold %lld pairs scanned; %lld of 6 kept; %lld of "
              "%lld priced vacancies filled while placing",
              shape_names[kind], (long long)warm_pairs, (long long)unflagged_pairs, (long long)cold_pairs,
              (long long)kept, (long long)filled, (long long)priced);
  cr_assert_gt(priced, 0, "%s: the changes left no priced free seat: the test says nothing", shape_names[kind]);
  cr_assert_gt(filled * 4, priced * 3, "%s: placing filled only %lld of %lld priced vacancies", shape_names[kind],
               (long long)filled, (long long)priced);
  cr_assert_lt(warm_pairs * 100, cold_pairs * percent_of_cold, "%s: warm %lld pairs, cold %lld", shape_names[kind],
               (long long)warm_pairs, (long long)cold_pairs);
  cr_assert_lt(unflagged_pairs * 100, cold_pairs * percent_of_cold, "%s: without flags %lld pairs, cold %lld",
               shape_names[kind], (long long)unflagged_pairs, (long long)cold_pairs);
}

Test(warm_repairs, a_small_local_change_in_a_saturated_network_costs_a_fifth_of_a_cold_solve) {
  small_local_changes(SHAPE_SATURATED, 20);
}

Test(warm_repairs, a_small_local_change_in_a_production_network_costs_half_a_cold_solve) {
  small_local_changes(SHAPE_PRODUCTION, 50);
}
