/* test_problem.c: the seeded random problem generator and the owned-problem helpers of
 * test_problem.h. */
#include "test_problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *test_alloc(size_t count, size_t size) {
  /* calloc(0, ...) may return NULL legitimately; ask for one element so NULL means failure. */
  void *memory = calloc(count ? count : 1, size ? size : 1);
  if (!memory) {
    fprintf(stderr, "test support: out of memory (%zu x %zu bytes)\n", count, size);
    exit(2);
  }
  return memory;
}

void test_rng_seed(test_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t test_rng_next(test_rng *rng) {
  uint64_t z = (rng->state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

uint64_t test_rng_below(test_rng *rng, uint64_t bound) { return test_rng_next(rng) % bound; }

int64_t test_rng_range(test_rng *rng, int64_t low, int64_t high) {
  uint64_t span = (uint64_t)high - (uint64_t)low + 1;
  if (span == 0) return (int64_t)test_rng_next(rng); /* the whole int64 range */
  return (int64_t)((uint64_t)low + test_rng_below(rng, span));
}

bool test_rng_chance(test_rng *rng, double probability) {
  return (double)(test_rng_next(rng) >> 11) * 0x1.0p-53 < probability;
}

void test_problem_generate(const test_problem_params *params, uint64_t seed, test_problem *out) {
  test_rng rng;
  test_rng_seed(&rng, seed);
  memset(out, 0, sizeof *out);
  int32_t n = params->pupils, m = params->vacancies;
  int32_t degree_max = params->degree_max < m ? params->degree_max : m;
  int32_t degree_min = params->degree_min < degree_max ? params->degree_min : degree_max;
  if (degree_min < 0) degree_min = 0;

  out->unplaced_penalty = test_alloc((size_t)n, sizeof *out->unplaced_penalty);
  out->seats = test_alloc((size_t)m, sizeof *out->seats);
  for (int32_t j = 0; j < m; j++) out->seats[j] = (int32_t)test_rng_range(&rng, 0, params->seats_max);
  for (int32_t i = 0; i < n; i++)
    out->unplaced_penalty[i] = test_rng_range(&rng, params->penalty_min, params->penalty_max);

  /* Pair degrees first, so the pair array is allocated once. */
  int32_t *degree = test_alloc((size_t)n, sizeof *degree);
  int64_t pair_count = 0;
  for (int32_t i = 0; i < n; i++) {
    degree[i] = (int32_t)test_rng_range(&rng, degree_min, degree_max);
    pair_count += degree[i];
  }
  out->pairs = test_alloc((size_t)pair_count, sizeof *out->pairs);
  out->fixed = test_alloc((size_t)n, sizeof *out->fixed);

  /* Distinct vacancies per pupil by Floyd's sampling: O(degree) per pupil whatever the
   * vacancy count. taken_by[j] == i + 1 marks vacancy j as already drawn for pupil i. */
  int32_t *taken_by = test_alloc((size_t)m, sizeof *taken_by);
  int32_t *fixed_on = test_alloc((size_t)m, sizeof *fixed_on);
  int64_t k = 0;
  for (int32_t i = 0; i < n; i++) {
    int64_t first = k;
    for (int32_t t = m - degree[i]; t < m; t++) {
      int32_t j = (int32_t)test_rng_below(&rng, (uint64_t)t + 1);
      if (taken_by[j] == i + 1) j = t;
      taken_by[j] = i + 1;
      out->pairs[k].pupil = i;
      out->pairs[k].vacancy = j;
      out->pairs[k].cost = test_rng_range(&rng, 0, params->cost_max);
      k++;
    }
    /* A fixed pair for this pupil on one of its pairs whose vacancy still has a seat that
     * no other fixed pair holds, so the fixed pairs are always feasible together. */
    if (degree[i] > 0 && params->fixed_share > 0 && test_rng_chance(&rng, params->fixed_share)) {
      int64_t start = (int64_t)test_rng_below(&rng, (uint64_t)degree[i]);
      for (int64_t d = 0; d < degree[i]; d++) {
        const matcher_pair *pair = &out->pairs[first + (start + d) % degree[i]];
        if (fixed_on[pair->vacancy] < out->seats[pair->vacancy]) {
          fixed_on[pair->vacancy]++;
          out->fixed[out->problem.fixed_count].pupil = i;
          out->fixed[out->problem.fixed_count].vacancy = pair->vacancy;
          out->problem.fixed_count++;
          break;
        }
      }
    }
  }
  free(taken_by);
  free(fixed_on);
  free(degree);

  out->problem.pupil_count = n;
  out->problem.vacancy_count = m;
  out->problem.unplaced_penalty = out->unplaced_penalty;
  out->problem.seats = out->seats;
  out->problem.pair_count = pair_count;
  out->problem.pairs = out->pairs;
  out->problem.fixed = out->fixed;
  test_problem_shuffle(out, &rng);
}

void test_problem_params_small(test_rng *rng, int32_t max_pupils, int32_t max_vacancies, test_problem_params *out) {
  memset(out, 0, sizeof *out);
  out->pupils = (int32_t)test_rng_range(rng, 0, max_pupils);
  out->vacancies = (int32_t)test_rng_range(rng, 0, max_vacancies);
  out->degree_min = 0;
  out->degree_max = out->vacancies > 0 ? (int32_t)test_rng_range(rng, 1, out->vacancies) : 0;
  out->seats_max = (int32_t)test_rng_range(rng, 1, 3);
  /* Small cost ranges give many ties, which exercise the tie-breaking rules. */
  static const int64_t cost_ranges[] = {3, 20, 1000};
  out->cost_max = cost_ranges[test_rng_below(rng, 3)];
  switch (test_rng_below(rng, 3)) {
  case 0: /* penalties in the cost range: leaving a pupil out can beat a poor pair */
    out->penalty_min = 0;
    out->penalty_max = out->cost_max;
    break;
  case 1: /* penalties that dwarf every cost, as in production */
    out->penalty_min = 10 * out->cost_max + 1;
    out->penalty_max = 100 * out->cost_max + 100;
    break;
  default: /* a mix */
    out->penalty_min = 0;
    out->penalty_max = 3 * out->cost_max;
    break;
  }
  out->fixed_share = test_rng_chance(rng, 0.6) ? 0.4 : 0.0;
}

void test_problem_copy(const matcher_problem *source, test_problem *out) {
  memset(out, 0, sizeof *out);
  out->problem = *source;
  int32_t n = source->pupil_count > 0 ? source->pupil_count : 0;
  int32_t m = source->vacancy_count > 0 ? source->vacancy_count : 0;
  int64_t e = source->pair_count > 0 ? source->pair_count : 0;
  int64_t f = source->fixed_count > 0 ? source->fixed_count : 0;
  out->unplaced_penalty = test_alloc((size_t)n, sizeof *out->unplaced_penalty);
  out->seats = test_alloc((size_t)m, sizeof *out->seats);
  out->pairs = test_alloc((size_t)e, sizeof *out->pairs);
  out->fixed = test_alloc((size_t)f, sizeof *out->fixed);
  if (n) memcpy(out->unplaced_penalty, source->unplaced_penalty, (size_t)n * sizeof *out->unplaced_penalty);
  if (m) memcpy(out->seats, source->seats, (size_t)m * sizeof *out->seats);
  if (e) memcpy(out->pairs, source->pairs, (size_t)e * sizeof *out->pairs);
  if (f) memcpy(out->fixed, source->fixed, (size_t)f * sizeof *out->fixed);
  out->problem.unplaced_penalty = out->unplaced_penalty;
  out->problem.seats = out->seats;
  out->problem.pairs = out->pairs;
  out->problem.fixed = out->fixed;
}

void test_problem_shuffle(test_problem *problem, test_rng *rng) {
  for (int64_t k = problem->problem.pair_count - 1; k > 0; k--) {
    int64_t other = (int64_t)test_rng_below(rng, (uint64_t)k + 1);
    matcher_pair swap = problem->pairs[k];
    problem->pairs[k] = problem->pairs[other];
    problem->pairs[other] = swap;
  }
  for (int64_t k = problem->problem.fixed_count - 1; k > 0; k--) {
    int64_t other = (int64_t)test_rng_below(rng, (uint64_t)k + 1);
    matcher_fixed_pair swap = problem->fixed[k];
    problem->fixed[k] = problem->fixed[other];
    problem->fixed[other] = swap;
  }
}

void test_problem_free(test_problem *problem) {
  free(problem->unplaced_penalty);
  free(problem->seats);
  free(problem->pairs);
  free(problem->fixed);
  memset(problem, 0, sizeof *problem);
}
