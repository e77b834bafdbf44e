/* verify.c: proves a solution optimal, or says why it is not, without trusting the solver.
 *
 * It shares nothing with solve.c but the input checks: it looks pairs up in its own sorted
 * copy (or in the caller's pairs when they already come sorted) and re-derives the objective, the seat counts and every
 * dual condition of matcher.h from the problem and the solution alone. A solution passes only if it is feasible,
 * reports its objective and placed count correctly, and comes with prices that satisfy dual feasibility and
 * complementary slackness; strong duality (objective = dual value) is then checked as well, as a last arithmetic
 * cross-check.
 */
#include "matcher.h"
#include "rows.h"

#include <stdlib.h>

/* Prices outside this range cannot come from a correct solve (they are bounded by the largest
 * penalty) and would risk overflow in the sums below. */
#define PRICE_LIMIT (MATCHER_VALUE_MAX * 4)

static int compare_pairs(const void *left, const void *right) {
  const matcher_pair *a = left, *b = right;
  if (a->pupil != b->pupil) return a->pupil < b->pupil ? -1 : 1;
  if (a->vacancy != b->vacancy) return a->vacancy < b->vacancy ? -1 : 1;
  return 0;
}

static const matcher_pair *find_pair(const matcher_pair *sorted, int64_t count, int32_t pupil, int32_t vacancy) {
  matcher_pair key = {.pupil = pupil, .vacancy = vacancy, .cost = 0};
  return bsearch(&key, sorted, (size_t)count, sizeof key, compare_pairs);
}

typedef struct {
  const matcher_pair *sorted; /* the problem's pairs ordered by (pupil, vacancy) */
  matcher_pair *sorted_copy;  /* owned: the copy sorted here, or NULL when the caller's pairs were in order */
  int32_t *fixed_vacancy;     /* [pupils] or MATCHER_UNPLACED */
  int64_t *occupants;         /* [vacancies] pupils placed there, fixed ones included */
  int64_t *fixed_occupants;   /* [vacancies] */
} verifier;

static void verifier_free(verifier *v) {
  free(v->sorted_copy);
  free(v->fixed_vacancy);
  free(v->occupants);
  free(v->fixed_occupants);
}

static matcher_status check_feasible(const matcher_problem *problem, const matcher_solution *solution, verifier *v,
                                     matcher_error *error) {
  int64_t objective = 0;
  int32_t placed = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int32_t vacancy = solution->vacancy_of_pupil[i];
    if (v->fixed_vacancy[i] != MATCHER_UNPLACED && vacancy != v->fixed_vacancy[i])
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d is fixed to vacancy %d but placed at %d", i,
                          v->fixed_vacancy[i], vacancy);
    if (vacancy == MATCHER_UNPLACED) {
      objective += problem->unplaced_penalty[i];
      continue;
    }
    if (vacancy < 0 || vacancy >= problem->vacancy_count)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d: placed at vacancy %d, out of range 0..%d", i, vacancy,
                          problem->vacancy_count - 1);
    const matcher_pair *pair = find_pair(v->sorted, problem->pair_count, i, vacancy);
    if (!pair)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d: placed at vacancy %d, which is not an eligible pair",
                          i, vacancy);
    objective += pair->cost;
    placed++;
    v->occupants[vacancy]++;
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    if (v->occupants[j] > problem->seats[j])
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "vacancy %d: %lld pupils placed, %d seats", j,
                          (long long)v->occupants[j], problem->seats[j]);
  if (objective != solution->objective)
    return matcher_fail(error, MATCHER_NOT_OPTIMAL, "objective reported %lld but the assignment costs %lld",
                        (long long)solution->objective, (long long)objective);
  if (placed != solution->placed)
    return matcher_fail(error, MATCHER_NOT_OPTIMAL, "placed reported %d but %d pupils are placed", solution->placed,
                        placed);
  return MATCHER_OK;
}

/* Dual feasibility and complementary slackness, for the problem without its fixed pairs. */
static matcher_status check_prices(const matcher_problem *problem, const matcher_solution *solution, const verifier *v,
                                   matcher_error *error) {
  const int64_t *pupil_price = solution->pupil_price, *vacancy_price = solution->vacancy_price;
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    if (vacancy_price[j] < 0 || vacancy_price[j] > PRICE_LIMIT)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "vacancy %d: price %lld outside 0..%lld", j,
                          (long long)vacancy_price[j], (long long)PRICE_LIMIT);
    if (vacancy_price[j] > 0 && v->occupants[j] < problem->seats[j])
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "vacancy %d: price %lld > 0 but only %lld of %d seats taken", j,
                          (long long)vacancy_price[j], (long long)v->occupants[j], problem->seats[j]);
  }
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    if (v->fixed_vacancy[i] != MATCHER_UNPLACED) continue;
    int64_t price = pupil_price[i], penalty = problem->unplaced_penalty[i];
    if (price < -PRICE_LIMIT || price > PRICE_LIMIT)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d: price %lld outside +-%lld", i, (long long)price,
                          (long long)PRICE_LIMIT);
    if (price > penalty)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d: price %lld above its unplaced penalty %lld", i,
                          (long long)price, (long long)penalty);
    if (solution->vacancy_of_pupil[i] == MATCHER_UNPLACED && price != penalty)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL,
                          "pupil %d is unplaced but its price %lld differs from its penalty %lld", i, (long long)price,
                          (long long)penalty);
  }
  for (int64_t e = 0; e < problem->pair_count; e++) {
    const matcher_pair *pair = &v->sorted[e];
    if (v->fixed_vacancy[pair->pupil] != MATCHER_UNPLACED) continue;
    int64_t reduced = pair->cost + vacancy_price[pair->vacancy] - pupil_price[pair->pupil];
    if (reduced < 0)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pair (pupil %d, vacancy %d): reduced cost %lld < 0", pair->pupil,
                          pair->vacancy, (long long)reduced);
    if (reduced != 0 && solution->vacancy_of_pupil[pair->pupil] == pair->vacancy)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL,
                          "pair (pupil %d, vacancy %d) is chosen but its reduced cost is %lld", pair->pupil,
                          pair->vacancy, (long long)reduced);
  }
  return MATCHER_OK;
}

/* Dual value: sum of pupil prices minus seats times vacancy prices, over the problem without
 * its fixed pairs, plus the fixed pairs' costs. Products are checked for overflow. */
static matcher_status check_duality(const matcher_problem *problem, const matcher_solution *solution, const verifier *v,
                                    int64_t *dual_value, matcher_error *error) {
  int64_t dual = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    if (v->fixed_vacancy[i] == MATCHER_UNPLACED)
      dual += solution->pupil_price[i];
    else
      dual += find_pair(v->sorted, problem->pair_count, i, v->fixed_vacancy[i])->cost;
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    int64_t seats = problem->seats[j] - v->fixed_occupants[j];
    int64_t price = solution->vacancy_price[j];
    if (price == 0 || seats == 0) continue;
    if (price > (INT64_MAX / 4) / seats)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL,
                          "vacancy %d: price %lld times %lld seats overflows the dual value", j, (long long)price,
                          (long long)seats);
    dual -= price * seats;
  }
  if (dual_value) *dual_value = dual;
  if (dual != solution->objective)
    return matcher_fail(error, MATCHER_NOT_OPTIMAL, "dual value %lld differs from objective %lld: not optimal",
                        (long long)dual, (long long)solution->objective);
  return MATCHER_OK;
}

matcher_status matcher_verify(const matcher_problem *problem, const matcher_solution *solution, matcher_error *error) {
  return matcher_verify_bound(problem, solution, NULL, error);
}

matcher_status matcher_verify_bound(const matcher_problem *problem, const matcher_solution *solution,
                                    int64_t *dual_value, matcher_error *error) {
  matcher_status status = matcher_check(problem, error);
  if (status != MATCHER_OK) return status;
  if (!solution) return matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution is NULL");
  if (problem->pupil_count > 0 && (!solution->vacancy_of_pupil || !solution->pupil_price))
    return matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution lacks its pupil arrays");
  if (problem->vacancy_count > 0 && !solution->vacancy_price)
    return matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution lacks its vacancy prices");

  size_t pupils = (size_t)problem->pupil_count, vacancies = (size_t)problem->vacancy_count;
  size_t pairs = (size_t)problem->pair_count;
  /* Sorting a copy costs more than the rest of the proof; pairs given in order need neither. */
  int in_order = pairs_in_row_order(problem);
  verifier v = {
      .sorted_copy = in_order ? NULL : malloc((pairs ? pairs : 1) * sizeof *v.sorted_copy),
      .fixed_vacancy = malloc((pupils ? pupils : 1) * sizeof *v.fixed_vacancy),
      .occupants = calloc(vacancies + 1, sizeof *v.occupants),
      .fixed_occupants = calloc(vacancies + 1, sizeof *v.fixed_occupants),
  };
  if ((!in_order && !v.sorted_copy) || !v.fixed_vacancy || !v.occupants || !v.fixed_occupants) {
    verifier_free(&v);
    return matcher_fail(error, MATCHER_NO_MEMORY, "no memory to verify %zu pairs", pairs);
  }
  if (in_order) {
    v.sorted = problem->pairs;
  } else {
    for (size_t e = 0; e < pairs; e++) v.sorted_copy[e] = problem->pairs[e];
    if (pairs > 1) qsort(v.sorted_copy, pairs, sizeof *v.sorted_copy, compare_pairs);
    v.sorted = v.sorted_copy;
  }
  for (size_t i = 0; i < pupils; i++) v.fixed_vacancy[i] = MATCHER_UNPLACED;
  for (int64_t f = 0; f < problem->fixed_count; f++) {
    v.fixed_vacancy[problem->fixed[f].pupil] = problem->fixed[f].vacancy;
    v.fixed_occupants[problem->fixed[f].vacancy]++;
  }

  status = check_feasible(problem, solution, &v, error);
  if (status == MATCHER_OK) status = check_prices(problem, solution, &v, error);
  if (status == MATCHER_OK) status = check_duality(problem, solution, &v, dual_value, error);
  verifier_free(&v);
  return status;
}
