/* lp_write: the change set, the one way a change reaches the store and memory. A change owns
 * every record of one mutation (records to write, keys to delete, its events) and either sends
 * them all in one MULTI/EXEC and puts them in memory, or frees them all. Handlers, the deadline
 * sweep and the nightly dispatch build one and hand it over. (close_school_year deletes a
 * year's placements through lp_change_txn and drops them from memory in one pass; the rematch
 * stages its epoch write in scripts of its own.)
 *
 * Memory follows at once when the block is sent, not when Redis confirms: later calls on the
 * loop see the change (as they would after the EXEC), and a block Redis refuses is answered
 * with an error while the store reloads the state (lp_store.c). */
#ifndef LP_WRITE_H
#define LP_WRITE_H

#include "lp_daemon.h"
#include "lp_store.h"

typedef struct lp_change lp_change;

/* A change whose first event is op on kind/key by actor for call (NULL: the op). The event
 * carries the record's state before the change (placements and referrals). */
lp_change *lp_change_begin(lp_daemon *daemon, const char *op, enum lp_kind kind, const char *key, const char *actor,
                           const char *call);
/* Adds to the last event (see lp_event_detail); NULL adds nothing. */
void lp_change_detail(lp_change *change, const lp_event_detail *detail);
/* Another event of the same actor and call (e.g. each proposal a vacancy change releases). */
void lp_change_event(lp_change *change, const char *op, enum lp_kind kind, const char *key);
/* Writes record (an unpacked message of kind's type) under key; the change owns it, and memory
 * gets it on commit. */
void lp_change_put(lp_change *change, enum lp_kind kind, const char *key, void *record);
/* The same where memory keeps another value than the message written (a token: its info is
 * written, the token with its hash is kept); free_value frees value when the change is not made. */
void lp_change_put_value(lp_change *change, enum lp_kind kind, const char *key, const ProtobufCMessage *written,
                         void *value, void (*free_value)(void *value));
/* Deletes the record under key, in Redis and (on commit) in memory. */
void lp_change_delete(lp_change *change, enum lp_kind kind, const char *key);
/* The block itself, for what is not a record: raw keys, scripts, more events. */
lp_txn *lp_change_txn(lp_change *change);

/* Sends the block (done(arg, ...) runs once Redis answers) and puts every record in memory;
 * 0. -1 when the store takes no writes now: nothing is sent, nothing changes in memory, done
 * is not called. Either way the change is gone (its records are memory's, or freed). */
int lp_change_commit(lp_change *change, lp_commit_done *done, void *arg);
/* Drops a change that will not be made, with every record it owns. */
void lp_change_free(lp_change *change);

#endif
