/* bench_rematch: the rematch inside the real daemon on generated data (not a ctest test; run
 * it through tests/bench/run-rematch-bench.sh).
 * Usage: bench_rematch PUPILS VACANCIES [TARGET_MS [TARGET_PEAK_MIB]]
 *   (antwerp: 307 1220 50; flanders: 20000 30000 400; germany: 200000 250000 5000 2048)
 * Loads the data through the API, measuring the daemon's resident memory before and after the
 * vacancies and the pupils (bytes per vacancy, per pupil), then runs three rematches: cold
 * (everybody new), warm with nothing changed, warm after 1 % of the pupils moved house. Per
 * run it prints the daemon's own timings (snapshot, candidates, solve, explain, epoch write
 * with its bytes and commits and the longest step it held the loop), the end-to-end time and
 * the daemon's peak RSS during the run (VmHWM, reset before each run). Meanwhile one client
 * reads and one writes on other connections: their worst call is held against 10 ms. Targets:
 * the cold run against TARGET_MS, the 1 % run against 0.1x the cold one (end to end, and its
 * solve, the matcher's warm start, against the cold solve), the peak against TARGET_PEAK_MIB. Every way out stops its
 * leerplekd and redis-server. */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "libleerplek.h"
#include "../../daemon/lp_proc_status.h"

static lp_harness harness;
static char coordinator_token[128];

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

static int call(leerplek_client *client, Leerplek__V1__Request *request, Leerplek__V1__Response **out) {
  Leerplek__V1__Response *response = NULL;
  if (leerplek_call(client, request, &response) != 0 || !response || !response->status) {
    fprintf(stderr, "call failed: %s\n", leerplek_error(client));
    exit(1);
  }
  int code = (int)response->status->code;
  if (code != 0) fprintf(stderr, "refused: %s\n", response->status->message);
  if (out)
    *out = response;
  else
    leerplek_response_free(response);
  return code;
}

#define TRAININGS 10
#define COMPANIES 3000 /* at least; one per ten vacancies beyond */
static int companies = COMPANIES;

/* The map: a box around Antwerp (25 x 25 km) for up to antwerp size, growing with the pupil
 * count (Flanders-size data spreads over about 150 x 70 km). */
static int32_t box_lat = 250000, box_lon = 350000;

static char code[TRAININGS][16];

/* Trainings, companies with one location each, and vacancies. */
static void load_supply(leerplek_client *c, int vacancies) {
  for (int t = 0; t < TRAININGS; t++) {
    snprintf(code[t], sizeof code[t], "TR-%02d", t);
    Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
    training.code = code[t];
    training.name = code[t];
    Leerplek__V1__UpsertTrainingRequest body = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
    body.training = &training;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING, request.upsert_training = &body;
    if (call(c, &request, NULL)) exit(1);
  }
  char *codes[TRAININGS];
  for (int t = 0; t < TRAININGS; t++) codes[t] = code[t];
  for (int k = 0; k < companies; k++) {
    char id[16], location_id[16];
    snprintf(id, sizeof id, "%010d", 1000000000 + k);
    snprintf(location_id, sizeof location_id, "loc-%d", k);
    Leerplek__V1__Company company = LEERPLEK__V1__COMPANY__INIT;
    company.id = id;
    company.name = id;
    /* Each company is recognised for two trainings, as real companies are for few. */
    company.n_recognised_training_codes = 2;
    company.recognised_training_codes = codes + (k % (TRAININGS - 1));
    Leerplek__V1__UpsertCompanyRequest body = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
    body.company = &company;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY, request.upsert_company = &body;
    if (call(c, &request, NULL)) exit(1);
    Leerplek__V1__GeoPoint point = LEERPLEK__V1__GEO_POINT__INIT;
    point.lat_e6 = 51100000 + (int32_t)rnd((uint32_t)box_lat);
    point.lon_e6 = 4250000 + (int32_t)rnd((uint32_t)box_lon);
    Leerplek__V1__Location location = LEERPLEK__V1__LOCATION__INIT;
    location.id = location_id;
    location.company_id = id;
    location.name = (char *)"Werkplaats";
    location.point = &point;
    location.postcode = (char *)"2000";
    location.district = (char *)"Antwerpen";
    Leerplek__V1__UpsertLocationRequest lbody = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
    lbody.location = &location;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION, request.upsert_location = &lbody;
    if (call(c, &request, NULL)) exit(1);
  }
  for (int j = 0; j < vacancies; j++) {
    char id[16], location_id[16];
    snprintf(id, sizeof id, "vac-%d", j);
    uint32_t company_index = rnd((uint32_t)companies);
    snprintf(location_id, sizeof location_id, "loc-%u", company_index);
    Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
    start.year = 2026, start.month = 9, start.day = 1;
    Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
    vacancy.id = id;
    vacancy.location_id = location_id;
    vacancy.training_code = code[company_index % (TRAININGS - 1) + rnd(2)];
    vacancy.seats = 1 + rnd(2);
    vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
    vacancy.day_mask = rnd(2) ? 0x1F1F : 0x0F0F;
    vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
    vacancy.start_date = &start;
    Leerplek__V1__PublishVacancyRequest body = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
    body.vacancy = &vacancy;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY, request.publish_vacancy = &body;
    if (call(c, &request, NULL)) exit(1);
  }
}

/* Pupils, each on the waiting list; their records are kept for the 1 % change. */
typedef struct bench_pupil {
  char ref[16], school[16];
  Leerplek__V1__GeoPoint home;
  Leerplek__V1__Pupil pupil;
} bench_pupil;
static bench_pupil *generated;

static void load_pupils(leerplek_client *c, int pupils) {
  generated = calloc((size_t)pupils, sizeof *generated);
  for (int i = 0; i < pupils; i++) {
    bench_pupil *g = &generated[i];
    snprintf(g->ref, sizeof g->ref, "p%d", i);
    snprintf(g->school, sizeof g->school, "school-%d", i % 40);
    leerplek__v1__geo_point__init(&g->home);
    g->home.lat_e6 = 51100000 + (int32_t)rnd((uint32_t)box_lat);
    g->home.lon_e6 = 4250000 + (int32_t)rnd((uint32_t)box_lon);
    Leerplek__V1__Pupil *pupil = &g->pupil;
    leerplek__v1__pupil__init(pupil);
    pupil->school_id = g->school;
    pupil->ref = g->ref;
    pupil->training_code = code[rnd(TRAININGS)];
    pupil->readiness = LEERPLEK__V1__READINESS__READINESS_READY;
    pupil->home = &g->home;
    pupil->home_postcode = (char *)"2000";
    pupil->max_commute_m = 8000 + rnd(12000);
    pupil->day_mask = rnd(2) ? 0x0303 : 0x0606;
    pupil->newcomer_okan = rnd(10) == 0;
    Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
    body.pupil = pupil;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL, request.register_pupil = &body;
    if (call(c, &request, NULL)) exit(1);
    Leerplek__V1__RequestPlacementRequest place = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
    place.school_id = g->school;
    place.pupil_ref = g->ref;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, request.request_placement = &place;
    if (call(c, &request, NULL)) exit(1);
  }
}

/* The 1 % change: every hundredth pupil moves house (a new home, so new pairs). */
static int change_one_percent(leerplek_client *c, int pupils) {
  int changed = 0;
  for (int i = 0; i < pupils; i += 100) {
    bench_pupil *g = &generated[i];
    g->home.lat_e6 = 51100000 + (int32_t)rnd((uint32_t)box_lat);
    g->home.lon_e6 = 4250000 + (int32_t)rnd((uint32_t)box_lon);
    g->pupil.revision = 0;
    Leerplek__V1__UpdatePupilRequest body = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
    body.pupil = &g->pupil;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL, request.update_pupil = &body;
    if (call(c, &request, NULL)) exit(1);
    changed++;
  }
  return changed;
}

/* A client calling in a loop while the rematches run: reads (GetTraining, answered from
 * memory) or writes (UpsertTraining, through Redis). Only the latencies of calls that ended
 * while a rematch was running count (running is set by main around each RunRematch). */
static volatile int running;

typedef struct caller {
  volatile int stop;
  bool writes;
  long long *latency_us;
  size_t count, capacity;
  long long worst_us;
} caller;

static void *call_loop(void *arg) {
  caller *r = arg;
  leerplek_client *c = harness_connect(&harness, coordinator_token);
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = (char *)"TR-BENCH";
  training.name = (char *)"bench";
  while (c && !r->stop && r->count < r->capacity) {
    Leerplek__V1__GetTrainingRequest get = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
    get.code = (char *)"TR-03";
    Leerplek__V1__UpsertTrainingRequest upsert = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
    upsert.training = &training;
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    if (r->writes)
      request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING, request.upsert_training = &upsert;
    else
      request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING, request.get_training = &get;
    struct timespec a, b;
    int was_running = running;
    clock_gettime(CLOCK_MONOTONIC, &a);
    call(c, &request, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long us = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
    if (!was_running && !running) continue;
    r->latency_us[r->count++] = us;
    if (us > r->worst_us) r->worst_us = us;
    if (r->writes) nanosleep(&(struct timespec){0, 200000}, NULL); /* a steady trickle of writes, not a flood */
  }
  if (c) leerplek_close(c);
  return NULL;
}

static long long daemon_rss(void) { return lp_proc_status_bytes((long)harness.daemon_pid, "VmRSS"); }

/* Resets the daemon's peak RSS (VmHWM) to its current RSS, so the next VmHWM is one phase's. */
static void reset_peak(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)harness.daemon_pid);
  FILE *f = fopen(path, "w");
  if (f) fputs("5", f), fclose(f);
}

static int by_value(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static void cleanup_at_exit(void) {
  /* Every path out (also exit(1) from call() and a failed start) stops leerplekd and redis. */
  if (harness.daemon_pid > 0 || harness.redis_pid > 0) harness_cleanup(&harness);
}

static void on_signal(int signal_number) {
  (void)signal_number;
  exit(1); /* runs cleanup_at_exit */
}

static void print_latency(const char *what, caller *r) {
  if (!r->count) return;
  qsort(r->latency_us, r->count, sizeof *r->latency_us, by_value);
  printf("%s on another connection while the rematches ran: %zu, p50 %lld us, p99 %lld us, max %lld us\n", what,
         r->count, r->latency_us[r->count / 2], r->latency_us[r->count * 99 / 100], r->latency_us[r->count - 1]);
}

/* The length of the event stream (lp:events), -1 when Redis does not say. */
/* Events ever added to lp:events: XINFO STREAM's entries-added (Redis >= 7), which the stream's
 * trim (MAXLEN ~ events_max_length: germany's load alone nears it) does not lower as it does
 * XLEN; XLEN on an older Redis. -1 when neither answers. */
static long long events_in_store(void) {
  redisContext *redis = harness_redis(&harness);
  long long count = -1;
  redisReply *reply = redis ? redisCommand(redis, "XINFO STREAM lp:events") : NULL;
  if (reply && reply->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
      if (reply->element[i]->type == REDIS_REPLY_STRING && strcmp(reply->element[i]->str, "entries-added") == 0 &&
          reply->element[i + 1]->type == REDIS_REPLY_INTEGER)
        count = reply->element[i + 1]->integer;
  if (reply) freeReplyObject(reply);
  if (count < 0 && redis) {
    reply = redisCommand(redis, "XLEN lp:events");
    if (reply && reply->type == REDIS_REPLY_INTEGER) count = reply->integer;
    if (reply) freeReplyObject(reply);
  }
  if (redis) redisFree(redis);
  return count;
}

/* Redis' own account of a rematch (INFO commandstats, SLOWLOG, LATENCY): where its time goes. */
typedef struct command_stat {
  char name[64];
  long long calls, usec;
} command_stat;
typedef struct command_stats {
  command_stat stat[128];
  int count;
} command_stats;

static void read_command_stats(command_stats *out) {
  out->count = 0;
  redisContext *redis = harness_redis(&harness);
  redisReply *reply = redis ? redisCommand(redis, "INFO commandstats") : NULL;
  if (reply && reply->type == REDIS_REPLY_STRING) {
    /* cmdstat_set:calls=3,usec=12,usec_per_call=4.00,... */
    for (char *line = strtok(reply->str, "\r\n"); line && out->count < 128; line = strtok(NULL, "\r\n")) {
      command_stat *stat = &out->stat[out->count];
      if (sscanf(line, "cmdstat_%63[^:]:calls=%lld,usec=%lld", stat->name, &stat->calls, &stat->usec) == 3)
        out->count++;
    }
  }
  if (reply) freeReplyObject(reply);
  if (redis) redisFree(redis);
}

static int by_usec_descending(const void *a, const void *b) {
  long long x = ((const command_stat *)a)->usec, y = ((const command_stat *)b)->usec;
  return (x < y) - (x > y);
}

/* Prints the commands that took most of Redis' time between before and after (a script's
 * inner commands count both in themselves and in the EVAL), and Redis' time per event the
 * rematch wrote (one per record: the epoch write's cost per record). */
static void print_command_stats(const command_stats *before, const command_stats *after, long long events) {
  command_stats delta = {.count = 0};
  long long eval_usec = 0, exec_usec = 0;
  for (int a = 0; a < after->count; a++) {
    command_stat stat = after->stat[a];
    for (int b = 0; b < before->count; b++)
      if (strcmp(before->stat[b].name, stat.name) == 0)
        stat.calls -= before->stat[b].calls, stat.usec -= before->stat[b].usec;
    if (stat.calls <= 0) continue;
    if (strcmp(stat.name, "eval") == 0 || strcmp(stat.name, "evalsha") == 0 || strcmp(stat.name, "exec") == 0)
      eval_usec += strcmp(stat.name, "exec") == 0 ? 0 : stat.usec;
    if (strcmp(stat.name, "exec") == 0) exec_usec = stat.usec;
    delta.stat[delta.count++] = stat;
  }
  qsort(delta.stat, (size_t)delta.count, sizeof delta.stat[0], by_usec_descending);
  printf("  redis commandstats during the run (us; inner commands of scripts are also in eval, %lld us):", eval_usec);
  for (int d = 0; d < delta.count && d < 14; d++)
    printf(" %s %lld calls %lld us;", delta.stat[d].name, delta.stat[d].calls, delta.stat[d].usec);
  printf("\n");
  if (events > 0)
    printf("  redis time per record written: %.1f us in transactions (exec), %.1f us of it in scripts (eval)\n",
           (double)exec_usec / (double)events, (double)eval_usec / (double)events);
}

/* The commands slower than the slowlog threshold since the last call (then reset; show: printed), and
 * LATENCY LATEST (events above latency-monitor-threshold, e.g. aof-fsync-always). */
static void print_slow_redis(bool show) {
  redisContext *redis = harness_redis(&harness);
  if (!redis) return;
  redisReply *reply = redisCommand(redis, "SLOWLOG GET 5");
  if (show && reply && reply->type == REDIS_REPLY_ARRAY) {
    printf("  redis slowlog (the 5 newest above 2 ms):");
    for (size_t e = 0; e < reply->elements; e++) {
      redisReply *entry = reply->element[e];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 4) continue;
      redisReply *args = entry->element[3];
      const char *name = args->type == REDIS_REPLY_ARRAY && args->elements ? args->element[0]->str : "?";
      printf(" %s (%zu args) %lld us;", name ? name : "?", args->type == REDIS_REPLY_ARRAY ? args->elements : 0,
             entry->element[2]->integer);
    }
    printf("\n");
  }
  if (reply) freeReplyObject(reply);
  reply = redisCommand(redis, "SLOWLOG RESET");
  if (reply) freeReplyObject(reply);
  reply = redisCommand(redis, "LATENCY LATEST");
  if (show && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements) {
    printf("  redis latency monitor (event: latest ms, max ms):");
    for (size_t e = 0; e < reply->elements; e++) {
      redisReply *entry = reply->element[e];
      if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 4)
        printf(" %s %lld, %lld;", entry->element[0]->str, entry->element[2]->integer, entry->element[3]->integer);
    }
    printf("\n");
  }
  if (reply) freeReplyObject(reply);
  reply = redisCommand(redis, "LATENCY RESET");
  if (reply) freeReplyObject(reply);
  redisFree(redis);
}

static void watch_redis(void) {
  redisContext *redis = harness_redis(&harness);
  if (!redis) return;
  redisReply *reply = redisCommand(redis, "CONFIG SET slowlog-log-slower-than 2000");
  if (reply) freeReplyObject(reply);
  reply = redisCommand(redis, "CONFIG SET latency-monitor-threshold 2");
  if (reply) freeReplyObject(reply);
  redisFree(redis);
}

static const char *verdict(bool met) { return met ? "met" : "MISSED"; }

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr,
            "usage: bench_rematch PUPILS VACANCIES [TARGET_MS [TARGET_PEAK_MIB]]   (flanders: 20000 30000 400)\n");
    return 2;
  }
  int pupils = atoi(argv[1]), vacancies = atoi(argv[2]);
  double target_ms = argc >= 4 ? atof(argv[3]) : 0, target_peak_mib = argc >= 5 ? atof(argv[4]) : 0;
  if (pupils < 1 || vacancies < 1 || pupils > 1000000 || vacancies > 1000000) return 2;
  if (pupils > 5000) box_lat = 700000, box_lon = 2500000;
  /* Germany-size data spreads over Germany's area (about 600 x 600 km), Flanders' density. */
  if (pupils > 50000) box_lat = 5500000, box_lon = 9000000;
  companies = vacancies / 10 > COMPANIES ? vacancies / 10 : COMPANIES;
  atexit(cleanup_at_exit);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);
  if (harness_start_redis(&harness) || harness_create_admin_token(&harness) || harness_start_daemon(&harness, NULL))
    return 1;
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  Leerplek__V1__CreateTokenRequest token = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  token.role = LEERPLEK__V1__ROLE__ROLE_COORDINATOR;
  token.label = (char *)"bench";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN, request.create_token = &token;
  Leerplek__V1__Response *response = NULL;
  if (call(admin, &request, &response)) return 1;
  snprintf(coordinator_token, sizeof coordinator_token, "%s", response->create_token->token);
  leerplek_response_free(response);
  leerplek_close(admin);
  leerplek_client *c = harness_connect(&harness, coordinator_token);
  long long t0 = harness_now_ms();
  long long rss_empty = daemon_rss();
  load_supply(c, vacancies);
  long long rss_supply = daemon_rss();
  load_pupils(c, pupils);
  long long rss_loaded = daemon_rss();
  printf("loaded %d pupils, %d vacancies (%d companies and locations) in %lld ms\n", pupils, vacancies, companies,
         harness_now_ms() - t0);
  if (rss_empty > 0 && rss_supply > 0 && rss_loaded > 0)
    printf("daemon memory: %.1f MiB empty, +%.0f bytes per vacancy (companies and locations included), "
           "+%.0f bytes per pupil (with its placement); %.1f MiB loaded, peak so far (VmHWM) %.1f MiB\n",
           rss_empty / 1048576.0, (double)(rss_supply - rss_empty) / vacancies,
           (double)(rss_loaded - rss_supply) / pupils, rss_loaded / 1048576.0,
           lp_proc_status_bytes((long)harness.daemon_pid, "VmHWM") / 1048576.0);

  caller readers = {0, false, calloc(4000000, sizeof(long long)), 0, 4000000, 0};
  caller writers = {0, true, calloc(4000000, sizeof(long long)), 0, 4000000, 0};
  pthread_t reader_thread, writer_thread;
  /* BENCH_NO_READER=1: no concurrent calls (the rematch alone). */
  if (getenv("BENCH_NO_READER")) readers.stop = writers.stop = 1;
  pthread_create(&reader_thread, NULL, call_loop, &readers);
  pthread_create(&writer_thread, NULL, call_loop, &writers);
  static const char *const names[3] = {"cold (everybody new)", "warm, nothing changed", "warm, after a 1 % change"};
  double end_to_end_ms[3] = {0}, peak_mib[3] = {0}, solve_ms[3] = {0};
  int failed = 0;
  for (int run = 0; run < 3; run++) {
    if (run == 2) printf("changed %d pupils (1 %%): a new home each\n", change_one_percent(c, pupils));
    Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
    body.dry_run = false;
    request.body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH, request.run_rematch = &body;
    reset_peak();
    long long rss_before = daemon_rss(), events_before = events_in_store();
    command_stats stats_before, stats_after;
    if (run == 0) watch_redis();
    print_slow_redis(false); /* resets both: what follows is this run's */
    read_command_stats(&stats_before);
    struct timespec a, b;
    running = 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int code = call(c, &request, &response);
    clock_gettime(CLOCK_MONOTONIC, &b);
    running = 0;
    read_command_stats(&stats_after);
    end_to_end_ms[run] = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e6;
    peak_mib[run] = lp_proc_status_bytes((long)harness.daemon_pid, "VmHWM") / 1048576.0;
    if (code) {
      printf("rematch %d (%s): FAILED after %.2f ms: %s; daemon peak %.1f MiB\n", run + 1, names[run],
             end_to_end_ms[run], response->status->message, peak_mib[run]);
      leerplek_response_free(response);
      failed = 1;
      break;
    }
    const Leerplek__V1__RematchResult *res = response->run_rematch->result;
    solve_ms[run] = res->solve_us / 1000.0;
    printf("rematch %d, %s (epoch %llu): end-to-end %.2f ms; lock %llu us, snapshot %llu us (copying %llu us in %u "
           "slices), candidates %llu us (%llu "
           "pairs), solve %llu us, verify %llu us, explain %llu us, epoch write %llu us (%llu bytes in %u commits, "
           "promote in %u slices, the longest %llu us, longest loop step %llu us), apply in memory %llu us, finish "
           "%llu us; the daemon's total %llu us, of it outside these phases %lld us; placed %u, unplaced %u, "
           "proposed %u, moved %u, released %u; daemon RSS %.1f MiB before, peak during %.1f MiB\n",
           run + 1, names[run], (unsigned long long)res->epoch, end_to_end_ms[run], (unsigned long long)res->lock_us,
           (unsigned long long)res->snapshot_us, (unsigned long long)res->snapshot_copy_us, res->snapshot_slices,
           (unsigned long long)res->candidates_us, (unsigned long long)res->eligible_pairs,
           (unsigned long long)res->solve_us, (unsigned long long)res->verify_us, (unsigned long long)res->explain_us,
           (unsigned long long)res->write_us, (unsigned long long)res->bytes_written, res->write_chunks,
           res->promote_slices, (unsigned long long)res->write_final_us, (unsigned long long)res->apply_max_step_us,
           (unsigned long long)res->apply_us, (unsigned long long)res->finish_us, (unsigned long long)res->total_us,
           (long long)res->total_us -
               (long long)(res->lock_us + res->snapshot_us + res->candidates_us + res->solve_us + res->verify_us +
                           res->explain_us + res->write_us + res->apply_us + res->finish_us),
           res->placed, res->unplaced, res->newly_proposed, res->moved, res->released, rss_before / 1048576.0,
           peak_mib[run]);
    printf("  solve: %s, %u pupils changed for the warm start, %u repaired, %llu searches, %llu pairs scanned\n",
           res->warm_started ? "warm" : "cold", res->warm_changed_pupils, res->warm_repaired,
           (unsigned long long)res->solve_searches, (unsigned long long)res->solve_pairs_scanned);
    printf("  memory after each phase (the daemon's RSS / its peak since this rematch began, MiB):");
    for (size_t n = 0; n < res->n_phase_memory; n++)
      printf(" %s %.1f / %.1f%s", res->phase_memory[n]->phase, res->phase_memory[n]->rss_bytes / 1048576.0,
             res->phase_memory[n]->peak_rss_bytes / 1048576.0, n + 1 < res->n_phase_memory ? ";" : "\n");
    if (res->n_phase_memory == 0) printf(" not reported\n");
    /* The other connections' writes add a few events of their own (one per UpsertTraining). */
    long long events = events_in_store() - events_before;
    if (res->write_us > 0 && res->write_chunks > 0 && events_before >= 0)
      printf("  epoch write: %lld events (one per record written) in %.1f ms, %.0f events/s; %.1f MB/s to the store\n",
             events, res->write_us / 1000.0, events * 1e6 / res->write_us, res->bytes_written / (double)res->write_us);
    if (res->write_us > 0)
      printf("  epoch write: staging %.1f ms, promote %.1f ms; the slowest promote step %.1f ms (%u records, %llu "
             "bytes)\n",
             res->write_stage_us / 1000.0, res->write_promote_us / 1000.0, res->write_final_us / 1000.0,
             res->slowest_slice_records, (unsigned long long)res->slowest_slice_bytes);
    print_command_stats(&stats_before, &stats_after, events);
    print_slow_redis(true);
    leerplek_response_free(response);
  }
  readers.stop = writers.stop = 1;
  pthread_join(reader_thread, NULL);
  pthread_join(writer_thread, NULL);
  print_latency("reads (GetTraining)", &readers);
  print_latency("writes (UpsertTraining)", &writers);
  long long worst_us = readers.worst_us > writers.worst_us ? readers.worst_us : writers.worst_us;
  if (readers.count || writers.count)
    printf("target: worst single API call while a rematch runs <= 10 ms: %.3f ms, %s\n", worst_us / 1000.0,
           verdict(worst_us <= 10000));
  if (target_ms > 0)
    printf("target: cold rematch end to end <= %.0f ms: %.2f ms (%.3fx), %s\n", target_ms, end_to_end_ms[0],
           end_to_end_ms[0] / target_ms, verdict(!failed && end_to_end_ms[0] <= target_ms));
  if (!failed)
    printf("target: rematch after a 1 %% change <= 0.1x the cold one: %.2f ms / %.2f ms = %.3fx, %s\n",
           end_to_end_ms[2], end_to_end_ms[0], end_to_end_ms[2] / end_to_end_ms[0],
           verdict(end_to_end_ms[2] <= 0.1 * end_to_end_ms[0]));
  if (!failed && solve_ms[0] > 0)
    printf("target: matcher warm start after a 1 %% change <= 0.1x the cold solve: %.2f ms / %.2f ms = %.3fx, %s\n",
           solve_ms[2], solve_ms[0], solve_ms[2] / solve_ms[0], verdict(solve_ms[2] <= 0.1 * solve_ms[0]));
  if (target_peak_mib > 0) {
    double peak = 0;
    for (int run = 0; run < 3; run++) peak = peak_mib[run] > peak ? peak_mib[run] : peak;
    printf("target: daemon peak memory during the rematches <= %.0f MiB: %.1f MiB, %s\n", target_peak_mib, peak,
           verdict(peak <= target_peak_mib));
  }
  free(readers.latency_us);
  free(writers.latency_us);
  leerplek_close(c);
  int status = harness_cleanup(&harness);
  return failed || status != 0 ? 1 : 0;
}
