/* xchan (issue 11): n u64 messages from a task on loop A to a task on loop
 * B, each loop in its own thread, through a channel of loop A (so the
 * receiver is a task of another loop: chan-xloop.c), of capacity 1024 or
 * 32.  The receiver checks the count and the sum.  Allocations are counted
 * over the second half of the messages (both threads).
 *
 * The "raw" column here is not raw libuv: it is the same workload on one
 * loop (both tasks on A, as the chan workload), so that the ratio is the
 * cost of crossing loops.  Variants: "w" uses the task calls
 * (uva_chan_send_wait, uva_chan_recv_wait), the others await futures. */
#include "bench.h"

#include <uva.h>

typedef struct {
  bench_run_t *r;
  uva_chan_t *ch;
  int use_wait;
  uint64_t sum, count;
  int err;
} xc_ctx_t;

static int xc_send(xc_ctx_t *c, uint64_t *v) {
  return c->use_wait ? uva_chan_send_wait(c->ch, v)
                     : uva_await(uva_chan_send(c->ch, v), NULL);
}

static int xc_recv(xc_ctx_t *c, uint64_t *v) {
  return c->use_wait ? uva_chan_recv_wait(c->ch, v)
                     : uva_await(uva_chan_recv(c->ch, v), NULL);
}

static int xc_sender(void *arg, uva_result_t *result) {
  xc_ctx_t *c = arg;
  uint64_t n = c->r->n;
  (void)result;
  for (uint64_t i = 1; i <= n; i++)
    if (xc_send(c, &i) != 0)
      return bench_fail(c->r, "send failed");
  return uva_chan_close(c->ch);
}

static int xc_receiver(void *arg, uva_result_t *result) {
  xc_ctx_t *c = arg;
  uint64_t half = c->r->n / 2, v;
  int err;
  (void)result;
  while ((err = xc_recv(c, &v)) == 0) {
    c->sum += v;
    if (++c->count == half)
      bench_steady_begin(c->r);
  }
  bench_steady_end(c->r, c->count - half);
  bench_stop(c->r);
  return err == UV_EOF ? 0 : bench_fail(c->r, "receive failed");
}

/* Loop B's thread: the receiver. */
typedef struct {
  xc_ctx_t *c;
  uv_sem_t ready;
  int err;
} xc_b_t;

static void xc_b_main(void *arg) {
  xc_b_t *b = arg;
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    b->err = -1;
    uv_sem_post(&b->ready);
    return;
  }
  uv_sem_post(&b->ready);
  b->err = uva_block_on(&loop, uva_spawn(&loop, xc_receiver, b->c), NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0 && b->err == 0)
    b->err = -2;
}

static int xc_cross(bench_run_t *r, size_t cap, int use_wait) {
  uv_loop_t loop;
  xc_ctx_t c = {r, NULL, use_wait, 0, 0, 0};
  xc_b_t b;
  uv_thread_t t;
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_chan_new(&loop, sizeof(uint64_t), cap, &c.ch) != 0)
    return bench_fail(r, "uva_chan_new");
  b.c = &c;
  b.err = 0;
  uv_sem_init(&b.ready, 0);
  bench_start(r);
  if (uv_thread_create(&t, xc_b_main, &b) != 0)
    return bench_fail(r, "uv_thread_create");
  uv_sem_wait(&b.ready);
  err = uva_block_on(&loop, uva_spawn(&loop, xc_sender, &c), NULL);
  uv_thread_join(&t);
  uv_sem_destroy(&b.ready);
  uva_chan_free(c.ch);
  if (err != 0 || b.err != 0)
    bench_fail(r, "a task failed");
  if (c.count != r->n || c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* The same on one loop. */
static int xc_same(bench_run_t *r, size_t cap, int use_wait) {
  uv_loop_t loop;
  xc_ctx_t c = {r, NULL, use_wait, 0, 0, 0};
  uva_future_t *fs[2];
  uva_result_t res[2];
  int err;

  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (uva_chan_new(&loop, sizeof(uint64_t), cap, &c.ch) != 0)
    return bench_fail(r, "uva_chan_new");
  bench_start(r);
  fs[0] = uva_spawn(&loop, xc_receiver, &c);
  fs[1] = uva_spawn(&loop, xc_sender, &c);
  err = uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL);
  if (err != 0 || res[0].status != 0 || res[1].status != 0)
    bench_fail(r, "a task failed");
  uva_chan_free(c.ch);
  if (c.count != r->n || c.sum != r->n * (r->n + 1) / 2)
    bench_fail(r, "wrong count or sum");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

static int xc_1024w(bench_run_t *r) { return xc_cross(r, 1024, 1); }
static int xc_same_1024w(bench_run_t *r) { return xc_same(r, 1024, 1); }
static int xc_1024(bench_run_t *r) { return xc_cross(r, 1024, 0); }
static int xc_same_1024(bench_run_t *r) { return xc_same(r, 1024, 0); }
static int xc_32w(bench_run_t *r) { return xc_cross(r, 32, 1); }
static int xc_same_32w(bench_run_t *r) { return xc_same(r, 32, 1); }

const bench_case_t bench_xchan_cases[] = {
    {"xchan", "cap1024w", 4000000, 20000, xc_1024w, xc_same_1024w, "message",
     NULL, {2.0, 0, 0, 0}},
    {"xchan", "cap1024", 4000000, 20000, xc_1024, xc_same_1024, "message",
     NULL, {2.0, 0, 0, 0}},
    {"xchan", "cap32w", 400000, 20000, xc_32w, xc_same_32w, "message", NULL,
     {2.0, 0, 0, 0}},
    {0},
};
