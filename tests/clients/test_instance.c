/* test_instance.c: the instance file reader and writer (clients/tools/instance.h).
 *
 * The reader is the front door for files from anywhere, so every kind of malformed input has
 * its own test, and each checks that the message names the right line and says what is wrong:
 * a message that points at the wrong line is a bug users pay for. The good-input tests check
 * that writing and reading back loses nothing, fixed pairs included.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"
#include "instance.h"

/* Reads `text` through a memory stream, as the tests of other components do. */
static int read_text(const char *text, instance *inst, char *error, size_t error_size) {
  FILE *in = fmemopen((void *)text, strlen(text), "r");
  cr_assert_not_null(in, "fmemopen failed");
  int status = instance_read(in, "test.txt", inst, error, error_size);
  int saved_errno = errno;
  fclose(in);
  errno = saved_errno;
  return status;
}

/* Asserts that `text` is refused with a message naming `line` and containing `expected`. */
static void expect_refused(const char *text, int line, const char *expected) {
  instance inst;
  char error[512];
  int status = read_text(text, &inst, error, sizeof error);
  cr_assert_eq(status, -1, "accepted malformed input:\n%s", text);
  cr_assert_eq(errno, EINVAL, "errno %d, expected EINVAL (%s)", errno, error);
  char location[32];
  snprintf(location, sizeof location, "test.txt:%d: ", line);
  cr_assert(strncmp(error, location, strlen(location)) == 0, "message '%s' does not start with '%s'", error, location);
  cr_assert(strstr(error, expected) != NULL, "message '%s' does not say '%s'", error, expected);
  /* Nothing is handed out on failure. */
  cr_assert_null(inst.pairs);
  cr_assert_null(inst.seats);
  cr_assert_null(inst.unplaced_penalty);
}

/* A small well-formed file: 2 pupils, 2 vacancies, 3 pairs. */
#define GOOD_HEAD "p 2 2 3\nv 0 1\nv 1 2\nu 0 100\nu 1 200\n"

Test(instance_read, accepts_a_small_file) {
  instance inst;
  char error[512];
  int status = read_text("c hello\n" GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\n", &inst, error, sizeof error);
  cr_assert_eq(status, 0, "refused: %s", error);
  cr_assert_eq(inst.problem.pupil_count, 2);
  cr_assert_eq(inst.problem.vacancy_count, 2);
  cr_assert_eq(inst.problem.pair_count, 3);
  cr_assert_eq(inst.problem.fixed_count, 0);
  cr_assert_eq(inst.seats[1], 2);
  cr_assert_eq(inst.unplaced_penalty[1], 200);
  cr_assert_eq(inst.pairs[1].pupil, 0);
  cr_assert_eq(inst.pairs[1].vacancy, 1);
  cr_assert_eq(inst.pairs[1].cost, 7);
  cr_assert_eq(inst.problem.pairs, inst.pairs, "the problem must point into the instance's arrays");
  instance_free(&inst);
  cr_assert_null(inst.pairs);
  instance_free(&inst); /* twice is harmless */
}

Test(instance_read, accepts_any_record_order_blank_lines_tabs_crlf_and_no_final_newline) {
  instance inst;
  char error[512];
  const char *text = "c header comment\r\n"
                     "p 2 2 3\r\n"
                     "\n"
                     "e 1 1 3\r\n"
                     "u 1\t200\n"
                     "   \n"
                     "e 0 1 7\n"
                     "v 1 2\n"
                     "c a comment in the middle\n"
                     "v 0 1\n"
                     "u 0 100\n"
                     "e 0 0 5";
  int status = read_text(text, &inst, error, sizeof error);
  cr_assert_eq(status, 0, "refused: %s", error);
  cr_assert_eq(inst.problem.pair_count, 3);
  cr_assert_eq(inst.pairs[2].cost, 5, "the last line without newline was lost");
  cr_assert_eq(inst.unplaced_penalty[1], 200);
  instance_free(&inst);
}

Test(instance_read, accepts_an_empty_problem) {
  instance inst;
  char error[512];
  cr_assert_eq(read_text("p 0 0 0\n", &inst, error, sizeof error), 0, "refused: %s", error);
  cr_assert_eq(inst.problem.pupil_count, 0);
  cr_assert_eq(inst.problem.pair_count, 0);
  cr_assert_not_null(inst.problem.pairs, "empty arrays are still allocated");
  instance_free(&inst);
}

Test(instance_read, refuses_an_unknown_line_kind) {
  expect_refused("p 1 1 1\nx 0 0\n", 2, "unknown line kind 'x'");
  expect_refused("p 1 1 1\nvv 0 1\n", 2, "unknown line kind 'vv'");
}

Test(instance_read, refuses_missing_fields) {
  expect_refused(GOOD_HEAD "e 0 0\n", 6, "'e' line has 2 numbers, expected 3");
  expect_refused("p 1 1\n", 1, "'p' line has 2 numbers, expected 3");
  expect_refused("p 1 1 0\nv\n", 2, "'v' line has 0 numbers, expected 2");
}

Test(instance_read, refuses_extra_fields) {
  expect_refused("p 1 1 0\nv 0 1 5\n", 2, "more than 2 numbers: extra field '5'");
  expect_refused(GOOD_HEAD "e 0 0 5 6\n", 6, "more than 3 numbers");
}

Test(instance_read, refuses_non_integers) {
  expect_refused("p 1 1 0\nv 0 1\nu 0 abc\n", 3, "unplaced penalty 'abc' is not an integer");
  expect_refused("p 1 1 0\nv 0 1\nu 0 12x\n", 3, "'12x' is not an integer");
  expect_refused("p 1 1 0\nv 0 1.5\n", 2, "seats '1.5' is not an integer");
  expect_refused("p 1 1 0\nv - 1\n", 2, "vacancy '-' is not an integer");
}

Test(instance_read, refuses_numbers_out_of_range) {
  expect_refused(GOOD_HEAD "e 0 0 9007199254740993\n", 6, "cost 9007199254740993 out of range 0..9007199254740992");
  expect_refused(GOOD_HEAD "e 0 0 -1\n", 6, "cost -1 out of range");
  expect_refused(GOOD_HEAD "e 0 0 99999999999999999999\n", 6, "cost '99999999999999999999' is out of range");
  expect_refused("p 1 1 0\nv 0 -1\n", 2, "seats -1 out of range 0..2147483647");
  expect_refused("p 1 1 0\nv 0 2147483648\n", 2, "seats 2147483648 out of range");
  expect_refused("p 1 1 0\nv 0 1\nu 0 9007199254740993\n", 3, "unplaced penalty 9007199254740993 out of range");
  expect_refused("p 1073741824 1 0\n", 1, "pupil count 1073741824 out of range 0..1073741823");
  expect_refused("p 1 -2 0\n", 1, "vacancy count -2 out of range");
}

Test(instance_read, refuses_more_pairs_announced_than_can_exist) {
  expect_refused("p 2 3 7\n", 1, "pair count 7 out of range 0..6");
}

Test(instance_read, refuses_indices_out_of_range) {
  expect_refused(GOOD_HEAD "e 2 0 5\n", 6, "pupil 2 out of range 0..1");
  expect_refused(GOOD_HEAD "e 0 5 5\n", 6, "vacancy 5 out of range 0..1");
  expect_refused("p 2 2 0\nv 2 1\n", 2, "vacancy 2 out of range 0..1");
  expect_refused("p 2 2 0\nu -1 1\n", 2, "pupil -1 out of range 0..1");
  expect_refused("p 0 2 0\nu 0 1\n", 2, "pupil 0 out of range (there are none)");
}

Test(instance_read, refuses_a_missing_header) {
  expect_refused("c only a comment\nv 0 1\n", 2, "'v' line before the 'p' line");
  expect_refused("c only comments\nc here\n", 2, "no 'p' line");
}

Test(instance_read, refuses_empty_input) {
  instance inst;
  char error[512];
  FILE *in = tmpfile();
  cr_assert_not_null(in);
  cr_assert_eq(instance_read(in, "empty.txt", &inst, error, sizeof error), -1);
  fclose(in);
  cr_assert(strstr(error, "empty.txt") == error && strstr(error, "no 'p' line") != NULL, "message: %s", error);
}

Test(instance_read, refuses_a_repeated_header) {
  expect_refused("c x\np 1 1 0\nv 0 1\np 1 1 0\n", 4, "second 'p' line (the first is on line 2)");
}

Test(instance_read, refuses_a_vacancy_or_pupil_given_twice) {
  expect_refused("p 1 2 0\nv 1 1\nv 0 1\nv 1 3\n", 4, "vacancy 1 given twice");
  expect_refused("p 2 1 0\nv 0 1\nu 1 1\nu 1 1\n", 4, "pupil 1 given twice");
}

Test(instance_read, refuses_a_missing_vacancy_or_pupil) {
  expect_refused("p 2 3 0\nv 0 1\nv 2 1\nu 0 1\nu 1 1\n", 5, "no 'v' line for vacancy 1 (1 of 3 missing)");
  expect_refused("p 3 1 0\nv 0 1\nu 0 1\nu 2 1\n", 4, "no 'u' line for pupil 1 (1 of 3 missing)");
}

Test(instance_read, refuses_more_pair_lines_than_announced) {
  expect_refused(GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\ne 1 0 4\n", 9,
                 "more 'e' lines than the 3 the 'p' line on line 1 announced");
}

Test(instance_read, refuses_fewer_pair_lines_than_announced) {
  expect_refused(GOOD_HEAD "e 0 0 5\nc trailing comment\n", 7,
                 "end of input after 1 'e' lines, but the 'p' line on line 1 announced 3");
}

Test(instance_read, refuses_a_duplicate_pair) {
  /* In otherwise sorted order and out of order: both detection paths. */
  expect_refused(GOOD_HEAD "e 0 0 5\ne 0 0 7\ne 1 1 3\n", 7, "pair (pupil 0, vacancy 0) given twice (first on line 6)");
  expect_refused(GOOD_HEAD "e 1 1 3\ne 0 0 5\nc gap\ne 1 1 9\n", 9,
                 "pair (pupil 1, vacancy 1) given twice (first on line 6)");
}

Test(instance_read, reports_the_earliest_duplicate_in_the_file) {
  /* Pupil 0's duplicate is found first when grouping by pupil, but pupil 1's comes first. */
  expect_refused("p 2 2 4\nv 0 1\nv 1 1\nu 0 1\nu 1 1\ne 1 1 1\ne 1 1 2\ne 0 0 1\ne 0 0 2\n", 7,
                 "pair (pupil 1, vacancy 1) given twice (first on line 6)");
}

Test(instance_read, refuses_an_overlong_line) {
  size_t length = INSTANCE_LINE_MAX + 10;
  char *text = malloc(length + 64);
  cr_assert_not_null(text);
  strcpy(text, "p 1 1 0\nc ");
  size_t used = strlen(text);
  memset(text + used, 'x', length);
  strcpy(text + used + length, "\nv 0 1\n");
  expect_refused(text, 2, "line longer than 4096 characters");
  /* The same without any newline after it: the reader must not wait for one forever. */
  text[used + length] = '\0';
  expect_refused(text, 2, "line longer than 4096 characters");
  free(text);
}

Test(instance_read, accepts_a_line_of_exactly_the_maximum_length) {
  char *text = malloc(INSTANCE_LINE_MAX + 64);
  cr_assert_not_null(text);
  strcpy(text, "p 1 1 0\nv 0 1\nu 0 1\n");
  size_t used = strlen(text);
  memset(text + used, 'c', INSTANCE_LINE_MAX);
  strcpy(text + used + INSTANCE_LINE_MAX, "\n");
  instance inst;
  char error[512];
  cr_assert_eq(read_text(text, &inst, error, sizeof error), 0, "refused: %s", error);
  instance_free(&inst);
  free(text);
}

Test(instance_read, does_not_trust_a_huge_pair_count, .timeout = 10) {
  /* 10^12 pairs would be 16 TB if reserved up front; the file ends right after the header. */
  expect_refused("p 1000000 1000000 1000000000000\nv 0 1\n", 2, "no 'v' line for vacancy 1");
}

Test(instance_read, reads_fixed_pairs) {
  instance inst;
  char error[512];
  int status = read_text(GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\nf 1 1\nf 0 1\n", &inst, error, sizeof error);
  cr_assert_eq(status, 0, "refused: %s", error);
  cr_assert_eq(inst.problem.fixed_count, 2);
  cr_assert_eq(inst.problem.fixed, inst.fixed);
  cr_assert_eq(inst.fixed[0].pupil, 1);
  cr_assert_eq(inst.fixed[0].vacancy, 1);
  cr_assert_eq(inst.fixed[1].pupil, 0);
  cr_assert_eq(inst.fixed[1].vacancy, 1);
  instance_free(&inst);
}

Test(instance_read, accepts_a_fixed_pair_before_its_pair_line) {
  instance inst;
  char error[512];
  int status = read_text(GOOD_HEAD "f 1 1\ne 0 0 5\ne 0 1 7\ne 1 1 3\n", &inst, error, sizeof error);
  cr_assert_eq(status, 0, "refused: %s", error);
  cr_assert_eq(inst.problem.fixed_count, 1);
  instance_free(&inst);
}

Test(instance_read, refuses_a_fixed_pair_that_is_not_eligible) {
  /* Sorted pairs (binary search path) and unsorted ones (grouped path). */
  expect_refused(GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\nf 0 1\nf 1 0\n", 10,
                 "fixed pair (pupil 1, vacancy 0) has no 'e' line");
  expect_refused(GOOD_HEAD "e 1 1 3\ne 0 0 5\ne 0 1 7\nf 1 0\n", 9, "fixed pair (pupil 1, vacancy 0) has no 'e' line");
}

Test(instance_read, refuses_a_pupil_fixed_twice) {
  expect_refused(GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\nf 0 0\nf 0 1\n", 10, "pupil 0 is already fixed on line 9");
}

Test(instance_read, refuses_fixed_pair_fields_out_of_range) {
  expect_refused(GOOD_HEAD "f 0 2\n", 6, "vacancy 2 out of range 0..1");
  expect_refused(GOOD_HEAD "f 0\n", 6, "'f' line has 1 number, expected 2");
}

Test(instance_read, accepts_fixed_pairs_over_the_seats_for_the_solver_to_report) {
  /* Well formed, but infeasible: vacancy 0 has one seat and two fixed pupils. */
  instance inst;
  char error[512];
  int status = read_text("p 2 1 2\nv 0 1\nu 0 9\nu 1 9\ne 0 0 1\ne 1 0 1\nf 0 0\nf 1 0\n", &inst, error, sizeof error);
  cr_assert_eq(status, 0, "refused: %s", error);
  matcher_error check_error;
  cr_assert_eq(matcher_check(&inst.problem, &check_error), MATCHER_INFEASIBLE);
  instance_free(&inst);
}

Test(instance_read, passes_on_what_matcher_check_refuses) {
  /* 1,100 pupils at the largest penalty: each is fine, their sum overflows int64. */
  size_t capacity = 1100 * 40 + 64;
  char *text = malloc(capacity);
  cr_assert_not_null(text);
  size_t used = (size_t)snprintf(text, capacity, "p 1100 0 0\n");
  for (int i = 0; i < 1100; i++) used += (size_t)snprintf(text + used, capacity - used, "u %d 9007199254740992\n", i);
  instance inst;
  char error[512];
  cr_assert_eq(read_text(text, &inst, error, sizeof error), -1, "an overflowing objective was accepted");
  cr_assert_eq(errno, EINVAL);
  cr_assert(strncmp(error, "test.txt: invalid problem: ", 27) == 0, "message: %s", error);
  free(text);
}

Test(instance_read, tolerates_a_null_error_buffer) {
  instance inst;
  cr_assert_eq(read_text("p 1 1 0\nx\n", &inst, NULL, 0), -1);
}

Test(instance_read, truncates_long_messages_safely) {
  instance inst;
  char error[12];
  cr_assert_eq(read_text("p 1 1 0\nx\n", &inst, error, sizeof error), -1);
  cr_assert_eq(strlen(error), sizeof error - 1);
  cr_assert(strncmp(error, "test.txt:2:", 11) == 0, "message: %s", error);
}

/* ---------------------------------------------------------------------------------------- */

static char *write_to_memory(const matcher_problem *problem, size_t *size) {
  char *text = NULL;
  FILE *out = open_memstream(&text, size);
  cr_assert_not_null(out);
  cr_assert_eq(instance_write(out, problem), 0);
  cr_assert_eq(fclose(out), 0);
  return text;
}

static void assert_same_problem(const matcher_problem *a, const matcher_problem *b) {
  cr_assert_eq(a->pupil_count, b->pupil_count);
  cr_assert_eq(a->vacancy_count, b->vacancy_count);
  cr_assert_eq(a->pair_count, b->pair_count);
  cr_assert_eq(a->fixed_count, b->fixed_count);
  cr_assert(memcmp(a->seats, b->seats, (size_t)a->vacancy_count * sizeof *a->seats) == 0, "seats differ");
  cr_assert(memcmp(a->unplaced_penalty, b->unplaced_penalty, (size_t)a->pupil_count * sizeof *a->unplaced_penalty) == 0,
            "penalties differ");
  for (int64_t k = 0; k < a->pair_count; k++) {
    cr_assert_eq(a->pairs[k].pupil, b->pairs[k].pupil, "pair %lld", (long long)k);
    cr_assert_eq(a->pairs[k].vacancy, b->pairs[k].vacancy, "pair %lld", (long long)k);
    cr_assert_eq(a->pairs[k].cost, b->pairs[k].cost, "pair %lld", (long long)k);
  }
  for (int64_t k = 0; k < a->fixed_count; k++) {
    cr_assert_eq(a->fixed[k].pupil, b->fixed[k].pupil, "fixed %lld", (long long)k);
    cr_assert_eq(a->fixed[k].vacancy, b->fixed[k].vacancy, "fixed %lld", (long long)k);
  }
}

Test(instance_write, round_trips_a_generated_instance_with_fixed_pairs) {
  generator_params params;
  cr_assert_eq(generator_params_for("antwerp", &params), 0);
  params.fixed_permille = 100;
  instance original;
  cr_assert_eq(generator_make(&params, 7, &original), 0);
  cr_assert_gt(original.problem.fixed_count, 0, "the test needs fixed pairs");

  size_t size;
  char *text = write_to_memory(&original.problem, &size);
  FILE *in = fmemopen(text, size, "r");
  cr_assert_not_null(in);
  instance copy;
  char error[512];
  int status = instance_read(in, "memory", &copy, error, sizeof error);
  fclose(in);
  cr_assert_eq(status, 0, "refused its own output: %s", error);
  assert_same_problem(&original.problem, &copy.problem);

  /* Writing the copy gives the same bytes. */
  size_t second_size;
  char *second = write_to_memory(&copy.problem, &second_size);
  cr_assert_eq(size, second_size);
  cr_assert(memcmp(text, second, size) == 0, "second write differs");

  free(text);
  free(second);
  instance_free(&original);
  instance_free(&copy);
}

Test(instance_write, writes_the_documented_format) {
  instance inst;
  char error[512];
  const char *text = "p 2 2 3\nv 0 1\nv 1 2\nu 0 100\nu 1 9007199254740992\ne 0 0 5\ne 0 1 0\ne 1 1 3\nf 1 1\n";
  cr_assert_eq(read_text(text, &inst, error, sizeof error), 0, "refused: %s", error);
  size_t size;
  char *written = write_to_memory(&inst.problem, &size);
  cr_assert_str_eq(written, text);
  free(written);
  instance_free(&inst);
}

Test(instance_write, reports_a_write_error) {
  instance inst;
  char error[512];
  cr_assert_eq(read_text(GOOD_HEAD "e 0 0 5\ne 0 1 7\ne 1 1 3\n", &inst, error, sizeof error), 0);
  FILE *full = fopen("/dev/full", "w");
  if (full == NULL) cr_skip_test("no /dev/full here");
  cr_assert_eq(instance_write(full, &inst.problem), -1, "a failed write was reported as success");
  fclose(full);
  instance_free(&inst);
}

/* The reader allocates in proportion to the lines it has read, never to the counts a 'p' line
 * claims: under an address-space limit of 256 MiB, headers announcing a billion pupils and
 * vacancies are refused as malformed (EINVAL, the first missing record named), not as out of
 * memory. The limit cannot be set under AddressSanitizer (its shadow memory reserves terabytes),
 * so there only the answers are checked. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif
#include <sys/resource.h>

Test(instance_read, a_lying_header_costs_nothing) {
  if (!UNDER_ASAN) {
    struct rlimit limit = {256u << 20, 256u << 20};
    cr_assert_eq(setrlimit(RLIMIT_AS, &limit), 0);
  }
  expect_refused("p 1073741823 1073741823 0\n", 1, "no 'v' line for vacancy 0 (1073741823 of 1073741823 missing)");
  expect_refused("p 1073741823 1 0\nv 0 1\nu 1073741822 5\nu 7 1\n", 4,
                 "no 'u' line for pupil 0 (1073741821 of 1073741823 missing)");
  expect_refused("p 1 1073741823 0\nv 1073741822 1\nv 1073741822 2\n", 3, "vacancy 1073741822 given twice");
  expect_refused("p 1073741823 1073741823 1073741823\nv 5 1\nu 9 1\ne 9 5 1\nf 9 5\n", 5, "no 'v' line for vacancy 0");
  /* A pupil fixed twice is still named on the second line, with all records present. */
  expect_refused(GOOD_HEAD "e 0 0 5\ne 0 1 7\nf 0 0\ne 1 1 3\nf 0 1\n", 10, "pupil 0 is already fixed on line 8");
}

/* Records out of order, repeats among them: the earliest repeat in the file is the one named. */
Test(instance_read, names_the_first_repeat_in_file_order) {
  expect_refused("p 3 1 0\nv 0 1\nu 2 1\nu 1 1\nu 1 1\n", 5, "pupil 1 given twice");
  expect_refused("p 4 1 0\nv 0 1\nu 2 1\nu 3 1\nu 2 1\nu 3 1\n", 5, "pupil 2 given twice");
  expect_refused("p 3 1 0\nv 0 1\nu 2 1\nu 0 1\n", 4, "no 'u' line for pupil 1 (1 of 3 missing)");
  expect_refused("p 3 1 0\nv 0 1\nu 0 1\nu 1 1\n", 4, "no 'u' line for pupil 2 (1 of 3 missing)");
}
