/** @file
 * Tasks: stackful coroutines on the loop (tokio::spawn, .await, yield),
 * block_on and loop shutdown.
 */
#ifndef UVA_TASK_H
#define UVA_TASK_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A task body (also the body of uva_spawn_blocking).  Returns 0 or a negative
 * error code; on 0 it may set result->value and, if the value owns memory,
 * result->free_fn.  result->status is ignored. */
typedef int (*uva_task_fn)(void *arg, uva_result_t *result);

/** Smallest stack a task may ask for. */
#define UVA_STACK_MIN (16 * 1024)
/** The stack size of a task spawned without options. */
#define UVA_STACK_DEFAULT (256 * 1024)

/** Options for uva_spawn_ex. */
typedef struct uva_spawn_opts {
  size_t stack_size; /**< 0 for UVA_STACK_DEFAULT; rounded up to a page */
} uva_spawn_opts_t;

/** Starts fn(arg, &result) as a task on loop and returns its join future,
 * which settles with fn's return code and result.  The task first runs from
 * the loop after this call returns (as tokio::spawn).  Cancelling the join
 * future aborts the task cooperatively: its pending or next uva_await returns
 * UV_ECANCELED, the task may clean up, and the join future settles with
 * UV_ECANCELED when fn returns (any result is freed).  Freeing the join future
 * cancels the task; uva_future_detach lets it run on.  Fails with UV_EINVAL if
 * loop or fn is NULL, UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_spawn(uv_loop_t *loop, uva_task_fn fn, void *arg);

/** As uva_spawn, with options (opts may be NULL).  Also fails with UV_EINVAL if
 * opts->stack_size is neither 0 nor between UVA_STACK_MIN and 1 TiB; the
 * task's join future fails with UV_ENOMEM when the system will not map a
 * stack that large.  Stacks are mmap'd (address space: only the pages a task
 * touches use memory, also in ASan builds) and reused.  Below each lies a
 * 1 MiB guard region of address space, so that running past the end of a
 * stack, even by a frame that skips pages (a large local array written from
 * its low end), is detected instead of corrupting memory: on the first
 * 16,384 stacks of the process the region is inaccessible and the first
 * access faults; on the others a canary checked at every switch, and the
 * region checked when the stack is released, find it.  Either way uva
 * reports it on stderr and the process aborts.  A frame wider than the guard
 * region may go unnoticed; code built with -fstack-clash-protection (which
 * touches every page of a large frame) is always caught.  Tasks share the
 * loop thread's floating-point environment (rounding mode, exception masks,
 * flush-to-zero), as Tokio's tasks do: a task that changes it should restore
 * it before it awaits or yields.  Cancelling the join future cancels the
 * task as for uva_spawn. */
UVA_EXTERN uva_future_t *uva_spawn_ex(uv_loop_t *loop, uva_task_fn fn,
                                      void *arg, const uva_spawn_opts_t *opts);

/** Inside a task: suspends the task until f settles, consumes f and returns
 * its status; on 0, *value (if value is not NULL) receives the value, which
 * the caller now owns (with value NULL it is freed).  An f that has already
 * settled returns at once without a switch, except that after 128 such
 * awaits in a row the task yields first (a cooperative budget, as Tokio's:
 * a task that always finds a message cannot starve the others).  Returns
 * UV_EINVAL if f is NULL, if f was made on another loop, or when called
 * outside a task (f is freed): use uva_block_on or uva_future_then there.  Returns UV_ECANCELED, once,
 * when the task's join future has been cancelled (f is cancelled and
 * freed); if f has already settled on its own, when passed in with 0 (a
 * channel receive that took a message at once) or in any way while the task
 * waited, its result is returned instead and the next await point reports
 * the cancel. */
UVA_EXTERN int uva_await(uva_future_t *f, uva_value_t *value);

/** Inside a task: lets every other ready task run, then returns 0.  Returns
 * UV_EINVAL outside a task, UV_ECANCELED (once) when the task has been
 * cancelled. */
UVA_EXTERN int uva_yield(void);

/** Returns 1 when called from inside a uva task, else 0. */
UVA_EXTERN int uva_in_task(void);

/** Runs loop until f settles (futures::executor::block_on, #[tokio::main]),
 * consumes f and returns its status; on 0, *value (if not NULL) receives the
 * value.  With uva_loop_shutdown, the only uva call that runs uv_run.  It
 * returns once f has settled, libuv has finished closing the handles uva was
 * closing, and every pool job and file request of uva's whose future was
 * cancelled while it ran (by the caller, or dropped by a timeout, select,
 * join, cancelled task or uva_future_free) has returned: the caller may then
 * free what such a uva_spawn_blocking job used (a job that never returns
 * keeps this call waiting).  The loop's other work is left for the next
 * uv_run: tasks cancelled on the way (the losers of a select) may still be
 * cleaning up, which uva_loop_shutdown finishes.  It must not be called from
 * the program's own libuv callbacks either (uv_run is not reentrant, and uva
 * cannot tell).  Returns UV_EINVAL if loop or f is NULL or f belongs to
 * another loop; UV_EBUSY when called from inside a task or a uva callback;
 * UV_EAGAIN when the loop runs out of work while f is still pending: no
 * active handle or request is left and no task is ready, so nothing could
 * settle it.  f is then cancelled, what that wakes runs (a task's clean-up),
 * and f is freed.  A pending poll future or a waiting channel receive is
 * pending work (another thread may wake it): block_on waits for it.  In
 * every case f is consumed. */
UVA_EXTERN int uva_block_on(uv_loop_t *loop, uva_future_t *f,
                            uva_value_t *value);

/** Ends uva's work on loop, as Tokio's Runtime::shutdown_timeout, so that
 * uv_loop_close can return 0.  It cancels every task on loop: a started one
 * sees UV_ECANCELED at its pending or next uva_await or uva_yield and may clean
 * up; one that has not started never runs; tasks spawned while this call runs
 * are born cancelled; each join future settles with UV_ECANCELED when its task
 * has returned.  It removes uva's thread-pool jobs that have not started (their
 * futures settle with UV_ECANCELED, fn never runs, arg_free runs); running ones
 * cannot be stopped.  Then it runs the loop (uv_run, as uva_block_on does)
 * until no task is left, every pool job and file request of uva's has returned,
 * uva's run queue is empty and its handles are closed; or until timeout_ms
 * milliseconds have passed since the call (measured as for uva_sleep; 0 runs
 * the loop once without waiting).  Futures the program holds outside tasks, or
 * handed to uva_future_then or uva_future_detach, are not cancelled (cancel or
 * free them first): a pending sleep, receive or poll future among them keeps
 * its handle.  Returns 0 once everything has finished: uv_loop_close then
 * returns 0 unless such futures, or handles and requests of the program's own,
 * are left.  Returns UV_ETIMEDOUT when the deadline came first: the tasks left
 * ignored the cancel (they caught UV_ECANCELED and went on awaiting) and stay
 * suspended where they are, cancelled, with their stacks (a suspended task's
 * frames are never freed under it); pool jobs left go on running; the loop
 * state stays alive, and a later uva_loop_shutdown or uv_run can finish them.
 * *left (if left is not NULL) receives how many tasks and pool requests were
 * left: 0 unless the call returns UV_ETIMEDOUT (other unfinished work of uva's,
 * such as a poll future that keeps waking itself, is not counted).  Returns 0
 * at once if uva has nothing on loop.  Returns UV_EINVAL if loop is NULL;
 * UV_EBUSY when called from inside a task or a uva callback (nothing is
 * cancelled then); like uva_block_on, it must not be called from the program's
 * own libuv callbacks.  Allocates nothing.  On the loop's thread. */
UVA_EXTERN int uva_loop_shutdown(uv_loop_t *loop, uint64_t timeout_ms,
                                 size_t *left);

#ifdef __cplusplus
}
#endif
#endif /* UVA_TASK_H */
