/* Task-local values: uva_task_local_set / uva_task_local_get. */
#include "test-util.h"

static int key_a, key_b; /* their addresses are the keys */
static int order[8], norder;

static void dtor_a(void *p) {
  order[norder++] = 1;
  free(p);
}

static void dtor_b(void *p) {
  order[norder++] = 2;
  free(p);
}

static int locals_body(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  char *a = test_strdup("a"), *b = test_strdup("b");
  int err;

  (void)result;
  ck_assert_ptr_null(uva_task_local_get(&key_a));
  ck_assert_int_eq(uva_task_local_set(&key_a, a, dtor_a), 0);
  ck_assert_int_eq(uva_task_local_set(&key_b, b, dtor_b), 0);
  /* kept across a suspension */
  if ((err = uva_await(uva_sleep(loop, 1), NULL)) != 0)
    return err;
  ck_assert_ptr_eq(uva_task_local_get(&key_a), a);
  ck_assert_str_eq(uva_task_local_get(&key_b), "b");
  /* replacing runs the old value's destructor now */
  ck_assert_int_eq(uva_task_local_set(&key_a, test_strdup("a2"), dtor_a), 0);
  ck_assert_int_eq(norder, 1);
  ck_assert_str_eq(uva_task_local_get(&key_a), "a2");
  /* setting the same pointer again does not */
  ck_assert_int_eq(
      uva_task_local_set(&key_a, uva_task_local_get(&key_a), dtor_a), 0);
  ck_assert_int_eq(norder, 1);
  return uva_await(uva_sleep(loop, 10000), NULL); /* cancelled here */
}

static int other_body(void *arg, uva_result_t *result) {
  (void)arg;
  (void)result;
  /* each task has its own values */
  ck_assert_ptr_null(uva_task_local_get(&key_a));
  ck_assert_int_eq(uva_task_local_set(&key_a, test_strdup("o"), free), 0);
  ck_assert_int_eq(uva_task_local_set(&key_a, NULL, NULL), 0); /* removed */
  ck_assert_ptr_null(uva_task_local_get(&key_a));
  return 0;
}

START_TEST(task_local_values) {
  LOOP_INIT(loop);
  uva_future_t *t;

  norder = 0;
  t = uva_spawn(loop, locals_body, loop);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, other_body, NULL), NULL),
                   0);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(t, 20), NULL),
                   UV_ETIMEDOUT);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  /* the cancelled task's destructors ran, newest first */
  ck_assert_int_eq(norder, 3);
  ck_assert_int_eq(order[1], 2);
  ck_assert_int_eq(order[2], 1);
  LOOP_CLOSE(loop);
}
END_TEST

static int freed_body(void *arg, uva_result_t *result) {
  (void)result;
  ck_assert_int_eq(uva_task_local_set(&key_b, test_strdup("f"), dtor_b), 0);
  return uva_await(uva_sleep(arg, 10000), NULL);
}

/* A task whose join future is freed is cancelled: its values go when its
 * body returns. */
START_TEST(task_local_join_freed) {
  LOOP_INIT(loop);
  uva_future_t *t;

  norder = 0;
  t = uva_spawn(loop, freed_body, loop);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 2), NULL), 0);
  ck_assert_int_eq(norder, 0);
  uva_future_free(t);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(norder, 1);
  ck_assert_int_eq(order[0], 2);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(task_local_outside_task) {
  ck_assert_int_eq(uva_task_local_set(&key_a, &key_a, NULL), UV_EINVAL);
  ck_assert_ptr_null(uva_task_local_get(&key_a));
}
END_TEST

static int null_key_body(void *arg, uva_result_t *result) {
  (void)arg;
  (void)result;
  ck_assert_int_eq(uva_task_local_set(NULL, &key_a, NULL), UV_EINVAL);
  ck_assert_ptr_null(uva_task_local_get(NULL));
  return 0;
}

START_TEST(task_local_bad_input) {
  LOOP_INIT(loop);
  ck_assert_int_eq(
      uva_block_on(loop, uva_spawn(loop, null_key_body, NULL), NULL), 0);
  LOOP_CLOSE(loop);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("task-local");
  TCase *tc = tcase_create("task-local");
  tcase_add_test(tc, task_local_values);
  tcase_add_test(tc, task_local_join_freed);
  tcase_add_test(tc, task_local_outside_task);
  tcase_add_test(tc, task_local_bad_input);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return test_run_suite(suite()); }
