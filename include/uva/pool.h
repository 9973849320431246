/** @file
 * A pool of loops in threads of uva's own, for programs that have no loops
 * or threads of their own (tokio's multi-threaded runtime).
 *
 * Each thread of the pool runs one uv_loop_t of its own, made by the pool,
 * which serves (uva_loop_serve) from start to shutdown.  Work is placed on
 * a chosen loop or on the least loaded one (the fewest live tasks); tasks do
 * not move between loops afterwards (no work stealing): each loop keeps its
 * own slabs and stacks.  The program's own loops may be used side by side
 * with a pool (uva_spawn_on works in both directions once a loop serves).
 */
#ifndef UVA_POOL_H
#define UVA_POOL_H

#include "uva/base.h"
#include "uva/task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A pool of loops in threads (uva_pool_new); ended with uva_pool_free. */
typedef struct uva_pool_s uva_pool_t;

/** Starts n threads, each running a loop of its own that serves, and stores
 * the pool in *out; n 0 means one per core the process may use
 * (uv_available_parallelism, at most 1024).  Each thread has a 1 MiB stack
 * (address space: the loop's own code and the program's callbacks run on
 * it; tasks run on stacks of their own).  Returns once every loop serves.  Returns 0;
 * UV_EINVAL if out is NULL or n is above 1024 (*out is then NULL when out is
 * not NULL); UV_ENOMEM, or libuv's error from making a loop or a thread: then
 * nothing is left running and *out is NULL. */
UVA_EXTERN int uva_pool_new(size_t n, uva_pool_t **out);

/** Returns the number of loops of pool (0 for NULL). */
UVA_EXTERN size_t uva_pool_size(const uva_pool_t *pool);

/** Returns loop i of pool (0 <= i < uva_pool_size), or NULL if pool is NULL
 * or i is out of range.  Any thread; valid until uva_pool_free.  The loop is
 * the pool's: use it as a target (uva_spawn_on, uva_future_on, channels made
 * on it from its own tasks), never run or close it. */
UVA_EXTERN uv_loop_t *uva_pool_loop(const uva_pool_t *pool, size_t i);

/** Returns the loop of pool with the fewest live tasks now (ties go round
 * robin), NULL for NULL.  Any thread.  A loop's count is its tasks alive, as
 * the loop last published them (at the end of each run of its queue), plus
 * the requests queued for it, plus the picks a task of that loop made of its
 * own loop since (plain spawns, which show only once that task yields).  It
 * is read without a lock, so it may be slightly out of date by the time
 * work arrives. */
UVA_EXTERN uv_loop_t *uva_pool_pick(uva_pool_t *pool);

/** uva_spawn_on(loop, uva_pool_pick(pool), fn, arg): starts fn as a task on
 * the least loaded loop of pool; the join future is a future of loop, on
 * whose thread this is called (a pool loop's own, or the program's).
 * Cancelling or freeing the join future cancels the remote task, as for
 * uva_spawn_on (its pending or next await returns UV_ECANCELED; the join
 * future settles once it has returned); uva_future_detach lets it run on.
 * Fails as uva_spawn_on, and with UV_EINVAL if pool is NULL. */
UVA_EXTERN uva_future_t *uva_pool_spawn(uv_loop_t *loop, uva_pool_t *pool,
                                        uva_task_fn fn, void *arg);

/** From a thread that runs no loop (the main thread): runs fn(arg, &result)
 * as a task on the least loaded loop of pool and blocks until it returns,
 * as uva_spawn_on_blocking.  Returns as that call (*result is zeroed on
 * every error); UV_EINVAL also if pool is NULL or when called on a thread
 * of a pool. */
UVA_EXTERN int uva_pool_block_on(uva_pool_t *pool, uva_task_fn fn, void *arg,
                                 uva_result_t *result);

/** Shuts pool down and frees it (Runtime::shutdown_timeout): every loop
 * is told at once, stops serving and runs uva_loop_shutdown with timeout_ms
 * (its tasks are cancelled and may clean up), side by side with the others
 * (a task awaiting work on another loop of the pool gets its answer); then
 * each loop runs until nothing of uva's is left on it (also the answers to
 * work it placed on other loops, and futures handed to uva_future_then or
 * uva_future_detach outside tasks, which are not cancelled) and is closed;
 * every thread is joined.  Work placed on a loop of the pool once it has
 * stopped serving (the first thing it does after this call began) fails
 * with UV_ECONNREFUSED; work that reached it before is cancelled with its
 * other tasks.  Returns 0 when every loop closed cleanly (uv_loop_close
 * returned 0); UV_ETIMEDOUT if tasks were left after timeout_ms on some loop
 * (they ignored the cancel: their loop is then run until they return, so
 * this call waits for them); UV_EBUSY, before UV_ETIMEDOUT, if some loop
 * could not be closed (handles of the program's own were left on it: a bug
 * of the program; the loop is then leaked, not freed under them).  Returns
 * UV_EINVAL, doing nothing, when called on a thread of a pool (it would
 * wait for itself).  Called on the thread of a loop of the program's own,
 * that loop does not run while this call waits: tasks of the pool that
 * await work on it (uva_spawn_on, uva_future_on) cannot get their answer,
 * and this call would not return; let such work end first, or call it
 * from a thread that runs no loop.  NULL returns 0. */
UVA_EXTERN int uva_pool_free(uva_pool_t *pool, uint64_t timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* UVA_POOL_H */
