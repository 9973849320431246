/* spawn: n trivial tasks spawned, then every join future awaited in spawn
 * order; the sum of their results is checked.  Resident memory is measured
 * with all n spawned and none joined yet (bytes per outstanding task).
 *
 * Raw: a "task" is a malloc'd job (function, argument, result) pushed on a
 * callback queue drained from a uv_idle_t (bench_rawq); its completion adds
 * the result to the sum and frees the job. */
#include "bench.h"

#include <uva.h>

typedef struct {
  bench_run_t *r;
  uv_loop_t *loop;
  uva_future_t **joins;
  uint64_t sum;
} spawn_ctx_t;

static int trivial(void *arg, uva_result_t *result) {
  result->value.u64 = (uint64_t)(uintptr_t)arg;
  return 0;
}

static int spawn_driver(void *arg, uva_result_t *result) {
  spawn_ctx_t *c = arg;
  bench_run_t *r = c->r;
  uint64_t n = r->n;
  (void)result;

  bench_rss_base(r);
  bench_start(r);
  for (uint64_t i = 0; i < n; i++)
    c->joins[i] = uva_spawn(c->loop, trivial, (void *)(uintptr_t)(i + 1));
  bench_rss_sample(r, n);
  for (uint64_t i = 0; i < n; i++) {
    uva_value_t v;
    if (uva_await(c->joins[i], &v) != 0)
      return bench_fail(r, "join failed");
    c->sum += v.u64;
  }
  bench_stop(r);
  return 0;
}

static int spawn_uva(bench_run_t *r) {
  uv_loop_t loop;
  spawn_ctx_t c = {r, &loop, NULL, 0};
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  c.joins = bench_calloc(r->n, sizeof(*c.joins)); /* touched before the base */
  if (c.joins == NULL)
    return bench_fail(r, "no memory");
  err = uva_block_on(&loop, uva_spawn(&loop, spawn_driver, &c), NULL);
  bench_free(c.joins);
  if (err != 0)
    bench_fail(r, "driver task failed");
  if (c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* The same tasks spawned into a task group, then collected with
 * uva_group_join_next (JoinSet::spawn + join_next), in finishing order. */
static int group_driver(void *arg, uva_result_t *result) {
  spawn_ctx_t *c = arg;
  bench_run_t *r = c->r;
  uint64_t n = r->n;
  uva_group_t *g;
  (void)result;

  if (uva_group_new(c->loop, &g) != 0)
    return bench_fail(r, "group_new failed");
  bench_rss_base(r);
  bench_start(r);
  for (uint64_t i = 0; i < n; i++)
    if (uva_group_spawn(g, trivial, (void *)(uintptr_t)(i + 1), NULL, NULL) !=
        0)
      return bench_fail(r, "group_spawn failed");
  bench_rss_sample(r, n);
  for (uint64_t i = 0; i < n; i++) {
    uva_result_t res;
    if (uva_await(uva_group_join_next(g, &res), NULL) != 0 || res.status != 0)
      return bench_fail(r, "join_next failed");
    c->sum += res.value.u64;
  }
  bench_stop(r);
  uva_group_free(g);
  return 0;
}

static int group_uva(bench_run_t *r) {
  uv_loop_t loop;
  spawn_ctx_t c = {r, &loop, NULL, 0};
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  err = uva_block_on(&loop, uva_spawn(&loop, group_driver, &c), NULL);
  if (err != 0)
    bench_fail(r, "driver task failed");
  if (c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- raw ---------------------------------------------------------------- */

typedef struct raw_task {
  bench_job_t job;
  uint64_t (*fn)(uint64_t arg);
  uint64_t arg, result;
  uint64_t *sum; /* where the completion delivers the result */
} raw_task_t;

static uint64_t raw_trivial(uint64_t arg) { return arg; }

static void raw_task_run(bench_job_t *job) {
  raw_task_t *t = (raw_task_t *)job;
  t->result = t->fn(t->arg);
  *t->sum += t->result; /* the join */
  bench_free(t);
}

static int spawn_raw(bench_run_t *r) {
  uv_loop_t loop;
  bench_rawq_t q;
  uint64_t sum = 0;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_rawq_init(&loop, &q);
  bench_rss_base(r);
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++) {
    raw_task_t *t = bench_malloc(sizeof(*t));
    if (t == NULL)
      return bench_fail(r, "no memory");
    t->job.fn = raw_task_run;
    t->fn = raw_trivial;
    t->arg = i + 1;
    t->sum = &sum;
    bench_rawq_push(&q, &t->job);
  }
  bench_rss_sample(r, r->n);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  bench_rawq_close(&q);
  if (sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_spawn_cases[] = {
    {"spawn", "trivial", 1000000, 2000, spawn_uva, spawn_raw, "task", "task",
     {0, 60, 80, -1}},
    {"spawn", "group", 1000000, 2000, group_uva, spawn_raw, "task", "task",
     {0, 0, 0, -1}},
    {0},
};
