/* uva name resolution (tokio::net::lookup_host).  Included by uva.h. */
#ifndef UVA_DNS_H
#define UVA_DNS_H

#ifdef __cplusplus
extern "C" {
#endif

/* getaddrinfo(node, service, hints) on libuv's thread pool; settles with
 * value.ptr = the struct addrinfo list, freed with uva_freeaddrinfo. */
UVA_EXTERN uva_future_t *uva_getaddrinfo(uv_loop_t *loop, const char *node,
                                         const char *service,
                                         const struct addrinfo *hints);

/* Frees a list from uva_getaddrinfo (fits uva_free_cb).  NULL is allowed. */
UVA_EXTERN void uva_freeaddrinfo(void *ai);

/* What uva_getnameinfo settles with (value.ptr, freed with free()-like
 * uva_nameinfo_free). */
typedef struct uva_nameinfo {
  char host[1025];   /* NI_MAXHOST */
  char service[32];  /* NI_MAXSERV */
} uva_nameinfo_t;

/* getnameinfo(addr, flags) on libuv's thread pool. */
UVA_EXTERN uva_future_t *uva_getnameinfo(uv_loop_t *loop,
                                         const struct sockaddr *addr,
                                         int flags);

/* Frees a uva_nameinfo_t (fits uva_free_cb).  NULL is allowed. */
UVA_EXTERN void uva_nameinfo_free(void *ni);

#ifdef __cplusplus
}
#endif
#endif /* UVA_DNS_H */
