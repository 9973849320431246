/* Mutex and RwLock: mutual exclusion among tasks, FIFO fairness, cancelled
 * lockers hold nothing (before, while and after waiting, including a lock
 * granted to a settled future that is dropped untaken), select and timeout,
 * free with waiters; readers share, a waiting writer blocks later readers. */
#include "test-util.h"

static void rec_status(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

static int order[16], norder;
static void granted(int status, uva_value_t v, void *data) {
  (void)v;
  ck_assert_int_eq(status, 0);
  order[norder++] = (int)(intptr_t)data;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_mutex_t *m = (uva_mutex_t *)1;
  uva_rwlock_t *rw = (uva_rwlock_t *)1;
  ck_assert_int_eq(uva_mutex_new(NULL, &m), UV_EINVAL);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(uva_mutex_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_mutex_lock(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_mutex_lock_wait(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_mutex_try_lock(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_mutex_unlock(NULL), UV_EINVAL);
  uva_mutex_free(NULL);
  ck_assert_int_eq(uva_rwlock_new(NULL, &rw), UV_EINVAL);
  ck_assert_ptr_null(rw);
  ck_assert_int_eq(uva_future_status(uva_rwlock_read(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_rwlock_write(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_try_lock(NULL, 0), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_lock_wait(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_read_unlock(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_write_unlock(NULL), UV_EINVAL);
  uva_rwlock_free(NULL);
  ck_assert_int_eq(uva_mutex_new(loop, &m), 0);
  ck_assert_int_eq(uva_mutex_unlock(m), UV_EINVAL); /* not locked */
  ck_assert_int_eq(uva_mutex_lock_wait(m), UV_EINVAL); /* not in a task */
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), UV_EAGAIN);
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  ck_assert_int_eq(uva_mutex_unlock(m), UV_EINVAL);
  uva_mutex_free(m);
  ck_assert_int_eq(uva_rwlock_new(loop, &rw), 0);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_write_unlock(rw), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 0), 0);
  ck_assert_int_eq(uva_rwlock_write_unlock(rw), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), 0);
  uva_rwlock_free(rw);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Tasks increment a shared counter across awaits under the lock. */
typedef struct {
  uva_mutex_t *m;
  int counter, inside, rounds;
} shared_t;

static int incr(void *arg, uva_result_t *r) {
  shared_t *s = arg;
  (void)r;
  for (int i = 0; i < s->rounds; i++) {
    int v;
    ck_assert_int_eq(i % 2 ? uva_mutex_lock_wait(s->m)
                           : uva_await(uva_mutex_lock(s->m), NULL),
                     0);
    ck_assert_int_eq(s->inside++, 0); /* held by at most one */
    v = s->counter;
    ck_assert_int_eq(uva_yield(), 0); /* others run, and queue up */
    s->counter = v + 1;
    s->inside--;
    ck_assert_int_eq(uva_mutex_unlock(s->m), 0);
  }
  return 0;
}

START_TEST(mutual_exclusion) {
  LOOP_INIT(loop);
  shared_t s = {NULL, 0, 0, 50};
  ck_assert_int_eq(uva_mutex_new(loop, &s.m), 0);
  for (int i = 0; i < 8; i++)
    uva_future_detach(uva_spawn(loop, incr, &s));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(s.counter, 8 * 50);
  ck_assert_int_eq(uva_mutex_try_lock(s.m), 0);
  ck_assert_int_eq(uva_mutex_unlock(s.m), 0);
  uva_mutex_free(s.m);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(fifo_and_cancel) {
  LOOP_INIT(loop);
  uva_mutex_t *m;
  uva_future_t *f[4];
  int st = 1;
  norder = 0;
  ck_assert_int_eq(uva_mutex_new(loop, &m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  /* before waiting: unconsumed, freed, no effect */
  uva_future_free(uva_mutex_lock(m));
  for (int i = 0; i < 4; i++) {
    f[i] = uva_mutex_lock(m);
    ck_assert_int_eq(uva_future_then(f[i], i == 1 ? rec_status : granted,
                                     i == 1 ? (void *)&st : (void *)(intptr_t)i),
                     0);
  }
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  /* while waiting: the second is cancelled; it never holds the lock */
  ck_assert_int_eq(uva_future_cancel(f[1]), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(norder, i);
    ck_assert_int_eq(uva_mutex_unlock(m), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  }
  ck_assert_int_eq(norder, 3);
  ck_assert_int_eq(order[0], 0);
  ck_assert_int_eq(order[1], 2);
  ck_assert_int_eq(order[2], 3);
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  ck_assert_int_eq(uva_mutex_unlock(m), UV_EINVAL);
  uva_mutex_free(m);
  LOOP_CLOSE(loop);
}
END_TEST

/* A lock granted to a future that is then dropped untaken (it settled
 * inside a join that is cancelled) is passed on to the next locker. */
START_TEST(granted_then_dropped) {
  LOOP_INIT(loop);
  uva_mutex_t *m;
  uva_future_t *kids[2], *j;
  uva_result_t res[2];
  int st = 1;
  norder = 0;
  ck_assert_int_eq(uva_mutex_new(loop, &m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  kids[0] = uva_mutex_lock(m);
  kids[1] = uva_sleep(loop, 1000000);
  j = uva_join(loop, kids, 2, res);
  ck_assert_int_eq(uva_future_then(j, rec_status, &st), 0);
  ck_assert_int_eq(uva_future_then(uva_mutex_lock(m), granted, (void *)5), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_mutex_unlock(m), 0); /* granted to the join's lock */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), UV_EAGAIN);
  uva_future_cancel(j); /* the settled lock is dropped untaken */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  ck_assert_int_eq(norder, 1); /* passed on to the next locker */
  ck_assert_int_eq(order[0], 5);
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  uva_mutex_free(m);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(select_timeout_free) {
  LOOP_INIT(loop);
  uva_mutex_t *a, *b;
  uva_future_t *f[2];
  uva_result_t w;
  uva_value_t v;
  int st = 1;
  ck_assert_int_eq(uva_mutex_new(loop, &a), 0);
  ck_assert_int_eq(uva_mutex_new(loop, &b), 0);
  ck_assert_int_eq(uva_mutex_try_lock(a), 0);
  f[0] = uva_mutex_lock(a);
  f[1] = uva_mutex_lock(b);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1); /* b; the waiter on a left */
  ck_assert_int_eq(uva_mutex_unlock(a), 0);
  ck_assert_int_eq(uva_mutex_try_lock(a), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_mutex_lock(b), 5), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uva_mutex_unlock(b), 0);
  ck_assert_int_eq(uva_mutex_try_lock(b), 0);
  ck_assert_int_eq(uva_mutex_unlock(b), 0);
  /* free with a waiter */
  ck_assert_int_eq(uva_future_then(uva_mutex_lock(a), rec_status, &st), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  uva_mutex_free(a);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  uva_mutex_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* A task cancelled while it waits for the lock holds nothing. */
static int locker(void *arg, uva_result_t *r) {
  (void)r;
  return uva_mutex_lock_wait(arg);
}

START_TEST(task_cancelled_waiting) {
  LOOP_INIT(loop);
  uva_mutex_t *m;
  uva_future_t *t;
  ck_assert_int_eq(uva_mutex_new(loop, &m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  t = uva_spawn(loop, locker, m);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0); /* it waits */
  ck_assert_int_eq(uva_future_cancel(t), 0);
  ck_assert_int_eq(uva_block_on(loop, t, NULL), UV_ECANCELED);
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  ck_assert_int_eq(uva_mutex_try_lock(m), 0); /* nobody else holds it */
  ck_assert_int_eq(uva_mutex_unlock(m), 0);
  /* nobody will ever unlock: block_on reports it instead of hanging */
  ck_assert_int_eq(uva_mutex_try_lock(m), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, locker, m), NULL),
                   UV_EAGAIN);
  uva_mutex_free(m);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(rwlock_fair) {
  LOOP_INIT(loop);
  uva_rwlock_t *rw;
  uva_future_t *w;
  int wst = 1;
  norder = 0;
  ck_assert_int_eq(uva_rwlock_new(loop, &rw), 0);
  /* readers share */
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 0), 0);
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 0), 0);
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 1), UV_EAGAIN);
  /* a writer waits; a reader after it waits too (no writer starvation) */
  w = uva_rwlock_write(rw);
  ck_assert_int_eq(uva_future_then(w, granted, (void *)1), 0);
  ck_assert_int_eq(uva_future_then(uva_rwlock_read(rw), granted, (void *)2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 0), UV_EAGAIN);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(norder, 0);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(order[0], 1);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), UV_EINVAL); /* writer holds */
  ck_assert_int_eq(uva_rwlock_write_unlock(rw), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(norder, 2);
  ck_assert_int_eq(order[1], 2);
  /* a writer waiting behind the reader, cancelled: a later reader goes */
  w = uva_rwlock_write(rw);
  ck_assert_int_eq(uva_future_then(w, rec_status, &wst), 0);
  ck_assert_int_eq(uva_future_then(uva_rwlock_read(rw), granted, (void *)3), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(norder, 2);
  ck_assert_int_eq(uva_future_cancel(w), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(wst, UV_ECANCELED);
  ck_assert_int_eq(norder, 3);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), 0);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), 0);
  ck_assert_int_eq(uva_rwlock_read_unlock(rw), UV_EINVAL);
  ck_assert_int_eq(uva_rwlock_try_lock(rw, 1), 0);
  ck_assert_int_eq(uva_rwlock_write_unlock(rw), 0);
  uva_rwlock_free(rw);
  LOOP_CLOSE(loop);
}
END_TEST

/* Tasks: readers and writers; a writer is alone. */
typedef struct {
  uva_rwlock_t *rw;
  int readers, writers, reads, writes;
} rwstate_t;

static int rw_task(void *arg, uva_result_t *r) {
  rwstate_t *s = arg;
  (void)r;
  for (int i = 0; i < 30; i++) {
    int write = i % 5 == 0;
    ck_assert_int_eq(uva_rwlock_lock_wait(s->rw, write), 0);
    if (write) {
      ck_assert_int_eq(s->readers + s->writers, 0);
      s->writers++;
    } else {
      ck_assert_int_eq(s->writers, 0);
      s->readers++;
    }
    ck_assert_int_eq(uva_yield(), 0);
    if (write) {
      s->writers--;
      s->writes++;
      ck_assert_int_eq(uva_rwlock_write_unlock(s->rw), 0);
    } else {
      s->readers--;
      s->reads++;
      ck_assert_int_eq(uva_rwlock_read_unlock(s->rw), 0);
    }
  }
  return 0;
}

START_TEST(rwlock_tasks) {
  LOOP_INIT(loop);
  rwstate_t s;
  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(uva_rwlock_new(loop, &s.rw), 0);
  for (int i = 0; i < 6; i++)
    uva_future_detach(uva_spawn(loop, rw_task, &s));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(s.writes, 6 * 6);
  ck_assert_int_eq(s.reads, 6 * 24);
  uva_rwlock_free(s.rw);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("mutex");
  TCase *tc = tcase_create("mutex");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, mutual_exclusion);
  tcase_add_test(tc, fifo_and_cancel);
  tcase_add_test(tc, granted_then_dropped);
  tcase_add_test(tc, select_timeout_free);
  tcase_add_test(tc, task_cancelled_waiting);
  tcase_add_test(tc, rwlock_fair);
  tcase_add_test(tc, rwlock_tasks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
