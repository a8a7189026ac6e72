/* sim:// cameras through the rig: four views of one world arrive as synchronized sets whose pixels are
 * hatch_sim_render's, at the URI's rate; bad parameters fail the open naming the URI and the key; a
 * frame held past the rig's close stays valid. */
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hatch/camera.h"
#include "hatch/sim_world.h"

#define MS 1000000ll

static void test_four_views(hatch_test_ctx *c) {
  enum { W = 112, H = 96 };
  const char *uris[4];
  char text[4][200];
  for (int k = 0; k < 4; k++) {
    snprintf(text[k], sizeof text[k], "sim://cam%d?seed=7&setting=among&view=%d&width=%d&height=%d&fps=20", k, k, W, H);
    uris[k] = text[k];
  }
  hatch_sim_world world;
  char why[256];
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(7, &(hatch_sim_options){.setting = HATCH_SIM_AMONG, .width = W, .height = H},
                                              &world, why));
  static uint8_t want[4][W * H * 3];
  for (int k = 0; k < 4; k++) HATCH_EXPECT_OK(c, hatch_sim_render(&world, k, want[k], NULL));
  HATCH_EXPECT(c, memcmp(want[0], want[1], sizeof want[0]) != 0, "views differ");
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  hatch_status st = hatch_rig_open(uris, 4, NULL, &rig, &err);
  HATCH_EXPECT(c, st == HATCH_OK, "open: %s", err.message);
  if (st != HATCH_OK) return;
  int sets = 0;
  int64_t first_ts = 0, last_ts = 0;
  const hatch_frame *kept = NULL;
  for (int i = 0; i < 6; i++) {
    hatch_frame_set *set = NULL;
    st = hatch_rig_next_set(rig, 2000, &set);
    HATCH_EXPECT(c, st == HATCH_OK, "set %d: %s", i, hatch_status_name(st));
    if (st != HATCH_OK) break;
    HATCH_EXPECT(c, set->n_cameras == 4 && set->n_missing == 0 && set->skew_ns == 0, "set %d: %d missing, skew %lld ns", i,
                 set->n_missing, (long long)set->skew_ns);
    for (int k = 0; k < 4; k++) {
      const hatch_frame *f = set->frames[k];
      if (!f) continue;
      HATCH_EXPECT(c, f->camera == k && f->width == W && f->height == H && f->fourcc == V4L2_PIX_FMT_RGB24 &&
                          f->payload_size == (size_t)W * H * 3 && f->rgb == f->payload,
                   "set %d camera %d: %dx%d fourcc %08x", i, k, f->width, f->height, f->fourcc);
      HATCH_EXPECT(c, f->rgb && !memcmp(f->rgb, want[k], sizeof want[k]), "set %d camera %d: pixels are the render", i, k);
    }
    if (sets == 0) first_ts = set->ts_ns;
    last_ts = set->ts_ns;
    if (i == 5 && set->frames[2]) {
      kept = set->frames[2];
      hatch_frame_ref(kept);
    }
    sets++;
    hatch_frame_set_release(set);
  }
  /* 20 fps: consecutive sets 50 ms apart in the frames' timestamps (none dropped with a quick consumer). */
  HATCH_EXPECT(c, sets == 6 && last_ts - first_ts == 5 * 50 * MS, "6 sets over %lld ms", (long long)((last_ts - first_ts) / MS));
  hatch_camera_stats s;
  HATCH_EXPECT_OK(c, hatch_rig_camera_stats(rig, 3, &s));
  HATCH_EXPECT(c, !strcmp(s.name, "cam3") && s.width == W && s.height == H && s.fps == 20 && s.fourcc == V4L2_PIX_FMT_RGB24 &&
                      s.state == HATCH_CAMERA_STREAMING && s.frames >= 6,
               "stats: %s %dx%d@%d %s, %llu frames", s.name, s.width, s.height, s.fps, hatch_camera_state_name(s.state),
               (unsigned long long)s.frames);
  hatch_rig_close(rig);
  HATCH_EXPECT(c, kept && !memcmp(kept->rgb, want[2], sizeof want[2]), "a frame held past the close keeps its pixels");
  hatch_frame_unref(kept);
}

static void expect_open_error(hatch_test_ctx *c, const char *uri, const char *key) {
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  hatch_status st = hatch_rig_open(&uri, 1, NULL, &rig, &err);
  HATCH_EXPECT(c, st == HATCH_ERR_INVALID_ARGUMENT && strstr(err.message, "sim://") && strstr(err.message, key),
               "%s: %s, \"%s\" (want the URI and \"%s\" named)", uri, hatch_status_name(st), err.message, key);
  hatch_rig_close(rig);
}

static void test_bad_parameters(hatch_test_ctx *c) {
  expect_open_error(c, "sim://a?setting=among&view=4", "view=4");
  expect_open_error(c, "sim://a?setting=around&view=3", "view=3"); /* around has 3 views by default */
  expect_open_error(c, "sim://a?setting=sideways", "setting=sideways");
  expect_open_error(c, "sim://a?seed=-1", "seed");
  expect_open_error(c, "sim://a?width=3", "width");
  expect_open_error(c, "sim://a?fps=0", "fps");
  expect_open_error(c, "sim://a?colour=red", "colour");
  expect_open_error(c, "sim://a?setting=rotation&views=6", "n_views");
}

/* Defaults: the rig's size and rate, setting rotation, view 0; the camera name from name=. */
static void test_defaults(hatch_test_ctx *c) {
  const char *uri = "sim://x?width=64&height=48&name=left";
  hatch_rig_options opt;
  hatch_rig_options_default(&opt);
  opt.fps = 50;
  hatch_rig *rig = NULL;
  hatch_error err = {""};
  HATCH_EXPECT(c, hatch_rig_open(&uri, 1, &opt, &rig, &err) == HATCH_OK, "open: %s", err.message);
  if (!rig) return;
  hatch_frame_set *set = NULL;
  HATCH_EXPECT_OK(c, hatch_rig_next_set(rig, 2000, &set));
  hatch_sim_world w;
  char why[256];
  static uint8_t want[64 * 48 * 3];
  HATCH_EXPECT_OK(c, hatch_sim_world_generate(0, &(hatch_sim_options){.width = 64, .height = 48}, &w, why));
  HATCH_EXPECT_OK(c, hatch_sim_render(&w, 0, want, NULL));
  HATCH_EXPECT(c, set && set->frames[0] && !memcmp(set->frames[0]->rgb, want, sizeof want), "seed 0, rotation, view 0");
  hatch_frame_set_release(set);
  hatch_camera_stats s;
  hatch_rig_camera_stats(rig, 0, &s);
  HATCH_EXPECT(c, !strcmp(s.name, "left") && s.fps == 50, "name %s, fps %d", s.name, s.fps);
  hatch_rig_close(rig);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"four_views", test_four_views, false},
      {"bad_parameters", test_bad_parameters, false},
      {"defaults", test_defaults, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof *cases));
}
