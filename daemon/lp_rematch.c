/* lp_rematch: runs a rematch. On the loop: take the Redis lock (SET NX PX, so one rematch at a
 * time across daemons) and read the epoch, one script sent on the store's link (the loop never
 * waits for Redis: the rematch goes on from its reply), copy what matching needs into plain
 * arrays (the snapshot, in slices of a few ms: calls are served in between). In a worker
 * thread, touching only the snapshot and the previous result: build the problem
 * (eligibility_build), solve it warm from the previous rematch, prove it (matcher_verify), check
 * every new proposal against the rules (eligibility_is_eligible) and explain the unplaced. Back
 * on the loop (event_active, thread-safe with evthread_use_pthreads): build the result and hand
 * the changes to the epoch write (lp_epoch_write.c: a write that arrived meanwhile wins, every
 * step is one short loop callback), then keep the solution for the next warm start, release
 * the lock and reply. */
#include "lp_rematch.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_epoch_write.h"
#include "lp_log.h"
#include "lp_proc_status.h"
#include "lp_records.h"
#include "lp_rematch_job.h"
#include "lp_rules.h"
#include "lp_redis.h"
#include "lp_store.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define LOCK_KEY LP_REMATCH_LOCK_KEY
#define MAX_CHANGES_DEFAULT 100u
#define MAX_CHANGES_LIMIT 1000u

/* What the previous applied rematch left for the next one's warm start, by stable ids. */
typedef struct warm_memory {
  size_t pupil_count;
  char **pupil_keys;      /* sorted (the snapshot walks the sorted placement map) */
  int32_t *pupil_vacancy; /* its vacancy's index in vacancy_ids, -1 when unplaced */
  size_t vacancy_count;
  char **vacancy_ids; /* sorted */
  int64_t *vacancy_price;
  /* The previous problem's inputs and pairs, so that the next build searches again only the
   * pupils and vacancies whose rule inputs changed (eligibility_build_in_place, which takes
   * pairs and pair_distance_m: NULL after a rematch that failed after its build). */
  eligibility_pupil *pupils;      /* [pupil_count], by pupil_keys */
  int32_t *company_pool;          /* their preferred and excluded lists point here */
  eligibility_vacancy *vacancies; /* [vacancy_count], by vacancy_ids */
  eligibility_weights weights;
  matcher_pair *pairs;
  int32_t *pair_distance_m;
  int64_t pair_count;
  int64_t *unplaced_penalty; /* [pupil_count] */
} warm_memory;

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
  lp_epoch_write *write;              /* the epoch write under way */
  struct snapshot_walk *snapshot;     /* the snapshot under way */
  char lock_value[96];
};

static lp_rematch *the_rematch;

void lp_rematch_set_after_nightly(lp_rematch *rematch, lp_after_nightly *after) { rematch->after_nightly = after; }

lp_rematch *lp_rematch_of(const lp_daemon *daemon) {
  return the_rematch && the_rematch->daemon == daemon ? the_rematch : NULL;
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

/* For each key of now (sorted, distinct) its index in before (sorted, distinct) or -1: one merge
 * of the two lists, a strcmp per step, instead of a binary search per key. Only equal keys are
 * matched, so a list out of order could lose matches (those pupils would count as new), never
 * match wrongly. */
static void match_sorted(char *const *now, size_t now_count, char *const *before, size_t before_count, int32_t *same) {
  size_t b = 0;
  for (size_t n = 0; n < now_count; n++) {
    int order = 1;
    while (b < before_count && (order = strcmp(before[b], now[n])) < 0) b++;
    same[n] = b < before_count && order == 0 ? (int32_t)b : -1;
  }
}

static void warm_free(warm_memory *warm) {
  for (size_t i = 0; i < warm->pupil_count; i++) free(warm->pupil_keys[i]);
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

static void job_drop_snapshot(job *job);

static void job_free(job *job) {
  if (!job) return;
  job_drop_snapshot(job);
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

/* The daemon's RSS and its peak now, false without /proc. The kernel updates VmHWM lazily (a
 * read can show less than an earlier one), so the peak is at least the RSS and the peak of the
 * phase before (previous_peak). */
static bool memory_now(uint64_t previous_peak, uint64_t *rss, uint64_t *peak) {
  static const char *const fields[] = {"VmRSS", "VmHWM"};
  long long bytes[2];
  lp_proc_status_fields(0, fields, bytes, 2); /* one read: the two figures of one moment */
  if (bytes[0] < 0 || bytes[1] < 0) return false;
  *rss = (uint64_t)bytes[0];
  *peak = (uint64_t)bytes[1];
  if (*peak < *rss) *peak = *rss;
  if (*peak < previous_peak) *peak = previous_peak;
  return true;
}

/* The daemon's memory as a phase ends (RematchResult.phase_memory). */
static void note_memory(job *job, const char *phase) {
  int n = job->phase_memory_count;
  if (n >= (int)(sizeof job->phase_memory / sizeof job->phase_memory[0])) return;
  uint64_t previous_peak = n > 0 ? job->phase_memory[n - 1].peak_rss_bytes : 0;
  if (!memory_now(previous_peak, &job->phase_memory[n].rss_bytes, &job->phase_memory[n].peak_rss_bytes)) return;
  job->phase_memory[n].phase = phase;
  job->phase_memory_count = n + 1;
}

static Leerplek__V1__RematchPhaseMemory *phase_memory_message(const char *phase, uint64_t rss, uint64_t peak) {
  Leerplek__V1__RematchPhaseMemory *memory = lp_calloc(1, sizeof *memory);
  leerplek__v1__rematch_phase_memory__init(memory);
  memory->phase = lp_strdup(phase);
  memory->rss_bytes = rss;
  memory->peak_rss_bytes = peak;
  return memory;
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
 * each slice first checks that their keys are those of the first slice (the maps' key_version,
 * one comparison: comparing every key cost each slice as much as 25,000 companies), and the snapshot
 * starts again when they are not (at most SNAPSHOT_RESTARTS times, then it is taken whole). */
enum { SNAPSHOT_SLICE_US = 2000, SNAPSHOT_SLICE_ENTRIES = 256, SNAPSHOT_CLOCK_EVERY = 32, SNAPSHOT_RESTARTS = 3 };

typedef struct snapshot_walk {
  lp_rematch *rematch;
  job *job;
  struct event *step;
  int phase;                            /* 0 vacancies, 1 pupils, 2 done */
  char *after;                          /* the last key copied in this phase, NULL before the first */
  uint64_t company_keys, training_keys; /* the maps' key_version at the first slice */
  lp_rules_lookups lookups;             /* hash indices of companies, locations, trainings */
  /* The vacancy map's key_version through the whole vacancy phase (0 when it moved): while it
   * holds, a vacancy's rank in the map is its index in the job (every one copied, in order). */
  uint64_t vacancy_keys;
  lp_map_key_index vacancy_ranks;
  size_t pupil_capacity, vacancy_capacity;
  int32_t **pool_blocks; /* the company lists of the pupils, one block per slice */
  size_t pool_block_count;
  int restarts;
  long long started_us;
} snapshot_walk;

static void walk_reset(snapshot_walk *walk) {
  free(walk->after);
  walk->after = NULL;
  for (size_t b = 0; b < walk->pool_block_count; b++) free(walk->pool_blocks[b]);
  free(walk->pool_blocks);
  walk->pool_blocks = NULL;
  walk->pool_block_count = 0;
}

static void walk_free(snapshot_walk *walk) {
  if (!walk) return;
  walk_reset(walk);
  lp_rules_lookups_free(&walk->lookups);
  lp_map_key_index_free(&walk->vacancy_ranks);
  if (walk->step) event_free(walk->step);
  free(walk);
}

/* A new job's arrays, sized for the state as it is now (they grow if it grows). */
static void walk_begin(snapshot_walk *walk) {
  const lp_state *state = &walk->rematch->daemon->state;
  job *job = walk->job;
  const lp_map *trainings = &state->maps[LP_KIND_TRAINING];
  walk->company_keys = state->maps[LP_KIND_COMPANY].key_version;
  walk->training_keys = trainings->key_version;
  walk->phase = 0;
  walk->vacancy_keys = state->maps[LP_KIND_VACANCY].key_version;
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

/* Frees what the job's snapshot holds so far (the job itself stays; job_free frees it too). */
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
  lp_rules_vacancy(&walk->rematch->daemon->state, &walk->lookups, vacancy, &job->vacancies[j]);
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
  long current = -1;
  if (holds) {
    const lp_map *vacancies = &state->maps[LP_KIND_VACANCY];
    current = walk->vacancy_keys != 0 && vacancies->key_version == walk->vacancy_keys
                  ? lp_map_key_index_find(&walk->vacancy_ranks, vacancies, placement->offer->vacancy_id)
                  : strings_index(job->vacancy_ids, (size_t)job->vacancy_count, placement->offer->vacancy_id);
  }
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

/* The pupil of placement key, found by walking the pupil map beside the placement map (both
 * sorted by the same keys): a step or two instead of a binary search per pupil. *cursor starts
 * at the first pupil after the slice's first key and only moves forward. */
static const Leerplek__V1__Pupil *pupil_beside(const lp_map *pupils, size_t *cursor, const char *key) {
  int order = -1;
  while (*cursor < pupils->count && (order = strcmp(pupils->entries[*cursor].key, key)) < 0) ++*cursor;
  return *cursor < pupils->count && order == 0 ? pupils->entries[*cursor].value : NULL;
}

/* One slice of the walk; true when the snapshot is complete. whole: no time limit. */
static bool snapshot_slice(snapshot_walk *walk, bool whole) {
  const lp_state *state = &walk->rematch->daemon->state;
  job *job = walk->job;
  long long started = now_us();
  if (state->maps[LP_KIND_COMPANY].key_version != walk->company_keys ||
      state->maps[LP_KIND_TRAINING].key_version != walk->training_keys) {
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
    if (vacancies->key_version != walk->vacancy_keys || (size_t)job->vacancy_count != vacancies->count)
      walk->vacancy_keys = 0;
    walk->after = NULL;
  }
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT], *pupils = &state->maps[LP_KIND_PUPIL];
  size_t k = lp_map_after(placements, walk->after), first = k, slots = 0, end;
  size_t pupil_start = k < placements->count ? lp_map_after(pupils, walk->after) : 0, cursor = pupil_start;
  /* This slice's pupils and how many company slots their lists may take, then one block. */
  for (end = k; end < placements->count && (whole || end - first < SNAPSHOT_SLICE_ENTRIES); end++) {
    const Leerplek__V1__Pupil *pupil = pupil_beside(pupils, &cursor, placements->entries[end].key);
    if (pupil) slots += lp_rules_company_slots(pupil);
  }
  int32_t *pool = lp_calloc(slots + 1, sizeof *pool);
  walk->pool_blocks = lp_realloc(walk->pool_blocks, (walk->pool_block_count + 1) * sizeof *walk->pool_blocks);
  walk->pool_blocks[walk->pool_block_count++] = pool;
  size_t used = 0;
  cursor = pupil_start;
  for (size_t n = 0; k < end; k++, n++) {
    if (!whole && n % SNAPSHOT_CLOCK_EVERY == SNAPSHOT_CLOCK_EVERY - 1 && now_us() - started > SNAPSHOT_SLICE_US) break;
    const char *key = placements->entries[k].key;
    used += copy_pupil(walk, key, placements->entries[k].value, pupil_beside(pupils, &cursor, key), pool + used);
  }
  free(walk->after);
  walk->after = k > 0 && k < placements->count ? lp_strdup(placements->entries[k - 1].key) : NULL;
  if (k < placements->count) return false;
  walk->phase = 2;
  walk_join_pools(walk);
  return true;
}

/* ---- the worker ------------------------------------------------------------------------ */

/* This snapshot's pupils and vacancies matched to the previous rematch's by stable ids. */
typedef struct {
  int32_t *same_pupil;   /* [job pupil] -> the previous pupil, -1 when new */
  int32_t *same_vacancy; /* [job vacancy] -> the previous vacancy, -1 when new */
} warm_match;

static void warm_match_build(const warm_memory *warm, const job *job, warm_match *match) {
  match->same_pupil = lp_malloc(((size_t)job->pupil_count + 1) * sizeof *match->same_pupil);
  match->same_vacancy = lp_malloc(((size_t)job->vacancy_count + 1) * sizeof *match->same_vacancy);
  char **pupil_keys = lp_malloc(((size_t)job->pupil_count + 1) * sizeof *pupil_keys);
  for (int32_t i = 0; i < job->pupil_count; i++) pupil_keys[i] = job->meta[i].key;
  match_sorted(pupil_keys, (size_t)job->pupil_count, warm->pupil_keys, warm->pupil_count, match->same_pupil);
  free(pupil_keys);
  match_sorted(job->vacancy_ids, (size_t)job->vacancy_count, warm->vacancy_ids, warm->vacancy_count,
               match->same_vacancy);
}

/* The previous result re-indexed to this snapshot's pupils and vacancies. */
static void build_warm(const warm_memory *warm, const job *job, const warm_match *match, int32_t *vacancy_of_pupil,
                       int64_t *vacancy_price) {
  /* The previous vacancies' indices now (-1: gone). */
  int32_t *vacancy_now = lp_malloc((warm->vacancy_count + 1) * sizeof *vacancy_now);
  for (size_t v = 0; v < warm->vacancy_count; v++) vacancy_now[v] = -1;
  for (int32_t j = 0; j < job->vacancy_count; j++) {
    int32_t prev = match->same_vacancy[j];
    vacancy_price[j] = prev >= 0 ? warm->vacancy_price[prev] : 0;
    if (prev >= 0) vacancy_now[prev] = j;
  }
  for (int32_t i = 0; i < job->pupil_count; i++) {
    int32_t prev = match->same_pupil[i];
    if (prev < 0) {
      vacancy_of_pupil[i] = MATCHER_UNKNOWN;
    } else if (warm->pupil_vacancy[prev] < 0) {
      vacancy_of_pupil[i] = MATCHER_UNPLACED;
    } else {
      int32_t j = vacancy_now[warm->pupil_vacancy[prev]];
      vacancy_of_pupil[i] = j >= 0 ? j : MATCHER_UNKNOWN;
    }
  }
  free(vacancy_now);
}

/* The previous rematch's problem for eligibility_build_in_place, with this snapshot's pupils
 * and vacancies matched to its by stable ids (arrays owned by the caller) and the warm start's
 * previous placements (build_warm's, or NULL), which spare the matcher checking the pupils whose
 * costs changed only by a proposal; false when there is none. */
static bool previous_problem(const warm_memory *warm, const warm_match *match, const int32_t *warm_vacancy,
                             eligibility_previous *previous) {
  if (!warm->pairs) return false;
  *previous = (eligibility_previous){warm->pupils,          (int32_t)warm->pupil_count,
                                     warm->vacancies,       (int32_t)warm->vacancy_count,
                                     warm->weights,         warm->pairs,
                                     warm->pair_distance_m, warm->pair_count,
                                     match->same_pupil,     match->same_vacancy,
                                     warm_vacancy};
  return true;
}

static void *worker_main(void *arg) {
  job *job = arg;
  lp_rematch *rematch = job->owner;
  matcher_error error = {{0}};
  long long t0 = now_us();
  /* The previous result by this snapshot's indices, for the build's change marks and the solve. */
  int32_t *warm_vacancy_of = NULL;
  int64_t *warm_price = NULL;
  warm_match match = {NULL, NULL};
  if (rematch->warm.pupil_count || rematch->warm.vacancy_count) {
    warm_match_build(&rematch->warm, job, &match);
    warm_vacancy_of = lp_calloc((size_t)job->pupil_count + 1, sizeof *warm_vacancy_of);
    warm_price = lp_calloc((size_t)job->vacancy_count + 1, sizeof *warm_price);
    build_warm(&rematch->warm, job, &match, warm_vacancy_of, warm_price);
  }
  eligibility_previous previous;
  bool reusing = match.same_pupil && previous_problem(&rematch->warm, &match, warm_vacancy_of, &previous);
  if (reusing && !job->dry_run) {
    /* The build rewrites the previous rematch's pairs in place (a small change then costs the rows
     * it changes, not a copy of every pair) and owns them from here whatever its status: the
     * warm memory lets go of them, so a rematch that fails after this builds the next one cold.
     * Only this worker reads the warm memory's pairs while it runs (finish replaces it after). */
    job->status = eligibility_build_in_place(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count,
                                             &job->weights, &previous, &job->problem, &error);
    rematch->warm.pairs = NULL;
    rematch->warm.pair_distance_m = NULL;
    rematch->warm.pair_count = 0;
  } else if (reusing) {
    /* A dry run keeps nothing: it copies, so that the next real rematch still reuses the pairs. */
    job->status = eligibility_build_reusing(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count,
                                            &job->weights, &previous, &job->problem, &error);
  } else {
    job->status = eligibility_build(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count, &job->weights,
                                    &job->problem, &error);
  }
  free(match.same_pupil), free(match.same_vacancy);
  /* Found by the build on the way (NULL when cold: every pupil is checked); the problem owns it. */
  const uint8_t *pupil_changed = job->problem.pupil_changed;
  long long t1 = now_us();
  job->candidates_us = (uint64_t)(t1 - t0);
  note_memory(job, "candidates");
  if (job->status != MATCHER_OK) {
    snprintf(job->error, sizeof job->error, "building the matching problem failed (%s): %s",
             matcher_status_name(job->status), error.message);
    free(warm_vacancy_of);
    free(warm_price);
    goto out;
  }
  job->problem_built = true;
  matcher_warm_start warm = {0};
  if (warm_vacancy_of) {
    warm.vacancy_of_pupil = warm_vacancy_of;
    warm.vacancy_price = warm_price;
    /* NULL without a previous problem: every pupil is checked. */
    warm.pupil_changed = pupil_changed;
    job->warm_changed_pupils = job->pupil_count;
    if (pupil_changed) {
      job->warm_changed_pupils = 0;
      for (int32_t i = 0; i < job->pupil_count; i++) job->warm_changed_pupils += pupil_changed[i] != 0;
    }
  }
  job->status = matcher_solve(&job->problem.problem, warm.vacancy_of_pupil ? &warm : NULL, &job->solution, &error);
  free(warm_vacancy_of);
  free(warm_price);
  job->solve_us = (uint64_t)(now_us() - t1);
  note_memory(job, "solve");
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
  note_memory(job, "verify");
  eligibility_names names = {(const char *const *)job->vacancy_ids, (const char *const *)job->training_codes,
                             job->training_count};
  job->status = eligibility_explain(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count, &job->weights,
                                    &job->problem, &job->solution, &names, job->explanations, &error);
  job->explain_us = (uint64_t)(now_us() - t2);
  note_memory(job, "explain");
  if (job->status != MATCHER_OK)
    snprintf(job->error, sizeof job->error, "explaining failed (%s): %s", matcher_status_name(job->status),
             error.message);
out:
  event_active(rematch->finished, EV_READ, 0);
  return NULL;
}

/* ---- lock and epoch (async commands on the store's link) ------------------------------ */

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
  result->snapshot_copy_us = job->snapshot_copy_us;
  result->snapshot_slices = job->snapshot_slices;
  result->candidates_us = job->candidates_us;
  result->reused_pupils = (uint32_t)job->problem.reused_pupils;
  result->solve_us = job->solve_us;
  const matcher_stats *stats = &job->solution.stats;
  result->warm_started = stats->warm_started != 0;
  result->warm_changed_pupils = (uint32_t)job->warm_changed_pupils;
  result->warm_repaired = (uint32_t)stats->repaired;
  result->solve_searches = (uint64_t)(stats->searches + stats->reverse_phases);
  result->solve_pairs_scanned = (uint64_t)stats->pairs_scanned;
  result->explain_us = job->explain_us;
  result->lock_us = job->lock_us;
  result->verify_us = job->verify_us;
  result->apply_max_step_us = job->loop_max_step_us; /* the epoch write's steps follow */
  /* The worker refuses any solution matcher_verify does not prove, so reaching here is the proof. */
  result->proven_optimal = job->dual_bound == job->solution.objective;
  result->dual_bound = job->dual_bound;
  /* Room for the "write" entry epoch_applied adds. */
  result->phase_memory = lp_calloc((size_t)job->phase_memory_count + 2, sizeof *result->phase_memory);
  for (int n = 0; n < job->phase_memory_count; n++)
    result->phase_memory[result->n_phase_memory++] = phase_memory_message(
        job->phase_memory[n].phase, job->phase_memory[n].rss_bytes, job->phase_memory[n].peak_rss_bytes);
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

static void finish(lp_rematch *rematch, job *job, int code, const char *message);

/* The epoch is current in Redis and in memory: keep the solution for tomorrow's warm start
 * and answer. */
static void epoch_applied(lp_rematch *rematch, job *job) {
  long long started = now_us();
  job->write_us = rematch->reply->write_us;
  rematch->epoch = rematch->reply->epoch;
  size_t phases = rematch->reply->n_phase_memory;
  uint64_t rss, peak;
  if (memory_now(phases > 0 ? rematch->reply->phase_memory[phases - 1]->peak_rss_bytes : 0, &rss, &peak))
    rematch->reply->phase_memory[rematch->reply->n_phase_memory++] = phase_memory_message("write", rss, peak);
  /* Keep this solution for tomorrow's warm start, by stable ids. */
  warm_memory warm = {0};
  warm.pupil_keys = lp_calloc((size_t)job->pupil_count + 1, sizeof(char *));
  warm.pupil_vacancy = lp_calloc((size_t)job->pupil_count + 1, sizeof *warm.pupil_vacancy);
  warm.vacancy_ids = job->vacancy_ids;
  warm.vacancy_price = job->solution.vacancy_price;
  warm.vacancy_count = (size_t)job->vacancy_count;
  warm.pupil_count = (size_t)job->pupil_count;
  for (int32_t i = 0; i < job->pupil_count; i++) {
    int32_t to = job->solution.vacancy_of_pupil[i];
    warm.pupil_keys[i] = job->meta[i].key;
    job->meta[i].key = NULL;
    warm.pupil_vacancy[i] = to >= 0 ? to : -1;
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
          "(%d of %d pupils' pairs reused), solve %llu us%s (%s: %d pupils changed, %lld repaired, %lld searches, "
          "%lld pairs scanned), explain %llu us, write %llu us, all %lld us)",
          (unsigned long long)rematch->reply->epoch, rematch->reply->newly_proposed, rematch->reply->moved,
          rematch->reply->released, rematch->reply->unplaced, (unsigned long long)job->snapshot_us,
          (unsigned long long)job->candidates_us, job->problem.reused_pupils, job->pupil_count,
          (unsigned long long)job->solve_us, job->solution.stats.warm_abandoned ? " (warm start abandoned)" : "",
          job->solution.stats.warm_started ? "warm" : "cold", job->warm_changed_pupils,
          (long long)job->solution.stats.repaired,
          (long long)(job->solution.stats.searches + job->solution.stats.reverse_phases),
          (long long)job->solution.stats.pairs_scanned, (unsigned long long)job->explain_us,
          (unsigned long long)job->write_us, now_us() - job->t_started);
  finish(rematch, job, 0, "");
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

/* The epoch write has ended: keep the solution and answer, or say why not. */
static void on_epoch_written(void *arg, int code, const char *message) {
  lp_rematch *rematch = arg;
  if (code == 0)
    epoch_applied(rematch, rematch->running);
  else
    finish(rematch, rematch->running, code, message);
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
  int code = lp_epoch_write_start(rematch->daemon, job, rematch->reply, rematch->lock_value, &rematch->write,
                                  on_epoch_written, rematch, message, sizeof message);
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
  job->snapshot_copy_us += spent;
  job->snapshot_slices++;
  if (!done) {
    static const struct timeval now = {0, 0};
    evtimer_add(walk->step, &now);
    return;
  }
  job->snapshot_us = (uint64_t)(now_us() - walk->started_us);
  note_memory(job, "snapshot");
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
    lp_epoch_write_abandon(rematch->write);
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
