/* Files: whole-file reads and writes, open/read/write/close, errors,
 * cancellation at every step, and descriptors nobody took. */
#include "test-util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL 4 /* main() sets UV_THREADPOOL_SIZE to this */

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void tmp_make(void) {
  strcpy(tmpdir, "/tmp/uva-test-fs-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_remove(void) {
  char p[512];
  struct dirent *e;
  DIR *d = opendir(tmpdir);
  ck_assert_ptr_nonnull(d);
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
    if (unlink(p) != 0)
      ck_assert_int_eq(rmdir(p), 0);
  }
  closedir(d);
  ck_assert_int_eq(rmdir(tmpdir), 0);
}

/* A path in the test's directory, in one of a few static slots. */
static const char *tmp(const char *name) {
  static char slots[4][512];
  static int n;
  char *p = slots[n++ % 4];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

static void put_file(const char *path, const void *data, size_t len) {
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
  ck_assert_int_eq(fclose(fp), 0);
}

/* How many descriptors are open: the same before and after work that leaks
 * none.  (libuv opens two for good on its first loop, so count after
 * LOOP_INIT; valgrind keeps its own above 1024.) */
static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    n += fcntl(fd, F_GETFD) != -1;
  return n;
}

static char *pattern(size_t len) {
  char *p = malloc(len);
  for (size_t i = 0; i < len; i++)
    p[i] = (char)('a' + (i * 7 + i / 4096) % 26);
  return p;
}

/* Reads path with uva_fs_read_file and checks it holds data[0..len). */
static void check_file(uv_loop_t *loop, const char *path, const void *data,
                       size_t len) {
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read_file(loop, path), &v), 0);
  uva_buf_t *b = v.ptr;
  ck_assert_uint_eq(b->len, len);
  ck_assert(memcmp(b->base, data, len) == 0);
  ck_assert_int_eq(b->base[len], '\0');
  uva_buf_free(b);
}

/* Pool jobs that wait at a gate, so that fs requests queue behind them. */
typedef struct {
  uv_mutex_t mu;
  uv_cond_t cv;
  int started, open;
} gate_t;

static int gated(void *arg, uva_result_t *r) {
  gate_t *g = arg;
  (void)r;
  uv_mutex_lock(&g->mu);
  g->started++;
  uv_cond_broadcast(&g->cv);
  while (!g->open)
    uv_cond_wait(&g->cv, &g->mu);
  uv_mutex_unlock(&g->mu);
  return 0;
}

static void fill_pool(uv_loop_t *loop, gate_t *g, uva_future_t **jobs) {
  ck_assert_int_eq(uv_mutex_init(&g->mu), 0);
  ck_assert_int_eq(uv_cond_init(&g->cv), 0);
  g->started = g->open = 0;
  for (int i = 0; i < POOL; i++)
    jobs[i] = uva_spawn_blocking(loop, gated, g);
  uv_mutex_lock(&g->mu);
  while (g->started < POOL)
    uv_cond_wait(&g->cv, &g->mu);
  uv_mutex_unlock(&g->mu);
}

static void drain_pool(uv_loop_t *loop, gate_t *g, uva_future_t **jobs) {
  uv_mutex_lock(&g->mu);
  g->open = 1;
  uv_cond_broadcast(&g->cv);
  uv_mutex_unlock(&g->mu);
  for (int i = 0; i < POOL; i++)
    ck_assert_int_eq(uva_block_on(loop, jobs[i], NULL), 0);
  uv_cond_destroy(&g->cv);
  uv_mutex_destroy(&g->mu);
}

/* ---- whole files -------------------------------------------------------- */

START_TEST(read_file_basic) {
  LOOP_INIT(loop);
  tmp_make();
  const char *text = "Hello, uva!\nsecond line\n";
  put_file(tmp("a.txt"), text, strlen(text));
  check_file(loop, tmp("a.txt"), text, strlen(text));
  put_file(tmp("empty"), "", 0);
  check_file(loop, tmp("empty"), "", 0);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(read_file_large) {
  LOOP_INIT(loop);
  tmp_make();
  size_t len = (1u << 20) + 123;
  char *data = pattern(len);
  put_file(tmp("big"), data, len);
  check_file(loop, tmp("big"), data, len);
  free(data);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(read_file_proc) {
  LOOP_INIT(loop);
  uva_value_t v;
  /* /proc files report size 0: the buffer grows as they are read */
  if (access("/proc/self/maps", R_OK) == 0) {
    ck_assert_int_eq(
        uva_block_on(loop, uva_fs_read_file(loop, "/proc/self/maps"), &v), 0);
    uva_buf_t *b = v.ptr;
    ck_assert_uint_gt(b->len, 0);
    ck_assert_uint_eq(strlen(b->base), b->len);
    uva_buf_free(b);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(read_file_errors) {
  LOOP_INIT(loop);
  tmp_make();
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_read_file(loop, tmp("none")), NULL), UV_ENOENT);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read_file(loop, tmpdir), NULL),
                   UV_EISDIR);
  put_file(tmp("secret"), "x", 1);
  ck_assert_int_eq(chmod(tmp("secret"), 0), 0);
  uva_future_t *f = uva_fs_read_file(loop, tmp("secret"));
  int st = uva_block_on(loop, f, NULL);
  if (geteuid() != 0) /* root reads it anyway */
    ck_assert_int_eq(st, UV_EACCES);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_future_t *f[] = {
      uva_fs_read_file(NULL, "x"),
      uva_fs_read_file(loop, NULL),
      uva_fs_write_file(NULL, "x", "", 0),
      uva_fs_write_file(loop, NULL, "", 0),
      uva_fs_write_file(loop, "x", NULL, 1),
      uva_fs_open(NULL, "x", 0, 0),
      uva_fs_open(loop, NULL, 0, 0),
      uva_fs_read(NULL, 0, 1, 0),
      uva_fs_read(loop, 0, 0, 0),
      uva_fs_write(NULL, 0, "", 0, 0),
      uva_fs_write(loop, 0, NULL, 1, 0),
      uva_fs_close(NULL, 0),
  };
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
    ck_assert_int_eq(uva_future_status(f[i]), UV_EINVAL);
    uva_future_free(f[i]);
  }
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(write_file_roundtrip) {
  LOOP_INIT(loop);
  tmp_make();
  uva_value_t v;
  char text[] = "written by uva";
  uva_future_t *f = uva_fs_write_file(loop, tmp("w"), text, strlen(text));
  memset(text, '#', sizeof(text) - 1); /* the data was copied */
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 14);
  check_file(loop, tmp("w"), "written by uva", 14);
  /* truncates */
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write_file(loop, tmp("w"), "short", 5), &v), 0);
  ck_assert_uint_eq(v.u64, 5);
  check_file(loop, tmp("w"), "short", 5);
  /* nothing to write: an empty file */
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write_file(loop, tmp("w"), NULL, 0), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  check_file(loop, tmp("w"), "", 0);
  struct stat st;
  ck_assert_int_eq(stat(tmp("w"), &st), 0);
  mode_t um = umask(0);
  umask(um);
  ck_assert_int_eq(st.st_mode & 0777, 0644 & ~um);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(write_file_large) {
  LOOP_INIT(loop);
  tmp_make();
  size_t len = (3u << 20) + 5;
  char *data = pattern(len);
  uva_value_t v;
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write_file(loop, tmp("big"), data, len), &v),
      0);
  ck_assert_uint_eq(v.u64, len);
  check_file(loop, tmp("big"), data, len);
  free(data);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(write_file_errors) {
  LOOP_INIT(loop);
  tmp_make();
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write_file(loop, tmp("no/such"), "x", 1), NULL),
      UV_ENOENT);
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write_file(loop, tmpdir, "x", 1), NULL),
      UV_EISDIR);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- single requests ---------------------------------------------------- */

START_TEST(open_read_write_close) {
  LOOP_INIT(loop);
  int fd0 = open_fds(); /* the loop's own descriptors included */
  tmp_make();
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop,
                                uva_fs_open(loop, tmp("rw"),
                                            O_RDWR | O_CREAT | O_TRUNC, 0600),
                                &v),
                   0);
  uv_file fd = (uv_file)v.i64;
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write(loop, fd, "hello world", 11, -1), &v), 0);
  ck_assert_uint_eq(v.u64, 11);
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_write(loop, fd, "HELLO", 5, 0), &v), 0);
  ck_assert_uint_eq(v.u64, 5);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_write(loop, fd, NULL, 0, 3), &v),
                   0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, fd, 100, 0), &v), 0);
  uva_buf_t *b = v.ptr;
  ck_assert_uint_eq(b->len, 11);
  ck_assert_str_eq(b->base, "HELLO world");
  uva_buf_free(b);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, fd, 3, 6), &v), 0);
  b = v.ptr;
  ck_assert_str_eq(b->base, "wor");
  uva_buf_free(b);
  /* at end of file: an empty buffer */
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, fd, 8, 11), &v), 0);
  b = v.ptr;
  ck_assert_uint_eq(b->len, 0);
  ck_assert_int_eq(b->base[0], '\0');
  uva_buf_free(b);
  /* the current position: after the first write */
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, fd, 8, -1), &v), 0);
  ck_assert_uint_eq(((uva_buf_t *)v.ptr)->len, 0);
  uva_buf_free(v.ptr);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_close(loop, fd), &v), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_close(loop, -1), NULL), UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, -1, 1, 0), NULL),
                   UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_write(loop, -1, "x", 1, 0), NULL),
                   UV_EBADF);
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_open(loop, tmp("none"), O_RDONLY, 0), NULL),
      UV_ENOENT);
  tmp_remove();
  ck_assert_int_eq(open_fds(), fd0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static void take_fd(int status, uva_value_t value, void *data) {
  *(int64_t *)data = status == 0 ? value.i64 : status;
}

START_TEST(open_fd_not_taken) {
  LOOP_INIT(loop);
  int fd0 = open_fds(); /* the loop's own descriptors included */
  /* settled, then freed: uva closes the descriptor */
  uva_future_t *f = uva_fs_open(loop, "/dev/null", O_RDONLY, 0);
  while (uva_future_status(f) == UVA_PENDING)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(uva_future_status(f), 0);
  uva_future_free(f);
  ck_assert_int_eq(open_fds(), fd0);
  /* awaited without a place for the value: closed too */
  ck_assert_int_eq(
      uva_block_on(loop, uva_fs_open(loop, "/dev/null", O_RDONLY, 0), NULL), 0);
  ck_assert_int_eq(open_fds(), fd0);
  /* detached: closed when it settles */
  uva_future_detach(uva_fs_open(loop, "/dev/null", O_RDONLY, 0));
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(open_fds(), fd0);
  /* uva_future_then hands it over: the callback owns it */
  int64_t got = -100;
  ck_assert_int_eq(uva_future_then(uva_fs_open(loop, "/dev/null", O_RDONLY, 0),
                                   take_fd, &got),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_ge(got, 0);
  ck_assert_int_eq(open_fds(), fd0 + 1);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_close(loop, (uv_file)got), NULL),
                   0);
  ck_assert_int_eq(open_fds(), fd0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- cancellation ------------------------------------------------------- */

START_TEST(cancel_queued) {
  LOOP_INIT(loop);
  int fd0 = open_fds(); /* the loop's own descriptors included */
  tmp_make();
  gate_t g;
  uva_future_t *jobs[POOL];
  int fd = open("/dev/null", O_RDONLY);
  put_file(tmp("r"), "abc", 3);
  fill_pool(loop, &g, jobs);
  /* every pool thread is busy: each request waits in libuv's queue, so
   * uv_cancel stops it before it starts */
  uva_future_t *f[] = {
      uva_fs_read_file(loop, tmp("r")),
      uva_fs_write_file(loop, tmp("w"), "abc", 3),
      uva_fs_open(loop, tmp("r"), O_RDONLY, 0),
      uva_fs_read(loop, fd, 10, 0),
      uva_fs_write(loop, fd, "abc", 3, -1),
      uva_fs_close(loop, fd), /* a dropped close still closes */
  };
  size_t n = sizeof(f) / sizeof(f[0]);
  for (size_t i = 0; i < n; i++) {
    if (i % 2 == 0) {
      ck_assert_int_eq(uva_future_cancel(f[i]), 0);
      ck_assert_int_eq(uva_future_status(f[i]), UV_ECANCELED);
      ck_assert_int_eq(uva_block_on(loop, f[i], NULL), UV_ECANCELED);
    } else {
      uva_future_free(f[i]);
    }
  }
  drain_pool(loop, &g, jobs);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(open_fds(), fd0);
  ck_assert_int_eq(access(tmp("w"), F_OK), -1); /* never opened */
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* Drops a chain after k turns of the loop, at whatever step it is then. */
static void drop_after(uv_loop_t *loop, uva_future_t *f, int k, int cancel) {
  for (int i = 0; i < k && uva_future_status(f) == UVA_PENDING; i++)
    uv_run(loop, UV_RUN_ONCE);
  if (cancel && uva_future_status(f) == UVA_PENDING) {
    ck_assert_int_eq(uva_future_cancel(f), 0);
    ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  } else {
    uva_future_free(f);
  }
}

START_TEST(cancel_at_each_step) {
  LOOP_INIT(loop);
  int fd0 = open_fds(); /* the loop's own descriptors included */
  tmp_make();
  size_t len = (1u << 20) + 1;
  char *data = pattern(len);
  put_file(tmp("big"), data, len);
  for (int k = 0; k < 8; k++) {
    drop_after(loop, uva_fs_read_file(loop, tmp("big")), k, k % 2);
    drop_after(loop, uva_fs_read_file(loop, tmpdir), k, k % 2);
    drop_after(loop, uva_fs_write_file(loop, tmp("w"), data, len), k, k % 2);
    drop_after(loop, uva_fs_open(loop, tmp("big"), O_RDONLY, 0), k, k % 2);
  }
  free(data);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(open_fds(), fd0);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(cancel_after_open_finished) {
  LOOP_INIT(loop);
  int fd0 = open_fds(); /* the loop's own descriptors included */
  /* The pool has most likely opened the file before the cancel: uv_cancel
   * fails and the callback closes the descriptor.  Either way none leaks. */
  uva_future_t *f = uva_fs_open(loop, "/dev/null", O_RDONLY, 0);
  usleep(50 * 1000);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  f = uva_fs_read_file(loop, "/dev/null");
  usleep(50 * 1000);
  uva_future_free(f);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(open_fds(), fd0);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

/* ---- with tasks, then and join ------------------------------------------ */

static int fs_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_value_t v;
  (void)r;
  ck_assert_int_eq(
      uva_await(uva_fs_write_file(loop, tmp("t"), "task data", 9), &v), 0);
  ck_assert_uint_eq(v.u64, 9);
  ck_assert_int_eq(uva_await(uva_fs_read_file(loop, tmp("t")), &v), 0);
  ck_assert_str_eq(((uva_buf_t *)v.ptr)->base, "task data");
  uva_buf_free(v.ptr);
  ck_assert_int_eq(uva_await(uva_fs_open(loop, tmp("t"), O_RDWR, 0), &v), 0);
  uv_file fd = (uv_file)v.i64;
  ck_assert_int_eq(uva_await(uva_fs_write(loop, fd, "T", 1, 0), &v), 0);
  ck_assert_int_eq(uva_await(uva_fs_read(loop, fd, 4, 0), &v), 0);
  ck_assert_str_eq(((uva_buf_t *)v.ptr)->base, "Task");
  uva_buf_free(v.ptr);
  ck_assert_int_eq(uva_await(uva_fs_close(loop, fd), NULL), 0);
  /* two reads at once */
  uva_future_t *both[2] = {uva_fs_read_file(loop, tmp("t")),
                           uva_fs_read_file(loop, tmp("none"))};
  uva_result_t res[2];
  ck_assert_int_eq(uva_await(uva_join(loop, both, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_str_eq(((uva_buf_t *)res[0].value.ptr)->base, "Task data");
  ck_assert_int_eq(res[1].status, UV_ENOENT);
  uva_result_free(&res[0]);
  return uva_await(uva_fs_read_file(loop, tmp("none")), NULL);
}

START_TEST(from_task) {
  LOOP_INIT(loop);
  tmp_make();
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, fs_task, loop), NULL),
                   UV_ENOENT);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(with_then) {
  LOOP_INIT(loop);
  tmp_make();
  then_rec a = {0}, b = {0}, c = {0};
  put_file(tmp("x"), "then", 4);
  ck_assert_int_eq(
      uva_future_then(uva_fs_read_file(loop, tmp("x")), record, &a), 0);
  ck_assert_int_eq(
      uva_future_then(uva_fs_read_file(loop, tmp("none")), record, &b), 0);
  ck_assert_int_eq(
      uva_future_then(uva_fs_write_file(loop, tmp("y"), "ab", 2), record, &c),
      0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_str_eq(((uva_buf_t *)a.value.ptr)->base, "then");
  uva_buf_free(a.value.ptr);
  ck_assert_int_eq(b.calls, 1);
  ck_assert_int_eq(b.status, UV_ENOENT);
  ck_assert_int_eq(c.calls, 1);
  ck_assert_uint_eq(c.value.u64, 2);
  tmp_remove();
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fs");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, read_file_basic);
  tcase_add_test(tc, read_file_large);
  tcase_add_test(tc, read_file_proc);
  tcase_add_test(tc, read_file_errors);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, write_file_roundtrip);
  tcase_add_test(tc, write_file_large);
  tcase_add_test(tc, write_file_errors);
  tcase_add_test(tc, open_read_write_close);
  tcase_add_test(tc, open_fd_not_taken);
  tcase_add_test(tc, cancel_queued);
  tcase_add_test(tc, cancel_at_each_step);
  tcase_add_test(tc, cancel_after_open_finished);
  tcase_add_test(tc, from_task);
  tcase_add_test(tc, with_then);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* Read once, when libuv first starts its pool: cancel_queued fills it. */
  setenv("UV_THREADPOOL_SIZE", "4", 1);
  return test_run_suite(suite());
}
