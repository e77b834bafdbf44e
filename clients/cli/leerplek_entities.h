/* leerplek_entities: the importable entities (trainings, companies, locations, vacancies,
 * pupils, support organisations, support offers, referrals) as CSV columns: which columns each kind has, turning
 * checked CSV rows into proto messages (with "file:line:column" diagnostics) and turning messages back into JSON
 * objects whose keys are exactly those columns, so that export writes what import reads. */
#ifndef LEERPLEK_ENTITIES_H
#define LEERPLEK_ENTITIES_H

#include <stddef.h>

#include <jansson.h>

#include "leerplek.pb-c.h"
#include "leerplek_csv.h"

/* The CLI's importable kinds, named apart from the daemon's `enum lp_kind` (daemon/lp_store.h),
 * which counts stored record kinds (placements, tokens, ...) and is a different list. */
typedef enum cli_entity_id {
  CLI_ENTITY_TRAININGS,
  CLI_ENTITY_COMPANIES,
  CLI_ENTITY_LOCATIONS,
  CLI_ENTITY_VACANCIES,
  CLI_ENTITY_PUPILS,
  CLI_ENTITY_ORGANISATIONS,
  CLI_ENTITY_OFFERS,
  CLI_ENTITY_REFERRALS,
  CLI_ENTITY_COUNT
} cli_entity_id;

typedef struct lp_column {
  const char *name;
  int required;    /* the header must have it and rows must fill it */
  const char *doc; /* one line for --help */
} lp_column;

typedef struct cli_entity {
  cli_entity_id id;
  const char *name; /* plural, as on the command line: "trainings" */
  const lp_column *columns;
  size_t n_columns;
} cli_entity;

extern const cli_entity cli_entities[CLI_ENTITY_COUNT];

/* The kind called `name` ("pupils"; the singular "pupil" is accepted too), or NULL. */
const cli_entity *cli_entity_find(const char *name);

/* Prints the kind's columns, one per line with their meaning, for --help. */
void cli_entity_print_columns(const cli_entity *kind, FILE *out);

/* Converts every data row of `table` into a message of the kind (Leerplek__V1__Training,
 * __Company, __Location, __Vacancy, __Pupil, __SupportOrganisation, __SupportOffer or
 * __Referral), allocated so that protobuf_c's
 * free_unpacked frees it. Every problem is added to diags as "file:line:column (name): what";
 * returns the number of problems (0: *messages holds table->n_rows messages). On problems no
 * messages are returned. Organisations come one row per site: the rows of one id (which must
 * be consecutive and agree on the name) become one message, at the group's first row; the
 * group's other rows hold an organisation without sites (see lp_row_leads). */
size_t lp_rows_to_messages(const cli_entity *kind, const lp_csv_table *table, ProtobufCMessage ***messages,
                           lp_diags *diags);
void lp_messages_free(ProtobufCMessage **messages, size_t count);

/* 0 for a row whose content went into an earlier row's message (an organisation's further
 * sites); only leading rows are sent. */
int lp_row_leads(const cli_entity *kind, const ProtobufCMessage *message);

/* The entity as a JSON object keyed by the kind's columns (same text forms as the CSV); for an
 * organisation, the row of its first site. */
json_t *lp_entity_to_json(const cli_entity *kind, const ProtobufCMessage *message);

/* The entity as the CSV rows it is written as, a JSON array of such objects: one per site for
 * an organisation (none when it has no site), else one. */
json_t *lp_entity_rows(const cli_entity *kind, const ProtobufCMessage *message);

/* The column names of a kind, for output headers (points into cli_entities; count = n_columns). */
void cli_entity_column_names(const cli_entity *kind, const char **names);

#endif
