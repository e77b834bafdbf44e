/* lp_figures: the trend, a daily snapshot of the report's headline figures kept in Redis
 * (lp:trend:<YYYY-MM-DD>), shown by GetReport and the dashboard beside the Report of
 * lp_report.c. */
#ifndef LP_FIGURES_H
#define LP_FIGURES_H

#include <hiredis/hiredis.h>

#include "lp_daemon.h"
#include "lp_pool.h"

/* The trend kept in memory (the last LP_TREND_DAYS days) and the timer refreshing today's. */
typedef struct lp_trend lp_trend;
#define LP_TREND_DAYS 400

/* Loads every lp:trend:<day> snapshot through `redis` (a synchronous link at startup; the days
 * from 2000 to the end of next year, looked up by name), then starts the
 * timer that snapshots today's figures every trend_interval_s. NULL when out of memory. */
lp_trend *lp_trend_start(lp_daemon *daemon, redisContext *redis);
void lp_trend_free(lp_trend *trend);

/* Adds the trend to a report (lp_report_build) as the API and the dashboard answer it, first
 * refreshing today's snapshot from it when the last one is more than a minute old. The points
 * are the trend's own (report is valid until the next snapshot); trend may be NULL. */
void lp_trend_attach(lp_trend *trend, Leerplek__V1__Report *report, lp_pool *pool, long long now);

/* "pupils_registered=307 agreements=367 ... CHEMIE=35 ..." <-> a TrendPoint: every uint32
 * field by its (lower-case) name, then the pupils of each training by its (upper-case) code.
 * Parsing ignores unknown names, allocates the trainings (free them with
 * lp_trend_point_clear, also after a failure) and returns -1 on a malformed word. */
void lp_trend_point_format(const Leerplek__V1__TrendPoint *point, char *out, size_t out_size);
int lp_trend_point_parse(const char *text, Leerplek__V1__TrendPoint *point);
void lp_trend_point_clear(Leerplek__V1__TrendPoint *point);

#endif
