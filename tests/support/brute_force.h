/* brute_force.h: the optimum of a tiny problem by trying every assignment.
 *
 * Obviously correct rather than fast: the oracle the tests compare both libmatcher and the
 * LEMON reference against. Meant for up to about 10 pupils. */
#ifndef LEERPLEK_TESTS_BRUTE_FORCE_H
#define LEERPLEK_TESTS_BRUTE_FORCE_H

#include <stdbool.h>
#include <stdint.h>

#include "matcher.h"

#define BRUTE_FORCE_MAX_PUPILS 16

/* Finds a minimum-cost assignment of a valid problem (as matcher_check would accept). Returns
 * false when no assignment holds every fixed pair within the seats. Otherwise fills objective,
 * placed and, when not NULL, vacancy_of_pupil ([pupil_count]). */
bool brute_force_solve(const matcher_problem *problem, int64_t *objective, int32_t *placed, int32_t *vacancy_of_pupil);

/* The objective of a given assignment, recomputed independently, or -1 when the assignment is
 * infeasible (a pupil on a non-pair, a vacancy over its seats, a fixed pair not kept). */
int64_t brute_force_assignment_cost(const matcher_problem *problem, const int32_t *vacancy_of_pupil, int32_t *placed);

#endif
