/* handlers_rematch: RunRematch (answered when the worker and the epoch's write are done), the
 * coordinators' report and the shared waiting list, both computed from the working set and the
 * unplaced reasons the last applied rematch stored on each placement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_handlers.h"
#include "lp_rematch.h"
#include "lp_rules.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define REASONS 7

/* ---- RunRematch ------------------------------------------------------------------------ */

static void on_rematch_done(void *arg, int code, const char *message, const Leerplek__V1__RematchResult *result) {
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  Leerplek__V1__RunRematchResponse body = LEERPLEK__V1__RUN_REMATCH_RESPONSE__INIT;
  body.result = (Leerplek__V1__RematchResult *)result;
  response.body_case = LEERPLEK__V1__RESPONSE__BODY_RUN_REMATCH;
  response.run_rematch = &body;
  lp_reply_send(arg, code, message, &response);
}

int lp_handle_run_rematch(lp_ctx *ctx) {
  const Leerplek__V1__RunRematchRequest *request = ctx->request->run_rematch;
  if (request->max_changes > 1000)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "run_rematch.max_changes", "max_changes must be 0..1000 (0 = 100), not %u",
                   request->max_changes);
  lp_rematch *rematch = lp_rematch_of(ctx->daemon);
  if (!rematch) return lp_fail(ctx, CODE(UNAVAILABLE), "", "the rematch is not available on this daemon");
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  char message[512];
  int code = lp_rematch_start(rematch, request->dry_run, request->max_changes, ctx->actor, on_rematch_done, ctx->reply,
                              message, sizeof message);
  if (code != 0) return lp_fail(ctx, code, "", "%s", message);
  ctx->pending = true; /* answered by on_rematch_done */
  return 0;
}

/* ---- shared helpers -------------------------------------------------------------------- */

static bool is_waiting(int state) { return state == PSTATE(WAITING) || state == PSTATE(DECLINED); }

static const char *pupil_district(const Leerplek__V1__Pupil *pupil) {
  return pupil->home_district && pupil->home_district[0] ? pupil->home_district : pupil->home_postcode ? pupil->home_postcode : "";
}

static const char *location_district(const Leerplek__V1__Location *location) {
  if (!location) return "";
  return location->district && location->district[0] ? location->district : location->postcode ? location->postcode : "";
}


/* ---- GetReport ------------------------------------------------------------------------- */

/* One row being counted, keyed by a training code, a district, or "training\tdistrict". */
typedef struct row {
  char key[2 * LP_MAX_KEY + 2];
  const char *training, *district, *name;
  uint32_t waiting, proposed, accepted, agreement, open_vacancies, open_seats, free_seats, needs_preparatory;
  uint32_t with_hint, hint_seats; /* waiting pupils with a checked hint, the seats those hints add */
  uint32_t by_reason[REASONS];
  bool has_pupils;
} row;

typedef struct rows {
  row *items;
  size_t count, capacity;
  size_t last; /* most lookups repeat the previous key */
} rows;

static row *row_for(rows *rows, const char *training, const char *district) {
  char key[sizeof rows->items[0].key];
  snprintf(key, sizeof key, "%s\t%s", training ? training : "", district ? district : "");
  if (rows->last < rows->count && strcmp(rows->items[rows->last].key, key) == 0) return &rows->items[rows->last];
  for (size_t i = 0; i < rows->count; i++)
    if (strcmp(rows->items[i].key, key) == 0) return &rows->items[rows->last = i];
  if (rows->count == rows->capacity) {
    size_t capacity = rows->capacity ? rows->capacity * 2 : 64;
    rows->items = lp_realloc(rows->items, capacity * sizeof *rows->items);
    rows->capacity = capacity;
  }
  row *r = &rows->items[rows->count];
  memset(r, 0, sizeof *r);
  memcpy(r->key, key, sizeof key);
  r->training = training;
  r->district = district;
  rows->last = rows->count++;
  return r;
}

static uint32_t shortage_of(const row *r) { return r->waiting > r->free_seats ? r->waiting - r->free_seats : 0; }

static int by_shortage(const void *a, const void *b) {
  const row *x = a, *y = b;
  uint32_t sx = shortage_of(x), sy = shortage_of(y);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->key, y->key);
}

static Leerplek__V1__ReasonCount **reason_counts(lp_ctx *ctx, const uint32_t *by_reason, size_t *count) {
  Leerplek__V1__ReasonCount **list = lp_scratch(ctx, REASONS * sizeof *list);
  *count = 0;
  for (int reason = 1; list && reason < REASONS; reason++) {
    if (!by_reason[reason]) continue;
    Leerplek__V1__ReasonCount *item = lp_scratch(ctx, sizeof *item);
    if (!item) return NULL;
    leerplek__v1__reason_count__init(item);
    item->reason = (Leerplek__V1__UnplacedReason)reason;
    item->pupils = by_reason[reason];
    list[(*count)++] = item;
  }
  return list;
}

static Leerplek__V1__ReportRow **report_rows(lp_ctx *ctx, rows *rows, bool trainings, size_t *count) {
  if (rows->count > 1) qsort(rows->items, rows->count, sizeof *rows->items, by_shortage); /* items is NULL when empty */
  Leerplek__V1__ReportRow **list = lp_scratch(ctx, (rows->count + 1) * sizeof *list);
  *count = 0;
  for (size_t i = 0; list && i < rows->count; i++) {
    const row *r = &rows->items[i];
    Leerplek__V1__ReportRow *item = lp_scratch(ctx, sizeof *item);
    if (!item) return NULL;
    leerplek__v1__report_row__init(item);
    item->key = (char *)(trainings ? r->training : r->district);
    item->name = (char *)(trainings && r->name ? r->name : "");
    item->pupils_waiting = r->waiting;
    item->pupils_proposed = r->proposed;
    item->pupils_placed = r->accepted + r->agreement;
    item->pupils_accepted = r->accepted;
    item->pupils_agreement = r->agreement;
    item->open_vacancies = r->open_vacancies;
    item->open_seats = r->open_seats;
    item->free_seats = r->free_seats;
    item->shortage = shortage_of(r);
    item->unplaced_by_reason = reason_counts(ctx, r->by_reason, &item->n_unplaced_by_reason);
    item->pupils_with_hint = r->with_hint;
    item->hint_seats = r->hint_seats;
    list[(*count)++] = item;
  }
  return list;
}

/* Counts one pupil into a row. A waiting NOT_READY pupil needs a preparatory place whatever
 * rule left it unplaced (none near enough, none on its days...). */
static void count_pupil(row *r, const Leerplek__V1__Pupil *pupil, const Leerplek__V1__Placement *placement) {
  if (!r) return;
  if (is_waiting(placement->state)) {
    r->waiting++;
    if (pupil->readiness == LEERPLEK__V1__READINESS__READINESS_NOT_READY) r->needs_preparatory++;
    if (placement->unplaced && placement->unplaced->reason > 0 && placement->unplaced->reason < REASONS)
      r->by_reason[placement->unplaced->reason]++;
    if (placement->unplaced && placement->unplaced->hint_kind) {
      r->with_hint++;
      r->hint_seats += placement->unplaced->hint_seats;
    }
  } else if (placement->state == PSTATE(PROPOSED)) {
    r->proposed++;
  } else if (placement->state == PSTATE(ACCEPTED)) {
    r->accepted++;
  } else if (placement->state == PSTATE(AGREEMENT)) {
    r->agreement++;
  }
}

static void count_vacancy(row *r, const Leerplek__V1__Vacancy *vacancy) {
  if (!r) return;
  long free_seats = (long)vacancy->seats - vacancy->seats_filled - vacancy->seats_proposed;
  r->open_vacancies++;
  r->open_seats += vacancy->seats;
  r->free_seats += free_seats > 0 ? (uint32_t)free_seats : 0;
}

static bool started_by(const Leerplek__V1__Date *date, const struct tm *today) {
  if (!date) return false;
  long d = date->year * 10000L + date->month * 100L + date->day;
  long t = (today->tm_year + 1900) * 10000L + (today->tm_mon + 1) * 100L + today->tm_mday;
  return d <= t;
}

int lp_handle_get_report(lp_ctx *ctx) {
  const Leerplek__V1__GetReportRequest *request = ctx->request->get_report;
  if (request->max_shortages > 200)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_report.max_shortages", "max_shortages must be 0..200 (0 = 20), not %u",
                   request->max_shortages);
  uint32_t max_shortages = request->max_shortages ? request->max_shortages : 20;
  const lp_state *state = &ctx->daemon->state;
  Leerplek__V1__Report *report = lp_scratch(ctx, sizeof *report);
  Leerplek__V1__Headline *headline = lp_scratch(ctx, sizeof *headline);
  Leerplek__V1__GetReportResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_report_response__descriptor);
  leerplek__v1__report__init(report);
  leerplek__v1__headline__init(headline);
  time_t now = (time_t)ctx->now;
  struct tm today;
  localtime_r(&now, &today);

  rows by_training = {0}, by_district = {0}, by_both = {0};
  uint32_t total_by_reason[REASONS] = {0};
  const lp_map *pupils = &state->maps[LP_KIND_PUPIL];
  headline->pupils_registered = (uint32_t)pupils->count;
  headline->trainings = (uint32_t)state->maps[LP_KIND_TRAINING].count;
  const char *previous_school = NULL;
  size_t previous_school_length = 0;
  for (size_t i = 0; i < pupils->count; i++) {
    const Leerplek__V1__Pupil *pupil = pupils->entries[i].value;
    /* Keys are "<school>/<ref>", sorted: a school's pupils are adjacent. */
    size_t school_length = strlen(pupil->school_id);
    if (!previous_school || previous_school_length != school_length || memcmp(previous_school, pupil->school_id, school_length) != 0)
      headline->schools++;
    previous_school = pupil->school_id;
    previous_school_length = school_length;
    row *t = row_for(&by_training, pupil->training_code, NULL);
    if (t && t->waiting + t->proposed + t->accepted + t->agreement == 0 && !t->name) {
      const Leerplek__V1__Training *training = lp_state_get(state, LP_KIND_TRAINING, pupil->training_code);
      t->name = training ? training->name : "";
    }
    if (t) t->has_pupils = true;
    const Leerplek__V1__Placement *placement = lp_state_get(state, LP_KIND_PLACEMENT, pupils->entries[i].key);
    if (!placement) continue;
    count_pupil(t, pupil, placement);
    count_pupil(row_for(&by_district, NULL, pupil_district(pupil)), pupil, placement);
    count_pupil(row_for(&by_both, pupil->training_code, pupil_district(pupil)), pupil, placement);
    switch (placement->state) {
      case PSTATE(WAITING):
      case PSTATE(DECLINED):
        headline->pupils_waiting++;
        if (placement->unplaced && placement->unplaced->reason > 0 && placement->unplaced->reason < REASONS)
          total_by_reason[placement->unplaced->reason]++;
        break;
      case PSTATE(PROPOSED): headline->pupils_proposed++; break;
      case PSTATE(ACCEPTED): headline->pupils_accepted++; break;
      case PSTATE(AGREEMENT):
        headline->agreements++;
        headline->pupils_in_dual_learning++;
        if (placement->agreement && started_by(placement->agreement->starts_on, &today)) headline->agreements_running++;
        break;
      default: break;
    }
  }
  for (size_t i = 0; i < by_training.count; i++)
    if (by_training.items[i].has_pupils) headline->trainings_with_pupils++;
  const lp_map *companies = &state->maps[LP_KIND_COMPANY];
  for (size_t i = 0; i < companies->count; i++)
    if (((const Leerplek__V1__Company *)companies->entries[i].value)->n_recognised_training_codes > 0) headline->recognised_companies++;
  const lp_map *locations = &state->maps[LP_KIND_LOCATION];
  for (size_t i = 0; i < locations->count; i++) {
    const Leerplek__V1__Location *location = locations->entries[i].value;
    const Leerplek__V1__Company *company = lp_state_get(state, LP_KIND_COMPANY, location->company_id);
    if (company && company->n_recognised_training_codes > 0) headline->recognised_locations++;
  }
  const lp_map *vacancies = &state->maps[LP_KIND_VACANCY];
  for (size_t i = 0; i < vacancies->count; i++) {
    const Leerplek__V1__Vacancy *vacancy = vacancies->entries[i].value;
    if (vacancy->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN) continue;
    const Leerplek__V1__Location *location = lp_state_get(state, LP_KIND_LOCATION, vacancy->location_id);
    long free_seats = (long)vacancy->seats - vacancy->seats_filled - vacancy->seats_proposed;
    headline->open_vacancies++;
    headline->open_seats += vacancy->seats;
    headline->free_seats += free_seats > 0 ? (uint32_t)free_seats : 0;
    row *t = row_for(&by_training, vacancy->training_code, NULL);
    if (t && !t->name) {
      const Leerplek__V1__Training *training = lp_state_get(state, LP_KIND_TRAINING, vacancy->training_code);
      t->name = training ? training->name : "";
    }
    count_vacancy(t, vacancy);
    count_vacancy(row_for(&by_district, NULL, location_district(location)), vacancy);
    count_vacancy(row_for(&by_both, vacancy->training_code, location_district(location)), vacancy);
  }

  /* Shortages: per training (district empty) and per training in a district, largest first. */
  rows shortages = {0};
  for (size_t i = 0; i < by_training.count; i++)
    if (shortage_of(&by_training.items[i]) > 0) {
      row *r = row_for(&shortages, by_training.items[i].training, "");
      if (r) *r = by_training.items[i], r->district = "", snprintf(r->key, sizeof r->key, "%s\t", r->training);
    }
  for (size_t i = 0; i < by_both.count; i++)
    if (shortage_of(&by_both.items[i]) > 0) {
      row *r = row_for(&shortages, by_both.items[i].training, by_both.items[i].district);
      if (r) *r = by_both.items[i];
    }
  if (shortages.count > 1) qsort(shortages.items, shortages.count, sizeof *shortages.items, by_shortage);
  size_t shortage_count = shortages.count < max_shortages ? shortages.count : max_shortages;
  report->shortages = lp_scratch(ctx, (shortage_count + 1) * sizeof *report->shortages);
  for (size_t i = 0; report->shortages && i < shortage_count; i++) {
    const row *r = &shortages.items[i];
    Leerplek__V1__Shortage *item = lp_scratch(ctx, sizeof *item);
    if (!item) break;
    leerplek__v1__shortage__init(item);
    item->training_code = (char *)r->training;
    item->district = (char *)(r->district ? r->district : "");
    item->pupils_waiting = r->waiting;
    item->free_seats = r->free_seats;
    item->shortage = shortage_of(r);
    item->needs_preparatory = r->needs_preparatory;
    report->shortages[report->n_shortages++] = item;
  }

  report->by_training = report_rows(ctx, &by_training, true, &report->n_by_training);
  report->by_district = report_rows(ctx, &by_district, false, &report->n_by_district);
  report->unplaced_by_reason = reason_counts(ctx, total_by_reason, &report->n_unplaced_by_reason);
  free(by_training.items);
  free(by_district.items);
  free(by_both.items);
  free(shortages.items);
  lp_rematch *rematch = lp_rematch_of(ctx->daemon);
  const Leerplek__V1__RematchResult *last = rematch ? lp_rematch_last(rematch) : NULL;
  report->generated_unix_s = ctx->now;
  report->epoch = last ? last->epoch : 0;
  report->headline = headline;
  report->last_rematch = (Leerplek__V1__RematchResult *)last;
  reply->report = report;
  return 0;
}

/* ---- GetWaitingList -------------------------------------------------------------------- */

typedef struct waiting {
  const Leerplek__V1__Pupil *pupil;       /* NULL for a page token's position */
  const Leerplek__V1__Placement *placement;
  int64_t score, since;
  const char *school_id, *ref;
} waiting;

static int by_priority(const void *a, const void *b) {
  const waiting *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->since != y->since) return x->since < y->since ? -1 : 1;
  int c = strcmp(x->school_id, y->school_id);
  return c ? c : strcmp(x->ref, y->ref);
}

/* A position in the waiting list's order as a page token key: the score and the waiting time
 * in WAITING_DIGITS base-36 digits each, then "<school>/<ref>" (at most 65 bytes: 79 in all,
 * within LP_MAX_KEY). The next page resumes after that position, wherever the pupil stands
 * now, so pupils added or placed between pages are neither repeated nor skipped. */
#define WAITING_DIGITS 7
#define WAITING_NUMBER_MAX 78364164095LL /* 36^7 - 1; scores stay below ELIGIBILITY_UNPLACED_MAX */

static void write_base36(char *out, int64_t value) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (value < 0) value = 0;
  if (value > WAITING_NUMBER_MAX) value = WAITING_NUMBER_MAX;
  for (int d = WAITING_DIGITS - 1; d >= 0; d--, value /= 36) out[d] = digits[value % 36];
}

static bool read_base36(const char *in, int64_t *value) {
  *value = 0;
  for (int d = 0; d < WAITING_DIGITS; d++) {
    char c = in[d];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    *value = *value * 36 + digit;
  }
  return true;
}

static void position_key(const waiting *w, char key[LP_MAX_KEY]) {
  write_base36(key, w->score);
  write_base36(key + WAITING_DIGITS, w->since);
  snprintf(key + 2 * WAITING_DIGITS, LP_MAX_KEY - 2 * WAITING_DIGITS, "%s/%s", w->school_id, w->ref);
}

/* The position a page token names, in *position (its strings point into key). */
static bool read_position(char *key, waiting *position) {
  memset(position, 0, sizeof *position);
  if (strlen(key) < 2 * WAITING_DIGITS + 3 || !read_base36(key, &position->score) ||
      !read_base36(key + WAITING_DIGITS, &position->since))
    return false;
  char *school = key + 2 * WAITING_DIGITS, *slash = strchr(school, '/');
  if (!slash || slash == school || slash[1] == '\0') return false;
  *slash = '\0';
  position->school_id = school;
  position->ref = slash + 1;
  return true;
}

int lp_handle_get_waiting_list(lp_ctx *ctx) {
  const Leerplek__V1__GetWaitingListRequest *request = ctx->request->get_waiting_list;
  const char *school = request->school_id;
  if (lp_is_school(ctx)) {
    if (school[0] && strcmp(school, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_waiting_list.school_id", "a school sees only its own waiting list entries");
    school = ctx->who.scope_id;
  }
  char after_key[LP_MAX_KEY];
  waiting after;
  if (!lp_page_token_read(ctx, "get_waiting_list", &request->base, request->page_token, after_key)) return -1;
  bool resuming = after_key[0] != '\0';
  if (resuming && !read_position(after_key, &after))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_waiting_list.page_token", "get_waiting_list.page_token is not a page token of this list");
  const lp_state *state = &ctx->daemon->state;
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT];
  waiting *list = lp_malloc((placements->count + 1) * sizeof *list);
  size_t count = 0;
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (!is_waiting(placement->state)) continue;
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, placements->entries[i].key);
    if (!pupil) continue;
    waiting *w = &list[count++];
    w->pupil = pupil;
    w->placement = placement;
    w->school_id = pupil->school_id;
    w->ref = pupil->ref;
    w->since = lp_rules_waiting_since(pupil, placement);
    w->score = lp_rules_priority_score(&ctx->daemon->config, pupil, placement, ctx->now);
  }
  if (count > 1) qsort(list, count, sizeof *list, by_priority);
  uint32_t limit = lp_page_size(ctx, request->page_size);
  Leerplek__V1__GetWaitingListResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_waiting_list_response__descriptor);
  Leerplek__V1__WaitingListEntry **entries = lp_scratch(ctx, ((size_t)limit + 1) * sizeof *entries);
  size_t returned = 0;
  const waiting *last = NULL;
  bool more = false;
  for (size_t i = 0; i < count; i++) {
    const waiting *w = &list[i];
    if (school[0] && strcmp(w->pupil->school_id, school) != 0) continue;
    if (request->training_code[0] && strcmp(w->pupil->training_code, request->training_code) != 0) continue;
    if (request->home_district[0] && strcmp(pupil_district(w->pupil), request->home_district) != 0) continue;
    reply->total_size++;
    if (resuming && by_priority(w, &after) <= 0) continue;
    if (returned == limit) {
      more = true;
      continue;
    }
    Leerplek__V1__WaitingListEntry *entry = lp_scratch(ctx, sizeof *entry);
    leerplek__v1__waiting_list_entry__init(entry);
    entry->position = (uint32_t)(i + 1);
    entry->school_id = w->pupil->school_id;
    entry->pupil_ref = w->pupil->ref;
    entry->training_code = w->pupil->training_code;
    entry->readiness = w->pupil->readiness;
    entry->home_district = (char *)pupil_district(w->pupil);
    entry->state = w->placement->state;
    entry->waiting_since_unix_s = w->since;
    entry->days_waiting = (uint32_t)eligibility_waiting_days(w->since, ctx->now);
    entry->newcomer_okan = w->pupil->newcomer_okan;
    entry->special_needs_buso = w->pupil->special_needs_buso;
    entry->priority_score = w->score;
    entry->unplaced = w->placement->unplaced;
    entries[returned++] = entry;
    last = w;
  }
  reply->entries = entries;
  reply->n_entries = returned;
  char last_key[LP_MAX_KEY];
  if (more) position_key(last, last_key);
  reply->next_page_token = more ? lp_page_token_make(ctx, "get_waiting_list", &request->base, last_key)
                                : lp_scratch_strdup(ctx, "");
  free(list);
  return 0;
}
