// lemon_reference.cc: the LEMON NetworkSimplex reference solver behind lemon_reference.h.
// Deliberately independent of libmatcher's code: it validates its input itself and only
// shares the matcher_problem type.

#include "lemon_reference.h"

#include <lemon/network_simplex.h>
#include <lemon/static_graph.h>

#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <new>
#include <utility>
#include <vector>

namespace {

typedef lemon::StaticDigraph Graph;
typedef lemon::NetworkSimplex<Graph, int, int64_t> Simplex;

// NetworkSimplex gives its artificial arcs the cost 2^62 and keeps node potentials as tree-path
// sums on top of that; the sum over pupils of their largest value bounds every such path. Keep
// that bound well below 2^62 so no reduced cost can overflow int64 inside LEMON.
const int64_t kPathCostLimit = (int64_t)1 << 58;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int fail(lemon_reference_result *result, lemon_reference_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

int fail(lemon_reference_result *result, lemon_reference_status status, const char *format, ...) {
  result->status = status;
  va_list args;
  va_start(args, format);
  std::vsnprintf(result->message, sizeof result->message, format, args);
  va_end(args);
  return status;
}

Simplex::PivotRule to_lemon(lemon_pivot_rule rule) {
  switch (rule) {
  case LEMON_PIVOT_FIRST_ELIGIBLE: return Simplex::FIRST_ELIGIBLE;
  case LEMON_PIVOT_BEST_ELIGIBLE: return Simplex::BEST_ELIGIBLE;
  case LEMON_PIVOT_BLOCK_SEARCH: return Simplex::BLOCK_SEARCH;
  case LEMON_PIVOT_CANDIDATE_LIST: return Simplex::CANDIDATE_LIST;
  case LEMON_PIVOT_ALTERING_LIST: return Simplex::ALTERING_LIST;
  }
  return Simplex::BLOCK_SEARCH;
}

// Checks what the network construction relies on; returns OK or fills result.
int validate(const matcher_problem *p, lemon_reference_result *result) {
  if (p->pupil_count < 0 || p->vacancy_count < 0 || p->pair_count < 0 || p->fixed_count < 0)
    return fail(result, LEMON_REFERENCE_INVALID, "negative count");
  if ((p->pupil_count > 0 && !p->unplaced_penalty) || (p->vacancy_count > 0 && !p->seats) ||
      (p->pair_count > 0 && !p->pairs) || (p->fixed_count > 0 && !p->fixed))
    return fail(result, LEMON_REFERENCE_INVALID, "missing array");
  // Nodes and arcs are LEMON ints: pupils + vacancies + sink, pairs + one arc per node.
  int64_t nodes = (int64_t)p->pupil_count + p->vacancy_count + 1;
  if (nodes > INT_MAX / 2 || p->pair_count > INT_MAX - 2 * nodes)
    return fail(result, LEMON_REFERENCE_INVALID, "too many nodes or arcs for LEMON");
  for (int32_t j = 0; j < p->vacancy_count; j++)
    if (p->seats[j] < 0) return fail(result, LEMON_REFERENCE_INVALID, "vacancy %d: negative seats", (int)j);
  std::vector<int64_t> largest(p->unplaced_penalty, p->unplaced_penalty + p->pupil_count);
  for (int32_t i = 0; i < p->pupil_count; i++)
    if (largest[i] < 0 || largest[i] > MATCHER_VALUE_MAX)
      return fail(result, LEMON_REFERENCE_INVALID, "pupil %d: penalty out of range", (int)i);
  for (int64_t k = 0; k < p->pair_count; k++) {
    const matcher_pair &e = p->pairs[k];
    if (e.pupil < 0 || e.pupil >= p->pupil_count || e.vacancy < 0 || e.vacancy >= p->vacancy_count)
      return fail(result, LEMON_REFERENCE_INVALID, "pair %lld: unknown pupil or vacancy", (long long)k);
    if (e.cost < 0 || e.cost > MATCHER_VALUE_MAX)
      return fail(result, LEMON_REFERENCE_INVALID, "pair %lld: cost out of range", (long long)k);
    if (e.cost > largest[e.pupil]) largest[e.pupil] = e.cost;
  }
  int64_t path_bound = 0;
  for (int32_t i = 0; i < p->pupil_count; i++) {
    path_bound += largest[i];
    if (path_bound > kPathCostLimit)
      return fail(result, LEMON_REFERENCE_INVALID, "costs too large for LEMON's int64 potentials");
  }
  for (int64_t k = 0; k < p->fixed_count; k++) {
    const matcher_fixed_pair &f = p->fixed[k];
    if (f.pupil < 0 || f.pupil >= p->pupil_count || f.vacancy < 0 || f.vacancy >= p->vacancy_count)
      return fail(result, LEMON_REFERENCE_INVALID, "fixed pair %lld: unknown pupil or vacancy", (long long)k);
  }
  return LEMON_REFERENCE_OK;
}

int solve(const matcher_problem *p, lemon_pivot_rule rule, lemon_reference_result *result, int32_t *vacancy_of_pupil) {
  if (validate(p, result) != LEMON_REFERENCE_OK) return result->status;
  auto build_start = std::chrono::steady_clock::now();

  const int pupils = p->pupil_count;
  const int vacancies = p->vacancy_count;
  const int sink = pupils + vacancies;
  const int pair_arcs = (int)p->pair_count;

  // StaticDigraph wants its arcs grouped by source node, so the pairs are bucketed by pupil
  // (a counting sort, O(pairs)). Arc numbering, which the maps below rely on:
  //   for each pupil i in order: its pair arcs, then its unplaced arc to the sink;
  //   then vacancy j's arc to the sink, for j = 0..vacancies-1.
  // first_arc[i] is where pupil i's arcs start, so first_arc[i + 1] - 1 is its unplaced arc.
  std::vector<int> first_arc(pupils + 1, 0);
  for (int k = 0; k < pair_arcs; k++) first_arc[p->pairs[k].pupil + 1]++;
  for (int i = 0; i < pupils; i++) first_arc[i + 1] += first_arc[i] + 1;
  std::vector<int> arc_of_pair(pair_arcs);
  {
    std::vector<int> next(first_arc.begin(), first_arc.end() - 1);
    for (int k = 0; k < pair_arcs; k++) arc_of_pair[k] = next[p->pairs[k].pupil]++;
  }
  const int pupil_arc_count = first_arc[pupils];
  const int arc_count = pupil_arc_count + vacancies;

  Graph graph;
  {
    std::vector<std::pair<int, int>> arcs(arc_count);
    for (int k = 0; k < pair_arcs; k++)
      arcs[arc_of_pair[k]] = std::make_pair((int)p->pairs[k].pupil, pupils + (int)p->pairs[k].vacancy);
    for (int i = 0; i < pupils; i++) {
      arcs[first_arc[i + 1] - 1] = std::make_pair(i, sink);
    }
    for (int j = 0; j < vacancies; j++) arcs[pupil_arc_count + j] = std::make_pair(pupils + j, sink);
    graph.build(sink + 1, arcs.begin(), arcs.end());
  }

  // NetworkSimplex copies each map when it is handed over, so every map lives only in its
  // own scope: the peak memory measured is LEMON's own, not this wrapper's.
  Simplex simplex(graph);
  {
    Graph::ArcMap<int64_t> cost(graph, 0);
    for (int k = 0; k < pair_arcs; k++) cost[graph.arc(arc_of_pair[k])] = p->pairs[k].cost;
    for (int i = 0; i < pupils; i++) cost[graph.arc(first_arc[i + 1] - 1)] = p->unplaced_penalty[i];
    simplex.costMap(cost);
  }
  {
    Graph::ArcMap<int> upper(graph, 1);
    for (int j = 0; j < vacancies; j++) upper[graph.arc(pupil_arc_count + j)] = p->seats[j];
    simplex.upperMap(upper);
  }
  {
    Graph::NodeMap<int> supply(graph, 0);
    for (int i = 0; i < pupils; i++) supply[graph.node(i)] = 1;
    supply[graph.node(sink)] = -pupils;
    simplex.supplyMap(supply);
  }
  // A fixed pair is its pair's arc with the flow forced to 1. The arc is found among its
  // pupil's arcs (a scan of that pupil's few pairs).
  if (p->fixed_count > 0) {
    Graph::ArcMap<int> lower(graph, 0);
    for (int64_t k = 0; k < p->fixed_count; k++) {
      const matcher_fixed_pair &f = p->fixed[k];
      int found = -1;
      for (Graph::OutArcIt a(graph, graph.node(f.pupil)); a != lemon::INVALID; ++a)
        if (graph.target(a) == graph.node(pupils + f.vacancy)) found = graph.index(a);
      if (found < 0)
        return fail(result, LEMON_REFERENCE_INVALID, "fixed pair %lld: not an eligible pair", (long long)k);
      lower[graph.arc(found)] += 1;
    }
    simplex.lowerMap(lower);
  }
  result->build_seconds = seconds_since(build_start);

  auto solve_start = std::chrono::steady_clock::now();
  Simplex::ProblemType outcome = simplex.run(to_lemon(rule));
  result->solve_seconds = seconds_since(solve_start);
  if (outcome == Simplex::INFEASIBLE)
    return fail(result, LEMON_REFERENCE_INFEASIBLE, "no feasible flow: the fixed pairs cannot all hold");
  if (outcome != Simplex::OPTIMAL)
    return fail(result, LEMON_REFERENCE_FAILED, "NetworkSimplex returned %d", (int)outcome);

  result->objective = simplex.totalCost();
  result->placed = 0;
  if (vacancy_of_pupil)
    for (int i = 0; i < pupils; i++) vacancy_of_pupil[i] = MATCHER_UNPLACED;
  for (int k = 0; k < pair_arcs; k++) {
    if (simplex.flow(graph.arc(arc_of_pair[k])) > 0) {
      result->placed++;
      if (vacancy_of_pupil) vacancy_of_pupil[p->pairs[k].pupil] = p->pairs[k].vacancy;
    }
  }
  result->status = LEMON_REFERENCE_OK;
  return LEMON_REFERENCE_OK;
}

} // namespace

extern "C" int lemon_reference_solve_assignment(const matcher_problem *problem, lemon_pivot_rule rule,
                                                lemon_reference_result *result, int32_t *vacancy_of_pupil) {
  *result = lemon_reference_result();
  try {
    return solve(problem, rule, result, vacancy_of_pupil);
  } catch (const std::bad_alloc &) {
    return fail(result, LEMON_REFERENCE_NO_MEMORY, "out of memory");
  } catch (...) {
    return fail(result, LEMON_REFERENCE_FAILED, "exception from LEMON");
  }
}

extern "C" int lemon_reference_solve(const matcher_problem *problem, lemon_pivot_rule rule,
                                     lemon_reference_result *result) {
  return lemon_reference_solve_assignment(problem, rule, result, nullptr);
}

extern "C" const char *lemon_pivot_rule_name(lemon_pivot_rule rule) {
  switch (rule) {
  case LEMON_PIVOT_FIRST_ELIGIBLE: return "first eligible";
  case LEMON_PIVOT_BEST_ELIGIBLE: return "best eligible";
  case LEMON_PIVOT_BLOCK_SEARCH: return "block search";
  case LEMON_PIVOT_CANDIDATE_LIST: return "candidate list";
  case LEMON_PIVOT_ALTERING_LIST: return "altering list";
  }
  return "unknown";
}
