/* BPE training, part 3: the trained tokenizer as a Hugging Face tokenizer.json (the Qwen2 layout
 * the runtime loads), as a runtime tokenizer, and as GGUF tokenizer.ggml.* keys. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hatch/convert.h"
#include "tokenizer/bpe_internal.h"

static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

/* The byte-level string of token id (GPT-2 bytes_to_unicode), NUL-terminated into buf (>= 2 *
 * len + 1 bytes). */
static void byte_level(const hatch_bpe_trainer *t, int32_t id, char *buf) {
  const uint8_t *b = t->tok_bytes + t->tok_off[id];
  size_t n = 0;
  for (int32_t i = 0; i < t->tok_len[id]; i++) n += (size_t)hatch_utf8_put(hatch_byte_to_unicode(b[i]), (uint8_t *)buf + n);
  buf[n] = '\0';
}

static cJSON *byte_level_obj(bool use_regex, bool prefix) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "type", "ByteLevel");
  cJSON_AddBoolToObject(o, "add_prefix_space", prefix);
  cJSON_AddBoolToObject(o, "trim_offsets", true);
  cJSON_AddBoolToObject(o, "use_regex", use_regex);
  return o;
}

static cJSON *build(const hatch_bpe_trainer *t) {
  char *a = malloc(2 * (size_t)t->opt.max_token_bytes + 8), *b = malloc(2 * (size_t)t->opt.max_token_bytes + 8);
  cJSON *root = cJSON_CreateObject();
  if (!a || !b || !root) goto fail;
  cJSON_AddStringToObject(root, "version", "1.0");
  cJSON_AddNullToObject(root, "truncation");
  cJSON_AddNullToObject(root, "padding");
  cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
  for (int k = 0; added && k < t->n_specials; k++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(added, o);
    cJSON_AddNumberToObject(o, "id", t->n_tokens + k);
    cJSON_AddStringToObject(o, "content", t->specials[k]);
    cJSON_AddBoolToObject(o, "single_word", false);
    cJSON_AddBoolToObject(o, "lstrip", false);
    cJSON_AddBoolToObject(o, "rstrip", false);
    cJSON_AddBoolToObject(o, "normalized", false);
    cJSON_AddBoolToObject(o, "special", true);
  }
  cJSON *norm = cJSON_AddObjectToObject(root, "normalizer");
  cJSON_AddStringToObject(norm, "type", "NFC");
  cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
  cJSON_AddStringToObject(pre, "type", "Sequence");
  cJSON *seq = cJSON_AddArrayToObject(pre, "pretokenizers");
  cJSON *split = cJSON_CreateObject();
  cJSON_AddItemToArray(seq, split);
  cJSON_AddStringToObject(split, "type", "Split");
  cJSON *pat = cJSON_AddObjectToObject(split, "pattern");
  cJSON_AddStringToObject(pat, "Regex", QWEN2_REGEX);
  cJSON_AddStringToObject(split, "behavior", "Isolated");
  cJSON_AddBoolToObject(split, "invert", false);
  cJSON_AddItemToArray(seq, byte_level_obj(false, false));
  cJSON_AddItemToObject(root, "post_processor", byte_level_obj(true, false));
  cJSON_AddItemToObject(root, "decoder", byte_level_obj(true, false));
  cJSON *model = cJSON_AddObjectToObject(root, "model");
  cJSON_AddStringToObject(model, "type", "BPE");
  cJSON_AddNullToObject(model, "dropout");
  cJSON_AddNullToObject(model, "unk_token");
  cJSON_AddNullToObject(model, "continuing_subword_prefix");
  cJSON_AddNullToObject(model, "end_of_word_suffix");
  cJSON_AddBoolToObject(model, "fuse_unk", false);
  cJSON_AddBoolToObject(model, "byte_fallback", false);
  cJSON_AddBoolToObject(model, "ignore_merges", false);
  cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
  for (int32_t id = 0; vocab && id < t->n_tokens; id++) {
    byte_level(t, id, a);
    cJSON_AddNumberToObject(vocab, a, id);
  }
  cJSON *merges = cJSON_AddArrayToObject(model, "merges");
  for (int32_t r = 0; merges && r < t->n_merges; r++) {
    byte_level(t, t->merges[r][0], a);
    byte_level(t, t->merges[r][1], b);
    const char *pairv[2] = {a, b};
    cJSON_AddItemToArray(merges, cJSON_CreateStringArray(pairv, 2));
  }
  free(a);
  free(b);
  return root;
fail:
  free(a);
  free(b);
  cJSON_Delete(root);
  return NULL;
}

hatch_status hatch_bpe_trainer_to_json(const hatch_bpe_trainer *t, char **out, size_t *len) {
  if (!t || !out || !t->trained) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  cJSON *root = build(t);
  char *s = root ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!s) return HATCH_ERR_OUT_OF_MEMORY;
  /* cJSON's allocator is malloc: the string can be handed out as is. */
  *out = s;
  if (len) *len = strlen(s);
  return HATCH_OK;
}

hatch_status hatch_bpe_trainer_write_json(const hatch_bpe_trainer *t, const char *path, hatch_bpe_report *report) {
  if (report) report->message[0] = '\0';
  if (!path) return HATCH_ERR_INVALID_ARGUMENT;
  char *json = NULL;
  size_t len = 0;
  hatch_status st = hatch_bpe_trainer_to_json(t, &json, &len);
  if (st != HATCH_OK) return st;
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) {
    free(json);
    return HATCH_ERR_OUT_OF_MEMORY;
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  bool ok = f && fwrite(json, 1, len, f) == len && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
  if (f && fclose(f) != 0) ok = false;
  if (ok && rename(tmp, path) != 0) ok = false;
  if (!ok) {
    if (report) snprintf(report->message, sizeof report->message, "%.200s: cannot write (%s)", path, strerror(errno));
    if (f) unlink(tmp);
    st = HATCH_ERR_IO;
  }
  free(tmp);
  free(json);
  return st;
}

hatch_status hatch_bpe_trainer_tokenizer(const hatch_bpe_trainer *t, hatch_tokenizer **out, hatch_bpe_report *report) {
  if (report) report->message[0] = '\0';
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  char *json = NULL;
  size_t len = 0;
  hatch_status st = hatch_bpe_trainer_to_json(t, &json, &len);
  if (st != HATCH_OK) return st;
  hatch_tokenizer_error err = {""};
  st = hatch_tokenizer_from_json(json, len, out, &err);
  if (st != HATCH_OK && report) snprintf(report->message, sizeof report->message, "trained tokenizer: %s", err.message);
  free(json);
  return st;
}

hatch_status hatch_bpe_gguf_add_metadata(void *user, hatch_gguf_writer *w) {
  const hatch_bpe_gguf_meta *m = user;
  if (!m || !m->tok || !w || m->n_vocab < 0) return HATCH_ERR_INVALID_ARGUMENT;
  int64_t n = m->n_vocab ? m->n_vocab : hatch_tokenizer_n_vocab(m->tok);
  return hatch_gguf_add_tokenizer(w, m->tok, n);
}
