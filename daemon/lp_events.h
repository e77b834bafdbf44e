/* lp_events: the event log (lp:events) as clients see it: events unpacked from stream entries,
 * who may see which (the scope rules of leerplek.proto's "History and the notification feed"),
 * subject histories read through their index keys, and the watch feed's watchers.
 *
 * Redis layout (written by lp_store.c, see lp_txn_event and lp_event_detail in lp_store.h):
 *   lp:events                      the stream; each entry: instance, op, kind, key, actor, event
 *                                  (a packed leerplek.v1.Event without id and time)
 *   lp:history:pupil:<school>/<ref> sorted sets (all scores 0) of the ids of the events naming
 *   lp:history:school:<school>     that subject, zero-padded ("%013ms-%010seq") so that lexical
 *   lp:history:vacancy:<id>        order is stream order and a page is one ZRANGEBYLEX; ids of
 *   lp:history:company:<id>        entries that are gone (trimmed, erased) are dropped as met. */
#ifndef LP_EVENTS_H
#define LP_EVENTS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp_auth.h"
#include "lp_daemon.h"
#include "lp_reply.h"

/* Parses "<ms>-<seq>" (digits only); false for anything else. */
bool lp_event_id_parse(const char *text, uint64_t *ms, uint64_t *seq);
/* <0, 0, >0 as event id a is before, equal to or after b (both well-formed). */
int lp_event_id_compare(const char *a, const char *b);

/* The event of one stream entry (its field/value array): `event` unpacked, id and time set;
 * NULL when the entry carries none (written before events had details). Free with
 * protobuf_c_message_free_unpacked(&event->base, &lp_protobuf_allocator). */
Leerplek__V1__Event *lp_event_from_entry(const char *id, const redisReply *fields);
/* Whether who may see the event at all. */
bool lp_event_in_scope(const lp_principal *who, const Leerplek__V1__Event *event);
/* Leaves out what who may not see of an event in its scope (a company: the school). */
void lp_event_redact(const lp_principal *who, Leerplek__V1__Event *event);

/* The watchers of a daemon. */
/* The id of the last entry of lp:events the feed has read ("0-0" before any). */
typedef const char *lp_feed_position(const void *arg);
/* position(position_arg) says where the feed stands (main wires lp_follow_last_id: the follower
 * feeds the watchers, so they do not call back into it). */
lp_watchers *lp_watchers_new(lp_daemon *daemon, lp_feed_position *position, const void *position_arg);
void lp_watchers_free(lp_watchers *watchers);
size_t lp_watchers_count(const lp_watchers *watchers);
/* From lp_follow, for every entry of lp:events as it reads them, in order. */
void lp_watchers_feed(lp_watchers *watchers, const char *id, const redisReply *fields);
/* Starts a watch on conn for who after after_id ("" = from now; else well-formed). With
 * after_id "" the caller answers the watch at once (start_id: the id the feed starts after);
 * otherwise ack (the watch's reply, left pending) is answered here once after_id has been
 * checked against the log: OK, OUT_OF_RANGE or UNAVAILABLE (the latter two close conn).
 * -1 when the store cannot be read now (nothing started: answer UNAVAILABLE). */
int lp_watchers_start(lp_watchers *watchers, lp_conn *conn, lp_reply *ack, uint64_t request_id, const lp_principal *who,
                      const char *after_id, char *start_id, size_t start_size);

#endif
