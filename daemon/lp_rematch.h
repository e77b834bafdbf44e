/* lp_rematch: the rematch. A snapshot of the working set taken on the event loop becomes plain
 * eligibility arrays; a worker thread builds the problem, solves it (warm from the previous
 * rematch), verifies it and explains every unplaced pupil; the loop then stages the changes and
 * makes them current in bounded slices with a new epoch, under a Redis lock shared by every
 * daemon on the store. */
#ifndef LP_REMATCH_H
#define LP_REMATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "eligibility.h"
#include "leerplek.pb-c.h"
#include "lp_daemon.h"
#include "lp_epoch_write.h" /* lp_rematch_finish_promote, lp_rematch_offer */
#include "lp_redis.h"

typedef struct lp_rematch lp_rematch;

/* Reads the last epoch and rematch summary from Redis (before the loop serves, on a short link
 * of its own) and arms the nightly timer (a store that cannot be reached now is read at the
 * first rematch; logged). NULL when libevent refuses an
 * event. One per daemon (see lp_rematch_of). */
lp_rematch *lp_rematch_new(lp_daemon *daemon);
/* Waits for a running worker, frees everything. */
void lp_rematch_free(lp_rematch *rematch);
/* What runs after a nightly rematch this daemon applied (main wires the referrals' nightly
 * dispatch, lp_referrals_dispatch_nightly: the rematch knows nothing of the handlers). */
typedef void lp_after_nightly(lp_daemon *daemon, long long now);
void lp_rematch_set_after_nightly(lp_rematch *rematch, lp_after_nightly *after);
/* The daemon's rematch module (handlers find it here: one daemon per process). */
lp_rematch *lp_rematch_of(const lp_daemon *daemon);

/* Called on the loop once: code 0 with the result (owned by the module, valid during the call),
 * else a StatusCode and a message. */
typedef void lp_rematch_done(void *arg, int code, const char *message, const Leerplek__V1__RematchResult *result);

/* Asks Redis for the lock (on the store's link, without waiting); once it is ours, takes the
 * snapshot and starts the worker. 0, or a StatusCode with message (ABORTED when a rematch runs
 * on this daemon, UNAVAILABLE without a link to Redis); done is then not called. After 0, done
 * also reports a lock held by another daemon (ABORTED) or a Redis that does not answer within
 * redis_timeout_ms (UNAVAILABLE). */
int lp_rematch_start(lp_rematch *rematch, bool dry_run, uint32_t max_changes, const char *actor, lp_rematch_done *done,
                     void *arg, char *message, size_t message_size);
bool lp_rematch_running(const lp_rematch *rematch);
/* The summary of the last applied rematch (no changes), NULL if none. */
const Leerplek__V1__RematchResult *lp_rematch_last(const lp_rematch *rematch);

/* Proposal ids, unique over all time: a rematch of epoch E issues (E << 24) | n, n from 1 (below
 * LP_MANUAL_ID_BIT: a rematch proposes fewer than 2^23 pupils); place_pupil issues
 * (E << 24) | LP_MANUAL_ID_BIT | m after the last manual id, kept in LP_MANUAL_LAST_KEY (the
 * caller writes it in the same MULTI/EXEC), with E the newest epoch seen. manual_seen is the
 * largest manual id a current placement holds (one another daemon on the store issued, as far
 * as this one has followed; two daemons placing by hand in the same instant could still pick
 * the same id: coordinators place by hand on one daemon, as they run rematches on one). */
#define LP_MANUAL_ID_BIT (1u << 23)
/* LP_MANUAL_LAST_KEY: lp_redis.h, with the other key names. */
uint64_t lp_rematch_manual_id(lp_rematch *rematch, uint64_t epoch_seen, uint64_t manual_seen);
/* Whether id is one a rematch or place_pupil could have issued so far (a stale id, when no
 * placement holds it). */
bool lp_rematch_issued(const lp_rematch *rematch, uint64_t id, uint64_t epoch_seen);

#endif
