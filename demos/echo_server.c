/* echo_server: the echo server of the Tokio tutorial (I/O chapter),
 *
 *   let listener = TcpListener::bind("127.0.0.1:6142").await?;
 *   loop {
 *       let (mut socket, _) = listener.accept().await?;
 *       tokio::spawn(async move {
 *           let mut buf = vec![0; 1024];
 *           loop {
 *               match timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
 *                   Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
 *                   Ok(Ok(n)) => if socket.write_all(&buf[..n]).await.is_err() { return },
 *               }
 *           }
 *       });
 *   }
 *
 * with a graceful shutdown in the manner of mini-redis: the accept loop is a
 * select! over accept, ctrl_c (SIGINT) and SIGTERM; on a signal it stops
 * accepting, lets the open connections finish within a deadline, then
 * cancels the ones still open and exits.
 *
 *   echo_server [--port P] [--exit-after N] [--idle-ms MS] [--grace-ms MS]
 *               [--threads N] [--mode reuseport|handoff]
 *
 * --port 0 lets the kernel pick a port; the first line printed is always
 * "listening on 127.0.0.1:PORT".  --exit-after N stops accepting after N
 * connections, as a signal would.  --idle-ms (default 5000) closes a
 * connection that sends nothing for that long; --grace-ms (default 2000)
 * is the shutdown deadline.
 *
 * --threads N (default 1) serves on N loops of the program's own: loop 0
 * runs on the main thread, loops 1..N-1 each on a thread the program makes
 * (uv_thread_create, uv_loop_init).  --mode reuseport (the default) has
 * every loop listen on the same port with UVA_TCP_REUSEPORT and accept on
 * its own (the kernel spreads the connections); the first loop that sees a
 * signal or the N-th connection cancels every loop's token (a
 * uva_token_t, cancelled from any thread), and each loop then shuts down
 * as one loop does.  --mode handoff has loop 0 accept every connection,
 * take it out of its loop (uva_stream_export) and start its task on the
 * least loaded other loop (uva_spawn_on: those loops serve,
 * uva_loop_serve); the join futures stay on loop 0, which waits for them
 * and cancels them at the deadline as it does its own tasks.  Every loop is
 * shut down and closed with 0, every thread joined. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uva.h>

#define MAX_THREADS 64

typedef struct server server_t;
typedef struct app app_t;

/* What loop 0 hands to another loop with a connection (handoff mode): the
 * task there takes fd and id and sets taken; loop 0 frees it when the join
 * future settles, and closes fd if the task never ran. */
typedef struct handoff {
  atomic_int taken;
  uv_file fd;
  unsigned id;
} handoff_t;

/* One connection: its task's join future is kept so that shutdown can
 * cancel it; the task detaches it when it ends.  In handoff mode the task
 * runs on another loop and join is the join future of uva_spawn_on, on
 * loop 0, whose callback (remote_done) ends the record. */
typedef struct conn {
  struct conn *prev, *next;
  server_t *srv;
  uva_stream_t *s;
  uva_future_t *join;
  unsigned id;
  unsigned target;     /* handoff: the loop serving it */
  handoff_t *handoff;  /* handoff: what went there */
} conn_t;

/* One loop and what it serves; with --threads 1, the only one. */
struct server {
  app_t *app;          /* NULL with --threads 1 */
  unsigned index;      /* loop index */
  uv_loop_t loop_mem;  /* loops 1..N-1: made by their thread */
  uv_thread_t tid;
  uv_sem_t ready;      /* posted once the loop listens or serves */
  uv_sem_t go;         /* posted by main once every loop is ready */
  int setup_err, close_err;
  uva_token_t *stop;   /* cancelled (from any thread) to stop this loop */
  unsigned handed;     /* handoff, on loop 0: open connections sent here */
  uv_loop_t *loop;
  unsigned port;
  unsigned exit_after;
  uint64_t idle_ms, grace_ms;
  uva_stream_t *listener;
  uva_signal_t *sigint, *sigterm; /* listening from the start */
  conn_t *conns;            /* the open connections */
  size_t open;
  unsigned accepted;
  uint64_t bytes;           /* echoed in all */
  uva_future_t *all_closed; /* resolved when open drops to 0 */
};

/* The loops of --threads N. */
struct app {
  unsigned threads;
  int handoff;            /* --mode handoff */
  server_t *srv;          /* [threads] */
  atomic_uint accepted;   /* reuseport: connections accepted by all loops */
  atomic_int stopping;    /* set once by the first stop_all */
  unsigned rr;            /* handoff: round robin among equals */
  char reason[64];
};

/* The loop of the thread (handoff: how a task finds its loop's server). */
static _Thread_local server_t *this_server;

/* Stops every loop, once, from any thread: cancels each loop's token (each
 * loop waits for its own before it shuts down, so that no token is freed
 * before this call is done with it). */
static void stop_all(app_t *app, const char *why, uint64_t grace_ms) {
  int zero = 0;

  if (!atomic_compare_exchange_strong(&app->stopping, &zero, 1))
    return;
  if (why != NULL)
    printf("shutdown (%s): no longer accepting on %u loops; waiting up to "
           "%llu ms\n",
           why, app->threads, (unsigned long long)grace_ms);
  for (unsigned i = 0; i < app->threads; i++)
    uva_token_cancel(app->srv[i].stop);
}

static void unlink_conn(server_t *srv, conn_t *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv->open--;
}

/* Echoes on s until the end, an error, the idle timeout or a cancel, then
 * closes s. */
static void echo(server_t *srv, uva_stream_t *s, unsigned id) {
  char buf[1024];
  uva_value_t n;
  int err;

  for (;;) {
    /* A read that times out loses nothing: bytes that came meanwhile stay
     * in the stream (the read is cancel safe). */
    err = uva_await(uva_timeout(uva_stream_read(s, buf, sizeof(buf)),
                                srv->idle_ms),
                    &n);
    if (err == UV_ETIMEDOUT)
      printf("connection %u: idle for %llu ms, closing\n", id,
             (unsigned long long)srv->idle_ms);
    if (err != 0)
      break;
    err = uva_await(uva_stream_write(s, buf, (size_t)n.u64), NULL);
    if (err != 0)
      break;
    srv->bytes += n.u64;
  }
  if (err != UV_EOF && err != UV_ETIMEDOUT && err != UV_ECANCELED &&
      err != UV_ECONNRESET)
    fprintf(stderr, "connection %u: %s\n", id, uv_strerror(err));
  uva_stream_free(s); /* closes the socket */
}

/* The task of one connection on its loop. */
static int connection(void *arg, uva_result_t *result) {
  conn_t *c = arg;
  server_t *srv = c->srv;

  (void)result;
  echo(srv, c->s, c->id);
  unlink_conn(srv, c);
  if (srv->open == 0 && srv->all_closed != NULL)
    uva_future_resolve_u64(srv->all_closed, 0);
  uva_future_detach(c->join); /* nobody joins this task */
  free(c);
  return 0;
}

static int start_connection(server_t *srv, uva_stream_t *s, unsigned id) {
  conn_t *c = calloc(1, sizeof(*c));
  int err;

  if (c == NULL) {
    uva_stream_free(s);
    return UV_ENOMEM;
  }
  c->srv = srv;
  c->s = s;
  c->id = id;
  c->join = uva_spawn(srv->loop, connection, c);
  err = uva_future_status(c->join);
  if (err != UVA_PENDING) { /* could not spawn: the task never runs */
    uva_future_free(c->join);
    uva_stream_free(s);
    free(c);
    return err < 0 ? err : UV_ENOMEM;
  }
  c->next = srv->conns;
  if (c->next != NULL)
    c->next->prev = c;
  srv->conns = c;
  srv->open++;
  return 0;
}

/* ---- handoff mode ---------------------------------------------------------- */

/* On the loop a connection was handed to: opens its descriptor there and
 * echoes. */
static int remote_connection(void *arg, uva_result_t *result) {
  handoff_t *h = arg;
  server_t *srv = this_server;
  uv_file fd = h->fd;
  unsigned id = h->id;
  uva_stream_t *s;
  int err;

  (void)result;
  atomic_store(&h->taken, 1); /* h is loop 0's again: not touched below */
  err = uva_stream_open(srv->loop, fd, &s);
  if (err != 0) {
    fprintf(stderr, "connection %u: open: %s\n", id, uv_strerror(err));
    close(fd);
    return 0;
  }
  srv->accepted++;
  echo(srv, s, id);
  return 0;
}

/* On loop 0, when a handed connection's task has returned (or never ran). */
static void remote_done(int status, uva_value_t value, void *data) {
  conn_t *c = data;
  server_t *srv = c->srv;

  (void)value;
  if (status != 0 && status != UV_ECANCELED)
    fprintf(stderr, "connection %u: %s\n", c->id, uv_strerror(status));
  if (!atomic_load(&c->handoff->taken))
    close(c->handoff->fd); /* its task never ran */
  free(c->handoff);
  srv->app->srv[c->target].handed--;
  unlink_conn(srv, c);
  if (srv->open == 0 && srv->all_closed != NULL)
    uva_future_resolve_u64(srv->all_closed, 0);
  free(c);
}

/* The loop among 1..N-1 with the fewest open connections handed to it; ties
 * go round robin. */
static unsigned pick_loop(app_t *app) {
  unsigned n = app->threads - 1, best = 0;

  for (unsigned k = 0; k < n; k++) {
    unsigned i = 1 + (app->rr + k) % n;
    if (best == 0 || app->srv[i].handed < app->srv[best].handed)
      best = i;
  }
  app->rr = (app->rr + 1) % n;
  return best;
}

/* Loop 0: takes s out of its loop and starts its task on another loop. */
static int hand_off(server_t *srv, uva_stream_t *s, unsigned id) {
  app_t *app = srv->app;
  handoff_t *h;
  conn_t *c;
  uv_file fd;
  int err;

  err = uva_stream_export(s, &fd); /* nothing read or pending: cannot be busy */
  if (err != 0) {
    uva_stream_free(s);
    return err;
  }
  h = calloc(1, sizeof(*h));
  c = calloc(1, sizeof(*c));
  if (h == NULL || c == NULL) {
    free(h);
    free(c);
    close(fd);
    return UV_ENOMEM;
  }
  atomic_init(&h->taken, 0);
  h->fd = fd;
  h->id = id;
  c->srv = srv;
  c->id = id;
  c->handoff = h;
  c->target = pick_loop(app);
  c->join = uva_spawn_on(srv->loop, app->srv[c->target].loop,
                         remote_connection, h);
  c->next = srv->conns;
  if (c->next != NULL)
    c->next->prev = c;
  srv->conns = c;
  srv->open++;
  app->srv[c->target].handed++;
  err = uva_future_then(c->join, remote_done, c);
  if (err != 0) { /* failed without a loop: no callback comes */
    remote_done(err, (uva_value_t){0}, c);
    return err;
  }
  return 0;
}

/* Waits up to ms for the open connections to finish; 0 or UV_ETIMEDOUT. */
static int wait_all_closed(server_t *srv, uint64_t ms) {
  uva_future_t *f;
  int err;

  if (srv->open == 0)
    return 0;
  srv->all_closed = f = uva_future_new(srv->loop);
  err = uva_await(ms != 0 ? uva_timeout(f, ms) : f, NULL);
  if (err != 0 && srv->all_closed == f) {
    /* Timed out: f was cancelled; its producer (us) still settles it. */
    uva_future_reject(f, UV_ECANCELED);
  }
  srv->all_closed = NULL;
  return err;
}

/* Gives the open connections the deadline, then cancels the rest and
 * waits for them. */
static void drain(server_t *srv) {
  if (wait_all_closed(srv, srv->grace_ms) == UV_ETIMEDOUT) {
    printf("shutdown: deadline passed, closing %zu connection%s\n", srv->open,
           srv->open == 1 ? "" : "s");
    for (conn_t *c = srv->conns; c != NULL; c = c->next)
      uva_future_cancel(c->join); /* its next await returns UV_ECANCELED */
    wait_all_closed(srv, 0);
  }
}

/* The accept loop of --threads 1, and of loop 0 in handoff mode. */
static int serve(void *arg, uva_result_t *result) {
  server_t *srv = arg;
  const char *why = NULL;
  char reason[64];
  int err;

  (void)result;
  while (why == NULL) {
    uva_future_t *fs[3];
    uva_result_t won;
    uva_value_t which;

    /* select! { accept, ctrl_c, SIGTERM }: the losers are cancelled, and a
     * connection the accept had taken stays in the listener. */
    fs[0] = uva_stream_accept(srv->listener);
    fs[1] = uva_signal_next(srv->sigint);
    fs[2] = uva_signal_next(srv->sigterm);
    err = uva_await(uva_select(srv->loop, fs, 3, &won), &which);
    if (err != 0) {
      fprintf(stderr, "select: %s\n", uv_strerror(err));
      goto out;
    }
    if (which.u64 == 1) {
      why = "SIGINT";
    } else if (which.u64 == 2) {
      why = "SIGTERM";
    } else if (won.status != 0) {
      fprintf(stderr, "accept: %s\n", uv_strerror(won.status));
    } else {
      won.free_fn = NULL; /* the stream is ours now */
      if (srv->app != NULL) /* --mode handoff */
        err = hand_off(srv, won.value.ptr, ++srv->accepted);
      else
        err = start_connection(srv, won.value.ptr, ++srv->accepted);
      if (err != 0)
        fprintf(stderr, "connection: %s\n", uv_strerror(err));
      if (srv->exit_after != 0 && srv->accepted == srv->exit_after) {
        snprintf(reason, sizeof(reason), "accepted %u connection%s",
                 srv->accepted, srv->accepted == 1 ? "" : "s");
        why = reason;
      }
    }
    uva_result_free(&won);
  }

  /* Graceful shutdown: stop accepting, give the open connections the
   * deadline, then cancel the rest and wait for them. */
  uva_stream_free(srv->listener);
  srv->listener = NULL;
  printf("shutdown (%s): no longer accepting; %zu connection%s open, "
         "waiting up to %llu ms\n",
         why, srv->open, srv->open == 1 ? "" : "s",
         (unsigned long long)srv->grace_ms);
  drain(srv);
  if (srv->app == NULL) /* else main sums the loops */
    printf("served %u connection%s, %llu bytes echoed\n", srv->accepted,
           srv->accepted == 1 ? "" : "s", (unsigned long long)srv->bytes);
  err = 0;
out:
  uva_stream_free(srv->listener);
  srv->listener = NULL;
  return err;
}

/* ---- reuseport mode: the accept loop of each loop ------------------------- */

static int serve_reuseport(void *arg, uva_result_t *result) {
  server_t *srv = arg;
  app_t *app = srv->app;
  int err = 0;

  (void)result;
  for (;;) {
    uva_future_t *fs[4];
    uva_result_t won;
    uva_value_t which;
    size_t n = 2;

    /* select! { accept, this loop's stop token, [loop 0: ctrl_c, SIGTERM] } */
    fs[0] = uva_stream_accept(srv->listener);
    fs[1] = uva_token_cancelled(srv->stop);
    if (srv->index == 0) {
      fs[2] = uva_signal_next(srv->sigint);
      fs[3] = uva_signal_next(srv->sigterm);
      n = 4;
    }
    err = uva_await(uva_select(srv->loop, fs, n, &won), &which);
    if (err != 0) {
      fprintf(stderr, "select: %s\n", uv_strerror(err));
      stop_all(app, NULL, 0);
      uva_await(uva_token_cancelled(srv->stop), NULL);
      break;
    }
    if (which.u64 == 1) {
      uva_result_free(&won);
      break; /* every loop stops */
    } else if (which.u64 >= 2) {
      /* a signal: every loop stops, this one too once its token is */
      stop_all(app, which.u64 == 2 ? "SIGINT" : "SIGTERM", srv->grace_ms);
    } else if (won.status != 0) {
      fprintf(stderr, "accept: %s\n", uv_strerror(won.status));
    } else {
      unsigned id = atomic_fetch_add(&app->accepted, 1) + 1;
      won.free_fn = NULL; /* the stream is ours now */
      srv->accepted++;
      err = start_connection(srv, won.value.ptr, id);
      if (err != 0)
        fprintf(stderr, "connection: %s\n", uv_strerror(err));
      if (srv->exit_after != 0 && id == srv->exit_after) {
        snprintf(app->reason, sizeof(app->reason),
                 "accepted %u connection%s", id, id == 1 ? "" : "s");
        stop_all(app, app->reason, srv->grace_ms);
      }
    }
    uva_result_free(&won);
  }
  uva_stream_free(srv->listener);
  srv->listener = NULL;
  drain(srv);
  return err;
}

/* ---- the threads of loops 1..N-1 ------------------------------------------ */

static void loop_thread(void *arg) {
  server_t *srv = arg;
  app_t *app = srv->app;
  struct sockaddr_in addr;
  int err;

  srv->loop = &srv->loop_mem;
  this_server = srv;
  err = uv_loop_init(srv->loop);
  if (err != 0) {
    srv->setup_err = err;
    srv->loop = NULL;
    uv_sem_post(&srv->ready);
    return;
  }
  err = uva_token_new(srv->loop, &srv->stop);
  if (err == 0 && !app->handoff) {
    uv_ip4_addr("127.0.0.1", (int)srv->port, &addr);
    err = uva_tcp_listen(srv->loop, (struct sockaddr *)&addr, 0,
                         UVA_TCP_REUSEPORT, &srv->listener);
  }
  if (err == 0 && app->handoff)
    err = uva_loop_serve(srv->loop);
  if (err != 0) { /* the token goes before main can see it */
    uva_stream_free(srv->listener);
    uva_token_free(srv->stop);
    srv->listener = NULL;
    srv->stop = NULL;
  }
  srv->setup_err = err;
  uv_sem_post(&srv->ready); /* from here on srv->stop lives until cancelled */
  /* No loop accepts before every loop's token exists (stop_all may come
   * from any of them). */
  uv_sem_wait(&srv->go);
  if (err == 0) {
    if (!app->handoff) {
      err = uva_block_on(srv->loop, uva_spawn(srv->loop, serve_reuseport, srv),
                         NULL);
    } else {
      /* Serve loop 0's connections until it says stop. */
      err = uva_block_on(srv->loop, uva_token_cancelled(srv->stop), NULL);
      uva_loop_serve_stop(srv->loop);
    }
    if (err != 0)
      fprintf(stderr, "loop %u: %s\n", srv->index, uv_strerror(err));
  }
  uva_loop_shutdown(srv->loop, srv->grace_ms, NULL);
  uva_stream_free(srv->listener);
  uva_token_free(srv->stop);
  uv_run(srv->loop, UV_RUN_DEFAULT); /* lets their handles close */
  srv->close_err = uv_loop_close(srv->loop);
}

/* ---- main ----------------------------------------------------------------- */

static int parse(int argc, char **argv, server_t *srv, unsigned *threads,
                 int *handoff) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char *end;
    unsigned long long v;
    if (i + 1 >= argc)
      return -1;
    if (strcmp(a, "--mode") == 0) {
      const char *m = argv[++i];
      if (strcmp(m, "reuseport") == 0)
        *handoff = 0;
      else if (strcmp(m, "handoff") == 0)
        *handoff = 1;
      else
        return -1;
      continue;
    }
    v = strtoull(argv[++i], &end, 10);
    if (*end != '\0')
      return -1;
    if (strcmp(a, "--port") == 0 && v <= 65535)
      srv->port = (unsigned)v;
    else if (strcmp(a, "--exit-after") == 0)
      srv->exit_after = (unsigned)v;
    else if (strcmp(a, "--idle-ms") == 0 && v > 0)
      srv->idle_ms = v;
    else if (strcmp(a, "--grace-ms") == 0 && v > 0)
      srv->grace_ms = v;
    else if (strcmp(a, "--threads") == 0 && v >= 1 && v <= MAX_THREADS)
      *threads = (unsigned)v;
    else
      return -1;
  }
  if (*handoff && *threads < 2)
    return -1; /* loop 0 hands connections to the others */
  return 0;
}

int main(int argc, char **argv) {
  static server_t srvs[MAX_THREADS];
  app_t app;
  uv_loop_t loop;
  server_t *srv = &srvs[0];
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  unsigned threads = 1, started = 0;
  int handoff = 0, err, failed = 0;

  srv->loop = &loop;
  srv->port = 6142;
  srv->idle_ms = 5000;
  srv->grace_ms = 2000;
  if (parse(argc, argv, srv, &threads, &handoff) != 0) {
    fprintf(stderr, "usage: echo_server [--port P] [--exit-after N] "
                    "[--idle-ms MS] [--grace-ms MS] [--threads N] "
                    "[--mode reuseport|handoff]\n");
    return 2;
  }
  memset(&app, 0, sizeof(app));
  app.threads = threads;
  app.handoff = handoff;
  app.srv = srvs;
  atomic_init(&app.accepted, 0);
  atomic_init(&app.stopping, 0);
  if (threads > 1)
    srv->app = &app;
  setvbuf(stdout, NULL, _IOLBF, 0); /* a script reads the port at once */
  err = uv_loop_init(&loop);
  if (err == 0)
    err = uv_ip4_addr("127.0.0.1", (int)srv->port, &addr);
  if (err == 0)
    err = uva_tcp_listen(&loop, (struct sockaddr *)&addr, 0,
                         threads > 1 && !handoff ? UVA_TCP_REUSEPORT : 0,
                         &srv->listener);
  if (err == 0)
    err = uva_stream_sockname(srv->listener, &bound);
  /* Deliveries count from here on: a SIGINT that comes before the accept
   * loop first waits is not lost (and does not kill the process). */
  if (err == 0)
    err = uva_signal_listen(&loop, SIGINT, &srv->sigint);
  if (err == 0)
    err = uva_signal_listen(&loop, SIGTERM, &srv->sigterm);
  if (err == 0 && threads > 1)
    err = uva_token_new(&loop, &srv->stop);
  /* Loops 1..N-1, each on a thread of its own, listening on the same port
   * (reuseport) or serving loop 0 (handoff). */
  for (unsigned i = 1; err == 0 && i < threads; i++) {
    server_t *w = &srvs[i];
    w->app = &app;
    w->index = i;
    w->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    w->idle_ms = srv->idle_ms;
    w->grace_ms = srv->grace_ms;
    w->exit_after = srv->exit_after;
    if ((err = uv_sem_init(&w->ready, 0)) != 0)
      break;
    if ((err = uv_sem_init(&w->go, 0)) != 0) {
      uv_sem_destroy(&w->ready);
      break;
    }
    err = uv_thread_create(&w->tid, loop_thread, w);
    if (err == 0) {
      uv_sem_wait(&w->ready);
      started++;
      err = w->setup_err;
    } else {
      uv_sem_destroy(&w->go);
    }
    uv_sem_destroy(&w->ready);
  }
  for (unsigned i = 1; i <= started; i++)
    uv_sem_post(&srvs[i].go);
  if (err != 0) {
    fprintf(stderr, "setup: %s\n", uv_strerror(err));
    failed = 1;
  } else {
    printf("listening on 127.0.0.1:%u\n",
           (unsigned)ntohs(((struct sockaddr_in *)&bound)->sin_port));
    if (threads > 1)
      printf("%u loops in %u threads, mode %s\n", threads, threads,
             handoff ? "handoff" : "reuseport");
    err = uva_block_on(&loop,
                       uva_spawn(&loop,
                                 threads > 1 && !handoff ? serve_reuseport
                                                         : serve,
                                 srv),
                       NULL);
    if (err != 0) {
      fprintf(stderr, "server: %s\n", uv_strerror(err));
      failed = 1;
    }
  }
  /* Every loop stops (handoff: loop 0 is done with them; reuseport: they
   * stopped already, or the setup failed), and every thread is joined. */
  if (threads > 1)
    stop_all(&app, NULL, 0);
  for (unsigned i = 1; i <= started; i++) {
    uv_thread_join(&srvs[i].tid);
    uv_sem_destroy(&srvs[i].go);
    if (srvs[i].close_err != 0) {
      fprintf(stderr, "loop %u: uv_loop_close: handles left open\n", i);
      failed = 1;
    }
  }
  if (threads > 1 && !failed) {
    unsigned long long bytes = 0;
    unsigned conns = handoff ? srv->accepted : 0;
    for (unsigned i = 0; i < threads; i++) {
      bytes += srvs[i].bytes;
      if (!handoff)
        conns += srvs[i].accepted;
    }
    printf("served %u connection%s, %llu bytes echoed\n", conns,
           conns == 1 ? "" : "s", bytes);
    printf("connections per loop:");
    for (unsigned i = 0; i < threads; i++) /* handoff: 0 serves none */
      printf(" %u", handoff && i == 0 ? 0 : srvs[i].accepted);
    printf("\n");
  }
  uva_stream_free(srv->listener); /* NULL unless the task never ran */
  uva_signal_free(srv->sigint);
  uva_signal_free(srv->sigterm);
  uva_token_free(srv->stop);
  uv_run(&loop, UV_RUN_DEFAULT); /* lets their handles close */
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return failed ? 1 : 0;
}
