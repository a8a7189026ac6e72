/* The device-access ops table of the V4L2 capture code: open/close/ioctl/mmap/munmap/poll.
 *
 * Production uses libv4l2 (hatch_v4l2_ops_libv4l2); tests use the fake device (hatch/v4l2_fake.h).
 * libv4l2 calls the kernel through syscall(), so an LD_PRELOAD shim over libc never sees its calls:
 * this table is the seam instead. Every function behaves like its POSIX namesake: -1 (MAP_FAILED
 * for mmap) with errno set on failure. An ops table and its ctx outlive every camera using them. */
#ifndef HATCH_V4L2_OPS_H
#define HATCH_V4L2_OPS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hatch_v4l2_ops {
  void *ctx; /* passed back to every call (the fake device's state; NULL for libv4l2) */
  int (*open)(void *ctx, const char *path, int flags);
  int (*close)(void *ctx, int fd);
  int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
  void *(*mmap)(void *ctx, size_t length, int prot, int flags, int fd, int64_t offset);
  int (*munmap)(void *ctx, void *addr, size_t length);
  /* fds: only fds opened through this same table. */
  int (*poll)(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms);
} hatch_v4l2_ops;

/* libv4l2 (v4l2_open, v4l2_ioctl, ...) over the real kernel devices. Static; never freed. */
const hatch_v4l2_ops *hatch_v4l2_ops_libv4l2(void);

/* ioctl retried while it fails with EINTR (bounded: 100 tries, then EINTR is returned). */
int hatch_v4l2_xioctl(const hatch_v4l2_ops *ops, int fd, unsigned long request, void *arg);

#endif
