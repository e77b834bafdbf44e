/* generator.h: seeded, deterministic generator of realistic matching instances, for the
 * demo data, the benchmarks (which call it in-process) and the tests.
 *
 * The shape follows the city's figures: pupils and workplaces spread around a few centres (Antwerp's
 * education areas in the proportions of the 2020-2021 study for "antwerp"; Flemish or German
 * cities with Gaussian spread for the bigger sizes), 44 trainings whose popularity is skewed
 * and differs between pupils and companies and from area to area (so some trainings and areas
 * run short of seats), readiness levels with preparatory places for pupils who are not ready,
 * two-week day masks, a commute radius per pupil, ranked preferences, and unplaced penalties
 * that grow with priority and waiting time. The same parameters and seed always give the
 * same instance, byte for byte once written.
 */
#ifndef LEERPLEK_GENERATOR_H
#define LEERPLEK_GENERATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "instance.h"

/* Upper bound of generator_params.trainings (the per-area supply tables are sized by it). */
#define GENERATOR_TRAININGS_MAX 256

typedef enum {
  GENERATOR_MAP_ANTWERP,  /* the 15 Antwerp education areas of the 2020-2021 study, plus the periphery */
  GENERATOR_MAP_FLANDERS, /* Flemish cities weighted by population */
  GENERATOR_MAP_GERMANY   /* German cities weighted by population */
} generator_map;

typedef struct {
  generator_map map;
  int32_t pupils;
  int32_t vacancies;
  /* The vacancy count the map was drawn for. With other counts the map is scaled by
   * sqrt(vacancies / map_vacancies), so vacancies per km^2 stay the same. Pairs per pupil
   * then stay close for mild scaling; a much smaller map loses its far-away parts to long
   * commutes (Flanders at a tenth: about 33 pairs per pupil instead of 70). */
  int32_t map_vacancies;
  int32_t trainings;            /* 1..GENERATOR_TRAININGS_MAX */
  double pupil_training_skew;   /* Zipf exponent of training popularity among pupils */
  double vacancy_training_skew; /* same among workplaces; popularity ranks also differ */
  double area_supply_noise;     /* lognormal sigma of a training's supply per area */
  double city_spread_km;        /* Gaussian spread around a city (Antwerp: per area) */
  double rural_share;           /* part of everyone living/working away from the centres */
  double rural_spread_km;       /* their spread around the nearest big centre */
  double commute_min_km;        /* each pupil's radius lies between these, */
  double commute_max_km;        /* more often near the short end */
  int32_t not_ready_percent;    /* pupils who need a preparatory place */
  int32_t partly_ready_percent; /* pupils partly ready; the rest are ready */
  int32_t preparatory_percent;  /* vacancies that are preparatory (protected) places */
  int32_t ready_only_percent;   /* of the regular vacancies: those that want READY pupils */
  int32_t preference_percent;   /* pupils with a few ranked preferred workplaces */
  int32_t low_penalty_permille; /* pupils whose unplaced penalty is below some pair costs */
  int32_t fixed_permille;       /* pupils with an accepted placement ('f' pair) */
} generator_params;

/* Fills *out with the parameters of a named size: "antwerp" (307 pupils, 1,220 vacancies),
 * "flanders" (20,000 / 30,000, about 1.4 M pairs) or "germany" (200,000 / 250,000, about
 * 6.8 M pairs). Returns 0, or -1 for an unknown name (*out untouched). */
int generator_params_for(const char *size_name, generator_params *out);

/* Generates an instance; release it with instance_free. Returns 0, or -1 when memory ran out
 * or the parameters are out of range (counts above MATCHER_COUNT_MAX, trainings outside
 * 1..GENERATOR_TRAININGS_MAX, negative distances); nothing is allocated then. */
int generator_make(const generator_params *params, uint64_t seed, instance *out);

/* ---------------------------------------------------------------------------------------- */
/* Building blocks shared with the CSV demo dataset (demo_data.c), so both draw places, days
 * and seats the same way. */

/* xoshiro256** seeded through splitmix64: a seed fully determines the stream. */
typedef struct {
  uint64_t state[4];
} generator_random;

void generator_random_seed(generator_random *stream, uint64_t seed);
uint64_t generator_random_next(generator_random *stream);
double generator_random_unit(generator_random *stream);                    /* [0, 1) */
uint32_t generator_random_below(generator_random *stream, uint32_t bound); /* 0..bound-1, bound > 0 */
bool generator_random_percent(generator_random *stream, int32_t percent);
double generator_random_gaussian(generator_random *stream); /* standard normal */

/* A centre people live and companies work around. Weights are relative (the Antwerp areas'
 * pupil weights are the 2020-2021 study's head counts). ring_outer_km > 0 makes it a ring
 * (Antwerp's periphery) instead of a Gaussian blob. */
typedef struct {
  const char *name;
  double latitude;
  double longitude;
  double pupil_weight;
  double vacancy_weight;
  double spread_km; /* 0: derived from params->city_spread_km and the weight */
  double ring_inner_km;
  double ring_outer_km;
} generator_centre;

/* The 15 Antwerp education areas of the 2020-2021 study of part-time-track pupils, in its order (largest first). */
const generator_centre *generator_antwerp_areas(int32_t *count);

/* A random offset from a centre's middle: uniform over its ring (radii times scale), or
 * Gaussian with spread_km for a blob. */
void generator_place_offset(generator_random *stream, const generator_centre *origin, double spread_km, double scale,
                            double *east_km, double *north_km);

/* Two-week day masks (bits 0..6 week A, 7..13 week B): the days a school timetable leaves a
 * pupil (2+3, 1+4, alternating 3/2, ...) and the days a workplace can host one. */
uint16_t generator_random_pupil_days(generator_random *stream);
uint16_t generator_random_vacancy_days(generator_random *stream);

/* Seats of one workplace: mostly 1, some 2 to 4. */
int32_t generator_random_seats(generator_random *stream);

#endif
