/* test_failover: Redis failover under write load, for real: a primary, a replica and three
 * Sentinels on loopback (redis-server and redis-server --sentinel), and leerplekd given only
 * the Sentinels (redis_sentinels). Clients write trainings without pause; the primary is killed
 * with SIGKILL; the Sentinels promote the replica and leerplekd follows it by itself. Measured
 * and checked: how many acknowledged writes the new primary lacks (0 with redis_wait_replicas
 * = 1; without WAIT the figure is printed, since asynchronous replication may lose a few) and
 * the time from the kill until writes are acknowledged again. The old primary is restarted
 * after the failover and rejoins as a replica (with WAIT, writes wait for it: the new primary
 * has no other replica). And a Sentinel that never answers, first in the list: while the daemon
 * reconnects past it, calls are still answered at once (the loop never waits for a Sentinel).
 *
 * Figures: ctest --test-dir build -R test_daemon_failover --verbose (lines "failover: ..."). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common.h"

enum { SENTINELS = 3, WRITERS = 4, PIPELINE = 16, MAX_WRITES = 1000000 };

static lp_harness harness;
static int primary_port, replica_port, sentinel_ports[SENTINELS];
static pid_t primary_pid, replica_pid, sentinel_pids[SENTINELS];
static char sentinel_list[200];

static pid_t start_redis_node(int port, const char *name, int replica_of) {
  char dir[400], log[400], port_text[16], master[64];
  snprintf(dir, sizeof dir, "%s/%s", harness.dir, name);
  snprintf(log, sizeof log, "%s/%s.log", harness.dir, name);
  snprintf(port_text, sizeof port_text, "%d", port);
  snprintf(master, sizeof master, "127.0.0.1 %d", replica_of);
  mkdir(dir, 0700);
  const char *argv[24] = {"redis-server", "--port", port_text,       "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "yes",    "--appendfsync", "always", "--dir",     dir,      NULL};
  if (replica_of) {
    argv[13] = "--replicaof";
    argv[14] = master;
    argv[15] = NULL;
  }
  return harness_spawn(argv, log);
}

static redisContext *connect_port(int port) {
  struct timeval timeout = {1, 0};
  redisContext *redis = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (redis && redis->err) {
    redisFree(redis);
    return NULL;
  }
  if (redis) redisSetTimeout(redis, timeout);
  return redis;
}

/* Waits (up to seconds) until the reply to command on port contains text. */
static bool wait_for_reply(int port, const char *command, const char *text, int seconds) {
  for (long long deadline = harness_now_ms() + seconds * 1000LL; harness_now_ms() < deadline; sleep_ms(100)) {
    redisContext *redis = connect_port(port);
    if (!redis) continue;
    redisReply *reply = redisCommand(redis, command);
    bool found = false;
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS))
      found = strstr(reply->str, text) != NULL;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING)
      found = strstr(reply->element[0]->str, text) != NULL;
    if (reply) freeReplyObject(reply);
    redisFree(redis);
    if (found) return true;
  }
  return false;
}

/* The number a Sentinel reports under "key" (e.g. "num-slaves") for master leerplek. */
static long long sentinel_field(int port, const char *key) {
  redisContext *redis = connect_port(port);
  if (!redis) return -1;
  redisReply *reply = redisCommand(redis, "SENTINEL master leerplek");
  long long value = -1;
  for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements; i += 2)
    if (strcmp(reply->element[i]->str, key) == 0) value = atoll(reply->element[i + 1]->str);
  if (reply) freeReplyObject(reply);
  redisFree(redis);
  return value;
}

/* The port the Sentinels name as primary now (-1 when they do not answer). */
static int sentinel_primary_port(void) {
  redisContext *redis = connect_port(sentinel_ports[0]);
  if (!redis) return -1;
  redisReply *reply = redisCommand(redis, "SENTINEL get-master-addr-by-name leerplek");
  int port = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 ? atoi(reply->element[1]->str) : -1;
  if (reply) freeReplyObject(reply);
  redisFree(redis);
  return port;
}

static void setup(void) {
  memset(&harness, 0, sizeof harness);
  snprintf(harness.dir, sizeof harness.dir, "/tmp/leerplek-failover-XXXXXX");
  cr_assert_not_null(mkdtemp(harness.dir));
  snprintf(harness.daemon_address, sizeof harness.daemon_address, "unix:%s/leerplekd.sock", harness.dir);
  primary_port = harness_free_port();
  primary_pid = start_redis_node(primary_port, "primary", 0);
  cr_assert(wait_for_reply(primary_port, "PING", "PONG", 5), "the primary did not start");
  replica_port = harness_free_port();
  replica_pid = start_redis_node(replica_port, "replica", primary_port);
  cr_assert(wait_for_reply(replica_port, "INFO replication", "master_link_status:up", 10), "the replica did not sync");
  size_t used = 0;
  for (int s = 0; s < SENTINELS; s++) {
    sentinel_ports[s] = harness_free_port();
    char conf[400], log[400];
    snprintf(conf, sizeof conf, "%s/sentinel-%d.conf", harness.dir, s);
    snprintf(log, sizeof log, "%s/sentinel-%d.log", harness.dir, s);
    FILE *file = fopen(conf, "w");
    cr_assert_not_null(file);
    /* Fast timings so that the test stays short; production uses deploy/redis/sentinel.conf.
     * A failover whose leader election splits (likely on a loaded machine) is tried again only
     * after twice failover-timeout: 4 s keeps that retry well inside the wait below. */
    fprintf(file,
            "port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor leerplek 127.0.0.1 %d 2\n"
            "sentinel down-after-milliseconds leerplek 1000\nsentinel failover-timeout leerplek 4000\n"
            "sentinel parallel-syncs leerplek 1\n",
            sentinel_ports[s], harness.dir, primary_port);
    fclose(file);
    const char *argv[] = {"redis-server", conf, "--sentinel", NULL};
    sentinel_pids[s] = harness_spawn(argv, log);
    used += (size_t)snprintf(sentinel_list + used, sizeof sentinel_list - used, "%s127.0.0.1:%d", s ? "," : "",
                             sentinel_ports[s]);
  }
  /* Each Sentinel must know the replica and the two other Sentinels before a failover can run. */
  for (int s = 0; s < SENTINELS; s++) {
    bool ready = false;
    for (long long deadline = harness_now_ms() + 15000; !ready && harness_now_ms() < deadline; sleep_ms(100))
      ready = sentinel_field(sentinel_ports[s], "num-slaves") >= 1 &&
              sentinel_field(sentinel_ports[s], "num-other-sentinels") >= 2;
    cr_assert(ready, "sentinel %d did not discover the replica and the other sentinels", s);
  }
  snprintf(harness.redis_address, sizeof harness.redis_address, "127.0.0.1:%d", primary_port);
  cr_assert_eq(harness_create_admin_token(&harness), 0);
}

static void teardown(void) {
  pid_t pids[] = {primary_pid, replica_pid, sentinel_pids[0], sentinel_pids[1], sentinel_pids[2]};
  int status = harness_cleanup(&harness); /* the daemon first: SIGTERM, its exit status */
  for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++)
    if (pids[i] > 0) kill(pids[i], SIGKILL);
  for (size_t i = 0; i < sizeof pids / sizeof pids[0]; i++)
    if (pids[i] > 0) waitpid(pids[i], NULL, 0);
  cr_assert_eq(status, 0, "leerplekd did not exit cleanly");
}

TestSuite(failover, .init = setup, .fini = teardown, .timeout = 120);

/* The load: WRITERS threads, each pipelining PIPELINE upserts of new trainings, reconnecting
 * after a lost connection. Acknowledged codes are kept. */
typedef struct load {
  pthread_mutex_t lock;
  bool stop;
  char token[128];
  int next; /* the next training number */
  bool acked[MAX_WRITES];
  long long last_ack_ms; /* when the last write was acknowledged */
  long long first_ack_after_kill_ms;
  long long killed_ms;         /* 0 until the primary is killed */
  int boundary;                /* writes numbered from here on were sent after it died */
  long long errors_after_kill; /* writes answered with an error meanwhile */
} load;

static void *writer(void *arg) {
  load *shared = arg;
  leerplek_client *client = NULL;
  while (true) {
    pthread_mutex_lock(&shared->lock);
    bool stop = shared->stop || shared->next + PIPELINE >= MAX_WRITES;
    int first = shared->next;
    if (!stop) shared->next += PIPELINE;
    pthread_mutex_unlock(&shared->lock);
    if (stop) break;
    if (!client) {
      char error[256];
      if (leerplek_connect(harness.daemon_address, shared->token, &client, error, sizeof error) != 0) {
        client = NULL;
        sleep_ms(20);
        continue;
      }
    }
    char codes[PIPELINE][16];
    Leerplek__V1__Training trainings[PIPELINE];
    Leerplek__V1__UpsertTrainingRequest bodies[PIPELINE];
    Leerplek__V1__Request requests[PIPELINE];
    bool broken = false;
    for (int i = 0; i < PIPELINE && !broken; i++) {
      snprintf(codes[i], sizeof codes[i], "W-%06d", first + i);
      leerplek__v1__training__init(&trainings[i]);
      trainings[i].code = codes[i];
      trainings[i].name = (char *)"written under failover";
      leerplek__v1__upsert_training_request__init(&bodies[i]);
      bodies[i].training = &trainings[i];
      leerplek__v1__request__init(&requests[i]);
      requests[i].body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING;
      requests[i].upsert_training = &bodies[i];
      broken = leerplek_send(client, &requests[i]) != 0;
    }
    for (int i = 0; i < PIPELINE && !broken; i++) {
      Leerplek__V1__Response *response = NULL;
      if (leerplek_receive(client, &response) != 0) {
        broken = true;
        break;
      }
      bool ok = response->status && response->status->code == 0;
      leerplek_response_free(response);
      pthread_mutex_lock(&shared->lock);
      long long now = harness_now_ms();
      if (ok) {
        shared->acked[first + i] = true;
        shared->last_ack_ms = now;
        if (shared->killed_ms && first + i >= shared->boundary && !shared->first_ack_after_kill_ms)
          shared->first_ack_after_kill_ms = now;
      } else if (shared->killed_ms) {
        shared->errors_after_kill++;
      }
      pthread_mutex_unlock(&shared->lock);
    }
    if (broken) {
      leerplek_close(client);
      client = NULL;
    }
    /* Refused writes come back at once; a client would back off (Status.retry_after_ms). */
    pthread_mutex_lock(&shared->lock);
    bool refused = shared->killed_ms && !shared->acked[first];
    pthread_mutex_unlock(&shared->lock);
    if (broken || refused) sleep_ms(10);
  }
  leerplek_close(client);
  return NULL;
}

/* Runs the load, kills the primary, waits for writes to be acknowledged again (and the old
 * primary to rejoin), stops the load; returns the acknowledged writes missing on the new
 * primary and sets *recovery_ms. */
static int failover_under_load(const char *wait_replicas, long long *recovery_ms, int *acknowledged) {
  const char *flags[] = {"--redis_sentinels",
                         sentinel_list,
                         "--redis_sentinel_master",
                         "leerplek",
                         "--redis_wait_replicas",
                         wait_replicas,
                         "--redis_wait_timeout_ms",
                         "500",
                         "--redis_timeout_ms",
                         "1000",
                         "--redis_reconnect_min_ms",
                         "50",
                         "--redis_reconnect_max_ms",
                         "200",
                         NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0, "leerplekd did not start with the Sentinels");
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  static load shared;
  memset(&shared, 0, sizeof shared);
  pthread_mutex_init(&shared.lock, NULL);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", shared.token, sizeof shared.token);
  leerplek_close(admin);
  pthread_t threads[WRITERS];
  for (int t = 0; t < WRITERS; t++) cr_assert_eq(pthread_create(&threads[t], NULL, writer, &shared), 0);
  sleep_ms(1500);
  kill(primary_pid, SIGKILL);
  waitpid(primary_pid, NULL, 0);
  primary_pid = 0;
  pthread_mutex_lock(&shared.lock);
  shared.boundary = shared.next;
  shared.killed_ms = harness_now_ms();
  pthread_mutex_unlock(&shared.lock);
  cr_assert_gt(shared.boundary, 100, "the load did not get going");
  /* The Sentinels promote the replica... */
  bool promoted = false;
  for (long long deadline = harness_now_ms() + 45000; !promoted && harness_now_ms() < deadline; sleep_ms(100))
    promoted = sentinel_primary_port() == replica_port;
  cr_assert(promoted, "the Sentinels did not promote the replica within 45 s");
  /* ... and the old primary, restarted, rejoins as its replica (a replica to WAIT for again).
   * The Sentinels would convert it themselves, but only after their 10 s INFO period: it is
   * started as a replica of the new primary directly, as its rewritten config would say. */
  primary_pid = start_redis_node(primary_port, "primary", replica_port);
  cr_assert(wait_for_reply(primary_port, "INFO replication", "master_link_status:up", 30),
            "the restarted old primary did not rejoin as a replica");
  long long recovered = 0;
  for (long long deadline = harness_now_ms() + 30000; !recovered && harness_now_ms() < deadline; sleep_ms(50)) {
    pthread_mutex_lock(&shared.lock);
    recovered = shared.first_ack_after_kill_ms;
    pthread_mutex_unlock(&shared.lock);
  }
  cr_assert_gt(recovered, 0, "no write was acknowledged within 30 s of the failover");
  sleep_ms(500); /* some more load on the new primary */
  pthread_mutex_lock(&shared.lock);
  shared.stop = true;
  pthread_mutex_unlock(&shared.lock);
  for (int t = 0; t < WRITERS; t++) pthread_join(threads[t], NULL);
  *recovery_ms = recovered - shared.killed_ms;

  redisContext *redis = connect_port(replica_port);
  cr_assert_not_null(redis);
  int lost = 0;
  *acknowledged = 0;
  for (int i = 0; i < shared.next; i++) {
    if (!shared.acked[i]) continue;
    (*acknowledged)++;
    redisReply *reply = redisCommand(redis, "EXISTS lp:training:W-%06d", i);
    cr_assert_not_null(reply);
    if (reply->integer != 1) lost++;
    freeReplyObject(reply);
  }
  redisFree(redis);
  /* The daemon serves what the new primary holds: a write from after the failover. */
  leerplek_client *client = harness_connect(&harness, shared.token);
  cr_assert_not_null(client);
  cr_assert_eq(upsert_training(client, "AFTER", "after the failover"), 0);
  leerplek_close(client);
  return lost;
}

Test(failover, with_wait_no_acknowledged_write_is_lost) {
  long long recovery_ms = 0;
  int acknowledged = 0;
  int lost = failover_under_load("1", &recovery_ms, &acknowledged);
  printf("failover: WAIT 1 replica: %d acknowledged writes, %d lost, writes sent after the kill acknowledged "
         "%lld ms after the primary was killed (once the restarted old primary had synced as replica)\n",
         acknowledged, lost, recovery_ms);
  fflush(stdout);
  cr_assert_eq(lost, 0, "%d acknowledged writes are missing on the new primary", lost);
  cr_assert_gt(acknowledged, 100);
}

Test(failover, without_wait_writes_resume_and_the_loss_is_measured) {
  long long recovery_ms = 0;
  int acknowledged = 0;
  int lost = failover_under_load("0", &recovery_ms, &acknowledged);
  printf("failover: no WAIT: %d acknowledged writes, %d lost, writes sent after the kill acknowledged %lld ms "
         "after the primary was killed\n",
         acknowledged, lost, recovery_ms);
  fflush(stdout);
  cr_assert_gt(acknowledged, 100);
  cr_assert_lt(recovery_ms, 30000);
}

/* A "Sentinel" that accepts connections (the kernel's backlog does) and never answers: asking
 * it costs a reconnect the whole per-Sentinel timeout (500 ms). */
static int silent_sentinel(int *port) {
  *port = harness_free_port();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&address, sizeof address) == 0 && listen(fd, 64) == 0,
            "cannot listen on 127.0.0.1:%d", *port);
  return fd;
}

Test(failover, the_daemon_answers_while_it_asks_a_silent_sentinel) {
  int silent_port = 0, silent = silent_sentinel(&silent_port);
  char list[300];
  snprintf(list, sizeof list, "127.0.0.1:%d,%s", silent_port, sentinel_list);
  const char *flags[] = {"--redis_sentinels",
                         list,
                         "--redis_sentinel_master",
                         "leerplek",
                         "--redis_timeout_ms",
                         "1000",
                         "--redis_reconnect_min_ms",
                         "50",
                         "--redis_reconnect_max_ms",
                         "200",
                         NULL};
  cr_assert_eq(harness_start_daemon(&harness, flags), 0, "leerplekd did not start past the silent Sentinel");
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  leerplek_close(admin);
  leerplek_client *coordinator = harness_connect(&harness, token);
  cr_assert_not_null(coordinator);
  cr_assert_eq(upsert_training(coordinator, "BEFORE", "before the links were cut"), 0);

  /* Cut the daemon's links on the primary: it reconnects, asking the silent Sentinel first. */
  redisContext *primary = connect_port(primary_port);
  cr_assert_not_null(primary);
  redisReply *killed = redisCommand(primary, "CLIENT KILL TYPE normal");
  cr_assert(killed && killed->type == REDIS_REPLY_INTEGER && killed->integer >= 1, "no daemon link to cut");
  freeReplyObject(killed);
  redisFree(primary);

  /* Meanwhile reads are answered at once: the event loop does not wait for the Sentinel. */
  long long slowest_ms = 0;
  int answered = 0;
  for (long long until = harness_now_ms() + 1500; harness_now_ms() < until; sleep_ms(20)) {
    long long sent = harness_now_ms();
    Leerplek__V1__Response *response = NULL;
    if (get_report(coordinator, &response) == 0) answered++;
    if (response) leerplek_response_free(response);
    long long took = harness_now_ms() - sent;
    if (took > slowest_ms) slowest_ms = took;
  }
  printf("failover: reads while a silent Sentinel is asked: %d answered, the slowest in %lld ms\n", answered,
         slowest_ms);
  fflush(stdout);
  cr_assert_gt(answered, 10);
  cr_assert_lt(slowest_ms, 300, "a read waited %lld ms: the loop blocked on the Sentinel", slowest_ms);

  /* And the store comes back through the Sentinels that do answer. */
  bool written = false;
  for (long long deadline = harness_now_ms() + 10000; !written && harness_now_ms() < deadline; sleep_ms(100))
    written = upsert_training(coordinator, "AFTER", "after the links were cut") == 0;
  cr_assert(written, "writes did not resume after the reconnect");
  leerplek_close(coordinator);
  close(silent);
}
