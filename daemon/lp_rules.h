/* lp_rules: the daemon's side of the rulebook (matcher/eligibility.h). It turns stored records
 * into the rulebook's plain structs, so that the rematch snapshot, the checks that release
 * proposals a change no longer fits, and the waiting list all judge a pupil and a vacancy with
 * the same code; none of them holds a rule of its own. Training and company indices are the
 * records' ranks in the sorted maps of the state given. */
#ifndef LP_RULES_H
#define LP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eligibility.h"
#include "leerplek.pb-c.h"
#include "lp_config.h"
#include "lp_state.h"

/* Hash indices for the lookups of many lp_rules_vacancy calls in a row (a rematch's snapshot);
 * zero-initialise, free with lp_rules_lookups_free. */
typedef struct lp_rules_lookups {
  lp_map_key_index companies, locations, trainings;
} lp_rules_lookups;
void lp_rules_lookups_free(lp_rules_lookups *lookups);

/* The vacancy as the rules see it: closed when its location is gone or has no point. lookups:
 * NULL, or the caller's hash indices (the same answer, faster over many vacancies). */
void lp_rules_vacancy(const lp_state *state, lp_rules_lookups *lookups, const Leerplek__V1__Vacancy *vacancy,
                      eligibility_vacancy *out);

/* How many company slots lp_rules_pupil may fill for this pupil. */
size_t lp_rules_company_slots(const Leerplek__V1__Pupil *pupil);
/* Since when the pupil waits: its waiting_since, else its placement request (0: not known). */
int64_t lp_rules_waiting_since(const Leerplek__V1__Pupil *pupil, const Leerplek__V1__Placement *placement);
/* The pupil as the rules see it on now_unix_s (days waited from lp_rules_waiting_since;
 * placement may be NULL). company_slots (lp_rules_company_slots of them) holds its preferred
 * and excluded (also declined) companies afterwards; proposed and fixed vacancies are -1 (the
 * rematch sets them). The pupil must have a home point. */
void lp_rules_pupil(const lp_state *state, const Leerplek__V1__Pupil *pupil, const Leerplek__V1__Placement *placement,
                    int64_t now_unix_s, int32_t *company_slots, eligibility_pupil *out);

/* The pupil's unplaced penalty on now_unix_s: ordering by it is the priority order on no
 * particular seat (levels 2 and 3; level 1 is per seat), the order of the waiting list. */
int64_t lp_rules_priority_score(const lp_config *config, const Leerplek__V1__Pupil *pupil,
                                const Leerplek__V1__Placement *placement, int64_t now_unix_s);

/* A Date as the rules' day number (eligibility_day_of); 0 for an absent date. */
int32_t lp_rules_day(const Leerplek__V1__Date *date);
/* The API's UnplacedReason of a rulebook reason (the numbers differ from STARTS_TOO_LATE on). */
int lp_rules_reason_proto(eligibility_reason reason);
/* Whether a PROPOSED pair still stands after a change of the pupil or the vacancy: it keeps the
 * rules, or the one rule that fails is the one a coordinator overrode for it (place_pupil). */
bool lp_rules_still_fits(const lp_state *state, const lp_config *config, const Leerplek__V1__Pupil *pupil,
                         const Leerplek__V1__Vacancy *vacancy, const Leerplek__V1__Placement *placement);

/* The first rule the pair fails, ELIGIBILITY_PLACED (0) when the pupil is eligible. */
eligibility_reason lp_rules_judge(const lp_state *state, const lp_config *config, const Leerplek__V1__Pupil *pupil,
                                  const Leerplek__V1__Vacancy *vacancy);

/* A support offer as dispatch sees it (DISPATCH in eligibility.h): its site's point, its
 * component and seats; trainings (room for offer->n_training_codes) receives the indices of the
 * trainings it serves. Closed when its organisation or site is gone. */
void lp_rules_dispatch_offer(const lp_state *state, const Leerplek__V1__SupportOffer *offer, int32_t *trainings,
                             eligibility_dispatch_offer *out);
/* A referral of pupil (which must have a home point) on now_unix_s, days waited since the
 * referral; declined (room for n_declined_offer_ids) receives its declined offers' indices, and
 * an offer holding a seat for it is its fixed offer. Offer indices are ranks in the offers map. */
void lp_rules_dispatch_referral(const lp_state *state, const Leerplek__V1__Referral *referral,
                                const Leerplek__V1__Pupil *pupil, int64_t now_unix_s, int32_t *declined,
                                eligibility_dispatch_referral *out);

#endif
