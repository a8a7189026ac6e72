/* Question-answer data over the synthetic world (hatch/sim_world.h): MindCube-style multiple-choice
 * questions with letter answers, teacher action strings from the true relative poses, an in-memory
 * stream of hatch_train_sample values, and a dataset writer (JPEG images, 16-bit depth PNGs,
 * MindCube-format JSONL with the geometry beside it).
 *
 * Questions (templates; hatch_sim_template_name gives the "type" string):
 *   rotation_turn   "You are standing at the viewpoint of image 1. If you turn 90 degrees to the right,
 *                    which object will be directly in front of you?"  (also left 90, around 180)
 *   rotation_side   "You are standing at the viewpoint of image 2. If you turn 90 degrees to the left,
 *                    which object will be behind you?" (a turn then a side: the net turn picks the view)
 *   among_behind    "From the viewpoint of image 3, what is behind the red chair?" (the central object)
 *   among_side      "From the viewpoint of image 1, which object is to the left of the red chair?"
 *   around_side     "After moving from the viewpoint of image 1 to the viewpoint of image 2, which
 *                    object is to your left?" (around and free rigs)
 *   closest         "Which object is closest to the camera in image 2?" (every setting)
 * Grounding questions (hatch_sim_grounding_questions_make; the trainer's "ground" stage, what a
 * pretrained VLM brings to the paper's recipe and a model trained from scratch must learn first):
 *   main_object     "Which object fills the largest part of image 2?" (the view's dominant object;
 *                    options: the other views' main objects, then other objects)
 *   visible         "Which of these objects can be seen in image 3?" (one object covering >= 1% of
 *                    the view against objects with no pixel in it)
 *   image_side      "In image 2, which object is to your left?" (one object seen in the view 10..60
 *                    deg to that side against objects clearly on the other side: around_side asked of
 *                    the picture the action reaches)
 *   image_relation  "In image 3, what is behind the red chair?" (also "to the left / right of"): the
 *                    object the view looks at (nearest the middle, >= 1% of it) and among's angles in
 *                    the view's frame, the answer seen in the view: what an among action's reached
 *                    view asks. Since 2026-11-22; the ground stage draws the four round-robin.
 * "Directly in front" = the object filling the most pixels of the view the turn leads to (at least 1%
 * of the image and 1.3x the runner-up, else no question). Options (3-4) are objects of the same world
 * (for rotation: the objects that fill the other views), so no option is guessable from text alone;
 * the correct letter's position is uniform by the seed. Side/behind questions (among_*, around_side) hold
 * one object inside the asked region against objects clearly outside it (>= 10-20 deg from the border),
 * so the answer is unique among the options even when two objects stand on that side. closest: the
 * answer is >= 1.2x nearer (optical depth of the centre) than every other option, all visible in the view. Only objects visible in some view (by
 * hatch_sim_render_ids, or by projection for hand-built worlds) are asked about.
 *
 * Teacher action (hatch_train_sample.action): from the view the question starts from to the view it
 * needs: rotation: image I -> the view the turn leads to; among: image I -> the other view that looks
 * across the central object toward the asked side and the answer, so the answer stands beyond the
 * central object there (left of it from I: the view at I's right; right: the view at I's left; behind:
 * the side view with the answer beyond the centre; only views that see the answer beyond the centre,
 * else the view where the answer fills the most pixels, the rule for all until 2026-11-22); around_side: image I -> image J; closest (one view J): the next
 * view (J + 1) mod n_views -> J, so that like every other action it ends at the view that holds the
 * answer (until 2026-11-21 it went J -> J + 1, away from it). The sample's pose is
 * hatch_sim_relative_pose(view from, view to).
 *
 * Determinism: world s of a stream (scene s) uses hatch_sim_scene_seed(seed, s) and the setting
 * enabled[s mod n_enabled]; its questions use the same seed. Same options -> same samples.
 *
 * Ownership: questions and visibility tables are plain values. A stream owns its render buffers;
 * every sample it fills owns its own copies (hatch_train_sample_clear). Nothing prints or exits. */
#ifndef HATCH_SIM_DATASET_H
#define HATCH_SIM_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "hatch/sim_world.h"
#include "hatch/status.h"
#include "hatch/train_sample.h"

#define HATCH_SIM_MAX_OPTIONS 4
#define HATCH_SIM_MAX_QUESTIONS 64 /* per world */

typedef enum hatch_sim_template {
  HATCH_SIM_Q_ROTATION_TURN,
  HATCH_SIM_Q_ROTATION_SIDE,
  HATCH_SIM_Q_AMONG_BEHIND,
  HATCH_SIM_Q_AMONG_SIDE,
  HATCH_SIM_Q_AROUND_SIDE,
  HATCH_SIM_Q_CLOSEST,
  HATCH_SIM_Q_MAIN_OBJECT, /* grounding */
  HATCH_SIM_Q_VISIBLE,     /* grounding */
  HATCH_SIM_Q_IMAGE_SIDE,  /* grounding */
  HATCH_SIM_Q_IMAGE_RELATION, /* grounding */
  HATCH_SIM_Q_TEMPLATE_COUNT
} hatch_sim_template;

#define HATCH_SIM_Q_SPATIAL_COUNT (HATCH_SIM_Q_CLOSEST + 1) /* the spatial templates come first */

/* "rotation_turn", ... (the JSONL "type"). */
const char *hatch_sim_template_name(hatch_sim_template t);

/* How many pixels each object covers in each view. */
typedef struct hatch_sim_visibility {
  int n_views, n_objects;
  int pixels[HATCH_SIM_MAX_VIEWS][HATCH_SIM_MAX_OBJECTS]; /* (n_views, n_objects) */
  int view_pixels[HATCH_SIM_MAX_VIEWS];                   /* (n_views) width * height */
  double column_sum[HATCH_SIM_MAX_VIEWS][HATCH_SIM_MAX_OBJECTS]; /* (n_views, n_objects) sum of the pixels'
                                                                  * columns: / pixels = horizontal centre */
} hatch_sim_visibility;

/* Zeroes vis for world's views and objects. */
void hatch_sim_visibility_init(hatch_sim_visibility *vis, const hatch_sim_world *world);
/* Counts one view's id map (height, width) from hatch_sim_render_ids. HATCH_ERR_INVALID_ARGUMENT for a
 * bad view. Ids outside [-1, n_objects) -> HATCH_ERR_CORRUPT. */
hatch_status hatch_sim_visibility_add_ids(hatch_sim_visibility *vis, const hatch_sim_world *world, int view,
                                          const int16_t *ids);
/* Without a renderer (hand-built worlds in tests): each object's projected bounding box clipped to the
 * image, no occlusion; an object whose centre is behind the camera counts 0. */
void hatch_sim_visibility_from_geometry(const hatch_sim_world *world, hatch_sim_visibility *vis);

typedef struct hatch_sim_question {
  hatch_sim_template kind;
  char text[HATCH_SAMPLE_MAX_QUESTION];                   /* the question with "A. .. B. .." inline */
  int n_options;                                          /* 3..4 */
  char options[HATCH_SIM_MAX_OPTIONS][HATCH_PLAN_MAX_TEXT + 1]; /* ("Red chair") */
  int answer;                                             /* index into options */
  int answer_object;                                      /* world object index of the answer */
  int from, to;                                           /* teacher action's view pair, from != to */
} hatch_sim_question;

/* Up to max_questions (<= HATCH_SIM_MAX_QUESTIONS) questions about world, spread over the setting's
 * templates, deterministic by seed. *n_out may be 0 (nothing unambiguous to ask). vis: from
 * hatch_sim_visibility_add_ids or _from_geometry. HATCH_ERR_INVALID_ARGUMENT for bad arguments. */
hatch_status hatch_sim_questions_make(const hatch_sim_world *world, const hatch_sim_visibility *vis, uint64_t seed,
                                      int max_questions, hatch_sim_question *out, int *n_out);
/* The same for the grounding templates (main_object, visible, image_side, image_relation), round-robin
 * over the four. */
hatch_status hatch_sim_grounding_questions_make(const hatch_sim_world *world, const hatch_sim_visibility *vis,
                                                uint64_t seed, int max_questions, hatch_sim_question *out, int *n_out);

/* Captioning (the trainer's "caption" stage: dense supervision for a model that must learn to see):
 * question "Name the objects in each image, from left to right." and the response
 * "Image 1: Pink sofa, Purple bin. Image 2: none. ..." listing, per view, every object covering
 * >= 1% of it (the visible template's bar) ordered by the horizontal centre of its pixels.
 * HATCH_ERR_TOO_LARGE when a buffer is short; HATCH_ERR_INVALID_ARGUMENT for bad arguments. */
#define HATCH_SIM_CAPTION_QUESTION "Name the objects in each image, from left to right."
hatch_status hatch_sim_caption(const hatch_sim_world *world, const hatch_sim_visibility *vis, char *response,
                               size_t cap);

/* Fills the text and geometry fields of *s from a question (id "<setting>_<scene 6 digits>_q<k>",
 * setting, source, question, options, answer, action, pose; images untouched). */
hatch_status hatch_sim_question_to_sample(const hatch_sim_world *world, const hatch_sim_question *q, int64_t scene,
                                          int k, hatch_train_sample *s);

/* The teacher action string "<action>{from:F,to:T,action:[...]}</action>" for views from -> to. */
hatch_status hatch_sim_action_string(const hatch_sim_world *world, int from, int to, char *buf, size_t cap,
                                     hatch_relative_pose *pose);

/* The world seed of scene s of a stream with base seed `seed` (below 2^53: exact in JSON). */
uint64_t hatch_sim_scene_seed(uint64_t seed, int64_t scene);

/* ---- in-memory stream ---------------------------------------------------------------------- */

#define HATCH_SIM_SETTING_BIT(s) (1u << (s))

typedef struct hatch_sim_stream_options {
  uint64_t seed;
  unsigned settings;       /* HATCH_SIM_SETTING_BIT mask; 0 = rotation | around | among | free */
  int image_size;          /* square views; 0 = 224 */
  int questions_per_world; /* 0 = 4 (at most HATCH_SIM_MAX_QUESTIONS) */
  int64_t n_samples;       /* 0 = endless */
  bool grounding;          /* grounding questions instead of the spatial ones */
  bool captions;           /* one caption sample per world (hatch_sim_caption) instead of questions */
} hatch_sim_stream_options;

typedef struct hatch_sim_stream hatch_sim_stream;

/* err (may be NULL) says which option is bad. */
hatch_status hatch_sim_stream_create(const hatch_sim_stream_options *opt, hatch_sim_stream **out, char err[256]);
void hatch_sim_stream_destroy(hatch_sim_stream *st); /* NULL-safe */
/* The next sample: clears *out first, then fills it (images with RGB, depth and cameras).
 * HATCH_ERR_NOT_FOUND after n_samples. */
hatch_status hatch_sim_stream_next(hatch_sim_stream *st, hatch_train_sample *out);
/* The world and scene index of the sample last returned (NULL / -1 before the first). */
const hatch_sim_world *hatch_sim_stream_world(const hatch_sim_stream *st, int64_t *scene);
/* The question of the sample last returned (its template, options). NULL before the first and in
 * captions mode. */
const hatch_sim_question *hatch_sim_stream_question(const hatch_sim_stream *st);

/* ---- dataset on disk ----------------------------------------------------------------------- */

typedef struct hatch_sim_dataset_summary {
  int64_t samples;
  int64_t worlds;
  int64_t per_setting[HATCH_SIM_SETTING_COUNT];
  int64_t per_letter[HATCH_SIM_MAX_OPTIONS]; /* A.. */
  int64_t per_template[HATCH_SIM_Q_TEMPLATE_COUNT];
} hatch_sim_dataset_summary;

/* Writes dir/images/<setting>_<scene>_<k>.jpg (quality 95, one per view of each world, shared by its
 * questions), dir/depth/<setting>_<scene>_<k>.png (16-bit grey, millimetres, 0 = unknown) and
 * dir/<split>.jsonl (one MindCube record per sample plus a "hatch" object with the geometry; written
 * to a temp file and renamed when complete). opt->n_samples must be > 0. summary may be NULL.
 * A record: {"id","question","gt_answer","images":["images/<stem>_<k>.jpg",..],"category":[setting, type],
 * "type","meta_info":{"seed": world seed,"setting"},"hatch":{"setting","answer_text","n_options","action",
 * "pose":{"from","to","t_m","yaw_deg","pitch_deg"},"views":[{"depth","depth_scale":0.001,"width","height",
 * "fx","fy","cx","cy","rotation":[9, row-major camera-to-world],"position":[3]},..]}}; paths relative
 * to dir; <stem> = <setting>_<scene 6 digits>. The world is hatch_sim_world_generate(meta_info.seed,
 * {setting, size, size}). */
hatch_status hatch_sim_dataset_write(const char *dir, const char *split, const hatch_sim_stream_options *opt,
                                     hatch_sim_dataset_summary *summary, char err[256]);

#endif
