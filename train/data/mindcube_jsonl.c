/* MindCube-format JSONL (hatch/train_data.h; format in train/data/README.md): one record per line,
 * parsed from memory into a hatch_train_sample (text, pose, cameras) plus the file names it cites,
 * then the images and depth maps loaded from disk. The reader goes one line at a time (bounded
 * line buffer), skips and counts bad records and keeps going. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hatch/mindcube.h"
#include "hatch/train_data.h"

/* ---- messages ------------------------------------------------------------------------------ */

/* "where: field: why" into report; returns st. */
static hatch_status bad(hatch_data_report *rep, hatch_status st, const char *where, const char *field, const char *fmt,
                        ...) {
  if (!rep) return st;
  rep->status = st;
  int n = snprintf(rep->message, sizeof rep->message, "%s: %s%s", where, field ? field : "", field ? ": " : "");
  if (n < 0 || (size_t)n >= sizeof rep->message) return st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rep->message + n, sizeof rep->message - (size_t)n, fmt, ap);
  va_end(ap);
  return st;
}

/* ---- JSON field helpers: each names the field on failure ----------------------------------- */

typedef struct pctx {
  const char *where;
  hatch_data_report *rep;
} pctx;

/* A required (or, with optional, absent -> NULL, HATCH_OK) string copied into out[cap]. */
static hatch_status get_string(const pctx *c, const cJSON *obj, const char *key, const char *field, bool optional,
                               char *out, size_t cap) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return optional ? HATCH_OK : bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "missing");
  if (!cJSON_IsString(v) || !v->valuestring) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "not a string");
  size_t n = strlen(v->valuestring);
  if (n >= cap)
    return bad(c->rep, HATCH_ERR_TOO_LARGE, c->where, field, "%zu bytes, longer than the %zu allowed", n, cap - 1);
  memcpy(out, v->valuestring, n + 1);
  return HATCH_OK;
}

static hatch_status get_number(const pctx *c, const cJSON *obj, const char *key, const char *field, bool *present,
                               double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (present) *present = v != NULL;
  if (!v) return present ? HATCH_OK : bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "missing");
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "not a finite number");
  *out = v->valuedouble;
  return HATCH_OK;
}

static hatch_status get_int(const pctx *c, const cJSON *obj, const char *key, const char *field, bool *present, int lo,
                            int hi, int *out) {
  double d = 0;
  hatch_status st = get_number(c, obj, key, field, present, &d);
  if (st != HATCH_OK || (present && !*present)) return st;
  if (d != floor(d) || d < lo || d > hi)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "%g is not an integer in %d..%d", d, lo, hi);
  *out = (int)d;
  return HATCH_OK;
}

/* An array of exactly n finite numbers. */
static hatch_status get_numbers(const pctx *c, const cJSON *obj, const char *key, const char *field, int n, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "missing");
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "must be an array of %d numbers", n);
  int k = 0;
  for (const cJSON *e = v->child; e; e = e->next, k++) {
    if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
      return bad(c->rep, HATCH_ERR_CORRUPT, c->where, field, "element %d is not a finite number", k);
    out[k] = e->valuedouble;
  }
  return HATCH_OK;
}

/* ---- the question's options and the answer letter ----------------------------------------- */

/* Start of option `letter` ("X." or "X)" at the start or after a space, '(' or newline, followed by
 * a space or the end) at or after from; NULL when none. */
static const char *find_option(const char *q, const char *from, char letter) {
  for (const char *p = strchr(from, letter); p; p = strchr(p + 1, letter)) {
    const bool start_ok = p == q || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t' || p[-1] == '(';
    const bool mark_ok = p[1] == '.' || p[1] == ')';
    const bool end_ok = mark_ok && (p[2] == ' ' || p[2] == '\0' || p[2] == '\n' || p[2] == '\t');
    if (start_ok && end_ok) return p;
  }
  return NULL;
}

int hatch_mindcube_count_options(const char *question) {
  if (!question) return 0;
  int n = 0;
  const char *p = question;
  while (n < 26 && (p = find_option(question, p, (char)('A' + n))) != NULL) {
    p += 2;
    n++;
  }
  return n;
}

/* Text of option `letter` (trimmed, up to the next option marker), "" when it does not fit. */
static void option_text(const char *q, char letter, char *out, size_t cap) {
  out[0] = 0;
  const char *p = q;
  for (char l = 'A'; l <= letter; l++) {
    p = find_option(q, p, l);
    if (!p) return;
    if (l < letter) p += 2;
  }
  const char *s = p + 2;
  const char *e = find_option(q, s, (char)(letter + 1));
  if (!e) e = s + strlen(s);
  while (s < e && isspace((unsigned char)*s)) s++;
  while (e > s && isspace((unsigned char)e[-1])) e--;
  if (e > s && e[-1] == '(') e--; /* "A. Wall (B) ..." style: drop the opening bracket of the next */
  while (e > s && isspace((unsigned char)e[-1])) e--;
  if ((size_t)(e - s) >= cap) return;
  memcpy(out, s, (size_t)(e - s));
  out[e - s] = 0;
}

/* "B", "(B)", "B.", "B)", "b", "B. Sliding door" -> 'B' (+ the text after it, trimmed); 0 when the
 * string is not an answer letter. */
static char parse_letter(const char *s, char *text, size_t cap) {
  text[0] = 0;
  while (isspace((unsigned char)*s)) s++;
  bool paren = *s == '(';
  if (paren) s++;
  char l = (char)toupper((unsigned char)*s);
  if (l < 'A' || l > 'Z') return 0;
  s++;
  if (paren) {
    if (*s != ')') return 0;
    s++;
  } else if (*s == '.' || *s == ')' || *s == ':') {
    s++;
  }
  if (*s && !isspace((unsigned char)*s)) return 0; /* "Back": a word, not a letter */
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) n--;
  if (n < cap) {
    memcpy(text, s, n);
    text[n] = 0;
  }
  return l;
}

/* ---- the "hatch" object ------------------------------------------------------------------- */

static hatch_status parse_views(const pctx *c, const cJSON *views, hatch_train_sample *s, hatch_data_files *files) {
  if (!cJSON_IsArray(views) || cJSON_GetArraySize(views) != s->n_images)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch.views", "must be an array with one entry per image (%d)",
               s->n_images);
  int k = 0;
  char f[64];
  for (const cJSON *v = views->child; v; v = v->next, k++) {
    if (!cJSON_IsObject(v)) {
      snprintf(f, sizeof f, "hatch.views[%d]", k);
      return bad(c->rep, HATCH_ERR_CORRUPT, c->where, f, "not an object");
    }
    hatch_pinhole_camera *cam = &s->images[k].camera;
    hatch_status st;
#define FIELD(name) (snprintf(f, sizeof f, "hatch.views[%d].%s", k, name), f)
    if ((st = get_string(c, v, "depth", FIELD("depth"), true, files->depth[k], HATCH_DATA_MAX_PATH)) != HATCH_OK) return st;
    bool has = false;
    files->depth_scale[k] = 0.001;
    if ((st = get_number(c, v, "depth_scale", FIELD("depth_scale"), &has, &files->depth_scale[k])) != HATCH_OK) return st;
    if (has && !(files->depth_scale[k] > 0))
      return bad(c->rep, HATCH_ERR_CORRUPT, c->where, f, "must be > 0 (got %g)", files->depth_scale[k]);
    if ((st = get_int(c, v, "width", FIELD("width"), NULL, 1, HATCH_DATA_MAX_DIM, &cam->width)) != HATCH_OK) return st;
    if ((st = get_int(c, v, "height", FIELD("height"), NULL, 1, HATCH_DATA_MAX_DIM, &cam->height)) != HATCH_OK) return st;
    if ((st = get_number(c, v, "fx", FIELD("fx"), NULL, &cam->fx)) != HATCH_OK) return st;
    if ((st = get_number(c, v, "fy", FIELD("fy"), NULL, &cam->fy)) != HATCH_OK) return st;
    if ((st = get_number(c, v, "cx", FIELD("cx"), NULL, &cam->cx)) != HATCH_OK) return st;
    if ((st = get_number(c, v, "cy", FIELD("cy"), NULL, &cam->cy)) != HATCH_OK) return st;
    if ((st = get_numbers(c, v, "rotation", FIELD("rotation"), 9, cam->rotation)) != HATCH_OK) return st;
    if ((st = get_numbers(c, v, "position", FIELD("position"), 3, cam->position)) != HATCH_OK) return st;
#undef FIELD
    char why[160];
    if (hatch_pinhole_check(cam, why, sizeof why) != HATCH_OK) {
      snprintf(f, sizeof f, "hatch.views[%d]", k);
      return bad(c->rep, HATCH_ERR_CORRUPT, c->where, f, "%s", why);
    }
    s->images[k].has_camera = true;
    s->images[k].width = cam->width;
    s->images[k].height = cam->height;
  }
  return HATCH_OK;
}

static hatch_status parse_pose(const pctx *c, const cJSON *pose, hatch_train_sample *s) {
  if (!cJSON_IsObject(pose)) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch.pose", "not an object");
  hatch_status st;
  if ((st = get_int(c, pose, "from", "hatch.pose.from", NULL, 0, s->n_images - 1, &s->pose_from)) != HATCH_OK) return st;
  if ((st = get_int(c, pose, "to", "hatch.pose.to", NULL, 0, s->n_images - 1, &s->pose_to)) != HATCH_OK) return st;
  if (s->pose_from == s->pose_to) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch.pose", "from == to");
  if ((st = get_numbers(c, pose, "t_m", "hatch.pose.t_m", 3, s->pose.t_m)) != HATCH_OK) return st;
  if ((st = get_number(c, pose, "yaw_deg", "hatch.pose.yaw_deg", NULL, &s->pose.yaw_deg)) != HATCH_OK) return st;
  if ((st = get_number(c, pose, "pitch_deg", "hatch.pose.pitch_deg", NULL, &s->pose.pitch_deg)) != HATCH_OK) return st;
  if (fabs(s->pose.yaw_deg) > 180 || fabs(s->pose.pitch_deg) > 90)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch.pose", "yaw %g / pitch %g outside [-180, 180] / [-90, 90]",
               s->pose.yaw_deg, s->pose.pitch_deg);
  s->has_pose = true;
  return HATCH_OK;
}

/* The action string must be "<action>...</action>" in hatch/plan.h's grammar. */
static hatch_status check_action(const pctx *c, const hatch_train_sample *s) {
  char buf[HATCH_SAMPLE_MAX_ACTION + 32];
  int n = snprintf(buf, sizeof buf, "%s<answer>A. x</answer>", s->action);
  hatch_plan_limits lim = {.n_views = s->n_images, .n_options = 0};
  hatch_plan *plan = malloc(sizeof *plan);
  if (!plan) return bad(c->rep, HATCH_ERR_OUT_OF_MEMORY, c->where, "hatch.action", "out of memory");
  hatch_plan_error perr;
  hatch_status st = hatch_plan_parse(buf, (size_t)n, &lim, plan, &perr);
  free(plan);
  if (st != HATCH_OK) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch.action", "%s", perr.message);
  return HATCH_OK;
}

static hatch_status parse_hatch(const pctx *c, const cJSON *h, hatch_train_sample *s, hatch_data_files *files,
                                bool *has_n_options) {
  if (!cJSON_IsObject(h)) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "hatch", "not an object");
  hatch_status st;
  char setting[sizeof s->setting] = "";
  if ((st = get_string(c, h, "setting", "hatch.setting", true, setting, sizeof setting)) != HATCH_OK) return st;
  if (!s->setting[0]) memcpy(s->setting, setting, sizeof setting);
  if ((st = get_string(c, h, "answer_text", "hatch.answer_text", true, s->answer_text, sizeof s->answer_text)) != HATCH_OK)
    return st;
  if ((st = get_int(c, h, "n_options", "hatch.n_options", has_n_options, 0, 26, &s->n_options)) != HATCH_OK) return st;
  if ((st = get_string(c, h, "action", "hatch.action", true, s->action, sizeof s->action)) != HATCH_OK) return st;
  if (s->action[0] && (st = check_action(c, s)) != HATCH_OK) return st;
  const cJSON *pose = cJSON_GetObjectItemCaseSensitive(h, "pose");
  if (pose && (st = parse_pose(c, pose, s)) != HATCH_OK) return st;
  const cJSON *views = cJSON_GetObjectItemCaseSensitive(h, "views");
  if (views && (st = parse_views(c, views, s, files)) != HATCH_OK) return st;
  return HATCH_OK;
}

/* ---- one record ---------------------------------------------------------------------------- */

static hatch_status parse_root(const pctx *c, const cJSON *root, hatch_train_sample *s, hatch_data_files *files) {
  if (!cJSON_IsObject(root)) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, NULL, "the record is not a JSON object");
  hatch_status st;
  if ((st = get_string(c, root, "id", "id", false, s->id, sizeof s->id)) != HATCH_OK) return st;
  if (!s->id[0]) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "id", "empty");
  if ((st = get_string(c, root, "question", "question", false, s->question, sizeof s->question)) != HATCH_OK) return st;
  if (!s->question[0]) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "question", "empty");
  char answer[64], answer_tail[HATCH_PLAN_MAX_TEXT + 1];
  if ((st = get_string(c, root, "gt_answer", "gt_answer", false, answer, sizeof answer)) != HATCH_OK)
    return st == HATCH_ERR_TOO_LARGE ? bad(c->rep, HATCH_ERR_CORRUPT, c->where, "gt_answer", "not an answer letter") : st;
  s->gt_answer = parse_letter(answer, answer_tail, sizeof answer_tail);
  if (!s->gt_answer)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "gt_answer", "'%s' is not an answer letter (A, (A), A.)", answer);

  const cJSON *images = cJSON_GetObjectItemCaseSensitive(root, "images");
  if (!images) return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "images", "missing");
  int n = cJSON_GetArraySize(images);
  if (!cJSON_IsArray(images) || n < 2 || n > HATCH_SAMPLE_MAX_IMAGES)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "images", "must be an array of 2..%d paths", HATCH_SAMPLE_MAX_IMAGES);
  s->n_images = files->n = n;
  int k = 0;
  for (const cJSON *e = images->child; e; e = e->next, k++) {
    char f[32];
    snprintf(f, sizeof f, "images[%d]", k);
    if (!cJSON_IsString(e) || !e->valuestring || !e->valuestring[0])
      return bad(c->rep, HATCH_ERR_CORRUPT, c->where, f, "not a non-empty string");
    size_t len = strlen(e->valuestring);
    if (len >= HATCH_DATA_MAX_PATH) return bad(c->rep, HATCH_ERR_TOO_LARGE, c->where, f, "path longer than %d bytes", HATCH_DATA_MAX_PATH - 1);
    memcpy(files->rgb[k], e->valuestring, len + 1);
    files->depth_scale[k] = 0.001;
  }

  hatch_mindcube_setting set = hatch_mindcube_setting_of(s->id);
  if (set != HATCH_MINDCUBE_OTHER) snprintf(s->setting, sizeof s->setting, "%s", hatch_mindcube_setting_name(set));
  bool has_n_options = false;
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(root, "hatch");
  if (h && (st = parse_hatch(c, h, s, files, &has_n_options)) != HATCH_OK) return st;
  if (!has_n_options) s->n_options = hatch_mindcube_count_options(s->question);
  if (s->n_options > 0 && s->gt_answer > 'A' + s->n_options - 1)
    return bad(c->rep, HATCH_ERR_CORRUPT, c->where, "gt_answer", "'%c' but the question has %d options", s->gt_answer,
               s->n_options);
  if (!s->answer_text[0]) {
    if (answer_tail[0]) memcpy(s->answer_text, answer_tail, sizeof answer_tail);
    else option_text(s->question, s->gt_answer, s->answer_text, sizeof s->answer_text);
  }
  return HATCH_OK;
}

hatch_status hatch_mindcube_parse_record(const char *text, size_t len, const char *where, hatch_train_sample *sample,
                                         hatch_data_files *files, hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!sample || !files || (!text && len)) return HATCH_ERR_INVALID_ARGUMENT;
  memset(sample, 0, sizeof *sample);
  memset(files, 0, sizeof *files);
  pctx c = {where ? where : "<record>", report};
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text ? text : "", len, &end, 0);
  if (!root) {
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return bad(report, HATCH_ERR_CORRUPT, c.where, NULL, "not valid JSON (at byte %zu)", off);
  }
  hatch_status st = HATCH_OK;
  for (const char *p = end; p && p < text + len; p++)
    if (!isspace((unsigned char)*p)) {
      st = bad(report, HATCH_ERR_CORRUPT, c.where, NULL, "text after the JSON record (at byte %zu)", (size_t)(p - text));
      break;
    }
  if (st == HATCH_OK) st = parse_root(&c, root, sample, files);
  cJSON_Delete(root);
  if (st != HATCH_OK) {
    memset(sample, 0, sizeof *sample);
    memset(files, 0, sizeof *files);
  }
  return st;
}

/* ---- images -------------------------------------------------------------------------------- */

static void free_pixels(hatch_train_sample *s) {
  for (int k = 0; k < HATCH_SAMPLE_MAX_IMAGES; k++) {
    free(s->images[k].rgb);
    free(s->images[k].depth);
    s->images[k].rgb = NULL;
    s->images[k].depth = NULL;
  }
}

hatch_status hatch_data_load_images(const char *root, const hatch_data_files *files, hatch_jpeg_decoder *dec,
                                    const char *where, hatch_train_sample *s, hatch_data_report *rep) {
  if (!files || !s || files->n < 0 || files->n > HATCH_SAMPLE_MAX_IMAGES) return HATCH_ERR_INVALID_ARGUMENT;
  if (!where) where = "<record>";
  char path[HATCH_DATA_MAX_PATH], why[256], f[32];
  hatch_status st = HATCH_OK;
  for (int k = 0; k < files->n; k++) {
    hatch_sample_image *im = &s->images[k];
    snprintf(f, sizeof f, "images[%d]", k);
    if ((st = hatch_data_path_join(root, files->rgb[k], path, sizeof path)) != HATCH_OK) {
      bad(rep, st, where, f, "path too long");
      goto free_images;
    }
    int w, h;
    uint8_t *rgb;
    if ((st = hatch_data_load_rgb(path, dec, &rgb, &w, &h, why, sizeof why)) != HATCH_OK) {
      bad(rep, st, where, f, "'%s': %s", path, why);
      goto free_images;
    }
    im->rgb = rgb;
    if (im->has_camera && (w != im->camera.width || h != im->camera.height)) {
      st = bad(rep, HATCH_ERR_SHAPE, where, f, "'%s' is %dx%d but hatch.views[%d] says %dx%d", path, w, h, k,
               im->camera.width, im->camera.height);
      goto free_images;
    }
    im->width = w;
    im->height = h;
    if (!files->depth[k][0]) continue;
    snprintf(f, sizeof f, "hatch.views[%d].depth", k);
    if ((st = hatch_data_path_join(root, files->depth[k], path, sizeof path)) != HATCH_OK) {
      bad(rep, st, where, f, "path too long");
      goto free_images;
    }
    int dw, dh;
    float *depth;
    if ((st = hatch_depth_png_load(path, files->depth_scale[k], &depth, &dw, &dh, why, sizeof why)) != HATCH_OK) {
      bad(rep, st, where, f, "'%s': %s", path, why);
      goto free_images;
    }
    im->depth = depth;
    if (dw != w || dh != h) {
      st = bad(rep, HATCH_ERR_SHAPE, where, f, "'%s' is %dx%d but its image is %dx%d", path, dw, dh, w, h);
      goto free_images;
    }
  }
  return HATCH_OK;
free_images:
  free_pixels(s);
  return st;
}

/* ---- the reader ---------------------------------------------------------------------------- */

struct hatch_mindcube_reader {
  FILE *f;
  char path[HATCH_DATA_MAX_PATH];
  char root[HATCH_DATA_MAX_PATH];
  bool skip_images;
  size_t max_line;
  char *line;       // (cap) the current line
  size_t cap;
  uint64_t line_no;
  hatch_jpeg_decoder *dec;
  hatch_data_files files;
  hatch_data_counts counts;
};

hatch_status hatch_mindcube_reader_open(const char *path, const hatch_mindcube_options *opt,
                                        hatch_mindcube_reader **out, hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!path || !out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  hatch_mindcube_options defaults = {0};
  if (!opt) opt = &defaults;
  if (strlen(path) >= HATCH_DATA_MAX_PATH) return bad(report, HATCH_ERR_TOO_LARGE, path, NULL, "path too long");
  hatch_mindcube_reader *r = calloc(1, sizeof *r);
  if (!r) return bad(report, HATCH_ERR_OUT_OF_MEMORY, path, NULL, "out of memory");
  hatch_status st;
  snprintf(r->path, sizeof r->path, "%s", path);
  if (opt->image_root) {
    if (strlen(opt->image_root) >= sizeof r->root) {
      st = bad(report, HATCH_ERR_TOO_LARGE, path, NULL, "image root too long");
      goto free_reader;
    }
    snprintf(r->root, sizeof r->root, "%s", opt->image_root);
  } else {
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(r->root, sizeof r->root, "%.*s", (int)(slash - path + 1), path);
  }
  r->skip_images = opt->skip_images;
  r->max_line = opt->max_line ? opt->max_line : HATCH_MINDCUBE_MAX_LINE;
  r->f = fopen(path, "rb");
  if (!r->f) {
    int e = errno;
    st = bad(report, e == ENOENT || e == ENOTDIR ? HATCH_ERR_NOT_FOUND : HATCH_ERR_IO, path, NULL, "cannot open: %s",
             strerror(e));
    goto free_reader;
  }
  if (!r->skip_images && (st = hatch_jpeg_decoder_create(NULL, &r->dec)) != HATCH_OK) {
    bad(report, st, path, NULL, "cannot create a JPEG decoder");
    goto close_file;
  }
  *out = r;
  return HATCH_OK;
close_file:
  fclose(r->f);
free_reader:
  free(r);
  return st;
}

/* Reads one line (without its "\n" / "\r\n") into r->line. Returns 1 for a line, 0 at the end of the
 * file, -1 on a read error, -2 out of memory; *too_long when the line passed max_line (the rest of it
 * is consumed and dropped). */
static int read_line(hatch_mindcube_reader *r, size_t *len, bool *too_long) {
  *len = 0;
  *too_long = false;
  int ch;
  bool any = false;
  while ((ch = getc(r->f)) != EOF) {
    any = true;
    if (ch == '\n') break;
    if (*len >= r->max_line) {
      *too_long = true;
      continue;
    }
    if (*len + 1 >= r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 4096;
      if (cap > r->max_line + 1) cap = r->max_line + 1;
      char *p = realloc(r->line, cap);
      if (!p) return -2;
      r->line = p;
      r->cap = cap;
    }
    r->line[(*len)++] = (char)ch;
  }
  if (ferror(r->f)) return -1;
  if (!any) return 0;
  if (*len && r->line[*len - 1] == '\r') (*len)--;
  if (r->line) r->line[*len] = 0;
  return 1;
}

hatch_data_step hatch_mindcube_reader_next(hatch_mindcube_reader *r, hatch_train_sample *sample,
                                           hatch_data_report *report) {
  if (report) {
    report->status = HATCH_OK;
    report->message[0] = 0;
  }
  if (!r || !sample) {
    bad(report, HATCH_ERR_INVALID_ARGUMENT, "mindcube", NULL, "NULL reader or sample");
    return HATCH_DATA_FAILED;
  }
  hatch_train_sample_clear(sample);
  for (;;) {
    size_t len;
    bool too_long;
    int got = read_line(r, &len, &too_long);
    if (got == 0) return HATCH_DATA_END;
    if (got < 0) {
      bad(report, got == -2 ? HATCH_ERR_OUT_OF_MEMORY : HATCH_ERR_IO, r->path, NULL, "line %llu: %s",
          (unsigned long long)r->line_no + 1, got == -2 ? "out of memory" : "read error");
      return HATCH_DATA_FAILED;
    }
    r->line_no++;
    char where[HATCH_DATA_MAX_PATH + 32];
    snprintf(where, sizeof where, "%s:%llu", r->path, (unsigned long long)r->line_no);
    const char *text = r->line ? r->line : "";
    if (r->line_no == 1 && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
      text += 3;
      len -= 3;
    }
    size_t k = 0;
    while (k < len && isspace((unsigned char)text[k])) k++;
    if (k == len && !too_long) continue; /* blank line */
    r->counts.read++;
    hatch_status st;
    if (too_long) {
      st = bad(report, HATCH_ERR_TOO_LARGE, where, NULL, "line longer than %zu bytes", r->max_line);
    } else {
      st = hatch_mindcube_parse_record(text, len, where, sample, &r->files, report);
      if (st == HATCH_OK && !r->skip_images) st = hatch_data_load_images(r->root, &r->files, r->dec, where, sample, report);
    }
    if (st != HATCH_OK) {
      hatch_train_sample_clear(sample);
      r->counts.skipped++;
      return HATCH_DATA_SKIPPED;
    }
    snprintf(sample->source, sizeof sample->source, "%s", where);
    r->counts.ok++;
    return HATCH_DATA_SAMPLE;
  }
}

hatch_data_counts hatch_mindcube_reader_counts(const hatch_mindcube_reader *r) {
  hatch_data_counts zero = {0};
  return r ? r->counts : zero;
}

void hatch_mindcube_reader_close(hatch_mindcube_reader *r) {
  if (!r) return;
  hatch_jpeg_decoder_destroy(r->dec);
  if (r->f) fclose(r->f);
  free(r->line);
  free(r);
}
