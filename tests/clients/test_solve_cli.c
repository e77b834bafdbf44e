/* test_solve_cli.c: leerplek-solve driven through the real binary, as users and scripts run
 * it: exit statuses, where messages go, and the shape of the output. The binary's path comes
 * from the build (LEERPLEK_SOLVE_PATH), so the test always runs the program just built.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "generator.h"
#include "instance.h"

#ifndef LEERPLEK_SOLVE_PATH
#error "LEERPLEK_SOLVE_PATH must name the leerplek-solve binary"
#endif

extern char **environ;

/* Output beyond this is not needed by any test; reading stops there. */
#define CAPTURE_MAX (16u << 20)

typedef struct {
  int exit_status; /* -1 if the program did not exit normally */
  char *out;
  char *err;
} run_result;

static char *temporary_path(void) {
  char *path = strdup("/tmp/leerplek-cli-test-XXXXXX");
  cr_assert_not_null(path);
  int fd = mkstemp(path);
  cr_assert(fd >= 0, "mkstemp failed");
  close(fd);
  return path;
}

static char *slurp(const char *path) {
  FILE *in = fopen(path, "r");
  cr_assert_not_null(in, "cannot reopen %s", path);
  char *text = malloc(CAPTURE_MAX + 1);
  cr_assert_not_null(text);
  size_t length = fread(text, 1, CAPTURE_MAX, in);
  text[length] = '\0';
  fclose(in);
  return text;
}

/* Runs leerplek-solve with `arguments` (NULL-terminated, program name excluded), standard
 * input from `stdin_path` (or /dev/null), and captures its output. */
static run_result run_solve(const char *const arguments[], const char *stdin_path) {
  char *out_path = temporary_path(), *err_path = temporary_path();
  posix_spawn_file_actions_t actions;
  cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path, O_WRONLY | O_TRUNC, 0);

  char *argv[16];
  int argc = 0;
  argv[argc++] = (char *)LEERPLEK_SOLVE_PATH;
  for (int k = 0; arguments[k] != NULL && argc < 15; k++) argv[argc++] = (char *)arguments[k];
  argv[argc] = NULL;

  pid_t child;
  int spawned = posix_spawn(&child, LEERPLEK_SOLVE_PATH, &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  cr_assert_eq(spawned, 0, "cannot start %s", LEERPLEK_SOLVE_PATH);
  int status;
  cr_assert_eq(waitpid(child, &status, 0), child);

  run_result result = {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out_path), slurp(err_path)};
  unlink(out_path);
  unlink(err_path);
  free(out_path);
  free(err_path);
  return result;
}

static void run_result_free(run_result *result) {
  free(result->out);
  free(result->err);
}

static char *write_text_file(const char *text) {
  char *path = temporary_path();
  FILE *out = fopen(path, "w");
  cr_assert_not_null(out);
  fputs(text, out);
  cr_assert_eq(fclose(out), 0);
  return path;
}

static char *write_generated_file(const char *size_name, int32_t pupils, int32_t vacancies, instance *inst) {
  generator_params params;
  cr_assert_eq(generator_params_for(size_name, &params), 0);
  if (pupils > 0) params.pupils = pupils;
  if (vacancies > 0) params.vacancies = vacancies;
  cr_assert_eq(generator_make(&params, 11, inst), 0);
  char *path = temporary_path();
  FILE *out = fopen(path, "w");
  cr_assert_not_null(out);
  cr_assert_eq(instance_write(out, &inst->problem), 0);
  cr_assert_eq(fclose(out), 0);
  return path;
}

static int count_lines_starting(const char *text, const char *prefix) {
  int count = 0;
  size_t length = strlen(prefix);
  for (const char *line = text; *line != '\0';) {
    if (strncmp(line, prefix, length) == 0) count++;
    const char *newline = strchr(line, '\n');
    if (newline == NULL) break;
    line = newline + 1;
  }
  return count;
}

Test(leerplek_solve, malformed_file_exits_2_naming_the_line) {
  char *path = write_text_file("p 1 1 1\nv 0 1\nu 0 zero\ne 0 0 1\n");
  const char *arguments[] = {path, NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 2, "exit %d, stderr: %s", result.exit_status, result.err);
  cr_assert(strstr(result.err, ":3:") != NULL, "stderr does not name line 3: %s", result.err);
  cr_assert(strstr(result.err, "not an integer") != NULL, "stderr: %s", result.err);
  cr_assert_str_empty(result.out, "nothing should be printed on stdout");
  run_result_free(&result);
  unlink(path);
  free(path);
}

Test(leerplek_solve, missing_file_exits_2) {
  const char *arguments[] = {"/nonexistent/instance.txt", NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 2);
  cr_assert(strstr(result.err, "/nonexistent/instance.txt") != NULL, "stderr: %s", result.err);
  run_result_free(&result);
}

Test(leerplek_solve, unknown_option_exits_2) {
  const char *arguments[] = {"--frobnicate", NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 2);
  run_result_free(&result);
}

Test(leerplek_solve, help_documents_the_output_formats) {
  const char *arguments[] = {"--help", NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 0);
  cr_assert(strstr(result.out, "d pupil <i> <u_i>") != NULL, "help: %s", result.out);
  cr_assert(strstr(result.out, "a <i> <vacancy>") != NULL, "help: %s", result.out);
  run_result_free(&result);
}

Test(leerplek_solve, verifies_a_good_file, .timeout = 60) {
  instance inst;
  char *path = write_generated_file("antwerp", 0, 0, &inst);
  const char *arguments[] = {"--verify", path, NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 0, "exit %d, stdout: %s stderr: %s", result.exit_status, result.out, result.err);
  cr_assert(strncmp(result.out, "objective=", 10) == 0, "stdout: %s", result.out);
  cr_assert(strstr(result.out, " placed=") != NULL, "stdout: %s", result.out);
  cr_assert(strstr(result.out, "\nverified: proven optimal\n") != NULL, "stdout: %s", result.out);
  run_result_free(&result);
  instance_free(&inst);
  unlink(path);
  free(path);
}

Test(leerplek_solve, prints_one_assignment_line_per_pupil, .timeout = 60) {
  instance inst;
  char *path = write_generated_file("flanders", 500, 750, &inst);
  const char *arguments[] = {"--assignment", path, NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 0, "exit %d, stderr: %s", result.exit_status, result.err);
  cr_assert_eq(count_lines_starting(result.out, "a "), inst.problem.pupil_count);

  /* The placed count on the first line agrees with the assignment lines. */
  long long objective;
  int placed;
  cr_assert_eq(sscanf(result.out, "objective=%lld placed=%d", &objective, &placed), 2, "stdout: %.80s", result.out);
  int unplaced = 0;
  for (const char *line = strstr(result.out, "\na "); line != NULL; line = strstr(line + 1, "\na ")) {
    int pupil, vacancy;
    cr_assert_eq(sscanf(line + 1, "a %d %d", &pupil, &vacancy), 2);
    cr_assert(vacancy >= -1 && vacancy < inst.problem.vacancy_count, "pupil %d: vacancy %d", pupil, vacancy);
    unplaced += vacancy == -1;
  }
  cr_assert_eq(placed + unplaced, inst.problem.pupil_count);
  run_result_free(&result);
  instance_free(&inst);
  unlink(path);
  free(path);
}

Test(leerplek_solve, prints_a_dual_price_per_pupil_and_vacancy, .timeout = 60) {
  instance inst;
  char *path = write_generated_file("antwerp", 0, 0, &inst);
  const char *arguments[] = {"--duals", "-", NULL}; /* and read from standard input */
  run_result result = run_solve(arguments, path);
  cr_assert_eq(result.exit_status, 0, "exit %d, stderr: %s", result.exit_status, result.err);
  cr_assert_eq(count_lines_starting(result.out, "d pupil "), inst.problem.pupil_count);
  cr_assert_eq(count_lines_starting(result.out, "d vacancy "), inst.problem.vacancy_count);
  cr_assert_eq(count_lines_starting(result.out, "a "), 0, "no assignment was asked for");
  run_result_free(&result);
  instance_free(&inst);
  unlink(path);
  free(path);
}

Test(leerplek_solve, solves_a_known_optimum) {
  /* Pupil 1 (penalty 1000) should get vacancy 0's one seat, pupil 0 goes to vacancy 1:
   * 5 + 4 = 9 beats 1 + 1000. */
  char *path = write_text_file("p 2 2 3\nv 0 1\nv 1 1\nu 0 1000\nu 1 1000\ne 0 0 1\ne 0 1 5\ne 1 0 4\n");
  const char *arguments[] = {"-a", "-V", path, NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 0, "exit %d, stderr: %s", result.exit_status, result.err);
  cr_assert_str_eq(result.out, "objective=9 placed=2\na 0 1\na 1 0\nverified: proven optimal\n");
  run_result_free(&result);
  unlink(path);
  free(path);
}

Test(leerplek_solve, infeasible_fixed_pairs_exit_1) {
  char *path = write_text_file("p 2 1 2\nv 0 1\nu 0 9\nu 1 9\ne 0 0 1\ne 1 0 1\nf 0 0\nf 1 0\n");
  const char *arguments[] = {path, NULL};
  run_result result = run_solve(arguments, NULL);
  cr_assert_eq(result.exit_status, 1, "exit %d, stderr: %s", result.exit_status, result.err);
  cr_assert(strstr(result.err, "infeasible") != NULL, "stderr: %s", result.err);
  run_result_free(&result);
  unlink(path);
  free(path);
}
