/* harness: starts a private redis-server (unix socket, AOF, temp dir) and a real leerplekd for
 * integration tests, waits until each is ready, kills (-9 or TERM) and restarts them. No mocks.
 * Shared by the daemon, CLI and bench tests: keep it general. */
#ifndef LEERPLEK_TEST_HARNESS_H
#define LEERPLEK_TEST_HARNESS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/types.h>

#include "libleerplek.h"

typedef struct lp_harness {
  char dir[256];            /* private temp dir: sockets, AOF, logs */
  char redis_socket[320];   /* path of redis' unix socket */
  char redis_address[330];  /* "unix:<redis_socket>" for leerplekd --redis */
  char daemon_address[330]; /* "unix:<dir>/leerplekd.sock" for leerplek_connect */
  pid_t redis_pid;
  pid_t daemon_pid;
  char admin_token[128]; /* from harness_create_admin_token */
  char tls_ca_file[320]; /* set: the daemon is reached over TLS, trusting this CA (PEM) */
} lp_harness;

/* Forks and execs argv (found on PATH) with stdout and stderr appended to log_path; the child
 * is killed when the calling thread's process goes away. */
pid_t harness_spawn(const char *const *argv, const char *log_path);
/* A TCP port on 127.0.0.1 that was free a moment ago. */
int harness_free_port(void);

/* Makes the temp dir and starts redis-server; 0 or -1 (reason on stderr). */
int harness_start_redis(lp_harness *harness);
/* Stops redis: with SIGKILL when kill9, else SIGTERM (waits for the exit). */
void harness_stop_redis(lp_harness *harness, bool kill9);
/* Starts leerplekd against the harness' redis with extra flags (NULL-terminated list, may be
 * NULL) and waits until it answers hello (5 s at most); 0 or -1. A "--listen ADDRESS" among
 * the flags (e.g. "127.0.0.1:7411" for TCP) replaces daemon_address. The daemon logs at debug
 * level to <dir>/leerplekd.log. */
int harness_start_daemon(lp_harness *harness, const char *const *extra_flags);
/* Sends signal_number to the daemon and waits for it; returns its exit status (or 128+signal). */
int harness_stop_daemon(lp_harness *harness, int signal_number);
/* Runs `leerplekd --create-admin-token` and keeps the token in harness->admin_token; 0 or -1. */
int harness_create_admin_token(lp_harness *harness);
/* A synchronous hiredis connection to the harness' redis (caller frees with redisFree). */
redisContext *harness_redis(const lp_harness *harness);
/* Connects to the daemon with token (may be NULL), over TLS when tls_ca_file is set; NULL on
 * failure (reason on stderr). */
leerplek_client *harness_connect(const lp_harness *harness, const char *token);
/* Stops the daemon with SIGTERM (a clean exit is status 0; sanitised builds check for leaks
 * then), kills redis, removes the temp dir (kept when LEERPLEK_KEEP_TEST_DIR is set). Returns
 * the daemon's exit status (0 if none was running). */
int harness_cleanup(lp_harness *harness);
/* Milliseconds since some fixed point (CLOCK_MONOTONIC). */
long long harness_now_ms(void);
/* A dump of every lp:* key and its value (strings, sets sorted), to compare before/after; the
 * lp:events stream and the daemon's daily trend snapshots (lp:trend:*) are left out. Caller
 * frees. */
char *harness_snapshot(const lp_harness *harness);

#endif
