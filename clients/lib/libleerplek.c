/* libleerplek: blocking client for leerplekd: connect (plain or TLS), Hello, framed
 * send/receive, pipelining. */
#include "libleerplek.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "leerplek_wire.h"

#define PROTOCOL_VERSION 1u
#define CLIENT_NAME "libleerplek/0.1.0"
#define MAX_TOKEN_BYTES 128u

struct leerplek_client {
  int fd;
  SSL_CTX *tls_context; /* NULL: plain */
  SSL *tls;
  char token[MAX_TOKEN_BYTES + 1];
  uint64_t next_request_id;
  unsigned char *out; /* queued frames not yet written */
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
      "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  if (code < 0 || code >= (int)(sizeof names / sizeof names[0])) return "UNKNOWN_CODE";
  return names[code];
}

const char *leerplek_error(const leerplek_client *client) { return client ? client->error : ""; }

int leerplek_fd(const leerplek_client *client) { return client ? client->fd : -1; }

/* Opens a stream socket to "unix:/path", "[v6]:port" or "host:port". */
static int open_socket(const char *address, char *host_out, size_t host_out_size, char *error, size_t error_size) {
  host_out[0] = '\0';
  leerplek_address parsed;
  char reason[300];
  if (leerplek_address_parse(address, &parsed, reason, sizeof reason) != 0) {
    snprintf(error, error_size, "address %s", reason);
    return -1;
  }
  if (parsed.is_unix) {
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, parsed.host, strlen(parsed.host) + 1);
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

  snprintf(host_out, host_out_size, "%s", parsed.host);

  struct addrinfo hints, *found = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(parsed.host, parsed.port, &hints, &found);
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

/* The OpenSSL error queue, or the verification result, as one reason. */
static void tls_reason(const SSL *tls, char *out, size_t out_size) {
  long verify = tls ? SSL_get_verify_result(tls) : X509_V_OK;
  unsigned long code = ERR_peek_last_error();
  char text[256] = "";
  if (code) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  if (verify != X509_V_OK)
    snprintf(out, out_size, "certificate verify failed: %s", X509_verify_cert_error_string(verify));
  else if (text[0])
    snprintf(out, out_size, "%s", text);
  else
    snprintf(out, out_size, "%s", errno ? strerror(errno) : "the daemon closed the connection (is it a TLS port?)");
}

/* TLS 1.2+ over fd, verifying the daemon's certificate against tls->ca_file and host. */
static int start_tls(leerplek_client *client, const leerplek_tls *tls, const char *host, char *error,
                     size_t error_size) {
  ERR_clear_error();
  client->tls_context = SSL_CTX_new(TLS_client_method());
  if (!client->tls_context) {
    snprintf(error, error_size, "TLS: cannot create a context");
    return -1;
  }
  SSL_CTX *context = client->tls_context;
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
  int loaded = tls->ca_file ? SSL_CTX_load_verify_locations(context, tls->ca_file, NULL)
                            : SSL_CTX_set_default_verify_paths(context);
  char reason[300];
  if (loaded != 1) {
    tls_reason(NULL, reason, sizeof reason);
    snprintf(error, error_size, "TLS CA file %s: %s", tls->ca_file ? tls->ca_file : "(system)", reason);
    return -1;
  }
  if (tls->cert_file) {
    const char *key = tls->key_file ? tls->key_file : tls->cert_file;
    if (SSL_CTX_use_certificate_chain_file(context, tls->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(context) != 1) {
      tls_reason(NULL, reason, sizeof reason);
      snprintf(error, error_size, "TLS client certificate %s / key %s: %s", tls->cert_file, key, reason);
      return -1;
    }
  }
  client->tls = SSL_new(context);
  if (!client->tls || SSL_set_fd(client->tls, client->fd) != 1) {
    snprintf(error, error_size, "TLS: cannot create a session");
    return -1;
  }
  const char *name = tls->server_name ? tls->server_name : host;
  if (name && name[0]) {
    unsigned char ip[sizeof(struct in6_addr)];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    X509_VERIFY_PARAM *param = SSL_get0_param(client->tls);
    /* An IP address must be among the certificate's IP SANs; a name among its DNS names. */
    int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) : SSL_set1_host(client->tls, name);
    if (!is_ip) SSL_set_tlsext_host_name(client->tls, name);
    if (named != 1) {
      snprintf(error, error_size, "TLS: cannot check the certificate for '%s'", name);
      return -1;
    }
  }
  errno = 0;
  if (SSL_connect(client->tls) != 1) {
    tls_reason(client->tls, reason, sizeof reason);
    snprintf(error, error_size, "TLS handshake with %s: %s", name && name[0] ? name : "the daemon", reason);
    return -1;
  }
  return 0;
}

int leerplek_connect(const char *address, const char *token, leerplek_client **out, char *error, size_t error_size) {
  return leerplek_connect_tls(address, token, NULL, out, error, error_size);
}

int leerplek_connect_tls(const char *address, const char *token, const leerplek_tls *tls, leerplek_client **out,
                         char *error, size_t error_size) {
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
  char host[256];
  int fd = open_socket(address, host, sizeof host, error, error_size);
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
  if (tls && start_tls(client, tls, host, error, error_size) != 0) {
    leerplek_close(client);
    return -1;
  }

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
    set_error(client, "request of %zu bytes exceeds the frame limit of %u", size, LEERPLEK_CLIENT_MAX_FRAME);
  } else if (reserve_output(client, size + LEERPLEK_FRAME_HEADER_SIZE) == 0) {
    unsigned char *frame = client->out + client->out_len;
    leerplek_frame_put_length(frame, (uint32_t)size);
    protobuf_c_message_pack(&request->base, frame + LEERPLEK_FRAME_HEADER_SIZE);
    client->out_len += size + LEERPLEK_FRAME_HEADER_SIZE;
    rc = 0;
  }
  request->token = own_token;
  return rc;
}

/* SSL_write writes with write(2), which raises SIGPIPE on a closed connection (send has
 * MSG_NOSIGNAL, write has nothing like it): the signal is blocked around it and a SIGPIPE it
 * caused is taken off the queue, so the caller's handlers never see it. */
static ssize_t tls_write(leerplek_client *client, const void *bytes, size_t size) {
  sigset_t pipe_only, previous, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  int n, why = SSL_ERROR_NONE;
  do {
    errno = 0;
    n = SSL_write(client->tls, bytes, size > INT32_MAX ? INT32_MAX : (int)size);
    if (n <= 0) why = SSL_get_error(client->tls, n);
  } while (n <= 0 &&
           (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE || (why == SSL_ERROR_SYSCALL && errno == EINTR)));
  if (n <= 0 && !was_pending) {
    struct timespec none = {0, 0};
    while (sigtimedwait(&pipe_only, NULL, &none) < 0 && errno == EINTR) {}
  }
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (n <= 0) {
    char reason[300];
    tls_reason(NULL, reason, sizeof reason);
    set_error(client, "write: %s (TLS error %d)", reason, why);
    return -1;
  }
  return n;
}

int leerplek_flush(leerplek_client *client) {
  size_t written = 0;
  while (written < client->out_len) {
    if (client->tls) {
      ssize_t n = tls_write(client, client->out + written, client->out_len - written);
      if (n < 0) {
        client->out_len = 0;
        return -1;
      }
      written += (size_t)n;
      continue;
    }
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
    if (client->tls) {
      size_t remaining = size - got;
      errno = 0;
      int n = SSL_read(client->tls, buffer + got, remaining > INT32_MAX ? INT32_MAX : (int)remaining);
      if (n > 0) {
        got += (size_t)n;
        continue;
      }
      int why = SSL_get_error(client->tls, n);
      if (why == SSL_ERROR_ZERO_RETURN || (why == SSL_ERROR_SYSCALL && errno == 0)) {
        ERR_clear_error();
        set_error(client, "connection closed by the daemon%s", got ? " in the middle of a frame" : "");
      } else {
        char reason[300];
        tls_reason(NULL, reason, sizeof reason);
        set_error(client, "read: %s", reason);
      }
      return -1;
    }
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
  unsigned char header[LEERPLEK_FRAME_HEADER_SIZE];
  if (read_exactly(client, header, sizeof header) != 0) return -1;
  uint32_t size = leerplek_frame_get_length(header);
  if (size > LEERPLEK_CLIENT_MAX_FRAME) {
    set_error(client, "response frame of %u bytes exceeds the client limit of %u", size, LEERPLEK_CLIENT_MAX_FRAME);
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

int leerplek_call(leerplek_client *client, Leerplek__V1__Request *request, Leerplek__V1__Response **response) {
  *response = NULL;
  if (leerplek_send(client, request) != 0) return -1;
  if (leerplek_flush(client) != 0) {
    /* The daemon may have answered and closed before reading our request (it refuses a
     * connection over its limit that way): its reply says why far better than "broken pipe". */
    char write_error[sizeof client->error];
    memcpy(write_error, client->error, sizeof write_error);
    if (leerplek_receive(client, response) == 0) return 0;
    /* Over TLS the daemon's alert (e.g. "certificate required") is read, not written. */
    bool alert = client->tls && !strstr(client->error, "connection closed");
    if (!alert) memcpy(client->error, write_error, sizeof write_error);
    return -1;
  }
  return leerplek_receive(client, response);
}

void leerplek_response_free(Leerplek__V1__Response *response) {
  if (response) leerplek__v1__response__free_unpacked(response, NULL);
}

void leerplek_close(leerplek_client *client) {
  if (!client) return;
  if (client->tls) SSL_free(client->tls); /* no close_notify: the daemon takes a plain hang-up */
  if (client->tls_context) SSL_CTX_free(client->tls_context);
  if (client->fd >= 0) close(client->fd);
  free(client->out);
  free(client);
}
