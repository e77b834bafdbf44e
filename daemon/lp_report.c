/* lp_report: the coordinators' Report (GetReport) and the registration point's figures
 * (GetRegistrationPoint), computed from the working set alone: nothing is written or sent, so
 * the report handler, the dashboard and the daily trend snapshot all call the same code. The
 * rows count pupils (by their placement's state) and open vacancies per training, per district
 * and per both; the unplaced reasons are the ones the last applied rematch stored. */
#include "lp_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_records.h"
#include "lp_rematch.h"
#include "lp_support.h"

#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define STATE(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name
#define REASONS 7
#define SCHOOL_TYPES (LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA + 1)

static bool is_waiting(int state) { return state == PSTATE(WAITING) || state == PSTATE(DECLINED); }

const char *lp_pupil_district(const Leerplek__V1__Pupil *pupil) {
  return pupil->home_district && pupil->home_district[0] ? pupil->home_district
         : pupil->home_postcode                          ? pupil->home_postcode
                                                         : "";
}

static const char *location_district(const Leerplek__V1__Location *location) {
  if (!location) return "";
  return location->district && location->district[0] ? location->district
         : location->postcode                        ? location->postcode
                                                     : "";
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

static Leerplek__V1__ReasonCount **reason_counts(lp_pool *pool, const uint32_t *by_reason, size_t *count) {
  Leerplek__V1__ReasonCount **list = lp_pool_alloc(pool, REASONS * sizeof *list);
  *count = 0;
  for (int reason = 1; reason < REASONS; reason++) {
    if (!by_reason[reason]) continue;
    Leerplek__V1__ReasonCount *item = lp_pool_alloc(pool, sizeof *item);
    leerplek__v1__reason_count__init(item);
    item->reason = (Leerplek__V1__UnplacedReason)reason;
    item->pupils = by_reason[reason];
    list[(*count)++] = item;
  }
  return list;
}

static Leerplek__V1__ReportRow **report_rows(lp_pool *pool, rows *rows, bool trainings, size_t *count) {
  if (rows->count > 1) qsort(rows->items, rows->count, sizeof *rows->items, by_shortage); /* items is NULL when empty */
  Leerplek__V1__ReportRow **list = lp_pool_alloc(pool, (rows->count + 1) * sizeof *list);
  *count = 0;
  for (size_t i = 0; i < rows->count; i++) {
    const row *r = &rows->items[i];
    Leerplek__V1__ReportRow *item = lp_pool_alloc(pool, sizeof *item);
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
    item->unplaced_by_reason = reason_counts(pool, r->by_reason, &item->n_unplaced_by_reason);
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

static Leerplek__V1__Report *base_report(lp_pool *pool, const lp_daemon *daemon, uint32_t max_shortages,
                                         long long now_unix_s) {
  const lp_state *state = &daemon->state;
  Leerplek__V1__Report *report = lp_pool_alloc(pool, sizeof *report);
  Leerplek__V1__Headline *headline = lp_pool_alloc(pool, sizeof *headline);
  leerplek__v1__report__init(report);
  leerplek__v1__headline__init(headline);
  time_t now = (time_t)now_unix_s;
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
    if (!previous_school || previous_school_length != school_length ||
        memcmp(previous_school, pupil->school_id, school_length) != 0)
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
    count_pupil(row_for(&by_district, NULL, lp_pupil_district(pupil)), pupil, placement);
    count_pupil(row_for(&by_both, pupil->training_code, lp_pupil_district(pupil)), pupil, placement);
    switch (placement->state) {
    case PSTATE(WAITING):
    case PSTATE(DECLINED):
      headline->pupils_waiting++;
      if (placement->unplaced && placement->unplaced->reason > 0 && placement->unplaced->reason < REASONS)
        total_by_reason[placement->unplaced->reason]++;
      break;
    case PSTATE(PROPOSED): headline->pupils_proposed++; break;
    case PSTATE(ACCEPTED): headline->pupils_accepted++; break;
    case PSTATE(ENDED): headline->agreements_all++; break;
    case PSTATE(AGREEMENT):
      headline->agreements++;
      headline->agreements_all++;
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
    if (((const Leerplek__V1__Company *)companies->entries[i].value)->n_recognised_training_codes > 0)
      headline->recognised_companies++;
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
  report->shortages = lp_pool_alloc(pool, (shortage_count + 1) * sizeof *report->shortages);
  for (size_t i = 0; i < shortage_count; i++) {
    const row *r = &shortages.items[i];
    Leerplek__V1__Shortage *item = lp_pool_alloc(pool, sizeof *item);
    leerplek__v1__shortage__init(item);
    item->training_code = (char *)r->training;
    item->district = (char *)(r->district ? r->district : "");
    item->pupils_waiting = r->waiting;
    item->free_seats = r->free_seats;
    item->shortage = shortage_of(r);
    item->needs_preparatory = r->needs_preparatory;
    report->shortages[report->n_shortages++] = item;
  }

  report->by_training = report_rows(pool, &by_training, true, &report->n_by_training);
  report->by_district = report_rows(pool, &by_district, false, &report->n_by_district);
  report->unplaced_by_reason = reason_counts(pool, total_by_reason, &report->n_unplaced_by_reason);
  free(by_training.items);
  free(by_district.items);
  free(by_both.items);
  free(shortages.items);
  lp_rematch *rematch = lp_rematch_of(daemon);
  const Leerplek__V1__RematchResult *last = rematch ? lp_rematch_last(rematch) : NULL;
  report->generated_unix_s = now_unix_s;
  report->epoch = last ? last->epoch : 0;
  report->headline = headline;
  report->last_rematch = (Leerplek__V1__RematchResult *)last;
  return report;
}

/* ---- the registration point -------------------------------------------------------------- */

/* A group's figures being summed: its requests' days to start, for the percentiles. */
typedef struct group {
  Leerplek__V1__RegistrationFigures *figures;
  uint32_t *days;
} group;

static int by_days(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Median (lower middle) and 90th percentile by nearest rank of a group's started requests. */
static void finish(group *g) {
  uint32_t n = g->figures->started;
  if (n == 0) return;
  qsort(g->days, n, sizeof *g->days, by_days);
  g->figures->median_days_to_start = g->days[(n - 1) / 2];
  uint32_t rank = (9 * n + 9) / 10; /* ceil(0.9 n), 1-based */
  g->figures->p90_days_to_start = g->days[rank - 1];
}

/* The group of key, added when new (a scan: a city has tens of schools and partners). */
static group *group_of(lp_pool *pool, group *groups, size_t *count, const char *key, size_t capacity) {
  for (size_t g = 0; g < *count; g++)
    if (strcmp(groups[g].figures->key, key) == 0) return &groups[g];
  group *g = &groups[(*count)++];
  g->figures = lp_pool_alloc(pool, sizeof *g->figures);
  g->days = lp_pool_alloc(pool, (capacity + 1) * sizeof *g->days);
  leerplek__v1__registration_figures__init(g->figures);
  g->figures->key = (char *)key;
  return g;
}

static void count_in(group *g, const Leerplek__V1__RegistrationRequest *request) {
  g->figures->requests++;
  if (request->over_deadline) g->figures->over_deadline++;
  if (request->started) g->days[g->figures->started++] = request->days_to_start;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const group *)a)->figures->key, ((const group *)b)->figures->key);
}

/* The groups' figures sorted by key, as a scratch array for the reply. */
static Leerplek__V1__RegistrationFigures **figures_list(lp_pool *pool, group *groups, size_t count) {
  qsort(groups, count, sizeof *groups, by_key);
  Leerplek__V1__RegistrationFigures **list = lp_pool_alloc(pool, (count + 1) * sizeof *list);
  for (size_t g = 0; g < count; g++) {
    finish(&groups[g]);
    list[g] = groups[g].figures;
  }
  return list;
}

void lp_report_registration(lp_pool *pool, const lp_state *state, uint32_t deadline, long long now,
                            Leerplek__V1__GetRegistrationPointResponse *reply) {
  const lp_map *referrals = &state->maps[LP_KIND_REFERRAL];
  size_t n = referrals->count;
  Leerplek__V1__RegistrationRequest *rows = lp_pool_alloc(pool, (n + 1) * sizeof *rows);
  Leerplek__V1__RegistrationRequest **list = lp_pool_alloc(pool, (n + 1) * sizeof *list);
  group *partners = lp_pool_alloc(pool, (n + 1) * sizeof *partners),
        *schools = lp_pool_alloc(pool, (n + 1) * sizeof *schools);
  group total = {lp_pool_alloc(pool, sizeof *total.figures), lp_pool_alloc(pool, (n + 1) * sizeof *total.days)};
  leerplek__v1__registration_figures__init(total.figures);
  size_t partner_count = 0, school_count = 0;
  for (size_t i = 0; i < n; i++) {
    const Leerplek__V1__Referral *referral = referrals->entries[i].value;
    Leerplek__V1__RegistrationRequest *row = &rows[i];
    leerplek__v1__registration_request__init(row);
    row->school_id = referral->school_id;
    row->pupil_ref = referral->pupil_ref;
    row->component = referral->component;
    row->state = referral->state;
    row->holder = referral->organisation_id;
    long long age = now - referral->requested_unix_s;
    row->days_since_request = age > 0 ? (uint32_t)(age / 86400) : 0;
    row->started = referral->started_unix_s != 0;
    if (row->started) {
      long long wait = referral->started_unix_s - referral->requested_unix_s;
      row->days_to_start = wait > 0 ? (uint32_t)(wait / 86400) : 0;
    }
    row->over_deadline = !row->started && lp_referral_active(referral->state) && row->days_since_request > deadline;
    list[i] = row;
    if (referral->state == STATE(WITHDRAWN)) continue;
    group *school = group_of(pool, schools, &school_count, referral->school_id, n);
    group *partner =
        referral->organisation_id[0] ? group_of(pool, partners, &partner_count, referral->organisation_id, n) : NULL;
    count_in(school, row);
    if (partner) count_in(partner, row);
    count_in(&total, row);
  }
  finish(&total);
  reply->requests = list;
  reply->n_requests = n;
  reply->by_partner = figures_list(pool, partners, partner_count);
  reply->n_by_partner = partner_count;
  reply->by_school = figures_list(pool, schools, school_count);
  reply->n_by_school = school_count;
  reply->total = total.figures;
  reply->deadline_days = deadline;
}

/* ---- the breakdowns per school type and provider type ------------------------------------ */

/* counts[type] as TypeCount rows (types with a count only), in scratch memory. */
static void add_type_counts(lp_pool *pool, const uint32_t *counts, Leerplek__V1__TypeCount ***out, size_t *n_out) {
  size_t n = 0;
  for (int t = 0; t < SCHOOL_TYPES; t++) n += counts[t] > 0;
  *n_out = 0;
  *out = n ? lp_pool_alloc(pool, n * sizeof **out) : NULL;
  /* Named types first, in the dashboard's order, then the pupils or trainings without one. */
  for (int pass = 0; pass < 2; pass++)
    for (int t = 0; t < SCHOOL_TYPES; t++) {
      if (!counts[t] || (pass == 0) == (t == 0)) continue;
      Leerplek__V1__TypeCount *row = lp_pool_alloc(pool, sizeof *row);
      leerplek__v1__type_count__init(row);
      row->school_type = (Leerplek__V1__SchoolType)t;
      row->count = counts[t];
      (*out)[(*n_out)++] = row;
    }
}

/* The registration point's figures for the report: what GetRegistrationPoint answers with its
 * default deadline (lp_report_registration), so the two never count otherwise. */
static void add_registration_point(lp_pool *pool, const lp_state *state, long long now, Leerplek__V1__Report *report) {
  Leerplek__V1__GetRegistrationPointResponse point = LEERPLEK__V1__GET_REGISTRATION_POINT_RESPONSE__INIT;
  lp_report_registration(pool, state, LP_REGISTRATION_DEFAULT_DEADLINE_DAYS, now, &point);
  Leerplek__V1__RegistrationSummary *summary = lp_pool_alloc(pool, sizeof *summary);
  leerplek__v1__registration_summary__init(summary);
  summary->total = point.total;
  summary->by_partner = point.by_partner;
  summary->n_by_partner = point.n_by_partner;
  summary->by_school = point.by_school;
  summary->n_by_school = point.n_by_school;
  summary->deadline_days = point.deadline_days;
  report->registration_point = summary;
}

Leerplek__V1__Report *lp_report_build(lp_pool *pool, const lp_daemon *daemon, uint32_t max_shortages, long long now) {
  Leerplek__V1__Report *report = base_report(pool, daemon, max_shortages, now);
  const lp_state *state = &daemon->state;
  uint32_t pupils[SCHOOL_TYPES] = {0}, schools[SCHOOL_TYPES] = {0}, trainings[SCHOOL_TYPES] = {0};
  const lp_map *map = &state->maps[LP_KIND_PUPIL];
  /* Keys are "<school>/<ref>", sorted: a school's pupils are adjacent, so a school is counted
   * once per type its pupils have. */
  const char *school = NULL;
  unsigned school_types_seen = 0;
  for (size_t i = 0; i < map->count; i++) {
    const Leerplek__V1__Pupil *pupil = map->entries[i].value;
    int type = pupil->school_type >= 0 && pupil->school_type < SCHOOL_TYPES ? (int)pupil->school_type : 0;
    pupils[type]++;
    if (!school || strcmp(school, pupil->school_id) != 0) school_types_seen = 0;
    school = pupil->school_id;
    if (!(school_types_seen & 1u << type)) schools[type]++;
    school_types_seen |= 1u << type;
  }
  map = &state->maps[LP_KIND_TRAINING];
  for (size_t i = 0; i < map->count; i++) {
    const Leerplek__V1__Training *training = map->entries[i].value;
    if (training->n_provider_types == 0) trainings[0]++;
    for (size_t t = 0; t < training->n_provider_types; t++)
      if (training->provider_types[t] > 0 && training->provider_types[t] < SCHOOL_TYPES)
        trainings[training->provider_types[t]]++;
  }
  add_type_counts(pool, pupils, &report->pupils_by_school_type, &report->n_pupils_by_school_type);
  add_type_counts(pool, schools, &report->schools_by_school_type, &report->n_schools_by_school_type);
  add_type_counts(pool, trainings, &report->trainings_by_provider_type, &report->n_trainings_by_provider_type);
  add_registration_point(pool, state, now, report);
  return report;
}
