/* lp_deadlines: the clock of the placement lifecycle. A sweep on a libevent timer releases
 * proposals whose answer deadline passed (reason EXPIRED), writes the reminder event before the
 * deadline and ends agreements whose end date passed; and the calendar helpers they need. */
#ifndef LP_DEADLINES_H
#define LP_DEADLINES_H

#include <stdbool.h>

#include "leerplek.pb-c.h"
#include "lp_daemon.h"

typedef struct lp_deadlines lp_deadlines;

/* What the sweep finds due for a placement. */
enum lp_due { LP_DUE_NOTHING, LP_DUE_REMIND, LP_DUE_EXPIRE, LP_DUE_END };
/* Writes what is due for the placement stored under key; false when the store takes no writes
 * now (the sweep tries again in a second). handlers_deadlines.c has it (lp_handle_due). */
typedef bool lp_due_action(lp_daemon *daemon, long long now, enum lp_due what, const char *key,
                           const Leerplek__V1__Placement *stored);

/* Starts the sweep's timer (one tick a second); the first tick scans the loaded state. NULL
 * when out of memory. */
lp_deadlines *lp_deadlines_start(lp_daemon *daemon, lp_due_action *act);
void lp_deadlines_free(lp_deadlines *deadlines);

/* A proposal with this answer deadline was written: the sweep wakes for its reminder and its
 * deadline (no-op before the sweep started). */
void lp_deadlines_proposed(lp_daemon *daemon, long long answer_by_unix_s);
/* An agreement ending on ends_on was written: the sweep wakes the day after. */
void lp_deadlines_agreement(lp_daemon *daemon, const Leerplek__V1__Date *ends_on);

/* The calendar is the daemon's local one (TZ, Europe/Brussels in deployment), as elsewhere. */
/* A date as yyyymmdd, for comparing. */
long lp_date_number(const Leerplek__V1__Date *date);
/* Today's date as yyyymmdd. */
long lp_today_number(long long now_unix_s);
/* Today's date. */
void lp_today(long long now_unix_s, Leerplek__V1__Date *out);
/* The first second of the day after date (local midnight): from then on, date has passed. */
long long lp_day_after_unix(const Leerplek__V1__Date *date);

#endif
