/* lp_epoch_write: writes a rematch's changes as the next epoch (lp_epoch_write.h): stages the
 * changed records in Redis, makes them current in slices behind a promote marker, puts them in
 * memory in slices, and finishes at a load a promote that a crash interrupted. */
#include "lp_epoch_write.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_deadlines.h"
#include "lp_log.h"
#include "lp_records.h"
#include "lp_redis.h"
#include "lp_rematch_job.h"
#include "lp_rules.h"
#include "lp_store.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define LOCK_KEY LP_REMATCH_LOCK_KEY

/* ---- what a staged placement says ------------------------------------------------------ */

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
  info.reason = (Leerplek__V1__UnplacedReason)lp_rules_reason_proto(why->reason);
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
 * moves from the old epoch to the new one only when every record is in place. A slice costs
 * Redis one RENAME per record and one SMISMEMBER per kind (whether each record is still in its
 * index), plus the events' XADD per record and a ZADD per index (EVENTS_SCRIPT, lp_store.c): a
 * staged record that is not there (a slice finished again after a crash) is a RENAME that
 * fails under pcall, not an EXISTS per record. */
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
static const char SLICE_SCRIPT[] = SCRIPT_CHECKS
    "local marker = redis.call('HMGET', '" PROMOTE_KEY "', 'done', 'ttl')\n"
    "if tonumber(marker[1]) ~= tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE the promote is "
    "at ' .. marker[1] .. ', not ' .. ARGV[3]) end\n"
    "local run = ARGV[2]\n"
    "local names = redis.call('LRANGE', run .. 'names', ARGV[3], tonumber(ARGV[4]) - 1)\n"
    "if #names ~= tonumber(ARGV[4]) - tonumber(ARGV[3]) then return redis.error_reply('LPSTAGE the "
    "staged list is short') end\n"
    "local skip = {}\n"
    "for i = 5, #ARGV do skip[ARGV[i]] = true end\n"
    "local kinds, keys, asked, present = {}, {}, {}, {}\n"
    "for n, name in ipairs(names) do\n"
    "  local kind, key = string.match(name, '^([^\\n]*)\\n([^\\n]*)\\n')\n"
    "  kinds[n], keys[n] = kind, key\n"
    "  if not skip[name] then\n"
    "    local list = asked[kind]\n"
    "    if not list then list = {} asked[kind] = list end\n"
    "    list[#list + 1] = n\n"
    "  end\n"
    "end\n"
    "for kind, list in pairs(asked) do\n"
    "  for from = 1, #list, 4000 do\n"
    "    local batch = {}\n"
    "    for i = from, math.min(from + 3999, #list) do batch[#batch + 1] = keys[list[i]] end\n"
    "    local answers = redis.call('SMISMEMBER', 'lp:index:' .. kind, unpack(batch))\n"
    "    for i, answer in ipairs(answers) do present[list[from + i - 1]] = answer == 1 end\n"
    "  end\n"
    "end\n"
    "local moved = 0\n"
    "for n in ipairs(names) do\n"
    "  local staged = run .. kinds[n] .. ':' .. keys[n]\n"
    "  if present[n] then\n"
    "    if redis.pcall('RENAME', staged, 'lp:' .. kinds[n] .. ':' .. keys[n]).ok then moved = moved + 1 end\n"
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

struct lp_epoch_write {
  lp_daemon *daemon;
  Leerplek__V1__RematchResult *reply; /* the rematch's result: the write's figures go here */
  char lock_value[96];
  lp_epoch_write **running; /* the caller's handle, cleared when the write ends */
  lp_epoch_written *done;
  void *done_arg;
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
  size_t slice_bytes[PROMOTE_WINDOW];
  unsigned slices_sent, slices_confirmed;
  long long slice_confirmed_us;
  bool last_slice_sent;
  void (*next)(struct lp_epoch_write *write);
};

static void write_free(lp_epoch_write *write);

static void stage_next_chunk(lp_epoch_write *write);
static void promote(lp_epoch_write *write);
static void promote_slice(lp_epoch_write *write);
static void apply_slice(lp_epoch_write *write);

static void note_step(lp_epoch_write *write, long long started) {
  uint64_t spent = (uint64_t)(now_us() - started);
  if (spent > write->reply->apply_max_step_us) write->reply->apply_max_step_us = spent;
}

static void on_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lp_epoch_write *write = arg;
  write->next(write);
}

static void schedule(lp_epoch_write *write, void (*next)(lp_epoch_write *write)) {
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
static void cleanup_staging(lp_daemon *daemon, const char *lock_value) {
  if (!daemon->store || lp_store_closing(daemon->store)) {
    char message[300];
    redisContext *redis = lp_redis_connect_sync(&daemon->config, message, sizeof message);
    redisReply *reply = redis ? redisCommand(redis, "EVAL %s 0 %s", CLEANUP_SCRIPT, lock_value) : NULL;
    if (!reply || reply->type == REDIS_REPLY_ERROR)
      LP_WARN("rematch: staged records are left in Redis (%s); the next rematch deletes them", reply   ? reply->str
                                                                                               : redis ? redis->errstr
                                                                                                       : message);
    if (reply) freeReplyObject(reply);
    if (redis) redisFree(redis);
    return;
  }
  if (lp_store_send(daemon->store, on_staging_cleaned, NULL, "EVAL %s 0 %s", CLEANUP_SCRIPT, lock_value) != 0)
    LP_WARN("rematch: staged records are left in Redis (no link to redis); the next rematch deletes them");
}

/* Ends the write: on failure memory is untouched (records not yet applied are freed). */
static void write_fail(lp_epoch_write *write, int code, const char *message) {
  lp_daemon *daemon = write->daemon;
  lp_epoch_written *done = write->done;
  void *done_arg = write->done_arg;
  char lock_value[sizeof write->lock_value], why[sizeof write->failed_message];
  snprintf(lock_value, sizeof lock_value, "%s", write->lock_value);
  snprintf(why, sizeof why, "%s", message); /* message may be write->failed_message */
  LP_ERROR("rematch epoch %llu was not written: %s", (unsigned long long)write->epoch, why);
  write_free(write);
  cleanup_staging(daemon, lock_value);
  done(done_arg, code, why);
}

static void on_chunk_written(void *arg, int code, const char *message) {
  lp_epoch_write *write = arg;
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

static staged_record *add_record(lp_epoch_write *write) {
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

/* The staged keys of one commit, written by one MSET (no index, no event: the promote adds
 * them): one command instead of a SET per record saves Redis a command's dispatch per record. */
typedef struct stage_batch {
  const void **argv; /* "MSET", then key and bytes per record (owned) */
  size_t *lengths;
  size_t count, capacity;
  size_t bytes; /* about what the MSET adds to the commit */
} stage_batch;

static void stage_set(stage_batch *batch, const char *run, const staged_record *record) {
  if (batch->count + 2 > batch->capacity) {
    batch->capacity = batch->capacity ? batch->capacity * 2 : 64;
    batch->argv = lp_realloc(batch->argv, batch->capacity * sizeof *batch->argv);
    batch->lengths = lp_realloc(batch->lengths, batch->capacity * sizeof *batch->lengths);
  }
  if (batch->count == 0) batch->argv[0] = "MSET", batch->lengths[0] = 4, batch->count = 1;
  char *key = lp_malloc(320);
  snprintf(key, 320, "%s%s:%s", run, lp_kind_name(record->kind), record->key);
  const ProtobufCMessage *message = record->record;
  size_t size = protobuf_c_message_get_packed_size(message);
  uint8_t *bytes = lp_malloc(size + 1);
  protobuf_c_message_pack(message, bytes);
  batch->argv[batch->count] = key, batch->lengths[batch->count++] = strlen(key);
  batch->argv[batch->count] = bytes, batch->lengths[batch->count++] = size;
  batch->bytes += strlen(key) + size + 32;
}

/* Appends the batch's MSET to txn (nothing when empty) and empties it. */
static void stage_flush(stage_batch *batch, lp_txn *txn) {
  if (batch->count > 1) lp_txn_command(txn, (int)batch->count, batch->argv, batch->lengths);
  for (size_t a = 1; a < batch->count; a++) free((void *)batch->argv[a]);
  free(batch->argv);
  free(batch->lengths);
  memset(batch, 0, sizeof *batch);
}

/* RPUSH the names of records first .. end-1 to the run's list. */
static void stage_names(lp_txn *txn, const char *run, const lp_epoch_write *write, size_t first, size_t end) {
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
static void stage_vacancy(lp_epoch_write *write, stage_batch *batch, int32_t j, Leerplek__V1__Vacancy *vacancy,
                          uint64_t base_revision) {
  staged_record *record = add_record(write);
  record->key = write->job->vacancy_ids[j];
  record->kind = LP_KIND_VACANCY;
  record->record = vacancy;
  record->op = "rematch_seats";
  record->to = j;
  record->base_revision = base_revision;
  write->staged_vacancy[j] = (int32_t)(write->count - 1);
  stage_set(batch, write->run, record);
}

/* The new placement of pupil i, or NULL when the change must wait (a write won, no seat). */
static staged_record *stage_placement(lp_epoch_write *write, int32_t i) {
  job *job = write->job;
  lp_state *state = &write->daemon->state;
  lp_daemon *daemon = write->daemon;
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
static Leerplek__V1__Vacancy *vacancy_with_seats(lp_epoch_write *write, int32_t j, uint64_t *base_revision) {
  const Leerplek__V1__Vacancy *stored =
      lp_state_get(&write->daemon->state, LP_KIND_VACANCY, write->job->vacancy_ids[j]);
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
static void stage_next_chunk(lp_epoch_write *write) {
  long long started = now_us();
  job *job = write->job;
  lp_daemon *daemon = write->daemon;
  lp_txn *txn = lp_txn_new();
  if (!write->cleanup_sent) {
    write->cleanup_sent = true;
    const void *argv[5] = {"EVAL", CLEANUP_SCRIPT, "0", write->lock_value, write->run};
    size_t lengths[5] = {4, strlen(CLEANUP_SCRIPT), 1, strlen(write->lock_value), strlen(write->run)};
    lp_txn_command(txn, 5, argv, lengths);
  }
  size_t first = write->count, budget = daemon->config.rematch_write_chunk_bytes;
  stage_batch batch = {0};
  while (write->pass < 3 && lp_txn_bytes(txn) + batch.bytes < budget) {
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
      if (record) stage_set(&batch, write->run, record);
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
      stage_vacancy(write, &batch, j, vacancy, base_revision);
    }
  }
  stage_flush(&batch, txn);
  stage_names(txn, write->run, write, first, write->count);
  if (lp_txn_bytes(txn) == 0) { /* everything was staged by the chunks before */
    lp_txn_free(txn);
    if (write->chunks_in_flight == 0) promote(write);
    return;
  }
  write->reply->bytes_written += lp_txn_bytes(txn);
  write->reply->write_chunks++;
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
static bool still_valid(lp_epoch_write *write, const staged_record *record, uint8_t *vacancy_ok) {
  job *job = write->job;
  const lp_state *state = &write->daemon->state;
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
static void exclude_placement(lp_epoch_write *write, staged_record *record) {
  record->excluded = true;
  write->excluded++;
  if (record->from >= 0) write->seat_delta[record->from]++, write->restage[record->from] = 1;
  if (record->to >= 0) write->seat_delta[record->to]--, write->restage[record->to] = 1;
}

/* The events of records first .. end-1, in the slice's commit right after SLICE_SCRIPT (so
 * they exist exactly when the records do): followers re-read the records they name, history
 * and watch read their details. Memory still holds the previous records here, so the old
 * state and the seat a release leaves come from it. */
static void add_epoch_events(lp_epoch_write *write, lp_txn *txn, size_t first, size_t end) {
  lp_daemon *daemon = write->daemon;
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
static size_t excluded_names(const lp_epoch_write *write, size_t first, size_t end, const void ***argv,
                             size_t **lengths, size_t argc) {
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

/* The longest promote step so far, sent_us to confirmation (write_final_us), with its records
 * and bytes (a slice's; 0 for the first step). */
static void note_promote_step(lp_epoch_write *write, long long sent_us, size_t records, size_t bytes) {
  uint64_t spent = (uint64_t)(now_us() - sent_us);
  if (spent <= write->reply->write_final_us) return;
  write->reply->write_final_us = spent;
  write->reply->slowest_slice_records = (uint32_t)records;
  write->reply->slowest_slice_bytes = bytes;
}

static void on_promote_begun(void *arg, int code, const char *message) {
  lp_epoch_write *write = arg;
  if (code != 0) {
    write_fail(write, code, message);
    return;
  }
  note_promote_step(write, write->step_sent_us, 0, 0);
  write->slice_confirmed_us = now_us();
  schedule(write, promote_slice);
}

/* The promote's first step: BEGIN_SCRIPT writes the marker. What a write changed meanwhile is
 * left out by the slice that would make it current (promote_slice), and the seats it held are
 * corrected in the vacancies' records, which come last. */
static void promote(lp_epoch_write *write) {
  long long started = now_us();
  lp_daemon *daemon = write->daemon;
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
  const char *fixed[12] = {"EVAL",     BEGIN_SCRIPT, "0",          write->lock_value,          write->run, count_text,
                           epoch_text, NULL,         write->actor, daemon->config.instance_id, max_length, ttl_text};
  for (int a = 0; a < 12; a++)
    if (fixed[a]) argv[a] = fixed[a], lengths[a] = strlen(fixed[a]);
  /* The summary, for the report after a restart: the bytes and commits of the whole write, as
   * far as they are known here (the slices follow). */
  Leerplek__V1__RematchResult summary = *write->reply;
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
  write->reply->bytes_written += lp_txn_bytes(txn);
  write->reply->write_chunks++;
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
 * and shrinks at most twofold a step. */
static void adapt_slice(lp_epoch_write *write, long long sent_us, size_t records) {
  long long now = now_us(), began = sent_us > write->slice_confirmed_us ? sent_us : write->slice_confirmed_us;
  uint64_t spent = (uint64_t)(now - began) + 1;
  uint64_t aim = (uint64_t)write->daemon->config.redis_timeout_ms * 1000u / PROMOTE_SLICE_SHARE;
  if (aim > PROMOTE_SLICE_AIM_US) aim = PROMOTE_SLICE_AIM_US;
  uint64_t next = (uint64_t)(records ? records : 1) * aim / spent;
  if (next > 2 * write->slice_records) next = 2 * write->slice_records;
  /* It shrinks at most twofold a step too: one slow slice is mostly a stall of the disk (an
   * fsync of appendfsync always behind an AOF rewrite took 80 ms and more for 32 records),
   * not of the slice's size, and collapsing to the smallest slices after it took three times
   * as many slices, each with an fsync of its own; Redis slow for good still brings the size
   * down to the aim within a few slices. */
  if (next < write->slice_records / 2) next = write->slice_records / 2;
  if (next < PROMOTE_SLICE_MIN) next = PROMOTE_SLICE_MIN;
  if (next > PROMOTE_SLICE_MAX) next = PROMOTE_SLICE_MAX;
  write->slice_records = (size_t)next;
  write->slice_confirmed_us = now;
}

static void on_slice_done(void *arg, int code, const char *message) {
  lp_epoch_write *write = arg;
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
  note_promote_step(write, write->slice_sent_us[slot], write->slice_size[slot], write->slice_bytes[slot]);
  adapt_slice(write, write->slice_sent_us[slot], write->slice_size[slot]);
  if (!write->last_slice_sent) {
    schedule(write, promote_slice); /* one run however often it is asked for before it runs */
    return;
  }
  if (in_flight) return;
  write->promoted_us = now_us();
  write->reply->write_us = (uint64_t)(write->promoted_us - write->job->t_apply_start);
  write->reply->write_stage_us = (uint64_t)(write->promote_sent_us - write->job->t_apply_start);
  write->reply->write_promote_us = (uint64_t)(write->promoted_us - write->promote_sent_us);
  schedule(write, apply_slice);
}

/* One slice of the promote: records from write->promoted on, at most slice_records
 * (adapt_slice) and until the commit holds about PROMOTE_SLICE_CHUNKS chunks (their events are
 * most of it: each is about EVENT_BYTES_ESTIMATE bytes of EVENTS_SCRIPT's arguments). A placement a write changed since
 * BEGIN is left out here; the vacancies come last, so their seat counts are built again when that changed them. The
 * last slice's commit also runs FINISH_SCRIPT. */
static void promote_slice(lp_epoch_write *write) {
  /* A slice in flight was refused: the next would be too; its confirmation ends the write. */
  if (write->failed_code) return;
  long long started = now_us();
  job *job = write->job;
  lp_daemon *daemon = write->daemon;
  const lp_state *state = &daemon->state;
  size_t budget = PROMOTE_SLICE_CHUNKS * (size_t)daemon->config.rematch_write_chunk_bytes;
  lp_txn *txn = lp_txn_new();
  uint8_t *vacancy_ok = lp_calloc((size_t)job->vacancy_count + 1, 1);
  stage_batch batch = {0}; /* vacancies staged again (a write changed their seats) */
  size_t first = write->promoted, end = first;
  while (end < write->count &&
         (end == first || (lp_txn_bytes(txn) + batch.bytes + (end - first) * EVENT_BYTES_ESTIMATE < budget &&
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
            stage_set(&batch, write->run, record);
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
      if (vacancy) stage_vacancy(write, &batch, j, vacancy, base_revision);
    }
    stage_names(txn, write->run, write, appended, write->count);
    last = appended == write->count;
  }
  stage_flush(&batch, txn); /* before SLICE_SCRIPT, which moves them */
  char first_text[24], end_text[24];
  snprintf(first_text, sizeof first_text, "%zu", first);
  snprintf(end_text, sizeof end_text, "%zu", end);
  const void **argv = lp_calloc(7, sizeof *argv);
  size_t *lengths = lp_calloc(7, sizeof *lengths);
  const char *fixed[7] = {"EVAL", SLICE_SCRIPT, "0", write->lock_value, write->run, first_text, end_text};
  for (int a = 0; a < 7; a++) argv[a] = fixed[a], lengths[a] = strlen(fixed[a]);
  size_t argc = excluded_names(write, first, end, &argv, &lengths, 7);
  lp_txn_command(txn, (int)argc, argv, lengths);
  free_args(argv, 7, argc);
  free(lengths);
  add_epoch_events(write, txn, first, end);
  if (last) {
    const char *finish_argv[5] = {"EVAL", FINISH_SCRIPT, "0", write->lock_value, write->run};
    size_t finish_lengths[5];
    for (int a = 0; a < 5; a++) finish_lengths[a] = strlen(finish_argv[a]);
    lp_txn_command(txn, 5, (const void *const *)finish_argv, finish_lengths);
  }
  write->promoted = end;
  lp_txn_seal_events(txn); /* so that the bytes count the events */
  write->reply->bytes_written += lp_txn_bytes(txn);
  write->reply->write_chunks++;
  write->reply->promote_slices++;
  note_step(write, started);
  unsigned slot = write->slices_sent % PROMOTE_WINDOW;
  write->slice_sent_us[slot] = now_us();
  write->slice_size[slot] = end - first;
  write->slice_bytes[slot] = lp_txn_bytes(txn);
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
static void apply_slice(lp_epoch_write *write) {
  long long started = now_us();
  job *job = write->job;
  lp_state *state = &write->daemon->state;
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
  write->reply->apply_us = (uint64_t)(now_us() - write->promoted_us);
  if (write->skipped || write->excluded)
    LP_INFO("rematch epoch %llu: %u changes skipped, their pupil or vacancy changed meanwhile (the next rematch sees "
            "them)",
            (unsigned long long)write->epoch, write->skipped + write->excluded);
  if (write->proposal_seq)
    lp_deadlines_proposed(write->daemon, write->now + (long long)write->daemon->config.proposal_answer_seconds);
  LP_INFO("rematch epoch %llu written: %zu records staged in %llu us (%u commits, %llu bytes), made current in %llu us "
          "(%u slices, the longest %llu us), in memory after %llu us more (longest loop step %llu us)",
          (unsigned long long)write->epoch, write->count,
          (unsigned long long)(write->promote_sent_us - job->t_apply_start), write->reply->write_chunks,
          (unsigned long long)write->reply->bytes_written,
          (unsigned long long)(write->promoted_us - write->promote_sent_us), write->reply->promote_slices,
          (unsigned long long)write->reply->write_final_us, (unsigned long long)(now_us() - write->promoted_us),
          (unsigned long long)write->reply->apply_max_step_us);
  lp_epoch_written *done = write->done;
  void *done_arg = write->done_arg;
  write_free(write);
  done(done_arg, 0, "");
}

static void write_free(lp_epoch_write *write) {
  if (!write) return;
  for (size_t r = 0; r < write->count; r++)
    if (write->records[r].record) protobuf_c_message_free_unpacked(write->records[r].record, NULL);
  free(write->records);
  free(write->seat_delta);
  free(write->staged_vacancy);
  free(write->restage);
  if (write->step) event_free(write->step);
  if (*write->running == write) *write->running = NULL;
  free(write);
}

void lp_epoch_write_abandon(lp_epoch_write *write) { write_free(write); }

int lp_epoch_write_start(lp_daemon *daemon, job *job, Leerplek__V1__RematchResult *reply, const char *lock_value,
                         lp_epoch_write **running, lp_epoch_written *done, void *done_arg, char *message,
                         size_t message_size) {
  if (!lp_store_writable(daemon->store)) {
    snprintf(message, message_size, "the store is unavailable (reconnecting); nothing applied, retry");
    return CODE(UNAVAILABLE);
  }
  lp_epoch_write *write = lp_calloc(1, sizeof *write);
  write->daemon = daemon;
  write->reply = reply;
  snprintf(write->lock_value, sizeof write->lock_value, "%s", lock_value);
  write->running = running;
  write->done = done;
  write->done_arg = done_arg;
  write->job = job;
  write->epoch = write->reply->epoch;
  write->now = (long long)time(NULL);
  snprintf(write->run, sizeof write->run, "lp:stage:%s:", write->lock_value);
  snprintf(write->actor, sizeof write->actor, "rematch:%s", job->actor);
  write->seat_delta = lp_calloc((size_t)job->vacancy_count + 1, sizeof *write->seat_delta);
  write->restage = lp_calloc((size_t)job->vacancy_count + 1, 1);
  write->staged_vacancy = lp_malloc(((size_t)job->vacancy_count + 1) * sizeof *write->staged_vacancy);
  for (int32_t j = 0; j <= job->vacancy_count; j++) write->staged_vacancy[j] = -1;
  write->step = evtimer_new(daemon->base, on_step, write);
  *running = write;
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
