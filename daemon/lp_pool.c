/* lp_pool: allocations freed together, carved from chunks (see lp_pool.h). */
#include "lp_pool.h"

#include <stdlib.h>
#include <string.h>

#include "lp_alloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_CHUNKS 0 /* every allocation its own block: AddressSanitizer sees each one */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_CHUNKS 0
#endif
#endif
#ifndef POOL_CHUNKS
#define POOL_CHUNKS 1
#endif

/* A chunk holds a get call's request and reply many times over; a list page or a report
 * takes a few. Allocations above a quarter of it get blocks of their own. */
enum { CHUNK_SIZE = 16 * 1024, ALIGNMENT = 16 };

static void keep_block(lp_pool *pool, void *block) {
  if (pool->count == pool->capacity) {
    size_t capacity = pool->capacity ? pool->capacity * 2 : 16;
    pool->blocks = lp_realloc(pool->blocks, capacity * sizeof *pool->blocks);
    pool->capacity = capacity;
  }
  pool->blocks[pool->count++] = block;
}

void *lp_pool_alloc_raw(lp_pool *pool, size_t size) {
  size_t rounded = size ? (size + ALIGNMENT - 1) & ~(size_t)(ALIGNMENT - 1) : ALIGNMENT; /* distinct blocks */
  if (!POOL_CHUNKS || rounded > CHUNK_SIZE / 4 || rounded < size) {
    void *block = lp_malloc(size);
    keep_block(pool, block);
    return block;
  }
  if (!pool->chunk || pool->chunk_size - pool->used < rounded) {
    if (!pool->first) {
      pool->first = lp_malloc(CHUNK_SIZE);
      pool->chunk = pool->first;
    } else {
      pool->chunk = lp_malloc(CHUNK_SIZE);
      keep_block(pool, pool->chunk);
    }
    pool->chunk_size = CHUNK_SIZE;
    pool->used = 0;
  }
  void *block = pool->chunk + pool->used;
  pool->used += rounded;
  return block;
}

void *lp_pool_alloc(lp_pool *pool, size_t size) {
  void *block = lp_pool_alloc_raw(pool, size);
  memset(block, 0, size);
  return block;
}

char *lp_pool_strdup(lp_pool *pool, const char *text) {
  size_t size = strlen(text) + 1;
  char *copy = lp_pool_alloc_raw(pool, size);
  memcpy(copy, text, size);
  return copy;
}

static void free_blocks(lp_pool *pool) {
  for (size_t i = 0; i < pool->count; i++) free(pool->blocks[i]);
  pool->count = 0;
}

void lp_pool_free(lp_pool *pool) {
  free_blocks(pool);
  free(pool->blocks);
  free(pool->first);
  memset(pool, 0, sizeof *pool);
}

void lp_pool_reset(lp_pool *pool) {
  free_blocks(pool);
  pool->chunk = pool->first;
  pool->chunk_size = pool->first ? CHUNK_SIZE : 0;
  pool->used = 0;
}

static void *protobuf_pool_alloc(void *pool, size_t size) { return lp_pool_alloc_raw(pool, size); }

static void protobuf_pool_free(void *pool, void *block) {
  (void)pool;
  (void)block; /* the pool's reset or free releases it */
}

ProtobufCAllocator lp_pool_protobuf_allocator(lp_pool *pool) {
  return (ProtobufCAllocator){protobuf_pool_alloc, protobuf_pool_free, pool};
}

void *lp_recycler_get(lp_recycler *recycler, size_t size) {
  recycler->size = size;
  void *object = recycler->free_list;
  if (!object) return lp_calloc(1, size);
  recycler->free_list = *(void **)object;
  recycler->kept--;
  memset(object, 0, size);
  return object;
}

void lp_recycler_put(lp_recycler *recycler, void *object) {
  if (!object) return;
  if (!POOL_CHUNKS || recycler->kept >= LP_RECYCLER_KEEP) {
    free(object);
    return;
  }
  *(void **)object = recycler->free_list;
  recycler->free_list = object;
  recycler->kept++;
}
