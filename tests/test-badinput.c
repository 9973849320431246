/* Bad inputs (issue 4, item 6): every public call of uva.h with each bad
 * input its specification names, and the documented result.  README.md's
 * "Bad inputs" table has one row per group of assertions here and names the
 * test.  Every test ends with the loop closing with 0 and with every
 * allocation uva made freed (a counting allocator is installed). */
#include "count-alloc.h"
#include "test-util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

/* ---- a counting allocator: nothing may leak ----------------------------- */

static void setup(void) {
  count_alloc_reset();
  frees = 0;
}

/* The loop closes with 0 and uva holds no memory. */
#define DONE(loop)                                                             \
  do {                                                                         \
    LOOP_CLOSE(loop);                                                          \
    ck_assert_int_eq(count_alloc_live(), 0);                                   \
  } while (0)

/* f failed with err at once; frees it. */
#define FAILS(f, err)                                                          \
  do {                                                                         \
    uva_future_t *f_ = (f);                                                    \
    ck_assert_int_eq(uva_future_status(f_), (err));                            \
    uva_future_free(f_);                                                       \
  } while (0)

static int body_zero(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  return 0;
}

static int poll_never(void *state, uva_waker_t *w, uva_result_t *out) {
  (void)state;
  (void)w;
  (void)out;
  return UVA_PENDING;
}

static void *owned(void) { return malloc(8); } /* freed with count_free */

static void never_called(int status, uva_value_t v, void *data) {
  (void)status;
  (void)v;
  (void)data;
  ck_abort_msg("callback of a call that failed");
}

/* ---- NULL loop ---------------------------------------------------------- */

START_TEST(null_loop) {
  LOOP_INIT(loop);
  uva_future_t *kids[1];
  uva_result_t res[1];
  uva_chan_t *ch = (uva_chan_t *)&ch;
  FAILS(uva_future_new(NULL), UV_EINVAL);
  FAILS(uva_ready(NULL, owned(), count_free), UV_EINVAL);
  ck_assert_int_eq(frees, 1); /* the value is freed */
  FAILS(uva_ready_u64(NULL, 1), UV_EINVAL);
  FAILS(uva_failed(NULL, UV_EIO), UV_EINVAL);
  FAILS(uva_spawn(NULL, body_zero, NULL), UV_EINVAL);
  FAILS(uva_spawn_ex(NULL, body_zero, NULL, NULL), UV_EINVAL);
  FAILS(uva_sleep(NULL, 1), UV_EINVAL);
  FAILS(uva_fs_read_file(NULL, "x"), UV_EINVAL);
  FAILS(uva_fs_write_file(NULL, "x", "a", 1), UV_EINVAL);
  FAILS(uva_fs_open(NULL, "x", O_RDONLY, 0), UV_EINVAL);
  FAILS(uva_fs_read(NULL, 0, 1, 0), UV_EINVAL);
  FAILS(uva_fs_write(NULL, 1, "a", 1, 0), UV_EINVAL);
  FAILS(uva_fs_close(NULL, 0), UV_EINVAL);
  FAILS(uva_spawn_blocking(NULL, body_zero, NULL), UV_EINVAL);
  FAILS(uva_future_poll(NULL, poll_never, owned(), count_free), UV_EINVAL);
  ck_assert_int_eq(frees, 2); /* state_free ran */
  FAILS(uva_spawn_blocking_ex(NULL, body_zero, owned(), count_free), UV_EINVAL);
  ck_assert_int_eq(frees, 3); /* arg_free ran */
  frees = 2;
  ck_assert_int_eq(uva_loop_shutdown(NULL, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(NULL, 4, 4, &ch), UV_EINVAL);
  ck_assert_ptr_null(ch); /* *out is cleared */
  /* the combinators free every entry */
  kids[0] = uva_ready(loop, owned(), count_free);
  FAILS(uva_join(NULL, kids, 1, res), UV_EINVAL);
  ck_assert_int_eq(frees, 3);
  kids[0] = uva_ready(loop, owned(), count_free);
  FAILS(uva_select(NULL, kids, 1, res), UV_EINVAL);
  ck_assert_int_eq(frees, 4);
  /* block_on consumes f in every case */
  ck_assert_int_eq(uva_block_on(NULL, uva_ready(loop, owned(), count_free), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 5);
  DONE(loop);
}
END_TEST

/* ---- NULL function, future, path, buffer or out pointer ----------------- */

START_TEST(null_args) {
  LOOP_INIT(loop);
  uva_value_t v;
  then_rec r;
  memset(&r, 0, sizeof(r));
  FAILS(uva_spawn(loop, NULL, NULL), UV_EINVAL);
  FAILS(uva_spawn_ex(loop, NULL, NULL, NULL), UV_EINVAL);
  FAILS(uva_spawn_blocking(loop, NULL, NULL), UV_EINVAL);
  FAILS(uva_future_poll(loop, NULL, owned(), count_free), UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  FAILS(uva_spawn_blocking_ex(loop, NULL, owned(), count_free), UV_EINVAL);
  ck_assert_int_eq(frees, 2); /* arg_free ran */
  frees = 1;
  FAILS(uva_fs_read_file(loop, NULL), UV_EINVAL);
  FAILS(uva_fs_write_file(loop, NULL, "a", 1), UV_EINVAL);
  FAILS(uva_fs_write_file(loop, "x", NULL, 1), UV_EINVAL);
  FAILS(uva_fs_open(loop, NULL, O_RDONLY, 0), UV_EINVAL);
  FAILS(uva_fs_write(loop, 1, NULL, 1, 0), UV_EINVAL);
  /* a NULL future */
  ck_assert_int_eq(uva_future_then(NULL, record, &r), UV_EINVAL);
  ck_assert_int_eq(uva_future_cancel(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve(NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve_u64(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(NULL, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(uva_await(NULL, &v), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, NULL, &v), UV_EINVAL);
  FAILS(uva_timeout(NULL, 1), UV_EINVAL);
  /* then without a callback frees f (and its value) */
  ck_assert_int_eq(uva_future_then(uva_ready(loop, owned(), count_free), NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 2);
  /* allocator functions */
  ck_assert_int_eq(uva_replace_allocator(NULL, realloc, calloc, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, NULL, calloc, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, NULL, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, calloc, NULL), UV_EINVAL);
  DONE(loop);
}
END_TEST

/* NULL where uva allows it: nothing happens. */
START_TEST(null_noops) {
  LOOP_INIT(loop);
  uva_result_free(NULL);
  uva_buf_free(NULL);
  uva_future_free(NULL);
  uva_future_detach(NULL);
  uva_waker_wake(NULL);
  ck_assert_ptr_null(uva_waker_clone(NULL));
  uva_waker_drop(NULL);
  uva_chan_free(NULL);
  DONE(loop);
}
END_TEST

/* ---- combinators: NULL arrays, NULL entries, n == 0 --------------------- */

START_TEST(combinator_args) {
  LOOP_INIT(loop);
  uva_future_t *kids[3];
  uva_result_t res[3];
  uva_value_t v;
  FAILS(uva_join(loop, NULL, 1, res), UV_EINVAL);
  kids[0] = uva_ready(loop, owned(), count_free);
  FAILS(uva_join(loop, kids, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  kids[0] = uva_ready(loop, owned(), count_free);
  kids[1] = NULL;
  kids[2] = uva_sleep(loop, 10000);
  FAILS(uva_join(loop, kids, 3, res), UV_EINVAL); /* the others are freed */
  ck_assert_int_eq(frees, 2);
  /* n == 0: settles at once, arrays unused */
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, NULL, 0, NULL), &v), 0);

  FAILS(uva_select(loop, NULL, 1, res), UV_EINVAL);
  FAILS(uva_select(loop, kids, 0, res), UV_EINVAL);
  kids[0] = uva_ready(loop, owned(), count_free);
  FAILS(uva_select(loop, kids, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(frees, 3);
  kids[0] = NULL;
  kids[1] = uva_ready(loop, owned(), count_free);
  FAILS(uva_select(loop, kids, 2, res), UV_EINVAL);
  ck_assert_int_eq(frees, 4);
  DONE(loop);
}
END_TEST

/* ---- sizes -------------------------------------------------------------- */

START_TEST(sizes) {
  LOOP_INIT(loop);
  uva_chan_t *ch = (uva_chan_t *)&ch;
  uva_spawn_opts_t o;
  ck_assert_int_eq(uva_chan_new(loop, 0, 4, &ch), UV_EINVAL);
  ck_assert_ptr_null(ch);
  ck_assert_int_eq(uva_chan_new(loop, 4, 0, &ch), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, 4, 4, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, (size_t)1 << 40, (size_t)1 << 40, &ch),
                   UV_EINVAL); /* capacity * elem_size overflows */
  ck_assert_int_eq(uva_chan_new(loop, SIZE_MAX, 2, &ch), UV_EINVAL);
  FAILS(uva_fs_read(loop, 0, 0, 0), UV_EINVAL);
  o.stack_size = 1;
  FAILS(uva_spawn_ex(loop, body_zero, NULL, &o), UV_EINVAL);
  o.stack_size = UVA_STACK_MIN - 1;
  FAILS(uva_spawn_ex(loop, body_zero, NULL, &o), UV_EINVAL);
  o.stack_size = SIZE_MAX; /* more than 1 TiB */
  FAILS(uva_spawn_ex(loop, body_zero, NULL, &o), UV_EINVAL);
  o.stack_size = ((size_t)1 << 40) + 1;
  FAILS(uva_spawn_ex(loop, body_zero, NULL, &o), UV_EINVAL);
  /* the smallest valid sizes work */
  o.stack_size = UVA_STACK_MIN;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_ex(loop, body_zero, NULL, &o), NULL), 0);
  o.stack_size = 0; /* the default */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn_ex(loop, body_zero, NULL, &o), NULL), 0);
  ck_assert_int_eq(uva_chan_new(loop, 1, 1, &ch), 0);
  uva_chan_free(ch);
  DONE(loop);
}
END_TEST

START_TEST(bad_error_codes) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  FAILS(uva_failed(loop, 0), UV_EINVAL);
  FAILS(uva_failed(loop, 5), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, 0), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, 1), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(f), UVA_PENDING); /* left pending */
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), 0);
  FAILS(f, UV_EIO);
  DONE(loop);
}
END_TEST

/* ---- settling: non-user futures, twice, after a cancel ------------------ */

START_TEST(settle_misuse) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_ready_u64(loop, 1);
  void *p = owned();
  /* not made by uva_future_new */
  ck_assert_int_eq(uva_future_resolve(f, p, count_free), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve_u64(f, 2), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(frees, 0); /* p stays the caller's */
  uva_future_free(f);
  f = uva_sleep(loop, 10000);
  ck_assert_int_eq(uva_future_resolve_u64(f, 2), UV_EINVAL);
  uva_future_free(f);
  f = uva_future_new(NULL); /* failed: not a user future */
  ck_assert_int_eq(uva_future_resolve_u64(f, 2), UV_EINVAL);
  /* settled twice: the first result stays, the second value is the caller's */
  f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_resolve_u64(f, 7), 0);
  ck_assert_int_eq(uva_future_resolve(f, p, count_free), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve_u64(f, 8), UV_EINVAL);
  ck_assert_int_eq(frees, 0);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 7);
  /* resolved after its consumer cancelled it: UV_ECANCELED, value freed */
  f = uva_future_new(loop);
  uva_future_free(f);
  ck_assert_int_eq(uva_future_resolve(f, p, count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), UV_ECANCELED);
  uva_future_free(f);
  DONE(loop);
}
END_TEST

/* ---- cancel and then on settled or failed futures ----------------------- */

START_TEST(cancel_then_misuse) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_ready_u64(loop, 1);
  then_rec r;
  ck_assert_int_eq(uva_future_cancel(f), UV_EBUSY); /* already settled */
  uva_future_free(f);
  f = uva_future_new(NULL);
  ck_assert_int_eq(uva_future_cancel(f), UV_EBUSY);
  /* failed before it had a loop: then returns the error, never calls back */
  ck_assert_int_eq(uva_future_then(f, never_called, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_then(uva_sleep(NULL, 1), never_called, NULL),
                   UV_EINVAL);
  /* failed with a loop: then calls back with the error, from the loop */
  memset(&r, 0, sizeof(r));
  r.in_call = 1;
  ck_assert_int_eq(uva_future_then(uva_spawn(loop, NULL, NULL), record, &r), 0);
  r.in_call = 0;
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_EINVAL);
  DONE(loop);
}
END_TEST

/* ---- futures already handed to a consumer ------------------------------- */

/* While such a future is alive (here: held by uva_future_then until the
 * producer settles it), every other consumer refuses it and leaves it be. */
START_TEST(consumed_future) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop), *kids[1];
  uva_result_t res[1];
  uva_value_t v;
  then_rec r;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uva_future_then(f, record, &r), 0);
  ck_assert_int_eq(uva_future_then(f, record, &r), UV_EINVAL);
  ck_assert_int_eq(uva_await(f, &v), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, f, &v), UV_EINVAL);
  FAILS(uva_timeout(f, 1), UV_EINVAL);
  kids[0] = f;
  FAILS(uva_join(loop, kids, 1, res), UV_EINVAL);
  kids[0] = f;
  FAILS(uva_select(loop, kids, 1, res), UV_EINVAL);
  uva_future_free(f);
  uva_future_detach(f);
  ck_assert_int_eq(uva_future_resolve_u64(f, 5), 0); /* still its consumer's */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_uint_eq(r.value.u64, 5);
  DONE(loop);
}
END_TEST

/* ---- a future of another loop ------------------------------------------- */

static uv_loop_t *other_loop;

static int await_other(void *arg, uva_result_t *r) {
  (void)arg;
  (void)r;
  return uva_await(uva_ready(other_loop, owned(), count_free), NULL);
}

START_TEST(another_loop) {
  LOOP_INIT(loop);
  LOOP_INIT(loop2);
  uva_future_t *kids[2];
  uva_result_t res[2];
  other_loop = loop2;
  /* block_on: f is freed */
  ck_assert_int_eq(uva_block_on(loop, uva_ready(loop2, owned(), count_free), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  /* await in a task of another loop: f is freed */
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, await_other, NULL), NULL),
                   UV_EINVAL);
  ck_assert_int_eq(frees, 2);
  /* join and select: every entry is freed */
  kids[0] = uva_ready(loop, owned(), count_free);
  kids[1] = uva_ready(loop2, owned(), count_free);
  FAILS(uva_join(loop, kids, 2, res), UV_EINVAL);
  ck_assert_int_eq(frees, 4);
  kids[0] = uva_ready(loop, owned(), count_free);
  kids[1] = uva_ready(loop2, owned(), count_free);
  FAILS(uva_select(loop, kids, 2, res), UV_EINVAL);
  ck_assert_int_eq(frees, 6);
  LOOP_CLOSE(loop2);
  DONE(loop);
}
END_TEST

/* ---- where a call is made: outside or inside a task, in a callback ------ */

START_TEST(outside_task) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_in_task(), 0);
  ck_assert_int_eq(uva_yield(), UV_EINVAL);
  /* await outside a task: f is freed */
  ck_assert_int_eq(uva_await(uva_ready(loop, owned(), count_free), &v), UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(uva_await(uva_sleep(loop, 10000), &v), UV_EINVAL);
  DONE(loop);
}
END_TEST

static int block_on_in_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  ck_assert_int_eq(uva_in_task(), 1);
  ck_assert_int_eq(uva_block_on(loop, uva_ready(loop, owned(), count_free), NULL),
                   UV_EBUSY);
  ck_assert_int_eq(frees, 1); /* f was freed */
  /* even a future that failed at once */
  ck_assert_int_eq(uva_block_on(loop, uva_failed(NULL, UV_EIO), NULL), UV_EBUSY);
  ck_assert_int_eq(uva_block_on(loop, uva_failed(loop, UV_EIO), NULL), UV_EBUSY);
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, NULL), UV_EBUSY);
  r->value.u64 = 1;
  return 0;
}

static void block_on_in_then(int status, uva_value_t v, void *data) {
  uv_loop_t *loop = data;
  (void)status;
  (void)v;
  ck_assert_int_eq(uva_in_task(), 0);
  ck_assert_int_eq(uva_yield(), UV_EINVAL);
  ck_assert_int_eq(uva_block_on(loop, uva_ready(loop, owned(), count_free), NULL),
                   UV_EBUSY);
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, NULL), UV_EBUSY);
  frees += 100;
}

START_TEST(inside_callbacks) {
  LOOP_INIT(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, block_on_in_task, loop), &v),
                   0);
  ck_assert_uint_eq(v.u64, 1);
  ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, 1), block_on_in_then, loop),
                   0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(frees, 102);
  DONE(loop);
}
END_TEST

/* uva_loop_shutdown on a loop where uva has nothing, or nothing left: 0 at
 * once, and nothing allocated. */
START_TEST(shutdown_nothing_left) {
  LOOP_INIT(loop);
  size_t left = 99;
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, &left), 0);
  ck_assert_uint_eq(left, 0);
  ck_assert_int_eq(count_alloc_live(), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(uva_loop_shutdown(loop, 0, &left), 0);
  ck_assert_uint_eq(left, 0);
  DONE(loop);
}
END_TEST

/* Nothing could ever settle f: UV_EAGAIN, f cancelled and freed. */
START_TEST(block_on_nothing_left) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_EAGAIN);
  ck_assert_int_eq(uva_future_resolve(f, owned(), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  DONE(loop);
}
END_TEST

/* ---- files -------------------------------------------------------------- */

START_TEST(fs_errors) {
  LOOP_INIT(loop);
  char path[512];
  const char *dir = getenv("UVA_TEST_TMPDIR");
  uva_value_t v;
  snprintf(path, sizeof(path), "%s/badinput-%ld-missing", dir != NULL ? dir : ".",
           (long)getpid());
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read_file(loop, path), NULL), UV_ENOENT);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read_file(loop, "."), NULL), UV_EISDIR);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_open(loop, path, O_RDONLY, 0), NULL),
                   UV_ENOENT);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_write_file(loop, ".", "a", 1), NULL),
                   UV_EISDIR);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_read(loop, -1, 1, 0), NULL), UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_write(loop, -1, "a", 1, 0), NULL),
                   UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, uva_fs_close(loop, -1), NULL), UV_EBADF);
  /* no data: allowed when len is 0 */
  ck_assert_int_eq(uva_block_on(loop, uva_fs_write_file(loop, path, NULL, 0), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  unlink(path);
  DONE(loop);
}
END_TEST

/* ---- channels ----------------------------------------------------------- */

typedef struct {
  uva_chan_t *ch;
  int err;
} sender_t;

static void send_after_close(void *arg) {
  sender_t *t = arg;
  int x = 1;
  t->err = uva_chan_send_blocking(t->ch, &x);
}

START_TEST(chan_misuse) {
  LOOP_INIT(loop);
  uva_chan_t *ch;
  int x = 1;
  sender_t t;
  uv_thread_t th;
  /* NULL channel, message or out */
  FAILS(uva_chan_send(NULL, &x), UV_EINVAL);
  FAILS(uva_chan_recv(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_send(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_recv(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_send_blocking(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_close(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_new(loop, sizeof(int), 1, &ch), 0);
  FAILS(uva_chan_send(ch, NULL), UV_EINVAL);
  FAILS(uva_chan_recv(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_send(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_try_recv(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_send_blocking(ch, NULL), UV_EINVAL);
  /* empty, full */
  ck_assert_int_eq(uva_chan_try_recv(ch, &x), UV_EAGAIN);
  ck_assert_int_eq(uva_chan_try_send(ch, &x), 0);
  ck_assert_int_eq(uva_chan_try_send(ch, &x), UV_EAGAIN);
  /* send_blocking on the loop's thread could never wake up */
  ck_assert_int_eq(uva_chan_send_blocking(ch, &x), UV_EINVAL);
  /* closed: sends fail, a second close fails, receivers drain then EOF */
  ck_assert_int_eq(uva_chan_close(ch), 0);
  ck_assert_int_eq(uva_chan_close(ch), UV_EPIPE);
  ck_assert_int_eq(uva_chan_try_send(ch, &x), UV_EPIPE);
  FAILS(uva_chan_send(ch, &x), UV_EPIPE);
  t.ch = ch;
  t.err = 0;
  ck_assert_int_eq(uv_thread_create(&th, send_after_close, &t), 0);
  ck_assert_int_eq(uv_thread_join(&th), 0);
  ck_assert_int_eq(t.err, UV_EPIPE);
  ck_assert_int_eq(uva_chan_try_recv(ch, &x), 0);
  ck_assert_int_eq(uva_chan_try_recv(ch, &x), UV_EOF);
  ck_assert_int_eq(uva_block_on(loop, uva_chan_recv(ch, &x), NULL), UV_EOF);
  /* the calls for threads and tasks added with exactly-once channels */
  ck_assert_int_eq(uva_chan_recv_blocking(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_recv_blocking(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_recv_blocking(ch, &x), UV_EINVAL); /* loop thread */
  ck_assert_uint_eq(uva_chan_len(NULL), 0);
  ck_assert_uint_eq(uva_chan_len(ch), 0);
  ck_assert_int_eq(uva_chan_send_wait(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_send_wait(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_recv_wait(NULL, &x), UV_EINVAL);
  ck_assert_int_eq(uva_chan_recv_wait(ch, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_chan_recv_wait(ch, &x), UV_EINVAL); /* not in a task */
  uva_chan_free(ch);
  ck_assert_int_eq(uva_chan_new_ex(loop, 8, (size_t)1 << 62, NULL, &ch), UV_EINVAL);
  ck_assert_ptr_null(ch);
  DONE(loop);
}
END_TEST

/* ---- streams ------------------------------------------------------------ */

static void count_done(void *arg) { (*(int *)arg)++; }

START_TEST(stream_misuse) {
  LOOP_INIT(loop);
  LOOP_INIT(loop2);
  struct sockaddr_in a;
  struct sockaddr un = {.sa_family = AF_UNIX};
  uva_stream_t *l, *s, *p, *out = (uva_stream_t *)&a;
  uv_stream_t *h;
  uv_file xfd = 3;
  uv_timer_t timer;
  uv_buf_t b = uv_buf_init(NULL, 4);
  char buf[4], longpath[200];
  int fd[2], done = 0, file;
  uva_future_t *f;
  uv_ip4_addr("127.0.0.1", 0, &a);
  memset(longpath, 'x', sizeof longpath - 1);
  longpath[sizeof longpath - 1] = '\0';
  /* NULL arguments, bad addresses and flags */
  ck_assert_int_eq(uva_tcp_listen(NULL, (struct sockaddr *)&a, 0, 0, &out),
                   UV_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(uva_tcp_listen(loop, NULL, 0, 0, &out), UV_EINVAL);
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 4, &out),
                   UV_EINVAL);
  ck_assert_int_eq(uva_tcp_listen(loop, &un, 0, 0, &out), UV_EINVAL);
  FAILS(uva_tcp_connect(NULL, (struct sockaddr *)&a), UV_EINVAL);
  FAILS(uva_tcp_connect(loop, NULL), UV_EINVAL);
  FAILS(uva_tcp_connect(loop, &un), UV_EINVAL);
  FAILS(uva_tcp_connect_host(loop, NULL, 80), UV_EINVAL);
  FAILS(uva_tcp_connect_host(NULL, "localhost", 80), UV_EINVAL);
  ck_assert_int_eq(uva_pipe_listen(loop, NULL, 0, &out), UV_EINVAL);
  ck_assert_int_eq(uva_pipe_listen(loop, "", 0, &out), UV_EINVAL);
  ck_assert_int_eq(uva_pipe_listen(loop, longpath, 0, &out), UV_ENAMETOOLONG);
  FAILS(uva_pipe_connect(loop, NULL), UV_EINVAL);
  FAILS(uva_pipe_connect(loop, longpath), UV_ENAMETOOLONG);
  ck_assert_int_eq(uva_stream_open(loop, -1, &out), UV_EBADF);
  ck_assert_int_eq(uva_stream_open(loop, 0, NULL), UV_EINVAL);
  file = open("/dev/null", O_RDONLY);
  ck_assert_int_eq(uva_stream_open(loop, file, &out), UV_EINVAL);
  close(file);
  ck_assert_int_eq(uva_stream_adopt(NULL, &out), UV_EINVAL);
  uv_timer_init(loop, &timer);
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)&timer, &out), UV_EINVAL);
  uv_close((uv_handle_t *)&timer, NULL);
  FAILS(uva_stream_accept(NULL), UV_EINVAL);
  FAILS(uva_stream_read(NULL, buf, 4), UV_EINVAL);
  FAILS(uva_stream_read_exact(NULL, buf, 4), UV_EINVAL);
  FAILS(uva_stream_read_until(NULL, '\n', 4), UV_EINVAL);
  FAILS(uva_stream_write(NULL, "x", 1), UV_EINVAL);
  FAILS(uva_stream_write_bufs(NULL, &b, 1, count_done, &done), UV_EINVAL);
  ck_assert_int_eq(done, 1); /* done is called when the call fails */
  FAILS(uva_stream_shutdown(NULL), UV_EINVAL);
  FAILS(uva_stream_close(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_stream_release(NULL, &h, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_stream_export(NULL, &xfd), UV_EINVAL);
  ck_assert_int_eq(xfd, -1);
  ck_assert_int_eq(uva_tcp_nodelay(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_tcp_keepalive(NULL, 1, 1), UV_EINVAL);
  ck_assert_int_eq(uva_stream_set_buffer(NULL, 1, 0), UV_EINVAL);
  ck_assert_int_eq(uva_stream_sockname(NULL, NULL), UV_EINVAL);
  uva_stream_free(NULL);
  /* a listener, a connected stream */
  ck_assert_int_eq(uva_tcp_listen(loop, (struct sockaddr *)&a, 0, 0, &l), 0);
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  ck_assert_int_eq(uva_stream_open(loop, fd[0], &s), 0);
  ck_assert_int_eq(uva_stream_open(loop, fd[1], &p), 0);
  FAILS(uva_stream_accept(s), UV_EINVAL);     /* not a listener */
  FAILS(uva_stream_read(l, buf, 4), UV_EINVAL); /* a listener */
  FAILS(uva_stream_read_exact(l, buf, 4), UV_EINVAL);
  FAILS(uva_stream_read_until(l, '\n', 4), UV_EINVAL);
  FAILS(uva_stream_write(l, "x", 1), UV_EINVAL);
  FAILS(uva_stream_shutdown(l), UV_EINVAL);
  ck_assert_int_eq(uva_stream_export(l, &xfd), UV_EINVAL);
  ck_assert_int_eq(uva_stream_export(s, NULL), UV_EINVAL);
  FAILS(uva_stream_read(s, NULL, 4), UV_EINVAL);
  FAILS(uva_stream_read(s, buf, 0), UV_EINVAL);
  FAILS(uva_stream_read_exact(s, buf, 0), UV_EINVAL);
  FAILS(uva_stream_read_until(s, '\n', 0), UV_EINVAL);
  FAILS(uva_stream_read_until(s, 256, 4), UV_EINVAL);
  FAILS(uva_stream_write(s, NULL, 1), UV_EINVAL);
  FAILS(uva_stream_write_bufs(s, NULL, 1, count_done, &done), UV_EINVAL);
  FAILS(uva_stream_write_bufs(s, &b, 0, count_done, &done), UV_EINVAL);
  FAILS(uva_stream_write_bufs(s, &b, 1, count_done, &done), UV_EINVAL);
  ck_assert_int_eq(done, 4);
  ck_assert_int_eq(uva_stream_set_buffer(s, 0, 0), UV_EINVAL);
  ck_assert_int_eq(uva_stream_set_buffer(s, 10, 11), UV_EINVAL);
  ck_assert_int_eq(uva_tcp_nodelay(s, 1), UV_EINVAL); /* not TCP */
  ck_assert_int_eq(uva_tcp_keepalive(s, 1, 1), UV_EINVAL);
  ck_assert_int_eq(uva_stream_sockname(s, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_stream_release(s, &h, NULL), UV_EINVAL); /* owned */
  /* a future of another loop */
  ck_assert_int_eq(uva_block_on(loop2, uva_stream_read(s, buf, 4), NULL),
                   UV_EINVAL);
  /* a closed stream (a future still holds its memory) */
  f = uva_stream_read(s, buf, 4);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_close(s), NULL), 0);
  FAILS(uva_stream_read(s, buf, 4), UV_EBADF);
  FAILS(uva_stream_write(s, "x", 1), UV_EBADF);
  FAILS(uva_stream_shutdown(s), UV_EBADF);
  FAILS(uva_stream_close(s), UV_EBADF);
  ck_assert_int_eq(uva_tcp_nodelay(s, 1), UV_EBADF);
  ck_assert_int_eq(uva_stream_set_buffer(s, 10, 1), UV_EBADF);
  xfd = 3;
  ck_assert_int_eq(uva_stream_export(s, &xfd), UV_EBADF);
  ck_assert_int_eq(xfd, -1);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ECANCELED);
  uva_stream_free(p);
  uva_stream_free(l);
  LOOP_CLOSE(loop2);
  DONE(loop);
}
END_TEST

/* ---- io: UDP, DNS, signals, asyncfd, processes ------------------------- */

START_TEST(udp_errors) {
  LOOP_INIT(loop);
  struct sockaddr_in a;
  struct sockaddr_storage sa;
  struct sockaddr unix_addr;
  uva_udp_t *u = (uva_udp_t *)&a, *x = (uva_udp_t *)&a;
  char buf[4];
  uva_future_t *held;
  memset(&unix_addr, 0, sizeof(unix_addr));
  unix_addr.sa_family = AF_UNIX;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  /* NULLs, a family that is not IP, an unknown flag, IPV6ONLY on IPv4 */
  ck_assert_int_eq(uva_udp_bind(NULL, (struct sockaddr *)&a, 0, &u), UV_EINVAL);
  ck_assert_ptr_null(u);
  ck_assert_int_eq(uva_udp_bind(loop, NULL, 0, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, &unix_addr, 0, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0x40, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, UVA_UDP_IPV6ONLY, &u),
                   UV_EINVAL);
  /* libuv's errors unchanged: a port in use */
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, &u), 0);
  ck_assert_int_eq(uva_udp_sockname(u, &sa), 0);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&sa, 0, &x), UV_EADDRINUSE);
  ck_assert_ptr_null(x);
  FAILS(uva_udp_send(NULL, buf, 1, (struct sockaddr *)&sa), UV_EINVAL);
  FAILS(uva_udp_send(u, NULL, 1, (struct sockaddr *)&sa), UV_EINVAL);
  FAILS(uva_udp_send(u, buf, 1, NULL), UV_EINVAL);
  FAILS(uva_udp_send(u, buf, 1, &unix_addr), UV_EINVAL);
  FAILS(uva_udp_recv(NULL, buf, 1, NULL), UV_EINVAL);
  FAILS(uva_udp_recv(u, NULL, 1, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_queue(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_udp_sockname(u, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_multicast_ttl(u, 256), UV_EINVAL);
  ck_assert_int_eq(uva_udp_join(u, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_join(u, "127.0.0.1", NULL), UV_EINVAL);
  /* freed while a future of it keeps its memory: UV_EBADF */
  held = uva_udp_recv(u, buf, sizeof(buf), NULL);
  uva_udp_free(u);
  FAILS(uva_udp_send(u, buf, 1, (struct sockaddr *)&sa), UV_EBADF);
  FAILS(uva_udp_recv(u, buf, 1, NULL), UV_EBADF);
  ck_assert_int_eq(uva_udp_set_queue(u, 1), UV_EBADF);
  ck_assert_int_eq(uva_udp_set_broadcast(u, 1), UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, held, NULL), UV_ECANCELED);
  uva_udp_free(NULL);
  DONE(loop);
}
END_TEST

START_TEST(dns_errors) {
  LOOP_INIT(loop);
  struct sockaddr unix_addr;
  memset(&unix_addr, 0, sizeof(unix_addr));
  unix_addr.sa_family = AF_UNIX;
  FAILS(uva_getaddrinfo(NULL, "localhost", NULL, NULL), UV_EINVAL);
  FAILS(uva_getaddrinfo(loop, NULL, NULL, NULL), UV_EINVAL);
  FAILS(uva_getnameinfo(NULL, &unix_addr, 0), UV_EINVAL);
  FAILS(uva_getnameinfo(loop, NULL, 0), UV_EINVAL);
  FAILS(uva_getnameinfo(loop, &unix_addr, 0), UV_EINVAL);
  uva_freeaddrinfo(NULL);
  uva_nameinfo_free(NULL);
  DONE(loop);
}
END_TEST

START_TEST(signal_errors) {
  LOOP_INIT(loop);
  uva_signal_t *sig = (uva_signal_t *)&loop;
  int bad[] = {0, -1, SIGKILL, SIGSTOP, NSIG};
  size_t i;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    FAILS(uva_signal(loop, bad[i]), UV_EINVAL);
    ck_assert_int_eq(uva_signal_listen(loop, bad[i], &sig), UV_EINVAL);
    ck_assert_ptr_null(sig);
  }
  FAILS(uva_signal(NULL, SIGUSR1), UV_EINVAL);
  ck_assert_int_eq(uva_signal_listen(NULL, SIGUSR1, &sig), UV_EINVAL);
  ck_assert_int_eq(uva_signal_listen(loop, SIGUSR1, NULL), UV_EINVAL);
  FAILS(uva_signal_next(NULL), UV_EINVAL);
  uva_signal_free(NULL);
  DONE(loop);
}
END_TEST

START_TEST(asyncfd_errors) {
  LOOP_INIT(loop);
  uva_asyncfd_t *a = (uva_asyncfd_t *)&loop;
  int fd = open("/dev/null", O_RDONLY);
  char path[] = "/tmp/uva-badinput-XXXXXX";
  int file = mkstemp(path);
  ck_assert_int_ge(file, 0);
  unlink(path);
  ck_assert_int_eq(uva_asyncfd_new(NULL, fd, &a), UV_EINVAL);
  ck_assert_ptr_null(a);
  ck_assert_int_eq(uva_asyncfd_new(loop, fd, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_asyncfd_new(loop, -1, &a), UV_EBADF);
  ck_assert_int_eq(uva_asyncfd_new(loop, 4000, &a), UV_EBADF);
  ck_assert_int_eq(uva_asyncfd_new(loop, file, &a), UV_EPERM);
  FAILS(uva_asyncfd_readable(NULL), UV_EINVAL);
  FAILS(uva_asyncfd_writable(NULL), UV_EINVAL);
  uva_asyncfd_free(NULL);
  close(file);
  close(fd);
  DONE(loop);
}
END_TEST

START_TEST(process_errors) {
  LOOP_INIT(loop);
  char *args[] = {"sh", "-c", "exit 0", NULL};
  uva_process_opts_t o;
  uva_process_t *p = (uva_process_t *)&o;
  memset(&o, 0, sizeof(o));
  o.file = "sh";
  o.args = args;
  ck_assert_int_eq(uva_process_spawn(NULL, &o, &p), UV_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(uva_process_spawn(loop, NULL, &p), UV_EINVAL);
  ck_assert_int_eq(uva_process_spawn(loop, &o, NULL), UV_EINVAL);
  o.flags = 0x100;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  o.flags = 0;
  o.stdio[2] = (uva_stdio_t)9;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  o.stdio[2] = UVA_STDIO_PIPE;
  o.file = NULL;
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_EINVAL);
  /* a missing program or cwd: uv_spawn's UV_ENOENT, the pipe freed */
  o.file = "/no/such/program";
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_ENOENT);
  ck_assert_ptr_null(p);
  o.file = "sh";
  o.cwd = "/no/such/dir";
  ck_assert_int_eq(uva_process_spawn(loop, &o, &p), UV_ENOENT);
  ck_assert_ptr_null(uva_process_stream(NULL, 1));
  ck_assert_ptr_null(uva_process_take_stream(NULL, 1));
  ck_assert_int_eq(uva_process_pid(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_process_kill(NULL, SIGTERM), UV_EINVAL);
  FAILS(uva_process_wait(NULL), UV_EINVAL);
  uva_process_free(NULL);
  DONE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("badinput");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_test(tc, null_loop);
  tcase_add_test(tc, null_args);
  tcase_add_test(tc, null_noops);
  tcase_add_test(tc, combinator_args);
  tcase_add_test(tc, sizes);
  tcase_add_test(tc, bad_error_codes);
  tcase_add_test(tc, settle_misuse);
  tcase_add_test(tc, cancel_then_misuse);
  tcase_add_test(tc, consumed_future);
  tcase_add_test(tc, another_loop);
  tcase_add_test(tc, outside_task);
  tcase_add_test(tc, inside_callbacks);
  tcase_add_test(tc, block_on_nothing_left);
  tcase_add_test(tc, shutdown_nothing_left);
  tcase_add_test(tc, fs_errors);
  tcase_add_test(tc, chan_misuse);
  tcase_add_test(tc, stream_misuse);
  tcase_add_test(tc, udp_errors);
  tcase_add_test(tc, dns_errors);
  tcase_add_test(tc, signal_errors);
  tcase_add_test(tc, asyncfd_errors);
  tcase_add_test(tc, process_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  if (count_alloc_install() != 0)
    return EXIT_FAILURE;
  return test_run_suite(suite());
}
