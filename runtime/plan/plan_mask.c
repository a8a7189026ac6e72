/* Constrained decoding's token mask: which tokens keep the plan grammar alive (hatch/sampler.h). */
#include "hatch/plan.h"
#include "hatch/sampler.h"
#include "hatch/tokenizer.h"

void hatch_plan_token_mask(const hatch_tokenizer *tok, const hatch_plan_matcher *m, const hatch_stop_list *stop,
                           int32_t n_vocab, bool *allowed) {
  bool complete = hatch_plan_matcher_complete(m);
  int32_t n_tok = hatch_tokenizer_n_vocab(tok);
  for (int32_t id = 0; id < n_vocab; id++) {
    allowed[id] = false;
    if (hatch_stop_list_has_token(stop, id)) {
      allowed[id] = complete;
      continue;
    }
    if (complete || id >= n_tok || hatch_tokenizer_is_special(tok, id)) continue;
    const char *bytes;
    size_t len;
    if (hatch_tokenizer_token_bytes(tok, id, &bytes, &len) != HATCH_OK || len == 0) continue;
    hatch_plan_matcher trial = *m;
    allowed[id] = hatch_plan_matcher_feed(&trial, bytes, len);
  }
}
