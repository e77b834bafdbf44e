/* lp_http: /healthz (200 when the data is loaded and the store takes writes, else 503),
 * /metrics (counters, gauges and latency histograms in Prometheus text format) and /dashboard
 * (lp_dashboard.c). evhttp has no limits by default: headers, body and
 * time are bounded here, and only GET and HEAD are allowed. */
#include "lp_http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "leerplek_wire.h"
#include "lp_alloc.h"
#include "leerplek.pb-c.h"
#include "lp_dashboard.h"
#include "lp_dispatch.h"
#include "lp_log.h"
#include "lp_rematch.h"
#include "lp_server.h"
#include "lp_store.h"

struct lp_http {
  lp_daemon *daemon;
  struct evhttp *http;
  char unix_path[108];
};

/* An enum value's name without its type prefix ("STATUS_CODE_NOT_FOUND" -> "NOT_FOUND"), from
 * the generated descriptor: the proto file stays the one list of names. Value 0 is named by the
 * caller (proto3 calls it *_UNSPECIFIED, which reads badly as "OK" or "no placement"). */
static const char *enum_label(const ProtobufCEnumDescriptor *descriptor, int value, const char *prefix,
                              const char *zero_label) {
  if (value == 0) return zero_label;
  const ProtobufCEnumValue *entry = protobuf_c_enum_descriptor_get_value(descriptor, value);
  if (!entry) return "UNKNOWN";
  size_t length = strlen(prefix);
  return strncmp(entry->name, prefix, length) == 0 ? entry->name + length : entry->name;
}

static void reply_text(struct evhttp_request *request, int status, const char *reason, struct evbuffer *body) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type",
                    "text/plain; version=0.0.4; charset=utf-8");
  evhttp_send_reply(request, status, reason, body);
}

static void on_healthz(struct evhttp_request *request, void *arg) {
  lp_http *http = arg;
  struct evbuffer *body = evbuffer_new(); /* never NULL: libevent allocates through lp_alloc */
  bool healthy = lp_store_writable(http->daemon->store) && !http->daemon->stopping;
  evbuffer_add_printf(body, "%s\n", healthy ? "ok" : http->daemon->stopping ? "stopping" : "store unavailable");
  reply_text(request, healthy ? HTTP_OK : 503, healthy ? "OK" : "Service Unavailable", body);
  evbuffer_free(body);
}

static void metric_header(struct evbuffer *body, const char *name, const char *type, const char *help) {
  evbuffer_add_printf(body, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_call_metrics(struct evbuffer *body, const lp_metrics *metrics) {
  metric_header(body, "leerplek_replies_total", "counter", "API replies sent, by call and status code.");
  for (unsigned row = 0; row < LP_METRIC_CALLS && lp_dispatch_call_name(row); row++)
    for (int code = 0; code < 17; code++)
      if (metrics->calls[row].replies_by_code[code] > 0)
        evbuffer_add_printf(body, "leerplek_replies_total{call=\"%s\",code=\"%s\"} %llu\n", lp_dispatch_call_name(row),
                            enum_label(&leerplek__v1__status_code__descriptor, code, "STATUS_CODE_", "OK"),
                            metrics->calls[row].replies_by_code[code]);
  metric_header(body, "leerplek_request_duration_seconds", "histogram",
                "Time from reading a request to queueing its reply (writes include Redis' confirmation), by call.");
  for (unsigned row = 0; row < LP_METRIC_CALLS && lp_dispatch_call_name(row); row++) {
    const lp_call_metrics *call = &metrics->calls[row];
    unsigned long long cumulative = 0;
    for (int bucket = 0; bucket <= LP_LATENCY_BOUNDS; bucket++) cumulative += call->latency_buckets[bucket];
    if (cumulative == 0) continue;
    const char *name = lp_dispatch_call_name(row);
    cumulative = 0;
    for (int bucket = 0; bucket < LP_LATENCY_BOUNDS; bucket++) {
      cumulative += call->latency_buckets[bucket];
      evbuffer_add_printf(body, "leerplek_request_duration_seconds_bucket{call=\"%s\",le=\"%g\"} %llu\n", name,
                          lp_latency_bounds[bucket], cumulative);
    }
    cumulative += call->latency_buckets[LP_LATENCY_BOUNDS];
    evbuffer_add_printf(body, "leerplek_request_duration_seconds_bucket{call=\"%s\",le=\"+Inf\"} %llu\n", name,
                        cumulative);
    evbuffer_add_printf(body, "leerplek_request_duration_seconds_sum{call=\"%s\"} %.9f\n", name, call->latency_sum_s);
    evbuffer_add_printf(body, "leerplek_request_duration_seconds_count{call=\"%s\"} %llu\n", name, cumulative);
  }
}

static void add_counter(struct evbuffer *body, const char *name, const char *help, unsigned long long value) {
  metric_header(body, name, "counter", help);
  evbuffer_add_printf(body, "%s %llu\n", name, value);
}

static void add_gauge(struct evbuffer *body, const char *name, const char *help, double value) {
  metric_header(body, name, "gauge", help);
  evbuffer_add_printf(body, "%s %.17g\n", name, value);
}

/* Pupils by placement state and seats, counted from the working set at scrape time. */
static void add_state_metrics(struct evbuffer *body, const lp_state *state) {
  enum { STATES = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ENDED + 1 };
  unsigned long long by_state[STATES] = {0};
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT];
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    int placement_state = (int)placement->state;
    if (placement_state >= 0 && placement_state < STATES) by_state[placement_state]++;
  }
  size_t pupils = state->maps[LP_KIND_PUPIL].count;
  metric_header(body, "leerplek_pupils", "gauge",
                "Registered pupils by placement state (NONE: registered, no placement requested).");
  for (int s = 0; s < STATES; s++) {
    unsigned long long count = by_state[s];
    if (s == 0) count = pupils > placements->count ? pupils - placements->count : 0;
    evbuffer_add_printf(body, "leerplek_pupils{state=\"%s\"} %llu\n",
                        enum_label(&leerplek__v1__placement_state__descriptor, s, "PLACEMENT_STATE_", "NONE"), count);
  }
  unsigned long long open_vacancies = 0, open_seats = 0, free_seats = 0;
  const lp_map *vacancies = &state->maps[LP_KIND_VACANCY];
  for (size_t i = 0; i < vacancies->count; i++) {
    const Leerplek__V1__Vacancy *vacancy = vacancies->entries[i].value;
    if (vacancy->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN) continue;
    long free_here = (long)vacancy->seats - vacancy->seats_filled - vacancy->seats_proposed;
    open_vacancies++;
    open_seats += vacancy->seats;
    free_seats += free_here > 0 ? (unsigned long long)free_here : 0;
  }
  add_gauge(body, "leerplek_open_vacancies", "Open vacancies.", (double)open_vacancies);
  add_gauge(body, "leerplek_open_seats", "Seats in open vacancies.", (double)open_seats);
  add_gauge(body, "leerplek_free_seats", "Seats in open vacancies not held by a proposal or placement.",
            (double)free_seats);
  metric_header(body, "leerplek_records", "gauge", "Records in the working set, by kind.");
  for (int kind = 0; kind < LP_KIND_COUNT; kind++)
    evbuffer_add_printf(body, "leerplek_records{kind=\"%s\"} %zu\n", lp_kind_name((enum lp_kind)kind),
                        state->maps[kind].count);
}

static void add_rematch_metrics(struct evbuffer *body, const lp_daemon *daemon) {
  lp_rematch *rematch = lp_rematch_of(daemon);
  const Leerplek__V1__RematchResult *last = rematch ? lp_rematch_last(rematch) : NULL;
  add_gauge(body, "leerplek_rematch_running", "1 while this daemon runs a rematch.",
            rematch && lp_rematch_running(rematch) ? 1 : 0);
  add_gauge(body, "leerplek_rematch_epoch", "Epoch of the last applied rematch (0: none yet).",
            last ? (double)last->epoch : 0);
  if (!last) return;
  add_gauge(body, "leerplek_rematch_last_start_time_seconds", "Unix time the last applied rematch started.",
            (double)last->started_unix_s);
  metric_header(body, "leerplek_rematch_duration_seconds", "gauge", "Phases of the last applied rematch.");
  const struct {
    const char *phase;
    uint64_t us;
  } phases[] = {{"snapshot", last->snapshot_us},
                {"candidates", last->candidates_us},
                {"solve", last->solve_us},
                {"write", last->write_us},
                {"total", last->snapshot_us + last->candidates_us + last->solve_us + last->write_us}};
  for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++)
    evbuffer_add_printf(body, "leerplek_rematch_duration_seconds{phase=\"%s\"} %.6f\n", phases[i].phase,
                        (double)phases[i].us / 1e6);
  add_gauge(body, "leerplek_rematch_placed",
            "Pupils the last applied rematch gave a proposal (fixed placements not included).", last->placed);
  add_gauge(body, "leerplek_rematch_unplaced", "Pupils left waiting by the last applied rematch.", last->unplaced);
  add_gauge(body, "leerplek_rematch_eligible_pairs", "Eligible pupil-vacancy pairs in the last applied rematch.",
            (double)last->eligible_pairs);
}

static void on_metrics(struct evhttp_request *request, void *arg) {
  lp_http *http = arg;
  const lp_daemon *daemon = http->daemon;
  const lp_metrics *metrics = &daemon->metrics;
  struct evbuffer *body = evbuffer_new(); /* never NULL: libevent allocates through lp_alloc */
  add_call_metrics(body, metrics);
  add_counter(body, "leerplek_commits_total", "Writes confirmed by Redis.", metrics->commits);
  add_counter(body, "leerplek_commit_failures_total", "Writes that failed or whose link was lost.",
              metrics->commit_failures);
  add_counter(body, "leerplek_connections_accepted_total", "API connections accepted.", metrics->connections_accepted);
  add_counter(body, "leerplek_connections_refused_total", "API connections refused over max_connections.",
              metrics->connections_refused);
  add_gauge(body, "leerplek_connections_open", "API connections open now.",
            (double)lp_server_connection_count(daemon->server));
  add_counter(body, "leerplek_connections_refused_per_address_total",
              "API connections refused over max_connections_per_address.", metrics->connections_refused_per_address);
  add_counter(body, "leerplek_connections_refused_no_descriptors_total",
              "API connections accepted on the reserved descriptor when out of file descriptors, told so and closed.",
              metrics->connections_refused_no_descriptors);
  add_counter(body, "leerplek_hello_timeouts_total", "API connections closed for no Hello within hello_timeout_ms.",
              metrics->hello_timeouts);
  add_counter(body, "leerplek_frame_timeouts_total",
              "API connections closed for a request frame not complete within frame_timeout_ms.",
              metrics->frame_timeouts);
  add_counter(body, "leerplek_connections_cut_output_total",
              "API connections cut off while all unsent replies were over max_output_total_bytes.",
              metrics->connections_cut_output);
  add_gauge(body, "leerplek_output_bytes", "Reply bytes queued on all API connections and not yet sent.",
            (double)lp_server_output_bytes(daemon->server));
  add_counter(body, "leerplek_tls_handshake_failures_total", "TLS handshakes that failed on the API port.",
              metrics->tls_handshake_failures);
  add_counter(body, "leerplek_tls_plaintext_refused_total", "Plain-text clients refused on the TLS API port.",
              metrics->tls_plaintext_refused);
  add_counter(body, "leerplek_redis_connects_total", "Links to Redis set up (the first one and every reconnect).",
              metrics->redis_connects);
  add_counter(body, "leerplek_redis_connect_failures_total", "Attempts to link to Redis that failed or timed out.",
              metrics->redis_connect_failures);
  add_counter(body, "leerplek_redis_primary_switches_total", "Times the Sentinels named another Redis primary.",
              metrics->redis_primary_switches);
  add_counter(body, "leerplek_redis_wait_shortfalls_total",
              "Writes answered DEADLINE_EXCEEDED because fewer than redis_wait_replicas replicas confirmed them.",
              metrics->redis_wait_shortfalls);
  add_counter(body, "leerplek_redis_disconnects_total", "Links to Redis lost or dropped for not answering.",
              metrics->redis_disconnects);
  add_counter(body, "leerplek_redis_errors_total", "Error replies from Redis (refused writes, failed health checks).",
              metrics->redis_errors);
  add_gauge(body, "leerplek_store_writable", "1 when Redis takes writes and the data is loaded, else 0.",
            lp_store_writable(daemon->store) ? 1 : 0);
  add_gauge(body, "leerplek_store_in_flight", "Writes waiting for Redis.", (double)lp_store_in_flight(daemon->store));
  add_state_metrics(body, &daemon->state);
  add_rematch_metrics(body, daemon);
  reply_text(request, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

static void on_dashboard(struct evhttp_request *request, void *arg) {
  lp_http *http = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(request);
  const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
  const char *accept_language = evhttp_find_header(evhttp_request_get_input_headers(request), "Accept-Language");
  int dutch = lp_dashboard_dutch(query, accept_language);
  struct evbuffer *body = evbuffer_new(); /* never NULL: libevent allocates through lp_alloc */
  if (lp_dashboard_render(http->daemon, body, dutch) != 0) {
    evbuffer_free(body);
    evhttp_send_error(request, HTTP_INTERNAL, "the report could not be made");
    return;
  }
  struct evkeyvalq *headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", "text/html; charset=utf-8");
  /* The page is self-contained: forbid everything but its own inline style. */
  evhttp_add_header(headers, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  evhttp_add_header(headers, "Cache-Control", "no-store");
  evhttp_add_header(headers, "Content-Language", dutch ? "nl-BE" : "en");
  evhttp_add_header(headers, "Vary", "Accept-Language");
  evhttp_send_reply(request, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

static void on_other(struct evhttp_request *request, void *arg) {
  (void)arg;
  evhttp_send_error(request, HTTP_NOTFOUND, "only /healthz, /metrics and /dashboard live here");
}

lp_http *lp_http_start(lp_daemon *daemon, char *error, size_t error_size) {
  const char *address = daemon->config.http_listen;
  lp_http *http = lp_calloc(1, sizeof *http);
  if (!(http->http = evhttp_new(daemon->base))) {
    snprintf(error, error_size, "http: libevent could not start an HTTP server");
    free(http);
    return NULL;
  }
  http->daemon = daemon;
  evhttp_set_max_headers_size(http->http, 8192);
  evhttp_set_max_body_size(http->http, 1024);
  evhttp_set_timeout(http->http, 10);
  evhttp_set_allowed_methods(http->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_cb(http->http, "/healthz", on_healthz, http);
  evhttp_set_cb(http->http, "/metrics", on_metrics, http);
  evhttp_set_cb(http->http, "/dashboard", on_dashboard, http);
  evhttp_set_gencb(http->http, on_other, http);

  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  int length = sizeof storage;
  leerplek_address parsed;
  char reason[300];
  if (leerplek_address_parse(address, &parsed, reason, sizeof reason) != 0) {
    snprintf(error, error_size, "http_listen: %s", reason);
    lp_http_free(http);
    return NULL;
  }
  if (parsed.is_unix) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&storage;
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, parsed.host, strlen(parsed.host) + 1);
    unlink(parsed.host);
    memcpy(http->unix_path, parsed.host, strlen(parsed.host) + 1);
    length = sizeof *sun;
  } else if (evutil_parse_sockaddr_port(address, (struct sockaddr *)&storage, &length) != 0) {
    snprintf(error, error_size, "http_listen: '%s' is not ip:port, [ipv6]:port or unix:/path", address);
    lp_http_free(http);
    return NULL;
  }
  struct evconnlistener *listener = evconnlistener_new_bind(
      daemon->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
      (struct sockaddr *)&storage, length);
  if (!listener || !evhttp_bind_listener(http->http, listener)) {
    snprintf(error, error_size, "http_listen on %s failed", address);
    if (listener) evconnlistener_free(listener);
    lp_http_free(http);
    return NULL;
  }
  LP_INFO("http (/healthz, /metrics, /dashboard) on %s", address);
  return http;
}

void lp_http_free(lp_http *http) {
  if (!http) return;
  if (http->http) evhttp_free(http->http); /* frees the bound listeners too */
  if (http->unix_path[0]) unlink(http->unix_path);
  free(http);
}
