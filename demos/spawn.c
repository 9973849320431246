/* spawn: two tasks run concurrently; main awaits both join handles.
 *
 * Mirrors (seed 004, "Concurrent Execution with Tokio"):
 *
 *   #[tokio::main]
 *   async fn main() {
 *       let handle1 = task::spawn(async { "Task 1 completed" });
 *       let handle2 = task::spawn(async { "Task 2 completed" });
 *
 *       let result1 = handle1.await.unwrap();
 *       let result2 = handle2.await.unwrap();
 *
 *       println!("{}, {}", result1, result2);
 *   }
 *
 * uva_spawn returns the task's join future (tokio's JoinHandle).  Unlike a
 * JoinHandle, dropping it (uva_future_free) cancels the task; use
 * uva_future_detach to let a task run on unwatched.
 */
#include <stdio.h>

#include <uv.h>
#include <uva.h>

/* async { "Task 1 completed" }: a string literal, so free_fn stays NULL
 * (nobody must free it). */
static int task1(void *arg, uva_result_t *result) {
  (void)arg;
  result->value.ptr = (void *)"Task 1 completed";
  return 0;
}

/* async { "Task 2 completed" } */
static int task2(void *arg, uva_result_t *result) {
  (void)arg;
  result->value.ptr = (void *)"Task 2 completed";
  return 0;
}

/* #[tokio::main] async fn main().  arg is the loop. */
static int tokio_main(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_value_t result1, result2;
  uva_future_t *handle1, *handle2;
  int err;

  (void)result;
  handle1 = uva_spawn(loop, task1, NULL);
  handle2 = uva_spawn(loop, task2, NULL);

  /* let result1 = handle1.await.unwrap(); -- both tasks already run while
   * we wait here. */
  err = uva_await(handle1, &result1);
  if (err != 0) {
    uva_future_free(handle2); /* cancels task 2 */
    return err;
  }
  /* let result2 = handle2.await.unwrap(); */
  err = uva_await(handle2, &result2);
  if (err != 0)
    return err;

  printf("%s, %s\n", (const char *)result1.ptr, (const char *)result2.ptr);
  return 0;
}

int main(void) {
  uv_loop_t loop;
  int err;

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }

  err = uva_block_on(&loop, uva_spawn(&loop, tokio_main, &loop), NULL);
  if (err != 0)
    fprintf(stderr, "main task: %s\n", uv_strerror(err));

  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
