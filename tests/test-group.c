/* Task groups: uva_group_* (JoinSet, TaskTracker). */
#include "test-util.h"

typedef struct {
  uv_loop_t *loop;
  uint64_t ms;  /* sleeps this long */
  int ret;      /* then returns this */
  int started, cleaned;
  int seen; /* what its sleep returned */
} job_t;

static int job_body(void *arg, uva_result_t *result) {
  job_t *j = arg;
  int err;

  j->started++;
  err = uva_await(uva_sleep(j->loop, j->ms), NULL);
  j->seen = err;
  j->cleaned++;
  if (err != 0)
    return err;
  if (j->ret != 0)
    return j->ret;
  result->value.ptr = malloc(sizeof(uint64_t));
  *(uint64_t *)result->value.ptr = j->ms;
  result->free_fn = count_free;
  return 0;
}

static void job_init(job_t *j, uv_loop_t *loop, uint64_t ms, int ret) {
  memset(j, 0, sizeof(*j));
  j->loop = loop;
  j->ms = ms;
  j->ret = ret;
}

START_TEST(group_join_next_in_finish_order) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j[3];
  uint64_t ids[3], want[3];
  uva_result_t r;
  uva_value_t v;
  int i;

  frees = 0;
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  job_init(&j[0], loop, 300, 0);
  job_init(&j[1], loop, 5, 0);
  job_init(&j[2], loop, 100, UV_EPIPE);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uva_group_spawn(g, job_body, &j[i], NULL, &ids[i]), 0);
  ck_assert_uint_eq(ids[0], 1);
  ck_assert_uint_eq(ids[2], 3);
  ck_assert_uint_eq(uva_group_len(g), 3);
  want[0] = ids[1];
  want[1] = ids[2];
  want[2] = ids[0];
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), &v), 0);
    ck_assert_uint_eq(v.u64, want[i]);
    if (i == 1) {
      ck_assert_int_eq(r.status, UV_EPIPE);
    } else {
      ck_assert_int_eq(r.status, 0);
      ck_assert_uint_eq(*(uint64_t *)r.value.ptr, i == 0 ? 5 : 300);
      uva_result_free(&r);
    }
    ck_assert_uint_eq(uva_group_len(g), 2 - (size_t)i);
  }
  ck_assert_int_eq(frees, 2);
  /* empty: UV_EOF, as JoinSet's None */
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), NULL),
                   UV_EOF);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(group_wait_then_results) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j[4];
  uva_result_t r;
  int i, n = 0;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  for (i = 0; i < 4; i++) {
    job_init(&j[i], loop, (uint64_t)(i * 3), 0);
    ck_assert_int_eq(uva_group_spawn(g, job_body, &j[i], NULL, NULL), 0);
  }
  ck_assert_uint_eq(uva_group_running(g), 4);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  ck_assert_uint_eq(uva_group_running(g), 0);
  ck_assert_uint_eq(uva_group_len(g), 4);
  while (uva_block_on(loop, uva_group_join_next(g, &r), NULL) == 0) {
    ck_assert_int_eq(r.status, 0);
    uva_result_free(&r);
    n++;
  }
  ck_assert_int_eq(n, 4);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(group_cancel_all) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j[3];
  uva_result_t r;
  int i;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  for (i = 0; i < 3; i++) {
    job_init(&j[i], loop, 10000, 0);
    ck_assert_int_eq(uva_group_spawn(g, job_body, &j[i], NULL, NULL), 0);
  }
  /* let two of them start, then cancel all three */
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  uva_group_cancel(g);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(j[i].started, 1);
    ck_assert_int_eq(j[i].seen, UV_ECANCELED);
    ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), NULL), 0);
    ck_assert_int_eq(r.status, UV_ECANCELED);
  }
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

/* Freeing a group cancels its tasks, which clean up on the loop. */
START_TEST(group_free_cancels) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j[3];
  int i;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  for (i = 0; i < 3; i++) {
    job_init(&j[i], loop, i == 0 ? 0 : 10000, 0);
    ck_assert_int_eq(uva_group_spawn(g, job_body, &j[i], NULL, NULL), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  uva_group_free(g); /* j[0] finished: its result is freed */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  for (i = 1; i < 3; i++) {
    ck_assert_int_eq(j[i].seen, UV_ECANCELED);
    ck_assert_int_eq(j[i].cleaned, 1);
  }
  /* freed before its tasks started: they never run */
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  job_init(&j[0], loop, 1, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j[0], NULL, NULL), 0);
  uva_group_free(g);
  LOOP_CLOSE(loop);
  ck_assert_int_eq(j[0].started, 0);
}
END_TEST

/* A group left with running tasks: uva_loop_shutdown ends them. */
START_TEST(group_loop_shutdown) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j[2];
  uva_result_t r;
  int i;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  for (i = 0; i < 2; i++) {
    job_init(&j[i], loop, 10000, 0);
    ck_assert_int_eq(uva_group_spawn(g, job_body, &j[i], NULL, NULL), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_loop_shutdown(loop, 5000, NULL), 0);
  ck_assert_int_eq(j[0].cleaned + j[1].cleaned, 2);
  ck_assert_uint_eq(uva_group_running(g), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), NULL), 0);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

/* Exactly once: a join_next that loses a select, is cancelled, times out or
 * is dropped untaken leaves the result in the group. */
START_TEST(group_join_next_exactly_once) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j;
  uva_result_t r, win;
  uva_future_t *fs[2], *n;
  uva_value_t v;
  uint64_t id;

  frees = 0;
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  /* waiting, then cancelled: the task's result stays */
  job_init(&j, loop, 20, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j, NULL, &id), 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_group_join_next(g, &r), 2), NULL),
      UV_ETIMEDOUT);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  ck_assert_uint_eq(uva_group_len(g), 1);
  /* loses a select to a ready future: never started */
  fs[0] = uva_ready_u64(loop, 1);
  fs[1] = uva_group_join_next(g, &r);
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &win), NULL),
                   0);
  ck_assert_uint_eq(uva_group_len(g), 1);
  /* completes inside a join that times out: dropped untaken, back at the
   * front of the queue */
  fs[0] = uva_group_join_next(g, &r);
  fs[1] = uva_sleep(loop, 2000);
  {
    uva_result_t res[2];
    ck_assert_int_eq(
        uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, res), 5), NULL),
        UV_ETIMEDOUT);
  }
  ck_assert_uint_eq(uva_group_len(g), 1);
  ck_assert_int_eq(frees, 0);
  /* a join_next not started and freed */
  n = uva_group_join_next(g, &r);
  uva_future_free(n);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), &v), 0);
  ck_assert_uint_eq(v.u64, id);
  ck_assert_int_eq(r.status, 0);
  uva_result_free(&r);
  ck_assert_int_eq(frees, 1);
  ck_assert_uint_eq(uva_group_len(g), 0);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

/* A join_next holding a finished member when the group is freed: dropped
 * later, untaken, it frees the member's result. */
START_TEST(group_free_while_result_held) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j;
  uva_result_t r, res[2];
  uva_future_t *fs[2];
  then_rec rec;

  frees = 0;
  memset(&rec, 0, sizeof(rec));
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  job_init(&j, loop, 1, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j, NULL, NULL), 0);
  fs[0] = uva_group_join_next(g, &r);
  fs[1] = uva_sleep(loop, 5000);
  ck_assert_int_eq(uva_future_then(uva_timeout(uva_join(loop, fs, 2, res), 300),
                                   record, &rec),
                   0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 100), NULL), 0);
  ck_assert_uint_eq(uva_group_len(g), 1); /* held by the join_next */
  uva_group_free(g);
  ck_assert_int_eq(frees, 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rec.calls, 1);
  ck_assert_int_eq(rec.status, UV_ETIMEDOUT);
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE(loop);
}
END_TEST

/* Waiting join_nexts are served in order; with nothing left to run, the
 * extra ones get UV_EOF. */
static void rec_next(int status, uva_value_t value, void *data) {
  then_rec *rec = data;
  rec->calls++;
  rec->status = status;
  rec->value = value;
}

START_TEST(group_join_next_from_callbacks) {
  LOOP_INIT(loop);
  uva_group_t *g;
  job_t j;
  then_rec a, b;
  uva_result_t ra, rb;
  uint64_t id;

  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  job_init(&j, loop, 5, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j, NULL, &id), 0);
  ck_assert_int_eq(uva_future_then(uva_group_join_next(g, &ra), rec_next, &a),
                   0);
  ck_assert_int_eq(uva_future_then(uva_group_join_next(g, &rb), rec_next, &b),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_uint_eq(a.value.u64, id);
  ck_assert_int_eq(ra.status, 0);
  uva_result_free(&ra);
  ck_assert_int_eq(b.calls, 1);
  ck_assert_int_eq(b.status, UV_EOF);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(group_token_and_detach) {
  LOOP_INIT(loop);
  uva_group_t *g;
  uva_token_t *tok;
  job_t j[3];
  uva_result_t r;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  ck_assert_int_eq(uva_group_bind_token(g, tok), 0);
  job_init(&j[0], loop, 10000, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j[0], NULL, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  uva_token_cancel(tok);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  ck_assert_int_eq(j[0].seen, UV_ECANCELED);
  /* spawned after the cancel: cancelled as it joins, never runs */
  job_init(&j[1], loop, 1, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j[1], NULL, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  ck_assert_int_eq(j[1].started, 0);
  ck_assert_uint_eq(uva_group_len(g), 2);
  /* unbound: a task runs; detached, it outlives the group */
  ck_assert_int_eq(uva_group_bind_token(g, NULL), 0);
  job_init(&j[2], loop, 20, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j[2], NULL, NULL), 0);
  uva_group_detach_all(g);
  ck_assert_uint_eq(uva_group_running(g), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), NULL), 0);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  uva_group_free(g);
  uva_token_free(tok);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(j[2].seen, 0);
  ck_assert_int_eq(j[2].cleaned, 1);
  /* bound to a cancelled token: cancelled at once */
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  ck_assert_int_eq(uva_token_new(loop, &tok), 0);
  job_init(&j[0], loop, 10000, 0);
  ck_assert_int_eq(uva_group_spawn(g, job_body, &j[0], NULL, NULL), 0);
  uva_token_cancel(tok);
  ck_assert_int_eq(uva_group_bind_token(g, tok), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_wait(g), NULL), 0);
  ck_assert_int_eq(j[0].started, 0);
  uva_token_free(tok); /* before the group: unbinds it */
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(group_add_futures) {
  LOOP_INIT(loop);
  uva_group_t *g;
  uva_chan_t *ch;
  int msg = 9, out = 0;
  uva_result_t r;
  uva_value_t v;
  uint64_t id1, id2, id3;

  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  ck_assert_int_eq(uva_group_add(g, uva_sleep(loop, 10), &id1), 0);
  ck_assert_int_eq(uva_group_add(g, uva_failed(loop, UV_EPIPE), &id2), 0);
  /* a lazy receive starts when it joins */
  ck_assert_int_eq(uva_group_add(g, uva_chan_recv(ch, &out), &id3), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &msg), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), &v), 0);
  ck_assert_uint_eq(v.u64, id2);
  ck_assert_int_eq(r.status, UV_EPIPE);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), &v), 0);
  ck_assert_uint_eq(v.u64, id3);
  ck_assert_int_eq(out, 9);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, &r), &v), 0);
  ck_assert_uint_eq(v.u64, id1);
  ck_assert_int_eq(r.status, 0);
  uva_chan_free(ch);
  uva_group_free(g);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(group_bad_input) {
  LOOP_INIT(loop);
  uva_group_t *g = (uva_group_t *)1;
  uva_spawn_opts_t bad = {1};
  uva_future_t *f, *k;
  then_rec rec;
  uva_result_t r;

  ck_assert_int_eq(uva_group_new(NULL, &g), UV_EINVAL);
  ck_assert_ptr_null(g);
  ck_assert_int_eq(uva_group_new(loop, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_group_spawn(NULL, job_body, NULL, NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uva_group_add(NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_group_join_next(NULL, &r)),
                   UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_group_wait(NULL)), UV_EINVAL);
  ck_assert_uint_eq(uva_group_len(NULL), 0);
  uva_group_cancel(NULL);
  uva_group_detach_all(NULL);
  uva_group_free(NULL);
  ck_assert_int_eq(uva_group_bind_token(NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_group_new(loop, &g), 0);
  ck_assert_int_eq(uva_group_spawn(g, NULL, NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_group_spawn(g, job_body, NULL, &bad, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(g, NULL), NULL),
                   UV_EINVAL);
  /* a future that already has a consumer is refused and left alone */
  k = uva_future_new(loop);
  f = uva_sleep(loop, 1);
  memset(&rec, 0, sizeof(rec));
  ck_assert_int_eq(uva_future_then(f, record, &rec), 0);
  ck_assert_int_eq(uva_group_add(g, f, NULL), UV_EINVAL);
  ck_assert_uint_eq(uva_group_len(g), 0);
  /* a future of another loop is freed */
  {
    uv_loop_t loop2;
    ck_assert_int_eq(uv_loop_init(&loop2), 0);
    ck_assert_int_eq(uva_group_add(g, uva_sleep(&loop2, 10000), NULL),
                     UV_EINVAL);
    ck_assert_int_eq(uv_run(&loop2, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(&loop2), 0);
  }
  uva_group_free(g);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  uva_future_free(k);
  ck_assert_int_eq(uva_future_resolve_u64(k, 0), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

/* A task collecting results with uva_await: members that finished already
 * are taken at once (no wait), the others as they finish. */
typedef struct {
  uva_group_t *g;
  uv_loop_t *loop;
  uint64_t sum;
  int n;
} collect_t;

static int collect_body(void *arg, uva_result_t *result) {
  collect_t *c = arg;
  uva_result_t r;
  uva_value_t v;
  int err;

  (void)result;
  while ((err = uva_await(uva_group_join_next(c->g, &r), &v)) == 0) {
    ck_assert_int_eq(r.status, 0);
    c->sum += *(uint64_t *)r.value.ptr;
    uva_result_free(&r);
    c->n++;
  }
  return err == UV_EOF ? 0 : err;
}

START_TEST(group_collect_in_task) {
  LOOP_INIT(loop);
  collect_t c;
  job_t j[6];
  int i;

  frees = 0;
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  ck_assert_int_eq(uva_group_new(loop, &c.g), 0);
  for (i = 0; i < 6; i++) {
    job_init(&j[i], loop, i < 3 ? 0 : (uint64_t)(10 * i), 0);
    ck_assert_int_eq(uva_group_spawn(c.g, job_body, &j[i], NULL, NULL), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 5), NULL), 0);
  ck_assert_uint_eq(uva_group_running(c.g), 3); /* three wait in the group */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, collect_body, &c), NULL),
                   0);
  ck_assert_int_eq(c.n, 6);
  ck_assert_uint_eq(c.sum, 30 + 40 + 50);
  ck_assert_int_eq(frees, 6);
  ck_assert_uint_eq(uva_group_len(c.g), 0);
  uva_group_free(c.g);
  LOOP_CLOSE(loop);
}
END_TEST

/* Many members finishing while join_nexts keep losing selects, timing out
 * and being cancelled: every result comes out exactly once. */
#define STRESS_N 300

static int id_body(void *arg, uva_result_t *result) {
  job_t *j = arg;
  int err = uva_await(uva_sleep(j->loop, j->ms), NULL);
  if (err != 0)
    return err;
  result->value.ptr = malloc(sizeof(uint64_t));
  *(uint64_t *)result->value.ptr = (uint64_t)j->ret;
  result->free_fn = count_free;
  return 0;
}

typedef struct {
  uva_group_t *g;
  uv_loop_t *loop;
  unsigned char seen[STRESS_N];
  int got, lost_rounds;
} stress_t;

static int stress_body(void *arg, uva_result_t *result) {
  stress_t *st = arg;
  unsigned seed = 12345;
  (void)result;

  while (st->got < STRESS_N) {
    uva_result_t r, win;
    uva_future_t *fs[2], *f;
    uva_value_t v;
    int err, kind;
    seed = seed * 1103515245u + 12345u;
    kind = (int)((seed >> 16) % 4);
    r.status = UVA_PENDING;
    if (kind == 0) { /* plain */
      err = uva_await(uva_group_join_next(st->g, &r), &v);
    } else if (kind == 1) { /* races a zero sleep */
      fs[0] = uva_sleep(st->loop, 0);
      fs[1] = uva_group_join_next(st->g, &r);
      err = uva_await(uva_select(st->loop, fs, 2, &win), &v);
      if (err == 0 && v.u64 == 0) {
        st->lost_rounds++;
        continue;
      }
      err = win.status;
    } else if (kind == 2) { /* a zero timeout */
      err = uva_await(uva_timeout(uva_group_join_next(st->g, &r), 0), &v);
      if (err == UV_ETIMEDOUT) {
        st->lost_rounds++;
        continue;
      }
    } else { /* completes inside a join dropped by a timeout */
      uva_result_t res[2];
      fs[0] = uva_group_join_next(st->g, &r);
      fs[1] = uva_sleep(st->loop, 5000);
      f = uva_timeout(uva_join(st->loop, fs, 2, res), 1);
      ck_assert_int_eq(uva_await(f, NULL), UV_ETIMEDOUT);
      st->lost_rounds++;
      continue;
    }
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(r.status, 0);
    {
      uint64_t k = *(uint64_t *)r.value.ptr;
      ck_assert_uint_lt(k, STRESS_N);
      ck_assert_int_eq(st->seen[k], 0);
      st->seen[k] = 1;
    }
    uva_result_free(&r);
    st->got++;
  }
  return 0;
}

START_TEST(group_join_next_stress) {
  LOOP_INIT(loop);
  static job_t j[STRESS_N];
  static stress_t st;
  uva_result_t r;
  int i;

  frees = 0;
  memset(&st, 0, sizeof(st));
  st.loop = loop;
  ck_assert_int_eq(uva_group_new(loop, &st.g), 0);
  for (i = 0; i < STRESS_N; i++) {
    job_init(&j[i], loop, (uint64_t)(i % 7), i);
    ck_assert_int_eq(uva_group_spawn(st.g, id_body, &j[i], NULL, NULL), 0);
  }
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, stress_body, &st), NULL),
                   0);
  ck_assert_int_eq(st.got, STRESS_N);
  ck_assert_int_gt(st.lost_rounds, 0);
  ck_assert_int_eq(frees, STRESS_N);
  ck_assert_int_eq(uva_block_on(loop, uva_group_join_next(st.g, &r), NULL),
                   UV_EOF);
  uva_group_free(st.g);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("group");
  TCase *tc = tcase_create("group");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, group_join_next_in_finish_order);
  tcase_add_test(tc, group_wait_then_results);
  tcase_add_test(tc, group_cancel_all);
  tcase_add_test(tc, group_free_cancels);
  tcase_add_test(tc, group_loop_shutdown);
  tcase_add_test(tc, group_join_next_exactly_once);
  tcase_add_test(tc, group_join_next_from_callbacks);
  tcase_add_test(tc, group_token_and_detach);
  tcase_add_test(tc, group_add_futures);
  tcase_add_test(tc, group_bad_input);
  tcase_add_test(tc, group_collect_in_task);
  tcase_add_test(tc, group_free_while_result_held);
  tcase_add_test(tc, group_join_next_stress);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
