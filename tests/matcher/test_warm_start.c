/* test_warm_start.c: a warm-started solve is exactly as optimal as a cold one. After random
 * changes of 1 %, 10 % and 50 % (perturb.h), over a chain of days, against brute force on tiny
 * problems, and from garbage hints, the warm solve verifies and has the cold objective. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brute_force.h"
#include "check_util.h"
#include "perturb.h"
#include "test_problem.h"

static test_problem_params production_shape(int32_t pupils) {
  return (test_problem_params){
      .pupils = pupils,
      .vacancies = pupils / 2 + 1,
      .degree_min = 1,
      .degree_max = 15,
      .seats_max = 3,
      .cost_max = 2000,
      .penalty_min = 50000,
      .penalty_max = 500000,
      .fixed_share = 0.05,
  };
}

/* A contested shape: seats scarce, penalties in the cost range. */
static test_problem_params contested_shape(int32_t pupils) {
  return (test_problem_params){
      .pupils = pupils,
      .vacancies = pupils / 4 + 1,
      .degree_min = 0,
      .degree_max = 10,
      .seats_max = 2,
      .cost_max = 30,
      .penalty_min = 0,
      .penalty_max = 40,
      .fixed_share = 0.1,
  };
}

/* Solves `problem` cold and with `warm`, asserts both verify and agree; returns the warm one
 * (to chain). */
static void expect_warm_equals_cold(const matcher_problem *problem, const matcher_warm_start *warm,
                                    matcher_solution *warm_solution, const char *context) {
  matcher_solution cold;
  solve_and_verify(problem, NULL, &cold, context);
  solve_and_verify(problem, warm, warm_solution, context);
  cr_assert_eq(warm_solution->objective, cold.objective, "%s: warm %lld, cold %lld", context,
               (long long)warm_solution->objective, (long long)cold.objective);
  matcher_solution_free(&cold);
}

static void changes_of_share(double share, int seeds, test_problem_params (*shape)(int32_t), int32_t pupils) {
  for (uint64_t seed = 1; seed <= (uint64_t)seeds; seed++) {
    test_perturb_style style = seed % 2 ? TEST_PERTURB_SCATTERED : TEST_PERTURB_LOCAL;
    char context[96];
    snprintf(context, sizeof context, "share %.2f %s pupils %d seed %llu", share,
             style == TEST_PERTURB_LOCAL ? "local" : "scattered", pupils, (unsigned long long)seed);
    test_problem_params params = shape(pupils);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution previous;
    solve_and_verify(&base.problem, NULL, &previous, context);

    test_perturbation next;
    test_perturb(&base.problem, &previous, share, style, seed, &next);
    cr_assert_gt(next.changes, 0, "%s: the perturbation changed nothing", context);
    matcher_solution warm;
    expect_warm_equals_cold(&next.changed.problem, &next.warm, &warm, context);
    matcher_solution_free(&warm);

    /* Without the change flags every pupil is re-checked: still exact. */
    matcher_warm_start unflagged = next.warm;
    unflagged.pupil_changed = NULL;
    expect_warm_equals_cold(&next.changed.problem, &unflagged, &warm, context);
    matcher_solution_free(&warm);

    test_perturbation_free(&next);
    matcher_solution_free(&previous);
    test_problem_free(&base);
  }
}

Test(warm_start, one_percent_changed) {
  changes_of_share(0.01, 12, production_shape, 1500);
  changes_of_share(0.01, 12, contested_shape, 1500);
}

Test(warm_start, ten_percent_changed) {
  changes_of_share(0.10, 15, production_shape, 400);
  changes_of_share(0.10, 15, contested_shape, 400);
}

Test(warm_start, half_changed) {
  changes_of_share(0.50, 15, production_shape, 300);
  changes_of_share(0.50, 15, contested_shape, 300);
}

/* Tiny problems, big changes, judged by the exhaustive optimum rather than by a cold solve. */
Test(warm_start, tiny_problems_against_brute_force) {
  for (uint64_t seed = 1; seed <= 300; seed++) {
    char context[64];
    snprintf(context, sizeof context, "tiny seed %llu", (unsigned long long)seed);
    test_rng rng;
    test_rng_seed(&rng, seed * 15485863);
    test_problem_params params;
    test_problem_params_small(&rng, 7, 5, &params);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution previous;
    solve_and_verify(&base.problem, NULL, &previous, context);
    test_perturbation next;
    test_perturb(&base.problem, &previous, 0.2 + 0.6 * (double)(seed % 4) / 3,
                 seed % 3 ? TEST_PERTURB_SCATTERED : TEST_PERTURB_LOCAL, seed, &next);
    int64_t expected = 0;
    int32_t placed = 0;
    cr_assert(brute_force_solve(&next.changed.problem, &expected, &placed, NULL), "%s", context);
    matcher_solution warm;
    solve_and_verify(&next.changed.problem, &next.warm, &warm, context);
    cr_assert_eq(warm.objective, expected, "%s: warm %lld, brute force %lld", context, (long long)warm.objective,
                 (long long)expected);
    matcher_solution_free(&warm);
    test_perturbation_free(&next);
    matcher_solution_free(&previous);
    test_problem_free(&base);
  }
}

/* Day after day, each warm start taken from the previous warm result. */
Test(warm_start, a_fortnight_of_nightly_rematches) {
  for (uint64_t seed = 1; seed <= 4; seed++) {
    test_problem_params params = seed % 2 ? production_shape(800) : contested_shape(800);
    test_problem today;
    test_problem_generate(&params, seed, &today);
    matcher_solution solution;
    solve_and_verify(&today.problem, NULL, &solution, "day 0");
    for (int day = 1; day <= 14; day++) {
      char context[64];
      snprintf(context, sizeof context, "seed %llu day %d", (unsigned long long)seed, day);
      test_perturbation next;
      test_perturb(&today.problem, &solution, day % 3 ? 0.01 : 0.1,
                   day % 2 ? TEST_PERTURB_LOCAL : TEST_PERTURB_SCATTERED, seed * 100 + (uint64_t)day, &next);
      matcher_solution tomorrow;
      expect_warm_equals_cold(&next.changed.problem, &next.warm, &tomorrow, context);
      matcher_solution_free(&solution);
      solution = tomorrow;
      /* The changed problem becomes today's; the perturbation's other parts go. */
      test_problem_free(&today);
      today = next.changed;
      memset(&next.changed, 0, sizeof next.changed);
      test_perturbation_free(&next);
    }
    matcher_solution_free(&solution);
    test_problem_free(&today);
  }
}

/* Unchanged problem, own solution as the hint: nothing needs re-placing. */
Test(warm_start, unchanged_problem_keeps_its_assignment) {
  for (uint64_t seed = 1; seed <= 10; seed++) {
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    test_problem_params params = seed % 2 ? production_shape(500) : contested_shape(500);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution cold, warm;
    solve_and_verify(&base.problem, NULL, &cold, context);
    uint8_t *nothing_changed = calloc((size_t)base.problem.pupil_count, 1);
    matcher_warm_start hint = {cold.vacancy_of_pupil, cold.vacancy_price, nothing_changed};
    solve_and_verify(&base.problem, &hint, &warm, context);
    cr_assert_eq(warm.objective, cold.objective, "%s", context);
    cr_assert_arr_eq(warm.vacancy_of_pupil, cold.vacancy_of_pupil,
                     (size_t)base.problem.pupil_count * sizeof *cold.vacancy_of_pupil,
                     "%s: an optimal, unchanged assignment should be kept", context);
    cr_expect_eq(warm.stats.repaired, 0, "%s: %lld repaired", context, (long long)warm.stats.repaired);
    /* No free seat left priced, so no reverse search: matcher_solve never builds the columns. */
    cr_expect_eq(warm.stats.reverse_phases, 0, "%s", context);
    cr_expect_eq(warm.stats.working_bytes, cold.stats.working_bytes, "%s: %zu bytes warm, %zu cold: columns built",
                 context, warm.stats.working_bytes, cold.stats.working_bytes);
    free(nothing_changed);
    matcher_solution_free(&warm);
    matcher_solution_free(&cold);
    test_problem_free(&base);
  }
}

/* A priced vacancy given more seats than it has candidates can never fill, so its price has to
 * drop to zero and each of its candidates (flagged unchanged) be checked: without the columns
 * (nothing else needs them) they are found from the rows. The warm start stays exact; a seat
 * freed elsewhere (a placed pupil's pairs all gone) then needs the settling phase and its
 * columns, built on the way. */
Test(warm_start, prices_that_must_drop_without_the_columns) {
  int settled = 0;
  for (uint64_t seed = 1; seed <= 20; seed++) {
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    test_problem_params params = contested_shape(400);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution cold, warm;
    solve_and_verify(&base.problem, NULL, &cold, context);
    int32_t widened = -1;
    for (int32_t j = 0; j < base.problem.vacancy_count && widened < 0; j++)
      if (cold.vacancy_price[j] > 0) widened = j;
    cr_assert_geq(widened, 0, "%s: a contested shape prices some vacancy", context);
    base.seats[widened] = base.problem.pupil_count + 1;
    uint8_t *changed = calloc((size_t)base.problem.pupil_count, 1);
    matcher_warm_start hint = {cold.vacancy_of_pupil, cold.vacancy_price, changed};
    expect_warm_equals_cold(&base.problem, &hint, &warm, context);
    cr_expect_eq(warm.stats.warm_started, 1, "%s", context);
    matcher_solution_free(&warm);
    /* Now also a placed pupil leaves its priced seat (its penalty drops to 0, flagged). */
    int32_t leaving = -1;
    for (int32_t i = 0; i < base.problem.pupil_count && leaving < 0; i++) {
      int32_t at = cold.vacancy_of_pupil[i];
      int fixed = 0;
      for (int64_t f = 0; f < base.problem.fixed_count; f++) fixed |= base.fixed[f].pupil == i;
      if (at >= 0 && at != widened && cold.vacancy_price[at] > 0 && !fixed) leaving = i;
    }
    if (leaving >= 0) {
      base.unplaced_penalty[leaving] = 0;
      changed[leaving] = 1;
      expect_warm_equals_cold(&base.problem, &hint, &warm, context);
      cr_expect_eq(warm.stats.warm_started, 1, "%s", context);
      if (warm.stats.reverse_phases > 0) {
        settled++;
        cr_expect_gt(warm.stats.working_bytes, cold.stats.working_bytes, "%s: settled without columns?", context);
      }
      matcher_solution_free(&warm);
    }
    free(changed);
    matcher_solution_free(&cold);
    test_problem_free(&base);
  }
  cr_expect_gt(settled, 0, "no seed needed the settling phase");
}

/* Hints that have nothing to do with the problem: random vacancies (mostly not eligible),
 * random unplaced/unknown marks, random prices. The solver must repair all of it. */
Test(warm_start, garbage_hints_still_give_the_optimum, .timeout = 120) {
  for (uint64_t seed = 1; seed <= 40; seed++) {
    char context[64];
    snprintf(context, sizeof context, "garbage seed %llu", (unsigned long long)seed);
    test_rng rng;
    test_rng_seed(&rng, seed);
    test_problem_params params = seed % 2 ? production_shape(300) : contested_shape(300);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    int32_t n = base.problem.pupil_count, m = base.problem.vacancy_count;
    int32_t *vacancy_of_pupil = calloc((size_t)n, sizeof *vacancy_of_pupil);
    int64_t *vacancy_price = calloc((size_t)m, sizeof *vacancy_price);
    uint8_t *changed = calloc((size_t)n, 1);
    for (int32_t i = 0; i < n; i++) {
      uint64_t kind = test_rng_below(&rng, 4);
      vacancy_of_pupil[i] = kind == 0   ? MATCHER_UNPLACED
                            : kind == 1 ? MATCHER_UNKNOWN
                                        : (int32_t)test_rng_below(&rng, (uint64_t)m);
    }
    for (int32_t j = 0; j < m; j++)
      vacancy_price[j] = test_rng_chance(&rng, 0.3) ? 0 : test_rng_range(&rng, 0, 2 * params.penalty_max);
    /* Garbage breaks any promise of "unchanged", so the flags are honest only all set. */
    memset(changed, 1, (size_t)n);
    matcher_warm_start flagged = {vacancy_of_pupil, vacancy_price, changed};
    matcher_warm_start unflagged = {vacancy_of_pupil, vacancy_price, NULL};
    matcher_warm_start prices_only = {NULL, vacancy_price, NULL};
    matcher_warm_start places_only = {vacancy_of_pupil, NULL, NULL};
    const matcher_warm_start *hints[] = {&flagged, &unflagged, &prices_only, &places_only};
    for (int h = 0; h < 4; h++) {
      matcher_solution warm;
      char hint_context[96];
      snprintf(hint_context, sizeof hint_context, "%s hint %d", context, h);
      expect_warm_equals_cold(&base.problem, hints[h], &warm, hint_context);
      matcher_solution_free(&warm);
    }
    free(vacancy_of_pupil);
    free(vacancy_price);
    free(changed);
    test_problem_free(&base);
  }
}

/* Values no previous solution can hold: out-of-range vacancies, negative and enormous prices.
 * Either refused as invalid with a message, or repaired to the exact optimum; never a crash or
 * a wrong answer. */
Test(warm_start, impossible_hint_values_are_handled, .timeout = 120) {
  test_problem_params params = contested_shape(200);
  test_problem base;
  test_problem_generate(&params, 77, &base);
  int32_t n = base.problem.pupil_count, m = base.problem.vacancy_count;
  matcher_solution cold;
  solve_and_verify(&base.problem, NULL, &cold, "cold");
  static const int32_t bad_vacancies[] = {-3, -1000, INT32_MIN, INT32_MAX};
  static const int64_t bad_prices[] = {-1, INT64_MIN, MATCHER_VALUE_MAX + 1, INT64_MAX};
  int32_t *vacancy_of_pupil = calloc((size_t)n, sizeof *vacancy_of_pupil);
  int64_t *vacancy_price = calloc((size_t)m, sizeof *vacancy_price);
  for (int trial = 0; trial < 8; trial++) {
    memcpy(vacancy_of_pupil, cold.vacancy_of_pupil, (size_t)n * sizeof *vacancy_of_pupil);
    memcpy(vacancy_price, cold.vacancy_price, (size_t)m * sizeof *vacancy_price);
    for (int32_t i = trial % 4; i < n; i += 4) vacancy_of_pupil[i] = trial < 4 ? bad_vacancies[trial] : m + trial;
    for (int32_t j = trial % 3; j < m; j += 3) vacancy_price[j] = bad_prices[trial % 4];
    matcher_warm_start hint = {vacancy_of_pupil, vacancy_price, NULL};
    matcher_solution warm;
    matcher_error error = {{0}};
    matcher_status status = matcher_solve(&base.problem, &hint, &warm, &error);
    if (status == MATCHER_INVALID) {
      cr_expect_neq(error.message[0], '\0', "trial %d: refused without a message", trial);
      continue;
    }
    cr_assert_eq(status, MATCHER_OK, "trial %d: %s: %s", trial, matcher_status_name(status), error.message);
    matcher_error verify_error = {{0}};
    cr_expect_eq(matcher_verify(&base.problem, &warm, &verify_error), MATCHER_OK, "trial %d: %s", trial,
                 verify_error.message);
    cr_expect_eq(warm.objective, cold.objective, "trial %d", trial);
    matcher_solution_free(&warm);
  }
  free(vacancy_of_pupil);
  free(vacancy_price);
  matcher_solution_free(&cold);
  test_problem_free(&base);
}

/* matcher.h: flags that claim "unchanged" for a pupil whose pairs changed may leave the result
 * unproven, and matcher_verify must then say so. Whatever verify accepts must be optimal. */
Test(warm_start, broken_change_promises_never_pass_as_optimal, .timeout = 60) {
  int accepted = 0, caught = 0;
  for (uint64_t seed = 1; seed <= 30; seed++) {
    char context[64];
    snprintf(context, sizeof context, "lying flags seed %llu", (unsigned long long)seed);
    test_problem_params params = contested_shape(300);
    test_problem base;
    test_problem_generate(&params, seed, &base);
    matcher_solution previous, cold;
    solve_and_verify(&base.problem, NULL, &previous, context);
    test_perturbation next;
    test_perturb(&base.problem, &previous, 0.3, TEST_PERTURB_SCATTERED, seed, &next);
    solve_and_verify(&next.changed.problem, NULL, &cold, context);
    memset(next.warm_pupil_changed, 0, (size_t)next.changed.problem.pupil_count);
    matcher_solution warm;
    matcher_error error = {{0}};
    matcher_status status = matcher_solve(&next.changed.problem, &next.warm, &warm, &error);
    cr_assert_eq(status, MATCHER_OK, "%s: %s", context, error.message);
    if (matcher_verify(&next.changed.problem, &warm, &error) == MATCHER_OK) {
      accepted++;
      cr_assert_eq(warm.objective, cold.objective, "%s: verify accepted objective %lld, the optimum is %lld", context,
                   (long long)warm.objective, (long long)cold.objective);
    } else {
      caught++;
    }
    matcher_solution_free(&warm);
    matcher_solution_free(&cold);
    test_perturbation_free(&next);
    matcher_solution_free(&previous);
    test_problem_free(&base);
  }
  cr_log_info("broken promises: %d results still optimal, %d caught by verify", accepted, caught);
}

/* The network API: build once, solve cold, warm and cold again; each solve independent. */
Test(warm_start, network_solves_are_independent) {
  test_problem_params params = production_shape(600);
  test_problem base;
  test_problem_generate(&params, 5, &base);
  matcher_network *network = NULL;
  matcher_error error = {{0}};
  cr_assert_eq(matcher_network_build(&base.problem, &network, &error), MATCHER_OK, "%s", error.message);
  matcher_solution first, garbage_warm, again;
  cr_assert_eq(matcher_network_solve(network, NULL, &first, &error), MATCHER_OK, "%s", error.message);
  int32_t n = base.problem.pupil_count, m = base.problem.vacancy_count;
  int32_t *everyone_at_zero = calloc((size_t)n, sizeof *everyone_at_zero);
  int64_t *high_prices = calloc((size_t)m, sizeof *high_prices);
  for (int32_t j = 0; j < m; j++) high_prices[j] = 400000;
  matcher_warm_start hint = {everyone_at_zero, high_prices, NULL};
  cr_assert_eq(matcher_network_solve(network, &hint, &garbage_warm, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(matcher_network_solve(network, NULL, &again, &error), MATCHER_OK, "%s", error.message);
  cr_expect_eq(matcher_verify(&base.problem, &garbage_warm, &error), MATCHER_OK, "%s", error.message);
  cr_expect_eq(garbage_warm.objective, first.objective);
  cr_expect_eq(again.objective, first.objective);
  cr_expect_arr_eq(again.vacancy_of_pupil, first.vacancy_of_pupil, (size_t)n * sizeof(int32_t),
                   "a second cold solve on the same network differs from the first");
  cr_expect_arr_eq(again.vacancy_price, first.vacancy_price, (size_t)m * sizeof(int64_t));
  matcher_solution direct;
  solve_and_verify(&base.problem, NULL, &direct, "matcher_solve");
  cr_expect_arr_eq(direct.vacancy_of_pupil, first.vacancy_of_pupil, (size_t)n * sizeof(int32_t),
                   "matcher_solve differs from build + solve");
  free(everyone_at_zero);
  free(high_prices);
  matcher_solution_free(&first);
  matcher_solution_free(&garbage_warm);
  matcher_solution_free(&again);
  matcher_solution_free(&direct);
  matcher_network_free(network);
  test_problem_free(&base);
}

/* The smallest broken promise found by the test above (perturbation seed 33, reduced): pupil 0
 * is kept at vacancy 0 (cost 25) and flagged unchanged although its pair to vacancy 1 costs 0.
 * Whatever the solver makes of it, it must finish, and verify must not call a worse answer
 * optimal. Optimum: 0 -> 1, 1 -> 0, 2 unplaced = 37. */
Test(warm_start, stale_placement_flagged_unchanged_terminates, .timeout = 20) {
  static const int64_t penalty[] = {40, 26, 37};
  static const int32_t seats[] = {1, 1};
  static const matcher_pair pairs[] = {{0, 1, 0}, {0, 0, 25}, {2, 1, 20}, {1, 0, 0}, {2, 0, 26}};
  matcher_problem problem = {3, 2, penalty, seats, 5, pairs, 0, NULL};
  static const int32_t hint[] = {0, MATCHER_UNPLACED, MATCHER_UNPLACED};
  static const int64_t prices[] = {0, 0};
  static const uint8_t changed[] = {0, 1, 1};
  matcher_warm_start warm = {hint, prices, changed};
  matcher_solution solution;
  matcher_error error = {{0}};
  matcher_status status = matcher_solve(&problem, &warm, &solution, &error);
  cr_assert_eq(status, MATCHER_OK, "%s", error.message);
  if (matcher_verify(&problem, &solution, &error) == MATCHER_OK) cr_expect_eq(solution.objective, 37);
  matcher_solution_free(&solution);
  /* With honest flags the same hint gives the optimum. */
  static const uint8_t honest[] = {1, 1, 1};
  warm.pupil_changed = honest;
  solve_and_verify(&problem, &warm, &solution, "honest flags");
  cr_expect_eq(solution.objective, 37);
  matcher_solution_free(&solution);
}

/* One saturated region: pupils far outnumber seats, every pupil can reach many vacancies and
 * penalties are all different, so prices tie the whole region together. */
typedef struct {
  int32_t pupils, vacancies;
  int64_t *penalty;
  int32_t *seats;
  matcher_pair *pairs;
  int64_t pair_count;
} saturated_region;

static void saturated_region_make(saturated_region *region, int32_t pupils, int32_t vacancies, int32_t degree,
                                  uint32_t seed) {
  region->pupils = pupils;
  region->vacancies = vacancies;
  region->penalty = malloc((size_t)pupils * sizeof *region->penalty);
  region->seats = malloc((size_t)vacancies * sizeof *region->seats);
  region->pairs = malloc((size_t)pupils * (size_t)degree * sizeof *region->pairs);
  region->pair_count = 0;
  for (int32_t j = 0; j < vacancies; j++) region->seats[j] = 1;
  uint32_t state = seed;
  for (int32_t i = 0; i < pupils; i++) {
    region->penalty[i] = 1000000 + (int64_t)i * 1000;
    int32_t first = (int32_t)((uint32_t)i * 7u % (uint32_t)vacancies);
    for (int32_t d = 0; d < degree; d++) {
      state = state * 1103515245u + 12345u;
      region->pairs[region->pair_count++] =
          (matcher_pair){i, (first + d * 3) % vacancies, (int64_t)(state >> 16) % 100};
    }
  }
}

static matcher_problem saturated_problem(const saturated_region *region) {
  return (matcher_problem){
      region->pupils, region->vacancies, region->penalty, region->seats, region->pair_count, region->pairs, 0, NULL};
}

/* Tonight's problem: yesterday's without `removed` of its placed pupils (the ones with the
 * lowest ids), with yesterday's solution re-indexed as the warm start. */
static void remove_placed_pupils(const saturated_region *yesterday, const matcher_solution *solution, int32_t removed,
                                 saturated_region *tonight, int32_t *warm_vacancy_of_pupil) {
  int32_t *new_id = malloc((size_t)yesterday->pupils * sizeof *new_id);
  int32_t kept = 0;
  for (int32_t i = 0; i < yesterday->pupils; i++) {
    bool remove = removed > 0 && solution->vacancy_of_pupil[i] != MATCHER_UNPLACED;
    removed -= remove;
    new_id[i] = remove ? -1 : kept++;
  }
  *tonight = *yesterday;
  tonight->pupils = kept;
  tonight->penalty = malloc((size_t)kept * sizeof *tonight->penalty);
  tonight->seats = malloc((size_t)yesterday->vacancies * sizeof *tonight->seats);
  memcpy(tonight->seats, yesterday->seats, (size_t)yesterday->vacancies * sizeof *tonight->seats);
  tonight->pairs = malloc((size_t)yesterday->pair_count * sizeof *tonight->pairs);
  tonight->pair_count = 0;
  for (int32_t i = 0; i < yesterday->pupils; i++)
    if (new_id[i] >= 0) {
      tonight->penalty[new_id[i]] = yesterday->penalty[i];
      warm_vacancy_of_pupil[new_id[i]] = solution->vacancy_of_pupil[i];
    }
  for (int64_t e = 0; e < yesterday->pair_count; e++)
    if (new_id[yesterday->pairs[e].pupil] >= 0) {
      tonight->pairs[tonight->pair_count] = yesterday->pairs[e];
      tonight->pairs[tonight->pair_count++].pupil = new_id[yesterday->pairs[e].pupil];
    }
  free(new_id);
}

static void saturated_region_free(saturated_region *region) {
  free(region->penalty);
  free(region->seats);
  free(region->pairs);
}

/* A warm start whose every repair searches the whole region is dropped after a sample of
 * repairs (the projection), and a cold solve gives the answer; a warm start with a few repairs
 * is kept. Either way the result equals the cold one. */
static void warm_after_removing(int32_t removed, int expect_abandoned) {
  char context[64];
  snprintf(context, sizeof context, "saturated region, %d placed pupils removed", removed);
  saturated_region yesterday, tonight;
  saturated_region_make(&yesterday, 3000, 600, 40, 7);
  matcher_problem before = saturated_problem(&yesterday);
  matcher_solution previous;
  solve_and_verify(&before, NULL, &previous, context);
  int32_t *warm_vacancy_of_pupil = malloc((size_t)yesterday.pupils * sizeof *warm_vacancy_of_pupil);
  remove_placed_pupils(&yesterday, &previous, removed, &tonight, warm_vacancy_of_pupil);
  matcher_problem after = saturated_problem(&tonight);
  uint8_t *unchanged = calloc((size_t)tonight.pupils, 1);
  matcher_warm_start warm = {warm_vacancy_of_pupil, previous.vacancy_price, unchanged};
  matcher_solution cold, warmed;
  solve_and_verify(&after, NULL, &cold, context);
  solve_and_verify(&after, &warm, &warmed, context);
  cr_assert_eq(warmed.objective, cold.objective, "%s", context);
  cr_assert_eq(warmed.stats.warm_abandoned, expect_abandoned, "%s: warm_abandoned %d, %lld repairs searched", context,
               warmed.stats.warm_abandoned, (long long)warmed.stats.reverse_searches);
  cr_assert_eq(warmed.stats.warm_started, !expect_abandoned, "%s: the stats name the wrong path", context);
  if (expect_abandoned) {
    cr_assert_arr_eq(warmed.vacancy_of_pupil, cold.vacancy_of_pupil,
                     (size_t)tonight.pupils * sizeof *cold.vacancy_of_pupil, "%s: a dropped warm start is a cold solve",
                     context);
    /* Given up once the sample's projection showed it: the scans wasted stay below one cold
     * solve, where spending the whole budget (8 scans per pair) first would waste three. */
    cr_assert_gt(warmed.stats.warm_pairs_wasted, 0, "%s", context);
    cr_assert_lt(warmed.stats.warm_pairs_wasted, cold.stats.pairs_scanned, "%s: %lld pairs wasted, cold %lld", context,
                 (long long)warmed.stats.warm_pairs_wasted, (long long)cold.stats.pairs_scanned);
  } else {
    cr_assert_lt(warmed.stats.pairs_scanned, cold.stats.pairs_scanned, "%s: a kept warm start is cheaper", context);
  }
  free(unchanged);
  free(warm_vacancy_of_pupil);
  matcher_solution_free(&previous);
  matcher_solution_free(&cold);
  matcher_solution_free(&warmed);
  saturated_region_free(&yesterday);
  saturated_region_free(&tonight);
}

Test(warm_start, a_hopeless_warm_start_is_dropped_early) { warm_after_removing(120, 1); }

Test(warm_start, a_small_repair_keeps_the_warm_start) { warm_after_removing(3, 0); }
