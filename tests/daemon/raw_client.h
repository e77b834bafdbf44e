/* raw_client: a client without libleerplek, for tests that send what a well-behaved client
 * never would (garbage, trickles, no reads): plain sockets, frames by hand, bounded reads. */
#ifndef LEERPLEK_TEST_RAW_CLIENT_H
#define LEERPLEK_TEST_RAW_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

/* A socket connected to "unix:/path" or "ip:port" (IPv4), from source_ip when not NULL. */
static inline int raw_connect_from(const char *address, const char *source_ip) {
  if (strncmp(address, "unix:", 5) == 0) {
    struct sockaddr_un unix_address;
    memset(&unix_address, 0, sizeof unix_address);
    unix_address.sun_family = AF_UNIX;
    const char *path = address + 5;
    cr_assert_lt(strlen(path), sizeof unix_address.sun_path);
    memcpy(unix_address.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(connect(fd, (struct sockaddr *)&unix_address, sizeof unix_address), 0);
    return fd;
  }
  char host[64];
  const char *colon = strrchr(address, ':');
  cr_assert(colon && (size_t)(colon - address) < sizeof host, "bad address %s", address);
  memcpy(host, address, (size_t)(colon - address));
  host[colon - address] = '\0';
  struct sockaddr_in ip_address;
  memset(&ip_address, 0, sizeof ip_address);
  ip_address.sin_family = AF_INET;
  ip_address.sin_port = htons((uint16_t)atoi(colon + 1));
  cr_assert_eq(inet_pton(AF_INET, host, &ip_address.sin_addr), 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  if (source_ip) {
    struct sockaddr_in source;
    memset(&source, 0, sizeof source);
    source.sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, source_ip, &source.sin_addr), 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&source, sizeof source), 0);
  }
  cr_assert_eq(connect(fd, (struct sockaddr *)&ip_address, sizeof ip_address), 0, "connect to %s", address);
  return fd;
}

static inline int raw_connect_to(const char *address) { return raw_connect_from(address, NULL); }

static inline void raw_write(int fd, const void *bytes, size_t size) {
  cr_assert_eq(send(fd, bytes, size, MSG_NOSIGNAL), (ssize_t)size);
}

static inline void raw_frame(int fd, const void *bytes, uint32_t size) {
  unsigned char header[4] = {(unsigned char)(size >> 24), (unsigned char)(size >> 16), (unsigned char)(size >> 8),
                             (unsigned char)size};
  raw_write(fd, header, 4);
  if (size) raw_write(fd, bytes, size);
}

static inline void raw_request(int fd, const Leerplek__V1__Request *request) {
  unsigned char buffer[8192];
  size_t size = leerplek__v1__request__pack(request, buffer);
  raw_frame(fd, buffer, (uint32_t)size);
}

/* Reads up to size bytes within timeout_ms; returns bytes read (0 = closed, -1 = timeout). */
static inline ssize_t raw_read_exact(int fd, unsigned char *buffer, size_t size, int timeout_ms) {
  size_t got = 0;
  while (got < size) {
    struct pollfd poller = {fd, POLLIN, 0};
    if (poll(&poller, 1, timeout_ms) <= 0) return -1;
    ssize_t n = read(fd, buffer + got, size - got);
    if (n <= 0) return (ssize_t)got;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* Reads one Response frame (NULL if the connection closed or nothing came in time). */
static inline Leerplek__V1__Response *raw_response(int fd) {
  unsigned char header[4];
  if (raw_read_exact(fd, header, 4, 3000) != 4) return NULL;
  uint32_t size = ((uint32_t)header[0] << 24) | ((uint32_t)header[1] << 16) | ((uint32_t)header[2] << 8) | header[3];
  cr_assert_leq(size, 1u << 20);
  unsigned char *body = malloc(size + 1);
  cr_assert_eq(raw_read_exact(fd, body, size, 3000), (ssize_t)size);
  Leerplek__V1__Response *response = leerplek__v1__response__unpack(NULL, size, body);
  free(body);
  cr_assert_not_null(response, "the daemon sent a frame that is not a Response");
  return response;
}

/* True when the daemon closes the connection within 3 s. */
static inline bool raw_closed(int fd) {
  unsigned char byte;
  return raw_read_exact(fd, &byte, 1, 3000) == 0;
}

static inline void raw_hello(int fd, uint32_t version) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = version;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = 1;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  raw_request(fd, &request);
}

#endif
