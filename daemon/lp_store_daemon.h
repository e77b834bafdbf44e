/* lp_store_daemon: the daemon's store, lp_store_open with the hooks that connect it to the
 * daemon's state, metrics, follower and rematch (see lp_store_daemon.c). */
#ifndef LP_STORE_DAEMON_H
#define LP_STORE_DAEMON_H

#include "lp_daemon.h"
#include "lp_store.h"

/* lp_store_open with hooks that put the loaded state in daemon->state (telling
 * daemon->follow after a reload), count in daemon->metrics and finish an interrupted promote
 * before each load. */
lp_store *lp_store_new(lp_daemon *daemon);

#endif
