/* lp_store: Redis, the store of record. Writes are MULTI/EXEC blocks (record, index set, event
 * on lp:events) sent on one hiredis async connection on the daemon's event loop; the state is
 * loaded with a short-lived synchronous connection at start (before the loop serves) and, in a
 * worker thread, after a lost link. It knows only its loop, its config and its owner's hooks
 * (lp_store_hooks), and reaches Redis through lp_redis. */
#ifndef LP_STORE_H
#define LP_STORE_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp_daemon.h"
#include "lp_redis.h"

/* One MULTI/EXEC block being built. */
typedef struct lp_txn lp_txn;

lp_txn *lp_txn_new(void);
void lp_txn_free(lp_txn *txn);
/* SET lp:<kind>:<key> to the packed message and SADD key to lp:index:<kind>. */
void lp_txn_put(lp_txn *txn, enum lp_kind kind, const char *key, const ProtobufCMessage *message);
/* DEL lp:<kind>:<key> and SREM key from lp:index:<kind>. */
void lp_txn_delete(lp_txn *txn, enum lp_kind kind, const char *key);
/* SET an arbitrary key to bytes (e.g. lp:tokenhash:<id>). */
void lp_txn_set_raw(lp_txn *txn, const char *key, const void *bytes, size_t size);
/* The event log (LP_EVENTS_STREAM, lp_redis.h): one stream entry per change. */

/* XADD to lp:events: who (actor) did what (op) to which record; key may be "" (e.g. erasures
 * keep only the school). The entry carries op, kind, key (lp_follow re-reads that record) and
 * `event`, a packed leerplek.v1.Event (history and watch); the Event is completed when the
 * block is committed, so lp_txn_event_detail may still add to it until then. */
void lp_txn_event(lp_txn *txn, const char *instance_id, const char *op, enum lp_kind kind, const char *key,
                  const char *actor, long long events_max_length);
/* Appends one command (arguments copied, binary safe), e.g. a script. */
void lp_txn_command(lp_txn *txn, int argc, const void *const *argv, const size_t *lengths);
/* Records that the block writes kind/key without a SET of its own (a script moves it into
 * place), so lp_store_read_freshness knows of the write. */
void lp_txn_note_write(lp_txn *txn, enum lp_kind kind, const char *key);
/* The block's size in Redis' wire format, bytes. */
size_t lp_txn_bytes(const lp_txn *txn);
/* Adds the block's events to its commands now (lp_store_commit does it otherwise), so that
 * lp_txn_bytes counts them; no event may be added after. */
void lp_txn_seal_events(lp_txn *txn);

/* What an event says beyond op/kind/key: the fields of leerplek.v1.Event. Unset fields are NULL
 * or 0. Much is filled in without it when the block is committed: the pupil (school and ref)
 * from a pupil, placement or referral key, the vacancy from a vacancy key, the company from a
 * company key; from the records the block writes: a placement's new state, proposal, offered
 * vacancy and company (the declined ones, with the side and reason, for a decline), a
 * referral's new state and offer, a vacancy's or location's company; the actor's role and scope; `call`
 * from the op. lp_begin also sets the call's name and the record's old state. So a handler
 * only adds what the records do not say: usually a reason, sometimes a side or an epoch.
 *
 * Name a pupil only on events of that pupil's own records (pupil, placement, referral), or of
 * records an erasure may forget: erase_pupil deletes every event that names the pupil. */
typedef struct lp_event_detail {
  const char *call; /* "accept_proposal", "rematch_move", ...; NULL: the op */
  const char *school_id, *pupil_ref;
  const char *vacancy_id, *company_id;
  uint64_t proposal_id;
  const char *offer_id;                       /* a referral's support offer */
  int side;                                   /* Leerplek__V1__Side */
  int old_state, new_state;                   /* Leerplek__V1__PlacementState */
  int old_referral_state, new_referral_state; /* Leerplek__V1__ReferralState */
  const char *reason;
  uint64_t epoch;
} lp_event_detail;
/* Adds detail to the txn's last event (set fields replace earlier ones; strings are copied).
 * Call it right after lp_begin or lp_txn_event; no event yet: nothing happens. */
void lp_txn_event_detail(lp_txn *txn, const lp_event_detail *detail);
/* Another event in the same block, by the same actor and call as its first event (e.g. the
 * proposals a vacancy change releases); no first event: nothing happens. */
void lp_txn_event_like(lp_txn *txn, const char *op, enum lp_kind kind, const char *key);
/* For erase_pupil: deletes every event naming the pupil from lp:events and its history index
 * (see lp_events.h), in the same MULTI/EXEC as the erasure. */
void lp_txn_erase_history(lp_txn *txn, const char *school_id, const char *pupil_ref);
/* Always false: building a block cannot fail since allocation failure aborts (lp_alloc.h);
 * kept for the callers that still ask. */
bool lp_txn_failed(const lp_txn *txn);

/* Called exactly once per commit: status_code 0 when EXEC confirmed, else a StatusCode with a
 * message (UNAVAILABLE, DEADLINE_EXCEEDED when the outcome is unknown, INTERNAL). */
typedef void lp_commit_done(void *arg, int status_code, const char *message);

/* What the store counts as it goes (the daemon shows them on /metrics). */
enum lp_store_counter {
  LP_STORE_CONNECTS, /* links to Redis set up (the first and every reconnect) */
  LP_STORE_CONNECT_FAILURES,
  LP_STORE_DISCONNECTS,      /* links lost or dropped by the watchdog */
  LP_STORE_REDIS_ERRORS,     /* error replies from Redis (refused writes, failed PINGs) */
  LP_STORE_PRIMARY_SWITCHES, /* the Sentinels named another primary */
  LP_STORE_WAIT_SHORTFALLS,  /* writes not confirmed by redis_wait_replicas replicas */
};

/* Run before every load reads the state, on the loading thread (not always the loop) with
 * that load's synchronous link: 0, or -1 with the reason (the load fails). */
typedef int lp_store_prepare_load(redisContext *redis, char *error, size_t error_size);

/* How the store hands its results to its owner, on the loop; the store touches nothing else. */
typedef struct lp_store_hooks {
  void *arg;
  /* May be NULL. */
  lp_store_prepare_load *prepare_load;
  /* A state was loaded: the owner takes *fresh and leaves in it the state it replaces, which
   * the store frees (after a reload on a thread of its own, off the loop). reload: after a lost
   * link or failed write, else the first load in lp_store_start. */
  void (*state_loaded)(void *arg, lp_state *fresh, bool reload);
  /* One more of counter; may be NULL. */
  void (*count)(void *arg, enum lp_store_counter counter);
} lp_store_hooks;

/* A store on base with config (kept: it must outlive the store). */
lp_store *lp_store_open(struct event_base *base, const lp_config *config, const lp_store_hooks *hooks);
/* Loads the state synchronously and starts the async connection; -1 if the first load failed
 * (the reason is logged). */
int lp_store_start(lp_store *store);
/* True when writes can be sent now (a link is up or being set up, state loaded, no reload
 * pending). */
bool lp_store_writable(const lp_store *store);
/* True once the state has been loaded. */
bool lp_store_loaded(const lp_store *store);
/* True while a reload after a lost link runs (in a worker thread; the state in memory is the
 * previous one until it is done, and writes are refused meanwhile). */
bool lp_store_reloading(const lp_store *store);
/* Sends the block; done runs later. Returns -1 (txn freed, done not called) when the store is
 * not writable. Blocks queued in one loop iteration go out in one write (group commit). */
int lp_store_commit(lp_store *store, lp_txn *txn, lp_commit_done *done, void *arg);
/* The id of lp:events' last entry when the state was first loaded ("0-0" if empty). */
const char *lp_store_events_start(const lp_store *store);
/* For lp_follow: sends a read command on the write link, after every commit made so far (so
 * its reply shows them), and sets *seq to mark that point; -1 when there is no link (a reload
 * follows the reconnect anyway). */
int lp_store_read(lp_store *store, redisCallbackFn *callback, void *privdata, uint64_t *seq, const char *format, ...);
/* Sends one command on the write link, after every commit made so far, also while the link is
 * being set up (hiredis sends it once connected, behind AUTH). The callback runs once, with
 * NULL when the link drops first or the store is freed. -1 when there is no link or the store
 * is closing: the callback is then never called. For the rematch's lock and cleanup. */
int lp_store_send(lp_store *store, redisCallbackFn *callback, void *privdata, const char *format, ...);
/* True from the start of lp_store_free: the loop has stopped, the link is going. */
bool lp_store_closing(const lp_store *store);
/* Whether a read sent at seq may overwrite the in-memory record: CURRENT (no local write to it
 * since), SUPERSEDED (a local write sent later: memory is newer, and that write's own event
 * brings a new read), UNSURE (the table lost track: read again). */
enum { LP_READ_CURRENT, LP_READ_SUPERSEDED, LP_READ_UNSURE };
int lp_store_read_freshness(const lp_store *store, enum lp_kind kind, const char *key, uint64_t seq);
/* For lp_follow: whether stream entry id is an event of a commit this process made and Redis
 * confirmed while memory held what it wrote (sent since the last reload, none pending): its
 * re-read would bring back what memory already has, or older (see lp_follow.c). True once per
 * id (it is forgotten then); false when unsure (a re-read is always safe). */
bool lp_store_own_event(lp_store *store, const char *id);
/* For lp_follow, before it looks at entries: handles the replies already waiting on the write
 * link (EXEC's, with the ids of our events), as the loop would next. */
void lp_store_take_replies(lp_store *store);
/* Commits in flight. */
size_t lp_store_in_flight(const lp_store *store);
/* Closes the connection (in-flight commits are answered with errors) and frees the store. */
void lp_store_free(lp_store *store);

/* Synchronous helpers for startup and --create-admin-token, on a link from
 * lp_redis_connect_sync (lp_store_connect_sync is the same, kept for its callers). */
static inline redisContext *lp_store_connect_sync(const lp_config *config, char *error, size_t error_size) {
  return lp_redis_connect_sync(config, error, error_size);
}
int lp_store_commit_sync(redisContext *redis, lp_txn *txn, char *error, size_t error_size);
/* A whole load on redis with no prepare step (the caller runs it first if it needs one). */
int lp_store_load_state(redisContext *redis, lp_state *state, char *error, size_t error_size);

#endif
