/* The fake V4L2 device set (hatch/v4l2_fake.h): cameras, the fd and mapping tables, the ops table's
 * open/close/mmap/munmap/poll, faults, unplug/replug and stats. One mutex and one condvar per set. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fake_internal.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

int64_t fake_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fake_wait(hatch_fake_v4l2 *f, int64_t deadline_ns) {
  if (deadline_ns < 0 || deadline_ns == INT64_MAX) {
    pthread_cond_wait(&f->cv, &f->mu);
    return;
  }
  struct timespec ts = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};
  pthread_cond_timedwait(&f->cv, &f->mu, &ts); /* ETIMEDOUT or a wake-up: the caller looks again */
}

fake_fd *fake_fd_find(hatch_fake_v4l2 *f, int fd) {
  for (int i = 0; i < f->n_fds; i++)
    if (f->fds[i].fd == fd) return &f->fds[i];
  return NULL;
}

int fake_fd_check(hatch_fake_v4l2 *f, int fd, fake_fd **entry, fake_camera **cam) {
  fake_fd *e = fake_fd_find(f, fd);
  if (!e) return EBADF;
  fake_camera *c = f->cams[e->cam];
  if (!c->connected || e->generation != c->generation) return ENODEV;
  *entry = e;
  *cam = c;
  return 0;
}

void fake_mem_unref(fake_mem *mem) {
  if (mem && --mem->refs == 0) {
    free(mem->data);
    free(mem);
  }
}

static fake_camera *camera_by_path(hatch_fake_v4l2 *f, const char *path) {
  if (!path) return NULL;
  for (int i = 0; i < f->n_cams; i++)
    if (strcmp(f->cams[i]->path, path) == 0) return f->cams[i];
  return NULL;
}

/* Grows *items (of item_size bytes) to hold one more; false when out of memory. */
static bool grow(void **items, int n, int *cap, size_t item_size) {
  if (n < *cap) return true;
  int new_cap = *cap ? *cap * 2 : 8;
  void *p = realloc(*items, (size_t)new_cap * item_size);
  if (!p) return false;
  *items = p;
  *cap = new_cap;
  return true;
}

/* ---- ops ----------------------------------------------------------------------------------- */

static int fake_open(void *ctx, const char *path, int flags) {
  hatch_fake_v4l2 *f = ctx;
  int err = 0, fd = -1;
  pthread_mutex_lock(&f->mu);
  fake_camera *c = camera_by_path(f, path);
  if (!c || !c->connected) err = ENOENT;
  else if (f->next_fd == INT32_MAX) err = EMFILE;
  else if (!grow((void **)&f->fds, f->n_fds, &f->cap_fds, sizeof(fake_fd))) err = ENOMEM;
  else {
    fd = f->next_fd++;
    f->fds[f->n_fds++] = (fake_fd){fd, c->index, c->generation, (flags & O_NONBLOCK) != 0};
  }
  pthread_mutex_unlock(&f->mu);
  if (err) errno = err;
  return err ? -1 : fd;
}

static int fake_close(void *ctx, int fd) {
  hatch_fake_v4l2 *f = ctx;
  pthread_mutex_lock(&f->mu);
  fake_fd *e = fake_fd_find(f, fd);
  if (!e) {
    pthread_mutex_unlock(&f->mu);
    errno = EBADF;
    return -1;
  }
  fake_camera *c = f->cams[e->cam];
  if (c->connected && e->generation == c->generation && c->owner_fd == fd) {
    fake_stream_off(f, c); /* the owner's close releases the queue; mappings keep their memory */
    fake_buffers_release(c);
  }
  *e = f->fds[--f->n_fds];
  pthread_cond_broadcast(&f->cv); /* a waiter on this fd must see it gone */
  pthread_mutex_unlock(&f->mu);
  return 0;
}

static void *fake_mmap(void *ctx, size_t length, int prot, int flags, int fd, int64_t offset) {
  hatch_fake_v4l2 *f = ctx;
  void *addr = MAP_FAILED;
  pthread_mutex_lock(&f->mu);
  fake_fd *e;
  fake_camera *c;
  int err = fake_fd_check(f, fd, &e, &c);
  if (!err && (!(flags & MAP_SHARED) || length == 0 || offset < 0)) err = EINVAL;
  fake_buffer *b = NULL;
  for (int i = 0; !err && i < c->n_buffers && !b; i++)
    if ((int64_t)c->bufs[i].offset == offset) b = &c->bufs[i];
  if (!err && (!b || length > c->buf_length)) err = EINVAL;
  if (!err && !grow((void **)&f->maps, f->n_maps, &f->cap_maps, sizeof(fake_map))) err = ENOMEM;
  if (!err) {
    b->mem->refs++;
    f->maps[f->n_maps++] = (fake_map){b->mem->data, length, b->mem, c->index};
    addr = b->mem->data;
  }
  pthread_mutex_unlock(&f->mu);
  if (err) errno = err;
  return addr;
}

static int fake_munmap(void *ctx, void *addr, size_t length) {
  hatch_fake_v4l2 *f = ctx;
  int err = EINVAL;
  pthread_mutex_lock(&f->mu);
  for (int i = f->n_maps - 1; i >= 0 && length > 0; i--) {
    if (f->maps[i].addr != addr) continue;
    fake_mem_unref(f->maps[i].mem);
    f->maps[i] = f->maps[--f->n_maps];
    err = 0;
    break;
  }
  pthread_mutex_unlock(&f->mu);
  if (err) errno = err;
  return err ? -1 : 0;
}

/* Fills revents for every entry; returns how many are ready. *wake_ns: the earliest due time of a
 * frame that could make one ready (a streaming camera with a queued buffer). */
static int poll_scan(hatch_fake_v4l2 *f, struct pollfd *fds, nfds_t n, int64_t now, int64_t *wake_ns) {
  int ready = 0;
  *wake_ns = INT64_MAX;
  for (nfds_t i = 0; i < n; i++) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue; /* POSIX: ignored */
    fake_fd *e;
    fake_camera *c;
    int err = fake_fd_check(f, fds[i].fd, &e, &c);
    short rev = 0;
    if (err == EBADF) rev = POLLNVAL;
    else if (err == ENODEV) rev = POLLERR | POLLHUP;
    else {
      fake_catch_up(f, c, now);
      if (!c->streaming) rev = POLLERR; /* vb2: nothing to wait for */
      else if (c->n_done > 0) rev = (short)(fds[i].events & (POLLIN | POLLRDNORM));
      else if (c->n_queued > 0 && fake_next_due_ns(c) < *wake_ns) *wake_ns = fake_next_due_ns(c);
    }
    fds[i].revents = rev;
    ready += rev != 0;
  }
  return ready;
}

static int fake_poll(void *ctx, struct pollfd *fds, nfds_t nfds, int timeout_ms) {
  hatch_fake_v4l2 *f = ctx;
  if (nfds > 0 && !fds) {
    errno = EFAULT;
    return -1;
  }
  int64_t deadline = timeout_ms < 0 ? INT64_MAX : fake_now_ns() + (int64_t)timeout_ms * 1000000;
  pthread_mutex_lock(&f->mu);
  for (;;) {
    int64_t now = fake_now_ns(), wake;
    int ready = poll_scan(f, fds, nfds, now, &wake);
    if (ready > 0 || now >= deadline) {
      pthread_mutex_unlock(&f->mu);
      return ready;
    }
    fake_wait(f, wake < deadline ? wake : deadline); /* INT64_MAX: until a broadcast */
  }
}

/* ---- the set ------------------------------------------------------------------------------- */

hatch_status hatch_fake_v4l2_create(hatch_fake_v4l2 **out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_fake_v4l2 *f = calloc(1, sizeof(*f));
  if (!f) return HATCH_ERR_OUT_OF_MEMORY;
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0) goto err_free;
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&f->cv, &attr);
  pthread_condattr_destroy(&attr);
  if (rc != 0) goto err_free;
  if (pthread_mutex_init(&f->mu, NULL) != 0) goto err_cond;
  f->next_fd = FAKE_FD_BASE;
  f->ops = (hatch_v4l2_ops){.ctx = f, .open = fake_open, .close = fake_close, .ioctl = fake_ioctl,
                            .mmap = fake_mmap, .munmap = fake_munmap, .poll = fake_poll};
  *out = f;
  return HATCH_OK;
err_cond:
  pthread_cond_destroy(&f->cv);
err_free:
  free(f);
  return HATCH_ERR_OUT_OF_MEMORY;
}

void hatch_fake_v4l2_destroy(hatch_fake_v4l2 *f) {
  if (!f) return;
  for (int i = 0; i < f->n_maps; i++) fake_mem_unref(f->maps[i].mem);
  for (int i = 0; i < f->n_cams; i++) {
    fake_camera *c = f->cams[i];
    fake_buffers_release(c);
    fake_pool_free(&c->pool);
    free(c->path);
    free(c->card);
    free(c);
  }
  free(f->maps);
  free(f->fds);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cv);
  free(f);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static bool config_valid(const hatch_fake_camera_config *cfg) {
  if (!cfg->path || !cfg->path[0]) return false;
  if (cfg->n_formats < 0 || cfg->n_formats > HATCH_FAKE_MAX_FORMATS || cfg->n_sizes < 0 ||
      cfg->n_sizes > HATCH_FAKE_MAX_SIZES || cfg->n_rates < 0 || cfg->n_rates > HATCH_FAKE_MAX_RATES ||
      cfg->max_buffers < 0 || cfg->max_buffers > FAKE_MAX_BUFFERS || cfg->phase_ns < 0 || cfg->phase_ns >= 1000000000)
    return false;
  for (int i = 0; i < cfg->n_formats; i++)
    if (!fake_format_known(cfg->formats[i])) return false;
  for (int i = 0; i < cfg->n_sizes; i++) {
    hatch_fake_size s = cfg->sizes[i];
    if (s.width <= 0 || s.height <= 0 || s.width % 2 || s.height % 2 || s.width > FAKE_MAX_DIM ||
        s.height > FAKE_MAX_DIM)
      return false;
  }
  for (int i = 0; i < cfg->n_rates; i++)
    if (cfg->rates[i] <= 0 || cfg->rates[i] > 100000) return false;
  return true;
}

hatch_status hatch_fake_v4l2_add(hatch_fake_v4l2 *f, const hatch_fake_camera_config *cfg) {
  if (!f || !cfg || !config_valid(cfg)) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_status st = HATCH_OK;
  pthread_mutex_lock(&f->mu);
  fake_camera *c = NULL;
  if (camera_by_path(f, cfg->path)) st = HATCH_ERR_INVALID_ARGUMENT;
  else if (f->n_cams == HATCH_FAKE_MAX_CAMERAS) st = HATCH_ERR_TOO_LARGE;
  else if (!(c = calloc(1, sizeof(*c))) || !(c->path = dup_str(cfg->path)) ||
           !(c->card = dup_str(cfg->card ? cfg->card : "hatch fake camera")))
    st = HATCH_ERR_OUT_OF_MEMORY;
  if (st != HATCH_OK) {
    if (c) free(c->path);
    free(c);
    pthread_mutex_unlock(&f->mu);
    return st;
  }
  static const uint32_t default_formats[] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV};
  static const hatch_fake_size default_sizes[] = {{640, 480}, {1280, 720}};
  static const int default_rates[] = {30, 15};
  c->n_formats = cfg->n_formats ? cfg->n_formats : 2;
  memcpy(c->formats, cfg->n_formats ? cfg->formats : default_formats, (size_t)c->n_formats * sizeof(uint32_t));
  c->n_sizes = cfg->n_sizes ? cfg->n_sizes : 2;
  memcpy(c->sizes, cfg->n_sizes ? cfg->sizes : default_sizes, (size_t)c->n_sizes * sizeof(hatch_fake_size));
  c->n_rates = cfg->n_rates ? cfg->n_rates : 2;
  memcpy(c->rates, cfg->n_rates ? cfg->rates : default_rates, (size_t)c->n_rates * sizeof(int));
  c->max_buffers = cfg->max_buffers ? cfg->max_buffers : 32;
  c->seed = cfg->seed;
  c->pattern = cfg->pattern;
  c->phase_locked = cfg->phase_locked;
  c->phase_ns = cfg->phase_ns;
  c->index = f->n_cams;
  c->connected = true;
  c->slow_frame = UINT64_MAX;
  fake_device_reset(c);
  f->cams[f->n_cams++] = c;
  pthread_mutex_unlock(&f->mu);
  return HATCH_OK;
}

const hatch_v4l2_ops *hatch_fake_v4l2_ops(hatch_fake_v4l2 *f) { return f ? &f->ops : NULL; }

/* Runs fn on the camera at path with the mutex held. */
#define WITH_CAMERA(f, path, body)                        \
  do {                                                    \
    if (!(f) || !(path)) return HATCH_ERR_INVALID_ARGUMENT; \
    pthread_mutex_lock(&(f)->mu);                         \
    fake_camera *c = camera_by_path((f), (path));         \
    if (!c) {                                             \
      pthread_mutex_unlock(&(f)->mu);                     \
      return HATCH_ERR_NOT_FOUND;                         \
    }                                                     \
    fake_catch_up((f), c, fake_now_ns());                 \
    body;                                                 \
    pthread_mutex_unlock(&(f)->mu);                       \
    return HATCH_OK;                                      \
  } while (0)

hatch_status hatch_fake_v4l2_set_faults(hatch_fake_v4l2 *f, const char *path, const hatch_fake_faults *faults) {
  WITH_CAMERA(f, path, {
    /* caught up first: frames due before this call do not count towards the new faults */
    c->faults = faults ? *faults : (hatch_fake_faults){0};
    c->fault_frames = c->fault_dqbufs = c->fault_ioctls = 0;
    c->enospc_left = c->faults.streamon_enospc;
    c->enomem_left = c->faults.reqbufs_enomem;
  });
}

hatch_status hatch_fake_v4l2_disconnect(hatch_fake_v4l2 *f, const char *path) {
  WITH_CAMERA(f, path, {
    if (c->connected) {
      c->connected = false;
      c->generation++;
      fake_device_reset(c); /* stream stopped, buffers released (mappings keep their memory) */
      pthread_cond_broadcast(&f->cv);
    }
  });
}

hatch_status hatch_fake_v4l2_reconnect(hatch_fake_v4l2 *f, const char *path) {
  WITH_CAMERA(f, path, { c->connected = true; });
}

hatch_status hatch_fake_v4l2_stats_get(hatch_fake_v4l2 *f, const char *path, hatch_fake_stats *out) {
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  WITH_CAMERA(f, path, {
    *out = c->stats;
    out->open_fds = 0;
    for (int i = 0; i < f->n_fds; i++) out->open_fds += f->fds[i].cam == c->index;
    out->mapped_buffers = 0;
    for (int i = 0; i < f->n_maps; i++) out->mapped_buffers += f->maps[i].cam == c->index;
    out->buffers_allocated = c->n_buffers;
    out->streaming = c->streaming;
  });
}

int hatch_fake_v4l2_pool_index(hatch_fake_v4l2 *f, const char *path, const uint8_t *data, size_t size) {
  if (!f || !path || !data) return -1;
  int found = -1;
  pthread_mutex_lock(&f->mu);
  fake_camera *c = camera_by_path(f, path);
  for (int i = 0; c && c->pool_valid && i < HATCH_FAKE_POOL_FRAMES && found < 0; i++)
    if (c->pool.size[i] == size && memcmp(c->pool.data[i], data, size) == 0) found = i;
  pthread_mutex_unlock(&f->mu);
  return found;
}
