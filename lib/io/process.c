/* Child processes: one uv_process_t per uva_process_t, the exit as a
 * future, the child's stdio pipes as uva streams (uva__stream_new_pipe).
 *
 * libuv reaps the child (waitpid from its SIGCHLD watcher) before it calls
 * exit_cb, so a process whose handle stays open until the exit never leaves
 * a zombie.  That is why the handle stays open until the child has exited,
 * even after uva_process_free: it is referenced then, so the program's
 * uv_run returns only once the child has exited and been reaped (killed
 * first with UVA_PROCESS_KILL_ON_FREE).  While the user holds the process,
 * its handle is referenced only while a uva_process_wait is pending. */
#include "internal.h"
#include "stream-internal.h"

#include <signal.h>

typedef struct uva__pwait_s uva__pwait_t;

struct uva_process_s {
  uv_process_t proc;
  uva__loop_t *L;
  size_t refs; /* the user's, the open handle's, one per wait future */
  int freed;
  int exited;
  int refd;
  int pid;
  unsigned int flags;
  uint64_t result; /* exit status | terminating signal << 32 */
  uva_stream_t *streams[3];
  uva__pwait_t *waiters;
};

struct uva__pwait_s {
  uva_future_t base;
  uva_process_t *p;
  uva__pwait_t *next;
};

static void proc_unref(uva_process_t *p) {
  if (--p->refs == 0)
    uva__obj_free(p->L, p, sizeof(*p));
}

static void proc_close_cb(uv_handle_t *h) {
  uva_process_t *p = uva__container_of(h, uva_process_t, proc);
  uva__closed(p->L);
  proc_unref(p);
}

/* Referenced while someone waits for the exit, or once freed while the
 * child runs (so that uv_run reaps it before it returns). */
static void proc_update(uva_process_t *p) {
  int want = !p->exited && (p->waiters != NULL || p->freed);
  if (p->exited)
    return;
  if (want && !p->refd)
    uv_ref((uv_handle_t *)&p->proc);
  else if (!want && p->refd)
    uv_unref((uv_handle_t *)&p->proc);
  p->refd = want;
}

static void exit_cb(uv_process_t *h, int64_t exit_status, int term_signal) {
  uva_process_t *p = uva__container_of(h, uva_process_t, proc);
  uva__loop_t *L = p->L;
  uva__pwait_t *w;
  uva_value_t v;

  uva__cb_enter(L);
  p->exited = 1;
  p->result = (uint64_t)(uint32_t)exit_status |
              ((uint64_t)(uint32_t)term_signal << 32);
  uva__close(L, (uv_handle_t *)&p->proc, proc_close_cb); /* reaped */
  v.u64 = p->result;
  while ((w = p->waiters) != NULL) {
    p->waiters = w->next;
    w->next = NULL;
    uva__settle(&w->base, 0, v, NULL);
  }
  uva__cb_leave(L);
}

/* ---- the exit future ---------------------------------------------------- */

static void wait_cancel(uva_future_t *f) {
  uva__pwait_t *w = (uva__pwait_t *)f, **pp;
  uva_process_t *p = w->p;

  for (pp = &p->waiters; *pp != NULL; pp = &(*pp)->next)
    if (*pp == w) {
      *pp = w->next;
      break;
    }
  w->next = NULL;
  proc_update(p);
  uva__settle_err(f, UV_ECANCELED);
}

static void wait_release(uva_future_t *f) {
  uva_process_t *p = ((uva__pwait_t *)f)->p;
  uva__future_free_mem(f, sizeof(uva__pwait_t));
  proc_unref(p);
}

static const uva__ops_t wait_ops = {
    .name = "process_wait",
    .cancel = wait_cancel,
    .release = wait_release,
};

/* ---- public API --------------------------------------------------------- */

static int stdio_ok(uva_stdio_t s) {
  return s == UVA_STDIO_INHERIT || s == UVA_STDIO_NULL || s == UVA_STDIO_PIPE;
}

int uva_process_spawn(uv_loop_t *loop, const uva_process_opts_t *opts,
                      uva_process_t **out) {
  uva__loop_t *L;
  uva_process_t *p;
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  char *default_args[2];
  uv_pipe_t *pipe;
  int i, err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || opts == NULL || out == NULL || opts->file == NULL ||
      opts->file[0] == '\0' ||
      (opts->flags & ~(UVA_PROCESS_KILL_ON_FREE | UVA_PROCESS_DETACHED)))
    return UV_EINVAL;
  for (i = 0; i < 3; i++)
    if (!stdio_ok(opts->stdio[i]))
      return UV_EINVAL;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  p = uva__obj_alloc(L, sizeof(*p));
  if (p == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  memset(p, 0, sizeof(*p));
  p->L = L;
  p->flags = opts->flags;
  memset(stdio, 0, sizeof(stdio));
  for (i = 0; i < 3; i++) {
    switch (opts->stdio[i]) {
    case UVA_STDIO_INHERIT:
      stdio[i].flags = UV_INHERIT_FD;
      stdio[i].data.fd = i;
      break;
    case UVA_STDIO_NULL:
      stdio[i].flags = UV_IGNORE; /* libuv gives the child /dev/null */
      break;
    case UVA_STDIO_PIPE:
      p->streams[i] = uva__stream_new_pipe(L, &pipe);
      if (p->streams[i] == NULL) {
        err = UV_ENOMEM;
        goto fail;
      }
      stdio[i].flags = (uv_stdio_flags)(
          UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE));
      stdio[i].data.stream = (uv_stream_t *)pipe;
      break;
    }
  }
  memset(&o, 0, sizeof(o));
  default_args[0] = (char *)opts->file;
  default_args[1] = NULL;
  o.exit_cb = exit_cb;
  o.file = opts->file;
  o.args = opts->args != NULL ? opts->args : default_args;
  o.env = opts->env;
  o.cwd = opts->cwd;
  o.flags = (opts->flags & UVA_PROCESS_DETACHED) ? UV_PROCESS_DETACHED : 0;
  o.stdio_count = 3;
  o.stdio = stdio;
  if (opts->stdio[1] == UVA_STDIO_PIPE || opts->stdio[2] == UVA_STDIO_PIPE ||
      opts->stdio[0] == UVA_STDIO_PIPE)
    uva__stream_sigpipe(); /* a write to a child that has gone: UV_EPIPE */
  err = uv_spawn(loop, &p->proc, &o);
  if (err != 0) {
    /* libuv made the handle: it goes through its close callback */
    p->exited = 1;
    p->refs = 1;
    uva__close(L, (uv_handle_t *)&p->proc, proc_close_cb);
    for (i = 0; i < 3; i++)
      uva_stream_free(p->streams[i]);
    return err;
  }
  p->pid = p->proc.pid;
  p->refs = 2; /* the user's and the handle's */
  uv_unref((uv_handle_t *)&p->proc);
  *out = p;
  return 0;

fail:
  for (i = 0; i < 3; i++)
    uva_stream_free(p->streams[i]);
  uva__obj_free(L, p, sizeof(*p));
  return err;
}

uva_stream_t *uva_process_stream(uva_process_t *p, int fd) {
  if (p == NULL || p->freed || fd < 0 || fd > 2)
    return NULL;
  return p->streams[fd];
}

uva_stream_t *uva_process_take_stream(uva_process_t *p, int fd) {
  uva_stream_t *s = uva_process_stream(p, fd);
  if (s != NULL)
    p->streams[fd] = NULL;
  return s;
}

int uva_process_pid(const uva_process_t *p) {
  return p != NULL ? p->pid : UV_EINVAL;
}

uva_future_t *uva_process_wait(uva_process_t *p) {
  uva__pwait_t *w;
  uva_value_t v;

  if (p == NULL)
    return uva__failed(NULL, UV_EINVAL);
  if (p->freed)
    return uva__failed(p->L, UV_EBADF);
  w = (uva__pwait_t *)uva__future_alloc(p->L, &wait_ops, sizeof(*w));
  if (w == NULL)
    return uva__failed(p->L, UV_ENOMEM);
  w->p = p;
  p->refs++;
  if (p->exited) {
    v.u64 = p->result;
    uva__settle(&w->base, 0, v, NULL);
    return &w->base;
  }
  w->next = p->waiters;
  p->waiters = w;
  proc_update(p);
  return &w->base;
}

int uva_process_kill(uva_process_t *p, int signum) {
  if (p == NULL)
    return UV_EINVAL;
  if (p->freed)
    return UV_EBADF;
  if (p->exited)
    return UV_ESRCH;
  return uv_process_kill(&p->proc, signum);
}

void uva_process_free(uva_process_t *p) {
  uva__pwait_t *w;
  int i;

  if (p == NULL || p->freed)
    return;
  p->freed = 1;
  for (i = 0; i < 3; i++) {
    uva_stream_free(p->streams[i]);
    p->streams[i] = NULL;
  }
  while ((w = p->waiters) != NULL) {
    p->waiters = w->next;
    w->next = NULL;
    uva__settle_err(&w->base, UV_ECANCELED);
  }
  if (!p->exited) {
    if (p->flags & UVA_PROCESS_KILL_ON_FREE)
      uv_process_kill(&p->proc, SIGKILL);
    proc_update(p); /* referenced until the child exits and is reaped */
  }
  proc_unref(p);
}
