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
 * Speed (issue 15). The grid holds copies of the usable vacancies in that order with their
 * latitude cosines and a contiguous longitude array, and one cell per (training, band), so a
 * search reads one run per band and computes no cosine per pair; vacancies at the point of the
 * one before (a company's vacancies) share its distance; a row is radix-sorted and written in
 * place into arrays whose room is projected from the rows so far. A grid beyond the cache is
 * searched in its own order (build_cold). A reusing build keeps the previous costs where their
 * inputs held and reports pupil_changed; eligibility_build_in_place rewrites the previous
 * arrays instead of copying them. Explaining counts rules 1 and 2 once per training and reads
 * only the pupil's box, and the nearest place beyond the commute is found band by band outward.
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
/* Usable vacancies from which a build searches its pupils in the grid's order (build_cold). */
#define SPATIAL_ORDER_MIN_VACANCIES 65536

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

/* The haversine of the central angle between two points, given the cosines of their latitudes
 * (the candidate search computes each cosine once, not once per pair: the same expression on
 * the same values, so the same bits as eligibility_distance_m). */
static double haversine_of(int32_t lat1_e6, int32_t lon1_e6, double cos_lat1, int32_t lat2_e6, int32_t lon2_e6,
                           double cos_lat2) {
  /* Differences are taken in integers first so that equal points give exactly 0 and the
   * formula is symmetric bit for bit. */
  double half_dlat = ((double)lat2_e6 - (double)lat1_e6) * DEGREES_E6_TO_RADIANS / 2.0;
  double half_dlon = ((double)lon2_e6 - (double)lon1_e6) * DEGREES_E6_TO_RADIANS / 2.0;
  double sin_dlat = sin(half_dlat), sin_dlon = sin(half_dlon);
  double haversine = sin_dlat * sin_dlat + cos_lat1 * cos_lat2 * sin_dlon * sin_dlon;
  if (haversine > 1.0) haversine = 1.0;
  if (haversine < 0.0) haversine = 0.0;
  return haversine;
}

static int32_t metres_of_haversine(double haversine) {
  double metres = 2.0 * EARTH_RADIUS_M * asin(sqrt(haversine));
  return (int32_t)lround(metres);
}

static double cos_latitude(int32_t lat_e6) { return cos(lat_e6 * DEGREES_E6_TO_RADIANS); }

int32_t eligibility_distance_m(int32_t lat1_e6, int32_t lon1_e6, int32_t lat2_e6, int32_t lon2_e6) {
  return metres_of_haversine(
      haversine_of(lat1_e6, lon1_e6, cos_latitude(lat1_e6), lat2_e6, lon2_e6, cos_latitude(lat2_e6)));
}

/* A haversine above this is a distance that rounds to more than commute_m metres (the search
 * skips the square root and arc sine of those): the haversine of commute_m + 1 m, with a
 * margin far above the floating error; 2 (never above) when that angle reaches the antipode. */
static double haversine_beyond(int32_t commute_m) {
  double half_angle = ((double)commute_m + 1.0) / EARTH_RADIUS_M / 2.0;
  if (half_angle >= PI_VALUE / 2.0) return 2.0;
  double s = sin(half_angle);
  return s * s * (1.0 + 1e-6);
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

/* The latitude/longitude box around a pupil's commute circle: at most two longitude ranges
 * (two when the box crosses the antimeridian). */
typedef struct {
  int32_t lat_low, lat_high;
  int32_t range_count;
  int32_t lon_low[2], lon_high[2];
} search_box;

/* The box of every point whose distance from (lat_e6, lon_e6) rounds to at most radius_m. */
static void box_around(int32_t lat_e6, int32_t lon_e6, int32_t radius_m, search_box *box) {
  /* A distance rounds to at most the radius when it is below radius + 0.5 m; one metre plus a
   * relative margin covers that and the floating error. */
  double radius = ((double)radius_m + 1.0) / EARTH_RADIUS_M * (1.0 + 1e-9) + 1e-12;
  double radius_e6 = radius / DEGREES_E6_TO_RADIANS;
  double lat_low = floor(lat_e6 - radius_e6) - 1.0;
  double lat_high = ceil(lat_e6 + radius_e6) + 1.0;
  box->lat_low = lat_low < -LAT_LIMIT_E6 ? -LAT_LIMIT_E6 : (int32_t)lat_low;
  box->lat_high = lat_high > LAT_LIMIT_E6 ? LAT_LIMIT_E6 : (int32_t)lat_high;

  /* Every point within angular radius r of latitude phi differs in longitude by at most
   * asin(sin r / cos phi), unless the cap reaches a pole (then every longitude). The distance
   * to any point is at least R * |latitude difference|, which bounds the latitude range. */
  double latitude = lat_e6 * DEGREES_E6_TO_RADIANS;
  int all_longitudes = radius >= PI_VALUE / 2.0 || fabs(latitude) + radius >= PI_VALUE / 2.0;
  double half_width_e6 = 0.0;
  if (!all_longitudes) {
    double ratio = sin(radius) / cos(latitude);
    if (ratio >= 1.0)
      all_longitudes = 1;
    else
      half_width_e6 = asin(ratio) * (1.0 + 1e-9) / DEGREES_E6_TO_RADIANS + 1.0;
  }
  double lon_low = floor(lon_e6 - half_width_e6) - 1.0;
  double lon_high = ceil(lon_e6 + half_width_e6) + 1.0;
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

static void commute_box(const eligibility_pupil *pupil, search_box *box) {
  box_around(pupil->lat_e6, pupil->lon_e6, pupil->max_commute_m, box);
}

/* ---------------------------------------------------------------------------------------------
 * The grid the candidate search reads: the usable vacancies (rule 1's vacancy part) in index
 * order, each copied beside its caller's index and the cosine of its latitude, so that a
 * search reads one contiguous run per band and computes no cosine per pair; and one cell per
 * non-empty (training, band), so that a pupil finds its first band with one binary search and
 * walks to the next ones. */

typedef struct {
  int32_t training, row;
  int64_t begin, end; /* its vacancies in the grid */
} grid_cell;

typedef struct {
  eligibility_vacancy *vacancies; /* copies, by (training, band, longitude, index) */
  int32_t *vacancy_index;         /* the caller's index of each */
  double *cos_lat;                /* the cosine of each one's latitude */
  int32_t *lon_e6;                /* each one's longitude again, contiguous: the binary searches
                                   * read 4 bytes per probe, not a 32-byte copy (a germany-sized
                                   * grid does not fit the cache, and the probes were half of a
                                   * search) */
  int64_t count;
  grid_cell *cells;
  int64_t cell_count;
} vacancy_grid;

static void grid_free(vacancy_grid *grid) {
  free(grid->vacancies);
  free(grid->vacancy_index);
  free(grid->cos_lat);
  free(grid->lon_e6);
  free(grid->cells);
  memset(grid, 0, sizeof *grid);
}

/* A build's grid, kept in its problem for eligibility_explain, with what it was built from. */
struct eligibility_grid {
  vacancy_grid grid;
  int32_t vacancy_count;
  uint64_t fingerprint;
};

/* A hash of every value of the vacancies (FNV-1a over the fields, not the padding), so that
 * eligibility_explain reuses a build's grid only for the same vacancies. */
static uint64_t vacancies_fingerprint(const eligibility_vacancy *vacancies, int32_t vacancy_count) {
  uint64_t hash = 14695981039346656037ULL;
  for (int32_t j = 0; j < vacancy_count; j++) {
    const eligibility_vacancy *v = &vacancies[j];
    const int64_t fields[] = {v->training, v->company, v->recognised, v->open,   v->preparatory, v->min_readiness,
                              v->day_mask, v->seats,   v->lat_e6,     v->lon_e6, v->start_day};
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
      hash = (hash ^ (uint64_t)fields[k]) * 1099511628211ULL;
  }
  return hash;
}

static void kept_grid_free(struct eligibility_grid *kept) {
  if (!kept) return;
  grid_free(&kept->grid);
  free(kept);
}

/* The grid of the vacancies that pass rule 1's vacancy part and are not skipped (skip NULL:
 * none is); 1, or 0 out of memory. */
static int grid_build(const eligibility_vacancy *vacancies, int32_t vacancy_count, const uint8_t *skip,
                      vacancy_grid *grid) {
  memset(grid, 0, sizeof *grid);
  size_t room = (size_t)(vacancy_count > 0 ? vacancy_count : 1);
  index_entry *entries = malloc(sizeof *entries * room);
  grid->vacancies = malloc(sizeof *grid->vacancies * room);
  grid->vacancy_index = malloc(sizeof *grid->vacancy_index * room);
  grid->cos_lat = malloc(sizeof *grid->cos_lat * room);
  grid->lon_e6 = malloc(sizeof *grid->lon_e6 * room);
  grid->cells = malloc(sizeof *grid->cells * room);
  if (!entries || !grid->vacancies || !grid->vacancy_index || !grid->cos_lat || !grid->lon_e6 || !grid->cells) {
    free(entries);
    grid_free(grid);
    return 0;
  }
  int64_t count = 0;
  for (int32_t j = 0; j < vacancy_count; j++) {
    if ((skip && skip[j]) || !passes_recognition(&vacancies[j])) continue;
    entries[count++] =
        (index_entry){vacancies[j].training, row_of_latitude(vacancies[j].lat_e6), vacancies[j].lon_e6, j};
  }
  if (count > 1) qsort(entries, (size_t)count, sizeof *entries, compare_entries_qsort);
  for (int64_t k = 0; k < count; k++) {
    int32_t j = entries[k].vacancy;
    grid->vacancies[k] = vacancies[j];
    grid->vacancy_index[k] = j;
    grid->cos_lat[k] = cos_latitude(vacancies[j].lat_e6);
    grid->lon_e6[k] = vacancies[j].lon_e6;
    if (k == 0 || entries[k].training != entries[k - 1].training || entries[k].row != entries[k - 1].row)
      grid->cells[grid->cell_count++] = (grid_cell){entries[k].training, entries[k].row, k, k};
    grid->cells[grid->cell_count - 1].end = k + 1;
  }
  grid->count = count;
  free(entries);
  return 1;
}

/* The first cell at or after (training, row). */
static int64_t grid_first_cell(const vacancy_grid *grid, int32_t training, int32_t row) {
  int64_t low = 0, high = grid->cell_count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    const grid_cell *cell = &grid->cells[middle];
    if (cell->training < training || (cell->training == training && cell->row < row))
      low = middle + 1;
    else
      high = middle;
  }
  return low;
}

/* The first vacancy of [begin, end) (sorted by longitude) at or east of lon_e6. */
static int64_t grid_first_longitude(const vacancy_grid *grid, int64_t begin, int64_t end, int32_t lon_e6) {
  while (begin < end) {
    int64_t middle = begin + (end - begin) / 2;
    if (grid->lon_e6[middle] < lon_e6)
      begin = middle + 1;
    else
      end = middle;
  }
  return begin;
}

/* ---------------------------------------------------------------------------------------------
 * The candidates of one pupil. */

typedef struct {
  int32_t vacancy;
  int32_t distance_m;
  int64_t cost;
} candidate;

/* A growable list of candidates with the scratch its sort needs. */
typedef struct {
  candidate *items, *scratch;
  int64_t count, capacity;
} candidate_list;

static void candidates_free(candidate_list *list) {
  free(list->items);
  free(list->scratch);
  memset(list, 0, sizeof *list);
}

static int push_candidate(candidate_list *list, int32_t vacancy, int32_t distance_m, int64_t cost) {
  if (list->count == list->capacity) {
    int64_t capacity = list->capacity ? list->capacity * 2 : 256;
    candidate *items = realloc(list->items, sizeof *items * (size_t)capacity);
    if (!items) return 0;
    list->items = items;
    candidate *scratch = realloc(list->scratch, sizeof *scratch * (size_t)capacity);
    if (!scratch) return 0;
    list->scratch = scratch;
    list->capacity = capacity;
  }
  list->items[list->count++] = (candidate){vacancy, distance_m, cost};
  return 1;
}

/* Sorts the list by vacancy (indices are distinct and below vacancy_count): insertion for a
 * few, else a radix sort by bytes, as many passes as vacancy_count has bytes (qsort's calls
 * through a comparator were a fifth of a build). */
static void sort_candidates(candidate_list *list, int32_t vacancy_count) {
  int64_t count = list->count;
  candidate *items = list->items;
  if (count < 2) return;
  if (count <= 32) {
    for (int64_t k = 1; k < count; k++) {
      candidate moving = items[k];
      int64_t m = k;
      for (; m > 0 && items[m - 1].vacancy > moving.vacancy; m--) items[m] = items[m - 1];
      items[m] = moving;
    }
    return;
  }
  candidate *from = items, *to = list->scratch;
  uint32_t largest = vacancy_count > 0 ? (uint32_t)vacancy_count - 1 : 0;
  for (unsigned shift = 0; shift < 32 && (shift == 0 || (largest >> shift) != 0); shift += 8) {
    int64_t start[257] = {0};
    for (int64_t k = 0; k < count; k++) start[(((uint32_t)from[k].vacancy >> shift) & 0xFF) + 1]++;
    for (int d = 0; d < 256; d++) start[d + 1] += start[d];
    for (int64_t k = 0; k < count; k++) to[start[((uint32_t)from[k].vacancy >> shift) & 0xFF]++] = from[k];
    candidate *swap = from;
    from = to;
    to = swap;
  }
  if (from != items) memcpy(items, from, sizeof *items * (size_t)count);
}

/* Appends the vacancies of the grid the pupil is eligible for, with their distances and costs
 * (in grid order; the costs from the grid's copies, which the search has in the cache); 0 out
 * of memory. Vacancies at the point of the previous one (a company's vacancies share its
 * location) take its distance without computing it again. */
static int search_grid(const eligibility_pupil *pupil, const vacancy_grid *grid, const eligibility_weights *weights,
                       const eligibility_levels *levels, candidate_list *found) {
  if (grid->count == 0) return 1;
  search_box box;
  commute_box(pupil, &box);
  int32_t row_high = row_of_latitude(box.lat_high);
  double cos_lat = cos_latitude(pupil->lat_e6), beyond = haversine_beyond(pupil->max_commute_m);
  for (int64_t c = grid_first_cell(grid, pupil->training, row_of_latitude(box.lat_low));
       c < grid->cell_count && grid->cells[c].training == pupil->training && grid->cells[c].row <= row_high; c++) {
    const grid_cell *cell = &grid->cells[c];
    for (int32_t r = 0; r < box.range_count; r++) {
      int32_t last_lat = 0, last_lon = 0, last_distance = 0, have_last = 0;
      for (int64_t k = grid_first_longitude(grid, cell->begin, cell->end, box.lon_low[r]);
           k < cell->end && grid->vacancies[k].lon_e6 <= box.lon_high[r]; k++) {
        const eligibility_vacancy *vacancy = &grid->vacancies[k];
        if (vacancy->lat_e6 < box.lat_low || vacancy->lat_e6 > box.lat_high) continue;
        /* The cheap rules first; the distance last. */
        if (!passes_days(pupil, vacancy) || !passes_readiness(pupil, vacancy, weights) ||
            !passes_start(pupil, vacancy, weights) || !passes_exclusion(pupil, vacancy))
          continue;
        if (!have_last || vacancy->lat_e6 != last_lat || vacancy->lon_e6 != last_lon) {
          double haversine =
              haversine_of(pupil->lat_e6, pupil->lon_e6, cos_lat, vacancy->lat_e6, vacancy->lon_e6, grid->cos_lat[k]);
          last_distance = haversine > beyond ? INT32_MAX : metres_of_haversine(haversine);
          last_lat = vacancy->lat_e6, last_lon = vacancy->lon_e6, have_last = 1;
        }
        if (last_distance > pupil->max_commute_m) continue;
        int32_t j = grid->vacancy_index[k];
        if (!push_candidate(found, j, last_distance,
                            eligibility_pair_cost(pupil, vacancy, j, last_distance, 0, weights, levels)))
          return 0;
      }
    }
  }
  return 1;
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
 * The output arrays, written in place: their room grows with the pairs per pupil seen so far
 * (projected to all pupils), so that a build copies them about once instead of at every
 * doubling, and shrinks to the count at the end. */

typedef struct {
  matcher_pair *pairs;
  int32_t *distances;
  int64_t count, capacity;
} pair_list;

/* Room for more pairs after pupils_done of pupil_count pupils; 0 out of memory. */
static int reserve_pairs(pair_list *list, int64_t more, int32_t pupils_done, int32_t pupil_count) {
  int64_t needed = list->count + more;
  if (needed <= list->capacity) return 1;
  int64_t capacity = list->capacity + list->capacity / 4;
  if (pupils_done >= 32) {
    int64_t projected = needed / pupils_done * pupil_count;
    projected += projected / 8;
    if (projected > capacity) capacity = projected;
  }
  if (capacity < needed + 4096) capacity = needed + 4096;
  matcher_pair *pairs = realloc(list->pairs, sizeof *pairs * (size_t)capacity);
  if (!pairs) return 0;
  list->pairs = pairs;
  int32_t *distances = realloc(list->distances, sizeof *distances * (size_t)capacity);
  if (!distances) return 0;
  list->distances = distances;
  list->capacity = capacity;
  return 1;
}

static void put_pair(pair_list *list, int32_t pupil, int32_t vacancy, int64_t cost, int32_t distance) {
  list->pairs[list->count] = (matcher_pair){pupil, vacancy, cost};
  list->distances[list->count] = distance;
  list->count++;
}

static void shrink_pairs(pair_list *list) {
  size_t count = (size_t)(list->count > 0 ? list->count : 1);
  matcher_pair *pairs = realloc(list->pairs, sizeof *pairs * count);
  if (pairs) list->pairs = pairs;
  int32_t *distances = realloc(list->distances, sizeof *distances * count);
  if (distances) list->distances = distances;
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
  free(problem->pupil_changed);
  kept_grid_free(problem->grid);
  memset(problem, 0, sizeof *problem);
}

/* ---------------------------------------------------------------------------------------------
 * Reuse: which values the rules read (see passes_* above and eligibility_failed_rule), and
 * which the costs read besides (eligibility_pair_cost). */

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

static int same_cost_weights(const eligibility_weights *a, const eligibility_weights *b) {
  return a->cost_per_100m == b->cost_per_100m && a->preference_rank_step == b->preference_rank_step &&
         a->not_preferred_penalty == b->not_preferred_penalty && a->move_penalty == b->move_penalty;
}

/* How a reused pupil's previous costs carry over: not at all (costed anew), as they are, or
 * with only the move penalty moved (the same preferences, another proposal: the in-place build
 * adjusts each cost by the penalty it loses and gains instead of costing it anew, so that the
 * rematch after one that gave everybody a proposal rewrites no row). */
enum { COSTS_ANEW = 0, COSTS_HOLD = 1, COSTS_HOLD_BUT_THE_PROPOSAL = 2 };

/* What the build takes from a previous one: per pupil now its previous pupil (-1: search it),
 * per previous vacancy its index now (-1: gone or changed), and the grid of the vacancies now
 * that are fresh (new or changed). */
typedef struct {
  const eligibility_previous *previous;
  int32_t *reuse_pupil;    /* [pupil_count] */
  uint8_t *reuse_costs;    /* [pupil_count]: how its previous pairs' costs carry over (costs_reuse) */
  int64_t *previous_first; /* [previous pupil_count + 1]: its pairs' range */
  int32_t *vacancy_now;    /* [previous vacancy_count] */
  vacancy_grid fresh;
  int order_kept; /* vacancy_now ascends: a pupil's previous pairs stay in order */
  eligibility_levels previous_levels;
  int previous_levels_known;
} reuse_plan;

static void reuse_plan_free(reuse_plan *plan) {
  free(plan->reuse_pupil);
  free(plan->reuse_costs);
  free(plan->previous_first);
  free(plan->vacancy_now);
  grid_free(&plan->fresh);
  memset(plan, 0, sizeof *plan);
}

static int same_preferences(const eligibility_pupil *now, const eligibility_pupil *then) {
  if (now->preferred_count != then->preferred_count) return 0;
  for (int32_t k = 0; k < now->preferred_count; k++)
    if (now->preferred_companies[k] != then->preferred_companies[k]) return 0;
  return 1;
}

/* A pair of a reused pupil to an unchanged vacancy costs what it cost before when the pupil's
 * preferences are the same and its proposal is the same record (or none, then and now): the
 * move penalty falls on the same pairs. */
static int same_cost_inputs_pupil(const eligibility_pupil *now, const eligibility_pupil *then, const reuse_plan *plan) {
  if (!same_preferences(now, then)) return 0;
  if (now->proposed_vacancy < 0 || then->proposed_vacancy < 0)
    return now->proposed_vacancy < 0 && then->proposed_vacancy < 0;
  int32_t then_proposed = then->proposed_vacancy;
  if (then_proposed >= plan->previous->vacancy_count) return 0;
  return plan->previous->same_vacancy[now->proposed_vacancy] == then_proposed &&
         (plan->vacancy_now[then_proposed] < 0 || plan->vacancy_now[then_proposed] == now->proposed_vacancy);
}

/* 1 planned, 0 out of memory, -1 not reusable (the stable ids name one previous vacancy twice). */
static int plan_reuse(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                      int32_t vacancy_count, const eligibility_weights *weights, const eligibility_previous *previous,
                      reuse_plan *plan) {
  memset(plan, 0, sizeof *plan);
  plan->previous = previous;
  plan->reuse_pupil = malloc(sizeof *plan->reuse_pupil * (size_t)(pupil_count + 1));
  plan->reuse_costs = calloc((size_t)pupil_count + 1, 1);
  plan->previous_first = calloc((size_t)previous->pupil_count + 2, sizeof *plan->previous_first);
  plan->vacancy_now = malloc(sizeof *plan->vacancy_now * (size_t)(previous->vacancy_count + 1));
  uint8_t *unchanged = calloc((size_t)vacancy_count + 1, 1);
  if (!plan->reuse_pupil || !plan->reuse_costs || !plan->previous_first || !plan->vacancy_now || !unchanged) {
    free(unchanged);
    return 0;
  }
  /* The previous rows' ranges by counting (a pass that streams; a galloping search per row
   * was slower, its probes being cache misses). */
  for (int64_t k = 0; k < previous->pair_count; k++) {
    int32_t p = previous->pairs[k].pupil;
    if (p >= 0 && p < previous->pupil_count) plan->previous_first[p + 1]++;
  }
  for (int32_t p = 0; p < previous->pupil_count; p++) plan->previous_first[p + 1] += plan->previous_first[p];
  for (int32_t v = 0; v < previous->vacancy_count; v++) plan->vacancy_now[v] = -1;
  for (int32_t j = 0; j < vacancy_count; j++) {
    int32_t v = previous->same_vacancy[j];
    if (v >= 0 && v < previous->vacancy_count && same_rule_inputs_vacancy(&vacancies[j], &previous->vacancies[v])) {
      if (plan->vacancy_now[v] >= 0) {
        free(unchanged);
        return -1;
      }
      plan->vacancy_now[v] = j;
      unchanged[j] = 1;
    }
  }
  plan->order_kept = 1;
  for (int32_t v = 0, last = -1; v < previous->vacancy_count; v++) {
    if (plan->vacancy_now[v] < 0) continue;
    if (plan->vacancy_now[v] <= last) plan->order_kept = 0;
    last = plan->vacancy_now[v];
  }
  int built = grid_build(vacancies, vacancy_count, unchanged, &plan->fresh);
  free(unchanged);
  if (!built) return 0;
  int costs_hold = same_cost_weights(weights, &previous->weights);
  for (int32_t i = 0; i < pupil_count; i++) {
    int32_t p = previous->same_pupil[i];
    int reusable = pupils[i].fixed_vacancy < 0 && p >= 0 && p < previous->pupil_count &&
                   previous->pupils[p].fixed_vacancy < 0 && same_rule_inputs_pupil(&pupils[i], &previous->pupils[p]);
    plan->reuse_pupil[i] = reusable ? p : -1;
    plan->reuse_costs[i] = !reusable || !costs_hold                                         ? COSTS_ANEW
                           : same_cost_inputs_pupil(&pupils[i], &previous->pupils[p], plan) ? COSTS_HOLD
                           : same_preferences(&pupils[i], &previous->pupils[p]) ? COSTS_HOLD_BUT_THE_PROPOSAL
                                                                                : COSTS_ANEW;
  }
  plan->previous_levels_known = eligibility_levels_of(&previous->weights, &plan->previous_levels, NULL) == MATCHER_OK;
  return 1;
}

/* Whether a pupil's unplaced penalty or fixedness differs from its previous pupil's. */
static uint8_t penalty_changed(const eligibility_pupil *pupil, int64_t penalty, int32_t previous_pupil,
                               const reuse_plan *plan) {
  if (previous_pupil < 0 || previous_pupil >= plan->previous->pupil_count || !plan->previous_levels_known) return 1;
  const eligibility_pupil *then = &plan->previous->pupils[previous_pupil];
  return (then->fixed_vacancy >= 0) != (pupil->fixed_vacancy >= 0) ||
         eligibility_unplaced_penalty(then, &plan->previous_levels) != penalty;
}

/* Whether a pair's new cost can break what the matcher keeps unchecked of pupil i's previous
 * solution (its placement at warm, or its wait): a dearer pair cannot, unless it holds the
 * placement (whose price then rises past the others'), and a cheaper one can, unless it holds
 * it. Without eligibility_previous.warm_vacancy any new cost counts. */
static int cost_change_matters(const reuse_plan *plan, int32_t i, int32_t vacancy, int64_t now, int64_t then) {
  if (now == then) return 0;
  const int32_t *warm = plan->previous->warm_vacancy;
  if (!warm || warm[i] < MATCHER_UNPLACED) return 1;
  return (now < then) != (vacancy == warm[i]);
}

/* Whether pupil i's row now (pairs[begin, end)) differs from its previous pupil's row, for the
 * matcher's pupil_changed: new, another penalty or fixedness, other pairs, or costs that matter
 * (cost_change_matters). */
static uint8_t row_changed(const eligibility_pupil *pupil, int32_t i, int64_t penalty, int32_t previous_pupil,
                           const reuse_plan *plan, const matcher_pair *pairs, int64_t begin, int64_t end) {
  const eligibility_previous *previous = plan->previous;
  if (penalty_changed(pupil, penalty, previous_pupil, plan)) return 1;
  int64_t first = plan->previous_first[previous_pupil];
  if (plan->previous_first[previous_pupil + 1] - first != end - begin) return 1;
  for (int64_t n = 0; n < end - begin; n++) {
    const matcher_pair *now = &pairs[begin + n], *before = &previous->pairs[first + n];
    if (previous->same_vacancy[now->vacancy] != before->vacancy ||
        cost_change_matters(plan, i, now->vacancy, now->cost, before->cost))
      return 1;
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building the problem. */

/* What every pupil's row is built from. */
typedef struct {
  const eligibility_pupil *pupils;
  const eligibility_vacancy *vacancies;
  int32_t pupil_count, vacancy_count;
  const eligibility_weights *weights;
  const eligibility_levels *levels;
  const vacancy_grid *grid;
  const reuse_plan *plan; /* NULL: no previous build */
} build_context;

/* Writes candidates (sorted) as pupil i's pairs. */
static void put_candidates(int32_t i, const candidate *items, int64_t count, pair_list *list) {
  for (int64_t k = 0; k < count; k++) put_pair(list, i, items[k].vacancy, items[k].cost, items[k].distance_m);
}

/* A fixed pupil's only pair: an agreement holds whatever changed since. */
static void put_fixed(const build_context *context, int32_t i, eligibility_problem *out, pair_list *list,
                      int64_t *fixed_count) {
  const eligibility_pupil *pupil = &context->pupils[i];
  const eligibility_vacancy *vacancy = &context->vacancies[pupil->fixed_vacancy];
  int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
  int64_t cost =
      eligibility_pair_cost(pupil, vacancy, pupil->fixed_vacancy, distance, 1, context->weights, context->levels);
  put_pair(list, i, pupil->fixed_vacancy, cost, distance);
  out->fixed[(*fixed_count)++] = (matcher_fixed_pair){i, pupil->fixed_vacancy};
}

/* A reused pupil's row: its previous pairs to unchanged vacancies, merged in vacancy order with
 * the fresh vacancies it is eligible for (in found, sorted); the previous costs when they hold.
 * 1 when the row is its previous one unchanged (nothing fresh, nothing lost, same costs). */
static int put_reused(const build_context *context, int32_t i, const candidate_list *found, pair_list *list) {
  const reuse_plan *plan = context->plan;
  const eligibility_previous *previous = plan->previous;
  const eligibility_pupil *pupil = &context->pupils[i];
  int32_t p = plan->reuse_pupil[i];
  int costs_hold = plan->reuse_costs[i] == COSTS_HOLD;
  int64_t lost = 0, f = 0;
  for (int64_t k = plan->previous_first[p]; k < plan->previous_first[p + 1]; k++) {
    int32_t j = plan->vacancy_now[previous->pairs[k].vacancy];
    if (j < 0) {
      lost++;
      continue;
    }
    for (; f < found->count && found->items[f].vacancy < j; f++)
      put_pair(list, i, found->items[f].vacancy, found->items[f].cost, found->items[f].distance_m);
    int32_t distance = previous->pair_distance_m[k];
    int64_t cost = costs_hold ? previous->pairs[k].cost
                              : eligibility_pair_cost(pupil, &context->vacancies[j], j, distance, 0, context->weights,
                                                      context->levels);
    put_pair(list, i, j, cost, distance);
  }
  for (; f < found->count; f++)
    put_pair(list, i, found->items[f].vacancy, found->items[f].cost, found->items[f].distance_m);
  return costs_hold && lost == 0 && found->count == 0;
}

/* Pupils [begin, end) into list (their unplaced penalties, fixed pairs and changed marks into
 * out); 1, or 0 out of memory. */
static int build_rows(const build_context *context, int32_t begin, int32_t end, eligibility_problem *out,
                      pair_list *list, int64_t *fixed_count) {
  const reuse_plan *plan = context->plan;
  candidate_list found = {0};
  int ok = 1;
  for (int32_t i = begin; i < end && ok; i++) {
    const eligibility_pupil *pupil = &context->pupils[i];
    const eligibility_vacancy *vacancies = context->vacancies;
    int64_t row_begin = list->count;
    /* Every pair costs less than the penalty and the penalty is at most
     * ELIGIBILITY_UNPLACED_MAX, so the matcher's objective bound cannot overflow. */
    out->unplaced_penalty[i] = eligibility_unplaced_penalty(pupil, context->levels);
    int unchanged = 0;
    found.count = 0;
    if (pupil->fixed_vacancy >= 0) {
      if (!(ok = reserve_pairs(list, 1, i - begin, end - begin))) break;
      put_fixed(context, i, out, list, fixed_count);
    } else if (plan && plan->reuse_pupil[i] >= 0) {
      int32_t p = plan->reuse_pupil[i];
      if (!(ok = search_grid(pupil, &plan->fresh, context->weights, context->levels, &found))) break;
      sort_candidates(&found, context->vacancy_count);
      int64_t previous_count = plan->previous_first[p + 1] - plan->previous_first[p];
      if (!(ok = reserve_pairs(list, previous_count + found.count, i - begin, end - begin))) break;
      if (plan->order_kept) {
        unchanged = put_reused(context, i, &found, list);
      } else {
        /* The previous pairs out of order now: all candidates, sorted, costed anew. */
        const eligibility_previous *previous = plan->previous;
        for (int64_t k = plan->previous_first[p]; k < plan->previous_first[p + 1] && ok; k++) {
          int32_t j = plan->vacancy_now[previous->pairs[k].vacancy];
          if (j >= 0) {
            int32_t distance = previous->pair_distance_m[k];
            ok = push_candidate(
                &found, j, distance,
                eligibility_pair_cost(pupil, &vacancies[j], j, distance, 0, context->weights, context->levels));
          }
        }
        if (!ok) break;
        sort_candidates(&found, context->vacancy_count);
        put_candidates(i, found.items, found.count, list);
      }
    } else {
      if (!(ok = search_grid(pupil, context->grid, context->weights, context->levels, &found))) break;
      sort_candidates(&found, context->vacancy_count);
      if (!(ok = reserve_pairs(list, found.count, i - begin, end - begin))) break;
      put_candidates(i, found.items, found.count, list);
    }
    if (out->pupil_changed)
      out->pupil_changed[i] = unchanged ? penalty_changed(pupil, out->unplaced_penalty[i], plan->reuse_pupil[i], plan)
                                        : row_changed(pupil, i, out->unplaced_penalty[i], plan->previous->same_pupil[i],
                                                      plan, list->pairs, row_begin, list->count);
  }
  candidates_free(&found);
  return ok;
}

/* Whether build_in_place can rewrite the previous arrays: the previous rows are read in the
 * order they lie in (same_pupil ascends), and in the order of their vacancies now. */
static int in_place_possible(const build_context *context) {
  const reuse_plan *plan = context->plan;
  if (!plan->order_kept) return 0;
  for (int32_t i = 0, last = -1; i < context->pupil_count; i++) {
    int32_t p = plan->previous->same_pupil[i];
    if (p < 0) continue;
    if (p <= last || p >= plan->previous->pupil_count) return 0;
    last = p;
  }
  return 1;
}

/* Copies pupil i's previous row from previous position from to position to, its vacancies
 * renumbered; front to back when moving towards the front, else back to front, so that an
 * overlapping move reads every pair before it is overwritten. */
static void move_row(pair_list *list, const reuse_plan *plan, int32_t i, int64_t from, int64_t to, int64_t length,
                     int renumber) {
  if (!renumber) {
    if (from != to && length > 0) {
      memmove(list->pairs + to, list->pairs + from, sizeof *list->pairs * (size_t)length);
      memmove(list->distances + to, list->distances + from, sizeof *list->distances * (size_t)length);
    }
    for (int64_t n = 0; n < length && list->pairs[to + n].pupil != i; n++) list->pairs[to + n].pupil = i;
    return;
  }
  for (int64_t step = 0; step < length; step++) {
    int64_t n = to <= from ? step : length - 1 - step;
    matcher_pair pair = list->pairs[from + n];
    int32_t distance = list->distances[from + n];
    list->pairs[to + n] = (matcher_pair){i, plan->vacancy_now[pair.vacancy], pair.cost};
    list->distances[to + n] = distance;
  }
}

/* The move penalty a pair to vacancy (index now) carries for a pupil proposed at proposed. */
static int64_t move_penalty_on(int32_t vacancy, int32_t proposed, const eligibility_weights *weights) {
  return proposed >= 0 && proposed != vacancy ? weights->move_penalty : 0;
}

/* COSTS_HOLD_BUT_THE_PROPOSAL: pupil i's previous row (previous pupil p, pairs[first, end) of
 * the previous arrays, which the in-place build owns) recosted where it lies, each cost losing
 * the move penalty of the previous proposal and taking that of the new one (eligibility_pair_cost
 * adds it last, alone). Returns whether a cost changed in a way that matters to the warm start
 * (cost_change_matters). */
static int move_the_move_penalty(const build_context *context, int32_t i, int32_t p, int64_t first, int64_t end) {
  const reuse_plan *plan = context->plan;
  const eligibility_previous *previous = plan->previous;
  matcher_pair *pairs = (matcher_pair *)previous->pairs;
  int32_t now_proposed = context->pupils[i].proposed_vacancy, then_proposed = previous->pupils[p].proposed_vacancy;
  int mattered = 0;
  for (int64_t k = first; k < end; k++) {
    int32_t then_vacancy = pairs[k].vacancy, vacancy = plan->vacancy_now[then_vacancy];
    int64_t cost = pairs[k].cost - move_penalty_on(then_vacancy, then_proposed, &previous->weights) +
                   move_penalty_on(vacancy, now_proposed, context->weights);
    mattered |= cost_change_matters(plan, i, vacancy, cost, pairs[k].cost);
    pairs[k].cost = cost;
  }
  return mattered;
}

/* A reusing build into the previous arrays themselves (eligibility_build_in_place). A first
 * pass finds every row's length: the rows that are their previous ones (nothing fresh, nothing
 * lost, the same costs) are left where they are; the others are made on the side (compared
 * with their previous rows there, for pupil_changed). Then the rows move to their new places
 * without a copy of the arrays: those that move towards the end from the last to the first,
 * then those that move towards the front (or stay) from the first to the last. A row moving
 * back starts after its previous start, so it writes beyond every earlier row's previous pairs
 * and, from the last, onto rows already moved; a row moving forward writes before its previous
 * start, onto rows already read. So a small change costs the rows it changes and the shift
 * of the rows after them. 1, or 0 out of memory (the arrays are then list's, to free). */
static int build_in_place(const build_context *context, eligibility_problem *out, pair_list *list,
                          int64_t *fixed_count) {
  const reuse_plan *plan = context->plan;
  const eligibility_previous *previous = plan->previous;
  int32_t pupil_count = context->pupil_count;
  list->pairs = (matcher_pair *)previous->pairs;
  list->distances = (int32_t *)previous->pair_distance_m;
  list->count = list->capacity = previous->pair_count;
  /* Every previous vacancy kept its index: a previous row needs no renumbering. */
  int same_vacancies = 1;
  for (int32_t v = 0; v < previous->vacancy_count && same_vacancies; v++) same_vacancies = plan->vacancy_now[v] == v;
  /* Per row: its previous start (-1: made on the side, at side_start), its new start. */
  int64_t *from = malloc(sizeof *from * (size_t)(pupil_count + 1));
  int64_t *side_start = malloc(sizeof *side_start * (size_t)(pupil_count + 1));
  int64_t *to = malloc(sizeof *to * (size_t)(pupil_count + 2));
  int64_t *extent = malloc(sizeof *extent * (size_t)(pupil_count + 2)); /* previous positions of each row */
  candidate_list found = {0}, side = {0};
  int ok = from && side_start && to && extent;
  int64_t boundary = 0; /* the end of the last previous row read */
  to[0] = 0;
  for (int32_t i = 0; i < pupil_count && ok; i++) {
    const eligibility_pupil *pupil = &context->pupils[i];
    int32_t p = previous->same_pupil[i];
    extent[i] = i == 0 ? 0 : p >= 0 ? plan->previous_first[p] : boundary;
    if (p >= 0) boundary = plan->previous_first[p + 1];
    out->unplaced_penalty[i] = eligibility_unplaced_penalty(pupil, context->levels);
    from[i] = -1;
    side_start[i] = side.count;
    found.count = 0;
    int recost_mattered = 0;
    if (pupil->fixed_vacancy >= 0) {
      const eligibility_vacancy *vacancy = &context->vacancies[pupil->fixed_vacancy];
      int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
      ok = push_candidate(
          &side, pupil->fixed_vacancy, distance,
          eligibility_pair_cost(pupil, vacancy, pupil->fixed_vacancy, distance, 1, context->weights, context->levels));
      out->fixed[(*fixed_count)++] = (matcher_fixed_pair){i, pupil->fixed_vacancy};
    } else if (plan->reuse_pupil[i] >= 0) {
      ok = search_grid(pupil, &plan->fresh, context->weights, context->levels, &found);
      sort_candidates(&found, context->vacancy_count);
      int64_t first = plan->previous_first[p], end = plan->previous_first[p + 1], lost = 0;
      for (int64_t k = first; k < end && !same_vacancies; k++)
        lost += plan->vacancy_now[previous->pairs[k].vacancy] < 0;
      if (ok && plan->reuse_costs[i] == COSTS_HOLD && found.count == 0 && lost == 0) {
        from[i] = first;
      } else if (ok && plan->reuse_costs[i] == COSTS_HOLD_BUT_THE_PROPOSAL && found.count == 0 && lost == 0) {
        from[i] = first;
        recost_mattered = move_the_move_penalty(context, i, p, first, end);
      } else {
        /* The previous row renumbered (lost pairs dropped), merged with the fresh ones. */
        int64_t f = 0;
        for (int64_t k = first; k < end && ok; k++) {
          int32_t j = plan->vacancy_now[previous->pairs[k].vacancy];
          if (j < 0) continue;
          for (; f < found.count && found.items[f].vacancy < j && ok; f++)
            ok = push_candidate(&side, found.items[f].vacancy, found.items[f].distance_m, found.items[f].cost);
          int32_t distance = previous->pair_distance_m[k];
          int64_t cost = plan->reuse_costs[i] == COSTS_HOLD
                             ? previous->pairs[k].cost
                             : eligibility_pair_cost(pupil, &context->vacancies[j], j, distance, 0, context->weights,
                                                     context->levels);
          ok = ok && push_candidate(&side, j, distance, cost);
        }
        for (; f < found.count && ok; f++)
          ok = push_candidate(&side, found.items[f].vacancy, found.items[f].distance_m, found.items[f].cost);
      }
    } else {
      int64_t before = side.count;
      ok = search_grid(pupil, context->grid, context->weights, context->levels, &side);
      /* Sort only the row just found (sort_candidates sorts a whole list). */
      if (ok && side.count > before) {
        candidate_list row = {side.items + before, side.scratch, side.count - before, side.capacity};
        sort_candidates(&row, context->vacancy_count);
      }
    }
    if (!ok) break;
    int64_t length = from[i] >= 0 ? plan->previous_first[p + 1] - plan->previous_first[p] : side.count - side_start[i];
    to[i + 1] = to[i] + length;
    /* The previous row is intact until the moves: compare now. */
    if (from[i] >= 0) {
      out->pupil_changed[i] = recost_mattered || penalty_changed(pupil, out->unplaced_penalty[i], p, plan);
    } else if (p >= 0) {
      int64_t first = plan->previous_first[p];
      /* side.items is NULL while no pupil has had a candidate: no offset from it then. */
      const candidate *row = length > 0 ? side.items + side_start[i] : NULL;
      uint8_t changed =
          plan->previous_first[p + 1] - first != length || penalty_changed(pupil, out->unplaced_penalty[i], p, plan);
      for (int64_t n = 0; n < length && !changed; n++)
        changed = previous->same_vacancy[row[n].vacancy] != previous->pairs[first + n].vacancy ||
                  cost_change_matters(plan, i, row[n].vacancy, row[n].cost, previous->pairs[first + n].cost);
      out->pupil_changed[i] = changed;
    } else {
      out->pupil_changed[i] = 1;
    }
  }
  if (ok) {
    extent[pupil_count] = previous->pair_count;
    int64_t total = to[pupil_count];
    if (total > list->capacity) ok = reserve_pairs(list, total - list->count, pupil_count, pupil_count);
  }
  if (ok) {
    /* Moving back: from the last row to the first. Then moving forward: first to last. */
    for (int pass = 0; pass < 2; pass++)
      for (int32_t n = 0; n < pupil_count; n++) {
        int32_t i = pass == 0 ? pupil_count - 1 - n : n;
        if ((to[i] > extent[i]) != (pass == 0)) continue;
        int64_t length = to[i + 1] - to[i];
        if (from[i] >= 0)
          move_row(list, plan, i, from[i], to[i], length, !same_vacancies);
        else
          for (int64_t k = 0; k < length; k++) {
            const candidate *item = &side.items[side_start[i] + k];
            list->pairs[to[i] + k] = (matcher_pair){i, item->vacancy, item->cost};
            list->distances[to[i] + k] = item->distance_m;
          }
      }
    list->count = to[pupil_count];
  }
  free(from);
  free(side_start);
  free(to);
  free(extent);
  candidates_free(&found);
  candidates_free(&side);
  return ok;
}

/* A build without a previous one, on a grid of at least SPATIAL_ORDER_MIN_VACANCIES: the
 * pupils are searched in the grid's order (training, band, longitude), so that consecutive
 * searches read the same cells while they are in the cache (in the callers' order every
 * pupil's cells are cache misses once the grid outgrows the cache: a germany-sized one does,
 * and this halves its build), their sorted rows staged with their costs (16 bytes a pair for
 * the build's duration); then the rows are written in pupil order. 1, or 0 out of memory. */
static int build_cold(const build_context *context, eligibility_problem *out, pair_list *list, int64_t *fixed_count) {
  int32_t pupil_count = context->pupil_count;
  index_entry *order = malloc(sizeof *order * (size_t)(pupil_count + 1));
  int64_t *row_start = malloc(sizeof *row_start * (size_t)(pupil_count + 1));
  candidate_list staged = {0}, found = {0};
  int ok = order && row_start;
  int32_t searched = 0;
  for (int32_t i = 0; ok && i < pupil_count; i++) {
    const eligibility_pupil *pupil = &context->pupils[i];
    row_start[i] = -1;
    if (pupil->fixed_vacancy < 0)
      order[searched++] = (index_entry){pupil->training, row_of_latitude(pupil->lat_e6), pupil->lon_e6, i};
  }
  if (ok && searched > 1) qsort(order, (size_t)searched, sizeof *order, compare_entries_qsort);
  for (int32_t n = 0; ok && n < searched; n++) {
    const eligibility_pupil *pupil = &context->pupils[order[n].vacancy];
    found.count = 0;
    if (!(ok = search_grid(pupil, context->grid, context->weights, context->levels, &found))) break;
    sort_candidates(&found, context->vacancy_count);
    if (staged.count + found.count > staged.capacity) {
      /* Room projected from the rows so far, as reserve_pairs does. */
      int64_t capacity = (staged.count + found.count) / (n + 1) * searched;
      capacity += capacity / 8 + found.count + 4096;
      candidate *items = realloc(staged.items, sizeof *items * (size_t)capacity);
      if (!(ok = items != NULL)) break;
      staged.items = items;
      staged.capacity = capacity;
    }
    row_start[order[n].vacancy] = staged.count;
    if (found.count > 0)
      memcpy(staged.items + staged.count, found.items, sizeof *found.items * (size_t)found.count);
    staged.count += found.count;
  }
  /* Row ends: the next staged row's start, in staging order. */
  int64_t *row_end = ok ? malloc(sizeof *row_end * (size_t)(pupil_count + 1)) : NULL;
  ok = ok && row_end && reserve_pairs(list, staged.count + (pupil_count - searched), pupil_count, pupil_count);
  for (int32_t n = 0; ok && n < searched; n++)
    row_end[order[n].vacancy] = n + 1 < searched ? row_start[order[n + 1].vacancy] : staged.count;
  for (int32_t i = 0; ok && i < pupil_count; i++) {
    /* Every pair costs less than the penalty and the penalty is at most
     * ELIGIBILITY_UNPLACED_MAX, so the matcher's objective bound cannot overflow. */
    out->unplaced_penalty[i] = eligibility_unplaced_penalty(&context->pupils[i], context->levels);
    if (row_start[i] < 0)
      put_fixed(context, i, out, list, fixed_count);
    else
      put_candidates(i, row_end[i] > row_start[i] ? staged.items + row_start[i] : NULL, row_end[i] - row_start[i],
                     list);
  }
  free(order);
  free(row_start);
  free(row_end);
  candidates_free(&staged);
  candidates_free(&found);
  return ok;
}

static matcher_status build(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights,
                            const eligibility_previous *previous, int given, eligibility_problem *out,
                            matcher_error *error, int *adopted);

matcher_status eligibility_build(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, eligibility_problem *out, matcher_error *error) {
  return build(pupils, pupil_count, vacancies, vacancy_count, weights, NULL, 0, out, error, NULL);
}

matcher_status eligibility_build_reusing(const eligibility_pupil *pupils, int32_t pupil_count,
                                         const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                         const eligibility_weights *weights, const eligibility_previous *previous,
                                         eligibility_problem *out, matcher_error *error) {
  return build(pupils, pupil_count, vacancies, vacancy_count, weights, previous, 0, out, error, NULL);
}

matcher_status eligibility_build_in_place(const eligibility_pupil *pupils, int32_t pupil_count,
                                          const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                          const eligibility_weights *weights, const eligibility_previous *previous,
                                          eligibility_problem *out, matcher_error *error) {
  int adopted = 0;
  matcher_status status =
      build(pupils, pupil_count, vacancies, vacancy_count, weights, previous, 1, out, error, &adopted);
  /* Given arrays the build did not make its own are still the build's to free. */
  if (previous && !adopted) {
    free((void *)previous->pairs);
    free((void *)previous->pair_distance_m);
  }
  return status;
}

static matcher_status build(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights,
                            const eligibility_previous *previous, int given, eligibility_problem *out,
                            matcher_error *error, int *adopted) {
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
  vacancy_grid grid = {0};
  pair_list list = {NULL, NULL, 0, 0};
  int64_t fixed_count = 0;
  int reusing =
      previous && previous->same_pupil && previous->same_vacancy && same_rule_weights(weights, &previous->weights);
  if (reusing) {
    int planned = plan_reuse(pupils, pupil_count, vacancies, vacancy_count, weights, previous, &plan);
    if (planned == 0) goto no_memory;
    if (planned < 0) {
      reuse_plan_free(&plan);
      reusing = 0;
    }
  }
  out->unplaced_penalty = malloc(sizeof *out->unplaced_penalty * (size_t)(pupil_count ? pupil_count : 1));
  out->seats = malloc(sizeof *out->seats * (size_t)(vacancy_count ? vacancy_count : 1));
  out->fixed = malloc(sizeof *out->fixed * (size_t)(pupil_count ? pupil_count : 1));
  if (reusing) out->pupil_changed = malloc((size_t)pupil_count + 1);
  if (!grid_build(vacancies, vacancy_count, NULL, &grid) || !out->unplaced_penalty || !out->seats || !out->fixed ||
      (reusing && !out->pupil_changed))
    goto no_memory;
  build_context context = {pupils,  vacancies,    pupil_count, vacancy_count,
                           weights, &out->levels, &grid,       reusing ? &plan : NULL};
  int in_place = reusing && given && previous->pairs && previous->pair_distance_m && in_place_possible(&context);
  /* A copying reusing build starts with the room of the previous pairs. */
  if (reusing && !in_place && !reserve_pairs(&list, previous->pair_count + previous->pair_count / 16, 0, pupil_count))
    goto no_memory;
  if (in_place) {
    *adopted = 1;
    if (!build_in_place(&context, out, &list, &fixed_count)) goto no_memory;
  } else {
    /* A grid that fits the cache (a flanders-sized one, 30,000 vacancies) is faster searched
     * in the pupils' order: staging costs more there than it saves. */
    int spatial_order = !reusing && grid.count >= SPATIAL_ORDER_MIN_VACANCIES;
    if (!(spatial_order ? build_cold(&context, out, &list, &fixed_count)
                        : build_rows(&context, 0, pupil_count, out, &list, &fixed_count)))
      goto no_memory;
  }
  shrink_pairs(&list);
  for (int32_t i = 0; i < pupil_count; i++)
    if (plan.reuse_pupil && plan.reuse_pupil[i] >= 0) out->reused_pupils++;

  offered_seats(pupils, pupil_count, vacancies, vacancy_count, out->seats);

  reuse_plan_free(&plan);
  /* The grid stays with the problem for eligibility_explain (freed with it). */
  out->grid = malloc(sizeof *out->grid);
  if (out->grid) {
    out->grid->grid = grid;
    out->grid->vacancy_count = vacancy_count;
    out->grid->fingerprint = vacancies_fingerprint(vacancies, vacancy_count);
  } else {
    grid_free(&grid);
  }
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
  grid_free(&grid);
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

/* Per training, the vacancies the first two rules leave, counted once for all pupils: every
 * vacancy of the training, those passing rule 1, and those passing rules 1 and 2 for each
 * readiness (rule 2 reads only the pupil's readiness). */
typedef struct {
  int32_t training;
  int32_t all, recognised, ready[READINESS_READY + 1];
} training_counts;

static int compare_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* The counts by training, ascending, from the grid (sorted by training already) and the
 * vacancies that fail rule 1 (few: sorted on their own); NULL out of memory. */
static training_counts *count_trainings(const vacancy_grid *grid, const eligibility_vacancy *vacancies,
                                        int32_t vacancy_count, const eligibility_weights *weights, int64_t *count) {
  training_counts *usable = malloc(sizeof *usable * (size_t)(grid->cell_count + 1));
  int32_t *unusable = malloc(sizeof *unusable * (size_t)(vacancy_count - grid->count + 1));
  training_counts *counts = NULL;
  if (!usable || !unusable) goto done;
  int64_t usable_count = 0, unusable_count = 0;
  for (int64_t c = 0; c < grid->cell_count; c++) {
    const grid_cell *cell = &grid->cells[c];
    if (usable_count == 0 || usable[usable_count - 1].training != cell->training)
      usable[usable_count++] = (training_counts){cell->training, 0, 0, {0, 0, 0}};
    training_counts *run = &usable[usable_count - 1];
    run->all += (int32_t)(cell->end - cell->begin);
    run->recognised += (int32_t)(cell->end - cell->begin);
    for (int64_t k = cell->begin; k < cell->end; k++)
      for (int readiness = READINESS_NOT_READY; readiness <= READINESS_READY; readiness++) {
        eligibility_pupil probe = {.readiness = (uint8_t)readiness};
        run->ready[readiness] += passes_readiness(&probe, &grid->vacancies[k], weights);
      }
  }
  for (int32_t j = 0; j < vacancy_count; j++)
    if (!passes_recognition(&vacancies[j])) unusable[unusable_count++] = vacancies[j].training;
  if (unusable_count > 1) qsort(unusable, (size_t)unusable_count, sizeof *unusable, compare_int32);
  counts = malloc(sizeof *counts * (size_t)(usable_count + unusable_count + 1));
  if (!counts) goto done;
  /* Merge: every training of either list once, ascending. */
  int64_t runs = 0, u = 0, n = 0;
  while (u < usable_count || n < unusable_count) {
    int32_t training = u < usable_count && (n >= unusable_count || usable[u].training <= unusable[n])
                           ? usable[u].training
                           : unusable[n];
    training_counts run = {training, 0, 0, {0, 0, 0}};
    if (u < usable_count && usable[u].training == training) run = usable[u++];
    for (; n < unusable_count && unusable[n] == training; n++) run.all++;
    counts[runs++] = run;
  }
  *count = runs;
done:
  free(usable);
  free(unusable);
  return counts;
}

static const training_counts *counts_of(const training_counts *counts, int64_t count, int32_t training) {
  int64_t low = 0, high = count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    if (counts[middle].training < training)
      low = middle + 1;
    else
      high = middle;
  }
  return low < count && counts[low].training == training ? &counts[low] : NULL;
}

/* What explaining reads besides the pupil. */
typedef struct {
  const eligibility_pupil *pupils;
  const eligibility_vacancy *vacancies;
  const eligibility_weights *weights;
  const eligibility_problem *built;
  const holders *held;
  const vacancy_grid *grid; /* the vacancies that pass rule 1 */
  const training_counts *counts;
  int64_t count_count;
} explain_context;

/* The lower bound of the distance from a latitude to any point of a band: the meridian arc to
 * its nearer edge, less a metre for rounding (no point of the band is nearer). */
static double band_distance_floor_m(int32_t lat_e6, int32_t row) {
  int64_t band_low = (int64_t)row * ROW_HEIGHT_E6 - LAT_LIMIT_E6, band_high = band_low + ROW_HEIGHT_E6;
  int64_t gap = lat_e6 < band_low ? band_low - lat_e6 : lat_e6 >= band_high ? lat_e6 - band_high : 0;
  return (double)gap * DEGREES_E6_TO_RADIANS * EARTH_RADIUS_M * (1.0 - 1e-9) - 1.0;
}

/* The nearest vacancy of the pupil's training, at any distance, that passes rules 1, 2, 4, 5
 * and 6 (the model of NONE_WITHIN_COMMUTE), by distance then index: the bands nearest in
 * latitude first, until the next band cannot hold anything as near. */
static void nearest_beyond_commute(const eligibility_pupil *pupil, const explain_context *x, int32_t *best,
                                   int32_t *best_distance) {
  const vacancy_grid *grid = x->grid;
  int64_t first = grid_first_cell(grid, pupil->training, INT32_MIN), last = first;
  while (last < grid->cell_count && grid->cells[last].training == pupil->training) last++;
  if (first == last) return;
  /* Two fronts from the pupil's own band: south (below) and north (at or above). */
  int64_t north = grid_first_cell(grid, pupil->training, row_of_latitude(pupil->lat_e6)), south = north - 1;
  double cos_lat = cos_latitude(pupil->lat_e6);
  for (;;) {
    double north_floor = north < last ? band_distance_floor_m(pupil->lat_e6, grid->cells[north].row) : 1e300;
    double south_floor = south >= first ? band_distance_floor_m(pupil->lat_e6, grid->cells[south].row) : 1e300;
    int take_north = north_floor <= south_floor;
    double floor_m = take_north ? north_floor : south_floor;
    if (floor_m >= 1e300 || (*best >= 0 && floor_m > (double)*best_distance)) return;
    const grid_cell *cell = &grid->cells[take_north ? north++ : south--];
    /* Once a place is known, only the longitudes of the box of its distance can hold one as
     * near (the box holds every point at most that far, ties included). */
    search_box box = {0, 0, 1, {-LON_LIMIT_E6, 0}, {LON_LIMIT_E6, 0}};
    if (*best >= 0) box_around(pupil->lat_e6, pupil->lon_e6, *best_distance, &box);
    for (int32_t r = 0; r < box.range_count; r++) {
      for (int64_t k = grid_first_longitude(grid, cell->begin, cell->end, box.lon_low[r]);
           k < cell->end && grid->lon_e6[k] <= box.lon_high[r]; k++) {
        const eligibility_vacancy *vacancy = &grid->vacancies[k];
        if (!passes_days(pupil, vacancy) || !passes_readiness(pupil, vacancy, x->weights) ||
            !passes_start(pupil, vacancy, x->weights) || !passes_exclusion(pupil, vacancy))
          continue;
        int32_t distance = metres_of_haversine(
            haversine_of(pupil->lat_e6, pupil->lon_e6, cos_lat, vacancy->lat_e6, vacancy->lon_e6, grid->cos_lat[k]));
        keep_nearest(grid->vacancy_index[k], distance, best, best_distance);
      }
    }
  }
}

/* Fills explanation for an unplaced pupil; 0 when the solution breaks an invariant there (a
 * free eligible seat, or one held by a weaker claim), with the message in error. Rules 1 and 2
 * are counted per training beforehand; every vacancy within the commute is in the pupil's
 * search box, so the box holds everything the later rules count. */
static int explain_pupil(int32_t pupil_index, const explain_context *x, eligibility_explanation *explanation,
                         matcher_error *error) {
  const eligibility_pupil *pupil = &x->pupils[pupil_index];
  const eligibility_vacancy *vacancies = x->vacancies;
  const eligibility_weights *weights = x->weights;
  const vacancy_grid *grid = x->grid;
  const holders *held = x->held;
  const training_counts *counts = counts_of(x->counts, x->count_count, pupil->training);
  int32_t all = counts ? counts->all : 0, after_recognition = counts ? counts->recognised : 0,
          after_readiness = counts ? counts->ready[pupil->readiness] : 0, after_commute = 0, after_days = 0,
          after_exclusion = 0, eligible = 0;
  /* The model of each reason's hint: the nearest vacancy that passes the rules before the
   * failing one and is within commute (for the commute rule: passes all others). */
  int32_t model[ELIGIBILITY_SEATS_TAKEN + 1], model_distance[ELIGIBILITY_SEATS_TAKEN + 1];
  for (int r = 0; r <= ELIGIBILITY_SEATS_TAKEN; r++) model[r] = -1, model_distance[r] = -1;
  int64_t cheapest_cost = INT64_MAX;
  memset(explanation, 0, sizeof *explanation);
  explanation->hint_vacancy = -1;
  explanation->nearest_vacancy = -1;
  explanation->nearest_distance_m = -1;
  if (after_recognition > 0) {
    /* The box in the grid's order (band, longitude, index): the order the cheapest pair's
     * ties were always broken in. */
    search_box box;
    commute_box(pupil, &box);
    int32_t row_high = row_of_latitude(box.lat_high);
    double cos_lat = cos_latitude(pupil->lat_e6);
    for (int64_t c = grid_first_cell(grid, pupil->training, row_of_latitude(box.lat_low));
         c < grid->cell_count && grid->cells[c].training == pupil->training && grid->cells[c].row <= row_high; c++) {
      for (int32_t r = 0; r < box.range_count; r++) {
        for (int64_t k = grid_first_longitude(grid, grid->cells[c].begin, grid->cells[c].end, box.lon_low[r]);
             k < grid->cells[c].end && grid->vacancies[k].lon_e6 <= box.lon_high[r]; k++) {
          const eligibility_vacancy *vacancy = &grid->vacancies[k];
          if (vacancy->lat_e6 < box.lat_low || vacancy->lat_e6 > box.lat_high) continue;
          int32_t j = grid->vacancy_index[k];
          int ready = passes_readiness(pupil, vacancy, weights);
          if (!ready && after_readiness > 0) continue;
          int32_t distance = metres_of_haversine(
              haversine_of(pupil->lat_e6, pupil->lon_e6, cos_lat, vacancy->lat_e6, vacancy->lon_e6, grid->cos_lat[k]));
          if (distance > pupil->max_commute_m) continue;
          if (!ready) {
            /* Only a pupil no place accepts needs the model of the readiness rule: the nearest
             * place of its training within commute. */
            keep_nearest(j, distance, &model[ELIGIBILITY_READINESS_TOO_LOW],
                         &model_distance[ELIGIBILITY_READINESS_TOO_LOW]);
            continue;
          }
          after_commute++;
          keep_nearest(j, distance, &model[ELIGIBILITY_NO_COMPATIBLE_DAYS],
                       &model_distance[ELIGIBILITY_NO_COMPATIBLE_DAYS]);
          if (!passes_days(pupil, vacancy)) continue;
          after_days++;
          keep_nearest(j, distance, &model[ELIGIBILITY_ALL_EXCLUDED], &model_distance[ELIGIBILITY_ALL_EXCLUDED]);
          if (!passes_exclusion(pupil, vacancy)) continue;
          after_exclusion++;
          keep_nearest(j, distance, &model[ELIGIBILITY_STARTS_TOO_LATE], &model_distance[ELIGIBILITY_STARTS_TOO_LATE]);
          if (!passes_start(pupil, vacancy, weights)) continue;
          eligible++;
          /* Seats as the built problem has them (raised for agreements held there). */
          int32_t seats = x->built->seats[j];
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
            const eligibility_pupil *holder = &x->pupils[held->holder_pupil[h]];
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
          int64_t cost = eligibility_pair_cost(pupil, &vacancies[j], j, distance, 0, weights, &x->built->levels);
          if (cost < cheapest_cost) {
            cheapest_cost = cost;
            model[ELIGIBILITY_SEATS_TAKEN] = j;
            model_distance[ELIGIBILITY_SEATS_TAKEN] = distance;
          }
        }
      }
    }
  }
  eligibility_reason reason;
  if (after_recognition == 0) {
    reason = ELIGIBILITY_NO_RECOGNISED_VACANCY;
    explanation->candidates_after_rule = all;
  } else if (after_readiness == 0) {
    reason = ELIGIBILITY_READINESS_TOO_LOW;
    explanation->candidates_after_rule = after_recognition;
  } else if (after_commute == 0) {
    reason = ELIGIBILITY_NONE_WITHIN_COMMUTE;
    explanation->candidates_after_rule = after_readiness;
    nearest_beyond_commute(pupil, x, &model[ELIGIBILITY_NONE_WITHIN_COMMUTE],
                           &model_distance[ELIGIBILITY_NONE_WITHIN_COMMUTE]);
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
  vacancy_grid own_grid = {0};
  const vacancy_grid *grid = &own_grid;
  /* The build's grid when these are its vacancies still, else one of our own. */
  int kept = built->grid && built->grid->vacancy_count == vacancy_count &&
             built->grid->fingerprint == vacancies_fingerprint(vacancies, vacancy_count);
  if (kept) grid = &built->grid->grid;
  int64_t count_count = 0;
  training_counts *counts = NULL;
  if ((!kept && !grid_build(vacancies, vacancy_count, NULL, &own_grid)) ||
      !(counts = count_trainings(grid, vacancies, vacancy_count, weights, &count_count)) ||
      !collect_holders(solution, pupil_count, vacancy_count, &held)) {
    free(held.holder_start);
    free(held.holder_pupil);
    free(counts);
    grid_free(&own_grid);
    if (error) snprintf(error->message, sizeof error->message, "out of memory explaining");
    return MATCHER_NO_MEMORY;
  }
  explain_context context = {pupils, vacancies, weights, built, &held, grid, counts, count_count};
  status = MATCHER_OK;
  for (int32_t i = 0; i < pupil_count && status == MATCHER_OK; i++) {
    eligibility_explanation *explanation = &explanations[i];
    if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED) {
      memset(explanation, 0, sizeof *explanation);
      explanation->reason = ELIGIBILITY_PLACED;
      explanation->nearest_distance_m = explanation->nearest_vacancy = explanation->hint_vacancy = -1;
      continue;
    }
    if (!explain_pupil(i, &context, explanation, error)) status = MATCHER_NOT_OPTIMAL;
  }
  free(held.holder_start);
  free(held.holder_pupil);
  free(counts);
  grid_free(&own_grid);
  if (status == MATCHER_OK)
    status = hints_verify(pupils, pupil_count, vacancies, vacancy_count, weights, built, explanations, error);
  for (int32_t i = 0; i < pupil_count && status == MATCHER_OK; i++)
    if (explanations[i].reason != ELIGIBILITY_PLACED)
      hints_format_help(&pupils[i], vacancy_count, names, weights, &explanations[i]);
  return status;
}
