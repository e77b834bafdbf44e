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
