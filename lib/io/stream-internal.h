/* Streams (TCP, pipes, TTYs): the types shared by stream.c, stream-read.c,
 * stream-accept.c, stream-write.c, tcp.c and pipe.c, and the hook the
 * child-process code uses.  Private: never installed. */
#ifndef UVA_STREAM_INTERNAL_H
#define UVA_STREAM_INTERNAL_H

#include "internal.h"

/* A run of buffered input bytes: base[start..end) are unread.  Chunks made
 * by uva carry their bytes right after the header (base == (char *)(c + 1))
 * and are cap + sizeof(chunk) bytes from uva__obj_alloc. */
typedef struct uva__chunk_s {
  struct uva__chunk_s *next;
  char *base;
  size_t start, end, cap;
} uva__chunk_t;

/* stream flags */
#define UVA__S_ADOPTED 0x0001u  /* the handle is the program's */
#define UVA__S_LISTENER 0x0002u /* listening: accepts, never reads */
#define UVA__S_RSTARTED 0x0004u /* a read has been started: keep reading */
#define UVA__S_READING 0x0008u  /* uv_read_start is in effect */
#define UVA__S_FREED 0x0010u    /* the user let go (free, close, release) */
#define UVA__S_CLOSING 0x0020u  /* uv_close called on the handle */
#define UVA__S_REFD 0x0040u     /* the handle is referenced by uva */
#define UVA__S_DETACHED 0x0080u /* released: h is the program's again */
#define UVA__S_CONNECTING 0x0100u /* made by a connect that is not done */

#define UVA__STREAM_MAGIC 0x75766173u /* "uvas" */

typedef struct uva__rd_s uva__rd_t;
typedef struct uva__ac_s uva__ac_t;
typedef struct uva__wr_s uva__wr_t;

struct uva_stream_s {
  union { /* the handle of a stream uva made (owned) */
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } u;
  uv_stream_t *h; /* &u.stream, or the adopted handle */
  uva__loop_t *L;
  uint32_t magic;
  unsigned flags;     /* UVA__S_* */
  size_t refs;        /* the user, each future, an open owned handle */
  size_t busy;        /* operations waiting: the handle is ref'd while > 0 */
  int read_err;       /* UV_EOF or an error, once the buffer is read */
  int accept_err;     /* a listen error no accept has reported yet */
  int had_ref;        /* adopted: the handle's ref state at adoption */
  /* input */
  uva__chunk_t *in_head, *in_tail;
  size_t in_bytes;   /* unread bytes in the chunks */
  size_t high, low;  /* water marks of the input buffer */
  uva__rd_t *rd_head, *rd_tail; /* started reads, oldest first */
  /* listener */
  unsigned conns;          /* connections libuv holds for uv_accept */
  uva_stream_t *ready;     /* accepted streams given back (undo) */
  uva__ac_t *ac_head, *ac_tail;
  /* output */
  size_t whigh;            /* write queue high-water mark */
  uva__wr_t *wq_head, *wq_tail; /* writes and shutdowns waiting for room */
  uva_future_t *close_f;   /* uva_stream_close's future, or NULL */
  uva_stream_t *next;      /* link in a listener's ready list */
};

#define UVA__WCLASSES 8
#define UVA__WCACHE 4 /* kept per class */

/* The per-loop stream state (L->streams): the map from an adopted handle to
 * its stream, and the scratch buffer libuv reads into when no read waits
 * with a buffer of its own.  Made with the first stream, freed with the
 * last. */
typedef struct uva__streams_s {
  size_t n;           /* streams alive on the loop */
  size_t map_cap;     /* slots, a power of two, or 0 */
  size_t map_used;
  uva_stream_t **map; /* open addressing by handle address */
  char *scratch;      /* UVA__SCRATCH bytes, or NULL */
  /* write futures too large for the slabs, by power-of-two size class from
   * 1 KiB to 128 KiB: a few of each are kept for reuse */
  void *wcache[UVA__WCLASSES];
  unsigned wcount[UVA__WCLASSES];
} uva__streams_t;

#define UVA__SCRATCH 65536

/* Default water marks. */
#define UVA__IN_HIGH (256 * 1024)
#define UVA__IN_LOW (64 * 1024)
#define UVA__OUT_HIGH (1024 * 1024)

/* ---- stream.c ----------------------------------------------------------- */

/* Allocates a stream on L (refs 1, the user's); the caller initialises the
 * handle in s->u and sets s->h.  NULL without memory. */
uva_stream_t *uva__stream_alloc(uva__loop_t *L);
/* Frees a stream whose handle was never initialised. */
void uva__stream_discard(uva_stream_t *s);
/* The owned handle has been initialised: counts it (closed on free). */
void uva__stream_owned(uva_stream_t *s);
/* Drops one reference; frees the memory at zero. */
void uva__stream_unref(uva_stream_t *s);
/* The stream of a handle libuv calls back with. */
uva_stream_t *uva__stream_of(uv_stream_t *h);
/* Counts an operation that waits: the handle is referenced while any does. */
void uva__stream_busy(uva_stream_t *s, int delta);
/* Checks s as an argument: 0, UV_EINVAL (NULL or not a stream), UV_EBADF
 * (freed or closing). */
int uva__stream_check(const uva_stream_t *s);
/* uv_close's callback for an owned handle. */
void uva__stream_close_cb(uv_handle_t *h);
/* Makes SIGPIPE ignored (once per process) if it has its default action. */
void uva__stream_sigpipe(void);

/* A new owned stream whose embedded uv_pipe_t is initialised
 * (uv_pipe_init(loop, pipe, 0)) and returned through *pipe, for uv_spawn's
 * UV_CREATE_PIPE stdio containers.  The stream can read and write once
 * uv_spawn has succeeded, and is freed with uva_stream_free either way.
 * NULL without memory (or if the loop state cannot be made). */
uva_stream_t *uva__stream_new_pipe(uva__loop_t *L, uv_pipe_t **pipe);

/* ---- stream-read.c ------------------------------------------------------ */

/* Settles every read waiting on s with err (the stream is being freed) and
 * drops the buffered input. */
void uva__stream_read_shutdown(uva_stream_t *s, int err);
/* Starts or stops reading as the water marks and waiting reads want. */
void uva__stream_read_update(uva_stream_t *s);
/* Frees every chunk of s's input buffer; *rest gets them as one uva_buf_t
 * when rest is not NULL (UV_ENOMEM if that allocation fails). */
int uva__stream_take_input(uva_stream_t *s, uva_buf_t **rest);

/* ---- stream-accept.c ---------------------------------------------------- */

/* The listener's connection callback. */
void uva__stream_connection_cb(uv_stream_t *server, int status);
/* Settles every accept waiting on s with err and frees the accepted
 * connections nobody took. */
void uva__stream_accept_shutdown(uva_stream_t *s, int err);

/* The bytes buffered unread (tests). */
size_t uva__stream_buffered(const uva_stream_t *s);

/* ---- tcp.c -------------------------------------------------------------- */

/* A connect future: to addr (TCP) or, when path is not NULL, to the Unix
 * socket at path.  Settles with value.ptr = the connected stream. */
uva_future_t *uva__stream_connect(uv_loop_t *loop,
                                  const struct sockaddr *addr,
                                  const char *path);
/* Listens on s's bound owned handle; on failure frees s.  0 or an error. */
int uva__stream_listen(uva_stream_t *s, int backlog, uva_stream_t **out);

/* ---- stream-write.c ----------------------------------------------------- */

/* Settles every write and shutdown that waits for room with err. */
void uva__stream_write_shutdown(uva_stream_t *s, int err);

#endif /* UVA_STREAM_INTERNAL_H */
