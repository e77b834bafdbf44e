/* lp_support: what the daemon asks of support organisations and offers in more than one place
 * (the calls, the unit tests, later the dispatch): a site by id, whether an offer serves a
 * training, which components exist. Pure functions over stored records. */
#ifndef LP_SUPPORT_H
#define LP_SUPPORT_H

#include <stdbool.h>

#include "leerplek.pb-c.h"
#include "lp_state.h"

#define LP_SUPPORT_MAX_SITES 100
#define LP_SUPPORT_MAX_SEATS 100

/* The organisation's first site with this id, or NULL. */
const Leerplek__V1__SupportSite *lp_support_site(const Leerplek__V1__SupportOrganisation *organisation,
                                                 const char *site_id);
/* Whether the offer takes pupils of this training: it lists the training, or lists none (open
 * to all). */
bool lp_support_offer_serves(const Leerplek__V1__SupportOffer *offer, const char *training_code);
/* Whether component is one of the six codes (not UNSPECIFIED, not a newer value). */
bool lp_support_component_valid(int component);
/* The component's code ("FOVORM", ...), "?" for an invalid one. */
const char *lp_support_component_code(int component);

/* The referral key "<school>/<ref>/<component code>" (fits LP_MAX_KEY: ids are at most 32). */
#define LP_REFERRAL_KEY_SIZE 80
void lp_referral_key(const char *school_id, const char *ref, int component, char key[LP_REFERRAL_KEY_SIZE]);
/* Whether a referral in this state holds a seat of its offer (OFFERED, STARTED). */
bool lp_referral_holds_seat(int state);
/* Whether a referral in this state is still open (not ENDED or WITHDRAWN). */
bool lp_referral_active(int state);
/* Whether a referral in this state waits for an offer (WAITING, DECLINED). */
bool lp_referral_waiting(int state);
/* Seats of offer_id held by the referrals of the map (OFFERED or STARTED ones). */
uint32_t lp_support_seats_held(const lp_map *referrals, const char *offer_id);

#endif
