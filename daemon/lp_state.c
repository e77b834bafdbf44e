/* lp_state: sorted maps of protobuf records, one per kind. Inserts shift the array (O(n)),
 * which is fine for single writes; a load appends everything and sorts once (lp_state_append,
 * lp_state_sort, comparing the keys' first 16 bytes as numbers). Lookups and page starts are binary searches. An entry
 * may keep its record's packed form for replies (lp_state_packed); whatever frees or replaces a value drops it. */
#include "lp_state.h"

#include <stdatomic.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"

static const char *const kind_names[LP_KIND_COUNT] = {"training",  "company", "location",   "vacancy",      "pupil",
                                                      "placement", "token",   "supportorg", "supportoffer", "referral"};

const char *lp_kind_name(enum lp_kind kind) { return kind_names[kind]; }

const ProtobufCMessageDescriptor *lp_kind_descriptor(enum lp_kind kind) {
  switch (kind) {
  case LP_KIND_TRAINING: return &leerplek__v1__training__descriptor;
  case LP_KIND_COMPANY: return &leerplek__v1__company__descriptor;
  case LP_KIND_LOCATION: return &leerplek__v1__location__descriptor;
  case LP_KIND_VACANCY: return &leerplek__v1__vacancy__descriptor;
  case LP_KIND_PUPIL: return &leerplek__v1__pupil__descriptor;
  case LP_KIND_PLACEMENT: return &leerplek__v1__placement__descriptor;
  case LP_KIND_TOKEN: return &leerplek__v1__token_info__descriptor;
  case LP_KIND_SUPPORT_ORGANISATION: return &leerplek__v1__support_organisation__descriptor;
  case LP_KIND_SUPPORT_OFFER: return &leerplek__v1__support_offer__descriptor;
  case LP_KIND_REFERRAL: return &leerplek__v1__referral__descriptor;
  default: return NULL;
  }
}

static void free_message(void *value) { protobuf_c_message_free_unpacked(value, NULL); }

void lp_token_free(void *value) {
  lp_token *token = value;
  if (!token) return;
  if (token->info) protobuf_c_message_free_unpacked(&token->info->base, NULL);
  free(token);
}

/* Frees an entry's value and its packed form (not its key). */
static void drop_value(lp_state *state, lp_map *map, lp_map_entry *entry) {
  if (entry->packed) {
    state->packed_bytes -= entry->packed_size;
    free(entry->packed);
    entry->packed = NULL;
  }
  map->free_value(entry->value);
}

/* Atomic: a reload builds its state on another thread while the loop changes the live one. */
static _Atomic uint64_t key_versions;

void lp_map_keys_changed(lp_map *map) { map->key_version = atomic_fetch_add(&key_versions, 1) + 1; }

void lp_state_init(lp_state *state) {
  memset(state, 0, sizeof *state);
  for (int kind = 0; kind < LP_KIND_COUNT; kind++) {
    state->maps[kind].free_value = kind == LP_KIND_TOKEN ? lp_token_free : free_message;
    lp_map_keys_changed(&state->maps[kind]);
  }
}

void lp_state_free(lp_state *state) {
  for (int kind = 0; kind < LP_KIND_COUNT; kind++) {
    lp_map *map = &state->maps[kind];
    for (size_t i = 0; i < map->count; i++) {
      free(map->entries[i].key);
      drop_value(state, map, &map->entries[i]);
    }
    free(map->entries);
    map->entries = NULL;
    map->count = map->capacity = 0;
    lp_map_keys_changed(map);
  }
}

/* Binary search: the index of key, or (when absent) where it would go, with *found set. */
static size_t search(const lp_map *map, const char *key, bool *found) {
  size_t low = 0, high = map->count;
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    int order = strcmp(map->entries[middle].key, key);
    if (order == 0) {
      *found = true;
      return middle;
    }
    if (order < 0)
      low = middle + 1;
    else
      high = middle;
  }
  *found = false;
  return low;
}

/* Where a key was found last, by a hash of the key: a get of a hot record costs one hash and
 * one strcmp instead of a binary search (a dozen strcmps over keys that share long prefixes,
 * a tenth of the daemon's CPU at pipelined reads). A remembered position is only a guess,
 * proved by the key found there (keys are unique in a map), so nothing has to forget it when
 * keys move, and it holds for any map of any state. One table per thread: a reload builds
 * its state on another thread. */
enum { GET_MEMO_SLOTS = 1024 };
static _Thread_local uint32_t get_memo[LP_KIND_COUNT][GET_MEMO_SLOTS];

/* FNV-1a of the key. */
static uint32_t key_hash(const char *key) {
  uint32_t hash = 2166136261u;
  for (const char *at = key; *at; at++) hash = (hash ^ (unsigned char)*at) * 16777619u;
  return hash;
}

void *lp_state_get(const lp_state *state, enum lp_kind kind, const char *key) {
  const lp_map *map = &state->maps[kind];
  uint32_t *memo = &get_memo[kind][key_hash(key) & (GET_MEMO_SLOTS - 1)];
  if (*memo < map->count && strcmp(map->entries[*memo].key, key) == 0) return map->entries[*memo].value;
  bool found;
  size_t at = search(map, key, &found);
  if (!found) return NULL;
  if (at <= UINT32_MAX) *memo = (uint32_t)at;
  return map->entries[at].value;
}

static void grow(lp_map *map) {
  if (map->count < map->capacity) return;
  size_t capacity = map->capacity ? map->capacity * 2 : 64;
  map->entries = lp_realloc(map->entries, capacity * sizeof *map->entries);
  map->capacity = capacity;
}

int lp_state_put(lp_state *state, enum lp_kind kind, const char *key, void *value) {
  lp_map *map = &state->maps[kind];
  bool found;
  size_t at = search(map, key, &found);
  if (found) {
    lp_map_entry *entry = &map->entries[at];
    if (entry->value != value) {
      drop_value(state, map, entry);
    } else if (entry->packed) { /* the same record put again: it may have changed */
      state->packed_bytes -= entry->packed_size;
      free(entry->packed);
      entry->packed = NULL;
    }
    entry->value = value;
    return 0;
  }
  char *own_key = lp_strdup(key);
  grow(map);
  memmove(&map->entries[at + 1], &map->entries[at], (map->count - at) * sizeof map->entries[0]);
  map->entries[at] = (lp_map_entry){.key = own_key, .value = value};
  map->count++;
  lp_map_keys_changed(map);
  return 0;
}

void lp_state_append(lp_state *state, enum lp_kind kind, const char *key, void *value) {
  lp_map *map = &state->maps[kind];
  grow(map);
  map->entries[map->count] = (lp_map_entry){.key = lp_strdup(key), .value = value};
  map->count++;
  lp_map_keys_changed(map);
}

/* A key as the sort sees it: its first 16 bytes as two big-endian numbers (zero-padded, so a
 * shorter key orders first, as in strcmp) and where its entry is. Most comparisons end on the
 * numbers, without reading the key from wherever it was allocated: a load's keys arrive in
 * Redis' hash order, and comparing them through their pointers cost a cache miss each. */
typedef struct sort_key {
  uint64_t high, low;
  const char *key;
  size_t entry;
} sort_key;

/* Up to 8 bytes of text (not empty) as a big-endian number, zero-padded; *taken: how many. */
static uint64_t big_endian_prefix(const char *text, size_t *taken) {
  uint64_t value = 0;
  size_t i = 0;
  for (; i < 8 && text[i]; i++) value = value << 8 | (unsigned char)text[i];
  *taken = i;
  return value << (8 * (8 - i)); /* i >= 1: at most 56 */
}

static void fill_sort_key(sort_key *out, const char *key, size_t entry) {
  size_t taken = 0;
  out->high = key[0] ? big_endian_prefix(key, &taken) : 0;
  out->low = taken == 8 && key[8] ? big_endian_prefix(key + 8, &taken) : 0;
  out->key = key;
  out->entry = entry;
}

/* strcmp's order, from the numbers where they differ (bytes 16.. only when both keys are longer). */
static int by_sort_key(const void *left, const void *right) {
  const sort_key *a = left, *b = right;
  if (a->high != b->high) return a->high < b->high ? -1 : 1;
  if (a->low != b->low) return a->low < b->low ? -1 : 1;
  if ((a->low & 0xff) == 0) return 0; /* the same key, which ended within its first 16 bytes */
  return strcmp(a->key + 16, b->key + 16);
}

void lp_state_sort_kind(lp_state *state, enum lp_kind kind) {
  lp_map *map = &state->maps[kind];
  if (map->count < 2) return;
  sort_key *keys = lp_malloc(map->count * sizeof *keys);
  for (size_t i = 0; i < map->count; i++) fill_sort_key(&keys[i], map->entries[i].key, i);
  qsort(keys, map->count, sizeof *keys, by_sort_key);
  lp_map_entry *sorted = lp_malloc(map->capacity * sizeof *sorted);
  size_t kept = 0, last_kept = 0;
  for (size_t i = 0; i < map->count; i++) {
    lp_map_entry *entry = &map->entries[keys[i].entry];
    /* A key appended more than once: the first stays (compared with it, not with a freed one). */
    if (kept > 0 && by_sort_key(&keys[i], &keys[last_kept]) == 0) {
      free(entry->key);
      drop_value(state, map, entry);
    } else {
      sorted[kept++] = *entry;
      last_kept = i;
    }
  }
  free(keys);
  free(map->entries);
  map->entries = sorted;
  map->count = kept;
  lp_map_keys_changed(map); /* the same keys, at other ranks */
}

void lp_state_sort(lp_state *state) {
  for (int kind = 0; kind < LP_KIND_COUNT; kind++) lp_state_sort_kind(state, (enum lp_kind)kind);
}

const uint8_t *lp_state_packed(lp_state *state, enum lp_kind kind, const char *key, const void *value, size_t *size) {
  size_t hint = SIZE_MAX;
  return lp_state_packed_hinted(state, kind, key, value, size, &hint);
}

const uint8_t *lp_state_packed_hinted(lp_state *state, enum lp_kind kind, const char *key, const void *value,
                                      size_t *size, size_t *hint) {
  if (kind == LP_KIND_TOKEN) return NULL;
  lp_map *map = &state->maps[kind];
  size_t at = *hint;
  /* Values are owned, distinct pointers: an entry holding value is the entry of its key. */
  if (at >= map->count || map->entries[at].value != value) {
    bool found;
    at = search(map, key, &found);
    if (!found || map->entries[at].value != value) return NULL;
    *hint = at;
  }
  lp_map_entry *entry = &map->entries[at];
  if (!entry->packed) {
    size_t packed_size = protobuf_c_message_get_packed_size(value);
    if (state->packed_bytes + packed_size > LP_STATE_PACKED_BUDGET) return NULL;
    entry->packed = lp_malloc(packed_size);
    entry->packed_size = protobuf_c_message_pack(value, entry->packed);
    state->packed_bytes += entry->packed_size;
  }
  *size = entry->packed_size;
  return entry->packed;
}

void lp_state_remove(lp_state *state, enum lp_kind kind, const char *key) {
  lp_map *map = &state->maps[kind];
  bool found;
  size_t at = search(map, key, &found);
  if (!found) return;
  free(map->entries[at].key);
  drop_value(state, map, &map->entries[at]);
  memmove(&map->entries[at], &map->entries[at + 1], (map->count - at - 1) * sizeof map->entries[0]);
  map->count--;
  lp_map_keys_changed(map);
}

void lp_map_prefix(const lp_map *map, const char *prefix, size_t *first, size_t *end) {
  size_t length = strlen(prefix), at = lp_map_after(map, prefix);
  /* lp_map_after skips an entry equal to prefix itself, which also starts with it. */
  if (at > 0 && strcmp(map->entries[at - 1].key, prefix) == 0) at--;
  *first = at;
  while (at < map->count && strncmp(map->entries[at].key, prefix, length) == 0) at++;
  *end = at;
}

void lp_state_remove_range(lp_state *state, enum lp_kind kind, size_t first, size_t end) {
  lp_map *map = &state->maps[kind];
  if (end > map->count) end = map->count;
  if (first >= end) return;
  for (size_t i = first; i < end; i++) {
    free(map->entries[i].key);
    drop_value(state, map, &map->entries[i]);
  }
  memmove(&map->entries[first], &map->entries[end], (map->count - end) * sizeof map->entries[0]);
  map->count -= end - first;
  lp_map_keys_changed(map);
}

void lp_map_key_index_free(lp_map_key_index *index) {
  free(index->slots);
  memset(index, 0, sizeof *index);
}

static void key_index_build(lp_map_key_index *index, const lp_map *map) {
  size_t capacity = 16;
  while (capacity < map->count * 2) capacity *= 2;
  free(index->slots);
  index->slots = lp_malloc(capacity * sizeof *index->slots);
  memset(index->slots, 0xFF, capacity * sizeof *index->slots); /* every slot -1 */
  index->mask = capacity - 1;
  for (size_t rank = 0; rank < map->count; rank++) {
    size_t slot = key_hash(map->entries[rank].key) & index->mask;
    while (index->slots[slot] >= 0) slot = (slot + 1) & index->mask;
    index->slots[slot] = (int32_t)rank;
  }
  index->key_version = map->key_version;
}

long lp_map_key_index_find(lp_map_key_index *index, const lp_map *map, const char *key) {
  /* Ranks are int32: a map beyond that (never in practice) is searched as ever. */
  if (map->count == 0 || map->count > INT32_MAX) return lp_map_index(map, key);
  if (!index->slots || index->key_version != map->key_version) key_index_build(index, map);
  for (size_t slot = key_hash(key) & index->mask; index->slots[slot] >= 0; slot = (slot + 1) & index->mask)
    if (strcmp(map->entries[index->slots[slot]].key, key) == 0) return index->slots[slot];
  return -1;
}

long lp_map_index(const lp_map *map, const char *key) {
  bool found = false;
  size_t index = search(map, key, &found);
  return found ? (long)index : -1;
}

size_t lp_map_after(const lp_map *map, const char *after) {
  if (!after || after[0] == '\0') return 0;
  bool found;
  size_t at = search(map, after, &found);
  return found ? at + 1 : at;
}
