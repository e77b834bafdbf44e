#define _GNU_SOURCE /* POLLRDHUP, prlimit */
/* test_limits: slow and greedy clients against the real daemon on a TCP port: clients that
 * trickle a byte now and then (before Hello, and inside a frame) are cut off at
 * hello_timeout_ms and frame_timeout_ms although every byte restarts the idle timeout, and the
 * slots they held serve others; max_connections_per_address refuses a fourth connection from
 * one address and not from another; clients that pipeline large reads and never read are cut
 * off, largest first, once all unsent replies pass max_output_total_bytes; out of file
 * descriptors, new clients are told so instead of hanging. Each is checked in /metrics too;
 * settings that contradict each other stop the daemon at start. */
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"
#include "raw_client.h"

static lp_harness harness;
static char address[64];
static char http_socket[400];

/* Starts redis and a daemon on a fresh TCP port with /metrics on a unix socket, plus flags. */
static void start(const char *const *flags) {
  memset(&harness, 0, sizeof harness);
  cr_assert_eq(harness_start_redis(&harness), 0);
  cr_assert_eq(harness_create_admin_token(&harness), 0);
  snprintf(address, sizeof address, "127.0.0.1:%d", harness_free_port());
  snprintf(http_socket, sizeof http_socket, "unix:%s/http.sock", harness.dir);
  const char *all[32] = {"--listen", address, "--http_listen", http_socket};
  int count = 4;
  for (int i = 0; flags && flags[i] && count < 31; i++) all[count++] = flags[i];
  all[count] = NULL;
  cr_assert_eq(harness_start_daemon(&harness, all), 0, "leerplekd did not start");
}

static void teardown(void) { cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly"); }

TestSuite(limits, .fini = teardown, .timeout = 90);

static double metric(const char *name) {
  char *reply = http_exchange(http_socket + 5, "GET /metrics HTTP/1.0\r\n\r\n");
  double value = -1;
  char needle[128];
  snprintf(needle, sizeof needle, "\n%s ", name);
  const char *found = strstr(reply, needle);
  if (found) value = strtod(found + strlen(needle), NULL);
  free(reply);
  return value;
}

static void assert_served(void) {
  leerplek_client *client = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(client, "the daemon must still serve a well-behaved client");
  leerplek_close(client);
}

/* A Hello frame, packed; long enough (about 60 bytes) that a byte every 50 ms takes three
 * seconds, far past the deadlines the tests set. */
static size_t hello_frame(unsigned char *out) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"a client that sends its hello one byte at a time";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = 1;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  size_t size = leerplek__v1__request__pack(&request, out + 4);
  out[0] = out[1] = out[2] = 0;
  out[3] = (unsigned char)size;
  return size + 4;
}

typedef struct trickler {
  int fd;
  const unsigned char *bytes; /* what it sends, one byte per tick */
  size_t size, sent;
  long long closed_ms; /* 0 while open */
  int code;            /* the status of the last Response it got */
  char message[200];
} trickler;

Test(limits, trickling_clients_are_cut_at_the_hello_and_frame_deadlines_and_free_their_slots) {
  static const char *const flags[] = {"--hello_timeout_ms",
                                      "700",
                                      "--frame_timeout_ms",
                                      "700",
                                      "--max_connections",
                                      "6",
                                      "--idle_timeout_s",
                                      "60",
                                      NULL};
  start(flags);
  unsigned char hello[96];
  size_t hello_size = hello_frame(hello);
  /* A frame that announces 200 bytes, for clients that got through Hello. */
  static unsigned char slow_frame[204] = {0, 0, 0, 200};
  trickler clients[6];
  long long started = harness_now_ms();
  for (int i = 0; i < 6; i++) {
    clients[i] = (trickler){raw_connect_to(address), NULL, 0, 0, 0, -1, ""};
    if (i < 3) {
      clients[i].bytes = hello; /* Hello itself, a byte at a time */
      clients[i].size = hello_size;
    } else {
      raw_write(clients[i].fd, hello, hello_size);
      Leerplek__V1__Response *greeted = raw_response(clients[i].fd);
      cr_assert_not_null(greeted);
      cr_assert_eq(greeted->status->code, 0);
      leerplek_response_free(greeted);
      clients[i].bytes = slow_frame;
      clients[i].size = sizeof slow_frame;
    }
  }
  /* Every slot is taken: a seventh client is refused now. */
  leerplek_client *extra = NULL;
  char error[256];
  cr_assert_neq(leerplek_connect(address, harness.admin_token, &extra, error, sizeof error), 0, "max_connections 6");
  long long frames_started = harness_now_ms();
  int open = 6;
  while (open > 0 && harness_now_ms() - started < 8000) {
    for (int i = 0; i < 6; i++) {
      trickler *t = &clients[i];
      if (t->closed_ms) continue;
      if (t->sent < t->size) {
        ssize_t n = send(t->fd, t->bytes + t->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == 1) t->sent++;
      }
      struct pollfd poller = {t->fd, POLLIN, 0};
      if (poll(&poller, 1, 0) > 0) {
        Leerplek__V1__Response *response = raw_response(t->fd);
        if (response) {
          t->code = (int)response->status->code;
          snprintf(t->message, sizeof t->message, "%s", response->status->message);
          leerplek_response_free(response);
        }
        if (!response || raw_closed(t->fd)) {
          t->closed_ms = harness_now_ms();
          open--;
        }
      }
    }
    sleep_ms(50); /* 20 bytes a second: far more than any idle timeout needs */
  }
  cr_assert_eq(open, 0, "trickling clients must not keep their connections");
  for (int i = 0; i < 6; i++) {
    trickler *t = &clients[i];
    long long held = t->closed_ms - (i < 3 ? started : frames_started);
    cr_assert_lt(t->sent, t->size, "client %d finished its frame before the deadline; the test is too slow", i);
    cr_assert_eq(t->code, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED, "client %d got %d: %s", i, t->code,
                 t->message);
    cr_assert_not_null(strstr(t->message, i < 3 ? "hello_timeout_ms" : "frame_timeout_ms"), "%s", t->message);
    cr_assert(held >= 600 && held < 5000, "client %d was held %lld ms, the deadline is 700 ms", i, held);
    close(t->fd);
  }
  cr_assert_eq(metric("leerplek_hello_timeouts_total"), 3);
  cr_assert_eq(metric("leerplek_frame_timeouts_total"), 3);
  assert_served();
  /* A client that pipelines whole frames back to back is not cut: only incomplete frames are. */
  leerplek_client *busy = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(busy);
  for (long long until = harness_now_ms() + 1500; harness_now_ms() < until; sleep_ms(100)) {
    Leerplek__V1__ListTokensRequest list = LEERPLEK__V1__LIST_TOKENS_REQUEST__INIT;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS;
    request.list_tokens = &list;
    cr_assert_eq(call_code(busy, &request, NULL), 0, "a normal client was cut off: %s", leerplek_error(busy));
  }
  leerplek_close(busy);
}

Test(limits, connections_per_address_are_capped_and_other_addresses_still_get_in) {
  static const char *const flags[] = {"--max_connections_per_address", "3", NULL};
  start(flags);
  int fds[3];
  unsigned char hello[96];
  size_t hello_size = hello_frame(hello);
  for (int i = 0; i < 3; i++) {
    fds[i] = raw_connect_from(address, "127.0.0.2");
    raw_write(fds[i], hello, hello_size);
    Leerplek__V1__Response *response = raw_response(fds[i]);
    cr_assert_not_null(response);
    cr_assert_eq(response->status->code, 0, "connection %d of 3 from 127.0.0.2 must be served", i + 1);
    leerplek_response_free(response);
  }
  int fourth = raw_connect_from(address, "127.0.0.2");
  raw_write(fourth, hello, hello_size);
  Leerplek__V1__Response *refused = raw_response(fourth);
  cr_assert_not_null(refused, "the fourth connection from one address gets an answer");
  cr_assert_eq(refused->status->code, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_RESOURCE_EXHAUSTED);
  cr_assert_not_null(strstr(refused->status->message, "max_connections_per_address"), "%s", refused->status->message);
  leerplek_response_free(refused);
  cr_assert(raw_closed(fourth));
  close(fourth);
  int other = raw_connect_from(address, "127.0.0.3");
  raw_write(other, hello, hello_size);
  Leerplek__V1__Response *accepted = raw_response(other);
  cr_assert_not_null(accepted);
  cr_assert_eq(accepted->status->code, 0, "another address is not affected");
  leerplek_response_free(accepted);
  close(other);
  cr_assert_eq(metric("leerplek_connections_refused_per_address_total"), 1);
  /* A slot freed is a slot again. */
  close(fds[0]);
  int again = -1;
  for (long long deadline = harness_now_ms() + 3000; harness_now_ms() < deadline; sleep_ms(50)) {
    again = raw_connect_from(address, "127.0.0.2");
    raw_write(again, hello, hello_size);
    Leerplek__V1__Response *response = raw_response(again);
    int code = response ? (int)response->status->code : -1;
    leerplek_response_free(response);
    if (code == 0) break;
    close(again);
    again = -1;
  }
  cr_assert_geq(again, 0, "after one of the three closed, 127.0.0.2 gets in again");
  close(again);
  close(fds[1]);
  close(fds[2]);
}

/* Pipelines list_trainings requests (large replies) on fd without reading; stops when the
 * daemon stops reading. Returns how many were sent. */
static int pipeline_without_reading(int fd, const char *token) {
  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list.page_size = 1000;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = (char *)token;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  request.list_trainings = &list;
  int sent = 0;
  for (long long deadline = harness_now_ms() + 2000; sent < 2000 && harness_now_ms() < deadline;) {
    unsigned char frame[512];
    request.request_id = (uint64_t)sent + 1;
    size_t size = leerplek__v1__request__pack(&request, frame + 4);
    frame[0] = (unsigned char)(size >> 24), frame[1] = (unsigned char)(size >> 16),
    frame[2] = (unsigned char)(size >> 8), frame[3] = (unsigned char)size;
    if (send(fd, frame, size + 4, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(size + 4)) {
      sleep_ms(20);
      continue;
    }
    sent++;
  }
  return sent;
}

static bool peer_gone(int fd) {
  struct pollfd poller = {fd, POLLRDHUP, 0};
  return poll(&poller, 1, 0) > 0 && (poller.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

Test(limits, greedy_clients_are_cut_off_largest_first_over_max_output_total_bytes) {
  static const char *const flags[] = {"--output_high_water_bytes",
                                      "100000",
                                      "--max_output_total_bytes",
                                      "150000",
                                      "--max_pending_requests",
                                      "1000",
                                      "--idle_timeout_s",
                                      "60",
                                      NULL};
  start(flags);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char coordinator[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", coordinator, sizeof coordinator);
  leerplek_close(admin);
  leerplek_client *writer = harness_connect(&harness, coordinator);
  char name[201];
  memset(name, 'n', 200);
  name[200] = '\0';
  for (int i = 0; i < 200; i++) {
    char code[16];
    snprintf(code, sizeof code, "T-%03d", i);
    cr_assert_eq(upsert_training(writer, code, name), 0);
  }
  /* Each reply is about 45 KB. A client that does not read holds at most output_high_water_bytes
   * plus one reply in the daemon (reading pauses past it), so one alone stays below
   * max_output_total_bytes (150 KB); four together pass it. */
  int greedy[4];
  unsigned char hello[96];
  size_t hello_size = hello_frame(hello);
  for (int g = 0; g < 4; g++) {
    greedy[g] = raw_connect_to(address);
    int small = 4096;
    setsockopt(greedy[g], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    raw_write(greedy[g], hello, hello_size);
    leerplek_response_free(raw_response(greedy[g]));
  }
  cr_assert_gt(pipeline_without_reading(greedy[0], coordinator), 0);
  double held = 0;
  for (long long deadline = harness_now_ms() + 5000; held < 10000 && harness_now_ms() < deadline; sleep_ms(50))
    held = metric("leerplek_output_bytes");
  cr_assert_geq(held, 10000, "the first greedy client holds replies in the daemon (%.0f bytes)", held);
  cr_assert_eq(metric("leerplek_connections_cut_output_total"), 0, "one greedy client alone stays under the cap");
  for (int g = 1; g < 4; g++) pipeline_without_reading(greedy[g], coordinator);
  int cut = 0;
  for (long long deadline = harness_now_ms() + 5000; cut == 0 && harness_now_ms() < deadline; sleep_ms(50))
    for (int g = 0; g < 4; g++) cut += peer_gone(greedy[g]);
  cr_assert_gt(cut, 0, "greedy clients must be cut off once together they pass max_output_total_bytes");
  cr_assert_lt(cut, 4, "only as many as needed to get below the cap");
  cr_assert_geq(metric("leerplek_connections_cut_output_total"), 1);
  cr_assert_leq(metric("leerplek_output_bytes"), 150000, "the daemon holds no more than the cap");
  /* A well-behaved client gets its (large) reply meanwhile. */
  Leerplek__V1__ListTrainingsRequest list = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list.page_size = 1000;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS;
  request.list_trainings = &list;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(writer, &request, &response), 0);
  cr_assert_eq(response->list_trainings->n_trainings, 200);
  leerplek_response_free(response);
  leerplek_close(writer);
  for (int g = 0; g < 4; g++) close(greedy[g]);
}

Test(limits, out_of_file_descriptors_new_clients_are_told_and_served_again_later) {
  static const char *const flags[] = {"--max_connections", "1000", "--max_connections_per_address", "1000", NULL};
  start(flags);
  /* Leave the daemon a few descriptors more than it uses now. */
  struct rlimit limit;
  cr_assert_eq(prlimit(harness.daemon_pid, RLIMIT_NOFILE, NULL, &limit), 0);
  struct rlimit low = {48, limit.rlim_max};
  cr_assert_eq(prlimit(harness.daemon_pid, RLIMIT_NOFILE, &low, NULL), 0);
  leerplek_client *clients[64];
  int connected = 0;
  char error[256] = "";
  while (connected < 64) {
    leerplek_client *client = NULL;
    long long started = harness_now_ms();
    int rc = leerplek_connect(address, harness.admin_token, &client, error, sizeof error);
    cr_assert_lt(harness_now_ms() - started, 2000, "a connect must not hang when the daemon is out of descriptors");
    if (rc != 0) break;
    clients[connected++] = client;
  }
  cr_assert_lt(connected, 64, "the descriptor limit of 48 must be reached");
  cr_assert_gt(connected, 5);
  cr_assert_not_null(strstr(error, "RESOURCE_EXHAUSTED"), "%s", error);
  cr_assert_not_null(strstr(error, "out of file descriptors"), "%s", error);
  /* (/metrics needs a descriptor too: free one first.) */
  leerplek_close(clients[--connected]);
  cr_assert_geq(metric("leerplek_connections_refused_no_descriptors_total"), 1);
  /* Each time one closes, one new client is served and the next told again: the reserve
   * descriptor came back each time. */
  for (int round = 0; round < 3; round++) {
    if (round > 0) leerplek_close(clients[--connected]);
    leerplek_client *client = NULL;
    int rc = -1;
    for (long long deadline = harness_now_ms() + 3000; rc != 0 && harness_now_ms() < deadline; sleep_ms(50))
      rc = leerplek_connect(address, harness.admin_token, &client, error, sizeof error);
    cr_assert_eq(rc, 0, "round %d: %s", round, error);
    clients[connected++] = client;
    cr_assert_neq(leerplek_connect(address, harness.admin_token, &client, error, sizeof error), 0);
    cr_assert_not_null(strstr(error, "out of file descriptors"), "round %d: %s", round, error);
  }
  while (connected > 0) leerplek_close(clients[--connected]);
  cr_assert_eq(prlimit(harness.daemon_pid, RLIMIT_NOFILE, &limit, NULL), 0);
  int rc = -1;
  for (long long deadline = harness_now_ms() + 3000; rc != 0 && harness_now_ms() < deadline; sleep_ms(50)) {
    leerplek_client *client = NULL;
    rc = leerplek_connect(address, harness.admin_token, &client, error, sizeof error);
    leerplek_close(client);
  }
  cr_assert_eq(rc, 0, "with descriptors back, clients are served: %s", error);
}

/* Runs leerplekd with args (a shell fragment) and returns its exit status; stderr in *out. */
static int run_daemon(const char *args, char *out, size_t out_size) {
  char command[1024];
  snprintf(command, sizeof command, "'%s' %s 2>&1", LEERPLEKD_PATH, args);
  FILE *pipe = popen(command, "r");
  cr_assert_not_null(pipe);
  size_t got = fread(out, 1, out_size - 1, pipe);
  out[got] = '\0';
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(limits, settings_that_contradict_each_other_are_refused_at_start_with_the_reason) {
  memset(&harness, 0, sizeof harness);
  char out[2048];
  cr_assert_eq(run_daemon("--output_high_water_bytes 200000 --max_output_total_bytes 100000", out, sizeof out), 2);
  cr_assert_not_null(strstr(out, "max_output_total_bytes"), "%s", out);
  cr_assert_eq(run_daemon("--max_connections_per_address 0", out, sizeof out), 2);
  cr_assert_not_null(strstr(out, "max_connections_per_address"), "%s", out);
  cr_assert_eq(run_daemon("--frame_timeout_ms 10", out, sizeof out), 2, "below the 100 ms minimum");
  cr_assert_not_null(strstr(out, "frame_timeout_ms"), "%s", out);
  cr_assert_eq(
      run_daemon("--redis_wait_replicas 1 --redis_wait_timeout_ms 3000 --redis_timeout_ms 2000", out, sizeof out), 2);
  cr_assert_not_null(strstr(out, "redis_wait_timeout_ms"), "%s", out);
  /* Sentinels that do not answer: the daemon says so and does not start. */
  char args[200];
  snprintf(args, sizeof args, "--redis_sentinels 127.0.0.1:%d --redis_timeout_ms 200", harness_free_port());
  cr_assert_eq(run_daemon(args, out, sizeof out), 1);
  cr_assert_not_null(strstr(out, "no Sentinel of redis_sentinels named the primary"), "%s", out);
}
