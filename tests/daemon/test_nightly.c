/* test_nightly: the daemon's nightly run, set a minute or two ahead: the rematch, then the
 * dispatch of waiting referrals on the daemon that ran it, each referral's history naming
 * "nightly". Slow by nature (it waits for the clock), so it is one test on its own. */
#include "common.h"
#include "support_common.h"

static lp_harness harness;

TestSuite(nightly, .timeout = 180);

Test(nightly, the_nightly_run_dispatches_waiting_referrals) {
  /* At least 5 s before the minute the daemon aims at, so it arms for today, not tomorrow. */
  time_t now = time(NULL);
  struct tm local;
  localtime_r(&now, &local);
  int minute_of_day = (local.tm_hour * 60 + local.tm_min + (local.tm_sec >= 55 ? 2 : 1)) % 1440;
  char at[8];
  snprintf(at, sizeof at, "%02d:%02d", minute_of_day / 60, minute_of_day % 60);
  const char *const flags[] = {"--rematch_nightly_time", at, NULL};
  start_all(&harness, flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_client *coordinator = harness_connect(&harness, token);
  cr_assert_not_null(coordinator);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-a"), 0);
  cr_assert_eq(upsert_support_offer(coordinator, "off-a", "oal-a"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-a", "p1", "KAPPER"), 0);
  cr_assert_eq(
      refer_pupil(coordinator, "school-a", "p1", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK, NULL), 0);

  bool offered = false;
  char actor[64] = "";
  for (long long deadline = harness_now_ms() + 150000; !offered && harness_now_ms() < deadline; sleep_ms(500)) {
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(get_referral(coordinator, "school-a", "p1", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK,
                              &response),
                 0);
    const Leerplek__V1__Referral *referral = response->get_referral->referral;
    offered = referral->state == LEERPLEK__V1__REFERRAL_STATE__REFERRAL_STATE_OFFERED;
    if (offered) snprintf(actor, sizeof actor, "%s", referral->history[referral->n_history - 1]->actor);
    leerplek_response_free(response);
  }
  cr_assert(offered, "the nightly run at %s did not dispatch the referral", at);
  cr_assert_str_eq(actor, "nightly");
  /* It is in Redis, not only in memory. */
  redisContext *redis = harness_redis(&harness);
  redisReply *stored = redisCommand(redis, "GET lp:referral:school-a/p1/FOWERK");
  cr_assert_eq(stored->type, REDIS_REPLY_STRING);
  Leerplek__V1__Referral *referral = leerplek__v1__referral__unpack(NULL, stored->len, (const uint8_t *)stored->str);
  cr_assert_not_null(referral);
  cr_assert_str_eq(referral->offer_id, "off-a");
  leerplek__v1__referral__free_unpacked(referral, NULL);
  freeReplyObject(stored);
  redisFree(redis);
  leerplek_close(coordinator);
  leerplek_close(admin);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}
