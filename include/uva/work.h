/** @file
 * Blocking work on libuv's thread pool (tokio::task::spawn_blocking).
 */
#ifndef UVA_WORK_H
#define UVA_WORK_H

#include "uva/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Runs fn(arg, &result) on libuv's thread pool (uv_queue_work) and returns a
 * future of its return code and result (spawn_blocking).  fn runs on a
 * thread of libuv's pool: it may make only the uva calls that any thread
 * may make (docs/guides/threads.md lists them: the blocking channel calls,
 * uva_chan_close, the waker calls, uva_semaphore_release, uva_notify_one,
 * uva_token_cancel, ...).  arg
 * stays the caller's.  fn is done with it once the future has settled; or,
 * when the future was dropped before (freed, or cancelled and let go by a
 * timeout, select, join or cancelled task that held it), once a later
 * uva_block_on or uva_loop_shutdown returns, since both wait for such jobs;
 * uva_spawn_blocking_ex tells exactly when.  Cancelling removes a job that
 * has not started (uv_cancel: the future settles with UV_ECANCELED at once
 * and fn never runs); a job already running cannot be stopped, so its future
 * settles with UV_ECANCELED when fn returns, and its result is freed.  Fails
 * with UV_EINVAL if loop or fn is NULL, UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_spawn_blocking(uv_loop_t *loop, uva_task_fn fn,
                                            void *arg);

/** As uva_spawn_blocking, and the job owns arg: arg_free(arg) (if arg_free is
 * not NULL) is called exactly once, on the loop's thread, as soon as fn has
 * returned (before the future's consumer sees the result) or the job was
 * removed before it started (cancelled, or by uva_loop_shutdown), whatever
 * happened to the future meanwhile.  So arg may outlive a future that was
 * cancelled, timed out or lost a select, and is freed when the job no longer
 * uses it.  A job that cannot start calls arg_free(arg) before this call
 * returns, on the calling thread, in every case: UV_EINVAL (loop or fn is
 * NULL), UV_ENOMEM without memory, or libuv's error from uv_queue_work. */
UVA_EXTERN uva_future_t *uva_spawn_blocking_ex(uv_loop_t *loop,
                                               uva_task_fn fn, void *arg,
                                               uva_free_cb arg_free);

#ifdef __cplusplus
}
#endif
#endif /* UVA_WORK_H */
