/* leerplek_postcodes: the postcode table (postcodes_antwerp.def) and its lookup. */
#include "leerplek_postcodes.h"

#include <string.h>

/* Micro-degrees rounded to the nearest, as the proto's GeoPoint holds them. */
#define E6(degrees) ((int32_t)((degrees)*1e6 + ((degrees) < 0 ? -0.5 : 0.5)))

static const lp_postcode table[] = {
#define POSTCODE(code, name, latitude, longitude) {code, name, E6(latitude), E6(longitude)},
#include "postcodes_antwerp.def"
#undef POSTCODE
};

const lp_postcode *lp_postcode_find(const char *code) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].code, code) == 0) return &table[i];
  return NULL;
}

const lp_postcode *lp_postcodes(size_t *count) {
  *count = sizeof table / sizeof table[0];
  return table;
}
