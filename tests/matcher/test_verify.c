/* test_verify.c: matcher_verify, the independent optimality proof. It accepts a hand-solved
 * optimal solution, rejects each kind of corruption with a message naming what is wrong, and on
 * random problems accepts every solve and rejects corruptions that must break a condition. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "test_problem.h"

/* The hand instance (test_oracles.c checks that both oracles find its optimum, 10):
 *   pupil 0: vacancy 0 cost 2, vacancy 1 cost 5; penalty 10
 *   pupil 1: vacancy 0 cost 1, vacancy 1 cost 3; penalty 10
 *   pupil 2: vacancy 1 cost 4, vacancy 3 cost 1; penalty 3 (cheaper to leave unplaced)
 *   pupil 3: vacancy 1 cost 1, fixed;           penalty 7
 *   pupil 4: vacancy 3 cost 1, fixed;           penalty 7
 *   seats: vacancy 0: 1, vacancy 1: 2, vacancy 2: 1 (no pairs), vacancy 3: 1 (the fixed one)
 * Optimum: 0->0, 1->1, 2 unplaced, 3->1 and 4->3 (fixed): 2 + 3 + 3 + 1 + 1 = 10, 4 placed.
 * Prices: u = (4, 3, 3, 1, 1), p = (2, 0, 0, 2). Reduced costs c + p - u of the pupils that are
 * not fixed: (0,0)=0 (0,1)=1 (1,0)=0 (1,1)=0 (2,1)=1 (2,3)=0; the unplaced pupil 2 has u = U = 3;
 * only full vacancies (0 and 3) have prices; dual value 4 + 3 + 3 - 1*2 - 0*2 (vacancy 3's seat
 * is taken by a fixed pair) + fixed costs 2 = 10. Vacancy 3's price protects a non-chosen pair
 * only, so lowering it breaks exactly one condition. */
static const int64_t hand_penalty[] = {10, 10, 3, 7, 7};
static const int32_t hand_seats[] = {1, 2, 1, 1};
static const matcher_pair hand_pairs[] = {
    {0, 0, 2}, {0, 1, 5}, {1, 0, 1}, {1, 1, 3}, {2, 1, 4}, {2, 3, 1}, {3, 1, 1}, {4, 3, 1},
};
static const matcher_fixed_pair hand_fixed[] = {{3, 1}, {4, 3}};

typedef struct {
  matcher_problem problem;
  int32_t vacancy_of_pupil[5];
  int64_t pupil_price[5];
  int64_t vacancy_price[4];
  matcher_solution solution;
} hand_case;

static void hand_case_init(hand_case *c) {
  c->problem = (matcher_problem){5, 4, hand_penalty, hand_seats, 8, hand_pairs, 2, hand_fixed};
  const int32_t assignment[] = {0, 1, MATCHER_UNPLACED, 1, 3};
  const int64_t u[] = {4, 3, 3, 1, 1};
  const int64_t p[] = {2, 0, 0, 2};
  memcpy(c->vacancy_of_pupil, assignment, sizeof assignment);
  memcpy(c->pupil_price, u, sizeof u);
  memcpy(c->vacancy_price, p, sizeof p);
  c->solution = (matcher_solution){
      .vacancy_of_pupil = c->vacancy_of_pupil,
      .pupil_price = c->pupil_price,
      .vacancy_price = c->vacancy_price,
      .objective = 10,
      .placed = 4,
  };
}

Test(verify, accepts_the_hand_solved_optimum) {
  hand_case c;
  hand_case_init(&c);
  matcher_error error = {{0}};
  cr_expect_eq(matcher_verify(&c.problem, &c.solution, &error), MATCHER_OK, "%s", error.message);
}

Test(verify, solver_finds_the_hand_optimum) {
  hand_case c;
  hand_case_init(&c);
  matcher_solution solution;
  solve_and_verify(&c.problem, NULL, &solution, "hand instance");
  cr_expect_eq(solution.objective, 10);
  cr_expect_eq(solution.placed, 4);
  cr_expect_eq(solution.vacancy_of_pupil[3], 1);
  cr_expect_eq(solution.vacancy_of_pupil[4], 3);
  matcher_solution_free(&solution);
}

Test(verify, rejects_a_lowered_vacancy_price) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_price[0] = 1; /* (0,0) now has reduced cost 2 + 1 - 4 = -1 */
  expect_rejected(&c.problem, &c.solution, "lowered p0", "reduced cost", "vacancy 0");
}

Test(verify, rejects_a_negative_reduced_cost_on_a_pair_not_chosen) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_price[3] = 1; /* (2,3): 1 + 1 - 3 = -1; vacancy 3 is still full, nothing else moves */
  expect_rejected(&c.problem, &c.solution, "lowered p3", "reduced cost", "pupil 2, vacancy 3");
}

Test(verify, rejects_a_raised_pupil_price) {
  hand_case c;
  hand_case_init(&c);
  c.pupil_price[1] = 4; /* (1,0): 1 + 2 - 4 = -1 */
  expect_rejected(&c.problem, &c.solution, "raised u1", "reduced cost", "pupil 1");
}

Test(verify, rejects_a_chosen_pair_with_positive_reduced_cost) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_price[1] = 1; /* vacancy 1 is full, but chosen (1,1) now costs 3 + 1 - 3 = 1 */
  expect_rejected(&c.problem, &c.solution, "raised p1", "pupil 1, vacancy 1", "reduced cost");
}

Test(verify, rejects_an_unplaced_pupil_priced_below_its_penalty) {
  hand_case c;
  hand_case_init(&c);
  c.pupil_price[2] = 2;
  expect_rejected(&c.problem, &c.solution, "u2 != U2", "pupil 2", "unplaced");
}

Test(verify, rejects_a_pupil_priced_above_its_penalty) {
  hand_case c;
  hand_case_init(&c);
  c.pupil_price[0] = 11;
  expect_rejected(&c.problem, &c.solution, "u0 > U0", "pupil 0", NULL);
}

/* One pupil placed at cost 5 although staying out costs 3. With u = 5 and p = 0 the chosen pair
 * is tight and the dual value equals the objective: only u <= U exposes it. */
Test(verify, rejects_a_placement_dearer_than_the_penalty) {
  static const int64_t penalty[] = {3};
  static const int32_t seats[] = {1};
  static const matcher_pair pairs[] = {{0, 0, 5}};
  matcher_problem problem = {1, 1, penalty, seats, 1, pairs, 0, NULL};
  int32_t assignment[] = {0};
  int64_t u[] = {5}, p[] = {0};
  matcher_solution solution = {assignment, u, p, 5, 1, {0}};
  expect_rejected(&problem, &solution, "placed above penalty", "pupil 0", "penalty");
  /* The optimum, for contrast: unplaced, u = U = 3. */
  assignment[0] = MATCHER_UNPLACED;
  u[0] = 3;
  solution.objective = 3;
  solution.placed = 0;
  matcher_error error = {{0}};
  cr_expect_eq(matcher_verify(&problem, &solution, &error), MATCHER_OK, "%s", error.message);
}

Test(verify, rejects_a_positive_price_on_a_vacancy_with_a_free_seat) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_price[2] = 1;
  expect_rejected(&c.problem, &c.solution, "p2 > 0", "vacancy 2", "seats");
}

Test(verify, rejects_a_negative_vacancy_price) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_price[2] = -1;
  expect_rejected(&c.problem, &c.solution, "p2 < 0", "vacancy 2", "price");
}

Test(verify, rejects_an_over_full_vacancy) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_of_pupil[2] = 1; /* three pupils at vacancy 1, which has two seats */
  c.solution.objective = 11;
  c.solution.placed = 5;
  expect_rejected(&c.problem, &c.solution, "over-full", "vacancy 1", "seats");
}

Test(verify, rejects_a_pair_that_is_not_eligible) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_of_pupil[2] = 2; /* vacancy 2 has a free seat but no pair with pupil 2 */
  c.solution.placed = 5;
  expect_rejected(&c.problem, &c.solution, "not eligible", "pupil 2", "eligible");
}

Test(verify, rejects_a_vacancy_out_of_range) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_of_pupil[2] = 7;
  expect_rejected(&c.problem, &c.solution, "vacancy 7", "pupil 2", "7");
  c.vacancy_of_pupil[2] = -5;
  expect_rejected(&c.problem, &c.solution, "vacancy -5", "pupil 2", "-5");
}

Test(verify, rejects_a_missing_fixed_pair) {
  hand_case c;
  hand_case_init(&c);
  c.vacancy_of_pupil[3] = MATCHER_UNPLACED; /* consistent totals: 10 - 1 + 7 */
  c.solution.objective = 16;
  c.solution.placed = 3;
  expect_rejected(&c.problem, &c.solution, "fixed pair dropped", "pupil 3", "fixed");
}

Test(verify, rejects_a_wrong_objective) {
  hand_case c;
  hand_case_init(&c);
  c.solution.objective = 11;
  expect_rejected(&c.problem, &c.solution, "objective", "objective", "11");
  c.solution.objective = 9;
  expect_rejected(&c.problem, &c.solution, "objective", "objective", "9");
}

Test(verify, rejects_a_wrong_placed_count) {
  hand_case c;
  hand_case_init(&c);
  c.solution.placed = 5;
  expect_rejected(&c.problem, &c.solution, "placed", "placed", "5");
  c.solution.placed = 3;
  expect_rejected(&c.problem, &c.solution, "placed", "placed", "3");
}

Test(verify, rejects_a_feasible_but_worse_assignment) {
  hand_case c;
  hand_case_init(&c);
  /* 0->1 and 1->0: feasible, honestly reported (5 + 1 + 3 + 1 + 1 = 11), not optimal. No
   * prices can prove it; these are the ones of the optimum. */
  c.vacancy_of_pupil[0] = 1;
  c.vacancy_of_pupil[1] = 0;
  c.solution.objective = 11;
  expect_rejected(&c.problem, &c.solution, "worse assignment", NULL, NULL);
  /* Prices made to fit the chosen pairs instead: u0 = 5, u1 = 3 with p = (2, 0, 0) keep both
   * chosen pairs tight but (1,1) at 3 + 0 - 3 = 0 and (0,0) at 2 + 2 - 5 = -1 < 0. */
  c.pupil_price[0] = 5;
  expect_rejected(&c.problem, &c.solution, "worse assignment, fitted prices", "reduced cost", NULL);
}

Test(verify, rejects_missing_solution_arrays_and_refuses_bad_problems) {
  hand_case c;
  hand_case_init(&c);
  c.solution.vacancy_of_pupil = NULL;
  expect_rejected(&c.problem, &c.solution, "NULL assignment", NULL, NULL);
  hand_case_init(&c);
  c.solution.vacancy_price = NULL;
  expect_rejected(&c.problem, &c.solution, "NULL vacancy prices", NULL, NULL);
  hand_case_init(&c);
  matcher_error error = {{0}};
  cr_expect_eq(matcher_verify(&c.problem, NULL, &error), MATCHER_NOT_OPTIMAL);
  /* A malformed problem is the caller's mistake, not a non-optimal solution. */
  static const matcher_pair bad_pairs[] = {{0, 9, 1}};
  matcher_problem bad = {5, 4, hand_penalty, hand_seats, 1, bad_pairs, 0, NULL};
  cr_expect_eq(matcher_verify(&bad, &c.solution, &error), MATCHER_INVALID, "%s", error.message);
}

/* The verifier reads the pairs in one pass that also judges their order; pairs in any other
 * order get the same verdicts (matcher_check then checks them the slow way). */
Test(verify, judges_pairs_given_out_of_row_order_the_same) {
  matcher_pair reversed[8];
  for (int e = 0; e < 8; e++) reversed[e] = hand_pairs[7 - e];
  hand_case c;
  hand_case_init(&c);
  c.problem.pairs = reversed;
  matcher_error error = {{0}};
  cr_expect_eq(matcher_verify(&c.problem, &c.solution, &error), MATCHER_OK, "%s", error.message);
  c.vacancy_price[3] = 1; /* (2,3) now has reduced cost 1 + 1 - 3 = -1 */
  expect_rejected(&c.problem, &c.solution, "reversed pairs, lowered p3", "reduced cost", "pupil 2, vacancy 3");
  hand_case_init(&c);
  c.problem.pairs = reversed;
  c.vacancy_of_pupil[2] = 2;
  c.solution.placed = 5;
  expect_rejected(&c.problem, &c.solution, "reversed pairs, not eligible", "pupil 2", "eligible");
  /* A duplicate pair out of order is found by matcher_check, not taken for a proof. */
  matcher_pair duplicated[8];
  memcpy(duplicated, reversed, sizeof duplicated);
  duplicated[7] = (matcher_pair){1, 0, 1};
  hand_case_init(&c);
  c.problem.pairs = duplicated;
  cr_expect_eq(matcher_verify(&c.problem, &c.solution, &error), MATCHER_INVALID, "%s", error.message);
  cr_expect(strstr(error.message, "duplicate") != NULL, "%s", error.message);
}

/* Fixed pupils' prices take no part in the proof, however wild; a free pupil's wild price is
 * refused as a price (before any reduced cost is formed from it, which would overflow). */
Test(verify, ignores_fixed_pupils_prices_and_refuses_a_wild_free_price) {
  hand_case c;
  hand_case_init(&c);
  c.pupil_price[3] = INT64_MAX;
  c.pupil_price[4] = INT64_MIN;
  matcher_error error = {{0}};
  int64_t dual = 0;
  cr_expect_eq(matcher_verify_bound(&c.problem, &c.solution, &dual, &error), MATCHER_OK, "%s", error.message);
  cr_expect_eq(dual, 10, "the dual value counts the fixed pairs' costs 1 + 1: %lld", (long long)dual);
  c.pupil_price[1] = INT64_MAX;
  expect_rejected(&c.problem, &c.solution, "u1 = INT64_MAX", "pupil 1", "outside");
  hand_case_init(&c);
  c.vacancy_price[1] = INT64_MIN;
  expect_rejected(&c.problem, &c.solution, "p1 = INT64_MIN", "vacancy 1", "outside");
}

/* A malformed problem is reported as such even when the solution is wrong as well, or absent:
 * the verdict on the problem comes first. */
Test(verify, reports_a_malformed_problem_before_a_wrong_solution) {
  hand_case c;
  hand_case_init(&c);
  matcher_pair malformed[8];
  memcpy(malformed, hand_pairs, sizeof malformed);
  malformed[5].cost = -1; /* (2,3): pairs before it are fine, the solution is wrong too */
  c.problem.pairs = malformed;
  c.vacancy_price[0] = 1;
  c.solution.objective = 11;
  matcher_error error = {{0}};
  cr_expect_eq(matcher_verify(&c.problem, &c.solution, &error), MATCHER_INVALID, "%s", error.message);
  cr_expect(strstr(error.message, "pair 5") != NULL, "%s", error.message);
  cr_expect_eq(matcher_verify(&c.problem, NULL, &error), MATCHER_INVALID, "%s", error.message);
  malformed[5].cost = 1;
  static const matcher_fixed_pair not_a_pair[] = {{3, 1}, {4, 2}}; /* (4,2) is no eligible pair */
  c.problem.fixed = not_a_pair;
  cr_expect_eq(matcher_verify(&c.problem, &c.solution, &error), MATCHER_INVALID, "%s", error.message);
  cr_expect(strstr(error.message, "fixed pair 1") != NULL, "%s", error.message);
}

/* On random problems: every solve verifies, and corruptions that must break a condition are
 * always caught (wrong totals, a chosen pair's pupil priced up, an unplaced pupil priced down,
 * a full vacancy's price lowered under one of its non-fixed occupants). */
Test(verify, random_solutions_verify_and_their_corruptions_do_not) {
  int price_corruptions = 0;
  for (uint64_t seed = 1; seed <= 150; seed++) {
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    test_rng rng;
    test_rng_seed(&rng, seed);
    test_problem_params params = {
        .pupils = (int32_t)test_rng_range(&rng, 1, 60),
        .vacancies = (int32_t)test_rng_range(&rng, 1, 40),
        .degree_min = 0,
        .degree_max = 6,
        .seats_max = 3,
        .cost_max = 100,
        .penalty_min = 0,
        .penalty_max = 300,
        .fixed_share = 0.1,
    };
    test_problem generated;
    test_problem_generate(&params, seed, &generated);
    const matcher_problem *problem = &generated.problem;
    matcher_solution solution;
    solve_and_verify(problem, NULL, &solution, context);

    bool *fixed = calloc((size_t)problem->pupil_count, sizeof *fixed);
    for (int64_t f = 0; f < problem->fixed_count; f++) fixed[problem->fixed[f].pupil] = true;

    solution.objective++;
    expect_rejected(problem, &solution, context, "objective", NULL);
    solution.objective--;
    solution.placed++;
    expect_rejected(problem, &solution, context, "placed", NULL);
    solution.placed--;

    for (int32_t i = 0; i < problem->pupil_count; i++) {
      if (fixed[i]) continue;
      int32_t j = solution.vacancy_of_pupil[i];
      if (j >= 0) {
        solution.pupil_price[i]++; /* its chosen pair's reduced cost becomes -1 */
        expect_rejected(problem, &solution, context, "pupil", NULL);
        solution.pupil_price[i]--;
        if (solution.vacancy_price[j] > 0) {
          solution.vacancy_price[j]--; /* same pair, via the vacancy */
          expect_rejected(problem, &solution, context, "reduced cost", NULL);
          solution.vacancy_price[j]++;
        }
      } else {
        solution.pupil_price[i]--;
        expect_rejected(problem, &solution, context, "unplaced", NULL);
        solution.pupil_price[i]++;
      }
      price_corruptions++;
    }
    /* Everything restored: still proven. */
    matcher_error error = {{0}};
    cr_assert_eq(matcher_verify(problem, &solution, &error), MATCHER_OK, "%s: %s", context, error.message);
    free(fixed);
    matcher_solution_free(&solution);
    test_problem_free(&generated);
  }
  cr_expect_gt(price_corruptions, 1000);
}
