/* rows.h: internal to libmatcher. The eligible pairs of a problem regrouped per pupil, each
 * pupil's row sorted by vacancy id: the one place where pairs are checked (ranges, duplicates,
 * fixed pairs, overflow) and indexed. The solver walks rows as its adjacency lists; sorting
 * them is what makes the result independent of the order the caller gave the pairs in.
 * Twelve bytes per pair (vacancy id + cost in two parallel arrays) plus eight per pupil. */
#ifndef LEERPLEK_MATCHER_ROWS_H
#define LEERPLEK_MATCHER_ROWS_H

#include "matcher.h"

typedef struct {
  int64_t *row_start;     /* [pupil_count + 1]: pupil i's pairs are row_start[i]..row_start[i+1]-1 */
  int32_t *row_vacancy;   /* [pair_count] ascending within a row */
  int64_t *row_cost;      /* [pair_count] */
  int32_t *fixed_vacancy; /* [pupil_count]: the vacancy a pupil is fixed to, or MATCHER_UNPLACED */
  int32_t *fixed_taken;   /* [vacancy_count]: seats used by fixed pairs */
  size_t bytes;           /* what the arrays above occupy */
} pair_rows;

/* Checks the problem completely and builds its rows. On anything but MATCHER_OK nothing is
 * left allocated and error names the first offending item. */
matcher_status pair_rows_build(const matcher_problem *problem, pair_rows *rows, matcher_error *error);

void pair_rows_free(pair_rows *rows);

/* 1 if the problem's pairs are strictly ascending by (pupil, vacancy), the order of the rows. */
int pairs_in_row_order(const matcher_problem *problem);

/* Whether a pair names a known pupil and vacancy and costs 0..MATCHER_VALUE_MAX: the per-pair
 * limits of matcher_check, as one test without branches for passes that only need a yes (the
 * message naming what is wrong comes from matcher_check). Unsigned compares fold each range's
 * two bounds into one. */
static inline int pair_well_formed(const matcher_pair *pair, int32_t pupil_count, int32_t vacancy_count) {
  return ((uint32_t)pair->pupil < (uint32_t)pupil_count) & ((uint32_t)pair->vacancy < (uint32_t)vacancy_count) &
         ((uint64_t)pair->cost <= (uint64_t)MATCHER_VALUE_MAX);
}

/* The checks of matcher_check on everything but the pairs: counts, arrays present, penalties,
 * seats. Must pass before anything reads the problem's arrays. */
matcher_status problem_check_counts(const matcher_problem *problem, matcher_error *error);

/* The rest of matcher_check for pairs known to be well formed and in row order, given each
 * pupil's dearest pair: the objective bound and the fixed pairs. */
matcher_status problem_check_ordered_rest(const matcher_problem *problem, const int64_t *dearest, matcher_error *error);

/* Index of the pair (pupil, vacancy) in the row arrays, or -1 if it is not eligible. */
int64_t pair_rows_find(const pair_rows *rows, int32_t pupil, int32_t vacancy);

/* Writes a message into error (which may be NULL), printf-style, and returns status. */
matcher_status matcher_fail(matcher_error *error, matcher_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
