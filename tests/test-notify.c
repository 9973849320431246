/* Notify: the stored permit, FIFO notify_one, notify_waiters, a woken
 * waiter dropped untaken passes the notification on, cancellation, select
 * and timeout, free with waiters, notify_one and notify_waiters from a
 * plain thread. */
#include "test-util.h"

static int order[16], norder;
static void woken(int status, uva_value_t v, void *data) {
  (void)v;
  ck_assert_int_eq(status, 0);
  order[norder++] = (int)(intptr_t)data;
}

static void rec_status(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_notify_t *n = (uva_notify_t *)1;
  ck_assert_int_eq(uva_notify_new(NULL, &n), UV_EINVAL);
  ck_assert_ptr_null(n);
  ck_assert_int_eq(uva_notify_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_notify_notified(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_notify_one(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_notify_waiters(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_notify_wait(NULL), UV_EINVAL);
  uva_notify_free(NULL);
  ck_assert_int_eq(uva_notify_new(loop, &n), 0);
  ck_assert_int_eq(uva_notify_wait(n), UV_EINVAL); /* not in a task */
  uva_notify_free(n);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(permit_stored_once) {
  LOOP_INIT(loop);
  uva_notify_t *n;
  uva_future_t *f;
  ck_assert_int_eq(uva_notify_new(loop, &n), 0);
  /* two notify_one with nobody waiting store one permit */
  ck_assert_int_eq(uva_notify_one(n), 0);
  ck_assert_int_eq(uva_notify_one(n), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_notify_notified(n), NULL), 0);
  f = uva_notify_notified(n);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(f, 5), NULL), UV_ETIMEDOUT);
  /* notify_waiters stores nothing */
  ck_assert_int_eq(uva_notify_waiters(n), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_notify_notified(n), 5), NULL),
      UV_ETIMEDOUT);
  /* an unconsumed notified registers nothing */
  f = uva_notify_notified(n);
  ck_assert_int_eq(uva_notify_one(n), 0);
  uva_future_free(f);
  ck_assert_int_eq(uva_block_on(loop, uva_notify_notified(n), NULL), 0);
  uva_notify_free(n);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(fifo_one_and_waiters) {
  LOOP_INIT(loop);
  uva_notify_t *n;
  norder = 0;
  ck_assert_int_eq(uva_notify_new(loop, &n), 0);
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(uva_future_then(uva_notify_notified(n), woken,
                                     (void *)(intptr_t)i), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_notify_one(n), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(order[0], 0);
  ck_assert_int_eq(uva_notify_waiters(n), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(norder, 4);
  ck_assert_int_eq(order[1], 1);
  ck_assert_int_eq(order[3], 3);
  /* notify_waiters left no permit */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_notify_notified(n), 2), NULL),
      UV_ETIMEDOUT);
  uva_notify_free(n);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancel_and_drop_untaken) {
  LOOP_INIT(loop);
  uva_notify_t *n;
  uva_future_t *a, *kids[2], *j;
  uva_result_t res[2];
  int st = 1, jst = 1;
  norder = 0;
  ck_assert_int_eq(uva_notify_new(loop, &n), 0);
  /* while waiting: cancelled, it takes nothing */
  a = uva_notify_notified(n);
  ck_assert_int_eq(uva_future_then(a, rec_status, &st), 0);
  ck_assert_int_eq(uva_future_then(uva_notify_notified(n), woken, (void *)1),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_future_cancel(a), 0);
  ck_assert_int_eq(uva_notify_one(n), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  ck_assert_int_eq(norder, 1);
  /* after: woken by notify_one inside a join that is then dropped: the
   * notification goes to the next waiter */
  kids[0] = uva_notify_notified(n);
  kids[1] = uva_sleep(loop, 1000000);
  j = uva_join(loop, kids, 2, res);
  ck_assert_int_eq(uva_future_then(j, rec_status, &jst), 0);
  ck_assert_int_eq(uva_future_then(uva_notify_notified(n), woken, (void *)2),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_notify_one(n), 0); /* to the join's waiter */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  uv_run(loop, UV_RUN_NOWAIT); /* (a lost notification would hang DEFAULT) */
  uv_run(loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(jst, UV_ECANCELED);
  ck_assert_int_eq(norder, 2);
  ck_assert_int_eq(order[1], 2);
  /* the same with nobody behind: it goes back as the stored permit */
  kids[0] = uva_notify_notified(n);
  kids[1] = uva_sleep(loop, 1000000);
  j = uva_join(loop, kids, 2, res);
  ck_assert_int_eq(uva_future_then(j, rec_status, &jst), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  ck_assert_int_eq(uva_notify_one(n), 0);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_notify_notified(n), 10000), NULL), 0);
  uva_notify_free(n);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(select_and_free) {
  LOOP_INIT(loop);
  uva_notify_t *a, *b;
  uva_future_t *f[2];
  uva_result_t w;
  uva_value_t v;
  int st = 1;
  ck_assert_int_eq(uva_notify_new(loop, &a), 0);
  ck_assert_int_eq(uva_notify_new(loop, &b), 0);
  ck_assert_int_eq(uva_notify_one(a), 0);
  ck_assert_int_eq(uva_notify_one(b), 0);
  /* both have a permit: only the winner's is used */
  f[0] = uva_notify_notified(a);
  f[1] = uva_notify_notified(b);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_int_eq(uva_block_on(loop, uva_notify_notified(b), NULL), 0);
  /* free with a waiter */
  ck_assert_int_eq(uva_future_then(uva_notify_notified(a), rec_status, &st), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_notify_free(a);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  uva_notify_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* Tasks: ping-pong through two Notify objects. */
typedef struct {
  uva_notify_t *mine, *theirs;
  int rounds, *count;
} pp_t;

static int pinger(void *arg, uva_result_t *r) {
  pp_t *p = arg;
  (void)r;
  for (int i = 0; i < p->rounds; i++) {
    ck_assert_int_eq(uva_notify_one(p->theirs), 0);
    ck_assert_int_eq(uva_notify_wait(p->mine), 0);
    (*p->count)++;
  }
  return 0;
}

static int ponger(void *arg, uva_result_t *r) {
  pp_t *p = arg;
  (void)r;
  for (int i = 0; i < p->rounds; i++) {
    ck_assert_int_eq(uva_notify_wait(p->mine), 0);
    ck_assert_int_eq(uva_notify_one(p->theirs), 0);
  }
  return 0;
}

START_TEST(tasks_ping_pong) {
  LOOP_INIT(loop);
  uva_notify_t *a, *b;
  int count = 0;
  ck_assert_int_eq(uva_notify_new(loop, &a), 0);
  ck_assert_int_eq(uva_notify_new(loop, &b), 0);
  pp_t p1 = {a, b, 1000, &count}, p2 = {b, a, 1000, &count};
  uva_future_detach(uva_spawn(loop, ponger, &p2));
  uva_future_detach(uva_spawn(loop, pinger, &p1));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(count, 1000);
  uva_notify_free(a);
  uva_notify_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* A plain thread notifies; the loop waits in a task.  No wake-up is lost:
 * the thread waits for the task's acknowledgement (a uv_sem_t) before its
 * next notify, so a lost one would hang the test. */
typedef struct {
  uva_notify_t *n;
  uv_sem_t ack;
  int rounds;
} th_t;

static void notifier(void *arg) {
  th_t *t = arg;
  for (int i = 0; i < t->rounds; i++) {
    ck_assert_int_eq(uva_notify_one(t->n), 0);
    uv_sem_wait(&t->ack);
  }
}

static int waiter(void *arg, uva_result_t *r) {
  th_t *t = arg;
  (void)r;
  for (int i = 0; i < t->rounds; i++) {
    ck_assert_int_eq(uva_notify_wait(t->n), 0);
    uv_sem_post(&t->ack);
  }
  return 0;
}

START_TEST(notify_from_thread) {
  LOOP_INIT(loop);
  th_t t;
  uv_thread_t th;
  ck_assert_int_eq(uva_notify_new(loop, &t.n), 0);
  ck_assert_int_eq(uv_sem_init(&t.ack, 0), 0);
  t.rounds = 200;
  uva_future_t *w = uva_spawn(loop, waiter, &t);
  ck_assert_int_eq(uv_thread_create(&th, notifier, &t), 0);
  ck_assert_int_eq(uva_block_on(loop, w, NULL), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  uv_sem_destroy(&t.ack);
  uva_notify_free(t.n);
  LOOP_CLOSE(loop);
}
END_TEST

/* notify_waiters from a thread wakes a waiter that is registered. */
static void notify_all_later(void *arg) {
  th_t *t = arg;
  uv_sem_wait(&t->ack); /* the waiter is registered */
  ck_assert_int_eq(uva_notify_waiters(t->n), 0);
}

static void registered(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

static void post_ack(uv_idle_t *h) {
  th_t *t = h->data;
  uv_sem_post(&t->ack);
  uv_idle_stop(h);
  uv_close((uv_handle_t *)h, NULL);
}

START_TEST(notify_waiters_from_thread) {
  LOOP_INIT(loop);
  th_t t;
  uv_thread_t th;
  uv_idle_t idle;
  int st = 1;
  ck_assert_int_eq(uva_notify_new(loop, &t.n), 0);
  ck_assert_int_eq(uv_sem_init(&t.ack, 0), 0);
  ck_assert_int_eq(uva_future_then(uva_notify_notified(t.n), registered, &st),
                   0);
  /* once the loop runs, the waiter is registered: then the thread goes */
  uv_idle_init(loop, &idle);
  idle.data = &t;
  uv_idle_start(&idle, post_ack);
  ck_assert_int_eq(uv_thread_create(&th, notify_all_later, &t), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(st, 0);
  uv_sem_destroy(&t.ack);
  uva_notify_free(t.n);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("notify");
  TCase *tc = tcase_create("notify");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, permit_stored_once);
  tcase_add_test(tc, fifo_one_and_waiters);
  tcase_add_test(tc, cancel_and_drop_untaken);
  tcase_add_test(tc, select_and_free);
  tcase_add_test(tc, tasks_ping_pong);
  tcase_add_test(tc, notify_from_thread);
  tcase_add_test(tc, notify_waiters_from_thread);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
