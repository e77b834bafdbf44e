/* lp_support: lookups over support organisations and offers shared by the calls and tests. */
#include "lp_support.h"

#include <stdio.h>
#include <string.h>

#define REFERRAL(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name

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

const char *lp_support_component_code(int component) {
  static const char *const codes[] = {"FOVORM", "FOWERK", "FOIBAL", "BGLTRA", "PRJLEW", "ALTDEL"};
  return lp_support_component_valid(component) ? codes[component - 1] : "?";
}

void lp_referral_key(const char *school_id, const char *ref, int component, char key[LP_REFERRAL_KEY_SIZE]) {
  snprintf(key, LP_REFERRAL_KEY_SIZE, "%s/%s/%s", school_id, ref, lp_support_component_code(component));
}

bool lp_referral_holds_seat(int state) { return state == REFERRAL(OFFERED) || state == REFERRAL(STARTED); }
bool lp_referral_active(int state) { return state != REFERRAL(ENDED) && state != REFERRAL(WITHDRAWN); }
bool lp_referral_waiting(int state) { return state == REFERRAL(WAITING) || state == REFERRAL(DECLINED); }

uint32_t lp_support_seats_held(const lp_map *referrals, const char *offer_id) {
  uint32_t held = 0;
  for (size_t i = 0; i < referrals->count; i++) {
    const Leerplek__V1__Referral *referral = referrals->entries[i].value;
    if (lp_referral_holds_seat(referral->state) && strcmp(referral->offer_id, offer_id) == 0) held++;
  }
  return held;
}

bool lp_support_component_valid(int component) {
  return component >= LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOVORM &&
         component <= LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL;
}
