/* leerplek_wire: the one address parser (see leerplek_wire.h). */
#include "leerplek_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int leerplek_address_parse(const char *text, leerplek_address *address, char *error, size_t error_size) {
  memset(address, 0, sizeof *address);
  if (strncmp(text, "unix:", 5) == 0) {
    const char *path = text + 5;
    size_t length = strlen(path);
    if (length == 0 || length > LEERPLEK_UNIX_PATH_MAX) {
      snprintf(error, error_size, "unix socket path '%.120s' is empty or longer than %d bytes", path,
               LEERPLEK_UNIX_PATH_MAX);
      return -1;
    }
    address->is_unix = true;
    memcpy(address->host, path, length + 1);
    return 0;
  }
  const char *host = text, *host_end = NULL, *port = NULL;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close && close[1] == ':') {
      host = text + 1;
      host_end = close;
      port = close + 2;
    }
  } else {
    /* The last colon: an unbracketed IPv6 literal ("::1:6379") keeps working as it always did. */
    const char *colon = strrchr(text, ':');
    if (colon) {
      host_end = colon;
      port = colon + 1;
    }
  }
  if (!host_end || host_end == host || (size_t)(host_end - host) >= sizeof address->host) {
    snprintf(error, error_size, "'%.120s': expected host:port, [ipv6]:port or unix:/path", text);
    return -1;
  }
  char *port_end = NULL;
  long number = strtol(port, &port_end, 10);
  if (port[0] < '0' || port[0] > '9' || *port_end != '\0' || number < 1 || number > 65535) {
    snprintf(error, error_size, "'%.120s': bad port (give 1 to 65535)", text);
    return -1;
  }
  memcpy(address->host, host, (size_t)(host_end - host));
  address->host[host_end - host] = '\0';
  snprintf(address->port, sizeof address->port, "%ld", number);
  address->port_number = (int)number;
  unsigned char probe[sizeof(struct in6_addr)];
  address->host_is_ip = inet_pton(AF_INET, address->host, probe) == 1 || inet_pton(AF_INET6, address->host, probe) == 1;
  return 0;
}
