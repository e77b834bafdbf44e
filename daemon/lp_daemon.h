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
typedef struct lp_http lp_http;

/* Counters for /metrics. */
typedef struct lp_metrics {
  unsigned long long requests_by_code[17];  /* replies by StatusCode */
  unsigned long long commits;               /* MULTI/EXEC blocks confirmed */
  unsigned long long commit_failures;       /* MULTI/EXEC blocks that failed or were lost */
  unsigned long long connections_accepted;
  unsigned long long connections_refused;   /* over max_connections */
} lp_metrics;

typedef struct lp_daemon {
  struct event_base *base;
  lp_config config;
  lp_state state;    /* the working set; loaded from Redis by the store */
  lp_store *store;
  lp_server *server;
  lp_follow *follow;   /* NULL unless follow_events = 1 */
  lp_http *http;       /* NULL unless http_listen is set */
  lp_metrics metrics;
  bool stopping;     /* SIGTERM received: draining */
  struct event *drain_timer;
  long drain_waited_ms;
} lp_daemon;

#endif
