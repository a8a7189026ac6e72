/* The production ops table: libv4l2 over the kernel's V4L2 devices. */
#include <errno.h>
#include <libv4l2.h>
#include <sys/mman.h>

#include "hatch/v4l2_ops.h"

static int lib_open(void *ctx, const char *path, int flags) { return v4l2_open(path, flags); }
static int lib_close(void *ctx, int fd) { return v4l2_close(fd); }
static int lib_ioctl(void *ctx, int fd, unsigned long request, void *arg) { return v4l2_ioctl(fd, request, arg); }
static void *lib_mmap(void *ctx, size_t length, int prot, int flags, int fd, int64_t offset) {
  return v4l2_mmap(NULL, length, prot, flags, fd, (off_t)offset);
}
static int lib_munmap(void *ctx, void *addr, size_t length) { return v4l2_munmap(addr, length); }
/* libv4l2 fds are kernel fds: plain poll works on them. */
static int lib_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms) { return poll(fds, nfds, timeout_ms); }

static const hatch_v4l2_ops libv4l2_ops = {
    .ctx = NULL, .open = lib_open, .close = lib_close, .ioctl = lib_ioctl,
    .mmap = lib_mmap, .munmap = lib_munmap, .poll = lib_poll,
};

const hatch_v4l2_ops *hatch_v4l2_ops_libv4l2(void) { return &libv4l2_ops; }

int hatch_v4l2_xioctl(const hatch_v4l2_ops *ops, int fd, unsigned long request, void *arg) {
  int r = -1;
  for (int attempt = 0; attempt < 100; attempt++) {
    r = ops->ioctl(ops->ctx, fd, request, arg);
    if (r != -1 || errno != EINTR) return r;
  }
  return r;
}
