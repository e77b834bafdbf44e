/* lp_support: lookups over support organisations and offers shared by the calls and tests. */
#include "lp_support.h"

#include <string.h>

const Leerplek__V1__SupportSite *lp_support_site(const Leerplek__V1__SupportOrganisation *organisation,
                                                 const char *site_id) {
  for (size_t i = 0; i < organisation->n_sites; i++)
    if (strcmp(organisation->sites[i]->id, site_id) == 0) return organisation->sites[i];
  return NULL;
}

bool lp_support_offer_serves(const Leerplek__V1__SupportOffer *offer, const char *training_code) {
  if (offer->n_training_codes == 0) return true;
  for (size_t i = 0; i < offer->n_training_codes; i++)
    if (strcmp(offer->training_codes[i], training_code) == 0) return true;
  return false;
}

bool lp_support_component_valid(int component) {
  return component >= LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOVORM &&
         component <= LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL;
}
