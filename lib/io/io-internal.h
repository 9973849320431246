/* uva's internal declarations for the io layer (lib/io/): what one io
 * module offers the others, and what uva_loop_shutdown (lib/core/loop.c)
 * uses to cancel pool work and to set its deadline.  Never installed. */
#ifndef UVA_IO_INTERNAL_H
#define UVA_IO_INTERNAL_H

#include "internal.h"

/* ---- blocking work (work.c) -------------------------------------------- */

/* A job of uva's own on libuv's thread pool (one uv_work_t): fn(arg, result)
 * runs on a pool thread and must touch nothing but arg, which uva owns and
 * frees (uva__free) once the job is over.  Cancelling the future settles it
 * at once; a result that comes back after that is dropped.  On failure arg
 * is freed too. */
uva_future_t *uva__blocking(uva__loop_t *L, uva_task_fn fn, void *arg);
/* Removes every job of L's that has not started yet (its future settles with
 * UV_ECANCELED); running ones are left to finish. */
void uva__work_cancel_all(uva__loop_t *L);

/* ---- time (time.c) ----------------------------------------------------- */

/* The uv_hrtime() at which ms milliseconds from now have passed (saturating
 * at UINT64_MAX). */
uint64_t uva__deadline(uint64_t ms);
/* The timeout for uv_timer_start of a timer that fires once deadline (in
 * uv_hrtime()) has passed, in loop time: loop time is uv_hrtime() in whole
 * milliseconds as of the loop iteration's start, so the timeout is longer by
 * how stale uv_now is.  At least 1, so that a timer started from a timer
 * callback is never due within the same iteration.  libuv may still fire it
 * up to a millisecond early (clocks read at different times): the callback
 * checks uv_hrtime() and starts it again for the rest. */
uint64_t uva__timer_ms(uv_loop_t *loop, uint64_t deadline);

#endif /* UVA_IO_INTERNAL_H */
