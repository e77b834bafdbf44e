/* leerplek_refs: the references between import rows (a company's recognised trainings, a
 * location's company, a vacancy's location and training, a pupil's training and companies,
 * an offer's trainings, organisation and site)
 * checked against what is known: the store's records and the files of the same set that are
 * imported before. So `import --check` finds every row the daemon would refuse for a missing
 * reference, and an import whose rows name something unknown sends nothing. */
#ifndef LEERPLEK_REFS_H
#define LEERPLEK_REFS_H

#include <jansson.h>

#include "leerplek_csv.h"
#include "leerplek_entities.h"

/* Known records per kind, each a JSON object keyed by id (trainings by code) holding the
 * entity as lp_entity_rows writes it (an organisation also as "id site_id" per site). Only
 * trainings, companies, locations and organisations are referred to. */
typedef struct lp_known {
  json_t *records[CLI_ENTITY_COUNT];
  int complete[CLI_ENTITY_COUNT]; /* 1 when the kind's records are all known (else not checked) */
} lp_known;

void lp_known_init(lp_known *known);
void lp_known_free(lp_known *known);
/* Adds entities of `kind` (a JSON array of lp_entity_to_json objects) and marks the kind known. */
void lp_known_add(lp_known *known, cli_entity_id kind, json_t *entities);
/* Adds the rows of a checked file (the messages of lp_rows_to_messages) as known records. */
void lp_known_add_messages(lp_known *known, const cli_entity *kind, ProtobufCMessage **messages, size_t count);

/* Which kinds rows of `kind` refer to (bit per cli_entity_id). */
unsigned lp_refs_needed(cli_entity_id kind);

/* Checks every reference of the rows; each unknown one is added to diags as
 * "file:line (column): ..."; returns the number of problems. Kinds not marked complete are not
 * checked. */
size_t lp_refs_check(const cli_entity *kind, const lp_csv_table *table, ProtobufCMessage **messages,
                     const lp_known *known, lp_diags *diags);

#endif
