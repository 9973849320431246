/* sync (issue 10): uncontended Mutex lock + unlock, Semaphore acquire +
 * release, and a Notify round trip between two tasks.
 *
 * Raw baselines: a uv_mutex_t lock + unlock (what a libuv program uses to
 * guard data, though it blocks the thread where uva's lock suspends a
 * task); a counting semaphore as a plain counter checked and decremented
 * (what a single-threaded libuv program writes); for the Notify round trip
 * the two callbacks of pingpong's raw version, each queueing the other on
 * the callback queue (bench_rawq) as a wake-up does. */
#include "bench.h"

#include <string.h>
#include <uva.h>

typedef struct {
  bench_run_t *r;
  uva_mutex_t *m;
  uva_semaphore_t *s;
  uva_notify_t *a, *b;
  int futures; /* await the lock/acquire future instead of the _wait call */
  uint64_t trips;
} sync_ctx_t;

/* One lock + unlock (sem 0) or acquire + release (sem 1). */
static int lock_once(sync_ctx_t *c, int sem) {
  int err;
  if (sem) {
    err = c->futures ? uva_await(uva_semaphore_acquire(c->s, 1), NULL)
                     : uva_semaphore_acquire_wait(c->s, 1);
    return err != 0 ? err : uva_semaphore_release(c->s, 1);
  }
  err = c->futures ? uva_await(uva_mutex_lock(c->m), NULL)
                   : uva_mutex_lock_wait(c->m);
  return err != 0 ? err : uva_mutex_unlock(c->m);
}

static int lock_body(sync_ctx_t *c, int sem) {
  uint64_t n = c->r->n;
  bench_start(c->r);
  bench_steady_begin(c->r);
  for (uint64_t i = 0; i < n; i++)
    if (lock_once(c, sem) != 0)
      return bench_fail(c->r, sem ? "semaphore failed" : "mutex failed");
  bench_steady_end(c->r, n);
  bench_stop(c->r);
  return 0;
}

static int mutex_body(void *arg, uva_result_t *result) {
  (void)result;
  return lock_body(arg, 0);
}

static int sem_body(void *arg, uva_result_t *result) {
  (void)result;
  return lock_body(arg, 1);
}

static int run_one_task(bench_run_t *r, uva_task_fn fn, int futures) {
  uv_loop_t loop;
  sync_ctx_t c;
  int err;

  memset(&c, 0, sizeof(c));
  c.r = r;
  c.futures = futures;
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_mutex_new(&loop, &c.m) != 0 ||
      uva_semaphore_new(&loop, 4, &c.s) != 0)
    return bench_fail(r, "new");
  err = uva_block_on(&loop, uva_spawn(&loop, fn, &c), NULL);
  if (err != 0)
    bench_fail(r, "the task failed");
  uva_mutex_free(c.m);
  uva_semaphore_free(c.s);
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int mutex_uva(bench_run_t *r) { return run_one_task(r, mutex_body, 0); }
static int mutex_uva_f(bench_run_t *r) { return run_one_task(r, mutex_body, 1); }
static int sem_uva(bench_run_t *r) { return run_one_task(r, sem_body, 0); }
static int sem_uva_f(bench_run_t *r) { return run_one_task(r, sem_body, 1); }

static int mutex_raw(bench_run_t *r) {
  uv_mutex_t m;
  volatile uint64_t guarded = 0;
  if (uv_mutex_init(&m) != 0)
    return bench_fail(r, "uv_mutex_init");
  bench_start(r);
  bench_steady_begin(r);
  for (uint64_t i = 0; i < r->n; i++) {
    uv_mutex_lock(&m);
    guarded++;
    uv_mutex_unlock(&m);
  }
  bench_steady_end(r, r->n);
  bench_stop(r);
  uv_mutex_destroy(&m);
  return guarded == r->n ? 0 : bench_fail(r, "count");
}

static int sem_raw(bench_run_t *r) {
  volatile uint64_t permits = 4;
  bench_start(r);
  bench_steady_begin(r);
  for (uint64_t i = 0; i < r->n; i++) {
    if (permits < 1)
      return bench_fail(r, "no permit");
    permits--;
    permits++;
  }
  bench_steady_end(r, r->n);
  bench_stop(r);
  return permits == 4 ? 0 : bench_fail(r, "count");
}

/* ---- Notify round trip ---------------------------------------------------- */

static int notify_pinger(void *arg, uva_result_t *result) {
  sync_ctx_t *c = arg;
  uint64_t n = c->r->n, half = n / 2;
  (void)result;
  bench_start(c->r);
  for (uint64_t i = 0; i < n; i++) {
    if (i == half)
      bench_steady_begin(c->r);
    if (uva_notify_one(c->a) != 0 || uva_notify_wait(c->b) != 0)
      return bench_fail(c->r, "pinger");
    c->trips++;
  }
  bench_steady_end(c->r, n - half);
  bench_stop(c->r);
  return 0;
}

static int notify_ponger(void *arg, uva_result_t *result) {
  sync_ctx_t *c = arg;
  (void)result;
  for (uint64_t i = 0; i < c->r->n; i++)
    if (uva_notify_wait(c->a) != 0 || uva_notify_one(c->b) != 0)
      return bench_fail(c->r, "ponger");
  return 0;
}

static int notify_uva(bench_run_t *r) {
  uv_loop_t loop;
  sync_ctx_t c;
  uva_future_t *fs[2];
  uva_result_t res[2];
  int err;

  memset(&c, 0, sizeof(c));
  c.r = r;
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_notify_new(&loop, &c.a) != 0 || uva_notify_new(&loop, &c.b) != 0)
    return bench_fail(r, "uva_notify_new");
  fs[0] = uva_spawn(&loop, notify_ponger, &c);
  fs[1] = uva_spawn(&loop, notify_pinger, &c);
  err = uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL);
  if (err != 0 || res[0].status != 0 || res[1].status != 0)
    bench_fail(r, "a task failed");
  uva_notify_free(c.a);
  uva_notify_free(c.b);
  if (c.trips != r->n)
    bench_fail(r, "wrong count of round trips");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

typedef struct {
  bench_run_t *r;
  bench_rawq_t q;
  bench_job_t ping_job, pong_job;
  uint64_t i, n;
} raw_nt_t;

#define RAW_NT(job, member)                                                    \
  ((raw_nt_t *)((char *)(job) - offsetof(raw_nt_t, member)))

static void raw_ping(bench_job_t *job) {
  raw_nt_t *c = RAW_NT(job, ping_job);
  if (c->i == c->n / 2)
    bench_steady_begin(c->r);
  if (c->i++ < c->n)
    bench_rawq_push(&c->q, &c->pong_job);
}

static void raw_pong(bench_job_t *job) {
  raw_nt_t *c = RAW_NT(job, pong_job);
  bench_rawq_push(&c->q, &c->ping_job);
}

static int notify_raw(bench_run_t *r) {
  uv_loop_t loop;
  raw_nt_t c;

  memset(&c, 0, sizeof(c));
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  c.r = r;
  c.n = r->n;
  c.ping_job.fn = raw_ping;
  c.pong_job.fn = raw_pong;
  bench_rawq_init(&loop, &c.q);
  bench_start(r);
  bench_rawq_push(&c.q, &c.ping_job);
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, r->n - r->n / 2);
  bench_stop(r);
  bench_rawq_close(&c.q);
  if (c.i != r->n + 1)
    bench_fail(r, "wrong count of round trips");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_sync_cases[] = {
    {"sync", "mutex", 5000000, 2000, mutex_uva, mutex_raw, "lock+unlock",
     NULL, {0, 0, 0, 0}},
    {"sync", "mutex_future", 2000000, 2000, mutex_uva_f, mutex_raw,
     "lock+unlock", NULL, {0, 0, 0, 0}},
    {"sync", "semaphore", 5000000, 2000, sem_uva, sem_raw, "acquire+release",
     NULL, {0, 0, 0, 0}},
    {"sync", "semaphore_future", 2000000, 2000, sem_uva_f, sem_raw,
     "acquire+release", NULL, {0, 0, 0, 0}},
    {"sync", "notify", 1000000, 2000, notify_uva, notify_raw, "round trip",
     NULL, {0, 0, 0, 0}},
    {0},
};
