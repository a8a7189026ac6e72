/* The trainer against an independent implementation: PyTorch/transformers computed in float64
 * (tools/gen_train_fixtures.py -> tests/fixtures/train/, see its README). The HF checkpoint is
 * converted with the runtime's converter to an F32 GGUF, loaded into the trainer, and one QA sample
 * (two images of different sizes, the chat template, labels on the answer) is run:
 * - vision features (44, 48) vs pasta.features, logits (101, 2522) vs logits: max |a - b| / max |b|
 *   < 1e-5,
 * - mean cross-entropy vs loss: relative 1e-5,
 * - the gradient of every one of the 65 GGUF tensors: max |a - b| / max |b| < 5e-5 per tensor
 *   (observed worst 4.2e-6: fp32 accumulation against a float64 reference). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/convert.h"
#include "hatch/frame_decode.h"
#include "hatch/frame_files.h"
#include "hatch/safetensors.h"
#include "hatch/train_model.h"

#define FIX HATCH_FIXTURE_DIR "/train"
#define TOL_LOGITS 1e-5
#define TOL_LOSS 1e-5
#define TOL_GRAD 5e-5

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long l = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)l + 1);
  if (b && fread(b, 1, (size_t)l, f) != (size_t)l) free(b), b = NULL;
  if (b) b[l] = 0;
  fclose(f);
  *len = (size_t)l;
  return b;
}

static uint8_t *load_png(const char *name, int *w, int *h) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", FIX, name);
  size_t len = 0;
  uint8_t *data = slurp(path, &len), *rgb = NULL;
  if (data && hatch_png_probe(data, len, w, h) == HATCH_OK) {
    size_t size = (size_t)*w * (size_t)*h * 3;
    rgb = malloc(size);
    if (rgb && hatch_png_decode_rgb(data, len, NULL, rgb, size, NULL) != HATCH_OK) free(rgb), rgb = NULL;
  }
  free(data);
  return rgb;
}

/* max |a - b| / max |b| over n floats; b read from a safetensors F32 tensor. */
static double rel_max(const float *a, const hatch_st_tensor *t, int64_t n, float *scratch) {
  if (!t || t->n_elems != n || hatch_st_tensor_to_f32(t, 0, n, scratch) != HATCH_OK) return INFINITY;
  double diff = 0, mag = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(a[i])) return INFINITY;
    diff = fmax(diff, fabs((double)a[i] - scratch[i]));
    mag = fmax(mag, fabs((double)scratch[i]));
  }
  return diff / mag;
}

static int json_ints(const cJSON *arr, int32_t *out, int cap) {
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (n >= cap || !cJSON_IsNumber(it)) return -1;
    out[n++] = (int32_t)it->valuedouble;
  }
  return n;
}

static void test_reference(hatch_test_ctx *c) {
  char path[512], dir[64] = "/tmp/hatch_train_ref_XXXXXX", gguf[128];
  snprintf(path, sizeof path, "%s/sample.json", FIX);
  size_t len = 0;
  char *json = (char *)slurp(path, &len);
  HATCH_EXPECT(c, json != NULL, "missing fixture %s (tools/gen_train_fixtures.py)", path);
  if (!json) return;
  if (!mkdtemp(dir)) return;
  snprintf(gguf, sizeof gguf, "%s/ref.gguf", dir);
  cJSON *root = cJSON_Parse(json);
  int32_t ids[512], labels[512], targets[512];
  int n = root ? json_ints(cJSON_GetObjectItem(root, "input_ids"), ids, 512) : -1;
  int nl = root ? json_ints(cJSON_GetObjectItem(root, "labels"), labels, 512) : -1;
  HATCH_EXPECT(c, n > 0 && n == nl, "sample.json: input_ids %d / labels %d", n, nl);
  /* HF labels are not shifted: the loss pairs logits[t] with labels[t + 1]. */
  for (int t = 0; t < n; t++) targets[t] = t + 1 < n && labels[t + 1] != -100 ? labels[t + 1] : -1;
  hatch_train_image img[2] = {{0}};
  uint8_t *px[2] = {0};
  const cJSON *names = root ? cJSON_GetObjectItem(root, "images") : NULL;
  for (int k = 0; k < 2; k++) {
    const cJSON *nm = cJSON_GetArrayItem(names, k);
    if (cJSON_IsString(nm)) px[k] = load_png(nm->valuestring, &img[k].w, &img[k].h);
    img[k].rgb = px[k];
    HATCH_EXPECT(c, px[k] != NULL, "image %d did not decode", k);
  }
  hatch_convert_report cr = {{0}};
  snprintf(path, sizeof path, "%s/ckpt", FIX);
  hatch_status st = hatch_convert_hf(path, gguf, HATCH_TYPE_F32, "train-ref", &cr);
  HATCH_EXPECT(c, st == HATCH_OK, "convert: %s", cr.message);
  hatch_train_model *m = NULL;
  hatch_train_limits lim = {.max_images = 2, .max_image_pixels = 140 * 168, .max_tokens = 128};
  hatch_train_report rep = {{0}};
  if (st == HATCH_OK && px[0] && px[1] && n > 0) {
    st = hatch_train_model_open(gguf, &lim, 0, &m, &rep);
    HATCH_EXPECT(c, st == HATCH_OK, "open: %s", rep.message);
  }
  hatch_st_file *exp = NULL;
  hatch_st_report sr = {{0}};
  snprintf(path, sizeof path, "%s/expected.safetensors", FIX);
  HATCH_EXPECT(c, hatch_st_file_open(path, &exp, &sr) == HATCH_OK, "expected.safetensors: %s", sr.message);
  if (!m || !exp) goto done;

  float loss = 0;
  int n_targets = 0;
  hatch_train_model_zero_grads(m);
  HATCH_EXPECT_OK(c, hatch_train_mean_ce(m, ids, n, img, 2, targets, true, &loss, &n_targets));
  int nt = 0;
  int64_t vocab = 0, feat_rows = 0;
  const float *logits = hatch_train_logits(m, &nt, &vocab);
  const float *feat = hatch_train_vision_features(m, &feat_rows);
  float *scratch = malloc(sizeof(float) * (size_t)(n * vocab + 1));
  const hatch_st_tensor *el = hatch_st_file_find(exp, "logits"), *eloss = hatch_st_file_find(exp, "loss");
  double e_feat = rel_max(feat, hatch_st_file_find(exp, "pasta.features"), feat_rows * 48, scratch);
  double e_logits = rel_max(logits, el, (int64_t)n * vocab, scratch);
  float ref_loss = NAN;
  if (eloss) hatch_st_tensor_to_f32(eloss, 0, 1, &ref_loss);
  double e_loss = fabs((double)loss - ref_loss) / fabs((double)ref_loss);
  printf("    features %.3g, logits %.3g, loss %.7f vs %.7f (rel %.3g), %d targets\n", e_feat, e_logits, loss, ref_loss,
         e_loss, n_targets);
  HATCH_EXPECT(c, e_feat < TOL_LOGITS, "vision features: %.3g", e_feat);
  HATCH_EXPECT(c, e_logits < TOL_LOGITS, "logits: %.3g", e_logits);
  HATCH_EXPECT(c, e_loss < TOL_LOSS && n_targets == 6, "loss %.7f vs %.7f", loss, ref_loss);
  const float *g = hatch_train_model_grads(m);
  double worst = 0;
  const char *worst_name = "";
  int n_checked = 0;
  for (int i = 0; i < hatch_train_model_n_tensors(m); i++) {
    const hatch_train_tensor *t = hatch_train_model_tensor(m, i);
    char key[96];
    snprintf(key, sizeof key, "grad.%s", t->name);
    double e = rel_max(g + t->offset, hatch_st_file_find(exp, key), t->count, scratch);
    HATCH_EXPECT(c, e < TOL_GRAD, "%s: %.3g", key, e);
    if (e > worst) worst = e, worst_name = t->name;
    n_checked++;
  }
  printf("    %d gradients, worst %.3g (%s)\n", n_checked, worst, worst_name);
  HATCH_EXPECT(c, n_checked == 65, "%d tensors, the fixture has 65", n_checked);
  free(scratch);
done:
  hatch_st_file_close(exp);
  hatch_train_model_destroy(m);
  free(px[0]), free(px[1]);
  cJSON_Delete(root);
  free(json);
  unlink(gguf);
  rmdir(dir);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {{"pytorch_reference", test_reference, false}};
  return hatch_test_main(argc, argv, cases, 1);
}
