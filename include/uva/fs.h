/** @file
 * Files: whole-file reads and writes, and open, read, write and close on
 * descriptors (tokio::fs).
 */
#ifndef UVA_FS_H
#define UVA_FS_H

#include "uva/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Returns a future of a whole file's contents (tokio::fs::read_to_string):
 * value.ptr is a uva_buf_t, NUL-terminated, freed with uva_buf_free.  Errors
 * are libuv's: UV_ENOENT, UV_EISDIR, UV_EACCES, ...; UV_EINVAL if loop or
 * path is NULL, UV_ENOMEM without memory.  path is copied.  The whole read
 * (open, stat, read to the end, close) is one job on libuv's thread pool, as
 * uva_fs_write_file is; cancelling the future settles it at once, and a read
 * already running finishes in the pool and is dropped. */
UVA_EXTERN uva_future_t *uva_fs_read_file(uv_loop_t *loop, const char *path);

/** Returns a future that creates or truncates path (mode 0644) and writes
 * data[0..len) to it, settling with value.u64 = bytes written.  data is
 * copied, so the caller may free it at once.  Errors are libuv's; UV_EINVAL if
 * loop or path is NULL or data is NULL while len > 0, UV_ENOMEM without
 * memory.  Not cancel safe once it runs: cancelling settles the future at
 * once with UV_ECANCELED; a job not started yet never runs (the file is
 * untouched), one already running finishes in the pool (the file may be
 * written, partly or whole) and its result is dropped. */
UVA_EXTERN uva_future_t *uva_fs_write_file(uv_loop_t *loop, const char *path,
                                           const void *data, size_t len);

/** Returns a future of uv_fs_open(path, flags, mode): value.i64 is the file
 * descriptor, which the caller closes (uva_fs_close).  A descriptor nobody
 * takes is closed: the future's free function closes it (so a join or select
 * result holding it is closed by uva_result_free unless the caller clears
 * free_fn to keep it), and a future cancelled or freed while the open runs
 * closes it when the open completes.  Fails with UV_EINVAL if loop or path is
 * NULL, UV_ENOMEM, or libuv's error.  path is copied. */
UVA_EXTERN uva_future_t *uva_fs_open(uv_loop_t *loop, const char *path,
                                     int flags, int mode);

/** Returns a future of up to len bytes (at most 1 GiB per call) read from fd at
 * offset (-1: the current position): value.ptr is a uva_buf_t (freed with
 * uva_buf_free) whose len is the count read, 0 at end of file.  Fails with
 * UV_EINVAL if loop is NULL or len is 0, UV_ENOMEM, or libuv's error.
 * Cancelling settles it at once with UV_ECANCELED; a read not started yet
 * never runs; one already running completes and its bytes are dropped (with
 * offset -1 the file position has then moved: not cancel safe). */
UVA_EXTERN uva_future_t *uva_fs_read(uv_loop_t *loop, uv_file fd, size_t len,
                                     int64_t offset);

/** Returns a future that writes data[0..len) to fd at offset (-1: the current
 * position), settling with value.u64 = bytes written (a write of more than
 * 1 GiB is short, as write(2) may be).  data is copied.  Fails
 * with UV_EINVAL if loop is NULL or data is NULL while len > 0, UV_ENOMEM, or
 * libuv's error.  Cancelling settles it at once with UV_ECANCELED; a write
 * not started yet never runs, one already running completes (libuv cannot
 * recall it) and its count is dropped. */
UVA_EXTERN uva_future_t *uva_fs_write(uv_loop_t *loop, uv_file fd,
                                      const void *data, size_t len,
                                      int64_t offset);

/** Returns a future that closes fd; cancelling or freeing it still closes fd.
 * Fails with UV_EINVAL if loop is NULL, UV_ENOMEM (fd is then left open), or
 * libuv's error (UV_EBADF, ...). */
UVA_EXTERN uva_future_t *uva_fs_close(uv_loop_t *loop, uv_file fd);

#ifdef __cplusplus
}
#endif
#endif /* UVA_FS_H */
