/* handlers_referrals: a school's referrals of its pupils to the preparatory track and their
 * lifecycle (offer, accept, decline, start, end, withdraw). A school sees only its own pupils'
 * referrals; a support organisation only those its offers hold, through SupportReferral; every
 * transition is one write with its event and an entry in the referral's history. */
#include <stdlib.h>
#include <string.h>

#include "eligibility.h"
#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_log.h"
#include "lp_rules.h"
#include "lp_support.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name
#define SIDE(name) LEERPLEK__V1__REFERRAL_SIDE__REFERRAL_SIDE_##name
#define REASON_MAX 200

/* ---- shared ---------------------------------------------------------------------------- */

/* The stored referral a ReferralKey names, if the token may see it: a school its own pupils',
 * a support organisation those its offers hold; others are reported as absent. call names the
 * request's body field ("get_referral"). */
static Leerplek__V1__Referral *visible_referral(lp_ctx *ctx, const Leerplek__V1__ReferralKey *name, const char *call,
                                                char key[LP_REFERRAL_KEY_SIZE]) {
  char field[96];
  snprintf(field, sizeof field, "%s.referral", call);
  if (!name) return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s is required", field), NULL;
  char school_field[128], ref_field[128], component_field[128];
  snprintf(school_field, sizeof school_field, "%s.school_id", field);
  snprintf(ref_field, sizeof ref_field, "%s.pupil_ref", field);
  snprintf(component_field, sizeof component_field, "%s.component", field);
  const char *school = NULL;
  if (!lp_resolve_school(ctx, name->school_id, school_field, &school) || !lp_check_id(ctx, name->pupil_ref, ref_field))
    return NULL;
  if (!lp_support_component_valid(name->component))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), component_field, "%s must be one of the six components",
                   component_field),
           NULL;
  lp_referral_key(school, name->pupil_ref, name->component, key);
  Leerplek__V1__Referral *referral = lp_state_get(&ctx->daemon->state, LP_KIND_REFERRAL, key);
  if (!referral || (lp_is_support(ctx) && strcmp(referral->organisation_id, ctx->who.scope_id) != 0))
    return lp_fail(ctx, CODE(NOT_FOUND), ref_field, "no %s referral of pupil %s at school %s",
                   lp_support_component_code(name->component), name->pupil_ref, school),
           NULL;
  return referral;
}

void lp_referral_add_history(Leerplek__V1__Referral *referral, const char *actor, long long now, const char *note) {
  Leerplek__V1__ReferralEvent *event = lp_calloc(1, sizeof *event);
  referral->history = lp_realloc(referral->history, (referral->n_history + 1) * sizeof *referral->history);
  leerplek__v1__referral_event__init(event);
  event->state = referral->state;
  event->at_unix_s = now;
  event->actor = lp_strdup(actor);
  event->note = lp_strdup(note);
  referral->history[referral->n_history++] = event;
  referral->updated_unix_s = now;
}

/* The transition by the caller, now. */
static void add_history(lp_ctx *ctx, Leerplek__V1__Referral *referral, const char *note) {
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  lp_referral_add_history(referral, ctx->actor, ctx->now, note);
}

/* Writes a changed copy of a referral (op names the transition) with its history entry, and
 * puts it in memory. Takes ownership of record. */
static int commit_referral(lp_ctx *ctx, const char *op, const char *key, Leerplek__V1__Referral *record,
                           const char *note, const lp_event_detail *detail) {
  add_history(ctx, record, note);
  return lp_store_record_detail(ctx, op, LP_KIND_REFERRAL, key, record, detail);
}

/* Most transitions reply with the referral in a message whose only field is `referral`; the
 * generated structs of those replies all have this layout. */
typedef struct referral_reply {
  ProtobufCMessage base;
  Leerplek__V1__Referral *referral;
} referral_reply;

static int reply_with(lp_ctx *ctx, const ProtobufCMessageDescriptor *descriptor, Leerplek__V1__Referral *referral) {
  referral_reply *reply = lp_reply_body(ctx, descriptor);
  reply->referral = referral;
  return 0;
}

/* The side the caller acts for (call = "accept_referral"); 0 with the failure set. */
static int acting_side(lp_ctx *ctx, int side, const char *call) {
  char field[64];
  snprintf(field, sizeof field, "%s.side", call);
  if (side != 0 && side != SIDE(SCHOOL) && side != SIDE(SUPPORT))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s must be SCHOOL or SUPPORT", field), 0;
  if (lp_is_school(ctx) || lp_is_support(ctx)) {
    int own = lp_is_school(ctx) ? SIDE(SCHOOL) : SIDE(SUPPORT);
    if (side != 0 && side != own)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), field, "this token acts only for its own side"), 0;
    return own;
  }
  if (side == 0) return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "a coordinator must name %s", field), 0;
  return side;
}

static bool in_state(lp_ctx *ctx, const Leerplek__V1__Referral *referral, int state, const char *call,
                     const char *what) {
  if ((int)referral->state == state) return true;
  char field[64];
  snprintf(field, sizeof field, "%s.referral", call);
  const ProtobufCEnumValue *value =
      protobuf_c_enum_descriptor_get_value(&leerplek__v1__referral_state__descriptor, (int)referral->state);
  return lp_fail(ctx, CODE(FAILED_PRECONDITION), field, "%s: the referral is %s", what, value ? value->name : "?"),
         false;
}

/* ---- refer ----------------------------------------------------------------------------- */

int lp_handle_refer_pupil(lp_ctx *ctx) {
  const Leerplek__V1__ReferPupilRequest *request = ctx->request->refer_pupil;
  char pupil_key[LP_MAX_KEY];
  const Leerplek__V1__Pupil *pupil =
      lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "refer_pupil", pupil_key);
  if (!pupil) return -1;
  size_t count = request->n_components;
  if (count < 1 || count > 6)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "refer_pupil.components",
                   "refer_pupil.components must list 1 to 6 components");
  for (size_t i = 0; i < count; i++) {
    char field[64];
    snprintf(field, sizeof field, "refer_pupil.components[%zu]", i);
    if (!lp_support_component_valid(request->components[i]))
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s must be one of the six components", field);
    for (size_t j = 0; j < i; j++)
      if (request->components[j] == request->components[i])
        return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s is listed twice",
                       lp_support_component_code(request->components[i]));
  }
  if (!lp_check_text(ctx, request->reason, "refer_pupil.reason", 1, REASON_MAX, false)) return -1;
  if (request->urgency != LEERPLEK__V1__URGENCY__URGENCY_NORMAL &&
      request->urgency != LEERPLEK__V1__URGENCY__URGENCY_HIGH)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "refer_pupil.urgency", "refer_pupil.urgency must be NORMAL or HIGH");
  char keys[6][LP_REFERRAL_KEY_SIZE];
  for (size_t i = 0; i < count; i++) {
    lp_referral_key(pupil->school_id, pupil->ref, request->components[i], keys[i]);
    const Leerplek__V1__Referral *stored = lp_state_get(&ctx->daemon->state, LP_KIND_REFERRAL, keys[i]);
    if (stored && lp_referral_active(stored->state))
      return lp_fail(ctx, CODE(ALREADY_EXISTS), "refer_pupil.components", "pupil %s already has an open %s referral",
                     pupil->ref, lp_support_component_code(request->components[i]));
  }
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  Leerplek__V1__Referral *records[6] = {NULL};
  for (size_t i = 0; i < count; i++) {
    Leerplek__V1__Referral *record = records[i] = lp_calloc(1, sizeof *record);
    leerplek__v1__referral__init(record);
    record->school_id = lp_strdup(pupil->school_id);
    record->pupil_ref = lp_strdup(pupil->ref);
    record->training_code = lp_strdup(pupil->training_code);
    record->reason = lp_strdup(request->reason);
    record->component = request->components[i];
    record->urgency = request->urgency;
    record->state = STATE(WAITING);
    record->share_priority_flags = request->share_priority_flags;
    record->share_school_notes = request->share_school_notes;
    record->requested_unix_s = ctx->now;
    add_history(ctx, record, "referred");
  }
  lp_change *change = lp_begin(ctx, "refer", LP_KIND_REFERRAL, keys[0]);
  for (size_t i = 0; i < count; i++) {
    if (i > 0) lp_change_event(change, "refer", LP_KIND_REFERRAL, keys[i]);
    lp_change_put(change, LP_KIND_REFERRAL, keys[i], records[i]);
  }
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__ReferPupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__refer_pupil_response__descriptor);
  Leerplek__V1__Referral **items = lp_scratch(ctx, count * sizeof *items);
  for (size_t i = 0; i < count; i++) items[i] = records[i];
  reply->referrals = items;
  reply->n_referrals = count;
  return 0;
}

/* ---- reads ----------------------------------------------------------------------------- */

int lp_handle_get_referral(lp_ctx *ctx) {
  char key[LP_REFERRAL_KEY_SIZE];
  Leerplek__V1__Referral *referral = visible_referral(ctx, ctx->request->get_referral->referral, "get_referral", key);
  if (!referral) return -1;
  return reply_with(ctx, &leerplek__v1__get_referral_response__descriptor, referral);
}

typedef struct referral_filter {
  const char *school_id;
  const char *organisation_id;
  int state;
  bool support_view; /* list_support_referrals: only states that hold or held a seat */
} referral_filter;

static bool referral_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Referral *referral = value;
  const referral_filter *filter = arg;
  (void)ctx;
  if (filter->school_id[0] && strcmp(referral->school_id, filter->school_id) != 0) return false;
  if (filter->organisation_id[0] && strcmp(referral->organisation_id, filter->organisation_id) != 0) return false;
  if (filter->state) return (int)referral->state == filter->state;
  return !filter->support_view || referral->state == STATE(OFFERED) || referral->state == STATE(STARTED) ||
         referral->state == STATE(ENDED);
}

static bool check_state_filter(lp_ctx *ctx, int state, const char *field) {
  if (state != 0 && !protobuf_c_enum_descriptor_get_value(&leerplek__v1__referral_state__descriptor, state))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s is not a ReferralState", field), false;
  return true;
}

int lp_handle_list_referrals(lp_ctx *ctx) {
  const Leerplek__V1__ListReferralsRequest *request = ctx->request->list_referrals;
  referral_filter filter = {request->school_id, request->organisation_id, request->state, false};
  if ((request->organisation_id[0] && !lp_check_id(ctx, request->organisation_id, "list_referrals.organisation_id")) ||
      !check_state_filter(ctx, request->state, "list_referrals.state"))
    return -1;
  if (lp_is_school(ctx)) {
    if (request->school_id[0] && strcmp(request->school_id, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_referrals.school_id",
                     "a school token may list only its own referrals");
    filter.school_id = ctx->who.scope_id;
  } else if (request->school_id[0] && !lp_check_id(ctx, request->school_id, "list_referrals.school_id")) {
    return -1;
  }
  Leerplek__V1__ListReferralsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_referrals_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_REFERRAL, &request->base, request->page_size, request->page_token, "list_referrals",
                   referral_matches, &filter, (void ***)&reply->referrals, &reply->n_referrals, &reply->next_page_token,
                   &reply->total_size) != 0)
    return -1;
  return 0;
}

/* The support organisation's view of a referral: no home point, and the flags and notes only
 * when the school shares them. */
static Leerplek__V1__SupportReferral *support_view(lp_ctx *ctx, const Leerplek__V1__Referral *referral) {
  Leerplek__V1__SupportReferral *view = lp_scratch(ctx, sizeof *view);
  leerplek__v1__support_referral__init(view);
  char pupil_key[LP_MAX_KEY];
  lp_pupil_key(referral->school_id, referral->pupil_ref, pupil_key);
  const Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, pupil_key);
  const Leerplek__V1__SupportOffer *offer =
      lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_OFFER, referral->offer_id);
  const Leerplek__V1__SupportOrganisation *organisation =
      offer ? lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_ORGANISATION, offer->organisation_id) : NULL;
  const Leerplek__V1__SupportSite *site = organisation ? lp_support_site(organisation, offer->site_id) : NULL;
  view->school_id = referral->school_id;
  view->pupil_ref = referral->pupil_ref;
  view->component = referral->component;
  view->training_code = referral->training_code;
  view->reason = referral->reason;
  view->urgency = referral->urgency;
  view->state = referral->state;
  view->offer_id = referral->offer_id;
  view->school_accepted = referral->school_accepted;
  view->support_accepted = referral->support_accepted;
  view->requested_unix_s = referral->requested_unix_s;
  view->offered_unix_s = referral->offered_unix_s;
  view->started_unix_s = referral->started_unix_s;
  view->outcome = referral->outcome;
  if (pupil) {
    view->readiness = pupil->readiness;
    view->day_mask = pupil->day_mask;
    if (site && site->point && pupil->home)
      view->distance_band = (Leerplek__V1__DistanceBand)lp_distance_band((uint32_t)eligibility_distance_m(
          pupil->home->lat_e6, pupil->home->lon_e6, site->point->lat_e6, site->point->lon_e6));
    if (referral->share_priority_flags) {
      view->newcomer_okan = pupil->newcomer_okan;
      view->special_needs_buso = pupil->special_needs_buso;
    }
    if (referral->share_school_notes) view->school_notes = pupil->school_notes;
  }
  return view;
}

int lp_handle_list_support_referrals(lp_ctx *ctx) {
  const Leerplek__V1__ListSupportReferralsRequest *request = ctx->request->list_support_referrals;
  const char *organisation = request->organisation_id;
  if (lp_is_support(ctx)) {
    if (organisation[0] && strcmp(organisation, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_support_referrals.organisation_id",
                     "a support token may list only the referrals its own offers hold");
    organisation = ctx->who.scope_id;
  } else if (!lp_check_id(ctx, organisation, "list_support_referrals.organisation_id")) {
    return -1;
  }
  if (!check_state_filter(ctx, request->state, "list_support_referrals.state")) return -1;
  referral_filter filter = {"", organisation, request->state, true};
  Leerplek__V1__ListSupportReferralsResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__list_support_referrals_response__descriptor);
  void **page = NULL;
  if (lp_list_page(ctx, LP_KIND_REFERRAL, &request->base, request->page_size, request->page_token,
                   "list_support_referrals", referral_matches, &filter, &page, &reply->n_referrals,
                   &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  reply->referrals = lp_scratch(ctx, (reply->n_referrals ? reply->n_referrals : 1) * sizeof *reply->referrals);
  for (size_t i = 0; i < reply->n_referrals; i++) reply->referrals[i] = support_view(ctx, page[i]);
  return 0;
}

/* ---- transitions ----------------------------------------------------------------------- */

int lp_handle_offer_referral(lp_ctx *ctx) {
  const Leerplek__V1__OfferReferralRequest *request = ctx->request->offer_referral;
  char key[LP_REFERRAL_KEY_SIZE];
  const Leerplek__V1__Referral *referral = visible_referral(ctx, request->referral, "offer_referral", key);
  if (!referral || !lp_check_id(ctx, request->offer_id, "offer_referral.offer_id")) return -1;
  const Leerplek__V1__SupportOffer *offer = lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_OFFER, request->offer_id);
  if (!offer) return lp_fail(ctx, CODE(NOT_FOUND), "offer_referral.offer_id", "no support offer %s", request->offer_id);
  if (!lp_referral_waiting(referral->state))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "offer_referral.referral",
                   "only a WAITING or DECLINED referral can be offered a seat");
  char pupil_key[LP_MAX_KEY];
  lp_pupil_key(referral->school_id, referral->pupil_ref, pupil_key);
  const Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, pupil_key);
  if (offer->component != referral->component)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "offer_referral.offer_id", "offer %s is %s, the referral asks %s",
                   offer->id, lp_support_component_code(offer->component),
                   lp_support_component_code(referral->component));
  if (!pupil || !lp_support_offer_serves(offer, pupil->training_code))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "offer_referral.offer_id",
                   "offer %s does not serve the pupil's training", offer->id);
  for (size_t i = 0; i < referral->n_declined_offer_ids; i++)
    if (strcmp(referral->declined_offer_ids[i], offer->id) == 0)
      return lp_fail(ctx, CODE(FAILED_PRECONDITION), "offer_referral.offer_id",
                     "offer %s was declined for this referral", offer->id);
  if (lp_support_seats_held(&ctx->daemon->state.maps[LP_KIND_REFERRAL], offer->id) >= offer->seats)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "offer_referral.offer_id",
                   "offer %s has no free seat (%u of %u held)", offer->id, offer->seats, offer->seats);
  Leerplek__V1__Referral *record = lp_clone(referral);
  record->state = STATE(OFFERED);
  record->school_accepted = record->support_accepted = false;
  record->offered_unix_s = ctx->now;
  lp_set_string(&record->offer_id, offer->id);
  lp_set_string(&record->organisation_id, offer->organisation_id);
  char note[64];
  snprintf(note, sizeof note, "offered %s", offer->id);
  if (commit_referral(ctx, "offer", key, record, note, NULL) != 0) return -1;
  return reply_with(ctx, &leerplek__v1__offer_referral_response__descriptor, record);
}

int lp_handle_accept_referral(lp_ctx *ctx) {
  const Leerplek__V1__AcceptReferralRequest *request = ctx->request->accept_referral;
  char key[LP_REFERRAL_KEY_SIZE];
  Leerplek__V1__Referral *referral = visible_referral(ctx, request->referral, "accept_referral", key);
  if (!referral) return -1;
  int side = acting_side(ctx, request->side, "accept_referral");
  if (!side || !in_state(ctx, referral, STATE(OFFERED), "accept_referral", "only an OFFERED referral can be accepted"))
    return -1;
  const ProtobufCMessageDescriptor *descriptor = &leerplek__v1__accept_referral_response__descriptor;
  if (side == SIDE(SCHOOL) ? referral->school_accepted : referral->support_accepted)
    return reply_with(ctx, descriptor, referral);
  Leerplek__V1__Referral *record = lp_clone(referral);
  if (record) {
    if (side == SIDE(SCHOOL))
      record->school_accepted = true;
    else
      record->support_accepted = true;
  }
  if (commit_referral(ctx, "accept", key, record,
                      side == SIDE(SCHOOL) ? "accepted by the school" : "accepted by the organisation", NULL) != 0)
    return -1;
  return reply_with(ctx, descriptor, record);
}

int lp_handle_decline_referral(lp_ctx *ctx) {
  const Leerplek__V1__DeclineReferralRequest *request = ctx->request->decline_referral;
  char key[LP_REFERRAL_KEY_SIZE];
  const Leerplek__V1__Referral *referral = visible_referral(ctx, request->referral, "decline_referral", key);
  if (!referral) return -1;
  int side = acting_side(ctx, request->side, "decline_referral");
  if (!side ||
      !lp_check_text(ctx, request->reason, "decline_referral.reason", 0, ctx->daemon->config.max_text_bytes, true) ||
      !in_state(ctx, referral, STATE(OFFERED), "decline_referral", "only an OFFERED referral can be declined"))
    return -1;
  Leerplek__V1__Referral *record = lp_clone(referral);
  char *declined = lp_strdup(record->offer_id);
  record->declined_offer_ids =
      lp_realloc(record->declined_offer_ids, (record->n_declined_offer_ids + 1) * sizeof *record->declined_offer_ids);
  lp_set_string(&record->offer_id, "");
  lp_set_string(&record->organisation_id, "");
  record->declined_offer_ids[record->n_declined_offer_ids++] = declined;
  record->state = STATE(DECLINED);
  record->school_accepted = record->support_accepted = false;
  record->offered_unix_s = 0;
  char note[1200];
  snprintf(note, sizeof note, "%s declined by the %s%s%s", declined, side == SIDE(SCHOOL) ? "school" : "organisation",
           request->reason[0] ? ": " : "", request->reason);
  lp_event_detail detail = {.reason = request->reason, .offer_id = declined};
  if (commit_referral(ctx, "decline", key, record, note, &detail) != 0) return -1;
  return reply_with(ctx, &leerplek__v1__decline_referral_response__descriptor, record);
}

int lp_handle_start_referral(lp_ctx *ctx) {
  char key[LP_REFERRAL_KEY_SIZE];
  const Leerplek__V1__Referral *referral =
      visible_referral(ctx, ctx->request->start_referral->referral, "start_referral", key);
  if (!referral || !in_state(ctx, referral, STATE(OFFERED), "start_referral", "only an OFFERED referral can start"))
    return -1;
  if (!referral->school_accepted || !referral->support_accepted)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "start_referral.referral",
                   "the trajectory starts once both the school and the organisation accepted");
  Leerplek__V1__Referral *record = lp_clone(referral);
  if (record) {
    record->state = STATE(STARTED);
    record->started_unix_s = ctx->now;
  }
  if (commit_referral(ctx, "start", key, record, "started", NULL) != 0) return -1;
  return reply_with(ctx, &leerplek__v1__start_referral_response__descriptor, record);
}

/* The way back to a workplace: a trajectory that ends with the pupil PARTLY or READY gives the
 * pupil that readiness and puts it on the regular waiting list (a new placement request when it
 * has no open one), its days waited counted from the earlier of its placement request and this
 * referral, so the time spent in the preparatory track is not lost. An ACCEPTED or signed
 * placement keeps the pupil as it is (it is fixed); a PROPOSED one it no longer fits is
 * released as an update of the pupil would. */
typedef struct way_back {
  char key[LP_MAX_KEY];
  Leerplek__V1__Pupil *pupil;         /* the changed pupil, NULL: no change */
  Leerplek__V1__Placement *placement; /* a new placement request, NULL: none */
  lp_releases releases;
  Leerplek__V1__Vacancy *vacancy; /* a released proposal's vacancy */
} way_back;

static void way_back_free(way_back *way) {
  if (way->pupil) protobuf_c_message_free_unpacked(&way->pupil->base, NULL);
  if (way->placement) protobuf_c_message_free_unpacked(&way->placement->base, NULL);
  if (way->vacancy) protobuf_c_message_free_unpacked(&way->vacancy->base, NULL);
  lp_releases_free(&way->releases);
  memset(way, 0, sizeof *way);
}

static int plan_way_back(lp_ctx *ctx, const Leerplek__V1__Referral *ended, way_back *way) {
  memset(way, 0, sizeof *way);
  lp_pupil_key(ended->school_id, ended->pupil_ref, way->key);
  const Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, way->key);
  const Leerplek__V1__Placement *placement = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, way->key);
  if (!pupil || ended->outcome < LEERPLEK__V1__READINESS__READINESS_PARTLY) return 0;
  if (placement && (placement->state == LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ACCEPTED ||
                    placement->state == LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT))
    return 0;
  /* WITHDRAWN and ENDED requests are over: the pupil comes back with a new one. */
  bool open = placement && placement->state != LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WITHDRAWN &&
              placement->state != LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ENDED;
  int64_t since = lp_rules_waiting_since(pupil, open ? placement : NULL);
  if (since == 0 || ended->requested_unix_s < since) since = ended->requested_unix_s;
  way->pupil = lp_clone(pupil);
  if (!open) way->placement = lp_placement_new(pupil, ctx->now);
  way->pupil->readiness = ended->outcome;
  way->pupil->waiting_since_unix_s = since;
  way->pupil->revision++;
  way->pupil->updated_unix_s = ctx->now;
  if (lp_release_if_unfit(ctx, way->key, way->pupil, placement, &way->releases, &way->vacancy) != 0) {
    way->releases = (lp_releases){NULL, 0};
    way_back_free(way);
    return -1;
  }
  return 0;
}

/* Moves the way back's records into change, each with its event (way is empty afterwards). */
static void way_back_move(lp_ctx *ctx, way_back *way, lp_change *change) {
  if (way->pupil) {
    lp_change_event(change, "update", LP_KIND_PUPIL, way->key);
    lp_event_detail detail = {.call = "referral_ready"};
    lp_change_detail(change, &detail);
    lp_change_put(change, LP_KIND_PUPIL, way->key, way->pupil);
  }
  if (way->placement) {
    lp_change_event(change, "request", LP_KIND_PLACEMENT, way->key);
    const Leerplek__V1__Placement *before = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, way->key);
    lp_event_detail detail = {.call = "referral_ready", .old_state = before ? (int)before->state : 0};
    lp_change_detail(change, &detail);
    lp_change_put(change, LP_KIND_PLACEMENT, way->key, way->placement);
  }
  if (way->vacancy) lp_change_put(change, LP_KIND_VACANCY, way->vacancy->id, way->vacancy);
  lp_releases_move(&way->releases, change);
  way->pupil = NULL, way->placement = NULL, way->vacancy = NULL;
}

int lp_handle_end_referral(lp_ctx *ctx) {
  const Leerplek__V1__EndReferralRequest *request = ctx->request->end_referral;
  char key[LP_REFERRAL_KEY_SIZE];
  const Leerplek__V1__Referral *referral = visible_referral(ctx, request->referral, "end_referral", key);
  if (!referral) return -1;
  if (request->outcome < LEERPLEK__V1__READINESS__READINESS_NOT_READY ||
      request->outcome > LEERPLEK__V1__READINESS__READINESS_READY)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "end_referral.outcome",
                   "end_referral.outcome must be NOT_READY, PARTLY or READY");
  if (!lp_check_text(ctx, request->note, "end_referral.note", 0, ctx->daemon->config.max_text_bytes, true) ||
      !in_state(ctx, referral, STATE(STARTED), "end_referral", "only a STARTED trajectory can end"))
    return -1;
  Leerplek__V1__Referral *record = lp_clone(referral);
  record->state = STATE(ENDED);
  record->outcome = request->outcome;
  record->ended_unix_s = ctx->now;
  const ProtobufCEnumValue *outcome =
      protobuf_c_enum_descriptor_get_value(&leerplek__v1__readiness__descriptor, request->outcome);
  char note[1200];
  snprintf(note, sizeof note, "ended, %s%s%s", outcome ? outcome->name : "?", request->note[0] ? ": " : "",
           request->note);
  add_history(ctx, record, note);
  way_back way;
  if (plan_way_back(ctx, record, &way) != 0) {
    protobuf_c_message_free_unpacked(&record->base, NULL);
    return -1;
  }
  bool readiness_changed = way.pupil != NULL, placement_requested = way.placement != NULL;
  lp_change *change = lp_begin(ctx, "end", LP_KIND_REFERRAL, key);
  lp_change_put(change, LP_KIND_REFERRAL, key, record);
  way_back_move(ctx, &way, change);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__EndReferralResponse *reply = lp_reply_body(ctx, &leerplek__v1__end_referral_response__descriptor);
  reply->referral = record;
  reply->readiness_changed = readiness_changed;
  reply->placement_requested = placement_requested;
  return 0;
}

int lp_handle_withdraw_referral(lp_ctx *ctx) {
  const Leerplek__V1__WithdrawReferralRequest *request = ctx->request->withdraw_referral;
  char key[LP_REFERRAL_KEY_SIZE];
  Leerplek__V1__Referral *referral = visible_referral(ctx, request->referral, "withdraw_referral", key);
  if (!referral ||
      !lp_check_text(ctx, request->reason, "withdraw_referral.reason", 0, ctx->daemon->config.max_text_bytes, true))
    return -1;
  const ProtobufCMessageDescriptor *descriptor = &leerplek__v1__withdraw_referral_response__descriptor;
  if (referral->state == STATE(WITHDRAWN)) return reply_with(ctx, descriptor, referral);
  if (referral->state == STATE(ENDED))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "withdraw_referral.referral",
                   "an ENDED referral cannot be withdrawn");
  Leerplek__V1__Referral *record = lp_clone(referral);
  record->state = STATE(WITHDRAWN);
  record->school_accepted = record->support_accepted = false;
  lp_set_string(&record->offer_id, "");
  lp_set_string(&record->organisation_id, "");
  char note[1100];
  snprintf(note, sizeof note, "withdrawn%s%s", request->reason[0] ? ": " : "", request->reason);
  lp_event_detail detail = {.reason = request->reason, .offer_id = referral->offer_id};
  if (commit_referral(ctx, "withdraw", key, record, note, &detail) != 0) return -1;
  return reply_with(ctx, descriptor, record);
}
