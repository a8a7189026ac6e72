#version 450
#extension GL_GOOGLE_include_directive : require
// Normalize and patchify: one invocation per output float, a gather through the host's
// (3, 256) table of normalized values (so both backends give the same floats).
#include "common.glsl"

layout(binding = 0) readonly buffer X { uint src[]; };    // (h, w, 3) packed u8
layout(binding = 1) readonly buffer L { float lut[]; };   // (3, 256): (u / 255 - mean[c]) / std[c]
layout(binding = 2) writeonly buffer D { float dst[]; };  // (n_patches, 3, temporal, patch, patch)

layout(push_constant) uniform P {
  uint n;       // output elements
  uint w;       // image width in pixels
  uint grid_w;  // patches per image row
  uint patch_size;
  uint temporal;
} p;

void main() {
  uint e = hatch_global_id();
  if (e >= p.n) return;
  uint pp = p.patch_size * p.patch_size;
  uint row_len = 3u * p.temporal * pp;
  uint r = e / row_len, i = e % row_len;
  uint c = i / (p.temporal * pp), pix = i % pp; // the time step does not matter: a still image
  uint py = pix / p.patch_size, px = pix % p.patch_size;
  uint gy = r / p.grid_w, gx = r % p.grid_w;
  uint byte_index = ((gy * p.patch_size + py) * p.w + gx * p.patch_size + px) * 3u + c;
  dst[e] = lut[c * 256u + HATCH_LOAD_U8(src, byte_index)];
}
