/* handlers_catalog: trainings, companies (with recognitions) and locations: the registry that
 * vacancies and pupils refer to. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_handlers.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

/* ---- trainings ------------------------------------------------------------------------- */

int lp_handle_upsert_training(lp_ctx *ctx) {
  const Leerplek__V1__UpsertTrainingRequest *request = ctx->request->upsert_training;
  const Leerplek__V1__Training *training = request->training;
  if (!training)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_training.training", "upsert_training.training is required");
  if (!lp_check_training_code(ctx, training->code, "upsert_training.training.code") ||
      !lp_check_text(ctx, training->name, "upsert_training.training.name", 1, ctx->daemon->config.max_name_bytes,
                     false))
    return -1;
  for (size_t i = 0; i < training->n_provider_types; i++) {
    if (training->provider_types[i] <= LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_UNSPECIFIED ||
        training->provider_types[i] > LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA)
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_training.training.provider_types",
                     "provider_types[%zu] is not a SchoolType (FULL_TIME, BUSO, LEARNING_WORKING or SYNTRA)", i);
    for (size_t j = 0; j < i; j++)
      if (training->provider_types[j] == training->provider_types[i])
        return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_training.training.provider_types",
                       "provider_types lists one type twice");
  }
  const Leerplek__V1__Training *stored = lp_state_get(&ctx->daemon->state, LP_KIND_TRAINING, training->code);
  if (!lp_check_revision(ctx, request->expected_revision, stored ? stored->revision : 0,
                         "upsert_training.expected_revision"))
    return -1;
  Leerplek__V1__Training *record = lp_clone(training);
  record->revision = stored ? stored->revision + 1 : 1;
  record->updated_unix_s = ctx->now;
  if (lp_store_record(ctx, "upsert", LP_KIND_TRAINING, training->code, record) != 0) return -1;
  Leerplek__V1__UpsertTrainingResponse *reply = lp_reply_body(ctx, &leerplek__v1__upsert_training_response__descriptor);
  reply->training = record;
  reply->created = stored == NULL;
  return 0;
}

int lp_handle_get_training(lp_ctx *ctx) {
  const char *code = ctx->request->get_training->code;
  if (!lp_check_training_code(ctx, code, "get_training.code")) return -1;
  Leerplek__V1__Training *training = lp_state_get(&ctx->daemon->state, LP_KIND_TRAINING, code);
  if (!training) return lp_fail(ctx, CODE(NOT_FOUND), "get_training.code", "no training %s", code);
  Leerplek__V1__GetTrainingResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_training_response__descriptor);
  reply->training = training;
  return 0;
}

int lp_handle_list_trainings(lp_ctx *ctx) {
  const Leerplek__V1__ListTrainingsRequest *request = ctx->request->list_trainings;
  Leerplek__V1__ListTrainingsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_trainings_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_TRAINING, &request->base, request->page_size, request->page_token, "list_trainings",
                   NULL, NULL, (void ***)&reply->trainings, &reply->n_trainings, &reply->next_page_token,
                   &reply->total_size) != 0)
    return -1;
  return 0;
}

/* ---- companies ------------------------------------------------------------------------- */

static bool recognised(const Leerplek__V1__Company *company, const char *training) {
  for (size_t i = 0; i < company->n_recognised_training_codes; i++)
    if (strcmp(company->recognised_training_codes[i], training) == 0) return true;
  return false;
}

int lp_handle_upsert_company(lp_ctx *ctx) {
  const Leerplek__V1__UpsertCompanyRequest *request = ctx->request->upsert_company;
  const Leerplek__V1__Company *company = request->company;
  const lp_config *config = &ctx->daemon->config;
  if (!company)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_company.company", "upsert_company.company is required");
  if (!lp_check_company_id(ctx, company->id, "upsert_company.company.id") ||
      !lp_check_text(ctx, company->name, "upsert_company.company.name", 1, config->max_name_bytes, false))
    return -1;
  if (!lp_check_training_list(ctx, company->recognised_training_codes, company->n_recognised_training_codes,
                              config->max_recognitions, "upsert_company.company.recognised_training_codes"))
    return -1;
  const Leerplek__V1__Company *stored = lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, company->id);
  if (!lp_check_revision(ctx, request->expected_revision, stored ? stored->revision : 0,
                         "upsert_company.expected_revision"))
    return -1;
  /* Removing a recognition: refused while accepted or signed placements depend on it; PROPOSED
   * placements that depend on it are released. */
  lp_releases releases = {NULL, 0};
  Leerplek__V1__Vacancy **vacancies = NULL; /* copies with seats released, one per vacancy */
  size_t vacancy_count = 0;
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  for (size_t i = 0; stored && i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (!placement->offer || placement->proposal_id == 0 || strcmp(placement->offer->company_id, company->id) != 0)
      continue;
    const Leerplek__V1__Vacancy *vacancy =
        lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, placement->offer->vacancy_id);
    if (!vacancy || recognised(company, vacancy->training_code)) continue;
    if (placement->state != LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED) {
      lp_releases_free(&releases);
      for (size_t v = 0; v < vacancy_count; v++) protobuf_c_message_free_unpacked(&vacancies[v]->base, NULL);
      free(vacancies);
      return lp_fail(ctx, CODE(FAILED_PRECONDITION), "upsert_company.company.recognised_training_codes",
                     "%s cannot lose its recognition for %s while accepted or signed placements depend on it",
                     company->id, vacancy->training_code);
    }
    size_t v = 0;
    while (v < vacancy_count && strcmp(vacancies[v]->id, vacancy->id) != 0) v++;
    if (v == vacancy_count) {
      vacancies = lp_realloc(vacancies, (vacancy_count + 1) * sizeof *vacancies);
      Leerplek__V1__Vacancy *copy = lp_clone(vacancy);
      copy->revision++;
      copy->updated_unix_s = ctx->now;
      vacancies[vacancy_count++] = copy;
    }
    lp_release_add(ctx, &releases, placements->entries[i].key, placement);
    if (vacancies[v]->seats_proposed > 0) vacancies[v]->seats_proposed--;
  }
  Leerplek__V1__Company *record = lp_clone(company);
  lp_change *change = lp_begin(ctx, "upsert", LP_KIND_COMPANY, company->id);
  record->revision = stored ? stored->revision + 1 : 1;
  record->updated_unix_s = ctx->now;
  lp_change_put(change, LP_KIND_COMPANY, company->id, record);
  for (size_t v = 0; v < vacancy_count; v++) lp_change_put(change, LP_KIND_VACANCY, vacancies[v]->id, vacancies[v]);
  free(vacancies);
  lp_releases_move(&releases, change);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__UpsertCompanyResponse *reply = lp_reply_body(ctx, &leerplek__v1__upsert_company_response__descriptor);
  reply->company = record;
  reply->created = stored == NULL;
  return 0;
}

int lp_handle_get_company(lp_ctx *ctx) {
  const char *id = ctx->request->get_company->company_id;
  if (!lp_check_company_id(ctx, id, "get_company.company_id")) return -1;
  Leerplek__V1__Company *company = lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, id);
  /* A company token sees only its own company: another is answered as absent. */
  if (!company || (lp_is_company(ctx) && strcmp(id, ctx->who.scope_id) != 0))
    return lp_fail(ctx, CODE(NOT_FOUND), "get_company.company_id", "no company %s", id);
  Leerplek__V1__GetCompanyResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_company_response__descriptor);
  reply->company = company;
  return 0;
}

static bool company_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Company *company = value;
  const char *training = arg;
  if (lp_is_company(ctx) && strcmp(company->id, ctx->who.scope_id) != 0) return false;
  if (training[0] == '\0') return true;
  for (size_t i = 0; i < company->n_recognised_training_codes; i++)
    if (strcmp(company->recognised_training_codes[i], training) == 0) return true;
  return false;
}

int lp_handle_list_companies(lp_ctx *ctx) {
  const Leerplek__V1__ListCompaniesRequest *request = ctx->request->list_companies;
  if (request->training_code[0] && !lp_check_training_code(ctx, request->training_code, "list_companies.training_code"))
    return -1;
  Leerplek__V1__ListCompaniesResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_companies_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_COMPANY, &request->base, request->page_size, request->page_token, "list_companies",
                   company_matches, request->training_code, (void ***)&reply->companies, &reply->n_companies,
                   &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  return 0;
}

/* ---- locations ------------------------------------------------------------------------- */

int lp_handle_upsert_location(lp_ctx *ctx) {
  const Leerplek__V1__UpsertLocationRequest *request = ctx->request->upsert_location;
  const Leerplek__V1__Location *location = request->location;
  const lp_config *config = &ctx->daemon->config;
  if (!location)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_location.location", "upsert_location.location is required");
  if (!lp_check_id(ctx, location->id, "upsert_location.location.id") ||
      !lp_check_company_id(ctx, location->company_id, "upsert_location.location.company_id") ||
      !lp_check_text(ctx, location->name, "upsert_location.location.name", 0, config->max_name_bytes, false) ||
      !lp_check_text(ctx, location->address, "upsert_location.location.address", 0, config->max_name_bytes, false) ||
      !lp_check_point(ctx, location->point, "upsert_location.location.point") ||
      !lp_check_postcode(ctx, location->postcode, "upsert_location.location.postcode") ||
      !lp_check_text(ctx, location->district, "upsert_location.location.district", 0, config->max_short_text_bytes,
                     false))
    return -1;
  if (lp_is_company(ctx) && strcmp(location->company_id, ctx->who.scope_id) != 0)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "upsert_location.location.company_id",
                   "a company token may manage only its own locations");
  if (!lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, location->company_id))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_location.location.company_id", "no company %s",
                   location->company_id);
  const Leerplek__V1__Location *stored = lp_state_get(&ctx->daemon->state, LP_KIND_LOCATION, location->id);
  if (stored && strcmp(stored->company_id, location->company_id) != 0) {
    /* For a company token another company's location is absent, as everywhere: the reply must not
     * tell it exists or whose it is. Such an id cannot be created either (ids are global). */
    if (lp_is_company(ctx))
      return lp_fail(ctx, CODE(NOT_FOUND), "upsert_location.location.id",
                     "no location %s of company %s, and the id cannot be used for a new one: choose another id",
                     location->id, location->company_id);
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "upsert_location.location.company_id",
                   "company_id is immutable: location %s belongs to %s", location->id, stored->company_id);
  }
  if (!lp_check_revision(ctx, request->expected_revision, stored ? stored->revision : 0,
                         "upsert_location.expected_revision"))
    return -1;
  Leerplek__V1__Location *record = lp_clone(location);
  record->revision = stored ? stored->revision + 1 : 1;
  record->updated_unix_s = ctx->now;
  if (lp_store_record(ctx, "upsert", LP_KIND_LOCATION, location->id, record) != 0) return -1;
  Leerplek__V1__UpsertLocationResponse *reply = lp_reply_body(ctx, &leerplek__v1__upsert_location_response__descriptor);
  reply->location = record;
  reply->created = stored == NULL;
  return 0;
}

int lp_handle_get_location(lp_ctx *ctx) {
  const char *id = ctx->request->get_location->location_id;
  if (!lp_check_id(ctx, id, "get_location.location_id")) return -1;
  Leerplek__V1__Location *location = lp_state_get(&ctx->daemon->state, LP_KIND_LOCATION, id);
  /* Another company's location is reported as absent. */
  if (!location || (lp_is_company(ctx) && strcmp(location->company_id, ctx->who.scope_id) != 0))
    return lp_fail(ctx, CODE(NOT_FOUND), "get_location.location_id", "no location %s", id);
  Leerplek__V1__GetLocationResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_location_response__descriptor);
  reply->location = location;
  return 0;
}

static bool location_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Location *location = value;
  const char *company = arg;
  (void)ctx;
  return company[0] == '\0' || strcmp(location->company_id, company) == 0;
}

int lp_handle_list_locations(lp_ctx *ctx) {
  const Leerplek__V1__ListLocationsRequest *request = ctx->request->list_locations;
  const char *company = request->company_id;
  if (company[0] && !lp_check_company_id(ctx, company, "list_locations.company_id")) return -1;
  if (lp_is_company(ctx)) {
    if (company[0] && strcmp(company, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_locations.company_id",
                     "a company token may list only its own locations");
    company = ctx->who.scope_id;
  }
  Leerplek__V1__ListLocationsResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_locations_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_LOCATION, &request->base, request->page_size, request->page_token, "list_locations",
                   location_matches, company, (void ***)&reply->locations, &reply->n_locations, &reply->next_page_token,
                   &reply->total_size) != 0)
    return -1;
  return 0;
}
