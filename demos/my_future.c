/* my_future: a hand-written future, driven by polling.
 *
 * Mirrors (seed 004, "What Are Futures?"):
 *
 *   struct MyFuture;
 *
 *   impl Future for MyFuture {
 *       type Output = i32;
 *       fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<i32> {
 *           Poll::Ready(42)
 *       }
 *   }
 *
 *   fn main() {
 *       let future = MyFuture;
 *       println!("Future resolved with: {}",
 *                futures::executor::block_on(future));
 *   }
 *
 * The seed's future is ready on its first poll.  Ours says "not yet" once, to
 * show the other half of the contract: a poll function that returns
 * UVA_PENDING must make sure its waker gets woken (here at once, as
 * `cx.waker().wake_by_ref(); return Poll::Pending;` would in Rust), or it is
 * never polled again.  Real futures keep a clone of the waker
 * (uva_waker_clone) and wake it from a callback or another thread later.
 */
#include <inttypes.h>
#include <stdio.h>

#include <uv.h>
#include <uva.h>

/* struct MyFuture: the state the poll function works on. */
typedef struct {
  int polls; /* how many times we were polled */
} my_future_t;

/* fn poll(self, cx) -> Poll<i32> */
static int my_future_poll(void *state, uva_waker_t *waker, uva_result_t *out) {
  my_future_t *self = state;

  self->polls++;
  if (self->polls == 1) {
    /* Not ready.  Ask to be polled again: the loop polls us once more,
     * soon, from its own turn (never from inside this call). */
    uva_waker_wake(waker);
    return UVA_PENDING; /* Poll::Pending */
  }
  out->value.i64 = 42; /* Poll::Ready(42): an integer, nothing to free */
  return 0;
}

int main(void) {
  my_future_t state = {0};
  uva_value_t value;
  uv_loop_t loop;
  int err;

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }

  /* let future = MyFuture;  state lives on main's stack, so no state_free. */
  uva_future_t *future = uva_future_poll(&loop, my_future_poll, &state, NULL);

  /* futures::executor::block_on(future) */
  err = uva_block_on(&loop, future, &value);
  if (err != 0)
    fprintf(stderr, "block_on: %s\n", uv_strerror(err));
  else
    printf("Future resolved with: %" PRId64 "\n", value.i64);
  /* (state.polls is 2 now: Pending once, then Ready.) */

  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
