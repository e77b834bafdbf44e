/* lp_pool: allocations that are freed together (a call's scratch memory and its unpacked
 * request, a report being rendered): what a reply's message tree points into lives until the
 * pool is freed or reset. Small allocations are carved from chunks (one malloc per chunk, not
 * per message or string: a get call used to cost a dozen mallocs and frees); a pool reset
 * between calls keeps its first chunk, so a call on the hot path allocates nothing. Under
 * AddressSanitizer every allocation is its own block again, so a use after the pool is freed
 * or reset is still caught. A zeroed lp_pool ({0}) is an empty pool. */
#ifndef LP_POOL_H
#define LP_POOL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct lp_pool {
  void **blocks; /* chunks after the first, large allocations (every one under ASan) */
  size_t count, capacity;
  unsigned char *first; /* the first chunk, kept by lp_pool_reset */
  unsigned char *chunk; /* the chunk being carved */
  size_t used, chunk_size;
} lp_pool;

/* size zeroed bytes owned by the pool; never NULL (see lp_alloc.h). */
void *lp_pool_alloc(lp_pool *pool, size_t size);
/* size bytes, not zeroed (for protobuf-c's unpacking, which fills all it allocates). */
void *lp_pool_alloc_raw(lp_pool *pool, size_t size);
char *lp_pool_strdup(lp_pool *pool, const char *text);
/* Frees every block; the pool is empty and usable again. */
void lp_pool_free(lp_pool *pool);
/* Frees every block but the first chunk, which the next allocations reuse. */
void lp_pool_reset(lp_pool *pool);
/* A protobuf-c allocator that unpacks into pool: its free does nothing (the pool's reset or
 * free does it all), so a message unpacked with it needs no free_unpacked. */
ProtobufCAllocator lp_pool_protobuf_allocator(lp_pool *pool);

/* A free list of objects of one size (a call's reply and its place in the queue: two per
 * request), so the hot path reuses them instead of a calloc and a free each. Keeps at most
 * LP_RECYCLER_KEEP objects; under AddressSanitizer it keeps none (a use after free is caught).
 * A zeroed lp_recycler is empty; size is fixed by the first lp_recycler_get. Loop thread only. */
typedef struct lp_recycler {
  void *free_list; /* each free object's first bytes point to the next */
  size_t kept, size;
} lp_recycler;
#define LP_RECYCLER_KEEP 4096
/* size zeroed bytes (size >= sizeof(void *), the same on every call); never NULL. */
void *lp_recycler_get(lp_recycler *recycler, size_t size);
/* Gives object (from lp_recycler_get) back; NULL does nothing. */
void lp_recycler_put(lp_recycler *recycler, void *object);

#endif
