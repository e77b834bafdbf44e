/* test_support_records: in-process, the lookups over support organisations and offers
 * (lp_support.c) and their two record kinds in the working set (lp_state.c): names unique in
 * Redis keys, records that come back as they were packed. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "lp_state.h"
#include "lp_support.h"

Test(support_records, sites_are_found_by_id_only) {
  Leerplek__V1__SupportSite a = LEERPLEK__V1__SUPPORT_SITE__INIT, b = LEERPLEK__V1__SUPPORT_SITE__INIT;
  a.id = (char *)"s1";
  b.id = (char *)"s10";
  Leerplek__V1__SupportSite *sites[2] = {&a, &b};
  Leerplek__V1__SupportOrganisation organisation = LEERPLEK__V1__SUPPORT_ORGANISATION__INIT;
  organisation.sites = sites;
  organisation.n_sites = 2;
  cr_assert_eq(lp_support_site(&organisation, "s1"), &a);
  cr_assert_eq(lp_support_site(&organisation, "s10"), &b);
  cr_assert_null(lp_support_site(&organisation, "s"), "a prefix is not a site");
  cr_assert_null(lp_support_site(&organisation, "S1"), "ids are case-sensitive");
  organisation.n_sites = 0;
  cr_assert_null(lp_support_site(&organisation, "s1"));
}

Test(support_records, an_offer_serves_its_trainings_or_all) {
  Leerplek__V1__SupportOffer offer = LEERPLEK__V1__SUPPORT_OFFER__INIT;
  cr_assert(lp_support_offer_serves(&offer, "KAPPER"), "no trainings listed = open to all");
  char *codes[2] = {(char *)"KAPPER", (char *)"KOK"};
  offer.training_codes = codes;
  offer.n_training_codes = 2;
  cr_assert(lp_support_offer_serves(&offer, "KOK"));
  cr_assert_not(lp_support_offer_serves(&offer, "KAP"));
  cr_assert_not(lp_support_offer_serves(&offer, "ELEKTRO-INST"));
}

Test(support_records, the_six_components_and_nothing_else) {
  cr_assert_not(lp_support_component_valid(LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_UNSPECIFIED));
  for (int component = 1; component <= 6; component++)
    cr_assert(lp_support_component_valid(component), "%d", component);
  cr_assert_not(lp_support_component_valid(7));
  cr_assert_not(lp_support_component_valid(-1));
}

Test(support_records, kinds_have_distinct_names_and_round_trip) {
  for (int i = 0; i < LP_KIND_COUNT; i++) {
    cr_assert_not_null(lp_kind_descriptor((enum lp_kind)i), "kind %d", i);
    for (int j = 0; j < i; j++)
      cr_assert_str_neq(lp_kind_name((enum lp_kind)i), lp_kind_name((enum lp_kind)j), "Redis keys would collide");
  }
  cr_assert_eq(lp_kind_descriptor(LP_KIND_SUPPORT_OFFER), &leerplek__v1__support_offer__descriptor);
  cr_assert_eq(lp_kind_descriptor(LP_KIND_SUPPORT_ORGANISATION), &leerplek__v1__support_organisation__descriptor);

  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__SupportOffer offer = LEERPLEK__V1__SUPPORT_OFFER__INIT;
  offer.id = (char *)"off-1";
  offer.organisation_id = (char *)"oal-a";
  offer.site_id = (char *)"s1";
  offer.component = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOIBAL;
  offer.seats = 4;
  offer.day_mask = 0x183;
  offer.start_date = &start;
  uint8_t bytes[256];
  size_t size = protobuf_c_message_pack(&offer.base, bytes);
  ProtobufCMessage *copy = protobuf_c_message_unpack(lp_kind_descriptor(LP_KIND_SUPPORT_OFFER), NULL, size, bytes);
  cr_assert_not_null(copy);

  lp_state state;
  lp_state_init(&state);
  cr_assert_eq(lp_state_put(&state, LP_KIND_SUPPORT_OFFER, "off-1", copy), 0);
  const Leerplek__V1__SupportOffer *stored = lp_state_get(&state, LP_KIND_SUPPORT_OFFER, "off-1");
  cr_assert_not_null(stored);
  cr_assert_str_eq(stored->organisation_id, "oal-a");
  cr_assert_eq(stored->component, LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOIBAL);
  cr_assert_eq(stored->start_date->day, 1);
  cr_assert_null(lp_state_get(&state, LP_KIND_SUPPORT_ORGANISATION, "off-1"), "kinds do not share keys");
  lp_state_remove(&state, LP_KIND_SUPPORT_OFFER, "off-1");
  cr_assert_null(lp_state_get(&state, LP_KIND_SUPPORT_OFFER, "off-1"));
  lp_state_free(&state);
}

Test(support_records, referral_keys_and_states) {
  char key[LP_REFERRAL_KEY_SIZE];
  lp_referral_key("school-a", "p1", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL, key);
  cr_assert_str_eq(key, "school-a/p1/ALTDEL");
  cr_assert_str_eq(lp_support_component_code(1), "FOVORM");
  cr_assert_str_eq(lp_support_component_code(0), "?");
  char longest[40];
  memset(longest, 'x', 32);
  longest[32] = '\0';
  lp_referral_key(longest, longest, LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOVORM, key);
  cr_assert_eq(strlen(key), 32 + 1 + 32 + 1 + 6, "the longest ids fit whole");
  /* Which states hold a seat, wait, or are over: each state in exactly the expected sets. */
  static const struct {
    int state;
    bool seat, waiting, active;
  } table[] = {
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_WAITING, false, true, true},
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_OFFERED, true, false, true},
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_STARTED, true, false, true},
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_ENDED, false, false, false},
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_DECLINED, false, true, true},
      {LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_WITHDRAWN, false, false, false},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    cr_assert_eq(lp_referral_holds_seat(table[i].state), table[i].seat, "state %d", table[i].state);
    cr_assert_eq(lp_referral_waiting(table[i].state), table[i].waiting, "state %d", table[i].state);
    cr_assert_eq(lp_referral_active(table[i].state), table[i].active, "state %d", table[i].state);
  }
}

/* A pupil's referrals are the keys under "<pupil key>/": its neighbours with a longer
 * reference ("p1x") or in another school must stay. */
Test(support_records, a_prefix_range_takes_only_that_pupils_referrals) {
  lp_state state;
  lp_state_init(&state);
  static const char *const keys[] = {"s/p1",         "s/p1/ALTDEL", "s/p1/FOVORM",
                                     "s/p1x/FOVORM", "s/p2/FOVORM", "t/p1/FOVORM"};
  for (size_t i = 0; i < 6; i++) {
    Leerplek__V1__Referral *referral = malloc(sizeof *referral);
    cr_assert_not_null(referral);
    leerplek__v1__referral__init(referral);
    cr_assert_eq(lp_state_put(&state, LP_KIND_REFERRAL, keys[i], referral), 0);
  }
  size_t first, end;
  lp_map_prefix(&state.maps[LP_KIND_REFERRAL], "s/p1/", &first, &end);
  cr_assert_eq(first, 1);
  cr_assert_eq(end, 3);
  lp_map_prefix(&state.maps[LP_KIND_REFERRAL], "s/p1", &first, &end);
  cr_assert_eq(first, 0, "a key equal to the prefix starts with it");
  cr_assert_eq(end, 4);
  lp_map_prefix(&state.maps[LP_KIND_REFERRAL], "s/p9/", &first, &end);
  cr_assert_eq(first, end, "none");
  lp_map_prefix(&state.maps[LP_KIND_REFERRAL], "s/p1/", &first, &end);
  lp_state_remove_range(&state, LP_KIND_REFERRAL, first, end);
  cr_assert_eq(state.maps[LP_KIND_REFERRAL].count, 4);
  cr_assert_null(lp_state_get(&state, LP_KIND_REFERRAL, "s/p1/ALTDEL"));
  cr_assert_not_null(lp_state_get(&state, LP_KIND_REFERRAL, "s/p1"));
  cr_assert_not_null(lp_state_get(&state, LP_KIND_REFERRAL, "s/p1x/FOVORM"));
  cr_assert_not_null(lp_state_get(&state, LP_KIND_REFERRAL, "t/p1/FOVORM"));
  lp_state_free(&state);
}
