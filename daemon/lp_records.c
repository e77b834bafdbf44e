/* lp_records: copies and edits of stored records that the handlers and the rematch share. */
#include "lp_records.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lp_alloc.h"

void *lp_clone(const void *message) {
  const ProtobufCMessage *original = message;
  size_t size = protobuf_c_message_get_packed_size(original);
  uint8_t *bytes = lp_malloc(size);
  protobuf_c_message_pack(original, bytes);
  ProtobufCMessage *copy = protobuf_c_message_unpack(original->descriptor, &lp_protobuf_allocator, size, bytes);
  free(bytes);
  /* Bytes just packed from a valid message always unpack: a NULL here is a broken invariant. */
  if (!copy) abort();
  return copy;
}

void lp_set_string(char **field, const char *value) {
  char *copy = lp_strdup(value);
  /* protobuf-c's unpacked messages may point empty strings at its shared empty string. */
  if (*field && *field != protobuf_c_empty_string) free(*field);
  *field = copy;
}

void lp_placement_end_manual(Leerplek__V1__Placement *placement) {
  placement->pinned = false;
  if (placement->manual) protobuf_c_message_free_unpacked(&placement->manual->base, NULL);
  placement->manual = NULL;
}
