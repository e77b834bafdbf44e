/* lp_server: evconnlistener + one bufferevent per connection. A request's path: read_socket (a
 * plain connection's own read event: recv into the bufferevent's input, no ioctl per read) or
 * on_read (TLS) -> process_input hands the complete frames of the input to the frame handler
 * (lp_dispatch: it opens an lp_call in the connection's queue and finishes it now or when the
 * store confirms) and drains them together -> a reply that can leave at once is packed straight
 * into the output buffer (lp_call_reserve/lp_call_commit), others through lp_call_finish ->
 * write_finished_replies copies finished replies, in order, to the output buffer.
 *
 * Backpressure: reading pauses while a connection has max_pending_requests calls queued or
 * more than output_high_water_bytes of unsent replies, and resumes when both drain. Because
 * libevent's read timeout pauses with reading, the idle timeout is also set as a write
 * timeout: a client that never reads its replies is cut off after idle_timeout_s.
 *
 * Writes: connections with new replies join server->flush_queue, and flush_event (run after
 * every callback already active in this loop iteration: all readable connections, the EXEC
 * replies) writes each one straight to its socket (flush_output): one writev per connection
 * per iteration. EV_WRITE is enabled only while unsent output remains, so no epoll_ctl per
 * reply (a TLS connection leaves its writes to bufferevent_openssl: its socket carries records,
 * not our bytes).
 *
 * Limits against slow and greedy clients (each counted in /metrics):
 * - a deadline timer per connection: Hello must have arrived hello_timeout_ms after connect
 *   (the TLS handshake included), and afterwards a frame that has begun must be complete within
 *   frame_timeout_ms; a client that trickles a byte now and then cannot keep a slot, since
 *   the idle timeout alone restarts on every byte;
 * - max_connections_per_address for TCP peers, on top of max_connections;
 * - max_output_total_bytes over the unsent replies of all connections (counted by evbuffer
 *   callbacks): beyond it the connections holding the most are cut off, as Redis does with its
 *   client output buffer limits;
 * - out of file descriptors, a descriptor kept in reserve is given up to accept the waiting
 *   clients and tell them so before closing (memcached's trick), instead of leaving them in
 *   the backlog unanswered.
 *
 * TLS (tls_cert_file): the first byte a client sends tells a TLS ClientHello (a handshake
 * record, 0x16) from a plain-text frame (a length, whose first byte is 0 for any frame the
 * daemon accepts); a plain-text client gets one clear refusal in its own framing rather than a
 * TLS alert it cannot read. */
#include "lp_server.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "leerplek_wire.h"
#include "lp_alloc.h"
#include "lp_log.h"
#include "lp_pool.h"
#include "lp_tls.h"

struct lp_conn {
  lp_server *server;
  struct bufferevent *events; /* NULL while a TLS port waits for the first byte (sniff) */
  struct event *reader;       /* plain text: reads the socket itself (read_socket); NULL for TLS */
  bool read_timeout_off;      /* a watching connection: no idle timeout on reading */
  bool resumed;               /* maybe_resume_reading activated the reader: handle what is buffered */
  evutil_socket_t fd;
  struct event *sniff;
  struct event *deadline; /* hello_timeout_ms, then frame_timeout_ms (see the top) */
  bool frame_completed;   /* a frame was cut in this process_input: restart the deadline */
  bool tls;
  size_t output_bytes; /* unsent reply bytes, also summed in server->output_bytes */
  lp_conn *next, *previous;
  lp_call *head, *tail; /* reply queue */
  size_t queued;        /* calls in the queue */
  bool greeted;         /* hello succeeded */
  bool reading_paused;
  bool closing;            /* no more requests; close when the output is written */
  bool final_written;      /* a close-after reply went out: write nothing more */
  bool in_input;           /* process_input is running: do not free the connection now */
  struct timespec read_at; /* CLOCK_MONOTONIC when on_read began: the frames it cuts came in then */
  bool flush_queued;       /* in server->flush_queue */
  lp_conn *flush_next;
  char peer[72];
  char host[48]; /* the peer's IP address; "" for unix sockets */
  lp_token_memo token_memo;
  bool watching;               /* dedicated to a watch feed (lp_watch.c) */
  void (*on_close)(void *arg); /* told when the connection goes (the feed stops) */
  void *on_close_arg;
};

struct lp_server {
  const lp_frame_handler *handler; /* what frames mean (lp_dispatch) */
  lp_daemon *daemon;
  struct evconnlistener *listener;
  struct event *accept_retry_timer;
  lp_conn *connections;
  size_t connection_count;
  lp_conn *flush_queue; /* connections with replies to write at the end of the iteration */
  struct event *flush_event;
  char unix_path[108];
  SSL_CTX *tls;        /* NULL: plain TCP */
  size_t output_bytes; /* unsent reply bytes of all connections */
  int reserve_fd;      /* given up when accept runs out of descriptors; -1 if none */
};

static void process_input(lp_conn *conn);
static void server_refuse(lp_conn *conn, int code, const char *message);
static void update_deadline(lp_conn *conn);
static void on_output_change(struct evbuffer *buffer, const struct evbuffer_cb_info *info, void *arg);
static void enforce_output_cap(lp_server *server);
static void queue_flush(lp_conn *conn);

bool lp_conn_greeted(const lp_conn *conn) { return conn->greeted; }

void lp_conn_frame_time(const lp_conn *conn, struct timespec *out) {
  if (conn->in_input)
    *out = conn->read_at; /* one clock read per batch of pipelined frames, not one per frame */
  else
    clock_gettime(CLOCK_MONOTONIC, out);
}

lp_token_memo *lp_conn_token_memo(lp_conn *conn) { return &conn->token_memo; }

/* Reading on or off: a plain connection's own read event (with the idle timeout, restarted by
 * every read), a TLS connection's bufferevent. */
static void enable_reading(lp_conn *conn) {
  if (!conn->reader) {
    bufferevent_enable(conn->events, EV_READ);
    return;
  }
  uint32_t idle_s = conn->server->daemon->config.idle_timeout_s;
  struct timeval idle = {idle_s, 0};
  event_add(conn->reader, idle_s && !conn->read_timeout_off ? &idle : NULL);
}

static void disable_reading(lp_conn *conn) {
  if (conn->reader)
    event_del(conn->reader);
  else if (conn->events)
    bufferevent_disable(conn->events, EV_READ);
}

void lp_conn_stop_reading(lp_conn *conn) {
  conn->closing = true;
  disable_reading(conn);
}

/* After Hello the deadline applies only while a frame is incomplete (update_deadline). */
void lp_conn_set_greeted(lp_conn *conn) {
  if (!conn->greeted) event_del(conn->deadline);
  conn->greeted = true;
}
const char *lp_conn_peer(const lp_conn *conn) { return conn->peer; }
bool lp_conn_watching(const lp_conn *conn) { return conn->watching; }
size_t lp_conn_unsent_bytes(const lp_conn *conn) { return conn->output_bytes; }

void lp_conn_set_watching(lp_conn *conn, void (*on_close)(void *arg), void *arg) {
  conn->watching = true;
  conn->on_close = on_close;
  conn->on_close_arg = arg;
  /* Silence is what a feed mostly is: no read (idle) timeout, but the write timeout stays, so
   * a watcher that stops reading is still cut off after idle_timeout_s. */
  uint32_t idle_s = conn->server->daemon->config.idle_timeout_s;
  struct timeval idle = {idle_s, 0};
  if (conn->events) bufferevent_set_timeouts(conn->events, NULL, idle_s ? &idle : NULL);
  conn->read_timeout_off = true;
  if (conn->reader && event_pending(conn->reader, EV_READ, NULL)) { /* again, untimed: event_add keeps a timeout */
    event_del(conn->reader);
    enable_reading(conn);
  }
}
size_t lp_server_connection_count(const lp_server *server) { return server->connection_count; }
size_t lp_server_output_bytes(const lp_server *server) { return server->output_bytes; }

static void server_refuse(lp_conn *conn, int code, const char *message) {
  conn->server->handler->refuse(conn->server->handler->arg, conn, code, message);
}

/* Calls are recycled: two allocations per request were a visible part of a get's cost. */
static lp_recycler call_recycler;

static void free_call(lp_call *call) {
  free(call->frame);
  lp_recycler_put(&call_recycler, call);
}

static void close_connection(lp_conn *conn) {
  lp_server *server = conn->server;
  if (conn->on_close) conn->on_close(conn->on_close_arg);
  for (lp_call *call = conn->head, *next; call; call = next) {
    next = call->next;
    if (call->done)
      free_call(call);
    else
      call->conn = NULL; /* the store still owes it an answer; lp_call_finish frees it */
  }
  if (conn->previous)
    conn->previous->next = conn->next;
  else
    server->connections = conn->next;
  if (conn->next) conn->next->previous = conn->previous;
  server->connection_count--;
  if (conn->flush_queued)
    for (lp_conn **link = &server->flush_queue; *link; link = &(*link)->flush_next)
      if (*link == conn) {
        *link = conn->flush_next;
        break;
      }
  server->output_bytes -= conn->output_bytes;
  /* The counting callback must not outlive conn, whenever libevent finally frees the buffer. */
  if (conn->events) evbuffer_remove_cb(bufferevent_get_output(conn->events), on_output_change, conn);
  if (conn->reader) event_free(conn->reader); /* before the socket closes with its bufferevent */
  if (conn->events)
    bufferevent_free(conn->events);
  else
    evutil_closesocket(conn->fd);
  if (conn->sniff) event_free(conn->sniff);
  event_free(conn->deadline);
  LP_DEBUG("connection %s closed", conn->peer);
  OPENSSL_cleanse(&conn->token_memo, sizeof conn->token_memo); /* it holds a bearer secret */
  free(conn);
}

static bool must_pause(const lp_conn *conn) {
  const lp_config *config = &conn->server->daemon->config;
  return conn->queued >= config->max_pending_requests ||
         evbuffer_get_length(bufferevent_get_output(conn->events)) > config->output_high_water_bytes;
}

static void pause_reading(lp_conn *conn) {
  if (conn->reading_paused) return;
  conn->reading_paused = true;
  disable_reading(conn);
  /* The daemon, not the client, holds the rest of the frame back now. */
  if (conn->greeted) event_del(conn->deadline);
  LP_DEBUG("connection %s: reading paused (%zu queued)", conn->peer, conn->queued);
}

static void maybe_resume_reading(lp_conn *conn) {
  if (!conn->reading_paused || conn->closing || must_pause(conn)) return;
  conn->reading_paused = false;
  enable_reading(conn);
  /* Frames may already sit in the input buffer; libevent will not report them again. Later in
   * this loop iteration, not from inside the caller. */
  if (conn->reader) {
    conn->resumed = true;
    event_active(conn->reader, EV_READ, 1);
  } else
    bufferevent_trigger(conn->events, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Writes the output buffer to the socket now; what the socket does not take is left to
 * libevent (EV_WRITE, with the idle timeout as write timeout), which also reports errors. */
static void flush_output(lp_conn *conn) {
  struct evbuffer *output = bufferevent_get_output(conn->events);
  if (evbuffer_get_length(output) == 0) return;
  if (conn->tls) return; /* bufferevent_openssl writes as soon as output is added */
  if (!(bufferevent_get_enabled(conn->events) & EV_WRITE)) {
    /* bufferevent_socket freezes the start of its output buffer; libevent's own write
     * callback unfreezes it around evbuffer_write in the same way. */
    evbuffer_unfreeze(output, 1);
    int written = evbuffer_write(output, bufferevent_getfd(conn->events));
    evbuffer_freeze(output, 1);
    (void)written; /* an error shows up again in libevent's write callback */
    if (evbuffer_get_length(output) == 0) {
      maybe_resume_reading(conn); /* what on_write would have done */
      return;
    }
    bufferevent_enable(conn->events, EV_WRITE);
  }
}

static void queue_flush(lp_conn *conn) {
  if (conn->flush_queued) return;
  conn->flush_queued = true;
  conn->flush_next = conn->server->flush_queue;
  conn->server->flush_queue = conn;
  event_active(conn->server->flush_event, EV_TIMEOUT, 1);
}

/* flush_event: writes the replies of every queued connection. */
static void on_flush(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_server *server = arg;
  while (server->flush_queue) {
    lp_conn *conn = server->flush_queue;
    server->flush_queue = conn->flush_next;
    conn->flush_queued = false;
    if (!conn->events) continue;
    flush_output(conn);
    /* A closing connection with nothing left to write would otherwise never hear back. */
    if (conn->closing && !conn->head && evbuffer_get_length(bufferevent_get_output(conn->events)) == 0)
      close_connection(conn);
  }
}

/* Keeps server->output_bytes equal to the unsent bytes of every output buffer. */
static void on_output_change(struct evbuffer *buffer, const struct evbuffer_cb_info *info, void *arg) {
  (void)buffer;
  lp_conn *conn = arg;
  conn->output_bytes += info->n_added;
  conn->output_bytes -= info->n_deleted;
  conn->server->output_bytes += info->n_added;
  conn->server->output_bytes -= info->n_deleted;
}

/* Drops what conn has not sent and closes it once its calls in flight are answered (on_flush):
 * freeing it here could pull it from under a caller that is still using it. */
static void cut_off(lp_conn *conn) {
  conn->closing = true;
  conn->final_written = true;
  disable_reading(conn);
  struct evbuffer *output = bufferevent_get_output(conn->events);
  evbuffer_unfreeze(output, 1);
  evbuffer_drain(output, evbuffer_get_length(output));
  if (!conn->tls) evbuffer_freeze(output, 1);
  queue_flush(conn);
}

/* Over max_output_total_bytes: cut off the connections holding the most unsent output until
 * the total is below the cap again, so one or a few greedy clients pay, not everybody. */
static void enforce_output_cap(lp_server *server) {
  const lp_config *config = &server->daemon->config;
  while (server->output_bytes > config->max_output_total_bytes) {
    lp_conn *largest = NULL;
    for (lp_conn *conn = server->connections; conn; conn = conn->next)
      if (conn->events && !conn->final_written && conn->output_bytes > 0 &&
          (!largest || conn->output_bytes > largest->output_bytes))
        largest = conn;
    if (!largest) return;
    server->daemon->metrics.connections_cut_output++;
    LP_WARN("connection %s cut off: %zu unsent reply bytes while all connections hold %zu "
            "(max_output_total_bytes %u)",
            largest->peer, largest->output_bytes, server->output_bytes, config->max_output_total_bytes);
    cut_off(largest);
  }
}

static void write_finished_replies(lp_conn *conn) {
  while (conn->head && conn->head->done) {
    lp_call *call = conn->head;
    conn->head = call->next;
    if (!conn->head) conn->tail = NULL;
    conn->queued--;
    /* A reply packed in place (lp_call_reserve) is in the output already: no frame. */
    if (!conn->final_written && call->frame) bufferevent_write(conn->events, call->frame, call->frame_size);
    if (call->close_after && !conn->final_written) {
      conn->final_written = true;
      conn->closing = true;
      disable_reading(conn);
    }
    free_call(call);
  }
  if (conn->server->output_bytes > conn->server->daemon->config.max_output_total_bytes)
    enforce_output_cap(conn->server);
  if (must_pause(conn))
    pause_reading(conn);
  else
    maybe_resume_reading(conn);
}

lp_call *lp_call_open(lp_conn *conn) {
  lp_call *call = lp_recycler_get(&call_recycler, sizeof *call);
  call->conn = conn;
  if (conn->tail)
    conn->tail->next = call;
  else
    conn->head = call;
  conn->tail = call;
  conn->queued++;
  return call;
}

void lp_call_finish(lp_call *call, unsigned char *frame, size_t frame_size, bool close_after) {
  assert(!call->done && frame); /* one answer per call */
  call->frame = frame;
  call->frame_size = frame_size;
  call->close_after = close_after;
  call->done = true;
  if (!call->conn) {
    free_call(call);
    return;
  }
  lp_conn *conn = call->conn;
  write_finished_replies(conn);
  queue_flush(conn); /* on_flush also closes a closing connection once all is written */
}

unsigned char *lp_call_reserve(lp_call *call, size_t frame_size) {
  lp_conn *conn = call->conn;
  /* Only a reply that leaves at once: one behind an unfinished call waits in its own frame. */
  if (!conn || conn->head != call || call->done || conn->final_written || !conn->events) return NULL;
  struct evbuffer_iovec space;
  if (evbuffer_reserve_space(bufferevent_get_output(conn->events), (ev_ssize_t)frame_size, &space, 1) != 1 ||
      space.iov_len < frame_size)
    return NULL;
  return space.iov_base;
}

void lp_call_commit(lp_call *call, unsigned char *frame, size_t frame_size) {
  lp_conn *conn = call->conn;
  assert(conn && conn->head == call && !call->done);
  struct evbuffer_iovec space = {.iov_base = frame, .iov_len = frame_size};
  /* Counted by on_output_change like any other addition; libevent allocates through lp_alloc. */
  int committed = evbuffer_commit_space(bufferevent_get_output(conn->events), &space, 1);
  assert(committed == 0);
  (void)committed;
  call->done = true;
  call->frame = NULL;
  call->frame_size = 0;
  write_finished_replies(conn); /* this one, and any finished early behind it */
  queue_flush(conn);
}

static void handle_input(lp_conn *conn) {
  clock_gettime(CLOCK_MONOTONIC, &conn->read_at);
  conn->in_input = true;
  process_input(conn);
  conn->in_input = false;
  update_deadline(conn);
  if (evbuffer_get_length(bufferevent_get_output(conn->events)) > 0) queue_flush(conn);
  if (conn->closing && !conn->head && evbuffer_get_length(bufferevent_get_output(conn->events)) == 0)
    close_connection(conn);
}

/* A TLS connection's input, decrypted by bufferevent_openssl. */
static void on_read(struct bufferevent *events, void *arg) {
  (void)events;
  handle_input(arg);
}

/* A plain connection's socket is readable (or idle for idle_timeout_s). It reads as libevent's
 * own bufferevent would (at most 4096 bytes per call, level-triggered: the rest on the next
 * iteration), without the ioctl(FIONREAD) libevent makes before every read: a third of the
 * system calls of a request at pipeline depth 1. EOF and errors close as on_event does. */
static void read_socket(evutil_socket_t fd, short what, void *arg) {
  lp_conn *conn = arg;
  if (what & EV_TIMEOUT) {
    LP_INFO("connection %s: idle for %u s; closing", conn->peer, conn->server->daemon->config.idle_timeout_s);
    close_connection(conn);
    return;
  }
  if (conn->resumed) { /* what the socket holds meanwhile, epoll reports again (level-triggered) */
    conn->resumed = false;
    handle_input(conn);
    return;
  }
  enum { READ_SIZE = 4096 };
  struct evbuffer *input = bufferevent_get_input(conn->events);
  /* bufferevent_socket freezes the end of its input buffer; libevent's own read callback
   * unfreezes it around its read in the same way. */
  evbuffer_unfreeze(input, 0);
  struct evbuffer_iovec space;
  ssize_t got = -1;
  int error = 0;
  if (evbuffer_reserve_space(input, READ_SIZE, &space, 1) == 1) {
    got = recv(fd, space.iov_base, space.iov_len < READ_SIZE ? space.iov_len : READ_SIZE, 0);
    error = got < 0 ? errno : 0;
    if (got > 0) {
      space.iov_len = (size_t)got;
      evbuffer_commit_space(input, &space, 1);
    }
  }
  evbuffer_freeze(input, 0);
  if (got < 0 && (error == EAGAIN || error == EWOULDBLOCK || error == EINTR)) return; /* nothing after all */
  if (got <= 0) {
    if (got < 0) LP_DEBUG("connection %s: %s", conn->peer, evutil_socket_error_to_string(error));
    close_connection(conn);
    return;
  }
  handle_input(conn);
}

/* After Hello: the frame deadline runs while part of a frame sits in the input, from the
 * first of its bytes (approximately: from the read that brought them, or the last complete
 * frame), and is off while the buffer is empty or reading is paused. */
static void update_deadline(lp_conn *conn) {
  if (!conn->greeted) return; /* the hello deadline runs from accept until lp_conn_set_greeted */
  bool partial = evbuffer_get_length(bufferevent_get_input(conn->events)) > 0;
  if (!partial || conn->reading_paused || conn->closing) {
    event_del(conn->deadline);
  } else if (conn->frame_completed || !evtimer_pending(conn->deadline, NULL)) {
    uint32_t ms = conn->server->daemon->config.frame_timeout_ms;
    struct timeval limit = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(conn->deadline, &limit);
  }
  conn->frame_completed = false;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_conn *conn = arg;
  lp_daemon *daemon = conn->server->daemon;
  char message[160];
  if (!conn->greeted) {
    daemon->metrics.hello_timeouts++;
    snprintf(message, sizeof message, "no Hello within %u ms of connecting (hello_timeout_ms); closing",
             daemon->config.hello_timeout_ms);
  } else {
    daemon->metrics.frame_timeouts++;
    snprintf(message, sizeof message, "request frame not complete within %u ms (frame_timeout_ms); closing",
             daemon->config.frame_timeout_ms);
  }
  LP_INFO("connection %s: %s", conn->peer, message);
  if (!conn->events || conn->closing) {
    close_connection(conn);
    return;
  }
  /* Say why, but give a client that does not read that either only a second. */
  struct timeval second = {1, 0};
  bufferevent_set_timeouts(conn->events, NULL, &second);
  server_refuse(conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_DEADLINE_EXCEEDED, message);
}

/* Drains the bytes already handled, makes the first need bytes of input contiguous (they are
 * there) and sets the view to the input's first chain, which holds them. */
static void refresh_view(struct evbuffer *input, size_t *consumed, size_t *available, size_t need,
                         const unsigned char **view, size_t *view_size) {
  evbuffer_drain(input, *consumed);
  *available -= *consumed;
  *consumed = 0;
  /* Never NULL: the bytes are all there, and libevent allocates through lp_alloc. */
  evbuffer_pullup(input, (ev_ssize_t)need);
  struct evbuffer_iovec first;
  evbuffer_peek(input, -1, NULL, &first, 1);
  *view = first.iov_base;
  *view_size = first.iov_len;
}

/* The complete frames in the input are handed over from a view of its first chain, where a
 * read of pipelined requests mostly lands whole, and drained together at the end: a copy of
 * each header, a pullup and two drains per frame were a tenth of a pipelined get's cost. A
 * frame that crosses the chain's end is made contiguous first, as before. */
static void process_input(lp_conn *conn) {
  const lp_config *config = &conn->server->daemon->config;
  struct evbuffer *input = bufferevent_get_input(conn->events);
  size_t available = evbuffer_get_length(input), consumed = 0, view_size = 0;
  const unsigned char *view = NULL; /* the first view_size bytes of the input, consumed of them handled */
  while (!conn->closing) {
    if (must_pause(conn)) {
      pause_reading(conn);
      break;
    }
    if (available - consumed < LEERPLEK_FRAME_HEADER_SIZE) break;
    if (view_size - consumed < LEERPLEK_FRAME_HEADER_SIZE)
      refresh_view(input, &consumed, &available, LEERPLEK_FRAME_HEADER_SIZE, &view, &view_size);
    uint32_t size = leerplek_frame_get_length(view + consumed);
    if (size > config->max_frame_bytes) {
      LP_INFO("connection %s: frame of %u bytes over the limit of %u; closing", conn->peer, size,
              config->max_frame_bytes);
      lp_conn_stop_reading(conn);
      conn->server->handler->oversized(conn->server->handler->arg, conn, size);
      break;
    }
    if (available - consumed - LEERPLEK_FRAME_HEADER_SIZE < size) break; /* wait for the rest of the frame */
    if (view_size - consumed - LEERPLEK_FRAME_HEADER_SIZE < size)
      refresh_view(input, &consumed, &available, LEERPLEK_FRAME_HEADER_SIZE + (size_t)size, &view, &view_size);
    static const unsigned char empty[1] = {0};
    const unsigned char *body = size ? view + consumed + LEERPLEK_FRAME_HEADER_SIZE : empty;
    /* Dispatch never frees the connection synchronously (closing happens in callbacks), nor
     * touches the input, so the view stays valid. */
    conn->server->handler->frame(conn->server->handler->arg, conn, body, size);
    consumed += LEERPLEK_FRAME_HEADER_SIZE + (size_t)size;
    conn->frame_completed = true;
  }
  evbuffer_drain(input, consumed);
}

static void on_write(struct bufferevent *events, void *arg) {
  lp_conn *conn = arg;
  /* Drained: further replies are written directly again (see flush_output); TLS writes always
   * go through libevent. */
  if (!conn->tls && evbuffer_get_length(bufferevent_get_output(events)) == 0) bufferevent_disable(events, EV_WRITE);
  if (conn->closing) {
    if (!conn->head && evbuffer_get_length(bufferevent_get_output(events)) == 0) close_connection(conn);
    return;
  }
  maybe_resume_reading(conn);
}

static void on_event(struct bufferevent *events, short what, void *arg) {
  lp_conn *conn = arg;
  if (what & BEV_EVENT_TIMEOUT) {
    LP_INFO("connection %s: %s for %u s; closing", conn->peer, (what & BEV_EVENT_WRITING) ? "replies not read" : "idle",
            conn->server->daemon->config.idle_timeout_s);
  } else if ((what & BEV_EVENT_ERROR) && conn->tls) {
    char reason[512] = "";
    size_t used = 0;
    unsigned long code;
    while ((code = bufferevent_get_openssl_error(events)) != 0 && used + 2 < sizeof reason) {
      if (ERR_GET_LIB(code) == 0) continue; /* libevent's own entries carry no OpenSSL reason */
      char text[200];
      ERR_error_string_n(code, text, sizeof text);
      used += (size_t)snprintf(reason + used, sizeof reason - used, "%s%s", used ? "; " : "", text);
    }
    LP_INFO("connection %s: TLS %s: %s", conn->peer, conn->greeted ? "error" : "handshake failed",
            reason[0] ? reason : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (!conn->greeted) conn->server->daemon->metrics.tls_handshake_failures++;
  } else if (what & BEV_EVENT_ERROR) {
    LP_DEBUG("connection %s: %s", conn->peer, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) close_connection(conn);
}

static void describe_peer(const struct sockaddr *address, char *out, size_t out_size, char *host, size_t host_size) {
  host[0] = '\0';
  if (address->sa_family == AF_INET || address->sa_family == AF_INET6) {
    const void *raw = address->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)address)->sin_addr
                                                    : (const void *)&((const struct sockaddr_in6 *)address)->sin6_addr;
    int port = ntohs(address->sa_family == AF_INET ? ((const struct sockaddr_in *)address)->sin_port
                                                   : ((const struct sockaddr_in6 *)address)->sin6_port);
    evutil_inet_ntop(address->sa_family, raw, host, host_size);
    snprintf(out, out_size, "%s:%d", host, port);
  } else {
    snprintf(out, out_size, "unix");
  }
}

static size_t connections_from(const lp_server *server, const char *host) {
  size_t count = 0;
  for (const lp_conn *conn = server->connections; conn; conn = conn->next)
    if (strcmp(conn->host, host) == 0) count++;
  return count;
}

/* The connection gets its bufferevent (plain or TLS): the limits that answer with a reply are
 * applied here, since on a TLS port even a refusal has to go through the handshake. */
static void attach_events(lp_conn *conn, struct bufferevent *events, bool plain_on_tls_port) {
  lp_server *server = conn->server;
  lp_daemon *daemon = server->daemon;
  conn->events = events;
  bufferevent_setcb(events, on_read, on_write, on_event, conn);
  evbuffer_add_cb(bufferevent_get_output(events), on_output_change, conn);
  if (!conn->tls)
    bufferevent_disable(events, EV_WRITE); /* enabled by default; see flush_output */
  else
    bufferevent_openssl_set_allow_dirty_shutdown(events, 1); /* a client that just hangs up */
  bufferevent_setwatermark(events, EV_WRITE, daemon->config.output_high_water_bytes / 2, 0);
  if (!conn->tls) {
    conn->reader = event_new(daemon->base, conn->fd, EV_READ | EV_PERSIST, read_socket, conn);
    if (!conn->reader) LP_ERROR("out of memory accepting a connection"); /* lp_alloc aborts first */
  }
  if (daemon->config.idle_timeout_s > 0) {
    struct timeval idle = {daemon->config.idle_timeout_s, 0};
    bufferevent_set_timeouts(events, conn->reader ? NULL : &idle, &idle); /* the reader times its own reads */
  }
  if (plain_on_tls_port) {
    /* What it sent already is read and dropped: closing a socket with unread input resets it,
     * which could destroy the refusal before the client reads it. */
    unsigned char scratch[4096];
    for (int i = 0; i < 16 && recv(conn->fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; i++) {}
    daemon->metrics.tls_plaintext_refused++;
    LP_INFO("connection %s: plain text on the TLS port; refused", conn->peer);
    server_refuse(conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_FAILED_PRECONDITION,
                  "this port speaks TLS only: connect with TLS (leerplek --tls --tls-ca FILE)");
    return;
  }
  if (server->connection_count > daemon->config.max_connections) {
    daemon->metrics.connections_refused++;
    LP_WARN("connection %s refused: %zu connections open (max_connections %u)", conn->peer,
            server->connection_count - 1, daemon->config.max_connections);
    server_refuse(conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_RESOURCE_EXHAUSTED,
                  "the daemon has reached its connection limit; retry later");
    return;
  }
  if (conn->host[0] && connections_from(server, conn->host) > daemon->config.max_connections_per_address) {
    daemon->metrics.connections_refused_per_address++;
    LP_WARN("connection %s refused: %u connections from %s already (max_connections_per_address)", conn->peer,
            daemon->config.max_connections_per_address, conn->host);
    char message[200];
    snprintf(message, sizeof message,
             "%u connections from your address are open already "
             "(max_connections_per_address); close one or retry later",
             daemon->config.max_connections_per_address);
    server_refuse(conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_RESOURCE_EXHAUSTED, message);
    return;
  }
  if (daemon->stopping) {
    server_refuse(conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_UNAVAILABLE, "the daemon is shutting down");
    return;
  }
  enable_reading(conn);
  LP_DEBUG("connection %s accepted%s", conn->peer, conn->tls ? " (TLS)" : "");
}

/* TLS port: the first byte decides between a TLS handshake and a plain-text refusal. */
static void on_first_byte(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  lp_conn *conn = arg;
  unsigned char first = 0;
  ssize_t n = recv(fd, &first, 1, MSG_PEEK);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    event_add(conn->sniff, NULL);
    return;
  }
  if (n <= 0) {
    close_connection(conn);
    return;
  }
  lp_daemon *daemon = conn->server->daemon;
  struct bufferevent *events = NULL;
  bool tls = first == 0x16; /* TLS record type "handshake" */
  if (tls) {
    SSL *ssl = SSL_new(conn->server->tls);
    if (ssl)
      events = bufferevent_openssl_socket_new(daemon->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!events && ssl) SSL_free(ssl);
  } else {
    events = bufferevent_socket_new(daemon->base, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  if (!events) {
    LP_ERROR("out of memory accepting a connection");
    close_connection(conn);
    return;
  }
  conn->tls = tls;
  attach_events(conn, events, !tls);
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *address, int address_size,
                      void *arg) {
  (void)listener;
  (void)address_size;
  lp_server *server = arg;
  lp_daemon *daemon = server->daemon;
  lp_conn *conn = lp_calloc(1, sizeof *conn);
  conn->deadline = evtimer_new(daemon->base, on_deadline, conn);
  if (conn->deadline && server->tls) conn->sniff = event_new(daemon->base, fd, EV_READ, on_first_byte, conn);
  struct bufferevent *events =
      conn->deadline && !server->tls ? bufferevent_socket_new(daemon->base, fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
  if (!conn->deadline || (server->tls ? !conn->sniff : !events)) {
    LP_ERROR("cannot set up a connection (libevent refused socket %d)", (int)fd);
    if (conn->deadline) event_free(conn->deadline);
    if (conn->sniff) event_free(conn->sniff);
    if (events)
      bufferevent_free(events);
    else
      evutil_closesocket(fd);
    free(conn);
    return;
  }
  conn->server = server;
  conn->fd = fd;
  describe_peer(address, conn->peer, sizeof conn->peer, conn->host, sizeof conn->host);
  if (address->sa_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  conn->next = server->connections;
  if (server->connections) server->connections->previous = conn;
  server->connections = conn;
  server->connection_count++;
  daemon->metrics.connections_accepted++;
  uint32_t ms = daemon->config.hello_timeout_ms;
  struct timeval hello = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(conn->deadline, &hello);
  if (server->tls)
    event_add(conn->sniff, NULL);
  else
    attach_events(conn, events, false);
}

static void reopen_reserve(lp_server *server) {
  if (server->reserve_fd < 0) server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_server *server = arg;
  reopen_reserve(server);
  if (!server->daemon->stopping) evconnlistener_enable(server->listener);
}

/* Out of descriptors: the reserved one makes room to accept each waiting client, tell it why
 * (in plain framing; on a TLS port there is no room for a handshake, so it is just closed) and
 * close it again. */
static void refuse_waiting_clients(lp_server *server, evutil_socket_t listen_fd) {
  lp_daemon *daemon = server->daemon;
  size_t size = 0;
  unsigned char *frame =
      server->tls ? NULL
                  : server->handler->error_frame(LEERPLEK__V1__STATUS_CODE__STATUS_CODE_RESOURCE_EXHAUSTED,
                                                 "the daemon is out of file descriptors; retry later", &size);
  close(server->reserve_fd);
  server->reserve_fd = -1;
  unsigned refused = 0;
  for (int fd; (fd = accept(listen_fd, NULL, NULL)) >= 0;) {
    if (frame) {
      ssize_t sent = send(fd, frame, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      (void)sent; /* a fresh socket's buffer takes a few dozen bytes; nothing more to try */
    }
    close(fd);
    refused++;
  }
  free(frame);
  reopen_reserve(server);
  daemon->metrics.connections_refused_no_descriptors += refused;
  if (refused == 0) return; /* the waiting client left, or a descriptor came free meanwhile */
  LP_WARN("out of file descriptors: %u connection%s refused (%zu open; raise LimitNOFILE or lower max_connections)",
          refused, refused == 1 ? "" : "s", server->connection_count);
}

/* Out of file descriptors: accept would fail again at once and spin the loop, so the
 * listener pauses for a moment instead. */
static void on_accept_error(struct evconnlistener *listener, void *arg) {
  lp_server *server = arg;
  int error = EVUTIL_SOCKET_ERROR();
  if ((error == EMFILE || error == ENFILE) && server->reserve_fd >= 0) {
    refuse_waiting_clients(server, evconnlistener_get_fd(listener));
    return;
  }
  LP_WARN("accept: %s; pausing the listener for 200 ms", evutil_socket_error_to_string(error));
  if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
    evconnlistener_disable(listener);
    struct timeval pause = {0, 200 * 1000};
    evtimer_add(server->accept_retry_timer, &pause);
  }
}

lp_server *lp_server_new(lp_daemon *daemon, const lp_frame_handler *handler) {
  lp_server *server = lp_calloc(1, sizeof *server);
  server->daemon = daemon;
  server->handler = handler;
  server->reserve_fd = -1;
  server->accept_retry_timer = evtimer_new(daemon->base, on_accept_retry, server);
  server->flush_event = event_new(daemon->base, -1, 0, on_flush, server);
  if (!server->accept_retry_timer || !server->flush_event) {
    if (server->accept_retry_timer) event_free(server->accept_retry_timer);
    if (server->flush_event) event_free(server->flush_event);
    free(server);
    return NULL;
  }
  return server;
}

int lp_server_listen(lp_server *server, char *error, size_t error_size) {
  const char *address = server->daemon->config.listen;
  if (server->daemon->config.tls_cert_file[0] &&
      !(server->tls = lp_tls_server_context(&server->daemon->config, error, error_size)))
    return -1;
  reopen_reserve(server);
  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  int length = sizeof storage;
  leerplek_address parsed;
  char reason[300];
  if (leerplek_address_parse(address, &parsed, reason, sizeof reason) != 0) {
    snprintf(error, error_size, "listen: %s", reason);
    return -1;
  }
  if (parsed.is_unix) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&storage;
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, parsed.host, strlen(parsed.host) + 1);
    unlink(parsed.host);                                             /* a stale socket file from an earlier run */
    memcpy(server->unix_path, parsed.host, strlen(parsed.host) + 1); /* at most LEERPLEK_UNIX_PATH_MAX */
    length = sizeof *sun;
  } else if (evutil_parse_sockaddr_port(address, (struct sockaddr *)&storage, &length) != 0) {
    /* The listener binds an IP literal: no name is resolved. */
    snprintf(error, error_size, "listen: '%s' is not ip:port, [ipv6]:port or unix:/path", address);
    return -1;
  }
  server->listener = evconnlistener_new_bind(server->daemon->base, on_accept, server,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                             (struct sockaddr *)&storage, length);
  if (!server->listener) {
    snprintf(error, error_size, "listen on %s: %s", address, strerror(errno));
    return -1;
  }
  evconnlistener_set_error_cb(server->listener, on_accept_error);
  return 0;
}

void lp_server_drain(lp_server *server) {
  if (server->listener) evconnlistener_disable(server->listener);
  for (lp_conn *conn = server->connections, *next; conn; conn = next) {
    next = conn->next;
    conn->closing = true;
    if (!conn->events) {
      close_connection(conn); /* still waiting for its first byte */
      continue;
    }
    disable_reading(conn);
    if (!conn->head && evbuffer_get_length(bufferevent_get_output(conn->events)) == 0) close_connection(conn);
  }
}

void lp_server_free(lp_server *server) {
  if (!server) return;
  while (server->connections) close_connection(server->connections);
  if (server->listener) evconnlistener_free(server->listener);
  if (server->unix_path[0]) unlink(server->unix_path);
  event_free(server->accept_retry_timer);
  event_free(server->flush_event);
  if (server->tls) SSL_CTX_free(server->tls);
  if (server->reserve_fd >= 0) close(server->reserve_fd);
  free(server);
}
