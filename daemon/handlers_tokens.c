/* handlers_tokens: ADMIN's calls: create (the secret is shown once), revoke, list. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_handlers.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define ROLE(name) LEERPLEK__V1__ROLE__ROLE_##name

int lp_handle_create_token(lp_ctx *ctx) {
  const Leerplek__V1__CreateTokenRequest *request = ctx->request->create_token;
  int role = request->role;
  if (role < ROLE(SCHOOL) || role > ROLE(SUPPORT))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "create_token.role",
                   "create_token.role must be SCHOOL, COMPANY, SUPPORT, COORDINATOR or ADMIN");
  if (role == ROLE(SCHOOL) && !lp_check_id(ctx, request->scope_id, "create_token.scope_id")) return -1;
  if (role == ROLE(COMPANY)) {
    if (!lp_check_company_id(ctx, request->scope_id, "create_token.scope_id")) return -1;
    if (!lp_state_get(&ctx->daemon->state, LP_KIND_COMPANY, request->scope_id))
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), "create_token.scope_id", "no company %s", request->scope_id);
  }
  if (role == ROLE(SUPPORT)) {
    if (!lp_check_id(ctx, request->scope_id, "create_token.scope_id")) return -1;
    if (!lp_state_get(&ctx->daemon->state, LP_KIND_SUPPORT_ORGANISATION, request->scope_id))
      return lp_fail(ctx, CODE(INVALID_ARGUMENT), "create_token.scope_id", "no support organisation %s",
                     request->scope_id);
  }
  if ((role == ROLE(COORDINATOR) || role == ROLE(ADMIN)) && request->scope_id[0])
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "create_token.scope_id",
                   "COORDINATOR and ADMIN tokens have no scope_id");
  if (!lp_check_text(ctx, request->label, "create_token.label", 0, ctx->daemon->config.max_short_text_bytes, false))
    return -1;
  if (request->expires_unix_s != 0 && request->expires_unix_s <= ctx->now)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "create_token.expires_unix_s",
                   "create_token.expires_unix_s must be 0 or in the future");

  char id[LP_TOKEN_ID_SIZE], *text = lp_scratch(ctx, LP_TOKEN_TEXT_SIZE);
  unsigned char hash[32];
  if (lp_auth_new_token(id, text) != 0 || lp_auth_hash(text, hash) != 0)
    return lp_fail(ctx, CODE(INTERNAL), "", "could not create a token (random source or SHA-256 failed)");
  lp_token *token = lp_calloc(1, sizeof *token);
  memcpy(token->hash, hash, sizeof hash);
  Leerplek__V1__TokenInfo *info = lp_calloc(1, sizeof *info);
  leerplek__v1__token_info__init(info);
  info->id = lp_strdup(id);
  info->scope_id = lp_strdup(request->scope_id);
  info->label = lp_strdup(request->label);
  info->role = (Leerplek__V1__Role)role;
  info->created_unix_s = ctx->now;
  info->expires_unix_s = request->expires_unix_s;
  token->info = info;
  char hash_key[64], hash_hex[65];
  snprintf(hash_key, sizeof hash_key, "lp:tokenhash:%s", id);
  lp_auth_hash_hex(token->hash, hash_hex);
  lp_change *change = lp_begin(ctx, "create", LP_KIND_TOKEN, id);
  lp_change_put_value(change, LP_KIND_TOKEN, id, &info->base, token, lp_token_free);
  lp_txn_set_raw(lp_change_txn(change), hash_key, hash_hex, 64);
  if (lp_commit(ctx, change) != 0) return -1;
  Leerplek__V1__CreateTokenResponse *reply = lp_reply_body(ctx, &leerplek__v1__create_token_response__descriptor);
  reply->info = info;
  reply->token = text;
  return 0;
}

static bool token_active(const lp_token *token, long long now) {
  return token->info->revoked_unix_s == 0 && (token->info->expires_unix_s == 0 || token->info->expires_unix_s > now);
}

int lp_handle_revoke_token(lp_ctx *ctx) {
  const char *id = ctx->request->revoke_token->token_id;
  if (!lp_check_id(ctx, id, "revoke_token.token_id")) return -1;
  const lp_token *stored = lp_state_get(&ctx->daemon->state, LP_KIND_TOKEN, id);
  if (!stored) return lp_fail(ctx, CODE(NOT_FOUND), "revoke_token.token_id", "no token %s", id);
  Leerplek__V1__RevokeTokenResponse *reply = lp_reply_body(ctx, &leerplek__v1__revoke_token_response__descriptor);
  if (stored->info->revoked_unix_s != 0) {
    reply->info = stored->info;
    return 0;
  }
  if (stored->info->role == ROLE(ADMIN) && token_active(stored, ctx->now)) {
    size_t active_admins = 0;
    const lp_map *tokens = &ctx->daemon->state.maps[LP_KIND_TOKEN];
    for (size_t i = 0; i < tokens->count; i++) {
      const lp_token *token = tokens->entries[i].value;
      if (token->info->role == ROLE(ADMIN) && token_active(token, ctx->now)) active_admins++;
    }
    if (active_admins <= 1)
      return lp_fail(ctx, CODE(FAILED_PRECONDITION), "revoke_token.token_id", "token %s is the last active ADMIN token",
                     id);
  }
  lp_token *token = lp_calloc(1, sizeof *token);
  Leerplek__V1__TokenInfo *info = lp_clone(stored->info);
  memcpy(token->hash, stored->hash, sizeof token->hash);
  info->revoked_unix_s = ctx->now;
  token->info = info;
  lp_change *change = lp_begin(ctx, "revoke", LP_KIND_TOKEN, id);
  lp_change_put_value(change, LP_KIND_TOKEN, id, &info->base, token, lp_token_free);
  if (lp_commit(ctx, change) != 0) return -1;
  reply->info = info;
  return 0;
}

static bool token_matches(const lp_ctx *ctx, const void *value, const void *arg) {
  const lp_token *token = value;
  const Leerplek__V1__ListTokensRequest *filter = arg;
  if (!filter->include_revoked && !token_active(token, ctx->now)) return false;
  if (filter->role != 0 && token->info->role != filter->role) return false;
  if (filter->scope_id[0] && strcmp(token->info->scope_id, filter->scope_id) != 0) return false;
  return true;
}

int lp_handle_list_tokens(lp_ctx *ctx) {
  const Leerplek__V1__ListTokensRequest *request = ctx->request->list_tokens;
  if (request->role > ROLE(SUPPORT))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "list_tokens.role", "list_tokens.role is not a Role");
  if (!lp_check_text(ctx, request->scope_id, "list_tokens.scope_id", 0, ctx->daemon->config.max_id_bytes, false))
    return -1;
  Leerplek__V1__ListTokensResponse *reply = lp_reply_body(ctx, &leerplek__v1__list_tokens_response__descriptor);
  void **tokens = NULL;
  if (lp_list_page(ctx, LP_KIND_TOKEN, &request->base, request->page_size, request->page_token, "list_tokens",
                   token_matches, request, &tokens, &reply->n_tokens, &reply->next_page_token, &reply->total_size) != 0)
    return -1;
  /* The map holds lp_token; the reply wants their TokenInfo. */
  reply->tokens = lp_scratch(ctx, reply->n_tokens * sizeof *reply->tokens);
  for (size_t i = 0; i < reply->n_tokens; i++) reply->tokens[i] = ((lp_token *)tokens[i])->info;
  return 0;
}
