/* channel: a spawned task sends a message; main receives it.
 *
 * Mirrors (seed 004, "Using Channels for Communication"):
 *
 *   #[tokio::main]
 *   async fn main() {
 *       let (tx, mut rx) = mpsc::channel(32);
 *
 *       tokio::spawn(async move {
 *           tx.send("Message from async task").await.unwrap();
 *       });
 *
 *       let msg = rx.recv().await.unwrap();
 *       println!("Received: {}", msg);
 *   }
 *
 * A uva channel copies fixed-size messages by value.  The message here is a
 * `const char *`, so each message is one pointer (to a string literal, which
 * lives forever).  One channel object serves as both tx and rx.
 */
#include <stdio.h>

#include <uv.h>
#include <uva.h>

/* async move { tx.send("Message from async task").await.unwrap(); } */
static int sender(void *arg, uva_result_t *result) {
  uva_chan_t *tx = arg;
  const char *msg = "Message from async task";

  (void)result;
  /* send copies msg (the pointer) at once; the future settles when the
   * message is in the channel (at once here: there is room for 32). */
  return uva_await(uva_chan_send(tx, &msg), NULL);
}

/* #[tokio::main] async fn main().  arg is the loop. */
static int tokio_main(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  uva_future_t *handle;
  uva_chan_t *ch;
  const char *msg;
  int err, send_err;

  (void)result;
  /* let (tx, mut rx) = mpsc::channel(32); */
  err = uva_chan_new(loop, sizeof(const char *), 32, &ch);
  if (err != 0)
    return err;

  /* tokio::spawn(...).  Tokio lets the dropped JoinHandle go; here we keep
   * it and await it below, which also tells us whether the send worked
   * (the .unwrap() inside the task). */
  handle = uva_spawn(loop, sender, ch);

  /* let msg = rx.recv().await.unwrap();  recv copies the message into msg
   * when it arrives; msg must stay valid until then. */
  err = uva_await(uva_chan_recv(ch, &msg), NULL);
  if (err == 0)
    printf("Received: %s\n", msg); /* println!("Received: {}", msg); */

  send_err = uva_await(handle, NULL);
  if (err == 0)
    err = send_err;
  uva_chan_free(ch); /* tx and rx are dropped */
  return err;
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
