/* lp_follow: scale-out, on by default. The daemon reads the lp:events stream on a second Redis
 * connection (XREAD BLOCK) and, for every event, re-reads the named record from Redis into
 * memory, so several daemons on one Redis converge on the store's contents. Erasures name only
 * the school (the audit trail keeps no pupil reference), so they are applied by dropping that
 * school's pupils that left the index.
 *
 * Memory takes a write the moment it is sent, before Redis has it, so a re-read must never put
 * an older record over one of our own writes (a client would not read its own acknowledged
 * write). Re-reads therefore go on the write link, behind every write sent so far, and a reply
 * is dropped when a local write to that record was sent after it (lp_store_read_freshness).
 *
 * Our own events are not re-read (a rematch's epoch write alone made 70,000 MGETs, each a
 * reply to decode on the loop) when the store knows the entry's id as one of its own confirmed
 * events (lp_store_own_event: EVENTS_SCRIPT returns the ids, and only commits sent since the
 * last reload, confirmed with no reload pending, count). That is safe: the re-read would show
 * the record as that commit left it or newer. Newer means another daemon wrote it after us,
 * and that write's event comes later in the stream and is re-read; a dropped reply (above) is
 * one that another daemon's write before ours answered, and ours, later in Redis, is what
 * memory holds; a rematch's records, which memory takes only after the promote's last slice,
 * are put there by that apply (or the failed slice's reload reads them). Whatever the store is
 * unsure of (an id pushed out of its table, an event met before EXEC's reply came, a reload)
 * is re-read as before. Nothing depends on instance_id: two daemons given the same one still
 * re-read each other's events.
 *
 * The entries it reads also feed the watchers (lp_events.c: the notification feed), so the
 * feed is in stream order and costs no second XREAD. Entries that erase_pupil deleted (XDEL)
 * are simply never read: the erasure's own event drops the pupil's records.
 *
 * While the store reloads the state (after a lost link, in a worker thread), a re-read lands in
 * the state about to be replaced, and the load may have read that record before the change:
 * such re-reads are kept and sent again once the loaded state is in place (lp_follow_reloaded). */
#include "lp_follow.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_events.h"
#include "lp_log.h"
#include "lp_store.h"

struct lp_follow {
  lp_daemon *daemon;
  redisAsyncContext *redis;
  bool connected;
  uint32_t backoff_ms;           /* the last reconnect delay (lp_redis_backoff_ms); 0 once connected */
  lp_redis_query *primary_query; /* the Sentinels being asked, or NULL */
  bool freeing;
  char last_id[64]; /* the last stream entry applied */
  struct event *retry_timer;
  struct record_request *during_reload; /* re-reads answered while the store reloaded, to send again */
  size_t during_reload_count, during_reload_capacity;
};

static void read_more(lp_follow *follow);
static void schedule_retry(lp_follow *follow);

static int kind_from_name(const char *name) {
  for (int kind = 0; kind < LP_KIND_COUNT; kind++)
    if (strcmp(lp_kind_name((enum lp_kind)kind), name) == 0) return kind;
  return -1;
}

typedef struct record_request {
  lp_follow *follow;
  enum lp_kind kind;
  char key[96]; /* the record's; for an erasure, the school's */
  uint64_t seq; /* from lp_store_read: which local writes the reply shows */
  bool erasure; /* an SMEMBERS of lp:index:pupil, not a record's MGET */
} record_request;

/* Keeps a copy of request when the store is reloading (see the top of this file). */
static void keep_if_reloading(const record_request *request) {
  lp_follow *follow = request->follow;
  if (follow->freeing || !lp_store_reloading(follow->daemon->store)) return;
  if (follow->during_reload_count == follow->during_reload_capacity) {
    follow->during_reload_capacity = follow->during_reload_capacity ? follow->during_reload_capacity * 2 : 16;
    follow->during_reload =
        lp_realloc(follow->during_reload, follow->during_reload_capacity * sizeof *follow->during_reload);
  }
  follow->during_reload[follow->during_reload_count++] = *request;
}

static void on_record(redisAsyncContext *redis, void *reply_pointer, void *privdata);

/* MGETs the record (and, for a token, its hash) on the write link; frees request if it cannot. */
static void read_record(record_request *request) {
  lp_store *store = request->follow->daemon->store;
  const char *kind = lp_kind_name(request->kind), *key = request->key;
  int rc = request->kind == LP_KIND_TOKEN
               ? lp_store_read(store, on_record, request, &request->seq,
                               "MGET " LP_KEY_PREFIX "token:%s " LP_TOKENHASH_PREFIX "%s", key, key)
               : lp_store_read(store, on_record, request, &request->seq, "MGET " LP_KEY_PREFIX "%s:%s", kind, key);
  if (rc != 0) free(request); /* no link: the reload after the reconnect reads everything */
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The MGET of one record (and, for tokens, its hash): put it in memory, or drop it if gone. */
static void on_record(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  record_request *request = privdata;
  redisReply *reply = reply_pointer;
  if (!reply) {
    /* The write link dropped, or the store is being freed after lp_follow (do not touch it). */
    free(request);
    return;
  }
  keep_if_reloading(request);
  lp_state *state = &request->follow->daemon->state;
  int freshness = !request->follow->freeing ? lp_store_read_freshness(request->follow->daemon->store, request->kind,
                                                                      request->key, request->seq)
                                            : LP_READ_SUPERSEDED;
  if (freshness == LP_READ_UNSURE) {
    read_record(request);
    return;
  }
  if (freshness == LP_READ_CURRENT && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1) {
    redisReply *record = reply->element[0];
    if (record->type != REDIS_REPLY_STRING) {
      lp_state_remove(state, request->kind, request->key);
    } else {
      ProtobufCMessage *message = protobuf_c_message_unpack(lp_kind_descriptor(request->kind), &lp_protobuf_allocator,
                                                            record->len, (const uint8_t *)record->str);
      if (!message) {
        LP_ERROR("follow: lp:%s:%s does not parse; not applied", lp_kind_name(request->kind), request->key);
      } else if (request->kind == LP_KIND_TOKEN) {
        redisReply *hash = reply->elements > 1 ? reply->element[1] : NULL;
        lp_token *token = lp_calloc(1, sizeof *token);
        bool ok = hash && hash->type == REDIS_REPLY_STRING && hash->len == 64;
        for (int b = 0; ok && b < 32; b++) {
          int high = hex_digit(hash->str[2 * b]), low = hex_digit(hash->str[2 * b + 1]);
          ok = high >= 0 && low >= 0;
          if (ok) token->hash[b] = (unsigned char)(high * 16 + low);
        }
        if (ok) {
          token->info = (Leerplek__V1__TokenInfo *)message;
          lp_state_put(state, LP_KIND_TOKEN, request->key, token);
        } else {
          LP_ERROR("follow: token %s has no valid hash; not applied", request->key);
          protobuf_c_message_free_unpacked(message, NULL);
          free(token);
        }
      } else {
        lp_state_put(state, request->kind, request->key, message);
      }
    }
  }
  free(request);
}

/* Drops in-memory pupils (and placements) of school that are no longer in lp:index:pupil. */
static void on_pupil_index(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  record_request *request = privdata;
  redisReply *reply = reply_pointer;
  if (reply) keep_if_reloading(request);
  if (reply && reply->type == REDIS_REPLY_ARRAY && !request->follow->freeing) {
    lp_state *state = &request->follow->daemon->state;
    lp_map *pupils = &state->maps[LP_KIND_PUPIL];
    size_t prefix = strlen(request->key);
    for (size_t i = pupils->count; i-- > 0;) {
      const char *key = pupils->entries[i].key;
      if (strncmp(key, request->key, prefix) != 0 || key[prefix] != '/') continue;
      bool present = false;
      for (size_t m = 0; m < reply->elements && !present; m++) present = strcmp(reply->element[m]->str, key) == 0;
      /* Registered here after the SMEMBERS was sent: not in its reply, but not erased either. */
      if (!present &&
          lp_store_read_freshness(request->follow->daemon->store, LP_KIND_PUPIL, key, request->seq) != LP_READ_CURRENT)
        present = true;
      if (!present) {
        char gone[96];
        snprintf(gone, sizeof gone, "%s", key);
        lp_state_remove(state, LP_KIND_PLACEMENT, gone);
        lp_state_remove(state, LP_KIND_PUPIL, gone);
        /* The erasure took the pupil's referrals ("<key>/<component>") with it. */
        char prefix[100];
        snprintf(prefix, sizeof prefix, "%s/", gone);
        size_t first, end;
        lp_map_prefix(&state->maps[LP_KIND_REFERRAL], prefix, &first, &end);
        lp_state_remove_range(state, LP_KIND_REFERRAL, first, end);
      }
    }
  }
  free(request);
}

static void read_pupil_index(record_request *request) {
  if (lp_store_read(request->follow->daemon->store, on_pupil_index, request, &request->seq,
                    "SMEMBERS " LP_INDEX_PREFIX "pupil") != 0)
    free(request);
}

static const char *field_value(const redisReply *fields, const char *name) {
  for (size_t i = 0; i + 1 < fields->elements; i += 2)
    if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0)
      return fields->element[i + 1]->str;
  return NULL;
}

static void apply_event(lp_follow *follow, const char *id, const redisReply *fields) {
  /* Our own event: memory already holds what it wrote (lp_store_own_event; the top of this file). */
  if (lp_store_own_event(follow->daemon->store, id)) return;
  const char *op = field_value(fields, "op"), *kind_name = field_value(fields, "kind"),
             *key = field_value(fields, "key");
  if (!op || !kind_name || !key) return;
  int kind = kind_from_name(kind_name);
  if (kind < 0 || strlen(key) >= sizeof(((record_request *)0)->key)) return;
  record_request *request = lp_calloc(1, sizeof *request);
  request->follow = follow;
  request->kind = (enum lp_kind)kind;
  memcpy(request->key, key, strlen(key) + 1);
  if (strcmp(op, "erase") == 0) {
    request->erasure = true;
    read_pupil_index(request);
    return;
  }
  /* A write may touch a pupil and its placement together: re-read both for either. */
  if (kind == LP_KIND_PUPIL || kind == LP_KIND_PLACEMENT) {
    record_request *other = lp_calloc(1, sizeof *other);
    *other = *request;
    other->kind = kind == LP_KIND_PUPIL ? LP_KIND_PLACEMENT : LP_KIND_PUPIL;
    read_record(other);
  }
  read_record(request);
}

static void on_events(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  lp_follow *follow = privdata;
  redisReply *reply = reply_pointer;
  if (!reply || follow->freeing) return; /* the link dropped; on_disconnect schedules a retry */
  if (reply->type == REDIS_REPLY_ARRAY) {
    lp_store_take_replies(follow->daemon->store); /* so that it knows the ids of our events */
    for (size_t s = 0; s < reply->elements; s++) {
      redisReply *stream = reply->element[s];
      if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2) continue;
      redisReply *entries = stream->element[1];
      for (size_t e = 0; e < entries->elements; e++) {
        redisReply *entry = entries->element[e];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2) continue;
        snprintf(follow->last_id, sizeof follow->last_id, "%s", entry->element[0]->str);
        if (entry->element[1]->type != REDIS_REPLY_ARRAY) continue;
        apply_event(follow, follow->last_id, entry->element[1]);
        /* After the re-reads are sent: a watcher's next call sees the record as the event left it. */
        if (follow->daemon->watchers) lp_watchers_feed(follow->daemon->watchers, follow->last_id, entry->element[1]);
      }
    }
  } else if (reply->type == REDIS_REPLY_ERROR) {
    /* NOPERM, NOAUTH, LOADING, a wrong type: asking again at once would spin. */
    LP_WARN("follow: XREAD failed: %s; retrying in 500 ms", reply->str);
    schedule_retry(follow);
    return;
  }
  read_more(follow);
}

static void read_more(lp_follow *follow) {
  if (!follow->redis || !follow->connected) return;
  redisAsyncCommand(follow->redis, on_events, follow, "XREAD COUNT 1000 BLOCK 1000 STREAMS " LP_EVENTS_STREAM " %s",
                    follow->last_id);
}

/* After a refused XREAD: read again soon. */
static void schedule_retry(lp_follow *follow) {
  struct timeval delay = {0, 500 * 1000};
  evtimer_add(follow->retry_timer, &delay);
}

/* After a lost or failed link: connect again with the store's backoff. */
static void schedule_reconnect(lp_follow *follow) {
  follow->backoff_ms = lp_redis_backoff_ms(follow->backoff_ms, &follow->daemon->config);
  struct timeval delay = {follow->backoff_ms / 1000, (follow->backoff_ms % 1000) * 1000};
  evtimer_add(follow->retry_timer, &delay);
}

static void on_connect(const redisAsyncContext *redis, int status) {
  lp_follow *follow = redis->data;
  if (status != REDIS_OK) {
    follow->redis = NULL; /* hiredis frees it */
    if (!follow->freeing) schedule_reconnect(follow);
    return;
  }
  follow->connected = true;
  follow->backoff_ms = 0;
  LP_INFO("following lp:events from %s", follow->last_id);
  read_more(follow);
}

static void on_disconnect(const redisAsyncContext *redis, int status) {
  (void)status;
  lp_follow *follow = redis->data;
  follow->redis = NULL; /* hiredis frees it */
  follow->connected = false;
  if (!follow->freeing) schedule_reconnect(follow);
}

static void on_primary(void *arg, const char *primary, const char *error) {
  lp_follow *follow = arg;
  follow->primary_query = NULL;
  char reason[512];
  redisAsyncContext *redis = NULL;
  if (primary)
    redis =
        lp_redis_connect_async(&follow->daemon->config, follow->daemon->base, primary, follow, reason, sizeof reason);
  else
    snprintf(reason, sizeof reason, "%s", error);
  if (!redis) {
    LP_WARN("follow: %s", reason);
    schedule_reconnect(follow);
    return;
  }
  redisAsyncSetConnectCallback(redis, on_connect);
  redisAsyncSetDisconnectCallback(redis, on_disconnect);
  follow->redis = redis;
}

/* The same primary as the store's link (with Sentinels: whichever they name now, asked on
 * async links). */
static void connect_follower(lp_follow *follow) {
  if (follow->primary_query) return;
  follow->primary_query = lp_redis_primary_async(&follow->daemon->config, follow->daemon->base, on_primary, follow);
}

/* The retry timer: connects again after a lost link, or reads again after a refused XREAD. */
static void on_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_follow *follow = arg;
  if (follow->freeing) return;
  if (!follow->redis && !follow->primary_query)
    connect_follower(follow);
  else
    read_more(follow);
}

lp_follow *lp_follow_start(lp_daemon *daemon, const char *start_id) {
  lp_follow *follow = lp_calloc(1, sizeof *follow);
  follow->daemon = daemon;
  snprintf(follow->last_id, sizeof follow->last_id, "%s", start_id);
  follow->retry_timer = evtimer_new(daemon->base, on_retry, follow);
  if (!follow->retry_timer) {
    free(follow);
    return NULL;
  }
  connect_follower(follow);
  return follow;
}

const char *lp_follow_last_id(const lp_follow *follow) { return follow->last_id; }

void lp_follow_reloaded(lp_follow *follow) {
  size_t count = follow->during_reload_count;
  follow->during_reload_count = 0;
  for (size_t i = 0; i < count; i++) {
    record_request *request = lp_malloc(sizeof *request);
    *request = follow->during_reload[i];
    if (request->erasure)
      read_pupil_index(request);
    else
      read_record(request);
  }
}

void lp_follow_free(lp_follow *follow) {
  if (!follow) return;
  follow->freeing = true;
  if (follow->redis) {
    redisAsyncContext *redis = follow->redis;
    follow->redis = NULL;
    redisAsyncFree(redis); /* pending callbacks get NULL and free their requests */
  }
  lp_redis_query_cancel(follow->primary_query);
  event_free(follow->retry_timer);
  free(follow->during_reload);
  free(follow);
}
