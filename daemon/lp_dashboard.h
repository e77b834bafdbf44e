/* lp_dashboard: the coordinators' HTML page (GET /dashboard on http_listen): the GetReport
 * aggregates as figures and inline SVG charts, never a pupil's data. */
#ifndef LP_DASHBOARD_H
#define LP_DASHBOARD_H

#include <event2/buffer.h>

#include "lp_daemon.h"

/* Appends the whole page to out; 0, or -1 when out of memory. Runs on the event loop. */
int lp_dashboard_render(lp_daemon *daemon, struct evbuffer *out);

#endif
