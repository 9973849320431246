/* uva signals (tokio::signal).  Included by uva.h.  No handler is installed
 * until a future or listener asks for a signal, and none is left once it is
 * freed. */
#ifndef UVA_SIGNAL_H
#define UVA_SIGNAL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uva_signal_s uva_signal_t;

/* Settles with value.i64 = signum on the next delivery of signum
 * (tokio::signal::ctrl_c is uva_signal(loop, SIGINT)). */
UVA_EXTERN uva_future_t *uva_signal(uv_loop_t *loop, int signum);

/* A listener for repeated deliveries of signum, stored in *out.  Deliveries
 * are counted from this call on, also while nobody awaits. */
UVA_EXTERN int uva_signal_listen(uv_loop_t *loop, int signum,
                                 uva_signal_t **out);

/* Settles with value.u64 = the number of deliveries since the previous
 * uva_signal_next took some (>= 1). */
UVA_EXTERN uva_future_t *uva_signal_next(uva_signal_t *sig);

/* Frees a listener: its handler goes; a pending next settles with
 * UV_ECANCELED.  NULL is allowed. */
UVA_EXTERN void uva_signal_free(uva_signal_t *sig);

#ifdef __cplusplus
}
#endif
#endif /* UVA_SIGNAL_H */
