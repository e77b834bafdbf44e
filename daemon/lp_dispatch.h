/* lp_dispatch: one frame in, one reply queued: unpack the Request, Hello first, authenticate
 * the token, check the role for the call, run its handler, pack the Response. The server hands
 * it frames through the lp_frame_handler it returns. */
#ifndef LP_DISPATCH_H
#define LP_DISPATCH_H

#include "lp_daemon.h"
#include "lp_server.h"

/* The frame handler for lp_server_new (its arg is daemon). */
lp_frame_handler lp_dispatch_handler(lp_daemon *daemon);

/* The name of a row of lp_metrics.calls ("none", "hello", "get_pupil", ...), NULL past the last. */
const char *lp_dispatch_call_name(unsigned row);

#endif
