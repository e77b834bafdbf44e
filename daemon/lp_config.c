/* lp_config: one table lists every option once (name, section, default, limits, meaning); the
 * INI file, the flags and --help all read that table, so they cannot disagree. */
#include "lp_config.h"

#include <errno.h>
#include <stdbool.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lp_log.h"

enum option_type { OPTION_STRING, OPTION_UINT };

typedef struct option {
  const char *section;
  const char *name;
  enum option_type type;
  size_t offset;
  size_t string_size;   /* for strings: the buffer size */
  const char *fallback; /* the default, as text */
  uint32_t min, max;    /* for numbers */
  const char *help;
} option;

#define STRING_OPTION(sec, field, def, text)                                                                           \
  { sec, #field, OPTION_STRING, offsetof(lp_config, field), sizeof(((lp_config *)0)->field), def, 0, 0, text }
#define UINT_OPTION(sec, field, def, lo, hi, text)                                                                     \
  { sec, #field, OPTION_UINT, offsetof(lp_config, field), 0, def, lo, hi, text }

static const option options[] = {
    STRING_OPTION("server", listen, "127.0.0.1:7411", "API address: ip:port, [ipv6]:port or unix:/path"),
    STRING_OPTION("server", http_listen, "",
                  "HTTP address for /healthz and /metrics (ip:port or unix:/path); empty = off"),
    STRING_OPTION("server", log_level, "info", "error, warn, info or debug (stderr)"),
    STRING_OPTION("server", instance_id, "", "this daemon's name in lp:events; empty = random at start"),
    UINT_OPTION("server", shutdown_grace_ms, "5000", 0, 600000, "on SIGTERM, wait this long for calls in flight, ms"),
    UINT_OPTION("limits", max_frame_bytes, "1048576", 1024, 64u << 20, "largest request frame, bytes"),
    UINT_OPTION("limits", max_connections, "1024", 1, 1000000, "open API connections; more are refused"),
    UINT_OPTION("limits", max_connections_per_address, "64", 1, 1000000,
                "open API connections from one IP address; more are refused (unix sockets not counted)"),
    UINT_OPTION("limits", hello_timeout_ms, "10000", 100, 600000,
                "after connect, Hello (and the TLS handshake) must have arrived within this, ms"),
    UINT_OPTION("limits", frame_timeout_ms, "10000", 100, 600000,
                "once a request frame has begun, all of it must arrive within this, ms"),
    UINT_OPTION("limits", max_output_total_bytes, "268435456", 65536, 4000000000u,
                "unsent reply bytes of all connections together; over it the connections holding most are cut off"),
    UINT_OPTION("limits", max_watchers, "256", 0, 100000,
                "watching connections (the notification feed) at once; more are refused"),
    UINT_OPTION("limits", idle_timeout_s, "300", 0, 86400, "close connections idle this long, s (0 = never)"),
    UINT_OPTION("limits", max_pending_requests, "128", 1, 100000,
                "requests in flight per connection before reading pauses"),
    UINT_OPTION("limits", output_high_water_bytes, "4194304", 4096, 1u << 30,
                "unsent reply bytes per connection before reading pauses"),
    UINT_OPTION("limits", default_page_size, "100", 1, 1000000, "page size when a list call gives 0"),
    UINT_OPTION("limits", max_page_size, "1000", 1, 1000000, "largest page size; larger requests are clamped"),
    UINT_OPTION("limits", max_id_bytes, "32", 1, 32, "longest id, bytes"),
    UINT_OPTION("limits", max_name_bytes, "200", 1, 10000, "longest name, bytes"),
    UINT_OPTION("limits", max_short_text_bytes, "100", 1, 10000, "longest short text (mentor, label, district), bytes"),
    UINT_OPTION("limits", max_text_bytes, "1000", 1, 100000, "longest free text (notes, reasons), bytes"),
    UINT_OPTION("limits", max_recognitions, "100", 1, 10000, "most recognised trainings per company"),
    UINT_OPTION("limits", max_preferences, "10", 0, 1000, "most preferred companies per pupil"),
    UINT_OPTION("limits", max_exclusions, "100", 0, 10000, "most excluded companies per pupil"),
    STRING_OPTION("tls", tls_cert_file, "", "PEM certificate chain for TLS on the API port; empty = plain TCP"),
    STRING_OPTION("tls", tls_key_file, "", "PEM private key of tls_cert_file"),
    STRING_OPTION("tls", tls_client_ca_file, "",
                  "PEM CA certificates; when set, every client must present a certificate they signed"),
    STRING_OPTION("redis", redis, "127.0.0.1:6379", "Redis address: ip:port or unix:/path (no host names)"),
    STRING_OPTION("redis", redis_sentinels, "",
                  "Sentinel addresses ip:port,ip:port,...: ask them for the primary instead of using redis"),
    STRING_OPTION("redis", redis_sentinel_master, "leerplek", "the master name the Sentinels monitor"),
    STRING_OPTION("redis", redis_sentinel_password_file, "",
                  "file whose first line is the Sentinels' requirepass; empty = none"),
    UINT_OPTION("redis", redis_wait_replicas, "0", 0, 16,
                "acknowledge a write only once this many replicas have it (WAIT); 0 = once the primary has it"),
    UINT_OPTION("redis", redis_wait_timeout_ms, "1000", 1, 600000,
                "how long WAIT waits for the replicas, ms (below redis_timeout_ms)"),
    STRING_OPTION("redis", redis_password_file, "",
                  "file whose first line is the Redis password (sent with AUTH); empty = no AUTH"),
    UINT_OPTION("redis", redis_timeout_ms, "2000", 10, 600000, "connect timeout and write confirmation timeout, ms"),
    UINT_OPTION("redis", redis_reconnect_min_ms, "100", 1, 600000, "first reconnect delay, ms (doubles up to the max)"),
    UINT_OPTION("redis", redis_reconnect_max_ms, "5000", 1, 3600000, "longest reconnect delay, ms"),
    UINT_OPTION("redis", follow_events, "1", 0, 1,
                "1 = apply other daemons' writes from lp:events (scale-out); 0 only for a daemon known to be alone"),
    UINT_OPTION("redis", events_max_length, "1000000", 1000, 1u << 31,
                "approximate length kept of the lp:events stream"),
    UINT_OPTION("report", trend_interval_s, "600", 1, 86400,
                "how often today's snapshot of the headline figures (lp:trend:<day>) is refreshed, s"),
    STRING_OPTION("rematch", rematch_nightly_time, "02:00",
                  "run a rematch every day at HH:MM local time; empty = never"),
    UINT_OPTION("rematch", rematch_lock_ttl_ms, "60000", 1000, 3600000, "expiry of the Redis lock lp:lock:rematch, ms"),
    UINT_OPTION("rematch", rematch_write_chunk_bytes, "65536", 1024, 64u << 20,
                "the epoch write stages the changed records in commits of about this many bytes (each answered well "
                "within redis_timeout_ms)"),
    /* The rulebook's settings (matcher/eligibility.h); the limits are the rulebook's, under
     * which its priority levels provably hold. The penalties of the higher levels follow. */
    UINT_OPTION("rematch", rematch_cost_per_100m, "1", 0, 100, "pair cost per 100 m of commute"),
    UINT_OPTION("rematch", rematch_preference_rank_step, "20", 0, 1000,
                "pair cost per rank below the pupil's first preferred company"),
    UINT_OPTION("rematch", rematch_not_preferred_penalty, "200", 0, 10000,
                "pair cost of a company outside the pupil's (non-empty) preferences"),
    UINT_OPTION("rematch", rematch_move_penalty, "100", 0, 10000,
                "move threshold: a proposal moves only if that is better by more than this (100 = 10 km)"),
    UINT_OPTION("rematch", rematch_ready_on_preparatory, "1", 0, 1,
                "1 = partly ready and ready pupils may take preparatory seats no eligible not-ready pupil claims; 0 = "
                "preparatory seats only for not-ready pupils"),
    UINT_OPTION(
        "rematch", rematch_start_window_days, "30", 0, 366,
        "rule 6: a vacancy fits a pupil with a wanted start date when it starts at most this many days after it"),
    UINT_OPTION(
        "rematch", rematch_hint_pair_budget, "1000000", 0, 2000000000,
        "pairs the re-solves that check the unplaced pupils' hints may build per rematch (strongest claims first)"),
    /* Seconds, not days, so that a test can use a deadline of a second or two. */
    UINT_OPTION("proposals", proposal_answer_seconds, "864000", 1, 31536000,
                "time both sides have to accept a proposal, s (864000 = 10 days); past it the proposal is released"),
    UINT_OPTION("proposals", proposal_reminder_seconds, "172800", 0, 31536000,
                "the reminder event (op remind on lp:events) goes out this long before the answer deadline, s; 0 = no "
                "reminder"),
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static const option *find_option(const char *name) {
  for (size_t i = 0; i < OPTION_COUNT; i++)
    if (strcmp(options[i].name, name) == 0) return &options[i];
  return NULL;
}

static int apply(lp_config *config, const option *opt, const char *value, char *error, size_t error_size) {
  char *field = (char *)config + opt->offset;
  if (opt->type == OPTION_STRING) {
    if (strlen(value) >= opt->string_size) {
      snprintf(error, error_size, "%s: value longer than %zu bytes", opt->name, opt->string_size - 1);
      return -1;
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long number = strtoull(value, &end, 10);
  if (value[0] == '\0' || value[0] == '-' || *end != '\0' || errno != 0 || number < opt->min || number > opt->max) {
    snprintf(error, error_size, "%s: '%s' is not a whole number in %u..%u", opt->name, value, opt->min, opt->max);
    return -1;
  }
  uint32_t stored = (uint32_t)number;
  memcpy(field, &stored, sizeof stored);
  return 0;
}

void lp_config_defaults(lp_config *config) {
  memset(config, 0, sizeof *config);
  char ignored[128];
  for (size_t i = 0; i < OPTION_COUNT; i++) apply(config, &options[i], options[i].fallback, ignored, sizeof ignored);
}

int lp_config_set(lp_config *config, const char *name, const char *value, char *error, size_t error_size) {
  const option *opt = find_option(name);
  if (!opt) {
    snprintf(error, error_size, "unknown option '%s'", name);
    return -1;
  }
  return apply(config, opt, value, error, error_size);
}

typedef struct file_context {
  lp_config *config;
  const char *path;
  char *error;
  size_t error_size;
  int failed;
} file_context;

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
  file_context *context = user;
  if (context->failed) return 0;
  const option *opt = find_option(name);
  if (!opt || strcmp(opt->section, section) != 0) {
    snprintf(context->error, context->error_size, "%s: unknown key '%s' in section [%s]", context->path, name, section);
    context->failed = 1;
    return 0;
  }
  char reason[256];
  if (apply(context->config, opt, value, reason, sizeof reason) != 0) {
    snprintf(context->error, context->error_size, "%s: [%s] %s", context->path, section, reason);
    context->failed = 1;
    return 0;
  }
  return 1;
}

int lp_config_load_file(lp_config *config, const char *path, char *error, size_t error_size) {
  file_context context = {config, path, error, error_size, 0};
  int rc = ini_parse(path, on_ini_entry, &context);
  if (rc == -1) {
    snprintf(error, error_size, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (context.failed) return -1;
  if (rc != 0) {
    snprintf(error, error_size, "%s:%d: syntax error", path, rc);
    return -1;
  }
  return 0;
}

int lp_config_nightly_minute(const lp_config *config) {
  const char *t = config->rematch_nightly_time;
  if (strlen(t) != 5 || t[2] != ':') return -1;
  for (int i = 0; i < 5; i++)
    if (i != 2 && (t[i] < '0' || t[i] > '9')) return -1;
  int hour = (t[0] - '0') * 10 + (t[1] - '0'), minute = (t[3] - '0') * 10 + (t[4] - '0');
  if (hour > 23 || minute > 59) return -1;
  return hour * 60 + minute;
}

int lp_config_validate(const lp_config *config, char *error, size_t error_size) {
  if (lp_log_level_parse(config->log_level) < 0) {
    snprintf(error, error_size, "log_level: '%s' is not error, warn, info or debug", config->log_level);
    return -1;
  }
  if (config->default_page_size > config->max_page_size) {
    snprintf(error, error_size, "default_page_size %u is above max_page_size %u", config->default_page_size,
             config->max_page_size);
    return -1;
  }
  if (config->proposal_reminder_seconds >= config->proposal_answer_seconds && config->proposal_reminder_seconds != 0) {
    snprintf(error, error_size,
             "proposal_reminder_seconds %u must be below proposal_answer_seconds %u (or 0 = no reminder)",
             config->proposal_reminder_seconds, config->proposal_answer_seconds);
    return -1;
  }
  if (config->redis_reconnect_min_ms > config->redis_reconnect_max_ms) {
    snprintf(error, error_size, "redis_reconnect_min_ms is above redis_reconnect_max_ms");
    return -1;
  }
  /* The options' limits are the rulebook's; this keeps them so if either side changes. */
  eligibility_weights weights;
  eligibility_levels levels;
  matcher_error rule_error;
  lp_config_rule_weights(config, &weights);
  if (eligibility_levels_of(&weights, &levels, &rule_error) != MATCHER_OK) {
    snprintf(error, error_size, "rematch weights: %s", rule_error.message);
    return -1;
  }
  if (config->rematch_nightly_time[0] && lp_config_nightly_minute(config) < 0) {
    snprintf(error, error_size, "rematch_nightly_time: '%s' is not HH:MM (00:00..23:59) or empty",
             config->rematch_nightly_time);
    return -1;
  }
  if ((config->tls_cert_file[0] != '\0') != (config->tls_key_file[0] != '\0')) {
    snprintf(error, error_size, "tls_cert_file and tls_key_file go together: set both or neither");
    return -1;
  }
  if (config->tls_client_ca_file[0] && !config->tls_cert_file[0]) {
    snprintf(error, error_size, "tls_client_ca_file needs TLS: set tls_cert_file and tls_key_file too");
    return -1;
  }
  if (config->max_output_total_bytes < config->output_high_water_bytes) {
    snprintf(error, error_size, "max_output_total_bytes %u is below output_high_water_bytes %u",
             config->max_output_total_bytes, config->output_high_water_bytes);
    return -1;
  }
  if (config->redis_wait_replicas > 0 && config->redis_wait_timeout_ms >= config->redis_timeout_ms) {
    snprintf(error, error_size,
             "redis_wait_timeout_ms %u must be below redis_timeout_ms %u (else the link is "
             "dropped while WAIT still waits)",
             config->redis_wait_timeout_ms, config->redis_timeout_ms);
    return -1;
  }
  if (config->redis_sentinels[0] && !config->redis_sentinel_master[0]) {
    snprintf(error, error_size, "redis_sentinels needs redis_sentinel_master (the name they monitor)");
    return -1;
  }
  if (config->listen[0] == '\0' || config->redis[0] == '\0') {
    snprintf(error, error_size, "listen and redis must not be empty");
    return -1;
  }
  return 0;
}

/* The first line of path into out (1..out_size-1 bytes); option names the setting for errors. */
static int read_secret(const char *option, const char *path, char *out, size_t out_size, char *error,
                       size_t error_size) {
  out[0] = '\0';
  if (path[0] == '\0') return 0;
  FILE *file = fopen(path, "r");
  if (!file) {
    snprintf(error, error_size, "%s %s: %s", option, path, strerror(errno));
    return -1;
  }
  char line[257];
  bool read = fgets(line, sizeof line, file) != NULL;
  fclose(file);
  size_t length = read ? strcspn(line, "\r\n") : 0;
  line[length] = '\0';
  if (length == 0 || length >= out_size) {
    snprintf(error, error_size, "%s %s: the first line must hold the password (1..%zu bytes)", option, path,
             out_size - 1);
    memset(line, 0, sizeof line);
    return -1;
  }
  memcpy(out, line, length + 1);
  memset(line, 0, sizeof line);
  return 0;
}

int lp_config_load_secrets(lp_config *config, char *error, size_t error_size) {
  if (read_secret("redis_password_file", config->redis_password_file, config->redis_password,
                  sizeof config->redis_password, error, error_size) != 0)
    return -1;
  return read_secret("redis_sentinel_password_file", config->redis_sentinel_password_file,
                     config->redis_sentinel_password, sizeof config->redis_sentinel_password, error, error_size);
}

void lp_config_print_help(FILE *out) {
  const char *section = "";
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    if (strcmp(section, options[i].section) != 0) {
      section = options[i].section;
      fprintf(out, "\n  [%s]\n", section);
    }
    fprintf(out, "  --%-26s %s (default: %s)\n", options[i].name, options[i].help,
            options[i].fallback[0] ? options[i].fallback : "\"\"");
  }
}

void lp_config_rule_weights(const lp_config *config, eligibility_weights *weights) {
  eligibility_default_weights(weights);
  weights->cost_per_100m = config->rematch_cost_per_100m;
  weights->preference_rank_step = config->rematch_preference_rank_step;
  weights->not_preferred_penalty = config->rematch_not_preferred_penalty;
  weights->move_penalty = config->rematch_move_penalty;
  weights->ready_on_preparatory = (int32_t)config->rematch_ready_on_preparatory;
  weights->start_window_days = config->rematch_start_window_days;
  weights->hint_pair_budget = (int64_t)config->rematch_hint_pair_budget;
}
