/* pipeline: child processes with tokio::process::Command's model.
 *
 *   let mut child = Command::new("sort").stdin(piped()).stdout(piped()).spawn()?;
 *   let mut stdin = child.stdin.take().unwrap();
 *   stdin.write_all(b"cherry\napple\nbanana\n").await?;
 *   drop(stdin);                                  // sort sees the end
 *   let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
 *   while let Some(line) = lines.next_line().await? { println!("{line}"); }
 *   println!("{}", child.wait().await?);          // exit status: 0
 *
 * then a child that fails (sh -c 'exit 3') and a child killed by a signal
 * (sleep 10, sent SIGTERM once it has run for 100 ms).  The writer and the
 * reader are two tasks, so a child that writes while it reads cannot
 * deadlock against the parent. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <uva.h>

static const char input[] = "cherry\napple\nbanana\n";

/* Feeds stdin, then closes it. */
static int feed(void *arg, uva_result_t *result) {
  uva_stream_t *in = arg;
  int err, cerr;

  (void)result;
  err = uva_await(uva_stream_write(in, input, sizeof(input) - 1), NULL);
  cerr = uva_await(uva_stream_close(in), NULL); /* drop(stdin) */
  return err != 0 ? err : cerr;
}

/* Prints stdout line by line until its end. */
static int drain(void *arg, uva_result_t *result) {
  uva_stream_t *out = arg;
  uva_value_t v;
  int err;

  (void)result;
  while ((err = uva_await(uva_stream_read_until(out, '\n', 4096), &v)) == 0) {
    uva_buf_t *line = v.ptr;
    printf("  %s", line->base);
    uva_buf_free(line);
  }
  return err == UV_EOF ? 0 : err;
}

static const char *signame(int sig) {
  switch (sig) {
  case SIGTERM: return "SIGTERM";
  case SIGKILL: return "SIGKILL";
  case SIGINT: return "SIGINT";
  default: return "another signal";
  }
}

static void report(const char *what, uint64_t v) {
  if (UVA_EXIT_SIGNAL(v) != 0)
    printf("%s: killed by signal %d (%s)\n", what, UVA_EXIT_SIGNAL(v),
           signame(UVA_EXIT_SIGNAL(v)));
  else
    printf("%s: exited with status %lld\n", what,
           (long long)UVA_EXIT_STATUS(v));
}

static int run_sort(uv_loop_t *loop) {
  char *args[] = {"sort", NULL};
  uva_process_opts_t o;
  uva_process_t *p;
  uva_future_t *io[2];
  uva_result_t res[2];
  uva_value_t v;
  int err;

  memset(&o, 0, sizeof(o));
  o.file = "sort";
  o.args = args;
  o.stdio[0] = UVA_STDIO_PIPE;
  o.stdio[1] = UVA_STDIO_PIPE;
  o.stdio[2] = UVA_STDIO_INHERIT;
  o.flags = UVA_PROCESS_KILL_ON_FREE;
  err = uva_process_spawn(loop, &o, &p);
  if (err != 0) {
    printf("sort: cannot start: %s\n", uv_strerror(err));
    return err;
  }
  printf("sort wrote:\n");
  /* stdin is taken out (ours to close); stdout stays the process's. */
  io[0] = uva_spawn(loop, feed, uva_process_take_stream(p, 0));
  io[1] = uva_spawn(loop, drain, uva_process_stream(p, 1));
  err = uva_await(uva_join(loop, io, 2, res), NULL);
  if (err == 0)
    err = res[0].status != 0 ? res[0].status : res[1].status;
  if (err == 0)
    err = uva_await(uva_process_wait(p), &v);
  if (err == 0)
    report("sort", v.u64);
  else
    printf("sort: %s\n", uv_strerror(err));
  uva_process_free(p);
  return err;
}

static int run_simple(uv_loop_t *loop, const char *what, char **args,
                      uint64_t kill_after_ms) {
  uva_process_opts_t o;
  uva_process_t *p;
  uva_value_t v;
  int err;

  memset(&o, 0, sizeof(o));
  o.file = args[0];
  o.args = args;
  o.stdio[0] = UVA_STDIO_NULL;
  o.stdio[1] = UVA_STDIO_NULL;
  o.stdio[2] = UVA_STDIO_INHERIT;
  o.flags = UVA_PROCESS_KILL_ON_FREE;
  err = uva_process_spawn(loop, &o, &p);
  if (err != 0) {
    printf("%s: cannot start: %s\n", what, uv_strerror(err));
    return err;
  }
  if (kill_after_ms != 0) {
    err = uva_await(uva_sleep(loop, kill_after_ms), NULL);
    if (err == 0) {
      printf("%s: still running after %llu ms, sending SIGTERM\n", what,
             (unsigned long long)kill_after_ms);
      err = uva_process_kill(p, SIGTERM);
    }
  }
  if (err == 0)
    err = uva_await(uva_process_wait(p), &v);
  if (err == 0)
    report(what, v.u64);
  else
    printf("%s: %s\n", what, uv_strerror(err));
  uva_process_free(p);
  return err;
}

static int pipeline(void *arg, uva_result_t *result) {
  uv_loop_t *loop = arg;
  char *fail[] = {"sh", "-c", "exit 3", NULL};
  char *sleeper[] = {"sleep", "10", NULL};
  int err;

  (void)result;
  err = run_sort(loop);
  if (err == 0)
    err = run_simple(loop, "sh -c 'exit 3'", fail, 0);
  if (err == 0)
    err = run_simple(loop, "sleep 10", sleeper, 100);
  return err;
}

int main(void) {
  uv_loop_t loop;
  int err;

  if (uv_loop_init(&loop) != 0)
    return 1;
  err = uva_block_on(&loop, uva_spawn(&loop, pipeline, &loop), NULL);
  if (err != 0)
    fprintf(stderr, "pipeline: %s\n", uv_strerror(err));
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
