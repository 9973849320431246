/* uva readiness of a descriptor another library owns (tokio's AsyncFd,
 * uv_poll_t): for libcurl, libpq or OpenSSL.  Included by uva.h. */
#ifndef UVA_ASYNCFD_H
#define UVA_ASYNCFD_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uva_asyncfd_s uva_asyncfd_t;

/* Watches fd (a socket or pipe; uva never closes it) and stores the watcher
 * in *out. */
UVA_EXTERN int uva_asyncfd_new(uv_loop_t *loop, int fd, uva_asyncfd_t **out);

/* Settles with 0 once fd is readable (or has hung up). */
UVA_EXTERN uva_future_t *uva_asyncfd_readable(uva_asyncfd_t *a);

/* Settles with 0 once fd is writable. */
UVA_EXTERN uva_future_t *uva_asyncfd_writable(uva_asyncfd_t *a);

/* Frees the watcher (not fd): pending futures settle with UV_ECANCELED.
 * NULL is allowed. */
UVA_EXTERN void uva_asyncfd_free(uva_asyncfd_t *a);

#ifdef __cplusplus
}
#endif
#endif /* UVA_ASYNCFD_H */
