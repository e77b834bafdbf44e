/* leerplek-solve: solves one instance file (README.md, "Instance files") with libmatcher
 * and prints the objective, optionally the assignment, the dual prices and an independent
 * proof of optimality. It is the shortest path from a file to an answer, for people checking
 * a dataset by hand, for scripts and for the tests that drive the real binary.
 *
 * Exit status: 0 success (with --verify: proven optimal), 1 the problem could not be solved or
 * verified (out of memory, fixed pairs over a vacancy's seats, verification failed, output
 * failed), 2 bad usage or input that cannot be read or is malformed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"
#include "matcher.h"

enum { EXIT_SOLVED = 0, EXIT_FAILED = 1, EXIT_BAD_INPUT = 2 };

static const char usage_text[] =
    "usage: leerplek-solve [options] [FILE]\n"
    "\n"
    "Solves the matching instance in FILE (or standard input when FILE is '-' or missing)\n"
    "and prints one line:\n"
    "  objective=<sum of chosen pair costs + unplaced penalties> placed=<pupils placed>\n"
    "\n"
    "options:\n"
    "  -a, --assignment  also print one line per pupil i, in pupil order:\n"
    "                      a <i> <vacancy>     (vacancy -1 when the pupil is unplaced)\n"
    "  -d, --duals       also print the dual prices that prove optimality:\n"
    "                      d pupil <i> <u_i>    for every pupil, then\n"
    "                      d vacancy <j> <p_j>  for every vacancy\n"
    "                    (reduced cost c_ij + p_j - u_i >= 0 on every pair, 0 on chosen ones;\n"
    "                    u_i <= U_i, = U_i when unplaced; p_j >= 0, > 0 only when full)\n"
    "  -V, --verify      check the solution independently and print, last,\n"
    "                      'verified: proven optimal'  or  'verify failed: <reason>'\n"
    "  -s, --stats       print read and solve times and solver counters on stderr\n"
    "  -h, --help        print this help\n"
    "\n"
    "Input format: 'p N M E', then 'v j seats' (M lines), 'u i penalty' (N lines),\n"
    "'e i j cost' (E lines) and optional 'f i j' fixed pairs, 'c' lines are comments.\n"
    "\n"
    "exit status: 0 solved (and, with --verify, proven optimal); 1 not solvable or not\n"
    "verified (out of memory, fixed pairs over a vacancy's seats, verification failed);\n"
    "2 bad usage, unreadable or malformed input (the message names file and line).\n";

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void print_solution(const matcher_problem *problem, const matcher_solution *solution, bool assignment,
                           bool duals) {
  printf("objective=%lld placed=%d\n", (long long)solution->objective, solution->placed);
  if (assignment)
    for (int32_t i = 0; i < problem->pupil_count; i++) printf("a %d %d\n", i, solution->vacancy_of_pupil[i]);
  if (duals) {
    for (int32_t i = 0; i < problem->pupil_count; i++)
      printf("d pupil %d %lld\n", i, (long long)solution->pupil_price[i]);
    for (int32_t j = 0; j < problem->vacancy_count; j++)
      printf("d vacancy %d %lld\n", j, (long long)solution->vacancy_price[j]);
  }
}

int main(int argc, char **argv) {
  static const struct option long_options[] = {
      {"assignment", no_argument, NULL, 'a'}, {"duals", no_argument, NULL, 'd'}, {"verify", no_argument, NULL, 'V'},
      {"stats", no_argument, NULL, 's'},      {"help", no_argument, NULL, 'h'},  {NULL, 0, NULL, 0},
  };
  bool want_assignment = false, want_duals = false, want_verify = false, want_stats = false;
  int option;
  while ((option = getopt_long(argc, argv, "adVsh", long_options, NULL)) != -1) {
    switch (option) {
    case 'a': want_assignment = true; break;
    case 'd': want_duals = true; break;
    case 'V': want_verify = true; break;
    case 's': want_stats = true; break;
    case 'h': fputs(usage_text, stdout); return EXIT_SOLVED;
    default: fputs("Try 'leerplek-solve --help'.\n", stderr); return EXIT_BAD_INPUT;
    }
  }
  if (argc - optind > 1) {
    fprintf(stderr, "leerplek-solve: one input file at most (got %d)\n", argc - optind);
    return EXIT_BAD_INPUT;
  }
  const char *path = optind < argc ? argv[optind] : "-";
  bool from_stdin = strcmp(path, "-") == 0;
  const char *source_name = from_stdin ? "<stdin>" : path;
  FILE *input = from_stdin ? stdin : fopen(path, "r");
  if (input == NULL) {
    fprintf(stderr, "leerplek-solve: cannot open %s: %s\n", path, strerror(errno));
    return EXIT_BAD_INPUT;
  }

  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  instance inst;
  char error[512];
  int read_status = instance_read(input, source_name, &inst, error, sizeof error);
  int read_errno = errno;
  if (!from_stdin) fclose(input);
  if (read_status != 0) {
    fprintf(stderr, "leerplek-solve: %s\n", error);
    return read_errno == ENOMEM ? EXIT_FAILED : EXIT_BAD_INPUT;
  }
  double read_seconds = seconds_since(&start);

  clock_gettime(CLOCK_MONOTONIC, &start);
  matcher_solution solution;
  matcher_error solve_error;
  matcher_status status = matcher_solve(&inst.problem, NULL, &solution, &solve_error);
  double solve_seconds = seconds_since(&start);
  if (status != MATCHER_OK) {
    fprintf(stderr, "leerplek-solve: %s: %s: %s\n", source_name, matcher_status_name(status), solve_error.message);
    instance_free(&inst);
    /* The reader already refused malformed problems, so what is left is not the input's form. */
    return status == MATCHER_INVALID ? EXIT_BAD_INPUT : EXIT_FAILED;
  }

  print_solution(&inst.problem, &solution, want_assignment, want_duals);
  int exit_status = EXIT_SOLVED;
  if (want_verify) {
    matcher_error verify_error;
    matcher_status verified = matcher_verify(&inst.problem, &solution, &verify_error);
    if (verified == MATCHER_OK) {
      puts("verified: proven optimal");
    } else {
      printf("verify failed: %s\n", verify_error.message);
      exit_status = EXIT_FAILED;
    }
  }
  if (want_stats) {
    const matcher_stats *stats = &solution.stats;
    fprintf(stderr,
            "read %.3f s, solve %.3f s: %d pupils, %d vacancies, %lld pairs; %lld searches, "
            "%lld vacancies scanned, %lld pairs scanned, %.1f MB working memory\n",
            read_seconds, solve_seconds, inst.problem.pupil_count, inst.problem.vacancy_count,
            (long long)inst.problem.pair_count, (long long)stats->searches, (long long)stats->vacancies_scanned,
            (long long)stats->pairs_scanned, (double)stats->working_bytes / 1e6);
  }
  matcher_solution_free(&solution);
  instance_free(&inst);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "leerplek-solve: writing the output failed: %s\n", strerror(errno));
    return EXIT_FAILED;
  }
  return exit_status;
}
