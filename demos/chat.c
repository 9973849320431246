/* chat: a line-based chat server, in the shape of Tokio's chat example
 * (tokio/examples/chat.rs):
 *
 *   - a client's first line is its name; every later line goes to every
 *     other client as "name: line" (reading lines: uva_stream_read_until,
 *     as BufReader::read_line);
 *   - each client has a bounded queue (a uva channel of QUEUE lines) that a
 *     writer task empties into its socket, so a slow client never stalls
 *     the others: the task that broadcasts only ever try_sends;
 *   - the policy when a client's queue is full: that client is
 *     disconnected (its tasks are cancelled and its socket closed), and the
 *     server says so; the others lose nothing.
 *
 *   chat [--port P] [--queue N]      a server until SIGINT or SIGTERM
 *   chat --demo [--lines N]          the server and three clients in one
 *                                    process: alice sends N lines of 100
 *                                    bytes (default 100,000), bob
 *                                    reads them all, carol never reads
 *
 * In the demo, carol reads only her welcome and then nothing: once the
 * socket buffers between her and the server (a few MiB on loopback: the
 * kernel's, and uva's write queue up to its high-water mark) are full, her
 * writer task waits in a write, her queue fills, and she is disconnected, while bob
 * keeps getting every line in order.  alice sends in batches that bob
 * acknowledges (through a uva channel), so that bob, who reads all the
 * time, is never the one behind.  At the end the demo raises SIGINT, and
 * the server shuts down as it would on Ctrl-C. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uva.h>

#define MAX_LINE 4096
#define BATCH_BYTES 16384 /* a writer's largest write */

typedef struct chat chat_t;

/* A line shared by the queues it was sent to. */
typedef struct line {
  unsigned refs;
  size_t len;
  char text[];
} line_t;

typedef struct client {
  struct client *prev, *next;
  chat_t *chat;
  uva_stream_t *s;
  uva_chan_t *q;        /* line_t pointers, for the writer */
  uva_future_t *reader; /* this client's task (it detaches it at the end) */
  int kicked;
  char name[32];
} client_t;

struct chat {
  uv_loop_t *loop;
  uva_stream_t *listener;
  uva_signal_t *sigint, *sigterm;
  client_t *clients; /* registered: they get the lines */
  size_t tasks;      /* client tasks alive */
  size_t queue;
  unsigned served, kicked;
  uva_future_t *all_gone; /* resolved when tasks drops to 0 */
};

static line_t *line_new(const char *a, size_t alen, const char *b,
                        size_t blen) {
  line_t *l = malloc(sizeof(*l) + alen + blen);
  if (l == NULL)
    return NULL;
  l->refs = 1;
  l->len = alen + blen;
  memcpy(l->text, a, alen);
  memcpy(l->text + alen, b, blen);
  return l;
}

/* Returns l with b appended (l itself is consumed), NULL without memory. */
static line_t *line_append(line_t *l, const char *b, size_t blen) {
  line_t *n = line_new(l->text, l->len, b, blen);
  free(l);
  return n;
}

static void line_unref(line_t *l) {
  if (l != NULL && --l->refs == 0)
    free(l);
}

static void unlink_client(chat_t *chat, client_t *c) {
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    chat->clients = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

/* The policy for a full queue: disconnect that client.  Its task's next
 * await returns UV_ECANCELED and it cleans up. */
static void kick(chat_t *chat, client_t *c) {
  unlink_client(chat, c);
  c->kicked = 1;
  chat->kicked++;
  printf("%s disconnected: too slow (%zu lines queued)\n", c->name,
         chat->queue);
  uva_future_cancel(c->reader);
}

/* Queues l for every registered client but from.  Never waits. */
static void broadcast(chat_t *chat, client_t *from, line_t *l) {
  client_t *c = chat->clients, *next;
  for (; c != NULL; c = next) {
    next = c->next;
    if (c == from)
      continue;
    int err = uva_chan_try_send(c->q, &l);
    if (err == 0)
      l->refs++;
    else if (err == UV_EAGAIN)
      kick(chat, c);
  }
}

/* A client's writer: takes lines off its queue, as many as fit in one
 * write, until the queue is closed or the task is cancelled. */
static int writer(void *arg, uva_result_t *result) {
  client_t *c = arg;
  char *batch = malloc(BATCH_BYTES);
  line_t *l, *held = NULL;
  int err = UV_ENOMEM;

  (void)result;
  while (batch != NULL) {
    size_t len = 0;
    if (held == NULL) {
      err = uva_await(uva_chan_recv(c->q, &l), NULL);
      if (err != 0)
        break;
      held = l;
    }
    do { /* held always fits in an empty batch: lines are < BATCH_BYTES */
      memcpy(batch + len, held->text, held->len);
      len += held->len;
      line_unref(held);
      held = NULL;
      if (uva_chan_try_recv(c->q, &l) != 0)
        break;
      held = l;
    } while (len + held->len <= BATCH_BYTES);
    err = uva_await(uva_stream_write(c->s, batch, len), NULL);
    if (err != 0)
      break;
  }
  line_unref(held);
  while (uva_chan_try_recv(c->q, &l) == 0) /* what nobody will write */
    line_unref(l);
  free(batch);
  return err == UV_EOF || err == UV_ECANCELED ? 0 : err;
}

/* Strips the line end. */
static size_t trim(const char *s, size_t n) {
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  return n;
}

/* A client: its name, then its lines, until it leaves or is kicked. */
static int client_task(void *arg, uva_result_t *result) {
  client_t *c = arg;
  chat_t *chat = c->chat;
  uva_future_t *w = NULL;
  uva_value_t v;
  uva_buf_t *b;
  line_t *l;
  int err;

  (void)result;
  err = uva_await(uva_stream_read_until(c->s, '\n', sizeof(c->name)), &v);
  if (err != 0)
    goto out;
  b = v.ptr;
  snprintf(c->name, sizeof(c->name), "%.*s", (int)trim(b->base, b->len),
           b->base);
  uva_buf_free(b);
  if (c->name[0] == '\0')
    snprintf(c->name, sizeof(c->name), "anonymous");
  err = uva_chan_new(chat->loop, sizeof(line_t *), chat->queue, &c->q);
  if (err != 0)
    goto out;
  w = uva_spawn(chat->loop, writer, c);
  /* Registered: from now on it gets every line. */
  c->next = chat->clients;
  if (c->next != NULL)
    c->next->prev = c;
  chat->clients = c;
  printf("%s joined\n", c->name);
  /* The welcome goes through the queue like any line. */
  if ((l = line_new("welcome, ", 9, c->name, strlen(c->name))) != NULL &&
      (l = line_append(l, "\n", 1)) != NULL && uva_chan_try_send(c->q, &l) != 0)
    line_unref(l);
  for (;;) {
    err = uva_await(uva_stream_read_until(c->s, '\n', MAX_LINE), &v);
    if (err != 0)
      break;
    b = v.ptr;
    /* "name: line\n" (a last line without its newline gets one). */
    l = line_new(c->name, strlen(c->name), ": ", 2);
    if (l != NULL)
      l = line_append(l, b->base, b->len);
    if (l != NULL && l->text[l->len - 1] != '\n')
      l = line_append(l, "\n", 1);
    if (l != NULL)
      broadcast(chat, c, l);
    line_unref(l);
    uva_buf_free(b);
  }
  if (!c->kicked) {
    unlink_client(chat, c);
    printf("%s left\n", c->name);
  } else {
    uva_future_cancel(w); /* it may be waiting in a write that never ends */
  }
  uva_chan_close(c->q); /* the writer writes what is queued, then ends */
  uva_await(w, NULL);
  w = NULL;
out:
  uva_future_free(w);
  uva_chan_free(c->q);
  uva_stream_free(c->s);
  chat->served++;
  if (--chat->tasks == 0 && chat->all_gone != NULL)
    uva_future_resolve_u64(chat->all_gone, 0);
  uva_future_detach(c->reader);
  free(c);
  return 0;
}

/* Accepts clients until SIGINT or SIGTERM, then disconnects them all. */
static int serve(void *arg, uva_result_t *result) {
  chat_t *chat = arg;
  uva_value_t which;
  int err;

  (void)result;
  for (;;) {
    uva_future_t *fs[3];
    uva_result_t won;
    client_t *c;

    fs[0] = uva_stream_accept(chat->listener);
    fs[1] = uva_signal_next(chat->sigint);
    fs[2] = uva_signal_next(chat->sigterm);
    err = uva_await(uva_select(chat->loop, fs, 3, &won), &which);
    if (err != 0 || which.u64 != 0)
      break;
    if (won.status != 0 || (c = calloc(1, sizeof(*c))) == NULL) {
      uva_result_free(&won);
      continue;
    }
    c->chat = chat;
    c->s = won.value.ptr;
    c->reader = uva_spawn(chat->loop, client_task, c);
    if (uva_future_status(c->reader) != UVA_PENDING) {
      uva_future_free(c->reader);
      uva_stream_free(c->s);
      free(c);
      continue;
    }
    chat->tasks++;
  }
  printf("chat: shutting down\n");
  uva_stream_free(chat->listener);
  chat->listener = NULL;
  while (chat->clients != NULL) {
    client_t *c = chat->clients;
    unlink_client(chat, c);
    c->kicked = 1; /* no "left" line: the server closes it */
    uva_future_cancel(c->reader);
  }
  if (chat->tasks > 0) {
    chat->all_gone = uva_future_new(chat->loop);
    uva_await(chat->all_gone, NULL);
    chat->all_gone = NULL;
  }
  printf("chat: %u client%s served, %u disconnected as too slow\n",
         chat->served, chat->served == 1 ? "" : "s", chat->kicked);
  return err;
}

/* ---- the demo's clients ---------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  struct sockaddr_storage addr;
  unsigned lines, batch;
  uva_chan_t *acks; /* bob -> alice: a batch arrived */
  uva_stream_t *alice, *bob, *carol;
} demo_t;

/* Connects, sends the name, reads the welcome. */
static int join_as(demo_t *d, const char *name, uva_stream_t **out) {
  char hello[40], want[48];
  uva_value_t v;
  uva_buf_t *b;
  int err, n;

  err = uva_await(uva_tcp_connect(d->loop, (struct sockaddr *)&d->addr), &v);
  if (err != 0)
    return err;
  *out = v.ptr;
  n = snprintf(hello, sizeof(hello), "%s\n", name);
  err = uva_await(uva_stream_write(*out, hello, (size_t)n), NULL);
  if (err == 0)
    err = uva_await(uva_stream_read_until(*out, '\n', 64), &v);
  if (err != 0)
    return err;
  b = v.ptr;
  snprintf(want, sizeof(want), "welcome, %s\n", name);
  err = strcmp(b->base, want) == 0 ? 0 : UV_EPROTO;
  uva_buf_free(b);
  return err;
}

static void alice_line(char *buf, size_t size, unsigned i) {
  /* 100 bytes with the newline. */
  int k = snprintf(buf, size, "line %u ", i);
  memset(buf + k, '.', 99 - (size_t)k);
  buf[99] = '\n';
}

static int alice(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  char *buf = malloc((size_t)d->batch * 100 + 1);
  uva_value_t v;
  unsigned ack;
  int err = buf != NULL ? 0 : UV_ENOMEM;

  (void)result;
  for (unsigned i = 0; err == 0 && i < d->lines; i += d->batch) {
    size_t len = 0;
    for (unsigned k = i; k < i + d->batch && k < d->lines; k++, len += 100)
      alice_line(buf + len, 101, k);
    err = uva_await(uva_stream_write(d->alice, buf, len), NULL);
    if (err == 0)
      err = uva_await(uva_chan_recv(d->acks, &ack), NULL);
  }
  if (err == 0)
    err = uva_await(uva_stream_read_until(d->alice, '\n', MAX_LINE), &v);
  if (err == 0) {
    printf("alice got: %s", ((uva_buf_t *)v.ptr)->base);
    uva_buf_free(v.ptr);
  }
  free(buf);
  uva_await(uva_stream_close(d->alice), NULL);
  d->alice = NULL;
  return err;
}

static int bob(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  char want[128];
  uva_value_t v;
  unsigned i;
  int err = 0;

  (void)result;
  memcpy(want, "alice: ", 7);
  for (i = 0; err == 0 && i < d->lines; i++) {
    err = uva_await(uva_stream_read_until(d->bob, '\n', MAX_LINE), &v);
    if (err != 0)
      break;
    alice_line(want + 7, sizeof(want) - 7, i);
    want[107] = '\0';
    if (strcmp(((uva_buf_t *)v.ptr)->base, want) != 0)
      err = UV_EPROTO;
    uva_buf_free(v.ptr);
    if (err == 0 && ((i + 1) % d->batch == 0 || i + 1 == d->lines))
      err = uva_await(uva_chan_send(d->acks, &i), NULL);
  }
  if (err == 0) {
    printf("bob got %u lines from alice, in order\n", i);
    err = uva_await(uva_stream_write(d->bob, "bye\n", 4), NULL);
  } else {
    printf("bob: line %u: %s\n", i, uv_strerror(err));
  }
  uva_await(uva_stream_close(d->bob), NULL);
  d->bob = NULL;
  return err;
}

static int demo(void *arg, uva_result_t *result) {
  demo_t *d = arg;
  uva_future_t *fs[2];
  uva_result_t res[2] = {{0}, {0}};
  int err;

  (void)result;
  err = uva_chan_new(d->loop, sizeof(unsigned), 1, &d->acks);
  if (err == 0)
    err = join_as(d, "carol", &d->carol); /* she never reads again */
  if (err == 0)
    err = join_as(d, "bob", &d->bob);
  if (err == 0)
    err = join_as(d, "alice", &d->alice);
  if (err == 0) {
    fs[0] = uva_spawn(d->loop, alice, d);
    fs[1] = uva_spawn(d->loop, bob, d);
    err = uva_await(uva_join(d->loop, fs, 2, res), NULL);
    if (err == 0)
      err = res[0].status != 0 ? res[0].status : res[1].status;
  }
  uva_stream_free(d->alice);
  uva_stream_free(d->bob);
  uva_stream_free(d->carol);
  uva_chan_free(d->acks);
  raise(SIGINT); /* as Ctrl-C: the server shuts down */
  return err;
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  chat_t chat;
  demo_t d;
  struct sockaddr_in addr;
  unsigned port = 6143;
  int err, is_demo = 0;
  uva_future_t *fs[2];
  uva_result_t res[2] = {{0}, {0}};

  memset(&chat, 0, sizeof(chat));
  memset(&d, 0, sizeof(d));
  chat.loop = &loop;
  chat.queue = 64;
  d.loop = &loop;
  d.lines = 100000;
  d.batch = 50;
  for (int i = 1; i < argc; i++) {
    unsigned long v = 0;
    if (strcmp(argv[i], "--demo") == 0) {
      is_demo = 1;
      continue;
    }
    if (i + 1 < argc)
      v = strtoul(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc && v <= 65535)
      port = (unsigned)v;
    else if (strcmp(argv[i], "--queue") == 0 && v > 0)
      chat.queue = v;
    else if (strcmp(argv[i], "--lines") == 0 && v > 0)
      d.lines = (unsigned)v;
    else {
      fprintf(stderr, "usage: chat [--port P] [--queue N] | chat --demo "
                      "[--lines N] [--queue N]\n");
      return 2;
    }
    i++;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (is_demo)
    port = 0;
  err = uv_loop_init(&loop);
  if (err == 0)
    err = uv_ip4_addr("127.0.0.1", (int)port, &addr);
  if (err == 0)
    err = uva_tcp_listen(&loop, (struct sockaddr *)&addr, 0, 0,
                         &chat.listener);
  if (err == 0)
    err = uva_stream_sockname(chat.listener, &d.addr);
  if (err == 0)
    err = uva_signal_listen(&loop, SIGINT, &chat.sigint);
  if (err == 0)
    err = uva_signal_listen(&loop, SIGTERM, &chat.sigterm);
  if (err != 0) {
    fprintf(stderr, "setup: %s\n", uv_strerror(err));
    return 1;
  }
  printf("chat: every line goes to every other client; a client whose "
         "queue (%zu lines) is full is disconnected\n",
         chat.queue);
  if (!is_demo)
    printf("listening on 127.0.0.1:%u\n",
           (unsigned)ntohs(((struct sockaddr_in *)&d.addr)->sin_port));
  fs[0] = uva_spawn(&loop, serve, &chat);
  fs[1] = is_demo ? uva_spawn(&loop, demo, &d) : uva_ready_u64(&loop, 0);
  err = uva_block_on(&loop, uva_join(&loop, fs, 2, res), NULL);
  if (err == 0)
    err = res[0].status != 0 ? res[0].status : res[1].status;
  if (err != 0)
    fprintf(stderr, "chat: %s\n", uv_strerror(err));
  uva_stream_free(chat.listener);
  uva_signal_free(chat.sigint);
  uva_signal_free(chat.sigterm);
  uv_run(&loop, UV_RUN_DEFAULT); /* lets their handles close */
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
