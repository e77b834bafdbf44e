/* lemon_reference.h: LEMON 1.3's NetworkSimplex behind a small C interface, the independent
 * reference solver that the tests cross-check libmatcher against and that the benchmark races.
 *
 * The problem is turned into the classic transportation network: a node per pupil (supply 1),
 * a node per vacancy, one sink (demand pupil_count); an arc pupil -> vacancy per eligible pair
 * (capacity 1, its cost), an arc vacancy -> sink (capacity seats, cost 0) and an arc
 * pupil -> sink (capacity 1, the unplaced penalty). A fixed pair becomes a lower bound of 1 on
 * its arc. The minimum cost flow's cost is then exactly matcher_solution.objective.
 *
 * This code shares nothing with libmatcher except the matcher_problem type, so an agreement
 * between the two is real evidence. */
#ifndef LEERPLEK_TESTS_LEMON_REFERENCE_H
#define LEERPLEK_TESTS_LEMON_REFERENCE_H

#include <stdint.h>

#include "matcher.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NetworkSimplex's pivot rules. LEMON's default is block search; on these bipartite networks
 * candidate list and first eligible are faster, so callers choose. */
typedef enum {
  LEMON_PIVOT_FIRST_ELIGIBLE,
  LEMON_PIVOT_BEST_ELIGIBLE,
  LEMON_PIVOT_BLOCK_SEARCH,
  LEMON_PIVOT_CANDIDATE_LIST,
  LEMON_PIVOT_ALTERING_LIST
} lemon_pivot_rule;

typedef enum {
  LEMON_REFERENCE_OK = 0,
  LEMON_REFERENCE_INVALID,    /* the problem is malformed or too large for the reference */
  LEMON_REFERENCE_INFEASIBLE, /* the fixed pairs cannot all hold */
  LEMON_REFERENCE_NO_MEMORY,
  LEMON_REFERENCE_FAILED /* LEMON itself reported something unexpected */
} lemon_reference_status;

typedef struct {
  lemon_reference_status status;
  int64_t objective;    /* sum of chosen pair costs (fixed included) + unplaced penalties */
  int32_t placed;       /* pupils that got a vacancy, fixed ones included */
  double build_seconds; /* building the graph and handing the maps to NetworkSimplex */
  double solve_seconds; /* NetworkSimplex::run alone */
  char message[160];    /* why, when status is not OK */
} lemon_reference_result;

/* Solves the problem with the given pivot rule. Returns result->status (also stored there).
 * Never throws; allocation failures come back as LEMON_REFERENCE_NO_MEMORY. */
int lemon_reference_solve(const matcher_problem *problem, lemon_pivot_rule rule, lemon_reference_result *result);

/* The same, and when vacancy_of_pupil is not NULL it receives the assignment
 * ([pupil_count]: a vacancy or MATCHER_UNPLACED), so tests can check LEMON's answer too. */
int lemon_reference_solve_assignment(const matcher_problem *problem, lemon_pivot_rule rule,
                                     lemon_reference_result *result, int32_t *vacancy_of_pupil);

/* "candidate list", "first eligible", ...: for tables and messages. */
const char *lemon_pivot_rule_name(lemon_pivot_rule rule);

#ifdef __cplusplus
}
#endif

#endif
