/* lp_alloc: allocation that aborts on failure (see lp_alloc.h for why). */
#include "lp_alloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Says what happened with write(2), which needs no memory, then aborts (a core to look at). */
static void out_of_memory(size_t size) {
  char message[96] = "leerplekd: out of memory allocating ";
  size_t length = strlen(message);
  char digits[24];
  size_t n = 0;
  do digits[n++] = (char)('0' + size % 10);
  while ((size /= 10) && n < sizeof digits);
  while (n && length < sizeof message - 16) message[length++] = digits[--n];
  memcpy(message + length, " bytes; abort\n", 14);
  length += 14;
  ssize_t ignored = write(STDERR_FILENO, message, length);
  (void)ignored;
  abort();
}

void *lp_malloc(size_t size) {
  void *block = malloc(size ? size : 1);
  if (!block) out_of_memory(size);
  return block;
}

void *lp_calloc(size_t count, size_t size) {
  void *block = calloc(count ? count : 1, size ? size : 1);
  if (!block) out_of_memory(count * size);
  return block;
}

void *lp_realloc(void *block, size_t size) {
  void *grown = realloc(block, size ? size : 1);
  if (!grown) out_of_memory(size);
  return grown;
}

char *lp_strdup(const char *text) {
  size_t size = strlen(text) + 1;
  char *copy = lp_malloc(size);
  memcpy(copy, text, size);
  return copy;
}

static void *protobuf_alloc(void *unused, size_t size) {
  (void)unused;
  return lp_malloc(size);
}

static void protobuf_free(void *unused, void *block) {
  (void)unused;
  free(block);
}

ProtobufCAllocator lp_protobuf_allocator = {protobuf_alloc, protobuf_free, NULL};

void lp_alloc_install(void) { event_set_mem_functions(lp_malloc, lp_realloc, free); }
