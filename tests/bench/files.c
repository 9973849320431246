/* files: n files of 4 KiB are created in a fresh temporary directory before
 * the timing, then all read concurrently (every read started at once, on
 * libuv's thread pool) and their bytes summed; the files are deleted
 * afterwards.  uva: uva_fs_read_file for each, consumed with
 * uva_future_then.
 *
 * Raw: per file one malloc'd uv_fs_t chain with the same concurrency:
 * uv_fs_open, uv_fs_read into an 8 KiB buffer (doubled when full) until a
 * read returns 0, then uv_fs_close: a whole-file read of unknown size without
 * fstat, four requests per file where uva_fs_read_file makes five (open,
 * fstat, read, read, close). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <uva.h>

#define FILE_SIZE 4096
#define RAW_CHUNK 8192

typedef struct {
  char dir[256];
  uint64_t n;
} files_dir_t;

static void file_path(const files_dir_t *d, uint64_t i, char *buf, size_t len) {
  snprintf(buf, len, "%s/f%llu", d->dir, (unsigned long long)i);
}

static int files_make(bench_run_t *r, files_dir_t *d) {
  const char *tmp = getenv("UVA_BENCH_TMPDIR");
  char buf[FILE_SIZE], path[300];

  if (tmp == NULL)
    tmp = getenv("TMPDIR");
  if (tmp == NULL)
    tmp = "/tmp";
  snprintf(d->dir, sizeof(d->dir), "%s/uva-bench-XXXXXX", tmp);
  if (mkdtemp(d->dir) == NULL)
    return bench_fail(r, "mkdtemp");
  d->n = 0;
  for (size_t k = 0; k < sizeof(buf); k++)
    buf[k] = (char)('a' + k % 26);
  for (uint64_t i = 0; i < r->n; i++) {
    int fd;
    file_path(d, i, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      return bench_fail(r, "cannot create a file");
    d->n++;
    if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
      close(fd);
      return bench_fail(r, "cannot write a file");
    }
    close(fd);
  }
  return 0;
}

static void files_remove(files_dir_t *d) {
  char path[300];
  for (uint64_t i = 0; i < d->n; i++) {
    file_path(d, i, path, sizeof(path));
    unlink(path);
  }
  rmdir(d->dir);
}

/* Paths made before the timing, in one block. */
static char *paths_make(const files_dir_t *d, uint64_t n) {
  char *p = bench_malloc(n * 300);
  if (p != NULL)
    for (uint64_t i = 0; i < n; i++)
      file_path(d, i, p + i * 300, 300);
  return p;
}

typedef struct {
  uint64_t bytes, done, errors;
} files_sum_t;

static void file_read(int status, uva_value_t value, void *data) {
  files_sum_t *s = data;
  s->done++;
  if (status != 0) {
    s->errors++;
    return;
  }
  s->bytes += ((uva_buf_t *)value.ptr)->len;
  uva_buf_free(value.ptr);
}

static int files_uva(bench_run_t *r) {
  uv_loop_t loop;
  files_dir_t d;
  files_sum_t s = {0, 0, 0};
  char *paths;

  if (files_make(r, &d) != 0 || (paths = paths_make(&d, r->n)) == NULL) {
    files_remove(&d);
    return bench_fail(r, "setup failed");
  }
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++)
    if (uva_future_then(uva_fs_read_file(&loop, paths + i * 300), file_read,
                        &s) != 0)
      bench_fail(r, "uva_future_then");
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  files_remove(&d);
  bench_free(paths);
  if (s.done != r->n || s.errors != 0 || s.bytes != r->n * FILE_SIZE)
    bench_fail(r, "wrong count of bytes");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- raw ---------------------------------------------------------------- */

typedef struct {
  uv_fs_t req;
  uv_file fd;
  char *buf;
  size_t len, cap;
  files_sum_t *sum;
} raw_file_t;

static void raw_file_cb(uv_fs_t *req);

static void raw_file_done(raw_file_t *f, int failed) {
  if (failed)
    f->sum->errors++;
  else
    f->sum->bytes += f->len;
  f->sum->done++;
  bench_free(f->buf);
  bench_free(f);
}

static int raw_file_read(raw_file_t *f) {
  uv_buf_t b;
  if (f->len == f->cap) {
    char *nb = bench_malloc(f->cap * 2);
    if (nb == NULL)
      return UV_ENOMEM;
    memcpy(nb, f->buf, f->len);
    bench_free(f->buf);
    f->buf = nb;
    f->cap *= 2;
  }
  b = uv_buf_init(f->buf + f->len, (unsigned int)(f->cap - f->len));
  return uv_fs_read(f->req.loop, &f->req, f->fd, &b, 1, -1, raw_file_cb);
}

static void raw_file_cb(uv_fs_t *req) {
  raw_file_t *f = (raw_file_t *)req;
  uv_fs_type type = req->fs_type;
  ssize_t res = req->result;
  uv_loop_t *loop = req->loop;

  uv_fs_req_cleanup(req);
  if (type == UV_FS_CLOSE) {
    raw_file_done(f, 0);
    return;
  }
  if (res < 0) {
    raw_file_done(f, 1); /* a real program would close an open fd here */
    return;
  }
  if (type == UV_FS_OPEN) {
    f->fd = (uv_file)res;
  } else if (res == 0) { /* end of file */
    if (uv_fs_close(loop, &f->req, f->fd, raw_file_cb) != 0)
      raw_file_done(f, 1);
    return;
  } else {
    f->len += (size_t)res;
  }
  if (raw_file_read(f) != 0)
    raw_file_done(f, 1);
}

static int files_raw(bench_run_t *r) {
  uv_loop_t loop;
  files_dir_t d;
  files_sum_t s = {0, 0, 0};
  char *paths;

  if (files_make(r, &d) != 0 || (paths = paths_make(&d, r->n)) == NULL) {
    files_remove(&d);
    return bench_fail(r, "setup failed");
  }
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  bench_start(r);
  for (uint64_t i = 0; i < r->n; i++) {
    raw_file_t *f = bench_malloc(sizeof(*f));
    if (f == NULL || (f->buf = bench_malloc(RAW_CHUNK)) == NULL)
      return bench_fail(r, "no memory");
    f->len = 0;
    f->cap = RAW_CHUNK;
    f->sum = &s;
    if (uv_fs_open(&loop, &f->req, paths + i * 300, UV_FS_O_RDONLY, 0,
                   raw_file_cb) != 0)
      return bench_fail(r, "uv_fs_open");
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  bench_stop(r);
  files_remove(&d);
  bench_free(paths);
  if (s.done != r->n || s.errors != 0 || s.bytes != r->n * FILE_SIZE)
    bench_fail(r, "wrong count of bytes");
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

const bench_case_t bench_files_cases[] = {
    {"files", "read4k", 10000, 50, files_uva, files_raw, "file", NULL,
     {1.05, 0, 0, -1}},
    {0},
};
