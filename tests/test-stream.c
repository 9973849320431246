/* Streams in general (over socketpairs opened with uva_stream_open, and TCP
 * for adoption): cancel safety of reads (every byte once, in order, through
 * selects, timeouts, cancelled joins), partial read_exact and read_until
 * cancelled then resumed, read_until's limit and its last line, zero-copy
 * writes, freeing with operations pending, adoption and release, and that
 * an idle stream does not keep uv_run alive. */
#include "test-util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

size_t uva__stream_buffered(const uva_stream_t *s);

static int small(void) { return getenv("UVA_TEST_SMALL") != NULL; }

/* Two connected streams over a socketpair; or one stream and the raw peer
 * descriptor when b is NULL. */
static int pair(uv_loop_t *loop, uva_stream_t **a, uva_stream_t **b) {
  int fd[2];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  ck_assert_int_eq(uva_stream_open(loop, fd[0], a), 0);
  if (b == NULL)
    return fd[1];
  ck_assert_int_eq(uva_stream_open(loop, fd[1], b), 0);
  return -1;
}

/* ---- every byte once, in order ------------------------------------------ */

typedef struct {
  uv_loop_t *loop;
  uva_stream_t *r, *w;
  size_t total;
  size_t got;
  unsigned seed;
  int cancels;
} numbered_t;

static unsigned rnd(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (*seed >> 16) & 0x7fff;
}

static int numbered_writer(void *arg, uva_result_t *res) {
  numbered_t *c = arg;
  unsigned seed = 7;
  static unsigned char buf[4096];
  size_t off = 0, i;
  (void)res;
  while (off < c->total) {
    size_t n = 1 + rnd(&seed) % sizeof buf;
    if (n > c->total - off)
      n = c->total - off;
    for (i = 0; i < n; i++)
      buf[i] = (unsigned char)((off + i) % 251);
    ck_assert_int_eq(uva_await(uva_stream_write(c->w, buf, n), NULL), 0);
    off += n;
    if (rnd(&seed) % 4 == 0)
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, rnd(&seed) % 2), NULL),
                       0);
  }
  uva_stream_free(c->w);
  return 0;
}

static void check_bytes(numbered_t *c, const unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != (c->got + i) % 251)
      ck_abort_msg("byte %zu is %u, not %zu", c->got + i, p[i],
                   (c->got + i) % 251);
  c->got += n;
}

static int numbered_reader(void *arg, uva_result_t *res) {
  numbered_t *c = arg;
  unsigned char buf[512];
  uva_value_t v;
  uva_result_t win;
  int eof = 0;
  (void)res;
  while (!eof) {
    unsigned how = rnd(&c->seed) % 5;
    size_t k = 1 + rnd(&c->seed) % sizeof buf;
    uva_future_t *f[2];
    int err;
    if (how == 0) { /* select(read, sleep) */
      f[0] = uva_stream_read(c->r, buf, k);
      f[1] = uva_sleep(c->loop, rnd(&c->seed) % 2);
      ck_assert_int_eq(uva_await(uva_select(c->loop, f, 2, &win), &v), 0);
      if (v.u64 == 1) {
        c->cancels++;
        continue;
      }
      if (win.status == UV_EOF)
        eof = 1;
      else {
        ck_assert_int_eq(win.status, 0);
        check_bytes(c, buf, win.value.u64);
      }
    } else if (how == 1) { /* timeout(read_exact) */
      err = uva_await(uva_timeout(uva_stream_read_exact(c->r, buf, k),
                                  rnd(&c->seed) % 2),
                      &v);
      if (err == UV_ETIMEDOUT) {
        c->cancels++;
        continue;
      }
      if (err == UV_EOF)
        continue; /* the partial bytes stay: plain reads get them */
      ck_assert_int_eq(err, 0);
      check_bytes(c, buf, k);
    } else if (how == 2) { /* select(read_until, sleep) */
      f[0] = uva_stream_read_until(c->r, 250, 300);
      f[1] = uva_sleep(c->loop, rnd(&c->seed) % 2);
      ck_assert_int_eq(uva_await(uva_select(c->loop, f, 2, &win), &v), 0);
      if (v.u64 == 1) {
        c->cancels++;
        continue;
      }
      if (win.status == UV_EOF)
        eof = 1;
      else {
        uva_buf_t *b = win.value.ptr;
        ck_assert_int_eq(win.status, 0);
        check_bytes(c, (unsigned char *)b->base, b->len);
        uva_result_free(&win);
      }
    } else if (how == 3) { /* a join cancelled after its read completed */
      uva_result_t r2[2];
      uva_future_t *j;
      then_rec rec;
      memset(&rec, 0, sizeof rec);
      f[0] = uva_stream_read(c->r, buf, k);
      f[1] = uva_sleep(c->loop, 1000);
      j = uva_join(c->loop, f, 2, r2);
      ck_assert_int_eq(uva_future_then(j, record, &rec), 0);
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, rnd(&c->seed) % 2), NULL),
                       0);
      uva_future_cancel(j); /* the read's bytes go back to the stream */
      c->cancels++;
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, 0), NULL), 0);
      ck_assert_int_eq(rec.calls, 1);
      ck_assert_int_eq(rec.status, UV_ECANCELED);
    } else { /* plain read */
      err = uva_await(uva_stream_read(c->r, buf, k), &v);
      if (err == UV_EOF)
        eof = 1;
      else {
        ck_assert_int_eq(err, 0);
        check_bytes(c, buf, v.u64);
      }
    }
  }
  return 0;
}

START_TEST(every_byte_once_in_order) {
  LOOP_INIT(loop);
  numbered_t c;
  uva_future_t *f[2];
  uva_result_t res[2];
  memset(&c, 0, sizeof c);
  c.loop = loop;
  c.total = small() ? 100000 : 2000000;
  c.seed = 12345;
  pair(loop, &c.r, &c.w);
  f[0] = uva_spawn(loop, numbered_reader, &c);
  f[1] = uva_spawn(loop, numbered_writer, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, f, 2, res), NULL), 0);
  ck_assert_int_eq(res[0].status, 0);
  ck_assert_int_eq(res[1].status, 0);
  ck_assert_uint_eq(c.got, c.total);
  ck_assert_int_gt(c.cancels, 0);
  printf("every_byte_once_in_order: %zu bytes, %d reads cancelled or "
         "undone\n",
         c.got, c.cancels);
  uva_stream_free(c.r);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- partial reads cancelled, then resumed ------------------------------- */

START_TEST(partial_read_exact_resumed) {
  LOOP_INIT(loop);
  uva_stream_t *s;
  int peer = pair(loop, &s, NULL);
  char buf[16];
  uva_value_t v;
  ck_assert_int_eq(write(peer, "01234", 5), 5);
  ck_assert_int_eq(uva_block_on(loop,
                                uva_timeout(uva_stream_read_exact(s, buf, 10),
                                            30),
                                NULL),
                   UV_ETIMEDOUT);
  ck_assert_uint_eq(uva__stream_buffered(s), 5); /* kept */
  ck_assert_int_eq(write(peer, "56789", 5), 5);
  memset(buf, 0, sizeof buf);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(s, buf, 10), &v),
                   0);
  ck_assert_uint_eq(v.u64, 10);
  ck_assert_str_eq(buf, "0123456789");
  /* EOF in the middle: UV_EOF, and the partial bytes stay for a read */
  ck_assert_int_eq(write(peer, "ab", 2), 2);
  close(peer);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(s, buf, 10), &v),
                   UV_EOF);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(s, buf, 10), &v), 0);
  ck_assert_uint_eq(v.u64, 2);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(s, buf, 10), &v),
                   UV_EOF);
  uva_stream_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(partial_read_until_resumed) {
  LOOP_INIT(loop);
  then_rec rec = {0, 0, {0}, 0};
  uva_stream_t *s;
  int peer = pair(loop, &s, NULL);
  uva_value_t v;
  uva_buf_t *b;
  uva_future_t *f;
  ck_assert_int_eq(write(peer, "abc", 3), 3);
  ck_assert_int_eq(
      uva_block_on(loop, uva_timeout(uva_stream_read_until(s, '\n', 100), 30),
                   NULL),
      UV_ETIMEDOUT);
  /* cancelled directly, too */
  f = uva_stream_read_until(s, '\n', 100);
  ck_assert_int_eq(uva_future_then(f, record, &rec), 0);
  ck_assert_int_eq(uva_future_cancel(f), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(write(peer, "def\nxyz", 7), 7);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(s, '\n', 100),
                                &v),
                   0);
  b = v.ptr;
  ck_assert_str_eq(b->base, "abcdef\n");
  ck_assert_uint_eq(b->len, 7);
  uva_buf_free(b);
  close(peer);
  /* the last line has no delimiter: it comes as it is, then UV_EOF */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(s, '\n', 100),
                                &v),
                   0);
  b = v.ptr;
  ck_assert_str_eq(b->base, "xyz");
  uva_buf_free(b);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(s, '\n', 100),
                                &v),
                   UV_EOF);
  uva_stream_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(read_until_enobufs) {
  LOOP_INIT(loop);
  uva_stream_t *s;
  int peer = pair(loop, &s, NULL);
  uva_value_t v;
  char buf[32];
  ck_assert_int_eq(write(peer, "0123456789", 10), 10);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_until(s, '\n', 5), &v),
                   UV_ENOBUFS);
  /* the bytes stay in the stream */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(s, buf, 10), &v),
                   0);
  ck_assert(memcmp(buf, "0123456789", 10) == 0);
  close(peer);
  uva_stream_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

/* A read that completed inside a join that is then cancelled gives its bytes
 * back (undo); so does an accepted-and-dropped select winner's sibling. */
START_TEST(completed_read_given_back) {
  LOOP_INIT(loop);
  uva_stream_t *s;
  int peer = pair(loop, &s, NULL);
  char buf[8] = {0}, buf2[8] = {0};
  uva_future_t *f[2], *j;
  uva_result_t r[2];
  uva_value_t v;
  then_rec rec;
  memset(&rec, 0, sizeof rec);
  ck_assert_int_eq(write(peer, "abcd", 4), 4);
  f[0] = uva_stream_read(s, buf, 4);
  f[1] = uva_sleep(loop, 10000);
  j = uva_join(loop, f, 2, r);
  ck_assert_int_eq(uva_future_then(j, record, &rec), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 20), NULL), 0);
  ck_assert_int_eq(uva_future_cancel(j), 0);
  ck_assert_uint_eq(uva__stream_buffered(s), 4);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(s, buf2, 8), &v), 0);
  ck_assert_uint_eq(v.u64, 4);
  ck_assert_str_eq(buf2, "abcd");
  /* a read freed before it started had no effect */
  ck_assert_int_eq(write(peer, "e", 1), 1);
  uva_future_free(uva_stream_read(s, buf, 1));
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(s, buf2, 8), &v), 0);
  ck_assert_int_eq(buf2[0], 'e');
  close(peer);
  uva_stream_free(s);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- writes --------------------------------------------------------------- */

static int done_calls;
static void on_done(void *arg) {
  ck_assert_ptr_eq(arg, &done_calls);
  done_calls++;
}

START_TEST(write_bufs_done_once) {
  LOOP_INIT(loop);
  uva_stream_t *a, *b;
  uv_buf_t bufs[3];
  char got[16] = {0};
  uva_value_t v;
  pair(loop, &a, &b);
  done_calls = 0;
  bufs[0] = uv_buf_init("one ", 4);
  bufs[1] = uv_buf_init("two ", 4);
  bufs[2] = uv_buf_init("three", 5);
  ck_assert_int_eq(uva_block_on(loop,
                                uva_stream_write_bufs(a, bufs, 3, on_done,
                                                      &done_calls),
                                &v),
                   0);
  ck_assert_uint_eq(v.u64, 13);
  ck_assert_int_eq(done_calls, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(b, got, 13), NULL),
                   0);
  ck_assert_str_eq(got, "one two three");
  /* never started: freed, done still called once, nothing written */
  uva_future_free(uva_stream_write_bufs(a, bufs, 1, on_done, &done_calls));
  ck_assert_int_eq(done_calls, 2);
  /* refused: done called at once */
  uva_future_free(uva_stream_write_bufs(a, NULL, 1, on_done, &done_calls));
  ck_assert_int_eq(done_calls, 3);
  /* detached: written anyway, in order */
  uva_future_detach(uva_stream_write(a, "x", 1));
  uva_future_detach(uva_stream_write_bufs(a, bufs, 1, on_done, &done_calls));
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(b, got, 5), NULL),
                   0);
  ck_assert(memcmp(got, "xone ", 5) == 0);
  ck_assert_int_eq(done_calls, 4);
  uva_stream_free(a);
  uva_stream_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* Started writes far above the high-water mark wait in uva's queue; one
 * cancelled there is never written; the others go out in order. */
#define NBLOCKS 64
#define BLOCK 65536

START_TEST(writes_wait_in_order) {
  LOOP_INIT(loop);
  uva_stream_t *w, *rd;
  uva_future_t *f[NBLOCKS];
  then_rec rec[NBLOCKS];
  static char block[BLOCK], got[BLOCK];
  int i, cancelled = 40;
  memset(rec, 0, sizeof rec);
  pair(loop, &w, &rd);
  for (i = 0; i < NBLOCKS; i++) {
    memset(block, 'a' + i % 26, sizeof block);
    f[i] = uva_stream_write(w, block, sizeof block);
    ck_assert_int_eq(uva_future_then(f[i], record, &rec[i]), 0);
  }
  ck_assert_int_eq(uva_future_status(f[cancelled]), UVA_PENDING);
  ck_assert_int_eq(uva_future_cancel(f[cancelled]), 0);
  uva_future_free(uva_stream_write(w, "never", 5)); /* never started */
  for (i = 0; i < NBLOCKS; i++) {
    if (i == cancelled)
      continue;
    ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(rd, got, BLOCK),
                                  NULL),
                     0);
    ck_assert_int_eq(got[0], 'a' + i % 26);
    ck_assert_int_eq(got[BLOCK - 1], 'a' + i % 26);
  }
  uva_stream_free(w);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(rd, got, 1), NULL),
                   UV_EOF);
  for (i = 0; i < NBLOCKS; i++) {
    ck_assert_int_eq(rec[i].calls, 1);
    ck_assert_int_eq(rec[i].status, i == cancelled ? UV_ECANCELED : 0);
  }
  uva_stream_free(rd);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_with_operations_pending) {
  LOOP_INIT(loop);
  uva_stream_t *a, *b;
  char buf[4];
  uva_future_t *rd, *cl;
  then_rec rec;
  memset(&rec, 0, sizeof rec);
  pair(loop, &a, &b);
  rd = uva_stream_read(a, buf, sizeof buf);
  ck_assert_int_eq(uva_future_then(rd, record, &rec), 0);
  uva_stream_free(a);
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, 1), NULL), 0);
  ck_assert_int_eq(rec.calls, 1);
  ck_assert_int_eq(rec.status, UV_ECANCELED);
  /* close settles once libuv has closed the handle */
  cl = uva_stream_close(b);
  ck_assert_int_eq(uva_block_on(loop, cl, NULL), 0);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- the contract ------------------------------------------------------- */

START_TEST(idle_stream_does_not_keep_loop) {
  LOOP_INIT(loop);
  uva_stream_t *a, *b;
  char buf[4];
  pair(loop, &a, &b);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(b, "hi", 2), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read(a, buf, 4), NULL), 0);
  /* a is reading (its buffer may fill), but nothing waits: uv_run returns */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  uva_stream_free(a);
  uva_stream_free(b);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- adoption ------------------------------------------------------------- */

static int sentinel;
static char collected[64];
static size_t ncollected;
static int accepted;
static uv_tcp_t conn;

static void on_conn(uv_stream_t *server, int status) {
  ck_assert_int_eq(status, 0);
  uv_tcp_init(server->loop, &conn);
  conn.data = &sentinel;
  ck_assert_int_eq(uv_accept(server, (uv_stream_t *)&conn), 0);
  accepted = 1;
}

static void my_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  static char slab[256];
  (void)n;
  ck_assert_ptr_eq(h->data, &sentinel);
  *buf = uv_buf_init(slab, sizeof slab);
}

static void my_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf) {
  ck_assert_ptr_eq(h->data, &sentinel);
  if (n > 0) {
    ck_assert_uint_le(ncollected + (size_t)n, sizeof collected);
    memcpy(collected + ncollected, buf->base, (size_t)n);
    ncollected += (size_t)n;
  }
}

START_TEST(adopt_and_release) {
  LOOP_INIT(loop);
  uv_tcp_t server;
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  int len = sizeof ss, i;
  uva_stream_t *c, *s, *s2;
  uv_stream_t *h;
  uva_buf_t *rest;
  uva_value_t v;
  char buf[16] = {0}, all[64] = {0};
  accepted = 0;
  ncollected = 0;
  /* the program's own server, with its own callbacks */
  uv_tcp_init(loop, &server);
  server.data = &sentinel;
  uv_ip4_addr("127.0.0.1", 0, &a);
  ck_assert_int_eq(uv_tcp_bind(&server, (struct sockaddr *)&a, 0), 0);
  ck_assert_int_eq(uv_listen((uv_stream_t *)&server, 8, on_conn), 0);
  ck_assert_int_eq(uv_tcp_getsockname(&server, (struct sockaddr *)&ss, &len),
                   0);
  ck_assert_int_eq(uva_block_on(loop, uva_tcp_connect(loop,
                                                      (struct sockaddr *)&ss),
                                &v),
                   0);
  c = v.ptr;
  for (i = 0; i < 1000 && !accepted; i++)
    uv_run(loop, UV_RUN_ONCE);
  ck_assert(accepted);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(c, "hello world", 11),
                                NULL),
                   0);
  /* a listener cannot be adopted; the connection can, once */
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)&server, &s2), UV_EINVAL);
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)&conn, &s), 0);
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)&conn, &s2), UV_EBUSY);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(s, buf, 6), NULL),
                   0);
  ck_assert_str_eq(buf, "hello ");
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(s, "ack", 3), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_read_exact(c, buf, 3), NULL),
                   0);
  ck_assert(memcmp(buf, "ack", 3) == 0);
  ck_assert_int_eq(uva_stream_peername(s, &ss), 0);
  ck_assert_int_eq(uva_stream_release(s, &h, &rest), 0);
  ck_assert_ptr_eq(h, (uv_stream_t *)&conn);
  ck_assert_ptr_eq(conn.data, &sentinel);
  if (rest != NULL) {
    memcpy(all, rest->base, rest->len);
    uva_buf_free(rest);
  }
  /* the program reads the rest with its own callbacks */
  ck_assert_int_eq(uva_block_on(loop, uva_stream_write(c, "!more", 5), NULL),
                   0);
  ck_assert_int_eq(uv_read_start(h, my_alloc, my_read), 0);
  for (i = 0; i < 1000 && strlen(all) + ncollected < 10; i++)
    uv_run(loop, UV_RUN_ONCE);
  memcpy(all + strlen(all), collected, ncollected);
  ck_assert_str_eq(all, "world!more");
  ck_assert_ptr_eq(conn.data, &sentinel);
  ck_assert_ptr_eq(server.data, &sentinel);
  uv_read_stop(h);
  uv_close((uv_handle_t *)&conn, NULL);
  uv_close((uv_handle_t *)&server, NULL);
  uva_stream_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* uva_stream_close on an adopted handle closes it; its memory is the
 * program's again once the future settles. */
START_TEST(close_adopted) {
  LOOP_INIT(loop);
  int fd[2];
  uv_pipe_t *h = malloc(sizeof *h);
  uva_stream_t *s;
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  uv_pipe_init(loop, h, 0);
  h->data = &sentinel;
  ck_assert_int_eq(uv_pipe_open(h, fd[0]), 0);
  ck_assert_int_eq(uva_stream_adopt((uv_stream_t *)h, &s), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_stream_close(s), NULL), 0);
  ck_assert(uv_is_closing((uv_handle_t *)h));
  ck_assert_ptr_eq(h->data, &sentinel);
  free(h);
  close(fd[1]);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("stream");
  TCase *tc = tcase_create("stream");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, every_byte_once_in_order);
  tcase_add_test(tc, partial_read_exact_resumed);
  tcase_add_test(tc, partial_read_until_resumed);
  tcase_add_test(tc, read_until_enobufs);
  tcase_add_test(tc, completed_read_given_back);
  tcase_add_test(tc, write_bufs_done_once);
  tcase_add_test(tc, writes_wait_in_order);
  tcase_add_test(tc, free_with_operations_pending);
  tcase_add_test(tc, idle_stream_does_not_keep_loop);
  tcase_add_test(tc, adopt_and_release);
  tcase_add_test(tc, close_adopted);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
