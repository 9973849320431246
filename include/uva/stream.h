/** @file
 * uva streams: TCP, pipes/Unix sockets and TTYs as awaitable byte streams
 * over uv_stream_t (tokio::net::TcpListener, TcpStream, UnixStream).
 * Included by uva.h; may also be included on its own.
 *
 * Every call below is made on the loop's thread.  A stream belongs to one
 * loop.  Streams are either made by uva (listen, accept, connect, open) and
 * then own their libuv handle, or adopted from the program
 * (uva_stream_adopt), in which case the handle stays the program's: uva
 * never reads or writes its data field, and finds the stream through a
 * per-loop map from handle address to stream.
 *
 * Laziness.  Reads (read, read_exact, read_until), accept, writes
 * (write, write_bufs) and shutdown are lazy, as Rust's futures are: they
 * take effect only once the future has a consumer (uva_await,
 * uva_future_then, uva_block_on, uva_future_detach, or a join, select or
 * timeout that has itself a consumer).  A lazy future freed or cancelled
 * before that has had no effect at all.  Connects and close start at once.
 *
 * Cancel safety.  A read, read_exact, read_until or accept that is
 * cancelled, times out, loses a select or is freed never loses data libuv
 * has delivered: every byte (also the partial bytes of a read_exact or
 * read_until, which stay in the stream until the call can complete) and
 * every connection stays in the stream for the next call of the same kind,
 * in order.  A read or accept that had completed but whose result nobody
 * took (a select loser that completed in the same turn, a join cancelled
 * after it) gives its bytes back to the front of the stream's buffer, or its
 * connection back to the front of the listener's queue.  If memory runs out
 * while bytes are given back or kept, the stream fails instead (every later
 * read reports UV_ENOMEM): bytes are never dropped silently.
 *
 * Reading.  While a uva_stream_read waits and nothing is buffered, libuv
 * reads straight into the caller's buffer (no copy); bytes that arrive while
 * nobody reads are kept in the stream's buffer.  Once a stream has been read
 * from, uva keeps reading from the socket until the buffer passes its
 * high-water mark (256 KiB by default, uva_stream_set_buffer), stops there
 * (uv_read_stop) and resumes below the low-water mark (64 KiB): the memory a
 * stream holds is bounded whatever the peer sends (beyond the marks, a
 * waiting read_exact or read_until may hold up to its own length or limit).
 *
 * Writing.  Writes go out in the order they start (writes awaited one at a
 * time, or handed to a join in order, go out in call order).  A write that
 * starts while libuv has nothing queued is tried at once (uv_try_write); if
 * it all fits in the socket its future settles at once.  While libuv's
 * write queue holds more than 1 MiB, started writes and shutdowns wait in
 * uva's queue, in order, and go to libuv as it drains.  libuv cannot recall
 * bytes: cancelling a write that libuv has started does not stop it (the
 * future settles with UV_ECANCELED at once, and the bytes are written
 * anyway as far as the connection allows); cancelling one that waits in
 * uva's queue, or has not started, means it is never written.
 *
 * SIGPIPE.  libuv writes with write(2) and writev(2), which raise SIGPIPE on
 * a socket or pipe whose peer has gone.  When the first stream is made,
 * uva sets SIGPIPE to SIG_IGN if it still has its default action (as
 * Node.js does); a handler the program installed is left alone.  Writes to
 * a peer that has gone then fail with UV_EPIPE or UV_ECONNRESET.
 *
 * The loop.  A stream's handle is referenced (uv_ref) only while an accept,
 * read, write, shutdown or connect waits on it, so that a listener or a
 * connection with nothing pending never keeps the program's uv_run alive.
 *
 * Errors.  Besides the ones each call names, libuv's errors come through
 * unchanged (UV_ECONNREFUSED, UV_EADDRINUSE, UV_ECONNRESET, UV_ENOENT, ...).
 * A call given a stream that has been freed or closed (while another future
 * still keeps its memory) fails with UV_EBADF; one given NULL, or something
 * that is not a stream, with UV_EINVAL. */
#ifndef UVA_STREAM_H
#define UVA_STREAM_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A byte stream (TCP, pipe or TTY) or a listener; freed with
 * uva_stream_free. */
typedef struct uva_stream_s uva_stream_t;

/* ---- TCP ---------------------------------------------------------------- */

/** uva_tcp_listen flag: an IPv6 address accepts no IPv4 connections. */
#define UVA_TCP_IPV6ONLY 1u
/** uva_tcp_listen flag: SO_REUSEPORT, so that several listeners share the
 * port. */
#define UVA_TCP_REUSEPORT 2u

/** Binds a TCP socket to addr (IPv4 or IPv6; port 0 lets the kernel pick one,
 * readable with uva_stream_sockname) and listens with backlog (<= 0:
 * SOMAXCONN), storing the listener in *out; the caller frees it with
 * uva_stream_free (or uva_stream_close).  flags: 0, or UVA_TCP_IPV6ONLY
 * (an IPv6 address accepts no IPv4 connections) and UVA_TCP_REUSEPORT
 * (SO_REUSEPORT, so that several listeners share the port).  Returns 0;
 * UV_EINVAL if loop, addr or out is NULL, addr is neither AF_INET nor
 * AF_INET6, or flags has other bits; UV_ENOMEM; libuv's errors
 * (UV_EADDRINUSE, UV_EACCES, UV_EADDRNOTAVAIL, ...).  On error *out is NULL
 * (when out is not NULL). */
UVA_EXTERN int uva_tcp_listen(uv_loop_t *loop, const struct sockaddr *addr,
                              int backlog, unsigned flags, uva_stream_t **out);

/** Connects to addr (IPv4 or IPv6, copied).  The future settles with
 * value.ptr = the connected uva_stream_t, which the taker frees with
 * uva_stream_free (the future's free function, so a result nobody takes is
 * closed).  Fails with UV_EINVAL if loop or addr is NULL or addr is neither
 * AF_INET nor AF_INET6, UV_ENOMEM, or libuv's error (UV_ECONNREFUSED,
 * UV_ETIMEDOUT, UV_ENETUNREACH, ...).  Starts at once.  Cancel: the
 * half-made connection is closed and the future settles with UV_ECANCELED
 * at once; nothing is lost (no stream existed yet). */
UVA_EXTERN uva_future_t *uva_tcp_connect(uv_loop_t *loop,
                                         const struct sockaddr *addr);

/** Resolves host (a name or a numeric address, copied) and port with
 * uv_getaddrinfo, then connects to each address in the order the resolver
 * gives them, one at a time, and settles with the first connected stream
 * (value.ptr, free function uva_stream_free), or with the error of the last
 * address tried (UV_ECONNREFUSED, ...), or the resolver's (UV_EAI_NONAME,
 * ...).  Fails with UV_EINVAL if loop or host is NULL, UV_ENOMEM.  Starts at
 * once.  Cancel: a resolution still running is uv_cancel'd (or finishes in
 * the thread pool and is dropped), a connect in progress is closed; the
 * future settles with UV_ECANCELED at once. */
UVA_EXTERN uva_future_t *uva_tcp_connect_host(uv_loop_t *loop,
                                              const char *host,
                                              uint16_t port);

/** Turns TCP_NODELAY (no Nagle delay) on or off.  Returns 0; UV_EINVAL if s
 * is NULL or not a TCP stream, UV_EBADF if it was freed or closed; libuv's
 * error. */
UVA_EXTERN int uva_tcp_nodelay(uva_stream_t *s, int enable);

/** Turns SO_KEEPALIVE on or off; delay is the idle time in seconds before
 * the first probe (ignored when enable is 0).  Returns as uva_tcp_nodelay. */
UVA_EXTERN int uva_tcp_keepalive(uva_stream_t *s, int enable,
                                 unsigned int delay);

/* ---- pipes, Unix sockets, TTYs, descriptors ------------------------------ */

/** Binds a Unix socket at path (copied; it must not exist: UV_EADDRINUSE)
 * and listens with backlog (<= 0: SOMAXCONN), storing the listener in *out
 * (freed with uva_stream_free; the socket file stays, the caller unlinks
 * it).  Returns 0; UV_EINVAL if loop, path or out is NULL or path is empty;
 * UV_ENAMETOOLONG if path does not fit in sockaddr_un; UV_ENOMEM; libuv's
 * errors (UV_EADDRINUSE, UV_EACCES, also for a missing directory).  On error
 * *out is NULL. */
UVA_EXTERN int uva_pipe_listen(uv_loop_t *loop, const char *path,
                               int backlog, uva_stream_t **out);

/** Connects to the Unix socket at path (copied); settles with value.ptr = the
 * connected stream (free function uva_stream_free).  Fails with UV_EINVAL if
 * loop or path is NULL or path is empty, UV_ENAMETOOLONG, UV_ENOMEM, or
 * libuv's error (UV_ENOENT, UV_ECONNREFUSED, UV_EACCES).  Starts at once;
 * cancel as uva_tcp_connect. */
UVA_EXTERN uva_future_t *uva_pipe_connect(uv_loop_t *loop, const char *path);

/** Wraps an open descriptor (stdin, stdout, a socket or a pipe end) in a
 * stream of the right kind (uv_guess_handle: a TTY, a pipe or Unix socket,
 * or a TCP socket), storing it in *out.  The stream owns the descriptor:
 * freeing it closes the descriptor, except 0, 1 and 2, which stay open (the
 * stream then owns a duplicate; note that libuv makes the descriptor
 * non-blocking, which a duplicate shares).  Returns 0; UV_EINVAL if loop or
 * out is NULL or fd is not a stream (a regular file, a UDP socket);
 * UV_EBADF if fd is not open; UV_ENOMEM; libuv's error.  On error *out is
 * NULL and fd is left open. */
UVA_EXTERN int uva_stream_open(uv_loop_t *loop, uv_file fd,
                               uva_stream_t **out);

/* ---- adoption ------------------------------------------------------------ */

/** Wraps h, a connected uv_tcp_t, uv_pipe_t or uv_tty_t that the program
 * initialised (and connected or accepted) on its loop, into a uva stream
 * stored in *out.  uva never touches h->data; the handle stays the
 * program's memory, which must stay valid until uva_stream_release,
 * uva_stream_free, or (after uva_stream_close) the close future settles.  A
 * read the program had started on h is stopped; the program must not read
 * from h, start writes with its own callbacks or close it while it is
 * adopted (writes it started before stay its own).  Returns 0; UV_EINVAL if h or out is
 * NULL, h is of another type or is a listener; UV_EBADF if h is closing;
 * UV_EBUSY if h is already adopted; UV_ENOMEM.  On error *out is NULL and h
 * is untouched. */
UVA_EXTERN int uva_stream_adopt(uv_stream_t *h, uva_stream_t **out);

/** Hands an adopted stream's handle back to the program in *h, open, not
 * reading, its data field untouched and referenced (uv_ref) as it was when
 * adopted.  The bytes uva had read from the socket but nobody read go to
 * *rest (a uva_buf_t the caller frees with uva_buf_free; NULL when there are
 * none, and when rest is NULL they are dropped); every later byte is still
 * in the kernel for the program's own uv_read_start.  Pending reads settle
 * with UV_ECANCELED, writes waiting in uva's queue too (never written);
 * writes libuv has started finish on the handle and settle then.  s is
 * consumed.  Returns 0; UV_EINVAL if s is NULL, not a stream or not
 * adopted, or h is NULL; UV_EBADF if s was freed or closed; UV_ENOMEM if
 * *rest could not be allocated, or if memory ran out earlier while uva kept
 * bytes for s (some were lost, so the rest would be wrong): then nothing
 * changed, s stays adopted (uva_stream_free still hands the handle back). */
UVA_EXTERN int uva_stream_release(uva_stream_t *s, uv_stream_t **h,
                                  uva_buf_t **rest);

/* ---- moving a connection to another loop --------------------------------- */

/** Gives up s, a connected TCP stream or pipe (Unix socket or pipe end) that
 * uva made (accepted, connected or opened), so that its connection can be
 * served by another loop, typically in another thread: its descriptor is
 * duplicated into *fd (close-on-exec), s is closed and freed (as
 * uva_stream_free), and the caller owns *fd: it passes it to
 * uva_stream_open on the other loop (from that loop's thread), or closes
 * it.  Nothing is lost: every byte uva has not read from the socket is
 * still in the kernel for the new stream, and the socket's options
 * (TCP_NODELAY, keepalive) and state (a shutdown done, the end of the
 * stream) stay as they were.  Made on s's loop's thread.
 *
 * Returns 0; UV_EINVAL if s or fd is NULL, s is not a stream, a listener, a
 * TTY, or adopted (an adopted handle is the program's: see
 * uva_stream_release); UV_EBADF if s was freed or closed; UV_EBUSY if uva
 * holds bytes read from s that nobody read yet, or a read, write or
 * shutdown of s is waiting or in libuv's hands (a started write that was
 * cancelled too, until libuv is done with it): await them first; UV_ENOMEM
 * if memory ran out earlier while uva kept bytes for s (some were lost);
 * the stream's error if a read of s has failed (UV_ECONNRESET: the kernel
 * reports it only once, so the other loop would read a clean end instead;
 * the end of the stream, UV_EOF, is no error: the other loop reads it
 * again); libuv's or the system's error when the descriptor cannot be
 * duplicated (UV_EMFILE).  On error *fd is -1 (when fd is not NULL) and s is
 * untouched and usable.  A read, write or shutdown future made on s but not
 * yet started settles with UV_ECANCELED when it starts. */
UVA_EXTERN int uva_stream_export(uva_stream_t *s, uv_file *fd);

/* ---- accepting ------------------------------------------------------------ */

/** Accepts the next connection of a listener; settles with value.ptr = the
 * connected uva_stream_t (free function uva_stream_free).  Connections that
 * arrive while nobody accepts wait in the listener (libuv holds one, the
 * kernel's backlog the rest); accepts are served in the order they started.
 * A listen error libuv reports (UV_EMFILE, ...) goes to the waiting accept,
 * or to the next one.  Fails with UV_EINVAL if s is NULL or not a listener,
 * UV_EBADF if it was freed or closed, UV_ENOMEM (the connection stays in
 * the listener).  Lazy.  Cancel safe: an accept cancelled, timed out, or
 * losing a select loses no connection; one that completed but whose stream
 * nobody took puts the connection back at the front of the listener's
 * queue.  Freeing the listener settles waiting accepts with UV_ECANCELED. */
UVA_EXTERN uva_future_t *uva_stream_accept(uva_stream_t *listener);

/** @{ */
/** Stores the local (sockname) or peer (peername) address of s in *out: a
 * sockaddr_in or sockaddr_in6 for TCP (also for a listener's bound address,
 * the way to learn the port picked for port 0), a sockaddr_un with the path
 * for a Unix socket.  Returns 0; UV_EINVAL if s or out is NULL; UV_EBADF if
 * s was freed or closed; UV_ENOTSUP for a TTY; libuv's error (UV_ENOTCONN
 * for the peer of a listener). */
UVA_EXTERN int uva_stream_sockname(uva_stream_t *s,
                                   struct sockaddr_storage *out);
UVA_EXTERN int uva_stream_peername(uva_stream_t *s,
                                   struct sockaddr_storage *out);
/** @} */

/* ---- reading --------------------------------------------------------------- */

/** Reads up to len (> 0) bytes into buf; settles with value.u64 = the count
 * (>= 1) as soon as any bytes are there, or with UV_EOF at the end of the
 * stream, or the stream's error (UV_ECONNRESET, ...; bytes that arrived
 * before an error or the end are read first, and the error stays: every
 * later read reports it).  buf must stay valid and untouched by the caller
 * until the future has been consumed (libuv may read into it directly while
 * the read waits).  Fails with UV_EINVAL if s or buf is NULL, len is 0 or s
 * is a listener, UV_EBADF if s was freed or closed, UV_ENOMEM.  Lazy; reads
 * are served in the order they started.  Cancel safe: see above (a read
 * that completed but was never taken gives its bytes back).  Freeing the
 * stream settles a waiting read with UV_ECANCELED. */
UVA_EXTERN uva_future_t *uva_stream_read(uva_stream_t *s, void *buf,
                                         size_t len);

/** Reads exactly len (> 0) bytes into buf; settles with value.u64 = len.
 * The bytes stay in the stream's buffer until all len are there, then are
 * copied to buf at once; if the stream ends (UV_EOF) or fails first, the
 * future settles with that error and the partial bytes stay in the stream
 * for a later read.  Errors and buf's lifetime as uva_stream_read.  Lazy.
 * Cancel safe, partial bytes included (unlike Tokio's read_exact): a
 * cancelled read_exact has taken nothing. */
UVA_EXTERN uva_future_t *uva_stream_read_exact(uva_stream_t *s, void *buf,
                                               size_t len);

/** Reads up to and including the first byte delim (0..255; line framing with
 * '\n', as BufReader::read_line) into a new uva_buf_t, NUL-terminated
 * (value.ptr, freed with uva_buf_free, the future's free function).  At the
 * end of the stream a last line without delim settles as it is (without
 * delim); the next call then gets UV_EOF.  If max bytes arrive without
 * delim it fails with UV_ENOBUFS and those bytes stay in the stream (read
 * them with uva_stream_read, or drop the connection).  A stream error fails
 * it with that error and the partial line stays.  Fails with UV_EINVAL if s
 * is NULL or a listener, max is 0 or delim is outside 0..255, UV_EBADF,
 * UV_ENOMEM (also when the line's buffer cannot be allocated: the bytes
 * stay).  Lazy.  Cancel safe, partial line included: the bytes stay in the
 * stream until the line is complete. */
UVA_EXTERN uva_future_t *uva_stream_read_until(uva_stream_t *s, int delim,
                                               size_t max);

/** Sets the input buffer's water marks: once s has been read from, uva stops
 * reading from the socket while more than high bytes wait unread, and
 * resumes when they fall to low or below (or when a read waits).  Returns
 * 0; UV_EINVAL if s is NULL, high is 0 or low > high; UV_EBADF if s was
 * freed or closed. */
UVA_EXTERN int uva_stream_set_buffer(uva_stream_t *s, size_t high,
                                     size_t low);

/* ---- writing --------------------------------------------------------------- */

/** Writes data[0..len) (copied at once, so the caller may reuse data when
 * this returns); settles with value.u64 = len once libuv has written all of
 * it to the socket (or at once when uv_try_write took it all).  Fails with
 * UV_EINVAL if s is NULL or a listener, data is NULL while len > 0, or len
 * is above UINT32_MAX; UV_EBADF; UV_ENOMEM; and settles with libuv's error
 * (UV_EPIPE, UV_ECONNRESET after the peer has gone, UV_EPIPE after a
 * shutdown; UV_ECANCELED when the stream is freed before libuv wrote it).
 * Lazy: nothing is written until the future has a consumer (use
 * uva_future_detach to write without waiting).  Cancel: see Writing above. */
UVA_EXTERN uva_future_t *uva_stream_write(uva_stream_t *s, const void *data,
                                          size_t len);

/** Writes bufs[0..nbufs) (the array is copied, the bytes are not: they must
 * stay valid and unchanged until done is called); done(done_arg) (may be
 * NULL) is called exactly once when libuv no longer uses them, whatever
 * happens: after the write, when it fails or is cancelled, when the future
 * is freed without having started, and at once when this call fails.
 * Settles as uva_stream_write, with value.u64 = the total length.  Fails
 * with UV_EINVAL if s or bufs is NULL, nbufs is 0 or above 65536, or a
 * buffer has a NULL base and a length; UV_EBADF; UV_ENOMEM.  Lazy; cancel as
 * uva_stream_write. */
UVA_EXTERN uva_future_t *uva_stream_write_bufs(uva_stream_t *s,
                                               const uv_buf_t bufs[],
                                               unsigned int nbufs,
                                               uva_free_cb done,
                                               void *done_arg);

/** Half-closes the writing side (uv_shutdown) once every write started
 * before it has been written; the peer reads UV_EOF and may still write
 * back.  Settles with 0, or libuv's error (UV_ENOTCONN).  Fails with
 * UV_EINVAL if s is NULL or a listener, UV_EBADF, UV_ENOMEM.  Lazy.  Cancel:
 * one waiting behind writes in uva's queue never happens; one libuv has
 * started goes on (the future settles with UV_ECANCELED at once). */
UVA_EXTERN uva_future_t *uva_stream_shutdown(uva_stream_t *s);

/** Consumes s: what is pending on it settles with UV_ECANCELED (as with
 * uva_stream_free), the handle is closed with uv_close (an adopted one too:
 * its memory is the program's again once the future settles) and the
 * future settles with 0 once libuv has closed it.  Starts at once; a failed
 * or cancelled future does not stop the close.  Fails with UV_EINVAL if s is
 * NULL or not a stream, UV_EBADF if it was already freed or closed,
 * UV_ENOMEM (then s is left open and usable). */
UVA_EXTERN uva_future_t *uva_stream_close(uva_stream_t *s);

/** Frees s (its type fits uva_free_cb): waiting reads, accepts, writes and
 * shutdowns settle with UV_ECANCELED (writes libuv has started settle when
 * libuv cancels them), buffered input and accepted connections nobody took
 * are dropped, and the handle is closed through uv_close; the memory is
 * freed in the close callback, or once the last future made on s is gone.
 * An adopted handle is not closed but handed back to the program as
 * uva_stream_release does (its buffered bytes are dropped).  NULL is
 * allowed and does nothing. */
UVA_EXTERN void uva_stream_free(void *s);

#ifdef __cplusplus
}
#endif
#endif /* UVA_STREAM_H */
