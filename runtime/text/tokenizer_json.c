/* Loading a Hugging Face tokenizer.json of the Qwen2 kind with cJSON. Every field is checked for
 * type and value; anything this tokenizer does not implement is refused, naming the field, rather
 * than tokenizing differently from the file. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

#define MAX_JSON_BYTES ((size_t)512 << 20)

typedef struct ctx {
  hatch_tokenizer_error *err;
  hatch_status st;
} ctx;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool fail(ctx *c, hatch_status st, const char *fmt, ...) {
  if (c->err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
    va_end(ap);
  }
  c->st = st;
  return false;
}

/* Type checks: absent (NULL) is allowed by the *_opt forms. */
static bool is_null(const cJSON *j) { return !j || cJSON_IsNull(j); }

static bool get_bool_opt(ctx *c, const cJSON *obj, const char *key, const char *where, bool dflt, bool *out) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
  *out = dflt;
  if (is_null(j)) return true;
  if (!cJSON_IsBool(j)) return fail(c, HATCH_ERR_CORRUPT, "%s.%s: expected true or false", where, key);
  *out = cJSON_IsTrue(j);
  return true;
}

/* An integer id in [0, HATCH_TOKENIZER_MAX_VOCAB). */
static bool as_id(ctx *c, const cJSON *j, const char *where, int32_t *out) {
  if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < 0)
    return fail(c, HATCH_ERR_CORRUPT, "%s: expected a non-negative integer id", where);
  if (j->valuedouble >= HATCH_TOKENIZER_MAX_VOCAB)
    return fail(c, HATCH_ERR_TOO_LARGE, "%s: id past the vocab size limit", where);
  *out = (int32_t)j->valuedouble;
  return true;
}

static bool type_is(const cJSON *obj, const char *type) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
  return cJSON_IsString(t) && strcmp(t->valuestring, type) == 0;
}

static const char *type_of(const cJSON *obj) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
  return cJSON_IsString(t) ? t->valuestring : "(none)";
}

static bool check_normalizer(ctx *c, const cJSON *root, bool *nfc) {
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
  *nfc = false;
  if (is_null(n)) return true;
  if (!cJSON_IsObject(n)) return fail(c, HATCH_ERR_CORRUPT, "normalizer: expected an object or null");
  if (!type_is(n, "NFC"))
    return fail(c, HATCH_ERR_UNSUPPORTED, "normalizer.type: '%.40s' not supported (NFC or null)", type_of(n));
  *nfc = true;
  return true;
}

static bool check_pre_tokenizer(ctx *c, const cJSON *root) {
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
  const char *want = "pre_tokenizer: expected Sequence[Split(Qwen2 regex, Isolated), ByteLevel]";
  if (!cJSON_IsObject(p)) return fail(c, HATCH_ERR_CORRUPT, "pre_tokenizer: missing or not an object");
  const cJSON *seq = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
  if (!type_is(p, "Sequence") || !cJSON_IsArray(seq) || cJSON_GetArraySize(seq) != 2)
    return fail(c, HATCH_ERR_UNSUPPORTED, "%s", want);
  const cJSON *split = cJSON_GetArrayItem(seq, 0), *bl = cJSON_GetArrayItem(seq, 1);
  if (!cJSON_IsObject(split) || !type_is(split, "Split"))
    return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0].type: '%.40s', expected Split",
                cJSON_IsObject(split) ? type_of(split) : "(not an object)");
  const cJSON *pat = cJSON_GetObjectItemCaseSensitive(split, "pattern");
  const cJSON *re = cJSON_IsObject(pat) ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
  if (!cJSON_IsString(re) || strcmp(re->valuestring, QWEN2_REGEX) != 0)
    return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0].pattern: not the Qwen2 regex");
  const cJSON *beh = cJSON_GetObjectItemCaseSensitive(split, "behavior");
  if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") != 0)
    return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0].behavior: expected Isolated");
  bool invert, prefix, use_regex;
  if (!get_bool_opt(c, split, "invert", "pre_tokenizer.pretokenizers[0]", false, &invert)) return false;
  if (invert) return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[0].invert: true not supported");
  if (!cJSON_IsObject(bl) || !type_is(bl, "ByteLevel"))
    return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[1].type: '%.40s', expected ByteLevel",
                cJSON_IsObject(bl) ? type_of(bl) : "(not an object)");
  if (!get_bool_opt(c, bl, "add_prefix_space", "pre_tokenizer.pretokenizers[1]", true, &prefix) ||
      !get_bool_opt(c, bl, "use_regex", "pre_tokenizer.pretokenizers[1]", true, &use_regex))
    return false;
  if (prefix || use_regex)
    return fail(c, HATCH_ERR_UNSUPPORTED, "pre_tokenizer.pretokenizers[1].%s: must be false",
                prefix ? "add_prefix_space" : "use_regex");
  return true;
}

static bool check_model_options(ctx *c, const cJSON *model, bool *ignore_merges) {
  if (!type_is(model, "BPE"))
    return fail(c, HATCH_ERR_UNSUPPORTED, "model.type: '%.40s' not supported (BPE)", type_of(model));
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(model, "dropout");
  if (!is_null(d)) return fail(c, HATCH_ERR_UNSUPPORTED, "model.dropout: must be null");
  const char *affixes[2] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (int i = 0; i < 2; i++) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
    if (!is_null(a) && !(cJSON_IsString(a) && a->valuestring[0] == '\0'))
      return fail(c, HATCH_ERR_UNSUPPORTED, "model.%s: must be null or empty", affixes[i]);
  }
  const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
  if (!is_null(unk) && !cJSON_IsString(unk))
    return fail(c, HATCH_ERR_CORRUPT, "model.unk_token: expected a string or null");
  bool byte_fallback;
  if (!get_bool_opt(c, model, "byte_fallback", "model", false, &byte_fallback) ||
      !get_bool_opt(c, model, "ignore_merges", "model", false, ignore_merges))
    return false;
  if (byte_fallback) return fail(c, HATCH_ERR_UNSUPPORTED, "model.byte_fallback: true not supported");
  return true;
}

/* First pass: types, ids and the vocab size. */
static bool scan_ids(ctx *c, const cJSON *vocab, const cJSON *added, int32_t *n_vocab) {
  int32_t max_id = -1;
  char where[96];
  for (const cJSON *v = vocab->child; v; v = v->next) {
    int32_t id;
    snprintf(where, sizeof(where), "model.vocab['%.40s']", v->string ? v->string : "");
    if (!as_id(c, v, where, &id)) return false;
    if (id > max_id) max_id = id;
  }
  int i = 0;
  for (const cJSON *a = added ? added->child : NULL; a; a = a->next, i++) {
    snprintf(where, sizeof(where), "added_tokens[%d].id", i);
    if (!cJSON_IsObject(a)) return fail(c, HATCH_ERR_CORRUPT, "%s: expected an object", where);
    int32_t id;
    if (!as_id(c, cJSON_GetObjectItemCaseSensitive(a, "id"), where, &id)) return false;
    if (id > max_id) max_id = id;
  }
  if (max_id < 0) return fail(c, HATCH_ERR_CORRUPT, "model.vocab: empty");
  *n_vocab = max_id + 1;
  return true;
}

static bool load_added(ctx *c, hatch_tokenizer *t, const cJSON *added) {
  char where[64];
  int i = 0;
  for (const cJSON *a = added ? added->child : NULL; a; a = a->next, i++) {
    snprintf(where, sizeof(where), "added_tokens[%d]", i);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
    if (!cJSON_IsString(content)) return fail(c, HATCH_ERR_CORRUPT, "%s.content: expected a string", where);
    bool special, normalized, flag;
    if (!get_bool_opt(c, a, "special", where, false, &special) ||
        !get_bool_opt(c, a, "normalized", where, !special, &normalized))
      return false;
    const char *flags[3] = {"single_word", "lstrip", "rstrip"};
    for (int k = 0; k < 3; k++) {
      if (!get_bool_opt(c, a, flags[k], where, false, &flag)) return false;
      if (flag) return fail(c, HATCH_ERR_UNSUPPORTED, "%s.%s: true not supported", where, flags[k]);
    }
    int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(a, "id")->valuedouble; /* checked in scan_ids */
    const char *s = content->valuestring;
    size_t len = strlen(s);
    if (normalized) {
      char *nfc = NULL;
      size_t nlen = 0;
      hatch_status st = hatch_text_nfc(s, len, &nfc, &nlen);
      bool same = st == HATCH_OK && nlen == len && memcmp(nfc, s, len) == 0;
      free(nfc);
      if (st != HATCH_OK) return c->st = st, false;
      if (!same) return fail(c, HATCH_ERR_UNSUPPORTED, "%s.content: a normalized token must be NFC", where);
    }
    int type = special ? HATCH_TOKEN_CONTROL : HATCH_TOKEN_USER_DEFINED;
    hatch_token *tk = &t->tokens[id];
    if (tk->text && tk->in_vocab && !tk->added) { /* the same token in model.vocab: mark it added */
      if (tk->text_len != len || memcmp(tk->text, s, len) != 0)
        return fail(c, HATCH_ERR_CORRUPT, "%s.id: that id is a different token in model.vocab", where);
      tk->type = (uint8_t)type;
      tk->added = 1;
      tk->normalized = normalized;
      continue;
    }
    hatch_status st = hatch_tok_set(t, id, s, len, type, true, normalized, c->err, where);
    if (st != HATCH_OK) return c->st = st, false;
  }
  /* Two added tokens with one content (one of them could never match). */
  hatch_map64 seen;
  hatch_status st = hatch_map64_init(&seen, (size_t)i);
  if (st != HATCH_OK) return c->st = st, false;
  bool ok = true;
  for (int32_t id = 0; ok && id < t->n_vocab; id++) {
    const hatch_token *tk = &t->tokens[id];
    if (!tk->added) continue;
    uint64_t key = hatch_hash_bytes(tk->text, tk->text_len), other;
    if (hatch_map64_get(&seen, key, &other) && t->tokens[other].text_len == tk->text_len &&
        memcmp(t->tokens[other].text, tk->text, tk->text_len) == 0)
      ok = fail(c, HATCH_ERR_CORRUPT, "added_tokens: '%.64s' appears twice", tk->text);
    else if ((st = hatch_map64_put(&seen, key, (uint64_t)id)) != HATCH_OK)
      ok = false, c->st = st;
  }
  hatch_map64_free(&seen);
  return ok;
}

static bool load_merges(ctx *c, hatch_tokenizer *t, const cJSON *merges) {
  char where[64];
  uint32_t rank = 0;
  for (const cJSON *m = merges->child; m; m = m->next, rank++) {
    snprintf(where, sizeof(where), "model.merges[%u]", rank);
    const char *l, *r;
    size_t ll, rl;
    if (cJSON_IsString(m)) { /* "left right" */
      const char *s = m->valuestring, *sp = strchr(s, ' ');
      if (!sp || sp == s || sp[1] == '\0' || strchr(sp + 1, ' '))
        return fail(c, HATCH_ERR_CORRUPT, "%s: expected \"left right\"", where);
      l = s, ll = (size_t)(sp - s), r = sp + 1, rl = strlen(sp + 1);
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
               cJSON_IsString(m->child->next)) { /* ["left", "right"] */
      l = m->child->valuestring, ll = strlen(l), r = m->child->next->valuestring, rl = strlen(r);
    } else {
      return fail(c, HATCH_ERR_CORRUPT, "%s: expected \"left right\" or [left, right]", where);
    }
    hatch_status st = hatch_tok_add_merge(t, rank, l, ll, r, rl, c->err, where);
    if (st != HATCH_OK) return c->st = st, false;
  }
  return true;
}

hatch_status hatch_tokenizer_from_json(const char *json, size_t len, hatch_tokenizer **out,
                                       hatch_tokenizer_error *err) {
  if (err) err->message[0] = '\0';
  if (!out) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (!json) return HATCH_ERR_INVALID_ARGUMENT;
  ctx c = {err, HATCH_ERR_CORRUPT};
  hatch_tokenizer *t = NULL;
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root || !cJSON_IsObject(root)) {
    hatch_tok_errorf(err, "tokenizer.json: not a JSON object (syntax error near byte %ld)",
                     root ? 0L : (long)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : -1));
    goto done;
  }
  bool nfc, ignore_merges;
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
  const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
  const cJSON *decoder = cJSON_GetObjectItemCaseSensitive(root, "decoder");
  if (!check_normalizer(&c, root, &nfc) || !check_pre_tokenizer(&c, root)) goto done;
  if (!cJSON_IsObject(decoder) || !type_is(decoder, "ByteLevel")) {
    fail(&c, HATCH_ERR_UNSUPPORTED, "decoder.type: '%.40s', expected ByteLevel",
         cJSON_IsObject(decoder) ? type_of(decoder) : "(missing)");
    goto done;
  }
  if (!cJSON_IsObject(model)) {
    fail(&c, HATCH_ERR_CORRUPT, "model: missing or not an object");
    goto done;
  }
  if (!check_model_options(&c, model, &ignore_merges)) goto done;
  const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
  const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
  if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
    fail(&c, HATCH_ERR_CORRUPT, "model.%s: missing or of the wrong type", cJSON_IsObject(vocab) ? "merges" : "vocab");
    goto done;
  }
  if (!is_null(added) && !cJSON_IsArray(added)) {
    fail(&c, HATCH_ERR_CORRUPT, "added_tokens: expected an array");
    goto done;
  }
  if (is_null(added)) added = NULL;
  if (cJSON_GetArraySize(merges) > HATCH_TOKENIZER_MAX_MERGES) {
    fail(&c, HATCH_ERR_TOO_LARGE, "model.merges: more than the limit of merges");
    goto done;
  }
  int32_t n_vocab = 0;
  if (!scan_ids(&c, vocab, added, &n_vocab)) goto done;
  if ((c.st = hatch_tok_alloc(n_vocab, &t)) != HATCH_OK) goto done;
  c.st = HATCH_ERR_CORRUPT;
  char where[96];
  for (const cJSON *v = vocab->child; v; v = v->next) {
    snprintf(where, sizeof(where), "model.vocab['%.40s']", v->string ? v->string : "");
    hatch_status st = hatch_tok_set(t, (int32_t)v->valuedouble, v->string ? v->string : "",
                                    v->string ? strlen(v->string) : 0, HATCH_TOKEN_NORMAL, false, false, err, where);
    if (st != HATCH_OK) {
      c.st = st;
      goto done;
    }
  }
  if ((c.st = hatch_tok_index(t, err, "model.vocab")) != HATCH_OK) goto done;
  c.st = HATCH_ERR_CORRUPT;
  if (!load_merges(&c, t, merges) || !load_added(&c, t, added)) goto done;
  t->nfc = nfc;
  t->ignore_merges = ignore_merges;
  if ((c.st = hatch_tok_finish(t, err)) != HATCH_OK) goto done;
  int32_t im_end = hatch_tokenizer_find(t, "<|im_end|>", 10), eot = hatch_tokenizer_find(t, "<|endoftext|>", 13);
  t->eos_id = im_end >= 0 ? im_end : eot;
  t->pad_id = eot;
  *out = t;
  t = NULL;
  c.st = HATCH_OK;
done:
  hatch_tokenizer_destroy(t);
  cJSON_Delete(root);
  return c.st;
}

hatch_status hatch_tokenizer_load_json(const char *path, hatch_tokenizer **out, hatch_tokenizer_error *err) {
  if (err) err->message[0] = '\0';
  if (!out || !path) return HATCH_ERR_INVALID_ARGUMENT;
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    hatch_tok_errorf(err, "%.200s: cannot open", path);
    return HATCH_ERR_NOT_FOUND;
  }
  hatch_status st = HATCH_ERR_IO;
  char *buf = NULL;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    hatch_tok_errorf(err, "%.200s: cannot read", path);
    goto close_file;
  }
  if ((size_t)size > MAX_JSON_BYTES) {
    hatch_tok_errorf(err, "%.200s: %ld bytes is past the 512 MiB limit", path, size);
    st = HATCH_ERR_TOO_LARGE;
    goto close_file;
  }
  buf = malloc((size_t)size + 1);
  if (!buf) {
    st = HATCH_ERR_OUT_OF_MEMORY;
    goto close_file;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    hatch_tok_errorf(err, "%.200s: short read", path);
    goto free_buf;
  }
  buf[size] = '\0';
  st = hatch_tokenizer_from_json(buf, (size_t)size, out, err);
free_buf:
  free(buf);
close_file:
  fclose(f);
  return st;
}
