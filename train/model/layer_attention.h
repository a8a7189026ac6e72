/* Attention template (see layer_common.h): softmax(q k^T * scale) v per head with GQA (query head h
 * reads kv head h / (n_head / n_kv_head)). Keys a query sees: its window when `bounds` is given
 * (cu_seqlens: 0 = b0 < b1 < ... = n; the vision tower's windows, and one window per image for its
 * full-attention layers), else causal (keys 0..i) or all keys. The forward keeps the log-sum-exp
 * per (query, head); the backward recomputes probabilities from it (no (n, n) matrix is stored):
 * pass A over (query, head) gives dq, pass B over (key, kv head) gives dk and dv, so every gradient
 * element is summed by one thread in a fixed order. */
#include "model/layer_common.h"

typedef struct FN(attn_job) {
  REAL *o, *lse, *dq, *dk, *dv, *dsum;
  const REAL *q, *k, *v, *out, *dout, *lse_in, *dsum_in;
  const int32_t *bounds;
  int64_t n_bounds; /* windows + 1 */
  bool causal;
  REAL scale;
  int64_t n, n_head, n_kv_head, hd;
} FN(attn_job);

/* Window of token i: [*lo, *hi). */
static void FN(attn_window)(const FN(attn_job) *j, int64_t i, int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = j->n_bounds - 1; /* last w with bounds[w] <= i */
  while (b - a > 1) {
    int64_t mid = (a + b) / 2;
    if (j->bounds[mid] <= i) a = mid;
    else b = mid;
  }
  *lo = j->bounds[a];
  *hi = j->bounds[a + 1];
}

static void FN(attn_keys)(const FN(attn_job) *j, int64_t i, int64_t *lo, int64_t *hi) {
  if (j->bounds) FN(attn_window)(j, i, lo, hi);
  else *lo = 0, *hi = j->causal ? i + 1 : j->n;
}

static void FN(attn_queries)(const FN(attn_job) *j, int64_t key, int64_t *lo, int64_t *hi) {
  if (j->bounds) FN(attn_window)(j, key, lo, hi);
  else *lo = j->causal ? key : 0, *hi = j->n;
}

static inline REAL FN(attn_dot)(const REAL *a, const REAL *b, int64_t len) {
  REAL s[LAYER_LANES] = {0};
  int64_t i = 0;
  for (; i + LAYER_LANES <= len; i += LAYER_LANES)
    for (int l = 0; l < LAYER_LANES; l++) s[l] += a[i + l] * b[i + l];
  for (; i < len; i++) s[0] += a[i] * b[i];
  REAL sum = 0;
  for (int l = 0; l < LAYER_LANES; l++) sum += s[l];
  return sum;
}

/* Items: (query, head) rows r = i * n_head + h. */
static void FN(attn_fwd_rows)(void *ctx, int64_t begin, int64_t end) {
  const FN(attn_job) *j = ctx;
  int64_t hd = j->hd, group = j->n_head / j->n_kv_head;
  REAL *s = malloc(sizeof(REAL) * (size_t)j->n); /* (n) scores of one row */
  if (!s) return; /* the caller sized its workspace; see attention_forward */
  for (int64_t r = begin; r < end; r++) {
    int64_t i = r / j->n_head, h = r % j->n_head, hk = h / group, lo, hi;
    FN(attn_keys)(j, i, &lo, &hi);
    const REAL *q = j->q + r * hd;
    REAL m = -INFINITY;
    for (int64_t t = lo; t < hi; t++) {
      s[t - lo] = FN(attn_dot)(q, j->k + (t * j->n_kv_head + hk) * hd, hd) * j->scale;
      if (s[t - lo] > m) m = s[t - lo];
    }
    REAL *o = j->o + r * hd, l = 0;
    memset(o, 0, sizeof(REAL) * (size_t)hd);
    for (int64_t t = lo; t < hi; t++) {
      REAL p = exp(s[t - lo] - m);
      l += p;
      const REAL *v = j->v + (t * j->n_kv_head + hk) * hd;
      for (int64_t e = 0; e < hd; e++) o[e] += p * v[e];
    }
    REAL inv = l > 0 ? (REAL)1 / l : 0;
    for (int64_t e = 0; e < hd; e++) o[e] *= inv;
    j->lse[r] = l > 0 ? m + log(l) : (REAL)INFINITY;
  }
  free(s);
}

/* o, q (n, n_head, hd); k, v (n, n_kv_head, hd); lse (n, n_head) saved for the backward.
 * bounds: (n_bounds) window boundaries or NULL. Returns false on out of memory (a per-chunk
 * scores buffer). */
bool FN(attention_forward)(hatch_threadpool *pool, REAL *o, REAL *lse, const REAL *q, const REAL *k, const REAL *v,
                           const int32_t *bounds, int64_t n_bounds, bool causal, REAL scale, int64_t n,
                           int64_t n_head, int64_t n_kv_head, int64_t hd) {
  FN(attn_job) j = {.o = o, .lse = lse, .q = q, .k = k, .v = v, .bounds = bounds, .n_bounds = n_bounds,
                    .causal = causal, .scale = scale, .n = n, .n_head = n_head, .n_kv_head = n_kv_head, .hd = hd};
  for (int64_t r = 0; r < n * n_head; r++) lse[r] = NAN; /* marks rows a failed chunk left */
  layer_run(pool, n * n_head, 1 + 4096 / (hd * (causal || bounds ? 64 : n) + 1), FN(attn_fwd_rows), &j);
  for (int64_t r = 0; r < n * n_head; r++)
    if (isnan(lse[r])) return false;
  return true;
}

/* Pass A, items (query, head): dsum = dout . out; dq += scale sum_t p (dout . v_t - dsum) k_t. */
static void FN(attn_bwd_q)(void *ctx, int64_t begin, int64_t end) {
  const FN(attn_job) *j = ctx;
  int64_t hd = j->hd, group = j->n_head / j->n_kv_head;
  for (int64_t r = begin; r < end; r++) {
    int64_t i = r / j->n_head, h = r % j->n_head, hk = h / group, lo, hi;
    FN(attn_keys)(j, i, &lo, &hi);
    const REAL *q = j->q + r * hd, *dout = j->dout + r * hd;
    REAL D = FN(attn_dot)(dout, j->out + r * hd, hd), lse = j->lse_in[r];
    j->dsum[r] = D;
    REAL *dq = j->dq + r * hd;
    for (int64_t t = lo; t < hi; t++) {
      const REAL *k = j->k + (t * j->n_kv_head + hk) * hd, *v = j->v + (t * j->n_kv_head + hk) * hd;
      REAL p = exp(FN(attn_dot)(q, k, hd) * j->scale - lse);
      REAL ds = p * (FN(attn_dot)(dout, v, hd) - D) * j->scale;
      for (int64_t e = 0; e < hd; e++) dq[e] += ds * k[e];
    }
  }
}

/* Pass B, items (key, kv head): over the group's query heads, then the queries that see the key. */
static void FN(attn_bwd_kv)(void *ctx, int64_t begin, int64_t end) {
  const FN(attn_job) *j = ctx;
  int64_t hd = j->hd, group = j->n_head / j->n_kv_head;
  for (int64_t r = begin; r < end; r++) {
    int64_t t = r / j->n_kv_head, hk = r % j->n_kv_head, lo, hi;
    FN(attn_queries)(j, t, &lo, &hi);
    const REAL *k = j->k + r * hd, *v = j->v + r * hd;
    REAL *dk = j->dk + r * hd, *dv = j->dv + r * hd;
    for (int64_t h = hk * group; h < (hk + 1) * group; h++)
      for (int64_t i = lo; i < hi; i++) {
        int64_t qr = i * j->n_head + h;
        const REAL *q = j->q + qr * hd, *dout = j->dout + qr * hd;
        REAL p = exp(FN(attn_dot)(q, k, hd) * j->scale - j->lse_in[qr]);
        REAL ds = p * (FN(attn_dot)(dout, v, hd) - j->dsum_in[qr]) * j->scale;
        for (int64_t e = 0; e < hd; e++) {
          dv[e] += p * dout[e];
          dk[e] += ds * q[e];
        }
      }
  }
}

/* dq (n, n_head, hd), dk, dv (n, n_kv_head, hd) accumulate. out, lse: the forward's; dsum (n, n_head)
 * scratch. */
void FN(attention_backward)(hatch_threadpool *pool, REAL *dq, REAL *dk, REAL *dv, REAL *dsum, const REAL *dout,
                            const REAL *q, const REAL *k, const REAL *v, const REAL *out, const REAL *lse,
                            const int32_t *bounds, int64_t n_bounds, bool causal, REAL scale, int64_t n,
                            int64_t n_head, int64_t n_kv_head, int64_t hd) {
  FN(attn_job) j = {.dq = dq, .dk = dk, .dv = dv, .dsum = dsum, .dout = dout, .q = q, .k = k, .v = v, .out = out,
                    .lse_in = lse, .dsum_in = dsum, .bounds = bounds, .n_bounds = n_bounds, .causal = causal,
                    .scale = scale, .n = n, .n_head = n_head, .n_kv_head = n_kv_head, .hd = hd};
  int64_t grain = 1 + 4096 / (hd * (causal || bounds ? 64 : n) + 1);
  layer_run(pool, n * n_head, grain, FN(attn_bwd_q), &j);
  layer_run(pool, n * n_kv_head, grain, FN(attn_bwd_kv), &j);
}

/* (query, key) pairs the mask allows, for FLOP counts. */
int64_t FN(attention_pairs)(const int32_t *bounds, int64_t n_bounds, bool causal, int64_t n) {
  if (bounds) {
    int64_t s = 0;
    for (int64_t w = 0; w + 1 < n_bounds; w++) s += (int64_t)(bounds[w + 1] - bounds[w]) * (bounds[w + 1] - bounds[w]);
    return s;
  }
  return causal ? n * (n + 1) / 2 : n * n;
}
