/* test_scaleout: two daemons on one Redis, started with no scale-out flag at all (following
 * lp:events is the default), converge: what one writes (a record, a token, an erasure, a
 * referral), the other serves within moments. */
#include "common.h"
#include "support_common.h"

static lp_harness first;
static lp_harness second;
static char coordinator_token[128];
/* None: a second daemon must not depend on a flag someone has to remember. */
static const char *const *const follow_flags = NULL;

static void setup(void) {
  start_all(&first, follow_flags);
  second = first;
  second.redis_pid = 0; /* redis belongs to `first` */
  snprintf(second.daemon_address, sizeof second.daemon_address, "unix:%s/leerplekd-2.sock", first.dir);
  cr_assert_eq(harness_start_daemon(&second, follow_flags), 0);
}

static void teardown(void) {
  cr_assert_eq(harness_stop_daemon(&second, SIGTERM), 0, "second leerplekd did not exit cleanly");
  cr_assert_eq(harness_cleanup(&first), 0, "leerplekd did not exit cleanly");
}

TestSuite(scaleout, .init = setup, .fini = teardown, .timeout = 60);

/* Polls get_pupil on client until it returns want (3 s at most). */
static int wait_for_pupil(leerplek_client *client, const char *ref, int want) {
  int code = -1;
  for (long long deadline = harness_now_ms() + 3000; harness_now_ms() < deadline; sleep_ms(20))
    if ((code = get_pupil(client, "school-1", ref, NULL)) == want) break;
  return code;
}

Test(scaleout, writes_on_one_daemon_are_served_by_the_other) {
  leerplek_client *admin = harness_connect(&first, first.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);

  /* The token made on the first daemon works on the second. */
  leerplek_client *on_second = NULL;
  for (long long deadline = harness_now_ms() + 3000; !on_second && harness_now_ms() < deadline; sleep_ms(20)) {
    char error[256];
    if (leerplek_connect(second.daemon_address, coordinator_token, &on_second, error, sizeof error) != 0)
      on_second = NULL;
  }
  cr_assert_not_null(on_second, "a token created on one daemon must work on the other");
  leerplek_client *on_first = harness_connect(&first, coordinator_token);

  cr_assert_eq(upsert_training(on_first, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_training(on_first, "CHEMIE", "Chemie"), 0);
  /* Registering on the second needs the training written on the first. */
  int code = -1;
  for (long long deadline = harness_now_ms() + 3000; harness_now_ms() < deadline && code != 0; sleep_ms(20))
    code = register_pupil(on_second, "school-1", "p-1", "KAPPER");
  cr_assert_eq(code, 0, "the second daemon never saw the training: %s", leerplek_status_name(code));
  cr_assert_eq(wait_for_pupil(on_first, "p-1", 0), 0, "the first daemon never saw the pupil");

  /* An update on the first reaches the second. */
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-1", "p-1", "CHEMIE");
  Leerplek__V1__UpdatePupilRequest update = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
  update.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL;
  request.update_pupil = &update;
  cr_assert_eq(call_code(on_first, &request, NULL), 0);
  bool seen = false;
  for (long long deadline = harness_now_ms() + 3000; !seen && harness_now_ms() < deadline; sleep_ms(20)) {
    Leerplek__V1__Response *response = NULL;
    if (get_pupil(on_second, "school-1", "p-1", &response) == 0)
      seen = strcmp(response->get_pupil->pupil->training_code, "CHEMIE") == 0;
    leerplek_response_free(response);
  }
  cr_assert(seen, "the update on the first daemon never reached the second");

  /* An erasure on the second reaches the first. */
  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase.school_id = (char *)"school-1";
  erase.pupil_ref = (char *)"p-1";
  Leerplek__V1__Request erase_request = LEERPLEK__V1__REQUEST__INIT;
  erase_request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
  erase_request.erase_pupil = &erase;
  cr_assert_eq(call_code(on_second, &erase_request, NULL), 0);
  cr_assert_eq(wait_for_pupil(on_first, "p-1", CODE(NOT_FOUND)), CODE(NOT_FOUND),
               "the erasure never reached the first daemon");
  leerplek_close(on_first);
  leerplek_close(on_second);
}

/* Following re-reads every record written, ours included: an older copy read back from Redis
 * must never replace a newer write of ours, or a client would not read its own write. */
Test(scaleout, each_daemon_reads_its_own_writes_back_at_once_while_following) {
  leerplek_client *admin = harness_connect(&first, first.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
  leerplek_client *client = harness_connect(&first, coordinator_token);
  cr_assert_not_null(client);
  for (int i = 0; i < 400; i++) {
    char name[32];
    snprintf(name, sizeof name, "version %d", i);
    cr_assert_eq(upsert_training(client, "RYW", name), 0);
    Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
    get.code = (char *)"RYW";
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
    request.get_training = &get;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(client, &request, &response), 0);
    cr_assert_str_eq(response->get_training->training->name, name, "write %d read back as an older version", i);
    leerplek_response_free(response);
  }
  leerplek_close(client);
}

/* Polls get_referral (school-1/p-2, FOWERK) on client until it returns want (3 s at most). */
static int wait_for_referral(leerplek_client *client, int want) {
  int code = -1;
  for (long long deadline = harness_now_ms() + 3000; harness_now_ms() < deadline; sleep_ms(20))
    if ((code = get_referral(client, "school-1", "p-2", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK,
                             NULL)) == want)
      break;
  return code;
}

Test(scaleout, a_referral_and_its_erasure_reach_the_other_daemon) {
  leerplek_client *admin = harness_connect(&first, first.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
  leerplek_client *on_first = harness_connect(&first, coordinator_token), *on_second = NULL;
  for (long long deadline = harness_now_ms() + 3000; !on_second && harness_now_ms() < deadline; sleep_ms(20)) {
    char error[256];
    if (leerplek_connect(second.daemon_address, coordinator_token, &on_second, error, sizeof error) != 0)
      on_second = NULL;
  }
  cr_assert(on_first && on_second);
  cr_assert_eq(upsert_training(on_first, "KAPPER", "Kapper"), 0);
  cr_assert_eq(register_pupil(on_first, "school-1", "p-2", "KAPPER"), 0);
  cr_assert_eq(
      refer_pupil(on_first, "school-1", "p-2", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK, NULL), 0);
  cr_assert_eq(wait_for_referral(on_second, 0), 0, "the referral never reached the second daemon");
  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase.school_id = (char *)"school-1";
  erase.pupil_ref = (char *)"p-2";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
  request.erase_pupil = &erase;
  cr_assert_eq(call_code(on_first, &request, NULL), 0);
  cr_assert_eq(wait_for_referral(on_second, CODE(NOT_FOUND)), CODE(NOT_FOUND),
               "the second daemon still serves the erased pupil's referral");
  leerplek_close(on_first);
  leerplek_close(on_second);
}
