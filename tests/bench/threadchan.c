/* threadchan: n u64 from a plain thread (uv_thread_create) with
 * uva_chan_send_blocking, into a channel of capacity 1024, to a task on the
 * loop that awaits every receive and checks the count and the sum.
 * Allocations are counted over the second half of the messages (from both
 * threads).
 *
 * Raw: a ring of the same capacity under a mutex; the producer waits on a
 * condition variable while the ring is full and calls uv_async_send when it
 * puts a message into an empty ring; the async callback drains the ring
 * under the lock and signals the producer. */
#include "bench.h"

#include <uva.h>

#define TC_CAP 1024

typedef struct {
  bench_run_t *r;
  uva_chan_t *ch;
  uint64_t n, sum, count;
  int send_err;
} tc_ctx_t;

static void tc_producer(void *arg) {
  tc_ctx_t *c = arg;
  for (uint64_t i = 1; i <= c->n; i++) {
    int err = uva_chan_send_blocking(c->ch, &i);
    if (err != 0) {
      c->send_err = err;
      return;
    }
  }
}

static int tc_receiver(void *arg, uva_result_t *result) {
  tc_ctx_t *c = arg;
  uint64_t half = c->n / 2, v;
  uv_thread_t t;
  (void)result;

  bench_start(c->r);
  if (uv_thread_create(&t, tc_producer, c) != 0)
    return bench_fail(c->r, "uv_thread_create");
  while (c->count < c->n) {
    if (uva_await(uva_chan_recv(c->ch, &v), NULL) != 0) {
      bench_fail(c->r, "receive failed");
      break;
    }
    c->sum += v;
    if (++c->count == half)
      bench_steady_begin(c->r);
  }
  bench_steady_end(c->r, c->count - half);
  bench_stop(c->r);
  uva_chan_close(c->ch); /* unblocks the producer if we stopped early */
  uv_thread_join(&t);
  return 0;
}

static int threadchan_uva(bench_run_t *r) {
  uv_loop_t loop;
  tc_ctx_t c = {r, NULL, r->n, 0, 0, 0};
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_chan_new(&loop, sizeof(uint64_t), TC_CAP, &c.ch) != 0)
    return bench_fail(r, "uva_chan_new");
  err = uva_block_on(&loop, uva_spawn(&loop, tc_receiver, &c), NULL);
  uva_chan_free(c.ch);
  if (err != 0 || c.send_err != 0)
    bench_fail(r, "a task or the producer failed");
  if (c.count != r->n || c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  uv_async_t async; /* first: the callback gets it */
  bench_run_t *r;
  uv_mutex_t lock;
  uv_cond_t not_full;
  uint64_t ring[TC_CAP];
  size_t head, len;
  uint64_t n, sum, count, half;
} raw_tc_t;

static void raw_tc_producer(void *arg) {
  raw_tc_t *c = arg;
  for (uint64_t i = 1; i <= c->n; i++) {
    int wake;
    size_t tail;
    uv_mutex_lock(&c->lock);
    while (c->len == TC_CAP)
      uv_cond_wait(&c->not_full, &c->lock);
    tail = c->head + c->len;
    c->ring[tail >= TC_CAP ? tail - TC_CAP : tail] = i;
    wake = c->len++ == 0;
    uv_mutex_unlock(&c->lock);
    if (wake)
      uv_async_send(&c->async);
  }
}

static void raw_tc_drain(uv_async_t *a) {
  raw_tc_t *c = (raw_tc_t *)a;
  uint64_t batch[TC_CAP];
  size_t k;

  uv_mutex_lock(&c->lock);
  for (k = 0; c->len > 0; k++) {
    batch[k] = c->ring[c->head];
    c->head = c->head + 1 == TC_CAP ? 0 : c->head + 1;
    c->len--;
  }
  uv_cond_signal(&c->not_full);
  uv_mutex_unlock(&c->lock);
  for (size_t i = 0; i < k; i++) {
    c->sum += batch[i];
    if (++c->count == c->half)
      bench_steady_begin(c->r);
  }
  if (c->count == c->n)
    uv_close((uv_handle_t *)&c->async, NULL);
}

static int threadchan_raw(bench_run_t *r) {
  uv_loop_t loop;
  raw_tc_t *c = bench_calloc(1, sizeof(*c));
  uv_thread_t t;

  if (c == NULL)
    return bench_fail(r, "no memory");
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  c->r = r;
  c->n = r->n;
  c->half = r->n / 2;
  uv_mutex_init(&c->lock);
  uv_cond_init(&c->not_full);
  uv_async_init(&loop, &c->async, raw_tc_drain);
  bench_start(r);
  if (uv_thread_create(&t, raw_tc_producer, c) != 0)
    return bench_fail(r, "uv_thread_create");
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_steady_end(r, c->count - c->half);
  bench_stop(r);
  uv_thread_join(&t);
  if (c->count != r->n || c->sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  uv_cond_destroy(&c->not_full);
  uv_mutex_destroy(&c->lock);
  bench_free(c);
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_threadchan_cases[] = {
    {"threadchan", "cap1024", 10000000, 20000, threadchan_uva, threadchan_raw,
     "message", NULL, {1.2, 60, 0, 0}},
    {0},
};
