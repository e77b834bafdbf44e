/* handlers_lifecycle: how placements end: end_agreement (a running agreement ends early or on
 * its day; the seat is freed) and close_school_year (what ended or was withdrawn by the
 * boundary leaves the live state for an archive that keeps only what counting needs). The
 * sweep that ends agreements on their end date (lp_deadlines.c) shares lp_placement_ended. */
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"
#include "lp_deadlines.h"
#include "lp_handlers.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name
#define STATE(name) LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_##name
#define CAUSE(name) LEERPLEK__V1__AGREEMENT_END_CAUSE__AGREEMENT_END_CAUSE_##name
/* The reply's archive holds at most this many placements (the stored one holds them all). */
#define MAX_ARCHIVE_IN_REPLY 1000u

Leerplek__V1__Placement *lp_placement_ended(lp_ctx *ctx, const Leerplek__V1__Placement *stored,
                                            const Leerplek__V1__Date *ended_on, int cause, const char *reason,
                                            Leerplek__V1__Vacancy **vacancy) {
  bool holds = false;
  *vacancy = lp_vacancy_releasing(ctx, stored, &holds); /* AGREEMENT: seats_filled - 1 */
  Leerplek__V1__Placement *placement = lp_clone(stored);
  Leerplek__V1__AgreementInfo *agreement = placement->agreement;
  if (agreement->ended_on) protobuf_c_message_free_unpacked(&agreement->ended_on->base, NULL);
  agreement->ended_on = lp_clone(ended_on);
  lp_set_string(&agreement->end_reason, reason);
  agreement->ended_unix_s = ctx->now;
  agreement->end_cause = (Leerplek__V1__AgreementEndCause)cause;
  /* The offer and proposal id stay as the record of where it was; no call takes the id now. */
  placement->state = STATE(ENDED);
  placement->answer_by_unix_s = 0;
  placement->updated_unix_s = ctx->now;
  return placement;
}

int lp_handle_end_agreement(lp_ctx *ctx) {
  const Leerplek__V1__EndAgreementRequest *request = ctx->request->end_agreement;
  if (!lp_check_text(ctx, request->reason, "end_agreement.reason", 1, ctx->daemon->config.max_text_bytes, true))
    return -1;
  Leerplek__V1__Date today;
  lp_today(ctx->now, &today);
  const Leerplek__V1__Date *ended_on = request->ended_on ? request->ended_on : &today;
  if (request->ended_on && !lp_check_date(ctx, request->ended_on, "end_agreement.ended_on")) return -1;
  char key[LP_MAX_KEY];
  const Leerplek__V1__Placement *stored = lp_find_proposal(ctx, request->proposal_id, "end_agreement.proposal_id", key);
  if (!stored) return -1;
  if (stored->state != STATE(AGREEMENT) || !stored->agreement)
    return lp_fail(
        ctx, CODE(FAILED_PRECONDITION), "end_agreement.proposal_id",
        "only a recorded agreement can be ended (the placement is not AGREEMENT; decline an accepted proposal)");
  const Leerplek__V1__AgreementInfo *agreement = stored->agreement;
  long ended = lp_date_number(ended_on);
  if (ended > lp_date_number(&today))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "end_agreement.ended_on",
                   "end_agreement.ended_on is after today; an agreement ends on or before today");
  if (agreement->signed_on && ended < lp_date_number(agreement->signed_on))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "end_agreement.ended_on",
                   "end_agreement.ended_on is before the agreement was signed");
  if (agreement->ends_on && ended > lp_date_number(agreement->ends_on))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "end_agreement.ended_on",
                   "end_agreement.ended_on is after the agreement's ends_on");
  int cause = lp_is_school(ctx) ? CAUSE(SCHOOL) : lp_is_company(ctx) ? CAUSE(COMPANY) : CAUSE(COORDINATOR);
  Leerplek__V1__Vacancy *vacancy = NULL;
  Leerplek__V1__Placement *placement = lp_placement_ended(ctx, stored, ended_on, cause, request->reason, &vacancy);
  lp_event_detail detail = {.proposal_id = stored->proposal_id, .reason = request->reason};
  if (lp_commit_placement(ctx, "end_agreement", key, placement, vacancy, NULL, &detail) != 0) return -1;
  Leerplek__V1__EndAgreementResponse *reply = lp_reply_body(ctx, &leerplek__v1__end_agreement_response__descriptor);
  reply->state = STATE(ENDED);
  reply->agreement = placement->agreement;
  return 0;
}

static Leerplek__V1__Date *scratch_date(lp_ctx *ctx, const Leerplek__V1__Date *date) {
  if (!date) return NULL;
  Leerplek__V1__Date *copy = lp_scratch(ctx, sizeof *copy);
  leerplek__v1__date__init(copy);
  copy->year = date->year;
  copy->month = date->month;
  copy->day = date->day;
  return copy;
}

/* The archive's row for a placement: no pupil reference, no free text. Scratch memory, since
 * the placement itself goes once the close is applied. */
static Leerplek__V1__ArchivedPlacement *archived(lp_ctx *ctx, const Leerplek__V1__Placement *placement) {
  Leerplek__V1__ArchivedPlacement *row = lp_scratch(ctx, sizeof *row);
  leerplek__v1__archived_placement__init(row);
  row->school_id = lp_scratch_strdup(ctx, placement->school_id);
  row->training_code = lp_scratch_strdup(ctx, placement->training_code);
  row->state = placement->state;
  row->company_id = lp_scratch_strdup(ctx, placement->offer ? placement->offer->company_id : "");
  row->vacancy_id = lp_scratch_strdup(ctx, placement->offer ? placement->offer->vacancy_id : "");
  const Leerplek__V1__AgreementInfo *agreement = placement->agreement;
  row->agreement_ref = lp_scratch_strdup(ctx, agreement ? agreement->agreement_ref : "");
  if (agreement) {
    row->starts_on = scratch_date(ctx, agreement->starts_on);
    row->ended_on = scratch_date(ctx, agreement->ended_on);
    row->end_cause = agreement->end_cause;
  }
  row->requested_unix_s = placement->requested_unix_s;
  row->closed_unix_s =
      placement->state == STATE(ENDED) && agreement ? agreement->ended_unix_s : placement->updated_unix_s;
  return row;
}

/* Removes the entries at increasing indices in one pass over the map (lp_state_remove would
 * move the map's tail once per key: quadratic for a year's worth). */
static void remove_indices(lp_state *state, lp_map *map, const size_t *indices, size_t count) {
  size_t kept = 0, next = 0;
  for (size_t i = 0; i < map->count; i++) {
    if (next < count && indices[next] == i) {
      /* As lp_state_put does: a removed record's packed form goes with it. */
      state->packed_bytes -= map->entries[i].packed ? map->entries[i].packed_size : 0;
      free(map->entries[i].packed);
      free(map->entries[i].key);
      map->free_value(map->entries[i].value);
      next++;
      continue;
    }
    map->entries[kept++] = map->entries[i];
  }
  map->count = kept;
  lp_map_keys_changed(map);
}

int lp_handle_close_school_year(lp_ctx *ctx) {
  const Leerplek__V1__CloseSchoolYearRequest *request = ctx->request->close_school_year;
  if (!lp_check_date(ctx, request->boundary, "close_school_year.boundary")) return -1;
  long boundary = lp_date_number(request->boundary);
  if (boundary > lp_today_number(ctx->now))
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "close_school_year.boundary",
                   "close_school_year.boundary is after today; a school year is closed once it is over");
  long long boundary_end = lp_day_after_unix(request->boundary);
  const lp_map *placements = &ctx->daemon->state.maps[LP_KIND_PLACEMENT];
  Leerplek__V1__CloseSchoolYearResponse *reply =
      lp_reply_body(ctx, &leerplek__v1__close_school_year_response__descriptor);
  reply->dry_run = request->dry_run;
  reply->archive_key = (char *)"";
  /* The stored archive (every row) and the reply's (the first MAX_ARCHIVE_IN_REPLY). */
  Leerplek__V1__ArchivedPlacement **rows = lp_scratch(ctx, (placements->count + 1) * sizeof *rows);
  char **keys = lp_scratch(ctx, (placements->count + 1) * sizeof *keys);
  size_t *indices = lp_scratch(ctx, (placements->count + 1) * sizeof *indices);
  size_t count = 0;
  for (size_t i = 0; i < placements->count; i++) {
    const Leerplek__V1__Placement *placement = placements->entries[i].value;
    bool ended = placement->state == STATE(ENDED), withdrawn = placement->state == STATE(WITHDRAWN);
    if (placement->state == STATE(AGREEMENT)) reply->agreements_running++;
    if (!ended && !withdrawn) continue;
    bool by_boundary = ended ? placement->agreement && lp_date_number(placement->agreement->ended_on) <= boundary
                             : placement->updated_unix_s < boundary_end;
    if (!by_boundary) {
      reply->kept_after_boundary++;
      continue;
    }
    if (ended)
      reply->agreements_archived++;
    else
      reply->withdrawn_archived++;
    indices[count] = i;
    keys[count] = lp_scratch_strdup(ctx, placements->entries[i].key);
    rows[count++] = archived(ctx, placement);
  }
  Leerplek__V1__SchoolYearArchive *archive = lp_scratch(ctx, sizeof *archive);
  leerplek__v1__school_year_archive__init(archive);
  archive->boundary = scratch_date(ctx, request->boundary);
  archive->closed_unix_s = ctx->now;
  archive->placements = rows;
  archive->n_placements = count;
  reply->archive = archive;
  if (!request->dry_run && count > 0) {
    char archive_key[96];
    snprintf(archive_key, sizeof archive_key, "lp:archive:%04d-%02d-%02d:%lld", request->boundary->year,
             request->boundary->month, request->boundary->day, ctx->now);
    size_t size = protobuf_c_message_get_packed_size(&archive->base);
    uint8_t *bytes = lp_malloc(size + 1);
    protobuf_c_message_pack(&archive->base, bytes);
    lp_change *change = lp_begin(ctx, "close_school_year", LP_KIND_PLACEMENT, keys[0]);
    /* Deleted in memory below in one pass over the map, not key by key as lp_change_delete
     * would (a year's placements are most of the map). */
    lp_txn *txn = lp_change_txn(change);
    lp_txn_delete(txn, LP_KIND_PLACEMENT, keys[0]);
    for (size_t i = 1; i < count; i++) {
      lp_txn_delete(txn, LP_KIND_PLACEMENT, keys[i]);
      lp_txn_event(txn, ctx->daemon->config.instance_id, "close_school_year", LP_KIND_PLACEMENT, keys[i], ctx->actor,
                   ctx->daemon->config.events_max_length);
    }
    lp_txn_set_raw(txn, archive_key, bytes, size);
    free(bytes);
    if (lp_commit(ctx, change) != 0) return -1;
    remove_indices(&ctx->daemon->state, &ctx->daemon->state.maps[LP_KIND_PLACEMENT], indices, count);
    reply->archive_key = lp_scratch_strdup(ctx, archive_key);
  }
  if (count > MAX_ARCHIVE_IN_REPLY) {
    archive->n_placements = MAX_ARCHIVE_IN_REPLY;
    reply->archive_truncated = true;
  }
  return 0;
}
