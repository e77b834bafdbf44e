/* leerplek_wire: what every end of the leerplek wire must agree on besides the protobuf
 * messages: the 4-byte big-endian length before each frame, and the one address syntax
 * ("host:port", "[ipv6]:port", "unix:/path") of the daemon's listeners, its Redis and Sentinels,
 * libleerplek and leerplek-bench. Plain C11 and POSIX, so clients need no libevent or hiredis. */
#ifndef LEERPLEK_WIRE_H
#define LEERPLEK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every frame is this many bytes of length (big endian), then that many bytes of message. */
#define LEERPLEK_FRAME_HEADER_SIZE 4

static inline void leerplek_frame_put_length(unsigned char header[LEERPLEK_FRAME_HEADER_SIZE], uint32_t length) {
  header[0] = (unsigned char)(length >> 24);
  header[1] = (unsigned char)(length >> 16);
  header[2] = (unsigned char)(length >> 8);
  header[3] = (unsigned char)length;
}

static inline uint32_t leerplek_frame_get_length(const unsigned char header[LEERPLEK_FRAME_HEADER_SIZE]) {
  return ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3];
}

/* A unix socket path longer than this does not fit a sockaddr_un. */
#define LEERPLEK_UNIX_PATH_MAX 107

/* One parsed address. */
typedef struct leerplek_address {
  bool is_unix;
  char host[256];  /* the socket path for "unix:", else the host without brackets */
  char port[8];    /* the port's digits; "" for unix */
  int port_number; /* 1..65535; 0 for unix */
  bool host_is_ip; /* host is an IPv4 or IPv6 literal (no name to resolve) */
} leerplek_address;

/* Parses "host:port", "[ipv6]:port" or "unix:/path". 0, or -1 with the reason in error, naming
 * the text (callers put what the address is for in front). */
int leerplek_address_parse(const char *text, leerplek_address *address, char *error, size_t error_size);

#endif
