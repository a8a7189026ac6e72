/* The file formats of the file:// frame source: PNG frames (libpng), MJPEG streams (concatenated
 * JPEG frames), the capture manifest written by `hatch capture` (JSON, cJSON), and frame directories
 * (naturally sorted .jpg/.jpeg/.png files).
 *
 * Every function returns a hatch_status and never exits, aborts or prints. Messages go into a
 * hatch_decode_report (PNG) or a hatch_file_error (everything else); both may be NULL. File bytes are
 * untrusted: sizes are checked against limits before anything is allocated. Nothing here keeps
 * global state; every function is thread-safe on distinct objects. */
#ifndef HATCH_FRAME_FILES_H
#define HATCH_FRAME_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/frame_decode.h"
#include "hatch/status.h"

/* An error message for the file formats: what failed and where ("manifest.json: sets[3].frames[1]
 * .camera 7 is not a camera index (0..3)", "stream.mjpeg: offset 1234: ..."); "" on success. */
typedef struct hatch_file_error {
  char message[256];
} hatch_file_error;

/* ---- PNG ----------------------------------------------------------------------------------- */

/* Reads the signature and the IHDR chunk (its CRC included) without libpng and without allocating.
 * *width, *height set on HATCH_OK. Errors: HATCH_ERR_CORRUPT (not a PNG, bad IHDR),
 * HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_png_probe(const uint8_t *data, size_t size, int *width, int *height);

/* Decodes a whole PNG into rgb, (height, width, 3) RGB8 packed rows, rgb_size bytes.
 * Every PNG colour type and bit depth: gray (1/2/4/8/16 bit, scaled to 0..255), gray+alpha,
 * palette (1/2/4/8 bit), RGB, RGBA; Adam7 interlaced or not. 16-bit samples keep their high byte.
 * Alpha and tRNS transparency are dropped, not composited: the colour samples come out as stored.
 * No gamma/ICC/sBIT processing: samples are passed through.
 * The IHDR is checked against limits (NULL -> hatch_jpeg_limits_default()) before libpng allocates
 * anything; libpng's user limits are set to the same values, ancillary chunks are capped at 8 MB.
 * The whole file must be well formed through IEND: a CRC error in any chunk (critical or ancillary),
 * bad zlib data, or a truncation anywhere -> HATCH_ERR_CORRUPT with libpng's message in
 * report->message. libpng warnings keep the frame: report->warning + the first warning's message.
 * Errors: HATCH_ERR_CORRUPT, HATCH_ERR_TOO_LARGE (nothing decoded), HATCH_ERR_SHAPE (rgb_size <
 * width * height * 3; report->width/height say what is needed), HATCH_ERR_INVALID_ARGUMENT (NULL
 * pointers, limits <= 0), HATCH_ERR_OUT_OF_MEMORY. report may be NULL. Allocates only libpng's
 * per-call structures (freed on every path); pixels go straight into rgb. */
hatch_status hatch_png_decode_rgb(const uint8_t *data, size_t size, const hatch_jpeg_limits *limits, uint8_t *rgb,
                                  size_t rgb_size, hatch_decode_report *report);

/* ---- MJPEG streams ------------------------------------------------------------------------- */
/* A .mjpeg file is JPEG frames back to back (what `ffmpeg -f mjpeg` or a camera dump writes). The
 * splitter walks each frame's markers: SOI, segments by their lengths (so an EXIF thumbnail's FF D9
 * inside APP1 is skipped), after SOS the entropy-coded data up to the first marker that is not
 * FF 00 stuffing, RST0-7 or an FF fill byte, and so on until EOI. A frame must contain a scan (SOS).
 * Nothing is decoded; nothing is allocated (except by the index). */

/* The frame at *offset: data[*frame_start .. *frame_start + *frame_size) runs from SOI through EOI,
 * and *offset moves past it. Strict: the frame must start exactly at *offset (no padding between
 * frames; resync below skips padding and garbage).
 * HATCH_OK; HATCH_ERR_NOT_FOUND when *offset == size (the clean end); HATCH_ERR_CORRUPT for anything
 * else (garbage where a frame should start, a malformed or truncated frame), *offset unchanged. */
hatch_status hatch_mjpeg_next(const uint8_t *data, size_t size, size_t *offset, size_t *frame_start,
                              size_t *frame_size);

/* hatch_mjpeg_next with a choice. resync = false: as above, with the byte offset of the problem in
 * err. resync = true: garbage before a frame, and frames that turn out malformed or cut short, are
 * skipped up to the next FF D8 FF (SOI + a marker) and the walk goes on from there; HATCH_OK with
 * *skipped = bytes passed over (0 when the frame started at *offset) and err noting the first
 * problem. When no good frame follows, *offset moves to size and HATCH_ERR_CORRUPT says where the
 * trouble began (so the next call returns HATCH_ERR_NOT_FOUND). skipped and err may be NULL. */
hatch_status hatch_mjpeg_next_ex(const uint8_t *data, size_t size, size_t *offset, bool resync,
                                 size_t *frame_start, size_t *frame_size, size_t *skipped, hatch_file_error *err);

typedef struct hatch_mjpeg_span {
  size_t offset, size; /* one frame: data[offset .. offset + size), SOI through EOI */
} hatch_mjpeg_span;

typedef struct hatch_mjpeg_index {
  size_t count;             /* frames found */
  hatch_mjpeg_span *frames; /* (count), in file order; malloc'd */
  size_t skipped_bytes;     /* resync only: garbage and broken frames passed over, tail included */
  size_t skips;             /* resync only: how many places had garbage or a broken frame */
} hatch_mjpeg_index;

/* Splits a whole stream. max_frames: a stream with more frames -> HATCH_ERR_TOO_LARGE (0 = the
 * default, HATCH_MJPEG_DEFAULT_MAX_FRAMES). Strict (resync = false): the first problem ->
 * HATCH_ERR_CORRUPT with its offset in err. resync = true: problems are skipped and counted, the
 * first one noted in err; HATCH_OK even with zero frames. *out is zeroed on any error.
 * Errors also: HATCH_ERR_OUT_OF_MEMORY, HATCH_ERR_INVALID_ARGUMENT. */
#define HATCH_MJPEG_DEFAULT_MAX_FRAMES ((size_t)10 * 1000 * 1000)
hatch_status hatch_mjpeg_index_build(const uint8_t *data, size_t size, size_t max_frames, bool resync,
                                     hatch_mjpeg_index *out, hatch_file_error *err);
void hatch_mjpeg_index_free(hatch_mjpeg_index *index); /* NULL-safe; zeroes *index */

/* ---- capture manifest (drivers/README.md, "Capture manifest") ------------------------------ */

#define HATCH_CAPTURE_FORMAT "hatch-capture"
#define HATCH_CAPTURE_VERSION 1
#define HATCH_CAPTURE_MANIFEST_NAME "manifest.json" /* in the capture directory */
#define HATCH_CAPTURE_MAX_CAMERAS 16
#define HATCH_CAPTURE_MAX_SETS 10000000
#define HATCH_CAPTURE_MAX_BYTES ((size_t)256 << 20) /* a manifest file, read or written */
#define HATCH_CAPTURE_NAME_MAX 63                   /* bytes of a camera name */
#define HATCH_CAPTURE_URI_MAX 511                   /* bytes of a camera URI */
#define HATCH_CAPTURE_FILE_MAX 255                  /* bytes of a frame file name */
/* JSON numbers are doubles for most readers (cJSON included): integers are exact only below 2^53
 * (RFC 8259 section 6), so every integer field must lie within +-(2^53 - 1); a larger one would be
 * rounded silently, so it is refused on read and on write (ts_ns: CLOCK_MONOTONIC stays below it for
 * 104 days of uptime). */
#define HATCH_CAPTURE_INT_MAX ((INT64_C(1) << 53) - 1)

typedef struct hatch_capture_camera {
  int index;                                 /* == its position in cameras[] */
  char name[HATCH_CAPTURE_NAME_MAX + 1];     /* non-empty, printable, no '/' or '\\' */
  char uri[HATCH_CAPTURE_URI_MAX + 1];       /* non-empty, printable ("fake://0", "v4l2:///dev/video0") */
  int width, height;                         /* 1..65535 */
  char pixel_format[5];                      /* fourcc, 4 printable ASCII characters ("MJPG", "YUYV") */
  double fps;                                /* > 0, <= 1000 */
} hatch_capture_camera;

typedef struct hatch_capture_header {
  char created_utc[32];   /* "YYYY-MM-DDTHH:MM:SSZ", optionally ".fff...Z" */
  int64_t tolerance_ns;   /* sync tolerance used for the capture, >= 0 */
  int n_cameras;          /* 1..HATCH_CAPTURE_MAX_CAMERAS */
  hatch_capture_camera cameras[HATCH_CAPTURE_MAX_CAMERAS]; /* (n_cameras) */
} hatch_capture_header;

typedef struct hatch_capture_frame {
  bool missing;   /* no frame from this camera in this set; then file is NULL, ts_ns and seq 0 */
  char *file;     /* name of the frame file in the capture directory (hatch_capture_file_name_ok) */
  int64_t ts_ns;  /* the frame's timestamp, CLOCK_MONOTONIC ns */
  uint64_t seq;   /* the driver's frame sequence number */
} hatch_capture_frame;

typedef struct hatch_capture_set {
  int64_t index;               /* 0.., strictly increasing across sets; gaps are dropped sets */
  int64_t ts_ns;               /* the set's timestamp; non-decreasing across sets */
  int64_t skew_ns;             /* max - min frame timestamp in the set, >= 0 */
  hatch_capture_frame *frames; /* (n_cameras): frames[k] is camera k */
} hatch_capture_set;

typedef struct hatch_capture_camera_stats {
  uint64_t frames, dropped, corrupt, error_flagged, disconnects;
} hatch_capture_camera_stats;

typedef struct hatch_capture_stats {
  uint64_t sets;         /* == the number of sets listed */
  uint64_t sets_dropped; /* sets the sync layer dropped (never listed) */
  hatch_capture_camera_stats cameras[HATCH_CAPTURE_MAX_CAMERAS]; /* (n_cameras) */
} hatch_capture_stats;

typedef struct hatch_capture_manifest {
  hatch_capture_header header;
  bool complete;           /* false: written by a capture that had not finished (a checkpoint) */
  size_t n_sets;
  hatch_capture_set *sets; /* (n_sets) */
  hatch_capture_stats stats;
  void *storage;           /* parse/load only: owns sets, frames and file names; NULL otherwise */
} hatch_capture_manifest;

/* A frame file name is a plain name in the capture directory: 1..255 bytes, no '/' or '\\', not "."
 * or "..", no ".." anywhere, no control characters. */
bool hatch_capture_file_name_ok(const char *name);

/* Checks a header / one set / the stats against the format's rules (what parse and the writers check). prev: the
 * set before it, or NULL. where: a prefix for messages ("manifest.json"). HATCH_ERR_CORRUPT with
 * the field named in err. */
hatch_status hatch_capture_header_check(const hatch_capture_header *header, const char *where, hatch_file_error *err);
hatch_status hatch_capture_set_check(const hatch_capture_header *header, const hatch_capture_set *set,
                                     const hatch_capture_set *prev, size_t position, const char *where,
                                     hatch_file_error *err);

/* stats->sets must equal n_sets; every counter <= HATCH_CAPTURE_INT_MAX. */
hatch_status hatch_capture_stats_check(const hatch_capture_header *header, const hatch_capture_stats *stats,
                                       size_t n_sets, const char *where, hatch_file_error *err);

/* Parses manifest text (len bytes, need not be NUL-terminated). name: used in messages (NULL ->
 * "manifest"). HATCH_OK fills *out (free with hatch_capture_manifest_free). Errors:
 * HATCH_ERR_CORRUPT (bad JSON or a rule broken; err names the field and set/frame index),
 * HATCH_ERR_UNSUPPORTED (another format or a newer version), HATCH_ERR_TOO_LARGE (len over
 * HATCH_CAPTURE_MAX_BYTES, too many cameras or sets), HATCH_ERR_OUT_OF_MEMORY,
 * HATCH_ERR_INVALID_ARGUMENT. On error *out is zeroed and owns nothing. */
hatch_status hatch_capture_manifest_parse(const char *text, size_t len, const char *name, hatch_capture_manifest *out,
                                          hatch_file_error *err);
/* Reads a whole file (at most HATCH_CAPTURE_MAX_BYTES) and parses it. Errors as parse, plus
 * HATCH_ERR_NOT_FOUND (no such file) and HATCH_ERR_IO. */
hatch_status hatch_capture_manifest_load(const char *path, hatch_capture_manifest *out, hatch_file_error *err);
/* Frees what parse/load allocated and zeroes *m. NULL-safe; on a caller-built manifest (storage NULL)
 * it frees nothing, only zeroes. */
void hatch_capture_manifest_free(hatch_capture_manifest *m);

/* Checks m and writes it to path atomically: a temp file in the same directory, fsync, rename, fsync
 * of the directory. A crash leaves either the old file or the new one. Errors: HATCH_ERR_CORRUPT (m
 * breaks a rule), HATCH_ERR_TOO_LARGE, HATCH_ERR_IO, HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_capture_manifest_write(const char *path, const hatch_capture_manifest *m, hatch_file_error *err);

/* Incremental writer for a running capture: <dir>/manifest.json is a valid manifest from open on,
 * rewritten with hatch_capture_manifest_write's temp + rename every checkpoint ("complete": false
 * until close). A checkpoint happens after an append when the sets not yet on disk reach
 * max(checkpoint_sets, sets on disk / 16): a crash loses at most that many sets, and the total bytes
 * written stay within ~17x the final file. The writer keeps the sets' JSON text in memory (bounded
 * by HATCH_CAPTURE_MAX_BYTES). Not thread-safe. */
typedef struct hatch_capture_writer hatch_capture_writer;

/* checkpoint_sets: >= 1 (1 = after every append early on). Writes the first checkpoint (no sets). */
hatch_status hatch_capture_manifest_writer_open(const char *dir, const hatch_capture_header *header,
                                                int checkpoint_sets, hatch_capture_writer **out,
                                                hatch_file_error *err);
/* Checks the set (hatch_capture_set_check against the previous one) and adds it; the set is copied
 * (as text), the caller keeps ownership. Errors: HATCH_ERR_CORRUPT (set refused, nothing added),
 * HATCH_ERR_TOO_LARGE (HATCH_CAPTURE_MAX_SETS or _BYTES reached), HATCH_ERR_IO (the checkpoint failed;
 * the set is kept and the next append or flush retries). */
hatch_status hatch_capture_manifest_writer_append_set(hatch_capture_writer *w, const hatch_capture_set *set,
                                                      hatch_file_error *err);
/* Writes a checkpoint now (e.g. once a second from the capture loop's clock). */
hatch_status hatch_capture_manifest_writer_flush(hatch_capture_writer *w, hatch_file_error *err);
/* Writes the final manifest ("complete": true) and frees w, whatever the result. stats: NULL -> the
 * writer's own count (sets, frames per camera; other counters 0); stats->sets must equal the sets
 * appended. */
hatch_status hatch_capture_manifest_writer_close(hatch_capture_writer *w, const hatch_capture_stats *stats,
                                                 hatch_file_error *err);
/* Frees w without a final write: the last checkpoint stays on disk ("complete": false). NULL-safe. */
void hatch_capture_manifest_writer_destroy(hatch_capture_writer *w);

/* ---- frame directories --------------------------------------------------------------------- */

typedef enum hatch_frame_file_kind {
  HATCH_FRAME_FILE_NONE = 0,
  HATCH_FRAME_FILE_JPEG, /* *.jpg, *.jpeg */
  HATCH_FRAME_FILE_PNG,  /* *.png */
} hatch_frame_file_kind;

#define HATCH_FRAME_DIR_MAX_ENTRIES ((size_t)1000 * 1000)

typedef struct hatch_frame_list {
  size_t count;
  char **names; /* (count) file names (not paths), natural order; malloc'd */
} hatch_frame_list;

/* By extension, case-insensitive; dotfiles ("._x.jpg", ".jpg") are NONE. */
hatch_frame_file_kind hatch_frame_file_kind_of(const char *name);

/* Natural order: runs of digits compare as numbers ("frame2" < "frame10"; with equal values fewer
 * leading zeros first), everything else bytewise; a total order (equal only for equal strings). */
int hatch_natural_compare(const char *a, const char *b);

/* Regular files (symlinks followed) in dir whose kind is not NONE, naturally sorted. An empty
 * directory gives count 0 and HATCH_OK. Errors: HATCH_ERR_NOT_FOUND (no such directory),
 * HATCH_ERR_IO, HATCH_ERR_TOO_LARGE (more than HATCH_FRAME_DIR_MAX_ENTRIES frame files),
 * HATCH_ERR_OUT_OF_MEMORY, HATCH_ERR_INVALID_ARGUMENT. *list is zeroed on error. err may be NULL. */
hatch_status hatch_frame_dir_list(const char *dir, hatch_frame_list *list, hatch_file_error *err);
void hatch_frame_list_free(hatch_frame_list *list); /* NULL-safe; zeroes *list */

#endif
