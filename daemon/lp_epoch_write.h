/* lp_epoch_write: writes a rematch's changes as the next epoch. The changed records are staged
 * in Redis in chunks of about rematch_write_chunk_bytes, made current in slices of a few ms of
 * Redis' time behind a promote marker (the epoch changes with the last), then put in memory in
 * slices; every step is one short loop callback, so calls are served in between. A crash
 * before the marker leaves the previous epoch current and whole; after it, the next load
 * finishes the promote (lp_rematch_finish_promote). */
#ifndef LP_EPOCH_WRITE_H
#define LP_EPOCH_WRITE_H

#include <stddef.h>

#include "leerplek.pb-c.h"
#include "lp_daemon.h"
#include "lp_redis.h"
#include "lp_state.h"

struct job;
typedef struct lp_epoch_write lp_epoch_write;

/* Called on the loop once the write has ended: 0 when the epoch is current in Redis and in
 * memory, else a StatusCode and why (memory untouched; the store holds the previous epoch, or
 * a marker the next load finishes). */
typedef void lp_epoch_written(void *arg, int code, const char *message);

/* Starts writing job's changes (re-checked against the live state at each step: a write that
 * came meanwhile wins) as epoch reply->epoch under the rematch lock lock_value; the write's
 * figures (bytes, commits, slices, times) go to reply. *running is the write until it ends.
 * 0: done is called once (maybe already); else a StatusCode with message, done is not. */
int lp_epoch_write_start(lp_daemon *daemon, struct job *job, Leerplek__V1__RematchResult *reply, const char *lock_value,
                         lp_epoch_write **running, lp_epoch_written *done, void *done_arg, char *message,
                         size_t message_size);
/* Stops a write without calling done (the daemon shuts down; NULL: nothing). */
void lp_epoch_write_abandon(lp_epoch_write *write);

/* At every load of the state (start, reload), before it is read: a promote that a crash (of
 * this or another daemon, or of Redis) interrupted is finished, with its events, so the state
 * read is the new epoch whole; it waits while the promote's own daemon still makes progress.
 * 0 (also when there was none), -1 with the reason. */
int lp_rematch_finish_promote(redisContext *redis, char *error, size_t error_size);

/* The Offer a school sees for a proposal of a pupil distance_m from vacancy. */
Leerplek__V1__Offer *lp_rematch_offer(const lp_state *state, const Leerplek__V1__Vacancy *vacancy, uint32_t distance_m);

#endif
