/* handlers_support: support organisations (OAL partners) with their sites, and their offers
 * (one component of the preparatory track each). A SUPPORT token works only with its own
 * organisation; another organisation's offers are reported as absent, as a company's are. */
#include <stdlib.h>
#include <string.h>

#include "lp_handlers.h"
#include "lp_support.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

/* ---- organisations --------------------------------------------------------------------- */

static bool check_site(lp_ctx *ctx, const Leerplek__V1__SupportSite *site, const char *prefix) {
  const lp_config *config = &ctx->daemon->config;
  char field[160];
#define FIELD(name) (snprintf(field, sizeof field, "%s.%s", prefix, name), field)
  return lp_check_id(ctx, site->id, FIELD("id")) &&
         lp_check_text(ctx, site->name, FIELD("name"), 0, config->max_name_bytes, false) &&
         lp_check_point(ctx, site->point, FIELD("point")) &&
         lp_check_postcode(ctx, site->postcode, FIELD("postcode")) &&
         lp_check_text(ctx, site->district, FIELD("district"), 0, config->max_short_text_bytes, false);
#undef FIELD
}

int lp_handle_upsert_support_organisation(lp_ctx *ctx) {
  const Leerplek__V1__UpsertSupportOrganisationRequest *request = ctx->request->upsert_support_organisation;
  const Leerplek__V1__SupportOrganisation *organisation = request->organisation;
  if (!organisation)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_support_organisation.organisation",
                   "upsert_support_organisation.organisation is required");
  if (!lp_check_id(ctx, organisation->id, "upsert_support_organisation.organisation.id") ||
      !lp_check_text(ctx, organisation->name, "upsert_support_organisation.organisation.name", 1,
                     ctx->daemon->config.max_name_bytes, false))
    return -1;
  if (lp_is_support(ctx) && strcmp(organisation->id, ctx->who.scope_id) != 0)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "upsert_support_organisation.organisation.id",
                   "a support token may manage only its own organisation");
  if (organisation->n_sites > LP_SUPPORT_MAX_SITES)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_support_organisation.organisation.sites",
                   "an organisation may have at most %d sites, not %zu", LP_SUPPORT_MAX_SITES, organisation->n_sites);
  for (size_t i = 0; i < organisation->n_sites; i++) {
    char prefix[96];
    snprintf(prefix, sizeof prefix, "upsert_support_organisation.organisation.sites[%zu]", i);
    if (!check_site(ctx, organisation->sites[i], prefix)) return -1;
    if (lp_support_site(organisation, organisation->sites[i]->id) != organisation->sites[i]) {
      char field[128];
      snprintf(field, sizeof field, "%s.id", prefix);
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "site %s is listed twice", organisation->sites[i]->id);
    }
  }
  const Leerplek__V1__SupportOrganisation *stored =
      lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_ORGANISATION, organisation->id);
  if (!lp_check_revision(ctx, request->expected_revision, stored ? stored->revision : 0,
                         "upsert_support_organisation.expected_revision"))
    return -1;
  /* An offer names its site; dropping that site would leave the offer nowhere. */
  const lp_map *offers = &ctx->daemon->state.maps[LP_KIND_SUPPORT_OFFER];
  for (size_t i = 0; stored && i < offers->count; i++) {
    const Leerplek__V1__SupportOffer *offer = offers->entries[i].value;
    if (strcmp(offer->organisation_id, organisation->id) == 0 && !lp_support_site(organisation, offer->site_id))
      return lp_fail(ctx, CODE(FAILED_PRECONDITION), "upsert_support_organisation.organisation.sites",
                     "site %s cannot be removed: offer %s takes place there", offer->site_id, offer->id);
  }
  Leerplek__V1__SupportOrganisation *record = lp_clone(organisation);
  if (record) {
    record->revision = stored ? stored->revision + 1 : 1;
    record->updated_unix_s = ctx->now;
  }
  if (lp_store_record(ctx, "upsert", LP_KIND_SUPPORT_ORGANISATION, organisation->id, record) != 0) return -1;
  Leerplek__V1__UpsertSupportOrganisationResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__upsert_support_organisation_response__descriptor);
  reply->organisation = record;
  reply->created = stored == NULL;
  return 0;
}

int lp_handle_get_support_organisation(lp_ctx *ctx) {
  const char *id = ctx->request->get_support_organisation->organisation_id;
  if (!lp_check_id(ctx, id, "get_support_organisation.organisation_id")) return -1;
  if (lp_is_support(ctx) && strcmp(id, ctx->who.scope_id) != 0)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_support_organisation.organisation_id",
                   "a support token may read only its own organisation");
  Leerplek__V1__SupportOrganisation *organisation = lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_ORGANISATION, id);
  if (!organisation)
    return lp_fail(ctx, CODE(NOT_FOUND), "get_support_organisation.organisation_id", "no support organisation %s", id);
  Leerplek__V1__GetSupportOrganisationResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__get_support_organisation_response__descriptor);
  reply->organisation = organisation;
  return 0;
}

static bool organisation_visible(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__SupportOrganisation *organisation = value;
  (void)arg;
  return !lp_is_support(ctx) || strcmp(organisation->id, ctx->who.scope_id) == 0;
}

int lp_handle_list_support_organisations(lp_ctx *ctx) {
  const Leerplek__V1__ListSupportOrganisationsRequest *request = ctx->request->list_support_organisations;
  Leerplek__V1__ListSupportOrganisationsResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__list_support_organisations_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_SUPPORT_ORGANISATION, &request->base, request->page_size, request->page_token,
                   "list_support_organisations", organisation_visible, NULL, (void ***)&reply->organisations,
                   &reply->n_organisations, &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  return 0;
}

/* ---- offers ---------------------------------------------------------------------------- */

static bool check_offer(lp_ctx *ctx, const Leerplek__V1__SupportOffer *offer) {
  const lp_state *state = &ctx->daemon->state;
#define FIELD(name) "upsert_support_offer.offer." name
  if (!lp_check_id(ctx, offer->id, FIELD("id")) ||
      !lp_check_id(ctx, offer->organisation_id, FIELD("organisation_id")) ||
      !lp_check_id(ctx, offer->site_id, FIELD("site_id")) ||
      !lp_check_day_mask(ctx, offer->day_mask, FIELD("day_mask")) ||
      !lp_check_date(ctx, offer->start_date, FIELD("start_date")))
    return false;
  if (!lp_support_component_valid(offer->component))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("component"),
                   FIELD("component") " must be FOVORM, FOWERK, FOIBAL, BGLTRA, PRJLEW or ALTDEL"),
           false;
  if (offer->seats < 1 || offer->seats > LP_SUPPORT_MAX_SEATS)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("seats"), FIELD("seats") " must be between 1 and %d",
                   LP_SUPPORT_MAX_SEATS),
           false;
  if (!lp_check_training_list(ctx, offer->training_codes, offer->n_training_codes, ctx->daemon->config.max_recognitions,
                              FIELD("training_codes")))
    return false;
  if (lp_is_support(ctx) && strcmp(offer->organisation_id, ctx->who.scope_id) != 0)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), FIELD("organisation_id"),
                   "a support token may manage only its own organisation's offers"),
           false;
  const Leerplek__V1__SupportOrganisation *organisation =
      lp_state_get(state, LP_KIND_SUPPORT_ORGANISATION, offer->organisation_id);
  if (!organisation)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("organisation_id"), "no support organisation %s",
                   offer->organisation_id),
           false;
  if (!lp_support_site(organisation, offer->site_id))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("site_id"), "organisation %s has no site %s", organisation->id,
                   offer->site_id),
           false;
#undef FIELD
  return true;
}

int lp_handle_upsert_support_offer(lp_ctx *ctx) {
  const Leerplek__V1__UpsertSupportOfferRequest *request = ctx->request->upsert_support_offer;
  const Leerplek__V1__SupportOffer *offer = request->offer;
  if (!offer)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer", "upsert_support_offer.offer is required");
  if (!check_offer(ctx, offer)) return -1;
  const Leerplek__V1__SupportOffer *stored = lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_OFFER, offer->id);
  if (stored && strcmp(stored->organisation_id, offer->organisation_id) != 0) {
    if (lp_is_support(ctx))
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "upsert_support_offer.offer.id",
                     "offer %s belongs to another organisation", offer->id);
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.organisation_id",
                   "organisation_id is immutable: offer %s belongs to %s", offer->id, stored->organisation_id);
  }
  if (!lp_check_revision(ctx, request->expected_revision, stored ? stored->revision : 0,
                         "upsert_support_offer.expected_revision"))
    return -1;
  /* Offered and started trajectories keep their seats. */
  uint32_t held = stored ? lp_support_seats_held(&ctx->daemon->state.maps[LP_KIND_REFERRAL], offer->id) : 0;
  if (offer->seats < held)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "upsert_support_offer.offer.seats",
                   "offer %s cannot go below the %u seats its offered and started referrals hold", offer->id, held);
  Leerplek__V1__SupportOffer *record = lp_clone(offer);
  if (record) {
    record->revision = stored ? stored->revision + 1 : 1;
    record->updated_unix_s = ctx->now;
  }
  if (lp_store_record(ctx, "upsert", LP_KIND_SUPPORT_OFFER, offer->id, record) != 0) return -1;
  Leerplek__V1__UpsertSupportOfferResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__upsert_support_offer_response__descriptor);
  reply->offer = record;
  reply->created = stored == NULL;
  return 0;
}

int lp_handle_get_support_offer(lp_ctx *ctx) {
  const char *id = ctx->request->get_support_offer->offer_id;
  if (!lp_check_id(ctx, id, "get_support_offer.offer_id")) return -1;
  Leerplek__V1__SupportOffer *offer = lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_OFFER, id);
  if (!offer || (lp_is_support(ctx) && strcmp(offer->organisation_id, ctx->who.scope_id) != 0))
    return lp_fail(ctx, CODE(NOT_FOUND), "get_support_offer.offer_id", "no support offer %s", id);
  Leerplek__V1__GetSupportOfferResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__get_support_offer_response__descriptor);
  reply->offer = offer;
  return 0;
}

static bool offer_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__SupportOffer *offer = value;
  const Leerplek__V1__ListSupportOffersRequest *filter = arg;
  (void)ctx;
  if (filter->organisation_id[0] && strcmp(offer->organisation_id, filter->organisation_id) != 0) return false;
  if (filter->component != 0 && offer->component != filter->component) return false;
  return filter->training_code[0] == '\0' || lp_support_offer_serves(offer, filter->training_code);
}

int lp_handle_list_support_offers(lp_ctx *ctx) {
  const Leerplek__V1__ListSupportOffersRequest *request = ctx->request->list_support_offers;
  if ((request->organisation_id[0] &&
       !lp_check_id(ctx, request->organisation_id, "list_support_offers.organisation_id")) ||
      (request->training_code[0] &&
       !lp_check_training_code(ctx, request->training_code, "list_support_offers.training_code")))
    return -1;
  if (request->component != 0 && !lp_support_component_valid(request->component))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "list_support_offers.component",
                   "list_support_offers.component is not a SupportComponent");
  /* The filter narrows a SUPPORT token to its own offers without changing the request. */
  Leerplek__V1__ListSupportOffersRequest filter = *request;
  if (lp_is_support(ctx)) {
    if (request->organisation_id[0] && strcmp(request->organisation_id, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_support_offers.organisation_id",
                     "a support token may list only its own organisation's offers");
    filter.organisation_id = ctx->who.scope_id;
  }
  Leerplek__V1__ListSupportOffersResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__list_support_offers_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_SUPPORT_OFFER, &request->base, request->page_size, request->page_token,
                   "list_support_offers", offer_matches, &filter, (void ***)&reply->offers, &reply->n_offers,
                   &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  return 0;
}
