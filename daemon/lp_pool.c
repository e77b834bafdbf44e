/* lp_pool: allocations freed together (see lp_pool.h). */
#include "lp_pool.h"

#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"

void *lp_pool_alloc(lp_pool *pool, size_t size) {
  if (pool->count == pool->capacity) {
    size_t capacity = pool->capacity ? pool->capacity * 2 : 16;
    pool->blocks = lp_realloc(pool->blocks, capacity * sizeof *pool->blocks);
    pool->capacity = capacity;
  }
  void *block = lp_calloc(1, size);
  pool->blocks[pool->count++] = block;
  return block;
}

char *lp_pool_strdup(lp_pool *pool, const char *text) {
  size_t size = strlen(text) + 1;
  char *copy = lp_pool_alloc(pool, size);
  memcpy(copy, text, size);
  return copy;
}

void lp_pool_free(lp_pool *pool) {
  for (size_t i = 0; i < pool->count; i++) free(pool->blocks[i]);
  free(pool->blocks);
  pool->blocks = NULL;
  pool->count = pool->capacity = 0;
}
