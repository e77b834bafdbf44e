/* lp_config: the daemon's settings, their defaults, the INI file (libinih) and the flags. */
#ifndef LP_CONFIG_H
#define LP_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "eligibility.h"

typedef struct lp_config {
  char listen[256];               /* API address: "ip:port", "[ipv6]:port" or "unix:/path" */
  char http_listen[256];          /* /healthz and /metrics: "ip:port" or "unix:/path"; "" = off */
  char redis[256];                /* Redis: "ip:port" or "unix:/path" (no names: hiredis resolves blocking) */
  char redis_password_file[256];  /* "" = no AUTH */
  char redis_password[256];       /* read from redis_password_file by lp_config_load_secrets; not an option */
  char log_level[16];             /* error, warn, info, debug */
  char instance_id[64];           /* names this daemon in lp:events; empty = random at start */
  char tls_cert_file[256];        /* PEM certificate chain of the API port; "" = plain TCP */
  char tls_key_file[256];         /* its private key (PEM) */
  char tls_client_ca_file[256];   /* "" = no client certificates; else every client needs one signed by these CAs */
  char redis_sentinels[512];      /* "ip:port,ip:port,...": ask them for the primary; "" = use `redis` */
  char redis_sentinel_master[64]; /* the name the Sentinels monitor */
  char redis_sentinel_password_file[256]; /* "" = Sentinels without requirepass */
  char redis_sentinel_password[256];      /* read by lp_config_load_secrets; not an option */
  uint32_t redis_wait_replicas;           /* 0 = acknowledge after EXEC; N = only once N replicas have it (WAIT) */
  uint32_t redis_wait_timeout_ms;
  uint32_t max_frame_bytes;
  uint32_t max_connections;
  uint32_t max_connections_per_address; /* TCP peers from one IP address (unix sockets are not counted) */
  uint32_t hello_timeout_ms;            /* after connect: Hello (and a TLS handshake) complete within this */
  uint32_t frame_timeout_ms;            /* once a frame has begun, all of it within this */
  uint32_t max_output_total_bytes;      /* unsent replies of all connections together */
  uint32_t idle_timeout_s;              /* 0 = never */
  uint32_t max_watchers;                /* watching connections (watch) at once */
  uint32_t max_pending_requests;
  uint32_t output_high_water_bytes;
  uint32_t default_page_size;
  uint32_t max_page_size;
  uint32_t max_id_bytes;
  uint32_t max_name_bytes;
  uint32_t max_short_text_bytes;
  uint32_t max_text_bytes;
  uint32_t max_recognitions;
  uint32_t max_preferences;
  uint32_t max_exclusions;
  uint32_t redis_timeout_ms;
  uint32_t redis_reconnect_min_ms;
  uint32_t redis_reconnect_max_ms;
  uint32_t events_max_length; /* approximate MAXLEN of the lp:events stream */
  uint32_t follow_events;     /* 1: follow lp:events to apply other daemons' writes */
  uint32_t shutdown_grace_ms;
  /* The rematch (lp_rematch.c): when it runs by itself, how it weighs pairs, its lock. */
  uint32_t trend_interval_s;          /* refresh of today's headline snapshot lp:trend:<day>, s */
  char rematch_nightly_time[8];       /* "HH:MM" local time; "" = no nightly rematch */
  uint32_t rematch_lock_ttl_ms;       /* expiry of lp:lock:rematch (a crashed daemon frees it) */
  uint32_t rematch_write_chunk_bytes; /* size of one staged commit of the epoch write */
  uint32_t rematch_cost_per_100m;     /* the eligibility_weights, see matcher/eligibility.h */
  uint32_t rematch_preference_rank_step;
  uint32_t rematch_not_preferred_penalty;
  uint32_t rematch_move_penalty;         /* the move threshold: a proposal moves only if better by more */
  uint32_t rematch_ready_on_preparatory; /* leftover preparatory seats for partly ready and ready pupils */
  uint32_t rematch_start_window_days;    /* rule 6: days a vacancy may start after the wanted start */
  uint32_t rematch_hint_pair_budget;     /* the work the hint checks may do per rematch */
  /* The answer deadline of proposals and its reminder (lp_deadlines.c). */
  uint32_t proposal_answer_seconds;   /* from proposal to deadline */
  uint32_t proposal_reminder_seconds; /* the reminder event this long before it; 0 = none */
} lp_config;

/* Sets every field to its documented default. */
void lp_config_defaults(lp_config *config);
/* Reads an INI file over the current values; 0 or -1 with the reason in error. */
int lp_config_load_file(lp_config *config, const char *path, char *error, size_t error_size);
/* Sets one option by its name (the INI key and the flag name, e.g. "max_frame_bytes");
 * 0 or -1 with the reason in error. */
int lp_config_set(lp_config *config, const char *name, const char *value, char *error, size_t error_size);
/* The rulebook's weights from the rematch_* options (the rest at the rulebook's defaults). */
void lp_config_rule_weights(const lp_config *config, eligibility_weights *weights);
/* Checks values that depend on each other; 0 or -1 with the reason. */
int lp_config_validate(const lp_config *config, char *error, size_t error_size);
/* Reads the secrets the options point at (the Redis password); 0 or -1 with the reason. */
int lp_config_load_secrets(lp_config *config, char *error, size_t error_size);
/* rematch_nightly_time as minutes after midnight, or -1 when empty or malformed. */
int lp_config_nightly_minute(const lp_config *config);
/* Writes every option with its default and meaning (for --help). */
void lp_config_print_help(FILE *out);

#endif
