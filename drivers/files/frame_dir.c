/* Frame directories for the file:// source: the .jpg/.jpeg/.png files of a directory in natural order
 * (frame2 before frame10), the order a camera dump or `ffmpeg -i x.mp4 frame%d.png` means. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hatch/frame_files.h"

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static bool ends_with_ci(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  if (n < k) return false;
  for (size_t i = 0; i < k; i++)
    if (lower(s[n - k + i]) != suffix[i]) return false;
  return true;
}

hatch_frame_file_kind hatch_frame_file_kind_of(const char *name) {
  if (!name || name[0] == '.') return HATCH_FRAME_FILE_NONE;
  size_t n = strlen(name);
  if (ends_with_ci(name, n, ".jpg") || ends_with_ci(name, n, ".jpeg")) return HATCH_FRAME_FILE_JPEG;
  if (ends_with_ci(name, n, ".png")) return HATCH_FRAME_FILE_PNG;
  return HATCH_FRAME_FILE_NONE;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hatch_natural_compare(const char *a, const char *b) {
  const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
  int zeros_tiebreak = 0; /* first difference in leading zeros between equal numbers */
  while (*p && *q) {
    if (is_digit((char)*p) && is_digit((char)*q)) {
      const unsigned char *p0 = p, *q0 = q;
      while (*p == '0') p++;
      while (*q == '0') q++;
      const unsigned char *ps = p, *qs = q;
      while (is_digit((char)*p)) p++;
      while (is_digit((char)*q)) q++;
      size_t np = (size_t)(p - ps), nq = (size_t)(q - qs);
      if (np != nq) return np < nq ? -1 : 1; /* more significant digits: larger */
      int c = memcmp(ps, qs, np);
      if (c) return c < 0 ? -1 : 1;
      size_t zp = (size_t)(ps - p0), zq = (size_t)(qs - q0);
      if (!zeros_tiebreak && zp != zq) zeros_tiebreak = zp < zq ? -1 : 1;
      continue;
    }
    if (*p != *q) return *p < *q ? -1 : 1;
    p++, q++;
  }
  if (*p || *q) return *p ? 1 : -1; /* a prefix first */
  return zeros_tiebreak;
}

static int cmp_names(const void *x, const void *y) {
  return hatch_natural_compare(*(char *const *)x, *(char *const *)y);
}

void hatch_frame_list_free(hatch_frame_list *list) {
  if (!list) return;
  for (size_t i = 0; i < list->count; i++) free(list->names[i]);
  free(list->names);
  memset(list, 0, sizeof(*list));
}

static hatch_status dir_fail(hatch_status st, hatch_file_error *err, const char *dir, const char *what) {
  if (err) snprintf(err->message, sizeof(err->message), "%s: %s", dir, what);
  return st;
}

hatch_status hatch_frame_dir_list(const char *dir, hatch_frame_list *list, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!list || !dir) return HATCH_ERR_INVALID_ARGUMENT;
  memset(list, 0, sizeof(*list));
  DIR *d = opendir(dir);
  if (!d) {
    int e = errno;
    return dir_fail(e == ENOENT || e == ENOTDIR ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, err, dir, strerror(e));
  }
  hatch_frame_list l = {0};
  size_t cap = 0, dlen = strlen(dir);
  char *path = NULL; /* dir/name, for stat */
  size_t path_cap = 0;
  hatch_status st = HATCH_OK;
  for (;;) {
    errno = 0;
    struct dirent *ent = readdir(d);
    if (!ent) {
      if (errno) st = dir_fail(HATCH_ERR_IO, err, dir, strerror(errno));
      break;
    }
    if (hatch_frame_file_kind_of(ent->d_name) == HATCH_FRAME_FILE_NONE) continue;
    size_t nlen = strlen(ent->d_name);
    if (dlen + nlen + 2 > path_cap) {
      size_t ncap = dlen + nlen + 64;
      char *grown = realloc(path, ncap);
      if (!grown) {
        st = HATCH_ERR_OUT_OF_MEMORY;
        break;
      }
      path = grown, path_cap = ncap;
    }
    snprintf(path, path_cap, "%s/%s", dir, ent->d_name);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue; /* dangling links, directories, fifos */
    if (l.count == HATCH_FRAME_DIR_MAX_ENTRIES) {
      st = dir_fail(HATCH_ERR_TOO_LARGE, err, dir, "more than 1000000 frame files");
      break;
    }
    if (l.count == cap) {
      size_t ncap = cap ? cap * 2 : 256;
      char **grown = realloc(l.names, ncap * sizeof(*grown));
      if (!grown) {
        st = HATCH_ERR_OUT_OF_MEMORY;
        break;
      }
      l.names = grown, cap = ncap;
    }
    char *name = malloc(nlen + 1);
    if (!name) {
      st = HATCH_ERR_OUT_OF_MEMORY;
      break;
    }
    memcpy(name, ent->d_name, nlen + 1);
    l.names[l.count++] = name;
  }
  closedir(d);
  free(path);
  if (st != HATCH_OK) {
    hatch_frame_list_free(&l);
    return st;
  }
  if (l.count > 1) qsort(l.names, l.count, sizeof(*l.names), cmp_names);
  *list = l;
  return HATCH_OK;
}
