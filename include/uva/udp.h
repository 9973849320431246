/* uva UDP sockets (tokio::net::UdpSocket).  Included by uva.h.  Every call
 * is made on the loop's thread.  Receives are lazy (they take effect once
 * consumed) and cancel safe: a datagram received by libuv is never lost to
 * a cancelled, timed-out or losing receive; it waits for the next one. */
#ifndef UVA_UDP_H
#define UVA_UDP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uva_udp_s uva_udp_t;

#define UVA_UDP_IPV6ONLY 1u
#define UVA_UDP_REUSEADDR 2u

/* Binds a UDP socket to addr (port 0: the kernel picks) and stores it in
 * *out. */
UVA_EXTERN int uva_udp_bind(uv_loop_t *loop, const struct sockaddr *addr,
                            unsigned int flags, uva_udp_t **out);

/* Sends data[0..len) (copied) to addr; settles once sent. */
UVA_EXTERN uva_future_t *uva_udp_send(uva_udp_t *u, const void *data,
                                      size_t len,
                                      const struct sockaddr *addr);

/* Receives the next datagram into buf[0..len) and its sender into *from
 * (may be NULL); settles with value.u64 = the datagram's length. */
UVA_EXTERN uva_future_t *uva_udp_recv(uva_udp_t *u, void *buf, size_t len,
                                      struct sockaddr_storage *from);

/* How many datagrams may wait while nobody receives (default 1024). */
UVA_EXTERN int uva_udp_set_queue(uva_udp_t *u, size_t max);

/* Datagrams dropped because the queue was full, since the socket was made. */
UVA_EXTERN uint64_t uva_udp_dropped(const uva_udp_t *u);

UVA_EXTERN int uva_udp_sockname(uva_udp_t *u, struct sockaddr_storage *out);
UVA_EXTERN int uva_udp_set_broadcast(uva_udp_t *u, int on);
UVA_EXTERN int uva_udp_set_multicast_loop(uva_udp_t *u, int on);
UVA_EXTERN int uva_udp_set_multicast_ttl(uva_udp_t *u, int ttl);
UVA_EXTERN int uva_udp_join(uva_udp_t *u, const char *group,
                            const char *iface);
UVA_EXTERN int uva_udp_leave(uva_udp_t *u, const char *group,
                             const char *iface);

/* Frees u: pending operations settle with UV_ECANCELED, queued datagrams
 * are dropped, the handle is closed.  NULL is allowed. */
UVA_EXTERN void uva_udp_free(uva_udp_t *u);

#ifdef __cplusplus
}
#endif
#endif /* UVA_UDP_H */
