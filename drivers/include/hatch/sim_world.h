/* The synthetic multi-view world: rooms with named, coloured objects of several shapes, camera rigs in
 * the three MindCube settings (rotation, around, among) and free multi-camera rigs, and a software
 * renderer giving per view RGB8, depth, intrinsics and pose. Deterministic by seed: the same seed and
 * options give the same world and the same pixels on every machine (integer-seeded PRNG, no libc
 * rand, no threads changing the order of float operations).
 *
 * Frames (one convention everywhere, matching hatch/plan.h):
 *   world: x east, y up, z south (right-handed, as OpenGL); the floor is y = 0; metres.
 *   camera (optical): x right, y down, z forward. A camera's pose is its position in the world plus
 *   yaw (about world +y, left positive: yaw 0 looks north (-z), yaw +90 looks west (-x): turning left
 *   from north faces west) and pitch (up positive). No roll.
 * hatch_sim_relative_pose gives where camera B is as seen from camera A in A's optical frame, as the
 * hatch_relative_pose a plan's actions compose to (hatch_plan_compose), so teacher actions come from
 * hatch_plan_actions_from_pose(relative pose). It is hatch_pose_relative (hatch/calibration.h) on the
 * 4x4 camera-to-world transforms of hatch_sim_camera_matrix: one pose convention in the project.
 *
 * Pixels (OpenCV convention): pixel (u, v) is the ray through image point (u, v), pixel centres at
 * integer coordinates; generated views have fx = fy = (width / 2) / tan(hfov / 2), cx = (width - 1) / 2,
 * cy = (height - 1) / 2. A camera point (x, y, z) projects to (fx x / z + cx, fy y / z + cy); a pixel
 * with depth d back-projects to ((u - cx) d / fx, (v - cy) d / fy, d).
 *
 * The settings (views in order; every successive view goes clockwise seen from above, i.e. turns right):
 *   ROTATION  one standing point (eye height 1.5 m, level); view k has yaw = yaw_0 - 90 k (turned right
 *             by 90 deg each view; at most 4 views); objects at 1.6-3.8 m in every direction, so each
 *             view sees its own objects. n_objects >= n_views.
 *   AROUND    a group of 2-4 objects near the room centre; the camera (1.5 m, level) moves clockwise
 *             along an arc of 60-120 deg in total at 2.5-4 m from the group's centre, always facing it
 *             (so objects occlude each other differently); other objects stand >= 2 m from the group.
 *             Every view sees a group object.
 *   AMONG     central_object = 0 (a chair, table, sofa, cabinet or plant) near the room centre; view k
 *             (k < 4) stands 2.5-3.5 m from it facing it, with yaw = yaw_0 - 90 k: views 0..3 are its
 *             front, left, back and right as seen from view 0. Other objects beside (diagonals) and
 *             anywhere else, never between a camera and the central object.
 *   FREE      cameras at random spots (1.2-1.8 m high, pitch -15..5 deg, any heading), each seeing an
 *             object.
 * Objects: categories chair, table, sofa, cabinet, box (boxes), lamp, bin (cylinders), plant (cone),
 * ball (sphere), typical sizes scaled by 0.9-1.15; colours red, green, blue, yellow, orange, purple,
 * pink, black; the name is "<colour> <category>", unique, and while there are fewer objects than
 * categories (colours) no category (colour) repeats. Footprints (the xz circle around each object)
 * never overlap and stay inside the room; rooms are 7-11 m a side and 2.7-3.2 m high, each wall a
 * different muted colour. "Sees an object" = the object covers >= 0.4% of the image (1% for AMONG's
 * central object), sampled on a grid that does not depend on the pixel count: the world a seed gives
 * depends on the seed, setting, n_views, n_objects, hfov and aspect ratio, not on the resolution.
 *
 * Ownership: a hatch_sim_world is a plain value (fixed arrays, no heap); render buffers are the
 * caller's. Nothing here prints, exits or aborts. */
#ifndef HATCH_SIM_WORLD_H
#define HATCH_SIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/plan.h"
#include "hatch/status.h"

#define HATCH_SIM_MAX_OBJECTS 16
#define HATCH_SIM_MAX_VIEWS 8

typedef enum hatch_sim_shape {
  HATCH_SIM_BOX,
  HATCH_SIM_CYLINDER,
  HATCH_SIM_SPHERE,
  HATCH_SIM_CONE,
  HATCH_SIM_SHAPE_COUNT
} hatch_sim_shape;

typedef enum hatch_sim_setting {
  HATCH_SIM_ROTATION, /* one standing point, views turned by multiples of 90 deg */
  HATCH_SIM_AROUND,   /* the camera moves along an arc around a group of objects (occlusion) */
  HATCH_SIM_AMONG,    /* four views front/left/back/right, all facing one central object */
  HATCH_SIM_FREE,     /* free multi-camera rig: random positions and headings in the room */
  HATCH_SIM_SETTING_COUNT
} hatch_sim_setting;

/* "rotation", "around", "among", "free" (the MindCube id substrings for the first three). */
const char *hatch_sim_setting_name(hatch_sim_setting s);
/* "box", "cylinder", ... */
const char *hatch_sim_shape_name(hatch_sim_shape s);

typedef struct hatch_sim_object {
  char category[24];   /* "chair", "table", "lamp", ... */
  char colour[16];     /* "red", "green", ... */
  char name[48];       /* "red chair": unique in its world */
  hatch_sim_shape shape;
  uint8_t rgb[3];      /* base colour */
  double centre[3];    /* world; centre[1] = half the height (stands on the floor) */
  double size[3];      /* full extent along its own x, y, z (metres) */
  double yaw_deg;      /* rotation about world +y */
} hatch_sim_object;

typedef struct hatch_sim_camera {
  int width, height;           /* pixels */
  double fx, fy, cx, cy;       /* pinhole intrinsics, pixels */
  double position[3];          /* world */
  double yaw_deg, pitch_deg;   /* see the frame conventions above */
} hatch_sim_camera;

typedef struct hatch_sim_world {
  uint64_t seed;
  hatch_sim_setting setting;
  double room[2];              /* floor extent in x and z (metres), centred on the origin */
  double wall_height;
  uint8_t floor_rgb[3], wall_rgb[4][3]; /* walls: north (-z), west (-x), south (+z), east (+x) */
  int n_objects;
  hatch_sim_object objects[HATCH_SIM_MAX_OBJECTS];
  int central_object;          /* AMONG: the object every view faces; -1 otherwise */
  int n_group;                 /* AROUND: objects [0, n_group) are the group the views circle; 0 otherwise */
  int n_views;
  hatch_sim_camera views[HATCH_SIM_MAX_VIEWS];
} hatch_sim_world;

typedef struct hatch_sim_options {
  hatch_sim_setting setting;
  int width, height;           /* per view; default 224 x 224 when 0 */
  double hfov_deg;             /* horizontal field of view; default 90 when 0 */
  int n_views;                 /* 0 = the setting's usual count (rotation 4, around 3, among 4, free 3) */
  int n_objects;               /* 0 = random in the setting's range */
} hatch_sim_options;

/* Builds the world for a seed: room, objects (no two overlapping, every name unique), views. The views
 * see at least one object each (AMONG: the central one; AROUND: one of the group). Options: width and
 * height 8..4096, hfov 20..150, n_views 1..4 (rotation, among) or 1..8, n_objects 1..16 (around >= 2,
 * rotation >= n_views). HATCH_ERR_INVALID_ARGUMENT for bad options, or when no world meets the rules in
 * 64 attempts (message in err, which may be NULL). opt NULL = all defaults (rotation). */
hatch_status hatch_sim_world_generate(uint64_t seed, const hatch_sim_options *opt, hatch_sim_world *out,
                                      char err[256]);

/* Renders view `view` by casting one ray per pixel: rgb (height, width, 3) RGB8 and depth (height,
 * width) metres along the optical z axis, exact (every pixel hits a wall, the floor, the ceiling or an
 * object, so depth > 0 everywhere). Either output may be NULL. Shading: Lambert from two fixed lights
 * plus ambient, so colours stay recognisable; the floor has 0.5 m tiles and the walls 0.25 m cells of
 * slightly varying brightness (anchored in the world, so views share texture), and a dark skirting.
 * HATCH_ERR_INVALID_ARGUMENT for a bad view index or a camera outside the room. About 5 ms for
 * 224 x 224 on one core of the dev machine. */
hatch_status hatch_sim_render(const hatch_sim_world *world, int view, uint8_t *rgb, float *depth);

/* Per-pixel object ids of a view (height, width): the object index, or -1 for room surfaces. For
 * question generation (which objects are visible, and where). */
hatch_status hatch_sim_render_ids(const hatch_sim_world *world, int view, int16_t *ids);

/* Where camera `to` is as seen from camera `from`, in from's optical frame (hatch/plan.h). */
void hatch_sim_relative_pose(const hatch_sim_camera *from, const hatch_sim_camera *to, hatch_relative_pose *out);

/* A world point in a camera's optical frame (x right, y down, z forward), and back. */
void hatch_sim_world_to_camera(const hatch_sim_camera *cam, const double world[3], double out[3]);
void hatch_sim_camera_to_world(const hatch_sim_camera *cam, const double cam_pt[3], double out[3]);

/* Camera-to-world rotation (row-major 3x3, columns = the camera's x, y, z axes in the world) and
 * position: the generic pinhole pose that real RGB-D data also gives (PaStA targets use this form). */
void hatch_sim_camera_matrix(const hatch_sim_camera *cam, double rotation[9], double position[3]);

#endif
