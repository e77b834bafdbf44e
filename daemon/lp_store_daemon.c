/* lp_store_daemon: wires the store to the daemon's context object: the state it loads goes
 * into daemon->state, what it counts into daemon->metrics, and every load first finishes an
 * interrupted promote, so that lp_store itself knows only its loop, its config and these hooks.
 * Only main (and the dispatch fuzzer) include it: it sits above store, follow and rematch. */
#include "lp_store_daemon.h"

#include <stdbool.h>

#include "lp_follow.h"
#include "lp_rematch.h"
#include "lp_store.h"

/* Swaps: the daemon's state becomes fresh, fresh the replaced one (the store frees it). */
static void take_state(void *arg, lp_state *fresh, bool reload) {
  lp_daemon *daemon = arg;
  lp_state replaced = daemon->state;
  daemon->state = *fresh;
  *fresh = replaced;
  /* Re-reads answered during the load were kept: they go out again against the new state. */
  if (reload && daemon->follow) lp_follow_reloaded(daemon->follow);
}

static void count(void *arg, enum lp_store_counter counter) {
  lp_metrics *metrics = &((lp_daemon *)arg)->metrics;
  switch (counter) {
  case LP_STORE_CONNECTS: metrics->redis_connects++; break;
  case LP_STORE_CONNECT_FAILURES: metrics->redis_connect_failures++; break;
  case LP_STORE_DISCONNECTS: metrics->redis_disconnects++; break;
  case LP_STORE_REDIS_ERRORS: metrics->redis_errors++; break;
  case LP_STORE_PRIMARY_SWITCHES: metrics->redis_primary_switches++; break;
  case LP_STORE_WAIT_SHORTFALLS: metrics->redis_wait_shortfalls++; break;
  }
}

lp_store *lp_store_new(lp_daemon *daemon) {
  /* Every load first finishes a promote a crash interrupted (lp_rematch_finish_promote). */
  const lp_store_hooks hooks = {
      .arg = daemon, .prepare_load = lp_rematch_finish_promote, .state_loaded = take_state, .count = count};
  return lp_store_open(daemon->base, &daemon->config, &hooks);
}
