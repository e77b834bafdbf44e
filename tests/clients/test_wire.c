/* Tests of proto/leerplek_wire: the frame length every end encodes alike, and the one address
 * parser of the daemon, libleerplek and leerplek-bench. */
#include <criterion/criterion.h>
#include <string.h>

#include "leerplek_wire.h"

Test(frame_length, is_four_bytes_big_endian) {
  unsigned char header[LEERPLEK_FRAME_HEADER_SIZE];
  leerplek_frame_put_length(header, 0x01020304u);
  cr_assert_eq(header[0], 0x01);
  cr_assert_eq(header[1], 0x02);
  cr_assert_eq(header[2], 0x03);
  cr_assert_eq(header[3], 0x04);
  cr_assert_eq(leerplek_frame_get_length(header), 0x01020304u);
}

Test(frame_length, round_trips_the_extremes) {
  static const uint32_t lengths[] = {0, 1, 255, 256, 65535, 65536, 1u << 20, 0x7FFFFFFFu, 0xFFFFFFFFu};
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
    unsigned char header[LEERPLEK_FRAME_HEADER_SIZE];
    leerplek_frame_put_length(header, lengths[i]);
    cr_assert_eq(leerplek_frame_get_length(header), lengths[i], "length %u", lengths[i]);
  }
  const unsigned char high[4] = {0xFF, 0x00, 0x00, 0x01};
  cr_assert_eq(leerplek_frame_get_length(high), 0xFF000001u, "the top byte is not sign-extended");
}

static leerplek_address parsed(const char *text) {
  leerplek_address address;
  char error[256] = "";
  cr_assert_eq(leerplek_address_parse(text, &address, error, sizeof error), 0, "%s: %s", text, error);
  return address;
}

static void refused(const char *text, const char *reason) {
  leerplek_address address;
  char error[256] = "";
  cr_assert_neq(leerplek_address_parse(text, &address, error, sizeof error), 0, "'%s' was accepted", text);
  cr_expect(strstr(error, reason) != NULL, "'%s': '%s' does not say '%s'", text, error, reason);
}

Test(address, ipv4_and_port) {
  leerplek_address a = parsed("127.0.0.1:7411");
  cr_assert(!a.is_unix);
  cr_assert_str_eq(a.host, "127.0.0.1");
  cr_assert_str_eq(a.port, "7411");
  cr_assert_eq(a.port_number, 7411);
  cr_assert(a.host_is_ip);
}

Test(address, bracketed_ipv6) {
  leerplek_address a = parsed("[::1]:6379");
  cr_assert_str_eq(a.host, "::1");
  cr_assert_eq(a.port_number, 6379);
  cr_assert(a.host_is_ip);
}

Test(address, unbracketed_ipv6_splits_at_the_last_colon) {
  leerplek_address a = parsed("::1:6379");
  cr_assert_str_eq(a.host, "::1");
  cr_assert_eq(a.port_number, 6379);
}

Test(address, host_name_is_kept_and_marked) {
  leerplek_address a = parsed("leerplek.example:443");
  cr_assert_str_eq(a.host, "leerplek.example");
  cr_assert(!a.host_is_ip, "a name is not an IP literal: the daemon refuses it for Redis");
}

Test(address, unix_path) {
  leerplek_address a = parsed("unix:/run/leerplek/api.sock");
  cr_assert(a.is_unix);
  cr_assert_str_eq(a.host, "/run/leerplek/api.sock");
  cr_assert_eq(a.port_number, 0);
}

Test(address, unix_path_limits) {
  refused("unix:", "empty or longer than 107 bytes");
  char longest[5 + LEERPLEK_UNIX_PATH_MAX + 2];
  memcpy(longest, "unix:", 5);
  memset(longest + 5, 'p', LEERPLEK_UNIX_PATH_MAX);
  longest[5 + LEERPLEK_UNIX_PATH_MAX] = '\0';
  cr_assert_eq(strlen(parsed(longest).host), LEERPLEK_UNIX_PATH_MAX);
  longest[5 + LEERPLEK_UNIX_PATH_MAX] = 'p';
  longest[5 + LEERPLEK_UNIX_PATH_MAX + 1] = '\0';
  refused(longest, "longer than 107 bytes");
}

Test(address, malformed_ones_are_refused_with_the_reason) {
  refused("localhost", "expected host:port, [ipv6]:port or unix:/path");
  refused(":7411", "expected host:port");
  refused("[::1]", "expected host:port");
  refused("[::1", "expected host:port");
  refused("[]:80", "expected host:port");
  refused("127.0.0.1:", "bad port");
  refused("127.0.0.1:0", "bad port");
  refused("127.0.0.1:65536", "bad port");
  refused("127.0.0.1:80x", "bad port");
  refused("127.0.0.1:-1", "bad port");
  refused("127.0.0.1: 80", "bad port");
}

Test(address, the_error_names_the_text) {
  leerplek_address address;
  char error[256] = "";
  cr_assert_neq(leerplek_address_parse("nowhere", &address, error, sizeof error), 0);
  cr_assert(strstr(error, "'nowhere'"), "%s", error);
}
