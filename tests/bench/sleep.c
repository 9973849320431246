/* sleep: n concurrent 10 ms sleeps, started together, and the time until the
 * last has fired; resident memory per sleeper with all n pending.  Two uva
 * variants: "futures" (uva_sleep + uva_future_then) and "tasks" (one task
 * per sleeper awaiting uva_sleep, each join future consumed with
 * uva_future_then).
 *
 * Raw: one malloc'd uv_timer_t per sleeper; its callback counts and closes
 * it, and the close callback frees it. */
#include "bench.h"

#include <uva.h>

#define SLEEP_MS 10

typedef struct {
  bench_run_t *r;
  uint64_t done;
  uint64_t errors;
} sleep_ctx_t;

static void slept(int status, uva_value_t value, void *data) {
  sleep_ctx_t *c = data;
  (void)value;
  if (status != 0)
    c->errors++;
  c->done++;
}

static int sleeper(void *arg, uva_result_t *result) {
  (void)result;
  return uva_await(uva_sleep(arg, SLEEP_MS), NULL);
}

static int sleep_uva(bench_run_t *r, int tasks) {
  uv_loop_t loop;
  sleep_ctx_t c = {r, 0, 0};

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_rss_base(r);
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++) {
    uva_future_t *f = tasks ? uva_spawn(&loop, sleeper, &loop)
                            : uva_sleep(&loop, SLEEP_MS);
    if (uva_future_then(f, slept, &c) != 0)
      return bench_fail(r, "uva_future_then");
  }
  /* The tasks take their stacks when they first run: measure once every
   * sleeper is pending, i.e. at the end (nothing is freed before the first
   * timer fires). */
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  bench_rss_sample(r, r->n);
  if (c.done != r->n || c.errors != 0)
    bench_fail(r, "wrong count of sleeps");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int sleep_futures(bench_run_t *r) { return sleep_uva(r, 0); }
static int sleep_tasks(bench_run_t *r) { return sleep_uva(r, 1); }

/* ---- raw ---------------------------------------------------------------- */

static uint64_t raw_done;

static void raw_closed(uv_handle_t *h) { bench_free(h); }

static void raw_fired(uv_timer_t *t) {
  raw_done++;
  uv_close((uv_handle_t *)t, raw_closed);
}

static int sleep_raw(bench_run_t *r) {
  uv_loop_t loop;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  raw_done = 0;
  bench_rss_base(r);
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++) {
    uv_timer_t *t = bench_malloc(sizeof(*t));
    if (t == NULL)
      return bench_fail(r, "no memory");
    uv_timer_init(&loop, t);
    uv_timer_start(t, raw_fired, SLEEP_MS, 0);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  bench_rss_sample(r, r->n);
  if (raw_done != r->n)
    bench_fail(r, "wrong count of sleeps");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_sleep_cases[] = {
    {"sleep", "futures", 100000, 500, sleep_futures, sleep_raw, "sleeper",
     "sleeper", {1.10, 0, 350, -1}},
    {"sleep", "tasks", 100000, 500, sleep_tasks, sleep_raw, "sleeper",
     "sleeper", {1.10, 0, 8.5 * 1024, -1}},
    {0},
};
