/* leerplekd: flags and config, --help, --create-admin-token, startup (load state from Redis,
 * listen), signals (SIGTERM/SIGINT drain in-flight calls and exit), shutdown. */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_auth.h"
#include "lp_config.h"
#include "lp_daemon.h"
#include "lp_dispatch.h"
#include "lp_deadlines.h"
#include "lp_figures.h"
#include "lp_events.h"
#include "lp_follow.h"
#include "lp_handlers.h"
#include "lp_http.h"
#include "lp_log.h"
#include "lp_server.h"
#include "lp_rematch.h"
#include "lp_store.h"
#include "lp_store_daemon.h"

static void print_help(FILE *out) {
  fprintf(out, "usage: leerplekd [--config FILE] [--OPTION VALUE | --OPTION=VALUE]...\n"
               "       leerplekd [--config FILE] [--redis ADDRESS] --create-admin-token [--label TEXT]\n"
               "\n"
               "The leerplek placement daemon: serves the framed protobuf API (proto/leerplek.proto)\n"
               "with Redis as the store of record. Options come from the INI file first, then flags.\n"
               "\n"
               "  --config FILE              INI file (see deploy/leerplekd.conf); sections below\n"
               "  --create-admin-token       create an ADMIN token on a store without one, print it, exit\n"
               "  --label TEXT               label for --create-admin-token (default \"first admin\")\n"
               "  --help                     this text\n");
  lp_config_print_help(out);
  fprintf(out, "\nSignals: SIGTERM or SIGINT stop accepting, answer calls in flight, then exit 0.\n");
}

/* Creates the first ADMIN token directly in Redis (synchronously) and prints its secret. */
static int create_admin_token(const lp_config *config, const char *label) {
  char error[256];
  redisContext *redis = lp_store_connect_sync(config, error, sizeof error);
  if (!redis) {
    fprintf(stderr, "leerplekd: %s\n", error);
    return 1;
  }
  lp_state state;
  lp_state_init(&state);
  int status = 1;
  if (lp_store_load_state(redis, &state, error, sizeof error) != 0) {
    fprintf(stderr, "leerplekd: %s\n", error);
    goto done;
  }
  long long now = (long long)time(NULL);
  const lp_map *tokens = &state.maps[LP_KIND_TOKEN];
  for (size_t i = 0; i < tokens->count; i++) {
    const lp_token *token = tokens->entries[i].value;
    if (token->info->role == LEERPLEK__V1__ROLE__ROLE_ADMIN && token->info->revoked_unix_s == 0 &&
        (token->info->expires_unix_s == 0 || token->info->expires_unix_s > now)) {
      fprintf(stderr, "leerplekd: the store already has an active ADMIN token (%s); use it to create more\n",
              token->info->id);
      goto done;
    }
  }
  char id[LP_TOKEN_ID_SIZE], text[LP_TOKEN_TEXT_SIZE], hash_hex[65], hash_key[64];
  unsigned char hash[32];
  if (lp_auth_new_token(id, text) != 0 || lp_auth_hash(text, hash) != 0) {
    fprintf(stderr, "leerplekd: could not create a token (random source or SHA-256 failed)\n");
    goto done;
  }
  Leerplek__V1__TokenInfo info = LEERPLEK__V1__TOKEN_INFO__INIT;
  info.id = id;
  info.role = LEERPLEK__V1__ROLE__ROLE_ADMIN;
  info.label = (char *)label;
  info.created_unix_s = now;
  lp_auth_hash_hex(hash, hash_hex);
  snprintf(hash_key, sizeof hash_key, LP_TOKENHASH_PREFIX "%s", id);
  lp_txn *txn = lp_txn_new();
  lp_txn_put(txn, LP_KIND_TOKEN, id, &info.base);
  lp_txn_set_raw(txn, hash_key, hash_hex, 64);
  lp_txn_event(txn, config->instance_id[0] ? config->instance_id : "setup", "create", LP_KIND_TOKEN, id,
               "leerplekd --create-admin-token", config->events_max_length);
  int rc = lp_store_commit_sync(redis, txn, error, sizeof error);
  lp_txn_free(txn);
  if (rc != 0) {
    fprintf(stderr, "leerplekd: %s\n", error);
    goto done;
  }
  printf("%s\n", text);
  fflush(stdout);
  status = 0;
done:
  lp_state_free(&state);
  redisFree(redis);
  return status;
}

/* The trend's snapshots (lp_trend_start: some ten MGETs) are read in this thread over a link of
 * its own, beside the state's load. */
typedef struct trend_loader {
  lp_daemon *daemon;
  lp_trend *trend;
  pthread_t thread;
  double ms; /* how long it took (the start-up log line says) */
} trend_loader;

static double ms_since(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - since->tv_sec) * 1e3 + (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static void *load_trend(void *arg) {
  trend_loader *loader = arg;
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  char error[512];
  redisContext *redis = lp_store_connect_sync(&loader->daemon->config, error, sizeof error);
  if (redis && lp_redis_wait_while_loading(redis, error, sizeof error) != 0) {
    redisFree(redis);
    redis = NULL;
  }
  if (!redis) LP_WARN("trend: %s; the dashboard's trend starts today", error);
  loader->trend = lp_trend_start(loader->daemon, redis); /* afterwards only this daemon writes its own */
  if (redis) redisFree(redis);
  loader->ms = ms_since(&started);
  return NULL;
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_daemon *daemon = arg;
  daemon->drain_waited_ms += 20;
  long waited_ms = daemon->drain_waited_ms;
  bool idle = lp_server_connection_count(daemon->server) == 0 && lp_store_in_flight(daemon->store) == 0;
  if (idle || waited_ms > (long)daemon->config.shutdown_grace_ms) {
    if (!idle) LP_WARN("shutdown: grace period over with calls still in flight");
    event_base_loopexit(daemon->base, NULL);
  }
}

static void on_signal(evutil_socket_t signal_number, short what, void *arg) {
  (void)what;
  lp_daemon *daemon = arg;
  if (daemon->stopping) return;
  LP_INFO("signal %d: draining and stopping", (int)signal_number);
  daemon->stopping = true;
  lp_server_drain(daemon->server);
  daemon->drain_timer = event_new(daemon->base, -1, EV_PERSIST, on_drain_tick, daemon);
  struct timeval every = {0, 20 * 1000};
  if (daemon->drain_timer)
    event_add(daemon->drain_timer, &every);
  else
    event_base_loopexit(daemon->base, NULL);
}

/* Where the watch feeds stand: the follower feeds them. */
static const char *feed_position(const void *follow) { return lp_follow_last_id(follow); }

int main(int argc, char **argv) {
  struct timespec started; /* for the start-up log line */
  clock_gettime(CLOCK_MONOTONIC, &started);
  lp_config config;
  lp_config_defaults(&config);
  char error[512];
  bool create_admin = false;
  const char *label = "first admin";

  /* The config file first, so that flags override it whatever their order. */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_help(stdout);
      return 0;
    }
    const char *file = NULL;
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      file = argv[i + 1];
    else if (strncmp(argv[i], "--config=", 9) == 0)
      file = argv[i] + 9;
    if (file && lp_config_load_file(&config, file, error, sizeof error) != 0) {
      fprintf(stderr, "leerplekd: %s\n", error);
      return 2;
    }
  }
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) {
      fprintf(stderr, "leerplekd: unexpected argument '%s' (see --help)\n", arg);
      return 2;
    }
    if (strcmp(arg, "--create-admin-token") == 0) {
      create_admin = true;
      continue;
    }
    char name[64];
    const char *value = NULL;
    const char *equals = strchr(arg, '=');
    size_t name_length = equals ? (size_t)(equals - arg - 2) : strlen(arg + 2);
    if (name_length >= sizeof name) {
      fprintf(stderr, "leerplekd: unknown option '%s' (see --help)\n", arg);
      return 2;
    }
    memcpy(name, arg + 2, name_length);
    name[name_length] = '\0';
    if (equals)
      value = equals + 1;
    else if (i + 1 < argc)
      value = argv[++i];
    else {
      fprintf(stderr, "leerplekd: option --%s needs a value\n", name);
      return 2;
    }
    if (strcmp(name, "config") == 0) continue;
    if (strcmp(name, "label") == 0) {
      label = value;
      continue;
    }
    if (lp_config_set(&config, name, value, error, sizeof error) != 0) {
      fprintf(stderr, "leerplekd: %s (see --help)\n", error);
      return 2;
    }
  }
  if (lp_config_validate(&config, error, sizeof error) != 0 ||
      lp_config_load_secrets(&config, error, sizeof error) != 0) {
    fprintf(stderr, "leerplekd: %s\n", error);
    return 2;
  }
  lp_log_set_level(lp_log_level_parse(config.log_level));
  if (create_admin) return create_admin_token(&config, label);

  if (config.instance_id[0] == '\0') {
    char id[LP_TOKEN_ID_SIZE], unused[LP_TOKEN_TEXT_SIZE];
    if (lp_auth_new_token(id, unused) != 0) {
      fprintf(stderr, "leerplekd: no random source\n");
      return 1;
    }
    snprintf(config.instance_id, sizeof config.instance_id, "%s", id);
  }
  signal(SIGPIPE, SIG_IGN);
  lp_alloc_install(); /* before any libevent call: its allocations follow the daemon's policy */
  /* The dashboard picks its language per request (lp_dashboard.c); gettext would let an
   * inherited LANGUAGE (en_GB:en on many desktops) override that choice. Single-threaded here. */
  unsetenv("LANGUAGE");
  evthread_use_pthreads(); /* before the base: the rematch worker hands its result back with event_active */

  lp_daemon daemon;
  memset(&daemon, 0, sizeof daemon);
  daemon.config = config;
  lp_state_init(&daemon.state);
  daemon.base = event_base_new();
  if (!daemon.base) {
    fprintf(stderr, "leerplekd: cannot create the event loop\n");
    return 1;
  }
  int status = 1;
  lp_rematch *rematch = NULL;
  lp_deadlines *deadlines = NULL;
  struct event *term = evsignal_new(daemon.base, SIGTERM, on_signal, &daemon);
  struct event *interrupt = evsignal_new(daemon.base, SIGINT, on_signal, &daemon);
  daemon.store = lp_store_new(&daemon);
  lp_frame_handler frame_handler = lp_dispatch_handler(&daemon); /* lives as long as the server */
  daemon.server = lp_server_new(&daemon, &frame_handler);
  if (!term || !interrupt || !daemon.store || !daemon.server) {
    LP_ERROR("out of memory at startup");
    goto cleanup;
  }
  event_add(term, NULL);
  event_add(interrupt, NULL);
  double trend_ms = 0;
  {
    trend_loader loader = {.daemon = &daemon};
    bool threaded = pthread_create(&loader.thread, NULL, load_trend, &loader) == 0;
    int started = lp_store_start(daemon.store);
    if (threaded)
      pthread_join(loader.thread, NULL);
    else if (started == 0)
      load_trend(&loader);
    daemon.trend = loader.trend;
    trend_ms = loader.ms;
    if (started != 0) goto cleanup;
    if (!daemon.trend) {
      LP_ERROR("out of memory starting the trend");
      goto cleanup;
    }
  }
  rematch = lp_rematch_new(&daemon);
  if (rematch) lp_rematch_set_after_nightly(rematch, lp_referrals_dispatch_nightly);
  if (!rematch) {
    LP_ERROR("out of memory starting the rematch");
    goto cleanup;
  }
  if (!(deadlines = lp_deadlines_start(&daemon, lp_handle_due))) {
    LP_ERROR("out of memory starting the deadline sweep");
    goto cleanup;
  }
  if (config.follow_events && !(daemon.follow = lp_follow_start(&daemon, lp_store_events_start(daemon.store)))) {
    LP_ERROR("out of memory starting to follow lp:events");
    goto cleanup;
  }
  /* The feed takes its live events from the follower (lp_events.c). */
  if (daemon.follow) daemon.watchers = lp_watchers_new(&daemon, feed_position, daemon.follow);
  if (lp_server_listen(daemon.server, error, sizeof error) != 0) {
    LP_ERROR("%s", error);
    goto cleanup;
  }
  if (config.http_listen[0] && !(daemon.http = lp_http_start(&daemon, error, sizeof error))) {
    LP_ERROR("%s", error);
    goto cleanup;
  }
  LP_INFO(
      "%s instance %s listening on %s, store %s (%zu trainings, %zu companies, %zu vacancies, %zu pupils, %zu tokens)",
      LP_SERVER_VERSION, config.instance_id, config.listen, config.redis, daemon.state.maps[LP_KIND_TRAINING].count,
      daemon.state.maps[LP_KIND_COMPANY].count, daemon.state.maps[LP_KIND_VACANCY].count,
      daemon.state.maps[LP_KIND_PUPIL].count, daemon.state.maps[LP_KIND_TOKEN].count);
  /* Phases of the load are on its own "state loaded" line; /healthz turns 200 once the write
   * link has answered its first PING, on the loop's first turns. */
  LP_INFO("start-up: listening %.0f ms after start (the trend's snapshots read in %.0f ms beside the state's load)",
          ms_since(&started), trend_ms);
  event_base_dispatch(daemon.base);
  LP_INFO("stopped");
  status = 0;

cleanup:
  lp_http_free(daemon.http);
  lp_trend_free(daemon.trend);
  lp_server_free(daemon.server);
  lp_follow_free(daemon.follow);
  lp_store_free(daemon.store); /* answers an epoch write in flight before the rematch goes */
  daemon.store = NULL;         /* the rematch, freed below, then releases its lock on a link of its own */
  lp_deadlines_free(deadlines);
  lp_watchers_free(daemon.watchers); /* last: the closing connections and reads above unhook theirs */
  lp_rematch_free(rematch);
  lp_state_free(&daemon.state);
  if (term) event_free(term);
  if (interrupt) event_free(interrupt);
  if (daemon.drain_timer) event_free(daemon.drain_timer);
  event_base_free(daemon.base);
  libevent_global_shutdown();
  return status;
}
