/* test_eligibility.c: the eligibility rules (both sides of every boundary), the distance
 * formula, the grid-indexed candidate search against a brute-force scan, costs and penalties,
 * fixed pairs, input checks, and the explanations of unplaced pupils after a real solve. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "eligibility.h"

/* Days of week A and of week B in the two-week mask. */
#define WEEK_A(bits) ((uint16_t)(bits))
#define WEEK_B(bits) ((uint16_t)((bits) << 7))
#define MON 0x1
#define TUE 0x2
#define WED 0x4

/* Antwerp Centraal and Brussels Central, micro-degrees. */
#define ANTWERP_LAT 51217200
#define ANTWERP_LON 4421000
#define BRUSSELS_LAT 50845500
#define BRUSSELS_LON 4357000

static eligibility_pupil make_pupil(int32_t training, int32_t lat_e6, int32_t lon_e6, int32_t commute_m) {
  eligibility_pupil pupil;
  memset(&pupil, 0, sizeof pupil);
  pupil.training = training;
  pupil.readiness = READINESS_READY;
  pupil.day_mask = WEEK_A(MON | TUE) | WEEK_B(MON | TUE);
  pupil.lat_e6 = lat_e6;
  pupil.lon_e6 = lon_e6;
  pupil.max_commute_m = commute_m;
  pupil.proposed_vacancy = -1;
  pupil.fixed_vacancy = -1;
  return pupil;
}

static eligibility_vacancy make_vacancy(int32_t training, int32_t company, int32_t lat_e6, int32_t lon_e6,
                                        int32_t seats) {
  eligibility_vacancy vacancy;
  memset(&vacancy, 0, sizeof vacancy);
  vacancy.training = training;
  vacancy.company = company;
  vacancy.recognised = 1;
  vacancy.open = 1;
  vacancy.min_readiness = READINESS_PARTLY;
  vacancy.day_mask = ELIGIBILITY_DAY_MASK_ALL;
  vacancy.seats = seats;
  vacancy.lat_e6 = lat_e6;
  vacancy.lon_e6 = lon_e6;
  return vacancy;
}

static int32_t distance_between(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy) {
  return eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, vacancy->lat_e6, vacancy->lon_e6);
}

/* Builds with default weights, asserts success and that matcher_check accepts the problem. */
static void build_ok(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                     int32_t vacancy_count, const eligibility_weights *weights, eligibility_problem *out,
                     const char *context) {
  matcher_error error = {{0}};
  matcher_status status = eligibility_build(pupils, pupil_count, vacancies, vacancy_count, weights, out, &error);
  cr_assert_eq(status, MATCHER_OK, "%s: build: %s", context, error.message);
  status = matcher_check(&out->problem, &error);
  cr_assert_eq(status, MATCHER_OK, "%s: matcher_check: %s", context, error.message);
}

/* The pair (pupil, vacancy) of a built problem, or NULL. */
static const matcher_pair *find_pair(const eligibility_problem *problem, int32_t pupil, int32_t vacancy) {
  for (int64_t k = 0; k < problem->problem.pair_count; k++)
    if (problem->pairs[k].pupil == pupil && problem->pairs[k].vacancy == vacancy) return &problem->pairs[k];
  return NULL;
}

/* ------------------------------------------------------------------------------------------- */

Test(eligibility, distance_known_values) {
  int32_t antwerp_brussels = eligibility_distance_m(ANTWERP_LAT, ANTWERP_LON, BRUSSELS_LAT, BRUSSELS_LON);
  /* 41,572.8 m by an independent evaluation of the same formula. */
  cr_expect_eq(antwerp_brussels, 41573);
  cr_expect_eq(eligibility_distance_m(BRUSSELS_LAT, BRUSSELS_LON, ANTWERP_LAT, ANTWERP_LON), 41573);
  cr_expect_eq(eligibility_distance_m(ANTWERP_LAT, ANTWERP_LON, ANTWERP_LAT, ANTWERP_LON), 0);
  /* One degree of longitude on the equator: R * pi / 180. */
  cr_expect_eq(eligibility_distance_m(0, 0, 0, 1000000), 111195);
  /* Across the antimeridian the short way round. */
  cr_expect_eq(eligibility_distance_m(0, 179900000, 0, -179900000), 22239);
  /* Pole to pole: half the circumference. */
  cr_expect_eq(eligibility_distance_m(90000000, 0, -90000000, 0), 20015114);
}

Test(eligibility, distance_symmetric) {
  uint64_t state = 12345;
  for (int k = 0; k < 2000; k++) {
    int32_t values[4];
    for (int v = 0; v < 4; v++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      uint32_t bits = (uint32_t)(state >> 33);
      values[v] = v % 2 == 0 ? (int32_t)(bits % 180000001u) - 90000000 : (int32_t)(bits % 360000001u) - 180000000;
    }
    int32_t forward = eligibility_distance_m(values[0], values[1], values[2], values[3]);
    int32_t backward = eligibility_distance_m(values[2], values[3], values[0], values[1]);
    cr_assert_eq(forward, backward, "draw %d", k);
    cr_assert(forward >= 0 && forward <= 20015115, "draw %d: %d", k, forward);
  }
}

/* Rule 1: training, recognition, open with seats. */
Test(eligibility, rule_training_recognition_open) {
  eligibility_pupil pupil = make_pupil(7, ANTWERP_LAT, ANTWERP_LON, 5000);
  eligibility_vacancy vacancy = make_vacancy(7, 1, ANTWERP_LAT, ANTWERP_LON, 1);
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.training = 8;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.training = 7;
  vacancy.recognised = 0;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.recognised = 1;
  vacancy.open = 0;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.open = 1;
  vacancy.seats = 0;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.seats = 1;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL));
}

/* Rule 2: readiness equal is enough, below is not; NOT_READY only for preparatory places. */
Test(eligibility, rule_readiness) {
  eligibility_pupil pupil = make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 5000);
  eligibility_vacancy vacancy = make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1);
  pupil.readiness = READINESS_PARTLY;
  vacancy.min_readiness = READINESS_PARTLY;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "equal readiness");
  vacancy.min_readiness = READINESS_READY;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL), "one level below");
  pupil.readiness = READINESS_READY;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "equal at READY");

  pupil.readiness = READINESS_NOT_READY;
  vacancy.min_readiness = READINESS_NOT_READY;
  vacancy.preparatory = 0;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL), "NOT_READY on a regular place");
  vacancy.preparatory = 1;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "NOT_READY on a preparatory place");
  vacancy.min_readiness = READINESS_PARTLY;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL), "preparatory place asking PARTLY");
  pupil.readiness = READINESS_READY;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "a ready pupil may take a preparatory place");
}

/* Rule 3: exactly at the commute is eligible, one metre short is not (also through the grid). */
Test(eligibility, rule_distance_boundary) {
  eligibility_vacancy vacancies[1] = {make_vacancy(1, 1, BRUSSELS_LAT, BRUSSELS_LON, 1)};
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 0),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 0)};
  int32_t distance = distance_between(&pupils[0], &vacancies[0]);
  pupils[0].max_commute_m = distance;
  pupils[1].max_commute_m = distance - 1;
  cr_expect(eligibility_is_eligible(&pupils[0], &vacancies[0], NULL));
  cr_expect_not(eligibility_is_eligible(&pupils[1], &vacancies[0], NULL));

  eligibility_problem problem;
  build_ok(pupils, 2, vacancies, 1, NULL, &problem, "distance boundary");
  cr_assert_eq(problem.problem.pair_count, 1);
  cr_expect_eq(problem.pairs[0].pupil, 0);
  cr_expect_eq(problem.pair_distance_m[0], distance);
  eligibility_problem_free(&problem);

  /* Same point, zero commute: distance 0 is within 0. */
  eligibility_pupil home = make_pupil(1, BRUSSELS_LAT, BRUSSELS_LON, 0);
  cr_expect(eligibility_is_eligible(&home, &vacancies[0], NULL));
}

/* Rule 4: the pupil's days must be a subset of the vacancy's. */
Test(eligibility, rule_days_subset) {
  eligibility_pupil pupil = make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 5000);
  eligibility_vacancy vacancy = make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1);
  pupil.day_mask = WEEK_A(MON | TUE) | WEEK_B(WED);
  vacancy.day_mask = WEEK_A(MON | TUE) | WEEK_B(WED);
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "equal masks");
  vacancy.day_mask = WEEK_A(MON | TUE | WED) | WEEK_B(MON | WED);
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "strict subset");
  pupil.day_mask |= WEEK_B(TUE);
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL), "one extra day in week B");
  pupil.day_mask = WEEK_A(MON | TUE) | WEEK_B(WED);
  vacancy.day_mask = WEEK_A(MON | TUE);
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL), "week B day missing");
  pupil.day_mask = 0;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL), "no days needed");
}

/* Rule 5: excluded companies. */
Test(eligibility, rule_exclusion) {
  static const int32_t excluded[] = {4, 9};
  eligibility_pupil pupil = make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 5000);
  eligibility_vacancy vacancy = make_vacancy(1, 9, ANTWERP_LAT, ANTWERP_LON, 1);
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL));
  pupil.excluded_companies = excluded;
  pupil.excluded_count = 2;
  cr_expect_not(eligibility_is_eligible(&pupil, &vacancy, NULL));
  vacancy.company = 5;
  cr_expect(eligibility_is_eligible(&pupil, &vacancy, NULL));
}

/* ------------------------------------------------------------------------------------------- */
/* Random instances: clustered points, points on band borders, near the antimeridian and the
 * poles, radii from 0 to half the globe, several trainings, fixed and proposed pupils. */

typedef struct {
  uint64_t state;
} random_source;

static uint32_t next_random(random_source *random) {
  random->state = random->state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(random->state >> 33);
}

static int32_t random_between(random_source *random, int32_t low, int32_t high) {
  return low + (int32_t)(next_random(random) % (uint32_t)(high - low + 1));
}

static void random_point(random_source *random, int32_t *lat_e6, int32_t *lon_e6) {
  int32_t kind = random_between(random, 0, 9);
  if (kind <= 5) { /* around Antwerp */
    *lat_e6 = ANTWERP_LAT + random_between(random, -300000, 300000);
    *lon_e6 = ANTWERP_LON + random_between(random, -400000, 400000);
  } else if (kind == 6) { /* on a 0.05-degree band border, give or take a micro-degree */
    *lat_e6 = 51200000 + 50000 * random_between(random, -3, 3) + random_between(random, -1, 1);
    *lon_e6 = ANTWERP_LON + random_between(random, -100000, 100000);
  } else if (kind == 7) { /* near the antimeridian */
    *lat_e6 = random_between(random, -1000000, 1000000);
    *lon_e6 = random_between(random, 0, 1) ? random_between(random, 179800000, 180000000)
                                           : random_between(random, -180000000, -179800000);
  } else if (kind == 8) { /* near the north pole */
    *lat_e6 = random_between(random, 89700000, 90000000);
    *lon_e6 = random_between(random, -180000000, 180000000);
  } else {
    *lat_e6 = random_between(random, -90000000, 90000000);
    *lon_e6 = random_between(random, -180000000, 180000000);
  }
}

#define RANDOM_MAX_PUPILS 120
#define RANDOM_MAX_VACANCIES 160

typedef struct {
  eligibility_pupil pupils[RANDOM_MAX_PUPILS];
  eligibility_vacancy vacancies[RANDOM_MAX_VACANCIES];
  int32_t preferences[RANDOM_MAX_PUPILS][3];
  int32_t exclusions[RANDOM_MAX_PUPILS][2];
  int32_t pupil_count, vacancy_count;
} random_instance;

static void make_random_instance(uint64_t seed, random_instance *instance) {
  random_source random = {seed * 2654435761ULL + 17};
  instance->pupil_count = random_between(&random, 1, RANDOM_MAX_PUPILS);
  instance->vacancy_count = random_between(&random, 1, RANDOM_MAX_VACANCIES);
  static const int32_t radii[] = {0, 1, 300, 2500, 5000, 15000, 25000, 60000, 400000, 5000000, 25000000};
  for (int32_t j = 0; j < instance->vacancy_count; j++) {
    eligibility_vacancy *vacancy = &instance->vacancies[j];
    int32_t lat, lon;
    random_point(&random, &lat, &lon);
    *vacancy = make_vacancy(random_between(&random, 0, 2), random_between(&random, 0, 7), lat, lon,
                            random_between(&random, 0, 3));
    vacancy->recognised = random_between(&random, 0, 9) != 0;
    vacancy->open = random_between(&random, 0, 9) != 0;
    vacancy->preparatory = random_between(&random, 0, 3) == 0;
    vacancy->min_readiness = (uint8_t)random_between(&random, 0, 2);
    vacancy->day_mask = random_between(&random, 0, 2) == 0
                            ? ELIGIBILITY_DAY_MASK_ALL
                            : (uint16_t)random_between(&random, 0, ELIGIBILITY_DAY_MASK_ALL);
  }
  for (int32_t i = 0; i < instance->pupil_count; i++) {
    eligibility_pupil *pupil = &instance->pupils[i];
    int32_t lat, lon;
    random_point(&random, &lat, &lon);
    *pupil = make_pupil(random_between(&random, 0, 2), lat, lon,
                        radii[random_between(&random, 0, (int32_t)(sizeof radii / sizeof radii[0]) - 1)]);
    /* Some pupils sit exactly at the commute limit of a vacancy, or one metre short. */
    if (random_between(&random, 0, 4) == 0) {
      const eligibility_vacancy *target = &instance->vacancies[random_between(&random, 0, instance->vacancy_count - 1)];
      pupil->training = target->training;
      pupil->max_commute_m = distance_between(pupil, target) - random_between(&random, 0, 1);
      if (pupil->max_commute_m < 0) pupil->max_commute_m = 0;
    }
    pupil->readiness = (uint8_t)random_between(&random, 0, 2);
    pupil->newcomer = random_between(&random, 0, 3) == 0;
    pupil->special_needs = random_between(&random, 0, 5) == 0;
    pupil->day_mask = (uint16_t)(random_between(&random, 0, ELIGIBILITY_DAY_MASK_ALL) &
                                 random_between(&random, 0, ELIGIBILITY_DAY_MASK_ALL));
    pupil->waiting_days = random_between(&random, 0, 5000);
    int32_t preferred = random_between(&random, 0, 3);
    for (int32_t k = 0; k < preferred; k++) instance->preferences[i][k] = random_between(&random, 0, 7);
    pupil->preferred_companies = preferred ? instance->preferences[i] : NULL;
    pupil->preferred_count = preferred;
    int32_t excluded = random_between(&random, 0, 2);
    for (int32_t k = 0; k < excluded; k++) instance->exclusions[i][k] = random_between(&random, 0, 7);
    pupil->excluded_companies = excluded ? instance->exclusions[i] : NULL;
    pupil->excluded_count = excluded;
    if (random_between(&random, 0, 5) == 0)
      pupil->proposed_vacancy = random_between(&random, 0, instance->vacancy_count - 1);
    if (random_between(&random, 0, 11) == 0)
      pupil->fixed_vacancy = random_between(&random, 0, instance->vacancy_count - 1);
  }
}

/* The cost of a pair recomputed from the weights, independently of the library: the commute
 * counted up to 200 km, ranks up to the tenth, and the preparatory term of priority level 1. */
static int64_t expected_cost(const eligibility_pupil *pupil, const eligibility_vacancy *vacancy, int32_t vacancy_index,
                             const eligibility_weights *weights, const eligibility_levels *levels) {
  int64_t distance = distance_between(pupil, vacancy);
  if (distance > 200000) distance = 200000;
  int64_t cost = (distance + 50) / 100 * weights->cost_per_100m;
  if (pupil->preferred_count > 0) {
    int32_t rank = -1;
    for (int32_t k = pupil->preferred_count - 1; k >= 0; k--)
      if (pupil->preferred_companies[k] == vacancy->company) rank = k;
    cost += rank >= 0 ? (rank < 9 ? rank : 9) * weights->preference_rank_step : weights->not_preferred_penalty;
  }
  if (pupil->fixed_vacancy < 0 && pupil->proposed_vacancy >= 0 && pupil->proposed_vacancy != vacancy_index)
    cost += weights->move_penalty;
  if (vacancy->preparatory && pupil->readiness != READINESS_NOT_READY) cost += levels->preparatory_misuse;
  return cost;
}

Test(eligibility, grid_equals_brute_force) {
  static random_instance instance;
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  int64_t total_pairs = 0;
  for (uint64_t seed = 1; seed <= 400; seed++) {
    make_random_instance(seed, &instance);
    eligibility_problem problem;
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    build_ok(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, &weights, &problem,
             context);
    int64_t position = 0;
    for (int32_t i = 0; i < instance.pupil_count; i++) {
      const eligibility_pupil *pupil = &instance.pupils[i];
      for (int32_t j = 0; j < instance.vacancy_count; j++) {
        int expected = pupil->fixed_vacancy >= 0 ? j == pupil->fixed_vacancy
                                                 : eligibility_is_eligible(pupil, &instance.vacancies[j], NULL);
        if (!expected) continue;
        cr_assert_lt(position, problem.problem.pair_count, "%s: pupil %d vacancy %d missing", context, i, j);
        const matcher_pair *pair = &problem.pairs[position];
        cr_assert(pair->pupil == i && pair->vacancy == j, "%s: expected pair (%d, %d), got (%d, %d)", context, i, j,
                  pair->pupil, pair->vacancy);
        cr_assert_eq(pair->cost, expected_cost(pupil, &instance.vacancies[j], j, &weights, &problem.levels),
                     "%s: cost of (%d, %d)", context, i, j);
        cr_assert_eq(problem.pair_distance_m[position], distance_between(pupil, &instance.vacancies[j]),
                     "%s: distance of (%d, %d)", context, i, j);
        position++;
      }
    }
    cr_assert_eq(position, problem.problem.pair_count, "%s: extra pairs", context);
    total_pairs += position;
    eligibility_problem_free(&problem);
  }
  /* The instances are not trivially empty. */
  cr_expect_gt(total_pairs, 2000);
}

/* Every random built problem solves to a verified optimum, and explanations agree with the
 * pairs: a pupil left unplaced with pairs is SEATS_TAKEN, one without is a rule failure. */
Test(eligibility, solve_verify_and_explain_random) {
  static random_instance instance;
  static eligibility_explanation explanations[RANDOM_MAX_PUPILS];
  int32_t seats_taken = 0, rule_failures = 0;
  for (uint64_t seed = 1000; seed < 1100; seed++) {
    make_random_instance(seed, &instance);
    eligibility_problem problem;
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    build_ok(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, NULL, &problem,
             context);
    matcher_solution solution;
    solve_and_verify(&problem.problem, NULL, &solution, context);
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_explain(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count,
                                     NULL, &problem, &solution, NULL, explanations, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
    for (int32_t i = 0; i < instance.pupil_count; i++) {
      int has_pairs = 0;
      for (int64_t k = 0; k < problem.problem.pair_count; k++) has_pairs |= problem.pairs[k].pupil == i;
      if (solution.vacancy_of_pupil[i] != MATCHER_UNPLACED) {
        cr_assert_eq(explanations[i].reason, ELIGIBILITY_PLACED, "%s: pupil %d", context, i);
        cr_assert_eq(explanations[i].help[0], '\0');
      } else if (has_pairs) {
        cr_assert_eq(explanations[i].reason, ELIGIBILITY_SEATS_TAKEN, "%s: pupil %d", context, i);
        /* Optimal: every eligible seat is held, none by a weaker claim. */
        cr_assert_eq(explanations[i].stronger_claims + explanations[i].equal_claims + explanations[i].fixed_holders,
                     explanations[i].eligible_seats, "%s: pupil %d", context, i);
        seats_taken++;
      } else {
        cr_assert(explanations[i].reason != ELIGIBILITY_PLACED && explanations[i].reason != ELIGIBILITY_SEATS_TAKEN,
                  "%s: pupil %d reason %d", context, i, explanations[i].reason);
        cr_assert_neq(explanations[i].help[0], '\0');
        rule_failures++;
      }
    }
    matcher_solution_free(&solution);
    eligibility_problem_free(&problem);
  }
  cr_expect_gt(seats_taken, 0);
  cr_expect_gt(rule_failures, 0);
}

/* ------------------------------------------------------------------------------------------- */

Test(eligibility, costs_follow_weights) {
  static const int32_t preferred[] = {5, 9};
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.cost_per_100m = 3;
  weights.preference_rank_step = 7;
  weights.not_preferred_penalty = 50;
  weights.move_penalty = 11;
  /* Due north of the pupil, so distances are whole multiples of R * dlat. */
  eligibility_vacancy vacancies[3] = {
      make_vacancy(1, 9, ANTWERP_LAT + 10000, ANTWERP_LON, 1), /* second preference */
      make_vacancy(1, 5, ANTWERP_LAT + 20000, ANTWERP_LON, 1), /* first preference, proposed */
      make_vacancy(1, 4, ANTWERP_LAT + 30000, ANTWERP_LON, 1), /* not preferred */
  };
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 10000),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 10000)};
  pupils[0].preferred_companies = preferred;
  pupils[0].preferred_count = 2;
  pupils[0].proposed_vacancy = 1;
  eligibility_problem problem;
  build_ok(pupils, 2, vacancies, 3, &weights, &problem, "weights");
  cr_assert_eq(problem.problem.pair_count, 6);
  int64_t hundreds[3];
  for (int j = 0; j < 3; j++) hundreds[j] = (distance_between(&pupils[0], &vacancies[j]) + 50) / 100;
  cr_expect_eq(hundreds[0], 11); /* 1,112 m */
  cr_expect_eq(find_pair(&problem, 0, 0)->cost, hundreds[0] * 3 + 7 + 11);
  cr_expect_eq(find_pair(&problem, 0, 1)->cost, hundreds[1] * 3 + 0);
  cr_expect_eq(find_pair(&problem, 0, 2)->cost, hundreds[2] * 3 + 50 + 11);
  /* No preferences, no proposal: distance only. */
  for (int j = 0; j < 3; j++) cr_expect_eq(find_pair(&problem, 1, j)->cost, hundreds[j] * 3, "vacancy %d", j);
  eligibility_problem_free(&problem);
}

Test(eligibility, unplaced_penalty_levels_and_clamp) {
  eligibility_vacancy vacancy = make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1);
  eligibility_pupil pupils[5];
  for (int i = 0; i < 5; i++) pupils[i] = make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 1000);
  pupils[1].newcomer = 1;
  pupils[2].special_needs = 1;
  pupils[2].newcomer = 1;
  pupils[2].waiting_days = 30;
  pupils[3].waiting_days = 3650;
  pupils[4].waiting_days = 100000;
  eligibility_problem problem;
  build_ok(pupils, 5, &vacancy, 1, NULL, &problem, "penalties");
  /* Defaults: C = 2000 (200 km) + 200 + 100 = 2300, D = 2301, G = 2301 * 3651. */
  const eligibility_levels *levels = &problem.levels;
  cr_expect_eq(levels->pair_cost_max, 2300);
  cr_expect_eq(levels->per_waiting_day, 2301);
  cr_expect_eq(levels->priority_group, 2301LL * 3651);
  cr_expect_eq(levels->claim_max, 2301LL * 3651 + 2301LL * 3650);
  cr_expect_eq(levels->preparatory_misuse, levels->claim_max + 2301);
  cr_expect_eq(levels->unplaced_base, levels->preparatory_misuse + 2301);
  int64_t base = levels->unplaced_base;
  cr_expect_eq(problem.unplaced_penalty[0], base);
  cr_expect_eq(problem.unplaced_penalty[1], base + levels->priority_group);
  cr_expect_eq(problem.unplaced_penalty[2], base + levels->priority_group + 30 * 2301, "both flags count once");
  cr_expect_eq(problem.unplaced_penalty[3], base + 3650 * 2301);
  cr_expect_eq(problem.unplaced_penalty[4], problem.unplaced_penalty[3], "waiting days clamp at 3650");
  eligibility_problem_free(&problem);

  /* The largest weights allowed keep the largest penalty within the bound that keeps the
   * objective of MATCHER_COUNT_MAX pupils inside int64; one more is refused, by name. */
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.cost_per_100m = ELIGIBILITY_COST_PER_100M_MAX;
  weights.preference_rank_step = ELIGIBILITY_RANK_STEP_MAX;
  weights.not_preferred_penalty = ELIGIBILITY_PENALTY_MAX;
  weights.move_penalty = ELIGIBILITY_PENALTY_MAX;
  eligibility_levels largest;
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_levels_of(&weights, &largest, &error), MATCHER_OK, "%s", error.message);
  cr_expect_leq(largest.unplaced_max, ELIGIBILITY_UNPLACED_MAX);
  cr_expect_leq(largest.unplaced_max, INT64_MAX / MATCHER_COUNT_MAX);
  cr_expect_lt(largest.unplaced_max, MATCHER_VALUE_MAX);
  weights.cost_per_100m = ELIGIBILITY_COST_PER_100M_MAX + 1;
  cr_expect_eq(eligibility_levels_of(&weights, &largest, &error), MATCHER_INVALID);
  cr_expect(strstr(error.message, "cost_per_100m 101") != NULL, "%s", error.message);
}

Test(eligibility, fixed_pairs_kept_when_no_longer_eligible) {
  static const int32_t excluded[] = {3};
  eligibility_vacancy vacancies[2] = {make_vacancy(1, 3, BRUSSELS_LAT, BRUSSELS_LON, 1),
                                      make_vacancy(1, 4, ANTWERP_LAT, ANTWERP_LON, 1)};
  vacancies[0].open = 0;                                                        /* closed since */
  eligibility_pupil pupils[3] = {make_pupil(2, ANTWERP_LAT, ANTWERP_LON, 1000), /* other training now */
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 1000),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 1000)};
  pupils[0].fixed_vacancy = 0;
  pupils[0].excluded_companies = excluded;
  pupils[0].excluded_count = 1;
  /* Two agreements on a vacancy reduced to one seat. */
  pupils[1].fixed_vacancy = 1;
  pupils[2].fixed_vacancy = 1;
  cr_expect_not(eligibility_is_eligible(&pupils[0], &vacancies[0], NULL));
  eligibility_problem problem;
  build_ok(pupils, 3, vacancies, 2, NULL, &problem, "fixed");
  cr_assert_eq(problem.problem.pair_count, 3);
  cr_assert_eq(problem.problem.fixed_count, 3);
  cr_expect_eq(problem.fixed[0].pupil, 0);
  cr_expect_eq(problem.fixed[0].vacancy, 0);
  const matcher_pair *pair = find_pair(&problem, 0, 0);
  cr_assert_not_null(pair);
  cr_expect_eq(pair->cost, (41573 + 50) / 100);
  cr_expect_eq(problem.pair_distance_m[0], 41573);
  cr_expect_eq(problem.seats[0], 1, "closed vacancy keeps a seat for its agreement");
  cr_expect_eq(problem.seats[1], 2, "shrunk vacancy keeps both agreements");
  matcher_solution solution;
  solve_and_verify(&problem.problem, NULL, &solution, "fixed");
  cr_expect_eq(solution.vacancy_of_pupil[0], 0);
  cr_expect_eq(solution.vacancy_of_pupil[1], 1);
  cr_expect_eq(solution.vacancy_of_pupil[2], 1);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);

  /* A closed vacancy without agreements offers no seats. */
  pupils[0].fixed_vacancy = -1;
  build_ok(pupils, 1, vacancies, 2, NULL, &problem, "closed");
  cr_expect_eq(problem.seats[0], 0);
  eligibility_problem_free(&problem);
}

static void expect_build_refused(const eligibility_pupil *pupils, int32_t pupil_count,
                                 const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                 const eligibility_weights *weights, const char *fragment) {
  eligibility_problem problem;
  matcher_error error = {{0}};
  matcher_status status = eligibility_build(pupils, pupil_count, vacancies, vacancy_count, weights, &problem, &error);
  cr_expect_eq(status, MATCHER_INVALID, "expected refusal naming '%s'", fragment);
  cr_expect(strstr(error.message, fragment) != NULL, "message '%s' lacks '%s'", error.message, fragment);
  if (status == MATCHER_OK) eligibility_problem_free(&problem);
}

Test(eligibility, input_validation) {
  eligibility_vacancy vacancies[2] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1),
                                      make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 1000),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 1000)};
  vacancies[1].seats = -1;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "vacancy 1: seats -1");
  vacancies[1].seats = 1;
  vacancies[1].day_mask = 0x4000;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "vacancy 1: day_mask 0x4000");
  vacancies[1].day_mask = ELIGIBILITY_DAY_MASK_ALL;
  vacancies[1].lat_e6 = 90000001;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "vacancy 1: lat_e6 90000001");
  vacancies[1].lat_e6 = ANTWERP_LAT;
  vacancies[0].lon_e6 = -180000001;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "vacancy 0: lon_e6 -180000001");
  vacancies[0].lon_e6 = ANTWERP_LON;

  pupils[1].max_commute_m = -1;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 1: max_commute_m -1");
  pupils[1].max_commute_m = 1000;
  pupils[0].waiting_days = -3;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 0: waiting_days -3");
  pupils[0].waiting_days = 0;
  pupils[1].day_mask = 0x8000;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 1: day_mask 0x8000");
  pupils[1].day_mask = 0;
  pupils[1].fixed_vacancy = 2;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 1: fixed_vacancy 2");
  pupils[1].fixed_vacancy = -1;
  pupils[0].proposed_vacancy = -2;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 0: proposed_vacancy -2");
  pupils[0].proposed_vacancy = -1;
  pupils[0].preferred_count = 2;
  expect_build_refused(pupils, 2, vacancies, 2, NULL, "pupil 0: preferred_count 2");
  pupils[0].preferred_count = 0;

  eligibility_weights weights;
  eligibility_default_weights(&weights);
  weights.move_penalty = -1;
  expect_build_refused(pupils, 2, vacancies, 2, &weights, "weights: move_penalty -1");

  /* And the corrected input builds. */
  eligibility_problem problem;
  build_ok(pupils, 2, vacancies, 2, NULL, &problem, "valid again");
  cr_expect_eq(problem.problem.pair_count, 4);
  eligibility_problem_free(&problem);
}

/* ------------------------------------------------------------------------------------------- */
/* Explanations after a real solve. */

static void explain_one(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                        int32_t vacancy_count, eligibility_explanation *explanations, const char *context) {
  eligibility_problem problem;
  build_ok(pupils, pupil_count, vacancies, vacancy_count, NULL, &problem, context);
  matcher_solution solution;
  solve_and_verify(&problem.problem, NULL, &solution, context);
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_explain(pupils, pupil_count, vacancies, vacancy_count, NULL, &problem, &solution, NULL,
                                   explanations, &error),
               MATCHER_OK, "%s: %s", context, error.message);
  matcher_solution_free(&solution);
  eligibility_problem_free(&problem);
}

static void expect_help_contains(const eligibility_explanation *explanation, const char *fragment) {
  cr_expect(strstr(explanation->help, fragment) != NULL, "help '%s' lacks '%s'", explanation->help, fragment);
}

Test(eligibility, explain_no_recognised_vacancy) {
  eligibility_vacancy vacancies[2] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1),
                                      make_vacancy(2, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  vacancies[0].recognised = 0;
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000),
                                 make_pupil(3, ANTWERP_LAT, ANTWERP_LON, 15000)};
  eligibility_explanation explanations[2];
  explain_one(pupils, 2, vacancies, 2, explanations, "no recognised");
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_NO_RECOGNISED_VACANCY);
  cr_expect_eq(explanations[0].candidates_after_rule, 1, "one vacancy in the training, not recognised");
  expect_help_contains(&explanations[0], "No open place in this training at a company recognised for it.");
  cr_expect_eq(explanations[0].hint, ELIGIBILITY_HINT_NEW_PLACE);
  cr_expect_eq(explanations[0].hint_vacancy, -1, "near the pupil's home");
  expect_help_contains(&explanations[0], "1 more REGULAR seat in this training on Mon, Tue (A and B), near the pupil's "
                                         "home (within 15 km), would place this pupil");
  cr_expect_eq(explanations[1].reason, ELIGIBILITY_NO_RECOGNISED_VACANCY, "training without vacancies");
  cr_expect_eq(explanations[1].candidates_after_rule, 0);
}

Test(eligibility, explain_readiness_too_low) {
  eligibility_vacancy vacancies[1] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  vacancies[0].min_readiness = READINESS_NOT_READY;
  eligibility_pupil pupils[1] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000)};
  pupils[0].readiness = READINESS_NOT_READY;
  eligibility_explanation explanations[1];
  explain_one(pupils, 1, vacancies, 1, explanations, "readiness");
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_READINESS_TOO_LOW);
  cr_expect_eq(explanations[0].candidates_after_rule, 1);
  expect_help_contains(&explanations[0], "only a PREPARATORY place will do");
  cr_expect_eq(explanations[0].hint, ELIGIBILITY_HINT_NEW_PLACE);
  cr_expect_eq(explanations[0].hint_preparatory, 1);
  cr_expect_eq(explanations[0].hint_vacancy, 0, "at the location of the place it cannot take");
  expect_help_contains(
      &explanations[0],
      "1 more PREPARATORY seat in this training on Mon, Tue (A and B), at the location of vacancy 0 (0 km)");
}

Test(eligibility, explain_none_within_commute) {
  /* Two places, the nearer 41.6 km away; the pupil commutes 15 km. */
  eligibility_vacancy vacancies[2] = {make_vacancy(1, 1, BRUSSELS_LAT, BRUSSELS_LON, 1),
                                      make_vacancy(1, 2, BRUSSELS_LAT - 100000, BRUSSELS_LON, 1)};
  eligibility_pupil pupils[1] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000)};
  eligibility_explanation explanations[1];
  explain_one(pupils, 1, vacancies, 2, explanations, "commute");
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_NONE_WITHIN_COMMUTE);
  cr_expect_eq(explanations[0].candidates_after_rule, 2);
  cr_expect_eq(explanations[0].nearest_distance_m, 41573);
  cr_expect_eq(explanations[0].nearest_vacancy, 0);
  expect_help_contains(&explanations[0], "No place in this training within the commute of 15 km; the nearest that fits "
                                         "otherwise is vacancy 0 at 41.6 km.");
  expect_help_contains(&explanations[0], "near the pupil's home (within 15 km), would place this pupil");
}

Test(eligibility, explain_no_compatible_days) {
  eligibility_vacancy vacancies[1] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  vacancies[0].day_mask = WEEK_A(MON) | WEEK_B(MON | TUE);
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 12500)};
  pupils[1].day_mask = WEEK_A(TUE | WED) | WEEK_B(MON);
  eligibility_explanation explanations[2];
  explain_one(pupils, 2, vacancies, 1, explanations, "days");
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_NO_COMPATIBLE_DAYS);
  cr_expect_eq(explanations[0].candidates_after_rule, 1);
  expect_help_contains(&explanations[0], "within 15 km do not cover the pupil's days, Mon, Tue (A and B).");
  cr_expect_eq(explanations[1].reason, ELIGIBILITY_NO_COMPATIBLE_DAYS);
  expect_help_contains(&explanations[1], "within 12.5 km do not cover the pupil's days, Tue, Wed (A) and Mon (B).");
  /* The hints: one place on each pupil's own days at that location; they do not compete. */
  cr_expect_eq(explanations[0].hint, ELIGIBILITY_HINT_NEW_PLACE);
  cr_expect_eq(explanations[0].hint_seats, 1);
  expect_help_contains(
      &explanations[1],
      "1 more REGULAR seat in this training on Tue, Wed (A) and Mon (B), at the location of vacancy 0");
}

Test(eligibility, explain_all_excluded) {
  static const int32_t excluded[] = {1, 2};
  eligibility_vacancy vacancies[2] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1),
                                      make_vacancy(1, 2, ANTWERP_LAT, ANTWERP_LON, 1)};
  eligibility_pupil pupils[1] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000)};
  pupils[0].excluded_companies = excluded;
  pupils[0].excluded_count = 2;
  eligibility_explanation explanations[1];
  explain_one(pupils, 1, vacancies, 2, explanations, "excluded");
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_ALL_EXCLUDED);
  cr_expect_eq(explanations[0].candidates_after_rule, 2);
  expect_help_contains(&explanations[0],
                       "The 2 suitable places in this training within 15 km are all at companies excluded");
  cr_expect_eq(explanations[0].hint_new_company, 1);
  expect_help_contains(&explanations[0], "at another company at the location of vacancy 0");
}

Test(eligibility, explain_seats_taken) {
  /* Two pupils, one seat: the one who waited longer has the better claim. */
  eligibility_vacancy vacancies[1] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  eligibility_pupil pupils[2] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000),
                                 make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000)};
  pupils[0].waiting_days = 10;
  pupils[1].waiting_days = 40;
  eligibility_explanation explanations[2];
  explain_one(pupils, 2, vacancies, 1, explanations, "seats");
  cr_expect_eq(explanations[1].reason, ELIGIBILITY_PLACED);
  cr_expect_eq(explanations[1].help[0], '\0');
  cr_expect_eq(explanations[0].reason, ELIGIBILITY_SEATS_TAKEN);
  cr_expect_eq(explanations[0].eligible_seats, 1);
  cr_expect_eq(explanations[0].stronger_claims, 1);
  cr_expect_eq(explanations[0].equal_claims, 0);
  cr_expect_eq(explanations[0].nearest_distance_m, -1);
  expect_help_contains(&explanations[0],
                       "All 1 seats of the 1 eligible places are held, each by a claim at least as strong: 1 stronger");
  cr_expect_eq(explanations[0].hint, ELIGIBILITY_HINT_MORE_SEATS);
  expect_help_contains(&explanations[0],
                       "1 more seat at vacancy 0 (REGULAR, 0 km) would place this pupil (checked by re-solving).");
}

Test(eligibility, explain_refuses_bad_solution) {
  eligibility_vacancy vacancies[1] = {make_vacancy(1, 1, ANTWERP_LAT, ANTWERP_LON, 1)};
  eligibility_pupil pupils[1] = {make_pupil(1, ANTWERP_LAT, ANTWERP_LON, 15000)};
  int32_t vacancy_of_pupil[1] = {3};
  matcher_solution solution;
  memset(&solution, 0, sizeof solution);
  solution.vacancy_of_pupil = vacancy_of_pupil;
  eligibility_explanation explanations[1];
  eligibility_problem problem;
  build_ok(pupils, 1, vacancies, 1, NULL, &problem, "bad solution");
  matcher_error error = {{0}};
  cr_expect_eq(eligibility_explain(pupils, 1, vacancies, 1, NULL, &problem, &solution, NULL, explanations, &error),
               MATCHER_INVALID);
  cr_expect(strstr(error.message, "pupil 0 placed at vacancy 3") != NULL, "%s", error.message);
  /* A solution that leaves the pupil beside the free seat is not explained: its reason would lie. */
  vacancy_of_pupil[0] = MATCHER_UNPLACED;
  cr_expect_eq(eligibility_explain(pupils, 1, vacancies, 1, NULL, &problem, &solution, NULL, explanations, &error),
               MATCHER_NOT_OPTIMAL);
  cr_expect(strstr(error.message, "beside a free seat") != NULL, "%s", error.message);
  eligibility_problem_free(&problem);
}

/* ---- reuse of a previous build ---------------------------------------------------------- */

static uint32_t reuse_seed = 12345;
static int32_t reuse_rand(int32_t n) {
  reuse_seed = reuse_seed * 1103515245u + 12345u;
  return (int32_t)((reuse_seed >> 8) % (uint32_t)n);
}

/* Pairs and distances of two builds are the same, pair for pair. */
static void assert_same_problem(const eligibility_problem *a, const eligibility_problem *b) {
  cr_assert_eq(a->problem.pair_count, b->problem.pair_count, "pairs: %lld vs %lld", (long long)a->problem.pair_count,
               (long long)b->problem.pair_count);
  for (int64_t k = 0; k < a->problem.pair_count; k++) {
    cr_assert_eq(a->pairs[k].pupil, b->pairs[k].pupil, "pair %lld", (long long)k);
    cr_assert_eq(a->pairs[k].vacancy, b->pairs[k].vacancy, "pair %lld", (long long)k);
    cr_assert_eq(a->pairs[k].cost, b->pairs[k].cost, "pair %lld", (long long)k);
    cr_assert_eq(a->pair_distance_m[k], b->pair_distance_m[k], "pair %lld", (long long)k);
  }
  for (int32_t i = 0; i < a->problem.pupil_count; i++) cr_assert_eq(a->unplaced_penalty[i], b->unplaced_penalty[i]);
  for (int32_t j = 0; j < a->problem.vacancy_count; j++) cr_assert_eq(a->seats[j], b->seats[j]);
}

static void expect_in_place_equals(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const eligibility_previous *previous, const eligibility_problem *reused);

/* After random changes to pupils (moves, commutes, days, exclusions, proposals, fixing) and
 * vacancies (moves, closing, days, companies, new ones, removed ones), the build that reuses
 * the previous pairs equals a fresh build, and it did reuse most pupils. */
Test(eligibility, build_reusing_equals_a_fresh_build) {
  enum { PUPILS = 600, VACANCIES = 300, TRAININGS = 3, COMPANIES = 40 };
  static eligibility_pupil before[PUPILS], after[PUPILS];
  static eligibility_vacancy old_vacancies[VACANCIES], vacancies[VACANCIES + 20];
  static int32_t excluded_before[PUPILS], excluded_after[PUPILS];
  int32_t same_pupil[PUPILS], same_vacancy[VACANCIES + 20];
  for (int32_t j = 0; j < VACANCIES; j++) {
    old_vacancies[j] =
        make_vacancy(reuse_rand(TRAININGS), reuse_rand(COMPANIES), ANTWERP_LAT + reuse_rand(200000) - 100000,
                     ANTWERP_LON + reuse_rand(300000) - 150000, 1 + reuse_rand(3));
    old_vacancies[j].day_mask = reuse_rand(4) ? ELIGIBILITY_DAY_MASK_ALL : WEEK_A(MON | TUE) | WEEK_B(MON | TUE);
    old_vacancies[j].preparatory = reuse_rand(5) == 0;
  }
  for (int32_t i = 0; i < PUPILS; i++) {
    before[i] = make_pupil(reuse_rand(TRAININGS), ANTWERP_LAT + reuse_rand(200000) - 100000,
                           ANTWERP_LON + reuse_rand(300000) - 150000, 5000 + reuse_rand(20000));
    before[i].readiness = (uint8_t)reuse_rand(3);
    excluded_before[i] = reuse_rand(COMPANIES);
    before[i].excluded_companies = &excluded_before[i];
    before[i].excluded_count = reuse_rand(3) == 0;
    before[i].waiting_days = reuse_rand(100);
  }
  eligibility_problem first;
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_build(before, PUPILS, old_vacancies, VACANCIES, NULL, &first, &error), MATCHER_OK, "%s",
               error.message);

  /* The changes: vacancy j now is old j + 5 (the first five removed), twenty new at the end. */
  int32_t vacancy_count = VACANCIES - 5 + 20;
  for (int32_t j = 0; j < vacancy_count; j++) {
    int32_t old = j + 5;
    if (old < VACANCIES) {
      vacancies[j] = old_vacancies[old];
      same_vacancy[j] = old;
      int change = reuse_rand(20);
      if (change == 0) vacancies[j].lat_e6 += 3000;
      if (change == 1) vacancies[j].open = 0;
      if (change == 2) vacancies[j].day_mask = WEEK_A(MON);
      if (change == 3) vacancies[j].company = (vacancies[j].company + 1) % COMPANIES;
      if (change == 4) vacancies[j].seats += 2; /* seats only: still reusable */
    } else {
      vacancies[j] =
          make_vacancy(reuse_rand(TRAININGS), reuse_rand(COMPANIES), ANTWERP_LAT + reuse_rand(200000) - 100000,
                       ANTWERP_LON + reuse_rand(300000) - 150000, 2);
      same_vacancy[j] = -1;
    }
  }
  for (int32_t i = 0; i < PUPILS; i++) {
    after[i] = before[i];
    excluded_after[i] = excluded_before[i];
    after[i].excluded_companies = &excluded_after[i];
    after[i].waiting_days++;
    same_pupil[i] = i;
    int change = reuse_rand(40);
    if (change == 0) after[i].lat_e6 += 5000;
    if (change == 1) after[i].max_commute_m += 3000;
    if (change == 2) after[i].day_mask = WEEK_A(MON);
    if (change == 3) after[i].excluded_count = 1, excluded_after[i] = (excluded_after[i] + 1) % COMPANIES;
    if (change == 4 && first.problem.pair_count > 0) after[i].fixed_vacancy = reuse_rand(vacancy_count);
    if (change == 5) after[i].proposed_vacancy = reuse_rand(vacancy_count); /* cost only */
    if (change == 6) after[i].readiness = (uint8_t)((after[i].readiness + 1) % 3);
    if (change == 7) same_pupil[i] = -1; /* a new pupil in an old one's place */
  }
  eligibility_previous previous = {before,
                                   PUPILS,
                                   old_vacancies,
                                   VACANCIES,
                                   {0},
                                   first.pairs,
                                   first.pair_distance_m,
                                   first.problem.pair_count,
                                   same_pupil,
                                   same_vacancy,
                                   NULL};
  eligibility_default_weights(&previous.weights);
  eligibility_problem fresh, reused;
  cr_assert_eq(eligibility_build(after, PUPILS, vacancies, vacancy_count, NULL, &fresh, &error), MATCHER_OK, "%s",
               error.message);
  cr_assert_eq(eligibility_build_reusing(after, PUPILS, vacancies, vacancy_count, NULL, &previous, &reused, &error),
               MATCHER_OK, "%s", error.message);
  cr_assert_gt(fresh.problem.pair_count, PUPILS, "the instance has pairs to compare");
  assert_same_problem(&fresh, &reused);
  expect_in_place_equals(after, PUPILS, vacancies, vacancy_count, &previous, &reused);
  cr_assert_gt(reused.reused_pupils, PUPILS * 3 / 4, "most pupils are reused: %d", reused.reused_pupils);
  cr_assert_lt(reused.reused_pupils, PUPILS, "changed and fixed pupils are searched again");

  /* Other rule weights: nothing may be reused. */
  previous.weights.start_window_days++;
  eligibility_problem_free(&reused);
  cr_assert_eq(eligibility_build_reusing(after, PUPILS, vacancies, vacancy_count, NULL, &previous, &reused, &error),
               MATCHER_OK);
  cr_assert_eq(reused.reused_pupils, 0);
  assert_same_problem(&fresh, &reused);
  eligibility_problem_free(&first);
  eligibility_problem_free(&fresh);
  eligibility_problem_free(&reused);
}

/* ---- the fast paths against the plain definitions ------------------------------------------ */

/* Vacancy j of a random instance sometimes shares the point of vacancy j - 1 (a company's
 * vacancies at one location, whose distance the search computes once); some vacancies have a
 * start date and some pupils a wanted start, around the window's end (rule 6). */
static void share_locations_and_dates(uint64_t seed, random_instance *instance) {
  random_source random = {seed * 40503ULL + 7};
  int32_t september = eligibility_day_of(2026, 9, 1);
  for (int32_t j = 0; j < instance->vacancy_count; j++) {
    if (j > 0 && random_between(&random, 0, 2) == 0) {
      instance->vacancies[j].lat_e6 = instance->vacancies[j - 1].lat_e6;
      instance->vacancies[j].lon_e6 = instance->vacancies[j - 1].lon_e6;
    }
    instance->vacancies[j].start_day = random_between(&random, 0, 1) ? september + random_between(&random, -5, 60) : 0;
  }
  for (int32_t i = 0; i < instance->pupil_count; i++)
    instance->pupils[i].wanted_start_day =
        random_between(&random, 0, 2) ? september + random_between(&random, -10, 10) : 0;
}

/* The nearest of a list by distance, then index (the header's "nearest"). */
static void plain_nearest(int32_t vacancy, int32_t distance, int32_t *best, int32_t *best_distance) {
  if (*best < 0 || distance < *best_distance || (distance == *best_distance && vacancy < *best))
    *best = vacancy, *best_distance = distance;
}

/* An unplaced pupil's explanation by the definitions of eligibility.h, scanning every vacancy
 * with eligibility_failed_rule, and compared field by field with eligibility_explain's. */
static void expect_plain_explanation(const random_instance *instance, const eligibility_weights *weights,
                                     const eligibility_problem *built, const matcher_solution *solution, int32_t i,
                                     const eligibility_explanation *got, const char *context) {
  const eligibility_pupil *pupil = &instance->pupils[i];
  eligibility_pupil unbounded = *pupil;
  unbounded.max_commute_m = INT32_MAX;
  int32_t passed[ELIGIBILITY_STARTS_TOO_LATE + 1] = {0}; /* [k]: vacancies passing rules 1..k; [0]: all */
  int32_t model[ELIGIBILITY_SEATS_TAKEN + 1], model_distance[ELIGIBILITY_SEATS_TAKEN + 1];
  for (int r = 0; r <= ELIGIBILITY_SEATS_TAKEN; r++) model[r] = -1, model_distance[r] = -1;
  int32_t eligible_seats = 0, stronger = 0, equal = 0, fixed = 0;
  int64_t cheapest = INT64_MAX;
  for (int32_t j = 0; j < instance->vacancy_count; j++) {
    const eligibility_vacancy *vacancy = &instance->vacancies[j];
    if (vacancy->training != pupil->training) continue;
    passed[0]++;
    eligibility_reason failed = eligibility_failed_rule(pupil, vacancy, weights);
    for (int k = 1; k <= ELIGIBILITY_STARTS_TOO_LATE; k++) passed[k] += failed == ELIGIBILITY_PLACED || (int)failed > k;
    int32_t distance = distance_between(pupil, vacancy);
    int within = distance <= pupil->max_commute_m;
    if (within && (failed == ELIGIBILITY_PLACED || failed > ELIGIBILITY_NO_RECOGNISED_VACANCY))
      plain_nearest(j, distance, &model[ELIGIBILITY_READINESS_TOO_LOW], &model_distance[ELIGIBILITY_READINESS_TOO_LOW]);
    for (int r = ELIGIBILITY_NO_COMPATIBLE_DAYS; r <= ELIGIBILITY_STARTS_TOO_LATE; r++)
      if (failed == ELIGIBILITY_PLACED || (int)failed >= r) plain_nearest(j, distance, &model[r], &model_distance[r]);
    if (eligibility_is_eligible(&unbounded, vacancy, weights))
      plain_nearest(j, distance, &model[ELIGIBILITY_NONE_WITHIN_COMMUTE],
                    &model_distance[ELIGIBILITY_NONE_WITHIN_COMMUTE]);
    if (failed != ELIGIBILITY_PLACED) continue;
    eligible_seats += built->seats[j];
    int64_t cost = eligibility_pair_cost(pupil, vacancy, j, distance, 0, weights, &built->levels);
    if (cost < cheapest) cheapest = cost;
    for (int32_t h = 0; h < instance->pupil_count; h++) {
      if (solution->vacancy_of_pupil[h] != j) continue;
      const eligibility_pupil *holder = &instance->pupils[h];
      int order =
          eligibility_compare_claims(eligibility_claim_on(holder, vacancy), eligibility_claim_on(pupil, vacancy));
      if (holder->fixed_vacancy >= 0)
        fixed++;
      else if (order > 0)
        stronger++;
      else
        equal++;
    }
  }
  eligibility_reason reason = ELIGIBILITY_SEATS_TAKEN;
  int32_t candidates = passed[ELIGIBILITY_STARTS_TOO_LATE];
  for (int k = ELIGIBILITY_NO_RECOGNISED_VACANCY; k <= ELIGIBILITY_STARTS_TOO_LATE; k++)
    if (passed[k] == 0) {
      reason = (eligibility_reason)k;
      candidates = passed[k - 1];
      break;
    }
  cr_assert_eq(got->reason, reason, "%s: pupil %d: reason %d, plainly %d", context, i, got->reason, reason);
  cr_assert_eq(got->candidates_after_rule, candidates, "%s: pupil %d: candidates %d, plainly %d", context, i,
               got->candidates_after_rule, candidates);
  if (reason == ELIGIBILITY_NONE_WITHIN_COMMUTE) {
    cr_assert_eq(got->nearest_vacancy, model[reason], "%s: pupil %d: nearest %d, plainly %d", context, i,
                 got->nearest_vacancy, model[reason]);
    cr_assert_eq(got->nearest_distance_m, model_distance[reason], "%s: pupil %d", context, i);
  } else {
    cr_assert_eq(got->nearest_vacancy, -1, "%s: pupil %d", context, i);
  }
  if (reason == ELIGIBILITY_SEATS_TAKEN) {
    cr_assert_eq(got->eligible_seats, eligible_seats, "%s: pupil %d", context, i);
    cr_assert_eq(got->stronger_claims, stronger, "%s: pupil %d", context, i);
    cr_assert_eq(got->equal_claims, equal, "%s: pupil %d", context, i);
    cr_assert_eq(got->fixed_holders, fixed, "%s: pupil %d", context, i);
    /* More seats at a cheapest eligible place (which of equal ones is the search's order). */
    int32_t j = got->hint_vacancy;
    cr_assert(j >= 0 && eligibility_is_eligible(pupil, &instance->vacancies[j], weights), "%s: pupil %d", context, i);
    cr_assert_eq(eligibility_pair_cost(pupil, &instance->vacancies[j], j,
                                       distance_between(pupil, &instance->vacancies[j]), 0, weights, &built->levels),
                 cheapest, "%s: pupil %d: the hint's place is not a cheapest one", context, i);
  } else {
    cr_assert_eq(got->eligible_seats + got->stronger_claims + got->equal_claims + got->fixed_holders, 0);
    int32_t expected_model =
        reason == ELIGIBILITY_NO_RECOGNISED_VACANCY || reason == ELIGIBILITY_NONE_WITHIN_COMMUTE ? -1 : model[reason];
    cr_assert_eq(got->hint_vacancy, expected_model, "%s: pupil %d (reason %d): hint place %d, plainly %d", context, i,
                 reason, got->hint_vacancy, expected_model);
    if (expected_model >= 0) cr_assert_eq(got->hint_distance_m, model_distance[reason], "%s: pupil %d", context, i);
  }
}

/* eligibility_explain (grid boxes, per-training counts, the outward search for the nearest
 * place beyond the commute) equals the plain scan on random instances, poles and antimeridian
 * included, with both settings of ready_on_preparatory. */
Test(eligibility, explain_equals_the_plain_scan) {
  static random_instance instance;
  static eligibility_explanation explanations[RANDOM_MAX_PUPILS];
  int32_t reasons[ELIGIBILITY_SEATS_TAKEN + 1] = {0};
  for (uint64_t seed = 3000; seed < 3300; seed++) {
    make_random_instance(seed, &instance);
    share_locations_and_dates(seed, &instance);
    eligibility_weights weights;
    eligibility_default_weights(&weights);
    weights.ready_on_preparatory = seed % 3 != 0;
    weights.hint_pair_budget = seed % 2 ? 0 : 20000;
    eligibility_problem problem;
    char context[64];
    snprintf(context, sizeof context, "seed %llu", (unsigned long long)seed);
    build_ok(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, &weights, &problem,
             context);
    matcher_solution solution;
    solve_and_verify(&problem.problem, NULL, &solution, context);
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_explain(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count,
                                     &weights, &problem, &solution, NULL, explanations, &error),
                 MATCHER_OK, "%s: %s", context, error.message);
    for (int32_t i = 0; i < instance.pupil_count; i++) {
      reasons[explanations[i].reason]++;
      if (solution.vacancy_of_pupil[i] == MATCHER_UNPLACED)
        expect_plain_explanation(&instance, &weights, &problem, &solution, i, &explanations[i], context);
    }
    matcher_solution_free(&solution);
    eligibility_problem_free(&problem);
  }
  /* Every reason occurs, so every path was compared. */
  for (int r = ELIGIBILITY_NO_RECOGNISED_VACANCY; r <= ELIGIBILITY_SEATS_TAKEN; r++)
    cr_expect_gt(reasons[r], 0, "reason %d never occurred", r);
}

/* The grid search (co-located vacancies sharing one distance) equals the pair test. */
Test(eligibility, grid_with_shared_locations_equals_the_pair_test) {
  static random_instance instance;
  int64_t pairs = 0;
  for (uint64_t seed = 5000; seed < 5300; seed++) {
    make_random_instance(seed, &instance);
    share_locations_and_dates(seed, &instance);
    eligibility_problem problem;
    build_ok(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, NULL, &problem, "grid");
    int64_t position = 0;
    for (int32_t i = 0; i < instance.pupil_count; i++)
      for (int32_t j = 0; j < instance.vacancy_count; j++) {
        const eligibility_pupil *pupil = &instance.pupils[i];
        if (pupil->fixed_vacancy >= 0 ? j != pupil->fixed_vacancy
                                      : !eligibility_is_eligible(pupil, &instance.vacancies[j], NULL))
          continue;
        cr_assert_lt(position, problem.problem.pair_count, "seed %llu: pair (%d, %d) missing", (unsigned long long)seed,
                     i, j);
        cr_assert(problem.pairs[position].pupil == i && problem.pairs[position].vacancy == j,
                  "seed %llu: expected (%d, %d), got (%d, %d)", (unsigned long long)seed, i, j,
                  problem.pairs[position].pupil, problem.pairs[position].vacancy);
        cr_assert_eq(problem.pair_distance_m[position], distance_between(pupil, &instance.vacancies[j]));
        position++;
      }
    cr_assert_eq(position, problem.problem.pair_count, "seed %llu: extra pairs", (unsigned long long)seed);
    pairs += position;
    eligibility_problem_free(&problem);
  }
  cr_expect_gt(pairs, 2000);
}

/* pupil_changed of a reusing build: exactly the pupils whose row or penalty differs from the
 * previous build's (the comparison the matcher's warm start would otherwise need). */
Test(eligibility, build_reusing_reports_the_changed_pupils) {
  enum { PUPILS = 500, VACANCIES = 260, TRAININGS = 3, COMPANIES = 30 };
  static eligibility_pupil before[PUPILS], after[PUPILS];
  static eligibility_vacancy old_vacancies[VACANCIES], vacancies[VACANCIES + 1];
  static int32_t preferred[PUPILS][2];
  int32_t same_pupil[PUPILS], same_vacancy[VACANCIES + 1];
  reuse_seed = 777;
  for (int32_t j = 0; j < VACANCIES; j++)
    old_vacancies[j] =
        make_vacancy(reuse_rand(TRAININGS), reuse_rand(COMPANIES), ANTWERP_LAT + reuse_rand(200000) - 100000,
                     ANTWERP_LON + reuse_rand(300000) - 150000, 1 + reuse_rand(2));
  for (int32_t i = 0; i < PUPILS; i++) {
    before[i] = make_pupil(reuse_rand(TRAININGS), ANTWERP_LAT + reuse_rand(200000) - 100000,
                           ANTWERP_LON + reuse_rand(300000) - 150000, 5000 + reuse_rand(20000));
    before[i].waiting_days = reuse_rand(50);
    preferred[i][0] = reuse_rand(COMPANIES), preferred[i][1] = reuse_rand(COMPANIES);
    before[i].preferred_companies = preferred[i];
    before[i].preferred_count = reuse_rand(3);
    before[i].proposed_vacancy = reuse_rand(2) ? reuse_rand(VACANCIES) : -1;
  }
  eligibility_problem first;
  matcher_error error = {{0}};
  cr_assert_eq(eligibility_build(before, PUPILS, old_vacancies, VACANCIES, NULL, &first, &error), MATCHER_OK);
  /* Vacancy 0 is gone, 1 moved, the rest shift down by one; one new vacancy at the end. */
  int32_t vacancy_count = VACANCIES;
  for (int32_t j = 0; j + 1 < VACANCIES; j++) vacancies[j] = old_vacancies[j + 1], same_vacancy[j] = j + 1;
  vacancies[0].lat_e6 += 2000;
  vacancies[VACANCIES - 1] = make_vacancy(0, 1, ANTWERP_LAT + 110000, ANTWERP_LON, 2); /* at the edge */
  same_vacancy[VACANCIES - 1] = -1;
  for (int32_t i = 0; i < PUPILS; i++) {
    after[i] = before[i];
    same_pupil[i] = i;
    if (after[i].proposed_vacancy >= 0) after[i].proposed_vacancy = after[i].proposed_vacancy - 1; /* shifted */
    int change = reuse_rand(25);
    if (change == 0) after[i].lat_e6 += 4000;
    if (change == 1) after[i].waiting_days++;                               /* penalty only */
    if (change == 2) after[i].proposed_vacancy = reuse_rand(vacancy_count); /* costs only */
    if (change == 3) after[i].preferred_count = 0;
    if (change == 4) same_pupil[i] = -1;
  }
  eligibility_previous previous = {before,
                                   PUPILS,
                                   old_vacancies,
                                   VACANCIES,
                                   {0},
                                   first.pairs,
                                   first.pair_distance_m,
                                   first.problem.pair_count,
                                   same_pupil,
                                   same_vacancy,
                                   NULL};
  eligibility_default_weights(&previous.weights);
  eligibility_problem fresh, reused;
  cr_assert_eq(eligibility_build(after, PUPILS, vacancies, vacancy_count, NULL, &fresh, &error), MATCHER_OK);
  cr_assert_eq(eligibility_build_reusing(after, PUPILS, vacancies, vacancy_count, NULL, &previous, &reused, &error),
               MATCHER_OK, "%s", error.message);
  assert_same_problem(&fresh, &reused);
  cr_assert_null(fresh.pupil_changed, "a plain build has no previous one to compare with");
  expect_in_place_equals(after, PUPILS, vacancies, vacancy_count, &previous, &reused);
  cr_assert_not_null(reused.pupil_changed);
  int64_t *first_pair = calloc(PUPILS + 1, sizeof *first_pair);
  for (int64_t k = 0; k < first.problem.pair_count; k++) first_pair[first.pairs[k].pupil + 1]++;
  for (int32_t p = 0; p < PUPILS; p++) first_pair[p + 1] += first_pair[p];
  int32_t changed = 0, unchanged = 0;
  int64_t k = 0;
  for (int32_t i = 0; i < PUPILS; i++) {
    int64_t begin = k;
    while (k < reused.problem.pair_count && reused.pairs[k].pupil == i) k++;
    int32_t p = same_pupil[i];
    int expected = p < 0 || first.unplaced_penalty[p] != reused.unplaced_penalty[i] ||
                   first_pair[p + 1] - first_pair[p] != k - begin;
    for (int64_t n = 0; !expected && n < k - begin; n++)
      expected = same_vacancy[reused.pairs[begin + n].vacancy] != first.pairs[first_pair[p] + n].vacancy ||
                 reused.pairs[begin + n].cost != first.pairs[first_pair[p] + n].cost;
    cr_assert_eq(reused.pupil_changed[i] != 0, expected, "pupil %d: changed %d, expected %d", i,
                 reused.pupil_changed[i], expected);
    changed += expected, unchanged += !expected;
  }
  cr_expect_gt(changed, 20);
  cr_expect_gt(unchanged, PUPILS / 4, "unchanged %d, changed %d", unchanged, changed);
  free(first_pair);
  eligibility_problem_free(&first);
  eligibility_problem_free(&fresh);
  eligibility_problem_free(&reused);
}

/* A grid too large for the cache is searched in its own order (build_cold): the same problem
 * as the pupil-by-pupil search (a reusing build that can reuse nothing takes that path), and a
 * sample of pupils checked against the pair test. */
Test(eligibility, large_grid_in_grid_order_equals_the_pupil_order) {
  enum { PUPILS = 3000, VACANCIES = 70000, TRAININGS = 4, COMPANIES = 9000, SAMPLE = 12 };
  eligibility_pupil *pupils = calloc(PUPILS, sizeof *pupils);
  eligibility_vacancy *vacancies = calloc(VACANCIES, sizeof *vacancies);
  int32_t *same_pupil = malloc(PUPILS * sizeof *same_pupil), *same_vacancy = malloc(VACANCIES * sizeof *same_vacancy);
  int32_t *company_lat = malloc(COMPANIES * sizeof *company_lat),
          *company_lon = malloc(COMPANIES * sizeof *company_lon);
  reuse_seed = 4242;
  for (int32_t k = 0; k < COMPANIES; k++)
    company_lat[k] = ANTWERP_LAT + reuse_rand(1500000) - 750000, company_lon[k] = ANTWERP_LON + reuse_rand(2000000);
  for (int32_t j = 0; j < VACANCIES; j++) {
    int32_t company = reuse_rand(COMPANIES);
    vacancies[j] = make_vacancy(reuse_rand(TRAININGS), company, company_lat[company], company_lon[company], 1);
    vacancies[j].preparatory = reuse_rand(7) == 0;
    vacancies[j].min_readiness = (uint8_t)reuse_rand(3);
    same_vacancy[j] = -1;
  }
  for (int32_t i = 0; i < PUPILS; i++) {
    pupils[i] = make_pupil(reuse_rand(TRAININGS), ANTWERP_LAT + reuse_rand(1500000) - 750000,
                           ANTWERP_LON + reuse_rand(2000000), 3000 + reuse_rand(15000));
    pupils[i].readiness = (uint8_t)reuse_rand(3);
    if (reuse_rand(50) == 0) pupils[i].fixed_vacancy = reuse_rand(VACANCIES);
    same_pupil[i] = -1;
  }
  eligibility_problem spatial, by_pupil;
  build_ok(pupils, PUPILS, vacancies, VACANCIES, NULL, &spatial, "grid order");
  eligibility_previous nothing_reusable = {pupils,
                                           PUPILS,
                                           vacancies,
                                           VACANCIES,
                                           {0},
                                           spatial.pairs,
                                           spatial.pair_distance_m,
                                           spatial.problem.pair_count,
                                           same_pupil,
                                           same_vacancy,
                                           NULL};
  eligibility_default_weights(&nothing_reusable.weights);
  matcher_error error = {{0}};
  cr_assert_eq(
      eligibility_build_reusing(pupils, PUPILS, vacancies, VACANCIES, NULL, &nothing_reusable, &by_pupil, &error),
      MATCHER_OK, "%s", error.message);
  cr_assert_eq(by_pupil.reused_pupils, 0);
  cr_assert_gt(spatial.problem.pair_count, PUPILS * 5, "pairs %lld", (long long)spatial.problem.pair_count);
  assert_same_problem(&spatial, &by_pupil);
  cr_assert_eq(spatial.problem.fixed_count, by_pupil.problem.fixed_count);
  for (int64_t k = 0; k < spatial.problem.fixed_count; k++)
    cr_assert(spatial.fixed[k].pupil == by_pupil.fixed[k].pupil &&
              spatial.fixed[k].vacancy == by_pupil.fixed[k].vacancy);
  int64_t position = 0;
  for (int32_t i = 0; i < PUPILS; i++) {
    int sampled = i % (PUPILS / SAMPLE) == 0;
    for (int32_t j = 0; sampled && j < VACANCIES; j++) {
      int expected = pupils[i].fixed_vacancy >= 0 ? j == pupils[i].fixed_vacancy
                                                  : eligibility_is_eligible(&pupils[i], &vacancies[j], NULL);
      if (!expected) continue;
      while (position < spatial.problem.pair_count && spatial.pairs[position].pupil < i) position++;
      cr_assert(position < spatial.problem.pair_count && spatial.pairs[position].pupil == i &&
                    spatial.pairs[position].vacancy == j,
                "pupil %d: pair with vacancy %d missing", i, j);
      position++;
    }
    if (sampled)
      cr_assert(position >= spatial.problem.pair_count || spatial.pairs[position].pupil != i, "pupil %d: extra pairs",
                i);
  }
  eligibility_problem_free(&spatial);
  eligibility_problem_free(&by_pupil);
  free(pupils), free(vacancies), free(same_pupil), free(same_vacancy), free(company_lat), free(company_lon);
}

/* Unplaced pupils explained after an in-place build, over every call of the helper below. */
static int64_t in_place_unplaced_explained;

/* The explanations of a solved in-place build (its kept grid, its rows rewritten in place) are
 * those of a cold build of the same data, field for field and word for word, hints included. */
static void expect_same_explanations_as_cold(const eligibility_pupil *pupils, int32_t pupil_count,
                                             const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                             const eligibility_problem *in_place) {
  matcher_error error = {{0}};
  eligibility_problem cold;
  cr_assert_eq(eligibility_build(pupils, pupil_count, vacancies, vacancy_count, NULL, &cold, &error), MATCHER_OK, "%s",
               error.message);
  matcher_solution cold_solution, in_place_solution;
  cr_assert_eq(matcher_solve(&cold.problem, NULL, &cold_solution, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(matcher_solve(&in_place->problem, NULL, &in_place_solution, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(cold_solution.objective, in_place_solution.objective);
  eligibility_explanation *from_cold = calloc((size_t)pupil_count + 1, sizeof *from_cold);
  eligibility_explanation *from_in_place = calloc((size_t)pupil_count + 1, sizeof *from_in_place);
  cr_assert_eq(eligibility_explain(pupils, pupil_count, vacancies, vacancy_count, NULL, &cold, &cold_solution, NULL,
                                   from_cold, &error),
               MATCHER_OK, "%s", error.message);
  cr_assert_eq(eligibility_explain(pupils, pupil_count, vacancies, vacancy_count, NULL, in_place, &in_place_solution,
                                   NULL, from_in_place, &error),
               MATCHER_OK, "%s", error.message);
  for (int32_t i = 0; i < pupil_count; i++) {
    const eligibility_explanation *a = &from_cold[i], *b = &from_in_place[i];
    cr_assert_eq(cold_solution.vacancy_of_pupil[i], in_place_solution.vacancy_of_pupil[i], "pupil %d", i);
    cr_assert_eq(a->reason, b->reason, "pupil %d", i);
    cr_assert_eq(a->candidates_after_rule, b->candidates_after_rule, "pupil %d", i);
    cr_assert_eq(a->nearest_distance_m, b->nearest_distance_m, "pupil %d", i);
    cr_assert_eq(a->nearest_vacancy, b->nearest_vacancy, "pupil %d", i);
    cr_assert_eq(a->eligible_seats, b->eligible_seats, "pupil %d", i);
    cr_assert_eq(a->stronger_claims, b->stronger_claims, "pupil %d", i);
    cr_assert_eq(a->equal_claims, b->equal_claims, "pupil %d", i);
    cr_assert_eq(a->fixed_holders, b->fixed_holders, "pupil %d", i);
    cr_assert_eq(a->hint, b->hint, "pupil %d", i);
    cr_assert_eq(a->hint_vacancy, b->hint_vacancy, "pupil %d", i);
    cr_assert_eq(a->hint_seats, b->hint_seats, "pupil %d", i);
    cr_assert_eq(a->hint_preparatory, b->hint_preparatory, "pupil %d", i);
    cr_assert_eq(a->hint_new_company, b->hint_new_company, "pupil %d", i);
    cr_assert_eq(a->hint_unchecked, b->hint_unchecked, "pupil %d", i);
    cr_assert_eq(a->hint_distance_m, b->hint_distance_m, "pupil %d", i);
    cr_assert_str_eq(a->help, b->help, "pupil %d", i);
    in_place_unplaced_explained += a->reason != ELIGIBILITY_PLACED;
  }
  free(from_cold), free(from_in_place);
  matcher_solution_free(&cold_solution), matcher_solution_free(&in_place_solution);
  eligibility_problem_free(&cold);
}

/* eligibility_build_in_place on copies of the previous arrays (it takes them): the same
 * problem and the same pupil_changed as eligibility_build_reusing. */
static void expect_in_place_equals(const eligibility_pupil *pupils, int32_t pupil_count,
                                   const eligibility_vacancy *vacancies, int32_t vacancy_count,
                                   const eligibility_previous *previous, const eligibility_problem *reused) {
  eligibility_previous given = *previous;
  size_t count = (size_t)(previous->pair_count > 0 ? previous->pair_count : 1);
  matcher_pair *pairs = malloc(count * sizeof *pairs);
  int32_t *distances = malloc(count * sizeof *distances);
  memcpy(pairs, previous->pairs, (size_t)previous->pair_count * sizeof *pairs);
  memcpy(distances, previous->pair_distance_m, (size_t)previous->pair_count * sizeof *distances);
  given.pairs = pairs;
  given.pair_distance_m = distances;
  eligibility_problem in_place;
  matcher_error error = {{0}};
  cr_assert_eq(
      eligibility_build_in_place(pupils, pupil_count, vacancies, vacancy_count, NULL, &given, &in_place, &error),
      MATCHER_OK, "%s", error.message);
  assert_same_problem(reused, &in_place);
  cr_assert_eq(in_place.problem.fixed_count, reused->problem.fixed_count);
  cr_assert_eq(in_place.reused_pupils, reused->reused_pupils);
  for (int32_t i = 0; i < pupil_count; i++)
    cr_assert_eq(in_place.pupil_changed[i], reused->pupil_changed[i], "pupil %d: changed %d in place, %d copying", i,
                 in_place.pupil_changed[i], reused->pupil_changed[i]);
  expect_same_explanations_as_cold(pupils, pupil_count, vacancies, vacancy_count, &in_place);
  eligibility_problem_free(&in_place);
}

/* In place after moves (rows growing and shrinking, so rows wait in the queue), new, removed
 * and fixed pupils, proposals and new or changed vacancies: the copying build's result. */
Test(eligibility, build_in_place_equals_the_copying_build) {
  enum { PUPILS = 400, VACANCIES = 300, TRAININGS = 2, COMPANIES = 30 };
  static eligibility_pupil before[PUPILS], after[PUPILS];
  static eligibility_vacancy old_vacancies[VACANCIES], vacancies[VACANCIES + 3];
  int32_t same_pupil[PUPILS], same_vacancy[VACANCIES + 3];
  for (uint32_t seed = 1; seed <= 40; seed++) {
    reuse_seed = seed * 7919u;
    for (int32_t j = 0; j < VACANCIES; j++)
      old_vacancies[j] =
          make_vacancy(reuse_rand(TRAININGS), reuse_rand(COMPANIES), ANTWERP_LAT + reuse_rand(300000) - 150000,
                       ANTWERP_LON + reuse_rand(400000) - 200000, 1 + reuse_rand(2));
    for (int32_t i = 0; i < PUPILS; i++) {
      before[i] = make_pupil(reuse_rand(TRAININGS), ANTWERP_LAT + reuse_rand(300000) - 150000,
                             ANTWERP_LON + reuse_rand(400000) - 200000, 2000 + reuse_rand(12000));
      before[i].proposed_vacancy = reuse_rand(3) ? reuse_rand(VACANCIES) : -1;
    }
    eligibility_problem first;
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_build(before, PUPILS, old_vacancies, VACANCIES, NULL, &first, &error), MATCHER_OK);
    /* Vacancies: the same indices (seed % 3 == 0: one changed, three new at the end). */
    int32_t vacancy_count = VACANCIES + (seed % 3 == 0 ? 3 : 0);
    for (int32_t j = 0; j < vacancy_count; j++) {
      vacancies[j] = j < VACANCIES
                         ? old_vacancies[j]
                         : make_vacancy(reuse_rand(TRAININGS), 1, ANTWERP_LAT + reuse_rand(100000), ANTWERP_LON, 2);
      same_vacancy[j] = j < VACANCIES ? j : -1;
    }
    if (seed % 3 == 0) vacancies[17].lat_e6 += 20000;
    /* Pupils: seed % 4 == 1 drops previous pupil 50 (the rest shift up by one). */
    int32_t dropped = seed % 4 == 1 ? 50 : -1, pupil_count = dropped >= 0 ? PUPILS - 1 : PUPILS;
    for (int32_t i = 0; i < pupil_count; i++) {
      int32_t p = dropped >= 0 && i >= dropped ? i + 1 : i;
      after[i] = before[p];
      same_pupil[i] = p;
      int change = reuse_rand(12);
      if (change == 0) after[i].max_commute_m += 8000; /* a longer row */
      if (change == 1) after[i].max_commute_m /= 3;    /* a shorter one */
      if (change == 2) after[i].lat_e6 += 30000;
      if (change == 3) after[i].proposed_vacancy = reuse_rand(vacancy_count);
      if (change == 4) same_pupil[i] = -1;
      if (change == 5) after[i].fixed_vacancy = reuse_rand(vacancy_count);
    }
    eligibility_previous previous = {before,
                                     PUPILS,
                                     old_vacancies,
                                     VACANCIES,
                                     {0},
                                     first.pairs,
                                     first.pair_distance_m,
                                     first.problem.pair_count,
                                     same_pupil,
                                     same_vacancy,
                                     NULL};
    eligibility_default_weights(&previous.weights);
    eligibility_problem fresh, reused;
    cr_assert_eq(eligibility_build(after, pupil_count, vacancies, vacancy_count, NULL, &fresh, &error), MATCHER_OK);
    cr_assert_eq(
        eligibility_build_reusing(after, pupil_count, vacancies, vacancy_count, NULL, &previous, &reused, &error),
        MATCHER_OK);
    assert_same_problem(&fresh, &reused);
    expect_in_place_equals(after, pupil_count, vacancies, vacancy_count, &previous, &reused);
    eligibility_problem_free(&first);
    eligibility_problem_free(&fresh);
    eligibility_problem_free(&reused);
  }
  /* The explanations were compared where there is something to explain. */
  cr_assert_gt(in_place_unplaced_explained, 0);
}

/* eligibility_explain reuses the build's grid only for the same vacancies: with the grid kept
 * and without it the explanations are the same, also after the vacancies changed in place
 * (all closed: then every unplaced pupil has no recognised place, whatever the build saw). */
Test(eligibility, explain_reuses_the_grid_only_for_the_same_vacancies) {
  static random_instance instance;
  static eligibility_explanation with_grid[RANDOM_MAX_PUPILS], without_grid[RANDOM_MAX_PUPILS];
  int32_t compared = 0;
  for (uint64_t seed = 7000; seed < 7060; seed++) {
    make_random_instance(seed, &instance);
    eligibility_problem problem;
    build_ok(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, NULL, &problem, "kept");
    cr_assert_not_null(problem.grid);
    matcher_solution solution;
    solve_and_verify(&problem.problem, NULL, &solution, "kept");
    for (int round = 0; round < 2; round++) {
      if (round == 1)
        for (int32_t j = 0; j < instance.vacancy_count; j++) instance.vacancies[j].open = 0;
      matcher_error error = {{0}};
      matcher_status kept_status =
          eligibility_explain(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, NULL,
                              &problem, &solution, NULL, with_grid, &error);
      struct eligibility_grid *grid = problem.grid;
      problem.grid = NULL;
      matcher_status own_status =
          eligibility_explain(instance.pupils, instance.pupil_count, instance.vacancies, instance.vacancy_count, NULL,
                              &problem, &solution, NULL, without_grid, &error);
      problem.grid = grid;
      cr_assert_eq(kept_status, own_status, "seed %llu round %d", (unsigned long long)seed, round);
      if (kept_status != MATCHER_OK) continue;
      for (int32_t i = 0; i < instance.pupil_count; i++) {
        cr_assert_eq(with_grid[i].reason, without_grid[i].reason, "seed %llu round %d pupil %d",
                     (unsigned long long)seed, round, i);
        cr_assert_eq(with_grid[i].candidates_after_rule, without_grid[i].candidates_after_rule);
        cr_assert_eq(with_grid[i].hint_vacancy, without_grid[i].hint_vacancy);
        cr_assert_str_eq(with_grid[i].help, without_grid[i].help);
        if (round == 1 && solution.vacancy_of_pupil[i] == MATCHER_UNPLACED)
          cr_assert_eq(with_grid[i].reason, ELIGIBILITY_NO_RECOGNISED_VACANCY);
        compared++;
      }
    }
    matcher_solution_free(&solution);
    eligibility_problem_free(&problem);
  }
  cr_expect_gt(compared, 1000);
}

/* The warm start from a reusing build's marks, from the previous solution: proven optimal, the
 * cold objective, and not given up (no mark broke its promise). The caller frees *warm_solution. */
static void expect_warm_start_from_marks(const eligibility_problem *reused, const matcher_solution *previous_solution,
                                         uint32_t seed, matcher_solution *warm_solution) {
  matcher_error error = {{0}};
  matcher_warm_start warm = {previous_solution->vacancy_of_pupil, previous_solution->vacancy_price,
                             reused->pupil_changed};
  matcher_solution cold_solution;
  cr_assert_eq(matcher_solve(&reused->problem, &warm, warm_solution, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(matcher_solve(&reused->problem, NULL, &cold_solution, &error), MATCHER_OK, "%s", error.message);
  cr_assert_eq(matcher_verify(&reused->problem, warm_solution, &error), MATCHER_OK, "seed %u: %s", seed, error.message);
  cr_assert_eq(warm_solution->objective, cold_solution.objective, "seed %u", seed);
  cr_assert_eq(warm_solution->stats.warm_started, 1, "seed %u: the marks kept their promise", seed);
  matcher_solution_free(&cold_solution);
}

/* What pupil_changed should say of pupil i given warm_vacancy (same pupil and vacancy indices
 * then and now), from the two problems' rows: other pairs, another penalty, a cheaper pair but
 * the placement's, or a dearer placement. */
static int expected_mark(const eligibility_problem *then, const eligibility_problem *now, int32_t i, int32_t warm) {
  int64_t a = 0, b = 0;
  while (a < then->problem.pair_count && then->pairs[a].pupil < i) a++;
  while (b < now->problem.pair_count && now->pairs[b].pupil < i) b++;
  if (then->unplaced_penalty[i] != now->unplaced_penalty[i]) return 1;
  for (;; a++, b++) {
    int then_ends = a >= then->problem.pair_count || then->pairs[a].pupil != i;
    int now_ends = b >= now->problem.pair_count || now->pairs[b].pupil != i;
    if (then_ends || now_ends) return then_ends != now_ends;
    if (then->pairs[a].vacancy != now->pairs[b].vacancy) return 1;
    int64_t before = then->pairs[a].cost, after = now->pairs[b].cost;
    if (now->pairs[b].vacancy == warm ? after > before : after < before) return 1;
  }
}

/* Rematches in a row: each one's placements become the pupils' proposals, which adds the move
 * penalty to every other pair of theirs. Given the warm start's placements (warm_vacancy),
 * pupil_changed leaves out the pupils whose only change that is, and keeps every pupil a change
 * could hurt: a proposal elsewhere (a pair got cheaper), a new home, a longer wait, and in the
 * third rematch a released proposal (the placement's pair got dearer). The warm start from those
 * marks is proven optimal and equals a cold solve; without warm_vacancy every placed pupil is
 * marked. */
Test(eligibility, warm_vacancy_leaves_out_pupils_whose_costs_only_rose) {
  enum { PUPILS = 400, VACANCIES = 260, TRAININGS = 3, COMPANIES = 30, SEEDS = 12 };
  static eligibility_pupil first_inputs[PUPILS], second_inputs[PUPILS], third_inputs[PUPILS];
  static eligibility_vacancy vacancies[VACANCIES];
  static int32_t preferred[PUPILS][2];
  int32_t same_pupil[PUPILS], same_vacancy[VACANCIES];
  matcher_error error = {{0}};
  for (uint32_t seed = 1; seed <= SEEDS; seed++) {
    reuse_seed = seed * 104729u;
    for (int32_t j = 0; j < VACANCIES; j++) {
      vacancies[j] =
          make_vacancy(reuse_rand(TRAININGS), reuse_rand(COMPANIES), ANTWERP_LAT + reuse_rand(200000) - 100000,
                       ANTWERP_LON + reuse_rand(300000) - 150000, 1 + reuse_rand(2));
      same_vacancy[j] = j;
    }
    for (int32_t i = 0; i < PUPILS; i++) {
      first_inputs[i] = make_pupil(reuse_rand(TRAININGS), ANTWERP_LAT + reuse_rand(200000) - 100000,
                                   ANTWERP_LON + reuse_rand(300000) - 150000, 5000 + reuse_rand(20000));
      first_inputs[i].waiting_days = reuse_rand(40);
      preferred[i][0] = reuse_rand(COMPANIES), preferred[i][1] = reuse_rand(COMPANIES);
      first_inputs[i].preferred_companies = preferred[i];
      first_inputs[i].preferred_count = reuse_rand(3);
      same_pupil[i] = i;
    }
    eligibility_problem first, second, second_unaware, third;
    cr_assert_eq(eligibility_build(first_inputs, PUPILS, vacancies, VACANCIES, NULL, &first, &error), MATCHER_OK);
    matcher_solution first_solution, second_solution, third_solution;
    cr_assert_eq(matcher_solve(&first.problem, NULL, &first_solution, &error), MATCHER_OK, "%s", error.message);

    /* The second rematch: every placement a proposal, and a few other changes. */
    const int32_t *placed_at = first_solution.vacancy_of_pupil;
    enum { ELSEWHERE, MOVED, WAITED_LONGER, ONLY_PROPOSED };
    int kind[PUPILS];
    for (int32_t i = 0; i < PUPILS; i++) {
      second_inputs[i] = first_inputs[i];
      second_inputs[i].proposed_vacancy = placed_at[i];
      int change = reuse_rand(16);
      kind[i] = change < ONLY_PROPOSED ? change : ONLY_PROPOSED;
      if (kind[i] == ELSEWHERE)
        second_inputs[i].proposed_vacancy = (placed_at[i] + 1 + reuse_rand(VACANCIES - 1)) % VACANCIES;
      if (kind[i] == MOVED) second_inputs[i].lat_e6 += 3000;
      if (kind[i] == WAITED_LONGER) second_inputs[i].waiting_days++;
    }
    eligibility_previous previous = {first_inputs,
                                     PUPILS,
                                     vacancies,
                                     VACANCIES,
                                     {0},
                                     first.pairs,
                                     first.pair_distance_m,
                                     first.problem.pair_count,
                                     same_pupil,
                                     same_vacancy,
                                     placed_at};
    eligibility_default_weights(&previous.weights);
    cr_assert_eq(
        eligibility_build_reusing(second_inputs, PUPILS, vacancies, VACANCIES, NULL, &previous, &second, &error),
        MATCHER_OK, "%s", error.message);
    expect_in_place_equals(second_inputs, PUPILS, vacancies, VACANCIES, &previous, &second);
    previous.warm_vacancy = NULL;
    cr_assert_eq(eligibility_build_reusing(second_inputs, PUPILS, vacancies, VACANCIES, NULL, &previous,
                                           &second_unaware, &error),
                 MATCHER_OK, "%s", error.message);
    int32_t marked = 0, marked_unaware = 0, only_proposed = 0, placed = 0;
    for (int32_t i = 0; i < PUPILS; i++) {
      marked += second.pupil_changed[i] != 0, marked_unaware += second_unaware.pupil_changed[i] != 0;
      placed += placed_at[i] >= 0;
      if (kind[i] == ONLY_PROPOSED) {
        only_proposed++;
        cr_assert_eq(second.pupil_changed[i], 0, "seed %u pupil %d: only its proposal changed, yet marked", seed, i);
        if (placed_at[i] >= 0)
          cr_assert_neq(second_unaware.pupil_changed[i], 0, "seed %u pupil %d: unmarked without warm_vacancy", seed, i);
      }
      cr_assert_eq(second.pupil_changed[i] != 0, expected_mark(&first, &second, i, placed_at[i]),
                   "seed %u pupil %d (change %d): marked %d", seed, i, kind[i], second.pupil_changed[i]);
      if (kind[i] == WAITED_LONGER) cr_assert_neq(second.pupil_changed[i], 0, "seed %u pupil %d", seed, i);
    }
    cr_assert_gt(only_proposed, PUPILS / 2);
    cr_assert_gt(placed, PUPILS / 4, "seed %u: %d placed", seed, placed);
    cr_assert_lt(marked, marked_unaware, "seed %u: %d marked, %d without warm_vacancy", seed, marked, marked_unaware);
    expect_warm_start_from_marks(&second, &first_solution, seed, &second_solution);

    /* The third rematch: the second's placements the proposals, a few released. A released
     * proposal that held the pupil's placement made that pair dearer: marked. */
    const int32_t *then_placed_at = second_solution.vacancy_of_pupil;
    int released[PUPILS];
    for (int32_t i = 0; i < PUPILS; i++) {
      third_inputs[i] = second_inputs[i];
      released[i] = reuse_rand(8) == 0;
      third_inputs[i].proposed_vacancy = released[i] ? -1 : then_placed_at[i];
    }
    eligibility_previous then = {second_inputs,
                                 PUPILS,
                                 vacancies,
                                 VACANCIES,
                                 {0},
                                 second.pairs,
                                 second.pair_distance_m,
                                 second.problem.pair_count,
                                 same_pupil,
                                 same_vacancy,
                                 then_placed_at};
    eligibility_default_weights(&then.weights);
    cr_assert_eq(eligibility_build_reusing(third_inputs, PUPILS, vacancies, VACANCIES, NULL, &then, &third, &error),
                 MATCHER_OK, "%s", error.message);
    expect_in_place_equals(third_inputs, PUPILS, vacancies, VACANCIES, &then, &third);
    int32_t released_marked = 0, kept_unmarked = 0;
    for (int32_t i = 0; i < PUPILS; i++) {
      cr_assert_eq(third.pupil_changed[i] != 0, expected_mark(&second, &third, i, then_placed_at[i]),
                   "seed %u pupil %d: marked %d", seed, i, third.pupil_changed[i]);
      /* Not released: marked only where the second rematch's proposal was not its placement and a
       * pair got cheaper (a waiting pupil whose proposal elsewhere is gone, say). */
      kept_unmarked += !released[i] && !third.pupil_changed[i];
      if (released[i] && then_placed_at[i] >= 0 && then_placed_at[i] == second_inputs[i].proposed_vacancy) {
        cr_assert_neq(third.pupil_changed[i], 0, "seed %u pupil %d: its placement's pair got dearer", seed, i);
        released_marked++;
      }
    }
    cr_assert_gt(released_marked, 0, "seed %u", seed);
    cr_assert_gt(kept_unmarked, PUPILS / 2, "seed %u: %d", seed, kept_unmarked);
    expect_warm_start_from_marks(&third, &second_solution, seed, &third_solution);

    matcher_solution_free(&first_solution);
    matcher_solution_free(&second_solution);
    matcher_solution_free(&third_solution);
    eligibility_problem_free(&first);
    eligibility_problem_free(&second);
    eligibility_problem_free(&second_unaware);
    eligibility_problem_free(&third);
  }
}
