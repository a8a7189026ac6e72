/* hatch rig files (format: drivers/README.md, "Rig files") and rigs from Kalibr camchains. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_internal.h"

#define RIG_PATH_MAX 4096

hatch_status hatch_rig_file_find_camera(const hatch_rig_file *rig, const char *name, int *index) {
  if (!rig || !name || !index) return HATCH_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < rig->n_cameras && i < HATCH_CALIB_MAX_CAMERAS; i++)
    if (strcmp(rig->cameras[i].name, name) == 0) {
      *index = i;
      return HATCH_OK;
    }
  return HATCH_ERR_NOT_FOUND;
}

static hatch_status rig_from_calib(calib_ctx *ctx, const hatch_calib_file *calib, hatch_rig_file *out) {
  if (calib->n_cameras < 1 || calib->n_cameras > HATCH_CALIB_MAX_CAMERAS)
    return calib_fail(ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "calibration holds %d cameras, expected 1..%d",
                      calib->n_cameras, HATCH_CALIB_MAX_CAMERAS);
  memset(out, 0, sizeof(*out));
  out->version = 1;
  snprintf(out->body_frame, sizeof(out->body_frame), "cam0");
  for (int i = 0; i < calib->n_cameras; i++) {
    const hatch_calib_camera *c = &calib->cameras[i];
    hatch_rig_file_camera *rc = &out->cameras[i];
    if (c->intrinsics.name[0]) snprintf(rc->name, sizeof(rc->name), "%s", c->intrinsics.name);
    else snprintf(rc->name, sizeof(rc->name), "cam%d", i);
    rc->intrinsics = c->intrinsics;
    rc->has_intrinsics = true;
    if (i == 0) {
      hatch_pose_identity(rc->T_body_camera);
      continue;
    }
    if (!c->has_T_cn_cnm1)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "cam%d.T_cn_cnm1 is missing: cannot place cam%d relative to cam0",
                        i, i);
    char why[96];
    if (hatch_pose_validate(c->T_cn_cnm1, why, sizeof(why)) != HATCH_OK)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "cam%d.T_cn_cnm1 is not a rigid transform: %s", i, why);
    double T_prev_cur[16]; /* cam(n-1) <- cam(n) */
    hatch_pose_invert_rigid(c->T_cn_cnm1, T_prev_cur);
    hatch_pose_mul(out->cameras[i - 1].T_body_camera, T_prev_cur, rc->T_body_camera);
    if (hatch_pose_validate(rc->T_body_camera, why, sizeof(why)) != HATCH_OK) /* links each within tolerance */
      return calib_fail(ctx, HATCH_ERR_CORRUPT, 0, "cam0 -> cam%d composed through T_cn_cnm1 drifts: %s", i, why);
  }
  out->n_cameras = calib->n_cameras;
  return HATCH_OK;
}

hatch_status hatch_rig_file_from_calib(const hatch_calib_file *calib, const char *name_for_errors, hatch_rig_file *out,
                                  hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  memset(report, 0, sizeof(*report));
  calib_ctx ctx = {name_for_errors ? name_for_errors : "<memory>", report};
  if (!calib || !out) return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  hatch_status st = rig_from_calib(&ctx, calib, out);
  if (st != HATCH_OK) memset(out, 0, sizeof(*out));
  return st;
}

static bool valid_name(const char *s) {
  if (!*s) return false;
  for (; *s; s++) {
    char c = *s;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  }
  return true;
}

static hatch_status read_pose(calib_ctx *ctx, const ynode *cam, const char *cname, double T[16]) {
  hatch_status st = HATCH_OK;
  char field[128];
  snprintf(field, sizeof(field), "%s.T_body_camera", cname);
  const ynode *tm = ymap_get(ctx, cam, "T_body_camera", field, &st);
  if (st != HATCH_OK) return st;
  const ynode *tr = ymap_get(ctx, cam, "translation", "translation", &st);
  if (st != HATCH_OK) return st;
  const ynode *rpy = ymap_get(ctx, cam, "rotation_rpy_deg", "rotation_rpy_deg", &st);
  if (st != HATCH_OK) return st;
  const ynode *q = ymap_get(ctx, cam, "quaternion_xyzw", "quaternion_xyzw", &st);
  if (st != HATCH_OK) return st;
  const ynode *where = tm;
  if (tm) {
    if (tr || rpy || q)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, tm->line,
                        "%s: give T_body_camera or translation + rotation, not both", cname);
    if ((st = ynode_numbers(ctx, tm, field, true, T, 16, 16, NULL)) != HATCH_OK) return st;
  } else {
    if (!tr)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, cam->line,
                        "%s.T_body_camera is missing (or translation with rotation_rpy_deg or quaternion_xyzw)", cname);
    if (!rpy && !q)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, tr->line, "%s.rotation_rpy_deg (or quaternion_xyzw) is missing", cname);
    if (rpy && q)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, q->line, "%s: give rotation_rpy_deg or quaternion_xyzw, not both",
                        cname);
    double t[3], r[4];
    snprintf(field, sizeof(field), "%s.translation", cname);
    if ((st = ynode_numbers(ctx, tr, field, false, t, 3, 3, NULL)) != HATCH_OK) return st;
    if (rpy) {
      snprintf(field, sizeof(field), "%s.rotation_rpy_deg", cname);
      if ((st = ynode_numbers(ctx, rpy, field, false, r, 3, 3, NULL)) != HATCH_OK) return st;
      hatch_pose_from_mount_rpy_deg(t, r, T);
      where = rpy;
    } else {
      snprintf(field, sizeof(field), "%s.quaternion_xyzw", cname);
      if ((st = ynode_numbers(ctx, q, field, false, r, 4, 4, NULL)) != HATCH_OK) return st;
      if (hatch_pose_from_mount_quaternion(t, r, T) != HATCH_OK)
        return calib_fail(ctx, HATCH_ERR_CORRUPT, q->line, "%s is not a unit quaternion (norm %g)", field,
                          sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2] + r[3] * r[3]));
      where = q;
    }
  }
  char why[96];
  if (hatch_pose_validate(T, why, sizeof(why)) != HATCH_OK)
    return calib_fail(ctx, HATCH_ERR_CORRUPT, where->line, "%s is not a rigid transform: %s", field, why);
  return HATCH_OK;
}

static hatch_status load_camera_info(calib_ctx *ctx, const char *base_dir, hatch_rig_file_camera *rc, const char *select,
                                     int line) {
  char path[RIG_PATH_MAX];
  int n = rc->camera_info[0] == '/' ? snprintf(path, sizeof(path), "%s", rc->camera_info)
                                    : snprintf(path, sizeof(path), "%s/%s", base_dir, rc->camera_info);
  if (n < 0 || (size_t)n >= sizeof(path))
    return calib_fail(ctx, HATCH_ERR_INVALID_ARGUMENT, line, "%s.camera_info: path too long", rc->name);
  /* The camera_info file's own errors name that file and its line; the rig keeps its first warning. */
  hatch_calib_report sub;
  hatch_status st = hatch_calib_load_intrinsics(path, select, &rc->intrinsics, &sub);
  if (st != HATCH_OK || (sub.warning && !ctx->report->message[0])) *ctx->report = sub;
  return st;
}

static const char *const CAMERA_KEYS[] = {"name", "uri", "camera_info", "calib_camera", "T_body_camera",
                                          "translation", "rotation_rpy_deg", "quaternion_xyzw", NULL};

static hatch_status read_camera(calib_ctx *ctx, const ynode *cam, int index, const char *base_dir, hatch_rig_file *rig) {
  hatch_rig_file_camera *rc = &rig->cameras[index];
  char field[128];
  snprintf(field, sizeof(field), "cameras[%d]", index);
  hatch_status st = ynode_expect(ctx, cam, YDOC_MAP, field);
  if (st != HATCH_OK) return st;
  const ynode *n;
  snprintf(field, sizeof(field), "cameras[%d].name", index);
  if ((st = ymap_require(ctx, cam, "name", field, &n)) != HATCH_OK) return st;
  if ((st = ynode_string(ctx, n, field, rc->name, sizeof(rc->name))) != HATCH_OK) return st;
  if (!valid_name(rc->name))
    return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s '%s': use letters, digits, '_', '-' and '.'", field,
                      rc->name);
  for (int j = 0; j < index; j++)
    if (strcmp(rig->cameras[j].name, rc->name) == 0)
      return calib_fail(ctx, HATCH_ERR_CORRUPT, n->line, "%s: camera name '%s' is used twice", field, rc->name);
  if ((st = ymap_only_keys(ctx, cam, CAMERA_KEYS, rc->name)) != HATCH_OK) return st;

  snprintf(field, sizeof(field), "%s.uri", rc->name);
  if ((n = ymap_get(ctx, cam, "uri", field, &st)) != NULL) st = ynode_string(ctx, n, field, rc->uri, sizeof(rc->uri));
  if (st != HATCH_OK) return st;
  char select[64] = "";
  snprintf(field, sizeof(field), "%s.calib_camera", rc->name);
  if ((n = ymap_get(ctx, cam, "calib_camera", field, &st)) != NULL)
    st = ynode_string(ctx, n, field, select, sizeof(select));
  if (st != HATCH_OK) return st;
  snprintf(field, sizeof(field), "%s.camera_info", rc->name);
  const ynode *ci = ymap_get(ctx, cam, "camera_info", field, &st);
  if (ci) st = ynode_string(ctx, ci, field, rc->camera_info, sizeof(rc->camera_info));
  if (st != HATCH_OK) return st;
  if (ci && !rc->camera_info[0]) return calib_fail(ctx, HATCH_ERR_CORRUPT, ci->line, "%s is empty", field);

  if ((st = read_pose(ctx, cam, rc->name, rc->T_body_camera)) != HATCH_OK) return st;

  if (ci && base_dir) {
    if ((st = load_camera_info(ctx, base_dir, rc, select[0] ? select : NULL, ci->line)) != HATCH_OK) return st;
    rc->has_intrinsics = true;
  }
  return HATCH_OK;
}

static const char *const RIG_KEYS[] = {"version", "body_frame", "cameras", NULL};

static hatch_status read_rig(calib_ctx *ctx, const ynode *root, const char *base_dir, hatch_rig_file *out) {
  hatch_status st = ymap_only_keys(ctx, root, RIG_KEYS, "rig file");
  if (st != HATCH_OK) return st;
  const ynode *n;
  long version;
  if ((st = ymap_require(ctx, root, "version", "version", &n)) != HATCH_OK) return st;
  if ((st = ynode_int(ctx, n, "version", 0, 1000000, &version)) != HATCH_OK) return st;
  if (version != 1)
    return calib_fail(ctx, HATCH_ERR_UNSUPPORTED, n->line, "version is %ld; this hatch reads rig files of version 1",
                      version);
  out->version = 1;
  snprintf(out->body_frame, sizeof(out->body_frame), "base_link");
  if ((n = ymap_get(ctx, root, "body_frame", "body_frame", &st)) != NULL)
    st = ynode_string(ctx, n, "body_frame", out->body_frame, sizeof(out->body_frame));
  if (st != HATCH_OK) return st;

  const ynode *cams;
  if ((st = ymap_require(ctx, root, "cameras", "cameras", &cams)) != HATCH_OK) return st;
  if ((st = ynode_expect(ctx, cams, YDOC_SEQ, "cameras")) != HATCH_OK) return st;
  if (cams->n_children == 0) return calib_fail(ctx, HATCH_ERR_CORRUPT, cams->line, "cameras is empty");
  if (cams->n_children > HATCH_CALIB_MAX_CAMERAS)
    return calib_fail(ctx, HATCH_ERR_TOO_LARGE, cams->line, "cameras has %d entries, at most %d", cams->n_children,
                      HATCH_CALIB_MAX_CAMERAS);
  int i = 0;
  for (const ynode *cam = cams->first; cam; cam = cam->next, i++) {
    if ((st = read_camera(ctx, cam, i, base_dir, out)) != HATCH_OK) return st;
    out->n_cameras = i + 1;
  }
  return HATCH_OK;
}

hatch_status hatch_rig_file_parse(const char *text, size_t len, const char *name_for_errors, const char *base_dir,
                             hatch_rig_file *out, hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  memset(report, 0, sizeof(*report));
  calib_ctx ctx = {name_for_errors ? name_for_errors : "<memory>", report};
  if (!out || (!text && len > 0)) return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  memset(out, 0, sizeof(*out));
  ydoc *doc = NULL;
  bool directive = false;
  hatch_calib_file *calib = NULL;
  hatch_status st = ydoc_parse(&ctx, text ? text : "", len, &doc, &directive);
  if (st != HATCH_OK) goto done;
  const ynode *root = ydoc_root(doc);
  bool kalibr = false;
  for (const ynode *k = root->first; k && k->next && !kalibr; k = k->next->next)
    kalibr = k->kind == YDOC_SCALAR && strcmp(k->value, "cam0") == 0;
  if (kalibr) {
    calib = calloc(1, sizeof(*calib));
    if (!calib) {
      st = calib_fail(&ctx, HATCH_ERR_OUT_OF_MEMORY, 0, "out of memory");
      goto free_doc;
    }
    calib->format = HATCH_CALIB_FORMAT_KALIBR;
    st = calib_read_kalibr(&ctx, root, calib);
    for (int i = 1; st == HATCH_OK && i < calib->n_cameras; i++) /* a missing link, with its line */
      if (!calib->cameras[i].has_T_cn_cnm1) {
        int line = 0;
        for (const ynode *k = root->first; k && k->next && !line; k = k->next->next)
          if (k->kind == YDOC_SCALAR && strcmp(k->value, calib->cameras[i].intrinsics.name) == 0) line = k->line;
        st = calib_fail(&ctx, HATCH_ERR_CORRUPT, line, "cam%d.T_cn_cnm1 is missing: cannot place cam%d relative to cam0",
                        i, i);
      }
    if (st == HATCH_OK) st = rig_from_calib(&ctx, calib, out);
  } else {
    st = read_rig(&ctx, root, base_dir, out);
  }
  free(calib);
free_doc:
  ydoc_free(doc);
done:
  if (st != HATCH_OK) memset(out, 0, sizeof(*out));
  return st;
}

hatch_status hatch_rig_file_load(const char *path, hatch_rig_file *out, hatch_calib_report *report) {
  hatch_calib_report scratch;
  if (!report) report = &scratch;
  memset(report, 0, sizeof(*report));
  calib_ctx ctx = {path ? path : "<null>", report};
  if (!path || !out) return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "invalid argument");
  char dir[RIG_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof(dir), ".");
  else if (slash == path) snprintf(dir, sizeof(dir), "/");
  else if ((size_t)(slash - path) < sizeof(dir)) snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  else return calib_fail(&ctx, HATCH_ERR_INVALID_ARGUMENT, 0, "path too long");
  char *text = NULL;
  size_t len = 0;
  hatch_status st = calib_read_file(&ctx, path, &text, &len);
  if (st != HATCH_OK) {
    memset(out, 0, sizeof(*out));
    return st;
  }
  st = hatch_rig_file_parse(text, len, path, dir, out, report);
  free(text);
  return st;
}
