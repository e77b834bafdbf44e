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

/* Waiting days beyond ten years count as ten years: keeps the penalty bounded. */
#define WAITING_DAYS_CAP 3650

#define DAYS_PER_WEEK 7

/* ---------------------------------------------------------------------------------------------
 * Small arithmetic helpers: every cost and penalty saturates at MATCHER_VALUE_MAX, so absurd
 * weights give the largest value the matcher accepts instead of an overflow. */

static int64_t saturating_add(int64_t a, int64_t b) {
    /* Both operands are in 0..MATCHER_VALUE_MAX, so the sum fits in int64. */
    int64_t sum = a + b;
    return sum > MATCHER_VALUE_MAX ? MATCHER_VALUE_MAX : sum;
}

static int64_t saturating_multiply(int64_t a, int64_t b) {
    if (a == 0 || b == 0)
        return 0;
    if (a > MATCHER_VALUE_MAX / b)
        return MATCHER_VALUE_MAX;
    int64_t product = a * b;
    return product > MATCHER_VALUE_MAX ? MATCHER_VALUE_MAX : product;
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and the distance formula. */

void eligibility_default_weights(eligibility_weights *weights) {
    weights->cost_per_100m = 1;
    weights->preference_rank_step = 20;
    weights->not_preferred_penalty = 200;
    weights->move_penalty = 100;
    weights->unplaced_base = 1000000000;
    weights->newcomer_bonus = 200000000;
    weights->special_needs_bonus = 200000000;
    weights->per_waiting_day = 1000000;
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
    if (haversine > 1.0)
        haversine = 1.0;
    if (haversine < 0.0)
        haversine = 0.0;
    double metres = 2.0 * EARTH_RADIUS_M * asin(sqrt(haversine));
    return (int32_t)lround(metres);
}

/* ---------------------------------------------------------------------------------------------
 * The five rules, one function each, shared by the pair test, the candidate search and the
 * explanations so that all three can never disagree. */

static int passes_recognition(const eligibility_vacancy *vacancy) {
    return vacancy->recognised && vacancy->open && vacancy->seats > 0;
}

static int passes_readiness(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
    if (pupil->readiness < vacancy->min_readiness)
        return 0;
    /* A pupil not yet work-ready belongs in the preparatory phase, whatever the minimum says. */
    if (pupil->readiness == READINESS_NOT_READY && !vacancy->preparatory)
        return 0;
    return 1;
}

static int passes_days(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
    return (pupil->day_mask & ~vacancy->day_mask) == 0;
}

static int passes_exclusion(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
    for (int32_t k = 0; k < pupil->excluded_count; k++)
        if (pupil->excluded_companies[k] == vacancy->company)
            return 0;
    return 1;
}

int eligibility_is_eligible(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
    if (pupil->training != vacancy->training || !passes_recognition(vacancy))
        return 0;
    if (!passes_readiness(pupil, vacancy))
        return 0;
    int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6,
                                              vacancy->lon_e6);
    if (distance > pupil->max_commute_m)
        return 0;
    return passes_days(pupil, vacancy) && passes_exclusion(pupil, vacancy);
}

/* ---------------------------------------------------------------------------------------------
 * Input checks. */

static matcher_status refuse(matcher_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

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

static matcher_status check_coordinates(const char *kind, int32_t index, int32_t lat_e6,
                                        int32_t lon_e6, matcher_error *error) {
    if (lat_e6 < -LAT_LIMIT_E6 || lat_e6 > LAT_LIMIT_E6) {
        if (error)
            snprintf(error->message, sizeof error->message,
                     "%s %ld: lat_e6 %ld outside -90000000..90000000", kind, (long)index,
                     (long)lat_e6);
        return MATCHER_INVALID;
    }
    if (lon_e6 < -LON_LIMIT_E6 || lon_e6 > LON_LIMIT_E6) {
        if (error)
            snprintf(error->message, sizeof error->message,
                     "%s %ld: lon_e6 %ld outside -180000000..180000000", kind, (long)index,
                     (long)lon_e6);
        return MATCHER_INVALID;
    }
    return MATCHER_OK;
}

static matcher_status check_inputs(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   matcher_error *error) {
    if (pupil_count < 0 || pupil_count > MATCHER_COUNT_MAX)
        return refuse(error, "pupil_count %ld outside 0..%ld", (long)pupil_count, (long)MATCHER_COUNT_MAX);
    if (vacancy_count < 0 || vacancy_count > MATCHER_COUNT_MAX)
        return refuse(error, "vacancy_count %ld outside 0..%ld", (long)vacancy_count, (long)MATCHER_COUNT_MAX);
    if (pupil_count > 0 && !pupils)
        return refuse(error, "pupils is NULL with pupil_count %ld", (long)pupil_count);
    if (vacancy_count > 0 && !vacancies)
        return refuse(error, "vacancies is NULL with vacancy_count %ld", (long)vacancy_count);
    for (int32_t j = 0; j < vacancy_count; j++) {
        const eligibility_vacancy *vacancy = &vacancies[j];
        if (vacancy->seats < 0)
            return refuse(error, "vacancy %ld: seats %ld is negative", (long)j, (long)(vacancy->seats));
        if (vacancy->day_mask > ELIGIBILITY_DAY_MASK_ALL)
            return refuse(error, "vacancy %ld: day_mask 0x%lx has bits above the 14 days", (long)j, (unsigned long)vacancy->day_mask);
        if (vacancy->min_readiness > READINESS_READY)
            return refuse(error, "vacancy %ld: min_readiness %ld outside 0..2", (long)j, (long)(vacancy->min_readiness));
        matcher_status status = check_coordinates("vacancy", j, vacancy->lat_e6, vacancy->lon_e6, error);
        if (status != MATCHER_OK)
            return status;
    }
    for (int32_t i = 0; i < pupil_count; i++) {
        const eligibility_pupil *pupil = &pupils[i];
        if (pupil->max_commute_m < 0)
            return refuse(error, "pupil %ld: max_commute_m %ld is negative", (long)i, (long)(pupil->max_commute_m));
        if (pupil->waiting_days < 0)
            return refuse(error, "pupil %ld: waiting_days %ld is negative", (long)i, (long)(pupil->waiting_days));
        if (pupil->day_mask > ELIGIBILITY_DAY_MASK_ALL)
            return refuse(error, "pupil %ld: day_mask 0x%lx has bits above the 14 days", (long)i, (unsigned long)pupil->day_mask);
        if (pupil->readiness > READINESS_READY)
            return refuse(error, "pupil %ld: readiness %ld outside 0..2", (long)i, (long)(pupil->readiness));
        matcher_status status = check_coordinates("pupil", i, pupil->lat_e6, pupil->lon_e6, error);
        if (status != MATCHER_OK)
            return status;
        if (pupil->preferred_count < 0 || (pupil->preferred_count > 0 && !pupil->preferred_companies))
            return refuse(error, "pupil %ld: preferred_count %ld without a preferred_companies array", (long)i, (long)(pupil->preferred_count));
        if (pupil->excluded_count < 0 || (pupil->excluded_count > 0 && !pupil->excluded_companies))
            return refuse(error, "pupil %ld: excluded_count %ld without an excluded_companies array", (long)i, (long)(pupil->excluded_count));
        if (pupil->fixed_vacancy < -1 || pupil->fixed_vacancy >= vacancy_count)
            return refuse(error, "pupil %ld: fixed_vacancy %ld out of range (-1 or a vacancy index)", (long)i, (long)(pupil->fixed_vacancy));
        if (pupil->proposed_vacancy < -1 || pupil->proposed_vacancy >= vacancy_count)
            return refuse(error, "pupil %ld: proposed_vacancy %ld out of range (-1 or a vacancy index)", (long)i, (long)(pupil->proposed_vacancy));
    }
    return MATCHER_OK;
}

static matcher_status check_weights(const eligibility_weights *weights, matcher_error *error) {
    const struct {
        const char *name;
        int64_t value;
    } fields[] = {
        {"cost_per_100m", weights->cost_per_100m},
        {"preference_rank_step", weights->preference_rank_step},
        {"not_preferred_penalty", weights->not_preferred_penalty},
        {"move_penalty", weights->move_penalty},
        {"unplaced_base", weights->unplaced_base},
        {"newcomer_bonus", weights->newcomer_bonus},
        {"special_needs_bonus", weights->special_needs_bonus},
        {"per_waiting_day", weights->per_waiting_day},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        if (fields[k].value < 0 || fields[k].value > MATCHER_VALUE_MAX) {
            if (error)
                snprintf(error->message, sizeof error->message,
                         "weights: %s %lld outside 0..%lld", fields[k].name,
                         (long long)fields[k].value, (long long)MATCHER_VALUE_MAX);
            return MATCHER_INVALID;
        }
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
    if (a->training != b->training)
        return a->training < b->training ? -1 : 1;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    if (a->lon_e6 != b->lon_e6)
        return a->lon_e6 < b->lon_e6 ? -1 : 1;
    if (a->vacancy != b->vacancy)
        return a->vacancy < b->vacancy ? -1 : 1;
    return 0;
}

static int compare_entries_qsort(const void *a, const void *b) {
    return compare_entries(a, b);
}

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
static index_entry *build_index(const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                int only_usable, int64_t *entry_count) {
    index_entry *entries = malloc(sizeof *entries * (size_t)(vacancy_count > 0 ? vacancy_count : 1));
    if (!entries)
        return NULL;
    int64_t count = 0;
    for (int32_t j = 0; j < vacancy_count; j++) {
        if (only_usable && !passes_recognition(&vacancies[j]))
            continue;
        entries[count].training = vacancies[j].training;
        entries[count].row = row_of_latitude(vacancies[j].lat_e6);
        entries[count].lon_e6 = vacancies[j].lon_e6;
        entries[count].vacancy = j;
        count++;
    }
    if (count > 1)
        qsort(entries, (size_t)count, sizeof *entries, compare_entries_qsort);
    *entry_count = count;
    return entries;
}

/* The run of a training's vacancies: [*begin, *end). */
static void training_run(const index_entry *entries, int64_t count, int32_t training,
                         int64_t *begin, int64_t *end) {
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

static int64_t pair_cost(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy,
                         int32_t vacancy_index, int32_t distance_m, int is_fixed,
                         const eligibility_weights *weights) {
    /* Distance in hundreds of metres, rounded to the nearest. */
    int64_t cost = saturating_multiply(((int64_t)distance_m + 50) / 100, weights->cost_per_100m);
    if (pupil->preferred_count > 0) {
        int64_t penalty = weights->not_preferred_penalty;
        for (int32_t rank = 0; rank < pupil->preferred_count; rank++) {
            if (pupil->preferred_companies[rank] == vacancy->company) {
                penalty = saturating_multiply(rank, weights->preference_rank_step);
                break;
            }
        }
        cost = saturating_add(cost, penalty);
    }
    /* A fixed pupil does not move, so its pair carries no moving penalty. */
    if (!is_fixed && pupil->proposed_vacancy >= 0 && pupil->proposed_vacancy != vacancy_index)
        cost = saturating_add(cost, weights->move_penalty);
    return cost;
}

static int64_t unplaced_penalty(const eligibility_pupil *pupil, const eligibility_weights *weights) {
    int64_t penalty = weights->unplaced_base;
    if (pupil->newcomer)
        penalty = saturating_add(penalty, weights->newcomer_bonus);
    if (pupil->special_needs)
        penalty = saturating_add(penalty, weights->special_needs_bonus);
    int64_t days = pupil->waiting_days > WAITING_DAYS_CAP ? WAITING_DAYS_CAP : pupil->waiting_days;
    return saturating_add(penalty, saturating_multiply(days, weights->per_waiting_day));
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
        if (!pairs)
            return 0;
        list->pairs = pairs;
        int32_t *distances = realloc(list->distances, sizeof *distances * (size_t)capacity);
        if (!distances)
            return 0;
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
                           const index_entry *entries, int64_t entry_count, candidate **found,
                           int64_t *found_capacity, int64_t *found_count) {
    *found_count = 0;
    search_box box;
    commute_box(pupil, &box);
    int32_t row_low = row_of_latitude(box.lat_low), row_high = row_of_latitude(box.lat_high);
    index_entry key = {pupil->training, row_low, INT32_MIN, INT32_MIN};
    int64_t position = lower_bound(entries, entry_count, &key);
    while (position < entry_count && entries[position].training == pupil->training &&
           entries[position].row <= row_high) {
        /* position is the first vacancy of a non-empty band; empty bands are skipped. */
        int32_t row = entries[position].row;
        for (int32_t r = 0; r < box.range_count; r++) {
            index_entry start = {pupil->training, row, box.lon_low[r], INT32_MIN};
            int64_t k = lower_bound(entries, entry_count, &start);
            for (; k < entry_count && entries[k].training == pupil->training &&
                   entries[k].row == row && entries[k].lon_e6 <= box.lon_high[r];
                 k++) {
                const eligibility_vacancy *vacancy = &vacancies[entries[k].vacancy];
                if (vacancy->lat_e6 < box.lat_low || vacancy->lat_e6 > box.lat_high)
                    continue;
                if (!passes_readiness(pupil, vacancy) || !passes_days(pupil, vacancy) ||
                    !passes_exclusion(pupil, vacancy))
                    continue;
                int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6,
                                                          vacancy->lat_e6, vacancy->lon_e6);
                if (distance > pupil->max_commute_m)
                    continue;
                if (*found_count == *found_capacity) {
                    int64_t capacity = *found_capacity ? *found_capacity * 2 : 64;
                    candidate *grown = realloc(*found, sizeof *grown * (size_t)capacity);
                    if (!grown)
                        return 0;
                    *found = grown;
                    *found_capacity = capacity;
                }
                (*found)[(*found_count)++] = (candidate){entries[k].vacancy, distance};
            }
        }
        if (row == INT32_MAX)
            break;
        index_entry next_row = {pupil->training, row + 1, INT32_MIN, INT32_MIN};
        position = lower_bound(entries, entry_count, &next_row);
    }
    return 1;
}

/* The seats the problem offers: those of open vacancies, 0 for closed ones, raised to the
 * number of fixed pairs held there. An agreement stays even when its vacancy was closed or its
 * seats reduced since (a rematch does not undo it), and the matcher would otherwise call the
 * problem infeasible. */
static void offered_seats(const eligibility_pupil *pupils, int32_t pupil_count,
                          const eligibility_vacancy *vacancies, int32_t vacancy_count, int32_t *seats) {
    for (int32_t j = 0; j < vacancy_count; j++)
        seats[j] = 0;
    for (int32_t i = 0; i < pupil_count; i++)
        if (pupils[i].fixed_vacancy >= 0)
            seats[pupils[i].fixed_vacancy]++;
    for (int32_t j = 0; j < vacancy_count; j++)
        if (vacancies[j].open && vacancies[j].seats > seats[j])
            seats[j] = vacancies[j].seats;
}

void eligibility_problem_free(eligibility_problem *problem) {
    if (!problem)
        return;
    free(problem->unplaced_penalty);
    free(problem->seats);
    free(problem->pairs);
    free(problem->pair_distance_m);
    free(problem->fixed);
    memset(problem, 0, sizeof *problem);
}

matcher_status eligibility_build(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, eligibility_problem *out,
                                 matcher_error *error) {
    if (!out)
        return refuse(error, "out is NULL");
    memset(out, 0, sizeof *out);
    eligibility_weights default_weights;
    if (!weights) {
        eligibility_default_weights(&default_weights);
        weights = &default_weights;
    }
    matcher_status status = check_weights(weights, error);
    if (status == MATCHER_OK)
        status = check_inputs(pupils, pupil_count, vacancies, vacancy_count, error);
    if (status != MATCHER_OK)
        return status;

    int64_t entry_count = 0;
    index_entry *entries = build_index(vacancies, vacancy_count, 1, &entry_count);
    out->unplaced_penalty = malloc(sizeof *out->unplaced_penalty * (size_t)(pupil_count ? pupil_count : 1));
    out->seats = malloc(sizeof *out->seats * (size_t)(vacancy_count ? vacancy_count : 1));
    out->fixed = malloc(sizeof *out->fixed * (size_t)(pupil_count ? pupil_count : 1));
    pair_list list = {NULL, NULL, 0, 0};
    candidate *found = NULL;
    int64_t found_capacity = 0, found_count = 0, fixed_count = 0;
    /* Sum over pupils of max(unplaced penalty, largest pair cost): the matcher's objective
     * bound, refused here with a clear message rather than later by matcher_check. */
    int64_t objective_bound = 0;
    if (!entries || !out->unplaced_penalty || !out->seats || !out->fixed)
        goto no_memory;

    for (int32_t i = 0; i < pupil_count; i++) {
        const eligibility_pupil *pupil = &pupils[i];
        int64_t penalty = unplaced_penalty(pupil, weights);
        int64_t largest = penalty;
        out->unplaced_penalty[i] = penalty;
        if (pupil->fixed_vacancy >= 0) {
            /* An agreement holds whatever changed since: its only pair is the fixed one. */
            int32_t j = pupil->fixed_vacancy;
            int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6,
                                                      vacancies[j].lat_e6, vacancies[j].lon_e6);
            int64_t cost = pair_cost(pupil, &vacancies[j], j, distance, 1, weights);
            if (!append_pair(&list, i, j, cost, distance))
                goto no_memory;
            out->fixed[fixed_count++] = (matcher_fixed_pair){i, j};
            if (cost > largest)
                largest = cost;
        } else {
            if (!find_candidates(pupil, vacancies, entries, entry_count, &found, &found_capacity,
                                 &found_count))
                goto no_memory;
            if (found_count > 1) /* found is still NULL when nothing was ever found */
                qsort(found, (size_t)found_count, sizeof *found, compare_candidates);
            for (int64_t k = 0; k < found_count; k++) {
                int32_t j = found[k].vacancy;
                int64_t cost = pair_cost(pupil, &vacancies[j], j, found[k].distance_m, 0, weights);
                if (!append_pair(&list, i, j, cost, found[k].distance_m))
                    goto no_memory;
                if (cost > largest)
                    largest = cost;
            }
        }
        if (objective_bound > INT64_MAX - largest) {
            free(entries);
            free(found);
            free(list.pairs);
            free(list.distances);
            eligibility_problem_free(out);
            return refuse(error, "weights: the objective bound overflows int64 at pupil %ld "
                                 "(lower the unplaced penalty weights)", (long)i);
        }
        objective_bound += largest;
    }

    offered_seats(pupils, pupil_count, vacancies, vacancy_count, out->seats);

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
    free(entries);
    free(found);
    free(list.pairs);
    free(list.distances);
    eligibility_problem_free(out);
    if (error)
        snprintf(error->message, sizeof error->message, "out of memory building the problem");
    return MATCHER_NO_MEMORY;
}

/* ---------------------------------------------------------------------------------------------
 * Explanations. */

static const char *const day_names[DAYS_PER_WEEK] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* Appends to buffer (bounded, always terminated). */
static void append_text(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void append_text(char *buffer, size_t size, const char *format, ...) {
    size_t used = strlen(buffer);
    if (used + 1 >= size)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(buffer + used, size - used, format, arguments);
    va_end(arguments);
}

/* "15 km", "12.5 km": metres as kilometres to one decimal, the decimal only when needed. */
static void format_km(char *buffer, size_t size, int32_t metres) {
    int64_t tenths = ((int64_t)metres + 50) / 100;
    if (tenths % 10 == 0)
        snprintf(buffer, size, "%lld km", (long long)(tenths / 10));
    else
        snprintf(buffer, size, "%lld.%lld km", (long long)(tenths / 10), (long long)(tenths % 10));
}

/* "Mon, Tue" for one week's seven bits. */
static void append_week_days(char *buffer, size_t size, unsigned week_bits) {
    int first = 1;
    for (int d = 0; d < DAYS_PER_WEEK; d++) {
        if (week_bits & (1u << d)) {
            append_text(buffer, size, "%s%s", first ? "" : ", ", day_names[d]);
            first = 0;
        }
    }
}

/* "Mon, Tue (A and B)", "Mon, Tue (A) and Wed (B)", "Thu (B)". */
static void append_days(char *buffer, size_t size, uint16_t day_mask) {
    unsigned week_a = day_mask & 0x7F, week_b = (day_mask >> DAYS_PER_WEEK) & 0x7F;
    if (week_a && week_a == week_b) {
        append_week_days(buffer, size, week_a);
        append_text(buffer, size, " (A and B)");
        return;
    }
    if (week_a) {
        append_week_days(buffer, size, week_a);
        append_text(buffer, size, " (A)");
    }
    if (week_b) {
        append_text(buffer, size, "%s", week_a ? " and " : "");
        append_week_days(buffer, size, week_b);
        append_text(buffer, size, " (B)");
    }
}

static void explain_pupil(const eligibility_pupil *pupil, const eligibility_vacancy *vacancies,
                          const index_entry *entries, int64_t begin, int64_t end,
                          const int32_t *placed_at, const int32_t *seats_offered,
                          eligibility_explanation *explanation) {
    int32_t in_training = (int32_t)(end - begin);
    int32_t after_recognition = 0, after_readiness = 0, after_commute = 0, after_days = 0;
    int32_t eligible = 0, eligible_seats = 0, better_claims = 0, nearest = -1;
    for (int64_t k = begin; k < end; k++) {
        int32_t j = entries[k].vacancy;
        const eligibility_vacancy *vacancy = &vacancies[j];
        if (!passes_recognition(vacancy))
            continue;
        after_recognition++;
        if (!passes_readiness(pupil, vacancy))
            continue;
        after_readiness++;
        int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6,
                                                  vacancy->lon_e6);
        if (nearest < 0 || distance < nearest)
            nearest = distance;
        if (distance > pupil->max_commute_m)
            continue;
        after_commute++;
        if (!passes_days(pupil, vacancy))
            continue;
        after_days++;
        if (!passes_exclusion(pupil, vacancy))
            continue;
        eligible++;
        /* Seats as the built problem has them (raised for agreements held there), so that
         * an optimal solution shows better_claims == eligible_seats. */
        eligible_seats += seats_offered[j];
        better_claims += placed_at[j];
    }

    char commute[32], nearest_text[32];
    format_km(commute, sizeof commute, pupil->max_commute_m);
    explanation->nearest_distance_m = -1;
    explanation->eligible_seats = 0;
    explanation->better_claims = 0;
    explanation->help[0] = '\0';
    char *help = explanation->help;
    size_t help_size = sizeof explanation->help;
    if (after_recognition == 0) {
        explanation->reason = ELIGIBILITY_NO_RECOGNISED_VACANCY;
        explanation->candidates_after_rule = in_training;
        append_text(help, help_size,
                    "an open place in this training at a recognised company within %s", commute);
    } else if (after_readiness == 0) {
        explanation->reason = ELIGIBILITY_READINESS_TOO_LOW;
        explanation->candidates_after_rule = after_recognition;
        if (pupil->readiness == READINESS_NOT_READY)
            append_text(help, help_size, "a preparatory place in this training within %s", commute);
        else
            append_text(help, help_size,
                        "a place in this training open to partly ready pupils within %s", commute);
    } else if (after_commute == 0) {
        explanation->reason = ELIGIBILITY_NONE_WITHIN_COMMUTE;
        explanation->candidates_after_rule = after_readiness;
        explanation->nearest_distance_m = nearest;
        format_km(nearest_text, sizeof nearest_text, nearest);
        append_text(help, help_size, "a place in this training within %s (nearest now %s)",
                    commute, nearest_text);
    } else if (after_days == 0) {
        explanation->reason = ELIGIBILITY_NO_COMPATIBLE_DAYS;
        explanation->candidates_after_rule = after_commute;
        append_text(help, help_size, "a place in this training within %s open on ", commute);
        append_days(help, help_size, pupil->day_mask);
    } else if (eligible == 0) {
        explanation->reason = ELIGIBILITY_ALL_EXCLUDED;
        explanation->candidates_after_rule = after_days;
        append_text(help, help_size,
                    "a place in this training within %s at a company not excluded for this pupil "
                    "(all %ld suitable places are at excluded companies)",
                    commute, (long)after_days);
    } else {
        explanation->reason = ELIGIBILITY_SEATS_TAKEN;
        explanation->candidates_after_rule = eligible;
        explanation->eligible_seats = eligible_seats;
        explanation->better_claims = better_claims;
        append_text(help, help_size,
                    "1 more place in this training within %s on the pupil's days "
                    "(%ld eligible seats, %ld taken by pupils with a better claim)",
                    commute, (long)eligible_seats, (long)better_claims);
    }
}

matcher_status eligibility_explain(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const matcher_solution *solution,
                                   eligibility_explanation *explanations, matcher_error *error) {
    matcher_status status = check_inputs(pupils, pupil_count, vacancies, vacancy_count, error);
    if (status != MATCHER_OK)
        return status;
    if (!solution || (pupil_count > 0 && !solution->vacancy_of_pupil))
        return refuse(error, "solution is NULL or has no assignment");
    if (pupil_count > 0 && !explanations)
        return refuse(error, "explanations is NULL with pupil_count %ld", (long)pupil_count);
    for (int32_t i = 0; i < pupil_count; i++) {
        int32_t j = solution->vacancy_of_pupil[i];
        if (j != MATCHER_UNPLACED && (j < 0 || j >= vacancy_count))
            return refuse(error, "solution: pupil %ld placed at vacancy %ld, out of range", (long)i, (long)j);
    }

    int32_t *placed_at = calloc((size_t)(vacancy_count ? vacancy_count : 1), sizeof *placed_at);
    int32_t *seats_offered = malloc(sizeof *seats_offered * (size_t)(vacancy_count ? vacancy_count : 1));
    int64_t entry_count = 0;
    index_entry *entries = build_index(vacancies, vacancy_count, 0, &entry_count);
    if (!placed_at || !seats_offered || !entries) {
        free(placed_at);
        free(seats_offered);
        free(entries);
        if (error)
            snprintf(error->message, sizeof error->message, "out of memory explaining");
        return MATCHER_NO_MEMORY;
    }
    for (int32_t i = 0; i < pupil_count; i++)
        if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED)
            placed_at[solution->vacancy_of_pupil[i]]++;
    offered_seats(pupils, pupil_count, vacancies, vacancy_count, seats_offered);

    for (int32_t i = 0; i < pupil_count; i++) {
        eligibility_explanation *explanation = &explanations[i];
        if (solution->vacancy_of_pupil[i] != MATCHER_UNPLACED) {
            memset(explanation, 0, sizeof *explanation);
            explanation->reason = ELIGIBILITY_PLACED;
            explanation->nearest_distance_m = -1;
            continue;
        }
        int64_t begin, end;
        training_run(entries, entry_count, pupils[i].training, &begin, &end);
        explain_pupil(&pupils[i], vacancies, entries, begin, end, placed_at, seats_offered,
                      explanation);
    }
    free(placed_at);
    free(seats_offered);
    free(entries);
    return MATCHER_OK;
}
