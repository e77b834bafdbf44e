/* leerplek_postcodes: a home given as a Belgian postcode, placed at that postcode's centre
 * (the table of Antwerp's districts and surrounding municipalities in postcodes_antwerp.def),
 * so that schools need not type coordinates. */
#ifndef LEERPLEK_POSTCODES_H
#define LEERPLEK_POSTCODES_H

#include <stddef.h>
#include <stdint.h>

typedef struct lp_postcode {
  const char *code;
  const char *name;
  int32_t lat_e6;
  int32_t lon_e6;
} lp_postcode;

/* The postcode's entry, or NULL when the table does not hold it. */
const lp_postcode *lp_postcode_find(const char *code);
/* All entries, for tests and --help. */
const lp_postcode *lp_postcodes(size_t *count);

#endif
