/* Signals raised with uv_kill(getpid(), ...): the next delivery as a
 * future, listeners that count deliveries, cancel safety of next, and the
 * disposition: no handler before a future or listener asks, and the one the
 * program had back once they are gone. */
#include "test-util.h"

#include <signal.h>
#include <unistd.h>

static void (*disposition(int signum))(int) {
  struct sigaction sa;
  ck_assert_int_eq(sigaction(signum, NULL, &sa), 0);
  return sa.sa_handler;
}

static void set_disposition(int signum, void (*h)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = h;
  ck_assert_int_eq(sigaction(signum, &sa, NULL), 0);
}

static void raise_sig(int signum) {
  ck_assert_int_eq(uv_kill(getpid(), signum), 0);
}

/* Lets the loop run for ms (deliveries are read from libuv's pipe). */
static void run_for(uv_loop_t *loop, uint64_t ms) {
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, ms), NULL), 0);
}

START_TEST(next_delivery) {
  LOOP_INIT(loop);
  uva_future_t *f;
  uva_value_t v;
  ck_assert_ptr_eq(disposition(SIGUSR1), SIG_DFL);
  f = uva_signal(loop, SIGUSR1);
  ck_assert_ptr_ne(disposition(SIGUSR1), SIG_DFL); /* installed now */
  raise_sig(SIGUSR1);
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_int_eq(v.i64, SIGUSR1);
  ck_assert_ptr_eq(disposition(SIGUSR1), SIG_DFL); /* and gone */
  LOOP_CLOSE(loop);
}
END_TEST

/* ctrl_c in a task: the future is made before the signal is raised. */
static int ctrl_c_body(void *arg, uva_result_t *res) {
  uv_loop_t *loop = arg;
  uva_future_t *f = uva_signal(loop, SIGINT);
  uva_value_t v;
  (void)res;
  raise_sig(SIGINT);
  ck_assert_int_eq(uva_await(f, &v), 0);
  ck_assert_int_eq(v.i64, SIGINT);
  return 0;
}

START_TEST(ctrl_c) {
  LOOP_INIT(loop);
  void (*before)(int) = disposition(SIGINT); /* Check may have its own */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, ctrl_c_body, loop), NULL), 0);
  ck_assert_ptr_eq(disposition(SIGINT), before);
  LOOP_CLOSE(loop);
}
END_TEST

/* The program's own disposition (SIG_IGN here) comes back after a cancel,
 * a free and a listener. */
START_TEST(disposition_restored) {
  LOOP_INIT(loop);
  uva_future_t *f;
  uva_signal_t *sig;
  set_disposition(SIGUSR2, SIG_IGN);
  f = uva_signal(loop, SIGUSR2);
  ck_assert_ptr_ne(disposition(SIGUSR2), SIG_IGN);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  ck_assert_ptr_eq(disposition(SIGUSR2), SIG_IGN);
  uva_future_free(f);
  uva_future_free(uva_signal(loop, SIGUSR2));
  ck_assert_ptr_eq(disposition(SIGUSR2), SIG_IGN);
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR2, &sig), 0);
  ck_assert_ptr_ne(disposition(SIGUSR2), SIG_IGN);
  uva_signal_free(sig);
  ck_assert_ptr_eq(disposition(SIGUSR2), SIG_IGN);
  /* two at once: the handler stays until the last goes */
  f = uva_signal(loop, SIGUSR2);
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR2, &sig), 0);
  uva_future_free(f);
  ck_assert_ptr_ne(disposition(SIGUSR2), SIG_IGN);
  uva_signal_free(sig);
  ck_assert_ptr_eq(disposition(SIGUSR2), SIG_IGN);
  set_disposition(SIGUSR2, SIG_DFL);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(listener_counts) {
  LOOP_INIT(loop);
  uva_signal_t *sig;
  uva_future_t *f;
  uva_value_t v;
  then_rec r;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, &sig), 0);
  /* an idle listener does not keep uv_run alive */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  raise_sig(SIGUSR1);
  run_for(loop, 20);
  raise_sig(SIGUSR1);
  run_for(loop, 20);
  ck_assert_int_eq(uva_block_on(loop, uva_signal_next(sig), &v), 0);
  ck_assert_uint_eq(v.u64, 2);
  /* a next that waits keeps uv_run alive until the delivery */
  f = uva_signal_next(sig);
  ck_assert_int_eq(uva_future_then(f, record, &r), 0);
  raise_sig(SIGUSR1);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_uint_eq(r.value.u64, 1);
  /* a next made and freed unstarted takes nothing */
  raise_sig(SIGUSR1);
  run_for(loop, 20);
  uva_future_free(uva_signal_next(sig));
  ck_assert_int_eq(uva_block_on(loop, uva_signal_next(sig), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  uva_signal_free(sig);
  ck_assert_ptr_eq(disposition(SIGUSR1), SIG_DFL);
  LOOP_CLOSE(loop);
}
END_TEST

/* A next that settled and is dropped untaken gives its count back. */
START_TEST(next_cancel_safe) {
  LOOP_INIT(loop);
  uva_signal_t *sig;
  uva_future_t *fs[2];
  uva_result_t r[2];
  uva_value_t v;
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, &sig), 0);
  raise_sig(SIGUSR1);
  raise_sig(SIGUSR1);
  run_for(loop, 20);
  raise_sig(SIGUSR1);
  run_for(loop, 20);
  fs[0] = uva_signal_next(sig);
  fs[1] = uva_sleep(loop, 10000);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_join(loop, fs, 2, r), 10), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uva_block_on(loop, uva_signal_next(sig), &v), 0);
  ck_assert_uint_ge(v.u64, 2); /* (signals may merge while pending) */
  ck_assert_uint_le(v.u64, 3);
  /* cancelled by a timeout while waiting: nothing lost, nothing counted */
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_signal_next(sig), 10), NULL),
                   UV_ETIMEDOUT);
  raise_sig(SIGUSR1);
  ck_assert_int_eq(uva_block_on(loop, uva_signal_next(sig), &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  uva_signal_free(sig);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_with_pending) {
  LOOP_INIT(loop);
  uva_signal_t *sig;
  uva_future_t *unstarted, *f;
  then_rec r;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, &sig), 0);
  unstarted = uva_signal_next(sig);
  ck_assert_int_eq(uva_future_then(uva_signal_next(sig), record, &r), 0);
  /* one next at a time */
  ck_assert_int_eq(uva_block_on(loop, uva_signal_next(sig), NULL), UV_EBUSY);
  uva_signal_free(sig);
  ck_assert_ptr_eq(disposition(SIGUSR1), SIG_DFL);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  f = uva_signal_next(sig); /* its memory lives for unstarted */
  ck_assert_int_eq(uva_future_status(f), UV_EBADF);
  uva_future_free(f);
  ck_assert_int_eq(uva_block_on(loop, unstarted, NULL), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  uva_signal_t *sig = (uva_signal_t *)&loop;
  int bad[] = {0, -1, SIGKILL, SIGSTOP, NSIG, 100000};
  size_t i;
  uva_future_t *f;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    f = uva_signal(loop, bad[i]);
    ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
    uva_future_free(f);
    ck_assert_int_eq(uva_signal_listen(loop, bad[i], &sig), UV_EINVAL);
    ck_assert_ptr_null(sig);
  }
  f = uva_signal(NULL, SIGUSR1);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  ck_assert_int_eq(uva_signal_listen(NULL, SIGUSR1, &sig), UV_EINVAL);
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, NULL), UV_EINVAL);
  f = uva_signal_next(NULL);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  uva_signal_free(NULL);
  ck_assert_ptr_eq(disposition(SIGUSR1), SIG_DFL);
  LOOP_CLOSE(loop);
}
END_TEST

/* Loops in two threads listen for the same signal: each gets the delivery,
 * and the disposition table they share (under its lock) puts SIG_IGN back
 * once both are gone. */
typedef struct {
  uv_barrier_t *ready, *raised;
  int err;
  uint64_t count;
} thread_job_t;

static void listen_thread(void *arg) {
  thread_job_t *j = arg;
  uv_loop_t loop;
  uva_signal_t *sig;
  uva_value_t v;
  j->err = uv_loop_init(&loop);
  if (j->err == 0)
    j->err = uva_signal_listen(&loop, SIGUSR2, &sig);
  uv_barrier_wait(j->ready);
  uv_barrier_wait(j->raised);
  if (j->err == 0) {
    j->err = uva_block_on(&loop, uva_timeout(uva_signal_next(sig), 10000), &v);
    if (j->err == 0)
      j->count = v.u64;
    uva_signal_free(sig);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  if (j->err == 0)
    j->err = uv_loop_close(&loop);
}

START_TEST(loops_in_threads) {
  uv_barrier_t ready, raised;
  uv_thread_t th[2];
  thread_job_t jobs[2];
  int i;
  set_disposition(SIGUSR2, SIG_IGN);
  ck_assert_int_eq(uv_barrier_init(&ready, 3), 0);
  ck_assert_int_eq(uv_barrier_init(&raised, 3), 0);
  for (i = 0; i < 2; i++) {
    jobs[i] = (thread_job_t){&ready, &raised, 0, 0};
    ck_assert_int_eq(uv_thread_create(&th[i], listen_thread, &jobs[i]), 0);
  }
  uv_barrier_wait(&ready);
  raise_sig(SIGUSR2);
  uv_barrier_wait(&raised);
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(uv_thread_join(&th[i]), 0);
    ck_assert_int_eq(jobs[i].err, 0);
    ck_assert_uint_eq(jobs[i].count, 1);
  }
  uv_barrier_destroy(&ready);
  uv_barrier_destroy(&raised);
  ck_assert_ptr_eq(disposition(SIGUSR2), SIG_IGN);
  set_disposition(SIGUSR2, SIG_DFL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("signal");
  TCase *tc = tcase_create("signal");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, next_delivery);
  tcase_add_test(tc, ctrl_c);
  tcase_add_test(tc, disposition_restored);
  tcase_add_test(tc, listener_counts);
  tcase_add_test(tc, next_cancel_safe);
  tcase_add_test(tc, free_with_pending);
  tcase_add_test(tc, bad_input);
  tcase_add_test(tc, loops_in_threads);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
