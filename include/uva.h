/** @file
 * The umbrella header: includes every uva header (uva/base.h, uva/future.h,
 * ...), one per concept.
 *
 * uva: the async model of Rust and Tokio (futures, tasks, channels) on the
 * caller's libuv loop.  MIT licensed; see LICENSE.
 *
 * Conventions that hold for every call in these headers:
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

/* One header per concept; each may also be included on its own. */
#include "uva/base.h"
#include "uva/future.h"
#include "uva/task.h"
#include "uva/time.h"
#include "uva/join.h"
#include "uva/fs.h"
#include "uva/work.h"
#include "uva/chan.h"
#include "uva/stream.h"
#include "uva/udp.h"
#include "uva/dns.h"
#include "uva/signal.h"
#include "uva/process.h"
#include "uva/asyncfd.h"
#include "uva/token.h"
#include "uva/group.h"
#include "uva/interval.h"
#include "uva/combinators.h"
#include "uva/task_local.h"
#include "uva/sync.h"
#include "uva/watch.h"
#include "uva/oneshot.h"
#include "uva/stats.h"
#include "uva/remote.h"
#include "uva/pool.h"

#endif /* UVA_H */
