/* Readiness of a descriptor uva does not own, over a socketpair: readable,
 * writable, hang-up, interest dropped on cancel, the fd never closed, bad
 * input. */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void pair(int sv[2]) {
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

START_TEST(readable_writable) {
  LOOP_INIT(loop);
  int sv[2];
  uva_asyncfd_t *a;
  char buf[8];
  pair(sv);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  /* an idle watcher does not keep uv_run alive */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_asyncfd_writable(a), NULL), 0);
  /* nothing to read yet */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_asyncfd_readable(a), 20), NULL),
                   UV_ETIMEDOUT);
  /* the cancelled future's interest is gone: nothing of uva's is active */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 0);
  ck_assert_int_eq(write(sv[1], "abc", 3), 3);
  ck_assert_int_eq(uva_block_on(loop, uva_asyncfd_readable(a), NULL), 0);
  ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), 3);
  /* drained: the next readable waits again (non-blocking read: EAGAIN) */
  ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), -1);
  ck_assert_int_eq(errno, EAGAIN);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_asyncfd_readable(a), 20), NULL),
                   UV_ETIMEDOUT);
  uva_asyncfd_free(a);
  ck_assert(fd_open(sv[0])); /* uva never closes it */
  close(sv[0]);
  close(sv[1]);
  LOOP_CLOSE(loop);
}
END_TEST

/* Both kinds wait on one watcher; a cancelled readable drops its interest
 * and leaves the writable one waiting. */
typedef struct {
  int calls;
} count_t;

static void count_cb(int status, uva_value_t v, void *data) {
  count_t *c = data;
  (void)v;
  ck_assert_int_eq(status, 0);
  c->calls++;
}

START_TEST(both_and_cancel) {
  LOOP_INIT(loop);
  int sv[2];
  uva_asyncfd_t *a;
  uva_future_t *r1, *r2;
  count_t c = {0};
  char big[65536];
  ssize_t n;
  pair(sv);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  /* fill the socket so that it is not writable */
  memset(big, 'x', sizeof(big));
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  while ((n = write(sv[0], big, sizeof(big))) > 0)
    ;
  r1 = uva_asyncfd_readable(a);
  r2 = uva_asyncfd_readable(a);
  ck_assert_int_eq(uva_future_then(uva_asyncfd_writable(a), count_cb, &c), 0);
  ck_assert_int_eq(uva_future_cancel(r1), 0);
  ck_assert_int_eq(uva_future_status(r1), UV_ECANCELED);
  uva_future_free(r1);
  uva_future_free(r2); /* the last readable gone: only writable is asked */
  ck_assert_int_eq(uv_run(loop, UV_RUN_NOWAIT), 1); /* writable waits */
  ck_assert_int_eq(c.calls, 0);
  /* the peer drains: writable */
  while ((n = read(sv[1], big, sizeof(big))) > 0 && n == (ssize_t)sizeof(big))
    ;
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(c.calls, 1);
  uva_asyncfd_free(a);
  close(sv[0]);
  close(sv[1]);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(hangup) {
  LOOP_INIT(loop);
  int sv[2];
  uva_asyncfd_t *a;
  char buf[4];
  pair(sv);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  close(sv[1]);
  ck_assert_int_eq(uva_block_on(loop, uva_asyncfd_readable(a), NULL), 0);
  ck_assert_int_eq(read(sv[0], buf, sizeof(buf)), 0); /* end of file */
  uva_asyncfd_free(a);
  close(sv[0]);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_with_pending) {
  LOOP_INIT(loop);
  int sv[2];
  uva_asyncfd_t *a;
  uva_future_t *f;
  then_rec r;
  memset(&r, 0, sizeof(r));
  pair(sv);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  ck_assert_int_eq(uva_future_then(uva_asyncfd_readable(a), record, &r), 0);
  f = uva_asyncfd_readable(a); /* keeps a's memory */
  uva_asyncfd_free(a);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  {
    uva_future_t *g = uva_asyncfd_writable(a);
    ck_assert_int_eq(uva_future_status(g), UV_EBADF);
    uva_future_free(g);
  }
  uva_future_free(f);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  /* the fd may be watched again at once */
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  uva_asyncfd_free(a);
  ck_assert(fd_open(sv[0]));
  close(sv[0]);
  close(sv[1]);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  int sv[2], fd;
  uva_asyncfd_t *a = (uva_asyncfd_t *)&fd, *b;
  uva_future_t *f;
  char path[64];
  pair(sv);
  ck_assert_int_eq(uva_asyncfd_new(NULL, sv[0], &a), UV_EINVAL);
  ck_assert_ptr_null(a);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], NULL), UV_EINVAL);
  ck_assert_int_eq(uva_asyncfd_new(loop, -1, &a), UV_EBADF);
  ck_assert_int_eq(uva_asyncfd_new(loop, 4000, &a), UV_EBADF);
  /* a regular file: epoll cannot watch it */
  snprintf(path, sizeof(path), "/tmp/uva-asyncfd-%d", (int)getpid());
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  unlink(path);
  ck_assert_int_eq(uva_asyncfd_new(loop, fd, &a), UV_EPERM);
  close(fd);
  /* the same fd twice on one loop, while the first watches it */
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &a), 0);
  f = uva_asyncfd_readable(a);
  ck_assert_int_eq(uva_asyncfd_new(loop, sv[0], &b), UV_EEXIST);
  ck_assert_ptr_null(b);
  uva_future_free(f);
  f = uva_asyncfd_readable(NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  f = uva_asyncfd_writable(NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  uva_asyncfd_free(a);
  uva_asyncfd_free(NULL);
  close(sv[0]);
  close(sv[1]);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("asyncfd");
  TCase *tc = tcase_create("asyncfd");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, readable_writable);
  tcase_add_test(tc, both_and_cancel);
  tcase_add_test(tc, hangup);
  tcase_add_test(tc, free_with_pending);
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
