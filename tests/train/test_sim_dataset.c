/* The synthetic dataset writer (hatch/sim_dataset.h): the JSONL it writes is valid JSON line by line
 * with the MindCube fields and the "hatch" geometry, reads back through the MindCube loader
 * (hatch/train_data.h) to the streamed samples (text, action, pose, cameras), its JPEGs decode to the
 * streamed pixels within JPEG error and its depth PNGs to the streamed depth within 1 mm. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/sim_dataset.h"
#include "hatch/train_data.h"

#define N_SAMPLES 14
#define SIZE 64

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = 0, *len = (size_t)n;
  return buf;
}

/* dir + "/" + name; "" when it does not fit. */
static void join(char *out, size_t cap, const char *dir, const char *name) {
  if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap) out[0] = 0;
}

static const cJSON *get(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

/* Every line is a JSON object with the fields the MindCube loader and the trainer read. */
static void check_json_lines(hatch_test_ctx *c, const char *dir) {
  char path[1024];
  join(path, sizeof path, dir, "train.jsonl");
  size_t len = 0;
  char *text = read_text(path, &len);
  HATCH_EXPECT(c, text != NULL, "%s readable", path);
  if (!text) return;
  int lines = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    HATCH_EXPECT(c, next != NULL, "line %d ends with a newline", lines + 1);
    if (next) *next++ = 0;
    lines++;
    cJSON *r = cJSON_Parse(line);
    HATCH_EXPECT(c, r && cJSON_IsObject(r), "line %d is JSON", lines);
    if (!r) continue;
    const cJSON *h = get(r, "hatch"), *cat = get(r, "category"), *meta = get(r, "meta_info"), *imgs = get(r, "images");
    const cJSON *views = h ? get(h, "views") : NULL, *pose = h ? get(h, "pose") : NULL;
    HATCH_EXPECT(c, cJSON_IsString(get(r, "id")) && cJSON_IsString(get(r, "question")) && cJSON_IsString(get(r, "type")) &&
                        cJSON_IsString(get(r, "gt_answer")) && strlen(get(r, "gt_answer")->valuestring) == 1,
                 "line %d: id, question, type, gt_answer", lines);
    HATCH_EXPECT(c, cJSON_IsArray(cat) && cJSON_GetArraySize(cat) == 2 && cJSON_IsString(cJSON_GetArrayItem(cat, 1)) &&
                        !strcmp(cJSON_GetArrayItem(cat, 1)->valuestring, get(r, "type")->valuestring),
                 "line %d: category [setting, type]", lines);
    HATCH_EXPECT(c, meta && cJSON_IsNumber(get(meta, "seed")) && cJSON_IsString(get(meta, "setting")), "line %d: meta_info", lines);
    HATCH_EXPECT(c, h && cJSON_IsString(get(h, "action")) && cJSON_IsNumber(get(h, "n_options")) &&
                        cJSON_IsString(get(h, "answer_text")) && pose && cJSON_GetArraySize(get(pose, "t_m")) == 3 &&
                        cJSON_IsNumber(get(pose, "yaw_deg")) && cJSON_IsNumber(get(pose, "from")),
                 "line %d: hatch fields", lines);
    HATCH_EXPECT(c, cJSON_IsArray(imgs) && cJSON_IsArray(views) && cJSON_GetArraySize(imgs) == cJSON_GetArraySize(views) &&
                        cJSON_GetArraySize(imgs) >= 2,
                 "line %d: one view per image", lines);
    for (int k = 0; views && k < cJSON_GetArraySize(views); k++) {
      const cJSON *v = cJSON_GetArrayItem(views, k);
      HATCH_EXPECT(c, cJSON_GetArraySize(get(v, "rotation")) == 9 && cJSON_GetArraySize(get(v, "position")) == 3 &&
                          cJSON_IsNumber(get(v, "fx")) && get(v, "width")->valueint == SIZE &&
                          get(v, "depth_scale")->valuedouble == 0.001,
                   "line %d view %d fields", lines, k);
      char file[1024];
      join(file, sizeof file, dir, cJSON_GetArrayItem(imgs, k)->valuestring);
      HATCH_EXPECT(c, access(file, R_OK) == 0, "%s exists", file);
      join(file, sizeof file, dir, get(v, "depth")->valuestring);
      HATCH_EXPECT(c, access(file, R_OK) == 0, "%s exists", file);
    }
    cJSON_Delete(r);
  }
  HATCH_EXPECT(c, lines == N_SAMPLES, "%d lines, want %d", lines, N_SAMPLES);
  free(text);
}

/* The loader reads back what the stream gave. */
static void check_round_trip(hatch_test_ctx *c, const char *dir, const hatch_sim_stream_options *opt) {
  char path[1024];
  join(path, sizeof path, dir, "train.jsonl");
  hatch_mindcube_reader *rd = NULL;
  hatch_data_report rep = {0};
  hatch_sim_stream *st = NULL;
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(path, NULL, &rd, &rep));
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(opt, &st, NULL));
  if (!rd || !st) goto done;
  hatch_train_sample a = {0}, b = {0};
  double worst_mean = 0, worst_depth = 0;
  int worst_px = 0, n = 0;
  for (;;) {
    hatch_data_step step = hatch_mindcube_reader_next(rd, &a, &rep);
    hatch_status ss = hatch_sim_stream_next(st, &b);
    if (step == HATCH_DATA_END) {
      HATCH_EXPECT(c, ss == HATCH_ERR_NOT_FOUND, "the file ends with the stream");
      break;
    }
    HATCH_EXPECT(c, step == HATCH_DATA_SAMPLE && ss == HATCH_OK, "record %d: loader says %s", n + 1, rep.message);
    if (step != HATCH_DATA_SAMPLE || ss != HATCH_OK) break;
    n++;
    HATCH_EXPECT(c, !strcmp(a.id, b.id) && !strcmp(a.question, b.question) && a.gt_answer == b.gt_answer &&
                        !strcmp(a.answer_text, b.answer_text) && !strcmp(a.action, b.action) && a.n_options == b.n_options &&
                        !strcmp(a.setting, b.setting),
                 "record %s: text fields differ from the stream's %s", a.id, b.id);
    HATCH_EXPECT(c, a.has_pose && a.pose_from == b.pose_from && a.pose_to == b.pose_to &&
                        fabs(a.pose.yaw_deg - b.pose.yaw_deg) < 1e-5 && fabs(a.pose.t_m[2] - b.pose.t_m[2]) < 1e-5,
                 "record %s: pose", a.id);
    HATCH_EXPECT(c, a.n_images == b.n_images, "record %s: %d images, stream %d", a.id, a.n_images, b.n_images);
    for (int k = 0; k < a.n_images && k < b.n_images; k++) {
      const hatch_sample_image *x = &a.images[k], *y = &b.images[k];
      HATCH_EXPECT(c, x->rgb && x->depth && x->width == SIZE && x->height == SIZE && x->has_camera, "%s image %d loaded", a.id, k);
      if (!x->rgb || !x->depth || x->width != SIZE || x->height != SIZE) continue;
      double sum = 0;
      for (int i = 0; i < SIZE * SIZE * 3; i++) {
        int d = abs((int)x->rgb[i] - (int)y->rgb[i]);
        sum += d;
        if (d > worst_px) worst_px = d;
      }
      worst_mean = fmax(worst_mean, sum / (SIZE * SIZE * 3));
      for (int i = 0; i < SIZE * SIZE; i++)
        if (y->depth[i] < 65.0f) worst_depth = fmax(worst_depth, fabs((double)x->depth[i] - (double)y->depth[i]));
      double cam_err = fabs(x->camera.fx - y->camera.fx) + fabs(x->camera.cx - y->camera.cx);
      for (int i = 0; i < 9; i++) cam_err += fabs(x->camera.rotation[i] - y->camera.rotation[i]);
      for (int i = 0; i < 3; i++) cam_err += fabs(x->camera.position[i] - y->camera.position[i]);
      HATCH_EXPECT(c, cam_err < 1e-5, "%s view %d camera differs by %g", a.id, k, cam_err);
    }
  }
  fprintf(stderr, "  round trip: %d samples; JPEG mean abs error %.2f (max %d), depth max error %.2f mm\n", n, worst_mean,
          worst_px, worst_depth * 1000);
  HATCH_EXPECT(c, n == N_SAMPLES, "%d samples read back", n);
  /* quality 95, 4:4:4: about 1 level on average; flat shaded scenes with sharp edges */
  HATCH_EXPECT(c, worst_mean <= 2.5 && worst_px <= 80, "JPEG error mean %.2f max %d", worst_mean, worst_px);
  HATCH_EXPECT(c, worst_depth <= 0.0005 + 1e-6, "depth PNG error %.6f m (1 mm steps, rounded)", worst_depth);
  hatch_train_sample_clear(&a), hatch_train_sample_clear(&b);
done:
  hatch_mindcube_reader_close(rd);
  hatch_sim_stream_destroy(st);
}

static void test_write(hatch_test_ctx *c) {
  char dir[] = "/tmp/hatch_simds_XXXXXX";
  HATCH_EXPECT(c, mkdtemp(dir) != NULL, "temp dir");
  char out[600], err[256];
  snprintf(out, sizeof out, "%s/set", dir); /* the writer creates missing directories */
  hatch_sim_stream_options opt = {.seed = 5, .image_size = SIZE, .questions_per_world = 3, .n_samples = N_SAMPLES};
  hatch_sim_dataset_summary sum;
  hatch_status st = hatch_sim_dataset_write(out, "train", &opt, &sum, err);
  HATCH_EXPECT(c, st == HATCH_OK, "write: %s (%s)", err, hatch_status_name(st));
  if (st != HATCH_OK) return;
  int64_t letters = 0, settings = 0;
  for (int k = 0; k < HATCH_SIM_MAX_OPTIONS; k++) letters += sum.per_letter[k];
  for (int k = 0; k < HATCH_SIM_SETTING_COUNT; k++) settings += sum.per_setting[k];
  HATCH_EXPECT(c, sum.samples == N_SAMPLES && letters == N_SAMPLES && settings == N_SAMPLES && sum.worlds >= 4,
               "summary: %lld samples %lld worlds", (long long)sum.samples, (long long)sum.worlds);
  char tmp[1024];
  join(tmp, sizeof tmp, out, "train.jsonl.tmp");
  HATCH_EXPECT(c, access(tmp, F_OK) != 0, "no temp file left behind");
  check_json_lines(c, out);
  check_round_trip(c, out, &opt);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  HATCH_EXPECT(c, system(cmd) == 0, "cleanup");
}

static void test_bad_arguments(hatch_test_ctx *c) {
  char err[256];
  hatch_sim_stream_options opt = {.seed = 1, .image_size = 32, .n_samples = 0};
  HATCH_EXPECT(c, hatch_sim_dataset_write("/tmp/hatch_never", "train", &opt, NULL, err) == HATCH_ERR_INVALID_ARGUMENT &&
                      strstr(err, "n_samples"), "n_samples 0 refused: %s", err);
  opt.n_samples = 1;
  HATCH_EXPECT(c, hatch_sim_dataset_write("/tmp/hatch_never", "a/b", &opt, NULL, err) == HATCH_ERR_INVALID_ARGUMENT,
               "split with a slash refused");
  HATCH_EXPECT(c, hatch_sim_dataset_write("/proc/hatch_no/x", "train", &opt, NULL, err) == HATCH_ERR_IO && strstr(err, "/proc"),
               "unwritable directory: %s", err);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"write", test_write, false},
      {"bad_arguments", test_bad_arguments, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
