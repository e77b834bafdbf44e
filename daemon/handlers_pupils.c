/* handlers_pupils: pupils (pseudonymous, minors: only what matching needs), their placement
 * requests and erasure. A SCHOOL token sees only its own pupils; another school's pupil is
 * reported as absent. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_rules.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name

/* Rounds a coordinate to the nearest multiple of 5000 micro-degrees (the stored precision). */
static int32_t round_coordinate(int32_t value) {
  int64_t step = 5000;
  int64_t shifted = (int64_t)value + (value >= 0 ? step / 2 : -step / 2);
  return (int32_t)(shifted / step * step);
}

static bool check_company_list(lp_ctx *ctx, char **ids, size_t count, uint32_t max, const char *field_base) {
  char field[128];
  if (count > max)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), field_base, "%s holds %zu companies; at most %u", field_base, count,
                   max),
           false;
  for (size_t i = 0; i < count; i++) {
    snprintf(field, sizeof field, "%s[%zu]", field_base, i);
    if (!lp_check_company_id(ctx, ids[i], field)) return false;
    if (!lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, ids[i]))
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "no company %s", ids[i]), false;
    for (size_t j = 0; j < i; j++)
      if (strcmp(ids[j], ids[i]) == 0)
        return lp_fail(ctx, CODE(INVALID_ARGUMENT), field, "%s is listed twice", ids[i]), false;
  }
  return true;
}

/* Checks the client-set fields of a pupil; call is "register_pupil" or "update_pupil". */
static bool check_pupil(lp_ctx *ctx, const Leerplek__V1__Pupil *pupil, const char *call) {
  const lp_config *config = &ctx->daemon->config;
  char field[96];
#define FIELD(name) (snprintf(field, sizeof field, "%s.pupil.%s", call, name), field)
  if (!lp_check_id(ctx, pupil->ref, FIELD("ref")) ||
      !lp_check_training_code(ctx, pupil->training_code, FIELD("training_code")) ||
      !lp_check_point(ctx, pupil->home, FIELD("home")) ||
      !lp_check_postcode(ctx, pupil->home_postcode, FIELD("home_postcode")) ||
      !lp_check_text(ctx, pupil->home_district, FIELD("home_district"), 0, config->max_short_text_bytes, false) ||
      !lp_check_day_mask(ctx, pupil->day_mask, FIELD("day_mask")) ||
      !lp_check_text(ctx, pupil->school_notes, FIELD("school_notes"), 0, config->max_text_bytes, true) ||
      !check_company_list(ctx, pupil->preferred_company_ids, pupil->n_preferred_company_ids, config->max_preferences,
                          FIELD("preferred_company_ids")) ||
      !check_company_list(ctx, pupil->excluded_company_ids, pupil->n_excluded_company_ids, config->max_exclusions,
                          FIELD("excluded_company_ids")))
    return false;
  if (!lp_state_get(&ctx->daemon->state, LP_KIND_TRAINING, pupil->training_code))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("training_code"), "no training %s", pupil->training_code), false;
  if (pupil->readiness < LEERPLEK__V1__READINESS__READINESS_NOT_READY ||
      pupil->readiness > LEERPLEK__V1__READINESS__READINESS_READY)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("readiness"), "%s must be NOT_READY, PARTLY or READY", field),
           false;
  if (pupil->max_commute_m < LP_MIN_COMMUTE_M || pupil->max_commute_m > LP_MAX_COMMUTE_M)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("max_commute_m"), "%s must be between %d and %d", field,
                   LP_MIN_COMMUTE_M, LP_MAX_COMMUTE_M),
           false;
  if (pupil->waiting_since_unix_s < 0 || pupil->waiting_since_unix_s > ctx->now)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("waiting_since_unix_s"),
                   "%s must not be negative or in the future", field),
           false;
  if (pupil->school_type < LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_UNSPECIFIED ||
      pupil->school_type > LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("school_type"), "%s is not a SchoolType", field), false;
  if (pupil->wanted_start_date && !lp_check_date(ctx, pupil->wanted_start_date, FIELD("wanted_start_date")))
    return false;
#undef FIELD
  return true;
}

/* A fresh stored copy of pupil with the daemon's output fields. */
static Leerplek__V1__Pupil *pupil_record(lp_ctx *ctx, const Leerplek__V1__Pupil *pupil, const char *school,
                                         const Leerplek__V1__Pupil *stored) {
  Leerplek__V1__Pupil *record = lp_clone(pupil);
  lp_set_string(&record->school_id, school);
  record->home->lat_e6 = round_coordinate(record->home->lat_e6);
  record->home->lon_e6 = round_coordinate(record->home->lon_e6);
  /* Declines are the daemon's to record: keep the stored list, never the client's. */
  for (size_t i = 0; i < record->n_declined_company_ids; i++) free(record->declined_company_ids[i]);
  free(record->declined_company_ids);
  record->declined_company_ids = NULL;
  record->n_declined_company_ids = 0;
  if (stored && stored->n_declined_company_ids) {
    record->declined_company_ids = lp_calloc(stored->n_declined_company_ids, sizeof(char *));
    for (size_t i = 0; i < stored->n_declined_company_ids; i++)
      record->declined_company_ids[i] = lp_strdup(stored->declined_company_ids[i]);
    record->n_declined_company_ids = stored->n_declined_company_ids;
  }
  if (!lp_is_coordinator(ctx) || record->waiting_since_unix_s == 0)
    record->waiting_since_unix_s = stored ? stored->waiting_since_unix_s : 0;
  record->revision = stored ? stored->revision + 1 : 1;
  record->registered_unix_s = stored ? stored->registered_unix_s : ctx->now;
  record->updated_unix_s = ctx->now;
  return record;
}

int lp_handle_register_pupil(lp_ctx *ctx) {
  const Leerplek__V1__Pupil *pupil = ctx->request->register_pupil->pupil;
  if (!pupil) return lp_fail(ctx, CODE(INVALID_ARGUMENT), "register_pupil.pupil", "register_pupil.pupil is required");
  const char *school = pupil->school_id;
  if (lp_is_school(ctx)) {
    if (school[0] && strcmp(school, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "register_pupil.pupil.school_id",
                     "a school token may register only its own pupils");
    school = ctx->who.scope_id;
  } else if (!lp_check_id(ctx, school, "register_pupil.pupil.school_id")) {
    return -1;
  }
  if (!check_pupil(ctx, pupil, "register_pupil")) return -1;
  char key[LP_MAX_KEY];
  lp_pupil_key(school, pupil->ref, key);
  if (lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, key))
    return lp_fail(ctx, CODE(ALREADY_EXISTS), "register_pupil.pupil.ref", "school %s already has a pupil %s", school,
                   pupil->ref);
  Leerplek__V1__Pupil *record = pupil_record(ctx, pupil, school, NULL);
  if (lp_store_record(ctx, "register", LP_KIND_PUPIL, key, record) != 0) return -1;
  Leerplek__V1__RegisterPupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__register_pupil_response__descriptor);
  reply->pupil = record;
  return 0;
}

/* The stored pupil (school_id, ref) if visible to the token; fills key. */
Leerplek__V1__Pupil *lp_visible_pupil(lp_ctx *ctx, const char *school_id, const char *ref, const char *call,
                                      char key[LP_MAX_KEY]) {
  char school_field[96], ref_field[96];
  lp_concat(school_field, sizeof school_field, call, ".school_id", "");
  lp_concat(ref_field, sizeof ref_field, call, ".pupil_ref", "");
  const char *school = NULL;
  if (!lp_resolve_school(ctx, school_id, school_field, &school) || !lp_check_id(ctx, ref, ref_field)) return NULL;
  lp_pupil_key(school, ref, key);
  Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, key);
  if (!pupil) lp_fail(ctx, CODE(NOT_FOUND), ref_field, "no pupil %s at school %s", ref, school);
  return pupil;
}

static bool matching_fields_equal(const Leerplek__V1__Pupil *a, const Leerplek__V1__Pupil *b) {
  return strcmp(a->training_code, b->training_code) == 0 && a->readiness == b->readiness &&
         a->home->lat_e6 == b->home->lat_e6 && a->home->lon_e6 == b->home->lon_e6 &&
         a->max_commute_m == b->max_commute_m && a->day_mask == b->day_mask;
}

int lp_release_if_unfit(lp_ctx *ctx, const char *key, const Leerplek__V1__Pupil *record,
                        const Leerplek__V1__Placement *placement, lp_releases *releases,
                        Leerplek__V1__Vacancy **vacancy) {
  *vacancy = NULL;
  if (!placement || placement->state != STATE(PROPOSED) || !placement->offer) return 0;
  const Leerplek__V1__Vacancy *offered =
      lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, placement->offer->vacancy_id);
  if (offered && lp_rules_still_fits(&ctx->daemon->state, &ctx->daemon->config, record, offered, placement)) return 0;
  bool holds = false;
  *vacancy = lp_vacancy_releasing(ctx, placement, &holds);
  lp_release_add(ctx, releases, key, placement);
  return 0;
}

Leerplek__V1__Placement *lp_placement_new(const Leerplek__V1__Pupil *pupil, long long now) {
  Leerplek__V1__Placement *placement = lp_calloc(1, sizeof *placement);
  leerplek__v1__placement__init(placement);
  placement->school_id = lp_strdup(pupil->school_id);
  placement->pupil_ref = lp_strdup(pupil->ref);
  placement->training_code = lp_strdup(pupil->training_code);
  placement->state = STATE(WAITING);
  placement->requested_unix_s = now;
  placement->updated_unix_s = now;
  return placement;
}

int lp_handle_update_pupil(lp_ctx *ctx) {
  const Leerplek__V1__UpdatePupilRequest *request = ctx->request->update_pupil;
  const Leerplek__V1__Pupil *pupil = request->pupil;
  if (!pupil) return lp_fail(ctx, CODE(INVALID_ARGUMENT), "update_pupil.pupil", "update_pupil.pupil is required");
  char key[LP_MAX_KEY];
  const char *school = NULL;
  if (!lp_resolve_school(ctx, pupil->school_id, "update_pupil.pupil.school_id", &school) ||
      !lp_check_id(ctx, pupil->ref, "update_pupil.pupil.ref"))
    return -1;
  lp_pupil_key(school, pupil->ref, key);
  const Leerplek__V1__Pupil *stored = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, key);
  if (!stored)
    return lp_fail(ctx, CODE(NOT_FOUND), "update_pupil.pupil.ref", "no pupil %s at school %s", pupil->ref, school);
  if (!check_pupil(ctx, pupil, "update_pupil")) return -1;
  if (!lp_check_revision(ctx, request->expected_revision, stored->revision, "update_pupil.expected_revision"))
    return -1;
  Leerplek__V1__Pupil *record = pupil_record(ctx, pupil, school, stored);
  const Leerplek__V1__Placement *placement = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  if (placement && (placement->state == STATE(ACCEPTED) || placement->state == STATE(AGREEMENT)) &&
      !matching_fields_equal(record, stored)) {
    protobuf_c_message_free_unpacked(&record->base, NULL);
    return lp_fail(
        ctx, CODE(FAILED_PRECONDITION), "update_pupil.pupil",
        "training, readiness, home, commute and days cannot change while the placement is accepted or signed");
  }
  lp_releases releases = {NULL, 0};
  Leerplek__V1__Vacancy *vacancy = NULL;
  if (lp_release_if_unfit(ctx, key, record, placement, &releases, &vacancy) != 0) {
    protobuf_c_message_free_unpacked(&record->base, NULL);
    return -1;
  }
  bool released = releases.count > 0;
  lp_change *change = lp_begin(ctx, "update", LP_KIND_PUPIL, key);
  lp_change_put(change, LP_KIND_PUPIL, key, record);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  lp_releases_move(&releases, change);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__UpdatePupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__update_pupil_response__descriptor);
  reply->pupil = record;
  reply->released_proposal = released;
  return 0;
}

int lp_handle_get_pupil(lp_ctx *ctx) {
  const Leerplek__V1__GetPupilRequest *request = ctx->request->get_pupil;
  char key[LP_MAX_KEY];
  Leerplek__V1__Pupil *pupil = lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "get_pupil", key);
  if (!pupil) return -1;
  Leerplek__V1__GetPupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_pupil_response__descriptor);
  reply->pupil = pupil;
  return 0;
}

typedef struct school_filter {
  const char *school_id;     /* "" = any */
  const char *training_code; /* "" = any */
  int state;                 /* placements: 0 = any */
  const char *vacancy_id;    /* placements: "" = any */
} school_filter;

static bool pupil_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Pupil *pupil = value;
  const school_filter *filter = arg;
  (void)ctx;
  return (!filter->school_id[0] || strcmp(pupil->school_id, filter->school_id) == 0) &&
         (!filter->training_code[0] || strcmp(pupil->training_code, filter->training_code) == 0);
}

/* The school a list is limited to: the token's own for SCHOOL tokens (another id refused). */
static bool list_school(lp_ctx *ctx, const char *requested, const char *field, const char **school) {
  if (requested[0] && !lp_check_id(ctx, requested, field)) return false;
  if (lp_is_school(ctx)) {
    if (requested[0] && strcmp(requested, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), field, "a school token may list only its own pupils"), false;
    *school = ctx->who.scope_id;
    return true;
  }
  *school = requested;
  return true;
}

int lp_handle_list_pupils(lp_ctx *ctx) {
  const Leerplek__V1__ListPupilsRequest *request = ctx->request->list_pupils;
  school_filter filter = {"", request->training_code, 0, ""};
  if (!list_school(ctx, request->school_id, "list_pupils.school_id", &filter.school_id)) return -1;
  if (request->training_code[0] && !lp_check_training_code(ctx, request->training_code, "list_pupils.training_code"))
    return -1;
  Leerplek__V1__ListPupilsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_pupils_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_PUPIL, &request->base, request->page_size, request->page_token, "list_pupils",
                   pupil_matches, &filter, (void ***)&reply->pupils, &reply->n_pupils, &reply->next_page_token,
                   &reply->total_size) != 0)
    return -1;
  return 0;
}

int lp_handle_erase_pupil(lp_ctx *ctx) {
  const Leerplek__V1__ErasePupilRequest *request = ctx->request->erase_pupil;
  char key[LP_MAX_KEY];
  Leerplek__V1__Pupil *pupil = lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "erase_pupil", key);
  if (!pupil) return -1;
  const Leerplek__V1__Placement *placement = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  int previous = placement ? (int)placement->state : 0;
  bool holds_seat = false;
  Leerplek__V1__Vacancy *vacancy = placement ? lp_vacancy_releasing(ctx, placement, &holds_seat) : NULL;
  /* The audit trail keeps only that this school's pupil was erased, not which one. */
  char school[LP_SCOPE_SIZE];
  snprintf(school, sizeof school, "%s", pupil->school_id);
  lp_change *change = lp_begin(ctx, "erase", LP_KIND_PUPIL, school);
  /* Its referrals ("<key>/<component>") are adjacent in the sorted map. */
  const lp_map *referrals = &ctx->daemon->state.maps[LP_KIND_REFERRAL];
  char prefix[LP_MAX_KEY + 1];
  snprintf(prefix, sizeof prefix, "%s/", key);
  size_t first_referral, referral_end;
  lp_map_prefix(referrals, prefix, &first_referral, &referral_end);
  lp_change_delete(change, LP_KIND_PUPIL, key);
  lp_change_delete(change, LP_KIND_PLACEMENT, key);
  /* Every earlier event naming the pupil goes too; the erasure's own event names the school. */
  lp_txn_erase_history(lp_change_txn(change), pupil->school_id, pupil->ref);
  for (size_t i = first_referral; i < referral_end; i++)
    lp_change_delete(change, LP_KIND_REFERRAL, referrals->entries[i].key);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__ErasePupilResponse *reply = lp_reply_body(ctx, &leerplek__v1__erase_pupil_response__descriptor);
  reply->previous_state = (Leerplek__V1__PlacementState)previous;
  return 0;
}

/* ---- placements ------------------------------------------------------------------------ */

int lp_handle_request_placement(lp_ctx *ctx) {
  const Leerplek__V1__RequestPlacementRequest *request = ctx->request->request_placement;
  char key[LP_MAX_KEY];
  Leerplek__V1__Pupil *pupil = lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "request_placement", key);
  if (!pupil) return -1;
  const Leerplek__V1__Placement *stored = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  if (stored && stored->state != STATE(WITHDRAWN) && stored->state != STATE(ENDED))
    return lp_fail(ctx, CODE(ALREADY_EXISTS), "request_placement.pupil_ref",
                   "pupil %s already has an active placement request", request->pupil_ref);
  Leerplek__V1__Placement *placement = lp_placement_new(pupil, ctx->now);
  Leerplek__V1__Pupil *pupil_copy = lp_clone(pupil);
  bool pupil_changes = pupil->waiting_since_unix_s == 0;
  if (pupil_changes) {
    pupil_copy->waiting_since_unix_s = ctx->now;
    pupil_copy->revision++;
    pupil_copy->updated_unix_s = ctx->now;
  }
  lp_change *change = lp_begin(ctx, "request", LP_KIND_PLACEMENT, key);
  lp_change_put(change, LP_KIND_PLACEMENT, key, placement);
  if (pupil_changes)
    lp_change_put(change, LP_KIND_PUPIL, key, pupil_copy);
  else
    protobuf_c_message_free_unpacked(&pupil_copy->base, NULL);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__RequestPlacementResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__request_placement_response__descriptor);
  reply->placement = placement;
  return 0;
}

int lp_handle_withdraw_placement(lp_ctx *ctx) {
  const Leerplek__V1__WithdrawPlacementRequest *request = ctx->request->withdraw_placement;
  char key[LP_MAX_KEY];
  if (!lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "withdraw_placement", key)) return -1;
  if (!lp_check_text(ctx, request->reason, "withdraw_placement.reason", 0, ctx->daemon->config.max_text_bytes, true))
    return -1;
  const Leerplek__V1__Placement *stored = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  if (!stored)
    return lp_fail(ctx, CODE(NOT_FOUND), "withdraw_placement.pupil_ref", "pupil %s has no placement request",
                   request->pupil_ref);
  if (stored->state == STATE(WITHDRAWN))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "withdraw_placement.pupil_ref",
                   "the placement request is already withdrawn");
  bool holds_seat = false;
  Leerplek__V1__Vacancy *vacancy = lp_vacancy_releasing(ctx, stored, &holds_seat);
  Leerplek__V1__Placement *record = lp_clone(stored);
  /* Withdrawing ends the request and frees any seat it held, also an accepted or signed one. */
  record->state = STATE(WITHDRAWN);
  record->proposal_id = 0;
  record->answer_by_unix_s = record->reminded_unix_s = 0;
  lp_placement_end_manual(record);
  if (record->offer) protobuf_c_message_free_unpacked(&record->offer->base, NULL);
  record->offer = NULL;
  record->school_accepted = record->company_accepted = false;
  record->updated_unix_s = ctx->now;
  lp_change *change = lp_begin(ctx, "withdraw", LP_KIND_PLACEMENT, key);
  lp_event_detail detail = {.reason = request->reason, .proposal_id = stored->proposal_id};
  if (stored->offer) detail.vacancy_id = stored->offer->vacancy_id, detail.company_id = stored->offer->company_id;
  lp_change_detail(change, &detail);
  lp_change_put(change, LP_KIND_PLACEMENT, key, record);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__WithdrawPlacementResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__withdraw_placement_response__descriptor);
  reply->placement = record;
  return 0;
}

int lp_handle_get_placement(lp_ctx *ctx) {
  const Leerplek__V1__GetPlacementRequest *request = ctx->request->get_placement;
  char key[LP_MAX_KEY];
  if (!lp_visible_pupil(ctx, request->school_id, request->pupil_ref, "get_placement", key)) return -1;
  Leerplek__V1__Placement *placement = lp_state_get(&ctx->daemon->state, LP_KIND_PLACEMENT, key);
  if (!placement)
    return lp_fail(ctx, CODE(NOT_FOUND), "get_placement.pupil_ref", "pupil %s has no placement request",
                   request->pupil_ref);
  Leerplek__V1__GetPlacementResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_placement_response__descriptor);
  reply->placement = placement;
  return 0;
}

static bool placement_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Placement *placement = value;
  const school_filter *filter = arg;
  (void)ctx;
  return (!filter->school_id[0] || strcmp(placement->school_id, filter->school_id) == 0) &&
         (!filter->training_code[0] || strcmp(placement->training_code, filter->training_code) == 0) &&
         (filter->state == 0 || (int)placement->state == filter->state) &&
         (!filter->vacancy_id[0] ||
          (placement->offer && strcmp(placement->offer->vacancy_id, filter->vacancy_id) == 0));
}

int lp_handle_list_placements(lp_ctx *ctx) {
  const Leerplek__V1__ListPlacementsRequest *request = ctx->request->list_placements;
  school_filter filter = {"", request->training_code, (int)request->state, request->vacancy_id};
  if (!list_school(ctx, request->school_id, "list_placements.school_id", &filter.school_id)) return -1;
  if ((request->training_code[0] &&
       !lp_check_training_code(ctx, request->training_code, "list_placements.training_code")) ||
      (request->vacancy_id[0] && !lp_check_id(ctx, request->vacancy_id, "list_placements.vacancy_id")))
    return -1;
  if (request->state > STATE(ENDED))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "list_placements.state",
                   "list_placements.state is not a PlacementState");
  Leerplek__V1__ListPlacementsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_placements_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_PLACEMENT, &request->base, request->page_size, request->page_token, "list_placements",
                   placement_matches, &filter, (void ***)&reply->placements, &reply->n_placements,
                   &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  return 0;
}
