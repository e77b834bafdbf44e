/* lp_handlers: the call handlers and the helpers they share (input checks, paging, scope,
 * writing a change set). A handler gets the call's context (lp_ctx.h), validates and checks
 * scope against the in-memory state, and either fills the reply's body or builds one change set
 * (lp_write.h) and hands it over; the reply leaves once Redis confirms.
 *
 * Errors, by layer: a handler and its helpers return 0, or -1 with the failure recorded by
 * lp_fail (a StatusCode, the field, a message: what the client gets); bool checks return
 * false with the same recorded. Below the handlers (store, write, rematch) 0 / -1 says whether
 * the thing was done, with the reason logged or in an error buffer; constructors return NULL
 * only when a library refuses (libevent); allocation never fails (lp_alloc.h aborts). Broken
 * invariants (a caller's bug) are assert()s. */
#ifndef LP_HANDLERS_H
#define LP_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leerplek.pb-c.h"
#include "lp_ctx.h"
#include "lp_daemon.h"
#include "lp_deadlines.h"
#include "lp_records.h"
#include "lp_store.h"
#include "lp_write.h"

/* Fixed limits of the proto (reported in HelloResponse.limits beside the configured ones). */
#define LP_MAX_TRAINING_CODE_BYTES 32
#define LP_MAX_SEATS 100
#define LP_MIN_COMMUTE_M 100
#define LP_MAX_COMMUTE_M 200000
/* run_rematch.max_changes and get_report.max_shortages (checked in handlers_rematch.c). */
#define LP_DEFAULT_REMATCH_CHANGES 100
#define LP_MAX_REMATCH_CHANGES 1000
#define LP_DEFAULT_REPORT_SHORTAGES 20
#define LP_MAX_REPORT_SHORTAGES 200

/* Writes. A handler builds one change set (lp_write.h) and hands it over:
 *   lp_change *change = lp_begin(ctx, "update", LP_KIND_PUPIL, key);
 *   lp_change_put(change, LP_KIND_PUPIL, key, record);   // the change owns record now
 *   if (lp_commit(ctx, change) != 0) return -1;            // sent and in memory, or all freed
 * The reply then waits for Redis to confirm (ctx->pending). */
/* A change whose event is op on kind/key by the caller, for this call. */
lp_change *lp_begin(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key);
/* Commits change (lp_change_commit) and marks the call pending; -1 with UNAVAILABLE set when
 * the store cannot take writes now. The change is gone either way. */
int lp_commit(lp_ctx *ctx, lp_change *change);

/* Writes one record (op "upsert", "create", ...): the record and its index in one MULTI/EXEC
 * with its event, then into memory. Takes ownership of record. */
int lp_store_record(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key, void *record);
/* The same with more for its event (a reason, say; see lp_event_detail); detail may be NULL. */
int lp_store_record_detail(lp_ctx *ctx, const char *op, enum lp_kind kind, const char *key, void *record,
                           const lp_event_detail *detail);

/* One page of a list call: the matching values after the page token's key (at most the page
 * size), the next page token (scratch, made by lp_page_token_make for request; "" on the last
 * page) and the count of all matches. */
typedef bool lp_list_filter(const lp_ctx *ctx, const void *value, const void *arg);
int lp_list_page(lp_ctx *ctx, enum lp_kind kind, const ProtobufCMessage *request, uint32_t page_size,
                 const char *page_token, const char *call, lp_list_filter *filter, const void *arg, void ***items,
                 size_t *item_count, char **next_page_token, uint32_t *total_size);

/* Input checks. Each returns true when fine; otherwise records INVALID_ARGUMENT naming field. */
bool lp_check_id(lp_ctx *ctx, const char *value, const char *field);
bool lp_check_training_code(lp_ctx *ctx, const char *value, const char *field);
bool lp_check_company_id(lp_ctx *ctx, const char *value, const char *field);
bool lp_check_postcode(lp_ctx *ctx, const char *value, const char *field);
/* UTF-8, no control characters (newlines only when allow_newlines), length min..max bytes. */
bool lp_check_text(lp_ctx *ctx, const char *value, const char *field, size_t min, size_t max, bool allow_newlines);
/* Every string field of a Request frame (the token and every nested field), read from the wire
 * bytes so that embedded NULs count: UTF-8 without control characters, newlines only in the
 * fields the proto allows them in. INVALID_ARGUMENT naming the field ("token",
 * "upsert_training.training.name", "upsert_company.company.recognised_training_codes[1]").
 * Dispatch runs it on every call before anything else looks at the request. */
bool lp_check_request_text(lp_ctx *ctx, const uint8_t *frame, size_t size);
bool lp_check_day_mask(lp_ctx *ctx, uint32_t mask, const char *field);
/* A list of training codes (field = the list's path, items named field[i]): at most max, each
 * well-formed and existing, none twice. */
bool lp_check_training_list(lp_ctx *ctx, char *const *codes, size_t count, size_t max, const char *field);
bool lp_check_point(lp_ctx *ctx, const Leerplek__V1__GeoPoint *point, const char *field);
bool lp_check_date(lp_ctx *ctx, const Leerplek__V1__Date *date, const char *field);
bool lp_check_revision(lp_ctx *ctx, uint64_t expected, uint64_t stored, const char *field);

/* Paging: the effective page size (0 = default, clamped to the maximum). */
uint32_t lp_page_size(const lp_ctx *ctx, uint32_t requested);

/* Opaque page tokens, for every list call (lp_list_page uses them; calls that page by their own
 * order, such as list_proposals or the waiting list, call them directly). A token carries the
 * last key returned (hex) and a tag binding it to the call, the caller's role and scope and the
 * request's filters: every field of the list request except page_size and page_token, read
 * from its wire bytes, so new filter fields are covered without listing them. The next page
 * resumes after that key, so inserts between pages neither repeat nor skip an entry.
 *
 *   lp_page_token_make(ctx, "list_pupils", &request->base, last_key)   -> scratch string
 *   lp_page_token_read(ctx, "list_pupils", &request->base, request->page_token, last_key)
 *
 * read gives last_key "" for an empty token (the first page). A token made for another call,
 * another role or scope, other filters, or not made here at all is INVALID_ARGUMENT naming
 * "<call>.page_token". Keys are C strings shorter than LP_MAX_KEY. */
char *lp_page_token_make(lp_ctx *ctx, const char *call, const ProtobufCMessage *request, const char *last_key);
bool lp_page_token_read(lp_ctx *ctx, const char *call, const ProtobufCMessage *request, const char *page_token,
                        char last_key[LP_MAX_KEY]);

/* The stored pupil named by (school_id, ref) if the token may see it (lp_resolve_school), else
 * NULL with the failure set; fields are named "<call>.school_id" and "<call>.pupil_ref". key
 * receives the pupil key. */
Leerplek__V1__Pupil *lp_visible_pupil(lp_ctx *ctx, const char *school_id, const char *ref, const char *call,
                                      char key[LP_MAX_KEY]);
/* The DistanceBand of a distance in metres, all a company or a support organisation may see. */
int lp_distance_band(uint32_t metres);
/* The pupil key "<school>/<ref>". */
void lp_pupil_key(const char *school_id, const char *ref, char key[LP_MAX_KEY]);
/* first, second and third one after the other in out (truncated to size - 1 bytes, as
 * snprintf would): for keys and field names on hot paths, where snprintf's parsing showed. */
void lp_concat(char *out, size_t size, const char *first, const char *second, const char *third);
/* Role helpers. */
bool lp_is_school(const lp_ctx *ctx);
bool lp_is_company(const lp_ctx *ctx);
bool lp_is_coordinator(const lp_ctx *ctx);
bool lp_is_support(const lp_ctx *ctx);
/* For SCHOOL tokens: resolves an empty school_id to the token's school and refuses another
 * school's id as NOT_FOUND (so a school cannot learn that another school's pupil exists).
 * For COORDINATORs: school_id is required. Sets *school to the effective id. */
bool lp_resolve_school(lp_ctx *ctx, const char *school_id, const char *field, const char **school);

/* handlers_catalog.c */
int lp_handle_upsert_training(lp_ctx *ctx);
int lp_handle_get_training(lp_ctx *ctx);
int lp_handle_list_trainings(lp_ctx *ctx);
int lp_handle_upsert_company(lp_ctx *ctx);
int lp_handle_get_company(lp_ctx *ctx);
int lp_handle_list_companies(lp_ctx *ctx);
int lp_handle_upsert_location(lp_ctx *ctx);
int lp_handle_get_location(lp_ctx *ctx);
int lp_handle_list_locations(lp_ctx *ctx);
/* handlers_vacancies.c */
int lp_handle_publish_vacancy(lp_ctx *ctx);
int lp_handle_update_vacancy(lp_ctx *ctx);
int lp_handle_close_vacancy(lp_ctx *ctx);
int lp_handle_get_vacancy(lp_ctx *ctx);
int lp_handle_list_vacancies(lp_ctx *ctx);
/* handlers_pupils.c */
int lp_handle_register_pupil(lp_ctx *ctx);
int lp_handle_update_pupil(lp_ctx *ctx);
int lp_handle_get_pupil(lp_ctx *ctx);
int lp_handle_list_pupils(lp_ctx *ctx);
int lp_handle_erase_pupil(lp_ctx *ctx);
int lp_handle_request_placement(lp_ctx *ctx);
int lp_handle_withdraw_placement(lp_ctx *ctx);
int lp_handle_get_placement(lp_ctx *ctx);
int lp_handle_list_placements(lp_ctx *ctx);
/* A new placement request of pupil, WAITING since now (NULL when out of memory). */
Leerplek__V1__Placement *lp_placement_new(const Leerplek__V1__Pupil *pupil, long long now);
/* For a changed pupil record (key names it): when its PROPOSED placement no longer fits, adds
 * the release to releases and sets *vacancy to a copy of the vacancy with the seat released
 * (NULL when none); 0, or -1 with INTERNAL (releases freed). */
struct lp_releases;
int lp_release_if_unfit(lp_ctx *ctx, const char *key, const Leerplek__V1__Pupil *record,
                        const Leerplek__V1__Placement *placement, struct lp_releases *releases,
                        Leerplek__V1__Vacancy **vacancy);
/* handlers_proposals.c */
int lp_handle_list_proposals(lp_ctx *ctx);
int lp_handle_accept_proposal(lp_ctx *ctx);
int lp_handle_decline_proposal(lp_ctx *ctx);
int lp_handle_record_agreement(lp_ctx *ctx);
/* The placement holding proposal id, if the token may act on it (else NULL with the failure
 * set: FAILED_PRECONDITION for an id a rematch could have issued, NOT_FOUND otherwise); fills
 * key. */
Leerplek__V1__Placement *lp_find_proposal(lp_ctx *ctx, uint64_t id, const char *field, char key[LP_MAX_KEY]);
/* Commits a new placement (and optionally vacancy and pupil records, else NULL) with the event
 * op and what detail adds to it (NULL: what the records say), then applies them to memory.
 * Takes ownership of the records (freed on failure). */
int lp_commit_placement(lp_ctx *ctx, const char *op, const char *key, Leerplek__V1__Placement *placement,
                        Leerplek__V1__Vacancy *vacancy, Leerplek__V1__Pupil *pupil, const lp_event_detail *detail);
/* A copy of the vacancy a placement's proposal holds a seat in, with that seat released
 * (NULL when the placement holds none; *holds says whether it holds one). */
Leerplek__V1__Vacancy *lp_vacancy_releasing(lp_ctx *ctx, const Leerplek__V1__Placement *placement, bool *holds);
/* PROPOSED placements being released back to WAITING by a change. */
typedef struct lp_release {
  char key[LP_MAX_KEY];
  Leerplek__V1__Placement *placement;
  /* What it held, for its event ("release"). */
  char vacancy_id[LP_MAX_KEY], company_id[LP_MAX_KEY];
  uint64_t proposal_id;
  int old_state;
} lp_release;
typedef struct lp_releases {
  lp_release *items;
  size_t count;
} lp_releases;
/* Adds a released copy of stored (key names it). */
void lp_release_add(lp_ctx *ctx, lp_releases *releases, const char *key, const Leerplek__V1__Placement *stored);
/* Moves the released placements into change, each with its "release" event (the change owns
 * them now; the list is empty afterwards); or frees them when no change is made. */
void lp_releases_move(lp_releases *releases, lp_change *change);
void lp_releases_free(lp_releases *releases);
/* handlers_lifecycle.c */
int lp_handle_end_agreement(lp_ctx *ctx);
int lp_handle_close_school_year(lp_ctx *ctx);
/* A copy of an AGREEMENT placement, ENDED on ended_on by cause (an AgreementEndCause) with
 * reason; *vacancy gets a copy of its vacancy with the seat freed (NULL when gone). */
Leerplek__V1__Placement *lp_placement_ended(lp_ctx *ctx, const Leerplek__V1__Placement *stored,
                                            const Leerplek__V1__Date *ended_on, int cause, const char *reason,
                                            Leerplek__V1__Vacancy **vacancy);
/* handlers_deadlines.c: the sweep's writes (an lp_due_action, see lp_deadlines.h). */
bool lp_handle_due(lp_daemon *daemon, long long now, enum lp_due what, const char *key,
                   const Leerplek__V1__Placement *stored);
/* handlers_manual.c */
int lp_handle_place_pupil(lp_ctx *ctx);
int lp_handle_pin_placement(lp_ctx *ctx);
/* handlers_support.c */
int lp_handle_upsert_support_organisation(lp_ctx *ctx);
int lp_handle_get_support_organisation(lp_ctx *ctx);
int lp_handle_list_support_organisations(lp_ctx *ctx);
int lp_handle_upsert_support_offer(lp_ctx *ctx);
int lp_handle_get_support_offer(lp_ctx *ctx);
int lp_handle_list_support_offers(lp_ctx *ctx);
/* handlers_referrals.c */
/* Appends a transition (the referral's state after it, who, when, a note) to its history. */
void lp_referral_add_history(Leerplek__V1__Referral *referral, const char *actor, long long now, const char *note);
int lp_handle_refer_pupil(lp_ctx *ctx);
int lp_handle_get_referral(lp_ctx *ctx);
int lp_handle_list_referrals(lp_ctx *ctx);
int lp_handle_list_support_referrals(lp_ctx *ctx);
int lp_handle_offer_referral(lp_ctx *ctx);
int lp_handle_accept_referral(lp_ctx *ctx);
int lp_handle_decline_referral(lp_ctx *ctx);
int lp_handle_start_referral(lp_ctx *ctx);
int lp_handle_end_referral(lp_ctx *ctx);
int lp_handle_withdraw_referral(lp_ctx *ctx);
/* handlers_dispatch.c */
int lp_handle_run_dispatch(lp_ctx *ctx);
int lp_handle_get_referral_waiting_list(lp_ctx *ctx);
/* handlers_rematch.c */
int lp_handle_run_rematch(lp_ctx *ctx);
int lp_handle_get_report(lp_ctx *ctx);
int lp_handle_get_waiting_list(lp_ctx *ctx);
/* handlers_registration.c */
int lp_handle_get_registration_point(lp_ctx *ctx);

/* handlers_history.c */
int lp_handle_get_history(lp_ctx *ctx);
int lp_handle_watch(lp_ctx *ctx);
/* The nightly dispatch, applied (logged; a failure leaves everything as it was). */
void lp_referrals_dispatch_nightly(lp_daemon *daemon, long long now);
/* handlers_tokens.c */
int lp_handle_create_token(lp_ctx *ctx);
int lp_handle_revoke_token(lp_ctx *ctx);
int lp_handle_list_tokens(lp_ctx *ctx);

#endif
