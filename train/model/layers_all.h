/* Every layer template, for one instantiation: define REAL and SUFFIX, then include this. */
#include "model/layer_linear.h"
#include "model/layer_rmsnorm.h"
#include "model/layer_rope.h"
#include "model/layer_attention.h"
#include "model/layer_act.h"
#include "model/layer_embedding.h"
#include "model/layer_xent.h"
