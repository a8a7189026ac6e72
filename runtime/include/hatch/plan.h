/* Action plans: the strict action-then-answer grammar the model writes, its parser, the pose the
 * actions compose to, the plan JSON of ARCHITECTURE.md, and the grammar as an incremental matcher
 * for constrained decoding (so a generated plan always parses).
 *
 * The serialization (one grammar for training targets, constrained decoding and the parser):
 *
 *   plan    = "<action>" step *( "," step ) "</action>" "<answer>" LETTER ". " TEXT "</answer>"
 *   step    = "{from:" INDEX ",to:" INDEX ",action:[" 1*8op "]}"
 *   op      = "{" turn ": " DEG " deg}" / "{" move ": " METRES " m}"
 *   turn    = "turn left" / "turn right" / "turn up" / "turn down"
 *   move    = "move forward" / "move up" / "move down"
 *   INDEX   = "0" / "1".."9"            (a view index, < the number of images; from != to)
 *   DEG     = "0".."180"                 (integer degrees, no leading zeros; up/down at most 90)
 *   METRES  = ("0" / "1".."9" [DIGIT]) "." 1*2DIGIT   (0.0 .. 99.99 m, one or two decimals)
 *   LETTER  = "A".."Z"                   (at most the number of options when they are known)
 *   TEXT    = 1*120( any byte but "<" and control bytes )
 * No spaces other than the ones shown. At most HATCH_PLAN_MAX_STEPS steps.
 *
 * Frames (ARCHITECTURE.md): actions are egocentric in the source view's camera frame (optical: x right,
 * y down, z forward), applied in order. turn left/right change yaw (left positive, about the up axis),
 * turn up/down change pitch (up positive); move forward goes along the current viewing direction, move
 * up/down along the up axis (-y). relative_pose is where the actions leave the camera, in the source
 * frame: yaw_deg, pitch_deg, t_m = position (x right, y down, z forward). */
#ifndef HATCH_PLAN_H
#define HATCH_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "hatch/status.h"

#define HATCH_PLAN_MAX_STEPS 8
#define HATCH_PLAN_MAX_OPS 8
#define HATCH_PLAN_MAX_TEXT 120

typedef enum hatch_plan_verb {
  HATCH_TURN_LEFT,
  HATCH_TURN_RIGHT,
  HATCH_TURN_UP,
  HATCH_TURN_DOWN,
  HATCH_MOVE_FORWARD,
  HATCH_MOVE_UP,
  HATCH_MOVE_DOWN,
  HATCH_PLAN_VERB_COUNT
} hatch_plan_verb;

/* "turn_left", ... (the plan JSON's names) and "turn left", ... (the grammar's). */
const char *hatch_plan_verb_json_name(hatch_plan_verb verb);
const char *hatch_plan_verb_text(hatch_plan_verb verb);

typedef struct hatch_plan_action {
  hatch_plan_verb verb;
  double value; /* degrees for turns, metres for moves */
} hatch_plan_action;

/* Where a camera ends up relative to a source camera, in the source's optical frame. One type for
 * the pose a plan's actions compose to and the pose a rig's calibration gives (hatch/calibration.h,
 * hatch_pose_compare), so the two compare directly. */
typedef struct hatch_relative_pose {
  double t_m[3];    /* source optical frame: x right, y down, z forward */
  double yaw_deg;   /* (-180, 180], left positive */
  double pitch_deg; /* [-90, 90], up positive */
} hatch_relative_pose;

typedef struct hatch_plan_step {
  int from, to;
  int n_actions;
  hatch_plan_action actions[HATCH_PLAN_MAX_OPS];
  hatch_relative_pose pose; /* the actions composed */
} hatch_plan_step;

typedef struct hatch_plan {
  int n_steps;
  hatch_plan_step steps[HATCH_PLAN_MAX_STEPS];
  char choice;                             /* 'A'.. */
  char text[HATCH_PLAN_MAX_TEXT + 1];      /* the answer text after "X. " */
} hatch_plan;

typedef struct hatch_plan_error {
  size_t offset;     /* byte offset of the first character that does not fit the grammar */
  char message[200]; /* e.g. "offset 37: expected \"deg}\" after the turn angle" */
} hatch_plan_error;

/* Limits a parse or a grammar walk checks beyond the syntax: n_views images (view indexes < n_views;
 * 0 = do not check) and n_options choices ('A' + n_options - 1 is the last letter; 0 = up to 'Z'). */
typedef struct hatch_plan_limits {
  int n_views;
  int n_options;
} hatch_plan_limits;

/* Parses the whole text (exactly one plan, nothing before or after). HATCH_OK fills *out, poses
 * composed; HATCH_ERR_CORRUPT with err (offset + message) otherwise. limits may be NULL. */
hatch_status hatch_plan_parse(const char *text, size_t len, const hatch_plan_limits *limits, hatch_plan *out,
                              hatch_plan_error *err);

/* Composes actions into the pose they lead to (see the frame conventions above). */
void hatch_plan_compose(const hatch_plan_action *actions, int n, hatch_relative_pose *out);

/* Teacher actions for a relative pose (training targets): turn to face the target position
 * (left/right by yaw, up/down by elevation), move forward the distance, turn to the target's
 * heading, each rounded as the grammar writes it (integer degrees, 2-decimal metres); zero
 * moves/turns are omitted; a pose with no translation gives turns only; at least one action (a
 * "turn left: 0 deg" for the identity). Returns the number of actions (<= HATCH_PLAN_MAX_OPS). */
int hatch_plan_actions_from_pose(const hatch_relative_pose *pose, hatch_plan_action *out);

/* Writes a step list + answer in the grammar (what the model is trained to emit). Returns the length
 * written (excluding the NUL), or the length needed when cap is too small (nothing partial is
 * valid then). */
size_t hatch_plan_format(const hatch_plan *plan, char *buf, size_t cap);

/* The plan JSON of ARCHITECTURE.md ("id", "question", "views", "steps" with actions and
 * relative_pose, "answer", "timing_ms", "model"); views/timing/model come from the caller.
 * Returns a malloc'd string (caller frees) or NULL on out of memory. */
typedef struct hatch_plan_view {
  const char *camera;
  int index;
  long long ts_ns;
  unsigned long long seq;
} hatch_plan_view;
typedef struct hatch_plan_timing {
  double capture, preprocess, vision, prefill, decode, total; /* ms */
} hatch_plan_timing;
char *hatch_plan_to_json(const hatch_plan *plan, const char *id, const char *question, const hatch_plan_view *views,
                         int n_views, const hatch_plan_timing *timing, const char *model_name,
                         const char *model_sha256);

/* ---- the grammar as an incremental matcher (constrained decoding) ------------------------------
 * A hatch_plan_matcher is a small value (copyable, no allocation): feed bytes, ask whether the text
 * so far is a prefix of some valid plan, and whether it is a complete plan. The sampler keeps one
 * matcher for the generated text and, for each candidate token, copies it and feeds the token's
 * bytes: tokens that leave it dead are masked. */
typedef struct hatch_plan_matcher {
  hatch_plan_limits limits;
  int state;          /* grammar position (internal) */
  int lit;            /* literal being matched (internal id) */
  int lit_pos;        /* bytes of it matched */
  int len;            /* bytes of the current field (number, text) */
  int int_value;      /* integer part of the current number */
  int frac_digits;    /* -1 before the '.', then digits after it */
  int n_steps, n_ops; /* counts so far (the current step and op included) */
  int from;           /* current step's from index */
  int verb;           /* current op's verb once known, -1 while matching it */
  unsigned verb_mask; /* verbs whose text still matches */
  bool dead;
  size_t consumed;
} hatch_plan_matcher;

void hatch_plan_matcher_init(hatch_plan_matcher *m, const hatch_plan_limits *limits);
/* Feeds bytes; returns false (and the matcher is dead) as soon as the text cannot be completed. */
bool hatch_plan_matcher_feed(hatch_plan_matcher *m, const char *bytes, size_t n);
/* The bytes so far form a complete plan. */
bool hatch_plan_matcher_complete(const hatch_plan_matcher *m);

#endif
