/* solve.c: the exact solver of libmatcher (see matcher.h for the problem and its dual).
 *
 * Method: successive shortest augmenting paths with dual prices, in the style of
 * Jonker-Volgenant's sparse assignment code, extended to vacancies with several seats and to
 * pupils who may stay unplaced. Pupils are placed one at a time (in id order). For each, a
 * Dijkstra search over reduced costs, which the prices keep non-negative, finds the cheapest
 * way to make room: the path ends at a vacancy with a free seat, or at a pupil (possibly the
 * searching one) who is cheapest to leave unplaced. Only the vacancies the search settled and
 * the pupils it passed through get new prices (the "lazy" update of JV), and the path is
 * flipped. Each pupil's reduced costs then stay >= 0 and every chosen pair stays tight, so
 * after the last search the prices prove the assignment optimal.
 *
 * Why this method for leerplek's shape: the networks are sparse (tens of pairs per pupil),
 * vacancies outnumber pupils, seats are small and unplaced penalties dwarf pair costs. Most
 * pupils then find a free seat at their cheapest vacancy at once (the search ends after one
 * row scan), and a contested pupil's search stays in its own training and neighbourhood: the
 * work follows the competition, not the size of the network. A general network simplex or
 * cost scaling method touches the whole network many times over. The same property makes the
 * warm start cheap: after a 1 % change only the pupils whose placement no longer holds search.
 *
 * Warm start: the previous placements that still hold are kept with the previous vacancy
 * prices; a placement whose pupil now has a cheaper option, or whose pair is gone, is undone.
 * What is left breaks the optimality conditions in two ways only: waiting pupils who could
 * gain from a seat (new ones, undone ones, raised penalties) and free seats with a positive
 * price (added seats, departed pupils, undone placements). Two phases repair them.
 *
 *   Placing: every waiting pupil is placed by a forward search, as in a cold solve. A free
 *   seat ends a forward search whatever its price, so a new pupil next to a new seat takes it
 *   by a short path, and the two defects cancel in one search instead of each walking the
 *   saturated region around them (a 1 % change at `flanders`: five times fewer pairs scanned
 *   than doing the seats first).
 *   Settling: each free seat still priced gets a reverse search (the mirror image of the
 *   forward one, walking pairs from vacancy to pupil) for the cheapest of: moving a pupil into
 *   it along a chain of moves, placing a waiting pupil there, or lowering the price to zero.
 *   Zeroing the price outright would break the neighbours' conditions in turn and cascade
 *   through the city. A seat's search alone ends nearby for most seats; the seats whose
 *   searches would walk a large saturated region (a scattered change leaves dozens in one) are
 *   settled together, by a search from all of them at once that applies one path per tree
 *   and carries over from round to round (settle_batch, carry_search_over), so the region is
 *   walked a few times rather than once per seat.
 *
 * The invariants both phases rely on, and keep (the network's, not the algorithm's):
 *   (a) every pair has reduced cost c_ij + p_j - u_i >= 0 and every chosen pair has 0;
 *   (b) every seated pupil has u_i <= U_i;
 *   (c) no full vacancy loses a pupil except at the end of a reverse search, whose vacancy
 *       is left with price 0 (a forward search shifts pupils along its path, every vacancy on
 *       it keeps its count, the last one gains one).
 * A forward search never settles a vacancy with a free seat (it ends there), so a priced
 * free seat keeps its price until a pupil fills it or the settling phase lowers it. A forward
 * search leaves its source placed or some pupil unplaced at u = U, and touches no other
 * waiting pupil; a reverse search only lowers prices and places a waiting pupil only at the
 * end of one of its paths (one per root), whose pair it makes tight, and every waiting pupil
 * it leaves waiting is at least as far as where it stopped. So after the placing phase every waiting pupil has u = U,
 * and the settling phase keeps that, leaves no free seat priced and breaks none of (a) to (c): all of matcher.h's
 * conditions hold and the result is exactly optimal. Prices only fall in reverse searches, as they only rise in forward
 * ones.
 *
 * Vacancy j with s_j seats appears once in the search, not s_j times: its assigned pupils
 * are kept in a slot array, and settling j scans all of them at the same distance (the pairs
 * that hold them are tight). Fixed pairs are taken out before the search: their pupils never
 * move and their seats are subtracted.
 *
 * Ties: rows are sorted by vacancy id and the heap orders equal distances by vacancy id, so
 * the outcome depends only on the problem, not on the order its pairs were given in.
 *
 * Memory layout: inside the network vacancies are renumbered in the order the pupils' rows
 * first name them, pupils taken in placing order. Vacancies that the same searches touch then
 * sit close together in every per-vacancy array, so the prices a row scan reads share cache
 * lines (a quarter off the solve time at `germany` size). The renumbering is invisible outside:
 * rows keep their order by the caller's vacancy id, ties are still broken by that id, and
 * warm starts and solutions are translated at the boundary. A warm start that flags few pupils
 * searches too little to repay the renumbering's passes over the pairs: matcher_solve then keeps
 * the caller's ids (same result).
 *
 * What a warm start costs beyond its searches: the network's build (a pass that checks and
 * copies the pairs, the renumbering, the seats) and the reverse index (which matcher_solve builds
 * only once a warm start's settling phase has a seat to settle: see build_reverse_index and
 * needs_reverse_index). At `flanders` after a 1 % change these
 * fixed costs are most of a warm matcher_solve; only a network kept from one rematch to the
 * next would avoid them.
 */
#include "matcher.h"
#include "rows.h"

#include <stdlib.h>
#include <string.h>

/* A binary heap of ids (vacancies in forward searches, pupils in reverse ones) ordered by a
 * distance array the search owns, ties to the lower caller's id (tie_id maps an internal
 * vacancy to it; NULL for pupils, whose ids are the caller's); position[] makes decrease-key
 * O(log n) and is -1 for ids not in the heap. */
typedef struct {
  int32_t *item;
  int32_t *position;
  const int64_t *key;
  const int32_t *tie_id;
  int32_t size;
} index_heap;

static int heap_before(const index_heap *heap, int32_t a, int32_t b) {
  if (heap->key[a] != heap->key[b]) return heap->key[a] < heap->key[b];
  return heap->tie_id ? heap->tie_id[a] < heap->tie_id[b] : a < b;
}

static void heap_place(index_heap *heap, int32_t index, int32_t id) {
  heap->item[index] = id;
  heap->position[id] = index;
}

/* Restores the order after id's key fell; adds id first if it is not in the heap. */
static void heap_push_or_raise(index_heap *heap, int32_t id) {
  int32_t index = heap->position[id];
  if (index < 0) index = heap->size++;
  while (index > 0) {
    int32_t parent = (index - 1) / 2;
    if (!heap_before(heap, id, heap->item[parent])) break;
    heap_place(heap, index, heap->item[parent]);
    index = parent;
  }
  heap_place(heap, index, id);
}

static int32_t heap_pop(index_heap *heap) {
  int32_t top = heap->item[0];
  heap->position[top] = -1;
  if (--heap->size == 0) return top;
  int32_t last = heap->item[heap->size], index = 0;
  for (;;) {
    int32_t child = 2 * index + 1;
    if (child >= heap->size) break;
    if (child + 1 < heap->size && heap_before(heap, heap->item[child + 1], heap->item[child])) child++;
    if (!heap_before(heap, heap->item[child], last)) break;
    heap_place(heap, index, heap->item[child]);
    index = child;
  }
  heap_place(heap, index, last);
  return top;
}

static void heap_clear(index_heap *heap) {
  while (heap->size > 0) heap->position[heap->item[--heap->size]] = -1;
}

/* One pair seen from its vacancy: the pupil, and where the pair sits in the pupil's row (its
 * cost at hand). Side by side, so that filling and reading a column touches one cache line
 * per pair, not two. */
typedef struct {
  int32_t pupil;
  int32_t row_offset;
} column_entry;

/* A problem indexed for solving, and the state of the solve in progress. Arrays are indexed by
 * pupil or vacancy id. */
struct matcher_network {
  const matcher_problem *problem;
  pair_rows rows;            /* row_vacancy, fixed_vacancy, fixed_taken in internal vacancy ids */
  int32_t *caller_vacancy;   /* [vacancies] internal vacancy id -> the caller's */
  int32_t *internal_vacancy; /* [vacancies] the caller's vacancy id -> internal */

  /* the solution being built */
  int32_t *vacancy_of_pupil; /* [pupils] vacancy or MATCHER_UNPLACED */
  int64_t *pupil_price;      /* [pupils] u_i */
  int64_t *vacancy_price;    /* [vacancies] p_j */

  /* seats: vacancy j's non-fixed occupants are slot_pupil[slot_start[j] .. + slot_used[j]) */
  int64_t *slot_start;     /* [vacancies + 1] */
  int32_t *slot_used;      /* [vacancies] */
  int32_t *slot_pupil;     /* [sum of capacities] */
  int32_t *slot_of_pupil;  /* [pupils] where pupil i sits in its vacancy's slots */
  uint8_t *price_may_rise; /* [vacancies] 1 if filling every slot really fills the vacancy */

  /* forward searches: vacancies are labelled, pupils passed through at their vacancy's distance */
  uint32_t search_id;      /* shared by forward and reverse searches */
  uint32_t *labelled_in;   /* [vacancies] search id that last gave j a distance */
  int64_t *distance;       /* [vacancies] valid when labelled_in[j] == search_id */
  int32_t *reached_from;   /* [vacancies] forward: pupil that labelled j; reverse: pupil leaving j */
  index_heap vacancy_heap; /* labelled, unsettled, full vacancies; position SETTLED once settled */
  int32_t *settled;        /* [vacancies] vacancies settled (passed) by this search */
  int32_t settled_count;
  int32_t *passed; /* [pupils] pupils this search passed through */
  int32_t passed_count;

  /* reverse searches (warm start only): pupils are labelled, vacancies passed through at
   * their leaving pupil's distance */
  int64_t *column_start;       /* [vacancies + 1] vacancy j's candidates: column[...] */
  column_entry *column;        /* [pairs] */
  int reverse_index_built;     /* the arrays of this group exist (build_reverse_index) */
  int column_start_summed;     /* column_start holds the columns' starts (else each column's count) */
  uint32_t *pupil_labelled_in; /* [pupils] */
  int64_t *pupil_distance;     /* [pupils] */
  int32_t *moves_to;           /* [pupils] the vacancy a labelled pupil would move to */
  index_heap pupil_heap;       /* labelled, unsettled pupils, keyed by pupil_distance */
  uint8_t *needs_check;        /* [pupils] warm start: placement to be re-checked (not part of the group) */
  int32_t *placing_order;      /* [pupils] by unplaced penalty, highest first, then by id */
  int single_root;             /* the reverse search has one root: a waiting pupil reached is an end */
  int32_t *tree_root;          /* [vacancies] the root whose tree a settled vacancy is in */
  uint32_t batch_round;        /* counts settle_batch rounds: root_served_in marks */
  int64_t batch_end;           /* the distance D at which the last round stopped */
  int32_t *relabel;            /* [pupils] carry_search_over: pupils to label again */
  uint8_t *label_is_bound;     /* [pupils] the heap key is only a lower bound of the label */
  uint32_t *root_served_in;    /* [vacancies] search id in which a root's tree got its path */
  int32_t *batch_roots;        /* [vacancies] the free seats still priced (settle_priced_seats) */
  uint8_t *in_crowded_region;  /* [vacancies] settled by a search alone that gave up (settle_priced_seats) */
  int32_t *batch_ends;         /* [vacancies + 1] the paths one settle_batch applies, by first mover */

  /* the cheapest way found so far to end the current path */
  int64_t best_end;
  int32_t best_end_vacancy; /* forward: a free vacancy; reverse: a vacancy giving up a seat */
  int32_t best_end_pupil;   /* forward: a pupil left unplaced; reverse: a waiting pupil placed */

  /* Set when a search meets a negative reduced cost or a price above a penalty: impossible
   * unless a pupil flagged unchanged in a warm start did change. The solve then starts over
   * checking every pupil. */
  int broken_promise;
  /* A warm start whose repairs have scanned more pairs than this is given up for a cold
   * solve (see WARM_PAIRS_PER_PAIR); INT64_MAX when solving cold. */
  int64_t warm_budget;
  /* The repairs the current phase of a warm start expects (placing: waiting pupils who can
   * gain from a seat; settling: free seats still priced) and those done so far, with the
   * pairs they scanned: see warm_start_given_up. */
  int64_t warm_repairs_expected;
  int64_t warm_repairs_done;
  int64_t warm_repair_pairs;

  matcher_stats stats;
  size_t build_bytes;
};

typedef struct matcher_network network;

/* vacancy_heap.position of a vacancy a forward search has settled: its distance is final. */
enum { SETTLED = -2 };

/* A cold solve of a realistic instance scans each pair 10 to 20 times over (contested
 * regions are searched again and again). A warm start after a small change scans far fewer,
 * but where the change hits a large saturated region, repairing it can cost more than the
 * cold solve it replaces; past this many scans per pair the warm start is dropped, so a warm
 * solve never costs much more than a cold one. */
enum { WARM_PAIRS_PER_PAIR = 8 };

/* Where one change hits a large saturated region, each repair searches that whole region, so
 * the cost of a warm start is its number of repairs times the size of the regions they hit.
 * After a sample of WARM_SAMPLE_REPAIRS repairs the rest is projected from their average; when
 * the repairs still to come are projected above WARM_PROJECTED_PAIRS_PER_PAIR scans per pair
 * (about half a cold solve) the warm start is given up at once instead of after the whole
 * budget. Only what is still to come counts: what was scanned is spent either way, and a
 * warm start near its end is cheaper to finish than a cold solve is to run. */
enum { WARM_SAMPLE_REPAIRS = 8, WARM_PROJECTED_PAIRS_PER_PAIR = 6 };

/* matcher_solve lays a warm start's network out for locality when more than one pupil in this
 * many is flagged changed (see needs_locality). */
enum { WARM_LAYOUT_SHARE_INVERSE = 2 };

/* A free seat still priced is first settled by a search of its own, given up once it scanned
 * more than this share of the pairs, between WARM_ALONE_PAIRS_MIN and WARM_ALONE_PAIRS_MAX
 * (see settle_priced_seats; without the most, germany's 1 % scattered change spent 7 M pair
 * scans on 240 searches given up). */
enum { WARM_ALONE_PAIRS_SHARE_INVERSE = 256, WARM_ALONE_PAIRS_MIN = 256, WARM_ALONE_PAIRS_MAX = 4096 };

/* A session pays where its rounds apply several paths each; after this many rounds averaging
 * fewer than WARM_SESSION_PATHS_PER_ROUND the seats left are settled alone, uncapped (a 10 %
 * local change at `flanders`: 25 seats in separate regions, one path a round). */
enum { WARM_SESSION_SAMPLE_ROUNDS = 3, WARM_SESSION_PATHS_PER_ROUND = 2 };

static int vacancy_has_free_seat(const network *s, int32_t vacancy) {
  return s->slot_used[vacancy] < s->slot_start[vacancy + 1] - s->slot_start[vacancy];
}

/* A vacancy whose seats are all gone (none, or all fixed) can take nobody: searches skip it,
 * and it gets its price once, at the end (see price_closed_vacancies). */
static int vacancy_is_closed(const network *s, int32_t vacancy) {
  return s->slot_start[vacancy + 1] == s->slot_start[vacancy];
}

/* Pairs naming the vacancy (fixed ones too): column_start holds the counts until the columns are
 * built, then their starts. */
static int64_t vacancy_pair_count(const network *s, int32_t vacancy) {
  return s->column_start_summed ? s->column_start[vacancy + 1] - s->column_start[vacancy]
                                : s->column_start[vacancy + 1];
}

static int pupil_is_fixed(const network *s, int32_t pupil) { return s->rows.fixed_vacancy[pupil] != MATCHER_UNPLACED; }

/* Index of the pair (pupil, internal vacancy) in the rows, or -1: a binary search, since rows
 * stay sorted by the caller's vacancy id. */
static int64_t find_pair(const network *s, int32_t pupil, int32_t vacancy) {
  const pair_rows *rows = &s->rows;
  int32_t wanted = s->caller_vacancy[vacancy];
  int64_t low = rows->row_start[pupil], high = rows->row_start[pupil + 1];
  while (low < high) {
    int64_t middle = low + (high - low) / 2;
    int32_t here = s->caller_vacancy[rows->row_vacancy[middle]];
    if (here == wanted) return middle;
    if (here < wanted)
      low = middle + 1;
    else
      high = middle;
  }
  return -1;
}

static void offer_end(network *s, int64_t length, int32_t vacancy, int32_t pupil) {
  if (length < s->best_end) {
    s->best_end = length;
    s->best_end_vacancy = vacancy;
    s->best_end_pupil = pupil;
  }
}

static void start_search(network *s) {
  s->search_id++;
  s->settled_count = 0;
  s->passed_count = 0;
  s->best_end = INT64_MAX;
  s->best_end_vacancy = -1;
  s->best_end_pupil = -1;
}

static void seat_pupil(network *s, int32_t pupil, int32_t vacancy) {
  int32_t slot = s->slot_used[vacancy]++;
  s->slot_pupil[s->slot_start[vacancy] + slot] = pupil;
  s->slot_of_pupil[pupil] = slot;
  s->vacancy_of_pupil[pupil] = vacancy;
}

static void unseat_pupil(network *s, int32_t pupil) {
  int32_t vacancy = s->vacancy_of_pupil[pupil];
  int32_t slot = s->slot_of_pupil[pupil];
  int32_t last = --s->slot_used[vacancy];
  int32_t moved = s->slot_pupil[s->slot_start[vacancy] + last];
  s->slot_pupil[s->slot_start[vacancy] + slot] = moved;
  s->slot_of_pupil[moved] = slot;
  s->vacancy_of_pupil[pupil] = MATCHER_UNPLACED;
}

static void move_pupil(network *s, int32_t pupil, int32_t vacancy) {
  if (s->vacancy_of_pupil[pupil] != MATCHER_UNPLACED) unseat_pupil(s, pupil);
  if (vacancy != MATCHER_UNPLACED) seat_pupil(s, pupil, vacancy);
}

/* ---- forward search: place one waiting pupil ---- */

/* The search reaches pupil k at distance d (through its own vacancy, or as the source):
 * offer leaving k unplaced as an end, and label the vacancies of k's other pairs. */
static void pass_through_pupil(network *s, int32_t pupil, int64_t distance_here) {
  const pair_rows *rows = &s->rows;
  int64_t price = s->pupil_price[pupil];
  int32_t own_vacancy = s->vacancy_of_pupil[pupil];

  s->passed[s->passed_count++] = pupil;
  if (price > s->problem->unplaced_penalty[pupil]) s->broken_promise = 1;
  offer_end(s, distance_here + s->problem->unplaced_penalty[pupil] - price, -1, pupil);

  for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++) {
    int32_t vacancy = rows->row_vacancy[e];
    int64_t length = distance_here + rows->row_cost[e] + s->vacancy_price[vacancy] - price;
    /* Most pairs end here, having touched one vacancy field: keep it that way. */
    if (length >= s->best_end) continue; /* cannot lead to a shorter path than one already found */
    if (vacancy == own_vacancy || vacancy_is_closed(s, vacancy)) continue;
    if (length < distance_here) s->broken_promise = 1;
    int fresh = s->labelled_in[vacancy] != s->search_id;
    if (!fresh && (length >= s->distance[vacancy] || s->vacancy_heap.position[vacancy] == SETTLED)) continue;
    s->labelled_in[vacancy] = s->search_id;
    s->distance[vacancy] = length;
    s->reached_from[vacancy] = pupil;
    if (vacancy_has_free_seat(s, vacancy))
      offer_end(s, length, vacancy, -1);
    else
      heap_push_or_raise(&s->vacancy_heap, vacancy);
  }
  s->stats.pairs_scanned += rows->row_start[pupil + 1] - rows->row_start[pupil];
}

/* The highest price a waiting pupil can have with all its reduced costs >= 0: its first step
 * then has length 0, and a pupil whose cheapest vacancy has a free seat is placed after one
 * row scan. */
static int64_t highest_feasible_price(const network *s, int32_t pupil) {
  const pair_rows *rows = &s->rows;
  int64_t price = s->problem->unplaced_penalty[pupil];
  for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++) {
    int32_t vacancy = rows->row_vacancy[e];
    int64_t through = rows->row_cost[e] + s->vacancy_price[vacancy];
    if (through < price && !vacancy_is_closed(s, vacancy)) price = through;
  }
  return price;
}

/* Places pupil `source` (waiting, not fixed) optimally, re-arranging others along the
 * shortest path. Returns 1 when that took a real search (the pupil could gain from a seat),
 * 0 when one row scan showed it stays unplaced or takes a free seat at once. */
static int place_pupil(network *s, int32_t source) {
  s->pupil_price[source] = highest_feasible_price(s, source);
  int searched = s->pupil_price[source] < s->problem->unplaced_penalty[source];
  start_search(s);
  s->stats.searches++;

  pass_through_pupil(s, source, 0);
  while (s->vacancy_heap.size > 0 && s->distance[s->vacancy_heap.item[0]] < s->best_end) {
    int32_t vacancy = heap_pop(&s->vacancy_heap);
    s->vacancy_heap.position[vacancy] = SETTLED;
    s->settled[s->settled_count++] = vacancy;
    int64_t distance_here = s->distance[vacancy];
    int64_t first = s->slot_start[vacancy];
    for (int32_t slot = 0; slot < s->slot_used[vacancy]; slot++)
      pass_through_pupil(s, s->slot_pupil[first + slot], distance_here);
  }
  s->stats.vacancies_scanned += s->settled_count;
  heap_clear(&s->vacancy_heap);

  /* Prices: everything the search settled moves up by how much closer than the end it was.
   * This keeps every reduced cost >= 0 and makes the whole path tight. */
  int64_t end = s->best_end;
  for (int32_t n = 0; n < s->settled_count; n++) {
    int32_t vacancy = s->settled[n];
    s->vacancy_price[vacancy] += end - s->distance[vacancy];
    s->vacancy_heap.position[vacancy] = -1;
  }
  for (int32_t n = 0; n < s->passed_count; n++) {
    int32_t pupil = s->passed[n];
    int64_t reached_at = pupil == source ? 0 : s->distance[s->vacancy_of_pupil[pupil]];
    s->pupil_price[pupil] += end - reached_at;
  }

  /* Flip the path, walking back from its end: each pupil on it moves one vacancy forward. */
  int32_t pupil, next_vacancy;
  if (s->best_end_vacancy >= 0) {
    next_vacancy = s->best_end_vacancy;
    pupil = s->reached_from[next_vacancy];
  } else {
    next_vacancy = MATCHER_UNPLACED;
    pupil = s->best_end_pupil;
  }
  for (;;) {
    int32_t previous_vacancy = s->vacancy_of_pupil[pupil];
    move_pupil(s, pupil, next_vacancy);
    if (pupil == source) break;
    next_vacancy = previous_vacancy;
    pupil = s->reached_from[previous_vacancy];
  }
  return searched;
}

/* ---- reverse search: settle a free seat that still has a price (warm start) ---- */

/* The search reaches vacancy v at distance d (v = the seat's vacancy, or the vacancy that
 * `leaving` would leave): every pupil seated there moves with it at the same distance, giving
 * the seat up to the sink costs its price, and every other candidate of v is labelled. */
static void pass_through_vacancy(network *s, int32_t vacancy, int64_t distance_here, int32_t leaving) {
  const pair_rows *rows = &s->rows;
  int64_t price = s->vacancy_price[vacancy];

  s->labelled_in[vacancy] = s->search_id;
  s->distance[vacancy] = distance_here;
  s->reached_from[vacancy] = leaving;
  s->tree_root[vacancy] = leaving < 0 ? vacancy : s->tree_root[s->moves_to[leaving]];
  s->settled[s->settled_count++] = vacancy;
  s->stats.vacancies_scanned++;
  offer_end(s, distance_here + price, vacancy, -1);
  /* A session's search (settle_batch) keeps its labels from one round to the next,
   * so it may only leave out what no round can need: a label above this vacancy's own give-up,
   * which bounds every round while the vacancy stays settled. */
  int64_t own_give_up = distance_here + price;

  int64_t first = s->slot_start[vacancy];
  for (int32_t slot = 0; slot < s->slot_used[vacancy]; slot++) {
    int32_t seated = s->slot_pupil[first + slot];
    s->pupil_labelled_in[seated] = s->search_id;
    s->pupil_distance[seated] = distance_here;
    s->label_is_bound[seated] = 0;
    s->passed[s->passed_count++] = seated;
    if (s->pupil_heap.position[seated] >= 0) /* labelled earlier, longer: now settled here */
      heap_push_or_raise(&s->pupil_heap, seated);
  }

  for (int64_t c = s->column_start[vacancy]; c < s->column_start[vacancy + 1]; c++) {
    int32_t pupil = s->column[c].pupil;
    if (s->vacancy_of_pupil[pupil] == vacancy) continue;
    /* Costs are >= 0, so a pupil already too far without its cost is left before the two
     * scattered reads that fetch the cost (a sixth off a settling-bound warm start). */
    int64_t bound = s->single_root ? s->best_end : own_give_up;
    int64_t without_cost = distance_here + price - s->pupil_price[pupil];
    if (without_cost >= bound) continue;
    int64_t length = without_cost + rows->row_cost[rows->row_start[pupil] + s->column[c].row_offset];
    if (length >= bound) continue;
    if (length < distance_here) s->broken_promise = 1; /* a waiting pupil's price was taken on trust */
    if (s->vacancy_of_pupil[pupil] == MATCHER_UNPLACED && s->single_root) { /* the one root's end, maybe */
      s->moves_to[pupil] = vacancy;
      s->pupil_distance[pupil] = length;
      offer_end(s, length, -1, pupil);
      continue;
    }
    /* With several roots a waiting pupil is labelled like a seated one: popped, it ends a path
     * (see settle_batch). */
    if (s->vacancy_of_pupil[pupil] != MATCHER_UNPLACED && s->labelled_in[s->vacancy_of_pupil[pupil]] == s->search_id)
      continue; /* settled: its vacancy was passed already */
    int fresh = s->pupil_labelled_in[pupil] != s->search_id;
    /* Below a lower bound (carry_search_over) a label is the least of all: no longer a bound.
     * At or above it, the row scan when the pupil comes to the top will see this vacancy. */
    if (!fresh && length >= s->pupil_distance[pupil]) continue;
    s->pupil_labelled_in[pupil] = s->search_id;
    s->pupil_distance[pupil] = length;
    s->label_is_bound[pupil] = 0;
    s->moves_to[pupil] = vacancy;
    heap_push_or_raise(&s->pupil_heap, pupil);
  }
  s->stats.pairs_scanned += s->column_start[vacancy + 1] - s->column_start[vacancy];
}

static void relabel_from_row(network *s, int32_t pupil);

/* One multi-source reverse search: every free seat still priced (roots[], in the caller's
 * vacancy order) starts at distance 0 and the search grows them all at once, each vacancy and
 * pupil joining the tree of the root that reached it first. Paths in different trees share no
 * pupil and no vacancy, so the search need not stop at the first end: a waiting pupil it
 * settles at distance t ends a path to its tree's root, and the search goes on while every
 * waiting pupil it settles belongs to a tree whose root has no path yet. It stops at
 * distance D, the first of: a waiting pupil in a tree that has its path (D = its t), a vacancy
 * x whose price would fall below zero (D = d_x + p_x: x gives up a seat, or its price simply
 * drops when x is a root), or every root served. Then, as in a one-root search, what it
 * settled falls in price by D minus its distance, and the waiting pupils that end paths by D
 * minus theirs, which makes every path tight and breaks no reduced cost (the distances are
 * those of one search from a source joined to every root), and the paths are applied. Where
 * one saturated region holds many priced seats (a scattered change at `flanders`: 64 of them
 * in one region of 600 vacancies) one search then settles the region for many repairs
 * instead of once per repair. Returns the paths applied (at least one; 0 when a search with
 * single_root scanned more than pair_cap pairs and gave up, changing nothing).
 *
 * With several roots the search is a session of rounds: the next round carries this one's
 * search over (carried_over, after carry_search_over) instead of starting again, so the
 * region is settled once for the whole session, and only the trees that got paths are
 * searched again. A session labels a pupil from a vacancy unless the label is above that
 * vacancy's own give-up (a single root prunes by the cheapest end found instead), so that the
 * labels it keeps stay exact from round to round. */
static int32_t settle_batch(network *s, const int32_t *roots, int32_t root_count, int64_t pair_cap, int carried_over,
                            int single_root) {
  if (!carried_over) {
    start_search(s);
    s->single_root = single_root;
    for (int32_t r = 0; r < root_count; r++) pass_through_vacancy(s, roots[r], 0, -1);
  }
  uint32_t served = ++s->batch_round;
  int64_t pairs_before = s->stats.pairs_scanned;
  s->stats.reverse_phases++;
  s->stats.reverse_searches += root_count;

  int32_t *ends = s->batch_ends, end_count = 0, unserved = root_count;
  int64_t end = -1; /* D once known; -1 while the search may still reach the cheapest give-up */
  while (s->pupil_heap.size > 0 && unserved > 0) {
    int32_t pupil = s->pupil_heap.item[0];
    int64_t distance_here = s->pupil_distance[pupil];
    if (distance_here >= s->best_end) break;
    if (s->label_is_bound[pupil]) { /* only a lower bound: labelled from its row, then in order again */
      heap_pop(&s->pupil_heap);
      relabel_from_row(s, pupil);
      continue;
    }
    int32_t own = s->vacancy_of_pupil[pupil];
    if (own == MATCHER_UNPLACED && s->root_served_in[s->tree_root[s->moves_to[pupil]]] == served) {
      end = distance_here; /* its tree has its path already: it stays labelled, for the next round */
      break;
    }
    heap_pop(&s->pupil_heap);
    if (own != MATCHER_UNPLACED) {
      if (s->labelled_in[own] != s->search_id) pass_through_vacancy(s, own, distance_here, pupil);
      if (s->stats.pairs_scanned - pairs_before > pair_cap) { /* nothing changed yet: given back to the caller */
        heap_clear(&s->pupil_heap);
        return 0;
      }
      continue;
    }
    s->root_served_in[s->tree_root[s->moves_to[pupil]]] = served;
    unserved--;
    ends[end_count++] = pupil;
    s->passed[s->passed_count++] = pupil;
    end = unserved > 0 ? -1 : distance_here;
  }
  if (end < 0 && s->best_end_pupil >= 0) { /* one root, ending with a waiting pupil placed */
    end = s->best_end;
    ends[end_count++] = s->best_end_pupil;
    s->passed[s->passed_count++] = s->best_end_pupil;
  } else if (end < 0) { /* D is the cheapest give-up: every vacancy priced to zero by it may end a path */
    end = s->best_end;
    for (int32_t n = 0; n < s->settled_count; n++) {
      int32_t vacancy = s->settled[n];
      if (s->distance[vacancy] + s->vacancy_price[vacancy] != end) continue;
      int32_t root = s->tree_root[vacancy];
      if (s->root_served_in[root] == served) continue;
      s->root_served_in[root] = served;
      ends[end_count++] = s->reached_from[vacancy]; /* -1 at a root: only its price drops */
    }
  }
  if (s->single_root) heap_clear(&s->pupil_heap); /* a session keeps it for the next round */
  s->batch_end = end;

  for (int32_t n = 0; n < s->settled_count; n++) {
    int32_t vacancy = s->settled[n];
    s->vacancy_price[vacancy] -= end - s->distance[vacancy];
  }
  for (int32_t n = 0; n < s->passed_count; n++) {
    int32_t pupil = s->passed[n];
    s->pupil_price[pupil] -= end - s->pupil_distance[pupil];
  }

  /* Apply each path from its start: the first mover goes to the vacancy that labelled it, whose
   * leaving pupil moves on, until a root gets its pupil. A vacancy that gives up a seat starts
   * its path with its leaving pupil; a root that gives one up only loses its price. */
  int32_t applied = end_count;
  for (int32_t e = 0; e < end_count; e++) {
    int32_t mover = ends[e];
    while (mover >= 0) {
      int32_t destination = s->moves_to[mover];
      int32_t next_mover = s->reached_from[destination];
      if (next_mover >= 0) unseat_pupil(s, next_mover);
      move_pupil(s, mover, destination);
      mover = next_mover;
    }
  }
  return applied;
}

/* Pupil `pupil`, unsettled, labelled afresh from the vacancies settled so far: the row scan
 * that stands in for the columns of those vacancies, which named it when the search passed
 * them (see carry_search_over). */
static void relabel_from_row(network *s, int32_t pupil) {
  const pair_rows *rows = &s->rows;
  s->label_is_bound[pupil] = 0;
  s->pupil_labelled_in[pupil] = 0;
  if (pupil_is_fixed(s, pupil)) return;
  int32_t own = s->vacancy_of_pupil[pupil], via = -1;
  int64_t best = INT64_MAX, price = s->pupil_price[pupil];
  for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++) {
    int32_t vacancy = rows->row_vacancy[e];
    if (vacancy == own || s->labelled_in[vacancy] != s->search_id) continue;
    int64_t length = s->distance[vacancy] + rows->row_cost[e] + s->vacancy_price[vacancy] - price;
    if (length >= s->distance[vacancy] + s->vacancy_price[vacancy]) continue; /* as pass_through_vacancy */
    if (length < s->distance[vacancy]) s->broken_promise = 1;
    if (length < best) {
      best = length;
      via = vacancy;
    }
  }
  s->stats.pairs_scanned += rows->row_start[pupil + 1] - rows->row_start[pupil];
  if (via < 0) return;
  s->pupil_labelled_in[pupil] = s->search_id;
  s->pupil_distance[pupil] = best;
  s->moves_to[pupil] = via;
  heap_push_or_raise(&s->pupil_heap, pupil);
}

/* Prepares the next round of a session after settle_batch applied its paths at distance D
 * (batch_end). The trees whose roots got a path changed along it and leave the search; every
 * other tree is untouched, and the price update made its tree paths tight, so its vacancies
 * and pupils stay settled at distance 0 and their labels stay valid, D shorter. Only what
 * the served trees held is labelled again, from the pupils' rows (a pupil in the heap whose
 * label came from them waits with a lower bound and is labelled when it reaches the top,
 * which most never do: flanders, 1 % scattered, 3.22 M pairs scanned instead of 3.85 M with
 * every such label found at once); the free seats still priced
 * that are not in the search (served roots with a seat left) join it as new roots. A round
 * then costs what the served trees hold, not the whole region. */
static void carry_search_over(network *s, const int32_t *roots, int32_t root_count) {
  uint32_t served = s->batch_round;
  int64_t end = s->batch_end;
  /* Where the served trees held three quarters of the search or more, what is left to carry
   * (the labels to find again) costs more than a search from the roots left: start one
   * (flanders, 1 % scattered: 3.14 M pairs scanned, against 3.22 M at one half, 3.17 M at
   * seven eighths). */
  int32_t staying = 0;
  for (int32_t n = 0; n < s->settled_count; n++) staying += s->root_served_in[s->tree_root[s->settled[n]]] != served;
  if (staying * 4 < s->settled_count) {
    heap_clear(&s->pupil_heap);
    start_search(s);
    for (int32_t r = 0; r < root_count; r++) pass_through_vacancy(s, roots[r], 0, -1);
    return;
  }
  /* The heap's pupils that are not settled (a settled one may wait in it, see
   * pass_through_vacancy): their labels are D shorter where their vacancy stays, or found again. */
  int32_t *relabel = s->relabel, relabel_count = 0;
  for (int32_t h = 0; h < s->pupil_heap.size; h++) {
    int32_t pupil = s->pupil_heap.item[h], own = s->vacancy_of_pupil[pupil];
    if (own < 0 || s->labelled_in[own] != s->search_id) relabel[relabel_count++] = pupil;
  }
  heap_clear(&s->pupil_heap);

  int32_t *dropped = s->batch_ends, dropped_count = 0, kept = 0;
  for (int32_t n = 0; n < s->settled_count; n++) {
    int32_t vacancy = s->settled[n];
    if (s->root_served_in[s->tree_root[vacancy]] == served) {
      s->labelled_in[vacancy] = 0;
      dropped[dropped_count++] = vacancy;
    } else {
      s->distance[vacancy] = 0;
      s->settled[kept++] = vacancy;
    }
  }
  s->settled_count = kept;
  kept = 0;
  for (int32_t n = 0; n < s->passed_count; n++) {
    int32_t pupil = s->passed[n], own = s->vacancy_of_pupil[pupil];
    if (own >= 0 && s->labelled_in[own] == s->search_id) {
      s->pupil_distance[pupil] = 0;
      s->passed[kept++] = pupil;
    } else {
      s->pupil_labelled_in[pupil] = 0;
    }
  }
  s->passed_count = kept;

  /* A label from a vacancy that left is no label now, but D less is a lower bound of the new
   * one (its vacancy was the closest of all that were settled): the pupil waits in the heap
   * with it and is labelled from its row only if it comes to the top (most never do). */
  for (int32_t n = 0; n < relabel_count; n++) {
    int32_t pupil = relabel[n];
    s->pupil_distance[pupil] -= end;
    if (s->labelled_in[s->moves_to[pupil]] != s->search_id) s->label_is_bound[pupil] = 1;
    heap_push_or_raise(&s->pupil_heap, pupil);
  }
  relabel_count = 0;
  for (int32_t n = 0; n < dropped_count; n++) {
    int64_t first = s->slot_start[dropped[n]];
    for (int32_t slot = 0; slot < s->slot_used[dropped[n]]; slot++)
      relabel[relabel_count++] = s->slot_pupil[first + slot];
  }
  for (int32_t n = 0; n < relabel_count; n++) relabel_from_row(s, relabel[n]);

  s->best_end = INT64_MAX;
  s->best_end_vacancy = s->best_end_pupil = -1;
  for (int32_t n = 0; n < s->settled_count; n++) offer_end(s, s->vacancy_price[s->settled[n]], s->settled[n], -1);
  for (int32_t r = 0; r < root_count; r++)
    if (s->labelled_in[roots[r]] != s->search_id) pass_through_vacancy(s, roots[r], 0, -1);
}

/* ---- building, warm start, solving ---- */

static void *allocate(network *s, size_t count, size_t size) {
  s->build_bytes += count * size;
  return calloc(count ? count : 1, size);
}

static void free_reverse_index(network *s) {
  free(s->column);
  free(s->pupil_labelled_in);
  free(s->pupil_distance);
  free(s->moves_to);
  free(s->pupil_heap.item);
  free(s->pupil_heap.position);
  free(s->root_served_in);
  free(s->batch_roots);
  free(s->batch_ends);
  free(s->in_crowded_region);
  free(s->tree_root);
  free(s->relabel);
  free(s->label_is_bound);
  s->label_is_bound = NULL;
  s->in_crowded_region = NULL;
  s->tree_root = s->relabel = NULL;
  s->root_served_in = NULL;
  s->batch_roots = s->batch_ends = NULL;
  s->column = NULL;
  s->pupil_labelled_in = NULL;
  s->moves_to = s->pupil_heap.item = s->pupil_heap.position = NULL;
  s->pupil_distance = NULL;
}

void matcher_network_free(network *s) {
  if (!s) return;
  pair_rows_free(&s->rows);
  free(s->vacancy_of_pupil);
  free(s->pupil_price);
  free(s->vacancy_price);
  free(s->slot_start);
  free(s->slot_used);
  free(s->slot_pupil);
  free(s->slot_of_pupil);
  free(s->price_may_rise);
  free(s->labelled_in);
  free(s->distance);
  free(s->reached_from);
  free(s->vacancy_heap.item);
  free(s->vacancy_heap.position);
  free(s->settled);
  free(s->passed);
  free(s->column_start);
  free(s->needs_check);
  free_reverse_index(s);
  free(s->placing_order);
  free(s->caller_vacancy);
  free(s->internal_vacancy);
  free(s);
}

/* Vacancies per bucket of fill_columns, as a power of two: buckets of columns small enough to
 * stay in cache while they are filled, few enough that writing into all of them at once does. */
enum { COLUMN_BUCKETS_MAX = 256 };

/* Fills the columns (column_start already holds their starts), each sorted by pupil. Writing
 * pupil by pupil straight into the columns scatters every entry across all of them, a cache
 * miss per pair; instead the entries go first into one of at most COLUMN_BUCKETS_MAX buckets of
 * consecutive vacancies (each bucket is the span of its vacancies' columns: no extra array),
 * then each bucket, copied aside, is spread into its own columns. Two passes in cache beat one
 * that misses. While in its bucket an entry's row_offset also carries the vacancy's place in
 * the bucket (high bits), so the second pass need not look the pair up; rows too long for that
 * (never in leerplek's shape) are filled the direct way. */
static int fill_columns(network *s) {
  const pair_rows *rows = &s->rows;
  int32_t vacancies = s->problem->vacancy_count;
  int shift = 0;
  while (((int64_t)vacancies >> shift) >= COLUMN_BUCKETS_MAX) shift++;
  int32_t buckets = vacancies > 0 ? ((vacancies - 1) >> shift) + 1 : 0;
  int offset_bits = 31 - shift;
  int64_t longest_row = 0;
  for (int32_t i = 0; i < s->problem->pupil_count; i++)
    if (rows->row_start[i + 1] - rows->row_start[i] > longest_row)
      longest_row = rows->row_start[i + 1] - rows->row_start[i];
  if (longest_row > ((int64_t)1 << offset_bits)) {
    for (int32_t i = 0; i < s->problem->pupil_count; i++)
      for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++)
        s->column[s->column_start[rows->row_vacancy[e]]++] =
            (column_entry){.pupil = i, .row_offset = (int32_t)(e - rows->row_start[i])};
    for (int32_t j = vacancies; j > 0; j--) s->column_start[j] = s->column_start[j - 1];
    s->column_start[0] = 0;
    return 1;
  }
  int64_t bucket_cursor[COLUMN_BUCKETS_MAX], largest = 0;
  for (int32_t b = 0; b < buckets; b++) {
    int32_t first = b << shift, end = first + (1 << shift) < vacancies ? first + (1 << shift) : vacancies;
    bucket_cursor[b] = s->column_start[first];
    if (s->column_start[end] - s->column_start[first] > largest)
      largest = s->column_start[end] - s->column_start[first];
  }
  column_entry *aside = malloc((size_t)(largest ? largest : 1) * sizeof *aside);
  int64_t *cursor = malloc(((size_t)vacancies + 1) * sizeof *cursor);
  if (!aside || !cursor) {
    free(aside);
    free(cursor);
    return 0;
  }
  uint32_t place_mask = ((uint32_t)1 << shift) - 1, offset_mask = ((uint32_t)1 << offset_bits) - 1;
  for (int32_t i = 0; i < s->problem->pupil_count; i++)
    for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++) {
      uint32_t vacancy = (uint32_t)rows->row_vacancy[e];
      uint32_t packed = ((vacancy & place_mask) << offset_bits) | (uint32_t)(e - rows->row_start[i]);
      s->column[bucket_cursor[vacancy >> shift]++] = (column_entry){.pupil = i, .row_offset = (int32_t)packed};
    }
  memcpy(cursor, s->column_start, ((size_t)vacancies + 1) * sizeof *cursor);
  for (int32_t b = 0; b < buckets; b++) {
    int32_t first = b << shift, end = first + (1 << shift) < vacancies ? first + (1 << shift) : vacancies;
    int64_t from = s->column_start[first], count = s->column_start[end] - from;
    memcpy(aside, s->column + from, (size_t)count * sizeof *aside);
    for (int64_t n = 0; n < count; n++) { /* in pupil order still: each column comes out sorted */
      uint32_t packed = (uint32_t)aside[n].row_offset;
      int32_t vacancy = first + (int32_t)(packed >> offset_bits);
      s->column[cursor[vacancy]++] =
          (column_entry){.pupil = aside[n].pupil, .row_offset = (int32_t)(packed & offset_mask)};
    }
  }
  free(aside);
  free(cursor);
  return 1;
}

/* The pupils of each vacancy's pairs, and the per-pupil state of reverse searches (8 bytes per
 * pair). Only a warm start uses them. matcher_network_build builds them (its network may be
 * solved warm any number of times, and a warm solve then costs what its changes cost);
 * matcher_solve builds them only when a warm start's settling phase needs them, so that a cold
 * solve (the first rematch) neither fills nor holds them (a tenth off its time, a third off its
 * memory), nor does a warm one whose placing searches left no seat to settle. A network without
 * them gets them from its first warm solve that needs them. column_start[j + 1] holds vacancy
 * j's pair count until they are first built (renumber_vacancies counted them). */
static int build_reverse_index(network *s) {
  size_t pupils = (size_t)s->problem->pupil_count, vacancies = (size_t)s->problem->vacancy_count;
  size_t pairs = (size_t)s->problem->pair_count;
  s->column = malloc((pairs ? pairs : 1) * sizeof *s->column);
  s->build_bytes += pairs * sizeof *s->column;
  s->pupil_labelled_in = allocate(s, pupils, sizeof *s->pupil_labelled_in);
  s->pupil_distance = allocate(s, pupils, sizeof *s->pupil_distance);
  s->moves_to = allocate(s, pupils, sizeof *s->moves_to);
  s->pupil_heap.item = allocate(s, pupils, sizeof *s->pupil_heap.item);
  s->pupil_heap.position = allocate(s, pupils, sizeof *s->pupil_heap.position);
  s->pupil_heap.key = s->pupil_distance;
  s->root_served_in = allocate(s, vacancies, sizeof *s->root_served_in);
  s->batch_roots = allocate(s, vacancies, sizeof *s->batch_roots);
  s->batch_ends = allocate(s, vacancies + 1, sizeof *s->batch_ends);
  s->in_crowded_region = allocate(s, vacancies, sizeof *s->in_crowded_region);
  s->tree_root = allocate(s, vacancies, sizeof *s->tree_root);
  s->relabel = allocate(s, pupils, sizeof *s->relabel);
  s->label_is_bound = allocate(s, pupils, sizeof *s->label_is_bound);
  if (!s->label_is_bound || !s->tree_root || !s->relabel || !s->in_crowded_region || !s->root_served_in ||
      !s->batch_roots || !s->batch_ends || !s->column || !s->pupil_labelled_in || !s->pupil_distance || !s->moves_to ||
      !s->pupil_heap.item || !s->pupil_heap.position) {
    free_reverse_index(s);
    return 0;
  }
  if (!s->column_start_summed)
    for (size_t j = 0; j < vacancies; j++) s->column_start[j + 1] += s->column_start[j];
  s->column_start_summed = 1;
  if (!fill_columns(s)) {
    free_reverse_index(s);
    return 0;
  }
  for (size_t i = 0; i < pupils; i++) s->pupil_heap.position[i] = -1;
  s->reverse_index_built = 1;
  return 1;
}

/* Pupils are placed highest penalty first. Any order gives the optimum, but this one keeps
 * searches short where seats run out: by the time a pupil with a lower claim arrives, the
 * prices there already exceed its penalty and its search ends at once, where the reverse
 * order makes every later, stronger claim search through the crowd for someone to displace.
 * Equal penalties go by pupil id. A stable radix sort on the penalty's bytes (a warm start's
 * build is short enough that qsort's comparisons showed): byte positions that every pupil
 * shares are skipped, so penalties in a narrow range take two or three passes. */
static int order_by_penalty(network *s) {
  int32_t pupils = s->problem->pupil_count;
  const int64_t *penalty = s->problem->unplaced_penalty;
  int32_t *order = s->placing_order, *spare = malloc((pupils ? (size_t)pupils : 1) * sizeof *spare);
  if (!spare) return 0;
  int32_t *allocated = spare;
  for (int32_t i = 0; i < pupils; i++) order[i] = i;
  for (int shift = 0; shift < 56; shift += 8) { /* penalties fit in 54 bits (MATCHER_VALUE_MAX) */
    int32_t start[257] = {0};
    for (int32_t n = 0; n < pupils; n++)
      start[((uint64_t)(MATCHER_VALUE_MAX - penalty[order[n]]) >> shift & 255) + 1]++;
    int shared = 0;
    for (int d = 1; d <= 256; d++) shared |= start[d] == pupils;
    if (shared) continue;
    for (int d = 0; d < 256; d++) start[d + 1] += start[d];
    for (int32_t n = 0; n < pupils; n++)
      spare[start[(uint64_t)(MATCHER_VALUE_MAX - penalty[order[n]]) >> shift & 255]++] = order[n];
    int32_t *sorted = spare;
    spare = order;
    order = sorted;
  }
  if (order != s->placing_order) memcpy(s->placing_order, order, (size_t)pupils * sizeof *order);
  free(allocated);
  return 1;
}

/* Renumbers vacancies in the order the rows name them, pupils in placing order (see the
 * first comment), and rewrites the rows and fixed pairs to the internal ids. The rewriting
 * pass also counts each vacancy's pairs into column_start[j + 1], saving build_reverse_index
 * and the capacities a pass over all pairs each. Without for_locality the internal ids are the
 * caller's: a warm solve searches too little for the layout to repay its two passes over the
 * pairs (the solution is the same either way: ties go by the caller's ids). */
static int renumber_vacancies(network *s, int for_locality) {
  pair_rows *rows = &s->rows;
  int32_t vacancies = s->problem->vacancy_count;
  s->caller_vacancy = allocate(s, (size_t)vacancies, sizeof *s->caller_vacancy);
  s->internal_vacancy = allocate(s, (size_t)vacancies, sizeof *s->internal_vacancy);
  if (!for_locality) { /* the caller's ids as they are: only the columns are counted */
    if (!s->caller_vacancy || !s->internal_vacancy) return 0;
    for (int32_t j = 0; j < vacancies; j++) s->caller_vacancy[j] = s->internal_vacancy[j] = j;
    for (int64_t e = 0; e < s->problem->pair_count; e++) s->column_start[rows->row_vacancy[e] + 1]++;
    return 1;
  }
  int32_t *fixed_taken = calloc((size_t)vacancies + 1, sizeof *fixed_taken);
  if (!s->caller_vacancy || !s->internal_vacancy || !fixed_taken) {
    free(fixed_taken);
    return 0;
  }
  for (int32_t j = 0; j < vacancies; j++) s->internal_vacancy[j] = -1;
  int32_t next = 0;
  for (int32_t n = 0; n < s->problem->pupil_count; n++) {
    int32_t pupil = s->placing_order[n];
    for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++)
      if (s->internal_vacancy[rows->row_vacancy[e]] < 0) s->internal_vacancy[rows->row_vacancy[e]] = next++;
  }
  for (int32_t j = 0; j < vacancies; j++) {
    if (s->internal_vacancy[j] < 0) s->internal_vacancy[j] = next++; /* named by no pair */
    s->caller_vacancy[s->internal_vacancy[j]] = j;
    fixed_taken[s->internal_vacancy[j]] = rows->fixed_taken[j];
  }
  for (int64_t e = 0; e < s->problem->pair_count; e++) {
    int32_t vacancy = s->internal_vacancy[rows->row_vacancy[e]];
    rows->row_vacancy[e] = vacancy;
    s->column_start[vacancy + 1]++;
  }
  for (int32_t i = 0; i < s->problem->pupil_count; i++)
    if (rows->fixed_vacancy[i] != MATCHER_UNPLACED)
      rows->fixed_vacancy[i] = s->internal_vacancy[rows->fixed_vacancy[i]];
  free(rows->fixed_taken);
  rows->fixed_taken = fixed_taken;
  return 1;
}

/* A vacancy's capacity for non-fixed pupils is its seats minus fixed ones, but never more than
 * the pupils who could take it: a vacancy with more seats than candidates can never fill, so
 * its price never has to rise. */
static matcher_status network_build(const matcher_problem *problem, int for_locality, int for_warm_starts,
                                    network **built, matcher_error *error) {
  *built = NULL;
  network *s = calloc(1, sizeof *s);
  if (!s) return matcher_fail(error, MATCHER_NO_MEMORY, "no memory for a network");
  s->problem = problem;
  matcher_status status = pair_rows_build(problem, &s->rows, error);
  if (status != MATCHER_OK) {
    free(s);
    return status;
  }
  s->build_bytes = sizeof *s + s->rows.bytes;

  size_t pupils = (size_t)problem->pupil_count, vacancies = (size_t)problem->vacancy_count;
  s->placing_order = allocate(s, pupils, sizeof *s->placing_order);
  s->column_start = allocate(s, vacancies + 1, sizeof *s->column_start);
  if (!s->placing_order || !s->column_start || !order_by_penalty(s) || !renumber_vacancies(s, for_locality))
    goto no_memory;
  s->vacancy_of_pupil = allocate(s, pupils, sizeof *s->vacancy_of_pupil);
  s->pupil_price = allocate(s, pupils, sizeof *s->pupil_price);
  s->vacancy_price = allocate(s, vacancies, sizeof *s->vacancy_price);
  s->slot_start = allocate(s, vacancies + 1, sizeof *s->slot_start);
  s->slot_used = allocate(s, vacancies, sizeof *s->slot_used);
  s->slot_of_pupil = allocate(s, pupils, sizeof *s->slot_of_pupil);
  s->price_may_rise = allocate(s, vacancies, sizeof *s->price_may_rise);
  s->labelled_in = allocate(s, vacancies, sizeof *s->labelled_in);
  s->distance = allocate(s, vacancies, sizeof *s->distance);
  s->reached_from = allocate(s, vacancies, sizeof *s->reached_from);
  s->vacancy_heap.item = allocate(s, vacancies, sizeof *s->vacancy_heap.item);
  s->vacancy_heap.position = allocate(s, vacancies, sizeof *s->vacancy_heap.position);
  s->vacancy_heap.key = s->distance;
  s->vacancy_heap.tie_id = s->caller_vacancy;
  s->settled = allocate(s, vacancies, sizeof *s->settled);
  s->passed = allocate(s, pupils, sizeof *s->passed);
  s->needs_check = allocate(s, pupils, sizeof *s->needs_check);
  if (!s->needs_check || !s->vacancy_of_pupil || !s->pupil_price || !s->vacancy_price || !s->slot_start ||
      !s->slot_used || !s->slot_of_pupil || !s->price_may_rise || !s->labelled_in || !s->distance || !s->reached_from ||
      !s->vacancy_heap.item || !s->vacancy_heap.position || !s->settled || !s->passed)
    goto no_memory;

  /* Candidates per vacancy, counted in slot_used for now: its pairs but those of fixed pupils. */
  const pair_rows *rows = &s->rows;
  for (int32_t j = 0; j < problem->vacancy_count; j++) s->slot_used[j] = (int32_t)s->column_start[j + 1];
  for (int32_t i = 0; i < problem->pupil_count; i++)
    if (pupil_is_fixed(s, i))
      for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++) s->slot_used[rows->row_vacancy[e]]--;
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    int64_t free_seats = (int64_t)problem->seats[s->caller_vacancy[j]] - rows->fixed_taken[j];
    int64_t capacity = free_seats < s->slot_used[j] ? free_seats : s->slot_used[j];
    s->price_may_rise[j] = free_seats <= s->slot_used[j];
    s->slot_start[j + 1] = s->slot_start[j] + capacity;
    s->slot_used[j] = 0;
    s->vacancy_heap.position[j] = -1;
  }
  s->slot_pupil = allocate(s, (size_t)s->slot_start[vacancies], sizeof *s->slot_pupil);
  if (!s->slot_pupil || (for_warm_starts && !build_reverse_index(s))) goto no_memory;
  *built = s;
  return MATCHER_OK;

no_memory:
  matcher_network_free(s);
  return matcher_fail(error, MATCHER_NO_MEMORY, "no memory for a network of %d pupils and %d vacancies",
                      problem->pupil_count, problem->vacancy_count);
}

/* Does seated pupil i (with a tight price) keep all its reduced costs >= 0 within its penalty? */
static int placement_still_holds(const network *s, int32_t pupil) {
  return s->pupil_price[pupil] <= s->problem->unplaced_penalty[pupil] &&
         highest_feasible_price(s, pupil) >= s->pupil_price[pupil];
}

/* The projection is per phase: the two phases' repairs differ in kind (a placing search
 * usually ends at a seat nearby, a settling search walks a whole saturated region), so the
 * average of one says nothing about the other. */
static int warm_start_given_up(const network *s) {
  if (s->warm_repairs_done >= WARM_SAMPLE_REPAIRS && s->warm_repairs_done < s->warm_repairs_expected) {
    double projected = (double)s->warm_repair_pairs / (double)s->warm_repairs_done *
                       (double)(s->warm_repairs_expected - s->warm_repairs_done);
    if (projected > (double)WARM_PROJECTED_PAIRS_PER_PAIR * (double)(s->problem->pair_count + s->problem->pupil_count))
      return 1;
  }
  return s->broken_promise || s->stats.pairs_scanned > s->warm_budget;
}

static void start_warm_phase(network *s, int64_t expected) {
  s->warm_repairs_expected = expected;
  s->warm_repairs_done = s->warm_repair_pairs = 0;
}

/* Without the columns (see needs_reverse_index), the candidates of the vacancies whose price had
 * to drop are found by one pass over the rows' vacancies; short of memory for the marks, every
 * pupil is checked, which is as exact. */
static void mark_candidates_of_dropped_prices(network *s, const matcher_warm_start *warm) {
  const matcher_problem *problem = s->problem;
  const pair_rows *rows = &s->rows;
  uint8_t *dropped = calloc((size_t)problem->vacancy_count + 1, 1);
  if (!dropped) {
    for (int32_t i = 0; i < problem->pupil_count; i++) s->needs_check[i] = 1;
    return;
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    dropped[j] = warm->vacancy_price[s->caller_vacancy[j]] != 0 && s->vacancy_price[j] == 0 && !vacancy_is_closed(s, j);
  for (int32_t i = 0; i < problem->pupil_count; i++)
    for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1] && !s->needs_check[i]; e++)
      s->needs_check[i] = dropped[rows->row_vacancy[e]];
  free(dropped);
}

static void apply_warm_start(network *s, const matcher_warm_start *warm, int trust_flags) {
  const matcher_problem *problem = s->problem;
  const pair_rows *rows = &s->rows;

  for (int32_t i = 0; i < problem->pupil_count; i++) s->needs_check[i] = trust_flags ? warm->pupil_changed[i] != 0 : 1;
  /* A price may only stay positive where seats can fill. Where one has to drop, the pairs
   * into that vacancy got cheaper: their pupils must be checked. A closed vacancy is apart:
   * no search and no feasible price looks at it (it is priced at the very end), so its
   * price says nothing to its candidates; a vacancy that closes takes a few hundred pupils'
   * checks otherwise. */
  int64_t dropped = 0;
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    int64_t price = warm->vacancy_price ? warm->vacancy_price[s->caller_vacancy[j]] : 0;
    int usable = price > 0 && price <= MATCHER_VALUE_MAX && s->price_may_rise[j] && !vacancy_is_closed(s, j);
    s->vacancy_price[j] = usable ? price : 0;
    if (price != 0 && !usable && !vacancy_is_closed(s, j)) {
      dropped++;
      if (s->reverse_index_built)
        for (int64_t c = s->column_start[j]; c < s->column_start[j + 1]; c++) s->needs_check[s->column[c].pupil] = 1;
    }
  }
  if (dropped > 0 && !s->reverse_index_built) mark_candidates_of_dropped_prices(s, warm);
  if (warm->vacancy_of_pupil)
    for (int32_t i = 0; i < problem->pupil_count; i++) {
      int32_t vacancy = warm->vacancy_of_pupil[i];
      if (pupil_is_fixed(s, i) || vacancy < 0 || vacancy >= problem->vacancy_count) continue;
      vacancy = s->internal_vacancy[vacancy];
      int64_t pair = find_pair(s, i, vacancy);
      if (pair < 0 || !vacancy_has_free_seat(s, vacancy)) {
        s->stats.repaired++;
        continue;
      }
      seat_pupil(s, i, vacancy);
      s->pupil_price[i] = rows->row_cost[pair] + s->vacancy_price[vacancy];
      if (s->needs_check[i] && !placement_still_holds(s, i)) {
        unseat_pupil(s, i);
        s->stats.repaired++;
      }
    }
  /* The placing phase's repairs: waiting pupils who could gain from a seat. The others get
   * their penalty as price and no search: prices only rise while placing, so they cannot
   * come to gain from a seat later in the phase (at `flanders` that skips a row scan for
   * each of 4,500 waiting pupils, a fifth of a warm start). A pupil who waited before and
   * is flagged unchanged, none of whose vacancies lost its price, still cannot gain (the
   * same promise that keeps an unflagged placement unchecked), so its row is not even read.
   * needs_check now marks the pupils the placing phase must search for. */
  int64_t gaining = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int check =
        s->needs_check[i] || !trust_flags || !warm->vacancy_of_pupil || warm->vacancy_of_pupil[i] != MATCHER_UNPLACED;
    s->needs_check[i] = 0;
    if (pupil_is_fixed(s, i) || s->vacancy_of_pupil[i] != MATCHER_UNPLACED) continue;
    s->pupil_price[i] = check ? highest_feasible_price(s, i) : problem->unplaced_penalty[i];
    s->needs_check[i] = s->pupil_price[i] < problem->unplaced_penalty[i];
    gaining += s->needs_check[i];
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++)
    s->stats.warm_priced_vacancies += s->vacancy_price[j] > 0 && vacancy_has_free_seat(s, j);
  start_warm_phase(s, gaining);
}

/* The settling phase of a warm start: every free seat still priced after the placing phase is
 * given a pupil or loses its price, by multi-source reverse searches (settle_batch) until none
 * is left. A search only lowers prices and moves pupils along its paths, so no new priced free
 * seat appears: each round keeps those of the last that are still priced, in the caller's
 * vacancy order. */
static void settle_priced_seats(network *s) {
  const matcher_problem *problem = s->problem;
  int32_t *roots = s->batch_roots, root_count = 0;
  for (int32_t caller = 0; caller < problem->vacancy_count; caller++) {
    int32_t j = s->internal_vacancy[caller];
    if (s->vacancy_price[j] > 0 && vacancy_has_free_seat(s, j)) roots[root_count++] = j;
  }
  s->stats.warm_priced_filled = s->stats.warm_priced_vacancies - root_count;
  if (root_count == 0) return; /* nothing to settle (and perhaps no reverse index: needs_reverse_index) */
  start_warm_phase(s, root_count);
  /* First each seat alone, in a search that gives up past alone_pairs pair scans: most end
   * nearby, and a search from many roots stops at the first seat whose price reaches zero, so
   * the cheap ones would cut it short again and again. The rest are settled together, in one
   * session of rounds (see settle_batch). */
  int32_t deferred = 0;
  int64_t alone_pairs = problem->pair_count / WARM_ALONE_PAIRS_SHARE_INVERSE;
  if (alone_pairs < WARM_ALONE_PAIRS_MIN) alone_pairs = WARM_ALONE_PAIRS_MIN;
  if (alone_pairs > WARM_ALONE_PAIRS_MAX) alone_pairs = WARM_ALONE_PAIRS_MAX;
  for (int32_t j = 0; j < problem->vacancy_count; j++) s->in_crowded_region[j] = 0;
  for (int32_t r = 0; r < root_count && !warm_start_given_up(s); r++) {
    int32_t j = roots[r];
    if (s->in_crowded_region[j]) { /* a search alone would give up here too: straight to the batch */
      roots[deferred++] = j;
      continue;
    }
    while (s->vacancy_price[j] > 0 && vacancy_has_free_seat(s, j) && !warm_start_given_up(s)) {
      int64_t before = s->stats.pairs_scanned;
      int32_t applied = settle_batch(s, &j, 1, alone_pairs, 0, 1);
      s->warm_repairs_done += applied;
      s->warm_repair_pairs += s->stats.pairs_scanned - before;
      if (applied == 0) {
        for (int32_t n = 0; n < s->settled_count; n++) s->in_crowded_region[s->settled[n]] = 1;
        roots[deferred++] = j;
        break;
      }
    }
  }
  if (warm_start_given_up(s)) return; /* before the reset below, which would forget it */
  root_count = deferred;
  /* The projection of warm_start_given_up, sub-phase by sub-phase: the cheap seats settled
   * alone say nothing of what the crowded ones cost (germany, 1 % scattered: 800 cheap ones
   * kept it from giving up until the whole budget was spent). */
  start_warm_phase(s, root_count);
  int64_t session_paths = 0;
  int session_rounds = 0, alone = 0;
  while (root_count > 0 && !warm_start_given_up(s)) {
    int64_t before = s->stats.pairs_scanned;
    if (!alone && session_rounds >= WARM_SESSION_SAMPLE_ROUNDS &&
        session_paths < (int64_t)WARM_SESSION_PATHS_PER_ROUND * session_rounds) {
      alone = 1; /* the seats left are apart: each alone, where a single root prunes far more */
      heap_clear(&s->pupil_heap);
      start_warm_phase(s, root_count);
    }
    if (alone) {
      s->warm_repairs_done += settle_batch(s, roots, 1, INT64_MAX, 0, 1);
    } else {
      if (session_rounds > 0) carry_search_over(s, roots, root_count);
      int32_t applied = settle_batch(s, roots, root_count, INT64_MAX, session_rounds > 0, 0);
      s->warm_repairs_done += applied;
      session_paths += applied;
      session_rounds++;
    }
    int32_t kept = 0;
    for (int32_t r = 0; r < root_count; r++)
      if (s->vacancy_price[roots[r]] > 0 && vacancy_has_free_seat(s, roots[r])) roots[kept++] = roots[r];
    root_count = kept;
    s->warm_repair_pairs += s->stats.pairs_scanned - before;
  }
  heap_clear(&s->pupil_heap);
}

/* A closed vacancy is full, so any price >= 0 is allowed there; the least one that keeps the
 * reduced cost of every pair into it >= 0 is the highest pupil price minus pair cost. */
static void price_closed_vacancies(network *s) {
  const pair_rows *rows = &s->rows;
  if (!s->reverse_index_built) { /* without the columns: the same maximum, found from the rows */
    /* Only a closed vacancy that some pair names can need a price: where every closed vacancy
     * is closed for want of candidates, the pass over every row is spared. */
    int any_closed = 0;
    for (int32_t j = 0; j < s->problem->vacancy_count; j++)
      if (vacancy_is_closed(s, j)) {
        s->vacancy_price[j] = 0;
        any_closed |= vacancy_pair_count(s, j) > 0;
      }
    for (int32_t i = 0; i < s->problem->pupil_count && any_closed; i++) {
      if (pupil_is_fixed(s, i)) continue;
      for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++) {
        int32_t vacancy = rows->row_vacancy[e];
        int64_t needed = s->pupil_price[i] - rows->row_cost[e];
        if (vacancy_is_closed(s, vacancy) && needed > s->vacancy_price[vacancy]) s->vacancy_price[vacancy] = needed;
      }
    }
    return;
  }
  for (int32_t j = 0; j < s->problem->vacancy_count; j++) {
    if (!vacancy_is_closed(s, j)) continue;
    int64_t price = 0;
    for (int64_t c = s->column_start[j]; c < s->column_start[j + 1]; c++) {
      int32_t pupil = s->column[c].pupil;
      if (pupil_is_fixed(s, pupil)) continue;
      int64_t needed = s->pupil_price[pupil] - rows->row_cost[rows->row_start[pupil] + s->column[c].row_offset];
      if (needed > price) price = needed;
    }
    s->vacancy_price[j] = price;
  }
}

/* The columns are built when the settling phase first needs them: a warm start whose placing
 * phase leaves no free seat priced (a rematch after one in which nothing changed, or whose
 * changes the placing searches absorbed) never walks a column, and building them is a pass that
 * scatters every pair, a third of such a warm solve. */
static int needs_reverse_index(const network *s) {
  if (s->reverse_index_built) return 0;
  for (int32_t j = 0; j < s->problem->vacancy_count; j++)
    if (s->vacancy_price[j] > 0 && vacancy_has_free_seat(s, j)) return 1;
  return 0;
}

static void reset(network *s) {
  const matcher_problem *problem = s->problem;
  s->broken_promise = 0;
  s->warm_repairs_expected = s->warm_repairs_done = s->warm_repair_pairs = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    s->vacancy_of_pupil[i] = MATCHER_UNPLACED;
    s->pupil_price[i] = 0;
  }
  for (int32_t j = 0; j < problem->vacancy_count; j++) {
    s->vacancy_price[j] = 0;
    s->slot_used[j] = 0;
  }
  memset(&s->stats, 0, sizeof s->stats);
}

matcher_status matcher_network_solve(network *s, const matcher_warm_start *warm, matcher_solution *solution,
                                     matcher_error *error) {
  const matcher_problem *problem = s->problem;
  size_t pupils = (size_t)problem->pupil_count, vacancies = (size_t)problem->vacancy_count;
  memset(solution, 0, sizeof *solution);
  int trust_flags = warm && warm->pupil_changed;
  int warm_abandoned = 0;
  int64_t warm_pairs_wasted = 0;
  for (;;) {
    reset(s);
    s->warm_budget = warm ? WARM_PAIRS_PER_PAIR * (problem->pair_count + problem->pupil_count) : INT64_MAX;
    if (warm) apply_warm_start(s, warm, trust_flags);
    for (int32_t n = 0; n < problem->pupil_count && !warm_start_given_up(s); n++) {
      int32_t pupil = s->placing_order[n];
      if (pupil_is_fixed(s, pupil) || s->vacancy_of_pupil[pupil] != MATCHER_UNPLACED) continue;
      if (warm && !s->needs_check[pupil]) continue; /* cannot gain from a seat: see apply_warm_start */
      int64_t before = s->stats.pairs_scanned;
      if (place_pupil(s, pupil)) {
        s->warm_repairs_done++;
        s->warm_repair_pairs += s->stats.pairs_scanned - before;
      }
    }
    if (warm && !warm_start_given_up(s) && needs_reverse_index(s) && !build_reverse_index(s))
      return matcher_fail(error, MATCHER_NO_MEMORY, "no memory for the reverse index of %lld pairs",
                          (long long)problem->pair_count);
    if (warm && !warm_start_given_up(s)) settle_priced_seats(s);
    if (!warm || !warm_start_given_up(s)) break;
    warm_pairs_wasted += s->stats.pairs_scanned;
    if (s->broken_promise && trust_flags) {
      trust_flags = 0; /* a pupil flagged unchanged did change: check them all */
    } else {
      warm = NULL; /* the repairs cost more than a cold solve: solve cold */
      warm_abandoned = 1;
    }
  }
  s->stats.warm_abandoned = warm_abandoned;
  s->stats.warm_started = warm != NULL;
  s->stats.warm_pairs_wasted = warm_pairs_wasted;
  price_closed_vacancies(s);

  solution->vacancy_of_pupil = malloc((pupils ? pupils : 1) * sizeof *solution->vacancy_of_pupil);
  solution->pupil_price = malloc((pupils ? pupils : 1) * sizeof *solution->pupil_price);
  solution->vacancy_price = malloc((vacancies ? vacancies : 1) * sizeof *solution->vacancy_price);
  if (!solution->vacancy_of_pupil || !solution->pupil_price || !solution->vacancy_price) {
    matcher_solution_free(solution);
    return matcher_fail(error, MATCHER_NO_MEMORY, "no memory for a solution of %zu pupils", pupils);
  }

  /* A placed pupil's pair is tight, so its cost is its price minus its vacancy's: no lookup.
   * Fixed pupils sit outside the network; report them in place, with the price that makes
   * their pair tight. */
  const pair_rows *rows = &s->rows;
  for (int32_t i = 0; i < problem->pupil_count; i++) {
    int32_t vacancy = s->vacancy_of_pupil[i];
    int64_t price = s->pupil_price[i];
    if (pupil_is_fixed(s, i)) {
      vacancy = rows->fixed_vacancy[i];
      price = rows->row_cost[find_pair(s, i, vacancy)] + s->vacancy_price[vacancy];
    }
    if (vacancy == MATCHER_UNPLACED) {
      solution->objective += problem->unplaced_penalty[i];
    } else {
      solution->objective += price - s->vacancy_price[vacancy];
      solution->placed++;
      vacancy = s->caller_vacancy[vacancy];
    }
    solution->vacancy_of_pupil[i] = vacancy;
    solution->pupil_price[i] = price;
  }
  for (size_t j = 0; j < vacancies; j++) solution->vacancy_price[s->caller_vacancy[j]] = s->vacancy_price[j];
  solution->stats = s->stats;
  solution->stats.working_bytes = s->build_bytes;
  return MATCHER_OK;
}

matcher_status matcher_network_build(const matcher_problem *problem, network **built, matcher_error *error) {
  return network_build(problem, 1, 1, built, error);
}

/* Whether the solve will search enough to repay laying the network out for locality: a cold
 * solve does (a tenth to a quarter faster with it), and so may a warm start after a large
 * change. A 1 % change at `flanders` flags a fifth of the pupils (a vacancy added or re-costed
 * changes the rows of all its candidates) and its warm solve is a tenth faster without the
 * layout; at 10 % (seven pupils in ten flagged) both take the same time. Without change flags
 * the size of the change is unknown and every pupil is checked: the layout then too. */
static int needs_locality(const matcher_problem *problem, const matcher_warm_start *warm) {
  if (!warm || !warm->pupil_changed || problem->pupil_count < 0) return 1;
  int64_t changed = 0;
  for (int32_t i = 0; i < problem->pupil_count; i++) changed += warm->pupil_changed[i] != 0;
  return changed * WARM_LAYOUT_SHARE_INVERSE > problem->pupil_count;
}

matcher_status matcher_solve(const matcher_problem *problem, const matcher_warm_start *warm, matcher_solution *solution,
                             matcher_error *error) {
  network *s;
  memset(solution, 0, sizeof *solution);
  matcher_status status = network_build(problem, needs_locality(problem, warm), 0, &s, error);
  if (status != MATCHER_OK) return status;
  status = matcher_network_solve(s, warm, solution, error);
  matcher_network_free(s);
  return status;
}

void matcher_solution_free(matcher_solution *solution) {
  if (!solution) return;
  free(solution->vacancy_of_pupil);
  free(solution->pupil_price);
  free(solution->vacancy_price);
  memset(solution, 0, sizeof *solution);
}
