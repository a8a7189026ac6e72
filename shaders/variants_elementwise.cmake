# Every shader variant built into libhatch: hatch_shader(<name> <file> [DEFINES...]).
hatch_shader(binary_add binary.comp)
hatch_shader(binary_mul binary.comp OP_MUL)
hatch_shader(unary_silu unary.comp OP_SILU)
hatch_shader(unary_gelu unary.comp OP_GELU)
hatch_shader(swiglu unary.comp OP_SWIGLU)
hatch_shader(rms_norm rms_norm.comp)
hatch_shader(softmax softmax.comp)
