/* leerplek: the command-line tool for schools, companies, coordinators and admins of a
 * leerplekd daemon: subcommands per role, CSV import/export of the entity lists (those of
 * the regular matching and of the preparatory track) and the import of signed agreements,
 * human tables by default and --csv/--json for scripts.
 *
 * Exit codes: 0 ok, 1 the daemon refused (status name, message and field are printed),
 * 2 usage or input error (nothing was sent), 3 connection failure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libleerplek.h"
#include "leerplek_i18n.h"
#include "leerplek_csv.h"
#include "leerplek_entities.h"
#include "leerplek_output.h"
#include "leerplek_refs.h"
#include "leerplek_report.h"
#include "leerplek_text.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_CONNECTION = 3 };

/* The daemon's default API address (daemon/lp_config.c: server.listen). */
#define DEFAULT_ADDRESS "127.0.0.1:7411"
/* Requests in flight during import. The daemon pauses reading a connection at 128 pending
 * requests (limits.max_pending_requests); staying below keeps both sides streaming. */
#define PIPELINE_WINDOW 64
/* Page size for list calls: the daemon's maximum, so exports need few round trips. */
#define LIST_PAGE_SIZE 1000

typedef struct cli {
  const char *address;
  const char *token;
  int tls;              /* --tls, $LEERPLEK_TLS=1, or implied by a --tls-* file */
  const char *tls_ca;   /* --tls-ca / $LEERPLEK_TLS_CA: CA file; NULL = the system's */
  const char *tls_cert; /* --tls-cert / --tls-key: a client certificate */
  const char *tls_key;
  const char *tls_server_name; /* --tls-server-name: the name the certificate must carry */
  lp_format format;
  int format_given;
  const char *command_name; /* "leerplek school register", for messages */
  leerplek_client *client;
} cli;

/* ------------------------------------------------------------------------------------------ */
/* Messages and argument helpers                                                               */

static int usage_error(const cli *c, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const cli *c, const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s: ", c->command_name);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, _("\nTry '%s --help'.\n"), c->command_name);
  return EXIT_USAGE;
}

/* Checks a flag value with one of the lp_*_parse functions' messages. */
static int bad_value(const cli *c, const char *flag, const char *why) { return usage_error(c, "--%s: %s", flag, why); }

static int parse_u32_flag(const cli *c, const char *flag, const char *text, uint32_t min, uint32_t max, uint32_t *out) {
  char why[200];
  if (lp_u32_parse(text, min, max, out, why, sizeof why) != 0) return bad_value(c, flag, why);
  return 0;
}

static int parse_u64_argument(const cli *c, const char *what, const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (!*text || *end || errno || value == 0 || text[0] == '-')
    return usage_error(c, _("%s \"%s\" is not a positive whole number"), what, text);
  *out = value;
  return 0;
}

static int parse_enum_flag(const cli *c, const char *flag, const ProtobufCEnumDescriptor *descriptor, const char *text,
                           int *out) {
  char why[300];
  if (lp_enum_parse(descriptor, text, out, why, sizeof why) != 0) return bad_value(c, flag, why);
  return 0;
}

/* A text flag bounded as the proto says (the daemon checks too; this answers before sending). */
static int bounded_text(const cli *c, const char *flag, const char *text, size_t max_bytes) {
  if (strlen(text) > max_bytes)
    return usage_error(c, _("--%s: %zu bytes, at most %zu allowed"), flag, strlen(text), max_bytes);
  return 0;
}

/* --delimiter: ',' (default), ';' (Belgian spreadsheets) or tab ("tab" or a tab character). */
static int parse_delimiter(const cli *c, const char *text, char *delimiter) {
  if (strcmp(text, ",") == 0 || strcmp(text, ";") == 0 || strcmp(text, "\t") == 0)
    *delimiter = text[0];
  else if (strcmp(text, "tab") == 0)
    *delimiter = '\t';
  else
    return usage_error(c, _("--delimiter: \"%s\" is not ',', ';' or tab"), text);
  return 0;
}

/* --delimiter C and --decimal-comma, for every command that writes CSV. Returns 1 when the
 * option was one of them (0 otherwise), or -1 after a usage error. */
enum { OPTION_DELIMITER = 0x100, OPTION_DECIMAL_COMMA };
#define CSV_OPTIONS                                                                                                    \
  {"delimiter", required_argument, NULL, OPTION_DELIMITER}, { "decimal-comma", no_argument, NULL, OPTION_DECIMAL_COMMA }
static int take_csv_option(const cli *c, int option, const char *value) {
  char delimiter = ',';
  if (option == OPTION_DECIMAL_COMMA) {
    lp_text_set_decimal_comma(1);
    return 1;
  }
  if (option != OPTION_DELIMITER) return 0;
  if (parse_delimiter(c, value, &delimiter)) return -1;
  lp_csv_set_output_delimiter(delimiter);
  /* ';'-separated files are what Flemish spreadsheets write, with decimal commas. */
  if (delimiter == ';') lp_text_set_decimal_comma(1);
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Calling the daemon                                                                          */

static int ensure_connected(cli *c) {
  if (c->client) return 0;
  char error[512];
  /* The token goes into each request rather than into hello, so that a wrong token is a
   * refusal of the call (exit 1) and not mistaken for a connection failure (exit 3). */
  leerplek_tls tls = {c->tls_ca, c->tls_cert, c->tls_key, c->tls_server_name};
  if (leerplek_connect_tls(c->address, NULL, c->tls ? &tls : NULL, &c->client, error, sizeof error) != 0) {
    fprintf(stderr, _("%s: cannot connect to %s: %s\n"), c->command_name, c->address, error);
    return EXIT_CONNECTION;
  }
  return 0;
}

/* Puts `body` into the request's oneof at field number `body_case` (the field numbers of
 * Request.body and Response.body match one to one, see the proto's TRANSPORT). */
static void set_body(Leerplek__V1__Request *request, int body_case, ProtobufCMessage *body) {
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field(&leerplek__v1__request__descriptor, (unsigned)body_case);
  *(ProtobufCMessage **)((char *)request + field->offset) = body;
  request->body_case = (Leerplek__V1__Request__BodyCase)body_case;
}

static const ProtobufCMessage *response_body(const Leerplek__V1__Response *response, int body_case) {
  if ((int)response->body_case != body_case) return NULL;
  const ProtobufCFieldDescriptor *field =
      protobuf_c_message_descriptor_get_field(&leerplek__v1__response__descriptor, (unsigned)body_case);
  return *(ProtobufCMessage *const *)((const char *)response + field->offset);
}

static int status_code(const Leerplek__V1__Response *response) {
  /* The proto: a Response without status is to be treated as INTERNAL. */
  return response->status ? (int)response->status->code : LEERPLEK__V1__STATUS_CODE__STATUS_CODE_INTERNAL;
}

/* "NOT_FOUND: pupil X does not exist (field get_pupil.pupil_ref)" */
static void describe_status(const Leerplek__V1__Response *response, char *out, size_t out_size) {
  const Leerplek__V1__Status *status = response->status;
  const char *field = status && status->field && status->field[0] ? status->field : NULL;
  snprintf(out, out_size, "%s: %s%s%s%s", leerplek_status_name(status_code(response)),
           status && status->message[0] ? status->message : "(no message)", field ? " (field " : "", field ? field : "",
           field ? ")" : "");
}

/* Sends one call and waits. Returns 0 with *out set (status OK, body present), else prints
 * why and returns the exit code. */
static int call(cli *c, int body_case, ProtobufCMessage *body, Leerplek__V1__Response **out) {
  *out = NULL;
  int rc = ensure_connected(c);
  if (rc) return rc;
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = (char *)(c->token ? c->token : "");
  set_body(&request, body_case, body);
  Leerplek__V1__Response *response = NULL;
  if (leerplek_call(c->client, &request, &response) != 0) {
    fprintf(stderr, _("%s: connection to %s failed: %s\n"), c->command_name, c->address, leerplek_error(c->client));
    return EXIT_CONNECTION;
  }
  if (status_code(response) != 0 || !response_body(response, body_case)) {
    char why[1200];
    if (status_code(response) == 0)
      snprintf(why, sizeof why, "INTERNAL: the daemon answered with another call's reply");
    else
      describe_status(response, why, sizeof why);
    fprintf(stderr, _("%s: refused: %s\n"), c->command_name, why);
    leerplek_response_free(response);
    return EXIT_REFUSED;
  }
  *out = response;
  return 0;
}

/* Calls and prints the reply's body as one record. */
static int call_and_print(cli *c, int body_case, ProtobufCMessage *body) {
  Leerplek__V1__Response *response;
  int rc = call(c, body_case, body, &response);
  if (rc) return rc;
  json_t *object = lp_message_to_json(response_body(response, body_case));
  lp_print_object(stdout, c->format, object);
  json_decref(object);
  leerplek_response_free(response);
  return EXIT_OK;
}

/* The first repeated message field of a list response (the items) and its next_page_token. */
static void page_items(const ProtobufCMessage *page, ProtobufCMessage *const **items, size_t *count,
                       const char **next_token) {
  const ProtobufCMessageDescriptor *descriptor = page->descriptor;
  *items = NULL;
  *count = 0;
  *next_token = "";
  for (unsigned i = 0; i < descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
    const char *base = (const char *)page;
    if (field->label == PROTOBUF_C_LABEL_REPEATED && field->type == PROTOBUF_C_TYPE_MESSAGE && !*items) {
      *count = *(const size_t *)(base + field->quantifier_offset);
      *items = *(ProtobufCMessage *const *const *)(base + field->offset);
    } else if (strcmp(field->name, "next_page_token") == 0) {
      *next_token = *(char *const *)(base + field->offset);
    }
  }
}

/* Runs a list call page by page (page_size and page_token are fields 1 and 2 of every list
 * request) and appends every item to `items` as JSON: in the entity's CSV columns when `kind`
 * is given, else by reflection. */
static int list_all(cli *c, int body_case, ProtobufCMessage *body, const cli_entity *kind, json_t *items) {
  const ProtobufCMessageDescriptor *descriptor = body->descriptor;
  const ProtobufCFieldDescriptor *size_field = protobuf_c_message_descriptor_get_field_by_name(descriptor, "page_size");
  const ProtobufCFieldDescriptor *token_field =
      protobuf_c_message_descriptor_get_field_by_name(descriptor, "page_token");
  if (size_field) *(uint32_t *)((char *)body + size_field->offset) = LIST_PAGE_SIZE;
  char *page_token = NULL;
  int rc = EXIT_OK;
  for (;;) {
    if (token_field) *(char **)((char *)body + token_field->offset) = page_token ? page_token : (char *)"";
    Leerplek__V1__Response *response;
    rc = call(c, body_case, body, &response);
    if (rc) break;
    ProtobufCMessage *const *page;
    size_t count;
    const char *next;
    page_items(response_body(response, body_case), &page, &count, &next);
    for (size_t i = 0; i < count; i++) {
      if (!kind) {
        json_array_append_new(items, lp_message_to_json(page[i]));
        continue;
      }
      json_t *rows = lp_entity_rows(kind, page[i]);
      json_array_extend(items, rows);
      json_decref(rows);
    }
    free(page_token);
    page_token = next[0] && token_field ? strdup(next) : NULL;
    leerplek_response_free(response);
    if (!page_token) break;
  }
  free(page_token);
  if (token_field) *(char **)((char *)body + token_field->offset) = (char *)"";
  return rc;
}

/* Prints rows under columns given as a JSON array of names. */
static void print_table_rows(FILE *out, lp_format format, const json_t *rows, const json_t *columns) {
  const char *names[128];
  size_t n = 0;
  for (; n < json_array_size(columns) && n < 128; n++) names[n] = json_string_value(json_array_get(columns, n));
  lp_print_list(out, format, names, n, rows);
}

static int list_and_print(cli *c, int body_case, ProtobufCMessage *body, const char *const *columns, size_t n_columns) {
  json_t *items = json_array();
  int rc = list_all(c, body_case, body, NULL, items);
  if (rc == EXIT_OK) lp_print_list(stdout, c->format, columns, n_columns, items);
  json_decref(items);
  return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Command table                                                                               */

typedef struct command {
  const char *group;
  const char *name;
  const char *summary;
  const char *usage; /* arguments and options, for --help */
  int (*run)(cli *c, const struct command *command, int argc, char **argv);
  int extra; /* per-command constant (entity kind, side) */
} command;

/* "Usage: leerplek GROUP NAME <synopsis>" (the usage's first line and the indented lines that
 * continue it), the summary, then the rest of the usage. */
static void print_command_help(const command *command, FILE *out) {
  const char *usage = _(command->usage);
  const char *rest = strchr(usage, '\n');
  while (rest && strncmp(rest + 1, "       ", 7) == 0) rest = strchr(rest + 1, '\n');
  int synopsis_len = rest ? (int)(rest - usage) : (int)strlen(usage);
  fprintf(out, _("Usage: leerplek %s%s%s %.*s\n%s.\n%s"), command->group, command->name[0] ? " " : "", command->name,
          synopsis_len, usage, _(command->summary), rest ? rest + 1 : "");
}

/* getopt_long with --help handled: returns the option, -2 after printing help (exit 0), or '?'
 * for an unknown option or a missing value (report it with bad_option). */
static int last_long_index = -1;

static int next_option(const command *command, int argc, char **argv, const char *short_options,
                       const struct option *long_options) {
  opterr = 0; /* bad_option says it, naming the command */
  last_long_index = -1;
  int option = getopt_long(argc, argv, short_options, long_options, &last_long_index);
  if (option == 'h') {
    print_command_help(command, stdout);
    return -2;
  }
  return option;
}

/* Reports an option getopt did not accept, or one this command does not take. */
static int bad_option(const cli *c, const struct option *long_options, int option, char **argv) {
  if (option != '?' && last_long_index >= 0)
    return usage_error(c, _("--%s does not apply here"), long_options[last_long_index].name);
  return usage_error(c, _("unknown option or missing value: %s"), argv[optind - 1]);
}

#define HELP_OPTION                                                                                                    \
  { "help", no_argument, NULL, 'h' }

/* Commands that take only --help and a fixed number of positional arguments. */
static int plain_arguments(cli *c, const command *command, int argc, char **argv, int wanted, const char *what) {
  static const struct option options[] = {HELP_OPTION, {0, 0, 0, 0}};
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return -2;
    return bad_option(c, options, option, argv);
  }
  if (argc - optind != wanted) return usage_error(c, _("expected %s"), what);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Entity lists, export and import                                                             */

static int list_body_case(cli_entity_id kind) {
  static const int cases[CLI_ENTITY_COUNT] = {
      LEERPLEK__V1__REQUEST__BODY_LIST_TRAININGS,      LEERPLEK__V1__REQUEST__BODY_LIST_COMPANIES,
      LEERPLEK__V1__REQUEST__BODY_LIST_LOCATIONS,      LEERPLEK__V1__REQUEST__BODY_LIST_VACANCIES,
      LEERPLEK__V1__REQUEST__BODY_LIST_PUPILS,         LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_ORGANISATIONS,
      LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS, LEERPLEK__V1__REQUEST__BODY_LIST_REFERRALS};
  return cases[kind];
}

/* Lists every entity of a kind the token may see and prints it in the kind's columns. */
static int print_entities(cli *c, const cli_entity *kind, const char *owner_filter, FILE *out) {
  union {
    Leerplek__V1__ListTrainingsRequest trainings;
    Leerplek__V1__ListCompaniesRequest companies;
    Leerplek__V1__ListLocationsRequest locations;
    Leerplek__V1__ListVacanciesRequest vacancies;
    Leerplek__V1__ListPupilsRequest pupils;
    Leerplek__V1__ListSupportOrganisationsRequest organisations;
    Leerplek__V1__ListSupportOffersRequest offers;
    Leerplek__V1__ListReferralsRequest referrals;
  } request;
  ProtobufCMessage *body = NULL;
  switch (kind->id) {
  case CLI_ENTITY_TRAININGS:
    leerplek__v1__list_trainings_request__init(&request.trainings);
    body = &request.trainings.base;
    break;
  case CLI_ENTITY_COMPANIES:
    leerplek__v1__list_companies_request__init(&request.companies);
    body = &request.companies.base;
    break;
  case CLI_ENTITY_LOCATIONS:
    leerplek__v1__list_locations_request__init(&request.locations);
    request.locations.company_id = (char *)owner_filter;
    body = &request.locations.base;
    break;
  case CLI_ENTITY_VACANCIES:
    leerplek__v1__list_vacancies_request__init(&request.vacancies);
    request.vacancies.company_id = (char *)owner_filter;
    body = &request.vacancies.base;
    break;
  case CLI_ENTITY_PUPILS:
    leerplek__v1__list_pupils_request__init(&request.pupils);
    request.pupils.school_id = (char *)owner_filter;
    body = &request.pupils.base;
    break;
  case CLI_ENTITY_ORGANISATIONS:
    leerplek__v1__list_support_organisations_request__init(&request.organisations);
    body = &request.organisations.base;
    break;
  case CLI_ENTITY_OFFERS:
    leerplek__v1__list_support_offers_request__init(&request.offers);
    body = &request.offers.base;
    break;
  case CLI_ENTITY_REFERRALS:
    leerplek__v1__list_referrals_request__init(&request.referrals);
    body = &request.referrals.base;
    break;
  case CLI_ENTITY_COUNT: return EXIT_USAGE;
  }
  json_t *items = json_array();
  int rc = list_all(c, list_body_case(kind->id), body, kind, items);
  if (rc == EXIT_OK) {
    const char *columns[LP_CSV_MAX_FIELDS];
    cli_entity_column_names(kind, columns);
    lp_print_list(out, c->format, columns, kind->n_columns, items);
  }
  json_decref(items);
  return rc;
}

static int owner_option_allowed(cli_entity_id kind) {
  return kind == CLI_ENTITY_LOCATIONS || kind == CLI_ENTITY_VACANCIES || kind == CLI_ENTITY_PUPILS;
}

/* `coordinator trainings` etc. and `export <kind>`: the same list, table or CSV by default. */
static int run_entity_list(cli *c, const command *command, int argc, char **argv, const cli_entity *kind,
                           lp_format default_format) {
  static const struct option options[] = {HELP_OPTION,
                                          {"output", required_argument, NULL, 'o'},
                                          {"owner", required_argument, NULL, 'w'},
                                          CSV_OPTIONS,
                                          {0, 0, 0, 0}};
  const char *output = NULL, *owner = "";
  int option, taken;
  while ((option = next_option(command, argc, argv, "ho:", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if ((taken = take_csv_option(c, option, optarg)) != 0) {
      if (taken < 0) return EXIT_USAGE;
    } else if (option == 'o')
      output = optarg;
    else if (option == 'w' && owner_option_allowed(kind->id))
      owner = optarg;
    else if (option == 'w')
      return usage_error(c, _("--owner applies to locations, vacancies and pupils"));
    else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (!c->format_given) c->format = default_format;
  FILE *out = stdout;
  if (output && strcmp(output, "-") != 0) {
    out = fopen(output, "w");
    if (!out) {
      fprintf(stderr, _("%s: cannot write %s: %s\n"), c->command_name, output, strerror(errno));
      return EXIT_USAGE;
    }
  }
  int rc = print_entities(c, kind, owner, out);
  if (out != stdout && fclose(out) != 0 && rc == EXIT_OK) {
    fprintf(stderr, _("%s: writing %s failed\n"), c->command_name, output);
    rc = EXIT_USAGE;
  }
  return rc;
}

static int run_coordinator_list(cli *c, const command *command, int argc, char **argv) {
  return run_entity_list(c, command, argc, argv, &cli_entities[command->extra], LP_FORMAT_TABLE);
}

static void print_kind_help(const char *verb, const cli_entity *kind, FILE *out) {
  fprintf(out, _("\nColumns of %s (header row required%s):\n"), kind->name,
          strcmp(verb, "import") == 0 ? "; columns in any order, optional ones may be left out" : "");
  cli_entity_print_columns(kind, out);
}

static const char export_usage[] =
    N_("<kind> [--output FILE] [--owner ID] [--delimiter C] [--decimal-comma] [--json|--table]\n"
       "Writes every <kind> the token may see as CSV (the columns import reads).\n"
       "Kinds: trainings, companies, locations, vacancies, pupils, organisations, offers, referrals.\n"
       "  --output FILE   write to FILE instead of standard output\n"
       "  --owner ID      only this company's locations/vacancies or this school's pupils\n"
       "  --delimiter C   ',' (default), ';' (with decimal commas, as Flemish spreadsheets read) or tab\n"
       "  --decimal-comma write decimals as 51,21 (implied by --delimiter ';')\n");

static int run_export(cli *c, const command *command, int argc, char **argv) {
  if (argc >= 2 && argv[1][0] != '-') {
    const cli_entity *kind = cli_entity_find(argv[1]);
    if (!kind)
      return usage_error(c,
                         _("unknown kind \"%s\" (trainings, companies, locations, vacancies, pupils, organisations, "
                           "offers, referrals)"),
                         argv[1]);
    for (int i = 2; i < argc; i++)
      if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
        print_command_help(command, stdout);
        print_kind_help("export", kind, stdout);
        return EXIT_OK;
      }
    return run_entity_list(c, command, argc - 1, argv + 1, kind, LP_FORMAT_CSV);
  }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    print_command_help(command, stdout);
    for (int k = 0; k < CLI_ENTITY_COUNT; k++) print_kind_help("export", &cli_entities[k], stdout);
    return EXIT_OK;
  }
  return usage_error(
      c, _("expected a kind: trainings, companies, locations, vacancies, pupils, organisations, offers or referrals"));
}

/* One import row's request kinds. */
typedef enum step_action { STEP_CREATE, STEP_UPDATE, STEP_CLOSE, STEP_REQUEST } step_action;

typedef struct import_job {
  const cli_entity *kind;
  const lp_csv_table *table;
  ProtobufCMessage **messages;
  unsigned char *failed; /* per row */
  size_t *retry;         /* rows whose create found an existing record: update them */
  size_t n_retry;
  size_t created;  /* rows that did not exist before */
  size_t replaced; /* rows that replaced an existing record */
  lp_diags *diags;
} import_job;

/* Builds and queues the request of one step (leerplek_send serializes at once, so the
 * wrappers can live on the stack). */
static int send_step(cli *c, import_job *job, size_t row, step_action action) {
  ProtobufCMessage *message = job->messages[row];
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = (char *)(c->token ? c->token : "");
  Leerplek__V1__UpsertTrainingRequest training = LEERPLEK__V1__UPSERT_TRAINING_REQUEST__INIT;
  Leerplek__V1__UpsertCompanyRequest company = LEERPLEK__V1__UPSERT_COMPANY_REQUEST__INIT;
  Leerplek__V1__UpsertLocationRequest location = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
  Leerplek__V1__PublishVacancyRequest publish = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  Leerplek__V1__UpdateVacancyRequest update_vacancy = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
  Leerplek__V1__CloseVacancyRequest close = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  Leerplek__V1__RegisterPupilRequest register_pupil = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  Leerplek__V1__UpdatePupilRequest update_pupil = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
  Leerplek__V1__RequestPlacementRequest placement = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__UpsertSupportOrganisationRequest organisation = LEERPLEK__V1__UPSERT_SUPPORT_ORGANISATION_REQUEST__INIT;
  Leerplek__V1__UpsertSupportOfferRequest offer = LEERPLEK__V1__UPSERT_SUPPORT_OFFER_REQUEST__INIT;
  Leerplek__V1__ReferPupilRequest refer = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  Leerplek__V1__Referral *referral = (Leerplek__V1__Referral *)message;
  Leerplek__V1__Vacancy *vacancy = (Leerplek__V1__Vacancy *)message;
  Leerplek__V1__Pupil *pupil = (Leerplek__V1__Pupil *)message;
  Leerplek__V1__VacancyState wanted_state = 0;
  if (job->kind->id == CLI_ENTITY_VACANCIES) {
    /* The CSV's "closed" is applied by a close call after publish/update (both refuse
     * CLOSED); "open" on update reopens. */
    wanted_state = vacancy->state;
    vacancy->state = wanted_state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN
                         ? LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN
                         : LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_UNSPECIFIED;
  }
  switch (job->kind->id) {
  case CLI_ENTITY_TRAININGS:
    training.training = (Leerplek__V1__Training *)message;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPSERT_TRAINING, &training.base);
    break;
  case CLI_ENTITY_COMPANIES:
    company.company = (Leerplek__V1__Company *)message;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPSERT_COMPANY, &company.base);
    break;
  case CLI_ENTITY_LOCATIONS:
    location.location = (Leerplek__V1__Location *)message;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION, &location.base);
    break;
  case CLI_ENTITY_VACANCIES:
    if (action == STEP_CREATE) {
      publish.vacancy = vacancy;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY, &publish.base);
    } else if (action == STEP_UPDATE) {
      update_vacancy.vacancy = vacancy;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY, &update_vacancy.base);
    } else {
      close.vacancy_id = vacancy->id;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY, &close.base);
    }
    break;
  case CLI_ENTITY_PUPILS:
    if (action == STEP_CREATE) {
      register_pupil.pupil = pupil;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL, &register_pupil.base);
    } else if (action == STEP_UPDATE) {
      update_pupil.pupil = pupil;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL, &update_pupil.base);
    } else {
      placement.school_id = pupil->school_id;
      placement.pupil_ref = pupil->ref;
      set_body(&request, LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, &placement.base);
    }
    break;
  case CLI_ENTITY_ORGANISATIONS:
    organisation.organisation = (Leerplek__V1__SupportOrganisation *)message;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_ORGANISATION, &organisation.base);
    break;
  case CLI_ENTITY_OFFERS:
    offer.offer = (Leerplek__V1__SupportOffer *)message;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER, &offer.base);
    break;
  case CLI_ENTITY_REFERRALS:
    refer.school_id = referral->school_id;
    refer.pupil_ref = referral->pupil_ref;
    refer.n_components = 1;
    refer.components = &referral->component;
    refer.reason = referral->reason;
    refer.urgency = referral->urgency;
    refer.share_priority_flags = referral->share_priority_flags;
    refer.share_school_notes = referral->share_school_notes;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL, &refer.base);
    break;
  case CLI_ENTITY_COUNT: break;
  }
  int rc = leerplek_send(c->client, &request);
  if (job->kind->id == CLI_ENTITY_VACANCIES) vacancy->state = wanted_state;
  return rc;
}

static void judge_step(import_job *job, size_t row, step_action action, const Leerplek__V1__Response *response) {
  int code = status_code(response);
  if (code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_OK_UNSPECIFIED) {
    /* Upserts say whether they created; publish/register create; updates replace. */
    if (action == STEP_UPDATE)
      job->replaced++;
    else if (action == STEP_CREATE) {
      int created = 1;
      if (response->body_case == LEERPLEK__V1__RESPONSE__BODY_UPSERT_TRAINING)
        created = response->upsert_training->created;
      if (response->body_case == LEERPLEK__V1__RESPONSE__BODY_UPSERT_COMPANY)
        created = response->upsert_company->created;
      if (response->body_case == LEERPLEK__V1__RESPONSE__BODY_UPSERT_LOCATION)
        created = response->upsert_location->created;
      if (response->body_case == LEERPLEK__V1__RESPONSE__BODY_UPSERT_SUPPORT_ORGANISATION)
        created = response->upsert_support_organisation->created;
      if (response->body_case == LEERPLEK__V1__RESPONSE__BODY_UPSERT_SUPPORT_OFFER)
        created = response->upsert_support_offer->created;
      if (created)
        job->created++;
      else
        job->replaced++;
    }
    return;
  }
  int has_update = job->kind->id == CLI_ENTITY_VACANCIES || job->kind->id == CLI_ENTITY_PUPILS;
  if (code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_ALREADY_EXISTS && action == STEP_CREATE && has_update) {
    job->retry[job->n_retry++] = row; /* exists already: the row replaces it */
    return;
  }
  if (code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_ALREADY_EXISTS && action == STEP_REQUEST)
    return; /* already waiting or placed: nothing to do */
  /* A referral still active is the row already imported: importing a file twice asks nothing
   * twice (a referral's reason and urgency stay as first asked). */
  if (code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_ALREADY_EXISTS && job->kind->id == CLI_ENTITY_REFERRALS) return;
  char why[1200];
  describe_status(response, why, sizeof why);
  static const char *const verbs[] = {"create", "update", "close", "request placement"};
  lp_diag_add(job->diags, _("%s:%zu: %s refused: %s"), job->table->name, job->table->rows[row].line, verbs[action],
              why);
  job->failed[row] = 1;
}

/* Pipelines one step for each listed row, at most PIPELINE_WINDOW in flight. */
static int run_steps(cli *c, import_job *job, const size_t *rows, size_t n_rows, step_action action) {
  size_t sent = 0, received = 0;
  while (received < n_rows) {
    while (sent < n_rows && sent - received < PIPELINE_WINDOW) {
      if (send_step(c, job, rows[sent], action) != 0) goto transport_error;
      sent++;
    }
    Leerplek__V1__Response *response;
    if (leerplek_receive(c->client, &response) != 0) goto transport_error;
    judge_step(job, rows[received], action, response);
    leerplek_response_free(response);
    received++;
  }
  return EXIT_OK;
transport_error:
  fprintf(stderr, _("%s: connection to %s failed: %s\n"), c->command_name, c->address, leerplek_error(c->client));
  return EXIT_CONNECTION;
}

/* The known trainings, companies, locations and organisations that rows of `kind` refer to,
 * from the store.
 * Returns 0 or the exit code (the refusal or connection failure is printed). */
static int known_from_store(cli *c, cli_entity_id kind, lp_known *known) {
  for (int k = 0; k < CLI_ENTITY_COUNT; k++) {
    if (!(lp_refs_needed(kind) & 1u << k)) continue;
    Leerplek__V1__ListTrainingsRequest trainings = LEERPLEK__V1__LIST_TRAININGS_REQUEST__INIT;
    Leerplek__V1__ListCompaniesRequest companies = LEERPLEK__V1__LIST_COMPANIES_REQUEST__INIT;
    Leerplek__V1__ListLocationsRequest locations = LEERPLEK__V1__LIST_LOCATIONS_REQUEST__INIT;
    Leerplek__V1__ListSupportOrganisationsRequest organisations =
        LEERPLEK__V1__LIST_SUPPORT_ORGANISATIONS_REQUEST__INIT;
    ProtobufCMessage *body = k == CLI_ENTITY_TRAININGS       ? &trainings.base
                             : k == CLI_ENTITY_COMPANIES     ? &companies.base
                             : k == CLI_ENTITY_ORGANISATIONS ? &organisations.base
                                                             : &locations.base;
    json_t *items = json_array();
    int rc = list_all(c, list_body_case((cli_entity_id)k), body, &cli_entities[k], items);
    if (rc == EXIT_OK) lp_known_add(known, (cli_entity_id)k, items);
    json_decref(items);
    if (rc) return rc;
  }
  return 0;
}

/* For --check: the files of the same set imported before this one (trainings.csv,
 * companies.csv, locations.csv in the file's folder), as if they were imported already. */
static void known_from_set(const char *path, cli_entity_id kind, unsigned char delimiter, lp_known *known,
                           lp_diags *diags) {
  const char *slash = strrchr(path, '/');
  int dir_length = slash ? (int)(slash - path) : 1;
  const char *dir = slash ? path : ".";
  for (int k = 0; k < CLI_ENTITY_COUNT; k++) {
    if (!(lp_refs_needed(kind) & 1u << k)) continue;
    char sibling[4200];
    snprintf(sibling, sizeof sibling, "%.*s/%s.csv", dir_length, dir, cli_entities[k].name);
    FILE *in = fopen(sibling, "rb");
    if (!in) continue;
    lp_diags sibling_diags = {0};
    lp_csv_table table;
    ProtobufCMessage **messages = NULL;
    int read_rc = lp_csv_read_with(sibling, in, delimiter, &table, &sibling_diags);
    fclose(in);
    if (read_rc == 0) lp_rows_to_messages(&cli_entities[k], &table, &messages, &sibling_diags);
    if (sibling_diags.count)
      lp_diag_add(diags,
                  dngettext(LP_TEXT_DOMAIN,
                            "%s: has %zu problem, so references to its %s are not checked: check it first",
                            "%s: has %zu problems, so references to its %s are not checked: check it first",
                            sibling_diags.count),
                  sibling, sibling_diags.count, cli_entities[k].name);
    else
      lp_known_add_messages(known, &cli_entities[k], messages, table.n_rows);
    lp_messages_free(messages, sibling_diags.count ? 0 : table.n_rows);
    lp_diags_free(&sibling_diags);
    lp_csv_table_free(&table);
  }
}

/* A school token may import only its own pupils: rows naming another school are problems of
 * the file, found before anything is sent (the daemon would refuse them one by one). The
 * token's role and scope come from a hello with the token. Returns 0 or the exit code. */
static int check_pupils_scope(cli *c, const lp_csv_table *table, ProtobufCMessage **messages, lp_diags *diags) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"leerplek";
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_HELLO, &hello.base, &response);
  if (rc) return rc;
  const Leerplek__V1__HelloResponse *reply = response->hello;
  if (reply->role == LEERPLEK__V1__ROLE__ROLE_SCHOOL)
    for (size_t i = 0; i < table->n_rows; i++) {
      const char *school = ((const Leerplek__V1__Pupil *)messages[i])->school_id;
      if (school[0] && strcmp(school, reply->scope_id) != 0)
        lp_diag_add(diags, _("%s:%zu (school_id): a token of school %s imports only its own pupils, not %s's"),
                    table->name, table->rows[i].line, reply->scope_id, school);
    }
  leerplek_response_free(response);
  return 0;
}

/* The problems that stop an import, and that nothing was imported. */
static void print_problems(const cli *c, const lp_diags *diags, const char *name) {
  lp_diags_print(diags, stderr);
  fprintf(stderr,
          dngettext(LP_TEXT_DOMAIN, "%s: %zu problem in %s; nothing was imported\n",
                    "%s: %zu problems in %s; nothing was imported\n", diags->count),
          c->command_name, diags->count, name);
}

/* ------------------------------------------------------------------------------------------ */
/* Importing agreements: per row the pupil's placement request, the coordinator's manual
 * placement on the row's vacancy, both sides' acceptance, the recorded agreement and, for an
 * ended one, its end. Not an entity kind: no record of its own, only calls on placements.    */

/* The columns of agreements.csv; the first six are required. */
enum {
  AGREEMENT_SCHOOL,
  AGREEMENT_PUPIL,
  AGREEMENT_VACANCY,
  AGREEMENT_REF,
  AGREEMENT_SIGNED,
  AGREEMENT_STARTS,
  AGREEMENT_ENDS,
  AGREEMENT_ENDED,
  AGREEMENT_END_REASON,
  AGREEMENT_NOTE,
  AGREEMENT_COLUMN_COUNT,
  AGREEMENT_REQUIRED = AGREEMENT_STARTS + 1
};
static const char *const agreement_columns[AGREEMENT_COLUMN_COUNT] = {
    "school_id", "pupil_ref", "vacancy_id", "agreement_ref", "signed_on",
    "starts_on", "ends_on",   "ended_on",   "end_reason",    "placement_note"};

/* The calls of one row, in the order they are made; a row starts at the first its placement
 * still needs (a row already recorded starts at AGREEMENT_DONE), so importing a file twice
 * changes nothing. The checks come first and write nothing. */
typedef enum agreement_step {
  CHECK_PUPIL,
  CHECK_PLACEMENT,
  CHECK_VACANCY,
  STEP_REQUEST_PLACEMENT,
  STEP_PLACE,
  STEP_ACCEPT_SCHOOL,
  STEP_ACCEPT_COMPANY,
  STEP_RECORD,
  STEP_END,
  AGREEMENT_DONE
} agreement_step;

typedef struct agreement_row {
  size_t line;
  const char *cells[AGREEMENT_COLUMN_COUNT]; /* into the table; "" when absent */
  Leerplek__V1__Date signed_on, starts_on, ends_on, ended_on;
  int has_ends, has_ended;
  agreement_step from; /* the first call this row needs */
  uint64_t proposal_id;
  int64_t free_seats; /* the vacancy's free seats, from CHECK_VACANCY */
  int takes_seat;     /* the placement step takes one of them */
  int failed;
} agreement_row;

typedef struct agreement_job {
  const char *name;
  agreement_row *rows;
  size_t n_rows;
  lp_diags *diags;
} agreement_job;

static int send_agreement_step(cli *c, agreement_row *row, agreement_step step) {
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.token = (char *)(c->token ? c->token : "");
  Leerplek__V1__GetPupilRequest get_pupil = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  Leerplek__V1__GetPlacementRequest get_placement = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__GetVacancyRequest get_vacancy = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  Leerplek__V1__RequestPlacementRequest request_placement = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__PlacePupilRequest place = LEERPLEK__V1__PLACE_PUPIL_REQUEST__INIT;
  Leerplek__V1__AcceptProposalRequest accept = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  Leerplek__V1__RecordAgreementRequest record = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  Leerplek__V1__EndAgreementRequest end = LEERPLEK__V1__END_AGREEMENT_REQUEST__INIT;
  char *school = (char *)row->cells[AGREEMENT_SCHOOL], *pupil = (char *)row->cells[AGREEMENT_PUPIL];
  switch (step) {
  case CHECK_PUPIL:
    get_pupil.school_id = school;
    get_pupil.pupil_ref = pupil;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_GET_PUPIL, &get_pupil.base);
    break;
  case CHECK_PLACEMENT:
    get_placement.school_id = school;
    get_placement.pupil_ref = pupil;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT, &get_placement.base);
    break;
  case CHECK_VACANCY:
    get_vacancy.vacancy_id = (char *)row->cells[AGREEMENT_VACANCY];
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_GET_VACANCY, &get_vacancy.base);
    break;
  case STEP_REQUEST_PLACEMENT:
    request_placement.school_id = school;
    request_placement.pupil_ref = pupil;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, &request_placement.base);
    break;
  case STEP_PLACE:
    place.school_id = school;
    place.pupil_ref = pupil;
    place.vacancy_id = (char *)row->cells[AGREEMENT_VACANCY];
    place.override_reason = (char *)row->cells[AGREEMENT_NOTE];
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_PLACE_PUPIL, &place.base);
    break;
  case STEP_ACCEPT_SCHOOL:
  case STEP_ACCEPT_COMPANY:
    accept.proposal_id = row->proposal_id;
    accept.side = step == STEP_ACCEPT_SCHOOL ? LEERPLEK__V1__SIDE__SIDE_SCHOOL : LEERPLEK__V1__SIDE__SIDE_COMPANY;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL, &accept.base);
    break;
  case STEP_RECORD:
    agreement.agreement_ref = (char *)row->cells[AGREEMENT_REF];
    agreement.signed_on = &row->signed_on;
    agreement.starts_on = &row->starts_on;
    agreement.ends_on = row->has_ends ? &row->ends_on : NULL;
    record.proposal_id = row->proposal_id;
    record.agreement = &agreement;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT, &record.base);
    break;
  case STEP_END:
    end.proposal_id = row->proposal_id;
    end.reason = (char *)row->cells[AGREEMENT_END_REASON];
    end.ended_on = &row->ended_on;
    set_body(&request, LEERPLEK__V1__REQUEST__BODY_END_AGREEMENT, &end.base);
    break;
  case AGREEMENT_DONE: return -1;
  }
  return leerplek_send(c->client, &request);
}

static const char *const agreement_step_names[] = {
    "get pupil",    "get placement",        "get vacancy",           "request placement",
    "place pupil",  "accept (school side)", "accept (company side)", "record agreement",
    "end agreement"};

/* What the store says of a row at CHECK_PLACEMENT: where its calls start, or a problem. */
static void judge_placement(agreement_job *job, agreement_row *row, const Leerplek__V1__Placement *placement) {
  const char *vacancy = row->cells[AGREEMENT_VACANCY], *ref = row->cells[AGREEMENT_REF];
  const char *here = placement && placement->offer ? placement->offer->vacancy_id : "";
  const char *held_ref = placement && placement->agreement ? placement->agreement->agreement_ref : "";
  int same_agreement = strcmp(held_ref, ref) == 0 && strcmp(here, vacancy) == 0;
  switch (placement ? placement->state : LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WITHDRAWN) {
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WITHDRAWN:
    row->from = STEP_REQUEST_PLACEMENT;
    row->takes_seat = 1;
    return;
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ENDED:
    if (same_agreement) {
      row->from = AGREEMENT_DONE;
      if (!row->has_ended)
        lp_diag_add(job->diags,
                    _("%s:%zu (ended_on): agreement %s of pupil %s has ended already; the row says it runs"), job->name,
                    row->line, ref, row->cells[AGREEMENT_PUPIL]);
      return;
    }
    row->from = STEP_REQUEST_PLACEMENT; /* a new request after the one that ended */
    row->takes_seat = 1;
    return;
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_WAITING:
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_DECLINED:
    row->from = STEP_PLACE;
    row->takes_seat = 1;
    return;
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_PROPOSED:
    row->proposal_id = placement->proposal_id;
    row->from = strcmp(here, vacancy) == 0 ? STEP_ACCEPT_SCHOOL : STEP_PLACE;
    row->takes_seat = row->from == STEP_PLACE;
    return;
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_ACCEPTED:
    if (strcmp(here, vacancy) == 0) {
      row->proposal_id = placement->proposal_id;
      row->from = STEP_RECORD;
      return;
    }
    break;
  case LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT:
    if (same_agreement) {
      row->proposal_id = placement->proposal_id;
      row->from = row->has_ended ? STEP_END : AGREEMENT_DONE;
      return;
    }
    break;
  default: break;
  }
  lp_diag_add(job->diags,
              _("%s:%zu (pupil_ref): pupil %s is already accepted or has agreement %s at %s, not this row's %s at %s"),
              job->name, row->line, row->cells[AGREEMENT_PUPIL], held_ref[0] ? held_ref : "-", here[0] ? here : "-",
              ref, vacancy);
  row->failed = 1;
}

static void judge_agreement_step(agreement_job *job, agreement_row *row, agreement_step step,
                                 const Leerplek__V1__Response *response) {
  int code = status_code(response);
  if (step == CHECK_PLACEMENT && code == LEERPLEK__V1__STATUS_CODE__STATUS_CODE_NOT_FOUND) {
    judge_placement(job, row, NULL); /* registered, no request yet (CHECK_PUPIL names a missing pupil) */
    return;
  }
  if (code != LEERPLEK__V1__STATUS_CODE__STATUS_CODE_OK_UNSPECIFIED) {
    char why[1200];
    describe_status(response, why, sizeof why);
    lp_diag_add(job->diags, _("%s:%zu: %s refused: %s"), job->name, row->line, agreement_step_names[step], why);
    row->failed = 1;
    return;
  }
  if (step == CHECK_PLACEMENT && response->get_placement) judge_placement(job, row, response->get_placement->placement);
  if (step == CHECK_VACANCY && response->get_vacancy && response->get_vacancy->vacancy) {
    const Leerplek__V1__Vacancy *vacancy = response->get_vacancy->vacancy;
    row->free_seats = (int64_t)vacancy->seats - vacancy->seats_filled - vacancy->seats_proposed;
    if (vacancy->state != LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN) row->free_seats = 0;
  }
  if (step == STEP_PLACE && response->place_pupil && response->place_pupil->placement)
    row->proposal_id = response->place_pupil->placement->proposal_id;
}

/* Pipelines one step for every row that needs it, at most PIPELINE_WINDOW in flight. */
static int run_agreement_step(cli *c, agreement_job *job, agreement_step step) {
  size_t *rows = malloc((job->n_rows + 1) * sizeof *rows), n = 0;
  if (!rows) {
    fprintf(stderr, _("%s: out of memory\n"), c->command_name);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < job->n_rows; i++) {
    const agreement_row *row = &job->rows[i];
    int wanted = step <= CHECK_VACANCY ? !row->failed
                 : step == STEP_END    ? !row->failed && row->from <= STEP_END && row->has_ended
                                       : !row->failed && row->from <= step;
    if (wanted) rows[n++] = i;
  }
  size_t sent = 0, received = 0;
  int rc = EXIT_OK;
  while (received < n) {
    while (sent < n && sent - received < PIPELINE_WINDOW) {
      if (send_agreement_step(c, &job->rows[rows[sent]], step) != 0) goto transport_error;
      sent++;
    }
    Leerplek__V1__Response *response;
    if (leerplek_receive(c->client, &response) != 0) goto transport_error;
    judge_agreement_step(job, &job->rows[rows[received]], step, response);
    leerplek_response_free(response);
    received++;
  }
  free(rows);
  return rc;
transport_error:
  free(rows);
  fprintf(stderr, _("%s: connection to %s failed: %s\n"), c->command_name, c->address, leerplek_error(c->client));
  return EXIT_CONNECTION;
}

static int compare_by_vacancy(const void *a, const void *b) {
  const agreement_row *x = *(agreement_row *const *)a, *y = *(agreement_row *const *)b;
  return strcmp(x->cells[AGREEMENT_VACANCY], y->cells[AGREEMENT_VACANCY]);
}

/* The rows that take a seat must find one each: counted per vacancy before anything is sent. */
static void check_seats(agreement_job *job) {
  agreement_row **taking = malloc((job->n_rows + 1) * sizeof *taking);
  size_t n = 0;
  if (!taking) return;
  for (size_t i = 0; i < job->n_rows; i++)
    if (!job->rows[i].failed && job->rows[i].takes_seat) taking[n++] = &job->rows[i];
  qsort(taking, n, sizeof *taking, compare_by_vacancy);
  for (size_t start = 0, end; start < n; start = end) {
    for (end = start + 1; end < n && compare_by_vacancy(&taking[start], &taking[end]) == 0;) end++;
    if ((int64_t)(end - start) > taking[start]->free_seats)
      lp_diag_add(job->diags, _("%s:%zu (vacancy_id): %zu rows take a seat of vacancy %s, which has %lld free"),
                  job->name, taking[start]->line, end - start, taking[start]->cells[AGREEMENT_VACANCY],
                  (long long)(taking[start]->free_seats > 0 ? taking[start]->free_seats : 0));
  }
  free(taking);
}

static int compare_by_pupil(const void *a, const void *b) {
  const agreement_row *x = *(agreement_row *const *)a, *y = *(agreement_row *const *)b;
  int school = strcmp(x->cells[AGREEMENT_SCHOOL], y->cells[AGREEMENT_SCHOOL]);
  if (school) return school;
  int pupil = strcmp(x->cells[AGREEMENT_PUPIL], y->cells[AGREEMENT_PUPIL]);
  return pupil ? pupil : (x->line > y->line) - (x->line < y->line);
}

static int compare_by_ref(const void *a, const void *b) {
  const agreement_row *x = *(agreement_row *const *)a, *y = *(agreement_row *const *)b;
  int ref = strcmp(x->cells[AGREEMENT_REF], y->cells[AGREEMENT_REF]);
  return ref ? ref : (x->line > y->line) - (x->line < y->line);
}

/* One row per pupil (leerplek holds one placement per pupil) and per agreement reference. */
static void check_duplicates(agreement_job *job) {
  agreement_row **sorted = malloc((job->n_rows + 1) * sizeof *sorted);
  if (!sorted) return;
  for (size_t i = 0; i < job->n_rows; i++) sorted[i] = &job->rows[i];
  qsort(sorted, job->n_rows, sizeof *sorted, compare_by_pupil);
  for (size_t i = 1; i < job->n_rows; i++)
    if (strcmp(sorted[i]->cells[AGREEMENT_SCHOOL], sorted[i - 1]->cells[AGREEMENT_SCHOOL]) == 0 &&
        strcmp(sorted[i]->cells[AGREEMENT_PUPIL], sorted[i - 1]->cells[AGREEMENT_PUPIL]) == 0)
      lp_diag_add(
          job->diags,
          _("%s:%zu (pupil_ref): pupil %s has a row already (line %zu): leerplek holds one placement per pupil"),
          job->name, sorted[i]->line, sorted[i]->cells[AGREEMENT_PUPIL], sorted[i - 1]->line);
  qsort(sorted, job->n_rows, sizeof *sorted, compare_by_ref);
  for (size_t i = 1; i < job->n_rows; i++)
    if (strcmp(sorted[i]->cells[AGREEMENT_REF], sorted[i - 1]->cells[AGREEMENT_REF]) == 0)
      lp_diag_add(job->diags, _("%s:%zu (agreement_ref): %s is on line %zu already"), job->name, sorted[i]->line,
                  sorted[i]->cells[AGREEMENT_REF], sorted[i - 1]->line);
  free(sorted);
}

/* The file's own checks: columns, required cells, dates, lengths, one row per pupil and per
 * agreement reference. */
static void check_agreement_rows(agreement_job *job, const lp_csv_table *table) {
  int column_of[AGREEMENT_COLUMN_COUNT];
  for (int k = 0; k < AGREEMENT_COLUMN_COUNT; k++) {
    column_of[k] = -1;
    for (size_t f = 0; f < table->header.n_fields; f++)
      if (strcmp(table->header.fields[f], agreement_columns[k]) == 0) column_of[k] = (int)f;
    if (column_of[k] < 0 && k < AGREEMENT_REQUIRED)
      lp_diag_add(job->diags, _("%s:%zu: the required column %s is missing"), job->name, table->header.line,
                  agreement_columns[k]);
  }
  for (size_t f = 0; f < table->header.n_fields; f++) {
    int known = 0;
    for (int k = 0; k < AGREEMENT_COLUMN_COUNT; k++)
      known |= strcmp(table->header.fields[f], agreement_columns[k]) == 0;
    if (!known)
      lp_diag_add(job->diags, _("%s:%zu: unknown column \"%s\""), job->name, table->header.line,
                  table->header.fields[f]);
  }
  if (job->diags->count) return;
  for (size_t i = 0; i < table->n_rows; i++) {
    agreement_row *row = &job->rows[i];
    const lp_csv_row *cells = &table->rows[i];
    row->line = cells->line;
    for (int k = 0; k < AGREEMENT_COLUMN_COUNT; k++)
      row->cells[k] = column_of[k] >= 0 && (size_t)column_of[k] < cells->n_fields ? cells->fields[column_of[k]] : "";
    for (int k = 0; k < AGREEMENT_REQUIRED; k++)
      if (!row->cells[k][0])
        lp_diag_add(job->diags, _("%s:%zu (%s): required"), job->name, row->line, agreement_columns[k]);
    static const size_t max_bytes[AGREEMENT_COLUMN_COUNT] = {100, 100, 100, 100, 10, 10, 10, 10, 1000, 1000};
    for (int k = 0; k < AGREEMENT_COLUMN_COUNT; k++)
      if (strlen(row->cells[k]) > max_bytes[k])
        lp_diag_add(job->diags, _("%s:%zu (%s): longer than %zu bytes"), job->name, row->line, agreement_columns[k],
                    max_bytes[k]);
    struct {
      int column;
      Leerplek__V1__Date *date;
      int *given;
    } dates[] = {{AGREEMENT_SIGNED, &row->signed_on, NULL},
                 {AGREEMENT_STARTS, &row->starts_on, NULL},
                 {AGREEMENT_ENDS, &row->ends_on, &row->has_ends},
                 {AGREEMENT_ENDED, &row->ended_on, &row->has_ended}};
    for (size_t d = 0; d < sizeof dates / sizeof dates[0]; d++) {
      leerplek__v1__date__init(dates[d].date);
      const char *text = row->cells[dates[d].column];
      char why[200];
      if (!text[0]) continue;
      if (lp_date_parse(text, &dates[d].date->year, &dates[d].date->month, &dates[d].date->day, why, sizeof why))
        lp_diag_add(job->diags, _("%s:%zu (%s): %s"), job->name, row->line, agreement_columns[dates[d].column], why);
      else if (dates[d].given)
        *dates[d].given = 1;
    }
    /* "YYYY-MM-DD" compares as text once it parsed. */
    if (row->has_ends && row->cells[AGREEMENT_STARTS][0] &&
        strcmp(row->cells[AGREEMENT_ENDS], row->cells[AGREEMENT_STARTS]) <= 0)
      lp_diag_add(job->diags, _("%s:%zu (ends_on): must be after starts_on"), job->name, row->line);
    if (row->has_ended && strcmp(row->cells[AGREEMENT_ENDED], row->cells[AGREEMENT_SIGNED]) < 0)
      lp_diag_add(job->diags, _("%s:%zu (ended_on): before signed_on"), job->name, row->line);
    if (row->has_ended && row->has_ends && strcmp(row->cells[AGREEMENT_ENDED], row->cells[AGREEMENT_ENDS]) > 0)
      lp_diag_add(job->diags, _("%s:%zu (ended_on): after ends_on"), job->name, row->line);
    if (row->has_ended && !row->cells[AGREEMENT_END_REASON][0])
      lp_diag_add(job->diags, _("%s:%zu (end_reason): required when ended_on is given"), job->name, row->line);
    if (!row->cells[AGREEMENT_ENDED][0] && row->cells[AGREEMENT_END_REASON][0])
      lp_diag_add(job->diags, _("%s:%zu (end_reason): only with ended_on"), job->name, row->line);
    if (!row->cells[AGREEMENT_NOTE][0]) row->cells[AGREEMENT_NOTE] = _("recorded by leerplek import agreements");
  }
  check_duplicates(job);
}

/* Manual placement is a coordinator's: any other token would be refused half-way, after the
 * first requests were stored. Returns 0 or the exit code. */
static int check_coordinator(cli *c, agreement_job *job) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"leerplek";
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_HELLO, &hello.base, &response);
  if (rc) return rc;
  if (response->hello->role != LEERPLEK__V1__ROLE__ROLE_COORDINATOR)
    lp_diag_add(job->diags, _("%s: importing agreements takes a coordinator token (it places pupils by hand)"),
                job->name);
  leerplek_response_free(response);
  return 0;
}

/* `import agreements FILE.csv [--check]`: all rows checked, against the store too (pupils,
 * their placements, the vacancies and their free seats), before the first write; then one
 * pipelined pass per call. */
static int run_import_agreements(cli *c, const char *path, int check_only, char delimiter) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!in) {
    fprintf(stderr, _("%s: cannot read %s: %s\n"), c->command_name, path, strerror(errno));
    return EXIT_USAGE;
  }
  lp_diags diags = {0};
  lp_csv_table table;
  int read_rc =
      lp_csv_read_with(strcmp(path, "-") == 0 ? "<stdin>" : path, in, (unsigned char)delimiter, &table, &diags);
  if (in != stdin) fclose(in);
  agreement_job job = {table.name ? table.name : path, NULL, read_rc == 0 ? table.n_rows : 0, &diags};
  job.rows = calloc(job.n_rows + 1, sizeof *job.rows);
  int rc = EXIT_OK;
  if (!job.rows) {
    fprintf(stderr, _("%s: out of memory\n"), c->command_name);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && read_rc == 0) check_agreement_rows(&job, &table);
  int ask_store = !check_only || (c->token && *c->token);
  if (rc == EXIT_OK && !diags.count && ask_store) rc = check_coordinator(c, &job);
  if (rc == EXIT_OK && !diags.count && ask_store) {
    for (agreement_step step = CHECK_PUPIL; rc == EXIT_OK && step <= CHECK_VACANCY; step++)
      rc = run_agreement_step(c, &job, step);
    if (rc == EXIT_OK && !diags.count) check_seats(&job);
  }
  if (rc == EXIT_OK && diags.count) {
    print_problems(c, &diags, job.name);
    rc = EXIT_USAGE;
  }
  if (rc == EXIT_OK && check_only) {
    if (!ask_store) printf(_("%s: pupils and vacancies not checked (no token for the store)\n"), job.name);
    printf(_("%s: %zu agreements rows are fine\n"), job.name, job.n_rows);
  } else if (rc == EXIT_OK) {
    for (agreement_step step = STEP_REQUEST_PLACEMENT; rc == EXIT_OK && step < AGREEMENT_DONE; step++)
      rc = run_agreement_step(c, &job, step);
    size_t imported = 0, running = 0, ended = 0, already = 0;
    for (size_t i = 0; i < job.n_rows; i++) {
      const agreement_row *row = &job.rows[i];
      if (row->failed) continue;
      imported++;
      running += !row->has_ended;
      ended += row->has_ended;
      already += row->from == AGREEMENT_DONE;
    }
    lp_diags_print(&diags, stderr);
    if (rc == EXIT_OK) {
      printf(
          _("imported %zu of %zu agreements from %s (%zu running, %zu ended; %zu recorded now, %zu there already)\n"),
          imported, job.n_rows, job.name, running, ended, imported - already, already);
      if (imported < job.n_rows) rc = EXIT_REFUSED;
    } else if (rc == EXIT_CONNECTION) {
      fprintf(stderr, _("%s: import of %s interrupted; rows before the failure may have been stored\n"),
              c->command_name, job.name);
    }
  }
  free(job.rows);
  lp_diags_free(&diags);
  lp_csv_table_free(&table);
  return rc;
}

static const char import_usage[] =
    N_("<kind> FILE.csv [--check] [--request] [--delimiter C] [--decimal-comma]\n"
       "Reads FILE.csv ('-' = standard input) and creates or replaces every row: trainings,\n"
       "companies and locations are upserted, vacancies published (or updated when they exist,\n"
       "then closed when state is closed), pupils registered (or updated when they exist),\n"
       "organisations and offers upserted, referrals asked for (an active one is left as it is).\n"
       "The whole file is checked first, its references to trainings, companies, locations and\n"
       "organisations against the store included: any bad row stops the import before anything\n"
       "is sent, with file:line:column and what is wrong, and nothing is imported. Kinds:\n"
       "trainings, companies, locations, vacancies, pupils, organisations (support organisations,\n"
       "one row per site), offers, referrals (one row per component) - import in that order: each\n"
       "refers to the ones before. And agreements (after the pupils and vacancies; COORDINATOR):\n"
       "per row school_id, pupil_ref, vacancy_id, agreement_ref, signed_on, starts_on, optional\n"
       "ends_on, ended_on with end_reason, placement_note; the pupil gets a placement request if\n"
       "it has none, is placed on the vacancy by hand (placement_note is the written reason),\n"
       "accepted for both sides, the agreement recorded and, with ended_on, ended. Checked whole\n"
       "first, the pupils, their placements and the vacancies' free seats in the store included;\n"
       "a row already recorded is left as it is.\n"
       "  --check         only check, send nothing: references against the store (with a token)\n"
       "                  and the files of the set beside FILE (trainings.csv, companies.csv, ...)\n"
       "  --request       (pupils) also put every imported pupil on the waiting list\n"
       "  --delimiter C   ',' (default), ';' (as Belgian spreadsheets save CSV; decimal commas\n"
       "                  such as 51,21 are read too) or tab\n"
       "  --decimal-comma read decimals written 51,21 (implied by --delimiter ';')\n"
       "Text forms: UTF-8 (a byte order mark is fine); cells holding the delimiter, quotes or\n"
       "newlines are quoted (\"mon,tue\"). Days cover a two-week cycle (weeks A and B):\n"
       "  mon,tue            the same days both weeks\n"
       "  A:mon,tue;B:wed    per week (a week left out has no days)\n"
       "  MT.....MT.....     14 positions Monday A .. Sunday B: the day's letter or x = a workday, . = free\n"
       "Coordinates are decimal degrees (WGS84, at most 6 decimals; '.' or with ';' files ','); lists are\n"
       "separated by ';'; booleans are true/false, yes/no or 1/0. Bounds: fields up to 4096 bytes,\n"
       "64 columns, 1000000 rows.\n");

static int run_import(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"check", no_argument, NULL, 'c'},
                                          {"request", no_argument, NULL, 'r'},
                                          {"delimiter", required_argument, NULL, 'd'},
                                          {"decimal-comma", no_argument, NULL, 'C'},
                                          {0, 0, 0, 0}};
  int check_only = 0, request_placements = 0, option;
  char delimiter = ',';
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) {
      for (int k = 0; k < CLI_ENTITY_COUNT; k++) print_kind_help("import", &cli_entities[k], stdout);
      return EXIT_OK;
    }
    if (option == 'c')
      check_only = 1;
    else if (option == 'r')
      request_placements = 1;
    else if (option == 'd') {
      if (parse_delimiter(c, optarg, &delimiter)) return EXIT_USAGE;
      if (delimiter == ';') lp_text_set_decimal_comma(1);
    } else if (option == 'C')
      lp_text_set_decimal_comma(1);
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 2) return usage_error(c, _("expected <kind> FILE.csv"));
  if (strcmp(argv[optind], "agreements") == 0) {
    if (request_placements) return usage_error(c, _("--request applies to pupils only"));
    return run_import_agreements(c, argv[optind + 1], check_only, delimiter);
  }
  const cli_entity *kind = cli_entity_find(argv[optind]);
  if (!kind)
    return usage_error(
        c,
        _("unknown kind \"%s\" (trainings, companies, locations, vacancies, pupils, organisations, offers, referrals)"),
        argv[optind]);
  if (request_placements && kind->id != CLI_ENTITY_PUPILS) return usage_error(c, _("--request applies to pupils only"));
  const char *path = argv[optind + 1];
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!in) {
    fprintf(stderr, _("%s: cannot read %s: %s\n"), c->command_name, path, strerror(errno));
    return EXIT_USAGE;
  }
  lp_diags diags = {0};
  lp_csv_table table;
  int read_rc =
      lp_csv_read_with(strcmp(path, "-") == 0 ? "<stdin>" : path, in, (unsigned char)delimiter, &table, &diags);
  if (in != stdin) fclose(in);
  ProtobufCMessage **messages = NULL;
  if (read_rc == 0) lp_rows_to_messages(kind, &table, &messages, &diags);
  if (diags.count) {
    print_problems(c, &diags, table.name ? table.name : path);
    if (delimiter == ',' && table.header.n_fields == 1 && strchr(table.header.fields[0], ';'))
      fprintf(stderr, _("%s: the header looks ';'-separated: try --delimiter ';'\n"), c->command_name);
    lp_diags_free(&diags);
    lp_csv_table_free(&table);
    return EXIT_USAGE;
  }
  size_t n = table.n_rows;
  /* References are checked for the whole file before anything is sent, so that an import
   * never stores some rows and refuses others for naming something unknown. */
  int rc = EXIT_OK;
  if (lp_refs_needed(kind->id)) {
    lp_known known;
    lp_known_init(&known);
    int ask_store = !check_only || (c->token && *c->token);
    if (ask_store) rc = known_from_store(c, kind->id, &known);
    if (rc == EXIT_OK && check_only && strcmp(path, "-") != 0)
      known_from_set(path, kind->id, (unsigned char)delimiter, &known, &diags);
    if (rc == EXIT_OK) lp_refs_check(kind, &table, messages, &known, &diags);
    for (int k = 0; rc == EXIT_OK && !diags.count && k < CLI_ENTITY_COUNT; k++)
      if (lp_refs_needed(kind->id) & 1u << k && !known.complete[k])
        printf(_("%s: references to %s not checked (no token for the store, no %s.csv beside the file)\n"), table.name,
               cli_entities[k].name, cli_entities[k].name);
    lp_known_free(&known);
  }
  if (rc == EXIT_OK && kind->id == CLI_ENTITY_PUPILS && (!check_only || (c->token && *c->token)))
    rc = check_pupils_scope(c, &table, messages, &diags);
  if (rc == EXIT_OK && diags.count) {
    print_problems(c, &diags, table.name);
    rc = EXIT_USAGE;
  }
  if (rc) {
    lp_diags_free(&diags);
    lp_messages_free(messages, n);
    lp_csv_table_free(&table);
    return rc;
  }
  if (check_only) {
    printf(_("%s: %zu %s rows are fine\n"), table.name, n, kind->name);
    lp_messages_free(messages, n);
    lp_csv_table_free(&table);
    return EXIT_OK;
  }
  rc = ensure_connected(c);
  size_t *rows = calloc(n + 1, sizeof *rows);
  size_t *retry = calloc(n + 1, sizeof *retry);
  unsigned char *failed = calloc(n + 1, 1);
  import_job job = {kind, &table, messages, failed, retry, 0, 0, 0, &diags};
  if (!rows || !retry || !failed) {
    fprintf(stderr, _("%s: out of memory\n"), c->command_name);
    rc = EXIT_USAGE;
  }
  /* An organisation's further sites travel with its first row. */
  size_t n_lead = 0;
  for (size_t i = 0; i < n && rows; i++)
    if (lp_row_leads(kind, messages[i])) rows[n_lead++] = i;
  if (rc == EXIT_OK) rc = run_steps(c, &job, rows, n_lead, STEP_CREATE);
  if (rc == EXIT_OK && job.n_retry) rc = run_steps(c, &job, retry, job.n_retry, STEP_UPDATE);
  /* Follow-up calls for rows that made it: close vacancies marked closed, request placements. */
  size_t n_follow = 0;
  for (size_t i = 0; rc == EXIT_OK && i < n; i++) {
    if (failed[i]) continue;
    if (kind->id == CLI_ENTITY_VACANCIES &&
        ((Leerplek__V1__Vacancy *)messages[i])->state == LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_CLOSED)
      rows[n_follow++] = i;
    else if (kind->id == CLI_ENTITY_PUPILS && request_placements)
      rows[n_follow++] = i;
  }
  if (rc == EXIT_OK && n_follow)
    rc = run_steps(c, &job, rows, n_follow, kind->id == CLI_ENTITY_VACANCIES ? STEP_CLOSE : STEP_REQUEST);
  size_t imported = 0;
  for (size_t i = 0; i < n; i++) imported += !failed[i] && lp_row_leads(kind, messages[i]);
  lp_diags_print(&diags, stderr);
  if (rc == EXIT_OK) {
    printf(_("imported %zu of %zu %s from %s (%zu created, %zu replaced)\n"), imported, n_lead, kind->name, table.name,
           job.created, job.replaced);
    if (imported < n_lead) rc = EXIT_REFUSED;
  } else if (rc == EXIT_CONNECTION) {
    fprintf(stderr, _("%s: import of %s interrupted; rows before the failure may have been stored\n"), c->command_name,
            table.name);
  }
  free(rows);
  free(retry);
  free(failed);
  lp_diags_free(&diags);
  lp_messages_free(messages, n);
  lp_csv_table_free(&table);
  return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Flags that fill an entity's CSV columns (register, publish): the values are checked as a
 * one-row table by exactly the rules and messages of an imported file. */
typedef struct flag_column {
  int option;
  const char *flag;
  const char *column;
} flag_column;

static const char *flag_of_column(const flag_column *flags, size_t n_flags, const char *column, size_t len) {
  for (size_t f = 0; f < n_flags; f++)
    if (strlen(flags[f].column) == len && strncmp(flags[f].column, column, len) == 0) return flags[f].flag;
  return NULL;
}

/* Returns the message (the caller frees it with protobuf_c_message_free_unpacked) or NULL after
 * printing why. */
static ProtobufCMessage *flags_to_message(const cli *c, const cli_entity *kind, const flag_column *flags,
                                          size_t n_flags, const char *const *values) {
  int missing = 0;
  for (size_t k = 0; k < kind->n_columns; k++) {
    const char *flag = flag_of_column(flags, n_flags, kind->columns[k].name, strlen(kind->columns[k].name));
    if (kind->columns[k].required && !values[k] && flag) {
      fprintf(stderr, _("%s: --%s is required\n"), c->command_name, flag);
      missing = 1;
    }
  }
  if (missing) {
    fprintf(stderr, _("Try '%s --help'.\n"), c->command_name);
    return NULL;
  }
  char *header_fields[LP_CSV_MAX_FIELDS], *row_fields[LP_CSV_MAX_FIELDS];
  for (size_t k = 0; k < kind->n_columns; k++) {
    header_fields[k] = (char *)kind->columns[k].name;
    row_fields[k] = (char *)(values[k] ? values[k] : "");
  }
  lp_csv_row row = {1, kind->n_columns, row_fields};
  lp_csv_table table = {(char *)"flags", {0, kind->n_columns, header_fields}, 1, &row};
  lp_diags diags = {0};
  ProtobufCMessage **messages = NULL;
  if (lp_rows_to_messages(kind, &table, &messages, &diags) == 0) {
    ProtobufCMessage *message = messages[0];
    free(messages);
    return message;
  }
  /* "flags:1:5 (latitude): why" -> "--lat: why" */
  for (size_t i = 0; i < diags.kept; i++) {
    const char *open = strchr(diags.messages[i], '(');
    const char *close = open ? strstr(open, "): ") : NULL;
    const char *flag = close ? flag_of_column(flags, n_flags, open + 1, (size_t)(close - open - 1)) : NULL;
    if (flag)
      fprintf(stderr, "%s: --%s: %s\n", c->command_name, flag, close + 3);
    else
      fprintf(stderr, "%s: %s\n", c->command_name, diags.messages[i]);
  }
  fprintf(stderr, _("Try '%s --help'.\n"), c->command_name);
  lp_diags_free(&diags);
  return NULL;
}

/* Stores value under the option's column. */
static int take_flag(const cli_entity *kind, const flag_column *flags, size_t n_flags, int option, const char *value,
                     const char **values) {
  for (size_t f = 0; f < n_flags; f++) {
    if (flags[f].option != option) continue;
    for (size_t k = 0; k < kind->n_columns; k++)
      if (strcmp(kind->columns[k].name, flags[f].column) == 0) values[k] = value;
    return 0;
  }
  return -1;
}

/* school                                                                                      */

/* The columns a pupil's flags fill (register, update). --okan and --buso take no value on
 * register; update takes =no to clear them. */
static const flag_column pupil_flags[] = {{'r', "ref", "ref"},
                                          {'t', "training", "training_code"},
                                          {'R', "readiness", "readiness"},
                                          {'a', "lat", "latitude"},
                                          {'o', "lon", "longitude"},
                                          {'p', "postcode", "home_postcode"},
                                          {'d', "district", "home_district"},
                                          {'m', "max-commute-km", "max_commute_km"},
                                          {'D', "days", "days"},
                                          {'P', "prefer", "preferred_companies"},
                                          {'x', "exclude", "excluded_companies"},
                                          {'O', "okan", "newcomer_okan"},
                                          {'B', "buso", "special_needs_buso"},
                                          {'n', "notes", "school_notes"},
                                          {'s', "school", "school_id"},
                                          {'T', "school-type", "school_type"},
                                          {'S', "start", "wanted_start_date"}};
#define N_PUPIL_FLAGS (sizeof pupil_flags / sizeof pupil_flags[0])

/* Pupils are minors: the tool never asks for a name, only the school's pseudonymous reference. */
static const char register_usage[] =
    N_("--ref REF --training CODE --readiness R --lat DEG --lon DEG --postcode PC\n"
       "       --max-commute-km KM --days DAYS [--district D] [--prefer IDS] [--exclude IDS]\n"
       "       [--okan] [--buso] [--notes TEXT] [--school ID] [--request] [--start YYYY-MM-DD]\n"
       "Registers a pupil under the school's pseudonymous reference (never a name).\n"
       "  --ref REF            the school's reference for the pupil, 1-32 of A-Z a-z 0-9 . _ -\n"
       "  --training CODE      the training the pupil follows\n"
       "  --readiness R        not_ready, partly or ready\n"
       "  --lat, --lon DEG     home, decimal degrees (a rounded point or postcode centroid)\n"
       "  --postcode PC        home postcode (4 digits)\n"
       "  --district D         home district for the report\n"
       "  --max-commute-km KM  0.1..200\n"
       "  --days DAYS          days free for the workplace: mon,tue | A:mon,tue;B:wed | MT.....MT.....\n"
       "  --prefer IDS         ranked company ids, ';'-separated\n"
       "  --exclude IDS        company ids never to propose, ';'-separated\n"
       "  --okan, --buso       priority flags (newcomer / special needs)\n"
       "  --notes TEXT         school notes (no names or health details)\n"
       "  --school ID          the school (coordinators; a school token uses its own)\n"
       "  --request            also put the pupil on the waiting list\n"
       "  --start YYYY-MM-DD   the start the school wants (places starting later than the window do not fit)\n");

static int run_school_register(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"ref", required_argument, NULL, 'r'},
                                          {"training", required_argument, NULL, 't'},
                                          {"readiness", required_argument, NULL, 'R'},
                                          {"lat", required_argument, NULL, 'a'},
                                          {"lon", required_argument, NULL, 'o'},
                                          {"postcode", required_argument, NULL, 'p'},
                                          {"district", required_argument, NULL, 'd'},
                                          {"max-commute-km", required_argument, NULL, 'm'},
                                          {"days", required_argument, NULL, 'D'},
                                          {"prefer", required_argument, NULL, 'P'},
                                          {"exclude", required_argument, NULL, 'x'},
                                          {"okan", no_argument, NULL, 'O'},
                                          {"buso", no_argument, NULL, 'B'},
                                          {"notes", required_argument, NULL, 'n'},
                                          {"school", required_argument, NULL, 's'},
                                          {"request", no_argument, NULL, 'q'},
                                          {"start", required_argument, NULL, 'S'},
                                          {0, 0, 0, 0}};
  const flag_column *flags = pupil_flags;
  const size_t n_flags = N_PUPIL_FLAGS;
  const cli_entity *kind = &cli_entities[CLI_ENTITY_PUPILS];
  const char *values[LP_CSV_MAX_FIELDS] = {0};
  int request_placement = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'q') request_placement = 1;
    /* --okan and --buso take no value: they set their column to true. */
    else if (take_flag(kind, flags, n_flags, option, option == 'O' || option == 'B' ? "true" : optarg, values) != 0)
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  ProtobufCMessage *message = flags_to_message(c, kind, flags, n_flags, values);
  if (!message) return EXIT_USAGE;
  Leerplek__V1__RegisterPupilRequest body = LEERPLEK__V1__REGISTER_PUPIL_REQUEST__INIT;
  body.pupil = (Leerplek__V1__Pupil *)message;
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_REGISTER_PUPIL, &body.base, &response);
  if (rc == EXIT_OK) {
    const Leerplek__V1__RegisterPupilResponse *reply = response->register_pupil;
    json_t *object = lp_entity_to_json(kind, &reply->pupil->base);
    if (!request_placement) lp_print_object(stdout, c->format, object);
    json_decref(object);
    if (request_placement) {
      Leerplek__V1__RequestPlacementRequest request = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
      request.school_id = reply->pupil->school_id;
      request.pupil_ref = reply->pupil->ref;
      rc = call_and_print(c, LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT, &request.base);
    }
    leerplek_response_free(response);
  }
  protobuf_c_message_free_unpacked(message, NULL);
  return rc;
}

/* Commands naming one pupil: REF [--school ID] (and --reason for withdraw). */
static int run_pupil_command(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"school", required_argument, NULL, 's'}, {"reason", required_argument, NULL, 'r'}, {0, 0, 0, 0}};
  const char *school = "", *reason = "";
  int option;
  int body_case = command->extra;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 's')
      school = optarg;
    else if (option == 'r' && body_case == LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT)
      reason = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the pupil's reference"));
  if (bounded_text(c, "reason", reason, 1000)) return EXIT_USAGE;
  char *ref = argv[optind];
  Leerplek__V1__RequestPlacementRequest request = LEERPLEK__V1__REQUEST_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__GetPlacementRequest get = LEERPLEK__V1__GET_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__WithdrawPlacementRequest withdraw = LEERPLEK__V1__WITHDRAW_PLACEMENT_REQUEST__INIT;
  Leerplek__V1__GetPupilRequest get_pupil = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  Leerplek__V1__ErasePupilRequest erase = LEERPLEK__V1__ERASE_PUPIL_REQUEST__INIT;
  ProtobufCMessage *body = NULL;
  switch (body_case) {
  case LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT:
    request.school_id = (char *)school, request.pupil_ref = ref, body = &request.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT:
    get.school_id = (char *)school, get.pupil_ref = ref, body = &get.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT:
    withdraw.school_id = (char *)school, withdraw.pupil_ref = ref, withdraw.reason = (char *)reason;
    body = &withdraw.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_GET_PUPIL:
    get_pupil.school_id = (char *)school, get_pupil.pupil_ref = ref, body = &get_pupil.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL:
    erase.school_id = (char *)school, erase.pupil_ref = ref, body = &erase.base;
    break;
  default: return EXIT_USAGE;
  }
  return call_and_print(c, body_case, body);
}

/* accept/decline: PROPOSAL_ID [--side school|company] [--reason TEXT]; command->extra = call. */
static int run_proposal_answer(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"side", required_argument, NULL, 's'}, {"reason", required_argument, NULL, 'r'}, {0, 0, 0, 0}};
  int side = 0, option;
  const char *reason = "";
  int declining = command->extra == LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL;
  int coordinator = strcmp(command->group, "coordinator") == 0;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 's' && coordinator) {
      if (parse_enum_flag(c, "side", &leerplek__v1__side__descriptor, optarg, &side)) return EXIT_USAGE;
    } else if (option == 'r' && declining) {
      reason = optarg;
    } else {
      return bad_option(c, options, option, argv);
    }
  }
  if (argc - optind != 1) return usage_error(c, _("expected the proposal id"));
  uint64_t proposal_id = 0;
  if (parse_u64_argument(c, "proposal id", argv[optind], &proposal_id)) return EXIT_USAGE;
  if (bounded_text(c, "reason", reason, 1000)) return EXIT_USAGE;
  if (coordinator && side == 0) return usage_error(c, _("a coordinator must say --side school or --side company"));
  /* School and company tokens act on their own side (the daemon derives it from the token). */
  if (!coordinator)
    side = strcmp(command->group, "school") == 0 ? LEERPLEK__V1__SIDE__SIDE_SCHOOL : LEERPLEK__V1__SIDE__SIDE_COMPANY;
  if (declining) {
    Leerplek__V1__DeclineProposalRequest body = LEERPLEK__V1__DECLINE_PROPOSAL_REQUEST__INIT;
    body.proposal_id = proposal_id;
    body.side = (Leerplek__V1__Side)side;
    body.reason = (char *)reason;
    return call_and_print(c, command->extra, &body.base);
  }
  Leerplek__V1__AcceptProposalRequest body = LEERPLEK__V1__ACCEPT_PROPOSAL_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.side = (Leerplek__V1__Side)side;
  return call_and_print(c, command->extra, &body.base);
}

/* SCHOOL/REF into its two parts (in place); 0, or a usage error. */
static int split_pupil_key(cli *c, char *key, char **school, char **ref) {
  char *slash = strchr(key, '/');
  if (!slash || slash == key || !slash[1]) return usage_error(c, _("expected the pupil as SCHOOL/REF"));
  *slash = '\0';
  *school = key, *ref = slash + 1;
  return 0;
}

/* place SCHOOL/REF VACANCY [--override REASON] [--no-pin]: a manual placement. */
static int run_place(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"override", required_argument, NULL, 'o'}, {"no-pin", no_argument, NULL, 'n'}, {0, 0, 0, 0}};
  Leerplek__V1__PlacePupilRequest body = LEERPLEK__V1__PLACE_PUPIL_REQUEST__INIT;
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'o')
      body.override_reason = optarg;
    else if (option == 'n')
      body.unpinned = 1;
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 2) return usage_error(c, _("expected the pupil (SCHOOL/REF) and the vacancy"));
  if (bounded_text(c, "override", body.override_reason, 1000)) return EXIT_USAGE;
  if (split_pupil_key(c, argv[optind], &body.school_id, &body.pupil_ref)) return EXIT_USAGE;
  body.vacancy_id = argv[optind + 1];
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_PLACE_PUPIL, &body.base);
}

/* pin/unpin SCHOOL/REF; command->extra is 1 to pin. */
static int run_pin(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION, {0, 0, 0, 0}};
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the pupil as SCHOOL/REF"));
  Leerplek__V1__PinPlacementRequest body = LEERPLEK__V1__PIN_PLACEMENT_REQUEST__INIT;
  if (split_pupil_key(c, argv[optind], &body.school_id, &body.pupil_ref)) return EXIT_USAGE;
  body.pin = command->extra == 1;
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_PIN_PLACEMENT, &body.base);
}

static int run_agreement(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"ref", required_argument, NULL, 'r'},
                                          {"signed", required_argument, NULL, 's'},
                                          {"starts", required_argument, NULL, 't'},
                                          {"ends", required_argument, NULL, 'e'},
                                          {0, 0, 0, 0}};
  const char *ref = NULL, *signed_on = NULL, *starts_on = NULL, *ends_on = NULL;
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'r')
      ref = optarg;
    else if (option == 's')
      signed_on = optarg;
    else if (option == 't')
      starts_on = optarg;
    else if (option == 'e')
      ends_on = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the proposal id"));
  if (!ref || !signed_on || !starts_on) return usage_error(c, _("--ref, --signed and --starts are required"));
  uint64_t proposal_id = 0;
  if (parse_u64_argument(c, "proposal id", argv[optind], &proposal_id)) return EXIT_USAGE;
  if (!*ref || bounded_text(c, "ref", ref, 100)) return usage_error(c, _("--ref: 1..100 bytes"));
  Leerplek__V1__Date signed_date = LEERPLEK__V1__DATE__INIT, start_date = LEERPLEK__V1__DATE__INIT,
                     end_date = LEERPLEK__V1__DATE__INIT;
  char why[200];
  if (ends_on && lp_date_parse(ends_on, &end_date.year, &end_date.month, &end_date.day, why, sizeof why))
    return bad_value(c, "ends", why);
  if (lp_date_parse(signed_on, &signed_date.year, &signed_date.month, &signed_date.day, why, sizeof why))
    return bad_value(c, "signed", why);
  if (lp_date_parse(starts_on, &start_date.year, &start_date.month, &start_date.day, why, sizeof why))
    return bad_value(c, "starts", why);
  Leerplek__V1__AgreementInfo agreement = LEERPLEK__V1__AGREEMENT_INFO__INIT;
  agreement.agreement_ref = (char *)ref;
  agreement.signed_on = &signed_date;
  agreement.starts_on = &start_date;
  agreement.ends_on = ends_on ? &end_date : NULL;
  Leerplek__V1__RecordAgreementRequest body = LEERPLEK__V1__RECORD_AGREEMENT_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.agreement = &agreement;
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_RECORD_AGREEMENT, &body.base);
}

/* end-agreement: PROPOSAL_ID --reason TEXT [--ended YYYY-MM-DD] (any role that may). */
static int run_end_agreement(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"reason", required_argument, NULL, 'r'}, {"ended", required_argument, NULL, 'e'}, {0, 0, 0, 0}};
  const char *reason = NULL, *ended = NULL;
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'r')
      reason = optarg;
    else if (option == 'e')
      ended = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the proposal id"));
  if (!reason || !*reason) return usage_error(c, _("--reason is required"));
  uint64_t proposal_id = 0;
  if (parse_u64_argument(c, "proposal id", argv[optind], &proposal_id) || bounded_text(c, "reason", reason, 1000))
    return EXIT_USAGE;
  Leerplek__V1__Date ended_on = LEERPLEK__V1__DATE__INIT;
  char why[200];
  if (ended && lp_date_parse(ended, &ended_on.year, &ended_on.month, &ended_on.day, why, sizeof why))
    return bad_value(c, "ended", why);
  Leerplek__V1__EndAgreementRequest body = LEERPLEK__V1__END_AGREEMENT_REQUEST__INIT;
  body.proposal_id = proposal_id;
  body.reason = (char *)reason;
  body.ended_on = ended ? &ended_on : NULL;
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_END_AGREEMENT, &body.base);
}

/* close-year --date YYYY-MM-DD [--dry-run]: the counts, and the archive's rows in --json. */
static int run_close_year(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"date", required_argument, NULL, 'd'}, {"dry-run", no_argument, NULL, 'n'}, {0, 0, 0, 0}};
  const char *date = NULL;
  Leerplek__V1__CloseSchoolYearRequest body = LEERPLEK__V1__CLOSE_SCHOOL_YEAR_REQUEST__INIT;
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'd')
      date = optarg;
    else if (option == 'n')
      body.dry_run = 1;
    else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (!date) return usage_error(c, _("--date is required"));
  Leerplek__V1__Date boundary = LEERPLEK__V1__DATE__INIT;
  char why[200];
  if (lp_date_parse(date, &boundary.year, &boundary.month, &boundary.day, why, sizeof why))
    return bad_value(c, "date", why);
  body.boundary = &boundary;
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_CLOSE_SCHOOL_YEAR, &body.base);
}

/* Lists of placements, proposals and the waiting list, with their filters. */
static int run_placement_list(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"school", required_argument, NULL, 's'},
                                          {"state", required_argument, NULL, 'S'},
                                          {"training", required_argument, NULL, 't'},
                                          {"vacancy", required_argument, NULL, 'v'},
                                          {"company", required_argument, NULL, 'c'},
                                          {"district", required_argument, NULL, 'd'},
                                          CSV_OPTIONS,
                                          {0, 0, 0, 0}};
  const char *school = "", *training = "", *vacancy = "", *company = "", *district = "";
  int state = 0, option, taken;
  int body_case = command->extra;
  int agreements = strcmp(command->name, "agreements") == 0;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if ((taken = take_csv_option(c, option, optarg)) != 0) {
      if (taken < 0) return EXIT_USAGE;
      continue;
    }
    if (option == 'S' && agreements) return bad_option(c, options, option, argv);
    switch (option) {
    case 's': school = optarg; break;
    case 'S':
      if (parse_enum_flag(c, "state", &leerplek__v1__placement_state__descriptor, optarg, &state)) return EXIT_USAGE;
      break;
    case 't': training = optarg; break;
    case 'v': vacancy = optarg; break;
    case 'c': company = optarg; break;
    case 'd': district = optarg; break;
    default: return bad_option(c, options, option, argv);
    }
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  /* A table shows what fits a screen; CSV carries every field a spreadsheet needs (the same
   * first columns, then the acceptances, the agreement and the hint). */
  int wide = c->format != LP_FORMAT_TABLE;
  if (body_case == LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS && agreements) {
    static const char *const columns[] = {
        N_("school_id"),           N_("pupil_ref"),           N_("training_code"),
        N_("proposal_id"),         N_("offer.vacancy_id"),    N_("offer.company_id"),
        N_("offer.company_name"),  N_("offer.location_id"),   N_("agreement.agreement_ref"),
        N_("agreement.signed_on"), N_("agreement.starts_on"), N_("agreement.recorded")};
    Leerplek__V1__ListPlacementsRequest body = LEERPLEK__V1__LIST_PLACEMENTS_REQUEST__INIT;
    body.school_id = (char *)school, body.training_code = (char *)training, body.vacancy_id = (char *)vacancy;
    body.state = LEERPLEK__V1__PLACEMENT_STATE__PLACEMENT_STATE_AGREEMENT;
    return list_and_print(c, body_case, &body.base, columns, sizeof columns / sizeof columns[0]);
  }
  if (body_case == LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS) {
    static const char *const columns[] = {
        N_("school_id"), N_("pupil_ref"), N_("training_code"), N_("state"), N_("proposal_id"), N_("offer.vacancy_id"),
        N_("offer.company_name"), N_("offer.distance_m"), N_("answer_by"), N_("unplaced.reason"), N_("unplaced.help"),
        /* CSV only from here */
        N_("offer.company_id"), N_("offer.location_id"), N_("school_accepted"), N_("company_accepted"), N_("requested"),
        N_("agreement.agreement_ref"), N_("agreement.signed_on"), N_("agreement.starts_on"), N_("unplaced.hint_kind"),
        N_("unplaced.hint_vacancy_id"), N_("unplaced.hint_seats"), N_("unplaced.hint_new_company"),
        N_("unplaced.hint_distance_m"), N_("unplaced.hint_unchecked")};
    Leerplek__V1__ListPlacementsRequest body = LEERPLEK__V1__LIST_PLACEMENTS_REQUEST__INIT;
    body.school_id = (char *)school, body.training_code = (char *)training, body.vacancy_id = (char *)vacancy;
    body.state = (Leerplek__V1__PlacementState)state;
    return list_and_print(c, body_case, &body.base, columns, wide ? sizeof columns / sizeof columns[0] : 11);
  }
  if (body_case == LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS) {
    static const char *const columns[] = {N_("proposal_id"),     N_("vacancy_id"), N_("pupil_ref"),
                                          N_("training_code"),   N_("readiness"),  N_("days"),
                                          N_("distance_band"),   N_("state"),      N_("company_accepted"),
                                          N_("school_accepted"), N_("answer_by")};
    Leerplek__V1__ListProposalsRequest body = LEERPLEK__V1__LIST_PROPOSALS_REQUEST__INIT;
    body.company_id = (char *)company, body.vacancy_id = (char *)vacancy;
    body.state = (Leerplek__V1__PlacementState)state;
    return list_and_print(c, body_case, &body.base, columns, sizeof columns / sizeof columns[0]);
  }
  static const char *const columns[] = {
      N_("position"), N_("school_id"), N_("pupil_ref"), N_("training_code"), N_("readiness"), N_("home_district"),
      N_("state"), N_("days_waiting"), N_("newcomer_okan"), N_("special_needs_buso"), N_("unplaced.reason"),
      N_("unplaced.hint_kind"), N_("unplaced.hint_vacancy_id"), N_("unplaced.hint_seats"), N_("unplaced.help"),
      /* CSV only from here */
      N_("waiting_since"), N_("priority_score"), N_("unplaced.hint_new_company"), N_("unplaced.hint_distance_m"),
      N_("unplaced.hint_unchecked"), N_("unplaced.nearest_vacancy_id"), N_("unplaced.nearest_distance_m")};
  Leerplek__V1__GetWaitingListRequest body = LEERPLEK__V1__GET_WAITING_LIST_REQUEST__INIT;
  body.school_id = (char *)school, body.training_code = (char *)training, body.home_district = (char *)district;
  return list_and_print(c, body_case, &body.base, columns, wide ? sizeof columns / sizeof columns[0] : 15);
}

/* ------------------------------------------------------------------------------------------ */
/* Updates: read, lay the flags over the stored record, write back conditionally               */

/* The record to send: the stored record's columns (in their CSV text) with the flags given
 * over them, checked as one import row would be. `given` holds a flag's value per column
 * (NULL: keep the stored one). NULL after printing why. */
static ProtobufCMessage *overlay_flags(const cli *c, const cli_entity *kind, const ProtobufCMessage *stored,
                                       const flag_column *flags, size_t n_flags, const char *const *given) {
  json_t *object = lp_entity_to_json(kind, stored);
  char *texts[LP_CSV_MAX_FIELDS] = {0};
  const char *values[LP_CSV_MAX_FIELDS] = {0};
  for (size_t k = 0; k < kind->n_columns; k++) {
    texts[k] = lp_cell_text(json_object_get(object, kind->columns[k].name));
    values[k] = given[k] ? given[k] : texts[k];
  }
  json_decref(object);
  ProtobufCMessage *message = flags_to_message(c, kind, flags, n_flags, values);
  for (size_t k = 0; k < kind->n_columns; k++) free(texts[k]);
  return message;
}

/* The scope of the token (a school, company or support organisation id), asked with a hello:
 * the owner of what a scoped token creates when no flag names it. 0 with *scope set (free
 * *response afterwards), else the exit code after saying that `flag` is needed. */
static int token_scope(cli *c, Leerplek__V1__Role role, const char *flag, Leerplek__V1__Response **response,
                       const char **scope) {
  Leerplek__V1__HelloRequest hello = LEERPLEK__V1__HELLO_REQUEST__INIT;
  hello.protocol_version = 1;
  hello.client_name = (char *)"leerplek";
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_HELLO, &hello.base, response);
  if (rc) return rc;
  if ((*response)->hello->role != role) {
    leerplek_response_free(*response);
    *response = NULL;
    return usage_error(c, _("--%s is required unless the token is scoped to one"), flag);
  }
  *scope = (*response)->hello->scope_id;
  return 0;
}

/* The columns a vacancy's flags fill (publish, update-vacancy). */
static const struct option vacancy_options[] = {HELP_OPTION,
                                                {"id", required_argument, NULL, 'i'},
                                                {"location", required_argument, NULL, 'l'},
                                                {"training", required_argument, NULL, 't'},
                                                {"seats", required_argument, NULL, 's'},
                                                {"min-readiness", required_argument, NULL, 'r'},
                                                {"days", required_argument, NULL, 'd'},
                                                {"kind", required_argument, NULL, 'k'},
                                                {"start", required_argument, NULL, 'S'},
                                                {"mentor", required_argument, NULL, 'm'},
                                                {0, 0, 0, 0}};
static const flag_column vacancy_flags[] = {{'i', "id", "id"},
                                            {'l', "location", "location_id"},
                                            {'t', "training", "training_code"},
                                            {'s', "seats", "seats"},
                                            {'r', "min-readiness", "min_readiness"},
                                            {'d', "days", "days"},
                                            {'k', "kind", "kind"},
                                            {'S', "start", "start_date"},
                                            {'m', "mentor", "mentor"}};
#define N_VACANCY_FLAGS (sizeof vacancy_flags / sizeof vacancy_flags[0])

static const char update_vacancy_usage[] =
    N_("VACANCY_ID [--location LOC] [--training CODE] [--seats N] [--min-readiness R]\n"
       "       [--days DAYS] [--kind K] [--start YYYY-MM-DD] [--mentor TEXT]\n"
       "Changes the fields given and keeps the others (its open or closed state too). The change is\n"
       "refused (ABORTED) when the vacancy changed since it was read: run it again.\n");

/* update-vacancy ID [flags] and reopen ID (command->extra 1): UpdateVacancy of the stored
 * record with the flags over it, conditional on the revision read. */
static int run_update_vacancy(cli *c, const command *command, int argc, char **argv) {
  int reopen = command->extra == 1;
  const cli_entity *kind = &cli_entities[CLI_ENTITY_VACANCIES];
  const char *given[LP_CSV_MAX_FIELDS] = {0};
  int option;
  while ((option = next_option(command, argc, argv, "h", vacancy_options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (reopen || option == 'i' || take_flag(kind, vacancy_flags, N_VACANCY_FLAGS, option, optarg, given) != 0)
      return bad_option(c, vacancy_options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the vacancy id"));
  Leerplek__V1__GetVacancyRequest get = LEERPLEK__V1__GET_VACANCY_REQUEST__INIT;
  get.vacancy_id = argv[optind];
  Leerplek__V1__Response *stored;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_GET_VACANCY, &get.base, &stored);
  if (rc) return rc;
  const Leerplek__V1__Vacancy *old = stored->get_vacancy->vacancy;
  Leerplek__V1__Vacancy *vacancy =
      (Leerplek__V1__Vacancy *)overlay_flags(c, kind, &old->base, vacancy_flags, N_VACANCY_FLAGS, given);
  if (!vacancy)
    rc = EXIT_USAGE;
  else {
    /* UNSPECIFIED keeps the state; OPEN reopens (the proto's Vacancy.state). */
    vacancy->state = reopen ? LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN
                            : LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_UNSPECIFIED;
    Leerplek__V1__UpdateVacancyRequest body = LEERPLEK__V1__UPDATE_VACANCY_REQUEST__INIT;
    body.vacancy = vacancy;
    body.expected_revision = old->revision;
    rc = call_and_print(c, LEERPLEK__V1__REQUEST__BODY_UPDATE_VACANCY, &body.base);
    protobuf_c_message_free_unpacked(&vacancy->base, NULL);
  }
  leerplek_response_free(stored);
  return rc;
}

static const char update_pupil_usage[] =
    N_("REF [--school ID] [--training CODE] [--readiness R] [--lat DEG --lon DEG]\n"
       "       [--postcode PC] [--district D] [--max-commute-km KM] [--days DAYS] [--prefer IDS]\n"
       "       [--exclude IDS] [--okan[=no]] [--buso[=no]] [--notes TEXT] [--school-type T]\n"
       "Changes the fields given and keeps the others. A proposal that no longer fits is released.\n"
       "The change is refused (ABORTED) when the pupil changed since it was read: run it again.\n"
       "  --school ID      the pupil's school (coordinators; a school token uses its own)\n"
       "  --prefer, --exclude IDS  company ids, ';'-separated; \"\" clears the list\n"
       "  --okan, --buso   priority flags; =no clears one\n"
       "  --school-type T  full_time, buso, learning_working or syntra\n");

static int run_update_pupil(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"training", required_argument, NULL, 't'},
                                          {"readiness", required_argument, NULL, 'R'},
                                          {"lat", required_argument, NULL, 'a'},
                                          {"lon", required_argument, NULL, 'o'},
                                          {"postcode", required_argument, NULL, 'p'},
                                          {"district", required_argument, NULL, 'd'},
                                          {"max-commute-km", required_argument, NULL, 'm'},
                                          {"days", required_argument, NULL, 'D'},
                                          {"prefer", required_argument, NULL, 'P'},
                                          {"exclude", required_argument, NULL, 'x'},
                                          {"okan", optional_argument, NULL, 'O'},
                                          {"buso", optional_argument, NULL, 'B'},
                                          {"notes", required_argument, NULL, 'n'},
                                          {"school", required_argument, NULL, 's'},
                                          {"school-type", required_argument, NULL, 'T'},
                                          {"start", required_argument, NULL, 'S'},
                                          {0, 0, 0, 0}};
  const cli_entity *kind = &cli_entities[CLI_ENTITY_PUPILS];
  const char *given[LP_CSV_MAX_FIELDS] = {0};
  const char *school = "";
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 's') school = optarg;
    const char *value = (option == 'O' || option == 'B') && !optarg ? "true" : optarg;
    if (take_flag(kind, pupil_flags, N_PUPIL_FLAGS, option, value, given) != 0)
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the pupil's reference"));
  Leerplek__V1__GetPupilRequest get = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  get.school_id = (char *)school;
  get.pupil_ref = argv[optind];
  Leerplek__V1__Response *stored;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_GET_PUPIL, &get.base, &stored);
  if (rc) return rc;
  const Leerplek__V1__Pupil *old = stored->get_pupil->pupil;
  Leerplek__V1__Pupil *pupil =
      (Leerplek__V1__Pupil *)overlay_flags(c, kind, &old->base, pupil_flags, N_PUPIL_FLAGS, given);
  if (!pupil)
    rc = EXIT_USAGE;
  else {
    Leerplek__V1__UpdatePupilRequest body = LEERPLEK__V1__UPDATE_PUPIL_REQUEST__INIT;
    body.pupil = pupil;
    body.expected_revision = old->revision;
    rc = call_and_print(c, LEERPLEK__V1__REQUEST__BODY_UPDATE_PUPIL, &body.base);
    protobuf_c_message_free_unpacked(&pupil->base, NULL);
  }
  leerplek_response_free(stored);
  return rc;
}

static const flag_column location_flags[] = {{'i', "id", "id"},
                                             {'c', "company", "company_id"},
                                             {'n', "name", "name"},
                                             {'A', "address", "address"},
                                             {'a', "lat", "latitude"},
                                             {'o', "lon", "longitude"},
                                             {'p', "postcode", "postcode"},
                                             {'d', "district", "district"}};
#define N_LOCATION_FLAGS (sizeof location_flags / sizeof location_flags[0])

static const char location_usage[] =
    N_("--id ID --postcode PC [--name TEXT] [--address TEXT] [--lat DEG --lon DEG]\n"
       "       [--district D] [--company ID]\n"
       "Creates or replaces a location of the company (all its fields; update-location changes some).\n"
       "  --lat, --lon DEG  where it is, decimal degrees (left out: the postcode's centre)\n"
       "  --district D      district or municipality for the report\n"
       "  --company ID      the owning company (coordinators; a company token uses its own)\n");

static const char update_location_usage[] =
    N_("LOCATION_ID [--name TEXT] [--address TEXT] [--lat DEG --lon DEG] [--postcode PC]\n"
       "       [--district D]\n"
       "Changes the fields given and keeps the others. The change is refused (ABORTED) when the\n"
       "location changed since it was read: run it again.\n");

/* location (create or replace, command->extra 0) and update-location ID (extra 1). */
static int run_location(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"id", required_argument, NULL, 'i'},
                                          {"company", required_argument, NULL, 'c'},
                                          {"name", required_argument, NULL, 'n'},
                                          {"address", required_argument, NULL, 'A'},
                                          {"lat", required_argument, NULL, 'a'},
                                          {"lon", required_argument, NULL, 'o'},
                                          {"postcode", required_argument, NULL, 'p'},
                                          {"district", required_argument, NULL, 'd'},
                                          {0, 0, 0, 0}};
  int update = command->extra == 1;
  const cli_entity *kind = &cli_entities[CLI_ENTITY_LOCATIONS];
  const char *given[LP_CSV_MAX_FIELDS] = {0};
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    /* A location's id and company are its key: an update names them by its argument. */
    if ((update && (option == 'i' || option == 'c')) ||
        take_flag(kind, location_flags, N_LOCATION_FLAGS, option, optarg, given) != 0)
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != (update ? 1 : 0))
    return update ? usage_error(c, _("expected the location id"))
                  : usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  Leerplek__V1__Response *stored = NULL;
  Leerplek__V1__Location *location = NULL;
  uint64_t expected_revision = 0;
  int rc = 0;
  if (update) {
    Leerplek__V1__GetLocationRequest get = LEERPLEK__V1__GET_LOCATION_REQUEST__INIT;
    get.location_id = argv[optind];
    rc = call(c, LEERPLEK__V1__REQUEST__BODY_GET_LOCATION, &get.base, &stored);
    if (rc) return rc;
    const Leerplek__V1__Location *old = stored->get_location->location;
    expected_revision = old->revision;
    location = (Leerplek__V1__Location *)overlay_flags(c, kind, &old->base, location_flags, N_LOCATION_FLAGS, given);
  } else {
    if (!given[1]) { /* column company_id */
      const char *scope = NULL;
      rc = token_scope(c, LEERPLEK__V1__ROLE__ROLE_COMPANY, "company", &stored, &scope);
      if (rc) return rc;
      given[1] = scope;
    }
    location = (Leerplek__V1__Location *)flags_to_message(c, kind, location_flags, N_LOCATION_FLAGS, given);
  }
  if (!location)
    rc = EXIT_USAGE;
  else {
    Leerplek__V1__UpsertLocationRequest body = LEERPLEK__V1__UPSERT_LOCATION_REQUEST__INIT;
    body.location = location;
    body.expected_revision = expected_revision;
    rc = call_and_print(c, LEERPLEK__V1__REQUEST__BODY_UPSERT_LOCATION, &body.base);
    protobuf_c_message_free_unpacked(&location->base, NULL);
  }
  leerplek_response_free(stored);
  return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* company                                                                                     */

static const char publish_usage[] =
    N_("--id ID --location LOC --training CODE --seats N --min-readiness R --days DAYS\n"
       "       --kind K --start YYYY-MM-DD [--mentor TEXT]\n"
       "Publishes a new open vacancy at one of the company's locations.\n"
       "  --seats N           1..100\n"
       "  --min-readiness R   not_ready (preparatory places only), partly or ready\n"
       "  --days DAYS         mon,tue | A:mon,tue;B:wed | MT.....MT.....\n"
       "  --kind K            regular or preparatory\n");

static int run_company_publish(cli *c, const command *command, int argc, char **argv) {
  const cli_entity *kind = &cli_entities[CLI_ENTITY_VACANCIES];
  const char *values[LP_CSV_MAX_FIELDS] = {0};
  int option;
  while ((option = next_option(command, argc, argv, "h", vacancy_options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (take_flag(kind, vacancy_flags, N_VACANCY_FLAGS, option, optarg, values) != 0)
      return bad_option(c, vacancy_options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  ProtobufCMessage *message = flags_to_message(c, kind, vacancy_flags, N_VACANCY_FLAGS, values);
  if (!message) return EXIT_USAGE;
  Leerplek__V1__PublishVacancyRequest body = LEERPLEK__V1__PUBLISH_VACANCY_REQUEST__INIT;
  body.vacancy = (Leerplek__V1__Vacancy *)message;
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_PUBLISH_VACANCY, &body.base, &response);
  if (rc == EXIT_OK) {
    json_t *object = lp_message_to_json(&response->publish_vacancy->vacancy->base);
    lp_print_object(stdout, c->format, object);
    json_decref(object);
    leerplek_response_free(response);
  }
  protobuf_c_message_free_unpacked(message, NULL);
  return rc;
}

static int run_company_close(cli *c, const command *command, int argc, char **argv) {
  int rc = plain_arguments(c, command, argc, argv, 1, "the vacancy id");
  if (rc) return rc == -2 ? EXIT_OK : rc;
  Leerplek__V1__CloseVacancyRequest body = LEERPLEK__V1__CLOSE_VACANCY_REQUEST__INIT;
  body.vacancy_id = argv[optind];
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_CLOSE_VACANCY, &body.base);
}

static int run_company_vacancies(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"company", required_argument, NULL, 'c'},
                                          {"location", required_argument, NULL, 'l'},
                                          {"training", required_argument, NULL, 't'},
                                          {"state", required_argument, NULL, 's'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ListVacanciesRequest body = LEERPLEK__V1__LIST_VACANCIES_REQUEST__INIT;
  int option, state = 0;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'c')
      body.company_id = optarg;
    else if (option == 'l')
      body.location_id = optarg;
    else if (option == 't')
      body.training_code = optarg;
    else if (option == 's') {
      if (parse_enum_flag(c, "state", &leerplek__v1__vacancy_state__descriptor, optarg, &state)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.state = (Leerplek__V1__VacancyState)state;
  static const char *const columns[] = {
      N_("id"),           N_("location_id"),   N_("training_code"), N_("seats"), N_("seats_proposed"),
      N_("seats_filled"), N_("min_readiness"), N_("days"),          N_("kind"),  N_("state"),
      N_("start_date")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_VACANCIES, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

/* ------------------------------------------------------------------------------------------ */
/* coordinator                                                                                 */

static const char report_usage[] =
    N_("[--max-shortages N] [--table=NAME | --csv-dir DIR] [--delimiter C] [--decimal-comma]\n"
       "The coordinators' report: all of it, or one of its tables (a table, --csv or --json).\n"
       "  --max-shortages N  list at most N shortages (1..200)\n"
       "  --table=NAME       one table (write the '='): headline, by_training, by_district,\n"
       "                     shortages, reasons, school_types, trend, trend_trainings,\n"
       "                     registration_point, last_rematch\n"
       "  --csv-dir DIR      write every table as DIR/NAME.csv (header row of field names)\n"
       "  --delimiter C      ',' (default), ';' (with decimal commas) or tab\n"
       "  --decimal-comma    write decimals as 51,21 (implied by --delimiter ';')\n");

/* Writes every table of the report as DIR/NAME.csv. */
static int write_report_tables(cli *c, const json_t *report, const char *dir) {
  for (size_t t = 0; t < lp_report_table_count; t++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.csv", dir, lp_report_tables[t]);
    FILE *out = fopen(path, "w");
    if (!out) {
      fprintf(stderr, _("%s: cannot write %s: %s\n"), c->command_name, path, strerror(errno));
      return EXIT_USAGE;
    }
    json_t *rows, *columns;
    lp_report_table(report, lp_report_tables[t], &rows, &columns);
    print_table_rows(out, LP_FORMAT_CSV, rows, columns);
    size_t n_rows = json_array_size(rows);
    json_decref(rows);
    json_decref(columns);
    if (fclose(out) != 0) {
      fprintf(stderr, _("%s: writing %s failed\n"), c->command_name, path);
      return EXIT_USAGE;
    }
    printf(_("%s: %zu rows\n"), path, n_rows);
  }
  return EXIT_OK;
}

static int run_report(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"max-shortages", required_argument, NULL, 'm'},
                                          {"table", required_argument, NULL, 't'},
                                          {"csv-dir", required_argument, NULL, 'o'},
                                          CSV_OPTIONS,
                                          {0, 0, 0, 0}};
  Leerplek__V1__GetReportRequest body = LEERPLEK__V1__GET_REPORT_REQUEST__INIT;
  const char *table = NULL, *dir = NULL;
  int option, taken;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if ((taken = take_csv_option(c, option, optarg)) != 0) {
      if (taken < 0) return EXIT_USAGE;
    } else if (option == 'm') {
      if (parse_u32_flag(c, "max-shortages", optarg, 1, 200, &body.max_shortages)) return EXIT_USAGE;
    } else if (option == 't')
      table = optarg;
    else if (option == 'o')
      dir = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) {
    json_t *rows, *columns;
    int is_table = lp_report_table(NULL, argv[optind], &rows, &columns) == 0;
    if (is_table) json_decref(rows), json_decref(columns);
    /* "--table NAME" without '=': the global --table (the table format) took the flag. */
    if (is_table)
      return usage_error(c, _("write --table=%s (with '='; --table alone chooses the table format)"), argv[optind]);
    return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  }
  if (table && dir) return usage_error(c, _("choose --table or --csv-dir"));
  if (table) {
    json_t *rows, *columns;
    if (lp_report_table(NULL, table, &rows, &columns) != 0)
      return usage_error(c, _("--table: \"%s\" is not a table of the report (see --help)"), table);
    json_decref(rows);
    json_decref(columns);
  }
  /* One CSV row cannot hold the report's tables: CSV is one table at a time. */
  if (!table && !dir && c->format == LP_FORMAT_CSV)
    return usage_error(c, _("--csv needs --table=NAME (or --csv-dir DIR for all tables)"));
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_GET_REPORT, &body.base, &response);
  if (rc) return rc;
  json_t *report = lp_message_to_json(&response->get_report->report->base);
  if (!table && !dir) {
    /* A table shows accepted and agreement apart: their sum (pupils_placed, for older
     * clients) would be a third word for them. --json keeps the message as it is. */
    if (c->format == LP_FORMAT_TABLE) {
      static const char *const lists[] = {"by_training", "by_district"};
      for (size_t l = 0; l < 2; l++) {
        size_t k;
        json_t *row;
        json_array_foreach(json_object_get(report, lists[l]), k, row) json_object_del(row, "pupils_placed");
      }
    }
    json_t *reply = json_pack("{s:O}", "report", report);
    lp_print_object(stdout, c->format, reply);
    json_decref(reply);
  } else if (dir)
    rc = write_report_tables(c, report, dir);
  else {
    json_t *rows, *columns;
    lp_report_table(report, table, &rows, &columns);
    print_table_rows(stdout, c->format, rows, columns);
    json_decref(rows);
    json_decref(columns);
  }
  json_decref(report);
  leerplek_response_free(response);
  return rc;
}

/* The flags of a run, rematch or dispatch alike: --dry-run and --max-changes N. 0 when they
 * parsed (fields set), else the exit code (EXIT_OK after --help). */
static int run_flags(cli *c, const command *command, int argc, char **argv, protobuf_c_boolean *dry_run,
                     uint32_t *max_changes) {
  static const struct option options[] = {
      HELP_OPTION, {"dry-run", no_argument, NULL, 'n'}, {"max-changes", required_argument, NULL, 'm'}, {0, 0, 0, 0}};
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'n')
      *dry_run = 1;
    else if (option == 'm') {
      if (parse_u32_flag(c, "max-changes", optarg, 1, 1000, max_changes)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  return -1;
}

static int run_rematch(cli *c, const command *command, int argc, char **argv) {
  Leerplek__V1__RunRematchRequest body = LEERPLEK__V1__RUN_REMATCH_REQUEST__INIT;
  int rc = run_flags(c, command, argc, argv, &body.dry_run, &body.max_changes);
  return rc >= 0 ? rc : call_and_print(c, LEERPLEK__V1__REQUEST__BODY_RUN_REMATCH, &body.base);
}

/* ------------------------------------------------------------------------------------------ */
/* admin                                                                                       */

static int run_create_token(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"role", required_argument, NULL, 'r'},
                                          {"scope", required_argument, NULL, 's'},
                                          {"label", required_argument, NULL, 'l'},
                                          {"expires", required_argument, NULL, 'e'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__CreateTokenRequest body = LEERPLEK__V1__CREATE_TOKEN_REQUEST__INIT;
  int option, role = 0;
  char why[200];
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'r') {
      if (parse_enum_flag(c, "role", &leerplek__v1__role__descriptor, optarg, &role)) return EXIT_USAGE;
    } else if (option == 's')
      body.scope_id = optarg;
    else if (option == 'l') {
      if (bounded_text(c, "label", optarg, 100)) return EXIT_USAGE;
      body.label = optarg;
    } else if (option == 'e') {
      if (lp_time_parse(optarg, &body.expires_unix_s, why, sizeof why)) return bad_value(c, "expires", why);
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (!role) return usage_error(c, _("--role is required (school, company, support, coordinator or admin)"));
  int scoped = role == LEERPLEK__V1__ROLE__ROLE_SCHOOL || role == LEERPLEK__V1__ROLE__ROLE_COMPANY ||
               role == LEERPLEK__V1__ROLE__ROLE_SUPPORT;
  if (scoped && !body.scope_id[0])
    return usage_error(c, _("--scope is required for school, company and support tokens"));
  if (!scoped && body.scope_id[0])
    return usage_error(c, _("--scope applies to school, company and support tokens only"));
  /* tokens-plan.txt (leerplek-gen --demo) names scopes as "school:VT001": accept that form
   * when the prefix matches --role, so the plan's lines can be pasted. */
  const char *colon = strchr(body.scope_id, ':');
  if (scoped && colon) {
    const char *wanted = role == LEERPLEK__V1__ROLE__ROLE_SCHOOL    ? "school"
                         : role == LEERPLEK__V1__ROLE__ROLE_COMPANY ? "company"
                                                                    : "support";
    if ((size_t)(colon - body.scope_id) != strlen(wanted) || strncmp(body.scope_id, wanted, strlen(wanted)) != 0)
      return usage_error(c, _("--scope \"%s\": a %s token's scope is an id or %s:<id>"), body.scope_id, wanted, wanted);
    body.scope_id = (char *)colon + 1;
  }
  body.role = (Leerplek__V1__Role)role;
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_CREATE_TOKEN, &body.base);
}

static int run_revoke_token(cli *c, const command *command, int argc, char **argv) {
  int rc = plain_arguments(c, command, argc, argv, 1, "the token id");
  if (rc) return rc == -2 ? EXIT_OK : rc;
  Leerplek__V1__RevokeTokenRequest body = LEERPLEK__V1__REVOKE_TOKEN_REQUEST__INIT;
  body.token_id = argv[optind];
  return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_REVOKE_TOKEN, &body.base);
}

static int run_list_tokens(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"role", required_argument, NULL, 'r'},
                                          {"scope", required_argument, NULL, 's'},
                                          {"all", no_argument, NULL, 'a'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ListTokensRequest body = LEERPLEK__V1__LIST_TOKENS_REQUEST__INIT;
  int option, role = 0;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'r') {
      if (parse_enum_flag(c, "role", &leerplek__v1__role__descriptor, optarg, &role)) return EXIT_USAGE;
    } else if (option == 's')
      body.scope_id = optarg;
    else if (option == 'a')
      body.include_revoked = 1;
    else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.role = (Leerplek__V1__Role)role;
  static const char *const columns[] = {N_("id"),      N_("role"),    N_("scope_id"), N_("label"),
                                        N_("created"), N_("expires"), N_("revoked")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_TOKENS, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

/* ------------------------------------------------------------------------------------------ */
/* The preparatory track: support organisations, referrals, dispatch, registration point      */

/* REF --component C [--school ID]: the referral a command acts on. Returns 0 after filling
 * `key`, or the exit code. `component` is the parsed --component value (0 = not given). */
static int referral_key(const cli *c, int argc, char **argv, const char *school, int component,
                        Leerplek__V1__ReferralKey *key) {
  if (argc - optind != 1) return usage_error(c, _("expected the pupil's reference"));
  if (!component)
    return usage_error(c, _("--component is required (fovorm, fowerk, foibal, bgltra, prjlew or altdel)"));
  key->school_id = (char *)school;
  key->pupil_ref = argv[optind];
  key->component = (Leerplek__V1__SupportComponent)component;
  return 0;
}

/* The commands on one referral: school accept-offer/withdraw-referral, support
 * accept/decline/start/end. `extra` is the request's body case; the side follows the token
 * (the daemon derives it), so a coordinator uses --side. */
static int run_referral_command(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"school", required_argument, NULL, 's'},
                                          {"component", required_argument, NULL, 'c'},
                                          {"reason", required_argument, NULL, 'r'},
                                          {"outcome", required_argument, NULL, 'o'},
                                          {"note", required_argument, NULL, 'n'},
                                          {"side", required_argument, NULL, 'S'},
                                          {0, 0, 0, 0}};
  int body_case = command->extra;
  int takes_reason = body_case == LEERPLEK__V1__REQUEST__BODY_WITHDRAW_REFERRAL ||
                     body_case == LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL;
  int takes_side = body_case == LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL ||
                   body_case == LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL;
  int is_end = body_case == LEERPLEK__V1__REQUEST__BODY_END_REFERRAL;
  const char *school = "", *text = "";
  int component = 0, outcome = 0, side = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 's')
      school = optarg;
    else if (option == 'c') {
      if (parse_enum_flag(c, "component", &leerplek__v1__support_component__descriptor, optarg, &component))
        return EXIT_USAGE;
    } else if (option == 'r' && takes_reason)
      text = optarg;
    else if (option == 'n' && is_end)
      text = optarg;
    else if (option == 'o' && is_end) {
      if (parse_enum_flag(c, "outcome", &leerplek__v1__readiness__descriptor, optarg, &outcome)) return EXIT_USAGE;
    } else if (option == 'S' && takes_side) {
      if (parse_enum_flag(c, "side", &leerplek__v1__referral_side__descriptor, optarg, &side)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  Leerplek__V1__ReferralKey key = LEERPLEK__V1__REFERRAL_KEY__INIT;
  int rc = referral_key(c, argc, argv, school, component, &key);
  if (rc) return rc;
  if (bounded_text(c, is_end ? "note" : "reason", text, 1000)) return EXIT_USAGE;
  if (is_end && !outcome) return usage_error(c, _("--outcome is required (not_ready, partly or ready)"));
  Leerplek__V1__AcceptReferralRequest accept = LEERPLEK__V1__ACCEPT_REFERRAL_REQUEST__INIT;
  Leerplek__V1__DeclineReferralRequest decline = LEERPLEK__V1__DECLINE_REFERRAL_REQUEST__INIT;
  Leerplek__V1__StartReferralRequest start = LEERPLEK__V1__START_REFERRAL_REQUEST__INIT;
  Leerplek__V1__EndReferralRequest end = LEERPLEK__V1__END_REFERRAL_REQUEST__INIT;
  Leerplek__V1__WithdrawReferralRequest withdraw = LEERPLEK__V1__WITHDRAW_REFERRAL_REQUEST__INIT;
  ProtobufCMessage *body = NULL;
  switch (body_case) {
  case LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL:
    accept.referral = &key, accept.side = (Leerplek__V1__ReferralSide)side, body = &accept.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL:
    decline.referral = &key, decline.side = (Leerplek__V1__ReferralSide)side, decline.reason = (char *)text;
    body = &decline.base;
    break;
  case LEERPLEK__V1__REQUEST__BODY_START_REFERRAL: start.referral = &key, body = &start.base; break;
  case LEERPLEK__V1__REQUEST__BODY_END_REFERRAL:
    end.referral = &key, end.outcome = (Leerplek__V1__Readiness)outcome, end.note = (char *)text;
    body = &end.base;
    break;
  default: withdraw.referral = &key, withdraw.reason = (char *)text, body = &withdraw.base; break;
  }
  return call_and_print(c, body_case, body);
}

static const char refer_usage[] =
    N_("REF --components C[,C...] --reason TEXT --urgency normal|high [--share-flags]\n"
       "       [--share-notes] [--school ID]\n"
       "Refers a registered pupil to the preparatory track, one waiting referral per component.\n"
       "  --components C   fovorm, fowerk, foibal, bgltra, prjlew, altdel (',' or ';'-separated)\n"
       "  --reason TEXT    why, in a few words (1..200 bytes; no names or health details)\n"
       "  --urgency U      normal or high\n"
       "  --share-flags    let the organisation holding a referral see the priority flags\n"
       "  --share-notes    let the organisation holding a referral see the school notes\n"
       "  --school ID      the pupil's school (coordinators; a school token uses its own)\n");

static int run_school_refer(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"components", required_argument, NULL, 'c'},
                                          {"reason", required_argument, NULL, 'r'},
                                          {"urgency", required_argument, NULL, 'u'},
                                          {"share-flags", no_argument, NULL, 'F'},
                                          {"share-notes", no_argument, NULL, 'N'},
                                          {"school", required_argument, NULL, 's'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ReferPupilRequest body = LEERPLEK__V1__REFER_PUPIL_REQUEST__INIT;
  Leerplek__V1__SupportComponent components[6];
  const char *components_text = NULL;
  int urgency = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'c')
      components_text = optarg;
    else if (option == 'r')
      body.reason = optarg;
    else if (option == 'u') {
      if (parse_enum_flag(c, "urgency", &leerplek__v1__urgency__descriptor, optarg, &urgency)) return EXIT_USAGE;
    } else if (option == 'F')
      body.share_priority_flags = 1;
    else if (option == 'N')
      body.share_school_notes = 1;
    else if (option == 's')
      body.school_id = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (argc - optind != 1) return usage_error(c, _("expected the pupil's reference"));
  if (!components_text) return usage_error(c, _("--components is required"));
  if (!body.reason[0]) return usage_error(c, _("--reason is required"));
  if (bounded_text(c, "reason", body.reason, 200)) return EXIT_USAGE;
  if (!urgency) return usage_error(c, _("--urgency is required (normal or high)"));
  /* The list form of the CSV files (';'), and ',' as people type it on a command line. */
  char list[200];
  if (strlen(components_text) >= sizeof list) return usage_error(c, _("--components: too long"));
  snprintf(list, sizeof list, "%s", components_text);
  for (char *p = list; *p; p++)
    if (*p == ',') *p = ';';
  char **items = NULL, why[300];
  size_t n_items = 0;
  if (lp_list_parse(list, 6, &items, &n_items, why, sizeof why) != 0) return bad_value(c, "components", why);
  int rc = n_items ? 0 : usage_error(c, _("--components is required"));
  for (size_t i = 0; i < n_items; i++) {
    int value = 0;
    if (!rc && parse_enum_flag(c, "components", &leerplek__v1__support_component__descriptor, items[i], &value))
      rc = EXIT_USAGE;
    components[i] = (Leerplek__V1__SupportComponent)value;
    free(items[i]);
  }
  free(items);
  if (rc) return rc;
  body.pupil_ref = argv[optind];
  body.components = components;
  body.n_components = n_items;
  body.urgency = (Leerplek__V1__Urgency)urgency;
  static const char *const columns[] = {N_("school_id"), N_("pupil_ref"), N_("component"), N_("training_code"),
                                        N_("urgency"),   N_("state"),     N_("requested")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_REFER_PUPIL, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

/* school referrals: the school's referrals (a coordinator's: any school's). */
static int run_referral_list(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"school", required_argument, NULL, 's'},
                                          {"state", required_argument, NULL, 'S'},
                                          {"organisation", required_argument, NULL, 'o'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ListReferralsRequest body = LEERPLEK__V1__LIST_REFERRALS_REQUEST__INIT;
  int state = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 's')
      body.school_id = optarg;
    else if (option == 'o')
      body.organisation_id = optarg;
    else if (option == 'S') {
      if (parse_enum_flag(c, "state", &leerplek__v1__referral_state__descriptor, optarg, &state)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.state = (Leerplek__V1__ReferralState)state;
  static const char *const columns[] = {
      N_("school_id"), N_("pupil_ref"), N_("component"),       N_("training_code"),   N_("urgency"),
      N_("state"),     N_("offer_id"),  N_("organisation_id"), N_("school_accepted"), N_("support_accepted"),
      N_("outcome"),   N_("requested"), N_("started")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_REFERRALS, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

/* support organisation [ID]: one organisation with its sites, or without ID the ones the
 * token may see (a support token: its own). */
static int run_support_organisation(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION, {0, 0, 0, 0}};
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    return bad_option(c, options, option, argv);
  }
  if (argc - optind > 1) return usage_error(c, _("unexpected argument \"%s\""), argv[optind + 1]);
  if (argc - optind == 1) {
    Leerplek__V1__GetSupportOrganisationRequest body = LEERPLEK__V1__GET_SUPPORT_ORGANISATION_REQUEST__INIT;
    body.organisation_id = argv[optind];
    return call_and_print(c, LEERPLEK__V1__REQUEST__BODY_GET_SUPPORT_ORGANISATION, &body.base);
  }
  Leerplek__V1__ListSupportOrganisationsRequest body = LEERPLEK__V1__LIST_SUPPORT_ORGANISATIONS_REQUEST__INIT;
  static const char *const columns[] = {N_("id"), N_("name"), N_("revision"), N_("updated")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_ORGANISATIONS, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

static const char offer_usage[] =
    N_("--id ID --site SITE --component C --seats N --days DAYS --start YYYY-MM-DD\n"
       "       [--trainings CODES] [--organisation ORG]\n"
       "Creates or replaces an offer of the organisation.\n"
       "  --component C       fovorm, fowerk, foibal, bgltra, prjlew or altdel\n"
       "  --seats N           1..100 pupils at once\n"
       "  --days DAYS         mon,tue | A:mon,tue;B:wed | MT.....MT.....\n"
       "  --trainings CODES   the trainings it serves, ';'-separated; left out = open to all\n"
       "  --organisation ORG  the organisation (coordinators; a support token uses its own)\n");

static int run_support_offer(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"id", required_argument, NULL, 'i'},
                                          {"site", required_argument, NULL, 's'},
                                          {"component", required_argument, NULL, 'c'},
                                          {"seats", required_argument, NULL, 'n'},
                                          {"days", required_argument, NULL, 'd'},
                                          {"start", required_argument, NULL, 'S'},
                                          {"trainings", required_argument, NULL, 't'},
                                          {"organisation", required_argument, NULL, 'o'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__SupportOffer offer = LEERPLEK__V1__SUPPORT_OFFER__INIT;
  Leerplek__V1__Date start = LEERPLEK__V1__DATE__INIT;
  const char *trainings = "", *organisation = NULL;
  int component = 0, option, have_start = 0;
  char why[300];
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    switch (option) {
    case 'i': offer.id = optarg; break;
    case 's': offer.site_id = optarg; break;
    case 'o': organisation = optarg; break;
    case 't': trainings = optarg; break;
    case 'c':
      if (parse_enum_flag(c, "component", &leerplek__v1__support_component__descriptor, optarg, &component))
        return EXIT_USAGE;
      break;
    case 'n':
      if (parse_u32_flag(c, "seats", optarg, 1, 100, &offer.seats)) return EXIT_USAGE;
      break;
    case 'd':
      if (lp_days_parse(optarg, &offer.day_mask, why, sizeof why)) return bad_value(c, "days", why);
      break;
    case 'S':
      if (lp_date_parse(optarg, &start.year, &start.month, &start.day, why, sizeof why))
        return bad_value(c, "start", why);
      have_start = 1;
      break;
    default: return bad_option(c, options, option, argv);
    }
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  static const char *const required[] = {"id", "site", "component", "seats", "days", "start"};
  int given[] = {offer.id[0] != 0, offer.site_id[0] != 0, component != 0,
                 offer.seats != 0, offer.day_mask != 0,   have_start};
  for (size_t i = 0; i < sizeof given / sizeof given[0]; i++)
    if (!given[i]) return usage_error(c, _("--%s is required"), required[i]);
  char **codes = NULL;
  size_t n_codes = 0;
  if (lp_list_parse(trainings, 100, &codes, &n_codes, why, sizeof why) != 0) return bad_value(c, "trainings", why);
  int rc = 0;
  Leerplek__V1__Response *hello_response = NULL;
  /* A support token's offers are its organisation's. */
  if (!organisation)
    rc = token_scope(c, LEERPLEK__V1__ROLE__ROLE_SUPPORT, "organisation", &hello_response, &organisation);
  if (!rc) {
    offer.organisation_id = (char *)organisation;
    offer.component = (Leerplek__V1__SupportComponent)component;
    offer.training_codes = codes;
    offer.n_training_codes = n_codes;
    offer.start_date = &start;
    Leerplek__V1__UpsertSupportOfferRequest body = LEERPLEK__V1__UPSERT_SUPPORT_OFFER_REQUEST__INIT;
    body.offer = &offer;
    rc = call_and_print(c, LEERPLEK__V1__REQUEST__BODY_UPSERT_SUPPORT_OFFER, &body.base);
  }
  leerplek_response_free(hello_response);
  for (size_t i = 0; i < n_codes; i++) free(codes[i]);
  free(codes);
  return rc;
}

static int run_support_offers(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"organisation", required_argument, NULL, 'o'},
                                          {"component", required_argument, NULL, 'c'},
                                          {"training", required_argument, NULL, 't'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ListSupportOffersRequest body = LEERPLEK__V1__LIST_SUPPORT_OFFERS_REQUEST__INIT;
  int component = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'o')
      body.organisation_id = optarg;
    else if (option == 't')
      body.training_code = optarg;
    else if (option == 'c') {
      if (parse_enum_flag(c, "component", &leerplek__v1__support_component__descriptor, optarg, &component))
        return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.component = (Leerplek__V1__SupportComponent)component;
  static const char *const columns[] = {N_("id"),        N_("organisation_id"), N_("site_id"),
                                        N_("component"), N_("training_codes"),  N_("seats"),
                                        N_("days"),      N_("start_date")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_OFFERS, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

/* support referrals: the referrals the organisation's offers hold, in its restricted view. */
static int run_support_referrals(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"organisation", required_argument, NULL, 'o'},
                                          {"state", required_argument, NULL, 'S'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__ListSupportReferralsRequest body = LEERPLEK__V1__LIST_SUPPORT_REFERRALS_REQUEST__INIT;
  int state = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'o')
      body.organisation_id = optarg;
    else if (option == 'S') {
      if (parse_enum_flag(c, "state", &leerplek__v1__referral_state__descriptor, optarg, &state)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.state = (Leerplek__V1__ReferralState)state;
  static const char *const columns[] = {
      N_("school_id"), N_("pupil_ref"),       N_("component"),        N_("training_code"), N_("readiness"),
      N_("days"),      N_("distance_band"),   N_("reason"),           N_("urgency"),       N_("state"),
      N_("offer_id"),  N_("school_accepted"), N_("support_accepted"), N_("started")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_LIST_SUPPORT_REFERRALS, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

static int run_dispatch(cli *c, const command *command, int argc, char **argv) {
  Leerplek__V1__RunDispatchRequest body = LEERPLEK__V1__RUN_DISPATCH_REQUEST__INIT;
  int rc = run_flags(c, command, argc, argv, &body.dry_run, &body.max_changes);
  return rc >= 0 ? rc : call_and_print(c, LEERPLEK__V1__REQUEST__BODY_RUN_DISPATCH, &body.base);
}

/* coordinator referrals: the partners' shared waiting list. */
static int run_referral_waiting(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION, {"component", required_argument, NULL, 'c'}, {0, 0, 0, 0}};
  Leerplek__V1__GetReferralWaitingListRequest body = LEERPLEK__V1__GET_REFERRAL_WAITING_LIST_REQUEST__INIT;
  int component = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'c') {
      if (parse_enum_flag(c, "component", &leerplek__v1__support_component__descriptor, optarg, &component))
        return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  body.component = (Leerplek__V1__SupportComponent)component;
  static const char *const columns[] = {N_("position"),       N_("school_id"), N_("pupil_ref"), N_("component"),
                                        N_("training_code"),  N_("state"),     N_("urgency"),   N_("days_waiting"),
                                        N_("priority_score"), N_("wait")};
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_GET_REFERRAL_WAITING_LIST, &body.base, columns,
                        sizeof columns / sizeof columns[0]);
}

static const char requests_usage[] =
    N_("[--by requests|partner|school] [--overdue] [--deadline-days N]\n"
       "The central registration point: every request of a school to a partner.\n"
       "  --by V            requests (default): each request with its state, holder and ages;\n"
       "                    partner or school: count, started, median and 90th percentile of the\n"
       "                    days to start and the overdue ones, with the total last\n"
       "  --overdue         only requests not started within the deadline\n"
       "  --deadline-days N days after which a request not started is overdue (default 30)\n");

static int run_registration_point(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"by", required_argument, NULL, 'b'},
                                          {"overdue", no_argument, NULL, 'o'},
                                          {"deadline-days", required_argument, NULL, 'd'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__GetRegistrationPointRequest body = LEERPLEK__V1__GET_REGISTRATION_POINT_REQUEST__INIT;
  int by = 0, overdue = 0, option; /* by: 0 requests, 1 partner, 2 school */
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'o')
      overdue = 1;
    else if (option == 'd') {
      if (parse_u32_flag(c, "deadline-days", optarg, 1, 3650, &body.deadline_days)) return EXIT_USAGE;
    } else if (option == 'b') {
      if (strcmp(optarg, "requests") == 0)
        by = 0;
      else if (strcmp(optarg, "partner") == 0)
        by = 1;
      else if (strcmp(optarg, "school") == 0)
        by = 2;
      else
        return usage_error(c, _("--by: \"%s\" is not requests, partner or school"), optarg);
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (overdue && by) return usage_error(c, _("--overdue applies to --by requests only"));
  Leerplek__V1__Response *response;
  int rc = call(c, LEERPLEK__V1__REQUEST__BODY_GET_REGISTRATION_POINT, &body.base, &response);
  if (rc) return rc;
  json_t *point = lp_message_to_json(&response->get_registration_point->base);
  json_t *items = json_array();
  if (by == 0) {
    size_t i;
    json_t *request;
    json_array_foreach(json_object_get(point, "requests"), i,
                       request) if (!overdue || json_is_true(json_object_get(request, "over_deadline")))
        json_array_append(items, request);
    static const char *const columns[] = {N_("school_id"), N_("pupil_ref"),     N_("component"),
                                          N_("state"),     N_("holder"),        N_("days_since_request"),
                                          N_("started"),   N_("days_to_start"), N_("over_deadline")};
    lp_print_list(stdout, c->format, columns, sizeof columns / sizeof columns[0], items);
  } else {
    json_array_extend(items, json_object_get(point, by == 1 ? "by_partner" : "by_school"));
    /* The total as the last row, its key empty as in the proto. */
    json_array_append(items, json_object_get(point, "total"));
    static const char *const columns[] = {
        N_("key"),          N_("requests"), N_("started"), N_("median_days_to_start"), N_("p90_days_to_start"),
        N_("over_deadline")};
    lp_print_list(stdout, c->format, columns, sizeof columns / sizeof columns[0], items);
  }
  json_decref(items);
  json_decref(point);
  leerplek_response_free(response);
  return EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* History and the notification feed                                                           */

static const char history_usage[] =
    N_("--pupil [SCHOOL/]REF | --school ID | --vacancy ID | --company ID\n"
       "What happened to one subject, oldest first: the call, who, the pupil, vacancy and company,\n"
       "the side, the state before and after, the reason. A school reads its pupils and itself\n"
       "(without a subject: its own history), a company its vacancies and itself, a coordinator\n"
       "everything.\n"
       "  --pupil [SCHOOL/]REF  a pupil (a school token may leave out its own school)\n"
       "  --school ID           every event of a school's pupils\n"
       "  --vacancy ID          a vacancy's events (proposals, answers, seats)\n"
       "  --company ID          a company's events (its record and its vacancies)\n");

/* The columns of an event, in history and watch alike. */
static const char *const event_columns[] = {
    N_("time"),      N_("call"),       N_("actor_role"), N_("actor_scope_id"),     N_("school_id"),
    N_("pupil_ref"), N_("vacancy_id"), N_("company_id"), N_("proposal_id"),        N_("offer_id"),
    N_("side"),      N_("old_state"),  N_("new_state"),  N_("old_referral_state"), N_("new_referral_state"),
    N_("reason"),    N_("id")};
#define EVENT_COLUMNS (sizeof event_columns / sizeof event_columns[0])

static int run_history(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {HELP_OPTION,
                                          {"pupil", required_argument, NULL, 'p'},
                                          {"school", required_argument, NULL, 's'},
                                          {"vacancy", required_argument, NULL, 'v'},
                                          {"company", required_argument, NULL, 'c'},
                                          {0, 0, 0, 0}};
  Leerplek__V1__GetHistoryRequest body = LEERPLEK__V1__GET_HISTORY_REQUEST__INIT;
  char school[64] = "";
  int subjects = 0, option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    subjects++;
    if (option == 'p') {
      const char *slash = strchr(optarg, '/');
      if (slash) {
        if ((size_t)(slash - optarg) >= sizeof school) return usage_error(c, _("--pupil: the school id is too long"));
        snprintf(school, sizeof school, "%.*s", (int)(slash - optarg), optarg);
        body.school_id = school;
        body.pupil_ref = (char *)slash + 1;
      } else {
        body.pupil_ref = optarg;
      }
      if (!body.pupil_ref[0]) return usage_error(c, _("--pupil: give SCHOOL/REF or REF"));
    } else if (option == 's')
      body.school_id = optarg;
    else if (option == 'v')
      body.vacancy_id = optarg;
    else if (option == 'c')
      body.company_id = optarg;
    else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (subjects > 1) return usage_error(c, _("name one subject: --pupil, --school, --vacancy or --company"));
  if (subjects == 0 && strcmp(command->group, "school") != 0)
    return usage_error(c, _("name a subject: --pupil, --school, --vacancy or --company"));
  return list_and_print(c, LEERPLEK__V1__REQUEST__BODY_GET_HISTORY, &body.base, event_columns, EVENT_COLUMNS);
}

static const char watch_usage[] =
    N_("[--after ID] [--count N]\n"
       "Prints the events in the token's scope as they happen, one line each (--json: one JSON\n"
       "object per line), and reconnects on its own after a lost connection without missing or\n"
       "repeating an event. Stop it with Ctrl-C.\n"
       "  --after ID   start after this event id (a line's last column); default: from now;\n"
       "               0-0: every event still kept\n"
       "  --count N    stop after N events\n");

/* One event as one line: the table's cells separated by two spaces, empty ones left out. */
static void print_event_line(const cli *c, const Leerplek__V1__Event *event) {
  json_t *object = lp_message_to_json(&event->base);
  if (c->format == LP_FORMAT_JSON) {
    char *text = json_dumps(object, JSON_COMPACT | JSON_SORT_KEYS);
    if (text) printf("%s\n", text);
    free(text);
  } else {
    const char *separator = "";
    for (size_t i = 0; i < EVENT_COLUMNS; i++) {
      char *cell = lp_cell_text(lp_json_path(object, event_columns[i]));
      if (cell && cell[0] && strcmp(cell, "0") != 0 && strcmp(cell, "unspecified") != 0) {
        printf("%s%s=%s", separator, _(event_columns[i]), cell);
        separator = "  ";
      }
      free(cell);
    }
    printf("\n");
  }
  fflush(stdout);
  json_decref(object);
}

/* Sends watch after `after` on a new connection; 0 with the connection in c->client, else the
 * exit code (EXIT_CONNECTION when it may be retried). */
static int start_watch(cli *c, const char *after) {
  leerplek_close(c->client);
  c->client = NULL;
  int rc = ensure_connected(c);
  if (rc) return rc;
  Leerplek__V1__WatchRequest body = LEERPLEK__V1__WATCH_REQUEST__INIT;
  body.after_event_id = (char *)after;
  Leerplek__V1__Response *ack;
  rc = call(c, LEERPLEK__V1__REQUEST__BODY_WATCH, &body.base, &ack);
  if (rc) return rc;
  leerplek_response_free(ack);
  return 0;
}

static int run_watch(cli *c, const command *command, int argc, char **argv) {
  static const struct option options[] = {
      HELP_OPTION, {"after", required_argument, NULL, 'a'}, {"count", required_argument, NULL, 'n'}, {0, 0, 0, 0}};
  char last[48] = "";
  uint32_t count = 0;
  int option;
  while ((option = next_option(command, argc, argv, "h", options)) != -1) {
    if (option == -2) return EXIT_OK;
    if (option == 'a') {
      if (strlen(optarg) >= sizeof last || strspn(optarg, "0123456789-") != strlen(optarg) || !strchr(optarg, '-'))
        return usage_error(c, _("--after: \"%s\" is not an event id (digits-digits)"), optarg);
      snprintf(last, sizeof last, "%s", optarg);
    } else if (option == 'n') {
      if (parse_u32_flag(c, "count", optarg, 1, UINT32_MAX, &count)) return EXIT_USAGE;
    } else
      return bad_option(c, options, option, argv);
  }
  if (optind != argc) return usage_error(c, _("unexpected argument \"%s\""), argv[optind]);
  if (c->format == LP_FORMAT_CSV) return usage_error(c, _("watch prints lines or --json, not --csv"));
  int rc = start_watch(c, last);
  if (rc) return rc;
  for (uint32_t shown = 0; count == 0 || shown < count;) {
    Leerplek__V1__Response *push = NULL;
    if (leerplek_receive(c->client, &push) != 0) {
      /* Lost: resume after the last event printed, so none is missed or printed twice. */
      fprintf(stderr, _("%s: connection lost (%s); reconnecting\n"), c->command_name, leerplek_error(c->client));
      do {
        sleep(1);
        rc = start_watch(c, last);
      } while (rc == EXIT_CONNECTION);
      if (rc) return rc;
      continue;
    }
    if (status_code(push) != 0 || push->body_case != LEERPLEK__V1__RESPONSE__BODY_WATCH || !push->watch->event) {
      char why[1200];
      describe_status(push, why, sizeof why);
      fprintf(stderr, _("%s: refused: %s\n"), c->command_name, why);
      leerplek_response_free(push);
      return EXIT_REFUSED;
    }
    print_event_line(c, push->watch->event);
    snprintf(last, sizeof last, "%s", push->watch->event->id);
    leerplek_response_free(push);
    shown++;
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The command table and main                                                                  */

#define PUPIL_USAGE                                                                                                    \
  N_("REF [--school ID]\n  --school ID   the pupil's school (coordinators; a school token uses its own)\n")
#define WITHDRAW_USAGE                                                                                                 \
  N_("REF [--school ID] [--reason TEXT]\n  --school ID   the pupil's school (coordinators; a school token uses its "   \
     "own)\n")
#define REFERRAL_USAGE                                                                                                 \
  N_("REF --component C [--school ID]\n  --component C   fovorm, fowerk, foibal, bgltra, prjlew or altdel\n  "         \
     "--school ID     the pupil's school (coordinators; a school token uses its own)\n")
#define ANSWER_USAGE N_("PROPOSAL_ID\n")
#define DECLINE_USAGE N_("PROPOSAL_ID [--reason TEXT]\n  --reason TEXT   why (shown to the school and coordinators)\n")
#define AGREEMENT_USAGE                                                                                                \
  N_("PROPOSAL_ID --ref AGREEMENT_REF --signed YYYY-MM-DD --starts YYYY-MM-DD [--ends YYYY-MM-DD]\n"                   \
     "  --ends DATE   the agreement's last day (after --starts); the seat is freed the day after\n")
#define END_AGREEMENT_USAGE                                                                                            \
  N_("PROPOSAL_ID --reason TEXT [--ended YYYY-MM-DD]\n"                                                                \
     "  --reason TEXT   why it ends (shown to the school, the company and coordinators)\n"                             \
     "  --ended DATE    its last day, today or earlier (default today)\n")

static const command commands[] = {
    {"school", "register", N_("Register a pupil (pseudonymous reference, no names)"), register_usage,
     run_school_register, 0},
    {"school", "request", N_("Put a registered pupil on the waiting list"), PUPIL_USAGE, run_pupil_command,
     LEERPLEK__V1__REQUEST__BODY_REQUEST_PLACEMENT},
    {"school", "status", N_("Show a pupil's placement: state, offer, why unplaced"), PUPIL_USAGE, run_pupil_command,
     LEERPLEK__V1__REQUEST__BODY_GET_PLACEMENT},
    {"school", "pupil", N_("Show a pupil's record"), PUPIL_USAGE, run_pupil_command,
     LEERPLEK__V1__REQUEST__BODY_GET_PUPIL},
    {"school", "withdraw", N_("End a pupil's placement request"), WITHDRAW_USAGE, run_pupil_command,
     LEERPLEK__V1__REQUEST__BODY_WITHDRAW_PLACEMENT},
    {"school", "erase", N_("Erase a pupil and everything about it (GDPR)"), PUPIL_USAGE, run_pupil_command,
     LEERPLEK__V1__REQUEST__BODY_ERASE_PUPIL},
    {"school", "accept", N_("Accept a proposal for one of the school's pupils"), ANSWER_USAGE, run_proposal_answer,
     LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL},
    {"school", "decline", N_("Decline a proposal (the company is then excluded for the pupil)"), DECLINE_USAGE,
     run_proposal_answer, LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL},
    {"school", "agreement", N_("Record the signed training agreement (OAO) of an accepted proposal"), AGREEMENT_USAGE,
     run_agreement, 0},
    {"school", "end-agreement", N_("End a pupil's running agreement (its seat is freed)"), END_AGREEMENT_USAGE,
     run_end_agreement, 0},
    {"school", "update", N_("Change a pupil's record (the fields given)"), update_pupil_usage, run_update_pupil, 0},
    {"school", "pupils", N_("List the school's pupils"), N_("[--owner SCHOOL_ID]\n"), run_coordinator_list,
     CLI_ENTITY_PUPILS},
    {"school", "placements", N_("List the school's placements"),
     N_("[--state S] [--training CODE] [--school ID]\n  --state S   waiting, proposed, accepted, agreement, declined, "
        "withdrawn or ended\n"),
     run_placement_list, LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS},
    {"school", "waiting", N_("The school's pupils on the shared waiting list, with positions"),
     N_("[--training CODE] [--district D]\n"), run_placement_list, LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST},
    {"school", "refer", N_("Refer a pupil to the preparatory track for one or more components"), refer_usage,
     run_school_refer, 0},
    {"school", "referrals", N_("List the school's referrals"),
     N_("[--state S] [--school ID]\n  --state S   waiting, offered, started, ended, declined or withdrawn\n"),
     run_referral_list, 0},
    {"school", "accept-offer", N_("Accept the seat a support offer holds for a referral"), REFERRAL_USAGE,
     run_referral_command, LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL},
    {"school", "history", N_("What happened to a pupil, or to all the school's pupils"), history_usage, run_history, 0},
    {"school", "withdraw-referral", N_("Withdraw a referral (a held seat is freed)"),
     N_("REF --component C [--school ID] [--reason TEXT]\n"), run_referral_command,
     LEERPLEK__V1__REQUEST__BODY_WITHDRAW_REFERRAL},

    {"company", "publish", N_("Publish a vacancy"), publish_usage, run_company_publish, 0},
    {"company", "vacancies", N_("List the company's vacancies"),
     N_("[--location LOC] [--training CODE] [--state open|closed]\n"), run_company_vacancies, 0},
    {"company", "close", N_("Close a vacancy (open proposals to it are released)"), N_("VACANCY_ID\n"),
     run_company_close, 0},
    {"company", "update-vacancy", N_("Change a vacancy (the fields given)"), update_vacancy_usage, run_update_vacancy,
     0},
    {"company", "reopen", N_("Reopen a closed vacancy"), N_("VACANCY_ID\n"), run_update_vacancy, 1},
    {"company", "locations", N_("List the company's locations"), N_("[--owner COMPANY_ID] [--output FILE]\n"),
     run_coordinator_list, CLI_ENTITY_LOCATIONS},
    {"company", "location", N_("Create or replace a location"), location_usage, run_location, 0},
    {"company", "update-location", N_("Change a location (the fields given)"), update_location_usage, run_location, 1},
    {"company", "proposals",
     N_("Proposals to the company's vacancies (pupil reference, readiness, days, distance band)"),
     N_("[--vacancy ID] [--state S]\n"), run_placement_list, LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS},
    {"company", "history", N_("What happened to a vacancy or to the company"), history_usage, run_history, 0},
    {"company", "accept", N_("Accept a proposal"), ANSWER_USAGE, run_proposal_answer,
     LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL},
    {"company", "decline", N_("Decline a proposal (the pupil waits again)"), DECLINE_USAGE, run_proposal_answer,
     LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL},
    {"company", "agreement", N_("Record the signed training agreement (OAO) of an accepted proposal"), AGREEMENT_USAGE,
     run_agreement, 0},
    {"company", "end-agreement", N_("End a running agreement at one of the company's vacancies (its seat is freed)"),
     END_AGREEMENT_USAGE, run_end_agreement, 0},

    {"coordinator", "trainings", N_("List trainings"), N_("[--output FILE]\n"), run_coordinator_list,
     CLI_ENTITY_TRAININGS},
    {"coordinator", "companies", N_("List companies with their recognitions"), N_("[--output FILE]\n"),
     run_coordinator_list, CLI_ENTITY_COMPANIES},
    {"coordinator", "locations", N_("List locations"), N_("[--owner COMPANY_ID] [--output FILE]\n"),
     run_coordinator_list, CLI_ENTITY_LOCATIONS},
    {"coordinator", "vacancies", N_("List vacancies with seats held"),
     N_("[--company ID] [--location LOC] [--training CODE] [--state open|closed]\n"), run_company_vacancies, 0},
    {"coordinator", "pupils", N_("List pupils"), N_("[--owner SCHOOL_ID] [--output FILE]\n"), run_coordinator_list,
     CLI_ENTITY_PUPILS},
    {"coordinator", "placements", N_("List placements"),
     N_("[--school ID] [--state S] [--training CODE] [--vacancy ID] [--delimiter C] [--decimal-comma]\n"
        "  --csv, --json   every page, with the offer, both acceptances, the agreement and the hint\n"),
     run_placement_list, LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS},
    {"coordinator", "agreements", N_("List the recorded training agreements (OAO)"),
     N_("[--school ID] [--training CODE] [--vacancy ID] [--delimiter C] [--decimal-comma]\n"), run_placement_list,
     LEERPLEK__V1__REQUEST__BODY_LIST_PLACEMENTS},
    {"coordinator", "agreement", N_("Record the signed training agreement (OAO) of an accepted proposal"),
     AGREEMENT_USAGE, run_agreement, 0},
    {"coordinator", "proposals", N_("List proposals in the company view"),
     N_("[--company ID] [--vacancy ID] [--state S]\n"), run_placement_list, LEERPLEK__V1__REQUEST__BODY_LIST_PROPOSALS},
    {"coordinator", "waiting", N_("The shared waiting list in priority order"),
     N_("[--training CODE] [--district D] [--school ID] [--delimiter C] [--decimal-comma]\n"
        "  --csv, --json   every page, with the reason, the help text and every hint field\n"),
     run_placement_list, LEERPLEK__V1__REQUEST__BODY_GET_WAITING_LIST},
    {"coordinator", "report", N_("The coordinators' report (headline, per training, per district, shortages)"),
     report_usage, run_report, 0},
    {"coordinator", "rematch", N_("Run a rematch now (--dry-run: show what would change)"),
     N_("[--dry-run] [--max-changes N]\n"), run_rematch, 0},
    {"coordinator", "dispatch",
     N_("Dispatch the waiting referrals to the support offers (--dry-run: show what would change)"),
     N_("[--dry-run] [--max-changes N]\n"), run_dispatch, 0},
    {"coordinator", "referrals", N_("The partners' shared waiting list of referrals, in priority order"),
     N_("[--component C]\n"), run_referral_waiting, 0},
    {"coordinator", "requests", N_("The central registration point: every request, times to start, overdue ones"),
     requests_usage, run_registration_point, 0},
    {"coordinator", "history", N_("What happened to a pupil, a school, a vacancy or a company"), history_usage,
     run_history, 0},
    {"coordinator", "accept", N_("Accept a proposal for one side"),
     N_("PROPOSAL_ID --side school|company\n"
        "  --side S        school or company: the side the coordinator acts for (required)\n"),
     run_proposal_answer, LEERPLEK__V1__REQUEST__BODY_ACCEPT_PROPOSAL},
    {"coordinator", "decline", N_("Decline a proposal for one side"),
     N_("PROPOSAL_ID --side school|company [--reason TEXT]\n"
        "  --side S        school or company: the side the coordinator acts for (required)\n"),
     run_proposal_answer, LEERPLEK__V1__REQUEST__BODY_DECLINE_PROPOSAL},
    {"coordinator", "end-agreement", N_("End a running agreement (its seat is freed)"), END_AGREEMENT_USAGE,
     run_end_agreement, 0},
    {"coordinator", "close-year", N_("Close a school year: archive ended agreements and withdrawn requests"),
     N_("--date YYYY-MM-DD [--dry-run]\n"
        "  --date DATE   the school year's last day (e.g. 2026-08-31), today or earlier\n"
        "  --dry-run     only count what would be archived\n"),
     run_close_year, 0},
    {"coordinator", "place", N_("Propose a pupil to a vacancy by hand (checked by the rules)"),
     N_("SCHOOL/REF VACANCY [--override REASON] [--no-pin]\n"
        "  --override REASON  place the pupil although a rule refuses it, for this written reason\n"
        "  --no-pin           let the next rematch move it (default: pinned, the rematch keeps it)\n"),
     run_place, 0},
    {"coordinator", "pin", N_("Pin a PROPOSED placement: the rematch keeps it"), N_("SCHOOL/REF\n"), run_pin, 1},
    {"coordinator", "unpin", N_("Unpin a placement: the rematch may move it again"), N_("SCHOOL/REF\n"), run_pin, 0},

    {"support", "organisation", N_("Show the organisation and its sites (without ID: the ones the token may see)"),
     N_("[ID]\n"), run_support_organisation, 0},
    {"support", "offer", N_("Create or replace an offer"), offer_usage, run_support_offer, 0},
    {"support", "offers", N_("List the organisation's offers"),
     N_("[--organisation ORG] [--component C] [--training CODE]\n"), run_support_offers, 0},
    {"support", "referrals", N_("The referrals sent to the organisation's offers"),
     N_("[--organisation ORG] [--state S]\n  --organisation ORG  required for coordinators\n"), run_support_referrals,
     0},
    {"support", "accept", N_("Accept a referral offered to one of the organisation's offers"),
     N_("REF --component C [--school ID] [--side school|support]\n"), run_referral_command,
     LEERPLEK__V1__REQUEST__BODY_ACCEPT_REFERRAL},
    {"support", "decline", N_("Decline an offered referral (it waits again, this offer excluded)"),
     N_("REF --component C [--school ID] [--side school|support] [--reason TEXT]\n"), run_referral_command,
     LEERPLEK__V1__REQUEST__BODY_DECLINE_REFERRAL},
    {"support", "start", N_("Start the trajectory of a referral both sides accepted"), REFERRAL_USAGE,
     run_referral_command, LEERPLEK__V1__REQUEST__BODY_START_REFERRAL},
    {"support", "end",
     N_("End a trajectory with the pupil's readiness (partly or ready: back to the regular matching)"),
     N_("REF --component C --outcome R [--school ID] [--note TEXT]\n  --outcome R   not_ready, partly or ready\n"),
     run_referral_command, LEERPLEK__V1__REQUEST__BODY_END_REFERRAL},

    {"admin", "create-token", N_("Create a token (its secret is shown once)"),
     N_("--role R [--scope ID] [--label TEXT] [--expires TIME]\n"
        "  --role R        school, company, support, coordinator or admin\n"
        "  --scope ID      the school id (school), enterprise number (company) or organisation id (support)\n"
        "  --expires TIME  YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); default never\n"),
     run_create_token, 0},
    {"admin", "revoke-token", N_("Revoke a token by its public id"), N_("TOKEN_ID\n"), run_revoke_token, 0},
    {"admin", "tokens", N_("List tokens (never their secrets)"),
     N_("[--role R] [--scope ID] [--all]\n  --all   include revoked and expired tokens\n"), run_list_tokens, 0},

    {"import", "", N_("Import a CSV file"), import_usage, run_import, 0},
    {"export", "", N_("Export a list as CSV"), export_usage, run_export, 0},
    {"watch", "", N_("Print the events in the token's scope as they happen"), watch_usage, run_watch, 0},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct {
  const char *name;
  const char *summary;
} groups[] = {
    {"school", N_("register pupils, request placements, follow and answer proposals, refer pupils")},
    {"company", N_("publish, change, close and reopen vacancies, keep locations, answer proposals")},
    {"coordinator", N_("lists, waiting list, report, rematch, dispatch, registration point")},
    {"support", N_("the organisation's offers and the referrals sent to them")},
    {"admin", N_("create, list and revoke tokens")},
    {"import", N_("import <kind> FILE.csv: trainings, companies, locations, vacancies, pupils")},
    {"export", N_("export <kind>: the same lists as CSV")},
    {"watch", N_("watch [--after ID]: the events in the token's scope as they happen")},
};

static void print_main_help(FILE *out) {
  fprintf(out, _("Usage: leerplek [--address ADDR] [--token TOKEN] [--tls [--tls-ca FILE]] [--json|--csv] <group> "
                 "<command> ...\n"
                 "The command-line client of leerplekd, the dual-learning placement engine.\n\n"
                 "Groups:\n"));
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    fprintf(out, "  %-12s %s\n", groups[i].name, _(groups[i].summary));
  fprintf(out,
          _("\nGlobal options (anywhere on the line):\n"
            "  --address ADDR  host:port or unix:/path (default $LEERPLEK_ADDRESS, else %s)\n"
            "  --token TOKEN   bearer token (default $LEERPLEK_TOKEN; prefer the variable: command\n"
            "                  lines are visible to other users)\n"
            "  --tls           connect with TLS (default on when $LEERPLEK_TLS is 1); the daemon's\n"
            "                  certificate must name the address' host and chain to the CA file\n"
            "  --tls-ca FILE   PEM CA certificates to trust (default $LEERPLEK_TLS_CA, else the\n"
            "                  system's); implies --tls\n"
            "  --tls-cert FILE, --tls-key FILE  a client certificate and its key, for a daemon that\n"
            "                  asks for one; imply --tls\n"
            "  --tls-server-name NAME  the name the daemon's certificate must carry, when it is not\n"
            "                  the host of --address (e.g. a unix socket or an internal address)\n"
            "  --json, --csv   output for scripts instead of a table (--table forces a table)\n"
            "  --help          help on any level: leerplek school --help, leerplek school register --help\n"
            "\nExit codes: 0 ok, 1 refused by the daemon, 2 usage or input error, 3 connection failure.\n"),
          DEFAULT_ADDRESS);
}

static void print_group_help(const char *group, FILE *out) {
  fprintf(out, _("Usage: leerplek %s <command> [options]\n\nCommands:\n"), group);
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].group, group) == 0) fprintf(out, "  %-17s %s\n", commands[i].name, _(commands[i].summary));
  fprintf(out, _("\n'leerplek %s <command> --help' describes a command.\n"), group);
}

/* Takes the global options out of argv wherever they are, so "leerplek school status X --json"
 * works as well as "leerplek --json school status X". Returns 0 or the exit code. */
static int take_global_options(cli *c, int *argc, char **argv) {
  int kept = 1;
  for (int i = 1; i < *argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      while (i < *argc) argv[kept++] = argv[i++];
      break;
    }
    const char **target = NULL;
    const char *name = NULL;
    if (strncmp(arg, "--address", 9) == 0 && (arg[9] == '\0' || arg[9] == '='))
      target = &c->address, name = "address";
    else if (strncmp(arg, "--token", 7) == 0 && (arg[7] == '\0' || arg[7] == '='))
      target = &c->token, name = "token";
    else if (strncmp(arg, "--tls-ca", 8) == 0 && (arg[8] == '\0' || arg[8] == '='))
      target = &c->tls_ca, name = "tls-ca";
    else if (strncmp(arg, "--tls-cert", 10) == 0 && (arg[10] == '\0' || arg[10] == '='))
      target = &c->tls_cert, name = "tls-cert";
    else if (strncmp(arg, "--tls-key", 9) == 0 && (arg[9] == '\0' || arg[9] == '='))
      target = &c->tls_key, name = "tls-key";
    else if (strncmp(arg, "--tls-server-name", 17) == 0 && (arg[17] == '\0' || arg[17] == '='))
      target = &c->tls_server_name, name = "tls-server-name";
    if (strcmp(arg, "--tls") == 0) {
      c->tls = 1;
      continue;
    }
    if (target) {
      const char *value = strchr(arg, '=');
      if (value)
        value++;
      else if (i + 1 < *argc)
        value = argv[++i];
      else {
        fprintf(stderr, _("leerplek: --%s needs a value\nTry 'leerplek --help'.\n"), name);
        return EXIT_USAGE;
      }
      *target = value;
      continue;
    }
    lp_format format = LP_FORMAT_TABLE;
    int is_format = 1;
    if (strcmp(arg, "--json") == 0)
      format = LP_FORMAT_JSON;
    else if (strcmp(arg, "--csv") == 0)
      format = LP_FORMAT_CSV;
    else if (strcmp(arg, "--table") == 0)
      format = LP_FORMAT_TABLE; /* --table=NAME is report's own */
    else
      is_format = 0;
    if (is_format) {
      if (c->format_given && c->format != format) {
        fprintf(stderr, _("leerplek: choose one of --json, --csv and --table\n"));
        return EXIT_USAGE;
      }
      c->format = format;
      c->format_given = 1;
      continue;
    }
    argv[kept++] = argv[i];
  }
  argv[kept] = NULL;
  *argc = kept;
  return 0;
}

int main(int argc, char **argv) {
  cli c = {0};
  c.command_name = "leerplek";
  int dutch = lp_i18n_init_from_environment();
  int rc = take_global_options(&c, &argc, argv);
  if (rc) return rc;

  if (!c.address) c.address = getenv("LEERPLEK_ADDRESS");
  if (!c.address || !*c.address) c.address = DEFAULT_ADDRESS;
  if (!c.token) c.token = getenv("LEERPLEK_TOKEN");
  if (!c.tls_ca && getenv("LEERPLEK_TLS_CA") && *getenv("LEERPLEK_TLS_CA")) c.tls_ca = getenv("LEERPLEK_TLS_CA");
  const char *tls_variable = getenv("LEERPLEK_TLS");
  if (tls_variable && *tls_variable && strcmp(tls_variable, "0") != 0 && strcmp(tls_variable, "1") != 0) {
    fprintf(stderr, "leerplek: LEERPLEK_TLS must be 0 or 1, not \"%s\"\n", tls_variable);
    return EXIT_USAGE;
  }
  if ((tls_variable && strcmp(tls_variable, "1") == 0) || c.tls_ca || c.tls_cert || c.tls_key || c.tls_server_name)
    c.tls = 1;
  if (!c.tls_cert != !c.tls_key) {
    fprintf(stderr, "leerplek: --tls-cert and --tls-key go together\n");
    return EXIT_USAGE;
  }
  if (c.token && strlen(c.token) > 128) {
    fprintf(stderr, _("leerplek: the token is longer than 128 bytes\n"));
    return EXIT_USAGE;
  }
  if (argc < 2) {
    print_main_help(stderr);
    return EXIT_USAGE;
  }
  const char *group = argv[1];
  /* Day names follow the language in tables only: --json and --csv (and export, CSV unless
   * told otherwise) stay language-neutral. */
  int table = c.format_given ? c.format == LP_FORMAT_TABLE : strcmp(group, "export") != 0;
  if (dutch && table) lp_text_set_dutch_days(1);
  if (strcmp(group, "--help") == 0 || strcmp(group, "-h") == 0 || strcmp(group, "help") == 0) {
    print_main_help(stdout);
    return EXIT_OK;
  }
  size_t g = 0;
  while (g < sizeof groups / sizeof groups[0] && strcmp(groups[g].name, group) != 0) g++;
  if (g == sizeof groups / sizeof groups[0]) {
    fprintf(stderr, _("leerplek: unknown group \"%s\"\nTry 'leerplek --help'.\n"), group);
    return EXIT_USAGE;
  }
  char name_buffer[96];
  const command *found = NULL;
  int sub_argc;
  char **sub_argv;
  if (strcmp(group, "import") == 0 || strcmp(group, "export") == 0 || strcmp(group, "watch") == 0) {
    /* One-level groups: the group is the command. */
    for (size_t i = 0; i < N_COMMANDS; i++)
      if (strcmp(commands[i].group, group) == 0) found = &commands[i];
    snprintf(name_buffer, sizeof name_buffer, "leerplek %s", group);
    sub_argc = argc - 1;
    sub_argv = argv + 1;
  } else {
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
      print_group_help(group, argc < 3 ? stderr : stdout);
      return argc < 3 ? EXIT_USAGE : EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS && !found; i++)
      if (strcmp(commands[i].group, group) == 0 && strcmp(commands[i].name, argv[2]) == 0) found = &commands[i];
    if (!found) {
      fprintf(stderr, _("leerplek %s: unknown command \"%s\"\nTry 'leerplek %s --help'.\n"), group, argv[2], group);
      return EXIT_USAGE;
    }
    snprintf(name_buffer, sizeof name_buffer, "leerplek %s %s", group, found->name);
    sub_argc = argc - 2;
    sub_argv = argv + 2;
  }
  c.command_name = name_buffer;
  /* getopt's own messages ("unrecognized option") name the command. */
  sub_argv[0] = name_buffer;
  optind = 1;
  rc = found->run(&c, found, sub_argc, sub_argv);
  leerplek_close(c.client);
  if (fflush(stdout) != 0 && rc == EXIT_OK) rc = EXIT_USAGE;
  return rc;
}
