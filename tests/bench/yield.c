/* yield: n uva_yield calls in one task (ns per yield); allocations counted
 * over the second half.  Raw: a callback that queues itself again on the
 * callback queue (bench_rawq) n times: the callback-style "let the others
 * run".  yield2: the same n yields split between two tasks, so that every
 * yield switches to the other task; raw: two such callbacks.
 *
 * switch: the bare context switch under every task switch (uva__ctx_switch
 * from lib/, reached through lib/core/internal.h as tests/test-switch.c does):
 * the loop's context and one coroutine hand control back and forth, n
 * switches in all (ns per switch).  Raw: there is no libuv counterpart; the
 * line beside it is an indirect function call and return per op, for
 * scale. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <uva.h>

#include "internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define REGISTER_STACK(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#define DEREGISTER_STACK(id) VALGRIND_STACK_DEREGISTER(id)
#endif
#endif
#ifndef REGISTER_STACK
#define REGISTER_STACK(lo, hi) ((void)(lo), (void)(hi), 0u)
#define DEREGISTER_STACK(id) ((void)(id))
#endif

static int yielder(void *arg, uva_result_t *result) {
  bench_run_t *r = arg;
  uint64_t n = r->n, half = n / 2;
  (void)result;
  bench_start(r);
  for (uint64_t i = 0; i < n; i++) {
    if (i == half)
      bench_steady_begin(r);
    if (uva_yield() != 0)
      return bench_fail(r, "uva_yield failed");
  }
  bench_steady_end(r, n - half);
  bench_stop(r);
  return 0;
}

static int yield_uva(bench_run_t *r) {
  uv_loop_t loop;
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_block_on(&loop, uva_spawn(&loop, yielder, r), NULL) != 0)
    bench_fail(r, "task failed");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* Two tasks; the first starts the clock, the one that finishes last stops
 * it. */
typedef struct {
  bench_run_t *r;
  int finished;
  uint64_t yields;
} yield2_t;

static int yielder2(void *arg, uva_result_t *result) {
  yield2_t *y = arg;
  uint64_t n = y->r->n / 2;
  (void)result;
  if (y->finished == 0 && y->yields == 0)
    bench_start(y->r);
  for (uint64_t i = 0; i < n; i++) {
    if (y->yields++ == y->r->n / 2)
      bench_steady_begin(y->r);
    if (uva_yield() != 0)
      return bench_fail(y->r, "uva_yield failed");
  }
  if (++y->finished == 2) {
    bench_steady_end(y->r, y->yields - y->r->n / 2);
    bench_stop(y->r);
    y->r->ops = y->yields;
  }
  return 0;
}

static int yield2_uva(bench_run_t *r) {
  uv_loop_t loop;
  yield2_t y = {r, 0, 0};
  uva_future_t *fs[2];
  uva_result_t res[2];

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  fs[0] = uva_spawn(&loop, yielder2, &y);
  fs[1] = uva_spawn(&loop, yielder2, &y);
  if (uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL) != 0 ||
      res[0].status != 0 || res[1].status != 0)
    bench_fail(r, "a task failed");
  if (y.yields != r->n / 2 * 2)
    bench_fail(r, "wrong count of yields");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

typedef struct raw_yield {
  bench_job_t job;
  bench_rawq_t q;           /* used in the first one */
  struct raw_yield *peer;   /* the first one */
  bench_run_t *r;
  uint64_t i, n;
} raw_yield_t;

static void raw_yield_step(bench_job_t *job) {
  raw_yield_t *y = (raw_yield_t *)job;
  if (y->i == y->n / 2)
    bench_steady_begin(y->r);
  if (y->i++ < y->n)
    bench_rawq_push(&y->peer->q, &y->job);
}

/* The second callback of yield2 (the first marks the steady state). */
static void raw_yield_step2(bench_job_t *job) {
  raw_yield_t *y = (raw_yield_t *)job;
  if (y->i++ < y->n)
    bench_rawq_push(&y->peer->q, &y->job);
}

/* One callback queued n times, or two each n / 2 times (yield2). */
static int yield_raw_k(bench_run_t *r, int k) {
  uv_loop_t loop;
  raw_yield_t y[2];

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  memset(y, 0, sizeof(y));
  bench_rawq_init(&loop, &y[0].q);
  for (int j = 0; j < k; j++) {
    y[j].r = r;
    y[j].n = r->n / (uint64_t)k;
    y[j].job.fn = j == 0 ? raw_yield_step : raw_yield_step2;
    y[j].peer = &y[0];
  }
  bench_start(r);
  for (int j = 0; j < k; j++)
    bench_rawq_push(&y[0].q, &y[j].job);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, r->n - r->n / 2);
  bench_stop(r);
  bench_rawq_close(&y[0].q);
  for (int j = 0; j < k; j++)
    if (y[j].i != y[j].n + 1)
      bench_fail(r, "wrong count of steps");
  r->ops = y[0].n * (uint64_t)k;
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int yield_raw(bench_run_t *r) { return yield_raw_k(r, 1); }
static int yield2_raw(bench_run_t *r) { return yield_raw_k(r, 2); }

/* ---- the bare switch ------------------------------------------------------ */

#define CO_STACK (64 * 1024)

static uva__ctx_t sw_main;
static uint64_t sw_count;

static void sw_entry(uva__stack_t *s) {
  for (;;) {
    sw_count++;
    uva__ctx_switch(&s->ctx, &sw_main);
  }
}

static int switch_uva(bench_run_t *r) {
  uint64_t trips = r->n / 2;
  char *map = mmap(NULL, CO_STACK, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uva__stack_t *s;

  if (map == MAP_FAILED)
    return bench_fail(r, "mmap");
  s = (uva__stack_t *)(map + CO_STACK - ((sizeof(*s) + 63) & ~(size_t)63));
  memset(s, 0, sizeof(*s));
  s->map = map;
  s->map_size = CO_STACK;
  s->lo = map;
  s->hi = (char *)s;
  s->vg_id = REGISTER_STACK(s->lo, s->hi);
  uva__ctx_make(s, sw_entry);
  sw_count = 0;
  bench_start(r);
  for (uint64_t i = 0; i < trips; i++) {
    if (i == trips / 2)
      bench_steady_begin(r);
    uva__ctx_switch(&sw_main, &s->ctx);
  }
  bench_steady_end(r, 2 * (trips - trips / 2));
  bench_stop(r);
  r->ops = 2 * trips;
  DEREGISTER_STACK(s->vg_id);
  munmap(map, CO_STACK);
  return sw_count == trips ? 0 : bench_fail(r, "wrong count of switches");
}

static void call_target(uint64_t *count) { ++*count; }
static void (*volatile call_ptr)(uint64_t *) = call_target;

static int switch_raw(bench_run_t *r) {
  uint64_t count = 0;
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++)
    call_ptr(&count);
  bench_stop(r);
  return count == r->n ? 0 : bench_fail(r, "wrong count of calls");
}

const bench_case_t bench_yield_cases[] = {
    {"yield", "yield", 1000000, 2000, yield_uva, yield_raw, "yield", NULL,
     {0, 20, 0, 0}},
    {"yield", "yield2", 1000000, 2000, yield2_uva, yield2_raw, "yield", NULL,
     {0, 20, 0, 0}},
    {"yield", "switch", 10000000, 2000, switch_uva, switch_raw, "switch", NULL,
     {0, 10, 0, 0}},
    {0},
};
