/** @file
 * uva sync primitives (tokio::sync): Semaphore, Mutex, RwLock, Notify,
 * Barrier.  Included by uva.h.
 *
 * Common rules:
 *  - Each wait is a lazy future (it takes effect once it has a consumer:
 *    uva_await, uva_future_then, a join/select/timeout with a consumer,
 *    uva_block_on, uva_future_detach), so the same call serves tasks and
 *    callbacks.
 *  - Waiters are served in FIFO order: the order in which their futures got
 *    a consumer.
 *  - Cancel safety, exactly once: a wait that is cancelled, times out, loses
 *    a select or is freed before its result is taken holds nothing and
 *    keeps nobody behind it waiting.  If it had already been granted (its
 *    future settled with 0 but its result was never taken: a select loser,
 *    a dropped join, uva_future_free of the settled future) what it got
 *    (permits, the lock, a notify_one permit) is given back and passed to
 *    the next waiter.
 *  - Uncontended operations allocate nothing: the try_ calls, and the
 *    _wait calls inside a task (also when they must wait: the task waits
 *    in the queue itself).  uva_await of a free lock completes at once,
 *    without waking anything.
 *  - Freeing an object settles its waiting futures with UV_ECANCELED;
 *    futures made on it keep its memory until they are gone.
 *  - Calls are made on the loop's thread unless the comment says "any
 *    thread".  Every call from another thread must have returned before the
 *    object is freed. */
#ifndef UVA_SYNC_H
#define UVA_SYNC_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Semaphore --------------------------------------------------------- */

/** A counting semaphore of one loop (tokio::sync::Semaphore). */
typedef struct uva_semaphore_s uva_semaphore_t;

/** Largest number of permits a semaphore may hold (Tokio's MAX_PERMITS). */
#define UVA_SEMAPHORE_MAX ((size_t)-1 >> 3)

/**
 * Makes a semaphore on loop with permits permits and stores it in *out
 * (tokio::sync::Semaphore::new).  Returns 0; UV_EINVAL if loop or out is
 * NULL or permits > UVA_SEMAPHORE_MAX (*out is then NULL when out is not
 * NULL); UV_ENOMEM without memory.  Freed with uva_semaphore_free.
 */
UVA_EXTERN int uva_semaphore_new(uv_loop_t *loop, size_t permits,
                                 uva_semaphore_t **out);

/**
 * Returns a lazy future that, once consumed, settles with 0 and value.u64 =
 * n when it has taken n permits, which the caller then holds until it gives
 * them back with uva_semaphore_release.  Strictly FIFO, as Tokio's: an
 * acquire waits while any earlier one waits, so a large acquire at the head
 * of the queue blocks smaller ones behind it until enough permits are free
 * for it (no starvation of large acquires).  Settles with UV_EPIPE if the
 * semaphore is or gets closed first, UV_ECANCELED if it is freed.  Cancel
 * safe: see the top of this header (a cancelled acquire holds no permit; a
 * granted one dropped untaken gives its permits back).  Fails with
 * UV_EINVAL if sem is NULL or n is 0 or more than UVA_SEMAPHORE_MAX,
 * UV_EPIPE if closed, UV_ENOMEM without memory.
 */
UVA_EXTERN uva_future_t *uva_semaphore_acquire(uva_semaphore_t *sem,
                                               size_t n);

/**
 * Inside a task: the same as uva_await(uva_semaphore_acquire(sem, n), NULL)
 * with the same errors and cancel safety, but no future is made (no
 * allocation): the permits are taken at once when they are free and nobody
 * waits, else the task waits in the queue itself.  UV_EINVAL outside a
 * task.
 */
UVA_EXTERN int uva_semaphore_acquire_wait(uva_semaphore_t *sem, size_t n);

/**
 * Takes n permits without waiting.  Returns 0; UV_EAGAIN if fewer than n
 * are free or acquires are waiting (they go first); UV_EPIPE if closed;
 * UV_EINVAL if sem is NULL, n is 0 or n is more than UVA_SEMAPHORE_MAX.
 * Allocates nothing.
 */
UVA_EXTERN int uva_semaphore_try_acquire(uva_semaphore_t *sem, size_t n);

/**
 * Adds n permits (gives back acquired ones, or adds new ones as Tokio's
 * add_permits) and hands them to waiting acquires in order.  Any thread:
 * from another thread the permits are added on the loop's thread soon
 * after, through uva's coalesced wake-up (releases from threads are not
 * seen by uva_semaphore_available until then).  Returns 0; UV_EINVAL if
 * sem is NULL, or (on the loop's thread) the count would pass
 * UVA_SEMAPHORE_MAX (nothing is added).  From other threads a count past
 * the maximum is clamped to it.  A closed semaphore still takes
 * releases.
 */
UVA_EXTERN int uva_semaphore_release(uva_semaphore_t *sem, size_t n);

/**
 * Returns the permits free now (0 for NULL).  Permits held back for a
 * large acquire at the head of the queue count as free until it has them
 * all.
 */
UVA_EXTERN size_t uva_semaphore_available(uva_semaphore_t *sem);

/**
 * Closes the semaphore: waiting acquires settle with UV_EPIPE, later
 * acquires and try_acquires fail with UV_EPIPE; releases still add
 * permits.  Returns 0; UV_EINVAL if sem is NULL; UV_EPIPE if already
 * closed.
 */
UVA_EXTERN int uva_semaphore_close(uva_semaphore_t *sem);

/**
 * Frees the semaphore; waiting acquires settle with UV_ECANCELED.  NULL is
 * allowed.
 */
UVA_EXTERN void uva_semaphore_free(uva_semaphore_t *sem);

/* ---- Mutex ------------------------------------------------------------- */

/** An asynchronous lock for data shared among tasks and callbacks of one
 * loop (tokio::sync::Mutex): the caller keeps its data beside it.  Fair:
 * lockers get it in FIFO order.  Held across awaits is fine; it is not
 * owned by a task (any code on the loop may unlock it, as with a
 * semaphore of one permit). */
typedef struct uva_mutex_s uva_mutex_t;

/**
 * Makes an unlocked mutex on loop in *out.  Returns 0; UV_EINVAL if loop or
 * out is NULL; UV_ENOMEM without memory.  Freed with uva_mutex_free.
 */
UVA_EXTERN int uva_mutex_new(uv_loop_t *loop, uva_mutex_t **out);

/**
 * Returns a lazy future that settles with 0 once the caller holds the lock
 * (then release it with uva_mutex_unlock).  UV_ECANCELED if the mutex is
 * freed first.  Cancel safe: a cancelled lock holds no lock and keeps no
 * one waiting; a granted lock dropped untaken (a lost select, a timeout
 * that was dropped after it settled) is unlocked, passing it on.  Fails
 * with UV_EINVAL if m is NULL, UV_ENOMEM without memory.
 */
UVA_EXTERN uva_future_t *uva_mutex_lock(uva_mutex_t *m);

/**
 * Inside a task: uva_await(uva_mutex_lock(m), NULL) without a future (no
 * allocation), whether the lock is free or the task waits for it.  Returns 0, UV_ECANCELED, UV_ENOMEM, UV_EINVAL (m NULL
 * or outside a task).
 */
UVA_EXTERN int uva_mutex_lock_wait(uva_mutex_t *m);

/**
 * Takes the lock if it is free and nobody waits.  Returns 0; UV_EAGAIN if
 * it is held or lockers wait; UV_EINVAL if m is NULL.
 */
UVA_EXTERN int uva_mutex_try_lock(uva_mutex_t *m);

/**
 * Releases the lock, handing it to the oldest waiting locker.  Returns 0;
 * UV_EINVAL if m is NULL or the mutex is not locked.
 */
UVA_EXTERN int uva_mutex_unlock(uva_mutex_t *m);

/**
 * Frees the mutex; waiting lockers settle with UV_ECANCELED.  NULL is
 * allowed.
 */
UVA_EXTERN void uva_mutex_free(uva_mutex_t *m);

/* ---- RwLock ------------------------------------------------------------ */

/** Many readers or one writer (tokio::sync::RwLock), fair: FIFO, so a
 * waiting writer blocks readers that come after it (no writer starvation).
 * Cancel safety as uva_mutex_lock. */
typedef struct uva_rwlock_s uva_rwlock_t;

/** Most readers that may hold an RwLock at once. */
#define UVA_RWLOCK_MAX_READERS ((size_t)1 << 30)

/**
 * Makes an unlocked RwLock on loop in *out.  Returns 0; UV_EINVAL if loop
 * or out is NULL; UV_ENOMEM without memory.  Freed with uva_rwlock_free.
 */
UVA_EXTERN int uva_rwlock_new(uv_loop_t *loop, uva_rwlock_t **out);

/**
 * A lazy future that settles with 0 once the caller holds a read lock
 * (release with uva_rwlock_read_unlock).  Errors and cancel safety as
 * uva_mutex_lock.
 */
UVA_EXTERN uva_future_t *uva_rwlock_read(uva_rwlock_t *rw);

/**
 * A lazy future that settles with 0 once the caller holds the write lock
 * (release with uva_rwlock_write_unlock).  Errors and cancel safety as
 * uva_mutex_lock.
 */
UVA_EXTERN uva_future_t *uva_rwlock_write(uva_rwlock_t *rw);

/**
 * Inside a task: await a read lock (write 0) or the write lock (write 1),
 * with no future whether it is free at once or the task waits.  Errors as
 * uva_mutex_lock_wait.
 */
UVA_EXTERN int uva_rwlock_lock_wait(uva_rwlock_t *rw, int write);

/**
 * Takes a read lock (write 0) or the write lock (write 1) if free and
 * nobody waits.  Returns 0; UV_EAGAIN; UV_EINVAL if rw is NULL.
 */
UVA_EXTERN int uva_rwlock_try_lock(uva_rwlock_t *rw, int write);

/**
 * Releases a read lock.  Returns 0; UV_EINVAL if rw is NULL or no read
 * lock is held.
 */
UVA_EXTERN int uva_rwlock_read_unlock(uva_rwlock_t *rw);

/**
 * Releases the write lock.  Returns 0; UV_EINVAL if rw is NULL or the
 * write lock is not held.
 */
UVA_EXTERN int uva_rwlock_write_unlock(uva_rwlock_t *rw);

/**
 * Frees the RwLock; waiting lockers settle with UV_ECANCELED.  NULL is
 * allowed.
 */
UVA_EXTERN void uva_rwlock_free(uva_rwlock_t *rw);

/* ---- Notify ------------------------------------------------------------ */

/** Wakes tasks and callbacks (tokio::sync::Notify). */
typedef struct uva_notify_s uva_notify_t;

/**
 * Makes a Notify on loop in *out, with no stored permit.  Returns 0;
 * UV_EINVAL if loop or out is NULL; UV_ENOMEM without memory.  Freed with
 * uva_notify_free.
 */
UVA_EXTERN int uva_notify_new(uv_loop_t *loop, uva_notify_t **out);

/**
 * Returns a lazy future that, once consumed, settles with 0 when notified:
 * at once if a permit is stored (it is used up), else by the next
 * uva_notify_one (waiters in FIFO order) or uva_notify_waiters.  It
 * registers as a waiter when it gets a consumer (not when made: a
 * notify_waiters between this call and the await does not count).
 * UV_ECANCELED if the Notify is freed first.  Cancel safe: a notified
 * future woken by notify_one (or by the stored permit) that is dropped
 * untaken passes the notification to the next waiter, or stores it back
 * as the permit; one woken by notify_waiters and dropped untaken passes
 * nothing on (notify_waiters stores nothing either).  Fails with UV_EINVAL
 * if n is NULL, UV_ENOMEM.
 */
UVA_EXTERN uva_future_t *uva_notify_notified(uva_notify_t *n);

/**
 * Inside a task: uva_await(uva_notify_notified(n), NULL), with no future
 * (no allocation), whether a permit is stored or the task waits.  Returns
 * 0, UV_ECANCELED (the task was cancelled, or the Notify freed while it
 * waited), UV_ENOMEM, or UV_EINVAL if n is NULL or outside a task.
 */
UVA_EXTERN int uva_notify_wait(uva_notify_t *n);

/**
 * Wakes the oldest waiter; with none, stores one permit (at most one, as
 * Tokio's) for the next notified.  Any thread: from another thread it
 * takes effect on the loop's thread soon after (coalesced wake-ups; each
 * call still wakes one waiter).  Returns 0; UV_EINVAL if n is NULL.
 */
UVA_EXTERN int uva_notify_one(uva_notify_t *n);

/**
 * Wakes every waiter registered now; stores no permit.  Any thread: from
 * another thread it takes effect on the loop's thread soon after, and
 * wakes those registered then; the order between notify_one and
 * notify_waiters calls made from other threads is not kept.  Returns 0;
 * UV_EINVAL if n is NULL.
 */
UVA_EXTERN int uva_notify_waiters(uva_notify_t *n);

/**
 * Frees the Notify; waiters settle with UV_ECANCELED.  NULL is allowed.
 */
UVA_EXTERN void uva_notify_free(uva_notify_t *n);

/* ---- Barrier ----------------------------------------------------------- */

/** n parties meet (tokio::sync::Barrier). */
typedef struct uva_barrier_s uva_barrier_t;

/**
 * Makes a barrier on loop for n parties in *out.  Returns 0; UV_EINVAL if
 * loop or out is NULL or n is 0; UV_ENOMEM.  Freed with uva_barrier_free.
 */
UVA_EXTERN int uva_barrier_new(uv_loop_t *loop, size_t n,
                               uva_barrier_t **out);

/**
 * Returns a lazy future that arrives at the barrier when consumed and
 * settles with 0 once n parties have arrived; value.u64 is 1 for exactly
 * one of them, the leader (the last to arrive, as in Tokio), 0 for the
 * others.  The barrier then starts over.  Cancel safe while waiting: a
 * cancelled wait leaves the barrier (it counts one arrival fewer).  Once
 * the barrier has tripped, its parties are released: dropping one of
 * those futures untaken undoes nothing.  UV_ECANCELED if the barrier is
 * freed first.  Fails with UV_EINVAL if b is NULL, UV_ENOMEM.
 */
UVA_EXTERN uva_future_t *uva_barrier_wait(uva_barrier_t *b);

/**
 * Frees the barrier; waiters settle with UV_ECANCELED.  NULL is allowed.
 */
UVA_EXTERN void uva_barrier_free(uva_barrier_t *b);

#ifdef __cplusplus
}
#endif

#endif /* UVA_SYNC_H */
