/* demo_data.h: the seeded Antwerp demo dataset (the SamDuLeA dashboard's February 2022 figures) as
 * plain structs, and its CSV files in the columns `leerplek import` reads.
 *
 * One seed and one scale fully determine the dataset: 44 trainings, 20 schools of four kinds,
 * 1,220 recognised companies, 367 recognised locations, their vacancies, and 307 pupils over
 * the 15 education areas and the three groups of the 2020-2021 study; and the preparatory
 * track: five support organisations with sites in Antwerp's districts, a referral for every
 * not-ready pupil in the trajectory mix of seed 000, and offers whose seats per component equal
 * what those referrals ask (derived without drawing from the random stream, so the figures
 * above do not depend on them). Scale K multiplies every
 * count except the trainings (K = 65 gives about 20,000 pupils, the size of Flanders).
 *
 * And the start state the seed describes: 367 agreements of which 321 running. leerplek holds
 * one placement, so at most one running agreement, per pupil; the seed's 321 running
 * agreements on 307 pupils (14 of them with two at once) become 321 pupils with one running
 * agreement each, and its 46 ended ones 46 pupils whose agreement ended (they left the track).
 * These 367 pupils of the agreements come beside the 307 waiting ones, with the seed's kinds
 * and trainings, and every running agreement holds a seat of its own vacancy (seats_held),
 * added to the seats the waiting pupils are matched to: the rematch finds what it found
 * before. They are drawn from a stream of their own, so nothing above depends on them.
 */
#ifndef LEERPLEK_DEMO_DATA_H
#define LEERPLEK_DEMO_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DEMO_SCALE_MAX 200
#define DEMO_RECOGNITIONS_MAX 6
#define DEMO_PREFERENCES_MAX 3

typedef enum {
  DEMO_SCHOOL_FULL_TIME,        /* full-time secondary */
  DEMO_SCHOOL_BUSO,             /* special needs secondary */
  DEMO_SCHOOL_LEARNING_WORKING, /* centre for learning and working (CDO) */
  DEMO_SCHOOL_SYNTRA,           /* apprenticeship provider */
  DEMO_SCHOOL_KIND_COUNT
} demo_school_kind;

typedef enum {
  DEMO_GROUP_MANY_INDICATORS, /* 45 %: many disadvantage indicators */
  DEMO_GROUP_NEWCOMER,        /* 27 %: followed reception classes (OKAN) */
  DEMO_GROUP_FEW_INDICATORS,  /* 28 % */
  DEMO_GROUP_COUNT
} demo_group;

typedef enum { DEMO_NOT_READY, DEMO_PARTLY, DEMO_READY } demo_readiness;

typedef struct {
  const char *code;
  const char *name;
  unsigned offered_by;         /* bit per demo_school_kind that offers it */
  int32_t named_pupils;        /* the SamDuLeA dashboard's February 2022 count for the named trainings, else 0 */
  demo_school_kind named_kind; /* the kind of school those pupils attend (named ones only) */
  const char *sector;          /* word used in company names */
  bool always_short;           /* fewer seats than pupils: it lost pupils from October 2021 to February 2022 */
  int trade;                   /* the trade of the companies recognised for it (see demo_data.c) */
} demo_training;

typedef struct {
  char id[16];
  demo_school_kind kind;
} demo_school;

typedef struct {
  char id[11]; /* 10-digit enterprise number with a valid mod-97 check */
  char name[64];
  int32_t trainings[DEMO_RECOGNITIONS_MAX];
  int32_t training_count;
  int32_t location_count;
  int trade; /* every recognition is a training of this trade */
} demo_company;

typedef struct {
  char id[16];
  int32_t company;
  int32_t area; /* index into generator_antwerp_areas */
  double latitude;
  double longitude;
  char postcode[5];
  const char *district;
} demo_location;

typedef struct {
  char id[16];
  int32_t location;
  int32_t training;
  int32_t seats;
  demo_readiness min_readiness;
  bool preparatory;
  uint16_t days;
  char start_date[11];
  const char *mentor;
  int32_t seats_held; /* seats of running agreements, beside `seats`; the CSV's seats are both */
} demo_vacancy;

typedef struct {
  char ref[16];
  int32_t school;
  int32_t training;
  demo_readiness readiness;
  int32_t area;
  double latitude; /* rounded to 3 decimals (about 100 m): no exact home */
  double longitude;
  char postcode[5];
  const char *district;
  double max_commute_km;
  uint16_t days;
  int32_t preferred[DEMO_PREFERENCES_MAX]; /* company indices, most preferred first */
  int32_t preferred_count;
  demo_group group;
  bool newcomer_okan;
  bool special_needs;
  char waiting_since[11];
} demo_pupil;

/* A training agreement (OAO) the demo starts with: running while ended_on is empty. */
typedef struct {
  char ref[20];  /* "OAO-2026-000001" */
  int32_t pupil; /* index into agreement_pupils */
  int32_t vacancy;
  char signed_on[11];
  char starts_on[11];
  char ends_on[11];
  char ended_on[11];      /* "" while running */
  const char *end_reason; /* NULL while running */
} demo_agreement;

/* The preparatory track's components, in the proto's order. */
typedef enum {
  DEMO_FOVORM,
  DEMO_FOWERK,
  DEMO_FOIBAL,
  DEMO_BGLTRA,
  DEMO_PRJLEW,
  DEMO_ALTDEL,
  DEMO_COMPONENT_COUNT
} demo_component;

/* The trajectories seed 000 counts over 1,601 pupils, largest first (see
 * demo_trajectory_permille). */
typedef enum {
  DEMO_TRAJECTORY_PREPARATORY,      /* FOVORM and/or FOWERK */
  DEMO_TRAJECTORY_GUIDANCE,         /* BGLTRA or PRJLEW */
  DEMO_TRAJECTORY_WORK,             /* ALTDEL */
  DEMO_TRAJECTORY_PREPARATORY_IBAL, /* FOWERK + FOIBAL */
  DEMO_TRAJECTORY_WORK_PREPARATORY, /* ALTDEL + FOVORM */
  DEMO_TRAJECTORY_WORK_IBAL,        /* ALTDEL + FOIBAL */
  DEMO_TRAJECTORY_IBAL,             /* FOIBAL */
  DEMO_TRAJECTORY_ALL,              /* FOWERK + FOIBAL + ALTDEL */
  DEMO_TRAJECTORY_COUNT
} demo_trajectory;

typedef struct {
  const char *id;
  const char *name;
  const char *postcode; /* placed at the postcode's centre by the import */
  const char *district;
} demo_site;

typedef struct {
  const char *id;
  const char *name;
  const demo_site *sites;
  int32_t site_count;
} demo_organisation;

typedef struct {
  char id[24];
  int32_t organisation;
  int32_t site;
  demo_component component;
  int32_t seats;
} demo_offer;

/* A not-ready pupil's request to the preparatory track: one referral row per component. */
typedef struct {
  int32_t pupil;
  demo_trajectory trajectory;
  unsigned components; /* bit per demo_component */
} demo_referral;

typedef struct {
  uint64_t seed;
  int32_t scale;
  const demo_training *trainings;
  int32_t training_count;
  demo_school *schools;
  int32_t school_count;
  demo_company *companies;
  int32_t company_count;
  demo_location *locations;
  int32_t location_count;
  demo_vacancy *vacancies;
  int32_t vacancy_count;
  demo_pupil *pupils;
  int32_t pupil_count;
  const demo_organisation *organisations;
  int32_t organisation_count;
  demo_offer *offers;
  int32_t offer_count;
  demo_referral *referrals; /* one per not-ready pupil */
  int32_t referral_count;
  demo_pupil *agreement_pupils; /* the pupils of the agreements, one each */
  int32_t agreement_pupil_count;
  demo_agreement *agreements; /* the running ones first, then the ended ones */
  int32_t agreement_count;
} demo_dataset;

/* The unscaled targets: the SamDuLeA dashboard of February 2022. */
enum {
  DEMO_TRAININGS = 44,
  DEMO_SCHOOLS = 20,
  DEMO_COMPANIES = 1220,
  DEMO_LOCATIONS = 367,
  DEMO_PUPILS = 307,
  DEMO_AGREEMENTS = 367,         /* all agreements of the school year */
  DEMO_AGREEMENTS_RUNNING = 321, /* the other 46 ended */
};
extern const int32_t demo_schools_per_kind[DEMO_SCHOOL_KIND_COUNT];   /* 10, 2, 7, 1 */
extern const int32_t demo_pupils_per_kind[DEMO_SCHOOL_KIND_COUNT];    /* 139, 6, 83, 79 */
extern const int32_t demo_trainings_per_kind[DEMO_SCHOOL_KIND_COUNT]; /* 20, 1, 24, 14 */
extern const int32_t demo_group_percent[DEMO_GROUP_COUNT];            /* 45, 27, 28 */
/* 346, 248, 161, 65, 54, 53, 41, 31 (seed 000; the remaining 0.1 % is rounding) */
extern const int32_t demo_trajectory_permille[DEMO_TRAJECTORY_COUNT];
/* The components of each trajectory (bit per demo_component); the preparatory and the guidance
 * ones alternate between their two forms, see demo_referral_components. */
unsigned demo_referral_components(demo_trajectory trajectory, int32_t nth);
extern const char *const demo_component_names[DEMO_COMPONENT_COUNT]; /* "fovorm", ... */

/* Builds the dataset for a seed and a scale 1..DEMO_SCALE_MAX. Returns 0, or -1 for a bad
 * scale or when memory ran out (nothing is left allocated then). */
int demo_generate(uint64_t seed, int32_t scale, demo_dataset *out);
void demo_free(demo_dataset *dataset);

/* Writes trainings.csv, companies.csv, locations.csv, vacancies.csv, pupils.csv (the waiting
 * pupils), agreement-pupils.csv (the pupils of the agreements, imported without a placement
 * request), agreements.csv (what `leerplek import agreements` reads), organisations.csv,
 * offers.csv, referrals.csv, tokens-plan.txt and trend.txt (the dashboard's October 2021 pupils in dual learning and
 * per named training, as a daily snapshot of 2026-10-01, "<day> name=value ...") into an existing directory. Returns 0,
 * or -1 with errno set. */
int demo_write_directory(const demo_dataset *dataset, const char *directory);

/* A human summary: counts, seats against pupils per training and per area. */
void demo_write_summary(const demo_dataset *dataset, FILE *out);

/* The 14-position day text of the CSV files ("MTW....MTW....", '.' = free). */
void demo_days_text(uint16_t days, char text[15]);

#endif
