/* test_replies: get calls answer from the packed bytes the state keeps per record
 * (lp_state_packed); every change to the record, through the API or by a reload from Redis,
 * shows in the next reply. (Debug builds also compare each such reply with protobuf-c's.) */
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

TestSuite(replies, .init = setup, .fini = teardown, .timeout = 60);

/* The training's name as get_training answers it (caller frees), or NULL when not OK. */
static char *training_name(leerplek_client *client, const char *code) {
  Leerplek__V1__GetTrainingRequest body = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  body.code = (char *)code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &body;
  Leerplek__V1__Response *response = NULL;
  int code_got = call_code(client, &request, &response);
  char *name = code_got == 0 && response->get_training && response->get_training->training
                   ? strdup(response->get_training->training->name) : NULL;
  leerplek_response_free(response);
  return name;
}

static void assert_name(leerplek_client *client, const char *code, const char *expected) {
  char *name = training_name(client, code);
  cr_assert_not_null(name, "get_training %s failed", code);
  cr_assert_str_eq(name, expected);
  free(name);
}

Test(replies, a_get_after_a_change_shows_the_change) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  assert_name(client, "KAPPER", "Kapper");
  assert_name(client, "KAPPER", "Kapper"); /* from the kept bytes */
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapster"), 0);
  assert_name(client, "KAPPER", "Kapster");

  /* A company: its recognised trainings change. */
  cr_assert_eq(upsert_training(client, "LASSER", "Lasser"), 0);
  cr_assert_eq(upsert_company(client, "0123456789", "KAPPER"), 0);
  for (int round = 0; round < 2; round++) {
    Leerplek__V1__GetCompanyRequest body = LEERPLEK__V1__GET_COMPANY_REQUEST__INIT;
    body.company_id = (char *)"0123456789";
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_COMPANY;
    request.get_company = &body;
    for (int read = 0; read < 2; read++) {
      Leerplek__V1__Response *response = NULL;
      cr_assert_eq(call_code(client, &request, &response), 0);
      const Leerplek__V1__Company *company = response->get_company->company;
      cr_assert_eq(company->n_recognised_training_codes, 1);
      cr_assert_str_eq(company->recognised_training_codes[0], round == 0 ? "KAPPER" : "LASSER");
      leerplek_response_free(response);
    }
    if (round == 0) cr_assert_eq(upsert_company(client, "0123456789", "LASSER"), 0);
  }

  /* A pupil (its key joins school and ref), read twice. */
  cr_assert_eq(register_pupil(client, "school-1", "p-1", "KAPPER"), 0);
  cr_assert_eq(get_pupil(client, "school-1", "p-1", NULL), 0);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_pupil(client, "school-1", "p-1", &response), 0);
  cr_assert_str_eq(response->get_pupil->pupil->training_code, "KAPPER");
  leerplek_response_free(response);
  leerplek_close(client);
}

Test(replies, a_reload_from_redis_drops_the_kept_bytes) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  assert_name(client, "KAPPER", "Kapper");
  assert_name(client, "KAPPER", "Kapper");
  /* Changed in Redis behind the daemon's back; it sees it only by reloading. */
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)"KAPPER";
  training.name = (char *)"Achter";
  uint8_t packed[64];
  size_t size = protobuf_c_message_pack(&training.base, packed);
  redisContext *redis = harness_redis(&harness);
  redisReply *reply = redisCommand(redis, "SET lp:training:KAPPER %b", packed, size);
  cr_assert(reply && reply->type == REDIS_REPLY_STATUS);
  freeReplyObject(reply);
  assert_name(client, "KAPPER", "Kapper");
  reply = redisCommand(redis, "CLIENT KILL TYPE normal");
  cr_assert(reply && reply->type == REDIS_REPLY_INTEGER);
  freeReplyObject(reply);
  redisFree(redis);
  char *name = NULL;
  for (long long deadline = harness_now_ms() + 10000; harness_now_ms() < deadline; sleep_ms(20)) {
    free(name);
    name = training_name(client, "KAPPER");
    cr_assert_not_null(name, "reads keep being answered while the daemon reconnects and reloads");
    if (strcmp(name, "Achter") == 0) break;
    cr_assert_str_eq(name, "Kapper");
  }
  cr_assert_str_eq(name, "Achter", "the reload did not replace the kept reply");
  free(name);
  leerplek_close(client);
}
