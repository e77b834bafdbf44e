/* handlers_vacancies: workplaces: publish, update, close, get, list. A COMPANY token works only
 * with vacancies at its own locations; others' vacancies are reported as absent. */
#include <string.h>

#include "lp_handlers.h"
#include "lp_rules.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

static bool company_recognised(const Leerplek__V1__Company *company, const char *training) {
  for (size_t i = 0; i < company->n_recognised_training_codes; i++)
    if (strcmp(company->recognised_training_codes[i], training) == 0) return true;
  return false;
}

/* Checks the client-set fields of a vacancy (call = "publish_vacancy" or "update_vacancy") and
 * resolves its location's company into *company_id. */
static bool check_vacancy(lp_ctx *ctx, const Leerplek__V1__Vacancy *vacancy, const char *call,
                          const char **company_id) {
  char field[96];
#define FIELD(name) (snprintf(field, sizeof field, "%s.vacancy.%s", call, name), field)
  if (!lp_check_id(ctx, vacancy->id, FIELD("id")) || !lp_check_id(ctx, vacancy->location_id, FIELD("location_id")) ||
      !lp_check_training_code(ctx, vacancy->training_code, FIELD("training_code")) ||
      !lp_check_day_mask(ctx, vacancy->day_mask, FIELD("day_mask")) ||
      !lp_check_date(ctx, vacancy->start_date, FIELD("start_date")) ||
      !lp_check_text(ctx, vacancy->mentor, FIELD("mentor"), 0, ctx->daemon->config.max_short_text_bytes, false))
    return false;
  if (vacancy->seats < 1 || vacancy->seats > LP_MAX_SEATS)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("seats"), "%s must be between 1 and %d", field, LP_MAX_SEATS),
           false;
  if (vacancy->kind != LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR &&
      vacancy->kind != LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_PREPARATORY)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("kind"), "%s must be REGULAR or PREPARATORY", field), false;
  if (vacancy->min_readiness < LEERPLEK__V1__READINESS__READINESS_NOT_READY ||
      vacancy->min_readiness > LEERPLEK__V1__READINESS__READINESS_READY)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("min_readiness"), "%s must be NOT_READY, PARTLY or READY", field),
           false;
  if (vacancy->kind == LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR &&
      vacancy->min_readiness == LEERPLEK__V1__READINESS__READINESS_NOT_READY)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("min_readiness"),
                   "a REGULAR place must ask PARTLY or READY; NOT_READY pupils need PREPARATORY places"),
           false;
  if (vacancy->state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED ||
      (vacancy->state != 0 && vacancy->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("state"),
                   "%s may be UNSPECIFIED or OPEN (close with close_vacancy)", field),
           false;
  const Leerplek__V1__Location *location = lp_state_get(&ctx->daemon->state, LP_KIND_LOCATION, vacancy->location_id);
  /* Another company's location is answered as an absent one (the proto's rule for scopes). */
  if (!location || (lp_is_company(ctx) && strcmp(location->company_id, ctx->who.scope_id) != 0))
    return lp_fail(ctx, CODE(NOT_FOUND), FIELD("location_id"), "no location %s", vacancy->location_id), false;
  if (!lp_state_get(&ctx->daemon->state, LP_KIND_TRAINING, vacancy->training_code))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), FIELD("training_code"), "no training %s", vacancy->training_code),
           false;
  const Leerplek__V1__Company *company = lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, location->company_id);
  if (!company || !company_recognised(company, vacancy->training_code))
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), FIELD("training_code"), "company %s is not recognised for %s",
                   location->company_id, vacancy->training_code),
           false;
#undef FIELD
  *company_id = location->company_id;
  return true;
}

/* The stored vacancy named id if the token may see it, else NOT_FOUND naming field. */
static Leerplek__V1__Vacancy *visible_vacancy(lp_ctx *ctx, const char *id, const char *field) {
  if (!lp_check_id(ctx, id, field)) return NULL;
  Leerplek__V1__Vacancy *vacancy = lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, id);
  if (!vacancy || (lp_is_company(ctx) && strcmp(vacancy->company_id, ctx->who.scope_id) != 0)) {
    lp_fail(ctx, CODE(NOT_FOUND), field, "no vacancy %s", id);
    return NULL;
  }
  return vacancy;
}

/* Whether a placement holds a PROPOSED seat in vacancy id. */
static bool proposed_to(const Leerplek__V1__Placement *placement, const char *id) {
  return placement->state == LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED && placement->proposal_id != 0 &&
         placement->offer && strcmp(placement->offer->vacancy_id, id) == 0;
}

/* Writes the vacancy with the released placements in one MULTI/EXEC and applies both. Takes
 * ownership of record and of the releases. */
static int commit_vacancy(lp_ctx *ctx, const char *op, Leerplek__V1__Vacancy *record, lp_releases *releases) {
  lp_change *change = lp_begin(ctx, op, LP_KIND_VACANCY, record->id);
  lp_change_put(change, LP_KIND_VACANCY, record->id, record);
  lp_releases_move(releases, change);
  return lp_commit(ctx, change);
}

int lp_handle_publish_vacancy(lp_ctx *ctx) {
  const Leerplek__V1__Vacancy *vacancy = ctx->request->publish_vacancy->vacancy;
  if (!vacancy)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "publish_vacancy.vacancy", "publish_vacancy.vacancy is required");
  const char *company_id = NULL;
  if (!check_vacancy(ctx, vacancy, "publish_vacancy", &company_id)) return -1;
  if (lp_state_get(&ctx->daemon->state, LP_KIND_VACANCY, vacancy->id))
    return lp_fail(ctx, CODE(ALREADY_EXISTS), "publish_vacancy.vacancy.id", "vacancy %s already exists", vacancy->id);
  Leerplek__V1__Vacancy *record = lp_clone(vacancy);
  lp_set_string(&record->company_id, company_id);
  record->state = LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN;
  record->seats_proposed = 0;
  record->seats_filled = 0;
  record->revision = 1;
  record->updated_unix_s = ctx->now;
  if (lp_store_record(ctx, "publish", LP_KIND_VACANCY, vacancy->id, record) != 0) return -1;
  Leerplek__V1__PublishVacancyResponse *reply = lp_reply_body(ctx, &leerplek__v1__publish_vacancy_response__descriptor);
  reply->vacancy = record;
  return 0;
}

int lp_handle_update_vacancy(lp_ctx *ctx) {
  const Leerplek__V1__UpdateVacancyRequest *request = ctx->request->update_vacancy;
  const Leerplek__V1__Vacancy *vacancy = request->vacancy;
  if (!vacancy)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "update_vacancy.vacancy", "update_vacancy.vacancy is required");
  const Leerplek__V1__Vacancy *stored = visible_vacancy(ctx, vacancy->id, "update_vacancy.vacancy.id");
  if (!stored) return -1;
  const char *company_id = NULL;
  if (!check_vacancy(ctx, vacancy, "update_vacancy", &company_id)) return -1;
  if (strcmp(company_id, stored->company_id) != 0)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "update_vacancy.vacancy.location_id",
                   "a vacancy may move only to another location of company %s", stored->company_id);
  if (vacancy->seats < stored->seats_filled)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "update_vacancy.vacancy.seats",
                   "seats cannot go below the %u seats filled", stored->seats_filled);
  if (!lp_check_revision(ctx, request->expected_revision, stored->revision, "update_vacancy.expected_revision"))
    return -1;
  bool matching_changed = strcmp(vacancy->training_code, stored->training_code) != 0 ||
                          vacancy->day_mask != stored->day_mask || vacancy->kind != stored->kind ||
                          vacancy->min_readiness != stored->min_readiness ||
                          strcmp(vacancy->location_id, stored->location_id) != 0;
  if (stored->seats_filled > 0 && matching_changed)
    return lp_fail(ctx, CODE(FAILED_PRECONDITION), "update_vacancy.vacancy",
                   "training, days, kind, readiness and location cannot change while %u accepted or signed "
                   "placements hold seats",
                   stored->seats_filled);
  Leerplek__V1__Vacancy *record = lp_clone(vacancy);
  lp_set_string(&record->company_id, stored->company_id);
  record->state = vacancy->state == 0 ? stored->state : LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN;
  record->seats_filled = stored->seats_filled;
  record->revision = stored->revision + 1;
  record->updated_unix_s = ctx->now;
  /* PROPOSED placements that no longer fit are released, then the newest proposals beyond the
   * seats left. */
  lp_releases releases = {NULL, 0};
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  size_t still_proposed = 0;
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (!proposed_to(placement, stored->id)) continue;
    const Leerplek__V1__Pupil *pupil = lp_state_get(&ctx->daemon->state, LP_KIND_PUPIL, placements->entries[i].key);
    if (pupil && lp_rules_still_fits(&ctx->daemon->state, &ctx->daemon->config, pupil, record, placement))
      still_proposed++;
    else
      lp_release_add(ctx, &releases, placements->entries[i].key, placement);
  }
  while (record->seats_filled + still_proposed > record->seats) {
    const lp_map_entry *newest = NULL;
    for (size_t i = 0; i < placements->count; i++) {
      const Leerplek__V1__Placement *placement = placements->entries[i].value;
      bool released = false;
      for (size_t r = 0; r < releases.count && !released; r++)
        released = strcmp(releases.items[r].key, placements->entries[i].key) == 0;
      if (!released && proposed_to(placement, stored->id) &&
          (!newest || placement->proposal_id > ((const Leerplek__V1__Placement *)newest->value)->proposal_id))
        newest = &placements->entries[i];
    }
    if (!newest) break;
    lp_release_add(ctx, &releases, newest->key, newest->value);
    still_proposed--;
  }
  record->seats_proposed = (uint32_t)still_proposed;
  uint32_t released = (uint32_t)releases.count;
  if (commit_vacancy(ctx, "update", record, &releases) != 0) return -1;
  Leerplek__V1__UpdateVacancyResponse *reply = lp_reply_body(ctx, &leerplek__v1__update_vacancy_response__descriptor);
  reply->vacancy = record;
  reply->released_proposals = released;
  return 0;
}

int lp_handle_close_vacancy(lp_ctx *ctx) {
  Leerplek__V1__Vacancy *stored =
      visible_vacancy(ctx, ctx->request->close_vacancy->vacancy_id, "close_vacancy.vacancy_id");
  if (!stored) return -1;
  Leerplek__V1__CloseVacancyResponse *reply = lp_reply_body(ctx, &leerplek__v1__close_vacancy_response__descriptor);
  if (stored->state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED) {
    reply->vacancy = stored; /* closing a closed vacancy is a no-op */
    return 0;
  }
  /* Open proposals to it are released; ACCEPTED and AGREEMENT placements stay. */
  lp_releases releases = {NULL, 0};
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  for (size_t i = 0; i < placements->count; i++)
    if (proposed_to(placements->entries[i].value, stored->id))
      lp_release_add(ctx, &releases, placements->entries[i].key, placements->entries[i].value);
  Leerplek__V1__Vacancy *record = lp_clone(stored);
  record->state = LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED;
  record->seats_proposed =
      record->seats_proposed > releases.count ? record->seats_proposed - (uint32_t)releases.count : 0;
  record->revision = stored->revision + 1;
  record->updated_unix_s = ctx->now;
  uint32_t released = (uint32_t)releases.count;
  if (commit_vacancy(ctx, "close", record, &releases) != 0) return -1;
  reply->vacancy = record;
  reply->released_proposals = released;
  return 0;
}

int lp_handle_get_vacancy(lp_ctx *ctx) {
  Leerplek__V1__Vacancy *vacancy =
      visible_vacancy(ctx, ctx->request->get_vacancy->vacancy_id, "get_vacancy.vacancy_id");
  if (!vacancy) return -1;
  Leerplek__V1__GetVacancyResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_vacancy_response__descriptor);
  reply->vacancy = vacancy;
  return 0;
}

static bool vacancy_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const Leerplek__V1__Vacancy *vacancy = value;
  const Leerplek__V1__ListVacanciesRequest *filter = arg;
  if (lp_is_company(ctx) && strcmp(vacancy->company_id, ctx->who.scope_id) != 0) return false;
  if (filter->company_id[0] && strcmp(vacancy->company_id, filter->company_id) != 0) return false;
  if (filter->location_id[0] && strcmp(vacancy->location_id, filter->location_id) != 0) return false;
  if (filter->training_code[0] && strcmp(vacancy->training_code, filter->training_code) != 0) return false;
  if (filter->state != 0 && vacancy->state != filter->state) return false;
  return true;
}

int lp_handle_list_vacancies(lp_ctx *ctx) {
  const Leerplek__V1__ListVacanciesRequest *request = ctx->request->list_vacancies;
  if ((request->company_id[0] && !lp_check_company_id(ctx, request->company_id, "list_vacancies.company_id")) ||
      (request->location_id[0] && !lp_check_id(ctx, request->location_id, "list_vacancies.location_id")) ||
      (request->training_code[0] &&
       !lp_check_training_code(ctx, request->training_code, "list_vacancies.training_code")))
    return -1;
  if (request->state > LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "list_vacancies.state", "list_vacancies.state is not a VacancyState");
  if (lp_is_company(ctx) && request->company_id[0] && strcmp(request->company_id, ctx->who.scope_id) != 0)
    return lp_fail(ctx, CODE(PERMISSION_DENIED), "list_vacancies.company_id",
                   "a company token may list only its own vacancies");
  Leerplek__V1__ListVacanciesResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_vacancies_response__descriptor);
  if (lp_list_page(ctx, LP_KIND_VACANCY, &request->base, request->page_size, request->page_token, "list_vacancies",
                   vacancy_matches, request, (void ***)&reply->vacancies, &reply->n_vacancies, &reply->next_page_token,
                   &reply->total_size) != 0)
    return -1;
  return 0;
}
