/* leerplek_i18n: finding the compiled catalogues and choosing the tool's language (see
 * leerplek_i18n.h). */
#include "leerplek_i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef LEERPLEK_INSTALLED_LOCALE_DIR
#define LEERPLEK_INSTALLED_LOCALE_DIR "/usr/local/share/locale"
#endif

static int dutch;

static int holds_catalogue(const char *dir, const char *domain) {
  char path[PATH_MAX + 64];
  struct stat info;
  snprintf(path, sizeof path, "%s/nl/LC_MESSAGES/%s.mo", dir, domain);
  return stat(path, &info) == 0;
}

const char *lp_i18n_bind(const char *domain) {
  static char beside_exe[PATH_MAX + 32];
  const char *chosen = NULL;
  char exe[PATH_MAX - 32];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (length > 0) {
    exe[length] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      snprintf(beside_exe, sizeof beside_exe, "%s/../share/locale", exe);
      if (holds_catalogue(beside_exe, domain)) chosen = beside_exe;
    }
  }
  if (!chosen && holds_catalogue(LEERPLEK_INSTALLED_LOCALE_DIR, domain)) chosen = LEERPLEK_INSTALLED_LOCALE_DIR;
  if (chosen) {
    bindtextdomain(domain, chosen);
    bind_textdomain_codeset(domain, "UTF-8");
  }
  return chosen;
}

/* The first non-empty of the variables gettext consults for messages, in its order. */
static const char *messages_locale_name(void) {
  const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    if (value && *value) return value;
  }
  return "";
}

int lp_i18n_init_from_environment(void) {
  const char *wanted = messages_locale_name();
  if (!setlocale(LC_MESSAGES, "") && strncmp(wanted, "nl", 2) == 0) {
    /* gettext ignores LANGUAGE under the "C" locale but not under C.UTF-8. */
    setlocale(LC_MESSAGES, "C.UTF-8");
    const char *language = getenv("LANGUAGE");
    if (!language || !*language) setenv("LANGUAGE", "nl", 1);
  }
  lp_i18n_bind(LP_TEXT_DOMAIN);
  const char *language = getenv("LANGUAGE");
  const char *messages = setlocale(LC_MESSAGES, NULL);
  int c_locale = !messages || strcmp(messages, "C") == 0 || strcmp(messages, "POSIX") == 0;
  if (!c_locale && language && *language)
    dutch = strncmp(language, "nl", 2) == 0;
  else
    dutch = messages && strncmp(messages, "nl", 2) == 0;
  return dutch;
}

int lp_i18n_dutch(void) { return dutch; }
