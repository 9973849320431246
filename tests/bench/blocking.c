/* spawn_blocking: n jobs started at once on libuv's thread pool with
 * uva_spawn_blocking, each returning its index, consumed with
 * uva_future_then; the sum is checked.
 *
 * Raw: uv_queue_work with one malloc'd uv_work_t (and its result) per job;
 * the after-work callback adds the result and frees it. */
#include "bench.h"

#include <uva.h>

typedef struct {
  uint64_t sum, done, errors;
} blk_sum_t;

static int blk_job(void *arg, uva_result_t *result) {
  result->value.u64 = (uint64_t)(uintptr_t)arg;
  return 0;
}

static void blk_done(int status, uva_value_t value, void *data) {
  blk_sum_t *s = data;
  s->done++;
  if (status != 0)
    s->errors++;
  else
    s->sum += value.u64;
}

static int blocking_uva(bench_run_t *r) {
  uv_loop_t loop;
  blk_sum_t s = {0, 0, 0};

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_start(r);
  for (uint64_t i = 1; i <= r->n; i++)
    if (uva_future_then(uva_spawn_blocking(&loop, blk_job, (void *)(uintptr_t)i),
                        blk_done, &s) != 0)
      bench_fail(r, "uva_future_then");
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  if (s.done != r->n || s.errors != 0 || s.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  uv_work_t req;
  uint64_t arg, result;
  blk_sum_t *sum;
} raw_blk_t;

static void raw_blk_work(uv_work_t *req) {
  raw_blk_t *w = (raw_blk_t *)req;
  w->result = w->arg;
}

static void raw_blk_after(uv_work_t *req, int status) {
  raw_blk_t *w = (raw_blk_t *)req;
  w->sum->done++;
  if (status != 0)
    w->sum->errors++;
  else
    w->sum->sum += w->result;
  bench_free(w);
}

static int blocking_raw(bench_run_t *r) {
  uv_loop_t loop;
  blk_sum_t s = {0, 0, 0};

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_start(r);
  for (uint64_t i = 1; i <= r->n; i++) {
    raw_blk_t *w = bench_malloc(sizeof(*w));
    if (w == NULL)
      return bench_fail(r, "no memory");
    w->arg = i;
    w->sum = &s;
    if (uv_queue_work(&loop, &w->req, raw_blk_work, raw_blk_after) != 0)
      return bench_fail(r, "uv_queue_work");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  if (s.done != r->n || s.errors != 0 || s.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_blocking_cases[] = {
    {"spawn_blocking", "trivial", 100000, 500, blocking_uva, blocking_raw,
     "job", NULL, {1.05, 0, 0, -1}},
    {0},
};
