/** @file
 * Futures: the bridge from libuv callbacks (uva_future_new), ready and
 * failed futures, then-callbacks, cancel, free and detach, and poll futures
 * with wakers (the seed's `impl Future for MyFuture`).
 */
#ifndef UVA_FUTURE_H
#define UVA_FUTURE_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A handle that asks for another poll of a poll future (uva_future_poll). */
typedef struct uva_waker_s uva_waker_t;

/** Returns a pending future on loop that the caller settles with
 * uva_future_resolve, uva_future_resolve_u64 or uva_future_reject: the bridge
 * from any libuv callback.  Fails (returns a failed future) with UV_EINVAL
 * when loop is NULL, UV_ENOMEM without memory.  The caller owns the future
 * until it hands it to a consumer; it may keep settling it after that.
 * Cancelling (or dropping) it settles it with UV_ECANCELED and calls its
 * cancel hook (uva_future_on_cancel), so the producer can stop its work;
 * what a cancel undoes is the producer's to say. */
UVA_EXTERN uva_future_t *uva_future_new(uv_loop_t *loop);

/** Called once, on the loop's thread, when the consumer of a future made by
 * uva_future_new cancels or frees it while it is pending (a timeout that
 * expired, a select it lost, a cancelled task): the producer's cue to stop
 * the work underneath (uv_read_stop, uv_cancel, uv_close).  The future has
 * then settled with UV_ECANCELED; the producer must still settle it once
 * (uva_future_resolve returns UV_ECANCELED then), which it may do from the
 * callback itself. */
typedef void (*uva_cancel_cb)(uva_future_t *f, void *data);

/** Registers cb(f, data) as f's cancel hook (the bridge hook), replacing any
 * earlier one; cb NULL removes it.  f must have been made by uva_future_new
 * and not yet settled by its producer.  Returns 0; UV_EINVAL if f is NULL, was
 * not made by uva_future_new or has been settled by its producer; UV_EBUSY
 * if its consumer has already cancelled it (a cancel that already happened
 * is not reported again). */
UVA_EXTERN int uva_future_on_cancel(uva_future_t *f, uva_cancel_cb cb,
                                    void *data);

/** Settles f, made by uva_future_new, with ptr; free_fn (may be NULL) frees ptr
 * if nobody takes it.  Whoever waits on f is woken from the loop, never inside
 * this call.  Returns 0; UV_EINVAL if f is NULL, was not made by
 * uva_future_new, or has already been settled by this producer (f keeps its
 * first result and ptr stays the caller's); UV_ECANCELED if the consumer
 * cancelled f first (ptr is then freed with free_fn).  The producer must
 * settle every future it made exactly once, even a cancelled one: until then
 * uva keeps its memory, so a late resolve is always safe. */
UVA_EXTERN int uva_future_resolve(uva_future_t *f, void *ptr,
                                  uva_free_cb free_fn);

/** As uva_future_resolve, with an integer value. */
UVA_EXTERN int uva_future_resolve_u64(uva_future_t *f, uint64_t value);

/** Settles f, made by uva_future_new, with the error err, which must be
 * negative.  Returns as uva_future_resolve, and UV_EINVAL if err >= 0. */
UVA_EXTERN int uva_future_reject(uva_future_t *f, int err);

/** Returns a future born settled with ptr (freed with free_fn, which may be
 * NULL, if nobody takes it): the seed's `async fn get_hello`.  Fails with
 * UV_EINVAL when loop is NULL, UV_ENOMEM without memory; in both cases ptr is
 * freed with free_fn, so no value is leaked.  Already settled, it cannot be
 * cancelled (uva_future_cancel returns UV_EBUSY); dropped untaken, its value
 * is freed with free_fn. */
UVA_EXTERN uva_future_t *uva_ready(uv_loop_t *loop, void *ptr,
                                   uva_free_cb free_fn);

/** Returns a future born settled with an integer value.  Fails as uva_ready;
 * cannot be cancelled, as uva_ready. */
UVA_EXTERN uva_future_t *uva_ready_u64(uv_loop_t *loop, uint64_t value);

/** Returns a future born failed with err.  An err that is not negative, or a
 * NULL loop, gives a future failed with UV_EINVAL.  Settled already: a
 * cancel has nothing to stop (UV_EBUSY). */
UVA_EXTERN uva_future_t *uva_failed(uv_loop_t *loop, int err);

/** Called once on the loop's thread with a settled future's status and value;
 * the value (and any memory it owns) now belongs to the callback. */
typedef void (*uva_then_cb)(int status, uva_value_t value, void *data);

/** Consumes f: cb(status, value, data) runs once, on the loop's thread, when f
 * settles, and never inside this call (for an already settled f it runs from
 * the loop soon after).  Returns 0.  UV_EINVAL if f or cb is NULL (f is
 * freed).  A future that failed before it had a loop (made with a NULL loop
 * or when memory ran out) cannot call back: then returns its error and cb is
 * never called. */
UVA_EXTERN int uva_future_then(uva_future_t *f, uva_then_cb cb, void *data);

/** Cancels a pending future: the libuv work underneath stops (timer stopped,
 * fs or work request uv_cancel'd) and f settles with UV_ECANCELED.  Leaf
 * futures settle at once; a task's join future settles once the task has
 * returned (its pending or next uva_await returns UV_ECANCELED); join, select
 * and timeout cancel their children.  Memory libuv still uses stays alive
 * until libuv's own callback runs.  Does not consume f.  Returns 0; UV_EINVAL
 * if f is NULL; UV_EBUSY if f has already settled (as uv_cancel does). */
UVA_EXTERN int uva_future_cancel(uva_future_t *f);

/** Drops f: a pending f is cancelled and freed as soon as it settles; a value
 * nobody took is freed with its free function.  NULL is allowed. */
UVA_EXTERN void uva_future_free(uva_future_t *f);

/** Consumes f without cancelling it: the work goes on and its result is freed
 * when it settles (a fire-and-forget task or send).  NULL is allowed. */
UVA_EXTERN void uva_future_detach(uva_future_t *f);

/** Returns UVA_PENDING while f has not settled, then its status (0 or a
 * negative error).  Does not consume f.  UV_EINVAL if f is NULL. */
UVA_EXTERN int uva_future_status(const uva_future_t *f);

/** Polled on the loop's thread.  Returns 0 when ready (after setting
 * out->value and, if the value owns memory, out->free_fn), UVA_PENDING when
 * not ready yet, or a negative error code.  When it returns UVA_PENDING it
 * should arrange for uva_waker_wake(waker) to be called (it may keep the
 * waker with uva_waker_clone); it is polled again after that. */
typedef int (*uva_poll_fn)(void *state, uva_waker_t *waker, uva_result_t *out);

/** Returns a future driven by fn: fn(state, waker, &out) is first called from
 * the loop soon after this call, then once after each wake-up, until it
 * returns something other than UVA_PENDING.  state_free (may be NULL) is
 * called with state exactly once, on the loop's thread, when the future has
 * settled or been cancelled.  Cancelling it from inside its own poll function
 * (directly, or through a select that the poll settles) takes effect when
 * that poll returns.  Fails with UV_EINVAL if loop or fn is NULL, UV_ENOMEM
 * without memory; in both cases state_free is called with state. */
UVA_EXTERN uva_future_t *uva_future_poll(uv_loop_t *loop, uva_poll_fn fn,
                                         void *state, uva_free_cb state_free);

/** Asks for another poll of the waker's future.  Callable from any thread, any
 * number of times (wake-ups before the next poll are coalesced into one); a
 * no-op once the future has settled.  From the loop's own thread it makes no
 * syscall; from other threads it goes through uv_async_send.  NULL is
 * allowed. */
UVA_EXTERN void uva_waker_wake(uva_waker_t *w);

/** Returns w with one more reference: the copy stays valid, on any thread,
 * until uva_waker_drop, even after the future is gone.  Callable from any
 * thread.  The waker handed to a poll function is valid only during that
 * call unless cloned. */
UVA_EXTERN uva_waker_t *uva_waker_clone(uva_waker_t *w);

/** Drops a reference taken with uva_waker_clone.  Callable from any thread.
 * NULL is allowed. */
UVA_EXTERN void uva_waker_drop(uva_waker_t *w);

#ifdef __cplusplus
}
#endif
#endif /* UVA_FUTURE_H */
