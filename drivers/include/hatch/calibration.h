/* Camera calibration and rig extrinsics: intrinsics from the files users already have (ROS
 * camera_info YAML, OpenCV FileStorage YAML, Kalibr camchain.yaml), a hatch rig file that places
 * every camera on the robot, and the pose math that turns two cameras of a rig into the plan's
 * relative_pose (yaw/pitch/translation in the source camera's optical frame).
 *
 * Frames (ROS REP 103 / REP 105): the body frame is x forward, y left, z up, metres; a camera's
 * optical frame is z forward (along the optical axis), x right, y down. A transform T_a_b is a
 * row-major 4x4 (16 doubles) mapping points in frame b into frame a: p_a = T_a_b * p_b.
 *
 * Every fallible function returns a hatch_status and never prints, exits or aborts; the message
 * goes into a hatch_calib_report naming the file, the field and the line
 * ("front.yaml:7: camera_matrix.data has 8 numbers, expected 9"). Inputs are untrusted: files over
 * 1 MiB, YAML deeper than 64 levels or with more than 100k nodes are refused (HATCH_ERR_TOO_LARGE),
 * YAML aliases are refused (HATCH_ERR_CORRUPT: no alias bombs). All result types are plain values
 * owned by the caller: nothing here keeps memory after a call returns, nothing needs a destroy. */
#ifndef HATCH_CALIBRATION_H
#define HATCH_CALIBRATION_H

#include <stdbool.h>
#include <stddef.h>

#include "hatch/plan.h"
#include "hatch/status.h"

#define HATCH_CALIB_MAX_FILE_SIZE (1 << 20) /* bytes */
#define HATCH_CALIB_MAX_DEPTH 64            /* YAML nesting levels */
#define HATCH_CALIB_MAX_NODES 100000        /* YAML nodes (scalars + collections) */
#define HATCH_CALIB_MAX_DIM 16384           /* image width / height, pixels */
#define HATCH_CALIB_MAX_DIST 14             /* OpenCV's longest model: k1 k2 p1 p2 k3 k4 k5 k6 s1..s4 tx ty */
#define HATCH_CALIB_MAX_CAMERAS 16
#define HATCH_CALIB_ORTHO_TOL 1e-3 /* |R^T R - I| (max element) and |det R - 1| */

typedef enum hatch_calib_format {
  HATCH_CALIB_FORMAT_AUTO = 0, /* detect from content (see hatch_calib_parse) */
  HATCH_CALIB_FORMAT_ROS,      /* camera_info YAML (camera_calibration / camera_calibration_parsers) */
  HATCH_CALIB_FORMAT_OPENCV,   /* cv::FileStorage YAML, "%YAML:1.0", !!opencv-matrix */
  HATCH_CALIB_FORMAT_KALIBR,   /* camchain.yaml: cam0, cam1, ... */
} hatch_calib_format;

/* "auto", "ros", "opencv", "kalibr"; "unknown" outside the enum. */
const char *hatch_calib_format_name(hatch_calib_format format);

/* Where and why a parse failed. On HATCH_OK message is "" unless warning is set (the file loaded,
 * but something deserves a look: e.g. a distortion model hatch does not know). line: 1-based line
 * in the file named in the message, 0 when no line applies (empty file, I/O error). */
typedef struct hatch_calib_report {
  char message[256];
  int line;
  bool warning;
} hatch_calib_report;

/* Pinhole intrinsics of one camera.
 * distortion_model, canonical names (distortion_known = true), coefficients in OpenCV order:
 *   "none"                 n_dist 0
 *   "plumb_bob"            n_dist 4 or 5: k1 k2 p1 p2 [k3]       (Kalibr "radtan" -> 4)
 *   "rational_polynomial"  n_dist 8, 12 or 14: k1 k2 p1 p2 k3 k4 k5 k6 [s1 s2 s3 s4 [tx ty]]
 *   "equidistant"          n_dist 4: k1 k2 k3 k4 (OpenCV fisheye; ROS "fisheye" and Kalibr
 *                          "equidistant" map here)
 * Any other model name is kept as written with distortion_known = false, up to 14 coefficients,
 * and the load succeeds with report.warning set: hatch cannot undistort it, the caller decides. */
typedef struct hatch_camera_intrinsics {
  int width, height;         /* pixels, 1..HATCH_CALIB_MAX_DIM */
  double fx, fy, cx, cy;     /* pixels; fx, fy > 0 */
  double skew;               /* K[0][1]; 0 in nearly every file */
  char distortion_model[32]; /* see above */
  bool distortion_known;
  double dist[HATCH_CALIB_MAX_DIST]; /* (n_dist) */
  int n_dist;
  double rect[9];  /* (3, 3) row-major rectification R; identity when the file has none */
  double proj[12]; /* (3, 4) row-major projection P; [K | 0] when the file has none */
  char name[64];   /* ROS camera_name, Kalibr "cam<n>", "" for OpenCV */
} hatch_camera_intrinsics;

/* One camera of a calibration file. Kalibr only: T_cn_cnm1 maps points in cam(n-1)'s optical frame
 * into cam(n)'s (p_cn = T_cn_cnm1 * p_cnm1); rostopic as written. */
typedef struct hatch_calib_camera {
  hatch_camera_intrinsics intrinsics;
  bool has_T_cn_cnm1;
  double T_cn_cnm1[16]; /* (4, 4) row-major */
  char rostopic[128];
} hatch_calib_camera;

/* A whole calibration file: one camera for ROS and OpenCV, 1..16 for Kalibr (cam0..cam<n-1>). */
typedef struct hatch_calib_file {
  hatch_calib_format format;
  int n_cameras;
  hatch_calib_camera cameras[HATCH_CALIB_MAX_CAMERAS];
} hatch_calib_file;

/* Parses calibration text from memory. name_for_errors: what messages call the file (NULL ->
 * "<memory>"). format AUTO detects: a "%YAML:1.0" first line or an !!opencv-matrix tag -> OpenCV;
 * a top-level cam0 mapping -> Kalibr; a top-level camera_matrix mapping with data -> ROS; else a
 * top-level K / cameraMatrix -> OpenCV. *out is fully written on HATCH_OK (zeroed on errors).
 * Errors: HATCH_ERR_CORRUPT (syntax, missing field, wrong type or size, non-finite number, value
 * out of range, alias, format not recognised), HATCH_ERR_TOO_LARGE (over the limits above),
 * HATCH_ERR_UNSUPPORTED (a Kalibr camera_model other than pinhole), HATCH_ERR_OUT_OF_MEMORY,
 * HATCH_ERR_INVALID_ARGUMENT (NULL text with len > 0, NULL out). report may be NULL. */
hatch_status hatch_calib_parse(const char *text, size_t len, const char *name_for_errors, hatch_calib_format format,
                               hatch_calib_file *out, hatch_calib_report *report);

/* Reads path (at most HATCH_CALIB_MAX_FILE_SIZE bytes) and parses it with format AUTO; messages name
 * path. Errors: those of hatch_calib_parse, HATCH_ERR_NOT_FOUND (no such file), HATCH_ERR_IO. */
hatch_status hatch_calib_load_file(const char *path, hatch_calib_file *out, hatch_calib_report *report);

/* One camera of a calibration file: camera NULL -> the file must hold exactly one camera; else the
 * camera whose intrinsics.name equals camera ("cam1" in a camchain, camera_name in ROS files).
 * Errors: those of hatch_calib_load_file; HATCH_ERR_NOT_FOUND when no camera has that name. */
hatch_status hatch_calib_load_intrinsics(const char *path, const char *camera, hatch_camera_intrinsics *out,
                                         hatch_calib_report *report);

/* ---- rig files ----------------------------------------------------------------------------------
 * A hatch_rig_file is what a rig file says (names, URIs, intrinsics, where each camera sits); the
 * capture handle that opens those URIs is hatch_rig in hatch/camera.h. */

typedef struct hatch_rig_file_camera {
  char name[64];
  char uri[256];         /* frame-source URI, opaque here; "" when the file has none */
  char camera_info[256]; /* as written in the rig file; "" when none */
  bool has_intrinsics;   /* camera_info was loaded (hatch_rig_file_load, or base_dir given) */
  hatch_camera_intrinsics intrinsics;
  double T_body_camera[16]; /* (4, 4) row-major: camera optical frame -> body frame */
} hatch_rig_file_camera;

typedef struct hatch_rig_file {
  int version;          /* 1 */
  char body_frame[64];  /* "base_link" by default; "cam0" for a rig built from Kalibr */
  int n_cameras;        /* 1..HATCH_CALIB_MAX_CAMERAS, unique names */
  hatch_rig_file_camera cameras[HATCH_CALIB_MAX_CAMERAS];
} hatch_rig_file;

/* Parses a hatch rig file (format: drivers/README.md, "Rig files") or a Kalibr camchain (the body
 * frame is then cam0's optical frame; cameras cam0..cam<n-1>, uri "", intrinsics loaded).
 * base_dir: where a camera's relative camera_info path starts; NULL -> camera_info files are not
 * read (has_intrinsics false; no file I/O at all, for fuzzing). Every T_body_camera is validated:
 * finite, last row 0 0 0 1, rotation orthonormal within HATCH_CALIB_ORTHO_TOL with det +1.
 * Errors: as hatch_calib_parse (a camera_info file's errors name that file; its first warning is
 * kept), HATCH_ERR_UNSUPPORTED (version other than 1), HATCH_ERR_TOO_LARGE (over 16 cameras), and
 * HATCH_ERR_NOT_FOUND / HATCH_ERR_IO for camera_info files. */
hatch_status hatch_rig_file_parse(const char *text, size_t len, const char *name_for_errors, const char *base_dir,
                             hatch_rig_file *out, hatch_calib_report *report);

/* Reads path and parses it; relative camera_info paths start in path's directory. */
hatch_status hatch_rig_file_load(const char *path, hatch_rig_file *out, hatch_calib_report *report);

/* The rig of a Kalibr calibration: body = cam0, T_body_cam<n> = T_body_cam<n-1> * inverse(T_cn_cnm1).
 * Errors: HATCH_ERR_CORRUPT (a camera after cam0 without T_cn_cnm1, a non-rigid transform: the
 * message names name_for_errors and the camera), HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_rig_file_from_calib(const hatch_calib_file *calib, const char *name_for_errors, hatch_rig_file *out,
                                  hatch_calib_report *report);

/* Index of the camera called name; HATCH_ERR_NOT_FOUND when none. */
hatch_status hatch_rig_file_find_camera(const hatch_rig_file *rig, const char *name, int *index);

/* ---- poses ----------------------------------------------------------------------------------- */

/* Where camera B is, seen from camera A, in A's optical frame: the plan JSON's relative_pose.
 *   t_m:       B's origin in A's optical frame (x right, y down, z forward), metres;
 *              "move forward 1.2 m" is [0, 0, 1.2].
 *   yaw_deg:   with z_B = B's optical axis expressed in A as (x, y, z): atan2(-x, z) in degrees,
 *              positive = turned LEFT seen from above; "turn right 120 deg" is -120.
 *   pitch_deg: atan2(-y, hypot(x, z)), positive = tilted up. */
/* hatch_relative_pose (t_m, yaw_deg, pitch_deg) is hatch/plan.h's: a plan's composed pose compares
 * directly with the rig's. */

/* relative_pose from camera from_cam to camera to_cam of the rig.
 * Errors: HATCH_ERR_NOT_FOUND (no camera of that name), HATCH_ERR_INVALID_ARGUMENT. */
hatch_status hatch_rig_file_relative_pose(const hatch_rig_file *rig, const char *from_cam, const char *to_cam,
                                     hatch_relative_pose *out);

/* The same from two poses in a common frame: T_A_B = inverse(T_w_a) * T_w_b. Rigid inputs assumed. */
void hatch_pose_relative(const double T_w_a[16], const double T_w_b[16], hatch_relative_pose *out);

typedef struct hatch_pose_error {
  double translation_m; /* |t_a - t_b| */
  double yaw_deg;       /* a.yaw - b.yaw wrapped to [-180, 180] */
  double pitch_deg;     /* a.pitch - b.pitch */
} hatch_pose_error;

/* How far a plan's composed pose is from the rig's; NaN in -> NaN out (never "no error"). */
hatch_pose_error hatch_pose_compare(const hatch_relative_pose *a, const hatch_relative_pose *b);

/* ---- transforms (row-major 4x4, (4, 4) arrays of 16 doubles) --------------------------------- */

void hatch_pose_identity(double T[16]);
void hatch_pose_mul(const double A[16], const double B[16], double out[16]); /* out = A * B; may alias */
/* Inverse of a rigid transform: [R^T | -R^T t]. out may alias T. */
void hatch_pose_invert_rigid(const double T[16], double out[16]);
/* Mount orientation (REP 103 roll/pitch/yaw, fixed axes X then Y then Z: R = Rz(yaw) Ry(pitch)
 * Rx(roll)) of a camera's mount frame (x forward, y left, z up, like a URDF camera_link) and its
 * position in the body frame -> T_body_camera for its OPTICAL frame (the mount rotation times the
 * fixed link -> optical rotation, rpy (-90, 0, -90) deg). rpy (0, 0, 0) looks along body +x. */
void hatch_pose_from_mount_rpy_deg(const double translation[3], const double rpy_deg[3], double out[16]);
/* The same with the mount rotation as a unit quaternion (x, y, z, w); normalized here.
 * HATCH_ERR_INVALID_ARGUMENT when its norm is not within 1e-3 of 1 or not finite. */
hatch_status hatch_pose_from_mount_quaternion(const double translation[3], const double q_xyzw[4], double out[16]);
/* HATCH_OK when T is a rigid transform: finite, last row 0 0 0 1 (within 1e-9), rotation
 * orthonormal with det +1 within HATCH_CALIB_ORTHO_TOL; else HATCH_ERR_CORRUPT and, when why is
 * not NULL, a short reason ("rotation not orthonormal (|R^T R - I| = 0.2)") in why[why_size]. */
hatch_status hatch_pose_validate(const double T[16], char *why, size_t why_size);

#endif
