/* lp_state: the in-memory working set. Every entity by key in a sorted map (so lists page in key
 * order); reads are answered from here, mutations are applied here once sent to Redis. */
#ifndef LP_STATE_H
#define LP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leerplek.pb-c.h"

/* A map from a string key to an owned value, sorted by key (byte order). */
typedef struct lp_map_entry {
  char *key;
  void *value;
  uint8_t *packed; /* the value packed, once lp_state_packed was asked; else NULL */
  size_t packed_size;
} lp_map_entry;

typedef struct lp_map {
  lp_map_entry *entries;
  size_t count;
  size_t capacity;
  void (*free_value)(void *value);
  /* Another value whenever its set of keys changes (lp_map_keys_changed), unique across maps
   * and states: a reader that holds indices into the map (a rematch's snapshot, taken in
   * slices, refers to companies and trainings by rank) sees in one comparison whether they
   * still hold, instead of comparing every key. */
  uint64_t key_version;
} lp_map;

/* To be called by whatever adds or removes keys of map (lp_state's own functions do). */
void lp_map_keys_changed(lp_map *map);

/* A token: its public description and the SHA-256 of its secret. */
typedef struct lp_token {
  Leerplek__V1__TokenInfo *info;
  unsigned char hash[32];
} lp_token;

/* The kinds of records, each stored under lp:<name>:<key> in Redis. */
enum lp_kind {
  LP_KIND_TRAINING,
  LP_KIND_COMPANY,
  LP_KIND_LOCATION,
  LP_KIND_VACANCY,
  LP_KIND_PUPIL,                /* key "<school_id>/<ref>" */
  LP_KIND_PLACEMENT,            /* key "<school_id>/<ref>", the pupil's latest request */
  LP_KIND_TOKEN,                /* value lp_token; the hash is stored under lp:tokenhash:<id> */
  LP_KIND_SUPPORT_ORGANISATION, /* a support organisation with its sites */
  LP_KIND_SUPPORT_OFFER,        /* key: the offer id (globally unique) */
  LP_KIND_REFERRAL,             /* key "<school_id>/<ref>/<component code>", the latest per component */
  LP_KIND_COUNT
};

/* Records are never changed in place: a change is a new value given to lp_state_put, which
 * also drops the old one's packed form (lp_state_packed). */
typedef struct lp_state {
  lp_map maps[LP_KIND_COUNT];
  size_t packed_bytes; /* kept by lp_state_packed, at most LP_STATE_PACKED_BUDGET */
} lp_state;

/* What lp_state_packed keeps in all: the records read first (the hot ones, mostly) up to it. */
#define LP_STATE_PACKED_BUDGET ((size_t)64 << 20)

/* The kind's name in Redis keys ("training", ...) and its message descriptor. */
const char *lp_kind_name(enum lp_kind kind);
const ProtobufCMessageDescriptor *lp_kind_descriptor(enum lp_kind kind);

void lp_state_init(lp_state *state);
void lp_state_free(lp_state *state);

/* The value under key, or NULL. */
void *lp_state_get(const lp_state *state, enum lp_kind kind, const char *key);
/* Stores value under key, freeing any previous value. Always 0 (allocation failure aborts,
 * see lp_alloc.h); the int stays for callers that check. */
int lp_state_put(lp_state *state, enum lp_kind kind, const char *key, void *value);
/* For a bulk load: adds key (a copy) at the end, leaving the map unsorted until lp_state_sort;
 * nothing else may be called on the state in between. O(1), where lp_state_put shifts the
 * array: a load of n records in key order costs one sort instead of n shifts. */
void lp_state_append(lp_state *state, enum lp_kind kind, const char *key, void *value);
/* Sorts every map appended to; of a key appended twice one value is kept, the other freed. */
void lp_state_sort(lp_state *state);
/* The same for one kind's map (a load sorts each kind as soon as it is read whole). */
void lp_state_sort_kind(lp_state *state, enum lp_kind kind);
/* The protobuf bytes of the record under key when it is value (so a reply answered from a copy
 * or from another record is packed by its caller), packed on first use and kept until the
 * record is replaced or removed; NULL when key holds something else, for tokens, or when
 * LP_STATE_PACKED_BUDGET is spent. Saves a get call's reply the packing of its record. */
const uint8_t *lp_state_packed(lp_state *state, enum lp_kind kind, const char *key, const void *value, size_t *size);
/* lp_state_packed with a remembered position: *hint is where the record was found last time
 * (any value will do the first time); tried first, so a hot record costs no second binary
 * search after its handler's lp_state_get. */
const uint8_t *lp_state_packed_hinted(lp_state *state, enum lp_kind kind, const char *key, const void *value,
                                      size_t *size, size_t *hint);
/* Removes and frees the value under key (no-op when absent). */
void lp_state_remove(lp_state *state, enum lp_kind kind, const char *key);
/* The entries whose keys start with prefix: indices first .. end-1 (sorted keys sit together). */
void lp_map_prefix(const lp_map *map, const char *prefix, size_t *first, size_t *end);
/* Removes and frees the entries at indices first .. end-1 of the kind's map. */
void lp_state_remove_range(lp_state *state, enum lp_kind kind, size_t first, size_t end);
/* Index of key in the map (its rank among the keys), or -1 when absent. */
long lp_map_index(const lp_map *map, const char *key);
/* Index of the first entry whose key is greater than after (0 when after is NULL or ""). */
size_t lp_map_after(const lp_map *map, const char *after);

/* A hash index of a map's keys, for a reader that looks up many keys while they hold (a
 * rematch's snapshot: a vacancy's company, location and training): one hash and one strcmp
 * instead of a binary search of strcmps over keys with long common prefixes. It holds ranks,
 * so a lookup rebuilds it when the map's key_version moved; values are read from the map.
 * Zero-initialise; free with lp_map_key_index_free. */
typedef struct lp_map_key_index {
  int32_t *slots; /* ranks, -1 empty */
  size_t mask;
  uint64_t key_version;
} lp_map_key_index;
/* As lp_map_index (the key's rank, or -1), through index. */
long lp_map_key_index_find(lp_map_key_index *index, const lp_map *map, const char *key);
void lp_map_key_index_free(lp_map_key_index *index);

void lp_token_free(void *value);

#endif
