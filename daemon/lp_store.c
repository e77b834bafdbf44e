/* lp_store: Redis via hiredis. Writes: the mutations committed during one loop iteration go
 * out as one MULTI/EXEC on an async connection attached to the daemon's libevent loop (each
 * mutation stays atomic: it is inside that transaction); a client's reply is sent only when
 * EXEC came back, and each commit is judged by the replies to its own commands. Loading: a synchronous connection reads every index set and record.
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
 * Group commit: lp_store_commit only queues the block and activates flush_event, which runs
 * after the callbacks already active in this loop iteration (every connection that was
 * readable): it sends MULTI, every queued command and EXEC in one write and one round trip,
 * which saves Redis and hiredis two commands per mutation. */
#include "lp_store.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_log.h"

/* ---- transactions ---------------------------------------------------------------------- */

/* A block is kept already in Redis' wire format (RESP), one buffer per block, so building it
 * costs no allocation per argument and sending it no formatting: flush_batch and
 * lp_store_commit_sync hand each command to hiredis as a formatted command. */
struct lp_txn {
  char *wire;                   /* the commands in RESP, back to back */
  size_t length;
  size_t capacity;
  size_t *ends;                 /* where each command ends in wire */
  size_t count;
  size_t ends_capacity;
};

lp_txn *lp_txn_new(void) { return lp_calloc(1, sizeof(lp_txn)); }

void lp_txn_free(lp_txn *txn) {
  if (!txn) return;
  free(txn->wire);
  free(txn->ends);
  free(txn);
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

void lp_txn_put(lp_txn *txn, enum lp_kind kind, const char *key, const ProtobufCMessage *message) {
  char record_key[256], index_key[64];
  snprintf(record_key, sizeof record_key, "lp:%s:%s", lp_kind_name(kind), key);
  snprintf(index_key, sizeof index_key, "lp:index:%s", lp_kind_name(kind));
  size_t size = protobuf_c_message_get_packed_size(message);
  uint8_t *bytes = lp_malloc(size);
  protobuf_c_message_pack(message, bytes);
  const void *set_argv[3] = {"SET", record_key, bytes};
  size_t set_lengths[3] = {3, strlen(record_key), size};
  add_command(txn, 3, set_argv, set_lengths);
  free(bytes);
  const char *index_argv[3] = {"SADD", index_key, key};
  add_strings(txn, 3, index_argv);
}

void lp_txn_delete(lp_txn *txn, enum lp_kind kind, const char *key) {
  char record_key[256], index_key[64];
  snprintf(record_key, sizeof record_key, "lp:%s:%s", lp_kind_name(kind), key);
  snprintf(index_key, sizeof index_key, "lp:index:%s", lp_kind_name(kind));
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

void lp_txn_event(lp_txn *txn, const char *instance_id, const char *op, enum lp_kind kind,
                  const char *key, const char *actor, long long events_max_length) {
  char max_length[32];
  snprintf(max_length, sizeof max_length, "%lld", events_max_length);
  const char *argv[16] = {"XADD", "lp:events", "MAXLEN", "~", max_length, "*",
                          "instance", instance_id, "op", op, "kind", lp_kind_name(kind),
                          "key", key, "actor", actor};
  /* The stream id Redis assigns ("<unix ms>-<seq>") is the event's time. */
  add_strings(txn, 16, argv);
}

/* ---- the async connection -------------------------------------------------------------- */

typedef struct pending_commit {
  lp_commit_done *done;
  void *arg;
  lp_txn *txn;                  /* until flush_batch sends it */
  size_t commands;              /* its commands inside the EXEC reply */
  struct timeval sent;
  lp_store *store;
  struct pending_commit *next, *previous; /* in-flight list, oldest first */
} pending_commit;

struct lp_store {
  lp_daemon *daemon;
  redisAsyncContext *redis;     /* NULL while disconnected */
  bool connected;
  bool ready;                   /* the connection answered PING: Redis is responsive */
  bool ping_pending;
  struct timeval ping_sent;
  bool loaded;
  bool reload_needed;
  bool freeing;
  struct timeval connect_started;
  uint32_t backoff_ms;
  struct event *reconnect_timer;
  struct event *watchdog_timer;
  pending_commit *oldest, *newest;
  size_t in_flight;             /* queued (not yet sent) and sent commits */
  pending_commit *unsent;       /* first queued commit not yet sent; the rest follow it */
  size_t unsent_count;
  struct event *flush_event;
  char events_start[64];        /* lp:events' last id just before the first load */
};

const char *lp_store_events_start(const lp_store *store) { return store->events_start; }

static void schedule_reconnect(lp_store *store);

bool lp_store_loaded(const lp_store *store) { return store->loaded; }

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

/* Reloads the working set from Redis when a lost link or failed EXEC left memory unsure.
 * Only with nothing in flight, so every acknowledged write is in what is loaded, and only once
 * the async link has answered a PING: the load is synchronous, and a hung Redis must not
 * block the event loop (reads keep being served from memory meanwhile). */
static void reload_if_needed(lp_store *store) {
  if (!store->reload_needed || store->in_flight > 0 || !store->connected || !store->ready) return;
  char error[256];
  redisContext *sync = lp_store_connect_sync(&store->daemon->config, error, sizeof error);
  if (!sync) {
    LP_WARN("reload from redis: %s", error);
    return;
  }
  lp_state fresh;
  lp_state_init(&fresh);
  if (lp_store_load_state(sync, &fresh, error, sizeof error) != 0) {
    LP_WARN("reload from redis: %s", error);
    lp_state_free(&fresh);
    redisFree(sync);
    return;
  }
  redisFree(sync);
  lp_state_free(&store->daemon->state);
  store->daemon->state = fresh;
  store->reload_needed = false;
  store->loaded = true;
  LP_INFO("state reloaded from redis");
}

static void unlink_pending(lp_store *store, pending_commit *pending) {
  if (pending->previous) pending->previous->next = pending->next;
  else store->oldest = pending->next;
  if (pending->next) pending->next->previous = pending->previous;
  else store->newest = pending->previous;
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
  free(pending);
}

/* EXEC's reply for a batch of commits (their number is privdata): the oldest in flight, since
 * Redis answers in order. A commit whose own commands all succeeded is confirmed. */
static void on_exec_reply(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  lp_store *store = redis->data;
  size_t commits = (size_t)(uintptr_t)privdata;
  redisReply *reply = reply_pointer;
  size_t element = 0;
  for (size_t c = 0; c < commits && store->oldest; c++) {
    int code = 0;
    char message[300] = "";
    size_t commands = store->oldest->commands;
    if (!reply) {
      /* The link dropped (or the store is being freed) after the block was handed to hiredis. */
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED;
      snprintf(message, sizeof message, "lost the link to the store before it confirmed the write; "
               "the change may or may not have been made: re-read");
      store->reload_needed = true;
    } else if (reply->type == REDIS_REPLY_ARRAY && element + commands <= reply->elements) {
      for (size_t i = element; i < element + commands; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ERROR) {
          code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
          store->daemon->metrics.redis_errors++;
          snprintf(message, sizeof message, "store refused part of the write: %.200s", reply->element[i]->str);
          store->reload_needed = true;
          break;
        }
      }
    } else {
      code = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
      store->daemon->metrics.redis_errors++;
      snprintf(message, sizeof message, "store refused the write: %.200s",
               reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply to EXEC");
      store->reload_needed = true;
    }
    element += commands;
    finish_oldest(store, code, message);
  }
  /* After a NULL reply the link is going down; the reload waits for the reconnect. */
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
  int rc = store->redis && !store->freeing ? redisAsyncCommand(store->redis, NULL, NULL, "MULTI") : REDIS_ERR;
  for (pending_commit *pending = first; pending && rc == REDIS_OK; pending = pending->next) {
    lp_txn *txn = pending->txn;
    for (size_t i = 0; i < txn->count && rc == REDIS_OK; i++) {
      size_t length = 0;
      const char *command = txn_command(txn, i, &length);
      rc = redisAsyncFormattedCommand(store->redis, NULL, NULL, command, length);
    }
    pending->txn = NULL;
    lp_txn_free(txn);
  }
  if (rc == REDIS_OK) rc = redisAsyncCommand(store->redis, on_exec_reply, (void *)(uintptr_t)commits, "EXEC");
  if (rc == REDIS_OK) return;
  /* Not sent whole (link down or going down, out of memory): outcome unknown, as for a lost
   * link; Redis discards a half-sent MULTI block when the link is reset. These are the newest
   * commits: anything older is already with hiredis. */
  LP_WARN("could not send %zu writes to redis", commits);
  store->reload_needed = true;
  while (store->newest && commits-- > 0) {
    pending_commit *pending = store->newest;
    unlink_pending(store, pending);
    lp_txn_free(pending->txn);
    pending->done(pending->arg, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED,
                  "lost the link to the store before it confirmed the write; "
                  "the change may or may not have been made: re-read");
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
  pending->commands = txn->count;
  gettimeofday(&pending->sent, NULL);
  pending->previous = store->newest;
  if (store->newest) store->newest->next = pending;
  else store->oldest = pending;
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
    store->daemon->metrics.redis_errors++;
    LP_WARN("redis answered PING with an error: %s; reconnecting", reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
    redisAsyncDisconnect(redis);
    return;
  }
  store->ready = true;
  store->backoff_ms = 0; /* only a responsive Redis resets the reconnect backoff */
  reload_if_needed(store);
}

static void on_auth(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  const char *password_file = privdata;
  redisReply *reply = reply_pointer;
  if (reply && reply->type == REDIS_REPLY_ERROR)
    LP_ERROR("redis refused AUTH with the password in %s: %s", password_file, reply->str);
}

void lp_store_auth_async(redisAsyncContext *redis, const lp_config *config) {
  if (config->redis_password[0] == '\0') return;
  redisAsyncCommand(redis, on_auth, (void *)config->redis_password_file, "AUTH %s", config->redis_password);
}

static void on_connect(const redisAsyncContext *redis, int status) {
  lp_store *store = redis->data;
  if (status != REDIS_OK) {
    /* hiredis frees the context after this callback. */
    LP_WARN("redis connect failed: %s", redis->errstr);
    store->daemon->metrics.redis_connect_failures++;
    store->redis = NULL;
    if (!store->freeing) schedule_reconnect(store);
    return;
  }
  store->connected = true;
  store->daemon->metrics.redis_connects++;
  LP_INFO("connected to redis at %s", store->daemon->config.redis);
  store->ping_pending = true;
  gettimeofday(&store->ping_sent, NULL);
  lp_store_auth_async(store->redis, &store->daemon->config);
  redisAsyncCommand(store->redis, on_ping, store, "PING");
}

static void on_disconnect(const redisAsyncContext *redis, int status) {
  lp_store *store = redis->data;
  /* hiredis frees the context after this callback; in-flight commits already got NULL. */
  store->redis = NULL;
  store->connected = false;
  store->ready = false;
  store->reload_needed = true;
  if (store->freeing) return;
  store->daemon->metrics.redis_disconnects++;
  LP_WARN("lost the link to redis (%s); reconnecting", status == REDIS_OK ? "closed" : redis->errstr);
  schedule_reconnect(store);
}

/* Splits "unix:/path" or "ip:port" (IPv4 or [IPv6]); IP literals only, since hiredis resolves
 * names with blocking getaddrinfo. */
static int parse_redis_address(const char *address, char *host, size_t host_size, int *port,
                               bool *is_unix, char *error, size_t error_size) {
  if (strncmp(address, "unix:", 5) == 0) {
    *is_unix = true;
    if (strlen(address + 5) >= host_size || address[5] == '\0') {
      snprintf(error, error_size, "redis unix socket path is empty or too long");
      return -1;
    }
    strcpy(host, address + 5);
    return 0;
  }
  *is_unix = false;
  const char *colon = strrchr(address, ':');
  const char *start = address, *end = colon;
  if (address[0] == '[') {
    start = address + 1;
    end = strchr(address, ']');
    if (!end || end[1] != ':') end = NULL;
    else colon = end + 1;
  }
  if (!colon || !end || end <= start || (size_t)(end - start) >= host_size) {
    snprintf(error, error_size, "redis address '%.120s': expected ip:port or unix:/path", address);
    return -1;
  }
  memcpy(host, start, (size_t)(end - start));
  host[end - start] = '\0';
  char *port_end = NULL;
  long number = strtol(colon + 1, &port_end, 10);
  if (colon[1] == '\0' || *port_end != '\0' || number < 1 || number > 65535) {
    snprintf(error, error_size, "redis address '%.120s': bad port", address);
    return -1;
  }
  unsigned char probe[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host, probe) != 1 && inet_pton(AF_INET6, host, probe) != 1) {
    snprintf(error, error_size, "redis address '%.120s': give an IP address or unix:/path, not a name "
             "(hiredis would resolve it blocking the event loop)", address);
    return -1;
  }
  *port = (int)number;
  return 0;
}

static void connect_now(lp_store *store) {
  char host[256], error[256];
  int port = 0;
  bool is_unix = false;
  if (parse_redis_address(store->daemon->config.redis, host, sizeof host, &port, &is_unix, error,
                          sizeof error) != 0) {
    LP_ERROR("%s", error);
    return;
  }
  redisAsyncContext *redis = is_unix ? redisAsyncConnectUnix(host) : redisAsyncConnect(host, port);
  if (!redis) {
    LP_WARN("redis connect: out of memory");
    schedule_reconnect(store);
    return;
  }
  if (redis->err) {
    LP_WARN("redis connect to %s: %s", store->daemon->config.redis, redis->errstr);
    store->daemon->metrics.redis_connect_failures++;
    redisAsyncFree(redis);
    schedule_reconnect(store);
    return;
  }
  redis->data = store;
  redisLibeventAttach(redis, store->daemon->base);
  redisAsyncSetConnectCallback(redis, on_connect);
  redisAsyncSetDisconnectCallback(redis, on_disconnect);
  store->redis = redis;
  gettimeofday(&store->connect_started, NULL);
}

static void on_reconnect_timer(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  if (!store->redis && !store->freeing) connect_now(store);
}

static void schedule_reconnect(lp_store *store) {
  const lp_config *config = &store->daemon->config;
  if (store->backoff_ms == 0) store->backoff_ms = config->redis_reconnect_min_ms;
  else if (store->backoff_ms < config->redis_reconnect_max_ms / 2) store->backoff_ms *= 2;
  else store->backoff_ms = config->redis_reconnect_max_ms;
  struct timeval delay = {store->backoff_ms / 1000, (store->backoff_ms % 1000) * 1000};
  evtimer_add(store->reconnect_timer, &delay);
}

/* Drops a link that does not connect or confirm in time. Runs from a timer, never from a
 * hiredis callback, so redisAsyncFree is allowed here. */
static void on_watchdog(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  lp_store *store = arg;
  long timeout = (long)store->daemon->config.redis_timeout_ms;
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
  store->reload_needed = true;
  redisAsyncFree(redis); /* runs the pending callbacks with NULL and, if connected, on_disconnect */
  if (!was_connected) {
    store->daemon->metrics.redis_connect_failures++;
    schedule_reconnect(store);
  }
}

lp_store *lp_store_new(lp_daemon *daemon) {
  lp_store *store = lp_calloc(1, sizeof *store);
  store->daemon = daemon;
  store->reconnect_timer = evtimer_new(daemon->base, on_reconnect_timer, store);
  store->watchdog_timer = event_new(daemon->base, -1, EV_PERSIST, on_watchdog, store);
  store->flush_event = event_new(daemon->base, -1, 0, flush_batch, store);
  if (!store->reconnect_timer || !store->watchdog_timer || !store->flush_event) {
    lp_store_free(store);
    return NULL;
  }
  return store;
}

/* A Redis that was just (re)started answers LOADING until its AOF is read. At startup the
 * daemon serves nothing yet, so it waits here (up to STARTUP_LOADING_WAIT_MS). 0 when Redis
 * answers PING, -1 with the reason. */
enum { STARTUP_LOADING_WAIT_MS = 120000 };

static int wait_while_loading(redisContext *sync, char *error, size_t error_size) {
  for (long waited_ms = 0;; waited_ms += 100) {
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
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

int lp_store_start(lp_store *store) {
  char error[256];
  redisContext *sync = lp_store_connect_sync(&store->daemon->config, error, sizeof error);
  if (!sync || wait_while_loading(sync, error, sizeof error) != 0) {
    LP_ERROR("cannot load the state: %s", error);
    if (sync) redisFree(sync);
    return -1;
  }
  /* The stream position first: events after it are re-applied by lp_follow, which is harmless
   * (it re-reads records), while events before it are already in what is loaded. */
  snprintf(store->events_start, sizeof store->events_start, "0-0");
  redisReply *last = redisCommand(sync, "XREVRANGE lp:events + - COUNT 1");
  if (last && last->type == REDIS_REPLY_ARRAY && last->elements == 1 && last->element[0]->type == REDIS_REPLY_ARRAY &&
      last->element[0]->elements >= 1 && last->element[0]->element[0]->type == REDIS_REPLY_STRING)
    snprintf(store->events_start, sizeof store->events_start, "%s", last->element[0]->element[0]->str);
  if (last) freeReplyObject(last);
  int rc = lp_store_load_state(sync, &store->daemon->state, error, sizeof error);
  redisFree(sync);
  if (rc != 0) {
    LP_ERROR("cannot load the state: %s", error);
    return -1;
  }
  store->loaded = true;
  struct timeval tick = {0, 100 * 1000};
  event_add(store->watchdog_timer, &tick);
  connect_now(store);
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
  if (store->reconnect_timer) event_free(store->reconnect_timer);
  if (store->watchdog_timer) event_free(store->watchdog_timer);
  if (store->flush_event) event_free(store->flush_event);
  free(store);
}

/* ---- synchronous helpers --------------------------------------------------------------- */

redisContext *lp_store_connect_sync(const lp_config *config, char *error, size_t error_size) {
  char host[256];
  int port = 0;
  bool is_unix = false;
  if (parse_redis_address(config->redis, host, sizeof host, &port, &is_unix, error, error_size) != 0)
    return NULL;
  struct timeval timeout = {config->redis_timeout_ms / 1000, (config->redis_timeout_ms % 1000) * 1000};
  redisContext *redis = is_unix ? redisConnectUnixWithTimeout(host, timeout)
                                : redisConnectWithTimeout(host, port, timeout);
  if (!redis) {
    snprintf(error, error_size, "redis %s: out of memory", config->redis);
    return NULL;
  }
  if (redis->err) {
    snprintf(error, error_size, "redis %s: %s", config->redis, redis->errstr);
    redisFree(redis);
    return NULL;
  }
  redisSetTimeout(redis, timeout);
  if (config->redis_password[0]) {
    redisReply *reply = redisCommand(redis, "AUTH %s", config->redis_password);
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
      snprintf(error, error_size, "redis %s refused AUTH with the password in %s: %s", config->redis,
               config->redis_password_file, reply ? reply->str : redis->errstr);
      if (reply) freeReplyObject(reply);
      redisFree(redis);
      return NULL;
    }
    freeReplyObject(reply);
  }
  return redis;
}

int lp_store_commit_sync(redisContext *redis, lp_txn *txn, char *error, size_t error_size) {
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

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Loads one kind: SMEMBERS of its index, then pipelined GETs of the records. */
static int load_kind(redisContext *redis, lp_state *state, enum lp_kind kind, char *error, size_t error_size) {
  redisReply *members = redisCommand(redis, "SMEMBERS lp:index:%s", lp_kind_name(kind));
  if (!members) {
    snprintf(error, error_size, "redis SMEMBERS lp:index:%s: %s", lp_kind_name(kind), redis->errstr);
    return -1;
  }
  if (members->type != REDIS_REPLY_ARRAY) {
    snprintf(error, error_size, "lp:index:%s is not a set", lp_kind_name(kind));
    freeReplyObject(members);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < members->elements; i++) {
    redisAppendCommand(redis, "GET lp:%s:%s", lp_kind_name(kind), members->element[i]->str);
    if (kind == LP_KIND_TOKEN) redisAppendCommand(redis, "GET lp:tokenhash:%s", members->element[i]->str);
  }
  for (size_t i = 0; i < members->elements; i++) {
    const char *key = members->element[i]->str;
    void *record_pointer = NULL, *hash_pointer = NULL;
    if (redisGetReply(redis, &record_pointer) != REDIS_OK ||
        (kind == LP_KIND_TOKEN && redisGetReply(redis, &hash_pointer) != REDIS_OK)) {
      snprintf(error, error_size, "redis GET lp:%s:%s: %s", lp_kind_name(kind), key, redis->errstr);
      if (record_pointer) freeReplyObject(record_pointer);
      freeReplyObject(members);
      return -1; /* the connection is unusable now; the caller frees it */
    }
    redisReply *record = record_pointer, *hash = hash_pointer;
    if (rc == 0) {
      if (record->type != REDIS_REPLY_STRING) {
        LP_WARN("lp:index:%s names %s but lp:%s:%s is missing; skipped", lp_kind_name(kind), key,
                lp_kind_name(kind), key);
      } else {
        ProtobufCMessage *message = protobuf_c_message_unpack(lp_kind_descriptor(kind), &lp_protobuf_allocator,
                                                              record->len, (const uint8_t *)record->str);
        if (!message) {
          snprintf(error, error_size, "lp:%s:%s does not parse as a %s record", lp_kind_name(kind),
                   key, lp_kind_name(kind));
          rc = -1;
        } else if (kind == LP_KIND_TOKEN) {
          lp_token *token = lp_calloc(1, sizeof *token);
          bool hash_ok = hash && hash->type == REDIS_REPLY_STRING && hash->len == 64;
          for (size_t b = 0; hash_ok && b < 32; b++) {
            int high = hex_value(hash->str[2 * b]), low = hex_value(hash->str[2 * b + 1]);
            if (high < 0 || low < 0) hash_ok = false;
            else token->hash[b] = (unsigned char)(high * 16 + low);
          }
          if (!hash_ok) {
            snprintf(error, error_size, "lp:tokenhash:%s is missing or not 64 hex digits", key);
            protobuf_c_message_free_unpacked(message, NULL);
            free(token);
            rc = -1;
          } else {
            token->info = (Leerplek__V1__TokenInfo *)message;
            lp_state_put(state, kind, key, token);
          }
        } else {
          lp_state_put(state, kind, key, message);
        }
      }
    }
    freeReplyObject(record);
    if (hash) freeReplyObject(hash);
  }
  freeReplyObject(members);
  return rc;
}

int lp_store_load_state(redisContext *redis, lp_state *state, char *error, size_t error_size) {
  for (int kind = 0; kind < LP_KIND_COUNT; kind++)
    if (load_kind(redis, state, (enum lp_kind)kind, error, error_size) != 0) return -1;
  return 0;
}
