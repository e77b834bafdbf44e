/* lp_write: the change set (see lp_write.h): one block, its records, all or nothing. */
#include "lp_write.h"

#include <assert.h>
#include <stdlib.h>

#include "lp_alloc.h"

typedef struct change_record {
  enum lp_kind kind;
  char *key;
  void *value; /* what memory gets; NULL: a delete */
  void (*free_value)(void *value);
} change_record;

static void free_message(void *message) { protobuf_c_message_free_unpacked(message, NULL); }

struct lp_change {
  lp_daemon *daemon;
  lp_txn *txn;
  change_record *records;
  size_t count, capacity;
};

lp_change *lp_change_begin(lp_daemon *daemon, const char *op, enum lp_kind kind, const char *key, const char *actor,
                           const char *call) {
  lp_change *change = lp_calloc(1, sizeof *change);
  change->daemon = daemon;
  change->txn = lp_txn_new();
  lp_txn_event(change->txn, daemon->config.instance_id, op, kind, key, actor, daemon->config.events_max_length);
  /* The state before the change: memory has not been touched yet (lp_change_commit does it);
   * the state after comes from the records the block writes (lp_store.h). */
  lp_event_detail detail = {.call = call};
  if (kind == LP_KIND_PLACEMENT) {
    const Leerplek__V1__Placement *before = lp_state_get(&daemon->state, kind, key);
    if (before) detail.old_state = (int)before->state;
  } else if (kind == LP_KIND_REFERRAL) {
    const Leerplek__V1__Referral *before = lp_state_get(&daemon->state, kind, key);
    if (before) detail.old_referral_state = (int)before->state;
  }
  lp_txn_event_detail(change->txn, &detail);
  return change;
}

void lp_change_detail(lp_change *change, const lp_event_detail *detail) {
  if (detail) lp_txn_event_detail(change->txn, detail);
}

void lp_change_event(lp_change *change, const char *op, enum lp_kind kind, const char *key) {
  lp_txn_event_like(change->txn, op, kind, key);
}

static void remember(lp_change *change, enum lp_kind kind, const char *key, void *value, void (*free_value)(void *)) {
  /* Doubling: a dispatch plan or a deadline sweep puts thousands of records in one change. */
  if (change->count == change->capacity) {
    change->capacity = change->capacity ? 2 * change->capacity : 8;
    change->records = lp_realloc(change->records, change->capacity * sizeof *change->records);
  }
  change->records[change->count++] = (change_record){kind, lp_strdup(key), value, free_value};
}

void lp_change_put_value(lp_change *change, enum lp_kind kind, const char *key, const ProtobufCMessage *written,
                         void *value, void (*free_value)(void *value)) {
  assert(written && value && written->descriptor == lp_kind_descriptor(kind));
  lp_txn_put(change->txn, kind, key, written);
  remember(change, kind, key, value, free_value);
}

void lp_change_put(lp_change *change, enum lp_kind kind, const char *key, void *record) {
  lp_change_put_value(change, kind, key, record, record, free_message);
}

void lp_change_delete(lp_change *change, enum lp_kind kind, const char *key) {
  lp_txn_delete(change->txn, kind, key);
  remember(change, kind, key, NULL, NULL);
}

lp_txn *lp_change_txn(lp_change *change) { return change->txn; }

static void free_records(lp_change *change, bool with_values) {
  for (size_t i = 0; i < change->count; i++) {
    if (with_values && change->records[i].value) change->records[i].free_value(change->records[i].value);
    free(change->records[i].key);
  }
  free(change->records);
  free(change);
}

int lp_change_commit(lp_change *change, lp_commit_done *done, void *arg) {
  lp_txn *txn = change->txn;
  change->txn = NULL;
  if (lp_store_commit(change->daemon->store, txn, done, arg) != 0) { /* it freed txn */
    free_records(change, true);
    return -1;
  }
  lp_state *state = &change->daemon->state;
  for (size_t i = 0; i < change->count; i++) {
    const change_record *r = &change->records[i];
    if (r->value)
      lp_state_put(state, r->kind, r->key, r->value);
    else
      lp_state_remove(state, r->kind, r->key);
  }
  free_records(change, false);
  return 0;
}

void lp_change_free(lp_change *change) {
  if (!change) return;
  lp_txn_free(change->txn);
  free_records(change, true);
}
