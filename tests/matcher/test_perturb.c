/* test_perturb.c: the perturbation helper the warm-start tests and the benchmark rely on. Its
 * changed problem must be valid with feasible fixed pairs, its warm start must be the previous
 * solution in the new ids, and its change flags must be honest (a pupil flagged unchanged has
 * exactly its old penalty and pairs), since matcher.h lets dishonest flags spoil a solve. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "perturb.h"
#include "test_problem.h"

static int compare_pairs(const void *left, const void *right) {
  const matcher_pair *a = left, *b = right;
  if (a->pupil != b->pupil) return a->pupil < b->pupil ? -1 : 1;
  if (a->vacancy != b->vacancy) return a->vacancy < b->vacancy ? -1 : 1;
  return a->cost < b->cost ? -1 : a->cost > b->cost;
}

/* The pairs of `problem` sorted by (pupil, vacancy), with start offsets per pupil. */
static matcher_pair *sorted_rows(const matcher_problem *problem, int64_t **start) {
  matcher_pair *sorted = calloc((size_t)problem->pair_count + 1, sizeof *sorted);
  memcpy(sorted, problem->pairs, (size_t)problem->pair_count * sizeof *sorted);
  qsort(sorted, (size_t)problem->pair_count, sizeof *sorted, compare_pairs);
  *start = calloc((size_t)problem->pupil_count + 1, sizeof **start);
  for (int64_t k = 0; k < problem->pair_count; k++) (*start)[sorted[k].pupil + 1]++;
  for (int32_t i = 0; i < problem->pupil_count; i++) (*start)[i + 1] += (*start)[i];
  return sorted;
}

static void check_perturbation(const matcher_problem *old, const matcher_solution *previous, const test_perturbation *p,
                               const char *context) {
  const matcher_problem *changed = &p->changed.problem;
  matcher_error error = {{0}};
  cr_assert_eq(matcher_check(changed, &error), MATCHER_OK, "%s: %s", context, error.message);

  /* Old pairs mapped to new ids (pairs at removed vacancies dropped), per pupil. */
  int64_t *old_start, *new_start;
  matcher_pair *old_sorted = sorted_rows(old, &old_start);
  matcher_pair *new_sorted = sorted_rows(changed, &new_start);
  for (int32_t i = 0; i < old->pupil_count; i++) {
    int32_t ni = p->new_pupil_of_old[i];
    if (ni < 0) continue;
    cr_assert(ni < changed->pupil_count, "%s", context);
    /* Survivors keep their order. */
    cr_assert(p->warm_vacancy_of_pupil[ni] != MATCHER_UNKNOWN, "%s: old pupil %d marked new", context, i);
    int32_t was = previous->vacancy_of_pupil[i];
    int32_t expected = was >= 0 && p->new_vacancy_of_old[was] >= 0 ? p->new_vacancy_of_old[was] : MATCHER_UNPLACED;
    cr_assert_eq(p->warm_vacancy_of_pupil[ni], expected, "%s: pupil %d hint", context, i);
    if (p->warm_pupil_changed[ni]) continue;
    /* Flagged unchanged: same penalty, same pairs (in new ids), same costs. */
    cr_assert_eq(changed->unplaced_penalty[ni], old->unplaced_penalty[i],
                 "%s: pupil %d flagged unchanged but its penalty changed", context, i);
    int64_t o = old_start[i], n = new_start[ni];
    int64_t old_length = old_start[i + 1] - o, new_length = new_start[ni + 1] - n;
    cr_assert_eq(old_length, new_length, "%s: pupil %d flagged unchanged but has %lld pairs, had %lld", context, i,
                 (long long)new_length, (long long)old_length);
    for (int64_t r = 0; r < old_length; r++) {
      /* New ids keep the order of old ids, so sorted rows line up. */
      cr_assert_eq(p->new_vacancy_of_old[old_sorted[o + r].vacancy], new_sorted[n + r].vacancy,
                   "%s: pupil %d flagged unchanged but its pairs changed", context, i);
      cr_assert_eq(old_sorted[o + r].cost, new_sorted[n + r].cost, "%s: pupil %d flagged unchanged but a cost changed",
                   context, i);
    }
  }
  for (int32_t ni = 0; ni < changed->pupil_count; ni++)
    if (p->warm_vacancy_of_pupil[ni] == MATCHER_UNKNOWN)
      cr_assert(p->warm_pupil_changed[ni], "%s: new pupil %d not flagged", context, ni);
  for (int32_t j = 0; j < old->vacancy_count; j++)
    if (p->new_vacancy_of_old[j] >= 0)
      cr_assert_eq(p->warm_vacancy_price[p->new_vacancy_of_old[j]], previous->vacancy_price[j], "%s: vacancy %d price",
                   context, j);
  free(old_sorted);
  free(new_sorted);
  free(old_start);
  free(new_start);
}

Test(perturb, changed_problems_are_valid_and_warm_starts_honest) {
  static const double shares[] = {0.01, 0.1, 0.5, 1.0};
  for (uint64_t seed = 1; seed <= 40; seed++)
    for (int s = 0; s < 4; s++)
      for (int style = 0; style < 2; style++) {
        char context[96];
        snprintf(context, sizeof context, "seed %llu share %.2f style %d", (unsigned long long)seed, shares[s], style);
        test_rng rng;
        test_rng_seed(&rng, seed);
        test_problem_params params;
        test_problem_params_small(&rng, 60, 30, &params);
        test_problem base;
        test_problem_generate(&params, seed, &base);
        matcher_solution previous;
        solve_and_verify(&base.problem, NULL, &previous, context);
        test_perturbation next;
        test_perturb(&base.problem, &previous, shares[s], (test_perturb_style)style, seed, &next);
        check_perturbation(&base.problem, &previous, &next, context);
        test_perturbation_free(&next);
        matcher_solution_free(&previous);
        test_problem_free(&base);
      }
}

Test(perturb, share_controls_the_amount_of_change) {
  test_problem_params params = {
      .pupils = 5000,
      .vacancies = 3000,
      .degree_min = 1,
      .degree_max = 10,
      .seats_max = 3,
      .cost_max = 100,
      .penalty_min = 1000,
      .penalty_max = 2000,
      .fixed_share = 0.05,
  };
  test_problem base;
  test_problem_generate(&params, 1, &base);
  test_perturbation small, large;
  test_perturb(&base.problem, NULL, 0.01, TEST_PERTURB_LOCAL, 1, &small);
  test_perturb(&base.problem, NULL, 0.5, TEST_PERTURB_LOCAL, 1, &large);
  /* About share * (pupils + vacancies) touched plus share/3 of each added. */
  cr_expect(small.changes > 60 && small.changes < 200, "1%%: %lld changes", (long long)small.changes);
  cr_expect(large.changes > 3000 && large.changes < 7000, "50%%: %lld changes", (long long)large.changes);
  cr_expect_null(small.warm_vacancy_of_pupil, "no previous solution, no warm start");
  matcher_error error = {{0}};
  cr_expect_eq(matcher_check(&large.changed.problem, &error), MATCHER_OK, "%s", error.message);
  test_perturbation_free(&small);
  test_perturbation_free(&large);
  test_problem_free(&base);
}

Test(perturb, same_seed_same_change) {
  test_problem_params params = {
      .pupils = 500,
      .vacancies = 300,
      .degree_min = 1,
      .degree_max = 8,
      .seats_max = 2,
      .cost_max = 50,
      .penalty_min = 100,
      .penalty_max = 200,
      .fixed_share = 0.1,
  };
  test_problem base;
  test_problem_generate(&params, 8, &base);
  test_perturbation a, b;
  test_perturb(&base.problem, NULL, 0.2, TEST_PERTURB_SCATTERED, 42, &a);
  test_perturb(&base.problem, NULL, 0.2, TEST_PERTURB_SCATTERED, 42, &b);
  cr_assert_eq(a.changed.problem.pair_count, b.changed.problem.pair_count);
  cr_expect_arr_eq(a.changed.pairs, b.changed.pairs, (size_t)a.changed.problem.pair_count * sizeof(matcher_pair));
  test_perturbation_free(&a);
  test_perturbation_free(&b);
  test_problem_free(&base);
}
