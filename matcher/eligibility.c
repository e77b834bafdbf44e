/* eligibility.c: turns pupils and vacancies into a matching problem (eligible pairs, costs,
 * unplaced penalties, fixed pairs) and explains afterwards why each unplaced pupil stayed so.
 *
 * Candidate search. Vacancies are sorted by (training, latitude band, longitude, index): one
 * array serves as the training index (a training's vacancies are one contiguous run) and as a
 * spatial grid whose rows are latitude bands of ROW_HEIGHT_E6 and whose columns are exact
 * longitude ranges (within a band the run is sorted by longitude, so a binary search finds the
 * start of any longitude range). For a pupil, the circle of its maximum commute is enclosed in
 * a latitude/longitude box computed on the sphere (the longitude half-width widens with
 * 1/cos(latitude) and covers all longitudes near a pole); each band the box touches costs one
 * binary search and then only the vacancies inside the box are tested. The box is a superset
 * of the circle with a margin for rounding, and the exact rules are applied to each vacancy in
 * it, so the result equals a scan of every vacancy with eligibility_is_eligible.
 *
 * Pure: no I/O, no global mutable state; every call owns its memory, so separate calls may run
 * on separate threads at once. */
#include "eligibility.h"
#include "hints.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EARTH_RADIUS_M 6371008.8
#define PI_VALUE 3.14159265358979323846
#define DEGREES_E6_TO_RADIANS (PI_VALUE / 180.0 / 1e6)

/* 0.05 degree of latitude, about 5.6 km: a typical 10-25 km commute touches 4-10 bands, and a
 * band is small enough that the box holds few vacancies outside the circle. */
#define ROW_HEIGHT_E6 50000
#define LAT_LIMIT_E6 90000000
#define LON_LIMIT_E6 180000000
#define FULL_TURN_E6 360000000

/* ---------------------------------------------------------------------------------------------
 * Defaults and the distance formula. */

void eligibility_default_weights(eligibility_weights *weights) {
  weights->cost_per_100m = 1;
  weights->preference_rank_step = 20;
  weights->not_preferred_penalty = 200;
  weights->move_penalty = 100;
  weights->ready_on_preparatory = 1;
  weights->start_window_days = 30;
  weights->hint_pair_budget = 1000000;
}

int32_t eligibility_day_of(int32_t year, int32_t month, int32_t day) {
  /* Days from civil (H. Hinnant's algorithm): eras of 400 years, years starting in March. */
  int64_t y = (int64_t)year - (month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;
  int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  int64_t days = era * 146097 + day_of_era - 719468;
  return days <= 0 ? 0 : days > INT32_MAX ? INT32_MAX : (int32_t)days;
}

matcher_status eligibility_levels_of(const eligibility_weights *weights, eligibility_levels *levels,
                                     matcher_error *error) {
  const struct {
    const char *name;
    int64_t value, limit;
  } fields[] = {
      {"cost_per_100m", weights->cost_per_100m, ELIGIBILITY_COST_PER_100M_MAX},
      {"preference_rank_step", weights->preference_rank_step, ELIGIBILITY_RANK_STEP_MAX},
      {"not_preferred_penalty", weights->not_preferred_penalty, ELIGIBILITY_PENALTY_MAX},
      {"move_penalty", weights->move_penalty, ELIGIBILITY_PENALTY_MAX},
      {"start_window_days", weights->start_window_days, ELIGIBILITY_START_WINDOW_MAX},
      {"hint_pair_budget", weights->hint_pair_budget, INT64_MAX},
  };
  for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
    if (fields[k].value < 0 || fields[k].value > fields[k].limit) {
      if (error)
        snprintf(error->message, sizeof error->message, "weights: %s %lld outside 0..%lld", fields[k].name,
                 (long long)fields[k].value, (long long)fields[k].limit);
      return MATCHER_INVALID;
    }
  }
  /* With every weight at its limit: C = 100 * 2000 + 10000 + 10000 = 220,000, D = 220,001,
   * G = D * 3651, claim_max = D * 7301 (about 1.6e9), H and B about 1.6e9 each, and the
   * largest penalty about 4.8e9 < ELIGIBILITY_UNPLACED_MAX (about 8.6e9); no product below
   * can overflow int64. The check after them keeps that true if a limit is ever raised. */
  int64_t preference_max = weights->preference_rank_step * (ELIGIBILITY_PREFERENCE_RANKS - 1);
  if (weights->not_preferred_penalty > preference_max) preference_max = weights->not_preferred_penalty;
  levels->pair_cost_max =
      weights->cost_per_100m * (ELIGIBILITY_COST_DISTANCE_MAX_M / 100) + preference_max + weights->move_penalty;
  levels->per_waiting_day = levels->pair_cost_max + 1;
  levels->priority_group = levels->per_waiting_day * (ELIGIBILITY_WAITING_DAYS_MAX + 1);
  levels->claim_max = levels->priority_group + levels->per_waiting_day * ELIGIBILITY_WAITING_DAYS_MAX;
  levels->preparatory_misuse = levels->claim_max + levels->pair_cost_max + 1;
  levels->unplaced_base = levels->preparatory_misuse + levels->pair_cost_max + 1;
  levels->unplaced_max = levels->unplaced_base + levels->claim_max;
  if (levels->unplaced_max > ELIGIBILITY_UNPLACED_MAX || levels->unplaced_max > MATCHER_VALUE_MAX) {
    if (error)
      snprintf(error->message, sizeof error->message, "weights: the largest unplaced penalty %lld exceeds %lld",
               (long long)levels->unplaced_max, (long long)ELIGIBILITY_UNPLACED_MAX);
    return MATCHER_INVALID;
  }
  return MATCHER_OK;
}

int32_t eligibility_waiting_days(int64_t since_unix_s, int64_t now_unix_s) {
  if (since_unix_s <= 0 || now_unix_s <= since_unix_s) return 0;
  int64_t days = (now_unix_s - since_unix_s) / 86400;
  return days > ELIGIBILITY_WAITING_DAYS_MAX ? ELIGIBILITY_WAITING_DAYS_MAX : (int32_t)days;
}

eligibility_claim eligibility_claim_on(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
  eligibility_claim claim;
  claim.preparatory = vacancy && vacancy->preparatory && pupil->readiness == READINESS_NOT_READY;
  claim.priority_group = pupil->newcomer || pupil->special_needs;
  claim.waiting_days = pupil->waiting_days > ELIGIBILITY_WAITING_DAYS_MAX ? ELIGIBILITY_WAITING_DAYS_MAX
                       : pupil->waiting_days < 0                          ? 0
                                                                          : pupil->waiting_days;
  return claim;
}

int eligibility_compare_claims(eligibility_claim a, eligibility_claim b) {
  if (a.preparatory != b.preparatory) return a.preparatory ? 1 : -1;
  if (a.priority_group != b.priority_group) return a.priority_group ? 1 : -1;
  return (a.waiting_days > b.waiting_days) - (a.waiting_days < b.waiting_days);
}

int32_t eligibility_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6) {
  double lat1 = lat1_e6 * DEGREES_E6_TO_RADIANS;
  double lat2 = lat2_e6 * DEGREES_E6_TO_RADIANS;
  /* Differences are taken in integers first so that equal points give exactly 0 and the
   * formula is symmetric bit for bit. */
  double half_dlat = ((double)lat2_e6 - (double)lat1_e6) * DEGREES_E6_TO_RADIANS / 2.0;
  double half_dlon = ((double)lon2_e6 - (double)lon1_e6) * DEGREES_E6_TO_RADIANS / 2.0;
  double sin_dlat = sin(half_dlat), sin_dlon = sin(half_dlon);
  double haversine = sin_dlat * sin_dlat + cos(lat1) * cos(lat2) * sin_dlon * sin_dlon;
  if (haversine > 1.0) haversine = 1.0;
  if (haversine < 0.0) haversine = 0.0;
  double metres = 2.0 * EARTH_RADIUS_M * asin(sqrt(haversine));
  return (int32_t)lround(metres);
}

/* ---------------------------------------------------------------------------------------------
 * The five rules, one function each, shared by the pair test, the candidate search and the
 * explanations so that all three can never disagree. */

static int passes_recognition(const eligibility_vacancy *vacancy) {
  return vacancy->recognised && vacancy->open && vacancy->seats > 0;
}

static int passes_readiness(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                            const eligibility_weights *weights) {
  if (pupil->readiness < vacancy->min_readiness) return 0;
  /* A pupil not yet work-ready belongs in the preparatory phase, whatever the minimum says. */
  if (pupil->readiness == READINESS_NOT_READY && !vacancy->preparatory) return 0;
  return pupil->readiness == READINESS_NOT_READY || !vacancy->preparatory || weights->ready_on_preparatory;
}

static int passes_days(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
  return (pupil->day_mask & ~vacancy->day_mask) == 0;
}

static int passes_exclusion(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
  for (int32_t k = 0; k < pupil->excluded_count; k++)
    if (pupil->excluded_companies[k] == vacancy->company) return 0;
  return 1;
}

static int passes_start(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                        const eligibility_weights *weights) {
  if (pupil->wanted_start_day <= 0 || vacancy->start_day <= 0) return 1;
  return (int64_t)vacancy->start_day <= (int64_t)pupil->wanted_start_day + weights->start_window_days;
}

eligibility_reason eligibility_failed_rule(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                                           const eligibility_weights *weights) {
  eligibility_weights default_weights;
  if (!weights) {
    eligibility_default_weights(&default_weights);
    weights = &default_weights;
  }
  if (pupil->training != vacancy->training || !passes_recognition(vacancy)) return ELIGIBILITY_NO_RECOGNISED_VACANCY;
  if (!passes_readiness(pupil, vacancy, weights)) return ELIGIBILITY_READINESS_TOO_LOW;
  int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
  if (distance > pupil->max_commute_m) return ELIGIBILITY_NONE_WITHIN_COMMUTE;
  if (!passes_days(pupil, vacancy)) return ELIGIBILITY_NO_COMPATIBLE_DAYS;
  if (!passes_exclusion(pupil, vacancy)) return ELIGIBILITY_ALL_EXCLUDED;
  if (!passes_start(pupil, vacancy, weights)) return ELIGIBILITY_STARTS_TOO_LATE;
  return ELIGIBILITY_PLACED;
}

int eligibility_is_eligible(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                            const eligibility_weights *weights) {
  return eligibility_failed_rule(pupil, vacancy, weights) == ELIGIBILITY_PLACED;
}

/* ---------------------------------------------------------------------------------------------
 * Input checks. */

static matcher_status refuse(matcher_error *error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Fills the message (when there is an error to fill) and says MATCHER_INVALID. */
static matcher_status refuse(matcher_error *error, const char *format, ...) {
  if (error) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error->message, sizeof error->message, format, arguments);
    va_end(arguments);
  }
  return MATCHER_INVALID;
}

static matcher_status check_coordinates(const char *kind, int32_t index, int32_t lat_e6, int32_t lon_e6,
                                        matcher_error *error) {
  if (lat_e6 < -LAT_LIMIT_E6 || lat_e6 > LAT_LIMIT_E6) {
    if (error)
      snprintf(error->message, sizeof error->message, "%s %ld: lat_e6 %ld outside -90000000..90000000", kind,
               (long)index, (long)lat_e6);
    return MATCHER_INVALID;
  }
  if (lon_e6 < -LON_LIMIT_E6 || lon_e6 > LON_LIMIT_E6) {
    if (error)
      snprintf(error->message, sizeof error->message, "%s %ld: lon_e6 %ld outside -180000000..180000000", kind,
               (long)index, (long)lon_e6);
    return MATCHER_INVALID;
  }
  return MATCHER_OK;
}

static matcher_status check_inputs(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count, matcher_error *error) {
  if (pupil_count < 0 || pupil_count > MATCHER_COUNT_MAX)
    return refuse(error, "pupil_count %ld outside 0..%ld", (long)pupil_count, (long)MATCHER_COUNT_MAX);
  if (vacancy_count < 0 || vacancy_count > MATCHER_COUNT_MAX)
    return refuse(error, "vacancy_count %ld outside 0..%ld", (long)vacancy_count, (long)MATCHER_COUNT_MAX);
  if (pupil_count > 0 && !pupils) return refuse(error, "pupils is NULL with pupil_count %ld", (long)pupil_count);
  if (vacancy_count > 0 && !vacancies)
    return refuse(error, "vacancies is NULL with vacancy_count %ld", (long)vacancy_count);
  for (int32_t j = 0; j < vacancy_count; j++) {
    const eligibility_vacancy *vacancy = &vacancies[j];
    if (vacancy->seats < 0) return refuse(error, "vacancy %ld: seats %ld is negative", (long)j, (long)(vacancy->seats));
    if (vacancy->day_mask > ELIGIBILITY_DAY_MASK_ALL)
      return refuse(error, "vacancy %ld: day_mask 0x%lx has bits above the 14 days", (long)j,
                    (unsigned long)vacancy->day_mask);
    if (vacancy->min_readiness > READINESS_READY)
      return refuse(error, "vacancy %ld: min_readiness %ld outside 0..2", (long)j, (long)(vacancy->min_readiness));
    if (vacancy->start_day < 0)
      return refuse(error, "vacancy %ld: start_day %ld is negative", (long)j, (long)(vacancy->start_day));
    matcher_status status = check_coordinates("vacancy", j, vacancy->lat_e6, vacancy->lon_e6, error);
    if (status != MATCHER_OK) return status;
  }
  for (int32_t i = 0; i < pupil_count; i++) {
    const eligibility_pupil *pupil = &pupils[i];
    if (pupil->max_commute_m < 0)
      return refuse(error, "pupil %ld: max_commute_m %ld is negative", (long)i, (long)(pupil->max_commute_m));
    if (pupil->waiting_days < 0)
      return refuse(error, "pupil %ld: waiting_days %ld is negative", (long)i, (long)(pupil->waiting_days));
    if (pupil->day_mask > ELIGIBILITY_DAY_MASK_ALL)
      return refuse(error, "pupil %ld: day_mask 0x%lx has bits above the 14 days", (long)i,
                    (unsigned long)pupil->day_mask);
    if (pupil->readiness > READINESS_READY)
      return refuse(error, "pupil %ld: readiness %ld outside 0..2", (long)i, (long)(pupil->readiness));
    if (pupil->wanted_start_day < 0)
      return refuse(error, "pupil %ld: wanted_start_day %ld is negative", (long)i, (long)(pupil->wanted_start_day));
    matcher_status status = check_coordinates("pupil", i, pupil->lat_e6, pupil->lon_e6, error);
    if (status != MATCHER_OK) return status;
    if (pupil->preferred_count < 0 || (pupil->preferred_count > 0 && !pupil->preferred_companies))
      return refuse(error, "pupil %ld: preferred_count %ld without a preferred_companies array", (long)i,
                    (long)(pupil->preferred_count));
    if (pupil->excluded_count < 0 || (pupil->excluded_count > 0 && !pupil->excluded_companies))
      return refuse(error, "pupil %ld: excluded_count %ld without an excluded_companies array", (long)i,
                    (long)(pupil->excluded_count));
    if (pupil->fixed_vacancy < -1 || pupil->fixed_vacancy >= vacancy_count)
      return refuse(error, "pupil %ld: fixed_vacancy %ld out of range (-1 or a vacancy index)", (long)i,
                    (long)(pupil->fixed_vacancy));
    if (pupil->proposed_vacancy < -1 || pupil->proposed_vacancy >= vacancy_count)
      return refuse(error, "pupil %ld: proposed_vacancy %ld out of range (-1 or a vacancy index)", (long)i,
                    (long)(pupil->proposed_vacancy));
  }
  return MATCHER_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The index: vacancies sorted by (training, band, longitude, index). */

typedef struct {
  int32_t training;
  int32_t row;
  int32_t lon_e6;
  int32_t vacancy;
} index_entry;

static int32_t row_of_latitude(int32_t lat_e6) {
  /* lat_e6 + 90e6 is in 0..180e6, so plain division is a floor. */
  return (lat_e6 + LAT_LIMIT_E6) / ROW_HEIGHT_E6;
}

static int compare_entries(const index_entry *a, const index_entry *b) {
  if (a->training != b->training) return a->training < b->training ? -1 : 1;
  if (a->row != b->row) return a->row < b->row ? -1 : 1;
  if (a->lon_e6 != b->lon_e6) return a->lon_e6 < b->lon_e6 ? -1 : 1;
  if (a->vacancy != b->vacancy) return a->vacancy < b->vacancy ? -1 : 1;
  return 0;
}

static int compare_entries_qsort(const void *a, const void *b) { return compare_entries(a, b); }

/* First position whose entry is not below key. */
static int64_t lower_bound(const index_entry *entries, int64_t count, const index_entry *key) {
  int64_t low = 0, high = count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    if (compare_entries(&entries[middle], key) < 0)
      low = middle + 1;
    else
      high = middle;
  }
  return low;
}

/* The index of the vacancies that pass rule 1's vacancy-only part (only_usable), or of all. */
static index_entry *build_index(const eligibility_vacancy *vacancies, int32_t vacancy_count, int only_usable,
                                int64_t *entry_count) {
  index_entry *entries = malloc(sizeof *entries * (size_t)(vacancy_count > 0 ? vacancy_count : 1));
  if (!entries) return NULL;
  int64_t count = 0;
  for (int32_t j = 0; j < vacancy_count; j++) {
    if (only_usable && !passes_recognition(&vacancies[j])) continue;
    entries[count].training = vacancies[j].training;
    entries[count].row = row_of_latitude(vacancies[j].lat_e6);
    entries[count].lon_e6 = vacancies[j].lon_e6;
    entries[count].vacancy = j;
    count++;
  }
  if (count > 1) qsort(entries, (size_t)count, sizeof *entries, compare_entries_qsort);
  *entry_count = count;
  return entries;
}

/* The run of a training's vacancies: [*begin, *end). */
static void training_run(const index_entry *entries, int64_t count, int32_t training, int64_t *begin, int64_t *end) {
  index_entry first = {training, INT32_MIN, INT32_MIN, INT32_MIN};
  *begin = lower_bound(entries, count, &first);
  if (training == INT32_MAX) {
    *end = count;
    return;
  }
  index_entry next = {training + 1, INT32_MIN, INT32_MIN, INT32_MIN};
  *end = lower_bound(entries, count, &next);
}

/* The latitude/longitude box around a pupil's commute circle: at most two longitude ranges
 * (two when the box crosses the antimeridian). */
typedef struct {
  int32_t lat_low, lat_high;
  int32_t range_count;
  int32_t lon_low[2], lon_high[2];
} search_box;

static void commute_box(const eligibility_pupil *pupil, search_box *box) {
  /* A vacancy is eligible when its distance rounds to at most the commute, i.e. is below
   * commute + 0.5 m; one metre plus a relative margin covers that and the floating error. */
  double radius = ((double)pupil->max_commute_m + 1.0) / EARTH_RADIUS_M * (1.0 + 1e-9) + 1e-12;
  double radius_e6 = radius / DEGREES_E6_TO_RADIANS;
  double lat_low = floor(pupil->lat_e6 - radius_e6) - 1.0;
  double lat_high = ceil(pupil->lat_e6 + radius_e6) + 1.0;
  box->lat_low = lat_low < -LAT_LIMIT_E6 ? -LAT_LIMIT_E6 : (int32_t)lat_low;
  box->lat_high = lat_high > LAT_LIMIT_E6 ? LAT_LIMIT_E6 : (int32_t)lat_high;

  /* Every point within angular radius r of latitude phi differs in longitude by at most
   * asin(sin r / cos phi), unless the cap reaches a pole (then every longitude). The distance
   * to any point is at least R * |latitude difference|, which bounds the latitude range. */
  double latitude = pupil->lat_e6 * DEGREES_E6_TO_RADIANS;
  int all_longitudes = radius >= PI_VALUE / 2.0 || fabs(latitude) + radius >= PI_VALUE / 2.0;
  double half_width_e6 = 0.0;
  if (!all_longitudes) {
    double ratio = sin(radius) / cos(latitude);
    if (ratio >= 1.0)
      all_longitudes = 1;
    else
      half_width_e6 = asin(ratio) * (1.0 + 1e-9) / DEGREES_E6_TO_RADIANS + 1.0;
  }
  double lon_low = floor(pupil->lon_e6 - half_width_e6) - 1.0;
  double lon_high = ceil(pupil->lon_e6 + half_width_e6) + 1.0;
  if (all_longitudes || lon_high - lon_low >= FULL_TURN_E6) {
    box->range_count = 1;
    box->lon_low[0] = -LON_LIMIT_E6;
    box->lon_high[0] = LON_LIMIT_E6;
  } else if (lon_low < -LON_LIMIT_E6) {
    /* Wraps west over the antimeridian: the wrapped part first, to keep ranges ascending. */
    box->range_count = 2;
    box->lon_low[0] = -LON_LIMIT_E6;
    box->lon_high[0] = (int32_t)lon_high;
    box->lon_low[1] = (int32_t)(lon_low + FULL_TURN_E6);
    box->lon_high[1] = LON_LIMIT_E6;
  } else if (lon_high > LON_LIMIT_E6) {
    box->range_count = 2;
    box->lon_low[0] = -LON_LIMIT_E6;
    box->lon_high[0] = (int32_t)(lon_high - FULL_TURN_E6);
    box->lon_low[1] = (int32_t)lon_low;
    box->lon_high[1] = LON_LIMIT_E6;
  } else {
    box->range_count = 1;
    box->lon_low[0] = (int32_t)lon_low;
    box->lon_high[0] = (int32_t)lon_high;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Costs. */

int64_t eligibility_pair_cost(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy, int32_t vacancy_index,
                              int32_t distance_m, int is_fixed, const eligibility_weights *weights,
                              const eligibility_levels *levels) {
  /* Distance in hundreds of metres, rounded to the nearest. */
  int64_t counted_m = distance_m > ELIGIBILITY_COST_DISTANCE_MAX_M ? ELIGIBILITY_COST_DISTANCE_MAX_M : distance_m;
  int64_t cost = (counted_m + 50) / 100 * weights->cost_per_100m;
  if (pupil->preferred_count > 0) {
    int64_t penalty = weights->not_preferred_penalty;
    for (int32_t rank = 0; rank < pupil->preferred_count; rank++) {
      if (pupil->preferred_companies[rank] == vacancy->company) {
        int32_t counted_rank = rank < ELIGIBILITY_PREFERENCE_RANKS ? rank : ELIGIBILITY_PREFERENCE_RANKS - 1;
        penalty = counted_rank * weights->preference_rank_step;
        break;
      }
    }
    cost += penalty;
  }
  /* A fixed pupil does not move, so its pair carries no moving penalty. */
  if (!is_fixed && pupil->proposed_vacancy >= 0 && pupil->proposed_vacancy != vacancy_index)
    cost += weights->move_penalty;
  /* Level 1 of the priority order: a preparatory seat costs a pupil who is not NOT_READY more
   * than any difference of claims, so a NOT_READY pupil always wins it. */
  if (vacancy->preparatory && pupil->readiness != READINESS_NOT_READY) cost += levels->preparatory_misuse;
  return cost;
}

int64_t eligibility_unplaced_penalty(const eligibility_pupil *pupil, const eligibility_levels *levels) {
  eligibility_claim claim = eligibility_claim_on(pupil, NULL);
  return levels->unplaced_base + (claim.priority_group ? levels->priority_group : 0) +
         levels->per_waiting_day * claim.waiting_days;
}

/* ---------------------------------------------------------------------------------------------
 * Building the problem. */

typedef struct {
  int32_t vacancy;
  int32_t distance_m;
} candidate;

static int compare_candidates(const void *a, const void *b) {
  int32_t x = ((const candidate *)a)->vacancy, y = ((const candidate *)b)->vacancy;
  return (x > y) - (x < y);
}

/* Growable output arrays of the pairs. */
typedef struct {
  matcher_pair *pairs;
  int32_t *distances;
  int64_t count, capacity;
} pair_list;

static int append_pair(pair_list *list, int32_t pupil, int32_t vacancy, int64_t cost, int32_t distance) {
  if (list->count == list->capacity) {
    int64_t capacity = list->capacity ? list->capacity * 2 : 1024;
    matcher_pair *pairs = realloc(list->pairs, sizeof *pairs * (size_t)capacity);
    if (!pairs) return 0;
    list->pairs = pairs;
    int32_t *distances = realloc(list->distances, sizeof *distances * (size_t)capacity);
    if (!distances) return 0;
    list->distances = distances;
    list->capacity = capacity;
  }
  list->pairs[list->count] = (matcher_pair){pupil, vacancy, cost};
  list->distances[list->count] = distance;
  list->count++;
  return 1;
}

/* Collects the eligible vacancies of a pupil from the index into *found (grown as needed). */
static int find_candidates(const eligibility_pupil *pupil, const eligibility_vacancy *vacancies,
                           const eligibility_weights *weights, const index_entry *entries, int64_t entry_count,
                           candidate **found, int64_t *found_capacity, int64_t *found_count) {
  *found_count = 0;
  search_box box;
  commute_box(pupil, &box);
  int32_t row_low = row_of_latitude(box.lat_low), row_high = row_of_latitude(box.lat_high);
  index_entry key = {pupil->training, row_low, INT32_MIN, INT32_MIN};
  int64_t position = lower_bound(entries, entry_count, &key);
  while (position < entry_count && entries[position].training == pupil->training && entries[position].row <= row_high) {
    /* position is the first vacancy of a non-empty band; empty bands are skipped. */
    int32_t row = entries[position].row;
    for (int32_t r = 0; r < box.range_count; r++) {
      index_entry start = {pupil->training, row, box.lon_low[r], INT32_MIN};
      int64_t k = lower_bound(entries, entry_count, &start);
      for (; k < entry_count && entries[k].training == pupil->training && entries[k].row == row &&
             entries[k].lon_e6 <= box.lon_high[r];
           k++) {
        const eligibility_vacancy *vacancy = &vacancies[entries[k].vacancy];
        if (vacancy->lat_e6 < box.lat_low || vacancy->lat_e6 > box.lat_high) continue;
        if (!passes_readiness(pupil, vacancy, weights) || !passes_days(pupil, vacancy) ||
            !passes_exclusion(pupil, vacancy) || !passes_start(pupil, vacancy, weights))
          continue;
        int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
        if (distance > pupil->max_commute_m) continue;
        if (*found_count == *found_capacity) {
          int64_t capacity = *found_capacity ? *found_capacity * 2 : 64;
          candidate *grown = realloc(*found, sizeof *grown * (size_t)capacity);
          if (!grown) return 0;
          *found = grown;
          *found_capacity = capacity;
        }
        (*found)[(*found_count)++] = (candidate){entries[k].vacancy, distance};
      }
    }
    if (row == INT32_MAX) break;
    index_entry next_row = {pupil->training, row + 1, INT32_MIN, INT32_MIN};
    position = lower_bound(entries, entry_count, &next_row);
  }
  return 1;
}

/* The seats the problem offers: those of open vacancies, 0 for closed ones, raised to the
 * number of fixed pairs held there. An agreement stays even when its vacancy was closed or its
 * seats reduced since (a rematch does not undo it), and the matcher would otherwise call the
 * problem infeasible. */
static void offered_seats(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                          int32_t vacancy_count, int32_t *seats) {
  for (int32_t j = 0; j < vacancy_count; j++) seats[j] = 0;
  for (int32_t i = 0; i < pupil_count; i++)
    if (pupils[i].fixed_vacancy >= 0) seats[pupils[i].fixed_vacancy]++;
  for (int32_t j = 0; j < vacancy_count; j++)
    if (vacancies[j].open && vacancies[j].seats > seats[j]) seats[j] = vacancies[j].seats;
}

void eligibility_problem_free(eligibility_problem *problem) {
  if (!problem) return;
  free(problem->unplaced_penalty);
  free(problem->seats);
  free(problem->pairs);
  free(problem->pair_distance_m);
  free(problem->fixed);
  memset(problem, 0, sizeof *problem);
}

/* ---------------------------------------------------------------------------------------------
 * Reuse: which values the rules read (see passes_* above and eligibility_failed_rule). */

static int same_rule_inputs_pupil(const eligibility_pupil *a, const eligibility_pupil *b) {
  if (a->training != b->training || a->readiness != b->readiness || a->day_mask != b->day_mask ||
      a->lat_e6 != b->lat_e6 || a->lon_e6 != b->lon_e6 || a->max_commute_m != b->max_commute_m ||
      a->wanted_start_day != b->wanted_start_day || a->excluded_count != b->excluded_count)
    return 0;
  for (int32_t k = 0; k < a->excluded_count; k++)
    if (a->excluded_companies[k] != b->excluded_companies[k]) return 0;
  return 1;
}

static int same_rule_inputs_vacancy(const eligibility_vacancy *a, const eligibility_vacancy *b) {
  return a->training == b->training && a->company == b->company && passes_recognition(a) == passes_recognition(b) &&
         a->preparatory == b->preparatory && a->min_readiness == b->min_readiness && a->day_mask == b->day_mask &&
         a->lat_e6 == b->lat_e6 && a->lon_e6 == b->lon_e6 && a->start_day == b->start_day;
}

static int same_rule_weights(const eligibility_weights *a, const eligibility_weights *b) {
  return a->ready_on_preparatory == b->ready_on_preparatory && a->start_window_days == b->start_window_days;
}

/* What the build takes from a previous one: per pupil now its previous pupil (-1: search it),
 * per previous vacancy its index now (-1: gone or changed), and which vacancies now are fresh. */
typedef struct {
  const eligibility_previous *previous;
  int32_t *reuse_pupil;       /* [pupil_count] */
  int64_t *previous_first;    /* [previous pupil_count + 1]: its pairs' range */
  int32_t *vacancy_now;       /* [previous vacancy_count] */
  index_entry *fresh_entries; /* the index of the fresh vacancies */
  int64_t fresh_count;
  int order_kept; /* vacancy_now ascends: a pupil's previous pairs stay in order */
} reuse_plan;

static void reuse_plan_free(reuse_plan *plan) {
  free(plan->reuse_pupil);
  free(plan->previous_first);
  free(plan->vacancy_now);
  free(plan->fresh_entries);
  memset(plan, 0, sizeof *plan);
}

/* 1 planned, 0 out of memory. */
static int plan_reuse(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                      int32_t vacancy_count, const eligibility_previous *previous, reuse_plan *plan) {
  memset(plan, 0, sizeof *plan);
  plan->previous = previous;
  plan->reuse_pupil = malloc(sizeof *plan->reuse_pupil * (size_t)(pupil_count + 1));
  plan->previous_first = calloc((size_t)previous->pupil_count + 2, sizeof *plan->previous_first);
  plan->vacancy_now = malloc(sizeof *plan->vacancy_now * (size_t)(previous->vacancy_count + 1));
  eligibility_vacancy *fresh = malloc(sizeof *fresh * (size_t)(vacancy_count + 1));
  if (!plan->reuse_pupil || !plan->previous_first || !plan->vacancy_now || !fresh) {
    free(fresh);
    return 0;
  }
  for (int64_t k = 0; k < previous->pair_count; k++) {
    int32_t p = previous->pairs[k].pupil;
    if (p >= 0 && p < previous->pupil_count) plan->previous_first[p + 1]++;
  }
  for (int32_t p = 0; p < previous->pupil_count; p++) plan->previous_first[p + 1] += plan->previous_first[p];
  for (int32_t v = 0; v < previous->vacancy_count; v++) plan->vacancy_now[v] = -1;
  /* The fresh vacancies' index: build_index over a copy in which the others fail rule 1. */
  for (int32_t j = 0; j < vacancy_count; j++) {
    fresh[j] = vacancies[j];
    int32_t v = previous->same_vacancy[j];
    if (v >= 0 && v < previous->vacancy_count && same_rule_inputs_vacancy(&vacancies[j], &previous->vacancies[v])) {
      plan->vacancy_now[v] = j;
      fresh[j].recognised = 0;
    }
  }
  plan->order_kept = 1;
  for (int32_t v = 0, last = -1; v < previous->vacancy_count; v++) {
    if (plan->vacancy_now[v] < 0) continue;
    if (plan->vacancy_now[v] <= last) plan->order_kept = 0;
    last = plan->vacancy_now[v];
  }
  plan->fresh_entries = build_index(fresh, vacancy_count, 1, &plan->fresh_count);
  free(fresh);
  if (!plan->fresh_entries) return 0;
  for (int32_t i = 0; i < pupil_count; i++) {
    int32_t p = previous->same_pupil[i];
    int reusable = pupils[i].fixed_vacancy < 0 && p >= 0 && p < previous->pupil_count &&
                   previous->pupils[p].fixed_vacancy < 0 && same_rule_inputs_pupil(&pupils[i], &previous->pupils[p]);
    plan->reuse_pupil[i] = reusable ? p : -1;
  }
  return 1;
}

/* A reusable pupil's candidates: its previous pairs to unchanged vacancies, then the fresh
 * vacancies it is eligible for. */
static int reused_candidates(const eligibility_pupil *pupil, int32_t previous_pupil,
                             const eligibility_vacancy *vacancies, const eligibility_weights *weights,
                             const reuse_plan *plan, candidate **found, int64_t *found_capacity, int64_t *found_count,
                             int64_t *fresh_found) {
  if (!find_candidates(pupil, vacancies, weights, plan->fresh_entries, plan->fresh_count, found, found_capacity,
                       found_count))
    return 0;
  *fresh_found = *found_count;
  const eligibility_previous *previous = plan->previous;
  for (int64_t k = plan->previous_first[previous_pupil]; k < plan->previous_first[previous_pupil + 1]; k++) {
    int32_t j = plan->vacancy_now[previous->pairs[k].vacancy];
    if (j < 0) continue;
    if (*found_count == *found_capacity) {
      int64_t capacity = *found_capacity ? *found_capacity * 2 : 64;
      candidate *grown = realloc(*found, sizeof *grown * (size_t)capacity);
      if (!grown) return 0;
      *found = grown;
      *found_capacity = capacity;
    }
    (*found)[(*found_count)++] = (candidate){j, previous->pair_distance_m[k]};
  }
  return 1;
}

static matcher_status build(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights,
                            const eligibility_previous *previous, eligibility_problem *out, matcher_error *error);

matcher_status eligibility_build(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, eligibility_problem *out, matcher_error *error) {
  return build(pupils, pupil_count, vacancies, vacancy_count, weights, NULL, out, error);
}

matcher_status eligibility_build_reusing(const eligibility_pupil *pupils, int32_t pupil_count,
                                         const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                         const eligibility_weights *weights, const eligibility_previous *previous,
                                         eligibility_problem *out, matcher_error *error) {
  return build(pupils, pupil_count, vacancies, vacancy_count, weights, previous, out, error);
}

static matcher_status build(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights,
                            const eligibility_previous *previous, eligibility_problem *out, matcher_error *error) {
  if (!out) return refuse(error, "out is NULL");
  memset(out, 0, sizeof *out);
  eligibility_weights default_weights;
  if (!weights) {
    eligibility_default_weights(&default_weights);
    weights = &default_weights;
  }
  matcher_status status = eligibility_levels_of(weights, &out->levels, error);
  if (status == MATCHER_OK) status = check_inputs(pupils, pupil_count, vacancies, vacancy_count, error);
  if (status != MATCHER_OK) return status;
  reuse_plan plan = {0};
  int reusing =
      previous && previous->same_pupil && previous->same_vacancy && same_rule_weights(weights, &previous->weights);
  if (reusing && !plan_reuse(pupils, pupil_count, vacancies, vacancy_count, previous, &plan)) {
    reuse_plan_free(&plan);
    if (error) snprintf(error->message, sizeof error->message, "out of memory building the problem");
    return MATCHER_NO_MEMORY;
  }

  int64_t entry_count = 0;
  index_entry *entries = build_index(vacancies, vacancy_count, 1, &entry_count);
  out->unplaced_penalty = malloc(sizeof *out->unplaced_penalty * (size_t)(pupil_count ? pupil_count : 1));
  out->seats = malloc(sizeof *out->seats * (size_t)(vacancy_count ? vacancy_count : 1));
  out->fixed = malloc(sizeof *out->fixed * (size_t)(pupil_count ? pupil_count : 1));
  pair_list list = {NULL, NULL, 0, 0};
  candidate *found = NULL;
  int64_t found_capacity = 0, found_count = 0, fixed_count = 0;
  if (!entries || !out->unplaced_penalty || !out->seats || !out->fixed) goto no_memory;

  for (int32_t i = 0; i < pupil_count; i++) {
    const eligibility_pupil *pupil = &pupils[i];
    /* Every pair costs less than the penalty and the penalty is at most
     * ELIGIBILITY_UNPLACED_MAX, so the matcher's objective bound cannot overflow. */
    out->unplaced_penalty[i] = eligibility_unplaced_penalty(pupil, &out->levels);
    if (pupil->fixed_vacancy >= 0) {
      /* An agreement holds whatever changed since: its only pair is the fixed one. */
      int32_t j = pupil->fixed_vacancy;
      int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancies[j].lat_e6, vacancies[j].lon_e6);
      int64_t cost = eligibility_pair_cost(pupil, &vacancies[j], j, distance, 1, weights, &out->levels);
      if (!append_pair(&list, i, j, cost, distance)) goto no_memory;
      out->fixed[fixed_count++] = (matcher_fixed_pair){i, j};
    } else {
      int32_t previous_pupil = reusing ? plan.reuse_pupil[i] : -1;
      int sorted = 0;
      if (previous_pupil >= 0) {
        int64_t fresh_found = 0;
        if (!reused_candidates(pupil, previous_pupil, vacancies, weights, &plan, &found, &found_capacity, &found_count,
                               &fresh_found))
          goto no_memory;
        /* The previous pairs come in ascending order when the vacancies kept theirs
         * (as sorted stable ids do): then only fresh ones make a sort necessary. */
        sorted = fresh_found == 0 && plan.order_kept;
        out->reused_pupils++;
      } else if (!find_candidates(pupil, vacancies, weights, entries, entry_count, &found, &found_capacity,
                                  &found_count)) {
        goto no_memory;
      }
      if (found_count > 1 && !sorted) /* found is still NULL when nothing was ever found */
        qsort(found, (size_t)found_count, sizeof *found, compare_candidates);
      for (int64_t k = 0; k < found_count; k++) {
        int32_t j = found[k].vacancy;
        int64_t cost = eligibility_pair_cost(pupil, &vacancies[j], j, found[k].distance_m, 0, weights, &out->levels);
        if (!append_pair(&list, i, j, cost, found[k].distance_m)) goto no_memory;
      }
    }
  }

  offered_seats(pupils, pupil_count, vacancies, vacancy_count, out->seats);

  reuse_plan_free(&plan);
  free(entries);
  free(found);
  out->pairs = list.pairs;
  out->pair_distance_m = list.distances;
  out->problem.pupil_count = pupil_count;
  out->problem.vacancy_count = vacancy_count;
  out->problem.unplaced_penalty = out->unplaced_penalty;
  out->problem.seats = out->seats;
  out->problem.pair_count = list.count;
  out->problem.pairs = list.pairs;
  out->problem.fixed_count = fixed_count;
  out->problem.fixed = out->fixed;
  return MATCHER_OK;

no_memory:
  reuse_plan_free(&plan);
  free(entries);
  free(found);
  free(list.pairs);
  free(list.distances);
  eligibility_problem_free(out);
  if (error) snprintf(error->message, sizeof error->message, "out of memory building the problem");
  return MATCHER_NO_MEMORY;
}

/* ---------------------------------------------------------------------------------------------
 * Explanations: the first rule that leaves a pupil no candidate, or, when eligible seats exist,
 * who holds them and with which claim. The hints and the texts are in hints.c. */

/* The holders of each vacancy in the solution, as lists: holder_pupil[holder_start[j] ..
 * holder_start[j + 1]). */
typedef struct {
  int32_t *holder_start;
  int32_t *holder_pupil;
} holders;

static int collect_holders(const matcher_solution *solution, int32_t pupil_count, int32_t vacancy_count, holders *out) {
  out->holder_start = calloc((size_t)vacancy_count + 2, sizeof *out->holder_start);
  out->holder_pupil = malloc(((size_t)pupil_count + 1) * sizeof *out->holder_pupil);
  if (!out->holder_start || !out->holder_pupil) return 0;
  for (int32_t i = 0; i < pupil_count; i++)
    if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED) out->holder_start[solution->vacancy_of_pupil[i] + 2]++;
  for (int32_t j = 0; j < vacancy_count; j++) out->holder_start[j + 2] += out->holder_start[j + 1];
  for (int32_t i = 0; i < pupil_count; i++)
    if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED)
      out->holder_pupil[out->holder_start[solution->vacancy_of_pupil[i] + 1]++] = i;
  return 1;
}

/* The nearest vacancy of a list, by distance then index; *best -1 before the first. */
static void keep_nearest(int32_t vacancy, int32_t distance, int32_t *best, int32_t *best_distance) {
  if (*best < 0 || distance < *best_distance || (distance == *best_distance && vacancy < *best)) {
    *best = vacancy;
    *best_distance = distance;
  }
}

/* Fills explanation for an unplaced pupil; 0 when the solution breaks an invariant there (a
 * free eligible seat, or one held by a weaker claim), with the message in error. */
static int explain_pupil(int32_t pupil_index, const eligibility_pupil *pupils, const eligibility_vacancy *vacancies,
                         const eligibility_weights *weights, const eligibility_problem *built,
                         const index_entry *entries, int64_t begin, int64_t end, const holders *held,
                         eligibility_explanation *explanation, matcher_error *error) {
  const eligibility_pupil *pupil = &pupils[pupil_index];
  int32_t after_recognition = 0, after_readiness = 0, after_commute = 0, after_days = 0, after_exclusion = 0,
          eligible = 0;
  /* The model of each reason's hint: the nearest vacancy that passes the rules before the
   * failing one and is within commute (for the commute rule: passes all others). */
  int32_t model[ELIGIBILITY_SEATS_TAKEN + 1], model_distance[ELIGIBILITY_SEATS_TAKEN + 1];
  for (int r = 0; r <= ELIGIBILITY_SEATS_TAKEN; r++) model[r] = -1, model_distance[r] = -1;
  int64_t cheapest_cost = INT64_MAX;
  memset(explanation, 0, sizeof *explanation);
  explanation->hint_vacancy = -1;
  explanation->nearest_vacancy = -1;
  explanation->nearest_distance_m = -1;
  for (int64_t k = begin; k < end; k++) {
    int32_t j = entries[k].vacancy;
    const eligibility_vacancy *vacancy = &vacancies[j];
    if (!passes_recognition(vacancy)) continue;
    after_recognition++;
    if (!passes_readiness(pupil, vacancy, weights)) continue;
    after_readiness++;
    int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
    int within = distance <= pupil->max_commute_m;
    if (passes_days(pupil, vacancy) && passes_exclusion(pupil, vacancy) && passes_start(pupil, vacancy, weights))
      keep_nearest(j, distance, &model[ELIGIBILITY_NONE_WITHIN_COMMUTE],
                   &model_distance[ELIGIBILITY_NONE_WITHIN_COMMUTE]);
    if (!within) continue;
    after_commute++;
    keep_nearest(j, distance, &model[ELIGIBILITY_NO_COMPATIBLE_DAYS], &model_distance[ELIGIBILITY_NO_COMPATIBLE_DAYS]);
    if (!passes_days(pupil, vacancy)) continue;
    after_days++;
    keep_nearest(j, distance, &model[ELIGIBILITY_ALL_EXCLUDED], &model_distance[ELIGIBILITY_ALL_EXCLUDED]);
    if (!passes_exclusion(pupil, vacancy)) continue;
    after_exclusion++;
    keep_nearest(j, distance, &model[ELIGIBILITY_STARTS_TOO_LATE], &model_distance[ELIGIBILITY_STARTS_TOO_LATE]);
    if (!passes_start(pupil, vacancy, weights)) continue;
    eligible++;
    /* Seats as the built problem has them (raised for agreements held there). */
    int32_t seats = built->seats[j];
    int32_t holder_count = held->holder_start[j + 1] - held->holder_start[j];
    explanation->eligible_seats += seats;
    if (holder_count < seats) {
      if (error)
        snprintf(error->message, sizeof error->message,
                 "pupil %ld is unplaced beside a free seat of eligible vacancy %ld", (long)pupil_index, (long)j);
      return 0;
    }
    eligibility_claim mine = eligibility_claim_on(pupil, vacancy);
    for (int32_t h = held->holder_start[j]; h < held->holder_start[j + 1]; h++) {
      const eligibility_pupil *holder = &pupils[held->holder_pupil[h]];
      if (holder->fixed_vacancy >= 0) {
        explanation->fixed_holders++;
        continue;
      }
      int order = eligibility_compare_claims(eligibility_claim_on(holder, vacancy), mine);
      if (order < 0) {
        if (error)
          snprintf(error->message, sizeof error->message,
                   "pupil %ld is unplaced while pupil %ld, with a weaker claim, holds eligible vacancy %ld",
                   (long)pupil_index, (long)held->holder_pupil[h], (long)j);
        return 0;
      }
      if (order > 0)
        explanation->stronger_claims++;
      else
        explanation->equal_claims++;
    }
    int64_t cost = eligibility_pair_cost(pupil, vacancy, j, distance, 0, weights, &built->levels);
    if (cost < cheapest_cost) {
      cheapest_cost = cost;
      model[ELIGIBILITY_SEATS_TAKEN] = j;
      model_distance[ELIGIBILITY_SEATS_TAKEN] = distance;
    }
  }

  /* Only a pupil no place accepts needs the model of the readiness rule: the nearest place of
   * its training within commute (a second scan, rarely run, keeps the first one cheap). */
  if (after_recognition > 0 && after_readiness == 0) {
    for (int64_t k = begin; k < end; k++) {
      const eligibility_vacancy *vacancy = &vacancies[entries[k].vacancy];
      if (!passes_recognition(vacancy)) continue;
      int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
      if (distance <= pupil->max_commute_m)
        keep_nearest(entries[k].vacancy, distance, &model[ELIGIBILITY_READINESS_TOO_LOW],
                     &model_distance[ELIGIBILITY_READINESS_TOO_LOW]);
    }
  }
  eligibility_reason reason;
  if (after_recognition == 0) {
    reason = ELIGIBILITY_NO_RECOGNISED_VACANCY;
    explanation->candidates_after_rule = (int32_t)(end - begin);
  } else if (after_readiness == 0) {
    reason = ELIGIBILITY_READINESS_TOO_LOW;
    explanation->candidates_after_rule = after_recognition;
  } else if (after_commute == 0) {
    reason = ELIGIBILITY_NONE_WITHIN_COMMUTE;
    explanation->candidates_after_rule = after_readiness;
    explanation->nearest_vacancy = model[ELIGIBILITY_NONE_WITHIN_COMMUTE];
    explanation->nearest_distance_m = model_distance[ELIGIBILITY_NONE_WITHIN_COMMUTE];
  } else if (after_days == 0) {
    reason = ELIGIBILITY_NO_COMPATIBLE_DAYS;
    explanation->candidates_after_rule = after_commute;
  } else if (after_exclusion == 0) {
    reason = ELIGIBILITY_ALL_EXCLUDED;
    explanation->candidates_after_rule = after_days;
  } else if (eligible == 0) {
    reason = ELIGIBILITY_STARTS_TOO_LATE;
    explanation->candidates_after_rule = after_exclusion;
  } else {
    reason = ELIGIBILITY_SEATS_TAKEN;
    explanation->candidates_after_rule = eligible;
  }
  explanation->reason = reason;
  if (reason != ELIGIBILITY_SEATS_TAKEN)
    explanation->eligible_seats = explanation->stronger_claims = explanation->equal_claims =
        explanation->fixed_holders = 0;
  /* The hint to check: more seats at the cheapest eligible vacancy, or a new place like the
   * model (near the pupil's home when there is none, or when only a place within the
   * commute would do). */
  explanation->hint_preparatory = pupil->readiness == READINESS_NOT_READY;
  if (reason == ELIGIBILITY_SEATS_TAKEN) {
    explanation->hint = ELIGIBILITY_HINT_MORE_SEATS;
    explanation->hint_vacancy = model[reason];
    explanation->hint_preparatory = vacancies[model[reason]].preparatory;
  } else {
    explanation->hint = ELIGIBILITY_HINT_NEW_PLACE;
    explanation->hint_vacancy =
        reason == ELIGIBILITY_NO_RECOGNISED_VACANCY || reason == ELIGIBILITY_NONE_WITHIN_COMMUTE ? -1 : model[reason];
    explanation->hint_new_company =
        explanation->hint_vacancy >= 0 && !passes_exclusion(pupil, &vacancies[explanation->hint_vacancy]);
  }
  explanation->hint_distance_m = explanation->hint_vacancy >= 0 ? model_distance[reason] : 0;
  explanation->hint_seats = 1;
  return 1;
}

matcher_status eligibility_explain(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const eligibility_weights *weights, const eligibility_problem *built,
                                   const matcher_solution *solution, const eligibility_names *names,
                                   eligibility_explanation *explanations, matcher_error *error) {
  eligibility_weights default_weights;
  if (!weights) {
    eligibility_default_weights(&default_weights);
    weights = &default_weights;
  }
  matcher_status status = check_inputs(pupils, pupil_count, vacancies, vacancy_count, error);
  if (status != MATCHER_OK) return status;
  if (!built || built->problem.pupil_count != pupil_count || built->problem.vacancy_count != vacancy_count)
    return refuse(error, "built is NULL or was not built from these %ld pupils and %ld vacancies", (long)pupil_count,
                  (long)vacancy_count);
  if (!solution || (pupil_count > 0 && !solution->vacancy_of_pupil))
    return refuse(error, "solution is NULL or has no assignment");
  if (pupil_count > 0 && !explanations)
    return refuse(error, "explanations is NULL with pupil_count %ld", (long)pupil_count);
  for (int32_t i = 0; i < pupil_count; i++) {
    int32_t j = solution->vacancy_of_pupil[i];
    if (j != MATCHER_UNPLACED && (j < 0 || j >= vacancy_count))
      return refuse(error, "solution: pupil %ld placed at vacancy %ld, out of range", (long)i, (long)j);
  }

  holders held = {NULL, NULL};
  int64_t entry_count = 0;
  index_entry *entries = build_index(vacancies, vacancy_count, 0, &entry_count);
  if (!entries || !collect_holders(solution, pupil_count, vacancy_count, &held)) {
    free(held.holder_start);
    free(held.holder_pupil);
    free(entries);
    if (error) snprintf(error->message, sizeof error->message, "out of memory explaining");
    return MATCHER_NO_MEMORY;
  }
  status = MATCHER_OK;
  for (int32_t i = 0; i < pupil_count && status == MATCHER_OK; i++) {
    eligibility_explanation *explanation = &explanations[i];
    if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED) {
      memset(explanation, 0, sizeof *explanation);
      explanation->reason = ELIGIBILITY_PLACED;
      explanation->nearest_distance_m = explanation->nearest_vacancy = explanation->hint_vacancy = -1;
      continue;
    }
    int64_t begin, end;
    training_run(entries, entry_count, pupils[i].training, &begin, &end);
    if (!explain_pupil(i, pupils, vacancies, weights, built, entries, begin, end, &held, explanation, error))
      status = MATCHER_NOT_OPTIMAL;
  }
  free(held.holder_start);
  free(held.holder_pupil);
  free(entries);
  if (status == MATCHER_OK)
    status = hints_verify(pupils, pupil_count, vacancies, vacancy_count, weights, built, explanations, error);
  for (int32_t i = 0; i < pupil_count && status == MATCHER_OK; i++)
    if (explanations[i].reason != ELIGIBILITY_PLACED)
      hints_format_help(&pupils[i], vacancy_count, names, weights, &explanations[i]);
  return status;
}
