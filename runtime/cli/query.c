/* `hatch query`: images (files, or one synchronized set from cameras) + a question -> the model's
 * action plan, decoded under the plan grammar (hatch/plan.h) so it always parses, printed as the
 * plan JSON of ARCHITECTURE.md (--raw: the model's text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/bench.h"
#include "cli/cli.h"
#include "hatch/camera.h"
#include "hatch/choice.h"
#include "hatch/convert.h"
#include "hatch/frame_decode.h"
#include "hatch/frame_files.h"
#include "hatch/gguf.h"
#include "hatch/model.h"
#include "hatch/ops.h"
#include "hatch/plan.h"
#include "hatch/sampler.h"
#include "hatch/sha256.h"
#include "hatch/tokenizer.h"

#define MAX_IMAGES 8

typedef struct image {
  uint8_t *rgb; /* (h, w, 3) at the model's size */
  int w, h;
  hatch_plan_view view;
  char camera[64];
} image;

static void usage(void) {
  printf("usage: hatch query --model M.gguf [--mmproj P.gguf] (--image FILE | --camera URI)... --question TEXT\n"
         "                   [--raw] [--max-tokens N (256)] [--temperature T] [--top-k K] [--top-p P] [--seed S]\n"
         "                   [--stop STR]... [--kv-f32]\n"
         "                   [--options N] [--rank-options] [--backend auto|cpu|vulkan] [--id ID] [--no-hash]\n"
         "  Images: JPEG or PNG files, or one synchronized frame set from camera URIs (v4l2://, fake://, file://);\n"
         "  --camera-wait MS (5000): how long to wait for a set that holds every camera.\n"
         "  Output: the plan JSON; --raw prints the generated text instead. --options N limits the answer letter.\n"
         "  Stops: EOS and <|im_end|> always; --stop STR (repeatable) also ends at STR, cut from the text.\n"
         "  --kv-f32: KV cache in F32 (default F16).\n"
         "  --rank-options: the question has its options inline (\"... A. Red chair B. Blue box\"); after the action, the\n"
         "  answer is the most likely whole option (hatch/choice.h) instead of the decoder's first letter.\n");
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *d = n > 0 && n < (1l << 28) ? malloc((size_t)n) : NULL;
  if (d && fread(d, 1, (size_t)n, f) != (size_t)n) free(d), d = NULL;
  fclose(f);
  *size = d ? (size_t)n : 0;
  return d;
}

/* Decodes a JPEG/PNG file to (h, w, 3). */
static hatch_status decode_file(const char *path, uint8_t **rgb, int *w, int *h, char *why, size_t why_len) {
  size_t size = 0;
  uint8_t *data = read_file(path, &size);
  if (!data) return snprintf(why, why_len, "%s: cannot read", path), HATCH_ERR_NOT_FOUND;
  hatch_status st;
  hatch_decode_report rep = {0};
  bool png = size > 8 && !memcmp(data, "\x89PNG", 4);
  if (png) st = hatch_png_probe(data, size, w, h);
  else {
    hatch_jpeg_decoder *dec = NULL;
    st = hatch_jpeg_decoder_create(NULL, &dec);
    if (st == HATCH_OK) st = hatch_jpeg_probe(dec, data, size, w, h);
    if (st == HATCH_OK && !(*rgb = malloc((size_t)*w * *h * 3))) st = HATCH_ERR_OUT_OF_MEMORY;
    if (st == HATCH_OK) st = hatch_jpeg_decode_rgb(dec, data, size, *rgb, (size_t)*w * *h * 3, &rep);
    hatch_jpeg_decoder_destroy(dec);
  }
  if (png && st == HATCH_OK) {
    if (!(*rgb = malloc((size_t)*w * *h * 3))) st = HATCH_ERR_OUT_OF_MEMORY;
    else st = hatch_png_decode_rgb(data, size, NULL, *rgb, (size_t)*w * *h * 3, &rep);
  }
  if (st != HATCH_OK) snprintf(why, why_len, "%s: %s %s", path, hatch_status_message(st), rep.message);
  free(data);
  return st;
}

static double ms_since(double t0) { return (hatch_bench_now_ns() - t0) / 1e6; }

/* --rank-options: the decoded response up to its answer, then the most likely option (hatch/choice.h);
 * *text (malloc'd) is replaced. */
static hatch_status rank_answer(hatch_model *m, const hatch_tokenizer *tok, const int32_t *prompt, int n_prompt,
                                int32_t first_pos, const int32_t *gen, int n_gen, const hatch_choice_options *choices,
                                char **text, size_t *text_len) {
  hatch_choice_state cs = {.model = m, .tok = tok, .n_prompt = n_prompt, .last_prompt_id = prompt[n_prompt - 1],
                           .first_pos = first_pos, .generated = gen, .n_generated = n_gen,
                           .stop_id = hatch_tokenizer_find(tok, "<|im_end|>", 10)};
  hatch_choice_result *r = malloc(sizeof *r);
  if (!r) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_status st = hatch_choice_rank(&cs, *text, choices, r);
  char *best = st == HATCH_OK ? strdup(r->text) : NULL;
  if (st == HATCH_OK && !best) st = HATCH_ERR_OUT_OF_MEMORY;
  if (best) {
    free(*text);
    *text = best, *text_len = strlen(best);
  }
  free(r);
  return st;
}

int hatch_cmd_query(int argc, char **argv) {
  const char *model_path = NULL, *mmproj = NULL, *question = NULL, *backend = "auto", *id = "q-1";
  const char *files[MAX_IMAGES], *cams[MAX_IMAGES], *stops[HATCH_STOP_MAX];
  int n_files = 0, n_cams = 0, max_tokens = 256, n_options = 0, n_stops = 0, camera_wait_ms = 5000;
  bool raw = false, hash = true, kv_f32 = false, rank = false;
  hatch_sampler_params sp = {.temperature = 0, .top_k = 0, .top_p = 1, .seed = 1};
  for (int i = 1; i < argc; i++) {
    bool has = i + 1 < argc;
    if (!strcmp(argv[i], "--model") && has) model_path = argv[++i];
    else if (!strcmp(argv[i], "--mmproj") && has) mmproj = argv[++i];
    else if ((!strcmp(argv[i], "--image") || !strcmp(argv[i], "--camera")) && has && n_files + n_cams == MAX_IMAGES)
      return fprintf(stderr, "hatch query: at most %d images or cameras per question\n", MAX_IMAGES), 2;
    else if (!strcmp(argv[i], "--image") && has) files[n_files++] = argv[++i];
    else if (!strcmp(argv[i], "--camera") && has) cams[n_cams++] = argv[++i];
    else if (!strcmp(argv[i], "--question") && has) question = argv[++i];
    else if (!strcmp(argv[i], "--raw")) raw = true;
    else if (!strcmp(argv[i], "--no-hash")) hash = false;
    else if (!strcmp(argv[i], "--max-tokens") && has) max_tokens = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--temperature") && has) sp.temperature = (float)atof(argv[++i]);
    else if (!strcmp(argv[i], "--top-k") && has) sp.top_k = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--top-p") && has) sp.top_p = (float)atof(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && has) sp.seed = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--options") && has) n_options = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--backend") && has) backend = argv[++i];
    else if (!strcmp(argv[i], "--id") && has) id = argv[++i];
    else if (!strcmp(argv[i], "--stop") && has && n_stops == HATCH_STOP_MAX)
      return fprintf(stderr, "hatch query: at most %d --stop strings\n", HATCH_STOP_MAX), 2;
    else if (!strcmp(argv[i], "--stop") && has && !argv[i + 1][0])
      return fprintf(stderr, "hatch query: --stop needs a non-empty string\n"), 2;
    else if (!strcmp(argv[i], "--stop") && has) stops[n_stops++] = argv[++i];
    else if (!strcmp(argv[i], "--kv-f32")) kv_f32 = true;
    else if (!strcmp(argv[i], "--rank-options")) rank = true;
    else if (!strcmp(argv[i], "--camera-wait") && has) camera_wait_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(), 0;
    else return fprintf(stderr, "hatch query: unknown or incomplete option '%s'\n", argv[i]), usage(), 2;
  }
  int n_images = n_files + n_cams;
  if (!model_path || !question || n_images < 1 || (n_files && n_cams) || max_tokens < 1 || n_options < 0 || n_options > 26 ||
      camera_wait_ms < 1)
    return fprintf(stderr, "hatch query: need --model, --question and 1..%d images from --image or --camera (not both)\n",
                   MAX_IMAGES), usage(), 2;
  if (n_images < 2) /* the grammar's steps go from one view to another: one image admits no plan */
    return fprintf(stderr, "hatch query: a plan moves between views: give at least 2 images or cameras\n"), 2;
  hatch_choice_options choices = {0};
  if (rank) {
    hatch_status cst = hatch_choice_parse(question, &choices);
    if (cst != HATCH_OK)
      return fprintf(stderr, "hatch query: --rank-options needs the options inline in the question (\"... A. Red chair B. "
                             "Blue box\"): %s\n", cst == HATCH_ERR_NOT_FOUND ? "fewer than two found" :
                             cst == HATCH_ERR_CORRUPT ? "an option is empty" : "an option is too long"), 2;
    if (n_options && n_options != choices.n)
      return fprintf(stderr, "hatch query: --options %d but the question lists %d\n", n_options, choices.n), 2;
    n_options = choices.n;
  }
  double t_total = hatch_bench_now_ns();
  hatch_plan_timing timing = {0};
  int rc = 1;
  hatch_backend *be = NULL, *cpu = NULL;
  hatch_model *m = NULL;
  hatch_tokenizer *tok = NULL;
  hatch_sampler *sampler = NULL;
  hatch_stop_list *stop = NULL;
  char *acc = NULL; /* generated bytes so far (stop strings are matched here) */
  size_t acc_len = 0, acc_cap = 0;
  image imgs[MAX_IMAGES] = {{0}};
  hatch_tensor *emb[MAX_IMAGES] = {0};
  int32_t *ids = NULL, *pos = NULL, *gen = NULL;
  float *logits = NULL;
  bool *allowed = NULL;
  char *text = NULL, *json = NULL, why[512] = "";
  hatch_status st;
  if (!strcmp(backend, "cpu")) st = hatch_backend_create_cpu(NULL, &be);
  else if (!strcmp(backend, "vulkan")) st = hatch_backend_create_vulkan_or_cpu(&be, why, sizeof why);
  else st = hatch_backend_create_default(&be, why, sizeof why);
  if (why[0]) fprintf(stderr, "hatch query: %s\n", why);
  if (st == HATCH_OK) st = hatch_backend_create_cpu(NULL, &cpu);
  if (st != HATCH_OK) goto done;
  hatch_model_report mr = {""};
  hatch_model_options mopt = {.kv_f32 = kv_f32};
  if ((st = hatch_model_load(be, model_path, mmproj, &mopt, &m, &mr)) != HATCH_OK) {
    fprintf(stderr, "hatch query: %s\n", mr.message);
    goto done;
  }
  hatch_gguf *g = NULL;
  hatch_gguf_report gr;
  hatch_tokenizer_error te = {""};
  if ((st = hatch_gguf_open(model_path, &g, &gr)) == HATCH_OK) st = hatch_tokenizer_from_gguf(g, &tok, &te);
  hatch_gguf_close(g);
  if (st != HATCH_OK) {
    fprintf(stderr, "hatch query: %s: tokenizer: %s\n", model_path, te.message);
    goto done;
  }
  /* Images: decode (files) or capture one frame set (cameras), then resize to the model's size. */
  double t0 = hatch_bench_now_ns();
  for (int k = 0; k < n_files && st == HATCH_OK; k++) {
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if ((st = decode_file(files[k], &rgb, &w, &h, why, sizeof why)) == HATCH_OK) {
      imgs[k].rgb = rgb, imgs[k].w = w, imgs[k].h = h;
      snprintf(imgs[k].camera, sizeof imgs[k].camera, "%.63s", strrchr(files[k], '/') ? strrchr(files[k], '/') + 1 : files[k]);
    } else {
      fprintf(stderr, "hatch query: %s\n", why);
      free(rgb);
    }
  }
  if (n_cams && st == HATCH_OK) {
    hatch_rig *rig = NULL;
    hatch_error err = {""};
    hatch_frame_set *set = NULL;
    st = hatch_rig_open(cams, n_cams, NULL, &rig, &err);
    /* The first sets may come before a slow camera's first frame (sync does not wait for a camera that
     * has said nothing yet): take sets until one holds every camera, for up to --camera-wait ms. */
    double t_wait = hatch_bench_now_ns();
    while (st == HATCH_OK) {
      if ((st = hatch_rig_next_set(rig, camera_wait_ms, &set)) != HATCH_OK) break;
      bool full = true;
      for (int k = 0; k < n_cams; k++) full = full && set->frames[k];
      if (full || ms_since(t_wait) > camera_wait_ms) break;
      hatch_frame_set_release(set);
      set = NULL;
    }
    for (int k = 0; st == HATCH_OK && k < n_cams; k++) {
      const hatch_frame *f = set->frames[k];
      hatch_camera_stats cs;
      hatch_rig_camera_stats(rig, k, &cs);
      if (!f) {
        fprintf(stderr, "hatch query: camera %s has no frame in the set (%s)\n", cams[k], cs.last_error);
        st = HATCH_ERR_NOT_FOUND;
        break;
      }
      imgs[k].w = f->width, imgs[k].h = f->height;
      if (!(imgs[k].rgb = malloc((size_t)f->width * f->height * 3))) st = HATCH_ERR_OUT_OF_MEMORY;
      else memcpy(imgs[k].rgb, f->rgb, (size_t)f->width * f->height * 3);
      snprintf(imgs[k].camera, sizeof imgs[k].camera, "%s", cs.name);
      imgs[k].view = (hatch_plan_view){NULL, k, f->ts_ns, f->seq};
    }
    if (st != HATCH_OK && err.message[0]) fprintf(stderr, "hatch query: %s\n", err.message);
    hatch_frame_set_release(set);
    hatch_rig_close(rig);
    timing.capture = ms_since(t0);
    t0 = hatch_bench_now_ns();
  }
  int grid_h[MAX_IMAGES], grid_w[MAX_IMAGES];
  int32_t pads[MAX_IMAGES];
  for (int k = 0; k < n_images && st == HATCH_OK; k++) {
    int ow, oh;
    if ((st = hatch_model_image_size(m, imgs[k].w, imgs[k].h, &ow, &oh)) != HATCH_OK) break;
    uint8_t *r = malloc((size_t)ow * oh * 3);
    if (!r) st = HATCH_ERR_OUT_OF_MEMORY;
    else st = hatch_image_resize_rgb8(cpu, imgs[k].rgb, imgs[k].w, imgs[k].h, r, ow, oh);
    free(imgs[k].rgb);
    imgs[k].rgb = r, imgs[k].w = ow, imgs[k].h = oh;
    grid_h[k] = oh / 28, grid_w[k] = ow / 28, pads[k] = grid_h[k] * grid_w[k];
    imgs[k].view.camera = imgs[k].camera;
    imgs[k].view.index = k;
  }
  timing.preprocess = ms_since(t0);
  t0 = hatch_bench_now_ns();
  for (int k = 0; k < n_images && st == HATCH_OK; k++) st = hatch_model_encode_image(m, imgs[k].rgb, imgs[k].w, imgs[k].h, &emb[k]);
  timing.vision = ms_since(t0);
  if (st != HATCH_OK) goto done;
  /* Prompt, prefill, constrained decode. */
  hatch_chat_prompt cp = {.image_tokens = pads, .n_images = n_images, .question = question};
  size_t n_ids = 0;
  if ((st = hatch_tokenizer_encode_chat(tok, &cp, &ids, &n_ids)) != HATCH_OK) goto done;
  int32_t vocab = (int32_t)hatch_model_config(m)->text.vocab_size, next = 0;
  pos = malloc(sizeof(int32_t) * 3 * n_ids);
  logits = malloc(sizeof(float) * (size_t)vocab);
  allowed = malloc(sizeof(bool) * (size_t)vocab);
  gen = malloc(sizeof(int32_t) * (size_t)max_tokens);
  if (!pos || !logits || !allowed || !gen) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto done;
  }
  if ((st = hatch_model_rope_positions(m, ids, (int)n_ids, grid_h, grid_w, n_images, pos, &next)) != HATCH_OK) goto done;
  const int32_t first_pos = next;
  t0 = hatch_bench_now_ns();
  hatch_model_reset(m);
  if ((st = hatch_model_forward(m, ids, (int)n_ids, pos, emb, n_images, logits, 1)) != HATCH_OK) goto done;
  timing.prefill = ms_since(t0);
  t0 = hatch_bench_now_ns();
  if ((st = hatch_sampler_create(&sp, vocab, &sampler)) != HATCH_OK) goto done;
  hatch_plan_limits lim = {.n_views = n_images, .n_options = n_options};
  hatch_plan_matcher pm;
  hatch_plan_matcher_init(&pm, &lim);
  /* Stops: EOS and <|im_end|> (allowed once the plan is complete), and --stop strings. */
  if ((st = hatch_stop_list_create(&stop)) != HATCH_OK || (st = hatch_stop_list_add_defaults(stop, tok)) != HATCH_OK)
    goto done;
  for (int k = 0; k < n_stops && st == HATCH_OK; k++) st = hatch_stop_list_add_string(stop, stops[k], strlen(stops[k]));
  if (st != HATCH_OK) goto done;
  int n_gen = 0;
  bool ended = false;
  size_t keep = 0;
  while (n_gen < max_tokens && st == HATCH_OK) {
    hatch_plan_token_mask(tok, &pm, stop, vocab, allowed);
    int32_t t;
    if ((st = hatch_sampler_sample(sampler, logits, allowed, &t)) != HATCH_OK) break;
    const char *bytes = "";
    size_t len = 0;
    if (!hatch_stop_list_has_token(stop, t)) hatch_tokenizer_token_bytes(tok, t, &bytes, &len);
    if (acc_len + len > acc_cap) {
      size_t cap = 2 * (acc_len + len) + 64;
      char *grown = realloc(acc, cap);
      if (!grown) {
        st = HATCH_ERR_OUT_OF_MEMORY;
        break;
      }
      acc = grown, acc_cap = cap;
    }
    memcpy(acc + acc_len, bytes, len);
    acc_len += len;
    if (hatch_stop_list_check(stop, t, acc, acc_len, len, &keep)) {
      ended = true;
      if (!hatch_stop_list_has_token(stop, t)) gen[n_gen++] = t; /* cut below, at `keep` bytes */
      break;
    }
    hatch_plan_matcher_feed(&pm, bytes, len);
    gen[n_gen++] = t;
    int32_t p3[3] = {next, next, next};
    next++;
    st = hatch_model_forward(m, &t, 1, p3, NULL, 0, logits, 1);
  }
  timing.decode = ms_since(t0);
  if (st != HATCH_OK) goto done;
  size_t text_len = 0;
  if ((st = hatch_tokenizer_decode(tok, gen, (size_t)n_gen, true, &text, &text_len)) != HATCH_OK) goto done;
  if (ended && keep < text_len) text[text_len = keep] = 0; /* a stop string and what follows it go */
  if (rank) {
    t0 = hatch_bench_now_ns();
    if ((st = rank_answer(m, tok, ids, (int)n_ids, first_pos, gen, n_gen, &choices, &text, &text_len)) != HATCH_OK) {
      fprintf(stderr, "hatch query: scoring the options: %s\n", hatch_status_message(st));
      goto done;
    }
    timing.decode += ms_since(t0);
    ended = true;
  }
  if (raw) {
    printf("%s\n", text);
    rc = 0;
    goto done;
  }
  hatch_plan plan;
  hatch_plan_error pe;
  if (!ended && !hatch_plan_matcher_complete(&pm)) {
    fprintf(stderr, "hatch query: the plan did not finish within --max-tokens %d (generated: %s)\n", max_tokens, text);
    st = HATCH_ERR_TOO_LARGE;
    goto done;
  }
  if ((st = hatch_plan_parse(text, text_len, &lim, &plan, &pe)) != HATCH_OK) {
    fprintf(stderr, "hatch query: the plan does not parse: %s\n", pe.message);
    goto done;
  }
  char sha[65] = "";
  uint8_t digest[HATCH_SHA256_DIGEST];
  if (hash && hatch_sha256_file(model_path, digest) == HATCH_OK) hatch_sha256_hex(digest, sha);
  hatch_plan_view views[MAX_IMAGES];
  for (int k = 0; k < n_images; k++) views[k] = imgs[k].view;
  timing.total = ms_since(t_total);
  hatch_gguf *mg = NULL;
  hatch_gguf_str name = {"", 0};
  char name_s[128] = "";
  if (hatch_gguf_open(model_path, &mg, &gr) == HATCH_OK && hatch_gguf_get_str(mg, "general.name", &name) == HATCH_OK)
    snprintf(name_s, sizeof name_s, "%.*s", (int)(name.len < 127 ? name.len : 127), name.data);
  hatch_gguf_close(mg);
  json = hatch_plan_to_json(&plan, id, question, views, n_images, &timing, name_s, sha);
  if (!json) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto done;
  }
  printf("%s\n", json);
  rc = 0;
done:
  if (rc != 0 && st != HATCH_OK) fprintf(stderr, "hatch query: %s (%s)\n", hatch_status_message(st), hatch_status_name(st));
  for (int k = 0; k < MAX_IMAGES; k++) free(imgs[k].rgb), hatch_tensor_destroy(emb[k]);
  free(ids), free(pos), free(gen), free(logits), free(allowed), free(text), free(json);
  hatch_sampler_destroy(sampler);
  hatch_stop_list_destroy(stop);
  free(acc);
  hatch_tokenizer_destroy(tok);
  hatch_model_destroy(m);
  hatch_backend_destroy(cpu);
  hatch_backend_destroy(be);
  return rc;
}
