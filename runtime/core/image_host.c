/* Host-side image resizing through a backend (hatch/ops.h): RGB8 in, RGB8 out. */
#include "hatch/ops.h"

hatch_status hatch_image_resize_rgb8(hatch_backend *be, const uint8_t *src, int w, int h, uint8_t *dst, int ow, int oh) {
  int64_t ne_s[3] = {3, w, h}, ne_d[3] = {3, ow, oh};
  hatch_tensor *a = NULL, *b = NULL;
  hatch_status st = hatch_tensor_create(be, HATCH_TYPE_U8, 3, ne_s, &a);
  if (st == HATCH_OK) st = hatch_tensor_create(be, HATCH_TYPE_U8, 3, ne_d, &b);
  if (st == HATCH_OK) st = hatch_tensor_write(a, src, (size_t)w * h * 3);
  if (st == HATCH_OK) st = hatch_image_resize(be, b, a);
  if (st == HATCH_OK) st = hatch_tensor_read(b, dst, (size_t)ow * oh * 3);
  hatch_tensor_destroy(a);
  hatch_tensor_destroy(b);
  return st;
}
