/* CRC-32 (IEEE 802.3, zlib's crc32), slicing-by-8: checkpoints checksum hundreds of MB. */
#include <pthread.h>

#include "hatch/train_checkpoint.h"

static uint32_t g_table[8][256]; /* (8, 256) slice tables */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    g_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int s = 1; s < 8; s++) g_table[s][i] = (g_table[s - 1][i] >> 8) ^ g_table[0][g_table[s - 1][i] & 0xFF];
}

uint32_t hatch_crc32(uint32_t crc, const void *data, size_t n) {
  pthread_once(&g_once, init_tables);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    c = g_table[7][lo & 0xFF] ^ g_table[6][(lo >> 8) & 0xFF] ^ g_table[5][(lo >> 16) & 0xFF] ^ g_table[4][lo >> 24] ^
        g_table[3][p[4]] ^ g_table[2][p[5]] ^ g_table[1][p[6]] ^ g_table[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = g_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return ~c;
}
