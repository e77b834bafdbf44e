/* lp_rematch: runs a rematch. On the loop: take the Redis lock (SET NX PX, so one rematch at a
 * time across daemons), read the epoch, copy what matching needs into plain arrays (the
 * snapshot). In a worker thread, touching only the snapshot and the previous result: build the
 * problem (eligibility_build), solve it warm from the previous rematch, prove it (matcher_verify),
 * check every new proposal against the rules (eligibility_is_eligible) and explain the unplaced.
 * Back on the loop (event_active, thread-safe with evthread_use_pthreads): re-check each change
 * against the live state (a write that arrived meanwhile wins; the next rematch picks it up),
 * stage the changed records in Redis in bounded chunks, make them current in one atomic final
 * step with the new epoch, put them in memory in slices, release the lock, reply ("the epoch
 * write" below: every step is one short loop callback, so calls are served in between). */
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
#include "lp_store.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define LOCK_KEY "lp:lock:rematch"
#define MAX_CHANGES_DEFAULT 100u
#define MAX_CHANGES_LIMIT 1000u

/* Per pupil of the snapshot: what identifies it and what must be unchanged when applying. */
typedef struct pupil_meta {
  char *key;                 /* "<school>/<ref>" */
  char *school_id, *ref;
  uint64_t pupil_revision;
  int placement_state;
  uint64_t proposal_id;
  int64_t placement_updated;
  int32_t current_vacancy;   /* snapshot index of its current proposal, -1 */
  bool fixed;
} pupil_meta;

/* What the previous applied rematch left for the next one's warm start, by stable ids. */
typedef struct warm_memory {
  size_t pupil_count;
  char **pupil_keys;        /* sorted (the snapshot walks the sorted placement map) */
  char **pupil_vacancy;     /* its vacancy id, NULL when unplaced */
  size_t vacancy_count;
  char **vacancy_ids;       /* sorted */
  int64_t *vacancy_price;
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
  int32_t *company_pool;     /* the preferred and excluded lists of all pupils */
  pupil_meta *meta;
  char **vacancy_ids;
  uint64_t *vacancy_revision;
  char **training_codes;     /* by training index, for the help texts */
  int32_t training_count;
  uint32_t fixed_count;
  /* Filled by the worker. */
  matcher_status status;
  char error[400];
  bool problem_built, solved;
  eligibility_problem problem;
  matcher_solution solution;
  eligibility_explanation *explanations;
  int64_t dual_bound;        /* the verifier's dual value */
  uint64_t snapshot_us, candidates_us, solve_us, explain_us, write_us;
  long long t_apply_start, t_started;
} job;

struct lp_rematch {
  lp_daemon *daemon;
  lp_after_nightly *after_nightly; /* the referrals' dispatch (lp_rematch_set_after_nightly) */
  redisContext *redis;       /* synchronous: lock, epoch (one round trip each, on the loop) */
  struct event *finished;    /* activated by the worker */
  struct event *nightly;
  pthread_t thread;
  bool thread_live;
  job *running;
  warm_memory warm;
  uint64_t epoch;            /* the last epoch seen in Redis */
  uint64_t manual_last;      /* the last manual proposal id issued (lp:manual:last) */
  Leerplek__V1__RematchResult *last;  /* summary of the last applied rematch */
  Leerplek__V1__RematchResult *reply; /* the result being answered */
  struct epoch_write *write;          /* the epoch write under way */
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
    if (c < 0) lo = mid + 1;
    else hi = mid;
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

/* ---- snapshot (on the loop) ------------------------------------------------------------ */

static bool is_considered(int state) {
  return state == PSTATE(WAITING) || state == PSTATE(DECLINED) || state == PSTATE(PROPOSED) ||
         state == PSTATE(ACCEPTED) || state == PSTATE(AGREEMENT);
}

/* Copies what matching needs, as of job->started_unix_s (days waited are counted to it). */
static job *take_snapshot(lp_rematch *rematch, int64_t started_unix_s) {
  const lp_state *state = &rematch->daemon->state;
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT], *vacancies = &state->maps[LP_KIND_VACANCY];
  const lp_map *trainings = &state->maps[LP_KIND_TRAINING];
  job *job = lp_calloc(1, sizeof *job);
  job->started_unix_s = started_unix_s;
  size_t pool_size = 0, pupil_capacity = placements->count;
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, placements->entries[i].key);
    if (pupil) pool_size += lp_rules_company_slots(pupil);
  }
  job->vacancy_count = (int32_t)vacancies->count;
  job->training_count = (int32_t)trainings->count;
  job->pupils = lp_calloc(pupil_capacity + 1, sizeof *job->pupils);
  job->meta = lp_calloc(pupil_capacity + 1, sizeof *job->meta);
  job->company_pool = lp_calloc(pool_size + 1, sizeof *job->company_pool);
  job->vacancies = lp_calloc(vacancies->count + 1, sizeof *job->vacancies);
  job->vacancy_ids = lp_calloc(vacancies->count + 1, sizeof *job->vacancy_ids);
  job->vacancy_revision = lp_calloc(vacancies->count + 1, sizeof *job->vacancy_revision);
  job->training_codes = lp_calloc(trainings->count + 1, sizeof *job->training_codes);
  for (size_t t = 0; t < trainings->count; t++)
    job->training_codes[t] = lp_strdup(trainings->entries[t].key);

  for (size_t j = 0; j < vacancies->count; j++) {
    const Leerplek__V1__Vacancy *vacancy = vacancies->entries[j].value;
    job->vacancy_ids[j] = lp_strdup(vacancy->id);
    job->vacancy_revision[j] = vacancy->revision;
    lp_rules_vacancy(state, vacancy, &job->vacancies[j]);
  }

  size_t pool_used = 0;
  int32_t count = 0;
  for (size_t i = 0; i < placements->count; i++) {
    const char *key = placements->entries[i].key;
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, key);
    if (!pupil || !pupil->home || !is_considered(placement->state)) continue;
    /* A pinned proposal holds its seat like an accepted one (PRIORITY ORDER in the proto). */
    bool fixed = placement->state == PSTATE(ACCEPTED) || placement->state == PSTATE(AGREEMENT) ||
                 (placement->state == PSTATE(PROPOSED) && placement->pinned);
    long current = placement->offer && placement->proposal_id ? lp_map_index(vacancies, placement->offer->vacancy_id) : -1;
    /* A fixed pair whose vacancy is gone or closed holds no seat the rematch could give away. */
    if (fixed && (current < 0 || !job->vacancies[current].open)) continue;
    eligibility_pupil *out = &job->pupils[count];
    pupil_meta *meta = &job->meta[count];
    meta->key = lp_strdup(key);
    meta->school_id = lp_strdup(pupil->school_id);
    meta->ref = lp_strdup(pupil->ref);
    count++;
    meta->pupil_revision = pupil->revision;
    meta->placement_state = placement->state;
    meta->proposal_id = placement->proposal_id;
    meta->placement_updated = placement->updated_unix_s;
    meta->current_vacancy = placement->state == PSTATE(PROPOSED) || fixed ? (int32_t)current : -1;
    meta->fixed = fixed;
    if (fixed) job->fixed_count++;
    lp_rules_pupil(state, pupil, placement, job->started_unix_s, job->company_pool + pool_used, out);
    pool_used += (size_t)(out->preferred_count + out->excluded_count);
    out->proposed_vacancy = placement->state == PSTATE(PROPOSED) && !fixed ? (int32_t)current : -1;
    out->fixed_vacancy = fixed ? (int32_t)current : -1;
  }
  job->pupil_count = count;
  return job;
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

static void *worker_main(void *arg) {
  job *job = arg;
  lp_rematch *rematch = job->owner;
  matcher_error error = {{0}};
  long long t0 = now_us();
  job->status = eligibility_build(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count, &job->weights,
                                  &job->problem, &error);
  long long t1 = now_us();
  job->candidates_us = (uint64_t)(t1 - t0);
  if (job->status != MATCHER_OK) {
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
  }
  /* pupil_changed stays NULL: every pupil is checked (correct whatever changed). */
  job->status = matcher_solve(&job->problem.problem, warm.vacancy_of_pupil ? &warm : NULL, &job->solution, &error);
  free(warm_vacancy_of);
  free(warm_price);
  job->solve_us = (uint64_t)(now_us() - t1);
  if (job->status != MATCHER_OK) {
    snprintf(job->error, sizeof job->error, "solving failed (%s): %s", matcher_status_name(job->status), error.message);
    goto out;
  }
  job->solved = true;
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
      snprintf(job->error, sizeof job->error, "proposal of pupil %s to vacancy %s breaks the eligibility rules; nothing applied",
               job->meta[i].key, job->vacancy_ids[to]);
      goto out;
    }
  }
  job->explanations = lp_calloc((size_t)job->pupil_count + 1, sizeof *job->explanations);
  long long t2 = now_us();
  eligibility_names names = {(const char *const *)job->vacancy_ids, (const char *const *)job->training_codes,
                             job->training_count};
  job->status = eligibility_explain(job->pupils, job->pupil_count, job->vacancies, job->vacancy_count, &job->weights,
                                    &job->problem, &job->solution, &names, job->explanations, &error);
  job->explain_us = (uint64_t)(now_us() - t2);
  if (job->status != MATCHER_OK)
    snprintf(job->error, sizeof job->error, "explaining failed (%s): %s", matcher_status_name(job->status), error.message);
out:
  event_active(rematch->finished, EV_READ, 0);
  return NULL;
}

/* ---- lock and epoch (synchronous, one round trip each) --------------------------------- */

static bool redis_ready(lp_rematch *rematch, char *message, size_t message_size) {
  if (rematch->redis && !rematch->redis->err) return true;
  if (rematch->redis) redisFree(rematch->redis);
  rematch->redis = lp_store_connect_sync(&rematch->daemon->config, message, message_size);
  return rematch->redis != NULL;
}

static uint64_t parse_u64(const redisReply *reply) {
  if (!reply || reply->type != REDIS_REPLY_STRING) return 0;
  return strtoull(reply->str, NULL, 10);
}

/* 0 locked (epoch read), else a StatusCode with message. */
static int take_lock(lp_rematch *rematch, uint64_t *epoch, char *message, size_t message_size) {
  if (!redis_ready(rematch, message, message_size)) return CODE(UNAVAILABLE);
  static unsigned long long sequence;
  snprintf(rematch->lock_value, sizeof rematch->lock_value, "%s:%llu:%lld", rematch->daemon->config.instance_id,
           ++sequence, (long long)time(NULL));
  redisAppendCommand(rematch->redis, "SET %s %s NX PX %u", LOCK_KEY, rematch->lock_value,
                     rematch->daemon->config.rematch_lock_ttl_ms);
  redisAppendCommand(rematch->redis, "GET lp:epoch");
  redisReply *set = NULL, *get = NULL;
  int ok1 = redisGetReply(rematch->redis, (void **)&set), ok2 = ok1 == REDIS_OK ? redisGetReply(rematch->redis, (void **)&get) : REDIS_ERR;
  int code = 0;
  if (ok1 != REDIS_OK || ok2 != REDIS_OK || !set || !get) {
    snprintf(message, message_size, "the store is unavailable for the rematch lock: %s; retry",
             rematch->redis->errstr[0] ? rematch->redis->errstr : "no reply");
    code = CODE(UNAVAILABLE);
  } else if (set->type == REDIS_REPLY_NIL) {
    snprintf(message, message_size, "another rematch is running (lock %s is held, by this or another daemon); retry when it has finished",
             LOCK_KEY);
    code = CODE(ABORTED);
  } else if (set->type != REDIS_REPLY_STATUS) {
    snprintf(message, message_size, "the store refused the rematch lock: %s", set->type == REDIS_REPLY_ERROR ? set->str : "unexpected reply");
    code = CODE(UNAVAILABLE);
  } else {
    *epoch = parse_u64(get);
  }
  if (set) freeReplyObject(set);
  if (get) freeReplyObject(get);
  return code;
}

static void release_lock(lp_rematch *rematch) {
  char message[200];
  if (!redis_ready(rematch, message, sizeof message)) {
    LP_WARN("cannot release %s (%s); it expires after %u ms", LOCK_KEY, message, rematch->daemon->config.rematch_lock_ttl_ms);
    return;
  }
  /* Delete only our own lock: after an expiry another daemon may hold it. */
  redisReply *reply = redisCommand(rematch->redis,
                                   "EVAL %s 1 %s %s",
                                   "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
                                   LOCK_KEY, rematch->lock_value);
  if (!reply) {
    LP_WARN("releasing %s failed: %s; it expires after %u ms", LOCK_KEY, rematch->redis->errstr,
            rematch->daemon->config.rematch_lock_ttl_ms);
    return;
  }
  if (reply->type == REDIS_REPLY_ERROR)
    LP_WARN("redis refused to release %s: %s; it expires after %u ms", LOCK_KEY, reply->str,
            rematch->daemon->config.rematch_lock_ttl_ms);
  freeReplyObject(reply);
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
    if (to >= 0) result->placed++;
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
    if (from < 0) result->newly_proposed++;
    else if (to < 0) result->released++;
    else result->moved++;
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
Leerplek__V1__Offer *lp_rematch_offer(const lp_state *state, const Leerplek__V1__Vacancy *vacancy, uint32_t distance_m) {
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
  return pupil && placement && pupil->revision == meta->pupil_revision && (int)placement->state == meta->placement_state &&
         placement->proposal_id == meta->proposal_id && placement->updated_unix_s == meta->placement_updated;
}

static void finish(lp_rematch *rematch, job *job, int code, const char *message);

/* The epoch is current in Redis and in memory: keep the solution for tomorrow's warm start
 * and answer. */
static void epoch_applied(lp_rematch *rematch, job *job) {
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
  warm_free(&rematch->warm);
  rematch->warm = warm;
  Leerplek__V1__RematchResult *last = lp_clone(rematch->reply);
  for (size_t c = 0; c < last->n_changes; c++) protobuf_c_message_free_unpacked(&last->changes[c]->base, NULL);
  free(last->changes);
  last->changes = NULL;
  last->n_changes = 0;
  result_free(rematch->last);
  rematch->last = last;
  LP_INFO("rematch epoch %llu applied: %u proposed, %u moved, %u released, %u unplaced (snapshot %llu us, candidates %llu us, "
          "solve %llu us%s, explain %llu us, write %llu us, all %lld us)",
          (unsigned long long)rematch->reply->epoch, rematch->reply->newly_proposed, rematch->reply->moved,
          rematch->reply->released, rematch->reply->unplaced, (unsigned long long)job->snapshot_us,
          (unsigned long long)job->candidates_us, (unsigned long long)job->solve_us,
          job->solution.stats.warm_abandoned ? " (warm start abandoned)" : "", (unsigned long long)job->explain_us,
          (unsigned long long)job->write_us, now_us() - job->t_started);
  finish(rematch, job, 0, "");
}

/* ---- the epoch write (on the loop, in steps) ------------------------------------------- */

/* The records of an epoch are first staged under lp:stage:<run>:<kind>:<key> (run = this
 * rematch's lock value) in commits of about rematch_write_chunk_bytes, each built in its own
 * loop callback and sent after the previous one was confirmed; their names (kind, key and the
 * event's op, one per line) go on the list <run>names. One final commit then runs
 * PROMOTE_SCRIPT, which Redis executes atomically: it checks that the lock is still ours and
 * every record was staged, moves them over the live keys and sets lp:epoch and lp:rematch:last;
 * their events follow it in the same commit (add_epoch_events: followers re-read them as before). A crash before it
 * leaves the previous epoch current and whole; the leftovers are deleted by the next rematch
 * (CLEANUP_SCRIPT, also run when a write fails). Memory takes the records after the final
 * step is confirmed, in slices of APPLY_SLICE_RECORDS per loop callback. */
enum { APPLY_SLICE_RECORDS = 1024 };
#define STAGE_RUNS_KEY "lp:stage:runs"

/* ARGV: 1 the lock value; 2 (optional) a run to register. Deletes every registered run's
 * staged records (none is live: we hold the lock). */
static const char CLEANUP_SCRIPT[] =
    "if redis.call('GET', '" LOCK_KEY "') ~= ARGV[1] then return redis.error_reply('LPSTAGE the rematch lock is not ours') end\n"
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

/* ARGV: 1 the lock value, 2 the run, 3 the number of staged names, 4 instance, 5 actor,
 * 6 events_max_length, 7 the epoch, 8 the summary, 9.. names left out (a write won
 * meanwhile). Checks everything before the first write, so a refusal changes nothing. A record
 * no longer in its index (erased meanwhile) is not brought back. Two commands per record
 * (RENAME) and two per thousand (SMISMEMBER, LRANGE): the final step is Redis' own work,
 * no round trips. */
static const char PROMOTE_SCRIPT[] =
    "if redis.call('GET', '" LOCK_KEY "') ~= ARGV[1] then return redis.error_reply('LPSTAGE the rematch lock was lost; the epoch is not written') end\n"
    "local run, list = ARGV[2], ARGV[2] .. 'names'\n"
    "local total = redis.call('LLEN', list)\n"
    "if total ~= tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE ' .. total .. ' of ' .. ARGV[3] .. ' records staged; the epoch is not written') end\n"
    "local skip = {}\n"
    "for i = 9, #ARGV do skip[ARGV[i]] = true end\n"
    "for first = 0, total - 1, 1000 do\n"
    "  local keys, ops, by_kind = {}, {}, {}\n"
    "  for n, name in ipairs(redis.call('LRANGE', list, first, first + 999)) do\n"
    "    local kind, key, op = string.match(name, '^([^\\n]*)\\n([^\\n]*)\\n(.*)$')\n"
    "    if skip[name] then redis.call('DEL', run .. kind .. ':' .. key)\n"
    "    else\n"
    "      by_kind[kind] = by_kind[kind] or {}\n"
    "      table.insert(by_kind[kind], n)\n"
    "      keys[n], ops[n] = key, op\n"
    "    end\n"
    "  end\n"
    "  for kind, members in pairs(by_kind) do\n"
    "    local names = {}\n"
    "    for m, n in ipairs(members) do names[m] = keys[n] end\n"
    "    local live = redis.call('SMISMEMBER', 'lp:index:' .. kind, unpack(names))\n"
    "    for m, key in ipairs(names) do\n"
    "      if live[m] == 1 then\n"
    "        redis.call('RENAME', run .. kind .. ':' .. key, 'lp:' .. kind .. ':' .. key)\n"
    "      else\n"
    "        redis.call('DEL', run .. kind .. ':' .. key)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "redis.call('XTRIM', 'lp:events', 'MAXLEN', '~', ARGV[6])\n"
    "redis.call('DEL', list)\n"
    "redis.call('SREM', '" STAGE_RUNS_KEY "', run)\n"
    "redis.call('SET', 'lp:epoch', ARGV[7])\n"
    "redis.call('SET', 'lp:rematch:last', ARGV[8])\n"
    "return total\n";

typedef struct staged_record {
  const char *key;          /* borrowed from the job (pupil key or vacancy id) */
  enum lp_kind kind;
  void *record;             /* the new record; memory takes it once the epoch is current */
  const char *op;           /* its event */
  int32_t pupil;            /* placements: the snapshot index; vacancies: -1 */
  int32_t from, to;         /* placements: the seat left and taken; vacancies: to = its index */
  uint64_t base_revision;   /* vacancies: the revision it was built from */
  bool excluded;            /* a write won meanwhile: left out of the epoch */
} staged_record;

typedef struct epoch_write {
  lp_rematch *rematch;
  job *job;
  uint64_t epoch;
  long long now;
  char run[128];            /* "lp:stage:<lock value>:" */
  char actor[128];
  staged_record *records;
  size_t count, capacity, applied;
  int32_t *seat_delta;      /* by vacancy: seats taken minus left by the staged placements */
  int32_t *staged_vacancy;  /* by vacancy: its index in records, -1 */
  int pass;                 /* 0: placements that leave a seat, 1: those that take one, 2: vacancies */
  int32_t cursor;
  bool cleanup_sent;
  uint32_t skipped, proposal_seq;
  struct event *step;       /* a zero timer: the next step runs after pending I/O */
  long long promote_sent_us, promoted_us; /* for the log */
  void (*next)(struct epoch_write *write);
} epoch_write;

static void write_free(epoch_write *write);

static void stage_next_chunk(epoch_write *write);
static void promote(epoch_write *write);
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

/* Runs the cleanup script on the rematch's synchronous link: a failed write leaves nothing. */
static void cleanup_staging(lp_rematch *rematch) {
  char message[200];
  if (!redis_ready(rematch, message, sizeof message)) return;
  redisReply *reply = redisCommand(rematch->redis, "EVAL %s 0 %s", CLEANUP_SCRIPT, rematch->lock_value);
  if (!reply || reply->type == REDIS_REPLY_ERROR)
    LP_WARN("rematch: staged records are left in Redis (%s); the next rematch deletes them",
            reply ? reply->str : rematch->redis->errstr);
  if (reply) freeReplyObject(reply);
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
  if (code != 0) {
    char text[400];
    snprintf(text, sizeof text, "%s; nothing applied, the previous epoch is current", message);
    write_fail(write, code, text);
    return;
  }
  schedule(write, write->pass > 2 ? promote : stage_next_chunk);
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
    long free_seats = target ? (long)target->seats - target->seats_filled - target->seats_proposed - write->seat_delta[to] : 0;
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
      placement->offer = lp_rematch_offer(state, target, (uint32_t)eligibility_distance_m(p->lat_e6, p->lon_e6, v->lat_e6, v->lon_e6));
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
  const Leerplek__V1__Vacancy *stored = lp_state_get(&write->rematch->daemon->state, LP_KIND_VACANCY, write->job->vacancy_ids[j]);
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
  if (lp_txn_bytes(txn) == 0) { /* everything was staged by the chunk before */
    lp_txn_free(txn);
    promote(write);
    return;
  }
  rematch->reply->bytes_written += lp_txn_bytes(txn);
  rematch->reply->write_chunks++;
  note_step(write, started);
  if (lp_store_commit(daemon->store, txn, on_chunk_written, write) != 0)
    write_fail(write, CODE(UNAVAILABLE), "the store is unavailable (reconnecting); nothing applied, the previous epoch is current; retry");
}

static void on_promoted(void *arg, int code, const char *message) {
  epoch_write *write = arg;
  if (code != 0) {
    /* DEADLINE_EXCEEDED: the outcome is unknown; the store reloads the state either way. */
    write_fail(write, code, message);
    return;
  }
  write->promoted_us = now_us();
  write->rematch->reply->write_final_us = (uint64_t)(write->promoted_us - write->promote_sent_us);
  write->rematch->reply->write_us = (uint64_t)(write->promoted_us - write->job->t_apply_start);
  schedule(write, apply_slice);
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
                        ? 1 : 2;
  }
  return vacancy_ok[j] == 1;
}

/* The events of the records the final step makes current, in the same MULTI/EXEC right after
 * PROMOTE_SCRIPT (so they exist exactly when the records do): followers re-read the records
 * they name, history and watch read their details. Memory still holds the previous records
 * here, so the old state and the seat a release leaves come from it. */
static void add_epoch_events(epoch_write *write, lp_txn *txn) {
  lp_daemon *daemon = write->rematch->daemon;
  const lp_state *state = &daemon->state;
  for (size_t r = 0; r < write->count; r++) {
    const staged_record *record = &write->records[r];
    if (record->excluded) continue;
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

/* The final step: what a write changed meanwhile is left out (and the seats it held corrected),
 * then one commit runs PROMOTE_SCRIPT. */
static void promote(epoch_write *write) {
  long long started = now_us();
  job *job = write->job;
  lp_rematch *rematch = write->rematch;
  lp_daemon *daemon = rematch->daemon;
  const lp_state *state = &daemon->state;
  uint8_t *vacancy_ok = lp_calloc((size_t)job->vacancy_count + 1, 1);
  uint8_t *restage = lp_calloc((size_t)job->vacancy_count + 1, 1);
  size_t excluded = 0;
  for (size_t r = 0; r < write->count; r++) {
    staged_record *record = &write->records[r];
    if (record->kind == LP_KIND_VACANCY) {
      const Leerplek__V1__Vacancy *now = lp_state_get(state, LP_KIND_VACANCY, record->key);
      if (!now || now->revision != record->base_revision) restage[record->to] = 1;
      continue;
    }
    if (still_valid(write, record, vacancy_ok)) continue;
    record->excluded = true;
    excluded++;
    if (record->from >= 0) write->seat_delta[record->from]++, restage[record->from] = 1;
    if (record->to >= 0) write->seat_delta[record->to]--, restage[record->to] = 1;
  }
  lp_txn *txn = lp_txn_new();
  size_t first_new = write->count;
  for (int32_t j = 0; j < job->vacancy_count; j++) {
    if (!restage[j]) continue;
    int32_t at = write->staged_vacancy[j];
    uint64_t base_revision = 0;
    Leerplek__V1__Vacancy *vacancy = vacancy_with_seats(write, j, &base_revision);
    if (at >= 0) {
      staged_record *record = &write->records[at];
      protobuf_c_message_free_unpacked(record->record, NULL);
      record->record = vacancy;
      record->base_revision = base_revision;
      if (!vacancy) record->excluded = true, excluded++;
      else stage_set(txn, write->run, record);
    } else if (vacancy) {
      stage_vacancy(write, txn, j, vacancy, base_revision);
    }
  }
  stage_names(txn, write->run, write, first_new, write->count);
  free(vacancy_ok);
  free(restage);
  if (write->skipped || excluded)
    LP_INFO("rematch epoch %llu: %zu changes skipped, their pupil or vacancy changed meanwhile (the next rematch sees them)",
            (unsigned long long)write->epoch, (size_t)write->skipped + excluded);

  char count_text[24], max_length[24], epoch_text[24];
  snprintf(count_text, sizeof count_text, "%zu", write->count);
  snprintf(max_length, sizeof max_length, "%u", daemon->config.events_max_length);
  snprintf(epoch_text, sizeof epoch_text, "%llu", (unsigned long long)write->epoch);
  size_t argc = 11 + excluded;
  const void **argv = lp_calloc(argc, sizeof *argv);
  size_t *lengths = lp_calloc(argc, sizeof *lengths);
  const char *fixed[10] = {"EVAL", PROMOTE_SCRIPT, "0", rematch->lock_value, write->run, count_text,
                           daemon->config.instance_id, write->actor, max_length, epoch_text};
  for (int a = 0; a < 10; a++) argv[a] = fixed[a], lengths[a] = strlen(fixed[a]);
  /* The summary, for the report after a restart. */
  Leerplek__V1__RematchResult summary = *rematch->reply;
  summary.n_changes = 0;
  summary.changes = NULL;
  summary.bytes_written += lp_txn_bytes(txn);
  summary.write_chunks++;
  size_t summary_size = protobuf_c_message_get_packed_size(&summary.base);
  uint8_t *summary_bytes = lp_malloc(summary_size + 1);
  protobuf_c_message_pack(&summary.base, summary_bytes);
  argv[10] = summary_bytes, lengths[10] = summary_size;
  size_t a = 11;
  for (size_t r = 0; r < write->count; r++) {
    const staged_record *record = &write->records[r];
    if (!record->excluded) {
      lp_txn_note_write(txn, record->kind, record->key);
      continue;
    }
    char *name = lp_malloc(320);
    stage_name(record, name, 320);
    argv[a] = name, lengths[a] = strlen(name);
    a++;
  }
  lp_txn_command(txn, (int)a, argv, lengths);
  add_epoch_events(write, txn);
  for (size_t n = 11; n < a; n++) free((void *)argv[n]);
  free(argv);
  free(lengths);
  free(summary_bytes);
  rematch->reply->bytes_written += lp_txn_bytes(txn);
  rematch->reply->write_chunks++;
  note_step(write, started);
  write->promote_sent_us = now_us();
  if (lp_store_commit(daemon->store, txn, on_promoted, write) != 0)
    write_fail(write, CODE(UNAVAILABLE), "the store is unavailable (reconnecting); nothing applied, the previous epoch is current; retry");
}

/* Memory takes the next slice of the epoch's records (a write that won meanwhile keeps its
 * record, as it did in Redis); after the last, the rematch is answered. */
static void apply_slice(epoch_write *write) {
  long long started = now_us();
  lp_rematch *rematch = write->rematch;
  job *job = write->job;
  lp_state *state = &rematch->daemon->state;
  size_t end = write->applied + APPLY_SLICE_RECORDS < write->count ? write->applied + APPLY_SLICE_RECORDS : write->count;
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
  if (write->proposal_seq) lp_deadlines_proposed(rematch->daemon, write->now + (long long)rematch->daemon->config.proposal_answer_seconds);
  LP_INFO("rematch epoch %llu written: %zu records staged in %llu us (%u commits, %llu bytes), made current in %llu us, "
          "in memory after %llu us more (longest loop step %llu us)",
          (unsigned long long)write->epoch, write->count, (unsigned long long)(write->promote_sent_us - job->t_apply_start),
          rematch->reply->write_chunks, (unsigned long long)rematch->reply->bytes_written,
          (unsigned long long)(write->promoted_us - write->promote_sent_us), (unsigned long long)(now_us() - write->promoted_us),
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
  write->staged_vacancy = lp_malloc(((size_t)job->vacancy_count + 1) * sizeof *write->staged_vacancy);
  for (int32_t j = 0; j <= job->vacancy_count; j++) write->staged_vacancy[j] = -1;
  write->step = evtimer_new(daemon->base, on_step, write);
  rematch->write = write;
  job->t_apply_start = now_us();
  stage_next_chunk(write);
  return 0;
}

/* ---- the loop's side of the handoff ---------------------------------------------------- */

static void finish(lp_rematch *rematch, job *job, int code, const char *message) {
  release_lock(rematch);
  rematch->running = NULL;
  lp_rematch_done *done = job->done;
  void *arg = job->arg;
  if (code != 0) LP_WARN("rematch by %s failed: %s", job->actor, message);
  if (done) done(arg, code, message, code == 0 ? rematch->reply : NULL);
  result_free(rematch->reply);
  rematch->reply = NULL;
  job_free(job);
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
  rematch->reply = make_result(job, job->base_epoch + 1);
  if (job->dry_run) {
    finish(rematch, job, 0, "");
    return;
  }
  int code = apply_job(rematch, job, message, sizeof message);
  if (code != 0) finish(rematch, job, code, message);
}

int lp_rematch_start(lp_rematch *rematch, bool dry_run, uint32_t max_changes, const char *actor,
                     lp_rematch_done *done, void *arg, char *message, size_t message_size) {
  if (rematch->running) {
    snprintf(message, message_size, "a rematch is already running on this daemon; retry when it has finished");
    return CODE(ABORTED);
  }
  if (!lp_store_writable(rematch->daemon->store)) {
    snprintf(message, message_size, "the store is unavailable (reconnecting); retry");
    return CODE(UNAVAILABLE);
  }
  uint64_t epoch = 0;
  int code = take_lock(rematch, &epoch, message, message_size);
  if (code != 0) return code;
  long long t0 = now_us();
  /* The clock first: the snapshot counts every pupil's days waited to it. */
  int64_t started_unix_s = (int64_t)time(NULL);
  job *job = take_snapshot(rematch, started_unix_s);
  job->snapshot_us = (uint64_t)(now_us() - t0);
  job->t_started = t0;
  job->owner = rematch;
  job->dry_run = dry_run;
  job->max_changes = max_changes == 0 ? MAX_CHANGES_DEFAULT : max_changes > MAX_CHANGES_LIMIT ? MAX_CHANGES_LIMIT : max_changes;
  snprintf(job->actor, sizeof job->actor, "%s", actor);
  job->done = done;
  job->arg = arg;
  job->base_epoch = epoch > rematch->epoch ? epoch : rematch->epoch;
  lp_rules_weights(&rematch->daemon->config, &job->weights);
  rematch->running = job;
  if (pthread_create(&rematch->thread, NULL, worker_main, job) != 0) {
    rematch->running = NULL;
    job_free(job);
    release_lock(rematch);
    snprintf(message, message_size, "could not start the rematch worker thread");
    return CODE(INTERNAL);
  }
  rematch->thread_live = true;
  return 0;
}

bool lp_rematch_running(const lp_rematch *rematch) { return rematch->running != NULL; }

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
  if (code == 0) LP_INFO("nightly rematch: epoch %llu", (unsigned long long)result->epoch);
  else LP_WARN("nightly rematch did not run: %s", message);
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
  if (!rematch->daemon->stopping && lp_rematch_start(rematch, false, 0, "nightly", on_nightly_done, rematch, message, sizeof message) != 0)
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
  char message[256];
  if (redis_ready(rematch, message, sizeof message)) {
    redisReply *reply = redisCommand(rematch->redis, "MGET lp:epoch lp:rematch:last " LP_MANUAL_LAST_KEY);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
      rematch->epoch = parse_u64(reply->element[0]);
      rematch->manual_last = parse_u64(reply->element[2]);
      if (reply->element[1]->type == REDIS_REPLY_STRING)
        rematch->last = leerplek__v1__rematch_result__unpack(NULL, reply->element[1]->len, (const uint8_t *)reply->element[1]->str);
    }
    if (reply) freeReplyObject(reply);
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
    write_free(rematch->write);
    finish(rematch, job, CODE(UNAVAILABLE), "the daemon is shutting down");
  }
  if (rematch->finished) event_free(rematch->finished);
  if (rematch->nightly) event_free(rematch->nightly);
  if (rematch->redis) redisFree(rematch->redis);
  warm_free(&rematch->warm);
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
