/* sleep: a task that sleeps two seconds without blocking the loop.
 *
 * Mirrors (seed 004, "Using Async/Await in Rust"):
 *
 *   async fn async_function() -> String {
 *       sleep(Duration::from_secs(2)).await;
 *       "Async completed".to_string()
 *   }
 *
 *   #[tokio::main]
 *   async fn main() {
 *       let result = async_function().await;
 *       println!("{}", result);
 *   }
 *
 * #[tokio::main] becomes uva_block_on over a spawned task: uva_block_on is
 * the one uva call that runs the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <uva.h>

/* async fn async_function() -> String.  arg is the loop. */
static int async_function(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  int err;

  /* sleep(Duration::from_secs(2)).await; -- one uv_timer_t underneath. */
  err = uva_await(uva_sleep(loop, 2000), NULL);
  if (err != 0)
    return err;

  /* "Async completed".to_string(): a heap string the caller will own. */
  result->value.ptr = strdup("Async completed");
  if (result->value.ptr == NULL)
    return UV_ENOMEM;
  result->free_fn = free;
  return 0;
}

int main(void) {
  uva_value_t result;
  uv_loop_t loop;
  int err;

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }

  /* let result = async_function().await; */
  err = uva_block_on(&loop, uva_spawn(&loop, async_function, &loop), &result);
  if (err != 0) {
    fprintf(stderr, "async_function: %s\n", uv_strerror(err));
  } else {
    printf("%s\n", (char *)result.ptr); /* println!("{}", result); */
    free(result.ptr);
  }

  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
