/** @file
 * uva cancellation tokens (tokio-util's CancellationToken).  Included by
 * uva.h.
 *
 * A token belongs to the loop it was made on.  Cancelling it, once, settles
 * every uva_token_cancelled future of it, cancels every future bound to it
 * (uva_token_bind: a task is cancelled as uva_future_cancel does it), every
 * task group bound to it (uva_group_bind_token) and, recursively, its child
 * tokens.  Cancelling twice does nothing more.
 *
 * Threads: uva_token_cancel and uva_token_is_cancelled may be called from
 * any thread; uva_token_cancel_async may also be called from a signal
 * handler (it is async-signal-safe: one atomic exchange and uv_async_send,
 * which libuv documents as async-signal-safe; nothing else).  Every other
 * call is made on the loop's thread.  A call from another thread or a
 * signal handler must not run at the same time as, or after,
 * uva_token_free of the same token (the program makes sure of that, e.g.
 * by removing its signal handler first).
 *
 * Each token has a uv_async_t of its own on the loop (unreferenced: it
 * keeps uv_run alive only while a uva_token_cancelled future of the token
 * waits), so uv_loop_close returns 0 only once every token has been freed
 * and the loop has run once after that (uva_block_on, uva_loop_shutdown or
 * uv_run close it). */
#ifndef UVA_TOKEN_H
#define UVA_TOKEN_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A cancellation token. */
typedef struct uva_token_s uva_token_t;

/** Makes a token on loop that is not cancelled and stores it in *out.
 *  Returns 0; UV_EINVAL if loop or out is NULL (*out is then NULL when out is
 *  not NULL); UV_ENOMEM without memory; libuv's uv_async_init error.  The
 *  caller frees it with uva_token_free.  Loop thread only. */
UVA_EXTERN int uva_token_new(uv_loop_t *loop, uva_token_t **out);

/** Makes a child token of parent (tokio-util's child_token) and stores it
 *  in *out: it is cancelled when parent is (at once if parent is cancelled
 *  already), while cancelling the child does not cancel parent.  A child
 *  freed before its parent unlinks itself; a parent freed first leaves its
 *  children on their own (not cancelled).  Errors as uva_token_new, and
 *  UV_EINVAL if parent is NULL.  Loop thread only. */
UVA_EXTERN int uva_token_child(uva_token_t *parent, uva_token_t **out);

/** Cancels tok (and with it its children, bound futures and groups).  On
 *  the loop's thread it takes effect before it returns; from another thread
 *  it does what uva_token_cancel_async does.  Not for signal handlers (use
 *  uva_token_cancel_async there).  NULL and a token already cancelled are
 *  allowed and do nothing. */
UVA_EXTERN void uva_token_cancel(uva_token_t *tok);

/** Cancels tok from anywhere, a signal handler included: async-signal-safe.
 *  It marks tok cancelled (uva_token_is_cancelled(tok) returns 1 from now
 *  on, on every thread) and wakes the loop with uv_async_send; the effects
 *  (waiters settled, children, bound futures and groups cancelled) happen
 *  from the loop soon after, in a uv callback.  NULL is allowed. */
UVA_EXTERN void uva_token_cancel_async(uva_token_t *tok);

/** Returns 1 once tok has been cancelled, else 0 (also for NULL).  A
 *  parent's cancel reaches a child as it propagates: at once for
 *  uva_token_cancel on the loop's thread, from the loop otherwise.  Any
 *  thread; async-signal-safe (one atomic load). */
UVA_EXTERN int uva_token_is_cancelled(const uva_token_t *tok);

/** Returns a future that settles with 0 when tok is cancelled (at once,
 *  that is from the loop soon after, if it is cancelled already)
 *  (tokio-util's cancelled()).  While it waits it keeps uv_run alive (a
 *  cancel may come from a signal handler or another thread).  Fails with
 *  UV_EINVAL if tok is NULL, UV_ENOMEM without memory; settles with
 *  UV_ECANCELED if tok is freed while it waits.  Cancel safe: it takes
 *  nothing; cancelling it settles it with UV_ECANCELED.  Loop thread
 *  only. */
UVA_EXTERN uva_future_t *uva_token_cancelled(uva_token_t *tok);

/** Consumes f and returns a future that settles as f does, except that f is
 *  cancelled (uva_future_cancel) when tok is cancelled, at once if tok
 *  already is (tokio-util's run_until_cancelled, and the way to bind a task
 *  to a token: uva_token_bind(tok, uva_spawn(...))).  The returned future
 *  still settles with f's own result once f has settled: for a task, once
 *  its body has returned (usually UV_ECANCELED).  It is lazy if f is, and
 *  holds f's result until its own is taken (dropped untaken, f is dropped
 *  untaken and gives back what it took), as uva_timeout does.  Cancelling
 *  or freeing it cancels f.  A token freed first lets f run on unbound.
 *  An f that has already settled is returned as it is.  Fails with
 *  UV_EINVAL if tok or f is NULL or f belongs to another loop (f is freed),
 *  or f already has a consumer (f is left alone); UV_ENOMEM without memory
 *  (f is freed).  Loop thread only. */
UVA_EXTERN uva_future_t *uva_token_bind(uva_token_t *tok, uva_future_t *f);

/** Frees tok: its waiting uva_token_cancelled futures settle with
 *  UV_ECANCELED, bound futures and groups run on unbound, children are let
 *  go of (not cancelled) and tok is unlinked from its parent.  Its uv_async_t
 *  is closed (the memory goes in the close callback).  NULL is allowed.
 *  Loop thread only. */
UVA_EXTERN void uva_token_free(uva_token_t *tok);

#ifdef __cplusplus
}
#endif
#endif /* UVA_TOKEN_H */
