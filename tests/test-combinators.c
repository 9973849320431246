/* Combinators: uva_first_ok, uva_future_map, uva_future_and_then,
 * uva_current_loop. */
#include "test-util.h"

typedef struct {
  uv_loop_t *loop;
  uint64_t ms;
  int ret;
  int started, seen;
} job_t;

/* Sleeps ms, then fails with ret or succeeds with value ms. */
static int job_body(void *arg, uva_result_t *result) {
  job_t *j = arg;
  int err;
  j->started++;
  err = uva_await(uva_sleep(j->loop, j->ms), NULL);
  j->seen = err;
  if (err != 0)
    return err;
  if (j->ret != 0)
    return j->ret;
  result->value.u64 = j->ms;
  return 0;
}

static uva_future_t *job(job_t *j, uv_loop_t *loop, uint64_t ms, int ret) {
  memset(j, 0, sizeof(*j));
  j->loop = loop;
  j->ms = ms;
  j->ret = ret;
  return uva_spawn(loop, job_body, j);
}

/* ---- first_ok --------------------------------------------------------------- */

START_TEST(first_ok_skips_failures) {
  LOOP_INIT(loop);
  job_t j[4];
  uva_future_t *fs[4];
  uva_result_t win;
  int st[4];
  uva_value_t v;

  fs[0] = job(&j[0], loop, 1, UV_ECONNREFUSED); /* first to settle: fails */
  fs[1] = job(&j[1], loop, 2000, 0);
  fs[2] = job(&j[2], loop, 100, 0); /* first success */
  fs[3] = uva_failed(loop, UV_EHOSTUNREACH);
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 4, &win, st), &v), 0);
  ck_assert_uint_eq(v.u64, 2);
  ck_assert_int_eq(win.status, 0);
  ck_assert_uint_eq(win.value.u64, 100);
  ck_assert_int_eq(st[0], UV_ECONNREFUSED);
  ck_assert_int_eq(st[1], UV_ECANCELED);
  ck_assert_int_eq(st[2], 0);
  ck_assert_int_eq(st[3], UV_EHOSTUNREACH);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(j[1].seen, UV_ECANCELED); /* the loser was cancelled */
}
END_TEST

START_TEST(first_ok_all_fail) {
  LOOP_INIT(loop);
  job_t j[3];
  uva_future_t *fs[3];
  uva_result_t win;
  int st[3];

  fs[0] = job(&j[0], loop, 100, UV_ETIMEDOUT);
  fs[1] = job(&j[1], loop, 1, UV_ECONNREFUSED);
  fs[2] = job(&j[2], loop, 300, UV_EPIPE); /* last to fail */
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 3, &win, st), NULL), UV_EPIPE);
  ck_assert_int_eq(st[0], UV_ETIMEDOUT);
  ck_assert_int_eq(st[1], UV_ECONNREFUSED);
  ck_assert_int_eq(st[2], UV_EPIPE);
  /* statuses may be NULL; a success already settled wins at once */
  fs[0] = uva_failed(loop, UV_EPIPE);
  fs[1] = uva_ready_u64(loop, 8);
  fs[2] = job(&j[0], loop, 10000, 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 3, &win, NULL), NULL), 0);
  ck_assert_uint_eq(win.value.u64, 8);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(j[0].started, 0); /* let go of before it ran */
}
END_TEST

/* Over channel receives: exactly one takes a message. */
START_TEST(first_ok_channels) {
  LOOP_INIT(loop);
  uva_chan_t *a, *b;
  int m = 3, oa = 0, ob = 0, st[3];
  uva_future_t *fs[3];
  uva_result_t win;
  uva_value_t v;

  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &a), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 2, &b), 0);
  ck_assert_int_eq(uva_chan_try_send(a, &m), 0);
  ck_assert_int_eq(uva_chan_try_send(b, &m), 0);
  ck_assert_int_eq(uva_chan_close(a), 0);
  ck_assert_int_eq(uva_chan_try_recv(a, &oa), 0); /* a: drained, closed */
  oa = 0;
  fs[0] = uva_chan_recv(a, &oa); /* UV_EOF */
  fs[1] = uva_chan_recv(b, &ob); /* wins */
  fs[2] = uva_chan_recv(b, &ob); /* never starts */
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 3, &win, st), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(st[0], UV_EOF);
  ck_assert_int_eq(ob, 3);
  ck_assert_uint_eq(uva_chan_len(b), 0);
  /* dropped untaken: the message goes back */
  ck_assert_int_eq(uva_chan_try_send(b, &m), 0);
  fs[0] = uva_first_ok(loop, (uva_future_t *[]){uva_chan_recv(b, &ob)}, 1,
                       &win, NULL);
  fs[1] = uva_sleep(loop, 5000);
  {
    uva_result_t res[2];
    ck_assert_int_eq(
        uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, res), 5), NULL),
        UV_ETIMEDOUT);
  }
  ck_assert_uint_eq(uva_chan_len(b), 1);
  uva_chan_free(a);
  uva_chan_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(first_ok_bad_input_and_cancel) {
  LOOP_INIT(loop);
  uva_result_t win;
  uva_future_t *fs[2], *f;
  job_t j[2];

  ck_assert_int_eq(uva_future_status(uva_first_ok(NULL, NULL, 0, &win, NULL)),
                   UV_EINVAL);
  fs[0] = uva_sleep(loop, 1);
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 1, NULL, NULL), NULL),
      UV_EINVAL);
  fs[0] = uva_sleep(loop, 1);
  fs[1] = fs[0];
  ck_assert_int_eq(
      uva_block_on(loop, uva_first_ok(loop, fs, 2, &win, NULL), NULL),
      UV_EINVAL);
  /* cancelled: its children are */
  fs[0] = job(&j[0], loop, 10000, 0);
  fs[1] = job(&j[1], loop, 10000, 0);
  f = uva_first_ok(loop, fs, 2, &win, NULL);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(f, 5), NULL), UV_ETIMEDOUT);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(j[0].seen, UV_ECANCELED);
  ck_assert_int_eq(j[1].seen, UV_ECANCELED);
}
END_TEST

/* ---- map ------------------------------------------------------------------ */

static int calls;

static int double_it(void *data, uva_result_t *r) {
  (void)data;
  calls++;
  if (r->status != 0)
    return r->status;
  r->value.u64 *= 2;
  return 0;
}

static int to_string(void *data, uva_result_t *r) {
  char *s = malloc(32);
  (void)data;
  calls++;
  snprintf(s, 32, "%d", *(int *)r->value.ptr);
  uva_result_free(r);
  r->value.ptr = s;
  r->free_fn = count_free;
  return 0;
}

static int reject(void *data, uva_result_t *r) {
  (void)data;
  calls++;
  return r->status == 0 ? UV_EPROTO : r->status;
}

START_TEST(map_values_and_errors) {
  LOOP_INIT(loop);
  uva_value_t v;
  int *p = malloc(sizeof(int));
  job_t j;
  then_rec r;

  calls = frees = 0;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_map(uva_ready_u64(loop, 21), double_it,
                                        NULL),
                   &v),
      0);
  ck_assert_uint_eq(v.u64, 42);
  *p = 17;
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_map(uva_ready(loop, p, free), to_string,
                                        NULL),
                   &v),
      0);
  ck_assert_str_eq(v.ptr, "17");
  free(v.ptr);
  /* the function may fail a success (its value is freed) */
  ck_assert_int_eq(
      uva_block_on(loop,
                   uva_future_map(uva_ready(loop, test_strdup("x"),
                                            count_free),
                                  reject, NULL),
                   NULL),
      UV_EPROTO);
  ck_assert_int_eq(frees, 1);
  /* a failure passes through it */
  ck_assert_int_eq(uva_block_on(loop,
                                uva_future_map(uva_failed(loop, UV_EPIPE),
                                               double_it, NULL),
                                NULL),
                   UV_EPIPE);
  /* from a callback, over a task */
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_future_then(uva_future_map(job(&j, loop, 3, 0),
                                                  double_it, NULL),
                                   record, &r),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_uint_eq(r.value.u64, 6);
  ck_assert_int_eq(calls, 5);
  ck_assert_int_eq(
      uva_future_status(uva_future_map(NULL, double_it, NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop,
                                uva_future_map(uva_sleep(loop, 1), NULL, NULL),
                                NULL),
                   UV_EINVAL);
  LOOP_CLOSE(loop);
}
END_TEST

/* A map dropped untaken never calls its function and gives back what its
 * child took. */
START_TEST(map_exactly_once) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int m = 4, out = 0;
  uva_future_t *fs[2];
  uva_result_t res[2], win;

  calls = 0;
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &m), 0);
  fs[0] = uva_future_map(uva_chan_recv(ch, &out), double_it, NULL);
  fs[1] = uva_sleep(loop, 5000);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, res), 5), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(calls, 0);
  ck_assert_uint_eq(uva_chan_len(ch), 1);
  ck_assert_int_eq(out, 0);
  /* lazy: loses a select without starting */
  fs[0] = uva_ready_u64(loop, 0);
  fs[1] = uva_future_map(uva_chan_recv(ch, &out), double_it, NULL);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &win), NULL),
                   0);
  ck_assert_uint_eq(uva_chan_len(ch), 1);
  ck_assert_int_eq(uva_block_on(loop,
                                uva_future_map(uva_chan_recv(ch, &out),
                                               double_it, NULL),
                                NULL),
                   0);
  ck_assert_int_eq(out, 4);
  ck_assert_int_eq(calls, 1);
  uva_chan_free(ch);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- and_then ------------------------------------------------------------- */

static uv_loop_t *chain_loop;
static int steps;

static int set_to_data(void *data, uva_result_t *r) {
  if (r->status != 0)
    return r->status;
  r->value.u64 = (uint64_t)(uintptr_t)data;
  return 0;
}

/* value + data, after a 2 ms sleep. */
static uva_future_t *plus_one_later(void *data, uva_value_t value,
                                    uva_free_cb free_fn) {
  ck_assert_ptr_null((void *)(uintptr_t)free_fn);
  ck_assert_int_eq(uva_in_task(), 0);
  ck_assert_ptr_eq(uva_current_loop(), chain_loop);
  steps++;
  return uva_future_map(uva_sleep(chain_loop, 2), set_to_data,
                        (void *)(uintptr_t)(value.u64 + (uintptr_t)data));
}

static uva_future_t *fail_step(void *data, uva_value_t value,
                               uva_free_cb free_fn) {
  (void)data;
  if (free_fn != NULL)
    free_fn(value.ptr);
  steps++;
  return uva_failed(chain_loop, UV_EPROTO);
}

static uva_future_t *sleep_step(void *data, uva_value_t value,
                                uva_free_cb free_fn) {
  (void)data;
  (void)value;
  (void)free_fn;
  steps++;
  return uva_sleep(chain_loop, 10000);
}

START_TEST(and_then_chains) {
  LOOP_INIT(loop);
  uva_value_t v;
  job_t j;
  uva_future_t *f;

  chain_loop = loop;
  steps = 0;
  f = uva_future_and_then(job(&j, loop, 2, 0), plus_one_later, (void *)1);
  f = uva_future_and_then(f, plus_one_later, (void *)10);
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 13);
  ck_assert_int_eq(steps, 2);
  /* a failure skips the step */
  ck_assert_int_eq(uva_block_on(loop,
                                uva_future_and_then(uva_failed(loop, UV_EPIPE),
                                                    plus_one_later, NULL),
                                NULL),
                   UV_EPIPE);
  ck_assert_int_eq(steps, 2);
  /* the step may fail the chain */
  ck_assert_int_eq(
      uva_block_on(loop,
                   uva_future_and_then(uva_ready(loop, test_strdup("v"), free),
                                       fail_step, NULL),
                   NULL),
      UV_EPROTO);
  ck_assert_int_eq(steps, 3);
  /* cancelled while the second future waits: that one is cancelled */
  ck_assert_int_eq(
      uva_block_on(loop,
                   uva_timeout(uva_future_and_then(uva_ready_u64(loop, 1),
                                                   sleep_step, NULL),
                               10),
                   NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(steps, 4);
  /* cancelled while the first waits: the step never runs */
  ck_assert_int_eq(
      uva_block_on(loop,
                   uva_timeout(uva_future_and_then(uva_sleep(loop, 10000),
                                                   sleep_step, NULL),
                               5),
                   NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(steps, 4);
  /* a chain freed before it started: nothing runs */
  uva_future_free(uva_future_and_then(uva_ready_u64(loop, 1), sleep_step, NULL));
  ck_assert_int_eq(uva_future_status(uva_future_and_then(NULL, sleep_step,
                                                         NULL)),
                   UV_EINVAL);
  ck_assert_int_eq(
      uva_block_on(loop, uva_future_and_then(uva_ready_u64(loop, 1), NULL, NULL),
                   NULL),
      UV_EINVAL);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(steps, 4);
}
END_TEST

/* ---- current loop --------------------------------------------------------- */

static int loop_body(void *arg, uva_result_t *result) {
  (void)result;
  return uva_current_loop() == arg ? 0 : UV_EINVAL;
}

static void loop_cb(int status, uva_value_t value, void *data) {
  (void)status;
  (void)value;
  *(uv_loop_t **)data = uva_current_loop();
}

START_TEST(current_loop) {
  LOOP_INIT(loop);
  uv_loop_t *seen = NULL;

  ck_assert_ptr_null(uva_current_loop());
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, loop_body, loop), NULL),
                   0);
  ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, 0), loop_cb, &seen), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_ptr_eq(seen, loop);
  ck_assert_ptr_null(uva_current_loop());
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("combinators");
  TCase *tc = tcase_create("combinators");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, first_ok_skips_failures);
  tcase_add_test(tc, first_ok_all_fail);
  tcase_add_test(tc, first_ok_channels);
  tcase_add_test(tc, first_ok_bad_input_and_cancel);
  tcase_add_test(tc, map_values_and_errors);
  tcase_add_test(tc, map_exactly_once);
  tcase_add_test(tc, and_then_chains);
  tcase_add_test(tc, current_loop);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
