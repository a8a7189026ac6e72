# RoPE and attention (vk_op_rope.c, vk_op_attention.c).
hatch_shader(rope rope.comp)
hatch_shader(attention_f32 attention.comp)
hatch_shader(attention_f16 attention.comp KV_F16)
hatch_shader(attention_combine attention_combine.comp)
hatch_shader(attention_rows_f32 attention_rows.comp)
hatch_shader(attention_rows_f16 attention_rows.comp KV_F16)
