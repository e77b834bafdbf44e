/* lp_daemon: the one context object shared by the server, dispatch, handlers and store. */
#ifndef LP_DAEMON_H
#define LP_DAEMON_H

#include <event2/event.h>
#include <stdbool.h>

#include "lp_config.h"
#include "lp_state.h"

#define LP_SERVER_VERSION "leerplekd 0.1.0"
#define LP_PROTOCOL_MIN 1u
#define LP_PROTOCOL_MAX 1u

typedef struct lp_store lp_store;
typedef struct lp_server lp_server;
typedef struct lp_follow lp_follow;
typedef struct lp_watchers lp_watchers;
typedef struct lp_http lp_http;
typedef struct lp_trend lp_trend;

/* Latency histogram bounds of /metrics, seconds (a last bucket catches the rest). */
#define LP_LATENCY_BOUNDS 12
extern const double lp_latency_bounds[LP_LATENCY_BOUNDS];
/* Rows of the per-call counters: 0 = no call known (unparsable frame, refused connection),
 * 1 = hello, then one per route of lp_dispatch.c (lp_dispatch_call_name gives the names). */
#define LP_METRIC_CALLS 64

/* Replies and latency of one call (time from the frame read to the reply queued). */
typedef struct lp_call_metrics {
  unsigned long long replies_by_code[17];                    /* by StatusCode */
  unsigned long long latency_buckets[LP_LATENCY_BOUNDS + 1]; /* not cumulative */
  double latency_sum_s;
} lp_call_metrics;

/* Counters for /metrics. */
typedef struct lp_metrics {
  lp_call_metrics calls[LP_METRIC_CALLS];
  unsigned long long commits;         /* writes confirmed by Redis */
  unsigned long long commit_failures; /* writes that failed or whose link was lost */
  unsigned long long connections_accepted;
  unsigned long long connections_refused;                /* over max_connections */
  unsigned long long connections_refused_per_address;    /* over max_connections_per_address */
  unsigned long long connections_refused_no_descriptors; /* accepted on the reserve descriptor, told, closed */
  unsigned long long connections_cut_output;             /* cut off over max_output_total_bytes */
  unsigned long long hello_timeouts;                     /* no Hello within hello_timeout_ms */
  unsigned long long frame_timeouts;                     /* a frame not complete within frame_timeout_ms */
  unsigned long long tls_handshake_failures;
  unsigned long long tls_plaintext_refused; /* plain-text clients on the TLS port */
  unsigned long long redis_connects;        /* links to Redis set up (the first and every reconnect) */
  unsigned long long redis_connect_failures;
  unsigned long long redis_disconnects;      /* links lost or dropped by the watchdog */
  unsigned long long redis_errors;           /* error replies from Redis (refused writes, failed PINGs) */
  unsigned long long redis_primary_switches; /* the Sentinels named another primary */
  unsigned long long redis_wait_shortfalls;  /* writes not confirmed by redis_wait_replicas replicas */
} lp_metrics;

typedef struct lp_daemon {
  struct event_base *base;
  lp_config config;
  lp_state state; /* the working set; loaded from Redis by the store */
  lp_store *store;
  lp_server *server;
  lp_follow *follow;     /* NULL unless follow_events = 1 */
  lp_watchers *watchers; /* the watch feeds (lp_events.c); NULL unless follow_events = 1 */
  lp_http *http;         /* NULL unless http_listen is set */
  lp_trend *trend;       /* the daily snapshots of the headline figures (lp_figures.c) */
  lp_metrics metrics;
  bool stopping; /* SIGTERM received: draining */
  struct event *drain_timer;
  long drain_waited_ms;
} lp_daemon;

#endif
