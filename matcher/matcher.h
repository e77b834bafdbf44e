/* matcher.h: libmatcher, the optimal assignment core of leerplek.
 *
 * The problem. Pupils 0..N-1, each with an unplaced penalty U_i >= 0; vacancies 0..M-1, each
 * with seats s_j >= 0; eligible pairs (i, j) with a cost c_ij >= 0; some pairs may be fixed
 * (accepted placements that must stay). Choose pairs so that every pupil is in at most one
 * chosen pair and every vacancy in at most s_j of them, minimising
 *
 *     sum of c_ij over chosen pairs  +  sum of U_i over pupils left unplaced.
 *
 * The proof. With the fixed pairs taken out (their pupils removed, their seats used up), this
 * is the linear program
 *     min  sum c_ij x_ij + sum U_i y_i
 *     s.t. sum_j x_ij + y_i = 1 (each pupil),  sum_i x_ij <= s_j (each vacancy),  x, y >= 0
 * whose dual has a price u_i per pupil and a price p_j per vacancy:
 *     max  sum u_i - sum s_j p_j   s.t.  u_i - p_j <= c_ij,  u_i <= U_i,  p_j >= 0.
 * A solution is optimal exactly when these prices exist and
 *     every pair has reduced cost c_ij + p_j - u_i >= 0, and = 0 when the pair is chosen;
 *     u_i <= U_i, and = U_i when pupil i is unplaced;
 *     p_j >= 0, and p_j > 0 only when vacancy j is full.
 * matcher_solve returns the prices with the assignment; matcher_verify checks all of the
 * above from scratch, so nobody has to trust the solver.
 *
 * Use. Fill a matcher_problem with arrays you own, call matcher_solve, read the
 * matcher_solution, free it with matcher_solution_free. No global state, no I/O: separate
 * problems can be solved on separate threads at once. Results are deterministic: the same
 * problem gives the same assignment whatever the order of its pairs (ties go to the lower
 * vacancy id, then to the lower pupil id).
 */
#ifndef LEERPLEK_MATCHER_H
#define LEERPLEK_MATCHER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Costs and penalties above this are refused. 2^53 keeps every price exact in a double (so
 * JSON readers elsewhere see the same numbers) and leaves the solver's sums of a few prices
 * far from int64 overflow. The sum over all pupils of max(U_i, largest c_ij of i) must also fit
 * in int64: that bounds the objective. */
#define MATCHER_VALUE_MAX ((int64_t)1 << 53)

/* Pupil and vacancy counts are at most this (indices fit in int32 with room for markers). */
#define MATCHER_COUNT_MAX (INT32_MAX / 2)

/* vacancy_of_pupil value of a pupil left unplaced. */
#define MATCHER_UNPLACED (-1)
/* Warm start: vacancy_of_pupil value of a pupil the previous solve did not know. */
#define MATCHER_UNKNOWN (-2)

typedef enum {
  MATCHER_OK = 0,
  MATCHER_INVALID,     /* the problem (or warm start) is malformed: see the message */
  MATCHER_INFEASIBLE,  /* the fixed pairs cannot all hold (a vacancy over its seats) */
  MATCHER_NOT_OPTIMAL, /* matcher_verify: the solution is infeasible or not proven optimal */
  MATCHER_NO_MEMORY
} matcher_status;

typedef struct {
  int32_t pupil;
  int32_t vacancy;
  int64_t cost;
} matcher_pair;

typedef struct {
  int32_t pupil;
  int32_t vacancy;
} matcher_fixed_pair;

typedef struct {
  int32_t pupil_count;
  int32_t vacancy_count;
  const int64_t *unplaced_penalty; /* [pupil_count], each 0..MATCHER_VALUE_MAX */
  const int32_t *seats;            /* [vacancy_count], each >= 0 */
  int64_t pair_count;
  const matcher_pair *pairs; /* [pair_count], any order, each (pupil, vacancy) once */
  int64_t fixed_count;
  const matcher_fixed_pair *fixed; /* [fixed_count], each one of the pairs, a pupil at most once */
} matcher_problem;

/* What the solver did, for benchmarks and logs; not needed to use the result. */
typedef struct {
  int64_t searches;          /* shortest-path searches run (one per pupil to place) */
  int64_t vacancies_scanned; /* vacancies settled over all searches */
  int64_t pairs_scanned;     /* pair reduced costs examined over all searches */
  int64_t repaired;          /* warm start: pupils whose previous placement had to be undone */
  int64_t reverse_searches;  /* warm start: seats left with a price that a reverse search set out to fill or
                                release (one per seat per search it starts in) */
  int32_t warm_abandoned;    /* 1 if the warm start cost more than a cold solve would and was dropped */
  int64_t warm_pairs_wasted; /* pairs the dropped warm start scanned before it gave up (not in pairs_scanned) */
  int32_t warm_started;      /* 1 if the result was built from the warm start (0: cold, or warm_abandoned) */
  int64_t
      warm_priced_vacancies;  /* warm start: vacancies the kept placements left with a free seat and a positive price */
  int64_t warm_priced_filled; /* of those, filled by the searches placing waiting pupils; the rest
                                 took reverse searches (at least one each) */
  size_t working_bytes;       /* peak bytes the solver allocated for its own structures */
  int64_t reverse_phases;     /* warm start: reverse searches run; one may set out for several seats at once,
                                 so at most reverse_searches */
} matcher_stats;

typedef struct {
  int32_t *vacancy_of_pupil; /* [pupil_count]: a vacancy, or MATCHER_UNPLACED */
  int64_t *pupil_price;      /* [pupil_count]: the dual price u_i */
  int64_t *vacancy_price;    /* [vacancy_count]: the dual price p_j >= 0 */
  int64_t objective;         /* sum of chosen costs (fixed ones included) + unplaced penalties */
  int32_t placed;            /* pupils in a chosen pair, fixed ones included */
  matcher_stats stats;
} matcher_solution;

/* A previous solution, re-indexed to the new problem by the caller (who knows which ids stayed).
 * Pupil prices are not needed: a kept placement's price follows from its vacancy's price.
 * Placements and prices may be stale or wrong: the solver repairs what no longer holds (pairs
 * gone, seats reduced, prices that break a reduced cost) and re-places only the pupils
 * concerned, so the result is exactly as optimal as a cold solve, only faster when little
 * changed.
 *
 * Checking that a kept placement still holds means reading the pupil's whole row, which for
 * every pupil costs a sizeable part of a cold solve. A caller that knows what changed says so
 * in pupil_changed, and only those pupils are checked (with those whose vacancies lost their
 * price). A pupil has changed when it is new, its unplaced penalty changed, or any of its pairs
 * was added, removed (its vacancy gone included) or re-costed; but a pair that only got dearer
 * need not count unless it is the pair of the pupil's previous vacancy, nor that pair getting
 * cheaper (neither can break the kept placement or wait: a proposal's move penalty on all the
 * other pairs is such a change). Seats, vacancies added or removed and the previous placements
 * themselves need no flag. The flags are a promise: a pupil
 * marked unchanged whose pairs did change can leave the result unproven (matcher_verify tells). */
typedef struct {
  const int32_t
      *vacancy_of_pupil; /* [pupil_count]: previous vacancy, MATCHER_UNPLACED or MATCHER_UNKNOWN; NULL: none kept */
  const int64_t *vacancy_price; /* [vacancy_count]: previous p_j, 0 for new vacancies; NULL: all 0 */
  const uint8_t *pupil_changed; /* [pupil_count]: nonzero = changed since; NULL: check every pupil */
} matcher_warm_start;

typedef struct {
  char message[256]; /* names what is wrong: "pair 17: vacancy 12 out of range 0..9" */
} matcher_error;

/* Checks a problem without solving it. Refuses (MATCHER_INVALID, with a message naming the
 * first offending item): negative counts or counts above MATCHER_COUNT_MAX, missing arrays,
 * a pair naming an unknown pupil or vacancy, a duplicate pair, negative seats, a negative cost
 * or penalty or one above MATCHER_VALUE_MAX, an objective bound that overflows int64, a fixed
 * pair that is not an eligible pair, a pupil fixed twice. MATCHER_INFEASIBLE when fixed pairs
 * fill a vacancy beyond its seats. */
matcher_status matcher_check(const matcher_problem *problem, matcher_error *error);

/* Solves the problem exactly. warm may be NULL (cold solve). On MATCHER_OK, *solution holds
 * freshly allocated arrays to release with matcher_solution_free; on any other status nothing
 * is allocated and error->message says why. error may be NULL. Same result as
 * matcher_network_build, matcher_network_solve and matcher_network_free in a row; given a warm
 * start whose change flags mark few pupils it lays the network out for a few searches rather
 * than for a whole solve (two passes over the pairs fewer), which changes nothing in the
 * result. */
matcher_status matcher_solve(const matcher_problem *problem, const matcher_warm_start *warm, matcher_solution *solution,
                             matcher_error *error);

/* The problem indexed for solving (its pairs grouped per pupil and per vacancy, its seats laid
 * out). Building it costs about as much as a cold solve's searches, so callers that solve the
 * same problem more than once (a dry run, then the real one) or that time the two phases
 * separately (benchmarks) build once. The network refers to the problem's arrays: they must
 * stay unchanged while the network lives. */
typedef struct matcher_network matcher_network;

matcher_status matcher_network_build(const matcher_problem *problem, matcher_network **network, matcher_error *error);
/* Solves from scratch (warm == NULL) or from a previous solution; may be called any number of
 * times, each independent of the last. */
matcher_status matcher_network_solve(matcher_network *network, const matcher_warm_start *warm,
                                     matcher_solution *solution, matcher_error *error);
void matcher_network_free(matcher_network *network);

void matcher_solution_free(matcher_solution *solution);

/* Checks a solution against a problem, independently of how it was found: feasibility
 * (every pupil in at most one eligible pair, seats respected, every fixed pair chosen),
 * the reported objective and placed count, and optimality (the dual conditions above, then
 * strong duality: the objective equals the dual value). MATCHER_OK means proven optimal;
 * MATCHER_NOT_OPTIMAL names the first condition that fails; MATCHER_INVALID if the problem
 * itself is malformed. Does not read solution->stats. */
matcher_status matcher_verify(const matcher_problem *problem, const matcher_solution *solution, matcher_error *error);

/* matcher_verify that also gives the dual value it computed (the lower bound the prices prove:
 * no solution costs less), so that callers can show the proof; *dual_value is set once the
 * checks before strong duality passed, and equals the objective when MATCHER_OK. */
matcher_status matcher_verify_bound(const matcher_problem *problem, const matcher_solution *solution,
                                    int64_t *dual_value, matcher_error *error);

/* A short English name of a status, for messages. */
const char *matcher_status_name(matcher_status status);

#ifdef __cplusplus
}
#endif

#endif
