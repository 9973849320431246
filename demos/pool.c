/* pool: Tokio's multi-threaded runtime, with a pool of loops in threads.
 *
 * Mirrors:
 *
 *   #[tokio::main(flavor = "multi_thread", worker_threads = 4)]
 *   async fn main() {
 *       let (tx, mut rx) = mpsc::channel(4);  // reports from the workers
 *       let jobs: Vec<_> = (0..8)
 *           .map(|i| tokio::spawn(job(i, tx.clone())))  // least busy worker
 *           .collect();
 *       let mut primes = 0;
 *       for _ in 0..8 {                       // in the order they finish
 *           primes += rx.recv().await.unwrap().primes;
 *       }
 *       println!("8 reports over the channel: {primes} primes");
 *       for handle in jobs {                  // in the order they started
 *           println!("{}", handle.await.unwrap()?);
 *       }
 *   }   // the runtime shuts down: Runtime::shutdown_timeout
 *
 *   async fn job(i: usize, tx: Sender<Report>) -> io::Result<String> {
 *       let primes = count_primes(limit(i));          // CPU
 *       let path = format!("job-{i}.txt");
 *       fs::write(&path, primes.to_string()).await?;  // I/O
 *       // the check runs as a task of its own on another worker
 *       let text = Handle::current().spawn(check(path)).await??;
 *       tx.send(Report { i, primes }).await?;         // to main's worker
 *       ...
 *   }
 *
 * The uva way:
 *  - uva_pool_new(4) starts four threads, each running a loop of its own
 *    that serves: the runtime's worker threads.  main() is an ordinary
 *    thread that runs no loop: uva_pool_block_on runs tokio_main as a task
 *    on one of them and waits (#[tokio::main] / Runtime::block_on).
 *  - uva_pool_spawn places a task on the least loaded loop and gives back
 *    its join future on the caller's loop: awaiting it waits for a task on
 *    another thread; its result (here a string the caller frees) is moved
 *    back.
 *  - A task stays on the loop it was placed on (no work stealing, unlike
 *    Tokio): a task that computes for long holds its loop's other tasks up,
 *    as a blocking call in a Tokio task holds its worker.  Here the CPU part
 *    is short; a long one belongs in uva_spawn_blocking.
 *  - uva_spawn_on(loop, target, ...) places work on a chosen loop (the
 *    check on the next loop of the pool).
 *  - The channel is made on tokio_main's loop; the jobs' tasks, on the
 *    other loops, send on it as that loop's own tasks would (a full
 *    channel makes them wait, whichever loop they run on).
 *  - uva_pool_free(pool, 1000) stops every loop, cancels what is left,
 *    waits up to 1 s for it to clean up, closes the loops and joins the
 *    threads (Runtime::shutdown_timeout).
 *
 * stdout is deterministic (jobs are awaited in order); which loop ran each
 * job depends on timing and goes to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <uva.h>

#define WORKERS 4
#define JOBS 8

static uva_pool_t *pool;
static uv_thread_t main_thread;

/* The loop of the pool this code runs on (its index), or -1. */
static int pool_index(void) {
  uv_loop_t *cur = uva_current_loop();
  size_t i;
  for (i = 0; i < uva_pool_size(pool); i++)
    if (uva_pool_loop(pool, i) == cur)
      return (int)i;
  return -1;
}

static uint64_t limit(int i) { return 10000 + 5000 * (uint64_t)i; }

/* The CPU part: a sieve-free count, short enough for a task. */
static uint64_t count_primes(uint64_t below) {
  uint64_t n, d, count = 0;
  for (n = 2; n < below; n++) {
    for (d = 2; d * d <= n; d++)
      if (n % d == 0)
        break;
    if (d * d > n)
      count++;
  }
  return count;
}

/* What a job reports over the channel. */
typedef struct {
  int i;
  uint64_t primes;
} report_t;

static uva_chan_t *reports; /* made on tokio_main's loop */

typedef struct {
  int i;
  char path[32];
  uint64_t primes;
  int loop; /* the pool loop that ran the job */
  int off_main; /* 1 if the job ran on a thread other than main's */
} job_t;

/* async fn check(path): reads the file back, returns what it holds. */
static int check(void *arg, uva_result_t *result) {
  job_t *job = arg;
  uva_value_t v;
  int err;

  err = uva_await(uva_fs_read_file(uva_current_loop(), job->path), &v);
  if (err != 0)
    return err;
  result->value.u64 = strtoull(((uva_buf_t *)v.ptr)->base, NULL, 10);
  uva_buf_free(v.ptr);
  return 0;
}

/* async fn job(i): CPU, then a file written, then checked on another loop.
 * Returns a line of text (malloc'd: the join future's owner frees it). */
static int job_fn(void *arg, uva_result_t *result) {
  job_t *job = arg;
  uv_loop_t *loop = uva_current_loop();
  uv_thread_t self = uv_thread_self();
  char text[32], *line;
  uva_value_t v;
  int err, n, next;

  job->loop = pool_index();
  job->off_main = !uv_thread_equal(&self, &main_thread);
  job->primes = count_primes(limit(job->i));
  n = snprintf(text, sizeof(text), "%" PRIu64, job->primes);
  err = uva_await(uva_fs_write_file(loop, job->path, text, (size_t)n), NULL);
  if (err != 0)
    return err;
  /* the check: a task on the next loop of the pool, awaited here */
  next = (job->loop + 1) % WORKERS;
  err = uva_await(uva_spawn_on(loop, uva_pool_loop(pool, (size_t)next), check,
                               job),
                  &v);
  if (err != 0)
    return err;
  if (v.u64 != job->primes)
    return UV_EIO;
  /* tx.send(Report { i, primes }).await?, from this loop to main's */
  {
    report_t rep = {job->i, job->primes};
    err = uva_await(uva_chan_send(reports, &rep), NULL);
    if (err != 0)
      return err;
  }
  line = malloc(96);
  if (line == NULL)
    return UV_ENOMEM;
  snprintf(line, 96, "job %d: %" PRIu64 " primes below %" PRIu64
           ", checked from its file", job->i, job->primes, limit(job->i));
  result->value.ptr = line;
  result->free_fn = free;
  return 0;
}

/* #[tokio::main] async fn main(), on a loop of the pool. */
static int tokio_main(void *arg, uva_result_t *result) {
  job_t *jobs = arg;
  uv_loop_t *loop = uva_current_loop();
  uva_future_t *handles[JOBS];
  uint64_t total = 0, reported = 0;
  int i, err = 0, off_main = 0, seen = 0;

  err = uva_chan_new(loop, sizeof(report_t), 4, &reports);
  if (err != 0)
    return err;
  for (i = 0; i < JOBS; i++) {
    jobs[i].i = i;
    snprintf(jobs[i].path, sizeof(jobs[i].path), "job-%d.txt", i);
    handles[i] = uva_pool_spawn(loop, pool, job_fn, &jobs[i]);
  }
  /* the reports, in the order the jobs finish */
  for (i = 0; i < JOBS; i++) {
    report_t rep;
    /* (a job that failed sends nothing: the wait is bounded) */
    if (uva_await(uva_timeout(uva_chan_recv(reports, &rep), 10000), NULL) != 0)
      break;
    reported += rep.primes;
    seen |= 1 << rep.i;
  }
  uva_chan_close(reports); /* a send still waiting (a job failed) fails */
  printf("%d reports over the channel (every job once): %" PRIu64
         " primes\n",
         seen == (1 << JOBS) - 1 ? i : -1, reported);
  for (i = 0; i < JOBS; i++) {
    uva_value_t line;
    int e = uva_await(handles[i], &line);
    if (e != 0) {
      printf("job %d failed: %s\n", i, uv_strerror(e));
      err = e;
      continue;
    }
    printf("%s\n", (char *)line.ptr);
    free(line.ptr);
    total += jobs[i].primes;
    off_main += jobs[i].off_main;
    fprintf(stderr, "job %d ran on loop %d of the pool\n", i, jobs[i].loop);
  }
  printf("total: %" PRIu64 " primes; %d of %d jobs ran on the pool's threads\n",
         total, off_main, JOBS);
  uva_chan_free(reports); /* every send has returned: its jobs have */
  result->value.u64 = total;
  return err;
}

int main(void) {
  job_t jobs[JOBS];
  uva_result_t r;
  int err, free_err;

  main_thread = uv_thread_self();
  memset(jobs, 0, sizeof(jobs));
  err = uva_pool_new(WORKERS, &pool);
  if (err != 0) {
    fprintf(stderr, "uva_pool_new: %s\n", uv_strerror(err));
    return 1;
  }
  printf("a pool of %zu loops, each in a thread of its own\n",
         uva_pool_size(pool));
  err = uva_pool_block_on(pool, tokio_main, jobs, &r);
  if (err != 0)
    fprintf(stderr, "tokio_main: %s\n", uv_strerror(err));
  /* Runtime::shutdown_timeout(1 s): nothing is left running here, so every
   * loop closes cleanly at once. */
  free_err = uva_pool_free(pool, 1000);
  if (free_err != 0)
    fprintf(stderr, "uva_pool_free: %s\n", uv_strerror(free_err));
  printf("the pool shut down%s\n", free_err == 0 ? " cleanly" : " with errors");
  return err == 0 && free_err == 0 ? 0 : 1;
}
