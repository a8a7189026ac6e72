/* MindCube JSONL loader (train/data/mindcube_jsonl.c): the fixture file tests/fixtures/train_data/
 * mindcube/data.jsonl read end to end (good records with JPEG / PNG images, the "hatch" object with
 * 16-bit depth and cameras, and bad lines that must be skipped, counted and named by file:line and
 * field), an --image-root, the line length limit, and the record parser from memory: answer forms,
 * option counting, and each error naming its field. CPU only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hatch/sim_dataset.h"
#include "hatch/train_data.h"

#define FIX HATCH_FIXTURE_DIR "/train_data/mindcube/"

static bool has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* Reads the next record that is not skipped-as-expected; checks a skip names line and field. */
static void expect_skip(hatch_test_ctx *c, hatch_mindcube_reader *r, hatch_train_sample *s, const char *line,
                        const char *field, hatch_status status) {
  hatch_data_report rep;
  hatch_data_step step = hatch_mindcube_reader_next(r, s, &rep);
  HATCH_EXPECT(c, step == HATCH_DATA_SKIPPED, "%s: step %d, expected a skip (%s)", line, step, rep.message);
  HATCH_EXPECT(c, has(rep.message, line) && has(rep.message, field), "%s: message '%s' should name '%s'", line,
               rep.message, field);
  HATCH_EXPECT(c, rep.status == status, "%s: status %s, expected %s (%s)", line, hatch_status_name(rep.status),
               hatch_status_name(status), rep.message);
  HATCH_EXPECT(c, s->n_images == 0 && s->images[0].rgb == NULL, "%s: a skipped record left a sample behind", line);
}

static bool near_rgb(const uint8_t *p, int r, int g, int b) {
  return abs(p[0] - r) <= 8 && abs(p[1] - g) <= 8 && abs(p[2] - b) <= 8;
}

static void test_fixture_file(hatch_test_ctx *c) {
  hatch_mindcube_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(FIX "data.jsonl", NULL, &r, &rep));
  if (!r) return;
  hatch_train_sample *s = calloc(1, sizeof *s);

  /* line 1: plain MindCube, two JPEGs */
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "line 1: %s", rep.message);
  HATCH_EXPECT(c, strcmp(s->id, "among_0001_q1") == 0 && strcmp(s->setting, "among") == 0, "id '%s' setting '%s'", s->id,
               s->setting);
  HATCH_EXPECT(c, s->gt_answer == 'B' && s->n_options == 4, "answer %c, %d options", s->gt_answer, s->n_options);
  HATCH_EXPECT(c, strcmp(s->answer_text, "Sliding door") == 0, "answer text '%s'", s->answer_text);
  HATCH_EXPECT(c, s->n_images == 2 && s->images[0].width == 16 && s->images[1].height == 16, "images %d", s->n_images);
  HATCH_EXPECT(c, s->images[0].rgb && near_rgb(s->images[0].rgb + 3 * 37, 200, 30, 30), "image 0 is not red");
  HATCH_EXPECT(c, s->images[1].rgb && near_rgb(s->images[1].rgb, 30, 200, 30), "image 1 is not green");
  HATCH_EXPECT(c, !s->images[0].depth && !s->images[0].has_camera && !s->has_pose && !s->action[0], "no geometry expected");
  HATCH_EXPECT(c, has(s->source, "data.jsonl:1"), "source '%s'", s->source);

  /* line 3 (line 2 is blank): "(C)", three images, a PNG among them, loose category/type/meta_info */
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "line 3: %s", rep.message);
  HATCH_EXPECT(c, s->gt_answer == 'C' && s->n_images == 3 && strcmp(s->setting, "around") == 0, "answer %c images %d",
               s->gt_answer, s->n_images);
  HATCH_EXPECT(c, strcmp(s->answer_text, "Pathway") == 0, "answer text '%s'", s->answer_text);
  HATCH_EXPECT(c, s->images[2].rgb && near_rgb(s->images[2].rgb + 3 * 255, 30, 30, 200), "PNG image is not blue");
  HATCH_EXPECT(c, has(s->source, "data.jsonl:3"), "source '%s'", s->source);

  expect_skip(c, r, s, "data.jsonl:4:", "not valid JSON", HATCH_ERR_CORRUPT);
  expect_skip(c, r, s, "data.jsonl:5:", "gt_answer: missing", HATCH_ERR_CORRUPT);
  expect_skip(c, r, s, "data.jsonl:6:", "images: must be an array", HATCH_ERR_CORRUPT);
  expect_skip(c, r, s, "data.jsonl:7:", "gt_answer: 'E' but the question has 4 options", HATCH_ERR_CORRUPT);
  expect_skip(c, r, s, "data.jsonl:8:", "images[1]: '" FIX "images/nope.jpg'", HATCH_ERR_NOT_FOUND);
  expect_skip(c, r, s, "data.jsonl:9:", "images[0]", HATCH_ERR_CORRUPT);

  /* line 10: the synthetic writer's "hatch" object */
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "line 10: %s", rep.message);
  HATCH_EXPECT(c, strcmp(s->answer_text, "Red chair") == 0 && s->n_options == 4 && s->gt_answer == 'A', "answer '%s'",
               s->answer_text);
  HATCH_EXPECT(c, has(s->action, "{turn right: 90 deg}{move forward: 0.50 m}"), "action '%s'", s->action);
  HATCH_EXPECT(c, s->has_pose && s->pose_from == 0 && s->pose_to == 1 && s->pose.t_m[0] == 0.5, "pose");
  for (int k = 0; k < 2; k++) {
    const hatch_sample_image *im = &s->images[k];
    HATCH_EXPECT(c, im->has_camera && im->camera.fx == 16 && im->camera.cx == 7.5 && im->camera.position[0] == 0.5 * k,
                 "camera %d", k);
    HATCH_EXPECT(c, im->depth != NULL, "depth %d missing", k);
  }
  if (s->images[0].depth && s->images[1].depth) {
    /* fixture depth: view 0 = (1500 + 10 c) mm, view 1 = 2000 mm */
    for (int px = 0; px < 256; px += 17) {
      const float want = (float)((1500 + 10 * (px % 16)) * 0.001);
      HATCH_EXPECT(c, fabsf(s->images[0].depth[px] - want) < 1e-6f, "depth0[%d] = %g, expected %g", px,
                   s->images[0].depth[px], want);
    }
    HATCH_EXPECT(c, fabsf(s->images[1].depth[200] - 2.0f) < 1e-6f, "depth1 = %g", s->images[1].depth[200]);
    /* the loaded pair feeds PaStA directly */
    float m[256];
    HATCH_EXPECT_OK(c, hatch_pasta_targets(&s->images[1], &s->images[1], NULL, m, NULL, NULL, NULL));
    HATCH_EXPECT(c, m[0] == 1.0f && m[5 * 16 + 5] == 1.0f, "identity pair M[0][0] %g", m[0]);
  }

  expect_skip(c, r, s, "data.jsonl:11:", "hatch.views[1].depth: '" FIX "depth/small.png' is 8x8 but its image is 16x16",
              HATCH_ERR_SHAPE);

  /* line 12: "B." */
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "line 12: %s", rep.message);
  HATCH_EXPECT(c, s->gt_answer == 'B' && s->n_options == 2 && strcmp(s->setting, "rotation") == 0 &&
                      strcmp(s->answer_text, "Right") == 0,
               "answer %c/%d '%s' setting '%s'", s->gt_answer, s->n_options, s->answer_text, s->setting);

  expect_skip(c, r, s, "data.jsonl:13:", "images[0]: '" FIX "images/among_0001_q1_0.jpg' is 16x16 but hatch.views[0] says 32x16",
              HATCH_ERR_SHAPE);
  expect_skip(c, r, s, "data.jsonl:14:", "hatch.views[0].depth", HATCH_ERR_UNSUPPORTED);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_END, "expected the end");
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_END, "expected the end again");
  hatch_data_counts n = hatch_mindcube_reader_counts(r);
  HATCH_EXPECT(c, n.read == 13 && n.ok == 4 && n.skipped == 9, "counts read %llu ok %llu skipped %llu",
               (unsigned long long)n.read, (unsigned long long)n.ok, (unsigned long long)n.skipped);
  hatch_train_sample_clear(s);
  free(s);
  hatch_mindcube_reader_close(r);
}

static void test_image_root_and_skip_images(hatch_test_ctx *c) {
  hatch_mindcube_options opt = {.image_root = FIX "alt_root"};
  hatch_mindcube_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(FIX "data.jsonl", &opt, &r, &rep));
  hatch_train_sample *s = calloc(1, sizeof *s);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "line 1: %s", rep.message);
  HATCH_EXPECT(c, s->images[0].rgb && near_rgb(s->images[0].rgb, 30, 30, 200), "image 0 not from the alternate root");
  hatch_mindcube_reader_close(r);

  /* skip_images: records only; the missing and corrupt images are not noticed */
  hatch_mindcube_options opt2 = {.skip_images = true};
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(FIX "data.jsonl", &opt2, &r, &rep));
  int ok = 0;
  hatch_data_step step;
  while ((step = hatch_mindcube_reader_next(r, s, &rep)) != HATCH_DATA_END && step != HATCH_DATA_FAILED)
    if (step == HATCH_DATA_SAMPLE) {
      ok++;
      HATCH_EXPECT(c, s->images[0].rgb == NULL && s->n_images >= 2, "skip_images loaded pixels");
    }
  HATCH_EXPECT(c, ok == 9, "%d records parsed without images, expected 9", ok);
  hatch_mindcube_reader_close(r);
  hatch_train_sample_clear(s);
  free(s);

  HATCH_EXPECT(c, hatch_mindcube_reader_open(FIX "nope.jsonl", NULL, &r, &rep) == HATCH_ERR_NOT_FOUND, "missing file");
  HATCH_EXPECT(c, has(rep.message, "nope.jsonl"), "message '%s'", rep.message);
  hatch_mindcube_reader_close(NULL);
}

static void test_long_lines_and_crlf(hatch_test_ctx *c) {
  char path[] = "/tmp/hatch_test_mindcube_XXXXXX";
  int fd = mkstemp(path);
  HATCH_EXPECT(c, fd >= 0, "mkstemp");
  if (fd < 0) return;
  FILE *f = fdopen(fd, "w");
  fprintf(f, "\xEF\xBB\xBF{\"id\":\"among_1\",\"question\":\"Q? A. x B. y\",\"gt_answer\":\"a\",\"images\":[\"a.jpg\",\"b.jpg\"]}\r\n");
  fprintf(f, "{\"id\":\"among_2\",\"question\":\"");
  for (int k = 0; k < 300; k++) fputc('x', f);
  fprintf(f, "\",\"gt_answer\":\"A\",\"images\":[\"a.jpg\",\"b.jpg\"]}\n   \n");
  fprintf(f, "{\"id\":\"among_3\",\"question\":\"Q? A. x B. y\",\"gt_answer\":\"B\",\"images\":[\"a.jpg\",\"b.jpg\"]}");
  fclose(f);
  hatch_mindcube_options opt = {.skip_images = true, .max_line = 200};
  hatch_mindcube_reader *r = NULL;
  hatch_data_report rep;
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(path, &opt, &r, &rep));
  hatch_train_sample *s = calloc(1, sizeof *s);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE, "BOM + CRLF line: %s", rep.message);
  HATCH_EXPECT(c, s->gt_answer == 'A' && strcmp(s->answer_text, "x") == 0, "lower-case letter: %c '%s'", s->gt_answer,
               s->answer_text);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SKIPPED && has(rep.message, ":2: line longer than 200"),
               "long line: '%s'", rep.message);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_SAMPLE && s->gt_answer == 'B' &&
                      has(s->source, ":4"),
               "last line without a newline: %s (%s)", rep.message, s->source);
  HATCH_EXPECT(c, hatch_mindcube_reader_next(r, s, &rep) == HATCH_DATA_END, "end");
  hatch_mindcube_reader_close(r);
  free(s);
  unlink(path);
}

/* ---- the record parser from memory ----------------------------------------------------------- */

static hatch_status parse(const char *json, hatch_train_sample *s, hatch_data_files *files, hatch_data_report *rep) {
  return hatch_mindcube_parse_record(json, strlen(json), "mem:1", s, files, rep);
}

static void test_answer_forms_and_options(hatch_test_ctx *c) {
  HATCH_EXPECT(c, hatch_mindcube_count_options("Q? A. Wall B. Sliding door C. Open space D. Grey chairs") == 4, "4 options");
  HATCH_EXPECT(c, hatch_mindcube_count_options("Q?\nA. Metal bin\nB. Table\nC. Pathway") == 3, "newline options");
  HATCH_EXPECT(c, hatch_mindcube_count_options("Q? (A) x (B) y") == 2, "(A) forms");
  HATCH_EXPECT(c, hatch_mindcube_count_options("Q? A) x B) y C) z") == 3, "A) forms");
  HATCH_EXPECT(c, hatch_mindcube_count_options("Is Mr.A. here? B. no") == 0, "no option A");
  HATCH_EXPECT(c, hatch_mindcube_count_options("Q? A. x C. y") == 1, "C without B");
  HATCH_EXPECT(c, hatch_mindcube_count_options("") == 0 && hatch_mindcube_count_options(NULL) == 0, "empty");
  static const struct {
    const char *answer;
    char letter;
  } forms[] = {{"B", 'B'}, {"(B)", 'B'}, {"B.", 'B'}, {" B ", 'B'}, {"b", 'B'}, {"B)", 'B'}, {"B. Table", 'B'},
               {"Back", 0},  {"", 0},     {"(B", 0},  {"1", 0},   {"BB", 0}};
  hatch_train_sample *s = malloc(sizeof *s);
  hatch_data_files *files = malloc(sizeof *files);
  hatch_data_report rep;
  for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
    char json[512];
    snprintf(json, sizeof json,
             "{\"id\":\"x_among\",\"question\":\"Q? A. Wall B. Table C. Door\",\"gt_answer\":\"%s\",\"images\":[\"a\",\"b\"]}",
             forms[k].answer);
    hatch_status st = parse(json, s, files, &rep);
    if (forms[k].letter) {
      HATCH_EXPECT(c, st == HATCH_OK && s->gt_answer == forms[k].letter, "'%s' -> %s %c (%s)", forms[k].answer,
                   hatch_status_name(st), s->gt_answer, rep.message);
      HATCH_EXPECT(c, strcmp(s->answer_text, "Table") == 0, "'%s': answer text '%s'", forms[k].answer, s->answer_text);
    } else {
      HATCH_EXPECT(c, st == HATCH_ERR_CORRUPT && has(rep.message, "mem:1: gt_answer"), "'%s' accepted (%s)",
                   forms[k].answer, rep.message);
    }
  }
  free(s);
  free(files);
}

static void test_parse_errors_name_fields(hatch_test_ctx *c) {
  static const char *const HEAD = "\"id\":\"among_1\",\"question\":\"Q? A. x B. y\",\"gt_answer\":\"A\"";
  static const char *const VIEW =
      "{\"width\":16,\"height\":16,\"fx\":16,\"fy\":16,\"cx\":7.5,\"cy\":7.5,\"rotation\":[1,0,0,0,1,0,0,0,1],\"position\":[0,0,0]}";
  static const struct {
    const char *body; /* after HEAD, inside the object */
    const char *field;
    hatch_status status;
  } cases[] = {
      {",\"images\":[\"a\"]", "images: must be an array of 2..8", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]", "images: must be", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",3]", "images[1]: not a non-empty string", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"\"]", "images[1]", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":[]", "hatch: not an object", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"n_options\":1.5}", "hatch.n_options: 1.5 is not an integer", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"n_options\":\"4\"}", "hatch.n_options: not a finite number", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"action\":\"<action>{from:0,to:2,action:[{turn left: 5 deg}]}</action>\"}",
       "hatch.action", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"pose\":{\"from\":0,\"to\":0,\"t_m\":[0,0,0],\"yaw_deg\":0,\"pitch_deg\":0}}",
       "hatch.pose: from == to", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"pose\":{\"from\":0,\"to\":1,\"t_m\":[0,0],\"yaw_deg\":0,\"pitch_deg\":0}}",
       "hatch.pose.t_m: must be an array of 3", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"views\":[{}]}", "hatch.views: must be an array with one entry per image",
       HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"views\":[{},{}]}", "hatch.views[0].width: missing", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"answer_text\":7}", "hatch.answer_text: not a string", HATCH_ERR_CORRUPT},
      {",\"images\":[\"a\",\"b\"],\"hatch\":{\"setting\":\"a very long setting name\"}", "hatch.setting", HATCH_ERR_TOO_LARGE},
  };
  hatch_train_sample *s = malloc(sizeof *s);
  hatch_data_files *files = malloc(sizeof *files);
  hatch_data_report rep;
  char json[2048];
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    snprintf(json, sizeof json, "{%s%s}", HEAD, cases[k].body);
    hatch_status st = parse(json, s, files, &rep);
    HATCH_EXPECT(c, st == cases[k].status && has(rep.message, cases[k].field) && has(rep.message, "mem:1: "),
                 "case %zu: %s '%s', expected %s naming '%s'", k, hatch_status_name(st), rep.message,
                 hatch_status_name(cases[k].status), cases[k].field);
    HATCH_EXPECT(c, st == HATCH_OK || (s->n_images == 0 && files->n == 0), "case %zu: outputs not zeroed", k);
  }
  /* a view whose rotation is not a rotation, and a good pair of views */
  snprintf(json, sizeof json, "{%s,\"images\":[\"a\",\"b\"],\"hatch\":{\"views\":[%s,%.*s[1,0,0,0,2,0,0,0,1]%s]}}", HEAD,
           VIEW, (int)(strstr(VIEW, "[1,0,0") - VIEW), VIEW, strstr(VIEW, ",\"position\""));
  HATCH_EXPECT(c, parse(json, s, files, &rep) == HATCH_ERR_CORRUPT && has(rep.message, "hatch.views[1]: pose: rotation"),
               "bad rotation: '%s'", rep.message);
  snprintf(json, sizeof json, "{%s,\"images\":[\"a\",\"b\"],\"hatch\":{\"views\":[%s,%s]}}", HEAD, VIEW, VIEW);
  HATCH_EXPECT(c, parse(json, s, files, &rep) == HATCH_OK && s->images[1].has_camera && files->depth[0][0] == 0 &&
                      files->depth_scale[1] == 0.001,
               "good views: %s", rep.message);
  /* whole-record problems */
  HATCH_EXPECT(c, parse("[1,2]", s, files, &rep) == HATCH_ERR_CORRUPT && has(rep.message, "not a JSON object"), "array");
  HATCH_EXPECT(c, parse("{\"id\":\"a\"} x", s, files, &rep) == HATCH_ERR_CORRUPT && has(rep.message, "text after"), "trailing");
  HATCH_EXPECT(c, parse("", s, files, &rep) == HATCH_ERR_CORRUPT, "empty");
  char *long_q = malloc(3000);
  int n = snprintf(long_q, 3000, "{\"id\":\"among_1\",\"question\":\"");
  memset(long_q + n, 'q', 1100);
  snprintf(long_q + n + 1100, 3000 - n - 1100, "\",\"gt_answer\":\"A\",\"images\":[\"a\",\"b\"]}");
  HATCH_EXPECT(c, parse(long_q, s, files, &rep) == HATCH_ERR_TOO_LARGE && has(rep.message, "question: 1100 bytes"),
               "long question: %s", rep.message);
  free(long_q);
  /* the setting: the id decides; hatch.setting fills in for ids that name none */
  HATCH_EXPECT(c, parse("{\"id\":\"sim_7\",\"question\":\"q\",\"gt_answer\":\"A\",\"images\":[\"a\",\"b\"],"
                        "\"hatch\":{\"setting\":\"free\"}}", s, files, &rep) == HATCH_OK &&
                      strcmp(s->setting, "free") == 0 && s->n_options == 0,
               "setting '%s' (%s)", s->setting, rep.message);
  free(s);
  free(files);
}

/* Round trip with the synthetic dataset writer: what hatch_sim_dataset_write puts on disk reads back
 * as the samples the in-memory stream gives (text, pose, cameras exactly up to the writer's 6-decimal
 * rounding, depth to the millimetre, pixels to JPEG error), and PaStA targets agree. */
static void test_sim_dataset_round_trip(hatch_test_ctx *c) {
  char dir[] = "/tmp/hatch_test_simrt_XXXXXX";
  if (!mkdtemp(dir)) {
    HATCH_EXPECT(c, false, "mkdtemp");
    return;
  }
  hatch_sim_stream_options so = {.seed = 7, .image_size = 56, .questions_per_world = 2, .n_samples = 8};
  char err[256] = "";
  HATCH_EXPECT_OK(c, hatch_sim_dataset_write(dir, "train", &so, NULL, err));
  char path[512];
  snprintf(path, sizeof path, "%s/train.jsonl", dir);
  hatch_mindcube_reader *r = NULL;
  hatch_data_report rep;
  hatch_sim_stream *st = NULL;
  HATCH_EXPECT_OK(c, hatch_mindcube_reader_open(path, NULL, &r, &rep));
  HATCH_EXPECT_OK(c, hatch_sim_stream_create(&so, &st, err));
  hatch_train_sample *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  int n = 0;
  while (r && st && hatch_mindcube_reader_next(r, a, &rep) == HATCH_DATA_SAMPLE) {
    if (hatch_sim_stream_next(st, b) != HATCH_OK) break;
    n++;
    HATCH_EXPECT(c, strcmp(a->id, b->id) == 0 && strcmp(a->question, b->question) == 0 && a->gt_answer == b->gt_answer,
                 "sample %d: id '%s' vs '%s'", n, a->id, b->id);
    HATCH_EXPECT(c, strcmp(a->setting, b->setting) == 0 && a->n_options == b->n_options &&
                        strcmp(a->answer_text, b->answer_text) == 0 && strcmp(a->action, b->action) == 0,
                 "sample %d (%s): setting '%s'/'%s' options %d/%d action '%s'/'%s'", n, a->id, a->setting, b->setting,
                 a->n_options, b->n_options, a->action, b->action);
    HATCH_EXPECT(c, a->has_pose && a->pose_from == b->pose_from && a->pose_to == b->pose_to &&
                        fabs(a->pose.yaw_deg - b->pose.yaw_deg) < 1e-5 && fabs(a->pose.t_m[2] - b->pose.t_m[2]) < 1e-5,
                 "sample %d: pose", n);
    HATCH_EXPECT(c, a->n_images == b->n_images, "sample %d: %d vs %d images", n, a->n_images, b->n_images);
    for (int k = 0; k < a->n_images && k < b->n_images; k++) {
      const hatch_sample_image *x = &a->images[k], *y = &b->images[k];
      HATCH_EXPECT(c, x->width == y->width && x->height == y->height && x->depth && y->depth && x->has_camera,
                   "sample %d image %d: shape", n, k);
      if (!x->depth || !y->depth || x->width != y->width || x->height != y->height) continue;
      double cam_err = fabs(x->camera.fx - y->camera.fx) + fabs(x->camera.cx - y->camera.cx);
      for (int i = 0; i < 9; i++) cam_err += fabs(x->camera.rotation[i] - y->camera.rotation[i]);
      for (int i = 0; i < 3; i++) cam_err += fabs(x->camera.position[i] - y->camera.position[i]);
      HATCH_EXPECT(c, cam_err < 1e-4, "sample %d image %d: camera differs by %g", n, k, cam_err);
      float depth_err = 0;
      double rgb_err = 0;
      for (int p = 0; p < x->width * x->height; p++) {
        depth_err = fmaxf(depth_err, fabsf(x->depth[p] - y->depth[p]));
        for (int ch = 0; ch < 3; ch++) rgb_err += abs(x->rgb[3 * p + ch] - y->rgb[3 * p + ch]);
      }
      rgb_err /= 3.0 * x->width * x->height;
      HATCH_EXPECT(c, depth_err <= 0.00051f, "sample %d image %d: depth differs by %g m", n, k, depth_err);
      HATCH_EXPECT(c, rgb_err < 6, "sample %d image %d: mean |rgb difference| %g", n, k, rgb_err);
    }
    if (a->n_images >= 2 && a->images[0].depth && a->images[1].depth && b->images[0].depth && b->images[1].depth) {
      float sa[256], sb[256];
      HATCH_EXPECT_OK(c, hatch_pasta_targets(&a->images[0], &a->images[1], NULL, NULL, NULL, sa, NULL));
      HATCH_EXPECT_OK(c, hatch_pasta_targets(&b->images[0], &b->images[1], NULL, NULL, NULL, sb, NULL));
      double d = 0;
      for (int k = 0; k < 256; k++) d = fmax(d, fabs(sa[k] - sb[k]));
      HATCH_EXPECT(c, d < 0.05, "sample %d: PaStA S from disk and from memory differ by %g", n, d);
    }
  }
  HATCH_EXPECT(c, n == 8, "read back %d samples of 8 (%s)", n, rep.message);
  hatch_data_counts cnt = hatch_mindcube_reader_counts(r);
  HATCH_EXPECT(c, cnt.skipped == 0, "%llu records skipped: %s", (unsigned long long)cnt.skipped, rep.message);
  hatch_train_sample_clear(a);
  hatch_train_sample_clear(b);
  free(a);
  free(b);
  hatch_sim_stream_destroy(st);
  hatch_mindcube_reader_close(r);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) HATCH_EXPECT(c, false, "could not remove %s", dir);
}

int main(int argc, char **argv) {
  static const hatch_test_case cases[] = {
      {"fixture_file", test_fixture_file, false},
      {"image_root_and_skip_images", test_image_root_and_skip_images, false},
      {"long_lines_and_crlf", test_long_lines_and_crlf, false},
      {"answer_forms_and_options", test_answer_forms_and_options, false},
      {"parse_errors_name_fields", test_parse_errors_name_fields, false},
      {"sim_dataset_round_trip", test_sim_dataset_round_trip, false},
  };
  return hatch_test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
