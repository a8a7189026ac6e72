/* What every training backend shares: destruction through its own ops. */
#include "model/train_backend.h"

void train_backend_destroy(train_backend *b) {
  if (b) b->ops->destroy(b);
}
