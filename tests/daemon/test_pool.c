/* test_pool: the call pool and the recycler (daemon/lp_pool.c) that a get call's request, reply
 * tree and reply bookkeeping live in: blocks are zeroed, aligned and apart, a reset keeps the
 * first chunk for the next call, a message unpacked into the pool reads back whole, and a
 * recycled object comes back zeroed. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "leerplek.pb-c.h"
#include "lp_pool.h"

Test(pool, blocks_are_zeroed_aligned_and_apart) {
  lp_pool pool = {0};
  enum { COUNT = 2000 };
  static unsigned char *blocks[COUNT];
  static size_t sizes[COUNT];
  for (size_t i = 0; i < COUNT; i++) {
    sizes[i] = i % 7 == 0 ? 0 : (i * 37) % 9000; /* 0 bytes, small ones and ones above a chunk's quarter */
    blocks[i] = lp_pool_alloc(&pool, sizes[i]);
    cr_assert_not_null(blocks[i]);
    cr_assert_eq((uintptr_t)blocks[i] % 16, 0, "block %zu is not 16-byte aligned", i);
    for (size_t b = 0; b < sizes[i]; b++) cr_assert_eq(blocks[i][b], 0, "block %zu byte %zu not zeroed", i, b);
    memset(blocks[i], (int)(i & 0xFF), sizes[i]);
  }
  for (size_t i = 0; i < COUNT; i++) {
    for (size_t b = 0; b < sizes[i]; b++)
      cr_assert_eq(blocks[i][b], (unsigned char)(i & 0xFF), "block %zu was overwritten by another", i);
    for (size_t j = i + 1; j < COUNT && j < i + 4; j++) cr_assert_neq(blocks[i], blocks[j], "two blocks share memory");
  }
  char *copy = lp_pool_strdup(&pool, "bench-school-3/bench-pupil-0123");
  cr_assert_str_eq(copy, "bench-school-3/bench-pupil-0123");
  lp_pool_free(&pool);
  cr_assert_eq(pool.count, 0);
  cr_assert_null(pool.first);
}

Test(pool, a_reset_keeps_the_first_chunk_for_the_next_call) {
  lp_pool pool = {0};
  unsigned char *first = lp_pool_alloc(&pool, 100);
  for (int i = 0; i < 100; i++) lp_pool_alloc(&pool, 1000); /* more chunks and nothing kept of them */
  lp_pool_reset(&pool);
  cr_assert_eq(pool.count, 0, "a reset frees every block but the first chunk");
  unsigned char *again = lp_pool_alloc(&pool, 100);
#if !defined(__SANITIZE_ADDRESS__)
  cr_assert_eq(again, first, "the next call should reuse the first chunk");
#endif
  (void)first;
  for (int b = 0; b < 100; b++) cr_assert_eq(again[b], 0);
  lp_pool_free(&pool);
}

Test(pool, a_message_unpacked_into_the_pool_reads_back_whole) {
  Leerplek__V1__GetPupilRequest body = LEERPLEK__V1__GET_PUPIL_REQUEST__INIT;
  body.school_id = (char *)"school-1";
  body.pupil_ref = (char *)"p-1";
  Leerplek__V1__Request request = LEERPLEK__V1__REQUEST__INIT;
  request.request_id = 77;
  request.token = (char *)"lp1.token";
  request.body_case = LEERPLEK__V1__REQUEST__BODY_GET_PUPIL;
  request.get_pupil = &body;
  uint8_t bytes[256];
  size_t size = leerplek__v1__request__pack(&request, bytes);
  lp_pool pool = {0};
  for (int round = 0; round < 3; round++) {
    ProtobufCAllocator allocator = lp_pool_protobuf_allocator(&pool);
    Leerplek__V1__Request *got = leerplek__v1__request__unpack(&allocator, size, bytes);
    cr_assert_not_null(got);
    for (int i = 0; i < 50; i++) memset(lp_pool_alloc(&pool, 64), 0xAB, 64); /* the reply's scratch after it */
    cr_assert_eq(got->request_id, 77);
    cr_assert_str_eq(got->token, "lp1.token");
    cr_assert_eq(got->body_case, LEERPLEK__V1__REQUEST__BODY_GET_PUPIL);
    cr_assert_str_eq(got->get_pupil->school_id, "school-1");
    cr_assert_str_eq(got->get_pupil->pupil_ref, "p-1");
    lp_pool_reset(&pool); /* no free_unpacked: the pool owns all of it */
  }
  lp_pool_free(&pool);
}

Test(pool, a_recycled_object_comes_back_zeroed) {
  lp_recycler recycler = {0};
  enum { SIZE = 72 };
  unsigned char *objects[10];
  for (int i = 0; i < 10; i++) {
    objects[i] = lp_recycler_get(&recycler, SIZE);
    for (int b = 0; b < SIZE; b++) cr_assert_eq(objects[i][b], 0);
    memset(objects[i], 0xCD, SIZE);
  }
  for (int i = 0; i < 10; i++) lp_recycler_put(&recycler, objects[i]);
  lp_recycler_put(&recycler, NULL);
  for (int i = 0; i < 10; i++) {
    objects[i] = lp_recycler_get(&recycler, SIZE);
    for (int b = 0; b < SIZE; b++) cr_assert_eq(objects[i][b], 0, "object %d byte %d kept old contents", i, b);
  }
  cr_assert_eq(recycler.kept, 0);
  for (int i = 0; i < 10; i++) free(objects[i]);
}
