# Ceilings measured by `hatch bench ops` in the same run as the ops.
hatch_shader(bench_copy bench_copy.comp)
hatch_shader(bench_fma bench_fma.comp)
