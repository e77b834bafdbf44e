/* lp_rematch_job: one rematch's snapshot and solution, as the rematch (lp_rematch.c: lock,
 * snapshot, worker, result) hands them to the epoch write (lp_epoch_write.c). Private to the
 * two. */
#ifndef LP_REMATCH_JOB_H
#define LP_REMATCH_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "eligibility.h"
#include "leerplek.pb-c.h"
#include "lp_redis.h"

/* Per pupil of the snapshot: what identifies it and what must be unchanged when applying. */
typedef struct pupil_meta {
  char *key; /* "<school>/<ref>" */
  char *school_id, *ref;
  uint64_t pupil_revision;
  int placement_state;
  uint64_t proposal_id;
  int64_t placement_updated;
  int32_t current_vacancy; /* snapshot index of its current proposal, -1 */
  bool fixed;
} pupil_meta;

typedef struct job {
  struct lp_rematch *owner;
  bool dry_run;
  uint32_t max_changes;
  char actor[96];
  /* an lp_rematch_done (spelled out: lp_rematch.h includes lp_epoch_write.h, which needs this header) */
  void (*done)(void *arg, int code, const char *message, const Leerplek__V1__RematchResult *result);
  void *arg;
  int64_t started_unix_s;
  uint64_t base_epoch;
  eligibility_weights weights;
  int32_t pupil_count, vacancy_count;
  eligibility_pupil *pupils;
  eligibility_vacancy *vacancies;
  int32_t *company_pool; /* the preferred and excluded lists of all pupils */
  pupil_meta *meta;
  char **vacancy_ids;
  uint64_t *vacancy_revision;
  char **training_codes; /* by training index, for the help texts */
  int32_t training_count;
  uint32_t fixed_count;
  /* Filled by the worker. */
  matcher_status status;
  char error[400];
  bool problem_built, solved;
  eligibility_problem problem;
  matcher_solution solution;
  eligibility_explanation *explanations;
  int64_t dual_bound;          /* the verifier's dual value */
  int32_t warm_changed_pupils; /* pupils the solve's warm start checked as changed (RematchResult field) */
  uint64_t snapshot_us, snapshot_copy_us, candidates_us, solve_us, explain_us, write_us;
  uint64_t lock_us, verify_us, finish_us;
  uint64_t loop_max_step_us; /* the longest slice of the snapshot */
  uint32_t snapshot_slices;
  /* The memory at the end of each phase so far (RematchResult.phase_memory; "write" is added to
   * the result itself once the epoch is applied). */
  struct {
    const char *phase;
    uint64_t rss_bytes, peak_rss_bytes;
  } phase_memory[8];
  int phase_memory_count;
  long long t_apply_start, t_started, t_requested;
} job;

static inline long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline uint64_t parse_u64(const redisReply *reply) {
  if (!reply || reply->type != REDIS_REPLY_STRING) return 0;
  return strtoull(reply->str, NULL, 10);
}

#endif
