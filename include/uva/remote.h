/** @file
 * Loops that work together: a loop that serves others, spawning a task on
 * another loop and awaiting its join future on one's own, running a future
 * made on another loop (tokio::runtime::Handle::spawn, Handle::block_on).
 *
 * Every uva object belongs to one loop and is used on that loop's thread.
 * Work crosses loops only through these calls (and channels, whose tasks may
 * live on any loop: see chan.h): a request is queued on the target loop's
 * inbox and the loop is woken through one uv_async_t (wake-ups coalesce:
 * many requests, one wake-up); the result comes back the same way.  Nothing
 * here takes a lock shared by all loops on the way.
 *
 * A loop takes work from other threads only while it *serves*
 * (uva_loop_serve): the program says so, on the loop's own thread, because
 * serving keeps the loop running (uv_run does not return while it serves),
 * as a listening socket would.  The loops of a uva_pool_t serve from start
 * to shutdown.
 */
#ifndef UVA_REMOTE_H
#define UVA_REMOTE_H

#include "uva/base.h"
#include "uva/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Makes the future to run on another loop (uva_future_on): called on that
 * loop's thread with the target loop and arg; returns a future of target
 * (a failed one on error; NULL counts as UV_ENOMEM). */
typedef uva_future_t *(*uva_make_fn)(uv_loop_t *target, void *arg);

/** On loop's thread: loop starts serving other threads, which may then place
 * work on it (uva_spawn_on, uva_future_on, uva_spawn_on_blocking).  While it
 * serves, uva keeps a referenced handle on loop, so uv_run(loop,
 * UV_RUN_DEFAULT) does not return.  Returns 0; UV_EINVAL if loop is NULL;
 * UV_EALREADY if it serves already; UV_ENOMEM, or libuv's error from
 * uv_async_init. */
UVA_EXTERN int uva_loop_serve(uv_loop_t *loop);

/** On loop's thread: loop stops serving.  Work placed on it afterwards fails
 * with UV_ECONNREFUSED; work already placed (queued or running) goes on and
 * its results are delivered.  Once nothing else of uva's is pending on loop,
 * uv_run can return.  Returns 0; UV_EINVAL if loop is NULL; UV_ENOENT if it
 * does not serve. */
UVA_EXTERN int uva_loop_serve_stop(uv_loop_t *loop);

/** Returns 1 if loop serves now (uva_loop_serve), else 0.  Any thread. */
UVA_EXTERN int uva_loop_serving(uv_loop_t *loop);

/** Called on loop's thread (from a task, a uva callback or the program's own
 * libuv callback on it): starts fn(arg, &result) as a task of target, which
 * must serve, and returns its join future, a future of loop.  target may be
 * loop itself (then this is uva_spawn).  The join future settles with fn's
 * status and result, moved to loop (the value's free function then runs on
 * loop's thread if nobody takes it).  Cancelling or freeing the join future
 * cancels the remote task (as for uva_spawn: its pending or next await
 * returns UV_ECANCELED, and the join future settles with UV_ECANCELED when
 * fn has returned); uva_future_detach lets it run on.  While the task runs,
 * loop keeps a wait open (uv_run on loop does not return before the result
 * is back).  Fails (a failed future) with UV_EINVAL if loop, target or fn is
 * NULL; UV_ECONNREFUSED if target does not serve (then or by the time the
 * request reaches it); UV_ENOMEM. */
UVA_EXTERN uva_future_t *uva_spawn_on(uv_loop_t *loop, uv_loop_t *target,
                                      uva_task_fn fn, void *arg);

/** As uva_spawn_on, but without a task: make(target, arg) runs on target's
 * thread and the future it returns is consumed there (its result is taken
 * when it settles, as uva_future_then would) and its result moved to the
 * returned future of loop: the way to await, join, select or time out a
 * future of another loop.  Cancelling or freeing the returned future
 * cancels the remote one.  Fails as uva_spawn_on (make NULL: UV_EINVAL). */
UVA_EXTERN uva_future_t *uva_future_on(uv_loop_t *loop, uv_loop_t *target,
                                       uva_make_fn make, void *arg);

/** From any thread (one that runs no loop too): starts fn(arg, &result) as a
 * task of target, which must serve, and returns without waiting for it
 * (tokio's Handle::spawn with the JoinHandle dropped): its result is freed
 * on target when it returns.  Returns 0 once the request is queued on
 * target (it runs even if target stops serving meanwhile); UV_EINVAL if
 * target or fn is NULL; UV_ECONNREFUSED if target does not serve;
 * UV_ENOMEM. */
UVA_EXTERN int uva_spawn_on_detached(uv_loop_t *target, uva_task_fn fn,
                                     void *arg);

/** From a thread that runs no loop (the program's main thread, a plain
 * worker): runs fn(arg, &result) as a task of target, which must serve, and
 * blocks until it returns (Handle::block_on).  Returns fn's status and, on
 * 0, fills *result (if not NULL; else the value is freed).  Returns
 * UV_EINVAL if target or fn is NULL or when called on the thread of a loop
 * uva runs (it could deadlock: use uva_spawn_on there); UV_ECONNREFUSED if
 * target does not serve; UV_ENOMEM; UV_ECANCELED if the task was cancelled
 * (uva_loop_shutdown of target). */
UVA_EXTERN int uva_spawn_on_blocking(uv_loop_t *target, uva_task_fn fn,
                                     void *arg, uva_result_t *result);

#ifdef __cplusplus
}
#endif
#endif /* UVA_REMOTE_H */
