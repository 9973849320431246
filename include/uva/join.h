/** @file
 * Combinators over any future: join (join!), select (select!) and timeout
 * (tokio::time::timeout).
 */
#ifndef UVA_JOIN_H
#define UVA_JOIN_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Consumes f and returns a future that settles with f's result, or with
 * UV_ETIMEDOUT once ms milliseconds have passed since this call (measured as
 * for uva_sleep: never earlier, 1 ms resolution), in which case f is
 * cancelled and freed (a lazy f that had not started has had no effect).
 * An f that has already settled is returned as it is.  The timer starts at
 * the call; f starts when the timeout has a consumer.  A timeout dropped
 * after f settled drops f's result untaken (it gives back what it took).
 * ms 0 uses no timer: the timeout settles from uva's run queue (f gets until
 * then), so that a loop of zero timeouts cannot starve libuv.  Fails with
 * UV_EINVAL if f is NULL, UV_ENOMEM without memory (f is freed). */
UVA_EXTERN uva_future_t *uva_timeout(uva_future_t *f, uint64_t ms);

/** Consumes futures[0..n) and returns a future that settles with 0 once every
 * one has settled (join!).  When its result is taken (uva_await, block_on,
 * a then callback, or a select it won) each child's status, value and free
 * function is stored in results[i], and the caller then owns the values
 * (uva_result_free).  results must stay valid until then or until the join
 * is freed.  The join is lazy: it starts its lazy children (channel
 * operations, reads) when it has a consumer.  Cancelling or freeing it
 * cancels its pending children and drops the settled ones untaken (a
 * received message goes back to its channel, a value is freed); nothing is
 * stored.  n == 0 settles at once.  Fails with UV_EINVAL if loop is NULL,
 * futures or results is NULL while n > 0, or an entry is NULL, belongs to
 * another loop, already has a consumer or appears twice (every non-NULL
 * entry that has no other consumer is freed, once), UV_ENOMEM without
 * memory (likewise). */
UVA_EXTERN uva_future_t *uva_join(uv_loop_t *loop, uva_future_t **futures,
                                  size_t n, uva_result_t *results);

/** Consumes futures[0..n) and returns a future that settles with 0 and value
 * u64 = the index of the first of them to settle (select!); when its result
 * is taken the winner's status, value and free function go to *winner.  The
 * others are cancelled and freed.  One that had already settled when select
 * was called wins, the first in order.  The select is lazy: when it has a
 * consumer it starts its lazy children in order and stops at the first that
 * completes at once, so of a select over channel operations exactly one
 * takes effect (Go's select, Concurrent ML's choose; stronger than
 * tokio::select!, where a losing branch may have taken a message): a
 * receive that loses takes no message, a send that loses sends nothing.
 * winner must stay valid until the select's result is taken or it is
 * freed; a select freed or cancelled after it settled drops its winner
 * untaken (it gives back what it took).  Fails with UV_EINVAL if loop or
 * winner is NULL, n == 0, futures is NULL, or an entry is NULL, belongs to
 * another loop, already has a consumer or appears twice (every non-NULL
 * entry that has no other consumer is freed, once), UV_ENOMEM without
 * memory (likewise). */
UVA_EXTERN uva_future_t *uva_select(uv_loop_t *loop, uva_future_t **futures,
                                    size_t n, uva_result_t *winner);

#ifdef __cplusplus
}
#endif
#endif /* UVA_JOIN_H */
