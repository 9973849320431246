/* uva streams: TCP, pipes/Unix sockets and TTYs as awaitable byte streams
 * over uv_stream_t (tokio::net::TcpListener, TcpStream, UnixStream).
 * Included by uva.h; not meant to be included on its own.
 *
 * Every call below is made on the loop's thread.  A stream belongs to one
 * loop.  Streams are either made by uva (listen, accept, connect, open) and
 * then own their libuv handle, or adopted from the program
 * (uva_stream_adopt), in which case the handle stays the program's.
 *
 * Reads, accepts and the like are lazy, as Rust's futures are: they take
 * effect only once the future has a consumer (uva_await, uva_future_then,
 * uva_block_on, uva_future_detach, or a join, select or timeout that has
 * itself a consumer).  Cancel safety: a read, read_exact, read_until or
 * accept that is cancelled, times out, loses a select or is freed never
 * loses data libuv has delivered: every byte (also the partial bytes of a
 * read_exact or read_until) and every connection stays in the stream for the
 * next call of the same kind, in order. */
#ifndef UVA_STREAM_H
#define UVA_STREAM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uva_stream_s uva_stream_t;

/* ---- TCP ---------------------------------------------------------------- */

/* Binds a TCP socket to addr (IPv4 or IPv6; port 0 lets the kernel pick one,
 * readable with uva_stream_sockname) and listens with backlog (<= 0: SOMAXCONN),
 * storing the listener in *out.  flags: 0 or UVA_TCP_IPV6ONLY | UVA_TCP_REUSEPORT. */
#define UVA_TCP_IPV6ONLY 1u
#define UVA_TCP_REUSEPORT 2u
UVA_EXTERN int uva_tcp_listen(uv_loop_t *loop, const struct sockaddr *addr,
                              int backlog, unsigned flags, uva_stream_t **out);

/* Connects to addr; the future settles with value.ptr = the connected
 * uva_stream_t (free function uva_stream_free). */
UVA_EXTERN uva_future_t *uva_tcp_connect(uv_loop_t *loop,
                                         const struct sockaddr *addr);

/* Resolves host and port (getaddrinfo), then tries each address in turn;
 * settles with the first connected stream, or the last error. */
UVA_EXTERN uva_future_t *uva_tcp_connect_host(uv_loop_t *loop,
                                              const char *host,
                                              uint16_t port);

/* TCP_NODELAY on or off. */
UVA_EXTERN int uva_tcp_nodelay(uva_stream_t *s, int enable);

/* SO_KEEPALIVE on or off, with the initial delay in seconds. */
UVA_EXTERN int uva_tcp_keepalive(uva_stream_t *s, int enable,
                                 unsigned int delay);

/* ---- pipes, Unix sockets, TTYs, descriptors ------------------------------ */

/* Binds a Unix socket (named pipe) at path and listens. */
UVA_EXTERN int uva_pipe_listen(uv_loop_t *loop, const char *path,
                               int backlog, uva_stream_t **out);

/* Connects to the Unix socket at path; settles with value.ptr = stream. */
UVA_EXTERN uva_future_t *uva_pipe_connect(uv_loop_t *loop, const char *path);

/* Wraps an open descriptor (stdin, stdout, a socket or pipe end) in a
 * stream of the right kind (uv_guess_handle: TTY, pipe or TCP).  The stream
 * owns the descriptor's handle; freeing it closes the descriptor (except
 * 0, 1 and 2, which are left open). */
UVA_EXTERN int uva_stream_open(uv_loop_t *loop, uv_file fd,
                               uva_stream_t **out);

/* ---- adoption ------------------------------------------------------------ */

/* Wraps h, a uv_tcp_t, uv_pipe_t or uv_tty_t that the program initialised
 * (and connected or accepted) on its loop, into a uva stream.  uva never
 * touches h->data; the handle stays the program's memory. */
UVA_EXTERN int uva_stream_adopt(uv_stream_t *h, uva_stream_t **out);

/* Hands an adopted stream's handle back to the program, open and with no
 * read in progress; bytes uva had buffered but nobody read go to *rest (a
 * uva_buf_t the caller frees with uva_buf_free, NULL when none).  Pending
 * operations settle with UV_ECANCELED. */
UVA_EXTERN int uva_stream_release(uva_stream_t *s, uv_stream_t **h,
                                  uva_buf_t **rest);

/* ---- accepting ------------------------------------------------------------ */

/* Accepts the next connection of a listener; settles with value.ptr = the
 * connected uva_stream_t (free function uva_stream_free).  Connections that
 * arrive while nobody accepts wait in the listener. */
UVA_EXTERN uva_future_t *uva_stream_accept(uva_stream_t *listener);

/* The local and peer addresses of a TCP stream or listener. */
UVA_EXTERN int uva_stream_sockname(uva_stream_t *s,
                                   struct sockaddr_storage *out);
UVA_EXTERN int uva_stream_peername(uva_stream_t *s,
                                   struct sockaddr_storage *out);

/* ---- reading --------------------------------------------------------------- */

/* Reads up to len (> 0) bytes into buf; settles with value.u64 = the count
 * (>= 1), or UV_EOF at the end of the stream. */
UVA_EXTERN uva_future_t *uva_stream_read(uva_stream_t *s, void *buf,
                                         size_t len);

/* Reads exactly len bytes into buf; UV_EOF if the stream ends first (the
 * partial bytes stay in the stream). */
UVA_EXTERN uva_future_t *uva_stream_read_exact(uva_stream_t *s, void *buf,
                                               size_t len);

/* Reads up to and including the byte delim (line framing, as
 * BufReader::read_line) into a new uva_buf_t (value.ptr, freed with
 * uva_buf_free); UV_ENOBUFS if max bytes pass without delim. */
UVA_EXTERN uva_future_t *uva_stream_read_until(uva_stream_t *s, int delim,
                                               size_t max);

/* Sets the input buffer's water marks: uva stops reading from the socket
 * while more than high bytes wait unread, and resumes below low. */
UVA_EXTERN int uva_stream_set_buffer(uva_stream_t *s, size_t high,
                                     size_t low);

/* ---- writing --------------------------------------------------------------- */

/* Writes data[0..len) (copied); settles with value.u64 = len once libuv has
 * written it.  Writes go out in call order. */
UVA_EXTERN uva_future_t *uva_stream_write(uva_stream_t *s, const void *data,
                                          size_t len);

/* Writes bufs[0..nbufs) without copying them; done(done_arg) (may be NULL)
 * is called exactly once when libuv no longer uses them, whatever happens. */
UVA_EXTERN uva_future_t *uva_stream_write_bufs(uva_stream_t *s,
                                               const uv_buf_t bufs[],
                                               unsigned int nbufs,
                                               uva_free_cb done,
                                               void *done_arg);

/* Half-closes the writing side once queued writes are done (shutdown). */
UVA_EXTERN uva_future_t *uva_stream_shutdown(uva_stream_t *s);

/* Consumes s: cancels what is pending on it, closes the handle (an adopted
 * one too) and settles once libuv has closed it. */
UVA_EXTERN uva_future_t *uva_stream_close(uva_stream_t *s);

/* Frees s: pending operations settle with UV_ECANCELED, the handle is
 * closed through uv_close (an adopted handle is released, not closed) and
 * the memory is freed in the close callback.  NULL is allowed. */
UVA_EXTERN void uva_stream_free(void *s);

#ifdef __cplusplus
}
#endif
#endif /* UVA_STREAM_H */
