/** @file
 * uva child processes (tokio::process::Command, Child).  Included by uva.h;
 * may also be included on its own.  Every call is made on the loop's
 * thread.
 *
 * No zombie is ever left: libuv reaps the child (waitpid, from its SIGCHLD
 * watcher) the next time the loop runs after the child exits, and uva
 * keeps the process's uv_process_t open until then, also after
 * uva_process_free.  Freeing a process whose child still runs:
 *  - with UVA_PROCESS_KILL_ON_FREE the child is sent SIGKILL;
 *  - without it the child runs on.
 * In both cases the handle stays open and referenced until the child has
 * exited and been reaped, so the program's uv_run (or its next one) returns
 * only after that, and uv_loop_close then returns 0.  Kill the child first
 * (uva_process_kill) or use UVA_PROCESS_KILL_ON_FREE not to wait for it.
 * While the program holds the process, its handle keeps uv_run alive only
 * while a uva_process_wait is pending. */
#ifndef UVA_PROCESS_H
#define UVA_PROCESS_H

#include "uva/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A child process (uva_process_spawn); freed with uva_process_free. */
typedef struct uva_process_s uva_process_t;

/** What to give a child's stdin, stdout or stderr. */
typedef enum {
  UVA_STDIO_INHERIT = 0, /**< the parent's own descriptor (0, 1 or 2) */
  UVA_STDIO_NULL,        /**< /dev/null */
  UVA_STDIO_PIPE         /**< a pipe, the parent's end a uva stream */
} uva_stdio_t;

/** Kills the child (SIGKILL) when its uva_process_t is freed while it runs. */
#define UVA_PROCESS_KILL_ON_FREE 1u
/** uv_process_options_t's UV_PROCESS_DETACHED: the child leads a new
 * session (it is still reaped by uva). */
#define UVA_PROCESS_DETACHED 2u

/** What uva_process_spawn starts, and how. */
typedef struct uva_process_opts {
  const char *file;        /**< program; searched in PATH when it has no '/' */
  char **args;             /**< argv, NULL-terminated; args[0] by convention
                              the program's name (NULL: { file, NULL }) */
  char **env;              /**< NULL-terminated "K=V"; NULL: the parent's */
  const char *cwd;         /**< NULL: the parent's */
  uva_stdio_t stdio[3];    /**< stdin, stdout, stderr */
  unsigned int flags;      /**< UVA_PROCESS_* */
} uva_process_opts_t;

/** Starts a child process as opts says (opts and what it points to are read
 * during the call only) and stores it in *out (NULL on error).  Each
 * UVA_STDIO_PIPE gets a pipe whose parent end is a uva stream
 * (uva_process_stream): the child's stdin is written with
 * uva_stream_write and closed with uva_stream_shutdown, its stdout and
 * stderr read with uva_stream_read, read_exact or read_until until UV_EOF.
 * Spawning with a pipe makes SIGPIPE ignored if it had its default action,
 * so that writing to a child that has gone fails with UV_EPIPE.
 * Errors: UV_EINVAL (loop, opts, out or opts->file NULL, file empty, an
 * unknown flag or stdio value); UV_ENOMEM; uv_spawn's errors unchanged,
 * found before the call returns: UV_ENOENT (no such program, or no such
 * cwd), UV_EACCES (not executable), UV_EAGAIN (process limit).  After a
 * uv_spawn error the handles libuv and uva made are closed when the loop
 * next runs.
 * Ownership: the caller frees *out with uva_process_free (see above for a
 * child that still runs). */
UVA_EXTERN int uva_process_spawn(uv_loop_t *loop,
                                 const uva_process_opts_t *opts,
                                 uva_process_t **out);

/** The parent's end of the child's stdin (fd 0), stdout (1) or stderr (2)
 * when it is UVA_STDIO_PIPE, else NULL (also for p NULL, a freed p, fd out
 * of range, a stream already taken).  The stream belongs to the process
 * and is freed with it, unless taken out with uva_process_take_stream. */
UVA_EXTERN uva_stream_t *uva_process_stream(uva_process_t *p, int fd);

/** Takes the stream of fd out of p and returns it (NULL as for
 * uva_process_stream): the caller frees it (uva_stream_free) from now on,
 * and it outlives p. */
UVA_EXTERN uva_stream_t *uva_process_take_stream(uva_process_t *p, int fd);

/** The child's process id; UV_EINVAL for NULL. */
UVA_EXTERN int uva_process_pid(const uva_process_t *p);

/** The exit status in the value v that uva_process_wait settles with. */
#define UVA_EXIT_STATUS(v) ((int64_t)(int32_t)((v) & 0xffffffffu))
/** The terminating signal (0 if none) in the value v that uva_process_wait
 * settles with. */
#define UVA_EXIT_SIGNAL(v) ((int)((v) >> 32))

/** A future that settles with value.u64 = exit status | terminating signal
 * << 32 (read them with UVA_EXIT_STATUS and UVA_EXIT_SIGNAL: a child that
 * called exit(3) gives 3 and 0, one killed by SIGTERM 0 and 15) once the
 * child has exited; it has been reaped then (no zombie).  At once if it has
 * exited already.  Any number of waits may be made; each gets the status.
 * While one is pending the process keeps uv_run alive.
 * Errors (a failed future): UV_EINVAL (p NULL); UV_EBADF (p freed while a
 * future of it was alive); UV_ENOMEM; UV_ECANCELED when uva_process_free
 * ends it.
 * Cancel safety: cancel safe (it takes nothing); a cancel does not touch
 * the child. */
UVA_EXTERN uva_future_t *uva_process_wait(uva_process_t *p);

/** Sends signum to the child (uv_process_kill).  Errors: UV_EINVAL (p NULL,
 * a bad signum), UV_EBADF (freed), UV_ESRCH (the child has exited and been
 * reaped: its pid may be another process's by now, so nothing is sent). */
UVA_EXTERN int uva_process_kill(uva_process_t *p, int signum);

/** Frees p and the streams not taken out of it; a pending wait settles with
 * UV_ECANCELED.  A child that still runs: see the top of this header.  The
 * caller must not use p again.  NULL is allowed. */
UVA_EXTERN void uva_process_free(uva_process_t *p);

#ifdef __cplusplus
}
#endif
#endif /* UVA_PROCESS_H */
