/* The fp32 instantiation of the layer templates: the trainer's layers (train_layers.h). */
#include "model/train_layers.h"

#define REAL float
#define SUFFIX f32
#include "model/layers_all.h"
