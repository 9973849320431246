/* read_write: read a file asynchronously, then write it on another thread
 * and wait for that write.
 *
 * Mirrors (seed 000, "Using tokio"):
 *
 *   async fn read_file() -> String { ... "some data".to_string() }
 *   async fn write_file(data: String) { ... }
 *
 *   #[tokio::main]
 *   async fn main() {
 *       let file = read_file().await;
 *       let write = write_file(file);
 *       let write_off = std::thread::spawn(|| { write });
 *       join!(write_off).0.unwrap();
 *   }
 *
 * Usage: read_write [input-file]
 * Copies input-file to input-file.out and removes the copy again.  Without
 * an argument it first writes its own input ("some data", as in the seed)
 * into a fresh temporary directory, and removes everything at the end.
 * Prints "Read N bytes" and "Wrote N bytes".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>
#include <uva.h>

typedef struct {
  uv_loop_t *loop;
  const char *in_path;
  const char *out_path;
} app_t;

/* What the thread-pool job needs.  It must not call uva (or libuv loop)
 * functions: it runs on another thread. */
typedef struct {
  const char *path;
  const char *data;
  size_t len;
} write_job_t;

/* async fn read_file() -> String */
static uva_future_t *read_file(uv_loop_t *loop, const char *path) {
  return uva_fs_read_file(loop, path); /* value.ptr is a uva_buf_t */
}

/* fn write_file(data): ordinary blocking POSIX code, run on libuv's thread
 * pool by uva_spawn_blocking (our std::thread::spawn).  Returns 0 and the
 * byte count in result->value.u64, or a negative libuv error code. */
static int write_file(void *arg, uva_result_t *result) {
  write_job_t *job = arg;
  size_t done = 0;
  int fd, err = 0;

  fd = open(job->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return uv_translate_sys_error(errno);
  while (done < job->len) {
    ssize_t n = write(fd, job->data + done, job->len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      err = uv_translate_sys_error(errno);
      break;
    }
    done += (size_t)n;
  }
  if (close(fd) != 0 && err == 0)
    err = uv_translate_sys_error(errno);
  result->value.u64 = done;
  return err;
}

/* #[tokio::main] async fn main(): the task body. */
static int tokio_main(void *arg, uva_result_t *result) {
  app_t *app = arg;
  uva_value_t v;
  uva_buf_t *file, *copy;
  uva_result_t joined[1];
  uva_future_t *write_off;
  write_job_t job;
  int err;

  (void)result;

  /* let file = read_file().await; */
  err = uva_await(read_file(app->loop, app->in_path), &v);
  if (err != 0) {
    fprintf(stderr, "read %s: %s\n", app->in_path, uv_strerror(err));
    return err;
  }
  file = v.ptr;
  printf("Read %zu bytes\n", file->len);

  /* let write = write_file(file);
   * let write_off = std::thread::spawn(|| { write }); */
  job.path = app->out_path;
  job.data = file->base;
  job.len = file->len;
  write_off = uva_spawn_blocking(app->loop, write_file, &job);

  /* join!(write_off).0.unwrap(); -- join over one future, then look at
   * entry 0.  file stays alive until the join has settled: the job reads
   * it.  (Nobody cancels this task.  If someone did, this await would
   * return UV_ECANCELED while a job already running goes on reading file;
   * a job that must survive cancellation owns its input, handed over with
   * uva_spawn_blocking_ex, which frees it once the job is over.) */
  err = uva_await(uva_join(app->loop, &write_off, 1, joined), NULL);
  if (err == 0)
    err = joined[0].status;
  if (err != 0) {
    fprintf(stderr, "write %s: %s\n", app->out_path, uv_strerror(err));
    uva_buf_free(file);
    return err;
  }
  printf("Wrote %llu bytes\n", (unsigned long long)joined[0].value.u64);

  /* Not in the seed: read the copy back and check it. */
  err = uva_await(read_file(app->loop, app->out_path), &v);
  if (err == 0) {
    copy = v.ptr;
    if (copy->len != file->len || memcmp(copy->base, file->base, file->len))
      err = UV_EIO;
    uva_buf_free(copy);
  }
  if (err != 0)
    fprintf(stderr, "check %s: %s\n", app->out_path, uv_strerror(err));
  uva_buf_free(file);
  return err;
}

int main(int argc, char **argv) {
  static const char input[] = "some data";
  char dir[1024], in_path[1100], out_path[1200];
  size_t n = sizeof(dir);
  uv_loop_t loop;
  app_t app;
  int err, made_dir = 0;

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }

  if (argc > 1) {
    snprintf(in_path, sizeof(in_path), "%s", argv[1]);
  } else {
    /* Make our own input: a temporary directory with input.txt in it,
     * written with uva_fs_write_file (block_on works on any future). */
    err = uv_os_tmpdir(dir, &n);
    if (err == 0 && strlen(dir) + 32 < sizeof(dir)) {
      strcat(dir, "/uva-read_write-XXXXXX");
      if (mkdtemp(dir) == NULL)
        err = uv_translate_sys_error(errno);
    }
    if (err != 0) {
      fprintf(stderr, "temporary directory: %s\n", uv_strerror(err));
      uv_loop_close(&loop);
      return 1;
    }
    made_dir = 1;
    snprintf(in_path, sizeof(in_path), "%s/input.txt", dir);
    err = uva_block_on(
        &loop, uva_fs_write_file(&loop, in_path, input, strlen(input)), NULL);
    if (err != 0)
      fprintf(stderr, "write %s: %s\n", in_path, uv_strerror(err));
  }
  snprintf(out_path, sizeof(out_path), "%s.out", in_path);

  if (err == 0) {
    app.loop = &loop;
    app.in_path = in_path;
    app.out_path = out_path;
    err = uva_block_on(&loop, uva_spawn(&loop, tokio_main, &app), NULL);
    if (err != 0)
      fprintf(stderr, "read_write: %s\n", uv_strerror(err));
  }

  /* Clean up what we made. */
  remove(out_path);
  if (made_dir) {
    remove(in_path);
    rmdir(dir);
  }

  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
