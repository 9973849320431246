/* tcp: a TCP echo server on 127.0.0.1, written with uva (an accept task
 * and a task per connection that reads and writes back) and as a raw libuv
 * callback server (a connection struct with one buffer: read, stop reading,
 * write, read again once the write is done).  The client is the same for
 * both: raw libuv callbacks, in the same process and on the same loop as
 * the server (one thread; the client's cost is in both figures alike).
 *
 *   pingpong conn1/conn100/conn1000: C connections, each sends a 64-byte
 *     message and waits for its echo, n requests in all; per request the
 *     latency from the write to the last byte of the echo (p50, p99);
 *     allocations counted over the second half of the requests.
 *   stream16k: one connection, the client writes 16 KiB chunks (at most 4
 *     ahead) and checks every echoed byte; one op is one 16 KiB chunk.  The
 *     uva server writes with uva_stream_write (which copies), and in
 *     stream16k-bufs with uva_stream_write_bufs from its own buffer.
 *   accept: the client connects n times (64 connects in flight) and closes
 *     each connection once connected; the server accepts and closes.
 *   idle: n connections, each server side waiting in a read (uva: a task
 *     awaiting uva_stream_read with its stream); the resident memory they
 *     add, divided by n, is B/obj (the client's structs are allocated and
 *     touched before the base is taken).
 *
 * Every echoed byte is checked by the client. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <uva.h>

#define MSG_LEN 64
#define CHUNK (16 * 1024)
#define AHEAD 4        /* stream: chunks in flight */
#define CONNECTING 64  /* accept, idle: connects in flight */
#define CLIENT_BUF (64 * 1024)
#define PATTERN 251    /* stream byte k is k % PATTERN */

enum { MODE_PINGPONG, MODE_STREAM, MODE_ACCEPT, MODE_IDLE };

/* The uva server writes with uva_stream_write (copied), or with
 * uva_stream_write_bufs straight from its buffer (NOCOPY). */
#define NOCOPY 0x100

/* ---- the client (raw libuv, shared) --------------------------------------- */

typedef struct client_set cset_t;

typedef struct cconn {
  uv_tcp_t tcp; /* first member */
  uv_connect_t connect;
  uv_write_t wr[AHEAD];
  cset_t *set;
  uint64_t left;      /* pingpong: requests left */
  uint64_t sent_at;   /* pingpong: uv_hrtime of the request's write */
  uint64_t sent, got; /* stream: bytes written, bytes echoed */
  unsigned writing;   /* writes in flight */
  size_t have;        /* pingpong: bytes of the echo so far */
  char out[MSG_LEN];
  char in[MSG_LEN];
} cconn_t;

struct client_set {
  bench_run_t *r;
  uv_loop_t *loop;
  int mode;
  struct sockaddr_storage addr;
  cconn_t *conns;
  size_t nconns;
  uint64_t per_conn;   /* pingpong: requests per connection */
  uint64_t total;      /* operations to do in all */
  uint64_t done;       /* operations done */
  size_t started;      /* accept, idle: connects started */
  size_t connected;    /* idle: connections up */
  size_t closed;       /* connections closed */
  size_t server_ready; /* idle: server sides waiting in a read */
  int sampled;         /* idle: memory measured, closing */
  uint32_t *lat;       /* pingpong: latency of each request, ns */
  char *inbuf;         /* stream: the client's read buffer */
  char *pattern;       /* stream: PATTERN-periodic bytes */
  uv_timer_t settle;   /* idle: lets the last reads start */
  int bad;
  void (*finished)(cset_t *set); /* every client connection is closed */
  void *server;
};

static void cl_closed(uv_handle_t *h) {
  cconn_t *c = (cconn_t *)h;
  cset_t *s = c->set;
  if (++s->closed == s->nconns && s->finished != NULL)
    s->finished(s);
}

static void cl_close(cconn_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, cl_closed);
}

static void cl_fail(cconn_t *c) {
  c->set->bad = 1;
  cl_close(c);
}

static void cl_op_done(cset_t *s) {
  s->done++;
  if (s->done == s->total / 2)
    bench_steady_begin(s->r);
  if (s->done == s->total) {
    bench_steady_end(s->r, s->total - s->total / 2);
    bench_stop(s->r);
  }
}

/* pingpong */

static void pp_written(uv_write_t *req, int status) {
  if (status != 0)
    cl_fail(req->data);
}

static void pp_send(cconn_t *c) {
  uv_buf_t b = uv_buf_init(c->out, MSG_LEN);
  /* Two requests in turn: the previous write's callback may not have run
   * yet when its echo is back. */
  uv_write_t *w = &c->wr[c->left & 1];
  memcpy(c->out, &c->left, sizeof(c->left)); /* a different message each time */
  c->have = 0;
  c->sent_at = uv_hrtime();
  w->data = c;
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, pp_written) != 0)
    cl_fail(c);
}

static void pp_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  cconn_t *c = (cconn_t *)h;
  (void)size;
  *buf = uv_buf_init(c->in + c->have, (unsigned int)(MSG_LEN - c->have));
}

static void pp_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  cconn_t *c = (cconn_t *)st;
  cset_t *s = c->set;
  (void)buf;
  if (nread < 0) {
    cl_fail(c);
    return;
  }
  c->have += (size_t)nread;
  if (c->have < MSG_LEN)
    return;
  if (memcmp(c->in, c->out, MSG_LEN) != 0) {
    cl_fail(c);
    return;
  }
  s->lat[s->done] = (uint32_t)(uv_hrtime() - c->sent_at);
  cl_op_done(s);
  if (--c->left > 0)
    pp_send(c);
  else
    cl_close(c);
}

/* stream */

static void st_write_more(cconn_t *c);

static void st_written(uv_write_t *req, int status) {
  cconn_t *c = req->data;
  c->writing--;
  if (status != 0) {
    cl_fail(c);
    return;
  }
  st_write_more(c);
}

static void st_write_more(cconn_t *c) {
  cset_t *s = c->set;
  uint64_t bytes = s->total * CHUNK;
  while (c->writing < AHEAD && c->sent < bytes &&
         c->sent - c->got < (uint64_t)AHEAD * CHUNK) {
    /* Writes complete in order: the requests are used round robin. */
    uv_write_t *w = &c->wr[(c->sent / CHUNK) % AHEAD];
    uv_buf_t b;
    w->data = c;
    b = uv_buf_init(s->pattern + c->sent % PATTERN, CHUNK);
    c->sent += CHUNK;
    c->writing++;
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, st_written) != 0) {
      c->writing--;
      cl_fail(c);
      return;
    }
  }
}

static void st_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  cconn_t *c = (cconn_t *)h;
  (void)size;
  *buf = uv_buf_init(c->set->inbuf, CLIENT_BUF);
}

static void st_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  cconn_t *c = (cconn_t *)st;
  cset_t *s = c->set;
  uint64_t before;
  if (nread < 0) {
    cl_fail(c);
    return;
  }
  if (memcmp(buf->base, s->pattern + c->got % PATTERN, (size_t)nread) != 0) {
    cl_fail(c);
    return;
  }
  before = c->got / CHUNK;
  c->got += (uint64_t)nread;
  for (uint64_t k = before; k < c->got / CHUNK; k++)
    cl_op_done(s);
  if (c->got == s->total * CHUNK)
    cl_close(c);
  else
    st_write_more(c);
}

/* connecting (every mode) */

static void cl_start_next(cset_t *s);

static void idle_sampled(uv_timer_t *t) {
  cset_t *s = (cset_t *)((char *)t - offsetof(cset_t, settle));
  bench_rss_sample(s->r, s->nconns);
  bench_stop(s->r);
  uv_close((uv_handle_t *)&s->settle, NULL);
  for (size_t i = 0; i < s->nconns; i++)
    cl_close(&s->conns[i]);
}

/* Called by the servers when a connection's server side waits in a read;
 * and by the client when a connection is up. */
static void idle_check(cset_t *s) {
  if (s->mode != MODE_IDLE || s->sampled || s->connected < s->nconns ||
      s->server_ready < s->nconns)
    return;
  s->sampled = 1;
  /* A moment for the last reads to start and settle. */
  uv_timer_init(s->loop, &s->settle);
  uv_timer_start(&s->settle, idle_sampled, 20, 0);
}

static void cl_connected(uv_connect_t *req, int status) {
  cconn_t *c = req->data;
  cset_t *s = c->set;
  if (status != 0) {
    cl_fail(c);
    return;
  }
  switch (s->mode) {
  case MODE_PINGPONG:
    if (uv_read_start((uv_stream_t *)&c->tcp, pp_alloc, pp_read) != 0)
      cl_fail(c);
    else
      pp_send(c);
    break;
  case MODE_STREAM:
    if (uv_read_start((uv_stream_t *)&c->tcp, st_alloc, st_read) != 0)
      cl_fail(c);
    else
      st_write_more(c);
    break;
  case MODE_ACCEPT:
    cl_op_done(s);
    cl_close(c);
    cl_start_next(s);
    break;
  case MODE_IDLE:
    s->connected++;
    cl_start_next(s);
    idle_check(s);
    break;
  }
}

static void cl_connect(cset_t *s, cconn_t *c) {
  c->set = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_tcp_nodelay(&c->tcp, 1);
  c->connect.data = c;
  if (uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&s->addr,
                     cl_connected) != 0)
    cl_fail(c);
}

static void cl_start_next(cset_t *s) {
  if (s->started < s->nconns) {
    cconn_t *c = &s->conns[s->started++];
    cl_connect(s, c);
  }
}

/* Sets the client up (before the timed part); nconns connections. */
static int cl_init(cset_t *s, bench_run_t *r, uv_loop_t *loop, int mode,
                   size_t nconns) {
  memset(s, 0, sizeof(*s));
  s->r = r;
  s->loop = loop;
  s->mode = mode;
  s->nconns = nconns;
  s->conns = bench_calloc(nconns, sizeof(cconn_t));
  if (s->conns == NULL)
    return bench_fail(r, "out of memory");
  memset(s->conns, 0, nconns * sizeof(cconn_t)); /* touched: resident */
  switch (mode) {
  case MODE_PINGPONG:
    s->per_conn = r->n / nconns != 0 ? r->n / nconns : 1;
    s->total = s->per_conn * nconns;
    s->lat = bench_calloc(s->total, sizeof(uint32_t));
    if (s->lat == NULL)
      return bench_fail(r, "out of memory");
    memset(s->lat, 0, s->total * sizeof(uint32_t));
    for (size_t i = 0; i < nconns; i++)
      s->conns[i].left = s->per_conn;
    break;
  case MODE_STREAM:
    s->total = r->n;
    s->inbuf = bench_malloc(CLIENT_BUF);
    s->pattern = bench_malloc(CLIENT_BUF + PATTERN);
    if (s->inbuf == NULL || s->pattern == NULL)
      return bench_fail(r, "out of memory");
    for (size_t k = 0; k < CLIENT_BUF + PATTERN; k++)
      s->pattern[k] = (char)(k % PATTERN);
    break;
  default:
    s->total = nconns;
    break;
  }
  r->ops = s->total;
  return 0;
}

/* Starts the client: every connection at once (pingpong, stream), or
 * CONNECTING in flight (accept, idle). */
static void cl_start(cset_t *s) {
  size_t first = s->nconns;
  if (s->mode == MODE_ACCEPT || s->mode == MODE_IDLE) {
    first = CONNECTING < s->nconns ? CONNECTING : s->nconns;
    if (s->mode == MODE_IDLE)
      bench_rss_base(s->r);
  }
  bench_start(s->r);
  for (size_t i = 0; i < first; i++)
    cl_start_next(s);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int cl_finish(cset_t *s) {
  bench_run_t *r = s->r;
  if (s->bad)
    bench_fail(r, "client: a connection failed or an echo was wrong");
  else if (s->mode != MODE_IDLE && s->done != s->total)
    bench_fail(r, "client: wrong count of operations");
  else if (s->mode == MODE_IDLE && !s->sampled)
    bench_fail(r, "client: idle connections never all waited");
  if (s->lat != NULL && s->done == s->total && s->total > 0) {
    qsort(s->lat, s->total, sizeof(uint32_t), cmp_u32);
    r->p50_ns = s->lat[s->total / 2];
    r->p99_ns = s->lat[s->total - 1 - s->total / 100];
  }
  bench_free(s->lat);
  bench_free(s->inbuf);
  bench_free(s->pattern);
  bench_free(s->conns);
  return r->error == NULL ? 0 : -1;
}

static size_t conns_for(int mode, uint64_t n, size_t conns) {
  if (mode == MODE_ACCEPT || mode == MODE_IDLE)
    return (size_t)n;
  if (mode == MODE_STREAM)
    return 1;
  return conns;
}

static void loopback(struct sockaddr_storage *ss) {
  uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)ss);
}

/* ---- the uva server ------------------------------------------------------- */

#define UVA_BUF 1024 /* the per-connection read buffer of pingpong and idle */

typedef struct {
  uv_loop_t *loop;
  cset_t *cl;
  uva_stream_t *listener;
  int mode;
  int nocopy;
  int failed;
} userver_t;

typedef struct {
  userver_t *srv;
  uva_stream_t *s;
} uconn_arg_t;

/* One connection: read what comes, write it back, until the end. */
static int uva_conn_task(void *arg, uva_result_t *result) {
  userver_t *srv = ((uconn_arg_t *)arg)->srv;
  uva_stream_t *s = ((uconn_arg_t *)arg)->s;
  char small[UVA_BUF];
  char *buf = small;
  size_t len = sizeof(small);
  uva_value_t v;
  int err;

  (void)result;
  bench_free(arg);
  if (srv->mode == MODE_STREAM) {
    len = CHUNK;
    buf = bench_malloc(len);
    if (buf == NULL) {
      uva_stream_free(s);
      return UV_ENOMEM;
    }
  }
  for (;;) {
    if (srv->mode == MODE_IDLE) {
      srv->cl->server_ready++;
      idle_check(srv->cl);
    }
    err = uva_await(uva_stream_read(s, buf, len), &v);
    if (err != 0)
      break;
    if (srv->nocopy) {
      uv_buf_t b = uv_buf_init(buf, (unsigned int)v.u64);
      err = uva_await(uva_stream_write_bufs(s, &b, 1, NULL, NULL), NULL);
    } else {
      err = uva_await(uva_stream_write(s, buf, (size_t)v.u64), NULL);
    }
    if (err != 0)
      break;
  }
  if (err != UV_EOF && err != UV_ECONNRESET)
    srv->failed = 1;
  if (buf != small)
    bench_free(buf);
  uva_stream_free(s);
  return 0;
}

/* Accepts until cancelled; a task per connection (accept mode: closes it). */
static int uva_accept_task(void *arg, uva_result_t *result) {
  userver_t *srv = arg;
  uva_value_t v;
  int err;

  (void)result;
  while ((err = uva_await(uva_stream_accept(srv->listener), &v)) == 0) {
    uconn_arg_t *ca;
    if (srv->mode == MODE_ACCEPT) {
      uva_stream_free(v.ptr);
      continue;
    }
    ca = bench_malloc(sizeof(*ca));
    if (ca == NULL) {
      uva_stream_free(v.ptr);
      srv->failed = 1;
      continue;
    }
    ca->srv = srv;
    ca->s = v.ptr;
    uva_tcp_nodelay(ca->s, 1);
    uva_future_detach(uva_spawn(srv->loop, uva_conn_task, ca));
  }
  uva_stream_free(srv->listener);
  srv->listener = NULL;
  return err == UV_ECANCELED ? 0 : err;
}

static void uva_client_finished(cset_t *s) {
  uva_future_resolve_u64(s->server, 0);
}

static int tcp_uva(bench_run_t *r, int mode, size_t conns) {
  uv_loop_t loop;
  cset_t cl;
  userver_t srv;
  struct sockaddr_storage any;
  uva_future_t *acc, *done;
  int err;

  memset(&srv, 0, sizeof(srv));
  srv.nocopy = (mode & NOCOPY) != 0;
  mode &= ~NOCOPY;
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (cl_init(&cl, r, &loop, mode, conns_for(mode, r->n, conns)) != 0)
    goto out;
  srv.loop = &loop;
  srv.cl = &cl;
  srv.mode = mode;
  loopback(&any);
  err = uva_tcp_listen(&loop, (struct sockaddr *)&any, 4096, 0, &srv.listener);
  if (err == 0)
    err = uva_stream_sockname(srv.listener, &cl.addr);
  if (err != 0) {
    uva_stream_free(srv.listener);
    bench_fail(r, "uva_tcp_listen");
    goto out;
  }
  done = uva_future_new(&loop);
  cl.server = done;
  cl.finished = uva_client_finished;
  acc = uva_spawn(&loop, uva_accept_task, &srv);
  cl_start(&cl);
  err = uva_block_on(&loop, done, NULL);
  if (err != 0)
    bench_fail(r, "uva_block_on (client)");
  uva_future_cancel(acc);
  err = uva_block_on(&loop, acc, NULL);
  if (err != 0 && err != UV_ECANCELED)
    bench_fail(r, "the accept task failed");
  /* The connection tasks end on their own once they read the end. */
  uv_run(&loop, UV_RUN_DEFAULT);
  if (srv.failed)
    bench_fail(r, "a server connection failed");
out:
  cl_finish(&cl);
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- the raw libuv server -------------------------------------------------- */

typedef struct {
  uv_tcp_t listener;
  uv_loop_t *loop;
  cset_t *cl;
  int mode;
  int failed;
} rserver_t;

typedef struct {
  uv_tcp_t tcp; /* first member */
  uv_write_t wr;
  rserver_t *srv;
  size_t cap;
  char buf[];
} rconn_t;

static void raw_free_cb(uv_handle_t *h) { bench_free(h); }

static void raw_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void raw_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf) {
  rconn_t *c = (rconn_t *)h;
  (void)size;
  *buf = uv_buf_init(c->buf, (unsigned int)c->cap);
}

static void raw_written(uv_write_t *req, int status) {
  rconn_t *c = (rconn_t *)((char *)req - offsetof(rconn_t, wr));
  if (status != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_read) != 0) {
    c->srv->failed = 1;
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
  }
}

static void raw_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  rconn_t *c = (rconn_t *)st;
  uv_buf_t b;
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    if (nread != UV_EOF && nread != UV_ECONNRESET)
      c->srv->failed = 1;
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
    return;
  }
  uv_read_stop(st);
  b = uv_buf_init(c->buf, (unsigned int)nread);
  if (uv_write(&c->wr, st, &b, 1, raw_written) != 0) {
    c->srv->failed = 1;
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
  }
}

static void raw_connection(uv_stream_t *l, int status) {
  rserver_t *srv = (rserver_t *)l;
  size_t cap = srv->mode == MODE_STREAM ? CHUNK : UVA_BUF;
  rconn_t *c;

  if (status != 0) {
    srv->failed = 1;
    return;
  }
  c = bench_malloc(sizeof(*c) + (srv->mode == MODE_ACCEPT ? 0 : cap));
  if (c == NULL) {
    srv->failed = 1;
    return;
  }
  c->srv = srv;
  c->cap = cap;
  uv_tcp_init(srv->loop, &c->tcp);
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    srv->failed = 1;
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
    return;
  }
  if (srv->mode == MODE_ACCEPT) {
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_read) != 0) {
    srv->failed = 1;
    uv_close((uv_handle_t *)&c->tcp, raw_free_cb);
    return;
  }
  if (srv->mode == MODE_IDLE) {
    srv->cl->server_ready++;
    idle_check(srv->cl);
  }
}

static void raw_client_finished(cset_t *s) {
  rserver_t *srv = s->server;
  uv_close((uv_handle_t *)&srv->listener, NULL);
}

static int tcp_raw(bench_run_t *r, int mode, size_t conns) {
  uv_loop_t loop;
  cset_t cl;
  rserver_t srv;
  struct sockaddr_storage any;
  int err, len = sizeof(cl.addr);

  memset(&srv, 0, sizeof(srv));
  if (bench_loop_init(r, &loop) != 0)
    return -1;
  if (cl_init(&cl, r, &loop, mode, conns_for(mode, r->n, conns)) != 0)
    goto out;
  srv.loop = &loop;
  srv.cl = &cl;
  srv.mode = mode;
  loopback(&any);
  uv_tcp_init(&loop, &srv.listener);
  err = uv_tcp_bind(&srv.listener, (struct sockaddr *)&any, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&srv.listener, 4096, raw_connection);
  if (err == 0)
    err = uv_tcp_getsockname(&srv.listener, (struct sockaddr *)&cl.addr, &len);
  if (err != 0) {
    uv_close((uv_handle_t *)&srv.listener, NULL);
    bench_fail(r, "raw listen");
    goto out;
  }
  cl.server = &srv;
  cl.finished = raw_client_finished;
  cl_start(&cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (srv.failed)
    bench_fail(r, "a server connection failed");
out:
  cl_finish(&cl);
  return bench_loop_close(r, &loop) == 0 && r->error == NULL ? 0 : -1;
}

/* ---- cases ------------------------------------------------------------------ */

static int pp1_uva(bench_run_t *r) { return tcp_uva(r, MODE_PINGPONG, 1); }
static int pp1_raw(bench_run_t *r) { return tcp_raw(r, MODE_PINGPONG, 1); }
static int pp100_uva(bench_run_t *r) { return tcp_uva(r, MODE_PINGPONG, 100); }
static int pp100_raw(bench_run_t *r) { return tcp_raw(r, MODE_PINGPONG, 100); }
static int pp1k_uva(bench_run_t *r) { return tcp_uva(r, MODE_PINGPONG, 1000); }
static int pp1k_raw(bench_run_t *r) { return tcp_raw(r, MODE_PINGPONG, 1000); }
static int stream_uva(bench_run_t *r) { return tcp_uva(r, MODE_STREAM, 1); }
static int stream_raw(bench_run_t *r) { return tcp_raw(r, MODE_STREAM, 1); }
static int stream_nc_uva(bench_run_t *r) {
  return tcp_uva(r, MODE_STREAM | NOCOPY, 1);
}
static int accept_uva(bench_run_t *r) { return tcp_uva(r, MODE_ACCEPT, 0); }
static int accept_raw(bench_run_t *r) { return tcp_raw(r, MODE_ACCEPT, 0); }
static int idle_uva(bench_run_t *r) { return tcp_uva(r, MODE_IDLE, 0); }
static int idle_raw(bench_run_t *r) { return tcp_raw(r, MODE_IDLE, 0); }

/* Targets: ping-pong at 100 and 1,000 connections >= 0.9x raw's requests/s
 * (time ratio <= 1/0.9), streaming >= 0.95x, no allocation per request in
 * the steady state, < 10 KiB per idle connection. */
const bench_case_t bench_tcp_cases[] = {
    {"tcp", "pingpong1", 100000, 200, pp1_uva, pp1_raw, "request", NULL,
     {0, 0, 0, 0}},
    {"tcp", "pingpong100", 200000, 400, pp100_uva, pp100_raw, "request", NULL,
     {1.0 / 0.9, 0, 0, 0}},
    {"tcp", "pingpong1000", 200000, 1000, pp1k_uva, pp1k_raw, "request", NULL,
     {1.0 / 0.9, 0, 0, 0}},
    {"tcp", "stream16k", 50000, 64, stream_uva, stream_raw, "16 KiB chunk",
     NULL, {1.0 / 0.95, 0, 0, 0}},
    {"tcp", "stream16k-bufs", 50000, 64, stream_nc_uva, stream_raw,
     "16 KiB chunk", NULL, {1.0 / 0.95, 0, 0, 0}},
    {"tcp", "accept", 20000, 100, accept_uva, accept_raw, "connection", NULL,
     {0, 0, 0, -1}},
    {"tcp", "idle", 5000, 100, idle_uva, idle_raw, "connection",
     "idle connection", {0, 0, 10240, -1}},
    {0},
};
