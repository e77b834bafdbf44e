/* lp_pool: allocations that are freed together (a call's scratch memory, a report being
 * rendered): what a reply's message tree points into lives until the pool is freed. */
#ifndef LP_POOL_H
#define LP_POOL_H

#include <stddef.h>

typedef struct lp_pool {
  void **blocks;
  size_t count, capacity;
} lp_pool;

/* size zeroed bytes owned by the pool; never NULL (see lp_alloc.h). */
void *lp_pool_alloc(lp_pool *pool, size_t size);
char *lp_pool_strdup(lp_pool *pool, const char *text);
/* Frees every block; the pool is empty and usable again. */
void lp_pool_free(lp_pool *pool);

#endif
