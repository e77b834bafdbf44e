/* lp_report: the Report of GetReport and the registration point's figures, computed from the
 * working set alone (reads the state and the last rematch's summary, writes nothing). The
 * report handler, the dashboard and the trend's daily snapshot all call it. */
#ifndef LP_REPORT_H
#define LP_REPORT_H

#include <stdint.h>

#include "leerplek.pb-c.h"
#include "lp_daemon.h"
#include "lp_pool.h"

#define LP_REPORT_DEFAULT_SHORTAGES 20
#define LP_REGISTRATION_DEFAULT_DEADLINE_DAYS 30

/* The Report as of now with at most max_shortages shortages (trend not included: see
 * lp_trend_attach). Every part of it lives in pool, or points into the state or the last
 * rematch's summary: use it before either changes. Never NULL. */
Leerplek__V1__Report *lp_report_build(lp_pool *pool, const lp_daemon *daemon, uint32_t max_shortages, long long now);
/* GetRegistrationPoint's figures as of now, requests older than deadline_days unstarted
 * flagged, into out (its parts in pool or in the state). */
void lp_report_registration(lp_pool *pool, const lp_state *state, uint32_t deadline_days, long long now,
                            Leerplek__V1__GetRegistrationPointResponse *out);
/* The district a pupil is counted in: home_district, else the postcode. */
const char *lp_pupil_district(const Leerplek__V1__Pupil *pupil);

#endif
