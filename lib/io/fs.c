/* Files: whole-file reads and writes (one job each on libuv's thread pool)
 * and the single-request open, read, write and close (one uv_fs_t each:
 * req.data holds the buffer being filled or drained, freed by whoever ends
 * the request if nobody took it).  A cancelled request still calls back; the
 * callback closes any descriptor nobody will take. */
#include "internal.h"
#include "io-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest count one read or write asks for: uv_buf_t lengths are unsigned
 * int, and Linux moves at most about 2 GiB per call anyway. */
#define CHUNK ((size_t)1 << 30)

/* 64 + 440 + 4 bytes on x86_64 Linux: fits the largest slab size
 * class (512 bytes), so steady-state file work allocates no future. */
typedef struct {
  uva_future_t base;
  uv_fs_t req;
  uv_file fd; /* uva_fs_close: the descriptor to close, or -1 */
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
    x->base.L->pool_reqs++;
    return &x->base;
  }
  /* A request that failed to start holds nothing of libuv's. */
  if (x->req.data != NULL)
    uva__free(x->req.data);
  f = uva__failed(x->base.L, err); /* before the free: it may free L */
  uva__future_free_mem(&x->base, sizeof(*x));
  return f;
}

/* Cancelled while libuv holds it: counted in L->pool_dropped until fs_cb. */
#define F_DROPPED (UVA__F_KIND0 << 0)

static void fs_cancel(uva_future_t *f) {
  uva__fs_t *x = (uva__fs_t *)f;
  uv_cancel((uv_req_t *)&x->req); /* fails once the work has started */
  f->flags |= F_DROPPED;
  f->L->pool_dropped++;
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
  close((int)(intptr_t)p);
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

/* ---- whole files: one job each on the thread pool ---------------------- */

/* A whole-file read or write is a single uv_work_t that makes the system
 * calls itself (as tokio::fs does with spawn_blocking): one trip through the
 * pool instead of one per open, stat, read and close.  The job owns its
 * argument (the path, and for a write the data) and touches nothing else. */

/* read(2) or write(2) of up to CHUNK bytes, again after EINTR.  Returns the
 * count or a negative libuv error. */
static ssize_t io_once(int fd, char *p, size_t n, int writing) {
  ssize_t r;

  if (n > CHUNK)
    n = CHUNK;
  do
    r = writing ? write(fd, p, n) : read(fd, p, n);
  while (r < 0 && errno == EINTR);
  return r < 0 ? uv_translate_sys_error(errno) : r;
}

static int read_file_job(void *arg, uva_result_t *result) {
  const char *path = arg;
  struct stat st;
  uva_buf_t *b = NULL;
  size_t room, len = 0;
  ssize_t r;
  int fd, err = 0;

  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return uv_translate_sys_error(errno);
  if (fstat(fd, &st) != 0) {
    err = uv_translate_sys_error(errno);
    goto out;
  }
  if (S_ISDIR(st.st_mode)) {
    err = UV_EISDIR;
    goto out;
  }
  /* The size is a hint: the file may grow, and /proc reports 0.  One byte
   * more than the size lets the read that finds the end ask for something. */
  if ((uint64_t)st.st_size >= SIZE_MAX / 2 - sizeof(*b)) {
    err = UV_ENOMEM;
    goto out;
  }
  room = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
  if ((b = buf_alloc(room + 1)) == NULL) {
    err = UV_ENOMEM;
    goto out;
  }
  for (;;) {
    if (len == room) {
      uva_buf_t *nb;
      if (room > (SIZE_MAX - sizeof(*b)) / 2 - 1 ||
          (nb = uva__realloc(b, sizeof(*b) + room * 2 + 1)) == NULL) {
        err = UV_ENOMEM;
        break;
      }
      b = nb;
      room *= 2;
    }
    r = io_once(fd, (char *)(b + 1) + len, room - len, 0);
    if (r <= 0) {
      err = (int)r;
      break;
    }
    len += (size_t)r;
  }
out:
  close(fd); /* the data is complete or failed: a close error is moot */
  if (err != 0) {
    uva__free(b);
    return err;
  }
  b->base = (char *)(b + 1);
  b->base[len] = '\0';
  b->len = len;
  result->value.ptr = b;
  result->free_fn = uva_buf_free;
  return 0;
}

/* The argument of a write job: the data follows the header, then the path. */
typedef struct {
  size_t len;
  const char *path;
} write_job_t;

static int write_file_job(void *arg, uva_result_t *result) {
  write_job_t *j = arg;
  char *p = (char *)(j + 1);
  size_t left = j->len;
  ssize_t r;
  int fd, err = 0;

  do
    fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return uv_translate_sys_error(errno);
  while (left > 0) {
    r = io_once(fd, p, left, 1);
    if (r <= 0) {
      err = r < 0 ? (int)r : UV_EIO; /* no progress: do not spin */
      break;
    }
    p += r;
    left -= (size_t)r;
  }
  /* A late write error (NFS, a full disk) may show up only here. */
  if (close(fd) != 0 && err == 0 && errno != EINTR)
    err = uv_translate_sys_error(errno);
  if (err != 0)
    return err;
  result->value.u64 = j->len;
  return 0;
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
  L->pool_reqs--;
  if (x->base.flags & F_DROPPED)
    L->pool_dropped--;
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

static const uva__ops_t fs_ops = {
    .name = "fs",
    .cancel = fs_cancel,
    .release = fs_release,
};

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
  uva__loop_t *L = uva__loop_get(loop);
  size_t n;
  char *copy;

  if (loop == NULL || path == NULL)
    return uva__failed(L, UV_EINVAL);
  n = strlen(path) + 1;
  if (L == NULL || (copy = uva__malloc(n)) == NULL)
    return uva__failed(L, UV_ENOMEM);
  memcpy(copy, path, n);
  return uva__blocking(L, read_file_job, copy);
}

uva_future_t *uva_fs_write_file(uv_loop_t *loop, const char *path,
                                const void *data, size_t len) {
  uva__loop_t *L = uva__loop_get(loop);
  write_job_t *j;
  size_t n;

  if (loop == NULL || path == NULL || (data == NULL && len > 0))
    return uva__failed(L, UV_EINVAL);
  n = strlen(path) + 1;
  if (L == NULL || len > SIZE_MAX - sizeof(*j) - n ||
      (j = uva__malloc(sizeof(*j) + len + n)) == NULL)
    return uva__failed(L, UV_ENOMEM);
  j->len = len;
  if (len > 0)
    memcpy(j + 1, data, len);
  j->path = (char *)(j + 1) + len;
  memcpy((char *)(j + 1) + len, path, n);
  return uva__blocking(L, write_file_job, j);
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
