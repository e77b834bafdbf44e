/* lp_figures: the Report's breakdowns per school type and provider type, and the daily trend
 * snapshots in Redis (see lp_figures.h). The snapshots are the report's own headline, written
 * as "name=value" words so that a person (or the demo) can read and seed them with redis-cli. */
#include "lp_figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_log.h"
#include "lp_report.h"
#include "lp_store.h"

#define TREND_PREFIX "lp:trend:"
/* A report computed this long after the last snapshot refreshes it (the timer does otherwise). */
#define REFRESH_ON_REPORT_S 60
/* Bounds of one snapshot: trainings listed and the words' length. */
#define TREND_TRAININGS_MAX 1000
#define TREND_TEXT_MAX (512 + TREND_TRAININGS_MAX * 48)

struct lp_trend {
  lp_daemon *daemon;
  struct event *timer;
  Leerplek__V1__TrendPoint points[LP_TREND_DAYS];
  char days[LP_TREND_DAYS][11];
  size_t count; /* oldest first */
  long long last_snapshot_s;
  bool writing; /* a SET is in flight */
};

/* ---- snapshots as text ---------------------------------------------------------------- */

void lp_trend_point_format(const Leerplek__V1__TrendPoint *point, char *out, size_t out_size) {
  const ProtobufCMessageDescriptor *descriptor = &leerplek__v1__trend_point__descriptor;
  size_t used = 0;
  out[0] = '\0';
  for (unsigned i = 0; i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    if (field->type != PROTOBUF_C_TYPE_UINT32) continue;
    uint32_t value = *(const uint32_t *)((const char *)point + field->offset);
    int n = snprintf(out + used, out_size - used, "%s%s=%u", used ? " " : "", field->name, value);
    if (n < 0 || (size_t)n >= out_size - used) return;
    used += (size_t)n;
  }
  for (size_t t = 0; t < point->n_trainings_pupils; t++) {
    int n = snprintf(out + used, out_size - used, " %s=%u", point->trainings_pupils[t]->training_code,
                     point->trainings_pupils[t]->pupils);
    if (n < 0 || (size_t)n >= out_size - used) return;
    used += (size_t)n;
  }
}

void lp_trend_point_clear(Leerplek__V1__TrendPoint *point) {
  for (size_t t = 0; t < point->n_trainings_pupils; t++) {
    free(point->trainings_pupils[t]->training_code);
    free(point->trainings_pupils[t]);
  }
  free(point->trainings_pupils);
  point->trainings_pupils = NULL;
  point->n_trainings_pupils = 0;
}

/* A training code as the daemon takes it: 1..32 of A-Z 0-9 -, starting with a letter or digit. */
static int is_code(const char *name) {
  size_t length = strlen(name);
  if (length == 0 || length > 32 || name[0] == '-') return 0;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-')) return 0;
  return 1;
}

static int add_training(Leerplek__V1__TrendPoint *point, const char *code, uint32_t pupils) {
  if (point->n_trainings_pupils == TREND_TRAININGS_MAX) return -1;
  Leerplek__V1__TrendTraining **grown =
      realloc(point->trainings_pupils, (point->n_trainings_pupils + 1) * sizeof *grown);
  if (!grown) return -1;
  point->trainings_pupils = grown;
  Leerplek__V1__TrendTraining *training = malloc(sizeof *training);
  char *copy = strdup(code);
  if (!training || !copy) {
    free(training);
    free(copy);
    return -1;
  }
  leerplek__v1__trend_training__init(training);
  training->training_code = copy;
  training->pupils = pupils;
  point->trainings_pupils[point->n_trainings_pupils++] = training;
  return 0;
}

int lp_trend_point_parse(const char *text, Leerplek__V1__TrendPoint *point) {
  const char *word = text;
  while (*word) {
    while (*word == ' ') word++;
    if (!*word) break;
    const char *equals = strchr(word, '='), *end = strchr(word, ' ');
    if (!end) end = word + strlen(word);
    if (!equals || equals > end) return -1;
    char name[64];
    size_t name_length = (size_t)(equals - word);
    if (name_length == 0 || name_length >= sizeof name) return -1;
    memcpy(name, word, name_length);
    name[name_length] = '\0';
    char *number_end;
    unsigned long value = strtoul(equals + 1, &number_end, 10);
    if (number_end != end || number_end == equals + 1 || value > UINT32_MAX) return -1;
    if (is_code(name)) {
      if (add_training(point, name, (uint32_t)value) != 0) return -1;
      word = end;
      continue;
    }
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name(&leerplek__v1__trend_point__descriptor, name);
    if (field && field->type == PROTOBUF_C_TYPE_UINT32) *(uint32_t *)((char *)point + field->offset) = (uint32_t)value;
    word = end;
  }
  return 0;
}

static int valid_day(const char *day) {
  int year, month, date;
  char rest;
  return strlen(day) == 10 && sscanf(day, "%4d-%2d-%2d%c", &year, &month, &date, &rest) == 3 && year >= 2000 &&
         month >= 1 && month <= 12 && date >= 1 && date <= 31;
}

/* Puts a day's point in place (sorted by day; the same day replaces), dropping the oldest
 * beyond LP_TREND_DAYS. The trend takes over the point's trainings. */
static void remember(lp_trend *trend, const char *day, Leerplek__V1__TrendPoint *point) {
  size_t at = 0;
  while (at < trend->count && strcmp(trend->days[at], day) < 0) at++;
  if (at == trend->count || strcmp(trend->days[at], day) != 0) {
    if (trend->count == LP_TREND_DAYS) {
      if (at == 0) { /* older than everything kept */
        lp_trend_point_clear(point);
        return;
      }
      lp_trend_point_clear(&trend->points[0]);
      memmove(&trend->points[0], &trend->points[1], (LP_TREND_DAYS - 1) * sizeof trend->points[0]);
      memmove(&trend->days[0], &trend->days[1], (LP_TREND_DAYS - 1) * sizeof trend->days[0]);
      trend->count--;
      at--;
    }
    memmove(&trend->points[at + 1], &trend->points[at], (trend->count - at) * sizeof trend->points[0]);
    memmove(&trend->days[at + 1], &trend->days[at], (trend->count - at) * sizeof trend->days[0]);
    trend->count++;
  } else {
    lp_trend_point_clear(&trend->points[at]);
  }
  snprintf(trend->days[at], sizeof trend->days[at], "%s", day);
  trend->points[at] = *point;
  /* The moves above shifted the strings under the points: point each at its own again. */
  for (size_t i = 0; i < trend->count; i++) trend->points[i].day = trend->days[i];
}

/* ---- taking a snapshot ------------------------------------------------------------------ */

static void today(long long now, char *out, size_t out_size) {
  time_t t = (time_t)now;
  struct tm local;
  localtime_r(&t, &local);
  strftime(out, out_size, "%Y-%m-%d", &local);
}

static void on_snapshot_written(void *arg, int status_code, const char *message) {
  lp_trend *trend = arg;
  trend->writing = false;
  if (status_code != 0) LP_WARN("trend snapshot not stored: %s", message);
}

static void snapshot(lp_trend *trend, const Leerplek__V1__Report *report, long long now) {
  if (trend->writing || !lp_store_writable(trend->daemon->store)) return;
  const Leerplek__V1__Headline *headline = report->headline;
  Leerplek__V1__TrendPoint point = LEERPLEK__V1__TREND_POINT__INIT;
  point.pupils_registered = headline->pupils_registered;
  point.pupils_in_dual_learning = headline->pupils_in_dual_learning;
  point.pupils_waiting = headline->pupils_waiting;
  point.schools = headline->schools;
  point.trainings = headline->trainings;
  point.agreements = headline->agreements;
  point.agreements_running = headline->agreements_running;
  point.agreements_all = headline->agreements_all;
  point.recognised_companies = headline->recognised_companies;
  point.recognised_locations = headline->recognised_locations;
  point.free_seats = headline->free_seats;
  /* Registered pupils per training (the network counts its pupils per training so). */
  const lp_map *trainings = &trend->daemon->state.maps[LP_KIND_TRAINING];
  const lp_map *pupils = &trend->daemon->state.maps[LP_KIND_PUPIL];
  for (size_t t = 0; t < trainings->count; t++) {
    uint32_t count = 0;
    for (size_t i = 0; i < pupils->count; i++)
      count += strcmp(((const Leerplek__V1__Pupil *)pupils->entries[i].value)->training_code,
                      trainings->entries[t].key) == 0;
    if (count > 0 && add_training(&point, trainings->entries[t].key, count) != 0) break;
  }
  char day[16], key[32];
  char *text = malloc(TREND_TEXT_MAX);
  lp_txn *txn = text ? lp_txn_new() : NULL;
  if (!txn) {
    free(text);
    lp_trend_point_clear(&point);
    return;
  }
  today(now, day, sizeof day);
  snprintf(key, sizeof key, TREND_PREFIX "%s", day);
  lp_trend_point_format(&point, text, TREND_TEXT_MAX);
  lp_txn_set_raw(txn, key, text, strlen(text));
  free(text);
  trend->last_snapshot_s = now;
  trend->writing = true;
  if (lp_store_commit(trend->daemon->store, txn, on_snapshot_written, trend) != 0) {
    trend->writing = false;
    lp_trend_point_clear(&point);
    return;
  }
  remember(trend, day, &point);
}

/* The headline of a report computed now, for the timer. */
static void snapshot_now(lp_trend *trend) {
  lp_pool pool = {0};
  long long now = (long long)time(NULL);
  snapshot(trend, lp_report_build(&pool, trend->daemon, LP_REPORT_DEFAULT_SHORTAGES, now), now);
  lp_pool_free(&pool);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  lp_trend *trend = arg;
  /* Not before the state is loaded: a snapshot of an empty store would stand for the day. */
  if (lp_store_loaded(trend->daemon->store)) snapshot_now(trend);
}

/* The snapshots are looked up by name, every day valid_day accepts from its first year to the
 * end of next year (about 10,000 names, TREND_NAMES_PER_MGET to an MGET, all sent at once): a
 * SCAN for lp:trend:* walked the whole keyspace, which at a German-size store cost Redis about
 * half as much as the state's own load beside it. */
#define TREND_FIRST_YEAR 2000
#define TREND_NAMES_PER_MGET 1024

/* Reads every snapshot through redis into trend; the number loaded. */
static size_t load_snapshots(lp_trend *trend, redisContext *redis) {
  time_t now = time(NULL);
  struct tm local;
  localtime_r(&now, &local);
  int last_year = local.tm_year + 1900 + 1;
  size_t day_count = (size_t)(last_year - TREND_FIRST_YEAR + 1) * 12 * 31;
  char(*days)[11] = malloc(day_count * sizeof *days);
  if (!days) return 0;
  size_t n = 0;
  for (int year = TREND_FIRST_YEAR; year <= last_year; year++)
    for (int month = 1; month <= 12; month++)
      for (int date = 1; date <= 31; date++) {
        char day[40]; /* room for any int, so that -Wformat-truncation is sure */
        snprintf(day, sizeof day, "%04d-%02d-%02d", year, month, date);
        snprintf(days[n++], sizeof days[0], "%.10s", day);
      }
  for (size_t first = 0; first < day_count; first += TREND_NAMES_PER_MGET) {
    const char *argv[1 + TREND_NAMES_PER_MGET];
    size_t lengths[1 + TREND_NAMES_PER_MGET];
    char keys[TREND_NAMES_PER_MGET][sizeof TREND_PREFIX + 10];
    size_t count = day_count - first < TREND_NAMES_PER_MGET ? day_count - first : TREND_NAMES_PER_MGET;
    argv[0] = "MGET";
    lengths[0] = 4;
    for (size_t i = 0; i < count; i++) {
      lengths[1 + i] = (size_t)snprintf(keys[i], sizeof keys[i], TREND_PREFIX "%s", days[first + i]);
      argv[1 + i] = keys[i];
    }
    redisAppendCommandArgv(redis, (int)(1 + count), argv, lengths);
  }
  size_t loaded = 0;
  bool readable = true;
  for (size_t first = 0; first < day_count; first += TREND_NAMES_PER_MGET) {
    void *reply_pointer = NULL;
    if (!readable || redisGetReply(redis, &reply_pointer) != REDIS_OK) {
      readable = false; /* the link is gone: the rest of the replies with it */
      continue;
    }
    redisReply *reply = reply_pointer;
    size_t count = day_count - first < TREND_NAMES_PER_MGET ? day_count - first : TREND_NAMES_PER_MGET;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != count) {
      freeReplyObject(reply);
      readable = false;
      continue;
    }
    for (size_t i = 0; i < count; i++) {
      const redisReply *value = reply->element[i];
      if (value->type == REDIS_REPLY_NIL) continue;
      const char *day = days[first + i];
      Leerplek__V1__TrendPoint point = LEERPLEK__V1__TREND_POINT__INIT;
      if (value->type == REDIS_REPLY_STRING && valid_day(day) && lp_trend_point_parse(value->str, &point) == 0) {
        remember(trend, day, &point);
        loaded++;
      } else {
        lp_trend_point_clear(&point);
        LP_WARN("trend: %s%s is not a snapshot (\"name=value\" words); ignored", TREND_PREFIX, day);
      }
    }
    freeReplyObject(reply);
  }
  if (!readable) LP_WARN("trend: cannot read %s* keys; the dashboard's trend starts today", TREND_PREFIX);
  free(days);
  return loaded;
}

lp_trend *lp_trend_start(lp_daemon *daemon, redisContext *redis) {
  lp_trend *trend = calloc(1, sizeof *trend);
  if (!trend) return NULL;
  trend->daemon = daemon;
  size_t loaded = redis ? load_snapshots(trend, redis) : 0;
  if (loaded) LP_INFO("trend: %zu daily snapshots loaded", loaded);
  trend->timer = event_new(daemon->base, -1, EV_PERSIST, on_timer, trend);
  if (!trend->timer) {
    free(trend);
    return NULL;
  }
  struct timeval every = {(time_t)daemon->config.trend_interval_s, 0};
  event_add(trend->timer, &every);
  return trend;
}

void lp_trend_free(lp_trend *trend) {
  if (!trend) return;
  for (size_t i = 0; i < trend->count; i++) lp_trend_point_clear(&trend->points[i]);
  if (trend->timer) event_free(trend->timer);
  free(trend);
}

/* ---- the report's trend ------------------------------------------------------------------ */

void lp_trend_attach(lp_trend *trend, Leerplek__V1__Report *report, lp_pool *pool, long long now) {
  if (!trend) return;
  if (now - trend->last_snapshot_s >= REFRESH_ON_REPORT_S && lp_store_loaded(trend->daemon->store))
    snapshot(trend, report, now);
  report->n_trend = trend->count;
  report->trend = trend->count ? lp_pool_alloc(pool, trend->count * sizeof *report->trend) : NULL;
  for (size_t i = 0; i < trend->count; i++) report->trend[i] = &trend->points[i];
}
