/* common: request builders and call helpers shared by the daemon's integration tests. */
#ifndef LEERPLEK_TEST_DAEMON_COMMON_H
#define LEERPLEK_TEST_DAEMON_COMMON_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "libleerplek.h"

#include <time.h>

static inline void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

/* Calls and returns the status code (the response, if wanted, in *out; else freed). */
static inline int call_code(leerplek_client *client, Leerplek__V1__Request *request, Leerplek__V1__Response **out) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(leerplek_call(client, request, &response), 0, "transport error: %s", leerplek_error(client));
  cr_assert_not_null(response->status, "response without status");
  int code = (int)response->status->code;
  if (out)
    *out = response;
  else
    leerplek_response_free(response);
  return code;
}

/* Upserts a training; the response (with the status' message), if wanted, in *out. */
static inline int upsert_training_out(leerplek_client *client, const char *code, const char *name,
                                      Leerplek__V1__Response **out) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)code;
  training.name = (char *)name;
  Leerplek__V1__UpsertTrainingRequest body = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  body.training = &training;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  request.upsert_training = &body;
  return call_code(client, &request, out);
}

static inline int upsert_training(leerplek_client *client, const char *code, const char *name) {
  return upsert_training_out(client, code, name, NULL);
}

static inline int upsert_company(leerplek_client *client, const char *id, const char *training) {
  char *codes[1] = {(char *)training};
  Leerplek__V1__Company company = LEERPLEK__V1__COMPANY__INIT;
  company.id = (char *)id;
  company.name = (char *)"Garage Noord";
  company.n_recognised_training_codes = training ? 1 : 0;
  company.recognised_training_codes = codes;
  Leerplek__V1__UpsertCompanyRequest body = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
  body.company = &company;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY;
  request.upsert_company = &body;
  return call_code(client, &request, NULL);
}

/* A location of company_id at (lat_e6, lon_e6). */
static inline int upsert_location_at(leerplek_client *client, const char *id, const char *company_id, int32_t lat_e6,
                                     int32_t lon_e6) {
  Leerplek__V1__GeoPoint point = LEERPLEK__V1__GEO_POINT__INIT;
  point.lat_e6 = lat_e6;
  point.lon_e6 = lon_e6;
  Leerplek__V1__Location location = LEERPLEK__V1__LOCATION__INIT;
  location.id = (char *)id;
  location.company_id = (char *)company_id;
  location.name = (char *)"Werkplaats Merksem";
  location.point = &point;
  location.postcode = (char *)"2170";
  location.district = (char *)"Merksem";
  Leerplek__V1__UpsertLocationRequest body = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
  body.location = &location;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION;
  request.upsert_location = &body;
  return call_code(client, &request, NULL);
}

static inline int upsert_location(leerplek_client *client, const char *id, const char *company_id) {
  return upsert_location_at(client, id, company_id, 51230000, 4420000);
}

/* A REGULAR vacancy for PARTLY pupils on Mon/Tue (A and B) with seats, starting 2026-month-day. */
static inline int publish_vacancy_with(leerplek_client *client, const char *id, const char *location_id,
                                       const char *training, uint32_t seats, int month, int day) {
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  start.year = 2026;
  start.month = month;
  start.day = day;
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = (char *)id;
  vacancy.location_id = (char *)location_id;
  vacancy.training_code = (char *)training;
  vacancy.seats = seats;
  vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  vacancy.day_mask = 0x183;
  vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy.start_date = &start;
  Leerplek__V1__PublishVacancyRequest body = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  body.vacancy = &vacancy;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY;
  request.publish_vacancy = &body;
  return call_code(client, &request, NULL);
}

static inline int publish_vacancy(leerplek_client *client, const char *id, const char *location_id,
                                  const char *training) {
  return publish_vacancy_with(client, id, location_id, training, 2, 9, 1);
}

/* An open regular vacancy with `seats` seats at location_id, starting 2026-09-01. */
static inline int publish_vacancy_seats(leerplek_client *client, const char *id, const char *location_id,
                                        const char *training, uint32_t seats) {
  return publish_vacancy_with(client, id, location_id, training, seats, 9, 1);
}

/* A vacancy's seat counters, read with client (which must see it). */
static inline void vacancy_seats_of(leerplek_client *client, const char *vacancy_id, uint32_t *proposed,
                                    uint32_t *filled) {
  Leerplek__V1__GetVacancyRequest body = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  body.vacancy_id = (char *)vacancy_id;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY;
  request.get_vacancy = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(client, &request, &response), 0, "get_vacancy %s: %s", vacancy_id, response->status->message);
  *proposed = response->get_vacancy->vacancy->seats_proposed;
  *filled = response->get_vacancy->vacancy->seats_filled;
  leerplek_response_free(response);
}

/* Fills a valid pupil (the caller may change fields before sending). */
static inline void fill_pupil(Leerplek__V1__Pupil *pupil, Leerplek__V1__GeoPoint *home, const char *school,
                              const char *ref, const char *training) {
  leerplek__v1__geo_point__init(home);
  home->lat_e6 = 51217234;
  home->lon_e6 = 4421100;
  leerplek__v1__pupil__init(pupil);
  pupil->school_id = (char *)school;
  pupil->ref = (char *)ref;
  pupil->training_code = (char *)training;
  pupil->readiness = LEERPLEK__V1__READINESS__READINESS_READY;
  pupil->home = home;
  pupil->home_postcode = (char *)"2000";
  pupil->max_commute_m = 15000;
  pupil->day_mask = 0x183;
}

static inline int register_pupil(leerplek_client *client, const char *school, const char *ref, const char *training) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, school, ref, training);
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  return call_code(client, &request, NULL);
}

static inline int get_pupil(leerplek_client *client, const char *school, const char *ref,
                            Leerplek__V1__Response **out) {
  Leerplek__V1__GetPupilRequest body = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PUPIL;
  request.get_pupil = &body;
  return call_code(client, &request, out);
}

/* GetPlacement of (school, ref); the status code (the response in *out). */
static inline int get_placement_of(leerplek_client *client, const char *school, const char *ref,
                                   Leerplek__V1__Response **out) {
  Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &body;
  return call_code(client, &request, out);
}

/* Creates a token with the admin client; copies the secret into out. */
static inline void create_token(leerplek_client *admin, int role, const char *scope, char *out, size_t out_size) {
  Leerplek__V1__CreateTokenRequest body = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  body.role = (Leerplek__V1__Role)role;
  body.scope_id = (char *)scope;
  body.label = (char *)"test";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN;
  request.create_token = &body;
  Leerplek__V1__Response *response = NULL;
  int code = call_code(admin, &request, &response);
  cr_assert_eq(code, 0, "create_token: %s", response->status->message);
  snprintf(out, out_size, "%s", response->create_token->token);
  leerplek_response_free(response);
}

static inline int request_placement(leerplek_client *client, const char *school, const char *ref) {
  Leerplek__V1__RequestPlacementRequest body = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)school;
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT;
  request.request_placement = &body;
  return call_code(client, &request, NULL);
}

static inline int run_rematch(leerplek_client *client, bool dry_run, Leerplek__V1__Response **out) {
  Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  body.dry_run = dry_run;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH;
  request.run_rematch = &body;
  return call_code(client, &request, out);
}

/* Sends raw HTTP to a unix socket and returns the whole reply (caller frees). */
static inline char *http_exchange(const char *path, const char *text) {
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  cr_assert_lt(strlen(path), sizeof address.sun_path);
  memcpy(address.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_eq(connect(fd, (struct sockaddr *)&address, sizeof address), 0);
  cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  size_t size = 0, capacity = 65536;
  char *reply = malloc(capacity + 1);
  cr_assert_not_null(reply);
  ssize_t n;
  while ((n = read(fd, reply + size, capacity - size)) > 0) {
    size += (size_t)n;
    if (size == capacity) {
      capacity *= 2;
      reply = realloc(reply, capacity + 1);
      cr_assert_not_null(reply);
    }
  }
  reply[size] = '\0';
  close(fd);
  return reply;
}

/* GetReport with the default number of shortages; the status code (the response in *out). */
static inline int get_report(leerplek_client *client, Leerplek__V1__Response **out) {
  Leerplek__V1__GetReportRequest body = LEERPLEK__V1__GET_REPORT_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_REPORT;
  request.get_report = &body;
  return call_code(client, &request, out);
}

/* The placement of school/ref (the caller frees *response). */
static inline Leerplek__V1__Placement *placement_at(leerplek_client *client, const char *school, const char *ref,
                                                    Leerplek__V1__Response **response) {
  cr_assert_eq(get_placement_of(client, school, ref, response), 0);
  return (*response)->get_placement->placement;
}

/* Records agreement_ref, signed 2026-06-01, starting 2026-09-01, for an ACCEPTED proposal. */
static inline int record_agreement_as(leerplek_client *client, uint64_t proposal_id, const char *agreement_ref) {
  Leerplek__V1__Date signed_on = LEERPLEK__V1__DATE__INIT, starts_on = LEERPLEK__V1__DATE__INIT;
  signed_on.year = starts_on.year = 2026;
  signed_on.month = 6, signed_on.day = 1;
  starts_on.month = 9, starts_on.day = 1;
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)agreement_ref;
  agreement.signed_on = &signed_on;
  agreement.starts_on = &starts_on;
  Leerplek__V1__RecordAgreementRequest body = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.agreement = &agreement;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT;
  request.record_agreement = &body;
  return call_code(client, &request, NULL);
}

/* get_training of code: its status code (the response, if wanted, in *out). */
static inline int get_training_code(leerplek_client *client, const char *code, Leerplek__V1__Response **out) {
  Leerplek__V1__GetTrainingRequest body = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  body.code = (char *)code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &body;
  return call_code(client, &request, out);
}

/* Queues (pipelined) a training written into Redis behind the daemon's back, as lp_store
 * would write it; the caller reads the two replies. */
static inline void append_training_behind(redisContext *redis, const char *code, const char *name) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)code;
  training.name = (char *)name;
  uint8_t packed[64];
  size_t size = protobuf_c_message_pack(&training.base, packed);
  redisAppendCommand(redis, "SET lp:training:%s %b", code, packed, size);
  redisAppendCommand(redis, "SADD lp:index:training %s", code);
}

/* Reads count pipelined replies, none of them an error. */
static inline void read_replies(redisContext *redis, int count) {
  for (int i = 0; i < count; i++) {
    void *reply = NULL;
    cr_assert_eq(redisGetReply(redis, &reply), REDIS_OK);
    cr_assert_neq(((redisReply *)reply)->type, REDIS_REPLY_ERROR);
    freeReplyObject(reply);
  }
}

/* Starts redis and the daemon (with extra flags), and makes the first admin token. */
static inline void start_all(lp_harness *harness, const char *const *flags) {
  memset(harness, 0, sizeof *harness);
  cr_assert_eq(harness_start_redis(harness), 0, "redis-server did not start");
  cr_assert_eq(harness_create_admin_token(harness), 0, "--create-admin-token failed");
  cr_assert_eq(harness_start_daemon(harness, flags), 0, "leerplekd did not start");
}

#endif
