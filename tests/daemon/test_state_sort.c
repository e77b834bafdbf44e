/* test_state_sort: in-process, the bulk load's one sort (lp_state_append, lp_state_sort in
 * lp_state.c), which compares keys by their first 16 bytes as numbers before reading them: its
 * order must be strcmp's for keys of every length around 8 and 16 bytes, keys sharing long
 * prefixes and bytes above 0x7f, and a key appended twice keeps one value. Also each map's
 * key_version, which changes with its set of keys and only with it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_state.h"

static int by_text(const void *left, const void *right) { return strcmp(*(char *const *)left, *(char *const *)right); }

static Leerplek__V1__Training *training_named(const char *code) {
  Leerplek__V1__Training *training = malloc(sizeof *training);
  leerplek__v1__training__init(training);
  training->code = strdup(code);
  training->name = strdup("");
  return training;
}

Test(state_sort, a_bulk_load_is_in_strcmp_order_without_duplicates) {
  enum { KEYS = 3000 };
  static char *keys[KEYS];
  unsigned seed = 12345;
  const char *stems[] = {
      "", "V", "VT1", "VT1532/P-", "VT1532/P-03003", "VT1532/P-030030/", "1064991308", "\xc3\xa9t\xc3\xa9"};
  for (int i = 0; i < KEYS; i++) {
    char key[64];
    seed = seed * 1103515245u + 12345u;
    const char *stem = stems[(seed >> 8) % (sizeof stems / sizeof stems[0])];
    /* Tails of 0 to 12 characters put the lengths on both sides of 8 and 16. */
    int tail = (int)((seed >> 16) % 13);
    snprintf(key, sizeof key, "%s%.*s", stem, tail, "0123456789ab" + (seed >> 4) % 2);
    if (key[0] == '\0') snprintf(key, sizeof key, "x");
    keys[i] = strdup(key);
  }
  lp_state state;
  lp_state_init(&state);
  for (int i = 0; i < KEYS; i++) lp_state_append(&state, LP_KIND_TRAINING, keys[i], training_named(keys[i]));
  lp_state_sort(&state);

  static char *sorted[KEYS];
  memcpy(sorted, keys, sizeof keys);
  qsort(sorted, KEYS, sizeof sorted[0], by_text);
  size_t distinct = 0;
  for (int i = 0; i < KEYS; i++)
    if (i == 0 || strcmp(sorted[i], sorted[distinct - 1]) != 0) sorted[distinct++] = sorted[i];
  cr_assert_lt(distinct, (size_t)KEYS, "the keys include duplicates");
  const lp_map *map = &state.maps[LP_KIND_TRAINING];
  cr_assert_eq(map->count, distinct, "%zu entries for %zu distinct keys", map->count, distinct);
  for (size_t i = 0; i < distinct; i++) {
    cr_assert_str_eq(map->entries[i].key, sorted[i], "entry %zu", i);
    const Leerplek__V1__Training *training = lp_state_get(&state, LP_KIND_TRAINING, sorted[i]);
    cr_assert_not_null(training, "%s not found", sorted[i]);
    cr_assert_str_eq(training->code, sorted[i], "the kept value belongs to its key");
  }
  lp_state_free(&state);
  for (int i = 0; i < KEYS; i++) free(keys[i]);
}

/* A rematch's snapshot trusts key_version to say whether the ranks of a map's keys still hold:
 * it must change with every key added or removed (and with a sort), never with a value replaced,
 * and two states must not share a value. */
Test(state_sort, key_version_changes_with_the_keys_and_only_with_them) {
  lp_state state, other;
  lp_state_init(&state);
  lp_state_init(&other);
  lp_map *map = &state.maps[LP_KIND_TRAINING];
  cr_assert_neq(map->key_version, other.maps[LP_KIND_TRAINING].key_version, "two states share a key_version");
  cr_assert_neq(map->key_version, state.maps[LP_KIND_COMPANY].key_version, "two maps share a key_version");
  uint64_t before = map->key_version;
  lp_state_put(&state, LP_KIND_TRAINING, "B", training_named("B"));
  cr_assert_neq(map->key_version, before, "a new key left key_version as it was");
  before = map->key_version;
  lp_state_put(&state, LP_KIND_TRAINING, "B", training_named("B"));
  cr_assert_eq(map->key_version, before, "a value replaced under the same key changed key_version");
  lp_state_append(&state, LP_KIND_TRAINING, "A", training_named("A"));
  cr_assert_neq(map->key_version, before, "an appended key left key_version as it was");
  before = map->key_version;
  lp_state_sort(&state);
  cr_assert_neq(map->key_version, before, "a sort (other ranks) left key_version as it was");
  cr_assert_str_eq(map->entries[0].key, "A");
  before = map->key_version;
  lp_state_remove(&state, LP_KIND_TRAINING, "missing");
  cr_assert_eq(map->key_version, before, "removing an absent key changed key_version");
  lp_state_remove(&state, LP_KIND_TRAINING, "A");
  cr_assert_neq(map->key_version, before, "a removed key left key_version as it was");
  before = map->key_version;
  lp_state_remove_range(&state, LP_KIND_TRAINING, 0, map->count);
  cr_assert_neq(map->key_version, before, "a removed range left key_version as it was");
  cr_assert_eq(map->count, 0);
  lp_state_free(&state);
  lp_state_free(&other);
}

/* lp_state_get remembers where it found a key (lp_state.c): whatever moved since, in this
 * state or in another one, it returns the value under the key asked for, or NULL. */
Test(state_sort, lp_state_get_finds_each_key_after_inserts_removals_and_in_another_state) {
  enum { KEYS = 3000 };
  lp_state first, second;
  lp_state_init(&first);
  lp_state_init(&second);
  char key[32];
  for (int i = 0; i < KEYS; i += 2) { /* even keys only: the odd ones are inserted between them */
    snprintf(key, sizeof key, "S1/p%05d", i);
    lp_state_put(&first, LP_KIND_TRAINING, key, training_named(key));
  }
  snprintf(key, sizeof key, "S1/p%05d", 0);
  lp_state_put(&second, LP_KIND_TRAINING, key, training_named("other"));
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < KEYS; i++) {
      snprintf(key, sizeof key, "S1/p%05d", i);
      const Leerplek__V1__Training *found = lp_state_get(&first, LP_KIND_TRAINING, key);
      bool present = i % 2 == 0 ? (round < 2 || i % 4 != 0) : round >= 1;
      if (!present) {
        cr_assert_null(found, "round %d: %s should be absent", round, key);
        continue;
      }
      cr_assert_not_null(found, "round %d: %s not found", round, key);
      cr_assert_str_eq(found->code, key);
      /* The other state holds one key, at another place: never first's value. */
      const Leerplek__V1__Training *other = lp_state_get(&second, LP_KIND_TRAINING, key);
      if (i == 0)
        cr_assert(other && strcmp(other->name, "") == 0 && strcmp(other->code, "other") == 0);
      else
        cr_assert_null(other, "second state: %s", key);
    }
    if (round == 0) /* every odd key inserted: the even ones all move */
      for (int i = 1; i < KEYS; i += 2) {
        snprintf(key, sizeof key, "S1/p%05d", i);
        lp_state_put(&first, LP_KIND_TRAINING, key, training_named(key));
      }
    if (round == 1) /* every fourth key removed: the rest move back */
      for (int i = 0; i < KEYS; i += 4) {
        snprintf(key, sizeof key, "S1/p%05d", i);
        lp_state_remove(&first, LP_KIND_TRAINING, key);
      }
  }
  lp_state_free(&first);
  lp_state_free(&second);
}

/* lp_map_key_index_find answers as lp_map_index (the rank, or -1) for every key, present or
 * absent, while keys are inserted and removed between lookups (it rebuilds on key_version),
 * and for an empty map. */
Test(state_sort, a_key_index_gives_the_ranks_of_lp_map_index_across_key_changes) {
  enum { KEYS = 2000 };
  lp_state state;
  lp_state_init(&state);
  lp_map_key_index index = {0};
  const lp_map *map = &state.maps[LP_KIND_TRAINING];
  char key[32];
  cr_assert_eq(lp_map_key_index_find(&index, map, "absent"), -1, "an empty map has no keys");
  for (int i = 0; i < KEYS; i += 3) {
    snprintf(key, sizeof key, "TR-%05d", i);
    lp_state_put(&state, LP_KIND_TRAINING, key, training_named(key));
  }
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < KEYS; i++) {
      snprintf(key, sizeof key, "TR-%05d", i);
      long expected = lp_map_index(map, key), found = lp_map_key_index_find(&index, map, key);
      cr_assert_eq(found, expected, "round %d: %s at %ld by the index, %ld by the map", round, key, found, expected);
    }
    for (int i = 1; i < KEYS; i += 7) { /* new keys between the old ones, and some old ones gone */
      snprintf(key, sizeof key, "TR-%05d", i);
      if (round % 2 == 0)
        lp_state_put(&state, LP_KIND_TRAINING, key, training_named(key));
      else
        lp_state_remove(&state, LP_KIND_TRAINING, key);
    }
    snprintf(key, sizeof key, "TR-%05d", round * 3);
    lp_state_remove(&state, LP_KIND_TRAINING, key);
  }
  lp_map_key_index_free(&index);
  lp_state_free(&state);
}
