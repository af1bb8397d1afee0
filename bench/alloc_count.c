/* An LD_PRELOAD allocation counter for glibc, used by bench/alloc_bench.sh.
 *
 * Defines malloc, calloc, realloc, free, aligned_alloc, posix_memalign,
 * memalign, valloc and pvalloc, each forwarding to glibc's own allocator
 * through its exported __libc_* entry points (so no dlsym, and no recursion:
 * those never call back into the symbols defined here). libstdc++'s operator
 * new and new[] call malloc, and the aligned ones aligned_alloc, so C++
 * allocations are counted too.
 *
 * Counted, with relaxed atomics (safe in any number of threads):
 *   allocations  calls that ask for memory: malloc, calloc, the aligned
 *                ones, and realloc with a size > 0 (whether or not it moves
 *                the block; realloc(NULL, n) is a malloc)
 *   bytes        the sizes those calls asked for
 * free is forwarded and not counted.
 *
 * At exit (a destructor: exit() or a return from main, not _exit() or a
 * fatal signal), if the environment variable ALLOC_COUNT_OUT names a file,
 * appends one line to it:
 *
 *   allocations=N bytes=M
 *
 * Only the process that loaded the library writes it: a fork()ed child that
 * calls exit() writes nothing (an exec()ed program loads it afresh and counts
 * from zero).
 *
 *   gcc -O2 -shared -fPIC -o alloc_count.so bench/alloc_count.c
 *   ALLOC_COUNT_OUT=/tmp/count LD_PRELOAD=$PWD/alloc_count.so some-program
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's allocator, under the names it exports for exactly this use. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

#define EXPORT __attribute__((visibility("default")))

static _Atomic uint64_t allocations;
static _Atomic uint64_t bytes;
static pid_t owner;

static inline void count(size_t size)
{
  atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&bytes, size, memory_order_relaxed);
}

EXPORT void *malloc(size_t size)
{
  count(size);
  return __libc_malloc(size);
}

EXPORT void *calloc(size_t n, size_t size)
{
  size_t total;
  count(__builtin_mul_overflow(n, size, &total) ? SIZE_MAX : total);
  return __libc_calloc(n, size);
}

EXPORT void *realloc(void *pointer, size_t size)
{
  if (size > 0 || pointer == NULL) {
    count(size);
  }
  return __libc_realloc(pointer, size);
}

EXPORT void free(void *pointer) { __libc_free(pointer); }

EXPORT void *memalign(size_t alignment, size_t size)
{
  count(size);
  return __libc_memalign(alignment, size);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
  count(size);
  return __libc_memalign(alignment, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
  /* Checked as glibc does: a power of two, and a multiple of sizeof(void *). */
  if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) {
    return EINVAL;
  }
  count(size);
  void *p = __libc_memalign(alignment, size);
  if (p == NULL) {
    return ENOMEM;
  }
  *out = p;
  return 0;
}

EXPORT void *valloc(size_t size)
{
  count(size);
  return __libc_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
  count(size);
  return __libc_pvalloc(size);
}

__attribute__((constructor)) static void start(void) { owner = getpid(); }

/* Writes the decimal digits of VALUE at the end of BUFFER[0..*end), moving
 * *end back; no stdio, so nothing here allocates. */
static void put_number(char *buffer, size_t *end, uint64_t value)
{
  do {
    buffer[--*end] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
}

static void put_text(char *buffer, size_t *end, const char *text)
{
  size_t n = strlen(text);
  *end -= n;
  memcpy(buffer + *end, text, n);
}

__attribute__((destructor)) static void report(void)
{
  const char *path = getenv("ALLOC_COUNT_OUT");
  if (path == NULL || *path == '\0' || getpid() != owner) {
    return;
  }
  /* Built from the end backwards: "allocations=N bytes=M\n". */
  char line[96];
  size_t end = sizeof line;
  put_text(line, &end, "\n");
  put_number(line, &end, atomic_load_explicit(&bytes, memory_order_relaxed));
  put_text(line, &end, " bytes=");
  put_number(line, &end, atomic_load_explicit(&allocations, memory_order_relaxed));
  put_text(line, &end, "allocations=");

  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  /* One write with O_APPEND: lines from processes ending together do not mix. */
  ssize_t written;
  do {
    written = write(fd, line + end, sizeof line - end);
  } while (written < 0 && errno == EINTR);
  close(fd);
}
