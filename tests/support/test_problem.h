/* test_problem.h: seeded random matcher problems for the tests and the benchmark.
 *
 * A test_problem owns the arrays its matcher_problem points into, so tests can build, change,
 * shuffle and free problems without bookkeeping. Everything is driven by an explicit seed so a
 * failing case can be replayed from the seed printed in the failure message. */
#ifndef LEERPLEK_TESTS_TEST_PROBLEM_H
#define LEERPLEK_TESTS_TEST_PROBLEM_H

#include <stdbool.h>
#include <stdint.h>

#include "matcher.h"

/* splitmix64: tiny, fast, good enough statistically for test data, and identical on every
 * platform (rand() is not), so seeds reproduce everywhere. */
typedef struct {
  uint64_t state;
} test_rng;

void test_rng_seed(test_rng *rng, uint64_t seed);
uint64_t test_rng_next(test_rng *rng);
/* Uniform in [0, bound) (bound >= 1). The modulo bias is below 2^-40 for the bounds tests use. */
uint64_t test_rng_below(test_rng *rng, uint64_t bound);
/* Uniform in [low, high] (low <= high). */
int64_t test_rng_range(test_rng *rng, int64_t low, int64_t high);
/* True with the given probability. */
bool test_rng_chance(test_rng *rng, double probability);

typedef struct {
  matcher_problem problem;   /* points into the arrays below */
  int64_t *unplaced_penalty; /* [pupil_count] */
  int32_t *seats;            /* [vacancy_count] */
  matcher_pair *pairs;       /* [pair_count] */
  matcher_fixed_pair *fixed; /* [fixed_count] */
} test_problem;

/* Shape of a random problem. Each pupil gets a uniform number of distinct eligible vacancies
 * in [degree_min, degree_max] (clipped to the vacancy count), chosen uniformly. */
typedef struct {
  int32_t pupils;
  int32_t vacancies;
  int32_t degree_min, degree_max;
  int32_t seats_max;                /* seats uniform in 0..seats_max */
  int64_t cost_max;                 /* pair costs uniform in 0..cost_max */
  int64_t penalty_min, penalty_max; /* unplaced penalties uniform in this range: a range that
                                       overlaps the costs makes leaving pupils out worthwhile */
  double fixed_share;               /* chance per pupil of a fixed pair, where a seat allows */
} test_problem_params;

/* Builds a random problem; the pairs come out in random order. Exits the process on out of
 * memory (a test helper has nobody to report to). */
void test_problem_generate(const test_problem_params *params, uint64_t seed, test_problem *out);

/* Picks random parameters for a small instance: at most max_pupils pupils and max_vacancies
 * vacancies (each at least 0), seats 0..3, costs with frequent ties, penalties sometimes below
 * the costs, fixed pairs on some seeds. */
void test_problem_params_small(test_rng *rng, int32_t max_pupils, int32_t max_vacancies, test_problem_params *out);

/* Deep copy of any problem (its arrays may be NULL when the counts are 0). */
void test_problem_copy(const matcher_problem *source, test_problem *out);

/* Puts the pairs and the fixed pairs in a random order (the problem stays the same). */
void test_problem_shuffle(test_problem *problem, test_rng *rng);

void test_problem_free(test_problem *problem);

/* Allocation that exits with a message instead of returning NULL (tests and benchmark only). */
void *test_alloc(size_t count, size_t size);

#endif
