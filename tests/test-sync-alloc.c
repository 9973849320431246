/* Uncontended sync operations allocate nothing.  Linked against uva_fault,
 * the build that caches no object (every future is an allocation), so that
 * counting allocator calls sees each future an operation makes. */
#include "test-util.h"

#include <stdatomic.h>

static atomic_long calls;

static void *c_malloc(size_t n) {
  atomic_fetch_add(&calls, 1);
  return malloc(n);
}
static void *c_calloc(size_t n, size_t m) {
  atomic_fetch_add(&calls, 1);
  return calloc(n, m);
}
static void *c_realloc(void *p, size_t n) {
  atomic_fetch_add(&calls, 1);
  return realloc(p, n);
}

typedef struct {
  uva_mutex_t *m;
  uva_rwlock_t *rw;
  uva_semaphore_t *s;
  uva_notify_t *n;
  long fast, slow;
} objs_t;

static int body(void *arg, uva_result_t *r) {
  objs_t *o = arg;
  long before;
  (void)r;
  before = atomic_load(&calls);
  for (int i = 0; i < 100; i++) {
    ck_assert_int_eq(uva_mutex_lock_wait(o->m), 0);
    ck_assert_int_eq(uva_mutex_unlock(o->m), 0);
    ck_assert_int_eq(uva_mutex_try_lock(o->m), 0);
    ck_assert_int_eq(uva_mutex_unlock(o->m), 0);
    ck_assert_int_eq(uva_semaphore_acquire_wait(o->s, 2), 0);
    ck_assert_int_eq(uva_semaphore_try_acquire(o->s, 1), 0);
    ck_assert_int_eq(uva_semaphore_release(o->s, 3), 0);
    ck_assert_int_eq(uva_rwlock_lock_wait(o->rw, 0), 0);
    ck_assert_int_eq(uva_rwlock_read_unlock(o->rw), 0);
    ck_assert_int_eq(uva_rwlock_lock_wait(o->rw, 1), 0);
    ck_assert_int_eq(uva_rwlock_write_unlock(o->rw), 0);
    ck_assert_int_eq(uva_notify_one(o->n), 0);
    ck_assert_int_eq(uva_notify_wait(o->n), 0);
  }
  o->fast = atomic_load(&calls) - before;
  /* the future forms do allocate their future (the test can tell) */
  before = atomic_load(&calls);
  ck_assert_int_eq(uva_await(uva_mutex_lock(o->m), NULL), 0);
  ck_assert_int_eq(uva_mutex_unlock(o->m), 0);
  o->slow = atomic_load(&calls) - before;
  return 0;
}

START_TEST(uncontended_allocates_nothing) {
  LOOP_INIT(loop);
  objs_t o;
  memset(&o, 0, sizeof(o));
  ck_assert_int_eq(uva_mutex_new(loop, &o.m), 0);
  ck_assert_int_eq(uva_rwlock_new(loop, &o.rw), 0);
  ck_assert_int_eq(uva_semaphore_new(loop, 3, &o.s), 0);
  ck_assert_int_eq(uva_notify_new(loop, &o.n), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, body, &o), NULL), 0);
  ck_assert_int_eq(o.fast, 0);
  ck_assert_int_ge(o.slow, 1);
  uva_mutex_free(o.m);
  uva_rwlock_free(o.rw);
  uva_semaphore_free(o.s);
  uva_notify_free(o.n);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sync-alloc");
  TCase *tc = tcase_create("alloc");
  if (uva_replace_allocator(c_malloc, c_realloc, c_calloc, free) != 0)
    return EXIT_FAILURE;
  tcase_add_test(tc, uncontended_allocates_nothing);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
