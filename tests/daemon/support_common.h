/* support_common: request builders for support organisations and their offers, shared by the
 * daemon's integration tests (the access matrix and the support suite). */
#ifndef LEERPLEK_TEST_DAEMON_SUPPORT_COMMON_H
#define LEERPLEK_TEST_DAEMON_SUPPORT_COMMON_H

#include "common.h"

/* A valid organisation `id` with one site "s1" in Hoboken (the caller may change fields). */
static inline void fill_support_organisation(Leerplek__V1__SupportOrganisation *organisation,
                                             Leerplek__V1__SupportSite *site, Leerplek__V1__SupportSite *sites[1],
                                             Leerplek__V1__GeoPoint *point, const char *id) {
  leerplek__v1__geo_point__init(point);
  point->lat_e6 = 51180000;
  point->lon_e6 = 4350000;
  leerplek__v1__support_site__init(site);
  site->id = (char *)"s1";
  site->name = (char *)"Atelier Zuid";
  site->point = point;
  site->postcode = (char *)"2660";
  site->district = (char *)"Hoboken";
  sites[0] = site;
  leerplek__v1__support_organisation__init(organisation);
  organisation->id = (char *)id;
  organisation->name = (char *)"Werkplaats Zuid vzw";
  organisation->n_sites = 1;
  organisation->sites = sites;
}

/* A valid FOWERK offer `id` of organisation_id at site "s1", open to all trainings, 3 seats on
 * Monday and Tuesday of both weeks, from 1 September 2026. */
static inline void fill_support_offer(Leerplek__V1__SupportOffer *offer, Leerplek__V1__Date *start, const char *id,
                                      const char *organisation_id) {
  leerplek__v1__date__init(start);
  start->year = 2026;
  start->month = 9;
  start->day = 1;
  leerplek__v1__support_offer__init(offer);
  offer->id = (char *)id;
  offer->organisation_id = (char *)organisation_id;
  offer->site_id = (char *)"s1";
  offer->component = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK;
  offer->seats = 3;
  offer->day_mask = 0x183;
  offer->start_date = start;
}

static inline int send_support_organisation(leerplek_client *client, Leerplek__V1__SupportOrganisation *organisation,
                                            Leerplek__V1__Response **out) {
  Leerplek__V1__UpsertSupportOrganisationRequest body = LEERPLEK__V1__UPSERT_SUPPORT_ORGANISATION_REQUEST__INIT;
  body.organisation = organisation;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_ORGANISATION;
  request.upsert_support_organisation = &body;
  return call_code(client, &request, out);
}

static inline int send_support_offer(leerplek_client *client, Leerplek__V1__SupportOffer *offer,
                                     Leerplek__V1__Response **out) {
  Leerplek__V1__UpsertSupportOfferRequest body = LEERPLEK__V1__UPSERT_SUPPORT_OFFER_REQUEST__INIT;
  body.offer = offer;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER;
  request.upsert_support_offer = &body;
  return call_code(client, &request, out);
}

static inline int upsert_support_organisation(leerplek_client *client, const char *id) {
  Leerplek__V1__SupportOrganisation organisation;
  Leerplek__V1__SupportSite site, *sites[1];
  Leerplek__V1__GeoPoint point;
  fill_support_organisation(&organisation, &site, sites, &point, id);
  return send_support_organisation(client, &organisation, NULL);
}

static inline int upsert_support_offer(leerplek_client *client, const char *id, const char *organisation_id) {
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  fill_support_offer(&offer, &start, id, organisation_id);
  return send_support_offer(client, &offer, NULL);
}

static inline int get_support_offer(leerplek_client *client, const char *id, Leerplek__V1__Response **out) {
  Leerplek__V1__GetSupportOfferRequest body = LEERPLEK__V1__GET_SUPPORT_OFFER_REQUEST__INIT;
  body.offer_id = (char *)id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_OFFER;
  request.get_support_offer = &body;
  return call_code(client, &request, out);
}

/* ListSupportOffers with filters (organisation_id, training_code may be ""; component 0 = any). */
static inline int list_support_offers(leerplek_client *client, const char *organisation_id, int component,
                                      const char *training_code, Leerplek__V1__Response **out) {
  Leerplek__V1__ListSupportOffersRequest body = LEERPLEK__V1__LIST_SUPPORT_OFFERS_REQUEST__INIT;
  body.organisation_id = (char *)organisation_id;
  body.component = (Leerplek__V1__SupportComponent)component;
  body.training_code = (char *)training_code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS;
  request.list_support_offers = &body;
  return call_code(client, &request, out);
}

/* Refers the pupil for one component, NORMAL urgency, sharing nothing. */
static inline int refer_pupil(leerplek_client *client, const char *school, const char *ref, int component,
                              Leerplek__V1__Response **out) {
  Leerplek__V1__SupportComponent components[1] = {(Leerplek__V1__SupportComponent)component};
  Leerplek__V1__ReferPupilRequest body = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  body.components = components;
  body.n_components = 1;
  body.reason = (char *)"needs a preparatory phase";
  body.urgency = LEERPLEK__V1__URGENCY__URGENCY_NORMAL;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL;
  request.refer_pupil = &body;
  return call_code(client, &request, out);
}

/* GetReferral of (school, ref, component); the status code (the response in *out, may be NULL). */
static inline int get_referral(leerplek_client *client, const char *school, const char *ref, int component,
                               Leerplek__V1__Response **out) {
  Leerplek__V1__ReferralKey key = LEERPLEK__V1__REFERRAL_KEY__INIT;
  key.school_id = (char *)school;
  key.pupil_ref = (char *)ref;
  key.component = (Leerplek__V1__SupportComponent)component;
  Leerplek__V1__GetReferralRequest body = LEERPLEK__V1__GET_REFERRAL_REQUEST__INIT;
  body.referral = &key;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL;
  request.get_referral = &body;
  return call_code(client, &request, out);
}

#endif
