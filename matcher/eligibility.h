/* eligibility.h: who may be proposed where, at what cost, and why a pupil stays unplaced.
 * Pure C11 like the rest of libmatcher: the daemon fills plain arrays from its working set,
 * this turns them into a matcher_problem, and after the solve explains every unplaced pupil.
 *
 * A pupil is eligible for a vacancy when (DESIGN.md "Matching", in this order, which is also
 * the order of the unplaced reasons):
 *   1. same training, the company recognised for it, the vacancy open with seats;
 *   2. readiness at least the vacancy's minimum; a NOT_READY pupil only for PREPARATORY places;
 *   3. great-circle distance (haversine, mean Earth radius 6,371,008.8 m, rounded to the metre)
 *      at most the pupil's maximum commute (equal is eligible);
 *   4. the pupil's workplace days a subset of the vacancy's days (two-week day masks);
 *   5. the company not excluded for the pupil (it declined, or a proposal was declined).
 * Candidates come from an index of vacancies by training and a spatial grid, so the work grows
 * with the number of eligible pairs, not pupils times vacancies.
 *
 * Cost of an eligible pair: distance (per 100 m) + a penalty by the company's rank in the
 * pupil's preferences (or for a company not among them, when the pupil has preferences) + a
 * penalty for moving a PROPOSED pupil away from its current proposal (so it moves only when
 * that is better by more than this threshold). Unplaced penalty: a large base, raised by
 * priority flags and by days on the waiting list, so that those who waited longest and have the
 * least chance elsewhere are placed first. Every weight is in eligibility_weights.
 */
#ifndef LEERPLEK_MATCHER_ELIGIBILITY_H
#define LEERPLEK_MATCHER_ELIGIBILITY_H

#include <stdint.h>

#include "matcher.h"

typedef enum { READINESS_NOT_READY = 0, READINESS_PARTLY = 1, READINESS_READY = 2 } eligibility_readiness;

/* Bits 0..6 Monday..Sunday of week A, bits 7..13 of week B. */
#define ELIGIBILITY_DAY_MASK_ALL 0x3FFF

typedef struct {
    int32_t training;       /* the caller's training index (any int32; equal = same training) */
    int32_t company;        /* the caller's company index */
    uint8_t recognised;     /* the company is recognised for this training */
    uint8_t open;           /* published and not closed */
    uint8_t preparatory;    /* a PREPARATORY (protected, preparatory-phase) place */
    uint8_t min_readiness;  /* eligibility_readiness */
    uint16_t day_mask;
    int32_t seats;          /* all seats, those held by fixed (ACCEPTED/AGREEMENT) placements included */
    int32_t lat_e6, lon_e6; /* WGS84 micro-degrees of its location */
} eligibility_vacancy;

typedef struct {
    int32_t training;
    uint8_t readiness;      /* eligibility_readiness */
    uint8_t newcomer;       /* OKAN: priority */
    uint8_t special_needs;  /* BuSO: priority */
    uint16_t day_mask;
    int32_t lat_e6, lon_e6; /* home point, already rounded by the daemon */
    int32_t max_commute_m;
    int32_t waiting_days;   /* days since the placement request, >= 0 */
    const int32_t *preferred_companies; /* ranked, best first; NULL if none */
    int32_t preferred_count;
    const int32_t *excluded_companies;  /* never propose these; NULL if none */
    int32_t excluded_count;
    int32_t proposed_vacancy; /* PROPOSED: the vacancy of its current proposal, else -1 */
    int32_t fixed_vacancy;    /* ACCEPTED or AGREEMENT: its vacancy (a fixed pair), else -1 */
} eligibility_pupil;

typedef struct {
    int64_t cost_per_100m;            /* default 1 */
    int64_t preference_rank_step;     /* per rank below the first preference; default 20 */
    int64_t not_preferred_penalty;    /* company outside a non-empty preference list; default 200 */
    int64_t move_penalty;             /* leaving the current proposal; default 100 (= 10 km) */
    int64_t unplaced_base;            /* default 1,000,000,000 */
    int64_t newcomer_bonus;           /* added to the unplaced penalty; default 200,000,000 */
    int64_t special_needs_bonus;      /* default 200,000,000 */
    int64_t per_waiting_day;          /* default 1,000,000; waiting days count up to 3650 */
} eligibility_weights;

void eligibility_default_weights(eligibility_weights *weights);

/* The matching problem built from pupils and vacancies; indices are the callers'. */
typedef struct {
    matcher_problem problem;        /* points into the arrays below */
    int64_t *unplaced_penalty;      /* [pupils] */
    int32_t *seats;                 /* [vacancies]: seats of open vacancies, 0 for closed ones,
                                     * raised to the number of fixed pairs held there (so a
                                     * closed or shrunk vacancy keeps its agreements) */
    matcher_pair *pairs;            /* grouped by pupil, vacancies ascending */
    int32_t *pair_distance_m;       /* [pairs]: the distance behind each pair */
    matcher_fixed_pair *fixed;
} eligibility_problem;

/* Builds the problem. A fixed placement is kept as a fixed pair even when the pupil or the
 * vacancy changed since and it would no longer be eligible (an agreement is not undone by a
 * rematch); it is that pupil's only pair, costed as usual without the move penalty. weights
 * NULL means the defaults. Returns MATCHER_OK, MATCHER_INVALID (a bad field, named in the message: training or
 * company index mismatch is not an error, but negative seats, commute or waiting days, a day
 * mask above 14 bits, coordinates outside WGS84, a fixed or proposed vacancy out of range are),
 * or MATCHER_NO_MEMORY. */
matcher_status eligibility_build(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, eligibility_problem *out,
                                 matcher_error *error);
void eligibility_problem_free(eligibility_problem *problem);

/* Great-circle distance in metres, rounded (the one formula everyone uses). */
int32_t eligibility_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6);

/* Pair-level test, independent of the grid index: for tests and for checking proposals. */
int eligibility_is_eligible(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy);

/* Why a pupil is unplaced: the first rule above that leaves it no candidate, else every
 * eligible seat is held by pupils with a better claim. */
typedef enum {
    ELIGIBILITY_PLACED = 0,
    ELIGIBILITY_NO_RECOGNISED_VACANCY, /* rule 1 */
    ELIGIBILITY_READINESS_TOO_LOW,     /* rule 2: -> preparatory phase */
    ELIGIBILITY_NONE_WITHIN_COMMUTE,   /* rule 3 */
    ELIGIBILITY_NO_COMPATIBLE_DAYS,    /* rule 4 */
    ELIGIBILITY_ALL_EXCLUDED,          /* rule 5 */
    ELIGIBILITY_SEATS_TAKEN            /* eligible seats exist, all went to better claims */
} eligibility_reason;

typedef struct {
    eligibility_reason reason;
    int32_t candidates_after_rule;  /* vacancies left after the rules before the failing one
                                     * (rule 1: the vacancies of its training; SEATS_TAKEN:
                                     * the eligible vacancies) */
    int32_t nearest_distance_m;     /* NONE_WITHIN_COMMUTE: nearest vacancy passing rules 1-2; else -1 */
    int32_t eligible_seats;         /* SEATS_TAKEN: seats of the eligible vacancies (as built) */
    int32_t better_claims;          /* SEATS_TAKEN: pupils placed there */
    char help[200];                 /* what would help, e.g. "1 more place in this training within
                                     * 12 km open on Mon/Tue (week A and B)" */
} eligibility_explanation;

/* Explains every pupil of a solved problem built by eligibility_build from the same arrays:
 * explanations[i].reason is ELIGIBILITY_PLACED for placed pupils. */
matcher_status eligibility_explain(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const matcher_solution *solution,
                                   eligibility_explanation *explanations, matcher_error *error);

#endif
