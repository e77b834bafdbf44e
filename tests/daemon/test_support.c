/* test_support: support organisations and their offers through the real daemon and Redis: what is
 * stored is what is read back (also after a restart), bad input names its field and changes
 * nothing, a SUPPORT token sees and changes only its own organisation, and never a pupil. */
#include "common.h"
#include "support_common.h"

static lp_harness harness;
static leerplek_client *admin, *coordinator, *support_a, *support_b, *school;

static void connect_all(void) {
  char token[128];
  admin = harness_connect(&harness, harness.admin_token);
  cr_assert_not_null(admin);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_COORDINATOR, "", token, sizeof token);
  coordinator = harness_connect(&harness, token);
  cr_assert_not_null(coordinator);
  cr_assert_eq(upsert_training(coordinator, "KAPPER", "Kapper"), 0);
  cr_assert_eq(upsert_training(coordinator, "KOK", "Kok"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-a"), 0);
  cr_assert_eq(upsert_support_organisation(coordinator, "oal-b"), 0);
  cr_assert_eq(upsert_support_offer(coordinator, "off-b", "oal-b"), 0);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-a", token, sizeof token);
  support_a = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-b", token, sizeof token);
  support_b = harness_connect(&harness, token);
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SCHOOL, "school-a", token, sizeof token);
  school = harness_connect(&harness, token);
  cr_assert(support_a && support_b && school);
}

static void setup(void) {
  start_all(&harness, NULL);
  connect_all();
}

static void teardown(void) {
  leerplek_close(school);
  leerplek_close(support_b);
  leerplek_close(support_a);
  leerplek_close(coordinator);
  leerplek_close(admin);
  cr_assert_eq(harness_cleanup(&harness), 0, "leerplekd did not exit cleanly");
}

TestSuite(support, .init = setup, .fini = teardown, .timeout = 120);

/* Calls with client and expects code; a refusal must name field (when given) and leave Redis as
 * it was. */
static void expect_refusal(leerplek_client *client, Leerplek__V1__Request *request, int code, const char *field,
                           const char *what) {
  char *before = harness_snapshot(&harness);
  Leerplek__V1__Response *response = NULL;
  int got = call_code(client, request, &response);
  cr_assert_eq(got, code, "%s: got %s (%s), expected %s", what, leerplek_status_name(got), response->status->message,
               leerplek_status_name(code));
  if (field) cr_assert_str_eq(response->status->field, field, "%s: field (%s)", what, response->status->message);
  cr_assert_neq(response->status->message[0], '\0', "%s: a refusal says why", what);
  char *after = harness_snapshot(&harness);
  cr_assert_str_eq(before, after, "%s was refused but changed Redis", what);
  free(before);
  free(after);
  leerplek_response_free(response);
}

static Leerplek__V1__Request organisation_request(Leerplek__V1__UpsertSupportOrganisationRequest *body,
                                                  Leerplek__V1__SupportOrganisation *organisation) {
  leerplek__v1__upsert_support_organisation_request__init(body);
  body->organisation = organisation;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_ORGANISATION;
  request.upsert_support_organisation = body;
  return request;
}

static Leerplek__V1__Request offer_request(Leerplek__V1__UpsertSupportOfferRequest *body,
                                           Leerplek__V1__SupportOffer *offer) {
  leerplek__v1__upsert_support_offer_request__init(body);
  body->offer = offer;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER;
  request.upsert_support_offer = body;
  return request;
}

Test(support, stored_as_sent_revised_and_kept_over_a_restart) {
  Leerplek__V1__SupportOrganisation organisation;
  Leerplek__V1__SupportSite site, second, *sites[2];
  Leerplek__V1__GeoPoint point, second_point = LEERPLEK__V1__GEO_POINT__INIT;
  fill_support_organisation(&organisation, &site, sites, &point, "oal-c");
  leerplek__v1__support_site__init(&second);
  second_point.lat_e6 = 51260000;
  second_point.lon_e6 = 4430000;
  second.id = (char *)"s2";
  second.point = &second_point;
  second.postcode = (char *)"2170";
  second.district = (char *)"Merksem";
  sites[1] = &second;
  organisation.n_sites = 2;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(send_support_organisation(coordinator, &organisation, &response), 0);
  cr_assert(response->upsert_support_organisation->created);
  cr_assert_eq(response->upsert_support_organisation->organisation->revision, 1);
  leerplek_response_free(response);
  cr_assert_eq(send_support_organisation(coordinator, &organisation, &response), 0);
  cr_assert_not(response->upsert_support_organisation->created);
  cr_assert_eq(response->upsert_support_organisation->organisation->revision, 2);
  leerplek_response_free(response);

  /* Open to all (FOWERK at s1) and for KAPPER only (ALTDEL at s2). */
  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  cr_assert_eq(upsert_support_offer(coordinator, "off-c1", "oal-c"), 0);
  fill_support_offer(&offer, &start, "off-c2", "oal-c");
  char *codes[1] = {(char *)"KAPPER"};
  offer.component = LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL;
  offer.site_id = (char *)"s2";
  offer.training_codes = codes;
  offer.n_training_codes = 1;
  offer.seats = 100;
  offer.day_mask = 0x3fff;
  cr_assert_eq(send_support_offer(coordinator, &offer, NULL), 0);

  cr_assert_eq(harness_stop_daemon(&harness, SIGTERM), 0);
  cr_assert_eq(harness_start_daemon(&harness, NULL), 0);
  leerplek_close(coordinator);
  leerplek_close(admin);
  leerplek_close(support_a);
  leerplek_close(support_b);
  leerplek_close(school);
  connect_all();

  cr_assert_eq(get_support_offer(coordinator, "off-c2", &response), 0);
  const Leerplek__V1__SupportOffer *stored = response->get_support_offer->offer;
  cr_assert_str_eq(stored->organisation_id, "oal-c");
  cr_assert_str_eq(stored->site_id, "s2");
  cr_assert_eq(stored->component, LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL);
  cr_assert_eq(stored->n_training_codes, 1);
  cr_assert_str_eq(stored->training_codes[0], "KAPPER");
  cr_assert_eq(stored->seats, 100);
  cr_assert_eq(stored->day_mask, 0x3fff);
  cr_assert_eq(stored->start_date->year, 2026);
  cr_assert_eq(stored->start_date->month, 9);
  cr_assert_eq(stored->revision, 1);
  cr_assert_gt(stored->updated_unix_s, 0);
  leerplek_response_free(response);

  Leerplek__V1__GetSupportOrganisationRequest get = LEERPLEK__V1__GET_SUPPORT_ORGANISATION_REQUEST__INIT;
  get.organisation_id = (char *)"oal-c";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_ORGANISATION;
  request.get_support_organisation = &get;
  cr_assert_eq(call_code(school, &request, &response), 0, "a school reads the partners");
  const Leerplek__V1__SupportOrganisation *read = response->get_support_organisation->organisation;
  cr_assert_eq(read->revision, 2);
  cr_assert_eq(read->n_sites, 2);
  cr_assert_str_eq(read->sites[1]->id, "s2");
  cr_assert_str_eq(read->sites[1]->district, "Merksem");
  cr_assert_eq(read->sites[1]->point->lat_e6, 51260000);
  leerplek_response_free(response);

  /* Filters: a training finds the offers listing it and those open to all. */
  cr_assert_eq(list_support_offers(school, "oal-c", 0, "KAPPER", &response), 0);
  cr_assert_eq(response->list_support_offers->total_size, 2);
  leerplek_response_free(response);
  cr_assert_eq(list_support_offers(school, "oal-c", 0, "KOK", &response), 0);
  cr_assert_eq(response->list_support_offers->total_size, 1);
  cr_assert_str_eq(response->list_support_offers->offers[0]->id, "off-c1");
  leerplek_response_free(response);
  cr_assert_eq(
      list_support_offers(coordinator, "", LEERPLEK__V1__SUPPORT_COMPONENT__SUPPORT_COMPONENT_ALTDEL, "", &response),
      0);
  cr_assert_eq(response->list_support_offers->total_size, 1);
  cr_assert_str_eq(response->list_support_offers->offers[0]->id, "off-c2");
  leerplek_response_free(response);
  cr_assert_eq(list_support_offers(coordinator, "", 0, "", &response), 0);
  cr_assert_eq(response->list_support_offers->total_size, 3, "off-b, off-c1, off-c2");
  leerplek_response_free(response);
}

Test(support, bad_input_names_the_field_and_changes_nothing) {
  Leerplek__V1__SupportOrganisation organisation;
  Leerplek__V1__SupportSite site, twin, *sites[2];
  Leerplek__V1__GeoPoint point;
  Leerplek__V1__UpsertSupportOrganisationRequest organisation_body;
  Leerplek__V1__Request request;
#define ORGANISATION_CASE(change, field)                                                                               \
  do {                                                                                                                 \
    fill_support_organisation(&organisation, &site, sites, &point, "oal-a");                                           \
    change;                                                                                                            \
    request = organisation_request(&organisation_body, &organisation);                                                 \
    expect_refusal(coordinator, &request, CODE(INVALID_ARGUMENT), field, #change);                                     \
  } while (0)
  ORGANISATION_CASE(organisation.id = (char *)"", "upsert_support_organisation.organisation.id");
  ORGANISATION_CASE(organisation.name = (char *)"", "upsert_support_organisation.organisation.name");
  ORGANISATION_CASE(site.id = (char *)"bad id", "upsert_support_organisation.organisation.sites[0].id");
  ORGANISATION_CASE(site.point = NULL, "upsert_support_organisation.organisation.sites[0].point");
  ORGANISATION_CASE(point.lat_e6 = 90000001, "upsert_support_organisation.organisation.sites[0].point.lat_e6");
  ORGANISATION_CASE(site.postcode = (char *)"266", "upsert_support_organisation.organisation.sites[0].postcode");
  ORGANISATION_CASE((twin = site, sites[1] = &twin, organisation.n_sites = 2),
                    "upsert_support_organisation.organisation.sites[1].id");
  request = organisation_request(&organisation_body, NULL);
  expect_refusal(coordinator, &request, CODE(INVALID_ARGUMENT), "upsert_support_organisation.organisation",
                 "no organisation");
  fill_support_organisation(&organisation, &site, sites, &point, "oal-a");
  request = organisation_request(&organisation_body, &organisation);
  organisation_body.expected_revision = 7;
  expect_refusal(coordinator, &request, CODE(ABORTED), "upsert_support_organisation.expected_revision",
                 "stale revision");

  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  Leerplek__V1__UpsertSupportOfferRequest offer_body;
  char *codes[2] = {(char *)"KAPPER", (char *)"KAPPER"};
#define OFFER_CASE(change, code, field)                                                                                \
  do {                                                                                                                 \
    fill_support_offer(&offer, &start, "off-new", "oal-a");                                                            \
    change;                                                                                                            \
    request = offer_request(&offer_body, &offer);                                                                      \
    expect_refusal(coordinator, &request, code, field, #change);                                                       \
  } while (0)
  OFFER_CASE(offer.id = (char *)"", CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.id");
  OFFER_CASE(offer.organisation_id = (char *)"oal-x", CODE(INVALID_ARGUMENT),
             "upsert_support_offer.offer.organisation_id");
  OFFER_CASE(offer.site_id = (char *)"s9", CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.site_id");
  OFFER_CASE(offer.component = 0, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.component");
  OFFER_CASE(offer.component = 7, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.component");
  OFFER_CASE(offer.seats = 0, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.seats");
  OFFER_CASE(offer.seats = 101, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.seats");
  OFFER_CASE(offer.day_mask = 0, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.day_mask");
  OFFER_CASE(offer.day_mask = 0x4000, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.day_mask");
  OFFER_CASE(offer.start_date = NULL, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.start_date");
  OFFER_CASE(start.month = 13, CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.start_date");
  OFFER_CASE((codes[0] = (char *)"NOPE", offer.training_codes = codes, offer.n_training_codes = 1),
             CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.training_codes[0]");
  OFFER_CASE((codes[0] = (char *)"KAPPER", offer.training_codes = codes, offer.n_training_codes = 2),
             CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.training_codes[1]");
  /* An offer cannot move to another organisation. */
  OFFER_CASE(offer.id = (char *)"off-b", CODE(INVALID_ARGUMENT), "upsert_support_offer.offer.organisation_id");
#undef OFFER_CASE
#undef ORGANISATION_CASE

  /* A site an offer uses stays; one no offer uses may go. */
  cr_assert_eq(upsert_support_offer(coordinator, "off-a", "oal-a"), 0);
  Leerplek__V1__GeoPoint other = LEERPLEK__V1__GEO_POINT__INIT;
  fill_support_organisation(&organisation, &site, sites, &point, "oal-a");
  twin = site;
  twin.id = (char *)"s2";
  twin.point = &other;
  sites[0] = &twin;
  request = organisation_request(&organisation_body, &organisation);
  expect_refusal(coordinator, &request, CODE(FAILED_PRECONDITION), "upsert_support_organisation.organisation.sites",
                 "removing a site in use");
  sites[0] = &site;
  sites[1] = &twin;
  organisation.n_sites = 2;
  cr_assert_eq(send_support_organisation(coordinator, &organisation, NULL), 0, "adding s2");
  organisation.n_sites = 1;
  cr_assert_eq(send_support_organisation(coordinator, &organisation, NULL), 0, "removing s2 again, unused");
}

Test(support, a_support_token_sees_and_changes_only_its_own) {
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(upsert_support_offer(support_a, "off-a", "oal-a"), 0);
  Leerplek__V1__SupportOrganisation organisation;
  Leerplek__V1__SupportSite site, *sites[1];
  Leerplek__V1__GeoPoint point;
  fill_support_organisation(&organisation, &site, sites, &point, "oal-a");
  organisation.name = (char *)"Werkplaats Zuid vzw (renamed)";
  cr_assert_eq(send_support_organisation(support_a, &organisation, NULL), 0, "its own organisation");

  Leerplek__V1__UpsertSupportOrganisationRequest organisation_body;
  Leerplek__V1__Request request;
  fill_support_organisation(&organisation, &site, sites, &point, "oal-b");
  request = organisation_request(&organisation_body, &organisation);
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "upsert_support_organisation.organisation.id",
                 "support A renames B");
  fill_support_organisation(&organisation, &site, sites, &point, "oal-new");
  request = organisation_request(&organisation_body, &organisation);
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "upsert_support_organisation.organisation.id",
                 "support A creates another organisation");

  Leerplek__V1__SupportOffer offer;
  Leerplek__V1__Date start;
  Leerplek__V1__UpsertSupportOfferRequest offer_body;
  fill_support_offer(&offer, &start, "off-a2", "oal-b");
  request = offer_request(&offer_body, &offer);
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "upsert_support_offer.offer.organisation_id",
                 "support A publishes for B");
  fill_support_offer(&offer, &start, "off-b", "oal-a");
  request = offer_request(&offer_body, &offer);
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "upsert_support_offer.offer.id",
                 "support A takes over B's offer");

  Leerplek__V1__GetSupportOfferRequest get_offer = LEERPLEK__V1__GET_SUPPORT_OFFER_REQUEST__INIT;
  get_offer.offer_id = (char *)"off-b";
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_OFFER;
  request.get_support_offer = &get_offer;
  expect_refusal(support_a, &request, CODE(NOT_FOUND), "get_support_offer.offer_id", "support A reads B's offer");
  cr_assert_eq(get_support_offer(support_b, "off-b", NULL), 0);

  Leerplek__V1__GetSupportOrganisationRequest get_organisation = LEERPLEK__V1__GET_SUPPORT_ORGANISATION_REQUEST__INIT;
  get_organisation.organisation_id = (char *)"oal-b";
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_ORGANISATION;
  request.get_support_organisation = &get_organisation;
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "get_support_organisation.organisation_id",
                 "support A reads B");

  cr_assert_eq(list_support_offers(support_a, "", 0, "", &response), 0);
  cr_assert_eq(response->list_support_offers->total_size, 1, "A sees only its own offer");
  cr_assert_str_eq(response->list_support_offers->offers[0]->id, "off-a");
  leerplek_response_free(response);
  Leerplek__V1__ListSupportOffersRequest list = LEERPLEK__V1__LIST_SUPPORT_OFFERS_REQUEST__INIT;
  list.organisation_id = (char *)"oal-b";
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS;
  request.list_support_offers = &list;
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "list_support_offers.organisation_id",
                 "A lists B's offers");
  cr_assert_eq(list_support_offers(school, "", 0, "", &response), 0);
  cr_assert_eq(response->list_support_offers->total_size, 2, "a school sees every partner's offers");
  leerplek_response_free(response);

  Leerplek__V1__ListSupportOrganisationsRequest organisations = LEERPLEK__V1__LIST_SUPPORT_ORGANISATIONS_REQUEST__INIT;
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_ORGANISATIONS;
  request.list_support_organisations = &organisations;
  cr_assert_eq(call_code(support_b, &request, &response), 0);
  cr_assert_eq(response->list_support_organisations->total_size, 1);
  cr_assert_str_eq(response->list_support_organisations->organisations[0]->id, "oal-b");
  leerplek_response_free(response);

  /* A school writes no partner records. */
  fill_support_offer(&offer, &start, "off-s", "oal-a");
  request = offer_request(&offer_body, &offer);
  expect_refusal(school, &request, CODE(PERMISSION_DENIED), "body", "a school publishes an offer");

  /* Every write says who made it. */
  redisContext *redis = harness_redis(&harness);
  redisReply *events = redisCommand(redis, "XREVRANGE lp:events + - COUNT 20");
  cr_assert_eq(events->type, REDIS_REPLY_ARRAY);
  bool found = false;
  for (size_t i = 0; i < events->elements && !found; i++) {
    redisReply *fields = events->element[i]->element[1];
    bool offer_key = false, by_a = false;
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      if (strcmp(fields->element[f]->str, "key") == 0 && strcmp(fields->element[f + 1]->str, "off-a") == 0)
        offer_key = true;
      if (strcmp(fields->element[f]->str, "actor") == 0 && strcmp(fields->element[f + 1]->str, "support:oal-a") == 0)
        by_a = true;
    }
    found = offer_key && by_a;
  }
  cr_assert(found, "the event of off-a names support:oal-a");
  freeReplyObject(events);
  redisFree(redis);
}

Test(support, support_tokens_need_an_existing_organisation_and_see_no_pupil) {
  Leerplek__V1__CreateTokenRequest body = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  body.role = LEERPLEK__V1__ROLE__ROLE_SUPPORT;
  body.scope_id = (char *)"";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN;
  request.create_token = &body;
  expect_refusal(admin, &request, CODE(INVALID_ARGUMENT), "create_token.scope_id", "no scope");
  body.scope_id = (char *)"oal-x";
  expect_refusal(admin, &request, CODE(INVALID_ARGUMENT), "create_token.scope_id", "unknown organisation");

  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_HELLO;
  request.hello = &hello;
  char token[128];
  create_token(admin, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "oal-b", token, sizeof token);
  request.token = token;
  Leerplek__V1__Response *response = NULL;
  cr_assert_eq(call_code(support_b, &request, &response), 0);
  cr_assert_eq(response->hello->role, LEERPLEK__V1__ROLE__ROLE_SUPPORT);
  cr_assert_str_eq(response->hello->scope_id, "oal-b");
  leerplek_response_free(response);

  /* A pupil of school A exists; the support token reaches it by no call. */
  cr_assert_eq(register_pupil(school, "school-a", "p1", "KAPPER"), 0);
  cr_assert_eq(get_pupil(support_a, "school-a", "p1", NULL), CODE(PERMISSION_DENIED));
  Leerplek__V1__ListPupilsRequest pupils = LEERPLEK__V1__LIST_PUPILS_REQUEST__INIT;
  request = (Leerplek__V1__Request)LEERPLEK__V1__REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS;
  request.list_pupils = &pupils;
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "body", "support lists pupils");
  Leerplek__V1__GetWaitingListRequest waiting = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST;
  request.get_waiting_list = &waiting;
  expect_refusal(support_a, &request, CODE(PERMISSION_DENIED), "body", "support reads the waiting list");
}
