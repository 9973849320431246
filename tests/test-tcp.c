/* TCP streams: listen (port 0), accept, connect (address, host name),
 * options and addresses, the errors libuv reports (refused, in use, reset,
 * broken pipe), half-close, a large write against a slow reader with
 * bounded memory, and 10,000 concurrent connections.  Loopback only. */
#include "test-util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

size_t uva__stream_buffered(const uva_stream_t *s);

static int small(void) { return getenv("UVA_TEST_SMALL") != NULL; }

/* A listener on 127.0.0.1, port 0; *port gets the port. */
static uva_stream_t *listen_local(uv_loop_t *loop, int *port) {
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  uva_stream_t *l;

  uv_ip4_addr("127.0.0.1", 0, &a);
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, &l), 0);
  ck_assert_int_eq(uva_stream_sockname(l, &ss), 0);
  ck_assert_int_eq(ss.ss_family, AF_INET);
  *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  ck_assert_int_gt(*port, 0);
  return l;
}

static uva_future_t *connect_local(uv_loop_t *loop, int port) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  return uva_tcp_connect(loop, (struct sockaddr *)&a);
}

typedef struct {
  uv_loop_t *loop;
  uva_stream_t *listener;
  int port;
  int n;
  size_t bytes;
  int err;
} ctx_t;

/* ---- echo --------------------------------------------------------------- */

static int echo_server(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  char buf[64];
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  s = v.ptr;
  for (;;) {
    int err = uva_await(uva_stream_read(s, buf, sizeof buf), &v);
    if (err == UV_EOF)
      break;
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(uva_await(uva_stream_write(s, buf, v.u64), &v), 0);
  }
  uva_stream_free(s);
  return 0;
}

static int echo_client(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  struct sockaddr_storage me, peer;
  char buf[16];
  int i;
  (void)r;
  ck_assert_int_eq(uva_await(connect_local(c->loop, c->port), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_tcp_nodelay(s, 1), 0);
  ck_assert_int_eq(uva_tcp_keepalive(s, 1, 60), 0);
  ck_assert_int_eq(uva_stream_peername(s, &peer), 0);
  ck_assert_int_eq(uva_stream_sockname(s, &me), 0);
  ck_assert_int_eq(ntohs(((struct sockaddr_in *)&peer)->sin_port), c->port);
  ck_assert_int_ne(ntohs(((struct sockaddr_in *)&me)->sin_port), 0);
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(uva_await(uva_stream_write(s, "hello", 5), &v), 0);
    ck_assert_uint_eq(v.u64, 5);
    ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, 5), &v), 0);
    ck_assert_uint_eq(v.u64, 5);
    ck_assert(memcmp(buf, "hello", 5) == 0);
  }
  ck_assert_int_eq(uva_await(uva_stream_close(s), NULL), 0);
  return 0;
}

START_TEST(echo) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  c.listener = listen_local(loop, &c.port);
  f[0] = uva_spawn(loop, echo_server, &c);
  f[1] = uva_spawn(loop, echo_client, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(refused) {
  LOOP_INIT(loop);
  int port;
  uva_stream_t *l = listen_local(loop, &port);
  uva_stream_free(l);
  ck_assert_int_eq(uva_block_on(loop, connect_local(loop, port), NULL),
                   UV_ECONNREFUSED);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(address_in_use) {
  LOOP_INIT(loop);
  int port;
  struct sockaddr_in a;
  uva_stream_t *l = listen_local(loop, &port), *l2 = (uva_stream_t *)&a;
  uv_ip4_addr("127.0.0.1", port, &a);
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, &l2),
                   UV_EADDRINUSE);
  ck_assert_ptr_null(l2);
  uva_stream_free(l);
  LOOP_CLOSE(loop);
}
END_TEST

static int host_client(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  char b;
  (void)r;
  ck_assert_int_eq(uva_await(uva_tcp_connect_host(c->loop, "localhost",
                                                  (uint16_t)c->port),
                             &v),
                   0);
  ck_assert_int_eq(uva_await(uva_stream_write(v.ptr, "x", 1), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read(v.ptr, &b, 1), NULL), 0);
  ck_assert_int_eq(b, 'x');
  uva_stream_free(v.ptr);
  /* every address refused: the last error */
  ck_assert_int_eq(uva_await(uva_tcp_connect_host(c->loop, "127.0.0.1", 1),
                             NULL),
                   UV_ECONNREFUSED);
  return 0;
}

START_TEST(connect_host) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  c.listener = listen_local(loop, &c.port);
  f[0] = uva_spawn(loop, echo_server, &c);
  f[1] = uva_spawn(loop, host_client, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* The peer sends some bytes and resets (SO_LINGER 0): the reader gets the
 * bytes, then UV_ECONNRESET. */
static int reset_reader(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  char buf[8];
  int err;
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, 4), NULL), 0);
  ck_assert(memcmp(buf, "abcd", 4) == 0);
  c->n = 1; /* the peer may reset now */
  err = uva_await(uva_stream_read(s, buf, sizeof buf), &v);
  ck_assert_int_eq(err, UV_ECONNRESET);
  /* sticky */
  ck_assert_int_eq(uva_await(uva_stream_read(s, buf, 1), NULL), UV_ECONNRESET);
  uva_stream_free(s);
  return 0;
}

START_TEST(reset_by_peer) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  struct sockaddr_in a;
  struct linger lg = {1, 0};
  uva_future_t *f;
  int fd;
  c.listener = listen_local(loop, &c.port);
  f = uva_spawn(loop, reset_reader, &c);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  uv_ip4_addr("127.0.0.1", c.port, &a);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(write(fd, "abcd", 4), 4);
  ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  /* the reader takes the bytes first, and waits for more */
  while (c.n == 0)
    ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  close(fd);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), 0);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

static int accept_and_close(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  ck_assert_int_eq(uva_await(uva_stream_close(v.ptr), NULL), 0);
  return 0;
}

static int write_to_gone_peer(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  static char block[65536];
  int i, err = 0;
  (void)r;
  ck_assert_int_eq(uva_await(connect_local(c->loop, c->port), &v), 0);
  ck_assert_int_eq(uva_await(uva_sleep(c->loop, 20), NULL), 0);
  for (i = 0; i < 1000 && err == 0; i++)
    err = uva_await(uva_stream_write(v.ptr, block, sizeof block), NULL);
  ck_assert_msg(err == UV_EPIPE || err == UV_ECONNRESET, "got %s",
                uv_err_name(err));
  uva_stream_free(v.ptr);
  return 0;
}

START_TEST(write_after_peer_closed) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  struct sigaction sa;
  c.listener = listen_local(loop, &c.port);
  /* making a stream set SIGPIPE to SIG_IGN (it had its default action) */
  ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
  ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_IGN);
  f[0] = uva_spawn(loop, accept_and_close, &c);
  f[1] = uva_spawn(loop, write_to_gone_peer, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- half-close ----------------------------------------------------------- */

static int half_server(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  char buf[16];
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, 4), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read(s, buf, sizeof buf), NULL),
                   UV_EOF);
  ck_assert_int_eq(uva_await(uva_stream_write(s, "pong", 4), NULL), 0);
  uva_stream_free(s);
  return 0;
}

static int half_client(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  char buf[16];
  (void)r;
  ck_assert_int_eq(uva_await(connect_local(c->loop, c->port), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_write(s, "ping", 4), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_shutdown(s), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, buf, 4), NULL), 0);
  ck_assert(memcmp(buf, "pong", 4) == 0);
  ck_assert_int_eq(uva_await(uva_stream_read(s, buf, 1), NULL), UV_EOF);
  /* writing after the shutdown fails */
  ck_assert_int_lt(uva_await(uva_stream_write(s, "x", 1), NULL), 0);
  uva_stream_free(s);
  return 0;
}

START_TEST(half_close) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  c.listener = listen_local(loop, &c.port);
  f[0] = uva_spawn(loop, half_server, &c);
  f[1] = uva_spawn(loop, half_client, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- a large write, a slow reader --------------------------------------- */

#define BIG_HIGH (128 * 1024)

static size_t big_len(void) {
  return small() ? (size_t)8 << 20 : (size_t)64 << 20;
}

static int big_writer(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  size_t i, n = big_len();
  unsigned char *data = malloc(n);
  (void)r;
  for (i = 0; i < n; i++)
    data[i] = (unsigned char)(i % 251);
  ck_assert_int_eq(uva_await(connect_local(c->loop, c->port), &v), 0);
  ck_assert_int_eq(uva_await(uva_stream_write(v.ptr, data, n), NULL), 0);
  free(data); /* the write copied it; it has all been written now */
  uva_stream_free(v.ptr);
  return 0;
}

static int slow_reader(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s;
  static unsigned char buf[4096];
  size_t total = 0, i, max_buffered = 0;
  int reads = 0, err;
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_stream_set_buffer(s, BIG_HIGH, BIG_HIGH / 4), 0);
  while ((err = uva_await(uva_stream_read(s, buf, sizeof buf), &v)) == 0) {
    for (i = 0; i < v.u64; i++)
      if (buf[i] != (total + i) % 251) /* (a check per byte is slow) */
        ck_abort_msg("byte %zu is %u", total + i, buf[i]);
    total += v.u64;
    if (uva__stream_buffered(s) > max_buffered)
      max_buffered = uva__stream_buffered(s);
    if (++reads % 256 == 0)
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, 1), NULL), 0);
  }
  ck_assert_int_eq(err, UV_EOF);
  ck_assert_uint_eq(total, big_len());
  /* bounded: the high-water mark plus one read of libuv's */
  ck_assert_uint_le(max_buffered, BIG_HIGH + 65536);
  c->bytes = max_buffered;
  uva_stream_free(s);
  return 0;
}

START_TEST(big_write_slow_reader) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  c.listener = listen_local(loop, &c.port);
  f[0] = uva_spawn(loop, slow_reader, &c);
  f[1] = uva_spawn(loop, big_writer, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  printf("big_write_slow_reader: at most %zu bytes buffered\n", c.bytes);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- many connections ------------------------------------------------------ */

static int many_server(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_stream_t **ss = calloc((size_t)c->n, sizeof(*ss));
  uva_future_t **fs = calloc((size_t)c->n, sizeof(*fs));
  uva_result_t *res = calloc((size_t)c->n, sizeof(*res));
  char *bytes = calloc((size_t)c->n, 1);
  uva_value_t v;
  int i;
  (void)r;
  for (i = 0; i < c->n; i++) {
    ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
    ss[i] = v.ptr;
  }
  for (i = 0; i < c->n; i++)
    fs[i] = uva_stream_read_exact(ss[i], &bytes[i], 1);
  ck_assert_int_eq(uva_await(uva_join(c->loop, fs, (size_t)c->n, res), NULL),
                   0);
  for (i = 0; i < c->n; i++) {
    ck_assert_int_eq(res[i].status, 0);
    fs[i] = uva_stream_write(ss[i], &bytes[i], 1);
  }
  ck_assert_int_eq(uva_await(uva_join(c->loop, fs, (size_t)c->n, res), NULL),
                   0);
  for (i = 0; i < c->n; i++) {
    ck_assert_int_eq(res[i].status, 0);
    uva_stream_free(ss[i]);
  }
  free(ss);
  free(fs);
  free(res);
  free(bytes);
  return 0;
}

/* Runs in the child process: reports on stderr and returns an error instead
 * of asserting (a Check failure there would not reach the parent). */
#define CHILD_CHECK(cond, ...)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "many_connections (client process): " __VA_ARGS__);      \
      fprintf(stderr, "\n");                                                   \
      return UV_EIO;                                                           \
    }                                                                          \
  } while (0)

static int many_clients(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_stream_t **ss = calloc((size_t)c->n, sizeof(*ss));
  uva_future_t **fs = calloc((size_t)c->n, sizeof(*fs));
  uva_result_t *res = calloc((size_t)c->n, sizeof(*res));
  char *back = calloc((size_t)c->n, 1);
  int i, err;
  (void)r;
  for (i = 0; i < c->n; i++)
    fs[i] = connect_local(c->loop, c->port);
  err = uva_await(uva_join(c->loop, fs, (size_t)c->n, res), NULL);
  CHILD_CHECK(err == 0, "join: %s", uv_err_name(err));
  for (i = 0; i < c->n; i++) {
    CHILD_CHECK(res[i].status == 0, "connect %d: %s", i,
                uv_err_name(res[i].status));
    ss[i] = res[i].value.ptr;
    res[i].free_fn = NULL;
  }
  /* every connection is open at once here */
  for (i = 0; i < c->n; i++)
    fs[i] = uva_stream_write(ss[i], "k", 1);
  err = uva_await(uva_join(c->loop, fs, (size_t)c->n, res), NULL);
  CHILD_CHECK(err == 0, "join: %s", uv_err_name(err));
  for (i = 0; i < c->n; i++)
    CHILD_CHECK(res[i].status == 0, "write %d: %s", i,
                uv_err_name(res[i].status));
  for (i = 0; i < c->n; i++)
    fs[i] = uva_stream_read_exact(ss[i], &back[i], 1);
  err = uva_await(uva_join(c->loop, fs, (size_t)c->n, res), NULL);
  CHILD_CHECK(err == 0, "join: %s", uv_err_name(err));
  for (i = 0; i < c->n; i++) {
    CHILD_CHECK(res[i].status == 0, "read %d: %s", i,
                uv_err_name(res[i].status));
    CHILD_CHECK(back[i] == 'k', "read %d: byte %d", i, back[i]);
    uva_stream_free(ss[i]);
  }
  free(ss);
  free(fs);
  free(res);
  free(back);
  return 0;
}

/* In the parent: fails the test if the client process ends before the
 * server is done (it would otherwise wait for connections forever). */
typedef struct {
  uv_loop_t *loop;
  pid_t pid;
  int status;
} watch_t;

static int watch_child(void *arg, uva_result_t *r) {
  watch_t *w = arg;
  (void)r;
  for (;;) {
    pid_t p = waitpid(w->pid, &w->status, WNOHANG);
    if (p == w->pid)
      return 0;
    ck_assert_int_eq(p, 0);
    if (uva_await(uva_sleep(w->loop, 20), NULL) != 0)
      return 0; /* the server is done: cancelled */
  }
}

/* The clients run in a child process with a loop of its own, so that each
 * process needs one descriptor per connection (plus slack). */
static int client_process(int port, int n) {
  uv_loop_t loop;
  ctx_t c = {&loop, NULL, port, n, 0, 0};
  int err;
  if (uv_loop_init(&loop) != 0)
    return 2;
  err = uva_block_on(&loop, uva_spawn(&loop, many_clients, &c), NULL);
  if (uv_run(&loop, UV_RUN_DEFAULT) != 0 || uv_loop_close(&loop) != 0)
    return 3;
  return err == 0 ? 0 : 1;
}

START_TEST(many_connections) {
  ctx_t c = {NULL, NULL, 0, 0, 0, 0};
  struct rlimit rl;
  rlim_t need;
  pid_t pid;
  int status;
  c.n = small() ? 200 : 10000;
  /* small (valgrind): one process; else the clients in a child */
  need = (rlim_t)c.n * (small() ? 2 : 1) + 64;
  ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < need) {
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
      printf("many_connections: skipped, RLIMIT_NOFILE hard limit %lu < "
             "%lu\n",
             (unsigned long)rl.rlim_max, (unsigned long)need);
      return;
    }
    rl.rlim_cur = need;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  }
  {
    LOOP_INIT(loop);
    c.loop = loop;
    c.listener = listen_local(loop, &c.port);
    if (small()) {
      /* a forked child under valgrind reports the parent's thread-local
       * memory as lost: clients and server share the loop here */
      uva_future_t *f[2];
      uva_result_t res[2];
      f[0] = uva_spawn(loop, many_server, &c);
      f[1] = uva_spawn(loop, many_clients, &c);
      ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL),
                       0);
      ck_assert_int_eq(res[0].status, 0);
      ck_assert_int_eq(res[1].status, 0);
      printf("many_connections: %d connections open at once\n", c.n);
      uva_stream_free(c.listener);
      LOOP_CLOSE(loop);
      return;
    }
    fflush(stdout);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
      _exit(client_process(c.port, c.n));
    {
      watch_t w = {loop, pid, 0};
      uva_future_t *f[2];
      uva_result_t win;
      uva_value_t v;
      f[0] = uva_spawn(loop, many_server, &c);
      f[1] = uva_spawn(loop, watch_child, &w);
      ck_assert_int_eq(uva_block_on(loop, uva_select(loop, f, 2, &win), &v),
                       0);
      ck_assert_int_eq(win.status, 0);
      if (v.u64 == 1) {
        status = w.status;
        ck_assert_msg(0, "the client process ended first (status %d)",
                      status);
      }
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    printf("many_connections: %d connections open at once\n", c.n);
    uva_stream_free(c.listener);
    LOOP_CLOSE(loop);
  }
}
END_TEST

/* ---- accepts cancelled: no connection lost -------------------------------- */

#define NACCEPT 60

static int accept_client(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uint32_t id;
  (void)r;
  for (id = 0; id < NACCEPT; id++) {
    ck_assert_int_eq(uva_await(connect_local(c->loop, c->port), &v), 0);
    ck_assert_int_eq(uva_await(uva_stream_write(v.ptr, &id, sizeof id), NULL),
                     0);
    uva_stream_free(v.ptr);
    if (id % 3 == 0)
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, id % 2), NULL), 0);
  }
  return 0;
}

static void take_conn(ctx_t *c, uva_stream_t *s, char *seen) {
  uint32_t id;
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, &id, sizeof id), NULL),
                   0);
  ck_assert_uint_lt(id, NACCEPT);
  ck_assert_int_eq(seen[id], 0);
  seen[id] = 1;
  c->n++;
  uva_stream_free(s);
}

static int accept_server(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  char seen[NACCEPT] = {0};
  unsigned round = 0;
  uva_value_t v;
  (void)r;
  /* nobody connects yet: the accept times out */
  ck_assert_int_eq(uva_await(uva_timeout(uva_stream_accept(c->listener), 5),
                             NULL),
                   UV_ETIMEDOUT);
  c->err = 1; /* the client may start */
  while (c->n < NACCEPT) {
    uva_future_t *f[2];
    uva_result_t res[2];
    round++;
    f[0] = uva_stream_accept(c->listener);
    f[1] = uva_sleep(c->loop, round % 3 == 0 ? 10000 : round % 2);
    if (round % 3 == 0) {
      /* a join cancelled once its accept may have completed: the
       * connection goes back to the listener */
      then_rec rec;
      uva_future_t *j = uva_join(c->loop, f, 2, res);
      memset(&rec, 0, sizeof rec);
      ck_assert_int_eq(uva_future_then(j, record, &rec), 0);
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, 1), NULL), 0);
      uva_future_cancel(j);
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, 0), NULL), 0);
      c->bytes++;
      continue;
    }
    ck_assert_int_eq(uva_await(uva_select(c->loop, f, 2, res), &v), 0);
    if (v.u64 == 1) {
      c->bytes++;
      continue;
    }
    ck_assert_int_eq(res[0].status, 0);
    take_conn(c, res[0].value.ptr, seen);
  }
  return 0;
}

static int accept_client_wait(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  while (!c->err)
    ck_assert_int_eq(uva_await(uva_sleep(c->loop, 1), NULL), 0);
  return accept_client(arg, r);
}

START_TEST(accepts_cancelled_lose_nothing) {
  LOOP_INIT(loop);
  ctx_t c = {loop, NULL, 0, 0, 0, 0};
  uva_future_t *f[2];
  uva_result_t res[2];
  c.listener = listen_local(loop, &c.port);
  f[0] = uva_spawn(loop, accept_server, &c);
  f[1] = uva_spawn(loop, accept_client_wait, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_int_eq(c.n, NACCEPT);
  printf("accepts_cancelled_lose_nothing: %d connections, %zu accepts "
         "cancelled or undone\n",
         c.n, c.bytes);
  uva_stream_free(c.listener);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- connects cancelled; a TCP descriptor opened as a stream ------------- */

START_TEST(connects_cancelled) {
  LOOP_INIT(loop);
  int port;
  uva_stream_t *l = listen_local(loop, &port);
  uva_future_t *f;
  then_rec rec;
  memset(&rec, 0, sizeof rec);
  /* freed at once: the half-made connection is closed */
  uva_future_free(connect_local(loop, port));
  uva_future_free(uva_tcp_connect_host(loop, "127.0.0.1", (uint16_t)port));
  /* cancelled while resolving or connecting: settles with UV_ECANCELED */
  f = uva_tcp_connect_host(loop, "localhost", (uint16_t)port);
  ck_assert_int_eq(uva_future_then(f, record, &rec), 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(rec.calls, 1);
  ck_assert_int_eq(rec.status, UV_ECANCELED);
  uva_stream_free(l);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(open_tcp_descriptor) {
  LOOP_INIT(loop);
  int port, fd;
  uva_stream_t *l = listen_local(loop, &port), *s, *peer;
  struct sockaddr_in a;
  uva_value_t v;
  char buf[4] = {0};
  fd = socket(AF_INET, SOCK_STREAM, 0);
  uv_ip4_addr("127.0.0.1", port, &a);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(uva_stream_open(loop, fd, &s), 0);
  ck_assert_int_eq(uva_tcp_nodelay(s, 1), 0); /* a TCP stream */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_accept(l), &v), 0);
  peer = v.ptr;
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(s, "fd!", 3), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(peer, buf, 3),
                                NULL),
                   0);
  ck_assert_str_eq(buf, "fd!");
  uva_stream_free(s); /* closes fd */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(peer, buf, 1), NULL),
                   UV_EOF);
  uva_stream_free(peer);
  uva_stream_free(l);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- the handles do not keep uv_run alive -------------------------------- */

START_TEST(idle_listener_does_not_keep_loop) {
  LOOP_INIT(loop);
  int port;
  uva_stream_t *l = listen_local(loop, &port);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* returns at once */
  uva_stream_free(l);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tcp");
  TCase *tc = tcase_create("tcp");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, echo);
  tcase_add_test(tc, refused);
  tcase_add_test(tc, address_in_use);
  tcase_add_test(tc, connect_host);
  tcase_add_test(tc, reset_by_peer);
  tcase_add_test(tc, write_after_peer_closed);
  tcase_add_test(tc, half_close);
  tcase_add_test(tc, big_write_slow_reader);
  tcase_add_test(tc, accepts_cancelled_lose_nothing);
  tcase_add_test(tc, connects_cancelled);
  tcase_add_test(tc, open_tcp_descriptor);
  tcase_add_test(tc, idle_listener_does_not_keep_loop);
  suite_add_tcase(s, tc);
  tc = tcase_create("many");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, many_connections);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
