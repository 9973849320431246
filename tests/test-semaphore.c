/* Semaphore: permits, FIFO fairness (a large acquire at the head blocks
 * smaller ones), cancellation in every state, select and timeout, close,
 * free with waiters, tasks, releases from a plain thread. */
#include "test-util.h"

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_semaphore_t *s = (uva_semaphore_t *)1;
  ck_assert_int_eq(uva_semaphore_new(NULL, 1, &s), UV_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(uva_semaphore_new(loop, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_new(loop, UVA_SEMAPHORE_MAX + 1, &s),
                   UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_semaphore_acquire(NULL, 1)),
                   UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_try_acquire(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_release(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_close(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_acquire_wait(NULL, 1), UV_EINVAL);
  ck_assert_uint_eq(uva_semaphore_available(NULL), 0);
  uva_semaphore_free(NULL);
  ck_assert_int_eq(uva_semaphore_new(loop, 2, &s), 0);
  uva_future_t *f = uva_semaphore_acquire(s, 0);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 0), UV_EINVAL);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, UVA_SEMAPHORE_MAX + 1), UV_EINVAL);
  /* outside a task */
  ck_assert_int_eq(uva_semaphore_acquire_wait(s, 1), UV_EINVAL);
  ck_assert_uint_eq(uva_semaphore_available(s), 2);
  ck_assert_int_eq(uva_semaphore_release(s, UVA_SEMAPHORE_MAX), UV_EINVAL);
  ck_assert_uint_eq(uva_semaphore_available(s), 2);
  uva_semaphore_free(s);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(try_release_close) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  ck_assert_int_eq(uva_semaphore_new(loop, 3, &s), 0);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 2), 0);
  ck_assert_uint_eq(uva_semaphore_available(s), 1);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 2), UV_EAGAIN);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 1), 0);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 1), UV_EAGAIN);
  ck_assert_int_eq(uva_semaphore_release(s, 3), 0);
  ck_assert_uint_eq(uva_semaphore_available(s), 3);
  ck_assert_int_eq(uva_semaphore_release(s, 5), 0); /* add_permits */
  ck_assert_uint_eq(uva_semaphore_available(s), 8);
  ck_assert_int_eq(uva_semaphore_close(s), 0);
  ck_assert_int_eq(uva_semaphore_close(s), UV_EPIPE);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 1), UV_EPIPE);
  uva_future_t *f = uva_semaphore_acquire(s, 1);
  ck_assert_int_eq(uva_future_status(f), UV_EPIPE);
  uva_future_free(f);
  ck_assert_int_eq(uva_semaphore_release(s, 1), 0);
  uva_semaphore_free(s);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* then callbacks record the order in which acquires were granted. */
static int order[16], norder;
static void granted(int status, uva_value_t v, void *data) {
  ck_assert_int_eq(status, 0);
  (void)v;
  order[norder++] = (int)(intptr_t)data;
}

static void failed_with(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

START_TEST(fifo_large_head_blocks) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  norder = 0;
  ck_assert_int_eq(uva_semaphore_new(loop, 1, &s), 0);
  /* 1 free: the acquire of 3 waits at the head; the acquire of 1 behind it
   * must wait too, although one permit is free. */
  ck_assert_int_eq(uva_future_then(uva_semaphore_acquire(s, 3), granted,
                                   (void *)1), 0);
  ck_assert_int_eq(uva_future_then(uva_semaphore_acquire(s, 1), granted,
                                   (void *)2), 0);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 1), UV_EAGAIN);
  /* waiters keep uv_run alive: a release may come from another thread */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 0);
  ck_assert_int_eq(uva_semaphore_release(s, 1), 0); /* 2: still short */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 0);
  ck_assert_int_eq(uva_semaphore_release(s, 2), 0); /* 4: both go */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(norder, 2);
  ck_assert_int_eq(order[0], 1);
  ck_assert_int_eq(order[1], 2);
  ck_assert_uint_eq(uva_semaphore_available(s), 0);
  uva_semaphore_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancel_every_state) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  uva_future_t *big, *small, *f;
  int st = 1;
  norder = 0;
  ck_assert_int_eq(uva_semaphore_new(loop, 1, &s), 0);
  /* before: an unconsumed acquire has no effect, freed or cancelled */
  f = uva_semaphore_acquire(s, 1);
  uva_future_free(f);
  f = uva_semaphore_acquire(s, 1);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  uva_future_free(f);
  ck_assert_uint_eq(uva_semaphore_available(s), 1);
  /* while waiting: the large head is cancelled; the small one behind it
   * gets the free permit at once */
  big = uva_semaphore_acquire(s, 5);
  ck_assert_int_eq(uva_future_then(big, failed_with, &st), 0);
  small = uva_semaphore_acquire(s, 1);
  ck_assert_int_eq(uva_future_then(small, granted, (void *)7), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 0);
  ck_assert_int_eq(uva_future_cancel(big), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(order[0], 7);
  ck_assert_uint_eq(uva_semaphore_available(s), 0);
  /* after: granted inside a join that is then cancelled, untaken: the
   * permit goes back and on to the next waiter */
  {
    uva_future_t *kids[2];
    uva_result_t res[2];
    uva_future_t *j;
    kids[0] = uva_semaphore_acquire(s, 1);
    kids[1] = uva_sleep(loop, 1000000);
    j = uva_join(loop, kids, 2, res);
    ck_assert_int_eq(uva_future_then(j, failed_with, &st), 0);
    ck_assert_int_eq(uva_future_then(uva_semaphore_acquire(s, 1), granted,
                                     (void *)8), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
    ck_assert_int_eq(uva_semaphore_release(s, 1), 0); /* to the join's */
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
    ck_assert_int_eq(norder, 1);
    ck_assert_uint_eq(uva_semaphore_available(s), 0);
    ck_assert_int_eq(uva_future_cancel(j), 0); /* drops it untaken */
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(st, UV_ECANCELED);
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[1], 8);
  }
  ck_assert_int_eq(uva_semaphore_release(s, 1), 0);
  ck_assert_uint_eq(uva_semaphore_available(s), 1);
  uva_semaphore_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(select_and_timeout) {
  LOOP_INIT(loop);
  uva_semaphore_t *a, *b;
  uva_future_t *f[2];
  uva_result_t w;
  uva_value_t v;
  ck_assert_int_eq(uva_semaphore_new(loop, 1, &a), 0);
  ck_assert_int_eq(uva_semaphore_new(loop, 1, &b), 0);
  /* both free: exactly one takes effect */
  f[0] = uva_semaphore_acquire(a, 1);
  f[1] = uva_semaphore_acquire(b, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_int_eq(w.status, 0);
  ck_assert_uint_eq(w.value.u64, 1);
  ck_assert_uint_eq(uva_semaphore_available(a), 0);
  ck_assert_uint_eq(uva_semaphore_available(b), 1);
  /* a held: select waits on both, b wins, a's waiter leaves the queue */
  f[0] = uva_semaphore_acquire(a, 1);
  f[1] = uva_semaphore_acquire(b, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(uva_semaphore_release(a, 1), 0);
  ck_assert_uint_eq(uva_semaphore_available(a), 1);
  /* timeout: holds nothing afterwards */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_semaphore_acquire(b, 1), 5), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(uva_semaphore_release(b, 1), 0);
  ck_assert_uint_eq(uva_semaphore_available(b), 1);
  ck_assert_int_eq(uva_semaphore_try_acquire(b, 1), 0);
  uva_semaphore_free(a);
  uva_semaphore_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(close_and_free_with_waiters) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  int st1 = 1, st2 = 1;
  ck_assert_int_eq(uva_semaphore_new(loop, 0, &s), 0);
  ck_assert_int_eq(uva_future_then(uva_semaphore_acquire(s, 1), failed_with,
                                   &st1), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_semaphore_close(s), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st1, UV_EPIPE);
  uva_semaphore_free(s);
  ck_assert_int_eq(uva_semaphore_new(loop, 0, &s), 0);
  ck_assert_int_eq(uva_future_then(uva_semaphore_acquire(s, 1), failed_with,
                                   &st2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_semaphore_free(s);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st2, UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

/* Tasks: at most `limit` inside at once, every one gets in. */
typedef struct {
  uva_semaphore_t *s;
  int *inside, *peak, *done;
} worker_t;

static int worker(void *arg, uva_result_t *r) {
  worker_t *w = arg;
  (void)r;
  for (int i = 0; i < 20; i++) {
    ck_assert_int_eq(uva_semaphore_acquire_wait(w->s, 1), 0);
    (*w->inside)++;
    if (*w->inside > *w->peak)
      *w->peak = *w->inside;
    ck_assert_int_eq(uva_yield(), 0);
    (*w->inside)--;
    ck_assert_int_eq(uva_semaphore_release(w->s, 1), 0);
  }
  (*w->done)++;
  return 0;
}

START_TEST(tasks_limit) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  int inside = 0, peak = 0, done = 0;
  worker_t w = {NULL, &inside, &peak, &done};
  ck_assert_int_eq(uva_semaphore_new(loop, 3, &s), 0);
  w.s = s;
  for (int i = 0; i < 10; i++)
    uva_future_detach(uva_spawn(loop, worker, &w));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(done, 10);
  ck_assert_int_eq(peak, 3);
  ck_assert_uint_eq(uva_semaphore_available(s), 3);
  uva_semaphore_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

/* A plain thread releases permits one by one while the loop waits. */
static void releaser(void *arg) {
  uva_semaphore_t *s = arg;
  for (int i = 0; i < 100; i++) {
    ck_assert_int_eq(uva_semaphore_release(s, 1), 0);
    if (i % 10 == 0)
      uv_sleep(1);
  }
}

static int take_hundred(void *arg, uva_result_t *r) {
  uva_semaphore_t *s = arg;
  (void)r;
  for (int i = 0; i < 50; i++)
    ck_assert_int_eq(uva_await(uva_semaphore_acquire(s, 2), NULL), 0);
  return 0;
}

START_TEST(release_from_thread) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  uv_thread_t th;
  ck_assert_int_eq(uva_semaphore_new(loop, 0, &s), 0);
  uva_future_t *t = uva_spawn(loop, take_hundred, s);
  ck_assert_int_eq(uv_thread_create(&th, releaser, s), 0);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_uint_eq(uva_semaphore_available(s), 0);
  uva_semaphore_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

/* A release from a thread while nobody waits is seen by the loop. */
static void release_one(void *arg) {
  ck_assert_int_eq(uva_semaphore_release(arg, 1), 0);
}

START_TEST(thread_release_no_waiters) {
  LOOP_INIT(loop);
  uva_semaphore_t *s;
  uv_thread_t th;
  ck_assert_int_eq(uva_semaphore_new(loop, 0, &s), 0);
  ck_assert_int_eq(uv_thread_create(&th, release_one, s), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_uint_eq(uva_semaphore_available(s), 1);
  ck_assert_int_eq(uva_semaphore_try_acquire(s, 1), 0);
  ck_assert_int_eq(uv_thread_create(&th, release_one, s), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_semaphore_acquire(s, 1), NULL), 0);
  uva_semaphore_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("semaphore");
  TCase *tc = tcase_create("semaphore");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, try_release_close);
  tcase_add_test(tc, fifo_large_head_blocks);
  tcase_add_test(tc, cancel_every_state);
  tcase_add_test(tc, select_and_timeout);
  tcase_add_test(tc, close_and_free_with_waiters);
  tcase_add_test(tc, tasks_limit);
  tcase_add_test(tc, release_from_thread);
  tcase_add_test(tc, thread_release_no_waiters);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
