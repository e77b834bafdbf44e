/* lp_support: what the daemon asks of support organisations and offers in more than one place
 * (the calls, the unit tests, later the dispatch): a site by id, whether an offer serves a
 * training, which components exist. Pure functions over stored records. */
#ifndef LP_SUPPORT_H
#define LP_SUPPORT_H

#include <stdbool.h>

#include "leerplek.pb-c.h"

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

#endif
