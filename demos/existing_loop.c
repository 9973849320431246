/* existing_loop: adding uva to an ordinary callback-style libuv program.
 *
 * There is no single Rust original: this is what a tokio program cannot
 * show.  The program owns its loop and runs it itself with
 * uv_run(UV_RUN_DEFAULT); uva never runs it here (no uva_block_on).  The
 * program has its own handles, written the classic libuv way:
 *   - a uv_timer_t that prints "tick N" every 10 ms, and
 *   - a TCP echo server on 127.0.0.1 (port 0: the kernel picks one) that
 *     accepts with its own callbacks; it hands its first connection to a
 *     uva task (uva_stream_adopt: the uv_tcp_t stays the program's memory,
 *     and the task gives it back with uva_stream_release when the peer is
 *     done), and serves the next one itself.
 * Three uva tasks are added to the same loop, in the spirit of
 *
 *   tokio::spawn(async { for i in 1..=3 { sleep(25ms).await; println!(..) } });
 *   tokio::spawn(async { let n = fifth_tick_rx.await; println!(..) });
 *   tokio::spawn(async { let s = TcpStream::connect(addr).await; ... });
 *
 *   - "stepper" sleeps 25 ms three times, printing "task step N";
 *   - "waiter" awaits a future (uva_future_new) that the timer callback
 *     resolves on tick 5: the bridge from any callback into async code;
 *   - "client" talks to the echo server through the same kind of bridge,
 *     twice: the first connection is served by the adopting task (which
 *     answers "[adopted] " + the line), the second by the program.  Its
 *     read bridge registers a cancel hook (uva_future_on_cancel): a read
 *     that times out (the client first reads before it has sent anything,
 *     with a 20 ms timeout) stops libuv's reading there and then.
 * A fourth task, spawned from the connection callback and detached, serves
 * the adopted connection.  When the three are done (uva_join, then
 * uva_future_then) a callback closes the program's timer and server;
 * uv_run returns once nothing is left (the adopted handle, handed back,
 * closed by the program), and uv_loop_close returns 0: uva left nothing
 * behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>
#include <uva.h>

#define MESSAGE "hello from a uva task\n"

typedef struct {
  uv_loop_t *loop;
  uv_timer_t timer;
  uv_tcp_t server;
  struct sockaddr_storage addr; /* where the server listens */
  unsigned ticks;
  uva_future_t *fifth_tick; /* resolved by on_tick; NULL once resolved */
  uva_result_t results[3];  /* the tasks' results, filled by uva_join */
  unsigned connections;     /* accepted by the server */
} app_t;

/* ---- the program's own code: plain libuv callbacks ----------------------- */

static void on_tick(uv_timer_t *timer) {
  app_t *app = timer->data; /* our handle, our data field: uva leaves it be */

  printf("tick %u\n", ++app->ticks);
  if (app->ticks == 5 && app->fifth_tick != NULL) {
    /* Wake the task awaiting this future.  It runs later, from the loop,
     * never inside this call. */
    int err = uva_future_resolve_u64(app->fifth_tick, app->ticks);
    if (err != 0)
      fprintf(stderr, "resolve: %s\n", uv_strerror(err));
    app->fifth_tick = NULL;
  }
}

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
} echo_write_t;

static void free_handle(uv_handle_t *h) { free(h); }

static void echo_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(size);
  buf->len = buf->base == NULL ? 0 : size;
}

static void echo_written(uv_write_t *req, int status) {
  echo_write_t *w = (echo_write_t *)req;
  (void)status;
  free(w->buf.base);
  free(w);
}

static void echo_read(uv_stream_t *conn, ssize_t nread, const uv_buf_t *buf) {
  echo_write_t *w;

  if (nread > 0 && (w = malloc(sizeof(*w))) != NULL) {
    w->buf = uv_buf_init(buf->base, (unsigned int)nread);
    if (uv_write(&w->req, conn, &w->buf, 1, echo_written) == 0)
      return; /* echo_written frees the buffer */
    free(w);
  }
  free(buf->base);
  if (nread < 0) /* UV_EOF or an error: hang up */
    uv_close((uv_handle_t *)conn, free_handle);
}

static int serve_adopted(void *arg, uva_result_t *result);

static void on_connection(uv_stream_t *server, int status) {
  app_t *app = server->data;
  uv_tcp_t *conn;
  uva_stream_t *s;

  if (status < 0 || (conn = malloc(sizeof(*conn))) == NULL)
    return;
  uv_tcp_init(server->loop, conn);
  if (uv_accept(server, (uv_stream_t *)conn) != 0) {
    uv_close((uv_handle_t *)conn, free_handle);
    return;
  }
  /* The first connection goes to a uva task; the program keeps the
   * uv_tcp_t's memory and gets the handle back at the end. */
  if (app->connections++ == 0 &&
      uva_stream_adopt((uv_stream_t *)conn, &s) == 0) {
    uva_future_detach(uva_spawn(server->loop, serve_adopted, s));
    return;
  }
  if (uv_read_start((uv_stream_t *)conn, echo_alloc, echo_read) != 0)
    uv_close((uv_handle_t *)conn, free_handle);
}

/* ---- the uva tasks -------------------------------------------------------- */

/* Serves an adopted connection line by line, as a uva stream; when the
 * peer is done, hands the handle back to the program, which closes it the
 * way it closes its other connections. */
static int serve_adopted(void *arg, uva_result_t *result) {
  uva_stream_t *s = arg;
  uv_stream_t *h;
  uva_buf_t *rest;
  uva_value_t v;
  char reply[128];
  int err;

  (void)result;
  while ((err = uva_await(uva_stream_read_until(s, '\n', 100), &v)) == 0) {
    uva_buf_t *line = v.ptr;
    int n = snprintf(reply, sizeof(reply), "[adopted] %s", line->base);
    uva_buf_free(line);
    err = uva_await(uva_stream_write(s, reply, (size_t)n), NULL);
    if (err != 0)
      break;
  }
  if (uva_stream_release(s, &h, &rest) == 0) {
    printf("adopted connection: the task is done, the program closes it\n");
    uva_buf_free(rest); /* unread bytes (none here) */
    uv_close((uv_handle_t *)h, free_handle);
  } else {
    uva_stream_free(s);
  }
  return err == UV_EOF ? 0 : err;
}

static int stepper(void *arg, uva_result_t *result) {
  app_t *app = arg;
  int i, err;

  (void)result;
  for (i = 1; i <= 3; i++) {
    err = uva_await(uva_sleep(app->loop, 25), NULL);
    if (err != 0)
      return err;
    printf("task step %d\n", i);
  }
  return 0;
}

static int waiter(void *arg, uva_result_t *result) {
  uva_future_t *fifth_tick = arg;
  uva_value_t tick;
  int err;

  (void)result;
  err = uva_await(fifth_tick, &tick);
  if (err != 0)
    return err;
  printf("task saw tick %llu\n", (unsigned long long)tick.u64);
  return 0;
}

/* A client connection, with the requests libuv fills in.  It lives on the
 * client task's stack: the task always closes the handle and awaits the
 * close before it returns, so libuv is done with it by then. */
typedef struct {
  uv_tcp_t tcp; /* first member: the callbacks cast back to client_t */
  uv_connect_t connect;
  uv_write_t write;
  uva_future_t *reading; /* the read in progress, settled by on_read */
  unsigned cancelled_reads; /* by read_cancelled */
  size_t got;            /* bytes in buf so far */
  char buf[64];
} client_t;

/* Settles a future made by uva_future_new from a libuv status. */
static void settle(uva_future_t *f, int status) {
  if (status < 0)
    uva_future_reject(f, status);
  else
    uva_future_resolve_u64(f, (uint64_t)status);
}

static void on_connect(uv_connect_t *req, int status) {
  settle(req->data, status);
}

static void on_write(uv_write_t *req, int status) { settle(req->data, status); }

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  client_t *c = (client_t *)h;
  (void)size;
  *buf = uv_buf_init(c->buf + c->got,
                     (unsigned int)(sizeof(c->buf) - 1 - c->got));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = (client_t *)s;

  (void)buf;
  if (nread == 0 || c->reading == NULL)
    return;
  uv_read_stop(s);
  if (nread > 0)
    c->got += (size_t)nread;
  settle(c->reading, (int)nread); /* byte count, or UV_EOF or an error */
  c->reading = NULL;
}

static void on_closed(uv_handle_t *h) {
  client_t *c = (client_t *)h;
  if (c->reading != NULL) { /* closed while reading: settle it anyway */
    settle(c->reading, UV_ECANCELED);
    c->reading = NULL;
  }
  settle(h->data, 0);
}

/* Each bridge: make a future, start the libuv request with a callback that
 * settles it, and return the future (already failed if the start failed). */
static uva_future_t *tcp_connect(client_t *c, const struct sockaddr *addr) {
  uva_future_t *f = uva_future_new(c->tcp.loop);
  int err;

  if (uva_future_status(f) != UVA_PENDING)
    return f;
  c->connect.data = f;
  err = uv_tcp_connect(&c->connect, &c->tcp, addr, on_connect);
  if (err != 0)
    uva_future_reject(f, err);
  return f;
}

static uva_future_t *tcp_write(client_t *c, const char *text) {
  uva_future_t *f = uva_future_new(c->tcp.loop);
  uv_buf_t buf = uv_buf_init((char *)text, (unsigned int)strlen(text));
  int err;

  if (uva_future_status(f) != UVA_PENDING)
    return f;
  c->write.data = f;
  err = uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (err != 0)
    uva_future_reject(f, err);
  return f;
}

/* The read bridge's cancel hook: the consumer gave up (here a timeout), so
 * stop libuv's reading now, and settle the future as every producer must. */
static void read_cancelled(uva_future_t *f, void *data) {
  client_t *c = data;

  uv_read_stop((uv_stream_t *)&c->tcp);
  c->reading = NULL;
  c->cancelled_reads++;
  uva_future_reject(f, UV_ECANCELED);
}

static uva_future_t *tcp_read(client_t *c) {
  uva_future_t *f = uva_future_new(c->tcp.loop);
  int err;

  if (uva_future_status(f) != UVA_PENDING)
    return f;
  uva_future_on_cancel(f, read_cancelled, c);
  c->reading = f;
  err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (err != 0) {
    c->reading = NULL;
    uva_future_reject(f, err);
  }
  return f;
}

static uva_future_t *tcp_close(client_t *c) {
  uva_future_t *f = uva_future_new(c->tcp.loop);

  if (uva_future_status(f) != UVA_PENDING) {
    uv_close((uv_handle_t *)&c->tcp, NULL); /* close anyway, unawaited */
    return f;
  }
  c->tcp.data = f;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  return f;
}

/* One connection: send MESSAGE, print the reply line.  With probe, first
 * a read with a 20 ms timeout before anything was sent: it times out, and
 * the bridge's cancel hook stops the read. */
static int exchange(app_t *app, int probe) {
  client_t c;
  int err, close_err;

  memset(&c, 0, sizeof(c));
  err = uv_tcp_init(app->loop, &c.tcp);
  if (err != 0)
    return err;
  err = uva_await(tcp_connect(&c, (struct sockaddr *)&app->addr), NULL);
  if (err == 0 && probe) {
    err = uva_await(uva_timeout(tcp_read(&c), 20), NULL);
    if (err == UV_ETIMEDOUT && c.cancelled_reads == 1 && c.reading == NULL) {
      printf("read timed out after 20 ms; its cancel hook stopped reading\n");
      err = 0;
    } else if (err == 0) {
      err = UV_EPROTO; /* nothing was sent: nothing can come */
    }
  }
  if (err == 0)
    err = uva_await(tcp_write(&c, MESSAGE), NULL);
  /* TCP may split the reply: read up to the newline. */
  while (err == 0 && (c.got == 0 || c.buf[c.got - 1] != '\n'))
    err = c.got < sizeof(c.buf) - 1 ? uva_await(tcp_read(&c), NULL)
                                    : UV_ENOBUFS;
  if (err == 0) {
    c.buf[c.got] = '\0';
    printf("echo: %s", c.buf);
  }
  /* Always close, and wait for it: libuv owns c until on_closed has run. */
  close_err = uva_await(tcp_close(&c), NULL);
  if (close_err != 0 && close_err != UV_ECANCELED)
    err = err != 0 ? err : close_err;
  return err;
}

static int client(void *arg, uva_result_t *result) {
  app_t *app = arg;
  int err;

  (void)result;
  err = exchange(app, 1); /* served by the adopting uva task */
  if (err == 0)
    err = exchange(app, 0); /* served by the program's callbacks */
  return err;
}

/* Called once the join over the three tasks has settled. */
static void on_tasks_done(int status, uva_value_t value, void *data) {
  app_t *app = data;
  int i;

  (void)value;
  for (i = 0; status == 0 && i < 3; i++)
    status = app->results[i].status;
  if (status != 0)
    fprintf(stderr, "tasks: %s\n", uv_strerror(status));
  if (app->fifth_tick != NULL) { /* every producer settles its future */
    uva_future_reject(app->fifth_tick, UV_ECANCELED);
    app->fifth_tick = NULL;
  }
  printf("tasks done, closing the timer and the server\n");
  uv_close((uv_handle_t *)&app->timer, NULL);
  uv_close((uv_handle_t *)&app->server, NULL);
}

int main(void) {
  uv_loop_t loop;
  app_t app;
  struct sockaddr_in any;
  uva_future_t *tasks[3];
  int err, namelen = sizeof(app.addr);

  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }
  memset(&app, 0, sizeof(app));
  app.loop = &loop;

  /* The program's own handles, set up as any libuv program does. */
  uv_timer_init(&loop, &app.timer);
  app.timer.data = &app;
  uv_tcp_init(&loop, &app.server);
  app.server.data = &app;
  uv_ip4_addr("127.0.0.1", 0, &any);
  err = uv_tcp_bind(&app.server, (struct sockaddr *)&any, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&app.server, 8, on_connection);
  if (err == 0)
    err = uv_tcp_getsockname(&app.server, (struct sockaddr *)&app.addr,
                             &namelen);
  if (err == 0)
    err = uv_timer_start(&app.timer, on_tick, 10, 10);
  if (err != 0) {
    fprintf(stderr, "setup: %s\n", uv_strerror(err));
    return 1;
  }

  /* The uva work: three tasks, joined; a callback when all are done. */
  app.fifth_tick = uva_future_new(&loop);
  tasks[0] = uva_spawn(&loop, stepper, &app);
  tasks[1] = uva_spawn(&loop, waiter, app.fifth_tick);
  tasks[2] = uva_spawn(&loop, client, &app);
  err = uva_future_then(uva_join(&loop, tasks, 3, app.results), on_tasks_done,
                        &app);
  if (err != 0) { /* the join could not even start: no callback will come */
    fprintf(stderr, "join: %s\n", uv_strerror(err));
    on_tasks_done(err, (uva_value_t){0}, &app);
  }

  /* The program runs its loop as it always did.  It returns once the timer
   * and the server are closed: uva's own handles never keep it alive. */
  err = uv_run(&loop, UV_RUN_DEFAULT);
  if (err != 0)
    fprintf(stderr, "uv_run: %d\n", err);

  for (int i = 0; i < 3; i++)
    uva_result_free(&app.results[i]);
  err = uv_loop_close(&loop);
  printf("uv_loop_close: %d\n", err);
  return err == 0 ? 0 : 1;
}
