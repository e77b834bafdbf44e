/* verify.c: proves a solution optimal, or says why it is not, without trusting the solver.
 *
 * It shares nothing with solve.c but the input checks, and re-derives the objective, the seat
 * counts and every dual condition of matcher.h from the problem and the solution alone. A
 * solution passes only if it is feasible, reports its objective and placed count correctly, and
 * comes with prices that satisfy dual feasibility and complementary slackness; strong duality
 * (objective = dual value) is then checked as well, as a last arithmetic cross-check.
 *
 * Speed. The pairs are most of the memory (16 bytes each, millions of them), so they are read
 * once: a single pass checks each pair's limits and order (what matcher_check would read them
 * for), notes each pupil's dearest pair, finds each pupil's chosen pair (no search, no sorted
 * copy) and computes every reduced cost, remembering the first pair that breaks a condition.
 * The conditions are then judged in their documented order from these notes and O(pupils +
 * vacancies) arrays, so the first failure reported is the same as if each were checked in turn.
 */
#include "matcher.h"
#include "rows.h"

#include <stdlib.h>
#include <string.h>

/* Prices outside this range cannot come from a correct solve (they are bounded by the largest
 * penalty) and would risk overflow in the sums below. */
#define PRICE_LIMIT (MATCHER_VALUE_MAX * 4)

/* chosen_cost value of a pupil whose chosen vacancy is not among its pairs (costs are >= 0). */
#define NOT_FOUND (-1)

typedef struct {
  int32_t *fixed_vacancy;   /* [pupils] or MATCHER_UNPLACED */
  int64_t *chosen_cost;     /* [pupils] cost of the pair (i, vacancy_of_pupil[i]), or NOT_FOUND */
  int64_t *dearest;         /* [pupils] dearest pair of each pupil (for matcher_check's objective bound) */
  int64_t *occupants;       /* [vacancies] pupils placed there, fixed ones included */
  int64_t *fixed_occupants; /* [vacancies] */
  int64_t first_bad_pair;   /* index of the first pair of a free pupil whose reduced cost breaks a condition, or -1 */
} verifier;

static void verifier_free(verifier *v) {
  free(v->fixed_vacancy);
  free(v->chosen_cost);
  free(v->dearest);
  free(v->occupants);
  free(v->fixed_occupants);
}

/* Whether every price the pair pass combines is within PRICE_LIMIT, so that no reduced cost
 * c + p_j - u_i can overflow (|c| <= 2^53, |p|, |u| <= 2^55: the sum stays below 2^57). The
 * pass computes reduced costs only then; otherwise check_prices fails on a price first. */
static int prices_bounded(const matcher_problem *problem, const matcher_solution *solution, const verifier *v) {
  int bounded = 1;
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    bounded &= (uint64_t)solution->vacancy_price[j] <= (uint64_t)PRICE_LIMIT;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int64_t price = solution->pupil_price[i];
    bounded &= (v->fixed_vacancy[i] != MATCHER_UNPLACED) | ((price >= -PRICE_LIMIT) & (price <= PRICE_LIMIT));
  }
  return bounded;
}

/* The one pass over the pairs (see the file comment). Returns 0 when a pair is malformed or the
 * pairs are not in row order: matcher_check must then judge the problem (and say what is wrong).
 * What a pair needs of its pupil is loaded when the pupil changes, once per row when the pairs
 * come in row order (any order still gives the same notes, only slower); the dearest cost is
 * kept in a register over the row, not stored back per pair. */
static int scan_pairs(const matcher_problem *problem, const matcher_solution *solution, verifier *v,
                      int with_reduced_costs) {
  const matcher_pair *pairs = problem->pairs;
  const int32_t pupils = problem->pupil_count, vacancies = problem->vacancy_count;
  const int64_t *restrict vacancy_price = solution->vacancy_price;
  int64_t *restrict chosen_cost = v->chosen_cost, *restrict dearest = v->dearest;
  int in_order = 1;
  /* (pupil, vacancy) as one number, plus one so that the first pair's key exceeds the start:
   * row order is exactly strictly ascending keys. */
  uint64_t previous_key = 0;
  int32_t row_pupil = -1, row_choice = MATCHER_UNPLACED;
  int64_t row_price = 0, row_dearest = 0;
  int row_free = 0; /* the row's pupil is not fixed and its reduced costs are computed */
  v->first_bad_pair = -1;
  for (int64_t e = 0; e < problem->pair_count; e++) {
    const matcher_pair pair = pairs[e];
    if (!pair_well_formed(&pair, pupils, vacancies)) return 0;
    if (pair.pupil != row_pupil) {
      if (row_pupil >= 0 && row_dearest > dearest[row_pupil]) dearest[row_pupil] = row_dearest;
      row_pupil = pair.pupil;
      row_choice = solution->vacancy_of_pupil[row_pupil];
      row_price = solution->pupil_price[row_pupil];
      row_free = with_reduced_costs && v->fixed_vacancy[row_pupil] == MATCHER_UNPLACED;
      row_dearest = 0;
    }
    uint64_t key = (((uint64_t)(uint32_t)pair.pupil << 32) | (uint32_t)pair.vacancy) + 1;
    in_order &= key > previous_key;
    previous_key = key;
    row_dearest = pair.cost > row_dearest ? pair.cost : row_dearest;
    int chosen = row_choice == pair.vacancy;
    if (chosen) chosen_cost[row_pupil] = pair.cost;
    if (!row_free) continue;
    int64_t reduced = pair.cost + vacancy_price[pair.vacancy] - row_price;
    if (__builtin_expect((reduced < 0) | (chosen & (reduced != 0)), 0) && v->first_bad_pair < 0) v->first_bad_pair = e;
  }
  if (row_pupil >= 0 && row_dearest > dearest[row_pupil]) dearest[row_pupil] = row_dearest;
  return in_order;
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
    if (v->chosen_cost[i] == NOT_FOUND)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pupil %d: placed at vacancy %d, which is not an eligible pair",
                          i, vacancy);
    objective += v->chosen_cost[i];
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

/* Dual feasibility and complementary slackness, for the problem without its fixed pairs. The
 * pairs were judged by scan_pairs; the first one it found wrong is reported here, after the
 * prices' own conditions, as a check of each condition in turn would. */
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
  if (v->first_bad_pair >= 0) {
    const matcher_pair *pair = &problem->pairs[v->first_bad_pair];
    int64_t reduced = pair->cost + vacancy_price[pair->vacancy] - pupil_price[pair->pupil];
    if (reduced < 0)
      return matcher_fail(error, MATCHER_NOT_OPTIMAL, "pair (pupil %d, vacancy %d): reduced cost %lld < 0", pair->pupil,
                          pair->vacancy, (long long)reduced);
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
    /* A fixed pupil is placed at its fixed vacancy (check_feasible), so its chosen pair is the fixed one. */
    if (v->fixed_vacancy[i] == MATCHER_UNPLACED)
      dual += solution->pupil_price[i];
    else
      dual += v->chosen_cost[i];
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
  matcher_status status = problem_check_counts(problem, error);
  if (status != MATCHER_OK) return status;
  size_t pupils = (size_t)problem->pupil_count, vacancies = (size_t)problem->vacancy_count;
  verifier v = {
      .fixed_vacancy = malloc((pupils + 1) * sizeof *v.fixed_vacancy),
      .chosen_cost = malloc((pupils + 1) * sizeof *v.chosen_cost),
      .dearest = calloc(pupils + 1, sizeof *v.dearest),
      .occupants = calloc(vacancies + 1, sizeof *v.occupants),
      .fixed_occupants = calloc(vacancies + 1, sizeof *v.fixed_occupants),
  };
  if (!v.fixed_vacancy || !v.chosen_cost || !v.dearest || !v.occupants || !v.fixed_occupants) {
    verifier_free(&v);
    return matcher_fail(error, MATCHER_NO_MEMORY, "no memory to verify %d pupils", problem->pupil_count);
  }
  for (size_t i = 0; i < pupils; i++) v.fixed_vacancy[i] = MATCHER_UNPLACED, v.chosen_cost[i] = NOT_FOUND;
  /* Provisional until matcher_check's part has accepted the fixed pairs (it refuses the
   * problem otherwise, and nothing below is reported). */
  for (int64_t f = 0; f < problem->fixed_count; f++) {
    const matcher_fixed_pair *fixed = &problem->fixed[f];
    if ((uint32_t)fixed->pupil < (uint32_t)pupils && (uint32_t)fixed->vacancy < (uint32_t)vacancies)
      v.fixed_vacancy[fixed->pupil] = fixed->vacancy;
  }
  /* The solution's arrays are read by the pair pass, but a malformed problem is reported
   * first: only a problem whose counts passed gets this far, and the pass judges the rest. */
  int solution_whole = solution &&
                       (problem->pupil_count == 0 || (solution->vacancy_of_pupil && solution->pupil_price)) &&
                       (problem->vacancy_count == 0 || solution->vacancy_price);
  int checked = 0;
  if (solution_whole) {
    int with_reduced_costs = prices_bounded(problem, solution, &v);
    checked = scan_pairs(problem, solution, &v, with_reduced_costs);
  }
  status = checked ? problem_check_ordered_rest(problem, v.dearest, error) : matcher_check(problem, error);
  if (status == MATCHER_OK && !solution) status = matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution is NULL");
  if (status == MATCHER_OK && !solution_whole) {
    if (problem->pupil_count > 0 && (!solution->vacancy_of_pupil || !solution->pupil_price))
      status = matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution lacks its pupil arrays");
    else
      status = matcher_fail(error, MATCHER_NOT_OPTIMAL, "solution lacks its vacancy prices");
  }
  if (status == MATCHER_OK)
    for (int64_t f = 0; f < problem->fixed_count; f++) v.fixed_occupants[problem->fixed[f].vacancy]++;
  if (status == MATCHER_OK) status = check_feasible(problem, solution, &v, error);
  if (status == MATCHER_OK) status = check_prices(problem, solution, &v, error);
  if (status == MATCHER_OK) status = check_duality(problem, solution, &v, dual_value, error);
  verifier_free(&v);
  return status;
}
