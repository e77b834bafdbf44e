/* brute_force.c: exhaustive search over all assignments (see brute_force.h). The only cleverness
 * is a lower bound (each remaining pupil's cheapest option, seats ignored) to cut branches that
 * cannot beat the best found; it never cuts an assignment that could be strictly better. */
#include "brute_force.h"

#include <stdlib.h>
#include <string.h>

#include "test_problem.h"

typedef struct {
  const matcher_problem *problem;
  int32_t *fixed_vacancy; /* [pupils]: the vacancy a pupil is fixed to, or -1 */
  int64_t *cheapest_from; /* [pupils + 1]: sum of the cheapest options of pupils i.. */
  int32_t *seats_left;    /* [vacancies] */
  int32_t *current;       /* [pupils]: the assignment being built */
  int32_t *best;          /* [pupils]: the best complete assignment so far */
  int64_t best_cost;      /* -1 until one is found */
  int64_t **row_pairs;    /* [pupils]: indices into problem->pairs of pupil i's pairs */
  int32_t *row_length;    /* [pupils] */
} search;

static void explore(search *s, int32_t pupil, int64_t cost_so_far) {
  const matcher_problem *p = s->problem;
  if (s->best_cost >= 0 && cost_so_far + s->cheapest_from[pupil] >= s->best_cost) return;
  if (pupil == p->pupil_count) {
    s->best_cost = cost_so_far;
    memcpy(s->best, s->current, (size_t)p->pupil_count * sizeof *s->best);
    return;
  }
  if (s->fixed_vacancy[pupil] < 0) {
    s->current[pupil] = MATCHER_UNPLACED;
    explore(s, pupil + 1, cost_so_far + p->unplaced_penalty[pupil]);
  }
  for (int32_t r = 0; r < s->row_length[pupil]; r++) {
    const matcher_pair *pair = &p->pairs[s->row_pairs[pupil][r]];
    if (s->fixed_vacancy[pupil] >= 0 && pair->vacancy != s->fixed_vacancy[pupil]) continue;
    if (s->seats_left[pair->vacancy] == 0) continue;
    s->seats_left[pair->vacancy]--;
    s->current[pupil] = pair->vacancy;
    explore(s, pupil + 1, cost_so_far + pair->cost);
    s->seats_left[pair->vacancy]++;
  }
}

bool brute_force_solve(const matcher_problem *p, int64_t *objective, int32_t *placed, int32_t *vacancy_of_pupil) {
  int32_t n = p->pupil_count, m = p->vacancy_count;
  search s = {.problem = p, .best_cost = -1};
  s.fixed_vacancy = test_alloc((size_t)n, sizeof *s.fixed_vacancy);
  s.cheapest_from = test_alloc((size_t)n + 1, sizeof *s.cheapest_from);
  s.seats_left = test_alloc((size_t)m, sizeof *s.seats_left);
  s.current = test_alloc((size_t)n, sizeof *s.current);
  s.best = test_alloc((size_t)n, sizeof *s.best);
  s.row_pairs = test_alloc((size_t)n, sizeof *s.row_pairs);
  s.row_length = test_alloc((size_t)n, sizeof *s.row_length);
  for (int32_t i = 0; i < n; i++) {
    s.fixed_vacancy[i] = -1;
    s.row_pairs[i] = test_alloc((size_t)p->pair_count, sizeof **s.row_pairs);
  }
  for (int64_t k = 0; k < p->pair_count; k++) {
    int32_t i = p->pairs[k].pupil;
    s.row_pairs[i][s.row_length[i]++] = k;
  }
  if (m) memcpy(s.seats_left, p->seats, (size_t)m * sizeof *s.seats_left);
  bool fixed_ok = true;
  for (int64_t k = 0; k < p->fixed_count; k++) {
    int32_t i = p->fixed[k].pupil;
    if (s.fixed_vacancy[i] >= 0 && s.fixed_vacancy[i] != p->fixed[k].vacancy) fixed_ok = false;
    s.fixed_vacancy[i] = p->fixed[k].vacancy;
  }
  /* Lower bound per pupil: its cheapest allowed option, seats ignored. */
  for (int32_t i = n - 1; i >= 0; i--) {
    int64_t cheapest = s.fixed_vacancy[i] < 0 ? p->unplaced_penalty[i] : INT64_MAX;
    for (int32_t r = 0; r < s.row_length[i]; r++) {
      const matcher_pair *pair = &p->pairs[s.row_pairs[i][r]];
      if (s.fixed_vacancy[i] >= 0 && pair->vacancy != s.fixed_vacancy[i]) continue;
      if (pair->cost < cheapest) cheapest = pair->cost;
    }
    if (cheapest == INT64_MAX) { /* fixed to a pair that does not exist */
      fixed_ok = false;
      cheapest = 0;
    }
    s.cheapest_from[i] = s.cheapest_from[i + 1] + cheapest;
  }
  if (fixed_ok) explore(&s, 0, 0);

  bool found = s.best_cost >= 0;
  if (found) {
    *objective = s.best_cost;
    *placed = 0;
    for (int32_t i = 0; i < n; i++) {
      if (s.best[i] >= 0) (*placed)++;
      if (vacancy_of_pupil) vacancy_of_pupil[i] = s.best[i];
    }
  }
  for (int32_t i = 0; i < n; i++) free(s.row_pairs[i]);
  free(s.row_pairs);
  free(s.row_length);
  free(s.fixed_vacancy);
  free(s.cheapest_from);
  free(s.seats_left);
  free(s.current);
  free(s.best);
  return found;
}

int64_t brute_force_assignment_cost(const matcher_problem *p, const int32_t *vacancy_of_pupil, int32_t *placed) {
  int32_t n = p->pupil_count, m = p->vacancy_count;
  int32_t *used = test_alloc((size_t)m, sizeof *used);
  int64_t total = 0;
  int32_t count = 0;
  bool feasible = true;
  for (int32_t i = 0; i < n && feasible; i++) {
    int32_t j = vacancy_of_pupil[i];
    if (j == MATCHER_UNPLACED) {
      total += p->unplaced_penalty[i];
      continue;
    }
    if (j < 0 || j >= m) {
      feasible = false;
      break;
    }
    /* Linear scan: tiny problems only. */
    int64_t k = 0;
    while (k < p->pair_count && !(p->pairs[k].pupil == i && p->pairs[k].vacancy == j)) k++;
    if (k == p->pair_count || ++used[j] > p->seats[j])
      feasible = false;
    else {
      total += p->pairs[k].cost;
      count++;
    }
  }
  for (int64_t k = 0; k < p->fixed_count && feasible; k++)
    if (vacancy_of_pupil[p->fixed[k].pupil] != p->fixed[k].vacancy) feasible = false;
  free(used);
  if (placed) *placed = count;
  return feasible ? total : -1;
}
