/* instance.h: the leerplek instance file format (README.md, "Instance files"), read and
 * written. It is how problems travel between leerplek-gen, leerplek-solve, the benchmarks and
 * the tests, so the reader is strict (every malformed line is refused with its line number,
 * never guessed at) and bounded (a header cannot make it allocate more than the lines that
 * follow justify, lines are at most INSTANCE_LINE_MAX characters).
 *
 * The format, one record per line, fields separated by spaces or tabs:
 *     c any comment           (any line starting with 'c'; blank lines are ignored too)
 *     p N M E                 first record: N pupils, M vacancies, E eligible pairs
 *     v j seats               one per vacancy j in 0..M-1, seats 0..INT32_MAX
 *     u i U                   one per pupil i in 0..N-1, unplaced penalty 0..MATCHER_VALUE_MAX
 *     e i j cost              exactly E, each (i, j) once, cost 0..MATCHER_VALUE_MAX
 *     f i j                   optional: a fixed (accepted) pair; it must also be an 'e' pair
 * After 'p', records may come in any order.
 */
#ifndef LEERPLEK_INSTANCE_H
#define LEERPLEK_INSTANCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "matcher.h"

/* Longest accepted line, newline excluded. Real lines are under 60 characters; the bound only
 * stops a file without newlines from being buffered whole. */
#define INSTANCE_LINE_MAX 4096

/* A problem together with the arrays it points into, owned by this struct. */
typedef struct {
  matcher_problem problem; /* points into the arrays below */
  int64_t *unplaced_penalty;
  int32_t *seats;
  matcher_pair *pairs;
  matcher_fixed_pair *fixed;
} instance;

/* Reads the instance format from `in`; `source_name` (file name or "<stdin>") is used in errors.
 * Returns 0, or -1 with error = "<source>:<line>: <what is wrong>" (nothing allocated then).
 * On failure errno tells the kind: EINVAL for malformed input, ENOMEM when memory ran out, or
 * the stream's own error (e.g. EIO) when reading failed. The problem has passed matcher_check,
 * except that fixed pairs filling a vacancy beyond its seats are accepted here (the file is
 * well formed; matcher_solve reports MATCHER_INFEASIBLE). error may be NULL. */
int instance_read(FILE *in, const char *source_name, instance *out, char *error, size_t error_size);

/* Writes `problem` in the instance format (no comment lines: callers add their own first).
 * Returns 0, or -1 on a write error (errno set by the stream). Does not close `out`. */
int instance_write(FILE *out, const matcher_problem *problem);

/* Releases what instance_read or generator_make allocated; the struct is zeroed, so freeing
 * twice is harmless. */
void instance_free(instance *inst);

#endif
