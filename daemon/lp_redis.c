/* lp_redis: the daemon's one way to Redis (see lp_redis.h): addresses, the Sentinels,
 * connecting, AUTH and the reconnect backoff.
 *
 * hiredis 0.14 resolves host names with blocking getaddrinfo and has no connect timeout for
 * async links: addresses must be IP literals or unix sockets (lp_redis_address), and the
 * owners of async links drop one that does not connect in time (lp_store's watchdog). */
#include "lp_redis.h"

#include <hiredis/adapters/libevent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_log.h"

/* Each Sentinel gets this long (at most redis_timeout_ms) to answer; they are asked one after
 * the other: on async links while a link reconnects (lp_redis_primary_async), synchronously
 * only before the loop serves or on a loading thread (lp_redis_primary). */
enum { SENTINEL_TIMEOUT_MS = 500 };

int lp_redis_address(const char *text, leerplek_address *address, char *error, size_t error_size) {
  char reason[300];
  if (leerplek_address_parse(text, address, reason, sizeof reason) != 0) {
    snprintf(error, error_size, "redis address %.200s", reason);
    return -1;
  }
  if (!address->is_unix && !address->host_is_ip) {
    snprintf(error, error_size,
             "redis address '%.120s': give an IP address or unix:/path, not a name "
             "(hiredis would resolve it blocking the event loop)",
             text);
    return -1;
  }
  return 0;
}

/* "ip:port" from one Sentinel (SENTINEL get-master-addr-by-name), or -1 with the reason. */
static int ask_sentinel(const lp_config *config, const char *sentinel, char *out, size_t out_size, char *error,
                        size_t error_size) {
  leerplek_address address;
  if (lp_redis_address(sentinel, &address, error, error_size) != 0) return -1;
  uint32_t ms = config->redis_timeout_ms < SENTINEL_TIMEOUT_MS ? config->redis_timeout_ms : SENTINEL_TIMEOUT_MS;
  struct timeval timeout = {ms / 1000, (ms % 1000) * 1000};
  redisContext *redis = address.is_unix ? redisConnectUnixWithTimeout(address.host, timeout)
                                        : redisConnectWithTimeout(address.host, address.port_number, timeout);
  if (!redis || redis->err) {
    snprintf(error, error_size, "%s", redis ? redis->errstr : "out of memory");
    if (redis) redisFree(redis);
    return -1;
  }
  redisSetTimeout(redis, timeout);
  int rc = -1;
  redisReply *reply = NULL;
  if (config->redis_sentinel_password[0]) {
    reply = redisCommand(redis, "AUTH %s", config->redis_sentinel_password);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      snprintf(error, error_size, "refused AUTH with the password in %.120s: %.100s",
               config->redis_sentinel_password_file, reply ? reply->str : redis->errstr);
      goto done;
    }
    freeReplyObject(reply);
  }
  reply = redisCommand(redis, "SENTINEL get-master-addr-by-name %s", config->redis_sentinel_master);
  if (!reply) {
    snprintf(error, error_size, "%s", redis->errstr);
  } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
    const char *ip = reply->element[0]->str;
    snprintf(out, out_size, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, reply->element[1]->str);
    rc = 0;
  } else if (reply->type == REDIS_REPLY_NIL) {
    snprintf(error, error_size, "monitors no master named '%s' (redis_sentinel_master)", config->redis_sentinel_master);
  } else {
    snprintf(error, error_size, "%.200s", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
  }
done:
  if (reply) freeReplyObject(reply);
  redisFree(redis);
  return rc;
}

int lp_redis_primary(const lp_config *config, char *out, size_t out_size, char *error, size_t error_size) {
  if (!config->redis_sentinels[0]) {
    snprintf(out, out_size, "%s", config->redis);
    return 0;
  }
  char list[sizeof config->redis_sentinels], reasons[1024] = "";
  snprintf(list, sizeof list, "%s", config->redis_sentinels);
  size_t used = 0;
  char *saved = NULL;
  for (char *sentinel = strtok_r(list, ", ", &saved); sentinel; sentinel = strtok_r(NULL, ", ", &saved)) {
    char reason[260];
    if (ask_sentinel(config, sentinel, out, out_size, reason, sizeof reason) == 0) return 0;
    int n = snprintf(reasons + used, sizeof reasons - used, "%s%s: %s", used ? "; " : "", sentinel, reason);
    if (n > 0) used = used + (size_t)n < sizeof reasons ? used + (size_t)n : sizeof reasons - 1;
  }
  snprintf(error, error_size, "no Sentinel of redis_sentinels named the primary of '%s' (%s)",
           config->redis_sentinel_master, reasons[0] ? reasons : "the list is empty");
  return -1;
}

redisContext *lp_redis_connect_sync(const lp_config *config, char *error, size_t error_size) {
  char primary[256];
  leerplek_address address;
  if (lp_redis_primary(config, primary, sizeof primary, error, error_size) != 0) return NULL;
  if (lp_redis_address(primary, &address, error, error_size) != 0) return NULL;
  struct timeval timeout = {config->redis_timeout_ms / 1000, (config->redis_timeout_ms % 1000) * 1000};
  redisContext *redis = address.is_unix ? redisConnectUnixWithTimeout(address.host, timeout)
                                        : redisConnectWithTimeout(address.host, address.port_number, timeout);
  if (!redis) {
    snprintf(error, error_size, "redis %s: out of memory", primary);
    return NULL;
  }
  if (redis->err) {
    snprintf(error, error_size, "redis %s: %s", primary, redis->errstr);
    redisFree(redis);
    return NULL;
  }
  redisSetTimeout(redis, timeout);
  if (config->redis_password[0]) {
    redisReply *reply = redisCommand(redis, "AUTH %s", config->redis_password);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      snprintf(error, error_size, "redis %s refused AUTH with the password in %s: %s", primary,
               config->redis_password_file, reply ? reply->str : redis->errstr);
      if (reply) freeReplyObject(reply);
      redisFree(redis);
      return NULL;
    }
    freeReplyObject(reply);
  }
  if (config->redis_sentinels[0]) {
    redisReply *role = redisCommand(redis, "ROLE");
    bool primary_role = role && role->type == REDIS_REPLY_ARRAY && role->elements > 0 &&
                        role->element[0]->type == REDIS_REPLY_STRING && strcmp(role->element[0]->str, "master") == 0;
    if (role) freeReplyObject(role);
    if (!primary_role) {
      snprintf(error, error_size, "redis %s, named by the Sentinels, is not the primary (yet)", primary);
      redisFree(redis);
      return NULL;
    }
  }
  return redis;
}

static void on_auth(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  const char *password_file = privdata;
  redisReply *reply = reply_pointer;
  if (reply && reply->type == REDIS_REPLY_ERROR)
    LP_ERROR("redis refused AUTH with the password in %s: %s", password_file, reply->str);
}

void lp_redis_auth_async(redisAsyncContext *redis, const lp_config *config) {
  if (config->redis_password[0] == '\0') return;
  redisAsyncCommand(redis, on_auth, (void *)config->redis_password_file, "AUTH %s", config->redis_password);
}

/* A Redis that was just (re)started answers LOADING until its AOF is read. At startup the
 * daemon serves nothing yet, so it waits here (up to STARTUP_LOADING_WAIT_MS). 0 when Redis
 * answers PING, -1 with the reason. */
enum { STARTUP_LOADING_WAIT_MS = 120000 };
/* Asked this often: readiness follows the end of Redis' load closely. */
enum { LOADING_POLL_MS = 20 };

int lp_redis_wait_while_loading(redisContext *sync, char *error, size_t error_size) {
  for (long waited_ms = 0;; waited_ms += LOADING_POLL_MS) {
    redisReply *reply = redisCommand(sync, "PING");
    if (!reply) {
      snprintf(error, error_size, "redis PING: %s", sync->errstr);
      return -1;
    }
    bool loading = reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "LOADING", 7) == 0;
    if (!loading && reply->type == REDIS_REPLY_ERROR) {
      snprintf(error, error_size, "redis PING: %.200s", reply->str);
      freeReplyObject(reply);
      return -1;
    }
    freeReplyObject(reply);
    if (!loading) return 0;
    if (waited_ms >= STARTUP_LOADING_WAIT_MS) {
      snprintf(error, error_size, "redis is still loading its data after %d s", STARTUP_LOADING_WAIT_MS / 1000);
      return -1;
    }
    if (waited_ms % 5000 == 0) LP_INFO("redis is loading its data; waiting");
    struct timespec pause = {0, LOADING_POLL_MS * 1000L * 1000L};
    nanosleep(&pause, NULL);
  }
}

redisAsyncContext *lp_redis_connect_async(const lp_config *config, struct event_base *base, const char *text,
                                          void *data, char *error, size_t error_size) {
  leerplek_address address;
  if (lp_redis_address(text, &address, error, error_size) != 0) return NULL;
  redisAsyncContext *redis =
      address.is_unix ? redisAsyncConnectUnix(address.host) : redisAsyncConnect(address.host, address.port_number);
  if (!redis) {
    snprintf(error, error_size, "redis connect to %s: out of memory", text);
    return NULL;
  }
  if (redis->err) {
    snprintf(error, error_size, "redis connect to %s: %s", text, redis->errstr);
    redisAsyncFree(redis);
    return NULL;
  }
  redis->data = data;
  redisLibeventAttach(redis, base);
  /* hiredis sends what is queued once the link is up, in order: AUTH goes first. */
  lp_redis_auth_async(redis, config);
  return redis;
}

uint32_t lp_redis_backoff_ms(uint32_t previous_ms, const lp_config *config) {
  if (previous_ms == 0) return config->redis_reconnect_min_ms;
  if (previous_ms < config->redis_reconnect_max_ms / 2) return previous_ms * 2;
  return config->redis_reconnect_max_ms;
}

/* ---- the Sentinels, asked on async links ---- */

struct lp_redis_query {
  const lp_config *config;
  struct event_base *base;
  lp_redis_primary_done *done;
  void *arg;
  char list[sizeof((lp_config *)0)->redis_sentinels];
  char *cursor;             /* strtok_r's place in list */
  const char *sentinel;     /* the one being asked */
  redisAsyncContext *redis; /* its link; NULL between Sentinels */
  struct event *step;       /* its timeout, or (0 s) the next step outside hiredis' callbacks */
  char auth_error[260];
  char reasons[1024];
  size_t used;
  bool finished;
  char primary[256];
};

static void add_reason(lp_redis_query *query, const char *reason) {
  int n = snprintf(query->reasons + query->used, sizeof query->reasons - query->used, "%s%s: %s",
                   query->used ? "; " : "", query->sentinel, reason);
  if (n > 0)
    query->used = query->used + (size_t)n < sizeof query->reasons ? query->used + (size_t)n : sizeof query->reasons - 1;
}

/* Leaves the current Sentinel's link (from a hiredis callback or not) and runs the next step
 * from the timer, never inside hiredis. */
static void leave_sentinel(lp_redis_query *query, bool disconnect) {
  redisAsyncContext *redis = query->redis;
  query->redis = NULL;
  if (redis) {
    redis->data = NULL;                          /* its remaining callbacks see no query */
    if (disconnect) redisAsyncDisconnect(redis); /* inside a callback hiredis defers it */
  }
  static const struct timeval now = {0, 0};
  evtimer_add(query->step, &now);
}

static void on_sentinel_auth(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)privdata;
  lp_redis_query *query = redis->data;
  redisReply *reply = reply_pointer;
  if (query && reply && reply->type == REDIS_REPLY_ERROR)
    snprintf(query->auth_error, sizeof query->auth_error, "refused AUTH with the password in %.120s: %.60s",
             query->config->redis_sentinel_password_file, reply->str);
}

static void on_sentinel_reply(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)privdata;
  lp_redis_query *query = redis->data;
  redisReply *reply = reply_pointer;
  if (!query || query->redis != redis) return;
  if (query->auth_error[0]) {
    add_reason(query, query->auth_error);
  } else if (!reply) {
    add_reason(query, redis->errstr[0] ? redis->errstr : "lost the link");
  } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
             reply->element[0]->type == REDIS_REPLY_STRING && reply->element[1]->type == REDIS_REPLY_STRING) {
    const char *ip = reply->element[0]->str;
    snprintf(query->primary, sizeof query->primary, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, reply->element[1]->str);
    query->finished = true;
  } else if (reply->type == REDIS_REPLY_NIL) {
    char reason[300];
    snprintf(reason, sizeof reason, "monitors no master named '%s' (redis_sentinel_master)",
             query->config->redis_sentinel_master);
    add_reason(query, reason);
  } else {
    add_reason(query, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
  }
  leave_sentinel(query, reply != NULL); /* NULL: hiredis is already taking the link down */
}

static void on_sentinel_connect(const redisAsyncContext *redis, int status) {
  lp_redis_query *query = redis->data;
  if (status == REDIS_OK || !query || query->redis != redis) return;
  /* hiredis frees the context after this callback. */
  add_reason(query, redis->errstr);
  query->redis = NULL;
  static const struct timeval now = {0, 0};
  evtimer_add(query->step, &now);
}

static void on_sentinel_disconnect(const redisAsyncContext *redis, int status) {
  (void)status;
  lp_redis_query *query = redis->data;
  if (!query || query->redis != redis) return;
  /* Dropped before it answered (its callback already ran with NULL and moved on). */
  query->redis = NULL;
}

/* Connects to the next Sentinel; false when none is left. */
static bool ask_next_sentinel(lp_redis_query *query) {
  for (;;) {
    query->sentinel = strtok_r(query->cursor ? NULL : query->list, ", ", &query->cursor);
    if (!query->sentinel) return false;
    query->auth_error[0] = '\0';
    leerplek_address address;
    char error[300];
    if (lp_redis_address(query->sentinel, &address, error, sizeof error) != 0) {
      add_reason(query, error);
      continue;
    }
    redisAsyncContext *redis =
        address.is_unix ? redisAsyncConnectUnix(address.host) : redisAsyncConnect(address.host, address.port_number);
    if (!redis || redis->err) {
      add_reason(query, redis ? redis->errstr : "out of memory");
      if (redis) redisAsyncFree(redis);
      continue;
    }
    redis->data = query;
    redisLibeventAttach(redis, query->base);
    redisAsyncSetConnectCallback(redis, on_sentinel_connect);
    redisAsyncSetDisconnectCallback(redis, on_sentinel_disconnect);
    if (query->config->redis_sentinel_password[0])
      redisAsyncCommand(redis, on_sentinel_auth, NULL, "AUTH %s", query->config->redis_sentinel_password);
    redisAsyncCommand(redis, on_sentinel_reply, NULL, "SENTINEL get-master-addr-by-name %s",
                      query->config->redis_sentinel_master);
    query->redis = redis;
    uint32_t ms =
        query->config->redis_timeout_ms < SENTINEL_TIMEOUT_MS ? query->config->redis_timeout_ms : SENTINEL_TIMEOUT_MS;
    struct timeval timeout = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(query->step, &timeout);
    return true;
  }
}

static void finish_query(lp_redis_query *query) {
  char error[1400];
  if (!query->finished)
    snprintf(error, sizeof error, "no Sentinel of redis_sentinels named the primary of '%s' (%s)",
             query->config->redis_sentinel_master, query->reasons[0] ? query->reasons : "the list is empty");
  lp_redis_primary_done *done = query->done;
  void *arg = query->arg;
  char primary[256];
  snprintf(primary, sizeof primary, "%s", query->primary);
  bool found = query->finished;
  lp_redis_query_cancel(query);
  done(arg, found ? primary : NULL, found ? NULL : error);
}

/* The step timer: a Sentinel that did not answer in time, or the next step after one did. */
static void on_query_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lp_redis_query *query = arg;
  if (query->redis) { /* timed out */
    add_reason(query, "no answer in time");
    redisAsyncContext *redis = query->redis;
    query->redis = NULL;
    redis->data = NULL;
    redisAsyncFree(redis); /* from a timer, not a hiredis callback: allowed */
  }
  if (query->finished || !ask_next_sentinel(query)) finish_query(query);
}

lp_redis_query *lp_redis_primary_async(const lp_config *config, struct event_base *base, lp_redis_primary_done *done,
                                       void *arg) {
  if (!config->redis_sentinels[0]) {
    done(arg, config->redis, NULL);
    return NULL;
  }
  lp_redis_query *query = lp_calloc(1, sizeof *query);
  query->step = evtimer_new(base, on_query_step, query);
  if (!query->step) {
    free(query);
    done(arg, NULL, "out of memory asking the Sentinels");
    return NULL;
  }
  query->config = config;
  query->base = base;
  query->done = done;
  query->arg = arg;
  snprintf(query->list, sizeof query->list, "%s", config->redis_sentinels);
  static const struct timeval now = {0, 0};
  evtimer_add(query->step, &now); /* done never runs inside this call when Sentinels are asked */
  return query;
}

void lp_redis_query_cancel(lp_redis_query *query) {
  if (!query) return;
  if (query->redis) {
    redisAsyncContext *redis = query->redis;
    query->redis = NULL;
    redis->data = NULL;
    redisAsyncFree(redis);
  }
  event_free(query->step);
  free(query);
}
