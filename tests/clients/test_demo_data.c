/* test_demo_data.c: the Antwerp demo dataset (clients/tools/demo_data.h) checked against the SamDuLeA
 * dashboard's figures (Antwerp, February 2022) and proportions, by trade, commute and school,
 * for internal consistency, for determinism, at a larger scale, and its CSV files against the
 * real `leerplek import <kind> FILE --check` of the tool just built (written by the real
 * `leerplek-gen --demo`; both paths come from the build). The agreements the demo starts with
 * are the seed's in number (321 running, 46 ended, 367 in all), one per pupil of their own, on
 * real seats of their vacancies, in agreements.csv as much as in the structs.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_data.h"
#include "generator.h"

#ifndef LEERPLEK_GEN_PATH
#error "LEERPLEK_GEN_PATH must name the leerplek-gen binary"
#endif

extern char **environ;

static const char *const csv_kinds[] = {"trainings", "companies",     "locations", "vacancies",
                                        "pupils",    "organisations", "offers",    "referrals"};
static const char *const written_files[] = {
    "trainings.csv",  "companies.csv",     "locations.csv", "vacancies.csv", "pupils.csv",     "agreement-pupils.csv",
    "agreements.csv", "organisations.csv", "offers.csv",    "referrals.csv", "tokens-plan.txt"};
#define WRITTEN_FILE_COUNT (sizeof written_files / sizeof written_files[0])

static demo_dataset generate(uint64_t seed, int32_t scale) {
  demo_dataset dataset;
  cr_assert_eq(demo_generate(seed, scale, &dataset), 0, "demo_generate(%llu, %d) failed", (unsigned long long)seed,
               (int)scale);
  return dataset;
}

static char *temporary_directory(void) {
  char *path = strdup("/tmp/leerplek-demo-test-XXXXXX");
  cr_assert_not_null(path);
  cr_assert_not_null(mkdtemp(path), "mkdtemp failed");
  return path;
}

static void remove_directory(char *path) {
  DIR *dir = opendir(path);
  if (dir != NULL) {
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
      if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
      char file[4200];
      snprintf(file, sizeof file, "%s/%s", path, entry->d_name);
      unlink(file);
    }
    closedir(dir);
  }
  rmdir(path);
  free(path);
}

static char *slurp(const char *directory, const char *name, size_t *length) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", directory, name);
  FILE *in = fopen(path, "rb");
  cr_assert_not_null(in, "cannot read %s", path);
  fseek(in, 0, SEEK_END);
  long size = ftell(in);
  fseek(in, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  cr_assert_not_null(text);
  *length = fread(text, 1, (size_t)size, in);
  text[*length] = '\0';
  fclose(in);
  return text;
}

/* Runs a program (argv[0] is its path) with its output discarded (only the status counts); its exit status, -1 if
 * killed. */
static int run_program(char *const argv[]) {
  posix_spawn_file_actions_t actions;
  cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t child;
  int spawned = posix_spawn(&child, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  cr_assert_eq(spawned, 0, "cannot start %s", argv[0]);
  int status;
  cr_assert_eq(waitpid(child, &status, 0), child);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int32_t pupils_of_kind(const demo_dataset *d, demo_school_kind kind) {
  int32_t count = 0;
  for (int32_t i = 0; i < d->pupil_count; i++) count += d->schools[d->pupils[i].school].kind == kind;
  return count;
}

static int32_t total_seats(const demo_dataset *d) {
  int32_t seats = 0;
  for (int32_t v = 0; v < d->vacancy_count; v++) seats += d->vacancies[v].seats;
  return seats;
}

/* ---------------------------------------------------------------------------------------- */

Test(demo_data, has_the_dashboard_counts) {
  demo_dataset d = generate(1, 1);
  cr_expect_eq(d.training_count, 44);
  cr_expect_eq(d.school_count, 20);
  cr_expect_eq(d.company_count, 1220);
  cr_expect_eq(d.location_count, 367);
  cr_expect_eq(d.pupil_count, 307);
  static const int32_t schools[DEMO_SCHOOL_KIND_COUNT] = {10, 2, 7, 1};
  static const int32_t pupils[DEMO_SCHOOL_KIND_COUNT] = {139, 6, 83, 79};
  static const int32_t trainings[DEMO_SCHOOL_KIND_COUNT] = {20, 1, 24, 14};
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) {
    int32_t school_count = 0, training_count = 0;
    for (int32_t s = 0; s < d.school_count; s++) school_count += (int)d.schools[s].kind == kind;
    for (int32_t t = 0; t < d.training_count; t++) training_count += (d.trainings[t].offered_by >> kind) & 1;
    cr_expect_eq(school_count, schools[kind], "kind %d: %d schools", kind, (int)school_count);
    cr_expect_eq(pupils_of_kind(&d, (demo_school_kind)kind), pupils[kind], "kind %d pupils", kind);
    cr_expect_eq(training_count, trainings[kind], "kind %d offers %d trainings", kind, (int)training_count);
  }
  demo_free(&d);
}

Test(demo_data, named_trainings_have_their_february_pupils) {
  static const struct {
    const char *code;
    int32_t pupils;
  } named[] = {
      {"PAARDENZORG", 30},  {"CHEMIE", 35},           {"KAPPER-STYLIST", 10},     {"HAARZORG", 14},
      {"ELEKTRO-INST", 22}, {"ELEKTROTECHNICUS", 12}, {"LASSEN-CONSTRUCTIE", 11}, {"FITNESSINSTRUCTEUR", 8},
  };
  demo_dataset d = generate(3, 1);
  for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
    int32_t training = -1, count = 0;
    for (int32_t t = 0; t < d.training_count; t++)
      if (strcmp(d.trainings[t].code, named[k].code) == 0) training = t;
    cr_assert_geq(training, 0, "training %s missing", named[k].code);
    for (int32_t i = 0; i < d.pupil_count; i++) {
      count += d.pupils[i].training == training;
      /* A pupil's school offers the training it follows. */
      cr_assert(d.trainings[d.pupils[i].training].offered_by & (1u << d.schools[d.pupils[i].school].kind),
                "pupil %s follows %s, which its school does not offer", d.pupils[i].ref,
                d.trainings[d.pupils[i].training].code);
    }
    cr_expect_eq(count, named[k].pupils, "%s has %d pupils", named[k].code, (int)count);
  }
  demo_free(&d);
}

/* Areas within 1 percentage point of the 1,601-pupil study, groups within 1 point of 45/27/28. */
static void expect_domain_proportions(const demo_dataset *d) {
  int32_t area_count;
  const generator_centre *areas = generator_antwerp_areas(&area_count);
  cr_assert_eq(area_count, 15);
  double study_total = 0;
  for (int32_t a = 0; a < area_count; a++) study_total += areas[a].pupil_weight;
  cr_assert_eq((int)study_total, 1601);
  for (int32_t a = 0; a < area_count; a++) {
    int32_t count = 0;
    for (int32_t i = 0; i < d->pupil_count; i++) count += d->pupils[i].area == a;
    double share = (double)count / d->pupil_count, expected = areas[a].pupil_weight / study_total;
    cr_expect(fabs(share - expected) <= 0.01, "%s: %.3f of the pupils, study %.3f", areas[a].name, share, expected);
  }
  int32_t group[DEMO_GROUP_COUNT] = {0};
  for (int32_t i = 0; i < d->pupil_count; i++) {
    const demo_pupil *pupil = &d->pupils[i];
    group[pupil->group]++;
    cr_expect_eq(pupil->newcomer_okan, pupil->group == DEMO_GROUP_NEWCOMER, "%s: OKAN flag", pupil->ref);
    cr_expect_eq(pupil->special_needs, d->schools[pupil->school].kind == DEMO_SCHOOL_BUSO, "%s: BuSO flag", pupil->ref);
  }
  static const double percent[DEMO_GROUP_COUNT] = {45, 27, 28};
  for (int g = 0; g < DEMO_GROUP_COUNT; g++)
    cr_expect(fabs(100.0 * group[g] / d->pupil_count - percent[g]) <= 1.0, "group %d: %d of %d", g, (int)group[g],
              (int)d->pupil_count);
}

Test(demo_data, pupils_follow_the_study_areas_and_groups) {
  demo_dataset d = generate(7, 1);
  expect_domain_proportions(&d);
  demo_free(&d);
}

Test(demo_data, not_ready_pupils_have_preparatory_places_in_their_training) {
  demo_dataset d = generate(11, 1);
  int32_t not_ready = 0, partly = 0, ready = 0;
  for (int32_t i = 0; i < d.pupil_count; i++) {
    const demo_pupil *pupil = &d.pupils[i];
    not_ready += pupil->readiness == DEMO_NOT_READY;
    partly += pupil->readiness == DEMO_PARTLY;
    ready += pupil->readiness == DEMO_READY;
    if (pupil->readiness != DEMO_NOT_READY) continue;
    bool found = false;
    for (int32_t v = 0; v < d.vacancy_count && !found; v++)
      found = d.vacancies[v].preparatory && d.vacancies[v].training == pupil->training;
    cr_expect(found, "%s is not ready but %s has no preparatory place", pupil->ref, d.trainings[pupil->training].code);
  }
  cr_expect_gt(not_ready, 0);
  cr_expect_gt(partly, 0);
  cr_expect_gt(ready, not_ready, "most pupils are ready: %d ready, %d not", (int)ready, (int)not_ready);
  for (int32_t v = 0; v < d.vacancy_count; v++) {
    const demo_vacancy *vacancy = &d.vacancies[v];
    /* The import refuses regular places open to not-ready pupils. */
    cr_expect_eq(vacancy->preparatory, vacancy->min_readiness == DEMO_NOT_READY, "%s", vacancy->id);
    cr_expect(vacancy->seats >= 1 && vacancy->seats <= 4, "%s has %d seats", vacancy->id, (int)vacancy->seats);
  }
  demo_free(&d);
}

Test(demo_data, seats_cover_most_pupils_with_shortages_somewhere) {
  demo_dataset d = generate(1, 1);
  int32_t seats = total_seats(&d);
  cr_expect(seats >= d.pupil_count * 9 / 10 && seats <= d.pupil_count * 2, "%d seats for %d pupils", (int)seats,
            (int)d.pupil_count);
  int32_t pupils_of[DEMO_TRAININGS] = {0}, seats_of[DEMO_TRAININGS] = {0};
  int32_t pupils_in[64] = {0}, seats_in[64] = {0};
  for (int32_t i = 0; i < d.pupil_count; i++) {
    pupils_of[d.pupils[i].training]++;
    pupils_in[d.pupils[i].area]++;
  }
  for (int32_t v = 0; v < d.vacancy_count; v++) {
    seats_of[d.vacancies[v].training] += d.vacancies[v].seats;
    seats_in[d.locations[d.vacancies[v].location].area] += d.vacancies[v].seats;
  }
  int32_t short_trainings = 0, short_areas = 0;
  for (int32_t t = 0; t < DEMO_TRAININGS; t++) short_trainings += seats_of[t] < pupils_of[t];
  for (int32_t a = 0; a < 15; a++) short_areas += seats_in[a] < pupils_in[a];
  cr_expect(short_trainings >= 2 && short_trainings <= DEMO_TRAININGS / 2, "%d trainings short", (int)short_trainings);
  for (int32_t t = 0; t < DEMO_TRAININGS; t++)
    if (d.trainings[t].always_short)
      cr_expect_lt(seats_of[t], pupils_of[t], "%s: %d seats for %d pupils", d.trainings[t].code, (int)seats_of[t],
                   (int)pupils_of[t]);
  cr_expect(short_areas >= 1 && short_areas < 15, "%d areas short", (int)short_areas);
  demo_free(&d);
}

static bool valid_enterprise_number(const char *id) {
  if (strlen(id) != 10 || strspn(id, "0123456789") != 10) return false;
  unsigned long base = strtoul((char[9]){id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], 0}, NULL, 10);
  unsigned long check = strtoul(id + 8, NULL, 10);
  return check == 97 - base % 97;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Recognitions by trade: every company's trainings share one trade, so no hotel is recognised
 * for bricklaying; and a fixed, named pair of trainings never share a company. */
Test(demo_data, companies_are_recognised_only_within_their_trade) {
  for (uint64_t seed = 1; seed <= 3; seed++) {
    demo_dataset d = generate(seed, 1);
    int32_t hotel = -1, bricklaying = -1;
    for (int32_t t = 0; t < DEMO_TRAININGS; t++) {
      if (strcmp(d.trainings[t].code, "HOTEL") == 0) hotel = t;
      if (strcmp(d.trainings[t].code, "METSELAAR") == 0) bricklaying = t;
    }
    cr_assert(hotel >= 0 && bricklaying >= 0);
    cr_expect_neq(d.trainings[hotel].trade, d.trainings[bricklaying].trade);
    for (int32_t c = 0; c < d.company_count; c++) {
      const demo_company *company = &d.companies[c];
      for (int32_t k = 0; k < company->training_count; k++)
        cr_expect_eq(d.trainings[company->trainings[k]].trade, company->trade,
                     "seed %d: %s is recognised for %s outside its trade", (int)seed, company->id,
                     d.trainings[company->trainings[k]].code);
    }
    demo_free(&d);
  }
}

/* Commutes by bike and public transport: a median of about 11 km, not the 7 km of short hops. */
Test(demo_data, commute_limits_are_those_of_bike_and_public_transport) {
  demo_dataset d = generate(1, 1);
  double *limits = malloc((size_t)d.pupil_count * sizeof *limits);
  cr_assert_not_null(limits);
  int32_t long_ones = 0;
  for (int32_t i = 0; i < d.pupil_count; i++) {
    limits[i] = d.pupils[i].max_commute_km;
    long_ones += limits[i] >= 15.0;
  }
  qsort(limits, (size_t)d.pupil_count, sizeof *limits, compare_doubles);
  double median = limits[d.pupil_count / 2];
  cr_expect(median >= 9.0 && median <= 15.0, "median commute %.1f km", median);
  cr_expect(long_ones >= d.pupil_count / 5, "%d of %d pupils may travel 15 km or more", (int)long_ones,
            (int)d.pupil_count);
  free(limits);
  demo_free(&d);
}

/* Every school has pupils, the two BuSO schools too, so the report counts all 20. */
Test(demo_data, every_school_has_pupils) {
  for (uint64_t seed = 1; seed <= 5; seed++) {
    demo_dataset d = generate(seed, 1);
    int32_t *pupils_of = calloc((size_t)d.school_count, sizeof *pupils_of);
    cr_assert_not_null(pupils_of);
    for (int32_t i = 0; i < d.pupil_count; i++) pupils_of[d.pupils[i].school]++;
    for (int32_t s = 0; s < d.school_count; s++)
      cr_expect_gt(pupils_of[s], 0, "seed %d: school %s has no pupil", (int)seed, d.schools[s].id);
    free(pupils_of);
    demo_free(&d);
  }
}

Test(demo_data, references_are_consistent) {
  demo_dataset d = generate(5, 1);
  for (int32_t c = 0; c < d.company_count; c++) {
    const demo_company *company = &d.companies[c];
    cr_expect(valid_enterprise_number(company->id), "company id %s", company->id);
    cr_expect(company->training_count >= 1 && company->training_count <= DEMO_RECOGNITIONS_MAX,
              "%s has %d recognitions", company->id, (int)company->training_count);
    if (c > 0) cr_expect_lt(strcmp(d.companies[c - 1].id, company->id), 0, "ids ascend, so they are unique");
  }
  for (int32_t v = 0; v < d.vacancy_count; v++) {
    const demo_vacancy *vacancy = &d.vacancies[v];
    cr_assert(vacancy->location >= 0 && vacancy->location < d.location_count);
    const demo_company *company = &d.companies[d.locations[vacancy->location].company];
    bool recognised = false;
    for (int32_t k = 0; k < company->training_count; k++)
      recognised = recognised || company->trainings[k] == vacancy->training;
    cr_expect(recognised, "%s: %s is not recognised for %s", vacancy->id, company->id,
              d.trainings[vacancy->training].code);
    cr_expect_neq(vacancy->days, 0);
  }
  int32_t with_preferences = 0;
  for (int32_t i = 0; i < d.pupil_count; i++) {
    const demo_pupil *pupil = &d.pupils[i];
    with_preferences += pupil->preferred_count > 0;
    for (int32_t k = 0; k < pupil->preferred_count; k++) {
      bool publishes = false; /* a preference names a company with a place in the training */
      for (int32_t v = 0; v < d.vacancy_count && !publishes; v++)
        publishes = d.vacancies[v].training == pupil->training &&
                    d.locations[d.vacancies[v].location].company == pupil->preferred[k];
      cr_expect(publishes, "%s prefers %s", pupil->ref, d.companies[pupil->preferred[k]].id);
    }
    cr_expect(pupil->max_commute_km >= 4.0 && pupil->max_commute_km <= 30.0, "%s: %.1f km", pupil->ref,
              pupil->max_commute_km);
    cr_expect(strcmp(pupil->waiting_since, "2026-03-01") >= 0 && strcmp(pupil->waiting_since, "2026-11-01") <= 0,
              "%s waits since %s", pupil->ref, pupil->waiting_since);
    int postcode = atoi(pupil->postcode);
    cr_expect(postcode >= 2000 && postcode <= 2999, "%s lives in %s", pupil->ref, pupil->postcode);
  }
  cr_expect(with_preferences > d.pupil_count / 5 && with_preferences < d.pupil_count, "%d pupils with preferences",
            (int)with_preferences);
  demo_free(&d);
}

Test(demo_data, same_seed_same_bytes_and_different_seed_different) {
  char *first = temporary_directory(), *second = temporary_directory(), *other = temporary_directory();
  demo_dataset d = generate(42, 1);
  cr_assert_eq(demo_write_directory(&d, first), 0);
  demo_free(&d);
  d = generate(42, 1);
  cr_assert_eq(demo_write_directory(&d, second), 0);
  demo_free(&d);
  d = generate(43, 1);
  cr_assert_eq(demo_write_directory(&d, other), 0);
  demo_free(&d);
  size_t differing = 0;
  for (size_t k = 0; k < WRITTEN_FILE_COUNT; k++) {
    size_t length_a, length_b, length_c;
    char *a = slurp(first, written_files[k], &length_a);
    char *b = slurp(second, written_files[k], &length_b);
    char *c = slurp(other, written_files[k], &length_c);
    cr_expect_gt(length_a, 0, "%s is empty", written_files[k]);
    cr_expect(length_a == length_b && memcmp(a, b, length_a) == 0, "%s differs for the same seed", written_files[k]);
    differing += length_a != length_c || memcmp(a, c, length_a) != 0;
    free(a), free(b), free(c);
  }
  /* trainings.csv is the same fixed table for every seed; the drawn files must change. */
  cr_expect_geq(differing, 4, "only %zu files differ between seeds 42 and 43", differing);
  remove_directory(first);
  remove_directory(second);
  remove_directory(other);
}

/* Counts agreements.csv's rows: all, and those with an ended_on (the eighth column). */
static void count_agreement_rows(const char *directory, int32_t *all, int32_t *ended) {
  size_t length;
  char *text = slurp(directory, "agreements.csv", &length);
  static const char header[] = "school_id,pupil_ref,vacancy_id,agreement_ref,signed_on,starts_on,ends_on,ended_on,";
  cr_assert(strncmp(text, header, strlen(header)) == 0, "agreements.csv has another header: %.100s", text);
  *all = *ended = 0;
  char *line = strchr(text, '\n');
  while (line != NULL && line[1] != '\0') {
    line++;
    char *end = strchr(line, '\n');
    const char *cell = line;
    for (int column = 0; column < 7 && cell != NULL; column++) cell = strchr(cell, ',') ? strchr(cell, ',') + 1 : NULL;
    cr_assert_not_null(cell, "a short row in agreements.csv: %.80s", line);
    (*all)++;
    *ended += *cell != ',';
    line = end;
  }
  free(text);
}

static void expect_seed_agreements(const demo_dataset *d) {
  int32_t scale = d->scale, running = 0, held = 0, running_at[4096] = {0}, ended_at[4096] = {0};
  cr_assert_lt(d->vacancy_count, 4096);
  cr_expect_eq(d->agreement_count, DEMO_AGREEMENTS * scale);
  cr_expect_eq(d->agreement_pupil_count, d->agreement_count, "one pupil per agreement");
  for (int32_t k = 0; k < d->agreement_count; k++) {
    const demo_agreement *agreement = &d->agreements[k];
    const demo_pupil *pupil = &d->agreement_pupils[agreement->pupil];
    const demo_vacancy *vacancy = &d->vacancies[agreement->vacancy];
    bool is_running = agreement->ended_on[0] == '\0';
    running += is_running;
    if (is_running)
      running_at[agreement->vacancy]++;
    else
      ended_at[agreement->vacancy]++;
    cr_expect_eq(agreement->pupil, k, "agreement %s is not on a pupil of its own", agreement->ref);
    cr_expect_eq(pupil->training, vacancy->training, "%s: the pupil's training is not the vacancy's", agreement->ref);
    cr_expect_eq(pupil->days, vacancy->days, "%s: the pupil's days are not the workplace's", agreement->ref);
    cr_expect(d->trainings[pupil->training].offered_by & (1u << d->schools[pupil->school].kind),
              "%s: the pupil's school kind does not offer the training", agreement->ref);
    cr_expect(strcmp(agreement->signed_on, agreement->starts_on) < 0 &&
                  strcmp(agreement->starts_on, "2026-10-01") <= 0 &&
                  strcmp(agreement->starts_on, agreement->ends_on) < 0,
              "%s: signed %s, starts %s, ends %s", agreement->ref, agreement->signed_on, agreement->starts_on,
              agreement->ends_on);
    if (!is_running)
      cr_expect(strcmp(agreement->ended_on, agreement->starts_on) > 0 &&
                    strcmp(agreement->ended_on, "2026-11-13") <= 0 && agreement->end_reason != NULL,
                "%s: ended %s", agreement->ref, agreement->ended_on);
  }
  cr_expect_eq(running, DEMO_AGREEMENTS_RUNNING * scale, "%d running agreements", (int)running);
  cr_expect_eq(d->agreement_count - running, (DEMO_AGREEMENTS - DEMO_AGREEMENTS_RUNNING) * scale);
  /* Real seats: a running agreement holds one seat of its vacancy, beside the waiting pupils'
   * seats; an ended one held one of those until it ended, never more than the vacancy has. */
  for (int32_t v = 0; v < d->vacancy_count; v++) {
    held += d->vacancies[v].seats_held;
    cr_expect_eq(d->vacancies[v].seats_held, running_at[v], "%s holds %d seats for %d running agreements",
                 d->vacancies[v].id, (int)d->vacancies[v].seats_held, (int)running_at[v]);
    cr_expect_leq(ended_at[v], d->vacancies[v].seats, "%s: %d ended agreements on %d seats", d->vacancies[v].id,
                  (int)ended_at[v], (int)d->vacancies[v].seats);
  }
  cr_expect_eq(held, running);
  /* The pupils of the agreements are the seed's kinds, as the waiting ones are. */
  static const int32_t per_kind[DEMO_SCHOOL_KIND_COUNT] = {139, 6, 83, 79};
  int32_t of_kind[DEMO_SCHOOL_KIND_COUNT] = {0};
  for (int32_t k = 0; k < d->agreement_pupil_count; k++) of_kind[d->schools[d->agreement_pupils[k].school].kind]++;
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++) {
    double wanted = (double)DEMO_AGREEMENTS * scale * per_kind[kind] / DEMO_PUPILS;
    cr_expect(fabs(of_kind[kind] - wanted) <= 2, "kind %d: %d pupils with an agreement, want about %.1f", kind,
              (int)of_kind[kind], wanted);
  }
}

Test(demo_data, agreements_are_the_seeds_on_pupils_and_seats_of_their_own) {
  demo_dataset d = generate(1, 1);
  expect_seed_agreements(&d);
  /* The waiting pupils are the same as without the agreements (their own random stream). */
  cr_expect_eq(d.pupil_count, 307);
  char *directory = temporary_directory();
  cr_assert_eq(demo_write_directory(&d, directory), 0);
  int32_t all, ended;
  count_agreement_rows(directory, &all, &ended);
  cr_expect_eq(all, 367, "agreements.csv has %d rows", (int)all);
  cr_expect_eq(all - ended, 321, "agreements.csv has %d running", (int)(all - ended));
  cr_expect_eq(ended, 46, "agreements.csv has %d ended", (int)ended);
  /* vacancies.csv's seats are the waiting pupils' and the held ones together. */
  size_t length;
  char *vacancies = slurp(directory, "vacancies.csv", &length);
  int32_t written_seats = 0, wanted_seats = 0;
  for (char *line = strchr(vacancies, '\n'); line != NULL && line[1] != '\0'; line = strchr(line + 1, '\n')) {
    const char *cell = line + 1;
    for (int column = 0; column < 3; column++) cell = strchr(cell, ',') + 1;
    written_seats += atoi(cell);
  }
  for (int32_t v = 0; v < d.vacancy_count; v++) wanted_seats += d.vacancies[v].seats + d.vacancies[v].seats_held;
  cr_expect_eq(written_seats, wanted_seats, "vacancies.csv has %d seats, want %d", (int)written_seats,
               (int)wanted_seats);
  free(vacancies);
  remove_directory(directory);
  demo_free(&d);

  d = generate(7, 3);
  expect_seed_agreements(&d);
  demo_free(&d);
}

Test(demo_data, scale_multiplies_the_counts_and_keeps_the_shape) {
  demo_dataset small = generate(9, 1), large = generate(9, 3);
  cr_expect_eq(large.training_count, 44);
  cr_expect_eq(large.school_count, 3 * 20);
  cr_expect_eq(large.company_count, 3 * 1220);
  cr_expect_eq(large.location_count, 3 * 367);
  cr_expect_eq(large.pupil_count, 3 * 307);
  static const int32_t pupils[DEMO_SCHOOL_KIND_COUNT] = {139, 6, 83, 79};
  for (int kind = 0; kind < DEMO_SCHOOL_KIND_COUNT; kind++)
    cr_expect_eq(pupils_of_kind(&large, (demo_school_kind)kind), 3 * pupils[kind], "kind %d", kind);
  int32_t small_seats = total_seats(&small), large_seats = total_seats(&large);
  cr_expect(large_seats > 2 * small_seats && large_seats < 4 * small_seats, "%d seats at scale 3, %d at 1",
            (int)large_seats, (int)small_seats);
  expect_domain_proportions(&large);
  demo_free(&small);
  demo_free(&large);

  demo_dataset refused;
  cr_expect_eq(demo_generate(1, 0, &refused), -1);
  cr_expect_eq(demo_generate(1, DEMO_SCALE_MAX + 1, &refused), -1);
}

Test(demo_data, flanders_scale_reaches_twenty_thousand_pupils) {
  demo_dataset d = generate(1, 65);
  cr_expect(d.pupil_count >= 19500 && d.pupil_count <= 20500, "%d pupils", (int)d.pupil_count);
  expect_domain_proportions(&d);
  demo_free(&d);
}

/* Every not-ready pupil is referred, the trajectories in seed 000's mix (as close as whole
 * pupils allow), and the offers' seats per component are exactly what the referrals ask. */
static void expect_preparatory_track(const demo_dataset *d, double tolerance_points) {
  int32_t not_ready = 0;
  for (int32_t i = 0; i < d->pupil_count; i++) not_ready += d->pupils[i].readiness == DEMO_NOT_READY;
  cr_assert_eq(d->referral_count, not_ready, "%d referrals for %d not-ready pupils", (int)d->referral_count,
               (int)not_ready);
  cr_assert_gt(not_ready, 0);
  int32_t trajectories[DEMO_TRAJECTORY_COUNT] = {0}, asked[DEMO_COMPONENT_COUNT] = {0};
  int32_t nth[DEMO_TRAJECTORY_COUNT] = {0};
  for (int32_t k = 0; k < d->referral_count; k++) {
    const demo_referral *referral = &d->referrals[k];
    cr_expect_eq(d->pupils[referral->pupil].readiness, DEMO_NOT_READY);
    cr_expect_eq(referral->components, demo_referral_components(referral->trajectory, nth[referral->trajectory]));
    nth[referral->trajectory]++;
    trajectories[referral->trajectory]++;
    for (int c = 0; c < DEMO_COMPONENT_COUNT; c++) asked[c] += (referral->components >> c) & 1u;
  }
  for (int t = 0; t < DEMO_TRAJECTORY_COUNT; t++) {
    double want = demo_trajectory_permille[t] * d->referral_count / 1000.0;
    cr_expect(fabs(trajectories[t] - want) <= 1.0 + tolerance_points / 100.0 * d->referral_count,
              "trajectory %d: %d of %d referrals, the seed's share is %.1f", t, (int)trajectories[t],
              (int)d->referral_count, want);
  }
  int32_t seats[DEMO_COMPONENT_COUNT] = {0};
  for (int32_t k = 0; k < d->offer_count; k++) {
    const demo_offer *offer = &d->offers[k];
    cr_expect(offer->seats >= 1 && offer->seats <= 100, "%s has %d seats", offer->id, (int)offer->seats);
    cr_assert(offer->organisation >= 0 && offer->organisation < d->organisation_count);
    cr_expect(offer->site >= 0 && offer->site < d->organisations[offer->organisation].site_count);
    seats[offer->component] += offer->seats;
  }
  for (int c = 0; c < DEMO_COMPONENT_COUNT; c++) {
    cr_expect_eq(seats[c], asked[c], "%s: %d seats for %d referrals", demo_component_names[c], (int)seats[c],
                 (int)asked[c]);
    cr_expect_gt(seats[c], 0, "%s is offered", demo_component_names[c]);
  }
}

Test(demo_data, support_organisations_offers_and_referrals_follow_the_seed) {
  demo_dataset d = generate(1, 1);
  cr_expect_eq(d.organisation_count, 5, "a handful of organisations");
  int32_t sites = 0;
  for (int32_t o = 0; o < d.organisation_count; o++) {
    cr_expect_geq(d.organisations[o].site_count, 2);
    for (int32_t s = 0; s < d.organisations[o].site_count; s++)
      cr_expect_eq(d.organisations[o].sites[s].postcode[0], '2', "an Antwerp postcode");
    sites += d.organisations[o].site_count;
  }
  /* The demo's 45 not-ready pupils: the mix dealt to whole pupils. */
  cr_expect_eq(d.referral_count, 45);
  expect_preparatory_track(&d, 0.0);
  char *directory = temporary_directory();
  cr_assert_eq(demo_write_directory(&d, directory), 0);
  int32_t rows_wanted = 0;
  for (int32_t k = 0; k < d.referral_count; k++) rows_wanted += __builtin_popcount(d.referrals[k].components);
  static const char *const files[] = {"organisations.csv", "offers.csv", "referrals.csv"};
  const int32_t wanted[] = {sites, d.offer_count, rows_wanted};
  for (size_t f = 0; f < 3; f++) {
    size_t length;
    char *text = slurp(directory, files[f], &length);
    int32_t rows = -1;
    for (size_t k = 0; k < length; k++) rows += text[k] == '\n';
    cr_expect_eq(rows, wanted[f], "%s has %d rows, want %d", files[f], (int)rows, (int)wanted[f]);
    free(text);
  }
  demo_free(&d);
  remove_directory(directory);

  /* At Flanders' size the shares are the seed's to within a tenth of a percentage point. */
  d = generate(1, 65);
  expect_preparatory_track(&d, 0.1);
  demo_free(&d);
}

/* leerplek-gen --demo writes the files; the real tool's import --check accepts each of them. */
Test(demo_data, written_files_pass_the_cli_import_check) {
#ifndef LEERPLEK_CLI_PATH
  cr_skip_test("the leerplek tool is not built in this configuration");
#else
  char *directory = temporary_directory();
  char *generate_argv[] = {(char *)LEERPLEK_GEN_PATH, "--demo", directory, "--seed", "5", "--scale", "2", NULL};
  cr_assert_eq(run_program(generate_argv), 0, "leerplek-gen --demo failed");
  for (size_t k = 0; k < sizeof csv_kinds / sizeof csv_kinds[0]; k++) {
    char file[4200];
    snprintf(file, sizeof file, "%s/%s.csv", directory, csv_kinds[k]);
    char *check_argv[] = {(char *)LEERPLEK_CLI_PATH, "import", (char *)csv_kinds[k], file, "--check", NULL};
    cr_expect_eq(run_program(check_argv), 0, "leerplek import %s %s --check refused it", csv_kinds[k], file);
  }
  /* The pupils of the agreements are pupils rows; agreements.csv passes the file's own
   * checks (no token: the store's are left out). */
  char file[4200];
  snprintf(file, sizeof file, "%s/agreement-pupils.csv", directory);
  char *agreement_pupils_argv[] = {(char *)LEERPLEK_CLI_PATH, "import", "pupils", file, "--check", NULL};
  cr_expect_eq(run_program(agreement_pupils_argv), 0, "leerplek import pupils %s --check refused it", file);
  snprintf(file, sizeof file, "%s/agreements.csv", directory);
  char *agreements_argv[] = {(char *)LEERPLEK_CLI_PATH, "import", "agreements", file, "--check", NULL};
  cr_expect_eq(run_program(agreements_argv), 0, "leerplek import agreements %s --check refused it", file);
  /* The check is real: a vacancy with 0 seats is refused with the usage/input status. */
  char broken[4200];
  snprintf(broken, sizeof broken, "%s/broken.csv", directory);
  FILE *out = fopen(broken, "w");
  cr_assert_not_null(out);
  fputs("id,location_id,training_code,seats,min_readiness,days,kind,start_date\n"
        "V-1,VP-00001,CHEMIE,0,ready,MTWTF..MTWTF..,regular,2026-09-01\n",
        out);
  fclose(out);
  char *broken_argv[] = {(char *)LEERPLEK_CLI_PATH, "import", "vacancies", broken, "--check", NULL};
  cr_expect_eq(run_program(broken_argv), 2);
  size_t length;
  char *pupils = slurp(directory, "pupils.csv", &length);
  int32_t rows = 0;
  for (size_t k = 0; k < length; k++) rows += pupils[k] == '\n';
  cr_expect_eq(rows, 1 + 2 * 307, "header and 614 pupils at scale 2");
  free(pupils);
  char *tokens = slurp(directory, "tokens-plan.txt", &length);
  cr_expect_not_null(strstr(tokens, "school school:VT001\n"));
  cr_expect_not_null(strstr(tokens, "school school:SYNTRA002\n"));
  cr_expect_not_null(strstr(tokens, "company company:1"));
  free(tokens);
  remove_directory(directory);

  char *bad_scale_argv[] = {(char *)LEERPLEK_GEN_PATH, "--demo", "/tmp", "--scale", "0", NULL};
  cr_expect_eq(run_program(bad_scale_argv), 2);
#endif
}
