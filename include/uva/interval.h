/** @file
 * uva intervals (tokio::time::interval).  Included by uva.h.  Every call is
 * made on the loop's thread.
 *
 * An interval has deadlines start, start + period, start + 2 * period, ...
 * (start: the uv_hrtime() of uva_interval_new).  A tick completes when its
 * deadline has passed (never earlier, 1 ms resolution, as uva_sleep); the
 * first completes at once, as Tokio's.  When a tick is taken later than 5 ms
 * after its deadline (the loop was busy, or nobody asked), the next deadline
 * follows the interval's uva_missed_tick_t, as Tokio's MissedTickBehavior. */
#ifndef UVA_INTERVAL_H
#define UVA_INTERVAL_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An interval. */
typedef struct uva_interval_s uva_interval_t;

/** What a late tick does to the next deadline. */
typedef enum uva_missed_tick {
  /** Catch up: the missed ticks complete at once, one after another, until
   *  the schedule is met again (the next deadline is the late one's plus
   *  one period).  Tokio's default. */
  UVA_TICK_BURST = 0,
  /** Start again from now: the next deadline is one period after the late
   *  tick was taken. */
  UVA_TICK_DELAY = 1,
  /** Skip the missed ticks: the next deadline is the first one of the
   *  original schedule after the late tick was taken. */
  UVA_TICK_SKIP = 2
} uva_missed_tick_t;

/** Makes an interval on loop with the given period (at least 1 ms) and
 *  missed-tick behaviour and stores it in *out.  Returns 0; UV_EINVAL if
 *  loop or out is NULL, period_ms is 0 or behavior unknown (*out is then
 *  NULL when out is not NULL); UV_ENOMEM without memory.  It uses one
 *  uv_timer_t, active only while a tick waits.  Freed with
 *  uva_interval_free. */
UVA_EXTERN int uva_interval_new(uv_loop_t *loop, uint64_t period_ms,
                                uva_missed_tick_t behavior,
                                uva_interval_t **out);

/** Returns a lazy future of the next tick: once it has a consumer it
 *  settles with value.u64 = the tick's deadline (uv_hrtime(), ns) when that
 *  has passed.  One tick may wait at a time.  Cancel safe: a tick counts as
 *  consumed only when its result is taken; cancelled, timed out, losing a
 *  select or dropped untaken, it leaves the deadline where it was, so no
 *  tick is lost (the next tick completes as this one would have).  Fails
 *  with UV_EINVAL if iv is NULL, UV_ENOMEM without memory; settles with
 *  UV_EBUSY if started while another tick of iv waits, UV_ECANCELED if iv
 *  is freed first. */
UVA_EXTERN uva_future_t *uva_interval_tick(uva_interval_t *iv);

/** Restarts the schedule: the next tick's deadline becomes one period from
 *  now (Tokio's reset).  A waiting tick waits for the new deadline.  NULL is
 *  allowed. */
UVA_EXTERN void uva_interval_reset(uva_interval_t *iv);

/** Frees iv: a waiting tick settles with UV_ECANCELED, and ticks made but
 *  not started settle so when they start.  The memory lives until its
 *  futures are gone and its timer is closed.  NULL is allowed. */
UVA_EXTERN void uva_interval_free(uva_interval_t *iv);

#ifdef __cplusplus
}
#endif
#endif /* UVA_INTERVAL_H */
