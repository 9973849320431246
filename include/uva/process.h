/* uva child processes (tokio::process::Command).  Included by uva.h. */
#ifndef UVA_PROCESS_H
#define UVA_PROCESS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uva_process_s uva_process_t;

/* What to give a child's stdin, stdout or stderr. */
typedef enum {
  UVA_STDIO_INHERIT = 0, /* the parent's own descriptor */
  UVA_STDIO_NULL,        /* /dev/null */
  UVA_STDIO_PIPE         /* a pipe, the parent's end a uva stream */
} uva_stdio_t;

/* Kills the child (SIGKILL) when its uva_process_t is freed while it runs. */
#define UVA_PROCESS_KILL_ON_FREE 1u
/* uv_process_options_t's UV_PROCESS_DETACHED. */
#define UVA_PROCESS_DETACHED 2u

typedef struct uva_process_opts {
  const char *file;        /* program; searched in PATH when it has no '/' */
  char **args;             /* argv, NULL-terminated; args[0] by convention
                              the program's name (NULL: { file, NULL }) */
  char **env;              /* NULL-terminated "K=V"; NULL: the parent's */
  const char *cwd;         /* NULL: the parent's */
  uva_stdio_t stdio[3];    /* stdin, stdout, stderr */
  unsigned int flags;      /* UVA_PROCESS_* */
} uva_process_opts_t;

/* Starts a child process and stores it in *out. */
UVA_EXTERN int uva_process_spawn(uv_loop_t *loop,
                                 const uva_process_opts_t *opts,
                                 uva_process_t **out);

/* The parent's end of the child's stdin (fd 0), stdout (1) or stderr (2)
 * when it is UVA_STDIO_PIPE, else NULL.  The stream belongs to the process
 * and is freed with it, unless taken out with uva_process_take_stream. */
UVA_EXTERN uva_stream_t *uva_process_stream(uva_process_t *p, int fd);

/* Takes the stream of fd out of p: the caller frees it from now on. */
UVA_EXTERN uva_stream_t *uva_process_take_stream(uva_process_t *p, int fd);

/* The child's process id. */
UVA_EXTERN int uva_process_pid(const uva_process_t *p);

/* Macros over the value uva_process_wait settles with. */
#define UVA_EXIT_STATUS(v) ((int64_t)(int32_t)((v) & 0xffffffffu))
#define UVA_EXIT_SIGNAL(v) ((int)((v) >> 32))

/* Settles with value.u64 = exit status | terminating signal << 32 once the
 * child has exited (it is reaped: no zombie). */
UVA_EXTERN uva_future_t *uva_process_wait(uva_process_t *p);

/* Sends signum to the child. */
UVA_EXTERN int uva_process_kill(uva_process_t *p, int signum);

/* Frees p and its streams.  NULL is allowed. */
UVA_EXTERN void uva_process_free(uva_process_t *p);

#ifdef __cplusplus
}
#endif
#endif /* UVA_PROCESS_H */
