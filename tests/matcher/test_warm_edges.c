/* test_warm_edges.c: warm starts at the edges of what a night can change, and the pair orders
 * the rows accept. Everything removed, every seat cut to zero, only new pupils, placements
 * pinned as fixed where they are or elsewhere: each warm solve (with and without the change
 * flags) must verify and equal the cold objective, and brute force on small instances. Pairs
 * given in (pupil, vacancy) order take the rows' copying path and must solve exactly as the
 * same pairs shuffled do. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brute_force.h"
#include "check_util.h"
#include "test_problem.h"

enum { SEEDS = 40 };

/* Yesterday's instance: small enough for brute force on every third seed, contested enough that
 * prices are positive and seats run out. */
static test_problem_params edge_shape(uint64_t seed) {
  int small = seed % 3 == 0;
  return (test_problem_params){
      .pupils = small ? 8 : 160,
      .vacancies = small ? 5 : 70,
      .degree_min = 0,
      .degree_max = small ? 4 : 9,
      .seats_max = 3,
      .cost_max = 40,
      .penalty_min = 10,
      .penalty_max = 120,
      .fixed_share = seed % 2 ? 0.1 : 0,
  };
}

/* The warm start as a caller builds it: yesterday's placements and prices re-indexed (here the
 * ids stay, new pupils are MATCHER_UNKNOWN), flags as matcher.h defines them. */
typedef struct {
  int32_t *vacancy_of_pupil;
  int64_t *vacancy_price;
  uint8_t *pupil_changed;
  matcher_warm_start warm;
} warm_hint;

static void hint_from(const matcher_solution *yesterday, int32_t old_pupils, int32_t old_vacancies, int32_t pupils,
                      int32_t vacancies, warm_hint *hint) {
  hint->vacancy_of_pupil = test_alloc((size_t)pupils + 1, sizeof *hint->vacancy_of_pupil);
  hint->vacancy_price = test_alloc((size_t)vacancies + 1, sizeof *hint->vacancy_price);
  hint->pupil_changed = test_alloc((size_t)pupils + 1, 1);
  for (int32_t i = 0; i < pupils; i++) {
    int known = i < old_pupils;
    int32_t vacancy = known ? yesterday->vacancy_of_pupil[i] : MATCHER_UNKNOWN;
    hint->vacancy_of_pupil[i] = vacancy >= vacancies ? MATCHER_UNPLACED : vacancy;
    hint->pupil_changed[i] = !known;
  }
  for (int32_t j = 0; j < vacancies; j++) hint->vacancy_price[j] = j < old_vacancies ? yesterday->vacancy_price[j] : 0;
  hint->warm = (matcher_warm_start){hint->vacancy_of_pupil, hint->vacancy_price, hint->pupil_changed};
}

static void hint_free(warm_hint *hint) {
  free(hint->vacancy_of_pupil);
  free(hint->vacancy_price);
  free(hint->pupil_changed);
}

/* Warm with flags, warm without, cold: all verify (solve_and_verify) and agree, and equal brute
 * force where the instance is small enough. */
static void expect_warm_exact(const matcher_problem *today, const warm_hint *hint, const char *context) {
  matcher_solution cold, flagged, unflagged;
  solve_and_verify(today, NULL, &cold, context);
  solve_and_verify(today, &hint->warm, &flagged, context);
  matcher_warm_start without_flags = hint->warm;
  without_flags.pupil_changed = NULL;
  solve_and_verify(today, &without_flags, &unflagged, context);
  cr_assert_eq(flagged.objective, cold.objective, "%s: warm %lld, cold %lld", context, (long long)flagged.objective,
               (long long)cold.objective);
  cr_assert_eq(unflagged.objective, cold.objective, "%s: warm without flags %lld, cold %lld", context,
               (long long)unflagged.objective, (long long)cold.objective);
  if (today->pupil_count <= 10) {
    int64_t expected = 0;
    int32_t placed = 0;
    cr_assert(brute_force_solve(today, &expected, &placed, NULL), "%s: brute force found no assignment", context);
    cr_assert_eq(cold.objective, expected, "%s: %lld, brute force %lld", context, (long long)cold.objective,
                 (long long)expected);
  }
  matcher_solution_free(&cold);
  matcher_solution_free(&flagged);
  matcher_solution_free(&unflagged);
}

/* Yesterday = the generated instance, solved cold. */
static void yesterday_make(uint64_t seed, test_problem *base, matcher_solution *solution, char *context,
                           size_t context_size, const char *what) {
  test_problem_params params = edge_shape(seed);
  test_problem_generate(&params, seed, base);
  snprintf(context, context_size, "%s, seed %llu", what, (unsigned long long)seed);
  solve_and_verify(&base->problem, NULL, solution, context);
}

/* Sets the problem's pointers after its arrays or counts changed. */
static void repoint(test_problem *problem) {
  problem->problem.unplaced_penalty = problem->unplaced_penalty;
  problem->problem.seats = problem->seats;
  problem->problem.pairs = problem->pairs;
  problem->problem.fixed = problem->fixed;
}

Test(warm_edges, every_pupil_removed) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context, "every pupil removed");
    test_problem today;
    test_problem_copy(&base.problem, &today);
    today.problem.pupil_count = 0;
    today.problem.pair_count = 0;
    today.problem.fixed_count = 0;
    warm_hint hint;
    hint_from(&yesterday, 0, base.problem.vacancy_count, 0, base.problem.vacancy_count, &hint);
    expect_warm_exact(&today.problem, &hint, context);
    /* Every seat is free now: no price may stay. */
    matcher_solution warm;
    solve_and_verify(&today.problem, &hint.warm, &warm, context);
    for (int32_t j = 0; j < today.problem.vacancy_count; j++)
      cr_assert_eq(warm.vacancy_price[j], 0, "%s: vacancy %d kept price %lld", context, j,
                   (long long)warm.vacancy_price[j]);
    matcher_solution_free(&warm);
    hint_free(&hint);
    test_problem_free(&today);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

Test(warm_edges, every_vacancy_removed_and_everything_removed) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context, "every vacancy removed");
    test_problem today;
    test_problem_copy(&base.problem, &today);
    today.problem.vacancy_count = 0;
    today.problem.pair_count = 0;
    today.problem.fixed_count = 0;
    warm_hint hint;
    /* The pupils stay and all had their pairs removed: all flagged. */
    hint_from(&yesterday, base.problem.pupil_count, 0, base.problem.pupil_count, 0, &hint);
    memset(hint.pupil_changed, 1, (size_t)base.problem.pupil_count);
    expect_warm_exact(&today.problem, &hint, context);
    today.problem.pupil_count = 0;
    snprintf(context, sizeof context, "everything removed, seed %llu", (unsigned long long)seed);
    expect_warm_exact(&today.problem, &hint, context);
    hint_free(&hint);
    test_problem_free(&today);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

/* Seats need no flag (matcher.h): the placements at a closed vacancy must be undone anyway. */
static void seats_cut(int every_vacancy) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context,
                   every_vacancy ? "every seat cut to zero" : "half the vacancies cut to zero seats");
    test_problem today;
    test_problem_copy(&base.problem, &today);
    test_rng rng;
    test_rng_seed(&rng, seed * 7919);
    int64_t kept_fixed = 0;
    for (int32_t j = 0; j < today.problem.vacancy_count; j++)
      if (every_vacancy || test_rng_chance(&rng, 0.5)) today.seats[j] = 0;
    for (int64_t f = 0; f < today.problem.fixed_count; f++) /* a fixed pair needs its seat */
      if (today.seats[today.fixed[f].vacancy] > 0) today.fixed[kept_fixed++] = today.fixed[f];
    today.problem.fixed_count = kept_fixed; /* a fixed pair dropped is a change of its pupil */
    warm_hint hint;
    hint_from(&yesterday, base.problem.pupil_count, base.problem.vacancy_count, base.problem.pupil_count,
              base.problem.vacancy_count, &hint);
    for (int64_t f = 0; f < base.problem.fixed_count; f++)
      if (today.seats[base.fixed[f].vacancy] == 0) hint.pupil_changed[base.fixed[f].pupil] = 1;
    expect_warm_exact(&today.problem, &hint, context);
    hint_free(&hint);
    test_problem_free(&today);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

Test(warm_edges, every_seat_cut_to_zero) { seats_cut(1); }

Test(warm_edges, half_the_vacancies_cut_to_zero_seats) { seats_cut(0); }

/* Yesterday knew the first pupils only; today the rest arrive with their pairs. */
Test(warm_edges, new_pupils_only) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem today;
    test_problem_params params = edge_shape(seed);
    test_problem_generate(&params, seed, &today);
    char context[96];
    snprintf(context, sizeof context, "new pupils only, seed %llu", (unsigned long long)seed);
    int32_t known = today.problem.pupil_count - 1 - (int32_t)(seed % 4) * today.problem.pupil_count / 8;
    test_problem before;
    test_problem_copy(&today.problem, &before);
    before.problem.pupil_count = known;
    int64_t pairs = 0, fixed = 0;
    for (int64_t e = 0; e < before.problem.pair_count; e++)
      if (before.pairs[e].pupil < known) before.pairs[pairs++] = before.pairs[e];
    for (int64_t f = 0; f < before.problem.fixed_count; f++)
      if (before.fixed[f].pupil < known) before.fixed[fixed++] = before.fixed[f];
    before.problem.pair_count = pairs;
    before.problem.fixed_count = fixed;
    repoint(&before);
    matcher_solution yesterday;
    solve_and_verify(&before.problem, NULL, &yesterday, context);
    warm_hint hint;
    hint_from(&yesterday, known, today.problem.vacancy_count, today.problem.pupil_count, today.problem.vacancy_count,
              &hint);
    expect_warm_exact(&today.problem, &hint, context);
    hint_free(&hint);
    matcher_solution_free(&yesterday);
    test_problem_free(&before);
    test_problem_free(&today);
  }
}

/* Accepted placements become fixed: where they are (the usual case) or, for some, at another of
 * the pupil's vacancies that still has a seat for them (a coordinator's override). Both are
 * changes of the pupil. */
Test(warm_edges, placements_pinned_as_fixed) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context, "placements pinned as fixed");
    test_problem today;
    test_problem_copy(&base.problem, &today);
    int32_t pupils = today.problem.pupil_count, vacancies = today.problem.vacancy_count;
    free(today.fixed);
    today.fixed = test_alloc((size_t)pupils + 1, sizeof *today.fixed);
    int32_t *fixed_taken = test_alloc((size_t)vacancies + 1, sizeof *fixed_taken);
    uint8_t *is_fixed = test_alloc((size_t)pupils + 1, 1);
    int64_t count = 0;
    for (int64_t f = 0; f < base.problem.fixed_count; f++) {
      today.fixed[count++] = base.fixed[f];
      fixed_taken[base.fixed[f].vacancy]++;
      is_fixed[base.fixed[f].pupil] = 1;
    }
    test_rng rng;
    test_rng_seed(&rng, seed * 104729);
    warm_hint hint;
    hint_from(&yesterday, pupils, vacancies, pupils, vacancies, &hint);
    for (int64_t e = 0; e < today.problem.pair_count; e++) {
      const matcher_pair *pair = &today.pairs[e];
      int32_t pupil = pair->pupil;
      if (is_fixed[pupil] || fixed_taken[pair->vacancy] >= today.seats[pair->vacancy]) continue;
      int at_placement = yesterday.vacancy_of_pupil[pupil] == pair->vacancy;
      if (!(at_placement ? test_rng_chance(&rng, 0.5) : test_rng_chance(&rng, 0.03))) continue;
      today.fixed[count++] = (matcher_fixed_pair){pupil, pair->vacancy};
      fixed_taken[pair->vacancy]++;
      is_fixed[pupil] = 1;
      hint.pupil_changed[pupil] = 1;
    }
    today.problem.fixed_count = count;
    repoint(&today);
    expect_warm_exact(&today.problem, &hint, context);
    hint_free(&hint);
    free(fixed_taken);
    free(is_fixed);
    test_problem_free(&today);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

static int compare_pupil_vacancy(const void *left, const void *right) {
  const matcher_pair *a = left, *b = right;
  if (a->pupil != b->pupil) return a->pupil < b->pupil ? -1 : 1;
  return (a->vacancy > b->vacancy) - (a->vacancy < b->vacancy);
}

/* The rows copy pairs given in order and sort the rest: the same problem must give the same
 * solution (assignment and prices) either way, cold and warm, and verify must prove both. */
Test(warm_edges, pairs_in_row_order_solve_as_shuffled_ones) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context, "pairs in row order");
    test_problem ordered, shuffled;
    test_problem_copy(&base.problem, &ordered);
    qsort(ordered.pairs, (size_t)ordered.problem.pair_count, sizeof *ordered.pairs, compare_pupil_vacancy);
    test_problem_copy(&base.problem, &shuffled);
    test_rng rng;
    test_rng_seed(&rng, seed);
    test_problem_shuffle(&shuffled, &rng);
    int32_t pupils = base.problem.pupil_count, vacancies = base.problem.vacancy_count;
    warm_hint hint;
    hint_from(&yesterday, pupils, vacancies, pupils, vacancies, &hint);
    for (int warm = 0; warm < 2; warm++) {
      matcher_solution a, b;
      solve_and_verify(&ordered.problem, warm ? &hint.warm : NULL, &a, context);
      solve_and_verify(&shuffled.problem, warm ? &hint.warm : NULL, &b, context);
      cr_assert_eq(a.objective, b.objective, "%s", context);
      cr_assert_arr_eq(a.vacancy_of_pupil, b.vacancy_of_pupil, (size_t)pupils * sizeof(int32_t), "%s", context);
      cr_assert_arr_eq(a.vacancy_price, b.vacancy_price, (size_t)vacancies * sizeof(int64_t), "%s", context);
      matcher_solution_free(&a);
      matcher_solution_free(&b);
    }
    hint_free(&hint);
    test_problem_free(&ordered);
    test_problem_free(&shuffled);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

/* In row order except for one repeated pair: the copying path must not let it through. */
Test(warm_edges, a_duplicate_in_ordered_pairs_is_refused) {
  matcher_pair pairs[] = {{0, 0, 5}, {0, 1, 3}, {1, 1, 2}, {1, 1, 4}, {2, 0, 1}};
  int64_t penalties[] = {10, 10, 10};
  int32_t seats[] = {1, 1};
  matcher_problem problem = {3, 2, penalties, seats, 5, pairs, 0, NULL};
  expect_refused(&problem, MATCHER_INVALID, "duplicate in ordered pairs", "duplicate pair", "pupil 1", "vacancy 1");
}

/* matcher_verify reads ordered pairs in place: a wrong price or a pair it cannot find must still
 * be caught. */
Test(warm_edges, verify_on_ordered_pairs_still_rejects) {
  matcher_pair pairs[] = {{0, 0, 5}, {0, 1, 3}, {1, 1, 2}, {2, 0, 1}};
  int64_t penalties[] = {10, 10, 10};
  int32_t seats[] = {1, 1};
  matcher_problem problem = {3, 2, penalties, seats, 4, pairs, 0, NULL};
  matcher_solution solution;
  solve_and_verify(&problem, NULL, &solution, "ordered pairs");
  cr_assert_eq(solution.objective, 2 + 1 + 10, "optimum: 1 at vacancy 1, 2 at vacancy 0, 0 unplaced");
  solution.vacancy_price[1] += 1;
  expect_rejected(&problem, &solution, "ordered pairs, raised price", "reduced cost", NULL);
  solution.vacancy_price[1] -= 1;
  solution.vacancy_of_pupil[2] = 1; /* not a pair of pupil 2 */
  expect_rejected(&problem, &solution, "ordered pairs, placement on no pair", "pupil 2", "not an eligible pair");
  matcher_solution_free(&solution);
}

/* matcher_solve lays a warm solve's network out in the caller's vacancy order, a built network
 * in the order its rows name them: the solutions must be the same to the last price. */
Test(warm_edges, both_network_layouts_give_the_same_warm_solution) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    test_problem base;
    matcher_solution yesterday;
    char context[96];
    yesterday_make(seed, &base, &yesterday, context, sizeof context, "network layouts");
    test_problem today;
    test_problem_copy(&base.problem, &today);
    test_rng rng;
    test_rng_seed(&rng, seed * 31);
    for (int32_t j = 0; j < today.problem.vacancy_count; j++) /* fewer seats: repairs to make */
      if (test_rng_chance(&rng, 0.2) && today.seats[j] > 0) today.seats[j]--;
    int64_t kept_fixed = 0;
    int32_t *taken = test_alloc((size_t)today.problem.vacancy_count + 1, sizeof *taken);
    for (int64_t f = 0; f < today.problem.fixed_count; f++)
      if (taken[today.fixed[f].vacancy] < today.seats[today.fixed[f].vacancy]) {
        taken[today.fixed[f].vacancy]++;
        today.fixed[kept_fixed++] = today.fixed[f];
      }
    today.problem.fixed_count = kept_fixed;
    int32_t pupils = today.problem.pupil_count, vacancies = today.problem.vacancy_count;
    warm_hint hint;
    hint_from(&yesterday, pupils, vacancies, pupils, vacancies, &hint);
    /* Only seats changed, which needs no flag: no pupil is flagged, so matcher_solve keeps the
     * caller's order. */
    matcher_solution direct, built;
    solve_and_verify(&today.problem, &hint.warm, &direct, context);
    matcher_network *network = NULL;
    matcher_error error = {{0}};
    cr_assert_eq(matcher_network_build(&today.problem, &network, &error), MATCHER_OK, "%s: %s", context, error.message);
    cr_assert_eq(matcher_network_solve(network, &hint.warm, &built, &error), MATCHER_OK, "%s: %s", context,
                 error.message);
    cr_assert_arr_eq(direct.vacancy_of_pupil, built.vacancy_of_pupil, (size_t)pupils * sizeof(int32_t), "%s", context);
    cr_assert_arr_eq(direct.pupil_price, built.pupil_price, (size_t)pupils * sizeof(int64_t), "%s", context);
    cr_assert_arr_eq(direct.vacancy_price, built.vacancy_price, (size_t)vacancies * sizeof(int64_t), "%s", context);
    matcher_network_free(network);
    matcher_solution_free(&direct);
    matcher_solution_free(&built);
    hint_free(&hint);
    free(taken);
    test_problem_free(&today);
    test_problem_free(&base);
    matcher_solution_free(&yesterday);
  }
}

/* matcher_check looks at pairs in row order where they are (no rows built) and builds rows for
 * the others: both ways must refuse the same problems with the same words. Each case is tried
 * with its pairs in row order and reversed. */
Test(warm_edges, ordered_and_unordered_pairs_are_refused_alike) {
  int64_t penalties[] = {10, 10, 10};
  int32_t seats[] = {1, 1};
  matcher_fixed_pair not_a_pair[] = {{2, 1}};
  matcher_fixed_pair twice[] = {{0, 0}, {0, 1}};
  matcher_fixed_pair over_seats[] = {{0, 1}, {1, 1}};
  struct {
    matcher_pair pairs[4];
    int64_t fixed_count;
    const matcher_fixed_pair *fixed;
    int64_t penalty_of_pupil_0;
    matcher_status expected;
    const char *fragment, *fragment2;
  } cases[] = {
      {{{0, 0, 5}, {0, 1, 3}, {1, 1, 2}, {2, 0, 1}},
       1,
       not_a_pair,
       10,
       MATCHER_INVALID,
       "not an eligible pair",
       "pupil 2"},
      {{{0, 0, 5}, {0, 1, 3}, {1, 1, 2}, {2, 0, 1}}, 2, twice, 10, MATCHER_INVALID, "already fixed", "pupil 0"},
      {{{0, 0, 5}, {0, 1, 3}, {1, 1, 2}, {2, 0, 1}}, 2, over_seats, 10, MATCHER_INFEASIBLE, "vacancy 1", "seats"},
      {{{0, 0, 5}, {0, 1, MATCHER_VALUE_MAX + 1}, {1, 1, 2}, {2, 0, 1}},
       0,
       NULL,
       10,
       MATCHER_INVALID,
       "cost",
       "vacancy 1"},
      {{{0, 0, 5}, {0, 1, 3}, {1, 1, MATCHER_VALUE_MAX}, {2, 0, MATCHER_VALUE_MAX}},
       0,
       NULL,
       INT64_MAX / 2,
       MATCHER_INVALID,
       "penalty",
       NULL},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    for (int reversed = 0; reversed < 2; reversed++) {
      matcher_pair pairs[4];
      for (int e = 0; e < 4; e++) pairs[e] = cases[k].pairs[reversed ? 3 - e : e];
      int64_t own_penalties[3] = {cases[k].penalty_of_pupil_0, penalties[1], penalties[2]};
      matcher_problem problem = {3, 2, own_penalties, seats, 4, pairs, cases[k].fixed_count, cases[k].fixed};
      char context[64];
      snprintf(context, sizeof context, "case %zu, pairs %s", k, reversed ? "reversed" : "in row order");
      expect_refused(&problem, cases[k].expected, context, cases[k].fragment, cases[k].fragment2, NULL);
    }
}
