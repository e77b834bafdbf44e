/* lp_http: /healthz (200 when the store takes writes, else 503) and /metrics (counters and
 * gauges in Prometheus text format). evhttp has no limits by default: headers, body and
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

#include "lp_log.h"
#include "lp_server.h"
#include "lp_store.h"

struct lp_http {
  lp_daemon *daemon;
  struct evhttp *http;
  char unix_path[108];
};

static const char *const code_names[17] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED"};

static void reply_text(struct evhttp_request *request, int status, const char *reason, struct evbuffer *body) {
  evhttp_add_header(evhttp_request_get_output_headers(request), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  evhttp_send_reply(request, status, reason, body);
}

static void on_healthz(struct evhttp_request *request, void *arg) {
  lp_http *http = arg;
  struct evbuffer *body = evbuffer_new();
  if (!body) {
    evhttp_send_error(request, HTTP_INTERNAL, "out of memory");
    return;
  }
  bool healthy = lp_store_writable(http->daemon->store) && !http->daemon->stopping;
  evbuffer_add_printf(body, "%s\n", healthy ? "ok" : http->daemon->stopping ? "stopping" : "store unavailable");
  reply_text(request, healthy ? HTTP_OK : 503, healthy ? "OK" : "Service Unavailable", body);
  evbuffer_free(body);
}

static void on_metrics(struct evhttp_request *request, void *arg) {
  lp_http *http = arg;
  const lp_daemon *daemon = http->daemon;
  const lp_metrics *metrics = &daemon->metrics;
  struct evbuffer *body = evbuffer_new();
  if (!body) {
    evhttp_send_error(request, HTTP_INTERNAL, "out of memory");
    return;
  }
  evbuffer_add_printf(body, "# HELP leerplek_replies_total API replies sent, by status code.\n"
                            "# TYPE leerplek_replies_total counter\n");
  for (int code = 0; code < 17; code++)
    evbuffer_add_printf(body, "leerplek_replies_total{code=\"%s\"} %llu\n", code_names[code], metrics->requests_by_code[code]);
  evbuffer_add_printf(body,
                      "# HELP leerplek_commits_total MULTI/EXEC writes confirmed by Redis.\n"
                      "# TYPE leerplek_commits_total counter\nleerplek_commits_total %llu\n"
                      "# HELP leerplek_commit_failures_total MULTI/EXEC writes that failed or whose link was lost.\n"
                      "# TYPE leerplek_commit_failures_total counter\nleerplek_commit_failures_total %llu\n"
                      "# HELP leerplek_connections_accepted_total API connections accepted.\n"
                      "# TYPE leerplek_connections_accepted_total counter\nleerplek_connections_accepted_total %llu\n"
                      "# HELP leerplek_connections_refused_total API connections refused over max_connections.\n"
                      "# TYPE leerplek_connections_refused_total counter\nleerplek_connections_refused_total %llu\n"
                      "# HELP leerplek_connections_open API connections open now.\n"
                      "# TYPE leerplek_connections_open gauge\nleerplek_connections_open %zu\n"
                      "# HELP leerplek_store_writable 1 when Redis takes writes, else 0.\n"
                      "# TYPE leerplek_store_writable gauge\nleerplek_store_writable %d\n"
                      "# HELP leerplek_store_in_flight MULTI/EXEC writes waiting for Redis.\n"
                      "# TYPE leerplek_store_in_flight gauge\nleerplek_store_in_flight %zu\n"
                      "# HELP leerplek_records Records in the working set, by kind.\n"
                      "# TYPE leerplek_records gauge\n",
                      metrics->commits, metrics->commit_failures, metrics->connections_accepted,
                      metrics->connections_refused, lp_server_connection_count(daemon->server),
                      lp_store_writable(daemon->store) ? 1 : 0, lp_store_in_flight(daemon->store));
  for (int kind = 0; kind < LP_KIND_COUNT; kind++)
    evbuffer_add_printf(body, "leerplek_records{kind=\"%s\"} %zu\n", lp_kind_name((enum lp_kind)kind),
                        daemon->state.maps[kind].count);
  reply_text(request, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

static void on_other(struct evhttp_request *request, void *arg) {
  (void)arg;
  evhttp_send_error(request, HTTP_NOTFOUND, "only /healthz and /metrics live here");
}

lp_http *lp_http_start(lp_daemon *daemon, char *error, size_t error_size) {
  const char *address = daemon->config.http_listen;
  lp_http *http = calloc(1, sizeof *http);
  if (!http || !(http->http = evhttp_new(daemon->base))) {
    snprintf(error, error_size, "http: out of memory");
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
  evhttp_set_gencb(http->http, on_other, http);

  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  int length = sizeof storage;
  if (strncmp(address, "unix:", 5) == 0) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&storage;
    const char *path = address + 5;
    if (path[0] == '\0' || strlen(path) >= sizeof sun->sun_path) {
      snprintf(error, error_size, "http_listen: unix socket path empty or too long");
      lp_http_free(http);
      return NULL;
    }
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, strlen(path) + 1);
    unlink(path);
    memcpy(http->unix_path, path, strlen(path) + 1);
    length = sizeof *sun;
  } else if (evutil_parse_sockaddr_port(address, (struct sockaddr *)&storage, &length) != 0) {
    snprintf(error, error_size, "http_listen: '%s' is not ip:port, [ipv6]:port or unix:/path", address);
    lp_http_free(http);
    return NULL;
  }
  struct evconnlistener *listener =
      evconnlistener_new_bind(daemon->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                              -1, (struct sockaddr *)&storage, length);
  if (!listener || !evhttp_bind_listener(http->http, listener)) {
    snprintf(error, error_size, "http_listen on %s failed", address);
    if (listener) evconnlistener_free(listener);
    lp_http_free(http);
    return NULL;
  }
  LP_INFO("http (/healthz, /metrics) on %s", address);
  return http;
}

void lp_http_free(lp_http *http) {
  if (!http) return;
  if (http->http) evhttp_free(http->http); /* frees the bound listeners too */
  if (http->unix_path[0]) unlink(http->unix_path);
  free(http);
}
