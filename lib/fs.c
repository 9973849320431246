/* Files: whole-file reads and writes (a chain of uv_fs_t requests, each
 * started from the callback of the one before) and the single-request open,
 * read, write and close.  Each future embeds one uv_fs_t that every step of
 * its chain reuses: the step in flight is req.fs_type, and req.data holds the
 * buffer being filled or drained, freed by whoever ends the request if
 * nobody took it.  A cancelled request still calls back; the callback closes
 * any descriptor nobody will take. */
#include "internal.h"

#include <limits.h>
#include <string.h>
#ifdef _WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

/* Largest count one read or write asks for: uv_buf_t lengths are unsigned
 * int, and Linux moves at most about 2 GiB per call anyway. */
#define CHUNK ((size_t)1 << 30)

/* 64 + 440 + 4 bytes on x86_64 Linux: fits the object cache's largest size
 * class (512 bytes), so steady-state file work allocates no future. */
typedef struct {
  uva_future_t base;
  uv_fs_t req;
  uv_file fd; /* chains: the descriptor they opened, or -1 */
} uva__fs_t;

/* ---- helpers ------------------------------------------------------------ */

static uva__fs_t *fs_alloc(uva__loop_t *L, const uva__ops_t *ops) {
  uva__fs_t *x = (uva__fs_t *)uva__future_alloc(L, ops, sizeof(*x));

  if (x != NULL) {
    x->req.data = NULL;
    x->fd = -1;
  }
  return x;
}

/* Returns x once its first request has started (err == 0); else frees x and
 * returns a future failed with err. */
static uva_future_t *fs_started(uva__fs_t *x, int err) {
  uva_future_t *f;

  if (err == 0) {
    x->base.flags |= UVA__F_HELD;
    return &x->base;
  }
  /* A request that failed to start holds nothing of libuv's. */
  if (x->req.data != NULL)
    uva__free(x->req.data);
  f = uva__failed(x->base.L, err); /* before the free: it may free L */
  uva__future_free_mem(&x->base, sizeof(*x));
  return f;
}

static void fs_cancel(uva_future_t *f) {
  uva__fs_t *x = (uva__fs_t *)f;
  uv_cancel((uv_req_t *)&x->req); /* fails once the work has started */
  uva__settle_err(f, UV_ECANCELED);
}

static void fs_release(uva_future_t *f) {
  uva__future_release_held(f, sizeof(uva__fs_t));
}

static void close_sync(uv_loop_t *loop, uv_file fd) {
  uv_fs_t req;
  uv_fs_close(loop, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

/* The free function of uva_fs_open's value: closes a descriptor that nobody
 * took.  It gets value.ptr, which holds value.i64 on every platform where
 * pointers are 64 bits or little-endian. */
static void fd_close(void *p) {
#ifdef _WIN32
  _close((int)(intptr_t)p);
#else
  close((int)(intptr_t)p);
#endif
}

/* Allocates a uva_buf_t with room for n bytes, its NUL included. */
static uva_buf_t *buf_alloc(size_t n) {
  uva_buf_t *b;

  if (n > SIZE_MAX - sizeof(*b))
    return NULL;
  b = uva__malloc(sizeof(*b) + n);
  if (b != NULL) {
    b->base = (char *)(b + 1);
    b->len = 0;
  }
  return b;
}

/* ---- whole-file chains -------------------------------------------------- */

/* What a chain does after each step that succeeded (and after its close,
 * whatever the outcome, as r).  Returns 0 when it started the next request,
 * 1 when it settled the future, or an error to settle with. */
typedef int (*chain_step_fn)(uva__fs_t *x, uv_fs_type step, ssize_t r);

/* The callback of every chain request.  Runs the chain's next step while the
 * future is pending; on an error settles and closes the descriptor
 * asynchronously; once nothing is left in flight closes a descriptor still
 * open (after a cancel), frees the buffer and lets go of x. */
static void chain_cb(uv_fs_t *req, chain_step_fn next, uv_fs_cb cb) {
  uva__fs_t *x = uva__container_of(req, uva__fs_t, req);
  uva__loop_t *L = x->base.L;
  uv_fs_type step = req->fs_type;
  ssize_t r = req->result;
  int err = 0, busy = 0;

  uva__cb_enter(L);
  uv_fs_req_cleanup(req);
  if (step == UV_FS_OPEN && r >= 0)
    x->fd = (uv_file)r;
  else if (step == UV_FS_CLOSE && r != UV_ECANCELED)
    x->fd = -1; /* gone even when close(2) reported an error */
  if (x->base.state == UVA__PENDING) {
    err = r < 0 && step != UV_FS_CLOSE ? (int)r : next(x, step, r);
    busy = err == 0;
  }
  if (err < 0) {
    uva__settle_err(&x->base, err);
    if (x->fd >= 0)
      busy = uv_fs_close(L->loop, req, x->fd, cb) == 0;
  }
  if (!busy) {
    if (x->fd >= 0)
      close_sync(L->loop, x->fd);
    if (req->data != NULL)
      uva__free(req->data);
    uva__future_unhold(&x->base, sizeof(*x)); /* may free x */
  }
  uva__cb_leave(L);
}

static void read_file_cb(uv_fs_t *req);

/* Reads the next piece into the buffer at req.data.  While it fills, the
 * buffer's base points one past its room, whose last byte keeps space for
 * the NUL; a full buffer grows before the read. */
static int read_file_next(uva__fs_t *x) {
  uva_buf_t *b = x->req.data;
  size_t room = (size_t)(b->base - (char *)(b + 1));
  uv_buf_t ub;

  if (b->len == room) {
    size_t n = room < 2048 ? 4096 : room * 2;
    if (room > (SIZE_MAX - sizeof(*b)) / 2 ||
        (b = uva__realloc(b, sizeof(*b) + n)) == NULL)
      return UV_ENOMEM; /* req.data is still valid and freed later */
    b->base = (char *)(b + 1) + n;
    x->req.data = b;
    room = n;
  }
  room -= b->len;
  ub = uv_buf_init((char *)(b + 1) + b->len,
                   (unsigned int)(room < CHUNK ? room : CHUNK));
  return uv_fs_read(x->base.L->loop, &x->req, x->fd, &ub, 1, -1, read_file_cb);
}

static int read_file_step(uva__fs_t *x, uv_fs_type step, ssize_t r) {
  uv_loop_t *loop = x->base.L->loop;
  uva_buf_t *b = x->req.data;
  uva_value_t v;

  switch (step) {
  case UV_FS_OPEN:
    return uv_fs_fstat(loop, &x->req, x->fd, read_file_cb);
  case UV_FS_FSTAT:
    if ((x->req.statbuf.st_mode & S_IFMT) == S_IFDIR)
      return UV_EISDIR;
    /* The size is a hint: the file may grow, and /proc reports 0. */
    if (x->req.statbuf.st_size >= SIZE_MAX - sizeof(*b) ||
        (b = buf_alloc((size_t)x->req.statbuf.st_size + 1)) == NULL)
      return UV_ENOMEM;
    b->base += (size_t)x->req.statbuf.st_size + 1;
    x->req.data = b;
    return read_file_next(x);
  case UV_FS_READ:
    if (r == 0)
      return uv_fs_close(loop, &x->req, x->fd, read_file_cb);
    b->len += (size_t)r;
    return read_file_next(x);
  default: /* UV_FS_CLOSE: the data is complete, a close error is moot */
    b->base = (char *)(b + 1);
    b->base[b->len] = '\0';
    x->req.data = NULL;
    v.ptr = b;
    uva__settle(&x->base, 0, v, uva_buf_free);
    return 1;
  }
}

static void read_file_cb(uv_fs_t *req) {
  chain_cb(req, read_file_step, read_file_cb);
}

static void write_file_cb(uv_fs_t *req);

/* The copy at req.data is a uva_buf_t whose base and len are what is left to
 * write; a write of 0 bytes has no copy. */
static int write_file_step(uva__fs_t *x, uv_fs_type step, ssize_t r) {
  uv_loop_t *loop = x->base.L->loop;
  uva_buf_t *b = x->req.data;
  uv_buf_t ub;
  uva_value_t v;

  switch (step) {
  case UV_FS_WRITE:
    if (r == 0)
      return UV_EIO; /* no progress: do not spin */
    b->base += r;
    b->len -= (size_t)r;
    /* fall through */
  case UV_FS_OPEN:
    if (b == NULL || b->len == 0)
      return uv_fs_close(loop, &x->req, x->fd, write_file_cb);
    ub = uv_buf_init(b->base, (unsigned int)(b->len < CHUNK ? b->len : CHUNK));
    return uv_fs_write(loop, &x->req, x->fd, &ub, 1, -1, write_file_cb);
  default: /* UV_FS_CLOSE: a late write error may show up here */
    if (r < 0)
      return (int)r;
    v.u64 = b == NULL ? 0 : (uint64_t)(b->base - (char *)(b + 1));
    uva__settle(&x->base, 0, v, NULL);
    return 1;
  }
}

static void write_file_cb(uv_fs_t *req) {
  chain_cb(req, write_file_step, write_file_cb);
}

/* ---- single requests ---------------------------------------------------- */

/* The callback of uva_fs_open, _read, _write and _close. */
static void fs_cb(uv_fs_t *req) {
  uva__fs_t *x = uva__container_of(req, uva__fs_t, req);
  uva__loop_t *L = x->base.L;
  ssize_t r = req->result;
  uva_value_t v;

  uva__cb_enter(L);
  uv_fs_req_cleanup(req);
  if (x->base.state != UVA__PENDING) {
    /* Cancelled.  A descriptor opened meanwhile is nobody's; a close that
     * uv_cancel stopped is done now, so that a dropped close still closes. */
    if (req->fs_type == UV_FS_OPEN && r >= 0)
      close_sync(L->loop, (uv_file)r);
    else if (req->fs_type == UV_FS_CLOSE && r == UV_ECANCELED)
      close_sync(L->loop, x->fd);
  } else if (r < 0) {
    uva__settle_err(&x->base, (int)r);
  } else if (req->fs_type == UV_FS_OPEN) {
    v.i64 = r;
    uva__settle(&x->base, 0, v, fd_close);
  } else if (req->fs_type == UV_FS_READ) {
    uva_buf_t *b = req->data;
    req->data = NULL;
    b->len = (size_t)r;
    b->base[r] = '\0';
    v.ptr = b;
    uva__settle(&x->base, 0, v, uva_buf_free);
  } else {
    v.u64 = (uint64_t)r; /* bytes written, or 0 for a close */
    uva__settle(&x->base, 0, v, NULL);
  }
  if (req->data != NULL)
    uva__free(req->data); /* a write's copy, a read nobody takes */
  uva__future_unhold(&x->base, sizeof(*x)); /* may free x */
  uva__cb_leave(L);
}

static const uva__ops_t read_file_ops = {"fs_read_file", fs_cancel, NULL, NULL,
                                         fs_release};
static const uva__ops_t write_file_ops = {"fs_write_file", fs_cancel, NULL,
                                          NULL, fs_release};
static const uva__ops_t fs_ops = {"fs", fs_cancel, NULL, NULL, fs_release};

/* Checks loop (and bad, the call's own argument check), gets the loop state
 * and a future.  Returns NULL with *fail set when the call cannot start. */
static uva__fs_t *fs_new(uv_loop_t *loop, int bad, const uva__ops_t *ops,
                         uva_future_t **fail) {
  uva__loop_t *L = uva__loop_get(loop);
  uva__fs_t *x = NULL;

  if (loop == NULL || bad)
    *fail = uva__failed(L, UV_EINVAL);
  else if (L == NULL || (x = fs_alloc(L, ops)) == NULL)
    *fail = uva__failed(L, UV_ENOMEM);
  return x;
}

/* ---- public API --------------------------------------------------------- */

void uva_buf_free(void *buf) {
  if (buf != NULL)
    uva__free(buf);
}

uva_future_t *uva_fs_read_file(uv_loop_t *loop, const char *path) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, path == NULL, &read_file_ops, &fail);

  if (x == NULL)
    return fail;
  /* libuv copies path for an asynchronous request. */
  return fs_started(
      x, uv_fs_open(loop, &x->req, path, UV_FS_O_RDONLY, 0, read_file_cb));
}

uva_future_t *uva_fs_write_file(uv_loop_t *loop, const char *path,
                                const void *data, size_t len) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, path == NULL || (data == NULL && len > 0),
                        &write_file_ops, &fail);
  uva_buf_t *b;

  if (x == NULL)
    return fail;
  if (len > 0) {
    if ((b = buf_alloc(len)) == NULL)
      return fs_started(x, UV_ENOMEM);
    memcpy(b->base, data, len);
    b->len = len;
    x->req.data = b;
  }
  return fs_started(x,
                    uv_fs_open(loop, &x->req, path,
                               UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC,
                               0644, write_file_cb));
}

uva_future_t *uva_fs_open(uv_loop_t *loop, const char *path, int flags,
                          int mode) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, path == NULL, &fs_ops, &fail);

  if (x == NULL)
    return fail;
  return fs_started(x, uv_fs_open(loop, &x->req, path, flags, mode, fs_cb));
}

uva_future_t *uva_fs_read(uv_loop_t *loop, uv_file fd, size_t len,
                          int64_t offset) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, len == 0, &fs_ops, &fail);
  uva_buf_t *b;
  uv_buf_t ub;

  if (x == NULL)
    return fail;
  if (len > CHUNK)
    len = CHUNK; /* "up to len bytes" */
  if ((b = buf_alloc(len + 1)) == NULL)
    return fs_started(x, UV_ENOMEM);
  x->req.data = b;
  ub = uv_buf_init(b->base, (unsigned int)len);
  return fs_started(x, uv_fs_read(loop, &x->req, fd, &ub, 1, offset, fs_cb));
}

uva_future_t *uva_fs_write(uv_loop_t *loop, uv_file fd, const void *data,
                           size_t len, int64_t offset) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, data == NULL && len > 0, &fs_ops, &fail);
  char *copy = NULL;
  uv_buf_t ub;

  if (x == NULL)
    return fail;
  if (len > CHUNK)
    len = CHUNK; /* a short write, as write(2) may do */
  if (len > 0) {
    if ((copy = uva__malloc(len)) == NULL)
      return fs_started(x, UV_ENOMEM);
    memcpy(copy, data, len);
    x->req.data = copy;
  }
  ub = uv_buf_init(copy, (unsigned int)len);
  return fs_started(x, uv_fs_write(loop, &x->req, fd, &ub, 1, offset, fs_cb));
}

uva_future_t *uva_fs_close(uv_loop_t *loop, uv_file fd) {
  uva_future_t *fail;
  uva__fs_t *x = fs_new(loop, 0, &fs_ops, &fail);

  if (x == NULL)
    return fail;
  x->fd = fd; /* closed by the callback if uv_cancel stops the close */
  return fs_started(x, uv_fs_close(loop, &x->req, fd, fs_cb));
}
