/* yield: n uva_yield calls in one task (ns per yield); allocations counted
 * over the second half.  Raw: a callback that queues itself again on the
 * callback queue (bench_rawq) n times: the callback-style "let the others
 * run".
 *
 * switch: the bare context switch under every task switch (uva__ctx_switch
 * from lib/, reached through lib/internal.h as tests/test-switch.c does):
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

typedef struct {
  bench_job_t job;
  bench_rawq_t q;
  bench_run_t *r;
  uint64_t i, n;
} raw_yield_t;

static void raw_yield_step(bench_job_t *job) {
  raw_yield_t *y = (raw_yield_t *)job;
  if (y->i == y->n / 2)
    bench_steady_begin(y->r);
  if (y->i++ < y->n)
    bench_rawq_push(&y->q, &y->job);
}

static int yield_raw(bench_run_t *r) {
  uv_loop_t loop;
  raw_yield_t y;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  memset(&y, 0, sizeof(y));
  y.r = r;
  y.n = r->n;
  y.job.fn = raw_yield_step;
  bench_rawq_init(&loop, &y.q);
  bench_start(r);
  bench_rawq_push(&y.q, &y.job);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, r->n - r->n / 2);
  bench_stop(r);
  bench_rawq_close(&y.q);
  if (y.i != r->n + 1)
    bench_fail(r, "wrong count of steps");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

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
    {"yield", "switch", 10000000, 2000, switch_uva, switch_raw, "switch", NULL,
     {0, 10, 0, 0}},
    {0},
};
