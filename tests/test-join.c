/* Join and select: uva_join (join!) and uva_select (select!). */
#include "test-util.h"


/* A pending user future kept alive through a test, so that uva's state for
 * the loop outlives the futures the test frees (see
 * join_bad_input_frees_last_object for why some tests need it). */
static uva_future_t *keeper_new(uv_loop_t *loop) {
  return uva_future_new(loop);
}

static void keeper_end(uva_future_t *k) {
  uva_future_free(k);
  ck_assert_int_eq(uva_future_resolve_u64(k, 0), UV_ECANCELED);
}

static uint64_t now_ms(uv_loop_t *loop) {
  uv_update_time(loop);
  return uv_now(loop);
}

/* ---- a user timer that settles a user future ----------------------------- */

typedef struct {
  uv_timer_t timer;
  uva_future_t *f;
  int err;       /* reject with this when < 0 */
  const char *s; /* else resolve with a copy of s (count_free), or u64 */
  uint64_t u64;
  int ret; /* what the resolve returned */
  int fired;
} settler_t;

static void settler_cb(uv_timer_t *h) {
  settler_t *st = (settler_t *)h;
  st->fired++;
  if (st->err < 0)
    st->ret = uva_future_reject(st->f, st->err);
  else if (st->s != NULL)
    st->ret = uva_future_resolve(st->f, test_strdup(st->s), count_free);
  else
    st->ret = uva_future_resolve_u64(st->f, st->u64);
}

static void settler_start(uv_loop_t *loop, settler_t *st, uva_future_t *f,
                          uint64_t ms) {
  st->f = f;
  st->fired = 0;
  st->ret = 1;
  ck_assert_int_eq(uv_timer_init(loop, &st->timer), 0);
  ck_assert_int_eq(uv_timer_start(&st->timer, settler_cb, ms, 0), 0);
}

static void settler_close(settler_t *st) {
  uv_close((uv_handle_t *)&st->timer, NULL);
}

/* ---- tasks -------------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  uint64_t ms;
  uint64_t value;
  uva_future_t *resolve; /* a user future to resolve, or NULL */
} sleeper_arg;

static int sleep_then_return(void *arg, uva_result_t *r) {
  sleeper_arg *a = arg;
  ck_assert_int_eq(uva_await(uva_sleep(a->loop, a->ms), NULL), 0);
  if (a->resolve != NULL)
    ck_assert_int_eq(uva_future_resolve(a->resolve, test_strdup("task"),
                                        count_free),
                     0);
  r->value.u64 = a->value;
  return 0;
}

static int task_await_status;
static int task_finished;
static int waits_forever(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  (void)r;
  task_await_status = 1;
  task_await_status = uva_await(uva_sleep(loop, 600000), NULL);
  task_finished = 1;
  return 0;
}

/* ---- join --------------------------------------------------------------- */

START_TEST(join_mixed_orders) {
  LOOP_INIT(loop);
  settler_t s1 = {0}, s2 = {0};
  uva_result_t res[7];
  uva_future_t *fs[7];
  uva_future_t *u3 = uva_future_new(loop);
  sleeper_arg ta = {loop, 15, 9, u3};
  uva_value_t v;
  int i;
  frees = 0;
  fs[0] = uva_future_new(loop); /* resolved by a timer at 20 ms */
  fs[1] = uva_sleep(loop, 30);
  fs[2] = uva_ready_u64(loop, 7); /* ready at once */
  fs[3] = uva_sleep(loop, 5);
  fs[4] = uva_future_new(loop); /* rejected by a timer at 10 ms */
  fs[5] = uva_spawn(loop, sleep_then_return, &ta);
  fs[6] = u3; /* resolved from the task */
  s1.s = "timer";
  settler_start(loop, &s1, fs[0], 20);
  s2.err = UV_EIO;
  settler_start(loop, &s2, fs[4], 10);
  memset(res, 0xAB, sizeof(res));
  v.u64 = 99;
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 7, res), &v), 0);
  ck_assert_int_eq(s1.ret, 0);
  ck_assert_int_eq(s2.ret, 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_str_eq(res[0].value.ptr, "timer");
  ck_assert_ptr_eq(res[0].free_fn, count_free);
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_ptr_null(res[1].free_fn);
  ck_assert_int_eq(res[2].status, 0);
  ck_assert_uint_eq(res[2].value.u64, 7);
  ck_assert_ptr_null(res[2].free_fn);
  ck_assert_int_eq(res[3].status, 0);
  ck_assert_int_eq(res[4].status, UV_EIO); /* an error in its own slot */
  ck_assert_ptr_null(res[4].free_fn);
  ck_assert_int_eq(res[5].status, 0);
  ck_assert_uint_eq(res[5].value.u64, 9);
  ck_assert_int_eq(res[6].status, 0);
  ck_assert_str_eq(res[6].value.ptr, "task");
  ck_assert_ptr_eq(res[6].free_fn, count_free);
  ck_assert_int_eq(frees, 0); /* the values are ours */
  for (i = 0; i < 7; i++)
    uva_result_free(&res[i]);
  ck_assert_int_eq(frees, 2);
  settler_close(&s1);
  settler_close(&s2);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(join_all_errors) {
  LOOP_INIT(loop);
  uva_result_t res[3];
  uva_future_t *fs[3];
  fs[0] = uva_failed(loop, UV_ENOENT);
  fs[1] = uva_future_new(loop);
  fs[2] = uva_failed(loop, UV_EPERM);
  uva_future_t *u = fs[1];
  uva_future_t *j = uva_join(loop, fs, 3, res);
  ck_assert_int_eq(uva_future_status(j), UVA_PENDING);
  ck_assert_int_eq(uva_future_reject(u, UV_EPIPE), 0);
  ck_assert_int_eq(uva_block_on(loop, j, NULL), 0);
  ck_assert_int_eq(res[0].status, UV_ENOENT);
  ck_assert_int_eq(res[1].status, UV_EPIPE);
  ck_assert_int_eq(res[2].status, UV_EPERM);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_all_ready) {
  LOOP_INIT(loop);
  uva_result_t res[2];
  uva_future_t *fs[2];
  uva_value_t v;
  frees = 0;
  fs[0] = uva_ready(loop, test_strdup("a"), count_free);
  fs[1] = uva_ready_u64(loop, 3);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, res), &v), 0);
  ck_assert_str_eq(res[0].value.ptr, "a");
  ck_assert_uint_eq(res[1].value.u64, 3);
  uva_result_free(&res[0]);
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_empty) {
  LOOP_INIT(loop);
  uva_future_t *j = uva_join(loop, NULL, 0, NULL);
  ck_assert_int_eq(uva_future_status(j), 0); /* settles at once */
  ck_assert_int_eq(uva_block_on(loop, j, NULL), 0);
  uva_future_t *none[1] = {NULL};
  uva_result_t r;
  j = uva_join(loop, none, 0, &r);
  ck_assert_int_eq(uva_future_status(j), 0);
  uva_future_free(j);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_bad_input) {
  LOOP_INIT(loop);
  uva_result_t res[3];
  uva_future_t *fs[3];
  uva_future_t *j;
  uva_future_t *keeper = keeper_new(loop);
  frees = 0;
  /* NULL loop: every entry is freed */
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = uva_ready(loop, malloc(4), count_free);
  j = uva_join(NULL, fs, 2, res);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(uva_future_status(j), UV_EINVAL);
  uva_future_free(j);
  ck_assert_int_eq(frees, 2);
  /* NULL futures with n > 0 */
  j = uva_join(loop, NULL, 2, res);
  ck_assert_int_eq(uva_future_status(j), UV_EINVAL);
  uva_future_free(j);
  /* NULL results with n > 0 */
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = uva_ready(loop, malloc(4), count_free);
  j = uva_join(loop, fs, 2, NULL);
  ck_assert_int_eq(uva_future_status(j), UV_EINVAL);
  uva_future_free(j);
  ck_assert_int_eq(frees, 4);
  /* a NULL entry: the others are freed (and a pending one cancelled) */
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = NULL;
  fs[2] = uva_future_new(loop);
  uva_future_t *u = fs[2];
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 3, res), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 5);
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 6);
  keeper_end(keeper);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Regression: when the entries a failing uva_join frees were the last uva
 * objects on the loop, freeing them freed uva's loop state, and uva_join then
 * made its failed future from that freed state (use after free). */
START_TEST(join_bad_input_frees_last_object) {
  LOOP_INIT(loop);
  uva_future_t *fs[1];
  fs[0] = uva_ready_u64(loop, 1);
  uva_future_t *j = uva_join(loop, fs, 1, NULL); /* results NULL: EINVAL */
  ck_assert_int_eq(uva_future_status(j), UV_EINVAL);
  uva_future_free(j);
  /* the same through a NULL entry */
  fs[0] = NULL;
  uva_future_t *fs2[2] = {uva_ready_u64(loop, 1), NULL};
  uva_result_t res[2];
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs2, 2, res), NULL),
                   UV_EINVAL);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int then_calls;
static int then_status;
static void then_note(int status, uva_value_t value, void *data) {
  (void)data;
  then_calls++;
  then_status = status;
  if (status == 0)
    free(value.ptr);
}

START_TEST(join_consumed_entry) {
  LOOP_INIT(loop);
  uva_result_t res[2], res2[2];
  uva_future_t *fs[2];
  frees = 0;
  /* an entry already consumed by a then-callback */
  uva_future_t *u = uva_future_new(loop);
  then_calls = 0;
  ck_assert_int_eq(uva_future_then(u, then_note, NULL), 0);
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = u;
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, res), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  /* the then-callback still owns u */
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), free), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(then_calls, 1);
  ck_assert_int_eq(then_status, 0);
  /* an entry already adopted by another join */
  u = uva_future_new(loop);
  fs[0] = u;
  uva_future_t *j1 = uva_join(loop, fs, 1, res);
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = u;
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, res2), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 2);
  ck_assert_int_eq(uva_future_resolve_u64(u, 5), 0);
  ck_assert_int_eq(uva_block_on(loop, j1, NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_uint_eq(res[0].value.u64, 5);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* A future that failed before it had a loop (uva_sleep(NULL, ..)) is still a
 * future: join stores its error in its slot.  Doing it twice in one process
 * must work the same both times.  Regression: adopting such a future wrote
 * consumer = DETACHED into the shared static failed future, so from then on
 * every join/select given one failed as a whole with UV_EINVAL. */
START_TEST(join_loopless_failed_child) {
  LOOP_INIT(loop);
  uva_result_t res[2];
  uva_future_t *fs[2];
  int round;
  uva_future_t *keeper = keeper_new(loop);
  frees = 0;
  for (round = 0; round < 2; round++) {
    fs[0] = uva_sleep(NULL, 1);
    fs[1] = uva_ready(loop, malloc(4), count_free);
    ck_assert_int_eq(uva_future_status(fs[0]), UV_EINVAL);
    ck_assert_msg(uva_block_on(loop, uva_join(loop, fs, 2, res), NULL) == 0,
                  "round %d: join over a loopless failed future failed "
                  "as a whole",
                  round);
    ck_assert_int_eq(res[0].status, UV_EINVAL);
    ck_assert_int_eq(res[1].status, 0);
    uva_result_free(&res[1]);
  }
  ck_assert_int_eq(frees, 2);
  keeper_end(keeper);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_cancel) {
  LOOP_INIT(loop);
  uva_result_t res[3];
  uva_future_t *fs[3];
  uva_future_t *u = uva_future_new(loop);
  frees = 0;
  fs[0] = u;
  fs[1] = uva_ready(loop, malloc(4), count_free); /* stored at once */
  fs[2] = uva_sleep(loop, 600000);
  uva_future_t *j = uva_join(loop, fs, 3, res);
  ck_assert_int_eq(uva_future_status(j), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_int_eq(uva_future_status(j), UV_ECANCELED);
  ck_assert_int_eq(frees, 1); /* the stored value was freed */
  ck_assert_ptr_null(res[1].free_fn);
  /* pending children were cancelled */
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 2);
  ck_assert_int_eq(uva_block_on(loop, j, NULL), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_cancel_task_child) {
  LOOP_INIT(loop);
  uva_result_t res[2];
  uva_future_t *fs[2];
  task_await_status = 0;
  task_finished = 0;
  fs[0] = uva_spawn(loop, waits_forever, loop);
  fs[1] = uva_sleep(loop, 600000);
  uva_future_t *j = uva_join(loop, fs, 2, res);
  while (task_await_status == 0)
    ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_int_eq(uva_block_on(loop, j, NULL), UV_ECANCELED);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(task_await_status, UV_ECANCELED);
  ck_assert_int_eq(task_finished, 1);
}
END_TEST

START_TEST(join_free_pending) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_result_t res[3];
  uva_future_t *fs[3];
  uva_future_t *u = uva_future_new(loop);
  frees = 0;
  fs[0] = u;
  fs[1] = uva_ready(loop, malloc(4), count_free);
  fs[2] = uva_sleep(loop, 600000);
  uva_future_free(uva_join(loop, fs, 3, res));
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 2);
  LOOP_CLOSE(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

START_TEST(join_free_settled) {
  LOOP_INIT(loop);
  uva_result_t res[1];
  uva_future_t *fs[1];
  frees = 0;
  fs[0] = uva_ready(loop, malloc(4), count_free);
  uva_future_t *j = uva_join(loop, fs, 1, res);
  ck_assert_int_eq(uva_future_status(j), 0);
  /* Results are written when the join's own result is taken: a join
   * freed untaken drops its children untaken (a received message would go
   * back to its channel; here the value is freed) and writes nothing. */
  ck_assert_int_eq(res[0].status, UVA_PENDING);
  uva_future_free(j);
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(res[0].status, UVA_PENDING);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int join_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_result_t res[4];
  uva_future_t *fs[4];
  sleeper_arg a = {loop, 5, 11, NULL};
  uva_value_t v;
  fs[0] = uva_sleep(loop, 10);
  fs[1] = uva_ready_u64(loop, 3);
  fs[2] = uva_spawn(loop, sleep_then_return, &a);
  fs[3] = uva_failed(loop, UV_EAGAIN);
  ck_assert_int_eq(uva_await(uva_join(loop, fs, 4, res), &v), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[3].status, UV_EAGAIN);
  r->value.u64 = res[1].value.u64 + res[2].value.u64;
  return 0;
}

START_TEST(join_in_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, join_task, loop), &v),
                   0);
  ck_assert_uint_eq(v.u64, 14);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(join_many_sleeps) {
  LOOP_INIT(loop);
  enum { N = 1000 };
  uva_future_t **fs = malloc(N * sizeof(*fs));
  uva_result_t *res = malloc(N * sizeof(*res));
  int i;
  for (i = 0; i < N; i++)
    fs[i] = uva_sleep(loop, (uint64_t)(i % 20));
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, N, res), NULL), 0);
  for (i = 0; i < N; i++)
    ck_assert_int_eq(res[i].status, 0);
  free(fs);
  free(res);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- select ------------------------------------------------------------- */

START_TEST(select_first_wins) {
  LOOP_INIT(loop);
  settler_t s1 = {0}, s2 = {0};
  uva_result_t w;
  uva_future_t *fs[3];
  uva_value_t v;
  frees = 0;
  fs[0] = uva_future_new(loop);
  fs[1] = uva_future_new(loop);
  fs[2] = uva_sleep(loop, 600000);
  uva_future_t *loser = fs[0];
  s2.s = "second";
  settler_start(loop, &s2, fs[1], 10);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 3, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, 0);
  ck_assert_str_eq(w.value.ptr, "second");
  ck_assert_ptr_eq(w.free_fn, count_free);
  ck_assert_int_eq(frees, 0);
  uva_result_free(&w);
  ck_assert_int_eq(frees, 1);
  /* the losing user future was cancelled: its producer learns it later */
  s1.s = "late";
  settler_start(loop, &s1, loser, 5);
  settler_close(&s2);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(s1.fired, 1);
  ck_assert_int_eq(s1.ret, UV_ECANCELED);
  ck_assert_int_eq(frees, 2);
  settler_close(&s1);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(select_sleeps) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_result_t w;
  uva_future_t *fs[3];
  uva_value_t v;
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = uva_sleep(loop, 10);
  fs[2] = uva_sleep(loop, 300000);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 3, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, 0);
  /* the losing timers were stopped and closed: nothing is left */
  LOOP_CLOSE_NOW(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

static int sel_calls;
static uint64_t sel_index;
static void sel_then(int status, uva_value_t value, void *data) {
  (void)data;
  ck_assert_int_eq(status, 0);
  sel_calls++;
  sel_index = value.u64;
}

START_TEST(select_sleeps_then) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = uva_sleep(loop, 5);
  sel_calls = 0;
  ck_assert_int_eq(uva_future_then(uva_select(loop, fs, 2, &w), sel_then, NULL),
                   0);
  /* one uv_run: the losing sleep does not keep the loop */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(sel_calls, 1);
  ck_assert_uint_eq(sel_index, 1);
  LOOP_CLOSE_NOW(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

START_TEST(select_already_settled) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[4];
  uva_value_t v;
  frees = 0;
  uva_future_t *pending = uva_future_new(loop);
  uva_future_t *done = uva_future_new(loop);
  ck_assert_int_eq(uva_future_resolve(done, test_strdup("done"), count_free),
                   0);
  fs[0] = pending;
  fs[1] = uva_sleep(loop, 600000);
  fs[2] = done; /* the first settled one in array order wins */
  fs[3] = uva_ready(loop, malloc(4), count_free);
  uva_future_t *sel = uva_select(loop, fs, 4, &w);
  ck_assert_int_eq(uva_block_on(loop, sel, &v), 0);
  ck_assert_uint_eq(v.u64, 2);
  ck_assert_int_eq(w.status, 0);
  ck_assert_str_eq(w.value.ptr, "done");
  ck_assert_ptr_eq(w.free_fn, count_free);
  ck_assert_int_eq(frees, 1); /* the other ready one was freed */
  uva_result_free(&w);
  ck_assert_int_eq(frees, 2);
  ck_assert_int_eq(uva_future_resolve(pending, malloc(4), count_free),
                   UV_ECANCELED);
  ck_assert_int_eq(frees, 3);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(select_error_wins) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  uva_future_t *u = uva_future_new(loop);
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = u;
  uva_future_t *sel = uva_select(loop, fs, 2, &w);
  ck_assert_int_eq(uva_future_reject(u, UV_EIO), 0);
  ck_assert_int_eq(uva_block_on(loop, sel, &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, UV_EIO);
  ck_assert_ptr_null(w.free_fn);
  /* a future born failed wins at once */
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = uva_failed(loop, UV_ENOENT);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, UV_ENOENT);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* A loopless failed future as the winner, twice in one process (the same
 * regression as join_loopless_failed_child). */
START_TEST(select_loopless_failed_child) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  int round;
  for (round = 0; round < 2; round++) {
    fs[0] = uva_sleep(loop, 600000);
    fs[1] = uva_sleep(NULL, 1);
    ck_assert_msg(uva_block_on(loop, uva_select(loop, fs, 2, &w), &v) == 0,
                  "round %d: select over a loopless failed future failed "
                  "as a whole",
                  round);
    ck_assert_uint_eq(v.u64, 1);
    ck_assert_int_eq(w.status, UV_EINVAL);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(select_bad_input) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[3];
  uva_future_t *s;
  uva_future_t *keeper = keeper_new(loop);
  frees = 0;
  /* n == 0 */
  s = uva_select(loop, fs, 0, &w);
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  s = uva_select(loop, NULL, 0, &w);
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  /* NULL futures */
  s = uva_select(loop, NULL, 2, &w);
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  /* NULL winner: entries freed */
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = uva_ready(loop, malloc(4), count_free);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, NULL), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 2);
  /* NULL loop: entries freed */
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = uva_sleep(loop, 600000);
  s = uva_select(NULL, fs, 2, &w);
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  ck_assert_int_eq(frees, 3);
  /* NULL entry: the others freed, a pending one cancelled */
  uva_future_t *u = uva_future_new(loop);
  fs[0] = uva_ready(loop, malloc(4), count_free);
  fs[1] = u;
  fs[2] = NULL;
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 3, &w), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 4);
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 5);
  keeper_end(keeper);
  LOOP_CLOSE(loop);
}
END_TEST

/* Regression: as join_bad_input_frees_last_object, for uva_select. */
START_TEST(select_bad_input_frees_last_object) {
  LOOP_INIT(loop);
  uva_future_t *fs[1];
  fs[0] = uva_ready_u64(loop, 1);
  uva_future_t *s = uva_select(loop, fs, 1, NULL); /* winner NULL: EINVAL */
  ck_assert_int_eq(uva_future_status(s), UV_EINVAL);
  uva_future_free(s);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(select_cancel) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_future_t *u = uva_future_new(loop);
  frees = 0;
  fs[0] = u;
  fs[1] = uva_sleep(loop, 600000);
  uva_future_t *sel = uva_select(loop, fs, 2, &w);
  ck_assert_int_eq(uva_future_status(sel), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(sel), 0);
  ck_assert_int_eq(uva_future_status(sel), UV_ECANCELED);
  ck_assert_int_eq(uva_future_cancel(sel), UV_EBUSY);
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(uva_block_on(loop, sel, NULL), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(select_free_pending) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_future_t *u = uva_future_new(loop);
  frees = 0;
  fs[0] = u;
  fs[1] = uva_sleep(loop, 600000);
  uva_future_free(uva_select(loop, fs, 2, &w));
  ck_assert_int_eq(uva_future_resolve(u, malloc(4), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE(loop);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

/* tokio::select! { r = task => .., _ = sleep(10) => timeout } */
START_TEST(select_task_vs_sleep) {
  LOOP_INIT(loop);
  uint64_t t0 = now_ms(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  task_await_status = 0;
  task_finished = 0;
  fs[0] = uva_spawn(loop, waits_forever, loop);
  fs[1] = uva_sleep(loop, 10);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, 0);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(task_await_status, UV_ECANCELED);
  ck_assert_int_eq(task_finished, 1);
  ck_assert_uint_lt(now_ms(loop) - t0, 30000);
}
END_TEST

START_TEST(select_task_wins) {
  LOOP_INIT(loop);
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  sleeper_arg a = {loop, 5, 77, NULL};
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = uva_spawn(loop, sleep_then_return, &a);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(w.status, 0);
  ck_assert_uint_eq(w.value.u64, 77);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int select_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_result_t w;
  uva_future_t *fs[2];
  uva_value_t v;
  fs[0] = uva_sleep(loop, 600000);
  fs[1] = uva_sleep(loop, 5);
  ck_assert_int_eq(uva_await(uva_select(loop, fs, 2, &w), &v), 0);
  r->value.u64 = v.u64;
  return 0;
}

START_TEST(select_in_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, select_task, loop), &v),
                   0);
  ck_assert_uint_eq(v.u64, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Regression (issue 9): the same future twice in one join never settled
 * (block_on returned UV_EAGAIN).  Now refused at once, every entry freed
 * once. */
START_TEST(join_select_refuse_duplicates) {
  LOOP_INIT(loop);
  uva_result_t res[3], w;
  uva_future_t *fs[3], *a, *b;
  frees = 0;
  a = uva_ready(loop, malloc(4), count_free);
  b = uva_sleep(loop, 600000);
  fs[0] = a;
  fs[1] = b;
  fs[2] = a;
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 3, res), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  a = uva_ready(loop, malloc(4), count_free);
  b = uva_future_new(loop);
  fs[0] = b;
  fs[1] = a;
  fs[2] = b;
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 3, &w), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 2);
  ck_assert_int_eq(uva_future_resolve_u64(b, 1), UV_ECANCELED);
  /* two receives that complete at once: distinct futures, no duplicate */
  {
    uva_chan_t *ch;
    int x = 1, y = 0, z = 0;
    ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 4, &ch), 0);
    ck_assert_int_eq(uva_chan_try_send(ch, &x), 0);
    ck_assert_int_eq(uva_chan_try_send(ch, &x), 0);
    fs[0] = uva_chan_recv(ch, &y);
    fs[1] = uva_chan_recv(ch, &z);
    ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, res), NULL), 0);
    ck_assert_int_eq(res[0].status, 0);
    ck_assert_int_eq(res[1].status, 0);
    ck_assert_int_eq(y + z, 2);
    uva_chan_free(ch);
  }
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("join");
  TCase *tc = tcase_create("join");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, join_mixed_orders);
  tcase_add_test(tc, join_all_errors);
  tcase_add_test(tc, join_all_ready);
  tcase_add_test(tc, join_empty);
  tcase_add_test(tc, join_bad_input);
  tcase_add_test(tc, join_consumed_entry);
  tcase_add_test(tc, join_cancel);
  tcase_add_test(tc, join_cancel_task_child);
  tcase_add_test(tc, join_free_pending);
  tcase_add_test(tc, join_free_settled);
  tcase_add_test(tc, join_in_task);
  tcase_add_test(tc, join_many_sleeps);
  suite_add_tcase(s, tc);
  tc = tcase_create("select");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, select_first_wins);
  tcase_add_test(tc, select_sleeps);
  tcase_add_test(tc, select_sleeps_then);
  tcase_add_test(tc, select_already_settled);
  tcase_add_test(tc, select_error_wins);
  tcase_add_test(tc, select_bad_input);
  tcase_add_test(tc, select_cancel);
  tcase_add_test(tc, select_free_pending);
  tcase_add_test(tc, select_task_vs_sleep);
  tcase_add_test(tc, select_task_wins);
  tcase_add_test(tc, select_in_task);
  suite_add_tcase(s, tc);
  /* Regression tests for bugs these suites found (fixed). */
  tc = tcase_create("regressions");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, join_bad_input_frees_last_object);
  tcase_add_test(tc, join_loopless_failed_child);
  tcase_add_test(tc, select_loopless_failed_child);
  tcase_add_test(tc, select_bad_input_frees_last_object);
  tcase_add_test(tc, join_select_refuse_duplicates);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
