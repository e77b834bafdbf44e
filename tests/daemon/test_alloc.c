/* test_alloc: the daemon's out-of-memory policy (daemon/lp_alloc.c): an allocation that cannot
 * be had ends the process with SIGABRT after saying so on stderr, never a NULL for the caller to
 * mishandle; and what can be had is a usable block (0 bytes included). Under ASan the test runs
 * with allocator_may_return_null=1 (set by CMake), so ASan hands the NULL on as malloc would. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lp_alloc.h"

/* More than any machine has, yet below malloc's own size limit, so the failure is "no memory". */
#define TOO_MUCH ((size_t)1 << 46)

Test(alloc, malloc_failure_aborts, .signal = SIGABRT) {
  void *block = lp_malloc(TOO_MUCH);
  (void)block;
  cr_assert_fail("lp_malloc returned");
}

Test(alloc, calloc_failure_aborts, .signal = SIGABRT) {
  void *block = lp_calloc(TOO_MUCH / 8, 8);
  (void)block;
  cr_assert_fail("lp_calloc returned");
}

Test(alloc, realloc_failure_aborts, .signal = SIGABRT) {
  void *block = lp_malloc(16);
  block = lp_realloc(block, TOO_MUCH);
  cr_assert_fail("lp_realloc returned");
}

/* The message names the size, written without allocating (checked in a child that aborts). */
Test(alloc, the_message_names_the_size) {
  fflush(stderr);
  FILE *log = tmpfile();
  cr_assert_not_null(log);
  pid_t child = fork();
  if (child == 0) {
    dup2(fileno(log), 2);
    lp_malloc(TOO_MUCH);
    _exit(0);
  }
  int status = 0;
  cr_assert_eq(waitpid(child, &status, 0), child);
  cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d", status);
  char text[256] = "";
  rewind(log);
  size_t n = fread(text, 1, sizeof text - 1, log);
  text[n] = '\0';
  fclose(log);
  cr_assert_not_null(strstr(text, "leerplekd: out of memory allocating 70368744177664 bytes; abort"), "stderr: %s",
                     text);
}

Test(alloc, blocks_that_fit_are_usable) {
  char *a = lp_malloc(0), *b = lp_malloc(0);
  cr_assert_neq(a, b, "two 0-byte blocks are distinct");
  char *copy = lp_strdup("Kapper");
  cr_assert_str_eq(copy, "Kapper");
  int *zeroes = lp_calloc(100, sizeof *zeroes);
  for (int i = 0; i < 100; i++) cr_assert_eq(zeroes[i], 0);
  zeroes = lp_realloc(zeroes, 1000 * sizeof *zeroes);
  cr_assert_eq(zeroes[99], 0, "realloc keeps the contents");
  free(a);
  free(b);
  free(copy);
  free(zeroes);
}
