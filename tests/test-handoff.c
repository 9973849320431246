/* Moving a connection to another loop: uva_stream_export on loop A, then
 * uva_stream_open on loop B in another thread, an echo through it with
 * every byte checked (also bytes that reached the kernel before the export
 * and bytes behind an active read-ahead); a pipe moved between loops; the
 * refusals (unread bytes, a waiting read, a write in libuv's hands, a
 * reset connection) that leave the stream usable; bad input.  Loopback
 * only. */
#define _GNU_SOURCE 1 /* posix_openpt */
#include "test-util.h"

#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listener on 127.0.0.1, port 0; *port gets the port. */
static uva_stream_t *listen_local(uv_loop_t *loop, int *port) {
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  uva_stream_t *l;

  uv_ip4_addr("127.0.0.1", 0, &a);
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, &l), 0);
  ck_assert_int_eq(uva_stream_sockname(l, &ss), 0);
  *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return l;
}

/* Connects a client to l and accepts its server side (from a task). */
static void pair(uv_loop_t *loop, uva_stream_t *l, int port,
                 uva_stream_t **client, uva_stream_t **server) {
  struct sockaddr_in a;
  uva_future_t *c;
  uva_value_t v;

  uv_ip4_addr("127.0.0.1", port, &a);
  c = uva_tcp_connect(loop, (struct sockaddr *)&a);
  ck_assert_int_eq(uva_await(uva_stream_accept(l), &v), 0);
  *server = v.ptr;
  ck_assert_int_eq(uva_await(c, &v), 0);
  *client = v.ptr;
}

static void pattern(char *p, size_t n, size_t from) {
  for (size_t i = 0; i < n; i++)
    p[i] = (char)('A' + (from + i) % 53);
}

/* ---- the other loop: a thread with a loop of its own --------------------- */

/* What loop B's thread did; checked by the test's thread after the join
 * (assertions stay on the test's thread). */
typedef struct {
  uv_file fd;
  int open_err;   /* uva_stream_open */
  int end_err;    /* the read that ended the echo: UV_EOF */
  size_t echoed;  /* bytes read and written back */
  char first[16]; /* the first bytes read, NUL-terminated */
  int shutdown_err, close_err;
} side_b_t;

typedef struct {
  side_b_t *b;
  uv_loop_t *loop;
} echo_arg_t;

static int echo_task(void *arg, uva_result_t *r) {
  echo_arg_t *ea = arg;
  side_b_t *b = ea->b;
  uva_stream_t *s;
  char buf[700];
  uva_value_t v;
  int err;

  (void)r;
  b->open_err = uva_stream_open(ea->loop, b->fd, &s);
  if (b->open_err != 0) {
    close(b->fd);
    return 0;
  }
  for (;;) {
    err = uva_await(uva_stream_read(s, buf, sizeof(buf)), &v);
    if (err != 0)
      break;
    if (b->echoed < sizeof(b->first) - 1) {
      size_t k = sizeof(b->first) - 1 - b->echoed;
      memcpy(b->first + b->echoed, buf, v.u64 < k ? v.u64 : k);
    }
    b->echoed += v.u64;
    err = uva_await(uva_stream_write(s, buf, v.u64), NULL);
    if (err != 0)
      break;
  }
  b->end_err = err;
  uva_stream_free(s);
  return 0;
}

static void side_b_thread(void *arg) {
  side_b_t *b = arg;
  uv_loop_t loop;
  echo_arg_t ea = {b, &loop};

  if (uv_loop_init(&loop) != 0) {
    b->open_err = UV_ENOMEM;
    close(b->fd);
    return;
  }
  uva_block_on(&loop, uva_spawn(&loop, echo_task, &ea), NULL);
  b->shutdown_err = uva_loop_shutdown(&loop, 1000, NULL);
  b->close_err = uv_loop_close(&loop);
}

/* ---- a TCP connection accepted on A, served on B ------------------------ */

#define TOTAL 30000

typedef struct {
  uv_loop_t *loop;
  side_b_t b;
  uv_thread_t tid;
  int head_on_a; /* A's read-ahead took "head" before the export */
} tcp_ctx_t;

static int handoff_main(void *arg, uva_result_t *r) {
  tcp_ctx_t *t = arg;
  uva_stream_t *l, *c, *s;
  char out[TOTAL], in[TOTAL], small[8];
  uva_value_t v;
  uv_file fd = 1234;
  int port;

  (void)r;
  l = listen_local(t->loop, &port);
  pair(t->loop, l, port, &c, &s);
  ck_assert_int_eq(uva_tcp_nodelay(c, 1), 0);
  /* "before" in one write; A reads 3 bytes of it: read-ahead is on and the
   * other 3 wait in uva's buffer: the export is refused, s stays usable. */
  ck_assert_int_eq(uva_await(uva_stream_write(c, "before", 6), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, small, 3), NULL), 0);
  ck_assert_int_eq(memcmp(small, "bef", 3), 0);
  ck_assert_int_eq(uva_stream_export(s, &fd), UV_EBUSY);
  ck_assert_int_eq(fd, -1);
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, small, 3), NULL), 0);
  ck_assert_int_eq(memcmp(small, "ore", 3), 0);
  /* Bytes written now go to the kernel, behind A's active read-ahead. */
  ck_assert_int_eq(uva_await(uva_stream_write(c, "head", 4), NULL), 0);
  ck_assert_int_eq(uva_await(uva_sleep(t->loop, 20), NULL), 0);
  if (uva_stream_export(s, &fd) == UV_EBUSY) {
    /* The read-ahead took "head" into uva's buffer: read it, try again. */
    ck_assert_int_eq(uva_await(uva_stream_read_exact(s, small, 4), NULL), 0);
    ck_assert_int_eq(memcmp(small, "head", 4), 0);
    ck_assert_int_eq(uva_stream_export(s, &fd), 0);
    t->head_on_a = 1;
  }
  ck_assert_int_ge(fd, 3);
  ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  t->b.fd = fd;
  ck_assert_int_eq(uv_thread_create(&t->tid, side_b_thread, &t->b), 0);
  /* An echo through loop B: bytes go out in pieces, every one comes back. */
  pattern(out, TOTAL, 0);
  for (size_t at = 0; at < TOTAL; at += 1000)
    ck_assert_int_eq(uva_await(uva_stream_write(c, out + at, 1000), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_shutdown(c), NULL), 0);
  if (!t->head_on_a) { /* "head" went to B: its echo comes first */
    ck_assert_int_eq(uva_await(uva_stream_read_exact(c, small, 4), NULL), 0);
    ck_assert_int_eq(memcmp(small, "head", 4), 0);
  }
  ck_assert_int_eq(uva_await(uva_stream_read_exact(c, in, TOTAL), &v), 0);
  ck_assert_int_eq(memcmp(in, out, TOTAL), 0);
  /* B saw the end and closed: so does the client. */
  ck_assert_int_eq(uva_await(uva_stream_read(c, small, 1), NULL), UV_EOF);
  uva_stream_free(c);
  uva_stream_free(l);
  return 0;
}

START_TEST(tcp_to_another_thread) {
  LOOP_INIT(loop);
  tcp_ctx_t t;
  char want[16];

  memset(&t, 0, sizeof(t));
  t.loop = loop;
  t.b.fd = -1;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, handoff_main, &t), NULL),
                   0);
  ck_assert_int_eq(uv_thread_join(&t.tid), 0);
  ck_assert_int_eq(t.b.open_err, 0);
  ck_assert_int_eq(t.b.end_err, UV_EOF);
  /* B read first what was in the kernel at the export */
  if (t.head_on_a) {
    pattern(want, 15, 0);
    ck_assert_uint_eq(t.b.echoed, TOTAL);
  } else {
    memcpy(want, "head", 4);
    pattern(want + 4, 11, 0);
    ck_assert_uint_eq(t.b.echoed, TOTAL + 4);
  }
  ck_assert_int_eq(memcmp(t.b.first, want, 15), 0);
  ck_assert_int_eq(t.b.shutdown_err, 0);
  ck_assert_int_eq(t.b.close_err, 0);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- a Unix socket moved from loop A to loop B, never read on A ---------- */

START_TEST(pipe_bytes_in_kernel) {
  uv_loop_t la, lb;
  uva_stream_t *a, *b;
  uv_file fd = 99;
  int sv[2];
  char buf[32];
  ssize_t n;

  ck_assert_int_eq(uv_loop_init(&la), 0);
  ck_assert_int_eq(uv_loop_init(&lb), 0);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ck_assert_int_eq(uva_stream_open(&la, sv[0], &a), 0);
  /* Bytes already in the kernel at the export stay there for B. */
  ck_assert_int_eq(write(sv[1], "early", 5), 5);
  ck_assert_int_eq(uva_stream_export(a, &fd), 0);
  ck_assert_int_ge(fd, 3);
  ck_assert_int_ne(fd, sv[0]);
  ck_assert_int_lt(fcntl(sv[0], F_GETFD), 0); /* A's descriptor is closed */
  ck_assert_int_eq(uva_stream_open(&lb, fd, &b), 0);
  ck_assert_int_eq(write(sv[1], "+late", 5), 5);
  ck_assert_int_eq(uva_block_on(&lb, uva_stream_read_exact(b, buf, 10), NULL),
                   0);
  ck_assert_int_eq(memcmp(buf, "early+late", 10), 0);
  ck_assert_int_eq(
      uva_block_on(&lb, uva_stream_write(b, "back", 4), NULL), 0);
  n = read(sv[1], buf, sizeof(buf));
  ck_assert_int_eq(n, 4);
  ck_assert_int_eq(memcmp(buf, "back", 4), 0);
  uva_stream_free(b);
  close(sv[1]);
  LOOP_CLOSE(&la);
  LOOP_CLOSE(&lb);
}
END_TEST

/* ---- refusals that leave the stream usable -------------------------------- */

typedef struct {
  uva_stream_t *s;
  char buf[8];
  uint64_t got;
} reader_t;

static int reader(void *arg, uva_result_t *r) {
  reader_t *rd = arg;
  uva_value_t v;
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_read(rd->s, rd->buf, 8), &v), 0);
  rd->got = v.u64;
  return 0;
}

static int busy_main(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_stream_t *l, *c, *s;
  uva_future_t *j, *w;
  reader_t rd;
  uv_file fd = 7;
  uva_value_t v;
  char *big;
  size_t bigsz = 32u << 20;
  int port;

  (void)r;
  l = listen_local(loop, &port);
  pair(loop, l, port, &c, &s);
  /* A read waits on s: refused. */
  memset(&rd, 0, sizeof(rd));
  rd.s = s;
  j = uva_spawn(loop, reader, &rd);
  ck_assert_int_eq(uva_yield(), 0); /* the reader starts and waits */
  ck_assert_int_eq(uva_stream_export(s, &fd), UV_EBUSY);
  ck_assert_int_eq(fd, -1);
  ck_assert_int_eq(uva_await(uva_stream_write(c, "x", 1), NULL), 0);
  ck_assert_int_eq(uva_await(j, NULL), 0);
  ck_assert_uint_eq(rd.got, 1);
  ck_assert_int_eq(rd.buf[0], 'x');
  /* A write libuv has not finished (the peer reads nothing): refused. */
  big = malloc(bigsz);
  memset(big, 'b', bigsz);
  w = uva_stream_write(s, big, bigsz);
  free(big); /* copied */
  uva_future_detach(w); /* starts it */
  ck_assert_int_eq(uva_stream_export(s, &fd), UV_EBUSY);
  ck_assert_int_eq(fd, -1);
  /* A listener: refused. */
  ck_assert_int_eq(uva_stream_export(l, &fd), UV_EINVAL);
  ck_assert_int_eq(fd, -1);
  /* s still works: it reads what comes. */
  ck_assert_int_eq(uva_await(uva_stream_write(c, "yz", 2), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s, rd.buf, 2), &v), 0);
  ck_assert_int_eq(memcmp(rd.buf, "yz", 2), 0);
  uva_stream_free(s); /* the big write settles with UV_ECANCELED */
  uva_stream_free(c);
  uva_stream_free(l);
  return 0;
}

START_TEST(refused_while_busy) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, busy_main, loop), NULL),
                   0);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- a connection that was reset ----------------------------------------- */

static int reset_main(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  struct sockaddr_in a;
  struct linger lg = {1, 0};
  uva_stream_t *l, *s;
  uva_value_t v;
  uv_file fd = 7;
  char buf[8];
  int port, cfd;

  (void)r;
  l = listen_local(loop, &port);
  cfd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(cfd, 0);
  uv_ip4_addr("127.0.0.1", port, &a);
  ck_assert_int_eq(connect(cfd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(uva_await(uva_stream_accept(l), &v), 0);
  s = v.ptr;
  /* The peer resets: the read reports it, and so does the export. */
  ck_assert_int_eq(setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(cfd);
  ck_assert_int_eq(uva_await(uva_stream_read(s, buf, sizeof(buf)), NULL),
                   UV_ECONNRESET);
  ck_assert_int_eq(uva_stream_export(s, &fd), UV_ECONNRESET);
  ck_assert_int_eq(fd, -1);
  /* s is untouched: the error stays for every later read */
  ck_assert_int_eq(uva_await(uva_stream_read(s, buf, sizeof(buf)), NULL),
                   UV_ECONNRESET);
  uva_stream_free(s);
  uva_stream_free(l);
  return 0;
}

START_TEST(refused_after_reset) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, reset_main, loop), NULL),
                   0);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- bad input ------------------------------------------------------------ */

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uv_tcp_t own;
  uva_stream_t *s;
  uv_file fd = 5;
  int sv[2], pt;

  ck_assert_int_eq(uva_stream_export(NULL, &fd), UV_EINVAL);
  ck_assert_int_eq(fd, -1);
  /* fd NULL */
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ck_assert_int_eq(uva_stream_open(loop, sv[0], &s), 0);
  ck_assert_int_eq(uva_stream_export(s, NULL), UV_EINVAL);
  uva_stream_free(s); /* untouched: still open until freed */
  close(sv[1]);
  /* an adopted handle stays the program's */
  ck_assert_int_eq(uv_tcp_init(loop, &own), 0);
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)&own, &s), 0);
  fd = 5;
  ck_assert_int_eq(uva_stream_export(s, &fd), UV_EINVAL);
  ck_assert_int_eq(fd, -1);
  uva_stream_free(s);
  uv_close((uv_handle_t *)&own, NULL);
  /* a TTY (a pseudo-terminal's master side) */
  pt = posix_openpt(O_RDWR | O_NOCTTY);
  if (pt >= 0 && uv_guess_handle(pt) == UV_TTY) {
    ck_assert_int_eq(uva_stream_open(loop, pt, &s), 0);
    fd = 5;
    ck_assert_int_eq(uva_stream_export(s, &fd), UV_EINVAL);
    ck_assert_int_eq(fd, -1);
    uva_stream_free(s);
  } else if (pt >= 0) {
    close(pt);
  }
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("handoff");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tcp_to_another_thread);
  tcase_add_test(tc, pipe_bytes_in_kernel);
  tcase_add_test(tc, refused_while_busy);
  tcase_add_test(tc, refused_after_reset);
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
