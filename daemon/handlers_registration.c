/* handlers_registration: the central registration point for coordinators. Every referral of any
 * school to the partners, with its state, holder and ages, and per partner and per school the
 * count and the median and 90th percentile of the days from request to start; requests not
 * started within the deadline are flagged. Computed from memory at the time of the call. */
#include <stdlib.h>
#include <string.h>

#include "lp_handlers.h"
#include "lp_support.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_##name
#define DEFAULT_DEADLINE_DAYS 30

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
static group *group_of(lp_ctx *ctx, group *groups, size_t *count, const char *key, size_t capacity) {
  for (size_t g = 0; g < *count; g++)
    if (strcmp(groups[g].figures->key, key) == 0) return &groups[g];
  group *g = &groups[(*count)++];
  g->figures = lp_scratch(ctx, sizeof *g->figures);
  g->days = lp_scratch(ctx, (capacity + 1) * sizeof *g->days);
  if (!g->figures || !g->days) return NULL;
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
static Leerplek__V1__RegistrationFigures **figures_list(lp_ctx *ctx, group *groups, size_t count) {
  qsort(groups, count, sizeof *groups, by_key);
  Leerplek__V1__RegistrationFigures **list = lp_scratch(ctx, (count + 1) * sizeof *list);
  for (size_t g = 0; g < count; g++) {
    finish(&groups[g]);
    list[g] = groups[g].figures;
  }
  return list;
}

int lp_handle_get_registration_point(lp_ctx *ctx) {
  const Leerplek__V1__GetRegistrationPointRequest *request = ctx->request->get_registration_point;
  if (request->deadline_days > 3650)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_registration_point.deadline_days",
                   "deadline_days must be 0..3650 (0 = %d), not %u", DEFAULT_DEADLINE_DAYS, request->deadline_days);
  uint32_t deadline = request->deadline_days ? request->deadline_days : DEFAULT_DEADLINE_DAYS;
  const lp_map *referrals = &ctx->daemon->state.maps[LP_KIND_REFERRAL];
  size_t n = referrals->count;
  Leerplek__V1__RegistrationRequest *rows = lp_scratch(ctx, (n + 1) * sizeof *rows);
  Leerplek__V1__RegistrationRequest **list = lp_scratch(ctx, (n + 1) * sizeof *list);
  group *partners = lp_scratch(ctx, (n + 1) * sizeof *partners), *schools = lp_scratch(ctx, (n + 1) * sizeof *schools);
  Leerplek__V1__GetRegistrationPointResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_registration_point_response__descriptor);
  group total = {lp_scratch(ctx, sizeof *total.figures), lp_scratch(ctx, (n + 1) * sizeof *total.days)};
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
    long long age = ctx->now - referral->requested_unix_s;
    row->days_since_request = age > 0 ? (uint32_t)(age / 86400) : 0;
    row->started = referral->started_unix_s != 0;
    if (row->started) {
      long long wait = referral->started_unix_s - referral->requested_unix_s;
      row->days_to_start = wait > 0 ? (uint32_t)(wait / 86400) : 0;
    }
    row->over_deadline = !row->started && lp_referral_active(referral->state) && row->days_since_request > deadline;
    list[i] = row;
    if (referral->state == STATE(WITHDRAWN)) continue;
    group *school = group_of(ctx, schools, &school_count, referral->school_id, n);
    group *partner = referral->organisation_id[0] ? group_of(ctx, partners, &partner_count, referral->organisation_id, n) : NULL;
    count_in(school, row);
    if (partner) count_in(partner, row);
    count_in(&total, row);
  }
  finish(&total);
  reply->requests = list;
  reply->n_requests = n;
  reply->by_partner = figures_list(ctx, partners, partner_count);
  reply->n_by_partner = partner_count;
  reply->by_school = figures_list(ctx, schools, school_count);
  reply->n_by_school = school_count;
  reply->total = total.figures;
  reply->deadline_days = deadline;
  return 0;
}
