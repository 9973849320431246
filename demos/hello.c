/* hello: an async function that returns a value, awaited by a task.
 *
 * Mirrors (seed 000, "Using async/await Statements"):
 *
 *   async fn get_hello() -> String {
 *       "Hello, world!".into()
 *   }
 *
 *   async fn print_hello() {
 *       let hello = get_hello().await;
 *       println!("{}", hello);
 *   }
 *
 * In uva an "async fn" is a plain function that returns a uva_future_t.
 * get_hello has its answer at once, so it returns a future born settled
 * (uva_ready).  print_hello is a task: a function run on its own stack,
 * where uva_await suspends until a future settles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include <uva.h>

/* async fn get_hello() -> String: the String is heap memory that the future
 * owns (and frees with free()) until someone takes it. */
static uva_future_t *get_hello(uv_loop_t *loop) {
  char *s = strdup("Hello, world!");
  if (s == NULL)
    return uva_failed(loop, UV_ENOMEM);
  return uva_ready(loop, s, free);
}

/* async fn print_hello(): the task body.  arg is the loop. */
static int print_hello(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_value_t hello;
  int err;

  (void)result; /* returns nothing: () */
  err = uva_await(get_hello(loop), &hello); /* let hello = get_hello().await; */
  if (err != 0)
    return err;
  printf("%s\n", (char *)hello.ptr); /* println!("{}", hello); */
  free(hello.ptr);                   /* the value is ours now */
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

  /* Spawn print_hello and run the loop until it has finished. */
  err = uva_block_on(&loop, uva_spawn(&loop, print_hello, &loop), NULL);
  if (err != 0)
    fprintf(stderr, "print_hello: %s\n", uv_strerror(err));

  /* Nothing of uva's is left on the loop: it closes cleanly. */
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
