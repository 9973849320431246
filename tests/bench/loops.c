/* echoloops: the uva echo server on 1 loop and on 2 loops (issue 11).
 *
 * The server is the one of tcp.c (an accept task and a task per connection
 * that reads up to 1 KiB and writes it back), run on L loops, each in a
 * thread of its own that listens on the same port with UVA_TCP_REUSEPORT
 * (the kernel spreads the connections).  The client is raw libuv in a
 * thread of its own: C connections (1,000 by default), each sending a
 * 64-byte message and waiting for its echo (checked byte for byte) before
 * the next, n requests in all.  The connections are made before the timed
 * part; the timed part is the requests.
 *
 * Measured per run: requests per second, and the CPU time (user + system)
 * each thread used during the timed part: its thread clock
 * (pthread_getcpuclockid) and the user/system split from
 * /proc/self/task/TID/stat (clock ticks).  Every run is a fresh child
 * process; 1 loop and 2 loops alternate within a round (1 first on even
 * rounds); medians over the rounds, and the ratio of the 2-loop median rate
 * to the 1-loop one.  A stop token per server loop, cancelled from the
 * measuring thread, ends the accept tasks.  UVA_ECHO_WORK_US=N makes the
 * server spend N us of CPU per request before answering (a server heavier
 * than its client). */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uva.h>

#define MAX_LOOPS 2
#define MSG 64
#define SRV_BUF 1024
#define WRING 4 /* client write requests per connection */

/* ---- per-thread CPU ------------------------------------------------------ */

typedef struct cpu {
  double ns;          /* thread clock */
  long utick, stick;  /* /proc/self/task/TID/stat utime, stime */
} cpu_t;

static void cpu_read(pthread_t th, pid_t tid, cpu_t *c) {
  clockid_t id;
  struct timespec ts;
  char path[64], buf[1024], *p;
  FILE *f;

  memset(c, 0, sizeof(*c));
  if (pthread_getcpuclockid(th, &id) == 0 && clock_gettime(id, &ts) == 0)
    c->ns = (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
  snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
  if ((f = fopen(path, "r")) == NULL)
    return;
  if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL) {
    /* after "pid (comm)": state is field 3; utime 14, stime 15 */
    long ut = 0, st = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
               &ut, &st) == 2) {
      c->utick = ut;
      c->stick = st;
    }
  }
  fclose(f);
}

/* The machine's busy time in clock ticks (all CPUs, /proc/stat: user, nice,
 * system, irq, softirq, steal), to tell how much other processes took. */
static long long machine_busy(void) {
  long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");

  if (f == NULL)
    return 0;
  if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1],
             &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
    memset(v, 0, sizeof(v));
  fclose(f);
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

/* ---- the server: a uva loop per thread ----------------------------------- */

typedef struct run run_t;

typedef struct sloop {
  run_t *run;
  int index;
  uv_loop_t loop;
  uv_thread_t th;
  pid_t tid;
  uv_sem_t ready;
  uva_stream_t *listener;
  uva_token_t *stop;
  int err;         /* setup */
  int failed;      /* a connection failed */
  int close_err;   /* uv_loop_close */
  unsigned conns;  /* accepted */
} sloop_t;

struct run {
  int nloops;
  size_t nconns;
  uint64_t n;
  int port;
  sloop_t srv[MAX_LOOPS];
  /* client */
  uv_thread_t cth;
  pid_t ctid;
  const char *error;
  uint64_t t0, t1;
  cpu_t cpu0[MAX_LOOPS + 1], cpu1[MAX_LOOPS + 1]; /* servers, then client */
  long long busy0, busy1; /* machine_busy */
};

/* UVA_ECHO_WORK_US: microseconds of CPU work the server does per request
 * before it answers (0 by default: a bare echo), so that the server is
 * heavier than the client, as a real server's request handling is.  The
 * work is a fixed number of hash rounds over the request, calibrated once
 * against the process's CPU clock (not a spin on the wall clock, which a
 * preempted thread would cut short). */
static uint64_t work_rounds, work_us;

static uint32_t hash_rounds(const char *buf, size_t len, uint64_t rounds) {
  volatile uint32_t h = 2166136261u;
  for (uint64_t r = 0; r < rounds; r++)
    for (size_t i = 0; i < len; i++)
      h = (h ^ (uint8_t)buf[i]) * 16777619u;
  return h;
}

static void work_calibrate(uint64_t us) {
  char buf[MSG] = {1};
  struct timespec a, b;
  uint64_t rounds = 20000;
  double ns;

  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  (void)hash_rounds(buf, sizeof(buf), rounds);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  work_rounds = ns > 0 ? (uint64_t)((double)us * 1000.0 * (double)rounds / ns)
                       : rounds;
  if (work_rounds == 0)
    work_rounds = 1;
}

static void do_work(const char *buf, size_t len) {
  (void)hash_rounds(buf, len < MSG ? len : MSG, work_rounds);
}

static int conn_task(void *arg, uva_result_t *result) {
  uva_stream_t *s = arg;
  char buf[SRV_BUF];
  uva_value_t v;
  int err;

  (void)result;
  for (;;) {
    err = uva_await(uva_stream_read(s, buf, sizeof(buf)), &v);
    if (err != 0)
      break;
    if (work_rounds != 0)
      do_work(buf, (size_t)v.u64);
    err = uva_await(uva_stream_write(s, buf, (size_t)v.u64), NULL);
    if (err != 0)
      break;
  }
  uva_stream_free(s);
  return err == UV_EOF || err == UV_ECONNRESET ? 0 : err;
}

static void conn_done(int status, uva_value_t v, void *data) {
  sloop_t *sl = data;
  (void)v;
  if (status != 0)
    sl->failed = 1;
}

static int accept_task(void *arg, uva_result_t *result) {
  sloop_t *sl = arg;
  (void)result;
  for (;;) {
    uva_future_t *fs[2];
    uva_result_t won;
    uva_value_t which;
    int err;

    fs[0] = uva_stream_accept(sl->listener);
    fs[1] = uva_token_cancelled(sl->stop);
    err = uva_await(uva_select(&sl->loop, fs, 2, &won), &which);
    if (err != 0 || which.u64 == 1) {
      if (err != 0) /* the token is freed only once cancelled */
        uva_await(uva_token_cancelled(sl->stop), NULL);
      else
        uva_result_free(&won);
      return err;
    }
    if (won.status == 0) {
      uva_stream_t *s = won.value.ptr;
      won.free_fn = NULL;
      sl->conns++;
      uva_tcp_nodelay(s, 1);
      uva_future_then(uva_spawn(&sl->loop, conn_task, s), conn_done, sl);
    } else {
      sl->failed = 1;
    }
    uva_result_free(&won);
  }
}

static void server_thread(void *arg) {
  sloop_t *sl = arg;
  run_t *run = sl->run;
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  int err;

  sl->tid = (pid_t)syscall(SYS_gettid);
  err = uv_loop_init(&sl->loop);
  if (err != 0) {
    sl->err = err;
    uv_sem_post(&sl->ready);
    return;
  }
  uv_ip4_addr("127.0.0.1", run->port, &a);
  err = uva_token_new(&sl->loop, &sl->stop);
  if (err == 0)
    err = uva_tcp_listen(&sl->loop, (struct sockaddr *)&a, 4096,
                         UVA_TCP_REUSEPORT, &sl->listener);
  if (err == 0 && run->port == 0) {
    err = uva_stream_sockname(sl->listener, &ss);
    run->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  sl->err = err;
  if (err != 0) {
    uva_stream_free(sl->listener);
    uva_token_free(sl->stop);
    sl->stop = NULL;
  }
  uv_sem_post(&sl->ready);
  if (err == 0) {
    err = uva_block_on(&sl->loop, uva_spawn(&sl->loop, accept_task, sl), NULL);
    if (err != 0)
      sl->failed = 1;
    uva_stream_free(sl->listener);
    /* The client has closed every connection: the tasks read the end. */
    uv_run(&sl->loop, UV_RUN_DEFAULT);
    uva_loop_shutdown(&sl->loop, 1000, NULL);
    uva_token_free(sl->stop);
  }
  uv_run(&sl->loop, UV_RUN_DEFAULT);
  sl->close_err = uv_loop_close(&sl->loop);
}

/* ---- the client: raw libuv in its own thread ----------------------------- */

typedef struct client client_t;

typedef struct econn {
  uv_tcp_t tcp; /* first member */
  uv_connect_t connect;
  uv_write_t wr[WRING];
  unsigned writing; /* write requests in flight */
  client_t *cl;
  uint64_t left, seq;
  size_t have;
  char out[MSG], in[MSG];
} econn_t;

struct client {
  run_t *run;
  uv_loop_t loop;
  econn_t *conns;
  size_t connected, closed;
  uint64_t done, total;
  int bad;
};

static void cl_closed(uv_handle_t *h) {
  ((econn_t *)h)->cl->closed++;
}

static void cl_fail(econn_t *c) {
  c->cl->bad = 1;
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, cl_closed);
}

static void cl_written(uv_write_t *w, int status) {
  econn_t *c = w->data;
  c->writing--;
  if (status != 0)
    cl_fail(c);
}

/* A 64-byte request: uv_try_write takes it whole almost always; else a
 * write request from a small ring (the echo of one request can come back
 * before the callback of its write has run). */
static void cl_send(econn_t *c) {
  uv_buf_t b = uv_buf_init(c->out, MSG);
  int n;

  c->seq++;
  memset(c->out, (int)('a' + c->seq % 26), MSG);
  memcpy(c->out, &c->seq, sizeof(c->seq));
  c->have = 0;
  n = c->writing == 0 ? uv_try_write((uv_stream_t *)&c->tcp, &b, 1) : 0;
  if (n == MSG)
    return;
  if (n > 0)
    b = uv_buf_init(c->out + n, (unsigned int)(MSG - n));
  else if (n < 0 && n != UV_EAGAIN) {
    cl_fail(c);
    return;
  }
  if (c->writing == WRING) {
    cl_fail(c);
    return;
  }
  uv_write_t *w = &c->wr[c->seq % WRING];
  w->data = c;
  c->writing++;
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, cl_written) != 0) {
    c->writing--;
    cl_fail(c);
  }
}

static void cl_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  econn_t *c = (econn_t *)h;
  (void)size;
  *buf = uv_buf_init(c->in + c->have, (unsigned int)(MSG - c->have));
}

static void cpu_all(run_t *run, cpu_t *out);

static void cl_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  econn_t *c = (econn_t *)st;
  client_t *cl = c->cl;
  (void)buf;
  if (nread < 0) {
    cl_fail(c);
    return;
  }
  c->have += (size_t)nread;
  if (c->have < MSG)
    return;
  if (memcmp(c->in, c->out, MSG) != 0) {
    cl_fail(c);
    return;
  }
  if (++cl->done == cl->total) {
    run_t *run = cl->run;
    run->t1 = uv_hrtime();
    cpu_all(run, run->cpu1);
    for (size_t i = 0; i < run->nconns; i++)
      if (!uv_is_closing((uv_handle_t *)&cl->conns[i].tcp))
        uv_close((uv_handle_t *)&cl->conns[i].tcp, cl_closed);
    return;
  }
  if (--c->left > 0)
    cl_send(c);
  else
    uv_read_stop(st); /* done: open until every connection is */
}

static void cl_start_requests(client_t *cl) {
  run_t *run = cl->run;
  run->t0 = uv_hrtime();
  cpu_all(run, run->cpu0);
  for (size_t i = 0; i < run->nconns; i++) {
    econn_t *c = &cl->conns[i];
    if (uv_read_start((uv_stream_t *)&c->tcp, cl_alloc, cl_read) != 0)
      cl_fail(c);
    else
      cl_send(c);
  }
}

static void cl_connected(uv_connect_t *req, int status) {
  econn_t *c = req->data;
  if (status != 0) {
    cl_fail(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (++c->cl->connected == c->cl->run->nconns)
    cl_start_requests(c->cl);
}

static void client_thread(void *arg) {
  client_t *cl = arg;
  run_t *run = cl->run;
  struct sockaddr_in a;
  uint64_t per = run->n / run->nconns ? run->n / run->nconns : 1;

  run->ctid = (pid_t)syscall(SYS_gettid);
  if (uv_loop_init(&cl->loop) != 0) {
    run->error = "client uv_loop_init";
    return;
  }
  cl->total = per * run->nconns;
  uv_ip4_addr("127.0.0.1", run->port, &a);
  for (size_t i = 0; i < run->nconns; i++) {
    econn_t *c = &cl->conns[i];
    c->cl = cl;
    c->left = per;
    c->connect.data = c;
    uv_tcp_init(&cl->loop, &c->tcp);
    if (uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&a,
                       cl_connected) != 0)
      cl_fail(c);
  }
  uv_run(&cl->loop, UV_RUN_DEFAULT);
  if (cl->bad)
    run->error = "client: a connection failed or an echo was wrong";
  else if (cl->done != cl->total)
    run->error = "client: wrong count of requests";
  if (uv_loop_close(&cl->loop) != 0 && run->error == NULL)
    run->error = "client: uv_loop_close";
}

static void cpu_all(run_t *run, cpu_t *out) {
  if (out == run->cpu0)
    run->busy0 = machine_busy();
  else
    run->busy1 = machine_busy();
  for (int i = 0; i < run->nloops; i++)
    cpu_read(run->srv[i].th, run->srv[i].tid, &out[i]);
  cpu_read(run->cth, run->ctid, &out[MAX_LOOPS]);
}

/* ---- one measured run (in a child process) -------------------------------- */

typedef struct eres {
  int ok;
  char error[120];
  double req_s;
  double cpu[MAX_LOOPS + 1];  /* fraction of one core: servers, client */
  double user[MAX_LOOPS + 1]; /* of which user (fraction of one core) */
  double sys[MAX_LOOPS + 1];
  unsigned conns[MAX_LOOPS];  /* connections each loop accepted */
  double machine;             /* cores busy on the whole machine */
  double others;              /* of which not this benchmark's threads */
  double srv_us, cl_us;       /* server, client CPU us per request */
} eres_t;

static void echo_run(int nloops, size_t nconns, uint64_t n, eres_t *res) {
  run_t *run = calloc(1, sizeof(*run));
  client_t *cl = calloc(1, sizeof(*cl));
  int started = 0;

  memset(res, 0, sizeof(*res));
  if (run == NULL || cl == NULL ||
      (cl->conns = calloc(nconns, sizeof(econn_t))) == NULL) {
    snprintf(res->error, sizeof(res->error), "out of memory");
    goto out;
  }
  run->nloops = nloops;
  run->nconns = nconns;
  run->n = n;
  cl->run = run;
  for (int i = 0; i < nloops; i++) {
    sloop_t *sl = &run->srv[i];
    sl->run = run;
    sl->index = i;
    uv_sem_init(&sl->ready, 0);
    if (uv_thread_create(&sl->th, server_thread, sl) != 0) {
      uv_sem_destroy(&sl->ready);
      run->error = "uv_thread_create";
      break;
    }
    uv_sem_wait(&sl->ready); /* the first one picks the port */
    uv_sem_destroy(&sl->ready);
    started++;
    if (sl->err != 0) {
      run->error = "server setup";
      break;
    }
  }
  if (run->error == NULL) {
    if (uv_thread_create(&run->cth, client_thread, cl) != 0)
      run->error = "uv_thread_create";
    else
      uv_thread_join(&run->cth);
  }
  for (int i = 0; i < started; i++)
    uva_token_cancel(run->srv[i].stop); /* from this thread: async */
  for (int i = 0; i < started; i++) {
    sloop_t *sl = &run->srv[i];
    uv_thread_join(&sl->th);
    res->conns[i] = sl->conns;
    if (run->error == NULL && sl->failed)
      run->error = "a server connection failed";
    if (run->error == NULL && sl->close_err != 0)
      run->error = "server uv_loop_close";
  }
  if (run->error != NULL) {
    snprintf(res->error, sizeof(res->error), "%s", run->error);
  } else {
    double wall = (double)(run->t1 - run->t0);
    long hz = sysconf(_SC_CLK_TCK);
    res->ok = 1;
    res->req_s = (double)cl->total / (wall / 1e9);
    double ours = 0, srv = 0;
    for (int k = 0; k <= MAX_LOOPS; k++) {
      if (k < MAX_LOOPS && k >= nloops)
        continue;
      res->cpu[k] = (run->cpu1[k].ns - run->cpu0[k].ns) / wall;
      res->user[k] = (double)(run->cpu1[k].utick - run->cpu0[k].utick) /
                     (double)hz / (wall / 1e9);
      res->sys[k] = (double)(run->cpu1[k].stick - run->cpu0[k].stick) /
                    (double)hz / (wall / 1e9);
      ours += res->cpu[k];
      if (k < MAX_LOOPS)
        srv += res->cpu[k];
    }
    res->machine = (double)(run->busy1 - run->busy0) / (double)hz /
                   (wall / 1e9);
    res->others = res->machine > ours ? res->machine - ours : 0;
    res->srv_us = srv * wall / 1e3 / (double)cl->total;
    res->cl_us = res->cpu[MAX_LOOPS] * wall / 1e3 / (double)cl->total;
  }
out:
  if (cl != NULL)
    free(cl->conns);
  free(cl);
  free(run);
}

static void run_child(int nloops, size_t nconns, uint64_t n, int fork_it,
                      eres_t *res) {
  int fds[2], st;
  pid_t pid;
  ssize_t got;

  if (!fork_it) {
    echo_run(nloops, nconns, n, res);
    return;
  }
  memset(res, 0, sizeof(*res));
  fflush(NULL);
  if (pipe(fds) != 0 || (pid = fork()) < 0) {
    snprintf(res->error, sizeof(res->error), "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    eres_t r;
    close(fds[0]);
    echo_run(nloops, nconns, n, &r);
    if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
      _exit(3);
    exit(r.ok ? 0 : 1);
  }
  close(fds[1]);
  do
    got = read(fds[0], res, sizeof(*res));
  while (got < 0 && errno == EINTR);
  close(fds[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (got != (ssize_t)sizeof(*res)) {
    memset(res, 0, sizeof(*res));
    snprintf(res->error, sizeof(res->error), "child died");
  } else if (res->ok && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    res->ok = 0;
    snprintf(res->error, sizeof(res->error), "child exited badly");
  }
}

/* ---- the driver ------------------------------------------------------------ */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double med(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_R 64

/* Median of field f over the rounds of res. */
#define MED(res, rounds, expr)                                                 \
  ({                                                                           \
    double v_[MAX_R];                                                          \
    for (int k_ = 0; k_ < (rounds); k_++)                                      \
      v_[k_] = (res)[k_].expr;                                                 \
    med(v_, (rounds));                                                         \
  })

static void print_res(int nloops, size_t nconns, uint64_t n, int rounds,
                      eres_t *r, double ratio) {
  printf("bench=echoloops variant=loops%d conns=%zu n=%llu rounds=%d "
         "work_us=%llu req_s=%.0f",
         nloops, nconns, (unsigned long long)n, rounds,
         (unsigned long long)work_us,
         MED(r, rounds, req_s));
  for (int i = 0; i < nloops; i++)
    printf(" srv%d_cpu=%.2f srv%d_user=%.2f srv%d_sys=%.2f", i,
           MED(r, rounds, cpu[i]), i, MED(r, rounds, user[i]), i,
           MED(r, rounds, sys[i]));
  printf(" client_cpu=%.2f client_user=%.2f client_sys=%.2f",
         MED(r, rounds, cpu[MAX_LOOPS]), MED(r, rounds, user[MAX_LOOPS]),
         MED(r, rounds, sys[MAX_LOOPS]));
  printf(" srv_us_req=%.2f client_us_req=%.2f machine_cores=%.2f "
         "others_cores=%.2f",
         MED(r, rounds, srv_us), MED(r, rounds, cl_us), MED(r, rounds, machine),
         MED(r, rounds, others));
  if (nloops > 1)
    printf(" conns_loop0=%.0f", MED(r, rounds, conns[0]));
  if (ratio > 0)
    printf(" ratio_vs_1loop=%.3f", ratio);
  printf(" status=ok\n");
  fflush(stdout);
}

int bench_echoloops(int rounds, uint64_t size, int smoke, int fork_it);
int bench_echoloops(int rounds, uint64_t size, int smoke, int fork_it) {
  eres_t r1[MAX_R], r2[MAX_R];
  double ratios[MAX_R];
  size_t nconns = smoke ? 50 : 1000;
  uint64_t n = size != 0 ? size : smoke ? 2000 : 300000;
  const char *w = getenv("UVA_ECHO_WORK_US");

  work_us = w != NULL ? strtoull(w, NULL, 10) : 0;
  if (work_us != 0)
    work_calibrate(work_us); /* before any thread starts */

  if (rounds > MAX_R)
    rounds = MAX_R;
  for (int k = 0; k < rounds; k++) {
    if (k % 2 == 1)
      run_child(2, nconns, n, fork_it, &r2[k]);
    run_child(1, nconns, n, fork_it, &r1[k]);
    if (k % 2 == 0)
      run_child(2, nconns, n, fork_it, &r2[k]);
    if (!r1[k].ok || !r2[k].ok) {
      fprintf(stderr, "uva-bench: echoloops round %d: %s\n", k,
              !r1[k].ok ? r1[k].error : r2[k].error);
      return -1;
    }
    ratios[k] = r2[k].req_s / r1[k].req_s;
  }
  print_res(1, nconns, n, rounds, r1, 0);
  print_res(2, nconns, n, rounds, r2,
            MED(r2, rounds, req_s) / MED(r1, rounds, req_s));
  printf("bench=echoloops ratio_of_medians=%.3f median_of_round_ratios=%.3f\n",
         MED(r2, rounds, req_s) / MED(r1, rounds, req_s), med(ratios, rounds));
  return 0;
}
