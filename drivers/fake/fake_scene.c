/* The fake camera's SCENE pattern: camera-like content so MJPEG frames are as costly to decode as
 * real indoor frames (the BARS pattern compresses to a fraction of that). */
#include <math.h>
#include <stdint.h>

#include "hatch/v4l2_fake.h"

static uint32_t hash2(uint32_t x, uint32_t y, uint32_t seed) {
  uint32_t h = x * 374761393u + y * 668265263u + seed * 2246822519u;
  h = (h ^ (h >> 13)) * 1274126177u;
  return h ^ (h >> 16);
}

/* Smooth value noise in [0, 1) at one scale. */
static double value_noise(double x, double y, uint32_t seed) {
  int xi = (int)floor(x), yi = (int)floor(y);
  double fx = x - xi, fy = y - yi;
  fx = fx * fx * (3 - 2 * fx);
  fy = fy * fy * (3 - 2 * fy);
  double v00 = (hash2(xi, yi, seed) & 0xffff) / 65536.0, v10 = (hash2(xi + 1, yi, seed) & 0xffff) / 65536.0;
  double v01 = (hash2(xi, yi + 1, seed) & 0xffff) / 65536.0, v11 = (hash2(xi + 1, yi + 1, seed) & 0xffff) / 65536.0;
  return (v00 * (1 - fx) + v10 * fx) * (1 - fy) + (v01 * (1 - fx) + v11 * fx) * fy;
}

/* (h, w, 3) camera-like content: multi-octave texture (walls, floor), a few flat objects with hard
 * edges, and sensor noise (sigma ~2 levels) so the JPEG is as busy as a real indoor frame. */
void hatch_fake_render_scene(uint8_t *rgb, int w, int h, uint32_t seed, int index) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double u = (double)x / w * 8, v = (double)y / h * 6;
      double t = 0.5 * value_noise(u, v, seed) + 0.25 * value_noise(u * 4, v * 4, seed + 1) +
                 0.15 * value_noise(u * 16, v * 16, seed + 2) + 0.1 * value_noise(u * 48, v * 48, seed + 3);
      double base = y > h * 6 / 10 ? 90 + 80 * t : 150 + 70 * t; /* floor / wall */
      double r = base, g = base * 0.95, b = base * 0.85;
      for (int k = 0; k < 5; k++) { /* objects */
        uint32_t o = hash2(k, 7, seed);
        int cx = (int)((o + (uint32_t)index * (uint32_t)(w / 64 + 1)) % (uint32_t)w), cy = h / 3 + (int)((o >> 12) % (uint32_t)(h / 2)), rad = w / 14 + (int)(o % 23);
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < rad * rad) {
          r = 40 + (o >> 3) % 200, g = 40 + (o >> 11) % 200, b = 40 + (o >> 19) % 200;
          r *= 0.8 + 0.2 * t, g *= 0.8 + 0.2 * t, b *= 0.8 + 0.2 * t;
        }
      }
      uint32_t n = hash2(x, y, seed + 99 + (uint32_t)index);
      double noise = ((n & 255) + ((n >> 8) & 255) + ((n >> 16) & 255) - 382.5) / 64.0; /* ~N(0, 2) */
      uint8_t *p = rgb + ((size_t)y * w + x) * 3;
      p[0] = (uint8_t)fmin(255, fmax(0, r + noise));
      p[1] = (uint8_t)fmin(255, fmax(0, g + noise));
      p[2] = (uint8_t)fmin(255, fmax(0, b + noise));
    }
}

