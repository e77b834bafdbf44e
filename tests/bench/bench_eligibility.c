/* bench_eligibility.c: the rulebook's benchmark (program bench-eligibility): the candidate
 * search (eligibility_build) cold and after a 1 % change (eligibility_build_reusing), and the
 * explanation of the unplaced (eligibility_explain), on data generated in-process the way
 * tests/daemon/bench_rematch.c loads it into the daemon (same trainings, companies, seats, days,
 * commutes and map), so the figures compare with the daemon's candidates_us and explain_us.
 *
 *   bench-eligibility [--repeat N] [size...]     sizes: antwerp flanders germany (default
 *                                                antwerp flanders)
 *
 * Per size it prints the pairs, each phase's fastest of N runs (default 3) and its target
 * (issue 15: cold flanders candidates <= 150 ms, the 1 % build <= 15 ms, germany explain
 * <= 500 ms), the 1 % build against the cold build of the same run, and the process's peak RSS.
 * The 1 % build runs both ways: copying (eligibility_build_reusing) and in place
 * (eligibility_build_in_place, given the previous arrays). It also checks that both equal a fresh build of the changed
 * data (pair for pair, costs and distances included), and exits non-zero when it does not or any call fails: a missed
 * target is reported, not fatal. Between the builds it times the matcher's warm start as the daemon's rematch runs it
 * (matcher_solve in one call from the previous solution, with the build's change marks and warm_vacancy) against a
 * cold solve of the same problem: after the cold rematch (every placement now a proposal, nothing else changed) and
 * after the 1 % change (issue 15's target: 0.1x), each the fastest of N, both proven by matcher_verify and equal.
 * Not a timed test: run it by hand. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eligibility.h"
#include "../../daemon/lp_proc_status.h"
#include "matcher.h"

#define TRAININGS 10
#define COMPANIES_MIN 3000

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

typedef struct {
  const char *name;
  int32_t pupils, vacancies;
  int32_t box_lat, box_lon;                                  /* bench_rematch's map for that size */
  double target_cold_ms, target_reuse_ms, target_explain_ms; /* 0: none */
} bench_size;

static const bench_size sizes[] = {
    {"antwerp", 307, 1220, 250000, 350000, 0, 0, 0},
    {"flanders", 20000, 30000, 700000, 2500000, 150, 15, 0},
    {"germany", 200000, 250000, 5500000, 9000000, 0, 0, 500},
};

typedef struct {
  eligibility_pupil *pupils;
  eligibility_vacancy *vacancies;
  int32_t pupil_count, vacancy_count;
} instance;

/* As bench_rematch loads it: every company at one location, recognised for two trainings;
 * READY pupils on the waiting list, a tenth of them newcomers. */
static void generate(const bench_size *size, instance *out) {
  rng_state = 0x9E3779B97F4A7C15ull;
  int32_t companies = size->vacancies / 10 > COMPANIES_MIN ? size->vacancies / 10 : COMPANIES_MIN;
  int32_t *company_lat = malloc(sizeof *company_lat * (size_t)companies);
  int32_t *company_lon = malloc(sizeof *company_lon * (size_t)companies);
  for (int32_t k = 0; k < companies; k++) {
    company_lat[k] = 51100000 + (int32_t)rnd((uint32_t)size->box_lat);
    company_lon[k] = 4250000 + (int32_t)rnd((uint32_t)size->box_lon);
  }
  out->vacancy_count = size->vacancies;
  out->vacancies = calloc((size_t)size->vacancies, sizeof *out->vacancies);
  int32_t start = eligibility_day_of(2026, 9, 1);
  for (int32_t j = 0; j < size->vacancies; j++) {
    int32_t company = (int32_t)rnd((uint32_t)companies);
    eligibility_vacancy *vacancy = &out->vacancies[j];
    vacancy->training = company % (TRAININGS - 1) + (int32_t)rnd(2);
    vacancy->company = company;
    vacancy->recognised = 1;
    vacancy->open = 1;
    vacancy->min_readiness = READINESS_PARTLY;
    vacancy->seats = 1 + (int32_t)rnd(2);
    vacancy->day_mask = rnd(2) ? 0x1F1F : 0x0F0F;
    vacancy->lat_e6 = company_lat[company];
    vacancy->lon_e6 = company_lon[company];
    vacancy->start_day = start;
  }
  out->pupil_count = size->pupils;
  out->pupils = calloc((size_t)size->pupils, sizeof *out->pupils);
  for (int32_t i = 0; i < size->pupils; i++) {
    eligibility_pupil *pupil = &out->pupils[i];
    pupil->lat_e6 = 51100000 + (int32_t)rnd((uint32_t)size->box_lat);
    pupil->lon_e6 = 4250000 + (int32_t)rnd((uint32_t)size->box_lon);
    pupil->training = (int32_t)rnd(TRAININGS);
    pupil->readiness = READINESS_READY;
    pupil->max_commute_m = 8000 + (int32_t)rnd(12000);
    pupil->day_mask = rnd(2) ? 0x0303 : 0x0606;
    pupil->newcomer = rnd(10) == 0;
    pupil->waiting_days = (int32_t)rnd(30);
    pupil->proposed_vacancy = -1;
    pupil->fixed_vacancy = -1;
  }
  free(company_lat);
  free(company_lon);
}

static void fail(const char *what, matcher_status status, const matcher_error *error) {
  fprintf(stderr, "bench-eligibility: %s failed (%s): %s\n", what, matcher_status_name(status), error->message);
  exit(1);
}

/* Pair for pair, costs and distances: the reusing build must equal the plain one. */
static int same_problem(const eligibility_problem *a, const eligibility_problem *b) {
  if (a->problem.pair_count != b->problem.pair_count || a->problem.fixed_count != b->problem.fixed_count) return 0;
  for (int64_t k = 0; k < a->problem.pair_count; k++)
    if (a->pairs[k].pupil != b->pairs[k].pupil || a->pairs[k].vacancy != b->pairs[k].vacancy ||
        a->pairs[k].cost != b->pairs[k].cost || a->pair_distance_m[k] != b->pair_distance_m[k])
      return 0;
  for (int32_t i = 0; i < a->problem.pupil_count; i++)
    if (a->unplaced_penalty[i] != b->unplaced_penalty[i]) return 0;
  for (int32_t j = 0; j < a->problem.vacancy_count; j++)
    if (a->seats[j] != b->seats[j]) return 0;
  return 1;
}

/* The warm start against a cold solve of problem (see the first comment); 0, or 1 when either is
 * not proven or they differ. The last warm solution goes to *kept (NULL: freed). */
static int print_warm_solve(const char *what, const eligibility_problem *problem, const matcher_solution *previous,
                            int repeat, double target, matcher_solution *kept) {
  matcher_warm_start warm = {previous->vacancy_of_pupil, previous->vacancy_price, problem->pupil_changed};
  matcher_solution cold_solution = {0}, warm_solution = {0};
  matcher_error error = {{0}};
  double cold_ms = 1e30, warm_ms = 1e30;
  for (int r = 0; r < repeat; r++) {
    matcher_solution_free(&cold_solution);
    matcher_solution_free(&warm_solution);
    double t0 = now_ms();
    matcher_status status = matcher_solve(&problem->problem, NULL, &cold_solution, &error);
    double t1 = now_ms();
    if (status != MATCHER_OK) fail("matcher_solve (cold)", status, &error);
    status = matcher_solve(&problem->problem, &warm, &warm_solution, &error);
    double t2 = now_ms();
    if (status != MATCHER_OK) fail("matcher_solve (warm)", status, &error);
    if (t1 - t0 < cold_ms) cold_ms = t1 - t0;
    if (t2 - t1 < warm_ms) warm_ms = t2 - t1;
  }
  int32_t marked = 0;
  for (int32_t i = 0; problem->pupil_changed && i < problem->problem.pupil_count; i++)
    marked += problem->pupil_changed[i] != 0;
  const matcher_stats *stats = &warm_solution.stats;
  printf("  %-34s cold %.1f ms, warm %.1f ms = %.3fx", what, cold_ms, warm_ms, warm_ms / cold_ms);
  if (target > 0) printf(" (target <= %.1fx: %s)", target, warm_ms <= target * cold_ms ? "met" : "MISSED");
  printf("\n  %-34s %s; %ld pupils marked changed, %lld repaired, %lld searches, %lld pairs scanned\n", "",
         stats->warm_started ? "warm" : "dropped for a cold solve", (long)marked, (long long)stats->repaired,
         (long long)(stats->searches + stats->reverse_phases), (long long)stats->pairs_scanned);
  int good = matcher_verify(&problem->problem, &warm_solution, &error) == MATCHER_OK &&
             matcher_verify(&problem->problem, &cold_solution, &error) == MATCHER_OK &&
             warm_solution.objective == cold_solution.objective;
  if (!good)
    printf("  MISMATCH or unproven: warm %lld, cold %lld: %s\n", (long long)warm_solution.objective,
           (long long)cold_solution.objective, error.message);
  matcher_solution_free(&cold_solution);
  if (kept)
    *kept = warm_solution;
  else
    matcher_solution_free(&warm_solution);
  return good ? 0 : 1;
}

static void print_row(const char *what, double ms, double target_ms) {
  if (target_ms > 0)
    printf("  %-34s %10.1f ms   target <= %.0f ms: %s\n", what, ms, target_ms, ms <= target_ms ? "met" : "MISSED");
  else
    printf("  %-34s %10.1f ms\n", what, ms);
}

static int run_size(const bench_size *size, int repeat) {
  instance data;
  generate(size, &data);
  eligibility_weights weights;
  eligibility_default_weights(&weights);
  matcher_error error = {{0}};
  printf("== %s: %ld pupils, %ld vacancies\n", size->name, (long)data.pupil_count, (long)data.vacancy_count);

  /* Cold: the first rematch (nobody proposed yet). */
  eligibility_problem cold;
  double cold_ms = 1e30;
  for (int r = 0; r < repeat; r++) {
    if (r > 0) eligibility_problem_free(&cold);
    double t0 = now_ms();
    matcher_status status =
        eligibility_build(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights, &cold, &error);
    double ms = now_ms() - t0;
    if (status != MATCHER_OK) fail("eligibility_build", status, &error);
    if (ms < cold_ms) cold_ms = ms;
  }
  printf("  pairs %lld (%.1f per pupil, %.1f MiB with their distances)\n", (long long)cold.problem.pair_count,
         (double)cold.problem.pair_count / (data.pupil_count ? data.pupil_count : 1),
         (double)cold.problem.pair_count * (double)(sizeof(matcher_pair) + sizeof(int32_t)) / 1048576.0);
  print_row("candidates, cold", cold_ms, size->target_cold_ms);

  double t0 = now_ms();
  matcher_solution solution;
  matcher_status status = matcher_solve(&cold.problem, NULL, &solution, &error);
  if (status != MATCHER_OK) fail("matcher_solve", status, &error);
  double solve_ms = now_ms() - t0;
  printf("  (solve, cold: %.1f ms; placed %ld, unplaced %ld)\n", solve_ms, (long)solution.placed,
         (long)(data.pupil_count - solution.placed));

  eligibility_explanation *explanations = calloc((size_t)data.pupil_count + 1, sizeof *explanations);
  double explain_ms = 1e30;
  for (int r = 0; r < repeat; r++) {
    t0 = now_ms();
    status = eligibility_explain(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights, &cold,
                                 &solution, NULL, explanations, &error);
    double ms = now_ms() - t0;
    if (status != MATCHER_OK) fail("eligibility_explain", status, &error);
    if (ms < explain_ms) explain_ms = ms;
  }
  int32_t reasons[ELIGIBILITY_SEATS_TAKEN + 1] = {0}, hints = 0;
  for (int32_t i = 0; i < data.pupil_count; i++) {
    reasons[explanations[i].reason]++;
    hints += explanations[i].hint != ELIGIBILITY_HINT_NONE;
  }
  print_row("explain", explain_ms, size->target_explain_ms);
  printf("  (unplaced: %ld none within commute, %ld seats taken, %ld other; %ld checked hints)\n",
         (long)reasons[ELIGIBILITY_NONE_WITHIN_COMMUTE], (long)reasons[ELIGIBILITY_SEATS_TAKEN],
         (long)(data.pupil_count - reasons[ELIGIBILITY_PLACED] - reasons[ELIGIBILITY_NONE_WITHIN_COMMUTE] -
                reasons[ELIGIBILITY_SEATS_TAKEN]),
         (long)hints);

  /* The rematch after it: its placements are now the pupils' proposals (as the daemon applies
   * them), so the next build is the steady state the 1 % change starts from. */
  eligibility_pupil *before = malloc(sizeof *before * (size_t)(data.pupil_count + 1));
  eligibility_pupil *initial = malloc(sizeof *initial * (size_t)(data.pupil_count + 1));
  memcpy(initial, data.pupils, sizeof *initial * (size_t)data.pupil_count);
  for (int32_t i = 0; i < data.pupil_count; i++) data.pupils[i].proposed_vacancy = solution.vacancy_of_pupil[i];
  memcpy(before, data.pupils, sizeof *before * (size_t)data.pupil_count);
  int32_t *same_pupil = malloc(sizeof *same_pupil * (size_t)(data.pupil_count + 1));
  int32_t *same_vacancy = malloc(sizeof *same_vacancy * (size_t)(data.vacancy_count + 1));
  for (int32_t i = 0; i < data.pupil_count; i++) same_pupil[i] = i;
  for (int32_t j = 0; j < data.vacancy_count; j++) same_vacancy[j] = j;
  /* Built from the cold one as the daemon does, for the change marks its warm start gets. */
  eligibility_previous after_cold = {initial,    data.pupil_count, data.vacancies,           data.vacancy_count,
                                     weights,    cold.pairs,       cold.pair_distance_m,     cold.problem.pair_count,
                                     same_pupil, same_vacancy,     solution.vacancy_of_pupil};
  eligibility_problem steady;
  status = eligibility_build_reusing(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights,
                                     &after_cold, &steady, &error);
  if (status != MATCHER_OK) fail("eligibility_build_reusing", status, &error);
  matcher_solution steady_solution;
  int solves_differ =
      print_warm_solve("solve, rematch after the cold one", &steady, &solution, repeat, 0, &steady_solution);

  /* The 1 % change: every hundredth pupil moves house (bench_rematch's change). */
  for (int32_t i = 0; i < data.pupil_count; i += 100) {
    data.pupils[i].lat_e6 = 51100000 + (int32_t)rnd((uint32_t)size->box_lat);
    data.pupils[i].lon_e6 = 4250000 + (int32_t)rnd((uint32_t)size->box_lon);
  }
  eligibility_previous previous = {before,
                                   data.pupil_count,
                                   data.vacancies,
                                   data.vacancy_count,
                                   weights,
                                   steady.pairs,
                                   steady.pair_distance_m,
                                   steady.problem.pair_count,
                                   same_pupil,
                                   same_vacancy,
                                   steady_solution.vacancy_of_pupil};
  eligibility_problem reused;
  double reuse_ms = 1e30;
  for (int r = 0; r < repeat; r++) {
    if (r > 0) eligibility_problem_free(&reused);
    t0 = now_ms();
    status = eligibility_build_reusing(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights,
                                       &previous, &reused, &error);
    double ms = now_ms() - t0;
    if (status != MATCHER_OK) fail("eligibility_build_reusing", status, &error);
    if (ms < reuse_ms) reuse_ms = ms;
  }
  print_row("candidates, 1 % change, copying", reuse_ms, size->target_reuse_ms);
  printf("  1 %% build against the cold build: %.3fx (target <= 0.1x: %s); %ld of %ld pupils reused\n",
         reuse_ms / cold_ms, reuse_ms <= 0.1 * cold_ms ? "met" : "MISSED", (long)reused.reused_pupils,
         (long)data.pupil_count);

  /* The same build given the previous arrays (eligibility_build_in_place), on a copy of them
   * each time (the copy is not timed: the daemon hands over the arrays it keeps). */
  eligibility_problem moved;
  double in_place_ms = 1e30;
  size_t pair_bytes = sizeof(matcher_pair) * (size_t)(steady.problem.pair_count + 1);
  size_t distance_bytes = sizeof(int32_t) * (size_t)(steady.problem.pair_count + 1);
  for (int r = 0; r < repeat; r++) {
    if (r > 0) eligibility_problem_free(&moved);
    eligibility_previous given = previous;
    matcher_pair *pairs = malloc(pair_bytes);
    int32_t *distances = malloc(distance_bytes);
    memcpy(pairs, steady.pairs, pair_bytes - sizeof(matcher_pair));
    memcpy(distances, steady.pair_distance_m, distance_bytes - sizeof(int32_t));
    given.pairs = pairs, given.pair_distance_m = distances;
    t0 = now_ms();
    status = eligibility_build_in_place(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights,
                                        &given, &moved, &error);
    double ms = now_ms() - t0;
    if (status != MATCHER_OK) fail("eligibility_build_in_place", status, &error);
    if (ms < in_place_ms) in_place_ms = ms;
  }
  print_row("candidates, 1 % change, in place", in_place_ms, size->target_reuse_ms);
  printf("  1 %% build in place against the cold build: %.3fx (target <= 0.1x: %s)\n", in_place_ms / cold_ms,
         in_place_ms <= 0.1 * cold_ms ? "met" : "MISSED");
  int32_t changed = 0;
  for (int32_t i = 0; i < data.pupil_count; i++) changed += moved.pupil_changed[i] != 0;
  printf("  pupils changed for the matcher's warm start: %ld\n", (long)changed);

  solves_differ |= print_warm_solve("solve, 1 % change", &moved, &steady_solution, repeat, 0.1, NULL);

  eligibility_problem fresh;
  status =
      eligibility_build(data.pupils, data.pupil_count, data.vacancies, data.vacancy_count, &weights, &fresh, &error);
  if (status != MATCHER_OK) fail("eligibility_build", status, &error);
  int same = same_problem(&reused, &fresh) && same_problem(&moved, &fresh);
  printf("  reusing builds (copying, in place) equal a fresh build: %s\n", same ? "yes" : "NO");
  printf("  peak RSS so far %.0f MiB\n", lp_proc_status_bytes(0, "VmHWM") / 1048576.0);

  eligibility_problem_free(&fresh);
  eligibility_problem_free(&reused);
  eligibility_problem_free(&moved);
  eligibility_problem_free(&steady);
  eligibility_problem_free(&cold);
  matcher_solution_free(&solution);
  matcher_solution_free(&steady_solution);
  free(explanations);
  free(before);
  free(initial);
  free(same_pupil);
  free(same_vacancy);
  free(data.pupils);
  free(data.vacancies);
  return same && !solves_differ ? 0 : 1;
}

int main(int argc, char **argv) {
  int repeat = 3, failures = 0, ran = 0;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--repeat") == 0 && a + 1 < argc) {
      repeat = atoi(argv[++a]);
      if (repeat < 1) repeat = 1;
      continue;
    }
    size_t k = 0;
    while (k < sizeof sizes / sizeof sizes[0] && strcmp(sizes[k].name, argv[a]) != 0) k++;
    if (k == sizeof sizes / sizeof sizes[0]) {
      fprintf(stderr, "usage: bench-eligibility [--repeat N] [antwerp|flanders|germany ...]\n");
      return 2;
    }
    failures += run_size(&sizes[k], repeat);
    ran++;
  }
  if (!ran) failures = run_size(&sizes[0], repeat) + run_size(&sizes[1], repeat);
  return failures ? 1 : 0;
}
