/* lp_server: evconnlistener + one bufferevent per connection. A request's path: on_read cuts
 * complete frames from the input buffer -> lp_dispatch_frame (which opens an lp_call in the
 * connection's queue and finishes it now or when the store confirms) -> lp_call_finish ->
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
 * reply. */
#include "lp_server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lp_alloc.h"
#include "lp_dispatch.h"
#include "lp_log.h"

struct lp_conn {
  lp_server *server;
  struct bufferevent *events;
  lp_conn *next, *previous;
  lp_call *head, *tail;      /* reply queue */
  size_t queued;             /* calls in the queue */
  bool greeted;              /* hello succeeded */
  bool reading_paused;
  bool closing;              /* no more requests; close when the output is written */
  bool final_written;        /* a close-after reply went out: write nothing more */
  bool in_input;             /* process_input is running: do not free the connection now */
  bool flush_queued;         /* in server->flush_queue */
  lp_conn *flush_next;
  char peer[72];
  lp_token_memo token_memo;
};

struct lp_server {
  lp_daemon *daemon;
  struct evconnlistener *listener;
  struct event *accept_retry_timer;
  lp_conn *connections;
  size_t connection_count;
  lp_conn *flush_queue;      /* connections with replies to write at the end of the iteration */
  struct event *flush_event;
  char unix_path[108];
};

static void process_input(lp_conn *conn);

bool lp_conn_greeted(const lp_conn *conn) { return conn->greeted; }

lp_token_memo *lp_conn_token_memo(lp_conn *conn) { return &conn->token_memo; }

void lp_conn_stop_reading(lp_conn *conn) {
  conn->closing = true;
  bufferevent_disable(conn->events, EV_READ);
}
void lp_conn_set_greeted(lp_conn *conn) { conn->greeted = true; }
const char *lp_conn_peer(const lp_conn *conn) { return conn->peer; }
size_t lp_server_connection_count(const lp_server *server) { return server->connection_count; }

static void free_call(lp_call *call) {
  free(call->frame);
  free(call->success_frame);
  free(call);
}

static void close_connection(lp_conn *conn) {
  lp_server *server = conn->server;
  for (lp_call *call = conn->head, *next; call; call = next) {
    next = call->next;
    if (call->done) free_call(call);
    else call->conn = NULL; /* the store still owes it an answer; lp_call_finish frees it */
  }
  if (conn->previous) conn->previous->next = conn->next;
  else server->connections = conn->next;
  if (conn->next) conn->next->previous = conn->previous;
  server->connection_count--;
  if (conn->flush_queued)
    for (lp_conn **link = &server->flush_queue; *link; link = &(*link)->flush_next)
      if (*link == conn) {
        *link = conn->flush_next;
        break;
      }
  bufferevent_free(conn->events);
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
  bufferevent_disable(conn->events, EV_READ);
  LP_DEBUG("connection %s: reading paused (%zu queued)", conn->peer, conn->queued);
}

static void maybe_resume_reading(lp_conn *conn) {
  if (!conn->reading_paused || conn->closing || must_pause(conn)) return;
  conn->reading_paused = false;
  bufferevent_enable(conn->events, EV_READ);
  /* Frames may already sit in the input buffer; libevent will not report them again. */
  bufferevent_trigger(conn->events, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Writes the output buffer to the socket now; what the socket does not take is left to
 * libevent (EV_WRITE, with the idle timeout as write timeout), which also reports errors. */
static void flush_output(lp_conn *conn) {
  struct evbuffer *output = bufferevent_get_output(conn->events);
  if (evbuffer_get_length(output) == 0) return;
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
    flush_output(conn);
    /* A closing connection with nothing left to write would otherwise never hear back. */
    if (conn->closing && !conn->head && evbuffer_get_length(bufferevent_get_output(conn->events)) == 0)
      close_connection(conn);
  }
}

static void write_finished_replies(lp_conn *conn) {
  while (conn->head && conn->head->done) {
    lp_call *call = conn->head;
    conn->head = call->next;
    if (!conn->head) conn->tail = NULL;
    conn->queued--;
    if (!conn->final_written) bufferevent_write(conn->events, call->frame, call->frame_size);
    if (call->close_after && !conn->final_written) {
      conn->final_written = true;
      conn->closing = true;
      bufferevent_disable(conn->events, EV_READ);
    }
    free_call(call);
  }
  if (must_pause(conn)) pause_reading(conn);
  else maybe_resume_reading(conn);
}

lp_call *lp_call_open(lp_conn *conn) {
  lp_call *call = lp_calloc(1, sizeof *call);
  call->conn = conn;
  if (conn->tail) conn->tail->next = call;
  else conn->head = call;
  conn->tail = call;
  conn->queued++;
  return call;
}

void lp_call_finish(lp_call *call, unsigned char *frame, size_t frame_size, bool close_after) {
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

static void on_read(struct bufferevent *events, void *arg) {
  (void)events;
  lp_conn *conn = arg;
  conn->in_input = true;
  process_input(conn);
  conn->in_input = false;
  if (evbuffer_get_length(bufferevent_get_output(conn->events)) > 0) queue_flush(conn);
  if (conn->closing && !conn->head && evbuffer_get_length(bufferevent_get_output(conn->events)) == 0)
    close_connection(conn);
}

static void process_input(lp_conn *conn) {
  const lp_config *config = &conn->server->daemon->config;
  struct evbuffer *input = bufferevent_get_input(conn->events);
  while (!conn->closing) {
    if (must_pause(conn)) {
      pause_reading(conn);
      return;
    }
    size_t available = evbuffer_get_length(input);
    if (available < 4) return;
    unsigned char header[4];
    evbuffer_copyout(input, header, 4);
    uint32_t size = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) |
                    ((uint32_t)header[2] << 8) | header[3];
    if (size > config->max_frame_bytes) {
      LP_INFO("connection %s: frame of %u bytes over the limit of %u; closing", conn->peer, size,
              config->max_frame_bytes);
      lp_conn_stop_reading(conn);
      lp_dispatch_oversized(conn->server->daemon, conn, size);
      return;
    }
    if (available - 4 < size) return; /* wait for the rest of the frame */
    evbuffer_drain(input, 4);
    static const unsigned char empty[1] = {0};
    /* Never NULL: the frame is all there, and libevent allocates through lp_alloc. */
    const unsigned char *body = size ? evbuffer_pullup(input, size) : empty;
    /* Dispatch never frees the connection synchronously: closing happens in callbacks. */
    lp_dispatch_frame(conn->server->daemon, conn, body, size);
    evbuffer_drain(input, size);
  }
}

static void on_write(struct bufferevent *events, void *arg) {
  lp_conn *conn = arg;
  /* Drained: further replies are written directly again (see flush_output). */
  if (evbuffer_get_length(bufferevent_get_output(events)) == 0) bufferevent_disable(events, EV_WRITE);
  if (conn->closing) {
    if (!conn->head && evbuffer_get_length(bufferevent_get_output(events)) == 0) close_connection(conn);
    return;
  }
  maybe_resume_reading(conn);
}

static void on_event(struct bufferevent *events, short what, void *arg) {
  (void)events;
  lp_conn *conn = arg;
  if (what & BEV_EVENT_TIMEOUT) {
    LP_INFO("connection %s: %s for %u s; closing", conn->peer,
            (what & BEV_EVENT_WRITING) ? "replies not read" : "idle", conn->server->daemon->config.idle_timeout_s);
  } else if (what & BEV_EVENT_ERROR) {
    LP_DEBUG("connection %s: %s", conn->peer, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) close_connection(conn);
}

static void describe_peer(const struct sockaddr *address, char *out, size_t out_size) {
  if (address->sa_family == AF_INET || address->sa_family == AF_INET6) {
    char host[48];
    const void *raw = address->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)address)->sin_addr
                                                    : (const void *)&((const struct sockaddr_in6 *)address)->sin6_addr;
    int port = ntohs(address->sa_family == AF_INET ? ((const struct sockaddr_in *)address)->sin_port
                                                   : ((const struct sockaddr_in6 *)address)->sin6_port);
    evutil_inet_ntop(address->sa_family, raw, host, sizeof host);
    snprintf(out, out_size, "%s:%d", host, port);
  } else {
    snprintf(out, out_size, "unix");
  }
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *address,
                      int address_size, void *arg) {
  (void)listener;
  (void)address_size;
  lp_server *server = arg;
  lp_daemon *daemon = server->daemon;
  lp_conn *conn = lp_calloc(1, sizeof *conn);
  struct bufferevent *events = bufferevent_socket_new(daemon->base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!events) {
    LP_ERROR("cannot set up a connection (libevent refused socket %d)", (int)fd);
    free(conn);
    evutil_closesocket(fd);
    return;
  }
  conn->server = server;
  conn->events = events;
  describe_peer(address, conn->peer, sizeof conn->peer);
  if (address->sa_family != AF_UNIX) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  conn->next = server->connections;
  if (server->connections) server->connections->previous = conn;
  server->connections = conn;
  server->connection_count++;
  bufferevent_setcb(events, on_read, on_write, on_event, conn);
  bufferevent_disable(events, EV_WRITE); /* enabled by default; see flush_output */
  bufferevent_setwatermark(events, EV_WRITE, daemon->config.output_high_water_bytes / 2, 0);
  if (daemon->config.idle_timeout_s > 0) {
    struct timeval idle = {daemon->config.idle_timeout_s, 0};
    bufferevent_set_timeouts(events, &idle, &idle);
  }
  daemon->metrics.connections_accepted++;
  if (server->connection_count > daemon->config.max_connections) {
    daemon->metrics.connections_refused++;
    LP_WARN("connection %s refused: %zu connections open (max_connections %u)", conn->peer,
            server->connection_count - 1, daemon->config.max_connections);
    lp_dispatch_refuse(daemon, conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_RESOURCE_EXHAUSTED,
                       "the daemon has reached its connection limit; retry later");
    return;
  }
  if (daemon->stopping) {
    lp_dispatch_refuse(daemon, conn, LEERPLEK__V1__STATUS_CODE__STATUS_CODE_UNAVAILABLE,
                       "the daemon is shutting down");
    return;
  }
  bufferevent_enable(events, EV_READ);
  LP_DEBUG("connection %s accepted", conn->peer);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  lp_server *server = arg;
  if (!server->daemon->stopping) evconnlistener_enable(server->listener);
}

/* Out of file descriptors: accept would fail again at once and spin the loop, so the
 * listener pauses for a moment instead. */
static void on_accept_error(struct evconnlistener *listener, void *arg) {
  lp_server *server = arg;
  int error = EVUTIL_SOCKET_ERROR();
  LP_WARN("accept: %s; pausing the listener for 200 ms", evutil_socket_error_to_string(error));
  if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
    evconnlistener_disable(listener);
    struct timeval pause = {0, 200 * 1000};
    evtimer_add(server->accept_retry_timer, &pause);
  }
}

lp_server *lp_server_new(lp_daemon *daemon) {
  lp_server *server = lp_calloc(1, sizeof *server);
  server->daemon = daemon;
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
  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  int length = sizeof storage;
  if (strncmp(address, "unix:", 5) == 0) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&storage;
    const char *path = address + 5;
    if (path[0] == '\0' || strlen(path) >= sizeof sun->sun_path) {
      snprintf(error, error_size, "listen: unix socket path empty or longer than %zu bytes", sizeof sun->sun_path - 1);
      return -1;
    }
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, strlen(path) + 1);
    unlink(path); /* a stale socket file from an earlier run */
    snprintf(server->unix_path, sizeof server->unix_path, "%s", path);
    length = sizeof *sun;
  } else if (evutil_parse_sockaddr_port(address, (struct sockaddr *)&storage, &length) != 0) {
    snprintf(error, error_size, "listen: '%s' is not ip:port, [ipv6]:port or unix:/path", address);
    return -1;
  }
  server->listener = evconnlistener_new_bind(server->daemon->base, on_accept, server,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                             -1, (struct sockaddr *)&storage, length);
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
    bufferevent_disable(conn->events, EV_READ);
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
  free(server);
}
