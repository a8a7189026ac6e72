/* Attention, tiled with an online softmax: per (query, head) a running max, running sum and a
 * rescaled accumulator over key tiles; no (n_q, n_kv) matrix is stored. Threaded over
 * (query, head) pairs. K/V rows are F32 or F16. */
#include <string.h>

#include "cpu/cpu_ops.h"

#define KEY_TILE 64
#define MAX_HEAD_DIM 1024 /* stack copies of one query and its accumulator */

typedef struct attn_job {
  float *dst;           /* (n_q, n_head, d) */
  const float *q;       /* (n_q, n_head, d) */
  const void *k, *v;    /* (rows >= n_kv, n_kv_head, d), F32 or F16 */
  const int32_t *win;   /* WINDOWED: (n_win + 1) boundaries, else NULL */
  bool f16;
  int64_t d, n_head, n_kv_head, n_kv, kv_offset, n_win;
  hatch_attn_mode mode;
  float scale;
} attn_job;

static float kv_at(const attn_job *j, const void *base, int64_t i) {
  return j->f16 ? hatch_fp16_to_fp32_inline(((const uint16_t *)base)[i]) : ((const float *)base)[i];
}

/* Keys [*lo, *hi) that query i sees. A token outside every window (malformed boundaries) sees none. */
static void key_range(const attn_job *j, int64_t i, int64_t *lo, int64_t *hi) {
  *lo = 0;
  *hi = j->n_kv;
  if (j->mode == HATCH_ATTN_CAUSAL) {
    *hi = j->kv_offset + i + 1 < j->n_kv ? j->kv_offset + i + 1 : j->n_kv;
  } else if (j->mode == HATCH_ATTN_WINDOWED) {
    int64_t a = 0, b = j->n_win; /* last w with win[w] <= i, as shaders/attention.comp searches */
    while (b - a > 1) {
      int64_t mid = (a + b) / 2;
      if (j->win[mid] <= i) a = mid;
      else b = mid;
    }
    *lo = j->win[a] > 0 ? j->win[a] : 0;
    *hi = j->win[a + 1] < j->n_kv ? j->win[a + 1] : j->n_kv;
    if (!(j->win[a] <= i && i < j->win[a + 1])) *hi = *lo;
  }
}

static void attn_rows(void *ctx, int64_t begin, int64_t end) {
  const attn_job *j = ctx;
  int64_t d = j->d, group = j->n_head / j->n_kv_head;
  float q[MAX_HEAD_DIM], acc[MAX_HEAD_DIM], s[KEY_TILE]; /* (d), (d), (KEY_TILE) */
  for (int64_t r = begin; r < end; r++) {
    int64_t i = r / j->n_head, h = r % j->n_head, hk = h / group;
    memcpy(q, j->q + r * d, sizeof(float) * (size_t)d); /* dst may alias q */
    memset(acc, 0, sizeof(float) * (size_t)d);
    float m = -INFINITY, l = 0.0f;
    int64_t lo, hi;
    key_range(j, i, &lo, &hi);
    for (int64_t t0 = lo; t0 < hi; t0 += KEY_TILE) {
      int64_t n = hi - t0 < KEY_TILE ? hi - t0 : KEY_TILE;
      float tile_max = m;
      for (int64_t t = 0; t < n; t++) {
        int64_t kb = ((t0 + t) * j->n_kv_head + hk) * d;
        float dot = 0.0f;
        for (int64_t e = 0; e < d; e++) dot += q[e] * kv_at(j, j->k, kb + e);
        s[t] = dot * j->scale;
        tile_max = fmaxf(tile_max, s[t]);
      }
      float corr = expf(m - tile_max); /* 0 on the first tile (m = -inf) */
      l *= corr;
      for (int64_t e = 0; e < d; e++) acc[e] *= corr;
      for (int64_t t = 0; t < n; t++) {
        float p = expf(s[t] - tile_max);
        l += p;
        int64_t vb = ((t0 + t) * j->n_kv_head + hk) * d;
        for (int64_t e = 0; e < d; e++) acc[e] += p * kv_at(j, j->v, vb + e);
      }
      m = tile_max;
    }
    float inv = l > 0.0f ? 1.0f / l : 0.0f; /* no keys: zeros */
    for (int64_t e = 0; e < d; e++) j->dst[r * d + e] = acc[e] * inv;
  }
}

hatch_status hatch_cpu_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k,
                                 const hatch_tensor *v, const hatch_attn_params *p) {
  if (q->ne[0] > MAX_HEAD_DIM) return HATCH_ERR_UNSUPPORTED;
  const hatch_tensor *w = p->mode == HATCH_ATTN_WINDOWED ? p->windows : NULL;
  attn_job j = {
      .dst = dst->data, .q = q->data, .k = k->data, .v = v->data, .win = w ? w->data : NULL,
      .f16 = k->type == HATCH_TYPE_F16, .d = q->ne[0], .n_head = q->ne[1], .n_kv_head = k->ne[1],
      .n_kv = p->n_kv, .kv_offset = p->kv_offset, .n_win = w ? w->ne[0] - 1 : 0, .mode = p->mode,
      .scale = p->scale,
  };
  if (p->past) { /* the KV length lives in a tensor (recorded graphs): query 0 sits at past[0] */
    int64_t off = ((const int32_t *)p->past->data)[0];
    if (off < 0) off = 0;
    if (off > k->ne[2] - q->ne[2]) off = k->ne[2] - q->ne[2];
    j.kv_offset = off;
    j.n_kv = off + q->ne[2];
  }
  int64_t rows = q->ne[1] * q->ne[2];
  hatch_threadpool_run(hatch_cpu_pool(be), rows, 1, attn_rows, &j);
  return HATCH_OK;
}
