/* remote (issue 11): a task on loop A places a trivial task on loop B, in
 * another thread, and awaits it, n times in a row:
 * uva_await(uva_spawn_on(A, B, trivial, i)).  B is the one loop of a
 * uva_pool_new(1).  Each round trip is a request on B's inbox, a task
 * spawned and run there, and the reply on A's inbox: two cross-thread
 * wake-ups, as nothing else runs.  Allocations are counted over the second
 * half.
 *
 * Raw: the same round trip written against libuv: B is a thread with a loop
 * of its own and a uv_async_t; A stores the argument (an atomic) and calls
 * uv_async_send on B's handle; B's callback computes the result, stores it
 * and calls uv_async_send on A's handle; A's callback adds it up and sends
 * the next one.  No queue, no allocation: the floor for two wake-ups.
 *
 * The "local" variant is the same loop of awaits with B = A (a plain
 * uva_spawn and await on one loop, no thread crossed), in the same run, for
 * the ratio of a remote round trip to a local one; it has no raw side.
 * The "burst1000" variant places 1,000 tasks on B at once, then awaits
 * them in order, batch after batch: requests and replies share wake-ups
 * (one uv_async_t per loop, coalesced), so it measures the cost per task
 * of the crossing itself; no raw side either. */
#include "bench.h"

#include <stdatomic.h>
#include <uva.h>

typedef struct {
  bench_run_t *r;
  uv_loop_t *home, *target;
  uint64_t sum;
} remote_ctx_t;

static int remote_trivial(void *arg, uva_result_t *result) {
  result->value.u64 = (uint64_t)(uintptr_t)arg;
  return 0;
}

static int remote_driver(void *arg, uva_result_t *result) {
  remote_ctx_t *c = arg;
  uint64_t n = c->r->n, half = n / 2;
  (void)result;

  bench_start(c->r);
  for (uint64_t i = 1; i <= n; i++) {
    uva_value_t v;
    if (i == half + 1)
      bench_steady_begin(c->r);
    if (uva_await(uva_spawn_on(c->home, c->target, remote_trivial,
                               (void *)(uintptr_t)i),
                  &v) != 0)
      return bench_fail(c->r, "spawn_on failed");
    c->sum += v.u64;
  }
  bench_steady_end(c->r, n - half);
  bench_stop(c->r);
  return 0;
}

#define REMOTE_BATCH 1000

/* The burst variant: batches of REMOTE_BATCH placed at once, then awaited
 * in order, so that requests and replies share wake-ups. */
static int burst_driver(void *arg, uva_result_t *result) {
  remote_ctx_t *c = arg;
  uint64_t n = c->r->n, half = n / 2, i = 1, steady_from = 0;
  uva_future_t *f[REMOTE_BATCH];
  (void)result;

  bench_start(c->r);
  while (i <= n) {
    uint64_t k, m = n - i + 1 < REMOTE_BATCH ? n - i + 1 : REMOTE_BATCH;
    if (steady_from == 0 && i > half) {
      bench_steady_begin(c->r);
      steady_from = i;
    }
    for (k = 0; k < m; k++)
      f[k] = uva_spawn_on(c->home, c->target, remote_trivial,
                          (void *)(uintptr_t)(i + k));
    for (k = 0; k < m; k++) {
      uva_value_t v;
      if (uva_await(f[k], &v) != 0) {
        while (++k < m)
          uva_future_free(f[k]);
        return bench_fail(c->r, "spawn_on failed");
      }
      c->sum += v.u64;
    }
    i += m;
  }
  bench_steady_end(c->r, steady_from != 0 ? n - steady_from + 1 : n);
  bench_stop(c->r);
  return 0;
}

/* local: the target is the home loop itself; else the one loop of a pool. */
static int remote_run(bench_run_t *r, int local, uva_task_fn driver) {
  uv_loop_t loop;
  uva_pool_t *pool = NULL;
  remote_ctx_t c = {r, &loop, &loop, 0};
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (!local) {
    if (uva_pool_new(1, &pool) != 0)
      return bench_fail(r, "uva_pool_new");
    c.target = uva_pool_loop(pool, 0);
  }
  err = uva_block_on(&loop, uva_spawn(&loop, driver, &c), NULL);
  if (pool != NULL && uva_pool_free(pool, 1000) != 0)
    bench_fail(r, "uva_pool_free");
  if (err != 0)
    bench_fail(r, "driver task failed");
  if (c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int remote_uva(bench_run_t *r) { return remote_run(r, 0, remote_driver); }
static int local_uva(bench_run_t *r) { return remote_run(r, 1, remote_driver); }
static int burst_uva(bench_run_t *r) { return remote_run(r, 0, burst_driver); }

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  bench_run_t *r;
  uv_loop_t far;
  uv_async_t to_far, to_home;
  uv_sem_t ready;
  atomic_uint_fast64_t arg, res;
  atomic_int done;
  uint64_t i, n, half, sum;
} raw_remote_t;

#define RAW_OF(h, field)                                                       \
  ((raw_remote_t *)((char *)(h)-offsetof(raw_remote_t, field)))

/* On B: the request's result goes back to A. */
static void raw_far_cb(uv_async_t *h) {
  raw_remote_t *c = RAW_OF(h, to_far);
  if (atomic_load_explicit(&c->done, memory_order_acquire)) {
    uv_close((uv_handle_t *)h, NULL);
    return;
  }
  atomic_store_explicit(
      &c->res, atomic_load_explicit(&c->arg, memory_order_acquire),
      memory_order_release);
  uv_async_send(&c->to_home);
}

/* On A: one round trip done; the next request goes out. */
static void raw_home_cb(uv_async_t *h) {
  raw_remote_t *c = RAW_OF(h, to_home);
  c->sum += atomic_load_explicit(&c->res, memory_order_acquire);
  if (c->i == c->half)
    bench_steady_begin(c->r);
  if (c->i == c->n) {
    atomic_store_explicit(&c->done, 1, memory_order_release);
    uv_async_send(&c->to_far);
    uv_close((uv_handle_t *)h, NULL);
    return;
  }
  c->i++;
  atomic_store_explicit(&c->arg, c->i, memory_order_release);
  uv_async_send(&c->to_far);
}

static void raw_far_main(void *arg) {
  raw_remote_t *c = arg;
  uv_async_init(&c->far, &c->to_far, raw_far_cb);
  uv_sem_post(&c->ready);
  uv_run(&c->far, UV_RUN_DEFAULT);
}

static int remote_raw(bench_run_t *r) {
  uv_loop_t loop;
  raw_remote_t *c = bench_calloc(1, sizeof(*c));
  uv_thread_t t;

  if (c == NULL)
    return bench_fail(r, "no memory");
  if (bench_loop_init(r, &loop) != 0 || bench_loop_init(r, &c->far) != 0)
    return -1;
  c->r = r;
  c->n = r->n;
  c->half = r->n / 2;
  uv_sem_init(&c->ready, 0);
  uv_async_init(&loop, &c->to_home, raw_home_cb);
  if (uv_thread_create(&t, raw_far_main, c) != 0)
    return bench_fail(r, "uv_thread_create");
  uv_sem_wait(&c->ready);
  bench_start(r);
  c->i = 1;
  atomic_store_explicit(&c->arg, 1, memory_order_release);
  uv_async_send(&c->to_far);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, c->n - c->half);
  bench_stop(r);
  uv_thread_join(&t);
  if (c->sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong sum");
  uv_sem_destroy(&c->ready);
  if (bench_loop_close(r, &c->far) != 0)
    bench_fail(r, "the far loop did not close");
  bench_free(c);
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_remote_cases[] = {
    {"remote", "spawn_on", 100000, 200, remote_uva, remote_raw, "round trip",
     NULL, {0, 0, 0, -1}},
    {"remote", "local", 1000000, 2000, local_uva, NULL, "round trip", NULL,
     {0, 0, 0, -1}},
    {"remote", "burst1000", 1000000, 2000, burst_uva, NULL, "task", NULL,
     {0, 0, 0, -1}},
    {0},
};
