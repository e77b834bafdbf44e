/* lp_tls: TLS for the API port: the server's OpenSSL context from the config (certificate
 * chain, key, TLS 1.2 or newer, optional client certificates) and OpenSSL's reasons as text. */
#ifndef LP_TLS_H
#define LP_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

#include "lp_config.h"

/* The context for tls_cert_file/tls_key_file (and tls_client_ca_file); NULL with the reason,
 * naming the option and the file, in error. */
SSL_CTX *lp_tls_server_context(const lp_config *config, char *error, size_t error_size);
/* Takes OpenSSL's queued errors off its (per-thread) queue as one line; "" when there are none. */
void lp_tls_take_errors(char *out, size_t out_size);

#endif
