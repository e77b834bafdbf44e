/* fuzz_dispatch: libFuzzer target for the frame decoder and the dispatch of every call. The
 * daemon's own server, dispatch, handlers and store run in this process on their event loop,
 * against a real redis-server (started by the test harness in a private folder). Each input
 * is one connection: the bytes are written to the daemon's unix socket, the write side is
 * shut, and the loop runs until the daemon has closed the connection and no write is still
 * waiting for Redis. Every reply must be a frame that parses as a Response with a known
 * status code.
 *
 * An input is a list of records, each [selector][length, 2 bytes big-endian][bytes]:
 *   selector & 0x80   the bytes go out as they are (no length prefix): the frame decoder's
 *                     view of torn frames, lying lengths and garbage;
 *   otherwise         the bytes are a Request, framed with their length; selector & 7 picks a
 *                     token appended as field 2 (a later field wins in protobuf): 0 none (the
 *                     request's own, if any), 1 admin, 2 coordinator, 3 school S1, 4 school
 *                     S2, 5 company 0123456789, 6 company 0987654321, 7 a token that does not
 *                     exist. The tokens are made at start with fixed secrets.
 * A hello opens the connection unless the first selector has 0x40 set (then the input must
 * greet itself, or meet the greeting rule).
 *
 * FUZZ_DISPATCH_WRITE_SEEDS=DIR writes the seed corpus (one input per call, each with the
 * records that set up a training, companies, a location, a vacancy and pupils first) and exits. */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "leerplek.pb-c.h"
#include "lp_alloc.h"
#include "lp_auth.h"
#include "lp_daemon.h"
#include "lp_dispatch.h"
#include "lp_log.h"
#include "lp_rematch.h"
#include "lp_server.h"
#include "lp_store.h"
#include "lp_store_daemon.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Tokens with fixed secrets: lp1.<16 hex id>.<64 hex secret>. */

typedef struct fuzz_token {
  const char *id;
  int role;
  const char *scope;
} fuzz_token;

static const fuzz_token tokens[] = {
    {"f000000000000001", LEERPLEK__V1__ROLE__ROLE_ADMIN, ""},
    {"f000000000000002", LEERPLEK__V1__ROLE__ROLE_COORDINATOR, ""},
    {"f000000000000003", LEERPLEK__V1__ROLE__ROLE_SCHOOL, "S1"},
    {"f000000000000004", LEERPLEK__V1__ROLE__ROLE_SCHOOL, "S2"},
    {"f000000000000005", LEERPLEK__V1__ROLE__ROLE_COMPANY, "0123456789"},
    {"f000000000000006", LEERPLEK__V1__ROLE__ROLE_COMPANY, "0987654321"},
};
#define TOKEN_COUNT (sizeof tokens / sizeof tokens[0])

static void token_text(size_t index, char text[LP_TOKEN_TEXT_SIZE]) {
  if (index >= TOKEN_COUNT) {
    snprintf(text, LP_TOKEN_TEXT_SIZE, "lp1.%s.%064d", "fffffffffffffff0", 0);
    return;
  }
  char secret[65];
  for (int i = 0; i < 64; i++) secret[i] = "0123456789abcdef"[(i * 7 + (int)index) % 16];
  secret[64] = '\0';
  snprintf(text, LP_TOKEN_TEXT_SIZE, "lp1.%s.%s", tokens[index].id, secret);
}

/* ------------------------------------------------------------------------------------------ */
/* Inputs: building records. */

typedef struct bytes {
  unsigned char *data;
  size_t size, capacity;
} bytes;

static void bytes_add(bytes *b, const void *data, size_t size) {
  if (size == 0) return;
  if (b->size + size > b->capacity) {
    size_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < b->size + size) capacity *= 2;
    b->data = realloc(b->data, capacity);
    if (!b->data) abort();
    b->capacity = capacity;
  }
  memcpy(b->data + b->size, data, size);
  b->size += size;
}

static void add_record(bytes *input, unsigned char selector, Leerplek__V1__Request *request) {
  size_t size = leerplek__v1__request__get_packed_size(request);
  unsigned char *packed = malloc(size ? size : 1);
  if (!packed) abort();
  leerplek__v1__request__pack(request, packed);
  unsigned char head[3] = {selector, (unsigned char)(size >> 8), (unsigned char)size};
  bytes_add(input, head, 3);
  bytes_add(input, packed, size);
  free(packed);
}

/* A Request named var_ whose body is member_ (BODY_<case_>) pointing at value_. */
#define REQUEST(var_, case_, member_, value_)                                                                          \
  Leerplek__V1__Request var_ = LEERPLEK__V1__REQUEST__INIT;                                                            \
  var_.request_id = 7;                                                                                                 \
  var_.body_case = LEERPLEK__V1__REQUEST__BODY_##case_;                                                                \
  var_.member_ = &value_

static Leerplek__V1__Date start_date = {PROTOBUF_C_MESSAGE_INIT(&leerplek__v1__date__descriptor), 2026, 9, 1};
static Leerplek__V1__GeoPoint antwerp = {PROTOBUF_C_MESSAGE_INIT(&leerplek__v1__geo_point__descriptor), 51219448,
                                         4402464};

/* A training, two companies, a location, a vacancy and two pupils of S1 on the waiting list. */
static void add_setup(bytes *input) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = "ELEKTRO";
  training.name = "Elektrische installaties";
  Leerplek__V1__UpsertTrainingRequest upsert_training = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  upsert_training.training = &training;
  REQUEST(r1, UPSERT_TRAINING, upsert_training, upsert_training);
  add_record(input, 2, &r1);

  static char *codes[] = {"ELEKTRO"};
  const char *company_ids[] = {"0123456789", "0987654321"};
  for (int i = 0; i < 2; i++) {
    Leerplek__V1__Company company = LEERPLEK__V1__COMPANY__INIT;
    company.id = (char *)company_ids[i];
    company.name = "Bouw NV";
    company.n_recognised_training_codes = 1;
    company.recognised_training_codes = codes;
    Leerplek__V1__UpsertCompanyRequest upsert_company = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
    upsert_company.company = &company;
    REQUEST(r2, UPSERT_COMPANY, upsert_company, upsert_company);
    add_record(input, 2, &r2);
  }

  Leerplek__V1__Location location = LEERPLEK__V1__LOCATION__INIT;
  location.id = "L1";
  location.company_id = "0123456789";
  location.name = "Werkplaats";
  location.point = &antwerp;
  location.postcode = "2000";
  location.district = "Antwerpen";
  Leerplek__V1__UpsertLocationRequest upsert_location = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
  upsert_location.location = &location;
  REQUEST(r3, UPSERT_LOCATION, upsert_location, upsert_location);
  add_record(input, 5, &r3);

  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = "V1";
  vacancy.location_id = "L1";
  vacancy.training_code = "ELEKTRO";
  vacancy.seats = 2;
  vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  vacancy.day_mask = 0x183;
  vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy.start_date = &start_date;
  vacancy.mentor = "Jan";
  Leerplek__V1__PublishVacancyRequest publish = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  publish.vacancy = &vacancy;
  REQUEST(r4, PUBLISH_VACANCY, publish_vacancy, publish);
  add_record(input, 5, &r4);

  const char *refs[] = {"P1", "P2"};
  for (int i = 0; i < 2; i++) {
    Leerplek__V1__Pupil pupil = LEERPLEK__V1__PUPIL__INIT;
    pupil.school_id = "S1";
    pupil.ref = (char *)refs[i];
    pupil.training_code = "ELEKTRO";
    pupil.readiness = LEERPLEK__V1__READINESS__READINESS_READY;
    pupil.home = &antwerp;
    pupil.home_postcode = "2000";
    pupil.max_commute_m = 20000;
    pupil.day_mask = 0x3;
    pupil.school_notes = "line one\nline two";
    Leerplek__V1__RegisterPupilRequest register_pupil = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
    register_pupil.pupil = &pupil;
    REQUEST(r5, REGISTER_PUPIL, register_pupil, register_pupil);
    add_record(input, 3, &r5);
    Leerplek__V1__RequestPlacementRequest request_placement = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
    request_placement.school_id = "S1";
    request_placement.pupil_ref = (char *)refs[i];
    REQUEST(r6, REQUEST_PLACEMENT, request_placement, request_placement);
    add_record(input, 3, &r6);
  }
}

static void write_seed(const char *dir, const char *name, const bytes *input) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *file = fopen(path, "wb");
  if (!file || fwrite(input->data, 1, input->size, file) != input->size || fclose(file) != 0) {
    fprintf(stderr, "fuzz_dispatch: cannot write %s\n", path);
    exit(1);
  }
}

/* The id a first rematch (epoch 1) gives its first proposal. */
#define FIRST_PROPOSAL ((UINT64_C(1) << 24) | 1)

/* One seed per call: the setup, then the call with a token allowed to make it. */
static void write_seeds(const char *dir) {
  Leerplek__V1__Training training = LEERPLEK__V1__TRAINING__INIT;
  training.code = "ZORG";
  training.name = "Zorgkundige";
  Leerplek__V1__UpsertTrainingRequest upsert_training = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  upsert_training.training = &training;
  upsert_training.expected_revision = 1;
  Leerplek__V1__GetTrainingRequest get_training = LEERPLEK__V1__GET_TRAINING_REQUEST__INIT;
  get_training.code = "ELEKTRO";
  Leerplek__V1__ListTrainingsRequest list_trainings = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
  list_trainings.page_size = 1;
  Leerplek__V1__GetCompanyRequest get_company = LEERPLEK__V1__GET_COMPANY_REQUEST__INIT;
  get_company.company_id = "0123456789";
  Leerplek__V1__ListCompaniesRequest list_companies = LEERPLEK__V1__LIST_COMPANIES_REQUEST__INIT;
  list_companies.training_code = "ELEKTRO";
  Leerplek__V1__GetLocationRequest get_location = LEERPLEK__V1__GET_LOCATION_REQUEST__INIT;
  get_location.location_id = "L1";
  Leerplek__V1__ListLocationsRequest list_locations = LEERPLEK__V1__LIST_LOCATIONS_REQUEST__INIT;
  list_locations.company_id = "0123456789";
  Leerplek__V1__Vacancy vacancy = LEERPLEK__V1__VACANCY__INIT;
  vacancy.id = "V1";
  vacancy.location_id = "L1";
  vacancy.training_code = "ELEKTRO";
  vacancy.seats = 3;
  vacancy.min_readiness = LEERPLEK__V1__READINESS__READINESS_READY;
  vacancy.day_mask = 0x3fff;
  vacancy.kind = LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR;
  vacancy.start_date = &start_date;
  Leerplek__V1__UpdateVacancyRequest update_vacancy = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  update_vacancy.vacancy = &vacancy;
  Leerplek__V1__CloseVacancyRequest close_vacancy = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  close_vacancy.vacancy_id = "V1";
  Leerplek__V1__GetVacancyRequest get_vacancy = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  get_vacancy.vacancy_id = "V1";
  Leerplek__V1__ListVacanciesRequest list_vacancies = LEERPLEK__V1__LIST_VACANCIES_REQUEST__INIT;
  list_vacancies.location_id = "L1";
  Leerplek__V1__Pupil pupil = LEERPLEK__V1__PUPIL__INIT;
  pupil.school_id = "S1";
  pupil.ref = "P1";
  pupil.training_code = "ELEKTRO";
  pupil.readiness = LEERPLEK__V1__READINESS__READINESS_PARTLY;
  pupil.home = &antwerp;
  pupil.home_postcode = "2018";
  pupil.home_district = "Zurenborg";
  pupil.max_commute_m = 5000;
  pupil.day_mask = 0x180;
  Leerplek__V1__UpdatePupilRequest update_pupil = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
  update_pupil.pupil = &pupil;
  Leerplek__V1__GetPupilRequest get_pupil = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  get_pupil.school_id = "S1";
  get_pupil.pupil_ref = "P1";
  Leerplek__V1__ListPupilsRequest list_pupils = LEERPLEK__V1__LIST_PUPILS_REQUEST__INIT;
  list_pupils.page_size = 1;
  Leerplek__V1__ErasePupilRequest erase_pupil = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  erase_pupil.pupil_ref = "P2";
  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  withdraw.pupil_ref = "P1";
  withdraw.reason = "moved away";
  Leerplek__V1__GetPlacementRequest get_placement = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  get_placement.pupil_ref = "P1";
  Leerplek__V1__ListPlacementsRequest list_placements = LEERPLEK__V1__LIST_PLACEMENTS_REQUEST__INIT;
  list_placements.state = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING;
  Leerplek__V1__ListProposalsRequest list_proposals = LEERPLEK__V1__LIST_PROPOSALS_REQUEST__INIT;
  list_proposals.vacancy_id = "V1";
  Leerplek__V1__AcceptProposalRequest accept = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  accept.proposal_id = FIRST_PROPOSAL;
  accept.side = LEERPLEK__V1__SIDE__SIDE_COMPANY;
  Leerplek__V1__DeclineProposalRequest decline = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
  decline.proposal_id = FIRST_PROPOSAL;
  decline.side = LEERPLEK__V1__SIDE__SIDE_SCHOOL;
  decline.reason = "too far";
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = "OAO-1";
  agreement.signed_on = &start_date;
  agreement.starts_on = &start_date;
  Leerplek__V1__RecordAgreementRequest record_agreement = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  record_agreement.proposal_id = FIRST_PROPOSAL;
  record_agreement.agreement = &agreement;
  Leerplek__V1__RunRematchRequest rematch = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  rematch.max_changes = 10;
  Leerplek__V1__GetReportRequest report = LEERPLEK__V1__GET_REPORT_REQUEST__INIT;
  report.max_shortages = 3;
  Leerplek__V1__GetWaitingListRequest waiting = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  waiting.training_code = "ELEKTRO";
  Leerplek__V1__CreateTokenRequest create_token = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  create_token.role = LEERPLEK__V1__ROLE__ROLE_SCHOOL;
  create_token.scope_id = "S3";
  create_token.label = "school 3";
  Leerplek__V1__RevokeTokenRequest revoke = LEERPLEK__V1__REVOKE_TOKEN_REQUEST__INIT;
  revoke.token_id = "f000000000000004";
  Leerplek__V1__ListTokensRequest list_tokens = LEERPLEK__V1__LIST_TOKENS_REQUEST__INIT;
  list_tokens.include_revoked = 1;
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = "fuzz";

  struct {
    const char *name;
    unsigned char selector;
    Leerplek__V1__Request request;
  } calls[40];
  size_t n = 0;
#define CALL(seed_name, token, body_case, field_, value_)                                                              \
  do {                                                                                                                 \
    REQUEST(r, body_case, field_, value_);                                                                             \
    calls[n].name = seed_name, calls[n].selector = token, calls[n].request = r;                                        \
    n++;                                                                                                               \
  } while (0)
  CALL("upsert_training", 2, UPSERT_TRAINING, upsert_training, upsert_training);
  CALL("get_training", 3, GET_TRAINING, get_training, get_training);
  CALL("list_trainings", 5, LIST_TRAININGS, list_trainings, list_trainings);
  CALL("get_company", 5, GET_COMPANY, get_company, get_company);
  CALL("list_companies", 3, LIST_COMPANIES, list_companies, list_companies);
  CALL("get_location", 6, GET_LOCATION, get_location, get_location);
  CALL("list_locations", 5, LIST_LOCATIONS, list_locations, list_locations);
  CALL("update_vacancy", 5, UPDATE_VACANCY, update_vacancy, update_vacancy);
  CALL("close_vacancy", 6, CLOSE_VACANCY, close_vacancy, close_vacancy);
  CALL("get_vacancy", 5, GET_VACANCY, get_vacancy, get_vacancy);
  CALL("list_vacancies", 2, LIST_VACANCIES, list_vacancies, list_vacancies);
  CALL("update_pupil", 3, UPDATE_PUPIL, update_pupil, update_pupil);
  CALL("get_pupil", 4, GET_PUPIL, get_pupil, get_pupil);
  CALL("list_pupils", 2, LIST_PUPILS, list_pupils, list_pupils);
  CALL("erase_pupil", 3, ERASE_PUPIL, erase_pupil, erase_pupil);
  CALL("withdraw_placement", 3, WITHDRAW_PLACEMENT, withdraw_placement, withdraw);
  CALL("get_placement", 3, GET_PLACEMENT, get_placement, get_placement);
  CALL("list_placements", 2, LIST_PLACEMENTS, list_placements, list_placements);
  CALL("list_proposals", 5, LIST_PROPOSALS, list_proposals, list_proposals);
  CALL("run_rematch", 2, RUN_REMATCH, run_rematch, rematch);
  CALL("accept_proposal", 5, ACCEPT_PROPOSAL, accept_proposal, accept);
  CALL("decline_proposal", 3, DECLINE_PROPOSAL, decline_proposal, decline);
  CALL("record_agreement", 2, RECORD_AGREEMENT, record_agreement, record_agreement);
  CALL("get_report", 2, GET_REPORT, get_report, report);
  CALL("get_waiting_list", 3, GET_WAITING_LIST, get_waiting_list, waiting);
  CALL("create_token", 1, CREATE_TOKEN, create_token, create_token);
  CALL("revoke_token", 1, REVOKE_TOKEN, revoke_token, revoke);
  CALL("list_tokens", 1, LIST_TOKENS, list_tokens, list_tokens);
  CALL("hello_with_token", 4, HELLO, hello, hello);
  CALL("wrong_role", 1, GET_PUPIL, get_pupil, get_pupil);
  CALL("unknown_token", 7, GET_TRAINING, get_training, get_training);
#undef CALL
  for (size_t i = 0; i < n; i++) {
    bytes input = {0};
    add_setup(&input);
    add_record(&input, calls[i].selector, &calls[i].request);
    if (strcmp(calls[i].name, "run_rematch") == 0) {
      /* The proposals the rematch makes, answered from both sides. */
      accept.proposal_id = FIRST_PROPOSAL;
      REQUEST(a, ACCEPT_PROPOSAL, accept_proposal, accept);
      add_record(&input, 5, &a);
    }
    write_seed(dir, calls[i].name, &input);
    free(input.data);
  }
  /* The frame decoder: torn frames, a length above the limit, a frame that does not parse. */
  bytes input = {0};
  add_setup(&input);
  static const unsigned char torn[] = {0x80, 0x00, 0x06, 0x00, 0x00, 0x00, 0x09, 0x08, 0x01};
  bytes_add(&input, torn, sizeof torn);
  write_seed(dir, "torn_frame", &input);
  input.size = 0;
  static const unsigned char huge[] = {0x80, 0x00, 0x04, 0x7f, 0xff, 0xff, 0xff};
  bytes_add(&input, huge, sizeof huge);
  write_seed(dir, "huge_length", &input);
  input.size = 0;
  static const unsigned char garbage[] = {0x80, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff};
  bytes_add(&input, garbage, sizeof garbage);
  write_seed(dir, "garbage_frame", &input);
  input.size = 0;
  REQUEST(h, HELLO, hello, hello);
  REQUEST(g, GET_TRAINING, get_training, get_training);
  add_record(&input, 0x40, &g);
  add_record(&input, 0, &h);
  write_seed(dir, "no_hello_first", &input);
  free(input.data);
}

/* ------------------------------------------------------------------------------------------ */
/* The daemon in this process. */

static lp_harness harness;
static lp_daemon daemon_state;
static lp_rematch *rematch;
static char socket_path[400];

static void stop_redis(void) { harness_cleanup(&harness); }

static void create_tokens(void) {
  char error[256];
  redisContext *redis = lp_store_connect_sync(&daemon_state.config, error, sizeof error);
  if (!redis) {
    fprintf(stderr, "fuzz_dispatch: %s\n", error);
    exit(1);
  }
  for (size_t i = 0; i < TOKEN_COUNT; i++) {
    char text[LP_TOKEN_TEXT_SIZE], hash_hex[65], hash_key[64];
    unsigned char hash[32];
    token_text(i, text);
    if (lp_auth_hash(text, hash) != 0) abort();
    lp_auth_hash_hex(hash, hash_hex);
    Leerplek__V1__TokenInfo info = LEERPLEK__V1__TOKEN_INFO__INIT;
    info.id = (char *)tokens[i].id;
    info.role = (Leerplek__V1__Role)tokens[i].role;
    info.scope_id = (char *)tokens[i].scope;
    info.label = "fuzz";
    info.created_unix_s = (int64_t)time(NULL);
    snprintf(hash_key, sizeof hash_key, "lp:tokenhash:%s", tokens[i].id);
    lp_txn *txn = lp_txn_new();
    lp_txn_put(txn, LP_KIND_TOKEN, tokens[i].id, &info.base);
    lp_txn_set_raw(txn, hash_key, hash_hex, 64);
    if (lp_store_commit_sync(redis, txn, error, sizeof error) != 0) {
      fprintf(stderr, "fuzz_dispatch: %s\n", error);
      exit(1);
    }
    lp_txn_free(txn);
  }
  redisFree(redis);
}

static void start_daemon(void) {
  signal(SIGPIPE, SIG_IGN);
  if (harness_start_redis(&harness) != 0) exit(1);
  atexit(stop_redis);
  lp_log_set_level(getenv("FUZZ_DISPATCH_LOG") ? LP_LOG_DEBUG : LP_LOG_ERROR);
  lp_config *config = &daemon_state.config;
  lp_config_defaults(config);
  snprintf(socket_path, sizeof socket_path, "%s/fuzz.sock", harness.dir);
  char listen[420], error[512];
  snprintf(listen, sizeof listen, "unix:%s", socket_path);
  if (lp_config_set(config, "redis", harness.redis_address, error, sizeof error) != 0 ||
      lp_config_set(config, "listen", listen, error, sizeof error) != 0 ||
      lp_config_set(config, "rematch_nightly_time", "", error, sizeof error) != 0 ||
      lp_config_set(config, "max_frame_bytes", "65536", error, sizeof error) != 0) {
    fprintf(stderr, "fuzz_dispatch: %s\n", error);
    exit(1);
  }
  snprintf(config->instance_id, sizeof config->instance_id, "fuzz");
  create_tokens();
  lp_alloc_install();
  evthread_use_pthreads();
  lp_state_init(&daemon_state.state);
  daemon_state.base = event_base_new();
  daemon_state.store = lp_store_new(&daemon_state);
  static lp_frame_handler frame_handler;
  frame_handler = lp_dispatch_handler(&daemon_state);
  daemon_state.server = lp_server_new(&daemon_state, &frame_handler);
  if (!daemon_state.base || !daemon_state.store || !daemon_state.server || lp_store_start(daemon_state.store) != 0 ||
      !(rematch = lp_rematch_new(&daemon_state)) || lp_server_listen(daemon_state.server, error, sizeof error) != 0) {
    fprintf(stderr, "fuzz_dispatch: the daemon did not start: %s\n", error);
    exit(1);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *seeds = getenv("FUZZ_DISPATCH_WRITE_SEEDS");
  if (seeds) {
    write_seeds(seeds);
    exit(0);
  }
  start_daemon();
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* One input: one connection. */

typedef struct client {
  int fd;
  bytes out;
  size_t sent;
  bytes in;
  bool write_done;
  bool closed;
  struct event *read_event, *write_event;
} client;

static void on_client_write(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  client *c = arg;
  while (c->sent < c->out.size) {
    ssize_t n = write(fd, c->out.data + c->sent, c->out.size - c->sent);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) break; /* the daemon closed first (a refused frame): the rest is not read */
    c->sent += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  c->write_done = true;
  event_del(c->write_event);
}

static void on_client_read(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  client *c = arg;
  unsigned char buffer[16384];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      bytes_add(&c->in, buffer, (size_t)n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    c->closed = true;
    event_del(c->read_event);
    if (!c->write_done) event_del(c->write_event);
    return;
  }
}

static void frame(bytes *out, const unsigned char *data, size_t size, int token) {
  size_t total = size;
  char text[LP_TOKEN_TEXT_SIZE];
  if (token) {
    token_text((size_t)token - 1, text);
    total += 2 + strlen(text); /* tag 0x12, a one-byte length (< 128), the text */
  }
  unsigned char head[4] = {(unsigned char)(total >> 24), (unsigned char)(total >> 16), (unsigned char)(total >> 8),
                           (unsigned char)total};
  bytes_add(out, head, 4);
  bytes_add(out, data, size);
  if (token) {
    unsigned char tag[2] = {0x12, (unsigned char)strlen(text)};
    bytes_add(out, tag, 2);
    bytes_add(out, text, strlen(text));
  }
}

/* Every reply is a whole frame holding a Response with a known status code. */
static void check_replies(const bytes *in) {
  size_t at = 0;
  while (at + 4 <= in->size) {
    size_t size =
        (size_t)in->data[at] << 24 | (size_t)in->data[at + 1] << 16 | (size_t)in->data[at + 2] << 8 | in->data[at + 3];
    if (at + 4 + size > in->size) break; /* the daemon closed mid-reply: a refused connection */
    Leerplek__V1__Response *response = leerplek__v1__response__unpack(NULL, size, in->data + at + 4);
    if (!response || !response->status || response->status->code < 0 || response->status->code > 16) {
      fprintf(stderr, "fuzz_dispatch: reply at byte %zu (%zu bytes) is not a valid Response\n", at, size);
      abort();
    }
    leerplek__v1__response__free_unpacked(response, NULL);
    at += 4 + size;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  client c = {.fd = -1};
  if (size == 0 || !(data[0] & 0x40)) {
    Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
    hello.protocol_version = 1;
    hello.client_name = "fuzz";
    REQUEST(request, HELLO, hello, hello);
    unsigned char packed[64];
    size_t packed_size = leerplek__v1__request__pack(&request, packed);
    frame(&c.out, packed, packed_size, 0);
  }
  for (size_t at = 0; at + 3 <= size;) {
    unsigned char selector = data[at];
    size_t length = (size_t)data[at + 1] << 8 | data[at + 2];
    at += 3;
    if (length > size - at) length = size - at;
    if (selector & 0x80)
      bytes_add(&c.out, data + at, length);
    else
      frame(&c.out, data + at, length, selector & 7);
    at += length;
  }

  c.fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path);
  if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&address, sizeof address) != 0) abort();
  fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  c.read_event = event_new(daemon_state.base, c.fd, EV_READ | EV_PERSIST, on_client_read, &c);
  c.write_event = event_new(daemon_state.base, c.fd, EV_WRITE | EV_PERSIST, on_client_write, &c);
  event_add(c.read_event, NULL);
  event_add(c.write_event, NULL);
  while (!c.closed || lp_store_in_flight(daemon_state.store) > 0 ||
         lp_server_connection_count(daemon_state.server) > 0 || lp_rematch_running(rematch))
    event_base_loop(daemon_state.base, EVLOOP_ONCE);
  check_replies(&c.in);
  event_free(c.read_event);
  event_free(c.write_event);
  close(c.fd);
  free(c.out.data);
  free(c.in.data);
  return 0;
}
