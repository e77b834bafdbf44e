/* test_calls: every implemented call through a real leerplekd and libleerplek. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static lp_harness harness;
static leerplek_client *coordinator;
static leerplek_client *admin;
static char coordinator_token[128];

static void setup(void) {
  start_all(&harness, NULL);
  admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(coordinator);
}

static void teardown(void) {
  leerplek_close(coordinator);
  leerplek_close(admin);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(calls, .init = setup, .fini = teardown, .timeout = 60);

Test(calls, hello_reports_role_and_limits) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->request_id, request.request_id);
  cr_assert_eq(response->hello->role, LEERPLEK__V1__ROLE__ROLE_COORDINATOR);
  const Leerplek__V1__Limits *limits = response->hello->limits;
  cr_assert_eq(limits->max_frame_bytes, 1048576);
  cr_assert_eq(limits->max_id_bytes, 32);
  /* Every limit the proto's CONVENTIONS list, with its default. */
  cr_assert_eq(limits->max_name_bytes, 200);
  cr_assert_eq(limits->max_short_text_bytes, 100);
  cr_assert_eq(limits->max_text_bytes, 1000);
  cr_assert_eq(limits->max_token_bytes, 128);
  cr_assert_eq(limits->max_training_code_bytes, 32);
  cr_assert_eq(limits->max_recognitions, 100);
  cr_assert_eq(limits->max_preferences, 10);
  cr_assert_eq(limits->max_exclusions, 100);
  cr_assert_eq(limits->default_page_size, 100);
  cr_assert_eq(limits->max_page_size, 1000);
  cr_assert_eq(limits->default_rematch_changes, 100);
  cr_assert_eq(limits->max_rematch_changes, 1000);
  cr_assert_eq(limits->default_report_shortages, 20);
  cr_assert_eq(limits->max_report_shortages, 200);
  cr_assert_eq(limits->max_seats, 100);
  cr_assert_eq(limits->min_commute_m, 100);
  cr_assert_eq(limits->max_commute_m, 200000);
  /* And those against slow and greedy clients, as configured (defaults). */
  cr_assert_eq(limits->max_connections_per_address, 64);
  cr_assert_eq(limits->hello_timeout_ms, 10000);
  cr_assert_eq(limits->frame_timeout_ms, 10000);
  cr_assert_eq(limits->max_output_total_bytes, 268435456u);
  cr_assert_eq(limits->max_connections, 1024);
  cr_assert_eq(limits->max_pending_requests, 128);
  cr_assert_eq(limits->output_high_water_bytes, 4194304);
  cr_assert_eq(limits->idle_timeout_s, 300);
  /* The answer deadline of proposals, shown to both sides, and its reminder. */
  cr_assert_eq(limits->proposal_answer_seconds, 864000u);
  cr_assert_eq(limits->proposal_reminder_seconds, 172800u);
  leerplek_response_free(response);
}

Test(calls, trainings_upsert_get_list_with_paging_and_revisions) {
  cr_assert_eq(upsert_training(coordinator, "ELEKTRO-INST", "Elektrische installaties"), 0);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper-stylist"), 0);
  cr_assert_eq(upsert_training(coordinator, "CHEMIE", "Chemie"), 0);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper-stylist (nieuw)"), 0);

  Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  get.code = (char *)"KAPPER";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &get;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_str_eq(response->get_training->training->name, "Kapper-stylist (nieuw)");
  cr_assert_eq(response->get_training->training->revision, 2);
  leerplek_response_free(response);

  /* A stale expected_revision is ABORTED and changes nothing. */
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)"KAPPER";
  training.name = (char *)"overwritten";
  Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  upsert.training = &training;
  upsert.expected_revision = 1;
  Leerplek__V1__Request stale = LEERPLEK__V1__REQUEST__INIT;
  stale.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  stale.upsert_training = &upsert;
  cr_assert_eq(call_code(coordinator, &stale, NULL), CODE(ABORTED));

  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list.page_size = 2;
  Leerplek__V1__Request list_request = LEERPLEK__V1__REQUEST__INIT;
  list_request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  list_request.list_trainings = &list;
  cr_assert_eq(call_code(coordinator, &list_request, &response), 0);
  cr_assert_eq(response->list_trainings->n_trainings, 2);
  cr_assert_eq(response->list_trainings->total_size, 3);
  cr_assert_str_eq(response->list_trainings->trainings[0]->code, "CHEMIE");
  cr_assert_str_eq(response->list_trainings->trainings[1]->code, "ELEKTRO-INST");
  char token[64];
  snprintf(token, sizeof token, "%s", response->list_trainings->next_page_token);
  cr_assert_neq(token[0], '\0');
  leerplek_response_free(response);
  list.page_token = token;
  list_request.request_id = 0;
  cr_assert_eq(call_code(coordinator, &list_request, &response), 0);
  cr_assert_eq(response->list_trainings->n_trainings, 1);
  cr_assert_str_eq(response->list_trainings->trainings[0]->code, "KAPPER");
  cr_assert_str_eq(response->list_trainings->next_page_token, "");
  leerplek_response_free(response);
}

Test(calls, companies_locations_vacancies) {
  cr_assert_eq(upsert_training(coordinator, "LASSEN", "Lassen-constructie"), 0);
  cr_assert_eq(upsert_company(coordinator, "0123456789", "LASSEN"), 0);
  cr_assert_eq(upsert_company(coordinator, "0123456789", "NOPE"), CODE(INVALID_ARGUMENT));
  cr_assert_eq(upsert_location(coordinator, "loc-1", "0123456789"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-2", "9999999999"), CODE(INVALID_ARGUMENT));
  cr_assert_eq(publish_vacancy(coordinator, "vac-1", "loc-1", "LASSEN"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-1", "loc-1", "LASSEN"), CODE(ALREADY_EXISTS));
  cr_assert_eq(upsert_training(coordinator, "CHEMIE", "Chemie"), 0);
  /* The company is not recognised for CHEMIE. */
  cr_assert_eq(publish_vacancy(coordinator, "vac-2", "loc-1", "CHEMIE"), CODE(FAILED_PRECONDITION));

  Leerplek__V1__GetVacancyRequest get = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  get.vacancy_id = (char *)"vac-1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request.get_vacancy = &get;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_str_eq(response->get_vacancy->vacancy->company_id, "0123456789");
  cr_assert_eq(response->get_vacancy->vacancy->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN);
  cr_assert_eq(response->get_vacancy->vacancy->revision, 1);
  leerplek_response_free(response);

  Leerplek__V1__CloseVacancyRequest close_body = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  close_body.vacancy_id = (char *)"vac-1";
  Leerplek__V1__Request close_request = LEERPLEK__V1__REQUEST__INIT;
  close_request.body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY;
  close_request.close_vacancy = &close_body;
  cr_assert_eq(call_code(coordinator, &close_request, &response), 0);
  cr_assert_eq(response->close_vacancy->vacancy->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED);
  leerplek_response_free(response);

  Leerplek__V1__ListVacanciesRequest list = LEERPLEK__V1__LIST_VACANCIES_REQUEST__INIT;
  list.state = LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN;
  Leerplek__V1__Request list_request = LEERPLEK__V1__REQUEST__INIT;
  list_request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_VACANCIES;
  list_request.list_vacancies = &list;
  cr_assert_eq(call_code(coordinator, &list_request, &response), 0);
  cr_assert_eq(response->list_vacancies->total_size, 0, "the closed vacancy is not OPEN");
  leerplek_response_free(response);

  /* Update reopens it with more seats; the revision moves on. */
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026, start.month = 9, start.day = 1;
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = (char *)"vac-1";
  vacancy.location_id = (char *)"loc-1";
  vacancy.training_code = (char *)"LASSEN";
  vacancy.seats = 5;
  vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_READY;
  vacancy.day_mask = 0x3;
  vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy.state = LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN;
  vacancy.start_date = &start;
  Leerplek__V1__UpdateVacancyRequest update = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  update.vacancy = &vacancy;
  Leerplek__V1__Request update_request = LEERPLEK__V1__REQUEST__INIT;
  update_request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY;
  update_request.update_vacancy = &update;
  cr_assert_eq(call_code(coordinator, &update_request, &response), 0);
  cr_assert_eq(response->update_vacancy->vacancy->seats, 5);
  cr_assert_eq(response->update_vacancy->vacancy->revision, 3);
  cr_assert_eq(response->update_vacancy->vacancy->state, LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN);
  leerplek_response_free(response);
}

Test(calls, pupils_placements_and_erasure) {
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-1", "p-001", "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-1", "p-001", "KAPPER"), CODE(ALREADY_EXISTS));
  cr_assert_eq(register_pupil(coordinator, "school-1", "p-002", "NOPE"), CODE(INVALID_ARGUMENT));

  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_pupil(coordinator, "school-1", "p-001", &response), 0);
  /* The home point is stored rounded to 0.005 degrees. */
  cr_assert_eq(response->get_pupil->pupil->home->lat_e6, 51215000);
  cr_assert_eq(response->get_pupil->pupil->home->lon_e6, 4420000);
  cr_assert_eq(response->get_pupil->pupil->revision, 1);
  leerplek_response_free(response);

  Leerplek__V1__RequestPlacementRequest place = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  place.school_id = (char *)"school-1";
  place.pupil_ref = (char *)"p-001";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT;
  request.request_placement = &place;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->request_placement->placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING);
  leerplek_response_free(response);
  request.request_id = 0;
  cr_assert_eq(call_code(coordinator, &request, NULL), CODE(ALREADY_EXISTS));

  cr_assert_eq(get_pupil(coordinator, "school-1", "p-001", &response), 0);
  cr_assert_gt(response->get_pupil->pupil->waiting_since_unix_s, 0, "request_placement sets waiting_since");
  leerplek_response_free(response);

  Leerplek__V1__ListPlacementsRequest list = LEERPLEK__V1__LIST_PLACEMENTS_REQUEST__INIT;
  list.state = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING;
  Leerplek__V1__Request list_request = LEERPLEK__V1__REQUEST__INIT;
  list_request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS;
  list_request.list_placements = &list;
  cr_assert_eq(call_code(coordinator, &list_request, &response), 0);
  cr_assert_eq(response->list_placements->total_size, 1);
  leerplek_response_free(response);

  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  withdraw.school_id = (char *)"school-1";
  withdraw.pupil_ref = (char *)"p-001";
  withdraw.reason = (char *)"moved away";
  Leerplek__V1__Request withdraw_request = LEERPLEK__V1__REQUEST__INIT;
  withdraw_request.body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT;
  withdraw_request.withdraw_placement = &withdraw;
  cr_assert_eq(call_code(coordinator, &withdraw_request, &response), 0);
  cr_assert_eq(response->withdraw_placement->placement->state,
               LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WITHDRAWN);
  leerplek_response_free(response);

  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase.school_id = (char *)"school-1";
  erase.pupil_ref = (char *)"p-001";
  Leerplek__V1__Request erase_request = LEERPLEK__V1__REQUEST__INIT;
  erase_request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
  erase_request.erase_pupil = &erase;
  cr_assert_eq(call_code(coordinator, &erase_request, &response), 0);
  cr_assert_eq(response->erase_pupil->previous_state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WITHDRAWN);
  leerplek_response_free(response);
  cr_assert_eq(get_pupil(coordinator, "school-1", "p-001", NULL), CODE(NOT_FOUND));

  /* Nothing about the pupil is left in Redis, and the audit trail does not name it. */
  redisContext *redis = harness_redis(&harness);
  redisReply *exists = redisCommand(redis, "EXISTS lp:pupil:school-1/p-001 lp:placement:school-1/p-001");
  cr_assert_eq(exists->integer, 0);
  freeReplyObject(exists);
  redisReply *events = redisCommand(redis, "XREVRANGE lp:events + - COUNT 1");
  cr_assert_eq(events->type, REDIS_REPLY_ARRAY);
  cr_assert_eq(events->elements, 1);
  redisReply *fields = events->element[0]->element[1];
  for (size_t i = 0; i < fields->elements; i++) cr_assert_null(strstr(fields->element[i]->str, "p-001"));
  freeReplyObject(events);
  redisFree(redis);
}

Test(calls, tokens_create_list_revoke) {
  char school_token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-9", school_token, sizeof school_token);
  leerplek_client *school = harness_connect(&harness, school_token);
  cr_assert_not_null(school);
  /* Only the hash is stored. */
  char *snapshot = harness_snapshot(&harness);
  cr_assert_null(strstr(snapshot, school_token + 21));
  free(snapshot);

  Leerplek__V1__ListTokensRequest list = LEERPLEK__V1__LIST_TOKENS_REQUEST__INIT;
  list.role = LEERPLEK__V1__ROLE__ROLE_SCHOOL;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS;
  request.list_tokens = &list;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(admin, &request, &response), 0);
  cr_assert_eq(response->list_tokens->n_tokens, 1);
  cr_assert_str_eq(response->list_tokens->tokens[0]->scope_id, "school-9");
  char id[32];
  snprintf(id, sizeof id, "%s", response->list_tokens->tokens[0]->id);
  leerplek_response_free(response);

  Leerplek__V1__RevokeTokenRequest revoke = LEERPLEK__V1__REVOKE_TOKEN_REQUEST__INIT;
  revoke.token_id = id;
  Leerplek__V1__Request revoke_request = LEERPLEK__V1__REQUEST__INIT;
  revoke_request.body_case = LEERPLEK__V1__REQUEST__BODY_REVOKE_TOKEN;
  revoke_request.revoke_token = &revoke;
  cr_assert_eq(call_code(admin, &revoke_request, NULL), 0);
  /* The revoked token stops working at once, also on its open connection. */
  cr_assert_eq(get_pupil(school, "", "p-1", NULL), CODE(UNAUTHENTICATED));
  leerplek_close(school);

  /* The last admin token cannot be revoked. */
  list.role = LEERPLEK__V1__ROLE__ROLE_ADMIN;
  request.request_id = 0;
  cr_assert_eq(call_code(admin, &request, &response), 0);
  cr_assert_eq(response->list_tokens->n_tokens, 1);
  snprintf(id, sizeof id, "%s", response->list_tokens->tokens[0]->id);
  leerplek_response_free(response);
  revoke_request.request_id = 0;
  cr_assert_eq(call_code(admin, &revoke_request, NULL), CODE(FAILED_PRECONDITION));
}

Test(calls, rematch_on_an_empty_store_writes_epoch_one) {
  Leerplek__V1__RunRematchRequest rematch = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH;
  request.run_rematch = &rematch;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(coordinator, &request, &response), 0);
  cr_assert_eq(response->run_rematch->result->epoch, 1);
  cr_assert_eq(response->run_rematch->result->pupils, 0);
  leerplek_response_free(response);
  rematch.max_changes = 1001;
  cr_assert_eq(call_code(coordinator, &request, NULL), CODE(INVALID_ARGUMENT));
}

Test(calls, pipelined_replies_come_back_in_order) {
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  enum { COUNT = 200 };
  /* Writes (wait for Redis) and reads (answered at once) mixed: order must still hold. */
  for (int i = 0; i < COUNT; i++) {
    Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
    Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
    Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    char code[32];
    snprintf(code, sizeof code, "T-%03d", i);
    if (i % 2 == 0) {
      training.code = code;
      training.name = (char *)"pipelined";
      upsert.training = &training;
      request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
      request.upsert_training = &upsert;
    } else {
      get.code = (char *)"KAPPER";
      request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
      request.get_training = &get;
    }
    request.request_id = 1000 + (uint64_t)i;
    cr_assert_eq(leerplek_send(coordinator, &request), 0);
  }
  cr_assert_eq(leerplek_flush(coordinator), 0);
  for (int i = 0; i < COUNT; i++) {
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(leerplek_receive(coordinator, &response), 0, "%s", leerplek_error(coordinator));
    cr_assert_eq(response->request_id, 1000 + (uint64_t)i);
    cr_assert_eq(response->status->code, 0, "%s", response->status->message);
    leerplek_response_free(response);
  }
}

Test(calls, the_documented_config_file_loads_and_help_works) {
  /* Restart the daemon with deploy/leerplekd.conf (the harness' --redis/--listen flags win). */
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  static const char *const flags[] = {"--config", LEERPLEK_SOURCE_DIR "/deploy/leerplekd.conf", "--log_level", "debug",
                                      NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0, "leerplekd refused deploy/leerplekd.conf");
  leerplek_close(coordinator);
  coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(coordinator);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);

  char command[512];
  snprintf(command, sizeof command, "'%s' --help >/dev/null", LEERPLEKD_PATH);
  cr_assert_eq(system(command), 0);
  snprintf(command, sizeof command, "'%s' --no_such_option 1 2>/dev/null", LEERPLEKD_PATH);
  cr_assert_eq(WEXITSTATUS(system(command)), 2, "an unknown option is a usage error");
  snprintf(command, sizeof command, "'%s' --proposal_answer_seconds 10 --proposal_reminder_seconds 10 2>/dev/null",
           LEERPLEKD_PATH);
  cr_assert_eq(WEXITSTATUS(system(command)), 2, "a reminder not before the deadline is a usage error");
}

Test(calls, http_healthz_and_metrics) {
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  char http_address[420], http_path[400];
  snprintf(http_path, sizeof http_path, "%s/http.sock", harness.dir);
  snprintf(http_address, sizeof http_address, "unix:%s", http_path);
  const char *flags[] = {"--http_listen", http_address, NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  leerplek_close(coordinator);
  coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);

  char *reply = http_exchange(http_path, "GET /healthz HTTP/1.0\r\n\r\n");
  cr_assert(strncmp(reply, "HTTP/1.0 200", 12) == 0 || strncmp(reply, "HTTP/1.1 200", 12) == 0, "%s", reply);
  cr_assert_not_null(strstr(reply, "\r\n\r\nok\n"));
  free(reply);
  reply = http_exchange(http_path, "GET /metrics HTTP/1.0\r\n\r\n");
  cr_assert_not_null(strstr(reply, "leerplek_records{kind=\"training\"} 1\n"), "%s", reply);
  cr_assert_not_null(strstr(reply, "leerplek_commits_total 1\n"), "%s", reply);
  cr_assert_not_null(strstr(reply, "leerplek_store_writable 1\n"), "%s", reply);
  free(reply);
  reply = http_exchange(http_path, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  /* libevent answers methods outside the allowed set with 501. */
  cr_assert(strstr(reply, " 501 ") || strstr(reply, " 405 "), "only GET and HEAD: %s", reply);
  free(reply);
  char *huge = malloc(20000);
  memcpy(huge, "GET /healthz HTTP/1.0\r\nX-Big: ", 30);
  memset(huge + 30, 'a', 19000);
  memcpy(huge + 19030, "\r\n\r\n", 5);
  reply = http_exchange(http_path, huge);
  cr_assert_null(strstr(reply, " 200 "), "oversized headers are refused");
  free(reply);
  free(huge);
  /* The API is unharmed. */
  cr_assert_eq(upsert_training(coordinator, "CHEMIE", "Chemie"), 0);
}
