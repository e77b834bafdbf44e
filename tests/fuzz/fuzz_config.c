/* fuzz_config: libFuzzer target for leerplekd's configuration (daemon/lp_config.c): the input
 * is an INI file, read over the defaults through libinih exactly as --config reads it, then
 * validated. A refusal must say why; an accepted file must also survive lp_config_validate's
 * neighbours (the nightly time, the help text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_file(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* libinih reads from a path: one file per process, rewritten for every input. */
  if (!path[0]) {
    snprintf(path, sizeof path, "/tmp/fuzz_config.%d.ini", (int)getpid());
    atexit(remove_file);
  }
  FILE *file = fopen(path, "wb");
  if (!file) return 0;
  fwrite(data, 1, size, file);
  fclose(file);
  lp_config config;
  lp_config_defaults(&config);
  char error[512];
  error[0] = '\0';
  if (lp_config_load_file(&config, path, error, sizeof error) != 0) {
    if (!error[0]) abort();
  } else if (lp_config_validate(&config, error, sizeof error) != 0) {
    if (!error[0]) abort();
  } else {
    (void)lp_config_nightly_minute(&config);
  }
  return 0;
}
