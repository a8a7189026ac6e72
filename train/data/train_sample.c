/* hatch_train_sample ownership (hatch/train_sample.h). */
#include "hatch/train_sample.h"

#include <stdlib.h>
#include <string.h>

void hatch_train_sample_clear(hatch_train_sample *s) {
  if (!s) return;
  for (int i = 0; i < HATCH_SAMPLE_MAX_IMAGES; i++) {
    free(s->images[i].rgb);
    free(s->images[i].depth);
    free(s->images[i].cell_object);
  }
  memset(s, 0, sizeof *s);
}
