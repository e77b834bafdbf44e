/* test_durability: acknowledged writes survive kill -9 of the daemon and a restart of Redis;
 * while Redis is down writes are refused (nothing half-done), and the daemon reconnects. */
#include <unistd.h>

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

TestSuite(durability, .init = setup, .fini = teardown, .timeout = 60);

Test(durability, acknowledged_writes_survive_kill_9_of_the_daemon) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  for (int i = 0; i < 50; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p-%02d", i);
    cr_assert_eq(register_pupil(client, "school-1", ref, "KAPPER"), 0);
  }
  leerplek_close(client);
  cr_assert_eq(harness_stop_daemon(&harness, SIGKILL), 128 + SIGKILL);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  client = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(client, "the coordinator token survives too");
  for (int i = 0; i < 50; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p-%02d", i);
    cr_assert_eq(get_pupil(client, "school-1", ref, NULL), 0, "pupil %s lost", ref);
  }
  leerplek_close(client);
}

Test(durability, redis_restart_loses_nothing_and_the_daemon_reconnects) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  cr_assert_eq(register_pupil(client, "school-1", "before", "KAPPER"), 0);

  harness_stop_redis(&harness, true);
  /* Reads are answered from memory; writes are refused with a retryable code. */
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
  int code = register_pupil(client, "school-1", "during", "KAPPER");
  cr_assert(code == CODE(UNAVAILABLE) || code == CODE(DEADLINE_EXCEEDED), "got %s", leerplek_status_name(code));

  cr_assert_eq(harness_start_redis(&harness), 0);
  long long deadline = harness_now_ms() + 10000;
  while ((code = register_pupil(client, "school-1", "after", "KAPPER")) != 0 && harness_now_ms() < deadline)
    sleep_ms(50);
  cr_assert_eq(code, 0, "the daemon did not reconnect: %s", leerplek_status_name(code));
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0, "acknowledged write lost over the redis restart");
  leerplek_close(client);

  /* And all of it is in Redis itself: a fresh daemon loads it. */
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0, "SIGTERM exits cleanly");
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
  cr_assert_eq(get_pupil(client, "school-1", "after", NULL), 0);
  leerplek_close(client);
}

Test(durability, sigterm_answers_calls_in_flight_then_exits_zero) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  enum { COUNT = 100 };
  for (int i = 0; i < COUNT; i++) {
    Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
    char code[16];
    snprintf(code, sizeof code, "T-%03d", i);
    training.code = code;
    training.name = (char *)"x";
    Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
    upsert.training = &training;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
    request.upsert_training = &upsert;
    cr_assert_eq(leerplek_send(client, &request), 0);
  }
  cr_assert_eq(leerplek_flush(client), 0);
  /* The first reply proves the daemon has read the requests before the signal. */
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(leerplek_receive(client, &response), 0);
  leerplek_response_free(response);
  kill(harness.daemon_pid, SIGTERM);
  int answered = 1;
  while (leerplek_receive(client, &response) == 0) {
    cr_assert(response->status->code == 0 || response->status->code == CODE(UNAVAILABLE));
    leerplek_response_free(response);
    answered++;
  }
  cr_assert_eq(harness_stop_daemon(&harness, 0), 0, "exit status after SIGTERM");
  cr_assert_geq(answered, 1);
  leerplek_close(client);
}

Test(durability, a_hung_redis_times_out_writes_but_not_reads) {
  /* A daemon with a short store timeout, on the same store. */
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  static const char *const flags[] = {"--redis_timeout_ms", "300", NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  cr_assert_eq(register_pupil(client, "school-1", "before", "KAPPER"), 0);

  kill(harness.redis_pid, SIGSTOP);
  long long started = harness_now_ms();
  int code = register_pupil(client, "school-1", "during", "KAPPER");
  long long waited = harness_now_ms() - started;
  cr_assert_eq(code, CODE(DEADLINE_EXCEEDED), "got %s", leerplek_status_name(code));
  cr_assert_lt(waited, 2000, "the write waited %lld ms for a hung redis", waited);
  /* Reads are answered from memory at once, also while the daemon keeps retrying. */
  for (int i = 0; i < 5; i++) {
    started = harness_now_ms();
    cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
    cr_assert_lt(harness_now_ms() - started, 200, "a read was blocked by the hung store");
    sleep_ms(100);
  }
  kill(harness.redis_pid, SIGCONT);

  long long deadline = harness_now_ms() + 10000;
  while ((code = register_pupil(client, "school-1", "after", "KAPPER")) != 0 && harness_now_ms() < deadline) sleep_ms(50);
  cr_assert_eq(code, 0, "no recovery after redis resumed: %s", leerplek_status_name(code));
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
  /* The timed-out write may or may not have happened; the daemon must agree with Redis. */
  redisContext *redis = harness_redis(&harness);
  redisReply *exists = redisCommand(redis, "EXISTS lp:pupil:school-1/during");
  int daemon_code = get_pupil(client, "school-1", "during", NULL);
  cr_assert_eq(daemon_code == 0, exists->integer == 1, "daemon and redis disagree about the timed-out write");
  freeReplyObject(exists);
  redisFree(redis);
  leerplek_close(client);
}

/* Gets training code over client; its status code (the message in message). */
static int get_training_code(leerplek_client *client, const char *code) {
  Leerplek__V1__GetTrainingRequest body = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  body.code = (char *)code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &body;
  return call_code(client, &request, NULL);
}

Test(durability, reads_are_answered_while_the_state_reloads_after_a_lost_link) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  cr_assert_eq(register_pupil(client, "school-1", "before", "KAPPER"), 0);
  /* Records put into Redis behind the daemon's back: it has them only once it reloads, and
   * there are enough of them for the reload to take a while. */
  enum { BEHIND = 60000 };
  redisContext *redis = harness_redis(&harness);
  for (int i = 0; i < BEHIND; i++) {
    char code[16];
    snprintf(code, sizeof code, "BEHIND-%05d", i);
    Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
    training.code = code;
    training.name = code;
    uint8_t packed[64];
    size_t size = protobuf_c_message_pack(&training.base, packed);
    redisAppendCommand(redis, "SET lp:training:%s %b", code, packed, size);
    redisAppendCommand(redis, "SADD lp:index:training %s", code);
  }
  for (int i = 0; i < 2 * BEHIND; i++) {
    void *reply = NULL;
    cr_assert_eq(redisGetReply(redis, &reply), REDIS_OK);
    freeReplyObject(reply);
  }
  cr_assert_eq(get_training_code(client, "BEHIND-00000"), CODE(NOT_FOUND), "not loaded yet");

  /* Redis drops the daemon's links; it reconnects and reloads. */
  redisReply *killed = redisCommand(redis, "CLIENT KILL TYPE normal");
  cr_assert(killed && killed->type == REDIS_REPLY_INTEGER && killed->integer >= 1);
  freeReplyObject(killed);
  redisFree(redis);

  /* Writes are refused while it reloads; a read between two such refusals was answered in the
   * middle of the reload, from the state before it. */
  int reads_during_reload = 0, code = -1, pupil_code = -1, behind_code = -1;
  bool reloading = false;
  for (long long deadline = harness_now_ms() + 15000; harness_now_ms() < deadline;) {
    Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
    training.code = (char *)"DURING";
    training.name = (char *)"During";
    Leerplek__V1__UpsertTrainingRequest body = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
    body.training = &training;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
    request.upsert_training = &body;
    Leerplek__V1__Response *response = NULL;
    code = call_code(client, &request, &response);
    bool now_reloading = code == CODE(UNAVAILABLE) && strstr(response->status->message, "reloading") != NULL;
    cr_assert(code == 0 || code == CODE(UNAVAILABLE) || code == CODE(DEADLINE_EXCEEDED), "got %s",
              leerplek_status_name(code));
    if (code == CODE(UNAVAILABLE)) cr_assert_gt(response->status->retry_after_ms, 0);
    leerplek_response_free(response);
    if (code == 0) break;
    if (reloading && now_reloading) {
      reads_during_reload++;
      cr_assert_eq(pupil_code, 0, "a read failed during the reload: %s", leerplek_status_name(pupil_code));
      cr_assert_eq(behind_code, CODE(NOT_FOUND), "a read during the reload saw a part of the loading state");
    }
    reloading = now_reloading;
    if (reloading) {
      pupil_code = get_pupil(client, "school-1", "before", NULL);
      behind_code = get_training_code(client, "BEHIND-00000");
    } else {
      sleep_ms(10);
    }
  }
  cr_assert_eq(code, 0, "writes did not come back after the reload: %s", leerplek_status_name(code));
  cr_assert_gt(reads_during_reload, 0, "no read was answered while the state reloaded");
  /* The loaded state is in place: the records behind its back and everything acknowledged. */
  cr_assert_eq(get_training_code(client, "BEHIND-00000"), 0);
  cr_assert_eq(get_training_code(client, "BEHIND-59999"), 0);
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
  cr_assert_eq(get_training_code(client, "DURING"), 0, "the acknowledged write after the reload");
  leerplek_close(client);
}
