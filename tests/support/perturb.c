/* perturb.c: random changes to a problem plus the re-indexed warm start (see perturb.h).
 * Every step is a linear pass: pairs are grouped per pupil (and, for local changes, per
 * vacancy) once by a counting sort, so per-item edits never search the whole pair list. */
#include "perturb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What happens to a touched pupil. */
enum pupil_change {
  PUPIL_REMOVED,
  PUPIL_PENALTY_CHANGED,
  PUPIL_COSTS_CHANGED,
  PUPIL_PAIR_REPLACED, /* one pair dropped, one new pair to another vacancy */
  PUPIL_ACCEPTED,      /* its previous proposal becomes a fixed pair */
  PUPIL_UNCHANGED
};

static int32_t count_share(int64_t total, double share) { return (int32_t)llround((double)total * share); }

/* value * a random factor in [0.8, 1.2], kept within 0..MATCHER_VALUE_MAX: a re-costed pair
 * or a re-priced penalty that stays in its neighbourhood. */
static int64_t nudge(test_rng *rng, int64_t value) {
  double factor = 0.8 + 0.4 * (double)(test_rng_next(rng) >> 11) * 0x1.0p-53;
  double nudged = (double)value * factor;
  if (nudged > (double)MATCHER_VALUE_MAX) return MATCHER_VALUE_MAX;
  return nudged < 0 ? 0 : (int64_t)llround(nudged);
}

/* Items grouped by a key by counting sort: start[key]..start[key+1]-1 index into item. */
typedef struct {
  int64_t *start; /* [keys + 1] */
  int64_t *item;  /* [pairs]: indices into the problem's pairs */
  int64_t longest;
} grouping;

static void group_pairs(const matcher_problem *p, bool by_vacancy, grouping *g) {
  int32_t keys = by_vacancy ? p->vacancy_count : p->pupil_count;
  g->start = test_alloc((size_t)keys + 1, sizeof *g->start);
  g->item = test_alloc((size_t)p->pair_count, sizeof *g->item);
  for (int64_t k = 0; k < p->pair_count; k++) g->start[(by_vacancy ? p->pairs[k].vacancy : p->pairs[k].pupil) + 1]++;
  g->longest = 0;
  for (int32_t key = 0; key < keys; key++) {
    if (g->start[key + 1] > g->longest) g->longest = g->start[key + 1];
    g->start[key + 1] += g->start[key];
  }
  int64_t *next = test_alloc((size_t)keys + 1, sizeof *next);
  memcpy(next, g->start, ((size_t)keys + 1) * sizeof *next);
  for (int64_t k = 0; k < p->pair_count; k++) g->item[next[by_vacancy ? p->pairs[k].vacancy : p->pairs[k].pupil]++] = k;
  free(next);
}

static void grouping_free(grouping *g) {
  free(g->start);
  free(g->item);
}

void test_perturb(const matcher_problem *old, const matcher_solution *previous, double share, test_perturb_style style,
                  uint64_t seed, test_perturbation *out) {
  memset(out, 0, sizeof *out);
  test_rng rng;
  test_rng_seed(&rng, seed ^ UINT64_C(0x5eed0f7e57ab1e));
  const bool local = style == TEST_PERTURB_LOCAL;
  const int32_t old_n = old->pupil_count, old_m = old->vacancy_count;
  const int64_t old_e = old->pair_count;

  /* Value ranges of the old problem, so scattered new values look like the old ones. */
  int64_t cost_max = 0, penalty_min = old_n ? MATCHER_VALUE_MAX : 0, penalty_max = 0;
  int32_t seats_max = 1;
  for (int64_t k = 0; k < old_e; k++)
    if (old->pairs[k].cost > cost_max) cost_max = old->pairs[k].cost;
  for (int32_t i = 0; i < old_n; i++) {
    if (old->unplaced_penalty[i] < penalty_min) penalty_min = old->unplaced_penalty[i];
    if (old->unplaced_penalty[i] > penalty_max) penalty_max = old->unplaced_penalty[i];
  }
  for (int32_t j = 0; j < old_m; j++)
    if (old->seats[j] > seats_max) seats_max = old->seats[j];
  int32_t pupil_degree = old_n ? (int32_t)((old_e + old_n - 1) / old_n) : 1;
  int32_t vacancy_degree = old_m ? (int32_t)((old_e + old_m - 1) / old_m) : 1;

  grouping rows, columns = {0};
  group_pairs(old, false, &rows);
  if (local) group_pairs(old, true, &columns);

  /* Vacancies: a touched one closes (1 in 3) or gets another seat count. */
  out->new_vacancy_of_old = test_alloc((size_t)old_m, sizeof(int32_t));
  int32_t added_m = count_share(old_m, share / 3);
  if (added_m == 0 && share > 0 && old_m == 0) added_m = 1;
  int32_t *new_seats = test_alloc((size_t)old_m + (size_t)added_m, sizeof(int32_t));
  int32_t kept_m = 0;
  for (int32_t j = 0; j < old_m; j++) {
    int32_t seats = old->seats[j];
    if (test_rng_chance(&rng, share)) {
      out->changes++;
      if (test_rng_below(&rng, 3) == 0) {
        out->new_vacancy_of_old[j] = -1;
        continue;
      }
      if (local)
        seats = seats + (test_rng_chance(&rng, 0.5) ? 1 : -1);
      else
        seats = (int32_t)test_rng_range(&rng, 0, seats_max);
      if (seats < 0) seats = 0;
    }
    out->new_vacancy_of_old[j] = kept_m;
    new_seats[kept_m++] = seats;
  }
  /* A local new vacancy copies a surviving one nearby (its template): same pupils eligible,
   * similar costs. -1: no template, scattered pairs. */
  int32_t *vacancy_template = test_alloc((size_t)added_m, sizeof(int32_t));
  for (int32_t a = 0; a < added_m; a++) {
    vacancy_template[a] = -1;
    if (local && old_m > 0) {
      int32_t t = (int32_t)test_rng_below(&rng, (uint64_t)old_m);
      if (out->new_vacancy_of_old[t] >= 0) vacancy_template[a] = t;
    }
    int32_t seats = vacancy_template[a] >= 0 ? old->seats[vacancy_template[a]] : 0;
    new_seats[kept_m + a] = seats > 0 ? seats : (int32_t)test_rng_range(&rng, 1, seats_max);
  }
  out->changes += added_m;
  const int32_t new_m = kept_m + added_m;

  /* Pupils: each one's fate. */
  out->new_pupil_of_old = test_alloc((size_t)old_n, sizeof(int32_t));
  unsigned char *fate = test_alloc((size_t)old_n, 1);
  int32_t added_n = count_share(old_n, share / 3);
  if (added_n == 0 && share > 0 && old_n == 0) added_n = 1;
  int64_t *new_penalty = test_alloc((size_t)old_n + (size_t)added_n, sizeof(int64_t));
  int32_t kept_n = 0;
  int kinds = previous ? 5 : 4;
  for (int32_t i = 0; i < old_n; i++) {
    fate[i] = PUPIL_UNCHANGED;
    if (test_rng_chance(&rng, share)) {
      fate[i] = (unsigned char)test_rng_below(&rng, (uint64_t)kinds);
      out->changes++;
    }
    if (fate[i] == PUPIL_REMOVED) {
      out->new_pupil_of_old[i] = -1;
      continue;
    }
    int64_t penalty = old->unplaced_penalty[i];
    if (fate[i] == PUPIL_PENALTY_CHANGED) {
      /* Locally: waited longer, so the penalty grew by up to a tenth. */
      if (local)
        penalty += test_rng_range(&rng, 0, penalty / 10 + 1);
      else
        penalty = test_rng_range(&rng, penalty_min, penalty_max);
      if (penalty > MATCHER_VALUE_MAX) penalty = MATCHER_VALUE_MAX;
    }
    out->new_pupil_of_old[i] = kept_n;
    new_penalty[kept_n++] = penalty;
  }
  /* A local new pupil copies an old one (its template): same neighbourhood and training. */
  int32_t *pupil_template = test_alloc((size_t)added_n, sizeof(int32_t));
  for (int32_t a = 0; a < added_n; a++) {
    pupil_template[a] = local && old_n > 0 ? (int32_t)test_rng_below(&rng, (uint64_t)old_n) : -1;
    new_penalty[kept_n + a] = pupil_template[a] >= 0 ? nudge(&rng, old->unplaced_penalty[pupil_template[a]])
                                                     : test_rng_range(&rng, penalty_min, penalty_max);
  }
  out->changes += added_n;
  const int32_t new_n = kept_n + added_n;

  /* The old fixed vacancy of each pupil, -1 when none. */
  int32_t *old_fixed_vacancy = test_alloc((size_t)old_n, sizeof(int32_t));
  for (int32_t i = 0; i < old_n; i++) old_fixed_vacancy[i] = -1;
  for (int64_t f = 0; f < old->fixed_count; f++) old_fixed_vacancy[old->fixed[f].pupil] = old->fixed[f].vacancy;

  /* Upper bound of the new pair count: every old pair, one replacement per pupil, the new
   * pupils' pairs (scattered: fewer than 2 * pupil_degree + 1; local: at most the longest
   * row) and the new vacancies' (likewise with columns). */
  int64_t per_new_pupil = 2 * (int64_t)pupil_degree + 1 > rows.longest ? 2 * (int64_t)pupil_degree + 1 : rows.longest;
  int64_t per_new_vacancy =
      2 * (int64_t)vacancy_degree + 1 > columns.longest ? 2 * (int64_t)vacancy_degree + 1 : columns.longest;
  int64_t pair_capacity = old_e + old_n + added_n * per_new_pupil + added_m * per_new_vacancy;
  test_problem *changed = &out->changed;
  changed->pairs = test_alloc((size_t)pair_capacity, sizeof(matcher_pair));
  changed->fixed = test_alloc((size_t)old->fixed_count + (size_t)old_n, sizeof(matcher_fixed_pair));
  /* Always tracked (cheap), handed out only with a warm start. */
  uint8_t *pupil_changed = test_alloc((size_t)new_n, 1);
  int64_t e = 0, f = 0;
  /* stamp[j] == marker: vacancy j (new id) already paired with the pupil being built. */
  int32_t *stamp = test_alloc((size_t)new_m, sizeof(int32_t));
  for (int32_t i = 0; i < old_n; i++) {
    int32_t ni = out->new_pupil_of_old[i];
    if (ni < 0) continue;
    int32_t marker = ni + 1;
    int64_t row_length = rows.start[i + 1] - rows.start[i];
    int64_t dropped = -1; /* index in the row of the pair PUPIL_PAIR_REPLACED drops */
    if (fate[i] == PUPIL_PAIR_REPLACED && row_length > 0) dropped = (int64_t)test_rng_below(&rng, (uint64_t)row_length);
    for (int64_t r = 0; r < row_length; r++) {
      const matcher_pair *pair = &old->pairs[rows.item[rows.start[i] + r]];
      int32_t nj = out->new_vacancy_of_old[pair->vacancy];
      if (nj < 0) {
        pupil_changed[ni] = 1;
        continue;
      }
      /* An accepted placement stays eligible: never drop a fixed pair. */
      if (r == dropped && pair->vacancy != old_fixed_vacancy[i]) {
        pupil_changed[ni] = 1;
        continue;
      }
      int64_t cost = pair->cost;
      if (fate[i] == PUPIL_COSTS_CHANGED && test_rng_chance(&rng, 0.5)) {
        cost = local ? nudge(&rng, cost) : test_rng_range(&rng, 0, cost_max);
        pupil_changed[ni] = 1;
      }
      stamp[nj] = marker;
      changed->pairs[e++] = (matcher_pair){ni, nj, cost};
    }
    if (fate[i] == PUPIL_PAIR_REPLACED && kept_m > 0) {
      /* A new pair to a surviving old vacancy the pupil does not have yet; a few tries
       * keep this O(1) even for a pupil eligible almost everywhere. Locally the vacancy
       * is one a neighbour (a pupil sharing one of its vacancies) is eligible for. */
      for (int attempt = 0; attempt < 8; attempt++) {
        int32_t nj = -1;
        int64_t cost = 0;
        if (local) {
          if (row_length == 0) break;
          int32_t shared =
              old->pairs[rows.item[rows.start[i] + (int64_t)test_rng_below(&rng, (uint64_t)row_length)]].vacancy;
          int64_t column_length = columns.start[shared + 1] - columns.start[shared];
          int32_t neighbour =
              old->pairs[columns.item[columns.start[shared] + (int64_t)test_rng_below(&rng, (uint64_t)column_length)]]
                  .pupil;
          int64_t neighbour_length = rows.start[neighbour + 1] - rows.start[neighbour];
          const matcher_pair *theirs =
              &old->pairs[rows.item[rows.start[neighbour] + (int64_t)test_rng_below(&rng, (uint64_t)neighbour_length)]];
          nj = out->new_vacancy_of_old[theirs->vacancy];
          cost = nudge(&rng, theirs->cost);
        } else {
          nj = (int32_t)test_rng_below(&rng, (uint64_t)kept_m);
          cost = test_rng_range(&rng, 0, cost_max);
        }
        if (nj < 0 || stamp[nj] == marker) continue;
        stamp[nj] = marker;
        changed->pairs[e++] = (matcher_pair){ni, nj, cost};
        pupil_changed[ni] = 1;
        break;
      }
    }
    if (fate[i] == PUPIL_PENALTY_CHANGED) pupil_changed[ni] = 1;
    int32_t fixed_vacancy = old_fixed_vacancy[i];
    if (fixed_vacancy < 0 && fate[i] == PUPIL_ACCEPTED && previous->vacancy_of_pupil[i] >= 0) {
      fixed_vacancy = previous->vacancy_of_pupil[i];
      pupil_changed[ni] = 1;
    }
    /* A fixed pair survives when its vacancy does (its pair is never dropped above). */
    if (fixed_vacancy >= 0 && out->new_vacancy_of_old[fixed_vacancy] >= 0 &&
        stamp[out->new_vacancy_of_old[fixed_vacancy]] == marker)
      changed->fixed[f++] = (matcher_fixed_pair){ni, out->new_vacancy_of_old[fixed_vacancy]};
  }
  /* New pupils: pairs to surviving old vacancies only, so they cannot collide with the new
   * vacancies' pairs below. */
  for (int32_t a = 0; a < added_n; a++) {
    int32_t ni = kept_n + a, marker = ni + 1;
    pupil_changed[ni] = 1;
    int32_t t = pupil_template[a];
    if (t >= 0) {
      for (int64_t r = rows.start[t]; r < rows.start[t + 1]; r++) {
        const matcher_pair *pair = &old->pairs[rows.item[r]];
        int32_t nj = out->new_vacancy_of_old[pair->vacancy];
        if (nj >= 0 && test_rng_chance(&rng, 0.8))
          changed->pairs[e++] = (matcher_pair){ni, nj, nudge(&rng, pair->cost)};
      }
      continue;
    }
    int32_t degree = (int32_t)test_rng_range(&rng, 0, 2 * pupil_degree);
    if (degree > kept_m) degree = kept_m;
    for (int32_t s = kept_m - degree; s < kept_m; s++) { /* Floyd's distinct sampling */
      int32_t nj = (int32_t)test_rng_below(&rng, (uint64_t)s + 1);
      if (stamp[nj] == marker) nj = s;
      stamp[nj] = marker;
      changed->pairs[e++] = (matcher_pair){ni, nj, test_rng_range(&rng, 0, cost_max)};
    }
  }
  free(stamp);
  /* New vacancies: a template's surviving pupils (local), or any pupils, old or new. */
  int32_t *pupil_stamp = test_alloc((size_t)new_n, sizeof(int32_t));
  for (int32_t a = 0; a < added_m; a++) {
    int32_t nj = kept_m + a, marker = nj + 1;
    int32_t t = vacancy_template[a];
    if (t >= 0) {
      for (int64_t c = columns.start[t]; c < columns.start[t + 1]; c++) {
        const matcher_pair *pair = &old->pairs[columns.item[c]];
        int32_t ni = out->new_pupil_of_old[pair->pupil];
        if (ni >= 0 && test_rng_chance(&rng, 0.7)) {
          changed->pairs[e++] = (matcher_pair){ni, nj, nudge(&rng, pair->cost)};
          pupil_changed[ni] = 1;
        }
      }
      continue;
    }
    int32_t degree = (int32_t)test_rng_range(&rng, 0, 2 * vacancy_degree);
    if (degree > new_n) degree = new_n;
    for (int32_t s = new_n - degree; s < new_n; s++) {
      int32_t ni = (int32_t)test_rng_below(&rng, (uint64_t)s + 1);
      if (pupil_stamp[ni] == marker) ni = s;
      pupil_stamp[ni] = marker;
      changed->pairs[e++] = (matcher_pair){ni, nj, test_rng_range(&rng, 0, cost_max)};
      pupil_changed[ni] = 1;
    }
  }
  free(pupil_stamp);

  /* Fixed pairs must fit: a vacancy whose seats dropped below its fixed pairs gets them back
   * (an accepted placement keeps its seat). */
  int32_t *fixed_on = test_alloc((size_t)new_m, sizeof(int32_t));
  for (int64_t k = 0; k < f; k++) fixed_on[changed->fixed[k].vacancy]++;
  for (int32_t j = 0; j < new_m; j++)
    if (new_seats[j] < fixed_on[j]) new_seats[j] = fixed_on[j];
  free(fixed_on);

  changed->unplaced_penalty = new_penalty;
  changed->seats = new_seats;
  changed->problem = (matcher_problem){
      .pupil_count = new_n,
      .vacancy_count = new_m,
      .unplaced_penalty = new_penalty,
      .seats = new_seats,
      .pair_count = e,
      .pairs = changed->pairs,
      .fixed_count = f,
      .fixed = changed->fixed,
  };

  if (previous) {
    /* The previous solution in the new ids. A placement at a closed vacancy becomes
     * unplaced; one whose pair was dropped is passed on as is (stale: the solver repairs). */
    out->warm_vacancy_of_pupil = test_alloc((size_t)new_n, sizeof(int32_t));
    out->warm_vacancy_price = test_alloc((size_t)new_m, sizeof(int64_t));
    for (int32_t i = 0; i < old_n; i++) {
      int32_t ni = out->new_pupil_of_old[i];
      if (ni < 0) continue;
      int32_t vacancy = previous->vacancy_of_pupil[i];
      out->warm_vacancy_of_pupil[ni] =
          vacancy >= 0 && out->new_vacancy_of_old[vacancy] >= 0 ? out->new_vacancy_of_old[vacancy] : MATCHER_UNPLACED;
    }
    for (int32_t a = 0; a < added_n; a++) out->warm_vacancy_of_pupil[kept_n + a] = MATCHER_UNKNOWN;
    for (int32_t j = 0; j < old_m; j++)
      if (out->new_vacancy_of_old[j] >= 0)
        out->warm_vacancy_price[out->new_vacancy_of_old[j]] = previous->vacancy_price[j];
    out->warm = (matcher_warm_start){
        .vacancy_of_pupil = out->warm_vacancy_of_pupil,
        .vacancy_price = out->warm_vacancy_price,
        .pupil_changed = pupil_changed,
    };
    out->warm_pupil_changed = pupil_changed;
  } else {
    free(pupil_changed);
  }

  free(fate);
  free(vacancy_template);
  free(pupil_template);
  free(old_fixed_vacancy);
  grouping_free(&rows);
  grouping_free(&columns);
}

void test_perturbation_free(test_perturbation *perturbation) {
  test_problem_free(&perturbation->changed);
  free(perturbation->warm_vacancy_of_pupil);
  free(perturbation->warm_vacancy_price);
  free(perturbation->warm_pupil_changed);
  free(perturbation->new_pupil_of_old);
  free(perturbation->new_vacancy_of_old);
  memset(perturbation, 0, sizeof *perturbation);
}
