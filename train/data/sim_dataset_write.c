/* Writes a synthetic-world dataset to disk (hatch/sim_dataset.h): JPEG views, 16-bit depth PNGs and a
 * MindCube-format JSONL with the geometry in a "hatch" object. The JSONL is written to a temp file
 * and renamed when complete, so a crash never leaves a half-written split behind. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "data/sim_questions_internal.h"
#include "hatch/train_data.h"

#define PATH_CAP 1024

static hatch_status fail(char *err, hatch_status st, const char *fmt, const char *a, const char *b) {
  if (err) snprintf(err, 256, fmt, a ? a : "", b ? b : "");
  return st;
}

static hatch_status make_dir(const char *path, char *err) {
  char p[PATH_CAP];
  if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) return fail(err, HATCH_ERR_INVALID_ARGUMENT, "%s: path too long%s", path, "");
  for (char *c = p + 1; *c; c++) {
    if (*c != '/') continue;
    *c = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return fail(err, HATCH_ERR_IO, "%s: cannot create directory (%s)", p, strerror(errno));
    *c = '/';
  }
  if (mkdir(p, 0755) != 0 && errno != EEXIST) return fail(err, HATCH_ERR_IO, "%s: cannot create directory (%s)", p, strerror(errno));
  return HATCH_OK;
}

static hatch_status write_jpeg(tjhandle tj, const char *path, const hatch_sample_image *im, char *err) {
  unsigned char *jpeg = NULL;
  unsigned long size = 0;
  if (tjCompress2(tj, im->rgb, im->width, 0, im->height, TJPF_RGB, &jpeg, &size, TJSAMP_444, 95, TJFLAG_ACCURATEDCT) != 0) {
    tjFree(jpeg);
    return fail(err, HATCH_ERR_IO, "%s: JPEG compression failed (%s)", path, tjGetErrorStr2(tj));
  }
  hatch_status st = HATCH_OK;
  FILE *f = fopen(path, "wb");
  if (!f) st = fail(err, HATCH_ERR_IO, "%s: cannot create (%s)", path, strerror(errno));
  else {
    size_t n = fwrite(jpeg, 1, size, f);
    if (fclose(f) != 0 || n != size) st = fail(err, HATCH_ERR_IO, "%s: write failed (%s)", path, strerror(errno));
  }
  tjFree(jpeg);
  return st;
}

static double r6(double x) { return round(x * 1e6) / 1e6 + 0.0; }

/* The MindCube record of one sample plus the "hatch" geometry object. */
static cJSON *record_json(const hatch_train_sample *s, const hatch_sim_question *q, const hatch_sim_world *w,
                          const char *stem) {
  cJSON *r = cJSON_CreateObject();
  if (!r) return NULL;
  cJSON_AddStringToObject(r, "id", s->id);
  cJSON_AddStringToObject(r, "question", s->question);
  char gt[2] = {s->gt_answer, 0};
  cJSON_AddStringToObject(r, "gt_answer", gt);
  cJSON *images = cJSON_AddArrayToObject(r, "images");
  char path[PATH_CAP];
  for (int k = 0; images && k < s->n_images; k++) {
    snprintf(path, sizeof path, "images/%s_%d.jpg", stem, k);
    cJSON_AddItemToArray(images, cJSON_CreateString(path));
  }
  cJSON *cat = cJSON_AddArrayToObject(r, "category");
  if (cat) {
    cJSON_AddItemToArray(cat, cJSON_CreateString(s->setting));
    cJSON_AddItemToArray(cat, cJSON_CreateString(hatch_sim_template_name(q->kind)));
  }
  cJSON_AddStringToObject(r, "type", hatch_sim_template_name(q->kind));
  cJSON *meta = cJSON_AddObjectToObject(r, "meta_info");
  if (meta) {
    cJSON_AddNumberToObject(meta, "seed", (double)w->seed);
    cJSON_AddStringToObject(meta, "setting", s->setting);
  }
  cJSON *h = cJSON_AddObjectToObject(r, "hatch");
  if (!h) goto fail_record;
  cJSON_AddStringToObject(h, "setting", s->setting);
  cJSON_AddStringToObject(h, "answer_text", s->answer_text);
  cJSON_AddNumberToObject(h, "n_options", s->n_options);
  cJSON_AddStringToObject(h, "action", s->action);
  cJSON *pose = cJSON_AddObjectToObject(h, "pose");
  if (pose) {
    cJSON_AddNumberToObject(pose, "from", s->pose_from);
    cJSON_AddNumberToObject(pose, "to", s->pose_to);
    double t[3] = {r6(s->pose.t_m[0]), r6(s->pose.t_m[1]), r6(s->pose.t_m[2])};
    cJSON_AddItemToObject(pose, "t_m", cJSON_CreateDoubleArray(t, 3));
    cJSON_AddNumberToObject(pose, "yaw_deg", r6(s->pose.yaw_deg));
    cJSON_AddNumberToObject(pose, "pitch_deg", r6(s->pose.pitch_deg));
  }
  cJSON *views = cJSON_AddArrayToObject(h, "views");
  for (int k = 0; views && k < s->n_images; k++) {
    const hatch_pinhole_camera *c = &s->images[k].camera;
    cJSON *v = cJSON_CreateObject();
    if (!v) goto fail_record;
    cJSON_AddItemToArray(views, v);
    snprintf(path, sizeof path, "depth/%s_%d.png", stem, k);
    cJSON_AddStringToObject(v, "depth", path);
    cJSON_AddNumberToObject(v, "depth_scale", 0.001);
    cJSON_AddNumberToObject(v, "width", c->width);
    cJSON_AddNumberToObject(v, "height", c->height);
    cJSON_AddNumberToObject(v, "fx", c->fx);
    cJSON_AddNumberToObject(v, "fy", c->fy);
    cJSON_AddNumberToObject(v, "cx", c->cx);
    cJSON_AddNumberToObject(v, "cy", c->cy);
    double rot[9], pos[3];
    for (int i = 0; i < 9; i++) rot[i] = r6(c->rotation[i]);
    for (int i = 0; i < 3; i++) pos[i] = r6(c->position[i]);
    cJSON_AddItemToObject(v, "rotation", cJSON_CreateDoubleArray(rot, 9));
    cJSON_AddItemToObject(v, "position", cJSON_CreateDoubleArray(pos, 3));
  }
  return r;
fail_record:
  cJSON_Delete(r);
  return NULL;
}

static hatch_status write_views(tjhandle tj, const char *dir, const char *stem, const hatch_train_sample *s, char *err) {
  char path[PATH_CAP];
  for (int k = 0; k < s->n_images; k++) {
    snprintf(path, sizeof path, "%s/images/%s_%d.jpg", dir, stem, k);
    hatch_status st = write_jpeg(tj, path, &s->images[k], err);
    if (st != HATCH_OK) return st;
    snprintf(path, sizeof path, "%s/depth/%s_%d.png", dir, stem, k);
    st = hatch_depth_png_write(path, s->images[k].depth, s->images[k].width, s->images[k].height, 0.001);
    if (st != HATCH_OK) return fail(err, st, "%s: cannot write the depth PNG (%s)", path, hatch_status_message(st));
  }
  return HATCH_OK;
}

hatch_status hatch_sim_dataset_write(const char *dir, const char *split, const hatch_sim_stream_options *opt,
                                     hatch_sim_dataset_summary *summary, char err[256]) {
  if (err) err[0] = 0;
  if (summary) memset(summary, 0, sizeof *summary);
  if (!dir || !*dir || !split || !*split || strchr(split, '/') || !opt || opt->n_samples <= 0 || strlen(dir) > 700)
    return fail(err, HATCH_ERR_INVALID_ARGUMENT, "sim dataset: need an output directory, a split name without '/' and "
                "n_samples > 0%s%s", "", "");
  hatch_sim_dataset_summary sum = {0};
  char path[PATH_CAP], tmp[PATH_CAP];
  hatch_status st = make_dir(dir, err);
  if (st != HATCH_OK) return st;
  snprintf(path, sizeof path, "%s/images", dir);
  if ((st = make_dir(path, err)) != HATCH_OK) return st;
  snprintf(path, sizeof path, "%s/depth", dir);
  if ((st = make_dir(path, err)) != HATCH_OK) return st;
  snprintf(path, sizeof path, "%s/%s.jsonl", dir, split);
  snprintf(tmp, sizeof tmp, "%s/%s.jsonl.tmp", dir, split);

  hatch_sim_stream *stream = NULL;
  if ((st = hatch_sim_stream_create(opt, &stream, err)) != HATCH_OK) return st;
  tjhandle tj = tjInitCompress();
  if (!tj) {
    st = fail(err, HATCH_ERR_OUT_OF_MEMORY, "sim dataset: cannot create a JPEG compressor%s%s", "", "");
    goto fail_tj;
  }
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    st = fail(err, HATCH_ERR_IO, "%s: cannot create (%s)", tmp, strerror(errno));
    goto fail_open;
  }
  hatch_train_sample s = {0};
  int64_t last_scene = -1;
  char stem[64];
  for (;;) {
    st = hatch_sim_stream_next(stream, &s);
    if (st == HATCH_ERR_NOT_FOUND) break;
    if (st != HATCH_OK) {
      if (err && !err[0]) snprintf(err, 256, "sim dataset: sample %lld: %s", (long long)sum.samples, hatch_status_message(st));
      goto fail_samples;
    }
    int64_t scene = -1;
    const hatch_sim_world *w = hatch_sim_stream_world(stream, &scene);
    const hatch_sim_question *q = hatch_sim_stream_question(stream);
    snprintf(stem, sizeof stem, "%s_%06lld", s.setting, (long long)scene);
    if (scene != last_scene) {
      if ((st = write_views(tj, dir, stem, &s, err)) != HATCH_OK) goto fail_samples;
      last_scene = scene;
      sum.worlds++;
    }
    cJSON *rec = record_json(&s, q, w, stem);
    char *line = rec ? cJSON_PrintUnformatted(rec) : NULL;
    cJSON_Delete(rec);
    if (!line) {
      st = fail(err, HATCH_ERR_OUT_OF_MEMORY, "sim dataset: out of memory building record %s%s", s.id, "");
      goto fail_samples;
    }
    int bad = fputs(line, f) < 0 || fputc('\n', f) == EOF;
    free(line);
    if (bad) {
      st = fail(err, HATCH_ERR_IO, "%s: write failed (%s)", tmp, strerror(errno));
      goto fail_samples;
    }
    sum.samples++;
    sum.per_setting[w->setting]++;
    if (s.gt_answer >= 'A' && s.gt_answer < 'A' + HATCH_SIM_MAX_OPTIONS) sum.per_letter[s.gt_answer - 'A']++;
    sum.per_template[q->kind]++;
  }
  hatch_train_sample_clear(&s);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
    st = fail(err, HATCH_ERR_IO, "%s: flush failed (%s)", tmp, strerror(errno));
    goto fail_samples;
  }
  if (fclose(f) != 0) {
    f = NULL;
    st = fail(err, HATCH_ERR_IO, "%s: close failed (%s)", tmp, strerror(errno));
    goto fail_samples;
  }
  f = NULL;
  if (rename(tmp, path) != 0) {
    st = fail(err, HATCH_ERR_IO, "%s: rename failed (%s)", path, strerror(errno));
    goto fail_samples;
  }
  if (summary) *summary = sum;
  st = HATCH_OK;
  goto done;
fail_samples:
  hatch_train_sample_clear(&s);
  if (f) fclose(f);
  remove(tmp);
done:
fail_open:
  tjDestroy(tj);
fail_tj:
  hatch_sim_stream_destroy(stream);
  return st;
}
