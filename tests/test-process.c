/* Child processes: exit status, a signal, stdin/stdout pipes, env and cwd,
 * stderr to /dev/null, a missing program, freeing a running child with and
 * without UVA_PROCESS_KILL_ON_FREE, and never a zombie. */
#include "test-util.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static char *sh_args[4] = {"sh", "-c", NULL, NULL};

static uva_process_opts_t sh(const char *script) {
  uva_process_opts_t o;
  memset(&o, 0, sizeof(o));
  o.file = "sh";
  sh_args[2] = (char *)script;
  o.args = sh_args;
  return o;
}

/* The child has been reaped: it is nobody's zombie. */
static void assert_reaped(int pid) {
  errno = 0;
  ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
}

START_TEST(exit_status) {
  LOOP_INIT(loop);
  uva_process_opts_t o = sh("exit 3");
  uva_process_t *p;
  uva_value_t v;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  ck_assert_int_gt(uva_process_pid(p), 0);
  ck_assert_ptr_null(uva_process_stream(p, 0));
  ck_assert_ptr_null(uva_process_stream(p, 1));
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 3);
  ck_assert_int_eq(UVA_EXIT_SIGNAL(v.u64), 0);
  assert_reaped(uva_process_pid(p));
  /* a wait after the exit settles at once; a kill finds nobody */
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 3);
  ck_assert_int_eq(uva_process_kill(p, SIGTERM), UV_ESRCH);
  uva_process_free(p);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(killed_by_signal) {
  LOOP_INIT(loop);
  uva_process_opts_t o;
  char *args[] = {"sleep", "10", NULL};
  uva_process_t *p;
  uva_value_t v;
  uint64_t t0 = uv_hrtime();
  memset(&o, 0, sizeof(o));
  o.file = "sleep";
  o.args = args;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  ck_assert_int_eq(uva_process_kill(p, SIGTERM), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_SIGNAL(v.u64), SIGTERM);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 0);
  ck_assert_uint_lt(uv_hrtime() - t0, 5000000000ull);
  assert_reaped(uva_process_pid(p));
  uva_process_free(p);
  LOOP_CLOSE(loop);
}
END_TEST

/* cat: stdin written and shut down, stdout read until EOF. */
static int cat_body(void *arg, uva_result_t *res) {
  uva_process_t *p = arg;
  uva_stream_t *in = uva_process_stream(p, 0), *out = uva_process_stream(p, 1);
  char buf[256];
  size_t got = 0;
  uva_value_t v;
  int err;
  (void)res;
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  ck_assert_int_eq(uva_await(uva_stream_write(in, "hello\nworld\n", 12), NULL), 0);
  ck_assert_int_eq(uva_await(uva_stream_shutdown(in), NULL), 0);
  while ((err = uva_await(uva_stream_read(out, buf + got, sizeof(buf) - got), &v)) == 0)
    got += v.u64;
  ck_assert_int_eq(err, UV_EOF);
  ck_assert_uint_eq(got, 12);
  ck_assert(memcmp(buf, "hello\nworld\n", 12) == 0);
  ck_assert_int_eq(uva_await(uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 0);
  return 0;
}

START_TEST(cat_pipes) {
  LOOP_INIT(loop);
  uva_process_opts_t o;
  uva_process_t *p;
  memset(&o, 0, sizeof(o));
  o.file = "cat";
  o.stdio[0] = UVA_STDIO_PIPE;
  o.stdio[1] = UVA_STDIO_PIPE;
  o.stdio[2] = UVA_STDIO_INHERIT;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  ck_assert_ptr_null(uva_process_stream(p, 2));
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, cat_body, p), NULL), 0);
  assert_reaped(uva_process_pid(p));
  uva_process_free(p);
  LOOP_CLOSE(loop);
}
END_TEST

/* env and cwd, read line by line; stderr to /dev/null. */
START_TEST(env_and_cwd) {
  LOOP_INIT(loop);
  uva_process_opts_t o = sh("echo $X; pwd; echo oops >&2");
  char *env[] = {"X=forty-two", "PATH=/usr/bin:/bin", NULL};
  uva_process_t *p;
  uva_stream_t *out;
  uva_value_t v;
  uva_buf_t *line;
  o.env = env;
  o.cwd = "/tmp";
  o.stdio[1] = UVA_STDIO_PIPE;
  o.stdio[2] = UVA_STDIO_NULL;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  /* the stream outlives the process once taken */
  out = uva_process_take_stream(p, 1);
  ck_assert_ptr_nonnull(out);
  ck_assert_ptr_null(uva_process_stream(p, 1));
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(out, '\n', 1024), &v), 0);
  line = v.ptr;
  ck_assert_uint_eq(line->len, 10);
  ck_assert(memcmp(line->base, "forty-two\n", 10) == 0);
  uva_buf_free(line);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(out, '\n', 1024), &v), 0);
  line = v.ptr;
  ck_assert(memcmp(line->base, "/tmp\n", 5) == 0);
  uva_buf_free(line);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(out, '\n', 1024), NULL), UV_EOF);
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 0);
  uva_process_free(p);
  uva_stream_free(out);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(missing_program) {
  LOOP_INIT(loop);
  uva_process_opts_t o;
  uva_process_t *p = (uva_process_t *)&o;
  memset(&o, 0, sizeof(o));
  o.file = "/no/such/program";
  o.stdio[1] = UVA_STDIO_PIPE;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_ENOENT);
  ck_assert_ptr_null(p);
  o.file = "no-such-program-uva";
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_ENOENT);
  o = sh("exit 0");
  o.cwd = "/no/such/dir";
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_ENOENT);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_running_kill_on_free) {
  LOOP_INIT(loop);
  uva_process_opts_t o;
  char *args[] = {"sleep", "10", NULL};
  uva_process_t *p;
  then_rec r;
  int pid;
  uint64_t t0 = uv_hrtime();
  memset(&r, 0, sizeof(r));
  memset(&o, 0, sizeof(o));
  o.file = "sleep";
  o.args = args;
  o.flags = UVA_PROCESS_KILL_ON_FREE;
  o.stdio[1] = UVA_STDIO_PIPE;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  pid = uva_process_pid(p);
  ck_assert_int_eq(uva_future_then(uva_process_wait(p), record, &r), 0);
  uva_process_free(p);
  LOOP_CLOSE(loop); /* uv_run returns once the child is killed and reaped */
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  ck_assert_uint_lt(uv_hrtime() - t0, 5000000000ull);
  assert_reaped(pid);
}
END_TEST

START_TEST(free_running_waits_for_exit) {
  LOOP_INIT(loop);
  uva_process_opts_t o = sh("sleep 0.3");
  uva_process_t *p;
  int pid;
  uint64_t t0 = uv_hrtime();
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  pid = uva_process_pid(p);
  /* held and not waited for: the program's uv_run does not wait for it */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  uva_process_free(p);
  /* freed while it runs: uv_run runs until it exits and is reaped */
  LOOP_CLOSE(loop);
  ck_assert_uint_ge(uv_hrtime() - t0, 250000000ull);
  assert_reaped(pid);
}
END_TEST

START_TEST(idle_process_lets_run_return) {
  LOOP_INIT(loop);
  uva_process_opts_t o = sh("sleep 0.2");
  uva_process_t *p;
  uva_future_t *w;
  uva_value_t v;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* returns at once */
  /* a wait cancelled leaves the child alone */
  w = uva_process_wait(p);
  ck_assert_int_eq(uva_future_cancel(w), 0);
  ck_assert_int_eq(uva_future_status(w), UV_ECANCELED);
  uva_future_free(w);
  ck_assert_int_eq(uva_block_on(loop, uva_process_wait(p), &v), 0);
  ck_assert_int_eq(UVA_EXIT_STATUS(v.u64), 0);
  uva_process_free(p);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_process_opts_t o = sh("exit 0");
  uva_process_t *p = (uva_process_t *)&o;
  uva_future_t *f;
  ck_assert_int_eq(uva_process_spawn(NULL, &o, &p), UV_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(uva_process_spawn(loop, NULL, &p), UV_EINVAL);
  ck_assert_int_eq(uva_process_spawn(loop, &o, NULL), UV_EINVAL);
  o.file = NULL;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  o.file = "";
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  o = sh("exit 0");
  o.flags = 0x80;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  o.flags = 0;
  o.stdio[1] = (uva_stdio_t)7;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  ck_assert_ptr_null(uva_process_stream(NULL, 0));
  ck_assert_ptr_null(uva_process_take_stream(NULL, 0));
  ck_assert_int_eq(uva_process_pid(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_process_kill(NULL, SIGTERM), UV_EINVAL);
  f = uva_process_wait(NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  /* a bad signal, fds out of range, a freed process seen through a wait
   * future that keeps its memory */
  o = sh("sleep 5");
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), 0);
  ck_assert_int_eq(uva_process_kill(p, 12345), UV_EINVAL);
  ck_assert_ptr_null(uva_process_stream(p, 3));
  ck_assert_ptr_null(uva_process_stream(p, -1));
  f = uva_process_wait(p);
  ck_assert_int_eq(uva_process_kill(p, SIGKILL), 0);
  uva_process_free(p);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  ck_assert_int_eq(uva_process_kill(p, SIGTERM), UV_EBADF);
  {
    uva_future_t *g = uva_process_wait(p);
    ck_assert_int_eq(uva_future_status(g), UV_EBADF);
    uva_future_free(g);
  }
  ck_assert_ptr_null(uva_process_stream(p, 0));
  uva_future_free(f);
  uva_process_free(NULL);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("process");
  TCase *tc = tcase_create("process");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, exit_status);
  tcase_add_test(tc, killed_by_signal);
  tcase_add_test(tc, cat_pipes);
  tcase_add_test(tc, env_and_cwd);
  tcase_add_test(tc, missing_program);
  tcase_add_test(tc, free_running_kill_on_free);
  tcase_add_test(tc, free_running_waits_for_exit);
  tcase_add_test(tc, idle_process_lets_run_return);
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
