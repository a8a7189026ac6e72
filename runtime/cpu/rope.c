/* RoPE, rotate_half ("NEOX") form: pair i = (x[i], x[i + n_dims/2]) rotated by pos * inv_freq[i];
 * dims >= n_dims pass through. Threaded over tokens: each angle is computed once per token. */
#include <stdlib.h>
#include <string.h>

#include "core/rope_table.h"
#include "cpu/cpu_ops.h"

typedef struct rope_job {
  float *dst;                   /* (n_tok, n_head, head_dim); may alias x */
  const float *x;               /* (n_tok, n_head, head_dim) */
  const int32_t *pos;           /* (n_comp, n_tok) */
  const hatch_rope_pair *pairs; /* (n_dims/2) */
  int64_t head_dim, n_head, n_tok;
  int half;
} rope_job;

static void rope_tokens(void *ctx, int64_t begin, int64_t end) {
  const rope_job *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    const float *x = j->x + t * j->n_head * j->head_dim;
    float *d = j->dst + t * j->n_head * j->head_dim;
    for (int i = 0; i < j->half; i++) {
      float theta = (float)j->pos[j->pairs[i].comp * j->n_tok + t] * j->pairs[i].inv_freq;
      float c = (float)cos((double)theta), s = (float)sin((double)theta); /* correctly rounded */
      for (int64_t h = 0; h < j->n_head; h++) {
        float x0 = x[h * j->head_dim + i], x1 = x[h * j->head_dim + i + j->half];
        d[h * j->head_dim + i] = x0 * c - x1 * s;
        d[h * j->head_dim + i + j->half] = x1 * c + x0 * s;
      }
    }
    if (d != x)
      for (int64_t h = 0; h < j->n_head; h++)
        memcpy(d + h * j->head_dim + 2 * j->half, x + h * j->head_dim + 2 * j->half,
               sizeof(float) * (size_t)(j->head_dim - 2 * j->half));
  }
}

hatch_status hatch_cpu_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos,
                            const hatch_rope_params *p) {
  hatch_rope_pair *pairs = malloc(sizeof(*pairs) * (size_t)(p->n_dims / 2)); /* (n_dims/2) */
  if (!pairs) return HATCH_ERR_OUT_OF_MEMORY;
  hatch_rope_table(p, pairs);
  rope_job j = {dst->data, x->data, pos->data, pairs, x->ne[0], x->ne[1], x->ne[2], p->n_dims / 2};
  int64_t per_token = x->ne[0] * x->ne[1];
  hatch_threadpool_run(hatch_cpu_pool(be), x->ne[2], 1 + 8192 / per_token, rope_tokens, &j);
  free(pairs);
  return HATCH_OK;
}
