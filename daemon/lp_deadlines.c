/* lp_deadlines: the sweep that keeps the placement lifecycle's dates. Every second a timer
 * compares the clock with the earliest moment something is due (a reminder, an answer deadline,
 * the day after an agreement's end date): that is one comparison, not a scan. Only when that
 * moment has come does the sweep walk the placements, act on what is due and find the next
 * moment. Writers of a new deadline lower it (lp_deadlines_proposed, lp_deadlines_agreement).
 * Writes this daemon does not make (another daemon's, read from lp:events, or a reload after a
 * lost link) are caught by a walk at least once a minute (RESCAN_S). A walk of 20,000 placements
 * (all PROPOSED) took 5 ms in the daemon of bench_rematch 20000 30000; 200k would be about ten
 * times that, once a minute (and at each moment something is due).
 *
 * What is due, each written by handlers_deadlines.c (the act given to lp_deadlines_start) as
 * its own MULTI/EXEC with its event (actor "deadlines"), and in memory at once, like every
 * handler's write:
 * - "remind": a PROPOSED placement within proposal_reminder_seconds of its deadline gets
 *   reminded_unix_s (so a restart does not remind again);
 * - "expire": a PROPOSED placement at its deadline is released through the handlers' release
 *   helpers (lp_release_add: back to WAITING, the pupil record untouched, so no company is
 *   excluded and the waiting time is kept), with last_release reason EXPIRED, and the vacancy's
 *   proposed seat is freed;
 * - "end_agreement": an AGREEMENT whose ends_on has passed becomes ENDED and frees its seat.
 * ACCEPTED placements have no deadline. A proposal without one (answer_by_unix_s 0, made before
 * deadlines existed) never expires. With several daemons each sweeps; they write the same
 * records, so the worst case is a repeated event. */
#include "lp_deadlines.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_log.h"
#include "lp_store.h"

#define NOTHING LP_DUE_NOTHING
#define REMIND LP_DUE_REMIND
#define EXPIRE LP_DUE_EXPIRE
#define END LP_DUE_END
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define RESCAN_S 60
/* Writes per tick at most, so that a backlog (a daemon down for days) does not hold the loop;
 * the rest follows on the next ticks. */
#define MAX_WRITES_PER_TICK 500
#define NEVER ((long long)1 << 62)

struct lp_deadlines {
  lp_daemon *daemon;
  lp_due_action *act; /* writes what is due (handlers_deadlines.c) */
  struct event *tick;
  long long next_due;    /* the earliest moment something is due, NEVER when nothing */
  long long next_rescan; /* the next walk whatever next_due says */
};

long lp_date_number(const Leerplek__V1__Date *date) {
  return date ? date->year * 10000L + date->month * 100L + date->day : 0;
}

void lp_today(long long now_unix_s, Leerplek__V1__Date *out) {
  time_t now = (time_t)now_unix_s;
  struct tm local;
  localtime_r(&now, &local);
  leerplek__v1__date__init(out);
  out->year = local.tm_year + 1900;
  out->month = local.tm_mon + 1;
  out->day = local.tm_mday;
}

long lp_today_number(long long now_unix_s) {
  Leerplek__V1__Date today;
  lp_today(now_unix_s, &today);
  return lp_date_number(&today);
}

long long lp_day_after_unix(const Leerplek__V1__Date *date) {
  /* The walk asks this of every agreement and most share a few end dates: mktime (which
   * consults the time zone) runs once per distinct date in a row. */
  static long cached_date;
  static long long cached_unix;
  long number = lp_date_number(date);
  if (number == cached_date && number != 0) return cached_unix;
  struct tm local;
  memset(&local, 0, sizeof local);
  local.tm_year = date->year - 1900;
  local.tm_mon = date->month - 1;
  local.tm_mday = date->day + 1; /* mktime carries into the next month or year */
  local.tm_isdst = -1;
  cached_unix = (long long)mktime(&local);
  cached_date = number;
  return cached_unix;
}

static lp_deadlines *the_deadlines;

static void wake_at(lp_daemon *daemon, long long due) {
  lp_deadlines *deadlines = the_deadlines;
  if (deadlines && deadlines->daemon == daemon && due < deadlines->next_due) deadlines->next_due = due;
}

static long long reminder_at(const lp_config *config, long long answer_by) {
  return config->proposal_reminder_seconds ? answer_by - (long long)config->proposal_reminder_seconds : NEVER;
}

void lp_deadlines_proposed(lp_daemon *daemon, long long answer_by_unix_s) {
  long long remind = reminder_at(&daemon->config, answer_by_unix_s);
  wake_at(daemon, remind < answer_by_unix_s ? remind : answer_by_unix_s);
}

void lp_deadlines_agreement(lp_daemon *daemon, const Leerplek__V1__Date *ends_on) {
  if (ends_on) wake_at(daemon, lp_day_after_unix(ends_on));
}

/* Walks the placements: acts on what is due (at most MAX_WRITES_PER_TICK) and returns the next
 * moment something is due. */
static long long sweep(lp_deadlines *deadlines, long long now) {
  lp_daemon *daemon = deadlines->daemon;
  long long next = NEVER;
  unsigned writes = 0;
  const lp_map *placements = &daemon->state.maps[LP_KIND_PLACEMENT];
  /* Each write replaces a value under an existing key: the walk's indices stay valid. */
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    const char *key = placements->entries[i].key;
    long long due = NEVER;
    enum lp_due action = NOTHING;
    if (placement->state == PSTATE(PROPOSED) && placement->answer_by_unix_s != 0) {
      long long remind_at =
          placement->reminded_unix_s ? NEVER : reminder_at(&daemon->config, placement->answer_by_unix_s);
      if (now >= placement->answer_by_unix_s)
        action = EXPIRE;
      else if (now >= remind_at)
        action = REMIND;
      else
        due = remind_at < placement->answer_by_unix_s ? remind_at : placement->answer_by_unix_s;
      if (action == REMIND) due = placement->answer_by_unix_s;
    } else if (placement->state == PSTATE(AGREEMENT) && placement->agreement && placement->agreement->ends_on) {
      long long ends = lp_day_after_unix(placement->agreement->ends_on);
      if (now >= ends)
        action = END;
      else
        due = ends;
    }
    if (action != NOTHING && writes >= MAX_WRITES_PER_TICK) {
      next = now; /* the rest on the next tick */
      break;
    }
    if (action != NOTHING && !deadlines->act(daemon, now, action, key, placement)) {
      LP_WARN("deadlines: the store takes no writes now; trying again in a second");
      return now + 1;
    }
    if (action != NOTHING) writes++;
    if (due < next) next = due;
  }
  if (writes) LP_INFO("deadlines: %u reminders, expiries and agreement ends written", writes);
  return next;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_deadlines *deadlines = arg;
  lp_daemon *daemon = deadlines->daemon;
  long long now = (long long)time(NULL);
  if (now < deadlines->next_due && now < deadlines->next_rescan) return;
  if (daemon->stopping || !lp_store_loaded(daemon->store) || !lp_store_writable(daemon->store)) return;
  deadlines->next_rescan = now + RESCAN_S;
  deadlines->next_due = NEVER; /* lowered again by writes during the walk, if any */
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long long next = sweep(deadlines, now);
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (next < deadlines->next_due) deadlines->next_due = next;
  LP_DEBUG("deadlines: walked %zu placements in %lld us; next due in %lld s",
           daemon->state.maps[LP_KIND_PLACEMENT].count,
           (long long)(end.tv_sec - start.tv_sec) * 1000000 + (end.tv_nsec - start.tv_nsec) / 1000,
           deadlines->next_due == NEVER ? -1 : deadlines->next_due - now);
}

lp_deadlines *lp_deadlines_start(lp_daemon *daemon, lp_due_action *act) {
  lp_deadlines *deadlines = lp_calloc(1, sizeof *deadlines);
  deadlines->daemon = daemon;
  deadlines->act = act;
  deadlines->next_due = 0; /* the first tick walks the loaded state */
  deadlines->next_rescan = 0;
  deadlines->tick = event_new(daemon->base, -1, EV_PERSIST, on_tick, deadlines);
  if (!deadlines->tick) {
    free(deadlines);
    return NULL;
  }
  struct timeval every = {1, 0};
  event_add(deadlines->tick, &every);
  the_deadlines = deadlines;
  return deadlines;
}

void lp_deadlines_free(lp_deadlines *deadlines) {
  if (!deadlines) return;
  if (the_deadlines == deadlines) the_deadlines = NULL;
  event_free(deadlines->tick);
  free(deadlines);
}
