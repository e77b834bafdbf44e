/* harness: real redis-server and leerplekd processes for integration tests (see harness.h). */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef LEERPLEKD_PATH
#error "LEERPLEKD_PATH must name the leerplekd binary"
#endif

long long harness_now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&pause, NULL);
}

pid_t harness_spawn(const char *const *argv, const char *log_path) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* A test that dies (a timeout, a failed setup that skips its teardown) must not leave its
   * servers running: they get SIGKILL with it. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log >= 0) {
    dup2(log, 1);
    dup2(log, 2);
    close(log);
  }
  execvp(argv[0], (char *const *)argv);
  fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

/* The low end of the kernel's ephemeral port range (32768 when it cannot be read). */
static int ephemeral_port_low(void) {
  int low = 32768, high = 0;
  FILE *range = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (range) {
    if (fscanf(range, "%d %d", &low, &high) != 2 || low <= 12000) low = 32768;
    fclose(range);
  }
  return low;
}

/* A port below the ephemeral range that binds now. Not one from bind(0): that one lies inside
 * the ephemeral range, where another suite's outgoing connection (ctest runs them in parallel)
 * can take it as its local end before the server under test listens on it. */
int harness_free_port(void) {
  static unsigned draw;
  if (!draw) draw = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
  int low = ephemeral_port_low();
  for (int attempt = 0; attempt < 200; attempt++) {
    draw = draw * 1103515245u + 12345u;
    int port = 10000 + (int)((draw >> 8) % (unsigned)(low - 10000));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((uint16_t)port);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address) == 0;
    close(fd);
    if (bound) return port;
  }
  return -1;
}

/* leerplek_connect, or leerplek_connect_tls when the harness has a CA file. */
static int connect_client(const lp_harness *harness, const char *token, leerplek_client **client, char *error,
                          size_t error_size) {
  if (!harness->tls_ca_file[0]) return leerplek_connect(harness->daemon_address, token, client, error, error_size);
  leerplek_tls tls = {harness->tls_ca_file, NULL, NULL, NULL};
  return leerplek_connect_tls(harness->daemon_address, token, &tls, client, error, error_size);
}

redisContext *harness_redis(const lp_harness *harness) {
  struct timeval timeout = {2, 0};
  redisContext *redis = redisConnectUnixWithTimeout(harness->redis_socket, timeout);
  if (redis && redis->err) {
    redisFree(redis);
    return NULL;
  }
  return redis;
}

int harness_start_redis(lp_harness *harness) {
  if (harness->dir[0] == '\0') {
    snprintf(harness->dir, sizeof harness->dir, "/tmp/leerplek-test-XXXXXX");
    if (!mkdtemp(harness->dir)) {
      fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
      return -1;
    }
    snprintf(harness->redis_socket, sizeof harness->redis_socket, "%s/redis.sock", harness->dir);
    snprintf(harness->redis_address, sizeof harness->redis_address, "unix:%s", harness->redis_socket);
    snprintf(harness->daemon_address, sizeof harness->daemon_address, "unix:%s/leerplekd.sock", harness->dir);
  }
  char log_path[320];
  snprintf(log_path, sizeof log_path, "%s/redis.log", harness->dir);
  const char *argv[] = {"redis-server",
                        "--port",
                        "0",
                        "--unixsocket",
                        harness->redis_socket,
                        "--unixsocketperm",
                        "700",
                        "--save",
                        "",
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                        "--dir",
                        harness->dir,
                        NULL};
  harness->redis_pid = harness_spawn(argv, log_path);
  if (harness->redis_pid < 0) return -1;
  for (long long deadline = harness_now_ms() + 5000; harness_now_ms() < deadline; sleep_ms(10)) {
    redisContext *redis = harness_redis(harness);
    if (!redis) continue;
    redisReply *reply = redisCommand(redis, "PING");
    bool ready = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply) freeReplyObject(reply);
    redisFree(redis);
    if (ready) return 0;
  }
  fprintf(stderr, "harness: redis-server did not start (see %s)\n", log_path);
  return -1;
}

static int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void harness_stop_redis(lp_harness *harness, bool kill9) {
  if (harness->redis_pid <= 0) return;
  kill(harness->redis_pid, kill9 ? SIGKILL : SIGTERM);
  wait_for(harness->redis_pid);
  harness->redis_pid = 0;
}

int harness_start_daemon(lp_harness *harness, const char *const *extra_flags) {
  const char *argv[64];
  int argc = 0;
  argv[argc++] = LEERPLEKD_PATH;
  argv[argc++] = "--redis";
  argv[argc++] = harness->redis_address;
  argv[argc++] = "--listen";
  argv[argc++] = harness->daemon_address;
  argv[argc++] = "--log_level";
  argv[argc++] = "debug";
  for (int i = 0; extra_flags && extra_flags[i] && argc < 62; i++) {
    argv[argc++] = extra_flags[i];
    /* A later --listen wins in leerplekd; follow it so that readiness and connects use it. */
    if (strcmp(extra_flags[i], "--listen") == 0 && extra_flags[i + 1] &&
        strlen(extra_flags[i + 1]) < sizeof harness->daemon_address)
      memcpy(harness->daemon_address, extra_flags[i + 1], strlen(extra_flags[i + 1]) + 1);
  }
  argv[argc] = NULL;
  char log_path[320];
  snprintf(log_path, sizeof log_path, "%s/leerplekd.log", harness->dir);
  harness->daemon_pid = harness_spawn(argv, log_path);
  if (harness->daemon_pid < 0) return -1;
  for (long long deadline = harness_now_ms() + 5000; harness_now_ms() < deadline; sleep_ms(10)) {
    int status = 0;
    if (waitpid(harness->daemon_pid, &status, WNOHANG) == harness->daemon_pid) {
      fprintf(stderr, "harness: leerplekd exited at startup (see %s)\n", log_path);
      harness->daemon_pid = 0;
      return -1;
    }
    leerplek_client *client = NULL;
    char error[256];
    if (connect_client(harness, NULL, &client, error, sizeof error) == 0) {
      leerplek_close(client);
      return 0;
    }
  }
  fprintf(stderr, "harness: leerplekd did not answer within 5 s (see %s)\n", log_path);
  return -1;
}

int harness_stop_daemon(lp_harness *harness, int signal_number) {
  if (harness->daemon_pid <= 0) return -1;
  kill(harness->daemon_pid, signal_number);
  int status = wait_for(harness->daemon_pid);
  harness->daemon_pid = 0;
  return status;
}

int harness_create_admin_token(lp_harness *harness) {
  char command[1024];
  snprintf(command, sizeof command, "'%s' --redis '%s' --create-admin-token 2>>'%s/leerplekd.log'", LEERPLEKD_PATH,
           harness->redis_address, harness->dir);
  FILE *pipe = popen(command, "r");
  if (!pipe) return -1;
  char line[256] = "";
  char *got = fgets(line, sizeof line, pipe);
  int status = pclose(pipe);
  if (!got || status != 0) {
    fprintf(stderr, "harness: --create-admin-token failed (status %d)\n", status);
    return -1;
  }
  size_t length = strcspn(line, "\n");
  if (length == 0 || length >= sizeof harness->admin_token) {
    fprintf(stderr, "harness: --create-admin-token printed no usable token\n");
    return -1;
  }
  memcpy(harness->admin_token, line, length);
  harness->admin_token[length] = '\0';
  return 0;
}

leerplek_client *harness_connect(const lp_harness *harness, const char *token) {
  leerplek_client *client = NULL;
  char error[256];
  if (connect_client(harness, token, &client, error, sizeof error) != 0) {
    fprintf(stderr, "harness: connect: %s\n", error);
    return NULL;
  }
  return client;
}

static int compare_strings(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends text to a growing buffer. */
static void append(char **buffer, size_t *length, size_t *capacity, const char *text, size_t size) {
  if (*length + size + 1 > *capacity) {
    while (*length + size + 1 > *capacity) *capacity = *capacity ? *capacity * 2 : 4096;
    *buffer = realloc(*buffer, *capacity);
  }
  memcpy(*buffer + *length, text, size);
  *length += size;
  (*buffer)[*length] = '\0';
}

char *harness_snapshot(const lp_harness *harness) {
  redisContext *redis = harness_redis(harness);
  if (!redis) return NULL;
  redisReply *keys = redisCommand(redis, "KEYS lp:*");
  char *out = NULL;
  size_t length = 0, capacity = 0;
  append(&out, &length, &capacity, "", 0);
  if (!keys || keys->type != REDIS_REPLY_ARRAY) goto done;
  char **names = calloc(keys->elements + 1, sizeof *names);
  for (size_t i = 0; i < keys->elements; i++) names[i] = keys->element[i]->str;
  qsort(names, keys->elements, sizeof *names, compare_strings);
  for (size_t i = 0; i < keys->elements; i++) {
    /* The audit stream grows with every call, and the daily trend snapshot (lp:trend:<day>) is
     * the daemon's own, written when a report is computed or on its timer, asynchronously: a
     * refused call may overlap an earlier call's snapshot write. Neither is a record a call
     * changes. */
    if (strcmp(names[i], "lp:events") == 0 || strncmp(names[i], "lp:trend:", strlen("lp:trend:")) == 0) continue;
    append(&out, &length, &capacity, names[i], strlen(names[i]));
    append(&out, &length, &capacity, "=", 1);
    redisReply *type = redisCommand(redis, "TYPE %s", names[i]);
    if (type && strcmp(type->str, "set") == 0) {
      redisReply *members = redisCommand(redis, "SMEMBERS %s", names[i]);
      char **sorted = calloc(members->elements + 1, sizeof *sorted);
      for (size_t m = 0; m < members->elements; m++) sorted[m] = members->element[m]->str;
      qsort(sorted, members->elements, sizeof *sorted, compare_strings);
      for (size_t m = 0; m < members->elements; m++) {
        append(&out, &length, &capacity, sorted[m], strlen(sorted[m]));
        append(&out, &length, &capacity, ",", 1);
      }
      free(sorted);
      freeReplyObject(members);
    } else {
      redisReply *value = redisCommand(redis, "GET %s", names[i]);
      if (value && value->type == REDIS_REPLY_STRING) {
        static const char digits[] = "0123456789abcdef";
        for (size_t b = 0; b < value->len; b++) {
          char hex[2] = {digits[(unsigned char)value->str[b] >> 4], digits[(unsigned char)value->str[b] & 15]};
          append(&out, &length, &capacity, hex, 2);
        }
      }
      if (value) freeReplyObject(value);
    }
    if (type) freeReplyObject(type);
    append(&out, &length, &capacity, "\n", 1);
  }
  free(names);
done:
  if (keys) freeReplyObject(keys);
  redisFree(redis);
  return out;
}

int harness_cleanup(lp_harness *harness) {
  int status = 0;
  /* SIGTERM, so that the daemon's clean exit (and LeakSanitizer in sanitised builds) is checked. */
  if (harness->daemon_pid > 0) status = harness_stop_daemon(harness, SIGTERM);
  if (status != 0) {
    fprintf(stderr, "harness: leerplekd exited with status %d; its log:\n", status);
    char command[400];
    snprintf(command, sizeof command, "tail -n 40 '%s/leerplekd.log' >&2", harness->dir);
    if (system(command) != 0) fprintf(stderr, "harness: no log\n");
  }
  harness_stop_redis(harness, true);
  if (harness->dir[0] && getenv("LEERPLEK_KEEP_TEST_DIR") == NULL) {
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", harness->dir);
    if (system(command) != 0) fprintf(stderr, "harness: could not remove %s\n", harness->dir);
  }
  harness->dir[0] = '\0';
  return status;
}
