/* lp_follow: scale-out: follows the lp:events stream on a second Redis connection and applies
 * every change (from any daemon sharing the Redis) to this daemon's working set. */
#ifndef LP_FOLLOW_H
#define LP_FOLLOW_H

#include "lp_daemon.h"

/* Starts following after stream id start_id (the stream's last id when the state was loaded). */
lp_follow *lp_follow_start(lp_daemon *daemon, const char *start_id);
/* The store put a reloaded state in place: sends again the re-reads answered during the load. */
void lp_follow_reloaded(lp_follow *follow);
void lp_follow_free(lp_follow *follow);
/* The id of the last entry read ("0-0" before any). */
const char *lp_follow_last_id(const lp_follow *follow);

#endif
