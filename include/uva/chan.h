/** @file
 * Channels: bounded, messages of a fixed size copied by value
 * (tokio::sync::mpsc).
 *
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
 * Order.  Messages are received in the order they went in (waiting senders
 * go in the order they began to wait), with one exception that exactly
 * once requires: while a completed receive holds (reserves) a message, other
 * receives take the ones behind it, and if the holder is then dropped its
 * message goes back in its place, ahead of the rest.  So a receiver can get
 * a message older than one it already has only when that older one was
 * held meanwhile by a receive in a join, select or timeout (or a future
 * awaited by uva_block_on) whose result was dropped.  A task that receives
 * with uva_await, uva_chan_recv_wait or a then callback holds nothing: it
 * takes its message at once.
 *
 * Exact capacity: the channel never holds more than capacity messages,
 * counting those reserved by completed receives not yet taken, whoever
 * sends (tasks, callbacks, other threads).
 *
 * Threads: a channel that only its loop's thread uses takes no lock.  Other
 * threads may call uva_chan_send_blocking, uva_chan_recv_blocking,
 * uva_chan_try_send, uva_chan_try_recv, uva_chan_close and uva_chan_len;
 * the first such call switches the channel for good to a mode in which
 * every operation takes its mutex (about 40 more instructions per operation
 * on the loop's side).
 *
 * Loops: a task or uva callback (a then callback) of another loop B, in its
 * own thread, may use the channel of loop A as A's own tasks do: every call
 * of this header but the blocking ones and uva_chan_free, with every rule
 * above (exactly once, also in a uva_select on B over channels of A; exact
 * capacity; a cancelled or dropped operation takes nothing).  Its futures
 * are futures of B (consume them on B: await, select, join on B).  Such a
 * use switches the channel to the locked mode; each operation of B takes
 * effect on B's thread under the lock.  An operation of B that must wait is
 * woken by whoever changes the channel (a task of any loop, a thread, a
 * close), not by A: A's loop need not run while other loops use its
 * channel (it may be blocked in uva_block_on of something else, or not run
 * at all); only A's own waiting operations need it.  Order: the waiting
 * operations of A keep their order among themselves; a waiting operation of
 * another loop is not queued behind anyone: when woken it competes with
 * every other operation (new ones, A's, other loops'), so under contention
 * it may be overtaken repeatedly.  Each sender's messages still arrive in
 * the order sent.  A thread that is not the channel's loop's and runs no
 * loop's task or callback cannot make futures on the channel or use the
 * _wait calls (UV_EINVAL).
 *
 * Every call from another thread must have returned, and every future of
 * another loop made on the channel must have been freed (consumed to the
 * end), before uva_chan_free; a future of another loop still alive then is
 * reported on stderr and aborts the process.
 */
#ifndef UVA_CHAN_H
#define UVA_CHAN_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A bounded channel (uva_chan_new); freed with uva_chan_free. */
typedef struct uva_chan_s uva_chan_t;

/** Makes a channel on loop for messages of elem_size bytes, holding up to
 * capacity of them, and stores it in *out.  Returns 0; UV_EINVAL if loop or
 * out is NULL, elem_size or capacity is 0, or capacity * (elem_size + 1)
 * does not fit in a size_t (*out is then NULL when out is not NULL);
 * UV_ENOMEM without memory (*out is then NULL).  The channel is freed with
 * uva_chan_free. */
UVA_EXTERN int uva_chan_new(uv_loop_t *loop, size_t elem_size, size_t capacity,
                            uva_chan_t **out);

/** As uva_chan_new, with an element free function (may be NULL): elem_free
 * is called with a pointer to each message the channel drops, so that what
 * a message points to is not leaked: messages still in the channel when it
 * is freed, and the message of a uva_chan_send future that never got in
 * (it failed, was cancelled, lost a select, or was freed).  Not called for
 * try_send or send_blocking that fail: their message stays the caller's. */
UVA_EXTERN int uva_chan_new_ex(uv_loop_t *loop, size_t elem_size,
                               size_t capacity, uva_free_cb elem_free,
                               uva_chan_t **out);

/** Copies *msg and returns a lazy future that, once consumed, settles with 0
 * when the message is in the channel: at once if there is room, else when a
 * receiver makes room (backpressure; waiting senders go in the order they
 * began to wait).  Settles with UV_EPIPE if the channel is or gets closed
 * before the message got in.  Cancel safe: cancelled (or freed, or losing a
 * select) before it got in, it sends nothing; the message then goes to the
 * channel's element free function.  Fails with UV_EINVAL if ch or msg is
 * NULL, UV_ENOMEM without memory (the message is then not sent and stays
 * the caller's).  A send completes once the message is in: a join cancelled
 * after that does not take it back.  From a task or callback of another
 * loop the future is that loop's (see Loops above); from a thread that is
 * not the channel's loop's and runs no loop's task or callback, it fails
 * with UV_EINVAL. */
UVA_EXTERN uva_future_t *uva_chan_send(uva_chan_t *ch, const void *msg);

/** Returns a lazy future that, once consumed, settles with 0 when the oldest
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
 * or from a thread that is not the channel's loop's and runs no loop's task
 * or callback (see Loops above); UV_ENOMEM without memory. */
UVA_EXTERN uva_future_t *uva_chan_recv(uva_chan_t *ch, void *out);

/** Inside a task: the same as uva_await(uva_chan_send(ch, msg), NULL), with
 * the same errors and cancel safety, but no future is made: when the
 * message can go in at once it does (no allocation, a third of the
 * instructions), and when it must wait the task parks on the channel itself
 * with a copy of the message (one future is made only for messages larger
 * than 64 bytes).  Outside a task it makes the future and awaits it
 * (UV_EINVAL, as uva_await).  Returns 0, UV_EPIPE, UV_ECANCELED (the task
 * was cancelled: nothing sent), UV_ENOMEM, or UV_EINVAL if ch or msg is
 * NULL. */
UVA_EXTERN int uva_chan_send_wait(uva_chan_t *ch, const void *msg);

/** Inside a task: the same as uva_await(uva_chan_recv(ch, out), NULL), with
 * the same errors and cancel safety, but no future is made, whether a
 * message is there at once or the task parks on the channel until one
 * comes (a sender then copies it straight to out).  Returns 0, UV_EOF,
 * UV_ECANCELED (nothing taken), UV_ENOMEM, or UV_EINVAL if ch or out is NULL
 * or outside a task. */
UVA_EXTERN int uva_chan_recv_wait(uva_chan_t *ch, void *out);

/** Sends *msg without waiting.  Returns 0; UV_EAGAIN if the channel is full
 * or senders of the channel's loop are waiting; UV_EPIPE if it is closed;
 * UV_EINVAL if ch or msg is NULL.  Callable from any thread (off the
 * channel's loop, under its lock). */
UVA_EXTERN int uva_chan_try_send(uva_chan_t *ch, const void *msg);

/** Receives into out without waiting.  Returns 0; UV_EAGAIN if no message is
 * there for it (or earlier receivers of the channel's loop wait); UV_EOF if
 * the channel is closed and drained; UV_EINVAL if ch or out is NULL.
 * Callable from any thread (off the channel's loop, under its lock). */
UVA_EXTERN int uva_chan_try_recv(uva_chan_t *ch, void *out);

/** Sends *msg from a thread other than the loop's (Tokio's blocking_send):
 * blocks that thread while the channel is full, and wakes the loop through
 * uv_async_send when a receiver there waits, with wake-ups coalesced.
 * Messages from one thread arrive in the order sent; nothing is lost or
 * duplicated.  Returns 0; UV_EPIPE if the channel is (or, while waiting,
 * gets) closed, and the message stays the caller's; UV_EINVAL if ch or msg
 * is NULL or when called on the loop's thread (it could never wake up
 * there).  A thread blocked for room is woken by a receive on the loop, by
 * uva_chan_recv_blocking, or by a close. */
UVA_EXTERN int uva_chan_send_blocking(uva_chan_t *ch, const void *msg);

/** Receives into out from a thread other than the loop's (Tokio's
 * blocking_recv): blocks that thread until a message is there.  Returns 0;
 * UV_EOF once the channel is closed and drained; UV_EINVAL if ch or out is
 * NULL or when called on the loop's thread. */
UVA_EXTERN int uva_chan_recv_blocking(uva_chan_t *ch, void *out);

/** Returns the number of messages in the channel that no receive has taken
 * or reserved (Tokio's len), 0 for NULL.  Callable from any thread; from
 * another thread the answer may be out of date by the time it returns. */
UVA_EXTERN size_t uva_chan_len(uva_chan_t *ch);

/** Closes the channel: later sends fail with UV_EPIPE, waiting senders get
 * UV_EPIPE, receivers get every message sent before the close and then
 * UV_EOF.  Callable from any thread (from another one the loop is woken to
 * tell its waiters).  Returns 0; UV_EINVAL if ch is NULL; UV_EPIPE if
 * already closed. */
UVA_EXTERN int uva_chan_close(uva_chan_t *ch);

/** Frees the channel and the messages still in it (each through the element
 * free function, if any); its waiting send and receive futures settle with
 * UV_ECANCELED, and completed receives not yet taken report UV_ECANCELED
 * when taken.  Loop thread only; no call from another thread may still be
 * running, and no future of another loop made on it may still exist (that
 * aborts the process: see Loops above).  NULL is allowed. */
UVA_EXTERN void uva_chan_free(uva_chan_t *ch);

#ifdef __cplusplus
}
#endif
#endif /* UVA_CHAN_H */
