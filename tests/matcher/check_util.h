/* check_util.h: assertions shared by the libmatcher tests (Criterion). Each helper asserts with
 * a message that carries the caller's context (usually the seed), so a failure can be replayed. */
#ifndef LEERPLEK_TESTS_MATCHER_CHECK_UTIL_H
#define LEERPLEK_TESTS_MATCHER_CHECK_UTIL_H

#include <stdint.h>

#include "matcher.h"

/* Solves (warm may be NULL), asserts MATCHER_OK, then asserts matcher_verify accepts the
 * solution and that the assignment's cost and placed count, recomputed here, match. */
void solve_and_verify(const matcher_problem *problem, const matcher_warm_start *warm, matcher_solution *solution,
                      const char *context);

/* Asserts that matcher_check and matcher_solve both refuse with `expected` and a message that
 * contains each of the fragments that is not NULL. */
void expect_refused(const matcher_problem *problem, matcher_status expected, const char *context, const char *fragment,
                    const char *fragment2, const char *fragment3);

/* Asserts matcher_verify rejects the solution with MATCHER_NOT_OPTIMAL and a message containing
 * both fragments (fragment2 may be NULL). */
void expect_rejected(const matcher_problem *problem, const matcher_solution *solution, const char *context,
                     const char *fragment, const char *fragment2);

/* The cost of an assignment recomputed from the problem by a linear scan per pupil; asserts
 * feasibility (eligible pairs, seats, fixed pairs). */
int64_t recompute_objective(const matcher_problem *problem, const int32_t *vacancy_of_pupil, int32_t *placed,
                            const char *context);

#endif
