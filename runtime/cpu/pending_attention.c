/* TEMPORARY placeholder while the attention ops are written: delete when they land. */
#include "cpu/cpu_ops.h"
hatch_status hatch_cpu_rope(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *x, const hatch_tensor *pos, const hatch_rope_params *p) { return HATCH_ERR_UNSUPPORTED; }
hatch_status hatch_cpu_attention(hatch_backend *be, hatch_tensor *dst, const hatch_tensor *q, const hatch_tensor *k, const hatch_tensor *v, const hatch_attn_params *p) { return HATCH_ERR_UNSUPPORTED; }
