/* uva: the async model of Rust and Tokio (futures, tasks, channels) on the
 * caller's libuv loop.  MIT licensed; see LICENSE.
 *
 * Conventions that hold for every call below:
 *  - Every call takes the caller's uv_loop_t (directly or through an object
 *    made on it).  uva never touches loop->data or the data field of a handle
 *    it did not create, and calls uv_run only inside uva_block_on and
 *    uva_loop_shutdown.
 *  - Errors are 0 or a negative libuv error code (UV_EINVAL, UV_ENOMEM, ...);
 *    uv_strerror() and uv_err_name() give their text.
 *  - A call that returns a future never returns NULL: an operation that
 *    cannot start returns a future that has already failed with the reason,
 *    so one uva_await both waits and reports.
 *  - A future has exactly one consumer: uva_await, uva_future_then,
 *    uva_join, uva_select, uva_timeout, uva_block_on, uva_future_detach or
 *    uva_future_free.  Handing it to a consumer gives it to the library: the
 *    pointer must not be used again.  A consumer takes the future even when it
 *    fails (it frees it).  A value nobody took is freed with the free function
 *    it was resolved with.  A consumer handed a future that another consumer
 *    already holds (and that is therefore still alive) refuses it with
 *    UV_EINVAL and leaves it alone; after that, using the pointer is
 *    undefined.
 *  - Operations that take something from the outside world or have an
 *    effect that cannot be undone (channel sends and receives, stream reads
 *    and writes, accepts, UDP receives and sends) are lazy, as Rust's
 *    futures are: they take effect only once the future has a consumer
 *    (uva_await, uva_future_then, uva_block_on, uva_future_detach, or a
 *    join, select or timeout that has a consumer itself).  A lazy future
 *    freed or cancelled before that has had no effect.
 *  - Exactly once: an operation that took something (a message, bytes, a
 *    connection, a datagram) whose result is then dropped untaken (a select
 *    it lost, a join or timeout that was cancelled or freed, uva_future_free
 *    of the settled future) gives it back where the next operation of the
 *    same kind finds it, in order.  A result is taken when uva_await or
 *    uva_block_on returns it, when a then callback is called, or when a
 *    join's or select's own result is taken.
 *  - Unless a comment says otherwise, a call must be made on the thread that
 *    runs the loop it works on.
 */
#ifndef UVA_H
#define UVA_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(UVA_SHARED_BUILD)
#define UVA_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(UVA_SHARED)
#define UVA_EXTERN __declspec(dllimport)
#elif defined(__GNUC__) && defined(UVA_SHARED_BUILD)
#define UVA_EXTERN __attribute__((visibility("default")))
#else
#define UVA_EXTERN /* nothing */
#endif

#define UVA_VERSION_MAJOR 0
#define UVA_VERSION_MINOR 1
#define UVA_VERSION_PATCH 0
#define UVA_VERSION_HEX                                                        \
  ((UVA_VERSION_MAJOR << 16) | (UVA_VERSION_MINOR << 8) | UVA_VERSION_PATCH)

/* Returns UVA_VERSION_HEX of the library actually linked. */
UVA_EXTERN unsigned int uva_version(void);

/* Returns the linked library's version as "MAJOR.MINOR.PATCH", a static
 * string. */
UVA_EXTERN const char *uva_version_string(void);

/* ------------------------------------------------------------------------ */
/* Values and results                                                        */

typedef struct uva_future_s uva_future_t;
typedef struct uva_chan_s uva_chan_t;
typedef struct uva_waker_s uva_waker_t;

/* What a future settles with: a pointer or a 64-bit integer. */
typedef union uva_value {
  void *ptr;
  uint64_t u64;
  int64_t i64;
} uva_value_t;

/* Frees a pointer value; free() itself fits. */
typedef void (*uva_free_cb)(void *ptr);

/* A settled outcome: status 0 with a value, or a negative error code.  When
 * free_fn is not NULL, value.ptr is owned by whoever holds the result. */
typedef struct uva_result {
  int status;
  uva_value_t value;
  uva_free_cb free_fn;
} uva_result_t;

/* Calls r->free_fn(r->value.ptr) when free_fn is set, then clears both.  NULL
 * is allowed and does nothing. */
UVA_EXTERN void uva_result_free(uva_result_t *r);

/* A byte buffer owned by the holder, NUL-terminated at base[len] (the NUL is
 * not counted in len).  base points into the same allocation. */
typedef struct uva_buf {
  char *base;
  size_t len;
} uva_buf_t;

/* Frees a uva_buf_t that uva handed out (its type fits uva_free_cb).  NULL is
 * allowed. */
UVA_EXTERN void uva_buf_free(void *buf);

/* Returned by a poll function (and by uva_future_status) while a future has
 * not settled.  It is positive, so it never collides with an error code. */
#define UVA_PENDING 1

/* ------------------------------------------------------------------------ */
/* Futures                                                                   */

/* Returns a pending future on loop that the caller settles with
 * uva_future_resolve, uva_future_resolve_u64 or uva_future_reject: the bridge
 * from any libuv callback.  Fails (returns a failed future) with UV_EINVAL
 * when loop is NULL, UV_ENOMEM without memory.  The caller owns the future
 * until it hands it to a consumer; it may keep settling it after that.
 * Cancelling (or dropping) it settles it with UV_ECANCELED and calls its
 * cancel hook (uva_future_on_cancel), so the producer can stop its work;
 * what a cancel undoes is the producer's to say. */
UVA_EXTERN uva_future_t *uva_future_new(uv_loop_t *loop);

/* Called once, on the loop's thread, when the consumer of a future made by
 * uva_future_new cancels or frees it while it is pending (a timeout that
 * expired, a select it lost, a cancelled task): the producer's cue to stop
 * the work underneath (uv_read_stop, uv_cancel, uv_close).  The future has
 * then settled with UV_ECANCELED; the producer must still settle it once
 * (uva_future_resolve returns UV_ECANCELED then), which it may do from the
 * callback itself. */
typedef void (*uva_cancel_cb)(uva_future_t *f, void *data);

/* Registers cb(f, data) as f's cancel hook (the bridge hook), replacing any
 * earlier one; cb NULL removes it.  f must have been made by uva_future_new
 * and not yet settled by its producer.  Returns 0; UV_EINVAL if f is NULL, was
 * not made by uva_future_new or has been settled by its producer; UV_EBUSY
 * if its consumer has already cancelled it (a cancel that already happened
 * is not reported again). */
UVA_EXTERN int uva_future_on_cancel(uva_future_t *f, uva_cancel_cb cb,
                                    void *data);

/* Settles f, made by uva_future_new, with ptr; free_fn (may be NULL) frees ptr
 * if nobody takes it.  Whoever waits on f is woken from the loop, never inside
 * this call.  Returns 0; UV_EINVAL if f is NULL, was not made by
 * uva_future_new, or has already been settled by this producer (f keeps its
 * first result and ptr stays the caller's); UV_ECANCELED if the consumer
 * cancelled f first (ptr is then freed with free_fn).  The producer must
 * settle every future it made exactly once, even a cancelled one: until then
 * uva keeps its memory, so a late resolve is always safe. */
UVA_EXTERN int uva_future_resolve(uva_future_t *f, void *ptr,
                                  uva_free_cb free_fn);

/* As uva_future_resolve, with an integer value. */
UVA_EXTERN int uva_future_resolve_u64(uva_future_t *f, uint64_t value);

/* Settles f, made by uva_future_new, with the error err, which must be
 * negative.  Returns as uva_future_resolve, and UV_EINVAL if err >= 0. */
UVA_EXTERN int uva_future_reject(uva_future_t *f, int err);

/* Returns a future born settled with ptr (freed with free_fn, which may be
 * NULL, if nobody takes it): the seed's `async fn get_hello`.  Fails with
 * UV_EINVAL when loop is NULL, UV_ENOMEM without memory; in both cases ptr is
 * freed with free_fn, so no value is leaked.  Already settled, it cannot be
 * cancelled (uva_future_cancel returns UV_EBUSY); dropped untaken, its value
 * is freed with free_fn. */
UVA_EXTERN uva_future_t *uva_ready(uv_loop_t *loop, void *ptr,
                                   uva_free_cb free_fn);

/* Returns a future born settled with an integer value.  Fails as uva_ready;
 * cannot be cancelled, as uva_ready. */
UVA_EXTERN uva_future_t *uva_ready_u64(uv_loop_t *loop, uint64_t value);

/* Returns a future born failed with err.  An err that is not negative, or a
 * NULL loop, gives a future failed with UV_EINVAL.  Settled already: a
 * cancel has nothing to stop (UV_EBUSY). */
UVA_EXTERN uva_future_t *uva_failed(uv_loop_t *loop, int err);

/* Called once on the loop's thread with a settled future's status and value;
 * the value (and any memory it owns) now belongs to the callback. */
typedef void (*uva_then_cb)(int status, uva_value_t value, void *data);

/* Consumes f: cb(status, value, data) runs once, on the loop's thread, when f
 * settles, and never inside this call (for an already settled f it runs from
 * the loop soon after).  Returns 0.  UV_EINVAL if f or cb is NULL (f is
 * freed).  A future that failed before it had a loop (made with a NULL loop
 * or when memory ran out) cannot call back: then returns its error and cb is
 * never called. */
UVA_EXTERN int uva_future_then(uva_future_t *f, uva_then_cb cb, void *data);

/* Cancels a pending future: the libuv work underneath stops (timer stopped,
 * fs or work request uv_cancel'd) and f settles with UV_ECANCELED.  Leaf
 * futures settle at once; a task's join future settles once the task has
 * returned (its pending or next uva_await returns UV_ECANCELED); join, select
 * and timeout cancel their children.  Memory libuv still uses stays alive
 * until libuv's own callback runs.  Does not consume f.  Returns 0; UV_EINVAL
 * if f is NULL; UV_EBUSY if f has already settled (as uv_cancel does). */
UVA_EXTERN int uva_future_cancel(uva_future_t *f);

/* Drops f: a pending f is cancelled and freed as soon as it settles; a value
 * nobody took is freed with its free function.  NULL is allowed. */
UVA_EXTERN void uva_future_free(uva_future_t *f);

/* Consumes f without cancelling it: the work goes on and its result is freed
 * when it settles (a fire-and-forget task or send).  NULL is allowed. */
UVA_EXTERN void uva_future_detach(uva_future_t *f);

/* Returns UVA_PENDING while f has not settled, then its status (0 or a
 * negative error).  Does not consume f.  UV_EINVAL if f is NULL. */
UVA_EXTERN int uva_future_status(const uva_future_t *f);

/* ------------------------------------------------------------------------ */
/* Poll futures: the seed's `impl Future for MyFuture`                       */

/* Polled on the loop's thread.  Returns 0 when ready (after setting
 * out->value and, if the value owns memory, out->free_fn), UVA_PENDING when
 * not ready yet, or a negative error code.  When it returns UVA_PENDING it
 * should arrange for uva_waker_wake(waker) to be called (it may keep the
 * waker with uva_waker_clone); it is polled again after that. */
typedef int (*uva_poll_fn)(void *state, uva_waker_t *waker, uva_result_t *out);

/* Returns a future driven by fn: fn(state, waker, &out) is first called from
 * the loop soon after this call, then once after each wake-up, until it
 * returns something other than UVA_PENDING.  state_free (may be NULL) is
 * called with state exactly once, on the loop's thread, when the future has
 * settled or been cancelled.  Cancelling it from inside its own poll function
 * (directly, or through a select that the poll settles) takes effect when
 * that poll returns.  Fails with UV_EINVAL if loop or fn is NULL, UV_ENOMEM
 * without memory; in both cases state_free is called with state. */
UVA_EXTERN uva_future_t *uva_future_poll(uv_loop_t *loop, uva_poll_fn fn,
                                         void *state, uva_free_cb state_free);

/* Asks for another poll of the waker's future.  Callable from any thread, any
 * number of times (wake-ups before the next poll are coalesced into one); a
 * no-op once the future has settled.  From the loop's own thread it makes no
 * syscall; from other threads it goes through uv_async_send.  NULL is
 * allowed. */
UVA_EXTERN void uva_waker_wake(uva_waker_t *w);

/* Returns w with one more reference: the copy stays valid, on any thread,
 * until uva_waker_drop, even after the future is gone.  Callable from any
 * thread.  The waker handed to a poll function is valid only during that
 * call unless cloned. */
UVA_EXTERN uva_waker_t *uva_waker_clone(uva_waker_t *w);

/* Drops a reference taken with uva_waker_clone.  Callable from any thread.
 * NULL is allowed. */
UVA_EXTERN void uva_waker_drop(uva_waker_t *w);

/* ------------------------------------------------------------------------ */
/* Tasks: stackful coroutines on the loop                                    */

/* A task body (also the body of uva_spawn_blocking).  Returns 0 or a negative
 * error code; on 0 it may set result->value and, if the value owns memory,
 * result->free_fn.  result->status is ignored. */
typedef int (*uva_task_fn)(void *arg, uva_result_t *result);

/* Smallest stack a task may ask for, and the default. */
#define UVA_STACK_MIN (16 * 1024)
#define UVA_STACK_DEFAULT (256 * 1024)

typedef struct uva_spawn_opts {
  size_t stack_size; /* 0 for UVA_STACK_DEFAULT; rounded up to a page */
} uva_spawn_opts_t;

/* Starts fn(arg, &result) as a task on loop and returns its join future,
 * which settles with fn's return code and result.  The task first runs from
 * the loop after this call returns (as tokio::spawn).  Cancelling the join
 * future aborts the task cooperatively: its pending or next uva_await returns
 * UV_ECANCELED, the task may clean up, and the join future settles with
 * UV_ECANCELED when fn returns (any result is freed).  Freeing the join future
 * cancels the task; uva_future_detach lets it run on.  Fails with UV_EINVAL if
 * loop or fn is NULL, UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_spawn(uv_loop_t *loop, uva_task_fn fn, void *arg);

/* As uva_spawn, with options (opts may be NULL).  Also fails with UV_EINVAL if
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

/* Inside a task: suspends the task until f settles, consumes f and returns
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

/* Inside a task: lets every other ready task run, then returns 0.  Returns
 * UV_EINVAL outside a task, UV_ECANCELED (once) when the task has been
 * cancelled. */
UVA_EXTERN int uva_yield(void);

/* Returns 1 when called from inside a uva task, else 0. */
UVA_EXTERN int uva_in_task(void);

/* Runs loop until f settles (futures::executor::block_on, #[tokio::main]),
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

/* Ends uva's work on loop, as Tokio's Runtime::shutdown_timeout, so that
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

/* ------------------------------------------------------------------------ */
/* Time                                                                      */

/* Returns a future that settles with 0 once ms milliseconds have passed since
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

/* Consumes f and returns a future that settles with f's result, or with
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

/* ------------------------------------------------------------------------ */
/* Join and select                                                           */

/* Consumes futures[0..n) and returns a future that settles with 0 once every
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

/* Consumes futures[0..n) and returns a future that settles with 0 and value
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

/* ------------------------------------------------------------------------ */
/* Files                                                                     */

/* Returns a future of a whole file's contents (tokio::fs::read_to_string):
 * value.ptr is a uva_buf_t, NUL-terminated, freed with uva_buf_free.  Errors
 * are libuv's: UV_ENOENT, UV_EISDIR, UV_EACCES, ...; UV_EINVAL if loop or
 * path is NULL, UV_ENOMEM without memory.  path is copied.  The whole read
 * (open, stat, read to the end, close) is one job on libuv's thread pool, as
 * uva_fs_write_file is; cancelling the future settles it at once, and a read
 * already running finishes in the pool and is dropped. */
UVA_EXTERN uva_future_t *uva_fs_read_file(uv_loop_t *loop, const char *path);

/* Returns a future that creates or truncates path (mode 0644) and writes
 * data[0..len) to it, settling with value.u64 = bytes written.  data is
 * copied, so the caller may free it at once.  Errors are libuv's; UV_EINVAL if
 * loop or path is NULL or data is NULL while len > 0, UV_ENOMEM without
 * memory.  Not cancel safe once it runs: cancelling settles the future at
 * once with UV_ECANCELED; a job not started yet never runs (the file is
 * untouched), one already running finishes in the pool (the file may be
 * written, partly or whole) and its result is dropped. */
UVA_EXTERN uva_future_t *uva_fs_write_file(uv_loop_t *loop, const char *path,
                                           const void *data, size_t len);

/* Returns a future of uv_fs_open(path, flags, mode): value.i64 is the file
 * descriptor, which the caller closes (uva_fs_close).  A descriptor nobody
 * takes is closed: the future's free function closes it (so a join or select
 * result holding it is closed by uva_result_free unless the caller clears
 * free_fn to keep it), and a future cancelled or freed while the open runs
 * closes it when the open completes.  Fails with UV_EINVAL if loop or path is
 * NULL, UV_ENOMEM, or libuv's error.  path is copied. */
UVA_EXTERN uva_future_t *uva_fs_open(uv_loop_t *loop, const char *path,
                                     int flags, int mode);

/* Returns a future of up to len bytes (at most 1 GiB per call) read from fd at
 * offset (-1: the current position): value.ptr is a uva_buf_t (freed with
 * uva_buf_free) whose len is the count read, 0 at end of file.  Fails with
 * UV_EINVAL if loop is NULL or len is 0, UV_ENOMEM, or libuv's error.
 * Cancelling settles it at once with UV_ECANCELED; a read not started yet
 * never runs; one already running completes and its bytes are dropped (with
 * offset -1 the file position has then moved: not cancel safe). */
UVA_EXTERN uva_future_t *uva_fs_read(uv_loop_t *loop, uv_file fd, size_t len,
                                     int64_t offset);

/* Returns a future that writes data[0..len) to fd at offset (-1: the current
 * position), settling with value.u64 = bytes written (a write of more than
 * 1 GiB is short, as write(2) may be).  data is copied.  Fails
 * with UV_EINVAL if loop is NULL or data is NULL while len > 0, UV_ENOMEM, or
 * libuv's error.  Cancelling settles it at once with UV_ECANCELED; a write
 * not started yet never runs, one already running completes (libuv cannot
 * recall it) and its count is dropped. */
UVA_EXTERN uva_future_t *uva_fs_write(uv_loop_t *loop, uv_file fd,
                                      const void *data, size_t len,
                                      int64_t offset);

/* Returns a future that closes fd; cancelling or freeing it still closes fd.
 * Fails with UV_EINVAL if loop is NULL, UV_ENOMEM (fd is then left open), or
 * libuv's error (UV_EBADF, ...). */
UVA_EXTERN uva_future_t *uva_fs_close(uv_loop_t *loop, uv_file fd);

/* ------------------------------------------------------------------------ */
/* Blocking work on libuv's thread pool                                      */

/* Runs fn(arg, &result) on libuv's thread pool (uv_queue_work) and returns a
 * future of its return code and result (spawn_blocking).  fn must not call
 * uva functions other than uva_chan_send_blocking and the waker calls.  arg
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

/* As uva_spawn_blocking, and the job owns arg: arg_free(arg) (if arg_free is
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

/* ------------------------------------------------------------------------ */
/* Channels: bounded, messages of a fixed size copied by value               */
/*
 * Exactly once.  Sends and receives are lazy futures: they act when they
 * get a consumer.  A receive that completes reserves the oldest message; the
 * message is copied to out and leaves the channel only when the receive's
 * result is taken (uva_await or uva_block_on returns, a then callback runs,
 * a join's or select's own result is taken).  A receive that is cancelled,
 * freed, times out, loses a select, or sits completed in a join, select or
 * timeout that is dropped never removes a message: it stays in the channel,
 * in its place, for the next receiver, and out is not written.  A send that
 * is cancelled or loses a select (or is freed before it got in) delivers
 * nothing.  In a uva_select over channel operations exactly one of them
 * takes effect.
 *
 * Exact capacity: the channel never holds more than capacity messages,
 * counting those reserved by completed receives not yet taken, whoever
 * sends (tasks, callbacks, other threads).
 *
 * Threads: a channel that only its loop's thread uses takes no lock.  Other
 * threads may call uva_chan_send_blocking, uva_chan_recv_blocking,
 * uva_chan_close and uva_chan_len; the first such call switches the channel
 * for good to a mode in which every operation takes its mutex (about 40
 * more instructions per operation on the loop's side).  Every call from
 * another thread must have returned before uva_chan_free. */

/* Makes a channel on loop for messages of elem_size bytes, holding up to
 * capacity of them, and stores it in *out.  Returns 0; UV_EINVAL if loop or
 * out is NULL, elem_size or capacity is 0, or capacity * (elem_size + 1)
 * does not fit in a size_t (*out is then NULL when out is not NULL);
 * UV_ENOMEM without memory (*out is then NULL).  The channel is freed with
 * uva_chan_free. */
UVA_EXTERN int uva_chan_new(uv_loop_t *loop, size_t elem_size, size_t capacity,
                            uva_chan_t **out);

/* As uva_chan_new, with an element free function (may be NULL): elem_free
 * is called with a pointer to each message the channel drops, so that what
 * a message points to is not leaked: messages still in the channel when it
 * is freed, and the message of a uva_chan_send future that never got in
 * (it failed, was cancelled, lost a select, or was freed).  Not called for
 * try_send or send_blocking that fail: their message stays the caller's. */
UVA_EXTERN int uva_chan_new_ex(uv_loop_t *loop, size_t elem_size,
                               size_t capacity, uva_free_cb elem_free,
                               uva_chan_t **out);

/* Copies *msg and returns a lazy future that, once consumed, settles with 0
 * when the message is in the channel: at once if there is room, else when a
 * receiver makes room (backpressure; waiting senders go in the order they
 * began to wait).  Settles with UV_EPIPE if the channel is or gets closed
 * before the message got in.  Cancel safe: cancelled (or freed, or losing a
 * select) before it got in, it sends nothing; the message then goes to the
 * channel's element free function.  Fails with UV_EINVAL if ch or msg is
 * NULL, UV_ENOMEM without memory (the message is then not sent and stays
 * the caller's).  A send completes once the message is in: a join cancelled
 * after that does not take it back. */
UVA_EXTERN uva_future_t *uva_chan_send(uva_chan_t *ch, const void *msg);

/* Returns a lazy future that, once consumed, settles with 0 when the oldest
 * message has been received for it, or with UV_EOF once the channel is
 * closed and every message sent before the close has been received or
 * reserved by a receive whose result is not taken yet (should such a
 * receive be dropped, its message is back in the channel for a later
 * receive: nothing is lost).  The
 * message is copied to out when the result is taken (out must stay valid
 * until then, or until the future is freed).  Waiting receivers are served
 * in the order they began to wait.  Cancel safe: see above; a receive
 * dropped without its result taken never removes a message and never
 * writes to out.  If the channel is freed before the result is taken, the
 * receive reports UV_ECANCELED.  Fails with UV_EINVAL if ch or out is NULL,
 * UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_chan_recv(uva_chan_t *ch, void *out);

/* Inside a task: the same as uva_await(uva_chan_send(ch, msg), NULL), with
 * the same errors and cancel safety, but when the message can go in at once
 * no future is made at all (the fast path for tasks: no allocation, about a
 * third of the instructions).  Outside a task, or when it must wait, it
 * makes the future and awaits it (UV_EINVAL outside a task, as uva_await).
 * Returns 0, UV_EPIPE, UV_ECANCELED (the task was cancelled: nothing sent),
 * UV_ENOMEM, or UV_EINVAL if ch or msg is NULL. */
UVA_EXTERN int uva_chan_send_wait(uva_chan_t *ch, const void *msg);

/* Inside a task: the same as uva_await(uva_chan_recv(ch, out), NULL), but
 * when a message is there for it at once no future is made.  Returns 0,
 * UV_EOF, UV_ECANCELED (nothing taken), UV_ENOMEM, or UV_EINVAL if ch or
 * out is NULL or outside a task. */
UVA_EXTERN int uva_chan_recv_wait(uva_chan_t *ch, void *out);

/* Sends *msg without waiting.  Returns 0; UV_EAGAIN if the channel is full
 * or senders are waiting; UV_EPIPE if it is closed; UV_EINVAL if ch or msg
 * is NULL. */
UVA_EXTERN int uva_chan_try_send(uva_chan_t *ch, const void *msg);

/* Receives into out without waiting.  Returns 0; UV_EAGAIN if no message is
 * there for it (or earlier receivers wait); UV_EOF if the channel is closed
 * and drained; UV_EINVAL if ch or out is NULL. */
UVA_EXTERN int uva_chan_try_recv(uva_chan_t *ch, void *out);

/* Sends *msg from a thread other than the loop's (Tokio's blocking_send):
 * blocks that thread while the channel is full, and wakes the loop through
 * uv_async_send when a receiver there waits, with wake-ups coalesced.
 * Messages from one thread arrive in the order sent; nothing is lost or
 * duplicated.  Returns 0; UV_EPIPE if the channel is (or, while waiting,
 * gets) closed, and the message stays the caller's; UV_EINVAL if ch or msg
 * is NULL or when called on the loop's thread (it could never wake up
 * there).  A thread blocked for room is woken by a receive on the loop, by
 * uva_chan_recv_blocking, or by a close. */
UVA_EXTERN int uva_chan_send_blocking(uva_chan_t *ch, const void *msg);

/* Receives into out from a thread other than the loop's (Tokio's
 * blocking_recv): blocks that thread until a message is there.  Returns 0;
 * UV_EOF once the channel is closed and drained; UV_EINVAL if ch or out is
 * NULL or when called on the loop's thread. */
UVA_EXTERN int uva_chan_recv_blocking(uva_chan_t *ch, void *out);

/* Returns the number of messages in the channel that no receive has taken
 * or reserved (Tokio's len), 0 for NULL.  Callable from any thread; from
 * another thread the answer may be out of date by the time it returns. */
UVA_EXTERN size_t uva_chan_len(uva_chan_t *ch);

/* Closes the channel: later sends fail with UV_EPIPE, waiting senders get
 * UV_EPIPE, receivers get every message sent before the close and then
 * UV_EOF.  Callable from any thread (from another one the loop is woken to
 * tell its waiters).  Returns 0; UV_EINVAL if ch is NULL; UV_EPIPE if
 * already closed. */
UVA_EXTERN int uva_chan_close(uva_chan_t *ch);

/* Frees the channel and the messages still in it (each through the element
 * free function, if any); its waiting send and receive futures settle with
 * UV_ECANCELED, and completed receives not yet taken report UV_ECANCELED
 * when taken.  Loop thread only; no call from another thread may still be
 * running.  NULL is allowed. */
UVA_EXTERN void uva_chan_free(uva_chan_t *ch);

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */

/* Replaces the allocator uva uses for its own memory (values it hands out
 * included, such as uva_buf_t).  Call it before any other uva call, as with
 * uv_replace_allocator.  The functions must be thread-safe: whole-file jobs
 * allocate on libuv's thread pool and uva_chan_send_blocking on its caller's
 * thread.  Returns 0, or UV_EINVAL if any function is NULL. */
UVA_EXTERN int uva_replace_allocator(void *(*malloc_fn)(size_t),
                                     void *(*realloc_fn)(void *, size_t),
                                     void *(*calloc_fn)(size_t, size_t),
                                     void (*free_fn)(void *));

#ifdef __cplusplus
}
#endif

/* I/O beyond files: one header per concept. */
#include "uva/stream.h"
#include "uva/udp.h"
#include "uva/dns.h"
#include "uva/signal.h"
#include "uva/process.h"
#include "uva/asyncfd.h"
#include "uva/sync.h"
#include "uva/watch.h"
#include "uva/oneshot.h"

#endif /* UVA_H */
