/* leerplek_i18n: the languages of what people read (Dutch as spoken in Flanders, and English,
 * the text in the sources), through gettext. The catalogues are compiled by msgfmt in the
 * build (clients/cli/po for the tool, daemon/po for the dashboard) into share/locale next to
 * bin/, where the programs look first, then in the installed share/locale. */
#ifndef LEERPLEK_I18N_H
#define LEERPLEK_I18N_H

#include <libintl.h>
#include <stddef.h>

/* The tool's text domain; the daemon's dashboard has its own ("leerplekd"). */
#define LP_TEXT_DOMAIN "leerplek"

/* dgettext rather than gettext so that library code translates whatever textdomain() says. */
#define _(text) dgettext(LP_TEXT_DOMAIN, text)
/* Marks text for xgettext where it is stored (tables, initialisers) and translated later. */
#define N_(text) text

/* Binds `domain` to its catalogue folder (the first of <exe>/../share/locale and the installed
 * one that holds it) with UTF-8 output. Returns the folder, or NULL when neither exists. */
const char *lp_i18n_bind(const char *domain);

/* For the tool: the language from LANGUAGE / LC_ALL / LC_MESSAGES / LANG as gettext reads
 * them. When the environment names a locale this machine lacks (nl_BE.UTF-8 not generated),
 * messages still follow it: C.UTF-8 is set for them and LANGUAGE from the name. Numbers stay
 * in the C locale (CSV and JSON need '.'). Returns 1 when the chosen language is Dutch. */
int lp_i18n_init_from_environment(void);

/* 1 once lp_i18n_init_from_environment chose Dutch. */
int lp_i18n_dutch(void);

#endif
