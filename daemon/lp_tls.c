/* lp_tls: the server context is made once at start; every connection gets its own SSL from it
 * (lp_server.c). Files are read before any client is served, so a wrong path or a key that
 * does not match the certificate stops the daemon with the reason instead of failing
 * handshakes later. */
#include "lp_tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

void lp_tls_take_errors(char *out, size_t out_size) {
  size_t used = 0;
  out[0] = '\0';
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (used + 3 < out_size) {
      int n = snprintf(out + used, out_size - used, "%s%s", used ? "; " : "", text);
      if (n > 0) used += (size_t)n < out_size - used ? (size_t)n : out_size - used - 1;
    }
  }
}

static SSL_CTX *fail(SSL_CTX *context, char *error, size_t error_size, const char *what, const char *path) {
  char reason[512];
  lp_tls_take_errors(reason, sizeof reason);
  snprintf(error, error_size, "%s %s: %s", what, path, reason[0] ? reason : "cannot be used");
  SSL_CTX_free(context);
  return NULL;
}

SSL_CTX *lp_tls_server_context(const lp_config *config, char *error, size_t error_size) {
  ERR_clear_error();
  SSL_CTX *context = SSL_CTX_new(TLS_server_method());
  if (!context) return fail(NULL, error, error_size, "TLS:", "no context");
  /* TLS 1.0 and 1.1 are deprecated (RFC 8996); renegotiation only widens the attack surface. */
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* A client that hangs up without close_notify has simply gone; nothing was truncated that
   * the framing would not notice. */
  SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_use_certificate_chain_file(context, config->tls_cert_file) != 1)
    return fail(context, error, error_size, "tls_cert_file", config->tls_cert_file);
  if (SSL_CTX_use_PrivateKey_file(context, config->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      snprintf(error, error_size, "tls_key_file %s does not match the certificate in tls_cert_file %s",
               config->tls_key_file, config->tls_cert_file);
      SSL_CTX_free(context);
      return NULL;
    }
    return fail(context, error, error_size, "tls_key_file", config->tls_key_file);
  }
  if (config->tls_client_ca_file[0]) {
    if (SSL_CTX_load_verify_locations(context, config->tls_client_ca_file, NULL) != 1)
      return fail(context, error, error_size, "tls_client_ca_file", config->tls_client_ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(config->tls_client_ca_file);
    if (!names) return fail(context, error, error_size, "tls_client_ca_file (no CA names)", config->tls_client_ca_file);
    SSL_CTX_set_client_CA_list(context, names); /* tells clients which certificate to send */
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  return context;
}
