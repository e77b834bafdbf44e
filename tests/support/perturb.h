/* perturb.h: "tomorrow's problem" for warm-start tests and the benchmark.
 *
 * Applies random changes to a share of a problem, the way a night's worth of registrations
 * changes the city: pupils leave and arrive, vacancies close and open, seats change, pupils'
 * eligible pairs and costs change, penalties grow, proposals get accepted (become fixed). It
 * also re-indexes the previous solution to the new ids, as the daemon would, giving the warm
 * start for the changed problem. Everything is O(pupils + vacancies + pairs), so the benchmark
 * can perturb its largest instances. */
#ifndef LEERPLEK_TESTS_PERTURB_H
#define LEERPLEK_TESTS_PERTURB_H

#include <stdbool.h>
#include <stdint.h>

#include "matcher.h"
#include "test_problem.h"

/* How the changes are drawn. */
typedef enum {
  /* Like a real night: a new vacancy copies a surviving one nearby (same pupils eligible,
   * costs within 20 %), a new pupil copies an old one, re-costed pairs move by up to 20 %,
   * penalties grow by up to a tenth, seats move by one, a replacement pair goes to a vacancy
   * a neighbour is eligible for. What the benchmark's warm-start target is about. */
  TEST_PERTURB_LOCAL,
  /* Adversarial: new pairs to uniformly random vacancies and pupils anywhere, costs and
   * penalties redrawn over the whole range, seats redrawn. Long augmenting paths across the
   * city: the harder test of warm-start repair. */
  TEST_PERTURB_SCATTERED
} test_perturb_style;

typedef struct {
  test_problem changed; /* the new problem */
  /* The warm start (valid only when a previous solution was given; all NULL otherwise). */
  matcher_warm_start warm;        /* points into the three arrays below */
  int32_t *warm_vacancy_of_pupil; /* [new pupils]: MATCHER_UNKNOWN for new pupils */
  int64_t *warm_vacancy_price;    /* [new vacancies]: 0 for new vacancies */
  uint8_t *warm_pupil_changed;    /* [new pupils]: 1 where matcher.h says "changed" (new,
                                     penalty, a pair added, removed or re-costed) and
                                     where the pupil's pair became fixed */
  /* Where each old id went: a new id, or -1 when it was removed. Survivors keep their
   * relative order; additions come after them. */
  int32_t *new_pupil_of_old;   /* [old pupils] */
  int32_t *new_vacancy_of_old; /* [old vacancies] */
  int64_t changes;             /* how many individual changes were made */
} test_perturbation;

/* Changes about `share` (0..1) of the pupils and vacancies of `old`. previous may be NULL (no
 * warm start is produced then); otherwise it must be a solution of `old`. Deterministic in
 * seed. The result is always a valid problem whose fixed pairs fit their seats. */
void test_perturb(const matcher_problem *old, const matcher_solution *previous, double share, test_perturb_style style,
                  uint64_t seed, test_perturbation *out);

void test_perturbation_free(test_perturbation *perturbation);

#endif
