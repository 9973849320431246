/** @file
 * uva stats: a view of what runs on a loop (tokio-console, Tokio's
 * RuntimeMetrics).  Included by uva.h.  Every call is made on the loop's
 * thread (from a task, a uva callback or plain code alike).
 *
 * Why it looks like this:
 *  - Free when nobody asks.  Most of what uva_loop_stats reports is derived
 *    on demand from state uva keeps anyway (its run queue, its list of task
 *    stacks, its slabs, its handle counts): nothing is counted for it on any
 *    path.  The few figures that need a counter on a hot path (futures alive
 *    and pending, channels, tasks spawned, callbacks, drains, time spent in
 *    uva) and the spawn site of each task exist only when the library is
 *    built with the CMake option UVA_STATS (default ON: they cost a few
 *    instructions per future and per libuv callback into uva, measured in
 *    tests/bench/RESULTS.md, "Issue 10 — stats").  The time spent in uva
 *    takes two clock reads per callback: it is measured only once the
 *    program has asked (its first uva_loop_stats or uva_loop_dump call on
 *    the loop), so a program that never asks reads no clock.
 *    Built without it, those fields read UVA_STATS_NOT_COUNTED and the dump
 *    says "not counted".
 *  - The struct grows: the caller says how large its uva_stats_t is (size),
 *    the library fills what both know, so a program built against an older
 *    header keeps working with a newer library.
 *  - The dump is text for a person, to a FILE * (stderr, a log file, or
 *    open_memstream for a program that wants it as a string); it lists each
 *    task with where it was spawned (the caller of uva_spawn, resolved with
 *    dladdr: a symbol name when the code's symbols are exported, as with
 *    -rdynamic for an executable, else file+offset for addr2line), what it
 *    awaits (the kind of future and detail such as the time left or the
 *    channel's fill), and a backtrace of its suspended stack.
 *  - The backtrace is taken with the platform's unwinder (DWARF call frame
 *    information, as gdb and C++ exceptions use; it needs no frame pointers)
 *    starting from the registers the context switch saved on the task's
 *    stack.  The saved stack pointer and every frame are checked to lie
 *    within the task's stack; the walk stops at the first frame that does
 *    not, at a return address outside any code (no unwind information),
 *    or after 32 frames.  A stack the program itself has overwritten (a
 *    saved frame pointer replaced by garbage, in code built with frame
 *    pointers) can still mislead the unwinder before a check sees it: the
 *    dump trusts the stacks of tasks that are alive.  Available on x86-64
 *    and AArch64 with uva's own context switch (the default there); the
 *    ucontext build prints "backtrace: not available on this platform". */
#ifndef UVA_STATS_H
#define UVA_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The value of a counter the library was built without (UVA_STATS off), or
 *  that this libuv cannot tell (loop_iterations before libuv 1.45). */
#define UVA_STATS_NOT_COUNTED UINT64_MAX

/** What uva has on one loop, as uva_loop_stats fills it.  Set size to
 *  sizeof(uva_stats_t) before the call.  Tasks: every task spawned and not
 *  yet returned is alive and in exactly one of running, ready or
 *  suspended. */
typedef struct uva_stats {
  size_t size;        /**< in: sizeof(uva_stats_t) as the caller knows it */
  uint64_t counters;  /**< 1 if the library counts (UVA_STATS), else 0 */
  /* tasks (derived on demand) */
  uint64_t tasks_alive;       /**< spawned and not returned */
  uint64_t tasks_running;     /**< 1 when called from a task of this loop */
  uint64_t tasks_ready;       /**< on the run queue, to run soon */
  uint64_t tasks_not_started; /**< of the ready ones, never run yet */
  uint64_t tasks_suspended;   /**< started, waiting in uva_await */
  uint64_t tasks_spawned;     /**< counted: ever spawned on the loop */
  /* futures and channels */
  uint64_t objects;           /**< uva's objects alive on the loop: futures
                                   (tasks included), channels, streams... */
  uint64_t futures_alive;     /**< counted: futures not yet freed */
  uint64_t futures_pending;   /**< counted: of those, not settled */
  uint64_t futures_made;      /**< counted: ever made on the loop */
  uint64_t futures_queued;    /**< on the run queue (tasks included) */
  uint64_t channels;          /**< counted: made and not freed */
  /* memory */
  uint64_t stacks_live;       /**< task stacks in use */
  uint64_t stacks_pooled;     /**< kept for reuse */
  uint64_t stack_bytes;       /**< usable bytes of those stacks (address
                                   space; guard regions not included) */
  uint64_t stack_resident;    /**< of those, bytes in memory (mincore) */
  uint64_t slab_bytes;        /**< uva's object slabs (the loop's chunks) */
  uint64_t slab_free;         /**< of those, bytes free for new objects */
  /* libuv side */
  uint64_t handles;           /**< uva's handles open or closing */
  uint64_t handles_closing;   /**< of those, closing */
  uint64_t pool_requests;     /**< uva's work and fs requests in the pool */
  uint64_t remote_waits;      /**< waits that another thread may end */
  /* activity, since uva's state for the loop was made */
  uint64_t loop_iterations;   /**< libuv's count (libuv >= 1.45), else
                                   UVA_STATS_NOT_COUNTED */
  uint64_t callbacks;         /**< counted: libuv callbacks into uva */
  uint64_t drains;            /**< counted: runs of uva's run queue */
  uint64_t busy_ns;           /**< counted: nanoseconds spent in those
                                   callbacks (the tasks' own code
                                   included: Tokio's busy duration), from
                                   the loop's first uva_loop_stats or
                                   uva_loop_dump call on (0 before: a
                                   program that never asks reads no
                                   clock) */
} uva_stats_t;

/** Fills out with what uva has on loop now.  The caller sets out->size to
 *  sizeof(uva_stats_t); the library writes the fields that fit in that size
 *  (a newer library leaves the rest of a larger struct alone; an older
 *  caller's smaller struct is filled as far as it goes).  Counters the
 *  library was built without read UVA_STATS_NOT_COUNTED.  Costs a walk of
 *  the run queue, of the task stacks (one mincore call per stack) and of the
 *  slabs' free lists: meant for a person or a periodic report, not for a hot
 *  loop.  Allocates nothing.  Returns 0; UV_EINVAL if loop or out is NULL,
 *  out->size is smaller than the struct's first two fields, or the call is
 *  made on a thread other than the loop's (nothing is written but
 *  out->counters); UV_ENOENT if uva has nothing on loop (it never used it,
 *  or all of its work there has finished and its state was freed, with the
 *  counters): every field but size is then 0, counters excepted.  On the
 *  loop's thread only. */
UVA_EXTERN int uva_loop_stats(uv_loop_t *loop, uva_stats_t *out);

/** Writes to out a report of what runs on loop, as tokio-console shows it:
 *  a summary line (the figures of uva_loop_stats); then one block per task,
 *  with its join future's address as its id, its state (running, ready,
 *  not started, suspended; "cancelled" when its join future was), its
 *  body function and where it was spawned (each as symbol+offset and file
 *  where dladdr can tell, else file+offset; the spawn site in counted
 *  builds only, and not for a task spawned with a stack size of its own,
 *  whose task object keeps the size where the site would be), what it
 *  awaits (the kind of future, as "sleep", "chan_recv" or "task", and
 *  detail such as "12 ms left", the channel's fill or a join's pending
 *  children) or "yield", and for a suspended or ready task that has
 *  started, a backtrace of its stack (see the top of this header); then the
 *  futures the tasks await, counted by kind, and the run queue by kind; then
 *  one line per channel (counted builds): its fill, capacity, element size,
 *  waiting receivers and senders, closed.  The format is for people and
 *  may change; each task block begins with "task " at the start of a line.
 *  Allocates nothing of uva's (stdio may buffer).  Returns 0; UV_EINVAL if
 *  loop or out is NULL or the call is made on a thread other than the
 *  loop's (nothing is written then); UV_ENOENT if uva has nothing on loop
 *  (nothing is written); UV_EIO if writing to out failed (ferror).  On the
 *  loop's thread only. */
UVA_EXTERN int uva_loop_dump(uv_loop_t *loop, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* UVA_STATS_H */
