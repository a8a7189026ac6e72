/* Shared by the drivers/calib sources, not installed: a small YAML document tree (libyaml events -> nodes with
 * line numbers, under size/depth/node limits, aliases refused), typed field readers that write the
 * "file:line: field ..." messages, and the per-format readers over a parsed document. */
#ifndef HATCH_CALIB_INTERNAL_H
#define HATCH_CALIB_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "hatch/calibration.h"

/* ---- document tree (yaml_doc.c) ------------------------------------------------------------ */

typedef enum ydoc_kind { YDOC_SCALAR, YDOC_SEQ, YDOC_MAP } ydoc_kind;

typedef struct ynode {
  ydoc_kind kind;
  int line;          /* 1-based; a mapping's value: its key's line */
  const char *tag;   /* as resolved by libyaml ("tag:yaml.org,2002:opencv-matrix"), NULL when none */
  const char *value; /* scalars: NUL-terminated (a scalar with an embedded NUL is refused) */
  bool quoted;       /* scalars: written with quotes or as a block (not a plain scalar) */
  int n_children;    /* sequences: items; mappings: 2 * pairs, key then value */
  struct ynode *first, *last, *next;
} ynode;

typedef struct ydoc ydoc; /* owns every node; ydoc_free accepts NULL */

/* Parses text[len] (any bytes). A first line "%YAML:1.0" (OpenCV) is turned into a comment in a
 * private copy first, *opencv_directive says whether it was there. The document must be one
 * mapping. Errors (message written through ctx): CORRUPT, TOO_LARGE, OUT_OF_MEMORY. */
typedef struct calib_ctx {
  const char *name;         /* file name for messages */
  hatch_calib_report *report; /* never NULL inside the library */
} calib_ctx;

hatch_status ydoc_parse(calib_ctx *ctx, const char *text, size_t len, ydoc **out, bool *opencv_directive);
void ydoc_free(ydoc *doc);
const ynode *ydoc_root(const ydoc *doc);
/* Whether any node carries a tag ending in "opencv-matrix". */
bool ydoc_has_opencv_tag(const ydoc *doc);

/* ---- messages ---------------------------------------------------------------------------------- */

/* Writes "name:line: <fmt>" (or "name: <fmt>" when line is 0) into the report; returns st. */
hatch_status calib_fail(calib_ctx *ctx, hatch_status st, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same as a warning on a successful load (the first warning wins). */
void calib_warn(calib_ctx *ctx, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- typed readers: field is the dotted path for messages ("cam1.intrinsics") ------------------- */

/* The value under key in map, NULL when absent. A key present twice is an error (*st set). */
const ynode *ymap_get(calib_ctx *ctx, const ynode *map, const char *key, const char *field, hatch_status *st);
/* Like ymap_get but a missing key is an error naming field. */
hatch_status ymap_require(calib_ctx *ctx, const ynode *map, const char *key, const char *field, const ynode **out);
/* Fails unless every key of map is in keys (NULL-terminated): catches typos in hatch's own format. */
hatch_status ymap_only_keys(calib_ctx *ctx, const ynode *map, const char *const *keys, const char *field);

hatch_status ynode_expect(calib_ctx *ctx, const ynode *n, ydoc_kind kind, const char *field);
hatch_status ynode_double(calib_ctx *ctx, const ynode *n, const char *field, double *out); /* finite only */
hatch_status ynode_int(calib_ctx *ctx, const ynode *n, const char *field, long lo, long hi, long *out);
/* Copies a scalar (any style) into out[cap]; too long -> CORRUPT. */
hatch_status ynode_string(calib_ctx *ctx, const ynode *n, const char *field, char *out, size_t cap);
/* A sequence of numbers, flat, or (nested) a sequence of sequences read row after row. Exactly
 * `want` numbers unless want < 0 (then 0..cap, count in *n). */
hatch_status ynode_numbers(calib_ctx *ctx, const ynode *n, const char *field, bool nested_ok, double *out, int cap,
                           int want, int *n_out);

/* ---- shared checks and the per-format readers (calib_common.c, calib_ros.c, ...) --------------- */

/* Checks the filled-in intrinsics (sizes, fx/fy, distortion model and count); canonicalizes the
 * model name. line: where the camera's mapping starts; field_prefix: "" or "cam1."; dist_field: the
 * coefficients' field for messages, dist_line its line. */
hatch_status calib_finish_intrinsics(calib_ctx *ctx, hatch_camera_intrinsics *in, int line, const char *field_prefix,
                                     const char *dist_field, int dist_line);
/* K (3, 3) row-major -> fx fy cx cy skew, checking fx, fy > 0 and the bottom row 0 0 1. */
hatch_status calib_set_camera_matrix(calib_ctx *ctx, hatch_camera_intrinsics *in, const double K[9], int line,
                                     const char *field);
/* A {rows, cols, data} mapping (ROS) or !!opencv-matrix (opencv: dt must be d or f): rows*cols
 * numbers, at most cap, into out. The caller checks the shape. */
hatch_status calib_read_matrix(calib_ctx *ctx, const ynode *n, const char *field, bool opencv, double *out, int cap,
                               int *rows, int *cols);
void calib_default_rect_proj(hatch_camera_intrinsics *in, bool have_rect, bool have_proj);

hatch_status calib_read_ros(calib_ctx *ctx, const ynode *root, hatch_calib_file *out);
hatch_status calib_read_opencv(calib_ctx *ctx, const ynode *root, hatch_calib_file *out);
hatch_status calib_read_kalibr(calib_ctx *ctx, const ynode *root, hatch_calib_file *out);
/* Detects the format of a parsed document (CORRUPT with a message when nothing fits). */
hatch_status calib_detect(calib_ctx *ctx, const ydoc *doc, bool opencv_directive, hatch_calib_format *out);
hatch_status calib_read_doc(calib_ctx *ctx, const ydoc *doc, bool opencv_directive, hatch_calib_format format,
                            hatch_calib_file *out);

/* pose_math.c: whether R (3x3 rows `stride` doubles apart) is a rotation within HATCH_CALIB_ORTHO_TOL;
 * when not, a reason in why[why_size]. */
bool pose_rotation_ok(const double *R, int stride, char *why, size_t why_size);

/* Reads a whole file (<= HATCH_CALIB_MAX_FILE_SIZE) into a malloc'd buffer. */
hatch_status calib_read_file(calib_ctx *ctx, const char *path, char **text, size_t *len);

#endif
