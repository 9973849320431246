/** @file
 * uva oneshot (tokio::sync::oneshot): a future that any thread resolves
 * exactly once.  Included by uva.h. */
#ifndef UVA_ONESHOT_H
#define UVA_ONESHOT_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The sending half of a oneshot.  Every call on it may be made from any
 * thread. */
typedef struct uva_oneshot_s uva_oneshot_t;

/**
 * Makes a oneshot on loop: *rx receives its future, *tx the sender that
 * settles it from any thread (uva_oneshot_send, uva_oneshot_close).  The
 * future is lazy: once it has a consumer it settles with the value sent,
 * or with UV_EPIPE if the sender was closed without sending (Tokio's
 * RecvError); the loop is woken through uva's coalesced async handle,
 * which a consumed, pending rx keeps open and referenced (so uva_block_on
 * and uv_run wait for the other thread).  Cancelling rx settles it with
 * UV_ECANCELED; a value sent after that, or sent to an rx that was freed,
 * is refused (see uva_oneshot_send).  A value nobody takes is freed with
 * its free function.  Returns 0; UV_EINVAL if loop, tx or rx is NULL;
 * UV_ENOMEM (then *tx is NULL and *rx a failed future).  Loop thread.
 */
UVA_EXTERN int uva_oneshot_new(uv_loop_t *loop, uva_oneshot_t **tx,
                               uva_future_t **rx);

/**
 * Settles the receiving future with ptr (free_fn, which may be NULL, frees
 * it if nobody takes it) and consumes tx: it must not be used again,
 * whatever this returns.  Any thread.  Returns 0; UV_EPIPE if the
 * receiving future was cancelled or freed first: ptr then stays the
 * caller's (as Tokio's send returns Err(value)); UV_EINVAL if tx is NULL.
 */
UVA_EXTERN int uva_oneshot_send(uva_oneshot_t *tx, void *ptr,
                                uva_free_cb free_fn);

/**
 * As uva_oneshot_send, with an integer value.
 */
UVA_EXTERN int uva_oneshot_send_u64(uva_oneshot_t *tx, uint64_t value);

/**
 * Drops the sender without sending: the receiving future settles with
 * UV_EPIPE.  Consumes tx.  Any thread.  NULL is allowed.
 */
UVA_EXTERN void uva_oneshot_close(uva_oneshot_t *tx);

/**
 * Returns 1 if the receiving future has been cancelled or freed (a send
 * would fail with UV_EPIPE), else 0 (also for NULL).  Any thread; the
 * answer may be out of date at once.
 */
UVA_EXTERN int uva_oneshot_is_closed(uva_oneshot_t *tx);

#ifdef __cplusplus
}
#endif

#endif /* UVA_ONESHOT_H */
