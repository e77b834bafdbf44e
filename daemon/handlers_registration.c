/* handlers_registration: the central registration point for coordinators. Every referral of any
 * school to the partners, with its state, holder and ages, and per partner and per school the
 * count and the median and 90th percentile of the days from request to start; requests not
 * started within the deadline are flagged. Computed from memory at the time of the call. */
#include "lp_handlers.h"
#include "lp_report.h"

#define CODE(name) LEERPLEK__V1__STATUS_CODE__STATUS_CODE_##name

int lp_handle_get_registration_point(lp_ctx *ctx) {
  const Leerplek__V1__GetRegistrationPointRequest *request = ctx->request->get_registration_point;
  if (request->deadline_days > 3650)
    return lp_fail(ctx, CODE(INVALID_ARGUMENT), "get_registration_point.deadline_days",
                   "deadline_days must be 0..3650 (0 = %d), not %u", LP_REGISTRATION_DEFAULT_DEADLINE_DAYS,
                   request->deadline_days);
  uint32_t deadline = request->deadline_days ? request->deadline_days : LP_REGISTRATION_DEFAULT_DEADLINE_DAYS;
  lp_report_registration(&ctx->scratch, &ctx->daemon->state, deadline, ctx->now,
                         lp_reply_body(ctx, &leerplek__v1__get_registration_point_response__descriptor));
  return 0;
}
