/* test_rules.c: the daemon judges a pupil and a vacancy the same way wherever it asks.
 *
 * The rematch builds its pairs from the snapshot (lp_rules_pupil, lp_rules_vacancy, then
 * eligibility_build with its grid index); the checks that release a proposal a change no
 * longer fits ask lp_rules_judge for one pair. On random stored records (unknown trainings,
 * companies without the recognition, locations without a point, closed vacancies, declined and
 * excluded companies, preparatory places, both settings of ready_on_preparatory, start dates
 * and wanted starts with windows of 0, 15 and 30 days) every pair
 * must get the same verdict from both, so a rule written twice again would fail here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_rules.h"

#define TRAININGS 3
#define COMPANIES 6

static uint64_t rng_state;

static int32_t between(int32_t low, int32_t high) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return low + (int32_t)((rng_state >> 33) % (uint64_t)(high - low + 1));
}

static char *text(const char *format, int number) {
  char buffer[64];
  snprintf(buffer, sizeof buffer, format, number);
  return strdup(buffer);
}

static char **string_list(size_t count) { return calloc(count + 1, sizeof(char *)); }

/* A day of September or October 2026 (start dates around the school year's start). */
static Leerplek__V1__Date *autumn_day(void) {
  Leerplek__V1__Date *date = malloc(sizeof *date);
  leerplek__v1__date__init(date);
  date->year = 2026;
  date->month = between(9, 10);
  date->day = between(1, 30);
  return date;
}

static Leerplek__V1__GeoPoint *point_near_antwerp(void) {
  Leerplek__V1__GeoPoint *point = malloc(sizeof *point);
  leerplek__v1__geo_point__init(point);
  point->lat_e6 = 51217200 + between(-90000, 90000);
  point->lon_e6 = 4421000 + between(-120000, 120000);
  return point;
}

static void fill_state(lp_state *state, int pupil_count, int vacancy_count) {
  for (int t = 0; t < TRAININGS; t++) {
    Leerplek__V1__Training *training = malloc(sizeof *training);
    leerplek__v1__training__init(training);
    training->code = text("T-%d", t);
    cr_assert_eq(lp_state_put(state, LP_KIND_TRAINING, training->code, training), 0);
  }
  for (int c = 0; c < COMPANIES; c++) {
    Leerplek__V1__Company *company = malloc(sizeof *company);
    leerplek__v1__company__init(company);
    company->id = text("040000000%d", c);
    company->recognised_training_codes = string_list(TRAININGS);
    for (int t = 0; t < TRAININGS; t++)
      if (between(0, 2)) company->recognised_training_codes[company->n_recognised_training_codes++] = text("T-%d", t);
    cr_assert_eq(lp_state_put(state, LP_KIND_COMPANY, company->id, company), 0);
    Leerplek__V1__Location *location = malloc(sizeof *location);
    leerplek__v1__location__init(location);
    location->id = text("L%d", c);
    location->company_id = text("040000000%d", c);
    location->point = between(0, 9) ? point_near_antwerp() : NULL;
    cr_assert_eq(lp_state_put(state, LP_KIND_LOCATION, location->id, location), 0);
  }
  for (int j = 0; j < vacancy_count; j++) {
    Leerplek__V1__Vacancy *vacancy = malloc(sizeof *vacancy);
    leerplek__v1__vacancy__init(vacancy);
    vacancy->id = text("V%03d", j);
    int c = between(0, COMPANIES - 1);
    vacancy->company_id = text("040000000%d", c);
    vacancy->location_id = text(between(0, 19) ? "L%d" : "GONE%d", c);
    vacancy->training_code = text("T-%d", between(0, TRAININGS)); /* T-3 is unknown */
    vacancy->seats = (uint32_t)between(0, 3);
    vacancy->state = between(0, 9) ? LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN
                                   : LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED;
    vacancy->kind = between(0, 3) ? LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR
                                  : LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_PREPARATORY;
    vacancy->min_readiness = (Leerplek__V1__Readiness)between(0, 3);
    vacancy->day_mask = between(0, 2) ? 0x3FFF : (uint32_t)between(1, 0x3FFF);
    vacancy->start_date = autumn_day();
    cr_assert_eq(lp_state_put(state, LP_KIND_VACANCY, vacancy->id, vacancy), 0);
  }
  for (int i = 0; i < pupil_count; i++) {
    Leerplek__V1__Pupil *pupil = malloc(sizeof *pupil);
    leerplek__v1__pupil__init(pupil);
    pupil->school_id = strdup("S1");
    pupil->ref = text("p%03d", i);
    pupil->training_code = text("T-%d", between(0, TRAININGS));
    pupil->readiness = (Leerplek__V1__Readiness)between(1, 3);
    pupil->home = point_near_antwerp();
    pupil->max_commute_m = (uint32_t)between(100, 30000);
    pupil->day_mask = between(0, 3) ? 0x183 : (uint32_t)between(1, 0x3FFF);
    pupil->preferred_company_ids = string_list(2);
    pupil->excluded_company_ids = string_list(2);
    pupil->declined_company_ids = string_list(2);
    for (int k = between(0, 2); k > 0; k--)
      pupil->preferred_company_ids[pupil->n_preferred_company_ids++] = text("040000000%d", between(0, COMPANIES));
    for (int k = between(0, 1); k > 0; k--)
      pupil->excluded_company_ids[pupil->n_excluded_company_ids++] = text("040000000%d", between(0, COMPANIES - 1));
    for (int k = between(0, 1); k > 0; k--)
      pupil->declined_company_ids[pupil->n_declined_company_ids++] = text("040000000%d", between(0, COMPANIES - 1));
    if (between(0, 2)) pupil->wanted_start_date = autumn_day();
    char key[64];
    snprintf(key, sizeof key, "S1/%s", pupil->ref);
    cr_assert_eq(lp_state_put(state, LP_KIND_PUPIL, key, pupil), 0);
  }
}

Test(rules, the_rematch_and_the_proposal_checks_judge_every_pair_alike) {
  int64_t pairs_seen = 0, pairs_refused = 0, pairs_late = 0;
  for (uint64_t seed = 1; seed <= 60; seed++) {
    rng_state = seed * 0x9E3779B97F4A7C15ULL;
    lp_state state;
    lp_state_init(&state);
    int pupil_count = between(1, 40), vacancy_count = between(1, 40);
    fill_state(&state, pupil_count, vacancy_count);
    lp_config config;
    memset(&config, 0, sizeof config);
    config.rematch_cost_per_100m = 1;
    config.rematch_preference_rank_step = 20;
    config.rematch_not_preferred_penalty = 200;
    config.rematch_move_penalty = 100;
    config.rematch_ready_on_preparatory = seed % 2;
    config.rematch_start_window_days = (uint32_t)(seed % 3) * 15;
    eligibility_weights weights;
    lp_config_rule_weights(&config, &weights);

    /* The rematch's side, as lp_rematch.c takes its snapshot. */
    const lp_map *pupils = &state.maps[LP_KIND_PUPIL], *vacancies = &state.maps[LP_KIND_VACANCY];
    eligibility_pupil judged_pupils[40];
    eligibility_vacancy judged_vacancies[40];
    int32_t slots[40][6];
    for (size_t i = 0; i < pupils->count; i++)
      lp_rules_pupil(&state, pupils->entries[i].value, NULL, 0, slots[i], &judged_pupils[i]);
    lp_rules_lookups lookups = {0};
    for (size_t j = 0; j < vacancies->count; j++)
      lp_rules_vacancy(&state, &lookups, vacancies->entries[j].value, &judged_vacancies[j]);
    lp_rules_lookups_free(&lookups);
    eligibility_problem problem;
    matcher_error error = {{0}};
    cr_assert_eq(eligibility_build(judged_pupils, (int32_t)pupils->count, judged_vacancies, (int32_t)vacancies->count,
                                   &weights, &problem, &error),
                 MATCHER_OK, "seed %llu: %s", (unsigned long long)seed, error.message);

    /* The proposal checks' side, pair by pair. */
    int64_t next_pair = 0;
    for (size_t i = 0; i < pupils->count; i++) {
      for (size_t j = 0; j < vacancies->count; j++) {
        bool in_rematch = next_pair < problem.problem.pair_count && problem.pairs[next_pair].pupil == (int32_t)i &&
                          problem.pairs[next_pair].vacancy == (int32_t)j;
        if (in_rematch) next_pair++;
        eligibility_reason verdict =
            lp_rules_judge(&state, &config, pupils->entries[i].value, vacancies->entries[j].value);
        cr_assert_eq(in_rematch, verdict == ELIGIBILITY_PLACED,
                     "seed %llu: pupil %s and vacancy %s: the rematch says %s, the proposal check says rule %d",
                     (unsigned long long)seed, pupils->entries[i].key, vacancies->entries[j].key,
                     in_rematch ? "eligible" : "not eligible", (int)verdict);
        pairs_seen++;
        pairs_refused += !in_rematch;
        pairs_late += verdict == ELIGIBILITY_STARTS_TOO_LATE;
      }
    }
    cr_assert_eq(next_pair, problem.problem.pair_count);
    eligibility_problem_free(&problem);
    lp_state_free(&state);
  }
  cr_expect_gt(pairs_seen - pairs_refused, 300, "enough eligible pairs");
  cr_expect_gt(pairs_refused, 3000, "and enough refused ones");
  cr_expect_gt(pairs_late, 20, "some by their start dates");
}
