/* generator.c: realistic synthetic instances (see generator.h for the shape and why).
 *
 * Pairs are found without looking at all pupil-vacancy combinations: vacancies are bucketed by
 * training and by cell of a square grid whose cells are a fraction of the longest commute, and
 * each pupil only scans the buckets of its own training in the cells its commute disc touches.
 * That keeps the German size (200,000 x 250,000) to a few seconds.
 *
 * Everything random comes from one xoshiro256** stream seeded through splitmix64, drawn in a
 * fixed order, so a seed fully determines the instance. The tables below are read-only data.
 */
#include "generator.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* M_PI is not part of C11 or POSIX. */
static const double PI = 3.14159265358979323846;

/* ---------------------------------------------------------------------------------------- */
/* Random numbers */

/* The stream type is generator_random (generator.h); the short name keeps this file readable. */
typedef generator_random random_stream;

static uint64_t splitmix64(uint64_t *counter) {
  uint64_t z = (*counter += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void generator_random_seed(random_stream *stream, uint64_t seed) {
  uint64_t counter = seed;
  for (int k = 0; k < 4; k++) stream->state[k] = splitmix64(&counter); /* never all zero: splitmix64 is a bijection */
}

static uint64_t rotate_left(uint64_t x, int bits) { return (x << bits) | (x >> (64 - bits)); }

uint64_t generator_random_next(random_stream *stream) {
  uint64_t *s = stream->state;
  uint64_t result = rotate_left(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
double generator_random_unit(random_stream *stream) {
  return (double)(generator_random_next(stream) >> 11) * 0x1.0p-53;
}

/* Uniform in 0..bound-1; bound > 0. The bias of this method is far below anything visible here. */
uint32_t generator_random_below(random_stream *stream, uint32_t bound) {
  return (uint32_t)(generator_random_unit(stream) * bound);
}

bool generator_random_percent(random_stream *stream, int32_t percent) {
  return (int32_t)generator_random_below(stream, 100) < percent;
}

double generator_random_gaussian(random_stream *stream) {
  double u1 = 1.0 - generator_random_unit(stream); /* (0, 1]: log is finite */
  double u2 = generator_random_unit(stream);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

/* ---------------------------------------------------------------------------------------- */
/* Maps */

/* A centre people live and companies work around. Weights are relative; for the city maps they
 * are populations in thousands. ring_outer_km > 0 makes it a ring (Antwerp's periphery)
 * instead of a Gaussian blob. */
typedef generator_centre centre;

/* Pupil weights: where the 1,601 part-time-track pupils of the 2020-2021 study lived
 * (Antwerp's education areas, 2020-2021 study). Vacancy weights are estimates: shops and salons in the centre, industry
 * in the port and the periphery. Coordinates are approximate centres of each education area. */
static const centre antwerp_areas[] = {
    {"inner city/Eilandje", 51.2220, 4.4020, 274, 160, 0.9, 0, 0},
    {"Antwerpen-Noord/Borgerhout-north", 51.2300, 4.4230, 248, 80, 0.8, 0, 0},
    {"outside the city", 51.2190, 4.4010, 222, 330, 0, 7.0, 22.0},
    {"Kiel/Hoboken", 51.1830, 4.3750, 199, 90, 1.2, 0, 0},
    {"Deurne north", 51.2250, 4.4700, 160, 60, 1.0, 0, 0},
    {"Merksem", 51.2470, 4.4460, 120, 60, 1.0, 0, 0},
    {"Deurne-south/Borgerhout extra muros", 51.2050, 4.4600, 106, 50, 0.9, 0, 0},
    {"Wilrijk/Nieuw-Berchem", 51.1700, 4.3950, 64, 70, 1.2, 0, 0},
    {"Central Station/Borgerhout-south", 51.2150, 4.4250, 59, 50, 0.6, 0, 0},
    {"Stadspark/Zurenborg/Berchem", 51.2050, 4.4300, 41, 45, 0.7, 0, 0},
    {"Brederode/Markgrave", 51.2000, 4.4000, 33, 30, 0.6, 0, 0},
    {"Linkeroever", 51.2230, 4.3700, 31, 30, 0.8, 0, 0},
    {"Ekeren", 51.2800, 4.4300, 27, 40, 1.2, 0, 0},
    {"Luchtbal/port", 51.2550, 4.4150, 12, 150, 2.0, 0, 0},
    {"Berendrecht/Zandvliet/Lillo", 51.3200, 4.3100, 5, 80, 2.5, 0, 0},
};

static const centre flemish_cities[] = {
    {"Antwerpen", 51.2194, 4.4025, 530, 530, 0, 0, 0}, {"Gent", 51.0543, 3.7174, 265, 265, 0, 0, 0},
    {"Brugge", 51.2093, 3.2247, 119, 119, 0, 0, 0},    {"Leuven", 50.8798, 4.7005, 102, 102, 0, 0, 0},
    {"Aalst", 50.9378, 4.0410, 89, 89, 0, 0, 0},       {"Mechelen", 51.0259, 4.4776, 87, 87, 0, 0, 0},
    {"Hasselt", 50.9307, 5.3378, 79, 79, 0, 0, 0},     {"Sint-Niklaas", 51.1650, 4.1437, 79, 79, 0, 0, 0},
    {"Kortrijk", 50.8280, 3.2650, 78, 78, 0, 0, 0},    {"Oostende", 51.2154, 2.9275, 72, 72, 0, 0, 0},
    {"Genk", 50.9650, 5.5008, 67, 67, 0, 0, 0},        {"Roeselare", 50.9469, 3.1227, 64, 64, 0, 0, 0},
    {"Beveren", 51.2120, 4.2567, 48, 60, 0, 0, 0},     {"Dendermonde", 51.0286, 4.1008, 46, 46, 0, 0, 0},
    {"Turnhout", 51.3227, 4.9447, 46, 46, 0, 0, 0},    {"Vilvoorde", 50.9281, 4.4245, 45, 55, 0, 0, 0},
    {"Lokeren", 51.1036, 3.9936, 42, 42, 0, 0, 0},     {"Geel", 51.1617, 4.9900, 41, 41, 0, 0, 0},
    {"Halle", 50.7339, 4.2346, 40, 40, 0, 0, 0},       {"Sint-Truiden", 50.8160, 5.1867, 40, 40, 0, 0, 0},
    {"Waregem", 50.8890, 3.4262, 38, 38, 0, 0, 0},     {"Lier", 51.1315, 4.5703, 36, 36, 0, 0, 0},
    {"Ieper", 50.8503, 2.8853, 35, 35, 0, 0, 0},       {"Lommel", 51.2300, 5.3130, 35, 35, 0, 0, 0},
    {"Zaventem", 50.8833, 4.4725, 34, 60, 0, 0, 0},    {"Tongeren", 50.7806, 5.4647, 31, 31, 0, 0, 0},
    {"Herentals", 51.1766, 4.8357, 28, 28, 0, 0, 0},
};

static const centre german_cities[] = {
    {"Berlin", 52.5200, 13.4050, 3645, 3645, 0, 0, 0},
    {"Hamburg", 53.5511, 9.9937, 1841, 1841, 0, 0, 0},
    {"Muenchen", 48.1372, 11.5756, 1472, 1472, 0, 0, 0},
    {"Koeln", 50.9375, 6.9603, 1086, 1086, 0, 0, 0},
    {"Frankfurt am Main", 50.1109, 8.6821, 763, 763, 0, 0, 0},
    {"Stuttgart", 48.7758, 9.1829, 635, 635, 0, 0, 0},
    {"Duesseldorf", 51.2277, 6.7735, 621, 621, 0, 0, 0},
    {"Leipzig", 51.3397, 12.3731, 597, 597, 0, 0, 0},
    {"Dortmund", 51.5136, 7.4653, 588, 588, 0, 0, 0},
    {"Essen", 51.4556, 7.0116, 582, 582, 0, 0, 0},
    {"Bremen", 53.0793, 8.8017, 567, 567, 0, 0, 0},
    {"Dresden", 51.0504, 13.7373, 556, 556, 0, 0, 0},
    {"Hannover", 52.3759, 9.7320, 536, 536, 0, 0, 0},
    {"Nuernberg", 49.4521, 11.0767, 518, 518, 0, 0, 0},
    {"Duisburg", 51.4344, 6.7623, 498, 498, 0, 0, 0},
    {"Bochum", 51.4818, 7.2162, 365, 365, 0, 0, 0},
    {"Wuppertal", 51.2562, 7.1508, 355, 355, 0, 0, 0},
    {"Bielefeld", 52.0302, 8.5325, 334, 334, 0, 0, 0},
    {"Bonn", 50.7374, 7.0982, 327, 327, 0, 0, 0},
    {"Muenster", 51.9607, 7.6261, 315, 315, 0, 0, 0},
    {"Mannheim", 49.4875, 8.4660, 310, 310, 0, 0, 0},
    {"Karlsruhe", 49.0069, 8.4037, 308, 308, 0, 0, 0},
    {"Augsburg", 48.3705, 10.8978, 296, 296, 0, 0, 0},
    {"Wiesbaden", 50.0782, 8.2398, 278, 278, 0, 0, 0},
    {"Moenchengladbach", 51.1805, 6.4428, 261, 261, 0, 0, 0},
    {"Gelsenkirchen", 51.5177, 7.0857, 260, 260, 0, 0, 0},
    {"Aachen", 50.7753, 6.0839, 249, 249, 0, 0, 0},
    {"Braunschweig", 52.2689, 10.5268, 249, 249, 0, 0, 0},
    {"Kiel", 54.3233, 10.1228, 246, 246, 0, 0, 0},
    {"Chemnitz", 50.8278, 12.9214, 243, 243, 0, 0, 0},
    {"Halle (Saale)", 51.4825, 11.9697, 238, 238, 0, 0, 0},
    {"Magdeburg", 52.1205, 11.6276, 236, 236, 0, 0, 0},
    {"Freiburg im Breisgau", 47.9990, 7.8421, 231, 231, 0, 0, 0},
    {"Krefeld", 51.3388, 6.5853, 227, 227, 0, 0, 0},
    {"Mainz", 49.9929, 8.2473, 217, 217, 0, 0, 0},
    {"Luebeck", 53.8655, 10.6866, 216, 216, 0, 0, 0},
    {"Erfurt", 50.9848, 11.0299, 213, 213, 0, 0, 0},
    {"Rostock", 54.0924, 12.0991, 209, 209, 0, 0, 0},
    {"Kassel", 51.3127, 9.4797, 201, 201, 0, 0, 0},
    {"Saarbruecken", 49.2402, 6.9969, 180, 180, 0, 0, 0},
    {"Osnabrueck", 52.2799, 8.0472, 165, 165, 0, 0, 0},
    {"Regensburg", 49.0134, 12.1016, 153, 153, 0, 0, 0},
    {"Wuerzburg", 49.7913, 9.9534, 127, 127, 0, 0, 0},
    {"Ulm", 48.4011, 9.9876, 126, 126, 0, 0, 0},
    {"Goettingen", 51.5413, 9.9158, 118, 118, 0, 0, 0},
};

typedef struct {
  const centre *centres;
  int32_t count;
} map_table;

static map_table map_for(generator_map map) {
  switch (map) {
  case GENERATOR_MAP_FLANDERS:
    return (map_table){flemish_cities, (int32_t)(sizeof flemish_cities / sizeof flemish_cities[0])};
  case GENERATOR_MAP_GERMANY:
    return (map_table){german_cities, (int32_t)(sizeof german_cities / sizeof german_cities[0])};
  default: return (map_table){antwerp_areas, (int32_t)(sizeof antwerp_areas / sizeof antwerp_areas[0])};
  }
}

const generator_centre *generator_antwerp_areas(int32_t *count) {
  *count = (int32_t)(sizeof antwerp_areas / sizeof antwerp_areas[0]);
  return antwerp_areas;
}

/* ---------------------------------------------------------------------------------------- */
/* Days: bits 0..6 are Monday..Sunday of week A, bits 7..13 of week B (as in the proto). */

enum { MONDAY = 1, TUESDAY = 2, WEDNESDAY = 4, THURSDAY = 8, FRIDAY = 16, SATURDAY = 32 };

static uint16_t two_weeks(unsigned week_a, unsigned week_b) { return (uint16_t)(week_a | (week_b << 7)); }

typedef struct {
  unsigned week_a;
  unsigned week_b;
  int weight;
} schedule;

/* Workplace days a school timetable leaves: "2+3" (3 days at work), "1+4" (4 days), alternating
 * 3/2 days, the 2-day weeks of learning-and-working centres, and retail weeks with Saturday. */
static const schedule pupil_schedules[] = {
    {MONDAY | TUESDAY | WEDNESDAY, MONDAY | TUESDAY | WEDNESDAY, 15},
    {WEDNESDAY | THURSDAY | FRIDAY, WEDNESDAY | THURSDAY | FRIDAY, 15},
    {TUESDAY | WEDNESDAY | THURSDAY, TUESDAY | WEDNESDAY | THURSDAY, 8},
    {MONDAY | TUESDAY | WEDNESDAY | THURSDAY, MONDAY | TUESDAY | WEDNESDAY | THURSDAY, 10},
    {TUESDAY | WEDNESDAY | THURSDAY | FRIDAY, TUESDAY | WEDNESDAY | THURSDAY | FRIDAY, 10},
    {MONDAY | TUESDAY | WEDNESDAY, MONDAY | TUESDAY, 8},
    {WEDNESDAY | THURSDAY | FRIDAY, THURSDAY | FRIDAY, 8},
    {MONDAY | TUESDAY, MONDAY | TUESDAY, 6},
    {THURSDAY | FRIDAY, THURSDAY | FRIDAY, 6},
    {THURSDAY | FRIDAY | SATURDAY, THURSDAY | FRIDAY | SATURDAY, 4},
};

/* Days a workplace can host a pupil: mostly the working week, salons and shops Tuesday to
 * Saturday, some shorter weeks and one alternating pattern. */
static const schedule vacancy_schedules[] = {
    {MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY, MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY, 50},
    {TUESDAY | WEDNESDAY | THURSDAY | FRIDAY | SATURDAY, TUESDAY | WEDNESDAY | THURSDAY | FRIDAY | SATURDAY, 15},
    {MONDAY | TUESDAY | WEDNESDAY | THURSDAY, MONDAY | TUESDAY | WEDNESDAY | THURSDAY, 12},
    {MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY | SATURDAY,
     MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY | SATURDAY, 8},
    {MONDAY | TUESDAY | WEDNESDAY, MONDAY | TUESDAY | WEDNESDAY, 5},
    {WEDNESDAY | THURSDAY | FRIDAY, WEDNESDAY | THURSDAY | FRIDAY, 5},
    {MONDAY | TUESDAY | WEDNESDAY | THURSDAY | FRIDAY, MONDAY | TUESDAY | WEDNESDAY, 5},
};

static uint16_t random_days(random_stream *stream, const schedule *schedules, int count) {
  int total = 0;
  for (int k = 0; k < count; k++) total += schedules[k].weight;
  int pick = (int)generator_random_below(stream, (uint32_t)total);
  int k = 0;
  while (pick >= schedules[k].weight) {
    pick -= schedules[k].weight;
    k++;
  }
  return two_weeks(schedules[k].week_a, schedules[k].week_b);
}

uint16_t generator_random_pupil_days(random_stream *stream) {
  return random_days(stream, pupil_schedules, (int)(sizeof pupil_schedules / sizeof pupil_schedules[0]));
}

uint16_t generator_random_vacancy_days(random_stream *stream) {
  return random_days(stream, vacancy_schedules, (int)(sizeof vacancy_schedules / sizeof vacancy_schedules[0]));
}

/* ---------------------------------------------------------------------------------------- */
/* Costs and penalties */

enum { NOT_READY = 0, PARTLY_READY = 1, READY = 2 };

#define KM_TO_COST_UNITS 10.0          /* costs count commute distance in units of 100 m */
#define PREFERENCE_STEP 10             /* each rank below the first preference adds 1 km */
#define NOT_PREFERRED_PENALTY 60       /* a workplace the pupil did not ask for: +6 km */
#define PREPARATORY_MISUSE_PENALTY 150 /* a ready pupil on a protected place: +15 km */
#define MAX_PREFERENCES 3
#define UNPLACED_BASE_PENALTY 1000000000LL /* dwarfs every pair cost */
#define MAX_WAITING_DAYS 720

/* The cost of leaving a pupil unplaced: grows with waiting time and priority flags (newcomers
 * from reception classes, special needs), up to about 10^12; a few pupils have an alternative
 * (a school workshop place, say) and a low penalty that far workplaces exceed. */
static int64_t unplaced_penalty_for(random_stream *stream, const generator_params *params) {
  if ((int32_t)generator_random_below(stream, 1000) < params->low_penalty_permille)
    return 20 + (int64_t)generator_random_below(stream, 400);
  double waiting = -log(1.0 - generator_random_unit(stream)) * 120.0;
  int64_t waiting_days = waiting > MAX_WAITING_DAYS ? MAX_WAITING_DAYS : (int64_t)waiting;
  int64_t penalty = UNPLACED_BASE_PENALTY * (30 + waiting_days) / 30;
  if (generator_random_percent(stream, 27)) /* newcomer (OKAN): 27 % in the Antwerp study */
    penalty *= 3;
  if (generator_random_percent(stream, 2)) /* special needs (BuSO): 6 of 307 in Antwerp */
    penalty *= 5;
  return penalty;
}

int32_t generator_random_seats(random_stream *stream) {
  uint32_t pick = generator_random_below(stream, 100);
  return pick < 75 ? 1 : pick < 90 ? 2 : pick < 96 ? 3 : 4;
}

/* ---------------------------------------------------------------------------------------- */
/* Parameters */

int generator_params_for(const char *size_name, generator_params *out) {
  generator_params params = {
      .trainings = 44,
      .pupil_training_skew = 1.0,
      .vacancy_training_skew = 0.8,
      .area_supply_noise = 0.6,
      .city_spread_km = 4.0,
      .rural_share = 0.35,
      .rural_spread_km = 15.0,
      .commute_min_km = 5.0,
      .commute_max_km = 40.0,
      .not_ready_percent = 20,
      .partly_ready_percent = 30,
      .preparatory_percent = 10,
      .ready_only_percent = 40,
      .preference_percent = 60,
      .low_penalty_permille = 20,
      .fixed_permille = 0,
  };
  if (size_name == NULL) return -1;
  if (strcmp(size_name, "antwerp") == 0) {
    params.map = GENERATOR_MAP_ANTWERP;
    params.pupils = 307;
    params.vacancies = 1220;
    params.rural_share = 0; /* the periphery is one of the areas */
    params.commute_min_km = 3.0;
    params.commute_max_km = 20.0;
  } else if (strcmp(size_name, "flanders") == 0) {
    params.map = GENERATOR_MAP_FLANDERS;
    params.pupils = 20000;
    params.vacancies = 30000;
    params.commute_min_km = 6.0; /* tuned: about 70 pairs per pupil, 1.4 M in all */
  } else if (strcmp(size_name, "germany") == 0) {
    params.map = GENERATOR_MAP_GERMANY;
    params.pupils = 200000;
    params.vacancies = 250000;
    /* German cities are far bigger than Flemish ones: more sprawl and shorter commutes
     * keep it near 34 pairs per pupil (6.8 M pairs) instead of 100. */
    params.city_spread_km = 14.0;
    params.rural_share = 0.3;
    params.rural_spread_km = 30.0;
    params.commute_min_km = 5.0;
    params.commute_max_km = 28.0;
  } else {
    return -1;
  }
  params.map_vacancies = params.vacancies;
  *out = params;
  return 0;
}

static bool params_valid(const generator_params *params) {
  return params->pupils >= 0 && params->pupils <= MATCHER_COUNT_MAX && params->vacancies >= 0 &&
         params->vacancies <= MATCHER_COUNT_MAX && params->map_vacancies >= 0 && params->trainings >= 1 &&
         params->trainings <= GENERATOR_TRAININGS_MAX && params->commute_min_km >= 0 &&
         params->commute_max_km >= params->commute_min_km && params->commute_max_km > 0 &&
         params->commute_max_km <= 1000 && params->city_spread_km >= 0 && params->rural_spread_km >= 0 &&
         params->rural_share >= 0 && params->rural_share <= 1 && params->pupil_training_skew >= 0 &&
         params->vacancy_training_skew >= 0 && params->area_supply_noise >= 0 &&
         (unsigned)params->map <= GENERATOR_MAP_GERMANY;
}

/* ---------------------------------------------------------------------------------------- */
/* Places and trainings */

typedef struct {
  double x_km; /* east of the map's first centre */
  double y_km; /* north of it */
} point;

/* Centres projected to a flat km grid (equirectangular: fine at city and country scale),
 * with the cumulative weights used to pick one and, per centre, the cumulative popularity of
 * each training among its pupils and its workplaces. */
typedef struct {
  map_table table;
  point *position;
  double *spread_km;
  double *pupil_cumulative;            /* [centres] */
  double *vacancy_cumulative;          /* [centres] */
  double *pupil_training_cumulative;   /* [centres * trainings] */
  double *vacancy_training_cumulative; /* [centres * trainings] */
  double scale;
} world;

static void world_free(world *w) {
  free(w->position);
  free(w->spread_km);
  free(w->pupil_cumulative);
  free(w->vacancy_cumulative);
  free(w->pupil_training_cumulative);
  free(w->vacancy_training_cumulative);
}

/* Index of the first cumulative weight above a uniform pick. */
static int32_t pick_cumulative(random_stream *stream, const double *cumulative, int32_t count) {
  double target = generator_random_unit(stream) * cumulative[count - 1];
  int32_t low = 0, high = count - 1;
  while (low < high) {
    int32_t middle = low + (high - low) / 2;
    if (cumulative[middle] > target)
      high = middle;
    else
      low = middle + 1;
  }
  return low;
}

static bool world_make(world *w, const generator_params *params, random_stream *stream) {
  memset(w, 0, sizeof *w);
  w->table = map_for(params->map);
  int32_t centres = w->table.count, trainings = params->trainings;
  w->position = malloc((size_t)centres * sizeof *w->position);
  w->spread_km = malloc((size_t)centres * sizeof *w->spread_km);
  w->pupil_cumulative = malloc((size_t)centres * sizeof *w->pupil_cumulative);
  w->vacancy_cumulative = malloc((size_t)centres * sizeof *w->vacancy_cumulative);
  w->pupil_training_cumulative = malloc((size_t)centres * (size_t)trainings * sizeof(double));
  w->vacancy_training_cumulative = malloc((size_t)centres * (size_t)trainings * sizeof(double));
  if (!w->position || !w->spread_km || !w->pupil_cumulative || !w->vacancy_cumulative ||
      !w->pupil_training_cumulative || !w->vacancy_training_cumulative) {
    world_free(w);
    return false;
  }

  /* Scaling the map with the square root of the vacancy count keeps their density. */
  w->scale = params->map_vacancies > 0 && params->vacancies > 0
                 ? sqrt((double)params->vacancies / params->map_vacancies)
                 : 1.0;
  const centre *origin = &w->table.centres[0];
  double km_per_degree_east = 111.320 * cos(origin->latitude * PI / 180.0);
  double km_per_degree_north = 110.574;
  double pupil_total = 0, vacancy_total = 0;
  for (int32_t c = 0; c < centres; c++) {
    const centre *place = &w->table.centres[c];
    w->position[c].x_km = (place->longitude - origin->longitude) * km_per_degree_east * w->scale;
    w->position[c].y_km = (place->latitude - origin->latitude) * km_per_degree_north * w->scale;
    /* Bigger cities sprawl further, but far less than in proportion to their size. */
    double spread =
        place->spread_km > 0 ? place->spread_km : params->city_spread_km * pow(place->pupil_weight / 100.0, 0.25);
    w->spread_km[c] = spread * w->scale;
    pupil_total += place->pupil_weight;
    vacancy_total += place->vacancy_weight;
    w->pupil_cumulative[c] = pupil_total;
    w->vacancy_cumulative[c] = vacancy_total;
  }

  /* Training popularity: Zipf-like for both sides, but companies rank the trainings a little
   * differently from pupils, and each area has its own supply on top: that is what leaves
   * some trainings and areas short of seats while others have plenty. */
  int32_t vacancy_rank[GENERATOR_TRAININGS_MAX];
  for (int32_t t = 0; t < trainings; t++) vacancy_rank[t] = t;
  for (int32_t t = 0; t < trainings; t++) {
    int32_t other = t + (int32_t)generator_random_below(stream, 6);
    if (other >= trainings) other = trainings - 1;
    int32_t swap = vacancy_rank[t];
    vacancy_rank[t] = vacancy_rank[other];
    vacancy_rank[other] = swap;
  }
  for (int32_t c = 0; c < centres; c++) {
    double pupil_sum = 0, vacancy_sum = 0;
    for (int32_t t = 0; t < trainings; t++) {
      double pupil_weight = pow(t + 1.0, -params->pupil_training_skew) * exp(0.3 * generator_random_gaussian(stream));
      double vacancy_weight = pow(vacancy_rank[t] + 1.0, -params->vacancy_training_skew) *
                              exp(params->area_supply_noise * generator_random_gaussian(stream));
      pupil_sum += pupil_weight;
      vacancy_sum += vacancy_weight;
      w->pupil_training_cumulative[(size_t)c * (size_t)trainings + (size_t)t] = pupil_sum;
      w->vacancy_training_cumulative[(size_t)c * (size_t)trainings + (size_t)t] = vacancy_sum;
    }
  }
  return true;
}

/* A place near a centre picked by weight; returns the centre so the training can follow the
 * local popularity. */
static int32_t random_place(random_stream *stream, const world *w, const generator_params *params, bool for_pupil,
                            point *place) {
  int32_t c = pick_cumulative(stream, for_pupil ? w->pupil_cumulative : w->vacancy_cumulative, w->table.count);
  const centre *origin = &w->table.centres[c];
  double spread = w->spread_km[c];
  /* The rural draw only exists for blobs, so rings skip it (the stream's order is fixed). */
  if (origin->ring_outer_km <= 0 && params->rural_share > 0 && generator_random_unit(stream) < params->rural_share)
    spread = params->rural_spread_km * w->scale;
  double east_km, north_km;
  generator_place_offset(stream, origin, spread, w->scale, &east_km, &north_km);
  place->x_km = w->position[c].x_km + east_km;
  place->y_km = w->position[c].y_km + north_km;
  return c;
}

void generator_place_offset(random_stream *stream, const generator_centre *origin, double spread_km, double scale,
                            double *east_km, double *north_km) {
  if (origin->ring_outer_km > 0) {
    double angle = 2.0 * PI * generator_random_unit(stream);
    /* Uniform over the ring's area, not its radius. */
    double inner2 = origin->ring_inner_km * origin->ring_inner_km;
    double outer2 = origin->ring_outer_km * origin->ring_outer_km;
    double radius = sqrt(inner2 + generator_random_unit(stream) * (outer2 - inner2)) * scale;
    *east_km = radius * cos(angle);
    *north_km = radius * sin(angle);
    return;
  }
  *east_km = spread_km * generator_random_gaussian(stream);
  *north_km = spread_km * generator_random_gaussian(stream);
}

/* ---------------------------------------------------------------------------------------- */
/* Vacancies and the grid that finds them */

typedef struct {
  point place;
  int32_t training;
  int32_t minimum_readiness;
  bool preparatory;
  uint16_t days;
} vacancy_info;

typedef struct {
  double min_x_km;
  double min_y_km;
  double cell_km;
  int32_t columns;
  int32_t rows;
  int32_t trainings;
  int32_t *bucket_start; /* [trainings * rows * columns + 1] */
  int32_t *vacancy_ids;  /* grouped by bucket, ascending within one */
} vacancy_grid;

/* The grid never has more buckets than this: a few MB of offsets. */
#define MAX_GRID_BUCKETS (1 << 22)

static size_t bucket_of(const vacancy_grid *grid, int32_t training, int32_t row, int32_t column) {
  return ((size_t)training * (size_t)grid->rows + (size_t)row) * (size_t)grid->columns + (size_t)column;
}

static int32_t cell_index(double coordinate_km, double origin_km, double cell_km, int32_t limit) {
  double cell = floor((coordinate_km - origin_km) / cell_km);
  if (cell < 0) return 0;
  if (cell >= limit) return limit - 1;
  return (int32_t)cell;
}

static bool grid_make(vacancy_grid *grid, const vacancy_info *vacancies, int32_t vacancy_count,
                      const generator_params *params) {
  memset(grid, 0, sizeof *grid);
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
  for (int32_t j = 0; j < vacancy_count; j++) {
    const point *place = &vacancies[j].place;
    if (j == 0 || place->x_km < min_x) min_x = place->x_km;
    if (j == 0 || place->x_km > max_x) max_x = place->x_km;
    if (j == 0 || place->y_km < min_y) min_y = place->y_km;
    if (j == 0 || place->y_km > max_y) max_y = place->y_km;
  }
  /* A quarter of the longest commute: a pupil scans at most 9 x 9 cells, mostly inside its disc. */
  double cell_km = params->commute_max_km / 4.0;
  for (;;) {
    double columns = floor((max_x - min_x) / cell_km) + 1;
    double rows = floor((max_y - min_y) / cell_km) + 1;
    if (columns * rows * params->trainings <= MAX_GRID_BUCKETS) {
      grid->columns = (int32_t)columns;
      grid->rows = (int32_t)rows;
      break;
    }
    cell_km *= 2;
  }
  grid->min_x_km = min_x;
  grid->min_y_km = min_y;
  grid->cell_km = cell_km;
  grid->trainings = params->trainings;
  size_t buckets = (size_t)grid->trainings * (size_t)grid->rows * (size_t)grid->columns;
  grid->bucket_start = calloc(buckets + 1, sizeof *grid->bucket_start);
  grid->vacancy_ids = malloc(((size_t)vacancy_count + 1) * sizeof *grid->vacancy_ids);
  if (grid->bucket_start == NULL || grid->vacancy_ids == NULL) {
    free(grid->bucket_start);
    free(grid->vacancy_ids);
    return false;
  }
  /* Counting sort by bucket; the fill keeps ascending ids within each bucket. */
  size_t *bucket_of_vacancy = malloc(((size_t)vacancy_count + 1) * sizeof *bucket_of_vacancy);
  if (bucket_of_vacancy == NULL) {
    free(grid->bucket_start);
    free(grid->vacancy_ids);
    return false;
  }
  for (int32_t j = 0; j < vacancy_count; j++) {
    int32_t column = cell_index(vacancies[j].place.x_km, min_x, cell_km, grid->columns);
    int32_t row = cell_index(vacancies[j].place.y_km, min_y, cell_km, grid->rows);
    bucket_of_vacancy[j] = bucket_of(grid, vacancies[j].training, row, column);
    grid->bucket_start[bucket_of_vacancy[j] + 1]++;
  }
  for (size_t b = 0; b < buckets; b++) grid->bucket_start[b + 1] += grid->bucket_start[b];
  for (int32_t j = 0; j < vacancy_count; j++) grid->vacancy_ids[grid->bucket_start[bucket_of_vacancy[j]]++] = j;
  for (size_t b = buckets; b > 0; b--) grid->bucket_start[b] = grid->bucket_start[b - 1];
  grid->bucket_start[0] = 0;
  free(bucket_of_vacancy);
  return true;
}

static void grid_free(vacancy_grid *grid) {
  free(grid->bucket_start);
  free(grid->vacancy_ids);
}

/* ---------------------------------------------------------------------------------------- */
/* Pupils and their pairs */

typedef struct {
  point place;
  double commute_km;
  int32_t training;
  int32_t readiness;
  uint16_t days;
} pupil_info;

typedef struct {
  int32_t vacancy;
  int64_t distance_cost;
  int32_t preference_rank; /* 0: not preferred, 1 = first choice */
} candidate;

typedef struct {
  candidate *items;
  size_t count;
  size_t capacity;
} candidate_list;

typedef struct {
  matcher_pair *pairs;
  int64_t count;
  int64_t capacity;
} pair_list;

static int compare_candidates(const void *left, const void *right) {
  int32_t a = ((const candidate *)left)->vacancy, b = ((const candidate *)right)->vacancy;
  return (a > b) - (a < b);
}

static bool eligible(const pupil_info *pupil, const vacancy_info *vacancy) {
  return pupil->readiness >= vacancy->minimum_readiness &&
         (pupil->days & ~vacancy->days) == 0; /* every workplace day is one the company hosts */
}

/* Every eligible vacancy of the pupil's training within its commute, ascending by id. */
static bool find_candidates(const pupil_info *pupil, const vacancy_info *vacancies, const vacancy_grid *grid,
                            candidate_list *list) {
  list->count = 0;
  double radius = pupil->commute_km;
  int32_t first_column = cell_index(pupil->place.x_km - radius, grid->min_x_km, grid->cell_km, grid->columns);
  int32_t last_column = cell_index(pupil->place.x_km + radius, grid->min_x_km, grid->cell_km, grid->columns);
  int32_t first_row = cell_index(pupil->place.y_km - radius, grid->min_y_km, grid->cell_km, grid->rows);
  int32_t last_row = cell_index(pupil->place.y_km + radius, grid->min_y_km, grid->cell_km, grid->rows);
  for (int32_t row = first_row; row <= last_row; row++) {
    for (int32_t column = first_column; column <= last_column; column++) {
      size_t bucket = bucket_of(grid, pupil->training, row, column);
      for (int32_t k = grid->bucket_start[bucket]; k < grid->bucket_start[bucket + 1]; k++) {
        int32_t j = grid->vacancy_ids[k];
        const vacancy_info *vacancy = &vacancies[j];
        double dx = vacancy->place.x_km - pupil->place.x_km;
        double dy = vacancy->place.y_km - pupil->place.y_km;
        double distance2 = dx * dx + dy * dy;
        if (distance2 > radius * radius || !eligible(pupil, vacancy)) continue;
        if (list->count == list->capacity) {
          size_t capacity = list->capacity == 0 ? 256 : list->capacity * 2;
          candidate *grown = realloc(list->items, capacity * sizeof *grown);
          if (grown == NULL) return false;
          list->items = grown;
          list->capacity = capacity;
        }
        list->items[list->count++] = (candidate){j, (int64_t)llround(sqrt(distance2) * KM_TO_COST_UNITS), 0};
      }
    }
  }
  /* Cells are scanned row by row, so ids come out of order; sorting makes the output tidy. */
  qsort(list->items, list->count, sizeof *list->items, compare_candidates);
  return true;
}

static bool append_pair(pair_list *list, matcher_pair pair) {
  if (list->count == list->capacity) {
    int64_t capacity = list->capacity == 0 ? 4096 : list->capacity * 2;
    matcher_pair *grown = realloc(list->pairs, (size_t)capacity * sizeof *grown);
    if (grown == NULL) return false;
    list->pairs = grown;
    list->capacity = capacity;
  }
  list->pairs[list->count++] = pair;
  return true;
}

static void random_pupil(random_stream *stream, const world *w, const generator_params *params, pupil_info *pupil) {
  int32_t area = random_place(stream, w, params, true, &pupil->place);
  pupil->training = pick_cumulative(stream, w->pupil_training_cumulative + (size_t)area * (size_t)params->trainings,
                                    params->trainings);
  int32_t readiness_pick = (int32_t)generator_random_below(stream, 100);
  pupil->readiness = readiness_pick < params->not_ready_percent                                  ? NOT_READY
                     : readiness_pick < params->not_ready_percent + params->partly_ready_percent ? PARTLY_READY
                                                                                                 : READY;
  pupil->days = generator_random_pupil_days(stream);
  /* Squared uniform: most pupils will not travel far, a few accept a long commute. */
  double spread = generator_random_unit(stream);
  pupil->commute_km = params->commute_min_km + (params->commute_max_km - params->commute_min_km) * spread * spread;
}

static void random_vacancy(random_stream *stream, const world *w, const generator_params *params, vacancy_info *vacancy,
                           int32_t *seats) {
  int32_t area = random_place(stream, w, params, false, &vacancy->place);
  vacancy->training = pick_cumulative(stream, w->vacancy_training_cumulative + (size_t)area * (size_t)params->trainings,
                                      params->trainings);
  vacancy->preparatory = generator_random_percent(stream, params->preparatory_percent);
  vacancy->minimum_readiness = vacancy->preparatory                                           ? NOT_READY
                               : generator_random_percent(stream, params->ready_only_percent) ? READY
                                                                                              : PARTLY_READY;
  vacancy->days = generator_random_vacancy_days(stream);
  *seats = generator_random_seats(stream);
}

/* Marks up to MAX_PREFERENCES random candidates as the pupil's ranked preferences. */
static void random_preferences(random_stream *stream, candidate_list *list) {
  int32_t wanted = 1 + (int32_t)generator_random_below(stream, MAX_PREFERENCES);
  for (int32_t rank = 1; rank <= wanted && (size_t)rank <= list->count; rank++) {
    for (int attempt = 0; attempt < 4; attempt++) {
      candidate *choice = &list->items[generator_random_below(stream, (uint32_t)list->count)];
      if (choice->preference_rank == 0) {
        choice->preference_rank = rank;
        break;
      }
    }
  }
}

static int64_t pair_cost(const candidate *item, const pupil_info *pupil, const vacancy_info *vacancy,
                         bool has_preferences) {
  int64_t cost = item->distance_cost;
  if (has_preferences)
    cost += item->preference_rank > 0 ? (item->preference_rank - 1) * PREFERENCE_STEP : NOT_PREFERRED_PENALTY;
  if (vacancy->preparatory && pupil->readiness != NOT_READY) cost += PREPARATORY_MISUSE_PENALTY;
  return cost;
}

int generator_make(const generator_params *params, uint64_t seed, instance *out) {
  memset(out, 0, sizeof *out);
  if (params == NULL || !params_valid(params)) return -1;
  random_stream stream;
  generator_random_seed(&stream, seed);

  world w;
  if (!world_make(&w, params, &stream)) return -1;
  int32_t pupils = params->pupils, vacancy_count = params->vacancies;
  vacancy_info *vacancies = malloc(((size_t)vacancy_count + 1) * sizeof *vacancies);
  int32_t *seats = malloc(((size_t)vacancy_count + 1) * sizeof *seats);
  int32_t *fixed_seats_used = calloc((size_t)vacancy_count + 1, sizeof *fixed_seats_used);
  int64_t *unplaced_penalty = malloc(((size_t)pupils + 1) * sizeof *unplaced_penalty);
  matcher_fixed_pair *fixed = NULL;
  int64_t fixed_count = 0;
  pair_list pairs = {NULL, 0, 0};
  candidate_list candidates = {NULL, 0, 0};
  vacancy_grid grid = {0};
  bool ok = vacancies && seats && fixed_seats_used && unplaced_penalty;
  /* Arrays are never NULL, even when empty, so no reader has to special-case them. */
  if (ok) {
    fixed = malloc(((size_t)(params->fixed_permille > 0 ? pupils : 0) + 1) * sizeof *fixed);
    pairs.pairs = malloc(sizeof *pairs.pairs);
    pairs.capacity = 1;
    ok = fixed != NULL && pairs.pairs != NULL;
  }

  if (ok) {
    for (int32_t j = 0; j < vacancy_count; j++) random_vacancy(&stream, &w, params, &vacancies[j], &seats[j]);
    ok = grid_make(&grid, vacancies, vacancy_count, params);
  }
  for (int32_t i = 0; ok && i < pupils; i++) {
    pupil_info pupil;
    random_pupil(&stream, &w, params, &pupil);
    if (!find_candidates(&pupil, vacancies, &grid, &candidates)) {
      ok = false;
      break;
    }
    bool has_preferences = candidates.count > 0 && generator_random_percent(&stream, params->preference_percent);
    if (has_preferences) random_preferences(&stream, &candidates);
    for (size_t k = 0; ok && k < candidates.count; k++) {
      const candidate *item = &candidates.items[k];
      int64_t cost = pair_cost(item, &pupil, &vacancies[item->vacancy], has_preferences);
      ok = append_pair(&pairs, (matcher_pair){i, item->vacancy, cost});
    }
    unplaced_penalty[i] = unplaced_penalty_for(&stream, params);
    /* An accepted placement stays where a seat is still free for it. */
    if (params->fixed_permille > 0 && candidates.count > 0 &&
        (int32_t)generator_random_below(&stream, 1000) < params->fixed_permille) {
      int32_t vacancy = candidates.items[generator_random_below(&stream, (uint32_t)candidates.count)].vacancy;
      if (fixed_seats_used[vacancy] < seats[vacancy]) {
        fixed_seats_used[vacancy]++;
        fixed[fixed_count++] = (matcher_fixed_pair){i, vacancy};
      }
    }
  }

  free(candidates.items);
  grid_free(&grid);
  free(vacancies);
  free(fixed_seats_used);
  world_free(&w);
  if (!ok) {
    free(seats);
    free(unplaced_penalty);
    free(fixed);
    free(pairs.pairs);
    return -1;
  }
  if (pairs.count > 0 && pairs.count < pairs.capacity) {
    matcher_pair *shrunk = realloc(pairs.pairs, (size_t)pairs.count * sizeof *shrunk);
    if (shrunk != NULL) pairs.pairs = shrunk;
  }
  out->unplaced_penalty = unplaced_penalty;
  out->seats = seats;
  out->pairs = pairs.pairs;
  out->fixed = fixed;
  out->problem = (matcher_problem){
      .pupil_count = pupils,
      .vacancy_count = vacancy_count,
      .unplaced_penalty = unplaced_penalty,
      .seats = seats,
      .pair_count = pairs.count,
      .pairs = pairs.pairs,
      .fixed_count = fixed_count,
      .fixed = fixed,
  };
  return 0;
}
