/* lp_load: the state read from Redis in one pass. The calling thread reads: per kind the index
 * set (SMEMBERS), then the records by MGET, LOAD_BATCHES_AHEAD batches in flight so that Redis
 * answers one while the next travel. Each reply goes through a short bounded queue to a decoding
 * thread, which unpacks its records into the kind's map (appended) and, at the kind's end, sorts
 * that map once. So decoding and sorting, about a third of a load's time when done in line,
 * happen beside the read (on a second core) instead of after it; the queue's bound keeps the
 * replies held at once to a few batches. */
#include "lp_load.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_log.h"
#include "lp_redis.h"

/* Records per MGET, MGETs sent ahead of the one being read, and replies queued for decoding. */
enum { LOAD_BATCH = 1000, LOAD_BATCHES_AHEAD = 4, DECODE_QUEUE = 8 };

static double ms_since(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/* ---- decoding, on its own thread -------------------------------------------------------- */

/* One MGET reply for the decoder, or (reply NULL) the end of a kind: sort it and free members.
 * kind LP_KIND_COUNT ends the decoder. */
typedef struct load_batch {
  enum lp_kind kind;
  const redisReply *members; /* the kind's SMEMBERS reply, shared by its batches */
  size_t first, count;       /* members first .. first+count-1 */
  redisReply *reply;
} load_batch;

typedef struct decoder {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t changed; /* the queue filled or drained, or the decoder failed */
  load_batch queue[DECODE_QUEUE];
  size_t head, queued;
  bool threaded; /* false: no thread could be started, hand_over decodes in line */
  bool failed;   /* under lock; once set, batches are freed undecoded */
  char error[256];
  lp_state *state; /* the decoder's alone until it is joined */
  double decode_ms, build_ms;
  size_t records;
} decoder;

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decodes one record into state (appended; sorted at the kind's end). 0, or -1 with the reason. */
static int add_record(lp_state *state, enum lp_kind kind, const char *key, const redisReply *record,
                      const redisReply *hash, char *error, size_t error_size) {
  if (record->type != REDIS_REPLY_STRING) {
    LP_WARN("lp:index:%s names %s but lp:%s:%s is missing; skipped", lp_kind_name(kind), key, lp_kind_name(kind), key);
    return 0;
  }
  ProtobufCMessage *message = protobuf_c_message_unpack(lp_kind_descriptor(kind), &lp_protobuf_allocator, record->len,
                                                        (const uint8_t *)record->str);
  if (!message) {
    snprintf(error, error_size, "lp:%s:%s does not parse as a %s record", lp_kind_name(kind), key, lp_kind_name(kind));
    return -1;
  }
  if (kind != LP_KIND_TOKEN) {
    lp_state_append(state, kind, key, message);
    return 0;
  }
  lp_token *token = lp_calloc(1, sizeof *token);
  bool hash_ok = hash && hash->type == REDIS_REPLY_STRING && hash->len == 64;
  for (size_t b = 0; hash_ok && b < 32; b++) {
    int high = hex_value(hash->str[2 * b]), low = hex_value(hash->str[2 * b + 1]);
    if (high < 0 || low < 0)
      hash_ok = false;
    else
      token->hash[b] = (unsigned char)(high * 16 + low);
  }
  if (!hash_ok) {
    snprintf(error, error_size, "lp:tokenhash:%s is missing or not 64 hex digits", key);
    protobuf_c_message_free_unpacked(message, NULL);
    free(token);
    return -1;
  }
  token->info = (Leerplek__V1__TokenInfo *)message;
  lp_state_append(state, kind, key, token);
  return 0;
}

/* A batch's records into the state; 0, or -1 with the reason. */
static int decode_batch(decoder *decoder, const load_batch *batch, char *error, size_t error_size) {
  size_t per_record = batch->kind == LP_KIND_TOKEN ? 2 : 1;
  for (size_t i = 0; i < batch->count; i++) {
    const redisReply *record = batch->reply->element[i * per_record];
    const redisReply *hash = per_record == 2 ? batch->reply->element[i * per_record + 1] : NULL;
    if (add_record(decoder->state, batch->kind, batch->members->element[batch->first + i]->str, record, hash, error,
                   error_size) != 0)
      return -1;
    if (record->type == REDIS_REPLY_STRING) decoder->records++;
  }
  return 0;
}

/* Handles one batch (not the end marker): decodes it, or at a kind's end sorts its map. */
static void decode_one(decoder *decoder, const load_batch *batch, bool failed) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  if (batch->reply) {
    char error[sizeof decoder->error];
    if (!failed && decode_batch(decoder, batch, error, sizeof error) != 0) {
      pthread_mutex_lock(&decoder->lock);
      decoder->failed = true;
      memcpy(decoder->error, error, sizeof error);
      pthread_mutex_unlock(&decoder->lock);
    }
    freeReplyObject(batch->reply);
    decoder->decode_ms += ms_since(&started);
  } else {
    lp_state_sort_kind(decoder->state, batch->kind); /* also after a failure: whole entries, no duplicates */
    freeReplyObject((redisReply *)batch->members);
    decoder->build_ms += ms_since(&started);
  }
}

static void *decode_batches(void *arg) {
  decoder *decoder = arg;
  for (;;) {
    pthread_mutex_lock(&decoder->lock);
    while (decoder->queued == 0) pthread_cond_wait(&decoder->changed, &decoder->lock);
    load_batch batch = decoder->queue[decoder->head];
    decoder->head = (decoder->head + 1) % DECODE_QUEUE;
    decoder->queued--;
    bool failed = decoder->failed;
    pthread_cond_broadcast(&decoder->changed);
    pthread_mutex_unlock(&decoder->lock);
    if (batch.kind == LP_KIND_COUNT) return NULL;
    decode_one(decoder, &batch, failed);
  }
}

/* Queues batch for the decoder, waiting while the queue is full; false once the decoder failed
 * (batch is queued all the same: it frees what it is handed). */
static bool hand_over(decoder *decoder, load_batch batch) {
  if (!decoder->threaded) { /* no thread could be started: decode in line */
    if (batch.kind != LP_KIND_COUNT) decode_one(decoder, &batch, decoder->failed);
    return !decoder->failed;
  }
  pthread_mutex_lock(&decoder->lock);
  while (decoder->queued == DECODE_QUEUE) pthread_cond_wait(&decoder->changed, &decoder->lock);
  decoder->queue[(decoder->head + decoder->queued) % DECODE_QUEUE] = batch;
  decoder->queued++;
  bool failed = decoder->failed;
  pthread_cond_broadcast(&decoder->changed);
  pthread_mutex_unlock(&decoder->lock);
  return !failed;
}

/* ---- reading, on the caller's thread ---------------------------------------------------- */

/* Sends the MGET of members first .. first+LOAD_BATCH-1 (a token with its lp:tokenhash). */
static void append_batch(redisContext *redis, enum lp_kind kind, const redisReply *members, size_t first) {
  size_t end = first + LOAD_BATCH < members->elements ? first + LOAD_BATCH : members->elements;
  size_t per_record = kind == LP_KIND_TOKEN ? 2 : 1, argc = 1 + (end - first) * per_record;
  const char **argv = lp_malloc(argc * sizeof *argv);
  size_t *lengths = lp_malloc(argc * sizeof *lengths);
  char **owned = lp_malloc(argc * sizeof *owned);
  argv[0] = "MGET";
  lengths[0] = 4;
  for (size_t i = first, a = 1; i < end; i++) {
    for (size_t part = 0; part < per_record; part++, a++) {
      const redisReply *member = members->element[i];
      size_t length = strlen(lp_kind_name(kind)) + member->len + 16;
      owned[a] = lp_malloc(length);
      int n = snprintf(owned[a], length, LP_KEY_PREFIX "%s:%s", part ? "tokenhash" : lp_kind_name(kind), member->str);
      argv[a] = owned[a];
      lengths[a] = (size_t)n;
    }
  }
  redisAppendCommandArgv(redis, (int)argc, argv, lengths);
  for (size_t a = 1; a < argc; a++) free(owned[a]);
  free(owned);
  free(lengths);
  free(argv);
}

/* Reads one kind: SMEMBERS of its index, then its records by MGET in pipelined batches, each
 * handed to the decoder, then the kind's end. 0, or -1 with the reason (or the decoder failed:
 * its reason is taken later). Every MGET sent is read, so the link stays usable. */
static int read_kind(redisContext *redis, decoder *decoder, enum lp_kind kind, double *read_ms, char *error,
                     size_t error_size) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  redisReply *members = redisCommand(redis, "SMEMBERS " LP_INDEX_PREFIX "%s", lp_kind_name(kind));
  if (!members) {
    snprintf(error, error_size, "redis SMEMBERS lp:index:%s: %s", lp_kind_name(kind), redis->errstr);
    return -1;
  }
  if (members->type != REDIS_REPLY_ARRAY) {
    snprintf(error, error_size, "lp:index:%s is not a set", lp_kind_name(kind));
    freeReplyObject(members);
    return -1;
  }
  *read_ms += ms_since(&started);
  size_t per_record = kind == LP_KIND_TOKEN ? 2 : 1, sent = 0;
  for (size_t ahead = 0; ahead < LOAD_BATCHES_AHEAD && sent < members->elements; ahead++, sent += LOAD_BATCH)
    append_batch(redis, kind, members, sent);
  int rc = 0;
  bool sending = true;
  for (size_t first = 0; first < sent; first += LOAD_BATCH) {
    clock_gettime(CLOCK_MONOTONIC, &started);
    void *reply_pointer = NULL;
    if (redisGetReply(redis, &reply_pointer) != REDIS_OK) {
      snprintf(error, error_size, "redis MGET lp:%s:*: %s", lp_kind_name(kind), redis->errstr);
      rc = -1; /* the link is unusable now; the caller frees it */
      break;
    }
    if (sending && rc == 0 && sent < members->elements) {
      append_batch(redis, kind, members, sent);
      sent += LOAD_BATCH;
    }
    *read_ms += ms_since(&started);
    redisReply *reply = reply_pointer;
    size_t count = members->elements - first < LOAD_BATCH ? members->elements - first : LOAD_BATCH;
    if (rc == 0 && (reply->type != REDIS_REPLY_ARRAY || reply->elements != count * per_record)) {
      snprintf(error, error_size, "redis MGET lp:%s:*: %s", lp_kind_name(kind),
               reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
      rc = -1;
    }
    if (rc != 0) {
      freeReplyObject(reply);
      sending = false;
      continue;
    }
    load_batch batch = {.kind = kind, .members = members, .first = first, .count = count, .reply = reply};
    if (!hand_over(decoder, batch)) sending = false; /* the decoder failed: drain what was sent */
  }
  hand_over(decoder, (load_batch){.kind = kind, .members = members}); /* the decoder frees members */
  return rc;
}

int lp_load_state(redisContext *redis, lp_load_prepare *prepare, lp_state *state, lp_load_timing *timing, char *error,
                  size_t error_size) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  double connect_ms = timing->connect_ms;
  memset(timing, 0, sizeof *timing);
  timing->connect_ms = connect_ms;
  /* The owner's step before the read (the daemon finishes a promote a crash interrupted), so
   * that what is read is one whole epoch. */
  if (prepare && prepare(redis, error, error_size) != 0) return -1;
  decoder *decoder = lp_calloc(1, sizeof *decoder);
  decoder->state = state;
  pthread_mutex_init(&decoder->lock, NULL);
  pthread_cond_init(&decoder->changed, NULL);
  decoder->threaded = pthread_create(&decoder->thread, NULL, decode_batches, decoder) == 0;
  if (!decoder->threaded) LP_WARN("load: could not start the decoding thread; decoding in line");
  int rc = 0;
  for (int kind = 0; kind < LP_KIND_COUNT && rc == 0; kind++)
    rc = read_kind(redis, decoder, (enum lp_kind)kind, &timing->read_ms, error, error_size);
  hand_over(decoder, (load_batch){.kind = LP_KIND_COUNT});
  if (decoder->threaded) pthread_join(decoder->thread, NULL);
  if (rc == 0 && decoder->failed) {
    snprintf(error, error_size, "%s", decoder->error);
    rc = -1;
  }
  timing->decode_ms = decoder->decode_ms;
  timing->build_ms = decoder->build_ms;
  timing->records = decoder->records;
  timing->total_ms = connect_ms + ms_since(&started);
  pthread_cond_destroy(&decoder->changed);
  pthread_mutex_destroy(&decoder->lock);
  free(decoder);
  return rc;
}

void lp_load_log(const char *what, const lp_load_timing *timing) {
  LP_INFO("%s: %zu records in %.0f ms (connect %.0f ms, read %.0f ms, decode %.0f ms, build %.0f ms; decode and "
          "build beside the read)",
          what, timing->records, timing->total_ms, timing->connect_ms, timing->read_ms, timing->decode_ms,
          timing->build_ms);
}
