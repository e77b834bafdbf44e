/* leerplek_refs: reference checks of import rows against the known trainings, companies and
 * locations (see leerplek_refs.h). The daemon applies the same rules one row at a time; doing
 * them here, on the whole file before anything is sent, is what makes an import all or
 * nothing for them. */
#include "leerplek_refs.h"

#include <stdio.h>
#include <string.h>

#include "leerplek_i18n.h"

static const char *const key_of_kind[CLI_ENTITY_COUNT] = {"code", "id", "id", "id", "ref", "id", "id", "pupil_ref"};

void lp_known_init(lp_known *known) {
  for (int k = 0; k < CLI_ENTITY_COUNT; k++) {
    known->records[k] = json_object();
    known->complete[k] = 0;
  }
}

void lp_known_free(lp_known *known) {
  for (int k = 0; k < CLI_ENTITY_COUNT; k++) json_decref(known->records[k]);
}

void lp_known_add(lp_known *known, cli_entity_id kind, json_t *entities) {
  size_t index;
  json_t *entity;
  json_array_foreach(entities, index, entity) {
    const char *key = json_string_value(json_object_get(entity, key_of_kind[kind]));
    if (key) json_object_set(known->records[kind], key, entity);
    /* An organisation comes as one row per site; its sites are known as "id site" (ids hold
     * no spaces). */
    const char *site = json_string_value(json_object_get(entity, "site_id"));
    if (key && kind == CLI_ENTITY_ORGANISATIONS && site) {
      char both[80];
      snprintf(both, sizeof both, "%s %s", key, site);
      json_object_set(known->records[kind], both, entity);
    }
  }
  known->complete[kind] = 1;
}

void lp_known_add_messages(lp_known *known, const cli_entity *kind, ProtobufCMessage **messages, size_t count) {
  json_t *entities = json_array();
  for (size_t i = 0; i < count; i++) {
    json_t *rows = lp_entity_rows(kind, messages[i]);
    json_array_extend(entities, rows);
    json_decref(rows);
  }
  lp_known_add(known, kind->id, entities);
  json_decref(entities);
}

unsigned lp_refs_needed(cli_entity_id kind) {
  switch (kind) {
  case CLI_ENTITY_COMPANIES: return 1u << CLI_ENTITY_TRAININGS;
  case CLI_ENTITY_LOCATIONS: return 1u << CLI_ENTITY_COMPANIES;
  case CLI_ENTITY_VACANCIES:
    return 1u << CLI_ENTITY_TRAININGS | 1u << CLI_ENTITY_COMPANIES | 1u << CLI_ENTITY_LOCATIONS;
  case CLI_ENTITY_PUPILS: return 1u << CLI_ENTITY_TRAININGS | 1u << CLI_ENTITY_COMPANIES;
  case CLI_ENTITY_OFFERS: return 1u << CLI_ENTITY_TRAININGS | 1u << CLI_ENTITY_ORGANISATIONS;
  default: return 0;
  }
}

static const json_t *find(const lp_known *known, cli_entity_id kind, const char *key) {
  return json_object_get(known->records[kind], key);
}

static int recognised(const json_t *company, const char *training) {
  size_t index;
  json_t *code;
  json_array_foreach(json_object_get(company, "recognised_trainings"), index,
                     code) if (strcmp(json_string_value(code), training) == 0) return 1;
  return 0;
}

typedef struct checker {
  const lp_csv_table *table;
  const lp_known *known;
  lp_diags *diags;
  size_t problems;
  size_t line;
} checker;

static void missing(checker *c, const char *column, const char *what) {
  lp_diag_add(c->diags, "%s:%zu (%s): %s", c->table->name, c->line, column, what);
  c->problems++;
}

static void need_training(checker *c, const char *column, const char *code) {
  char why[200];
  if (!c->known->complete[CLI_ENTITY_TRAININGS] || find(c->known, CLI_ENTITY_TRAININGS, code)) return;
  snprintf(why, sizeof why, _("no training %s (neither in the store nor in the trainings file)"), code);
  missing(c, column, why);
}

static void need_companies(checker *c, const char *column, char *const *ids, size_t count) {
  char why[200];
  if (!c->known->complete[CLI_ENTITY_COMPANIES]) return;
  for (size_t i = 0; i < count; i++)
    if (!find(c->known, CLI_ENTITY_COMPANIES, ids[i])) {
      snprintf(why, sizeof why, _("no company %s (neither in the store nor in the companies file)"), ids[i]);
      missing(c, column, why);
    }
}

size_t lp_refs_check(const cli_entity *kind, const lp_csv_table *table, ProtobufCMessage **messages,
                     const lp_known *known, lp_diags *diags) {
  checker c = {table, known, diags, 0, 0};
  char why[300];
  for (size_t i = 0; i < table->n_rows; i++) {
    c.line = table->rows[i].line;
    switch (kind->id) {
    case CLI_ENTITY_COMPANIES: {
      const Leerplek__V1__Company *company = (const Leerplek__V1__Company *)messages[i];
      for (size_t t = 0; t < company->n_recognised_training_codes; t++)
        need_training(&c, "recognised_trainings", company->recognised_training_codes[t]);
      break;
    }
    case CLI_ENTITY_LOCATIONS: {
      const Leerplek__V1__Location *location = (const Leerplek__V1__Location *)messages[i];
      need_companies(&c, "company_id", &location->company_id, 1);
      break;
    }
    case CLI_ENTITY_VACANCIES: {
      const Leerplek__V1__Vacancy *vacancy = (const Leerplek__V1__Vacancy *)messages[i];
      need_training(&c, "training_code", vacancy->training_code);
      if (!known->complete[CLI_ENTITY_LOCATIONS]) break;
      const json_t *location = find(known, CLI_ENTITY_LOCATIONS, vacancy->location_id);
      if (!location) {
        snprintf(why, sizeof why, _("no location %s (neither in the store nor in the locations file)"),
                 vacancy->location_id);
        missing(&c, "location_id", why);
        break;
      }
      const char *company_id = json_string_value(json_object_get(location, "company_id"));
      const json_t *company = company_id ? find(known, CLI_ENTITY_COMPANIES, company_id) : NULL;
      if (known->complete[CLI_ENTITY_COMPANIES] && company && !recognised(company, vacancy->training_code)) {
        snprintf(why, sizeof why, _("company %s (of location %s) is not recognised for %s"), company_id,
                 vacancy->location_id, vacancy->training_code);
        missing(&c, "training_code", why);
      }
      break;
    }
    case CLI_ENTITY_PUPILS: {
      const Leerplek__V1__Pupil *pupil = (const Leerplek__V1__Pupil *)messages[i];
      need_training(&c, "training_code", pupil->training_code);
      need_companies(&c, "preferred_companies", pupil->preferred_company_ids, pupil->n_preferred_company_ids);
      need_companies(&c, "excluded_companies", pupil->excluded_company_ids, pupil->n_excluded_company_ids);
      break;
    }
    case CLI_ENTITY_OFFERS: {
      const Leerplek__V1__SupportOffer *offer = (const Leerplek__V1__SupportOffer *)messages[i];
      for (size_t t = 0; t < offer->n_training_codes; t++)
        need_training(&c, "training_codes", offer->training_codes[t]);
      if (!known->complete[CLI_ENTITY_ORGANISATIONS]) break;
      char both[80];
      snprintf(both, sizeof both, "%s %s", offer->organisation_id, offer->site_id);
      if (!find(known, CLI_ENTITY_ORGANISATIONS, offer->organisation_id)) {
        snprintf(why, sizeof why, _("no support organisation %s (neither in the store nor in the organisations file)"),
                 offer->organisation_id);
        missing(&c, "organisation_id", why);
      } else if (!find(known, CLI_ENTITY_ORGANISATIONS, both)) {
        snprintf(why, sizeof why, _("organisation %s has no site %s"), offer->organisation_id, offer->site_id);
        missing(&c, "site_id", why);
      }
      break;
    }
    default: break;
    }
  }
  return c.problems;
}
