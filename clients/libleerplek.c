/* libleerplek: blocking client for leerplekd: connect, Hello, framed send/receive, pipelining. */
#include "libleerplek.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1u
#define CLIENT_NAME "libleerplek/0.1.0"
#define MAX_TOKEN_BYTES 128u

struct leerplek_client {
  int fd;
  char token[MAX_TOKEN_BYTES + 1];
  uint64_t next_request_id;
  unsigned char *out;      /* queued frames not yet written */
  size_t out_len;
  size_t out_cap;
  char error[256];
};

static void set_error(leerplek_client *client, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(client->error, sizeof client->error, format, args);
  va_end(args);
}

const char *leerplek_status_name(int code) {
  static const char *const names[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code < 0 || code >= (int)(sizeof names / sizeof names[0])) return "UNKNOWN_CODE";
  return names[code];
}

const char *leerplek_error(const leerplek_client *client) { return client ? client->error : ""; }

int leerplek_fd(const leerplek_client *client) { return client ? client->fd : -1; }

/* Opens a stream socket to "unix:/path", "[v6]:port" or "host:port". */
static int open_socket(const char *address, char *error, size_t error_size) {
  if (strncmp(address, "unix:", 5) == 0) {
    const char *path = address + 5;
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
      snprintf(error, error_size, "unix socket path '%s' is empty or longer than %zu bytes", path,
               sizeof sun.sun_path - 1);
      return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      snprintf(error, error_size, "socket: %s", strerror(errno));
      return -1;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
      snprintf(error, error_size, "connect to %s: %s", address, strerror(errno));
      close(fd);
      return -1;
    }
    return fd;
  }

  char host[256];
  const char *port;
  if (address[0] == '[') {
    const char *end = strchr(address, ']');
    if (!end || end[1] != ':' || (size_t)(end - address - 1) >= sizeof host) {
      snprintf(error, error_size, "address '%s': expected [ipv6]:port", address);
      return -1;
    }
    memcpy(host, address + 1, (size_t)(end - address - 1));
    host[end - address - 1] = '\0';
    port = end + 2;
  } else {
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof host || colon == address) {
      snprintf(error, error_size, "address '%s': expected host:port or unix:/path", address);
      return -1;
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    port = colon + 1;
  }
  if (port[0] == '\0') {
    snprintf(error, error_size, "address '%s': missing port", address);
    return -1;
  }

  struct addrinfo hints, *found = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &found);
  if (rc != 0) {
    snprintf(error, error_size, "resolve '%s': %s", address, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (struct addrinfo *ai = found; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) {
    snprintf(error, error_size, "connect to %s: %s", address, strerror(last_errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

int leerplek_connect(const char *address, const char *token, leerplek_client **out, char *error,
                     size_t error_size) {
  char scratch[1];
  if (!error || error_size == 0) {
    error = scratch;
    error_size = sizeof scratch;
  }
  error[0] = '\0';
  *out = NULL;
  if (!address) {
    snprintf(error, error_size, "no address given");
    return -1;
  }
  if (token && strlen(token) > MAX_TOKEN_BYTES) {
    snprintf(error, error_size, "token longer than %u bytes", MAX_TOKEN_BYTES);
    return -1;
  }
  int fd = open_socket(address, error, error_size);
  if (fd < 0) return -1;

  leerplek_client *client = calloc(1, sizeof *client);
  if (!client) {
    close(fd);
    snprintf(error, error_size, "out of memory");
    return -1;
  }
  client->fd = fd;
  client->next_request_id = 1;
  if (token) memcpy(client->token, token, strlen(token) + 1);

  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = PROTOCOL_VERSION;
  hello.client_name = (char *)CLIENT_NAME;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  Leerplek__V1__Response *response = NULL;
  if (leerplek_call(client, &request, &response) != 0) {
    snprintf(error, error_size, "hello: %s", client->error);
    leerplek_close(client);
    return -1;
  }
  int code = response->status ? (int)response->status->code : LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
  if (code != 0) {
    snprintf(error, error_size, "hello refused: %s: %s", leerplek_status_name(code),
             response->status ? response->status->message : "response without status");
    leerplek_response_free(response);
    leerplek_close(client);
    return -1;
  }
  leerplek_response_free(response);
  *out = client;
  return 0;
}

static int reserve_output(leerplek_client *client, size_t more) {
  if (client->out_len + more <= client->out_cap) return 0;
  size_t cap = client->out_cap ? client->out_cap : 4096;
  while (cap < client->out_len + more) cap *= 2;
  unsigned char *grown = realloc(client->out, cap);
  if (!grown) {
    set_error(client, "out of memory queueing a request");
    return -1;
  }
  client->out = grown;
  client->out_cap = cap;
  return 0;
}

int leerplek_send(leerplek_client *client, Leerplek__V1__Request *request) {
  client->error[0] = '\0';
  if (client->fd < 0) {
    set_error(client, "connection is closed");
    return -1;
  }
  if (request->request_id == 0) request->request_id = client->next_request_id++;
  char *own_token = request->token;
  if (!own_token || own_token[0] == '\0') request->token = client->token;
  size_t size = protobuf_c_message_get_packed_size(&request->base);
  int rc = -1;
  if (size > LEERPLEK_CLIENT_MAX_FRAME) {
    set_error(client, "request of %zu bytes exceeds the frame limit of %u", size,
              LEERPLEK_CLIENT_MAX_FRAME);
  } else if (reserve_output(client, size + 4) == 0) {
    unsigned char *frame = client->out + client->out_len;
    frame[0] = (unsigned char)(size >> 24);
    frame[1] = (unsigned char)(size >> 16);
    frame[2] = (unsigned char)(size >> 8);
    frame[3] = (unsigned char)size;
    protobuf_c_message_pack(&request->base, frame + 4);
    client->out_len += size + 4;
    rc = 0;
  }
  request->token = own_token;
  return rc;
}

int leerplek_flush(leerplek_client *client) {
  size_t written = 0;
  while (written < client->out_len) {
    ssize_t n = send(client->fd, client->out + written, client->out_len - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      set_error(client, "write: %s", n < 0 ? strerror(errno) : "connection closed");
      client->out_len = 0;
      return -1;
    }
    written += (size_t)n;
  }
  client->out_len = 0;
  return 0;
}

/* Reads exactly size bytes; -1 on error or end of stream (reported). */
static int read_exactly(leerplek_client *client, unsigned char *buffer, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(client->fd, buffer + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      set_error(client, "read: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      set_error(client, "connection closed by the daemon%s", got ? " in the middle of a frame" : "");
      return -1;
    }
    got += (size_t)n;
  }
  return 0;
}

int leerplek_receive(leerplek_client *client, Leerplek__V1__Response **response) {
  *response = NULL;
  client->error[0] = '\0';
  if (client->fd < 0) {
    set_error(client, "connection is closed");
    return -1;
  }
  if (client->out_len && leerplek_flush(client) != 0) return -1;
  unsigned char header[4];
  if (read_exactly(client, header, sizeof header) != 0) return -1;
  uint32_t size = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) |
                  ((uint32_t)header[2] << 8) | header[3];
  if (size > LEERPLEK_CLIENT_MAX_FRAME) {
    set_error(client, "response frame of %u bytes exceeds the client limit of %u", size,
              LEERPLEK_CLIENT_MAX_FRAME);
    return -1;
  }
  unsigned char *body = malloc(size ? size : 1);
  if (!body) {
    set_error(client, "out of memory for a %u-byte response", size);
    return -1;
  }
  if (read_exactly(client, body, size) != 0) {
    free(body);
    return -1;
  }
  Leerplek__V1__Response *parsed = leerplek__v1__response__unpack(NULL, size, body);
  free(body);
  if (!parsed) {
    set_error(client, "response frame of %u bytes does not parse as a Response", size);
    return -1;
  }
  *response = parsed;
  return 0;
}

int leerplek_call(leerplek_client *client, Leerplek__V1__Request *request,
                  Leerplek__V1__Response **response) {
  *response = NULL;
  if (leerplek_send(client, request) != 0) return -1;
  if (leerplek_flush(client) != 0) {
    /* The daemon may have answered and closed before reading our request (it refuses a
     * connection over its limit that way): its reply says why far better than "broken pipe". */
    char write_error[sizeof client->error];
    memcpy(write_error, client->error, sizeof write_error);
    if (leerplek_receive(client, response) == 0) return 0;
    memcpy(client->error, write_error, sizeof write_error);
    return -1;
  }
  return leerplek_receive(client, response);
}

void leerplek_response_free(Leerplek__V1__Response *response) {
  if (response) leerplek__v1__response__free_unpacked(response, NULL);
}

void leerplek_close(leerplek_client *client) {
  if (!client) return;
  if (client->fd >= 0) close(client->fd);
  free(client->out);
  free(client);
}
