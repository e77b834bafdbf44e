/* test_http: the operations endpoint of a real leerplekd on a real redis-server.
 * - /metrics is parsed as Prometheus text (HELP/TYPE before samples, names and labels well
 *   formed, no duplicate series, cumulative histograms whose +Inf bucket equals _count) and its
 *   figures follow what the test did: replies by call and code, latency counts, pupils by
 *   state, seats, the rematch epoch, Redis reconnects.
 * - /dashboard is loaded by headless Chromium (Debian's chromium package): the figures it
 *   rendered in the DOM equal GetReport's, no pupil data reaches it, text from the store is
 *   escaped, and a screenshot is taken without error. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static lp_harness harness;
static leerplek_client *coordinator;
static char http_address[420];   /* as given to --http_listen */
static char http_socket[400];    /* the unix socket path, for the metrics tests */

static void connect_coordinator(void) {
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  coordinator = harness_connect(&harness, token);
  cr_assert_not_null(coordinator);
}

static void start_with_http(const char *address) {
  snprintf(http_address, sizeof http_address, "%s", address);
  const char *flags[] = {"--http_listen", http_address, NULL};
  start_all(&harness, flags);
  connect_coordinator();
}

static void teardown(void) {
  if (coordinator) leerplek_close(coordinator);
  coordinator = NULL;
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

/* A small city: two trainings, one company with two locations in two districts, three
 * vacancies (5 seats), six pupils asking for a placement. */
static void load_city(void) {
  cr_assert_eq(upsert_training(coordinator, "AUTOTECHNIEK", "Autotechniek"), 0);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, "0123456789", "AUTOTECHNIEK"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-1", "0123456789"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-1", "loc-1", "AUTOTECHNIEK"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-2", "loc-1", "AUTOTECHNIEK"), 0);
  const char *refs[] = {"P-0001", "P-0002", "P-0003", "P-0004", "P-0005"};
  for (size_t i = 0; i < 5; i++) {
    cr_assert_eq(register_pupil(coordinator, "S-ATHENEUM", refs[i], "AUTOTECHNIEK"), 0);
    cr_assert_eq(request_placement(coordinator, "S-ATHENEUM", refs[i]), 0);
  }
  /* Nobody offers KAPPER: this pupil waits with reason "no recognised vacancy". */
  cr_assert_eq(register_pupil(coordinator, "S-ATHENEUM", "P-0006", "KAPPER"), 0);
  cr_assert_eq(request_placement(coordinator, "S-ATHENEUM", "P-0006"), 0);
}

static int get_training(const char *code) {
  Leerplek__V1__GetTrainingRequest body = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  body.code = (char *)code;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING;
  request.get_training = &body;
  return call_code(coordinator, &request, NULL);
}

/* ---- a Prometheus text-format parser (exposition format 0.0.4) ------------------------ */

#define MAX_SAMPLES 4000
#define MAX_FAMILIES 200

typedef struct sample {
  char name[96];
  char labels[256];   /* as written between the braces, "" when none */
  double value;
} sample;

typedef struct exposition {
  sample samples[MAX_SAMPLES];
  size_t sample_count;
  char family_names[MAX_FAMILIES][96];
  char family_types[MAX_FAMILIES][16];
  size_t family_count;
} exposition;

static bool is_name_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == ':'; }
static bool is_name_char(char c) { return is_name_start(c) || isdigit((unsigned char)c); }

static const char *family_type(const exposition *e, const char *name) {
  for (size_t i = 0; i < e->family_count; i++)
    if (strcmp(e->family_names[i], name) == 0) return e->family_types[i];
  return NULL;
}

/* The family a sample belongs to: histograms own their _bucket, _sum and _count series. */
static const char *family_of(const exposition *e, const char *name, char *out, size_t out_size) {
  const char *suffixes[] = {"_bucket", "_sum", "_count"};
  for (size_t s = 0; s < 3; s++) {
    size_t length = strlen(name), suffix = strlen(suffixes[s]);
    if (length > suffix && strcmp(name + length - suffix, suffixes[s]) == 0) {
      snprintf(out, out_size, "%.*s", (int)(length - suffix), name);
      const char *type = family_type(e, out);
      if (type && strcmp(type, "histogram") == 0) return out;
    }
  }
  snprintf(out, out_size, "%s", name);
  return out;
}

/* Checks label syntax: name="value" pairs, values with only \\, \" and \n escapes. */
static void check_labels(const char *labels, size_t line_number) {
  const char *c = labels;
  while (*c) {
    cr_assert(is_name_start(*c), "line %zu: label name expected at '%s'", line_number, c);
    while (is_name_char(*c)) c++;
    cr_assert_eq(*c, '=', "line %zu: '=' expected after a label name", line_number);
    c++;
    cr_assert_eq(*c, '"', "line %zu: label value must be quoted", line_number);
    c++;
    while (*c && *c != '"') {
      if (*c == '\\') {
        c++;
        cr_assert(*c == '\\' || *c == '"' || *c == 'n', "line %zu: bad escape in a label value", line_number);
      }
      c++;
    }
    cr_assert_eq(*c, '"', "line %zu: unterminated label value", line_number);
    c++;
    if (*c == ',') c++;
    else cr_assert_eq(*c, '\0', "line %zu: ',' or '}' expected after a label", line_number);
  }
}

static void parse_exposition(const char *text, exposition *e) {
  memset(e, 0, sizeof *e);
  size_t line_number = 0;
  const char *line = text;
  while (*line) {
    line_number++;
    const char *end = strchr(line, '\n');
    cr_assert_not_null(end, "line %zu does not end with a newline", line_number);
    char buffer[1024];
    size_t length = (size_t)(end - line);
    cr_assert_lt(length, sizeof buffer, "line %zu is too long", line_number);
    memcpy(buffer, line, length);
    buffer[length] = '\0';
    line = end + 1;
    if (length == 0) continue;
    if (buffer[0] == '#') {
      char keyword[16], name[96], rest[512] = "";
      int fields = sscanf(buffer, "# %15s %95s %511[^\n]", keyword, name, rest);
      cr_assert_geq(fields, 2, "line %zu: malformed comment", line_number);
      if (strcmp(keyword, "TYPE") == 0) {
        cr_assert(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 || strcmp(rest, "histogram") == 0 ||
                      strcmp(rest, "summary") == 0 || strcmp(rest, "untyped") == 0,
                  "line %zu: unknown type '%s'", line_number, rest);
        cr_assert_null(family_type(e, name), "line %zu: second TYPE for %s", line_number, name);
        for (size_t i = 0; i < e->sample_count; i++) {
          char family[96];
          cr_assert_str_neq(family_of(e, e->samples[i].name, family, sizeof family), name,
                            "line %zu: TYPE of %s after its samples", line_number, name);
        }
        cr_assert_lt(e->family_count, (size_t)MAX_FAMILIES);
        snprintf(e->family_names[e->family_count], sizeof e->family_names[0], "%s", name);
        snprintf(e->family_types[e->family_count], sizeof e->family_types[0], "%.15s", rest);
        e->family_count++;
      }
      continue;
    }
    cr_assert_lt(e->sample_count, (size_t)MAX_SAMPLES);
    sample *s = &e->samples[e->sample_count];
    char *c = buffer;
    cr_assert(is_name_start(*c), "line %zu: metric name expected: %s", line_number, buffer);
    size_t n = 0;
    while (is_name_char(*c) && n + 1 < sizeof s->name) s->name[n++] = *c++;
    if (*c == '{') {
      char *close = strrchr(c, '}');
      cr_assert_not_null(close, "line %zu: unterminated labels", line_number);
      cr_assert_lt((size_t)(close - c - 1), sizeof s->labels);
      memcpy(s->labels, c + 1, (size_t)(close - c - 1));
      check_labels(s->labels, line_number);
      c = close + 1;
    }
    cr_assert_eq(*c, ' ', "line %zu: a space before the value expected: %s", line_number, buffer);
    c++;
    char *value_end = NULL;
    s->value = strtod(c, &value_end);
    cr_assert(value_end != c && (*value_end == '\0' || *value_end == ' '), "line %zu: bad value '%s'", line_number, c);
    char family[96];
    cr_assert_not_null(family_type(e, family_of(e, s->name, family, sizeof family)),
                       "line %zu: sample of %s without a TYPE line before it", line_number, s->name);
    for (size_t i = 0; i < e->sample_count; i++)
      cr_assert(strcmp(e->samples[i].name, s->name) != 0 || strcmp(e->samples[i].labels, s->labels) != 0,
                "line %zu: duplicate series %s{%s}", line_number, s->name, s->labels);
    e->sample_count++;
  }
}

/* The value of name{labels}, or NAN when the series is absent. */
static double value_of(const exposition *e, const char *name, const char *labels) {
  for (size_t i = 0; i < e->sample_count; i++)
    if (strcmp(e->samples[i].name, name) == 0 && strcmp(e->samples[i].labels, labels) == 0) return e->samples[i].value;
  return NAN;
}

/* Every histogram: buckets non-decreasing in le order, +Inf == _count. */
static void check_histograms(const exposition *e) {
  for (size_t f = 0; f < e->family_count; f++) {
    if (strcmp(e->family_types[f], "histogram") != 0) continue;
    char bucket_name[128], count_name[128];
    snprintf(bucket_name, sizeof bucket_name, "%s_bucket", e->family_names[f]);
    snprintf(count_name, sizeof count_name, "%s_count", e->family_names[f]);
    for (size_t i = 0; i < e->sample_count; i++) {
      if (strcmp(e->samples[i].name, count_name) != 0) continue;
      /* Buckets of this series: the same labels plus le. */
      double previous = -1, previous_le = -INFINITY, infinite = NAN;
      for (size_t b = 0; b < e->sample_count; b++) {
        const sample *bucket = &e->samples[b];
        if (strcmp(bucket->name, bucket_name) != 0 || strncmp(bucket->labels, e->samples[i].labels, strlen(e->samples[i].labels)) != 0)
          continue;
        const char *le = strstr(bucket->labels, "le=\"");
        cr_assert_not_null(le, "a bucket without le: %s{%s}", bucket->name, bucket->labels);
        double bound = strncmp(le + 4, "+Inf", 4) == 0 ? INFINITY : strtod(le + 4, NULL);
        cr_assert_gt(bound, previous_le, "le bounds not increasing in %s{%s}", bucket->name, bucket->labels);
        cr_assert_geq(bucket->value, previous, "buckets not cumulative in %s{%s}", bucket->name, bucket->labels);
        previous = bucket->value;
        previous_le = bound;
        if (isinf(bound)) infinite = bucket->value;
      }
      cr_assert_eq(infinite, e->samples[i].value, "%s{%s}: +Inf bucket %g != count %g", count_name, e->samples[i].labels,
                   infinite, e->samples[i].value);
    }
  }
}

static exposition *scrape(void) {
  char *reply = http_exchange(http_socket, "GET /metrics HTTP/1.0\r\n\r\n");
  cr_assert(strstr(reply, " 200 ") != NULL, "%s", reply);
  cr_assert_not_null(strstr(reply, "Content-Type: text/plain; version=0.0.4"), "%s", reply);
  char *body = strstr(reply, "\r\n\r\n");
  cr_assert_not_null(body);
  exposition *e = malloc(sizeof *e);
  cr_assert_not_null(e);
  parse_exposition(body + 4, e);
  check_histograms(e);
  free(reply);
  return e;
}

static void start_with_unix_http(void) {
  memset(&harness, 0, sizeof harness);
  cr_assert_eq(harness_start_redis(&harness), 0);
  cr_assert_eq(harness_create_admin_token(&harness), 0);
  snprintf(http_socket, sizeof http_socket, "%s/http.sock", harness.dir);
  char address[420];
  snprintf(address, sizeof address, "unix:%s", http_socket);
  const char *flags[] = {"--http_listen", address, NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  connect_coordinator();
}

TestSuite(metrics, .init = start_with_unix_http, .fini = teardown, .timeout = 60);

Test(metrics, parse_as_prometheus_text_and_follow_the_calls) {
  exposition *before = scrape();
  cr_assert_eq(value_of(before, "leerplek_store_writable", ""), 1);
  cr_assert_geq(value_of(before, "leerplek_redis_connects_total", ""), 1);
  cr_assert_eq(value_of(before, "leerplek_rematch_epoch", ""), 0);
  cr_assert(isnan(value_of(before, "leerplek_replies_total", "call=\"get_training\",code=\"OK\"")),
            "no get_training yet, so no series");
  free(before);

  load_city();
  for (int i = 0; i < 7; i++) cr_assert_eq(get_training("KAPPER"), 0);
  cr_assert_eq(get_training("BESTAAT-NIET"), CODE(NOT_FOUND));
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0);
  leerplek_response_free(response);

  exposition *after = scrape();
  cr_assert_eq(value_of(after, "leerplek_replies_total", "call=\"get_training\",code=\"OK\""), 7);
  cr_assert_eq(value_of(after, "leerplek_replies_total", "call=\"get_training\",code=\"NOT_FOUND\""), 1);
  cr_assert_eq(value_of(after, "leerplek_replies_total", "call=\"register_pupil\",code=\"OK\""), 6);
  cr_assert_eq(value_of(after, "leerplek_request_duration_seconds_count", "call=\"get_training\""), 8);
  cr_assert_gt(value_of(after, "leerplek_request_duration_seconds_sum", "call=\"register_pupil\""), 0);
  /* 2 vacancies x 2 seats for 5 AUTOTECHNIEK pupils: 4 proposed, 2 waiting (one KAPPER). */
  cr_assert_eq(value_of(after, "leerplek_pupils", "state=\"PROPOSED\""), 4);
  cr_assert_eq(value_of(after, "leerplek_pupils", "state=\"WAITING\""), 2);
  cr_assert_eq(value_of(after, "leerplek_pupils", "state=\"NONE\""), 0);
  cr_assert_eq(value_of(after, "leerplek_open_seats", ""), 4);
  cr_assert_eq(value_of(after, "leerplek_free_seats", ""), 0);
  cr_assert_eq(value_of(after, "leerplek_records", "kind=\"pupil\""), 6);
  cr_assert_eq(value_of(after, "leerplek_rematch_epoch", ""), 1);
  cr_assert_eq(value_of(after, "leerplek_rematch_placed", ""), 4);
  cr_assert_geq(value_of(after, "leerplek_rematch_duration_seconds", "phase=\"total\""),
                value_of(after, "leerplek_rematch_duration_seconds", "phase=\"solve\""));
  cr_assert_eq(value_of(after, "leerplek_commit_failures_total", ""), 0);
  free(after);
}

Test(metrics, count_a_lost_redis_and_the_reconnect) {
  exposition *before = scrape();
  double connects = value_of(before, "leerplek_redis_connects_total", "");
  cr_assert_eq(value_of(before, "leerplek_redis_disconnects_total", ""), 0);
  free(before);
  harness_stop_redis(&harness, true);
  cr_assert_eq(harness_start_redis(&harness), 0);
  /* The daemon reconnects with backoff (100 ms first); wait for it to take writes again. */
  long long deadline = harness_now_ms() + 10000;
  exposition *after = NULL;
  while (harness_now_ms() < deadline) {
    free(after);
    after = scrape();
    if (value_of(after, "leerplek_store_writable", "") == 1 && value_of(after, "leerplek_redis_connects_total", "") > connects)
      break;
    sleep_ms(50);
  }
  cr_assert_eq(value_of(after, "leerplek_redis_disconnects_total", ""), 1);
  cr_assert_eq(value_of(after, "leerplek_redis_connects_total", ""), connects + 1);
  cr_assert_eq(value_of(after, "leerplek_store_writable", ""), 1);
  free(after);
}

/* ---- the dashboard in headless Chromium ---------------------------------------------- */

/* A TCP port free right now on 127.0.0.1 (Chromium cannot load a unix socket). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
  socklen_t length = sizeof address;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

static int dashboard_port;

static void start_with_tcp_http(void) {
  dashboard_port = free_port();
  char address[64];
  snprintf(address, sizeof address, "127.0.0.1:%d", dashboard_port);
  start_with_http(address);
}

/* Runs headless Chromium on the dashboard with extra (trusted, test-made) arguments; returns
 * its standard output (caller frees) and its exit status in *status. */
static char *run_chromium(const char *arguments, int *status) {
  char command[2048];
  snprintf(command, sizeof command,
           "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
           "--disable-background-networking --disable-component-update --disable-sync "
           "--user-data-dir='%s/chromium' %s http://127.0.0.1:%d/dashboard 2>'%s/chromium.log'",
           harness.dir, arguments, dashboard_port, harness.dir);
  FILE *pipe = popen(command, "r");
  cr_assert_not_null(pipe, "cannot run chromium");
  size_t size = 0, capacity = 1 << 16;
  char *out = malloc(capacity + 1);
  size_t n;
  while ((n = fread(out + size, 1, capacity - size, pipe)) > 0) {
    size += n;
    if (size == capacity) out = realloc(out, (capacity *= 2) + 1);
  }
  out[size] = '\0';
  *status = pclose(pipe);
  return out;
}

/* The number in <span ... id="ID">N</span> of the rendered DOM, or -1. */
static long figure_in(const char *dom, const char *id) {
  char needle[96];
  snprintf(needle, sizeof needle, "id=\"%s\">", id);
  const char *at = strstr(dom, needle);
  return at ? strtol(at + strlen(needle), NULL, 10) : -1;
}

TestSuite(dashboard, .init = start_with_tcp_http, .fini = teardown, .timeout = 120);

Test(dashboard, chromium_renders_the_reports_figures_and_no_pupil_data) {
  load_city();
  /* A training name with markup: the page must show it as text, never run it. */
  cr_assert_eq(upsert_training(coordinator, "VERKOOP", "<script>document.title='pwned'</script>Verkoop & co"), 0);
  cr_assert_eq(register_pupil(coordinator, "S-ATHENEUM", "P-0007", "VERKOOP"), 0);
  cr_assert_eq(request_placement(coordinator, "S-ATHENEUM", "P-0007"), 0);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0);
  leerplek_response_free(response);

  cr_assert_eq(get_report(coordinator, &response), 0);
  const Leerplek__V1__Headline *headline = response->get_report->report->headline;

  int status = 0;
  char *dom = run_chromium("--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --dump-dom failed (see %s/chromium.log)", harness.dir);
  cr_assert_not_null(strstr(dom, "<title>leerplek: dual learning placements</title>"), "not the dashboard: %.300s", dom);
  cr_assert_eq(figure_in(dom, "pupils-registered"), (long)headline->pupils_registered);
  cr_assert_eq(figure_in(dom, "pupils-registered"), 7);
  cr_assert_eq(figure_in(dom, "pupils-proposed"), (long)headline->pupils_proposed);
  cr_assert_eq(figure_in(dom, "pupils-proposed"), 4);
  cr_assert_eq(figure_in(dom, "pupils-waiting"), (long)headline->pupils_waiting);
  cr_assert_eq(figure_in(dom, "pupils-in-dual-learning"), (long)headline->pupils_in_dual_learning);
  cr_assert_eq(figure_in(dom, "schools"), 1);
  cr_assert_eq(figure_in(dom, "trainings"), 3);
  cr_assert_eq(figure_in(dom, "recognised-companies"), (long)headline->recognised_companies);
  cr_assert_eq(figure_in(dom, "recognised-locations"), (long)headline->recognised_locations);
  cr_assert_eq(figure_in(dom, "free-seats"), (long)headline->free_seats);
  /* The charts are there, as SVG, with the rows the report has. */
  cr_assert_not_null(strstr(dom, "<svg id=\"chart-trainings\""), "pupils by state per training");
  cr_assert_not_null(strstr(dom, "data-label=\"AUTOTECHNIEK\""));
  cr_assert_not_null(strstr(dom, "<svg id=\"chart-districts\""), "supply against demand per district");
  cr_assert_not_null(strstr(dom, "data-label=\"Merksem\""));
  cr_assert_not_null(strstr(dom, "<svg id=\"chart-reasons\""), "unplaced reasons");
  cr_assert_not_null(strstr(dom, "data-label=\"no recognised vacancy\""));
  cr_assert_not_null(strstr(dom, "id=\"shortages\""));
  /* Aggregates only: no pupil reference, school id or home point. */
  cr_assert_null(strstr(dom, "P-000"), "a pupil reference reached the dashboard");
  cr_assert_null(strstr(dom, "S-ATHENEUM"), "a school id reached the dashboard");
  cr_assert_null(strstr(dom, "51.217"), "a home point reached the dashboard");
  /* Markup from the store is text: escaped in the page, no script element, title untouched. */
  cr_assert_null(strstr(dom, "<script"), "a script element was rendered");
  cr_assert_null(strstr(dom, "pwned</title>"));
  cr_assert_not_null(strstr(dom, "&lt;script&gt;"), "the training name is shown escaped");
  free(dom);
  leerplek_response_free(response);

  char arguments[600], png_path[400];
  snprintf(png_path, sizeof png_path, "%s/dashboard.png", harness.dir);
  snprintf(arguments, sizeof arguments, "--window-size=1200,1600 --screenshot='%s'", png_path);
  char *output = run_chromium(arguments, &status);
  free(output);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --screenshot failed (see %s/chromium.log)", harness.dir);
  FILE *png = fopen(png_path, "rb");
  cr_assert_not_null(png, "no screenshot written");
  unsigned char header[24];
  cr_assert_eq(fread(header, 1, sizeof header, png), sizeof header);
  fseek(png, 0, SEEK_END);
  long png_size = ftell(png);
  fclose(png);
  cr_assert_eq(memcmp(header, "\x89PNG\r\n\x1a\n", 8), 0, "not a PNG");
  uint32_t width = (uint32_t)header[16] << 24 | (uint32_t)header[17] << 16 | (uint32_t)header[18] << 8 | header[19];
  uint32_t height = (uint32_t)header[20] << 24 | (uint32_t)header[21] << 16 | (uint32_t)header[22] << 8 | header[23];
  cr_assert_eq(width, 1200);
  cr_assert_eq(height, 1600);
  /* A blank page compresses to a few kB; charts and text make it far larger. */
  cr_assert_gt(png_size, 20000, "the screenshot looks empty (%ld bytes)", png_size);
}

Test(dashboard, empty_store_renders_and_says_so) {
  int status = 0;
  char *dom = run_chromium("--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_assert_eq(figure_in(dom, "pupils-registered"), 0);
  cr_assert_not_null(strstr(dom, "No rematch has been applied yet."));
  cr_assert_not_null(strstr(dom, "No pupils registered yet."));
  free(dom);
}
