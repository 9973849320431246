/** @file
 * uva signals (tokio::signal).  Included by uva.h; may also be included on
 * its own.  Every call is made on the loop's thread.
 *
 * A signal handler (libuv's, through uv_signal_t) is installed only while
 * a uva_signal future is pending or a listener exists, and none is left
 * once they are gone: libuv puts SIG_DFL back when its last handle for a
 * signal stops, and uva then puts back the disposition the program had
 * before (SIG_IGN or its own handler), unless that was libuv's own (another
 * uv_signal_t of the program's still had the signal then).  Signals are a
 * process's: a handler of libuv's serves every loop that watches the
 * signal. */
#ifndef UVA_SIGNAL_H
#define UVA_SIGNAL_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A listener for a signal (uva_signal_listen); freed with
 * uva_signal_free. */
typedef struct uva_signal_s uva_signal_t;

/** A future that settles with value.i64 = signum on the next delivery of
 * signum after this call (tokio::signal::ctrl_c is uva_signal(loop,
 * SIGINT)).  The handler is installed now (the future is not lazy, so a
 * signal raised before it is awaited is not missed) and removed when the
 * future settles or is freed.  While it is pending it keeps uv_run alive.
 * Errors (a failed future): UV_EINVAL (loop NULL, signum not a signal that
 * can be caught: <= 0, >= NSIG, SIGKILL, SIGSTOP); UV_ENOMEM; libuv's
 * uv_signal_start errors unchanged.
 * Cancel safety: cancel safe; a cancel removes the handler and settles with
 * UV_ECANCELED (a delivery after that is the program's default's). */
UVA_EXTERN uva_future_t *uva_signal(uv_loop_t *loop, int signum);

/** Makes a listener for repeated deliveries of signum and stores it in *out
 * (NULL on error).  Its handler is installed now and deliveries are counted
 * from this call on, also while nobody awaits; the listener keeps uv_run
 * alive only while a uva_signal_next waits.
 * Errors: UV_EINVAL (loop or out NULL, signum as for uva_signal);
 * UV_ENOMEM; libuv's errors unchanged.
 * Ownership: the caller frees *out with uva_signal_free. */
UVA_EXTERN int uva_signal_listen(uv_loop_t *loop, int signum,
                                 uva_signal_t **out);

/** A lazy future that settles with value.u64 = the number of deliveries
 * counted since the previous next took some (>= 1): at once if there are
 * some, else at the next delivery.  One next may wait at a time.
 * Errors (a failed future): UV_EINVAL (sig NULL); UV_EBADF (sig freed while
 * futures of it were alive); UV_ENOMEM; UV_EBUSY (started while another
 * next of sig waits); UV_ECANCELED (uva_signal_free ended it).
 * Cancel safety: cancel safe.  A next cancelled, timed out, losing a select
 * or freed before its result was taken gives its count back: the next
 * uva_signal_next reports those deliveries too. */
UVA_EXTERN uva_future_t *uva_signal_next(uva_signal_t *sig);

/** Frees a listener: its handler goes now; a waiting next settles with
 * UV_ECANCELED, and one not started settles so when it starts.  The memory
 * lives until its futures are gone and its handle is closed; the caller
 * must not use sig again.  NULL is allowed. */
UVA_EXTERN void uva_signal_free(uva_signal_t *sig);

#ifdef __cplusplus
}
#endif
#endif /* UVA_SIGNAL_H */
