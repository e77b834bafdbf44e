/* test_replies: the reply path under pipelining, over raw sockets so that the test decides
 * where the bytes of its frames are cut: many requests in one packet are answered in order,
 * frames cut at every kind of boundary (inside a header, across the daemon's input chunks)
 * are read whole, replies larger than any output chunk arrive intact between small ones, and
 * the packed and remembered records never outlive a change (a read after a write, after keys
 * were inserted before it or erased, sees the store as it is). */
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "raw_client.h"

static lp_harness harness;
static char coordinator_token[128];
static leerplek_client *coordinator;

/* Names near max_name_bytes (200), so that a page of trainings outgrows any output chunk. */
#define LONG_NAME_BYTES 190

static void long_name(char *out, int index) {
  int used = snprintf(out, LONG_NAME_BYTES + 1, "training %03d ", index);
  for (int i = used; i < LONG_NAME_BYTES; i++) out[i] = (char)('a' + (index + i) % 26);
  out[LONG_NAME_BYTES] = '\0';
}

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator_token, sizeof coordinator_token);
  leerplek_close(admin);
  coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(coordinator);
}

static void teardown(void) {
  leerplek_close(coordinator);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(replies, .init = setup, .fini = teardown, .timeout = 90);

/* Frames built in memory, sent as the test cuts them. */
typedef struct frames {
  unsigned char *bytes;
  size_t size, capacity;
} frames;

static void add_frame(frames *out, const Leerplek__V1__Request *request) {
  size_t size = leerplek__v1__request__get_packed_size(request);
  if (out->size + 4 + size > out->capacity) {
    out->capacity = (out->size + 4 + size) * 2;
    out->bytes = realloc(out->bytes, out->capacity);
    cr_assert_not_null(out->bytes);
  }
  unsigned char *at = out->bytes + out->size;
  at[0] = (unsigned char)(size >> 24), at[1] = (unsigned char)(size >> 16), at[2] = (unsigned char)(size >> 8);
  at[3] = (unsigned char)size;
  leerplek__v1__request__pack(request, at + 4);
  out->size += 4 + size;
}

static void add_get_training(frames *out, uint64_t request_id, const char *code) {
  Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  get.code = (char *)code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = request_id;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &get;
  add_frame(out, &request);
}

static void add_upsert_training(frames *out, uint64_t request_id, const char *code, const char *name) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)code;
  training.name = (char *)name;
  Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  upsert.training = &training;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = request_id;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  request.upsert_training = &upsert;
  add_frame(out, &request);
}

static void add_list_trainings(frames *out, uint64_t request_id) {
  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list.page_size = 1000;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = request_id;
  request.token = coordinator_token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  request.list_trainings = &list;
  add_frame(out, &request);
}

static size_t put_varint(unsigned char *out, uint64_t value) {
  size_t n = 0;
  for (; value >= 0x80; value >>= 7) out[n++] = (unsigned char)(value | 0x80);
  out[n++] = (unsigned char)value;
  return n;
}

/* A get_training carrying a large field this daemon does not know (ignored, as the proto says
 * of unknown fields): a frame larger than the chunks libevent reads into. */
static void add_large_get_training(frames *out, uint64_t request_id, const char *code, size_t padding) {
  frames plain = {0};
  add_get_training(&plain, request_id, code);
  size_t body = plain.size - 4;
  /* Field 2000, length-delimited: its tag and the padding's length as varints, then bytes. */
  unsigned char tag[10], length[10];
  size_t tag_size = put_varint(tag, 2000 << 3 | 2), length_size = put_varint(length, padding);
  size_t size = body + tag_size + length_size + padding;
  if (out->size + 4 + size > out->capacity) {
    out->capacity = (out->size + 4 + size) * 2;
    out->bytes = realloc(out->bytes, out->capacity);
    cr_assert_not_null(out->bytes);
  }
  unsigned char *at = out->bytes + out->size;
  at[0] = (unsigned char)(size >> 24), at[1] = (unsigned char)(size >> 16), at[2] = (unsigned char)(size >> 8);
  at[3] = (unsigned char)size;
  memcpy(at + 4, plain.bytes + 4, body);
  memcpy(at + 4 + body, tag, tag_size);
  memcpy(at + 4 + body + tag_size, length, length_size);
  memset(at + 4 + body + tag_size + length_size, 'x', padding);
  out->size += 4 + size;
  free(plain.bytes);
}

/* A connection after a successful Hello. */
static int greeted_connection(void) {
  int fd = raw_connect_to(harness.daemon_address);
  raw_hello(fd, 1);
  Leerplek__V1__Response *hello = raw_response(fd);
  cr_assert_not_null(hello);
  cr_assert_eq(hello->status->code, 0, "%s", hello->status->message);
  leerplek_response_free(hello);
  return fd;
}

/* Sends bytes in pieces of the sizes in cuts (cycled), pausing after each so that the daemon
 * reads them apart. */
static void send_cut(int fd, const frames *bytes, const size_t *cuts, size_t cut_count) {
  for (size_t at = 0, i = 0; at < bytes->size; i++) {
    size_t piece = cuts[i % cut_count];
    if (piece > bytes->size - at) piece = bytes->size - at;
    raw_write(fd, bytes->bytes + at, piece);
    at += piece;
    struct timespec pause = {0, 200 * 1000};
    nanosleep(&pause, NULL);
  }
}

static void load_trainings(int count) {
  for (int i = 0; i < count; i++) {
    char code[16], name[LONG_NAME_BYTES + 1];
    snprintf(code, sizeof code, "R%03d", i);
    long_name(name, i);
    cr_assert_eq(upsert_training(coordinator, code, name), 0);
  }
}

/* The reply to get_training of R<index>: in order, with the record's own name. */
static void expect_training(int fd, uint64_t request_id, int index) {
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response, "no reply to request %llu", (unsigned long long)request_id);
  cr_assert_eq(response->request_id, request_id, "reply %llu came where %llu was due",
               (unsigned long long)response->request_id, (unsigned long long)request_id);
  cr_assert_eq(response->status->code, 0, "%s", response->status->message);
  cr_assert_eq(response->body_case, LEERPLEK__V1__RESPONSE__BODY_GET_TRAINING);
  char code[16], name[LONG_NAME_BYTES + 1];
  snprintf(code, sizeof code, "R%03d", index);
  long_name(name, index);
  cr_assert_str_eq(response->get_training->training->code, code);
  cr_assert_str_eq(response->get_training->training->name, name);
  leerplek_response_free(response);
}

static void expect_code(int fd, uint64_t request_id, int code) {
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response, "no reply to request %llu", (unsigned long long)request_id);
  cr_assert_eq(response->request_id, request_id);
  cr_assert_eq(response->status->code, code, "request %llu: %d (%s)", (unsigned long long)request_id,
               response->status->code, response->status->message);
  leerplek_response_free(response);
}

/* A page of every training: count of them, each with its name. */
static void expect_page(int fd, uint64_t request_id, int count) {
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->request_id, request_id);
  cr_assert_eq(response->status->code, 0, "%s", response->status->message);
  cr_assert_eq(response->list_trainings->n_trainings, (size_t)count);
  for (int i = 0; i < count; i++) {
    char name[LONG_NAME_BYTES + 1];
    long_name(name, i);
    cr_assert_str_eq(response->list_trainings->trainings[i]->name, name);
  }
  leerplek_response_free(response);
}

Test(replies, many_pipelined_reads_in_one_packet_are_answered_in_order) {
  enum { TRAININGS = 64, READS = 400 };
  load_trainings(TRAININGS);
  int fd = greeted_connection();
  frames batch = {0};
  /* Hits, misses (NOT_FOUND, answered from the same path) and records read again and again. */
  for (int i = 0; i < READS; i++) {
    char code[16];
    snprintf(code, sizeof code, i % 7 == 3 ? "NONE%03d" : "R%03d", (i * 37) % TRAININGS);
    add_get_training(&batch, 100 + (uint64_t)i, code);
  }
  /* At most max_pending_requests (128) are read ahead; the rest wait in the socket. */
  raw_write(fd, batch.bytes, batch.size);
  for (int i = 0; i < READS; i++) {
    if (i % 7 == 3)
      expect_code(fd, 100 + (uint64_t)i, CODE(NOT_FOUND));
    else
      expect_training(fd, 100 + (uint64_t)i, (i * 37) % TRAININGS);
  }
  free(batch.bytes);
  close(fd);
}

Test(replies, frames_cut_anywhere_are_read_whole) {
  enum { TRAININGS = 16, READS = 120 };
  load_trainings(TRAININGS);
  int fd = greeted_connection();
  frames batch = {0};
  for (int i = 0; i < READS; i++) {
    char code[16];
    snprintf(code, sizeof code, "R%03d", i % TRAININGS);
    /* Every tenth frame is larger than the daemon's input chunks (4 KiB and more). */
    if (i % 10 == 9)
      add_large_get_training(&batch, 500 + (uint64_t)i, code, 9000 + (size_t)i);
    else
      add_get_training(&batch, 500 + (uint64_t)i, code);
  }
  /* Pieces of 1, 2, 3 bytes cut headers apart; 61 and 997 land frames across reads. */
  static const size_t cuts[] = {1, 2, 3, 61, 997, 5, 4093};
  send_cut(fd, &batch, cuts, sizeof cuts / sizeof cuts[0]);
  for (int i = 0; i < READS; i++) expect_training(fd, 500 + (uint64_t)i, i % TRAININGS);
  free(batch.bytes);
  close(fd);
}

Test(replies, replies_larger_than_the_output_chunks_arrive_whole_between_small_ones) {
  enum { TRAININGS = 300, ROUNDS = 6 };
  load_trainings(TRAININGS); /* a page of all of them: about 60 KB */
  int fd = greeted_connection();
  frames batch = {0};
  uint64_t id = 1000;
  for (int round = 0; round < ROUNDS; round++) {
    add_get_training(&batch, id++, "R007");
    add_list_trainings(&batch, id++);
    add_get_training(&batch, id++, "R123");
  }
  raw_write(fd, batch.bytes, batch.size);
  id = 1000;
  for (int round = 0; round < ROUNDS; round++) {
    expect_training(fd, id++, 7);
    expect_page(fd, id++, TRAININGS);
    expect_training(fd, id++, 123);
  }
  free(batch.bytes);
  close(fd);
}

Test(replies, a_read_pipelined_after_a_write_sees_the_new_record) {
  load_trainings(4);
  int fd = greeted_connection();
  /* Read R002 often first, so that its packed bytes are kept and its place remembered. */
  frames warm = {0};
  for (int i = 0; i < 20; i++) add_get_training(&warm, 10 + (uint64_t)i, "R002");
  raw_write(fd, warm.bytes, warm.size);
  for (int i = 0; i < 20; i++) expect_training(fd, 10 + (uint64_t)i, 2);
  free(warm.bytes);

  frames batch = {0};
  add_get_training(&batch, 40, "R002");
  add_upsert_training(&batch, 41, "R002", "renamed");
  add_get_training(&batch, 42, "R002"); /* waits behind the write, then reads the new record */
  add_get_training(&batch, 43, "R001");
  raw_write(fd, batch.bytes, batch.size);
  expect_training(fd, 40, 2);
  expect_code(fd, 41, 0);
  Leerplek__V1__Response *response = raw_response(fd);
  cr_assert_not_null(response);
  cr_assert_eq(response->request_id, 42);
  cr_assert_eq(response->status->code, 0, "%s", response->status->message);
  cr_assert_str_eq(response->get_training->training->name, "renamed");
  leerplek_response_free(response);
  expect_training(fd, 43, 1);
  free(batch.bytes);
  /* And on another connection, later. */
  cr_assert_eq(get_training_code(coordinator, "R002", &response), 0);
  cr_assert_str_eq(response->get_training->training->name, "renamed");
  leerplek_response_free(response);
  close(fd);
}

/* Keys inserted before a remembered one and erased around it move it in the sorted map: every
 * read still finds its own record, and an erased one is gone. */
Test(replies, reads_find_their_records_after_keys_move) {
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  enum { PUPILS = 40 };
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", 10 + 2 * i); /* gaps for the keys inserted below */
    cr_assert_eq(register_pupil(coordinator, "S1", ref, "KAPPER"), 0);
  }
  for (int pass = 0; pass < 3; pass++) {
    /* Read every pupil (their places remembered), then move them all one way or the other. */
    for (int i = 0; i < PUPILS; i++) {
      char ref[16];
      snprintf(ref, sizeof ref, "p%03d", 10 + 2 * i);
      Leerplek__V1__Response *response = NULL;
      cr_assert_eq(get_pupil(coordinator, "S1", ref, &response), 0, "pass %d, %s", pass, ref);
      cr_assert_str_eq(response->get_pupil->pupil->ref, ref);
      leerplek_response_free(response);
    }
    char moved[16];
    snprintf(moved, sizeof moved, "p%03d", 1 + pass); /* sorts before all of them */
    if (pass < 2) {
      cr_assert_eq(register_pupil(coordinator, "S1", moved, "KAPPER"), 0);
    } else {
      Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
      erase.school_id = (char *)"S1";
      erase.pupil_ref = (char *)"p001";
      Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
      request.body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL;
      request.erase_pupil = &erase;
      cr_assert_eq(call_code(coordinator, &request, NULL), 0);
    }
  }
  for (int i = 0; i < PUPILS; i++) {
    char ref[16];
    snprintf(ref, sizeof ref, "p%03d", 10 + 2 * i);
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(get_pupil(coordinator, "S1", ref, &response), 0, "%s", ref);
    cr_assert_str_eq(response->get_pupil->pupil->ref, ref);
    leerplek_response_free(response);
  }
  cr_assert_eq(get_pupil(coordinator, "S1", "p001", NULL), CODE(NOT_FOUND));
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_pupil(coordinator, "S1", "p002", &response), 0);
  cr_assert_str_eq(response->get_pupil->pupil->ref, "p002");
  leerplek_response_free(response);
}

/* The idle timeout of a plain connection (which reads its socket itself, see lp_server.c):
 * a silent one is closed after idle_timeout_s, one that keeps asking is not, however long. */
Test(replies, idle_connections_are_closed_and_busy_ones_kept) {
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  static const char *const flags[] = {"--idle_timeout_s", "1", NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  leerplek_close(coordinator);
  coordinator = harness_connect(&harness, coordinator_token);
  cr_assert_not_null(coordinator);
  load_trainings(1);
  int silent = greeted_connection(), busy = greeted_connection();
  for (int i = 0; i < 10; i++) { /* 2.5 s of a request every 250 ms */
    frames one = {0};
    add_get_training(&one, 700 + (uint64_t)i, "R000");
    raw_write(busy, one.bytes, one.size);
    expect_training(busy, 700 + (uint64_t)i, 0);
    free(one.bytes);
    sleep_ms(250);
  }
  cr_assert(raw_closed(silent), "a connection silent for 2.5 s with idle_timeout_s 1 is still open");
  frames last = {0};
  add_get_training(&last, 800, "R000");
  raw_write(busy, last.bytes, last.size);
  expect_training(busy, 800, 0);
  free(last.bytes);
  close(silent);
  close(busy);
}
