/* lp_alloc: the daemon's one out-of-memory policy. An allocation that fails ends the process
 * with a message on stderr and abort(), as Redis and hiredis do: a daemon that cannot allocate
 * cannot answer truthfully either, and systemd restarts it from Redis, the store of record.
 * So no caller has an out-of-memory branch (those were never tested and some replied from
 * records they had just freed). libevent's allocations and protobuf-c's unpacking go through
 * the same functions. */
#ifndef LP_ALLOC_H
#define LP_ALLOC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Never NULL; a size of 0 still gives a distinct block. */
void *lp_malloc(size_t size);
void *lp_calloc(size_t count, size_t size);
void *lp_realloc(void *block, size_t size);
char *lp_strdup(const char *text);

/* For protobuf_c unpack calls (and their free_unpacked): allocation through lp_malloc. */
extern ProtobufCAllocator lp_protobuf_allocator;

/* Routes libevent's allocations through lp_malloc/lp_realloc; call before any libevent call. */
void lp_alloc_install(void);

#endif
