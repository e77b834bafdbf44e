/* lp_store: Redis via hiredis. Writes: the mutations committed during one loop iteration go
 * out as one MULTI/EXEC on an async connection attached to the daemon's libevent loop (each
 * mutation stays atomic: it is inside that transaction); a client's reply is sent only when
 * EXEC came back, and each commit is judged by the replies to its own commands. Loading (lp_load:
 * one pass over a synchronous connection, decoded on a second thread): at start the daemon waits
 * for it; after a lost link it runs in a worker thread while the loop answers reads from the
 * previous state (reload_if_needed), the swap is one short step on the loop and the replaced
 * state is freed off the loop. Each load logs its phases (connect, read, decode, build).
 *
 * hiredis 0.14 traps handled here:
 * - no connect or command timeouts: a watchdog timer drops a link whose connect or oldest
 *   EXEC is older than redis_timeout_ms;
 * - it frees the async context itself after a failed connect and after the disconnect
 *   callback: we only forget the pointer there and reconnect later from a timer;
 * - every pending callback gets a NULL reply when the link drops: those commits end with
 *   DEADLINE_EXCEEDED (outcome unknown) and the state is reloaded from Redis before the next
 *   write, because memory may hold writes that never reached Redis;
 * - blocking DNS in connect: addresses must be IP literals or unix sockets (checked here).
 *
 * Sentinel (redis_sentinels): before every connect (the async link, the loads) the Sentinels are asked for the primary,
 * one after the other with a short timeout, and the link checks with ROLE that it reached a primary. A lost link, a
 * Redis that turned replica (READONLY) or a ROLE other than master drops the link; the reconnect asks again, so a
 * failover is followed like any lost link, state reload included. On the serving loop the
 * Sentinels are asked on async links (lp_redis_primary_async): the loop never waits for them.
 *
 * WAIT (redis_wait_replicas = N): each batch's EXEC is followed by WAIT N redis_wait_timeout_ms
 * and its commits are answered only from WAIT's reply: confirmed when N replicas have it, else
 * DEADLINE_EXCEEDED (written on the primary, but a failover could lose it).
 *
 * Group commit: lp_store_commit only queues the block and activates flush_event, which runs
 * after the callbacks already active in this loop iteration (every connection that was
 * readable): it sends MULTI, every queued command and EXEC in one write and one round trip,
 * which saves Redis and hiredis two commands per mutation. */
#include "lp_store.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_load.h"
#include "lp_log.h"
#include "lp_redis.h"

enum { LOCAL_WRITE_SLOTS = 4096, OWN_EVENT_SLOTS = 1 << 16 };

static double ms_since(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* ---- transactions ---------------------------------------------------------------------- */

/* A block is kept already in Redis' wire format (RESP), one buffer per block, so building it
 * costs no allocation per argument and sending it no formatting: flush_batch and
 * lp_store_commit_sync hand each command to hiredis as a formatted command. */
struct lp_txn {
  char *wire; /* the commands in RESP, back to back */
  size_t length;
  size_t capacity;
  size_t *ends; /* where each command ends in wire */
  size_t count;
  size_t ends_capacity;
  uint64_t *records; /* record_hash of each record it writes or deletes (lp_follow) */
  size_t record_count, record_capacity;
  /* Events are kept as messages until the block is sent (seal_events), so that
   * lp_txn_event_detail and the records the block writes can still complete them. */
  struct txn_event *events;
  size_t event_count, event_capacity;
  struct txn_note *notes; /* what the block writes to placements, referrals, vacancies */
  size_t note_count, note_capacity;
  size_t *event_commands; /* which commands are EVENTS_SCRIPT (their replies: the ids added) */
  size_t event_command_count, event_command_capacity;
};

/* One event of a block, its detail still open. */
typedef struct txn_event {
  char *instance, *op, *key, *actor;
  enum lp_kind kind;
  long long max_length;
  size_t notes_before;        /* txn->note_count when it was added (see fill_from_notes) */
  Leerplek__V1__Event detail; /* strings owned (lp_strdup); id and time are Redis' */
} txn_event;

/* A record the block writes, as far as an event about it needs it (see fill_from_notes). */
typedef struct txn_note {
  enum lp_kind kind;
  char *key;
  int state; /* PlacementState or ReferralState */
  char *vacancy_id, *company_id, *offer_id, *decline_reason;
  uint64_t proposal_id;
  int decline_side;
} txn_note;

lp_txn *lp_txn_new(void) { return lp_calloc(1, sizeof(lp_txn)); }

static void free_event_detail(Leerplek__V1__Event *detail) {
  char **strings[] = {&detail->call,       &detail->actor_scope_id, &detail->school_id, &detail->pupil_ref,
                      &detail->vacancy_id, &detail->company_id,     &detail->offer_id,  &detail->reason};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
    if (*strings[i] != protobuf_c_empty_string) free(*strings[i]);
    *strings[i] = (char *)protobuf_c_empty_string;
  }
}

/* Frees the events not yet sealed into commands, leaving none. */
static void drop_events(lp_txn *txn) {
  for (size_t e = 0; e < txn->event_count; e++) {
    txn_event *event = &txn->events[e];
    free(event->instance);
    free(event->op);
    free(event->key);
    free(event->actor);
    free_event_detail(&event->detail);
  }
  txn->event_count = 0;
}

void lp_txn_free(lp_txn *txn) {
  if (!txn) return;
  drop_events(txn);
  for (size_t n = 0; n < txn->note_count; n++) {
    txn_note *note = &txn->notes[n];
    free(note->key);
    free(note->vacancy_id);
    free(note->company_id);
    free(note->offer_id);
    free(note->decline_reason);
  }
  free(txn->events);
  free(txn->notes);
  free(txn->wire);
  free(txn->ends);
  free(txn->records);
  free(txn->event_commands);
  free(txn);
}

/* FNV-1a over kind and key: names a record in the local-write table (see lp_store_read). */
static uint64_t record_hash(enum lp_kind kind, const char *key) {
  uint64_t hash = 1469598103934665603ull ^ (uint64_t)kind;
  for (const unsigned char *c = (const unsigned char *)key; *c; c++) hash = (hash ^ *c) * 1099511628211ull;
  return hash ? hash : 1; /* 0 marks an empty slot */
}

static void note_record(lp_txn *txn, enum lp_kind kind, const char *key) {
  if (txn->record_count == txn->record_capacity) {
    txn->record_capacity = txn->record_capacity ? txn->record_capacity * 2 : 4;
    txn->records = lp_realloc(txn->records, txn->record_capacity * sizeof *txn->records);
  }
  txn->records[txn->record_count++] = record_hash(kind, key);
}

bool lp_txn_failed(const lp_txn *txn) {
  (void)txn;
  return false;
}

static const char *txn_command(const lp_txn *txn, size_t i, size_t *length) {
  size_t start = i ? txn->ends[i - 1] : 0;
  *length = txn->ends[i] - start;
  return txn->wire + start;
}

/* Appends "<prefix><number>\r\n". */
static char *put_count(char *out, char prefix, size_t number) {
  char digits[24];
  int n = 0;
  do digits[n++] = (char)('0' + number % 10);
  while ((number /= 10) != 0);
  *out++ = prefix;
  while (n > 0) *out++ = digits[--n];
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

/* Appends one command; arguments are copied. */
static void add_command(lp_txn *txn, int argc, const void *const *argv, const size_t *lengths) {
  size_t needed = 24;
  for (int a = 0; a < argc; a++) needed += lengths[a] + 26;
  if (txn->length + needed > txn->capacity) {
    size_t capacity = txn->capacity ? txn->capacity * 2 : 512;
    while (capacity < txn->length + needed) capacity *= 2;
    txn->wire = lp_realloc(txn->wire, capacity);
    txn->capacity = capacity;
  }
  if (txn->count == txn->ends_capacity) {
    size_t capacity = txn->ends_capacity ? txn->ends_capacity * 2 : 8;
    txn->ends = lp_realloc(txn->ends, capacity * sizeof *txn->ends);
    txn->ends_capacity = capacity;
  }
  char *out = put_count(txn->wire + txn->length, '*', (size_t)argc);
  for (int a = 0; a < argc; a++) {
    out = put_count(out, '$', lengths[a]);
    memcpy(out, argv[a], lengths[a]);
    out += lengths[a];
    *out++ = '\r';
    *out++ = '\n';
  }
  txn->length = (size_t)(out - txn->wire);
  txn->ends[txn->count++] = txn->length;
}

static void add_strings(lp_txn *txn, int argc, const char *const *argv) {
  size_t lengths[16];
  for (int a = 0; a < argc; a++) lengths[a] = strlen(argv[a]);
  add_command(txn, argc, (const void *const *)argv, lengths);
}

void lp_txn_command(lp_txn *txn, int argc, const void *const *argv, const size_t *lengths) {
  add_command(txn, argc, argv, lengths);
}

void lp_txn_note_write(lp_txn *txn, enum lp_kind kind, const char *key) { note_record(txn, kind, key); }

size_t lp_txn_bytes(const lp_txn *txn) { return txn->length; }

static char *dup_or_null(const char *text) { return text && text[0] ? lp_strdup(text) : NULL; }

/* Remembers what an event about this record would say (its new state, the offered vacancy). */
static void note_written(lp_txn *txn, enum lp_kind kind, const char *key, const ProtobufCMessage *message) {
  if (kind != LP_KIND_PLACEMENT && kind != LP_KIND_REFERRAL && kind != LP_KIND_VACANCY && kind != LP_KIND_LOCATION)
    return;
  if (txn->note_count == txn->note_capacity) {
    txn->note_capacity = txn->note_capacity ? txn->note_capacity * 2 : 4;
    txn->notes = lp_realloc(txn->notes, txn->note_capacity * sizeof *txn->notes);
  }
  txn_note *note = &txn->notes[txn->note_count++];
  memset(note, 0, sizeof *note);
  note->kind = kind;
  note->key = lp_strdup(key);
  if (kind == LP_KIND_PLACEMENT) {
    const Leerplek__V1__Placement *placement = (const Leerplek__V1__Placement *)message;
    note->state = (int)placement->state;
    note->proposal_id = placement->proposal_id;
    if (placement->offer) {
      note->vacancy_id = dup_or_null(placement->offer->vacancy_id);
      note->company_id = dup_or_null(placement->offer->company_id);
    } else if (placement->state == LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_DECLINED && placement->last_decline) {
      note->vacancy_id = dup_or_null(placement->last_decline->vacancy_id);
      note->company_id = dup_or_null(placement->last_decline->company_id);
      note->decline_side = (int)placement->last_decline->side;
      note->decline_reason = dup_or_null(placement->last_decline->reason);
    }
  } else if (kind == LP_KIND_REFERRAL) {
    const Leerplek__V1__Referral *referral = (const Leerplek__V1__Referral *)message;
    note->state = (int)referral->state;
    note->offer_id = dup_or_null(referral->offer_id);
  } else if (kind == LP_KIND_VACANCY) {
    note->company_id = dup_or_null(((const Leerplek__V1__Vacancy *)message)->company_id);
  } else {
    note->company_id = dup_or_null(((const Leerplek__V1__Location *)message)->company_id);
  }
}

void lp_txn_put(lp_txn *txn, enum lp_kind kind, const char *key, const ProtobufCMessage *message) {
  note_record(txn, kind, key);
  char record_key[256], index_key[64];
  snprintf(record_key, sizeof record_key, LP_KEY_PREFIX "%s:%s", lp_kind_name(kind), key);
  snprintf(index_key, sizeof index_key, LP_INDEX_PREFIX "%s", lp_kind_name(kind));
  size_t size = protobuf_c_message_get_packed_size(message);
  uint8_t *bytes = lp_malloc(size);
  protobuf_c_message_pack(message, bytes);
  const void *set_argv[3] = {"SET", record_key, bytes};
  size_t set_lengths[3] = {3, strlen(record_key), size};
  add_command(txn, 3, set_argv, set_lengths);
  free(bytes);
  const char *index_argv[3] = {"SADD", index_key, key};
  add_strings(txn, 3, index_argv);
  note_written(txn, kind, key, message);
}

void lp_txn_delete(lp_txn *txn, enum lp_kind kind, const char *key) {
  note_record(txn, kind, key);
  char record_key[256], index_key[64];
  snprintf(record_key, sizeof record_key, LP_KEY_PREFIX "%s:%s", lp_kind_name(kind), key);
  snprintf(index_key, sizeof index_key, LP_INDEX_PREFIX "%s", lp_kind_name(kind));
  const char *del_argv[2] = {"DEL", record_key};
  add_strings(txn, 2, del_argv);
  const char *index_argv[3] = {"SREM", index_key, key};
  add_strings(txn, 3, index_argv);
}

void lp_txn_set_raw(lp_txn *txn, const char *key, const void *bytes, size_t size) {
  const void *argv[3] = {"SET", key, bytes};
  size_t lengths[3] = {3, strlen(key), size};
  add_command(txn, 3, argv, lengths);
}

void lp_txn_event(lp_txn *txn, const char *instance_id, const char *op, enum lp_kind kind, const char *key,
                  const char *actor, long long events_max_length) {
  if (txn->event_count == txn->event_capacity) {
    txn->event_capacity = txn->event_capacity ? txn->event_capacity * 2 : 2;
    txn->events = lp_realloc(txn->events, txn->event_capacity * sizeof *txn->events);
  }
  txn_event *event = &txn->events[txn->event_count++];
  event->instance = lp_strdup(instance_id);
  event->op = lp_strdup(op);
  event->key = lp_strdup(key);
  event->actor = lp_strdup(actor);
  event->kind = kind;
  event->max_length = events_max_length;
  event->notes_before = txn->note_count;
  leerplek__v1__event__init(&event->detail);
}

void lp_txn_event_like(lp_txn *txn, const char *op, enum lp_kind kind, const char *key) {
  if (txn->event_count == 0) return;
  const txn_event first = txn->events[0]; /* copied: lp_txn_event may move the array */
  lp_txn_event(txn, first.instance, op, kind, key, first.actor, first.max_length);
  lp_event_detail detail = {.call = first.detail.call};
  lp_txn_event_detail(txn, &detail);
}

/* Replaces a detail string when the new value is set. */
static void set_text(char **field, const char *value) {
  if (!value || !value[0]) return;
  if (*field != protobuf_c_empty_string) free(*field);
  *field = lp_strdup(value);
}

void lp_txn_event_detail(lp_txn *txn, const lp_event_detail *detail) {
  if (txn->event_count == 0 || !detail) return;
  Leerplek__V1__Event *event = &txn->events[txn->event_count - 1].detail;
  set_text(&event->call, detail->call);
  set_text(&event->school_id, detail->school_id);
  set_text(&event->pupil_ref, detail->pupil_ref);
  set_text(&event->vacancy_id, detail->vacancy_id);
  set_text(&event->company_id, detail->company_id);
  set_text(&event->offer_id, detail->offer_id);
  set_text(&event->reason, detail->reason);
  if (detail->proposal_id) event->proposal_id = detail->proposal_id;
  if (detail->side) event->side = (Leerplek__V1__Side)detail->side;
  if (detail->old_state) event->old_state = (Leerplek__V1__PlacementState)detail->old_state;
  if (detail->new_state) event->new_state = (Leerplek__V1__PlacementState)detail->new_state;
  if (detail->old_referral_state) event->old_referral_state = (Leerplek__V1__ReferralState)detail->old_referral_state;
  if (detail->new_referral_state) event->new_referral_state = (Leerplek__V1__ReferralState)detail->new_referral_state;
  if (detail->epoch) event->epoch = detail->epoch;
}

/* What the record's write says, where the caller said nothing. */
static void apply_note(Leerplek__V1__Event *detail, const txn_note *note) {
  if (note->kind == LP_KIND_PLACEMENT) {
    if (!detail->new_state) detail->new_state = (Leerplek__V1__PlacementState)note->state;
    if (!detail->proposal_id) detail->proposal_id = note->proposal_id;
    if (!detail->side) detail->side = (Leerplek__V1__Side)note->decline_side;
    if (!detail->reason[0]) set_text(&detail->reason, note->decline_reason);
  } else if (note->kind == LP_KIND_REFERRAL) {
    if (!detail->new_referral_state) detail->new_referral_state = (Leerplek__V1__ReferralState)note->state;
    if (!detail->offer_id[0]) set_text(&detail->offer_id, note->offer_id);
  }
  if (!detail->vacancy_id[0]) set_text(&detail->vacancy_id, note->vacancy_id);
  if (!detail->company_id[0]) set_text(&detail->company_id, note->company_id);
}

/* Completes an event from its record key and from what the block writes to that record:
 * what the caller set explicitly wins. */
static void fill_from_notes(const lp_txn *txn, txn_event *event) {
  Leerplek__V1__Event *detail = &event->detail;
  if (event->kind == LP_KIND_PUPIL || event->kind == LP_KIND_PLACEMENT || event->kind == LP_KIND_REFERRAL) {
    /* "<school>/<ref>[/<component>]"; an erasure's key is the school alone. */
    const char *slash = strchr(event->key, '/');
    if (slash && !detail->pupil_ref[0]) {
      const char *end = strchr(slash + 1, '/');
      size_t ref_length = end ? (size_t)(end - slash - 1) : strlen(slash + 1);
      char *school = lp_strdup(event->key), *ref = lp_strdup(slash + 1);
      school[slash - event->key] = '\0';
      ref[ref_length] = '\0';
      set_text(&detail->school_id, school);
      set_text(&detail->pupil_ref, ref);
      free(school);
      free(ref);
    } else if (!slash) {
      set_text(&detail->school_id, event->key);
    }
  } else if (event->kind == LP_KIND_VACANCY) {
    set_text(&detail->vacancy_id, event->key);
  } else if (event->kind == LP_KIND_COMPANY) {
    set_text(&detail->company_id, event->key);
  }
  if (event->kind != LP_KIND_PLACEMENT && event->kind != LP_KIND_REFERRAL && event->kind != LP_KIND_VACANCY &&
      event->kind != LP_KIND_LOCATION)
    return;
  /* The record's write usually stands right beside its event (put then event, as the rematch
   * does, or event then put, as lp_begin's callers do): look there first, so that a block of
   * thousands of events (a rematch) costs no search through all its writes. */
  const txn_note *beside[2] = {event->notes_before < txn->note_count ? &txn->notes[event->notes_before] : NULL,
                               event->notes_before > 0 ? &txn->notes[event->notes_before - 1] : NULL};
  for (int b = 0; b < 2; b++)
    if (beside[b] && beside[b]->kind == event->kind && strcmp(beside[b]->key, event->key) == 0) {
      apply_note(detail, beside[b]);
      return;
    }
  for (size_t n = txn->note_count; n-- > 0;) {
    const txn_note *note = &txn->notes[n];
    if (note->kind != event->kind || strcmp(note->key, event->key) != 0) continue;
    apply_note(detail, note);
    break; /* the last write to the record is what it becomes */
  }
}

/* "school:S1" -> ROLE_SCHOOL and "S1" (lp_auth_describe's form). */
static void fill_actor(txn_event *event) {
  static const struct {
    const char *prefix;
    Leerplek__V1__Role role;
  } roles[] = {{"school", LEERPLEK__V1__ROLE__ROLE_SCHOOL},
               {"company", LEERPLEK__V1__ROLE__ROLE_COMPANY},
               {"coordinator", LEERPLEK__V1__ROLE__ROLE_COORDINATOR},
               {"admin", LEERPLEK__V1__ROLE__ROLE_ADMIN},
               {"support", LEERPLEK__V1__ROLE__ROLE_SUPPORT}};
  for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
    size_t length = strlen(roles[r].prefix);
    if (strncmp(event->actor, roles[r].prefix, length) != 0) continue;
    if (event->actor[length] != '\0' && event->actor[length] != ':') continue;
    event->detail.actor_role = roles[r].role;
    if (event->actor[length] == ':') set_text(&event->detail.actor_scope_id, event->actor + length + 1);
    return;
  }
  /* "rematch <epoch>" and the like: the daemon itself, on a coordinator's behalf. */
  event->detail.actor_role = LEERPLEK__V1__ROLE__ROLE_COORDINATOR;
}

/* The events of one block, in one script: per event an XADD, and its id added to the history
 * index of each subject it names, so that the index holds the id Redis assigns. Index members
 * are the id zero-padded ("%013ms-%010seq") with score 0: lexical order is then the stream's
 * order, so a page is one ZRANGEBYLEX. One call per block instead of one per event (a
 * rematch's slice has thousands), and the Redis calls it makes are few per event:
 * - each index gets one ZADD with all its members of the block (a school's or company's
 *   index is named by hundreds of a slice's events), after the XADDs;
 * - entries trimmed from the stream (MAXLEN ~) leave the indexes as well: every index the
 *   block names is cut below the stream's first entry as it is after the block's last XADD.
 *   That cut (and the XRANGE that finds the first entry) is needed only when the stream is
 *   at its MAXLEN: an XADD trims only a stream longer than MAXLEN, and MAXLEN ~ leaves at
 *   least MAXLEN entries, so a stream shorter than MAXLEN was not trimmed since it last was
 *   that long. (Only erasures, XDEL, or a raised events_max_length make a trimmed stream
 *   shorter: then the ids below its first entry leave an index once the stream is full again
 *   and an event names it, and a history read drops such ids when it meets them.)
 * So the stream and every index it names end exactly as with one call per event.
 * KEYS: the stream, then the index keys of every event in order. ARGV: 1 the stream's MAXLEN,
 * then per event its number of index keys and the values of instance, op, kind, key, actor,
 * event. Returns the ids added, in order (the daemon skips re-reading its own: lp_store_own_event). */
static const char EVENTS_SCRIPT[] =
    "local stream, max_length = KEYS[1], tonumber(ARGV[1])\n"
    "local function pad(i) local ms, seq = string.match(i, '^(%d+)-(%d+)$')\n"
    "  return string.rep('0', 13 - #ms) .. ms .. '-' .. string.rep('0', 10 - #seq) .. seq end\n"
    "local length = redis.call('XLEN', stream)\n"
    "local members, order, ids, k, a = {}, {}, {}, 2, 2\n"
    "while a <= #ARGV do\n"
    "  local id = redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'instance', ARGV[a + 1], 'op', ARGV[a + 2],\n"
    "                        'kind', ARGV[a + 3], 'key', ARGV[a + 4], 'actor', ARGV[a + 5], 'event', ARGV[a + 6])\n"
    "  local member = pad(id)\n"
    "  ids[#ids + 1] = id\n"
    "  for i = 1, tonumber(ARGV[a]) do\n"
    "    local index = KEYS[k]\n"
    "    local list = members[index]\n"
    "    if not list then list = {} members[index] = list order[#order + 1] = index end\n"
    "    list[#list + 1] = 0\n"
    "    list[#list + 1] = member\n"
    "    k = k + 1\n"
    "  end\n"
    "  a = a + 7\n"
    "end\n"
    "local floor = nil\n"
    "if length + #ids >= max_length then\n"
    "  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)\n"
    "  if first[1] then floor = '(' .. pad(first[1][1]) end\n"
    "end\n"
    "for _, index in ipairs(order) do\n"
    "  local list = members[index]\n"
    "  for from = 1, #list, 4000 do\n"
    "    redis.call('ZADD', index, unpack(list, from, math.min(from + 3999, #list)))\n"
    "  end\n"
    "  if floor then redis.call('ZREMRANGEBYLEX', index, '-', floor) end\n"
    "end\n"
    "return ids\n";

/* A growing argument list of one command (the events' EVAL). */
typedef struct event_args {
  const void **argv;
  size_t *lengths;
  size_t count, capacity;
} event_args;

static void event_arg(event_args *args, const void *value, size_t length) {
  if (args->count == args->capacity) {
    args->capacity = args->capacity ? args->capacity * 2 : 64;
    args->argv = lp_realloc(args->argv, args->capacity * sizeof *args->argv);
    args->lengths = lp_realloc(args->lengths, args->capacity * sizeof *args->lengths);
  }
  args->argv[args->count] = value;
  args->lengths[args->count++] = length;
}

/* Completes event's detail and writes its history index keys (up to 4, key_size each) to keys;
 * returns their number. */
static int complete_event(const lp_txn *txn, txn_event *event, char *keys, size_t key_size) {
  fill_from_notes(txn, event);
  fill_actor(event);
  Leerplek__V1__Event *detail = &event->detail;
  if (!detail->call[0]) set_text(&detail->call, event->op);
  int count = 0;
  if (detail->school_id[0] && detail->pupil_ref[0])
    snprintf(keys + key_size * count++, key_size, LP_HISTORY_PREFIX "pupil:%s/%s", detail->school_id,
             detail->pupil_ref);
  if (detail->school_id[0])
    snprintf(keys + key_size * count++, key_size, LP_HISTORY_PREFIX "school:%s", detail->school_id);
  if (detail->vacancy_id[0])
    snprintf(keys + key_size * count++, key_size, LP_HISTORY_PREFIX "vacancy:%s", detail->vacancy_id);
  if (detail->company_id[0])
    snprintf(keys + key_size * count++, key_size, LP_HISTORY_PREFIX "company:%s", detail->company_id);
  return count;
}

/* Appends one EVAL of EVENTS_SCRIPT for events first .. end-1 (one MAXLEN). */
static void seal_event_run(lp_txn *txn, size_t first, size_t end) {
  enum { INDEX_KEYS_MAX = 4, KEY_SIZE = 256 };
  size_t events = end - first, key_total = 0;
  char *index_keys = lp_malloc(events * INDEX_KEYS_MAX * KEY_SIZE);
  char(*index_counts)[4] = lp_malloc(events * sizeof *index_counts);
  uint8_t **packed = lp_calloc(events, sizeof *packed);
  size_t *packed_sizes = lp_calloc(events, sizeof *packed_sizes);
  for (size_t e = 0; e < events; e++) {
    txn_event *event = &txn->events[first + e];
    int index_count = complete_event(txn, event, index_keys + e * INDEX_KEYS_MAX * KEY_SIZE, KEY_SIZE);
    snprintf(index_counts[e], sizeof index_counts[e], "%d", index_count);
    key_total += (size_t)index_count;
    packed_sizes[e] = protobuf_c_message_get_packed_size(&event->detail.base);
    packed[e] = lp_malloc(packed_sizes[e] ? packed_sizes[e] : 1);
    protobuf_c_message_pack(&event->detail.base, packed[e]);
  }
  char key_count[24], max_length[32];
  snprintf(key_count, sizeof key_count, "%zu", 1 + key_total);
  snprintf(max_length, sizeof max_length, "%lld", txn->events[first].max_length);
  event_args args = {0};
#define ARG(text) event_arg(&args, (text), strlen(text))
  ARG("EVAL");
  ARG(EVENTS_SCRIPT);
  ARG(key_count);
  ARG(LP_EVENTS_STREAM);
  for (size_t e = 0; e < events; e++)
    for (int k = 0; k < atoi(index_counts[e]); k++) ARG(index_keys + (e * INDEX_KEYS_MAX + (size_t)k) * KEY_SIZE);
  ARG(max_length);
  for (size_t e = 0; e < events; e++) {
    const txn_event *event = &txn->events[first + e];
    ARG(index_counts[e]);
    ARG(event->instance), ARG(event->op), ARG(lp_kind_name(event->kind)), ARG(event->key), ARG(event->actor);
    event_arg(&args, packed[e], packed_sizes[e]);
  }
#undef ARG
  if (txn->event_command_count == txn->event_command_capacity) {
    txn->event_command_capacity = txn->event_command_capacity ? txn->event_command_capacity * 2 : 2;
    txn->event_commands = lp_realloc(txn->event_commands, txn->event_command_capacity * sizeof *txn->event_commands);
  }
  txn->event_commands[txn->event_command_count++] = txn->count;
  add_command(txn, (int)args.count, args.argv, args.lengths);
  for (size_t e = 0; e < events; e++) free(packed[e]);
  free(packed);
  free(packed_sizes);
  free(index_keys);
  free(index_counts);
  free(args.argv);
  free(args.lengths);
}

/* Appends the events of the block (sealed: details can no longer change), one EVAL of
 * EVENTS_SCRIPT for each run of events with the same MAXLEN (every caller passes the daemon's
 * events_max_length, so that is one). */
static void seal_events(lp_txn *txn) {
  for (size_t first = 0, end; first < txn->event_count; first = end) {
    for (end = first + 1; end < txn->event_count && txn->events[end].max_length == txn->events[first].max_length;)
      end++;
    seal_event_run(txn, first, end);
  }
  drop_events(txn); /* sealed: a second commit attempt must not add them again */
}

void lp_txn_seal_events(lp_txn *txn) { seal_events(txn); }

/* Every event that named the pupil goes (XDEL), with the pupil's index and its ids in the
 * school's; events of other subjects (a vacancy's) that named the pupil are among them, and
 * their index ids are dropped when a history read finds them gone. */
static const char ERASE_SCRIPT[] = "local members = redis.call('ZRANGE', KEYS[2], 0, -1)\n"
                                   "for _, member in ipairs(members) do\n"
                                   "  local ms, seq = string.match(member, '^0*(%d+)-0*(%d+)$')\n"
                                   "  redis.call('XDEL', KEYS[1], ms .. '-' .. seq)\n"
                                   "  redis.call('ZREM', KEYS[3], member)\n"
                                   "end\n"
                                   "redis.call('DEL', KEYS[2])\n"
                                   "return #members\n";

void lp_txn_erase_history(lp_txn *txn, const char *school_id, const char *pupil_ref) {
  char pupil_key[256], school_key[256];
  snprintf(pupil_key, sizeof pupil_key, LP_HISTORY_PREFIX "pupil:%s/%s", school_id, pupil_ref);
  snprintf(school_key, sizeof school_key, LP_HISTORY_PREFIX "school:%s", school_id);
  const char *argv[6] = {"EVAL", ERASE_SCRIPT, "3", LP_EVENTS_STREAM, pupil_key, school_key};
  add_strings(txn, 6, argv);
}

/* ---- the async connection -------------------------------------------------------------- */

typedef struct pending_commit {
  lp_commit_done *done;
  void *arg;
  lp_txn *txn;             /* until flush_batch sends it */
  size_t commands;         /* its commands inside the EXEC reply */
  bool wait_queued;        /* a WAIT follows its EXEC: that reply answers it (on_wait_reply) */
  bool unconfirmed;        /* WAIT could not be sent: EXEC's success is not enough */
  int exec_code;           /* EXEC's verdict, kept for on_wait_reply */
  unsigned own_generation; /* store->own_generation when it was sent (lp_store_own_event) */
  size_t *event_commands;  /* taken from txn when it is sent: which replies hold event ids */
  size_t event_command_count;
  char exec_message[300];
  struct timeval sent;
  lp_store *store;
  struct pending_commit *next, *previous; /* in-flight list, oldest first */
} pending_commit;

struct lp_store {
  struct event_base *base;
  const lp_config *config;
  lp_store_hooks hooks;
  redisAsyncContext *redis; /* NULL while disconnected */
  bool connected;
  bool ready; /* the connection answered PING: Redis is responsive */
  bool ping_pending;
  struct timeval ping_sent;
  bool loaded;
  bool reload_needed;
  unsigned reload_generation; /* counts the reasons to reload: one that came during a reload wants another */
  struct reload_job *reload;  /* the reload running in its worker thread, or NULL */
  struct event *reload_done;  /* activated by that worker when it is done */
  pthread_t disposer;         /* frees the state a reload replaced (dispose_state) */
  bool disposing;             /* disposer was started and is not joined yet */
  bool freeing;
  struct timeval connect_started;
  uint32_t backoff_ms;
  struct event *reconnect_timer;
  struct event *watchdog_timer;
  pending_commit *oldest, *newest;
  size_t in_flight;       /* queued (not yet sent) and sent commits */
  pending_commit *unsent; /* first queued commit not yet sent; the rest follow it */
  size_t unsent_count;
  struct event *flush_event;
  char events_start[64];         /* lp:events' last id just before the first load */
  char primary[256];             /* the address connected to (from redis or the Sentinels) */
  lp_redis_query *primary_query; /* the Sentinels being asked, or NULL */
  /* Local writes by record, for lp_store_read: the last commit (by number) that wrote each;
   * a direct-mapped table, so a record pushed out leaves its number in evicted_seq. */
  uint64_t commit_seq;
  struct {
    uint64_t hash, seq;
  } local_writes[LOCAL_WRITE_SLOTS];
  uint64_t evicted_seq;
  /* The stream ids of this process' own confirmed events, until lp_follow meets them
   * (lp_store_own_event): direct-mapped, a pushed-out id is simply re-read. Emptied, and
   * own_generation advanced, whenever memory may differ from what those commits wrote (a
   * reload is needed or a loaded state was put in place). */
  struct own_event {
    uint64_t ms, seq; /* ms 0: empty */
  } * own_events;
  unsigned own_generation;
};

const char *lp_store_events_start(const lp_store *store) { return store->events_start; }

static void count(lp_store *store, enum lp_store_counter counter) {
  if (store->hooks.count) store->hooks.count(store->hooks.arg, counter);
}

static void schedule_reconnect(lp_store *store);

bool lp_store_loaded(const lp_store *store) { return store->loaded; }

bool lp_store_reloading(const lp_store *store) { return store->reload != NULL; }

bool lp_store_writable(const lp_store *store) {
  /* hiredis queues commands while it connects, so a link being set up takes writes too; a
   * link that then fails answers them (as outcome unknown) like any lost link. */
  return store->redis != NULL && store->loaded && !store->reload_needed && !store->freeing;
}

size_t lp_store_in_flight(const lp_store *store) { return store->in_flight; }

static long elapsed_ms(const struct timeval *since) {
  struct timeval now;
  gettimeofday(&now, NULL);
  return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_usec - since->tv_usec) / 1000L;
}

/* Forgets the own events: memory may no longer hold what they wrote, so lp_follow re-reads them. */
static void forget_own_events(lp_store *store) {
  store->own_generation++;
  if (store->own_events) memset(store->own_events, 0, OWN_EVENT_SLOTS * sizeof *store->own_events);
}

static void need_reload(lp_store *store) {
  store->reload_needed = true;
  store->reload_generation++;
  forget_own_events(store);
}

static bool parse_stream_id(const char *text, uint64_t *ms, uint64_t *seq) {
  char *end = NULL;
  unsigned long long high = strtoull(text, &end, 10);
  if (end == text || *end != '-') return false;
  const char *low_text = end + 1;
  unsigned long long low = strtoull(low_text, &end, 10);
  if (end == low_text || *end != '\0' || high == 0) return false;
  *ms = high, *seq = low;
  return true;
}

static size_t own_event_slot(uint64_t ms, uint64_t seq) {
  uint64_t hash = (ms * 0x9e3779b97f4a7c15ull) ^ (seq * 0xc2b2ae3d27d4eb4full);
  return (size_t)((hash ^ (hash >> 29)) % OWN_EVENT_SLOTS);
}

/* A confirmed commit's EVENTS_SCRIPT replies (the ids added) go into the own-event table, when
 * memory holds what the commit wrote: it was sent since the last state change of
 * forget_own_events, and no reload is pending or running. */
static void remember_own_events(lp_store *store, const pending_commit *pending, const redisReply *exec,
                                size_t element) {
  if (pending->own_generation != store->own_generation || store->reload_needed || store->reload) return;
  for (size_t c = 0; c < pending->event_command_count; c++) {
    size_t i = element + pending->event_commands[c];
    if (i >= exec->elements || exec->element[i]->type != REDIS_REPLY_ARRAY) continue;
    const redisReply *ids = exec->element[i];
    for (size_t e = 0; e < ids->elements; e++) {
      uint64_t ms, seq;
      if (ids->element[e]->type != REDIS_REPLY_STRING || !parse_stream_id(ids->element[e]->str, &ms, &seq)) continue;
      if (!store->own_events) store->own_events = lp_calloc(OWN_EVENT_SLOTS, sizeof *store->own_events);
      store->own_events[own_event_slot(ms, seq)] = (struct own_event){ms, seq};
    }
  }
}

void lp_store_take_replies(lp_store *store) {
  /* Redis writes a blocked XREAD's reply before EXEC's (its pending-write list is served newest
   * client first): without this, lp_follow meets every own event before the store knows it. */
  if (store->redis && store->connected && !store->freeing && store->in_flight > 0) redisAsyncHandleRead(store->redis);
}

bool lp_store_own_event(lp_store *store, const char *id) {
  uint64_t ms, seq;
  if (!store->own_events || store->reload_needed || store->reload || !parse_stream_id(id, &ms, &seq)) return false;
  struct own_event *slot = &store->own_events[own_event_slot(ms, seq)];
  if (slot->ms != ms || slot->seq != seq) return false;
  slot->ms = slot->seq = 0; /* met once: an id is never added again */
  return true;
}

/* A load after a lost link or failed EXEC, run in a worker thread that touches nothing of the
 * daemon's but the (constant) config: it loads into state of its own over its own link. */
typedef struct reload_job {
  lp_store *store;
  pthread_t thread;
  unsigned generation; /* store->reload_generation when it started */
  lp_state fresh;
  int rc;
  char error[256];
  lp_load_timing timing;
} reload_job;

static void *reload_worker(void *arg) {
  reload_job *job = arg;
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  redisContext *sync = lp_redis_connect_sync(job->store->config, job->error, sizeof job->error);
  job->timing.connect_ms = ms_since(&started);
  job->rc = sync ? lp_load_state(sync, job->store->hooks.prepare_load, &job->fresh, &job->timing, job->error,
                                 sizeof job->error)
                 : -1;
  if (sync) redisFree(sync);
  event_active(job->store->reload_done, EV_TIMEOUT, 1);
  return NULL;
}

/* Reloads the working set from Redis when a lost link or failed EXEC left memory unsure.
 * Only with nothing in flight, so every acknowledged write is in what is loaded, and only once
 * the async link has answered a PING. The load runs in a worker thread: meanwhile reads are
 * answered from the previous state and writes are refused as UNAVAILABLE (reload_needed
 * holds), so none can be lost between what was loaded and the swap. */
static void reload_if_needed(lp_store *store) {
  if (!store->reload_needed || store->reload || store->freeing || store->in_flight > 0 || !store->connected ||
      !store->ready)
    return;
  reload_job *job = lp_calloc(1, sizeof *job);
  job->store = store;
  job->generation = store->reload_generation;
  lp_state_init(&job->fresh);
  if (pthread_create(&job->thread, NULL, reload_worker, job) != 0) {
    LP_WARN("reload from redis: could not start its thread; trying again");
    free(job);
    return;
  }
  store->reload = job;
}

static void *free_state(void *arg) {
  lp_state *state = arg;
  lp_state_free(state);
  free(state);
  return NULL;
}

/* Frees a replaced state in a thread of its own: freeing a germany-size state (500,000 records,
 * some ten allocations each) took about 2 s here, which on the loop every call would wait for.
 * Nothing points into it any more. */
static void dispose_state(lp_store *store, lp_state *replaced) {
  if (store->disposing) pthread_join(store->disposer, NULL); /* the previous one, long done */
  store->disposing = false;
  lp_state *moved = lp_malloc(sizeof *moved);
  *moved = *replaced;
  lp_state_init(replaced);
  if (pthread_create(&store->disposer, NULL, free_state, moved) == 0)
    store->disposing = true;
  else
    free_state(moved);
}

/* Back on the loop: puts the loaded state in place of the previous one, in one short step. */
static void on_reload_done(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  reload_job *job = store->reload;
  if (!job) return;
  pthread_join(job->thread, NULL);
  store->reload = NULL;
  if (job->rc != 0) {
    LP_WARN("reload from redis: %s", job->error); /* the watchdog's next tick tries again */
    lp_state_free(&job->fresh);
    free(job);
    return;
  }
  /* A link lost during the load may have cost lp_follow re-reads: then load again. */
  if (job->generation == store->reload_generation) store->reload_needed = false;
  store->loaded = true;
  lp_load_log("state reloaded from redis", &job->timing);
  store->hooks.state_loaded(store->hooks.arg, &job->fresh, true); /* leaves the replaced state in fresh */
  forget_own_events(store); /* commits sent before it wrote into the replaced state */
  dispose_state(store, &job->fresh);
  free(job);
  reload_if_needed(store);
}

static void unlink_pending(lp_store *store, pending_commit *pending) {
  if (pending->previous)
    pending->previous->next = pending->next;
  else
    store->oldest = pending->next;
  if (pending->next)
    pending->next->previous = pending->previous;
  else
    store->newest = pending->previous;
  store->in_flight--;
}

/* Ends the oldest in-flight commit with code (0: confirmed). */
static void finish_oldest(lp_store *store, int code, const char *message) {
  pending_commit *pending = store->oldest;
  unlink_pending(store, pending);
  if (store->unsent == pending) store->unsent = pending->next;
  if (code != 0) LP_WARN("commit failed: %s", message);
  lp_txn_free(pending->txn);
  pending->done(pending->arg, code, message);
  free(pending->event_commands);
  free(pending);
}

/* EXEC's reply for a batch of commits (their number is privdata): the oldest in flight, since
 * Redis answers in order. A commit whose own commands all succeeded is confirmed. */
static void on_exec_reply(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  lp_store *store = redis->data;
  size_t commits = (size_t)(uintptr_t)privdata;
  redisReply *reply = reply_pointer;
  size_t element = 0;
  bool readonly = false;
  pending_commit *pending = store->oldest;
  for (size_t c = 0; c < commits && pending; c++) {
    int code = 0;
    char message[300] = "";
    size_t commands = pending->commands;
    if (!reply) {
      /* The link dropped (or the store is being freed) after the block was handed to hiredis. */
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
      snprintf(message, sizeof message,
               "lost the link to the store before it confirmed the write; "
               "the change may or may not have been made: re-read");
      need_reload(store);
    } else if (reply->type == REDIS_REPLY_ARRAY && element + commands <= reply->elements) {
      for (size_t i = element; i < element + commands; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
          readonly = readonly || strncmp(reply->element[i]->str, "READONLY", 8) == 0;
          code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
          count(store, LP_STORE_REDIS_ERRORS);
          snprintf(message, sizeof message, "store refused part of the write: %.200s", reply->element[i]->str);
          need_reload(store);
          break;
        }
      }
    } else {
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
      count(store, LP_STORE_REDIS_ERRORS);
      readonly = readonly || (reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "READONLY") != NULL);
      snprintf(message, sizeof message, "store refused the write: %.200s",
               reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply to EXEC");
      need_reload(store);
    }
    if (code == 0) remember_own_events(store, pending, reply, element);
    element += commands;
    if (code == 0 && pending->unconfirmed) {
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
      count(store, LP_STORE_WAIT_SHORTFALLS);
      snprintf(message, sizeof message,
               "written on the primary, but WAIT for its replicas could not be sent; "
               "it may be lost in a failover: re-read");
    }
    pending_commit *next = pending->next;
    if (pending->wait_queued) {
      pending->exec_code = code;
      snprintf(pending->exec_message, sizeof pending->exec_message, "%s", message);
    } else {
      finish_oldest(store, code, message);
    }
    pending = next;
  }
  if (readonly && reply && !store->freeing && store->redis) {
    /* A primary demoted to replica (a failover behind our back): ask the Sentinels again. */
    LP_WARN("redis %s is read-only (a replica now); reconnecting to the primary", store->primary);
    redisAsyncDisconnect(store->redis);
    return;
  }
  /* After a NULL reply the link is going down; the reload waits for the reconnect. */
  if (reply && !store->freeing) reload_if_needed(store);
}

/* WAIT's reply for a batch (privdata: its number of commits): answers them with EXEC's verdict,
 * a confirmed one only if enough replicas have it. */
static void on_wait_reply(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  lp_store *store = redis->data;
  size_t commits = (size_t)(uintptr_t)privdata;
  redisReply *reply = reply_pointer;
  const lp_config *config = store->config;
  long long replicas = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
  for (size_t c = 0; c < commits && store->oldest; c++) {
    pending_commit *pending = store->oldest;
    int code = pending->exec_code;
    char message[300];
    snprintf(message, sizeof message, "%s", pending->exec_message);
    if (code == 0 && replicas < (long long)config->redis_wait_replicas) {
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
      count(store, LP_STORE_WAIT_SHORTFALLS);
      if (replicas < 0) {
        snprintf(message, sizeof message,
                 "written on the primary, but the link was lost before %u replica%s "
                 "confirmed it; it may be lost in a failover: re-read",
                 config->redis_wait_replicas, config->redis_wait_replicas == 1 ? "" : "s");
        need_reload(store);
      } else {
        snprintf(message, sizeof message,
                 "written on the primary, but only %lld of %u replicas confirmed it within "
                 "%u ms (redis_wait_timeout_ms); it may be lost in a failover: re-read",
                 replicas, config->redis_wait_replicas, config->redis_wait_timeout_ms);
      }
    }
    finish_oldest(store, code, message);
  }
  if (reply && !store->freeing) reload_if_needed(store);
}

/* flush_event: sends every queued commit as one MULTI/EXEC. */
static void flush_batch(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  size_t commits = store->unsent_count;
  if (commits == 0) return;
  pending_commit *first = store->unsent;
  store->unsent = NULL;
  store->unsent_count = 0;
  /* MULTI and EXEC in RESP already: hiredis need not format them per batch. */
  static const char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
  int rc = store->redis && !store->freeing
               ? redisAsyncFormattedCommand(store->redis, NULL, NULL, multi, sizeof multi - 1)
               : REDIS_ERR;
  for (pending_commit *pending = first; pending && rc == REDIS_OK; pending = pending->next) {
    lp_txn *txn = pending->txn;
    for (size_t i = 0; i < txn->count && rc == REDIS_OK; i++) {
      size_t length = 0;
      const char *command = txn_command(txn, i, &length);
      rc = redisAsyncFormattedCommand(store->redis, NULL, NULL, command, length);
    }
    pending->txn = NULL;
    pending->event_commands = txn->event_commands, pending->event_command_count = txn->event_command_count;
    txn->event_commands = NULL;
    lp_txn_free(txn);
  }
  if (rc == REDIS_OK)
    rc = redisAsyncFormattedCommand(store->redis, on_exec_reply, (void *)(uintptr_t)commits, exec, sizeof exec - 1);
  uint32_t replicas = store->config->redis_wait_replicas;
  if (rc == REDIS_OK && replicas > 0) {
    bool queued = redisAsyncCommand(store->redis, on_wait_reply, (void *)(uintptr_t)commits, "WAIT %u %u", replicas,
                                    store->config->redis_wait_timeout_ms) == REDIS_OK;
    /* Callbacks never run inside redisAsyncCommand, so marking them now is in time. Without
     * WAIT (out of memory) EXEC's reply answers them, but never as confirmed. */
    for (pending_commit *pending = first; pending; pending = pending->next) {
      pending->wait_queued = queued;
      pending->unconfirmed = !queued;
    }
  }
  if (rc == REDIS_OK) return;
  /* Not sent whole (link down or going down, out of memory): outcome unknown, as for a lost
   * link; Redis discards a half-sent MULTI block when the link is reset. These are the newest
   * commits: anything older is already with hiredis. */
  LP_WARN("could not send %zu writes to redis", commits);
  need_reload(store);
  while (store->newest && commits-- > 0) {
    pending_commit *pending = store->newest;
    unlink_pending(store, pending);
    lp_txn_free(pending->txn);
    pending->done(pending->arg, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED,
                  "lost the link to the store before it confirmed the write; "
                  "the change may or may not have been made: re-read");
    free(pending->event_commands);
    free(pending);
  }
}

int lp_store_commit(lp_store *store, lp_txn *txn, lp_commit_done *done, void *arg) {
  if (!lp_store_writable(store)) {
    lp_txn_free(txn);
    return -1;
  }
  pending_commit *pending = lp_calloc(1, sizeof *pending);
  pending->done = done;
  pending->arg = arg;
  pending->store = store;
  pending->txn = txn;
  pending->own_generation = store->own_generation;
  store->commit_seq++;
  for (size_t r = 0; r < txn->record_count; r++) {
    uint64_t hash = txn->records[r];
    size_t slot = (size_t)(hash % LOCAL_WRITE_SLOTS);
    if (store->local_writes[slot].hash != hash && store->local_writes[slot].seq > store->evicted_seq)
      store->evicted_seq = store->local_writes[slot].seq;
    store->local_writes[slot].hash = hash;
    store->local_writes[slot].seq = store->commit_seq;
  }
  seal_events(txn);
  pending->commands = txn->count;
  gettimeofday(&pending->sent, NULL);
  pending->previous = store->newest;
  if (store->newest)
    store->newest->next = pending;
  else
    store->oldest = pending;
  store->newest = pending;
  store->in_flight++;
  if (!store->unsent) store->unsent = pending;
  if (store->unsent_count++ == 0) event_active(store->flush_event, EV_TIMEOUT, 1);
  return 0;
}

static void on_ping(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  lp_store *store = privdata;
  redisReply *reply = reply_pointer;
  store->ping_pending = false;
  if (!reply || store->freeing) return;
  if (reply->type != REDIS_REPLY_STATUS) {
    /* LOADING (a restarted Redis reading its AOF), NOAUTH, ...: drop the link and try again
     * with backoff (on_disconnect), rather than sit connected and never ready. */
    count(store, LP_STORE_REDIS_ERRORS);
    LP_WARN("redis answered PING with an error: %s; reconnecting", reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
    redisAsyncDisconnect(redis);
    return;
  }
  store->ready = true;
  store->backoff_ms = 0; /* only a responsive Redis resets the reconnect backoff */
  reload_if_needed(store);
}

/* With Sentinels: the address they gave must be the primary (they may lag behind a failover). */
static void on_role(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  lp_store *store = privdata;
  redisReply *reply = reply_pointer;
  if (!reply || store->freeing) return;
  bool primary = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                 reply->element[0]->type == REDIS_REPLY_STRING && strcmp(reply->element[0]->str, "master") == 0;
  if (primary) return;
  LP_WARN("redis %s is not the primary (ROLE %s); asking the Sentinels again", store->primary,
          reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 && reply->element[0]->type == REDIS_REPLY_STRING
              ? reply->element[0]->str
              : "?");
  count(store, LP_STORE_REDIS_ERRORS);
  redisAsyncDisconnect(redis);
}

static void on_connect(const redisAsyncContext *redis, int status) {
  lp_store *store = redis->data;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this callback. */
    LP_WARN("redis connect failed: %s", redis->errstr);
    count(store, LP_STORE_CONNECT_FAILURES);
    store->redis = NULL;
    if (!store->freeing) schedule_reconnect(store);
    return;
  }
  store->connected = true;
  count(store, LP_STORE_CONNECTS);
  LP_INFO("connected to redis at %s", store->primary);
}

static void on_disconnect(const redisAsyncContext *redis, int status) {
  lp_store *store = redis->data;
  /* hiredis frees the context after this callback; in-flight commits already got NULL. */
  store->redis = NULL;
  store->connected = false;
  store->ready = false;
  need_reload(store);
  if (store->freeing) return;
  count(store, LP_STORE_DISCONNECTS);
  LP_WARN("lost the link to redis (%s); reconnecting", status == REDIS_OK ? "closed" : redis->errstr);
  schedule_reconnect(store);
}

/* Connects the async link to primary. */
static void connect_to(lp_store *store, const char *primary) {
  char error[512];
  if (store->primary[0] && strcmp(store->primary, primary) != 0) {
    count(store, LP_STORE_PRIMARY_SWITCHES);
    LP_WARN("the Sentinels name a new primary: %s (was %s)", primary, store->primary);
  }
  snprintf(store->primary, sizeof store->primary, "%s", primary);
  redisAsyncContext *redis = lp_redis_connect_async(store->config, store->base, primary, store, error, sizeof error);
  if (!redis) {
    LP_WARN("%s", error);
    count(store, LP_STORE_CONNECT_FAILURES);
    schedule_reconnect(store);
    return;
  }
  redisAsyncSetConnectCallback(redis, on_connect);
  redisAsyncSetDisconnectCallback(redis, on_disconnect);
  store->redis = redis;
  gettimeofday(&store->connect_started, NULL);
  /* Queued behind AUTH, ahead of any write: hiredis sends them once the link is up. */
  store->ping_pending = true;
  gettimeofday(&store->ping_sent, NULL);
  if (store->config->redis_sentinels[0]) redisAsyncCommand(redis, on_role, store, "ROLE");
  redisAsyncCommand(redis, on_ping, store, "PING");
}

static void on_primary(void *arg, const char *primary, const char *error) {
  lp_store *store = arg;
  store->primary_query = NULL;
  if (!primary) {
    LP_WARN("%s", error);
    count(store, LP_STORE_CONNECT_FAILURES);
    schedule_reconnect(store);
    return;
  }
  connect_to(store, primary);
}

/* Asks for the primary (with Sentinels, on async links: the loop goes on meanwhile), then
 * connects to it. */
static void connect_now(lp_store *store) {
  if (store->primary_query) return;
  store->primary_query = lp_redis_primary_async(store->config, store->base, on_primary, store);
}

static void on_reconnect_timer(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  if (!store->redis && !store->primary_query && !store->freeing) connect_now(store);
}

static void schedule_reconnect(lp_store *store) {
  store->backoff_ms = lp_redis_backoff_ms(store->backoff_ms, store->config);
  struct timeval delay = {store->backoff_ms / 1000, (store->backoff_ms % 1000) * 1000};
  evtimer_add(store->reconnect_timer, &delay);
}

/* Drops a link that does not connect or confirm in time. Runs from a timer, never from a
 * hiredis callback, so redisAsyncFree is allowed here. */
static void on_watchdog(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  long timeout = (long)store->config->redis_timeout_ms;
  if (!store->redis) return;
  bool stuck_connect = !store->connected && elapsed_ms(&store->connect_started) > timeout;
  bool stuck_write = (store->oldest && elapsed_ms(&store->oldest->sent) > timeout) ||
                     (store->ping_pending && elapsed_ms(&store->ping_sent) > timeout);
  if (!stuck_connect && !stuck_write) {
    reload_if_needed(store);
    return;
  }
  LP_WARN("redis did not %s within %ld ms; dropping the link", stuck_connect ? "connect" : "answer", timeout);
  redisAsyncContext *redis = store->redis;
  bool was_connected = store->connected;
  store->redis = NULL;
  store->connected = false;
  store->ready = false;
  need_reload(store);
  redisAsyncFree(redis); /* runs the pending callbacks with NULL and, if connected, on_disconnect */
  if (!was_connected) {
    count(store, LP_STORE_CONNECT_FAILURES);
    schedule_reconnect(store);
  }
}

/* Sends one command after every commit made so far (queued commits go out first, so that the
 * wire order is the order of commit_seq); 0, or -1 when there is no link. */
static int send_after_commits(lp_store *store, redisCallbackFn *callback, void *privdata, const char *format,
                              va_list args) {
  if (store->unsent_count > 0) flush_batch(-1, 0, store);
  if (!store->redis) return -1;
  return redisvAsyncCommand(store->redis, callback, privdata, format, args) == REDIS_OK ? 0 : -1;
}

int lp_store_read(lp_store *store, redisCallbackFn *callback, void *privdata, uint64_t *seq, const char *format, ...) {
  if (!store->redis || !store->connected || store->freeing) return -1;
  va_list args;
  va_start(args, format);
  int rc = send_after_commits(store, callback, privdata, format, args);
  va_end(args);
  *seq = store->commit_seq;
  return rc;
}

int lp_store_send(lp_store *store, redisCallbackFn *callback, void *privdata, const char *format, ...) {
  if (!store->redis || store->freeing) return -1;
  va_list args;
  va_start(args, format);
  int rc = send_after_commits(store, callback, privdata, format, args);
  va_end(args);
  return rc;
}

bool lp_store_closing(const lp_store *store) { return store->freeing; }

int lp_store_read_freshness(const lp_store *store, enum lp_kind kind, const char *key, uint64_t seq) {
  uint64_t hash = record_hash(kind, key);
  size_t slot = (size_t)(hash % LOCAL_WRITE_SLOTS);
  if (store->local_writes[slot].hash == hash)
    return store->local_writes[slot].seq > seq ? LP_READ_SUPERSEDED : LP_READ_CURRENT;
  return store->evicted_seq > seq ? LP_READ_UNSURE : LP_READ_CURRENT;
}

lp_store *lp_store_open(struct event_base *base, const lp_config *config, const lp_store_hooks *hooks) {
  lp_store *store = lp_calloc(1, sizeof *store);
  store->base = base;
  store->config = config;
  store->hooks = *hooks;
  store->reconnect_timer = evtimer_new(base, on_reconnect_timer, store);
  store->watchdog_timer = event_new(base, -1, EV_PERSIST, on_watchdog, store);
  store->flush_event = event_new(base, -1, 0, flush_batch, store);
  store->reload_done = event_new(base, -1, 0, on_reload_done, store);
  if (!store->reconnect_timer || !store->watchdog_timer || !store->flush_event || !store->reload_done) {
    lp_store_free(store);
    return NULL;
  }
  return store;
}

int lp_store_start(lp_store *store) {
  char error[256];
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  redisContext *sync = lp_redis_connect_sync(store->config, error, sizeof error);
  if (!sync || lp_redis_wait_while_loading(sync, error, sizeof error) != 0) {
    LP_ERROR("cannot load the state: %s", error);
    if (sync) redisFree(sync);
    return -1;
  }
  /* The stream position first: events after it are re-applied by lp_follow, which is harmless
   * (it re-reads records), while events before it are already in what is loaded. */
  snprintf(store->events_start, sizeof store->events_start, "0-0");
  redisReply *last = redisCommand(sync, "XREVRANGE " LP_EVENTS_STREAM " + - COUNT 1");
  if (last && last->type == REDIS_REPLY_ARRAY && last->elements == 1 && last->element[0]->type == REDIS_REPLY_ARRAY &&
      last->element[0]->elements >= 1 && last->element[0]->element[0]->type == REDIS_REPLY_STRING)
    snprintf(store->events_start, sizeof store->events_start, "%s", last->element[0]->element[0]->str);
  if (last) freeReplyObject(last);
  lp_load_timing timing = {.connect_ms = ms_since(&started)};
  lp_state fresh;
  lp_state_init(&fresh);
  int rc = lp_load_state(sync, store->hooks.prepare_load, &fresh, &timing, error, sizeof error);
  redisFree(sync);
  if (rc != 0) {
    LP_ERROR("cannot load the state: %s", error);
    lp_state_free(&fresh);
    return -1;
  }
  lp_load_log("state loaded", &timing);
  store->loaded = true;
  store->hooks.state_loaded(store->hooks.arg, &fresh, false);
  lp_state_free(&fresh); /* what it replaced: the empty state of before the first load */
  struct timeval tick = {0, 100 * 1000};
  event_add(store->watchdog_timer, &tick);
  /* The loop serves nothing yet: the Sentinels may be asked synchronously, so that the link
   * takes writes from the first call on. */
  char primary[256];
  if (lp_redis_primary(store->config, primary, sizeof primary, error, sizeof error) == 0) {
    connect_to(store, primary);
  } else {
    LP_WARN("%s", error);
    count(store, LP_STORE_CONNECT_FAILURES);
  }
  if (!store->redis) schedule_reconnect(store);
  return 0;
}

void lp_store_free(lp_store *store) {
  if (!store) return;
  store->freeing = true;
  flush_batch(-1, 0, store); /* queued commits end as outcome unknown, like sent ones */
  if (store->redis) {
    redisAsyncContext *redis = store->redis;
    store->redis = NULL;
    redisAsyncFree(redis);
  }
  lp_redis_query_cancel(store->primary_query);
  if (store->reconnect_timer) event_free(store->reconnect_timer);
  if (store->watchdog_timer) event_free(store->watchdog_timer);
  if (store->flush_event) event_free(store->flush_event);
  if (store->reload) { /* a load in its thread: wait for it (at most redis_timeout_ms per command) */
    pthread_join(store->reload->thread, NULL);
    lp_state_free(&store->reload->fresh);
    free(store->reload);
  }
  if (store->reload_done) event_free(store->reload_done);
  if (store->disposing) pthread_join(store->disposer, NULL);
  free(store->own_events);
  free(store);
}

int lp_store_commit_sync(redisContext *redis, lp_txn *txn, char *error, size_t error_size) {
  seal_events(txn);
  redisAppendCommand(redis, "MULTI");
  for (size_t i = 0; i < txn->count; i++) {
    size_t length = 0;
    const char *command = txn_command(txn, i, &length);
    redisAppendFormattedCommand(redis, command, length);
  }
  redisAppendCommand(redis, "EXEC");
  int rc = 0;
  for (size_t i = 0; i < txn->count + 2; i++) {
    void *reply_pointer = NULL;
    if (redisGetReply(redis, &reply_pointer) != REDIS_OK) {
      snprintf(error, error_size, "redis: %s", redis->errstr);
      return -1;
    }
    redisReply *reply = reply_pointer;
    if (reply->type == REDIS_REPLY_ERROR && rc == 0) {
      snprintf(error, error_size, "redis refused the write: %s", reply->str);
      rc = -1;
    }
    freeReplyObject(reply);
  }
  return rc;
}

int lp_store_load_state(redisContext *redis, lp_state *state, char *error, size_t error_size) {
  lp_load_timing timing = {0};
  return lp_load_state(redis, NULL, state, &timing, error, error_size);
}
