#define _GNU_SOURCE /* POLLRDHUP */
/* test_input: bad input over raw sockets: truncated, oversized and garbage frames, no Hello, a
 * wrong protocol version, unknown fields and calls, out-of-range values, invalid UTF-8, a
 * client that never reads. Each gets a clear error or is cut off; others are still served. */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"
#include "raw_client.h"

static lp_harness harness;
static char coordinator_token[128];

static void setup(void) {
  static const char *const flags[] = {"--idle_timeout_s",
                                      "2",
                                      "--max_frame_bytes",
                                      "4096",
                                      "--max_pending_requests",
                                      "16",
                                      "--output_high_water_bytes",
                                      "8192",
                                      "--max_connections",
                                      "3",
                                      NULL};
  start_all(&harness, flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
}

static void teardown(void) { cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly"); }

TestSuite(input, .init = setup, .fini = teardown, .timeout = 60);

static int raw_connect(void) { return raw_connect_to(harness.daemon_address); }

/* Another client is still served normally. */
static void assert_daemon_serves_others(void) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(client, "the daemon stopped serving others");
  cr_assert_eq(upsert_training(client, "CHECK", "still serving"), 0);
  leerplek_close(client);
}

Test(input, missing_hello_gets_failed_precondition_and_close) {
  int fd = raw_connect();
  Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  get.code = (char *)"X";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = 7;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &get;
  raw_request(fd, &request);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->request_id, 7);
  cr_assert_eq(response->status->code, CODE(FAILED_PRECONDITION));
  cr_assert_str_eq(response->status->field, "body");
  leerplek_response_free(response);
  cr_assert(raw_closed(fd));
  close(fd);
  assert_daemon_serves_others();
}

Test(input, unsupported_protocol_version_is_refused) {
  int fd = raw_connect();
  raw_hello(fd, 2);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->status->code, CODE(FAILED_PRECONDITION));
  cr_assert_str_eq(response->status->field, "hello.protocol_version");
  leerplek_response_free(response);
  cr_assert(raw_closed(fd));
  close(fd);
}

Test(input, oversized_frame_gets_resource_exhausted_and_close) {
  int fd = raw_connect();
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  unsigned char header[4] = {0x00, 0x10, 0x00, 0x00}; /* 1 MiB, above the 4096 configured */
  raw_write(fd, header, 4);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->status->code, CODE(RESOURCE_EXHAUSTED));
  cr_assert_not_null(strstr(response->status->message, "4096"), "message names the limit: %s",
                     response->status->message);
  leerplek_response_free(response);
  cr_assert(raw_closed(fd));
  close(fd);
  assert_daemon_serves_others();
}

Test(input, garbage_frame_gets_invalid_argument) {
  int fd = raw_connect();
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  unsigned char garbage[64];
  memset(garbage, 0xff, sizeof garbage);
  raw_frame(fd, garbage, sizeof garbage);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->request_id, 0);
  cr_assert_eq(response->status->code, CODE(INVALID_ARGUMENT));
  leerplek_response_free(response);
  /* The connection stays usable after a bad frame once greeted. */
  raw_hello(fd, 1);
  response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->status->code, 0);
  leerplek_response_free(response);
  close(fd);
  assert_daemon_serves_others();
}

Test(input, truncated_frame_then_hangup_harms_nobody) {
  int fd = raw_connect();
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  unsigned char header[4] = {0, 0, 0, 100};
  raw_write(fd, header, 4);
  raw_write(fd, "short", 5);
  close(fd);
  assert_daemon_serves_others();
  /* A truncated frame left hanging is cut off by the idle timeout (2 s here). */
  fd = raw_connect();
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  raw_write(fd, header, 4);
  cr_assert(raw_closed(fd), "a half-sent frame must not hold the connection forever");
  close(fd);
}

Test(input, unknown_fields_are_ignored_and_unknown_calls_unimplemented) {
  int fd = raw_connect();
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = 5;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  request.list_trainings = &list;
  unsigned char buffer[512];
  size_t size = leerplek__v1__request__pack(&request, buffer);
  /* Field 7 (unknown to v1) as a varint: ignored, as proto3 says. */
  buffer[size++] = (7 << 3) | 0;
  buffer[size++] = 42;
  raw_frame(fd, buffer, (uint32_t)size);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_eq(response->status->code, 0, "%s", response->status->message);
  leerplek_response_free(response);

  /* Body field 99 (a call from a newer client): UNIMPLEMENTED. */
  Leerplek__V1__Request empty = LEERPLEK__V1__REQUEST__INIT;
  empty.request_id = 6;
  empty.token = coordinator_token;
  size = leerplek__v1__request__pack(&empty, buffer);
  buffer[size++] = (unsigned char)((99 << 3) | 2) | 0x80;
  buffer[size++] = (99 << 3) >> 7;
  buffer[size++] = 0;
  raw_frame(fd, buffer, (uint32_t)size);
  response = raw_response(fd);
  cr_assert_eq(response->request_id, 6);
  cr_assert_eq(response->status->code, CODE(UNIMPLEMENTED));
  leerplek_response_free(response);

  /* No body at all: INVALID_ARGUMENT naming "body". */
  empty.request_id = 8;
  raw_request(fd, &empty);
  response = raw_response(fd);
  cr_assert_eq(response->status->code, CODE(INVALID_ARGUMENT));
  cr_assert_str_eq(response->status->field, "body");
  leerplek_response_free(response);
  close(fd);
}

Test(input, out_of_range_values_name_the_field_and_change_nothing) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "KAPPER", "Kapper"), 0);
  char *before = harness_snapshot(&harness);
  struct {
    int which;
    const char *field;
  } cases[] = {{0, "register_pupil.pupil.max_commute_m"}, {1, "register_pupil.pupil.day_mask"},
               {2, "register_pupil.pupil.home.lat_e6"},   {3, "register_pupil.pupil.school_notes"},
               {4, "register_pupil.pupil.ref"},           {5, "register_pupil.pupil.readiness"},
               {6, "register_pupil.pupil.home_postcode"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Leerplek__V1__GeoPoint home;
    Leerplek__V1__Pupil pupil;
    fill_pupil(&pupil, &home, "school-1", "p-1", "KAPPER");
    char long_ref[64];
    memset(long_ref, 'a', 40);
    long_ref[40] = '\0';
    switch (cases[i].which) {
    case 0: pupil.max_commute_m = 50; break;
    case 1: pupil.day_mask = 1u << 14; break;
    case 2: home.lat_e6 = 91000000; break;
    case 3: pupil.school_notes = (char *)"bad \xc3\x28 utf-8"; break;
    case 4: pupil.ref = long_ref; break;
    case 5: pupil.readiness = (Leerplek__V1__Readiness)7; break;
    case 6: pupil.home_postcode = (char *)"20000"; break;
    }
    Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
    body.pupil = &pupil;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
    request.register_pupil = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(client, &request, &response), CODE(INVALID_ARGUMENT), "case %zu", i);
    cr_assert_not_null(strstr(response->status->field, cases[i].field + strlen("register_pupil.pupil.")),
                       "case %zu: field %s, expected %s", i, response->status->field, cases[i].field);
    leerplek_response_free(response);
  }
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after);
  free(before);
  free(after);
  leerplek_close(client);
}

Test(input, a_client_that_never_reads_is_paused_and_cut_off_others_unharmed) {
  int fd = raw_connect();
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  raw_hello(fd, 1);
  leerplek_response_free(raw_response(fd));
  /* Many list calls whose replies are never read. */
  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  request.list_trainings = &list;
  leerplek_client *writer = harness_connect(&harness, coordinator_token);
  for (int i = 0; i < 20; i++) {
    char code[16];
    snprintf(code, sizeof code, "T-%02d", i);
    cr_assert_eq(upsert_training(writer, code, "a training with a name long enough to fill replies quickly"), 0);
  }
  leerplek_close(writer);
  int sent = 0;
  long long deadline = harness_now_ms() + 2000;
  while (sent < 5000 && harness_now_ms() < deadline) {
    unsigned char buffer[512];
    request.request_id = (uint64_t)sent + 1;
    size_t size = leerplek__v1__request__pack(&request, buffer);
    unsigned char frame[516] = {(unsigned char)(size >> 24), (unsigned char)(size >> 16), (unsigned char)(size >> 8),
                                (unsigned char)size};
    memcpy(frame + 4, buffer, size);
    if (send(fd, frame, size + 4, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(size + 4)) break;
    sent++;
  }
  cr_assert_lt(sent, 5000, "the daemon kept reading from a client that does not read");
  assert_daemon_serves_others();
  /* The write timeout (idle_timeout_s = 2) cuts it off. */
  long long cut_deadline = harness_now_ms() + 8000;
  bool closed = false;
  while (!closed && harness_now_ms() < cut_deadline) {
    sleep_ms(200);
    int error = 0;
    socklen_t length = sizeof error;
    char byte;
    /* Peeking would read replies; instead check whether the peer has shut down writing. */
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    struct pollfd poller = {fd, POLLRDHUP, 0};
    closed = (poll(&poller, 1, 0) > 0 && (poller.revents & (POLLRDHUP | POLLHUP))) || n == 0;
  }
  cr_assert(closed, "a client that never reads must be cut off");
  close(fd);
  assert_daemon_serves_others();
}

Test(input, connections_over_the_limit_are_refused_with_resource_exhausted) {
  leerplek_client *clients[3];
  for (int i = 0; i < 3; i++) {
    clients[i] = harness_connect(&harness, coordinator_token);
    cr_assert_not_null(clients[i], "connection %d of 3 must be accepted", i + 1);
  }
  leerplek_client *extra = NULL;
  char error[256];
  cr_assert_neq(leerplek_connect(harness.daemon_address, coordinator_token, &extra, error, sizeof error), 0);
  cr_assert_not_null(strstr(error, "RESOURCE_EXHAUSTED"), "%s", error);
  /* The open ones are unharmed, and a slot frees when one closes. */
  cr_assert_eq(upsert_training(clients[0], "STILL", "served"), 0);
  leerplek_close(clients[2]);
  int rc = -1;
  for (long long deadline = harness_now_ms() + 3000; rc != 0 && harness_now_ms() < deadline; sleep_ms(20))
    rc = leerplek_connect(harness.daemon_address, coordinator_token, &extra, error, sizeof error);
  cr_assert_eq(rc, 0, "%s", error);
  leerplek_close(extra);
  leerplek_close(clients[0]);
  leerplek_close(clients[1]);
}

/* Packs request, replaces the one occurrence of marker (a unique placeholder of the same
 * length) with the bytes of replacement, which may hold NULs that protobuf-c cannot pack, and
 * sends it as one frame. */
static void raw_request_patched(int fd, const Leerplek__V1__Request *request, const char *marker,
                                const char *replacement, size_t replacement_size) {
  cr_assert_eq(strlen(marker), replacement_size);
  unsigned char buffer[8192];
  size_t size = leerplek__v1__request__pack(request, buffer);
  unsigned char *found = memmem(buffer, size, marker, replacement_size);
  cr_assert_not_null(found, "marker %s not in the packed request", marker);
  cr_assert_null(memmem(found + 1, size - (size_t)(found + 1 - buffer), marker, replacement_size), "marker twice");
  memcpy(found, replacement, replacement_size);
  raw_frame(fd, buffer, (uint32_t)size);
}

/* Sends one patched request on a new greeted connection and returns the reply. */
static Leerplek__V1__Response *patched_call(Leerplek__V1__Request *request, const char *marker, const char *replacement,
                                            size_t replacement_size) {
  int fd = raw_connect();
  raw_hello(fd, 1);
  Leerplek__V1__Response *hello = raw_response(fd);
  cr_assert_not_null(hello);
  cr_assert_eq(hello->status->code, 0);
  leerplek__v1__response__free_unpacked(hello, NULL);
  request->request_id = 2;
  raw_request_patched(fd, request, marker, replacement, replacement_size);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response, "no reply");
  close(fd);
  return response;
}

static void assert_refused_naming(Leerplek__V1__Response *response, const char *field, const char *what) {
  cr_assert_eq(response->status->code, CODE(INVALID_ARGUMENT), "code %d (%s)", response->status->code,
               response->status->message);
  cr_assert_str_eq(response->status->field, field, "message: %s", response->status->message);
  cr_assert_not_null(strstr(response->status->message, what), "message '%s' does not say '%s'",
                     response->status->message, what);
  cr_assert_eq(response->body_case, LEERPLEK__V1__RESPONSE__BODY__NOT_SET, "a refused call has no body");
  leerplek__v1__response__free_unpacked(response, NULL);
}

/* protobuf-c hands strings over NUL-terminated: without the wire-length check "abc\0def" was
 * stored as "abc", "a-p2\0zzz" found pupil a-p2 and a valid token followed by "\0garbage" was
 * accepted. Each is refused naming the field, and nothing is stored. */
Test(input, embedded_nul_bytes_are_refused_naming_the_field) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "NULTEST", "Nul test"), 0);
  cr_assert_eq(register_pupil(client, "school-n", "a-p2", "NULTEST"), 0);
  char *before = harness_snapshot(&harness);

  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)"NULNAME";
  training.name = (char *)"abc#def";
  Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  upsert.training = &training;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  request.upsert_training = &upsert;
  assert_refused_naming(patched_call(&request, "abc#def", "abc\0def", 7), "upsert_training.training.name",
                        "control character (U+0000)");

  Leerplek__V1__GetPupilRequest get = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  get.school_id = (char *)"school-n";
  get.pupil_ref = (char *)"a-p2#zzz";
  Leerplek__V1__Request read = LEERPLEK__V1__REQUEST__INIT;
  read.token = coordinator_token;
  read.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PUPIL;
  read.get_pupil = &get;
  assert_refused_naming(patched_call(&read, "a-p2#zzz", "a-p2\0zzz", 8), "get_pupil.pupil_ref", "U+0000");

  /* The token: a valid one with "\0garbage" after it. */
  char token[192];
  snprintf(token, sizeof token, "%s#garbage", coordinator_token);
  char patched[192];
  snprintf(patched, sizeof patched, "%s", token);
  patched[strlen(coordinator_token)] = '\0';
  training.name = (char *)"Fine name";
  request.token = token;
  assert_refused_naming(patched_call(&request, token, patched, strlen(token)), "token", "U+0000");

  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "a refused call changed the store");
  free(before);
  free(after);
  assert_daemon_serves_others();
  leerplek_close(client);
}

/* Every string field, at any depth, the repeated ones named with their index; newlines only in
 * the free-text fields the proto allows them in (school notes, reasons). */
Test(input, control_characters_and_bad_utf8_are_refused_in_every_string_field) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  cr_assert_eq(upsert_training(client, "CTRL", "Control"), 0);
  char *before = harness_snapshot(&harness);

  char *codes[] = {(char *)"CTRL", (char *)"CTRL#"};
  Leerplek__V1__Company company = LEERPLEK__V1__COMPANY__INIT;
  company.id = (char *)"0123456789";
  company.name = (char *)"Garage";
  company.n_recognised_training_codes = 2;
  company.recognised_training_codes = codes;
  Leerplek__V1__UpsertCompanyRequest upsert = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
  upsert.company = &company;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY;
  request.upsert_company = &upsert;
  assert_refused_naming(patched_call(&request, "CTRL#", "CTRL\x1f", 5),
                        "upsert_company.company.recognised_training_codes[1]", "U+001F");
  assert_refused_naming(patched_call(&request, "CTRL#", "CTRL\xc3", 5),
                        "upsert_company.company.recognised_training_codes[1]", "not valid UTF-8");

  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, "school-c", "c-1", "CTRL");
  pupil.school_notes = (char *)"line one#line two";
  pupil.home_district = (char *)"Berchem";
  Leerplek__V1__RegisterPupilRequest reg = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  reg.pupil = &pupil;
  Leerplek__V1__Request register_request = LEERPLEK__V1__REQUEST__INIT;
  register_request.token = coordinator_token;
  register_request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  register_request.register_pupil = &reg;
  assert_refused_naming(patched_call(&register_request, "line one#line two", "line one\tline two", 17),
                        "register_pupil.pupil.school_notes", "U+0009");
  assert_refused_naming(patched_call(&register_request, "Berchem", "Berc\nem", 7), "register_pupil.pupil.home_district",
                        "U+000A");
  assert_refused_naming(patched_call(&register_request, "Berchem", "Berc\x7fm", 7),
                        "register_pupil.pupil.home_district", "U+007F");

  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"cli#1";
  Leerplek__V1__Request hello_request = LEERPLEK__V1__REQUEST__INIT;
  hello_request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  hello_request.hello = &hello;
  assert_refused_naming(patched_call(&hello_request, "cli#1", "cli\0001", 5), "hello.client_name", "U+0000");

  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "a refused call changed the store");
  free(before);
  free(after);

  /* A newline where the proto allows it is stored as given. */
  Leerplek__V1__Response *response = patched_call(&register_request, "line one#line two", "line one\nline two", 17);
  cr_assert_eq(response->status->code, 0, "%s", response->status->message);
  leerplek__v1__response__free_unpacked(response, NULL);
  Leerplek__V1__Response *read = NULL;
  cr_assert_eq(get_pupil(client, "school-c", "c-1", &read), 0);
  cr_assert_str_eq(read->get_pupil->pupil->school_notes, "line one\nline two");
  leerplek_response_free(read);
  leerplek_close(client);
}

/* HelloResponse.limits reports the limits this daemon was started with, not the defaults. */
Test(input, hello_reports_the_configured_limits) {
  leerplek_client *client = harness_connect(&harness, coordinator_token);
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(client, &request, &response), 0);
  const Leerplek__V1__Limits *limits = response->hello->limits;
  cr_assert_eq(limits->max_frame_bytes, 4096);
  cr_assert_eq(limits->max_pending_requests, 16);
  cr_assert_eq(limits->output_high_water_bytes, 8192);
  cr_assert_eq(limits->max_connections, 3);
  cr_assert_eq(limits->idle_timeout_s, 2);
  leerplek_response_free(response);
  leerplek_close(client);
}
