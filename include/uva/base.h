/** @file
 * Values, results, buffers, the allocator and the version: what every other
 * uva header builds on.
 */
#ifndef UVA_BASE_H
#define UVA_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a public function: exported from the shared library (which is built
 * with hidden visibility by default), imported from a DLL on Windows. */
#if defined(_WIN32) && defined(UVA_SHARED_BUILD)
#define UVA_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(UVA_SHARED)
#define UVA_EXTERN __declspec(dllimport)
#elif defined(__GNUC__) && defined(UVA_SHARED_BUILD)
#define UVA_EXTERN __attribute__((visibility("default")))
#else
#define UVA_EXTERN /* nothing */
#endif

/** The major version of these headers (see also uva_version()). */
#define UVA_VERSION_MAJOR 0
/** The minor version; while the major version is 0, a new minor version may
 * change the ABI (the shared library's soname is libuva.so.0.MINOR). */
#define UVA_VERSION_MINOR 2
/** The patch version: fixes that keep the API and the ABI. */
#define UVA_VERSION_PATCH 0
/** The version of these headers as one number, 0xMMmmpp. */
#define UVA_VERSION_HEX                                                        \
  ((UVA_VERSION_MAJOR << 16) | (UVA_VERSION_MINOR << 8) | UVA_VERSION_PATCH)

/** Returns UVA_VERSION_HEX of the library actually linked. */
UVA_EXTERN unsigned int uva_version(void);

/** Returns the linked library's version as "MAJOR.MINOR.PATCH", a static
 * string. */
UVA_EXTERN const char *uva_version_string(void);

/** A future: a value or an error known later (see uva/future.h). */
typedef struct uva_future_s uva_future_t;

/** What a future settles with: a pointer or a 64-bit integer. */
typedef union uva_value {
  void *ptr;     /**< a pointer value (owned as the result's free_fn says) */
  uint64_t u64;  /**< an unsigned integer value */
  int64_t i64;   /**< a signed integer value (a file descriptor, a signal) */
} uva_value_t;

/** Frees a pointer value; free() itself fits. */
typedef void (*uva_free_cb)(void *ptr);

/** A settled outcome: status 0 with a value, or a negative error code.  When
 * free_fn is not NULL, value.ptr is owned by whoever holds the result. */
typedef struct uva_result {
  int status;           /**< 0, or a negative libuv error code */
  uva_value_t value;    /**< the value when status is 0 */
  uva_free_cb free_fn;  /**< frees value.ptr; NULL when nothing is owned */
} uva_result_t;

/** Calls r->free_fn(r->value.ptr) when free_fn is set, then clears both.  NULL
 * is allowed and does nothing. */
UVA_EXTERN void uva_result_free(uva_result_t *r);

/** A byte buffer owned by the holder, NUL-terminated at base[len] (the NUL is
 * not counted in len).  base points into the same allocation. */
typedef struct uva_buf {
  char *base;  /**< the bytes, followed by a NUL */
  size_t len;  /**< the number of bytes, the NUL not counted */
} uva_buf_t;

/** Frees a uva_buf_t that uva handed out (its type fits uva_free_cb).  NULL is
 * allowed. */
UVA_EXTERN void uva_buf_free(void *buf);

/** Returned by a poll function (and by uva_future_status) while a future has
 * not settled.  It is positive, so it never collides with an error code. */
#define UVA_PENDING 1

/** Replaces the allocator uva uses for its own memory (values it hands out
 * included, such as uva_buf_t).  Call it before any other uva call, as with
 * uv_replace_allocator.  The functions must be thread-safe: whole-file jobs
 * allocate on libuv's thread pool and uva_chan_send_blocking on its caller's
 * thread.  Returns 0, or UV_EINVAL if any function is NULL. */
UVA_EXTERN int uva_replace_allocator(void *(*malloc_fn)(size_t),
                                     void *(*realloc_fn)(void *, size_t),
                                     void *(*calloc_fn)(size_t, size_t),
                                     void (*free_fn)(void *));

#ifdef __cplusplus
}
#endif
#endif /* UVA_BASE_H */
