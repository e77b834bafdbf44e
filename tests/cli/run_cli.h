/* run_cli: runs the real `leerplek` binary (path from the build) with arguments, environment
 * additions and optional standard input, and captures its exit status, stdout and stderr, the
 * way users and scripts see the tool. Shared by the argument and integration tests. */
#ifndef LEERPLEK_TEST_RUN_CLI_H
#define LEERPLEK_TEST_RUN_CLI_H

typedef struct cli_result {
  int status; /* exit status, or -1 when the program did not exit normally */
  char *out;
  char *err;
} cli_result;

/* argv: NULL-terminated, without the program name. env: NULL-terminated "NAME=value" entries
 * that replace LEERPLEK_TOKEN and LEERPLEK_ADDRESS (both are cleared first), may be NULL.
 * input: written to the program's stdin (NULL: empty). */
cli_result run_cli(const char *const *argv, const char *const *env, const char *input);
void cli_result_free(cli_result *result);

#endif
