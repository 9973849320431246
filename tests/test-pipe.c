/* Pipes and Unix sockets: listen, connect and accept by path (in the test
 * directory UVA_TEST_TMPDIR), the path errors, uva_stream_open on a pipe,
 * a socketpair and a pseudo-terminal, and the child-process hook
 * uva__stream_new_pipe with uv_spawn. */
#include "test-util.h"

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct uva__loop_s;
struct uva__loop_s *uva__loop_get(uv_loop_t *loop);
uva_stream_t *uva__stream_new_pipe(struct uva__loop_s *L, uv_pipe_t **pipe);

static void sock_path(char *buf, size_t n, const char *name) {
  const char *d = getenv("UVA_TEST_TMPDIR");
  snprintf(buf, n, "%s/pipe-%ld-%s", d != NULL ? d : ".", (long)getpid(),
           name);
  unlink(buf);
}

typedef struct {
  uv_loop_t *loop;
  uva_stream_t *listener;
  const char *path;
} ctx_t;

static int server(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_buf_t *line;
  uva_stream_t *s;
  (void)r;
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  s = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_read_until(s, '\n', 64), &v), 0);
  uva_stream_free(s);
  line = v.ptr;
  ck_assert_str_eq(line->base, "ping\n");
  uva_buf_free(line);
  ck_assert_int_eq(uva_await(uva_stream_accept(c->listener), &v), 0);
  ck_assert_int_eq(uva_await(uva_stream_write(v.ptr, "pong\n", 5), NULL), 0);
  uva_stream_free(v.ptr);
  return 0;
}

static int client(void *arg, uva_result_t *r) {
  ctx_t *c = arg;
  uva_value_t v;
  uva_stream_t *s1, *s2;
  struct sockaddr_storage ss;
  char buf[8] = {0};
  (void)r;
  ck_assert_int_eq(uva_await(uva_pipe_connect(c->loop, c->path), &v), 0);
  s1 = v.ptr;
  ck_assert_int_eq(uva_stream_peername(s1, &ss), 0);
  ck_assert_int_eq(ss.ss_family, AF_UNIX);
  ck_assert_str_eq(((struct sockaddr_un *)&ss)->sun_path, c->path);
  ck_assert_int_eq(uva_await(uva_stream_write(s1, "ping\n", 5), NULL), 0);
  ck_assert_int_eq(uva_await(uva_pipe_connect(c->loop, c->path), &v), 0);
  s2 = v.ptr;
  ck_assert_int_eq(uva_await(uva_stream_read_exact(s2, buf, 5), NULL), 0);
  ck_assert_str_eq(buf, "pong\n");
  ck_assert_int_eq(uva_await(uva_stream_read(s2, buf, 1), NULL), UV_EOF);
  uva_stream_free(s1);
  uva_stream_free(s2);
  return 0;
}

START_TEST(listen_connect_accept) {
  LOOP_INIT(loop);
  char path[256];
  ctx_t c;
  uva_future_t *f[2];
  uva_result_t res[2];
  uva_stream_t *l2;
  struct sockaddr_storage ss;
  sock_path(path, sizeof path, "a.sock");
  c.loop = loop;
  c.path = path;
  ck_assert_int_eq(uva_pipe_listen(loop, path, 0, &c.listener), 0);
  ck_assert_int_eq(uva_stream_sockname(c.listener, &ss), 0);
  ck_assert_str_eq(((struct sockaddr_un *)&ss)->sun_path, path);
  /* the path is taken */
  ck_assert_int_eq(uva_pipe_listen(loop, path, 0, &l2), UV_EADDRINUSE);
  ck_assert_ptr_null(l2);
  f[0] = uva_spawn(loop, server, &c);
  f[1] = uva_spawn(loop, client, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  uva_stream_free(c.listener);
  unlink(path);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(path_errors) {
  LOOP_INIT(loop);
  char path[256], longpath[200];
  uva_stream_t *l;
  sock_path(path, sizeof path, "missing.sock");
  ck_assert_int_eq(uva_block_on(loop, uva_pipe_connect(loop, path), NULL),
                   UV_ENOENT);
  memset(longpath, 'x', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  ck_assert_int_eq(uva_pipe_listen(loop, longpath, 0, &l), UV_ENAMETOOLONG);
  ck_assert_int_eq(uva_block_on(loop, uva_pipe_connect(loop, longpath), NULL),
                   UV_ENAMETOOLONG);
  sock_path(path, sizeof path, "missing-dir/x.sock");
  /* libuv reports a missing directory as UV_EACCES (as on Windows) */
  ck_assert_int_eq(uva_pipe_listen(loop, path, 0, &l), UV_EACCES);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- uva_stream_open ------------------------------------------------------ */

START_TEST(open_pipe_and_socketpair) {
  LOOP_INIT(loop);
  int p[2], sp[2];
  uva_stream_t *r, *w, *a;
  char buf[8] = {0};
  uva_value_t v;
  ck_assert_int_eq(pipe(p), 0);
  ck_assert_int_eq(uva_stream_open(loop, p[0], &r), 0);
  ck_assert_int_eq(uva_stream_open(loop, p[1], &w), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(w, "abc", 3), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(r, buf, 8), &v), 0);
  ck_assert_uint_eq(v.u64, 3);
  ck_assert_str_eq(buf, "abc");
  uva_stream_free(w); /* closes p[1]: the reader sees the end */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(r, buf, 8), NULL),
                   UV_EOF);
  uva_stream_free(r);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  ck_assert_int_eq(uva_stream_open(loop, sp[0], &a), 0);
  ck_assert_int_eq(write(sp[1], "xy", 2), 2);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(a, buf, 2), NULL),
                   0);
  ck_assert(memcmp(buf, "xy", 2) == 0);
  uva_stream_free(a);
  close(sp[1]);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(open_tty) {
  LOOP_INIT(loop);
  int master, slave;
  uva_stream_t *t;
  char buf[16] = {0};
  ssize_t n;
  size_t got = 0;
  if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
    printf("open_tty: skipped, no pseudo-terminal\n");
    LOOP_CLOSE(loop);
    return;
  }
  ck_assert_int_eq(uva_stream_open(loop, slave, &t), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(t, "tty", 3), NULL),
                   0);
  while (got < 3 && (n = read(master, buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)n;
  ck_assert(memcmp(buf, "tty", 3) == 0);
  uva_stream_free(t);
  LOOP_CLOSE(loop);
  close(master);
}
END_TEST

START_TEST(open_bad_descriptors) {
  LOOP_INIT(loop);
  uva_stream_t *s = (uva_stream_t *)&s;
  char path[256];
  int fd;
  ck_assert_int_eq(uva_stream_open(loop, -1, &s), UV_EBADF);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(uva_stream_open(loop, 1000, &s), UV_EBADF);
  sock_path(path, sizeof path, "file");
  fd = open(path, O_CREAT | O_RDWR, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(uva_stream_open(loop, fd, &s), UV_EINVAL); /* a file */
  close(fd);
  unlink(path);
  ck_assert_int_eq(uva_stream_open(NULL, 0, &s), UV_EINVAL);
  ck_assert_int_eq(uva_stream_open(loop, 0, NULL), UV_EINVAL);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- the child-process hook ----------------------------------------------- */

static int64_t exit_status = -1;
static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  (void)sig;
  exit_status = status;
  uv_close((uv_handle_t *)p, NULL);
}

START_TEST(new_pipe_for_spawn) {
  LOOP_INIT(loop);
  uv_pipe_t *in, *out;
  uva_stream_t *sin = uva__stream_new_pipe(uva__loop_get(loop), &in);
  uva_stream_t *sout = uva__stream_new_pipe(uva__loop_get(loop), &out);
  uv_process_t proc;
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  char *args[] = {"/bin/sh", "-c", "read x; echo \"got $x\"", NULL};
  uva_value_t v;
  uva_buf_t *line;
  ck_assert_ptr_nonnull(sin);
  ck_assert_ptr_nonnull(sout);
  memset(&o, 0, sizeof o);
  stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
  stdio[0].data.stream = (uv_stream_t *)in;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)out;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  o.file = args[0];
  o.args = args;
  o.stdio = stdio;
  o.stdio_count = 3;
  o.exit_cb = on_exit_cb;
  ck_assert_int_eq(uv_spawn(loop, &proc, &o), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(sin, "hi\n", 3), NULL),
                   0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(sout, '\n', 64),
                                &v),
                   0);
  line = v.ptr;
  ck_assert_str_eq(line->base, "got hi\n");
  uva_buf_free(line);
  uva_stream_free(sin);
  uva_stream_free(sout);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(exit_status, 0);
  /* freed without uv_spawn */
  uva_stream_free(uva__stream_new_pipe(uva__loop_get(loop), &in));
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pipe");
  TCase *tc = tcase_create("pipe");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, listen_connect_accept);
  tcase_add_test(tc, path_errors);
  tcase_add_test(tc, open_pipe_and_socketpair);
  tcase_add_test(tc, open_tty);
  tcase_add_test(tc, open_bad_descriptors);
  tcase_add_test(tc, new_pipe_for_spawn);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
