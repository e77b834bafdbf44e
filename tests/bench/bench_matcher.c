/* bench_matcher.c: the libmatcher benchmark (program bench-matcher). For each instance size it
 * generates a realistic instance in-process (clients/tools/generator.h), then races libmatcher
 * against LEMON's NetworkSimplex and measures the warm start, each solver in its own forked
 * child so that peak memory (VmHWM) belongs to one solver only. It prints one aligned table per
 * size with the targets next to the ratios, checks that all objectives agree and that
 * matcher_verify proves our solutions, and exits non-zero on any mismatch.
 *
 *   bench-matcher [--quick] [--first-eligible] [--seed N] [--share F] [size...]
 *
 * Sizes: antwerp, flanders, germany (default all three; --quick: antwerp and flanders).
 * Targets (from the project brief): total solve time <= 0.5x LEMON at flanders and <= 0.1x at
 * germany; warm <= 0.1x cold after a 0.1 % and a 1 % local change (solve time, each the fastest
 * of three, matcher_solve in one call as the daemon pays it, and pairs scanned, with and
 * without change flags), and after a 1 % scattered one (the "warm start after a 1 % change");
 * a 10 % local change is shown without a target;
 * peak memory <= 0.5x LEMON's. --share F measures that one local share instead of the three.
 * The changed instance's pairs are put in (pupil, vacancy) order first, as the daemon gives them.
 * A missed target is reported, not fatal: only wrong answers fail the run. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "generator.h"
#include "test_problem.h"
#include "instance.h"
#include "lemon_reference.h"
#include "matcher.h"
#include "perturb.h"
#include "../../daemon/lp_proc_status.h"

/* ---- measuring ---- */

/* CPU time of the calling thread: what a solve costs, without the time it waited for a core
 * the other users of a shared machine held. */
static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A forked child inherits its parent's high-water mark; writing 5 to clear_refs resets it to
 * the current RSS, so the child's VmHWM is its own peak. Returns false where that is not
 * possible (old kernels, restricted /proc): the baseline is then the inherited mark. */
static bool reset_peak_memory(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  bool done = write(fd, "5", 1) == 1;
  close(fd);
  return done;
}

/* What one child measured, sent back through a pipe. */
typedef struct {
  bool ok;
  char message[256];
  double build_seconds, solve_seconds, verify_seconds;
  double
      verify_best_seconds; /* cold: the fastest of VERIFY_REPEATS matcher_verify calls (the proof alone, warm caches) */
  int64_t objective;
  int32_t placed;
  int64_t baseline_bytes; /* RSS when the child started: the instance itself */
  int64_t peak_bytes;     /* VmHWM after solving (before verifying, which adds its own per-pupil arrays) */
  size_t working_bytes;   /* libmatcher's own count */
  /* Warm-start child only. */
  int64_t changes;
  int64_t perturbed_pairs;
  double cold_build_seconds, cold_solve_seconds, warm_build_seconds, warm_solve_seconds;
  int64_t cold_objective, warm_objective;
  int64_t warm_searches, cold_searches, repaired;
  int32_t warm_abandoned; /* the warm start gave up for a cold solve (matcher_stats) */
  int64_t warm_pairs_wasted, cold_pairs_scanned, warm_pairs_scanned;
  int64_t reverse_searches, reverse_phases, priced_vacancies, priced_filled;
  /* The same warm start without its change flags, as the daemon's rematch calls it. */
  double unflagged_solve_seconds;
  /* matcher_solve in one call, as the daemon's rematch makes it (its own network layout). */
  double cold_direct_seconds, warm_direct_seconds;
  double cold_direct_cpu_seconds, warm_direct_cpu_seconds; /* the same, in the thread's CPU time */
  int64_t unflagged_objective, unflagged_pairs_scanned;
  int32_t unflagged_abandoned;
} report;

typedef void (*child_job)(const matcher_problem *problem, void *context, report *out);

/* Runs job in a forked child and collects its report. A child that dies is a failed report. */
static report run_in_child(child_job job, const matcher_problem *problem, void *context) {
  report result;
  memset(&result, 0, sizeof result);
  int channel[2];
  if (pipe(channel) != 0) {
    snprintf(result.message, sizeof result.message, "pipe: %s", strerror(errno));
    return result;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    snprintf(result.message, sizeof result.message, "fork: %s", strerror(errno));
    close(channel[0]);
    close(channel[1]);
    return result;
  }
  if (child == 0) {
    close(channel[0]);
    report mine;
    memset(&mine, 0, sizeof mine);
    bool reset = reset_peak_memory();
    mine.baseline_bytes = reset ? lp_proc_status_bytes(0, "VmRSS") : lp_proc_status_bytes(0, "VmHWM");
    job(problem, context, &mine);
    if (mine.peak_bytes == 0) mine.peak_bytes = lp_proc_status_bytes(0, "VmHWM");
    const char *bytes = (const char *)&mine;
    size_t left = sizeof mine;
    while (left > 0) {
      ssize_t written = write(channel[1], bytes, left);
      if (written <= 0) _exit(3);
      bytes += written;
      left -= (size_t)written;
    }
    _exit(0);
  }
  close(channel[1]);
  char *bytes = (char *)&result;
  size_t got = 0;
  while (got < sizeof result) {
    ssize_t n = read(channel[0], bytes + got, sizeof result - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(channel[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (got != sizeof result) {
    memset(&result, 0, sizeof result);
    snprintf(result.message, sizeof result.message, "child died (%s %d)", WIFSIGNALED(status) ? "signal" : "exit",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  return result;
}

/* ---- the children ---- */

/* Solves with a network, verifies, and reports. Returns false (with the message) on failure;
 * on success *solution must be freed by the caller. */
static bool matcher_timed_solve(const matcher_problem *problem, const matcher_warm_start *warm,
                                matcher_solution *solution, double *build_seconds, double *solve_seconds, report *out) {
  matcher_error error = {{0}};
  double start = now_seconds();
  matcher_network *network = NULL;
  matcher_status status = matcher_network_build(problem, &network, &error);
  double built = now_seconds();
  if (status == MATCHER_OK) status = matcher_network_solve(network, warm, solution, &error);
  double solved = now_seconds();
  matcher_network_free(network);
  if (status != MATCHER_OK) {
    snprintf(out->message, sizeof out->message, "matcher: %s: %s", matcher_status_name(status), error.message);
    return false;
  }
  *build_seconds = built - start;
  *solve_seconds = solved - built;
  return true;
}

static bool verified(const matcher_problem *problem, const matcher_solution *solution, const char *what, report *out) {
  matcher_error error = {{0}};
  double start = now_seconds();
  matcher_status status = matcher_verify(problem, solution, &error);
  out->verify_seconds += now_seconds() - start;
  if (status != MATCHER_OK) {
    snprintf(out->message, sizeof out->message, "matcher_verify (%s): %s: %s", what, matcher_status_name(status),
             error.message);
    return false;
  }
  return true;
}

/* matcher_verify is timed this often on the cold solution: its figure is a few ms, so one call is noise. */
#define VERIFY_REPEATS 5

static void cold_job(const matcher_problem *problem, void *context, report *out) {
  (void)context;
  matcher_solution solution;
  if (!matcher_timed_solve(problem, NULL, &solution, &out->build_seconds, &out->solve_seconds, out)) return;
  out->objective = solution.objective;
  out->placed = solution.placed;
  out->working_bytes = solution.stats.working_bytes;
  /* The solver's peak, before matcher_verify adds its own per-pupil and per-vacancy arrays. */
  out->peak_bytes = lp_proc_status_bytes(0, "VmHWM");
  out->ok = verified(problem, &solution, "cold", out);
  out->verify_best_seconds = out->verify_seconds;
  for (int r = 1; r < VERIFY_REPEATS && out->ok; r++) {
    matcher_error error;
    double start = now_seconds();
    out->ok = matcher_verify(problem, &solution, &error) == MATCHER_OK;
    double took = now_seconds() - start;
    if (took < out->verify_best_seconds) out->verify_best_seconds = took;
  }
  matcher_solution_free(&solution);
}

static void lemon_job(const matcher_problem *problem, void *context, report *out) {
  lemon_pivot_rule rule = *(const lemon_pivot_rule *)context;
  lemon_reference_result result;
  int status = lemon_reference_solve(problem, rule, &result);
  if (status != LEMON_REFERENCE_OK) {
    snprintf(out->message, sizeof out->message, "LEMON: %s", result.message);
    return;
  }
  out->build_seconds = result.build_seconds;
  out->solve_seconds = result.solve_seconds;
  out->objective = result.objective;
  out->placed = result.placed;
  out->ok = true;
}

typedef struct {
  double share;
  test_perturb_style style;
  uint64_t seed;
} warm_settings;

/* Solves `repeats` times on one network and keeps the fastest solve (the machine is shared:
 * the minimum is the figure least disturbed by others); the last solution stays in *solution. */
static bool fastest_solve(const matcher_problem *problem, const matcher_warm_start *warm, int repeats,
                          matcher_solution *solution, double *build_seconds, double *solve_seconds, report *out) {
  if (!matcher_timed_solve(problem, warm, solution, build_seconds, solve_seconds, out)) return false;
  for (int r = 1; r < repeats; r++) {
    matcher_solution again;
    double build, solve;
    if (!matcher_timed_solve(problem, warm, &again, &build, &solve, out)) {
      matcher_solution_free(solution);
      return false;
    }
    if (build < *build_seconds) *build_seconds = build;
    if (solve < *solve_seconds) *solve_seconds = solve;
    matcher_solution_free(solution);
    *solution = again;
  }
  return true;
}

enum { WARM_REPEATS = 3 };

/* One matcher_solve call (build, solve and free); *seconds and *cpu are its wall and CPU time.
 * False on failure. */
static bool timed_direct_solve(const matcher_problem *problem, const matcher_warm_start *warm, double *seconds,
                               double *cpu) {
  matcher_solution solution;
  double start = now_seconds(), start_cpu = cpu_seconds();
  matcher_status status = matcher_solve(problem, warm, &solution, NULL);
  *seconds = now_seconds() - start;
  *cpu = cpu_seconds() - start_cpu;
  if (status != MATCHER_OK) return false;
  matcher_solution_free(&solution);
  return true;
}

static void keep_fastest(double *fastest, double candidate) {
  if (*fastest < 0 || candidate < *fastest) *fastest = candidate;
}

static int compare_pupil_vacancy(const void *left, const void *right) {
  const matcher_pair *a = left, *b = right;
  if (a->pupil != b->pupil) return a->pupil < b->pupil ? -1 : 1;
  return (a->vacancy > b->vacancy) - (a->vacancy < b->vacancy);
}

/* Yesterday's solution, a night's changes, then today's problem solved cold and warm (with and
 * without the change flags), each the fastest of WARM_REPEATS. */
static void warm_job(const matcher_problem *problem, void *context, report *out) {
  const warm_settings *settings = context;
  matcher_solution yesterday;
  double build, solve;
  if (!matcher_timed_solve(problem, NULL, &yesterday, &build, &solve, out)) return;
  test_perturbation tonight;
  test_perturb(problem, &yesterday, settings->share, settings->style, settings->seed, &tonight);
  matcher_solution_free(&yesterday);
  /* The perturbation appends new pairs; the daemon's come grouped per pupil, vacancies ascending. */
  qsort(tonight.changed.pairs, (size_t)tonight.changed.problem.pair_count, sizeof *tonight.changed.pairs,
        compare_pupil_vacancy);
  const matcher_problem *today = &tonight.changed.problem;
  out->changes = tonight.changes;
  out->perturbed_pairs = today->pair_count;

  matcher_solution cold, warm, unflagged;
  matcher_warm_start without_flags = tonight.warm;
  without_flags.pupil_changed = NULL;
  double unflagged_build;
  bool ok = fastest_solve(today, NULL, WARM_REPEATS, &cold, &out->cold_build_seconds, &out->cold_solve_seconds, out);
  if (ok) {
    ok = fastest_solve(today, &tonight.warm, WARM_REPEATS, &warm, &out->warm_build_seconds, &out->warm_solve_seconds,
                       out);
    if (ok && !fastest_solve(today, &without_flags, WARM_REPEATS, &unflagged, &unflagged_build,
                             &out->unflagged_solve_seconds, out)) {
      matcher_solution_free(&warm);
      ok = false;
    }
    if (ok) {
      /* Alternating cold and warm, so that a burst of load on the shared machine hits both. */
      out->cold_direct_seconds = out->warm_direct_seconds = -1;
      out->cold_direct_cpu_seconds = out->warm_direct_cpu_seconds = -1;
      for (int r = 0; r < WARM_REPEATS; r++) {
        double seconds, cpu;
        if (timed_direct_solve(today, NULL, &seconds, &cpu)) {
          keep_fastest(&out->cold_direct_seconds, seconds);
          keep_fastest(&out->cold_direct_cpu_seconds, cpu);
        }
        if (timed_direct_solve(today, &tonight.warm, &seconds, &cpu)) {
          keep_fastest(&out->warm_direct_seconds, seconds);
          keep_fastest(&out->warm_direct_cpu_seconds, cpu);
        }
      }
      out->warm_pairs_scanned = warm.stats.pairs_scanned;
      out->reverse_searches = warm.stats.reverse_searches;
      out->reverse_phases = warm.stats.reverse_phases;
      out->priced_vacancies = warm.stats.warm_priced_vacancies;
      out->priced_filled = warm.stats.warm_priced_filled;
      out->unflagged_objective = unflagged.objective;
      out->unflagged_pairs_scanned = unflagged.stats.pairs_scanned + unflagged.stats.warm_pairs_wasted;
      out->unflagged_abandoned = unflagged.stats.warm_abandoned;
      out->cold_objective = cold.objective;
      out->warm_objective = warm.objective;
      out->cold_searches = cold.stats.searches;
      out->warm_searches = warm.stats.searches;
      out->repaired = warm.stats.repaired;
      out->warm_abandoned = warm.stats.warm_abandoned;
      out->warm_pairs_wasted = warm.stats.warm_pairs_wasted;
      out->cold_pairs_scanned = cold.stats.pairs_scanned;
      out->ok = verified(today, &cold, "cold, perturbed", out) && verified(today, &warm, "warm, perturbed", out) &&
                verified(today, &unflagged, "warm without change flags, perturbed", out);
      matcher_solution_free(&warm);
      matcher_solution_free(&unflagged);
    }
    matcher_solution_free(&cold);
  }
  test_perturbation_free(&tonight);
}

/* ---- the table ---- */

static double mib(int64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* "  0.12x  target <= 0.50x  ok" */
static void print_ratio(const char *label, double ratio, double target) {
  printf("  %-40s %8.3fx", label, ratio);
  if (target > 0) printf("   target <= %.2fx   %s", target, ratio <= target ? "met" : "MISSED");
  printf("\n");
}

static void print_solver_row(const char *name, const report *r, int64_t pairs) {
  int64_t extra = r->peak_bytes - r->baseline_bytes;
  printf("  %-22s %9.3f %9.3f %9.3f %10.1f %10.1f %9.1f %20lld %9d\n", name, r->build_seconds, r->solve_seconds,
         r->build_seconds + r->solve_seconds, mib(extra), mib(r->peak_bytes),
         pairs ? (double)extra / (double)pairs : 0.0, (long long)r->objective, r->placed);
}

/* One warm-start block; target 0 means none. Returns false on failure or mismatch. */
static bool print_warm(const report *warm, const char *style, double share, double target) {
  if (!warm->ok) {
    printf("  warm start (%s) FAILED: %s\n", style, warm->message);
    return false;
  }
  printf("  warm start after a %g%% %s change (%lld changes, %lld pairs now):\n", share * 100, style,
         (long long)warm->changes, (long long)warm->perturbed_pairs);
  printf("  %-40s %8.3f s build + %8.3f s solve, %lld searches\n", "cold solve of the changed instance",
         warm->cold_build_seconds, warm->cold_solve_seconds, (long long)warm->cold_searches);
  printf("  %-40s %8.3f s build + %8.3f s solve, %lld searches, %lld repaired%s\n",
         "warm solve of the changed instance", warm->warm_build_seconds, warm->warm_solve_seconds,
         (long long)warm->warm_searches, (long long)warm->repaired,
         warm->warm_abandoned ? " (repairs projected to outgrow a cold solve: gave up, solved cold)" : "");
  if (warm->warm_abandoned)
    printf("  %-40s %8.3f of the cold solve's pair scans\n", "scans wasted before giving up",
           (double)warm->warm_pairs_wasted / (double)(warm->cold_pairs_scanned ? warm->cold_pairs_scanned : 1));
  else
    printf("  %-40s %lld priced free vacancies, %lld filled while placing, %lld reverse searches run for "
           "%lld seats\n",
           "warm repairs", (long long)warm->priced_vacancies, (long long)warm->priced_filled,
           (long long)warm->reverse_phases, (long long)warm->reverse_searches);
  double cold_pairs = (double)(warm->cold_pairs_scanned ? warm->cold_pairs_scanned : 1);
  print_ratio("warm/cold (solve)", warm->warm_solve_seconds / warm->cold_solve_seconds, target);
  print_ratio("warm/cold (pairs scanned by searches)",
              (double)(warm->warm_pairs_scanned + warm->warm_pairs_wasted) / cold_pairs, target);
  print_ratio(
      "warm/cold (network build+solve)",
      (warm->warm_build_seconds + warm->warm_solve_seconds) / (warm->cold_build_seconds + warm->cold_solve_seconds), 0);
  printf("  %-40s %8.3f s cold, %8.3f s warm (CPU: %.3f s, %.3f s)\n", "matcher_solve (one call, as the daemon)",
         warm->cold_direct_seconds, warm->warm_direct_seconds, warm->cold_direct_cpu_seconds,
         warm->warm_direct_cpu_seconds);
  print_ratio("warm/cold (matcher_solve)", warm->warm_direct_seconds / warm->cold_direct_seconds, target);
  print_ratio("warm/cold (matcher_solve, CPU time)", warm->warm_direct_cpu_seconds / warm->cold_direct_cpu_seconds,
              target);
  printf("  %-40s %8.3f s solve%s\n", "warm, no change flags (daemon's rematch)", warm->unflagged_solve_seconds,
         warm->unflagged_abandoned ? " (gave up, solved cold)" : "");
  print_ratio("warm no flags/cold (solve)", warm->unflagged_solve_seconds / warm->cold_solve_seconds, target);
  print_ratio("warm no flags/cold (pairs scanned by searches)", (double)warm->unflagged_pairs_scanned / cold_pairs,
              target);
  if (warm->warm_objective != warm->cold_objective || warm->unflagged_objective != warm->cold_objective) {
    printf("  MISMATCH: warm %lld, warm without flags %lld, cold %lld\n", (long long)warm->warm_objective,
           (long long)warm->unflagged_objective, (long long)warm->cold_objective);
    return false;
  }
  printf("  %-40s %lld (both proven optimal by matcher_verify)\n", "objective warm = cold",
         (long long)warm->warm_objective);
  return true;
}

enum { SHARES_MAX = 3 };

typedef struct {
  bool quick, first_eligible;
  uint64_t seed;
  double shares[SHARES_MAX]; /* local changes measured, each a share of the pupils and vacancies */
  int share_count;
} options;

/* The warm-start target applies to small changes (the nightly 1 % and less). */
static double warm_target(double share) { return share <= 0.01 + 1e-12 ? 0.1 : 0; }

/* Targets per size: solve time vs LEMON (0 = none at this size). */
static double time_target(const char *size) {
  if (strcmp(size, "flanders") == 0) return 0.5;
  if (strcmp(size, "germany") == 0) return 0.1;
  return 0;
}

/* Runs one size; returns false on a wrong answer or a failed child. */
static bool bench_size(const char *size, const options *opt) {
  generator_params params;
  if (generator_params_for(size, &params) != 0) {
    fprintf(stderr, "bench-matcher: unknown size '%s' (antwerp, flanders, germany)\n", size);
    return false;
  }
  double start = now_seconds();
  instance generated;
  if (generator_make(&params, opt->seed, &generated) != 0) {
    fprintf(stderr, "bench-matcher: generating %s failed\n", size);
    return false;
  }
  double generated_seconds = now_seconds() - start;
  const matcher_problem *problem = &generated.problem;
  int64_t pairs = problem->pair_count;
  printf("\n== %s: %d pupils, %d vacancies, %lld eligible pairs, %lld fixed (seed %llu, "
         "generated in %.2f s, RSS %.1f MiB)\n",
         size, problem->pupil_count, problem->vacancy_count, (long long)pairs, (long long)problem->fixed_count,
         (unsigned long long)opt->seed, generated_seconds, mib(lp_proc_status_bytes(0, "VmRSS")));

  report ours = run_in_child(cold_job, problem, NULL);
  lemon_pivot_rule candidate = LEMON_PIVOT_CANDIDATE_LIST, first = LEMON_PIVOT_FIRST_ELIGIBLE;
  report lemon = run_in_child(lemon_job, problem, &candidate);
  report lemon_first;
  memset(&lemon_first, 0, sizeof lemon_first);
  if (opt->first_eligible) lemon_first = run_in_child(lemon_job, problem, &first);
  report warm_local[SHARES_MAX];
  for (int k = 0; k < opt->share_count; k++) {
    warm_settings local_settings = {opt->shares[k], TEST_PERTURB_LOCAL, opt->seed + 1};
    warm_local[k] = run_in_child(warm_job, problem, &local_settings);
  }
  warm_settings scattered_settings = {0.01, TEST_PERTURB_SCATTERED, opt->seed + 1};
  report warm_scattered = run_in_child(warm_job, problem, &scattered_settings);

  bool ok = true;
  printf("  %-22s %9s %9s %9s %10s %10s %9s %20s %9s\n", "solver", "build s", "solve s", "total s", "+peak MiB",
         "peak MiB", "B/pair", "objective", "placed");
  const report *rows[] = {&ours, &lemon, opt->first_eligible ? &lemon_first : NULL};
  const char *names[] = {"libmatcher (cold)", "LEMON candidate list", "LEMON first eligible"};
  for (int r = 0; r < 3; r++) {
    if (!rows[r]) continue;
    if (!rows[r]->ok) {
      printf("  %-22s FAILED: %s\n", names[r], rows[r]->message);
      ok = false;
      continue;
    }
    print_solver_row(names[r], rows[r], pairs);
  }
  if (ours.ok) {
    printf("  %-40s %zu bytes = %.1f per pair; verify %.3f s: proven optimal\n", "libmatcher working_bytes",
           ours.working_bytes, pairs ? (double)ours.working_bytes / (double)pairs : 0.0, ours.verify_seconds);
    printf("  %-40s best of %d %.2f ms = %.2f ns per pair (%.3fx the cold solve)\n", "matcher_verify (cold solution)",
           VERIFY_REPEATS, ours.verify_best_seconds * 1e3, pairs ? ours.verify_best_seconds * 1e9 / (double)pairs : 0.0,
           ours.verify_best_seconds / ours.solve_seconds);
  }
  if (ours.ok && lemon.ok) {
    if (ours.objective != lemon.objective) {
      printf("  MISMATCH: libmatcher %lld, LEMON %lld\n", (long long)ours.objective, (long long)lemon.objective);
      ok = false;
    }
    if (opt->first_eligible && lemon_first.ok && lemon_first.objective != ours.objective) {
      printf("  MISMATCH: libmatcher %lld, LEMON first eligible %lld\n", (long long)ours.objective,
             (long long)lemon_first.objective);
      ok = false;
    }
    double target = time_target(size);
    print_ratio("solve time ours/LEMON", ours.solve_seconds / lemon.solve_seconds, target);
    print_ratio("build+solve ours/LEMON",
                (ours.build_seconds + ours.solve_seconds) / (lemon.build_seconds + lemon.solve_seconds), target);
    print_ratio("peak memory above instance ours/LEMON",
                (double)(ours.peak_bytes - ours.baseline_bytes) / (double)(lemon.peak_bytes - lemon.baseline_bytes),
                0.5);
    print_ratio("peak memory total ours/LEMON", (double)ours.peak_bytes / (double)lemon.peak_bytes, 0);
  }
  for (int k = 0; k < opt->share_count; k++)
    ok = print_warm(&warm_local[k], "local", opt->shares[k], warm_target(opt->shares[k])) && ok;
  ok = print_warm(&warm_scattered, "scattered (stress)", 0.01, warm_target(0.01)) && ok;
  if (opt->share_count > 1) {
    printf("  %-40s", "warm/cold matcher_solve by local share");
    for (int k = 0; k < opt->share_count; k++)
      if (warm_local[k].ok)
        printf("   %g%%: %.3fx (CPU %.3fx)", opt->shares[k] * 100,
               warm_local[k].warm_direct_seconds / warm_local[k].cold_direct_seconds,
               warm_local[k].warm_direct_cpu_seconds / warm_local[k].cold_direct_cpu_seconds);
    printf("   (target <= 0.10x at 0.1%% and 1%%)\n");
  }
  instance_free(&generated);
  return ok;
}

static void usage(FILE *to) {
  fprintf(to, "usage: bench-matcher [--quick] [--first-eligible] [--seed N] [--share F] "
              "[antwerp|flanders|germany ...]\n");
}

int main(int argc, char **argv) {
  options opt = {.quick = false, .first_eligible = false, .seed = 1, .shares = {0.001, 0.01, 0.1}, .share_count = 3};
  const char *sizes[16];
  int size_count = 0;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--quick") == 0)
      opt.quick = true;
    else if (strcmp(argv[a], "--first-eligible") == 0)
      opt.first_eligible = true;
    else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc)
      opt.seed = strtoull(argv[++a], NULL, 10);
    else if (strcmp(argv[a], "--share") == 0 && a + 1 < argc) {
      opt.shares[0] = atof(argv[++a]);
      opt.share_count = 1;
    } else if (strcmp(argv[a], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[a][0] == '-' || size_count == 16) {
      usage(stderr);
      return 2;
    } else
      sizes[size_count++] = argv[a];
  }
  if (opt.shares[0] <= 0 || opt.shares[0] > 1) {
    fprintf(stderr, "bench-matcher: --share must be in (0, 1]\n");
    return 2;
  }
  if (size_count == 0) {
    sizes[size_count++] = "antwerp";
    sizes[size_count++] = "flanders";
    if (!opt.quick) sizes[size_count++] = "germany";
  }
  printf("bench-matcher: libmatcher vs LEMON 1.3 NetworkSimplex; each solver in its own process.\n"
         "+peak MiB = VmHWM above the RSS the child started with (the instance); B/pair = that "
         "per eligible pair.\n");
  bool all_ok = true;
  for (int s = 0; s < size_count; s++) all_ok = bench_size(sizes[s], &opt) && all_ok;
  printf("\n%s\n",
         all_ok ? "all objectives agree; all our solutions proven optimal" : "FAILED: see MISMATCH / FAILED above");
  return all_ok ? 0 : 1;
}
