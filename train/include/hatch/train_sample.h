/* One training / evaluation sample, whatever its source: the synthetic world (rendered in memory or
 * read back from a written dataset), a MindCube-format JSONL file, or an RGB-D + pose manifest.
 * Everything downstream (PaStA targets, ActoR teacher strings, QA targets, GRPO rewards, eval) reads
 * this one type.
 *
 * Ownership: a sample owns its pixel and depth buffers (malloc'd); hatch_train_sample_clear frees
 * them and zeroes the sample (safe on a zeroed sample, and twice). */
#ifndef HATCH_TRAIN_SAMPLE_H
#define HATCH_TRAIN_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/plan.h"

#define HATCH_SAMPLE_MAX_IMAGES 8
#define HATCH_SAMPLE_MAX_QUESTION 1024
#define HATCH_SAMPLE_MAX_ACTION 768
#define HATCH_SAMPLE_MAX_RESPONSE 768
#define HATCH_SAMPLE_MAX_OBJECTS 16
#define HATCH_SAMPLE_MAX_OBJECT_NAME 48
#define HATCH_SAMPLE_CELL 28 /* pixels per side of a merged vision token's cell */

/* A pinhole camera in the generic form real RGB-D data gives: intrinsics, and the camera-to-world
 * pose as a rotation whose columns are the camera's optical axes (x right, y down, z forward) in the
 * world frame, plus the camera position. Row-major 3x3. */
typedef struct hatch_pinhole_camera {
  int width, height;
  double fx, fy, cx, cy;
  double rotation[9];
  double position[3];
} hatch_pinhole_camera;

typedef struct hatch_sample_image {
  int width, height;
  uint8_t *rgb;              /* (height, width, 3) RGB8, owned */
  float *depth;              /* (height, width) metres along the optical axis; 0 = unknown; NULL when none */
  /* Which object each 28x28 cell (one merged vision token) of the image shows: the one covering the
   * most of it if that is at least a tenth, else -1; indexes the sample's object_names. NULL when
   * unknown (real data, or the image was resized after labelling). */
  int16_t *cell_object;      /* (height / 28, width / 28), owned */
  bool has_camera;           /* camera below is valid (intrinsics + pose) */
  hatch_pinhole_camera camera;
} hatch_sample_image;

typedef struct hatch_train_sample {
  char id[128];              /* MindCube id; the setting is a substring ("among_0042_q3") */
  char setting[16];          /* "rotation", "around", "among", "free", "translation", or "" */
  char source[256];          /* file:line or "sim:seed" the sample came from, for messages */
  int n_images;
  hatch_sample_image images[HATCH_SAMPLE_MAX_IMAGES];
  char question[HATCH_SAMPLE_MAX_QUESTION]; /* the question with its options inline, MindCube style */
  int n_options;             /* A.. ; 0 when unknown */
  char gt_answer;            /* 'A'.. */
  char answer_text[HATCH_PLAN_MAX_TEXT + 1]; /* the correct option's text ("Back, Right"); "" unknown */
  /* ActoR: the teacher action string, "<action>{from:0,to:1,action:[...]}</action>" in the grammar of
   * hatch/plan.h, built from the true relative pose; "" when the sample has no geometry. */
  char action[HATCH_SAMPLE_MAX_ACTION];
  /* A free-form response (caption samples: hatch_sim_caption); when set it is the whole SFT target
   * and the sample has no options. "" for question samples. */
  char response[HATCH_SAMPLE_MAX_RESPONSE];
  /* The objects cell_object points at, as options name them ("Purple cabinet": colour, then category). */
  int n_objects;
  char object_names[HATCH_SAMPLE_MAX_OBJECTS][HATCH_SAMPLE_MAX_OBJECT_NAME];
  bool has_pose;             /* true relative pose of view pose_to seen from pose_from */
  int pose_from, pose_to;
  hatch_relative_pose pose;
} hatch_train_sample;

void hatch_train_sample_clear(hatch_train_sample *s);

#endif
