/* oneshot: send from the loop and from plain threads, close without
 * sending (UV_EPIPE), a receiver cancelled or freed first (the send fails
 * and the value stays the sender's), a value nobody takes is freed, select
 * and timeout over the receiver, many oneshots across threads. */
#include "test-util.h"

#include <stdatomic.h>

static void rec(int status, uva_value_t v, void *data) {
  then_rec *r = data;
  r->calls++;
  r->status = status;
  r->value = v;
}

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_oneshot_t *tx = (uva_oneshot_t *)1;
  uva_future_t *rx = (uva_future_t *)1;
  ck_assert_int_eq(uva_oneshot_new(NULL, &tx, &rx), UV_EINVAL);
  ck_assert_ptr_null(tx);
  ck_assert_int_eq(uva_future_status(rx), UV_EINVAL);
  uva_future_free(rx);
  ck_assert_int_eq(uva_oneshot_new(loop, NULL, &rx), UV_EINVAL);
  uva_future_free(rx);
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_oneshot_send(NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_oneshot_send_u64(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_oneshot_is_closed(NULL), 0);
  uva_oneshot_close(NULL);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(send_on_loop) {
  LOOP_INIT(loop);
  uva_oneshot_t *tx;
  uva_future_t *rx;
  uva_value_t v;
  then_rec r;
  /* sent before the receiver has a consumer */
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  ck_assert_int_eq(uva_oneshot_is_closed(tx), 0);
  ck_assert_int_eq(uva_oneshot_send(tx, test_strdup("hello"), free), 0);
  ck_assert_int_eq(uva_block_on(loop, rx, &v), 0);
  ck_assert_str_eq(v.ptr, "hello");
  free(v.ptr);
  /* sent while a callback waits */
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  ck_assert_int_eq(uva_future_then(rx, rec, &r), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* kept alive */
  ck_assert_int_eq(uva_oneshot_send_u64(tx, 7), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_uint_eq(r.value.u64, 7);
  /* closed without sending */
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  uva_oneshot_close(tx);
  ck_assert_int_eq(uva_block_on(loop, rx, NULL), UV_EPIPE);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(receiver_gone) {
  LOOP_INIT(loop);
  uva_oneshot_t *tx;
  uva_future_t *rx;
  char *p;
  frees = 0;
  /* freed unconsumed: the send fails, the value stays the caller's */
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  uva_future_free(rx);
  ck_assert_int_eq(uva_oneshot_is_closed(tx), 1);
  p = test_strdup("x");
  ck_assert_int_eq(uva_oneshot_send(tx, p, count_free), UV_EPIPE);
  ck_assert_int_eq(frees, 0);
  free(p);
  /* cancelled while waiting (a timeout) */
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(rx, 2), NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(uva_oneshot_is_closed(tx), 1);
  ck_assert_int_eq(uva_oneshot_send_u64(tx, 1), UV_EPIPE);
  /* sent, never taken: freed with its free function */
  ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
  ck_assert_int_eq(uva_oneshot_send(tx, test_strdup("y"), count_free), 0);
  uva_future_free(rx);
  ck_assert_int_eq(frees, 1);
  /* sent to a receiver in a select that another branch wins */
  {
    uva_future_t *f[2];
    uva_result_t w;
    uva_value_t idx;
    ck_assert_int_eq(uva_oneshot_new(loop, &tx, &rx), 0);
    f[0] = rx;
    f[1] = uva_sleep(loop, 1);
    ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &w), &idx), 0);
    ck_assert_uint_eq(idx.u64, 1);
    p = test_strdup("z");
    ck_assert_int_eq(uva_oneshot_send(tx, p, count_free), UV_EPIPE);
    free(p); /* refused: still ours */
  }
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE(loop);
}
END_TEST

/* Plain threads send; the loop waits for all of them. */
#define NT 4
#define PER 50

typedef struct {
  uva_oneshot_t *tx[PER];
  int close_odd;
} th_arg_t;

static void sender(void *arg) {
  th_arg_t *a = arg;
  for (int i = 0; i < PER; i++) {
    if (a->close_odd && i % 2)
      uva_oneshot_close(a->tx[i]);
    else
      ck_assert_int_eq(uva_oneshot_send_u64(a->tx[i], (uint64_t)i + 1), 0);
    if (i % 16 == 0)
      uv_sleep(1);
  }
}

START_TEST(send_from_threads) {
  LOOP_INIT(loop);
  th_arg_t args[NT];
  uva_future_t *rx[NT * PER];
  uva_result_t res[NT * PER];
  uv_thread_t th[NT];
  for (int t = 0; t < NT; t++) {
    args[t].close_odd = t == 0;
    for (int i = 0; i < PER; i++)
      ck_assert_int_eq(uva_oneshot_new(loop, &args[t].tx[i], &rx[t * PER + i]),
                       0);
  }
  for (int t = 0; t < NT; t++)
    ck_assert_int_eq(uv_thread_create(&th[t], sender, &args[t]), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_join(loop, rx, NT * PER, res), NULL), 0);
  for (int t = 0; t < NT; t++)
    ck_assert_int_eq(uv_thread_join(&th[t]), 0);
  for (int t = 0; t < NT; t++)
    for (int i = 0; i < PER; i++) {
      uva_result_t *r = &res[t * PER + i];
      if (t == 0 && i % 2) {
        ck_assert_int_eq(r->status, UV_EPIPE);
      } else {
        ck_assert_int_eq(r->status, 0);
        ck_assert_uint_eq(r->value.u64, (uint64_t)i + 1);
      }
    }
  LOOP_CLOSE(loop);
}
END_TEST

/* A task awaits a oneshot that a thread sends while the receiver may be
 * dropped concurrently (a short timeout): never lost, never double-freed. */
static atomic_int th_frees;
static void th_free(void *p) {
  atomic_fetch_add(&th_frees, 1);
  free(p);
}

static void racer(void *arg) {
  uva_oneshot_t **tx = arg;
  for (int i = 0; i < PER; i++) {
    char *p = test_strdup("v");
    if (uva_oneshot_send(tx[i], p, th_free) != 0)
      free(p); /* refused: still ours */
  }
}

START_TEST(race_with_drop) {
  LOOP_INIT(loop);
  uva_oneshot_t *tx[PER];
  uva_future_t *rx[PER];
  uv_thread_t th;
  int got = 0, gone = 0;
  atomic_store(&th_frees, 0);
  for (int i = 0; i < PER; i++)
    ck_assert_int_eq(uva_oneshot_new(loop, &tx[i], &rx[i]), 0);
  ck_assert_int_eq(uv_thread_create(&th, racer, tx), 0);
  for (int i = 0; i < PER; i++) {
    uva_value_t v;
    int st = uva_block_on(loop, uva_timeout(rx[i], i % 3), &v);
    if (st == 0) {
      free(v.ptr);
      got++;
    } else {
      ck_assert_int_eq(st, UV_ETIMEDOUT);
      gone++;
    }
  }
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(got + gone, PER);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("oneshot");
  TCase *tc = tcase_create("oneshot");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, send_on_loop);
  tcase_add_test(tc, receiver_gone);
  tcase_add_test(tc, send_from_threads);
  tcase_add_test(tc, race_with_drop);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
