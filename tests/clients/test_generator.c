/* test_generator.c: the instance generator (clients/tools/generator.h).
 *
 * Benchmarks and demos rely on a size and a seed naming one exact dataset, and on that dataset
 * being a valid problem of the promised shape; these tests pin both down. Sizes stay small
 * (Antwerp, or Flanders scaled down) so the suite stays fast under the sanitizers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"
#include "instance.h"

static void make(const char *size_name, int32_t pupils, int32_t vacancies, uint64_t seed, instance *out) {
  generator_params params;
  cr_assert_eq(generator_params_for(size_name, &params), 0, "unknown size %s", size_name);
  if (pupils > 0) params.pupils = pupils;
  if (vacancies > 0) params.vacancies = vacancies;
  cr_assert_eq(generator_make(&params, seed, out), 0, "generator_make failed");
}

static char *written(const instance *inst, size_t *size) {
  char *text = NULL;
  FILE *out = open_memstream(&text, size);
  cr_assert_not_null(out);
  cr_assert_eq(instance_write(out, &inst->problem), 0);
  cr_assert_eq(fclose(out), 0);
  return text;
}

Test(generator, same_seed_gives_identical_bytes) {
  instance first, second;
  make("antwerp", 0, 0, 42, &first);
  make("antwerp", 0, 0, 42, &second);
  size_t first_size, second_size;
  char *first_text = written(&first, &first_size);
  char *second_text = written(&second, &second_size);
  cr_assert_eq(first_size, second_size);
  cr_assert(memcmp(first_text, second_text, first_size) == 0, "same seed, different instance");
  free(first_text);
  free(second_text);
  instance_free(&first);
  instance_free(&second);
}

Test(generator, different_seeds_give_different_instances) {
  instance first, second;
  make("antwerp", 0, 0, 1, &first);
  make("antwerp", 0, 0, 2, &second);
  size_t first_size, second_size;
  char *first_text = written(&first, &first_size);
  char *second_text = written(&second, &second_size);
  cr_assert(first_size != second_size || memcmp(first_text, second_text, first_size) != 0,
            "seeds 1 and 2 gave the same instance");
  free(first_text);
  free(second_text);
  instance_free(&first);
  instance_free(&second);
}

Test(generator, antwerp_has_the_dashboard_counts) {
  instance inst;
  make("antwerp", 0, 0, 1, &inst);
  cr_assert_eq(inst.problem.pupil_count, 307);
  cr_assert_eq(inst.problem.vacancy_count, 1220);
  cr_assert_gt(inst.problem.pair_count, 307 * 5, "too few pairs for a city: %lld", (long long)inst.problem.pair_count);
  cr_assert_lt(inst.problem.pair_count, 307 * 60, "too many pairs: %lld", (long long)inst.problem.pair_count);
  instance_free(&inst);
}

Test(generator, named_sizes_have_the_promised_counts) {
  generator_params params;
  cr_assert_eq(generator_params_for("flanders", &params), 0);
  cr_assert_eq(params.pupils, 20000);
  cr_assert_eq(params.vacancies, 30000);
  cr_assert_eq(params.trainings, 44);
  cr_assert_eq(generator_params_for("germany", &params), 0);
  cr_assert_eq(params.pupils, 200000);
  cr_assert_eq(params.vacancies, 250000);
  cr_assert_eq(generator_params_for("atlantis", &params), -1);
  cr_assert_eq(generator_params_for(NULL, &params), -1);
}

Test(generator, refuses_invalid_parameters) {
  generator_params params;
  cr_assert_eq(generator_params_for("antwerp", &params), 0);
  instance inst;
  params.trainings = 0;
  cr_assert_eq(generator_make(&params, 1, &inst), -1);
  cr_assert_null(inst.pairs);
  params.trainings = 44;
  params.pupils = -1;
  cr_assert_eq(generator_make(&params, 1, &inst), -1);
  params.pupils = 10;
  params.commute_max_km = 1;
  params.commute_min_km = 2;
  cr_assert_eq(generator_make(&params, 1, &inst), -1);
}

Test(generator, makes_valid_problems) {
  const char *sizes[] = {"antwerp", "flanders", "germany"};
  for (int s = 0; s < 3; s++) {
    generator_params params;
    cr_assert_eq(generator_params_for(sizes[s], &params), 0);
    params.pupils = 1000; /* every map, scaled down to stay fast */
    params.vacancies = 1500;
    params.fixed_permille = 50;
    instance inst;
    cr_assert_eq(generator_make(&params, 3, &inst), 0);
    matcher_error error;
    matcher_status status = matcher_check(&inst.problem, &error);
    cr_assert_eq(status, MATCHER_OK, "%s: %s: %s", sizes[s], matcher_status_name(status), error.message);
    cr_assert_gt(inst.problem.fixed_count, 0, "%s: no fixed pairs at 50 per mille", sizes[s]);
    /* Pairs come sorted by pupil, then vacancy: the file format is easy to read by eye. */
    for (int64_t k = 1; k < inst.problem.pair_count; k++) {
      const matcher_pair *a = &inst.problem.pairs[k - 1], *b = &inst.problem.pairs[k];
      cr_assert(a->pupil < b->pupil || (a->pupil == b->pupil && a->vacancy < b->vacancy),
                "%s: pairs %lld and %lld out of order", sizes[s], (long long)k - 1, (long long)k);
    }
    instance_free(&inst);
  }
}

Test(generator, empty_instances_are_valid) {
  generator_params params;
  cr_assert_eq(generator_params_for("flanders", &params), 0);
  params.pupils = 0;
  params.vacancies = 0;
  instance inst;
  cr_assert_eq(generator_make(&params, 1, &inst), 0);
  cr_assert_eq(inst.problem.pair_count, 0);
  matcher_error error;
  cr_assert_eq(matcher_check(&inst.problem, &error), MATCHER_OK, "%s", error.message);
  instance_free(&inst);
}

Test(generator, scaled_down_flanders_has_a_plausible_shape) {
  instance inst;
  make("flanders", 2000, 3000, 5, &inst);
  const matcher_problem *problem = &inst.problem;
  double pairs_per_pupil = (double)problem->pair_count / problem->pupil_count;
  /* The full size has about 70; a tenth of the map is smaller than a long commute, so fewer. */
  cr_assert(pairs_per_pupil >= 20 && pairs_per_pupil <= 80, "pairs per pupil %.1f", pairs_per_pupil);

  int32_t *pairs_of_pupil = calloc((size_t)problem->pupil_count, sizeof *pairs_of_pupil);
  cr_assert_not_null(pairs_of_pupil);
  int64_t max_cost = 0, costs_above_penalty = 0;
  for (int64_t k = 0; k < problem->pair_count; k++) {
    const matcher_pair *pair = &problem->pairs[k];
    pairs_of_pupil[pair->pupil]++;
    if (pair->cost > max_cost) max_cost = pair->cost;
    if (pair->cost > problem->unplaced_penalty[pair->pupil]) costs_above_penalty++;
  }
  int32_t without_pairs = 0, low_penalty = 0, high_priority = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    without_pairs += pairs_of_pupil[i] == 0;
    low_penalty += problem->unplaced_penalty[i] < 1000;
    high_priority += problem->unplaced_penalty[i] >= 3000000000LL;
  }
  free(pairs_of_pupil);
  /* Costs are commutes of at most 40 km (400 units) plus preference penalties. */
  cr_assert(max_cost > 100 && max_cost < 1000, "largest cost %lld", (long long)max_cost);
  cr_assert(without_pairs < problem->pupil_count / 5, "%d pupils have no eligible vacancy", without_pairs);
  cr_assert(low_penalty >= 10 && low_penalty <= 100, "%d low-penalty pupils, expected about 2 %%", low_penalty);
  cr_assert_gt(costs_above_penalty, 0, "no pair costs more than leaving its pupil unplaced");
  cr_assert(high_priority > 200, "only %d pupils with priority or long waits", high_priority);

  int32_t multi_seat = 0;
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    cr_assert(problem->seats[j] >= 1 && problem->seats[j] <= 4, "vacancy %d has %d seats", j, problem->seats[j]);
    multi_seat += problem->seats[j] > 1;
  }
  cr_assert(multi_seat > problem->vacancy_count / 10 && multi_seat < problem->vacancy_count / 2,
            "%d of %d vacancies have several seats", multi_seat, problem->vacancy_count);
  instance_free(&inst);
}

Test(generator, some_vacancies_are_contested) {
  /* Interesting instances have more pupils wanting some vacancy than it has seats. */
  instance inst;
  make("antwerp", 0, 0, 1, &inst);
  int32_t *demand = calloc((size_t)inst.problem.vacancy_count, sizeof *demand);
  cr_assert_not_null(demand);
  for (int64_t k = 0; k < inst.problem.pair_count; k++) demand[inst.problem.pairs[k].vacancy]++;
  int32_t contested = 0;
  for (int32_t j = 0; j < inst.problem.vacancy_count; j++) contested += demand[j] > inst.problem.seats[j];
  free(demand);
  cr_assert_gt(contested, 50, "only %d contested vacancies", contested);
  instance_free(&inst);
}
