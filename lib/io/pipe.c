/* Pipes and Unix sockets: listen on a path and connect to one.  Accept,
 * reading and writing are the stream's (stream-read.c, stream-write.c). */
#include "stream-internal.h"

#include <sys/un.h>

/* A path that fits in sockaddr_un (libuv would silently truncate it). */
static int path_check(const char *path) {
  struct sockaddr_un un;

  if (path == NULL || path[0] == '\0')
    return UV_EINVAL;
  if (strlen(path) >= sizeof(un.sun_path))
    return UV_ENAMETOOLONG;
  return 0;
}

int uva_pipe_listen(uv_loop_t *loop, const char *path, int backlog,
                    uva_stream_t **out) {
  uva__loop_t *L;
  uva_stream_t *s;
  int err;

  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL)
    return UV_EINVAL;
  if ((err = path_check(path)) != 0)
    return err;
  if ((L = uva__loop_get(loop)) == NULL)
    return UV_ENOMEM;
  if ((s = uva__stream_alloc(L)) == NULL) {
    uva__loop_maybe_free(L);
    return UV_ENOMEM;
  }
  uv_pipe_init(loop, &s->u.pipe, 0);
  uva__stream_owned(s);
  err = uv_pipe_bind(&s->u.pipe, path);
  if (err != 0) {
    uva_stream_free(s);
    return err;
  }
  return uva__stream_listen(s, backlog, out);
}

uva_future_t *uva_pipe_connect(uv_loop_t *loop, const char *path) {
  int err = path_check(path);

  if (loop == NULL || err != 0)
    return uva__failed(uva__loop_get(loop), loop == NULL ? UV_EINVAL : err);
  return uva__stream_connect(loop, NULL, path);
}
