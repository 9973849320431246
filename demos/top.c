/* top: what runs on a loop, as tokio-console shows it (uva_loop_stats and
 * uva_loop_dump, include/uva/stats.h).
 *
 * A consumer task waits on a channel, a watchdog task sleeps for ten
 * seconds, and a reporter task looks at the loop while both wait: it prints
 * the counts that do not change from run to run on stdout, and the whole
 * dump (addresses, backtraces, times) on stderr, for people.  Then it sends
 * the consumer three messages, cancels the watchdog, and looks again.
 *
 *   $ ./top 2>/dev/null
 *   tasks: 3 alive, 1 running, 2 suspended
 *   awaited by tasks: sleep 1, chan_recv 1
 *   consumer got 3 messages
 *   tasks: 1 alive, 1 running, 0 suspended
 *
 * For names in the dump's backtraces and spawn sites, link the program
 * with -rdynamic (CMake: ENABLE_EXPORTS), as this demo is.
 */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <uva.h>

typedef struct {
  uv_loop_t *loop;
  uva_chan_t *ch;
  uva_future_t *consumer, *watchdog;
} demo_t;

int consumer(void *arg, uva_result_t *result);
int watchdog(void *arg, uva_result_t *result);

/* Receives until the channel is closed; the count is its result. */
int consumer(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  int v, n = 0, err;

  while ((err = uva_chan_recv_wait(d->ch, &v)) == 0)
    n++;
  result->value.u64 = (uint64_t)n;
  return err == UV_EOF ? 0 : err;
}

/* Sleeps for ten seconds, unless cancelled. */
int watchdog(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  (void)result;
  return uva_await(uva_sleep(d->loop, 10000), NULL);
}

/* Prints the counts, and the whole dump to stderr; on stdout also the
 * dump's "awaited by tasks" line when asked. */
static int report(demo_t *d, int awaited) {
  uva_stats_t st;
  char *text = NULL, *line;
  size_t len = 0;
  FILE *f;
  int err;

  st.size = sizeof(st);
  if ((err = uva_loop_stats(d->loop, &st)) != 0)
    return err;
  printf("tasks: %llu alive, %llu running, %llu suspended\n",
         (unsigned long long)st.tasks_alive,
         (unsigned long long)st.tasks_running,
         (unsigned long long)st.tasks_suspended);
  if ((f = open_memstream(&text, &len)) == NULL)
    return UV_ENOMEM;
  err = uva_loop_dump(d->loop, f);
  fclose(f);
  if (err == 0) {
    fputs(text, stderr);
    line = strstr(text, "awaited by tasks:");
    if (awaited && line != NULL)
      printf("%.*s\n", (int)strcspn(line, "\n"), line);
  }
  free(text);
  return err;
}

static int reporter(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  uva_value_t got;
  int i, err;

  (void)result;
  uva_yield(); /* the others start and wait */
  if ((err = report(d, 1)) != 0)
    return err;
  for (i = 0; i < 3; i++)
    if ((err = uva_chan_send_wait(d->ch, &i)) != 0)
      return err;
  uva_chan_close(d->ch);
  if ((err = uva_await(d->consumer, &got)) != 0)
    return err;
  printf("consumer got %llu messages\n", (unsigned long long)got.u64);
  uva_future_cancel(d->watchdog);
  if ((err = uva_await(d->watchdog, NULL)) != UV_ECANCELED)
    return err != 0 ? err : UV_EINVAL;
  return report(d, 0);
}

int main(void) {
  uv_loop_t loop;
  demo_t d;
  int err;

  uv_loop_init(&loop);
  d.loop = &loop;
  if (uva_chan_new(&loop, sizeof(int), 1, &d.ch) != 0)
    return 1;
  d.consumer = uva_spawn(&loop, consumer, &d);
  d.watchdog = uva_spawn(&loop, watchdog, &d);
  err = uva_block_on(&loop, uva_spawn(&loop, reporter, &d), NULL);
  uva_chan_free(d.ch);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (err != 0)
    fprintf(stderr, "top: %s\n", uv_strerror(err));
  return uv_loop_close(&loop) == 0 && err == 0 ? 0 : 1;
}
