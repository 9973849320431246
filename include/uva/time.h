/** @file
 * Time: sleep on one uv_timer_t (tokio::time::sleep).
 */
#ifndef UVA_TIME_H
#define UVA_TIME_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns a future that settles with 0 once ms milliseconds have passed since
 * this call (one uv_timer_t), as tokio::time::sleep: it never settles
 * earlier, measured with uv_hrtime(), however long the caller computed since
 * the loop last updated its cached time (uv_now); uva never calls
 * uv_update_time on the loop.  The resolution is 1 ms (libuv's timers count
 * whole milliseconds): it may settle up to about a millisecond later than
 * asked, and later still when the loop is busy.  ms 0 uses no timer: the
 * future settles from uva's run queue, so that a task looping on it lets the
 * other tasks and libuv's timers and I/O run, as it would with uva_yield.
 * Cancelling stops the timer.  Fails with UV_EINVAL if loop is NULL,
 * UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_sleep(uv_loop_t *loop, uint64_t ms);

#ifdef __cplusplus
}
#endif
#endif /* UVA_TIME_H */
