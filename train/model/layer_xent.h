/* Log-probability of targets template (see layer_common.h): lse[t] = log sum_v exp(logits[t, v]) (sum
 * in double), logp[t] = logits[t, target[t]] - lse[t], 0 where target[t] < 0. The backward turns
 * dL/dlogp into dL/dlogits: dlogits[t, v] += dlogp[t] (1[v = target] - softmax[t, v]). Mean
 * cross-entropy is dlogp = -1/N on the targets. */
#include "model/layer_common.h"

typedef struct FN(xent_job) {
  REAL *logp, *lse, *dlogits;
  const REAL *logits, *dlogp, *lse_in;
  const int32_t *targets;
  int64_t vocab;
} FN(xent_job);

static void FN(xent_fwd_rows)(void *ctx, int64_t begin, int64_t end) {
  const FN(xent_job) *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    const REAL *z = j->logits + t * j->vocab;
    REAL m = z[0];
    for (int64_t v = 1; v < j->vocab; v++) m = z[v] > m ? z[v] : m;
    double s = 0.0;
    for (int64_t v = 0; v < j->vocab; v++) s += exp((double)(z[v] - m));
    j->lse[t] = m + (REAL)log(s);
    if (j->logp) j->logp[t] = j->targets && j->targets[t] >= 0 ? z[j->targets[t]] - j->lse[t] : 0;
  }
}

/* logits (n, vocab); lse (n); logp (n) or NULL; targets (n) or NULL. */
void FN(logprob_forward)(hatch_threadpool *pool, REAL *logp, REAL *lse, const REAL *logits, const int32_t *targets,
                         int64_t n, int64_t vocab) {
  FN(xent_job) j = {.logp = logp, .lse = lse, .logits = logits, .targets = targets, .vocab = vocab};
  layer_run(pool, n, 1 + 16384 / vocab, FN(xent_fwd_rows), &j);
}

static void FN(xent_bwd_rows)(void *ctx, int64_t begin, int64_t end) {
  const FN(xent_job) *j = ctx;
  for (int64_t t = begin; t < end; t++) {
    REAL g = j->dlogp[t];
    if (j->targets[t] < 0 || g == 0) continue;
    const REAL *z = j->logits + t * j->vocab;
    REAL *dz = j->dlogits + t * j->vocab;
    for (int64_t v = 0; v < j->vocab; v++) dz[v] -= g * exp(z[v] - j->lse_in[t]);
    dz[j->targets[t]] += g;
  }
}

void FN(logprob_backward)(hatch_threadpool *pool, REAL *dlogits, const REAL *dlogp, const REAL *logits,
                          const REAL *lse, const int32_t *targets, int64_t n, int64_t vocab) {
  FN(xent_job) j = {.dlogits = dlogits, .dlogp = dlogp, .logits = logits, .lse_in = lse, .targets = targets,
                    .vocab = vocab};
  layer_run(pool, n, 1 + 16384 / vocab, FN(xent_bwd_rows), &j);
}
