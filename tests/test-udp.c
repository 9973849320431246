/* UDP sockets: echo over loopback, lazy sends, cancel-safe receives (timeout
 * and select lose no datagram), the bounded queue, options, bad input, and
 * the contract (an idle socket never keeps uv_run alive). */
#include "test-util.h"

#include <arpa/inet.h>
#include <stdio.h>

static int small(void) { return getenv("UVA_TEST_SMALL") != NULL; }

static struct sockaddr_in any4(void) {
  struct sockaddr_in a;
  ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  return a;
}

/* A socket bound to 127.0.0.1 on a port the kernel picks; its address. */
static uva_udp_t *bind4(uv_loop_t *loop, struct sockaddr_storage *addr) {
  struct sockaddr_in a = any4();
  uva_udp_t *u;
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, &u), 0);
  ck_assert_ptr_nonnull(u);
  if (addr != NULL)
    ck_assert_int_eq(uva_udp_sockname(u, addr), 0);
  return u;
}

static uint16_t port_of(const struct sockaddr_storage *s) {
  return ntohs(((const struct sockaddr_in *)s)->sin_port);
}

/* Sends n 4-byte numbered datagrams from..from+n-1 (awaited one by one,
 * from a task or with block_on). */
static void send_numbers(uv_loop_t *loop, uva_udp_t *u,
                         const struct sockaddr_storage *to, uint32_t from,
                         uint32_t n) {
  uint32_t i;
  for (i = from; i < from + n; i++) {
    uva_value_t v;
    uva_future_t *f = uva_udp_send(u, &i, sizeof(i), (const struct sockaddr *)to);
    int err = uva_in_task() ? uva_await(f, &v) : uva_block_on(loop, f, &v);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(v.u64, sizeof(i));
  }
}

/* Lets the loop run for ms (datagrams in flight arrive). */
static void settle_for(uv_loop_t *loop, uint64_t ms) {
  ck_assert_int_eq(uva_block_on(loop, uva_sleep(loop, ms), NULL), 0);
}

/* ---- echo ----------------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  uva_udp_t *server, *client;
  struct sockaddr_storage saddr, caddr;
  int rounds;
} echo_ctx;

static int echo_server(void *arg, uva_result_t *res) {
  echo_ctx *c = arg;
  char buf[64];
  struct sockaddr_storage from;
  uva_value_t v;
  int i;
  (void)res;
  for (i = 0; i < c->rounds; i++) {
    ck_assert_int_eq(uva_await(uva_udp_recv(c->server, buf, sizeof(buf), &from), &v), 0);
    ck_assert_uint_le(v.u64, sizeof(buf));
    ck_assert_uint_eq(port_of(&from), port_of(&c->caddr));
    ck_assert_int_eq(uva_await(uva_udp_send(c->server, buf, v.u64,
                                            (struct sockaddr *)&from), NULL), 0);
  }
  return 0;
}

static int echo_client(void *arg, uva_result_t *res) {
  echo_ctx *c = arg;
  char msg[32], buf[64];
  struct sockaddr_storage from;
  uva_value_t v;
  int i;
  (void)res;
  for (i = 0; i < c->rounds; i++) {
    int n = snprintf(msg, sizeof(msg), "ping %d", i);
    ck_assert_int_eq(uva_await(uva_udp_send(c->client, msg, (size_t)n,
                                            (struct sockaddr *)&c->saddr), &v), 0);
    ck_assert_uint_eq(v.u64, (uint64_t)n);
    ck_assert_int_eq(uva_await(uva_udp_recv(c->client, buf, sizeof(buf), &from), &v), 0);
    ck_assert_uint_eq(v.u64, (uint64_t)n);
    ck_assert(memcmp(buf, msg, (size_t)n) == 0);
    ck_assert_uint_eq(port_of(&from), port_of(&c->saddr));
  }
  return 0;
}

START_TEST(echo) {
  LOOP_INIT(loop);
  echo_ctx c;
  uva_future_t *fs[2];
  uva_result_t r[2];
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  c.rounds = 100;
  c.server = bind4(loop, &c.saddr);
  c.client = bind4(loop, &c.caddr);
  ck_assert_uint_ne(port_of(&c.saddr), 0);
  fs[0] = uva_spawn(loop, echo_server, &c);
  fs[1] = uva_spawn(loop, echo_client, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, r), NULL), 0);
  ck_assert_int_eq(r[0].status, 0);
  ck_assert_int_eq(r[1].status, 0);
  uva_udp_free(c.server);
  uva_udp_free(c.client);
  LOOP_CLOSE(loop);
}
END_TEST

/* IPv6 loopback, when the machine has it. */
START_TEST(echo_ipv6) {
  LOOP_INIT(loop);
  struct sockaddr_in6 a;
  struct sockaddr_storage sa;
  uva_udp_t *s, *c;
  char buf[8];
  uva_value_t v;
  int err;
  ck_assert_int_eq(uv_ip6_addr("::1", 0, &a), 0);
  err = uva_udp_bind(loop, (struct sockaddr *)&a, UVA_UDP_IPV6ONLY, &s);
  if (err == UV_EADDRNOTAVAIL || err == UV_EAFNOSUPPORT) {
    LOOP_CLOSE(loop); /* no IPv6 here */
    return;
  }
  ck_assert_int_eq(err, 0);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, &c), 0);
  ck_assert_int_eq(uva_udp_sockname(s, &sa), 0);
  ck_assert_int_eq(sa.ss_family, AF_INET6);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_send(c, "six", 3, (struct sockaddr *)&sa), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, buf, sizeof(buf), NULL), &v), 0);
  ck_assert_uint_eq(v.u64, 3);
  ck_assert(memcmp(buf, "six", 3) == 0);
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- lazy sends and receives ---------------------------------------------- */

START_TEST(send_is_lazy) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t x = 7, got = 0;
  uva_value_t v;
  /* made and freed without a consumer: nothing is sent */
  uva_future_free(uva_udp_send(c, &x, sizeof(x), (struct sockaddr *)&sa));
  /* made, not yet consumed: nothing is sent until it is */
  uva_future_t *f = uva_udp_send(c, &x, sizeof(x), (struct sockaddr *)&sa);
  settle_for(loop, 20);
  ck_assert_uint_eq(uva_udp_queued(s), 0);
  ck_assert_int_eq(uva_block_on(loop, f, NULL), 0);
  settle_for(loop, 20);
  ck_assert_uint_eq(uva_udp_queued(s), 1);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, sizeof(got), NULL), &v), 0);
  ck_assert_uint_eq(got, 7);
  ck_assert_uint_eq(uva_udp_queued(s), 0);
  ck_assert_uint_eq(uva_udp_dropped(s), 0);
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(recv_is_lazy) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t got = 99;
  uva_value_t v;
  /* a receive made before the datagram arrives, never consumed, takes
   * nothing: the datagram waits for the next one */
  uva_future_t *f = uva_udp_recv(s, &got, sizeof(got), NULL);
  send_numbers(loop, c, &sa, 1, 1);
  settle_for(loop, 20);
  ck_assert_int_eq(uva_future_status(f), UVA_PENDING);
  ck_assert_uint_eq(uva_udp_queued(s), 1);
  uva_future_free(f);
  ck_assert_uint_eq(got, 99);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, sizeof(got), NULL), &v), 0);
  ck_assert_uint_eq(got, 1);
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* A datagram longer than the buffer: truncated, the full length reported. */
START_TEST(recv_truncates) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  char buf[4] = {0}, big[100];
  uva_value_t v;
  memset(big, 'x', sizeof(big));
  big[0] = 'a';
  ck_assert_int_eq(uva_block_on(loop, uva_udp_send(c, big, sizeof(big), (struct sockaddr *)&sa), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, buf, sizeof(buf), NULL), &v), 0);
  ck_assert_uint_eq(v.u64, sizeof(big));
  ck_assert(memcmp(buf, "axxx", 4) == 0);
  /* an empty datagram, into no buffer at all */
  ck_assert_int_eq(uva_block_on(loop, uva_udp_send(c, NULL, 0, (struct sockaddr *)&sa), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, NULL, 0, NULL), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- cancel safety --------------------------------------------------------- */

START_TEST(recv_timeout) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t got = 0;
  uva_value_t v;
  uint64_t t0 = uv_hrtime();
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_udp_recv(s, &got, 4, NULL), 50), NULL),
                   UV_ETIMEDOUT);
  ck_assert_uint_ge(uv_hrtime() - t0, 40 * 1000000ull);
  send_numbers(loop, c, &sa, 5, 1);
  ck_assert_int_eq(uva_block_on(loop, uva_timeout(uva_udp_recv(s, &got, 4, NULL), 5000), &v), 0);
  ck_assert_uint_eq(got, 5);
  /* a datagram that is already queued when a timeout of 0 races it: either
   * the receive wins, or the datagram stays */
  send_numbers(loop, c, &sa, 6, 1);
  settle_for(loop, 20);
  got = 0;
  if (uva_block_on(loop, uva_timeout(uva_udp_recv(s, &got, 4, NULL), 0), &v) == 0)
    ck_assert_uint_eq(got, 6);
  else {
    ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, 4, NULL), &v), 0);
    ck_assert_uint_eq(got, 6);
  }
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

typedef struct {
  uv_loop_t *loop;
  uva_udp_t *s, *c;
  struct sockaddr_storage sa;
  uint32_t n;
  uint32_t next;      /* the number the receiver expects */
  uint32_t timeouts;  /* selects the sleep won */
  uint32_t undone;    /* selects where the receive settled but lost */
} sel_ctx;

static int sel_sender(void *arg, uva_result_t *res) {
  sel_ctx *c = arg;
  uint32_t i;
  (void)res;
  for (i = 0; i < c->n; i++) {
    send_numbers(c->loop, c->c, &c->sa, i, 1);
    if (i % 7 == 0)
      ck_assert_int_eq(uva_await(uva_sleep(c->loop, 1), NULL), 0);
    else if (i % 3 == 0)
      ck_assert_int_eq(uva_yield(), 0);
  }
  return 0;
}

static int sel_receiver(void *arg, uva_result_t *res) {
  sel_ctx *c = arg;
  (void)res;
  while (c->next < c->n) {
    uint32_t got = UINT32_MAX;
    uva_future_t *fs[2];
    uva_result_t w;
    uva_value_t v;
    fs[0] = uva_udp_recv(c->s, &got, sizeof(got), NULL);
    fs[1] = uva_sleep(c->loop, 1);
    ck_assert_int_eq(uva_await(uva_select(c->loop, fs, 2, &w), &v), 0);
    if (v.u64 == 0) {
      ck_assert_int_eq(w.status, 0);
      ck_assert_uint_eq(w.value.u64, sizeof(got));
      ck_assert_uint_eq(got, c->next); /* exactly once, in order */
      c->next++;
    } else {
      ck_assert_uint_eq(got, UINT32_MAX); /* the loser wrote nothing */
      c->timeouts++;
      if (getenv("UDP_DEBUG")) fprintf(stderr, "timeout at %u\n", c->next);
    }
  }
  return 0;
}

START_TEST(select_exactly_once) {
  LOOP_INIT(loop);
  sel_ctx c;
  uva_future_t *fs[2];
  uva_result_t r[2];
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  c.n = getenv("UDP_N") ? (uint32_t)atoi(getenv("UDP_N")) : small() ? 300 : 3000;
  c.s = bind4(loop, &c.sa);
  c.c = bind4(loop, NULL);
  fs[0] = uva_spawn(loop, sel_receiver, &c);
  fs[1] = uva_spawn(loop, sel_sender, &c);
  ck_assert_int_eq(uva_block_on(loop, uva_join(loop, fs, 2, r), NULL), 0);
  ck_assert_int_eq(r[0].status, 0);
  ck_assert_int_eq(r[1].status, 0);
  ck_assert_uint_eq(c.next, c.n);
  ck_assert_uint_eq(uva_udp_dropped(c.s), 0);
  ck_assert_uint_eq(uva_udp_queued(c.s), 0);
  ck_assert_uint_gt(c.timeouts, 0);
  uva_udp_free(c.s);
  uva_udp_free(c.c);
  LOOP_CLOSE(loop);
}
END_TEST

/* Receives that settle and are then dropped untaken (a join cancelled by
 * its timeout, a select's loser) give their datagram back, in order. */
static int undo_body(void *arg, uva_result_t *res) {
  sel_ctx *c = arg;
  uint32_t a = UINT32_MAX, b = UINT32_MAX;
  uva_future_t *fs[2];
  uva_result_t r[2], w;
  uva_value_t v;
  (void)res;
  send_numbers(c->loop, c->c, &c->sa, 0, 3);
  ck_assert_int_eq(uva_await(uva_sleep(c->loop, 20), NULL), 0);
  ck_assert_uint_eq(uva_udp_queued(c->s), 3);
  /* the receive settles at once with datagram 0 and the join holds it;
   * the timeout drops the join, which drops the receive untaken */
  fs[0] = uva_udp_recv(c->s, &a, 4, NULL);
  fs[1] = uva_sleep(c->loop, 10000);
  ck_assert_int_eq(uva_await(uva_timeout(uva_join(c->loop, fs, 2, r), 10), NULL),
                   UV_ETIMEDOUT);
  ck_assert_uint_eq(a, UINT32_MAX); /* nothing written */
  ck_assert_uint_eq(uva_udp_queued(c->s), 3);
  /* two receives in a join, both settle, the join is freed untaken: both
   * datagrams go back, in order */
  fs[0] = uva_udp_recv(c->s, &a, 4, NULL);
  fs[1] = uva_udp_recv(c->s, &b, 4, NULL);
  fs[0] = uva_join(c->loop, fs, 2, r);
  fs[1] = uva_sleep(c->loop, 10000);
  ck_assert_int_eq(uva_await(uva_timeout(uva_join(c->loop, fs, 2, r), 10), NULL),
                   UV_ETIMEDOUT);
  ck_assert_uint_eq(uva_udp_queued(c->s), 3);
  ck_assert_uint_eq(a, UINT32_MAX);
  ck_assert_uint_eq(b, UINT32_MAX);
  /* a select of two receives: the first wins with datagram 0, the second
   * never starts */
  fs[0] = uva_udp_recv(c->s, &a, 4, NULL);
  fs[1] = uva_udp_recv(c->s, &b, 4, NULL);
  ck_assert_int_eq(uva_await(uva_select(c->loop, fs, 2, &w), &v), 0);
  ck_assert_uint_eq(v.u64, 0);
  ck_assert_uint_eq(a, 0);
  ck_assert_uint_eq(b, UINT32_MAX);
  ck_assert_int_eq(uva_await(uva_udp_recv(c->s, &a, 4, NULL), NULL), 0);
  ck_assert_uint_eq(a, 1);
  ck_assert_int_eq(uva_await(uva_udp_recv(c->s, &a, 4, NULL), NULL), 0);
  ck_assert_uint_eq(a, 2);
  ck_assert_uint_eq(uva_udp_queued(c->s), 0);
  /* a receive that waits when a settled one is dropped gets its datagram */
  return 0;
}

START_TEST(select_loser_gives_back) {
  LOOP_INIT(loop);
  sel_ctx c;
  memset(&c, 0, sizeof(c));
  c.loop = loop;
  c.s = bind4(loop, &c.sa);
  c.c = bind4(loop, NULL);
  ck_assert_int_eq(uva_block_on(loop, uva_spawn(loop, undo_body, &c), NULL), 0);
  uva_udp_free(c.s);
  uva_udp_free(c.c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- the queue ------------------------------------------------------------- */

START_TEST(queue_overflow) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t i, got;
  ck_assert_int_eq(uva_udp_set_queue(s, 4), 0);
  send_numbers(loop, c, &sa, 0, 10);
  settle_for(loop, 50);
  ck_assert_uint_eq(uva_udp_queued(s), 4);
  ck_assert_uint_eq(uva_udp_dropped(s), 6);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, 4, NULL), NULL), 0);
    ck_assert_uint_eq(got, i); /* the oldest kept, the newest dropped */
  }
  /* queue 0: nothing is read while nobody receives; the kernel keeps it */
  ck_assert_int_eq(uva_udp_set_queue(s, 0), 0);
  send_numbers(loop, c, &sa, 100, 3);
  settle_for(loop, 30);
  ck_assert_uint_eq(uva_udp_queued(s), 0);
  ck_assert_uint_eq(uva_udp_dropped(s), 6);
  for (i = 100; i < 103; i++) {
    ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, 4, NULL), NULL), 0);
    ck_assert_uint_eq(got, i);
  }
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- the contract ---------------------------------------------------------- */

static void on_recv(int status, uva_value_t v, void *data) {
  then_rec *r = data;
  record(status, v, data);
  (void)r;
}

START_TEST(idle_socket_lets_run_return) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t got = 0;
  then_rec r;
  memset(&r, 0, sizeof(r));
  /* open sockets, reading into their queues, nobody receiving */
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  send_numbers(loop, c, &sa, 3, 1);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  /* a receive that waits keeps uv_run running until it settles */
  ck_assert_int_eq(uva_future_then(uva_udp_recv(s, &got, 4, NULL), on_recv, &r), 0);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_uint_eq(got, 3);
  uva_udp_free(s);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(free_with_pending) {
  LOOP_INIT(loop);
  struct sockaddr_storage sa;
  uva_udp_t *s = bind4(loop, &sa), *c = bind4(loop, NULL);
  uint32_t got = 0;
  then_rec r;
  uva_future_t *unstarted_recv, *unstarted_send;
  memset(&r, 0, sizeof(r));
  send_numbers(loop, c, &sa, 1, 2);
  settle_for(loop, 20);
  ck_assert_uint_eq(uva_udp_queued(s), 2);
  unstarted_recv = uva_udp_recv(s, &got, 4, NULL);
  unstarted_send = uva_udp_send(s, "x", 1, (struct sockaddr *)&sa);
  /* take both queued, then wait */
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, 4, NULL), NULL), 0);
  ck_assert_int_eq(uva_block_on(loop, uva_udp_recv(s, &got, 4, NULL), NULL), 0);
  ck_assert_uint_eq(got, 2);
  ck_assert_int_eq(uva_future_then(uva_udp_recv(s, &got, 4, NULL), on_recv, &r), 0);
  uva_udp_free(s);
  ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  /* the socket's memory lives on for its futures: calls on it fail */
  uva_future_t *f = uva_udp_send(s, "x", 1, (struct sockaddr *)&sa);
  ck_assert_int_eq(uva_future_status(f), UV_EBADF);
  uva_future_free(f);
  ck_assert_int_eq(uva_udp_set_queue(s, 3), UV_EBADF);
  ck_assert_int_eq(uva_block_on(loop, unstarted_recv, NULL), UV_ECANCELED);
  ck_assert_int_eq(uva_block_on(loop, unstarted_send, NULL), UV_ECANCELED);
  uva_udp_free(c);
  LOOP_CLOSE(loop);
}
END_TEST

/* ---- options and bad input ------------------------------------------------- */

START_TEST(options) {
  LOOP_INIT(loop);
  struct sockaddr_in a = any4();
  uva_udp_t *u = bind4(loop, NULL);
  int err;
  /* a broadcast address needs SO_BROADCAST (the kernel's UV_EACCES) */
  {
    struct sockaddr_in bc;
    ck_assert_int_eq(uv_ip4_addr("255.255.255.255", 9, &bc), 0);
    ck_assert_int_eq(uva_block_on(loop, uva_udp_send(u, "x", 1, (struct sockaddr *)&bc), NULL),
                     UV_EACCES);
    ck_assert_int_eq(uva_udp_set_broadcast(u, 1), 0);
    err = uva_block_on(loop, uva_udp_send(u, "x", 1, (struct sockaddr *)&bc), NULL);
    ck_assert_msg(err == 0 || err == UV_ENETUNREACH, "%s", uv_err_name(err));
  }
  ck_assert_int_eq(uva_udp_set_broadcast(u, 0), 0);
  ck_assert_int_eq(uva_udp_set_multicast_loop(u, 1), 0);
  ck_assert_int_eq(uva_udp_set_multicast_ttl(u, 4), 0);
  ck_assert_int_eq(uva_udp_set_multicast_ttl(u, -1), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_multicast_ttl(u, 256), UV_EINVAL);
  /* joining needs a multicast route: a sandbox with loopback only has none
   * (UV_ENODEV) */
  err = uva_udp_join(u, "239.255.0.1", "127.0.0.1");
  if (err == 0) {
    ck_assert_int_eq(uva_udp_leave(u, "239.255.0.1", "127.0.0.1"), 0);
  } else {
    ck_assert_msg(err == UV_ENODEV || err == UV_EADDRNOTAVAIL ||
                      err == UV_ENOBUFS,
                  "join: %s", uv_err_name(err));
  }
  ck_assert_int_eq(uva_udp_join(u, "127.0.0.1", NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_join(u, NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_leave(u, NULL, NULL), UV_EINVAL);
  /* REUSEADDR lets a second socket bind the same port */
  {
    uva_udp_t *x, *y;
    struct sockaddr_storage xa;
    ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, UVA_UDP_REUSEADDR, &x), 0);
    ck_assert_int_eq(uva_udp_sockname(x, &xa), 0);
    ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&xa, UVA_UDP_REUSEADDR, &y), 0);
    uva_udp_free(x);
    uva_udp_free(y);
  }
  uva_udp_free(u);
  LOOP_CLOSE(loop);
}
END_TEST

START_TEST(bad_input) {
  LOOP_INIT(loop);
  struct sockaddr_in a = any4();
  struct sockaddr_in6 a6;
  struct sockaddr_storage sa;
  struct sockaddr bad;
  uva_udp_t *u = (uva_udp_t *)&bad, *x;
  char buf[4];
  memset(&bad, 0, sizeof(bad));
  bad.sa_family = AF_UNIX;
  ck_assert_int_eq(uv_ip6_addr("::1", 0, &a6), 0);
  ck_assert_int_eq(uva_udp_bind(NULL, (struct sockaddr *)&a, 0, &u), UV_EINVAL);
  ck_assert_ptr_null(u);
  ck_assert_int_eq(uva_udp_bind(loop, NULL, 0, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, &bad, 0, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, 0x100, &u), UV_EINVAL);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&a, UVA_UDP_IPV6ONLY, &u), UV_EINVAL);
  /* a port in use */
  u = bind4(loop, &sa);
  ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&sa, 0, &x), UV_EADDRINUSE);
  ck_assert_ptr_null(x);
  /* an address this machine does not have */
  {
    struct sockaddr_in far;
    ck_assert_int_eq(uv_ip4_addr("192.0.2.1", 0, &far), 0);
    ck_assert_int_eq(uva_udp_bind(loop, (struct sockaddr *)&far, 0, &x), UV_EADDRNOTAVAIL);
  }
#define FAILS(f, err)                                                          \
  do {                                                                         \
    uva_future_t *f_ = (f);                                                    \
    ck_assert_int_eq(uva_future_status(f_), (err));                            \
    uva_future_free(f_);                                                       \
  } while (0)
  FAILS(uva_udp_send(NULL, buf, 1, (struct sockaddr *)&sa), UV_EINVAL);
  FAILS(uva_udp_send(u, NULL, 1, (struct sockaddr *)&sa), UV_EINVAL);
  FAILS(uva_udp_send(u, buf, 1, NULL), UV_EINVAL);
  FAILS(uva_udp_send(u, buf, 1, &bad), UV_EINVAL);
  FAILS(uva_udp_recv(NULL, buf, 1, NULL), UV_EINVAL);
  FAILS(uva_udp_recv(u, NULL, 1, NULL), UV_EINVAL);
  /* the kernel's errors come through: IPv6 to an IPv4 socket */
  ck_assert_int_ne(uva_block_on(loop, uva_udp_send(u, buf, 1, (struct sockaddr *)&a6), NULL), 0);
  /* a datagram larger than UDP allows */
  {
    size_t n = 70000;
    char *big = calloc(1, n);
    ck_assert_int_eq(uva_block_on(loop, uva_udp_send(u, big, n, (struct sockaddr *)&sa), NULL),
                     UV_EMSGSIZE);
    free(big);
  }
  ck_assert_int_eq(uva_udp_set_queue(NULL, 1), UV_EINVAL);
  ck_assert_uint_eq(uva_udp_dropped(NULL), 0);
  ck_assert_uint_eq(uva_udp_queued(NULL), 0);
  ck_assert_int_eq(uva_udp_sockname(NULL, &sa), UV_EINVAL);
  ck_assert_int_eq(uva_udp_sockname(u, NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_broadcast(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_multicast_loop(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_udp_set_multicast_ttl(NULL, 1), UV_EINVAL);
  ck_assert_int_eq(uva_udp_join(NULL, "239.0.0.1", NULL), UV_EINVAL);
  ck_assert_int_eq(uva_udp_leave(NULL, "239.0.0.1", NULL), UV_EINVAL);
  uva_udp_free(NULL);
  uva_udp_free(u);
  LOOP_CLOSE(loop);
}
END_TEST

int main(void) {
  Suite *s = suite_create("udp");
  TCase *tc = tcase_create("udp");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, echo);
  tcase_add_test(tc, echo_ipv6);
  tcase_add_test(tc, send_is_lazy);
  tcase_add_test(tc, recv_is_lazy);
  tcase_add_test(tc, recv_truncates);
  tcase_add_test(tc, recv_timeout);
  tcase_add_test(tc, select_exactly_once);
  tcase_add_test(tc, select_loser_gives_back);
  tcase_add_test(tc, queue_overflow);
  tcase_add_test(tc, idle_socket_lets_run_return);
  tcase_add_test(tc, free_with_pending);
  tcase_add_test(tc, options);
  tcase_add_test(tc, bad_input);
  suite_add_tcase(s, tc);
  return test_run_suite(s);
}
