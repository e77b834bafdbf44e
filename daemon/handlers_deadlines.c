/* handlers_deadlines: the writes the deadline sweep (lp_deadlines.c) finds due: a reminder, an
 * expired proposal released back to WAITING, an agreement ended by its end date. Each is its
 * own MULTI/EXEC with its event (actor "deadlines"), in memory at once, like a handler's. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_deadlines.h"
#include "lp_handlers.h"
#include "lp_log.h"
#include "lp_store.h"

#define ACTOR "deadlines"

static void on_committed(void *arg, int code, const char *message) {
  (void)arg;
  if (code != 0) LP_WARN("deadlines: a write was not confirmed: %s (the next rescan looks again)", message);
}

/* Sends the change (memory follows at once); false when the store takes no writes (the
 * change's records are freed). */
static bool send_change(lp_change *change) { return lp_change_commit(change, on_committed, NULL) == 0; }

static lp_change *change_with_event(lp_daemon *daemon, const char *op, const char *key) {
  return lp_change_begin(daemon, op, LP_KIND_PLACEMENT, key, ACTOR, NULL);
}

static bool remind(lp_ctx *ctx, const char *key, const Leerplek__V1__Placement *stored) {
  Leerplek__V1__Placement *placement = lp_clone(stored);
  /* Not a change of state or acceptance: updated_unix_s stays, so a rematch in flight still
   * applies to this pupil. */
  placement->reminded_unix_s = ctx->now;
  lp_change *change = change_with_event(ctx->daemon, "remind", key);
  lp_event_detail detail = {
      .reason = "the answer deadline is near", .proposal_id = stored->proposal_id, .old_state = (int)stored->state};
  lp_change_detail(change, &detail);
  lp_change_put(change, LP_KIND_PLACEMENT, key, placement);
  return send_change(change);
}

static bool expire(lp_ctx *ctx, const char *key, const Leerplek__V1__Placement *stored) {
  Leerplek__V1__ReleaseInfo *release = lp_calloc(1, sizeof *release);
  leerplek__v1__release_info__init(release);
  release->reason = LEERPLEK__V1__RELEASE_REASON__RELEASE_REASON_EXPIRED;
  release->vacancy_id = lp_strdup(stored->offer ? stored->offer->vacancy_id : "");
  release->company_id = lp_strdup(stored->offer ? stored->offer->company_id : "");
  release->answer_by_unix_s = stored->answer_by_unix_s;
  release->school_accepted = stored->school_accepted;
  release->company_accepted = stored->company_accepted;
  release->released_unix_s = ctx->now;
  bool holds = false;
  Leerplek__V1__Vacancy *vacancy = lp_vacancy_releasing(ctx, stored, &holds);
  lp_releases releases = {0};
  lp_release_add(ctx, &releases, key, stored);
  Leerplek__V1__Placement *placement = releases.items[0].placement;
  if (placement->last_release) protobuf_c_message_free_unpacked(&placement->last_release->base, NULL);
  placement->last_release = release;
  lp_change *change = change_with_event(ctx->daemon, "expire", key);
  /* The released placement has no offer any more: the event names the seat it leaves. */
  lp_event_detail detail = {.reason = "EXPIRED: the answer deadline passed",
                            .proposal_id = stored->proposal_id,
                            .old_state = (int)stored->state};
  if (stored->offer) detail.vacancy_id = stored->offer->vacancy_id, detail.company_id = stored->offer->company_id;
  lp_change_detail(change, &detail);
  lp_releases_move(&releases, change);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  return send_change(change);
}

static bool end_by_date(lp_ctx *ctx, const char *key, const Leerplek__V1__Placement *stored) {
  Leerplek__V1__Vacancy *vacancy = NULL;
  Leerplek__V1__Placement *placement =
      lp_placement_ended(ctx, stored, stored->agreement->ends_on,
                         LEERPLEK__V1__AGREEMENT_END_CAUSE__AGREEMENT_END_CAUSE_END_DATE, "", &vacancy);
  lp_change *change = change_with_event(ctx->daemon, "end_agreement", key);
  lp_event_detail detail = {
      .reason = "the agreement's end date passed", .proposal_id = stored->proposal_id, .old_state = (int)stored->state};
  lp_change_detail(change, &detail);
  lp_change_put(change, LP_KIND_PLACEMENT, key, placement);
  if (vacancy) lp_change_put(change, LP_KIND_VACANCY, vacancy->id, vacancy);
  return send_change(change);
}

bool lp_handle_due(lp_daemon *daemon, long long now, enum lp_due what, const char *key,
                   const Leerplek__V1__Placement *stored) {
  /* The handlers' helpers take a call's context: this one's caller is the clock. */
  lp_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.daemon = daemon;
  ctx.now = now;
  switch (what) {
  case LP_DUE_REMIND: return remind(&ctx, key, stored);
  case LP_DUE_EXPIRE: return expire(&ctx, key, stored);
  case LP_DUE_END: return end_by_date(&ctx, key, stored);
  case LP_DUE_NOTHING: break;
  }
  return true;
}
