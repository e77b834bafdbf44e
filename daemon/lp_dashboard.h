/* lp_dashboard: the coordinators' HTML page (GET /dashboard on http_listen): the GetReport
 * aggregates as figures and inline SVG charts, never a pupil's data, in Dutch or English. */
#ifndef LP_DASHBOARD_H
#define LP_DASHBOARD_H

#include <event2/buffer.h>

#include "lp_daemon.h"

/* The page's language from ?lang= (nl or en) or else the Accept-Language header (the
 * preferred of nl and en by q-value; English when neither is named). Returns 1 for Dutch. */
int lp_dashboard_dutch(const char *query, const char *accept_language);

/* Appends the whole page to out; 0, or -1 when out of memory. Runs on the event loop. */
int lp_dashboard_render(lp_daemon *daemon, struct evbuffer *out, int dutch);

#endif
