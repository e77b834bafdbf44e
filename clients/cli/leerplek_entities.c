/* leerplek_entities: CSV columns of trainings, companies, locations, vacancies, pupils, support
 * organisations, support offers and referrals, the
 * checked conversion of CSV rows into proto messages and of messages back into JSON objects
 * with the same columns. Checks that need no server (formats, ranges, lengths, enum names)
 * happen here so a coordinator sees every mistake of a file at once, with line and column,
 * before anything is sent; rules that need the store (existence, scope) stay with the daemon. */
#include "leerplek_entities.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "leerplek_i18n.h"
#include "leerplek_postcodes.h"
#include "leerplek_text.h"

/* Field length limits of the proto's CONVENTIONS (the daemon's defaults). */
#define MAX_ID 32
#define MAX_NAME 200
#define MAX_SHORT 100
#define MAX_TEXT 1000
#define MAX_RECOGNITIONS 100
#define MAX_PREFERENCES 10
#define MAX_EXCLUSIONS 100

enum { TRAINING_CODE, TRAINING_NAME, TRAINING_PROVIDERS };
static const lp_column training_columns[] = {
    {N_("code"), 1, N_("training code, 1-32 of A-Z 0-9 -, e.g. ELEKTRO-INST")},
    {N_("name"), 1, N_("human name, e.g. Elektrische installaties")},
    {N_("provider_types"), 0,
     N_("kinds of school offering it, separated by ';': full_time, buso, learning_working, syntra")},
};

enum { COMPANY_ID, COMPANY_NAME, COMPANY_RECOGNISED };
static const lp_column company_columns[] = {
    {N_("id"), 1, N_("enterprise number, 10 digits without dots, e.g. 0123456789")},
    {N_("name"), 1, N_("company name")},
    {N_("recognised_trainings"), 0, N_("training codes it is recognised for, separated by ';'")},
};

enum {
  LOCATION_ID,
  LOCATION_COMPANY,
  LOCATION_NAME,
  LOCATION_ADDRESS,
  LOCATION_LATITUDE,
  LOCATION_LONGITUDE,
  LOCATION_POSTCODE,
  LOCATION_DISTRICT
};
static const lp_column location_columns[] = {
    {N_("id"), 1, N_("location id (e.g. the establishment unit number)")},
    {N_("company_id"), 1, N_("owning company's enterprise number")},
    {N_("name"), 0, N_("location name")},
    {N_("address"), 0, N_("street address for people")},
    {N_("latitude"), 0, N_("decimal degrees WGS84, at most 6 decimals, e.g. 51.2172 (empty: the postcode's centre)")},
    {N_("longitude"), 0, N_("decimal degrees WGS84, at most 6 decimals, e.g. 4.4211 (empty: the postcode's centre)")},
    {N_("postcode"), 1, N_("Belgian postcode, 4 digits")},
    {N_("district"), 0, N_("district or municipality for the report")},
};

enum {
  VACANCY_ID,
  VACANCY_LOCATION,
  VACANCY_TRAINING,
  VACANCY_SEATS,
  VACANCY_READINESS,
  VACANCY_DAYS,
  VACANCY_KIND,
  VACANCY_START,
  VACANCY_MENTOR,
  VACANCY_STATE
};
static const lp_column vacancy_columns[] = {
    {N_("id"), 1, N_("vacancy id")},
    {N_("location_id"), 1, N_("the location it is at")},
    {N_("training_code"), 1, N_("the training it is for")},
    {N_("seats"), 1, N_("number of pupils, 1..100")},
    {N_("min_readiness"), 1, N_("not_ready, partly or ready")},
    {N_("days"), 1, N_("workdays over two weeks: mon,tue or A:mon,tue;B:wed or MT.....MT.....")},
    {N_("kind"), 1, N_("regular or preparatory")},
    {N_("start_date"), 1, N_("first possible start, YYYY-MM-DD")},
    {N_("mentor"), 0, N_("company mentor, name or function")},
    {N_("state"), 0, N_("open (default) or closed")},
};

enum {
  PUPIL_SCHOOL,
  PUPIL_REF,
  PUPIL_TRAINING,
  PUPIL_READINESS,
  PUPIL_LATITUDE,
  PUPIL_LONGITUDE,
  PUPIL_POSTCODE,
  PUPIL_DISTRICT,
  PUPIL_COMMUTE,
  PUPIL_DAYS,
  PUPIL_PREFERRED,
  PUPIL_EXCLUDED,
  PUPIL_OKAN,
  PUPIL_BUSO,
  PUPIL_WAITING_SINCE,
  PUPIL_NOTES,
  PUPIL_SCHOOL_TYPE,
  PUPIL_WANTED_START
};
static const lp_column pupil_columns[] = {
    {N_("school_id"), 0, N_("the school's id (empty: the school of a school token)")},
    {N_("ref"), 1, N_("the school's pseudonymous reference (never a name), 1-32 of A-Z a-z 0-9 . _ -")},
    {N_("training_code"), 1, N_("the training the pupil follows")},
    {N_("readiness"), 1, N_("not_ready, partly or ready")},
    {N_("latitude"), 0, N_("home, decimal degrees, rounded (empty: the home postcode's centre)")},
    {N_("longitude"), 0, N_("home, decimal degrees (empty: the home postcode's centre)")},
    {N_("home_postcode"), 1, N_("home postcode, 4 digits")},
    {N_("home_district"), 0, N_("home district for the report")},
    {N_("max_commute_km"), 1, N_("maximum commute in km, 0.1..200, at most 3 decimals")},
    {N_("days"), 1, N_("days free for the workplace, same forms as vacancies.days")},
    {N_("preferred_companies"), 0, N_("ranked company ids, most preferred first, separated by ';'")},
    {N_("excluded_companies"), 0, N_("company ids never to propose, separated by ';'")},
    {N_("newcomer_okan"), 0, N_("priority flag: true/false (yes/no, 1/0; empty = false)")},
    {N_("special_needs_buso"), 0, N_("priority flag: true/false")},
    {N_("waiting_since"), 0, N_("YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (coordinators only; empty = now)")},
    {N_("school_notes"), 0, N_("school notes, never shown to companies; no names or health details")},
    {N_("school_type"), 0, N_("the kind of school: full_time, buso, learning_working or syntra")},
    {N_("wanted_start_date"), 0, N_("the start the school wants, YYYY-MM-DD (empty: any start)")},
};

/* One row per site: a spreadsheet has no nested cells, and an organisation's name repeated on
 * each of its few sites is easy to keep right (the import checks it). */
enum {
  ORGANISATION_ID,
  ORGANISATION_NAME,
  ORGANISATION_SITE,
  ORGANISATION_SITE_NAME,
  ORGANISATION_LATITUDE,
  ORGANISATION_LONGITUDE,
  ORGANISATION_POSTCODE,
  ORGANISATION_DISTRICT
};
static const lp_column organisation_columns[] = {
    {N_("id"), 1, N_("organisation id; one row per site, the rows of an organisation together")},
    {N_("name"), 1, N_("organisation name, the same on each of its rows")},
    {N_("site_id"), 1, N_("site id, unique within the organisation")},
    {N_("site_name"), 0, N_("site name, e.g. Atelier Hoboken")},
    {N_("latitude"), 0, N_("decimal degrees WGS84, at most 6 decimals, e.g. 51.2172 (empty: the postcode's centre)")},
    {N_("longitude"), 0, N_("decimal degrees WGS84, at most 6 decimals, e.g. 4.4211 (empty: the postcode's centre)")},
    {N_("postcode"), 1, N_("Belgian postcode, 4 digits")},
    {N_("district"), 0, N_("district or municipality for the registration point's figures")},
};

enum {
  OFFER_ID,
  OFFER_ORGANISATION,
  OFFER_SITE,
  OFFER_COMPONENT,
  OFFER_TRAININGS,
  OFFER_SEATS,
  OFFER_DAYS,
  OFFER_START
};
static const lp_column offer_columns[] = {
    {N_("id"), 1, N_("offer id, unique over all organisations")},
    {N_("organisation_id"), 1, N_("the support organisation making the offer")},
    {N_("site_id"), 1, N_("the organisation's site where it takes place")},
    {N_("component"), 1, N_("fovorm, fowerk, foibal, bgltra, prjlew or altdel")},
    {N_("training_codes"), 0, N_("trainings it serves, separated by ';' (empty: open to every training)")},
    {N_("seats"), 1, N_("pupils at once, 1..100")},
    {N_("days"), 1, N_("days attended over two weeks, same forms as vacancies.days")},
    {N_("start_date"), 1, N_("first possible start, YYYY-MM-DD")},
};

/* One row per component: that is how the store keys referrals, so an export of referrals
 * imports back as itself. */
enum {
  REFERRAL_SCHOOL,
  REFERRAL_PUPIL,
  REFERRAL_COMPONENT,
  REFERRAL_REASON,
  REFERRAL_URGENCY,
  REFERRAL_SHARE_FLAGS,
  REFERRAL_SHARE_NOTES
};
static const lp_column referral_columns[] = {
    {N_("school_id"), 0, N_("the pupil's school (empty: the school of a school token)")},
    {N_("pupil_ref"), 1, N_("the school's reference for the pupil, registered before")},
    {N_("component"), 1, N_("fovorm, fowerk, foibal, bgltra, prjlew or altdel")},
    {N_("reason"), 1, N_("why, in a few words, 1..200 bytes; no names or health details")},
    {N_("urgency"), 1, N_("normal or high")},
    {N_("share_priority_flags"), 0, N_("let the organisation holding it see the priority flags: true/false")},
    {N_("share_school_notes"), 0, N_("let the organisation holding it see the school notes: true/false")},
};

#define COLUMNS(array) array, sizeof array / sizeof array[0]
const cli_entity cli_entities[CLI_ENTITY_COUNT] = {
    {CLI_ENTITY_TRAININGS, "trainings", COLUMNS(training_columns)},
    {CLI_ENTITY_COMPANIES, "companies", COLUMNS(company_columns)},
    {CLI_ENTITY_LOCATIONS, "locations", COLUMNS(location_columns)},
    {CLI_ENTITY_VACANCIES, "vacancies", COLUMNS(vacancy_columns)},
    {CLI_ENTITY_PUPILS, "pupils", COLUMNS(pupil_columns)},
    {CLI_ENTITY_ORGANISATIONS, "organisations", COLUMNS(organisation_columns)},
    {CLI_ENTITY_OFFERS, "offers", COLUMNS(offer_columns)},
    {CLI_ENTITY_REFERRALS, "referrals", COLUMNS(referral_columns)},
};

const cli_entity *cli_entity_find(const char *name) {
  static const char *const singular[CLI_ENTITY_COUNT] = {"training", "company",      "location", "vacancy",
                                                         "pupil",    "organisation", "offer",    "referral"};
  for (int i = 0; i < CLI_ENTITY_COUNT; i++)
    if (strcmp(name, cli_entities[i].name) == 0 || strcmp(name, singular[i]) == 0) return &cli_entities[i];
  return NULL;
}

void cli_entity_print_columns(const cli_entity *kind, FILE *out) {
  for (size_t i = 0; i < kind->n_columns; i++)
    fprintf(out, "  %-22s %s%s\n", kind->columns[i].name, kind->columns[i].required ? "" : _("(optional) "),
            _(kind->columns[i].doc));
}

void cli_entity_column_names(const cli_entity *kind, const char **names) {
  for (size_t i = 0; i < kind->n_columns; i++) names[i] = kind->columns[i].name;
}

/* ------------------------------------------------------------------------------------------ */
/* Rows to messages                                                                            */

typedef struct row_reader {
  const cli_entity *kind;
  const lp_csv_table *table;
  const lp_csv_row *row;
  const int *field_of_column; /* kind column -> field index in the row, -1 if not in header */
  lp_diags *diags;
  size_t problems;
} row_reader;

static const char *cell(const row_reader *r, int column) {
  int field = r->field_of_column[column];
  if (field < 0 || (size_t)field >= r->row->n_fields) return "";
  return r->row->fields[field];
}

static void problem(row_reader *r, int column, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void problem(row_reader *r, int column, const char *format, ...) {
  char why[512];
  va_list args;
  va_start(args, format);
  vsnprintf(why, sizeof why, format, args);
  va_end(args);
  lp_diag_add(r->diags, "%s:%zu:%d (%s): %s", r->table->name, r->row->line, r->field_of_column[column] + 1,
              r->kind->columns[column].name, why);
  r->problems++;
}

static char *copy_or_empty(const char *text) {
  if (!*text) return (char *)protobuf_c_empty_string;
  char *copy = strdup(text);
  return copy ? copy : (char *)protobuf_c_empty_string;
}

/* A text cell of at most max_bytes, required cells non-empty. */
static char *take_text(row_reader *r, int column, size_t max_bytes) {
  const char *text = cell(r, column);
  size_t len = strlen(text);
  if (len == 0 && r->kind->columns[column].required) {
    problem(r, column, _("is empty but required"));
    return (char *)protobuf_c_empty_string;
  }
  if (len > max_bytes) {
    problem(r, column, _("is %zu bytes, at most %zu allowed"), len, max_bytes);
    return (char *)protobuf_c_empty_string;
  }
  return copy_or_empty(text);
}

/* Identifiers: 1..32 of [A-Za-z0-9._-], starting with a letter or digit (proto CONVENTIONS). */
static int is_identifier(const char *text) {
  size_t len = strlen(text);
  if (len == 0 || len > MAX_ID || !isalnum((unsigned char)text[0])) return 0;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)text[i]) && !strchr("._-", text[i])) return 0;
  return 1;
}

static char *take_identifier(row_reader *r, int column) {
  const char *text = cell(r, column);
  if (!*text && !r->kind->columns[column].required) return (char *)protobuf_c_empty_string;
  if (!*text) {
    problem(r, column, _("is empty but required"));
    return (char *)protobuf_c_empty_string;
  }
  if (!is_identifier(text)) {
    problem(r, column,
            _("\"%.40s\" is not an id: 1-32 of A-Z a-z 0-9 . _ -, starting with a "
              "letter or digit"),
            text);
    return (char *)protobuf_c_empty_string;
  }
  return copy_or_empty(text);
}

static int all_digits(const char *text, size_t want) {
  if (strlen(text) != want) return 0;
  for (size_t i = 0; i < want; i++)
    if (!isdigit((unsigned char)text[i])) return 0;
  return 1;
}

static char *take_training_code(row_reader *r, int column) {
  const char *text = cell(r, column);
  int valid = *text && strlen(text) <= MAX_ID;
  for (const char *p = text; valid && *p; p++)
    valid = isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-';
  if (!valid) {
    problem(r, column, _("\"%.40s\" is not a training code: 1-32 of A-Z 0-9 -"), text);
    return (char *)protobuf_c_empty_string;
  }
  return copy_or_empty(text);
}

static char *take_company_id(row_reader *r, int column) {
  const char *text = cell(r, column);
  if (!all_digits(text, 10)) {
    problem(r, column, _("\"%.40s\" is not an enterprise number: 10 digits, no dots"), text);
    return (char *)protobuf_c_empty_string;
  }
  return copy_or_empty(text);
}

static char *take_postcode(row_reader *r, int column) {
  const char *text = cell(r, column);
  if (!all_digits(text, 4)) {
    problem(r, column, _("\"%.40s\" is not a postcode: 4 digits"), text);
    return (char *)protobuf_c_empty_string;
  }
  return copy_or_empty(text);
}

static int take_enum(row_reader *r, int column, const ProtobufCEnumDescriptor *descriptor, int fallback) {
  const char *text = cell(r, column);
  if (!*text && !r->kind->columns[column].required) return fallback;
  int value = 0;
  char why[300];
  if (!*text)
    problem(r, column, _("is empty but required"));
  else if (lp_enum_parse(descriptor, text, &value, why, sizeof why) != 0)
    problem(r, column, "%s", why);
  return value;
}

static uint32_t take_days(row_reader *r, int column) {
  uint32_t mask = 0;
  char why[200];
  if (lp_days_parse(cell(r, column), &mask, why, sizeof why) != 0) problem(r, column, "%s", why);
  return mask;
}

/* Coordinates, or, when both are left empty, the centre of the row's postcode (Antwerp and its
 * surroundings; see postcodes_antwerp.def). */
static Leerplek__V1__GeoPoint *take_point(row_reader *r, int latitude, int longitude, int postcode) {
  Leerplek__V1__GeoPoint *point = malloc(sizeof *point);
  if (!point) return NULL;
  leerplek__v1__geo_point__init(point);
  char why[200];
  if (!*cell(r, latitude) && !*cell(r, longitude)) {
    const lp_postcode *centre = lp_postcode_find(cell(r, postcode));
    if (centre) {
      point->lat_e6 = centre->lat_e6;
      point->lon_e6 = centre->lon_e6;
    } else if (*cell(r, postcode)) {
      problem(r, postcode,
              _("postcode %.8s is not in the table of Antwerp and its surroundings: give "
                "latitude and longitude"),
              cell(r, postcode));
    } else {
      problem(r, latitude, _("give latitude and longitude, or a postcode of Antwerp and its surroundings"));
    }
    return point;
  }
  if (lp_latitude_parse(cell(r, latitude), &point->lat_e6, why, sizeof why) != 0) problem(r, latitude, "%s", why);
  if (lp_longitude_parse(cell(r, longitude), &point->lon_e6, why, sizeof why) != 0) problem(r, longitude, "%s", why);
  return point;
}

static Leerplek__V1__Date *take_date(row_reader *r, int column) {
  Leerplek__V1__Date *date = malloc(sizeof *date);
  if (!date) return NULL;
  leerplek__v1__date__init(date);
  char why[200];
  if (lp_date_parse(cell(r, column), &date->year, &date->month, &date->day, why, sizeof why) != 0)
    problem(r, column, "%s", why);
  return date;
}

static int take_bool(row_reader *r, int column) {
  int value = 0;
  char why[200];
  if (lp_bool_parse(cell(r, column), &value, why, sizeof why) != 0) problem(r, column, "%s", why);
  return value;
}

/* A ';'-separated list; each item checked with `valid` (NULL: any). */
static char **take_list(row_reader *r, int column, size_t max_items, size_t *count, int (*valid)(const char *),
                        const char *what) {
  char **items = NULL;
  char why[200];
  *count = 0;
  if (lp_list_parse(cell(r, column), max_items, &items, count, why, sizeof why) != 0) {
    problem(r, column, "%s", why);
    return NULL;
  }
  for (size_t i = 0; valid && i < *count; i++)
    if (!valid(items[i])) problem(r, column, _("item %zu \"%.40s\" is not %s"), i + 1, items[i], what);
  return items;
}

static int is_company_id(const char *text) { return all_digits(text, 10); }

static int is_training_code(const char *text) {
  if (!*text || strlen(text) > MAX_ID) return 0;
  for (const char *p = text; *p; p++)
    if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') return 0;
  return 1;
}

static ProtobufCMessage *training_from_row(row_reader *r) {
  Leerplek__V1__Training *training = malloc(sizeof *training);
  if (!training) return NULL;
  leerplek__v1__training__init(training);
  training->code = take_training_code(r, TRAINING_CODE);
  training->name = take_text(r, TRAINING_NAME, MAX_NAME);
  size_t count = 0;
  char **types = take_list(r, TRAINING_PROVIDERS, 4, &count, NULL, NULL);
  training->provider_types = count ? calloc(count, sizeof *training->provider_types) : NULL;
  for (size_t i = 0; i < count; i++) {
    int value = 0;
    char why[300];
    if (lp_enum_parse(&leerplek__v1__school_type__descriptor, types[i], &value, why, sizeof why) != 0)
      problem(r, TRAINING_PROVIDERS, "%s", why);
    if (training->provider_types)
      training->provider_types[training->n_provider_types++] = (Leerplek__V1__SchoolType)value;
    free(types[i]);
  }
  free(types);
  return &training->base;
}

static ProtobufCMessage *company_from_row(row_reader *r) {
  Leerplek__V1__Company *company = malloc(sizeof *company);
  if (!company) return NULL;
  leerplek__v1__company__init(company);
  company->id = take_company_id(r, COMPANY_ID);
  company->name = take_text(r, COMPANY_NAME, MAX_NAME);
  company->recognised_training_codes =
      take_list(r, COMPANY_RECOGNISED, MAX_RECOGNITIONS, &company->n_recognised_training_codes, is_training_code,
                "a training code");
  return &company->base;
}

static ProtobufCMessage *location_from_row(row_reader *r) {
  Leerplek__V1__Location *location = malloc(sizeof *location);
  if (!location) return NULL;
  leerplek__v1__location__init(location);
  location->id = take_identifier(r, LOCATION_ID);
  location->company_id = take_company_id(r, LOCATION_COMPANY);
  location->name = take_text(r, LOCATION_NAME, MAX_NAME);
  location->address = take_text(r, LOCATION_ADDRESS, MAX_NAME);
  location->point = take_point(r, LOCATION_LATITUDE, LOCATION_LONGITUDE, LOCATION_POSTCODE);
  location->postcode = take_postcode(r, LOCATION_POSTCODE);
  location->district = take_text(r, LOCATION_DISTRICT, MAX_SHORT);
  return &location->base;
}

static ProtobufCMessage *vacancy_from_row(row_reader *r) {
  Leerplek__V1__Vacancy *vacancy = malloc(sizeof *vacancy);
  if (!vacancy) return NULL;
  leerplek__v1__vacancy__init(vacancy);
  char why[200];
  vacancy->id = take_identifier(r, VACANCY_ID);
  vacancy->location_id = take_identifier(r, VACANCY_LOCATION);
  vacancy->training_code = take_training_code(r, VACANCY_TRAINING);
  if (lp_u32_parse(cell(r, VACANCY_SEATS), 1, 100, &vacancy->seats, why, sizeof why) != 0)
    problem(r, VACANCY_SEATS, "%s", why);
  vacancy->min_readiness =
      (Leerplek__V1__Readiness)take_enum(r, VACANCY_READINESS, &leerplek__v1__readiness__descriptor, 0);
  vacancy->day_mask = take_days(r, VACANCY_DAYS);
  vacancy->kind = (Leerplek__V1__VacancyKind)take_enum(r, VACANCY_KIND, &leerplek__v1__vacancy_kind__descriptor, 0);
  vacancy->start_date = take_date(r, VACANCY_START);
  vacancy->mentor = take_text(r, VACANCY_MENTOR, MAX_SHORT);
  vacancy->state = (Leerplek__V1__VacancyState)take_enum(r, VACANCY_STATE, &leerplek__v1__vacancy_state__descriptor,
                                                         LEERPLEK__V1__VACANCY_STATE__VACANCY_STATE_OPEN);
  if (vacancy->kind == LEERPLEK__V1__VACANCY_KIND__VACANCY_KIND_REGULAR &&
      vacancy->min_readiness == LEERPLEK__V1__READINESS__READINESS_NOT_READY)
    problem(r, VACANCY_READINESS,
            _("a regular place needs partly or ready (not_ready pupils go "
              "to preparatory places)"));
  return &vacancy->base;
}

static ProtobufCMessage *pupil_from_row(row_reader *r) {
  Leerplek__V1__Pupil *pupil = malloc(sizeof *pupil);
  if (!pupil) return NULL;
  leerplek__v1__pupil__init(pupil);
  char why[200];
  pupil->school_id = take_identifier(r, PUPIL_SCHOOL);
  pupil->ref = take_identifier(r, PUPIL_REF);
  pupil->training_code = take_training_code(r, PUPIL_TRAINING);
  pupil->readiness = (Leerplek__V1__Readiness)take_enum(r, PUPIL_READINESS, &leerplek__v1__readiness__descriptor, 0);
  pupil->home = take_point(r, PUPIL_LATITUDE, PUPIL_LONGITUDE, PUPIL_POSTCODE);
  pupil->home_postcode = take_postcode(r, PUPIL_POSTCODE);
  pupil->home_district = take_text(r, PUPIL_DISTRICT, MAX_SHORT);
  int64_t metres = 0;
  if (lp_fixed_parse(cell(r, PUPIL_COMMUTE), 3, 100, 200000, &metres, why, sizeof why) != 0)
    problem(r, PUPIL_COMMUTE, _("%s (km)"), why);
  pupil->max_commute_m = (uint32_t)metres;
  pupil->day_mask = take_days(r, PUPIL_DAYS);
  pupil->preferred_company_ids = take_list(r, PUPIL_PREFERRED, MAX_PREFERENCES, &pupil->n_preferred_company_ids,
                                           is_company_id, "an enterprise number (10 digits)");
  pupil->excluded_company_ids = take_list(r, PUPIL_EXCLUDED, MAX_EXCLUSIONS, &pupil->n_excluded_company_ids,
                                          is_company_id, "an enterprise number (10 digits)");
  pupil->newcomer_okan = take_bool(r, PUPIL_OKAN);
  pupil->special_needs_buso = take_bool(r, PUPIL_BUSO);
  if (lp_time_parse(cell(r, PUPIL_WAITING_SINCE), &pupil->waiting_since_unix_s, why, sizeof why) != 0)
    problem(r, PUPIL_WAITING_SINCE, "%s", why);
  pupil->school_notes = take_text(r, PUPIL_NOTES, MAX_TEXT);
  pupil->school_type =
      (Leerplek__V1__SchoolType)take_enum(r, PUPIL_SCHOOL_TYPE, &leerplek__v1__school_type__descriptor, 0);
  if (cell(r, PUPIL_WANTED_START)[0]) pupil->wanted_start_date = take_date(r, PUPIL_WANTED_START);
  return &pupil->base;
}

static ProtobufCMessage *organisation_from_row(row_reader *r) {
  Leerplek__V1__SupportOrganisation *organisation = malloc(sizeof *organisation);
  Leerplek__V1__SupportSite *site = malloc(sizeof *site);
  Leerplek__V1__SupportSite **sites = malloc(sizeof *sites);
  if (!organisation || !site || !sites) {
    free(organisation);
    free(site);
    free(sites);
    return NULL;
  }
  leerplek__v1__support_organisation__init(organisation);
  leerplek__v1__support_site__init(site);
  organisation->id = take_identifier(r, ORGANISATION_ID);
  organisation->name = take_text(r, ORGANISATION_NAME, MAX_NAME);
  site->id = take_identifier(r, ORGANISATION_SITE);
  site->name = take_text(r, ORGANISATION_SITE_NAME, MAX_NAME);
  site->point = take_point(r, ORGANISATION_LATITUDE, ORGANISATION_LONGITUDE, ORGANISATION_POSTCODE);
  site->postcode = take_postcode(r, ORGANISATION_POSTCODE);
  site->district = take_text(r, ORGANISATION_DISTRICT, MAX_SHORT);
  sites[0] = site;
  organisation->sites = sites;
  organisation->n_sites = 1;
  return &organisation->base;
}

/* Moves the sites of each organisation's further rows into its first row. The rows of one id
 * must follow each other: an id coming back later is more likely a typo than a plan. */
#define MAX_SITES 100
static size_t group_organisations(const cli_entity *kind, const lp_csv_table *table, ProtobufCMessage **messages,
                                  const int *field_of_column, lp_diags *diags) {
  size_t problems = 0;
  Leerplek__V1__SupportOrganisation *lead = NULL;
  size_t lead_row = 0;
  for (size_t i = 0; i < table->n_rows; i++) {
    Leerplek__V1__SupportOrganisation *row = (Leerplek__V1__SupportOrganisation *)messages[i];
    row_reader r = {kind, table, &table->rows[i], field_of_column, diags, 0};
    if (!lead || strcmp(lead->id, row->id) != 0) {
      for (size_t j = 0; j < i; j++)
        if (lp_row_leads(kind, messages[j]) &&
            strcmp(((Leerplek__V1__SupportOrganisation *)messages[j])->id, row->id) == 0)
          problem(&r, ORGANISATION_ID, _("organisation %s also has rows above line %zu: keep its rows together"),
                  row->id, table->rows[i].line - 1);
      lead = row;
      lead_row = i;
      problems += r.problems;
      continue;
    }
    if (strcmp(lead->name, row->name) != 0)
      problem(&r, ORGANISATION_NAME, _("\"%.40s\" differs from the name on line %zu"), row->name,
              table->rows[lead_row].line);
    for (size_t s = 0; s < lead->n_sites; s++)
      if (strcmp(lead->sites[s]->id, row->sites[0]->id) == 0)
        problem(&r, ORGANISATION_SITE, _("site %s appears twice for organisation %s"), row->sites[0]->id, row->id);
    if (lead->n_sites >= MAX_SITES)
      problem(&r, ORGANISATION_SITE, _("organisation %s has more than %d sites"), row->id, MAX_SITES);
    Leerplek__V1__SupportSite **grown = r.problems ? NULL : realloc(lead->sites, (lead->n_sites + 1) * sizeof *grown);
    if (grown) {
      lead->sites = grown;
      lead->sites[lead->n_sites++] = row->sites[0];
      row->n_sites = 0;
    } else if (!r.problems) {
      /* Sent alone, the row would replace its organisation with this one site. */
      lp_diag_add(diags, _("%s: out of memory"), table->name);
      r.problems++;
    }
    problems += r.problems;
  }
  return problems;
}

int lp_row_leads(const cli_entity *kind, const ProtobufCMessage *message) {
  return kind->id != CLI_ENTITY_ORGANISATIONS || ((const Leerplek__V1__SupportOrganisation *)message)->n_sites > 0;
}

static ProtobufCMessage *offer_from_row(row_reader *r) {
  Leerplek__V1__SupportOffer *offer = malloc(sizeof *offer);
  if (!offer) return NULL;
  leerplek__v1__support_offer__init(offer);
  char why[200];
  offer->id = take_identifier(r, OFFER_ID);
  offer->organisation_id = take_identifier(r, OFFER_ORGANISATION);
  offer->site_id = take_identifier(r, OFFER_SITE);
  offer->component =
      (Leerplek__V1__SupportComponent)take_enum(r, OFFER_COMPONENT, &leerplek__v1__support_component__descriptor, 0);
  offer->training_codes =
      take_list(r, OFFER_TRAININGS, MAX_RECOGNITIONS, &offer->n_training_codes, is_training_code, "a training code");
  if (lp_u32_parse(cell(r, OFFER_SEATS), 1, 100, &offer->seats, why, sizeof why) != 0)
    problem(r, OFFER_SEATS, "%s", why);
  offer->day_mask = take_days(r, OFFER_DAYS);
  offer->start_date = take_date(r, OFFER_START);
  return &offer->base;
}

static ProtobufCMessage *referral_from_row(row_reader *r) {
  Leerplek__V1__Referral *referral = malloc(sizeof *referral);
  if (!referral) return NULL;
  leerplek__v1__referral__init(referral);
  referral->school_id = take_identifier(r, REFERRAL_SCHOOL);
  referral->pupil_ref = take_identifier(r, REFERRAL_PUPIL);
  referral->component =
      (Leerplek__V1__SupportComponent)take_enum(r, REFERRAL_COMPONENT, &leerplek__v1__support_component__descriptor, 0);
  referral->reason = take_text(r, REFERRAL_REASON, MAX_NAME);
  referral->urgency = (Leerplek__V1__Urgency)take_enum(r, REFERRAL_URGENCY, &leerplek__v1__urgency__descriptor, 0);
  referral->share_priority_flags = take_bool(r, REFERRAL_SHARE_FLAGS);
  referral->share_school_notes = take_bool(r, REFERRAL_SHARE_NOTES);
  return &referral->base;
}

static ProtobufCMessage *(*const from_row[CLI_ENTITY_COUNT])(row_reader *) = {
    training_from_row, company_from_row,      location_from_row, vacancy_from_row,
    pupil_from_row,    organisation_from_row, offer_from_row,    referral_from_row,
};

/* Maps header fields to the kind's columns; reports unknown, repeated and missing columns. */
static size_t map_header(const cli_entity *kind, const lp_csv_table *table, int *field_of_column, lp_diags *diags) {
  size_t problems = 0;
  for (size_t c = 0; c < kind->n_columns; c++) field_of_column[c] = -1;
  for (size_t f = 0; f < table->header.n_fields; f++) {
    const char *name = table->header.fields[f];
    size_t c = 0;
    while (c < kind->n_columns && strcasecmp(name, kind->columns[c].name) != 0) c++;
    if (c == kind->n_columns) {
      lp_diag_add(diags,
                  _("%s:%zu:%zu: unknown column \"%.40s\" for %s (see leerplek import %s "
                    "--help)"),
                  table->name, table->header.line, f + 1, name, kind->name, kind->name);
      problems++;
    } else if (field_of_column[c] >= 0) {
      lp_diag_add(diags, _("%s:%zu:%zu: column \"%s\" appears twice"), table->name, table->header.line, f + 1,
                  kind->columns[c].name);
      problems++;
    } else {
      field_of_column[c] = (int)f;
    }
  }
  for (size_t c = 0; c < kind->n_columns; c++)
    if (field_of_column[c] < 0 && kind->columns[c].required) {
      lp_diag_add(diags, _("%s:%zu: missing column \"%s\" (%s)"), table->name, table->header.line,
                  kind->columns[c].name, _(kind->columns[c].doc));
      problems++;
    }
  return problems;
}

size_t lp_rows_to_messages(const cli_entity *kind, const lp_csv_table *table, ProtobufCMessage ***messages,
                           lp_diags *diags) {
  *messages = NULL;
  int field_of_column[LP_CSV_MAX_FIELDS];
  size_t problems = map_header(kind, table, field_of_column, diags);
  if (problems) return problems;
  ProtobufCMessage **result = calloc(table->n_rows ? table->n_rows : 1, sizeof *result);
  if (!result) {
    lp_diag_add(diags, _("%s: out of memory"), table->name);
    return 1;
  }
  for (size_t i = 0; i < table->n_rows; i++) {
    row_reader r = {kind, table, &table->rows[i], field_of_column, diags, 0};
    if (r.row->n_fields != table->header.n_fields) {
      lp_diag_add(diags, _("%s:%zu: row has %zu fields but the header has %zu"), table->name, r.row->line,
                  r.row->n_fields, table->header.n_fields);
      problems++;
      continue;
    }
    result[i] = from_row[kind->id](&r);
    if (!result[i]) {
      lp_diag_add(diags, _("%s: out of memory"), table->name);
      problems++;
      break;
    }
    problems += r.problems;
  }
  if (!problems && kind->id == CLI_ENTITY_ORGANISATIONS)
    problems = group_organisations(kind, table, result, field_of_column, diags);
  if (problems) {
    lp_messages_free(result, table->n_rows);
    return problems;
  }
  *messages = result;
  return 0;
}

void lp_messages_free(ProtobufCMessage **messages, size_t count) {
  if (!messages) return;
  for (size_t i = 0; i < count; i++)
    if (messages[i]) protobuf_c_message_free_unpacked(messages[i], NULL);
  free(messages);
}

/* ------------------------------------------------------------------------------------------ */
/* Messages to JSON                                                                            */

static void set_text(json_t *object, const char *key, const char *text) {
  json_object_set_new(object, key, json_string(text ? text : ""));
}

static void set_enum(json_t *object, const char *key, const ProtobufCEnumDescriptor *descriptor, int value) {
  char text[64];
  lp_enum_format(descriptor, value, text, sizeof text);
  set_text(object, key, text);
}

static void set_days(json_t *object, const char *key, uint32_t mask) {
  char text[LP_TEXT_MAX];
  lp_days_format(mask, text, sizeof text);
  set_text(object, key, text);
}

static void set_list(json_t *object, const char *key, char **items, size_t count) {
  json_t *array = json_array();
  for (size_t i = 0; i < count; i++) json_array_append_new(array, json_string(items[i]));
  json_object_set_new(object, key, array);
}

static void set_point(json_t *object, const Leerplek__V1__GeoPoint *point) {
  json_object_set_new(object, "latitude", point ? json_real(point->lat_e6 / 1e6) : json_null());
  json_object_set_new(object, "longitude", point ? json_real(point->lon_e6 / 1e6) : json_null());
}

static void set_date(json_t *object, const char *key, const Leerplek__V1__Date *date) {
  char text[LP_TEXT_MAX] = "";
  if (date) lp_date_format(date->year, date->month, date->day, text, sizeof text);
  set_text(object, key, text);
}

static json_t *site_row(const Leerplek__V1__SupportOrganisation *organisation, const Leerplek__V1__SupportSite *site) {
  json_t *object = json_object();
  set_text(object, "id", organisation->id);
  set_text(object, "name", organisation->name);
  set_text(object, "site_id", site ? site->id : "");
  set_text(object, "site_name", site ? site->name : "");
  set_point(object, site ? site->point : NULL);
  set_text(object, "postcode", site ? site->postcode : "");
  set_text(object, "district", site ? site->district : "");
  return object;
}

json_t *lp_entity_rows(const cli_entity *kind, const ProtobufCMessage *message) {
  json_t *rows = json_array();
  if (kind->id != CLI_ENTITY_ORGANISATIONS) {
    json_array_append_new(rows, lp_entity_to_json(kind, message));
    return rows;
  }
  const Leerplek__V1__SupportOrganisation *organisation = (const Leerplek__V1__SupportOrganisation *)message;
  for (size_t s = 0; s < organisation->n_sites; s++)
    json_array_append_new(rows, site_row(organisation, organisation->sites[s]));
  return rows;
}

json_t *lp_entity_to_json(const cli_entity *kind, const ProtobufCMessage *message) {
  if (kind->id == CLI_ENTITY_ORGANISATIONS) {
    const Leerplek__V1__SupportOrganisation *organisation = (const Leerplek__V1__SupportOrganisation *)message;
    return site_row(organisation, organisation->n_sites ? organisation->sites[0] : NULL);
  }
  json_t *object = json_object();
  if (!object) return NULL;
  switch (kind->id) {
  case CLI_ENTITY_TRAININGS: {
    const Leerplek__V1__Training *training = (const Leerplek__V1__Training *)message;
    set_text(object, "code", training->code);
    set_text(object, "name", training->name);
    json_t *types = json_array();
    for (size_t i = 0; i < training->n_provider_types; i++) {
      char text[64];
      lp_enum_format(&leerplek__v1__school_type__descriptor, training->provider_types[i], text, sizeof text);
      json_array_append_new(types, json_string(text));
    }
    json_object_set_new(object, "provider_types", types);
    break;
  }
  case CLI_ENTITY_COMPANIES: {
    const Leerplek__V1__Company *company = (const Leerplek__V1__Company *)message;
    set_text(object, "id", company->id);
    set_text(object, "name", company->name);
    set_list(object, "recognised_trainings", company->recognised_training_codes, company->n_recognised_training_codes);
    break;
  }
  case CLI_ENTITY_LOCATIONS: {
    const Leerplek__V1__Location *location = (const Leerplek__V1__Location *)message;
    set_text(object, "id", location->id);
    set_text(object, "company_id", location->company_id);
    set_text(object, "name", location->name);
    set_text(object, "address", location->address);
    set_point(object, location->point);
    set_text(object, "postcode", location->postcode);
    set_text(object, "district", location->district);
    break;
  }
  case CLI_ENTITY_VACANCIES: {
    const Leerplek__V1__Vacancy *vacancy = (const Leerplek__V1__Vacancy *)message;
    set_text(object, "id", vacancy->id);
    set_text(object, "location_id", vacancy->location_id);
    set_text(object, "training_code", vacancy->training_code);
    json_object_set_new(object, "seats", json_integer(vacancy->seats));
    set_enum(object, "min_readiness", &leerplek__v1__readiness__descriptor, vacancy->min_readiness);
    set_days(object, "days", vacancy->day_mask);
    set_enum(object, "kind", &leerplek__v1__vacancy_kind__descriptor, vacancy->kind);
    set_date(object, "start_date", vacancy->start_date);
    set_text(object, "mentor", vacancy->mentor);
    set_enum(object, "state", &leerplek__v1__vacancy_state__descriptor, vacancy->state);
    break;
  }
  case CLI_ENTITY_PUPILS: {
    const Leerplek__V1__Pupil *pupil = (const Leerplek__V1__Pupil *)message;
    char text[LP_TEXT_MAX];
    set_text(object, "school_id", pupil->school_id);
    set_text(object, "ref", pupil->ref);
    set_text(object, "training_code", pupil->training_code);
    set_enum(object, "readiness", &leerplek__v1__readiness__descriptor, pupil->readiness);
    set_point(object, pupil->home);
    set_text(object, "home_postcode", pupil->home_postcode);
    set_text(object, "home_district", pupil->home_district);
    json_object_set_new(object, "max_commute_km", json_real(pupil->max_commute_m / 1000.0));
    set_days(object, "days", pupil->day_mask);
    set_list(object, "preferred_companies", pupil->preferred_company_ids, pupil->n_preferred_company_ids);
    set_list(object, "excluded_companies", pupil->excluded_company_ids, pupil->n_excluded_company_ids);
    json_object_set_new(object, "newcomer_okan", json_boolean(pupil->newcomer_okan));
    json_object_set_new(object, "special_needs_buso", json_boolean(pupil->special_needs_buso));
    lp_time_format(pupil->waiting_since_unix_s, text, sizeof text);
    set_text(object, "waiting_since", text);
    set_text(object, "school_notes", pupil->school_notes);
    set_enum(object, "school_type", &leerplek__v1__school_type__descriptor, pupil->school_type);
    set_date(object, "wanted_start_date", pupil->wanted_start_date);
    break;
  }
  case CLI_ENTITY_ORGANISATIONS: break;
  case CLI_ENTITY_OFFERS: {
    const Leerplek__V1__SupportOffer *offer = (const Leerplek__V1__SupportOffer *)message;
    set_text(object, "id", offer->id);
    set_text(object, "organisation_id", offer->organisation_id);
    set_text(object, "site_id", offer->site_id);
    set_enum(object, "component", &leerplek__v1__support_component__descriptor, offer->component);
    set_list(object, "training_codes", offer->training_codes, offer->n_training_codes);
    json_object_set_new(object, "seats", json_integer(offer->seats));
    set_days(object, "days", offer->day_mask);
    set_date(object, "start_date", offer->start_date);
    break;
  }
  case CLI_ENTITY_REFERRALS: {
    const Leerplek__V1__Referral *referral = (const Leerplek__V1__Referral *)message;
    set_text(object, "school_id", referral->school_id);
    set_text(object, "pupil_ref", referral->pupil_ref);
    set_enum(object, "component", &leerplek__v1__support_component__descriptor, referral->component);
    set_text(object, "reason", referral->reason);
    set_enum(object, "urgency", &leerplek__v1__urgency__descriptor, referral->urgency);
    json_object_set_new(object, "share_priority_flags", json_boolean(referral->share_priority_flags));
    json_object_set_new(object, "share_school_notes", json_boolean(referral->share_school_notes));
    break;
  }
  case CLI_ENTITY_COUNT: break;
  }
  return object;
}
