/** @file
 * uva readiness of a descriptor another library owns (tokio's AsyncFd, one
 * uv_poll_t): for libcurl, libpq or OpenSSL, which do their own reads and
 * writes and only need to know when to retry.  Included by uva.h; may also
 * be included on its own.  Every call is made on the loop's thread. */
#ifndef UVA_ASYNCFD_H
#define UVA_ASYNCFD_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A watcher of one descriptor's readiness (uva_asyncfd_new). */
typedef struct uva_asyncfd_s uva_asyncfd_t;

/** Watches fd (a socket, pipe or other pollable descriptor) and stores the
 * watcher in *out (NULL on error).  uva never reads, writes or closes fd;
 * libuv puts it in non-blocking mode (as uv_poll_init does).  fd must stay
 * open until the watcher is freed, and no other libuv handle of the loop
 * may watch it meanwhile (libuv allows one per descriptor).  Nothing is
 * watched until a future asks.
 * Errors: UV_EINVAL (loop or out NULL); UV_EBADF (fd < 0 or not open);
 * UV_EEXIST (a libuv handle of this loop watches fd now, such as another
 * watcher with a pending future: libuv sees only started watchers, so two
 * watchers of one fd that are both idle are not detected, and must not be
 * made); UV_EPERM (a regular file, which epoll cannot watch); UV_ENOMEM.
 * Ownership: the caller frees *out with uva_asyncfd_free, before closing
 * fd. */
UVA_EXTERN int uva_asyncfd_new(uv_loop_t *loop, int fd, uva_asyncfd_t **out);

/** A future that settles with 0 once fd is readable or its peer has hung up
 * (a read then does not block; it may return 0 or EAGAIN, in which case ask
 * again).  Several futures may wait on one watcher; the poll handle watches
 * the union of what they wait for, and drops an interest when its last
 * future settles or is cancelled (uv_poll_start with what remains, or
 * uv_poll_stop).  Readiness is level-triggered: a future made while fd is
 * readable settles at the loop's next poll.
 * Errors (a failed future): UV_EINVAL (a NULL); UV_EBADF (a freed
 * watcher); UV_ENOMEM; a poll error libuv reports, unchanged;
 * UV_ECANCELED when uva_asyncfd_free ends it.
 * Cancel safety: cancel safe (it takes nothing). */
UVA_EXTERN uva_future_t *uva_asyncfd_readable(uva_asyncfd_t *a);

/** As uva_asyncfd_readable, for fd writable; cancel safe likewise (a cancel
 * drops its interest and takes nothing). */
UVA_EXTERN uva_future_t *uva_asyncfd_writable(uva_asyncfd_t *a);

/** Frees the watcher, not fd: the poll handle stops now and is closed when
 * the loop next runs; pending futures settle with UV_ECANCELED.  fd may be
 * closed right after this call.  The caller must not use a again.  NULL is
 * allowed. */
UVA_EXTERN void uva_asyncfd_free(uva_asyncfd_t *a);

#ifdef __cplusplus
}
#endif
#endif /* UVA_ASYNCFD_H */
