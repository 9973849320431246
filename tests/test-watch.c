/* watch: the latest value, changed() per receiver, several sends count as
 * one change, cancel safety (dropped untaken marks nothing), close and
 * free with waiters, tasks. */
#include "test-util.h"

static void rec_status(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_watch_t *w = (uva_watch_t *)1;
  uva_watch_rx_t *rx = (uva_watch_rx_t *)1;
  int x = 0;
  ck_assert_int_eq(uva_watch_new(NULL, 4, &x, &w), UV_EINVAL);
  ck_assert_ptr_null(w);
  ck_assert_int_eq(uva_watch_new(loop, 0, &x, &w), UV_EINVAL);
  ck_assert_int_eq(uva_watch_new(loop, 4, NULL, &w), UV_EINVAL);
  ck_assert_int_eq(uva_watch_new(loop, 4, &x, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_watch_send(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_watch_close(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_watch_subscribe(NULL, &rx), UV_EINVAL);
  ck_assert_ptr_null(rx);
  ck_assert_int_eq(uva_future_status(uva_watch_changed(NULL)), UV_EINVAL);
  uva_watch_free(NULL);
  uva_watch_rx_free(NULL);
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &x, &w), 0);
  ck_assert_int_eq(uva_watch_send(w, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_watch_subscribe(w, NULL), UV_EINVAL);
  uva_watch_free(w);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(changed_and_borrow) {
  LOOP_INIT(loop);
  uva_watch_t *w;
  uva_watch_rx_t *a, *b;
  int v = 10, got = 0;
  uva_value_t ver;
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &w), 0);
  ck_assert_int_eq(uva_watch_subscribe(w, &a), 0);
  ck_assert_int_eq(uva_watch_subscribe(w, &b), 0);
  ck_assert_uint_eq(uva_watch_borrow(w, &got), 0);
  ck_assert_int_eq(got, 10);
  /* nothing new yet */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_watch_changed(a), 2), NULL),
      UV_ETIMEDOUT);
  /* two sends: one change, the latest value */
  v = 11;
  ck_assert_int_eq(uva_watch_send(w, &v), 0);
  v = 12;
  ck_assert_int_eq(uva_watch_send(w, &v), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_watch_changed(a), &ver), 0);
  ck_assert_uint_eq(ver.u64, 2);
  ck_assert_uint_eq(uva_watch_borrow(w, &got), 2);
  ck_assert_int_eq(got, 12);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_watch_changed(a), 2), NULL),
      UV_ETIMEDOUT);
  /* b has not seen it; borrow_and_update marks it seen */
  ck_assert_uint_eq(uva_watch_borrow_and_update(b, &got), 2);
  ck_assert_int_eq(got, 12);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_watch_changed(b), 2), NULL),
      UV_ETIMEDOUT);
  /* a waiting receiver wakes on send */
  {
    int sa = 1, sb = 1;
    ck_assert_int_eq(uva_future_then(uva_watch_changed(a), rec_status, &sa), 0);
    ck_assert_int_eq(uva_future_then(uva_watch_changed(b), rec_status, &sb), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1) /* kept alive: a thread may send */;
    ck_assert_int_eq(sa, 1);
    v = 13;
    ck_assert_int_eq(uva_watch_send(w, &v), 0);
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(sa, 0);
    ck_assert_int_eq(sb, 0);
  }
  uva_watch_rx_free(a);
  uva_watch_rx_free(b);
  uva_watch_free(w);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancel_safe_busy_close_free) {
  LOOP_INIT(loop);
  uva_watch_t *w;
  uva_watch_rx_t *a;
  uva_future_t *kids[2], *j, *f, *g;
  uva_result_t res[2];
  int v = 0, st = 1, st2 = 1;
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &w), 0);
  ck_assert_int_eq(uva_watch_subscribe(w, &a), 0);
  /* settled inside a join that is dropped: marks nothing */
  kids[0] = uva_watch_changed(a);
  kids[1] = uva_sleep(loop, 1000000);
  j = uva_join(loop, kids, 2, res);
  ck_assert_int_eq(uva_future_then(j, rec_status, &st), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  v = 1;
  ck_assert_int_eq(uva_watch_send(w, &v), 0);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  ck_assert_int_eq(uva_block_on(loop, uva_watch_changed(a), NULL), 0);
  /* one wait per receiver */
  f = uva_watch_changed(a);
  g = uva_watch_changed(a);
  ck_assert_int_eq(uva_future_then(f, rec_status, &st), 0);
  ck_assert_int_eq(uva_block_on(loop, g, NULL), UV_EBUSY);
  /* close: a waiter that has seen everything gets UV_EPIPE */
  ck_assert_int_eq(uva_watch_close(w), 0);
  ck_assert_int_eq(uva_watch_close(w), UV_EPIPE);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_EPIPE);
  ck_assert_int_eq(uva_watch_send(w, &v), UV_EPIPE);
  ck_assert_int_eq(uva_block_on(loop, uva_watch_changed(a), NULL), UV_EPIPE);
  uva_watch_rx_free(a);
  uva_watch_free(w);
  /* free (watch, then receiver) with a waiter */
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &w), 0);
  ck_assert_int_eq(uva_watch_subscribe(w, &a), 0);
  ck_assert_int_eq(uva_future_then(uva_watch_changed(a), rec_status, &st2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_watch_free(w);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st2, UV_ECANCELED);
  ck_assert_int_eq(uva_watch_borrow_and_update(a, &v), 0); /* still readable */
  uva_watch_rx_free(a);
  /* receiver freed with a waiter */
  st2 = 1;
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &w), 0);
  ck_assert_int_eq(uva_watch_subscribe(w, &a), 0);
  ck_assert_int_eq(uva_future_then(uva_watch_changed(a), rec_status, &st2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  uva_watch_rx_free(a);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st2, UV_ECANCELED);
  uva_watch_free(w);
  LOOP_CLOSE(loop);
}
END_TEST

/* A task publishes 1..100; readers see values only rise and end at 100. */
typedef struct {
  uva_watch_t *w;
  int last;
} reader_t;

static int reader(void *arg, uva_result_t *r) {
  reader_t *rd = arg;
  uva_watch_rx_t *rx;
  int v, st;
  (void)r;
  ck_assert_int_eq(uva_watch_subscribe(rd->w, &rx), 0);
  while ((st = uva_await(uva_watch_changed(rx), NULL)) == 0) {
    uva_watch_borrow_and_update(rx, &v);
    ck_assert_int_gt(v, rd->last);
    rd->last = v;
  }
  ck_assert_int_eq(st, UV_EPIPE);
  uva_watch_rx_free(rx);
  return 0;
}

static int writer(void *arg, uva_result_t *r) {
  uva_watch_t *w = arg;
  (void)r;
  for (int i = 1; i <= 100; i++) {
    ck_assert_int_eq(uva_watch_send(w, &i), 0);
    if (i % 3 == 0)
      ck_assert_int_eq(uva_yield(), 0);
  }
  return uva_watch_close(w);
}

START_TEST(tasks) {
  LOOP_INIT(loop);
  uva_watch_t *w;
  int v = 0;
  reader_t rd[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &w), 0);
  for (int i = 0; i < 3; i++) {
    rd[i].w = w;
    uva_future_detach(uva_spawn(loop, reader, &rd[i]));
  }
  uva_future_detach(uva_spawn(loop, writer, w));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(rd[i].last, 100);
  uva_watch_free(w);
  LOOP_CLOSE(loop);
}
END_TEST

/* A plain thread sends 1..N; a task sees only rising values and the last
 * one; a send after the close fails. */
typedef struct {
  uva_watch_t *w;
  int n;
  uv_sem_t closed;
} th_t;

static void thread_sender(void *arg) {
  th_t *t = arg;
  for (int i = 1; i <= t->n; i++) {
    ck_assert_int_eq(uva_watch_send(t->w, &i), 0);
    if (i % 50 == 0)
      uv_sleep(1);
  }
  uv_sem_wait(&t->closed);
  ck_assert_int_eq(uva_watch_send(t->w, &t->n), UV_EPIPE);
}

static int follower(void *arg, uva_result_t *r) {
  th_t *t = arg;
  uva_watch_rx_t *rx;
  int v = 0, last = 0;
  (void)r;
  ck_assert_int_eq(uva_watch_subscribe(t->w, &rx), 0);
  while (last < t->n) {
    ck_assert_int_eq(uva_await(uva_watch_changed(rx), NULL), 0);
    uva_watch_borrow_and_update(rx, &v);
    ck_assert_int_gt(v, last);
    last = v;
  }
  ck_assert_int_eq(uva_watch_close(t->w), 0);
  uv_sem_post(&t->closed);
  uva_watch_rx_free(rx);
  return 0;
}

START_TEST(send_from_thread) {
  LOOP_INIT(loop);
  th_t t;
  uv_thread_t th;
  int v = 0;
  t.n = 1000;
  ck_assert_int_eq(uv_sem_init(&t.closed, 0), 0);
  ck_assert_int_eq(uva_watch_new(loop, sizeof(int), &v, &t.w), 0);
  uva_future_t *f = uva_spawn(loop, follower, &t);
  ck_assert_int_eq(uv_thread_create(&th, thread_sender, &t), 0);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_uint_eq(uva_watch_borrow(t.w, &v), uva_watch_borrow(t.w, &v));
  ck_assert_int_eq(v, 1000);
  uva_watch_free(t.w);
  uv_sem_destroy(&t.closed);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("watch");
  TCase *tc = tcase_create("watch");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, changed_and_borrow);
  tcase_add_test(tc, cancel_safe_busy_close_free);
  tcase_add_test(tc, tasks);
  tcase_add_test(tc, send_from_thread);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
