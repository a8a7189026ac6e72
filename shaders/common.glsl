// Shared by every hatch compute shader. Conventions:
//  - specialization constant 0 is local_size_x (the host picks a power of two);
//  - large dispatches are split over (x, y) workgroups: hatch_group() flattens them;
//  - F16 and U8 data are read from 32-bit words, so no 8/16-bit storage feature is needed;
//  - no invocation loops more than HATCH_LOOP_BUDGET times in total (lavapipe's 65,535 cap):
//    the host sizes every dispatch so that holds.
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x_id = 0) in;

uint hatch_group() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }
uint hatch_global_id() { return hatch_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }

// Element i of flat fp16 data packed two per word.
#define HATCH_LOAD_F16(words, i) (unpackHalf2x16(words[(i) >> 1])[(i) & 1u])
// Byte i of flat u8 data packed four per word.
#define HATCH_LOAD_U8(words, i) ((words[(i) >> 2] >> (8u * ((i) & 3u))) & 0xffu)
// Signed byte j (0..3) of a word of packed int8.
#define HATCH_I8(word, j) (bitfieldExtract(int(word), 8 * (j), 8))

// C's roundf: halves away from zero (GLSL round() may pick either way), as ggml quantizes.
float hatch_roundf(float x) { return sign(x) * floor(abs(x) + 0.5); }

float hatch_silu(float x) { return x / (1.0 + exp(-x)); }

// erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): GLSL has no erf.
float hatch_erf(float x) {
  float s = sign(x);
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
float hatch_gelu(float x) { return 0.5 * x * (1.0 + hatch_erf(x * 0.70710678118654752)); }
