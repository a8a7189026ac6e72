/* Runs a fuzz target over files (a corpus) without libFuzzer: `replay FILE...`. Used by ctest so
 * the corpus is a regression suite on every build, with any compiler. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  int n = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "replay: cannot open %s\n", argv[i]);
      return 1;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t size = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!buf) return 1;
    LLVMFuzzerTestOneInput(buf, size);
    free(buf);
    n++;
  }
  printf("replayed %d inputs\n", n);
  return n > 0 ? 0 : 1;
}
