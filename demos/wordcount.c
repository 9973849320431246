/* wordcount: a concurrent word count over a directory tree.
 *
 * Usage: wordcount DIR
 * Prints "files: F words: W" and the three most frequent words with their
 * counts (ties in alphabetical order) on stdout, and "[done/found]" progress
 * on stderr.  A word is a run of ASCII letters and digits, lower-cased.
 *
 * The shape, in the async Rust of the seeds:
 *
 *   let (tx, rx) = async_channel::bounded(8);        // the work queue
 *   let producer = tokio::spawn(walk(dir, tx));      // sends paths, then
 *                                                    // drops tx (closes)
 *   let workers: Vec<_> = (0..4)
 *       .map(|_| tokio::spawn(worker(rx.clone())))
 *       .collect();
 *   // worker: while let Ok(path) = rx.recv().await {
 *   //     let text = timeout(5s, fs::read_to_string(path)).await??;
 *   //     count(text);
 *   // }
 *   join_all(producer + workers).await;
 *   print_top(3);
 *
 * Things to notice:
 *  - The channel is bounded: when the workers fall behind, the producer's
 *    uva_chan_send waits (backpressure) instead of piling up paths.
 *  - Every task runs on the one loop thread, so the shared counts need no
 *    lock: tasks only switch at uva_await.
 *  - The directory walk uses uv_fs_scandir through a small bridge made with
 *    uva_future_new: the way to turn any libuv callback into a future.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>
#include <uva.h>

#define WORKERS 4
#define QUEUE_SIZE 8
#define READ_TIMEOUT_MS 5000
#define MAX_WORD 64 /* longer words are cut to this length */
#define TOP 3

/* ---- a small string -> count hash table --------------------------------- */

typedef struct {
  char *word;
  uint64_t count;
} entry_t;

typedef struct {
  entry_t *slots;
  size_t cap, used;
} table_t;

static size_t hash(const char *s) {
  size_t h = 2166136261u; /* FNV-1a */
  while (*s != '\0')
    h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static entry_t *table_slot(entry_t *slots, size_t cap, const char *word) {
  size_t i = hash(word) & (cap - 1);
  while (slots[i].word != NULL && strcmp(slots[i].word, word) != 0)
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

static int table_add(table_t *t, const char *word) {
  entry_t *e;
  size_t i;

  if (2 * (t->used + 1) > t->cap) { /* keep it at most half full */
    size_t cap = t->cap == 0 ? 64 : 2 * t->cap;
    entry_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
      return UV_ENOMEM;
    for (i = 0; i < t->cap; i++)
      if (t->slots[i].word != NULL)
        *table_slot(slots, cap, t->slots[i].word) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
  }
  e = table_slot(t->slots, t->cap, word);
  if (e->word == NULL) {
    if ((e->word = strdup(word)) == NULL)
      return UV_ENOMEM;
    t->used++;
  }
  e->count++;
  return 0;
}

static void table_free(table_t *t) {
  for (size_t i = 0; i < t->cap; i++)
    free(t->slots[i].word);
  free(t->slots);
}

/* ---- shared state --------------------------------------------------------- */

typedef struct {
  uv_loop_t *loop;
  const char *root;
  uva_chan_t *paths; /* char * messages: each a malloc'd path, freed by the
                        worker that receives it */
  size_t found, done, failed;
  uint64_t words;
  table_t counts;
} app_t;

static void progress(const app_t *app) {
  fprintf(stderr, "\r[%zu/%zu]", app->done + app->failed, app->found);
}

static int count_words(app_t *app, const uva_buf_t *text) {
  char word[MAX_WORD + 1];
  size_t i, n = 0;
  int err;

  for (i = 0; i <= text->len; i++) { /* base[len] is the NUL: ends a word */
    unsigned char c = (unsigned char)text->base[i];
    if (i < text->len && isascii(c) && isalnum(c)) {
      if (n < MAX_WORD)
        word[n++] = (char)tolower(c);
    } else if (n > 0) {
      word[n] = '\0';
      n = 0;
      app->words++;
      if ((err = table_add(&app->counts, word)) != 0)
        return err;
    }
  }
  return 0;
}

/* ---- uv_fs_scandir as a future: a bridge made with uva_future_new -------- */

typedef struct {
  uv_fs_t req;
  uva_future_t *done;
} scandir_t;

/* The future's value: frees the entries libuv read, and the request. */
static void scandir_free(void *ptr) {
  scandir_t *sd = ptr;
  uv_fs_req_cleanup(&sd->req);
  free(sd);
}

static void on_scandir(uv_fs_t *req) {
  scandir_t *sd = (scandir_t *)req; /* req is the first member */

  if (req->result < 0) {
    uva_future_reject(sd->done, (int)req->result);
    scandir_free(sd);
  } else {
    /* Hand the whole request over as the value.  If the consumer has gone
     * (cancelled), resolve frees it with scandir_free for us. */
    uva_future_resolve(sd->done, sd, scandir_free);
  }
}

/* Returns a future of a scandir_t (read entries with uv_fs_scandir_next). */
static uva_future_t *scandir_future(uv_loop_t *loop, const char *path) {
  uva_future_t *f = uva_future_new(loop);
  scandir_t *sd;
  int err;

  if (uva_future_status(f) != UVA_PENDING)
    return f; /* already failed */
  if ((sd = malloc(sizeof(*sd))) == NULL) {
    uva_future_reject(f, UV_ENOMEM);
    return f;
  }
  sd->done = f;
  err = uv_fs_scandir(loop, &sd->req, path, 0, on_scandir);
  if (err != 0) {
    uva_future_reject(f, err);
    free(sd);
  }
  return f;
}

/* ---- the producer: walk the tree, send file paths ------------------------ */

static char *join_path(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (p != NULL) {
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
  }
  return p;
}

static int walk(app_t *app, const char *dir) {
  uv_dirent_t ent;
  uva_value_t v;
  scandir_t *sd;
  int err;

  err = uva_await(scandir_future(app->loop, dir), &v);
  if (err != 0) {
    fprintf(stderr, "wordcount: %s: %s\n", dir, uv_strerror(err));
    return err;
  }
  sd = v.ptr;
  while (err == 0 && uv_fs_scandir_next(&sd->req, &ent) != UV_EOF) {
    char *path = join_path(dir, ent.name);
    uv_dirent_type_t type = ent.type;
    struct stat st;

    if (path == NULL) {
      err = UV_ENOMEM;
      break;
    }
    if (type == UV_DIRENT_UNKNOWN && lstat(path, &st) == 0) /* some fs */
      type = S_ISDIR(st.st_mode)   ? UV_DIRENT_DIR
             : S_ISREG(st.st_mode) ? UV_DIRENT_FILE
                                   : UV_DIRENT_UNKNOWN;
    if (type == UV_DIRENT_DIR) {
      err = walk(app, path);
      free(path);
    } else if (type == UV_DIRENT_FILE) {
      app->found++;
      /* tx.send(path).await: waits while the queue is full.  The channel
       * copies the pointer; the receiving worker frees the path. */
      err = uva_await(uva_chan_send(app->paths, &path), NULL);
      if (err != 0)
        free(path);
    } else {
      free(path); /* symlinks, sockets, ...: skipped */
    }
  }
  scandir_free(sd);
  return err;
}

static int producer(void *arg, uva_result_t *result) {
  app_t *app = arg;
  int err, close_err;

  (void)result;
  err = walk(app, app->root);
  /* drop(tx): the workers get every path sent, then UV_EOF. */
  close_err = uva_chan_close(app->paths);
  return err != 0 ? err : close_err;
}

/* ---- the workers: receive paths, read, count ----------------------------- */

static int worker(void *arg, uva_result_t *result) {
  app_t *app = arg;
  uva_value_t text;
  char *path;
  int err;

  (void)result;
  for (;;) {
    /* while let Ok(path) = rx.recv().await */
    err = uva_await(uva_chan_recv(app->paths, &path), NULL);
    if (err == UV_EOF)
      return 0; /* closed and drained: done */
    if (err != 0) {
      uva_chan_close(app->paths); /* stop the producer too */
      return err;
    }

    /* timeout(5s, fs::read_to_string(path)).await */
    err = uva_await(
        uva_timeout(uva_fs_read_file(app->loop, path), READ_TIMEOUT_MS),
        &text);
    if (err == 0) {
      err = count_words(app, text.ptr);
      uva_buf_free(text.ptr);
      app->done++;
    } else if (err != UV_ECANCELED) {
      fprintf(stderr, "\nwordcount: %s: %s\n", path, uv_strerror(err));
      app->failed++; /* count the others anyway */
      err = 0;
    }
    free(path);
    if (err != 0) {
      uva_chan_close(app->paths);
      return err;
    }
    progress(app);
  }
}

/* ---- main ----------------------------------------------------------------- */

static int by_count_then_word(const void *a, const void *b) {
  const entry_t *x = *(const entry_t *const *)a, *y = *(const entry_t *const *)b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->word, y->word);
}

static int print_top(const app_t *app) {
  const entry_t **all = malloc((app->counts.used + 1) * sizeof(*all));
  size_t i, n = 0;

  if (all == NULL)
    return UV_ENOMEM;
  for (i = 0; i < app->counts.cap; i++)
    if (app->counts.slots[i].word != NULL)
      all[n++] = &app->counts.slots[i];
  qsort(all, n, sizeof(*all), by_count_then_word);
  printf("files: %zu words: %llu\n", app->done, (unsigned long long)app->words);
  for (i = 0; i < n && i < TOP; i++)
    printf("%s %llu\n", all[i]->word, (unsigned long long)all[i]->count);
  free(all);
  return 0;
}

static int wordcount_main(void *arg, uva_result_t *result) {
  app_t *app = arg;
  uva_future_t *tasks[1 + WORKERS];
  uva_result_t results[1 + WORKERS];
  char *left;
  int i, err;

  (void)result;
  err = uva_chan_new(app->loop, sizeof(char *), QUEUE_SIZE, &app->paths);
  if (err != 0)
    return err;

  tasks[0] = uva_spawn(app->loop, producer, app);
  for (i = 1; i <= WORKERS; i++)
    tasks[i] = uva_spawn(app->loop, worker, app);

  /* join_all(producer + workers).await */
  err = uva_await(uva_join(app->loop, tasks, 1 + WORKERS, results), NULL);
  for (i = 0; err == 0 && i <= WORKERS; i++)
    err = results[i].status; /* the first task error, if any */
  fprintf(stderr, "\n");

  /* After a failure paths may be left in the queue: free them. */
  while (uva_chan_try_recv(app->paths, &left) == 0)
    free(left);
  uva_chan_free(app->paths);

  if (err == 0)
    err = print_top(app);
  if (err == 0 && app->failed > 0)
    err = UV_EIO; /* counted what we could, but say so */
  return err;
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  app_t app;
  int err;

  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  err = uv_loop_init(&loop);
  if (err != 0) {
    fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(err));
    return 1;
  }
  memset(&app, 0, sizeof(app));
  app.loop = &loop;
  app.root = argv[1];

  err = uva_block_on(&loop, uva_spawn(&loop, wordcount_main, &app), NULL);
  if (err != 0)
    fprintf(stderr, "wordcount: %s\n", uv_strerror(err));
  table_free(&app.counts);

  if (uv_loop_close(&loop) != 0) {
    fprintf(stderr, "uv_loop_close: loop still has handles or requests\n");
    return 1;
  }
  return err == 0 ? 0 : 1;
}
