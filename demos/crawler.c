/* A rate-limited "web" crawler over local files, as a Tokio user would write
 * it with a JoinSet, a CancellationToken, an interval and a Semaphore.
 *
 * Pages are files; a line "link: NAME" links to the file NAME next to it.
 * With no START file the demo makes a site of 40 pages (and 4 broken links)
 * in a temporary directory and crawls it from page0.txt.
 *
 *   crawler [START] [--rate N] [--concurrency N] [--delay MS]
 *           [--deadline MS] [--verbose]
 *
 * Structure:
 *  - every fetch is a task in a task group (uva_group_t, JoinSet);
 *  - the crawl loop waits on select { next rate-limit tick, next finished
 *    fetch }: a tick that loses leaves no tick lost, a join_next that loses
 *    leaves the finished fetch in the group (both are cancel safe);
 *  - at most --concurrency fetches read at a time: a Semaphore of that many
 *    permits (uva_semaphore_acquire_wait / uva_semaphore_release);
 *  - a cancellation token, cancelled on SIGINT (uva_signal) or at the
 *    --deadline, is bound to the group and to the crawl task: everything
 *    stops, each fetch cleans up (gives back its permit);
 *  - each fetch keeps its page name in a task-local value, which its log
 *    lines (--verbose) read, as tracing spans would.
 *
 * Output: one line per page crawled, sorted by name, and a summary; exit
 * status 0 when the crawl finished, 1 when it was cancelled. */
#include <uva.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SITE_PAGES 40
#define MAX_PAGES 4096

typedef struct {
  uv_loop_t *loop;
  char dir[4096];        /* the site's directory */
  uva_semaphore_t *permits; /* --concurrency permits */
  uint64_t delay_ms;     /* each fetch takes at least this long */
  int verbose;
} crawl_t;

/* What a fetch finds on a page. */
typedef struct {
  char *name;
  int words;
  int nlinks;
  char **links;
} page_t;

static void page_free(void *p) {
  page_t *pg = p;
  int i;
  if (pg == NULL)
    return;
  for (i = 0; i < pg->nlinks; i++)
    free(pg->links[i]);
  free(pg->links);
  free(pg->name);
  free(pg);
}

/* ---- the task-local page name, for log lines ---------------------------- */

static int page_key;

static void logf_page(const crawl_t *c, const char *what) {
  const char *name = uva_task_local_get(&page_key);
  if (c->verbose)
    fprintf(stderr, "[%s] %s\n", name != NULL ? name : "?", what);
}

/* ---- one fetch ------------------------------------------------------------- */

/* A fetch's argument lives in the crawl's state, not in the task: a task
 * cancelled before it ran never sees it, and nothing leaks. */
typedef struct {
  crawl_t *c;
  const char *name;
} fetch_arg_t;

static page_t *parse(const char *name, const char *text) {
  page_t *pg = calloc(1, sizeof(*pg));
  const char *p = text;

  pg->name = strdup(name);
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
    if (len > 6 && strncmp(p, "link: ", 6) == 0) {
      pg->links = realloc(pg->links, sizeof(char *) * (size_t)(pg->nlinks + 1));
      pg->links[pg->nlinks++] = strndup(p + 6, len - 6);
    } else {
      size_t i;
      int in = 0;
      for (i = 0; i < len; i++) {
        int sp = p[i] == ' ' || p[i] == '\t';
        if (!sp && !in)
          pg->words++;
        in = !sp;
      }
    }
    p += len + (eol != NULL);
  }
  return pg;
}

static int fetch_body(void *arg, uva_result_t *result) {
  fetch_arg_t *a = arg;
  crawl_t *c = a->c;
  char path[8192];
  uva_value_t v;
  int err;

  /* the task's own copy of its page name, freed when the task ends */
  char *name = strdup(a->name);
  if (name == NULL || uva_task_local_set(&page_key, name, free) != 0) {
    free(name);
    return UV_ENOMEM;
  }
  /* acquire a permit (Semaphore::acquire) */
  if ((err = uva_semaphore_acquire_wait(c->permits, 1)) != 0)
    return err; /* cancelled while waiting: it holds no permit */
  logf_page(c, "fetching");
  snprintf(path, sizeof(path), "%s/%s", c->dir,
           (const char *)uva_task_local_get(&page_key));
  err = uva_await(uva_fs_read_file(c->loop, path), &v);
  if (err == 0 && c->delay_ms > 0) {
    int e2 = uva_await(uva_sleep(c->loop, c->delay_ms), NULL);
    if (e2 != 0) {
      uva_buf_free(v.ptr);
      err = e2;
    }
  }
  uva_semaphore_release(c->permits, 1);
  if (err != 0) {
    logf_page(c, uv_strerror(err));
    return err;
  }
  result->value.ptr =
      parse(uva_task_local_get(&page_key), ((uva_buf_t *)v.ptr)->base);
  result->free_fn = page_free;
  uva_buf_free(v.ptr);
  logf_page(c, "done");
  return 0;
}

/* ---- the crawl ------------------------------------------------------------- */

typedef struct {
  crawl_t *c;
  uva_group_t *group;
  uva_interval_t *rate;
  const char *start;
  /* results */
  char *seen[MAX_PAGES];
  int nseen;
  char *frontier[MAX_PAGES];
  int nfront;
  page_t *pages[MAX_PAGES];
  int npages;
  fetch_arg_t args[MAX_PAGES];
  int nargs;
  int broken, words;
} crawl_state_t;

static void visit(crawl_state_t *s, const char *name) {
  int i;
  if (s->nseen == MAX_PAGES)
    return;
  for (i = 0; i < s->nseen; i++)
    if (strcmp(s->seen[i], name) == 0)
      return;
  s->seen[s->nseen] = strdup(name);
  s->frontier[s->nfront++] = s->seen[s->nseen++];
}

static int spawn_fetch(crawl_state_t *s) {
  fetch_arg_t *a = &s->args[s->nargs++];

  a->c = s->c;
  a->name = s->frontier[--s->nfront]; /* also in seen[], freed at the end */
  return uva_group_spawn(s->group, fetch_body, a, NULL, NULL);
}

static void finished(crawl_state_t *s, uva_result_t *r) {
  page_t *pg;
  int i;

  if (r->status == UV_ENOENT) {
    s->broken++;
    return;
  }
  if (r->status != 0)
    return; /* cancelled */
  pg = r->value.ptr;
  s->pages[s->npages++] = pg;
  s->words += pg->words;
  for (i = 0; i < pg->nlinks; i++)
    visit(s, pg->links[i]);
}

static int crawl_body(void *arg, uva_result_t *result) {
  crawl_state_t *s = arg;
  int err = 0;

  (void)result;
  visit(s, s->start);
  while (s->nfront > 0 || uva_group_running(s->group) > 0) {
    uva_result_t done, win;
    uva_value_t v;
    if (s->nfront > 0 && uva_group_running(s->group) == 0) {
      /* nothing to wait for but the rate limit */
      if ((err = uva_await(uva_interval_tick(s->rate), NULL)) != 0 ||
          (err = spawn_fetch(s)) != 0)
        break;
      continue;
    }
    if (s->nfront > 0) {
      /* the next tick of the rate limit, or a fetch that finished first */
      uva_future_t *fs[2];
      fs[0] = uva_interval_tick(s->rate);
      fs[1] = uva_group_join_next(s->group, &done);
      if ((err = uva_await(uva_select(s->c->loop, fs, 2, &win), &v)) != 0)
        break;
      if (v.u64 == 0) {
        if ((err = spawn_fetch(s)) != 0)
          break;
        continue;
      }
      if (win.status != 0) {
        err = win.status;
        break;
      }
    } else if ((err = uva_await(uva_group_join_next(s->group, &done), NULL)) !=
               0)
      break;
    finished(s, &done);
  }
  return err;
}

/* ---- cancellation: SIGINT and the deadline ---------------------------------- */

typedef struct {
  uva_token_t *token;
  const char *why;
  const char **stopped; /* set to why when this one cancelled */
} watch_t;

static void watch_cb(int status, uva_value_t value, void *data) {
  watch_t *w = data;
  (void)value;
  if (status == 0 && !uva_token_is_cancelled(w->token)) {
    *w->stopped = w->why;
    uva_token_cancel(w->token);
  }
}

/* ---- the site ------------------------------------------------------------- */

static int make_site(char *dir, size_t n) {
  char path[8192];
  int i, k;

  snprintf(dir, n, "%s/uva-crawler.XXXXXX",
           getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
  if (mkdtemp(dir) == NULL)
    return -1;
  for (i = 0; i < SITE_PAGES; i++) {
    FILE *f;
    snprintf(path, sizeof(path), "%s/page%d.txt", dir, i);
    f = fopen(path, "w");
    if (f == NULL)
      return -1;
    fprintf(f, "link: page%d.txt\n", (i * 7 + 1) % SITE_PAGES);
    fprintf(f, "link: page%d.txt\n", (i * 3 + 2) % SITE_PAGES);
    if (i + 1 < SITE_PAGES)
      fprintf(f, "link: page%d.txt\n", i + 1);
    if (i % 13 == 0)
      fprintf(f, "link: missing%d.txt\n", i);
    for (k = 0; k < i + 5; k++)
      fprintf(f, "%s", k % 8 == 7 ? "word\n" : "word ");
    fprintf(f, "\n");
    fclose(f);
  }
  return 0;
}

static void remove_site(const char *dir) {
  char path[8192];
  int i;
  for (i = 0; i < SITE_PAGES; i++) {
    snprintf(path, sizeof(path), "%s/page%d.txt", dir, i);
    unlink(path);
  }
  rmdir(dir);
}

static int by_name(const void *a, const void *b) {
  const page_t *x = *(page_t *const *)a, *y = *(page_t *const *)b;
  return strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  crawl_t c;
  static crawl_state_t s;
  const char *start = NULL, *stopped = NULL;
  uint64_t rate = 200, deadline = 0;
  int concurrency = 4, i, err, own_site = 0;
  uva_token_t *token;
  watch_t on_sig, on_deadline;

  memset(&c, 0, sizeof(c));
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
      rate = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc)
      concurrency = atoi(argv[++i]);
    else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
      c.delay_ms = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--deadline") == 0 && i + 1 < argc)
      deadline = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--verbose") == 0)
      c.verbose = 1;
    else if (argv[i][0] != '-' && start == NULL)
      start = argv[i];
    else {
      fprintf(stderr,
              "usage: crawler [START] [--rate N] [--concurrency N] "
              "[--delay MS] [--deadline MS] [--verbose]\n");
      return 2;
    }
  }
  if (rate == 0 || rate > 1000 || concurrency < 1)
    return 2;
  if (start == NULL) {
    if (make_site(c.dir, sizeof(c.dir)) != 0) {
      perror("crawler: making the site");
      return 2;
    }
    own_site = 1;
    start = "page0.txt";
  } else {
    const char *slash = strrchr(start, '/');
    if (slash != NULL) {
      snprintf(c.dir, sizeof(c.dir), "%.*s", (int)(slash - start), start);
      start = slash + 1;
    } else
      snprintf(c.dir, sizeof(c.dir), ".");
  }

  uv_loop_init(&loop);
  c.loop = &loop;
  s.c = &c;
  s.start = start;
  uva_semaphore_new(&loop, (size_t)concurrency, &c.permits);
  uva_group_new(&loop, &s.group);
  uva_interval_new(&loop, 1000 / rate > 0 ? 1000 / rate : 1, UVA_TICK_BURST,
                   &s.rate);

  /* The token: SIGINT or the deadline cancel it; it cancels the group's
   * fetches and the crawl task. */
  uva_token_new(&loop, &token);
  uva_group_bind_token(s.group, token);
  on_sig = (watch_t){token, "SIGINT", &stopped};
  uva_future_then(uva_token_bind(token, uva_signal(&loop, SIGINT)), watch_cb,
                  &on_sig);
  if (deadline > 0) {
    on_deadline = (watch_t){token, "deadline", &stopped};
    uva_future_then(uva_token_bind(token, uva_sleep(&loop, deadline)),
                    watch_cb, &on_deadline);
  }
  printf("crawling %s from %s, %d at a time, %d pages/s\n",
         own_site ? "a site of 40 pages" : c.dir, start, concurrency,
         (int)rate);
  fflush(stdout);

  err = uva_block_on(&loop, uva_token_bind(token, uva_spawn(&loop, crawl_body,
                                                             &s)),
                     NULL);
  /* Stop the watchers, wait for every fetch to clean up. */
  uva_token_cancel(token);
  uva_group_cancel(s.group);
  uva_block_on(&loop, uva_group_wait(s.group), NULL);
  for (;;) {
    uva_result_t r;
    if (uva_block_on(&loop, uva_group_join_next(s.group, &r), NULL) != 0)
      break;
    finished(&s, &r);
  }

  qsort(s.pages, (size_t)s.npages, sizeof(page_t *), by_name);
  for (i = 0; i < s.npages; i++)
    printf("%s: %d words, %d links\n", s.pages[i]->name, s.pages[i]->words,
           s.pages[i]->nlinks);
  if (stopped != NULL)
    printf("stopped by %s after %d pages\n", stopped, s.npages);
  else if (err != 0)
    printf("crawl failed: %s\n", uv_strerror(err));
  printf("crawled %d pages, %d words, %d broken links\n", s.npages, s.words,
         s.broken);

  for (i = 0; i < s.npages; i++)
    page_free(s.pages[i]);
  for (i = 0; i < s.nseen; i++)
    free(s.seen[i]);
  uva_group_free(s.group);
  uva_interval_free(s.rate);
  uva_token_free(token);
  uva_semaphore_free(c.permits);
  uva_loop_shutdown(&loop, 1000, NULL);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "crawler: uv_loop_close failed\n");
  if (own_site)
    remove_site(c.dir);
  return stopped != NULL || err != 0 ? 1 : 0;
}
