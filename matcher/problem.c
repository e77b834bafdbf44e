/* problem.c: checking a matcher_problem and indexing its pairs per pupil (see rows.h).
 * Every input limit of libmatcher is enforced here, so that solve.c and verify.c can assume a
 * well-formed problem and every refusal says which item is wrong. */
#include "rows.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

matcher_status matcher_fail(matcher_error *error, matcher_status status, const char *format, ...) {
  if (error) {
    va_list args;
    va_start(args, format);
    vsnprintf(error->message, sizeof error->message, format, args);
    va_end(args);
  }
  return status;
}

const char *matcher_status_name(matcher_status status) {
  switch (status) {
  case MATCHER_OK: return "ok";
  case MATCHER_INVALID: return "invalid problem";
  case MATCHER_INFEASIBLE: return "infeasible fixed pairs";
  case MATCHER_NOT_OPTIMAL: return "not proven optimal";
  case MATCHER_NO_MEMORY: return "out of memory";
  }
  return "unknown status";
}

void pair_rows_free(pair_rows *rows) {
  free(rows->row_start);
  free(rows->row_vacancy);
  free(rows->row_cost);
  free(rows->fixed_vacancy);
  free(rows->fixed_taken);
  *rows = (pair_rows){0};
}

int64_t pair_rows_find(const pair_rows *rows, int32_t pupil, int32_t vacancy) {
  int64_t low = rows->row_start[pupil], high = rows->row_start[pupil + 1];
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    if (rows->row_vacancy[middle] < vacancy)
      low = middle + 1;
    else
      high = middle;
  }
  return (low < rows->row_start[pupil + 1] && rows->row_vacancy[low] == vacancy) ? low : -1;
}

/* Sorting one row by vacancy id, carrying the costs along. Callers often give rows already in
 * order (then nothing moves); rows are short (tens of pairs), so insertion sort; a pupil with
 * an unusually long row gets heapsort, which keeps the worst case at n log n without extra
 * memory. */
static void swap_entries(int32_t *vacancy, int64_t *cost, int64_t a, int64_t b) {
  int32_t vacancy_a = vacancy[a];
  int64_t cost_a = cost[a];
  vacancy[a] = vacancy[b];
  cost[a] = cost[b];
  vacancy[b] = vacancy_a;
  cost[b] = cost_a;
}

static void sift_down(int32_t *vacancy, int64_t *cost, int64_t root, int64_t count) {
  for (;;) {
    int64_t child = 2 * root + 1;
    if (child >= count) return;
    if (child + 1 < count && vacancy[child + 1] > vacancy[child]) child++;
    if (vacancy[root] >= vacancy[child]) return;
    swap_entries(vacancy, cost, root, child);
    root = child;
  }
}

static void sort_row(int32_t *vacancy, int64_t *cost, int64_t count) {
  int64_t unsorted_from = 1;
  while (unsorted_from < count && vacancy[unsorted_from - 1] <= vacancy[unsorted_from]) unsorted_from++;
  if (unsorted_from >= count) return;
  if (count <= 128) {
    for (int64_t i = unsorted_from; i < count; i++) {
      int32_t key_vacancy = vacancy[i];
      int64_t key_cost = cost[i];
      int64_t k = i;
      while (k > 0 && vacancy[k - 1] > key_vacancy) {
        vacancy[k] = vacancy[k - 1];
        cost[k] = cost[k - 1];
        k--;
      }
      vacancy[k] = key_vacancy;
      cost[k] = key_cost;
    }
    return;
  }
  for (int64_t root = count / 2 - 1; root >= 0; root--) sift_down(vacancy, cost, root, count);
  for (int64_t end = count - 1; end > 0; end--) {
    swap_entries(vacancy, cost, 0, end);
    sift_down(vacancy, cost, 0, end);
  }
}

/* Whether the pairs are strictly ascending by (pupil, vacancy): grouped per pupil, each row
 * sorted, no duplicates. Callers that build their pairs that way (the daemon does) then get
 * their rows by a straight copy. */
int pairs_in_row_order(const matcher_problem *problem) {
  for (int64_t e = 1; e < problem->pair_count; e++) {
    const matcher_pair *before = &problem->pairs[e - 1], *pair = &problem->pairs[e];
    if (pair->pupil < before->pupil || (pair->pupil == before->pupil && pair->vacancy <= before->vacancy)) return 0;
  }
  return 1;
}

/* Everything but the pairs: counts, arrays present, penalties, seats. */
matcher_status problem_check_counts(const matcher_problem *problem, matcher_error *error) {
  if (!problem) return matcher_fail(error, MATCHER_INVALID, "problem is NULL");
  if (problem->pupil_count < 0 || problem->pupil_count > MATCHER_COUNT_MAX)
    return matcher_fail(error, MATCHER_INVALID, "pupil_count %d outside 0..%d", problem->pupil_count,
                        MATCHER_COUNT_MAX);
  if (problem->vacancy_count < 0 || problem->vacancy_count > MATCHER_COUNT_MAX)
    return matcher_fail(error, MATCHER_INVALID, "vacancy_count %d outside 0..%d", problem->vacancy_count,
                        MATCHER_COUNT_MAX);
  if (problem->pair_count < 0)
    return matcher_fail(error, MATCHER_INVALID, "pair_count %lld is negative", (long long)problem->pair_count);
  if ((uint64_t)problem->pair_count > SIZE_MAX / 16)
    return matcher_fail(error, MATCHER_INVALID, "pair_count %lld is too large to index",
                        (long long)problem->pair_count);
  if (problem->fixed_count < 0 || problem->fixed_count > problem->pupil_count)
    return matcher_fail(error, MATCHER_INVALID, "fixed_count %lld outside 0..pupil_count (%d)",
                        (long long)problem->fixed_count, problem->pupil_count);
  if (problem->pupil_count > 0 && !problem->unplaced_penalty)
    return matcher_fail(error, MATCHER_INVALID, "unplaced_penalty is NULL for %d pupils", problem->pupil_count);
  if (problem->vacancy_count > 0 && !problem->seats)
    return matcher_fail(error, MATCHER_INVALID, "seats is NULL for %d vacancies", problem->vacancy_count);
  if (problem->pair_count > 0 && !problem->pairs)
    return matcher_fail(error, MATCHER_INVALID, "pairs is NULL for %lld pairs", (long long)problem->pair_count);
  if (problem->fixed_count > 0 && !problem->fixed)
    return matcher_fail(error, MATCHER_INVALID, "fixed is NULL for %lld fixed pairs", (long long)problem->fixed_count);

  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int64_t penalty = problem->unplaced_penalty[i];
    if (penalty < 0 || penalty > MATCHER_VALUE_MAX)
      return matcher_fail(error, MATCHER_INVALID, "pupil %d: unplaced penalty %lld outside 0..%lld", i,
                          (long long)penalty, (long long)MATCHER_VALUE_MAX);
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    if (problem->seats[j] < 0)
      return matcher_fail(error, MATCHER_INVALID, "vacancy %d: seats %d is negative", j, problem->seats[j]);
  return MATCHER_OK;
}

/* One pass over the pairs: checks each, notes each pupil's dearest pair and whether the pairs
 * come in row order (pairs_in_row_order), and unless rows is NULL (checking only) counts the
 * rows (row_start[i + 1]) and copies the pairs to the rows at their own index, which is their
 * place in the rows exactly when they come in row order. */
static matcher_status check_and_copy_pairs(const matcher_problem *problem, pair_rows *rows, int64_t *dearest,
                                           int *in_order, matcher_error *error) {
  *in_order = 1;
  for (int64_t e = 0; e < problem->pair_count; e++) {
    const matcher_pair *pair = &problem->pairs[e];
    if (!pair_well_formed(pair, problem->pupil_count, problem->vacancy_count)) {
      if (pair->pupil < 0 || pair->pupil >= problem->pupil_count)
        return matcher_fail(error, MATCHER_INVALID, "pair %lld: pupil %d out of range 0..%d", (long long)e, pair->pupil,
                            problem->pupil_count - 1);
      if (pair->vacancy < 0 || pair->vacancy >= problem->vacancy_count)
        return matcher_fail(error, MATCHER_INVALID, "pair %lld: vacancy %d out of range 0..%d", (long long)e,
                            pair->vacancy, problem->vacancy_count - 1);
      return matcher_fail(error, MATCHER_INVALID, "pair %lld (pupil %d, vacancy %d): cost %lld outside 0..%lld",
                          (long long)e, pair->pupil, pair->vacancy, (long long)pair->cost,
                          (long long)MATCHER_VALUE_MAX);
    }
    if (e > 0 && (pair->pupil < pair[-1].pupil || (pair->pupil == pair[-1].pupil && pair->vacancy <= pair[-1].vacancy)))
      *in_order = 0;
    if (rows) {
      rows->row_start[pair->pupil + 1]++;
      rows->row_vacancy[e] = pair->vacancy;
      rows->row_cost[e] = pair->cost;
    }
    if (pair->cost > dearest[pair->pupil]) dearest[pair->pupil] = pair->cost;
  }
  return MATCHER_OK;
}

/* The objective is at most the sum over pupils of max(penalty, dearest pair); refuse problems
 * where that could overflow, so that no sum the solver or verifier forms can. */
static matcher_status check_objective_bound(const matcher_problem *problem, const int64_t *dearest,
                                            matcher_error *error) {
  int64_t bound = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int64_t worst = problem->unplaced_penalty[i] > dearest[i] ? problem->unplaced_penalty[i] : dearest[i];
    if (worst > INT64_MAX - bound)
      return matcher_fail(error, MATCHER_INVALID,
                          "pupil %d: the objective could exceed int64 (costs and penalties "
                          "summed over pupils 0..%d overflow)",
                          i, i);
    bound += worst;
  }
  return MATCHER_OK;
}

/* Whether (pupil, vacancy) is one of the pairs, for pairs in row order: a binary search in place. */
static int ordered_pairs_hold(const matcher_problem *problem, int32_t pupil, int32_t vacancy) {
  int64_t low = 0, high = problem->pair_count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    const matcher_pair *pair = &problem->pairs[middle];
    if (pair->pupil < pupil || (pair->pupil == pupil && pair->vacancy < vacancy))
      low = middle + 1;
    else
      high = middle;
  }
  return low < problem->pair_count && problem->pairs[low].pupil == pupil && problem->pairs[low].vacancy == vacancy;
}

/* Fills rows->fixed_vacancy and rows->fixed_taken. The rows' pairs are looked in when built;
 * a check without rows (row_vacancy NULL, pairs in row order) looks in the problem's pairs. */
static matcher_status index_fixed_pairs(const matcher_problem *problem, pair_rows *rows, matcher_error *error) {
  for (int32_t i = 0; i < problem->pupil_count; i++) rows->fixed_vacancy[i] = MATCHER_UNPLACED;
  for (int64_t f = 0; f < problem->fixed_count; f++) {
    const matcher_fixed_pair *fixed = &problem->fixed[f];
    if (fixed->pupil < 0 || fixed->pupil >= problem->pupil_count)
      return matcher_fail(error, MATCHER_INVALID, "fixed pair %lld: pupil %d out of range 0..%d", (long long)f,
                          fixed->pupil, problem->pupil_count - 1);
    if (fixed->vacancy < 0 || fixed->vacancy >= problem->vacancy_count)
      return matcher_fail(error, MATCHER_INVALID, "fixed pair %lld: vacancy %d out of range 0..%d", (long long)f,
                          fixed->vacancy, problem->vacancy_count - 1);
    if (rows->row_vacancy ? pair_rows_find(rows, fixed->pupil, fixed->vacancy) < 0
                          : !ordered_pairs_hold(problem, fixed->pupil, fixed->vacancy))
      return matcher_fail(error, MATCHER_INVALID, "fixed pair %lld (pupil %d, vacancy %d) is not an eligible pair",
                          (long long)f, fixed->pupil, fixed->vacancy);
    if (rows->fixed_vacancy[fixed->pupil] != MATCHER_UNPLACED)
      return matcher_fail(error, MATCHER_INVALID, "fixed pair %lld: pupil %d is already fixed to vacancy %d",
                          (long long)f, fixed->pupil, rows->fixed_vacancy[fixed->pupil]);
    rows->fixed_vacancy[fixed->pupil] = fixed->vacancy;
    if (++rows->fixed_taken[fixed->vacancy] > problem->seats[fixed->vacancy])
      return matcher_fail(error, MATCHER_INFEASIBLE, "vacancy %d: fixed pairs take %d seats but it has %d",
                          fixed->vacancy, rows->fixed_taken[fixed->vacancy], problem->seats[fixed->vacancy]);
  }
  return MATCHER_OK;
}

matcher_status pair_rows_build(const matcher_problem *problem, pair_rows *rows, matcher_error *error) {
  *rows = (pair_rows){0};
  matcher_status status = problem_check_counts(problem, error);
  if (status != MATCHER_OK) return status;

  size_t pupils = (size_t)problem->pupil_count, pairs = (size_t)problem->pair_count;
  rows->row_start = calloc(pupils + 1, sizeof *rows->row_start);
  rows->row_vacancy = malloc((pairs ? pairs : 1) * sizeof *rows->row_vacancy);
  rows->row_cost = malloc((pairs ? pairs : 1) * sizeof *rows->row_cost);
  rows->fixed_vacancy = malloc((pupils ? pupils : 1) * sizeof *rows->fixed_vacancy);
  rows->fixed_taken = calloc((size_t)problem->vacancy_count + 1, sizeof *rows->fixed_taken);
  int64_t *dearest = calloc(pupils + 1, sizeof *dearest);
  rows->bytes = (pupils + 1) * 8 + pairs * 12 + pupils * 4 + ((size_t)problem->vacancy_count + 1) * 4;
  if (!rows->row_start || !rows->row_vacancy || !rows->row_cost || !rows->fixed_vacancy || !rows->fixed_taken ||
      !dearest) {
    free(dearest);
    pair_rows_free(rows);
    return matcher_fail(error, MATCHER_NO_MEMORY, "no memory to index %zu pairs", pairs);
  }

  /* Pairs in row order are in place after the checking pass (no scattered writes, nothing to
   * sort, no duplicate possible); others are put in place by a counting sort on the pupil,
   * then each row sorted by vacancy. */
  int in_order = 1;
  status = check_and_copy_pairs(problem, rows, dearest, &in_order, error);
  for (size_t i = 0; i < pupils && status == MATCHER_OK; i++) rows->row_start[i + 1] += rows->row_start[i];
  if (status == MATCHER_OK && !in_order) {
    int64_t *cursor = malloc((pupils + 1) * sizeof *cursor);
    if (!cursor) {
      status = matcher_fail(error, MATCHER_NO_MEMORY, "no memory to index %zu pairs", pairs);
    } else {
      for (size_t i = 0; i <= pupils; i++) cursor[i] = rows->row_start[i];
      for (size_t e = 0; e < pairs; e++) {
        int64_t slot = cursor[problem->pairs[e].pupil]++;
        rows->row_vacancy[slot] = problem->pairs[e].vacancy;
        rows->row_cost[slot] = problem->pairs[e].cost;
      }
      free(cursor);
    }
  }
  for (int32_t i = 0; i < problem->pupil_count && status == MATCHER_OK && !in_order; i++) {
    int64_t start = rows->row_start[i], count = rows->row_start[i + 1] - start;
    sort_row(rows->row_vacancy + start, rows->row_cost + start, count);
    for (int64_t e = start + 1; e < start + count && status == MATCHER_OK; e++)
      if (rows->row_vacancy[e] == rows->row_vacancy[e - 1])
        status = matcher_fail(error, MATCHER_INVALID, "duplicate pair (pupil %d, vacancy %d)", i, rows->row_vacancy[e]);
  }

  if (status == MATCHER_OK) status = check_objective_bound(problem, dearest, error);
  free(dearest);
  if (status == MATCHER_OK) status = index_fixed_pairs(problem, rows, error);
  if (status != MATCHER_OK) pair_rows_free(rows);
  return status;
}

/* Pairs in row order are checked where they are, without building rows (matcher_verify calls
 * this on every rematch: a copy of every pair for nothing); other problems are checked by
 * building their rows, which is where duplicates show. Same checks, same order, same messages. */
matcher_status problem_check_ordered_rest(const matcher_problem *problem, const int64_t *dearest,
                                          matcher_error *error) {
  matcher_status status = check_objective_bound(problem, dearest, error);
  if (status != MATCHER_OK) return status;
  size_t pupils = (size_t)problem->pupil_count;
  pair_rows light = {0};
  light.fixed_vacancy = malloc((pupils + 1) * sizeof *light.fixed_vacancy);
  light.fixed_taken = calloc((size_t)problem->vacancy_count + 1, sizeof *light.fixed_taken);
  if (!light.fixed_vacancy || !light.fixed_taken)
    status = matcher_fail(error, MATCHER_NO_MEMORY, "no memory to check %d pupils", problem->pupil_count);
  else
    status = index_fixed_pairs(problem, &light, error);
  pair_rows_free(&light);
  return status;
}

matcher_status matcher_check(const matcher_problem *problem, matcher_error *error) {
  matcher_status status = problem_check_counts(problem, error);
  if (status != MATCHER_OK) return status;
  size_t pupils = (size_t)problem->pupil_count;
  int64_t *dearest = calloc(pupils + 1, sizeof *dearest);
  int in_order = 0;
  if (!dearest)
    status = matcher_fail(error, MATCHER_NO_MEMORY, "no memory to check %d pupils", problem->pupil_count);
  else
    status = check_and_copy_pairs(problem, NULL, dearest, &in_order, error);
  if (status == MATCHER_OK && in_order) status = problem_check_ordered_rest(problem, dearest, error);
  free(dearest);
  if (status != MATCHER_OK || in_order) return status;
  pair_rows rows;
  status = pair_rows_build(problem, &rows, error);
  if (status == MATCHER_OK) pair_rows_free(&rows);
  return status;
}
