/* The future core: settle once, one consumer, then, cancel, free, values. */
#include "test-util.h"


START_TEST(version) {
  ck_assert_uint_eq(uva_version(), UVA_VERSION_HEX);
  ck_assert_str_eq(uva_version_string(), "0.2.0");
}
END_TEST

START_TEST(ready_then) {
  LOOP_INIT(loop);
  then_rec r = {0};
  r.in_call = 1;
  ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, 42), record, &r), 0);
  r.in_call = 0;
  ck_assert_int_eq(r.calls, 0); /* never inside the registering call */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_uint_eq(r.value.u64, 42);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(resolve_from_callback) {
  LOOP_INIT(loop);
  then_rec r = {0};
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_status(f), UVA_PENDING);
  ck_assert_int_eq(uva_future_then(f, record, &r), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0); /* nothing keeps it */
  ck_assert_int_eq(r.calls, 0);
  r.in_call = 1;
  ck_assert_int_eq(uva_future_resolve(f, test_strdup("hi"), free), 0);
  r.in_call = 0;
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_str_eq(r.value.ptr, "hi");
  free(r.value.ptr);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(double_completion) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_resolve_u64(f, 1), 0);
  ck_assert_int_eq(uva_future_resolve_u64(f, 2), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(f), 0);
  uva_value_t v;
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(reject) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_reject(f, 5), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, 0), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), 0);
  ck_assert_int_eq(uva_future_status(f), UV_EIO);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_EIO);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(bad_arguments) {
  LOOP_INIT(loop);
  ck_assert_int_eq(uva_future_status(uva_future_new(NULL)), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve(NULL, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_resolve_u64(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_future_reject(NULL, UV_EIO), UV_EINVAL);
  ck_assert_int_eq(uva_future_then(NULL, record, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_cancel(NULL), UV_EINVAL);
  ck_assert_int_eq(uva_future_status(NULL), UV_EINVAL);
  uva_future_free(NULL);
  uva_future_detach(NULL);
  uva_result_free(NULL);
  /* then without a callback frees the future */
  frees = 0;
  ck_assert_int_eq(
      uva_future_then(uva_ready(loop, malloc(4), count_free), NULL, NULL),
      UV_EINVAL);
  ck_assert_int_eq(frees, 1);
  /* a ready future with no loop frees its value and fails */
  frees = 0;
  uva_future_t *f = uva_ready(NULL, malloc(4), count_free);
  ck_assert_int_eq(frees, 1);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  then_rec r = {0};
  ck_assert_int_eq(uva_future_then(f, record, &r), UV_EINVAL);
  /* resolve works only on futures made by uva_future_new */
  f = uva_ready_u64(loop, 1);
  ck_assert_int_eq(uva_future_resolve_u64(f, 2), UV_EINVAL);
  uva_future_free(f);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(failed_futures) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_failed(loop, UV_ENOENT);
  ck_assert_int_eq(uva_future_status(f), UV_ENOENT);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), UV_ENOENT);
  f = uva_failed(loop, 3);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  f = uva_failed(NULL, UV_EIO);
  ck_assert_int_eq(uva_future_status(f), UV_EINVAL);
  uva_future_free(f);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(free_unconsumed_value) {
  LOOP_INIT(loop);
  frees = 0;
  uva_future_free(uva_ready(loop, malloc(8), count_free));
  ck_assert_int_eq(frees, 1);
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_resolve(f, malloc(8), count_free), 0);
  uva_future_free(f);
  ck_assert_int_eq(frees, 2);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(cancel_user_future) {
  LOOP_INIT(loop);
  then_rec r = {0};
  uva_future_t *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_status(f), UV_ECANCELED);
  ck_assert_int_eq(uva_future_cancel(f), UV_EBUSY); /* cancel after settle */
  ck_assert_int_eq(uva_future_then(f, record, &r), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  /* the producer finds out, and its value is freed */
  frees = 0;
  ck_assert_int_eq(uva_future_resolve(f, malloc(1), count_free), UV_ECANCELED);
  ck_assert_int_eq(frees, 1);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(free_pending_user_future) {
  LOOP_INIT(loop);
  uva_future_t *f = uva_future_new(loop);
  uva_future_free(f); /* cancelled; memory kept for the producer */
  ck_assert_int_eq(uva_future_reject(f, UV_EIO), UV_ECANCELED);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(detach) {
  LOOP_INIT(loop);
  frees = 0;
  uva_future_t *f = uva_future_new(loop);
  uva_future_detach(f);
  ck_assert_int_eq(uva_future_resolve(f, malloc(3), count_free), 0);
  ck_assert_int_eq(frees, 1); /* nobody took it */
  uva_future_detach(uva_ready(loop, malloc(3), count_free));
  ck_assert_int_eq(frees, 2);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

START_TEST(result_free) {
  uva_result_t r;
  frees = 0;
  r.status = 0;
  r.value.ptr = malloc(5);
  r.free_fn = count_free;
  uva_result_free(&r);
  ck_assert_int_eq(frees, 1);
  ck_assert_ptr_null(r.free_fn);
  uva_result_free(&r);
  ck_assert_int_eq(frees, 1);
}
END_TEST

static int order[4];
static int order_n;
static void note(int status, uva_value_t value, void *data) {
  (void)status;
  (void)data;
  order[order_n++] = (int)value.u64;
}

START_TEST(then_order) {
  LOOP_INIT(loop);
  int i;
  order_n = 0;
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(uva_future_then(uva_ready_u64(loop, (uint64_t)i), note, NULL), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(order_n, 4);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(order[i], i);
  LOOP_CLOSE_NOW(loop);
}
END_TEST

static size_t n_malloc, n_free;
static void *count_malloc(size_t n) {
  n_malloc++;
  return malloc(n);
}
static void *count_realloc(void *p, size_t n) {
  if (p == NULL)
    n_malloc++;
  return realloc(p, n);
}
static void *count_calloc(size_t n, size_t m) {
  n_malloc++;
  return calloc(n, m);
}
static void count_free_fn(void *p) {
  if (p != NULL)
    n_free++;
  free(p);
}

static int alloc_task(void *arg, uva_result_t *r) {
  uv_loop_t *loop = arg;
  uva_value_t v;
  int st = uva_await(uva_sleep(loop, 1), NULL);
  if (st == 0)
    st = uva_await(uva_ready_u64(loop, 9), &v);
  r->value.u64 = v.u64;
  return st;
}

START_TEST(replace_allocator) {
  ck_assert_int_eq(uva_replace_allocator(NULL, realloc, calloc, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, NULL, calloc, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, NULL, free), UV_EINVAL);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, calloc, NULL), UV_EINVAL);
  n_malloc = n_free = 0;
  ck_assert_int_eq(uva_replace_allocator(count_malloc, count_realloc, count_calloc,
                                         count_free_fn), 0);
  {
    LOOP_INIT(loop);
    uva_value_t v;
    ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, alloc_task, loop), &v), 0);
    ck_assert_uint_eq(v.u64, 9);
    LOOP_CLOSE_NOW(loop);
  }
  /* uva's memory went through the replacement, and all of it came back */
  ck_assert_uint_gt(n_malloc, 0);
  ck_assert_uint_eq(n_malloc, n_free);
  ck_assert_int_eq(uva_replace_allocator(malloc, realloc, calloc, free), 0);
}
END_TEST

/* ---- the bridge hook (uva_future_on_cancel) ------------------------------ */

typedef struct {
  int calls;
  uva_future_t *f;
  int resolve_status; /* what a resolve from inside the hook returned */
} hook_rec;

static void on_cancel_resolve(uva_future_t *f, void *data) {
  hook_rec *h = data;
  h->calls++;
  h->f = f;
  /* the producer may settle it from the hook itself */
  h->resolve_status = uva_future_resolve(f, malloc(8), count_free);
}

START_TEST(on_cancel_by_timeout) {
  LOOP_INIT(loop);
  hook_rec h = {0, NULL, 0};
  uva_future_t *f = uva_future_new(loop);
  frees = 0;
  ck_assert_int_eq(uva_future_on_cancel(f, on_cancel_resolve, &h), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(f, 5), NULL), UV_ETIMEDOUT);
  ck_assert_int_eq(h.calls, 1);
  ck_assert_ptr_eq(h.f, f);
  ck_assert_int_eq(h.resolve_status, UV_ECANCELED);
  ck_assert_int_eq(frees, 1); /* the late value was freed */
  LOOP_CLOSE(loop);
}
END_TEST

static void on_cancel_count(uva_future_t *f, void *data) {
  (void)f;
  ((hook_rec *)data)->calls++;
}

START_TEST(on_cancel_by_free_and_select) {
  LOOP_INIT(loop);
  hook_rec h1 = {0, NULL, 0}, h2 = {0, NULL, 0};
  uva_future_t *a = uva_future_new(loop), *b = uva_future_new(loop);
  uva_future_t *fs[2];
  uva_result_t w;
  ck_assert_int_eq(uva_future_on_cancel(a, on_cancel_count, &h1), 0);
  ck_assert_int_eq(uva_future_on_cancel(b, on_cancel_count, &h2), 0);
  /* b loses a select against a ready future: its producer hears of it */
  fs[0] = uva_ready_u64(loop, 7);
  fs[1] = b;
  ck_assert_int_eq(uva_block_on(loop, uva_select(loop, fs, 2, &w), NULL), 0);
  ck_assert_int_eq(w.status, 0);
  ck_assert_int_eq(h2.calls, 1);
  ck_assert_int_eq(uva_future_resolve_u64(b, 1), UV_ECANCELED);
  /* a is freed while pending */
  uva_future_free(a);
  ck_assert_int_eq(h1.calls, 1);
  ck_assert_int_eq(uva_future_reject(a, UV_EIO), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(on_cancel_not_called_when_resolved) {
  LOOP_INIT(loop);
  hook_rec h = {0, NULL, 0};
  uva_future_t *f = uva_future_new(loop);
  uva_value_t v;
  ck_assert_int_eq(uva_future_on_cancel(f, on_cancel_count, &h), 0);
  ck_assert_int_eq(uva_future_resolve_u64(f, 42), 0);
  ck_assert_int_eq(uva_block_on(loop, f, &v), 0);
  ck_assert_uint_eq(v.u64, 42);
  ck_assert_int_eq(h.calls, 0);
  /* a hook removed with cb NULL is not called */
  f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_on_cancel(f, on_cancel_count, &h), 0);
  ck_assert_int_eq(uva_future_on_cancel(f, NULL, NULL), 0);
  uva_future_free(f);
  ck_assert_int_eq(h.calls, 0);
  ck_assert_int_eq(uva_future_resolve_u64(f, 1), UV_ECANCELED);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(on_cancel_bad_input) {
  LOOP_INIT(loop);
  hook_rec h = {0, NULL, 0};
  uva_future_t *r = uva_ready_u64(loop, 1), *f = uva_future_new(loop);
  ck_assert_int_eq(uva_future_on_cancel(NULL, on_cancel_count, &h), UV_EINVAL);
  ck_assert_int_eq(uva_future_on_cancel(r, on_cancel_count, &h), UV_EINVAL);
  ck_assert_int_eq(uva_future_on_cancel(uva_failed(NULL, UV_EIO),
                                        on_cancel_count, &h),
                   UV_EINVAL);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_future_on_cancel(f, on_cancel_count, &h), UV_EBUSY);
  ck_assert_int_eq(h.calls, 0);
  ck_assert_int_eq(uva_future_resolve_u64(f, 1), UV_ECANCELED);
  uva_future_free(f);
  uva_future_free(r);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("future");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, version);
  tcase_add_test(tc, ready_then);
  tcase_add_test(tc, resolve_from_callback);
  tcase_add_test(tc, double_completion);
  tcase_add_test(tc, reject);
  tcase_add_test(tc, bad_arguments);
  tcase_add_test(tc, failed_futures);
  tcase_add_test(tc, free_unconsumed_value);
  tcase_add_test(tc, cancel_user_future);
  tcase_add_test(tc, free_pending_user_future);
  tcase_add_test(tc, detach);
  tcase_add_test(tc, result_free);
  tcase_add_test(tc, then_order);
  tcase_add_test(tc, replace_allocator);
  tcase_add_test(tc, on_cancel_by_timeout);
  tcase_add_test(tc, on_cancel_by_free_and_select);
  tcase_add_test(tc, on_cancel_not_called_when_resolved);
  tcase_add_test(tc, on_cancel_bad_input);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
