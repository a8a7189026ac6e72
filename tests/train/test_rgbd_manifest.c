/* RGB-D manifests (train/data/rgbd_manifest.c): the fixture manifests under tests/fixtures/train_data/
 * rgbd/ read end to end (default consecutive pairs with the overlap filter, explicit pairs, OpenGL
 * poses converted, bad frames skipped and named, the two-frame cache), the pair sample's contents
 * (pixels, depth, cameras, relative pose, ActoR string, PaStA targets), a --root, and the parser's
 * errors from memory, each naming its field and frame. CPU only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/train_data.h"

#define FIX HATCH_FIXTURE_DIR "/train_data/rgbd/"

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static void expect_skip(hatch_test_ctx *c, hatch_rgbd_reader *r, hatch_train_sample *s, const char *what) {
  hatch_data_report rep;
  hatch_data_step step = hatch_rgbd_reader_next(r, s, &rep);
  HATCH_EXPECT(c, step == HATCH_DATA_SKIPPED && has(rep.message, what), "step %d '%s', expected a skip naming '%s'", step,
               rep.message, what);
  HATCH_EXPECT(c, s->n_images == 0 && !s->images[0].rgb, "a skipped pair left a sample behind");
}

static const char *const SHIFT_ACTION =
    "<action>{from:0,to:1,action:[{turn right: 90 deg}{move forward: 0.50 m}{turn left: 90 deg}]}</action>";

static void test_default_pairs(hatch_test_ctx *c) {
  hatch_rgbd_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_rgbd_reader_open(FIX "manifest.json", NULL, &r, &rep));
  if (!r) return;
  const hatch_rgbd_manifest *m = hatch_rgbd_reader_manifest(r);
  HATCH_EXPECT(c, m->n_frames == 5 && m->n_pairs == 4 && m->default_pairs && m->bad_frames == 1 && m->min_overlap == 0.2,
               "frames %zu pairs %zu bad %zu", m->n_frames, m->n_pairs, m->bad_frames);
  HATCH_EXPECT(c, m->frames[3].bad && has(m->frames[3].why, "frames[3].intrinsics.fx: must be > 0"), "frame 3: '%s'",
               m->frames[3].why);
  /* frame 4: an OpenGL pose (y up, z back) looking down world +z == the OpenCV identity */
  for (int k = 0; k < 9; k++)
    HATCH_EXPECT(c, m->frames[4].camera.rotation[k] == (k % 4 == 0 ? 1.0 : 0.0), "frame 4 rotation[%d] = %g", k,
                 m->frames[4].camera.rotation[k]);

  hatch_train_sample *s = calloc(1, sizeof *s);
  HATCH_EXPECT(c, hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "pair (0, 1): %s", rep.message);
  HATCH_EXPECT(c, strcmp(s->id, "rgbd_rgbd_0_1") == 0 && strcmp(s->setting, "free") == 0, "id '%s' setting '%s'", s->id,
               s->setting);
  HATCH_EXPECT(c, strcmp(s->question, HATCH_RGBD_QUESTION) == 0 && s->n_options == 0 && s->gt_answer == 0, "question");
  HATCH_EXPECT(c, has(s->source, "manifest.json:pairs[0]"), "source '%s'", s->source);
  HATCH_EXPECT(c, s->n_images == 2, "n_images %d", s->n_images);
  for (int k = 0; k < 2; k++) {
    const hatch_sample_image *im = &s->images[k];
    HATCH_EXPECT(c, im->width == 32 && im->height == 32 && im->rgb && im->depth && im->has_camera, "image %d", k);
    HATCH_EXPECT(c, im->camera.width == 32 && im->camera.fx == 32 && im->camera.cy == 15.5, "camera %d", k);
    if (im->depth) HATCH_EXPECT(c, fabsf(im->depth[100] - 2.0f) < 1e-6f, "depth %g", im->depth[100]);
  }
  if (s->images[1].rgb)
    HATCH_EXPECT(c, abs(s->images[1].rgb[0] - 30) < 8 && abs(s->images[1].rgb[1] - 200) < 8, "image 1 is not green");
  HATCH_EXPECT(c, s->has_pose && s->pose_from == 0 && s->pose_to == 1, "pose");
  HATCH_EXPECT(c, fabs(s->pose.t_m[0] - 0.5) < 1e-12 && fabs(s->pose.t_m[2]) < 1e-12 && fabs(s->pose.yaw_deg) < 1e-9,
               "pose t (%g %g %g) yaw %g", s->pose.t_m[0], s->pose.t_m[1], s->pose.t_m[2], s->pose.yaw_deg);
  HATCH_EXPECT(c, strcmp(s->action, SHIFT_ACTION) == 0, "action '%s'", s->action);
  /* PaStA on the pair: 0.5 m at 2 m with f = 32 is 8 px, one cell of 32 px: a shifted identity */
  float m_xy[256], s_t[256];
  HATCH_EXPECT_OK(c, hatch_pasta_targets(&s->images[0], &s->images[1], NULL, m_xy, NULL, s_t, NULL));
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) {
      const float want = (i % 4 >= 1 && j == i - 1) ? 1.0f : 0.0f;
      HATCH_EXPECT(c, fabsf(m_xy[i * 16 + j] - want) < 1e-6f && fabsf(s_t[i * 16 + j] - want) < 1e-6f,
                   "M[%d][%d] = %g S %g, expected %g", i, j, m_xy[i * 16 + j], s_t[i * 16 + j], want);
    }

  expect_skip(c, r, s, "pairs[1] (1, 2) skipped: overlap 0.000 < min_overlap 0.200");
  expect_skip(c, r, s, "pairs[2] (2, 3) skipped: frames[3].intrinsics.fx");
  expect_skip(c, r, s, "pairs[3] (3, 4) skipped: frames[3].intrinsics.fx");
  HATCH_EXPECT(c, hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_END, "end");
  hatch_data_counts n = hatch_rgbd_reader_counts(r);
  HATCH_EXPECT(c, n.read == 4 && n.ok == 1 && n.skipped == 3, "counts %llu %llu %llu", (unsigned long long)n.read,
               (unsigned long long)n.ok, (unsigned long long)n.skipped);
  hatch_train_sample_clear(s);
  free(s);
  hatch_rgbd_reader_close(r);
}

static void test_explicit_pairs(hatch_test_ctx *c) {
  hatch_rgbd_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_rgbd_reader_open(FIX "pairs.json", NULL, &r, &rep));
  if (!r) return;
  hatch_train_sample *s = calloc(1, sizeof *s);
  HATCH_EXPECT(c, hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "pair (0, 1): %s", rep.message);
  HATCH_EXPECT(c, strcmp(s->id, "rgbd_pairs_0_1") == 0, "id '%s'", s->id);
  HATCH_EXPECT(c, s->images[1].camera.rotation[4] == 1 && s->images[1].camera.rotation[8] == 1, "OpenGL not converted");
  HATCH_EXPECT(c, strcmp(s->action, SHIFT_ACTION) == 0, "action '%s'", s->action);
  expect_skip(c, r, s, "pairs[1] (0, 2) skipped: frames[2].rgb: '" FIX "color/missing.jpg': cannot open");
  expect_skip(c, r, s, "pairs[2] (2, 1) skipped: frames[2].rgb");
  expect_skip(c, r, s, "pairs[3] (0, 3) skipped: frames[3].depth: '" FIX "depth/small.png' is 16x16 but the colour image is 32x32");
  expect_skip(c, r, s, "pairs[4] (0, 4) skipped: frames[4].rgb: '" FIX "color/corrupt.jpg': neither a JPEG nor a PNG");
  HATCH_EXPECT(c, hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "pair (1, 0): %s", rep.message);
  HATCH_EXPECT(c, fabs(s->pose.t_m[0] + 0.5) < 1e-12 && has(s->action, "{turn left: 90 deg}{move forward: 0.50 m}"),
               "reverse pair: t %g action '%s'", s->pose.t_m[0], s->action);
  HATCH_EXPECT(c, s->images[0].rgb && abs(s->images[0].rgb[1] - 200) < 8, "image 0 of (1, 0) is not frame 1");
  expect_skip(c, r, s, "pairs[6] (5, 0) skipped: frames[5].rotation: rotation not orthonormal");
  HATCH_EXPECT(c, hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_END, "end");
  hatch_data_counts n = hatch_rgbd_reader_counts(r);
  HATCH_EXPECT(c, n.read == 7 && n.ok == 2 && n.skipped == 5, "counts %llu %llu %llu", (unsigned long long)n.read,
               (unsigned long long)n.ok, (unsigned long long)n.skipped);
  free(s);
  hatch_rgbd_reader_close(r);
}

/* A manifest elsewhere with root pointing at the fixture files; frames without depth are not
 * filtered by overlap (it cannot be measured) and give samples without depth. */
static void test_root_and_no_depth(hatch_test_ctx *c) {
  char path[] = "/tmp/hatch_test_rgbd_XXXXXX";
  int fd = mkstemp(path);
  HATCH_EXPECT(c, fd >= 0, "mkstemp");
  if (fd < 0) return;
  FILE *f = fdopen(fd, "w");
  fprintf(f, "{\"version\":1,\"intrinsics\":{\"fx\":32,\"fy\":32,\"cx\":15.5,\"cy\":15.5},\"frames\":["
             "{\"rgb\":\"color/000.jpg\",\"rotation\":[1,0,0,0,1,0,0,0,1],\"position\":[0,0,0]},"
             "{\"rgb\":\"color/002.png\",\"rotation\":[-1,0,0,0,1,0,0,0,-1],\"position\":[0,0,0]}]}");
  fclose(f);
  hatch_rgbd_options opt = {.root = FIX};
  hatch_rgbd_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_rgbd_reader_open(path, &opt, &r, &rep));
  hatch_train_sample *s = calloc(1, sizeof *s);
  HATCH_EXPECT(c, r && hatch_rgbd_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "pair: %s", rep.message);
  HATCH_EXPECT(c, s->images[0].rgb && !s->images[0].depth && !s->images[1].depth, "depth should be absent");
  HATCH_EXPECT(c, fabs(s->pose.yaw_deg - 180) < 1e-9 && strcmp(s->action, "<action>{from:0,to:1,action:[{turn left: 180 deg}]}</action>") == 0,
               "yaw %g action '%s'", s->pose.yaw_deg, s->action);
  hatch_train_sample_clear(s);
  free(s);
  hatch_rgbd_reader_close(r);
  unlink(path);
  HATCH_EXPECT(c, hatch_rgbd_reader_open("/nonexistent/m.json", NULL, &r, &rep) == HATCH_ERR_NOT_FOUND &&
                      has(rep.message, "/nonexistent/m.json"),
               "missing manifest: %s", rep.message);
  hatch_rgbd_reader_close(NULL);
}

static hatch_status parse(const char *text, hatch_rgbd_manifest *m, hatch_data_report *rep) {
  return hatch_rgbd_manifest_parse(text, strlen(text), "m.json", m, rep);
}

static void test_manifest_errors(hatch_test_ctx *c) {
  static const struct {
    const char *text;
    hatch_status status;
    const char *what;
  } whole[] = {
      {"{\"version\":1,", HATCH_ERR_CORRUPT, "m.json: not valid JSON"},
      {"[]", HATCH_ERR_CORRUPT, "m.json: not a JSON object"},
      {"{\"frames\":[{}]}", HATCH_ERR_CORRUPT, "m.json: version: missing"},
      {"{\"version\":2,\"frames\":[{}]}", HATCH_ERR_UNSUPPORTED, "version: 2 is not supported"},
      {"{\"version\":1}", HATCH_ERR_CORRUPT, "frames: missing"},
      {"{\"version\":1,\"frames\":[]}", HATCH_ERR_CORRUPT, "frames: missing, not an array, or empty"},
      {"{\"version\":1,\"frames\":[{},{}],\"pairs\":[[0,1],[1,1]]}", HATCH_ERR_CORRUPT, "pairs[1]: must be [a, b]"},
      {"{\"version\":1,\"frames\":[{},{}],\"pairs\":[[0,2]]}", HATCH_ERR_CORRUPT, "pairs[0]"},
      {"{\"version\":1,\"frames\":[{},{}],\"pairs\":[[0,0.5]]}", HATCH_ERR_CORRUPT, "pairs[0]"},
      {"{\"version\":1,\"frames\":[{},{}],\"pairs\":{}}", HATCH_ERR_CORRUPT, "pairs: not an array"},
      {"{\"version\":1,\"frames\":[{}],\"depth_scale\":0}", HATCH_ERR_CORRUPT, "depth_scale: must be a number > 0"},
      {"{\"version\":1,\"frames\":[{}],\"min_overlap\":2}", HATCH_ERR_CORRUPT, "min_overlap"},
      {"{\"version\":1,\"frames\":[{}],\"convention\":\"dx\"}", HATCH_ERR_CORRUPT, "convention"},
      {"{\"version\":1,\"frames\":[{}]} {}", HATCH_ERR_CORRUPT, "text after the JSON object"},
  };
  hatch_rgbd_manifest m;
  hatch_data_report rep;
  for (size_t k = 0; k < sizeof whole / sizeof whole[0]; k++) {
    hatch_status st = parse(whole[k].text, &m, &rep);
    HATCH_EXPECT(c, st == whole[k].status && has(rep.message, whole[k].what) && !m.frames && !m.pairs,
                 "case %zu: %s '%s', expected %s naming '%s'", k, hatch_status_name(st), rep.message,
                 hatch_status_name(whole[k].status), whole[k].what);
  }
  /* frame-level problems: the manifest loads, the frame is bad and says why */
#define RGB "\"rgb\":\"a.jpg\""
#define INTR "\"intrinsics\":{\"fx\":1,\"fy\":1,\"cx\":0,\"cy\":0}"
#define POSE "\"rotation\":[1,0,0,0,1,0,0,0,1],\"position\":[0,0,0]"
  static const struct {
    const char *frame;
    const char *why;
  } frames[] = {
      {"3", "frames[1]: not an object"},
      {"{" INTR "," POSE "}", "frames[1].rgb: missing"},
      {"{\"rgb\":\"\"," INTR "," POSE "}", "frames[1].rgb"},
      {"{" RGB "," INTR ",\"depth\":7," POSE "}", "frames[1].depth"},
      {"{" RGB "," INTR ",\"depth_scale\":-1," POSE "}", "frames[1].depth_scale: must be a number > 0"},
      {"{" RGB "," INTR "}", "frames[1].camera_to_world: missing"},
      {"{" RGB "," INTR "," POSE ",\"camera_to_world\":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0,1]}",
       "frames[1].camera_to_world: give camera_to_world or"},
      {"{" RGB "," INTR ",\"camera_to_world\":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,0]}", "frames[1].camera_to_world: must be an array of 16"},
      {"{" RGB "," INTR ",\"camera_to_world\":[1,0,0,0,0,1,0,0,0,0,1,0,0,0,1,1]}", "frames[1].camera_to_world: last row"},
      {"{" RGB "," INTR ",\"rotation\":[1,0,0,0,1,0,0,0,-1],\"position\":[0,0,0]}", "frames[1].rotation"},
      {"{" RGB "," INTR ",\"rotation\":[1,0,0,0,1,0,0,0,1],\"position\":[0,\"0\",0]}", "frames[1].position: must be an array of 3"},
      {"{" RGB "," INTR ",\"convention\":\"ros\"," POSE "}", "frames[1].convention: must be \"opencv\" or \"opengl\""},
      {"{" RGB ",\"intrinsics\":{\"fx\":1,\"fy\":0,\"cx\":0,\"cy\":0}," POSE "}", "frames[1].intrinsics.fy: must be > 0"},
      {"{" RGB ",\"intrinsics\":{\"fx\":1,\"fy\":1,\"cx\":0}," POSE "}", "frames[1].intrinsics.cy: missing"},
      {"{" RGB "," POSE "}", "frames[1].intrinsics: missing"},
      {"{" RGB ",\"intrinsics\":{\"fx\":1,\"fy\":1,\"cx\":0,\"cy\":0,\"width\":0}," POSE "}", "frames[1].intrinsics.width"},
  };
  for (size_t k = 0; k < sizeof frames / sizeof frames[0]; k++) {
    const char *frame = frames[k].frame;
    char text[1024];
    snprintf(text, sizeof text, "{\"version\":1,\"frames\":[{" RGB "," INTR "," POSE "},%s]}", frame);
    hatch_status st = parse(text, &m, &rep);
    HATCH_EXPECT(c, st == HATCH_OK, "case %zu: %s %s", k, hatch_status_name(st), rep.message);
    if (st != HATCH_OK) continue;
    HATCH_EXPECT(c, !m.frames[0].bad, "case %zu: frame 0 bad: %s", k, m.frames[0].why);
    HATCH_EXPECT(c, m.frames[1].bad && m.bad_frames == 1 && has(m.frames[1].why, frames[k].why),
                 "case %zu (%s): why '%s', expected '%s'", k, frame, m.frames[1].why, frames[k].why);
    HATCH_EXPECT(c, m.default_pairs && m.n_pairs == 1, "case %zu: default pairs", k);
    hatch_rgbd_manifest_free(&m);
  }
  hatch_rgbd_manifest_free(NULL);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"default_pairs", test_default_pairs, false},
      {"explicit_pairs", test_explicit_pairs, false},
      {"root_and_no_depth", test_root_and_no_depth, false},
      {"manifest_errors", test_manifest_errors, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
