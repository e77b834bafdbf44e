/* test_own_events: a daemon does not re-read the records of its own confirmed events from
 * Redis (lp_store_own_event, lp_follow.c), yet two daemons on one Redis still converge, even
 * when both were given the same instance_id and one overwrites what the other wrote. */
#include "common.h"

static lp_harness first;
static lp_harness second;
static char coordinator_token[128];
/* The same name in lp:events for both: the skip must not go by the event's instance field. */
static const char *const same_instance[] = {"--instance_id", "twin", NULL};

static void setup(void) {
  start_all(&first, same_instance);
  second = first;
  second.redis_pid = 0; /* redis belongs to `first` */
  snprintf(second.daemon_address, sizeof second.daemon_address, "unix:%s/leerplekd-2.sock", first.dir);
  cr_assert_eq(harness_start_daemon(&second, same_instance), 0);
}

static void teardown(void) {
  cr_assert_eq(harness_stop_daemon(&second, SIGTERM), 0, "second leerplekd did not exit cleanly");
  cr_assert_eq(harness_cleanup(&first), 0, "leerplekd did not exit cleanly");
}

TestSuite(own_events, .init = setup, .fini = teardown, .timeout = 60);

/* A coordinator on each daemon (the token is made on the first and followed by the second). */
static void connect_both(leerplek_client **on_first, leerplek_client **on_second) {
  leerplek_client *admin = harness_connect(&first, first.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
  *on_second = NULL;
  for (long long deadline = harness_now_ms() + 3000; !*on_second && harness_now_ms() < deadline; sleep_ms(20)) {
    char error[256];
    if (leerplek_connect(second.daemon_address, coordinator_token, on_second, error, sizeof error) != 0)
      *on_second = NULL;
  }
  cr_assert_not_null(*on_second, "the token made on the first daemon never reached the second");
  cr_assert_not_null(*on_first = harness_connect(&first, coordinator_token));
}

/* Polls until client serves training code with name (3 s at most). */
static bool serves_training(leerplek_client *client, const char *code, const char *name) {
  for (long long deadline = harness_now_ms() + 3000; harness_now_ms() < deadline; sleep_ms(10)) {
    Leerplek__V1__Response *response = NULL;
    bool same =
        get_training_code(client, code, &response) == 0 && strcmp(response->get_training->training->name, name) == 0;
    leerplek_response_free(response);
    if (same) return true;
  }
  return false;
}

static long long mget_calls(redisContext *redis) {
  redisReply *info = redisCommand(redis, "INFO commandstats");
  cr_assert(info && info->type == REDIS_REPLY_STRING);
  const char *line = strstr(info->str, "cmdstat_mget:calls=");
  long long calls = line ? atoll(line + strlen("cmdstat_mget:calls=")) : 0;
  freeReplyObject(info);
  return calls;
}

enum { WRITES = 200 };

/* Each write on the first is one event: the second re-reads every one (one MGET each: a
 * training is one record), the first most of its own not. */
Test(own_events, a_daemon_skips_its_own_events_and_follows_the_others) {
  leerplek_client *on_first, *on_second;
  connect_both(&on_first, &on_second);
  redisContext *redis = harness_redis(&first);
  sleep_ms(300); /* the token's event is followed by both */
  freeReplyObject(redisCommand(redis, "CONFIG RESETSTAT"));
  char code[32], name[32];
  for (int w = 0; w < WRITES; w++) {
    snprintf(code, sizeof code, "T%03d", w);
    snprintf(name, sizeof name, "training %d", w);
    cr_assert_eq(upsert_training(on_first, code, name), 0);
  }
  cr_assert(serves_training(on_second, code, name), "the second daemon never served the first's last write");
  sleep_ms(300); /* both followers are through the stream */
  long long calls = mget_calls(redis);
  cr_assert_geq(calls, WRITES, "the second daemon re-reads each of the first's %d events: %lld MGETs", WRITES, calls);
  /* The first knows an event as its own only once EXEC's reply is in (lp_store_take_replies):
   * about two in three here; at least one in ten must be skipped. */
  cr_assert_lt(calls, 2 * WRITES - WRITES / 10,
               "the first daemon re-read nearly all of its own %d events (%lld MGETs in all, both daemons)", WRITES,
               calls);
  /* The same name, the other way round. */
  cr_assert_eq(upsert_training(on_second, "BACK", "from the second"), 0);
  cr_assert(serves_training(on_first, "BACK", "from the second"), "the first daemon never served the second's write");
  redisFree(redis);
  leerplek_close(on_first);
  leerplek_close(on_second);
}

/* What one daemon wrote and the other then overwrote is served as the overwrite by both, and
 * the first's next write wins again everywhere: an own event skipped never hides a later write. */
Test(own_events, an_overwrite_by_the_other_daemon_is_served_by_both) {
  leerplek_client *on_first, *on_second;
  connect_both(&on_first, &on_second);
  for (int round = 0; round < 20; round++) {
    char mine[32], theirs[32];
    snprintf(mine, sizeof mine, "first %d", round);
    snprintf(theirs, sizeof theirs, "second %d", round);
    cr_assert_eq(upsert_training(on_first, "KAPPER", mine), 0);
    cr_assert(serves_training(on_second, "KAPPER", mine), "round %d: the second never served the first's write", round);
    cr_assert_eq(upsert_training(on_second, "KAPPER", theirs), 0);
    cr_assert(serves_training(on_first, "KAPPER", theirs), "round %d: the first kept its own record over the second's",
              round);
    cr_assert(serves_training(on_second, "KAPPER", theirs));
  }
  leerplek_close(on_first);
  leerplek_close(on_second);
}
