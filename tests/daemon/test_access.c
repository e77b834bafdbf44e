/* test_access: the access matrix. Every role (and no token) against every call, with the exact
 * status expected; every refusal must leave Redis byte-for-byte unchanged. Plus the privacy
 * rules: a school never sees another school's pupils, a company only its own things. */
#include "common.h"
#include "support_common.h"

enum role_index { ANONYMOUS, SCHOOL_A, SCHOOL_B, COMPANY_X, COMPANY_Y, COORDINATOR, ADMIN, SUPPORT_A, ROLE_COUNT };
static const char *const role_names[ROLE_COUNT] = {"anonymous", "school A",    "school B", "company X",
                                                   "company Y", "coordinator", "admin",    "support A"};

static lp_harness harness;
static leerplek_client *clients[ROLE_COUNT];
static char tokens[ROLE_COUNT][128];
static char spare_token_id[32];

#define OK 0
#define UA CODE(UNAUTHENTICATED)
#define PD CODE(PERMISSION_DENIED)
#define NF CODE(NOT_FOUND)
#define UI CODE(UNIMPLEMENTED)
#define IA CODE(INVALID_ARGUMENT)
#define FP CODE(FAILED_PRECONDITION)

static void setup(void) {
  start_all(&harness, NULL);
  leerplek_client *admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  snprintf(tokens[ADMIN], sizeof tokens[ADMIN], "%s", harness.admin_token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", tokens[COORDINATOR], sizeof tokens[0]);
  leerplek_client *coordinator = harness_connect(&harness, tokens[COORDINATOR]);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_company(coordinator, "1111111111", "KAPPER"), 0);
  cr_assert_eq(upsert_company(coordinator, "2222222222", "KAPPER"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-x", "1111111111"), 0);
  cr_assert_eq(upsert_location(coordinator, "loc-y", "2222222222"), 0);
  cr_assert_eq(publish_vacancy(coordinator, "vac-x", "loc-x", "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-a", "p1", "KAPPER"), 0);
  cr_assert_eq(register_pupil(coordinator, "school-b", "p1", "KAPPER"), 0);
  for (int role = 0; role < ROLE_COUNT; role++) {
    char ref[16];
    snprintf(ref, sizeof ref, "e-%d", role);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
    snprintf(ref, sizeof ref, "rp-%d", role);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
    snprintf(ref, sizeof ref, "wd-%d", role);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
    cr_assert_eq(request_placement(coordinator, "school-a", ref), 0);
    snprintf(ref, sizeof ref, "rf-%d", role);
    cr_assert_eq(register_pupil(coordinator, "school-a", ref, "KAPPER"), 0);
  }
  cr_assert_eq(
      refer_pupil(coordinator, "school-a", "p1", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOVORM, NULL), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-a"), 0);
  cr_assert_eq(upsert_support_offer(coordinator, "off-a", "oal-a"), 0);
  leerplek_close(coordinator);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", tokens[SCHOOL_A], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-b", tokens[SCHOOL_B], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "1111111111", tokens[COMPANY_X], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COMPANY, "2222222222", tokens[COMPANY_Y], sizeof tokens[0]);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-a", tokens[SUPPORT_A], sizeof tokens[0]);
  char spare[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-z", spare, sizeof spare);
  memcpy(spare_token_id, spare + 4, 16);
  spare_token_id[16] = '\0';
  leerplek_close(admin);
  for (int role = 0; role < ROLE_COUNT; role++) {
    clients[role] = harness_connect(&harness, role == ANONYMOUS ? NULL : tokens[role]);
    cr_assert_not_null(clients[role]);
  }
}

static void teardown(void) {
  for (int role = 0; role < ROLE_COUNT; role++) leerplek_close(clients[role]);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(access, .init = setup, .fini = teardown, .timeout = 120);

/* Storage for one request's body, filled by build_request. */
typedef struct request_storage {
  Leerplek__V1__Request request;
  Leerplek__V1__Training training;
  Leerplek__V1__Company company;
  Leerplek__V1__Location location;
  Leerplek__V1__Vacancy vacancy;
  Leerplek__V1__Pupil pupil;
  Leerplek__V1__GeoPoint point;
  Leerplek__V1__Date date;
  Leerplek__V1__SupportOrganisation organisation;
  Leerplek__V1__SupportSite site;
  Leerplek__V1__SupportSite *sites[1];
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__ReferralKey referral;
  Leerplek__V1__SupportComponent components[1];
  char *codes[1];
  char id[32];
  union {
    Leerplek__V1__UpsertTrainingRequest upsert_training;
    Leerplek__V1__GetTrainingRequest get_training;
    Leerplek__V1__ListTrainingsRequest list_trainings;
    Leerplek__V1__UpsertCompanyRequest upsert_company;
    Leerplek__V1__GetCompanyRequest get_company;
    Leerplek__V1__ListCompaniesRequest list_companies;
    Leerplek__V1__UpsertLocationRequest upsert_location;
    Leerplek__V1__GetLocationRequest get_location;
    Leerplek__V1__ListLocationsRequest list_locations;
    Leerplek__V1__PublishVacancyRequest publish_vacancy;
    Leerplek__V1__CloseVacancyRequest close_vacancy;
    Leerplek__V1__GetVacancyRequest get_vacancy;
    Leerplek__V1__ListVacanciesRequest list_vacancies;
    Leerplek__V1__RegisterPupilRequest register_pupil;
    Leerplek__V1__UpdatePupilRequest update_pupil;
    Leerplek__V1__GetPupilRequest get_pupil;
    Leerplek__V1__ListPupilsRequest list_pupils;
    Leerplek__V1__ErasePupilRequest erase_pupil;
    Leerplek__V1__RequestPlacementRequest request_placement;
    Leerplek__V1__WithdrawPlacementRequest withdraw_placement;
    Leerplek__V1__GetPlacementRequest get_placement;
    Leerplek__V1__ListPlacementsRequest list_placements;
    Leerplek__V1__ListProposalsRequest list_proposals;
    Leerplek__V1__AcceptProposalRequest accept_proposal;
    Leerplek__V1__DeclineProposalRequest decline_proposal;
    Leerplek__V1__RecordAgreementRequest record_agreement;
    Leerplek__V1__EndAgreementRequest end_agreement;
    Leerplek__V1__CloseSchoolYearRequest close_school_year;
    Leerplek__V1__RunRematchRequest run_rematch;
    Leerplek__V1__GetReportRequest get_report;
    Leerplek__V1__GetWaitingListRequest get_waiting_list;
    Leerplek__V1__CreateTokenRequest create_token;
    Leerplek__V1__RevokeTokenRequest revoke_token;
    Leerplek__V1__ListTokensRequest list_tokens;
    Leerplek__V1__UpsertSupportOrganisationRequest upsert_support_organisation;
    Leerplek__V1__GetSupportOrganisationRequest get_support_organisation;
    Leerplek__V1__ListSupportOrganisationsRequest list_support_organisations;
    Leerplek__V1__UpsertSupportOfferRequest upsert_support_offer;
    Leerplek__V1__GetSupportOfferRequest get_support_offer;
    Leerplek__V1__ListSupportOffersRequest list_support_offers;
    Leerplek__V1__ReferPupilRequest refer_pupil;
    Leerplek__V1__GetReferralRequest get_referral;
    Leerplek__V1__ListReferralsRequest list_referrals;
    Leerplek__V1__ListSupportReferralsRequest list_support_referrals;
    Leerplek__V1__OfferReferralRequest offer_referral;
    Leerplek__V1__AcceptReferralRequest accept_referral;
    Leerplek__V1__DeclineReferralRequest decline_referral;
    Leerplek__V1__StartReferralRequest start_referral;
    Leerplek__V1__EndReferralRequest end_referral;
    Leerplek__V1__WithdrawReferralRequest withdraw_referral;
    Leerplek__V1__RunDispatchRequest run_dispatch;
    Leerplek__V1__GetReferralWaitingListRequest get_referral_waiting_list;
    Leerplek__V1__GetRegistrationPointRequest get_registration_point;
    Leerplek__V1__GetHistoryRequest get_history;
    Leerplek__V1__WatchRequest watch;
    Leerplek__V1__PlacePupilRequest place_pupil;
    Leerplek__V1__PinPlacementRequest pin_placement;
  } body;
} request_storage;

typedef struct matrix_row {
  const char *call;
  int expected[ROLE_COUNT]; /* anonymous, school A, school B, company X, company Y, coordinator, admin, support A */
} matrix_row;

static const matrix_row matrix[] = {
    {"upsert_training", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"get_training", {UA, OK, OK, OK, OK, OK, PD, OK}},
    {"list_trainings", {UA, OK, OK, OK, OK, OK, PD, OK}},
    {"upsert_company", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"get_company", {UA, OK, OK, OK, NF, OK, PD, PD}},
    {"list_companies", {UA, OK, OK, OK, OK, OK, PD, PD}},
    {"upsert_location", {UA, PD, PD, OK, PD, OK, PD, PD}},
    {"get_location", {UA, PD, PD, OK, NF, OK, PD, PD}},
    {"list_locations", {UA, PD, PD, OK, OK, OK, PD, PD}},
    {"publish_vacancy", {UA, PD, PD, OK, NF, OK, PD, PD}},
    {"get_vacancy", {UA, PD, PD, OK, NF, OK, PD, PD}},
    {"list_vacancies", {UA, PD, PD, OK, OK, OK, PD, PD}},
    {"close_vacancy", {UA, PD, PD, OK, NF, OK, PD, PD}},
    {"register_pupil", {UA, OK, PD, PD, PD, OK, PD, PD}},
    {"update_pupil", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"get_pupil", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"list_pupils", {UA, OK, OK, PD, PD, OK, PD, PD}},
    {"request_placement", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"withdraw_placement", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"get_placement", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"list_placements", {UA, OK, OK, PD, PD, OK, PD, PD}},
    {"erase_pupil", {UA, OK, NF, PD, PD, OK, PD, PD}},
    /* No proposal 1 exists: the roles that may act get NOT_FOUND (or, for a coordinator who
     * names no side, INVALID_ARGUMENT); test_proposals covers real proposals. */
    {"list_proposals", {UA, PD, PD, OK, OK, OK, PD, PD}},
    {"accept_proposal", {UA, NF, NF, NF, NF, IA, PD, PD}},
    {"decline_proposal", {UA, NF, NF, NF, NF, IA, PD, PD}},
    {"record_agreement", {UA, NF, NF, NF, NF, NF, PD, PD}},
    {"end_agreement", {UA, NF, NF, NF, NF, NF, PD, PD}},
    {"close_school_year", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"run_rematch", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"get_report", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"get_waiting_list", {UA, OK, OK, PD, PD, OK, PD, PD}},
    {"create_token", {UA, PD, PD, PD, PD, PD, OK, PD}},
    {"list_tokens", {UA, PD, PD, PD, PD, PD, OK, PD}},
    {"revoke_token", {UA, PD, PD, PD, PD, PD, OK, PD}},
    /* Support organisation A's records: schools read the partners, companies never. */
    {"upsert_support_organisation", {UA, PD, PD, PD, PD, OK, PD, OK}},
    {"get_support_organisation", {UA, OK, OK, PD, PD, OK, PD, OK}},
    {"list_support_organisations", {UA, OK, OK, PD, PD, OK, PD, OK}},
    {"upsert_support_offer", {UA, PD, PD, PD, PD, OK, PD, OK}},
    {"get_support_offer", {UA, OK, OK, PD, PD, OK, PD, OK}},
    {"list_support_offers", {UA, OK, OK, PD, PD, OK, PD, OK}},
    /* Referrals: school A's pupil p1 waits for FOVORM. A support organisation sees a referral
     * only once one of its offers holds it (NOT_FOUND before); a wrong state is
     * FAILED_PRECONDITION; a coordinator must name the side (INVALID_ARGUMENT). */
    {"refer_pupil", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"get_referral", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"list_referrals", {UA, OK, OK, PD, PD, OK, PD, PD}},
    {"list_support_referrals", {UA, PD, PD, PD, PD, IA, PD, OK}},
    {"offer_referral", {UA, PD, PD, PD, PD, FP, PD, PD}},
    {"accept_referral", {UA, FP, NF, PD, PD, IA, PD, NF}},
    {"decline_referral", {UA, FP, NF, PD, PD, IA, PD, NF}},
    {"start_referral", {UA, PD, PD, PD, PD, FP, PD, NF}},
    {"end_referral", {UA, PD, PD, PD, PD, FP, PD, NF}},
    {"withdraw_referral", {UA, OK, NF, PD, PD, OK, PD, PD}},
    {"run_dispatch", {UA, PD, PD, PD, PD, OK, PD, PD}},
    {"get_referral_waiting_list", {UA, PD, PD, PD, PD, OK, PD, OK}},
    {"get_registration_point", {UA, PD, PD, PD, PD, OK, PD, PD}},
    /* Schools and coordinators ask for school A's p1, companies for vacancy vac-x (company X's). */
    {"get_history", {UA, OK, NF, OK, NF, OK, PD, PD}},
    /* On a connection of its own (a watching connection takes no other calls). */
    {"watch", {UA, OK, OK, OK, OK, OK, PD, PD}},
    /* Coordinators only: school A's p1 (no placement request) and a vacancy that does not
     * exist, so the coordinator's call is NOT_FOUND; test_manual covers real ones. */
    {"place_pupil", {UA, PD, PD, PD, PD, NF, PD, PD}},
    {"pin_placement", {UA, PD, PD, PD, PD, NF, PD, PD}},
};

/* Builds the request for call as role would send it: names objects of school A and company X,
 * and per-role objects where the call creates or destroys something. */
static void build_request(request_storage *s, const char *call, int role) {
  memset(s, 0, sizeof *s);
  leerplek__v1__request__init(&s->request);
  Leerplek__V1__Request *r = &s->request;
  leerplek__v1__geo_point__init(&s->point);
  leerplek__v1__date__init(&s->date);
  s->date.year = 2026, s->date.month = 9, s->date.day = 1;
  if (strcmp(call, "upsert_training") == 0) {
    leerplek__v1__training__init(&s->training);
    snprintf(s->id, sizeof s->id, "NEW-%d", role);
    s->training.code = s->id;
    s->training.name = (char *)"x";
    leerplek__v1__upsert_training_request__init(&s->body.upsert_training);
    s->body.upsert_training.training = &s->training;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING, r->upsert_training = &s->body.upsert_training;
  } else if (strcmp(call, "get_training") == 0) {
    leerplek__v1__get_training_request__init(&s->body.get_training);
    s->body.get_training.code = (char *)"KAPPER";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_TRAINING, r->get_training = &s->body.get_training;
  } else if (strcmp(call, "list_trainings") == 0) {
    leerplek__v1__list_trainings_request__init(&s->body.list_trainings);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS, r->list_trainings = &s->body.list_trainings;
  } else if (strcmp(call, "upsert_company") == 0) {
    leerplek__v1__company__init(&s->company);
    s->company.id = (char *)"1111111111";
    s->company.name = (char *)"renamed";
    s->codes[0] = (char *)"KAPPER";
    s->company.recognised_training_codes = s->codes;
    s->company.n_recognised_training_codes = 1;
    leerplek__v1__upsert_company_request__init(&s->body.upsert_company);
    s->body.upsert_company.company = &s->company;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY, r->upsert_company = &s->body.upsert_company;
  } else if (strcmp(call, "get_company") == 0) {
    leerplek__v1__get_company_request__init(&s->body.get_company);
    s->body.get_company.company_id = (char *)"1111111111";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_COMPANY, r->get_company = &s->body.get_company;
  } else if (strcmp(call, "list_companies") == 0) {
    leerplek__v1__list_companies_request__init(&s->body.list_companies);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_COMPANIES, r->list_companies = &s->body.list_companies;
  } else if (strcmp(call, "upsert_location") == 0) {
    leerplek__v1__location__init(&s->location);
    snprintf(s->id, sizeof s->id, "loc-new-%d", role);
    s->location.id = s->id;
    s->location.company_id = (char *)"1111111111";
    s->point.lat_e6 = 51200000;
    s->location.point = &s->point;
    s->location.postcode = (char *)"2000";
    leerplek__v1__upsert_location_request__init(&s->body.upsert_location);
    s->body.upsert_location.location = &s->location;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION, r->upsert_location = &s->body.upsert_location;
  } else if (strcmp(call, "get_location") == 0) {
    leerplek__v1__get_location_request__init(&s->body.get_location);
    s->body.get_location.location_id = (char *)"loc-x";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_LOCATION, r->get_location = &s->body.get_location;
  } else if (strcmp(call, "list_locations") == 0) {
    leerplek__v1__list_locations_request__init(&s->body.list_locations);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_LOCATIONS, r->list_locations = &s->body.list_locations;
  } else if (strcmp(call, "publish_vacancy") == 0) {
    leerplek__v1__vacancy__init(&s->vacancy);
    snprintf(s->id, sizeof s->id, "vac-new-%d", role);
    s->vacancy.id = s->id;
    s->vacancy.location_id = (char *)"loc-x";
    s->vacancy.training_code = (char *)"KAPPER";
    s->vacancy.seats = 1;
    s->vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_READY;
    s->vacancy.day_mask = 3;
    s->vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
    s->vacancy.start_date = &s->date;
    leerplek__v1__publish_vacancy_request__init(&s->body.publish_vacancy);
    s->body.publish_vacancy.vacancy = &s->vacancy;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY, r->publish_vacancy = &s->body.publish_vacancy;
  } else if (strcmp(call, "get_vacancy") == 0 || strcmp(call, "close_vacancy") == 0) {
    if (call[0] == 'g') {
      leerplek__v1__get_vacancy_request__init(&s->body.get_vacancy);
      s->body.get_vacancy.vacancy_id = (char *)"vac-x";
      r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_VACANCY, r->get_vacancy = &s->body.get_vacancy;
    } else {
      leerplek__v1__close_vacancy_request__init(&s->body.close_vacancy);
      s->body.close_vacancy.vacancy_id = (char *)"vac-x";
      r->body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY, r->close_vacancy = &s->body.close_vacancy;
    }
  } else if (strcmp(call, "list_vacancies") == 0) {
    leerplek__v1__list_vacancies_request__init(&s->body.list_vacancies);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_VACANCIES, r->list_vacancies = &s->body.list_vacancies;
  } else if (strcmp(call, "register_pupil") == 0 || strcmp(call, "update_pupil") == 0) {
    if (call[0] == 'r')
      snprintf(s->id, sizeof s->id, "new-%d", role);
    else
      snprintf(s->id, sizeof s->id, "p1");
    fill_pupil(&s->pupil, &s->point, "school-a", s->id, "KAPPER");
    if (call[0] == 'r') {
      leerplek__v1__register_pupil_request__init(&s->body.register_pupil);
      s->body.register_pupil.pupil = &s->pupil;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL, r->register_pupil = &s->body.register_pupil;
    } else {
      leerplek__v1__update_pupil_request__init(&s->body.update_pupil);
      s->body.update_pupil.pupil = &s->pupil;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL, r->update_pupil = &s->body.update_pupil;
    }
  } else if (strcmp(call, "get_pupil") == 0) {
    leerplek__v1__get_pupil_request__init(&s->body.get_pupil);
    s->body.get_pupil.school_id = (char *)"school-a";
    s->body.get_pupil.pupil_ref = (char *)"p1";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_PUPIL, r->get_pupil = &s->body.get_pupil;
  } else if (strcmp(call, "list_pupils") == 0) {
    leerplek__v1__list_pupils_request__init(&s->body.list_pupils);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS, r->list_pupils = &s->body.list_pupils;
  } else if (strcmp(call, "erase_pupil") == 0) {
    snprintf(s->id, sizeof s->id, "e-%d", role);
    leerplek__v1__erase_pupil_request__init(&s->body.erase_pupil);
    s->body.erase_pupil.school_id = (char *)"school-a";
    s->body.erase_pupil.pupil_ref = s->id;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL, r->erase_pupil = &s->body.erase_pupil;
  } else if (strcmp(call, "request_placement") == 0) {
    snprintf(s->id, sizeof s->id, "rp-%d", role);
    leerplek__v1__request_placement_request__init(&s->body.request_placement);
    s->body.request_placement.school_id = (char *)"school-a";
    s->body.request_placement.pupil_ref = s->id;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, r->request_placement = &s->body.request_placement;
  } else if (strcmp(call, "withdraw_placement") == 0) {
    snprintf(s->id, sizeof s->id, "wd-%d", role);
    leerplek__v1__withdraw_placement_request__init(&s->body.withdraw_placement);
    s->body.withdraw_placement.school_id = (char *)"school-a";
    s->body.withdraw_placement.pupil_ref = s->id;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT, r->withdraw_placement = &s->body.withdraw_placement;
  } else if (strcmp(call, "get_placement") == 0) {
    leerplek__v1__get_placement_request__init(&s->body.get_placement);
    s->body.get_placement.school_id = (char *)"school-a";
    s->body.get_placement.pupil_ref = (char *)"wd-0";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT, r->get_placement = &s->body.get_placement;
  } else if (strcmp(call, "list_placements") == 0) {
    leerplek__v1__list_placements_request__init(&s->body.list_placements);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS, r->list_placements = &s->body.list_placements;
  } else if (strcmp(call, "list_proposals") == 0) {
    leerplek__v1__list_proposals_request__init(&s->body.list_proposals);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS, r->list_proposals = &s->body.list_proposals;
  } else if (strcmp(call, "accept_proposal") == 0) {
    leerplek__v1__accept_proposal_request__init(&s->body.accept_proposal);
    s->body.accept_proposal.proposal_id = 1;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL, r->accept_proposal = &s->body.accept_proposal;
  } else if (strcmp(call, "decline_proposal") == 0) {
    leerplek__v1__decline_proposal_request__init(&s->body.decline_proposal);
    s->body.decline_proposal.proposal_id = 1;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL, r->decline_proposal = &s->body.decline_proposal;
  } else if (strcmp(call, "record_agreement") == 0) {
    leerplek__v1__record_agreement_request__init(&s->body.record_agreement);
    s->body.record_agreement.proposal_id = 1;
    static Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
    static Leerplek__V1__Date when = {PROTOBUF_C_MESSAGE_INIT(&leerplek__v1__date__descriptor), 2026, 9, 1};
    agreement.agreement_ref = (char *)"OAO-1";
    agreement.signed_on = &when;
    agreement.starts_on = &when;
    s->body.record_agreement.agreement = &agreement;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT, r->record_agreement = &s->body.record_agreement;
  } else if (strcmp(call, "end_agreement") == 0) {
    leerplek__v1__end_agreement_request__init(&s->body.end_agreement);
    s->body.end_agreement.proposal_id = 1;
    s->body.end_agreement.reason = (char *)"stopt";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_END_AGREEMENT, r->end_agreement = &s->body.end_agreement;
  } else if (strcmp(call, "close_school_year") == 0) {
    leerplek__v1__close_school_year_request__init(&s->body.close_school_year);
    s->body.close_school_year.boundary = &s->date;
    s->body.close_school_year.dry_run = true;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_CLOSE_SCHOOL_YEAR, r->close_school_year = &s->body.close_school_year;
  } else if (strcmp(call, "run_rematch") == 0) {
    leerplek__v1__run_rematch_request__init(&s->body.run_rematch);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH, r->run_rematch = &s->body.run_rematch;
  } else if (strcmp(call, "get_report") == 0) {
    leerplek__v1__get_report_request__init(&s->body.get_report);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_REPORT, r->get_report = &s->body.get_report;
  } else if (strcmp(call, "get_waiting_list") == 0) {
    leerplek__v1__get_waiting_list_request__init(&s->body.get_waiting_list);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST, r->get_waiting_list = &s->body.get_waiting_list;
  } else if (strcmp(call, "create_token") == 0) {
    leerplek__v1__create_token_request__init(&s->body.create_token);
    s->body.create_token.role = LEERPLEK__V1__ROLE__ROLE_COORDINATOR;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN, r->create_token = &s->body.create_token;
  } else if (strcmp(call, "list_tokens") == 0) {
    leerplek__v1__list_tokens_request__init(&s->body.list_tokens);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS, r->list_tokens = &s->body.list_tokens;
  } else if (strcmp(call, "revoke_token") == 0) {
    leerplek__v1__revoke_token_request__init(&s->body.revoke_token);
    s->body.revoke_token.token_id = spare_token_id;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_REVOKE_TOKEN, r->revoke_token = &s->body.revoke_token;
  } else if (strcmp(call, "upsert_support_organisation") == 0) {
    fill_support_organisation(&s->organisation, &s->site, s->sites, &s->point, "oal-a");
    s->organisation.name = (char *)"renamed";
    leerplek__v1__upsert_support_organisation_request__init(&s->body.upsert_support_organisation);
    s->body.upsert_support_organisation.organisation = &s->organisation;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_ORGANISATION;
    r->upsert_support_organisation = &s->body.upsert_support_organisation;
  } else if (strcmp(call, "get_support_organisation") == 0) {
    leerplek__v1__get_support_organisation_request__init(&s->body.get_support_organisation);
    s->body.get_support_organisation.organisation_id = (char *)"oal-a";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_ORGANISATION;
    r->get_support_organisation = &s->body.get_support_organisation;
  } else if (strcmp(call, "list_support_organisations") == 0) {
    leerplek__v1__list_support_organisations_request__init(&s->body.list_support_organisations);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_ORGANISATIONS;
    r->list_support_organisations = &s->body.list_support_organisations;
  } else if (strcmp(call, "upsert_support_offer") == 0) {
    snprintf(s->id, sizeof s->id, "off-new-%d", role);
    fill_support_offer(&s->offer, &s->date, s->id, "oal-a");
    leerplek__v1__upsert_support_offer_request__init(&s->body.upsert_support_offer);
    s->body.upsert_support_offer.offer = &s->offer;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER,
    r->upsert_support_offer = &s->body.upsert_support_offer;
  } else if (strcmp(call, "get_support_offer") == 0) {
    leerplek__v1__get_support_offer_request__init(&s->body.get_support_offer);
    s->body.get_support_offer.offer_id = (char *)"off-a";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_OFFER, r->get_support_offer = &s->body.get_support_offer;
  } else if (strcmp(call, "list_support_offers") == 0) {
    leerplek__v1__list_support_offers_request__init(&s->body.list_support_offers);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS,
    r->list_support_offers = &s->body.list_support_offers;
  } else if (strcmp(call, "refer_pupil") == 0) {
    snprintf(s->id, sizeof s->id, "rf-%d", role);
    leerplek__v1__refer_pupil_request__init(&s->body.refer_pupil);
    s->body.refer_pupil.school_id = (char *)"school-a";
    s->body.refer_pupil.pupil_ref = s->id;
    s->components[0] = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOWERK;
    s->body.refer_pupil.components = s->components;
    s->body.refer_pupil.n_components = 1;
    s->body.refer_pupil.reason = (char *)"needs a preparatory phase";
    s->body.refer_pupil.urgency = LEERPLEK__V1__URGENCY__URGENCY_NORMAL;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL, r->refer_pupil = &s->body.refer_pupil;
  } else if (strcmp(call, "run_dispatch") == 0) {
    leerplek__v1__run_dispatch_request__init(&s->body.run_dispatch);
    s->body.run_dispatch.dry_run = true;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_RUN_DISPATCH, r->run_dispatch = &s->body.run_dispatch;
  } else if (strcmp(call, "get_referral_waiting_list") == 0) {
    leerplek__v1__get_referral_waiting_list_request__init(&s->body.get_referral_waiting_list);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL_WAITING_LIST;
    r->get_referral_waiting_list = &s->body.get_referral_waiting_list;
  } else if (strcmp(call, "get_registration_point") == 0) {
    leerplek__v1__get_registration_point_request__init(&s->body.get_registration_point);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_REGISTRATION_POINT;
    r->get_registration_point = &s->body.get_registration_point;
  } else if (strcmp(call, "get_history") == 0) {
    leerplek__v1__get_history_request__init(&s->body.get_history);
    if (role == COMPANY_X || role == COMPANY_Y) {
      s->body.get_history.vacancy_id = (char *)"vac-x";
    } else {
      s->body.get_history.school_id = (char *)"school-a";
      s->body.get_history.pupil_ref = (char *)"p1";
    }
    r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_HISTORY, r->get_history = &s->body.get_history;
  } else if (strcmp(call, "watch") == 0) {
    leerplek__v1__watch_request__init(&s->body.watch);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_WATCH, r->watch = &s->body.watch;
  } else if (strcmp(call, "place_pupil") == 0) {
    leerplek__v1__place_pupil_request__init(&s->body.place_pupil);
    s->body.place_pupil.school_id = (char *)"school-a";
    s->body.place_pupil.pupil_ref = (char *)"p1";
    s->body.place_pupil.vacancy_id = (char *)"no-such-vacancy";
    r->body_case = LEERPLEK__V1__REQUEST__BODY_PLACE_PUPIL, r->place_pupil = &s->body.place_pupil;
  } else if (strcmp(call, "pin_placement") == 0) {
    leerplek__v1__pin_placement_request__init(&s->body.pin_placement);
    s->body.pin_placement.school_id = (char *)"school-a";
    s->body.pin_placement.pupil_ref = (char *)"p1";
    s->body.pin_placement.pin = true;
    r->body_case = LEERPLEK__V1__REQUEST__BODY_PIN_PLACEMENT, r->pin_placement = &s->body.pin_placement;
  } else if (strcmp(call, "list_referrals") == 0) {
    leerplek__v1__list_referrals_request__init(&s->body.list_referrals);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_REFERRALS, r->list_referrals = &s->body.list_referrals;
  } else if (strcmp(call, "list_support_referrals") == 0) {
    leerplek__v1__list_support_referrals_request__init(&s->body.list_support_referrals);
    r->body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS;
    r->list_support_referrals = &s->body.list_support_referrals;
  } else if (strstr(call, "_referral")) {
    /* The calls on one referral: school A's p1, FOVORM. */
    leerplek__v1__referral_key__init(&s->referral);
    s->referral.school_id = (char *)"school-a";
    s->referral.pupil_ref = (char *)"p1";
    s->referral.component = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_FOVORM;
    if (strcmp(call, "get_referral") == 0) {
      leerplek__v1__get_referral_request__init(&s->body.get_referral);
      s->body.get_referral.referral = &s->referral;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL, r->get_referral = &s->body.get_referral;
    } else if (strcmp(call, "offer_referral") == 0) {
      leerplek__v1__offer_referral_request__init(&s->body.offer_referral);
      s->body.offer_referral.referral = &s->referral;
      s->body.offer_referral.offer_id = (char *)"off-a";
      r->body_case = LEERPLEK__V1__REQUEST__BODY_OFFER_REFERRAL, r->offer_referral = &s->body.offer_referral;
    } else if (strcmp(call, "accept_referral") == 0) {
      leerplek__v1__accept_referral_request__init(&s->body.accept_referral);
      s->body.accept_referral.referral = &s->referral;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL, r->accept_referral = &s->body.accept_referral;
    } else if (strcmp(call, "decline_referral") == 0) {
      leerplek__v1__decline_referral_request__init(&s->body.decline_referral);
      s->body.decline_referral.referral = &s->referral;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL, r->decline_referral = &s->body.decline_referral;
    } else if (strcmp(call, "start_referral") == 0) {
      leerplek__v1__start_referral_request__init(&s->body.start_referral);
      s->body.start_referral.referral = &s->referral;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_START_REFERRAL, r->start_referral = &s->body.start_referral;
    } else if (strcmp(call, "end_referral") == 0) {
      leerplek__v1__end_referral_request__init(&s->body.end_referral);
      s->body.end_referral.referral = &s->referral;
      s->body.end_referral.outcome = LEERPLEK__V1__READINESS__READINESS_READY;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_END_REFERRAL, r->end_referral = &s->body.end_referral;
    } else if (strcmp(call, "withdraw_referral") == 0) {
      leerplek__v1__withdraw_referral_request__init(&s->body.withdraw_referral);
      s->body.withdraw_referral.referral = &s->referral;
      r->body_case = LEERPLEK__V1__REQUEST__BODY_WITHDRAW_REFERRAL, r->withdraw_referral = &s->body.withdraw_referral;
    } else {
      cr_assert_fail("no request builder for %s", call);
    }
  } else {
    cr_assert_fail("no request builder for %s", call);
  }
}

Test(access, every_role_against_every_call) {
  for (size_t row = 0; row < sizeof matrix / sizeof matrix[0]; row++) {
    for (int role = 0; role < ROLE_COUNT; role++) {
      request_storage storage;
      build_request(&storage, matrix[row].call, role);
      int expected = matrix[row].expected[role];
      char *before = expected == OK ? NULL : harness_snapshot(&harness);
      Leerplek__V1__Response *response = NULL;
      bool own_connection = strcmp(matrix[row].call, "watch") == 0;
      leerplek_client *client =
          own_connection ? harness_connect(&harness, role == ANONYMOUS ? NULL : tokens[role]) : clients[role];
      int code = call_code(client, &storage.request, &response);
      if (own_connection) leerplek_close(client);
      cr_assert_eq(code, expected, "%s as %s: got %s (%s), expected %s", matrix[row].call, role_names[role],
                   leerplek_status_name(code), response->status->message, leerplek_status_name(expected));
      if (code != OK) {
        cr_assert_neq(response->status->message[0], '\0', "%s as %s: a refusal says why", matrix[row].call,
                      role_names[role]);
        char *after = harness_snapshot(&harness);
        cr_assert_str_eq(before, after, "%s as %s was refused but changed Redis", matrix[row].call, role_names[role]);
        free(after);
      }
      free(before);
      leerplek_response_free(response);
    }
  }
}

Test(access, schools_see_only_their_pupils_and_companies_only_themselves) {
  request_storage storage;
  build_request(&storage, "list_pupils", SCHOOL_B);
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(clients[SCHOOL_B], &storage.request, &response), 0);
  cr_assert_eq(response->list_pupils->n_pupils, 1);
  cr_assert_str_eq(response->list_pupils->pupils[0]->school_id, "school-b");
  leerplek_response_free(response);

  build_request(&storage, "list_pupils", SCHOOL_A);
  storage.body.list_pupils.school_id = (char *)"school-b";
  cr_assert_eq(call_code(clients[SCHOOL_A], &storage.request, NULL), PD);

  build_request(&storage, "list_placements", SCHOOL_B);
  cr_assert_eq(call_code(clients[SCHOOL_B], &storage.request, &response), 0);
  cr_assert_eq(response->list_placements->total_size, 0, "school B sees none of school A's placements");
  leerplek_response_free(response);

  build_request(&storage, "list_companies", COMPANY_Y);
  cr_assert_eq(call_code(clients[COMPANY_Y], &storage.request, &response), 0);
  cr_assert_eq(response->list_companies->n_companies, 1);
  cr_assert_str_eq(response->list_companies->companies[0]->id, "2222222222");
  leerplek_response_free(response);

  build_request(&storage, "list_vacancies", COMPANY_Y);
  cr_assert_eq(call_code(clients[COMPANY_Y], &storage.request, &response), 0);
  cr_assert_eq(response->list_vacancies->total_size, 0, "company Y sees none of X's vacancies");
  leerplek_response_free(response);
}

Test(access, bad_and_missing_tokens_are_unauthenticated) {
  leerplek_client *client = NULL;
  char error[256];
  char forged[128];
  snprintf(forged, sizeof forged, "%s", tokens[COORDINATOR]);
  forged[30] = forged[30] == 'a' ? 'b' : 'a';
  cr_assert_neq(leerplek_connect(harness.daemon_address, forged, &client, error, sizeof error), 0);
  cr_assert_not_null(strstr(error, "UNAUTHENTICATED"), "%s", error);
  cr_assert_neq(leerplek_connect(harness.daemon_address, "not-a-token", &client, error, sizeof error), 0);
}
