/* UTF-8 decoding with raw-byte passthrough, pre-tokenizer classes and NFC (canonical decomposition,
 * canonical ordering, canonical composition; Hangul done algorithmically), over generated tables. */
#include <stdlib.h>
#include <string.h>

#include "text/text_internal.h"

/* ---- UTF-8 ------------------------------------------------------------------------------------- */

uint32_t hatch_utf8_next(const uint8_t *s, size_t n, size_t *len) {
  uint8_t b0 = s[0];
  *len = 1;
  if (b0 < 0x80) return b0;
  int need;
  uint32_t cp;
  uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte (Unicode table 3-7) */
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F; /* no surrogates */
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return HATCH_UC_RAW_BYTE + b0;
  }
  if (n < (size_t)need + 1) return HATCH_UC_RAW_BYTE + b0;
  for (int i = 1; i <= need; i++) {
    uint8_t b = s[i];
    uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return HATCH_UC_RAW_BYTE + b0;
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = (size_t)need + 1;
  return cp;
}

int hatch_utf8_put(uint32_t cp, uint8_t *out) {
  if (cp >= HATCH_UC_RAW_BYTE) {
    out[0] = (uint8_t)(cp - HATCH_UC_RAW_BYTE);
    return 1;
  }
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* ---- tables -------------------------------------------------------------------------------------- */

static uint32_t range_lookup(const hatch_uc_range *r, int n, uint32_t cp) {
  int lo = 0, hi = n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (cp < r[mid].first)
      hi = mid - 1;
    else if (cp > r[mid].last)
      lo = mid + 1;
    else
      return r[mid].value;
  }
  return 0;
}

unsigned hatch_uc_class(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return HATCH_UC_LETTER;
    if (cp >= '0' && cp <= '9') return HATCH_UC_NUMBER;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return HATCH_UC_SPACE;
    return 0;
  }
  if (cp >= HATCH_UC_RAW_BYTE) return 0;
  return range_lookup(hatch_uc_class_ranges, hatch_uc_n_class_ranges, cp);
}

unsigned hatch_uc_ccc(uint32_t cp) {
  if (cp < 0x300 || cp >= HATCH_UC_RAW_BYTE) return 0;
  return range_lookup(hatch_uc_ccc_ranges, hatch_uc_n_ccc_ranges, cp);
}

static const hatch_uc_decomp *find_decomp(uint32_t cp) {
  int lo = 0, hi = hatch_uc_n_decomps - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (cp < hatch_uc_decomps[mid].cp)
      hi = mid - 1;
    else if (cp > hatch_uc_decomps[mid].cp)
      lo = mid + 1;
    else
      return &hatch_uc_decomps[mid];
  }
  return NULL;
}

enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7 };
enum { L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT };

/* The primary composite of (a, b), or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
    return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
  if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE && b < T_BASE + T_COUNT)
    return a + (b - T_BASE);
  int lo = 0, hi = hatch_uc_n_comps - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    const hatch_uc_comp *c = &hatch_uc_comps[mid];
    if (a < c->first || (a == c->first && b < c->second))
      hi = mid - 1;
    else if (a > c->first || b > c->second)
      lo = mid + 1;
    else
      return c->composite;
  }
  return 0;
}

/* ---- buffers ----------------------------------------------------------------------------------- */

hatch_status hatch_cps_reserve(hatch_cps *b, size_t n) {
  if (n <= b->cap) return HATCH_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < n) {
    if (cap > SIZE_MAX / 2 / sizeof(uint32_t)) return HATCH_ERR_OUT_OF_MEMORY;
    cap *= 2;
  }
  uint32_t *v = realloc(b->v, cap * sizeof(uint32_t));
  if (!v) return HATCH_ERR_OUT_OF_MEMORY;
  b->v = v;
  b->cap = cap;
  return HATCH_OK;
}

void hatch_cps_free(hatch_cps *b) {
  free(b->v);
  b->v = NULL;
  b->n = b->cap = 0;
}

hatch_status hatch_utf8_decode(const uint8_t *s, size_t n, hatch_cps *out) {
  hatch_status st = hatch_cps_reserve(out, out->n + n); /* at most one unit per byte */
  if (st != HATCH_OK) return st;
  size_t i = 0;
  while (i < n) {
    size_t len;
    out->v[out->n++] = hatch_utf8_next(s + i, n - i, &len);
    i += len;
  }
  return HATCH_OK;
}

bool hatch_uc_nfc_quick(const uint8_t *s, size_t n) {
  /* Every code point below U+0300 is NFC and composes with nothing before it; only lead bytes
   * 0xCC and up start one at U+0300 or later. */
  for (size_t i = 0; i < n; i++)
    if (s[i] >= 0xCC) return false;
  return true;
}

/* ---- NFC --------------------------------------------------------------------------------------- */

/* Stable sort of v[0..n) by combining class (a run of non-starters). */
static hatch_status sort_by_ccc(uint32_t *v, size_t n) {
  if (n <= 32) {
    for (size_t i = 1; i < n; i++) {
      uint32_t x = v[i];
      unsigned cx = hatch_uc_ccc(x);
      size_t j = i;
      while (j > 0 && hatch_uc_ccc(v[j - 1]) > cx) {
        v[j] = v[j - 1];
        j--;
      }
      v[j] = x;
    }
    return HATCH_OK;
  }
  /* Long runs (hostile input): counting sort by class, stable, O(n + 256). */
  uint32_t *tmp = malloc(n * sizeof(uint32_t));
  if (!tmp) return HATCH_ERR_OUT_OF_MEMORY;
  size_t count[257] = {0};
  for (size_t i = 0; i < n; i++) count[hatch_uc_ccc(v[i]) + 1]++;
  for (int c = 1; c < 257; c++) count[c] += count[c - 1];
  for (size_t i = 0; i < n; i++) tmp[count[hatch_uc_ccc(v[i])]++] = v[i];
  memcpy(v, tmp, n * sizeof(uint32_t));
  free(tmp);
  return HATCH_OK;
}

hatch_status hatch_uc_nfc(hatch_cps *cps, hatch_cps *tmp) {
  /* 1. full canonical decomposition into tmp (at most 4 units per code point in Unicode 14;
   *    checked per unit anyway). */
  tmp->n = 0;
  hatch_status st;
  for (size_t i = 0; i < cps->n; i++) {
    uint32_t c = cps->v[i];
    if ((st = hatch_cps_reserve(tmp, tmp->n + 4)) != HATCH_OK) return st;
    if (c >= S_BASE && c < S_BASE + S_COUNT) {
      uint32_t s = c - S_BASE;
      tmp->v[tmp->n++] = L_BASE + s / N_COUNT;
      tmp->v[tmp->n++] = V_BASE + (s % N_COUNT) / T_COUNT;
      if (s % T_COUNT) tmp->v[tmp->n++] = T_BASE + s % T_COUNT;
      continue;
    }
    const hatch_uc_decomp *d = c >= 0xC0 && c < HATCH_UC_RAW_BYTE ? find_decomp(c) : NULL;
    if (!d) {
      tmp->v[tmp->n++] = c;
      continue;
    }
    if ((st = hatch_cps_reserve(tmp, tmp->n + d->len)) != HATCH_OK) return st;
    memcpy(tmp->v + tmp->n, hatch_uc_decomp_pool + d->offset, d->len * sizeof(uint32_t));
    tmp->n += d->len;
  }
  /* 2. canonical ordering of each run of non-starters. */
  for (size_t i = 0; i < tmp->n;) {
    if (hatch_uc_ccc(tmp->v[i]) == 0) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < tmp->n && hatch_uc_ccc(tmp->v[j]) != 0) j++;
    if ((st = sort_by_ccc(tmp->v + i, j - i)) != HATCH_OK) return st;
    i = j;
  }
  /* 3. canonical composition back into cps. */
  if ((st = hatch_cps_reserve(cps, tmp->n)) != HATCH_OK) return st;
  size_t n = 0;
  ptrdiff_t starter = -1;
  unsigned last_cc = 0;
  for (size_t i = 0; i < tmp->n; i++) {
    uint32_t c = tmp->v[i];
    unsigned cc = hatch_uc_ccc(c);
    if (starter >= 0) {
      bool adjacent = (size_t)starter == n - 1;
      if (adjacent || last_cc < cc) {
        uint32_t comp = compose_pair(cps->v[starter], c);
        if (comp) {
          cps->v[starter] = comp;
          continue;
        }
      }
    }
    if (cc == 0) starter = (ptrdiff_t)n;
    cps->v[n++] = c;
    last_cc = cc;
  }
  cps->n = n;
  return HATCH_OK;
}
