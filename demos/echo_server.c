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
 *
 * --port 0 lets the kernel pick a port; the first line printed is always
 * "listening on 127.0.0.1:PORT".  --exit-after N stops accepting after N
 * connections, as a signal would.  --idle-ms (default 5000) closes a
 * connection that sends nothing for that long; --grace-ms (default 2000)
 * is the shutdown deadline. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uva.h>

typedef struct server server_t;

/* One connection: its task's join future is kept so that shutdown can
 * cancel it; the task detaches it when it ends. */
typedef struct conn {
  struct conn *prev, *next;
  server_t *srv;
  uva_stream_t *s;
  uva_future_t *join;
  unsigned id;
} conn_t;

struct server {
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

static void unlink_conn(server_t *srv, conn_t *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  srv->open--;
}

/* The task of one connection: echo until the end, an error, the idle
 * timeout or a cancel. */
static int connection(void *arg, uva_result_t *result) {
  conn_t *c = arg;
  server_t *srv = c->srv;
  char buf[1024];
  uva_value_t n;
  int err;

  (void)result;
  for (;;) {
    /* A read that times out loses nothing: bytes that came meanwhile stay
     * in the stream (the read is cancel safe). */
    err = uva_await(uva_timeout(uva_stream_read(c->s, buf, sizeof(buf)),
                                srv->idle_ms),
                    &n);
    if (err == UV_ETIMEDOUT)
      printf("connection %u: idle for %llu ms, closing\n", c->id,
             (unsigned long long)srv->idle_ms);
    if (err != 0)
      break;
    err = uva_await(uva_stream_write(c->s, buf, (size_t)n.u64), NULL);
    if (err != 0)
      break;
    srv->bytes += n.u64;
  }
  if (err != UV_EOF && err != UV_ETIMEDOUT && err != UV_ECANCELED &&
      err != UV_ECONNRESET)
    fprintf(stderr, "connection %u: %s\n", c->id, uv_strerror(err));
  uva_stream_free(c->s); /* closes the socket */
  unlink_conn(srv, c);
  if (srv->open == 0 && srv->all_closed != NULL)
    uva_future_resolve_u64(srv->all_closed, 0);
  uva_future_detach(c->join); /* nobody joins this task */
  free(c);
  return 0;
}

static int start_connection(server_t *srv, uva_stream_t *s) {
  conn_t *c = calloc(1, sizeof(*c));
  int err;

  if (c == NULL) {
    uva_stream_free(s);
    return UV_ENOMEM;
  }
  c->srv = srv;
  c->s = s;
  c->id = ++srv->accepted;
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
      err = start_connection(srv, won.value.ptr);
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
  if (wait_all_closed(srv, srv->grace_ms) == UV_ETIMEDOUT) {
    printf("shutdown: deadline passed, closing %zu connection%s\n", srv->open,
           srv->open == 1 ? "" : "s");
    for (conn_t *c = srv->conns; c != NULL; c = c->next)
      uva_future_cancel(c->join); /* its next await returns UV_ECANCELED */
    wait_all_closed(srv, 0);
  }
  printf("served %u connection%s, %llu bytes echoed\n", srv->accepted,
         srv->accepted == 1 ? "" : "s", (unsigned long long)srv->bytes);
  err = 0;
out:
  uva_stream_free(srv->listener);
  srv->listener = NULL;
  return err;
}

static int parse(int argc, char **argv, server_t *srv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char *end;
    unsigned long long v;
    if (i + 1 >= argc)
      return -1;
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
    else
      return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  server_t srv;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int err;

  memset(&srv, 0, sizeof(srv));
  srv.loop = &loop;
  srv.port = 6142;
  srv.idle_ms = 5000;
  srv.grace_ms = 2000;
  if (parse(argc, argv, &srv) != 0) {
    fprintf(stderr, "usage: echo_server [--port P] [--exit-after N] "
                    "[--idle-ms MS] [--grace-ms MS]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* a script reads the port at once */
  err = uv_loop_init(&loop);
  if (err == 0)
    err = uv_ip4_addr("127.0.0.1", (int)srv.port, &addr);
  if (err == 0)
    err = uva_tcp_listen(&loop, (struct sockaddr *)&addr, 0, 0,
                         &srv.listener);
  if (err == 0)
    err = uva_stream_sockname(srv.listener, &bound);
  /* Deliveries count from here on: a SIGINT that comes before the accept
   * loop first waits is not lost (and does not kill the process). */
  if (err == 0)
    err = uva_signal_listen(&loop, SIGINT, &srv.sigint);
  if (err == 0)
    err = uva_signal_listen(&loop, SIGTERM, &srv.sigterm);
  if (err != 0) {
    fprintf(stderr, "setup: %s\n", uv_strerror(err));
    uva_stream_free(srv.listener);
    uva_signal_free(srv.sigint);
    uva_signal_free(srv.sigterm);
    uv_run(&loop, UV_RUN_DEFAULT); /* lets the closes finish */
    uv_loop_close(&loop);
    return 1;
  }
  printf("listening on 127.0.0.1:%u\n",
         (unsigned)ntohs(((struct sockaddr_in *)&bound)->sin_port));
  err = uva_block_on(&loop, uva_spawn(&loop, serve, &srv), NULL);
  if (err != 0)
    fprintf(stderr, "server: %s\n", uv_strerror(err));
  uva_stream_free(srv.listener); /* NULL unless the task never ran */
  uva_signal_free(srv.sigint);
  uva_signal_free(srv.sigterm);
  uv_run(&loop, UV_RUN_DEFAULT); /* lets their handles close */
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
