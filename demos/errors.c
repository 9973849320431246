/* errors: an async operation that can fail, and both outcomes handled.
 *
 * Mirrors (seed 004, "Handling Errors in Async Code"):
 *
 *   async fn read_file() -> Result<String, std::io::Error> {
 *       fs::read_to_string("example.txt").await
 *   }
 *
 *   #[tokio::main]
 *   async fn main() {
 *       match read_file().await {
 *           Ok(content) => println!("File content: {}", content),
 *           Err(e) => println!("Error reading file: {}", e),
 *       }
 *   }
 *
 * A uva future settles with status 0 and a value (Ok) or with a negative
 * libuv error code (Err); uv_strerror gives its text.  The file's content is
 * printed exactly as read, so a file that ends in a newline gives an empty
 * line after it, as in Rust.  Either way the error is handled: exit code 0.
 */
#include <stdio.h>

#include <uv.h>
#include <uva.h>

/* async fn read_file() -> Result<String, std::io::Error> */
static uva_future_t *read_file(uv_loop_t *loop) {
  return uva_fs_read_file(loop, "example.txt");
}

/* #[tokio::main] async fn main().  arg is the loop. */
static int tokio_main(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_value_t content;
  int err;

  (void)result;
  /* match read_file().await { ... } */
  err = uva_await(read_file(loop), &content);
  if (err == 0) {
    uva_buf_t *buf = content.ptr; /* Ok(content) */
    printf("File content: ");
    fwrite(buf->base, 1, buf->len, stdout); /* every byte, NULs too */
    printf("\n");
    uva_buf_free(buf);
  } else {
    printf("Error reading file: %s\n", uv_strerror(err)); /* Err(e) */
  }
  return 0; /* handled */
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
