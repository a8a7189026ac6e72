# Matmul family: decode matvec (float and integer-dot), activation quantization, tiled prefill
# matmul with its split-k reduction.
hatch_shader(matvec_f32 matvec.comp W_F32)
hatch_shader(matvec_f16 matvec.comp W_F16)
hatch_shader(matvec_q8_0 matvec.comp W_Q8_0)
hatch_shader(matvec_q8_0_dot matvec_q8_dot.comp)
hatch_shader(quantize_q8 quantize_q8.comp)
hatch_shader(matmul_f32 matmul.comp W_F32)
hatch_shader(matmul_f16 matmul.comp W_F16)
hatch_shader(matmul_q8_0 matmul.comp W_Q8_0)
hatch_shader(matmul_reduce matmul_reduce.comp)
