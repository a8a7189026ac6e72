/* MJPEG stream splitting: frame boundaries from the JPEG marker structure (ITU T.81 annex B), not from
 * a search for FF D9, which also occurs inside APP1/EXIF thumbnails and other segments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/frame_files.h"

enum { M_SOI = 0xD8, M_EOI = 0xD9, M_SOS = 0xDA, M_TEM = 0x01, M_RST0 = 0xD0, M_RST7 = 0xD7 };

static void set_err(hatch_file_error *err, size_t offset, const char *what) {
  if (err) snprintf(err->message, sizeof(err->message), "offset %zu: %s", offset, what);
}

/* Walks one frame starting at data[start] (which must be FF D8). HATCH_OK: *end = one past EOI.
 * HATCH_ERR_CORRUPT: *bad = offset of the problem, err says what. */
static hatch_status walk_frame(const uint8_t *data, size_t size, size_t start, size_t *end, size_t *bad,
                               hatch_file_error *err) {
  if (size - start < 2 || data[start] != 0xFF || data[start + 1] != M_SOI) {
    *bad = start;
    set_err(err, start, size - start < 2 ? "truncated: no room for SOI" : "no SOI (FF D8) where a frame starts");
    return HATCH_ERR_CORRUPT;
  }
  size_t p = start + 2;
  bool scanned = false;
  for (;;) {
    if (p >= size) goto truncated;
    if (data[p] != 0xFF) {
      *bad = p;
      char msg[80];
      snprintf(msg, sizeof(msg), "expected a marker, found 0x%02X", data[p]);
      set_err(err, p, msg);
      return HATCH_ERR_CORRUPT;
    }
    size_t marker_at = p;
    while (p < size && data[p] == 0xFF) p++; /* FF fill bytes may precede any marker */
    if (p >= size) goto truncated;
    uint8_t m = data[p++];
    if (m == M_EOI) {
      if (!scanned) {
        *bad = marker_at;
        set_err(err, marker_at, "EOI before any scan (SOS)");
        return HATCH_ERR_CORRUPT;
      }
      *end = p;
      return HATCH_OK;
    }
    if (m == 0x00 || m == M_SOI) {
      *bad = marker_at;
      set_err(err, marker_at, m == M_SOI ? "SOI inside a frame (previous frame cut short)" : "FF 00 outside a scan");
      return HATCH_ERR_CORRUPT;
    }
    if (m == M_TEM || (m >= M_RST0 && m <= M_RST7)) continue; /* standalone markers, no length */
    if (size - p < 2) goto truncated;
    size_t len = (size_t)data[p] << 8 | data[p + 1];
    if (len < 2) {
      *bad = p;
      set_err(err, p, "segment length < 2");
      return HATCH_ERR_CORRUPT;
    }
    if (len > size - p) goto truncated;
    p += len;
    if (m != M_SOS) continue;
    scanned = true;
    /* Entropy-coded data: up to the first FF that starts a real marker. */
    for (;;) {
      const uint8_t *ff = memchr(data + p, 0xFF, size - p);
      if (!ff) goto truncated;
      size_t q = (size_t)(ff - data);
      if (q + 1 >= size) goto truncated;
      uint8_t b = data[q + 1];
      if (b == 0x00 || (b >= M_RST0 && b <= M_RST7)) p = q + 2; /* stuffed byte, restart marker */
      else if (b == 0xFF) p = q + 1;                            /* fill byte before a marker */
      else {
        p = q;
        break;
      }
    }
  }
truncated:
  *bad = start;
  set_err(err, start, "frame truncated (no EOI before the end of the data)");
  return HATCH_ERR_CORRUPT;
}

/* Next FF D8 FF at or after from; size if none. */
static size_t find_soi(const uint8_t *data, size_t size, size_t from) {
  while (from + 3 <= size) {
    const uint8_t *ff = memchr(data + from, 0xFF, size - from - 2);
    if (!ff) return size;
    size_t q = (size_t)(ff - data);
    if (data[q + 1] == M_SOI && data[q + 2] == 0xFF) return q;
    from = q + 1;
  }
  return size;
}

hatch_status hatch_mjpeg_next_ex(const uint8_t *data, size_t size, size_t *offset, bool resync, size_t *frame_start,
                                 size_t *frame_size, size_t *skipped, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (skipped) *skipped = 0;
  if ((!data && size) || !offset || !frame_start || !frame_size || *offset > size) return HATCH_ERR_INVALID_ARGUMENT;
  if (*offset == size) return HATCH_ERR_NOT_FOUND;
  size_t start = *offset, end = 0, bad = 0;
  hatch_status st = walk_frame(data, size, start, &end, &bad, err);
  if (st != HATCH_OK && resync) {
    hatch_file_error ignored;
    do {
      start = find_soi(data, size, start + 1);
      if (start == size) break;
      st = walk_frame(data, size, start, &end, &bad, &ignored);
    } while (st != HATCH_OK);
    if (st != HATCH_OK) *offset = size; /* the rest is garbage or a cut-off frame */
  }
  if (st != HATCH_OK) return st;
  if (skipped) *skipped = start - *offset;
  *frame_start = start;
  *frame_size = end - start;
  *offset = end;
  return HATCH_OK;
}

hatch_status hatch_mjpeg_next(const uint8_t *data, size_t size, size_t *offset, size_t *frame_start,
                              size_t *frame_size) {
  return hatch_mjpeg_next_ex(data, size, offset, false, frame_start, frame_size, NULL, NULL);
}

void hatch_mjpeg_index_free(hatch_mjpeg_index *index) {
  if (!index) return;
  free(index->frames);
  memset(index, 0, sizeof(*index));
}

hatch_status hatch_mjpeg_index_build(const uint8_t *data, size_t size, size_t max_frames, bool resync,
                                     hatch_mjpeg_index *out, hatch_file_error *err) {
  if (err) err->message[0] = '\0';
  if (!out || (!data && size)) return HATCH_ERR_INVALID_ARGUMENT;
  memset(out, 0, sizeof(*out));
  if (max_frames == 0) max_frames = HATCH_MJPEG_DEFAULT_MAX_FRAMES;
  hatch_mjpeg_index idx = {0};
  size_t cap = 0, offset = 0;
  hatch_file_error e;
  hatch_status st = HATCH_OK;
  for (;;) {
    size_t start = 0, n = 0, skipped = 0, before = offset;
    st = hatch_mjpeg_next_ex(data, size, &offset, resync, &start, &n, &skipped, &e);
    if (st == HATCH_ERR_NOT_FOUND) {
      st = HATCH_OK;
      break;
    }
    if (e.message[0] && err && !err->message[0]) *err = e; /* the first problem */
    if (st != HATCH_OK) {
      if (!resync) goto fail;
      idx.skips++, idx.skipped_bytes += size - before; /* nothing good up to the end */
      st = HATCH_OK;
      break;
    }
    if (skipped) idx.skips++, idx.skipped_bytes += skipped;
    if (idx.count == max_frames) {
      if (err) snprintf(err->message, sizeof(err->message), "more than %zu frames", max_frames);
      st = HATCH_ERR_TOO_LARGE;
      goto fail;
    }
    if (idx.count == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      hatch_mjpeg_span *grown = realloc(idx.frames, ncap * sizeof(*grown));
      if (!grown) {
        st = HATCH_ERR_OUT_OF_MEMORY;
        goto fail;
      }
      idx.frames = grown, cap = ncap;
    }
    idx.frames[idx.count++] = (hatch_mjpeg_span){start, n};
  }
  *out = idx;
  return st;
fail:
  free(idx.frames);
  return st;
}
