/** @file
 * uva watch and broadcast channels (tokio::sync::watch, broadcast).
 * Included by uva.h.  Every call is made on the loop's thread, except
 * uva_watch_send, which any thread may call.
 *
 * Both carry fixed-size values copied by value, as uva's channels do: a
 * borrow is a copy, so no reader ever holds memory that a later send
 * frees, and a send allocates nothing.  To share a large value, send a
 * pointer to an object you reference-count yourself.  Waits are lazy
 * futures (see uva/sync.h); a receiver has at most one wait pending. */
#ifndef UVA_WATCH_H
#define UVA_WATCH_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- watch: one value, many receivers ------------------------------------ */

/** A watch channel: one value, many receivers (tokio::sync::watch). */
typedef struct uva_watch_s uva_watch_t;
/** A receiver of a watch: remembers the version it has seen. */
typedef struct uva_watch_rx_s uva_watch_rx_t;

/**
 * Makes a watch on loop holding one value of elem_size bytes, initially a
 * copy of *init (version 0), and stores it in *out.  Returns 0; UV_EINVAL
 * if loop, init or out is NULL or elem_size is 0; UV_ENOMEM.  Freed with
 * uva_watch_free.
 */
UVA_EXTERN int uva_watch_new(uv_loop_t *loop, size_t elem_size,
                             const void *init, uva_watch_t **out);

/**
 * Replaces the value with a copy of *val (the version goes up by one) and
 * wakes every receiver waiting in uva_watch_changed.  Any thread: from
 * another thread the value is copied at once (under the watch's mutex) and
 * published on the loop's thread soon after, through uva's coalesced
 * wake-up; several such sends before that count as one change, the last
 * value winning.  A pending changed future therefore keeps uv_run alive.
 * Returns 0; UV_EPIPE if the watch is closed; UV_EINVAL if w or val is
 * NULL.  Every call from another thread must have returned before
 * uva_watch_free.
 */
UVA_EXTERN int uva_watch_send(uva_watch_t *w, const void *val);

/**
 * Copies the latest value to out and returns its version (the number of
 * sends so far).  Marks nothing as seen.  w and out must not be NULL.
 */
UVA_EXTERN uint64_t uva_watch_borrow(uva_watch_t *w, void *out);

/**
 * Closes the watch (the sender is gone): receivers that have seen the
 * latest value get UV_EPIPE from uva_watch_changed.  Returns 0; UV_EINVAL
 * if w is NULL; UV_EPIPE if already closed.
 */
UVA_EXTERN int uva_watch_close(uva_watch_t *w);

/**
 * Frees the watch; pending changed futures settle with UV_ECANCELED.  Its
 * receivers must be freed too (before or after).  NULL is allowed.
 */
UVA_EXTERN void uva_watch_free(uva_watch_t *w);

/**
 * Makes a receiver of w in *out that has seen the current value.  Returns
 * 0; UV_EINVAL if w or out is NULL; UV_ENOMEM.  Freed with
 * uva_watch_rx_free.
 */
UVA_EXTERN int uva_watch_subscribe(uva_watch_t *w, uva_watch_rx_t **out);

/**
 * Returns a lazy future that settles with 0 and value.u64 = the version
 * once the watch holds a value rx has not seen (at once if it already
 * does); taking its result marks the latest value seen (Tokio's changed).
 * Several sends before that count as one change.  Settles with UV_EPIPE
 * once the watch is closed and rx has seen the latest value, UV_EBUSY if
 * another wait of rx is pending, UV_ECANCELED if rx or the watch is
 * freed.  Cancel safe: dropped untaken, it marks nothing.  Fails with
 * UV_EINVAL if rx is NULL, UV_ENOMEM.
 */
UVA_EXTERN uva_future_t *uva_watch_changed(uva_watch_rx_t *rx);

/**
 * Copies the latest value to out, marks it seen by rx and returns its
 * version (Tokio's borrow_and_update).  rx and out must not be NULL.
 */
UVA_EXTERN uint64_t uva_watch_borrow_and_update(uva_watch_rx_t *rx,
                                                void *out);

/**
 * Frees a receiver; its pending changed future settles with UV_ECANCELED.
 * NULL is allowed.
 */
UVA_EXTERN void uva_watch_rx_free(uva_watch_rx_t *rx);

/* ---- broadcast: every receiver sees every message ------------------------ */

/** A broadcast channel: a bounded ring every receiver reads. */
typedef struct uva_broadcast_s uva_broadcast_t;
/** A receiver of a broadcast channel: its own position in the ring. */
typedef struct uva_broadcast_rx_s uva_broadcast_rx_t;

/**
 * Makes a broadcast channel on loop for messages of elem_size bytes that
 * retains the last capacity of them, in *out.  Returns 0; UV_EINVAL if
 * loop or out is NULL, elem_size or capacity is 0, or the ring's size does
 * not fit in a size_t; UV_ENOMEM.  Freed with uva_broadcast_free.
 */
UVA_EXTERN int uva_broadcast_new(uv_loop_t *loop, size_t elem_size,
                                 size_t capacity, uva_broadcast_t **out);

/**
 * Copies *msg into the ring (overwriting the oldest message when full:
 * never waits, as Tokio's) and wakes waiting receivers.  Returns 0;
 * UV_EPIPE if closed; UV_EINVAL if b or msg is NULL.
 */
UVA_EXTERN int uva_broadcast_send(uva_broadcast_t *b, const void *msg);

/**
 * Closes the channel: receivers get what is left for them, then UV_EOF.
 * Returns 0; UV_EINVAL if b is NULL; UV_EPIPE if already closed.
 */
UVA_EXTERN int uva_broadcast_close(uva_broadcast_t *b);

/**
 * Frees the channel; pending receives settle with UV_ECANCELED.  Its
 * receivers must be freed too (before or after).  NULL is allowed.
 */
UVA_EXTERN void uva_broadcast_free(uva_broadcast_t *b);

/**
 * Makes a receiver in *out that will see the messages sent from now on.
 * Returns 0; UV_EINVAL if b or out is NULL; UV_ENOMEM.
 */
UVA_EXTERN int uva_broadcast_subscribe(uva_broadcast_t *b,
                                       uva_broadcast_rx_t **out);

/**
 * Returns a lazy future that settles with 0 once the receiver's next
 * message is there; value.u64 is how many messages it missed just before
 * this one (0 normally).  A receiver that fell more than capacity messages
 * behind is told so that way (Tokio's Lagged(n)): the message it gets is
 * the oldest retained one, and it continues from there.  The message is
 * copied to out when the future settles (out must stay valid until the
 * future is taken or freed), but the receiver moves past it only when the
 * result is taken: a receive dropped untaken (a lost select, a timeout)
 * leaves the receiver where it was, so the next receive gets the same
 * message.  Settles with UV_EOF once the channel is closed and nothing is
 * left for rx, UV_EBUSY if another receive of rx is pending, UV_ECANCELED
 * if rx or the channel is freed.  Fails with UV_EINVAL if rx or out is
 * NULL, UV_ENOMEM.
 */
UVA_EXTERN uva_future_t *uva_broadcast_recv(uva_broadcast_rx_t *rx,
                                            void *out);

/**
 * Receives without waiting: 0 with the message in out and *missed (if not
 * NULL) set as for uva_broadcast_recv; UV_EAGAIN if nothing is there;
 * UV_EOF if closed and drained; UV_EBUSY if a receive is pending;
 * UV_EINVAL if rx or out is NULL.
 */
UVA_EXTERN int uva_broadcast_try_recv(uva_broadcast_rx_t *rx, void *out,
                                      uint64_t *missed);

/**
 * Frees a receiver; its pending receive settles with UV_ECANCELED.  NULL
 * is allowed.
 */
UVA_EXTERN void uva_broadcast_rx_free(uva_broadcast_rx_t *rx);

#ifdef __cplusplus
}
#endif

#endif /* UVA_WATCH_H */
