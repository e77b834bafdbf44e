/* lp_load: reads the whole state from Redis in one pass, over a synchronous link: every index
 * set (SMEMBERS), the records by MGET in pipelined batches, decoded and sorted on a second
 * thread while the next batches are read. Used by the store at start and by its reload worker. */
#ifndef LP_LOAD_H
#define LP_LOAD_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "lp_state.h"

/* Where a load's time went, milliseconds. read, decode and build overlap (decode and build run
 * on the decoding thread beside the read); total is the wall time from the start of connect. */
typedef struct lp_load_timing {
  double connect_ms; /* set by the caller: connect, AUTH, waiting while Redis loads its AOF */
  double read_ms;    /* waiting for Redis' replies */
  double decode_ms;  /* protobuf unpacking into the state */
  double build_ms;   /* sorting each kind's map */
  double total_ms;
  size_t records;
} lp_load_timing;

/* Run before the read with the load's link (e.g. finishing an interrupted promote): 0, or -1
 * with the reason (the load fails). */
typedef int lp_load_prepare(redisContext *redis, char *error, size_t error_size);

/* Loads every kind into state (empty, from lp_state_init) and sorts each map once. prepare may
 * be NULL. timing->connect_ms is kept (the caller's); the rest is filled in. 0, or -1 with the
 * reason; on failure state holds whole entries only and the caller frees it. */
int lp_load_state(redisContext *redis, lp_load_prepare *prepare, lp_state *state, lp_load_timing *timing, char *error,
                  size_t error_size);

/* One info line per load: what it was for and where the time went (run-restart-bench.sh
 * reads it: "<what>: N records in T ms (connect C ms, read R ms, decode D ms, build B ms)..."). */
void lp_load_log(const char *what, const lp_load_timing *timing);

#endif
