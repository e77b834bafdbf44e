/* lp_auth: bearer tokens. Secrets come from getrandom; only their SHA-256 (OpenSSL EVP) is
 * kept, in memory and in Redis. A token reads "lp1.<16 hex id>.<64 hex secret>". */
#ifndef LP_AUTH_H
#define LP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "lp_state.h"

#define LP_TOKEN_ID_SIZE 17   /* 16 hex digits + NUL */
#define LP_TOKEN_TEXT_SIZE 86 /* "lp1." + 16 hex id + "." + 64 hex secret + NUL */
#define LP_SCOPE_SIZE 64
#define LP_MAX_TOKEN_BYTES 128 /* longest Request.token accepted (Limits.max_token_bytes) */

/* Who is calling: the role and scope of a valid token (role 0 = no token). */
typedef struct lp_principal {
  int role; /* Leerplek__V1__Role */
  char scope_id[LP_SCOPE_SIZE];
  char token_id[LP_TOKEN_ID_SIZE];
} lp_principal;

/* A connection's memo of the last token text it presented and that text's SHA-256, so that a
 * stream of requests with the same token is hashed once (the stored record is still looked up
 * and compared on every request, so revocation and expiry act at once). */
typedef struct lp_token_memo {
  char text[LP_MAX_TOKEN_BYTES + 1];
  unsigned char hash[32];
  bool valid;
} lp_token_memo;

/* Makes a new token: its public id and its secret text. 0, or -1 if getrandom failed. */
int lp_auth_new_token(char id[LP_TOKEN_ID_SIZE], char text[LP_TOKEN_TEXT_SIZE]);
/* SHA-256 of the token text; 0 or -1. */
int lp_auth_hash(const char *text, unsigned char hash[32]);
/* Lowercase hex of a hash, 65 bytes with NUL. */
void lp_auth_hash_hex(const unsigned char hash[32], char hex[65]);
/* Checks a presented token against the state at time now (memo may be NULL). Returns 0 and
 * fills who, or a StatusCode (UNAUTHENTICATED) with the reason in why. */
int lp_auth_check(const lp_state *state, const char *text, long long now, lp_token_memo *memo, lp_principal *who,
                  char *why, size_t why_size);
/* "school:<id>", "company:<id>", "support:<id>", "coordinator", "admin" or "anonymous", for logs
 * and events. */
void lp_auth_describe(const lp_principal *who, char *out, size_t out_size);

#endif
