/* Real data for the trainer: MindCube-format JSONL (with images, and the optional "hatch" object our
 * synthetic dataset writer adds), RGB-D + intrinsics + poses described by a JSON manifest, the pinhole
 * camera math they share, and the PaStA correspondence targets computed from depth reprojection.
 * Formats: train/data/README.md. Method: shared/docs/method.md sections 2 and 5.
 *
 * Everything fills hatch/train_sample.h's hatch_train_sample. Readers never stop on a bad record:
 * the record is skipped, counted, and the report names file:line (JSONL) or the manifest field and
 * frame index, and why. Parsing (JSON text -> sample fields + file names) is separate from loading
 * (file names -> pixels), so the parsers run from memory with no file access (fuzz targets).
 *
 * Nothing here prints, exits or aborts. Readers are not thread-safe: one per thread. */
#ifndef HATCH_TRAIN_DATA_H
#define HATCH_TRAIN_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hatch/frame_decode.h"
#include "hatch/plan.h"
#include "hatch/status.h"
#include "hatch/train_sample.h"

#define HATCH_DATA_MAX_PATH 512                 /* bytes of a file name as written, and of a joined path */
#define HATCH_DATA_MAX_FILE ((size_t)64 << 20)  /* an image / depth file, bytes */
#define HATCH_DATA_MAX_DIM 8192                 /* image width / height */

/* What went wrong and where: "data.jsonl:17: images[2]: cannot decode 'img/a.jpg': ..." or
 * "scene.json: frames[4].intrinsics.fx: must be > 0". status: the hatch_status of the problem. */
typedef struct hatch_data_report {
  hatch_status status;
  char message[768];
} hatch_data_report;

/* A reader's next(): a sample, a skipped record (report says why; call again), the clean end, or a
 * failure the reader cannot go past (read error, out of memory; report says which). */
typedef enum hatch_data_step {
  HATCH_DATA_SAMPLE = 0,
  HATCH_DATA_SKIPPED,
  HATCH_DATA_END,
  HATCH_DATA_FAILED,
} hatch_data_step;

typedef struct hatch_data_counts {
  uint64_t read;    /* records (JSONL lines that are not blank; manifest pairs) looked at */
  uint64_t ok;      /* samples returned */
  uint64_t skipped; /* records skipped (read == ok + skipped) */
} hatch_data_counts;

/* ---- pinhole cameras (train/data/pinhole.c) ----------------------------------------------------
 * Pixel convention (OpenCV, ScanNet): pixel (row r, column c) has its centre at image coordinates
 * (u, v) = (c, r); a point projects to u = fx * x / z + cx, v = fy * y / z + cy in the camera's
 * optical frame (x right, y down, z forward), and falls on pixel (floor(v + 0.5), floor(u + 0.5)).
 * Depth is metres along the optical z axis (not along the ray). */

/* Row-major 4x4 camera-to-world [R | p; 0 0 0 1] from a rotation (columns = optical axes in the
 * world) and a position; and back (the last row of T is not looked at). */
void hatch_pinhole_pose_from_rt(const double rotation[9], const double position[3], double T_w_c[16]);
void hatch_pinhole_pose_to_camera(const double T_w_c[16], hatch_pinhole_camera *cam);
void hatch_pinhole_pose(const hatch_pinhole_camera *cam, double T_w_c[16]);

/* Where camera b is seen from camera a (hatch/calibration.h's hatch_pose_relative on their poses). */
void hatch_pinhole_relative_pose(const hatch_pinhole_camera *a, const hatch_pinhole_camera *b, hatch_relative_pose *out);

/* HATCH_OK when the camera is usable: size 1..HATCH_DATA_MAX_DIM, fx, fy > 0 and finite, cx, cy
 * finite, rotation orthonormal with det +1 (hatch_pose_validate), position finite. Else
 * HATCH_ERR_CORRUPT and a short reason in why[why_size] ("fx must be > 0 (got -3)"). */
hatch_status hatch_pinhole_check(const hatch_pinhole_camera *cam, char *why, size_t why_size);

/* Pixel coordinates (u, v) at depth z (metres) -> world point. */
void hatch_pinhole_back_project(const hatch_pinhole_camera *cam, double u, double v, double depth, double p_world[3]);
/* World point -> (u, v) and depth z in the camera. Returns false (u, v untouched) when the point is
 * not in front of the camera (z <= 1e-9); true does not mean inside the image. */
bool hatch_pinhole_project(const hatch_pinhole_camera *cam, const double p_world[3], double *u, double *v, double *z);

/* ---- PaStA targets (train/data/pasta_targets.c) ----------------------------------------------- */

#define HATCH_PASTA_MAX_GRID 32

typedef struct hatch_pasta_options {
  int grid;        /* n: an n x n grid of cells per image; default 4 */
  double t_abs;    /* metres; default 0.05 */
  double t_rel;    /* fraction of the projected depth; default 0.02 */
  int stride;      /* sample every stride-th pixel in rows and columns of the source image; default 1 */
} hatch_pasta_options;

void hatch_pasta_options_default(hatch_pasta_options *opt);

/* Cell (a, b) of an n x n grid over an h x w image covers rows [floor(a*h/n), floor((a+1)*h/n)) and
 * columns [floor(b*w/n), floor((b+1)*w/n)); its index is a*n + b (row-major).
 *
 * M_XY[i][j] = (pixels of cell i of X with valid depth whose back-projection lands in front of Y's
 * camera, inside Y, in cell j, with |z_Y - depth_Y(pixel)| <= t_abs + t_rel * z_Y)
 *            / (pixels of cell i with valid depth); a row with no valid depth is all zero.
 * Valid depth: finite and > 0 (0 = unknown); a target pixel with unknown depth never counts.
 * S = 1/2 (M_XY + M_YX^T). All three are (n*n, n*n) row-major floats, caller-allocated; m_xy, m_yx or
 * s may be NULL when not wanted (the other direction is still computed for s).
 * x, y: images with depth and has_camera; the camera's size must equal the image's.
 * Errors: HATCH_ERR_INVALID_ARGUMENT (NULL image, bad options), HATCH_ERR_SHAPE (camera size differs
 * from the image's, depth missing, no camera), HATCH_ERR_CORRUPT (camera fails hatch_pinhole_check);
 * report (may be NULL) says which image and why. */
hatch_status hatch_pasta_targets(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt,
                                 float *m_xy, float *m_yx, float *s, hatch_data_report *report);

/* One direction, plus the overlap: consistent pixels / valid-depth pixels of x over the whole image
 * (NULL when not wanted). m_xy may be NULL too. Errors as hatch_pasta_targets. */
hatch_status hatch_pasta_map(const hatch_sample_image *x, const hatch_sample_image *y, const hatch_pasta_options *opt,
                             float *m_xy, double *overlap, hatch_data_report *report);

/* ---- files shared by the loaders (train/data/data_files.c) ------------------------------------ */

/* dir + "/" + name, or name itself when it is absolute or dir is NULL/"". HATCH_ERR_TOO_LARGE when it
 * does not fit in cap bytes. */
hatch_status hatch_data_path_join(const char *dir, const char *name, char *out, size_t cap);

/* Reads and decodes a JPEG or PNG (by its first bytes) into a malloc'd (height, width, 3) RGB8 buffer
 * (*rgb, caller frees). dec: a JPEG decoder to reuse (NULL: one is made for this call).
 * Errors: HATCH_ERR_NOT_FOUND, HATCH_ERR_IO, HATCH_ERR_TOO_LARGE (file or image over the limits),
 * HATCH_ERR_CORRUPT (neither JPEG nor PNG, or undecodable), HATCH_ERR_OUT_OF_MEMORY. why names the
 * problem without the path (the caller adds it). */
hatch_status hatch_data_load_rgb(const char *path, hatch_jpeg_decoder *dec, uint8_t **rgb, int *width, int *height,
                                 char *why, size_t why_size);

/* A depth map as a 16-bit single-channel (gray) PNG, values times scale = metres, 0 = unknown.
 * decode: from memory into a malloc'd (height, width) float buffer (*depth, caller frees). Anything
 * but 16-bit gray (8-bit, RGB, palette) is refused with HATCH_ERR_UNSUPPORTED. */
hatch_status hatch_depth_png_decode(const uint8_t *data, size_t size, double scale, float **depth, int *width,
                                    int *height, char *why, size_t why_size);
hatch_status hatch_depth_png_load(const char *path, double scale, float **depth, int *width, int *height, char *why,
                                  size_t why_size);
/* Writes depth (height, width) metres as a 16-bit gray PNG: round(d / scale), clamped to 0..65535;
 * non-finite or <= 0 -> 0. Errors: HATCH_ERR_INVALID_ARGUMENT, HATCH_ERR_IO, HATCH_ERR_OUT_OF_MEMORY. */
hatch_status hatch_depth_png_write(const char *path, const float *depth, int width, int height, double scale);

/* ---- MindCube JSONL (train/data/mindcube_jsonl.c) --------------------------------------------- */

#define HATCH_MINDCUBE_MAX_LINE ((size_t)16 << 20) /* default longest line, bytes */

/* The files one record names, as written (relative to the reader's image root unless absolute). */
typedef struct hatch_data_files {
  int n;                                                 /* == the sample's n_images */
  char rgb[HATCH_SAMPLE_MAX_IMAGES][HATCH_DATA_MAX_PATH]; /* (n) */
  char depth[HATCH_SAMPLE_MAX_IMAGES][HATCH_DATA_MAX_PATH]; /* (n); "" = no depth for that view */
  double depth_scale[HATCH_SAMPLE_MAX_IMAGES];            /* (n) metres per depth unit */
} hatch_data_files;

/* Parses one JSONL record (len bytes, need not be NUL-terminated) into *sample's text fields, pose
 * and cameras (no pixels; n_images set, images[k].width/height from the "hatch" views when given)
 * and *files. where: the prefix for messages ("data.jsonl:17"). No file access.
 * Errors: HATCH_ERR_CORRUPT (bad JSON, a missing field, a wrong type or value: the message names the
 * field), HATCH_ERR_TOO_LARGE (a string longer than its sample field), HATCH_ERR_INVALID_ARGUMENT.
 * On error *sample and *files are zeroed. */
hatch_status hatch_mindcube_parse_record(const char *text, size_t len, const char *where, hatch_train_sample *sample,
                                         hatch_data_files *files, hatch_data_report *report);

/* Number of inline options "A. ... B. ... C. ..." in a question: consecutive letters from A, each
 * written "X." or "X)" at the start or after a space, '(' or newline. 0 when there is no "A.". */
int hatch_mindcube_count_options(const char *question);

/* Decodes the images (and depth maps) *files names into *sample: root: where relative names start.
 * Checks every image against the size the record gave, and depth against its image.
 * On error the sample's pixel buffers are freed (text fields stay). where: as above. */
hatch_status hatch_data_load_images(const char *root, const hatch_data_files *files, hatch_jpeg_decoder *dec,
                                    const char *where, hatch_train_sample *sample, hatch_data_report *report);

typedef struct hatch_mindcube_options {
  const char *image_root; /* NULL: the JSONL file's directory */
  bool skip_images;       /* true: parse records only (no pixels; n_images and files still checked) */
  size_t max_line;        /* 0: HATCH_MINDCUBE_MAX_LINE */
} hatch_mindcube_options;

typedef struct hatch_mindcube_reader hatch_mindcube_reader;

/* Opens path (a JSONL file, read one line at a time). opt may be NULL (the defaults).
 * Errors: HATCH_ERR_NOT_FOUND, HATCH_ERR_IO, HATCH_ERR_OUT_OF_MEMORY, HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_mindcube_reader_open(const char *path, const hatch_mindcube_options *opt,
                                        hatch_mindcube_reader **out, hatch_data_report *report);
/* The next record. SAMPLE: *sample is cleared (hatch_train_sample_clear) then filled; source is
 * "file:line". SKIPPED: a blank-free line that failed (report: "file:line: field: why"); *sample is
 * left cleared. END: no more lines. FAILED: a read error or out of memory. Blank lines are ignored. */
hatch_data_step hatch_mindcube_reader_next(hatch_mindcube_reader *r, hatch_train_sample *sample,
                                           hatch_data_report *report);
hatch_data_counts hatch_mindcube_reader_counts(const hatch_mindcube_reader *r);
void hatch_mindcube_reader_close(hatch_mindcube_reader *r); /* NULL-safe */

/* ---- RGB-D manifests (train/data/rgbd_manifest.c) --------------------------------------------- */

#define HATCH_RGBD_MAX_BYTES ((size_t)64 << 20) /* a manifest file */
#define HATCH_RGBD_MAX_FRAMES 200000
#define HATCH_RGBD_MAX_PAIRS 4000000

typedef struct hatch_rgbd_frame {
  char rgb[HATCH_DATA_MAX_PATH];   /* as written */
  char depth[HATCH_DATA_MAX_PATH];
  double depth_scale;              /* metres per depth unit */
  hatch_pinhole_camera camera;     /* OpenCV axes (an "opengl" frame is converted); width/height 0
                                      until the image is loaded unless "width"/"height" were given */
  bool bad;                        /* failed a check; why says which field */
  char why[384];
} hatch_rgbd_frame;

typedef struct hatch_rgbd_manifest {
  int version;                /* 1 */
  size_t n_frames;
  hatch_rgbd_frame *frames;   /* (n_frames) malloc'd */
  size_t n_pairs;
  int (*pairs)[2];            /* (n_pairs, 2) malloc'd; frame indexes, a != b */
  bool default_pairs;         /* no "pairs" given: consecutive frames, filtered by min_overlap */
  double min_overlap;         /* "min_overlap", default 0.1 */
  size_t bad_frames;          /* frames with bad set at parse time */
} hatch_rgbd_manifest;

/* Parses manifest text (len bytes). name: the prefix for messages. A frame that breaks a rule is kept
 * with bad = true and why ("frames[3].intrinsics.fx: must be > 0"); pairs naming it are skipped by
 * the reader. Errors (the whole manifest is refused): HATCH_ERR_CORRUPT (bad JSON, not an object,
 * "frames" missing or empty, a malformed "pairs" entry), HATCH_ERR_UNSUPPORTED (version other than
 * 1), HATCH_ERR_TOO_LARGE, HATCH_ERR_OUT_OF_MEMORY. On error *out is zeroed and owns nothing. */
hatch_status hatch_rgbd_manifest_parse(const char *text, size_t len, const char *name, hatch_rgbd_manifest *out,
                                       hatch_data_report *report);
void hatch_rgbd_manifest_free(hatch_rgbd_manifest *m); /* NULL-safe; zeroes *m */

/* The question every manifest pair sample asks (n_options 0: the answer is the action string). */
#define HATCH_RGBD_QUESTION "What viewpoint change takes you from image 1 to image 2?"

typedef struct hatch_rgbd_options {
  const char *root;            /* NULL: the manifest's directory */
  hatch_pasta_options overlap; /* how default pairs' overlap is measured (stride 4 when 0) */
} hatch_rgbd_options;

typedef struct hatch_rgbd_reader hatch_rgbd_reader;

hatch_status hatch_rgbd_reader_open(const char *path, const hatch_rgbd_options *opt, hatch_rgbd_reader **out,
                                    hatch_data_report *report);
/* The next pair as a sample: 2 images with rgb, depth and camera; setting "free"; id
 * "<manifest stem>_<a>_<b>"; question HATCH_RGBD_QUESTION; n_options 0; gt_answer 0; has_pose with
 * the true relative pose of image 1 seen from image 0; action "<action>{from:0,to:1,action:[...]}
 * </action>" (hatch_plan_actions_from_pose). SKIPPED: a pair naming a bad frame, a frame that does not
 * load, or (default pairs only) overlap below min_overlap. */
hatch_data_step hatch_rgbd_reader_next(hatch_rgbd_reader *r, hatch_train_sample *sample, hatch_data_report *report);
hatch_data_counts hatch_rgbd_reader_counts(const hatch_rgbd_reader *r);
const hatch_rgbd_manifest *hatch_rgbd_reader_manifest(const hatch_rgbd_reader *r);
void hatch_rgbd_reader_close(hatch_rgbd_reader *r); /* NULL-safe */

/* The ActoR teacher string for a relative pose from view `from` to view `to`:
 * "<action>{from:F,to:T,action:[...]}</action>" (hatch_plan_actions_from_pose + hatch_plan_format).
 * HATCH_ERR_TOO_LARGE when cap is too small. */
hatch_status hatch_data_action_string(const hatch_relative_pose *pose, int from, int to, char *buf, size_t cap);

#endif
