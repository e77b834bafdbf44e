/* test_rematch_staged: the epoch write in chunks (rematch_write_chunk_bytes at its smallest, so
 * an epoch takes hundreds of staged commits): kill -9 of the daemon while it stages leaves the
 * previous epoch current and whole in Redis, a restart serves it and the next rematch works and
 * leaves no staged keys; a second daemon on the same Redis serves the new epoch; the result
 * states the bytes and commits written. A kill -9 of the daemon or of Redis in the middle of the
 * sliced promote leaves a marker; the restarted daemon (or the reconnected one) finishes the
 * promote before it serves, so the store holds the new epoch whole, each event once. */
#include <pthread.h>
#include <stdlib.h>

#include "common.h"

#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name

static lp_harness harness;
static leerplek_client *coordinator;
static char coordinator_token[128];
static const char *const flags[] = {"--rematch_write_chunk_bytes", "1024", "--rematch_lock_ttl_ms", "3000", NULL};

#define PUPILS 400
#define FIRST_VACANCIES 100 /* two seats each: the first epoch places 200 pupils */
#define MORE_VACANCIES 100

static void publish_vacancies(int first, int end) {
  for (int j = first; j < end; j++) {
    char id[32];
    snprintf(id, sizeof id, "vac-%03d", j);
    cr_assert_eq(publish_vacancy(coordinator, id, "loc-1", "KAPPER"), 0);
  }
}

static void setup(void) {
  start_all(&harness, flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, "1111111111", "KAPPER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-1", "1111111111"), 0);
  publish_vacancies(0, FIRST_VACANCIES);
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", i);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
    cr_assert_eq(request_placement(coordinator, "school-a", ref), 0);
  }
}

static void teardown(void) {
  if (coordinator) leerplek_close(coordinator);
  coordinator = NULL;
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(rematch_staged, .init = setup, .fini = teardown, .timeout = 120);

/* Pupils whose placement is PROPOSED, as the daemon at client serves them. */
static int proposed_on(leerplek_client *client) {
  int proposed = 0;
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", i);
    Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
    body.school_id = (char *)"school-a";
    body.pupil_ref = ref;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
    request.get_placement = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(client, &request, &response), 0);
    proposed += response->get_placement->placement->state == STATE(PROPOSED);
    leerplek_response_free(response);
  }
  return proposed;
}

/* The store without the keys a killed rematch may leave (its lock, until it expires, and its
 * staged records, until the next rematch deletes them). */
static char *store_without_staging(void) {
  char *dump = harness_snapshot(&harness);
  cr_assert_not_null(dump);
  char *out = calloc(strlen(dump) + 1, 1), *end = out;
  for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "lp:stage:", 9) == 0 || strncmp(line, "lp:lock:", 8) == 0) continue;
    end += sprintf(end, "%s\n", line);
  }
  free(dump);
  return out;
}

static long long redis_integer(const char *command) {
  redisContext *redis = harness_redis(&harness);
  redisReply *reply = redisCommand(redis, command);
  cr_assert_not_null(reply);
  long long value = reply->type == REDIS_REPLY_INTEGER  ? reply->integer
                    : reply->type == REDIS_REPLY_STRING ? atoll(reply->str)
                    : reply->type == REDIS_REPLY_ARRAY  ? (long long)reply->elements
                                                        : -1;
  freeReplyObject(reply);
  redisFree(redis);
  return value;
}

/* Records staged so far by the rematch under way (0 before it stages). */
static long long staged_records(void) {
  redisContext *redis = harness_redis(&harness);
  redisReply *runs = redisCommand(redis, "SMEMBERS lp:stage:runs");
  long long count = 0;
  for (size_t r = 0; runs && runs->type == REDIS_REPLY_ARRAY && r < runs->elements; r++) {
    redisReply *length = redisCommand(redis, "LLEN %snames", runs->element[r]->str);
    if (length && length->type == REDIS_REPLY_INTEGER) count += length->integer;
    if (length) freeReplyObject(length);
  }
  if (runs) freeReplyObject(runs);
  redisFree(redis);
  return count;
}

static void *rematch_in_thread(void *arg) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  Leerplek__V1__Response *response = NULL;
  /* The daemon is killed under it: no answer (or one without success) is expected. */
  Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH;
  request.run_rematch = &body;
  int rc = client ? leerplek_call(client, &request, &response) : -1;
  *(int *)arg = rc == 0 && response && response->status ? (int)response->status->code : -1;
  if (response) leerplek_response_free(response);
  if (client) leerplek_close(client);
  return NULL;
}

Test(rematch_staged, kill_9_while_staging_leaves_the_previous_epoch_current_and_whole) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  const Leerplek__V1__RematchResult *first = response->run_rematch->result;
  cr_assert_eq(first->epoch, 1);
  cr_assert_eq(first->newly_proposed, 2 * FIRST_VACANCIES);
  cr_assert_gt(first->write_chunks, 20, "1 KiB chunks: an epoch of 200 proposals takes many commits, got %u",
               first->write_chunks);
  cr_assert_gt(first->bytes_written, 200 * 100, "the bytes written count every staged record");
  leerplek_response_free(response);
  cr_assert_eq(redis_integer("KEYS lp:stage:*"), 0, "an applied epoch leaves no staged keys");

  /* More seats: the next epoch proposes to 200 more pupils. */
  publish_vacancies(FIRST_VACANCIES, FIRST_VACANCIES + MORE_VACANCIES);
  sleep_ms(50);
  char *before = store_without_staging();
  int verdict = 0;
  pthread_t thread;
  pthread_create(&thread, NULL, rematch_in_thread, &verdict);
  long long staged = 0;
  for (long long deadline = harness_now_ms() + 20000; harness_now_ms() < deadline && staged < 20; sleep_ms(1))
    staged = staged_records();
  cr_assert_geq(staged, 20, "the rematch never staged records");
  cr_assert_eq(harness_stop_daemon(&harness, SIGKILL), 128 + SIGKILL);
  pthread_join(thread, NULL);
  cr_assert_neq(verdict, 0, "a rematch killed while staging must not report success");
  cr_assert_eq(redis_integer("GET lp:epoch"), 1, "the killed rematch must not have made its epoch current");
  cr_assert_gt(staged_records(), 0, "killed in the middle: its staged records are still there");
  char *after = store_without_staging();
  cr_assert_str_eq(after, before, "every live record must be as before the killed rematch");
  free(before);
  free(after);

  /* Restart: the old epoch is served whole; once the lock expires a rematch works. */
  leerplek_close(coordinator);
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  cr_assert_eq(proposed_on(coordinator), 2 * FIRST_VACANCIES);
  for (long long deadline = harness_now_ms() + 5000;
       harness_now_ms() < deadline && redis_integer("EXISTS lp:lock:rematch");)
    sleep_ms(50);
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->epoch, 2);
  cr_assert_eq(response->run_rematch->result->newly_proposed, 2 * MORE_VACANCIES);
  leerplek_response_free(response);
  cr_assert_eq(redis_integer("GET lp:epoch"), 2);
  cr_assert_eq(redis_integer("KEYS lp:stage:*"), 0, "the next rematch deletes what the killed one staged");
  cr_assert_eq(proposed_on(coordinator), 2 * (FIRST_VACANCIES + MORE_VACANCIES));
}

Test(rematch_staged, a_second_daemon_serves_the_new_epoch) {
  lp_harness second = harness;
  second.redis_pid = 0; /* redis belongs to `harness` */
  snprintf(second.daemon_address, sizeof second.daemon_address, "unix:%s/leerplekd-2.sock", harness.dir);
  cr_assert_eq(harness_start_daemon(&second, flags), 0);
  leerplek_client *on_second = harness_connect(&second, coordinator_token);
  cr_assert_not_null(on_second);
  cr_assert_eq(proposed_on(on_second), 0);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->newly_proposed, 2 * FIRST_VACANCIES);
  leerplek_response_free(response);
  int proposed = 0;
  for (long long deadline = harness_now_ms() + 5000; harness_now_ms() < deadline; sleep_ms(50))
    if ((proposed = proposed_on(on_second)) == 2 * FIRST_VACANCIES) break;
  cr_assert_eq(proposed, 2 * FIRST_VACANCIES, "the second daemon serves %d of the epoch's proposals", proposed);
  leerplek_close(on_second);
  cr_assert_eq(harness_stop_daemon(&second, SIGTERM), 0, "second leerplekd did not exit cleanly");
}

/* The count of lp:events entries whose op is op. */
static long long events_with_op(const char *op) {
  redisContext *redis = harness_redis(&harness);
  redisReply *entries = redisCommand(redis, "XRANGE lp:events - +");
  cr_assert(entries && entries->type == REDIS_REPLY_ARRAY);
  long long count = 0;
  for (size_t e = 0; e < entries->elements; e++) {
    const redisReply *fields = entries->element[e]->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2)
      if (strcmp(fields->element[f]->str, "op") == 0 && strcmp(fields->element[f + 1]->str, op) == 0) count++;
  }
  freeReplyObject(entries);
  redisFree(redis);
  return count;
}

/* Placements that are PROPOSED in Redis, whatever the daemon serves. */
static long long proposed_in_store(void) {
  redisContext *redis = harness_redis(&harness);
  long long proposed = 0;
  for (int i = 0; i < PUPILS; i++) {
    redisReply *reply = redisCommand(redis, "GET lp:placement:school-a/p%03d", i);
    cr_assert(reply && reply->type == REDIS_REPLY_STRING);
    Leerplek__V1__Placement *placement = leerplek__v1__placement__unpack(NULL, reply->len, (const uint8_t *)reply->str);
    cr_assert_not_null(placement);
    proposed += placement->state == STATE(PROPOSED);
    protobuf_c_message_free_unpacked(&placement->base, NULL);
    freeReplyObject(reply);
  }
  redisFree(redis);
  return proposed;
}

/* Starts the second epoch's rematch and returns once its promote has made some but not all of
 * its slices current (the marker's done between 0 and the staged names). */
static void rematch_until_mid_promote(pthread_t *thread, int *verdict) {
  publish_vacancies(FIRST_VACANCIES, FIRST_VACANCIES + MORE_VACANCIES);
  sleep_ms(50);
  pthread_create(thread, NULL, rematch_in_thread, verdict);
  redisContext *redis = harness_redis(&harness);
  long long done = 0, total = 0;
  for (long long deadline = harness_now_ms() + 20000; harness_now_ms() < deadline;) {
    redisReply *marker = redisCommand(redis, "HMGET lp:promote done run");
    cr_assert(marker && marker->type == REDIS_REPLY_ARRAY);
    if (marker->element[0]->type == REDIS_REPLY_STRING) {
      done = atoll(marker->element[0]->str);
      redisReply *length = redisCommand(redis, "LLEN %snames", marker->element[1]->str);
      total = length->integer;
      freeReplyObject(length);
    }
    freeReplyObject(marker);
    if (done > 0 && done < total) break;
    cr_assert_neq(redis_integer("GET lp:epoch"), 2,
                  "the promote finished before the test could catch it in the middle");
  }
  redisFree(redis);
  cr_assert(done > 0 && done < total, "the promote was never seen in the middle (done %lld of %lld)", done, total);
}

/* The second epoch, whole: every pupil proposed in Redis and by the daemon, each record's event
 * exactly once, no marker, staging or lock left. */
static void assert_second_epoch_whole(void) {
  cr_assert_eq(redis_integer("GET lp:epoch"), 2);
  cr_assert_eq(redis_integer("EXISTS lp:promote"), 0, "the promote marker must be gone");
  cr_assert_eq(redis_integer("KEYS lp:stage:*"), 0, "a finished promote leaves no staged keys");
  cr_assert_eq(redis_integer("EXISTS lp:lock:rematch"), 0, "the promote's finisher releases the lock");
  cr_assert_eq(proposed_in_store(), 2 * (FIRST_VACANCIES + MORE_VACANCIES));
  cr_assert_eq(proposed_on(coordinator), 2 * (FIRST_VACANCIES + MORE_VACANCIES));
  cr_assert_eq(events_with_op("rematch_propose"), 2 * (FIRST_VACANCIES + MORE_VACANCIES),
               "one rematch_propose event per proposal of both epochs, none lost or twice");
  cr_assert_eq(events_with_op("rematch_seats"), FIRST_VACANCIES + MORE_VACANCIES,
               "one rematch_seats event per vacancy each epoch filled");
}

Test(rematch_staged, kill_9_mid_promote_is_finished_by_the_restarted_daemon) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_gt(response->run_rematch->result->promote_slices, 5, "small chunks: the promote takes many slices, got %u",
               response->run_rematch->result->promote_slices);
  leerplek_response_free(response);
  int verdict = 0;
  pthread_t thread;
  rematch_until_mid_promote(&thread, &verdict);
  cr_assert_eq(harness_stop_daemon(&harness, SIGKILL), 128 + SIGKILL);
  pthread_join(thread, NULL);
  cr_assert_neq(verdict, 0, "a rematch killed mid-promote must not report success");
  cr_assert_eq(redis_integer("GET lp:epoch"), 1, "the epoch changes only with the promote's last slice");
  cr_assert_eq(redis_integer("EXISTS lp:promote"), 1, "killed mid-promote: the marker says so");
  long long partly = proposed_in_store();
  cr_assert(partly > 2 * FIRST_VACANCIES && partly < 2 * (FIRST_VACANCIES + MORE_VACANCIES),
            "killed mid-promote: some slices are current (%lld proposed)", partly);

  /* The restart finishes the promote before it serves (its lock outlives the killed daemon). */
  leerplek_close(coordinator);
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  assert_second_epoch_whole();
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  cr_assert_eq(response->run_rematch->result->epoch, 3);
  cr_assert_eq(response->run_rematch->result->newly_proposed + response->run_rematch->result->moved, 0);
  leerplek_response_free(response);
}

Test(rematch_staged, kill_9_of_redis_mid_promote_is_finished_after_the_reconnect) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  int verdict = 0;
  pthread_t thread;
  rematch_until_mid_promote(&thread, &verdict);
  harness_stop_redis(&harness, true);
  pthread_join(thread, NULL);
  cr_assert_neq(verdict, 0, "a rematch whose Redis died mid-promote must not report success");
  cr_assert_eq(harness_start_redis(&harness), 0);
  /* The daemon reconnects, finishes the promote from the AOF's state and reloads. */
  long long epoch = 0;
  for (long long deadline = harness_now_ms() + 30000; harness_now_ms() < deadline && epoch != 2; sleep_ms(100))
    epoch = redis_integer("GET lp:epoch");
  cr_assert_eq(epoch, 2, "the interrupted promote was not finished after the reconnect");
  int proposed = 0;
  for (long long deadline = harness_now_ms() + 10000; harness_now_ms() < deadline; sleep_ms(100))
    if ((proposed = proposed_on(coordinator)) == 2 * (FIRST_VACANCIES + MORE_VACANCIES)) break;
  assert_second_epoch_whole();
}

/* Shortens pupil ref's commute a little (a new revision); 0 or the status code. */
static int shorten_commute(leerplek_client *client, const char *ref) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-a", ref, "KAPPER");
  pupil.max_commute_m = 14000;
  Leerplek__V1__UpdatePupilRequest body = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL;
  request.update_pupil = &body;
  return call_code(client, &request, NULL);
}

/* Writes that arrive while the promote runs its slices win over the epoch: each pupil changed
 * meanwhile keeps its new commute, and every vacancy's seats_proposed counts exactly the
 * placements proposed to it. */
Test(rematch_staged, writes_during_the_promote_win_and_the_seats_add_up) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  int verdict = -1;
  pthread_t thread;
  rematch_until_mid_promote(&thread, &verdict);
  /* Every pupil: some of their placements are current already, some not yet. */
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", i);
    cr_assert_eq(shorten_commute(coordinator, ref), 0);
  }
  pthread_join(thread, NULL);
  cr_assert_eq(verdict, 0, "the rematch succeeds, leaving out what the writes changed");
  cr_assert_eq(redis_integer("GET lp:epoch"), 2);
  cr_assert_eq(redis_integer("EXISTS lp:promote"), 0);
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", i);
    cr_assert_eq(get_pupil(coordinator, "school-a", ref, &response), 0);
    cr_assert_eq(response->get_pupil->pupil->max_commute_m, 14000, "the write to %s was lost", ref);
    leerplek_response_free(response);
  }
  cr_assert_eq(proposed_on(coordinator), proposed_in_store(), "the daemon serves the placements Redis holds");
  /* Seats as the daemon serves them and as Redis holds them agree with the placements. */
  int proposed_to[FIRST_VACANCIES + MORE_VACANCIES] = {0};
  redisContext *redis = harness_redis(&harness);
  for (int i = 0; i < PUPILS; i++) {
    redisReply *reply = redisCommand(redis, "GET lp:placement:school-a/p%03d", i);
    Leerplek__V1__Placement *placement = leerplek__v1__placement__unpack(NULL, reply->len, (const uint8_t *)reply->str);
    if (placement->state == STATE(PROPOSED)) proposed_to[atoi(placement->offer->vacancy_id + 4)]++;
    protobuf_c_message_free_unpacked(&placement->base, NULL);
    freeReplyObject(reply);
  }
  for (int j = 0; j < FIRST_VACANCIES + MORE_VACANCIES; j++) {
    char id[32];
    snprintf(id, sizeof id, "vac-%03d", j);
    redisReply *reply = redisCommand(redis, "GET lp:vacancy:%s", id);
    Leerplek__V1__Vacancy *stored = leerplek__v1__vacancy__unpack(NULL, reply->len, (const uint8_t *)reply->str);
    cr_assert_eq((int)stored->seats_proposed, proposed_to[j], "%s in Redis: %u proposed, %d placements", id,
                 stored->seats_proposed, proposed_to[j]);
    protobuf_c_message_free_unpacked(&stored->base, NULL);
    freeReplyObject(reply);
    uint32_t proposed = 0, filled = 0;
    vacancy_seats_of(coordinator, id, &proposed, &filled);
    cr_assert_eq((int)proposed, proposed_to[j], "%s served: %u proposed, %d placements", id, proposed, proposed_to[j]);
  }
  redisFree(redis);
}

/* A stream id "ms-seq" as the history indexes hold it ("%013ms-%010seq", lp_store.c). */
static void padded_id(const char *id, char *out, size_t size) {
  unsigned long long ms = 0, seq = 0;
  sscanf(id, "%llu-%llu", &ms, &seq);
  snprintf(out, size, "%013llu-%010llu", ms, seq);
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The events of each block go in one script (EVENTS_SCRIPT, lp_store.c): with a stream capped
 * at 1,000 entries that trims while the epoch is written, the company's history index (named
 * by the epoch's last event, a vacancy's seats) holds exactly the ids of the events still in
 * the stream that name the company: every one of them, and none trimmed. */
Test(rematch_staged, events_trimmed_while_the_epoch_is_written_leave_the_history_index_exact) {
  leerplek_close(coordinator);
  coordinator = NULL;
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  static const char *const capped[] = {"--rematch_write_chunk_bytes", "1024", "--events_max_length", "1000", NULL};
  cr_assert_eq(harness_start_daemon(&harness, capped), 0);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  redisContext *redis = harness_redis(&harness);
  redisReply *first = redisCommand(redis, "XRANGE lp:events - + COUNT 1");
  cr_assert(first && first->type == REDIS_REPLY_ARRAY && first->elements == 1);
  char first_before[64];
  snprintf(first_before, sizeof first_before, "%s", first->element[0]->element[0]->str);
  freeReplyObject(first);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);

  redisReply *entries = redisCommand(redis, "XRANGE lp:events - +");
  cr_assert(entries && entries->type == REDIS_REPLY_ARRAY && entries->elements > 0);
  cr_assert_str_neq(entries->element[0]->element[0]->str, first_before,
                    "the stream must have been trimmed while the epoch was written");
  char **naming = calloc(entries->elements + 1, sizeof *naming);
  size_t named = 0;
  for (size_t e = 0; e < entries->elements; e++) {
    const redisReply *fields = entries->element[e]->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (strcmp(fields->element[f]->str, "event") != 0) continue;
      Leerplek__V1__Event *event =
          leerplek__v1__event__unpack(NULL, fields->element[f + 1]->len, (const uint8_t *)fields->element[f + 1]->str);
      cr_assert_not_null(event);
      if (strcmp(event->company_id, "1111111111") == 0) {
        naming[named] = malloc(32);
        padded_id(entries->element[e]->element[0]->str, naming[named++], 32);
      }
      protobuf_c_message_free_unpacked(&event->base, NULL);
    }
  }
  freeReplyObject(entries);
  redisReply *index = redisCommand(redis, "ZRANGE lp:history:company:1111111111 0 -1");
  cr_assert(index && index->type == REDIS_REPLY_ARRAY);
  cr_assert_gt(named, 100, "the epoch's events name the company (%zu do)", named);
  cr_assert_eq(index->elements, named, "the index holds %zu ids, the stream %zu events naming the company",
               index->elements, named);
  qsort(naming, named, sizeof *naming, by_text);
  for (size_t m = 0; m < named; m++) {
    cr_assert_str_eq(index->element[m]->str, naming[m], "index member %zu", m);
    free(naming[m]);
  }
  free(naming);
  freeReplyObject(index);
  redisFree(redis);
}

/* A slice makes a staged record current only while the record is still in its index (one
 * SMISMEMBER per kind in SLICE_SCRIPT): a placement erased after the marker was written (here
 * behind the killed daemon's back, as an erasure committed between two slices would) is not
 * brought back by the restarted daemon finishing the promote, its staged copy goes, and every
 * other staged record is made current. */
Test(rematch_staged, a_record_erased_mid_promote_is_not_brought_back_by_the_finish) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0, "%s", response->status->message);
  leerplek_response_free(response);
  int verdict = 0;
  pthread_t thread;
  rematch_until_mid_promote(&thread, &verdict);
  cr_assert_eq(harness_stop_daemon(&harness, SIGKILL), 128 + SIGKILL);
  pthread_join(thread, NULL);
  redisContext *redis = harness_redis(&harness);
  redisReply *marker = redisCommand(redis, "HMGET lp:promote done run");
  cr_assert(marker && marker->type == REDIS_REPLY_ARRAY && marker->element[1]->type == REDIS_REPLY_STRING,
            "killed mid-promote: the marker is there");
  redisReply *names = redisCommand(redis, "LRANGE %snames %s -1", marker->element[1]->str, marker->element[0]->str);
  cr_assert(names && names->type == REDIS_REPLY_ARRAY);
  char key[128] = "";
  for (size_t n = 0; n < names->elements && !key[0]; n++)
    if (strncmp(names->element[n]->str, "placement\n", 10) == 0) sscanf(names->element[n]->str + 10, "%127[^\n]", key);
  cr_assert(key[0], "a placement is staged but not yet current");
  freeReplyObject(names);
  freeReplyObject(marker);
  redisReply *gone = redisCommand(redis, "SREM lp:index:placement %s", key);
  cr_assert(gone && gone->type == REDIS_REPLY_INTEGER && gone->integer == 1);
  freeReplyObject(gone);
  gone = redisCommand(redis, "DEL lp:placement:%s", key);
  cr_assert(gone && gone->integer == 1);
  freeReplyObject(gone);

  leerplek_close(coordinator);
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  cr_assert_not_null(coordinator = harness_connect(&harness, coordinator_token));
  cr_assert_eq(redis_integer("GET lp:epoch"), 2, "the restart finished the promote");
  cr_assert_eq(redis_integer("EXISTS lp:promote"), 0);
  cr_assert_eq(redis_integer("KEYS lp:stage:*"), 0, "the erased record's staged copy is gone too");
  redisReply *record = redisCommand(redis, "EXISTS lp:placement:%s", key);
  cr_assert(record && record->type == REDIS_REPLY_INTEGER);
  cr_assert_eq(record->integer, 0, "the erased placement %s was brought back by the promote", key);
  freeReplyObject(record);
  int proposed = 0;
  for (int i = 0; i < PUPILS; i++) {
    char other[32];
    snprintf(other, sizeof other, "school-a/p%03d", i);
    if (strcmp(other, key) == 0) continue;
    record = redisCommand(redis, "GET lp:placement:%s", other);
    cr_assert(record && record->type == REDIS_REPLY_STRING, "placement %s is in the store", other);
    Leerplek__V1__Placement *placement =
        leerplek__v1__placement__unpack(NULL, record->len, (const uint8_t *)record->str);
    cr_assert_not_null(placement);
    proposed += placement->state == STATE(PROPOSED);
    protobuf_c_message_free_unpacked(&placement->base, NULL);
    freeReplyObject(record);
  }
  cr_assert_geq(proposed, 2 * (FIRST_VACANCIES + MORE_VACANCIES) - 1, "every other staged placement is current");
  redisFree(redis);
}
