/* test_statuses: every status leerplek.proto documents, call by call, against the real daemon:
 * NOT_FOUND for absent objects and for objects outside the token's scope (answered alike),
 * PERMISSION_DENIED for what a role may not do, FAILED_PRECONDITION, ABORTED on a stale
 * revision or a running rematch, ALREADY_EXISTS, INVALID_ARGUMENT with the field named (page
 * tokens of another list or other filters among them), UNAUTHENTICATED. One table, one row per
 * documented case; each refusal must name the field and leave Redis unchanged. The state is
 * real: a rematch makes the proposals, both sides accept one and sign its agreement.
 * (test_access walks the roles against every call; this walks the rest.) */
#include "common.h"

enum who { ANONYMOUS, SCHOOL_A, SCHOOL_B, COMPANY_X, COMPANY_Y, COORDINATOR, ADMIN, WHO_COUNT };

static lp_harness harness;
static char tokens[WHO_COUNT][128];
static leerplek_client *clients[WHO_COUNT];
/* Proposal ids made by the rematch: p1 signed (AGREEMENT), p3 declined (stale), p4 PROPOSED,
 * p5 ACCEPTED; so vac-x has two seats filled. */
static uint64_t signed_id, stale_id, proposed_id, accepted_id, epoch;
/* next_page_token of real pages, to be replayed elsewhere. */
static char trainings_token[256], companies_token[256], pupils_token[256], locations_token[256];

/* ---- building requests ----------------------------------------------------------------- */

/* Bodies live in an arena freed after each case. */
typedef struct arena {
  void *blocks[32];
  int count;
} arena;

static void *take(arena *a, size_t size) {
  cr_assert_lt(a->count, 32);
  return a->blocks[a->count++] = calloc(1, size);
}

static void arena_free(arena *a) {
  for (int i = 0; i < a->count; i++) free(a->blocks[i]);
  a->count = 0;
}

/* BODY(UpsertTraining, upsert_training, UPSERT_TRAINING): b is the new body of request r. */
#define BODY(Type, member, CASE)                                                                                       \
  Leerplek__V1__##Type##Request *b = take(a, sizeof *b);                                                               \
  leerplek__v1__##member##_request__init(b);                                                                           \
  r->body_case = LEERPLEK__V1__REQUEST__BODY_##CASE;                                                                   \
  r->member = b

static Leerplek__V1__Date *date(arena *a) {
  Leerplek__V1__Date *d = take(a, sizeof *d);
  leerplek__v1__date__init(d);
  d->year = 2026, d->month = 9, d->day = 1;
  return d;
}

static Leerplek__V1__Training *training(arena *a, const char *code) {
  Leerplek__V1__Training *t = take(a, sizeof *t);
  leerplek__v1__training__init(t);
  t->code = (char *)code;
  t->name = (char *)"Name";
  return t;
}

static Leerplek__V1__Company *company(arena *a, const char *id, const char *training_code) {
  Leerplek__V1__Company *c = take(a, sizeof *c);
  leerplek__v1__company__init(c);
  char **codes = take(a, sizeof *codes);
  codes[0] = (char *)training_code;
  c->id = (char *)id;
  c->name = (char *)"Kapsalon";
  c->n_recognised_training_codes = training_code ? 1 : 0;
  c->recognised_training_codes = codes;
  return c;
}

static Leerplek__V1__Location *location(arena *a, const char *id, const char *company_id) {
  Leerplek__V1__Location *l = take(a, sizeof *l);
  leerplek__v1__location__init(l);
  Leerplek__V1__GeoPoint *point = take(a, sizeof *point);
  leerplek__v1__geo_point__init(point);
  point->lat_e6 = 51230000, point->lon_e6 = 4420000;
  l->id = (char *)id;
  l->company_id = (char *)company_id;
  l->point = point;
  l->postcode = (char *)"2170";
  return l;
}

static Leerplek__V1__Vacancy *vacancy(arena *a, const char *id, const char *location_id, uint32_t seats) {
  Leerplek__V1__Vacancy *v = take(a, sizeof *v);
  leerplek__v1__vacancy__init(v);
  v->id = (char *)id;
  v->location_id = (char *)location_id;
  v->training_code = (char *)"KAPPER";
  v->seats = seats;
  v->min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  v->day_mask = 0x183;
  v->kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  v->start_date = date(a);
  return v;
}

static Leerplek__V1__Pupil *pupil(arena *a, const char *school, const char *ref) {
  Leerplek__V1__Pupil *p = take(a, sizeof *p);
  Leerplek__V1__GeoPoint *home = take(a, sizeof *home);
  fill_pupil(p, home, school, ref, "KAPPER");
  return p;
}

static Leerplek__V1__AgreementInfo *agreement(arena *a) {
  Leerplek__V1__AgreementInfo *info = take(a, sizeof *info);
  leerplek__v1__agreement_info__init(info);
  info->agreement_ref = (char *)"OAO-1";
  info->signed_on = date(a);
  info->starts_on = date(a);
  return info;
}

/* ---- the cases ------------------------------------------------------------------------- */

typedef void build_fn(Leerplek__V1__Request *r, arena *a);
typedef struct status_case {
  const char *name;
  enum who who;
  build_fn *build;
  int code;
  const char *field; /* exact Status.field */
} status_case;

#define CASE(fn) static void fn(Leerplek__V1__Request *r, arena *a)

CASE(training_stale_revision) {
  BODY(UpsertTraining, upsert_training, UPSERT_TRAINING);
  b->training = training(a, "KAPPER");
  b->expected_revision = 99;
}
CASE(training_missing) { BODY(UpsertTraining, upsert_training, UPSERT_TRAINING); }
CASE(training_bad_code) {
  BODY(UpsertTraining, upsert_training, UPSERT_TRAINING);
  b->training = training(a, "kapper");
}
CASE(training_absent) {
  BODY(GetTraining, get_training, GET_TRAINING);
  b->code = (char *)"NOPE";
}
CASE(trainings_garbage_token) {
  BODY(ListTrainings, list_trainings, LIST_TRAININGS);
  b->page_token = (char *)"KAPPER";
}
CASE(trainings_token_of_companies) {
  BODY(ListTrainings, list_trainings, LIST_TRAININGS);
  b->page_token = companies_token;
}
CASE(trainings_token_forged) {
  BODY(ListTrainings, list_trainings, LIST_TRAININGS);
  /* A real token with its key changed: the tag no longer matches. */
  static char forged[256];
  snprintf(forged, sizeof forged, "%s", trainings_token);
  size_t last = strlen(forged) - 1;
  forged[last] = forged[last] == '1' ? '2' : '1';
  b->page_token = forged;
}
CASE(company_stale_revision) {
  BODY(UpsertCompany, upsert_company, UPSERT_COMPANY);
  b->company = company(a, "1111111111", "KAPPER");
  b->expected_revision = 99;
}
CASE(company_loses_recognition_in_use) {
  BODY(UpsertCompany, upsert_company, UPSERT_COMPANY);
  b->company = company(a, "1111111111", "BAKKER");
}
CASE(company_unknown_training) {
  BODY(UpsertCompany, upsert_company, UPSERT_COMPANY);
  b->company = company(a, "3333333333", "NOPE");
}
CASE(company_absent) {
  BODY(GetCompany, get_company, GET_COMPANY);
  b->company_id = (char *)"9999999999";
}
CASE(company_other) {
  BODY(GetCompany, get_company, GET_COMPANY);
  b->company_id = (char *)"1111111111";
}
CASE(companies_token_other_filter) {
  BODY(ListCompanies, list_companies, LIST_COMPANIES);
  b->page_token = companies_token;
  b->training_code = (char *)"BAKKER";
}
CASE(location_of_other_company) {
  BODY(UpsertLocation, upsert_location, UPSERT_LOCATION);
  b->location = location(a, "loc-x", "2222222222");
}
CASE(location_for_other_company) {
  BODY(UpsertLocation, upsert_location, UPSERT_LOCATION);
  b->location = location(a, "loc-new", "2222222222");
}
CASE(location_moves_company) {
  BODY(UpsertLocation, upsert_location, UPSERT_LOCATION);
  b->location = location(a, "loc-x", "2222222222");
}
CASE(location_stale_revision) {
  BODY(UpsertLocation, upsert_location, UPSERT_LOCATION);
  b->location = location(a, "loc-x", "1111111111");
  b->expected_revision = 99;
}
CASE(location_no_company) {
  BODY(UpsertLocation, upsert_location, UPSERT_LOCATION);
  b->location = location(a, "loc-z", "9999999999");
}
CASE(get_location_other) {
  BODY(GetLocation, get_location, GET_LOCATION);
  b->location_id = (char *)"loc-x";
}
CASE(get_location_absent) {
  BODY(GetLocation, get_location, GET_LOCATION);
  b->location_id = (char *)"loc-none";
}
CASE(locations_other_company) {
  BODY(ListLocations, list_locations, LIST_LOCATIONS);
  b->company_id = (char *)"2222222222";
}
CASE(locations_token_other_filter) {
  BODY(ListLocations, list_locations, LIST_LOCATIONS);
  b->page_token = locations_token;
  b->company_id = (char *)"2222222222";
}
CASE(publish_taken) {
  BODY(PublishVacancy, publish_vacancy, PUBLISH_VACANCY);
  b->vacancy = vacancy(a, "vac-x", "loc-x", 1);
}
CASE(publish_at_other_location) {
  BODY(PublishVacancy, publish_vacancy, PUBLISH_VACANCY);
  b->vacancy = vacancy(a, "vac-new", "loc-x", 1);
}
CASE(publish_at_absent_location) {
  BODY(PublishVacancy, publish_vacancy, PUBLISH_VACANCY);
  b->vacancy = vacancy(a, "vac-new", "loc-none", 1);
}
CASE(publish_unrecognised) {
  BODY(PublishVacancy, publish_vacancy, PUBLISH_VACANCY);
  b->vacancy = vacancy(a, "vac-new", "loc-y", 1);
}
CASE(update_vacancy_other) {
  BODY(UpdateVacancy, update_vacancy, UPDATE_VACANCY);
  b->vacancy = vacancy(a, "vac-x", "loc-x", 3);
}
CASE(update_vacancy_stale) {
  BODY(UpdateVacancy, update_vacancy, UPDATE_VACANCY);
  b->vacancy = vacancy(a, "vac-x", "loc-x", 3);
  b->expected_revision = 99;
}
CASE(update_vacancy_days_under_agreement) {
  BODY(UpdateVacancy, update_vacancy, UPDATE_VACANCY);
  b->vacancy = vacancy(a, "vac-x", "loc-x", 3);
  b->vacancy->day_mask = 0x3fff; /* the days a signed placement relies on */
}
CASE(update_vacancy_below_filled) {
  BODY(UpdateVacancy, update_vacancy, UPDATE_VACANCY);
  b->vacancy = vacancy(a, "vac-x", "loc-x", 1);
}
CASE(update_vacancy_absent) {
  BODY(UpdateVacancy, update_vacancy, UPDATE_VACANCY);
  b->vacancy = vacancy(a, "vac-none", "loc-x", 1);
}
CASE(close_vacancy_other) {
  BODY(CloseVacancy, close_vacancy, CLOSE_VACANCY);
  b->vacancy_id = (char *)"vac-x";
}
CASE(get_vacancy_absent) {
  BODY(GetVacancy, get_vacancy, GET_VACANCY);
  b->vacancy_id = (char *)"vac-none";
}
CASE(vacancies_other_company) {
  BODY(ListVacancies, list_vacancies, LIST_VACANCIES);
  b->company_id = (char *)"1111111111";
}
CASE(vacancies_token_of_pupils) {
  BODY(ListVacancies, list_vacancies, LIST_VACANCIES);
  b->page_token = pupils_token;
}
CASE(register_taken) {
  BODY(RegisterPupil, register_pupil, REGISTER_PUPIL);
  b->pupil = pupil(a, "school-a", "p2");
}
CASE(register_other_school) {
  BODY(RegisterPupil, register_pupil, REGISTER_PUPIL);
  b->pupil = pupil(a, "school-b", "new");
}
CASE(register_unknown_training) {
  BODY(RegisterPupil, register_pupil, REGISTER_PUPIL);
  b->pupil = pupil(a, "school-a", "new");
  b->pupil->training_code = (char *)"NOPE";
}
CASE(update_pupil_stale) {
  BODY(UpdatePupil, update_pupil, UPDATE_PUPIL);
  b->pupil = pupil(a, "school-a", "p2");
  b->expected_revision = 99;
}
CASE(update_pupil_other_school) {
  BODY(UpdatePupil, update_pupil, UPDATE_PUPIL);
  b->pupil = pupil(a, "school-a", "p2");
}
CASE(update_pupil_signed) {
  BODY(UpdatePupil, update_pupil, UPDATE_PUPIL);
  b->pupil = pupil(a, "school-a", "p1");
  b->pupil->max_commute_m = 3000;
}
CASE(get_pupil_other_school) {
  BODY(GetPupil, get_pupil, GET_PUPIL);
  b->school_id = (char *)"school-a";
  b->pupil_ref = (char *)"p1";
}
CASE(get_pupil_absent) {
  BODY(GetPupil, get_pupil, GET_PUPIL);
  b->pupil_ref = (char *)"nobody";
}
CASE(pupils_other_school) {
  BODY(ListPupils, list_pupils, LIST_PUPILS);
  b->school_id = (char *)"school-b";
}
CASE(pupils_token_other_filter) {
  BODY(ListPupils, list_pupils, LIST_PUPILS);
  b->page_token = pupils_token;
  b->training_code = (char *)"KAPPER";
}
CASE(pupils_token_other_school) {
  BODY(ListPupils, list_pupils, LIST_PUPILS);
  b->page_token = pupils_token;
}
CASE(erase_absent) {
  BODY(ErasePupil, erase_pupil, ERASE_PUPIL);
  b->pupil_ref = (char *)"nobody";
}
CASE(request_active) {
  BODY(RequestPlacement, request_placement, REQUEST_PLACEMENT);
  b->pupil_ref = (char *)"p4";
}
CASE(withdraw_never_requested) {
  BODY(WithdrawPlacement, withdraw_placement, WITHDRAW_PLACEMENT);
  b->pupil_ref = (char *)"p2";
}
CASE(withdraw_twice) {
  BODY(WithdrawPlacement, withdraw_placement, WITHDRAW_PLACEMENT);
  b->pupil_ref = (char *)"w1";
}
CASE(get_placement_never_requested) {
  BODY(GetPlacement, get_placement, GET_PLACEMENT);
  b->pupil_ref = (char *)"p2";
}
CASE(placements_token_of_pupils) {
  BODY(ListPlacements, list_placements, LIST_PLACEMENTS);
  b->page_token = pupils_token;
}
CASE(proposals_other_company) {
  BODY(ListProposals, list_proposals, LIST_PROPOSALS);
  b->company_id = (char *)"1111111111";
}
CASE(proposals_token_of_trainings) {
  BODY(ListProposals, list_proposals, LIST_PROPOSALS);
  b->page_token = trainings_token;
}
CASE(accept_stale) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  b->proposal_id = stale_id;
}
CASE(accept_other_scope) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  b->proposal_id = proposed_id;
}
CASE(accept_never_issued) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  b->proposal_id = ((epoch + 5) << 24) | 1;
}
CASE(accept_zero) { BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL); }
CASE(accept_wrong_side) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  b->proposal_id = proposed_id;
  b->side = LEERPLEK__V1__SIDE__SIDE_COMPANY;
}
CASE(accept_coordinator_no_side) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  b->proposal_id = proposed_id;
}
CASE(decline_stale) {
  BODY(DeclineProposal, decline_proposal, DECLINE_PROPOSAL);
  b->proposal_id = stale_id;
}
CASE(decline_signed) {
  BODY(DeclineProposal, decline_proposal, DECLINE_PROPOSAL);
  b->proposal_id = signed_id;
}
CASE(agreement_not_accepted) {
  BODY(RecordAgreement, record_agreement, RECORD_AGREEMENT);
  b->proposal_id = proposed_id;
  b->agreement = agreement(a);
}
CASE(agreement_stale) {
  BODY(RecordAgreement, record_agreement, RECORD_AGREEMENT);
  b->proposal_id = stale_id;
  b->agreement = agreement(a);
}
CASE(agreement_missing) {
  BODY(RecordAgreement, record_agreement, RECORD_AGREEMENT);
  b->proposal_id = proposed_id;
}
CASE(agreement_ends_before_start) {
  BODY(RecordAgreement, record_agreement, RECORD_AGREEMENT);
  b->proposal_id = accepted_id;
  b->agreement = agreement(a);
  b->agreement->ends_on = date(a); /* the same day as starts_on */
}
static Leerplek__V1__EndAgreementRequest *end_body(Leerplek__V1__Request *r, arena *a, uint64_t id) {
  BODY(EndAgreement, end_agreement, END_AGREEMENT);
  b->proposal_id = id;
  b->reason = (char *)"stopt met de opleiding";
  return b;
}
CASE(end_not_signed) { end_body(r, a, accepted_id); }
CASE(end_stale) { end_body(r, a, stale_id); }
CASE(end_other_scope) { end_body(r, a, signed_id); }
CASE(end_zero) { end_body(r, a, 0); }
CASE(end_no_reason) { end_body(r, a, signed_id)->reason = (char *)""; }
CASE(end_in_the_future) {
  Leerplek__V1__EndAgreementRequest *b = end_body(r, a, signed_id);
  b->ended_on = date(a);
  b->ended_on->year = 2099;
}
CASE(end_before_signing) {
  Leerplek__V1__EndAgreementRequest *b = end_body(r, a, signed_id);
  b->ended_on = date(a);
  b->ended_on->year = 2025;
}
CASE(close_year_no_boundary) {
  BODY(CloseSchoolYear, close_school_year, CLOSE_SCHOOL_YEAR);
  (void)b;
}
CASE(close_year_future) {
  BODY(CloseSchoolYear, close_school_year, CLOSE_SCHOOL_YEAR);
  b->boundary = date(a);
  b->boundary->year = 2099;
}
CASE(close_year_bad_date) {
  BODY(CloseSchoolYear, close_school_year, CLOSE_SCHOOL_YEAR);
  b->boundary = date(a);
  b->boundary->month = 13;
}
/* place_pupil and pin_placement: p5 is ACCEPTED, p4 PROPOSED at vac-x, p3 DECLINED (company X
 * excluded for it), vac-x has one free seat (test_manual: a full vacancy, with an override). */
static void place_body(Leerplek__V1__Request *r, arena *a, const char *ref, const char *vacancy_id,
                       const char *reason) {
  BODY(PlacePupil, place_pupil, PLACE_PUPIL);
  b->school_id = (char *)"school-a";
  b->pupil_ref = (char *)ref;
  b->vacancy_id = (char *)vacancy_id;
  b->override_reason = (char *)reason;
}
CASE(place_accepted) { place_body(r, a, "p5", "vac-x", ""); }
CASE(place_absent_pupil) { place_body(r, a, "nobody", "vac-x", ""); }
CASE(place_absent_vacancy) { place_body(r, a, "p3", "vac-none", ""); }
CASE(place_where_proposed) { place_body(r, a, "p4", "vac-x", ""); }
CASE(place_refused_by_a_rule) { place_body(r, a, "p3", "vac-x", ""); }
static void pin_body(Leerplek__V1__Request *r, arena *a, const char *ref) {
  BODY(PinPlacement, pin_placement, PIN_PLACEMENT);
  b->school_id = (char *)"school-a";
  b->pupil_ref = (char *)ref;
  b->pin = true;
}
CASE(pin_accepted) { pin_body(r, a, "p5"); }
CASE(pin_absent_pupil) { pin_body(r, a, "nobody"); }
CASE(rematch_while_locked) { BODY(RunRematch, run_rematch, RUN_REMATCH); }
CASE(waiting_list_other_school) {
  BODY(GetWaitingList, get_waiting_list, GET_WAITING_LIST);
  b->school_id = (char *)"school-b";
}
CASE(history_two_subjects) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->vacancy_id = (char *)"vac-x";
  b->company_id = (char *)"1111111111";
}
CASE(history_of_a_pupil) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->school_id = (char *)"school-a";
  b->pupil_ref = (char *)"p1";
}
CASE(history_of_school_a) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->school_id = (char *)"school-a";
}
CASE(history_of_vac_x) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->vacancy_id = (char *)"vac-x";
}
CASE(history_of_an_absent_vacancy) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->vacancy_id = (char *)"vac-none";
}
CASE(history_of_company_x) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->company_id = (char *)"1111111111";
}
CASE(history_with_a_raw_page_token) {
  BODY(GetHistory, get_history, GET_HISTORY);
  b->vacancy_id = (char *)"vac-x";
  b->page_token = (char *)"00000000000000000000000000000000";
}
CASE(watch_after_no_event_id) {
  BODY(Watch, watch, WATCH);
  b->after_event_id = (char *)"yesterday";
}
CASE(token_no_role) {
  BODY(CreateToken, create_token, CREATE_TOKEN);
  (void)b;
}
CASE(token_unknown_company) {
  BODY(CreateToken, create_token, CREATE_TOKEN);
  b->role = LEERPLEK__V1__ROLE__ROLE_COMPANY;
  b->scope_id = (char *)"9999999999";
}
CASE(revoke_absent) {
  BODY(RevokeToken, revoke_token, REVOKE_TOKEN);
  b->token_id = (char *)"0000000000000000";
}
CASE(revoke_last_admin) {
  BODY(RevokeToken, revoke_token, REVOKE_TOKEN);
  static char id[32];
  memcpy(id, harness.admin_token + 4, 16);
  id[16] = '\0';
  b->token_id = id;
}
CASE(tokens_token_of_pupils) {
  BODY(ListTokens, list_tokens, LIST_TOKENS);
  b->page_token = pupils_token;
}
CASE(hello_unknown_version) {
  BODY(Hello, hello, HELLO);
  b->protocol_version = 9;
}
CASE(hello_unknown_token) {
  BODY(Hello, hello, HELLO);
  b->protocol_version = 1;
  r->token = (char *)"lp1.0000000000000000.0000000000000000000000000000000000000000000000000000000000000000";
}
CASE(any_call) {
  BODY(GetTraining, get_training, GET_TRAINING);
  b->code = (char *)"KAPPER";
}

#define IA CODE(INVALID_ARGUMENT)
#define NF CODE(NOT_FOUND)
#define PD CODE(PERMISSION_DENIED)
#define FP CODE(FAILED_PRECONDITION)
#define AB CODE(ABORTED)
#define AE CODE(ALREADY_EXISTS)
#define UA CODE(UNAUTHENTICATED)

static const status_case cases[] = {
    {"upsert_training with a stale expected_revision", COORDINATOR, training_stale_revision, AB,
     "upsert_training.expected_revision"},
    {"upsert_training without a training", COORDINATOR, training_missing, IA, "upsert_training.training"},
    {"upsert_training with a lower-case code", COORDINATOR, training_bad_code, IA, "upsert_training.training.code"},
    {"get_training of an absent code", SCHOOL_A, training_absent, NF, "get_training.code"},
    {"list_trainings with a raw key as page token", SCHOOL_A, trainings_garbage_token, IA, "list_trainings.page_token"},
    {"list_trainings with list_companies' token", COORDINATOR, trainings_token_of_companies, IA,
     "list_trainings.page_token"},
    {"list_trainings with a forged token", COORDINATOR, trainings_token_forged, IA, "list_trainings.page_token"},
    {"upsert_company with a stale expected_revision", COORDINATOR, company_stale_revision, AB,
     "upsert_company.expected_revision"},
    {"upsert_company dropping a recognition a signed placement uses", COORDINATOR, company_loses_recognition_in_use, FP,
     "upsert_company.company.recognised_training_codes"},
    {"upsert_company recognised for an absent training", COORDINATOR, company_unknown_training, IA,
     "upsert_company.company.recognised_training_codes[0]"},
    {"get_company of an absent company", SCHOOL_A, company_absent, NF, "get_company.company_id"},
    {"get_company of another company", COMPANY_Y, company_other, NF, "get_company.company_id"},
    {"list_companies with its token but another training filter", COORDINATOR, companies_token_other_filter, IA,
     "list_companies.page_token"},
    {"upsert_location naming another company's location", COMPANY_Y, location_of_other_company, NF,
     "upsert_location.location.id"},
    {"upsert_location for another company", COMPANY_X, location_for_other_company, PD,
     "upsert_location.location.company_id"},
    {"upsert_location moving a location to another company", COORDINATOR, location_moves_company, IA,
     "upsert_location.location.company_id"},
    {"upsert_location with a stale expected_revision", COMPANY_X, location_stale_revision, AB,
     "upsert_location.expected_revision"},
    {"upsert_location of an absent company", COORDINATOR, location_no_company, IA,
     "upsert_location.location.company_id"},
    {"get_location of another company's location", COMPANY_Y, get_location_other, NF, "get_location.location_id"},
    {"get_location of an absent location", COMPANY_Y, get_location_absent, NF, "get_location.location_id"},
    {"list_locations of another company", COMPANY_X, locations_other_company, PD, "list_locations.company_id"},
    {"list_locations with its token but another company filter", COORDINATOR, locations_token_other_filter, IA,
     "list_locations.page_token"},
    {"publish_vacancy with a taken id", COMPANY_X, publish_taken, AE, "publish_vacancy.vacancy.id"},
    {"publish_vacancy at another company's location", COMPANY_Y, publish_at_other_location, NF,
     "publish_vacancy.vacancy.location_id"},
    {"publish_vacancy at an absent location", COMPANY_Y, publish_at_absent_location, NF,
     "publish_vacancy.vacancy.location_id"},
    {"publish_vacancy for a training the company is not recognised for", COMPANY_Y, publish_unrecognised, FP,
     "publish_vacancy.vacancy.training_code"},
    {"update_vacancy of another company's vacancy", COMPANY_Y, update_vacancy_other, NF, "update_vacancy.vacancy.id"},
    {"update_vacancy of an absent vacancy", COMPANY_X, update_vacancy_absent, NF, "update_vacancy.vacancy.id"},
    {"update_vacancy with a stale expected_revision", COMPANY_X, update_vacancy_stale, AB,
     "update_vacancy.expected_revision"},
    {"update_vacancy with fewer seats than are filled", COMPANY_X, update_vacancy_below_filled, FP,
     "update_vacancy.vacancy.seats"},
    {"update_vacancy changing the days under a signed placement", COMPANY_X, update_vacancy_days_under_agreement, FP,
     "update_vacancy.vacancy"},
    {"close_vacancy of another company's vacancy", COMPANY_Y, close_vacancy_other, NF, "close_vacancy.vacancy_id"},
    {"get_vacancy of an absent vacancy", COORDINATOR, get_vacancy_absent, NF, "get_vacancy.vacancy_id"},
    {"list_vacancies of another company", COMPANY_Y, vacancies_other_company, PD, "list_vacancies.company_id"},
    {"list_vacancies with list_pupils' token", COORDINATOR, vacancies_token_of_pupils, IA, "list_vacancies.page_token"},
    {"register_pupil with a taken reference", SCHOOL_A, register_taken, AE, "register_pupil.pupil.ref"},
    {"register_pupil for another school", SCHOOL_A, register_other_school, PD, "register_pupil.pupil.school_id"},
    {"register_pupil with an absent training", SCHOOL_A, register_unknown_training, IA,
     "register_pupil.pupil.training_code"},
    {"update_pupil with a stale expected_revision", SCHOOL_A, update_pupil_stale, AB, "update_pupil.expected_revision"},
    {"update_pupil of another school's pupil", SCHOOL_B, update_pupil_other_school, NF, "update_pupil.pupil.school_id"},
    {"update_pupil changing the commute under a signed placement", SCHOOL_A, update_pupil_signed, FP,
     "update_pupil.pupil"},
    {"get_pupil of another school's pupil", SCHOOL_B, get_pupil_other_school, NF, "get_pupil.school_id"},
    {"get_pupil of an absent pupil", SCHOOL_A, get_pupil_absent, NF, "get_pupil.pupil_ref"},
    {"list_pupils of another school", SCHOOL_A, pupils_other_school, PD, "list_pupils.school_id"},
    {"list_pupils with its token but another training filter", COORDINATOR, pupils_token_other_filter, IA,
     "list_pupils.page_token"},
    {"list_pupils with a coordinator's token as a school", SCHOOL_A, pupils_token_other_school, IA,
     "list_pupils.page_token"},
    {"erase_pupil of an absent pupil", SCHOOL_A, erase_absent, NF, "erase_pupil.pupil_ref"},
    {"request_placement while one is active", SCHOOL_A, request_active, AE, "request_placement.pupil_ref"},
    {"withdraw_placement never requested", SCHOOL_A, withdraw_never_requested, NF, "withdraw_placement.pupil_ref"},
    {"withdraw_placement twice", SCHOOL_A, withdraw_twice, FP, "withdraw_placement.pupil_ref"},
    {"get_placement never requested", SCHOOL_A, get_placement_never_requested, NF, "get_placement.pupil_ref"},
    {"list_placements with list_pupils' token", COORDINATOR, placements_token_of_pupils, IA,
     "list_placements.page_token"},
    {"list_proposals of another company", COMPANY_Y, proposals_other_company, PD, "list_proposals.company_id"},
    {"list_proposals with list_trainings' token", COORDINATOR, proposals_token_of_trainings, IA,
     "list_proposals.page_token"},
    {"accept_proposal of a declined proposal", SCHOOL_A, accept_stale, FP, "accept_proposal.proposal_id"},
    {"accept_proposal of another school's current proposal", SCHOOL_B, accept_other_scope, FP,
     "accept_proposal.proposal_id"},
    {"accept_proposal of another company's current proposal", COMPANY_Y, accept_other_scope, FP,
     "accept_proposal.proposal_id"},
    {"accept_proposal of an id no rematch issued", SCHOOL_A, accept_never_issued, NF, "accept_proposal.proposal_id"},
    {"accept_proposal without an id", SCHOOL_A, accept_zero, IA, "accept_proposal.proposal_id"},
    {"accept_proposal on the other side", SCHOOL_A, accept_wrong_side, PD, "accept_proposal.side"},
    {"accept_proposal by a coordinator naming no side", COORDINATOR, accept_coordinator_no_side, IA,
     "accept_proposal.side"},
    {"decline_proposal of a declined proposal", COMPANY_X, decline_stale, FP, "decline_proposal.proposal_id"},
    {"decline_proposal of a signed agreement", SCHOOL_A, decline_signed, FP, "decline_proposal.proposal_id"},
    {"record_agreement of a proposal not accepted", COMPANY_X, agreement_not_accepted, FP,
     "record_agreement.proposal_id"},
    {"record_agreement of a declined proposal", COORDINATOR, agreement_stale, FP, "record_agreement.proposal_id"},
    {"record_agreement without the agreement", COMPANY_X, agreement_missing, IA, "record_agreement.agreement"},
    {"record_agreement ending on or before its start", SCHOOL_A, agreement_ends_before_start, IA,
     "record_agreement.agreement.ends_on"},
    {"end_agreement of an accepted proposal without agreement", COMPANY_X, end_not_signed, FP,
     "end_agreement.proposal_id"},
    {"end_agreement of a declined proposal", SCHOOL_A, end_stale, FP, "end_agreement.proposal_id"},
    {"end_agreement of another company's agreement", COMPANY_Y, end_other_scope, FP, "end_agreement.proposal_id"},
    {"end_agreement of another school's agreement", SCHOOL_B, end_other_scope, FP, "end_agreement.proposal_id"},
    {"end_agreement without an id", SCHOOL_A, end_zero, IA, "end_agreement.proposal_id"},
    {"end_agreement without a reason", SCHOOL_A, end_no_reason, IA, "end_agreement.reason"},
    {"end_agreement ending after today", COORDINATOR, end_in_the_future, IA, "end_agreement.ended_on"},
    {"end_agreement ending before it was signed", COORDINATOR, end_before_signing, IA, "end_agreement.ended_on"},
    {"close_school_year without a boundary", COORDINATOR, close_year_no_boundary, IA, "close_school_year.boundary"},
    {"close_school_year at a boundary after today", COORDINATOR, close_year_future, IA, "close_school_year.boundary"},
    {"close_school_year at a date that does not exist", COORDINATOR, close_year_bad_date, IA,
     "close_school_year.boundary"},
    {"place_pupil of an ACCEPTED placement", COORDINATOR, place_accepted, FP, "place_pupil.pupil_ref"},
    {"place_pupil of an absent pupil", COORDINATOR, place_absent_pupil, NF, "place_pupil.pupil_ref"},
    {"place_pupil to an absent vacancy", COORDINATOR, place_absent_vacancy, NF, "place_pupil.vacancy_id"},
    {"place_pupil where the pupil is proposed already", COORDINATOR, place_where_proposed, FP,
     "place_pupil.vacancy_id"},
    {"place_pupil the rulebook refuses (rule 5), no override", COORDINATOR, place_refused_by_a_rule, FP,
     "place_pupil.vacancy_id"},
    {"pin_placement of an ACCEPTED placement", COORDINATOR, pin_accepted, FP, "pin_placement.pupil_ref"},
    {"pin_placement of an absent pupil", COORDINATOR, pin_absent_pupil, NF, "pin_placement.pupil_ref"},
    {"run_rematch while another holds the lock", COORDINATOR, rematch_while_locked, AB, ""},
    {"get_waiting_list of another school", SCHOOL_A, waiting_list_other_school, PD, "get_waiting_list.school_id"},
    {"get_history naming two subjects", COORDINATOR, history_two_subjects, IA, "get_history"},
    {"get_history of a pupil by a company", COMPANY_X, history_of_a_pupil, PD, "get_history"},
    {"get_history of a vacancy by a school", SCHOOL_A, history_of_vac_x, PD, "get_history"},
    {"get_history of another school's pupil", SCHOOL_B, history_of_a_pupil, NF, "get_history.school_id"},
    {"get_history of another school", SCHOOL_B, history_of_school_a, PD, "get_history.school_id"},
    {"get_history of another company's vacancy", COMPANY_Y, history_of_vac_x, NF, "get_history.vacancy_id"},
    {"get_history of an absent vacancy", COORDINATOR, history_of_an_absent_vacancy, NF, "get_history.vacancy_id"},
    {"get_history of another company", COMPANY_Y, history_of_company_x, NF, "get_history.company_id"},
    {"get_history with a raw page token", COORDINATOR, history_with_a_raw_page_token, IA, "get_history.page_token"},
    {"watch after something that is not an event id", SCHOOL_A, watch_after_no_event_id, IA, "watch.after_event_id"},
    {"create_token without a role", ADMIN, token_no_role, IA, "create_token.role"},
    {"create_token for an absent company", ADMIN, token_unknown_company, IA, "create_token.scope_id"},
    {"revoke_token of an absent token", ADMIN, revoke_absent, NF, "revoke_token.token_id"},
    {"revoke_token of the last admin token", ADMIN, revoke_last_admin, FP, "revoke_token.token_id"},
    {"list_tokens with list_pupils' token", ADMIN, tokens_token_of_pupils, IA, "list_tokens.page_token"},
    {"hello with a protocol version not spoken", SCHOOL_A, hello_unknown_version, FP, "hello.protocol_version"},
    {"hello with a token that does not exist", ANONYMOUS, hello_unknown_token, UA, "token"},
    {"a call without a token", ANONYMOUS, any_call, UA, "token"},
};

/* ---- state ----------------------------------------------------------------------------- */

static uint64_t proposal_of(const char *ref) {
  Leerplek__V1__GetPlacementRequest body = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  body.school_id = (char *)"school-a";
  body.pupil_ref = (char *)ref;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT;
  request.get_placement = &body;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[COORDINATOR], &request, &response), 0);
  uint64_t id = response->get_placement->placement->proposal_id;
  cr_assert_eq(response->get_placement->placement->state, LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED,
               "%s was proposed", ref);
  leerplek_response_free(response);
  return id;
}

static void must(enum who who, build_fn *build, uint64_t id, int side) {
  arena a = {0};
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  build(&request, &a);
  if (request.body_case == LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL) {
    request.accept_proposal->proposal_id = id;
    request.accept_proposal->side = (Leerplek__V1__Side)side;
  } else if (request.body_case == LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL) {
    request.decline_proposal->proposal_id = id;
  } else if (request.body_case == LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT) {
    request.record_agreement->proposal_id = id;
  }
  Leerplek__V1__Response *response = NULL;
  int code = call_code(clients[who], &request, &response);
  cr_assert_eq(code, 0, "setup call failed: %s", response->status->message);
  leerplek_response_free(response);
  arena_free(&a);
}

/* The next_page_token of a first page of one item. */
static void first_page_token(enum who who, Leerplek__V1__Request *request, uint32_t *page_size, char *out,
                             size_t out_size) {
  *page_size = 1;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[who], request, &response), 0);
  const char *token = NULL;
  switch (response->body_case) {
  case LEERPLEK__V1__RESPONSE__BODY_LIST_TRAININGS: token = response->list_trainings->next_page_token; break;
  case LEERPLEK__V1__RESPONSE__BODY_LIST_COMPANIES: token = response->list_companies->next_page_token; break;
  case LEERPLEK__V1__RESPONSE__BODY_LIST_PUPILS: token = response->list_pupils->next_page_token; break;
  case LEERPLEK__V1__RESPONSE__BODY_LIST_LOCATIONS: token = response->list_locations->next_page_token; break;
  default: cr_assert_fail("not a list");
  }
  cr_assert_neq(token[0], '\0', "a first page of one item has a next page");
  snprintf(out, out_size, "%s", token);
  leerplek_response_free(response);
}

CASE(make_p1_accept) {
  BODY(AcceptProposal, accept_proposal, ACCEPT_PROPOSAL);
  (void)b;
}
CASE(make_p3_decline) {
  BODY(DeclineProposal, decline_proposal, DECLINE_PROPOSAL);
  b->reason = (char *)"no";
}
CASE(make_p1_agreement) {
  BODY(RecordAgreement, record_agreement, RECORD_AGREEMENT);
  b->agreement = agreement(a);
}
CASE(make_w1_withdrawn) {
  BODY(WithdrawPlacement, withdraw_placement, WITHDRAW_PLACEMENT);
  b->school_id = (char *)"school-a";
  b->pupil_ref = (char *)"w1";
}

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  snprintf(tokens[ADMIN], sizeof tokens[ADMIN], "%s", harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", tokens[COORDINATOR], sizeof tokens[0]);
  leerplek_client *coordinator = harness_connect(&harness, tokens[COORDINATOR]);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_training(coordinator, "BAKKER", "Bakker"), 0);
  cr_assert_eq(upsert_company(coordinator, "1111111111", "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, "2222222222", "BAKKER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-x", "1111111111"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-y", "2222222222"), 0);
  const char *refs[] = {"p1", "p2", "p3", "p4", "p5", "w1"};
  for (size_t i = 0; i < 6; i++) cr_assert_eq(register_pupil(coordinator, "school-a", refs[i], "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-b", "q1", "BAKKER"), 0);
  leerplek_close(coordinator);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", tokens[SCHOOL_A], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", tokens[SCHOOL_B], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "1111111111", tokens[COMPANY_X], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "2222222222", tokens[COMPANY_Y], sizeof tokens[0]);
  leerplek_close(admin);
  for (int who = 0; who < WHO_COUNT; who++) {
    clients[who] = harness_connect(&harness, who == ANONYMOUS ? NULL : tokens[who]);
    cr_assert_not_null(clients[who]);
  }
  /* Four seats at vac-x for the four KAPPER pupils on the waiting list. */
  cr_assert_eq(publish_vacancy(clients[COMPANY_X], "vac-x", "loc-x", "KAPPER"), 0);
  arena a = {0};
  Leerplek__V1__Request update = LEERPLEK__V1__REQUEST__INIT;
  update_vacancy_stale(&update, &a);
  update.update_vacancy->expected_revision = 0;
  update.update_vacancy->vacancy->seats = 4;
  cr_assert_eq(call_code(clients[COMPANY_X], &update, NULL), 0, "vac-x gets 4 seats");
  arena_free(&a);
  const char *waiting[] = {"p1", "p3", "p4", "p5", "w1"};
  for (size_t i = 0; i < 5; i++) cr_assert_eq(request_placement(clients[SCHOOL_A], "", waiting[i]), 0);
  must(SCHOOL_A, make_w1_withdrawn, 0, 0);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(run_rematch(clients[COORDINATOR], false, &response), 0);
  epoch = response->run_rematch->result->epoch;
  leerplek_response_free(response);
  signed_id = proposal_of("p1");
  stale_id = proposal_of("p3");
  proposed_id = proposal_of("p4");
  accepted_id = proposal_of("p5");
  cr_assert_eq(signed_id >> 24, epoch, "proposal ids carry their epoch");
  must(SCHOOL_A, make_p1_accept, signed_id, 0);
  must(COMPANY_X, make_p1_accept, signed_id, 0);
  must(COMPANY_X, make_p1_agreement, signed_id, 0);
  must(SCHOOL_A, make_p3_decline, stale_id, 0);
  must(SCHOOL_A, make_p1_accept, accepted_id, 0);
  must(COMPANY_X, make_p1_accept, accepted_id, 0);

  Leerplek__V1__Request list = LEERPLEK__V1__REQUEST__INIT;
  Leerplek__V1__ListTrainingsRequest trainings = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS, list.list_trainings = &trainings;
  first_page_token(COORDINATOR, &list, &trainings.page_size, trainings_token, sizeof trainings_token);
  Leerplek__V1__ListCompaniesRequest companies = LEERPLEK__V1__LIST_COMPANIES_REQUEST__INIT;
  list.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_COMPANIES, list.list_companies = &companies;
  first_page_token(COORDINATOR, &list, &companies.page_size, companies_token, sizeof companies_token);
  Leerplek__V1__ListPupilsRequest pupils = LEERPLEK__V1__LIST_PUPILS_REQUEST__INIT;
  list.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS, list.list_pupils = &pupils;
  first_page_token(COORDINATOR, &list, &pupils.page_size, pupils_token, sizeof pupils_token);
  Leerplek__V1__ListLocationsRequest locations = LEERPLEK__V1__LIST_LOCATIONS_REQUEST__INIT;
  list.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_LOCATIONS, list.list_locations = &locations;
  first_page_token(COORDINATOR, &list, &locations.page_size, locations_token, sizeof locations_token);
}

static void teardown(void) {
  for (int who = 0; who < WHO_COUNT; who++) leerplek_close(clients[who]);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(statuses, .init = setup, .fini = teardown, .timeout = 120);

Test(statuses, every_documented_case) {
  redisContext *redis = harness_redis(&harness);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const status_case *c = &cases[i];
    bool locked = c->build == rematch_while_locked;
    if (locked) freeReplyObject(redisCommand(redis, "SET lp:lock:rematch another-daemon PX 60000"));
    arena a = {0};
    Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
    c->build(&request, &a);
    char *before = harness_snapshot(&harness);
    Leerplek__V1__Response *response = NULL;
    int code = call_code(clients[c->who], &request, &response);
    cr_assert_eq(code, c->code, "%s: got %s (%s: %s), expected %s", c->name, leerplek_status_name(code),
                 response->status->field, response->status->message, leerplek_status_name(c->code));
    cr_assert_str_eq(response->status->field, c->field, "%s: field %s, expected %s (%s)", c->name,
                     response->status->field, c->field, response->status->message);
    cr_assert_neq(response->status->message[0], '\0', "%s: a refusal says why", c->name);
    cr_assert_eq(response->body_case, LEERPLEK__V1__RESPONSE__BODY__NOT_SET, "%s: a refusal has no body", c->name);
    char *after = harness_snapshot(&harness);
    cr_assert_str_eq(before, after, "%s was refused but changed Redis", c->name);
    free(before);
    free(after);
    leerplek_response_free(response);
    arena_free(&a);
    if (locked) freeReplyObject(redisCommand(redis, "DEL lp:lock:rematch"));
  }
  redisFree(redis);
}

/* The same request and filters page on with the token: every item once, none repeated, also
 * when an item is inserted between pages. */
Test(statuses, page_tokens_resume_after_the_last_key) {
  Leerplek__V1__ListPupilsRequest body = LEERPLEK__V1__LIST_PUPILS_REQUEST__INIT;
  body.page_size = 2;
  body.school_id = (char *)"school-a";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS;
  request.list_pupils = &body;
  char token[256] = "", seen[512] = "";
  int pages = 0;
  do {
    body.page_token = token;
    Leerplek__V1__Response *response = NULL;
    cr_assert_eq(call_code(clients[COORDINATOR], &request, &response), 0, "%s", response->status->message);
    for (size_t i = 0; i < response->list_pupils->n_pupils; i++) {
      cr_assert_null(strstr(seen, response->list_pupils->pupils[i]->ref), "%s twice",
                     response->list_pupils->pupils[i]->ref);
      strcat(seen, response->list_pupils->pupils[i]->ref);
      strcat(seen, " ");
    }
    snprintf(token, sizeof token, "%s", response->list_pupils->next_page_token);
    leerplek_response_free(response);
    /* An insert before the resume point between pages must not repeat what was returned. */
    if (pages++ == 0) cr_assert_eq(register_pupil(clients[COORDINATOR], "school-a", "a0", "KAPPER"), 0);
  } while (token[0]);
  cr_assert_str_eq(seen, "p1 p2 p3 p4 p5 w1 ", "pages: %s", seen);
  cr_assert_eq(pages, 3);
}
