/** @file
 * uva UDP sockets (tokio::net::UdpSocket).  Included by uva.h; may also be
 * included on its own.
 *
 * Every call is made on the loop's thread.  A socket belongs to the loop it
 * was bound on.  Sends and receives are lazy, as Rust's futures are: they
 * take effect only once the future has a consumer (uva_await,
 * uva_future_then, uva_block_on, uva_future_detach, or a join, select or
 * timeout that has itself a consumer); a future freed before that has had
 * no effect.
 *
 * Datagrams that arrive while no receive waits are kept, in order, in the
 * socket's queue (at most uva_udp_set_queue's max, 1024 by default).  When
 * the queue is full, uva still reads from the kernel and drops each new
 * datagram, counting it in uva_udp_dropped (as a full kernel buffer would,
 * but visibly); a datagram for which no memory can be had is dropped and
 * counted the same way.  libuv reads into one 64 KiB buffer per socket; each
 * kept datagram costs a node of its own size.
 *
 * The socket reads while a receive waits or its queue may hold datagrams;
 * its handle counts for uv_run only while a receive waits, so a socket
 * nobody receives on never keeps uv_run alive. */
#ifndef UVA_UDP_H
#define UVA_UDP_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A UDP socket (uva_udp_bind); freed with uva_udp_free. */
typedef struct uva_udp_s uva_udp_t;

#define UVA_UDP_IPV6ONLY 1u  /**< IPv6 only (addr must be IPv6) */
#define UVA_UDP_REUSEADDR 2u /**< SO_REUSEADDR: several sockets on one port */

/** Makes a UDP socket bound to addr (IPv4 or IPv6; port 0: the kernel picks
 * one, readable with uva_udp_sockname) and stores it in *out (NULL on
 * error).  flags: 0 or UVA_UDP_IPV6ONLY | UVA_UDP_REUSEADDR.  The socket
 * starts reading into its queue at once.
 * Errors: UV_EINVAL (loop, addr or out NULL, addr neither AF_INET nor
 * AF_INET6, an unknown flag, UVA_UDP_IPV6ONLY with an IPv4 addr);
 * UV_ENOMEM; libuv's bind errors unchanged (UV_EADDRINUSE,
 * UV_EADDRNOTAVAIL, UV_EACCES).  After a bind error the handle libuv made
 * is closed when the loop next runs (uv_run, or uva_block_on).
 * Ownership: the caller frees *out with uva_udp_free. */
UVA_EXTERN int uva_udp_bind(uv_loop_t *loop, const struct sockaddr *addr,
                            unsigned int flags, uva_udp_t **out);

/** A future that sends data[0..len) (copied now; len 0 sends an empty
 * datagram) to addr (copied) once it has a consumer.  It settles with
 * value.u64 = len once libuv has handed the datagram to the kernel: at
 * once, from the start, when libuv's send queue is empty
 * (uv_udp_try_send), else when libuv's send callback runs.
 * Errors (a failed future): UV_EINVAL (u NULL, data NULL with len > 0,
 * addr NULL or not AF_INET/AF_INET6, len > 4 GiB); UV_EBADF (u was freed
 * while futures of it were still alive); UV_ENOMEM; the kernel's errors
 * unchanged (UV_EMSGSIZE for a datagram too large, UV_ENETUNREACH,
 * UV_EACCES for a broadcast address without uva_udp_set_broadcast).
 * Cancel safety: cancelling or freeing a send that has not started sends
 * nothing.  Once started, a datagram waiting in libuv's send queue cannot
 * be taken back: a cancel settles the future with UV_ECANCELED at once and
 * the datagram is still sent.  uva_udp_free settles a send that has not
 * started with UV_ECANCELED when it starts. */
UVA_EXTERN uva_future_t *uva_udp_send(uva_udp_t *u, const void *data,
                                      size_t len,
                                      const struct sockaddr *addr);

/** A future that receives the next datagram once it has a consumer: the
 * first queued datagram if any, else the next to arrive (receives started
 * earlier are served first).  When its consumer takes the result the
 * datagram is copied into buf[0..len) and its sender into *from (if from is
 * not NULL); the future settles with value.u64 = the datagram's full
 * length.  A datagram longer than len is truncated: only len bytes are
 * stored and value.u64 > len says so (as recv(2) with MSG_TRUNC does); the
 * rest is discarded.  buf and from must stay valid until the future is
 * consumed or freed (uva writes them only when the result is taken, never
 * after).
 * Errors (a failed future): UV_EINVAL (u NULL, buf NULL with len > 0);
 * UV_EBADF (u freed while futures of it were alive); UV_ENOMEM; a socket
 * error libuv reports while the receive waits, unchanged; UV_ECANCELED
 * when uva_udp_free ends it.
 * Cancel safety: cancel safe.  A receive cancelled, timed out, losing a
 * select or freed before its result was taken loses nothing: its datagram
 * goes back to the front of the queue (or to the first receive that waits),
 * so the next receive gets it, in order. */
UVA_EXTERN uva_future_t *uva_udp_recv(uva_udp_t *u, void *buf, size_t len,
                                      struct sockaddr_storage *from);

/** Sets how many datagrams may wait in u's queue while no receive waits
 * (default 1024).  0: uva reads only while a receive waits, and datagrams
 * wait in the kernel's buffer meanwhile.  Datagrams already queued past a
 * lower max stay there.  Errors: UV_EINVAL (u NULL), UV_EBADF (freed). */
UVA_EXTERN int uva_udp_set_queue(uva_udp_t *u, size_t max);

/** Datagrams u dropped since it was made because its queue was full (or
 * memory ran out).  0 for NULL. */
UVA_EXTERN uint64_t uva_udp_dropped(const uva_udp_t *u);

/** Datagrams waiting in u's queue now.  0 for NULL. */
UVA_EXTERN size_t uva_udp_queued(const uva_udp_t *u);

/** Stores the address u is bound to in *out.  Errors: UV_EINVAL (u or out
 * NULL), UV_EBADF (freed), libuv's uv_udp_getsockname errors. */
UVA_EXTERN int uva_udp_sockname(uva_udp_t *u, struct sockaddr_storage *out);

/** @{ */
/** Socket options, as libuv's uv_udp_set_* and uv_udp_set_membership:
 * SO_BROADCAST (needed to send to a broadcast address), multicast loopback,
 * multicast TTL (1..255), and joining or leaving the multicast group
 * group (an address string) on the interface with address iface (NULL: the
 * system picks).  Errors: UV_EINVAL (u or group NULL, a ttl out of range, a
 * group that is not a multicast address); UV_EBADF (freed); the kernel's
 * errors unchanged: joining a group fails with UV_ENODEV when no interface
 * routes multicast (a sandbox with only loopback), UV_EADDRINUSE when
 * already joined, UV_EADDRNOTAVAIL when leaving a group not joined. */
UVA_EXTERN int uva_udp_set_broadcast(uva_udp_t *u, int on);
UVA_EXTERN int uva_udp_set_multicast_loop(uva_udp_t *u, int on);
UVA_EXTERN int uva_udp_set_multicast_ttl(uva_udp_t *u, int ttl);
UVA_EXTERN int uva_udp_join(uva_udp_t *u, const char *group,
                            const char *iface);
UVA_EXTERN int uva_udp_leave(uva_udp_t *u, const char *group,
                             const char *iface);
/** @} */

/** Frees u: receives that wait settle with UV_ECANCELED now, queued
 * datagrams are dropped, the handle is closed (when the loop next runs).
 * Futures of u not yet started settle with UV_ECANCELED when they start;
 * a receive that already holds its datagram still delivers it when taken;
 * sends in libuv's queue still go.  The memory lives until the last such
 * future is gone; the caller must not use u again.  NULL is allowed. */
UVA_EXTERN void uva_udp_free(uva_udp_t *u);

#ifdef __cplusplus
}
#endif
#endif /* UVA_UDP_H */
