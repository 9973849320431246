/* The contract with the program that adds uva (GUIDE.md): the caller's loop,
 * no loop->data, uv_run returns when it did before, uv_loop_close returns 0
 * with no extra call, several loops in several threads. */
#include "test-util.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static int sentinel;

static void count_handle(uv_handle_t *h, void *arg) {
  (void)h;
  (*(int *)arg)++;
}

static int handles_on(uv_loop_t *loop) {
  int n = 0;
  uv_walk(loop, count_handle, &n);
  return n;
}

START_TEST(no_handles_when_idle) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  /* Objects that hold no pending work open no handle at all. */
  uva_future_t *f = uva_ready_u64(loop, 1);
  uva_future_t *g = uva_future_new(loop);
  ck_assert_int_eq(uva_chan_new(loop, 8, 4, &ch), 0);
  ck_assert_int_eq(handles_on(loop), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* returns at once */
  uva_future_free(f);
  ck_assert_int_eq(uva_future_resolve_u64(g, 2), 0);
  uva_future_free(g);
  uva_chan_free(ch);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int ticks;
static void tick(uv_timer_t *t) {
  if (++ticks == 3)
    uv_close((uv_handle_t *)t, NULL);
}

static void sleep_done(int status, uva_value_t v, void *data) {
  (void)v;
  ck_assert_int_eq(status, 0);
  (*(int *)data)++;
}

START_TEST(uv_run_returns_as_before) {
  LOOP_INIT(loop);
  uv_timer_t t;
  int done = 0;
  ticks = 0;
  uv_timer_init(loop, &t);
  t.data = &sentinel;
  uv_timer_start(&t, tick, 1, 1);
  /* uva work shorter than the program's own: uv_run still ends with it */
  ck_assert_int_eq(uva_future_then(uva_sleep(loop, 1), sleep_done, &done), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(ticks, 3);
  ck_assert_int_eq(done, 1);
  ck_assert_ptr_eq(t.data, &sentinel);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static int use_everything(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_chan_t *ch;
  uint64_t v = 5, out = 0;
  uva_value_t val;
  uva_result_t res[2], win;
  (void)r;
  ck_assert_int_eq(uva_await(uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_chan_new(loop, sizeof v, 1, &ch), 0);
  ck_assert_int_eq(uva_await(uva_chan_send(ch, &v), NULL), 0);
  ck_assert_int_eq(uva_await(uva_chan_recv(ch, &out), NULL), 0);
  ck_assert_uint_eq(out, 5);
  uva_chan_free(ch);
  uva_future_t *js[2] = {uva_sleep(loop, 2), uva_ready_u64(loop, 3)};
  ck_assert_int_eq(uva_await(uva_join(loop, js, 2, res), NULL), 0);
  uva_future_t *ss[2] = {uva_sleep(loop, 1000), uva_ready_u64(loop, 4)};
  ck_assert_int_eq(uva_await(uva_select(loop, ss, 2, &win), &val), 0);
  ck_assert_uint_eq(val.u64, 1);
  ck_assert_int_eq(uva_await(uva_timeout(uva_sleep(loop, 1000), 1), NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(uva_yield(), 0);
  return 0;
}

START_TEST(loop_data_untouched) {
  LOOP_INIT(loop);
  loop->data = &sentinel;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, use_everything, loop), NULL), 0);
  ck_assert_ptr_eq(loop->data, &sentinel);
  LOOP_CLOSE_NOW(loop); /* no extra uv_run */
}
END_TEST

static int poll_ready(void *state, uva_waker_t *w, uva_result_t *out) {
  (void)state;
  (void)w;
  out->value.u64 = 42;
  return 0;
}

START_TEST(loop_close_right_after_block_on) {
  /* every kind of future, each on a fresh loop, closes with no extra call */
  for (int kind = 0; kind < 6; kind++) {
    LOOP_INIT(loop);
    uva_future_t *f = NULL;
    uva_result_t res[1];
    switch (kind) {
    case 0: f = uva_sleep(loop, 1); break;
    case 1: f = uva_future_poll(loop, poll_ready, NULL, NULL); break;
    case 2: f = uva_timeout(uva_sleep(loop, 1), 1000); break;
    case 3: f = uva_timeout(uva_sleep(loop, 1000), 1); break;
    case 4: {
      uva_future_t *c[1] = {uva_sleep(loop, 1)};
      f = uva_join(loop, c, 1, res);
      break;
    }
    case 5: f = uva_spawn_blocking(loop, NULL, NULL); break;
    }
    (void)uva_block_on(loop, f, NULL);
    LOOP_CLOSE_NOW(loop);
  }
}
END_TEST

START_TEST(block_on_twice_same_loop) {
  LOOP_INIT(loop);
  uva_value_t v;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, use_everything, loop), NULL), 0);
    ck_assert_int_eq(uva_block_on(loop, uva_ready_u64(loop, (uint64_t)i), &v), 0);
    ck_assert_uint_eq(v.u64, (uint64_t)i);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(no_uv_run_outside_block_on) {
  LOOP_INIT(loop);
  uv_timer_t t;
  uva_chan_t *ch;
  int x = 1;
  ticks = 0;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, tick, 0, 0);
  /* none of these may run the loop (the timer would tick) */
  uva_future_t *fs[] = {uva_spawn(loop, use_everything, loop),
                        uva_sleep(loop, 0), uva_future_new(loop),
                        uva_ready_u64(loop, 1)};
  ck_assert_int_eq(uva_chan_new(loop, sizeof x, 1, &ch), 0);
  uva_future_free(uva_chan_send(ch, &x));
  ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, 1), sleep_done, &x), 0);
  ck_assert_int_eq(ticks, 0);
  ck_assert_int_eq(uva_future_resolve_u64(fs[2], 1), 0);
  for (unsigned i = 0; i < 4; i++)
    uva_future_free(fs[i]);
  uva_chan_free(ch);
  uv_close((uv_handle_t *)&t, NULL);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- several loops in several threads ---------------------------------- */

typedef struct {
  int id;
  int result;
  uint64_t sum;
} thread_job_t;

static int ping(void *arg, uva_result_t *r) {
  uva_chan_t **chs = arg;
  uint64_t v;
  for (uint64_t i = 0; i < 2000; i++) {
    if (uva_await(uva_chan_send(chs[0], &i), NULL) != 0)
      return UV_EIO;
    if (uva_await(uva_chan_recv(chs[1], &v), NULL) != 0 || v != i + 1)
      return UV_EIO;
    r->value.u64 += v;
  }
  return 0;
}

static int pong(void *arg, uva_result_t *r) {
  uva_chan_t **chs = arg;
  uint64_t v;
  (void)r;
  for (int i = 0; i < 2000; i++) {
    if (uva_await(uva_chan_recv(chs[0], &v), NULL) != 0)
      return UV_EIO;
    v++;
    if (uva_await(uva_chan_send(chs[1], &v), NULL) != 0)
      return UV_EIO;
    if (i % 100 == 0 && uva_yield() != 0)
      return UV_EIO;
  }
  return 0;
}

static void loop_thread(void *arg) {
  thread_job_t *job = arg;
  uv_loop_t loop;
  uva_chan_t *chs[2];
  uva_result_t res[2];
  uva_value_t v;
  job->result = -1;
  if (uv_loop_init(&loop) != 0)
    return;
  if (uva_chan_new(&loop, 8, 1, &chs[0]) != 0 || uva_chan_new(&loop, 8, 1, &chs[1]) != 0)
    return;
  uva_future_t *t[2] = {uva_spawn(&loop, ping, chs), uva_spawn(&loop, pong, chs)};
  int st = uva_block_on(&loop, uva_join(&loop, t, 2, res), &v);
  if (st == 0 && res[0].status == 0 && res[1].status == 0)
    job->sum = res[0].value.u64;
  st = st != 0 ? st : res[0].status != 0 ? res[0].status : res[1].status;
  st = st != 0 ? st : uva_block_on(&loop, uva_sleep(&loop, 5), NULL);
  uva_chan_free(chs[0]);
  uva_chan_free(chs[1]);
  job->result = st != 0 ? st : uv_loop_close(&loop);
}

START_TEST(loops_in_threads) {
  enum { N = 4 };
  uv_thread_t th[N];
  thread_job_t jobs[N];
  for (int i = 0; i < N; i++) {
    jobs[i] = (thread_job_t){i, 1, 0};
    ck_assert_int_eq(uv_thread_create(&th[i], loop_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(uv_thread_join(&th[i]), 0);
    ck_assert_int_eq(jobs[i].result, 0);
    ck_assert_uint_eq(jobs[i].sum, 2000 * 2001 / 2);
  }
}
END_TEST

/* ---- the program's own loops working together (issue 11) --------------- */

enum { WORKERS = 4, WORK_ROUNDS = 100 };

typedef struct {
  uv_loop_t loop;
  uv_timer_t timer;     /* the program's own work on its loop */
  int ticks;
  int status;           /* the uva task's, from a then callback */
  uint64_t sum;
  int handles_after, close_rc;
  void *data_after;
} worker_t;

static worker_t workers[WORKERS];
static uv_barrier_t workers_serving;
static atomic_int workers_done;

static void worker_tick(uv_timer_t *t) {
  worker_t *w = t->data;
  if (++w->ticks == 5)
    uv_close((uv_handle_t *)t, NULL);
}

static int plus_one(void *arg, uva_result_t *r) {
  r->value.u64 = (uintptr_t)arg + 1;
  return 0;
}

/* A task of one program loop: spawns onto the three others, round after
 * round, then stops serving once every loop is done placing work. */
static int worker_body(void *arg, uva_result_t *r) {
  worker_t *w = arg;
  uva_future_t *fs[WORKERS];
  uva_result_t rs[WORKERS];
  int round, i, k, err;
  for (round = 0; round < WORK_ROUNDS; round++) {
    for (i = 0, k = 0; i < WORKERS; i++)
      if (&workers[i] != w)
        fs[k++] = uva_spawn_on(&w->loop, &workers[i].loop, plus_one,
                               (void *)(uintptr_t)round);
    if ((err = uva_await(uva_join(&w->loop, fs, (size_t)k, rs), NULL)) != 0)
      return err;
    for (i = 0; i < k; i++) {
      if (rs[i].status != 0)
        return rs[i].status;
      r->value.u64 += rs[i].value.u64;
    }
  }
  atomic_fetch_add(&workers_done, 1);
  while (atomic_load(&workers_done) < WORKERS)
    if ((err = uva_await(uva_sleep(&w->loop, 1), NULL)) != 0)
      return err;
  return uva_loop_serve_stop(&w->loop);
}

static void worker_done(int status, uva_value_t v, void *data) {
  worker_t *w = data;
  w->status = status;
  w->sum = v.u64;
}

static void worker_thread(void *arg) {
  worker_t *w = arg;
  w->status = 1;
  ck_assert_int_eq(uv_loop_init(&w->loop), 0);
  w->loop.data = &sentinel;
  uv_timer_init(&w->loop, &w->timer);
  w->timer.data = w;
  uv_timer_start(&w->timer, worker_tick, 1, 1);
  ck_assert_int_eq(uva_loop_serve(&w->loop), 0);
  uv_barrier_wait(&workers_serving); /* nobody places work before */
  ck_assert_int_eq(uva_future_then(uva_spawn(&w->loop, worker_body, w),
                                   worker_done, w),
                   0);
  /* The program runs its loop as it always did: uv_run returns once its
   * timer is closed and uva has nothing left (serving stopped). */
  ck_assert_int_eq(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
  w->handles_after = handles_on(&w->loop);
  w->data_after = w->loop.data;
  w->close_rc = uv_loop_close(&w->loop);
}

START_TEST(program_loops_work_together) {
  uv_thread_t th[WORKERS];
  int i;
  uint64_t each = 3 * (uint64_t)WORK_ROUNDS * (WORK_ROUNDS + 1) / 2;

  atomic_store(&workers_done, 0);
  ck_assert_int_eq(uv_barrier_init(&workers_serving, WORKERS), 0);
  for (i = 0; i < WORKERS; i++)
    ck_assert_int_eq(uv_thread_create(&th[i], worker_thread, &workers[i]), 0);
  for (i = 0; i < WORKERS; i++)
    ck_assert_int_eq(uv_thread_join(&th[i]), 0);
  uv_barrier_destroy(&workers_serving);
  for (i = 0; i < WORKERS; i++) {
    ck_assert_int_eq(workers[i].status, 0);
    ck_assert_uint_eq(workers[i].sum, each);
    ck_assert_int_eq(workers[i].ticks, 5);
    ck_assert_int_eq(workers[i].handles_after, 0);
    ck_assert_ptr_eq(workers[i].data_after, &sentinel);
    ck_assert_int_eq(workers[i].close_rc, 0);
  }
}
END_TEST

/* ---- a host program's own TCP server beside uva's listener -------------- */

typedef struct {
  uv_tcp_t srv;            /* the program's listener */
  uv_tcp_t conn;           /* the program's one connection */
  char buf[16];
  int served;              /* bytes the program echoed */
  uva_stream_t *listener;  /* uva's */
  int ports[2];            /* program's, uva's */
  int uva_served, client_done;
} host_t;

static void host_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  host_t *host = h->data;
  (void)n;
  *b = uv_buf_init(host->buf, sizeof host->buf);
}

static void host_written(uv_write_t *req, int status) {
  ck_assert_int_eq(status, 0);
  free(req);
}

static void host_read(uv_stream_t *h, ssize_t n, const uv_buf_t *b) {
  host_t *host = h->data;
  if (n > 0) {
    uv_write_t *req = malloc(sizeof *req);
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    host->served += (int)n;
    ck_assert_int_eq(uv_write(req, h, &out, 1, host_written), 0);
  } else if (n < 0) {
    uv_close((uv_handle_t *)h, NULL);
    uv_close((uv_handle_t *)&host->srv, NULL); /* the program is done */
  }
}

static void host_conn(uv_stream_t *srv, int status) {
  host_t *host = srv->data;
  ck_assert_int_eq(status, 0);
  uv_tcp_init(srv->loop, &host->conn);
  host->conn.data = host;
  ck_assert_int_eq(uv_accept(srv, (uv_stream_t *)&host->conn), 0);
  ck_assert_int_eq(uv_read_start((uv_stream_t *)&host->conn, host_alloc,
                                 host_read),
                   0);
}

static int uva_server(void *arg, uva_result_t *r) {
  host_t *host = arg;
  uva_value_t v;
  uva_stream_t *s;
  char buf[8];
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(host->listener), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, 3), &v), 0);
  host->uva_served = (int)v.u64;
  uva_stream_free(s);
  return 0;
}

static int echo_once(uv_loop_t *loop, int port, const char *msg) {
  struct sockaddr_in a;
  uva_value_t v;
  uva_stream_t *s;
  char buf[8] = {0};
  uv_ip4_addr("127.0.0.1", port, &a);
  ck_assert_int_eq(uva_await(uva_tcp_connect(loop, (struct sockaddr *)&a),
                             &v),
                   0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_write(s, msg, strlen(msg)), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, strlen(msg)), NULL),
                   0);
  ck_assert_str_eq(buf, msg);
  uva_stream_free(s);
  return 0;
}

static uv_loop_t *host_loop;

static int host_client(void *arg, uva_result_t *r) {
  host_t *host = arg;
  (void)r;
  echo_once(host_loop, host->ports[0], "host"); /* the program's server */
  host->client_done = 1;
  return 0;
}

START_TEST(host_server_beside_uva_listener) {
  LOOP_INIT(loop);
  host_t host;
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  memset(&host, 0, sizeof host);
  host_loop = loop;
  uv_ip4_addr("127.0.0.1", 0, &a);
  /* the program's own server, plain libuv callbacks */
  uv_tcp_init(loop, &host.srv);
  host.srv.data = &host;
  ck_assert_int_eq(uv_tcp_bind(&host.srv, (struct sockaddr *)&a, 0), 0);
  ck_assert_int_eq(uv_listen((uv_stream_t *)&host.srv, 8, host_conn), 0);
  ck_assert_int_eq(uv_tcp_getsockname(&host.srv, (struct sockaddr *)&ss, &len),
                   0);
  host.ports[0] = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  /* uva's listener on the same loop */
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0,
                                  &host.listener),
                   0);
  ck_assert_int_eq(uva_stream_sockname(host.listener, &ss), 0);
  host.ports[1] = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  uva_future_detach(uva_spawn(loop, uva_server, &host));
  uva_future_detach(uva_spawn(loop, host_client, &host));
  {
    /* a client of uva's server: a raw socket the program made */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in b;
    uv_ip4_addr("127.0.0.1", host.ports[1], &b);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&b, sizeof b), 0);
    ck_assert_int_eq(write(fd, "uva", 3), 3);
    /* the program's uv_run returns once both servers are done; uva's
     * listener, still open, does not keep it alive */
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    close(fd);
  }
  ck_assert_int_eq(host.served, 4);
  ck_assert_int_eq(host.uva_served, 3);
  ck_assert_int_eq(host.client_done, 1);
  ck_assert_ptr_eq(host.srv.data, &host);
  ck_assert_ptr_eq(host.conn.data, &host);
  uva_stream_free(host.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- io objects: idle ones never keep uv_run alive ---------------------- */

/* A UDP socket, a signal listener, an fd watcher and a running child that
 * nobody waits for leave uv_run free to return; loop->data and the
 * program's handles' data stay untouched; once freed (and the loop has run
 * for libuv to close their handles) the loop closes with 0. */
START_TEST(io_objects_idle) {
  LOOP_INIT(loop);
  struct sockaddr_in a;
  struct sockaddr_storage sa;
  uva_udp_t *u;
  uva_signal_t *sig;
  uva_asyncfd_t *afd;
  uva_process_t *p;
  uva_process_opts_t o;
  char *args[] = {"sh", "-c", "sleep 0.2", NULL};
  int fds[2];
  uint32_t x = 1, got = 0;
  uint64_t t0;
  loop->data = &sentinel;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, &u), 0);
  ck_assert_int_eq(uva_udp_sockname(u, &sa), 0);
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, &sig), 0);
  ck_assert_int_eq(pipe(fds), 0);
  ck_assert_int_eq(uva_asyncfd_new(loop, fds[0], &afd), 0);
  memset(&o, 0, sizeof(o));
  o.file = "sh";
  o.args = args;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  t0 = uv_hrtime();
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* returns at once */
  ck_assert_uint_lt(uv_hrtime() - t0, 150000000ull); /* before the child */
  /* used, then idle again */
  ck_assert_int_eq(uva_block_on(loop, uva_udp_send(u, &x, 4, (struct sockaddr *)&sa), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(u, &got, 4, NULL), NULL), 0);
  ck_assert_uint_eq(got, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), NULL), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_ptr_eq(loop->data, &sentinel);
  uva_udp_free(u);
  uva_signal_free(sig);
  uva_asyncfd_free(afd);
  uva_process_free(p);
  close(fds[0]);
  close(fds[1]);
  ck_assert_ptr_eq(loop->data, &sentinel);
  LOOP_CLOSE(loop); /* one uv_run for libuv's close callbacks */
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("contract");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, no_handles_when_idle);
  tcase_add_test(tc, uv_run_returns_as_before);
  tcase_add_test(tc, loop_data_untouched);
  tcase_add_test(tc, loop_close_right_after_block_on);
  tcase_add_test(tc, block_on_twice_same_loop);
  tcase_add_test(tc, no_uv_run_outside_block_on);
  tcase_add_test(tc, loops_in_threads);
  tcase_add_test(tc, program_loops_work_together);
  tcase_add_test(tc, host_server_beside_uva_listener);
  tcase_add_test(tc, io_objects_idle);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
