/* test_durability: acknowledged writes survive kill -9 of the daemon and a restart of Redis;
 * while Redis is down writes are refused (nothing half-done), and the daemon reconnects; while
 * it reloads after a lost link reads are answered, and a read after a change always shows it. */
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
  while ((code = register_pupil(client, "school-1", "after", "KAPPER")) != 0 && harness_now_ms() < deadline)
    sleep_ms(50);
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

/* Redis drops every link of the daemon's; it reconnects and reloads. Frees redis. */
static void drop_the_daemons_links(redisContext *redis) {
  redisReply *killed = redisCommand(redis, "CLIENT KILL TYPE normal");
  cr_assert(killed && killed->type == REDIS_REPLY_INTEGER && killed->integer >= 1);
  freeReplyObject(killed);
  redisFree(redis);
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
    append_training_behind(redis, code, code);
  }
  read_replies(redis, 2 * BEHIND);
  cr_assert_eq(get_training_code(client, "BEHIND-00000", NULL), CODE(NOT_FOUND), "not loaded yet");
  drop_the_daemons_links(redis);

  /* Writes are refused while it reloads; a read between two such refusals was answered in the
   * middle of the reload, from the state before it. */
  int reads_during_reload = 0, code = -1, pupil_code = -1, behind_code = -1;
  bool reloading = false;
  for (long long deadline = harness_now_ms() + 15000; harness_now_ms() < deadline;) {
    Leerplek__V1__Response *response = NULL;
    code = upsert_training_out(client, "DURING", "During", &response);
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
      behind_code = get_training_code(client, "BEHIND-00000", NULL);
    } else {
      sleep_ms(10);
    }
  }
  cr_assert_eq(code, 0, "writes did not come back after the reload: %s", leerplek_status_name(code));
  cr_assert_gt(reads_during_reload, 0, "no read was answered while the state reloaded");
  /* The loaded state is in place: the records behind its back and everything acknowledged. */
  cr_assert_eq(get_training_code(client, "BEHIND-00000", NULL), 0);
  cr_assert_eq(get_training_code(client, "BEHIND-59999", NULL), 0);
  cr_assert_eq(get_pupil(client, "school-1", "before", NULL), 0);
  cr_assert_eq(get_training_code(client, "DURING", NULL), 0, "the acknowledged write after the reload");
  leerplek_close(client);
}

/* Get calls answer from the packed bytes the state keeps per record (lp_state_packed); every
 * change to the record, through the API or by a reload from Redis, shows in the next reply.
 * (Debug builds also compare each such reply with protobuf-c's.) */

/* The training's name as get_training answers it (caller frees), or NULL when not OK. */
static char *training_name(leerplek_client *client, const char *code) {
  Leerplek__V1__Response *response = NULL;
  int code_got = get_training_code(client, code, &response);
  char *name = code_got == 0 && response->get_training && response->get_training->training
                   ? strdup(response->get_training->training->name)
                   : NULL;
  leerplek_response_free(response);
  return name;
}

static void assert_name(leerplek_client *client, const char *code, const char *expected) {
  char *name = training_name(client, code);
  cr_assert_not_null(name, "get_training %s failed", code);
  cr_assert_str_eq(name, expected);
  free(name);
}

Test(durability, a_get_after_a_change_shows_the_change) {
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

Test(durability, a_reload_from_redis_drops_the_kept_bytes) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  assert_name(client, "KAPPER", "Kapper");
  assert_name(client, "KAPPER", "Kapper");
  /* Changed in Redis behind the daemon's back; it sees it only by reloading. */
  redisContext *redis = harness_redis(&harness);
  append_training_behind(redis, "KAPPER", "Achter");
  read_replies(redis, 2);
  assert_name(client, "KAPPER", "Kapper");
  drop_the_daemons_links(redis);
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

/* get_vacancy's request for id. */
static Leerplek__V1__Request *get_vacancy_request(Leerplek__V1__Request *request, Leerplek__V1__GetVacancyRequest *body,
                                                  const char *id) {
  leerplek__v1__get_vacancy_request__init(body);
  body->vacancy_id = (char *)id;
  leerplek__v1__request__init(request);
  request->body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request->get_vacancy = body;
  return request;
}

/* A read pipelined right behind a write on the same connection is answered before that write's
 * EXEC comes back; it must show the write all the same, never the bytes kept from before. */
Test(durability, a_get_pipelined_behind_a_write_shows_the_write) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(client, "0123456789", "KAPPER"), 0);
  cr_assert_eq(upsert_location(client, "L-1", "0123456789"), 0);
  cr_assert_eq(publish_vacancy_seats(client, "V-1", "L-1", "KAPPER", 2), 0);
  Leerplek__V1__GetVacancyRequest get_body;
  Leerplek__V1__Request get;
  get_vacancy_request(&get, &get_body, "V-1");
  Leerplek__V1__Response *stored = NULL;
  cr_assert_eq(call_code(client, &get, &stored), 0);
  Leerplek__V1__Vacancy *vacancy = stored->get_vacancy->vacancy;
  for (uint32_t round = 0; round < 20; round++) {
    uint32_t before = vacancy->seats, after = 3 + round;
    vacancy->seats = after;
    Leerplek__V1__UpdateVacancyRequest update_body = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
    update_body.vacancy = vacancy;
    Leerplek__V1__Request update = LEERPLEK__V1__REQUEST__INIT;
    update.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
    update.update_vacancy = &update_body;
    /* get (kept bytes), update, get, get: one write, four replies in order. */
    cr_assert_eq(leerplek_send(client, &get), 0);
    cr_assert_eq(leerplek_send(client, &update), 0);
    cr_assert_eq(leerplek_send(client, &get), 0);
    cr_assert_eq(leerplek_send(client, &get), 0);
    cr_assert_eq(leerplek_flush(client), 0);
    uint32_t expected[4] = {before, after, after, after};
    for (int i = 0; i < 4; i++) {
      Leerplek__V1__Response *response = NULL;
      cr_assert_eq(leerplek_receive(client, &response), 0, "transport error: %s", leerplek_error(client));
      cr_assert_eq(response->status->code, 0, "reply %d of round %u: %s", i, round, response->status->message);
      const Leerplek__V1__Vacancy *seen = i == 1                  ? response->update_vacancy->vacancy
                                          : response->get_vacancy ? response->get_vacancy->vacancy
                                                                  : NULL;
      cr_assert_not_null(seen, "reply %d of round %u carries no vacancy", i, round);
      cr_assert_eq(seen->seats, expected[i], "reply %d of round %u: %u seats, expected %u", i, round, seen->seats,
                   expected[i]);
      if (i == 1) vacancy->revision = seen->revision; /* the next update replaces this one */
      leerplek_response_free(response);
    }
  }
  leerplek_response_free(stored);
  leerplek_close(client);
}

/* The kept bytes of a record are the whole record, so they answer only callers that may see all
 * of it: a company never gets another company's vacancy or location, a school never another
 * school's pupil, even right after the coordinator's reads put those bytes in place. */
Test(durability, kept_replies_answer_only_the_roles_that_may_see_the_record) {
  leerplek_client *coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, "0123456789", "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, "0987654321", "KAPPER"), 0);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char company_a[128], company_b[128], school_1[128], school_2[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "0123456789", company_a, sizeof company_a);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "0987654321", company_b, sizeof company_b);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-1", school_1, sizeof school_1);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-2", school_2, sizeof school_2);
  leerplek_close(admin);
  cr_assert_eq(upsert_location(coordinator, "L-B", "0987654321"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "V-B", "L-B", "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-1", "p-1", "KAPPER"), 0);
  Leerplek__V1__GetVacancyRequest get_body;
  Leerplek__V1__Request get;
  get_vacancy_request(&get, &get_body, "V-B");
  Leerplek__V1__GetLocationRequest location_body = LEERPLEK__V1__GET_LOCATION_REQUEST__INIT;
  location_body.location_id = (char *)"L-B";
  Leerplek__V1__Request get_location = LEERPLEK__V1__REQUEST__INIT;
  get_location.body_case = LEERPLEK__V1__REQUEST__BODY_GET_LOCATION;
  get_location.get_location = &location_body;
  for (int read = 0; read < 2; read++) { /* the second from the kept bytes */
    cr_assert_eq(call_code(coordinator, &get, NULL), 0);
    cr_assert_eq(call_code(coordinator, &get_location, NULL), 0);
    cr_assert_eq(get_pupil(coordinator, "school-1", "p-1", NULL), 0);
  }

  leerplek_client *other_company = harness_connect(&harness, company_a);
  leerplek_client *own_company = harness_connect(&harness, company_b);
  leerplek_client *own_school = harness_connect(&harness, school_1);
  leerplek_client *other_school = harness_connect(&harness, school_2);
  for (int read = 0; read < 2; read++) {
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(other_company, &get, &response), CODE(NOT_FOUND));
    cr_assert_null(response->get_vacancy, "another company's vacancy leaked");
    leerplek_response_free(response);
    cr_assert_eq(call_code(other_company, &get_location, &response), CODE(NOT_FOUND));
    cr_assert_null(response->get_location, "another company's location leaked");
    leerplek_response_free(response);
    cr_assert_eq(call_code(own_company, &get, &response), 0);
    cr_assert_str_eq(response->get_vacancy->vacancy->id, "V-B");
    leerplek_response_free(response);
    cr_assert_eq(get_pupil(other_school, "school-1", "p-1", &response), CODE(NOT_FOUND));
    cr_assert_null(response->get_pupil, "another school's pupil leaked");
    leerplek_response_free(response);
    cr_assert_eq(get_pupil(own_school, "school-1", "p-1", &response), 0);
    cr_assert_str_eq(response->get_pupil->pupil->ref, "p-1");
    leerplek_response_free(response);
  }
  leerplek_close(other_company);
  leerplek_close(own_company);
  leerplek_close(own_school);
  leerplek_close(other_school);
  leerplek_close(coordinator);
}
