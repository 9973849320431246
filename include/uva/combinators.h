/** @file
 * uva combinators beyond join, select and timeout: the first success of n
 * futures, map and and_then without a task, and the loop of the running
 * task.  Included by uva.h.  Every call is made on the loop's thread. */
#ifndef UVA_COMBINATORS_H
#define UVA_COMBINATORS_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Consumes futures[0..n) and returns a future of the first of them to
 *  succeed (futures' select_ok, a "first mirror to answer"): it settles
 *  with 0 and value.u64 = the winner's index, and when its result is taken
 *  the winner's status (0), value and free function go to *winner.  The
 *  others are then cancelled and freed.  A child that fails does not win;
 *  when every child has failed, the future fails with the error of the
 *  last to fail.  statuses (may be NULL; else n entries) receives each
 *  child's status as it settles: the error of each that failed, 0 for the
 *  winner, UV_ECANCELED for those cancelled because another won.  It is
 *  lazy as uva_select is: once it has a consumer it starts its lazy
 *  children in order and stops at the first that succeeds at once, so of
 *  channel operations at most one takes effect; a winner dropped untaken
 *  gives back what it took.  winner and statuses must stay valid until the
 *  future's result is taken or it is freed.  Cancelling it cancels every
 *  child.  A child that settles with 0 wins, whatever a uva_future_map over
 *  it would make of that result.  Fails as uva_select (UV_EINVAL,
 *  UV_ENOMEM; the children are freed). */
UVA_EXTERN uva_future_t *uva_first_ok(uv_loop_t *loop, uva_future_t **futures,
                                      size_t n, uva_result_t *winner,
                                      int *statuses);

/** Maps a result: called with the result of the future given to
 *  uva_future_map (r->status, and on 0 r->value and r->free_fn, which the
 *  function now owns).  It may replace r->value and r->free_fn and returns
 *  the mapped status: 0, or a negative error (then a value left in r is
 *  freed with r->free_fn). */
typedef int (*uva_map_fn)(void *data, uva_result_t *r);

/** Consumes f and returns a future of fn(data, &f's result), without a task
 *  (FutureExt::map).  fn runs on the loop's thread when the mapped
 *  future's result is taken (uva_await returns, a then callback is called,
 *  a join's or select's result is taken), exactly once; it never runs for
 *  a result dropped untaken (that is given back as f's own would be, so
 *  the map is as cancel safe as f).  Until then the future reports f's own
 *  status (uva_future_status).  It is lazy if f is.  Cancelling it cancels
 *  f; it settles once f has.  An f that failed without a loop (UV_EINVAL or
 *  UV_ENOMEM before it could be made) is returned as it is.  Fails with
 *  UV_EINVAL if f is NULL, fn is NULL (f is freed) or f already has a
 *  consumer (f is left alone); UV_ENOMEM without memory (f is freed). */
UVA_EXTERN uva_future_t *uva_future_map(uva_future_t *f, uva_map_fn fn,
                                        void *data);

/** The next step of uva_future_and_then: gets the first future's value
 *  (and its free function: the value is the function's now) and returns
 *  the future whose result becomes the chain's.  It must return a future of
 *  the same loop that has no consumer (uva_failed to fail the chain). */
typedef uva_future_t *(*uva_and_then_fn)(void *data, uva_value_t value,
                                         uva_free_cb free_fn);

/** Consumes f and returns a future that, once f has succeeded, calls
 *  fn(data, value, free_fn) and settles with the result of the future fn
 *  returns (TryFutureExt::and_then), without a task.  If f fails, the chain
 *  fails with f's error and fn is never called.  fn runs from uva's run
 *  queue on the loop's thread, never inside a uva call.  The chain is lazy:
 *  f starts when the chain has a consumer.  Cancel safety: f's result is
 *  taken when fn runs (from then on f's effect is final); the second
 *  future's result is held until the chain's is taken, and given back if
 *  the chain is dropped untaken.  Cancelling the chain cancels the future it
 *  waits for.  If fn returns a future that already has a consumer or
 *  belongs to another loop, the chain fails with UV_EINVAL.  Fails as
 *  uva_future_map does. */
UVA_EXTERN uva_future_t *uva_future_and_then(uva_future_t *f,
                                             uva_and_then_fn fn, void *data);

/** Returns the loop of the running task (tokio::runtime::Handle::current),
 *  or, in a callback that uva runs from its queue (a uva_future_then
 *  callback, an and_then step), the loop running it; NULL elsewhere. */
UVA_EXTERN uv_loop_t *uva_current_loop(void);

#ifdef __cplusplus
}
#endif
#endif /* UVA_COMBINATORS_H */
