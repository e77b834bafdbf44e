/* hints.c: what would help an unplaced pupil, checked by the solver, and the words for it.
 *
 * A hint is a change: more seats at an eligible vacancy, or a new place like a near one (or
 * near the pupil's home). It is given only when re-solving the changed problem places the
 * pupil. Re-solving everything for every unplaced pupil would cost a whole solve each; instead
 * each check solves the part of the network the change can reach. A pair joins a pupil and a
 * vacancy, so the network falls apart into connected components (at most one training each,
 * usually one neighbourhood of it), and adding a vacancy joins only the components of the
 * pupils eligible for it. Components share no pupil and no seat, so the optimum elsewhere
 * stays as it was, and solving the touched components with the new vacancy gives exactly the
 * changed problem's optimum there. The components are found for the checked pupil's training
 * alone (prepare_training), from the rows of its pupils: an explanation costs the trainings of
 * the unplaced, not a pass over every pair. The check is a cold solve: where claims tie (equal
 * penalties and costs, common with the rulebook's levels), which pupil is placed depends on the
 * path the solver takes, and only a cold solve of the components, their ids in the same
 * order, takes the path a cold solve of the whole changed problem takes there (a warm start
 * takes another, and may place an equal rival instead). The fewest seats that place the
 * pupil are found by trying 1, then an upper bound (one seat more than the pupils eligible for
 * the new place with an equal or stronger claim on it), then halving between.
 *
 * The checks run strongest claims first (the order of the waiting list) while the budget of
 * pairs built lasts, so the result depends only on the problem, never on the clock. */
#include "hints.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAYS_PER_WEEK 7
/* More seats than this are not a hint a coordinator can act on. */
#define HINT_SEATS_MAX 32

eligibility_vacancy eligibility_hint_vacancy(const eligibility_pupil *pupil, const eligibility_vacancy *vacancies,
                                             const eligibility_explanation *explanation) {
  eligibility_vacancy vacancy;
  if (explanation->hint == ELIGIBILITY_HINT_MORE_SEATS) {
    vacancy = vacancies[explanation->hint_vacancy];
    vacancy.seats = explanation->hint_seats;
    return vacancy;
  }
  memset(&vacancy, 0, sizeof vacancy);
  vacancy.training = pupil->training;
  vacancy.company = -1;
  vacancy.recognised = 1;
  vacancy.open = 1;
  vacancy.preparatory = explanation->hint_preparatory;
  vacancy.min_readiness = pupil->readiness;
  vacancy.day_mask = pupil->day_mask;
  vacancy.seats = explanation->hint_seats;
  vacancy.lat_e6 = pupil->lat_e6;
  vacancy.lon_e6 = pupil->lon_e6;
  vacancy.start_day = pupil->wanted_start_day;
  if (explanation->hint_vacancy >= 0) {
    const eligibility_vacancy *model = &vacancies[explanation->hint_vacancy];
    vacancy.lat_e6 = model->lat_e6;
    vacancy.lon_e6 = model->lon_e6;
    if (!explanation->hint_new_company) vacancy.company = model->company;
  }
  return vacancy;
}

/* ---------------------------------------------------------------------------------------------
 * The search state: components, rows, and the buffers of the local problem. */

typedef struct {
  const eligibility_pupil *pupils;
  int32_t pupil_count;
  const eligibility_vacancy *vacancies;
  int32_t vacancy_count;
  const eligibility_weights *weights;
  const eligibility_problem *built;
  int32_t *parent; /* union-find over nodes: pupils 0..N-1, then vacancies N..N+M-1 */
  /* The nodes of the component rooted at r are members[member_begin[r] .. member_end[r]),
   * ascending; set for the components of the trainings prepared so far (prepare_training). */
  int32_t *member_begin, *member_end;
  int32_t *members;
  int32_t member_count;
  int64_t *row_begin, *row_end; /* pupil i's pairs in built->pairs, once its training is prepared */
  /* The pupils that are not fixed, of the one training prepared last (by index): the ones
   * find_eligible tries; prepared_training says which, has_prepared whether any. */
  int32_t *by_training;
  int32_t by_training_count;
  int32_t prepared_training;
  int has_prepared;
  int32_t *trainings_done; /* the trainings whose components are known */
  int32_t trainings_done_count;
  int32_t *fixed_start;      /* [M+2]: fixed_by_vacancy[fixed_start[j] .. fixed_start[j + 1]) are */
  int32_t *fixed_by_vacancy; /* the fixed pupils whose one pair is vacancy j */
  int whole;                 /* components found over every pair at once (a fixed pupil with
                              * other than one pair: components may cross trainings) */
  int32_t *pupil_local;      /* [N] global -> local, -1 */
  int32_t *vacancy_local;    /* [M] */
  uint8_t *eligible_mark;    /* [N] eligible for the new vacancy */
  uint8_t *root_taken;       /* [N+M] */
  int32_t *roots, *local_pupils, *local_vacancies, *eligible;
  int32_t root_count, local_pupil_count, local_vacancy_count, eligible_count;
  /* The local problem. */
  matcher_pair *pairs;
  int64_t pair_count, pair_capacity;
  matcher_fixed_pair *fixed;
  int64_t fixed_count;
  int64_t *penalty;
  int32_t *seats;
  int64_t pairs_built;
} hint_search;

static int32_t find_root(int32_t *parent, int32_t node) {
  while (parent[node] != node) {
    parent[node] = parent[parent[node]];
    node = parent[node];
  }
  return node;
}

static int compare_int32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* A pupil with what it is sorted by (qsort's comparators get no context, and the library
 * keeps no global state: calls may run on several threads at once). */
typedef struct {
  int32_t training;
  eligibility_claim claim;
  int32_t pupil;
} sort_entry;

/* Strongest claim first, then index: the waiting list's order. */
static int compare_waiting(const void *a, const void *b) {
  const sort_entry *x = a, *y = b;
  int order = eligibility_compare_claims(y->claim, x->claim);
  return order ? order : (x->pupil > y->pupil) - (x->pupil < y->pupil);
}

/* Sorts pupils[0..count) by compare (on scratch, sized count). */
static void sort_pupils(const eligibility_pupil *all, int32_t *pupils, int32_t count, sort_entry *scratch,
                        int (*compare)(const void *, const void *)) {
  for (int32_t k = 0; k < count; k++)
    scratch[k] = (sort_entry){all[pupils[k]].training, eligibility_claim_on(&all[pupils[k]], NULL), pupils[k]};
  if (count > 1) qsort(scratch, (size_t)count, sizeof *scratch, compare);
  for (int32_t k = 0; k < count; k++) pupils[k] = scratch[k].pupil;
}

static void search_free(hint_search *s) {
  free(s->parent);
  free(s->member_begin);
  free(s->member_end);
  free(s->members);
  free(s->row_begin);
  free(s->row_end);
  free(s->by_training);
  free(s->trainings_done);
  free(s->fixed_start);
  free(s->fixed_by_vacancy);
  free(s->pupil_local);
  free(s->vacancy_local);
  free(s->eligible_mark);
  free(s->root_taken);
  free(s->roots);
  free(s->local_pupils);
  free(s->local_vacancies);
  free(s->eligible);
  free(s->pairs);
  free(s->fixed);
  free(s->penalty);
  free(s->seats);
}

/* The first pair of pupil i (the pairs are grouped by pupil, ascending). */
static int64_t first_pair_of(const matcher_problem *problem, int32_t pupil) {
  int64_t low = 0, high = problem->pair_count;
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    if (problem->pairs[middle].pupil < pupil)
      low = middle + 1;
    else
      high = middle;
  }
  return low;
}

static void find_row(hint_search *s, int32_t pupil) {
  const matcher_problem *problem = &s->built->problem;
  int64_t begin = first_pair_of(problem, pupil), end = begin;
  while (end < problem->pair_count && problem->pairs[end].pupil == pupil) end++;
  s->row_begin[pupil] = begin;
  s->row_end[pupil] = end;
}

static void join(hint_search *s, int32_t a, int32_t b) {
  a = find_root(s->parent, a);
  b = find_root(s->parent, b);
  if (a != b) s->parent[a > b ? a : b] = a > b ? b : a;
}

/* Lists the members of each component among nodes[0..count) (each node of a component in it
 * exactly once), ascending, into members; nodes is reordered. */
static void list_members(hint_search *s, int32_t *nodes, int32_t count) {
  for (int32_t k = 0; k < count; k++) {
    int32_t root = find_root(s->parent, nodes[k]);
    s->member_end[root] = 0;
  }
  for (int32_t k = 0; k < count; k++) s->member_end[find_root(s->parent, nodes[k])]++;
  for (int32_t k = 0; k < count; k++) {
    int32_t root = find_root(s->parent, nodes[k]);
    if (s->member_begin[root] >= 0) continue;
    int32_t size = s->member_end[root];
    s->member_begin[root] = s->member_count;
    s->member_end[root] = s->member_count;
    s->member_count += size;
  }
  /* Ascending within each component: place the nodes in ascending order. */
  qsort(nodes, (size_t)count, sizeof *nodes, compare_int32);
  for (int32_t k = 0; k < count; k++) s->members[s->member_end[find_root(s->parent, nodes[k])]++] = nodes[k];
}

/* The components over every pair at once, forgetting any found so far: for networks where a
 * pair breaks the shape prepare_training relies on. 1, or 0 out of memory. */
static int search_whole(hint_search *s) {
  const matcher_problem *problem = &s->built->problem;
  int32_t nodes = s->pupil_count + s->vacancy_count;
  s->whole = 1;
  s->member_count = 0;
  for (int32_t node = 0; node < nodes; node++) s->parent[node] = node, s->member_begin[node] = -1;
  int64_t e = 0;
  for (int32_t i = 0; i < s->pupil_count; i++) {
    s->row_begin[i] = e;
    while (e < problem->pair_count && problem->pairs[e].pupil == i)
      join(s, i, s->pupil_count + problem->pairs[e++].vacancy);
    s->row_end[i] = e;
  }
  int32_t *all = malloc(((size_t)nodes + 1) * sizeof *all);
  if (!all) return 0;
  for (int32_t node = 0; node < nodes; node++) all[node] = node;
  list_members(s, all, nodes);
  free(all);
  return 1;
}

/* What every check needs, in time proportional to the pupils and vacancies (not the pairs): the
 * fixed pupils by vacancy, and whether each has exactly one pair (the rulebook builds it so;
 * otherwise the components are found over every pair at once, as they may cross trainings). */
static int search_init(hint_search *s) {
  size_t pupils = (size_t)s->pupil_count, vacancies = (size_t)s->vacancy_count, nodes = pupils + vacancies;
  s->parent = malloc((nodes + 1) * sizeof *s->parent);
  s->member_begin = malloc((nodes + 1) * sizeof *s->member_begin);
  s->member_end = malloc((nodes + 1) * sizeof *s->member_end);
  s->members = malloc((nodes + 1) * sizeof *s->members);
  s->row_begin = malloc((pupils + 1) * sizeof *s->row_begin);
  s->row_end = malloc((pupils + 1) * sizeof *s->row_end);
  s->by_training = malloc((pupils + 1) * sizeof *s->by_training);
  s->trainings_done = malloc((pupils + 1) * sizeof *s->trainings_done);
  s->fixed_start = calloc(vacancies + 2, sizeof *s->fixed_start);
  s->fixed_by_vacancy = malloc((pupils + 1) * sizeof *s->fixed_by_vacancy);
  s->pupil_local = malloc((pupils + 1) * sizeof *s->pupil_local);
  s->vacancy_local = malloc((vacancies + 1) * sizeof *s->vacancy_local);
  s->eligible_mark = calloc(pupils + 1, 1);
  s->root_taken = calloc(nodes + 1, 1);
  s->roots = malloc((nodes + 1) * sizeof *s->roots);
  s->local_pupils = malloc((pupils + 1) * sizeof *s->local_pupils);
  s->local_vacancies = malloc((vacancies + 2) * sizeof *s->local_vacancies);
  s->eligible = malloc((pupils + 1) * sizeof *s->eligible);
  s->fixed = malloc((pupils + 1) * sizeof *s->fixed);
  s->penalty = malloc((pupils + 1) * sizeof *s->penalty);
  s->seats = malloc((vacancies + 2) * sizeof *s->seats);
  if (!s->parent || !s->member_begin || !s->member_end || !s->members || !s->row_begin || !s->row_end ||
      !s->by_training || !s->trainings_done || !s->fixed_start || !s->fixed_by_vacancy || !s->pupil_local ||
      !s->vacancy_local || !s->eligible_mark || !s->root_taken || !s->roots || !s->local_pupils ||
      !s->local_vacancies || !s->eligible || !s->fixed || !s->penalty || !s->seats)
    return 0;
  for (size_t node = 0; node < nodes; node++) s->parent[node] = (int32_t)node, s->member_begin[node] = -1;
  for (int32_t i = 0; i < s->pupil_count; i++) s->pupil_local[i] = -1;
  for (int32_t j = 0; j < s->vacancy_count; j++) s->vacancy_local[j] = -1;
  for (int32_t i = 0; i < s->pupil_count; i++) {
    if (s->pupils[i].fixed_vacancy < 0) continue;
    find_row(s, i);
    const matcher_pair *pairs = s->built->problem.pairs;
    if (s->row_end[i] - s->row_begin[i] != 1 || pairs[s->row_begin[i]].vacancy != s->pupils[i].fixed_vacancy)
      s->whole = 1;
    s->fixed_start[s->pupils[i].fixed_vacancy + 2]++;
  }
  for (size_t j = 0; j < vacancies; j++) s->fixed_start[j + 2] += s->fixed_start[j + 1];
  for (int32_t i = 0; i < s->pupil_count; i++)
    if (s->pupils[i].fixed_vacancy >= 0) s->fixed_by_vacancy[s->fixed_start[s->pupils[i].fixed_vacancy + 1]++] = i;
  return !s->whole || search_whole(s);
}

/* The pupils (not fixed) of the training into by_training, ascending, and, the first time the
 * training is asked for, the components of those pupils. The pairs of a pupil that is not fixed
 * all pass the rules, so they join it to vacancies of its own training only; a fixed pupil's
 * one pair hangs it on its vacancy. So those components hold only that training's pupils that
 * are not fixed, the vacancies their pairs reach, and the fixed pupils of those vacancies:
 * found from those rows alone, they are exactly the components of the whole network. 1, or 0
 * out of memory. */
static int prepare_training(hint_search *s, int32_t training) {
  if (s->has_prepared && s->prepared_training == training) return 1;
  s->by_training_count = 0;
  for (int32_t i = 0; i < s->pupil_count; i++)
    if (s->pupils[i].fixed_vacancy < 0 && s->pupils[i].training == training) s->by_training[s->by_training_count++] = i;
  s->prepared_training = training;
  s->has_prepared = 1;
  if (s->whole) return 1;
  for (int32_t t = 0; t < s->trainings_done_count; t++)
    if (s->trainings_done[t] == training) return 1;
  s->trainings_done[s->trainings_done_count++] = training;
  const matcher_pair *pairs = s->built->problem.pairs;
  int32_t node_count = 0;
  int32_t *nodes = malloc(((size_t)s->pupil_count + (size_t)s->vacancy_count + 1) * sizeof *nodes);
  if (!nodes) return 0;
  for (int32_t k = 0; k < s->by_training_count; k++) {
    int32_t i = s->by_training[k];
    find_row(s, i);
    nodes[node_count++] = i;
    for (int64_t e = s->row_begin[i]; e < s->row_end[i]; e++) {
      int32_t vacancy_node = s->pupil_count + pairs[e].vacancy;
      if (s->vacancies[pairs[e].vacancy].training != training) {
        /* A pair across trainings (no build makes one): the components may cross them too. */
        for (int32_t m = 0; m < node_count; m++)
          if (nodes[m] >= s->pupil_count) s->root_taken[nodes[m]] = 0;
        free(nodes);
        return search_whole(s);
      }
      /* A vacancy's first visit lists it (its parent is still its own, and it has no members). */
      if (s->parent[vacancy_node] == vacancy_node && s->member_begin[vacancy_node] == -1 &&
          !s->root_taken[vacancy_node]) {
        s->root_taken[vacancy_node] = 1;
        nodes[node_count++] = vacancy_node;
      }
      join(s, i, vacancy_node);
    }
  }
  int32_t pupil_nodes_and_vacancies = node_count;
  for (int32_t k = 0; k < pupil_nodes_and_vacancies; k++) {
    if (nodes[k] < s->pupil_count) continue;
    int32_t j = nodes[k] - s->pupil_count;
    s->root_taken[nodes[k]] = 0;
    for (int32_t f = s->fixed_start[j]; f < s->fixed_start[j + 1]; f++) {
      nodes[node_count++] = s->fixed_by_vacancy[f];
      join(s, s->fixed_by_vacancy[f], nodes[k]);
    }
  }
  list_members(s, nodes, node_count);
  free(nodes);
  return 1;
}

static int append_local_pair(hint_search *s, int32_t pupil, int32_t vacancy, int64_t cost) {
  if (s->pair_count == s->pair_capacity) {
    int64_t capacity = s->pair_capacity ? s->pair_capacity * 2 : 1024;
    matcher_pair *grown = realloc(s->pairs, (size_t)capacity * sizeof *grown);
    if (!grown) return 0;
    s->pairs = grown;
    s->pair_capacity = capacity;
  }
  s->pairs[s->pair_count++] = (matcher_pair){pupil, vacancy, cost};
  return 1;
}

/* The pupils (not fixed) eligible for the new vacancy, into s->eligible (and eligible_mark):
 * among those of its training (prepare_training first). */
static void find_eligible(hint_search *s, const eligibility_vacancy *place) {
  s->eligible_count = 0;
  for (int32_t k = 0; k < s->by_training_count; k++) {
    int32_t i = s->by_training[k];
    if (eligibility_is_eligible(&s->pupils[i], place, s->weights)) {
      s->eligible[s->eligible_count++] = i;
      s->eligible_mark[i] = 1;
    }
  }
}

/* The local problem: the components of the eligible pupils, plus the new vacancy (last). */
static int build_local(hint_search *s, const eligibility_vacancy *place) {
  const eligibility_problem *built = s->built;
  s->root_count = s->local_pupil_count = s->local_vacancy_count = 0;
  s->pair_count = s->fixed_count = 0;
  for (int32_t k = 0; k < s->eligible_count; k++) {
    int32_t root = find_root(s->parent, s->eligible[k]);
    if (s->root_taken[root]) continue;
    s->root_taken[root] = 1;
    s->roots[s->root_count++] = root;
    for (int32_t m = s->member_begin[root]; m < s->member_end[root]; m++) {
      int32_t node = s->members[m];
      if (node < s->pupil_count)
        s->local_pupils[s->local_pupil_count++] = node;
      else
        s->local_vacancies[s->local_vacancy_count++] = node - s->pupil_count;
    }
  }
  /* Ascending global order keeps the matcher's tie-breaking as in the whole problem. */
  qsort(s->local_pupils, (size_t)s->local_pupil_count, sizeof *s->local_pupils, compare_int32);
  qsort(s->local_vacancies, (size_t)s->local_vacancy_count, sizeof *s->local_vacancies, compare_int32);
  for (int32_t l = 0; l < s->local_pupil_count; l++) s->pupil_local[s->local_pupils[l]] = l;
  for (int32_t l = 0; l < s->local_vacancy_count; l++) {
    int32_t j = s->local_vacancies[l];
    s->vacancy_local[j] = l;
    s->seats[l] = built->seats[j];
  }
  int32_t new_place = s->local_vacancy_count;
  for (int32_t l = 0; l < s->local_pupil_count; l++) {
    int32_t i = s->local_pupils[l];
    const eligibility_pupil *pupil = &s->pupils[i];
    for (int64_t e = s->row_begin[i]; e < s->row_end[i]; e++)
      if (!append_local_pair(s, l, s->vacancy_local[built->pairs[e].vacancy], built->pairs[e].cost)) return 0;
    if (s->eligible_mark[i]) {
      int32_t distance = eligibility_distance_m(pupil->lat_e6, pupil->lon_e6, place->lat_e6, place->lon_e6);
      int64_t cost = eligibility_pair_cost(pupil, place, s->vacancy_count, distance, 0, s->weights, &built->levels);
      if (!append_local_pair(s, l, new_place, cost)) return 0;
    }
    if (pupil->fixed_vacancy >= 0)
      s->fixed[s->fixed_count++] = (matcher_fixed_pair){l, s->vacancy_local[pupil->fixed_vacancy]};
    s->penalty[l] = built->unplaced_penalty[i];
  }
  return 1;
}

/* Undoes the marks of build_local and find_eligible. */
static void clear_local(hint_search *s) {
  for (int32_t k = 0; k < s->root_count; k++) s->root_taken[s->roots[k]] = 0;
  for (int32_t l = 0; l < s->local_pupil_count; l++) s->pupil_local[s->local_pupils[l]] = -1;
  for (int32_t l = 0; l < s->local_vacancy_count; l++) s->vacancy_local[s->local_vacancies[l]] = -1;
  for (int32_t k = 0; k < s->eligible_count; k++) s->eligible_mark[s->eligible[k]] = 0;
}

/* 1 when seats seats at the new place get the pupil placed, 0 when not, -1 on a solver error. */
static int places_pupil(hint_search *s, int32_t pupil, int32_t seats, matcher_error *error) {
  s->seats[s->local_vacancy_count] = seats;
  matcher_problem problem = {
      .pupil_count = s->local_pupil_count,
      .vacancy_count = s->local_vacancy_count + 1,
      .unplaced_penalty = s->penalty,
      .seats = s->seats,
      .pair_count = s->pair_count,
      .pairs = s->pairs,
      .fixed_count = s->fixed_count,
      .fixed = s->fixed,
  };
  matcher_solution solution;
  s->pairs_built += s->pair_count;
  matcher_status status = matcher_solve(&problem, NULL, &solution, error);
  if (status != MATCHER_OK) return -1;
  int placed = solution.vacancy_of_pupil[s->pupil_local[pupil]] != MATCHER_UNPLACED;
  matcher_solution_free(&solution);
  return placed;
}

/* The fewest seats that place the pupil (0: none up to the bound), -1 on a solver error.
 *
 * With one seat more than the pupils eligible for the place whose claim on it is at least as
 * strong (placed elsewhere now or not), the pupil is placed in every optimum: otherwise one of
 * the seats would be free or held by a weaker claim, which no optimum allows (the top of
 * eligibility.h). So a solve with that many seats can only say yes, and is not run; it still
 * counts against the budget as if it had been, so that which pupils get checked stays what the
 * solves alone would make it. A pupil whose claim on the place is the strongest of all is
 * placed by one seat, without a solve. */
static int32_t fewest_seats(hint_search *s, int32_t pupil, const eligibility_vacancy *place, matcher_error *error) {
  eligibility_claim mine = eligibility_claim_on(&s->pupils[pupil], place);
  int32_t surely_placing = 1;
  for (int32_t k = 0; k < s->eligible_count; k++) {
    int32_t other = s->eligible[k];
    if (other != pupil && eligibility_compare_claims(eligibility_claim_on(&s->pupils[other], place), mine) >= 0)
      surely_placing++;
  }
  if (surely_placing == 1) {
    s->pairs_built += s->pair_count;
    return 1;
  }
  int result = places_pupil(s, pupil, 1, error);
  if (result != 0) return result;
  int32_t high = surely_placing > HINT_SEATS_MAX ? HINT_SEATS_MAX : surely_placing;
  if (high == surely_placing)
    s->pairs_built += s->pair_count;
  else if ((result = places_pupil(s, pupil, high, error)) != 1)
    return result < 0 ? -1 : 0;
  int32_t low = 2;
  while (low < high) {
    int32_t middle = low + (high - low) / 2;
    result = places_pupil(s, pupil, middle, error);
    if (result < 0) return -1;
    if (result)
      high = middle;
    else
      low = middle + 1;
  }
  return high;
}

matcher_status hints_verify(const eligibility_pupil *pupils, int32_t pupil_count, const eligibility_vacancy *vacancies,
                            int32_t vacancy_count, const eligibility_weights *weights, const eligibility_problem *built,
                            eligibility_explanation *explanations, matcher_error *error) {
  hint_search s;
  memset(&s, 0, sizeof s);
  s.pupils = pupils;
  s.pupil_count = pupil_count;
  s.vacancies = vacancies;
  s.vacancy_count = vacancy_count;
  s.weights = weights;
  s.built = built;
  int32_t *unplaced = malloc(((size_t)pupil_count + 1) * sizeof *unplaced);
  sort_entry *scratch = malloc(((size_t)pupil_count + 1) * sizeof *scratch);
  int32_t unplaced_count = 0;
  for (int32_t i = 0; unplaced && i < pupil_count; i++)
    if (explanations[i].reason != ELIGIBILITY_PLACED && explanations[i].hint != ELIGIBILITY_HINT_NONE)
      unplaced[unplaced_count++] = i;
  /* Nothing to check, or no budget to check it with: no components to find either. */
  int checking = unplaced_count > 0 && weights->hint_pair_budget > 0;
  if (!unplaced || !scratch || (checking && !search_init(&s))) {
    free(unplaced);
    free(scratch);
    search_free(&s);
    if (error) snprintf(error->message, sizeof error->message, "out of memory checking hints");
    return MATCHER_NO_MEMORY;
  }
  sort_pupils(pupils, unplaced, unplaced_count, scratch, compare_waiting);
  free(scratch);
  matcher_status status = MATCHER_OK;
  int budget_spent = !checking;
  for (int32_t n = 0; n < unplaced_count && status == MATCHER_OK; n++) {
    int32_t i = unplaced[n];
    eligibility_explanation *explanation = &explanations[i];
    if (budget_spent) {
      explanation->hint = ELIGIBILITY_HINT_NONE;
      explanation->hint_unchecked = 1;
      continue;
    }
    explanation->hint_seats = 1;
    eligibility_vacancy place = eligibility_hint_vacancy(&pupils[i], vacancies, explanation);
    int32_t seats = 0;
    if (!prepare_training(&s, place.training)) {
      status = MATCHER_NO_MEMORY;
      if (error) snprintf(error->message, sizeof error->message, "out of memory checking hints");
      break;
    }
    find_eligible(&s, &place);
    if (!s.eligible_mark[i]) {
      s.root_count = s.local_pupil_count = s.local_vacancy_count = 0;
    } else if (!build_local(&s, &place)) {
      status = MATCHER_NO_MEMORY;
      if (error) snprintf(error->message, sizeof error->message, "out of memory checking hints");
    } else if (s.pairs_built + s.pair_count > weights->hint_pair_budget) {
      budget_spent = 1;
      explanation->hint_unchecked = 1;
    } else {
      seats = fewest_seats(&s, i, &place, error);
      if (seats < 0) status = MATCHER_INVALID;
    }
    clear_local(&s);
    if (seats > 0)
      explanation->hint_seats = seats;
    else
      explanation->hint = ELIGIBILITY_HINT_NONE;
  }
  free(unplaced);
  search_free(&s);
  return status;
}

/* ---------------------------------------------------------------------------------------------
 * The words. */

static const char *const day_names[DAYS_PER_WEEK] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* Appends to buffer (bounded, always terminated). */
static void append_text(char *buffer, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));

static void append_text(char *buffer, size_t size, const char *format, ...) {
  size_t used = strlen(buffer);
  if (used + 1 >= size) return;
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(buffer + used, size - used, format, arguments);
  va_end(arguments);
}

/* "15 km", "12.5 km": metres as kilometres to one decimal, the decimal only when needed. */
static void append_km(char *buffer, size_t size, int32_t metres) {
  int64_t tenths = ((int64_t)metres + 50) / 100;
  if (tenths % 10 == 0)
    append_text(buffer, size, "%lld km", (long long)(tenths / 10));
  else
    append_text(buffer, size, "%lld.%lld km", (long long)(tenths / 10), (long long)(tenths % 10));
}

/* "Mon, Tue" for one week's seven bits. */
static void append_week_days(char *buffer, size_t size, unsigned week_bits) {
  int first = 1;
  for (int d = 0; d < DAYS_PER_WEEK; d++) {
    if (week_bits & (1u << d)) {
      append_text(buffer, size, "%s%s", first ? "" : ", ", day_names[d]);
      first = 0;
    }
  }
}

/* "Mon, Tue (A and B)", "Mon, Tue (A) and Wed (B)", "Thu (B)", "any day". */
static void append_days(char *buffer, size_t size, uint16_t day_mask) {
  unsigned week_a = day_mask & 0x7F, week_b = (day_mask >> DAYS_PER_WEEK) & 0x7F;
  if (!week_a && !week_b) {
    append_text(buffer, size, "any day");
    return;
  }
  if (week_a && week_a == week_b) {
    append_week_days(buffer, size, week_a);
    append_text(buffer, size, " (A and B)");
    return;
  }
  if (week_a) {
    append_week_days(buffer, size, week_a);
    append_text(buffer, size, " (A)");
  }
  if (week_b) {
    append_text(buffer, size, "%s", week_a ? " and " : "");
    append_week_days(buffer, size, week_b);
    append_text(buffer, size, " (B)");
  }
}

/* "2026-09-01" for a day number of eligibility_day_of (civil from days, its inverse). */
static void append_date(char *buffer, size_t size, int32_t day_number) {
  int64_t z = (int64_t)day_number + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t day_of_era = z - era * 146097;
  int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t month_index = (5 * day_of_year + 2) / 153;
  int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;
  int64_t year = year_of_era + era * 400 + (month <= 2);
  append_text(buffer, size, "%04lld-%02lld-%02lld", (long long)year, (long long)month, (long long)day);
}

static void append_vacancy(char *buffer, size_t size, const eligibility_names *names, int32_t vacancy_count,
                           int32_t vacancy) {
  if (names && names->vacancy_ids && vacancy >= 0 && vacancy < vacancy_count && names->vacancy_ids[vacancy])
    append_text(buffer, size, "%s", names->vacancy_ids[vacancy]);
  else
    append_text(buffer, size, "vacancy %ld", (long)vacancy);
}

static const char *kind_name(int preparatory) { return preparatory ? "PREPARATORY" : "REGULAR"; }

static void append_reason(char *help, size_t size, const eligibility_pupil *pupil, const char *training,
                          const eligibility_names *names, int32_t vacancy_count, const eligibility_weights *weights,
                          const eligibility_explanation *x) {
  long candidates = (long)x->candidates_after_rule;
  switch (x->reason) {
  case ELIGIBILITY_NO_RECOGNISED_VACANCY:
    append_text(help, size, "No open place in %s at a company recognised for it.", training);
    break;
  case ELIGIBILITY_READINESS_TOO_LOW:
    if (pupil->readiness == READINESS_NOT_READY)
      append_text(help, size,
                  "Not yet work-ready: only a PREPARATORY place will do, and none of the %ld "
                  "open places in %s is one.",
                  candidates, training);
    else
      append_text(help, size,
                  "None of the %ld open places in %s is open to this pupil's readiness "
                  "(they ask more, or are PREPARATORY places kept for pupils not yet ready).",
                  candidates, training);
    break;
  case ELIGIBILITY_NONE_WITHIN_COMMUTE:
    append_text(help, size, "No place in %s within the commute of ", training);
    append_km(help, size, pupil->max_commute_m);
    if (x->nearest_vacancy >= 0) {
      append_text(help, size, "; the nearest that fits otherwise is ");
      append_vacancy(help, size, names, vacancy_count, x->nearest_vacancy);
      append_text(help, size, " at ");
      append_km(help, size, x->nearest_distance_m);
      append_text(help, size, ".");
    } else {
      append_text(help, size, "; none fits its readiness, days and exclusions at any distance.");
    }
    break;
  case ELIGIBILITY_NO_COMPATIBLE_DAYS:
    append_text(help, size, "The %ld places in %s within ", candidates, training);
    append_km(help, size, pupil->max_commute_m);
    append_text(help, size, " do not cover the pupil's days, ");
    append_days(help, size, pupil->day_mask);
    append_text(help, size, ".");
    break;
  case ELIGIBILITY_ALL_EXCLUDED:
    append_text(help, size, "The %ld suitable places in %s within ", candidates, training);
    append_km(help, size, pupil->max_commute_m);
    append_text(help, size, " are all at companies excluded for this pupil.");
    break;
  case ELIGIBILITY_STARTS_TOO_LATE:
    append_text(help, size, "The %ld suitable places in %s within ", candidates, training);
    append_km(help, size, pupil->max_commute_m);
    append_text(help, size, " all start after ");
    append_date(help, size, (int32_t)(pupil->wanted_start_day + weights->start_window_days));
    append_text(help, size, ", more than %lld days after the pupil's wanted start, ",
                (long long)weights->start_window_days);
    append_date(help, size, pupil->wanted_start_day);
    append_text(help, size, ".");
    break;
  case ELIGIBILITY_SEATS_TAKEN:
    append_text(help, size,
                "All %ld seats of the %ld eligible places are held, each by a claim at least as "
                "strong: %ld stronger (priority or longer wait), %ld equal (a shorter commute "
                "or a preferred company), %ld accepted or signed.",
                (long)x->eligible_seats, candidates, (long)x->stronger_claims, (long)x->equal_claims,
                (long)x->fixed_holders);
    break;
  case ELIGIBILITY_PLACED: break;
  }
}

void hints_format_help(const eligibility_pupil *pupil, int32_t vacancy_count, const eligibility_names *names,
                       const eligibility_weights *weights, eligibility_explanation *x) {
  char *help = x->help;
  size_t size = sizeof x->help;
  help[0] = '\0';
  const char *training = "this training";
  if (names && names->training_codes && pupil->training >= 0 && pupil->training < names->training_count &&
      names->training_codes[pupil->training])
    training = names->training_codes[pupil->training];
  append_reason(help, size, pupil, training, names, vacancy_count, weights, x);
  const char *seats_word = x->hint_seats == 1 ? "seat" : "seats";
  switch (x->hint) {
  case ELIGIBILITY_HINT_MORE_SEATS:
    append_text(help, size, " %ld more %s at ", (long)x->hint_seats, seats_word);
    append_vacancy(help, size, names, vacancy_count, x->hint_vacancy);
    append_text(help, size, " (%s, ", kind_name(x->hint_preparatory));
    append_km(help, size, x->hint_distance_m);
    append_text(help, size, ") would place this pupil (checked by re-solving).");
    break;
  case ELIGIBILITY_HINT_NEW_PLACE:
    append_text(help, size, " %ld more %s %s in %s on ", (long)x->hint_seats, kind_name(x->hint_preparatory),
                seats_word, training);
    append_days(help, size, pupil->day_mask);
    if (x->hint_vacancy >= 0) {
      append_text(help, size,
                  x->hint_new_company ? ", at another company at the location of " : ", at the location of ");
      append_vacancy(help, size, names, vacancy_count, x->hint_vacancy);
      append_text(help, size, " (");
      append_km(help, size, x->hint_distance_m);
      append_text(help, size, ")");
    } else {
      append_text(help, size, ", near the pupil's home (within ");
      append_km(help, size, pupil->max_commute_m);
      append_text(help, size, ")");
    }
    if (pupil->wanted_start_day > 0) {
      append_text(help, size, ", starting on ");
      append_date(help, size, pupil->wanted_start_day);
    }
    append_text(help, size, ", would place this pupil (checked by re-solving).");
    break;
  case ELIGIBILITY_HINT_NONE:
    if (x->hint_unchecked)
      append_text(help, size,
                  " No hint was checked for this pupil in this rematch (its budget was spent on "
                  "pupils with stronger claims).");
    else
      append_text(help, size, " No single added place within %d seats was found that would place this pupil.",
                  HINT_SEATS_MAX);
    break;
  }
}
