/* fuzz_instance: libFuzzer target for the instance file reader (clients/tools/instance.c). Any input
 * is either refused with a message naming a line or read into a problem that passes
 * matcher_check; small accepted problems are also solved and the solution must verify as
 * optimal (a reader that accepted something malformed would show up there). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "matcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *in = fmemopen((void *)data, size, "r");
  if (!in) return 0;
  instance inst;
  char error[512];
  int rc = instance_read(in, "fuzz", &inst, error, sizeof error);
  fclose(in);
  if (rc != 0) {
    if (strncmp(error, "fuzz", 4) != 0) abort(); /* every refusal names its source */
    return 0;
  }
  matcher_error why;
  if (matcher_check(&inst.problem, &why) == MATCHER_INVALID) abort();
  if (inst.problem.pair_count <= 2000 && inst.problem.pupil_count <= 2000 && inst.problem.vacancy_count <= 2000) {
    matcher_solution solution;
    if (matcher_solve(&inst.problem, NULL, &solution, &why) == MATCHER_OK) {
      if (matcher_verify(&inst.problem, &solution, &why) != MATCHER_OK) {
        fprintf(stderr, "fuzz_instance: solution does not verify: %s\n", why.message);
        abort();
      }
      matcher_solution_free(&solution);
    }
  }
  instance_free(&inst);
  return 0;
}
