/* test_http: the operations endpoint of a real leerplekd on a real redis-server.
 * - /metrics is parsed as Prometheus text (HELP/TYPE before samples, names and labels well
 *   formed, no duplicate series, cumulative histograms whose +Inf bucket equals _count) and its
 *   figures follow what the test did: replies by call and code, latency counts, pupils by
 *   state, seats, the rematch epoch, Redis reconnects.
 * - /dashboard is loaded by headless Chromium (Debian's chromium package): the figures it
 *   rendered in the DOM equal GetReport's, no pupil data reaches it, text from the store is
 *   escaped, and a screenshot is taken without error; in Dutch (?lang=nl or Accept-Language)
 *   and English, with no message of the other language left (the messages come from
 *   daemon/po/nl.po); with the SamDuLeA dashboard's figures per school type and provider type
 *   and the daily trend, which the daemon keeps in Redis (lp:trend:<day>) across restarts. */
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
#include <time.h>
#include <unistd.h>

#include "common.h"

#ifndef LEERPLEK_SOURCE_DIR
#error "LEERPLEK_SOURCE_DIR must name the source tree (for daemon/po/nl.po)"
#endif

static lp_harness harness;
static leerplek_client *coordinator;
static char http_address[420]; /* as given to --http_listen */
static char http_socket[400];  /* the unix socket path, for the metrics tests */

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
  char labels[256]; /* as written between the braces, "" when none */
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
    if (*c == ',')
      c++;
    else
      cr_assert_eq(*c, '\0', "line %zu: ',' or '}' expected after a label", line_number);
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
        if (strcmp(bucket->name, bucket_name) != 0 ||
            strncmp(bucket->labels, e->samples[i].labels, strlen(e->samples[i].labels)) != 0)
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
      cr_assert_eq(infinite, e->samples[i].value, "%s{%s}: +Inf bucket %g != count %g", count_name,
                   e->samples[i].labels, infinite, e->samples[i].value);
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
    if (value_of(after, "leerplek_store_writable", "") == 1 &&
        value_of(after, "leerplek_redis_connects_total", "") > connects)
      break;
    sleep_ms(50);
  }
  cr_assert_eq(value_of(after, "leerplek_redis_disconnects_total", ""), 1);
  cr_assert_eq(value_of(after, "leerplek_redis_connects_total", ""), connects + 1);
  cr_assert_eq(value_of(after, "leerplek_store_writable", ""), 1);
  free(after);
}

/* ---- the dashboard in headless Chromium ---------------------------------------------- */

static int dashboard_port;

static void start_with_tcp_http(void) {
  dashboard_port = harness_free_port(); /* TCP: Chromium cannot load a unix socket */
  cr_assert_gt(dashboard_port, 0);
  char address[64];
  snprintf(address, sizeof address, "127.0.0.1:%d", dashboard_port);
  start_with_http(address);
}

/* Runs headless Chromium on the dashboard with extra (trusted, test-made) arguments; returns
 * its standard output (caller frees) and its exit status in *status. */
static char *run_chromium_at(const char *query, const char *arguments, int *status) {
  char command[2048];
  snprintf(command, sizeof command,
           "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
           "--disable-background-networking --disable-component-update --disable-sync "
           "--user-data-dir='%s/chromium' %s 'http://127.0.0.1:%d/dashboard%s' 2>'%s/chromium.log'",
           harness.dir, arguments, dashboard_port, query, harness.dir);
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

static char *run_chromium(const char *arguments, int *status) { return run_chromium_at("", arguments, status); }

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
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --dump-dom failed (see %s/chromium.log)",
            harness.dir);
  cr_assert_not_null(strstr(dom, "<title>leerplek: dual learning placements</title>"), "not the dashboard: %.300s",
                     dom);
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
  cr_assert_not_null(strstr(dom, "data-label=\"no_recognised_vacancy\""));
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
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --screenshot failed (see %s/chromium.log)",
            harness.dir);
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

/* One side's yes to a proposal, as a coordinator acting for it. */
static void accept_for(uint64_t proposal_id, Leerplek__V1__Side side) {
  Leerplek__V1__AcceptProposalRequest body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.side = side;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL;
  request.accept_proposal = &body;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);
}

/* The proposal ids of the city's proposed AUTOTECHNIEK pupils, in reference order. */
static size_t proposals_of_city(uint64_t *ids, size_t max) {
  size_t count = 0;
  const char *refs[] = {"P-0001", "P-0002", "P-0003", "P-0004", "P-0005"};
  for (size_t i = 0; i < 5 && count < max; i++) {
    Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
    body.school_id = (char *)"S-ATHENEUM";
    body.pupil_ref = (char *)refs[i];
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
    request.get_placement = &body;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(coordinator, &request, &response), 0);
    if (response->get_placement->placement->proposal_id) ids[count++] = response->get_placement->placement->proposal_id;
    leerplek_response_free(response);
  }
  return count;
}

/* Proposed, accepted and agreement are three states: three cards and three bars per training,
 * each named one way (and in Dutch), never lumped as "placed". */
Test(dashboard, proposed_accepted_and_agreement_are_shown_apart) {
  load_city();
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0);
  leerplek_response_free(response);
  uint64_t ids[4];
  cr_assert_eq(proposals_of_city(ids, 4), 4, "4 seats, 4 proposals");
  for (size_t i = 0; i < 2; i++) {
    accept_for(ids[i], LEERPLEK__V1__SIDE__SIDE_SCHOOL);
    accept_for(ids[i], LEERPLEK__V1__SIDE__SIDE_COMPANY);
  }
  Leerplek__V1__Date signed_on = LEERPLEK__V1__DATE__INIT, starts_on = LEERPLEK__V1__DATE__INIT;
  signed_on.year = 2026, signed_on.month = 8, signed_on.day = 20;
  starts_on.year = 2026, starts_on.month = 9, starts_on.day = 1;
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)"OAO-1";
  agreement.signed_on = &signed_on;
  agreement.starts_on = &starts_on;
  Leerplek__V1__RecordAgreementRequest record = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  record.proposal_id = ids[0];
  record.agreement = &agreement;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT;
  request.record_agreement = &record;
  cr_assert_eq(call_code(coordinator, &request, NULL), 0);

  cr_assert_eq(get_report(coordinator, &response), 0);
  const Leerplek__V1__Report *report = response->get_report->report;
  const Leerplek__V1__ReportRow *row = NULL;
  for (size_t i = 0; i < report->n_by_training; i++)
    if (strcmp(report->by_training[i]->key, "AUTOTECHNIEK") == 0) row = report->by_training[i];
  cr_assert_not_null(row);
  cr_expect_eq(row->pupils_proposed, 2);
  cr_expect_eq(row->pupils_accepted, 1);
  cr_expect_eq(row->pupils_agreement, 1);
  cr_expect_eq(row->pupils_placed, 2, "the older sum stays accepted + agreement");
  int status = 0;
  char *dom = run_chromium("--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --dump-dom failed");
  cr_expect_eq(figure_in(dom, "pupils-proposed"), 2);
  cr_expect_eq(figure_in(dom, "pupils-accepted"), 1);
  cr_expect_eq(figure_in(dom, "agreements"), 1);
  /* The training's bar: waiting / proposed / accepted / agreement. */
  char figures[64];
  snprintf(figures, sizeof figures, ">%u / %u / %u / %u<", row->pupils_waiting, row->pupils_proposed,
           row->pupils_accepted, row->pupils_agreement);
  cr_expect_not_null(strstr(dom, figures), "%s in the chart of trainings", figures);
  cr_expect_not_null(strstr(dom, ">proposed</text>"));
  cr_expect_not_null(strstr(dom, ">accepted</text>"));
  cr_expect_not_null(strstr(dom, ">agreement</text>"));
  cr_expect_null(strstr(dom, ">placed<"), "no state called placed");
  cr_expect_not_null(strstr(dom, "pupils proposed (both sides to answer)"));
  char last[64];
  snprintf(last, sizeof last, "<b>%u proposed</b>", report->last_rematch->placed);
  cr_expect_not_null(strstr(dom, last), "the last rematch's proposals: %s", last);
  free(dom);
  dom = run_chromium_at("?lang=nl", "--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_expect_not_null(strstr(dom, ">voorgesteld</text>"));
  cr_expect_not_null(strstr(dom, ">aanvaard</text>"));
  cr_expect_not_null(strstr(dom, ">overeenkomst</text>"));
  cr_expect_null(strstr(dom, ">geplaatst<"));
  free(dom);
  leerplek_response_free(response);
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

/* ---- the dashboard in Dutch and English, with the SamDuLeA figures ------------------- */

/* The dashboard's catalogue: each English message and its Dutch translation, cut before the
 * first '%' or '<' (the text around a figure or markup). */
#define CATALOGUE_MAX 200
typedef struct catalogue {
  size_t count;
  char english[CATALOGUE_MAX][160];
  char dutch[CATALOGUE_MAX][160];
} catalogue;

/* Appends the C string literal starting at `quote` (one po line) to out, unescaped. */
static void append_po_string(const char *quote, char *out, size_t out_size) {
  size_t used = strlen(out);
  for (const char *p = quote + 1; *p && *p != '"' && used + 1 < out_size; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      out[used++] = *p == 'n' ? '\n' : *p;
    } else {
      out[used++] = *p;
    }
  }
  out[used] = '\0';
}

static void cut_fragment(char *text) { text[strcspn(text, "%<")] = '\0'; }

static void read_catalogue(catalogue *c) {
  FILE *in = fopen(LEERPLEK_SOURCE_DIR "/daemon/po/nl.po", "r");
  cr_assert_not_null(in, "cannot read daemon/po/nl.po");
  memset(c, 0, sizeof *c);
  char line[1024], msgid[1024] = "", msgstr[1024] = "";
  char *target = NULL;
  for (;;) {
    bool more = fgets(line, sizeof line, in) != NULL;
    bool starts_entry = !more || strncmp(line, "msgid ", 6) == 0;
    if (starts_entry && msgid[0] && msgstr[0] && c->count < CATALOGUE_MAX) {
      cut_fragment(msgid);
      cut_fragment(msgstr);
      snprintf(c->english[c->count], sizeof c->english[0], "%.159s", msgid);
      snprintf(c->dutch[c->count], sizeof c->dutch[0], "%.159s", msgstr);
      c->count++;
    }
    if (!more) break;
    if (starts_entry) {
      msgid[0] = msgstr[0] = '\0';
      target = msgid;
      append_po_string(line + 6, msgid, sizeof msgid);
    } else if (strncmp(line, "msgstr ", 7) == 0) {
      target = msgstr;
      append_po_string(line + 7, msgstr, sizeof msgstr);
    } else if (line[0] == '"' && target) {
      append_po_string(line, target, target == msgid ? sizeof msgid : sizeof msgstr);
    } else {
      target = NULL;
    }
  }
  fclose(in);
  cr_assert_gt(c->count, 40, "daemon/po/nl.po holds only %zu messages", c->count);
}

/* No message of the other language in the page: every catalogue message of at least 12
 * characters that differs between the languages is checked. */
static void expect_only(const char *language, const char *dom, const catalogue *c) {
  bool dutch = strcmp(language, "nl") == 0;
  size_t checked = 0;
  for (size_t i = 0; i < c->count; i++) {
    const char *other = dutch ? c->english[i] : c->dutch[i];
    if (strlen(other) < 12 || strcmp(c->english[i], c->dutch[i]) == 0) continue;
    checked++;
    cr_expect_null(strstr(dom, other), "the %s page shows \"%s\"", dutch ? "Dutch" : "English", other);
  }
  cr_expect_gt(checked, 30);
}

static int upsert_training_for(const char *code, const char *name, Leerplek__V1__SchoolType *types, size_t n_types) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)code;
  training.name = (char *)name;
  training.provider_types = types;
  training.n_provider_types = n_types;
  Leerplek__V1__UpsertTrainingRequest body = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  body.training = &training;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
  request.upsert_training = &body;
  return call_code(coordinator, &request, NULL);
}

static int register_pupil_of(const char *school, const char *ref, const char *training, Leerplek__V1__SchoolType type) {
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
  fill_pupil(&pupil, &home, school, ref, training);
  pupil.school_type = type;
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = &pupil;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL;
  request.register_pupil = &body;
  return call_code(coordinator, &request, NULL);
}

/* Trainings by provider type, pupils and schools by school type, as in the network's count. */
static void load_school_types(void) {
  Leerplek__V1__SchoolType full_time_and_centres[] = {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME,
                                                      LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_LEARNING_WORKING};
  Leerplek__V1__SchoolType syntra[] = {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA};
  cr_assert_eq(upsert_training_for("AUTOTECHNIEK", "Autotechnicus", full_time_and_centres, 2), 0);
  cr_assert_eq(upsert_training_for("KAPPER", "Kapper-stylist", syntra, 1), 0);
  Leerplek__V1__SchoolType twice[] = {LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA,
                                      LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA};
  cr_assert_eq(upsert_training_for("KAPPER", "Kapper-stylist", twice, 2),
               LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
  cr_assert_eq(register_pupil_of("VT01", "P-0101", "AUTOTECHNIEK", LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME),
               0);
  cr_assert_eq(register_pupil_of("VT01", "P-0102", "AUTOTECHNIEK", LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME),
               0);
  cr_assert_eq(register_pupil_of("VT02", "P-0103", "AUTOTECHNIEK", LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME),
               0);
  cr_assert_eq(register_pupil_of("BUSO01", "P-0104", "AUTOTECHNIEK", LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_BUSO), 0);
  cr_assert_eq(register_pupil_of("SYNTRA01", "P-0105", "KAPPER", LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_SYNTRA), 0);
  cr_assert_eq(register_pupil_of("SYNTRA01", "P-0106", "KAPPER", (Leerplek__V1__SchoolType)9),
               LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INVALID_ARGUMENT);
}

static long file_size(const char *path) {
  FILE *in = fopen(path, "rb");
  if (!in) return -1;
  fseek(in, 0, SEEK_END);
  long size = ftell(in);
  fclose(in);
  return size;
}

Test(dashboard, dutch_and_english_with_no_message_of_the_other_language) {
  load_city();
  load_school_types();
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(coordinator, false, &response), 0);
  leerplek_response_free(response);
  catalogue *messages = malloc(sizeof *messages);
  cr_assert_not_null(messages);
  read_catalogue(messages);

  int status = 0;
  char *dom = run_chromium_at("?lang=nl", "--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium failed (see %s/chromium.log)", harness.dir);
  cr_expect_not_null(strstr(dom, "<html lang=\"nl-BE\">"), "%.200s", dom);
  cr_expect_not_null(strstr(dom, "<title>leerplek: werkplekken duaal leren</title>"));
  cr_expect_not_null(strstr(dom, "leerlingen in duaal leren (overeenkomst getekend)"));
  cr_expect_not_null(strstr(dom, "<h2>Grootste tekorten</h2>"));
  cr_expect_not_null(strstr(dom, ">geen erkende vacature</text>"), "the reason in Dutch");
  cr_expect_not_null(strstr(dom, "data-label=\"no_recognised_vacancy\""), "data-label stays language-neutral");
  cr_expect_not_null(strstr(dom, ">Autotechnicus</text>"), "trainings by name");
  cr_expect_not_null(strstr(dom, "data-label=\"AUTOTECHNIEK\""));
  expect_only("nl", dom, messages);
  free(dom);

  /* Accept-Language as a Flemish browser sends it, and one that prefers English. */
  dom = run_chromium("--accept-lang=nl-BE,nl --dump-dom", &status);
  cr_expect_not_null(strstr(dom, "<html lang=\"nl-BE\">"), "Accept-Language nl-BE: %.200s", dom);
  free(dom);
  dom = run_chromium("--accept-lang=en-GB,nl --dump-dom", &status);
  cr_expect_not_null(strstr(dom, "<html lang=\"en\">"), "Accept-Language en-GB,nl: %.200s", dom);
  free(dom);

  dom = run_chromium_at("?lang=en", "--accept-lang=nl-BE --dump-dom", &status);
  cr_expect_not_null(strstr(dom, "<html lang=\"en\">"), "?lang=en wins over Accept-Language");
  cr_expect_not_null(strstr(dom, "<title>leerplek: dual learning placements</title>"));
  cr_expect_not_null(strstr(dom, ">no recognised vacancy</text>"));
  expect_only("en", dom, messages);
  free(dom);
  free(messages);

  /* A look at both: screenshots of a real size (kept with LEERPLEK_KEEP_TEST_DIR=1). */
  static const char *const languages[] = {"nl", "en"};
  for (size_t i = 0; i < 2; i++) {
    char arguments[600], png_path[400], query[16];
    snprintf(png_path, sizeof png_path, "%s/dashboard-%s.png", harness.dir, languages[i]);
    snprintf(arguments, sizeof arguments, "--window-size=1200,2000 --screenshot='%s'", png_path);
    snprintf(query, sizeof query, "?lang=%s", languages[i]);
    free(run_chromium_at(query, arguments, &status));
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chromium --screenshot failed");
    cr_expect_gt(file_size(png_path), 20000, "%s looks empty", png_path);
  }
}

Test(dashboard, school_types_and_a_trend_kept_in_redis_across_a_restart) {
  load_school_types();
  /* An earlier snapshot, as the demo seeds the network's October, and one that is not a
   * snapshot (ignored, named in the log). */
  redisContext *redis = harness_redis(&harness);
  cr_assert_not_null(redis);
  freeReplyObject(redisCommand(redis, "SET lp:trend:2021-10-01 %s",
                               "pupils_registered=320 agreements=367 agreements_running=321 AUTOTECHNIEK=7 KAPPER=1"));
  freeReplyObject(redisCommand(redis, "SET lp:trend:2021-11-01 %s", "pupils_registered=three hundred"));
  leerplek_close(coordinator);
  coordinator = NULL;
  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  const char *flags[] = {"--http_listen", http_address, NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0);
  connect_coordinator();

  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(get_report(coordinator, &response), 0);
  const Leerplek__V1__Report *report = response->get_report->report;
  cr_assert_eq(report->n_trend, 2, "October and today: %zu snapshots", report->n_trend);
  cr_expect_str_eq(report->trend[0]->day, "2021-10-01");
  cr_expect_eq(report->trend[0]->pupils_registered, 320);
  cr_expect_eq(report->trend[0]->agreements_running, 321);
  cr_assert_eq(report->trend[0]->n_trainings_pupils, 2);
  cr_expect_str_eq(report->trend[0]->trainings_pupils[0]->training_code, "AUTOTECHNIEK");
  cr_expect_eq(report->trend[0]->trainings_pupils[0]->pupils, 7);
  char today[16], key[32];
  time_t now = time(NULL);
  struct tm local;
  localtime_r(&now, &local);
  strftime(today, sizeof today, "%Y-%m-%d", &local);
  cr_expect_str_eq(report->trend[1]->day, today);
  cr_expect_eq(report->trend[1]->pupils_registered, 5);
  cr_expect_eq(report->trend[1]->trainings, 2);
  cr_assert_eq(report->n_pupils_by_school_type, 3);
  cr_expect_eq(report->pupils_by_school_type[0]->school_type, LEERPLEK__V1__SCHOOL_TYPE__SCHOOL_TYPE_FULL_TIME);
  cr_expect_eq(report->pupils_by_school_type[0]->count, 3);
  cr_expect_eq(report->schools_by_school_type[0]->count, 2, "VT01 and VT02");
  leerplek_response_free(response);
  /* Today's snapshot is in Redis, as words a person can read. */
  snprintf(key, sizeof key, "lp:trend:%s", today);
  redisReply *stored = NULL;
  for (int tries = 0; tries < 50; tries++) {
    if (stored) freeReplyObject(stored);
    stored = redisCommand(redis, "GET %s", key);
    if (stored && stored->type == REDIS_REPLY_STRING) break;
    nanosleep(&(struct timespec){0, 20000000}, NULL);
  }
  cr_assert(stored && stored->type == REDIS_REPLY_STRING, "no %s in Redis", key);
  cr_expect_not_null(strstr(stored->str, "pupils_registered=5 "), "%s", stored->str);
  cr_expect_not_null(strstr(stored->str, "trainings=2 "), "%s", stored->str);
  cr_expect_not_null(strstr(stored->str, " AUTOTECHNIEK=4"), "pupils per training: %s", stored->str);
  cr_expect_not_null(strstr(stored->str, " KAPPER=1"), "%s", stored->str);
  freeReplyObject(stored);
  redisFree(redis);

  int status = 0;
  char *dom = run_chromium_at("?lang=nl", "--dump-dom", &status);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_expect_eq(figure_in(dom, "pupils-full_time"), 3);
  cr_expect_eq(figure_in(dom, "schools-full_time"), 2);
  cr_expect_eq(figure_in(dom, "pupils-buso"), 1);
  cr_expect_eq(figure_in(dom, "pupils-syntra"), 1);
  cr_expect_eq(figure_in(dom, "trainings-full_time"), 1);
  cr_expect_eq(figure_in(dom, "trainings-learning_working"), 1);
  cr_expect_eq(figure_in(dom, "trainings-syntra"), 1);
  cr_expect_null(strstr(dom, "id=\"pupils-unspecified\""), "no row for a type nobody lacks");
  cr_expect_eq(figure_in(dom, "agreements"), 0);
  cr_expect_eq(figure_in(dom, "agreements-running"), 0);
  cr_expect_not_null(strstr(dom, "<svg id=\"chart-trend\""), "the trend is drawn");
  cr_expect_not_null(strstr(dom, "<polyline class=\"series\""));
  cr_expect_eq(figure_in(dom, "trend-first-pupils-registered"), 320);
  cr_expect_eq(figure_in(dom, "trend-last-pupils-registered"), 5);
  cr_expect_not_null(strstr(dom, "<td>-315</td>"), "the difference from October");
  cr_expect_not_null(strstr(dom, "id=\"trend-first-schools\">-<"), "a figure October did not give is not known");
  cr_expect_not_null(strstr(dom, "<table id=\"trend-trainings\">"), "pupils per training, October against today");
  cr_expect_eq(figure_in(dom, "trend-first-AUTOTECHNIEK"), 7);
  cr_expect_eq(figure_in(dom, "trend-last-AUTOTECHNIEK"), 4);
  cr_expect_not_null(strstr(dom, ">Autotechnicus</td>"), "by name");
  free(dom);
}
