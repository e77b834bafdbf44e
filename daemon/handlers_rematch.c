/* handlers_rematch: RunRematch (answered when the worker and the epoch's write are done), the
 * coordinators' report and the shared waiting list, both computed from the working set and the
 * unplaced reasons the last applied rematch stored on each placement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lp_alloc.h"
#include "lp_figures.h"
#include "lp_handlers.h"
#include "lp_reply.h"
#include "lp_report.h"
#include "lp_rematch.h"
#include "lp_rules.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define PSTATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define REASONS 7

/* ---- RunRematch ------------------------------------------------------------------------ */

static void on_rematch_done(void *arg, int code, const char *message, const Leerplek__V1__RematchResult *result) {
  Leerplek__V1__Response response = LEERPLEK__V1__RESPONSE__INIT;
  Leerplek__V1__RunRematchResponse body = LEERPLEK__V1__RUN_REMATCH_RESPONSE__INIT;
  body.result = (Leerplek__V1__RematchResult *)result;
  response.body_case = LEERPLEK__V1__RESPONSE__BODY_RUN_REMATCH;
  response.run_rematch = &body;
  lp_reply_send(arg, code, message, &response);
}

int lp_handle_run_rematch(lp_ctx *ctx) {
  const Leerplek__V1__RunRematchRequest *request = ctx->request->run_rematch;
  if (request->max_changes > 1000)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "run_rematch.max_changes",
                   "max_changes must be 0..1000 (0 = 100), not %u", request->max_changes);
  lp_rematch *rematch = lp_rematch_of(ctx->daemon);
  if (!rematch) return lp_fail(ctx, CODE(UNAVAILABLE), "", "the rematch is not available on this daemon");
  lp_auth_describe(&ctx->who, ctx->actor, sizeof ctx->actor);
  char message[512];
  int code = lp_rematch_start(rematch, request->dry_run, request->max_changes, ctx->actor, on_rematch_done, ctx->reply,
                              message, sizeof message);
  if (code != 0) return lp_fail(ctx, code, "", "%s", message);
  ctx->pending = true; /* answered by on_rematch_done */
  return 0;
}

/* ---- shared helpers -------------------------------------------------------------------- */

static bool is_waiting(int state) { return state == PSTATE(WAITING) || state == PSTATE(DECLINED); }

/* ---- GetReport ------------------------------------------------------------------------- */

int lp_handle_get_report(lp_ctx *ctx) {
  const Leerplek__V1__GetReportRequest *request = ctx->request->get_report;
  if (request->max_shortages > LP_MAX_REPORT_SHORTAGES)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_report.max_shortages",
                   "max_shortages must be 0..200 (0 = 20), not %u", request->max_shortages);
  uint32_t max_shortages = request->max_shortages ? request->max_shortages : LP_DEFAULT_REPORT_SHORTAGES;
  Leerplek__V1__GetReportResponse *reply = lp_reply_body(ctx, &leerplek__v1__get_report_response__descriptor);
  reply->report = lp_report_build(&ctx->scratch, ctx->daemon, max_shortages, ctx->now);
  lp_trend_attach(ctx->daemon->trend, reply->report, &ctx->scratch, ctx->now);
  return 0;
}

/* ---- GetWaitingList -------------------------------------------------------------------- */

typedef struct waiting {
  const Leerplek__V1__Pupil *pupil; /* NULL for a page token's position */
  const Leerplek__V1__Placement *placement;
  int64_t score, since;
  const char *school_id, *ref;
} waiting;

static int by_priority(const void *a, const void *b) {
  const waiting *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->since != y->since) return x->since < y->since ? -1 : 1;
  int c = strcmp(x->school_id, y->school_id);
  return c ? c : strcmp(x->ref, y->ref);
}

/* A position in the waiting list's order as a page token key: the score and the waiting time
 * in WAITING_DIGITS base-36 digits each, then "<school>/<ref>" (at most 65 bytes: 79 in all,
 * within LP_MAX_KEY). The next page resumes after that position, wherever the pupil stands
 * now, so pupils added or placed between pages are neither repeated nor skipped. */
#define WAITING_DIGITS 7
#define WAITING_NUMBER_MAX 78364164095LL /* 36^7 - 1; scores stay below ELIGIBILITY_UNPLACED_MAX */

static void write_base36(char *out, int64_t value) {
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  if (value < 0) value = 0;
  if (value > WAITING_NUMBER_MAX) value = WAITING_NUMBER_MAX;
  for (int d = WAITING_DIGITS - 1; d >= 0; d--, value /= 36) out[d] = digits[value % 36];
}

static bool read_base36(const char *in, int64_t *value) {
  *value = 0;
  for (int d = 0; d < WAITING_DIGITS; d++) {
    char c = in[d];
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    *value = *value * 36 + digit;
  }
  return true;
}

static void position_key(const waiting *w, char key[LP_MAX_KEY]) {
  write_base36(key, w->score);
  write_base36(key + WAITING_DIGITS, w->since);
  snprintf(key + 2 * WAITING_DIGITS, LP_MAX_KEY - 2 * WAITING_DIGITS, "%s/%s", w->school_id, w->ref);
}

/* The position a page token names, in *position (its strings point into key). */
static bool read_position(char *key, waiting *position) {
  memset(position, 0, sizeof *position);
  if (strlen(key) < 2 * WAITING_DIGITS + 3 || !read_base36(key, &position->score) ||
      !read_base36(key + WAITING_DIGITS, &position->since))
    return false;
  char *school = key + 2 * WAITING_DIGITS, *slash = strchr(school, '/');
  if (!slash || slash == school || slash[1] == '\0') return false;
  *slash = '\0';
  position->school_id = school;
  position->ref = slash + 1;
  return true;
}

int lp_handle_get_waiting_list(lp_ctx *ctx) {
  const Leerplek__V1__GetWaitingListRequest *request = ctx->request->get_waiting_list;
  const char *school = request->school_id;
  if (lp_is_school(ctx)) {
    if (school[0] && strcmp(school, ctx->who.scope_id) != 0)
      return lp_fail(ctx, CODE(PERMISSION_DENIED), "get_waiting_list.school_id",
                     "a school sees only its own waiting list entries");
    school = ctx->who.scope_id;
  }
  char after_key[LP_MAX_KEY];
  waiting after;
  if (!lp_page_token_read(ctx, "get_waiting_list", &request->base, request->page_token, after_key)) return -1;
  bool resuming = after_key[0] != '\0';
  if (resuming && !read_position(after_key, &after))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_waiting_list.page_token",
                   "get_waiting_list.page_token is not a page token of this list");
  const lp_state *state = &ctx->daemon->state;
  const lp_map *placements = &state->maps[LP_KIND_PLACEMENT];
  waiting *list = lp_malloc((placements->count + 1) * sizeof *list);
  size_t count = 0;
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    if (!is_waiting(placement->state)) continue;
    const Leerplek__V1__Pupil *pupil = lp_state_get(state, LP_KIND_PUPIL, placements->entries[i].key);
    if (!pupil) continue;
    waiting *w = &list[count++];
    w->pupil = pupil;
    w->placement = placement;
    w->school_id = pupil->school_id;
    w->ref = pupil->ref;
    w->since = lp_rules_waiting_since(pupil, placement);
    w->score = lp_rules_priority_score(&ctx->daemon->config, pupil, placement, ctx->now);
  }
  if (count > 1) qsort(list, count, sizeof *list, by_priority);
  uint32_t limit = lp_page_size(ctx, request->page_size);
  Leerplek__V1__GetWaitingListResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__get_waiting_list_response__descriptor);
  Leerplek__V1__WaitingListEntry **entries = lp_scratch(ctx, ((size_t)limit + 1) * sizeof *entries);
  size_t returned = 0;
  const waiting *last = NULL;
  bool more = false;
  for (size_t i = 0; i < count; i++) {
    const waiting *w = &list[i];
    if (school[0] && strcmp(w->pupil->school_id, school) != 0) continue;
    if (request->training_code[0] && strcmp(w->pupil->training_code, request->training_code) != 0) continue;
    if (request->home_district[0] && strcmp(lp_pupil_district(w->pupil), request->home_district) != 0) continue;
    reply->total_size++;
    if (resuming && by_priority(w, &after) <= 0) continue;
    if (returned == limit) {
      more = true;
      continue;
    }
    Leerplek__V1__WaitingListEntry *entry = lp_scratch(ctx, sizeof *entry);
    leerplek__v1__waiting_list_entry__init(entry);
    entry->position = (uint32_t)(i + 1);
    entry->school_id = w->pupil->school_id;
    entry->pupil_ref = w->pupil->ref;
    entry->training_code = w->pupil->training_code;
    entry->readiness = w->pupil->readiness;
    entry->home_district = (char *)lp_pupil_district(w->pupil);
    entry->state = w->placement->state;
    entry->waiting_since_unix_s = w->since;
    entry->days_waiting = (uint32_t)eligibility_waiting_days(w->since, ctx->now);
    entry->newcomer_okan = w->pupil->newcomer_okan;
    entry->special_needs_buso = w->pupil->special_needs_buso;
    entry->priority_score = w->score;
    entry->unplaced = w->placement->unplaced;
    entries[returned++] = entry;
    last = w;
  }
  reply->entries = entries;
  reply->n_entries = returned;
  char last_key[LP_MAX_KEY];
  if (more) position_key(last, last_key);
  reply->next_page_token =
      more ? lp_page_token_make(ctx, "get_waiting_list", &request->base, last_key) : lp_scratch_strdup(ctx, "");
  free(list);
  return 0;
}
