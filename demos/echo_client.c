/* echo_client: N concurrent clients of echo_server, each one a task:
 *
 *   for c in 0..clients {
 *       tokio::spawn(async move {
 *           let mut s = TcpStream::connect((host, port)).await?;
 *           for r in 0..requests {
 *               s.write_all(&message(c, r)).await?;
 *               s.read_exact(&mut echo).await?;
 *               assert_eq!(echo, message(c, r));
 *           }
 *       });
 *   }
 *
 *   echo_client [--host H] [--port P] [--clients N] [--requests M]
 *               [--size B] [--hold]
 *
 * Every echo is checked byte for byte; the client prints what it checked,
 * then the requests per second (the only line that varies from run to
 * run).  --hold instead makes one connection, checks --requests echoes (1
 * unless given; 0 is allowed), prints "holding the connection open" and
 * waits until the server closes it (for the shutdown and idle-timeout
 * tests). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uva.h>

typedef struct {
  uv_loop_t *loop;
  const char *host;
  uint16_t port;
  unsigned clients, requests;
  size_t size;
  int hold;
  int requests_set;
  uint64_t echoes; /* checked, in all */
  int bad;         /* an echo differed */
} opts_t;

typedef struct {
  opts_t *o;
  unsigned id;
} client_arg_t;

/* The message of client c's request r: "c R r " then letters. */
static void message(char *buf, size_t size, unsigned c, unsigned r) {
  int k = snprintf(buf, size, "%u R %u ", c, r);
  size_t at = k < 0 ? 0 : (size_t)k < size ? (size_t)k : size;
  for (size_t i = at; i < size; i++)
    buf[i] = (char)('a' + (c + r + i) % 26);
  if (size > 0)
    buf[size - 1] = '\n';
}

/* One echo: write the message, read exactly as many bytes, compare. */
static int echo_once(opts_t *o, uva_stream_t *s, unsigned c, unsigned r,
                     char *out, char *in) {
  int err;

  message(out, o->size, c, r);
  err = uva_await(uva_stream_write(s, out, o->size), NULL);
  if (err == 0)
    err = uva_await(uva_stream_read_exact(s, in, o->size), NULL);
  if (err != 0)
    return err;
  if (memcmp(in, out, o->size) != 0) {
    fprintf(stderr, "client %u: request %u: the echo differs\n", c, r);
    o->bad = 1;
    return UV_EPROTO;
  }
  o->echoes++;
  return 0;
}

static int client(void *arg, uva_result_t *result) {
  client_arg_t *a = arg;
  opts_t *o = a->o;
  char *out = malloc(o->size), *in = malloc(o->size);
  uva_stream_t *s = NULL;
  uva_value_t v;
  int err = UV_ENOMEM;

  (void)result;
  if (out == NULL || in == NULL)
    goto done;
  /* connect_host resolves the name, then tries each address in turn. */
  err = uva_await(uva_tcp_connect_host(o->loop, o->host, o->port), &v);
  if (err != 0) {
    fprintf(stderr, "client %u: connect: %s\n", a->id, uv_strerror(err));
    goto done;
  }
  s = v.ptr;
  uva_tcp_nodelay(s, 1);
  if (o->hold) {
    char byte;
    for (unsigned r = 0; r < o->requests && err == 0; r++)
      err = echo_once(o, s, a->id, r, out, in);
    if (err != 0)
      goto done;
    printf("holding the connection open\n");
    err = uva_await(uva_stream_read(s, &byte, 1), NULL);
    if (err == UV_EOF || err == UV_ECONNRESET) {
      printf("the server closed the connection\n");
      err = 0;
    } else if (err == 0) {
      fprintf(stderr, "client %u: unexpected byte\n", a->id);
      err = UV_EPROTO;
    }
    goto done;
  }
  for (unsigned r = 0; r < o->requests && err == 0; r++)
    err = echo_once(o, s, a->id, r, out, in);
  if (err != 0)
    fprintf(stderr, "client %u: %s\n", a->id, uv_strerror(err));
done:
  if (s != NULL) {
    int cerr = uva_await(uva_stream_close(s), NULL);
    if (err == 0 && cerr != 0)
      err = cerr;
  }
  free(out);
  free(in);
  return err;
}

static int parse(int argc, char **argv, opts_t *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char *end;
    unsigned long long v = 0;
    if (strcmp(a, "--hold") == 0) {
      o->hold = 1;
      continue;
    }
    if (i + 1 >= argc)
      return -1;
    if (strcmp(a, "--host") == 0) {
      o->host = argv[++i];
      continue;
    }
    v = strtoull(argv[++i], &end, 10);
    if (*end != '\0')
      return -1;
    if (strcmp(a, "--port") == 0 && v > 0 && v <= 65535)
      o->port = (uint16_t)v;
    else if (strcmp(a, "--clients") == 0 && v > 0 && v <= 10000)
      o->clients = (unsigned)v;
    else if (strcmp(a, "--requests") == 0 && v <= 100000000)
      o->requests = (unsigned)v, o->requests_set = 1;
    else if (strcmp(a, "--size") == 0 && v >= 16 && v <= (1u << 20))
      o->size = (size_t)v;
    else
      return -1;
  }
  return o->requests > 0 || o->hold ? 0 : -1; /* 0 only with --hold */
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  opts_t o;
  uva_future_t **tasks;
  uva_result_t *results;
  client_arg_t *args;
  uint64_t t0, t1;
  int err, failed = 0;

  memset(&o, 0, sizeof(o));
  o.loop = &loop;
  o.host = "127.0.0.1";
  o.port = 6142;
  o.clients = 8;
  o.requests = 100;
  o.size = 64;
  if (parse(argc, argv, &o) != 0) {
    fprintf(stderr, "usage: echo_client [--host H] [--port P] [--clients N] "
                    "[--requests M] [--size B] [--hold]\n");
    return 2;
  }
  if (o.hold) {
    o.clients = 1;
    if (!o.requests_set)
      o.requests = 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  tasks = calloc(o.clients, sizeof(*tasks));
  results = calloc(o.clients, sizeof(*results));
  args = calloc(o.clients, sizeof(*args));
  if (tasks == NULL || results == NULL || args == NULL ||
      uv_loop_init(&loop) != 0) {
    fprintf(stderr, "echo_client: out of memory\n");
    return 1;
  }
  t0 = uv_hrtime();
  for (unsigned c = 0; c < o.clients; c++) {
    args[c].o = &o;
    args[c].id = c;
    tasks[c] = uva_spawn(&loop, client, &args[c]);
  }
  err = uva_block_on(&loop, uva_join(&loop, tasks, o.clients, results), NULL);
  t1 = uv_hrtime();
  for (unsigned c = 0; c < o.clients; c++)
    if (err != 0 || results[c].status != 0)
      failed++;
  if (err != 0)
    fprintf(stderr, "join: %s\n", uv_strerror(err));
  if (!o.hold && failed == 0 && !o.bad) {
    printf("%u clients x %u requests of %zu bytes: %llu echoes, every byte "
           "matched\n",
           o.clients, o.requests, o.size, (unsigned long long)o.echoes);
    printf("rate: %.0f requests/s\n",
           (double)o.echoes * 1e9 / (double)(t1 - t0 ? t1 - t0 : 1));
  } else if (failed != 0) {
    printf("%d of %u clients failed\n", failed, o.clients);
  }
  for (unsigned c = 0; c < o.clients; c++)
    uva_result_free(&results[c]);
  free(tasks);
  free(results);
  free(args);
  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: handles left open\n");
    return 1;
  }
  return failed == 0 && !o.bad ? 0 : 1;
}
