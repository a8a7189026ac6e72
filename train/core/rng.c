/* The trainer's PRNG: xoshiro256** 1.0 (public domain reference by Blackman and Vigna), seeded by
 * splitmix64. */
#include <math.h>

#include "hatch/train_checkpoint.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void hatch_rng_seed(hatch_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  /* splitmix64 never gives four zeros in a row from consecutive states, but be sure. */
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

void hatch_rng_seed_stream(hatch_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = stream;
  hatch_rng_seed(r, seed ^ splitmix64(&x));
}

uint64_t hatch_rng_next(hatch_rng *r) {
  uint64_t *s = r->s;
  const uint64_t result = rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double hatch_rng_uniform(hatch_rng *r) { return (double)(hatch_rng_next(r) >> 11) * 0x1.0p-53; }
float hatch_rng_uniformf(hatch_rng *r) { return (float)(hatch_rng_next(r) >> 40) * 0x1.0p-24f; }

uint64_t hatch_rng_below(hatch_rng *r, uint64_t n) {
  if (n == 0) return 0;
  /* Lemire: multiply-shift with rejection of the biased low range. */
  __uint128_t m = (__uint128_t)hatch_rng_next(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t thresh = (0 - n) % n;
    while (lo < thresh) {
      m = (__uint128_t)hatch_rng_next(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

double hatch_rng_normal(hatch_rng *r) {
  double u1 = 1.0 - hatch_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = hatch_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void hatch_rng_shuffle_i64(hatch_rng *r, int64_t *idx, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)hatch_rng_below(r, (uint64_t)i + 1);
    int64_t tmp = idx[i];
    idx[i] = idx[j];
    idx[j] = tmp;
  }
}

void hatch_rng_to_hex(const hatch_rng *r, char out[65]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 16; k++) out[16 * i + k] = hex[(r->s[i] >> (60 - 4 * k)) & 15];
  out[64] = '\0';
}

hatch_status hatch_rng_from_hex(const char *text, hatch_rng *r) {
  if (!text || !r) return HATCH_ERR_INVALID_ARGUMENT;
  hatch_rng x = {{0, 0, 0, 0}};
  for (int i = 0; i < 64; i++) {
    char c = text[i];
    unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                 : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                        : 16u;
    if (d == 16) return HATCH_ERR_CORRUPT; /* also catches a string shorter than 64 (the NUL) */
    x.s[i / 16] = (x.s[i / 16] << 4) | d;
  }
  if (text[64] != '\0' || !(x.s[0] | x.s[1] | x.s[2] | x.s[3])) return HATCH_ERR_CORRUPT;
  *r = x;
  return HATCH_OK;
}
