/* Attention, flash style (model/layer_attention.h semantics): softmax(q k^T scale) v per head with
 * GQA (query head h reads kv head h / (n_head / n_kv_head)); the keys a query sees are its window
 * when bounds are given (cu_seqlens), else keys 0..i (causal) or all keys. No (n, n) matrix is
 * stored: the forward keeps the log-sum-exp per (query, head), the backward recomputes the
 * probabilities from it.
 *
 *   forward   block = (64 queries, head): K/V tiles of 64 keys through shared memory, online softmax
 *             (running max and sum per row, the output rescaled as the max grows).
 *   backward  dsum[r] = dout[r] . out[r] (one warp per row); pass A, block = (64 queries, head):
 *             dq += sum_t ds k_t over 32-key tiles; pass B, block = (64 keys, kv head): dk += sum ds q,
 *             dv += sum p dout over the group's query heads and 32-query tiles.
 * Every output element is summed by one thread in a fixed order (no atomics): results are the same
 * run to run. Head size up to CUDA_ATTN_MAX_HD (128). fp32 throughout (CUDA cores, no tensor cores).
 *
 * Thread layout (256 threads): tx = tid % 16, ty = tid / 16. Score tiles: thread (tx, ty) computes
 * rows ty + 16 a and columns tx + 16 b; output tiles: rows ty + 16 a, head columns tx + 16 c. Shared
 * rows are padded to an odd stride (ld = hd | 1) so the 16 rows a warp reads in one step fall in
 * different banks. Each phase below names what it writes; a barrier separates every write of a
 * shared buffer from the reads of its previous and next contents. */
#include <limits.h>
#include <stdio.h>

#include "cuda/cuda_device.h"

#define ATT_THREADS 256
#define ATT_NC (CUDA_ATTN_MAX_HD / 16) /* head columns per thread: tx + 16 c */
#define FWD_BQ 64  /* forward: queries per block */
#define FWD_BK 64  /* forward: keys per tile */
#define DQ_BQ 64   /* pass A: queries per block */
#define DQ_BK 32   /* pass A: keys per tile */
#define DKV_BK 64  /* pass B: keys per block */
#define DKV_BQ 32  /* pass B: queries per tile */
#define FULL_MASK 0xffffffffu

typedef struct attn_shape {
  const int32_t *bounds; /* (n_bounds) window boundaries or NULL */
  int64_t n_bounds;
  bool causal;
  float scale;
  int64_t n, n_head, n_kv_head, hd, group; /* group = n_head / n_kv_head */
  int ld;                                   /* shared row stride: hd | 1 */
} attn_shape;

/* ---- which keys a query sees (the reference's attn_keys / attn_queries) ---- */

/* Window [lo, hi) of token i: the last w with bounds[w] <= i. Clamped into [0, n] so malformed bounds
 * cannot send a kernel outside its buffers (valid bounds are unchanged by the clamp). */
__device__ void attn_window(const attn_shape &s, int64_t i, int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = s.n_bounds - 1;
  while (b - a > 1) {
    const int64_t mid = (a + b) / 2;
    if (s.bounds[mid] <= i) a = mid;
    else b = mid;
  }
  int64_t l = s.bounds[a], h = s.bounds[a + 1];
  l = l < 0 ? 0 : l > s.n ? s.n : l;
  h = h < l ? l : h > s.n ? s.n : h;
  *lo = l;
  *hi = h;
}

/* Keys query i sees. */
__device__ void attn_keys(const attn_shape &s, int64_t i, int64_t *lo, int64_t *hi) {
  if (s.bounds) attn_window(s, i, lo, hi);
  else *lo = 0, *hi = s.causal ? i + 1 : s.n;
}

/* Queries that see key t. */
__device__ void attn_queries(const attn_shape &s, int64_t t, int64_t *lo, int64_t *hi) {
  if (s.bounds) attn_window(s, t, lo, hi);
  else *lo = s.causal ? t : 0, *hi = s.n;
}

/* Smallest lo and largest hi over the non-empty ranges [lo[r], hi[r]), r < count ([0, 0) if none):
 * ranges are monotone in the token, so this is the span a tile of tokens needs. */
__device__ void span_of(const int *lo, const int *hi, int count, int *span) {
  int b = INT_MAX, e = 0;
  for (int r = 0; r < count; r++)
    if (lo[r] < hi[r]) {
      b = lo[r] < b ? lo[r] : b;
      e = hi[r] > e ? hi[r] : e;
    }
  span[0] = b < e ? b : 0;
  span[1] = b < e ? e : 0;
}

/* rows x hd values of a (token, head) tensor into shared rows of stride ld; rows >= valid are zero.
 * Element (r, c) lives at src[((t0 + r) * heads + head) * hd + c]. */
__device__ void load_rows(float *dst, int ld, const float *src, int64_t t0, int rows, int valid, int64_t heads,
                          int64_t head, int hd) {
  for (int e = threadIdx.x; e < rows * hd; e += ATT_THREADS) {
    const int r = e / hd, c = e % hd;
    dst[r * ld + c] = r < valid ? src[((t0 + r) * heads + head) * hd + c] : 0.0f;
  }
}

/* ---- forward ---- */

static size_t forward_smem_bytes(int ld) {
  return sizeof(float) * ((size_t)FWD_BQ * ld + (size_t)FWD_BK * ld + (size_t)FWD_BQ * (FWD_BK + 1) + 3 * FWD_BQ) +
         sizeof(int) * 2 * FWD_BQ;
}

/* Block (query tile, head h). Writes o and lse of its (query, head) rows only. */
__global__ void __launch_bounds__(ATT_THREADS)
    attention_forward_kernel(float *o, float *lse, const float *q, const float *k, const float *v, attn_shape s) {
  CUDA_DYNAMIC_SMEM(float, smem);
  const int ld = s.ld, hd = (int)s.hd;
  float *qs = smem;                          /* (FWD_BQ, ld) the block's queries */
  float *kvs = qs + FWD_BQ * ld;             /* (FWD_BK, ld) K tile, then V tile */
  float *ss = kvs + FWD_BK * ld;             /* (FWD_BQ, FWD_BK + 1) scores, then probabilities */
  float *alpha_s = ss + FWD_BQ * (FWD_BK + 1); /* (FWD_BQ) rescale of each output row this tile */
  float *l_s = alpha_s + FWD_BQ;             /* (FWD_BQ) final softmax sums */
  float *m_s = l_s + FWD_BQ;                 /* (FWD_BQ) final maxima */
  int *qlo = (int *)(m_s + FWD_BQ);          /* (FWD_BQ) keys of each query: [qlo, qhi) */
  int *qhi = qlo + FWD_BQ;
  __shared__ int key_span[2];

  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t i0 = (int64_t)blockIdx.x * FWD_BQ, h = blockIdx.y, hk = h / s.group;
  const int rows = (int)(s.n - i0 < FWD_BQ ? s.n - i0 : FWD_BQ);

  /* Phase 0: windows (threads < FWD_BQ) and the query tile. */
  if (tid < FWD_BQ) {
    int64_t lo = 0, hi = 0;
    if (tid < rows) attn_keys(s, i0 + tid, &lo, &hi);
    qlo[tid] = (int)lo;
    qhi[tid] = (int)hi;
  }
  load_rows(qs, ld, q, i0, FWD_BQ, rows, s.n_head, h, hd);
  __syncthreads();
  if (tid == 0) span_of(qlo, qhi, rows, key_span);
  __syncthreads();
  const int kb = key_span[0], ke = key_span[1];

  /* Softmax layout: row sr, columns sq + 4 jj (four threads of one warp per row). The running max and
   * sum live in registers; the four threads hold identical copies (xor-shuffle reductions). */
  const int sr = tid / 4, sq = tid % 4;
  const int s_lo = qlo[sr], s_hi = qhi[sr];
  float m_run = -INFINITY, l_run = 0.0f;
  float acc[4][ATT_NC];
  for (int a = 0; a < 4; a++)
    for (int c = 0; c < ATT_NC; c++) acc[a][c] = 0.0f;

  for (int kt = kb; kt < ke; kt += FWD_BK) {
    const int kn = ke - kt < FWD_BK ? ke - kt : FWD_BK;
    /* Phase 1: K tile -> kvs (last read by phase 4 of the previous tile, behind its barrier). */
    load_rows(kvs, ld, k, kt, FWD_BK, kn, s.n_kv_head, hk, hd);
    __syncthreads();
    /* Phase 2: scores -> ss[ty + 16a][tx + 16b], one writer per element. */
    {
      float sc[4][4];
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) sc[a][b] = 0.0f;
      for (int c = 0; c < hd; c++) {
        float qv[4], kv[4];
        for (int a = 0; a < 4; a++) qv[a] = qs[(ty + 16 * a) * ld + c];
        for (int b = 0; b < 4; b++) kv[b] = kvs[(tx + 16 * b) * ld + c];
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 4; b++) sc[a][b] += qv[a] * kv[b];
      }
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) ss[(ty + 16 * a) * (FWD_BK + 1) + tx + 16 * b] = sc[a][b] * s.scale;
    }
    __syncthreads();
    /* Phase 3: V tile -> kvs (phase 2, the last reader of K, is behind the barrier); online softmax of
     * row sr: ss[sr][sq + 4jj] -> probabilities (own elements only), alpha_s[sr] by thread sq == 0. */
    load_rows(kvs, ld, v, kt, FWD_BK, kn, s.n_kv_head, hk, hd);
    {
      float p[FWD_BK / 4], mx = -INFINITY;
      for (int jj = 0; jj < FWD_BK / 4; jj++) {
        const int j = sq + 4 * jj, t = kt + j;
        p[jj] = t >= s_lo && t < s_hi ? ss[sr * (FWD_BK + 1) + j] : -INFINITY;
        mx = p[jj] > mx ? p[jj] : mx;
      }
      mx = fmaxf(mx, __shfl_xor_sync(FULL_MASK, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(FULL_MASK, mx, 2));
      const float m_new = m_run > mx ? m_run : mx;
      const float alpha = m_new == -INFINITY ? 1.0f : expf(m_run - m_new); /* 0 on the first keys */
      float sum = 0.0f;
      for (int jj = 0; jj < FWD_BK / 4; jj++) {
        const float pv = p[jj] == -INFINITY ? 0.0f : expf(p[jj] - m_new);
        ss[sr * (FWD_BK + 1) + sq + 4 * jj] = pv;
        sum += pv;
      }
      sum += __shfl_xor_sync(FULL_MASK, sum, 1);
      sum += __shfl_xor_sync(FULL_MASK, sum, 2);
      l_run = l_run * alpha + sum;
      m_run = m_new;
      if (sq == 0) alpha_s[sr] = alpha;
    }
    __syncthreads();
    /* Phase 4: acc = alpha acc + P V (registers only). */
    for (int a = 0; a < 4; a++) {
      const float al = alpha_s[ty + 16 * a];
      for (int c = 0; c < ATT_NC; c++) acc[a][c] *= al;
    }
    for (int j = 0; j < kn; j++) {
      float pv[4], vv[ATT_NC];
      for (int a = 0; a < 4; a++) pv[a] = ss[(ty + 16 * a) * (FWD_BK + 1) + j];
      for (int c = 0; c < ATT_NC; c++) vv[c] = tx + 16 * c < hd ? kvs[j * ld + tx + 16 * c] : 0.0f;
      for (int a = 0; a < 4; a++)
        for (int c = 0; c < ATT_NC; c++) acc[a][c] += pv[a] * vv[c];
    }
    __syncthreads();
  }

  /* Phase 5: row statistics -> l_s, m_s (thread sq == 0 of each row); then the outputs. */
  if (sq == 0) {
    l_s[sr] = l_run;
    m_s[sr] = m_run;
  }
  __syncthreads();
  for (int a = 0; a < 4; a++) {
    const int r = ty + 16 * a;
    if (r >= rows) continue;
    const float l = l_s[r], inv = l > 0.0f ? 1.0f / l : 0.0f;
    float *orow = o + ((i0 + r) * s.n_head + h) * hd;
    for (int c = 0; c < ATT_NC; c++)
      if (tx + 16 * c < hd) orow[tx + 16 * c] = acc[a][c] * inv;
  }
  if (tid < rows) {
    const float l = l_s[tid];
    lse[(i0 + tid) * s.n_head + h] = l > 0.0f ? m_s[tid] + logf(l) : INFINITY;
  }
}

/* ---- backward ---- */

/* dsum[r] = dout[r] . out[r] over rows r = (query, head) of hd; one warp per row (the loop is
 * uniform within a warp, as the shuffles need). */
__global__ void attention_dsum_kernel(float *dsum, const float *dout, const float *out, int64_t rows, int64_t hd) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = grid_first() / 32; r < rows; r += grid_stride() / 32) {
    float sum = 0.0f;
    for (int64_t e = lane; e < hd; e += 32) sum += dout[r * hd + e] * out[r * hd + e];
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(FULL_MASK, sum, off);
    if (lane == 0) dsum[r] = sum;
  }
}

static size_t dq_smem_bytes(int ld) {
  return sizeof(float) * (2 * (size_t)DQ_BQ * ld + 2 * (size_t)DQ_BK * ld + (size_t)DQ_BQ * (DQ_BK + 1) + 2 * DQ_BQ) +
         sizeof(int) * 2 * DQ_BQ;
}

/* Pass A, block (query tile, head h): dq of its (query, head) rows += sum_t ds(i, t) k_t,
 * ds = p (dout_i . v_t - dsum_i) scale, p = exp(q_i . k_t scale - lse_i). Writes dq rows it owns. */
__global__ void __launch_bounds__(ATT_THREADS)
    attention_backward_dq_kernel(float *dq, const float *dout, const float *q, const float *k, const float *v,
                                 const float *lse, const float *dsum, attn_shape s) {
  CUDA_DYNAMIC_SMEM(float, smem);
  const int ld = s.ld, hd = (int)s.hd;
  float *qs = smem;                   /* (DQ_BQ, ld) queries */
  float *dos = qs + DQ_BQ * ld;       /* (DQ_BQ, ld) their output gradients */
  float *ks = dos + DQ_BQ * ld;       /* (DQ_BK, ld) K tile */
  float *vs = ks + DQ_BK * ld;        /* (DQ_BK, ld) V tile */
  float *dss = vs + DQ_BK * ld;       /* (DQ_BQ, DQ_BK + 1) ds */
  float *lse_s = dss + DQ_BQ * (DQ_BK + 1); /* (DQ_BQ) */
  float *dsum_s = lse_s + DQ_BQ;      /* (DQ_BQ) */
  int *qlo = (int *)(dsum_s + DQ_BQ); /* (DQ_BQ) keys of each query: [qlo, qhi) */
  int *qhi = qlo + DQ_BQ;
  __shared__ int key_span[2];

  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t i0 = (int64_t)blockIdx.x * DQ_BQ, h = blockIdx.y, hk = h / s.group;
  const int rows = (int)(s.n - i0 < DQ_BQ ? s.n - i0 : DQ_BQ);

  /* Phase 0: windows, row statistics, queries and their output gradients. */
  if (tid < DQ_BQ) {
    int64_t lo = 0, hi = 0;
    if (tid < rows) attn_keys(s, i0 + tid, &lo, &hi);
    qlo[tid] = (int)lo;
    qhi[tid] = (int)hi;
    lse_s[tid] = tid < rows ? lse[(i0 + tid) * s.n_head + h] : INFINITY;
    dsum_s[tid] = tid < rows ? dsum[(i0 + tid) * s.n_head + h] : 0.0f;
  }
  load_rows(qs, ld, q, i0, DQ_BQ, rows, s.n_head, h, hd);
  load_rows(dos, ld, dout, i0, DQ_BQ, rows, s.n_head, h, hd);
  __syncthreads();
  if (tid == 0) span_of(qlo, qhi, rows, key_span);
  __syncthreads();
  const int kb = key_span[0], ke = key_span[1];

  float acc[4][ATT_NC];
  for (int a = 0; a < 4; a++)
    for (int c = 0; c < ATT_NC; c++) acc[a][c] = 0.0f;
  for (int kt = kb; kt < ke; kt += DQ_BK) {
    const int kn = ke - kt < DQ_BK ? ke - kt : DQ_BK;
    /* Phase 1: K and V tiles (last read in phase 3 of the previous tile, behind its barrier). */
    load_rows(ks, ld, k, kt, DQ_BK, kn, s.n_kv_head, hk, hd);
    load_rows(vs, ld, v, kt, DQ_BK, kn, s.n_kv_head, hk, hd);
    __syncthreads();
    /* Phase 2: ds -> dss[ty + 16a][tx + 16b], one writer per element. */
    {
      float sc[4][2], dp[4][2];
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 2; b++) sc[a][b] = dp[a][b] = 0.0f;
      for (int c = 0; c < hd; c++) {
        float qv[4], gv[4], kv[2], vv[2];
        for (int a = 0; a < 4; a++) {
          qv[a] = qs[(ty + 16 * a) * ld + c];
          gv[a] = dos[(ty + 16 * a) * ld + c];
        }
        for (int b = 0; b < 2; b++) {
          kv[b] = ks[(tx + 16 * b) * ld + c];
          vv[b] = vs[(tx + 16 * b) * ld + c];
        }
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 2; b++) {
            sc[a][b] += qv[a] * kv[b];
            dp[a][b] += gv[a] * vv[b];
          }
      }
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 2; b++) {
          const int i = ty + 16 * a, j = tx + 16 * b, t = kt + j;
          const bool seen = t >= qlo[i] && t < qhi[i]; /* also excludes padded keys: qhi <= ke */
          const float p = seen ? expf(__fsub_rn(__fmul_rn(sc[a][b], s.scale), lse_s[i])) : 0.0f;
          dss[i * (DQ_BK + 1) + j] = __fmul_rn(__fmul_rn(p, __fsub_rn(dp[a][b], dsum_s[i])), s.scale);
        }
    }
    __syncthreads();
    /* Phase 3: acc += ds K (registers only). */
    for (int j = 0; j < kn; j++) {
      float dsv[4], kv[ATT_NC];
      for (int a = 0; a < 4; a++) dsv[a] = dss[(ty + 16 * a) * (DQ_BK + 1) + j];
      for (int c = 0; c < ATT_NC; c++) kv[c] = tx + 16 * c < hd ? ks[j * ld + tx + 16 * c] : 0.0f;
      for (int a = 0; a < 4; a++)
        for (int c = 0; c < ATT_NC; c++) acc[a][c] += dsv[a] * kv[c];
    }
    __syncthreads();
  }
  for (int a = 0; a < 4; a++) {
    const int r = ty + 16 * a;
    if (r >= rows) continue;
    float *row = dq + ((i0 + r) * s.n_head + h) * hd;
    for (int c = 0; c < ATT_NC; c++)
      if (tx + 16 * c < hd) row[tx + 16 * c] += acc[a][c];
  }
}

static size_t dkv_smem_bytes(int ld) {
  return sizeof(float) * (2 * (size_t)DKV_BK * ld + 2 * (size_t)DKV_BQ * ld + 2 * (size_t)DKV_BK * (DKV_BQ + 1) +
                          2 * DKV_BQ) +
         sizeof(int) * (2 * DKV_BQ + 2 * DKV_BK);
}

/* Pass B, block (key tile, kv head hk): for the group's query heads h and the queries that see the
 * keys, dsvt += sum p dout_i and dk_t += sum ds q_i (h ascending, then queries ascending). Writes the
 * dk, dv rows it owns. */
__global__ void __launch_bounds__(ATT_THREADS)
    attention_backward_dkv_kernel(float *dk, float *dv, const float *dout, const float *q, const float *k,
                                  const float *v, const float *lse, const float *dsum, attn_shape s) {
  CUDA_DYNAMIC_SMEM(float, smem);
  const int ld = s.ld, hd = (int)s.hd;
  float *ks = smem;                     /* (DKV_BK, ld) the block's keys */
  float *vs = ks + DKV_BK * ld;         /* (DKV_BK, ld) their values */
  float *qs = vs + DKV_BK * ld;         /* (DKV_BQ, ld) query tile of head h */
  float *dos = qs + DKV_BQ * ld;        /* (DKV_BQ, ld) its output gradients */
  float *ps = dos + DKV_BQ * ld;        /* (DKV_BK, DKV_BQ + 1) p */
  float *dss = ps + DKV_BK * (DKV_BQ + 1);   /* (DKV_BK, DKV_BQ + 1) ds */
  float *lse_s = dss + DKV_BK * (DKV_BQ + 1); /* (DKV_BQ) */
  float *dsum_s = lse_s + DKV_BQ;       /* (DKV_BQ) */
  int *qlo = (int *)(dsum_s + DKV_BQ);  /* (DKV_BQ) keys of each query in the tile: [qlo, qhi) */
  int *qhi = qlo + DKV_BQ;
  int *klo = qhi + DKV_BQ;              /* (DKV_BK) queries that see each key: [klo, khi) */
  int *khi = klo + DKV_BK;
  __shared__ int query_span[2];

  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t t0 = (int64_t)blockIdx.x * DKV_BK, hk = blockIdx.y;
  const int keys = (int)(s.n - t0 < DKV_BK ? s.n - t0 : DKV_BK);

  /* Phase 0: the keys' query ranges, K and V rows. */
  if (tid < DKV_BK) {
    int64_t lo = 0, hi = 0;
    if (tid < keys) attn_queries(s, t0 + tid, &lo, &hi);
    klo[tid] = (int)lo;
    khi[tid] = (int)hi;
  }
  load_rows(ks, ld, k, t0, DKV_BK, keys, s.n_kv_head, hk, hd);
  load_rows(vs, ld, v, t0, DKV_BK, keys, s.n_kv_head, hk, hd);
  __syncthreads();
  if (tid == 0) span_of(klo, khi, keys, query_span);
  __syncthreads();
  const int qb = query_span[0], qe = query_span[1];

  float acc_k[4][ATT_NC], acc_v[4][ATT_NC];
  for (int a = 0; a < 4; a++)
    for (int c = 0; c < ATT_NC; c++) acc_k[a][c] = acc_v[a][c] = 0.0f;
  for (int64_t h = hk * s.group; h < (hk + 1) * s.group; h++)
    for (int qt = qb; qt < qe; qt += DKV_BQ) {
      const int qn = qe - qt < DKV_BQ ? qe - qt : DKV_BQ;
      /* Phase 1: the query tile, its gradients, statistics and windows (all last read in phase 3 of
       * the previous tile, behind its barrier). */
      if (tid < DKV_BQ) {
        int64_t lo = 0, hi = 0;
        if (tid < qn) attn_keys(s, qt + tid, &lo, &hi);
        qlo[tid] = (int)lo;
        qhi[tid] = (int)hi;
        lse_s[tid] = tid < qn ? lse[((int64_t)qt + tid) * s.n_head + h] : INFINITY;
        dsum_s[tid] = tid < qn ? dsum[((int64_t)qt + tid) * s.n_head + h] : 0.0f;
      }
      load_rows(qs, ld, q, qt, DKV_BQ, qn, s.n_head, h, hd);
      load_rows(dos, ld, dout, qt, DKV_BQ, qn, s.n_head, h, hd);
      __syncthreads();
      /* Phase 2: p, ds -> ps, dss [key ty + 16a][query tx + 16b], one writer per element. */
      {
        float sc[4][2], dp[4][2];
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 2; b++) sc[a][b] = dp[a][b] = 0.0f;
        for (int c = 0; c < hd; c++) {
          float kv[4], vv[4], qv[2], gv[2];
          for (int a = 0; a < 4; a++) {
            kv[a] = ks[(ty + 16 * a) * ld + c];
            vv[a] = vs[(ty + 16 * a) * ld + c];
          }
          for (int b = 0; b < 2; b++) {
            qv[b] = qs[(tx + 16 * b) * ld + c];
            gv[b] = dos[(tx + 16 * b) * ld + c];
          }
          for (int a = 0; a < 4; a++)
            for (int b = 0; b < 2; b++) {
              sc[a][b] += qv[b] * kv[a];
              dp[a][b] += gv[b] * vv[a];
            }
        }
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 2; b++) {
            const int j = ty + 16 * a, i = tx + 16 * b;
            const int64_t t = t0 + j;
            /* The query's own window, as the forward: excludes padded queries (qlo = qhi = 0) and
             * padded keys (t >= n >= qhi). */
            const bool seen = t >= qlo[i] && t < qhi[i];
            const float p = seen ? expf(__fsub_rn(__fmul_rn(sc[a][b], s.scale), lse_s[i])) : 0.0f;
            ps[j * (DKV_BQ + 1) + i] = p;
            dss[j * (DKV_BQ + 1) + i] = __fmul_rn(__fmul_rn(p, __fsub_rn(dp[a][b], dsum_s[i])), s.scale);
          }
      }
      __syncthreads();
      /* Phase 3: acc_v += P dO, acc_k += dS Q (registers only). */
      for (int i = 0; i < qn; i++) {
        float pv[4], dsv[4], gv[ATT_NC], qv[ATT_NC];
        for (int a = 0; a < 4; a++) {
          pv[a] = ps[(ty + 16 * a) * (DKV_BQ + 1) + i];
          dsv[a] = dss[(ty + 16 * a) * (DKV_BQ + 1) + i];
        }
        for (int c = 0; c < ATT_NC; c++) {
          const bool in = tx + 16 * c < hd;
          gv[c] = in ? dos[i * ld + tx + 16 * c] : 0.0f;
          qv[c] = in ? qs[i * ld + tx + 16 * c] : 0.0f;
        }
        for (int a = 0; a < 4; a++)
          for (int c = 0; c < ATT_NC; c++) {
            acc_v[a][c] += pv[a] * gv[c];
            acc_k[a][c] += dsv[a] * qv[c];
          }
      }
      __syncthreads();
    }
  for (int a = 0; a < 4; a++) {
    const int j = ty + 16 * a;
    if (j >= keys) continue;
    float *dk_row = dk + ((t0 + j) * s.n_kv_head + hk) * hd, *dsvrow = dv + ((t0 + j) * s.n_kv_head + hk) * hd;
    for (int c = 0; c < ATT_NC; c++)
      if (tx + 16 * c < hd) {
        dk_row[tx + 16 * c] += acc_k[a][c];
        dsvrow[tx + 16 * c] += acc_v[a][c];
      }
  }
}

/* ---- host side ---- */

bool cuda_attention_init(cuda_backend *cb) {
  const int ld = CUDA_ATTN_MAX_HD | 1;
  const size_t need[3] = {forward_smem_bytes(ld), dq_smem_bytes(ld), dkv_smem_bytes(ld)};
  int optin = 0;
  if (!cuda_check(cb, cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, cb->device),
                  "cudaDeviceGetAttribute"))
    return false;
  for (int i = 0; i < 3; i++)
    if (need[i] > (size_t)optin) {
      cuda_fail(cb, HATCH_ERR_UNSUPPORTED, "attention kernels need more shared memory per block than the device has");
      return false;
    }
  return cuda_check(cb,
                    cudaFuncSetAttribute(attention_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)need[0]),
                    "attention forward: shared memory attribute") &&
         cuda_check(cb,
                    cudaFuncSetAttribute(attention_backward_dq_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)need[1]),
                    "attention dq: shared memory attribute") &&
         cuda_check(cb,
                    cudaFuncSetAttribute(attention_backward_dkv_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)need[2]),
                    "attention dk/dv: shared memory attribute");
}

/* The shape, checked: false (after recording the error) for what the kernels cannot take. */
static bool attn_shape_of(cuda_backend *cb, attn_shape *s, const int32_t *bounds, int64_t n_bounds, bool causal,
                          float scale, int64_t n, int64_t n_head, int64_t n_kv_head, int64_t hd) {
  char what[160];
  if (n > INT_MAX - FWD_BQ || n_head > 65535 || n_kv_head <= 0 || n_head % n_kv_head != 0 || (bounds && n_bounds < 2)) {
    snprintf(what, sizeof what, "attention: unsupported shape (n %lld, heads %lld / %lld, bounds %lld)", (long long)n,
             (long long)n_head, (long long)n_kv_head, (long long)n_bounds);
    cuda_fail(cb, HATCH_ERR_SHAPE, what);
    return false;
  }
  if (hd > CUDA_ATTN_MAX_HD) {
    snprintf(what, sizeof what, "attention: head size %lld over %d", (long long)hd, CUDA_ATTN_MAX_HD);
    cuda_fail(cb, HATCH_ERR_UNSUPPORTED, what);
    return false;
  }
  s->bounds = bounds;
  s->n_bounds = n_bounds;
  s->causal = causal;
  s->scale = scale;
  s->n = n;
  s->n_head = n_head;
  s->n_kv_head = n_kv_head;
  s->hd = hd;
  s->group = n_head / n_kv_head;
  s->ld = (int)(hd | 1);
  return true;
}

bool cuda_attention_forward(train_backend *b, float *o, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                            int64_t n_head, int64_t n_kv_head, int64_t hd) {
  cuda_backend *cb = cuda_of(b);
  attn_shape s;
  /* false is "out of memory" in the op's contract: nothing here allocates, other errors surface at sync */
  if (!cuda_begin(cb) || n <= 0 || n_head <= 0 || hd <= 0) return true;
  if (!attn_shape_of(cb, &s, bounds, n_bounds, causal, scale, n, n_head, n_kv_head, hd)) return true;
  dim3 grid((unsigned)((n + FWD_BQ - 1) / FWD_BQ), (unsigned)n_head);
  CUDA_LAUNCH(attention_forward_kernel, grid, ATT_THREADS, forward_smem_bytes(s.ld), cb->stream)(o, lse, q, k, v, s);
  cuda_check_launch(cb, "attention_forward_kernel");
  return true;
}

void cuda_attention_backward(train_backend *b, float *dq, float *dk, float *dv, float *dsum, const float *dout,
                             const float *q, const float *k, const float *v, const float *out, const float *lse,
                             const int32_t *bounds, int64_t n_bounds, bool causal, float scale, int64_t n,
                             int64_t n_head, int64_t n_kv_head, int64_t hd) {
  cuda_backend *cb = cuda_of(b);
  attn_shape s;
  if (!cuda_begin(cb) || n <= 0 || n_head <= 0 || hd <= 0) return;
  if (!attn_shape_of(cb, &s, bounds, n_bounds, causal, scale, n, n_head, n_kv_head, hd)) return;
  CUDA_LAUNCH(attention_dsum_kernel, cuda_grid(n * n_head * 32, 256), 256, 0, cb->stream)(dsum, dout, out, n * n_head,
                                                                                          hd);
  if (!cuda_check_launch(cb, "attention_dsum_kernel")) return;
  dim3 grid_q((unsigned)((n + DQ_BQ - 1) / DQ_BQ), (unsigned)n_head);
  CUDA_LAUNCH(attention_backward_dq_kernel, grid_q, ATT_THREADS, dq_smem_bytes(s.ld), cb->stream)(dq, dout, q, k, v,
                                                                                                 lse, dsum, s);
  if (!cuda_check_launch(cb, "attention_backward_dq_kernel")) return;
  dim3 grid_kv((unsigned)((n + DKV_BK - 1) / DKV_BK), (unsigned)n_kv_head);
  CUDA_LAUNCH(attention_backward_dkv_kernel, grid_kv, ATT_THREADS, dkv_smem_bytes(s.ld), cb->stream)(dk, dv, dout, q, k,
                                                                                                    v, lse, dsum, s);
  cuda_check_launch(cb, "attention_backward_dkv_kernel");
}
