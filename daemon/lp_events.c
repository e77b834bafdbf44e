/* lp_events: events for clients: unpacking and scoping the entries of lp:events, and the
 * watchers of the notification feed.
 *
 * A watcher has two phases. Catching up: it reads the log itself (XRANGE after its position,
 * on the write link, so behind every write sent so far) page by page, pushing what is in its
 * scope. Live: it takes the entries lp_follow reads (lp_watchers_feed). The switch is safe when
 * a catch-up page comes back short and lp_follow has read nothing beyond it: every later entry
 * then reaches the watcher through lp_follow, and entries at or before its position are
 * skipped, so nothing is missed and nothing is pushed twice. While its connection holds more
 * than output_high_water_bytes unsent, catching up waits; a live watcher that does not read is
 * cut off by the server's limits like any client that does not read its replies. */
#include "lp_events.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_reply.h"
#include "lp_log.h"
#include "lp_store.h"

enum { CATCH_UP_PAGE = 256, CATCH_UP_RETRY_MS = 20, NO_LINK_RETRY_MS = 200 };

bool lp_event_id_parse(const char *text, uint64_t *ms, uint64_t *seq) {
  const char *dash = strchr(text, '-');
  if (!dash || dash == text || !dash[1] || dash - text > 19 || strlen(dash + 1) > 19) return false;
  for (const char *c = text; *c; c++)
    if (c != dash && (*c < '0' || *c > '9')) return false;
  *ms = strtoull(text, NULL, 10);
  *seq = strtoull(dash + 1, NULL, 10);
  return true;
}

int lp_event_id_compare(const char *a, const char *b) {
  uint64_t a_ms = 0, a_seq = 0, b_ms = 0, b_seq = 0;
  lp_event_id_parse(a, &a_ms, &a_seq);
  lp_event_id_parse(b, &b_ms, &b_seq);
  if (a_ms != b_ms) return a_ms < b_ms ? -1 : 1;
  return a_seq < b_seq ? -1 : a_seq > b_seq;
}

Leerplek__V1__Event *lp_event_from_entry(const char *id, const redisReply *fields) {
  for (size_t i = 0; i + 1 < fields->elements; i += 2) {
    const redisReply *name = fields->element[i], *value = fields->element[i + 1];
    if (name->type != REDIS_REPLY_STRING || strcmp(name->str, "event") != 0 || value->type != REDIS_REPLY_STRING)
      continue;
    Leerplek__V1__Event *event =
        leerplek__v1__event__unpack(&lp_protobuf_allocator, value->len, (const uint8_t *)value->str);
    if (!event) return NULL;
    uint64_t ms = 0, seq = 0;
    lp_event_id_parse(id, &ms, &seq);
    event->id = lp_protobuf_allocator.alloc(NULL, strlen(id) + 1);
    memcpy(event->id, id, strlen(id) + 1);
    event->time_unix_s = (int64_t)(ms / 1000);
    return event;
  }
  return NULL;
}

bool lp_event_in_scope(const lp_principal *who, const Leerplek__V1__Event *event) {
  switch (who->role) {
  case LEERPLEK__V1__ROLE__ROLE_COORDINATOR: return true;
  case LEERPLEK__V1__ROLE__ROLE_SCHOOL: return strcmp(event->school_id, who->scope_id) == 0;
  case LEERPLEK__V1__ROLE__ROLE_COMPANY: return strcmp(event->company_id, who->scope_id) == 0;
  default: return false;
  }
}

void lp_event_redact(const lp_principal *who, Leerplek__V1__Event *event) {
  if (who->role != LEERPLEK__V1__ROLE__ROLE_COMPANY) return;
  /* The window of a CompanyProposal: the pupil's reference, never its school; a reason only
   * when it is the company's own. Strings are emptied in place so that free_unpacked still
   * frees what unpack allocated. */
  char *hidden[3] = {event->school_id,
                     event->actor_role == LEERPLEK__V1__ROLE__ROLE_SCHOOL ? event->actor_scope_id : NULL,
                     event->side != LEERPLEK__V1__SIDE__SIDE_COMPANY ? event->reason : NULL};
  for (int i = 0; i < 3; i++)
    if (hidden[i] && hidden[i][0]) hidden[i][0] = '\0'; /* an empty one is protobuf-c's constant "" */
}

/* ---- watchers ------------------------------------------------------------------------ */

typedef struct watcher {
  lp_watchers *watchers;
  lp_conn *conn; /* NULL once the connection closed */
  lp_reply *ack; /* the watch's reply until it is answered */
  uint64_t request_id;
  lp_principal who;
  char last_id[48]; /* the feed's position: every entry up to it was pushed or skipped */
  bool live;
  bool reading; /* a read is in flight (its reply frees a closed watcher) */
  struct event *timer;
  struct watcher *next, *previous;
} watcher;

struct lp_watchers {
  lp_daemon *daemon;
  lp_feed_position *position; /* how far the feed has read (lp_follow_last_id) */
  const void *position_arg;
  watcher *first;
  size_t count;
};

lp_watchers *lp_watchers_new(lp_daemon *daemon, lp_feed_position *position, const void *position_arg) {
  lp_watchers *watchers = lp_calloc(1, sizeof *watchers);
  watchers->daemon = daemon;
  watchers->position = position;
  watchers->position_arg = position_arg;
  return watchers;
}

size_t lp_watchers_count(const lp_watchers *watchers) { return watchers->count; }

static void unlink_watcher(watcher *w) {
  lp_watchers *watchers = w->watchers;
  if (w->previous)
    w->previous->next = w->next;
  else if (watchers->first == w)
    watchers->first = w->next;
  if (w->next) w->next->previous = w->previous;
  w->next = w->previous = NULL;
  watchers->count--;
}

static void free_watcher(watcher *w) {
  if (w->timer) event_free(w->timer);
  free(w);
}

/* The connection went: stop; a read in flight frees the watcher when it comes back. */
static void on_conn_closed(void *arg) {
  watcher *w = arg;
  w->conn = NULL;
  w->ack = NULL; /* the server orphans the call itself */
  unlink_watcher(w);
  if (!w->reading) free_watcher(w);
}

void lp_watchers_free(lp_watchers *watchers) {
  if (!watchers) return;
  /* Connections are closed later (or already): they must not call back into freed memory. */
  for (watcher *w = watchers->first, *next; w; w = next) {
    next = w->next;
    w->watchers = NULL;
    if (w->timer) event_del(w->timer);
    if (w->conn) lp_conn_set_watching(w->conn, NULL, NULL);
    if (!w->reading)
      free_watcher(w);
    else
      w->conn = NULL;
  }
  free(watchers);
}

/* Pushes the entry if it is past the position and in scope; moves the position. */
static void offer_entry(watcher *w, const char *id, const redisReply *fields) {
  if (lp_event_id_compare(id, w->last_id) <= 0) return;
  snprintf(w->last_id, sizeof w->last_id, "%s", id);
  Leerplek__V1__Event *event = lp_event_from_entry(id, fields);
  if (!event) return;
  if (lp_event_in_scope(&w->who, event)) {
    lp_event_redact(&w->who, event);
    Leerplek__V1__WatchResponse push = LEERPLEK__V1__WATCH_RESPONSE__INIT;
    push.event = event;
    lp_reply_push(w->conn, w->request_id, &push);
  }
  protobuf_c_message_free_unpacked(&event->base, &lp_protobuf_allocator);
}

void lp_watchers_feed(lp_watchers *watchers, const char *id, const redisReply *fields) {
  for (watcher *w = watchers->first, *next; w; w = next) {
    next = w->next; /* a push may cut the connection off, which unlinks w */
    if (w->live && w->conn) offer_entry(w, id, fields);
  }
}

static void read_page(watcher *w);

/* A read's reply came back: false (w freed) when its connection or the daemon's watchers went
 * meanwhile. */
static bool still_watching(watcher *w) {
  w->reading = false;
  if (w->conn && w->watchers) return true;
  free_watcher(w);
  return false;
}

static void retry_later(watcher *w, int ms) {
  struct timeval delay = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(w->timer, &delay);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  read_page(arg);
}

/* A catch-up page: push it, then read on, or go live (see the top). */
static void on_page(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  watcher *w = privdata;
  redisReply *reply = reply_pointer;
  if (!still_watching(w)) return;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) {
    retry_later(w, NO_LINK_RETRY_MS);
    return;
  }
  for (size_t e = 0; e < reply->elements && w->conn; e++) {
    const redisReply *entry = reply->element[e];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 2 || entry->element[1]->type != REDIS_REPLY_ARRAY)
      continue;
    offer_entry(w, entry->element[0]->str, entry->element[1]);
  }
  if (!w->conn) return; /* cut off while pushing: on_conn_closed freed nothing (not reading) */
  const lp_watchers *watchers = w->watchers;
  if (reply->elements < CATCH_UP_PAGE &&
      lp_event_id_compare(watchers->position(watchers->position_arg), w->last_id) <= 0) {
    w->live = true;
    return;
  }
  read_page(w);
}

static void read_page(watcher *w) {
  if (!w->conn || !w->watchers) return;
  const lp_config *config = &w->watchers->daemon->config;
  if (lp_conn_unsent_bytes(w->conn) > config->output_high_water_bytes) {
    retry_later(w, CATCH_UP_RETRY_MS);
    return;
  }
  uint64_t seq = 0;
  if (lp_store_read(w->watchers->daemon->store, on_page, w, &seq, "XRANGE %s (%s + COUNT %d", LP_EVENTS_STREAM,
                    w->last_id, CATCH_UP_PAGE) != 0) {
    retry_later(w, NO_LINK_RETRY_MS);
    return;
  }
  w->reading = true;
}

/* The oldest entry the log keeps: decides whether after_id can be resumed (leerplek.proto,
 * WatchRequest), then answers the watch and starts catching up. */
static void on_oldest(redisAsyncContext *redis, void *reply_pointer, void *privdata) {
  (void)redis;
  watcher *w = privdata;
  redisReply *reply = reply_pointer;
  if (!still_watching(w)) return;
  lp_reply *answer = w->ack;
  w->ack = NULL;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) {
    lp_conn *conn = w->conn;
    lp_conn_set_watching(conn, NULL, NULL);
    unlink_watcher(w);
    free_watcher(w);
    lp_reply_fail(answer, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_UNAVAILABLE, "",
                  "the store is unavailable (reconnecting); watch again", true);
    return;
  }
  const char *oldest =
      reply->elements > 0 && reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements > 0
          ? reply->element[0]->element[0]->str
          : NULL;
  bool from_start = strcmp(w->last_id, "0-0") == 0;
  if (oldest && !from_start && lp_event_id_compare(w->last_id, oldest) < 0) {
    char message[200];
    snprintf(message, sizeof message,
             "events after %s are no longer all kept (the oldest kept is %s): some were missed; re-read and watch "
             "again without after_event_id",
             w->last_id, oldest);
    lp_conn_set_watching(w->conn, NULL, NULL);
    unlink_watcher(w);
    free_watcher(w);
    lp_reply_fail(answer, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_OUT_OF_RANGE, "watch.after_event_id", message, true);
    return;
  }
  Leerplek__V1__WatchResponse ack = LEERPLEK__V1__WATCH_RESPONSE__INIT;
  ack.resume_after_event_id = w->last_id;
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  response.body_case = LEERPLEK__V1__RESPONSE__BODY_WATCH;
  response.watch = &ack;
  lp_reply_send(answer, 0, NULL, &response);
  read_page(w);
}

int lp_watchers_start(lp_watchers *watchers, lp_conn *conn, lp_reply *ack, uint64_t request_id, const lp_principal *who,
                      const char *after_id, char *start_id, size_t start_size) {
  lp_daemon *daemon = watchers->daemon;
  uint64_t seq = 0;
  if (after_id[0] && !lp_store_writable(daemon->store)) return -1;
  watcher *w = lp_calloc(1, sizeof *w);
  w->watchers = watchers;
  w->conn = conn;
  w->request_id = request_id;
  w->who = *who;
  w->timer = evtimer_new(daemon->base, on_timer, w);
  if (!w->timer) abort(); /* only when out of memory: the policy of lp_alloc.h */
  w->next = watchers->first;
  if (watchers->first) watchers->first->previous = w;
  watchers->first = w;
  watchers->count++;
  lp_conn_set_watching(conn, on_conn_closed, w);
  if (!after_id[0]) {
    snprintf(w->last_id, sizeof w->last_id, "%s", watchers->position(watchers->position_arg));
    w->live = true;
  } else {
    snprintf(w->last_id, sizeof w->last_id, "%s", after_id);
    w->ack = ack;
    if (lp_store_read(daemon->store, on_oldest, w, &seq, "XRANGE %s - + COUNT 1", LP_EVENTS_STREAM) != 0) {
      lp_conn_set_watching(conn, NULL, NULL);
      unlink_watcher(w);
      free_watcher(w);
      return -1;
    }
    w->reading = true;
  }
  snprintf(start_id, start_size, "%s", w->last_id);
  return 0;
}
