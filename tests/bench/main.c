/* uva-bench: runs the workloads of tests/bench/, uva beside raw libuv.
 *
 *   uva-bench [--smoke] [--rounds N] [--no-fork] [--csv F] [--md F]
 *             [--dat F] [--list] [workload[/variant] [size]]
 *
 * Every (case, implementation, round) runs in a fresh child process, so that
 * its peak RSS is its own; within a round uva and raw alternate (raw first on
 * odd rounds).  Reported: medians over the rounds.  Output: one line per
 * result on stdout ("bench=... impl=... ns_op=..."), and on request a
 * markdown table, CSV, and the data file tests/bench/run plots. */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_install_allocators(void);
long bench_peak_kib(void);
int bench_echoloops(int rounds, uint64_t size, int smoke, int fork_it);

static const bench_case_t *const all_cases[] = {
    bench_spawn_cases,      bench_sleep_cases,    bench_chan_cases,
    bench_pingpong_cases,   bench_files_cases,    bench_threadchan_cases,
    bench_blocking_cases,   bench_yield_cases,      bench_tcp_cases,
    bench_sync_cases,       bench_xchan_cases,    bench_remote_cases,
};
#define N_TABLES (sizeof(all_cases) / sizeof(all_cases[0]))

/* What a child reports through its pipe. */
typedef struct child_res {
  int ok;
  char error[120];
  double ns_op;
  double allocs_op;
  double rss_op; /* < 0: not measured */
  long peak_kib;
  double p50_ns, p99_ns; /* 0: not measured */
} child_res_t;

#define MAX_ROUNDS 64

typedef struct stats {
  double ns_op, ops_s, allocs_op, rss_op;
  long peak_kib;
  double p50_ns, p99_ns;
  int ok;
} stats_t;

static int opt_fork = 1;

static void run_in_process(bench_fn fn, uint64_t n, child_res_t *out) {
  bench_run_t r;
  int rc;
  memset(&r, 0, sizeof(r));
  memset(out, 0, sizeof(*out));
  r.n = n;
  r.rss_base_kib = -1;
  rc = fn(&r);
  if (r.ops == 0)
    r.ops = n;
  out->ok = rc == 0 && r.error == NULL && r.t1 >= r.t0 && r.t1 != 0;
  if (!out->ok)
    snprintf(out->error, sizeof(out->error), "%s",
             r.error != NULL ? r.error : "failed (no timing)");
  out->ns_op = (double)(r.t1 - r.t0) / (double)r.ops;
  out->allocs_op = r.a_ops != 0 ? (double)(r.a1 - r.a0) / (double)r.a_ops : 0;
  out->rss_op = -1;
  if (r.live != 0 && r.rss_base_kib >= 0 && r.rss_peak_kib >= 0)
    out->rss_op =
        (double)(r.rss_peak_kib - r.rss_base_kib) * 1024.0 / (double)r.live;
  out->peak_kib = bench_peak_kib();
  out->p50_ns = r.p50_ns;
  out->p99_ns = r.p99_ns;
}

static void run_one(bench_fn fn, uint64_t n, child_res_t *out) {
  int fds[2];
  pid_t pid;
  int st;
  ssize_t got;

  if (!opt_fork) {
    run_in_process(fn, n, out);
    return;
  }
  memset(out, 0, sizeof(*out));
  fflush(NULL);
  if (pipe(fds) != 0 || (pid = fork()) < 0) {
    snprintf(out->error, sizeof(out->error), "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    child_res_t res;
    close(fds[0]);
    run_in_process(fn, n, &res);
    if (write(fds[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
      _exit(3);
    exit(res.ok ? 0 : 1); /* exit: leak checkers run in the child too */
  }
  close(fds[1]);
  do
    got = read(fds[0], out, sizeof(*out));
  while (got < 0 && errno == EINTR);
  close(fds[0]);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (got == (ssize_t)sizeof(*out) && out->ok &&
      !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
    out->ok = 0; /* e.g. a leak checker's verdict after the run */
    snprintf(out->error, sizeof(out->error), "child %s %d after the run",
             WIFSIGNALED(st) ? "killed by signal" : "exited",
             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  } else if (got != (ssize_t)sizeof(*out)) {
    memset(out, 0, sizeof(*out));
    if (WIFSIGNALED(st))
      snprintf(out->error, sizeof(out->error), "child killed by signal %d",
               WTERMSIG(st));
    else
      snprintf(out->error, sizeof(out->error), "child exited %d",
               WEXITSTATUS(st));
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void summarize(const child_res_t *res, int rounds, stats_t *s) {
  double ns[MAX_ROUNDS], al[MAX_ROUNDS], rs[MAX_ROUNDS], pk[MAX_ROUNDS];
  double p50[MAX_ROUNDS], p99[MAX_ROUNDS];
  memset(s, 0, sizeof(*s));
  s->ok = 1;
  for (int i = 0; i < rounds; i++) {
    ns[i] = res[i].ns_op;
    al[i] = res[i].allocs_op;
    rs[i] = res[i].rss_op;
    pk[i] = (double)res[i].peak_kib;
    p50[i] = res[i].p50_ns;
    p99[i] = res[i].p99_ns;
    if (!res[i].ok)
      s->ok = 0;
  }
  s->ns_op = median(ns, rounds);
  s->ops_s = s->ns_op > 0 ? 1e9 / s->ns_op : 0;
  s->allocs_op = median(al, rounds);
  s->rss_op = median(rs, rounds);
  s->peak_kib = (long)median(pk, rounds);
  s->p50_ns = median(p50, rounds);
  s->p99_ns = median(p99, rounds);
}

/* ---- output --------------------------------------------------------------- */

static FILE *csv, *md, *dat;

static void fmt_rss(char *buf, size_t len, double v) {
  if (v < 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.0f", v);
}

/* Fills why with the missed targets, or "met"; "-" when there are none. */
static void check_target(const bench_case_t *c, const stats_t *u,
                         const stats_t *w, char *why, size_t len) {
  const bench_target_t *t = &c->target;
  size_t k = 0;
  int any = 0;
  why[0] = '\0';
#define MISS(...) (k += (size_t)snprintf(why + k, k < len ? len - k : 0, __VA_ARGS__))
  if (t->max_ratio > 0 && w != NULL) {
    any = 1;
    if (u->ns_op / w->ns_op > t->max_ratio)
      MISS("%sratio>%.2f", k ? "," : "", t->max_ratio);
  }
  if (t->max_ns > 0) {
    any = 1;
    if (u->ns_op > t->max_ns)
      MISS("%sns_op>%.0f", k ? "," : "", t->max_ns);
  }
  if (t->max_rss > 0 && u->rss_op >= 0) {
    any = 1;
    if (u->rss_op > t->max_rss)
      MISS("%srss_op>%.0f", k ? "," : "", t->max_rss);
  }
  if (t->max_allocs >= 0) {
    any = 1;
    if (u->allocs_op > t->max_allocs + 0.0005)
      MISS("%sallocs_op>%g", k ? "," : "", t->max_allocs);
  }
#undef MISS
  if (!any)
    snprintf(why, len, "-");
  else if (k == 0)
    snprintf(why, len, "met");
  else if (k >= len && len > 4)
    memcpy(why + len - 4, "...", 4);
}

static void print_line(const bench_case_t *c, const char *impl, uint64_t n,
                       int rounds, const stats_t *s, const stats_t *raw,
                       const char *target) {
  char rss[32];
  fmt_rss(rss, sizeof(rss), s->rss_op);
  printf("bench=%s variant=%s impl=%s n=%llu rounds=%d ns_op=%.2f ops_s=%.0f "
         "rss_op=%s peak_kib=%ld allocs_op=%.3f",
         c->bench, c->variant, impl, (unsigned long long)n, rounds, s->ns_op,
         s->ops_s, rss, s->peak_kib, s->allocs_op);
  if (raw != NULL)
    printf(" ratio=%.3f", s->ns_op / raw->ns_op);
  else
    printf(" ratio=-");
  if (s->p50_ns > 0)
    printf(" p50_us=%.1f p99_us=%.1f", s->p50_ns / 1e3, s->p99_ns / 1e3);
  printf(" target=%s status=%s\n", target, s->ok ? "ok" : "FAILED");
  if (csv != NULL) {
    char ratio[32] = "";
    if (raw != NULL)
      snprintf(ratio, sizeof(ratio), "%.3f", s->ns_op / raw->ns_op);
    fprintf(csv, "%s,%s,%s,%llu,%d,%.2f,%.0f,%s,%ld,%.3f,%s,%s\n", c->bench,
            c->variant, impl, (unsigned long long)n, rounds, s->ns_op,
            s->ops_s, s->rss_op < 0 ? "" : rss, s->peak_kib, s->allocs_op,
            ratio, s->ok ? "ok" : "FAILED");
  }
  fflush(stdout);
}

static void md_row(const bench_case_t *c, uint64_t n, const stats_t *u,
                   const stats_t *w, const char *target) {
  char ur[32], wr[32];
  if (md == NULL)
    return;
  fmt_rss(ur, sizeof(ur), u->rss_op);
  fmt_rss(wr, sizeof(wr), w != NULL ? w->rss_op : -1);
  fprintf(md, "| %s | %s | %llu | %.2f | ", c->bench, c->variant,
          (unsigned long long)n, u->ns_op);
  if (w != NULL)
    fprintf(md, "%.2f | %.3f | ", w->ns_op, u->ns_op / w->ns_op);
  else
    fprintf(md, "- | - | ");
  fprintf(md, "%.3g | %s | %s | %.3f | ", u->ops_s, ur, wr, u->allocs_op);
  if (w != NULL)
    fprintf(md, "%.3f | ", w->allocs_op);
  else
    fprintf(md, "- | ");
  fprintf(md, "%.1f | ", (double)u->peak_kib / 1024);
  if (w != NULL)
    fprintf(md, "%.1f | ", (double)w->peak_kib / 1024);
  else
    fprintf(md, "- | ");
  fprintf(md, "%s |\n", target);
  fflush(md);
}

/* ---- driver --------------------------------------------------------------- */

static int run_case(const bench_case_t *c, uint64_t n, int rounds) {
  child_res_t ures[MAX_ROUNDS], wres[MAX_ROUNDS];
  stats_t u, w;
  char target[160];
  int failed = 0;

  for (int k = 0; k < rounds; k++) {
    if (c->raw != NULL && k % 2 == 1)
      run_one(c->raw, n, &wres[k]);
    run_one(c->uva, n, &ures[k]);
    if (c->raw != NULL && k % 2 == 0)
      run_one(c->raw, n, &wres[k]);
    if (!ures[k].ok) {
      fprintf(stderr, "uva-bench: %s/%s uva round %d: %s\n", c->bench,
              c->variant, k, ures[k].error);
      failed = 1;
    }
    if (c->raw != NULL && !wres[k].ok) {
      fprintf(stderr, "uva-bench: %s/%s raw round %d: %s\n", c->bench,
              c->variant, k, wres[k].error);
      failed = 1;
    }
    if (failed)
      return -1;
  }
  summarize(ures, rounds, &u);
  if (c->raw != NULL)
    summarize(wres, rounds, &w);
  check_target(c, &u, c->raw != NULL ? &w : NULL, target, sizeof(target));
  print_line(c, "uva", n, rounds, &u, c->raw != NULL ? &w : NULL, target);
  if (c->raw != NULL)
    print_line(c, "raw", n, rounds, &w, NULL, "-");
  md_row(c, n, &u, c->raw != NULL ? &w : NULL, target);
  if (dat != NULL) {
    fprintf(dat, "\"%s %s\" %.4f ", c->bench, c->variant, u.ns_op);
    if (c->raw != NULL)
      fprintf(dat, "%.4f\n", w.ns_op);
    else
      fprintf(dat, "NaN\n");
    fflush(dat);
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: uva-bench [--smoke] [--rounds N] [--no-fork] [--csv FILE]\n"
          "                 [--md FILE] [--dat FILE] [--list] [workload "
          "[size]]\n"
          "workloads:");
  for (size_t t = 0; t < N_TABLES; t++)
    fprintf(f, " %s", all_cases[t][0].bench);
  fprintf(f, " echoloops\n");
}

static FILE *open_out(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "uva-bench: %s: %s\n", path, strerror(errno));
    exit(2);
  }
  return f;
}

/* "workload" selects every variant of it, "workload/variant" one. */
static int case_matches(const char *only, const bench_case_t *c) {
  size_t n = strlen(c->bench);
  if (strncmp(only, c->bench, n) != 0)
    return 0;
  return only[n] == '\0' || (only[n] == '/' && strcmp(only + n + 1, c->variant) == 0);
}

int main(int argc, char **argv) {
  int smoke = 0, rounds = -1, list = 0, failed = 0, matched = 0;
  const char *only = NULL;
  uint64_t size = 0;

  if (bench_install_allocators() != 0) {
    fprintf(stderr, "uva-bench: cannot install the counting allocators\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--smoke") == 0)
      smoke = 1;
    else if (strcmp(a, "--no-fork") == 0)
      opt_fork = 0;
    else if (strcmp(a, "--list") == 0)
      list = 1;
    else if (strcmp(a, "--rounds") == 0 && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (strcmp(a, "--csv") == 0 && i + 1 < argc)
      csv = open_out(argv[++i]);
    else if (strcmp(a, "--md") == 0 && i + 1 < argc)
      md = open_out(argv[++i]);
    else if (strcmp(a, "--dat") == 0 && i + 1 < argc)
      dat = open_out(argv[++i]);
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-') {
      usage(stderr);
      return 2;
    } else if (only == NULL)
      only = a;
    else if (size == 0) {
      char *end;
      size = strtoull(a, &end, 10);
      if (*end != '\0' || size == 0) {
        fprintf(stderr, "uva-bench: bad size %s\n", a);
        return 2;
      }
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (rounds < 0)
    rounds = smoke ? 1 : 5;
  if (rounds < 1 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "uva-bench: rounds must be 1..%d\n", MAX_ROUNDS);
    return 2;
  }
  if (csv != NULL)
    fprintf(csv, "bench,variant,impl,n,rounds,ns_op,ops_s,rss_op,peak_kib,"
                 "allocs_op,ratio,status\n");
  if (md != NULL)
    fprintf(md,
            "| workload | variant | n | uva ns/op | raw ns/op | uva/raw | "
            "uva ops/s | uva B/obj | raw B/obj | uva allocs/op | "
            "raw allocs/op | uva peak MiB | raw peak MiB | targets |\n"
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  for (size_t t = 0; t < N_TABLES; t++)
    for (const bench_case_t *c = all_cases[t]; c->bench != NULL; c++) {
      uint64_t n = size != 0 ? size : smoke ? c->smoke : c->size;
      if (only != NULL && !case_matches(only, c))
        continue;
      matched++;
      if (list) {
        printf("%s %s: %llu x %s (smoke %llu)\n", c->bench, c->variant,
               (unsigned long long)c->size, c->unit,
               (unsigned long long)c->smoke);
        continue;
      }
      if (run_case(c, n, rounds) != 0)
        failed = 1;
    }
  /* The echo server on 1 and 2 loops (loops.c): its own driver, since it
   * compares two uva configurations and measures CPU per thread. */
  if (only == NULL || strcmp(only, "echoloops") == 0) {
    matched++;
    if (list)
      printf("echoloops loops1/loops2: 300000 x request on 1000 connections "
             "(smoke 2000 on 50)\n");
    else if (bench_echoloops(rounds, size, smoke, opt_fork) != 0)
      failed = 1;
  }
  if (matched == 0) {
    fprintf(stderr, "uva-bench: no workload named %s\n", only);
    usage(stderr);
    return 2;
  }
  if (csv != NULL)
    fclose(csv);
  if (md != NULL)
    fclose(md);
  if (dat != NULL)
    fclose(dat);
  return failed;
}
