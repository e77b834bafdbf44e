/* lp_figures: what the SamDuLeA network's own dashboard shows beyond the Report of
 * handlers_rematch.c: pupils and schools per school type, trainings per provider type, and the
 * trend, a daily snapshot of the headline figures kept in Redis (lp:trend:<YYYY-MM-DD>). */
#ifndef LP_FIGURES_H
#define LP_FIGURES_H

#include <hiredis/hiredis.h>

#include "lp_daemon.h"
#include "lp_handlers.h"

/* The trend kept in memory (the last LP_TREND_DAYS days) and the timer refreshing today's. */
typedef struct lp_trend lp_trend;
#define LP_TREND_DAYS 400

/* Loads every lp:trend:* key through `redis` (a synchronous link at startup), then starts the
 * timer that snapshots today's figures every trend_interval_s. NULL when out of memory. */
lp_trend *lp_trend_start(lp_daemon *daemon, redisContext *redis);
void lp_trend_free(lp_trend *trend);

/* GetReport as the API and the dashboard answer it: the Report of lp_handle_get_report with
 * the breakdowns per school type and provider type and the trend added. Refreshes today's
 * snapshot when the last one is more than a minute old. */
int lp_handle_get_report_full(lp_ctx *ctx);

/* "pupils_registered=307 agreements=367 ... CHEMIE=35 ..." <-> a TrendPoint: every uint32
 * field by its (lower-case) name, then the pupils of each training by its (upper-case) code.
 * Parsing ignores unknown names, allocates the trainings (free them with
 * lp_trend_point_clear, also after a failure) and returns -1 on a malformed word. */
void lp_trend_point_format(const Leerplek__V1__TrendPoint *point, char *out, size_t out_size);
int lp_trend_point_parse(const char *text, Leerplek__V1__TrendPoint *point);
void lp_trend_point_clear(Leerplek__V1__TrendPoint *point);

#endif
