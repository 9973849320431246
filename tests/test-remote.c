/* Loops that work together (issue 11, lib/core/remote.c): serving,
 * uva_spawn_on, uva_future_on, uva_spawn_on_blocking, between the test's
 * own loop and loops in threads (2 to 8). */
#include "test-util.h"

#include <stdatomic.h>
#include <stdio.h>

/* ---- a serving loop in a thread ----------------------------------------- */

typedef struct {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_sem_t ready;
  int close_rc;     /* uv_loop_close's result, once the thread ended */
  int shutdown_rc;
} server_t;

static void server_main(void *arg) {
  server_t *s = arg;
  ck_assert_int_eq(uv_loop_init(&s->loop), 0);
  ck_assert_int_eq(uva_loop_serve(&s->loop), 0);
  uv_sem_post(&s->ready);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  s->shutdown_rc = uva_loop_shutdown(&s->loop, 5000, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  s->close_rc = uv_loop_close(&s->loop);
}

static void server_start(server_t *s) {
  memset(s, 0, sizeof(*s));
  s->close_rc = -1;
  ck_assert_int_eq(uv_sem_init(&s->ready, 0), 0);
  ck_assert_int_eq(uv_thread_create(&s->thread, server_main, s), 0);
  uv_sem_wait(&s->ready);
}

static int stop_fn(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  return uva_loop_serve_stop(uva_current_loop());
}

/* From a thread that runs no loop: the server stops serving (through a
 * request of its own), its thread ends, the loop closed with 0. */
static void server_stop(server_t *s) {
  ck_assert_int_eq(uva_spawn_on_blocking(&s->loop, stop_fn, NULL, NULL), 0);
  uv_thread_join(&s->thread);
  ck_assert_int_eq(s->shutdown_rc, 0);
  ck_assert_int_eq(s->close_rc, 0);
  uv_sem_destroy(&s->ready);
}

/* ---- bodies ------------------------------------------------------------- */

static int where_fn(void *arg, uva_result_t *r) {
  uv_thread_t *out = arg;
  *out = uv_thread_self();
  r->value.ptr = test_strdup("from afar");
  r->free_fn = free;
  return 0;
}

static int fail_fn(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  return UV_EPROTO;
}

static atomic_int remote_cancelled, remote_ran;

static int long_fn(void *arg, uva_result_t *r) {
  int err;
  (void)arg;
  (void)r;
  atomic_fetch_add(&remote_ran, 1);
  err = uva_await(uva_sleep(uva_current_loop(), 10000), NULL);
  if (err == UV_ECANCELED)
    atomic_fetch_add(&remote_cancelled, 1);
  return err;
}

static int add_fn(void *arg, uva_result_t *r) {
  r->value.u64 = (uintptr_t)arg + 1;
  return 0;
}

/* ---- serve ---------------------------------------------------------------- */

START_TEST(serve_errors) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_loop_serve(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_loop_serve_stop(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_loop_serving(NULL), 0);
  ck_assert_int_eq(uva_loop_serve_stop(loop), UV_ENOENT);
  ck_assert_int_eq(uva_loop_serving(loop), 0);
  ck_assert_int_eq(uva_loop_serve(loop), 0);
  ck_assert_int_eq(uva_loop_serving(loop), 1);
  ck_assert_int_eq(uva_loop_serve(loop), UV_EALREADY);
  /* serving keeps the loop running: one turn does not end it */
  ck_assert_int_ne(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(uva_loop_serve_stop(loop), 0);
  ck_assert_int_eq(uva_loop_serving(loop), 0);
  ck_assert_int_eq(uva_loop_serve_stop(loop), UV_ENOENT);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(refused) {
  server_t s;
  uv_loop_t other;
  uva_result_t r;
  LOOP_INIT(loop);

  ck_assert_int_eq(uv_loop_init(&other), 0);
  /* no uva state at all, then a state that does not serve */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, &other, add_fn, NULL),
                                NULL),
                   UV_ECONNREFUSED);
  ck_assert_int_eq(uva_spawn_on_blocking(&other, add_fn, NULL, &r),
                   UV_ECONNREFUSED);
  ck_assert_int_eq(uva_loop_serve(&other), 0);
  ck_assert_int_eq(uva_loop_serve_stop(&other), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, &other, add_fn, NULL),
                                NULL),
                   UV_ECONNREFUSED);
  ck_assert_int_eq(uv_run(&other, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&other), 0);
  /* bad input */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, NULL, add_fn, NULL),
                                NULL),
                   UV_EINVAL);
  server_start(&s);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, &s.loop, NULL, NULL),
                                NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, uva_future_on(loop, &s.loop, NULL, NULL),
                                NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uva_future_status(uva_spawn_on(NULL, &s.loop, add_fn, NULL)),
                   UV_EINVAL);
  ck_assert_int_eq(uva_spawn_on_blocking(NULL, add_fn, NULL, &r), UV_EINVAL);
  ck_assert_int_eq(uva_spawn_on_blocking(&s.loop, NULL, NULL, &r), UV_EINVAL);
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- spawn_on ------------------------------------------------------------- */

typedef struct {
  uv_loop_t *home;
  uv_loop_t *target;
  uv_thread_t ran_on;
  int status;
  char *text;
} spawn_case;

static int spawn_from_task(void *arg, uva_result_t *r) {
  spawn_case *c = arg;
  uva_value_t v;
  (void)r;
  c->status = uva_await(uva_spawn_on(c->home, c->target, where_fn, &c->ran_on),
                        &v);
  if (c->status == 0)
    c->text = v.ptr;
  return 0;
}

START_TEST(spawn_on_moves_result) {
  server_t s;
  spawn_case c;
  uv_thread_t self = uv_thread_self();
  LOOP_INIT(loop);

  server_start(&s);
  memset(&c, 0, sizeof(c));
  c.home = loop;
  c.target = &s.loop;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, spawn_from_task, &c),
                                NULL),
                   0);
  ck_assert_int_eq(c.status, 0);
  ck_assert_str_eq(c.text, "from afar");
  free(c.text);
  ck_assert(!uv_thread_equal(&c.ran_on, &self));
  ck_assert(uv_thread_equal(&c.ran_on, &s.thread));
  /* an error comes back as it is; a value nobody takes is freed at home */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, &s.loop, fail_fn, NULL),
                                NULL),
                   UV_EPROTO);
  ck_assert_int_eq(uva_block_on(loop,
                                uva_spawn_on(loop, &s.loop, where_fn, &c.ran_on),
                                NULL),
                   0);
  /* to itself: a plain spawn */
  {
    uva_value_t v;
    ck_assert_int_eq(uva_block_on(loop, uva_spawn_on(loop, loop, add_fn,
                                                     (void *)(uintptr_t)41),
                                  &v),
                     0);
    ck_assert_uint_eq(v.u64, 42);
  }
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uv_loop_t *home, *target;
  int status;
} cancel_case;

static int cancel_from_task(void *arg, uva_result_t *r) {
  cancel_case *c = arg;
  (void)r;
  /* the remote task sleeps 10 s: the timeout drops (cancels) it */
  c->status = uva_await(
      uva_timeout(uva_spawn_on(c->home, c->target, long_fn, NULL), 50), NULL);
  return 0;
}

START_TEST(cancel_reaches_remote_task) {
  server_t s;
  cancel_case c;
  uva_future_t *f;
  LOOP_INIT(loop);

  atomic_store(&remote_cancelled, 0);
  atomic_store(&remote_ran, 0);
  server_start(&s);
  c.home = loop;
  c.target = &s.loop;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, cancel_from_task, &c),
                                NULL),
                   0);
  ck_assert_int_eq(c.status, UV_ETIMEDOUT);
  /* the timeout dropped the join future: the remote task saw the cancel
   * (it may still be finishing: the join future was dropped, not awaited) */
  while (atomic_load(&remote_cancelled) < 1)
    uv_run(loop, UV_RUN_NOWAIT), uv_sleep(1);

  /* cancel then await: the join future settles once the task returned */
  f = uva_spawn_on(loop, &s.loop, long_fn, NULL);
  while (atomic_load(&remote_ran) < 2)
    uv_run(loop, UV_RUN_NOWAIT), uv_sleep(1);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  ck_assert_int_eq(atomic_load(&remote_cancelled), 2);

  /* freed at once, before the request even ran: nothing runs or leaks */
  uva_future_free(uva_spawn_on(loop, &s.loop, long_fn, NULL));
  /* detached: runs to its end on the server */
  uva_future_detach(uva_spawn_on(loop, &s.loop, where_fn, &c));
  uv_run(loop, UV_RUN_DEFAULT); /* until the replies are home */
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- future_on ------------------------------------------------------------ */

static uva_future_t *make_sleep(uv_loop_t *target, void *arg) {
  return uva_sleep(target, (uint64_t)(uintptr_t)arg);
}

static uva_future_t *make_ready(uv_loop_t *target, void *arg) {
  return uva_ready_u64(target, (uint64_t)(uintptr_t)arg);
}

static uva_future_t *make_null(uv_loop_t *target, void *arg) {
  (void)target;
  (void)arg;
  return NULL;
}

static uva_future_t *make_wrong_loop(uv_loop_t *target, void *arg) {
  (void)target;
  return arg; /* a future of another loop */
}

typedef struct {
  uv_loop_t *home, *target;
  int ready_status, select_status, winner;
  uint64_t value;
} future_case;

static int future_task(void *arg, uva_result_t *r) {
  future_case *c = arg;
  uva_value_t v;
  uva_future_t *fs[2];
  uva_result_t winner;
  (void)r;
  c->ready_status = uva_await(
      uva_future_on(c->home, c->target, make_ready, (void *)(uintptr_t)7), &v);
  c->value = v.u64;
  /* a select between a remote 10 s sleep and a local 20 ms one: the local
   * one wins, the remote one is cancelled */
  fs[0] = uva_future_on(c->home, c->target, make_sleep, (void *)(uintptr_t)10000);
  fs[1] = uva_sleep(c->home, 20);
  c->select_status = uva_await(uva_select(c->home, fs, 2, &winner), &v);
  c->winner = (int)v.u64;
  return 0;
}

START_TEST(future_on_combinators) {
  server_t s;
  future_case c;
  uva_future_t *other;
  LOOP_INIT(loop);

  server_start(&s);
  memset(&c, 0, sizeof(c));
  c.home = loop;
  c.target = &s.loop;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, future_task, &c), NULL),
                   0);
  ck_assert_int_eq(c.ready_status, 0);
  ck_assert_uint_eq(c.value, 7);
  ck_assert_int_eq(c.select_status, 0);
  ck_assert_int_eq(c.winner, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_future_on(loop, &s.loop, make_null, NULL),
                                NULL),
                   UV_ENOMEM);
  other = uva_ready_u64(loop, 1); /* this loop's, not the target's */
  ck_assert_int_eq(uva_block_on(loop,
                                uva_future_on(loop, &s.loop, make_wrong_loop, other),
                                NULL),
                   UV_EINVAL);
  uva_future_free(other);
  /* consumed by a then callback on this loop, outside any task */
  {
    then_rec rec;
    memset(&rec, 0, sizeof(rec));
    rec.in_call = 1;
    ck_assert_int_eq(uva_future_then(uva_future_on(loop, &s.loop, make_ready,
                                                   (void *)(uintptr_t)11),
                                     record, &rec),
                     0);
    rec.in_call = 0;
    while (rec.calls == 0)
      uv_run(loop, UV_RUN_ONCE);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(rec.status, 0);
    ck_assert_uint_eq(rec.value.u64, 11);
  }
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- spawn_on_blocking ---------------------------------------------------- */

static int blocking_inside(void *arg, uva_result_t *r) {
  server_t *s = arg;
  (void)r;
  /* a task of a loop must not block its thread */
  return uva_spawn_on_blocking(&s->loop, add_fn, NULL, NULL) == UV_EINVAL ? 0
                                                                           : -1;
}

START_TEST(blocking_from_main) {
  server_t s;
  uva_result_t r;
  int i;
  LOOP_INIT(loop);

  server_start(&s);
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(uva_spawn_on_blocking(&s.loop, add_fn,
                                           (void *)(uintptr_t)i, &r),
                     0);
    ck_assert_uint_eq(r.value.u64, (uint64_t)i + 1);
  }
  ck_assert_int_eq(uva_spawn_on_blocking(&s.loop, fail_fn, NULL, &r), UV_EPROTO);
  ck_assert_int_eq(uva_spawn_on_blocking(&s.loop, where_fn, &s.thread, NULL),
                   0); /* the value is freed */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, blocking_inside, &s), NULL),
                   0);
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

/* Each round trip gives the home future back to the slab class it came
 * from: 20,000 of them in a row do not grow the home loop's slabs. */
static int many_round_trips(void *arg, uva_result_t *r) {
  server_t *s = arg;
  uv_loop_t *home = uva_current_loop();
  uva_stats_t st;
  int i, err;
  for (i = 0; i < 20000; i++)
    if ((err = uva_await(uva_spawn_on(home, &s->loop, add_fn, NULL), NULL)) != 0)
      return err;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  if ((err = uva_loop_stats(home, &st)) != 0)
    return err;
  r->value.u64 = st.slab_bytes;
  return 0;
}

START_TEST(round_trips_reuse_memory) {
  server_t s;
  uva_value_t v;
  LOOP_INIT(loop);
  server_start(&s);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, many_round_trips, &s), &v),
                   0);
  ck_assert_uint_lt(v.u64, 64 * 1024); /* 20,000 leaked 80-byte objects: 1.6 MB */
  server_stop(&s);
  LOOP_CLOSE(loop);
}
END_TEST

static atomic_int detached_runs;

static int count_fn(void *arg, uva_result_t *r) {
  (void)arg;
  atomic_fetch_add(&detached_runs, 1);
  r->value.ptr = test_strdup("nobody takes this");
  r->free_fn = free; /* freed on the target */
  return 0;
}

static void detach_thread(void *arg) {
  server_t *s = arg;
  int i;
  for (i = 0; i < 100; i++)
    ck_assert_int_eq(uva_spawn_on_detached(&s->loop, count_fn, NULL), 0);
}

START_TEST(detached_from_threads) {
  server_t s;
  uv_thread_t th[2];
  uv_loop_t other;
  int i;

  atomic_store(&detached_runs, 0);
  ck_assert_int_eq(uva_spawn_on_detached(NULL, count_fn, NULL), UV_EINVAL);
  ck_assert_int_eq(uv_loop_init(&other), 0);
  ck_assert_int_eq(uva_spawn_on_detached(&other, count_fn, NULL),
                   UV_ECONNREFUSED);
  ck_assert_int_eq(uv_loop_close(&other), 0);
  server_start(&s);
  ck_assert_int_eq(uva_spawn_on_detached(&s.loop, NULL, NULL), UV_EINVAL);
  for (i = 0; i < 2; i++)
    ck_assert_int_eq(uv_thread_create(&th[i], detach_thread, &s), 0);
  for (i = 0; i < 2; i++)
    uv_thread_join(&th[i]);
  /* the stop request queues behind all 200: each has run by then */
  server_stop(&s);
  ck_assert_int_eq(atomic_load(&detached_runs), 200);
}
END_TEST

/* ---- many loops ------------------------------------------------------------- */

#define MESH_MAX 8
#define MESH_ROUNDS 200

typedef struct {
  server_t *servers;
  int n, self;
  atomic_int *sum;
} mesh_arg;

/* On server self: spawns onto every other server MESH_ROUNDS times (the
 * joins of one round awaited together), and some are cancelled. */
static int mesh_fn(void *arg, uva_result_t *r) {
  mesh_arg *m = arg;
  uv_loop_t *home = uva_current_loop();
  uva_future_t *fs[MESH_MAX];
  uva_result_t rs[MESH_MAX];
  int round, i, k;
  (void)r;
  for (round = 0; round < MESH_ROUNDS; round++) {
    for (i = 0, k = 0; i < m->n; i++)
      if (i != m->self)
        fs[k++] = uva_spawn_on(home, &m->servers[i].loop, add_fn,
                               (void *)(uintptr_t)round);
    if (round % 10 == 3) { /* cancel one: it ran or it did not, never half */
      uva_future_cancel(fs[0]);
    }
    if (uva_await(uva_join(home, fs, (size_t)k, rs), NULL) != 0)
      return -1;
    for (i = 0; i < k; i++) {
      if (rs[i].status == 0) {
        if (rs[i].value.u64 != (uint64_t)round + 1)
          return -2;
        atomic_fetch_add(m->sum, 1);
      } else if (rs[i].status != UV_ECANCELED) {
        return -3;
      }
    }
  }
  return 0;
}

static void mesh(int n) {
  server_t servers[MESH_MAX];
  mesh_arg args[MESH_MAX];
  atomic_int sum;
  uva_result_t r;
  int i;

  atomic_init(&sum, 0);
  for (i = 0; i < n; i++)
    server_start(&servers[i]);
  for (i = 0; i < n; i++) {
    args[i].servers = servers;
    args[i].n = n;
    args[i].self = i;
    args[i].sum = &sum;
  }
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(uva_spawn_on_blocking(&servers[i].loop, mesh_fn, &args[i],
                                           &r),
                     0);
  }
  ck_assert_int_ge(atomic_load(&sum), n * (n - 1) * MESH_ROUNDS * 9 / 10);
  for (i = 0; i < n; i++)
    server_stop(&servers[i]);
}

START_TEST(mesh_2) { mesh(2); }
END_TEST
START_TEST(mesh_4) { mesh(4); }
END_TEST
START_TEST(mesh_8) { mesh(8); }
END_TEST

/* ---- stop with requests queued ---------------------------------------------- */

START_TEST(stop_runs_queued_requests) {
  server_t s;
  uva_future_t *fs[50];
  uva_result_t rs[50];
  int i;
  LOOP_INIT(loop);

  server_start(&s);
  for (i = 0; i < 50; i++)
    fs[i] = uva_spawn_on(loop, &s.loop, add_fn, (void *)(uintptr_t)i);
  /* the stop request is queued behind the 50: they run, then it stops */
  ck_assert_int_eq(uva_spawn_on_blocking(&s.loop, stop_fn, NULL, NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 50, rs), NULL), 0);
  for (i = 0; i < 50; i++) {
    ck_assert_int_eq(rs[i].status, 0);
    ck_assert_uint_eq(rs[i].value.u64, (uint64_t)i + 1);
  }
  uv_thread_join(&s.thread);
  ck_assert_int_eq(s.close_rc, 0);
  uv_sem_destroy(&s.ready);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("remote");
  TCase *tc = tcase_create("remote");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, serve_errors);
  tcase_add_test(tc, refused);
  tcase_add_test(tc, spawn_on_moves_result);
  tcase_add_test(tc, cancel_reaches_remote_task);
  tcase_add_test(tc, future_on_combinators);
  tcase_add_test(tc, blocking_from_main);
  tcase_add_test(tc, stop_runs_queued_requests);
  tcase_add_test(tc, detached_from_threads);
  tcase_add_test(tc, round_trips_reuse_memory);
  tcase_add_test(tc, mesh_2);
  tcase_add_test(tc, mesh_4);
  tcase_add_test(tc, mesh_8);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
