/* test_reload: the reload after Redis restarts (kill -9, AOF with fsync always) does not stop the
 * daemon answering. With a store big enough that the reload takes a while, every call made
 * from the kill until writes come back is answered within a loose bound (1 s) and far sooner
 * than the reload took, reads keep being answered while it runs, and the state it loads is the
 * state of before, plus what Redis had that the daemon had not seen. */
#include <stdint.h>

#include "common.h"

static lp_harness harness;
static char coordinator_token[128];

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
}

static void teardown(void) { cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly"); }

TestSuite(reload, .init = setup, .fini = teardown, .timeout = 180);

/* Records enough for a reload of about a second (more in a sanitised build). */
enum { STORE_TRAININGS = 400000, PAGE = 1000 };

static uint64_t fnv1a(uint64_t hash, const void *bytes, size_t size) {
  const unsigned char *byte = bytes;
  for (size_t i = 0; i < size; i++) hash = (hash ^ byte[i]) * 0x100000001b3ull;
  return hash;
}

/* Every training the daemon answers with, page by page, as one hash of their packed bytes
 * (leaving out the codes skip and also_skip), with their count. */
static uint64_t digest_trainings(leerplek_client *client, const char *skip, const char *also_skip, size_t *count) {
  uint64_t hash = 0xcbf29ce484222325ull;
  char token[256] = "";
  *count = 0;
  do {
    Leerplek__V1__ListTrainingsRequest body = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
    body.page_size = PAGE;
    body.page_token = token;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
    request.list_trainings = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(client, &request, &response), 0);
    const Leerplek__V1__ListTrainingsResponse *page = response->list_trainings;
    for (size_t i = 0; i < page->n_trainings; i++) {
      const Leerplek__V1__Training *training = page->trainings[i];
      if (strcmp(training->code, skip) == 0 || strcmp(training->code, also_skip) == 0) continue;
      uint8_t packed[512];
      size_t size = protobuf_c_message_get_packed_size(&training->base);
      cr_assert_leq(size, sizeof packed);
      protobuf_c_message_pack(&training->base, packed);
      hash = fnv1a(hash, packed, size);
      (*count)++;
    }
    snprintf(token, sizeof token, "%s", page->next_page_token);
    leerplek_response_free(response);
  } while (token[0]);
  return hash;
}

/* The pupils, the same way. */
static uint64_t digest_pupils(leerplek_client *client, size_t *count) {
  uint64_t hash = 0xcbf29ce484222325ull;
  char token[256] = "";
  *count = 0;
  do {
    Leerplek__V1__ListPupilsRequest body = LEERPLEK__V1__LIST_PUPILS_REQUEST__INIT;
    body.page_size = PAGE;
    body.page_token = token;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS;
    request.list_pupils = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(client, &request, &response), 0);
    const Leerplek__V1__ListPupilsResponse *page = response->list_pupils;
    for (size_t i = 0; i < page->n_pupils; i++) {
      uint8_t packed[4096];
      size_t size = protobuf_c_message_get_packed_size(&page->pupils[i]->base);
      cr_assert_leq(size, sizeof packed);
      protobuf_c_message_pack(&page->pupils[i]->base, packed);
      hash = fnv1a(hash, packed, size);
      (*count)++;
    }
    snprintf(token, sizeof token, "%s", page->next_page_token);
    leerplek_response_free(response);
  } while (token[0]);
  return hash;
}

/* The milliseconds and records of the log's last "state reloaded from redis" line; -1 if none. */
static long reload_ms_from_log(long *records) {
  char path[400], line[512];
  snprintf(path, sizeof path, "%s/leerplekd.log", harness.dir);
  FILE *log = fopen(path, "r");
  cr_assert_not_null(log);
  long ms = -1;
  while (fgets(line, sizeof line, log)) {
    const char *at = strstr(line, "state reloaded from redis: ");
    if (at) sscanf(at, "state reloaded from redis: %ld records in %ld ms", records, &ms);
  }
  fclose(log);
  return ms;
}

/* Rewrites the AOF and waits for it, so that the restarted Redis reads a compact file (as a
 * production one would; 800,000 logged commands took a loaded machine longer than the harness
 * waits for a start). */
static void rewrite_aof(redisContext *redis) {
  freeReplyObject(redisCommand(redis, "BGREWRITEAOF"));
  for (long long deadline = harness_now_ms() + 60000;; sleep_ms(20)) {
    redisReply *info = redisCommand(redis, "INFO persistence");
    cr_assert(info && info->type == REDIS_REPLY_STRING);
    bool done = strstr(info->str, "aof_rewrite_in_progress:0") && strstr(info->str, "aof_rewrite_scheduled:0");
    freeReplyObject(info);
    if (done) return;
    cr_assert_lt(harness_now_ms(), deadline, "the AOF rewrite did not finish");
  }
}

Test(reload, calls_are_answered_while_the_state_reloads_after_redis_restarts) {
  redisContext *redis = harness_redis(&harness);
  cr_assert_not_null(redis);
  for (int i = 0; i < STORE_TRAININGS; i++) {
    char code[24];
    snprintf(code, sizeof code, "T-%06d", i);
    append_training_behind(redis, code, code);
    if (i % 10000 == 9999) read_replies(redis, 2 * 10000);
  }
  /* The daemon loads them at its start. */
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(client);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  for (int i = 0; i < 30; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p-%02d", i);
    cr_assert_eq(register_pupil(client, "school-1", ref, "KAPPER"), 0);
  }
  size_t trainings_before, pupils_before;
  uint64_t trainings_hash = digest_trainings(client, "DURING", "NEWER", &trainings_before);
  uint64_t pupils_hash = digest_pupils(client, &pupils_before);
  cr_assert_eq(trainings_before, (size_t)STORE_TRAININGS + 1);
  cr_assert_eq(pupils_before, 30);
  /* One record only Redis has: it shows once the reload is in place, and not a moment before. */
  append_training_behind(redis, "NEWER", "Newer");
  read_replies(redis, 2);
  rewrite_aof(redis);
  redisFree(redis);
  cr_assert_eq(get_training_code(client, "NEWER", NULL), CODE(NOT_FOUND));

  harness_stop_redis(&harness, true);
  cr_assert_eq(harness_start_redis(&harness), 0);
  long long slowest_ms = 0;
  int calls = 0, reads_while_reloading = 0, code = -1;
  bool newer_seen = false;
  for (long long deadline = harness_now_ms() + 120000; harness_now_ms() < deadline;) {
    /* The reads first: when the write after them is refused as reloading, they were answered
     * before the swap. */
    long long started = harness_now_ms();
    int newer_code = get_training_code(client, "NEWER", NULL);
    char known[24];
    snprintf(known, sizeof known, "T-%06d", (calls * 7919) % STORE_TRAININGS);
    int read_code = get_training_code(client, known, NULL);
    Leerplek__V1__Response *response = NULL;
    code = upsert_training_out(client, "DURING", "During", &response);
    bool reloading = code == CODE(UNAVAILABLE) && strstr(response->status->message, "reloading") != NULL;
    cr_assert(code == 0 || code == CODE(UNAVAILABLE) || code == CODE(DEADLINE_EXCEEDED), "a write got %s",
              leerplek_status_name(code));
    leerplek_response_free(response);
    long long took = harness_now_ms() - started;
    if (took > slowest_ms) slowest_ms = took;
    calls++;
    cr_assert_eq(read_code, 0, "a read failed during the restart: %s", leerplek_status_name(read_code));
    cr_assert(newer_code == 0 || newer_code == CODE(NOT_FOUND), "got %s", leerplek_status_name(newer_code));
    if (newer_code == 0) newer_seen = true;
    cr_assert(!newer_seen || newer_code == 0, "the state went back after the swap");
    if (reloading) {
      reads_while_reloading++;
      cr_assert_eq(newer_code, CODE(NOT_FOUND), "a read during the reload saw the loading state");
    }
    if (code == 0) break;
    sleep_ms(5);
  }
  cr_assert_eq(code, 0, "writes did not come back after the restart: %s", leerplek_status_name(code));
  long records = 0, reload_ms = reload_ms_from_log(&records);
  fprintf(stderr, "test_reload: reload of %ld records took %ld ms; %d rounds of calls meanwhile, the slowest %lld ms\n",
          records, reload_ms, calls, slowest_ms);
  cr_assert_geq(records, STORE_TRAININGS, "the reload after the restart is logged with its records");
  cr_assert_gt(reads_while_reloading, 0, "no call was answered while the state reloaded");
  cr_assert_lt(slowest_ms, 1000, "a round of calls waited %lld ms", slowest_ms);
  cr_assert_gt(reload_ms, 2 * slowest_ms, "the calls waited about as long as the reload (%ld ms) took", reload_ms);

  cr_assert_eq(get_training_code(client, "NEWER", NULL), 0, "the reloaded state is in place");
  size_t trainings_after, pupils_after;
  cr_assert_eq(digest_trainings(client, "DURING", "NEWER", &trainings_after), trainings_hash,
               "the trainings differ after the reload");
  cr_assert_eq(trainings_after, trainings_before);
  cr_assert_eq(digest_pupils(client, &pupils_after), pupils_hash, "the pupils differ after the reload");
  cr_assert_eq(pupils_after, pupils_before);
  cr_assert_eq(get_training_code(client, "DURING", NULL), 0, "the acknowledged write after the reload");
  leerplek_close(client);
}
