# Image preprocessing and the vision merger's 2x2 gather (runtime/vulkan/vk_op_image.c).
hatch_shader(resize resize.comp)
hatch_shader(resize_partial resize.comp PARTIAL)
hatch_shader(resize_pack resize.comp PACK)
hatch_shader(patchify patchify.comp)
hatch_shader(merge_2x2 merge_2x2.comp)
hatch_shader(get_rows rows.comp GET)
hatch_shader(set_rows rows.comp SET)
hatch_shader(set_rows_f16 rows.comp SET SET_F16)
