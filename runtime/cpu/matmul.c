/* dst (n, m) = x (n, k) · w (m, k)^T for F32, F16 and Q8_0 weights.
 * Threaded over weight rows; W_GROUP weight rows are dequantized one stack block at a time and
 * dotted with X_GROUP x rows, so dequantization and x reads are both shared. */
#include <string.h>

#include "cpu/cpu_ops.h"

#define K_BLOCK 256 /* floats of one dequantized weight block on the stack (a multiple of 32) */
#define X_GROUP 8   /* x rows sharing one dequantized block */
#define W_GROUP 4   /* weight rows sharing one read of an x block */
#define LANES 8     /* independent partial sums: lets the compiler vectorize the dot */

typedef struct matmul_job {
  float *dst;     /* (n, m) */
  const float *x; /* (n, k) */
  const void *w;  /* (m, kw) in the host layout of type */
  hatch_type type;
  int64_t k, kw, n, m;
} matmul_job;

/* Dequantizes elements [k0, k0 + len) of weight row r into out (len). */
static void load_w(const matmul_job *j, int64_t r, int64_t k0, int64_t len, float *out) {
  if (j->type == HATCH_TYPE_F32) {
    memcpy(out, (const float *)j->w + r * j->kw + k0, sizeof(float) * (size_t)len);
  } else if (j->type == HATCH_TYPE_F16) {
    const uint16_t *w = (const uint16_t *)j->w + r * j->kw + k0;
    for (int64_t i = 0; i < len; i++) out[i] = hatch_fp16_to_fp32_inline(w[i]);
  } else { /* Q8_0: k0 is a multiple of 32 */
    const hatch_block_q8_0 *b = (const hatch_block_q8_0 *)j->w + r * (j->kw / 32) + k0 / 32;
    for (int64_t i = 0; i < len; i += 32, b++) {
      float d = hatch_fp16_to_fp32_inline(b->d);
      if (len - i >= 32) { /* constant trip count: vectorizes */
        for (int e = 0; e < 32; e++) out[i + e] = d * (float)b->qs[e];
      } else {
        for (int64_t e = 0; e < len - i; e++) out[i + e] = d * (float)b->qs[e];
      }
    }
  }
}

static float dot(const float *a, const float *b, int64_t len) {
  float s[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= len; i += LANES)
    for (int l = 0; l < LANES; l++) s[l] += a[i + l] * b[i + l];
  for (; i < len; i++) s[0] += a[i] * b[i];
  float sum = 0.0f;
  for (int l = 0; l < LANES; l++) sum += s[l];
  return sum;
}

static void matmul_rows(void *ctx, int64_t begin, int64_t end) {
  const matmul_job *j = ctx;
  float wbuf[W_GROUP][K_BLOCK]; /* (W_GROUP, K_BLOCK) dequantized blocks of W_GROUP weight rows */
  for (int64_t r0 = begin; r0 < end; r0 += W_GROUP) {
    int64_t nw = end - r0 < W_GROUP ? end - r0 : W_GROUP;
    for (int64_t x0 = 0; x0 < j->n; x0 += X_GROUP) {
      int64_t nx = j->n - x0 < X_GROUP ? j->n - x0 : X_GROUP;
      float acc[X_GROUP][W_GROUP] = {{0}};
      for (int64_t k0 = 0; k0 < j->k; k0 += K_BLOCK) {
        int64_t len = j->k - k0 < K_BLOCK ? j->k - k0 : K_BLOCK;
        for (int64_t r = 0; r < nw; r++) load_w(j, r0 + r, k0, len, wbuf[r]);
        for (int64_t i = 0; i < nx; i++)
          for (int64_t r = 0; r < nw; r++) acc[i][r] += dot(wbuf[r], j->x + (x0 + i) * j->k + k0, len);
      }
      for (int64_t i = 0; i < nx; i++)
        for (int64_t r = 0; r < nw; r++) j->dst[(x0 + i) * j->m + r0 + r] = acc[i][r];
    }
  }
}

hatch_status hatch_cpu_matmul(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *w, const hatch_tensor *x) {
  matmul_job j = {dst->data, x->data, w->data, w->type, x->ne[0], w->ne[0], hatch_tensor_rows(x), w->ne[1]};
  /* Enough rows per chunk that a chunk is worth a wake-up: ~64k multiply-adds at least. */
  int64_t grain = 1 + 65536 / (j.k * j.n);
  hatch_threadpool_run(hatch_cpu_pool(be), j.m, grain, matmul_rows, &j);
  return HATCH_OK;
}
