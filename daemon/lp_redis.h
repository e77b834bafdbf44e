/* lp_redis: the daemon's one way to Redis. The key names every module shares, the Redis and
 * Sentinel addresses, asking the Sentinels for the primary, connecting (synchronously for the
 * loads, which never run on a serving loop; asynchronously for the links on the loop), AUTH,
 * the reconnect backoff, and the wait while a restarted Redis reads its data. */
#ifndef LP_REDIS_H
#define LP_REDIS_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "leerplek_wire.h"
#include "lp_config.h"

/* ---- key names ---- */
/* Records: "lp:<kind>:<key>", their index sets "lp:index:<kind>"; a token's hash beside it. */
#define LP_KEY_PREFIX "lp:"
#define LP_INDEX_PREFIX "lp:index:"
#define LP_TOKENHASH_PREFIX "lp:tokenhash:"
/* The event log: one stream entry per change. */
#define LP_EVENTS_STREAM "lp:events"
/* Subject histories over lp:events (lp_events.h): "lp:history:<subject>:<id>". */
#define LP_HISTORY_PREFIX "lp:history:"
/* The last rematch's epoch and its summary (a packed RematchResult). */
#define LP_EPOCH_KEY "lp:epoch"
#define LP_REMATCH_LAST_KEY "lp:rematch:last"
/* One rematch at a time over all daemons on the store (SET NX PX). */
#define LP_REMATCH_LOCK_KEY "lp:lock:rematch"
/* The last manual proposal id issued (see lp_rematch.h). */
#define LP_MANUAL_LAST_KEY "lp:manual:last"

/* ---- addresses and the primary ---- */
/* A Redis or Sentinel address (leerplek_wire's syntax) whose host must be an IP literal:
 * hiredis resolves names with blocking getaddrinfo. 0, or -1 with the reason. */
int lp_redis_address(const char *text, leerplek_address *address, char *error, size_t error_size);
/* The Redis primary to use: `redis`, or with redis_sentinels the address the first answering
 * Sentinel gives for redis_sentinel_master (blocking, a short timeout each: for startup and
 * worker threads; a serving loop uses lp_redis_primary_async); 0 or -1 with the reasons. */
int lp_redis_primary(const lp_config *config, char *out, size_t out_size, char *error, size_t error_size);

/* The same question on async links, for a loop that serves: without redis_sentinels, done
 * runs before this returns (with `redis`) and NULL is returned; otherwise the Sentinels are
 * asked one after the other, each given at most 500 ms (less when redis_timeout_ms is), and
 * done runs once, later, on the loop with the primary, or with NULL and the reasons; the
 * query is gone once done ran. */
typedef void lp_redis_primary_done(void *arg, const char *primary, const char *error);
typedef struct lp_redis_query lp_redis_query;
lp_redis_query *lp_redis_primary_async(const lp_config *config, struct event_base *base, lp_redis_primary_done *done,
                                       void *arg);
/* Stops a query before done ran (done is then never called). Not from inside done. */
void lp_redis_query_cancel(lp_redis_query *query);

/* ---- connecting ---- */
/* A synchronous link to the primary, authenticated and (with Sentinels) checked with ROLE;
 * every command times out after redis_timeout_ms. For the loads and tools, never on a serving
 * loop. NULL with the reason. */
redisContext *lp_redis_connect_sync(const lp_config *config, char *error, size_t error_size);
/* At start: waits while a just-started Redis answers LOADING (reading its AOF), up to two
 * minutes; 0 once it answers PING, -1 with the reason. */
int lp_redis_wait_while_loading(redisContext *redis, char *error, size_t error_size);
/* An async link to address (an IP literal or a unix socket), attached to base, with data set
 * and AUTH queued first when a password is configured, so that whatever the caller queues
 * next, even before the link is up, runs authenticated. NULL with the reason. */
redisAsyncContext *lp_redis_connect_async(const lp_config *config, struct event_base *base, const char *address,
                                          void *data, char *error, size_t error_size);
/* Queues AUTH on an async link when a Redis password is configured (nothing otherwise); a
 * refusal is logged naming redis_password_file, and the commands after it fail with NOAUTH. */
void lp_redis_auth_async(redisAsyncContext *redis, const lp_config *config);
/* The next reconnect delay after previous_ms (0: the first): redis_reconnect_min_ms, doubling
 * up to redis_reconnect_max_ms. */
uint32_t lp_redis_backoff_ms(uint32_t previous_ms, const lp_config *config);

#endif
