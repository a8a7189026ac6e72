/* Internal side of hatch_frame: a frame lives in a slot owned by its source (a V4L2 buffer, a file
 * replay slot), with an atomic reference count; the last unref calls the owner's release. */
#ifndef HATCH_FRAME_INTERNAL_H
#define HATCH_FRAME_INTERNAL_H

#include <stdatomic.h>
#include <time.h>

#include "hatch/camera.h"

typedef struct hatch_frame_slot hatch_frame_slot;
typedef void (*hatch_frame_release_fn)(hatch_frame_slot *slot);

struct hatch_frame_slot {
  hatch_frame frame; /* first member: a const hatch_frame * is a slot pointer */
  atomic_int refs;   /* 0 = owned by the source (free or queued to the driver) */
  hatch_frame_release_fn release; /* called once when refs drops to 0 */
  void *owner;       /* the stream / source the slot belongs to */
  int index;         /* buffer index within the owner */
};

static inline hatch_frame_slot *hatch_frame_slot_of(const hatch_frame *frame) {
  return (hatch_frame_slot *)(void *)frame;
}

/* Hands a slot out with one reference (refs must be 0). */
static inline void hatch_frame_slot_publish(hatch_frame_slot *slot) { atomic_store(&slot->refs, 1); }

static inline int64_t hatch_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
