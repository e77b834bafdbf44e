/* libleerplek: a small blocking C client for leerplekd's framed protobuf API (see
 * proto/leerplek.proto, TRANSPORT), plain or over TLS (OpenSSL). One client = one connection; not thread-safe (use one
 * client per thread). Frames are a 4-byte big-endian length followed by one message.
 * Installed by `cmake --install` with the generated leerplek.pb-c.h beside it; another program
 * builds with `cc app.c $(pkg-config --cflags --libs leerplek)` (tests/install does). */
#ifndef LIBLEERPLEK_H
#define LIBLEERPLEK_H

#include <stddef.h>

#include "leerplek.pb-c.h"

typedef struct leerplek_client leerplek_client;

/* The largest response frame the client accepts, bytes. Larger frames are a transport error
 * (the daemon's own request limit is reported in HelloResponse.limits). */
#define LEERPLEK_CLIENT_MAX_FRAME (64u * 1024u * 1024u)

/* address: "host:port" (IPv4 literal, "[IPv6]:port" or a name) or "unix:/path/to/socket".
 * Connects and performs Hello (protocol version 1); token may be NULL or "" (then calls that
 * need a token fail with STATUS_CODE_UNAUTHENTICATED). Returns 0 and sets *out, or -1 with a
 * NUL-terminated reason in error (when error_size > 0). */
int leerplek_connect(const char *address, const char *token, leerplek_client **out, char *error, size_t error_size);

/* TLS for leerplek_connect_tls (a daemon with tls_cert_file). TLS 1.2 or newer; the daemon's
 * certificate must chain to ca_file and name the host of the address (its DNS name or IP
 * address; for a unix socket only the chain is checked unless server_name is given). */
typedef struct leerplek_tls {
  const char *ca_file;     /* PEM CA certificates to trust; NULL = the system's store */
  const char *cert_file;   /* client certificate (PEM) for a daemon with tls_client_ca_file; NULL = none */
  const char *key_file;    /* its private key (PEM); NULL = in cert_file */
  const char *server_name; /* the name the certificate must carry; NULL = the address' host */
} leerplek_tls;

/* leerplek_connect over TLS when tls is not NULL (plain when it is). A certificate that does
 * not verify is refused with the reason (e.g. "certificate verify failed: self-signed
 * certificate"). */
int leerplek_connect_tls(const char *address, const char *token, const leerplek_tls *tls, leerplek_client **out,
                         char *error, size_t error_size);

/* Fills request->request_id (the next id) when it is 0 and uses the client's token when
 * request->token is NULL or empty (the request's own token field is left as it was), sends
 * it, waits for its response. 0 on success (*response set: check response->status; free it
 * with leerplek_response_free), -1 on transport errors (leerplek_error() says why; the
 * connection is then unusable). */
int leerplek_call(leerplek_client *client, Leerplek__V1__Request *request, Leerplek__V1__Response **response);

/* Pipelining: leerplek_send queues one request (filled in as by leerplek_call) in the
 * client's output buffer, leerplek_flush writes everything queued, leerplek_receive reads the
 * next response; responses come in the order the requests were sent. leerplek_receive
 * flushes first. All return 0 or -1 (transport error). */
int leerplek_send(leerplek_client *client, Leerplek__V1__Request *request);
int leerplek_flush(leerplek_client *client);
int leerplek_receive(leerplek_client *client, Leerplek__V1__Response **response);

/* Frees a response from leerplek_call/leerplek_receive (NULL is fine). */
void leerplek_response_free(Leerplek__V1__Response *response);

/* Why the last call failed ("" if it did not). */
const char *leerplek_error(const leerplek_client *client);

/* The canonical name of a status code: 0 -> "OK", 3 -> "INVALID_ARGUMENT", ...;
 * "UNKNOWN_CODE" for values outside 0..16. */
const char *leerplek_status_name(int code);

/* The connection's socket, e.g. for poll() or to set timeouts (over TLS, bytes may already be
 * decrypted and waiting in the client while poll() sees nothing). */
int leerplek_fd(const leerplek_client *client);

/* Closes the connection and frees the client (NULL is fine). */
void leerplek_close(leerplek_client *client);

#endif
