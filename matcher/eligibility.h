/* eligibility.h: the rulebook. Who may be proposed where, who has the stronger claim on a seat,
 * what each pair costs, what leaving a pupil unplaced costs, why a pupil stays unplaced and
 * what would help. Every caller judges pupils and vacancies through this header and nothing
 * else: the daemon's rematch, its proposal and update checks, its waiting list and report, and
 * the tools. It is its own library (libeligibility, on top of libmatcher), pure C11 like the
 * matcher: callers fill plain arrays, this turns them into a matcher_problem and explains the
 * result.
 *
 * THE RULES. A pupil is eligible for a vacancy when, in this order (which is also the order of
 * the unplaced reasons):
 *   1. same training, the company recognised for it, the vacancy open with seats;
 *   2. the readiness fits: at least the vacancy's minimum; a NOT_READY pupil only on a
 *      PREPARATORY place; a PARTLY or READY pupil on a PREPARATORY place only when the
 *      settings allow leftover preparatory seats (ready_on_preparatory, default yes);
 *   3. great-circle distance (haversine, mean Earth radius 6,371,008.8 m, rounded to the metre)
 *      at most the pupil's maximum commute (equal is eligible);
 *   4. the pupil's workplace days a subset of the vacancy's days (two-week day masks);
 *   5. the company not excluded for the pupil (by the school, or after a declined proposal);
 *   6. the place starts in time: when the pupil has a wanted start date and the vacancy a start
 *      date, the vacancy starts at most start_window_days (default 30) after the wanted start.
 *      On the last day of the window is in time, the day after is too late; a place that
 *      started before the wanted date is in time (the pupil joins it on its date). Either
 *      date missing: any start will do.
 *
 * THE PRIORITY ORDER. Who gets a contested seat j, strongest claim first:
 *   1. a NOT_READY pupil on a PREPARATORY seat, before anyone else on it: preparatory places
 *      exist for pupils who are not yet work-ready, and nowhere else can take them;
 *   2. the priority group: special needs (BuSO) or newcomers who followed reception classes
 *      (OKAN), both groups the city names as the most likely to leave school without a
 *      qualification; one flag or both count the same;
 *   3. whole days waited since the placement request (or the pupil's waiting_since), up to
 *      ELIGIBILITY_WAITING_DAYS_MAX: the longer a pupil waits, the nearer the start of the
 *      school year passes it by;
 *   4. the pair's cost: commute (per 100 m), the rank of the company in the pupil's
 *      preferences, and stability: a PROPOSED pupil moves only when another place is better
 *      by more than move_penalty (these three are weighed together, not ranked).
 * Claims compare by levels 1-3 in that order (equal on all three: an equal claim).
 *
 * HOW IT HOLDS EXACTLY. The matcher minimises pair costs plus unplaced penalties. With C the
 * largest pair cost the weights allow (eligibility_levels.pair_cost_max), the penalties are
 *     U_i  = B + G * priority_group(i) + D * days(i),     D = C + 1,  G = D * (DAYS_MAX + 1)
 *     c_ij = commute + preference + move  (<= C)  + H  if j is PREPARATORY and i is not NOT_READY,
 *     H = claim_max + C + 1,  claim_max = G + D * DAYS_MAX,  B = H + C + 1.
 * Take an unplaced pupil P eligible for seat j held by a non-fixed Q with a weaker claim on j.
 * Moving Q out and P in changes the objective by (U_Q - U_P) + (c_Pj - c_Qj):
 *   level 1 (P NOT_READY, Q not, j PREPARATORY): U_Q - U_P <= claim_max, c_Pj - c_Qj <= C - H,
 *           sum <= -1;
 *   level 2 or 3 (level 1 equal, so H is on both pairs or on neither): U_Q - U_P <= -D, the
 *           cost difference <= C, sum <= -1.
 * So no optimal solution leaves such a pair (no justified envy on a single swap), and since
 * every pair costs less than B, no pupil stays unplaced beside a free eligible seat. The
 * largest penalty, B + claim_max, stays below ELIGIBILITY_UNPLACED_MAX for every weight the
 * limits below allow, so the objective of MATCHER_COUNT_MAX pupils fits in int64:
 * eligibility_levels_of refuses anything else.
 *
 * FIXED PAIRS. ACCEPTED and AGREEMENT placements, and PROPOSED ones a coordinator pinned (the
 * daemon's pin_placement and manual placements, which may even break a rule by a written
 * override), enter as fixed_vacancy: the pupil's only pair, its seat held, never moved. The
 * proof above is about non-fixed holders, so it holds with pinned seats as it does with
 * agreements, and eligibility_explain counts them as fixed_holders. An unpinned manual
 * placement is an ordinary proposed_vacancy: when it breaks a rule it has no pair, and the
 * solve releases it (or moves it to an eligible seat).
 *
 * Candidates come from an index of vacancies by training and a spatial grid, so the work grows
 * with the number of eligible pairs, not pupils times vacancies; so do the explanations (the
 * pupil's commute box, and for the nearest place beyond it the bands outward from its home).
 */
#ifndef LEERPLEK_MATCHER_ELIGIBILITY_H
#define LEERPLEK_MATCHER_ELIGIBILITY_H

#include <stdint.h>

#include "matcher.h"

typedef enum { READINESS_NOT_READY = 0, READINESS_PARTLY = 1, READINESS_READY = 2 } eligibility_readiness;

/* Bits 0..6 Monday..Sunday of week A, bits 7..13 of week B. */
#define ELIGIBILITY_DAY_MASK_ALL 0x3FFF

/* Waiting days beyond ten years count as ten years (bounds the penalties). */
#define ELIGIBILITY_WAITING_DAYS_MAX 3650
/* The commute term of a pair cost counts distances up to the API's largest commute, 200 km;
 * farther pairs (possible only for callers that allow longer commutes) cost as 200 km. */
#define ELIGIBILITY_COST_DISTANCE_MAX_M 200000
/* Preference ranks beyond the tenth cost as the tenth. */
#define ELIGIBILITY_PREFERENCE_RANKS 10
/* Largest weights accepted (the daemon's configuration has the same limits). */
#define ELIGIBILITY_COST_PER_100M_MAX 100
#define ELIGIBILITY_RANK_STEP_MAX 1000
#define ELIGIBILITY_PENALTY_MAX 10000
#define ELIGIBILITY_START_WINDOW_MAX 366
/* Largest unplaced penalty: INT64_MAX / MATCHER_COUNT_MAX, so the objective of the largest
 * problem the matcher accepts cannot overflow. */
#define ELIGIBILITY_UNPLACED_MAX (INT64_MAX / MATCHER_COUNT_MAX)

typedef struct {
  int32_t training;      /* the caller's training index (any int32; equal = same training) */
  int32_t company;       /* the caller's company index (-1: a company no pupil names) */
  uint8_t recognised;    /* the company is recognised for this training */
  uint8_t open;          /* published and not closed */
  uint8_t preparatory;   /* a PREPARATORY (protected, preparatory-phase) place */
  uint8_t min_readiness; /* eligibility_readiness */
  uint16_t day_mask;
  int32_t seats;          /* all seats, those held by fixed (ACCEPTED/AGREEMENT) placements included */
  int32_t lat_e6, lon_e6; /* WGS84 micro-degrees of its location */
  int32_t start_day;      /* eligibility_day_of its first day, 0: not known (any pupil's start fits) */
} eligibility_vacancy;

typedef struct {
  int32_t training;
  uint8_t readiness;     /* eligibility_readiness */
  uint8_t newcomer;      /* OKAN: priority group */
  uint8_t special_needs; /* BuSO: priority group */
  uint16_t day_mask;
  int32_t lat_e6, lon_e6; /* home point, already rounded by the caller */
  int32_t max_commute_m;
  int32_t waiting_days;               /* eligibility_waiting_days of its request, >= 0 */
  const int32_t *preferred_companies; /* ranked, best first; NULL if none */
  int32_t preferred_count;
  const int32_t *excluded_companies; /* never propose these; NULL if none */
  int32_t excluded_count;
  int32_t proposed_vacancy; /* PROPOSED: the vacancy of its current proposal, else -1 */
  int32_t fixed_vacancy;    /* ACCEPTED, AGREEMENT or pinned: its vacancy (a fixed pair), else -1 */
  int32_t wanted_start_day; /* eligibility_day_of the start the school wants, 0: any start */
} eligibility_pupil;

/* The settings of the rulebook: the level-4 weights and the one rule that is a choice. */
typedef struct {
  int64_t cost_per_100m;        /* default 1, 0..ELIGIBILITY_COST_PER_100M_MAX */
  int64_t preference_rank_step; /* per rank below the first preference; default 20, 0..ELIGIBILITY_RANK_STEP_MAX */
  int64_t
      not_preferred_penalty; /* company outside a non-empty preference list; default 200, 0..ELIGIBILITY_PENALTY_MAX */
  int64_t move_penalty;      /* leaving the current proposal; default 100 (= 10 km), 0..ELIGIBILITY_PENALTY_MAX */
  int32_t ready_on_preparatory; /* 1 (default): PARTLY and READY pupils may take preparatory
                                 * seats that no eligible NOT_READY pupil claims (an idle
                                 * seat helps nobody, and level 1 keeps them for NOT_READY
                                 * pupils first); 0: preparatory seats are for NOT_READY only */
  int64_t start_window_days;    /* rule 6: days a vacancy may start after the pupil's wanted
                                 * start; default 30, 0..ELIGIBILITY_START_WINDOW_MAX */
  int64_t hint_pair_budget;     /* eligibility_explain: pairs its verifying re-solves may
                                 * build in all (default 1,000,000: every hint of an
                                 * Antwerp-sized rematch, about a tenth of a Flanders-sized
                                 * rematch's time for the strongest claims of a larger one) */
} eligibility_weights;

void eligibility_default_weights(eligibility_weights *weights);

/* The magnitudes that make the priority order hold (see the top of this file). */
typedef struct {
  int64_t pair_cost_max;      /* C */
  int64_t per_waiting_day;    /* D */
  int64_t priority_group;     /* G */
  int64_t claim_max;          /* G + D * ELIGIBILITY_WAITING_DAYS_MAX */
  int64_t preparatory_misuse; /* H */
  int64_t unplaced_base;      /* B */
  int64_t unplaced_max;       /* B + claim_max */
} eligibility_levels;

/* MATCHER_OK, or MATCHER_INVALID naming the weight outside its limits. */
matcher_status eligibility_levels_of(const eligibility_weights *weights, eligibility_levels *levels,
                                     matcher_error *error);

/* Whole days from since_unix_s to now_unix_s, 0..ELIGIBILITY_WAITING_DAYS_MAX (0 when since is
 * 0 or in the future). The one definition of "days waited": the solve, the waiting list and
 * the report all use it, so the days grow by one every 24 hours everywhere at once. */
int32_t eligibility_waiting_days(int64_t since_unix_s, int64_t now_unix_s);

/* The day number of a calendar date: days since 1970-01-01 (proleptic Gregorian), so
 * 1970-01-02 is 1. Dates before 1970-01-02 give 0, which the rules read as "no date"; the API
 * allows only years 2000..2100. The one conversion every caller uses for rule 6. */
int32_t eligibility_day_of(int32_t year, int32_t month, int32_t day);

/* A pupil's claim on a vacancy (levels 1-3 of the priority order); vacancy NULL: on no
 * particular seat (level 1 is 0), which orders the shared waiting list. */
typedef struct {
  uint8_t preparatory;    /* NOT_READY pupil and PREPARATORY vacancy */
  uint8_t priority_group; /* BuSO or OKAN */
  int32_t waiting_days;   /* clamped to ELIGIBILITY_WAITING_DAYS_MAX */
} eligibility_claim;

eligibility_claim eligibility_claim_on(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy);
/* > 0 when a is the stronger claim, < 0 when b is, 0 when equal. */
int eligibility_compare_claims(eligibility_claim a, eligibility_claim b);

/* U_i of the top of this file. */
int64_t eligibility_unplaced_penalty(const eligibility_pupil *pupil, const eligibility_levels *levels);
/* c_ij of the top of this file, for a pair that passes the rules; distance_m is the pair's
 * distance, is_fixed drops the move penalty (a fixed pupil does not move). */
int64_t eligibility_pair_cost(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy, int32_t vacancy_index,
                              int32_t distance_m, int is_fixed, const eligibility_weights *weights,
                              const eligibility_levels *levels);

/* The matching problem built from pupils and vacancies; indices are the callers'. */
typedef struct {
  matcher_problem problem;   /* points into the arrays below */
  eligibility_levels levels; /* the magnitudes used */
  int64_t *unplaced_penalty; /* [pupils] */
  int32_t *seats;            /* [vacancies]: seats of open vacancies, 0 for closed ones,
                              * raised to the number of fixed pairs held there (so a
                              * closed or shrunk vacancy keeps its agreements) */
  matcher_pair *pairs;       /* grouped by pupil, vacancies ascending */
  int32_t *pair_distance_m;  /* [pairs]: the distance behind each pair */
  matcher_fixed_pair *fixed;
  int32_t reused_pupils;         /* eligibility_build_reusing: pupils whose pairs came from the previous build */
  uint8_t *pupil_changed;        /* eligibility_build_reusing with a previous build: [pupils], nonzero when the
                                  * pupil is new or its unplaced penalty, fixedness, pairs (vacancies by
                                  * same_vacancy) or their costs differ from its previous pupil's (costs
                                  * that only rose as warm_vacancy allows excepted): the matcher's
                                  * matcher_warm_start.pupil_changed, found on the way; else NULL */
  struct eligibility_grid *grid; /* private: the build's candidate grid, which eligibility_explain
                                  * reuses while the vacancies' values are the same */
} eligibility_problem;

/* Builds the problem. A fixed placement is kept as a fixed pair even when the pupil or the
 * vacancy changed since and it would no longer be eligible (an agreement is not undone by a
 * rematch); it is that pupil's only pair, costed as usual without the move penalty. weights
 * NULL means the defaults. Returns MATCHER_OK, MATCHER_INVALID (a bad field, named in the
 * message: training or company index mismatch is not an error, but negative seats, commute or
 * waiting days, a day mask above 14 bits, coordinates outside WGS84, a fixed or proposed
 * vacancy out of range, weights outside their limits are), or MATCHER_NO_MEMORY. */
matcher_status eligibility_build(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, eligibility_problem *out, matcher_error *error);
void eligibility_problem_free(eligibility_problem *problem);

/* REUSE. A rematch after a small change need not search every pupil's candidates again: the
 * rules are a function of the values below alone, so a pair of a pupil and a vacancy whose
 * rule inputs (pupil: training, readiness, days, home, commute, excluded companies, wanted
 * start; vacancy: training, company, recognised, open, has seats, preparatory, minimum
 * readiness, days, location, start; weights: ready_on_preparatory, start_window_days) equal
 * those of a previous build is eligible exactly when it was then, at the same distance. The
 * caller names the previous build and which of its pupils and vacancies are the same records
 * (by its stable ids); this file compares the values. */
typedef struct {
  const eligibility_pupil *pupils; /* the previous build's inputs, as they were */
  int32_t pupil_count;
  const eligibility_vacancy *vacancies;
  int32_t vacancy_count;
  eligibility_weights weights;
  const matcher_pair *pairs; /* its pairs (grouped by pupil) and their distances */
  const int32_t *pair_distance_m;
  int64_t pair_count;
  const int32_t *same_pupil;   /* [pupil_count now]: the same pupil's previous index, -1 new */
  const int32_t *same_vacancy; /* [vacancy_count now]: the same vacancy's previous index, -1 new */
  /* [pupil_count now] or NULL: the vacancy (index now) the previous solution, which the caller
   * gives the matcher as its warm start, placed the pupil at, MATCHER_UNPLACED or
   * MATCHER_UNKNOWN. Where it is known, pupil_changed leaves out a pupil whose pairs and penalty
   * are the same and whose costs only rose, but on the pair of that vacancy, which may only fall:
   * no such change can break the kept placement or wait (matcher.h), and a rematch after
   * another one gives a proposal to most pupils, which adds the move penalty to all their other
   * pairs and would otherwise mark them all. */
  const int32_t *warm_vacancy;
} eligibility_previous;

/* As eligibility_build, with the same result: the pairs of a pupil whose rule inputs did not
 * change are the previous ones to vacancies whose rule inputs did not change, plus a search
 * among the vacancies that are new or changed; every other pupil is searched as usual. Every
 * pair keeps its previous cost when its cost inputs did not change either (the pupil's
 * preferences, its proposal the same record or none then and now, the cost weights), else it is
 * costed anew. The previous pairs must be grouped by pupil in ascending order (as every build
 * writes them), and same_vacancy must name each previous vacancy at most once (else nothing is
 * reused). previous NULL (or with other rule weights): a plain eligibility_build. */
matcher_status eligibility_build_reusing(const eligibility_pupil *pupils, int32_t pupil_count,
                                         const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                         const eligibility_weights *weights, const eligibility_previous *previous,
                                         eligibility_problem *out, matcher_error *error);

/* As eligibility_build_reusing, with the same result, and previous->pairs and
 * previous->pair_distance_m (from malloc) given to it whatever its status: it rewrites them in
 * place into the new problem's arrays when the previous rows can be read in their order
 * (same_pupil ascending, vacancies in their previous order), so that a small change costs the
 * rows it changes and the shift after them instead of a copy of every pair into fresh memory,
 * else it frees them after a copying build. The caller must not touch them after the call. */
matcher_status eligibility_build_in_place(const eligibility_pupil *pupils, int32_t pupil_count,
                                          const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                          const eligibility_weights *weights, const eligibility_previous *previous,
                                          eligibility_problem *out, matcher_error *error);

/* DISPATCH: the preparatory track by the same rules. Waiting referrals are given seats of
 * support offers with the same engine and the same certificate: each referral becomes a pupil
 * and each offer a PREPARATORY vacancy that takes every readiness, so
 *   rule 1 "same training, recognised" reads "an offer of the referral's component" (the
 *          component is the training index, every offer recognised);
 *   rule 2 always holds (level 1 of the priority order still puts a NOT_READY pupil before a
 *          PARTLY or READY one on every seat: the track exists for pupils not yet ready);
 *   rules 3 and 4 are the commute from the pupil's home to the offer's site and the days;
 *   rule 5 "excluded" holds the offers that do not serve the pupil's training and those
 *          declined for this referral (each offer is a company of its own).
 * Levels 2 and 3 (priority group, days waited since the referral) and the penalties are the
 * rulebook's, so everything proven at the top of this file holds for dispatch as it is. Offers
 * already holding a referral (offered or started) keep it as a fixed pair. */
typedef struct {
  int32_t component;        /* the component (any int32; equal = same component) */
  const int32_t *trainings; /* the caller's training indices it serves; NULL/0 = all */
  int32_t training_count;
  uint8_t open; /* takes referrals */
  uint16_t day_mask;
  int32_t seats;          /* all seats, those held by fixed referrals included */
  int32_t lat_e6, lon_e6; /* its site */
} eligibility_dispatch_offer;

typedef struct {
  int32_t component;
  int32_t training;      /* the pupil's training index */
  uint8_t readiness;     /* eligibility_readiness */
  uint8_t newcomer;      /* OKAN */
  uint8_t special_needs; /* BuSO */
  uint16_t day_mask;
  int32_t lat_e6, lon_e6; /* home point, already rounded */
  int32_t max_commute_m;
  int32_t waiting_days;           /* since the referral */
  const int32_t *declined_offers; /* offer indices declined for it; NULL if none */
  int32_t declined_count;
  int32_t fixed_offer; /* OFFERED or STARTED: the offer holding it (a fixed pair), else -1 */
} eligibility_dispatch_referral;

/* The rulebook's pupils and vacancies for a dispatch (owned, [referral_count] and
 * [offer_count], indices as given) and the problem built from them: hand pupils and vacancies
 * to eligibility_explain with built and the same weights. */
typedef struct {
  eligibility_pupil *pupils;
  eligibility_vacancy *vacancies;
  int32_t *excluded;           /* the pupils' exclusion lists, one block */
  eligibility_weights weights; /* the caller's, with ready_on_preparatory = 1 */
  eligibility_problem built;
} eligibility_dispatch;

/* Builds the dispatch problem; statuses as eligibility_build (MATCHER_INVALID names the
 * referral or offer at fault). weights NULL means the defaults. */
matcher_status eligibility_dispatch_build(const eligibility_dispatch_referral *referrals, int32_t referral_count,
                                          const eligibility_dispatch_offer *offers, int32_t offer_count,
                                          const eligibility_weights *weights, eligibility_dispatch *out,
                                          matcher_error *error);
void eligibility_dispatch_free(eligibility_dispatch *dispatch);

/* Great-circle distance in metres, rounded (the one formula everyone uses). */
int32_t eligibility_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6);

/* Why a pupil is unplaced: the first rule above that leaves it no candidate, else every
 * eligible seat is held by pupils with an equal or stronger claim (or fixed placements). */
typedef enum {
  ELIGIBILITY_PLACED = 0,            /* placed (eligibility_explain), or eligible (eligibility_failed_rule) */
  ELIGIBILITY_NO_RECOGNISED_VACANCY, /* rule 1 */
  ELIGIBILITY_READINESS_TOO_LOW,     /* rule 2: -> preparatory phase (or a place for its readiness) */
  ELIGIBILITY_NONE_WITHIN_COMMUTE,   /* rule 3 */
  ELIGIBILITY_NO_COMPATIBLE_DAYS,    /* rule 4 */
  ELIGIBILITY_ALL_EXCLUDED,          /* rule 5 */
  ELIGIBILITY_STARTS_TOO_LATE,       /* rule 6: the places left all start too late */
  ELIGIBILITY_SEATS_TAKEN            /* eligible seats exist, all held by equal or stronger claims */
} eligibility_reason;
/* The daemon's UnplacedReason numbers follow these up to ALL_EXCLUDED; STARTS_TOO_LATE was
 * added to the API after SEATS_TAKEN (lp_rematch.c maps them). */

/* The pair test, independent of the grid index: the first rule the pair fails, or
 * ELIGIBILITY_PLACED (0) when the pupil is eligible. weights NULL means the defaults. */
eligibility_reason eligibility_failed_rule(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                                           const eligibility_weights *weights);
int eligibility_is_eligible(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                            const eligibility_weights *weights);

/* What would help an unplaced pupil: a change that, made, places it. Each hint is checked by
 * re-solving the changed problem (warm from the solution, on the part of the network the
 * change can reach); a hint that did not place the pupil, or that the budget left unchecked,
 * is not given. */
typedef enum {
  ELIGIBILITY_HINT_NONE = 0,
  ELIGIBILITY_HINT_MORE_SEATS, /* hint_seats more seats at hint_vacancy (an eligible one) */
  ELIGIBILITY_HINT_NEW_PLACE,  /* a new vacancy of hint_seats seats: the pupil's training,
                                * kind hint_preparatory, open to its readiness, on its days,
                                * at hint_vacancy's location (its company unless
                                * hint_new_company) or, hint_vacancy -1, at the pupil's home;
                                * starting on the pupil's wanted start (if it has one) */
} eligibility_hint_kind;

typedef struct {
  eligibility_reason reason;
  int32_t candidates_after_rule; /* vacancies left after the rules before the failing one
                                  * (rule 1: the vacancies of its training; SEATS_TAKEN:
                                  * the eligible vacancies) */
  int32_t nearest_distance_m;    /* NONE_WITHIN_COMMUTE: the nearest vacancy that passes
                                  * every rule but the commute, -1 if none does */
  int32_t nearest_vacancy;       /* that vacancy, -1 */
  int32_t eligible_seats;        /* SEATS_TAKEN: seats of the eligible vacancies (as built) */
  int32_t stronger_claims;       /* SEATS_TAKEN: holders of those seats with a stronger claim */
  int32_t equal_claims;          /* ... with an equal claim (their pair cost less) */
  int32_t fixed_holders;         /* ... held by fixed pupils (ACCEPTED, AGREEMENT, pinned) */
  eligibility_hint_kind hint;
  int32_t hint_vacancy;     /* the vacancy the hint names, -1 */
  int32_t hint_seats;       /* seats to add, >= 1 */
  uint8_t hint_preparatory; /* the kind of the place */
  uint8_t hint_new_company; /* NEW_PLACE at another company (hint_vacancy's is excluded) */
  uint8_t hint_unchecked;   /* no hint: the budget ran out before this pupil */
  int32_t hint_distance_m;  /* from the pupil's home to the hint's place */
  char help[480];           /* the reason and the hint in one English sentence or two */
} eligibility_explanation;

/* Names for the help texts; NULL (or a NULL member) gives "vacancy 17" and "this training". */
typedef struct {
  const char *const *vacancy_ids;    /* [vacancy_count] */
  const char *const *training_codes; /* [training_count], by training index */
  int32_t training_count;
} eligibility_names;

/* Explains every pupil of a solved problem built by eligibility_build from the same arrays
 * and weights: explanations[i].reason is ELIGIBILITY_PLACED for placed pupils. Checks the
 * rulebook's invariants on the way and refuses (MATCHER_NOT_OPTIMAL, naming the pupils) a
 * solution that leaves a pupil unplaced beside a free eligible seat or a seat held by a weaker
 * claim, so that no reason it gives can be false. */
matcher_status eligibility_explain(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const eligibility_weights *weights, const eligibility_problem *built,
                                   const matcher_solution *solution, const eligibility_names *names,
                                   eligibility_explanation *explanations, matcher_error *error);

/* The vacancy a NEW_PLACE hint asks for (MORE_SEATS: a copy of hint_vacancy with hint_seats
 * seats), so that callers and tests can add exactly what the hint says. */
eligibility_vacancy eligibility_hint_vacancy(const eligibility_pupil *pupil, const eligibility_vacancy *vacancies,
                                             const eligibility_explanation *explanation);

#endif
