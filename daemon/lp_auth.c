/* lp_auth: token creation (getrandom), hashing (OpenSSL EVP SHA-256) and verification with a
 * constant-time comparison; the token's id (in its text) finds the stored hash. */
#include "lp_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static void to_hex(const unsigned char *bytes, size_t size, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; i++) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  out[2 * size] = '\0';
}

static int random_bytes(unsigned char *out, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = getrandom(out + got, size - got, 0);
    if (n < 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

int lp_auth_new_token(char id[LP_TOKEN_ID_SIZE], char text[LP_TOKEN_TEXT_SIZE]) {
  unsigned char id_bytes[8], secret[32];
  if (random_bytes(id_bytes, sizeof id_bytes) != 0 || random_bytes(secret, sizeof secret) != 0) return -1;
  char secret_hex[65];
  to_hex(id_bytes, sizeof id_bytes, id);
  to_hex(secret, sizeof secret, secret_hex);
  snprintf(text, LP_TOKEN_TEXT_SIZE, "lp1.%s.%s", id, secret_hex);
  OPENSSL_cleanse(secret, sizeof secret);
  OPENSSL_cleanse(secret_hex, sizeof secret_hex);
  return 0;
}

int lp_auth_hash(const char *text, unsigned char hash[32]) {
  unsigned int size = 0;
  if (EVP_Digest(text, strlen(text), hash, &size, EVP_sha256(), NULL) != 1 || size != 32) return -1;
  return 0;
}

void lp_auth_hash_hex(const unsigned char hash[32], char hex[65]) { to_hex(hash, 32, hex); }

/* Whether two SHA-256 hashes are equal, in time independent of where they differ (as
 * CRYPTO_memcmp, which goes byte by byte: 4 % of a pipelined get's instructions). */
static bool hashes_equal(const unsigned char *a, const unsigned char *b) {
  uint64_t difference = 0;
  for (int i = 0; i < 32; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    difference |= x ^ y;
  }
  return difference == 0;
}

int lp_auth_check(const lp_state *state, const char *text, long long now, lp_token_memo *memo, lp_principal *who,
                  char *why, size_t why_size) {
  const int unauthenticated = LEERPLEK__V1__STATUS_CODE__STATUS_CODE_UNAUTHENTICATED;
  memset(who, 0, sizeof *who);
  if (!text || text[0] == '\0') {
    snprintf(why, why_size, "this call needs a token");
    return unauthenticated;
  }
  if (strlen(text) > LP_MAX_TOKEN_BYTES) {
    snprintf(why, why_size, "token longer than %d bytes", LP_MAX_TOKEN_BYTES);
    return unauthenticated;
  }
  if (strncmp(text, "lp1.", 4) != 0 || strlen(text) != 85 || text[20] != '.') {
    snprintf(why, why_size, "unknown token");
    return unauthenticated;
  }
  char id[LP_TOKEN_ID_SIZE];
  memcpy(id, text + 4, 16);
  id[16] = '\0';
  const lp_token *token = lp_state_get(state, LP_KIND_TOKEN, id);
  if (!token) {
    snprintf(why, why_size, "unknown token");
    return unauthenticated;
  }
  unsigned char own_hash[32];
  const unsigned char *hash = own_hash;
  if (memo && memo->valid && strcmp(memo->text, text) == 0) {
    hash = memo->hash;
  } else {
    if (lp_auth_hash(text, own_hash) != 0) {
      snprintf(why, why_size, "could not hash the token");
      return unauthenticated;
    }
    if (memo) {
      memcpy(memo->text, text, strlen(text) + 1);
      memcpy(memo->hash, own_hash, sizeof own_hash);
      memo->valid = true;
    }
  }
  if (!hashes_equal(hash, token->hash)) {
    snprintf(why, why_size, "unknown token");
    return unauthenticated;
  }
  if (token->info->revoked_unix_s != 0) {
    snprintf(why, why_size, "token %s was revoked", id);
    return unauthenticated;
  }
  if (token->info->expires_unix_s != 0 && token->info->expires_unix_s <= now) {
    snprintf(why, why_size, "token %s has expired", id);
    return unauthenticated;
  }
  who->role = token->info->role;
  size_t scope_length = strnlen(token->info->scope_id, sizeof who->scope_id - 1); /* as snprintf would cut it */
  memcpy(who->scope_id, token->info->scope_id, scope_length);
  who->scope_id[scope_length] = '\0';
  memcpy(who->token_id, id, sizeof id);
  return 0;
}

void lp_auth_describe(const lp_principal *who, char *out, size_t out_size) {
  switch (who->role) {
  case LEERPLEK__V1__ROLE__ROLE_SCHOOL: snprintf(out, out_size, "school:%s", who->scope_id); break;
  case LEERPLEK__V1__ROLE__ROLE_COMPANY: snprintf(out, out_size, "company:%s", who->scope_id); break;
  case LEERPLEK__V1__ROLE__ROLE_COORDINATOR: snprintf(out, out_size, "coordinator"); break;
  case LEERPLEK__V1__ROLE__ROLE_ADMIN: snprintf(out, out_size, "admin"); break;
  case LEERPLEK__V1__ROLE__ROLE_SUPPORT: snprintf(out, out_size, "support:%s", who->scope_id); break;
  default: snprintf(out, out_size, "anonymous"); break;
  }
}
