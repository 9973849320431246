/* The harness side of bench.h that runs inside one measured run: allocation
 * counting, timing marks, RSS, loops, and the raw versions' callback queue. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation counting ------------------------------------------------ */

/* The loop's thread counts without atomics; other threads (libuv's pool, the
 * threadchan producer) through one atomic counter. */
static uint64_t allocs_main;
static uint64_t allocs_other;
static __thread int on_main;

static void count_alloc(void) {
  if (on_main)
    allocs_main++;
  else
    __atomic_fetch_add(&allocs_other, 1, __ATOMIC_RELAXED);
}

static void *cnt_malloc(size_t n) {
  count_alloc();
  return malloc(n);
}

static void *cnt_realloc(void *p, size_t n) {
  count_alloc();
  return realloc(p, n);
}

static void *cnt_calloc(size_t n, size_t m) {
  count_alloc();
  return calloc(n, m);
}

void *bench_malloc(size_t n) { return cnt_malloc(n); }
void *bench_calloc(size_t n, size_t m) { return cnt_calloc(n, m); }
void bench_free(void *p) { free(p); }

uint64_t bench_allocs(void) {
  return allocs_main + __atomic_load_n(&allocs_other, __ATOMIC_RELAXED);
}

/* Declared in uva.h; repeated here so that bench.c needs only uv.h. */
int uva_replace_allocator(void *(*malloc_fn)(size_t),
                          void *(*realloc_fn)(void *, size_t),
                          void *(*calloc_fn)(size_t, size_t),
                          void (*free_fn)(void *));

int bench_install_allocators(void);
int bench_install_allocators(void) {
  on_main = 1;
  if (uv_replace_allocator(cnt_malloc, cnt_realloc, cnt_calloc, free) != 0)
    return -1;
  return uva_replace_allocator(cnt_malloc, cnt_realloc, cnt_calloc, free);
}

/* ---- marks -------------------------------------------------------------- */

void bench_start(bench_run_t *r) {
  r->a0 = bench_allocs();
  r->t0 = uv_hrtime();
}

void bench_stop(bench_run_t *r) {
  r->t1 = uv_hrtime();
  if (r->a_ops == 0) { /* no steady state marked: the whole timed part */
    r->a1 = bench_allocs();
    r->a_ops = r->ops != 0 ? r->ops : r->n;
  }
}

void bench_steady_begin(bench_run_t *r) { r->a0 = bench_allocs(); }

void bench_steady_end(bench_run_t *r, uint64_t ops) {
  r->a1 = bench_allocs();
  r->a_ops = ops != 0 ? ops : 1;
}

int bench_fail(bench_run_t *r, const char *what) {
  if (r->error == NULL)
    r->error = what;
  return -1;
}

/* ---- resident memory ---------------------------------------------------- */

static long status_kib(const char *key) {
  char line[256];
  size_t k = strlen(key);
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, key, k) == 0 && line[k] == ':') {
      v = strtol(line + k + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

void bench_rss_base(bench_run_t *r) {
  /* "5" resets VmHWM to the current RSS (Linux >= 4.0). */
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f != NULL) {
    fputs("5", f);
    fclose(f);
  }
  r->rss_base_kib = status_kib("VmRSS");
}

void bench_rss_sample(bench_run_t *r, uint64_t live) {
  r->rss_peak_kib = status_kib("VmHWM");
  r->live = live;
}

long bench_peak_kib(void);
long bench_peak_kib(void) { return status_kib("VmHWM"); }

/* ---- loops -------------------------------------------------------------- */

int bench_loop_init(bench_run_t *r, uv_loop_t *loop) {
  if (uv_loop_init(loop) != 0)
    return bench_fail(r, "uv_loop_init");
  return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

int bench_loop_close(bench_run_t *r, uv_loop_t *loop) {
  int err;
  uv_run(loop, UV_RUN_DEFAULT);
  err = uv_loop_close(loop);
  if (err == UV_EBUSY) { /* report it, but leave the process clean */
    uv_walk(loop, close_walk, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return bench_fail(r, "uv_loop_close: handles left open");
  }
  return err == 0 ? 0 : bench_fail(r, "uv_loop_close");
}

/* ---- the raw versions' callback queue ------------------------------------ */

static void rawq_idle_cb(uv_idle_t *idle) {
  bench_rawq_t *q = (bench_rawq_t *)idle; /* idle is the first member */
  int budget = BENCH_RAWQ_BUDGET;
  while (q->head != NULL && budget-- > 0) {
    bench_job_t *job = q->head;
    q->head = job->next;
    if (q->head == NULL)
      q->tail = NULL;
    job->fn(job);
  }
  if (q->head == NULL && q->started) {
    uv_idle_stop(&q->idle);
    q->started = 0;
  }
}

void bench_rawq_init(uv_loop_t *loop, bench_rawq_t *q) {
  memset(q, 0, sizeof(*q));
  uv_idle_init(loop, &q->idle);
}

void bench_rawq_push(bench_rawq_t *q, bench_job_t *job) {
  job->next = NULL;
  if (q->tail != NULL)
    q->tail->next = job;
  else
    q->head = job;
  q->tail = job;
  if (!q->started) {
    uv_idle_start(&q->idle, rawq_idle_cb);
    q->started = 1;
  }
}

void bench_rawq_close(bench_rawq_t *q) { uv_close((uv_handle_t *)&q->idle, NULL); }
