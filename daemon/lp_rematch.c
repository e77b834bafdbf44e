/* lp_rematch: runs a rematch. On the loop: take the Redis lock (SET NX PX, so one rematch at a
 * time across daemons) and read the epoch, one script sent on the store's link (the loop never
 * waits for Redis: the rematch goes on from its reply), copy what matching needs into plain arrays (the
 * snapshot, in slices of a few ms: calls are served in between). In a worker thread, touching only the snapshot and the
 * previous result: build the problem (eligibility_build), solve it warm from the previous rematch, prove it
 * (matcher_verify), check every new proposal against the rules (eligibility_is_eligible) and explain the unplaced. Back
 * on the loop (event_active, thread-safe with evthread_use_pthreads): re-check each change against the live state (a
 * write that arrived meanwhile wins; the next rematch picks it up), stage the changed records in Redis in bounded
 * chunks, make them current in bounded slices behind a promote marker, the new epoch with the last, put them in memory
 * in slices, release the lock, reply ("the epoch write" below: every step is one short loop callback, so calls are
 * served in between). */
#include "lp_rematch.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_deadlines.h"
#include "lp_records.h"
#include "lp_log.h"
#include "lp_rules.h"
#include "lp_redis.h"
#include "lp_store.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define LOCK_KEY LP_REMATCH_LOCK_KEY
#define MAX_CHANGES_DEFAULT 100u
#define MAX_CHANGES_LIMIT 1000u

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

/* What the previous applied rematch left for the next one's warm start, by stable ids. */
typedef struct warm_memory {
  size_t pupil_count;
  char **pupil_keys;    /* sorted (the snapshot walks the sorted placement map) */
  char **pupil_vacancy; /* its vacancy id, NULL when unplaced */
  size_t vacancy_count;
  char **vacancy_ids; /* sorted */
  int64_t *vacancy_price;
  /* The previous problem's inputs and pairs, so that the next build searches again only the
   * pupils and vacancies whose rule inputs changed (eligibility_build_reusing). */
  eligibility_pupil *pupils;      /* [pupil_count], by pupil_keys */
  int32_t *company_pool;          /* their preferred and excluded lists point here */
  eligibility_vacancy *vacancies; /* [vacancy_count], by vacancy_ids */
  eligibility_weights weights;
  matcher_pair *pairs;
  int32_t *pair_distance_m;
  int64_t pair_count;
  int64_t *unplaced_penalty; /* [pupil_count] */
} warm_memory;

typedef struct job {
  lp_rematch *owner;
  bool dry_run;
  uint32_t max_changes;
  char actor[96];
  lp_rematch_done *done;
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
  int64_t dual_bound; /* the verifier's dual value */
  uint64_t snapshot_us, candidates_us, solve_us, explain_us, write_us;
  uint64_t lock_us, verify_us, finish_us;
  uint64_t loop_max_step_us; /* the longest slice of the snapshot */
  long long t_apply_start, t_started, t_requested;
} job;

struct lp_rematch {
  lp_daemon *daemon;
  lp_after_nightly *after_nightly; /* the referrals' dispatch (lp_rematch_set_after_nightly) */
  struct lock_request *locking;    /* a rematch waiting for Redis' answer to its lock, or NULL */
  struct event *finished;          /* activated by the worker */
  struct event *nightly;
  pthread_t thread;
  bool thread_live;
  pthread_t cleaner; /* frees what the last rematch left (free_in_background) */
  bool cleaner_live;
  warm_memory retired_warm; /* the warm memory the last epoch replaced, until finish frees it */
  job *running;
  warm_memory warm;
  uint64_t epoch;                     /* the last epoch seen in Redis */
  uint64_t manual_last;               /* the last manual proposal id issued (lp:manual:last) */
  Leerplek__V1__RematchResult *last;  /* summary of the last applied rematch */
  Leerplek__V1__RematchResult *reply; /* the result being answered */
  struct epoch_write *write;          /* the epoch write under way */
  struct snapshot_walk *snapshot;     /* the snapshot under way */
  char lock_value[96];
};

static lp_rematch *the_rematch;

void lp_rematch_set_after_nightly(lp_rematch *rematch, lp_after_nightly *after) { rematch->after_nightly = after; }

lp_rematch *lp_rematch_of(const lp_daemon *daemon) {
  return the_rematch && the_rematch->daemon == daemon ? the_rematch : NULL;
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the sorted-key lookups ------------------------------------------------------------ */

static long strings_index(char *const *keys, size_t count, const char *key) {
  size_t lo = 0, hi = count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(keys[mid], key);
    if (c == 0) return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static void warm_free(warm_memory *warm) {
  for (size_t i = 0; i < warm->pupil_count; i++) free(warm->pupil_keys[i]), free(warm->pupil_vacancy[i]);
  for (size_t j = 0; j < warm->vacancy_count; j++) free(warm->vacancy_ids[j]);
  free(warm->pupil_keys);
  free(warm->pupil_vacancy);
  free(warm->vacancy_ids);
  free(warm->vacancy_price);
  free(warm->pupils);
  free(warm->company_pool);
  free(warm->vacancies);
  free(warm->pairs);
  free(warm->pair_distance_m);
  free(warm->unplaced_penalty);
  memset(warm, 0, sizeof *warm);
}

static void job_free(job *job) {
  if (!job) return;
  for (int32_t i = 0; job->meta && i < job->pupil_count; i++) {
    free(job->meta[i].key);
    free(job->meta[i].school_id);
    free(job->meta[i].ref);
  }
  for (int32_t j = 0; job->vacancy_ids && j < job->vacancy_count; j++) free(job->vacancy_ids[j]);
  for (int32_t t = 0; job->training_codes && t < job->training_count; t++) free(job->training_codes[t]);
  free(job->training_codes);
  free(job->meta);
  free(job->vacancy_ids);
  free(job->vacancy_revision);
  free(job->pupils);
  free(job->vacancies);
  free(job->company_pool);
  free(job->explanations);
  if (job->problem_built) eligibility_problem_free(&job->problem);
  if (job->solved) matcher_solution_free(&job->solution);
  free(job);
}

/* What a finished rematch leaves: some 100 MB at flanders size in large arrays (the problem,
 * the previous warm memory) and 50,000 small strings, tens of milliseconds of free() that
 * the loop need not wait for. */
typedef struct leftovers {
  job *job;
  warm_memory warm;
} leftovers;

static void *free_leftovers(void *arg) {
  leftovers *left = arg;
  job_free(left->job);
  warm_free(&left->warm);
  free(left);
  return NULL;
}

/* Frees job (may be NULL) and warm (emptied) on a thread of their own; the one before is
 * joined first, so at most one runs. */
static void free_in_background(lp_rematch *rematch, job *job, warm_memory *warm) {
  leftovers *left = lp_calloc(1, sizeof *left);
  left->job = job;
  if (warm) left->warm = *warm, memset(warm, 0, sizeof *warm);
  if (rematch->cleaner_live) pthread_join(rematch->cleaner, NULL);
  rematch->cleaner_live = pthread_create(&rematch->cleaner, NULL, free_leftovers, left) == 0;
  if (!rematch->cleaner_live) free_leftovers(left);
}

/* ---- snapshot (on the loop) ------------------------------------------------------------ */

static bool is_considered(int state) {
  return state == PSTATE(WAITING) || state == PSTATE(DECLINED) || state == PSTATE(PROPOSED) ||
         state == PSTATE(ACCEPTED) || state == PSTATE(AGREEMENT);
}

/* The snapshot is taken in slices of about SNAPSHOT_SLICE_US on the loop (calls are served in
 * between; at 20,000 pupils and 30,000 vacancies it is some 70 ms of copying), and of at most
 * SNAPSHOT_SLICE_ENTRIES records (so that tests of a few hundred see several): first the
 * vacancies, then the pupils, each walk resuming after the last key it copied. What a write
 * changes meanwhile is as safe as a write that comes after the snapshot: the apply re-checks
 * every record it changes against the live state (revisions). What must not move between
 * slices are the ranks of the companies and trainings (eligibility refers to them by index):
 * each slice first checks that their keys are those of the first slice, and the snapshot
 * starts again when they are not (at most SNAPSHOT_RESTARTS times, then it is taken whole). */
enum { SNAPSHOT_SLICE_US = 2000, SNAPSHOT_SLICE_ENTRIES = 256, SNAPSHOT_CLOCK_EVERY = 32, SNAPSHOT_RESTARTS = 3 };

typedef struct snapshot_walk {
  lp_rematch *rematch;
  job *job;
  struct event *step;
  int phase;   /* 0 vacancies, 1 pupils, 2 done */
  char *after; /* the last key copied in this phase, NULL before the first */
  char **company_keys, **training_keys;
  size_t company_count, training_count;
  size_t pupil_capacity, vacancy_capacity;
  int32_t **pool_blocks; /* the company lists of the pupils, one block per slice */
  size_t pool_block_count;
  int restarts;
  long long started_us;
} snapshot_walk;

static char **copy_keys(const lp_map *map) {
  char **keys = lp_calloc(map->count + 1, sizeof *keys);
  for (size_t k = 0; k < map->count; k++) keys[k] = lp_strdup(map->entries[k].key);
  return keys;
}

static void free_keys(char **keys, size_t count) {
  for (size_t k = 0; keys && k < count; k++) free(keys[k]);
  free(keys);
}

static bool same_keys(const lp_map *map, char *const *keys, size_t count) {
  if (map->count != count) return false;
  for (size_t k = 0; k < count; k++)
    if (strcmp(map->entries[k].key, keys[k]) != 0) return false;
  return true;
}

static void walk_reset(snapshot_walk *walk) {
  free(walk->after);
  walk->after = NULL;
  free_keys(walk->company_keys, walk->company_count);
  free_keys(walk->training_keys, walk->training_count);
  walk->company_keys = walk->training_keys = NULL;
  for (size_t b = 0; b < walk->pool_block_count; b++) free(walk->pool_blocks[b]);
  free(walk->pool_blocks);
  walk->pool_blocks = NULL;
  walk->pool_block_count = 0;
}

static void walk_free(snapshot_walk *walk) {
  if (!walk) return;
  walk_reset(walk);
  if (walk->step) event_free(walk->step);
  free(walk);
}

/* A new job's arrays, sized for the state as it is now (they grow if it grows). */
static void walk_begin(snapshot_walk *walk) {
  const lp_state *state = &walk->rematch->daemon->state;
  job *job = walk->job;
  const lp_map *trainings = &state->maps[LP_KIND_TRAINING];
  walk->company_keys = copy_keys(&state->maps[LP_KIND_COMPANY]);
  walk->company_count = state->maps[LP_KIND_COMPANY].count;
  walk->training_keys = copy_keys(trainings);
  walk->training_count = trainings->count;
  walk->phase = 0;
  walk->pupil_capacity = state->maps[LP_KIND_PLACEMENT].count + 1;
  walk->vacancy_capacity = state->maps[LP_KIND_VACANCY].count + 1;
  job->pupil_count = job->vacancy_count = 0;
  job->fixed_count = 0;
  job->pupils = lp_calloc(walk->pupil_capacity, sizeof *job->pupils);
  job->meta = lp_calloc(walk->pupil_capacity, sizeof *job->meta);
  job->vacancies = lp_calloc(walk->vacancy_capacity, sizeof *job->vacancies);
  job->vacancy_ids = lp_calloc(walk->vacancy_capacity, sizeof *job->vacancy_ids);
  job->vacancy_revision = lp_calloc(walk->vacancy_capacity, sizeof *job->vacancy_revision);
  job->training_count = (int32_t)trainings->count;
  job->training_codes = lp_calloc(trainings->count + 1, sizeof *job->training_codes);
  for (size_t t = 0; t < trainings->count; t++) job->training_codes[t] = lp_strdup(trainings->entries[t].key);
}

/* Frees what the job's snapshot holds so far (the job itself stays). */
static void job_drop_snapshot(job *job) {
  for (int32_t i = 0; job->meta && i < job->pupil_count; i++) {
    free(job->meta[i].key);
    free(job->meta[i].school_id);
    free(job->meta[i].ref);
  }
  for (int32_t j = 0; job->vacancy_ids && j < job->vacancy_count; j++) free(job->vacancy_ids[j]);
  for (int32_t t = 0; job->training_codes && t < job->training_count; t++) free(job->training_codes[t]);
  free(job->training_codes), free(job->meta), free(job->vacancy_ids), free(job->vacancy_revision);
  free(job->pupils), free(job->vacancies), free(job->company_pool);
  job->training_codes = NULL, job->meta = NULL, job->vacancy_ids = NULL, job->vacancy_revision = NULL;
  job->pupils = NULL, job->vacancies = NULL, job->company_pool = NULL;
  job->pupil_count = job->vacancy_count = job->training_count = 0;
}

static bool copy_vacancy(snapshot_walk *walk, const Leerplek__V1__Vacancy *vacancy) {
  job *job = walk->job;
  if ((size_t)job->vacancy_count + 1 >= walk->vacancy_capacity) {
    walk->vacancy_capacity *= 2;
    job->vacancies = lp_realloc(job->vacancies, walk->vacancy_capacity * sizeof *job->vacancies);
    job->vacancy_ids = lp_realloc(job->vacancy_ids, walk->vacancy_capacity * sizeof *job->vacancy_ids);
    job->vacancy_revision = lp_realloc(job->vacancy_revision, walk->vacancy_capacity * sizeof *job->vacancy_revision);
  }
  int32_t j = job->vacancy_count++;
  job->vacancy_ids[j] = lp_strdup(vacancy->id);
  job->vacancy_revision[j] = vacancy->revision;
  lp_rules_vacancy(&walk->rematch->daemon->state, vacancy, &job->vacancies[j]);
  return true;
}

/* Copies the pupil of placement entry (key) if matching considers it; its company lists go to
 * pool (room checked by the caller). Returns the slots it used. */
static size_t copy_pupil(snapshot_walk *walk, const char *key, const Leerplek__V1__Placement *placement,
                         const Leerplek__V1__Pupil *pupil, int32_t *pool) {
  const lp_state *state = &walk->rematch->daemon->state;
  job *job = walk->job;
  if (!pupil || !pupil->home || !is_considered(placement->state)) return 0;
  /* A pinned proposal holds its seat like an accepted one (PRIORITY ORDER in the proto). */
  bool fixed = placement->state == PSTATE(ACCEPTED) || placement->state == PSTATE(AGREEMENT) ||
               (placement->state == PSTATE(PROPOSED) && placement->pinned);
  bool holds = placement->offer && placement->proposal_id;
  long current = holds ? strings_index(job->vacancy_ids, (size_t)job->vacancy_count, placement->offer->vacancy_id) : -1;
  /* Its vacancy came after the vacancies were copied: the next rematch sees the pair. */
  if (holds && current < 0 && lp_state_get(state, LP_KIND_VACANCY, placement->offer->vacancy_id)) return 0;
  /* A fixed pair whose vacancy is gone or closed holds no seat the rematch could give away. */
  if (fixed && (current < 0 || !job->vacancies[current].open)) return 0;
  if ((size_t)job->pupil_count + 1 >= walk->pupil_capacity) {
    walk->pupil_capacity *= 2;
    job->pupils = lp_realloc(job->pupils, walk->pupil_capacity * sizeof *job->pupils);
    job->meta = lp_realloc(job->meta, walk->pupil_capacity * sizeof *job->meta);
  }
  eligibility_pupil *out = &job->pupils[job->pupil_count];
  pupil_meta *meta = &job->meta[job->pupil_count];
  memset(meta, 0, sizeof *meta);
  job->pupil_count++;
  meta->key = lp_strdup(key);
  meta->school_id = lp_strdup(pupil->school_id);
  meta->ref = lp_strdup(pupil->ref);
  meta->pupil_revision = pupil->revision;
  meta->placement_state = placement->state;
  meta->proposal_id = placement->proposal_id;
  meta->placement_updated = placement->updated_unix_s;
  meta->current_vacancy = placement->state == PSTATE(PROPOSED) || fixed ? (int32_t)current : -1;
  meta->fixed = fixed;
  if (fixed) job->fixed_count++;
  lp_rules_pupil(state, pupil, placement, job->started_unix_s, pool, out);
  out->proposed_vacancy = placement->state == PSTATE(PROPOSED) && !fixed ? (int32_t)current : -1;
  out->fixed_vacancy = fixed ? (int32_t)current : -1;
  return (size_t)(out->preferred_count + out->excluded_count);
}

/* The company lists of all pupils in one array (the warm memory keeps it with the pupils). */
static void walk_join_pools(snapshot_walk *walk) {
  job *job = walk->job;
  size_t total = 0;
  for (int32_t i = 0; i < job->pupil_count; i++)
    total += (size_t)(job->pupils[i].preferred_count + job->pupils[i].excluded_count);
  job->company_pool = lp_calloc(total + 1, sizeof *job->company_pool);
  size_t used = 0;
  for (int32_t i = 0; i < job->pupil_count; i++) {
    eligibility_pupil *pupil = &job->pupils[i];
    if (pupil->preferred_count) {
      memcpy(job->company_pool + used, pupil->preferred_companies,
             (size_t)pupil->preferred_count * sizeof *job->company_pool);
      pupil->preferred_companies = job->company_pool + used;
      used += (size_t)pupil->preferred_count;
    }
    if (pupil->excluded_count) {
      memcpy(job->company_pool + used, pupil->excluded_companies,
             (size_t)pupil->excluded_count * sizeof *job->company_pool);
      pupil->excluded_companies = job->company_pool + used;
      used += (size_t)pupil->excluded_count;
    }
  }
  for (size_t b = 0; b < walk->pool_block_count; b++) free(walk->pool_blocks[b]);
  free(walk->pool_blocks);
  walk->pool_blocks = NULL;
  walk->pool_block_count = 0;
}

/* One slice of the walk; true when the snapshot is complete. whole: no time limit. */
static bool snapshot_slice(snapshot_walk *walk, bool whole) {
  const lp_state *state = &walk->rematch->daemon->state;
  job *job = walk->job;
  long long started = now_us();
  if (!same_keys(&state->maps[LP_KIND_COMPANY], walk->company_keys, walk->company_count) ||
      !same_keys(&state->maps[LP_KIND_TRAINING], walk->training_keys, walk->training_count)) {
    walk->restarts++;
    LP_INFO("rematch: the companies or trainings changed during the snapshot; it starts again");
    walk_reset(walk);
    job_drop_snapshot(job);
    walk_begin(walk);
  }
  if (walk->phase == 0) {
    const lp_map *vacancies = &state->maps[LP_KIND_VACANCY];
    size_t k = lp_map_after(vacancies, walk->after);
    for (size_t n = 0; k < vacancies->count; k++, n++) {
      if (!whole && (n == SNAPSHOT_SLICE_ENTRIES ||
                     (n % SNAPSHOT_CLOCK_EVERY == SNAPSHOT_CLOCK_EVERY - 1 && now_us() - started > SNAPSHOT_SLICE_US)))
        break;
      copy_vacancy(walk, vacancies->entries[k].value);
    }
    free(walk->after);
    walk->after = k > 0 && k < vacancies->count ? lp_strdup(vacancies->entries[k - 1].key) : NULL;
    if (k < vacancies->count) return false;
    walk->phase = 1;
    walk->after = NULL;
  }
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT];
  size_t k = lp_map_after(placements, walk->after), first = k, slots = 0, end;
  /* This slice's pupils and how many company slots their lists may take, then one block. */
  for (end = k; end < placements->count && (whole || end - first < SNAPSHOT_SLICE_ENTRIES); end++) {
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, placements->entries[end].key);
    if (pupil) slots += lp_rules_company_slots(pupil);
  }
  int32_t *pool = lp_calloc(slots + 1, sizeof *pool);
  walk->pool_blocks = lp_realloc(walk->pool_blocks, (walk->pool_block_count + 1) * sizeof *walk->pool_blocks);
  walk->pool_blocks[walk->pool_block_count++] = pool;
  size_t used = 0;
  for (size_t n = 0; k < end; k++, n++) {
    if (!whole && n % SNAPSHOT_CLOCK_EVERY == SNAPSHOT_CLOCK_EVERY - 1 && now_us() - started > SNAPSHOT_SLICE_US) break;
    const char *key = placements->entries[k].key;
    used += copy_pupil(walk, key, placements->entries[k].value, lp_state_get(state, LP_KIND_PUPIL, key), pool + used);
  }
  free(walk->after);
  walk->after = k > 0 && k < placements->count ? lp_strdup(placements->entries[k - 1].key) : NULL;
  if (k < placements->count) return false;
  walk->phase = 2;
  walk_join_pools(walk);
  return true;
}

/* ---- the worker ------------------------------------------------------------------------ */

/* The previous result re-indexed to this snapshot's pupils and vacancies (by stable ids). */
static void build_warm(const warm_memory *warm, const job *job, int32_t *vacancy_of_pupil, int64_t *vacancy_price) {
  for (int32_t j = 0; j < job->vacancy_count; j++) {
    long prev = strings_index(warm->vacancy_ids, warm->vacancy_count, job->vacancy_ids[j]);
    vacancy_price[j] = prev >= 0 ? warm->vacancy_price[prev] : 0;
  }
  for (int32_t i = 0; i < job->pupil_count; i++) {
    long prev = strings_index(warm->pupil_keys, warm->pupil_count, job->meta[i].key);
    if (prev < 0) {
      vacancy_of_pupil[i] = MATCHER_UNKNOWN;
    } else if (!warm->pupil_vacancy[prev]) {
      vacancy_of_pupil[i] = MATCHER_UNPLACED;
    } else {
      long j = strings_index(job->vacancy_ids, (size_t)job->vacancy_count, warm->pupil_vacancy[prev]);
      vacancy_of_pupil[i] = j >= 0 ? (int32_t)j : MATCHER_UNKNOWN;
    }
  }
}

/* The previous rematch's problem for eligibility_build_reusing, with this snapshot's pupils
 * and vacancies matched to its by stable ids (arrays owned by the caller); false when there is
 * none. */
static bool previous_problem(const warm_memory *warm, const job *job, eligibility_previous *previous) {
  if (!warm->pairs) return false;
  int32_t *same_pupil = lp_malloc(((size_t)job->pupil_count + 1) * sizeof *same_pupil);
  int32_t *same_vacancy = lp_malloc(((size_t)job->vacancy_count + 1) * sizeof *same_vacancy);
  for (int32_t i = 0; i < job->pupil_count; i++)
    same_pupil[i] = (int32_t)strings_index(warm->pupil_keys, warm->pupil_count, job->meta[i].key);
  for (int32_t j = 0; j < job->vacancy_count; j++)
    same_vacancy[j] = (int32_t)strings_index(warm->vacancy_ids, warm->vacancy_count, job->vacancy_ids[j]);
  *previous = (eligibility_previous){warm->pupils,
                                     (int32_t)warm->pupil_count,
                                     warm->vacancies,
                                     (int32_t)warm->vacancy_count,
                                     warm->weights,
                                     warm->pairs,
                                     warm->pair_distance_m,
                                     warm->pair_count,
                                     same_pupil,
                                     same_vacancy};
  return true;
}

/* The matcher's pupil_changed: a pupil is new, or its penalty, its pairs or their costs differ
 * from the previous problem's (matcher_warm_start says why that is all it needs). The pairs of
 * both problems are grouped by pupil with vacancies ascending, and the vacancies of both are
 * sorted by id, so a pupil's pairs compare in order. */
static uint8_t *changed_pupils(const warm_memory *warm, const job *job, const eligibility_previous *previous) {
  int64_t *first = lp_calloc(warm->pupil_count + 2, sizeof *first);
  for (int64_t k = 0; k < warm->pair_count; k++) first[warm->pairs[k].pupil + 1]++;
  for (size_t p = 0; p < warm->pupil_count; p++) first[p + 1] += first[p];
  uint8_t *changed = lp_calloc((size_t)job->pupil_count + 1, 1);
  const matcher_pair *pairs = job->problem.pairs;
  int64_t count = job->problem.problem.pair_count, k = 0;
  for (int32_t i = 0; i < job->pupil_count; i++) {
    int64_t begin = k;
    while (k < count && pairs[k].pupil == i) k++;
    int32_t p = previous->same_pupil[i];
    if (p < 0 || warm->unplaced_penalty[p] != job->problem.unplaced_penalty[i] ||
        (warm->pupils[p].fixed_vacancy >= 0) != (job->pupils[i].fixed_vacancy >= 0) ||
        first[p + 1] - first[p] != k - begin) {
      changed[i] = 1;
      continue;
    }
    for (int64_t n = 0; n < k - begin && !changed[i]; n++) {
      const matcher_pair *now = &pairs[begin + n], *then = &warm->pairs[first[p] + n];
      changed[i] = previous->same_vacancy[now->vacancy] != then->vacancy || now->cost != then->cost;
    }
  }
  free(first);
  return changed;
}

static void *worker_main(void *arg) {
  job *job = arg;
  lp_rematch *rematch = job->owner;
  matcher_error error = {{0}};
  long long t0 = now_us();
  eligibility_previous previous;
  bool reusing = previous_problem(&rematch->warm, job, &previous);
  job->status = eligibility_build_reusing(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count,
                                          &job->weights, reusing ? &previous : NULL, &job->problem, &error);
  uint8_t *pupil_changed = NULL;
  if (job->status == MATCHER_OK && reusing) pupil_changed = changed_pupils(&rematch->warm, job, &previous);
  if (reusing) free((void *)previous.same_pupil), free((void *)previous.same_vacancy);
  long long t1 = now_us();
  job->candidates_us = (uint64_t)(t1 - t0);
  if (job->status != MATCHER_OK) {
    free(pupil_changed);
    snprintf(job->error, sizeof job->error, "building the matching problem failed (%s): %s",
             matcher_status_name(job->status), error.message);
    goto out;
  }
  job->problem_built = true;
  int32_t *warm_vacancy_of = NULL;
  int64_t *warm_price = NULL;
  matcher_warm_start warm = {0};
  if (rematch->warm.pupil_count || rematch->warm.vacancy_count) {
    warm_vacancy_of = lp_calloc((size_t)job->pupil_count + 1, sizeof *warm_vacancy_of);
    warm_price = lp_calloc((size_t)job->vacancy_count + 1, sizeof *warm_price);
    build_warm(&rematch->warm, job, warm_vacancy_of, warm_price);
    warm.vacancy_of_pupil = warm_vacancy_of;
    warm.vacancy_price = warm_price;
    /* NULL without a previous problem: every pupil is checked. */
    warm.pupil_changed = pupil_changed;
  }
  job->status = matcher_solve(&job->problem.problem, warm.vacancy_of_pupil ? &warm : NULL, &job->solution, &error);
  free(warm_vacancy_of);
  free(warm_price);
  free(pupil_changed);
  job->solve_us = (uint64_t)(now_us() - t1);
  if (job->status != MATCHER_OK) {
    snprintf(job->error, sizeof job->error, "solving failed (%s): %s", matcher_status_name(job->status), error.message);
    goto out;
  }
  job->solved = true;
  long long t_verify = now_us();
  job->status = matcher_verify_bound(&job->problem.problem, &job->solution, &job->dual_bound, &error);
  if (job->status != MATCHER_OK) {
    snprintf(job->error, sizeof job->error, "the solution did not pass matcher_verify (%s): %s; nothing applied",
             matcher_status_name(job->status), error.message);
    goto out;
  }
  /* Every proposal the rematch makes, checked by the pair rule, independent of the grid. */
  for (int32_t i = 0; i < job->pupil_count; i++) {
    int32_t to = job->solution.vacancy_of_pupil[i];
    if (to < 0 || to == job->meta[i].current_vacancy || job->meta[i].fixed) continue;
    if (!eligibility_is_eligible(&job->pupils[i], &job->vacancies[to], &job->weights)) {
      job->status = MATCHER_INVALID;
      snprintf(job->error, sizeof job->error,
               "proposal of pupil %s to vacancy %s breaks the eligibility rules; nothing applied", job->meta[i].key,
               job->vacancy_ids[to]);
      goto out;
    }
  }
  job->explanations = lp_calloc((size_t)job->pupil_count + 1, sizeof *job->explanations);
  long long t2 = now_us();
  job->verify_us = (uint64_t)(t2 - t_verify);
  eligibility_names names = {(const char *const *)job->vacancy_ids, (const char *const *)job->training_codes,
                             job->training_count};
  job->status = eligibility_explain(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count, &job->weights,
                                    &job->problem, &job->solution, &names, job->explanations, &error);
  job->explain_us = (uint64_t)(now_us() - t2);
  if (job->status != MATCHER_OK)
    snprintf(job->error, sizeof job->error, "explaining failed (%s): %s", matcher_status_name(job->status),
             error.message);
out:
  event_active(rematch->finished, EV_READ, 0);
  return NULL;
}

/* ---- lock and epoch (async commands on the store's link) ------------------------------ */

static uint64_t parse_u64(const redisReply *reply) {
  if (!reply || reply->type != REDIS_REPLY_STRING) return 0;
  return strtoull(reply->str, NULL, 10);
}

/* Deletes only our own lock: after an expiry another daemon may hold it. */
static const char RELEASE_SCRIPT[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

static void result_free(Leerplek__V1__RematchResult *result);

/* A release on its way, and the answer to give once Redis has done it: whoever hears that a
 * rematch is over may start the next one at once, on any daemon. */
typedef struct release_request {
  unsigned ttl_ms;
  long long requested_us; /* when the rematch was asked for (total_us) */
  lp_rematch_done *done;  /* NULL: nobody to answer */
  void *arg;
  int code;
  char message[512];
  Leerplek__V1__RematchResult *result; /* owned */
} release_request;

static void answer_released(release_request *release) {
  if (release->result) release->result->total_us = (uint64_t)(now_us() - release->requested_us);
  if (release->done) release->done(release->arg, release->code, release->message, release->result);
  result_free(release->result);
  free(release);
}

static void on_lock_released(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  redisReply *reply = reply_pointer;
  release_request *release = privdata;
  if (!reply)
    LP_WARN("releasing %s failed: lost the link to redis; it expires after %u ms", LOCK_KEY, release->ttl_ms);
  else if (reply->type == REDIS_REPLY_ERROR)
    LP_WARN("redis refused to release %s: %s; it expires after %u ms", LOCK_KEY, reply->str, release->ttl_ms);
  answer_released(release);
}

/* When the loop has stopped (the store is gone or closing), a short synchronous link does
 * what the store's link no longer can: nothing is served any more that it could hold up. */
static void run_after_loop(lp_rematch *rematch, const char *what, const char *script, const char *lock_value) {
  char message[300];
  redisContext *redis = lp_redis_connect_sync(&rematch->daemon->config, message, sizeof message);
  redisReply *reply = redis ? redisCommand(redis, "EVAL %s 1 %s %s", script, LOCK_KEY, lock_value) : NULL;
  if (!reply || reply->type == REDIS_REPLY_ERROR)
    LP_WARN("%s failed (%s); the lock expires after %u ms", what,
            reply   ? reply->str
            : redis ? redis->errstr
                    : message,
            rematch->daemon->config.rematch_lock_ttl_ms);
  if (reply) freeReplyObject(reply);
  if (redis) redisFree(redis);
}

static bool loop_stopped(const lp_rematch *rematch) {
  return !rematch->daemon->store || lp_store_closing(rematch->daemon->store);
}

/* Releases the lock, then answers as release says (takes it). */
static void release_lock_then(lp_rematch *rematch, release_request *release) {
  release->ttl_ms = rematch->daemon->config.rematch_lock_ttl_ms;
  if (loop_stopped(rematch)) {
    run_after_loop(rematch, "releasing " LOCK_KEY, RELEASE_SCRIPT, rematch->lock_value);
    answer_released(release);
    return;
  }
  if (lp_store_send(rematch->daemon->store, on_lock_released, release, "EVAL %s 1 %s %s", RELEASE_SCRIPT, LOCK_KEY,
                    rematch->lock_value) != 0) {
    LP_WARN("cannot release %s (no link to redis); it expires after %u ms", LOCK_KEY, release->ttl_ms);
    answer_released(release);
  }
}

/* Takes the lock (SET NX PX) and reads the epoch in one round trip: {1 or 0, epoch or nil}. */
static const char LOCK_SCRIPT[] = "local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])\n"
                                  "return {ok and 1 or 0, redis.call('GET', KEYS[2])}\n";

/* A rematch asked for, its lock on the way. */
typedef struct lock_request {
  lp_rematch *rematch; /* NULL once abandoned (timed out, or the rematch freed) */
  bool dry_run;
  uint32_t max_changes;
  char actor[96];
  lp_rematch_done *done;
  void *arg;
  char lock_value[96];
  struct event *timeout; /* answers UNAVAILABLE when Redis does not within redis_timeout_ms */
  long long requested_us;
} lock_request;

static void lock_request_free(lock_request *request) {
  if (request->timeout) event_free(request->timeout);
  free(request);
}

static void start_locked(lp_rematch *rematch, lock_request *request, uint64_t epoch);

static void on_lock_reply(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  lock_request *request = privdata;
  redisReply *reply = reply_pointer;
  lp_rematch *rematch = request->rematch;
  bool locked = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 1;
  if (!rematch) { /* abandoned: a lock that came too late is given back */
    if (locked) redisAsyncCommand(redis, NULL, NULL, "EVAL %s 1 %s %s", RELEASE_SCRIPT, LOCK_KEY, request->lock_value);
    lock_request_free(request);
    return;
  }
  rematch->locking = NULL;
  char message[400];
  int code = 0;
  if (!reply) {
    snprintf(message, sizeof message, "the store is unavailable for the rematch lock: %s; retry",
             redis && redis->errstr[0] ? redis->errstr : "lost the link to redis");
    code = CODE(UNAVAILABLE);
  } else if (reply->type == REDIS_REPLY_ERROR || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
    snprintf(message, sizeof message, "the store refused the rematch lock: %s",
             reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    code = CODE(UNAVAILABLE);
  } else if (!locked) {
    snprintf(message, sizeof message,
             "another rematch is running (lock %s is held, by this or another daemon); retry when it has finished",
             LOCK_KEY);
    code = CODE(ABORTED);
  }
  if (code != 0) {
    if (request->done) request->done(request->arg, code, message, NULL);
    lock_request_free(request);
    return;
  }
  snprintf(rematch->lock_value, sizeof rematch->lock_value, "%s", request->lock_value);
  start_locked(rematch, request, parse_u64(reply->element[1]));
  lock_request_free(request);
}

static void on_lock_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lock_request *request = arg;
  lp_rematch *rematch = request->rematch;
  if (!rematch) return;
  rematch->locking = NULL;
  request->rematch = NULL; /* the reply, when it comes, frees it */
  char message[200];
  snprintf(message, sizeof message, "the store did not answer for the rematch lock within %u ms; retry",
           rematch->daemon->config.redis_timeout_ms);
  if (request->done) request->done(request->arg, CODE(UNAVAILABLE), message, NULL);
}

/* Sends the lock script; the rematch goes on in on_lock_reply. 0, or a StatusCode with
 * message when it could not be sent (request not kept). */
static int take_lock(lp_rematch *rematch, lock_request *request, char *message, size_t message_size) {
  static unsigned long long sequence;
  const lp_config *config = &rematch->daemon->config;
  snprintf(request->lock_value, sizeof request->lock_value, "%s:%llu:%lld", config->instance_id, ++sequence,
           (long long)time(NULL));
  char ttl[16];
  snprintf(ttl, sizeof ttl, "%u", config->rematch_lock_ttl_ms);
  if (lp_store_send(rematch->daemon->store, on_lock_reply, request, "EVAL %s 2 %s %s %s %s", LOCK_SCRIPT, LOCK_KEY,
                    LP_EPOCH_KEY, request->lock_value, ttl) != 0) {
    snprintf(message, message_size, "the store is unavailable for the rematch lock: no link to redis; retry");
    return CODE(UNAVAILABLE);
  }
  struct timeval timeout = {config->redis_timeout_ms / 1000, (config->redis_timeout_ms % 1000) * 1000};
  evtimer_add(request->timeout, &timeout);
  rematch->locking = request;
  return 0;
}

/* ---- results --------------------------------------------------------------------------- */

static void result_free(Leerplek__V1__RematchResult *result) {
  if (result) protobuf_c_message_free_unpacked(&result->base, NULL);
}

static int reason_of(eligibility_reason reason) { return lp_rules_reason_proto(reason); }

/* The changes and counts of a finished job. Owned by the caller as an
 * unpacked message (free with result_free). */
static Leerplek__V1__RematchResult *make_result(const job *job, uint64_t epoch) {
  Leerplek__V1__RematchResult *result = lp_calloc(1, sizeof *result);
  leerplek__v1__rematch_result__init(result);
  result->epoch = epoch;
  result->base_epoch = job->base_epoch;
  result->dry_run = job->dry_run;
  result->started_unix_s = job->started_unix_s;
  result->fixed = job->fixed_count;
  result->pupils = (uint32_t)job->pupil_count - job->fixed_count;
  for (int32_t j = 0; j < job->vacancy_count; j++) result->vacancies += job->vacancies[j].open;
  result->eligible_pairs = (uint64_t)job->problem.problem.pair_count;
  result->objective = job->solution.objective;
  result->snapshot_us = job->snapshot_us;
  result->candidates_us = job->candidates_us;
  result->solve_us = job->solve_us;
  result->explain_us = job->explain_us;
  result->lock_us = job->lock_us;
  result->verify_us = job->verify_us;
  result->apply_max_step_us = job->loop_max_step_us; /* the epoch write's steps follow */
  /* The worker refuses any solution matcher_verify does not prove, so reaching here is the proof. */
  result->proven_optimal = job->dual_bound == job->solution.objective;
  result->dual_bound = job->dual_bound;
  uint32_t by_reason[7] = {0};
  size_t change_capacity = job->max_changes;
  result->changes = lp_calloc(change_capacity + 1, sizeof *result->changes);
  for (int32_t i = 0; i < job->pupil_count; i++) {
    const pupil_meta *meta = &job->meta[i];
    if (meta->fixed) continue;
    int32_t from = meta->current_vacancy, to = job->solution.vacancy_of_pupil[i];
    if (to >= 0)
      result->placed++;
    else {
      result->unplaced++;
      if (job->explanations[i].hint != ELIGIBILITY_HINT_NONE) result->hints_checked++;
      if (job->explanations[i].hint_unchecked) result->hints_unchecked++;
      int reason = reason_of(job->explanations[i].reason);
      if (reason > 0 && reason < 7) by_reason[reason]++;
    }
    if (from == to) continue;
    Leerplek__V1__ChangeKind kind = from < 0 ? LEERPLEK__V1__CHANGE_KIND__CHANGE_KIND_PROPOSED
                                    : to < 0 ? LEERPLEK__V1__CHANGE_KIND__CHANGE_KIND_RELEASED
                                             : LEERPLEK__V1__CHANGE_KIND__CHANGE_KIND_MOVED;
    if (from < 0)
      result->newly_proposed++;
    else if (to < 0)
      result->released++;
    else
      result->moved++;
    if (result->n_changes >= change_capacity) {
      result->changes_truncated = true;
      continue;
    }
    Leerplek__V1__RematchChange *change = lp_calloc(1, sizeof *change);
    leerplek__v1__rematch_change__init(change);
    result->changes[result->n_changes++] = change;
    change->kind = kind;
    change->school_id = lp_strdup(meta->school_id);
    change->pupil_ref = lp_strdup(meta->ref);
    change->from_vacancy_id = lp_strdup(from >= 0 ? job->vacancy_ids[from] : "");
    change->to_vacancy_id = lp_strdup(to >= 0 ? job->vacancy_ids[to] : "");
    if (to >= 0) {
      const eligibility_pupil *p = &job->pupils[i];
      const eligibility_vacancy *v = &job->vacancies[to];
      change->distance_m = (uint32_t)eligibility_distance_m(p->lat_e6, p->lon_e6, v->lat_e6, v->lon_e6);
    } else {
      change->reason = (Leerplek__V1__UnplacedReason)reason_of(job->explanations[i].reason);
    }
  }
  for (int reason = 1; reason < 7; reason++) {
    if (!by_reason[reason]) continue;
    result->unplaced_by_reason =
        lp_realloc(result->unplaced_by_reason, (result->n_unplaced_by_reason + 1) * sizeof *result->unplaced_by_reason);
    Leerplek__V1__ReasonCount *count = lp_calloc(1, sizeof *count);
    leerplek__v1__reason_count__init(count);
    count->reason = (Leerplek__V1__UnplacedReason)reason;
    count->pupils = by_reason[reason];
    result->unplaced_by_reason[result->n_unplaced_by_reason++] = count;
  }
  return result;
}

/* ---- apply (on the loop) --------------------------------------------------------------- */

/* The Offer a school sees for a proposal to vacancy. */
Leerplek__V1__Offer *lp_rematch_offer(const lp_state *state, const Leerplek__V1__Vacancy *vacancy,
                                      uint32_t distance_m) {
  const Leerplek__V1__Location *location = lp_state_get(state, LP_KIND_LOCATION, vacancy->location_id);
  const Leerplek__V1__Company *company = lp_state_get(state, LP_KIND_COMPANY, vacancy->company_id);
  Leerplek__V1__Offer offer = LEERPLEK__V1__OFFER__INIT;
  offer.vacancy_id = vacancy->id;
  offer.company_id = vacancy->company_id;
  offer.company_name = company ? company->name : (char *)"";
  offer.location_id = vacancy->location_id;
  offer.location_name = location ? location->name : (char *)"";
  offer.location_address = location ? location->address : (char *)"";
  offer.location_postcode = location ? location->postcode : (char *)"";
  offer.location_district = location ? location->district : (char *)"";
  offer.day_mask = vacancy->day_mask;
  offer.kind = vacancy->kind;
  offer.start_date = vacancy->start_date;
  offer.mentor = vacancy->mentor;
  offer.distance_m = distance_m;
  return lp_clone(&offer);
}

static Leerplek__V1__UnplacedInfo *make_unplaced(const job *job, int32_t i, uint64_t epoch) {
  const eligibility_explanation *why = &job->explanations[i];
  const eligibility_pupil *pupil = &job->pupils[i];
  Leerplek__V1__UnplacedInfo info = LEERPLEK__V1__UNPLACED_INFO__INIT;
  char help[sizeof why->help + 1];
  snprintf(help, sizeof help, "%s", why->help);
  info.reason = (Leerplek__V1__UnplacedReason)reason_of(why->reason);
  info.epoch = epoch;
  info.help = help;
  info.candidate_vacancies = why->candidates_after_rule > 0 ? (uint32_t)why->candidates_after_rule : 0;
  info.nearest_distance_m = why->nearest_distance_m > 0 ? (uint32_t)why->nearest_distance_m : 0;
  info.nearest_vacancy_id = why->nearest_vacancy >= 0 ? job->vacancy_ids[why->nearest_vacancy] : (char *)"";
  info.eligible_seats = why->eligible_seats > 0 ? (uint32_t)why->eligible_seats : 0;
  info.stronger_claims = (uint32_t)why->stronger_claims;
  info.equal_claims = (uint32_t)why->equal_claims;
  info.fixed_holders = (uint32_t)why->fixed_holders;
  info.better_claims = info.stronger_claims + info.equal_claims + info.fixed_holders;
  info.wanted_kind = pupil->readiness == READINESS_NOT_READY ? LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_PREPARATORY
                                                             : LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  info.wanted_day_mask = pupil->day_mask;
  info.wanted_within_m = (uint32_t)pupil->max_commute_m;
  info.days_waited = (uint32_t)pupil->waiting_days;
  info.hint_unchecked = why->hint_unchecked;
  if (why->hint != ELIGIBILITY_HINT_NONE) {
    info.hint_kind = why->hint == ELIGIBILITY_HINT_MORE_SEATS ? LEERPLEK__V1__HINT_KIND__HINT_KIND_MORE_SEATS
                                                              : LEERPLEK__V1__HINT_KIND__HINT_KIND_NEW_PLACE;
    info.hint_vacancy_id = why->hint_vacancy >= 0 ? job->vacancy_ids[why->hint_vacancy] : (char *)"";
    info.hint_seats = (uint32_t)why->hint_seats;
    info.hint_new_company = why->hint_new_company;
    info.hint_distance_m = (uint32_t)why->hint_distance_m;
  }
  return lp_clone(&info);
}

static bool same_unplaced(const Leerplek__V1__UnplacedInfo *a, const Leerplek__V1__UnplacedInfo *b) {
  if (!a || !b) return false;
  /* Equal as stored (the epoch aside): pack both with the same epoch and compare the bytes. */
  Leerplek__V1__UnplacedInfo left = *a, right = *b;
  left.epoch = right.epoch = 0;
  size_t size = protobuf_c_message_get_packed_size(&left.base);
  if (size != protobuf_c_message_get_packed_size(&right.base)) return false;
  uint8_t stack_left[1024], stack_right[1024];
  if (size > sizeof stack_left) return false;
  protobuf_c_message_pack(&left.base, stack_left);
  protobuf_c_message_pack(&right.base, stack_right);
  return memcmp(stack_left, stack_right, size) == 0;
}

/* Whether the pupil and its placement are as the snapshot saw them (else a write won). */
static bool pupil_unchanged(const lp_state *state, const pupil_meta *meta) {
  const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, meta->key);
  const Leerplek__V1__Placement *placement = lp_state_get(state, LP_KIND_PLACEMENT, meta->key);
  return pupil && placement && pupil->revision == meta->pupil_revision &&
         (int)placement->state == meta->placement_state && placement->proposal_id == meta->proposal_id &&
         placement->updated_unix_s == meta->placement_updated;
}

static void finish(lp_rematch *rematch, job *job, int code, const char *message);

/* The epoch is current in Redis and in memory: keep the solution for tomorrow's warm start
 * and answer. */
static void epoch_applied(lp_rematch *rematch, job *job) {
  long long started = now_us();
  job->write_us = rematch->reply->write_us;
  rematch->epoch = rematch->reply->epoch;
  /* Keep this solution for tomorrow's warm start, by stable ids. */
  warm_memory warm = {0};
  warm.pupil_keys = lp_calloc((size_t)job->pupil_count + 1, sizeof(char *));
  warm.pupil_vacancy = lp_calloc((size_t)job->pupil_count + 1, sizeof(char *));
  warm.vacancy_ids = job->vacancy_ids;
  warm.vacancy_price = job->solution.vacancy_price;
  warm.vacancy_count = (size_t)job->vacancy_count;
  warm.pupil_count = (size_t)job->pupil_count;
  for (int32_t i = 0; i < job->pupil_count; i++) {
    int32_t to = job->solution.vacancy_of_pupil[i];
    warm.pupil_keys[i] = job->meta[i].key;
    job->meta[i].key = NULL;
    warm.pupil_vacancy[i] = to >= 0 ? lp_strdup(job->vacancy_ids[to]) : NULL;
  }
  job->vacancy_ids = NULL;
  job->solution.vacancy_price = NULL;
  warm.pupils = job->pupils, job->pupils = NULL;
  warm.company_pool = job->company_pool, job->company_pool = NULL;
  warm.vacancies = job->vacancies, job->vacancies = NULL;
  warm.weights = job->weights;
  warm.pairs = job->problem.pairs, job->problem.pairs = NULL;
  warm.pair_distance_m = job->problem.pair_distance_m, job->problem.pair_distance_m = NULL;
  warm.pair_count = job->problem.problem.pair_count;
  warm.unplaced_penalty = job->problem.unplaced_penalty, job->problem.unplaced_penalty = NULL;
  warm_free(&rematch->retired_warm); /* empty: finish hands it on */
  rematch->retired_warm = rematch->warm;
  rematch->warm = warm;
  Leerplek__V1__RematchResult *last = lp_clone(rematch->reply);
  for (size_t c = 0; c < last->n_changes; c++) protobuf_c_message_free_unpacked(&last->changes[c]->base, NULL);
  free(last->changes);
  last->changes = NULL;
  last->n_changes = 0;
  result_free(rematch->last);
  rematch->last = last;
  job->finish_us += (uint64_t)(now_us() - started);
  LP_INFO("rematch epoch %llu applied: %u proposed, %u moved, %u released, %u unplaced (snapshot %llu us, candidates "
          "%llu us "
          "(%d of %d pupils' pairs reused), solve %llu us%s, explain %llu us, write %llu us, all %lld us)",
          (unsigned long long)rematch->reply->epoch, rematch->reply->newly_proposed, rematch->reply->moved,
          rematch->reply->released, rematch->reply->unplaced, (unsigned long long)job->snapshot_us,
          (unsigned long long)job->candidates_us, job->problem.reused_pupils, job->pupil_count,
          (unsigned long long)job->solve_us, job->solution.stats.warm_abandoned ? " (warm start abandoned)" : "",
          (unsigned long long)job->explain_us, (unsigned long long)job->write_us, now_us() - job->t_started);
  finish(rematch, job, 0, "");
}

/* ---- the epoch write (on the loop, in steps) ------------------------------------------- */

/* The records of an epoch are first staged under lp:stage:<run>:<kind>:<key> (run = this
 * rematch's lock value) in commits of about rematch_write_chunk_bytes, each built in its own
 * loop callback, up to STAGE_WINDOW of them in flight; their names (kind, key and the
 * event's op, one per line) go on the list <run>names. The promote then makes them current in
 * slices (BEGIN_SCRIPT, SLICE_SCRIPT, FINISH_SCRIPT below), each slice a commit of about
 * PROMOTE_SLICE_CHUNKS chunks' bytes with the events of its records (followers re-read the records they name).
 * A crash before BEGIN leaves the previous epoch current and whole; the leftovers are deleted
 * by the next rematch (CLEANUP_SCRIPT, also run when a write fails). A crash after it leaves
 * the marker, and the next load finishes the promote. Memory takes the records after the last
 * slice is confirmed, in slices of APPLY_SLICE_RECORDS per loop callback. */
enum {
  APPLY_SLICE_RECORDS = 256,
  PROMOTE_SLICE_CHUNKS = 16,
  EVENT_BYTES_ESTIMATE = 1024,
  PROMOTE_SLICE_SHARE = 20,    /* a slice aims at most at 1/20 of redis_timeout_ms */
  PROMOTE_SLICE_AIM_US = 5000, /* and at this much of Redis' time: a call waits behind it */
  PROMOTE_WINDOW = 2,          /* slices in flight: Redis runs one while the loop builds the next */
  PROMOTE_SLICE_FIRST = 128,
  PROMOTE_SLICE_MIN = 32,
  PROMOTE_SLICE_MAX = 8192,
  STAGE_WINDOW = 4
};
#define STAGE_RUNS_KEY "lp:stage:runs"
#define PROMOTE_KEY "lp:promote"

/* ARGV: 1 the lock value; 2 (optional) a run to register. Deletes every registered run's
 * staged records (none is live: we hold the lock). */
static const char CLEANUP_SCRIPT[] =
    "if redis.call('GET', '" LOCK_KEY
    "') ~= ARGV[1] then return redis.error_reply('LPSTAGE the rematch lock is not ours') end\n"
    "if redis.call('EXISTS', '" PROMOTE_KEY
    "') == 1 then return redis.error_reply('LPSTAGE an interrupted promote is unfinished; "
    "the daemon finishes it when it reloads; retry') end\n"
    "for _, run in ipairs(redis.call('SMEMBERS', '" STAGE_RUNS_KEY "')) do\n"
    "  local list = run .. 'names'\n"
    "  local total = redis.call('LLEN', list)\n"
    "  for first = 0, total - 1, 1000 do\n"
    "    local keys = {}\n"
    "    for _, name in ipairs(redis.call('LRANGE', list, first, first + 999)) do\n"
    "      local kind, key = string.match(name, '^([^\\n]*)\\n([^\\n]*)\\n')\n"
    "      if kind then keys[#keys + 1] = run .. kind .. ':' .. key end\n"
    "    end\n"
    "    if #keys > 0 then redis.call('DEL', unpack(keys)) end\n"
    "  end\n"
    "  redis.call('DEL', list)\n"
    "end\n"
    "redis.call('DEL', '" STAGE_RUNS_KEY "')\n"
    "if ARGV[2] then redis.call('SADD', '" STAGE_RUNS_KEY "', ARGV[2]) end\n"
    "return 0\n";

/* The promote. BEGIN_SCRIPT checks the lock and that every record was staged, deletes what a
 * write won meanwhile and writes the marker PROMOTE_KEY ("promoting run R to epoch E": run,
 * lock, epoch, summary, done). Each SLICE_SCRIPT then moves names done .. end-1 of the run's
 * list over the live keys (a record no longer in its index, erased meanwhile, is not brought
 * back), in one MULTI/EXEC with those records' events, and advances done: every Redis call
 * stays short however large the epoch. FINISH_SCRIPT, in the last slice's commit, sets
 * lp:epoch and lp:rematch:last and deletes the marker. Each checks the lock is still ours, the
 * marker is this run's and (slices) that done is where it starts, so a slice runs once. A
 * marker found at a load (a kill -9 of the daemon or of Redis mid-promote, a lost link) is
 * finished by lp_rematch_finish_promote before the state is read: the lp:epoch readers see
 * moves from the old epoch to the new one only when every record is in place. */
#define SCRIPT_CHECKS                                                                                                  \
  "if redis.call('GET', '" LOCK_KEY                                                                                    \
  "') ~= ARGV[1] then return redis.error_reply('LPSTAGE the rematch lock was lost; the promote stops') end\n"          \
  "if redis.call('HGET', '" PROMOTE_KEY                                                                                \
  "', 'run') ~= ARGV[2] then return redis.error_reply('LPSTAGE the promote marker is not this run') end\n"

/* ARGV: 1 lock, 2 run, 3 the number of staged names, 4 epoch, 5 summary, 6 actor, 7 instance,
 * 8 events_max_length, 9 lock ttl ms, 10.. names left out. */
static const char BEGIN_SCRIPT[] =
    "if redis.call('GET', '" LOCK_KEY
    "') ~= ARGV[1] then return redis.error_reply('LPSTAGE the rematch lock was lost; the epoch is not written') end\n"
    "if redis.call('EXISTS', '" PROMOTE_KEY
    "') == 1 then return redis.error_reply('LPSTAGE an interrupted promote is unfinished') end\n"
    "local run = ARGV[2]\n"
    "local total = redis.call('LLEN', run .. 'names')\n"
    "if total ~= tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE ' .. total .. ' of ' .. ARGV[3] .. ' records "
    "staged; the epoch is not written') end\n"
    "for i = 10, #ARGV do\n"
    "  local kind, key = string.match(ARGV[i], '^([^\\n]*)\\n([^\\n]*)\\n')\n"
    "  if kind then redis.call('DEL', run .. kind .. ':' .. key) end\n"
    "end\n"
    "redis.call('HSET', '" PROMOTE_KEY
    "', 'run', run, 'lock', ARGV[1], 'epoch', ARGV[4], 'summary', ARGV[5], 'actor', ARGV[6],\n"
    "           'instance', ARGV[7], 'max_length', ARGV[8], 'ttl', ARGV[9], 'done', 0)\n"
    "redis.call('PEXPIRE', '" LOCK_KEY "', ARGV[9])\n"
    "return total\n";

/* ARGV: 1 lock, 2 run, 3 first, 4 end, 5.. names left out (a write won since BEGIN). */
static const char SLICE_SCRIPT[] =
    SCRIPT_CHECKS "local marker = redis.call('HMGET', '" PROMOTE_KEY "', 'done', 'ttl')\n"
                  "if tonumber(marker[1]) ~= tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE the promote is "
                  "at ' .. marker[1] .. ', not ' .. ARGV[3]) end\n"
                  "local run = ARGV[2]\n"
                  "local names = redis.call('LRANGE', run .. 'names', ARGV[3], tonumber(ARGV[4]) - 1)\n"
                  "if #names ~= tonumber(ARGV[4]) - tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE the "
                  "staged list is short') end\n"
                  "local skip = {}\n"
                  "for i = 5, #ARGV do skip[ARGV[i]] = true end\n"
                  "local moved = 0\n"
                  "for _, name in ipairs(names) do\n"
                  "  local kind, key = string.match(name, '^([^\\n]*)\\n([^\\n]*)\\n')\n"
                  "  local staged = run .. kind .. ':' .. key\n"
                  "  if skip[name] then redis.call('DEL', staged)\n"
                  "  elseif redis.call('SISMEMBER', 'lp:index:' .. kind, key) == 1 then\n"
                  "    if redis.call('EXISTS', staged) == 1 then redis.call('RENAME', staged, 'lp:' .. kind .. ':' .. "
                  "key); moved = moved + 1 end\n"
                  "  else redis.call('DEL', staged) end\n"
                  "end\n"
                  "redis.call('HSET', '" PROMOTE_KEY "', 'done', ARGV[4])\n"
                  "redis.call('PEXPIRE', '" LOCK_KEY "', marker[2])\n"
                  "return moved\n";

/* ARGV: 1 lock, 2 run. */
static const char FINISH_SCRIPT[] =
    SCRIPT_CHECKS "local run = ARGV[2]\n"
                  "local marker = redis.call('HMGET', '" PROMOTE_KEY "', 'done', 'epoch', 'summary', 'max_length')\n"
                  "local total = redis.call('LLEN', run .. 'names')\n"
                  "if tonumber(marker[1]) ~= total then return redis.error_reply('LPSTAGE the promote is at ' .. "
                  "marker[1] .. ' of ' .. total) end\n"
                  "redis.call('XTRIM', 'lp:events', 'MAXLEN', '~', marker[4])\n"
                  "redis.call('DEL', run .. 'names')\n"
                  "redis.call('SREM', '" STAGE_RUNS_KEY "', run)\n"
                  "redis.call('SET', 'lp:epoch', marker[2])\n"
                  "redis.call('SET', 'lp:rematch:last', marker[3])\n"
                  "redis.call('DEL', '" PROMOTE_KEY "')\n"
                  "return total\n";

typedef struct staged_record {
  const char *key; /* borrowed from the job (pupil key or vacancy id) */
  enum lp_kind kind;
  void *record;           /* the new record; memory takes it once the epoch is current */
  const char *op;         /* its event */
  int32_t pupil;          /* placements: the snapshot index; vacancies: -1 */
  int32_t from, to;       /* placements: the seat left and taken; vacancies: to = its index */
  uint64_t base_revision; /* vacancies: the revision it was built from */
  bool excluded;          /* a write won meanwhile: left out of the epoch */
} staged_record;

typedef struct epoch_write {
  lp_rematch *rematch;
  job *job;
  uint64_t epoch;
  long long now;
  char run[128]; /* "lp:stage:<lock value>:" */
  char actor[128];
  staged_record *records;
  size_t count, capacity, applied;
  int32_t *seat_delta;     /* by vacancy: seats taken minus left by the staged placements */
  int32_t *staged_vacancy; /* by vacancy: its index in records, -1 */
  int pass;                /* 0: placements that leave a seat, 1: those that take one, 2: vacancies */
  int32_t cursor;
  bool cleanup_sent, cleanup_confirmed;
  int chunks_in_flight; /* staged commits sent, not yet confirmed (at most STAGE_WINDOW) */
  int failed_code;      /* a staged commit failed: the write fails once none is in flight */
  char failed_message[400];
  uint32_t skipped, excluded, proposal_seq; /* changes left out: before staging, after it */
  size_t promoted;                          /* records made current by the slices so far (the marker's done) */
  uint8_t *restage;                         /* by vacancy: its staged seats must be built again (a write won) */
  struct event *step;                       /* a zero timer: the next step runs after pending I/O */
  long long promote_sent_us, promoted_us;   /* for the log */
  long long step_sent_us;                   /* the promote's first step was sent */
  size_t slice_records;                     /* the next slice's most records, adapted to how fast Redis took the last */
  /* The slices in flight (at most PROMOTE_WINDOW, confirmed in order): when each was sent, the
   * records it holds, and when the one before it was confirmed (Redis' time for a slice is from
   * the later of the two). */
  long long slice_sent_us[PROMOTE_WINDOW];
  size_t slice_size[PROMOTE_WINDOW];
  unsigned slices_sent, slices_confirmed;
  long long slice_confirmed_us;
  bool last_slice_sent;
  void (*next)(struct epoch_write *write);
} epoch_write;

static void write_free(epoch_write *write);

static void stage_next_chunk(epoch_write *write);
static void promote(epoch_write *write);
static void promote_slice(epoch_write *write);
static void apply_slice(epoch_write *write);

static void note_step(epoch_write *write, long long started) {
  uint64_t spent = (uint64_t)(now_us() - started);
  if (spent > write->rematch->reply->apply_max_step_us) write->rematch->reply->apply_max_step_us = spent;
}

static void on_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  epoch_write *write = arg;
  write->next(write);
}

static void schedule(epoch_write *write, void (*next)(epoch_write *write)) {
  static const struct timeval now = {0, 0};
  write->next = next;
  evtimer_add(write->step, &now);
}

static void on_staging_cleaned(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)privdata;
  redisReply *reply = reply_pointer;
  if (!reply || reply->type == REDIS_REPLY_ERROR)
    LP_WARN("rematch: staged records are left in Redis (%s); the next rematch deletes them",
            reply                       ? reply->str
            : redis && redis->errstr[0] ? redis->errstr
                                        : "lost the link to redis");
}

/* Runs the cleanup script on the store's link (after the loop: on a short link of its own): a
 * failed write leaves nothing. */
static void cleanup_staging(lp_rematch *rematch) {
  if (loop_stopped(rematch)) {
    char message[300];
    redisContext *redis = lp_redis_connect_sync(&rematch->daemon->config, message, sizeof message);
    redisReply *reply = redis ? redisCommand(redis, "EVAL %s 0 %s", CLEANUP_SCRIPT, rematch->lock_value) : NULL;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
      LP_WARN("rematch: staged records are left in Redis (%s); the next rematch deletes them", reply   ? reply->str
                                                                                               : redis ? redis->errstr
                                                                                                       : message);
    if (reply) freeReplyObject(reply);
    if (redis) redisFree(redis);
    return;
  }
  if (lp_store_send(rematch->daemon->store, on_staging_cleaned, NULL, "EVAL %s 0 %s", CLEANUP_SCRIPT,
                    rematch->lock_value) != 0)
    LP_WARN("rematch: staged records are left in Redis (no link to redis); the next rematch deletes them");
}

/* Ends the write: on failure memory is untouched (records not yet applied are freed). */
static void write_fail(epoch_write *write, int code, const char *message) {
  lp_rematch *rematch = write->rematch;
  job *job = write->job;
  LP_ERROR("rematch epoch %llu was not written: %s", (unsigned long long)write->epoch, message);
  write_free(write);
  cleanup_staging(rematch);
  finish(rematch, job, code, message);
}

static void on_chunk_written(void *arg, int code, const char *message) {
  epoch_write *write = arg;
  write->chunks_in_flight--;
  write->cleanup_confirmed = true;
  if (code != 0 && !write->failed_code) {
    write->failed_code = code;
    snprintf(write->failed_message, sizeof write->failed_message, "%s; nothing applied, the previous epoch is current",
             message);
  }
  if (write->failed_code) {
    if (write->chunks_in_flight == 0) write_fail(write, write->failed_code, write->failed_message);
    return;
  }
  if (write->pass > 2) {
    if (write->chunks_in_flight == 0) schedule(write, promote);
    return;
  }
  schedule(write, stage_next_chunk);
}

static staged_record *add_record(epoch_write *write) {
  if (write->count == write->capacity) {
    write->capacity = write->capacity ? write->capacity * 2 : 256;
    write->records = lp_realloc(write->records, write->capacity * sizeof *write->records);
  }
  staged_record *record = &write->records[write->count++];
  memset(record, 0, sizeof *record);
  record->pupil = record->from = record->to = -1;
  return record;
}

static void stage_name(const staged_record *record, char *out, size_t size) {
  snprintf(out, size, "%s\n%s\n%s", lp_kind_name(record->kind), record->key, record->op);
}

/* SET the staged key (no index, no event: the final step adds them). */
static void stage_set(lp_txn *txn, const char *run, const staged_record *record) {
  char key[320];
  snprintf(key, sizeof key, "%s%s:%s", run, lp_kind_name(record->kind), record->key);
  const ProtobufCMessage *message = record->record;
  size_t size = protobuf_c_message_get_packed_size(message);
  uint8_t *bytes = lp_malloc(size + 1);
  protobuf_c_message_pack(message, bytes);
  const void *argv[3] = {"SET", key, bytes};
  size_t lengths[3] = {3, strlen(key), size};
  lp_txn_command(txn, 3, argv, lengths);
  free(bytes);
}

/* RPUSH the names of records first .. end-1 to the run's list. */
static void stage_names(lp_txn *txn, const char *run, const epoch_write *write, size_t first, size_t end) {
  if (first == end) return;
  size_t argc = 2 + end - first;
  const void **argv = lp_calloc(argc, sizeof *argv);
  size_t *lengths = lp_calloc(argc, sizeof *lengths);
  char list[160];
  snprintf(list, sizeof list, "%snames", run);
  argv[0] = "RPUSH", lengths[0] = 5;
  argv[1] = list, lengths[1] = strlen(list);
  for (size_t r = first; r < end; r++) {
    char *name = lp_malloc(320);
    stage_name(&write->records[r], name, 320);
    argv[2 + r - first] = name;
    lengths[2 + r - first] = strlen(name);
  }
  lp_txn_command(txn, (int)argc, argv, lengths);
  for (size_t a = 2; a < argc; a++) free((void *)argv[a]);
  free(argv);
  free(lengths);
}

/* Stages vacancy j's new seat counts (built from base_revision) as a record of its own. */
static void stage_vacancy(epoch_write *write, lp_txn *txn, int32_t j, Leerplek__V1__Vacancy *vacancy,
                          uint64_t base_revision) {
  staged_record *record = add_record(write);
  record->key = write->job->vacancy_ids[j];
  record->kind = LP_KIND_VACANCY;
  record->record = vacancy;
  record->op = "rematch_seats";
  record->to = j;
  record->base_revision = base_revision;
  write->staged_vacancy[j] = (int32_t)(write->count - 1);
  stage_set(txn, write->run, record);
}

/* The new placement of pupil i, or NULL when the change must wait (a write won, no seat). */
static staged_record *stage_placement(epoch_write *write, int32_t i) {
  job *job = write->job;
  lp_state *state = &write->rematch->daemon->state;
  lp_daemon *daemon = write->rematch->daemon;
  const pupil_meta *meta = &job->meta[i];
  int32_t from = meta->current_vacancy, to = job->solution.vacancy_of_pupil[i];
  bool unplaced_info = to < 0 && from < 0;
  const Leerplek__V1__Placement *stored = lp_state_get(state, LP_KIND_PLACEMENT, meta->key);
  if (!pupil_unchanged(state, meta)) {
    if (!unplaced_info) write->skipped++;
    return NULL;
  }
  const Leerplek__V1__Vacancy *target = NULL;
  if (to >= 0) {
    target = lp_state_get(state, LP_KIND_VACANCY, job->vacancy_ids[to]);
    long free_seats =
        target ? (long)target->seats - target->seats_filled - target->seats_proposed - write->seat_delta[to] : 0;
    if (!target || target->revision != job->vacancy_revision[to] ||
        target->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN || free_seats <= 0) {
      write->skipped++;
      return NULL;
    }
  }
  Leerplek__V1__UnplacedInfo *info = to < 0 ? make_unplaced(job, i, write->epoch) : NULL;
  if (unplaced_info && same_unplaced(info, stored->unplaced)) {
    protobuf_c_message_free_unpacked(&info->base, NULL);
    return NULL;
  }
  Leerplek__V1__Placement *placement = lp_clone(stored);
  if (placement->unplaced) protobuf_c_message_free_unpacked(&placement->unplaced->base, NULL);
  placement->unplaced = info;
  const char *op = "rematch_unplaced";
  if (!unplaced_info) {
    if (placement->offer) protobuf_c_message_free_unpacked(&placement->offer->base, NULL);
    placement->offer = NULL;
    placement->school_accepted = placement->company_accepted = false;
    placement->updated_unix_s = write->now;
    lp_placement_end_manual(placement); /* a rematch's proposal now, or none */
    if (from >= 0) write->seat_delta[from]--;
    if (to >= 0) {
      const eligibility_pupil *p = &job->pupils[i];
      const eligibility_vacancy *v = &job->vacancies[to];
      placement->offer =
          lp_rematch_offer(state, target, (uint32_t)eligibility_distance_m(p->lat_e6, p->lon_e6, v->lat_e6, v->lon_e6));
      placement->state = PSTATE(PROPOSED);
      /* Unique over all time: epochs only grow, and manual ids have LP_MANUAL_ID_BIT. */
      placement->proposal_id = (write->epoch << 24) | ++write->proposal_seq;
      placement->epoch = write->epoch;
      placement->proposed_unix_s = write->now;
      /* Every new proposal (also a move) gets its own answer deadline (lp_deadlines.c). */
      placement->answer_by_unix_s = write->now + (long long)daemon->config.proposal_answer_seconds;
      placement->reminded_unix_s = 0;
      write->seat_delta[to]++;
      op = from < 0 ? "rematch_propose" : "rematch_move";
    } else {
      placement->state = PSTATE(WAITING);
      placement->proposal_id = 0;
      placement->epoch = 0;
      placement->proposed_unix_s = 0;
      placement->answer_by_unix_s = placement->reminded_unix_s = 0;
      op = "rematch_release";
    }
  }
  staged_record *record = add_record(write);
  record->key = meta->key;
  record->kind = LP_KIND_PLACEMENT;
  record->record = placement;
  record->op = op;
  record->pupil = i;
  record->from = unplaced_info ? -1 : from;
  record->to = to;
  return record;
}

/* Vacancy j as in memory now with the epoch's seat change; NULL when it is gone. */
static Leerplek__V1__Vacancy *vacancy_with_seats(epoch_write *write, int32_t j, uint64_t *base_revision) {
  const Leerplek__V1__Vacancy *stored =
      lp_state_get(&write->rematch->daemon->state, LP_KIND_VACANCY, write->job->vacancy_ids[j]);
  if (!stored) return NULL;
  Leerplek__V1__Vacancy *vacancy = lp_clone(stored);
  long proposed = (long)vacancy->seats_proposed + write->seat_delta[j];
  vacancy->seats_proposed = proposed < 0 ? 0 : (uint32_t)proposed;
  vacancy->revision++;
  vacancy->updated_unix_s = write->now;
  *base_revision = stored->revision;
  return vacancy;
}

/* One staged commit: the records of the next changes until the chunk is full. Two passes over
 * the pupils (first those that leave a seat, then those that take one, so a seat freed in this
 * epoch can be given in it), then the vacancies whose seats changed. */
static void stage_next_chunk(epoch_write *write) {
  long long started = now_us();
  job *job = write->job;
  lp_rematch *rematch = write->rematch;
  lp_daemon *daemon = rematch->daemon;
  lp_txn *txn = lp_txn_new();
  if (!write->cleanup_sent) {
    write->cleanup_sent = true;
    const void *argv[5] = {"EVAL", CLEANUP_SCRIPT, "0", rematch->lock_value, write->run};
    size_t lengths[5] = {4, strlen(CLEANUP_SCRIPT), 1, strlen(rematch->lock_value), strlen(write->run)};
    lp_txn_command(txn, 5, argv, lengths);
  }
  size_t first = write->count, budget = daemon->config.rematch_write_chunk_bytes;
  while (write->pass < 3 && lp_txn_bytes(txn) < budget) {
    if (write->pass < 2) {
      if (write->cursor >= job->pupil_count) {
        write->pass++, write->cursor = 0;
        continue;
      }
      int32_t i = write->cursor++;
      const pupil_meta *meta = &job->meta[i];
      if (meta->fixed) continue;
      int32_t from = meta->current_vacancy, to = job->solution.vacancy_of_pupil[i];
      bool unplaced_info = to < 0 && from < 0;
      if (from == to && !unplaced_info) continue;
      bool leaves = from >= 0 && to < 0;
      if (write->pass == 0 && !leaves && !unplaced_info) continue;
      if (write->pass == 1 && (leaves || unplaced_info)) continue;
      staged_record *record = stage_placement(write, i);
      if (record) stage_set(txn, write->run, record);
    } else {
      if (write->cursor >= job->vacancy_count) {
        write->pass++;
        break;
      }
      int32_t j = write->cursor++;
      if (!write->seat_delta[j]) continue;
      uint64_t base_revision = 0;
      Leerplek__V1__Vacancy *vacancy = vacancy_with_seats(write, j, &base_revision);
      if (!vacancy) continue;
      stage_vacancy(write, txn, j, vacancy, base_revision);
    }
  }
  stage_names(txn, write->run, write, first, write->count);
  if (lp_txn_bytes(txn) == 0) { /* everything was staged by the chunks before */
    lp_txn_free(txn);
    if (write->chunks_in_flight == 0) promote(write);
    return;
  }
  rematch->reply->bytes_written += lp_txn_bytes(txn);
  rematch->reply->write_chunks++;
  note_step(write, started);
  if (lp_store_commit(daemon->store, txn, on_chunk_written, write) != 0) {
    if (write->chunks_in_flight == 0) {
      write_fail(write, CODE(UNAVAILABLE),
                 "the store is unavailable (reconnecting); nothing applied, the previous epoch is current; retry");
    } else if (!write->failed_code) {
      write->failed_code = CODE(UNAVAILABLE);
      snprintf(write->failed_message, sizeof write->failed_message,
               "the store is unavailable (reconnecting); nothing applied, the previous epoch is current; retry");
    }
    return;
  }
  write->chunks_in_flight++;
  /* Up to STAGE_WINDOW commits in flight (Redis confirms them together: one fsync, one round
   * trip), once the first, with the cleanup that registers this run, is confirmed. */
  if (write->pass < 3 && write->cleanup_confirmed && write->chunks_in_flight < STAGE_WINDOW)
    schedule(write, stage_next_chunk);
}

/* Whether placement record r may still go into the epoch: its pupil and its target vacancy
 * are as when it was staged. vacancy_ok caches the targets: 0 unknown, 1 yes, 2 changed. */
static bool still_valid(epoch_write *write, const staged_record *record, uint8_t *vacancy_ok) {
  job *job = write->job;
  const lp_state *state = &write->rematch->daemon->state;
  if (!pupil_unchanged(state, &job->meta[record->pupil])) return false;
  if (record->to < 0) return true;
  int32_t j = record->to;
  if (!vacancy_ok[j]) {
    const Leerplek__V1__Vacancy *vacancy = lp_state_get(state, LP_KIND_VACANCY, job->vacancy_ids[j]);
    vacancy_ok[j] = vacancy && vacancy->revision == job->vacancy_revision[j] &&
                            vacancy->state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN
                        ? 1
                        : 2;
  }
  return vacancy_ok[j] == 1;
}

/* Leaves placement record r out of the epoch (a write won): the seats it moved go back, and
 * the vacancies' staged seat counts are built again before their slice. */
static void exclude_placement(epoch_write *write, staged_record *record) {
  record->excluded = true;
  write->excluded++;
  if (record->from >= 0) write->seat_delta[record->from]++, write->restage[record->from] = 1;
  if (record->to >= 0) write->seat_delta[record->to]--, write->restage[record->to] = 1;
}

/* The events of records first .. end-1, in the slice's commit right after SLICE_SCRIPT (so
 * they exist exactly when the records do): followers re-read the records they name, history
 * and watch read their details. Memory still holds the previous records here, so the old
 * state and the seat a release leaves come from it. */
static void add_epoch_events(epoch_write *write, lp_txn *txn, size_t first, size_t end) {
  lp_daemon *daemon = write->rematch->daemon;
  const lp_state *state = &daemon->state;
  for (size_t r = first; r < end; r++) {
    const staged_record *record = &write->records[r];
    if (record->excluded) continue;
    lp_txn_note_write(txn, record->kind, record->key);
    lp_txn_event(txn, daemon->config.instance_id, record->op, record->kind, record->key, write->actor,
                 daemon->config.events_max_length);
    lp_event_detail detail = {.call = record->op, .epoch = write->epoch};
    if (record->kind == LP_KIND_PLACEMENT) {
      const Leerplek__V1__Placement *placement = record->record;
      const Leerplek__V1__Placement *stored = lp_state_get(state, LP_KIND_PLACEMENT, record->key);
      detail.new_state = (int)placement->state;
      detail.proposal_id = placement->proposal_id;
      if (stored) detail.old_state = (int)stored->state;
      const Leerplek__V1__Offer *offer = placement->offer ? placement->offer : stored ? stored->offer : NULL;
      if (offer) detail.vacancy_id = offer->vacancy_id, detail.company_id = offer->company_id;
    } else {
      const Leerplek__V1__Vacancy *vacancy = record->record;
      detail.vacancy_id = vacancy->id, detail.company_id = vacancy->company_id;
    }
    lp_txn_event_detail(txn, &detail);
  }
}

/* Appends the names of excluded records first .. end-1 to argv (strings owned by argv). */
static size_t excluded_names(const epoch_write *write, size_t first, size_t end, const void ***argv, size_t **lengths,
                             size_t argc) {
  for (size_t r = first; r < end; r++) {
    const staged_record *record = &write->records[r];
    if (!record->excluded) continue;
    *argv = lp_realloc(*argv, (argc + 1) * sizeof **argv);
    *lengths = lp_realloc(*lengths, (argc + 1) * sizeof **lengths);
    char *name = lp_malloc(320);
    stage_name(record, name, 320);
    (*argv)[argc] = name, (*lengths)[argc] = strlen(name);
    argc++;
  }
  return argc;
}

static void free_args(const void **argv, size_t fixed, size_t argc) {
  for (size_t a = fixed; a < argc; a++) free((void *)argv[a]);
  free(argv);
}

/* The longest promote step so far, sent_us to confirmation (write_final_us). */
static void note_promote_step(epoch_write *write, long long sent_us) {
  uint64_t spent = (uint64_t)(now_us() - sent_us);
  if (spent > write->rematch->reply->write_final_us) write->rematch->reply->write_final_us = spent;
}

static void on_promote_begun(void *arg, int code, const char *message) {
  epoch_write *write = arg;
  if (code != 0) {
    write_fail(write, code, message);
    return;
  }
  note_promote_step(write, write->step_sent_us);
  write->slice_confirmed_us = now_us();
  schedule(write, promote_slice);
}

/* The promote's first step: BEGIN_SCRIPT writes the marker. What a write changed meanwhile is
 * left out by the slice that would make it current (promote_slice), and the seats it held are
 * corrected in the vacancies' records, which come last. */
static void promote(epoch_write *write) {
  long long started = now_us();
  lp_rematch *rematch = write->rematch;
  lp_daemon *daemon = rematch->daemon;
  /* No walk over the records here (35,000 at flanders size held the loop for 50 ms and more):
   * each slice checks its own records against the live state as it is built. */
  lp_txn *txn = lp_txn_new();
  char count_text[24], max_length[24], epoch_text[24], ttl_text[24];
  snprintf(count_text, sizeof count_text, "%zu", write->count);
  snprintf(max_length, sizeof max_length, "%u", daemon->config.events_max_length);
  snprintf(epoch_text, sizeof epoch_text, "%llu", (unsigned long long)write->epoch);
  snprintf(ttl_text, sizeof ttl_text, "%u", daemon->config.rematch_lock_ttl_ms);
  const void **argv = lp_calloc(13, sizeof *argv);
  size_t *lengths = lp_calloc(13, sizeof *lengths);
  const char *fixed[12] = {"EVAL",     BEGIN_SCRIPT, "0",          rematch->lock_value,        write->run, count_text,
                           epoch_text, NULL,         write->actor, daemon->config.instance_id, max_length, ttl_text};
  for (int a = 0; a < 12; a++)
    if (fixed[a]) argv[a] = fixed[a], lengths[a] = strlen(fixed[a]);
  /* The summary, for the report after a restart: the bytes and commits of the whole write, as
   * far as they are known here (the slices follow). */
  Leerplek__V1__RematchResult summary = *rematch->reply;
  summary.n_changes = 0;
  summary.changes = NULL;
  summary.bytes_written += lp_txn_bytes(txn);
  summary.write_chunks++;
  size_t summary_size = protobuf_c_message_get_packed_size(&summary.base);
  uint8_t *summary_bytes = lp_malloc(summary_size + 1);
  protobuf_c_message_pack(&summary.base, summary_bytes);
  argv[7] = summary_bytes, lengths[7] = summary_size;
  lp_txn_command(txn, 12, argv, lengths);
  free(argv);
  free(lengths);
  free(summary_bytes);
  rematch->reply->bytes_written += lp_txn_bytes(txn);
  rematch->reply->write_chunks++;
  note_step(write, started);
  write->promote_sent_us = write->step_sent_us = now_us();
  write->slice_records = PROMOTE_SLICE_FIRST;
  if (lp_store_commit(daemon->store, txn, on_promote_begun, write) != 0)
    write_fail(write, CODE(UNAVAILABLE),
               "the store is unavailable (reconnecting); nothing applied, the previous epoch is current; retry");
}

/* The next slice aims at PROMOTE_SLICE_AIM_US of Redis' time (at most PROMOTE_SLICE_SHARE of
 * redis_timeout_ms): a record's events cost Redis some 15 us on an idle machine and ten times
 * that on a loaded one; every call on the store's link waits behind the slices in flight, and
 * a slice that outlasts the timeout drops the link. Redis' time for the slice just confirmed
 * runs from when it was sent or the one before it was confirmed, whichever is later. It grows
 * at most twofold a step. */
static void adapt_slice(epoch_write *write, long long sent_us, size_t records) {
  long long now = now_us(), began = sent_us > write->slice_confirmed_us ? sent_us : write->slice_confirmed_us;
  uint64_t spent = (uint64_t)(now - began) + 1;
  uint64_t aim = (uint64_t)write->rematch->daemon->config.redis_timeout_ms * 1000u / PROMOTE_SLICE_SHARE;
  if (aim > PROMOTE_SLICE_AIM_US) aim = PROMOTE_SLICE_AIM_US;
  uint64_t next = (uint64_t)(records ? records : 1) * aim / spent;
  if (next > 2 * write->slice_records) next = 2 * write->slice_records;
  if (next < PROMOTE_SLICE_MIN) next = PROMOTE_SLICE_MIN;
  if (next > PROMOTE_SLICE_MAX) next = PROMOTE_SLICE_MAX;
  write->slice_records = (size_t)next;
  write->slice_confirmed_us = now;
}

static void on_slice_done(void *arg, int code, const char *message) {
  epoch_write *write = arg;
  unsigned slot = write->slices_confirmed++ % PROMOTE_WINDOW;
  bool in_flight = write->slices_confirmed < write->slices_sent;
  if (code != 0 && !write->failed_code) {
    /* The marker stays: the reload this error causes finishes the promote from Redis. */
    write->failed_code = code;
    snprintf(write->failed_message, sizeof write->failed_message,
             "%s; the promote was interrupted, the daemon finishes it from the store when it reloads", message);
  }
  if (write->failed_code) {
    /* A slice after a refused one is refused too (it checks where the promote is). */
    if (!in_flight) write_fail(write, write->failed_code, write->failed_message);
    return;
  }
  note_promote_step(write, write->slice_sent_us[slot]);
  adapt_slice(write, write->slice_sent_us[slot], write->slice_size[slot]);
  if (!write->last_slice_sent) {
    schedule(write, promote_slice); /* one run however often it is asked for before it runs */
    return;
  }
  if (in_flight) return;
  write->promoted_us = now_us();
  write->rematch->reply->write_us = (uint64_t)(write->promoted_us - write->job->t_apply_start);
  schedule(write, apply_slice);
}

/* One slice of the promote: records from write->promoted on, at most slice_records
 * (adapt_slice) and until the commit holds about PROMOTE_SLICE_CHUNKS chunks (their events are
 * most of it: each carries XADD_SCRIPT, about EVENT_BYTES_ESTIMATE bytes). A placement a write changed since BEGIN is
 * left out here; the vacancies come last, so their seat counts are built again when that changed them. The last slice's
 * commit also runs FINISH_SCRIPT. */
static void promote_slice(epoch_write *write) {
  long long started = now_us();
  job *job = write->job;
  lp_rematch *rematch = write->rematch;
  lp_daemon *daemon = rematch->daemon;
  const lp_state *state = &daemon->state;
  size_t budget = PROMOTE_SLICE_CHUNKS * (size_t)daemon->config.rematch_write_chunk_bytes;
  lp_txn *txn = lp_txn_new();
  uint8_t *vacancy_ok = lp_calloc((size_t)job->vacancy_count + 1, 1);
  size_t first = write->promoted, end = first;
  while (end < write->count && (end == first || (lp_txn_bytes(txn) + (end - first) * EVENT_BYTES_ESTIMATE < budget &&
                                                 end - first < write->slice_records))) {
    staged_record *record = &write->records[end];
    if (!record->excluded) {
      if (record->kind == LP_KIND_PLACEMENT) {
        if (!still_valid(write, record, vacancy_ok)) exclude_placement(write, record);
      } else {
        const Leerplek__V1__Vacancy *now = lp_state_get(state, LP_KIND_VACANCY, record->key);
        if (write->restage[record->to] || !now || now->revision != record->base_revision) {
          write->restage[record->to] = 0;
          uint64_t base_revision = 0;
          Leerplek__V1__Vacancy *vacancy = vacancy_with_seats(write, record->to, &base_revision);
          protobuf_c_message_free_unpacked(record->record, NULL);
          record->record = vacancy;
          record->base_revision = base_revision;
          if (!vacancy)
            record->excluded = true;
          else
            stage_set(txn, write->run, record);
        }
      }
    }
    end++;
  }
  free(vacancy_ok);
  bool last = end == write->count;
  if (last) {
    /* A vacancy whose seats a late exclusion changed but that has no record yet (its epoch's
     * moves cancelled out): staged now, made current by one more slice. */
    size_t appended = write->count;
    for (int32_t j = 0; j < job->vacancy_count; j++) {
      if (!write->restage[j] || write->staged_vacancy[j] >= 0) continue;
      write->restage[j] = 0;
      uint64_t base_revision = 0;
      Leerplek__V1__Vacancy *vacancy = vacancy_with_seats(write, j, &base_revision);
      if (vacancy) stage_vacancy(write, txn, j, vacancy, base_revision);
    }
    stage_names(txn, write->run, write, appended, write->count);
    last = appended == write->count;
  }
  char first_text[24], end_text[24];
  snprintf(first_text, sizeof first_text, "%zu", first);
  snprintf(end_text, sizeof end_text, "%zu", end);
  const void **argv = lp_calloc(7, sizeof *argv);
  size_t *lengths = lp_calloc(7, sizeof *lengths);
  const char *fixed[7] = {"EVAL", SLICE_SCRIPT, "0", rematch->lock_value, write->run, first_text, end_text};
  for (int a = 0; a < 7; a++) argv[a] = fixed[a], lengths[a] = strlen(fixed[a]);
  size_t argc = excluded_names(write, first, end, &argv, &lengths, 7);
  lp_txn_command(txn, (int)argc, argv, lengths);
  free_args(argv, 7, argc);
  free(lengths);
  add_epoch_events(write, txn, first, end);
  if (last) {
    const char *finish_argv[5] = {"EVAL", FINISH_SCRIPT, "0", rematch->lock_value, write->run};
    size_t finish_lengths[5];
    for (int a = 0; a < 5; a++) finish_lengths[a] = strlen(finish_argv[a]);
    lp_txn_command(txn, 5, (const void *const *)finish_argv, finish_lengths);
  }
  write->promoted = end;
  lp_txn_seal_events(txn); /* so that the bytes count the events */
  rematch->reply->bytes_written += lp_txn_bytes(txn);
  rematch->reply->write_chunks++;
  rematch->reply->promote_slices++;
  note_step(write, started);
  unsigned slot = write->slices_sent % PROMOTE_WINDOW;
  write->slice_sent_us[slot] = now_us();
  write->slice_size[slot] = end - first;
  write->last_slice_sent = last;
  if (lp_store_commit(daemon->store, txn, on_slice_done, write) != 0) {
    static const char unavailable[] = "the store is unavailable (reconnecting) in the middle of the promote; the "
                                      "daemon finishes it from the store when it reloads";
    if (write->slices_confirmed == write->slices_sent) {
      write_fail(write, CODE(UNAVAILABLE), unavailable);
    } else if (!write->failed_code) {
      write->failed_code = CODE(UNAVAILABLE);
      snprintf(write->failed_message, sizeof write->failed_message, "%s", unavailable);
    }
    return;
  }
  write->slices_sent++;
  /* The next slice is built while Redis runs this one (at most PROMOTE_WINDOW in flight). */
  if (!last && write->slices_sent - write->slices_confirmed < PROMOTE_WINDOW) schedule(write, promote_slice);
}

/* Memory takes the next slice of the epoch's records (a write that won meanwhile keeps its
 * record, as it did in Redis); after the last, the rematch is answered. */
static void apply_slice(epoch_write *write) {
  long long started = now_us();
  lp_rematch *rematch = write->rematch;
  job *job = write->job;
  lp_state *state = &rematch->daemon->state;
  size_t end =
      write->applied + APPLY_SLICE_RECORDS < write->count ? write->applied + APPLY_SLICE_RECORDS : write->count;
  for (; write->applied < end; write->applied++) {
    staged_record *record = &write->records[write->applied];
    if (record->excluded) continue;
    bool current = true;
    if (record->kind == LP_KIND_PLACEMENT) {
      current = pupil_unchanged(state, &job->meta[record->pupil]);
    } else {
      const Leerplek__V1__Vacancy *now = lp_state_get(state, LP_KIND_VACANCY, record->key);
      current = now && now->revision == record->base_revision;
    }
    if (!current) continue;
    lp_state_put(state, record->kind, record->key, record->record);
    record->record = NULL;
  }
  note_step(write, started);
  if (write->applied < write->count) {
    schedule(write, apply_slice);
    return;
  }
  rematch->reply->apply_us = (uint64_t)(now_us() - write->promoted_us);
  if (write->skipped || write->excluded)
    LP_INFO("rematch epoch %llu: %u changes skipped, their pupil or vacancy changed meanwhile (the next rematch sees "
            "them)",
            (unsigned long long)write->epoch, write->skipped + write->excluded);
  if (write->proposal_seq)
    lp_deadlines_proposed(rematch->daemon, write->now + (long long)rematch->daemon->config.proposal_answer_seconds);
  LP_INFO("rematch epoch %llu written: %zu records staged in %llu us (%u commits, %llu bytes), made current in %llu us "
          "(%u slices, the longest %llu us), in memory after %llu us more (longest loop step %llu us)",
          (unsigned long long)write->epoch, write->count,
          (unsigned long long)(write->promote_sent_us - job->t_apply_start), rematch->reply->write_chunks,
          (unsigned long long)rematch->reply->bytes_written,
          (unsigned long long)(write->promoted_us - write->promote_sent_us), rematch->reply->promote_slices,
          (unsigned long long)rematch->reply->write_final_us, (unsigned long long)(now_us() - write->promoted_us),
          (unsigned long long)rematch->reply->apply_max_step_us);
  rematch->write = NULL;
  write_free(write);
  epoch_applied(rematch, job);
}

static void write_free(epoch_write *write) {
  if (!write) return;
  for (size_t r = 0; r < write->count; r++)
    if (write->records[r].record) protobuf_c_message_free_unpacked(write->records[r].record, NULL);
  free(write->records);
  free(write->seat_delta);
  free(write->staged_vacancy);
  free(write->restage);
  if (write->step) event_free(write->step);
  if (write->rematch->write == write) write->rematch->write = NULL;
  free(write);
}

/* Starts the epoch write (its steps follow on the loop). 0, or a StatusCode. */
static int apply_job(lp_rematch *rematch, job *job, char *message, size_t message_size) {
  lp_daemon *daemon = rematch->daemon;
  if (!lp_store_writable(daemon->store)) {
    snprintf(message, message_size, "the store is unavailable (reconnecting); nothing applied, retry");
    return CODE(UNAVAILABLE);
  }
  epoch_write *write = lp_calloc(1, sizeof *write);
  write->rematch = rematch;
  write->job = job;
  write->epoch = rematch->reply->epoch;
  write->now = (long long)time(NULL);
  snprintf(write->run, sizeof write->run, "lp:stage:%s:", rematch->lock_value);
  snprintf(write->actor, sizeof write->actor, "rematch:%s", job->actor);
  write->seat_delta = lp_calloc((size_t)job->vacancy_count + 1, sizeof *write->seat_delta);
  write->restage = lp_calloc((size_t)job->vacancy_count + 1, 1);
  write->staged_vacancy = lp_malloc(((size_t)job->vacancy_count + 1) * sizeof *write->staged_vacancy);
  for (int32_t j = 0; j <= job->vacancy_count; j++) write->staged_vacancy[j] = -1;
  write->step = evtimer_new(daemon->base, on_step, write);
  rematch->write = write;
  job->t_apply_start = now_us();
  stage_next_chunk(write);
  return 0;
}

/* ---- finishing an interrupted promote (at a load, on its synchronous link) -------------- */

enum { RECOVER_SLICE_RECORDS = 256, RECOVER_STALL_MS = 3000, RECOVER_WAIT_MS = 120000, RECOVER_POLL_MS = 50 };

typedef struct promote_marker {
  bool present;
  char run[160], lock[128], actor[128], instance[96];
  long long done, max_length, ttl;
  uint64_t epoch;
} promote_marker;

static void copy_reply(const redisReply *reply, char *out, size_t size) {
  snprintf(out, size, "%s", reply && reply->type == REDIS_REPLY_STRING ? reply->str : "");
}

static int read_marker(redisContext *redis, promote_marker *marker, char *error, size_t error_size) {
  memset(marker, 0, sizeof *marker);
  redisReply *reply = redisCommand(redis, "HMGET " PROMOTE_KEY " run lock done epoch max_length ttl actor instance");
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 8) {
    snprintf(error, error_size, "reading %s: %s", PROMOTE_KEY,
             reply ? (reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply") : redis->errstr);
    if (reply) freeReplyObject(reply);
    return -1;
  }
  marker->present = reply->element[0]->type == REDIS_REPLY_STRING;
  copy_reply(reply->element[0], marker->run, sizeof marker->run);
  copy_reply(reply->element[1], marker->lock, sizeof marker->lock);
  marker->done = reply->element[2]->type == REDIS_REPLY_STRING ? atoll(reply->element[2]->str) : 0;
  marker->epoch = parse_u64(reply->element[3]);
  marker->max_length = reply->element[4]->type == REDIS_REPLY_STRING ? atoll(reply->element[4]->str) : 0;
  marker->ttl = reply->element[5]->type == REDIS_REPLY_STRING ? atoll(reply->element[5]->str) : 60000;
  copy_reply(reply->element[6], marker->actor, sizeof marker->actor);
  copy_reply(reply->element[7], marker->instance, sizeof marker->instance);
  freeReplyObject(reply);
  return 0;
}

static long long monotonic_ms(void) { return now_us() / 1000; }

static void pause_ms(int ms) {
  struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

/* Waits until the promote is ours to finish: the lock free (then taken with the marker's
 * token, which every slice checks) or still held with that token by a daemon that made no
 * progress for RECOVER_STALL_MS (killed: its lock outlives it). 1 ours, 0 finished meanwhile
 * by its own daemon, -1 error. */
static int take_over_promote(redisContext *redis, promote_marker *marker, char *error, size_t error_size) {
  long long started = monotonic_ms(), stalled_since = started, last_done = -1;
  for (;;) {
    if (read_marker(redis, marker, error, error_size) != 0) return -1;
    if (!marker->present) return 0;
    redisReply *lock = redisCommand(redis, "GET " LOCK_KEY);
    if (!lock) {
      snprintf(error, error_size, "reading %s: %s", LOCK_KEY, redis->errstr);
      return -1;
    }
    bool free_lock = lock->type == REDIS_REPLY_NIL;
    bool same_token = lock->type == REDIS_REPLY_STRING && strcmp(lock->str, marker->lock) == 0;
    freeReplyObject(lock);
    long long now = monotonic_ms();
    if (free_lock) {
      redisReply *taken = redisCommand(redis, "SET %s %s NX PX %lld", LOCK_KEY, marker->lock, marker->ttl);
      bool ours = taken && taken->type == REDIS_REPLY_STATUS;
      if (taken) freeReplyObject(taken);
      if (ours) return 1;
    } else if (same_token) {
      if (marker->done != last_done)
        last_done = marker->done, stalled_since = now;
      else if (now - stalled_since >= RECOVER_STALL_MS)
        return 1;
    }
    if (now - started >= RECOVER_WAIT_MS) {
      snprintf(error, error_size, "an interrupted promote of epoch %llu waits for %s, held by another rematch",
               (unsigned long long)marker->epoch, LOCK_KEY);
      return -1;
    }
    pause_ms(RECOVER_POLL_MS);
  }
}

static int kind_of_name(const char *name, size_t length) {
  for (int kind = 0; kind < LP_KIND_COUNT; kind++) {
    const char *text = lp_kind_name((enum lp_kind)kind);
    if (strlen(text) == length && strncmp(text, name, length) == 0) return kind;
  }
  return -1;
}

/* One slice of the interrupted promote, with the events its daemon would have added; names
 * first .. end-1. The staged records say what the events say (a record a write won over was
 * deleted by BEGIN_SCRIPT: no event). */
static int recover_slice(redisContext *redis, const promote_marker *marker, long long first, long long end, char *error,
                         size_t error_size) {
  redisReply *names = redisCommand(redis, "LRANGE %snames %lld %lld", marker->run, first, end - 1);
  if (!names || names->type != REDIS_REPLY_ARRAY || (long long)names->elements != end - first) {
    snprintf(error, error_size, "reading the staged names: %s", names ? "short list" : redis->errstr);
    if (names) freeReplyObject(names);
    return -1;
  }
  for (size_t n = 0; n < names->elements; n++) {
    const char *name = names->element[n]->str, *first_break = strchr(name, '\n');
    const char *second_break = first_break ? strchr(first_break + 1, '\n') : NULL;
    int kind = first_break ? kind_of_name(name, (size_t)(first_break - name)) : -1;
    char key[320] = "";
    if (kind >= 0 && second_break)
      snprintf(key, sizeof key, "%.*s", (int)(second_break - first_break - 1), first_break + 1);
    redisAppendCommand(redis, "GET %s%s:%s", marker->run, kind >= 0 ? lp_kind_name((enum lp_kind)kind) : "?", key);
    redisAppendCommand(redis, "GET lp:%s:%s", kind >= 0 ? lp_kind_name((enum lp_kind)kind) : "?", key);
  }
  lp_txn *txn = lp_txn_new();
  char first_text[24], end_text[24];
  snprintf(first_text, sizeof first_text, "%lld", first);
  snprintf(end_text, sizeof end_text, "%lld", end);
  const char *slice_argv[7] = {"EVAL", SLICE_SCRIPT, "0", marker->lock, marker->run, first_text, end_text};
  size_t slice_lengths[7];
  for (int a = 0; a < 7; a++) slice_lengths[a] = strlen(slice_argv[a]);
  lp_txn_command(txn, 7, (const void *const *)slice_argv, slice_lengths);
  int rc = 0;
  for (size_t n = 0; n < names->elements; n++) {
    redisReply *staged = NULL, *live = NULL;
    if (redisGetReply(redis, (void **)&staged) != REDIS_OK || redisGetReply(redis, (void **)&live) != REDIS_OK) {
      snprintf(error, error_size, "reading the staged records: %s", redis->errstr);
      if (staged) freeReplyObject(staged);
      rc = -1;
      break;
    }
    const char *name = names->element[n]->str, *first_break = strchr(name, '\n');
    const char *second_break = first_break ? strchr(first_break + 1, '\n') : NULL;
    int kind = first_break ? kind_of_name(name, (size_t)(first_break - name)) : -1;
    if (kind >= 0 && second_break && staged->type == REDIS_REPLY_STRING) {
      char key[320];
      snprintf(key, sizeof key, "%.*s", (int)(second_break - first_break - 1), first_break + 1);
      const char *op = second_break + 1;
      lp_txn_note_write(txn, (enum lp_kind)kind, key);
      lp_txn_event(txn, marker->instance, op, (enum lp_kind)kind, key, marker->actor, marker->max_length);
      lp_event_detail detail = {.call = op, .epoch = marker->epoch};
      Leerplek__V1__Placement *placement = NULL, *before = NULL;
      Leerplek__V1__Vacancy *vacancy = NULL;
      if (kind == LP_KIND_PLACEMENT) {
        placement = leerplek__v1__placement__unpack(NULL, staged->len, (const uint8_t *)staged->str);
        if (live->type == REDIS_REPLY_STRING)
          before = leerplek__v1__placement__unpack(NULL, live->len, (const uint8_t *)live->str);
        if (placement) detail.new_state = (int)placement->state, detail.proposal_id = placement->proposal_id;
        if (before) detail.old_state = (int)before->state;
        const Leerplek__V1__Offer *offer = placement && placement->offer ? placement->offer
                                           : before                      ? before->offer
                                                                         : NULL;
        if (offer) detail.vacancy_id = offer->vacancy_id, detail.company_id = offer->company_id;
      } else if (kind == LP_KIND_VACANCY) {
        vacancy = leerplek__v1__vacancy__unpack(NULL, staged->len, (const uint8_t *)staged->str);
        if (vacancy) detail.vacancy_id = vacancy->id, detail.company_id = vacancy->company_id;
      }
      lp_txn_event_detail(txn, &detail);
      if (placement) protobuf_c_message_free_unpacked(&placement->base, NULL);
      if (before) protobuf_c_message_free_unpacked(&before->base, NULL);
      if (vacancy) protobuf_c_message_free_unpacked(&vacancy->base, NULL);
    }
    freeReplyObject(staged);
    freeReplyObject(live);
  }
  freeReplyObject(names);
  if (rc == 0) rc = lp_store_commit_sync(redis, txn, error, error_size);
  lp_txn_free(txn);
  return rc;
}

int lp_rematch_finish_promote(redisContext *redis, char *error, size_t error_size) {
  promote_marker marker;
  int taken = take_over_promote(redis, &marker, error, error_size);
  if (taken <= 0) return taken;
  long long started = monotonic_ms(), from = marker.done;
  LP_WARN("finishing the promote of epoch %llu that was interrupted after %lld records (run %s)",
          (unsigned long long)marker.epoch, marker.done, marker.run);
  for (;;) {
    redisReply *length = redisCommand(redis, "LLEN %snames", marker.run);
    long long total = length && length->type == REDIS_REPLY_INTEGER ? length->integer : -1;
    if (length) freeReplyObject(length);
    if (total < 0) {
      snprintf(error, error_size, "reading the staged names: %s", redis->errstr);
      return -1;
    }
    if (marker.done >= total) break;
    long long end = marker.done + RECOVER_SLICE_RECORDS < total ? marker.done + RECOVER_SLICE_RECORDS : total;
    if (recover_slice(redis, &marker, marker.done, end, error, error_size) != 0) return -1;
    long long expected = end;
    if (read_marker(redis, &marker, error, error_size) != 0) return -1;
    if (!marker.present || marker.done != expected) {
      snprintf(error, error_size, "the store refused a slice of the interrupted promote (at %lld of %lld)",
               marker.present ? marker.done : -1, total);
      return -1;
    }
  }
  redisReply *finished = redisCommand(redis, "EVAL %s 0 %s %s", FINISH_SCRIPT, marker.lock, marker.run);
  bool ok = finished && finished->type == REDIS_REPLY_INTEGER;
  if (!ok)
    snprintf(error, error_size, "finishing the interrupted promote: %s",
             finished ? (finished->type == REDIS_REPLY_ERROR ? finished->str : "unexpected reply") : redis->errstr);
  if (finished) freeReplyObject(finished);
  if (!ok) return -1;
  redisReply *released =
      redisCommand(redis, "EVAL %s 1 %s %s",
                   "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
                   LOCK_KEY, marker.lock);
  if (released) freeReplyObject(released);
  LP_WARN("the interrupted promote of epoch %llu is finished: %lld more records current in %lld ms",
          (unsigned long long)marker.epoch, marker.done - from, monotonic_ms() - started);
  return 0;
}

/* ---- the loop's side of the handoff ---------------------------------------------------- */

static void finish(lp_rematch *rematch, job *job, int code, const char *message) {
  long long started = now_us();
  rematch->running = NULL;
  if (code != 0) LP_WARN("rematch by %s failed: %s", job->actor, message);
  release_request *release = lp_calloc(1, sizeof *release);
  release->done = job->done;
  release->arg = job->arg;
  release->code = code;
  release->requested_us = job->t_requested;
  snprintf(release->message, sizeof release->message, "%s", message);
  if (code == 0)
    release->result = rematch->reply;
  else
    result_free(rematch->reply);
  rematch->reply = NULL;
  uint64_t finish_us = job->finish_us;
  free_in_background(rematch, job, &rematch->retired_warm);
  if (release->result) release->result->finish_us = finish_us + (uint64_t)(now_us() - started);
  /* Answered once the lock is gone (this link sends the next rematch's SET after it anyway). */
  release_lock_then(rematch, release);
}

static void on_worker_finished(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lp_rematch *rematch = arg;
  job *job = rematch->running;
  if (rematch->thread_live) pthread_join(rematch->thread, NULL);
  rematch->thread_live = false;
  if (!job) return;
  char message[512];
  if (job->status != MATCHER_OK) {
    LP_ERROR("rematch: %s", job->error);
    finish(rematch, job, CODE(INTERNAL), job->error);
    return;
  }
  long long result_started = now_us();
  rematch->reply = make_result(job, job->base_epoch + 1);
  job->finish_us += (uint64_t)(now_us() - result_started);
  if (job->dry_run) {
    finish(rematch, job, 0, "");
    return;
  }
  int code = apply_job(rematch, job, message, sizeof message);
  if (code != 0) finish(rematch, job, code, message);
}

int lp_rematch_start(lp_rematch *rematch, bool dry_run, uint32_t max_changes, const char *actor, lp_rematch_done *done,
                     void *arg, char *message, size_t message_size) {
  if (rematch->running || rematch->locking) {
    snprintf(message, message_size, "a rematch is already running on this daemon; retry when it has finished");
    return CODE(ABORTED);
  }
  if (!lp_store_writable(rematch->daemon->store)) {
    snprintf(message, message_size, "the store is unavailable (reconnecting); retry");
    return CODE(UNAVAILABLE);
  }
  lock_request *request = lp_calloc(1, sizeof *request);
  request->rematch = rematch;
  request->dry_run = dry_run;
  request->max_changes = max_changes;
  snprintf(request->actor, sizeof request->actor, "%s", actor);
  request->done = done;
  request->arg = arg;
  request->requested_us = now_us();
  request->timeout = evtimer_new(rematch->daemon->base, on_lock_timeout, request);
  int code = request->timeout ? take_lock(rematch, request, message, message_size) : CODE(INTERNAL);
  if (!request->timeout) snprintf(message, message_size, "could not arm the rematch lock's timer");
  if (code != 0) lock_request_free(request);
  return code;
}

/* The snapshot is complete: the worker takes over. */
static void start_worker(lp_rematch *rematch, job *job) {
  if (pthread_create(&rematch->thread, NULL, worker_main, job) != 0) {
    rematch->running = NULL;
    release_request *release = lp_calloc(1, sizeof *release);
    release->done = job->done;
    release->arg = job->arg;
    release->code = CODE(INTERNAL);
    release->requested_us = job->t_requested;
    snprintf(release->message, sizeof release->message, "could not start the rematch worker thread");
    job_free(job);
    release_lock_then(rematch, release);
    return;
  }
  rematch->thread_live = true;
}

/* One slice of the snapshot (the first runs at once, the others after pending I/O). */
static void on_snapshot_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  snapshot_walk *walk = arg;
  lp_rematch *rematch = walk->rematch;
  job *job = walk->job;
  long long started = now_us();
  bool done = snapshot_slice(walk, walk->restarts >= SNAPSHOT_RESTARTS);
  uint64_t spent = (uint64_t)(now_us() - started);
  if (spent > job->loop_max_step_us) job->loop_max_step_us = spent;
  if (!done) {
    static const struct timeval now = {0, 0};
    evtimer_add(walk->step, &now);
    return;
  }
  job->snapshot_us = (uint64_t)(now_us() - walk->started_us);
  rematch->snapshot = NULL;
  walk_free(walk);
  start_worker(rematch, job);
}

/* The lock is ours and epoch is Redis' last: the snapshot (in slices), then the worker. */
static void start_locked(lp_rematch *rematch, lock_request *request, uint64_t epoch) {
  long long t0 = now_us();
  job *job = lp_calloc(1, sizeof *job);
  /* The clock first: the snapshot counts every pupil's days waited to it. */
  job->started_unix_s = (int64_t)time(NULL);
  job->t_started = t0;
  job->t_requested = request->requested_us;
  job->lock_us = (uint64_t)(t0 - request->requested_us);
  job->owner = rematch;
  job->dry_run = request->dry_run;
  job->max_changes = request->max_changes == 0                  ? MAX_CHANGES_DEFAULT
                     : request->max_changes > MAX_CHANGES_LIMIT ? MAX_CHANGES_LIMIT
                                                                : request->max_changes;
  snprintf(job->actor, sizeof job->actor, "%s", request->actor);
  job->done = request->done;
  job->arg = request->arg;
  job->base_epoch = epoch > rematch->epoch ? epoch : rematch->epoch;
  lp_config_rule_weights(&rematch->daemon->config, &job->weights);
  rematch->running = job;
  snapshot_walk *walk = lp_calloc(1, sizeof *walk);
  walk->rematch = rematch;
  walk->job = job;
  walk->started_us = t0;
  walk->step = evtimer_new(rematch->daemon->base, on_snapshot_step, walk);
  if (!walk->step) walk->restarts = SNAPSHOT_RESTARTS; /* no timer: taken whole in this callback */
  rematch->snapshot = walk;
  walk_begin(walk);
  on_snapshot_step(-1, 0, walk);
}

bool lp_rematch_running(const lp_rematch *rematch) { return rematch->running != NULL || rematch->locking != NULL; }

const Leerplek__V1__RematchResult *lp_rematch_last(const lp_rematch *rematch) { return rematch->last; }

/* ---- nightly --------------------------------------------------------------------------- */

static void arm_nightly(lp_rematch *rematch) {
  int minute = lp_config_nightly_minute(&rematch->daemon->config);
  if (minute < 0 || !rematch->nightly) return;
  time_t now = time(NULL);
  struct tm local;
  localtime_r(&now, &local);
  long seconds_now = local.tm_hour * 3600L + local.tm_min * 60L + local.tm_sec;
  long wait = minute * 60L - seconds_now;
  if (wait <= 0) wait += 86400;
  struct timeval delay = {wait, 0};
  evtimer_add(rematch->nightly, &delay);
}

static void on_nightly_done(void *arg, int code, const char *message, const Leerplek__V1__RematchResult *result) {
  lp_rematch *rematch = arg;
  if (code == 0)
    LP_INFO("nightly rematch: epoch %llu", (unsigned long long)result->epoch);
  else
    LP_WARN("nightly rematch did not run: %s", message);
  /* Only the daemon whose rematch held the lock gets here with 0: one dispatch a night, also
   * when several daemons share the store. */
  if (code == 0 && rematch->after_nightly && !rematch->daemon->stopping && lp_store_writable(rematch->daemon->store))
    rematch->after_nightly(rematch->daemon, (long long)time(NULL));
}

static void on_nightly(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lp_rematch *rematch = arg;
  char message[512];
  /* With several daemons each tries; the lock lets exactly one run, the others log ABORTED. */
  if (!rematch->daemon->stopping &&
      lp_rematch_start(rematch, false, 0, "nightly", on_nightly_done, rematch, message, sizeof message) != 0)
    LP_INFO("nightly rematch not started here: %s", message);
  arm_nightly(rematch);
}

/* ---- life ------------------------------------------------------------------------------ */

lp_rematch *lp_rematch_new(lp_daemon *daemon) {
  lp_rematch *rematch = lp_calloc(1, sizeof *rematch);
  rematch->daemon = daemon;
  rematch->finished = event_new(daemon->base, -1, 0, on_worker_finished, rematch);
  rematch->nightly = evtimer_new(daemon->base, on_nightly, rematch);
  if (!rematch->finished || !rematch->nightly) {
    lp_rematch_free(rematch);
    return NULL;
  }
  /* Before the loop serves anything (like the store's first load), on a short link of its own:
   * place_pupil's ids must start after the last manual id from the first call on. */
  char message[256];
  redisContext *redis = lp_redis_connect_sync(&daemon->config, message, sizeof message);
  if (redis) {
    redisReply *reply = redisCommand(redis, "MGET " LP_EPOCH_KEY " " LP_REMATCH_LAST_KEY " " LP_MANUAL_LAST_KEY);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
      rematch->epoch = parse_u64(reply->element[0]);
      rematch->manual_last = parse_u64(reply->element[2]);
      if (reply->element[1]->type == REDIS_REPLY_STRING)
        rematch->last =
            leerplek__v1__rematch_result__unpack(NULL, reply->element[1]->len, (const uint8_t *)reply->element[1]->str);
    }
    if (reply) freeReplyObject(reply);
    redisFree(redis);
  } else {
    LP_WARN("rematch: cannot read the last epoch now (%s); it is read again at the first rematch", message);
  }
  arm_nightly(rematch);
  the_rematch = rematch;
  return rematch;
}

void lp_rematch_free(lp_rematch *rematch) {
  if (!rematch) return;
  if (rematch->thread_live) pthread_join(rematch->thread, NULL);
  if (rematch->running) {
    job *job = rematch->running;
    job->done = NULL; /* the connections are gone */
    walk_free(rematch->snapshot);
    rematch->snapshot = NULL;
    write_free(rematch->write);
    finish(rematch, job, CODE(UNAVAILABLE), "the daemon is shutting down");
  }
  if (rematch->finished) event_free(rematch->finished);
  if (rematch->nightly) event_free(rematch->nightly);
  if (rematch->locking) { /* its reply, if any still comes, frees it */
    rematch->locking->rematch = NULL;
    rematch->locking = NULL;
  }
  if (rematch->cleaner_live) pthread_join(rematch->cleaner, NULL);
  warm_free(&rematch->warm);
  warm_free(&rematch->retired_warm);
  result_free(rematch->last);
  result_free(rematch->reply);
  if (the_rematch == rematch) the_rematch = NULL;
  free(rematch);
}

/* ---- manual proposal ids --------------------------------------------------------------- */

uint64_t lp_rematch_manual_id(lp_rematch *rematch, uint64_t epoch_seen, uint64_t manual_seen) {
  uint64_t epoch = epoch_seen > rematch->epoch ? epoch_seen : rematch->epoch;
  uint64_t first = (epoch << 24) | LP_MANUAL_ID_BIT | 1u;
  if (manual_seen > rematch->manual_last) rematch->manual_last = manual_seen;
  rematch->manual_last = rematch->manual_last + 1 > first ? rematch->manual_last + 1 : first;
  return rematch->manual_last;
}

bool lp_rematch_issued(const lp_rematch *rematch, uint64_t id, uint64_t epoch_seen) {
  if (id & LP_MANUAL_ID_BIT) return rematch && id <= rematch->manual_last;
  uint64_t epoch = rematch && rematch->epoch > epoch_seen ? rematch->epoch : epoch_seen;
  return id >> 24 >= 1 && id >> 24 <= epoch && (id & 0xFFFFFFu) >= 1;
}
