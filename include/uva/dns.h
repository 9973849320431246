/** @file
 * uva name resolution (tokio::net::lookup_host).  Included by uva.h; may
 * also be included on its own.  Every call is made on the loop's thread; the
 * lookups run on libuv's thread pool (uv_getaddrinfo, uv_getnameinfo). */
#ifndef UVA_DNS_H
#define UVA_DNS_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** getaddrinfo(node, service, hints) on libuv's thread pool (node, service
 * and hints are copied; hints may be NULL).  Settles with value.ptr = the
 * struct addrinfo list, whose free function is uva_freeaddrinfo: the
 * consumer that takes it frees it with uva_freeaddrinfo; one nobody takes
 * is freed by uva.
 * Errors (a failed future): UV_EINVAL (loop NULL, node and service both
 * NULL); UV_ENOMEM; getaddrinfo's errors as libuv maps them (UV_EAI_NONAME
 * for an unknown name, UV_EAI_AGAIN when no resolver answers, ...).
 * Cancel safety: cancel safe (it takes nothing).  A cancel removes the
 * request from the pool's queue if no thread has it yet (uv_cancel) and
 * settles with UV_ECANCELED at once; a lookup already running finishes on
 * its thread and its result is freed when it arrives. */
UVA_EXTERN uva_future_t *uva_getaddrinfo(uv_loop_t *loop, const char *node,
                                         const char *service,
                                         const struct addrinfo *hints);

/** Frees a list from uva_getaddrinfo (fits uva_free_cb).  NULL is allowed.
 * Any thread. */
UVA_EXTERN void uva_freeaddrinfo(void *ai);

/** What uva_getnameinfo settles with. */
typedef struct uva_nameinfo {
  char host[1025];   /**< NI_MAXHOST */
  char service[32];  /**< NI_MAXSERV */
} uva_nameinfo_t;

/** getnameinfo(addr, flags) (NI_* flags; addr copied) on libuv's thread
 * pool.  Settles with value.ptr = a uva_nameinfo_t whose free function is
 * uva_nameinfo_free.
 * Errors (a failed future): UV_EINVAL (loop or addr NULL, addr neither
 * AF_INET nor AF_INET6); UV_ENOMEM; getnameinfo's errors as libuv maps
 * them (UV_EAI_NONAME with NI_NAMEREQD and no name, ...).
 * Cancel safety: as uva_getaddrinfo. */
UVA_EXTERN uva_future_t *uva_getnameinfo(uv_loop_t *loop,
                                         const struct sockaddr *addr,
                                         int flags);

/** Frees a uva_nameinfo_t (fits uva_free_cb).  NULL is allowed.  Any
 * thread. */
UVA_EXTERN void uva_nameinfo_free(void *ni);

#ifdef __cplusplus
}
#endif
#endif /* UVA_DNS_H */
