/* broadcast: every receiver sees every message in order; a receiver that
 * falls behind is told how many it missed and continues from the oldest
 * retained message; a receive dropped untaken leaves the receiver where it
 * was; close, free with waiters, tasks. */
#include "test-util.h"

static void rec_status(int status, uva_value_t v, void *data) {
  (void)v;
  *(int *)data = status;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_broadcast_t *b = (uva_broadcast_t *)1;
  uva_broadcast_rx_t *rx = (uva_broadcast_rx_t *)1;
  int x = 0;
  ck_assert_int_eq(uva_broadcast_new(NULL, 4, 4, &b), UV_EINVAL);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(uva_broadcast_new(loop, 0, 4, &b), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_new(loop, 4, 0, &b), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_new(loop, (size_t)1 << 40, (size_t)1 << 40, &b),
                   UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_new(loop, 4, 4, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_send(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_close(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_subscribe(NULL, &rx), UV_EINVAL);
  ck_assert_ptr_null(rx);
  ck_assert_int_eq(uva_future_status(uva_broadcast_recv(NULL, &x)), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_try_recv(NULL, &x, NULL), UV_EINVAL);
  uva_broadcast_free(NULL);
  uva_broadcast_rx_free(NULL);
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 2, &b), 0);
  ck_assert_int_eq(uva_broadcast_send(b, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &rx), 0);
  uva_future_t *f = uva_broadcast_recv(rx, NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(uva_broadcast_try_recv(rx, NULL, NULL), UV_EINVAL);
  uva_broadcast_rx_free(rx);
  uva_broadcast_free(b);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(every_receiver_and_lag) {
  LOOP_INIT(loop);
  uva_broadcast_t *b;
  uva_broadcast_rx_t *a, *slow;
  int v, got;
  uint64_t missed;
  uva_value_t m;
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 4, &b), 0);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &a), 0);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &slow), 0);
  ck_assert_int_eq(uva_broadcast_try_recv(a, &got, &missed), UV_EAGAIN);
  for (v = 0; v < 3; v++)
    ck_assert_int_eq(uva_broadcast_send(b, &v), 0);
  for (v = 0; v < 3; v++) {
    ck_assert_int_eq(uva_block_on(loop, uva_broadcast_recv(a, &got), &m), 0);
    ck_assert_int_eq(got, v);
    ck_assert_uint_eq(m.u64, 0);
  }
  /* slow has 3 waiting; 7 more make it miss 6 of 10 (4 retained) */
  for (v = 3; v < 10; v++)
    ck_assert_int_eq(uva_broadcast_send(b, &v), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_broadcast_recv(slow, &got), &m), 0);
  ck_assert_uint_eq(m.u64, 6);
  ck_assert_int_eq(got, 6);
  for (v = 7; v < 10; v++) {
    ck_assert_int_eq(uva_broadcast_try_recv(slow, &got, &missed), 0);
    ck_assert_int_eq(got, v);
    ck_assert_uint_eq(missed, 0);
  }
  ck_assert_int_eq(uva_broadcast_try_recv(slow, &got, &missed), UV_EAGAIN);
  /* a missed 3..5 too */
  ck_assert_int_eq(uva_broadcast_try_recv(a, &got, &missed), 0);
  ck_assert_uint_eq(missed, 3);
  ck_assert_int_eq(got, 6);
  /* a late subscriber sees only what comes next */
  {
    uva_broadcast_rx_t *late;
    ck_assert_int_eq(uva_broadcast_subscribe(b, &late), 0);
    ck_assert_int_eq(uva_broadcast_try_recv(late, &got, NULL), UV_EAGAIN);
    v = 42;
    ck_assert_int_eq(uva_broadcast_send(b, &v), 0);
    ck_assert_int_eq(uva_broadcast_try_recv(late, &got, NULL), 0);
    ck_assert_int_eq(got, 42);
    uva_broadcast_rx_free(late);
  }
  uva_broadcast_rx_free(a);
  uva_broadcast_rx_free(slow);
  uva_broadcast_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(cancel_safe_close_free) {
  LOOP_INIT(loop);
  uva_broadcast_t *b;
  uva_broadcast_rx_t *a;
  uva_future_t *kids[2], *j, *f, *g;
  uva_result_t res[2];
  int v, got = -1, st = 1, st2 = 1;
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 4, &b), 0);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &a), 0);
  /* a receive that settles in a join that is dropped: a does not move */
  kids[0] = uva_broadcast_recv(a, &got);
  kids[1] = uva_sleep(loop, 1000000);
  j = uva_join(loop, kids, 2, res);
  ck_assert_int_eq(uva_future_then(j, rec_status, &st), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1);
  v = 5;
  ck_assert_int_eq(uva_broadcast_send(b, &v), 0);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_ECANCELED);
  got = -1;
  ck_assert_int_eq(uva_broadcast_try_recv(a, &got, NULL), 0);
  ck_assert_int_eq(got, 5);
  /* a timeout: nothing moves */
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_broadcast_recv(a, &got), 2), NULL),
      UV_ETIMEDOUT);
  /* one receive per receiver */
  f = uva_broadcast_recv(a, &got);
  g = uva_broadcast_recv(a, &got);
  ck_assert_int_eq(uva_future_then(f, rec_status, &st), 0);
  ck_assert_int_eq(uva_block_on(loop, g, NULL), UV_EBUSY);
  ck_assert_int_eq(uva_broadcast_try_recv(a, &got, NULL), UV_EBUSY);
  /* close: the waiter gets UV_EOF; what was sent before is still read */
  v = 6;
  ck_assert_int_eq(uva_broadcast_close(b), 0);
  ck_assert_int_eq(uva_broadcast_close(b), UV_EPIPE);
  ck_assert_int_eq(uva_broadcast_send(b, &v), UV_EPIPE);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st, UV_EOF);
  ck_assert_int_eq(uva_broadcast_try_recv(a, &got, NULL), UV_EOF);
  uva_broadcast_rx_free(a);
  uva_broadcast_free(b);
  /* sent before close, received after */
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 4, &b), 0);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &a), 0);
  ck_assert_int_eq(uva_broadcast_send(b, &v), 0);
  ck_assert_int_eq(uva_broadcast_close(b), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_broadcast_recv(a, &got), NULL), 0);
  ck_assert_int_eq(got, 6);
  ck_assert_int_eq(uva_block_on(loop, uva_broadcast_recv(a, &got), NULL),
                   UV_EOF);
  /* free with a waiter: the channel, then the receiver */
  uva_broadcast_rx_free(a);
  uva_broadcast_free(b);
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 4, &b), 0);
  ck_assert_int_eq(uva_broadcast_subscribe(b, &a), 0);
  ck_assert_int_eq(uva_future_then(uva_broadcast_recv(a, &got), rec_status,
                                   &st2), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  uva_broadcast_free(b);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(st2, UV_ECANCELED);
  uva_broadcast_rx_free(a);
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uva_broadcast_t *b;
  int n, sum;
} sub_t;

static int subscriber(void *arg, uva_result_t *r) {
  sub_t *s = arg;
  uva_broadcast_rx_t *rx;
  int v, st, expect = 0;
  uva_value_t missed;
  (void)r;
  ck_assert_int_eq(uva_broadcast_subscribe(s->b, &rx), 0);
  while ((st = uva_await(uva_broadcast_recv(rx, &v), &missed)) == 0) {
    ck_assert_uint_eq(missed.u64, 0); /* it keeps up: capacity suffices */
    ck_assert_int_eq(v, expect++);
    s->n++;
  }
  ck_assert_int_eq(st, UV_EOF);
  uva_broadcast_rx_free(rx);
  return 0;
}

static int publisher(void *arg, uva_result_t *r) {
  uva_broadcast_t *b = arg;
  (void)r;
  ck_assert_int_eq(uva_yield(), 0); /* the subscribers subscribe */
  for (int i = 0; i < 200; i++) {
    ck_assert_int_eq(uva_broadcast_send(b, &i), 0);
    if (i % 4 == 3)
      ck_assert_int_eq(uva_yield(), 0);
  }
  return uva_broadcast_close(b);
}

START_TEST(tasks) {
  LOOP_INIT(loop);
  uva_broadcast_t *b;
  sub_t s[3];
  ck_assert_int_eq(uva_broadcast_new(loop, sizeof(int), 8, &b), 0);
  for (int i = 0; i < 3; i++) {
    s[i].b = b;
    s[i].n = 0;
    uva_future_detach(uva_spawn(loop, subscriber, &s[i]));
  }
  uva_future_detach(uva_spawn(loop, publisher, b));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(s[i].n, 200);
  uva_broadcast_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("broadcast");
  TCase *tc = tcase_create("broadcast");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, every_receiver_and_lag);
  tcase_add_test(tc, cancel_safe_close_free);
  tcase_add_test(tc, tasks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
