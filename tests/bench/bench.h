/* The benchmark harness shared by every workload in tests/bench/: timing with
 * uv_hrtime, a fresh child process per measured run, rounds and medians,
 * peak RSS, allocation counting through allocator hooks, and the output
 * (one parseable line per result, a markdown table, CSV, gnuplot data).
 *
 * A workload file defines its cases (bench_case_t): one function per
 * implementation, uva and raw libuv, that does the work for r->n
 * operations, marks the timed part, the steady state in which allocations
 * are counted and, where it means something, the number of live objects
 * whose resident memory is measured; then checks its result. */
#ifndef UVA_BENCH_H
#define UVA_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* One measured run, filled in by a case's function. */
typedef struct bench_run {
  uint64_t n;         /* the workload's size: operations to do */
  uint64_t t0, t1;    /* bench_start / bench_stop (uv_hrtime) */
  uint64_t ops;       /* operations timed (n unless set otherwise) */
  uint64_t a0, a1;    /* allocation counter at the steady-state marks */
  uint64_t a_ops;     /* operations in the steady state */
  long rss_base_kib;  /* VmRSS at bench_rss_base */
  long rss_peak_kib;  /* VmHWM at bench_rss_sample */
  uint64_t live;      /* objects alive at bench_rss_sample (0: not measured) */
  const char *error;  /* set by bench_fail */
  double p50_ns, p99_ns; /* request latency percentiles (0: not measured) */
} bench_run_t;

typedef int (*bench_fn)(bench_run_t *r);

/* Targets from issue 3, checked on the uva line (0: none). */
typedef struct bench_target {
  double max_ratio;  /* uva / raw median time */
  double max_ns;     /* ns per operation */
  double max_rss;    /* bytes per live object */
  double max_allocs; /* allocations per operation; < 0: none */
} bench_target_t;

typedef struct bench_case {
  const char *bench;   /* the workload: spawn, sleep, chan, ... */
  const char *variant; /* e.g. cap1024, futures, tasks */
  uint64_t size;       /* default size */
  uint64_t smoke;      /* size in --smoke mode */
  bench_fn uva;
  bench_fn raw;        /* NULL: no raw counterpart */
  const char *unit;    /* what one op is: "task", "message", ... */
  const char *rss_unit; /* what rss_op is per, or NULL */
  bench_target_t target;
} bench_case_t;

/* Every workload's cases, defined in its own file, ending with a case whose
 * bench is NULL. */
extern const bench_case_t bench_spawn_cases[];
extern const bench_case_t bench_sleep_cases[];
extern const bench_case_t bench_chan_cases[];
extern const bench_case_t bench_pingpong_cases[];
extern const bench_case_t bench_files_cases[];
extern const bench_case_t bench_threadchan_cases[];
extern const bench_case_t bench_blocking_cases[];
extern const bench_case_t bench_yield_cases[];
extern const bench_case_t bench_tcp_cases[];
extern const bench_case_t bench_sync_cases[];
extern const bench_case_t bench_xchan_cases[]; /* issue 11 */
extern const bench_case_t bench_remote_cases[];

/* The timed part of a run. */
void bench_start(bench_run_t *r);
void bench_stop(bench_run_t *r);

/* The steady state: allocations made between these two calls, from any
 * thread, divided by ops, are the run's allocations per operation.  Without
 * these calls the whole timed part counts. */
void bench_steady_begin(bench_run_t *r);
void bench_steady_end(bench_run_t *r, uint64_t ops);

/* Resets the peak RSS and records the current RSS: call before allocating
 * the objects whose memory is measured. */
void bench_rss_base(bench_run_t *r);
/* Records the peak RSS since bench_rss_base, with live objects alive. */
void bench_rss_sample(bench_run_t *r, uint64_t live);

/* Marks the run failed (a wrong sum, a failed call); returns -1. */
int bench_fail(bench_run_t *r, const char *what);

/* Allocations counted so far in this process (every thread). */
uint64_t bench_allocs(void);

/* malloc and free for the raw versions and the workloads' own memory,
 * counted like libuv's and uva's. */
void *bench_malloc(size_t n);
void *bench_calloc(size_t n, size_t m);
void bench_free(void *p);

/* A loop for one run; bench_loop_close checks that uv_loop_close returns 0
 * (after running the loop to let closing handles finish). */
int bench_loop_init(bench_run_t *r, uv_loop_t *loop);
int bench_loop_close(bench_run_t *r, uv_loop_t *loop);

/* The floor the raw versions share where uva uses its run queue: a FIFO of
 * callbacks drained from one uv_idle_t, at most BENCH_RAWQ_BUDGET per loop
 * iteration (uva's own budget), then back to libuv.  What a libuv
 * programmer writes to defer a callback without recursion. */
typedef struct bench_job {
  struct bench_job *next;
  void (*fn)(struct bench_job *job);
} bench_job_t;

typedef struct bench_rawq {
  uv_idle_t idle;
  bench_job_t *head, *tail;
  int started;
} bench_rawq_t;

#define BENCH_RAWQ_BUDGET 4096

void bench_rawq_init(uv_loop_t *loop, bench_rawq_t *q);
void bench_rawq_push(bench_rawq_t *q, bench_job_t *job);
void bench_rawq_close(bench_rawq_t *q);

#endif /* UVA_BENCH_H */
