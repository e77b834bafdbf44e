/* check_util.c: the shared assertions of check_util.h. */
#include "check_util.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

int64_t recompute_objective(const matcher_problem *problem, const int32_t *vacancy_of_pupil, int32_t *placed,
                            const char *context) {
  int32_t n = problem->pupil_count, m = problem->vacancy_count;
  /* Pairs bucketed per pupil so large problems stay linear; tiny ones do not care. */
  int64_t *start = calloc((size_t)n + 2, sizeof *start);
  int64_t *order = calloc((size_t)problem->pair_count + 1, sizeof *order);
  int64_t *used = calloc((size_t)m + 1, sizeof *used);
  cr_assert(start && order && used, "%s: out of memory", context);
  for (int64_t k = 0; k < problem->pair_count; k++) start[problem->pairs[k].pupil + 1]++;
  for (int32_t i = 0; i < n; i++) start[i + 1] += start[i];
  for (int64_t k = 0; k < problem->pair_count; k++) order[start[problem->pairs[k].pupil]++] = k;
  for (int32_t i = n; i > 0; i--) start[i] = start[i - 1];
  start[0] = 0;

  int64_t total = 0;
  int32_t count = 0;
  for (int32_t i = 0; i < n; i++) {
    int32_t j = vacancy_of_pupil[i];
    if (j == MATCHER_UNPLACED) {
      total += problem->unplaced_penalty[i];
      continue;
    }
    cr_assert(j >= 0 && j < m, "%s: pupil %d at vacancy %d out of range", context, i, j);
    int64_t found = -1;
    for (int64_t r = start[i]; r < start[i + 1]; r++)
      if (problem->pairs[order[r]].vacancy == j) found = order[r];
    cr_assert(found >= 0, "%s: pupil %d at vacancy %d, not an eligible pair", context, i, j);
    total += problem->pairs[found].cost;
    count++;
    used[j]++;
  }
  for (int32_t j = 0; j < m; j++)
    cr_assert(used[j] <= problem->seats[j], "%s: vacancy %d has %lld pupils for %d seats", context, j,
              (long long)used[j], problem->seats[j]);
  for (int64_t f = 0; f < problem->fixed_count; f++)
    cr_assert(vacancy_of_pupil[problem->fixed[f].pupil] == problem->fixed[f].vacancy,
              "%s: fixed pair (pupil %d, vacancy %d) not kept", context, problem->fixed[f].pupil,
              problem->fixed[f].vacancy);
  free(start);
  free(order);
  free(used);
  if (placed) *placed = count;
  return total;
}

void solve_and_verify(const matcher_problem *problem, const matcher_warm_start *warm, matcher_solution *solution,
                      const char *context) {
  matcher_error error = {{0}};
  matcher_status status = matcher_solve(problem, warm, solution, &error);
  cr_assert_eq(status, MATCHER_OK, "%s: matcher_solve: %s: %s", context, matcher_status_name(status), error.message);
  matcher_error verify_error = {{0}};
  status = matcher_verify(problem, solution, &verify_error);
  cr_assert_eq(status, MATCHER_OK, "%s: matcher_verify: %s: %s", context, matcher_status_name(status),
               verify_error.message);
  int32_t placed = 0;
  int64_t objective = recompute_objective(problem, solution->vacancy_of_pupil, &placed, context);
  cr_assert_eq(objective, solution->objective, "%s: objective %lld, assignment costs %lld", context,
               (long long)solution->objective, (long long)objective);
  cr_assert_eq(placed, solution->placed, "%s: placed %d, assignment places %d", context, solution->placed, placed);
}

static void expect_fragments(const char *message, const char *context, const char *fragment, const char *fragment2,
                             const char *fragment3) {
  const char *fragments[] = {fragment, fragment2, fragment3};
  for (int f = 0; f < 3; f++)
    if (fragments[f])
      cr_expect(strstr(message, fragments[f]) != NULL, "%s: message \"%s\" lacks \"%s\"", context, message,
                fragments[f]);
}

void expect_refused(const matcher_problem *problem, matcher_status expected, const char *context, const char *fragment,
                    const char *fragment2, const char *fragment3) {
  matcher_error error = {{0}};
  matcher_status status = matcher_check(problem, &error);
  cr_expect_eq(status, expected, "%s: matcher_check gave %s (%s), wanted %s", context, matcher_status_name(status),
               error.message, matcher_status_name(expected));
  expect_fragments(error.message, context, fragment, fragment2, fragment3);

  matcher_solution solution;
  memset(&solution, 0xab, sizeof solution);
  matcher_error solve_error = {{0}};
  status = matcher_solve(problem, NULL, &solution, &solve_error);
  cr_expect_eq(status, expected, "%s: matcher_solve gave %s (%s), wanted %s", context, matcher_status_name(status),
               solve_error.message, matcher_status_name(expected));
  expect_fragments(solve_error.message, context, fragment, fragment2, fragment3);
  if (status == MATCHER_OK) matcher_solution_free(&solution);

  /* A NULL error pointer is allowed and must not change the outcome. */
  status = matcher_check(problem, NULL);
  cr_expect_eq(status, expected, "%s: matcher_check(error NULL) gave %s", context, matcher_status_name(status));
}

void expect_rejected(const matcher_problem *problem, const matcher_solution *solution, const char *context,
                     const char *fragment, const char *fragment2) {
  matcher_error error = {{0}};
  matcher_status status = matcher_verify(problem, solution, &error);
  cr_expect_eq(status, MATCHER_NOT_OPTIMAL, "%s: matcher_verify gave %s (%s)", context, matcher_status_name(status),
               error.message);
  expect_fragments(error.message, context, fragment, fragment2, NULL);
}
