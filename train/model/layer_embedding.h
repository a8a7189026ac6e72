/* Token embedding template (see layer_common.h): x[t] = table[ids[t]]; rows whose id is skip_id (the
 * image token: its rows are the spliced image features) are left alone. ids are checked by the caller. */
#include "model/layer_common.h"

/* x (n, d); table (vocab, d) */
void FN(embedding_forward)(REAL *x, const int32_t *ids, const REAL *table, int32_t skip_id, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; t++)
    if (ids[t] != skip_id) memcpy(x + t * d, table + (int64_t)ids[t] * d, sizeof(REAL) * (size_t)d);
}

/* dtable += scatter of dx by ids, t ascending (serial: repeated ids add in a fixed order). */
void FN(embedding_backward)(REAL *dtable, const REAL *dx, const int32_t *ids, int32_t skip_id, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; t++) {
    if (ids[t] == skip_id) continue;
    REAL *row = dtable + (int64_t)ids[t] * d;
    for (int64_t i = 0; i < d; i++) row[i] += dx[t * d + i];
  }
}
