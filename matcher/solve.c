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
 * Vacancy j with s_j seats appears once in the search, not s_j times: its assigned pupils
 * are kept in a slot array, and settling j scans all of them at the same distance (the pairs
 * that hold them are tight). Fixed pairs are taken out before the search: their pupils never
 * move and their seats are subtracted.
 *
 * Ties: rows are sorted by vacancy id and the heap orders equal distances by vacancy id, so
 * the outcome depends only on the problem, not on the order its pairs were given in.
 */
#include "matcher.h"
#include "rows.h"

#include <stdlib.h>
#include <string.h>

/* The search state of one solve. Pupil and vacancy arrays are indexed by id. */
typedef struct {
    const matcher_problem *problem;
    pair_rows rows;

    /* the result being built (handed to the caller at the end) */
    int32_t *vacancy_of_pupil;  /* [pupils] vacancy or MATCHER_UNPLACED */
    int64_t *pupil_price;       /* [pupils] u_i */
    int64_t *vacancy_price;     /* [vacancies] p_j */

    /* seats: vacancy j's non-fixed occupants are slot_pupil[slot_start[j] .. + slot_used[j]) */
    int64_t *slot_start;        /* [vacancies + 1] */
    int32_t *slot_used;         /* [vacancies] */
    int32_t *slot_pupil;        /* [sum of capacities] */
    int32_t *slot_of_pupil;     /* [pupils] where pupil i sits in its vacancy's slots */
    uint8_t *price_may_rise;    /* [vacancies] 1 if filling every slot really fills the vacancy */

    /* one search */
    uint32_t search_id;
    uint32_t *labelled_in;      /* [vacancies] search id that last gave j a distance */
    int64_t *distance;          /* [vacancies] valid when labelled_in[j] == search_id */
    int32_t *reached_from;      /* [vacancies] the pupil whose pair gave j its distance */
    int32_t *heap;              /* [vacancies] labelled, unsettled, full vacancies */
    int32_t *heap_position;     /* [vacancies] index in heap, or -1 */
    int32_t heap_size;
    int32_t *settled;           /* [vacancies] vacancies settled by this search */
    int32_t settled_count;
    int32_t *passed;            /* [pupils] pupils this search passed through */
    int32_t passed_count;

    /* the cheapest way found so far to end the current path */
    int64_t best_end;
    int32_t best_end_vacancy;   /* a free vacancy, or -1 */
    int32_t best_end_pupil;     /* a pupil left unplaced, or -1 */

    matcher_stats stats;
} solver;

static int heap_before(const solver *s, int32_t a, int32_t b)
{
    return s->distance[a] < s->distance[b] || (s->distance[a] == s->distance[b] && a < b);
}

static void heap_move_up(solver *s, int32_t index)
{
    int32_t vacancy = s->heap[index];
    while (index > 0) {
        int32_t parent = (index - 1) / 2;
        if (!heap_before(s, vacancy, s->heap[parent]))
            break;
        s->heap[index] = s->heap[parent];
        s->heap_position[s->heap[index]] = index;
        index = parent;
    }
    s->heap[index] = vacancy;
    s->heap_position[vacancy] = index;
}

static void heap_move_down(solver *s, int32_t index)
{
    int32_t vacancy = s->heap[index];
    for (;;) {
        int32_t child = 2 * index + 1;
        if (child >= s->heap_size)
            break;
        if (child + 1 < s->heap_size && heap_before(s, s->heap[child + 1], s->heap[child]))
            child++;
        if (!heap_before(s, s->heap[child], vacancy))
            break;
        s->heap[index] = s->heap[child];
        s->heap_position[s->heap[index]] = index;
        index = child;
    }
    s->heap[index] = vacancy;
    s->heap_position[vacancy] = index;
}

static int32_t heap_pop(solver *s)
{
    int32_t top = s->heap[0];
    s->heap_position[top] = -1;
    if (--s->heap_size > 0) {
        s->heap[0] = s->heap[s->heap_size];
        heap_move_down(s, 0);
    }
    return top;
}

static int vacancy_has_free_seat(const solver *s, int32_t vacancy)
{
    return s->slot_used[vacancy] < s->slot_start[vacancy + 1] - s->slot_start[vacancy];
}

/* A vacancy whose seats are all gone (none, or all fixed) can take nobody: searches skip it,
 * and it gets its price once, at the end (see price_closed_vacancies). */
static int vacancy_is_closed(const solver *s, int32_t vacancy)
{
    return s->slot_start[vacancy + 1] == s->slot_start[vacancy];
}

static void offer_end(solver *s, int64_t length, int32_t vacancy, int32_t pupil)
{
    if (length < s->best_end) {
        s->best_end = length;
        s->best_end_vacancy = vacancy;
        s->best_end_pupil = pupil;
    }
}

/* The search reaches pupil k at distance d (through its own vacancy, or as the source):
 * offer leaving k unplaced as an end, and label the vacancies of k's other pairs. */
static void pass_through_pupil(solver *s, int32_t pupil, int64_t distance_here)
{
    const pair_rows *rows = &s->rows;
    int64_t price = s->pupil_price[pupil];
    int32_t own_vacancy = s->vacancy_of_pupil[pupil];

    s->passed[s->passed_count++] = pupil;
    offer_end(s, distance_here + s->problem->unplaced_penalty[pupil] - price, -1, pupil);

    for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++) {
        int32_t vacancy = rows->row_vacancy[e];
        if (vacancy == own_vacancy || vacancy_is_closed(s, vacancy))
            continue;
        int64_t length = distance_here + rows->row_cost[e] + s->vacancy_price[vacancy] - price;
        if (length >= s->best_end)
            continue; /* cannot lead to a shorter path than one already found */
        int fresh = s->labelled_in[vacancy] != s->search_id;
        if (!fresh && length >= s->distance[vacancy])
            continue;
        s->labelled_in[vacancy] = s->search_id;
        s->distance[vacancy] = length;
        s->reached_from[vacancy] = pupil;
        if (vacancy_has_free_seat(s, vacancy)) {
            offer_end(s, length, vacancy, -1);
        } else if (fresh) {
            s->heap_position[vacancy] = s->heap_size;
            s->heap[s->heap_size++] = vacancy;
            heap_move_up(s, s->heap_size - 1);
        } else {
            heap_move_up(s, s->heap_position[vacancy]);
        }
    }
    s->stats.pairs_scanned += rows->row_start[pupil + 1] - rows->row_start[pupil];
}

static void seat_pupil(solver *s, int32_t pupil, int32_t vacancy)
{
    int32_t slot = s->slot_used[vacancy]++;
    s->slot_pupil[s->slot_start[vacancy] + slot] = pupil;
    s->slot_of_pupil[pupil] = slot;
    s->vacancy_of_pupil[pupil] = vacancy;
}

static void unseat_pupil(solver *s, int32_t pupil)
{
    int32_t vacancy = s->vacancy_of_pupil[pupil];
    int32_t slot = s->slot_of_pupil[pupil];
    int32_t last = --s->slot_used[vacancy];
    int32_t moved = s->slot_pupil[s->slot_start[vacancy] + last];
    s->slot_pupil[s->slot_start[vacancy] + slot] = moved;
    s->slot_of_pupil[moved] = slot;
    s->vacancy_of_pupil[pupil] = MATCHER_UNPLACED;
}

/* Places pupil `source` (currently unplaced, not fixed) optimally, re-arranging others along
 * the shortest path. */
static void place_pupil(solver *s, int32_t source)
{
    const pair_rows *rows = &s->rows;
    int64_t penalty = s->problem->unplaced_penalty[source];

    /* The highest price the source can have with all its reduced costs >= 0: its first step
     * then has length 0, and a pupil whose cheapest vacancy has a free seat is done after
     * this one row scan. */
    int64_t price = penalty;
    for (int64_t e = rows->row_start[source]; e < rows->row_start[source + 1]; e++) {
        int32_t vacancy = rows->row_vacancy[e];
        int64_t through = rows->row_cost[e] + s->vacancy_price[vacancy];
        if (through < price && !vacancy_is_closed(s, vacancy))
            price = through;
    }
    s->pupil_price[source] = price;

    s->search_id++;
    s->stats.searches++;
    s->heap_size = 0;
    s->settled_count = 0;
    s->passed_count = 0;
    s->best_end = INT64_MAX;
    s->best_end_vacancy = -1;
    s->best_end_pupil = -1;

    pass_through_pupil(s, source, 0);
    while (s->heap_size > 0 && s->distance[s->heap[0]] < s->best_end) {
        int32_t vacancy = heap_pop(s);
        s->settled[s->settled_count++] = vacancy;
        int64_t distance_here = s->distance[vacancy];
        int64_t first = s->slot_start[vacancy];
        for (int32_t slot = 0; slot < s->slot_used[vacancy]; slot++)
            pass_through_pupil(s, s->slot_pupil[first + slot], distance_here);
    }
    s->stats.vacancies_scanned += s->settled_count;
    for (int32_t h = 0; h < s->heap_size; h++)
        s->heap_position[s->heap[h]] = -1;

    /* Prices: everything the search settled moves up by how much closer than the end it was.
     * This keeps every reduced cost >= 0 and makes the whole path tight. */
    int64_t end = s->best_end;
    for (int32_t n = 0; n < s->settled_count; n++) {
        int32_t vacancy = s->settled[n];
        s->vacancy_price[vacancy] += end - s->distance[vacancy];
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
        if (previous_vacancy != MATCHER_UNPLACED)
            unseat_pupil(s, pupil);
        if (next_vacancy != MATCHER_UNPLACED)
            seat_pupil(s, pupil, next_vacancy);
        if (pupil == source)
            break;
        next_vacancy = previous_vacancy;
        pupil = s->reached_from[previous_vacancy];
    }
}

static void solver_free(solver *s)
{
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
    free(s->heap);
    free(s->heap_position);
    free(s->settled);
    free(s->passed);
}

static void *allocate(solver *s, size_t count, size_t size)
{
    s->stats.working_bytes += count * size;
    return calloc(count ? count : 1, size);
}

/* Allocates the search state and the seat slots. A vacancy's capacity for non-fixed pupils is
 * its seats minus fixed ones, but never more than the pupils who could take it: a vacancy with
 * more seats than candidates can never fill, so its price never has to rise. */
static matcher_status solver_init(solver *s, const matcher_problem *problem, matcher_error *error)
{
    memset(s, 0, sizeof *s);
    s->problem = problem;
    matcher_status status = pair_rows_build(problem, &s->rows, error);
    if (status != MATCHER_OK)
        return status;
    s->stats.working_bytes = s->rows.bytes;

    size_t pupils = (size_t)problem->pupil_count, vacancies = (size_t)problem->vacancy_count;
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
    s->heap = allocate(s, vacancies, sizeof *s->heap);
    s->heap_position = allocate(s, vacancies, sizeof *s->heap_position);
    s->settled = allocate(s, vacancies, sizeof *s->settled);
    s->passed = allocate(s, pupils, sizeof *s->passed);
    if (!s->vacancy_of_pupil || !s->pupil_price || !s->vacancy_price || !s->slot_start ||
        !s->slot_used || !s->slot_of_pupil || !s->price_may_rise || !s->labelled_in ||
        !s->distance || !s->reached_from || !s->heap || !s->heap_position || !s->settled ||
        !s->passed)
        goto no_memory;

    /* Candidates per vacancy, counted in slot_used for now. */
    const pair_rows *rows = &s->rows;
    for (int32_t i = 0; i < problem->pupil_count; i++)
        if (rows->fixed_vacancy[i] == MATCHER_UNPLACED)
            for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++)
                s->slot_used[rows->row_vacancy[e]]++;
    for (int32_t j = 0; j < problem->vacancy_count; j++) {
        int64_t free_seats = (int64_t)problem->seats[j] - rows->fixed_taken[j];
        int64_t capacity = free_seats < s->slot_used[j] ? free_seats : s->slot_used[j];
        s->price_may_rise[j] = free_seats <= s->slot_used[j];
        s->slot_start[j + 1] = s->slot_start[j] + capacity;
        s->slot_used[j] = 0;
        s->heap_position[j] = -1;
    }
    s->slot_pupil = allocate(s, (size_t)s->slot_start[vacancies], sizeof *s->slot_pupil);
    if (!s->slot_pupil)
        goto no_memory;

    for (int32_t i = 0; i < problem->pupil_count; i++)
        s->vacancy_of_pupil[i] = MATCHER_UNPLACED;
    return MATCHER_OK;

no_memory:
    solver_free(s);
    return matcher_fail(error, MATCHER_NO_MEMORY, "no memory for a solver of %d pupils and %d vacancies",
                        problem->pupil_count, problem->vacancy_count);
}

/* Does every pair of pupil i (seated at its vacancy with a tight price) have reduced cost >= 0,
 * and is its price within its penalty? */
static int pupil_prices_hold(const solver *s, int32_t pupil)
{
    const pair_rows *rows = &s->rows;
    int64_t price = s->pupil_price[pupil];
    if (price > s->problem->unplaced_penalty[pupil])
        return 0;
    for (int64_t e = rows->row_start[pupil]; e < rows->row_start[pupil + 1]; e++)
        if (rows->row_cost[e] + s->vacancy_price[rows->row_vacancy[e]] < price &&
            !vacancy_is_closed(s, rows->row_vacancy[e]))
            return 0;
    return 1;
}

/* A closed vacancy is full, so any price >= 0 is allowed there; the least one that keeps the
 * reduced cost of every pair into it >= 0 is the highest pupil price minus pair cost. */
static void price_closed_vacancies(solver *s)
{
    const pair_rows *rows = &s->rows;
    for (int32_t j = 0; j < s->problem->vacancy_count; j++)
        if (vacancy_is_closed(s, j))
            s->vacancy_price[j] = 0;
    for (int32_t i = 0; i < s->problem->pupil_count; i++) {
        if (rows->fixed_vacancy[i] != MATCHER_UNPLACED)
            continue;
        for (int64_t e = rows->row_start[i]; e < rows->row_start[i + 1]; e++) {
            int32_t vacancy = rows->row_vacancy[e];
            int64_t needed = s->pupil_price[i] - rows->row_cost[e];
            if (vacancy_is_closed(s, vacancy) && needed > s->vacancy_price[vacancy])
                s->vacancy_price[vacancy] = needed;
        }
    }
}

/* Sets the price of every seated pupil of vacancy j to make its pair tight. */
static void tighten_seated_pupils(solver *s, int32_t vacancy)
{
    for (int32_t slot = 0; slot < s->slot_used[vacancy]; slot++) {
        int32_t pupil = s->slot_pupil[s->slot_start[vacancy] + slot];
        int64_t e = pair_rows_find(&s->rows, pupil, vacancy);
        s->pupil_price[pupil] = s->rows.row_cost[e] + s->vacancy_price[vacancy];
    }
}

/* Warm start: keep what still holds of the previous placements and prices, so that only the
 * pupils concerned by a change search again. A vacancy price may stay positive only if the
 * vacancy is full; a kept placement must be tight and leave all of the pupil's reduced costs
 * >= 0. Undoing a placement can free a seat, which forces that vacancy's price to 0, which can
 * break another pupil's reduced cost: so repeat until nothing changes. Each round is one pass
 * over the pairs; if the hint is so far off that this does not settle quickly, start cold. */
enum { WARM_REPAIR_ROUNDS = 16 };

static void apply_warm_start(solver *s, const matcher_warm_start *warm)
{
    const matcher_problem *problem = s->problem;
    const pair_rows *rows = &s->rows;

    for (int32_t j = 0; j < problem->vacancy_count; j++) {
        int64_t price = warm->vacancy_price ? warm->vacancy_price[j] : 0;
        s->vacancy_price[j] = (price > 0 && price <= MATCHER_VALUE_MAX) ? price : 0;
    }
    if (warm->vacancy_of_pupil)
        for (int32_t i = 0; i < problem->pupil_count; i++) {
            int32_t vacancy = warm->vacancy_of_pupil[i];
            if (rows->fixed_vacancy[i] != MATCHER_UNPLACED || vacancy < 0 ||
                vacancy >= problem->vacancy_count)
                continue;
            if (pair_rows_find(rows, i, vacancy) < 0 || !vacancy_has_free_seat(s, vacancy)) {
                s->stats.repaired++;
                continue;
            }
            seat_pupil(s, i, vacancy);
        }

    int changed = 1;
    for (int round = 0; changed && round < WARM_REPAIR_ROUNDS; round++) {
        changed = 0;
        for (int32_t j = 0; j < problem->vacancy_count; j++)
            if (s->vacancy_price[j] > 0 && (vacancy_has_free_seat(s, j) || !s->price_may_rise[j]))
                s->vacancy_price[j] = 0;
        for (int32_t j = 0; j < problem->vacancy_count; j++)
            tighten_seated_pupils(s, j);
        for (int32_t i = 0; i < problem->pupil_count; i++)
            if (s->vacancy_of_pupil[i] != MATCHER_UNPLACED && !pupil_prices_hold(s, i)) {
                unseat_pupil(s, i);
                s->stats.repaired++;
                changed = 1;
            }
    }
    if (changed) { /* did not settle: forget the hint */
        for (int32_t i = 0; i < problem->pupil_count; i++)
            if (s->vacancy_of_pupil[i] != MATCHER_UNPLACED)
                unseat_pupil(s, i);
        for (int32_t j = 0; j < problem->vacancy_count; j++)
            s->vacancy_price[j] = 0;
    }
}

matcher_status matcher_solve(const matcher_problem *problem, const matcher_warm_start *warm,
                             matcher_solution *solution, matcher_error *error)
{
    solver s;
    memset(solution, 0, sizeof *solution);
    matcher_status status = solver_init(&s, problem, error);
    if (status != MATCHER_OK)
        return status;

    if (warm)
        apply_warm_start(&s, warm);
    for (int32_t i = 0; i < problem->pupil_count; i++)
        if (s.rows.fixed_vacancy[i] == MATCHER_UNPLACED && s.vacancy_of_pupil[i] == MATCHER_UNPLACED)
            place_pupil(&s, i);
    price_closed_vacancies(&s);

    /* Fixed pupils sit outside the network; report them in place, with the price that makes
     * their pair tight, and count everything into the objective. */
    int64_t objective = 0;
    int32_t placed = 0;
    for (int32_t i = 0; i < problem->pupil_count; i++) {
        int32_t fixed = s.rows.fixed_vacancy[i];
        if (fixed != MATCHER_UNPLACED) {
            s.vacancy_of_pupil[i] = fixed;
            s.pupil_price[i] = s.rows.row_cost[pair_rows_find(&s.rows, i, fixed)] + s.vacancy_price[fixed];
        }
        int32_t vacancy = s.vacancy_of_pupil[i];
        if (vacancy == MATCHER_UNPLACED) {
            objective += problem->unplaced_penalty[i];
        } else {
            objective += s.rows.row_cost[pair_rows_find(&s.rows, i, vacancy)];
            placed++;
        }
    }

    solution->vacancy_of_pupil = s.vacancy_of_pupil;
    solution->pupil_price = s.pupil_price;
    solution->vacancy_price = s.vacancy_price;
    solution->objective = objective;
    solution->placed = placed;
    solution->stats = s.stats;
    s.vacancy_of_pupil = NULL;
    s.pupil_price = NULL;
    s.vacancy_price = NULL;
    solver_free(&s);
    return MATCHER_OK;
}

void matcher_solution_free(matcher_solution *solution)
{
    if (!solution)
        return;
    free(solution->vacancy_of_pupil);
    free(solution->pupil_price);
    free(solution->vacancy_price);
    memset(solution, 0, sizeof *solution);
}
